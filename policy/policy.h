/*
 * policy: what mwgd may reach and who may reach it. Pure: no network, no
 * globals. A loaded policy is immutable and may be shared between threads.
 *
 * policy.conf (docs/policy.md) defines sites, posture profiles, practices
 * and their targets, roles and members. A decision is default deny: the
 * first enforced role whose every condition holds allows.
 */
#ifndef MWG_POLICY_H
#define MWG_POLICY_H

#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "common/conf.h"

#define POLICY_NAME_MAX		64	/* target names and practice codes */
#define POLICY_TITLE_MAX	128	/* a practice's display name */

#define POLICY_HOST_MAX		254	/* a DNS name, 253 bytes, and NUL */

/* What a target is, so a client can open it with the right program. */
enum policy_kind {
	POLICY_KIND_TCP = 0,	/* unsaid: plain TCP */
	POLICY_KIND_WEB,	/* HTTPS, opened by its host name */
	POLICY_KIND_RDP,
	POLICY_KIND_SSH,
};

struct policy_target {
	char name[POLICY_NAME_MAX];		/* "emis" */
	char practice[POLICY_NAME_MAX];		/* ODS code, upper case */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_str[64];			/* "10.10.1.10:443" */
	enum policy_kind kind;
	char host[POLICY_HOST_MAX];		/* lower case; "" if unsaid */
};

/* "web", "rdp", "ssh" or "tcp". */
const char *policy_kind_name(enum policy_kind kind);

struct policy;

/*
 * Parses path (and its includes); NULL with every error (file:line:col:
 * what was expected) in errs. The caller frees with policy_free().
 */
struct policy *policy_load(const char *path, struct conf_errors *errs);
struct policy *policy_load_string(const char *name, const char *text,
    size_t len, struct conf_errors *errs);
void policy_free(struct policy *p);
/* SHA-256 over every file read (includes too), hex; for reload audits. */
const char *policy_hash(const struct policy *p);
size_t policy_target_count(const struct policy *p);

/* What a loaded policy holds, for `mwgctl policy check`. */
struct policy_counts {
	size_t practices, targets, sites, postures, roles, members;
};
void policy_counts(const struct policy *p, struct policy_counts *out);

/* The time zone hours are read in ("Europe/London"). Caller does not free. */
const char *policy_timezone(const struct policy *p);
/* A practice's display name ("" if none), or NULL if no such practice. */
const char *policy_practice_title(const struct policy *p, const char *code);
/* t in the policy's time zone, "Sun 2026-03-29 06:30 BST", into buf. */
char *policy_format_local(const struct policy *p, time_t t, char *buf,
    size_t len);
/*
 * "YYYY-MM-DD HH:MM" in the policy's time zone into *t. Returns 0; 1 if
 * the time happens twice (the clocks go back: *t is the earlier); -1 with
 * a reason in err if malformed, no such date, or skipped (clocks forward).
 */
int policy_parse_local(const struct policy *p, const char *s, time_t *t,
    char *err, size_t errlen);

/*
 * Finds "name.practice" (the practice code is matched case-insensitively).
 * Returns NULL if no such target is defined. Caller does not free.
 */
const struct policy_target *policy_find_target(const struct policy *p,
    const char *name, const char *practice);

/*
 * The target defined at exactly sa's address and port (IPv4, or IPv6 with
 * the same scope; an IPv4-mapped IPv6 address is not the IPv4 one). NULL
 * if none, and NULL too if more than one target is defined there (two
 * practices, or two names in one): an address cannot say which is meant,
 * and each may be granted to different people. A scan of every target:
 * for the occasional address-form request, not for every decision.
 */
const struct policy_target *policy_find_target_addr(const struct policy *p,
    const struct sockaddr *sa);

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

/*
 * Default deny: allow only when a role says so. Always fills out. Roles
 * are tried in file order, break-glass roles after the others and only
 * with req->break_glass; a deny names the role that came closest in its
 * reason. max_duration is the break-glass limit or the end of the role's
 * hours, whichever is sooner. Report-only roles never change allow.
 */
void policy_decide(const struct policy *p, const struct policy_request *req,
    struct policy_decision *out);

/*
 * The same decision, calling cb for every rule considered, in order, with
 * whether it applied and why (for `mwgctl policy explain`): "target",
 * "member", "role NAME" for every ordinary role and then "role NAME
 * (break-glass)" for every break-glass role until one allows,
 * "default-deny" on a deny, then "role NAME (report-only)" for each
 * report-only role.
 */
typedef void (*policy_explain_cb)(const char *rule, int applies,
    const char *why, void *arg);
void policy_explain(const struct policy *p, const struct policy_request *req,
    struct policy_decision *out, policy_explain_cb cb, void *arg);

/*
 * What req's person may reach (req's target_name, practice, port and
 * break_glass are ignored): every target, in (practice, name) order, that
 * policy_decide allows now, and then or else with a break-glass reason.
 * cb(target, only_break_glass, arg) for each; nothing for the others, so
 * a caller can tell the person no more than a CONNECT would. Two
 * decisions per target at most: the cost grows with the policy, not the
 * request. Returns how many were passed to cb.
 */
typedef void (*policy_reach_cb)(const struct policy_target *t,
    int only_break_glass, void *arg);
size_t policy_reachable(const struct policy *p,
    const struct policy_request *req, policy_reach_cb cb, void *arg);

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
