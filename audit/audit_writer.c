/*
 * Audit writer: any thread queues records; one writer thread gives them
 * their sequence number, time and chain hash, writes each group with one
 * write and one fdatasync, and only then tells the callers (group commit).
 * Recovery at open is in audit_recover.c, rotation in audit_rotate.c.
 */
#include "audit/audit.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_writer_priv.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define AUDIT_REASON_CUT	1024	/* an over-long reason keeps this */
#define AUDIT_GROUP_FLUSH	(1024 * 1024)	/* write a group in pieces */
#define AUDIT_NAME_MAX		256	/* JSON text of action, outcome */
#define AUDIT_CKPT_RECORDS	1000
#define AUDIT_CKPT_SECONDS	10
#define AUDIT_RETRY_SECONDS	1	/* between tries after a failure */
#define AUDIT_LINGER_MS		20	/* records nobody waits for, at most */
#define AUDIT_LINGER_MAX	256	/* ... or until this many are queued */
#define AUDIT_ROTATE_BACKOFF	60	/* after a rotation that failed */
#define AUDIT_IDLE_WAKE_MS	60000	/* an idle writer looks again (clock jumps) */
#define AUDIT_TS_LEN		24	/* "2026-11-25T16:42:32.249Z" */
#define AUDIT_SEQ_DIGITS	20	/* of ULLONG_MAX */

#define DUMP_FLAGS	(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII)

/* The record's own keys; a caller's field of the same name is dropped
 * (a duplicate key would make the line fail verification). */
static const char *const reserved[] = {
	"seq", "@timestamp", "event.action", "event.outcome", "observer.name",
	"prev", "hash"
};
#define NRESERVED	(sizeof(reserved) / sizeof(reserved[0]))

/* The fixed text of a record, in order around its parts. */
#define REC_SEQ		"{\"seq\":"
#define REC_TS		",\"@timestamp\":\""
#define REC_ACTION	"\",\"event.action\":"
#define REC_OUTCOME	",\"event.outcome\":"
#define REC_NODE	",\"observer.name\":\""
#define REC_PREV	",\"prev\":\""
#define REC_HASH	",\"hash\":\""
#define SLEN(s)		(sizeof(s) - 1)

/* A sync caller's wait; lives on its stack. */
struct audit_wait {
	int done;
	int ok;
};

/*
 * A queued record, its parts already JSON text (made on the caller's
 * thread, so the writer only formats, hashes and writes).
 */
struct audit_entry {
	struct audit_entry *next;
	audit_done_fn done;		/* NULL: nobody to tell */
	void *arg;
	struct audit_wait *wait;	/* a sync caller's, or NULL */
	size_t alen, olen, flen;
	char text[];			/* action, outcome, fields' members */
};

/*
 * Where the chain stands: after the last durable record, or, while a
 * group is built, after its last record.
 */
struct audit_chain {
	unsigned long long seq;		/* of the last record */
	char prev[AUDIT_HASH_HEX + 1];	/* its hash */
	unsigned since_ckpt;		/* records since the last checkpoint */
	long long ckpt_at;		/* last checkpoint (mono_ms) */
	off_t off;			/* the live file's size */
	long long file_first;		/* its first record (wall_ms) */
	unsigned long long file_seq0;	/* its first record's seq (0: old) */
};

struct audit_log {
	/* A log whose records another process writes (audit_open_remote):
	 * every append goes to remote->append, nothing below is used. */
	const struct audit_remote *remote;
	void *remote_arg;

	char *path;
	struct audit_key *key;
	char key_id[AUDIT_KEY_ID_HEX + 1];
	unsigned ckpt_records, ckpt_seconds, rotate_seconds;
	void (*on_commit)(void *);	/* told after each durable group */
	void *on_commit_arg;
	unsigned long long rotate_bytes;
	uid_t owner;			/* of each new live file; 0: as made */
	char *node;			/* observer.name's value, or NULL */
	size_t node_len;

	pthread_t thread;
	pthread_mutex_t lock;		/* guards the fields down to "writer" */
	pthread_cond_t wake;		/* the writer: work, or stop */
	pthread_cond_t durable;		/* sync callers: their group is done */
	struct audit_entry *head, **tailp;
	size_t queued;
	int failed;			/* refusing records */
	int stopping;
	long long full_logged;		/* second queue full was said */
	unsigned long long refused;	/* records refused since last said */

	/* writer: the thread, or audit_open before it starts */
	int fd;
	struct audit_chain chain;	/* at the last durable record */
	char *buf;			/* the group being written */
	size_t len, cap;
	int gerr;			/* errno of the group's failure */
	time_t failed_at;		/* wall clock, for audit.resume */
	long long retry_at, rotate_at;	/* next try (mono_ms) */
	unsigned long long lost;	/* records lost while failed */
	char body[AUDIT_RECORD_MAX];	/* one record before sealing */

	/* monitoring: written by the writer (and enqueue), read by anyone */
	audit_observer_fn observe;
	void *observe_arg;
	atomic_ullong n_written, n_refused, n_lost, n_fsyncs, fsync_us;
	atomic_ullong fsync_le[AUDIT_FSYNC_BUCKETS];
};

