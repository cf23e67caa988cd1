/*
 * mwgctl policy check FILE | explain ...: offline, on the policy file.
 * check prints every error as file:line:column; explain builds the request
 * a CONNECT would make and prints every rule the decision considered.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "audit/audit.h"
#include "common/addr.h"
#include "common/xmalloc.h"
#include "policy/policy.h"

#define POLICY_DEFAULT		"/etc/mwg/policy.conf"
#define EXPLAIN_GROUPS_MAX	256	/* groups taken from NSS or --group */

static const char usage_text[] =
"usage: mwgctl policy check FILE\n"
"       mwgctl policy explain --user U --target NAME.PRACTICE[:PORT]\n"
"                             [--policy FILE] [--group G]... [--device ID]\n"
"                             [--managed] [--from ADDR] [--at TIME]\n"
"                             [--posture-ok | --posture SPEC]...\n"
"                             [--break-glass REASON]\n"
"       mwgctl policy VERB --help\n";

static const char check_help[] =
"NAME\n"
"    mwgctl policy check - check a policy file offline\n"
"\n"
"SYNOPSIS\n"
"    mwgctl policy check FILE\n"
"\n"
"DESCRIPTION\n"
"    Parses FILE (and its includes) as mwgd would on reload. Prints every\n"
"    error as file:line:column: message and exits 1, or prints a summary\n"
"    and exits 0. Nothing is changed.\n";

static const char explain_help[] =
"NAME\n"
"    mwgctl policy explain - why a connection would be allowed or denied\n"
"\n"
"SYNOPSIS\n"
"    mwgctl policy explain --user U --target NAME.PRACTICE[:PORT] [options]\n"
"\n"
"DESCRIPTION\n"
"    Decides, offline, the CONNECT that user U would make from a device,\n"
"    and prints every rule considered, in order, then the decision and any\n"
"    report-only verdict. Nothing is sent to mwgd.\n"
"\n"
"OPTIONS\n"
"    --policy FILE     the policy (default " POLICY_DEFAULT ")\n"
"    --user U          the person (required)\n"
"    --target T.P[:N]  target name, practice code, and port (default: the\n"
"                      target's own port)\n"
"    --group G         a group the person is in; repeatable. Without it the\n"
"                      groups come from NSS on this machine (getgrouplist)\n"
"    --device ID       the device id (default: none)\n"
"    --managed         the device is organisation-owned (default: personal)\n"
"    --from ADDR       the source IP address (default: unknown, which is in\n"
"                      no site)\n"
"    --at TIME         2026-03-29T05:30:00Z or with an offset (+01:00), or\n"
"                      \"2026-03-29 06:30\" in the policy's time zone\n"
"                      (default: now)\n"
"    --posture-ok      a fresh posture report in which every check passes:\n"
"                      disk encryption, screen lock and firewall on, updated\n"
"                      today, no pending security updates. Same as\n"
"                      --posture ok\n"
"    --posture SPEC    a posture report described by comma-separated items,\n"
"                      applied in order (repeatable):\n"
"                        ok                   every check passes, as above\n"
"                        disk-encryption=on|off|unknown\n"
"                        screen-lock=on|off|unknown\n"
"                        firewall=on|off|unknown\n"
"                        os-updates=DAYS      days since the last update\n"
"                        security-updates=N   pending security updates\n"
"                        age=DURATION         how old the report is (30s,\n"
"                                             20m, 2h, 1d; default 0)\n"
"                      e.g. --posture ok,disk-encryption=off,age=20m.\n"
"                      Without --posture-ok or --posture, the device has\n"
"                      sent no posture report\n"
"    --break-glass R   the reason given with mwg connect --break-glass\n"
"\n"
"EXIT STATUS\n"
"    0 allowed, 1 denied (or the policy does not load), 2 bad usage\n";

struct explain_args {
	const char *policy, *user, *device, *from, *at, *glass;
	const char *groups_from;		/* how the groups were found */
	const char *groups[EXPLAIN_GROUPS_MAX];
	size_t ngroups;
	int managed, has_posture;
	long posture_age;
	struct policy_posture posture;
	char name[POLICY_NAME_MAX], practice[POLICY_NAME_MAX];
	int port;			/* 0: the target's own */
};

static void
print_errors(const char *path, struct conf_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msgs[i]);
	if (errs->dropped)
		fprintf(stderr, "(%zu more errors)\n", errs->dropped);
	fprintf(stderr, "mwgctl: policy: %s: %zu error%s\n", path,
	    errs->n + errs->dropped, errs->n + errs->dropped == 1 ? "" : "s");
	conf_errors_clear(errs);
}

