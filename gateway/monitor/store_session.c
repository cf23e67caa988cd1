/*
 * What the store remembers about a device's use: the session certificates
 * issued to it (for audit and the SSH listener), which of them mwg logout
 * ended, and its latest posture report with the time it arrived.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/monitor/store_int.h"

int
store_session_add(struct store *st, const struct store_session *ss, char *err,
		  size_t errlen)
{
	int rc;

	if (st_check_len("certificate serial", ss->serial, sizeof(ss->serial),
			 err, errlen) == -1 ||
	    st_check_len("user", ss->user, sizeof(ss->user), err, errlen) ==
		-1 ||
	    st_check_len("device id", ss->device_id, sizeof(ss->device_id), err,
			 errlen) == -1)
		return -1;
	rc =
	    st_run_locked(st,
			  "INSERT INTO sessions (serial, \"user\", device_id, "
			  "issued_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
			  ST_ARGS(ST_TEXT(ss->serial), ST_TEXT(ss->user),
				  ST_TEXT(ss->device_id), ST_INT(ss->issued_at),
				  ST_INT(ss->expires_at)),
			  err, errlen);
	if (rc == STORE_CONSTRAINT) {
		st_err(err, errlen, "session %s exists or device %s is unknown",
		       ss->serial, ss->device_id);
		return 1;
	}
	return rc == 1 ? 0 : -1;
}

/* Reads a session row into arg (a struct store_session). */
static int
st_session_row(struct store *st, const struct st_row *r, void *arg, char *err,
	       size_t errlen)
{
	struct store_session *out = arg;

	if (st_col_text(st, r, 0, out->serial, sizeof(out->serial), err,
			errlen) == -1 ||
	    st_col_text(st, r, 1, out->user, sizeof(out->user), err, errlen) ==
		-1 ||
	    st_col_text(st, r, 2, out->device_id, sizeof(out->device_id), err,
			errlen) == -1)
		return -1;
	out->issued_at = (time_t)st_col_int(r, 3);
	out->expires_at = (time_t)st_col_int(r, 4);
	out->ended_at = (time_t)st_col_int(r, 5);
	return 0;
}

int
store_session_get(struct store *st, const char *serial,
		  struct store_session *out, char *err, size_t errlen)
{
	if (st_check_len("certificate serial", serial, STORE_SERIAL_MAX, err,
			 errlen) == -1)
		return -1;
	memset(out, 0, sizeof(*out));
	return st_get_locked(st,
			     "SELECT serial, \"user\", device_id, issued_at, "
			     "expires_at, ended_at FROM sessions "
			     "WHERE serial = ?1",
			     ST_ARGS(ST_TEXT(serial)), st_session_row, out, err,
			     errlen);
}

/* A matching row exists: nothing to read. */
static int
st_session_exists(struct store *st, const struct st_row *r, void *arg,
		  char *err, size_t errlen)
{
	(void)st;
	(void)r;
	(void)arg;
	(void)err;
	(void)errlen;
	return 0;
}

