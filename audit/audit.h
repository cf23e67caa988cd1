/*
 * audit: the tamper-evident record of every decision the gateway makes.
 * JSON Lines in a hash chain with signed checkpoints (audit_format.h);
 * field names follow Elastic Common Schema where one exists (docs/audit.md).
 *
 * Writer: any thread queues records; one writer thread gives them their
 * sequence number, time and chain hash, writes them in groups and makes
 * each group durable with fdatasync before it reports them written.
 * Reader: verify, query, export and prune work on files (mwgctl).
 */
#ifndef MWG_AUDIT_H
#define MWG_AUDIT_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <sys/types.h>

#include <jansson.h>

#include "audit/audit_format.h"

#define AUDIT_RECORD_MAX	16384	/* bytes in one serialised record */
#define AUDIT_QUEUE_MAX		65536	/* records waiting for the writer */
#define AUDIT_NODE_NAME_MAX	64	/* bytes of observer.name (a host name) */

/*
 * 1 if s may name a gateway node in observer.name: 1 to
 * AUDIT_NODE_NAME_MAX characters of A-Z a-z 0-9 . - _, the first a
 * letter or a digit (so it needs no escaping in JSON, CSV or a terminal,
 * and a spreadsheet never takes it for a formula). Else 0.
 */
int audit_node_name_valid(const char *s);

/* ---- writer (mwgd) ------------------------------------------------------ */

struct audit_options {
	const char *path;		/* the live file */
	const char *key_path;		/* Ed25519 key, made at first start */
	unsigned checkpoint_records;	/* 0: 1000 */
	unsigned checkpoint_seconds;	/* 0: 10 */
	unsigned long long rotate_bytes; /* 0: never */
	unsigned rotate_seconds;	/* 0: never */
	/* The daemon's user: the live file (opened as root) and each new one
	 * after rotation are chowned to it on the descriptor. 0: leave. */
	uid_t owner;
	/* observer.name in every record, so that several nodes' trails can
	 * be told apart and merged (audit_node_name_valid); NULL: none, as
	 * records were before node names. */
	const char *node_name;
	/* Called on the writer thread after each durable group (e.g. to wake
	 * the syslog forwarder); must be quick and must not append. */
	void (*on_commit)(void *arg);
	void *on_commit_arg;
};

struct audit_log;

/*
 * Opens (creating 0640) the live file, recovers its chain (a torn last
 * line is moved to PATH.torn and recorded as audit.recover, never
 * dropped silently), takes an exclusive flock on it, loads or makes the
 * key, and starts the writer thread. NULL with a reason in err.
 */
struct audit_log *audit_open(const struct audit_options *o, char *err,
    size_t errlen);
/*
 * A log that another process writes: the network process's records go to
 * the monitor (gateway/ipc.h). append gets what audit_append,
 * audit_append_notify (done set) and audit_append_sync (sync 1) got, with
 * the same contract; stats (may be NULL) fills in the writer's numbers.
 */
struct audit_stats;
struct audit_remote {
	int (*append)(void *arg, const char *action, const char *outcome,
	    json_t *fields, void (*done)(void *, int), void *done_arg,
	    int sync);
	void (*stats)(void *arg, struct audit_stats *st);
};
struct audit_log *audit_open_remote(const struct audit_remote *ops,
    void *arg);

/* Writes a final checkpoint, makes everything durable, stops the thread. */
void audit_close(struct audit_log *log);

/*
 * Queues one record: event.action = action, event.outcome = outcome
 * ("success", "failure" or "unknown") plus fields (may be NULL; its
 * reference is taken, whatever the result). Returns 0 once queued — not
 * yet durable — or -1 if the log cannot take records (queue full, or the
 * last write failed, e.g. disk full): the caller must refuse whatever
 * needed the record.
 */
int audit_append(struct audit_log *log, const char *action,
    const char *outcome, json_t *fields);

/* Called on the writer thread once the record is durable (ok 1) or lost. */
typedef void (*audit_done_fn)(void *arg, int ok);

/* As audit_append; then done(arg, ok) exactly once if it returned 0. */
int audit_append_notify(struct audit_log *log, const char *action,
    const char *outcome, json_t *fields, audit_done_fn done, void *arg);

/* As audit_append, and waits until the record is durable: 0 or -1. Not
 * for worker threads (it blocks for an fdatasync). */
int audit_append_sync(struct audit_log *log, const char *action,
    const char *outcome, json_t *fields);

/* 1 while the log refuses records (a write or fdatasync failed). */
int audit_failed(struct audit_log *log);

/*
 * Called on the appending thread with every record offered to the log
 * (written or refused), before it is queued; fields are borrowed. For
 * counters that follow the decisions (gateway metrics). Set before the
 * first append; NULL removes it.
 */
