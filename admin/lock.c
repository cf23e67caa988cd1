/*
 * mwgctl lock | unlock | lock list: cut a person or a device off at once.
 * mwgd keeps the locks, checks them at every login and CONNECT, and closes
 * the locked party's live tunnels when the lock is set.
 */
#include "admin/admin.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certs.h"

#define LOCK_TTL_MIN	1		/* seconds */
#define LOCK_TTL_MAX	(366 * 86400LL)	/* a lock for longer: no --ttl */
#define LOCK_NAME_SHOW	64		/* bytes of a name in the table */

static const char lock_usage[] =
"usage: mwgctl lock user|device NAME [--ttl D] --reason TEXT\n"
"       mwgctl lock list [--json]\n"
"       mwgctl unlock user|device NAME\n";

static const char lock_help[] =
"NAME\n"
"     mwgctl lock, unlock - cut a person or a device off the gateway\n"
"\n"
"SYNOPSIS\n"
"     mwgctl [-s SOCKET] lock user|device NAME [--ttl D] --reason TEXT\n"
"     mwgctl [-s SOCKET] lock list [--json]\n"
"     mwgctl [-s SOCKET] unlock user|device NAME\n"
"\n"
"DESCRIPTION\n"
"     lock user NAME\n"
"             Refuses the person NAME every login and tunnel, from any\n"
"             device, and closes the tunnels they have open now. Session\n"
"             certificates already issued stay valid in themselves until\n"
"             they expire, but every use of one is checked against the\n"
"             locks.\n"
"     lock device ID\n"
"             The same for one device (an id from mwgctl device list),\n"
"             whoever uses it. To end a device for good, use mwgctl device\n"
"             revoke instead.\n"
"     lock list\n"
"             The locks mwgd holds: kind, name, when it ends, whether it\n"
"             is still in force, when and by which OS user (uid) it was\n"
"             set, and why.\n"
"     unlock user|device NAME\n"
"             Lifts the lock; the party may log in again at once.\n"
"\n"
"     A second lock on the same party replaces the first (its reason and\n"
"     end). mwgd records every lock and unlock in the audit trail with\n"
"     your OS user.\n"
"\n"
"OPTIONS\n"
"     --ttl D The lock ends by itself after D: a number with s, m, h, d or\n"
"             w (30m, 12h, 7d), at most 366 days. Without --ttl it lasts\n"
"             until unlocked.\n"
"     --reason TEXT\n"
"             Why, in 1 to 200 printable ASCII characters; required. It is\n"
"             kept with the lock and written to the audit trail.\n"
"     --json  lock list: print mwgd's answer as JSON.\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 done; 1 refused or failed (e.g. unlock of a party that is not\n"
"     locked), with the reason on stderr; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwgctl lock user alice --reason \"left the practice\"\n"
"     mwgctl lock device laptop-7f3a --ttl 12h --reason \"reported stolen\"\n"
"     mwgctl unlock user alice\n";

struct lock_args {
	const char *kind;	/* "user" or "device" */
	const char *name;
	const char *reason;
	long long ttl;		/* seconds; 0: until unlocked */
	int as_json;
};

/* Checks kind and name: user names and device ids as certs/ has them. */
static int
lock_target(const char *verb, const char *kind, const char *name)
{
	if (strcmp(kind, "user") == 0) {
		if (certs_user_valid(name) == 0)
			return 0;
		return admin_usage_error(verb, lock_usage, "invalid user name "
		    "(a-z, 0-9, '.', '_', '-'; 1 to 63, not starting with '.' "
		    "or '-')");
	}
	if (strcmp(kind, "device") == 0) {
		if (certs_device_id_valid(name) == 0)
			return 0;
		return admin_usage_error(verb, lock_usage, "invalid device id "
		    "(a-z, 0-9, '-'; 1 to 63, not starting with '-')");
	}
	return admin_usage_error(verb, lock_usage, "expected user or device, "
	    "got %s", kind);
}

static int
lock_parse(int argc, char **argv, struct lock_args *a)
{
	static const struct option opts[] = {
		{ "ttl",	required_argument,	NULL, 't' },
		{ "reason",	required_argument,	NULL, 'r' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *verb = argv[0];
	int ch;

	optind = 0;	/* glibc: full reset, argv is not the one main saw */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (admin_duration("--ttl", optarg, LOCK_TTL_MIN,
			    LOCK_TTL_MAX, &a->ttl) == -1)
				return admin_usage_error(verb, lock_usage,
				    "--ttl: expected a duration such as 30m, "
				    "12h or 7d, at most 366d; got '%s'",
				    optarg);
			break;
		case 'r':
			a->reason = optarg;
			break;
		case 'j':
			a->as_json = 1;
			break;
		case 'h':
			fputs(lock_help, stdout);
			return ADMIN_EXIT_OK;
		default:
			return admin_bad_option(verb, lock_usage, ch, argv);
		}
	}
	return -1;
}

