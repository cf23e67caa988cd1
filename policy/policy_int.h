/*
 * policy/ internals shared by its files (parser, evaluator, time zones).
 * Not for other modules: they use policy/policy.h. Tests include it to
 * reach the time-zone reader directly.
 */
#ifndef MWG_POLICY_INT_H
#define MWG_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/conf.h"
#include "policy/policy.h"

#define POLICY_ROLES_MAX	256	/* roles in one policy */
#define POLICY_ROLE_WORDS	(POLICY_ROLES_MAX / 64)
#define POLICY_WEEK_MINUTES	(7 * 24 * 60)	/* hours bitmap, Monday 00:00 */
#define POLICY_WEEK_WORDS	((POLICY_WEEK_MINUTES + 63) / 64)
#define POLICY_ZONEINFO		"/usr/share/zoneinfo"
#define POLICY_TZ_DEFAULT	"Europe/London"
#define POLICY_POSTURE_AGE_DEFAULT (60 * 60)	/* max-age when unsaid */

/* An address block: the first plen bits of addr. IPv4 is family AF_INET
 * with the address in addr[0..3]. */
struct policy_net {
	int family;
	unsigned char addr[16];
	int plen;
};

struct policy_site {
	char name[POLICY_NAME_MAX];
	struct policy_net *nets;
	size_t nnets;
};

struct policy_profile {
	char name[POLICY_NAME_MAX];
	int disk_encryption;		/* 1: required */
	int screen_lock;
	int firewall;
	int os_update_days;		/* -1: not checked */
	int security_max;		/* -1: not checked */
	long max_age;			/* seconds */
};

struct policy_practice {
	char code[POLICY_NAME_MAX];	/* upper case */
	char title[POLICY_TITLE_MAX];
};

struct policy_role {
	char name[POLICY_NAME_MAX];
	char **groups;			/* who holds it: for explain */
	size_t ngroups;
	char **users;
	size_t nusers;
	int all_practices;		/* practices * */
	size_t *practices;		/* sorted practice indices: only these */
	size_t npractices;
	int all_targets;		/* targets * */
	char **targets;			/* sorted target names */
	size_t ntargets;
	uint64_t *target_bits;		/* the same, by target name id */
	const struct policy_profile *posture;	/* NULL: none asked */
	int need_managed;		/* device managed */
	uint64_t *hours;		/* POLICY_WEEK_MINUTES bits; NULL: any */
	char *hours_text;		/* as written, for reasons */
	size_t *sites;			/* from: site indices; none: anywhere */
	size_t nsites;
	long max_session;		/* seconds; 0 unsaid */
	long idle;
	long break_glass;		/* seconds; 0: an ordinary role */
	int report_only;
};

/* A user or a group that a role or a member statement names. */
struct policy_holder {
	/* What a decision reads, then the name: a short one shares the
	 * first cache line. */
	uint64_t roles[POLICY_ROLE_WORDS];
	size_t *practices;		/* sorted practice indices */
	size_t npractices;
	uint32_t hash;			/* policy_hash_name(name) */
	char name[POLICY_NAME_MAX];	/* inline: one cache miss less */
};

struct policy_tz;

struct policy {
	char tzname[64];
	struct policy_tz *tz;
	struct policy_target *targets;	/* sorted by (practice, name) */
	size_t *target_practice;	/* practice index of each target */
	uint32_t *target_name_id;	/* distinct names numbered in order */
	size_t ntargets;
	struct policy_practice *practices;	/* sorted by code */
	size_t npractices;
	struct policy_site *sites;
	size_t nsites;
	struct policy_profile *profiles;
	size_t nprofiles;
	struct policy_role *roles;	/* in file order */
	size_t nroles;
	/* Roles by kind, as bits by index: a decision visits only the
	 * roles the person holds, in file order. */
	uint64_t ordinary[POLICY_ROLE_WORDS], glass[POLICY_ROLE_WORDS];
	uint64_t report[POLICY_ROLE_WORDS];
	struct policy_holder *users;	/* sorted by name */
	size_t nusers;
	struct policy_holder *groups;	/* sorted by name */
	size_t ngroups;
	/* Open-addressing hash tables: slot = index + 1, 0 empty. Decisions
	 * look names up here, a string compare or two each. */
	struct policy_table {
		struct policy_slot {
			uint32_t hash;
			uint32_t index;	/* + 1; 0: empty */
		} *slots;
		size_t mask;
	} user_tab, group_tab, target_tab;
	size_t nmembers;
	char hash[65];
};

