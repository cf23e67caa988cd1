/*
 * policy.conf's statement tree into a struct policy. Two passes: the first
 * reads what others refer to (timezone, site, posture, practice), the
 * second what refers to them (role, member), so a file may be written in
 * any order. Every error is collected; the caller fails the load on any.
 */
#include "policy/policy_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"

#define POLICY_TZNAME_MAX	63

struct member_entry {
	const char *name;
	int is_group;
	struct conf_pos pos;
	size_t seq;
	size_t *practices;
	size_t npractices;
};

struct build {
	struct policy *p;
	struct conf_errors *errs;
	const struct conf_node *tz_node;	/* the timezone statement */
	struct member_entry *members;
	size_t nmembers, cap;
};

typedef void (*stmt_fn)(struct build *, const struct conf_node *);

struct keyword {
	const char *name;
	int pass;
	stmt_fn fn;
};

static int
keyword_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct keyword *)elem)->name);
}

/* ---- timezone ------------------------------------------------------- */

static int
tzname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > POLICY_TZNAME_MAX || s[0] == '/' ||
	    strstr(s, "..") != NULL)
		return 0;
	for (; *s; s++)
		if (!isalnum_ascii(*s) && strchr("/_+-", *s) == NULL)
			return 0;
	return 1;
}

static void
parse_timezone(struct build *b, const struct conf_node *n)
{
	char err[256];

	if (b->tz_node != NULL) {
		conf_error(b->errs, &n->name.pos, "timezone is set twice "
		    "(first at %s:%d:%d)", b->tz_node->name.pos.file,
		    b->tz_node->name.pos.line, b->tz_node->name.pos.col);
		return;
	}
	b->tz_node = n;
	if (conf_nargs(n, 1, 1, b->errs) == -1 || n->has_block) {
		if (n->has_block)
			conf_error(b->errs, &n->name.pos,
			    "expected timezone NAME without a block");
		b->p->tz = policy_tz_utc();
		return;
	}
	if (!tzname_valid(n->args[0].text)) {
		conf_error(b->errs, &n->args[0].pos, "expected a time zone "
		    "name like Europe/London, got '%s'", n->args[0].text);
		b->p->tz = policy_tz_utc();
		return;
	}
	snprintf(b->p->tzname, sizeof(b->p->tzname), "%s", n->args[0].text);
	if ((b->p->tz = policy_tz_load(POLICY_ZONEINFO, b->p->tzname, err,
	    sizeof(err))) == NULL) {
		conf_error(b->errs, &n->args[0].pos, "cannot read time zone "
		    "%s: %s", b->p->tzname, err);
		b->p->tz = policy_tz_utc();
	}
}

/* ---- site ------------------------------------------------------------ */

static void
parse_networks(struct build *b, struct policy_site *s,
    const struct conf_node *c)
{
	char why[160];

	if (policy_need_args(c, 1, b->errs) == -1)
		return;
	for (size_t i = 0; i < c->nargs; i++) {
		struct policy_net net;
		size_t j;

		if (policy_net_parse(c->args[i].text, &net, why,
		    sizeof(why)) == -1) {
			conf_error(b->errs, &c->args[i].pos, "%s", why);
			continue;
		}
		for (j = 0; j < s->nnets; j++)
			if (memcmp(&s->nets[j], &net, sizeof(net)) == 0)
				break;
		if (j < s->nnets) {
			conf_error(b->errs, &c->args[i].pos, "network %s is "
			    "listed twice in site %s", c->args[i].text,
			    s->name);
			continue;
		}
		s->nets = xreallocarray(s->nets, s->nnets + 1,
		    sizeof(*s->nets));
		s->nets[s->nnets++] = net;
	}
}

/* Checks `KIND NAME { ... }` and that NAME is new among n names (each
 * stride bytes apart, the name first). */