/* fdatasync latency buckets: 0.5 ms to 1 s, then +Inf. */
const unsigned long audit_fsync_bounds_us[AUDIT_FSYNC_BUCKETS] = {
	500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000,
};

/*
 * Milliseconds on the wall clock: a file's age counts from its records'
 * times, which are wall clock.
 */
static long long
wall_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("clock_gettime");
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Microseconds on the monotonic clock, for fdatasync timing. */
static long long
mono_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Milliseconds on the monotonic clock, for the writer's timers. */
static long long
mono_ms(void)
{
	return mono_us() / 1000;
}

void
audit_timestamp(char *buf, size_t len)
{
	/*
	 * The date and second change once a second: format them only then
	 * (per thread, so callers need no lock).
	 */
	static _Thread_local time_t last = -1;
	static _Thread_local char date[32];	/* "2026-11-25T16:42:32." */
	struct timespec ts;
	struct tm tm;
	long ms;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("audit: cannot read the time");
	if (ts.tv_sec != last) {
		if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
		    snprintf(date, sizeof(date), "%04d-%02d-%02dT%02d:%02d:"
		    "%02d.", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min, tm.tm_sec) != AUDIT_TS_LEN - 4)
			fatalx("audit: the time is out of range");
		last = ts.tv_sec;
	}
	if (len < AUDIT_TS_LEN + 1) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	ms = ts.tv_nsec / 1000000;
	memcpy(buf, date, AUDIT_TS_LEN - 4);
	buf[AUDIT_TS_LEN - 4] = (char)('0' + ms / 100);
	buf[AUDIT_TS_LEN - 3] = (char)('0' + ms / 10 % 10);
	buf[AUDIT_TS_LEN - 2] = (char)('0' + ms % 10);
	buf[AUDIT_TS_LEN - 1] = 'Z';
	buf[AUDIT_TS_LEN] = '\0';
}

/* ---- records into queue form (caller's thread) ------------------------- */

/*
 * The longest line a record of these parts can make (seq at its widest,
 * and room for the longest node name, whatever the log's is).
 */
static size_t
record_len(size_t alen, size_t olen, size_t flen)
{
	return SLEN(REC_SEQ) + AUDIT_SEQ_DIGITS + SLEN(REC_TS) +
	    AUDIT_TS_LEN + SLEN(REC_ACTION) + alen + SLEN(REC_OUTCOME) +
	    olen + SLEN(REC_NODE) + AUDIT_NODE_NAME_MAX + SLEN("\"") +
	    (flen ? flen + 1 : 0) + SLEN(REC_PREV) + AUDIT_HASH_HEX +
	    SLEN("\"") + SLEN(REC_HASH) + AUDIT_HASH_HEX + SLEN("\"}\n");
}

/* s as a JSON string into out; its length, 0 if it cannot be one. */
static size_t
json_name(const char *s, char *out, size_t size)
{
	size_t n = strlen(s), i;
	json_t *j;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ||
		    s[i] == '"' || s[i] == '\\')
			break;
	if (i == n && n + 2 <= size) {	/* the usual "tunnel.open" */
		out[0] = '"';
		memcpy(out + 1, s, n);
		out[n + 1] = '"';
		return n + 2;
	}
	if ((j = json_string(s)) == NULL)
		return 0;		/* not UTF-8 */
	n = json_dumpb(j, out, size, DUMP_FLAGS | JSON_ENCODE_ANY);
	json_decref(j);
	return n > size ? 0 : n;
}

/*
 * Dumps fields without the reserved keys; the length it needs (may be
 * more than size: then buf holds nothing usable), 0 on error.
 */
static size_t
fields_dump(json_t *fields, char *buf, size_t size)
{
	json_t *copy = NULL;
	size_t n;

	for (size_t i = 0; i < NRESERVED; i++) {
		if (json_object_get(fields, reserved[i]) == NULL)
			continue;
		/* The caller may share fields: drop keys from a copy. */
		if (copy == NULL && (copy = json_copy(fields)) == NULL)
			fatalx("audit: out of memory");
		if (json_object_del(copy, reserved[i]) == -1)
			fatalx("audit: json_object_del");
	}
	n = json_dumpb(copy ? copy : fields, buf, size, DUMP_FLAGS);
	json_decref(copy);
	return n;
}

/* fields with event.reason cut to AUDIT_REASON_CUT bytes, or NULL. */
static json_t *
reason_cut(json_t *fields)
{
	json_t *r = json_object_get(fields, "event.reason"), *copy;
	char text[AUDIT_REASON_CUT + 64];
	size_t len, keep = AUDIT_REASON_CUT;
	int n;

	if (!json_is_string(r) || (len = json_string_length(r)) <= keep)
		return NULL;
	/* Never split a UTF-8 sequence: the result must stay a string. */
	while (keep > 0 && (json_string_value(r)[keep] & 0xc0) == 0x80)
		keep--;
	memcpy(text, json_string_value(r), keep);
	n = snprintf(text + keep, sizeof(text) - keep, "... (%zu bytes cut)",
	    len - keep);
	if ((copy = json_copy(fields)) == NULL)
		fatalx("audit: out of memory");
	if (n < 0 || json_object_set_new(copy, "event.reason",
	    json_stringn(text, keep + (size_t)n)) == -1) {
		json_decref(copy);
		return NULL;
	}
	return copy;
}

