/*
 * libFuzzer harness for policy.conf (policy/policy.c): the input is the
 * whole file given to policy_load_string. A loaded policy must then find
 * and allow every `target` the statement tree holds, on its own port, and
 * nothing on another port. Run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/conf.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
decide(const struct policy *p, const char *name, const char *practice,
    int port, struct policy_decision *d)
{
	struct policy_request req = {
		.user = "fuzz", .device_id = "dev", .source_ip = "192.0.2.1",
		.target_name = name, .practice = practice, .port = port,
	};

	policy_decide(p, &req, d);
	if (memchr(d->rule, '\0', sizeof(d->rule)) == NULL ||
	    memchr(d->reason, '\0', sizeof(d->reason)) == NULL)
		abort();
}

/* Checks every target statement of a loaded policy against the policy. */
static void
check_targets(const struct policy *p, const struct conf_tree *t)
{
	size_t seen = 0;

	for (size_t i = 0; i < t->root.nchildren; i++) {
		const struct conf_node *pr = &t->root.children[i];

		for (size_t j = 0; j < pr->nchildren; j++) {
			const struct conf_node *n = &pr->children[j];
			struct sockaddr_storage ss;
			struct policy_decision d;
			socklen_t len;
			int port;

			if (addr_parse(n->args[1].text, &ss, &len) == -1)
				abort();	/* it loaded, so it parses */
			port = addr_port((struct sockaddr *)&ss);
			decide(p, n->args[0].text, pr->args[0].text, port, &d);
			if (!d.allow || d.target == NULL ||
			    strcmp(d.target->name, n->args[0].text) != 0 ||
			    policy_find_target(p, n->args[0].text,
			    pr->args[0].text) != d.target)
				abort();
			decide(p, n->args[0].text, pr->args[0].text,
			    port == 65535 ? 1 : port + 1, &d);
			if (d.allow || d.target == NULL)
				abort();
			seen++;
		}
	}
	if (seen != policy_target_count(p))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs = { 0 };
	struct conf_tree *t;
	struct policy *p;

	/* No file system: see fuzz_conf.c. */
	if (memmem(data, size, "include", 7) != NULL)
		return 0;
	p = policy_load_string("fuzz.conf", (const char *)data, size, &errs);
	if ((p == NULL) != (errs.n > 0))
		abort();	/* NULL exactly when there are errors */
	if (p != NULL) {
		struct policy_decision d;

		if (strlen(policy_hash(p)) != 64)
			abort();
		decide(p, "no-such-target", "K84001", 443, &d);
		if (d.allow || d.target != NULL)
			abort();
		t = conf_parse_string("fuzz.conf", (const char *)data, size,
		    &errs);
		if (t == NULL)
			abort();
		check_targets(p, t);
		conf_tree_free(t);
	}
	policy_free(p);
	conf_errors_clear(&errs);
	return 0;
}