static int
block_head(struct build *b, const struct conf_node *n, const char *kind,
    const void *names, size_t count, size_t stride)
{
	if (conf_nargs(n, 1, 1, b->errs) == -1)
		return -1;
	if (!policy_name_valid(n->args[0].text)) {
		conf_error(b->errs, &n->args[0].pos, "expected a %s name of "
		    "a-z, 0-9 and '-', got '%s'", kind, n->args[0].text);
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		if (strcmp((const char *)names + i * stride,
		    n->args[0].text) == 0) {
			conf_error(b->errs, &n->args[0].pos, "%s %s is defined "
			    "twice", kind, n->args[0].text);
			return -1;
		}
	if (!n->has_block) {
		conf_error(b->errs, &n->name.pos, "expected '{' with the %s's "
		    "statements", kind);
		return -1;
	}
	return 0;
}

static void
parse_site(struct build *b, const struct conf_node *n)
{
	struct policy *p = b->p;
	struct policy_site *s;

	if (block_head(b, n, "site", p->sites, p->nsites,
	    sizeof(*p->sites)) == -1)
		return;
	p->sites = xreallocarray(p->sites, p->nsites + 1, sizeof(*p->sites));
	s = &p->sites[p->nsites++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", n->args[0].text);
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *c = &n->children[i];

		if (strcmp(c->name.text, "networks") == 0 && !c->has_block)
			parse_networks(b, s, c);
		else
			conf_error(b->errs, &c->name.pos, "expected 'networks' "
			    "in site %s, got '%s'", s->name, c->name.text);
	}
	if (s->nnets == 0 && n->nchildren == 0)
		conf_error(b->errs, &n->name.pos, "site %s has no networks "
		    "(expected networks CIDR...)", s->name);
}

/* ---- posture ----------------------------------------------------------- */

static int
one_word(struct build *b, const struct conf_node *c, const char *want)
{
	if (conf_nargs(c, 1, 1, b->errs) == -1)
		return -1;
	if (strcmp(c->args[0].text, want) != 0) {
		conf_error(b->errs, &c->args[0].pos, "expected '%s', got '%s'",
		    want, c->args[0].text);
		return -1;
	}
	return 0;
}

/* `KEY WORD VALUE`: the VALUE argument after a fixed word, or NULL. */
static const struct conf_arg *
word_value(struct build *b, const struct conf_node *c, const char *word)
{
	if (conf_nargs(c, 2, 2, b->errs) == -1)
		return NULL;
	if (strcmp(c->args[0].text, word) != 0) {
		conf_error(b->errs, &c->args[0].pos, "expected '%s', got '%s' "
		    "(e.g. %s %s ...)", word, c->args[0].text, c->name.text,
		    word);
		return NULL;
	}
	return &c->args[1];
}

static void
posture_stmt(struct build *b, struct policy_profile *pr,
    const struct conf_node *c)
{
	const char *k = c->name.text;
	const struct conf_arg *a;
	long long v;

	if (strcmp(k, "disk-encryption") == 0) {
		if (one_word(b, c, "required") == 0)
			pr->disk_encryption = 1;
	} else if (strcmp(k, "screen-lock") == 0) {
		if (one_word(b, c, "required") == 0)
			pr->screen_lock = 1;
	} else if (strcmp(k, "firewall") == 0) {
		if (one_word(b, c, "required") == 0)
			pr->firewall = 1;
	} else if (strcmp(k, "os-updates") == 0) {
		if ((a = word_value(b, c, "within")) == NULL ||
		    conf_duration(a, 86400, 365 * 86400LL, &v, b->errs) == -1)
			return;
		if (v % 86400 != 0) {
			conf_error(b->errs, &a->pos, "expected whole days "
			    "(e.g. 14d), got '%s'", a->text);
			return;
		}
		pr->os_update_days = (int)(v / 86400);
	} else if (strcmp(k, "security-updates") == 0) {
		if ((a = word_value(b, c, "max")) != NULL &&
		    conf_uint(a, 0, 10000, &v, b->errs) == 0)
			pr->security_max = (int)v;
	} else if (strcmp(k, "max-age") == 0) {
		if (conf_nargs(c, 1, 1, b->errs) == 0 &&
		    conf_duration(&c->args[0], 60, 7 * 86400, &v,
		    b->errs) == 0)
			pr->max_age = (long)v;
	}
}

static void
parse_posture(struct build *b, const struct conf_node *n)
{
	static const char *const keys[] = { "disk-encryption", "firewall",
	    "max-age", "os-updates", "screen-lock", "security-updates" };
	const struct conf_node *seen[6] = { 0 };
	struct policy *p = b->p;
	struct policy_profile *pr;

	if (block_head(b, n, "posture profile", p->profiles, p->nprofiles,
	    sizeof(*p->profiles)) == -1)
		return;
	p->profiles = xreallocarray(p->profiles, p->nprofiles + 1,
	    sizeof(*p->profiles));
	pr = &p->profiles[p->nprofiles++];
	memset(pr, 0, sizeof(*pr));
	snprintf(pr->name, sizeof(pr->name), "%s", n->args[0].text);
	pr->os_update_days = pr->security_max = -1;
	pr->max_age = POLICY_POSTURE_AGE_DEFAULT;
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *c = &n->children[i];
		size_t k;

		for (k = 0; k < 6 && strcmp(c->name.text, keys[k]) != 0; k++)
			;
		if (k == 6 || c->has_block) {
			conf_error(b->errs, &c->name.pos, "expected disk-"
			    "encryption, firewall, max-age, os-updates, "
			    "screen-lock or security-updates in posture %s, "
			    "got '%s'", pr->name, c->name.text);
			continue;
		}
		if (seen[k] != NULL) {
			conf_error(b->errs, &c->name.pos, "%s is set twice in "
			    "posture %s", keys[k], pr->name);
			continue;
		}
		seen[k] = c;
		posture_stmt(b, pr, c);
	}
}

