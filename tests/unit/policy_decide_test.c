/*
 * policy/policy_decide.c: the decision table. One policy, one base request
 * (alice, a clinician at K84001, on a managed device with a good fresh
 * posture report, from the office, on a Wednesday morning); each case
 * changes one or two inputs and states the whole outcome.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "audit/audit.h"
#include "policy/policy.h"
#include "unit.h"

static const char policy_text[] =
    "timezone Europe/London\n"
    "site office { networks 10.200.0.0/16 2001:db8:200::/48 }\n"
    "site homes { networks 192.0.2.0/24 }\n"
    "posture strict {\n"
    "  disk-encryption required\n"
    "  screen-lock required\n"
    "  firewall required\n"
    "  os-updates within 14d\n"
    "  security-updates max 0\n"
    "  max-age 15m\n"
    "}\n"
    "practice K84001 \"Banbury Cross\" {\n"
    "  target emis 10.10.1.10:443\n"
    "  target docman 10.10.1.11:443\n"
    "  target rdp 10.10.1.20:3389\n"
    "}\n"
    "practice K84002 \"Horsefair\" { target emis 10.10.2.10:443 }\n"
    "practice K84003 { target emis [fd00::3]:443 }\n"
    "role clinician {\n"
    "  groups gp-clinicians\n"
    "  targets emis docman\n"
    "  posture strict\n"
    "  device managed\n"
    "  hours mon-sun 06:00-22:00\n"
    "  max-session 12h\n"
    "  idle 30m\n"
    "}\n"
    "role k2-only { users carol; practices K84002; targets emis }\n"
    "role remote { groups remote; targets rdp; from office homes }\n"
    "role it { groups csu-it; practices *; targets *; from office;"
    " max-session 4h }\n"
    "role glass { groups duty; practices *; targets emis;"
    " break-glass 1h }\n"
    "role night { groups night; targets emis; hours mon-sun 22:00-06:00;"
    " break-glass 8h }\n"
    "role trial { groups gp-clinicians; targets emis;"
    " hours mon-fri 07:00-20:00; mode report-only }\n"
    "member alice { practices K84001 K84002 }\n"
    "member group k3-staff { practices K84003 }\n"
    "member carol { practices K84001 K84002 }\n"
    "member dave { practices K84001 }\n";

#define BASE_AT	"2026-06-10T10:00:00Z"	/* Wednesday 11:00 BST */

struct dcase {
	const char *user;		/* NULL: alice */
	const char *groups[3];		/* { NULL }: gp-clinicians */
	int no_groups;
	const char *target;		/* NULL: emis.K84001 */
	int port;			/* 0: 443 */
	int personal;
	const char *device;		/* NULL: dev-1 */
	const char *posture;		/* edits of a good report, "none" */
	const char *from;		/* NULL: 10.200.1.5; "-": unknown */
	const char *at;			/* NULL: BASE_AT */
	const char *glass;
	/* the outcome */
	int allow;
	const char *rule, *reason;
	long idle, max_duration;
	int break_glass;
	const char *report;		/* NULL: none; else report_reason */
	int report_allow;
};

#define ALICE_OK	"allowed by role clinician"
#define TO_22		(11 * 3600L)	/* 11:00 BST to 22:00 BST */
#define TRIAL_OK	"would allow: role trial"
#define DENY		"default-deny"
#define CLIN		" (role clinician)"
#define RUN		" - run `mwg posture`"

