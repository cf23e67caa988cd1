/*
 * mwgctl enrol-code create | device list | device revoke: the life of a
 * device. An enrolment code lets one device enrol once for one person and
 * practice; mwgd keeps only its hash, so the secret is printed once here.
 */
#include "admin/admin.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certs.h"
#include "common/xmalloc.h"

#define CODE_TTL_DEFAULT	(24 * 3600LL)
#define CODE_TTL_MIN		60		/* seconds */
#define CODE_TTL_MAX		(30 * 86400LL)	/* a code unused for a month
						   is a code someone lost */
#define CODE_PRACTICE_MAX	15		/* [A-Z0-9], ODS-style codes */
#define CODE_LABEL_MAX		127		/* bytes; printable ASCII */
#define CODE_SECRET_MAX		128		/* bytes mwgd may answer */
#define DEV_FIELD_SHOW		64		/* bytes of a field shown */

static const char dev_usage[] =
"usage: mwgctl enrol-code create --user U --practice P [--label L] "
"[--ttl D] [--managed]\n"
"       mwgctl enrol-code list [--json] | enrol-code withdraw ID\n"
"       mwgctl device list [--json]\n"
"       mwgctl device revoke ID --reason TEXT\n";

static const char code_help[] =
"NAME\n"
"     mwgctl enrol-code create - let one device enrol for one person\n"
"\n"
"SYNOPSIS\n"
"     mwgctl [-s SOCKET] enrol-code create --user U --practice P\n"
"                       [--label L] [--ttl D] [--managed]\n"
"     mwgctl [-s SOCKET] enrol-code list [--json]\n"
"     mwgctl [-s SOCKET] enrol-code withdraw ID [--json]\n"
"\n"
"     (list and withdraw: see mwgctl enrol-code list --help)\n"
"\n"
"DESCRIPTION\n"
"     Asks mwgd for a new enrolment code and prints it as ID:SECRET, alone\n"
"     on one line of standard output; when it expires goes to standard\n"
"     error. The person gives it to `mwg enrol --code ID:SECRET` on the\n"
"     device. A code works once, until it expires; the device certificate\n"
"     it yields names the device only, and the store ties the device to\n"
"     person U and practice P.\n"
"\n"
"     mwgd keeps only a salted hash of the secret: it cannot be shown\n"
"     again. Hand it over by a channel other than the one that carries the\n"
"     gateway's address (e.g. read it out on the phone), and make a new\n"
"     code if it may have been seen by someone else. mwgd records the\n"
"     creation in the audit trail with your OS user, never the secret.\n"
"\n"
"OPTIONS\n"
"     --user U\n"
"             The person the device is for (a-z, 0-9, '.', '_', '-').\n"
"     --practice P\n"
"             The practice code, e.g. K84001 (letters and digits, up to\n"
"             15; lower case is taken as upper case).\n"
"     --label L\n"
"             A note for IT shown in the device list, e.g. \"reception\n"
"             PC 2\"; up to 127 printable ASCII characters.\n"
"     --ttl D How long the code stays usable: a number with s, m, h, d or\n"
"             w (default 24h; 1m to 30d).\n"
"     --managed\n"
"             The device is managed by the practice or the region (not\n"
"             the person's own); policy may require it.\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 the code was made; 1 refused or failed, with the reason on\n"
"     stderr; 2 bad usage.\n"
"\n"
"EXAMPLE\n"
"     mwgctl enrol-code create --user alice --practice K84001 --ttl 2h\n";

static const char dev_help[] =
"NAME\n"
"     mwgctl device - list or revoke enrolled devices\n"
"\n"
"SYNOPSIS\n"
"     mwgctl [-s SOCKET] device list [--json]\n"
"     mwgctl [-s SOCKET] device revoke ID --reason TEXT\n"
"\n"
"DESCRIPTION\n"
"     list    Every device mwgd has enrolled, oldest first: its id, the\n"
"             person and practice it was enrolled for, whether it is\n"
"             managed, when it enrolled, when its certificate expires,\n"
"             when it was last seen and last reported its posture, and its\n"
"             status (e.g. active, revoked). Times are UTC; '-' is never.\n"
"     revoke ID\n"
"             Ends device ID for good: its certificate is refused from now\n"
"             on (and listed in the CRL), its open tunnels are closed, and\n"
"             it can only come back by enrolling again with a new code,\n"
"             as a new device. For a pause, use mwgctl lock device.\n"
"\n"
"     mwgd records each revocation in the audit trail with your OS user\n"
"     and the reason.\n"
"\n"
"OPTIONS\n"
"     --reason TEXT\n"
"             Why, in 1 to 200 printable ASCII characters; required.\n"
"     --json  list: print mwgd's answer as JSON.\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 done; 1 refused or failed (e.g. no such device), with the reason\n"
"     on stderr; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwgctl device list\n"
"     mwgctl device revoke laptop-7f3a --reason \"sold without wiping\"\n";