typedef void (*audit_observer_fn)(void *arg, const char *action,
    const char *outcome, json_t *fields);
void audit_set_observer(struct audit_log *log, audit_observer_fn fn,
    void *arg);

/* The writer's counters since audit_open, for monitoring. */
#define AUDIT_FSYNC_BUCKETS 8	/* upper bounds in audit_fsync_bounds_us */
extern const unsigned long audit_fsync_bounds_us[AUDIT_FSYNC_BUCKETS];
struct audit_stats {
	unsigned long long written;	/* records made durable */
	unsigned long long refused;	/* refused (queue full, failed, ...) */
	unsigned long long lost;	/* queued, then lost to a failed write */
	unsigned long long queued;	/* waiting for the writer now */
	int failed;			/* refusing records now */
	unsigned long long fsyncs;	/* fdatasync calls */
	unsigned long long fsync_le[AUDIT_FSYNC_BUCKETS]; /* cumulative */
	double fsync_seconds;		/* their total duration */
};
void audit_stats_get(struct audit_log *log, struct audit_stats *st);

/*
 * Adds "event.reason" = reason (unless NULL) and every field of extra
 * (unless NULL; its reference is taken) to f; returns f.
 */
json_t *audit_fields_add(json_t *f, const char *reason, json_t *extra);

/* Now as RFC 3339 UTC with milliseconds into buf (>= 32 bytes). */
void audit_timestamp(char *buf, size_t len);

/* ---- reader (mwgctl; no daemon needed) ---------------------------------- */

struct audit_verify_result {
	int ok;
	char node[AUDIT_NODE_NAME_MAX + 1]; /* the records' observer.name
					       ("": none named a node) */
	char key_id[AUDIT_KEY_ID_HEX + 1];  /* the key checkpoints are
					       checked against ("": none
					       picked yet, of several) */
	unsigned long long records;	/* records read, all files */
	unsigned long long checkpoints;	/* with a valid signature */
	unsigned long long first_seq, last_seq;
	unsigned long long sealed_seq;	/* last record a checkpoint covers */
	unsigned long long bad_seq;	/* first bad record (0: none) */
	char bad_file[512];
	unsigned long long bad_line;
	char reason[256];		/* why it is bad, for a person */
};

/*
 * Verifies files given in chain order (oldest first) against the public
 * key: hashes, prev links, sequence, checkpoint signatures, torn lines.
 * Fills out; returns 0 if everything verifies, -1 otherwise.
 */
int audit_verify(const char *const *paths, size_t npaths,
    const struct audit_key *pub, struct audit_verify_result *out);

struct audit_filter {
	const char *user;	/* user.name */
	const char *practice;	/* organization.id */
	const char *event;	/* event.action, or a prefix ending in '.' */
	time_t since, until;	/* 0: open */
};

/*
 * "2026-11-25" (midnight UTC), "2026-11-25T10:00:00Z" (a fraction of a
 * second allowed) or with an offset "+01:00"; into UTC seconds. 0 or -1.
 */
int audit_parse_time(const char *s, time_t *t);

/* 1 if the record (one parsed line) passes the filter. */
int audit_filter_match(const struct audit_filter *f, json_t *record);

/*
 * Writes one CSV row (RFC 4180, CRLF) for record, or the header row for
 * NULL: seq, @timestamp, event.action, event.outcome, observer.name,
 * user.name,
 * device.id, organization.id, source.ip, destination.address,
 * destination.socket, rule.id, event.reason, network.bytes_up,
 * network.bytes_down, event.duration_ms, hash. A missing field is an
 * empty cell; text starting = + - @ tab or CR is quoted with a leading '.
 * The caller checks fp for errors.
 */
void audit_csv_row(FILE *fp, json_t *record);

/*
 * Removes whole records older than before from a rotated file (never the
 * live one: it is locked), keeping it verifiable: the kept part starts at
 * the last checkpoint at or before the cut. Writes a new file and renames
 * it into place. Returns the number of records removed, or -1 with err.
 */
long long audit_prune(const char *path, time_t before, char *err,
    size_t errlen);

/* ---- redaction and retention per practice (stubs: audit_format.h) ------ */

#define AUDIT_REDACTED_ACTION	"audit.redacted"
#define AUDIT_REDACT_REASON_MAX	256	/* bytes of a stub's reason */

/*
 * As audit_verify, and counts the redaction stubs it accepted in
 * *redacted (may be NULL). A stub proves a record stood at its place and
 * was removed; it cannot prove why, nor its own time or practice.
 */
int audit_verify2(const char *const *paths, size_t npaths,
    const struct audit_key *pub, struct audit_verify_result *out,
    unsigned long long *redacted);