int
store_session_live(struct store *st, const char *device_id, const char *user,
		   time_t now, char *err, size_t errlen)
{
	if (st_check_len("device id", device_id, STORE_NAME_MAX, err, errlen) ==
		-1 ||
	    st_check_len("user", user, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	return st_get_locked(
	    st,
	    "SELECT 1 FROM sessions WHERE device_id = ?1 AND "
	    "\"user\" = ?2 AND issued_at <= ?3 AND expires_at > ?3 "
	    "AND ended_at = 0 LIMIT 1",
	    ST_ARGS(ST_TEXT(device_id), ST_TEXT(user), ST_INT(now)),
	    st_session_exists, NULL, err, errlen);
}

/* st_session_each_row's caller's callback, its argument and the count. */
struct st_session_each {
	store_session_cb cb;
	void *arg;
	int n;
};

static int
st_session_each_row(struct store *st, const struct st_row *r, void *arg,
		    char *err, size_t errlen)
{
	struct st_session_each *e = arg;
	struct store_session ss;

	memset(&ss, 0, sizeof(ss));
	if (st_session_row(st, r, &ss, err, errlen) == -1)
		return -1;
	e->n++;
	return e->cb != NULL && e->cb(&ss, e->arg) != 0 ? 1 : 0;
}

int
store_session_end(struct store *st, const char *device_id, const char *user,
		  time_t now, store_session_cb cb, void *arg, char *err,
		  size_t errlen)
{
	struct st_session_each e = {cb, arg, 0};

	if (st_check_len("device id", device_id, STORE_NAME_MAX, err, errlen) ==
		-1 ||
	    st_check_len("user", user, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	/* One statement: the sessions it ends are the ones it returns. */
	if (st_each_locked(
		st,
		"UPDATE sessions SET ended_at = ?3 WHERE device_id = ?1 AND "
		"\"user\" = ?2 AND ended_at = 0 AND expires_at > ?3 RETURNING "
		"serial, \"user\", device_id, issued_at, expires_at, ended_at",
		ST_ARGS(ST_TEXT(device_id), ST_TEXT(user), ST_INT(now)),
		st_session_each_row, &e, err, errlen) == -1)
		return -1;
	return e.n;
}

int
store_session_ended_list(struct store *st, time_t now, store_session_cb cb,
			 void *arg, char *err, size_t errlen)
{
	struct st_session_each e = {cb, arg, 0};

	return st_each_locked(st,
			      "SELECT serial, \"user\", device_id, issued_at, "
			      "expires_at, ended_at FROM sessions WHERE "
			      "ended_at != 0 AND expires_at > ?1",
			      ST_ARGS(ST_INT(now)), st_session_each_row, &e,
			      err, errlen);
}

/* ---- posture ------------------------------------------------------------ */

int
store_posture_put(struct store *st, const char *device_id, const char *report,
		  time_t received_at, char *err, size_t errlen)
{
	int rc;

	if (st_check_len("device id", device_id, STORE_NAME_MAX, err, errlen) ==
		-1 ||
	    st_check_len("posture report", report, STORE_POSTURE_MAX + 1, err,
			 errlen) == -1)
		return -1;
	/* Reports can arrive out of order (auth pool): keep the newest. */
	rc = st_run_locked(
	    st,
	    "INSERT INTO posture (device_id, report, "
	    "received_at) VALUES (?1, ?2, ?3) ON CONFLICT (device_id) DO "
	    "UPDATE SET report = excluded.report, received_at = "
	    "excluded.received_at WHERE excluded.received_at >= "
	    "posture.received_at",
	    ST_ARGS(ST_TEXT(device_id), ST_TEXT(report), ST_INT(received_at)),
	    err, errlen);
	if (rc == STORE_CONSTRAINT) {
		st_err(err, errlen, "no device %s", device_id);
		return 1;
	}
	return rc < 0 ? -1 : 0;
}

/* Where st_posture_row puts the report and its time. */
struct st_posture_out {
	char **reportp;
	time_t *received_at;
};

static int
st_posture_row(struct store *st, const struct st_row *r, void *arg, char *err,
	       size_t errlen)
{
	const struct st_posture_out *o = arg;

	(void)st;
	(void)err;
	(void)errlen;
	*o->reportp = st_col_strdup(r, 0);
	*o->received_at = (time_t)st_col_int(r, 1);
	return 0;
}

int
store_posture_get(struct store *st, const char *device_id, char **reportp,
		  time_t *received_at, char *err, size_t errlen)
{
	struct st_posture_out o = {reportp, received_at};

	*reportp = NULL;
	if (st_check_len("device id", device_id, STORE_NAME_MAX, err, errlen) ==
	    -1)
		return -1;
	return st_get_locked(st,
			     "SELECT report, received_at FROM posture "
			     "WHERE device_id = ?1",
			     ST_ARGS(ST_TEXT(device_id)), st_posture_row, &o,
			     err, errlen);
}