static const struct dcase cases[] = {
	/* 0: the base request */
	{ .allow = 1, .rule = "role clinician", .reason = ALICE_OK,
	    .idle = 1800, .max_duration = TO_22, .report = TRIAL_OK,
	    .report_allow = 1 },
	/* 1-3: the target */
	{ .target = "nope.K84001", .rule = DENY,
	    .reason = "no target nope.K84001 is defined in policy" },
	{ .port = 8443, .rule = DENY,
	    .reason = "target emis.K84001 is not served on port 8443" },
	{ .target = "emis.k84001", .allow = 1, .rule = "role clinician",
	    .reason = ALICE_OK, .idle = 1800, .max_duration = TO_22,
	    .report = TRIAL_OK, .report_allow = 1 },
	/* 4-6: membership and roles held */
	{ .target = "emis.K84003", .rule = DENY, .reason = "practice: you are "
	    "not a member of practice K84003" CLIN, .report = NULL },
	{ .no_groups = 1, .rule = DENY,
	    .reason = "no role gives alice access to emis.K84001" },
	{ .target = "rdp.K84001", .port = 3389, .rule = DENY,
	    .reason = "target: the role does not include rdp" CLIN },
	/* 7-8: the device */
	{ .personal = 1, .rule = DENY, .reason = "device: the role needs an "
	    "organisation-owned (managed) device; device dev-1 is personal"
	    CLIN, .report = TRIAL_OK, .report_allow = 1 },
	{ .personal = 1, .device = "", .rule = DENY, .reason = "device: the "
	    "role needs an organisation-owned (managed) device; this device "
	    "is personal" CLIN, .report = TRIAL_OK, .report_allow = 1 },
	/* 9-20: posture */
	{ .posture = "none", .rule = DENY, .reason = "posture: no report from "
	    "this device" RUN CLIN, .report = TRIAL_OK, .report_allow = 1 },
	{ .posture = "age=960", .rule = DENY, .reason = "posture: the report "
	    "is 16 min old (limit 15 min)" RUN CLIN, .report = TRIAL_OK,
	    .report_allow = 1 },
	{ .posture = "age=900", .allow = 1, .rule = "role clinician",
	    .reason = ALICE_OK, .idle = 1800, .max_duration = TO_22,
	    .report = TRIAL_OK, .report_allow = 1 },
	{ .posture = "age=-300", .allow = 1, .rule = "role clinician",
	    .reason = ALICE_OK, .idle = 1800, .max_duration = TO_22,
	    .report = TRIAL_OK, .report_allow = 1 },
	{ .posture = "disk=off", .rule = DENY, .reason = "posture: disk "
	    "encryption is off - turn it on and run `mwg posture`" CLIN,
	    .report = TRIAL_OK, .report_allow = 1 },
	{ .posture = "disk=unknown", .rule = DENY, .reason = "posture: the "
	    "report does not show disk encryption" RUN CLIN,
	    .report = TRIAL_OK, .report_allow = 1 },
	{ .posture = "lock=off", .rule = DENY, .reason = "posture: screen lock "
	    "is off - turn it on and run `mwg posture`" CLIN,
	    .report = TRIAL_OK, .report_allow = 1 },
	{ .posture = "fw=off", .rule = DENY, .reason = "posture: the firewall "
	    "is off - turn it on and run `mwg posture`" CLIN,
	    .report = TRIAL_OK, .report_allow = 1 },
	{ .posture = "fw=unknown", .rule = DENY, .reason = "posture: the "
	    "report does not show the firewall" RUN CLIN, .report = TRIAL_OK,
	    .report_allow = 1 },
	{ .posture = "updates=15", .rule = DENY, .reason = "posture: the "
	    "system was last updated 15 days ago (limit 14) - install updates "
	    "and run `mwg posture`" CLIN, .report = TRIAL_OK,
	    .report_allow = 1 },
	{ .posture = "updates=14", .allow = 1, .rule = "role clinician",
	    .reason = ALICE_OK, .idle = 1800, .max_duration = TO_22,
	    .report = TRIAL_OK, .report_allow = 1 },
	{ .posture = "updates=-1", .rule = DENY, .reason = "posture: the "
	    "report does not show when the system was last updated" RUN CLIN,
	    .report = TRIAL_OK, .report_allow = 1 },
	{ .posture = "security=1", .rule = DENY, .reason = "posture: 1 "
	    "security update is pending (limit 0) - install it and run "
	    "`mwg posture`" CLIN, .report = TRIAL_OK, .report_allow = 1 },
	/* 22-23 */
	{ .posture = "security=3", .rule = DENY, .reason = "posture: 3 "
	    "security updates are pending (limit 0) - install them and run "
	    "`mwg posture`" CLIN, .report = TRIAL_OK, .report_allow = 1 },
	{ .posture = "security=-1", .rule = DENY, .reason = "posture: the "
	    "report does not show pending security updates" RUN CLIN,
	    .report = TRIAL_OK, .report_allow = 1 },
	/* 24-27: hours (and the report-only role's own hours) */
	{ .at = "2026-06-10T21:00:00Z", .rule = DENY, .reason = "hours: not "
	    "allowed at Wed 22:00 BST (mon-sun 06:00-22:00)" CLIN,
	    .report = "would deny: hours: not allowed at Wed 22:00 BST "
	    "(mon-fri 07:00-20:00)" },
	{ .at = "2026-06-10T20:59:00Z", .allow = 1, .rule = "role clinician",
	    .reason = ALICE_OK, .idle = 1800, .max_duration = 60,
	    .report = "would deny: hours: not allowed at Wed 21:59 BST "
	    "(mon-fri 07:00-20:00)" },
	{ .at = "2026-06-13T10:00:00Z", .allow = 1, .rule = "role clinician",
	    .reason = ALICE_OK, .idle = 1800, .max_duration = TO_22,
	    .report = "would deny: hours: not allowed at Sat 11:00 BST "
	    "(mon-fri 07:00-20:00)" },
	{ .at = "2026-12-09T05:59:59Z", .rule = DENY, .reason = "hours: not "
	    "allowed at Wed 05:59 GMT (mon-sun 06:00-22:00)" CLIN,
	    .report = "would deny: hours: not allowed at Wed 05:59 GMT "
	    "(mon-fri 07:00-20:00)" },
	/* 28-30: practices restricted by a role; roles by user */
	{ .user = "carol", .no_groups = 1, .target = "emis.K84002",
	    .allow = 1, .rule = "role k2-only",
	    .reason = "allowed by role k2-only" },
	{ .user = "carol", .no_groups = 1, .rule = DENY, .reason = "practice: "
	    "the role does not cover practice K84001 (role k2-only)" },
	{ .user = "gina", .groups = { "gp-clinicians", "k3-staff" },
	    .target = "emis.K84003", .allow = 1, .rule = "role clinician",
	    .reason = ALICE_OK, .idle = 1800, .max_duration = TO_22,
	    .report = TRIAL_OK, .report_allow = 1 },
	/* 31-36: sites */
	{ .user = "dave", .groups = { "remote" }, .target = "rdp.K84001",
	    .port = 3389, .allow = 1, .rule = "role remote",
	    .reason = "allowed by role remote" },
	{ .user = "dave", .groups = { "remote" }, .target = "rdp.K84001",
	    .port = 3389, .from = "192.0.2.77", .allow = 1,
	    .rule = "role remote", .reason = "allowed by role remote" },
	{ .user = "dave", .groups = { "remote" }, .target = "rdp.K84001",
	    .port = 3389, .from = "2001:db8:200:1::5", .allow = 1,
	    .rule = "role remote", .reason = "allowed by role remote" },
	{ .user = "dave", .groups = { "remote" }, .target = "rdp.K84001",
	    .port = 3389, .from = "::ffff:192.0.2.7", .allow = 1,
	    .rule = "role remote", .reason = "allowed by role remote" },
	{ .user = "dave", .groups = { "remote" }, .target = "rdp.K84001",
	    .port = 3389, .from = "203.0.113.9", .rule = DENY,
	    .reason = "from: 203.0.113.9 is not in sites office, homes "
	    "(role remote)" },
	{ .user = "dave", .groups = { "remote" }, .target = "rdp.K84001",
	    .port = 3389, .from = "-", .rule = DENY,
	    .reason = "from: the source address is unknown (role remote)" },
	/* 37-38: practices * */
	{ .user = "eve", .groups = { "csu-it" }, .target = "emis.K84003",
	    .allow = 1, .rule = "role it", .reason = "allowed by role it" },
	{ .user = "eve", .groups = { "csu-it" }, .target = "emis.K84003",
	    .from = "10.201.0.1", .rule = DENY, .reason = "from: 10.201.0.1 "
	    "is not in site office (role it)" },
	/* 39-43: break-glass */
	{ .user = "frank", .groups = { "duty" }, .rule = DENY,
	    .reason = "break-glass: this role needs a reason: mwg connect "
	    "--break-glass REASON (role glass)" },
	{ .user = "frank", .groups = { "duty" }, .glass = " \t ",
	    .rule = DENY, .reason = "break-glass: this role needs a reason: "
	    "mwg connect --break-glass REASON (role glass)" },
	{ .user = "frank", .groups = { "duty" }, .glass = "patient collapsed",
	    .allow = 1, .rule = "role glass", .reason = "break-glass access by "
	    "role glass", .max_duration = 3600, .break_glass = 1 },
	{ .groups = { "gp-clinicians", "duty" }, .glass = "not needed",
	    .allow = 1, .rule = "role clinician", .reason = ALICE_OK,
	    .idle = 1800, .max_duration = TO_22, .report = TRIAL_OK,
	    .report_allow = 1 },
	/* The night role's hours end at 06:00 BST, sooner than its 8h. */
	{ .user = "nina", .groups = { "night" }, .glass = "ward call",
	    .target = "emis.K84001", .at = "2026-06-10T03:00:00Z",
	    .rule = DENY, .reason = "practice: you are not a member of "
	    "practice K84001 (role night)" },
	/* 44-46: nobody, and a device with no person */
	{ .user = "dave", .groups = { "night" }, .glass = "ward call",
	    .at = "2026-06-10T03:00:00Z", .allow = 1, .rule = "role night",
	    .reason = "break-glass access by role night",
	    .max_duration = 7200, .break_glass = 1 },
	{ .user = "", .no_groups = 1, .rule = DENY, .reason = "no role gives "
	    "this device access to emis.K84001" },
	{ .user = "mallory", .groups = { "gp-clinicians" }, .rule = DENY,
	    .reason = "practice: you are not a member of practice K84001"
	    CLIN },
};