/*
 * The fields' JSON object text into buf (size AUDIT_RECORD_MAX), made to
 * fit a record: an over-long event.reason is cut once; if that is not
 * enough the record keeps only a reason saying how large it was. Never
 * drops the record. Returns the text's length.
 */
static size_t
fields_fit(json_t *fields, size_t alen, size_t olen, char *buf, size_t size)
{
	size_t n, full;
	json_t *cut;
	int m;

	n = fields_dump(fields, buf, size);
	if (n >= 2 && record_len(alen, olen, n - 2) <= AUDIT_RECORD_MAX)
		return n;
	full = record_len(alen, olen, n >= 2 ? n - 2 : 0);
	if ((cut = reason_cut(fields)) != NULL) {
		n = fields_dump(cut, buf, size);
		json_decref(cut);
		if (n >= 2 && record_len(alen, olen, n - 2) <= AUDIT_RECORD_MAX)
			return n;
	}
	log_warnx("audit: a record of %zu bytes is too large; written with "
	    "its action and outcome only", full);
	m = snprintf(buf, size, "{\"event.reason\":\"record too large (%zu "
	    "bytes)\"}", full);
	return m < 0 ? 0 : (size_t)m;
}

/*
 * Turns a caller's record into queue form, on the caller's thread so
 * that the work spreads over them. Takes fields' reference. NULL if it
 * cannot be a record at all (a bad action or outcome: a bug).
 */
static struct audit_entry *
entry_new(const char *action, const char *outcome, json_t *fields)
{
	char a[AUDIT_NAME_MAX], o[AUDIT_NAME_MAX], f[AUDIT_RECORD_MAX];
	size_t alen = 0, olen = 0, flen = 0;
	struct audit_entry *e;

	if (action == NULL || outcome == NULL ||
	    (alen = json_name(action, a, sizeof(a))) == 0 ||
	    (olen = json_name(outcome, o, sizeof(o))) == 0 ||
	    record_len(alen, olen, 0) > AUDIT_RECORD_MAX) {
		log_warnx("audit: record refused: bad action or outcome");
		json_decref(fields);
		return NULL;
	}
	if (fields != NULL && !json_is_object(fields))
		log_warnx("audit: %s: fields are not an object; written "
		    "without them", action);
	else if (fields != NULL)
		flen = fields_fit(fields, alen, olen, f, sizeof(f));
	json_decref(fields);
	flen = flen > 2 ? flen - 2 : 0;	/* the members, without braces */
	e = xmalloc(sizeof(*e) + alen + olen + flen);
	e->next = NULL;
	e->done = NULL;
	e->arg = NULL;
	e->wait = NULL;
	e->alen = alen;
	e->olen = olen;
	e->flen = flen;
	memcpy(e->text, a, alen);
	memcpy(e->text + alen, o, olen);
	memcpy(e->text + alen + olen, f + 1, flen);
	return e;
}

/* ---- the queue (any thread) --------------------------------------------- */

/* Queues e (taking it); with w, waits until its group is done. */
static int
enqueue(struct audit_log *log, struct audit_entry *e, struct audit_wait *w)
{
	int rc = 0, say_full = 0;
	long long now;

	if (e == NULL)
		return -1;
	e->wait = w;
	pthread_mutex_lock(&log->lock);
	if (log->failed || log->stopping || log->queued >= AUDIT_QUEUE_MAX) {
		log->refused++;
		if (!log->failed && !log->stopping &&
		    (now = mono_ms() / 1000) != log->full_logged) {
			log->full_logged = now;	/* at most once a second */
			say_full = 1;
		}
		pthread_mutex_unlock(&log->lock);
		atomic_fetch_add_explicit(&log->n_refused, 1,
		    memory_order_relaxed);
		if (say_full)
			log_warnx("audit: %s: %d records wait to be written; "
			    "refusing more", log->path, AUDIT_QUEUE_MAX);
		free(e);
		return -1;
	}
	*log->tailp = e;
	log->tailp = &e->next;
	/* Wake the writer for the first record, and for one somebody waits
	 * for (the writer may be lingering over records nobody waits for). */
	if (log->queued++ == 0 || e->done != NULL || w != NULL)
		pthread_cond_signal(&log->wake);
	while (w != NULL && !w->done)
		pthread_cond_wait(&log->durable, &log->lock);
	if (w != NULL && !w->ok)
		rc = -1;
	pthread_mutex_unlock(&log->lock);
	return rc;
}

/* Every offered record passes here first, for the observer's counters. */
static struct audit_entry *
entry_offer(struct audit_log *log, const char *action, const char *outcome,
    json_t *fields)
{
	if (log->observe != NULL)
		log->observe(log->observe_arg, action, outcome, fields);
	return entry_new(action, outcome, fields);
}

int
audit_append(struct audit_log *log, const char *action, const char *outcome,
    json_t *fields)
{
	if (log->remote)
		return log->remote->append(log->remote_arg, action, outcome,
		    fields, NULL, NULL, 0);
	return enqueue(log, entry_offer(log, action, outcome, fields), NULL);
}