static int
policy_check(const char *path)
{
	struct conf_errors errs = { 0 };
	struct policy_counts c;
	struct policy *p;

	if ((p = policy_load(path, &errs)) == NULL) {
		print_errors(path, &errs);
		return ADMIN_EXIT_FAIL;
	}
	policy_counts(p, &c);
	printf("%s: OK: practices %zu, targets %zu, sites %zu, posture "
	    "profiles %zu, roles %zu, members %zu; time zone %s; sha256 %s\n",
	    path, c.practices, c.targets, c.sites, c.postures, c.roles,
	    c.members, policy_timezone(p), policy_hash(p));
	policy_free(p);
	return ADMIN_EXIT_OK;
}

/* ---- explain: the request from the options --------------------------- */

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Says what is wrong with the options; returns -1. */
static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mwgctl: policy explain: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see mwgctl policy explain --help)\n");
	return -1;
}

/* "20m", "2h", "30s", "1d" or plain seconds; -1 if malformed. */
static long
duration_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (errno != 0 || v > 366L * 86400)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		return v;
	if (strcmp(end, "m") == 0)
		return v * 60;
	if (strcmp(end, "h") == 0)
		return v * 3600;
	if (strcmp(end, "d") == 0)
		return v * 86400;
	return -1;
}

static int
tri_arg(const char *v, enum policy_tri *out)
{
	if (strcmp(v, "on") == 0)
		*out = POLICY_YES;
	else if (strcmp(v, "off") == 0)
		*out = POLICY_NO;
	else if (strcmp(v, "unknown") == 0)
		*out = POLICY_UNKNOWN;
	else
		return -1;
	return 0;
}

static int
count_arg(const char *v, int max, int *out)
{
	char *end;
	long n;

	errno = 0;
	if (*v < '0' || *v > '9')
		return -1;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n > max)
		return -1;
	*out = (int)n;
	return 0;
}

/* One item of --posture: "ok" or KEY=VALUE. */
static int
posture_item(struct explain_args *a, char *item)
{
	struct policy_posture *ps = &a->posture;
	char *v = strchr(item, '=');

	if (strcmp(item, "ok") == 0) {
		ps->disk_encryption = ps->screen_lock = POLICY_YES;
		ps->firewall = POLICY_YES;
		ps->update_age_days = ps->security_updates = 0;
		return 0;
	}
	if (v == NULL)
		return -1;
	*v++ = '\0';
	if (strcmp(item, "disk-encryption") == 0)
		return tri_arg(v, &ps->disk_encryption);
	if (strcmp(item, "screen-lock") == 0)
		return tri_arg(v, &ps->screen_lock);
	if (strcmp(item, "firewall") == 0)
		return tri_arg(v, &ps->firewall);
	if (strcmp(item, "os-updates") == 0)
		return count_arg(v, 100000, &ps->update_age_days);
	if (strcmp(item, "security-updates") == 0)
		return count_arg(v, 100000, &ps->security_updates);
	if (strcmp(item, "age") == 0)
		return (a->posture_age = duration_arg(v)) < 0 ? -1 : 0;
	return -1;
}

static int
posture_arg(struct explain_args *a, const char *spec)
{
	char *copy = xstrdup(spec), *item, *save = NULL;
	int rc = 0;

	if (!a->has_posture) {
		a->has_posture = 1;
		a->posture.update_age_days = a->posture.security_updates = -1;
	}
	for (item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
	    item = strtok_r(NULL, ",", &save))
		if (posture_item(a, item) == -1)
			rc = usage_error("--posture: expected ok or KEY=VALUE "
			    "items, got '%s'", spec);
	free(copy);
	return rc;
}

/* "emis.K84001" or "emis.K84001:443". */
static int
target_arg(struct explain_args *a, const char *s)
{
	const char *dot = strchr(s, '.'), *colon = strrchr(s, ':');
	size_t nlen, plen;

	if (colon == NULL)
		colon = s + strlen(s);
	else if (count_arg(colon + 1, 65535, &a->port) == -1 || a->port == 0)
		return usage_error("--target: expected a port from 1 to 65535 "
		    "after ':', got '%s'", s);
	if (dot == NULL || dot > colon)
		return usage_error("--target: expected NAME.PRACTICE[:PORT], "
		    "got '%s'", s);
	nlen = (size_t)(dot - s);
	plen = (size_t)(colon - dot - 1);
	if (nlen == 0 || nlen >= sizeof(a->name) || plen == 0 ||
	    plen >= sizeof(a->practice))
		return usage_error("--target: expected NAME.PRACTICE[:PORT], "
		    "got '%s'", s);
	memcpy(a->name, s, nlen);
	a->name[nlen] = '\0';
	memcpy(a->practice, dot + 1, plen);
	a->practice[plen] = '\0';
	return 0;
}

