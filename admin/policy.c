/*
 * mwgctl policy check FILE: parse a policy offline and print every error
 * as file:line:column, so a change can be checked before a reload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "policy/policy.h"

static const char usage_text[] =
"usage: mwgctl policy check FILE\n"
"    Parses FILE (and its includes) as mwgd would on reload. Prints every\n"
"    error as file:line:column: message and exits 1, or prints a summary\n"
"    and exits 0. Nothing is changed.\n";

int
admin_policy(int argc, char **argv)
{
	struct conf_errors errs = { 0 };
	struct policy *p;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		return ADMIN_EXIT_OK;
	}
	if (argc != 3 || strcmp(argv[1], "check") != 0) {
		fputs(usage_text, stderr);
		return ADMIN_EXIT_USAGE;
	}
	if ((p = policy_load(argv[2], &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		if (errs.dropped)
			fprintf(stderr, "(%zu more errors)\n", errs.dropped);
		fprintf(stderr, "mwgctl: policy check: %s: %zu error%s\n",
		    argv[2], errs.n + errs.dropped,
		    errs.n + errs.dropped == 1 ? "" : "s");
		conf_errors_clear(&errs);
		return ADMIN_EXIT_FAIL;
	}
	printf("%s: OK, %zu targets, sha256 %s\n", argv[2],
	    policy_target_count(p), policy_hash(p));
	policy_free(p);
	return ADMIN_EXIT_OK;
}
