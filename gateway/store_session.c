/*
 * What the store remembers about a device's use: the session certificates
 * issued to it (for audit and the SSH listener) and its latest posture
 * report with the time it arrived.
 */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "gateway/store_int.h"

int
store_session_add(struct store *st, const struct store_session *ss, char *err,
		  size_t errlen)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (st_check_len("certificate serial", ss->serial, sizeof(ss->serial),
			 err, errlen) == -1 ||
	    st_check_len("user", ss->user, sizeof(ss->user), err, errlen) ==
		-1 ||
	    st_check_len("device id", ss->device_id, sizeof(ss->device_id), err,
			 errlen) == -1)
		return -1;
	st_enter(st);
	if (st_prepare(st,
		       "INSERT INTO sessions (serial, user, device_id, "
		       "issued_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
		       &s, err, errlen) == 0) {
		if (st_bind_text(s, 1, ss->serial) != SQLITE_OK ||
		    st_bind_text(s, 2, ss->user) != SQLITE_OK ||
		    st_bind_text(s, 3, ss->device_id) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 4, ss->issued_at) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 5, ss->expires_at) != SQLITE_OK)
			st_dberr(st, "bind", err, errlen);
		else
			rc = st_step_done(st, s, err, errlen);
		st_finish(s);
	}
	st_leave(st);
	if (rc == STORE_CONSTRAINT) {
		st_err(err, errlen, "session %s exists or device %s is unknown",
		       ss->serial, ss->device_id);
		return 1;
	}
	return rc == 1 ? 0 : -1;
}

int
store_session_get(struct store *st, const char *serial,
		  struct store_session *out, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (st_check_len("certificate serial", serial, STORE_SERIAL_MAX, err,
			 errlen) == -1)
		return -1;
	memset(out, 0, sizeof(*out));
	st_enter(st);
	if (st_prepare(st,
		       "SELECT serial, user, device_id, issued_at, "
		       "expires_at FROM sessions WHERE serial = ?1",
		       &s, err, errlen) == 0) {
		if (st_bind_text(s, 1, serial) != SQLITE_OK)
			st_dberr(st, "bind", err, errlen);
		else if ((rc = st_step_row(st, s, err, errlen)) == 1 &&
			 (st_col_text(st, s, 0, out->serial,
				      sizeof(out->serial), err, errlen) == -1 ||
			  st_col_text(st, s, 1, out->user, sizeof(out->user),
				      err, errlen) == -1 ||
			  st_col_text(st, s, 2, out->device_id,
				      sizeof(out->device_id), err,
				      errlen) == -1))
			rc = -1;
		if (rc == 1) {
			out->issued_at = (time_t)sqlite3_column_int64(s, 3);
			out->expires_at = (time_t)sqlite3_column_int64(s, 4);
		}
		st_finish(s);
	}
	st_leave(st);
	return rc;
}

/* ---- posture ------------------------------------------------------------ */

int
store_posture_put(struct store *st, const char *device_id, const char *report,
		  time_t received_at, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (st_check_len("device id", device_id, STORE_NAME_MAX, err, errlen) ==
		-1 ||
	    st_check_len("posture report", report, STORE_POSTURE_MAX + 1, err,
			 errlen) == -1)
		return -1;
	st_enter(st);
	/* Reports can arrive out of order (auth pool): keep the newest. */
	if (st_prepare(
		st,
		"INSERT INTO posture (device_id, report, "
		"received_at) VALUES (?1, ?2, ?3) ON CONFLICT (device_id) DO "
		"UPDATE SET report = excluded.report, received_at = "
		"excluded.received_at WHERE excluded.received_at >= "
		"posture.received_at",
		&s, err, errlen) == 0) {
		if (st_bind_text(s, 1, device_id) != SQLITE_OK ||
		    st_bind_text(s, 2, report) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 3, received_at) != SQLITE_OK)
			st_dberr(st, "bind", err, errlen);
		else
			rc = st_step_done(st, s, err, errlen);
		st_finish(s);
	}
	st_leave(st);
	if (rc == STORE_CONSTRAINT) {
		st_err(err, errlen, "no device %s", device_id);
		return 1;
	}
	return rc < 0 ? -1 : 0;
}

int
store_posture_get(struct store *st, const char *device_id, char **reportp,
		  time_t *received_at, char *err, size_t errlen)
{
	const unsigned char *t;
	sqlite3_stmt *s;
	int len, rc = -1;

	*reportp = NULL;
	if (st_check_len("device id", device_id, STORE_NAME_MAX, err, errlen) ==
	    -1)
		return -1;
	st_enter(st);
	if (st_prepare(st,
		       "SELECT report, received_at FROM posture "
		       "WHERE device_id = ?1",
		       &s, err, errlen) == 0) {
		if (st_bind_text(s, 1, device_id) != SQLITE_OK)
			st_dberr(st, "bind", err, errlen);
		else if ((rc = st_step_row(st, s, err, errlen)) == 1) {
			t = sqlite3_column_text(s, 0);
			len = sqlite3_column_bytes(s, 0);
			if (t == NULL || len < 0) {
				rc = st_dberr(st, "read", err, errlen);
			} else {
				*reportp = xmalloc((size_t)len + 1);
				memcpy(*reportp, t, (size_t)len);
				(*reportp)[len] = '\0';
				*received_at =
				    (time_t)sqlite3_column_int64(s, 1);
			}
		}
		st_finish(s);
	}
	st_leave(st);
	return rc;
}
