/*
 * libFuzzer harness for policy/: an input starting "TZif" goes to the time
 * zone reader, any other is a whole policy.conf for policy_load_string.
 * A loaded policy must then find every target its statement tree holds,
 * and decide requests built from the names in the file with the promised
 * shape: allow only through a role and on the target's port, a printable
 * reason, explain agreeing with decide. Run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/conf.h"
#include "policy/policy_int.h"

#define NAMES_MAX	8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct names {
	const char *users[NAMES_MAX], *groups[NAMES_MAX];
	size_t nusers, ngroups;
};

static void
printable(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s > '~')
			abort();
}

static void
noop_cb(const char *rule, int applies, const char *why, void *arg)
{
	(void)rule;
	(void)applies;
	(void)arg;
	printable(why, strlen(why) + 1);
}

static void
name_cb(const char *kind, const char *name, void *arg)
{
	(void)arg;
	if (strcmp(kind, "role") != 0 && strcmp(kind, "practice") != 0)
		abort();
	printable(name, strlen(name) + 1);
}

static void
check_decision(const struct policy *p, const struct policy_request *req,
    const struct policy_target *t, int port)
{
	struct policy_decision d, e;

	policy_decide(p, req, &d);
	policy_explain(p, req, &e, noop_cb, NULL);
	if (memcmp(&d, &e, sizeof(d)) != 0)
		abort();
	printable(d.rule, sizeof(d.rule));
	printable(d.reason, sizeof(d.reason));
	printable(d.report_reason, sizeof(d.report_reason));
	if (d.target != t)
		abort();
	if (d.allow && (strncmp(d.rule, "role ", 5) != 0 || port !=
	    addr_port((const struct sockaddr *)&t->addr)))
		abort();
	if (!d.allow && (strcmp(d.rule, "default-deny") != 0 ||
	    d.break_glass || d.max_duration))
		abort();
	if (d.break_glass && req->break_glass == NULL)
		abort();
}

/* A handful of requests for target t, from names found in the file. */
static void
decide_target(const struct policy *p, const struct policy_target *t,
    const struct names *nm)
{
	static const time_t times[] = { 1774746000, 1781085600, 1793059200 };
	struct policy_posture good = { .disk_encryption = POLICY_YES,
	    .screen_lock = POLICY_YES, .firewall = POLICY_YES };
	int port = addr_port((const struct sockaddr *)&t->addr);

	for (size_t u = 0; u <= nm->nusers; u++)
		for (int v = 0; v < 6; v++) {
			struct policy_request req = {
				.user = u < nm->nusers ? nm->users[u] : "",
				.groups = nm->groups,
				.ngroups = v & 1 ? nm->ngroups : 0,
				.device_id = "dev", .device_managed = v & 2,
				.posture = v & 2 ? &good : NULL,
				.source_ip = v & 1 ? "10.1.2.3" : "",
				.target_name = t->name, .practice = t->practice,
				.port = port, .now = times[v % 3],
				.break_glass = v >= 4 ? "reason" : NULL,
			};

			good.received_at = req.now - 60 * v;
			check_decision(p, &req, t, port);
			req.port = port == 65535 ? 1 : port + 1;
			check_decision(p, &req, t, req.port);
			policy_user_access(p, req.user, nm->groups, req.ngroups,
			    name_cb, NULL);
			if (policy_session_lifetime(p, req.user, nm->groups,
			    req.ngroups) <= 0)
				abort();
		}
}

static void
add_name(const char **v, size_t *n, const char *s)
{
	if (*n < NAMES_MAX)
		v[(*n)++] = s;
}

/* Users and groups that member and role statements name. */
static void
collect_names(const struct conf_tree *t, struct names *nm)
{
	for (size_t i = 0; i < t->root.nchildren; i++) {
		const struct conf_node *n = &t->root.children[i];

		if (strcmp(n->name.text, "member") == 0 && n->nargs == 1)
			add_name(nm->users, &nm->nusers, n->args[0].text);
		else if (strcmp(n->name.text, "member") == 0 && n->nargs == 2)
			add_name(nm->groups, &nm->ngroups, n->args[1].text);
		if (strcmp(n->name.text, "role") != 0)
			continue;
		for (size_t j = 0; j < n->nchildren; j++) {
			const struct conf_node *c = &n->children[j];
			int is_group = strcmp(c->name.text, "groups") == 0;

			if (!is_group && strcmp(c->name.text, "users") != 0)
				continue;
			for (size_t k = 0; k < c->nargs; k++)
				add_name(is_group ? nm->groups : nm->users,
				    is_group ? &nm->ngroups : &nm->nusers,
				    c->args[k].text);
		}
	}
}