static const struct option explain_opts[] = {
	{ "policy", required_argument, NULL, 'P' },
	{ "user", required_argument, NULL, 'u' },
	{ "target", required_argument, NULL, 't' },
	{ "group", required_argument, NULL, 'g' },
	{ "device", required_argument, NULL, 'd' },
	{ "managed", no_argument, NULL, 'm' },
	{ "from", required_argument, NULL, 'f' },
	{ "at", required_argument, NULL, 'a' },
	{ "posture-ok", no_argument, NULL, 'o' },
	{ "posture", required_argument, NULL, 'p' },
	{ "break-glass", required_argument, NULL, 'b' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* 0, 1 (--help printed), or -1 (said on stderr). */
static int
explain_parse(int argc, char **argv, struct explain_args *a)
{
	int ch, rc = 0;

	a->policy = POLICY_DEFAULT;
	optind = 1;
	opterr = 0;
	while (rc == 0 && (ch = getopt_long(argc, argv, ":h", explain_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'P': a->policy = optarg; break;
		case 'u': a->user = optarg; break;
		case 't': rc = target_arg(a, optarg); break;
		case 'd': a->device = optarg; break;
		case 'm': a->managed = 1; break;
		case 'f': a->from = optarg; break;
		case 'a': a->at = optarg; break;
		case 'o': rc = posture_arg(a, "ok"); break;
		case 'p': rc = posture_arg(a, optarg); break;
		case 'b': a->glass = optarg; break;
		case 'g':
			if (a->ngroups == EXPLAIN_GROUPS_MAX)
				return usage_error("more than %d groups",
				    EXPLAIN_GROUPS_MAX);
			a->groups[a->ngroups++] = optarg;
			break;
		case 'h':
			fputs(explain_help, stdout);
			return 1;
		case ':':
			return usage_error("%s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (rc == 0 && optind < argc)
		rc = usage_error("unexpected argument '%s'", argv[optind]);
	if (rc == 0 && (a->user == NULL || a->name[0] == '\0'))
		rc = usage_error("--user and --target are required");
	return rc;
}

/* ---- explain: NSS, time, source ------------------------------------------ */

/* The person's groups from NSS into a (owned copies); -1 if unknown. */
static int
nss_groups(struct explain_args *a, char **owned)
{
	gid_t gids[EXPLAIN_GROUPS_MAX];
	int n = EXPLAIN_GROUPS_MAX;
	struct passwd *pw;
	struct group *gr;

	if ((pw = getpwnam(a->user)) == NULL)
		return -1;
	if (getgrouplist(a->user, pw->pw_gid, gids, &n) == -1) {
		fprintf(stderr, "mwgctl: policy explain: %s is in more than %d "
		    "groups; using the first %d\n", a->user,
		    EXPLAIN_GROUPS_MAX, EXPLAIN_GROUPS_MAX);
		n = EXPLAIN_GROUPS_MAX;
	}
	for (int i = 0; i < n; i++)
		if ((gr = getgrgid(gids[i])) != NULL) {
			owned[a->ngroups] = xstrdup(gr->gr_name);
			a->groups[a->ngroups] = owned[a->ngroups];
			a->ngroups++;
		}
	return 0;
}

static int
time_arg(const struct policy *p, const char *s, time_t *t)
{
	char err[160];
	int rc;

	if (s == NULL) {
		*t = time(NULL);
		return 0;
	}
	if (audit_parse_time(s, t) == 0)
		return 0;
	if ((rc = policy_parse_local(p, s, t, err, sizeof(err))) == -1) {
		fprintf(stderr, "mwgctl: policy explain: --at: expected "
		    "2026-03-29T05:30:00Z, an offset time, or \"YYYY-MM-DD "
		    "HH:MM\" in %s: %s\n", policy_timezone(p), err);
		return -1;
	}
	if (rc == 1)
		fprintf(stderr, "mwgctl: policy explain: --at: %s happens twice "
		    "in %s (the clocks go back); using the first\n", s,
		    policy_timezone(p));
	return 0;
}

static int
source_arg(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		return usage_error("--from: expected an IPv4 or IPv6 address, "
		    "got '%s'", s);
	return 0;
}

/* ---- explain: output ------------------------------------------------------ */

static void
explain_cb(const char *rule, int applies, const char *why, void *arg)
{
	int *n = arg;

	printf("  %2d. %-30s %-3s  %s\n", ++*n, rule, applies ? "yes" : "no",
	    why);
}

static const char *
tri_name(enum policy_tri v)
{
	return v == POLICY_YES ? "on" : v == POLICY_NO ? "off" : "unknown";
}

static void
print_request(const struct policy *p, const struct explain_args *a,
    const struct policy_request *req, const char *groups_from)
{
	char when[64], utc[32];
	struct tm tm;

	printf("request:\n  user     %s\n  groups   ", a->user);
	for (size_t i = 0; i < a->ngroups; i++)
		printf("%s%s", i ? ", " : "", a->groups[i]);
	printf("%s(%s)\n", a->ngroups ? " " : "", groups_from);
	printf("  device   %s, %s\n", a->device ? a->device : "(no id)",
	    a->managed ? "managed (organisation-owned)" : "personal");
	if (!a->has_posture)
		printf("  posture  no report\n");
	else
		printf("  posture  disk-encryption %s, screen-lock %s, firewall "
		    "%s, os-updates %d d, security-updates %d, age %ld s\n",
		    tri_name(a->posture.disk_encryption),
		    tri_name(a->posture.screen_lock),
		    tri_name(a->posture.firewall), a->posture.update_age_days,
		    a->posture.security_updates, a->posture_age);
	printf("  from     %s\n", a->from ? a->from : "(unknown)");
	gmtime_r(&req->now, &tm);
	strftime(utc, sizeof(utc), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("  at       %s = %s\n", utc, policy_format_local(p, req->now,
	    when, sizeof(when)));
	printf("  target   %s.%s:%d\n", a->name, a->practice, req->port);
	if (a->glass)
		printf("  break-glass reason given\n");
}

static void
print_decision(const struct policy_decision *d)
{
	printf("decision: %s by %s: %s\n", d->allow ? "ALLOW" : "DENY",
	    d->rule, d->reason);
	if (d->allow && d->idle)
		printf("  idle timeout %ld s\n", d->idle);
	if (d->allow && d->max_duration)
		printf("  the tunnel may last %ld s (%ld h %02ld min)\n",
		    d->max_duration, d->max_duration / 3600,
		    d->max_duration / 60 % 60);
	if (d->break_glass)
		printf("  break-glass: audited with high severity\n");
	if (d->report_only)
		printf("report-only: %s: %s\n", d->report_rule,
		    d->report_reason);
}

static int
explain_run(struct explain_args *a, struct policy *p)
{
	struct policy_request req = { 0 };
	struct policy_decision d;
	struct sockaddr_storage src;
	const struct policy_target *t;
	int n = 0;

	if (time_arg(p, a->at, &req.now) == -1 ||
	    (a->from != NULL && source_arg(a->from, &src) == -1))
		return ADMIN_EXIT_USAGE;
	t = policy_find_target(p, a->name, a->practice);
	req.user = a->user;
	req.groups = a->groups;
	req.ngroups = a->ngroups;
	req.device_id = a->device ? a->device : "";
	req.device_managed = a->managed;
	a->posture.received_at = req.now - a->posture_age;
	req.posture = a->has_posture ? &a->posture : NULL;
	req.source = a->from ? (struct sockaddr *)&src : NULL;
	req.source_ip = a->from ? a->from : "";
	req.target_name = a->name;
	req.practice = a->practice;
	req.port = a->port ? a->port : t ? addr_port((const struct sockaddr *)
	    &t->addr) : 0;
	req.break_glass = a->glass;
	printf("policy %s (sha256 %s), time zone %s\n", a->policy,
	    policy_hash(p), policy_timezone(p));
	print_request(p, a, &req, a->groups_from);
	printf("rules considered, in order:\n");
	policy_explain(p, &req, &d, explain_cb, &n);
	print_decision(&d);
	return d.allow ? ADMIN_EXIT_OK : ADMIN_EXIT_FAIL;
}

static int
policy_explain_verb(int argc, char **argv)
{
	struct explain_args a;
	struct conf_errors errs = { 0 };
	char *owned[EXPLAIN_GROUPS_MAX];
	struct policy *p;
	size_t nowned = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = explain_parse(argc, argv, &a)) != 0)
		return rc == 1 ? ADMIN_EXIT_OK : ADMIN_EXIT_USAGE;
	if ((p = policy_load(a.policy, &errs)) == NULL) {
		print_errors(a.policy, &errs);
		return ADMIN_EXIT_FAIL;
	}
	a.groups_from = "from --group";
	if (a.ngroups == 0) {
		a.groups_from = "from NSS on this machine";
		if (nss_groups(&a, owned) == -1)
			a.groups_from = "user unknown to NSS here: no groups; "
			    "give --group";
		nowned = a.ngroups;
	}
	rc = explain_run(&a, p);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	policy_free(p);
	return rc;
}

int
admin_policy(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		return ADMIN_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "explain") == 0)
		return policy_explain_verb(argc - 1, argv + 1);
	if (argc == 3 && strcmp(argv[1], "check") == 0 &&
	    (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		fputs(check_help, stdout);
		return ADMIN_EXIT_OK;
	}
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return policy_check(argv[2]);
	fputs(usage_text, stderr);
	return ADMIN_EXIT_USAGE;
}