/* policy_parse.c: the statement tree into p; errors into errs. */
void policy_parse_tree(struct policy *p, const struct conf_tree *tree,
    struct conf_errors *errs);

/* policy_role.c */
void policy_parse_role(struct policy *p, const struct conf_node *n,
    struct conf_errors *errs);
void policy_role_free(struct policy_role *r);
/* "mon-fri 08:00-18:30 sat 09:00-12:00" into bits; 0 or -1 (errs). */
int policy_parse_hours(const struct conf_node *n, uint64_t *bits,
    struct conf_errors *errs);

/* policy.c: shared helpers for names and lookups. */
int policy_name_valid(const char *s);		/* [a-z0-9-], 1..63 */
int policy_code_valid(const char *s);		/* [A-Za-z0-9-], 1..63 */
int policy_user_valid(const char *s);		/* [a-z0-9._-] */
int policy_group_valid(const char *s);		/* printable, as certs */
ssize_t policy_practice_index(const struct policy *p, const char *code);
int policy_target_name_exists(const struct policy *p, const char *name);
uint32_t policy_hash_name(const char *s);
/* After a successful parse: the hash tables, name ids and role masks. */
void policy_build_tables(struct policy *p);
const struct policy_holder *policy_user_find(const struct policy *p,
    const char *name);
const struct policy_holder *policy_group_find(const struct policy *p,
    const char *name);
int policy_index_has(const size_t *v, size_t n, size_t x);
int policy_string_has(char *const *v, size_t n, const char *s);
int policy_str_cmp(const void *a, const void *b);	/* char ** for qsort */
/* A list statement has at least min arguments; 0, or -1 (errs). */
int policy_need_args(const struct conf_node *n, size_t min,
    struct conf_errors *errs);
/* The roles user (with groups) holds, as bits by role index. */
void policy_held_roles(const struct policy *p, const char *user,
    const char *const *groups, size_t ngroups, uint64_t *held);
/* The roles held and the member statement (user's or a group's) that
 * covers practice (index), or NULL: each name looked up once. */
void policy_person(const struct policy *p, const char *user,
    const char *const *groups, size_t ngroups, size_t practice,
    uint64_t *held, const char **member, int *member_is_group);

static inline int
isalnum_ascii(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* policy_net.c */
int policy_net_parse(const char *s, struct policy_net *out, char *why,
    size_t whylen);
int policy_net_match(const struct policy_net *net, int family,
    const unsigned char *addr);
/* sa or, failing that, text into (family, 16 bytes); -1 if neither. */
int policy_net_source(const struct sockaddr *sa, const char *text,
    int *family, unsigned char *addr);

/* policy_tz.c */
struct policy_tz *policy_tz_load(const char *dir, const char *name, char *err,
    size_t errlen);
struct policy_tz *policy_tz_parse(const unsigned char *buf, size_t len, char *err,
    size_t errlen);
struct policy_tz *policy_tz_utc(void);
void policy_tz_free(struct policy_tz *tz);
/* Seconds east of UTC at t; the abbreviation ("BST") if abbr. */
long policy_tz_offset(const struct policy_tz *tz, long long t, const char **abbr,
    int *isdst);
/*
 * Local seconds (on the local calendar since 1970) into UTC: 0 exact, 1
 * ambiguous (clocks went back: the earlier instant), 2 in a gap (clocks
 * went forward: the first instant past it).
 */
int policy_tz_local_to_utc(const struct policy_tz *tz, long long local,
    long long *t);
long long policy_tz_floor_div(long long a, long long b);
long long policy_tz_days_from_civil(long long y, int m, int d);
void policy_tz_civil_from_days(long long z, long long *y, int *m, int *d);

#endif