/* Every target statement of a loaded policy is found, and decided. */
static void
check_targets(const struct policy *p, const struct conf_tree *t)
{
	struct names nm = { .nusers = 0 };
	size_t seen = 0;

	collect_names(t, &nm);
	for (size_t i = 0; i < t->root.nchildren; i++) {
		const struct conf_node *pr = &t->root.children[i];

		if (strcmp(pr->name.text, "practice") != 0)
			continue;
		for (size_t j = 0; j < pr->nchildren; j++) {
			const struct conf_node *n = &pr->children[j];
			const struct policy_target *tg;
			struct sockaddr_storage ss;
			socklen_t len;

			if (addr_parse(n->args[1].text, &ss, &len) == -1)
				abort();	/* it loaded, so it parses */
			tg = policy_find_target(p, n->args[0].text,
			    pr->args[0].text);
			if (tg == NULL || strcmp(tg->name, n->args[0].text) != 0 ||
			    addr_port((struct sockaddr *)&tg->addr) !=
			    addr_port((struct sockaddr *)&ss))
				abort();
			if (seen++ < NAMES_MAX)
				decide_target(p, tg, &nm);
		}
	}
	if (seen != policy_target_count(p))
		abort();
}

static void
fuzz_policy(const uint8_t *data, size_t size)
{
	struct conf_errors errs = { 0 };
	struct policy_request req = { .user = "", .device_id = "",
	    .source_ip = "", .target_name = "no-such-target",
	    .practice = "K84001", .port = 443, .now = 1774746000 };
	struct policy_decision d;
	struct conf_tree *t;
	struct policy *p;
	char buf[64];
	time_t when;

	p = policy_load_string("fuzz.conf", (const char *)data, size, &errs);
	if ((p == NULL) != (errs.n + errs.dropped > 0))
		abort();	/* NULL exactly when there are errors */
	if (p != NULL) {
		if (strlen(policy_hash(p)) != 64)
			abort();
		policy_decide(p, &req, &d);
		if (d.allow || d.target != NULL)
			abort();
		t = conf_parse_string("fuzz.conf", (const char *)data, size,
		    &errs);
		if (t == NULL)
			abort();
		check_targets(p, t);
		conf_tree_free(t);
		policy_format_local(p, req.now, buf, sizeof(buf));
		if (policy_parse_local(p, "2026-10-25 01:30", &when, buf,
		    sizeof(buf)) == -1 && strcmp(policy_timezone(p), "UTC") == 0)
			abort();
	}
	policy_free(p);
	conf_errors_clear(&errs);
}

/* The TZif reader: offsets within a day of UTC, and local times that
 * convert back. */
static void
fuzz_tz(const uint8_t *data, size_t size)
{
	static const long long probe[] = { -4000000000LL, 0, 1774746000,
	    1793059200, 2366841600LL, 253402300799LL };
	struct policy_tz *tz = policy_tz_parse(data, size, NULL, 0);

	if (tz == NULL)
		return;
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		long off = policy_tz_offset(tz, probe[i], NULL, NULL);
		long long back;

		if (off <= -26 * 3600L || off >= 26 * 3600L)
			abort();
		if (policy_tz_local_to_utc(tz, probe[i] + off, &back) == 0 &&
		    back + policy_tz_offset(tz, back, NULL, NULL) != probe[i] + off)
			abort();
	}
	policy_tz_free(tz);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 4 && memcmp(data, "TZif", 4) == 0) {
		fuzz_tz(data, size);
		return 0;
	}
	/* No file system: see fuzz_conf.c. */
	if (memmem(data, size, "include", 7) != NULL ||
	    memmem(data, size, "timezone", 8) != NULL)
		return 0;
	fuzz_policy(data, size);
	return 0;
}
