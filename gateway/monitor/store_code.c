/*
 * Enrolment codes: ID:SECRET pairs that admit one device each. Only a
 * salted hash of the secret is kept, and using a code is one conditional
 * UPDATE, so a code admits exactly one device however many requests, on
 * however many nodes, race for it.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "gateway/monitor/store_int.h"

#define CODE_COLS                                                              \
	"salt, hash, used_at, expires_at, \"user\", practice, "                \
	"label, managed, created_at, created_by_uid, id, withdrawn_at"
/* CODE_COLS without the salt and hash: what a list may show. */
#define CODE_PUBLIC_COLS                                                       \
	"NULL, NULL, used_at, expires_at, \"user\", practice, "                \
	"label, managed, created_at, created_by_uid, id, withdrawn_at"

static int
st_code_check(const struct store_code *c, const char *secret, char *err,
	      size_t errlen)
{
	if (st_check_len("code id", c->id, sizeof(c->id), err, errlen) == -1 ||
	    st_check_len("user", c->user, sizeof(c->user), err, errlen) == -1 ||
	    st_check_len("practice", c->practice, sizeof(c->practice), err,
			 errlen) == -1 ||
	    st_check_len("code secret", secret, STORE_CODE_SECRET_MAX, err,
			 errlen) == -1)
		return -1;
	if (strnlen(c->label, sizeof(c->label)) >= sizeof(c->label)) {
		st_err(err, errlen, "label is longer than %zu bytes",
		       sizeof(c->label) - 1);
		return -1;
	}
	return 0;
}

int
store_code_add(struct store *st, const struct store_code *c, const char *secret,
	       char *err, size_t errlen)
{
	unsigned char salt[STORE_SALT_LEN], hash[STORE_HASH_LEN];
	int rc;

	if (st_code_check(c, secret, err, errlen) == -1)
		return -1;
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		st_err(err, errlen, "%s: RAND_bytes failed", __func__);
		return -1;
	}
	if (st_code_hash(salt, secret, hash, err, errlen) == -1)
		return -1;
	rc = st_run_locked(
	    st,
	    "INSERT INTO enrol_codes (id, salt, hash, \"user\", "
	    "practice, label, managed, created_at, expires_at, "
	    "created_by_uid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	    "?8, ?9, ?10)",
	    ST_ARGS(ST_TEXT(c->id), ST_BLOB(salt, STORE_SALT_LEN),
		    ST_BLOB(hash, STORE_HASH_LEN), ST_TEXT(c->user),
		    ST_TEXT(c->practice), ST_TEXT(c->label),
		    ST_INT(c->is_managed != 0), ST_INT(c->created_at),
		    ST_INT(c->expires_at), ST_INT(c->created_by_uid)),
	    err, errlen);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc == STORE_CONSTRAINT) {
		st_err(err, errlen, "code %s exists", c->id);
		return 1;
	}
	return rc == 1 ? 0 : -1;
}

/* Reads the public columns of a CODE_COLS row into *c. */
static int
st_code_row(struct store *st, const struct st_row *r, struct store_code *c,
	    char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (st_col_text(st, r, 4, c->user, sizeof(c->user), err, errlen) ==
		-1 ||
	    st_col_text(st, r, 5, c->practice, sizeof(c->practice), err,
			errlen) == -1 ||
	    st_col_text(st, r, 6, c->label, sizeof(c->label), err, errlen) ==
		-1 ||
	    st_col_text(st, r, 10, c->id, sizeof(c->id), err, errlen) == -1)
		return -1;
	c->used_at = (time_t)st_col_int(r, 2);
	c->expires_at = (time_t)st_col_int(r, 3);
	c->is_managed = (int)st_col_int(r, 7) != 0;
	c->created_at = (time_t)st_col_int(r, 8);
	c->created_by_uid = (uid_t)st_col_int(r, 9);
	c->withdrawn_at = (time_t)st_col_int(r, 11);
	return 0;
}

/* st_code_judge's arguments and answer. */
struct st_code_verdict {
	const char *secret;
	time_t now;
	struct store_code *c;
	const char **why;
	unsigned char hash[STORE_HASH_LEN]; /* of secret, with the row's salt */
	int rc;
};

