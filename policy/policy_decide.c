/*
 * Decisions: default deny; the first enforced role whose every condition
 * holds allows. Break-glass roles are tried after the ordinary ones and
 * only with a reason; report-only roles are judged too but never enforced.
 * Read-only on the policy, no allocation: safe from any thread.
 */
#include "policy/policy_int.h"

#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/errbuf.h"

#define WHY_MAX		256

static const char *const weekdays[] = { "Mon", "Tue", "Wed", "Thu", "Fri",
    "Sat", "Sun" };

/* How far a role got: a deny names the role that got furthest. */
enum stage {
	ST_HELD,		/* the person holds it */
	ST_PRACTICE,		/* member of the practice, or practices * */
	ST_TARGET,		/* the target is among the role's */
	ST_BREAK_GLASS,		/* a reason given, if break-glass */
	ST_FROM,		/* from one of its sites */
	ST_HOURS,		/* within its hours */
	ST_DEVICE,		/* a managed device, if asked */
	ST_POSTURE,		/* the posture report passes */
	ST_OK
};

struct eval {
	const struct policy *p;
	const struct policy_request *req;
	const struct policy_target *t;
	size_t practice;
	uint32_t tname;			/* the target's name id */
	uint64_t held[POLICY_ROLE_WORDS];
	const char *member;		/* the member statement, or NULL */
	int member_is_group;
	int has_local;			/* local time worked out */
	long long local;		/* seconds on the local calendar */
	int week_minute;		/* Monday 00:00 is 0 */
	const char *abbr;
	int src_state;			/* 0 not yet, 1 known, -1 unknown */
	int src_family;
	unsigned char src[16];
};

static const char *
str(const char *s)
{
	return s ? s : "";
}

/*
 * The strings given, up to a NULL, into buf (len bytes, cut if need be).
 * Decisions build most reasons so: printf is most of a deny's cost.
 */
static void
cat(char *buf, size_t len, ...)
{
	size_t off = 0;
	const char *s;
	va_list ap;

	va_start(ap, len);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t n = strlen(s);

		if (n > len - 1 - off)
			n = len - 1 - off;
		memcpy(buf + off, s, n);
		off += n;
	}
	va_end(ap);
	buf[off] = '\0';
}

static int
is_held(const uint64_t *held, size_t i)
{
	return (held[i / 64] >> (i % 64)) & 1;
}

