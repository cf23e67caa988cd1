/*
 * `role NAME { ... }`: who holds a role (groups, users), what it reaches
 * (practices, targets) and on which conditions (posture, device, hours,
 * from), its limits (max-session, idle, break-glass) and its mode. The
 * statements are a sorted keyword table, as OpenBSD's parse.y lookup().
 */
#include "policy/policy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

#define HOURS_TEXT_MAX	256	/* the hours as written, for reasons */
#define ROLE_NAME_MAX	58	/* "role NAME" fits a decision's rule[64] */

struct role_ctx {
	struct policy *p;
	struct policy_role *r;
	struct conf_errors *errs;
	int has_targets, has_practices;
};

typedef void (*role_fn)(struct role_ctx *, const struct conf_node *);

struct role_keyword {
	const char *name;
	int repeat;			/* may be given more than once */
	role_fn fn;
};

static void
list_add(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

/* `groups G...` and `users U...`: who holds the role. */
static void
role_holders(struct role_ctx *x, const struct conf_node *n, int groups)
{
	struct policy_role *r = x->r;

	if (policy_need_args(n, 1, x->errs) == -1)
		return;
	for (size_t i = 0; i < n->nargs; i++) {
		const struct conf_arg *a = &n->args[i];

		if (groups ? !policy_group_valid(a->text) :
		    !policy_user_valid(a->text)) {
			conf_error(x->errs, &a->pos, groups ? "expected a group "
			    "name (printable ASCII without ',', 1 to 63 bytes), "
			    "got '%s'" : "expected a user name of a-z, 0-9, "
			    "'.', '_' and '-', got '%s'", a->text);
			continue;
		}
		if (groups ? policy_string_has(r->groups, r->ngroups, a->text) :
		    policy_string_has(r->users, r->nusers, a->text)) {
			conf_error(x->errs, &a->pos, "%s %s is listed twice in "
			    "role %s", groups ? "group" : "user", a->text,
			    r->name);
			continue;
		}
		if (groups)
			list_add(&r->groups, &r->ngroups, a->text);
		else
			list_add(&r->users, &r->nusers, a->text);
	}
}

static void
role_groups(struct role_ctx *x, const struct conf_node *n)
{
	role_holders(x, n, 1);
}

static void
role_users(struct role_ctx *x, const struct conf_node *n)
{
	role_holders(x, n, 0);
}

/* Checks a `*` argument: alone, and not after a list (or a list after). */
static int
star_arg(struct role_ctx *x, const struct conf_node *n, int *all,
    size_t have)
{
	int star = 0;

	for (size_t i = 0; i < n->nargs; i++)
		star |= strcmp(n->args[i].text, "*") == 0;
	if (!star && !*all)
		return 0;
	if (n->nargs != 1 || have > 0 || (*all && star)) {
		conf_error(x->errs, &n->name.pos, "expected either %s * or a "
		    "list of names, not both", n->name.text);
		return -1;
	}
	if (*all) {
		conf_error(x->errs, &n->args[0].pos, "expected no more %s: "
		    "role %s already says %s *", n->name.text, x->r->name,
		    n->name.text);
		return -1;
	}
	*all = 1;
	return 1;
}

static void
role_practices(struct role_ctx *x, const struct conf_node *n)
{
	struct policy_role *r = x->r;
	int s;

	if (policy_need_args(n, 1, x->errs) == -1 ||
	    (s = star_arg(x, n, &r->all_practices, r->npractices)) != 0)
		return;
	for (size_t i = 0; i < n->nargs; i++) {
		ssize_t pi = policy_practice_index(x->p, n->args[i].text);
		size_t j;

		if (pi < 0) {
			conf_error(x->errs, &n->args[i].pos, "expected a "
			    "practice defined in this policy, got '%s'",
			    n->args[i].text);
			continue;
		}
		if (policy_index_has(r->practices, r->npractices,
		    (size_t)pi)) {
			conf_error(x->errs, &n->args[i].pos, "practice %s is "
			    "listed twice in role %s", n->args[i].text,
			    r->name);
			continue;
		}
		r->practices = xreallocarray(r->practices, r->npractices + 1,
		    sizeof(*r->practices));
		for (j = r->npractices++; j > 0 &&
		    r->practices[j - 1] > (size_t)pi; j--)
			r->practices[j] = r->practices[j - 1];
		r->practices[j] = (size_t)pi;
	}
}

static void
role_targets(struct role_ctx *x, const struct conf_node *n)
{
	struct policy_role *r = x->r;

	x->has_targets = 1;
	if (policy_need_args(n, 1, x->errs) == -1 ||
	    star_arg(x, n, &r->all_targets, r->ntargets) != 0)
		return;
	for (size_t i = 0; i < n->nargs; i++) {
		const struct conf_arg *a = &n->args[i];

		if (!policy_target_name_exists(x->p, a->text)) {
			conf_error(x->errs, &a->pos, "expected a target name "
			    "defined in a practice, got '%s'", a->text);
			continue;
		}
		if (policy_string_has(r->targets, r->ntargets, a->text)) {
			conf_error(x->errs, &a->pos, "target %s is listed twice "
			    "in role %s", a->text, r->name);
			continue;
		}
		list_add(&r->targets, &r->ntargets, a->text);
	}
}

static void
role_posture(struct role_ctx *x, const struct conf_node *n)
{
	if (conf_nargs(n, 1, 1, x->errs) == -1)
		return;
	for (size_t i = 0; i < x->p->nprofiles; i++)
		if (strcmp(x->p->profiles[i].name, n->args[0].text) == 0) {
			x->r->posture = &x->p->profiles[i];
			return;
		}
	conf_error(x->errs, &n->args[0].pos, "expected a posture profile "
	    "defined in this policy, got '%s'", n->args[0].text);
}

static void
role_device(struct role_ctx *x, const struct conf_node *n)
{
	if (conf_nargs(n, 1, 1, x->errs) == -1)
		return;
	if (strcmp(n->args[0].text, "managed") == 0)
		x->r->need_managed = 1;
	else if (strcmp(n->args[0].text, "any") != 0)
		conf_error(x->errs, &n->args[0].pos, "expected 'managed' or "
		    "'any', got '%s'", n->args[0].text);
}

static void
role_from(struct role_ctx *x, const struct conf_node *n)
{
	struct policy_role *r = x->r;

	if (policy_need_args(n, 1, x->errs) == -1)
		return;
	for (size_t i = 0; i < n->nargs; i++) {
		size_t s, j;

		for (s = 0; s < x->p->nsites; s++)
			if (strcmp(x->p->sites[s].name, n->args[i].text) == 0)
				break;
		if (s == x->p->nsites) {
			conf_error(x->errs, &n->args[i].pos, "expected a site "
			    "defined in this policy, got '%s'",
			    n->args[i].text);
			continue;
		}
		for (j = 0; j < r->nsites && r->sites[j] != s; j++)
			;
		if (j < r->nsites) {
			conf_error(x->errs, &n->args[i].pos, "site %s is listed "
			    "twice in role %s", n->args[i].text, r->name);
			continue;
		}
		r->sites = xreallocarray(r->sites, r->nsites + 1,
		    sizeof(*r->sites));
		r->sites[r->nsites++] = s;	/* file order: not searched */
	}
}

static void
role_duration(struct role_ctx *x, const struct conf_node *n, long *out,
    long long min, long long max)
{
	long long v;

	if (conf_nargs(n, 1, 1, x->errs) == 0 &&
	    conf_duration(&n->args[0], min, max, &v, x->errs) == 0)
		*out = (long)v;
}

static void
role_max_session(struct role_ctx *x, const struct conf_node *n)
{
	role_duration(x, n, &x->r->max_session, 5 * 60, 7 * 86400);
}

static void
role_idle(struct role_ctx *x, const struct conf_node *n)
{
	role_duration(x, n, &x->r->idle, 60, 86400);
}

static void
role_break_glass(struct role_ctx *x, const struct conf_node *n)
{
	role_duration(x, n, &x->r->break_glass, 60, 86400);
}

static void
role_mode(struct role_ctx *x, const struct conf_node *n)
{
	if (conf_nargs(n, 1, 1, x->errs) == -1)
		return;
	if (strcmp(n->args[0].text, "report-only") == 0)
		x->r->report_only = 1;
	else if (strcmp(n->args[0].text, "enforce") != 0)
		conf_error(x->errs, &n->args[0].pos, "expected 'enforce' or "
		    "'report-only', got '%s'", n->args[0].text);
}

/* ---- hours ----------------------------------------------------------- */

static int
day_index(const char *s, size_t len)
{
	static const char days[] = "montuewedthufrisatsun";

	if (len != 3)
		return -1;
	for (int i = 0; i < 7; i++)
		if (strncmp(days + 3 * i, s, 3) == 0)
			return i;
	return -1;
}

/* "mon", "mon-fri", "fri-mon" (wraps), "mon,wed,fri-sun": a 7-bit mask. */
static int
parse_days(const char *s, unsigned *mask)
{
	*mask = 0;
	for (;;) {
		size_t len = strcspn(s, ",");
		const char *dash = memchr(s, '-', len);
		int a, b;

		if (dash == NULL)
			a = b = day_index(s, len);
		else {
			a = day_index(s, (size_t)(dash - s));
			b = day_index(dash + 1, len - (size_t)(dash - s) - 1);
		}
		if (a < 0 || b < 0)
			return -1;
		for (int d = a;; d = (d + 1) % 7) {
			*mask |= 1U << d;
			if (d == b)
				break;
		}
		if (s[len] == '\0')
			return 0;
		s += len + 1;
	}
}

/* "HH:MM" into minutes of the day; "24:00" only as an end. */
static int
parse_clock(const char *s, int allow_24)
{
	int h, m;

	if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '9' ||
	    s[1] < '0' || s[1] > '9' || s[3] < '0' || s[3] > '5' ||
	    s[4] < '0' || s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || (h == 24 && (m != 0 || !allow_24)))
		return -1;
	return h * 60 + m;
}

