/*
 * policy.conf loading and the read-only questions about a loaded policy:
 * targets, who holds what, session lifetimes, local time. The parser is in
 * policy_parse.c and policy_role.c, decisions in policy_decide.c.
 */
#include "policy/policy_int.h"

#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/errbuf.h"
#include "common/xmalloc.h"

/* ---- names --------------------------------------------------------------- */

static int
charset_valid(const char *s, const char *extra, const char *bad_first,
    int upper_ok)
{
	size_t n = strlen(s);

	if (n == 0 || n >= POLICY_NAME_MAX || strchr(bad_first, s[0]) != NULL)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    (upper_ok && *s >= 'A' && *s <= 'Z') ||
		    strchr(extra, *s) != NULL))
			return 0;
	return 1;
}

int
policy_name_valid(const char *s)
{
	return charset_valid(s, "-", "-", 0);
}

int
policy_code_valid(const char *s)
{
	return charset_valid(s, "-", "-", 1);
}

int
policy_user_valid(const char *s)
{
	return charset_valid(s, "._-", ".-", 0);
}

/* As certs_group_valid: what a session certificate can carry. */
int
policy_group_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= POLICY_NAME_MAX || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == ',')
			return 0;
	return 1;
}

/* ---- lookups ------------------------------------------------------------- */

static int
practice_key_cmp(const void *key, const void *elem)
{
	return strcasecmp(key, ((const struct policy_practice *)elem)->code);
}

/* Once sorted (after the first parse pass): bsearch, case-insensitive. */
ssize_t
policy_practice_index(const struct policy *p, const char *code)
{
	const struct policy_practice *pr;

	if (p->npractices == 0)
		return -1;
	pr = bsearch(code, p->practices, p->npractices, sizeof(*pr),
	    practice_key_cmp);
	return pr ? pr - p->practices : -1;
}

int
policy_target_name_exists(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->ntargets; i++)
		if (strcmp(p->targets[i].name, name) == 0)
			return 1;
	return 0;
}

/* FNV-1a: short names, no adversary that could not also edit the file. */
uint32_t
policy_hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* A table of n entries at twice their count (a power of two). */
static void
table_init(struct policy_table *t, size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size *= 2;
	t->slots = xcalloc(size, sizeof(*t->slots));
	t->mask = size - 1;
}

static void
table_put(struct policy_table *t, uint32_t hash, size_t index)
{
	size_t i = hash & t->mask;

	while (t->slots[i].index != 0)
		i = (i + 1) & t->mask;
	t->slots[i].hash = hash;
	t->slots[i].index = (uint32_t)index + 1;
}

