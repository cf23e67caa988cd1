/*
 * libFuzzer harness for the shared config reader (common/conf.c): the
 * input is one file given to conf_parse_string. Run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs = { 0 };
	struct conf_tree *t;
	char *joined;

	/*
	 * `include` reads the file system (globs included): that is for the
	 * unit tests, not for a fuzzer that could find `include "/usr/..."`.
	 * The keyword can only be a bare word, so these bytes must appear.
	 */
	if (memmem(data, size, "include", 7) != NULL)
		return 0;
	t = conf_parse_string("fuzz.conf", (const char *)data, size, &errs);
	if ((t == NULL) != (errs.n + errs.dropped > 0))
		abort();	/* NULL exactly when there are errors */
	joined = conf_errors_join(&errs);
	free(joined);
	conf_tree_free(t);
	conf_errors_clear(&errs);
	return 0;
}
