/*
 * Locks on a person or a device (IT's way to cut someone off before their
 * session certificate expires), and the plain counters behind login and
 * enrolment throttling. The policies that use them live in the callers;
 * a failure is counted by one upsert, so counts from every node add up.
 */
#include <string.h>

#include "gateway/monitor/store_int.h"

static const char *
st_lock_kind(enum store_lock_kind kind, char *err, size_t errlen)
{
	switch (kind) {
	case STORE_LOCK_USER:
		return "user";
	case STORE_LOCK_DEVICE:
		return "device";
	}
	st_err(err, errlen, "lock kind %d is neither user nor device",
	       (int)kind);
	return NULL;
}

int
store_lock_add(struct store *st, const struct store_lock *l, char *err,
	       size_t errlen)
{
	const char *kind;

	if ((kind = st_lock_kind(l->kind, err, errlen)) == NULL ||
	    st_check_len("lock name", l->name, sizeof(l->name), err, errlen) ==
		-1 ||
	    st_check_len("reason", l->reason, sizeof(l->reason), err, errlen) ==
		-1)
		return -1;
	if (l->until < 0) {
		st_err(err, errlen, "lock end %lld is negative",
		       (long long)l->until);
		return -1;
	}
	return st_run_locked(
		   st,
		   "INSERT INTO locks (kind, name, reason, "
		   "created_by_uid, created_at, until) "
		   "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (kind, name) "
		   "DO UPDATE SET reason = excluded.reason, created_by_uid = "
		   "excluded.created_by_uid, created_at = excluded.created_at, "
		   "until = excluded.until",
		   ST_ARGS(ST_TEXT(kind), ST_TEXT(l->name), ST_TEXT(l->reason),
			   ST_INT(l->created_by_uid), ST_INT(l->created_at),
			   ST_INT(l->until)),
		   err, errlen) == 1
		   ? 0
		   : -1;
}

/* The kind's name for a lock on (kind, name), or NULL (err set). */
static const char *
st_lock_key(enum store_lock_kind kind, const char *name, char *err,
	    size_t errlen)
{
	const char *k;

	if ((k = st_lock_kind(kind, err, errlen)) == NULL ||
	    st_check_len("lock name", name, STORE_NAME_MAX, err, errlen) == -1)
		return NULL;
	return k;
}

int
store_lock_remove(struct store *st, enum store_lock_kind kind, const char *name,
		  char *err, size_t errlen)
{
	const char *k;
	int rc;

	if ((k = st_lock_key(kind, name, err, errlen)) == NULL)
		return -1;
	rc =
	    st_run_locked(st, "DELETE FROM locks WHERE kind = ?1 AND name = ?2",
			  ST_ARGS(ST_TEXT(k), ST_TEXT(name)), err, errlen);
	if (rc < 0)
		return -1;
	return rc == 1 ? 0 : 1;
}

/* Copies the reason column into arg (a STORE_REASON_MAX buffer) if set. */
static int
st_lock_reason(struct store *st, const struct st_row *r, void *arg, char *err,
	       size_t errlen)
{
	if (arg == NULL)
		return 0;
	return st_col_text(st, r, 0, arg, STORE_REASON_MAX, err, errlen);
}

int
store_locked(struct store *st, enum store_lock_kind kind, const char *name,
	     time_t now, char *reason, char *err, size_t errlen)
{
	const char *k;

	if ((k = st_lock_key(kind, name, err, errlen)) == NULL)
		return -1;
	return st_get_locked(st,
			     "SELECT reason FROM locks WHERE kind = ?1 AND "
			     "name = ?2 AND (until = 0 OR until > ?3)",
			     ST_ARGS(ST_TEXT(k), ST_TEXT(name), ST_INT(now)),
			     st_lock_reason, reason, err, errlen);
}

/* store_lock_list's callback and its argument. */
struct st_lock_each {
	store_lock_cb cb;
	void *arg;
};

