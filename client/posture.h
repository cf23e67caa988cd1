/*
 * mwg's device posture: small collectors, one file each, that read what
 * the report needs (and nothing more) below a root directory, the JSON
 * they make together (the schema in gateway/posture.h), and the stamp of
 * the last report the gateway accepted (DIR/posture.json). Linux first;
 * a macOS or Windows collector is another file with the same interface.
 */
#ifndef MWG_CLIENT_POSTURE_H
#define MWG_CLIENT_POSTURE_H

#include <stddef.h>
#include <time.h>

#ifndef MWG_VERSION
#define MWG_VERSION	"0.1.0"		/* reported as client_version */
#endif

#define POSTURE_SCHEMA		1
#define POSTURE_TEXT_MAX	32	/* a string in the report: 1..31 + NUL */
#define POSTURE_AGE_MAX		36500	/* days, as the gateway allows */
#define POSTURE_COUNT_MAX	100000	/* pending updates, as the gateway allows */
#define POSTURE_FILE_MAX	(256 * 1024)	/* bytes read of any one file */
#define POSTURE_STAMP	"posture.json"	/* in the state directory */
#define POSTURE_MAX_AGE_DEFAULT	900	/* seconds, when the gateway says 0 */
#define POSTURE_PATH	"/v1/posture"

/* "unknown" is a value of its own and is never reported as yes. */
enum posture_tri {
	POSTURE_UNKNOWN = 0,
	POSTURE_NO,
	POSTURE_YES,
};

/* Everything the report holds: there is nowhere to put anything else. */
struct posture_report {
	char			os_id[POSTURE_TEXT_MAX];	/* "debian" */
	char			os_version[POSTURE_TEXT_MAX];	/* "12" */
	char			kernel[POSTURE_TEXT_MAX];
	enum posture_tri	disk_encryption;	/* the root filesystem */
	enum posture_tri	screen_lock;
	enum posture_tri	firewall;
	int			update_age_days;	/* -1: unknown */
	int			security_updates;	/* pending; -1: unknown */
	char			client_version[POSTURE_TEXT_MAX];
	time_t			collected_at;	/* also the collectors' "now" */
};

/*
 * One collector: fills its fields of r from files below root ("/" on a
 * live system, a fixture tree in tests) and leaves the others alone. Only
 * with root "/" may a collector look at the running system itself (uname,
 * nft). Returns 0, or -1 if it could not look at all (its fields stay
 * unknown); never fails the report.
 */
struct posture_collector {
	const char	*name;
	int		(*collect)(const char *root, struct posture_report *r);
};

int posture_collect_os(const char *root, struct posture_report *r);
int posture_collect_disk(const char *root, struct posture_report *r);
int posture_collect_screen(const char *root, struct posture_report *r);
int posture_collect_firewall(const char *root, struct posture_report *r);
int posture_collect_updates(const char *root, struct posture_report *r);
int posture_collect_security(const char *root, struct posture_report *r);

/* ---- the report (client/posture_report.c) ------------------------------ */

/* The collectors, in the order they run; *n gets how many. */
const struct posture_collector *posture_collectors(size_t *n);
/* Starts r: every fact unknown, the client version, collected_at = now. */
void posture_report_init(struct posture_report *r, time_t now);
/* Runs every collector below root on r (started by posture_report_init). */
void posture_collect(const char *root, struct posture_report *r);
/*
 * The report as the JSON that is sent (and that mwg posture --show
 * prints): indented, keys in schema order, ending in a newline. Caller
 * frees. NULL if r->collected_at cannot be written as a time (or out of
 * memory).
 */
char *posture_report_json(const struct posture_report *r, size_t *lenp);

/*
 * DIR/posture.json: {"sent_at": EPOCH, "max_age": SECONDS}, written after
 * each report the gateway accepted. A new report is due when there is no
 * usable stamp, or at or past half its max-age (POSTURE_MAX_AGE_DEFAULT if
 * the gateway gave none), or when sent_at is in the future (a clock that
 * went back). 1 if due, 0 if not.
 */
int posture_stamp_due(const char *text, size_t len, time_t now);
/* The stamp's text; max_age <= 0 is written as the default. Caller frees. */
char *posture_stamp_json(time_t sent_at, long long max_age);

/* ---- reading below the root (client/posture_file.c) -------------------- */

/* 1 if root is the running system ("/", "//"...), else 0. */
int posture_root_is_live(const char *root);
/* root joined with rel ("etc/os-release") into buf (PATH_MAX). 0 or -1. */
int posture_path(const char *root, const char *rel, char *buf, size_t len);
/*
 * root/rel read whole, NUL-terminated (length in *lenp if not NULL): a
 * regular file (or a /proc file, whose size says nothing) of at most
 * POSTURE_FILE_MAX bytes. Caller frees. NULL if missing, unreadable,
 * not a file or too large.
 */
char *posture_read(const char *root, const char *rel, size_t *lenp);
/* root/rel's modification time into *t. 0, or -1 if there is none. */
int posture_mtime(const char *root, const char *rel, time_t *t);
/*
 * The next line of text at *cursor (advanced past it), without its
 * newline, NUL-terminated in place; NULL at the end. Modifies the text.
 */
char *posture_next_line(char **cursor);
/*
 * A KEY=value line of a shell-style file (os-release, ufw.conf) into buf,
 * quotes removed; 1 found, 0 not (buf ""). Later lines win, as in a shell.
 */
int posture_shell_value(const char *text, const char *key, char *buf,
    size_t buflen);
/*
 * src as a report string: cut to POSTURE_TEXT_MAX - 1 bytes, anything
 * that is not printable ASCII made '?', "unknown" if empty.
 */
void posture_text(char dst[POSTURE_TEXT_MAX], const char *src);
/*
 * Runs argv[0] (an absolute path) with argv, no shell, stdin and stderr
 * on /dev/null, for at most timeout_ms; its standard output (at most
 * POSTURE_FILE_MAX bytes) into *outp if outp is not NULL (caller frees).
 * Returns its exit status, or -1 if it could not run, was killed or took
 * too long.
 */
int posture_run(char *const argv[], int timeout_ms, char **outp);

/* ---- the verb's network side (client/posture.c) ------------------------ */

struct client_device;

/*
 * For mwg login and mwg connect: posts a fresh report if DIR/posture.json
 * says one is due. Problems with the report are warnings on stderr ("mwg:
 * VERB: warning: ..."): the gateway decides what a missing report means.
 * But a 401, the gateway refusing the device certificate itself (e.g. a
 * revoked device), is said once as the verb's failure ("mwg: VERB:
 * REASON (401)") and returns -1: the caller stops there, since its own
 * request would be refused for the same reason (one message, not two).
 * Otherwise 0. Thread-safe (one post at a time).
 */
int posture_refresh(const struct client_device *dev, const char *verb);

#endif