int
audit_append_notify(struct audit_log *log, const char *action,
    const char *outcome, json_t *fields, audit_done_fn done, void *arg)
{
	struct audit_entry *e;

	if (log->remote)
		return log->remote->append(log->remote_arg, action, outcome,
		    fields, done, arg, 0);
	e = entry_offer(log, action, outcome, fields);

	if (e != NULL) {
		e->done = done;
		e->arg = arg;
	}
	return enqueue(log, e, NULL);
}

int
audit_append_sync(struct audit_log *log, const char *action,
    const char *outcome, json_t *fields)
{
	struct audit_wait w = { 0, 0 };

	if (log->remote)
		return log->remote->append(log->remote_arg, action, outcome,
		    fields, NULL, NULL, 1);
	return enqueue(log, entry_offer(log, action, outcome, fields), &w);
}

void
audit_set_observer(struct audit_log *log, audit_observer_fn fn, void *arg)
{
	log->observe = fn;
	log->observe_arg = arg;
}

void
audit_stats_get(struct audit_log *log, struct audit_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (log->remote) {
		if (log->remote->stats)
			log->remote->stats(log->remote_arg, st);
		return;
	}
	pthread_mutex_lock(&log->lock);
	st->queued = log->queued;
	st->failed = log->failed;
	pthread_mutex_unlock(&log->lock);
	st->written = atomic_load(&log->n_written);
	st->refused = atomic_load(&log->n_refused);
	st->lost = atomic_load(&log->n_lost);
	st->fsyncs = atomic_load(&log->n_fsyncs);
	st->fsync_seconds = (double)atomic_load(&log->fsync_us) / 1e6;
	for (int i = 0; i < AUDIT_FSYNC_BUCKETS; i++)
		st->fsync_le[i] = atomic_load(&log->fsync_le[i]);
}

int
audit_failed(struct audit_log *log)
{
	int failed;

	if (log->remote)
		return 0;	/* the monitor refuses what it cannot write */
	pthread_mutex_lock(&log->lock);
	failed = log->failed;
	pthread_mutex_unlock(&log->lock);
	return failed;
}

/*
 * Tells a group's callers how it went: callbacks first, in order, so that
 * a sync caller knows every earlier record's callback has run; then the
 * sync callers, whose waits are not touched once they are woken.
 */
static void
entries_finish(struct audit_log *log, struct audit_entry *batch, int ok)
{
	struct audit_entry *e, *next;
	int waiters = 0;

	for (e = batch; e != NULL; e = e->next) {
		if (e->done != NULL)
			e->done(e->arg, ok);
		waiters |= e->wait != NULL;
	}
	if (waiters) {
		pthread_mutex_lock(&log->lock);
		for (e = batch; e != NULL; e = e->next)
			if (e->wait != NULL) {
				e->wait->ok = ok;
				e->wait->done = 1;
			}
		pthread_cond_broadcast(&log->durable);
		pthread_mutex_unlock(&log->lock);
	}
	for (e = batch; e != NULL; e = next) {
		next = e->next;
		if (!ok)
			log->lost++;
		atomic_fetch_add_explicit(ok ? &log->n_written : &log->n_lost, 1,
		    memory_order_relaxed);
		free(e);
	}
}

/* ---- groups (writer) ----------------------------------------------------- */

/* Writes out what the group holds so far; the group fails on error. */
static void
group_flush(struct audit_log *log)
{
	if (log->gerr == 0 && log->len > 0 &&
	    fd_write_all(log->fd, log->buf, log->len) == -1)
		log->gerr = errno;
	log->len = 0;
}

/* Appends len bytes at b + n; the new length. record_len bounds them. */
static size_t
put(char *b, size_t n, const void *p, size_t len)
{
	memcpy(b + n, p, len);
	return n + len;
}

static size_t
put_ull(char *b, size_t n, unsigned long long v)
{
	char d[AUDIT_SEQ_DIGITS];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return put(b, n, d + i, sizeof(d) - i);
}

/*
 * The record after st, before sealing, into b: its length. The node's
 * name is inside the hashed body, so it cannot be changed unseen.
 */
static size_t
record_body(const struct audit_log *log, char *b, const struct audit_chain *st,
    const char *a, size_t alen, const char *o, size_t olen, const char *f,
    size_t flen)
{
	char ts[32];
	size_t n;

	audit_timestamp(ts, sizeof(ts));
	n = put(b, 0, REC_SEQ, SLEN(REC_SEQ));
	n = put_ull(b, n, st->seq + 1);
	n = put(b, n, REC_TS, SLEN(REC_TS));
	n = put(b, n, ts, AUDIT_TS_LEN);
	n = put(b, n, REC_ACTION, SLEN(REC_ACTION));
	n = put(b, n, a, alen);
	n = put(b, n, REC_OUTCOME, SLEN(REC_OUTCOME));
	n = put(b, n, o, olen);
	if (log->node != NULL) {
		n = put(b, n, REC_NODE, SLEN(REC_NODE));
		n = put(b, n, log->node, log->node_len);
		n = put(b, n, "\"", 1);
	}
	if (flen > 0) {
		n = put(b, n, ",", 1);
		n = put(b, n, f, flen);
	}
	n = put(b, n, REC_PREV, SLEN(REC_PREV));
	n = put(b, n, st->prev, AUDIT_HASH_HEX);
	return put(b, n, "\"}", 2);
}