/* ---- practice ------------------------------------------------------------ */

static const char *const kind_names[] = {
	[POLICY_KIND_TCP] = "tcp",
	[POLICY_KIND_WEB] = "web",
	[POLICY_KIND_RDP] = "rdp",
	[POLICY_KIND_SSH] = "ssh",
};

const char *
policy_kind_name(enum policy_kind kind)
{
	return (size_t)kind < sizeof(kind_names) / sizeof(kind_names[0]) ?
	    kind_names[kind] : "tcp";
}

/*
 * A DNS host name as certificates name servers (RFC 1123 §2.1): labels of
 * letters, digits and '-', 1-63 bytes, not starting or ending with '-',
 * at least two of them, 253 bytes in all; no trailing dot, no IP literal
 * (the last label is not all digits). Lower-cased into out.
 */
static int
host_parse(const char *s, char *out)
{
	size_t n = strlen(s), label = 0, labels = 1;
	int all_digits = 1;

	if (n == 0 || n > POLICY_HOST_MAX - 1)
		return -1;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return -1;
			if (c == '.') {
				labels++;
				label = 0;
				all_digits = 1;
			}
			out[i] = c;
			continue;
		}
		if (!isalnum_ascii(c) && c != '-')
			return -1;
		if ((label == 0 && c == '-') || ++label > 63)
			return -1;
		all_digits &= c >= '0' && c <= '9';
		out[i] = (char)tolower((unsigned char)c);
	}
	return labels >= 2 && !all_digits ? 0 : -1;
}

/* `host NAME`: a name no other target has, so a proxy can tell them apart. */
static void
target_host(struct build *b, struct policy_target *t,
    const struct conf_node *c)
{
	const struct policy *p = b->p;
	char host[POLICY_HOST_MAX];

	if (conf_nargs(c, 1, 1, b->errs) == -1)
		return;
	if (host_parse(c->args[0].text, host) == -1) {
		conf_error(b->errs, &c->args[0].pos, "expected a host name "
		    "like emis.k84001.example.nhs.uk (letters, digits, '-' "
		    "and '.', at most 253 bytes), got '%s'", c->args[0].text);
		return;
	}
	for (size_t i = 0; i < p->ntargets; i++)
		if (strcmp(p->targets[i].host, host) == 0) {
			conf_error(b->errs, &c->args[0].pos, "host %s is "
			    "already target %s.%s's", host, p->targets[i].name,
			    p->targets[i].practice);
			return;
		}
	memcpy(t->host, host, sizeof(host));
}