/*
 * Judges the code row r (NULL: no such id) for v->secret at v->now.
 * Sets v->rc to 0 usable (v->c and v->hash filled) or 1 refused (*v->why
 * set); returns -1 on error. An unknown id still costs one hash, so
 * timing does not tell unknown from wrong.
 */
static int
st_code_judge(struct store *st, const struct st_row *r,
	      struct st_code_verdict *v, char *err, size_t errlen)
{
	unsigned char salt[STORE_SALT_LEN] = {0}, hash[STORE_HASH_LEN];
	size_t slen = 0, hlen = 0;
	int match;

	if (r != NULL && (st_col_blob(st, r, 0, salt, sizeof(salt), &slen, err,
				      errlen) == -1 ||
			  st_col_blob(st, r, 1, hash, sizeof(hash), &hlen, err,
				      errlen) == -1 ||
			  slen != STORE_SALT_LEN || hlen != STORE_HASH_LEN)) {
		st_err(err, errlen, "stored code has a bad salt or hash");
		return -1;
	}
	if (st_code_hash(salt, v->secret, v->hash, err, errlen) == -1)
		return -1;
	match = r != NULL && CRYPTO_memcmp(v->hash, hash, sizeof(hash)) == 0;
	v->rc = 1;
	if (r == NULL)
		*v->why = "unknown";
	else if (!match)
		*v->why = "wrong secret";
	else if (st_col_int(r, 2) != 0)
		*v->why = "used";
	else if (st_col_int(r, 11) != 0)
		*v->why = "withdrawn";
	else if (st_col_int(r, 3) <= v->now)
		*v->why = "expired";
	else {
		v->rc = 0;
		return st_code_row(st, r, v->c, err, errlen);
	}
	return 0;
}

static int
st_code_judge_row(struct store *st, const struct st_row *r, void *arg,
		  char *err, size_t errlen)
{
	return st_code_judge(st, r, arg, err, errlen);
}

/* Looks the code up and judges it: 0 usable, 1 refused, -1. */
static int
st_code_lookup(struct store *st, const char *id, struct st_code_verdict *v,
	       char *err, size_t errlen)
{
	int rc;

	rc = st_get(st, "SELECT " CODE_COLS " FROM enrol_codes WHERE id = ?1",
		    ST_ARGS(ST_TEXT(id)), st_code_judge_row, v, err, errlen);
	if (rc == 0) /* unknown id: judged all the same, for timing */
		rc = st_code_judge(st, NULL, v, err, errlen);
	return rc == -1 ? -1 : v->rc;
}

/*
 * The single-use rule, in one conditional UPDATE: of requests racing for
 * the code, on any node, exactly one changes the row. The lookup before
 * it only finds the salt and a reason for the audit record.
 */