/* "08:00-18:30" into minutes; -1 if malformed, -2 if empty. */
static int
parse_range(const char *s, int *start, int *end)
{
	char a[8], b[8];
	const char *dash = strchr(s, '-');

	if (dash == NULL || dash - s >= (long)sizeof(a) ||
	    strlen(dash + 1) >= sizeof(b))
		return -1;
	memcpy(a, s, (size_t)(dash - s));
	a[dash - s] = '\0';
	snprintf(b, sizeof(b), "%s", dash + 1);
	if ((*start = parse_clock(a, 0)) < 0 || (*end = parse_clock(b, 1)) < 0)
		return -1;
	return *start == *end ? -2 : 0;
}

static void
set_minutes(uint64_t *bits, int from, int to)	/* [from, to) of the week */
{
	for (int m = from; m < to; m++)
		bits[m / 64] |= 1ULL << (m % 64);
}

/* Days mask times a range: overnight ranges run into the next day. */
static void
set_range(uint64_t *bits, unsigned mask, int start, int end)
{
	for (int d = 0; d < 7; d++) {
		if (!(mask & (1U << d)))
			continue;
		if (end > start) {
			set_minutes(bits, d * 1440 + start, d * 1440 + end);
			continue;
		}
		set_minutes(bits, d * 1440 + start, d * 1440 + 1440);
		set_minutes(bits, ((d + 1) % 7) * 1440,
		    ((d + 1) % 7) * 1440 + end);
	}
}