/* Formats one record after st, seals it into the group, advances st. */
static void
group_put(struct audit_log *log, struct audit_chain *st, const char *a,
    size_t alen, const char *o, size_t olen, const char *f, size_t flen)
{
	size_t n, line;

	if (log->gerr != 0)
		return;
	if (record_len(alen, olen, flen) > sizeof(log->body)) {
		log->gerr = EOVERFLOW;	/* entry_new prevents it */
		return;
	}
	n = record_body(log, log->body, st, a, alen, o, olen, f, flen);
	if (log->cap - log->len < n + AUDIT_SEAL_EXTRA) {
		log->cap = log->len + n + AUDIT_SEAL_EXTRA + AUDIT_GROUP_FLUSH;
		log->buf = xreallocarray(log->buf, 1, log->cap);
	}
	if ((line = audit_seal(log->body, n, log->buf + log->len,
	    log->cap - log->len, st->prev)) == 0) {
		log->gerr = EINVAL;
		return;
	}
	log->len += line;
	st->seq++;
	st->since_ckpt++;
	st->off += (off_t)line;
	if (log->len >= AUDIT_GROUP_FLUSH)
		group_flush(log);
}

static void
group_put_entry(struct audit_log *log, struct audit_chain *st,
    const struct audit_entry *e)
{
	group_put(log, st, e->text, e->alen, e->text + e->alen, e->olen,
	    e->text + e->alen + e->olen, e->flen);
}

/* A checkpoint: signs every record up to st, so they verify as a whole. */
static void
group_checkpoint(struct audit_log *log, struct audit_chain *st)
{
	char text[128], sig[AUDIT_SIG_B64_MAX], f[256];
	size_t tlen;
	int flen;

	tlen = audit_checkpoint_text(text, sizeof(text), st->seq, st->prev);
	if (tlen == 0 || audit_key_sign(log->key, text, tlen, sig) == -1) {
		log_warnx("audit: cannot sign a checkpoint after record %llu",
		    st->seq);
		return;		/* the records still chain; a later one signs */
	}
	flen = snprintf(f, sizeof(f), "\"audit.key_id\":\"%s\","
	    "\"audit.signature\":\"%s\"", log->key_id, sig);
	if (flen < 0 || (size_t)flen >= sizeof(f))
		return;
	group_put(log, st, "\"audit.checkpoint\"",
	    SLEN("\"audit.checkpoint\""), "\"success\"", SLEN("\"success\""),
	    f, (size_t)flen);
	st->since_ckpt = 0;
	st->ckpt_at = mono_ms();
}

/*
 * Starts a group after the durable chain; a new file opens with a
 * checkpoint, so that it verifies on its own.
 */
static void
group_begin(struct audit_log *log, struct audit_chain *st)
{
	*st = log->chain;
	log->len = 0;
	log->gerr = 0;
	if (st->off != 0)
		return;
	st->file_first = wall_ms();
	st->file_seq0 = st->seq + 1;
	if (st->seq > 0)
		group_checkpoint(log, st);
}

/*
 * Makes the group durable and the chain's new state. On failure cuts the
 * file back to the last durable record (no partial line stays) and
 * returns -1 with errno; the chain stays where it was.
 */
/* fdatasync, timed for the latency histogram. */
static int
timed_fdatasync(struct audit_log *log)
{
	long long t0 = mono_us(), us;
	int rc = fdatasync(log->fd);

	us = mono_us() - t0;
	atomic_fetch_add_explicit(&log->n_fsyncs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&log->fsync_us, (unsigned long long)us,
	    memory_order_relaxed);
	for (int i = 0; i < AUDIT_FSYNC_BUCKETS; i++)
		if ((unsigned long long)us <= audit_fsync_bounds_us[i])
			atomic_fetch_add_explicit(&log->fsync_le[i], 1,
			    memory_order_relaxed);
	return rc;
}

static int
group_commit(struct audit_log *log, const struct audit_chain *st)
{
	group_flush(log);
	if (log->gerr == 0 && timed_fdatasync(log) == -1)
		log->gerr = errno;
	if (log->gerr != 0) {
		if (ftruncate(log->fd, log->chain.off) == -1)
			log_warn("audit: cannot cut %s back to %lld bytes",
			    log->path, (long long)log->chain.off);
		errno = log->gerr;
		return -1;
	}
	log->chain = *st;
	if (log->on_commit)
		log->on_commit(log->on_commit_arg);
	return 0;
}

static int
ckpt_due(const struct audit_log *log, const struct audit_chain *st)
{
	return st->since_ckpt > 0 &&
	    mono_ms() - st->ckpt_at >= 1000LL * log->ckpt_seconds;
}

/* ---- the writer thread -------------------------------------------------- */