static struct policy *
load_policy(void)
{
	struct conf_errors errs = { 0 };
	struct policy *p = policy_load_string("t.conf", policy_text,
	    strlen(policy_text), &errs);

	cr_assert_not_null(p, "%s", errs.n ? errs.msgs[0] : "");
	return p;
}

static enum policy_tri
tri(const char *v)
{
	return strcmp(v, "on") == 0 ? POLICY_YES : strcmp(v, "off") == 0 ?
	    POLICY_NO : POLICY_UNKNOWN;
}

/* "disk=off,age=960": edits of a good report made at now. */
static int
edit_posture(const char *spec, time_t now, struct policy_posture *ps)
{
	char buf[128], *item, *save = NULL;

	memset(ps, 0, sizeof(*ps));
	ps->received_at = now;
	ps->disk_encryption = ps->screen_lock = ps->firewall = POLICY_YES;
	if (spec == NULL)
		return 1;
	if (strcmp(spec, "none") == 0)
		return 0;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (item = strtok_r(buf, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		char *v = strchr(item, '=');

		cr_assert_not_null(v, "bad posture edit %s", spec);
		*v++ = '\0';
		if (strcmp(item, "age") == 0)
			ps->received_at = now - atol(v);
		else if (strcmp(item, "disk") == 0)
			ps->disk_encryption = tri(v);
		else if (strcmp(item, "lock") == 0)
			ps->screen_lock = tri(v);
		else if (strcmp(item, "fw") == 0)
			ps->firewall = tri(v);
		else if (strcmp(item, "updates") == 0)
			ps->update_age_days = atoi(v);
		else if (strcmp(item, "security") == 0)
			ps->security_updates = atoi(v);
		else
			cr_assert_fail("bad posture edit %s", spec);
	}
	return 1;
}

struct built {
	struct policy_request req;
	struct policy_posture posture;
	const char *groups[3];
	char name[64], practice[64];
};

static void
build_request(const struct dcase *c, struct built *b)
{
	static const char *const base_groups[] = { "gp-clinicians" };
	const char *target = c->target ? c->target : "emis.K84001";
	const char *dot = strchr(target, '.');
	size_t n = 0;

	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%.*s", (int)(dot - target),
	    target);
	snprintf(b->practice, sizeof(b->practice), "%s", dot + 1);
	cr_assert_eq(audit_parse_time(c->at ? c->at : BASE_AT, &b->req.now), 0);
	b->req.user = c->user ? c->user : "alice";
	for (n = 0; n < 3 && c->groups[n] != NULL; n++)
		b->groups[n] = c->groups[n];
	if (n == 0 && !c->no_groups)
		b->groups[n++] = base_groups[0];
	b->req.groups = b->groups;
	b->req.ngroups = n;
	b->req.device_id = c->device ? c->device : "dev-1";
	b->req.device_managed = !c->personal;
	b->req.posture = edit_posture(c->posture, b->req.now, &b->posture) ?
	    &b->posture : NULL;
	b->req.source_ip = c->from == NULL ? "10.200.1.5" :
	    strcmp(c->from, "-") == 0 ? "" : c->from;
	b->req.target_name = b->name;
	b->req.practice = b->practice;
	b->req.port = c->port ? c->port : 443;
	b->req.break_glass = c->glass;
}

