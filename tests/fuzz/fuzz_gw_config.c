/*
 * libFuzzer harness for mwgd.conf (gateway/config.c): the input is the
 * whole file given to gw_config_load_string. Run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs = { 0 };
	struct gw_config *c;

	/* No file system: see fuzz_conf.c. */
	if (memmem(data, size, "include", 7) != NULL)
		return 0;
	c = gw_config_load_string("fuzz.conf", (const char *)data, size,
	    &errs);
	if ((c == NULL) != (errs.n > 0))
		abort();	/* NULL exactly when there are errors */
	if (c != NULL) {
		/* A loaded config is complete and in range. */
		if (!c->has_tls || c->tls.certificate == NULL ||
		    c->tls.key == NULL || c->tls.ca == NULL ||
		    c->workers < 1 || c->workers > GW_WORKERS_MAX ||
		    c->max_conns < 1 || c->max_conns > GW_CONNS_MAX ||
		    c->max_worker_conns < 1 ||
		    c->max_worker_conns > c->max_conns ||
		    c->timeout_head < 1 || c->timeout_connect < 1 ||
		    c->timeout_idle < 1 ||
		    memchr(c->tls.addr_str, '\0', sizeof(c->tls.addr_str)) ==
		    NULL)
			abort();
	}
	gw_config_free(c);
	conf_errors_clear(&errs);
	return 0;
}