/* From now on records are refused, until a retry writes again. */
static void
writer_fail(struct audit_log *log, int err)
{
	pthread_mutex_lock(&log->lock);
	log->failed = 1;
	pthread_mutex_unlock(&log->lock);
	log->failed_at = time(NULL);
	log->retry_at = mono_ms() + 1000 * AUDIT_RETRY_SECONDS;
	log_warnx("audit: cannot write %s: %s; refusing work that needs a "
	    "record", log->path, strerror(err));
}

/* Writes one group: every record queued when the writer woke. */
static void
writer_group(struct audit_log *log, struct audit_entry *batch)
{
	struct audit_chain st;
	int ok;

	if (log->failed) {	/* queued just before the failure */
		entries_finish(log, batch, 0);
		return;
	}
	group_begin(log, &st);
	for (struct audit_entry *e = batch; e != NULL; e = e->next) {
		group_put_entry(log, &st, e);
		if (st.since_ckpt >= log->ckpt_records)
			group_checkpoint(log, &st);
	}
	if (ckpt_due(log, &st))
		group_checkpoint(log, &st);
	if (!(ok = group_commit(log, &st) == 0))
		writer_fail(log, errno);
	entries_finish(log, batch, ok);
}

/* After a failure: tries to write again, saying how long it could not. */
static void
writer_retry(struct audit_log *log)
{
	struct audit_chain st;
	struct audit_entry *e;
	char reason[128];
	long secs = (long)(time(NULL) - log->failed_at);

	log->retry_at = mono_ms() + 1000 * AUDIT_RETRY_SECONDS;
	/* A cut that failed before would leave a partial line. */
	if (ftruncate(log->fd, log->chain.off) == -1)
		return;
	snprintf(reason, sizeof(reason), "writing failed for %ld s; %llu "
	    "records lost", secs, log->lost);
	e = entry_new("audit.resume", "success", json_pack("{s:s, s:I}",
	    "event.reason", reason, "audit.lost_records",
	    (json_int_t)log->lost));
	if (e == NULL)
		return;
	group_begin(log, &st);
	group_put_entry(log, &st, e);
	free(e);
	if (group_commit(log, &st) == -1)
		return;
	pthread_mutex_lock(&log->lock);
	log->failed = 0;
	pthread_mutex_unlock(&log->lock);
	log_info("audit: writing %s again after %ld s; %llu records were "
	    "lost", log->path, secs, log->lost);
	log->lost = 0;
}

static int
rotate_due(const struct audit_log *log)
{
	const struct audit_chain *c = &log->chain;

	if (c->off == 0 || mono_ms() < log->rotate_at)
		return 0;
	if (log->rotate_bytes && (unsigned long long)c->off >= log->rotate_bytes)
		return 1;
	/* By age only with records beyond the file's opening checkpoint. */
	return log->rotate_seconds && c->seq > c->file_seq0 &&
	    wall_ms() - c->file_first >= 1000LL * log->rotate_seconds;
}

/*
 * Seals the file with a checkpoint, renames it aside, and opens the new
 * one with a checkpoint that continues the chain.
 */
static void
writer_rotate(struct audit_log *log)
{
	struct audit_chain st;
	char err[512];

	if (log->chain.since_ckpt > 0) {
		group_begin(log, &st);
		group_checkpoint(log, &st);
		if (group_commit(log, &st) == -1) {
			writer_fail(log, errno);
			return;
		}
	}
	if (audit_rotate_file(log->path, log->owner, &log->fd, err,
	    sizeof(err)) == -1) {
		log_warnx("audit: cannot rotate %s: %s; trying again in %d s",
		    log->path, err, AUDIT_ROTATE_BACKOFF);
		log->rotate_at = mono_ms() + 1000 * AUDIT_ROTATE_BACKOFF;
		return;
	}
	log->chain.off = 0;
	group_begin(log, &st);
	if (group_commit(log, &st) == -1)
		writer_fail(log, errno);
}

/* What is due by time: a retry, a checkpoint, a rotation. */
static void
writer_timers(struct audit_log *log)
{
	struct audit_chain st;

	if (log->failed) {
		if (mono_ms() >= log->retry_at)
			writer_retry(log);
		return;
	}
	if (ckpt_due(log, &log->chain)) {
		group_begin(log, &st);
		group_checkpoint(log, &st);
		if (group_commit(log, &st) == -1) {
			writer_fail(log, errno);
			return;
		}
	}
	if (rotate_due(log))
		writer_rotate(log);
}

/* A clean stop ends in a checkpoint that seals everything written. */
static void
writer_stop(struct audit_log *log)
{
	struct audit_chain st;

	if (log->failed)
		writer_retry(log);
	if (log->failed || log->chain.since_ckpt == 0)
		return;
	group_begin(log, &st);
	group_checkpoint(log, &st);
	if (group_commit(log, &st) == -1)
		log_warn("audit: cannot write the final checkpoint to %s",
		    log->path);
}

/* 1 if someone waits for an entry of the queue to be durable. */
static int
queue_has_waiter(const struct audit_log *log)
{
	for (const struct audit_entry *e = log->head; e; e = e->next)
		if (e->done != NULL || e->wait != NULL)
			return 1;
	return 0;
}