static void
target_kind(struct build *b, struct policy_target *t,
    const struct conf_node *c)
{
	if (conf_nargs(c, 1, 1, b->errs) == -1)
		return;
	for (size_t k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (strcmp(c->args[0].text, kind_names[k]) == 0) {
			t->kind = (enum policy_kind)k;
			return;
		}
	conf_error(b->errs, &c->args[0].pos, "expected a kind web, rdp, ssh "
	    "or tcp, got '%s'", c->args[0].text);
}

/* `target NAME ADDR { kind K; host H }`: each at most once. */
static void
target_block(struct build *b, struct policy_target *t,
    const struct conf_node *n)
{
	const struct conf_node *kind = NULL, *host = NULL;

	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *c = &n->children[i];
		const struct conf_node **seen = strcmp(c->name.text,
		    "kind") == 0 ? &kind : strcmp(c->name.text, "host") == 0 ?
		    &host : NULL;

		if (seen == NULL || c->has_block) {
			conf_error(b->errs, &c->name.pos, "expected 'kind' or "
			    "'host' in target %s.%s, got '%s'%s", t->name,
			    t->practice, c->name.text, c->has_block ?
			    " with a block" : "");
			continue;
		}
		if (*seen != NULL) {
			conf_error(b->errs, &c->name.pos, "%s is set twice in "
			    "target %s.%s (first at line %d)", c->name.text,
			    t->name, t->practice, (*seen)->name.pos.line);
			continue;
		}
		*seen = c;
		if (seen == &kind)
			target_kind(b, t, c);
		else
			target_host(b, t, c);
	}
	if (t->kind == POLICY_KIND_WEB && t->host[0] == '\0' && host == NULL)
		conf_error(b->errs, &n->name.pos, "target %s.%s is kind web: "
		    "it needs host NAME, the name its certificate is for",
		    t->name, t->practice);
}

static void
parse_target(struct build *b, const char *practice, size_t first,
    const struct conf_node *n)
{
	struct policy *p = b->p;
	struct policy_target *t;

	if (conf_nargs(n, 2, 2, b->errs) == -1)
		return;
	if (!policy_name_valid(n->args[0].text)) {
		conf_error(b->errs, &n->args[0].pos,
		    "expected a target name of a-z, 0-9 and '-', got '%s'",
		    n->args[0].text);
		return;
	}
	/* This practice's targets are the last ones added. */
	for (size_t i = first; i < p->ntargets; i++)
		if (strcmp(p->targets[i].name, n->args[0].text) == 0) {
			conf_error(b->errs, &n->args[0].pos,
			    "target %s.%s is defined twice", n->args[0].text,
			    practice);
			return;
		}
	if ((p->ntargets & (p->ntargets - 1)) == 0)	/* grow at 2^k */
		p->targets = xreallocarray(p->targets,
		    p->ntargets ? 2 * p->ntargets : 1, sizeof(*p->targets));
	t = &p->targets[p->ntargets];
	memset(t, 0, sizeof(*t));
	if (addr_parse(n->args[1].text, &t->addr, &t->addrlen) == -1) {
		conf_error(b->errs, &n->args[1].pos,
		    "expected an address IP:PORT or [IPv6]:PORT, got '%s'",
		    n->args[1].text);
		return;
	}
	snprintf(t->name, sizeof(t->name), "%s", n->args[0].text);
	snprintf(t->practice, sizeof(t->practice), "%s", practice);
	addr_format((struct sockaddr *)&t->addr, t->addr_str,
	    sizeof(t->addr_str));
	if (n->has_block)
		target_block(b, t, n);
	p->ntargets++;
}

