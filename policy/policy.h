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

/* What a decision is asked. Strings may be empty, never NULL. */
struct policy_request {
	const char *user;
	const char *device_id;
	const char *source_ip;
	const char *target_name;
	const char *practice;
	int port;
	time_t now;
};

struct policy_decision {
	int allow;
	const struct policy_target *target;	/* NULL if none matched */
	char rule[64];		/* the rule that decided */
	char reason[256];	/* for the person and the audit record */
};

/* Default deny: allow only when a rule says so. Always fills out. */
void policy_decide(const struct policy *p, const struct policy_request *req,
    struct policy_decision *out);

#endif