/* Reads a lock row (the columns of st_lock_cols) into arg. */
static int
st_lock_read(struct store *st, const struct st_row *r, void *arg, char *err,
	     size_t errlen)
{
	struct store_lock *l = arg;
	char kind[8];

	memset(l, 0, sizeof(*l));
	if (st_col_text(st, r, 0, kind, sizeof(kind), err, errlen) == -1)
		return -1;
	if (strcmp(kind, "device") == 0)
		l->kind = STORE_LOCK_DEVICE;
	else
		l->kind = STORE_LOCK_USER; /* the CHECK allows no third */
	if (st_col_text(st, r, 1, l->name, sizeof(l->name), err, errlen) ==
		-1 ||
	    st_col_text(st, r, 2, l->reason, sizeof(l->reason), err,
			errlen) == -1)
		return -1;
	l->created_by_uid = (uid_t)st_col_int(r, 3);
	l->created_at = (time_t)st_col_int(r, 4);
	l->until = (time_t)st_col_int(r, 5);
	return 0;
}

#define ST_LOCK_COLS                                                           \
	"SELECT kind, name, reason, created_by_uid, created_at, until "        \
	"FROM locks "

/* Reads a lock row and hands it to the caller's callback. */
static int
st_lock_row(struct store *st, const struct st_row *r, void *arg, char *err,
	    size_t errlen)
{
	const struct st_lock_each *e = arg;
	struct store_lock l;

	if (st_lock_read(st, r, &l, err, errlen) == -1)
		return -1;
	return e->cb(&l, e->arg) != 0 ? 1 : 0;
}

int
store_lock_get(struct store *st, enum store_lock_kind kind, const char *name,
	       struct store_lock *out, char *err, size_t errlen)
{
	const char *k;

	if ((k = st_lock_key(kind, name, err, errlen)) == NULL)
		return -1;
	return st_get_locked(st, ST_LOCK_COLS "WHERE kind = ?1 AND name = ?2",
			     ST_ARGS(ST_TEXT(k), ST_TEXT(name)), st_lock_read,
			     out, err, errlen);
}

int
store_lock_list(struct store *st, store_lock_cb cb, void *arg, char *err,
		size_t errlen)
{
	struct st_lock_each e = {cb, arg};

	return st_each_locked(
	    st, ST_LOCK_COLS "ORDER BY created_at, kind, name",
	    ST_NOARGS, st_lock_row, &e, err, errlen);
}

/* ---- throttle ----------------------------------------------------------- */

static int
st_throttle_row(struct store *st, const struct st_row *r, void *arg, char *err,
		size_t errlen)
{
	struct store_throttle *t = arg;

	(void)st;
	(void)err;
	(void)errlen;
	t->failures = (int)st_col_int(r, 0);
	t->window_start = (time_t)st_col_int(r, 1);
	t->next_allowed_at = (time_t)st_col_int(r, 2);
	return 0;
}

int
store_throttle_get(struct store *st, const char *key, struct store_throttle *t,
		   char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (st_check_len("throttle key", key, STORE_THROTTLE_KEY_MAX, err,
			 errlen) == -1)
		return -1;
	return st_get_locked(st,
			     "SELECT failures, window_start, next_allowed_at "
			     "FROM throttle WHERE key = ?1",
			     ST_ARGS(ST_TEXT(key)), st_throttle_row, t, err,
			     errlen);
}

int
store_throttle_put(struct store *st, const char *key,
		   const struct store_throttle *t, char *err, size_t errlen)
{
	if (st_check_len("throttle key", key, STORE_THROTTLE_KEY_MAX, err,
			 errlen) == -1 ||
	    st_run_locked(st,
			  "INSERT INTO throttle (key, "
			  "failures, window_start, next_allowed_at) VALUES "
			  "(?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET "
			  "failures = excluded.failures, window_start = "
			  "excluded.window_start, next_allowed_at = "
			  "excluded.next_allowed_at",
			  ST_ARGS(ST_TEXT(key), ST_INT(t->failures),
				  ST_INT(t->window_start),
				  ST_INT(t->next_allowed_at)),
			  err, errlen) < 0)
		return -1;
	return 0;
}