static void
parse_practice(struct build *b, const struct conf_node *n)
{
	struct policy *p = b->p;
	struct policy_practice *pr;
	char code[POLICY_NAME_MAX];
	size_t first = p->ntargets;

	if (conf_nargs(n, 1, 2, b->errs) == -1)
		return;
	if (!policy_code_valid(n->args[0].text)) {
		conf_error(b->errs, &n->args[0].pos,
		    "expected a practice code (ODS code, e.g. K84001), got '%s'",
		    n->args[0].text);
		return;
	}
	/* ODS codes are upper case; the check above bounded the length. */
	for (size_t i = 0; i <= strlen(n->args[0].text); i++)
		code[i] = (char)toupper((unsigned char)n->args[0].text[i]);
	/* Not sorted yet (that comes after this pass): a plain scan. */
	for (size_t i = 0; i < p->npractices; i++)
		if (strcmp(p->practices[i].code, code) == 0) {
			conf_error(b->errs, &n->args[0].pos, "practice %s is "
			    "defined twice", code);
			return;
		}
	if (n->nargs == 2 && strlen(n->args[1].text) >= POLICY_TITLE_MAX)
		conf_error(b->errs, &n->args[1].pos,
		    "practice name longer than %d bytes", POLICY_TITLE_MAX - 1);
	if (!n->has_block) {
		conf_error(b->errs, &n->name.pos,
		    "expected '{' with the practice's targets");
		return;
	}
	p->practices = xreallocarray(p->practices, p->npractices + 1,
	    sizeof(*p->practices));
	pr = &p->practices[p->npractices++];
	memset(pr, 0, sizeof(*pr));
	snprintf(pr->code, sizeof(pr->code), "%s", code);
	if (n->nargs == 2)
		snprintf(pr->title, sizeof(pr->title), "%s", n->args[1].text);
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *c = &n->children[i];

		if (strcmp(c->name.text, "target") == 0)
			parse_target(b, code, first, c);
		else
			conf_error(b->errs, &c->name.pos,
			    "expected 'target' in practice %s, got '%s'", code,
			    c->name.text);
	}
}

/* ---- member ------------------------------------------------------------- */

static void
member_practices(struct build *b, struct member_entry *m,
    const struct conf_node *c)
{
	if (policy_need_args(c, 1, b->errs) == -1)
		return;
	for (size_t i = 0; i < c->nargs; i++) {
		const char *code = c->args[i].text;
		ssize_t pi = policy_practice_index(b->p, code);

		if (strcmp(code, "*") == 0) {
			conf_error(b->errs, &c->args[i].pos, "expected practice "
			    "codes: only a role may say practices *");
			continue;
		}
		if (pi < 0) {
			conf_error(b->errs, &c->args[i].pos, "expected a "
			    "practice defined in this policy, got '%s'", code);
			continue;
		}
		if (policy_index_has(m->practices, m->npractices,
		    (size_t)pi)) {
			conf_error(b->errs, &c->args[i].pos, "practice %s is "
			    "listed twice for member %s", code, m->name);
			continue;
		}
		m->practices = xreallocarray(m->practices, m->npractices + 1,
		    sizeof(*m->practices));
		/* Kept sorted by insertion: members name few practices. */
		size_t j = m->npractices++;
		for (; j > 0 && m->practices[j - 1] > (size_t)pi; j--)
			m->practices[j] = m->practices[j - 1];
		m->practices[j] = (size_t)pi;
	}
}

static void
parse_member(struct build *b, const struct conf_node *n)
{
	struct member_entry *m;
	int is_group = n->nargs == 2 && strcmp(n->args[0].text, "group") == 0;
	const struct conf_arg *name;

	if (n->nargs == 0 || n->nargs > 2 || (n->nargs == 2 && !is_group)) {
		conf_error(b->errs, &n->name.pos, "expected member USER { ... } "
		    "or member group GROUP { ... }");
		return;
	}
	name = &n->args[is_group];
	if (is_group ? !policy_group_valid(name->text) :
	    !policy_user_valid(name->text)) {
		conf_error(b->errs, &name->pos, is_group ? "expected a group "
		    "name (printable ASCII without ',', 1 to 63 bytes), got "
		    "'%s'" : "expected a user name of a-z, 0-9, '.', '_' and "
		    "'-', got '%s'", name->text);
		return;
	}
	if (!n->has_block) {
		conf_error(b->errs, &n->name.pos, "expected '{' with the "
		    "member's practices");
		return;
	}
	if (b->nmembers == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->members = xreallocarray(b->members, b->cap,
		    sizeof(*b->members));
	}
	m = &b->members[b->nmembers];
	memset(m, 0, sizeof(*m));
	m->name = name->text;
	m->is_group = is_group;
	m->pos = name->pos;
	m->seq = b->nmembers++;
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *c = &n->children[i];

		if (strcmp(c->name.text, "practices") == 0 && !c->has_block)
			member_practices(b, m, c);
		else
			conf_error(b->errs, &c->name.pos, "expected 'practices' "
			    "in member %s, got '%s'", m->name, c->name.text);
	}
	if (m->npractices == 0 && n->nchildren == 0)
		conf_error(b->errs, &n->name.pos, "member %s names no "
		    "practices (expected practices CODE...)", m->name);
}