static const struct policy_holder *
holder_find(const struct policy_holder *h, const struct policy_table *t,
    const char *name)
{
	uint32_t hash;
	size_t i;

	if (t->slots == NULL || name == NULL)
		return NULL;
	hash = policy_hash_name(name);
	for (i = hash & t->mask; t->slots[i].index != 0;
	    i = (i + 1) & t->mask) {
		const struct policy_holder *e;

		if (t->slots[i].hash != hash)
			continue;
		e = &h[t->slots[i].index - 1];
		if (strcmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

const struct policy_holder *
policy_user_find(const struct policy *p, const char *name)
{
	return holder_find(p->users, &p->user_tab, name);
}

const struct policy_holder *
policy_group_find(const struct policy *p, const char *name)
{
	return holder_find(p->groups, &p->group_tab, name);
}

/* Of "PRACTICE.name", the practice upper-cased (it is matched so). */
static uint32_t
target_hash(const char *name, const char *practice)
{
	uint32_t h = 2166136261u;

	for (; *practice; practice++)
		h = (h ^ (unsigned char)toupper((unsigned char)*practice)) *
		    16777619u;
	h = (h ^ '.') * 16777619u;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

static int
name_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Numbers the distinct target names (emis, docman, ...) and gives each
 * role its targets as bits of those numbers: no string compare per role.
 */
static void
number_target_names(struct policy *p)
{
	const char **names = xreallocarray(NULL, p->ntargets + 1,
	    sizeof(*names));
	size_t n = 0, words;

	for (size_t i = 0; i < p->ntargets; i++)
		names[i] = p->targets[i].name;
	if (p->ntargets > 0)
		qsort(names, p->ntargets, sizeof(*names), name_ptr_cmp);
	for (size_t i = 0; i < p->ntargets; i++)	/* unique, in place */
		if (n == 0 || strcmp(names[n - 1], names[i]) != 0)
			names[n++] = names[i];
	words = (n + 63) / 64 + 1;
	p->target_name_id = xreallocarray(NULL, p->ntargets + 1,
	    sizeof(*p->target_name_id));
	for (size_t i = 0; i < p->ntargets; i++) {
		const char *key = p->targets[i].name;
		const char **hit = bsearch(&key, names, n, sizeof(*names),
		    name_ptr_cmp);

		p->target_name_id[i] = (uint32_t)(hit - names);
	}
	for (size_t r = 0; r < p->nroles; r++) {
		struct policy_role *role = &p->roles[r];

		role->target_bits = xcalloc(words, sizeof(uint64_t));
		for (size_t i = 0; i < role->ntargets; i++) {
			const char *key = role->targets[i];
			const char **hit = bsearch(&key, names, n,
			    sizeof(*names), name_ptr_cmp);
			size_t id;

			if (hit == NULL)
				continue;	/* the parser refused it */
			id = (size_t)(hit - names);
			role->target_bits[id / 64] |= 1ULL << (id % 64);
		}
	}
	free(names);
}

static void
role_masks(struct policy *p)
{
	for (size_t i = 0; i < p->nroles; i++) {
		uint64_t *m = p->roles[i].report_only ? p->report :
		    p->roles[i].break_glass ? p->glass : p->ordinary;

		m[i / 64] |= 1ULL << (i % 64);
	}
}

void
policy_build_tables(struct policy *p)
{
	number_target_names(p);
	role_masks(p);
	table_init(&p->user_tab, p->nusers);
	for (size_t i = 0; i < p->nusers; i++) {
		p->users[i].hash = policy_hash_name(p->users[i].name);
		table_put(&p->user_tab, p->users[i].hash, i);
	}
	table_init(&p->group_tab, p->ngroups);
	for (size_t i = 0; i < p->ngroups; i++) {
		p->groups[i].hash = policy_hash_name(p->groups[i].name);
		table_put(&p->group_tab, p->groups[i].hash, i);
	}
	table_init(&p->target_tab, p->ntargets);
	for (size_t i = 0; i < p->ntargets; i++)
		table_put(&p->target_tab, target_hash(p->targets[i].name,
		    p->targets[i].practice), i);
}

int
policy_index_has(const size_t *v, size_t n, size_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] == x)
			return 1;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int
policy_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
policy_need_args(const struct conf_node *n, size_t min,
    struct conf_errors *errs)
{
	if (n->nargs >= min)
		return 0;
	conf_error(errs, &n->name.pos, "%s takes at least %zu argument%s, got "
	    "%zu", n->name.text, min, min == 1 ? "" : "s", n->nargs);
	return -1;
}

/* Linear: for the short lists a role names while it is parsed. */
int
policy_string_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* ---- loading ------------------------------------------------------------- */

static struct policy *
policy_build(const struct conf_tree *tree, struct conf_errors *errs)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	size_t before = errs->n + errs->dropped;

	policy_parse_tree(p, tree, errs);
	if (errs->n + errs->dropped != before) {
		policy_free(p);
		return NULL;
	}
	policy_build_tables(p);
	snprintf(p->hash, sizeof(p->hash), "%s", tree->sha256);
	return p;
}

struct policy *
policy_load_string(const char *name, const char *text, size_t len,
    struct conf_errors *errs)
{
	struct conf_tree *tree = conf_parse_string(name, text, len, errs);
	struct policy *p;

	if (tree == NULL)
		return NULL;
	p = policy_build(tree, errs);
	conf_tree_free(tree);
	return p;
}

struct policy *
policy_load(const char *path, struct conf_errors *errs)
{
	struct conf_tree *tree = conf_parse_file(path, errs);
	struct policy *p;

	if (tree == NULL)
		return NULL;
	p = policy_build(tree, errs);
	conf_tree_free(tree);
	return p;
}

static void
holders_free(struct policy_holder *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(h[i].practices);
	free(h);
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nroles; i++)
		policy_role_free(&p->roles[i]);
	for (size_t i = 0; i < p->nsites; i++)
		free(p->sites[i].nets);
	holders_free(p->users, p->nusers);
	holders_free(p->groups, p->ngroups);
	free(p->roles);
	free(p->sites);
	free(p->profiles);
	free(p->practices);
	free(p->targets);
	free(p->target_practice);
	free(p->target_name_id);
	free(p->user_tab.slots);
	free(p->group_tab.slots);
	free(p->target_tab.slots);
	policy_tz_free(p->tz);
	free(p);
}

/* ---- simple questions ---------------------------------------------------- */

const char *
policy_hash(const struct policy *p)
{
	return p->hash;
}

size_t
policy_target_count(const struct policy *p)
{
	return p->ntargets;
}

void
policy_counts(const struct policy *p, struct policy_counts *out)
{
	out->practices = p->npractices;
	out->targets = p->ntargets;
	out->sites = p->nsites;
	out->postures = p->nprofiles;
	out->roles = p->nroles;
	out->members = p->nmembers;
}

const char *
policy_timezone(const struct policy *p)
{
	return p->tzname;
}

const char *
policy_practice_title(const struct policy *p, const char *code)
{
	ssize_t i = policy_practice_index(p, code);

	return i < 0 ? NULL : p->practices[i].title;
}

const struct policy_target *
policy_find_target(const struct policy *p, const char *name,
    const char *practice)
{
	const struct policy_table *tab = &p->target_tab;
	uint32_t hash;

	if (tab->slots == NULL || strlen(name) >= POLICY_NAME_MAX ||
	    strlen(practice) >= POLICY_NAME_MAX)
		return NULL;
	hash = target_hash(name, practice);
	for (size_t i = hash & tab->mask; tab->slots[i].index != 0;
	    i = (i + 1) & tab->mask) {
		const struct policy_target *t;

		if (tab->slots[i].hash != hash)
			continue;
		t = &p->targets[tab->slots[i].index - 1];
		if (strcmp(t->name, name) == 0 &&
		    strcasecmp(t->practice, practice) == 0)
			return t;
	}
	return NULL;
}

/* Same family, address and port (and IPv6 scope); nothing else compared. */
static int
addr_same(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4, *b4;
	const struct sockaddr_in6 *a6, *b6;

	if (a->sa_family != b->ss_family)
		return 0;
	if (a->sa_family == AF_INET) {
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		a6 = (const struct sockaddr_in6 *)a;
		b6 = (const struct sockaddr_in6 *)b;
		return a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	}
	return 0;
}

const struct policy_target *
policy_find_target_addr(const struct policy *p, const struct sockaddr *sa)
{
	const struct policy_target *found = NULL;

	if (sa == NULL)
		return NULL;
	for (size_t i = 0; i < p->ntargets; i++) {
		if (!addr_same(sa, &p->targets[i].addr))
			continue;
		if (found != NULL)
			return NULL;	/* ambiguous */
		found = &p->targets[i];
	}
	return found;
}

/* ---- who holds what ------------------------------------------------------ */

void
policy_held_roles(const struct policy *p, const char *user,
    const char *const *groups, size_t ngroups, uint64_t *held)
{
	const struct policy_holder *h;

	memset(held, 0, POLICY_ROLE_WORDS * sizeof(*held));
	if ((h = policy_user_find(p, user)) != NULL)
		for (int w = 0; w < POLICY_ROLE_WORDS; w++)
			held[w] |= h->roles[w];
	for (size_t i = 0; i < ngroups; i++)
		if ((h = policy_group_find(p, groups[i])) != NULL)
			for (int w = 0; w < POLICY_ROLE_WORDS; w++)
				held[w] |= h->roles[w];
}

/*
 * Both at once, for decisions: each name is looked up once. member gets
 * the member statement's name that covers practice (index), or NULL.
 */
void
policy_person(const struct policy *p, const char *user,
    const char *const *groups, size_t ngroups, size_t practice,
    uint64_t *held, const char **member, int *member_is_group)
{
	const struct policy_holder *h;

	memset(held, 0, POLICY_ROLE_WORDS * sizeof(*held));
	*member = NULL;
	*member_is_group = 0;
	for (size_t i = 0; i <= ngroups; i++) {
		h = i == 0 ? policy_user_find(p, user) :
		    policy_group_find(p, groups[i - 1]);
		if (h == NULL)
			continue;
		for (int w = 0; w < POLICY_ROLE_WORDS; w++)
			held[w] |= h->roles[w];
		if (*member == NULL && policy_index_has(h->practices,
		    h->npractices, practice)) {
			*member = h->name;
			*member_is_group = i > 0;
		}
	}
}

static int
role_is_held(const uint64_t *held, size_t i)
{
	return (held[i / 64] >> (i % 64)) & 1;
}

long
policy_session_lifetime(const struct policy *p, const char *user,
    const char *const *groups, size_t ngroups)
{
	uint64_t held[POLICY_ROLE_WORDS];
	long best = 0;

	policy_held_roles(p, user, groups, ngroups, held);
	for (size_t i = 0; i < p->nroles; i++)
		if (role_is_held(held, i) && !p->roles[i].report_only &&
		    p->roles[i].max_session > best)
			best = p->roles[i].max_session;
	return best ? best : POLICY_SESSION_DEFAULT;
}

/* Practice indices from a sorted list into a flag array. */
static void
mark_practices(const struct policy_holder *h, unsigned char *mark)
{
	if (h != NULL)
		for (size_t i = 0; i < h->npractices; i++)
			mark[h->practices[i]] = 1;
}

void
policy_user_access(const struct policy *p, const char *user,
    const char *const *groups, size_t ngroups, policy_name_cb cb, void *arg)
{
	uint64_t held[POLICY_ROLE_WORDS];
	unsigned char *mark;
	int all = 0;

	policy_held_roles(p, user, groups, ngroups, held);
	for (size_t i = 0; i < p->nroles; i++)
		if (role_is_held(held, i) && !p->roles[i].report_only) {
			cb("role", p->roles[i].name, arg);
			all |= p->roles[i].all_practices;
		}
	if (all) {
		cb("practice", "*", arg);
		return;
	}
	mark = xcalloc(p->npractices + 1, 1);
	mark_practices(policy_user_find(p, user), mark);
	for (size_t i = 0; i < ngroups; i++)
		mark_practices(policy_group_find(p, groups[i]), mark);
	for (size_t i = 0; i < p->npractices; i++)
		if (mark[i])
			cb("practice", p->practices[i].code, arg);
	free(mark);
}

long
policy_posture_max_age(const struct policy *p)
{
	long best = 0;

	for (size_t i = 0; i < p->nroles; i++)
		if (p->roles[i].posture != NULL &&
		    p->roles[i].posture->max_age > best)
			best = p->roles[i].posture->max_age;
	return best;
}

/* ---- local time ---------------------------------------------------------- */

char *
policy_format_local(const struct policy *p, time_t t, char *buf, size_t len)
{
	static const char *const wday[] = { "Mon", "Tue", "Wed", "Thu", "Fri",
	    "Sat", "Sun" };
	const char *abbr;
	long long local = (long long)t + policy_tz_offset(p->tz, t, &abbr, NULL);
	long long days = policy_tz_floor_div(local, 86400), y;
	long secs = (long)(local - days * 86400);
	int m, d;

	policy_tz_civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%s %04lld-%02d-%02d %02ld:%02ld %s",
	    wday[(days % 7 + 7 + 3) % 7], y, m, d, secs / 3600,
	    secs / 60 % 60, abbr);
	return buf;
}