/*
 * The window restarts for a new row (the INSERT) or, in the UPDATE, when
 * the stored one has passed or lies ahead of now (a clock set back). SET
 * reads the row as it was, in SQLite and PostgreSQL alike, so the three
 * CASEs judge the same old window.
 */
#define THROTTLE_RESTART                                                       \
	"(throttle.window_start = 0 OR throttle.window_start > ?2 OR "         \
	"?2 >= throttle.window_start + ?3)"

int
store_throttle_count(struct store *st, const char *key, time_t now,
		     time_t window, struct store_throttle *t, char *err,
		     size_t errlen)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if (st_check_len("throttle key", key, STORE_THROTTLE_KEY_MAX, err,
			 errlen) == -1)
		return -1;
	rc = st_get_locked(
	    st,
	    "INSERT INTO throttle (key, failures, window_start, "
	    "next_allowed_at) VALUES (?1, 1, ?2, ?2) ON CONFLICT (key) DO "
	    "UPDATE SET failures = CASE WHEN " THROTTLE_RESTART " THEN 1 "
	    "ELSE throttle.failures + 1 END, window_start = CASE "
	    "WHEN " THROTTLE_RESTART " THEN ?2 ELSE throttle.window_start END, "
	    "next_allowed_at = CASE WHEN " THROTTLE_RESTART " THEN ?2 ELSE "
	    "throttle.next_allowed_at END "
	    "RETURNING failures, window_start, next_allowed_at",
	    ST_ARGS(ST_TEXT(key), ST_INT(now), ST_INT(window)), st_throttle_row,
	    t, err, errlen);
	if (rc == 0) {
		st_err(err, errlen, "throttle count for %s returned no row",
		       key);
		return -1;
	}
	return rc == 1 ? 0 : -1;
}

int
store_throttle_hold(struct store *st, const char *key, time_t until, char *err,
		    size_t errlen)
{
	if (st_check_len("throttle key", key, STORE_THROTTLE_KEY_MAX, err,
			 errlen) == -1 ||
	    st_run_locked(st,
			  "UPDATE throttle SET next_allowed_at = ?2 "
			  "WHERE key = ?1 AND next_allowed_at < ?2",
			  ST_ARGS(ST_TEXT(key), ST_INT(until)), err,
			  errlen) < 0)
		return -1;
	return 0;
}

int
store_throttle_clear(struct store *st, const char *key, char *err,
		     size_t errlen)
{
	if (st_check_len("throttle key", key, STORE_THROTTLE_KEY_MAX, err,
			 errlen) == -1 ||
	    st_run_locked(st, "DELETE FROM throttle WHERE key = ?1",
			  ST_ARGS(ST_TEXT(key)), err, errlen) < 0)
		return -1;
	return 0;
}

/* store_throttle_list's callback and its argument. */
struct st_throttle_each {
	store_throttle_cb cb;
	void *arg;
};

static int
st_throttle_list_row(struct store *st, const struct st_row *r, void *arg,
		     char *err, size_t errlen)
{
	const struct st_throttle_each *e = arg;
	struct store_throttle t;
	char key[STORE_THROTTLE_KEY_MAX];

	if (st_col_text(st, r, 0, key, sizeof(key), err, errlen) == -1)
		return -1;
	t.failures = (int)st_col_int(r, 1);
	t.window_start = (time_t)st_col_int(r, 2);
	t.next_allowed_at = (time_t)st_col_int(r, 3);
	return e->cb(key, &t, e->arg) != 0 ? 1 : 0;
}

int
store_throttle_list(struct store *st, store_throttle_cb cb, void *arg,
		    char *err, size_t errlen)
{
	struct st_throttle_each e = {cb, arg};

	return st_each_locked(st,
			      "SELECT key, failures, window_start, "
			      "next_allowed_at FROM throttle ORDER BY key",
			      ST_NOARGS, st_throttle_list_row, &e, err, errlen);
}