/*
 * Records nobody waits for (tunnel.close, tunnel.deny) may wait a little
 * for company: they ride on the next group that must be durable now, or
 * go after AUDIT_LINGER_MS, which saves an fdatasync per tunnel under
 * load. A record somebody waits for is never held back. Called locked.
 */
static void
linger(struct audit_log *log)
{
	struct timespec until;

	if (log->head == NULL || log->stopping || queue_has_waiter(log) ||
	    log->queued >= AUDIT_LINGER_MAX ||
	    clock_gettime(CLOCK_MONOTONIC, &until) == -1)
		return;
	until.tv_nsec += AUDIT_LINGER_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!log->stopping && !queue_has_waiter(log) &&
	    log->queued < AUDIT_LINGER_MAX)
		if (pthread_cond_timedwait(&log->wake, &log->lock, &until) ==
		    ETIMEDOUT)
			break;
}

static struct audit_entry *
entry_prepend_dropped(struct audit_entry *batch, unsigned long long n)
{
	struct audit_entry *e = entry_new("audit.dropped", "failure",
	    json_pack("{s:I, s:s}", "audit.dropped_records", (json_int_t)n,
	    "event.reason", "records refused: the writer's queue was full or "
	    "writing had failed"));

	if (e == NULL)
		return batch;
	e->next = batch;
	return e;
}

/*
 * When the writer must wake with nothing queued (monotonic ms): the next
 * retry, checkpoint or rotation by age, or a minute from now at most, so
 * an idle gateway's writer does not wake every second for nothing.
 */
static long long
writer_next_wake(const struct audit_log *log)
{
	const struct audit_chain *c = &log->chain;
	long long now = mono_ms(), at = now + AUDIT_IDLE_WAKE_MS, age;

	if (log->failed)
		return log->retry_at < at ? log->retry_at : at;
	if (c->since_ckpt > 0 && c->ckpt_at + 1000LL * log->ckpt_seconds < at)
		at = c->ckpt_at + 1000LL * log->ckpt_seconds;
	if (log->rotate_seconds && c->seq > c->file_seq0) {
		/* The file's age is wall time: its deadline, in monotonic. */
		age = now + c->file_first + 1000LL * log->rotate_seconds -
		    wall_ms();
		if (age < log->rotate_at)
			age = log->rotate_at;	/* a failed one backs off */
		if (age < at)
			at = age;
	}
	/*
	 * Every deadline was serviced just before this wait, so one still
	 * past is a retry that failed (a checkpoint that could not be
	 * signed): again in a second, not in a loop.
	 */
	if (at <= now)
		at = now + 1000;
	return at;
}

