/*
 * mwgctl throttle list | clear: the login and enrolment throttles mwgd
 * keeps per person, source address and enrolment code, and letting one
 * in again at once (a person who mistyped their way to a wait).
 */
#include "admin/admin.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define THR_KEY_SHOW	128	/* bytes of a key shown */
#define THR_ARG_MAX	96	/* bytes of what clear takes */

static const char thr_usage[] =
"usage: mwgctl throttle list [--json]\n"
"       mwgctl throttle clear USER|ADDR|KEY [--json]\n";

static const char thr_help[] =
"NAME\n"
"     mwgctl throttle - failed-attempt throttles: list, clear\n"
"\n"
"SYNOPSIS\n"
"     mwgctl [-s SOCKET] throttle list [--json]\n"
"     mwgctl [-s SOCKET] throttle clear USER|ADDR|KEY [--json]\n"
"\n"
"DESCRIPTION\n"
"     mwgd slows failed logins (web and SSH) and enrolments down per key:\n"
"     user:NAME (a person), ip:ADDRESS (a source address) and code:ID (an\n"
"     enrolment code). The first 2 failures in a row are free, then each\n"
"     waits twice as long as the last (2 s to 60 s), and no key has more\n"
"     than 10 tries in a 5-minute window. A success clears the person's\n"
"     key. Never a hard lock: a wait always ends by itself.\n"
"\n"
"     list    Every key with failures recorded, by key:\n"
"\n"
"             KEY           user:NAME, ip:ADDRESS or code:ID\n"
"             FAILURES      failures in the current window\n"
"             WINDOW-START  when the window began (it lasts 5 minutes)\n"
"             NEXT-ALLOWED  when the key may try again\n"
"             WAIT          seconds from now until then ('-': may try now)\n"
"\n"
"             Times are UTC. A row whose wait is over stays until the\n"
"             next success or failure of that key. At most 5000 keys are\n"
"             shown; how many more there are is said on standard error.\n"
"\n"
"     clear USER|ADDR|KEY\n"
"             Forgets one key's failures, so it may try again at once:\n"
"             an IPv4 or IPv6 address is ip:ADDRESS, a user name is\n"
"             user:NAME, and a key as list shows it is taken as it is\n"
"             (for code:ID, or a user whose name reads as an address).\n"
"             mwgd records it in the audit trail (throttle.clear) with\n"
"             your OS user and the failures it forgot.\n"
"\n"
"OPTIONS\n"
"     --json  Print mwgd's answer as JSON (times as seconds since 1970).\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 done; 1 refused or failed (e.g. no failures recorded for that\n"
"     key), with the reason on stderr; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwgctl throttle list\n"
"     mwgctl throttle clear alice\n"
"     mwgctl throttle clear 192.0.2.7\n";

static void
thr_print_row(json_t *t, int key_w, json_int_t now)
{
	char key[THR_KEY_SHOW + 1], start[ADMIN_TIME_MAX], next[ADMIN_TIME_MAX];
	json_int_t until = json_integer_value(json_object_get(t,
	    "next_allowed_at"));
	char wait[24] = "-";

	if (until > now)
		snprintf(wait, sizeof(wait), "%llds", (long long)(until - now));
	printf("%-*s  %8lld  %-20s  %-20s  %s\n", key_w, admin_field(t, "key",
	    key, sizeof(key)), (long long)json_integer_value(json_object_get(t,
	    "failures")), admin_time_text((time_t)json_integer_value(
	    json_object_get(t, "window_start")), start, sizeof(start)),
	    admin_time_text((time_t)until, next, sizeof(next)), wait);
}

/* KEY FAILURES WINDOW-START NEXT-ALLOWED WAIT; waits from mwgd's now. */
static int
thr_print_list(json_t *ans)
{
	json_t *list = json_object_get(ans, "throttle"), *t;
	json_int_t now = json_integer_value(json_object_get(ans, "now"));
	char key[THR_KEY_SHOW + 1];
	int key_w = 3;
	size_t i;

	if (!json_is_array(list))
		return admin_ctl_malformed("throttle list", "throttle");
	json_array_foreach(list, i, t) {
		int w = (int)strlen(admin_field(t, "key", key, sizeof(key)));

		key_w = w > key_w ? w : key_w;
	}
	printf("%-*s  %8s  %-20s  %-20s  %s\n", key_w, "KEY", "FAILURES",
	    "WINDOW-START", "NEXT-ALLOWED", "WAIT");
	json_array_foreach(list, i, t)
		thr_print_row(t, key_w, now);
	if (json_integer_value(json_object_get(ans, "left_off")) > 0)
		fprintf(stderr, "mwgctl: throttle list: %lld more keys not "
		    "shown (throttle clear takes any key)\n", (long long)
		    json_integer_value(json_object_get(ans, "left_off")));
	return ADMIN_EXIT_OK;
}

static int
thr_list(int argc, char **argv)
{
	return admin_ctl_list("throttle list", "throttle-list", thr_help,
	    thr_usage, argc, argv, thr_print_list);
}

static int
thr_print_cleared(json_t *ans)
{
	char key[THR_KEY_SHOW + 1];
	json_int_t n = json_integer_value(json_object_get(ans, "failures"));

	printf("cleared %s (%lld failure%s)\n", admin_field(ans, "key", key,
	    sizeof(key)), (long long)n, n == 1 ? "" : "s");
	return ADMIN_EXIT_OK;
}

static int
thr_clear(int argc, char **argv)
{
	int as_json = 0, rc;
	size_t len;

	if ((rc = admin_json_help("throttle clear", thr_help,
	    thr_usage, argc, argv, &as_json)) != -1)
		return rc;
	if (argc - optind != 1)
		return admin_usage_error("throttle clear", thr_usage,
		    "expected one USER, ADDR or KEY");
	len = strlen(argv[optind]);
	for (size_t i = 0; i < len; i++)
		if (argv[optind][i] <= 0x20 || argv[optind][i] > 0x7e)
			len = 0;
	if (len == 0 || len > THR_ARG_MAX)
		return admin_usage_error("throttle clear", thr_usage,
		    "expected 1 to %d printable characters without spaces",
		    THR_ARG_MAX);
	/* mwgd decides what it is (address, key or name): one rule. */
	return admin_ctl_show("throttle clear", json_pack("{s:s, s:s}", "cmd",
	    "throttle-clear", "target", argv[optind]), as_json,
	    thr_print_cleared);
}

int
admin_throttle(int argc, char **argv)
{
	static const struct admin_cmd cmds[] = {
		{ "list",	thr_list },
		{ "clear",	thr_clear },
	};

	return admin_subcommand("throttle", cmds, sizeof(cmds) /
	    sizeof(cmds[0]), thr_help, thr_usage, argc, argv);
}
