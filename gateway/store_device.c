/*
 * Devices in the state store: added at enrolment, renewed, revoked (never
 * deleted, so a revoked key stays revoked), and found by id or by the
 * SHA-256 fingerprint of their public key (the SSH listener's lookup).
 */
#include <string.h>

#include "gateway/store_int.h"

#define DEVICE_COLS                                                            \
	"id, user, practice, managed, key_fpr, cert_serial, "                  \
	"enrolled_at, expires_at, last_seen_at, revoked_at, revoke_reason"

/* 64 lowercase hex digits: one spelling, so lookups by fingerprint match. */
static int
st_check_fpr(const char *fpr, char *err, size_t errlen)
{
	size_t i;

	if (fpr == NULL || strnlen(fpr, STORE_FPR_MAX) != STORE_FPR_MAX - 1)
		goto bad;
	for (i = 0; i < STORE_FPR_MAX - 1; i++)
		if (strchr("0123456789abcdef", fpr[i]) == NULL)
			goto bad;
	return 0;
bad:
	st_err(err, errlen, "key fingerprint is not %d lowercase hex digits",
	       STORE_FPR_MAX - 1);
	return -1;
}

static int
st_device_check(const struct store_device *d, char *err, size_t errlen)
{
	if (st_check_len("device id", d->id, sizeof(d->id), err, errlen) ==
		-1 ||
	    st_check_len("user", d->user, sizeof(d->user), err, errlen) == -1 ||
	    st_check_len("practice", d->practice, sizeof(d->practice), err,
			 errlen) == -1 ||
	    st_check_len("certificate serial", d->cert_serial,
			 sizeof(d->cert_serial), err, errlen) == -1)
		return -1;
	return st_check_fpr(d->key_fpr, err, errlen);
}

/* Reads a row of DEVICE_COLS into *d. */
static int
st_device_row(struct store *st, sqlite3_stmt *s, struct store_device *d,
	      char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	if (st_col_text(st, s, 0, d->id, sizeof(d->id), err, errlen) == -1 ||
	    st_col_text(st, s, 1, d->user, sizeof(d->user), err, errlen) ==
		-1 ||
	    st_col_text(st, s, 2, d->practice, sizeof(d->practice), err,
			errlen) == -1 ||
	    st_col_text(st, s, 4, d->key_fpr, sizeof(d->key_fpr), err,
			errlen) == -1 ||
	    st_col_text(st, s, 5, d->cert_serial, sizeof(d->cert_serial), err,
			errlen) == -1 ||
	    st_col_text(st, s, 10, d->revoke_reason, sizeof(d->revoke_reason),
			err, errlen) == -1)
		return -1;
	d->is_managed = sqlite3_column_int(s, 3) != 0;
	d->enrolled_at = (time_t)sqlite3_column_int64(s, 6);
	d->expires_at = (time_t)sqlite3_column_int64(s, 7);
	d->last_seen_at = (time_t)sqlite3_column_int64(s, 8);
	d->revoked_at = (time_t)sqlite3_column_int64(s, 9);
	return 0;
}

int
store_device_add(struct store *st, const struct store_device *d, char *err,
		 size_t errlen)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (st_device_check(d, err, errlen) == -1)
		return -1;
	st_enter(st);
	if (st_prepare(st,
		       "INSERT INTO devices (id, user, practice, managed, "
		       "key_fpr, cert_serial, enrolled_at, expires_at) "
		       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		       &s, err, errlen) == -1)
		goto out;
	if (st_bind_text(s, 1, d->id) != SQLITE_OK ||
	    st_bind_text(s, 2, d->user) != SQLITE_OK ||
	    st_bind_text(s, 3, d->practice) != SQLITE_OK ||
	    sqlite3_bind_int(s, 4, d->is_managed != 0) != SQLITE_OK ||
	    st_bind_text(s, 5, d->key_fpr) != SQLITE_OK ||
	    st_bind_text(s, 6, d->cert_serial) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 7, d->enrolled_at) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 8, d->expires_at) != SQLITE_OK)
		st_dberr(st, "bind", err, errlen);
	else
		rc = st_step_done(st, s, err, errlen);
	st_finish(s);
	if (rc == STORE_CONSTRAINT) {
		st_err(err, errlen, "device %s or its key is already enrolled",
		       d->id);
		rc = 1;
	} else if (rc > 0)
		rc = 0;
out:
	st_leave(st);
	return rc;
}

/* One device by the single text parameter of sql: 1, 0 or -1. */
static int
st_device_one(struct store *st, const char *sql, const char *key,
	      struct store_device *out, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc = -1;

	st_enter(st);
	if (st_prepare(st, sql, &s, err, errlen) == -1)
		goto out;
	if (st_bind_text(s, 1, key) != SQLITE_OK)
		st_dberr(st, "bind", err, errlen);
	else if ((rc = st_step_row(st, s, err, errlen)) == 1 &&
		 st_device_row(st, s, out, err, errlen) == -1)
		rc = -1;
	st_finish(s);
out:
	st_leave(st);
	return rc;
}