static int
st_code_use(struct store *st, const char *id, struct st_code_verdict *v,
	    char *err, size_t errlen)
{
	int rc;

	rc = st_run(st,
		    "UPDATE enrol_codes SET used_at = ?2 WHERE id = ?1 AND "
		    "hash = ?3 AND used_at = 0 AND withdrawn_at = 0 AND "
		    "expires_at > ?2",
		    ST_ARGS(ST_TEXT(id), ST_INT(v->now),
			    ST_BLOB(v->hash, STORE_HASH_LEN)),
		    err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return 0;
	/* Used or withdrawn since the lookup: judge again for the reason. */
	if ((rc = st_code_lookup(st, id, v, err, errlen)) == 0) {
		*v->why = "used";
		rc = 1;
	}
	return rc;
}

int
store_code_consume(struct store *st, const char *id, const char *secret,
		   time_t now, struct store_code *out, const char **why,
		   char *err, size_t errlen)
{
	struct store_code c;
	struct st_code_verdict v = {
	    .secret = secret, .now = now, .c = &c, .why = why, .rc = -1};
	int rc;

	*why = NULL;
	/* Input from the network: out-of-bounds is a refusal, not an error. */
	if (id == NULL || *id == '\0' ||
	    strnlen(id, STORE_NAME_MAX) == STORE_NAME_MAX) {
		*why = "unknown";
		return 1;
	}
	if (secret == NULL || *secret == '\0' ||
	    strnlen(secret, STORE_CODE_SECRET_MAX) == STORE_CODE_SECRET_MAX) {
		*why = "wrong secret";
		return 1;
	}
	st_enter(st);
	rc = st_code_lookup(st, id, &v, err, errlen);
	if (rc == 0)
		rc = st_code_use(st, id, &v, err, errlen);
	st_leave(st);
	OPENSSL_cleanse(v.hash, sizeof(v.hash));
	if (rc == 0)
		*out = c;
	else if (rc == -1)
		*why = NULL;
	return rc;
}

int
store_code_restore(struct store *st, const char *id, time_t used_at, char *err,
		   size_t errlen)
{
	int rc =
	    st_run_locked(st,
			  "UPDATE enrol_codes SET used_at = 0 "
			  "WHERE id = ?1 AND used_at = ?2",
			  ST_ARGS(ST_TEXT(id), ST_INT(used_at)), err, errlen);

	return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

/*
 * A code's public columns and the device that used it. The devices table
 * does not name the code a device used; the code and the device share the
 * person, the practice and the second (est.c stamps both with one "now").
 * Two codes of one person and practice used in the same second would both
 * name the lower device id.
 */
#define CODE_USED_SELECT                                                       \
	"SELECT " CODE_PUBLIC_COLS ", (SELECT min(d.id) FROM devices d "       \
	"WHERE d.\"user\" = c.\"user\" AND d.practice = c.practice AND "       \
	"c.used_at <> 0 AND d.enrolled_at = c.used_at) FROM enrol_codes c "

/* A CODE_USED_SELECT row into *c. */
static int
st_code_used_row(struct store *st, const struct st_row *r, struct store_code *c,
		 char *err, size_t errlen)
{
	if (st_code_row(st, r, c, err, errlen) == -1 ||
	    (!st_col_is_null(r, 12) &&
	     st_col_text(st, r, 12, c->used_by, sizeof(c->used_by), err,
			 errlen) == -1))
		return -1;
	return 0;
}

/* store_code_list's callback and its argument. */
struct st_code_each {
	store_code_cb cb;
	void *arg;
};

static int
st_code_list_row(struct store *st, const struct st_row *r, void *arg, char *err,
		 size_t errlen)
{
	const struct st_code_each *e = arg;
	struct store_code c;

	if (st_code_used_row(st, r, &c, err, errlen) == -1)
		return -1;
	return e->cb(&c, e->arg) != 0 ? 1 : 0;
}

int
store_code_list(struct store *st, store_code_cb cb, void *arg, char *err,
		size_t errlen)
{
	struct st_code_each e = {cb, arg};

	return st_each_locked(st, CODE_USED_SELECT "ORDER BY created_at, id",
			      ST_NOARGS, st_code_list_row, &e, err, errlen);
}

static int
st_code_get_row(struct store *st, const struct st_row *r, void *arg, char *err,
		size_t errlen)
{
	return st_code_used_row(st, r, arg, err, errlen);
}

int
store_code_withdraw(struct store *st, const char *id, time_t at,
		    struct store_code *out, char *err, size_t errlen)
{
	struct store_code c;
	int rc;

	if (st_check_len("code id", id, STORE_NAME_MAX, err, errlen) == -1)
		return -1;
	if (at <= 0) {
		st_err(err, errlen, "withdrawal time %lld is not positive",
		       (long long)at);
		return -1;
	}
	/* One statement: an enrolment racing with it finds the code either
	 * used (and this refuses) or withdrawn (and it refuses). */
	rc = st_run_locked(st,
			   "UPDATE enrol_codes SET withdrawn_at = ?2 "
			   "WHERE id = ?1 AND used_at = 0 AND withdrawn_at = 0",
			   ST_ARGS(ST_TEXT(id), ST_INT(at)), err, errlen);
	if (rc < 0)
		return -1;
	rc = rc == 1 ? 0 : 2;
	switch (st_get_locked(st, CODE_USED_SELECT "WHERE c.id = ?1",
			      ST_ARGS(ST_TEXT(id)), st_code_get_row, &c, err,
			      errlen)) {
	case -1:
		return -1;
	case 0:
		return 1;
	}
	if (out != NULL)
		*out = c;
	return rc;
}