struct dev_args {
	const char *user;
	char practice[CODE_PRACTICE_MAX + 1];
	const char *label;
	const char *reason;
	long long ttl;
	int is_managed;
	int as_json;
	int has_practice;
};

/* P upper-cased into out; 0 if it is 1..15 of [A-Z0-9]. */
static int
dev_practice(const char *p, char out[CODE_PRACTICE_MAX + 1])
{
	size_t i;

	for (i = 0; p[i] != '\0'; i++) {
		if (i == CODE_PRACTICE_MAX || !isalnum((unsigned char)p[i]))
			return -1;
		out[i] = (char)toupper((unsigned char)p[i]);
	}
	out[i] = '\0';
	return i > 0 ? 0 : -1;
}

static int
dev_label_valid(const char *l)
{
	size_t len = strlen(l);

	if (len == 0 || len > CODE_LABEL_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (l[i] < 0x20 || l[i] > 0x7e)
			return -1;
	return 0;
}

/* One option; returns -1 to go on, else the exit status. */
static int
dev_option(const char *verb, int ch, const char *arg, struct dev_args *a,
    const char *help)
{
	switch (ch) {
	case 'u':
		if (certs_user_valid(arg) == -1)
			return admin_usage_error(verb, dev_usage, "invalid "
			    "user name (a-z, 0-9, '.', '_', '-'; 1 to 63, not "
			    "starting with '.' or '-')");
		a->user = arg;
		return -1;
	case 'p':
		if (dev_practice(arg, a->practice) == -1)
			return admin_usage_error(verb, dev_usage, "--practice: "
			    "expected 1 to %d letters and digits, e.g. K84001",
			    CODE_PRACTICE_MAX);
		a->has_practice = 1;
		return -1;
	case 'l':
		if (dev_label_valid(arg) == -1)
			return admin_usage_error(verb, dev_usage, "--label "
			    "must be 1 to %d printable ASCII characters",
			    CODE_LABEL_MAX);
		a->label = arg;
		return -1;
	case 't':
		if (admin_duration("--ttl", arg, CODE_TTL_MIN, CODE_TTL_MAX,
		    &a->ttl) == -1)
			return admin_usage_error(verb, dev_usage, "--ttl: "
			    "expected a duration such as 30m, 24h or 7d, from "
			    "1m to 30d; got '%s'", arg);
		return -1;
	case 'r':
		a->reason = arg;
		return -1;
	case 'm':
		a->is_managed = 1;
		return -1;
	case 'j':
		a->as_json = 1;
		return -1;
	case 'h':
		fputs(help, stdout);
		return ADMIN_EXIT_OK;
	}
	return admin_usage_error(verb, dev_usage, "unknown option %s", arg);
}

/*
 * Options of every verb here, each checked by dev_option; allowed lists
 * the ones this verb takes (as their getopt codes). -1 to go on.
 */
static int
dev_parse(const char *verb, const char *allowed, int argc, char **argv,
    struct dev_args *a, const char *help)
{
	static const struct option opts[] = {
		{ "user",	required_argument,	NULL, 'u' },
		{ "practice",	required_argument,	NULL, 'p' },
		{ "label",	required_argument,	NULL, 'l' },
		{ "ttl",	required_argument,	NULL, 't' },
		{ "managed",	no_argument,		NULL, 'm' },
		{ "reason",	required_argument,	NULL, 'r' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	int ch, rc;

	optind = 0;	/* glibc: full reset, argv is not the one main saw */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == ':')
			return admin_bad_option(verb, dev_usage, ch, argv);
		if (ch != 'h' && ch != '?' && strchr(allowed, ch) == NULL) {
			const char *name = "?";

			for (size_t i = 0; opts[i].name != NULL; i++)
				if (opts[i].val == ch)
					name = opts[i].name;
			return admin_usage_error(verb, dev_usage, "--%s is not "
			    "an option of %s", name, verb);
		}
		if ((rc = dev_option(verb, ch, ch == '?' ? argv[optind - 1] :
		    optarg, a, help)) != -1)
			return rc;
	}
	return -1;
}

/* ---- enrol-code create --------------------------------------------------- */

/* 0 if s is 1..max bytes of printable ASCII without ' ' and ':'. */
static int
code_token_valid(const char *s, size_t max)
{
	size_t len = s != NULL ? strlen(s) : 0;

	if (len == 0 || len > max)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] > 0x7e || s[i] == ':')
			return -1;
	return 0;
}