static void
parse_role_stmt(struct build *b, const struct conf_node *n)
{
	policy_parse_role(b->p, n, b->errs);
}

static void policy_build_holders(struct policy *p,
    const struct member_entry *m, size_t nm);

static int
member_cmp(const void *a, const void *b)
{
	const struct member_entry *x = a, *y = b;
	int c;

	if (x->is_group != y->is_group)
		return x->is_group - y->is_group;
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Duplicates are found after sorting: 5,000 members, no n^2 scan. */
static void
members_finish(struct build *b)
{
	struct member_entry *m = b->members;

	if (b->nmembers > 0)
		qsort(m, b->nmembers, sizeof(*m), member_cmp);
	for (size_t i = 1; i < b->nmembers; i++)
		if (m[i].is_group == m[i - 1].is_group &&
		    strcmp(m[i].name, m[i - 1].name) == 0)
			conf_error(b->errs, &m[i].pos, "member %s%s is defined "
			    "twice (first at %s:%d:%d)", m[i].is_group ?
			    "group " : "", m[i].name, m[i - 1].pos.file,
			    m[i - 1].pos.line, m[i - 1].pos.col);
	b->p->nmembers = b->nmembers;
	policy_build_holders(b->p, b->members, b->nmembers);
	for (size_t i = 0; i < b->nmembers; i++)
		free(m[i].practices);
	free(m);
}

/* ---- holders: who holds which roles and is a member of what ------------- */

struct holder_ref {
	const char *name;
	int is_group;
	size_t role;			/* SIZE_MAX: a member entry */
	const struct member_entry *member;
};

static int
ref_cmp(const void *a, const void *b)
{
	const struct holder_ref *x = a, *y = b;

	if (x->is_group != y->is_group)
		return x->is_group - y->is_group;
	return strcmp(x->name, y->name);
}

static void
refs_add(struct holder_ref **refs, size_t *n, size_t *cap,
    struct holder_ref r)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*refs = xreallocarray(*refs, *cap, sizeof(**refs));
	}
	(*refs)[(*n)++] = r;
}

/* Merges sorted refs of one kind into holders. */
static struct policy_holder *
holders_from(const struct holder_ref *r, size_t n, size_t *count)
{
	struct policy_holder *h = NULL;
	size_t nh = 0;

	for (size_t i = 0; i < n; i++) {
		struct policy_holder *cur;

		if (nh == 0 || strcmp(h[nh - 1].name, r[i].name) != 0) {
			h = xreallocarray(h, nh + 1, sizeof(*h));
			memset(&h[nh], 0, sizeof(*h));
			/* Names were checked: shorter than the buffer. */
			snprintf(h[nh++].name, sizeof(h->name), "%s",
			    r[i].name);
		}
		cur = &h[nh - 1];
		if (r[i].member == NULL)
			cur->roles[r[i].role / 64] |= 1ULL << (r[i].role % 64);
		else if (cur->practices == NULL && r[i].member->npractices) {
			cur->npractices = r[i].member->npractices;
			cur->practices = xreallocarray(NULL, cur->npractices,
			    sizeof(*cur->practices));
			memcpy(cur->practices, r[i].member->practices,
			    cur->npractices * sizeof(*cur->practices));
		}
	}
	*count = nh;
	return h;
}