static void
ms_to_timespec(long long ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

static void *
writer_main(void *arg)
{
	struct audit_log *log = arg;
	struct audit_entry *batch;
	struct timespec until;
	unsigned long long refused;
	int stop;

	for (;;) {
		ms_to_timespec(writer_next_wake(log), &until);
		pthread_mutex_lock(&log->lock);
		/* Records refused while writing failed are counted at once
		 * after it resumes, not at the next timer. */
		while (log->head == NULL && !log->stopping &&
		    !(log->refused && !log->failed))
			if (pthread_cond_timedwait(&log->wake, &log->lock,
			    &until) == ETIMEDOUT)
				break;
		linger(log);
		batch = log->head;
		log->head = NULL;
		log->tailp = &log->head;
		log->queued = 0;
		refused = log->failed ? 0 : log->refused;
		if (refused)
			log->refused = 0;
		stop = log->stopping && batch == NULL;
		pthread_mutex_unlock(&log->lock);
		/* Refused records leave a trace: how many, right where they
		 * were lost (the writer is the only one who can say it). */
		if (refused)
			batch = entry_prepend_dropped(batch, refused);
		if (batch != NULL)
			writer_group(log, batch);
		if (stop)
			break;
		writer_timers(log);
	}
	writer_stop(log);
	return NULL;
}

/* ---- open and close ------------------------------------------------------ */

static struct audit_log *
log_new(const struct audit_options *o, struct audit_key *key, int fd,
    const struct audit_tail *t)
{
	struct audit_log *log = xcalloc(1, sizeof(*log));
	pthread_condattr_t ca;

	log->path = xstrdup(o->path);
	log->key = key;
	audit_key_id(key, log->key_id);
	log->ckpt_records = o->checkpoint_records ? o->checkpoint_records :
	    AUDIT_CKPT_RECORDS;
	log->on_commit = o->on_commit;
	log->on_commit_arg = o->on_commit_arg;
	log->ckpt_seconds = o->checkpoint_seconds ? o->checkpoint_seconds :
	    AUDIT_CKPT_SECONDS;
	log->rotate_bytes = o->rotate_bytes;
	log->rotate_seconds = o->rotate_seconds;
	log->owner = o->owner;
	if (o->node_name != NULL) {
		log->node = xstrdup(o->node_name);
		log->node_len = strlen(log->node);
	}
	/* The writer's timed wait must not jump with the wall clock. */
	if (pthread_mutex_init(&log->lock, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&log->wake, &ca) != 0 ||
	    pthread_cond_init(&log->durable, NULL) != 0 ||
	    pthread_condattr_destroy(&ca) != 0)
		fatalx("audit: cannot make the writer's locks");
	log->tailp = &log->head;
	log->fd = fd;
	log->chain.seq = t->seq;
	memcpy(log->chain.prev, t->hash, sizeof(log->chain.prev));
	log->chain.off = t->end;
	log->chain.ckpt_at = mono_ms();
	log->chain.file_first = 1000LL * t->first;
	log->cap = AUDIT_GROUP_FLUSH + AUDIT_RECORD_MAX + AUDIT_SEAL_EXTRA;
	log->buf = xmalloc(log->cap);
	return log;
}

static void
log_free(struct audit_log *log)
{
	if (log->fd != -1 && close(log->fd) == -1)
		log_warn("audit: close %s", log->path);
	audit_key_free(log->key);
	pthread_mutex_destroy(&log->lock);
	pthread_cond_destroy(&log->wake);
	pthread_cond_destroy(&log->durable);
	free(log->buf);
	free(log->path);
	free(log->node);
	free(log);
}

/*
 * audit.recover for a torn tail, then audit.start, durable before open
 * returns: a gateway that cannot write its audit must not start.
 */
static int
log_first_records(struct audit_log *log, const struct audit_tail *t)
{
	struct audit_chain st;
	struct audit_entry *e;
	char reason[PATH_MAX + 64];

	group_begin(log, &st);
	if (t->torn > 0) {
		snprintf(reason, sizeof(reason), "torn last line (%lld bytes) "
		    "moved to %s.torn", (long long)t->torn, log->path);
		e = entry_new("audit.recover", "failure", json_pack(
		    "{s:s, s:I}", "event.reason", reason, "audit.torn_bytes",
		    (json_int_t)t->torn));
		if (e != NULL)
			group_put_entry(log, &st, e);
		free(e);
	}
	e = entry_new("audit.start", "success", json_pack("{s:s, s:i}",
	    "audit.key_id", log->key_id, "process.pid", (int)getpid()));
	if (e != NULL)
		group_put_entry(log, &st, e);
	free(e);
	return group_commit(log, &st);
}

/*
 * A missing key beside a file that already has records is an accident
 * (or worse), not a first start: a new key would sign checkpoints that
 * verify against nothing the cyber team holds. Refuse instead.
 */
static int
key_missing_for_records(const struct audit_options *o,
    const struct audit_tail *t, char *err, size_t errlen)
{
	struct stat st;

	if (t->seq == 0 || lstat(o->key_path, &st) == 0 || errno != ENOENT)
		return 0;
	snprintf(err, errlen, "audit key %s is missing but %s already has "
	    "records: restore the key, or move the file away to start a new "
	    "chain", o->key_path, o->path);
	return 1;
}

struct audit_log *
audit_open(const struct audit_options *o, char *err, size_t errlen)
{
	struct audit_log *log;
	struct audit_tail tail;
	struct audit_key *key;
	int fd, rc;

	if (o == NULL || o->path == NULL || o->key_path == NULL) {
		snprintf(err, errlen, "audit: no file or key given");
		return NULL;
	}
	if (o->node_name != NULL && !audit_node_name_valid(o->node_name)) {
		snprintf(err, errlen, "audit: not a valid node name (1 to %d "
		    "letters, digits, '.', '-' or '_')", AUDIT_NODE_NAME_MAX);
		return NULL;
	}
	if ((fd = audit_file_open(o->path, 0, o->owner, err, errlen)) == -1)
		return NULL;
	if (audit_recover(fd, o->path, &tail, err, errlen) == -1 ||
	    key_missing_for_records(o, &tail, err, errlen)) {
		(void)close(fd);
		return NULL;
	}
	if ((key = audit_key_load_or_create(o->key_path, err, errlen)) == NULL) {
		(void)close(fd);
		return NULL;
	}
	if (tail.torn > 0)
		log_warnx("audit: %s: torn last line (%lld bytes) moved to "
		    "%s.torn", o->path, (long long)tail.torn, o->path);
	log = log_new(o, key, fd, &tail);
	if (log_first_records(log, &tail) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", o->path,
		    strerror(errno));
		log_free(log);
		return NULL;
	}
	if ((rc = pthread_create(&log->thread, NULL, writer_main, log)) != 0) {
		snprintf(err, errlen, "cannot start the audit writer: %s",
		    strerror(rc));
		log_free(log);
		return NULL;
	}
	return log;
}

void
audit_close(struct audit_log *log)
{
	int rc;

	if (log == NULL)
		return;
	if (log->remote) {
		free(log);
		return;
	}
	pthread_mutex_lock(&log->lock);
	log->stopping = 1;
	pthread_cond_signal(&log->wake);
	pthread_mutex_unlock(&log->lock);
	if ((rc = pthread_join(log->thread, NULL)) != 0)
		log_warnx("audit: cannot join the writer: %s", strerror(rc));
	log_free(log);
}

struct audit_log *
audit_open_remote(const struct audit_remote *ops, void *arg)
{
	struct audit_log *log = xcalloc(1, sizeof(*log));

	log->remote = ops;
	log->remote_arg = arg;
	return log;
}