#define HOURS_BAD_TOKEN	"expected days (mon-fri, sat or mon,wed) or a " \
	"time range (08:00-18:30), got '%s'"

/*
 * DAYS RANGE... [DAYS RANGE...]...: a bad token that starts with a digit
 * is taken for a range, any other for days, so one typo gives one error.
 */
int
policy_parse_hours(const struct conf_node *n, uint64_t *bits,
    struct conf_errors *errs)
{
	const struct conf_arg *days = NULL;
	unsigned mask = 0;
	int ranges = 0, rc = 0, start, end, e;

	if (policy_need_args(n, 2, errs) == -1)
		return -1;
	for (size_t i = 0; i < n->nargs; i++) {
		const struct conf_arg *a = &n->args[i];
		unsigned m;

		if (parse_days(a->text, &m) == 0) {
			if (days != NULL && ranges == 0) {
				conf_error(errs, &a->pos, "expected a time range "
				    "HH:MM-HH:MM after '%s', got '%s'",
				    days->text, a->text);
				rc = -1;
			}
			days = a;
			mask = m;
			ranges = 0;
			continue;
		}
		e = parse_range(a->text, &start, &end);
		if (e == 0 && days != NULL) {
			set_range(bits, mask, start, end);
			ranges++;
			continue;
		}
		rc = -1;
		if (e == -1 && (a->text[0] < '0' || a->text[0] > '9')) {
			conf_error(errs, &a->pos, HOURS_BAD_TOKEN, a->text);
			days = a;	/* a mistyped day: its ranges follow */
			mask = 0;
			ranges = 0;
			continue;
		}
		if (days == NULL)
			conf_error(errs, &a->pos, "expected days (e.g. mon-fri) "
			    "before the time range '%s'", a->text);
		else if (e == -2)
			conf_error(errs, &a->pos, "expected a time range that is "
			    "not empty, got '%s'", a->text);
		else
			conf_error(errs, &a->pos, "expected a time range "
			    "HH:MM-HH:MM from 00:00 to 24:00, got '%s'",
			    a->text);
		ranges++;
	}
	if (days != NULL && ranges == 0) {
		conf_error(errs, &days->pos, "expected a time range HH:MM-HH:MM "
		    "after '%s'", days->text);
		rc = -1;
	}
	return rc;
}