static int
bit_set(const uint64_t *bits, int i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

static int
break_glass_given(const struct policy_request *req)
{
	if (req->break_glass == NULL)
		return 0;
	for (const char *s = req->break_glass; *s; s++)
		if (*s != ' ' && *s != '\t')
			return 1;
	return 0;
}

/* "42 min", "3 h", "2 d": an age or a limit for a person to read. */
static void
span(long secs, char *buf, size_t len)
{
	if (secs < 120 * 60)
		errbuf_set(buf, len, "%ld min", (secs + 59) / 60);
	else if (secs < 48 * 3600)
		errbuf_set(buf, len, "%ld h", secs / 3600);
	else
		errbuf_set(buf, len, "%ld d", secs / 86400);
}

static void
local_time(struct eval *e)
{
	long long days;
	long secs;

	if (e->has_local)
		return;
	e->local = (long long)e->req->now + policy_tz_offset(e->p->tz,
	    e->req->now, &e->abbr, NULL);
	days = policy_tz_floor_div(e->local, 86400);
	secs = (long)(e->local - days * 86400);
	/* 1970-01-01 was a Thursday: day 3 counting from Monday. */
	e->week_minute = (int)(((days % 7 + 7 + 3) % 7) * 1440 + secs / 60);
	e->has_local = 1;
}

static int
source_known(struct eval *e)
{
	if (e->src_state == 0)
		e->src_state = policy_net_source(e->req->source,
		    e->req->source_ip, &e->src_family, e->src) == 0 ? 1 : -1;
	return e->src_state == 1;
}

static int
site_match(const struct policy_site *s, const struct eval *e)
{
	for (size_t i = 0; i < s->nnets; i++)
		if (policy_net_match(&s->nets[i], e->src_family, e->src))
			return 1;
	return 0;
}

/* ---- posture ----------------------------------------------------------- */

#define RUN_POSTURE	"run `mwg posture`"

static int
tri_check(enum policy_tri v, const char *what, char *why, size_t len)
{
	if (v == POLICY_YES)
		return 0;
	if (why == NULL)
		return -1;
	if (v == POLICY_NO)
		cat(why, len, "posture: ", what, " is off - turn it on and "
		    RUN_POSTURE, NULL);
	else
		cat(why, len, "posture: the report does not show ", what,
		    " - " RUN_POSTURE, NULL);
	return -1;
}

static int
posture_check(const struct policy_profile *pr, const struct policy_posture *ps,
    time_t now, char *why, size_t len)
{
	char age[32], limit[32];
	long a;

	if (ps == NULL) {
		if (why != NULL)
			cat(why, len, "posture: no report from this device - "
			    RUN_POSTURE, NULL);
		return -1;
	}
	a = now > ps->received_at ? (long)(now - ps->received_at) : 0;
	if (a > pr->max_age) {
		if (why != NULL) {
			span(a, age, sizeof(age));
			span(pr->max_age, limit, sizeof(limit));
			errbuf_set(why, len, "posture: the report is %s old (limit "
			    "%s) - " RUN_POSTURE, age, limit);
		}
		return -1;
	}
	if ((pr->disk_encryption && tri_check(ps->disk_encryption,
	    "disk encryption", why, len) == -1) ||
	    (pr->screen_lock && tri_check(ps->screen_lock, "screen lock", why,
	    len) == -1) ||
	    (pr->firewall && tri_check(ps->firewall, "the firewall", why,
	    len) == -1))
		return -1;
	if (pr->os_update_days >= 0 && (ps->update_age_days < 0 ||
	    ps->update_age_days > pr->os_update_days)) {
		if (why != NULL && ps->update_age_days < 0)
			errbuf_set(why, len, "posture: the report does not show "
			    "when the system was last updated - " RUN_POSTURE);
		else if (why != NULL)
			errbuf_set(why, len, "posture: the system was last updated "
			    "%d days ago (limit %d) - install updates and "
			    RUN_POSTURE, ps->update_age_days,
			    pr->os_update_days);
		return -1;
	}
	if (pr->security_max >= 0 && (ps->security_updates < 0 ||
	    ps->security_updates > pr->security_max)) {
		if (why != NULL && ps->security_updates < 0)
			errbuf_set(why, len, "posture: the report does not show "
			    "pending security updates - " RUN_POSTURE);
		else if (why != NULL)
			errbuf_set(why, len, "posture: %d security update%s "
			    "pending (limit %d) - install %s and " RUN_POSTURE,
			    ps->security_updates, ps->security_updates == 1 ?
			    " is" : "s are", pr->security_max,
			    ps->security_updates == 1 ? "it" : "them");
		return -1;
	}
	return 0;
}

/* ---- one role ------------------------------------------------------------ */

/* "group a, group b or user c", bounded, for a role not held. */
static void
holders_text(const struct policy_role *r, char *buf, size_t len)
{
	size_t n = r->ngroups + r->nusers, off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%s %s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ",
		    i < r->ngroups ? "group" : "user", i < r->ngroups ?
		    r->groups[i] : r->users[i - r->ngroups]);

		off += w > 0 ? (size_t)w : 0;
	}
}

static enum stage
check_scope(struct eval *e, const struct policy_role *r, size_t ri, char *why,
    size_t len)
{
	char who[160];

	if (!is_held(e->held, ri)) {
		if (why != NULL) {
			holders_text(r, who, sizeof(who));
			cat(why, len, "not held: needs ", who, NULL);
		}
		return ST_HELD;
	}
	if (!r->all_practices && (e->member == NULL || (r->npractices > 0 &&
	    !policy_index_has(r->practices, r->npractices, e->practice)))) {
		if (why != NULL && e->member == NULL)
			cat(why, len, "practice: you are not a member of "
			    "practice ", e->t->practice, NULL);
		else if (why != NULL)
			cat(why, len, "practice: the role does not cover "
			    "practice ", e->t->practice, NULL);
		return ST_PRACTICE;
	}
	if (!r->all_targets && !((r->target_bits[e->tname / 64] >>
	    (e->tname % 64)) & 1)) {
		if (why != NULL)
			cat(why, len, "target: the role does not include ",
			    e->t->name, NULL);
		return ST_TARGET;
	}
	if (r->break_glass && !break_glass_given(e->req)) {
		if (why != NULL)
			cat(why, len, "break-glass: this role needs a reason: "
			    "mwg connect --break-glass REASON", NULL);
		return ST_BREAK_GLASS;
	}
	return ST_FROM;
}

