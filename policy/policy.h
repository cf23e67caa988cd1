/*
 * policy: what mwgd may reach and who may reach it. Pure: no network, no
 * globals. A loaded policy is immutable and may be shared between threads.
 *
 * This first cut knows practices and their targets (the only names a client
 * may ask for) and one interim rule: any valid device may reach any defined
 * target. The policy issue replaces the rule set behind policy_decide().
 */
#ifndef MWG_POLICY_H
#define MWG_POLICY_H

#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "common/conf.h"

#define POLICY_NAME_MAX		64	/* target names and practice codes */
#define POLICY_TITLE_MAX	128	/* a practice's display name */

struct policy_target {
	char name[POLICY_NAME_MAX];		/* "emis" */
	char practice[POLICY_NAME_MAX];		/* ODS code, upper case */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_str[64];			/* "10.10.1.10:443" */
};

struct policy;

/* Parses path; NULL with every error (file:line:col) in errs. */
struct policy *policy_load(const char *path, struct conf_errors *errs);
struct policy *policy_load_string(const char *name, const char *text,
    size_t len, struct conf_errors *errs);
void policy_free(struct policy *p);
/* SHA-256 over every file read (includes too), hex; for reload audits. */
const char *policy_hash(const struct policy *p);
size_t policy_target_count(const struct policy *p);

/*
 * Finds "name.practice" (the practice code is matched case-insensitively).
 * Returns NULL if no such target is defined. Caller does not free.
 */
const struct policy_target *policy_find_target(const struct policy *p,
    const char *name, const char *practice);

/* ---- the decision's inputs --------------------------------------------- */

enum policy_tri {
	POLICY_UNKNOWN = 0,	/* never counts as yes */
	POLICY_NO,
	POLICY_YES,
};

/* A device's newest posture report as the gateway parsed it. */
struct policy_posture {
	time_t received_at;
	enum policy_tri disk_encryption;
	enum policy_tri screen_lock;
	enum policy_tri firewall;
	int update_age_days;		/* days since the last update; -1 unknown */
	int security_updates;		/* pending security updates; -1 unknown */
	char os_id[32];			/* "debian" */
	char os_version[32];		/* "12" */
	char client_version[32];
};

/* What a decision is asked. Strings may be empty, never NULL. */
struct policy_request {
	const char *user;
	const char *const *groups;	/* from the session certificate */
	size_t ngroups;
	const char *device_id;
	int device_managed;		/* organisation-owned (enrolment flag) */
	const struct policy_posture *posture;	/* NULL: no report */
	const struct sockaddr *source;	/* NULL: unknown (matches no site) */
	const char *source_ip;		/* the same, as text, for reasons */
	const char *target_name;
	const char *practice;
	int port;
	time_t now;
	const char *break_glass;	/* the reason given at CONNECT, or NULL */
};

struct policy_decision {
	int allow;			/* what is enforced */
	const struct policy_target *target;	/* NULL if none matched */
	char rule[64];			/* the rule that decided: "role clinician" */
	char reason[256];		/* for the person and the audit record */
	int break_glass;		/* allowed through a break-glass role */
	long max_duration;		/* seconds the tunnel may last; 0 none */
	long idle;			/* the role's idle timeout, seconds; 0 default */
	/* A report-only rule that would have decided otherwise (or alike). */
	int report_only;		/* 1 if the fields below are set */
	int report_allow;
	char report_rule[64];
	char report_reason[256];
};

/* Default deny: allow only when a rule says so. Always fills out. */
void policy_decide(const struct policy *p, const struct policy_request *req,
    struct policy_decision *out);

/*
 * The same decision, calling cb for every rule considered, in order, with
 * whether it applied and why (for `mwgctl policy explain`).
 */
typedef void (*policy_explain_cb)(const char *rule, int applies,
    const char *why, void *arg);
void policy_explain(const struct policy *p, const struct policy_request *req,
    struct policy_decision *out, policy_explain_cb cb, void *arg);

/*
 * How long a session certificate for user (with groups) may live: the
 * longest max-session among the roles the person holds, or
 * POLICY_SESSION_DEFAULT if none says.
 */
#define POLICY_SESSION_DEFAULT	(12 * 60 * 60)
long policy_session_lifetime(const struct policy *p, const char *user,
    const char *const *groups, size_t ngroups);

/*
 * What user (with groups) holds, for the login answer and `mwg status`:
 * cb("role", name) for each role, cb("practice", code) for each practice
 * the person is a member of ("*" once if a role says practices *).
 */
typedef void (*policy_name_cb)(const char *kind, const char *name,
    void *arg);
void policy_user_access(const struct policy *p, const char *user,
    const char *const *groups, size_t ngroups, policy_name_cb cb, void *arg);

/* The longest max-age among posture profiles used by any role (seconds),
 * or 0 if none: clients send a new report when theirs is half as old. */
long policy_posture_max_age(const struct policy *p);

#endif
