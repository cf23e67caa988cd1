/*
 * TOTP state per person: the secret sealed with secrets.key, the last
 * accepted time step (the replay rule lives in one UPDATE, below), the
 * consecutive failures and whether IT must enrol the person again.
 */
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "gateway/monitor/store_int.h"

#define TOTP_DIGITS_MIN 6
#define TOTP_DIGITS_MAX 8
#define TOTP_PERIOD_MAX 300

int
store_totp_set(struct store *st, const char *user, const unsigned char *secret,
	       size_t len, unsigned int digits, unsigned int period, char *err,
	       size_t errlen)
{
	unsigned char sealed[STORE_SEALED_MAX];
	size_t slen;

	if (st_check_len("user", user, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	if (digits < TOTP_DIGITS_MIN || digits > TOTP_DIGITS_MAX ||
	    period < 1 || period > TOTP_PERIOD_MAX) {
		st_err(err, errlen,
		       "TOTP of %u digits every %u s: want %d..%d "
		       "digits, 1..%d s",
		       digits, period, TOTP_DIGITS_MIN, TOTP_DIGITS_MAX,
		       TOTP_PERIOD_MAX);
		return -1;
	}
	if (st_seal(st, user, secret, len, sealed, &slen, err, errlen) == -1)
		return -1;
	return st_run_locked(
		   st,
		   "INSERT INTO totp (\"user\", secret, digits, period, "
		   "enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5) "
		   "ON CONFLICT (\"user\") DO UPDATE SET "
		   "secret = excluded.secret, digits = excluded.digits, "
		   "period = excluded.period, last_step = 0, failures = 0, "
		   "disabled_at = 0, enrolled_at = excluded.enrolled_at",
		   ST_ARGS(ST_TEXT(user), ST_BLOB(sealed, slen),
			   ST_INT((int)digits), ST_INT((int)period),
			   ST_INT(time(NULL))),
		   err, errlen) == 1
		   ? 0
		   : -1;
}

/* Where st_totp_row puts user's row. */
struct st_totp_out {
	const char *user;
	unsigned char *sealed; /* STORE_SEALED_MAX bytes */
	size_t *slen;
	struct store_totp_info *info;
};

/* Copies user's row out of s; the sealed secret into o->sealed. */
static int
st_totp_row(struct store *st, const struct st_row *r, void *arg, char *err,
	    size_t errlen)
{
	const struct st_totp_out *o = arg;

	if (st_col_blob(st, r, 0, o->sealed, STORE_SEALED_MAX, o->slen, err,
			errlen) == -1) {
		st_err(err, errlen,
		       "TOTP secret of %s: empty or longer than "
		       "%d bytes",
		       o->user, STORE_SEALED_MAX);
		return -1;
	}
	memset(o->info, 0, sizeof(*o->info));
	o->info->digits = (unsigned int)(int)st_col_int(r, 1);
	o->info->period = (unsigned int)(int)st_col_int(r, 2);
	o->info->last_step = st_col_int(r, 3);
	o->info->failures = (int)st_col_int(r, 4);
	o->info->disabled_at = (time_t)st_col_int(r, 5);
	o->info->enrolled_at = (time_t)st_col_int(r, 6);
	return 0;
}

int
store_totp_get(struct store *st, const char *user,
	       unsigned char secret[STORE_TOTP_SECRET_MAX], size_t *lenp,
	       struct store_totp_info *info, char *err, size_t errlen)
{
	unsigned char sealed[STORE_SEALED_MAX];
	size_t slen = 0;
	struct st_totp_out o = {user, sealed, &slen, info};
	int rc;

	if (st_check_len("user", user, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	rc =
	    st_get_locked(st,
			  "SELECT secret, digits, period, last_step, "
			  "failures, disabled_at, enrolled_at FROM totp "
			  "WHERE \"user\" = ?1",
			  ST_ARGS(ST_TEXT(user)), st_totp_row, &o, err, errlen);
	/* Opened outside the lock: the key never changes after open. */
	if (rc == 1 && st_open_sealed(st, user, sealed, slen, secret, lenp, err,
				      errlen) == -1) {
		st_err(err, errlen,
		       "TOTP secret of %s does not authenticate "
		       "(altered, moved from another row, or "
		       "another " STORE_KEY_FILE ")",
		       user);
		rc = -1;
	}
	OPENSSL_cleanse(sealed, sizeof(sealed));
	return rc;
}

/*
 * Runs a one-row UPDATE keyed by ?1 = user with an integer ?2 under the
 * mutex: returns the rows changed or -1.
 */
static int
st_totp_update(struct store *st, const char *sql, const char *user, int64_t v,
	       char *err, size_t errlen)
{
	int rc;

	if (st_check_len("user", user, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	rc = st_run_locked(st, sql, ST_ARGS(ST_TEXT(user), ST_INT(v)), err,
			   errlen);
	return rc < 0 ? -1 : rc;
}

int
store_totp_accept_step(struct store *st, const char *user, int64_t step,
		       char *err, size_t errlen)
{
	int rc;

	/*
	 * The replay rule. Check and update are one statement: SQLite runs
	 * one writer at a time, and PostgreSQL makes a second UPDATE of the
	 * row wait for the first and then judge the WHERE again on the new
	 * row (READ COMMITTED), so of two logins with the same code, on one
	 * node or two, only the first changes the row; the second finds
	 * last_step = step.
	 */
	rc = st_totp_update(
	    st,
	    "UPDATE totp SET last_step = ?2, failures = 0 "
	    "WHERE \"user\" = ?1 AND last_step < ?2 AND disabled_at = 0",
	    user, step, err, errlen);
	if (rc == -1)
		return -1;
	return rc == 1 ? 0 : 1;
}

int
store_totp_disable(struct store *st, const char *user, time_t at, char *err,
		   size_t errlen)
{
	int rc;

	if (at <= 0) {
		st_err(err, errlen, "disable time %lld is not positive",
		       (long long)at);
		return -1;
	}
	/* A second disable keeps the first time (the row still matches). */
	rc = st_totp_update(st,
			    "UPDATE totp SET disabled_at = CASE "
			    "WHEN disabled_at = 0 THEN ?2 ELSE disabled_at END "
			    "WHERE \"user\" = ?1",
			    user, at, err, errlen);
	if (rc == -1)
		return -1;
	return rc == 1 ? 0 : 1;
}

/* Reads the RETURNING failures row into arg (an int). */
static int
st_totp_count(struct store *st, const struct st_row *r, void *arg, char *err,
	      size_t errlen)
{
	(void)st;
	(void)err;
	(void)errlen;
	*(int *)arg = (int)st_col_int(r, 0);
	return 0;
}

int
store_totp_failure(struct store *st, const char *user, int *count, char *err,
		   size_t errlen)
{
	int rc;

	*count = 0;
	if (st_check_len("user", user, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	rc = st_get_locked(st,
			   "UPDATE totp SET failures = failures + 1 "
			   "WHERE \"user\" = ?1 RETURNING failures",
			   ST_ARGS(ST_TEXT(user)), st_totp_count, count, err,
			   errlen);
	if (rc == -1)
		return -1;
	return rc == 1 ? 0 : 1;
}

/* store_totp_list's callback and its argument. */
struct st_totp_each {
	store_totp_cb cb;
	void *arg;
};

/* A row without its secret, which the list never selects. */
static int
st_totp_list_row(struct store *st, const struct st_row *r, void *arg, char *err,
		 size_t errlen)
{
	const struct st_totp_each *e = arg;
	struct store_totp_info info;
	char user[STORE_NAME_MAX];

	if (st_col_text(st, r, 0, user, sizeof(user), err, errlen) == -1)
		return -1;
	memset(&info, 0, sizeof(info));
	info.digits = (unsigned int)(int)st_col_int(r, 1);
	info.period = (unsigned int)(int)st_col_int(r, 2);
	info.last_step = st_col_int(r, 3);
	info.failures = (int)st_col_int(r, 4);
	info.disabled_at = (time_t)st_col_int(r, 5);
	info.enrolled_at = (time_t)st_col_int(r, 6);
	return e->cb(user, &info, e->arg) != 0 ? 1 : 0;
}

int
store_totp_list(struct store *st, store_totp_cb cb, void *arg, char *err,
		size_t errlen)
{
	struct st_totp_each e = {cb, arg};

	return st_each_locked(st,
			      "SELECT \"user\", digits, period, last_step, "
			      "failures, disabled_at, enrolled_at FROM totp "
			      "ORDER BY \"user\"",
			      ST_NOARGS, st_totp_list_row, &e, err, errlen);
}

int
store_totp_remove(struct store *st, const char *user, char *err, size_t errlen)
{
	int rc;

	if (st_check_len("user", user, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	rc = st_run_locked(st, "DELETE FROM totp WHERE \"user\" = ?1",
			   ST_ARGS(ST_TEXT(user)), err, errlen);
	if (rc < 0)
		return -1;
	return rc == 1 ? 0 : 1;
}