static void
check_case(size_t i, const struct dcase *c, const struct policy_decision *d)
{
	cr_expect_eq(d->allow, c->allow, "case %zu: allow %d", i, d->allow);
	cr_expect_str_eq(d->rule, c->rule, "case %zu: rule '%s'", i, d->rule);
	cr_expect_str_eq(d->reason, c->reason, "case %zu: reason '%s'", i,
	    d->reason);
	cr_expect_eq(d->idle, c->idle, "case %zu: idle %ld", i, d->idle);
	cr_expect_eq(d->max_duration, c->max_duration, "case %zu: max %ld", i,
	    d->max_duration);
	cr_expect_eq(d->break_glass, c->break_glass, "case %zu", i);
	cr_expect_eq(d->report_only, c->report != NULL, "case %zu: report %d "
	    "'%s'", i, d->report_only, d->report_reason);
	if (c->report != NULL) {
		cr_expect_str_eq(d->report_reason, c->report, "case %zu: '%s'",
		    i, d->report_reason);
		cr_expect_eq(d->report_allow, c->report_allow, "case %zu", i);
		cr_expect_str_eq(d->report_rule, "role trial", "case %zu", i);
	}
	if (strncmp(c->reason, "no target", 9) == 0)
		cr_expect_null(d->target, "case %zu", i);
	else
		cr_expect_not_null(d->target, "case %zu", i);
}