int
store_device_get(struct store *st, const char *id, struct store_device *out,
		 char *err, size_t errlen)
{
	if (st_check_len("device id", id, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	return st_device_one(st,
			     "SELECT " DEVICE_COLS " FROM devices "
			     "WHERE id = ?1",
			     id, out, err, errlen);
}

int
store_device_by_fpr(struct store *st, const char *key_fpr,
		    struct store_device *out, char *err, size_t errlen)
{
	if (st_check_fpr(key_fpr, err, errlen) == -1)
		return -1;
	return st_device_one(st,
			     "SELECT " DEVICE_COLS " FROM devices "
			     "WHERE key_fpr = ?1",
			     key_fpr, out, err, errlen);
}

/*
 * Runs an UPDATE whose ?1 is the device id and whose other parameters are
 * (?2 text, ?3 text, ?4 integer) as far as sql uses them. Returns the rows
 * changed, STORE_CONSTRAINT or -1. Called with the mutex held.
 */
static int
st_device_update(struct store *st, const char *sql, const char *id,
		 const char *t2, const char *t3, int64_t i4, char *err,
		 size_t errlen)
{
	sqlite3_stmt *s;
	int np, rc = -1;

	if (st_prepare(st, sql, &s, err, errlen) == -1)
		return -1;
	np = sqlite3_bind_parameter_count(s);
	if (st_bind_text(s, 1, id) != SQLITE_OK ||
	    (np >= 2 && st_bind_text(s, 2, t2) != SQLITE_OK) ||
	    (np >= 3 && st_bind_text(s, 3, t3) != SQLITE_OK) ||
	    (np >= 4 && sqlite3_bind_int64(s, 4, i4) != SQLITE_OK))
		st_dberr(st, "bind", err, errlen);
	else
		rc = st_step_done(st, s, err, errlen);
	st_finish(s);
	return rc;
}

int
store_device_renew(struct store *st, const char *id, const char *key_fpr,
		   const char *cert_serial, time_t expires_at, char *err,
		   size_t errlen)
{
	int rc;

	if (st_check_len("device id", id, STORE_NAME_MAX, err, errlen) == -1 ||
	    st_check_fpr(key_fpr, err, errlen) == -1 ||
	    st_check_len("certificate serial", cert_serial, STORE_SERIAL_MAX,
			 err, errlen) == -1)
		return -1;
	st_enter(st);
	rc = st_device_update(
	    st,
	    "UPDATE devices SET key_fpr = ?2, "
	    "cert_serial = ?3, expires_at = ?4 WHERE id = ?1 AND "
	    "revoked_at = 0",
	    id, key_fpr, cert_serial, expires_at, err, errlen);
	st_leave(st);
	if (rc == 0)
		st_err(err, errlen, "no unrevoked device %s", id);
	else if (rc == STORE_CONSTRAINT)
		st_err(err, errlen, "the key is enrolled as another device");
	if (rc == -1)
		return -1;
	return rc == 1 ? 0 : 1;
}

/* 1 if device id exists, 0 if not, -1. Called with the mutex held. */
static int
st_device_exists(struct store *st, const char *id, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (st_prepare(st, "SELECT 1 FROM devices WHERE id = ?1", &s, err,
		       errlen) == -1)
		return -1;
	if (st_bind_text(s, 1, id) != SQLITE_OK)
		st_dberr(st, "bind", err, errlen);
	else
		rc = st_step_row(st, s, err, errlen);
	st_finish(s);
	return rc;
}

int
store_device_revoke(struct store *st, const char *id, const char *reason,
		    time_t at, char *err, size_t errlen)
{
	int rc;

	if (st_check_len("device id", id, STORE_NAME_MAX, err, errlen) == -1 ||
	    st_check_len("reason", reason, STORE_REASON_MAX, err, errlen) == -1)
		return -1;
	if (at <= 0) {
		st_err(err, errlen, "revocation time %lld is not positive",
		       (long long)at);
		return -1;
	}
	st_enter(st);
	/* revoked_at = 0 in the WHERE keeps the first revocation's record. */
	rc =
	    st_device_update(st,
			     "UPDATE devices SET revoke_reason = ?2, "
			     "revoked_at = ?4 WHERE id = ?1 AND revoked_at = 0",
			     id, reason, NULL, at, err, errlen);
	/* Nothing changed: already revoked (answer 0) or no such device. */
	if (rc == 0 && (rc = st_device_exists(st, id, err, errlen)) != -1)
		rc = rc == 1 ? 0 : 1;
	else if (rc == 1)
		rc = 0;
	else
		rc = -1;
	st_leave(st);
	if (rc == 1)
		st_err(err, errlen, "no device %s", id);
	return rc;
}

int
store_device_touch(struct store *st, const char *id, time_t at, char *err,
		   size_t errlen)
{
	int rc;

	if (st_check_len("device id", id, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	st_enter(st);
	rc = st_device_update(st,
			      "UPDATE devices SET last_seen_at = ?4 "
			      "WHERE id = ?1",
			      id, NULL, NULL, at, err, errlen);
	st_leave(st);
	if (rc == 0)
		st_err(err, errlen, "no device %s", id);
	if (rc < 0)
		return -1;
	return rc == 1 ? 0 : 1;
}

int
store_device_list(struct store *st, store_device_cb cb, void *arg, char *err,
		  size_t errlen)
{
	struct store_device d;
	sqlite3_stmt *s;
	int rc = -1;

	st_enter(st);
	if (st_prepare(st,
		       "SELECT " DEVICE_COLS " FROM devices "
		       "ORDER BY enrolled_at, id",
		       &s, err, errlen) == -1)
		goto out;
	while ((rc = st_step_row(st, s, err, errlen)) == 1) {
		if (st_device_row(st, s, &d, err, errlen) == -1) {
			rc = -1;
			break;
		}
		if (cb(&d, arg) != 0) {
			rc = 0;
			break;
		}
	}
	st_finish(s);
out:
	st_leave(st);
	return rc;
}
