/*
 * mwgctl drain: take one gateway node out of service for maintenance
 * without cutting anyone off. mwgd refuses new connections (HAProxy's
 * health check sees 503 and sends people to the other nodes), lets the
 * open tunnels run to their end or to the limit, then stops by itself.
 */
#include "admin/admin.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define DRAIN_LIMIT_MIN		1		/* seconds */
#define DRAIN_LIMIT_MAX		(24 * 3600)	/* as mwgd takes it */

static const char drain_usage[] =
"usage: mwgctl [-s SOCKET] drain [--limit D] [--json]\n";

static const char drain_help[] =
"NAME\n"
"     mwgctl drain - stop taking new connections, then stop mwgd\n"
"\n"
"SYNOPSIS\n"
"     mwgctl [-s SOCKET] drain [--limit D] [--json]\n"
"\n"
"DESCRIPTION\n"
"     The node stops taking new work at once: every new request on the\n"
"     TLS port is answered 503 draining (and recorded as\n"
"     connection.refuse), GET /health answers 503 draining so that\n"
"     HAProxy stops sending people here, and the SSH listener closes new\n"
"     connections. Open tunnels, TLS and SSH, keep running. When the last\n"
"     one ends, or when the limit passes, mwgd stops as on SIGTERM (what\n"
"     is still open closes with reason shutdown) and exits with status 0;\n"
"     start it again when the maintenance is done. mwgd records admin.drain\n"
"     with your OS user, then gateway.drained. Asking again while a drain\n"
"     runs changes nothing and shows it. SIGTERM during a drain stops at\n"
"     once.\n"
"\n"
"OPTIONS\n"
"     --limit D  How long open tunnels may run on: 90s, 30m, 2h; at most\n"
"                24h (default 15m).\n"
"     --json     Print mwgd's answer as JSON.\n"
"     --help     Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 the node drains; 1 refused or mwgd not reached; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwgctl drain --limit 30m\n";

static int
drain_print(json_t *ans)
{
	char at[ADMIN_TIME_MAX];
	json_int_t open = json_integer_value(json_object_get(ans,
	    "open_tunnels"));

	printf("%s: %lld open tunnel%s; mwgd stops when %s, or at %s\n",
	    json_is_true(json_object_get(ans, "already")) ?
	    "already draining" : "draining", (long long)open, open == 1 ? "" :
	    "s", open == 1 ? "it ends" : "they end", admin_time_text((time_t)
	    json_integer_value(json_object_get(ans, "deadline")), at,
	    sizeof(at)));
	return ADMIN_EXIT_OK;
}

int
admin_drain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "limit",	required_argument,	NULL, 'l' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	json_t *req = json_pack("{s:s}", "cmd", "drain");
	long long limit = -1;
	int ch, as_json = 0;

	optind = 0;	/* glibc: full reset, argv is not the one main saw */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (admin_duration("--limit", optarg, DRAIN_LIMIT_MIN,
			    DRAIN_LIMIT_MAX, &limit) == -1) {
				json_decref(req);
				return admin_usage_error("drain", drain_usage,
				    "--limit: expected a duration such as 90s, "
				    "30m or 2h, at most 24h; got '%s'", optarg);
			}
			break;
		case 'j':
			as_json = 1;
			break;
		case 'h':
			json_decref(req);
			fputs(drain_help, stdout);
			return ADMIN_EXIT_OK;
		default:
			json_decref(req);
			return admin_bad_option("drain", drain_usage, ch, argv);
		}
	}
	if (optind != argc) {
		json_decref(req);
		return admin_usage_error("drain", drain_usage, "unexpected "
		    "'%s'", argv[optind]);
	}
	if (limit != -1)
		json_object_set_new(req, "limit_s", json_integer(limit));
	return admin_ctl_show("drain", req, as_json, drain_print);
}