Test(policy_decide, table)
{
	struct policy *p = load_policy();

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct policy_decision d;
		struct built b;

		build_request(&cases[i], &b);
		memset(&d, 0xa5, sizeof(d));
		policy_decide(p, &b.req, &d);
		check_case(i, &cases[i], &d);
	}
	policy_free(p);
	ASSERT_NO_LEAKS();
}

/* The source as a socket address (what mwgd has) rather than text. */
Test(policy_decide, source_sockaddr)
{
	static const struct {
		int family;
		const char *ip;
		int allow;
	} srcs[] = {
		{ AF_INET, "10.200.3.4", 1 },
		{ AF_INET, "10.201.3.4", 0 },
		{ AF_INET6, "2001:db8:200:ffff::1", 1 },
		{ AF_INET6, "2001:db8:201::1", 0 },
		{ AF_INET6, "::ffff:10.200.0.1", 1 },
		{ AF_INET6, "::ffff:10.199.255.255", 0 },
	};
	struct policy *p = load_policy();
	const char *groups[] = { "csu-it" };

	for (size_t i = 0; i < NELEM(srcs); i++) {
		struct sockaddr_storage ss = { 0 };
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		struct policy_request req = { .user = "eve", .groups = groups,
		    .ngroups = 1, .device_id = "d", .source_ip = "",
		    .target_name = "emis", .practice = "K84003", .port = 443,
		    .now = 1781085600, .source = (struct sockaddr *)&ss };
		struct policy_decision d;

		ss.ss_family = (sa_family_t)srcs[i].family;
		cr_assert_eq(inet_pton(srcs[i].family, srcs[i].ip,
		    srcs[i].family == AF_INET ? (void *)&sin->sin_addr :
		    (void *)&sin6->sin6_addr), 1);
		policy_decide(p, &req, &d);
		cr_expect_eq(d.allow, srcs[i].allow, "case %zu: %s", i,
		    d.reason);
	}
	policy_free(p);
}

struct seen {
	char lines[16][320];
	size_t n;
};

static void
record_cb(const char *rule, int applies, const char *why, void *arg)
{
	struct seen *s = arg;

	cr_assert_lt(s->n, NELEM(s->lines));
	snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s|%d|%s", rule,
	    applies, why);
}

