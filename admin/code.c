/*
 * mwgctl enrol-code list | withdraw: what became of the codes IT made
 * (unused, used and by which device, expired, withdrawn), and taking back
 * one that has not been used. mwgd holds only their hashes: no secret is
 * ever shown again.
 */
#include "admin/admin.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "certs/certs.h"

#define CODE_FIELD_SHOW	64	/* bytes of a field shown */
#define CODE_LABEL_SHOW	128

static const char code_admin_usage[] =
"usage: mwgctl enrol-code list [--json]\n"
"       mwgctl enrol-code withdraw ID [--json]\n";

static const char code_admin_help[] =
"NAME\n"
"     mwgctl enrol-code list, withdraw - the enrolment codes IT made\n"
"\n"
"SYNOPSIS\n"
"     mwgctl [-s SOCKET] enrol-code list [--json]\n"
"     mwgctl [-s SOCKET] enrol-code withdraw ID [--json]\n"
"\n"
"DESCRIPTION\n"
"     list    Every enrolment code mwgd knows, oldest first, one a line:\n"
"\n"
"             ID        the public half of ID:SECRET\n"
"             PERSON    who the device is for\n"
"             PRACTICE  the practice it enrols into\n"
"             MANAGED   yes if made with --managed\n"
"             CREATED   when, and BY-UID: the OS uid of the admin\n"
"             EXPIRES   when an unused code stops working\n"
"             STATE     unused, used, expired or withdrawn\n"
"             WHEN      when it was used or withdrawn ('-': neither)\n"
"             DEVICE    the device enrolled with it ('-': none, or not\n"
"                       known, e.g. an enrolment that failed after use)\n"
"             LABEL     the note given with --label\n"
"\n"
"             Times are UTC. The secret is never shown: mwgd keeps only\n"
"             a salted hash of it.\n"
"\n"
"     withdraw ID\n"
"             Makes the unused code ID unusable at once: an enrolment with\n"
"             it is refused from now on (and audited as such). A used code\n"
"             cannot be withdrawn: revoke the device it enrolled instead\n"
"             (mwgctl device revoke). mwgd records the withdrawal in the\n"
"             audit trail (enrol.code.withdraw) with your OS user.\n"
"\n"
"OPTIONS\n"
"     --json  Print mwgd's answer as JSON (times as seconds since 1970).\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 done; 1 refused or failed (no such code, already used or\n"
"     withdrawn), with the reason on stderr; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwgctl enrol-code list\n"
"     mwgctl enrol-code withdraw k3qz7d2mfa\n";

static void
code_print_row(json_t *c, const int *w)
{
	char id[CODE_FIELD_SHOW + 1], user[CODE_FIELD_SHOW + 1];
	char practice[CODE_FIELD_SHOW + 1], state[16], dev[CODE_FIELD_SHOW + 1];
	char label[CODE_LABEL_SHOW + 1], created[ADMIN_TIME_MAX];
	char expires[ADMIN_TIME_MAX], when[ADMIN_TIME_MAX];
	json_int_t used = json_integer_value(json_object_get(c, "used_at"));
	json_t *uid = json_object_get(c, "created_by_uid");

	if (used == 0)
		used = json_integer_value(json_object_get(c, "withdrawn_at"));
	printf("%-*s  %-*s  %-*s  %-7s  %-20s  %-6lld  %-20s  %-9s  %-20s  "
	    "%-*s  %s\n", w[0], admin_field(c, "id", id, sizeof(id)), w[1],
	    admin_field(c, "user", user, sizeof(user)), w[2],
	    admin_field(c, "practice", practice, sizeof(practice)),
	    json_is_true(json_object_get(c, "managed")) ? "yes" : "no",
	    admin_time_text((time_t)json_integer_value(json_object_get(c,
	    "created_at")), created, sizeof(created)),
	    json_is_integer(uid) ? (long long)json_integer_value(uid) : -1LL,
	    admin_time_text((time_t)json_integer_value(json_object_get(c,
	    "expires_at")), expires, sizeof(expires)),
	    admin_field(c, "state", state, sizeof(state)),
	    admin_time_text((time_t)used, when, sizeof(when)), w[3],
	    admin_field(c, "used_by", dev, sizeof(dev)),
	    admin_field(c, "label", label, sizeof(label)));
}

/* ID PERSON PRACTICE DEVICE are padded to their longest value. */
static int
code_print_list(json_t *ans)
{
	static const char *const padded[] = {
		"id", "user", "practice", "used_by",
	};
	json_t *codes = json_object_get(ans, "codes"), *c;
	int w[4] = { 2, 6, 8, 6 };
	char buf[CODE_FIELD_SHOW + 1];
	size_t i;

	if (!json_is_array(codes))
		return admin_ctl_malformed("enrol-code list", "codes");
	json_array_foreach(codes, i, c)
		for (size_t k = 0; k < 4; k++) {
			int len = (int)strlen(admin_field(c, padded[k], buf,
			    sizeof(buf)));

			w[k] = len > w[k] ? len : w[k];
		}
	printf("%-*s  %-*s  %-*s  %-7s  %-20s  %-6s  %-20s  %-9s  %-20s  "
	    "%-*s  %s\n", w[0], "ID", w[1], "PERSON", w[2], "PRACTICE",
	    "MANAGED", "CREATED", "BY-UID", "EXPIRES", "STATE", "WHEN", w[3],
	    "DEVICE", "LABEL");
	json_array_foreach(codes, i, c)
		code_print_row(c, w);
	return ADMIN_EXIT_OK;
}

int
admin_code_list(int argc, char **argv)
{
	return admin_ctl_list("enrol-code list", "enrol-code-list",
	    code_admin_help, code_admin_usage, argc, argv, code_print_list);
}

static int
code_print_withdrawn(json_t *ans)
{
	char id[CODE_FIELD_SHOW + 1], user[CODE_FIELD_SHOW + 1];
	char practice[CODE_FIELD_SHOW + 1];

	printf("withdrew enrolment code %s (%s, %s)\n", admin_field(ans, "id",
	    id, sizeof(id)), admin_field(ans, "user", user, sizeof(user)),
	    admin_field(ans, "practice", practice, sizeof(practice)));
	return ADMIN_EXIT_OK;
}

int
admin_code_withdraw(int argc, char **argv)
{
	int as_json = 0, rc;

	if ((rc = admin_json_help("enrol-code withdraw", code_admin_help,
	    code_admin_usage, argc, argv, &as_json)) != -1)
		return rc;
	if (argc - optind != 1)
		return admin_usage_error("enrol-code withdraw",
		    code_admin_usage, "expected one code ID");
	if (certs_user_valid(argv[optind]) != 0)
		return admin_usage_error("enrol-code withdraw",
		    code_admin_usage, "invalid code id (the part before ':' "
		    "of ID:SECRET)");
	return admin_ctl_show("enrol-code withdraw", json_pack("{s:s, s:s}",
	    "cmd", "enrol-code-withdraw", "id", argv[optind]), as_json,
	    code_print_withdrawn);
}