static void
role_hours(struct role_ctx *x, const struct conf_node *n)
{
	struct policy_role *r = x->r;
	size_t len;

	if (x->p->tz == NULL) {
		conf_error(x->errs, &n->name.pos, "hours need the time zone "
		    "%s, which cannot be read from %s (install tzdata, or say "
		    "timezone NAME)", x->p->tzname, POLICY_ZONEINFO);
		return;
	}
	if (r->hours == NULL)
		r->hours = xcalloc(POLICY_WEEK_WORDS, sizeof(*r->hours));
	if (policy_parse_hours(n, r->hours, x->errs) == -1)
		return;
	/* Kept as written (bounded) for reasons and explain. */
	for (size_t i = 0; i < n->nargs; i++) {
		len = r->hours_text ? strlen(r->hours_text) : 0;
		if (len + strlen(n->args[i].text) + 2 > HOURS_TEXT_MAX)
			break;
		r->hours_text = xreallocarray(r->hours_text, len +
		    strlen(n->args[i].text) + 2, 1);
		snprintf(r->hours_text + len, strlen(n->args[i].text) + 2,
		    "%s%s", len ? " " : "", n->args[i].text);
	}
}

/* ---- the role block ------------------------------------------------------ */

static const struct role_keyword role_keywords[] = {	/* sorted */
	{ "break-glass", 0, role_break_glass },
	{ "device", 0, role_device },
	{ "from", 1, role_from },
	{ "groups", 1, role_groups },
	{ "hours", 1, role_hours },
	{ "idle", 0, role_idle },
	{ "max-session", 0, role_max_session },
	{ "mode", 0, role_mode },
	{ "posture", 0, role_posture },
	{ "practices", 1, role_practices },
	{ "targets", 1, role_targets },
	{ "users", 1, role_users },
};
#define ROLE_NKEYWORDS	(sizeof(role_keywords) / sizeof(role_keywords[0]))

static int
role_keyword_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct role_keyword *)elem)->name);
}