/* ID:SECRET alone on stdout, so that a script can take it whole. */
static int
code_show(json_t *ans)
{
	json_t *secret = json_object_get(ans, "secret");
	json_t *expires = json_object_get(ans, "expires_at");
	const char *id = json_string_value(json_object_get(ans, "id"));
	char when[ADMIN_TIME_MAX];

	if (code_token_valid(id, CERTS_ID_MAX - 1) == -1)
		return admin_ctl_malformed("enrol-code", "id");
	if (code_token_valid(json_string_value(secret), CODE_SECRET_MAX) == -1)
		return admin_ctl_malformed("enrol-code", "secret");
	if (!json_is_integer(expires) || json_integer_value(expires) <= 0)
		return admin_ctl_malformed("enrol-code", "expires_at");
	printf("%s:%s\n", id, json_string_value(secret));
	fflush(stdout);
	fprintf(stderr, "mwgctl: enrol-code: single use, expires %s\n",
	    admin_time_text((time_t)json_integer_value(expires), when,
	    sizeof(when)));
	return ADMIN_EXIT_OK;
}

static int
code_create(int argc, char **argv)
{
	struct dev_args a = { .ttl = CODE_TTL_DEFAULT };
	json_t *ans, *req;
	int rc;

	if ((rc = dev_parse("enrol-code", "upltm", argc, argv, &a,
	    code_help)) != -1)
		return rc;
	if (optind < argc)
		return admin_usage_error("enrol-code", dev_usage, "unexpected "
		    "argument %s", argv[optind]);
	if (a.user == NULL || !a.has_practice)
		return admin_usage_error("enrol-code", dev_usage, "--user and "
		    "--practice are required");
	req = json_pack("{s:s, s:s, s:s, s:s, s:I, s:b}", "cmd",
	    "enrol-code-create", "user", a.user, "practice", a.practice,
	    "label", a.label != NULL ? a.label : "", "ttl", (json_int_t)a.ttl,
	    "managed", a.is_managed);
	if ((ans = admin_ctl_request("enrol-code", req)) == NULL)
		return ADMIN_EXIT_FAIL;
	rc = code_show(ans);
	if (json_is_string(json_object_get(ans, "secret")))
		explicit_bzero((char *)json_string_value(json_object_get(ans,
		    "secret")), json_string_length(json_object_get(ans,
		    "secret")));
	json_decref(ans);
	return rc;
}

int
admin_enrol_code(int argc, char **argv)
{
	static const struct admin_cmd cmds[] = {
		{ "create",	code_create },
		{ "list",	admin_code_list },
		{ "withdraw",	admin_code_withdraw },
	};

	return admin_subcommand("enrol-code", cmds, sizeof(cmds) /
	    sizeof(cmds[0]), code_help, dev_usage, argc, argv);
}

/* ---- device list | revoke ------------------------------------------------ */

struct dev_widths {
	int id;
	int user;
	int practice;
};

static void
dev_widen(int *w, json_t *d, const char *key)
{
	char buf[DEV_FIELD_SHOW + 1];
	int len = (int)strlen(admin_field(d, key, buf, sizeof(buf)));

	*w = len > *w ? len : *w;
}

