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
int admin_code_list(int argc, char **argv);	/* admin/code.c: enrol-code */
int admin_code_withdraw(int argc, char **argv);	/* list, withdraw */
int admin_totp_list(int argc, char **argv);	/* admin/totp_list.c: totp */
int admin_totp_remove(int argc, char **argv);	/* list, remove */
int admin_throttle(int argc, char **argv);	/* admin/throttle.c: list,
						   clear */
int admin_drain(int argc, char **argv);		/* admin/drain.c */

/* ---- options and sub-commands (admin/usage.c) -------------------------- */

/* A sub-command: fn gets its own argv (argv[0] is its name). */
struct admin_cmd {
	const char	*name;
	int		(*fn)(int argc, char **argv);
};

/* "mwgctl: VERB: MESSAGE" (cut to 255 bytes), then usage, on stderr;
 * returns ADMIN_EXIT_USAGE. */
int admin_usage_error(const char *verb, const char *usage, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
/*
 * The usage error for what getopt_long just refused: ch ':' is an option
 * without its argument, anything else an unknown option (named from argv
 * at optind - 1). Returns ADMIN_EXIT_USAGE.
 */
int admin_bad_option(const char *verb, const char *usage, int ch,
    char **argv);
/*
 * The options of a verb that takes only --json and --help: sets *as_json,
 * prints help on stdout for --help (ADMIN_EXIT_OK), refuses others
 * (ADMIN_EXIT_USAGE); -1 to go on with the operands from optind.
 */
int admin_json_help(const char *verb, const char *help, const char *usage,
    int argc, char **argv, int *as_json);
/*
 * Runs the sub-command named by argv[1] with argv + 1; --help or -h
 * prints help on stdout (ADMIN_EXIT_OK); none or another word is a usage
 * error for verb. Returns the exit status.
 */
int admin_subcommand(const char *verb, const struct admin_cmd *cmds,
    size_t ncmds, const char *help, const char *usage, int argc, char **argv);
/*
 * The option opt's duration text (30m, 12h, 7d: the config files' parser)
 * in seconds into *out_s: 0, or -1 if malformed or not in min_s..max_s.
 */
int admin_duration(const char *opt, const char *text, long long min_s,
    long long max_s, long long *out_s);

/* ---- talking to mwgd (admin/control.c) ---------------------------------- */

#define ADMIN_CTL_DEFAULT	"/run/mwg/control"
/* mwgd's audit-control socket: audit query and export notes only. */
#define ADMIN_CTL_AUDIT_DEFAULT	"/run/mwg/audit-control"
#define ADMIN_REASON_MAX	200	/* bytes in a lock or revoke reason */
#define ADMIN_TIME_MAX		24	/* "YYYY-MM-DD HH:MM UTC" with NUL */

/*
 * A connection to mwgd's control socket at path, with send and receive
 * timeouts set; -1 with errno set. The caller closes it.
 */
int admin_ctl_connect(const char *path);
/*
 * Sends req (not consumed) on fd as one JSON line and reads the one answer
 * line: the decoded answer, which the caller json_decref()s, or NULL with
 * why in err ("no answer from mwgd: timed out", "no valid answer from
 * mwgd", "write to PATH: ..."). path only names the socket in err.
 */
json_t *admin_ctl_exchange(int fd, const char *path, json_t *req, char *err,
    size_t errlen);
/*
 * Both for mwgd's control socket ($MWG_CONTROL, else ADMIN_CTL_DEFAULT):
 * the decoded answer, or NULL if mwgd cannot be reached or its answer is
 * not JSON (one line printed on stderr).
 */
json_t *admin_ctl_call(json_t *req);
/*
 * Takes an answer (NULL passes through) and gives it back only when it is
 * an object that says "ok": true. Otherwise prints "mwgctl: VERB: ERROR"
 * (admin_ctl_refused, or admin_ctl_malformed for a non-object), frees it
 * and returns NULL.
 */
json_t *admin_ctl_answer(const char *verb, json_t *ans);
/*
 * admin_ctl_call() and admin_ctl_answer() for a verb: consumes req (NULL
 * is taken as a failure to build it).
 */
json_t *admin_ctl_request(const char *verb, json_t *req);
/*
 * admin_ctl_request(), then the answer shown: as indented JSON if as_json,
 * else by print (which returns the exit status). Returns the exit status.
 */
int admin_ctl_show(const char *verb, json_t *req, int as_json,
    int (*print)(json_t *ans));
/*
 * A list verb: takes only --json and --help (admin_json_help), asks mwgd
 * {"cmd": cmd} and shows the answer with print. Returns the exit status.
 */
int admin_ctl_list(const char *verb, const char *cmd, const char *help,
    const char *usage, int argc, char **argv, int (*print)(json_t *ans));
/* v as indented JSON and a line end on stdout. */
void admin_json_print(json_t *v);
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