static int
lock_set(const char *verb, struct lock_args *a)
{
	char until[ADMIN_TIME_MAX];
	json_t *ans, *closed;
	time_t end;

	if (a->reason == NULL)
		return admin_usage_error(verb, lock_usage, "--reason is "
		    "required");
	if (admin_reason_check(verb, a->reason) == -1)
		return ADMIN_EXIT_USAGE;
	end = a->ttl ? time(NULL) + (time_t)a->ttl : 0;
	if ((ans = admin_ctl_request(verb, json_pack("{s:s, s:s, s:s, s:I, "
	    "s:s}", "cmd", "lock", "kind", a->kind, "name", a->name, "ttl",
	    (json_int_t)a->ttl, "reason", a->reason))) == NULL)
		return ADMIN_EXIT_FAIL;
	/* mwgd's own end time if it says one; ours is within a second. */
	if (json_is_integer(json_object_get(ans, "until")))
		end = (time_t)json_integer_value(json_object_get(ans, "until"));
	if (end != 0)
		admin_time_text(end, until, sizeof(until));
	printf("locked %s %s (until %s)", a->kind, a->name,
	    end != 0 ? until : "unlocked");
	/* Locked either way; the count is for the person reading. */
	if (json_is_integer(closed = json_object_get(ans, "closed")))
		printf(", closed %lld tunnel%s",
		    (long long)json_integer_value(closed),
		    json_integer_value(closed) == 1 ? "" : "s");
	putchar('\n');
	json_decref(ans);
	return ADMIN_EXIT_OK;
}

static void
lock_print_row(json_t *l, int name_w, time_t now)
{
	char name[LOCK_NAME_SHOW + 1], reason[ADMIN_REASON_MAX + 1];
	char until[ADMIN_TIME_MAX], created[ADMIN_TIME_MAX], kind[16];
	json_int_t end = json_integer_value(json_object_get(l, "until"));
	json_t *uid = json_object_get(l, "by_uid");

	if (end > 0)
		admin_time_text((time_t)end, until, sizeof(until));
	else
		snprintf(until, sizeof(until), "never");
	admin_time_text((time_t)json_integer_value(json_object_get(l,
	    "created_at")), created, sizeof(created));
	printf("%-6s  %-*s  %-20s  %-7s  %-20s  ",
	    admin_field(l, "kind", kind, sizeof(kind)), name_w,
	    admin_field(l, "name", name, sizeof(name)), until,
	    end > 0 && end <= now ? "expired" : "active", created);
	if (json_is_integer(uid))
		printf("%-6lld  ", (long long)json_integer_value(uid));
	else
		printf("%-6s  ", "-");
	printf("%s\n", admin_field(l, "reason", reason, sizeof(reason)));
}

/* KIND NAME EXPIRES STATE CREATED BY-UID REASON, names padded to fit. */
static int
lock_print_list(json_t *ans)
{
	json_t *locks = json_object_get(ans, "locks"), *l;
	char name[LOCK_NAME_SHOW + 1];
	int name_w = 4;
	time_t now = time(NULL);
	size_t i;

	if (!json_is_array(locks))
		return admin_ctl_malformed("lock list", "locks");
	json_array_foreach(locks, i, l) {
		int w = (int)strlen(admin_field(l, "name", name, sizeof(name)));

		name_w = w > name_w ? w : name_w;
	}
	printf("%-6s  %-*s  %-20s  %-7s  %-20s  %-6s  %s\n", "KIND", name_w,
	    "NAME", "EXPIRES", "STATE", "CREATED", "BY-UID", "REASON");
	json_array_foreach(locks, i, l)
		lock_print_row(l, name_w, now);
	return ADMIN_EXIT_OK;
}

static int
lock_list(struct lock_args *a)
{
	return admin_ctl_show("lock list", json_pack("{s:s}", "cmd",
	    "lock-list"), a->as_json, lock_print_list);
}

static int
lock_unset(const char *verb, struct lock_args *a)
{
	json_t *ans;

	if ((ans = admin_ctl_request(verb, json_pack("{s:s, s:s, s:s}", "cmd",
	    "unlock", "kind", a->kind, "name", a->name))) == NULL)
		return ADMIN_EXIT_FAIL;
	json_decref(ans);
	printf("unlocked %s %s\n", a->kind, a->name);
	return ADMIN_EXIT_OK;
}

/* argv[0] is "lock" or "unlock"; options may stand anywhere. */
int
admin_lock(int argc, char **argv)
{
	struct lock_args a = { NULL, NULL, NULL, 0, 0 };
	const char *verb = argv[0];
	int is_lock = strcmp(verb, "lock") == 0, rc, npos;

	if ((rc = lock_parse(argc, argv, &a)) != -1)
		return rc;
	npos = argc - optind;
	if (is_lock && npos == 1 && strcmp(argv[optind], "list") == 0) {
		if (a.reason != NULL || a.ttl != 0)
			return admin_usage_error("lock list", lock_usage,
			    "list takes no --ttl or --reason");
		return lock_list(&a);
	}
	if (npos != 2)
		return admin_usage_error(verb, lock_usage, "%s", npos == 0 ?
		    "missing user|device NAME" : "expected user|device NAME");
	a.kind = argv[optind];
	a.name = argv[optind + 1];
	if ((rc = lock_target(verb, a.kind, a.name)) != 0)
		return rc;
	if (a.as_json)
		return admin_usage_error(verb, lock_usage, "--json is for lock "
		    "list");
	if (is_lock)
		return lock_set(verb, &a);
	if (a.reason != NULL || a.ttl != 0)
		return admin_usage_error(verb, lock_usage, "unlock takes no "
		    "--ttl or --reason");
	return lock_unset(verb, &a);
}