static void
dev_print_row(json_t *d, const struct dev_widths *w)
{
	static const char *const times[] = {
		"enrolled_at", "expires_at", "last_seen_at", "posture_at",
	};
	char id[DEV_FIELD_SHOW + 1], user[DEV_FIELD_SHOW + 1];
	char practice[DEV_FIELD_SHOW + 1], status[DEV_FIELD_SHOW + 1];
	char when[ADMIN_TIME_MAX];
	json_t *managed = json_object_get(d, "managed");

	printf("%-*s  %-*s  %-*s  %-7s", w->id, admin_field(d, "id", id,
	    sizeof(id)), w->user, admin_field(d, "user", user, sizeof(user)),
	    w->practice, admin_field(d, "practice", practice,
	    sizeof(practice)), !json_is_boolean(managed) ? "-" :
	    json_is_true(managed) ? "yes" : "no");
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		printf("  %-20s", admin_time_text((time_t)json_integer_value(
		    json_object_get(d, times[i])), when, sizeof(when)));
	printf("  %s\n", admin_field(d, "status", status, sizeof(status)));
}

/* ID PERSON PRACTICE MANAGED ENROLLED EXPIRES LAST-SEEN LAST-POSTURE
 * STATUS, the first three padded to their longest value. */
static int
dev_print_list(json_t *ans)
{
	json_t *devices = json_object_get(ans, "devices"), *d;
	struct dev_widths w = { 2, 6, 8 };
	size_t i;

	if (!json_is_array(devices))
		return admin_ctl_malformed("device list", "devices");
	json_array_foreach(devices, i, d) {
		dev_widen(&w.id, d, "id");
		dev_widen(&w.user, d, "user");
		dev_widen(&w.practice, d, "practice");
	}
	printf("%-*s  %-*s  %-*s  %-7s  %-20s  %-20s  %-20s  %-20s  %s\n",
	    w.id, "ID", w.user, "PERSON", w.practice, "PRACTICE", "MANAGED",
	    "ENROLLED", "EXPIRES", "LAST-SEEN", "LAST-POSTURE", "STATUS");
	json_array_foreach(devices, i, d)
		dev_print_row(d, &w);
	return ADMIN_EXIT_OK;
}

static int
dev_list(int argc, char **argv)
{
	struct dev_args a = { .ttl = 0 };
	int rc;

	if ((rc = dev_parse("device list", "j", argc, argv, &a, dev_help)) !=
	    -1)
		return rc;
	if (optind < argc)
		return admin_usage_error("device list", dev_usage, "unexpected "
		    "argument %s", argv[optind]);
	return admin_ctl_show("device list", json_pack("{s:s}", "cmd",
	    "device-list"), a.as_json, dev_print_list);
}

static int
dev_revoke(int argc, char **argv)
{
	struct dev_args a = { .ttl = 0 };
	const char *id;
	json_t *ans, *closed;
	int rc;

	if ((rc = dev_parse("device revoke", "r", argc, argv, &a, dev_help)) !=
	    -1)
		return rc;
	if (argc - optind != 1)
		return admin_usage_error("device revoke", dev_usage, "expected "
		    "one device ID");
	id = argv[optind];
	if (certs_device_id_valid(id) == -1)
		return admin_usage_error("device revoke", dev_usage, "invalid "
		    "device id (a-z, 0-9, '-'; 1 to 63, not starting with "
		    "'-')");
	if (a.reason == NULL)
		return admin_usage_error("device revoke", dev_usage, "--reason "
		    "is required");
	if (admin_reason_check("device revoke", a.reason) == -1)
		return ADMIN_EXIT_USAGE;
	if ((ans = admin_ctl_request("device revoke", json_pack("{s:s, s:s, "
	    "s:s}", "cmd", "device-revoke", "id", id, "reason", a.reason))) ==
	    NULL)
		return ADMIN_EXIT_FAIL;
	/* Revoked either way; the count is for the person reading. */
	if (!json_is_integer(closed = json_object_get(ans, "closed")))
		printf("revoked device %s\n", id);
	else
		printf("revoked device %s, closed %lld tunnel%s\n", id,
		    (long long)json_integer_value(closed),
		    json_integer_value(closed) == 1 ? "" : "s");
	json_decref(ans);
	return ADMIN_EXIT_OK;
}

int
admin_device(int argc, char **argv)
{
	static const struct admin_cmd cmds[] = {
		{ "list",	dev_list },
		{ "revoke",	dev_revoke },
	};

	return admin_subcommand("device", cmds, sizeof(cmds) /
	    sizeof(cmds[0]), dev_help, dev_usage, argc, argv);
}