static enum stage
check_from(struct eval *e, const struct policy_role *r, char *why,
    size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "";
	size_t off;

	for (size_t i = 0; i < r->nsites && source_known(e); i++)
		if (site_match(&e->p->sites[r->sites[i]], e))
			return ST_HOURS;
	if (r->nsites == 0)
		return ST_HOURS;
	if (why == NULL)
		return ST_FROM;
	if (!source_known(e)) {
		cat(why, len, "from: the source address is unknown", NULL);
		return ST_FROM;
	}
	if (*str(e->req->source_ip) == '\0')
		inet_ntop(e->src_family, e->src, ip, sizeof(ip));
	off = (size_t)snprintf(why, len, "from: %s is not in site%s ",
	    *ip ? ip : e->req->source_ip, r->nsites > 1 ? "s" : "");
	for (size_t i = 0; i < r->nsites && off < len; i++)
		off += (size_t)snprintf(why + off, len - off, "%s%s", i ? ", " :
		    "", e->p->sites[r->sites[i]].name);
	return ST_FROM;
}

static enum stage
check_role(struct eval *e, const struct policy_role *r, size_t ri, char *why,
    size_t len)
{
	enum stage st;

	if ((st = check_scope(e, r, ri, why, len)) != ST_FROM ||
	    (st = check_from(e, r, why, len)) != ST_HOURS)
		return st;
	if (r->hours != NULL) {
		local_time(e);
		if (!bit_set(r->hours, e->week_minute)) {
			if (why != NULL)
				errbuf_set(why, len, "hours: not allowed at %s %02d:"
				    "%02d %s (%s)", weekdays[e->week_minute /
				    1440], e->week_minute % 1440 / 60,
				    e->week_minute % 60, e->abbr, r->hours_text);
			return ST_HOURS;
		}
	}
	if (r->need_managed && !e->req->device_managed) {
		if (why != NULL)
			cat(why, len, "device: the role needs an organisation-"
			    "owned (managed) device; ", *str(e->req->device_id) ?
			    "device " : "this device", str(e->req->device_id),
			    " is personal", NULL);
		return ST_DEVICE;
	}
	if (r->posture != NULL && posture_check(r->posture, e->req->posture,
	    e->req->now, why, len) == -1)
		return ST_POSTURE;
	if (why != NULL)
		cat(why, len, "allows: every condition holds", NULL);
	return ST_OK;
}

/* ---- the decision ------------------------------------------------------ */

/* Minutes from m to the next minute outside bits (>= 1); 0 if none is. */
static int
next_clear(const uint64_t *bits, int m)
{
	int d = 1;

	while (d <= POLICY_WEEK_MINUTES) {
		int x = (m + d) % POLICY_WEEK_MINUTES, off = x % 64;
		int avail = 64 - off;
		uint64_t w = ~bits[x / 64] >> off;

		if (avail > POLICY_WEEK_MINUTES - x)
			avail = POLICY_WEEK_MINUTES - x;	/* the week ends */
		if (w != 0 && __builtin_ctzll(w) < avail)
			return d + __builtin_ctzll(w);
		d += avail;
	}
	return 0;
}

/* Seconds from now until r's hours end; 0 if they never do. */
static long
hours_left(struct eval *e, const struct policy_role *r)
{
	int d = next_clear(r->hours, e->week_minute);
	long long boundary, utc;

	if (d == 0)
		return 0;
	boundary = policy_tz_floor_div(e->local, 60) * 60 + (long long)d * 60;
	/* Twice on the day the clocks go back: the one after now, which
	 * has the offset now in force. */
	if (policy_tz_local_to_utc(e->p->tz, boundary, &utc) == 1 &&
	    utc <= (long long)e->req->now)
		utc = boundary - policy_tz_offset(e->p->tz, e->req->now, NULL, NULL);
	return utc > (long long)e->req->now ? (long)(utc - e->req->now) : 1;
}

static void
allow(struct eval *e, const struct policy_role *r,
    struct policy_decision *out)
{
	long left = 0;

	out->allow = 1;
	cat(out->rule, sizeof(out->rule), "role ", r->name, NULL);
	out->idle = r->idle;
	if (r->hours != NULL)
		left = hours_left(e, r);
	if (r->break_glass) {
		out->break_glass = 1;
		out->max_duration = r->break_glass;
		errbuf_set(out->reason, sizeof(out->reason), "break-glass access "
		    "by role %s", r->name);
	} else
		cat(out->reason, sizeof(out->reason), "allowed by role ",
		    r->name, NULL);
	if (left > 0 && (out->max_duration == 0 || left < out->max_duration))
		out->max_duration = left;
}

/* Reasons reach a person and JSON: printable ASCII only. */
static void
sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s > '~')
			*s = '?';
}

/* A deny; reason is out->reason already or copied in. A role's name is
 * appended by hand: this is the common path, no second printf. */