Test(policy_decide, explain_lists_every_rule_in_order)
{
	static const char *const want_deny[] = {
		"target|1|emis.K84001 is 10.10.1.10:443 in practice K84001",
		"member|1|alice is a member of practice K84001 (member alice)",
		"role clinician|0|device: the role needs an organisation-owned "
		    "(managed) device; device dev-1 is personal",
		"role k2-only|0|not held: needs user carol",
		"role remote|0|not held: needs group remote",
		"role it|0|not held: needs group csu-it",
		"role glass (break-glass)|0|not held: needs group duty",
		"role night (break-glass)|0|not held: needs group night",
		"default-deny|1|device: the role needs an organisation-owned "
		    "(managed) device; device dev-1 is personal (role "
		    "clinician)",
		"role trial (report-only)|1|allows: every condition holds",
	};
	static const char *const want_allow[] = {
		"target|1|emis.K84002 is 10.10.2.10:443 in practice K84002",
		"member|0|dora is not a member of practice K84002",
		"role clinician|0|not held: needs group gp-clinicians",
		"role k2-only|0|not held: needs user carol",
		"role remote|0|not held: needs group remote",
		"role it|1|allows: every condition holds",
		"role trial (report-only)|0|not held: needs group "
		    "gp-clinicians",
	};
	static const char *const want_none[] = {
		"target|0|no target emis.K84009 is defined in policy",
		"default-deny|1|no target emis.K84009 is defined in policy",
	};
	struct policy *p = load_policy();
	struct dcase c = { .personal = 1 };
	struct policy_decision d, d2;
	struct seen s = { .n = 0 };
	struct built b;

	build_request(&c, &b);
	policy_explain(p, &b.req, &d, record_cb, &s);
	cr_assert_eq(s.n, NELEM(want_deny));
	for (size_t i = 0; i < s.n; i++)
		cr_expect_str_eq(s.lines[i], want_deny[i], "line %zu", i);
	cr_expect_eq(d.allow, 0);
	cr_expect_eq(d.report_allow, 1);

	c = (struct dcase){ .user = "dora", .groups = { "csu-it" },
	    .target = "emis.K84002" };
	build_request(&c, &b);
	s.n = 0;
	policy_explain(p, &b.req, &d, record_cb, &s);
	cr_assert_eq(s.n, NELEM(want_allow));
	for (size_t i = 0; i < s.n; i++)
		cr_expect_str_eq(s.lines[i], want_allow[i], "line %zu", i);
	cr_expect_eq(d.allow, 1);

	c = (struct dcase){ .target = "emis.K84009" };
	build_request(&c, &b);
	s.n = 0;
	policy_explain(p, &b.req, &d, record_cb, &s);
	cr_assert_eq(s.n, NELEM(want_none));
	for (size_t i = 0; i < s.n; i++)
		cr_expect_str_eq(s.lines[i], want_none[i], "line %zu", i);

	/* explain and decide agree on every case of the table. */
	for (size_t i = 0; i < NELEM(cases); i++) {
		build_request(&cases[i], &b);
		s.n = 0;
		policy_explain(p, &b.req, &d, record_cb, &s);
		policy_decide(p, &b.req, &d2);
		cr_expect_eq(memcmp(&d, &d2, sizeof(d)), 0, "case %zu", i);
	}
	policy_free(p);
}

struct names {
	char buf[512];
};

static void
names_cb(const char *kind, const char *name, void *arg)
{
	struct names *n = arg;
	size_t len = strlen(n->buf);

	snprintf(n->buf + len, sizeof(n->buf) - len, "%s%s=%s", len ? " " : "",
	    kind, name);
}

Test(policy_decide, what_a_person_holds)
{
	static const struct {
		const char *user;
		const char *groups[3];
		size_t ngroups;
		long lifetime;
		const char *access;
	} people[] = {
		{ "alice", { "gp-clinicians" }, 1, 12 * 3600,
		    "role=clinician practice=K84001 practice=K84002" },
		{ "carol", { NULL }, 0, POLICY_SESSION_DEFAULT,
		    "role=k2-only practice=K84001 practice=K84002" },
		{ "eve", { "csu-it", "k3-staff" }, 2, 4 * 3600,
		    "role=it practice=*" },
		{ "gina", { "k3-staff", "remote" }, 2, POLICY_SESSION_DEFAULT,
		    "role=remote practice=K84003" },
		{ "zed", { "gp-clinicians", "csu-it" }, 2, 12 * 3600,
		    "role=clinician role=it practice=*" },
		{ "nobody", { "nothing" }, 1, POLICY_SESSION_DEFAULT, "" },
		{ "", { NULL }, 0, POLICY_SESSION_DEFAULT, "" },
	};
	struct policy *p = load_policy();

	cr_expect_eq(policy_posture_max_age(p), 15 * 60);
	for (size_t i = 0; i < NELEM(people); i++) {
		struct names n = { "" };

		cr_expect_eq(policy_session_lifetime(p, people[i].user,
		    people[i].groups, people[i].ngroups), people[i].lifetime,
		    "person %zu", i);
		policy_user_access(p, people[i].user, people[i].groups,
		    people[i].ngroups, names_cb, &n);
		cr_expect_str_eq(n.buf, people[i].access, "person %zu: %s", i,
		    n.buf);
	}
	policy_free(p);
}