void
policy_role_free(struct policy_role *r)
{
	for (size_t i = 0; i < r->ngroups; i++)
		free(r->groups[i]);
	for (size_t i = 0; i < r->nusers; i++)
		free(r->users[i]);
	for (size_t i = 0; i < r->ntargets; i++)
		free(r->targets[i]);
	free(r->groups);
	free(r->users);
	free(r->targets);
	free(r->target_bits);
	free(r->practices);
	free(r->hours);
	free(r->hours_text);
	free(r->sites);
}

static int
role_head(struct policy *p, const struct conf_node *n,
    struct conf_errors *errs)
{
	if (conf_nargs(n, 1, 1, errs) == -1)
		return -1;
	if (!policy_name_valid(n->args[0].text) ||
	    strlen(n->args[0].text) > ROLE_NAME_MAX) {
		conf_error(errs, &n->args[0].pos, "expected a role name of "
		    "a-z, 0-9 and '-', at most %d bytes, got '%s'",
		    ROLE_NAME_MAX, n->args[0].text);
		return -1;
	}
	for (size_t i = 0; i < p->nroles; i++)
		if (strcmp(p->roles[i].name, n->args[0].text) == 0) {
			conf_error(errs, &n->args[0].pos, "role %s is defined "
			    "twice", n->args[0].text);
			return -1;
		}
	if (!n->has_block) {
		conf_error(errs, &n->name.pos, "expected '{' with the role's "
		    "statements");
		return -1;
	}
	if (p->nroles == POLICY_ROLES_MAX) {
		conf_error(errs, &n->name.pos, "more than %d roles",
		    POLICY_ROLES_MAX);
		return -1;
	}
	return 0;
}

/* What a role must say to mean anything. */
static void
role_check(struct role_ctx *x, const struct conf_node *n)
{
	struct policy_role *r = x->r;

	if (r->ngroups == 0 && r->nusers == 0)
		conf_error(x->errs, &n->args[0].pos, "role %s names no groups "
		    "or users: nobody would hold it (expected groups G... or "
		    "users U...)", r->name);
	if (!x->has_targets)
		conf_error(x->errs, &n->args[0].pos, "role %s names no targets "
		    "(expected targets NAME... or targets *)", r->name);
	if (r->break_glass && r->report_only)
		conf_error(x->errs, &n->args[0].pos, "role %s cannot be both "
		    "break-glass and report-only", r->name);
	if (r->ntargets > 0)
		qsort(r->targets, r->ntargets, sizeof(*r->targets), policy_str_cmp);
}

void
policy_parse_role(struct policy *p, const struct conf_node *n,
    struct conf_errors *errs)
{
	const struct conf_node *seen[ROLE_NKEYWORDS] = { 0 };
	struct role_ctx x = { .p = p, .errs = errs };

	if (role_head(p, n, errs) == -1)
		return;
	p->roles = xreallocarray(p->roles, p->nroles + 1, sizeof(*p->roles));
	x.r = &p->roles[p->nroles++];
	memset(x.r, 0, sizeof(*x.r));
	snprintf(x.r->name, sizeof(x.r->name), "%s", n->args[0].text);
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *c = &n->children[i];
		const struct role_keyword *k = bsearch(c->name.text,
		    role_keywords, ROLE_NKEYWORDS, sizeof(role_keywords[0]),
		    role_keyword_cmp);

		if (k == NULL || c->has_block) {
			conf_error(errs, &c->name.pos, "expected a role statement "
			    "(break-glass, device, from, groups, hours, idle, "
			    "max-session, mode, posture, practices, targets, "
			    "users) in role %s, got '%s'", x.r->name,
			    c->name.text);
			continue;
		}
		if (!k->repeat && seen[k - role_keywords] != NULL) {
			conf_error(errs, &c->name.pos, "%s is set twice in role "
			    "%s", k->name, x.r->name);
			continue;
		}
		seen[k - role_keywords] = c;
		k->fn(&x, c);
	}
	role_check(&x, n);
}