static void
deny(struct policy_decision *out, const char *reason, const char *role)
{
	size_t len, rlen;

	out->allow = 0;
	memcpy(out->rule, "default-deny", sizeof("default-deny"));
	if (reason != out->reason)
		errbuf_set(out->reason, sizeof(out->reason), "%s", reason);
	sanitize(out->reason);
	if (role == NULL)
		return;
	len = strlen(out->reason);
	rlen = strlen(role);
	if (len + rlen + sizeof(" (role )") > sizeof(out->reason))
		return;		/* the reason says more than the role */
	memcpy(out->reason + len, " (role ", 7);
	memcpy(out->reason + len + 7, role, rlen);
	memcpy(out->reason + len + 7 + rlen, ")", 2);
}

/* The target named and its port; NULL (out filled as a deny) if none. */
static const struct policy_target *
find_target(const struct policy *p, const struct policy_request *req,
    struct policy_decision *out, policy_explain_cb cb, void *arg)
{
	const struct policy_target *t;
	char why[WHY_MAX];

	t = policy_find_target(p, str(req->target_name), str(req->practice));
	out->target = t;
	if (t == NULL)
		errbuf_set(why, sizeof(why), "no target %s.%s is defined in "
		    "policy", str(req->target_name), str(req->practice));
	else if (req->port != addr_port((const struct sockaddr *)&t->addr))
		/* The real port stays inside: the reason reaches the client. */
		errbuf_set(why, sizeof(why), "target %s.%s is not served on "
		    "port %d", t->name, t->practice, req->port);
	else {
		if (cb != NULL) {
			errbuf_set(why, sizeof(why), "%s.%s is %s in practice %s",
			    t->name, t->practice, t->addr_str, t->practice);
			cb("target", 1, why, arg);
		}
		return t;
	}
	deny(out, why, NULL);
	if (cb != NULL) {
		cb("target", 0, out->reason, arg);
		cb("default-deny", 1, out->reason, arg);
	}
	return NULL;
}

static void
explain_member(const struct eval *e, policy_explain_cb cb, void *arg)
{
	char why[WHY_MAX];

	if (e->member != NULL)
		errbuf_set(why, sizeof(why), "%s is a member of practice %s "
		    "(member %s%s)", str(e->req->user), e->t->practice,
		    e->member_is_group ? "group " : "", e->member);
	else
		errbuf_set(why, sizeof(why), "%s is not a member of practice %s",
		    str(e->req->user), e->t->practice);
	sanitize(why);
	cb("member", e->member != NULL, why, arg);
}

/*
 * The first role at or after from in mask, and held unless held is NULL
 * (explain visits every role); -1 when there is none.
 */
static ssize_t
next_role(const uint64_t *mask, const uint64_t *held, size_t from)
{
	for (size_t w = from / 64; w < POLICY_ROLE_WORDS; w++) {
		uint64_t bits = mask[w] & (held ? held[w] : ~0ULL);

		if (w == from / 64)
			bits &= ~0ULL << (from % 64);
		if (bits != 0)
			return (ssize_t)(w * 64 + (size_t)__builtin_ctzll(bits));
	}
	return -1;
}

/*
 * Enforced roles, ordinary ones first, then break-glass ones. Returns the
 * role that allowed, or NULL with *closest the one that got furthest and
 * *hours the first that failed on its hours alone (NULL if none did).
 */
static const struct policy_role *
enforced(struct eval *e, const struct policy_role **closest,
    const struct policy_role **hours, policy_explain_cb cb, void *arg)
{
	const struct policy *p = e->p;
	enum stage best = ST_HELD;
	char why[WHY_MAX], rule[POLICY_NAME_MAX + 24];

	*closest = *hours = NULL;
	for (int glass = 0; glass <= 1; glass++)
		for (ssize_t i = next_role(glass ? p->glass : p->ordinary,
		    cb ? NULL : e->held, 0); i >= 0; i = next_role(glass ?
		    p->glass : p->ordinary, cb ? NULL : e->held, (size_t)i + 1)) {
			const struct policy_role *r = &p->roles[i];
			enum stage st;

			st = check_role(e, r, (size_t)i, cb ? why : NULL,
			    sizeof(why));
			if (cb != NULL) {
				errbuf_set(rule, sizeof(rule), "role %s%s", r->name,
				    glass ? " (break-glass)" : "");
				sanitize(why);
				cb(rule, st == ST_OK, why, arg);
			}
			if (st == ST_OK)
				return r;
			if (st == ST_HOURS && *hours == NULL)
				*hours = r;
			if (*closest == NULL || st > best) {
				*closest = r;
				best = st;
			}
		}
	if (best == ST_HELD)
		*closest = NULL;	/* held none: no role to name */
	return NULL;
}

