/*
 * mwgctl totp list | remove: who has a TOTP secret, since when, how it
 * has fared (failures, disabled after too many), and taking a secret away
 * (a lost phone). The secrets themselves never leave mwgd.
 */
#include "admin/admin.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "certs/certs.h"

#define TOTP_FIELD_SHOW	64	/* bytes of a name shown */

static const char totp_list_usage[] =
"usage: mwgctl totp list [--json]\n"
"       mwgctl totp remove USER [--json]\n";

static const char totp_list_help[] =
"NAME\n"
"     mwgctl totp list, remove - who has a TOTP secret; take one away\n"
"\n"
"SYNOPSIS\n"
"     mwgctl [-s SOCKET] totp list [--json]\n"
"     mwgctl [-s SOCKET] totp remove USER [--json]\n"
"\n"
"DESCRIPTION\n"
"     list    Every person with a TOTP secret in mwgd's store, by name:\n"
"\n"
"             PERSON     the user name\n"
"             ENROLLED   when the secret was set by totp enrol or import\n"
"                        ('-': before mwgd recorded it)\n"
"             LAST-CODE  the time step of the last code accepted\n"
"             FAILURES   wrong codes in a row since the last good one\n"
"             STATE      enabled, or disabled (after 100 wrong codes in a\n"
"                        row; totp enrol gives a new secret)\n"
"             DISABLED   since when ('-': enabled)\n"
"\n"
"             Times are UTC. The secret is never shown.\n"
"\n"
"     remove USER\n"
"             Deletes USER's secret: their next login is refused (\"no TOTP\n"
"             enrolled\") until IT runs totp enrol again. A session\n"
"             certificate issued before stays valid until it expires; to\n"
"             cut the person off now, use mwgctl lock user. mwgd records\n"
"             the removal in the audit trail (totp.remove) with your OS\n"
"             user.\n"
"\n"
"OPTIONS\n"
"     --json  Print mwgd's answer as JSON (times as seconds since 1970).\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 done; 1 refused or failed (e.g. USER has no secret), with the\n"
"     reason on stderr; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwgctl totp list\n"
"     mwgctl totp remove alice\n";

static void
totp_print_row(json_t *t, int name_w)
{
	char user[TOTP_FIELD_SHOW + 1], enrolled[ADMIN_TIME_MAX];
	char last[ADMIN_TIME_MAX], disabled[ADMIN_TIME_MAX];
	json_int_t off = json_integer_value(json_object_get(t, "disabled_at"));

	printf("%-*s  %-20s  %-20s  %8lld  %-8s  %s\n", name_w,
	    admin_field(t, "user", user, sizeof(user)),
	    admin_time_text((time_t)json_integer_value(json_object_get(t,
	    "enrolled_at")), enrolled, sizeof(enrolled)),
	    admin_time_text((time_t)json_integer_value(json_object_get(t,
	    "last_used_at")), last, sizeof(last)),
	    (long long)json_integer_value(json_object_get(t, "failures")),
	    off != 0 ? "disabled" : "enabled",
	    admin_time_text((time_t)off, disabled, sizeof(disabled)));
}

/* PERSON ENROLLED LAST-CODE FAILURES STATE DISABLED. */
static int
totp_print_list(json_t *ans)
{
	json_t *list = json_object_get(ans, "totp"), *t;
	char user[TOTP_FIELD_SHOW + 1];
	int name_w = 6;
	size_t i;

	if (!json_is_array(list))
		return admin_ctl_malformed("totp list", "totp");
	json_array_foreach(list, i, t) {
		int w = (int)strlen(admin_field(t, "user", user, sizeof(user)));

		name_w = w > name_w ? w : name_w;
	}
	printf("%-*s  %-20s  %-20s  %8s  %-8s  %s\n", name_w, "PERSON",
	    "ENROLLED", "LAST-CODE", "FAILURES", "STATE", "DISABLED");
	json_array_foreach(list, i, t)
		totp_print_row(t, name_w);
	return ADMIN_EXIT_OK;
}

int
admin_totp_list(int argc, char **argv)
{
	return admin_ctl_list("totp list", "totp-list", totp_list_help,
	    totp_list_usage, argc, argv, totp_print_list);
}

static int
totp_print_removed(json_t *ans)
{
	char user[TOTP_FIELD_SHOW + 1];

	printf("removed the TOTP secret of %s\n", admin_field(ans, "user",
	    user, sizeof(user)));
	return ADMIN_EXIT_OK;
}

int
admin_totp_remove(int argc, char **argv)
{
	int as_json = 0, rc;

	if ((rc = admin_json_help("totp remove", totp_list_help,
	    totp_list_usage, argc, argv, &as_json)) != -1)
		return rc;
	if (argc - optind != 1)
		return admin_usage_error("totp remove", totp_list_usage,
		    "expected one USER");
	if (certs_user_valid(argv[optind]) != 0)
		return admin_usage_error("totp remove", totp_list_usage,
		    "invalid user name (a-z, 0-9, '.', '_', '-'; 1 to 63, not "
		    "starting with '.' or '-')");
	return admin_ctl_show("totp remove", json_pack("{s:s, s:s}", "cmd",
	    "totp-remove", "user", argv[optind]), as_json, totp_print_removed);
}
