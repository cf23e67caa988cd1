/*
 * mwgctl: one function per top-level verb, each in its own file. Each takes
 * the verb's own argv (argv[0] is the verb) and returns the exit status:
 * 0 success, 1 refused or failed (one clear line on stderr), 2 bad usage.
 */
#ifndef MWG_ADMIN_H
#define MWG_ADMIN_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define ADMIN_EXIT_OK		0
#define ADMIN_EXIT_FAIL		1
#define ADMIN_EXIT_USAGE	2

int admin_ca(int argc, char **argv);		/* admin/ca.c */
int admin_policy(int argc, char **argv);	/* admin/policy.c */
int admin_control(int argc, char **argv);	/* admin/control.c: status,
						   sessions, kill, reload */
int admin_audit(int argc, char **argv);		/* admin/audit.c: verify,
						   query, export, prune */
int admin_totp(int argc, char **argv);		/* admin/totp.c: enrol,
						   import */
int admin_lock(int argc, char **argv);		/* admin/lock.c: lock, unlock,
						   lock list */
int admin_enrol_code(int argc, char **argv);	/* admin/device.c */
int admin_device(int argc, char **argv);	/* admin/device.c: list,
						   revoke */

/* ---- talking to mwgd (admin/control.c) ---------------------------------- */

#define ADMIN_CTL_DEFAULT	"/run/mwg/control"
#define ADMIN_REASON_MAX	200	/* bytes in a lock or revoke reason */
#define ADMIN_TIME_MAX		24	/* "YYYY-MM-DD HH:MM UTC" with NUL */

/*
 * Sends req (not consumed) as one JSON line to mwgd's control socket
 * ($MWG_CONTROL, else ADMIN_CTL_DEFAULT) and returns the decoded answer,
 * which the caller json_decref()s; NULL if mwgd cannot be reached or its
 * answer is not JSON (one line printed on stderr).
 */
json_t *admin_ctl_call(json_t *req);
/*
 * admin_ctl_call() for a verb: consumes req (NULL is taken as a failure to
 * build it) and returns the answer only when it says "ok": true. Otherwise
 * prints "mwgctl: VERB: ERROR" (admin_ctl_refused) and returns NULL.
 */
json_t *admin_ctl_request(const char *verb, json_t *req);
/* Prints "mwgctl: VERB: ERROR" for an answer with "ok": false; returns
 * ADMIN_EXIT_FAIL. An error that is missing or not text is said so. */
int admin_ctl_refused(const char *verb, json_t *ans);
/* "mwgctl: VERB: mwgd sent a malformed answer (WHAT)"; ADMIN_EXIT_FAIL. */
int admin_ctl_malformed(const char *verb, const char *what);

/* 0 if reason is 1..ADMIN_REASON_MAX bytes of printable ASCII, else -1
 * with "mwgctl: VERB: ..." printed on stderr. */
int admin_reason_check(const char *verb, const char *reason);
/* t as "YYYY-MM-DD HH:MM UTC" into buf (ADMIN_TIME_MAX bytes), or "-" for
 * t <= 0; returns buf. */
char *admin_time_text(time_t t, char *buf, size_t len);
/*
 * A text field of an answer, safe to put on a terminal: "-" when missing,
 * empty or not a string; otherwise s with any control or non-ASCII byte
 * shown as '?', cut to fit buf. Returns buf (or the "-" literal).
 */
const char *admin_field(json_t *obj, const char *key, char *buf, size_t len);

#endif