static void
policy_build_holders(struct policy *p, const struct member_entry *m,
    size_t nm)
{
	struct holder_ref *refs = NULL;
	size_t n = 0, cap = 0, groups;

	for (size_t i = 0; i < p->nroles; i++) {
		const struct policy_role *r = &p->roles[i];

		for (size_t j = 0; j < r->nusers; j++)
			refs_add(&refs, &n, &cap, (struct holder_ref){
			    r->users[j], 0, i, NULL });
		for (size_t j = 0; j < r->ngroups; j++)
			refs_add(&refs, &n, &cap, (struct holder_ref){
			    r->groups[j], 1, i, NULL });
	}
	for (size_t i = 0; i < nm; i++)
		refs_add(&refs, &n, &cap, (struct holder_ref){ m[i].name,
		    m[i].is_group, SIZE_MAX, &m[i] });
	if (n == 0)
		return;		/* no names: no arrays (and no NULL + 0) */
	qsort(refs, n, sizeof(*refs), ref_cmp);
	for (groups = 0; groups < n && !refs[groups].is_group; groups++)
		;
	p->users = holders_from(refs, groups, &p->nusers);
	p->groups = holders_from(refs + groups, n - groups, &p->ngroups);
	free(refs);
}

/* ---- the passes ---------------------------------------------------------- */

static const struct keyword top_keywords[] = {	/* sorted */
	{ "member", 2, parse_member },
	{ "posture", 1, parse_posture },
	{ "practice", 1, parse_practice },
	{ "role", 2, parse_role_stmt },
	{ "site", 1, parse_site },
	{ "timezone", 1, parse_timezone },
};

static int
target_cmp(const void *a, const void *b)
{
	const struct policy_target *x = a, *y = b;
	int c = strcmp(x->practice, y->practice);

	return c ? c : strcmp(x->name, y->name);
}

static int
practice_cmp(const void *a, const void *b)
{
	return strcmp(((const struct policy_practice *)a)->code,
	    ((const struct policy_practice *)b)->code);
}

/* Sorts practices and targets for lookups; indexes targets' practices. */
static void
index_practices(struct policy *p)
{
	if (p->npractices > 0)
		qsort(p->practices, p->npractices, sizeof(*p->practices),
		    practice_cmp);
	if (p->ntargets == 0)
		return;		/* qsort and bsearch want a real array */
	qsort(p->targets, p->ntargets, sizeof(*p->targets), target_cmp);
	p->target_practice = xreallocarray(NULL, p->ntargets,
	    sizeof(*p->target_practice));
	for (size_t i = 0; i < p->ntargets; i++)
		p->target_practice[i] = (size_t)policy_practice_index(p,
		    p->targets[i].practice);
}

/* Without a timezone statement, the default zone; UTC if it is missing
 * and no role needs hours (role parsing says so if one does). */
static void
default_timezone(struct build *b)
{
	char err[256];

	if (b->p->tz != NULL)
		return;
	snprintf(b->p->tzname, sizeof(b->p->tzname), "%s", POLICY_TZ_DEFAULT);
	b->p->tz = policy_tz_load(POLICY_ZONEINFO, POLICY_TZ_DEFAULT, err,
	    sizeof(err));
}

void
policy_parse_tree(struct policy *p, const struct conf_tree *tree,
    struct conf_errors *errs)
{
	struct build b = { .p = p, .errs = errs };

	for (int pass = 1; pass <= 2; pass++) {
		for (size_t i = 0; i < tree->root.nchildren; i++) {
			const struct conf_node *n = &tree->root.children[i];
			const struct keyword *k = bsearch(n->name.text,
			    top_keywords, sizeof(top_keywords) /
			    sizeof(top_keywords[0]), sizeof(top_keywords[0]),
			    keyword_cmp);

			if (k == NULL && pass == 1)
				conf_error(errs, &n->name.pos, "expected member, "
				    "posture, practice, role, site or timezone, "
				    "got '%s'", n->name.text);
			else if (k != NULL && k->pass == pass)
				k->fn(&b, n);
		}
		if (pass == 1) {
			index_practices(p);
			default_timezone(&b);
		}
	}
	members_finish(&b);
	if (p->tz == NULL) {
		snprintf(p->tzname, sizeof(p->tzname), "UTC");
		p->tz = policy_tz_utc();
	}
}
