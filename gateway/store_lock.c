/*
 * Locks on a person or a device (IT's way to cut someone off before their
 * session certificate expires), and the plain counters behind login and
 * enrolment throttling. The policies that use them live in the callers.
 */
#include <string.h>

#include "gateway/store_int.h"

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
	sqlite3_stmt *s;
	int rc = -1;

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
	st_enter(st);
	if (st_prepare(st,
		       "INSERT OR REPLACE INTO locks (kind, name, reason, "
		       "created_by_uid, created_at, until) "
		       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		       &s, err, errlen) == 0) {
		if (st_bind_text(s, 1, kind) != SQLITE_OK ||
		    st_bind_text(s, 2, l->name) != SQLITE_OK ||
		    st_bind_text(s, 3, l->reason) != SQLITE_OK ||
		    sqlite3_bind_int64(
			s, 4, (sqlite3_int64)l->created_by_uid) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 5, l->created_at) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 6, l->until) != SQLITE_OK)
			st_dberr(st, "bind", err, errlen);
		else
			rc = st_step_done(st, s, err, errlen) == 1 ? 0 : -1;
		st_finish(s);
	}
	st_leave(st);
	return rc;
}

int
store_lock_remove(struct store *st, enum store_lock_kind kind, const char *name,
		  char *err, size_t errlen)
{
	const char *k;
	sqlite3_stmt *s;
	int rc = -1;

	if ((k = st_lock_kind(kind, err, errlen)) == NULL ||
	    st_check_len("lock name", name, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	st_enter(st);
	if (st_prepare(st, "DELETE FROM locks WHERE kind = ?1 AND name = ?2",
		       &s, err, errlen) == 0) {
		if (st_bind_text(s, 1, k) != SQLITE_OK ||
		    st_bind_text(s, 2, name) != SQLITE_OK)
			st_dberr(st, "bind", err, errlen);
		else
			rc = st_step_done(st, s, err, errlen);
		st_finish(s);
	}
	st_leave(st);
	if (rc < 0)
		return -1;
	return rc == 1 ? 0 : 1;
}

int
store_locked(struct store *st, enum store_lock_kind kind, const char *name,
	     time_t now, char *reason, char *err, size_t errlen)
{
	const char *k;
	sqlite3_stmt *s;
	int rc = -1;

	if ((k = st_lock_kind(kind, err, errlen)) == NULL ||
	    st_check_len("lock name", name, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	st_enter(st);
	if (st_prepare(st,
		       "SELECT reason FROM locks WHERE kind = ?1 AND "
		       "name = ?2 AND (until = 0 OR until > ?3)",
		       &s, err, errlen) == 0) {
		if (st_bind_text(s, 1, k) != SQLITE_OK ||
		    st_bind_text(s, 2, name) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 3, now) != SQLITE_OK)
			st_dberr(st, "bind", err, errlen);
		else if ((rc = st_step_row(st, s, err, errlen)) == 1 &&
			 reason != NULL &&
			 st_col_text(st, s, 0, reason, STORE_REASON_MAX, err,
				     errlen) == -1)
			rc = -1;
		st_finish(s);
	}
	st_leave(st);
	return rc;
}

static int
st_lock_row(struct store *st, sqlite3_stmt *s, struct store_lock *l, char *err,
	    size_t errlen)
{
	const unsigned char *kind = sqlite3_column_text(s, 0);

	memset(l, 0, sizeof(*l));
	if (kind != NULL && strcmp((const char *)kind, "device") == 0)
		l->kind = STORE_LOCK_DEVICE;
	else
		l->kind = STORE_LOCK_USER; /* the CHECK allows no third */
	if (st_col_text(st, s, 1, l->name, sizeof(l->name), err, errlen) ==
		-1 ||
	    st_col_text(st, s, 2, l->reason, sizeof(l->reason), err, errlen) ==
		-1)
		return -1;
	l->created_by_uid = (uid_t)sqlite3_column_int64(s, 3);
	l->created_at = (time_t)sqlite3_column_int64(s, 4);
	l->until = (time_t)sqlite3_column_int64(s, 5);
	return 0;
}

int
store_lock_list(struct store *st, store_lock_cb cb, void *arg, char *err,
		size_t errlen)
{
	struct store_lock l;
	sqlite3_stmt *s;
	int rc = -1;

	st_enter(st);
	if (st_prepare(
		st,
		"SELECT kind, name, reason, created_by_uid, "
		"created_at, until FROM locks ORDER BY created_at, kind, name",
		&s, err, errlen) == 0) {
		while ((rc = st_step_row(st, s, err, errlen)) == 1) {
			if (st_lock_row(st, s, &l, err, errlen) == -1) {
				rc = -1;
				break;
			}
			if (cb(&l, arg) != 0) {
				rc = 0;
				break;
			}
		}
		st_finish(s);
	}
	st_leave(st);
	return rc;
}

/* ---- throttle ----------------------------------------------------------- */

int
store_throttle_get(struct store *st, const char *key, struct store_throttle *t,
		   char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if (st_check_len("throttle key", key, STORE_THROTTLE_KEY_MAX, err,
			 errlen) == -1)
		return -1;
	st_enter(st);
	if (st_prepare(st,
		       "SELECT failures, window_start, next_allowed_at "
		       "FROM throttle WHERE key = ?1",
		       &s, err, errlen) == 0) {
		if (st_bind_text(s, 1, key) != SQLITE_OK)
			st_dberr(st, "bind", err, errlen);
		else if ((rc = st_step_row(st, s, err, errlen)) == 1) {
			t->failures = sqlite3_column_int(s, 0);
			t->window_start = (time_t)sqlite3_column_int64(s, 1);
			t->next_allowed_at = (time_t)sqlite3_column_int64(s, 2);
		}
		st_finish(s);
	}
	st_leave(st);
	return rc;
}

/* Runs sql (?1 = key, then t's three fields if t) and returns changes. */
static int
st_throttle_write(struct store *st, const char *sql, const char *key,
		  const struct store_throttle *t, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (st_check_len("throttle key", key, STORE_THROTTLE_KEY_MAX, err,
			 errlen) == -1)
		return -1;
	st_enter(st);
	if (st_prepare(st, sql, &s, err, errlen) == 0) {
		if (st_bind_text(s, 1, key) != SQLITE_OK ||
		    (t != NULL &&
		     (sqlite3_bind_int(s, 2, t->failures) != SQLITE_OK ||
		      sqlite3_bind_int64(s, 3, t->window_start) != SQLITE_OK ||
		      sqlite3_bind_int64(s, 4, t->next_allowed_at) !=
			  SQLITE_OK)))
			st_dberr(st, "bind", err, errlen);
		else
			rc = st_step_done(st, s, err, errlen);
		st_finish(s);
	}
	st_leave(st);
	return rc < 0 ? -1 : rc;
}

int
store_throttle_put(struct store *st, const char *key,
		   const struct store_throttle *t, char *err, size_t errlen)
{
	if (st_throttle_write(st,
			      "INSERT OR REPLACE INTO throttle (key, "
			      "failures, window_start, next_allowed_at) VALUES "
			      "(?1, ?2, ?3, ?4)",
			      key, t, err, errlen) == -1)
		return -1;
	return 0;
}

int
store_throttle_clear(struct store *st, const char *key, char *err,
		     size_t errlen)
{
	if (st_throttle_write(st, "DELETE FROM throttle WHERE key = ?1", key,
			      NULL, err, errlen) == -1)
		return -1;
	return 0;
}