struct thread_arg {
	const struct policy *p;
	int mismatches;
};

static void *
decide_loop(void *arg)
{
	struct thread_arg *t = arg;

	for (int round = 0; round < 200; round++)
		for (size_t i = 0; i < NELEM(cases); i++) {
			struct policy_decision d;
			struct built b;

			build_request(&cases[i], &b);
			policy_decide(t->p, &b.req, &d);
			if (d.allow != cases[i].allow ||
			    strcmp(d.reason, cases[i].reason) != 0)
				t->mismatches++;
		}
	return NULL;
}

/* One loaded policy, many threads: decisions only read it. */
Test(policy_decide, threads_share_a_policy)
{
	struct policy *p = load_policy();
	struct thread_arg args[4];
	pthread_t th[4];

	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ p, 0 };
		cr_assert_eq(pthread_create(&th[i], NULL, decide_loop,
		    &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(pthread_join(th[i], NULL), 0);
		cr_expect_eq(args[i].mismatches, 0, "thread %d", i);
	}
	policy_free(p);
}

/*
 * A person out of one role's hours is told those hours, not only another
 * role's device or posture reason: a personal laptop at 23:00 under
 * "home" (personal allowed, 08:00-18:00) and "office" (managed only, any
 * time). Both reasons are given, the hours first; if the other role fails
 * on hours too, or no role failed on hours, one reason as before.
 */
Test(policy_decide, hours_named_beside_a_device_reason)
{
	static const char text[] =
	    "timezone Europe/London\n"
	    "posture fresh { max-age 15m }\n"
	    "practice K84001 { target emis 10.10.1.10:443 }\n"
	    "role home { groups gp; targets emis; hours mon-sun 08:00-18:00 }\n"
	    "role office { groups gp; targets emis; device managed }\n"
	    "role late { groups late; targets emis; posture fresh;"
	    " hours mon-sun 08:00-18:00 }\n"
	    "member group gp { practices K84001 }\n"
	    "member group late { practices K84001 }\n";
	static const struct {
		const char *group, *at;
		int managed;
		const char *reason;
	} hcases[] = {
		{ "gp", "2026-06-10T22:00:00Z", 0, "hours: not allowed at Wed "
		    "23:00 BST (mon-sun 08:00-18:00) (role home); device: the "
		    "role needs an organisation-owned (managed) device; device "
		    "dev-1 is personal (role office)" },
		{ "gp", "2026-06-10T10:00:00Z", 0, "allowed by role home" },
		{ "gp", "2026-06-10T22:00:00Z", 1, "allowed by role office" },
		/* One role, failing on hours: its reason alone, as before. */
		{ "late", "2026-06-10T22:00:00Z", 0, "hours: not allowed at Wed "
		    "23:00 BST (mon-sun 08:00-18:00) (role late)" },
		/* In hours, no posture report: the posture reason alone. */
		{ "late", "2026-06-10T10:00:00Z", 0, "posture: no report from "
		    "this device - run `mwg posture` (role late)" },
	};
	struct conf_errors errs = { 0 };
	struct policy *p = policy_load_string("h.conf", text, strlen(text),
	    &errs);

	cr_assert_not_null(p, "%s", errs.n ? errs.msgs[0] : "");
	for (size_t i = 0; i < NELEM(hcases); i++) {
		const char *groups[] = { hcases[i].group };
		struct policy_request req = { .user = "alice", .groups = groups,
		    .ngroups = 1, .device_id = "dev-1", .source_ip = "",
		    .target_name = "emis", .practice = "K84001", .port = 443,
		    .device_managed = hcases[i].managed };
		struct policy_decision d;

		cr_assert_eq(audit_parse_time(hcases[i].at, &req.now), 0);
		policy_decide(p, &req, &d);
		cr_expect_str_eq(d.reason, hcases[i].reason, "case %zu: '%s'", i,
		    d.reason);
		cr_expect_eq(d.allow, strncmp(hcases[i].reason, "allowed", 7) ==
		    0, "case %zu", i);
	}
	policy_free(p);
	ASSERT_NO_LEAKS();
}