static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
policy_parse_local(const struct policy *p, const char *s, time_t *t,
    char *err, size_t errlen)
{
	int y, mo, d, h, mi, back_m, back_d;
	long long local, utc, back_y;
	int rc;

	if (strlen(s) != 16 || s[4] != '-' || s[7] != '-' || s[10] != ' ' ||
	    s[13] != ':' || (y = digits(s, 4)) < 1900 ||
	    (mo = digits(s + 5, 2)) < 1 || mo > 12 || (d = digits(s + 8, 2)) < 1 ||
	    d > 31 || (h = digits(s + 11, 2)) < 0 || h > 23 ||
	    (mi = digits(s + 14, 2)) < 0 || mi > 59) {
		errbuf_set(err, errlen, "expected YYYY-MM-DD HH:MM, got '%s'",
		    s);
		return -1;
	}
	local = policy_tz_days_from_civil(y, mo, d);
	policy_tz_civil_from_days(local, &back_y, &back_m, &back_d);
	if (back_m != mo || back_d != d) {	/* 31 April */
		errbuf_set(err, errlen, "%.10s is not a date", s);
		return -1;
	}
	local = local * 86400 + h * 3600 + mi * 60;
	if ((rc = policy_tz_local_to_utc(p->tz, local, &utc)) == 2) {
		errbuf_set(err, errlen, "%s does not exist in %s (the clocks "
		    "go forward then)", s, p->tzname);
		return -1;
	}
	*t = (time_t)utc;
	return rc;
}