/*
 * Report-only roles the person holds that cover the practice and target:
 * what they would decide. A would-allow is reported before a would-deny.
 */
static void
report_only(struct eval *e, struct policy_decision *out,
    policy_explain_cb cb, void *arg)
{
	const struct policy *p = e->p;
	char why[WHY_MAX], rule[POLICY_NAME_MAX + 24];

	for (ssize_t i = next_role(p->report, cb ? NULL : e->held, 0); i >= 0;
	    i = next_role(p->report, cb ? NULL : e->held, (size_t)i + 1)) {
		const struct policy_role *r = &p->roles[i];
		enum stage st;

		st = check_role(e, r, (size_t)i, why, sizeof(why));
		sanitize(why);
		if (cb != NULL) {
			errbuf_set(rule, sizeof(rule), "role %s (report-only)",
			    r->name);
			cb(rule, st == ST_OK, why, arg);
		}
		if (st <= ST_TARGET || (out->report_only &&
		    (out->report_allow || st != ST_OK)))
			continue;
		out->report_only = 1;
		out->report_allow = st == ST_OK;
		errbuf_set(out->report_rule, sizeof(out->report_rule), "role %s",
		    r->name);
		if (st == ST_OK)
			errbuf_set(out->report_reason, sizeof(out->report_reason),
			    "would allow: role %s", r->name);
		else
			errbuf_set(out->report_reason, sizeof(out->report_reason),
			    "would deny: %s", why);
	}
}

/*
 * The deny when no role allowed. The role that got furthest is named; but
 * when it got past the hours and failed on the device or the posture, and
 * another role failed only on its hours, the person most likely meant
 * that other role (a personal laptop out of hours is not told it needs a
 * managed one): its hours come first, then the closest's reason, both
 * with their role. If both do not fit, the hours alone.
 */
static void
deny_closest(struct eval *e, const struct policy_role *closest,
    const struct policy_role *hours, struct policy_decision *out)
{
	const struct policy *p = e->p;
	char first[WHY_MAX], second[WHY_MAX];
	size_t n1, n2;

	if (hours == NULL || hours == closest) {
		check_role(e, closest, (size_t)(closest - p->roles),
		    out->reason, sizeof(out->reason));
		deny(out, out->reason, closest->name);
		return;
	}
	check_role(e, hours, (size_t)(hours - p->roles), first, sizeof(first));
	deny(out, first, hours->name);
	snprintf(first, sizeof(first), "%s", out->reason);
	check_role(e, closest, (size_t)(closest - p->roles), second,
	    sizeof(second));
	deny(out, second, closest->name);
	snprintf(second, sizeof(second), "%s", out->reason);
	n1 = strlen(first);
	n2 = strlen(second);
	if (n1 + 2 + n2 < sizeof(out->reason))
		cat(out->reason, sizeof(out->reason), first, "; ", second,
		    NULL);
	else
		memcpy(out->reason, first, n1 + 1);
}

void
policy_explain(const struct policy *p, const struct policy_request *req,
    struct policy_decision *out, policy_explain_cb cb, void *arg)
{
	const struct policy_role *r, *closest, *hours;
	struct eval e;

	memset(out, 0, sizeof(*out));
	memset(&e, 0, sizeof(e));
	e.p = p;
	e.req = req;
	if ((e.t = find_target(p, req, out, cb, arg)) == NULL)
		return;
	e.practice = p->target_practice[e.t - p->targets];
	e.tname = p->target_name_id[e.t - p->targets];
	policy_person(p, str(req->user), req->groups, req->ngroups,
	    e.practice, e.held, &e.member, &e.member_is_group);
	if (cb != NULL)
		explain_member(&e, cb, arg);
	if ((r = enforced(&e, &closest, &hours, cb, arg)) != NULL)
		allow(&e, r, out);
	else if (closest != NULL)
		deny_closest(&e, closest, hours, out);
	else {
		cat(out->reason, sizeof(out->reason), "no role gives ",
		    *str(req->user) ? str(req->user) : "this device",
		    " access to ", e.t->name, ".", e.t->practice, NULL);
		deny(out, out->reason, NULL);
	}
	if (!out->allow && cb != NULL)
		cb("default-deny", 1, out->reason, arg);
	report_only(&e, out, cb, arg);
}

void
policy_decide(const struct policy *p, const struct policy_request *req,
    struct policy_decision *out)
{
	policy_explain(p, req, out, NULL, NULL);
}