/*
 * The stub that replaces rec (a parsed sealed record) with reason: a
 * compact JSON line without its '\n', keeping rec's seq, @timestamp,
 * organization.id (if it has one), prev and hash and nothing else.
 * Returns a string the caller must free, or NULL if rec lacks one of
 * those or reason is not UTF-8.
 */
char *audit_redaction_stub(json_t *rec, const char *reason);

/*
 * Replaces, in a rotated file (never the live one), every record whose
 * organization.id is practice (any case) and older than before with its
 * stub, stating reason (at most AUDIT_REDACT_REASON_MAX bytes).
 * Checkpoints and stubs are left alone; a record whose hash does not
 * match is refused, not laundered. Writes a new file and renames it into
 * place. Returns the number of records redacted, or -1 with err.
 */
long long audit_redact(const char *path, const char *practice, time_t before,
    const char *reason, char *err, size_t errlen);

/* One practice's retention; practice NULL is the default for the rest. */
struct audit_retention {
	const char *practice;		/* organization.id, any case */
	unsigned months;
	time_t cut;			/* out: records before it expire */
	long long redacted;		/* out: records redacted for it */
};

/* now less months calendar months (UTC), the day clamped to month end;
 * (time_t)-1 if out of range. */
time_t audit_months_before(time_t now, unsigned months);

/*
 * Applies retention to a rotated file as of now: prunes whole records
 * older than the longest retention (audit_prune), then redacts each
 * record older than its own practice's cut where that retention is
 * shorter; records without a listed organization.id follow the rule
 * whose practice is NULL, which must be given. Fills each rule's cut and
 * redacted and *removed. Returns 0, or -1 with err.
 */
int audit_retain(const char *path, struct audit_retention *rules,
    size_t nrules, time_t now, long long *removed, char *err, size_t errlen);

/* ---- several nodes (audit_nodes.c) -------------------------------------- */

/*
 * Each gateway node keeps its own chain (and, normally, its own key). A
 * verifier or an export given several nodes' files sorts them into one
 * chain per node, by the observer.name of each file's records:
 *   - a file's node is the observer.name of its last record that has one
 *     (else its first record's); a file with none was written before
 *     node names;
 *   - if the files name at most one node, they are all one chain, in the
 *     order given (a node's old files join its newer ones);
 *   - otherwise each node's files are its chain, in the order given, and
 *     files with no node name are one more chain of their own.
 */
struct audit_chain_files {
	char node[AUDIT_NODE_NAME_MAX + 1];	/* "": no node name */
	const char **paths;		/* borrowed from the caller's list */
	size_t npaths;
};

/*
 * Sorts paths into chains (above), in the order each node first appears.
 * Returns them, *nchains set (at least 1); the caller frees with
 * audit_chains_free. NULL with err if a file cannot be read.
 */
struct audit_chain_files *audit_chains_group(const char *const *paths,
    size_t npaths, size_t *nchains, char *err, size_t errlen);
void audit_chains_free(struct audit_chain_files *chains, size_t nchains);

/*
 * As audit_verify2 for one node's chain. Every record that names a node
 * must name c->node (unless c->node is ""). Checkpoints must be signed by
 * one of keys: the first checkpoint picks the key by its audit.key_id and
 * every later one must use that key too (one chain, one key). out->node
 * and out->key_id say what was found. 0 if the chain verifies, else -1.
 */
int audit_verify_chain(const struct audit_chain_files *c,
    const struct audit_key *const *keys, size_t nkeys,
    struct audit_verify_result *out, unsigned long long *redacted);

/* Reads several chains' records as one stream in time order. */
struct audit_merge;

struct audit_merge_item {
	json_t *rec;		/* the record; NULL: the line is not one */
	const char *line;	/* as read, with its '\n' if it had one */
	size_t len;
	size_t chain;		/* index into the chains given */
	const char *path;	/* the file and line it came from */
	unsigned long long lineno;
};

/*
 * A merge over chains (borrowed: they must outlive it). Each chain's
 * records keep their order in its files; between chains the next record
 * is the one with the earliest @timestamp (as the writer writes it: UTC,
 * fixed width, so text order is time order), then the lower node name
 * (observer.name, else the chain's), then the lower seq.
 */
struct audit_merge *audit_merge_new(const struct audit_chain_files *chains,
    size_t nchains);
/*
 * The next line: 1 with *it filled (valid until the next call), 0 when
 * every chain is done, -1 with err if a file cannot be opened or read.
 */
int audit_merge_next(struct audit_merge *m, struct audit_merge_item *it,
    char *err, size_t errlen);
/* Reads no more of chain i (e.g. once all its counted records are out). */
void audit_merge_stop(struct audit_merge *m, size_t chain);
void audit_merge_free(struct audit_merge *m);

#endif
