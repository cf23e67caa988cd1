/*
 * Devices in the state store: added at enrolment, renewed, revoked (never
 * deleted, so a revoked key stays revoked), and found by id or by the
 * SHA-256 fingerprint of their public key (the SSH listener's lookup).
 * A key belongs to one device by the UNIQUE constraint on key_fpr, which
 * holds for every node sharing the database.
 */
#include <string.h>

#include "gateway/monitor/store_int.h"

#define DEVICE_COLS                                                            \
	"id, \"user\", practice, managed, key_fpr, cert_serial, "              \
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

/* Reads a row of DEVICE_COLS into arg (a struct store_device). */
static int
st_device_row(struct store *st, const struct st_row *r, void *arg, char *err,
	      size_t errlen)
{
	struct store_device *d = arg;

	memset(d, 0, sizeof(*d));
	if (st_col_text(st, r, 0, d->id, sizeof(d->id), err, errlen) == -1 ||
	    st_col_text(st, r, 1, d->user, sizeof(d->user), err, errlen) ==
		-1 ||
	    st_col_text(st, r, 2, d->practice, sizeof(d->practice), err,
			errlen) == -1 ||
	    st_col_text(st, r, 4, d->key_fpr, sizeof(d->key_fpr), err,
			errlen) == -1 ||
	    st_col_text(st, r, 5, d->cert_serial, sizeof(d->cert_serial), err,
			errlen) == -1 ||
	    st_col_text(st, r, 10, d->revoke_reason, sizeof(d->revoke_reason),
			err, errlen) == -1)
		return -1;
	d->is_managed = (int)st_col_int(r, 3) != 0;
	d->enrolled_at = (time_t)st_col_int(r, 6);
	d->expires_at = (time_t)st_col_int(r, 7);
	d->last_seen_at = (time_t)st_col_int(r, 8);
	d->revoked_at = (time_t)st_col_int(r, 9);
	return 0;
}

int
store_device_add(struct store *st, const struct store_device *d, char *err,
		 size_t errlen)
{
	int rc;

	if (st_device_check(d, err, errlen) == -1)
		return -1;
	rc = st_run_locked(
	    st,
	    "INSERT INTO devices (id, \"user\", practice, managed, "
	    "key_fpr, cert_serial, enrolled_at, expires_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	    ST_ARGS(ST_TEXT(d->id), ST_TEXT(d->user), ST_TEXT(d->practice),
		    ST_INT(d->is_managed != 0), ST_TEXT(d->key_fpr),
		    ST_TEXT(d->cert_serial), ST_INT(d->enrolled_at),
		    ST_INT(d->expires_at)),
	    err, errlen);
	if (rc == STORE_CONSTRAINT) {
		st_err(err, errlen, "device %s or its key is already enrolled",
		       d->id);
		rc = 1;
	} else if (rc > 0)
		rc = 0;
	return rc;
}

int
store_device_get(struct store *st, const char *id, struct store_device *out,
		 char *err, size_t errlen)
{
	if (st_check_len("device id", id, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	return st_get_locked(st,
			     "SELECT " DEVICE_COLS " FROM devices "
			     "WHERE id = ?1",
			     ST_ARGS(ST_TEXT(id)), st_device_row, out, err,
			     errlen);
}

int
store_device_by_fpr(struct store *st, const char *key_fpr,
		    struct store_device *out, char *err, size_t errlen)
{
	if (st_check_fpr(key_fpr, err, errlen) == -1)
		return -1;
	return st_get_locked(st,
			     "SELECT " DEVICE_COLS " FROM devices "
			     "WHERE key_fpr = ?1",
			     ST_ARGS(ST_TEXT(key_fpr)), st_device_row, out, err,
			     errlen);
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
	rc =
	    st_run_locked(st,
			  "UPDATE devices SET key_fpr = ?2, "
			  "cert_serial = ?3, expires_at = ?4 WHERE id = ?1 AND "
			  "revoked_at = 0",
			  ST_ARGS(ST_TEXT(id), ST_TEXT(key_fpr),
				  ST_TEXT(cert_serial), ST_INT(expires_at)),
			  err, errlen);
	if (rc == 0)
		st_err(err, errlen, "no unrevoked device %s", id);
	else if (rc == STORE_CONSTRAINT)
		st_err(err, errlen, "the key is enrolled as another device");
	if (rc == -1)
		return -1;
	return rc == 1 ? 0 : 1;
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
	rc = st_run(st,
		    "UPDATE devices SET revoke_reason = ?2, "
		    "revoked_at = ?3 WHERE id = ?1 AND revoked_at = 0",
		    ST_ARGS(ST_TEXT(id), ST_TEXT(reason), ST_INT(at)), err,
		    errlen);
	/* Nothing changed: already revoked (answer 0) or no such device. */
	if (rc == 0 &&
	    (rc = st_get(st, "SELECT 1 FROM devices WHERE id = ?1",
			 ST_ARGS(ST_TEXT(id)), NULL, NULL, err, errlen)) != -1)
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
	rc = st_run_locked(st,
			   "UPDATE devices SET last_seen_at = ?2 "
			   "WHERE id = ?1",
			   ST_ARGS(ST_TEXT(id), ST_INT(at)), err, errlen);
	if (rc == 0)
		st_err(err, errlen, "no device %s", id);
	if (rc < 0)
		return -1;
	return rc == 1 ? 0 : 1;
}

/* store_device_list's callback and its argument. */
struct st_device_each {
	store_device_cb cb;
	void *arg;
};

/* Reads a device row and hands it to the caller's callback. */
static int
st_device_each_row(struct store *st, const struct st_row *r, void *arg,
		   char *err, size_t errlen)
{
	const struct st_device_each *e = arg;
	struct store_device d;

	if (st_device_row(st, r, &d, err, errlen) == -1)
		return -1;
	return e->cb(&d, e->arg) != 0 ? 1 : 0;
}

int
store_device_list(struct store *st, store_device_cb cb, void *arg, char *err,
		  size_t errlen)
{
	struct st_device_each e = {cb, arg};

	return st_each_locked(st,
			      "SELECT " DEVICE_COLS " FROM devices "
			      "ORDER BY enrolled_at, id",
			      ST_NOARGS, st_device_each_row, &e, err, errlen);
}
