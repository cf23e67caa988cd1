/*
 * Inside the state store: the struct, the statement and row helpers that
 * store_*.c share over both back-ends (SQLite, PostgreSQL), and the crypto
 * helpers. Not for other modules; they use gateway/monitor/store.h.
 */
#ifndef MWG_STORE_INT_H
#define MWG_STORE_INT_H

#include "common/errbuf.h"

#include <sys/stat.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

#include <sqlite3.h>

#include "gateway/monitor/store.h"

#define STORE_KEY_LEN 32 /* AES-256 */
#define STORE_GCM_NONCE_LEN 12
#define STORE_GCM_TAG_LEN 16
#define STORE_SALT_LEN 16
#define STORE_HASH_LEN 32 /* SHA-256 */
/* nonce | ciphertext | tag of a TOTP secret */
#define STORE_SEALED_MAX                                                       \
	(STORE_GCM_NONCE_LEN + STORE_TOTP_SECRET_MAX + STORE_GCM_TAG_LEN)

/* st_run's answer for a UNIQUE, FOREIGN KEY or CHECK violation. */
#define STORE_CONSTRAINT (-2)

struct st_pg; /* gateway/monitor/store_pg.c: the PostgreSQL connection */

struct store {
	pthread_mutex_t mu; /* guards db or pg: one statement at a time */
	sqlite3 *db;	    /* the SQLite back-end, or NULL */
	struct st_pg *pg;   /* the PostgreSQL back-end, or NULL */
	char *pg_conninfo;  /* its conninfo, for a listener (no password) */
	unsigned char key[STORE_KEY_LEN]; /* wiped by store_close */
};

void st_enter(struct store *st);
void st_leave(struct store *st);

#define st_err errbuf_set /* common/errbuf.h */
/* Counts one database failure for store_errors_total. */
void st_count_error(void);
/* Sets err to "what: SQLite's message" and returns -1. */
int st_dberr(struct store *st, const char *what, char *err, size_t errlen);
/* 0 if s is non-NULL and shorter than max bytes (with its NUL), else -1. */
int st_check_len(const char *what, const char *s, size_t max, char *err,
		 size_t errlen);
/* What the database is called in messages: "state.db" or "the
 * PostgreSQL store". */
const char *st_db_name(const struct store *st);

/*
 * fstat()s fd (opened from path) into *sb and checks that it is a regular
 * file that group and others cannot open; lets says what they could do.
 */
int st_check_private(int fd, const char *path, const char *lets,
		     struct stat *sb, char *err, size_t errlen);

/*
 * One row of a query's answer, whichever back-end gave it: the helpers
 * below read its columns (0-based), so store_*.c hold one copy of each
 * rule for both back-ends.
 */
struct st_row {
	sqlite3_stmt *s; /* SQLite: the statement on its row */
	const void *res; /* PostgreSQL: the PGresult */
	int i;		 /* PostgreSQL: the row number */
};

int64_t st_col_int(const struct st_row *r, int col);
int st_col_is_null(const struct st_row *r, int col);
/* Copies text column col into buf (size bytes); -1 if it does not fit. */
int st_col_text(struct store *st, const struct st_row *r, int col, char *buf,
		size_t size, char *err, size_t errlen);
/* Text column col as a new string (caller frees); NULL reads as "". */
char *st_col_strdup(const struct st_row *r, int col);
/* Copies blob column col into buf (size bytes) and its length into *lenp;
 * -1 if it is NULL or does not fit. */
int st_col_blob(struct store *st, const struct st_row *r, int col, void *buf,
		size_t size, size_t *lenp, char *err, size_t errlen);

/* One bound value of a statement: ?1, ?2, ... in list order. */
enum st_param_type { ST_P_TEXT, ST_P_INT, ST_P_BLOB };
struct st_param {
	enum st_param_type type;
	const char *text; /* ST_P_TEXT, bound SQLITE_STATIC; NULL binds NULL */
	int64_t i;	  /* ST_P_INT */
	const void *blob; /* ST_P_BLOB, bound SQLITE_STATIC */
	int len;	  /* ST_P_BLOB */
};
#define ST_PARAMS_MAX 16 /* the most any statement binds */
#define ST_TEXT(x)                                                             \
	{                                                                      \
		.type = ST_P_TEXT, .text = (x)                                 \
	}
#define ST_INT(x)                                                              \
	{                                                                      \
		.type = ST_P_INT, .i = (int64_t)(x)                            \
	}
#define ST_BLOB(p, n)                                                          \
	{                                                                      \
		.type = ST_P_BLOB, .blob = (p), .len = (int)(n)                \
	}
/* Expands to the two arguments "params, nparams" of the helpers below. */
#define ST_ARGS(...)                                                           \
	(const struct st_param[]){__VA_ARGS__},                                \
	    sizeof((const struct st_param[]){__VA_ARGS__}) /                   \
		sizeof(struct st_param)
#define ST_NOARGS NULL, 0

/*
 * Called on a row of a query. Returns 0, or -1 with err set. For st_each
 * also 1: stop without error.
 *
 * The SQL these helpers take is written once for both back-ends: ?N
 * parameters (PostgreSQL gets $N), "user" quoted (a reserved word in
 * PostgreSQL), no booleans in a result (CASE ... THEN 1 ELSE 0), upserts
 * as INSERT ... ON CONFLICT, and times passed in rather than taken from
 * the database's clock.
 */
typedef int (*st_row_fn)(struct store *st, const struct st_row *r, void *arg,
			 char *err, size_t errlen);

/*
 * Runs a statement that returns no row: the number of rows it changed,
 * STORE_CONSTRAINT, or -1 (err set). st_run_locked takes the mutex,
 * st_run expects it held.
 */
int st_run(struct store *st, const char *sql, const struct st_param *p,
	   size_t np, char *err, size_t errlen);
int st_run_locked(struct store *st, const char *sql, const struct st_param *p,
		  size_t np, char *err, size_t errlen);
/*
 * Runs a query (or a write with RETURNING) and calls fn (if non-NULL) on
 * its first row. Returns 1 row read, 0 no row, -1 (err set). st_get_locked
 * takes the mutex, st_get expects it held.
 */
int st_get(struct store *st, const char *sql, const struct st_param *p,
	   size_t np, st_row_fn fn, void *arg, char *err, size_t errlen);
int st_get_locked(struct store *st, const char *sql, const struct st_param *p,
		  size_t np, st_row_fn fn, void *arg, char *err, size_t errlen);
/* A row function for st_get: the first column, an integer, into arg (an
 * int64_t). */
int st_int_row(struct store *st, const struct st_row *r, void *arg, char *err,
	       size_t errlen);
/*
 * Under the mutex, runs sql and calls fn on each row until fn answers
 * non-zero (a write with RETURNING changes every row all the same).
 * Returns 0, or -1 (err set).
 */
int st_each_locked(struct store *st, const char *sql, const struct st_param *p,
		   size_t np, st_row_fn fn, void *arg, char *err,
		   size_t errlen);

/* Runs SQL without values (DDL, transaction control). */
int st_exec(struct store *st, const char *what, const char *sql, char *err,
	    size_t errlen);

/* store_schema.c: applies every SQLite migration newer than the
 * database; store_pg_schema.c the same for PostgreSQL. */
int st_migrate(struct store *st, char *err, size_t errlen);
int st_pg_migrate(struct store *st, char *err, size_t errlen);

/* store_pg.c: the PostgreSQL back-end of the helpers above. */
struct st_pg *st_pg_connect(const char *conninfo, char *err, size_t errlen);
void st_pg_close(struct st_pg *pg);
int st_pg_run(struct store *st, const char *sql, const struct st_param *p,
	      size_t np, char *err, size_t errlen);
int st_pg_query(struct store *st, const char *sql, const struct st_param *p,
		size_t np, st_row_fn fn, void *arg, int all, char *err,
		size_t errlen);
int st_pg_exec(struct store *st, const char *what, const char *sql, char *err,
	       size_t errlen);
int st_pg_unavailable(const struct st_pg *pg);
/* The server process serving the connection now (0 while down): a
 * notification it sent is this node's own change. Any thread. */
int st_pg_backend_pid(const struct st_pg *pg);
/* The libpq connection (a PGconn *), for store_pg_listen.c. */
void *st_pg_conn(struct st_pg *pg);
int64_t st_pg_col_int(const struct st_row *r, int col);
int st_pg_col_is_null(const struct st_row *r, int col);
const char *st_pg_col_text(const struct st_row *r, int col, size_t *lenp);
/* bytea column col (hex form) into buf; -1 if NULL, bad or too long. */
int st_pg_col_blob(const struct st_row *r, int col, void *buf, size_t size,
		   size_t *lenp);

/* store_crypt.c */
int st_key_load(struct store *st, const char *dir, char *err, size_t errlen);
/* PostgreSQL: records the key's id, or refuses a key with another id. */
int st_key_check(struct store *st, const char *dir, char *err, size_t errlen);
/* out gets nonce|ciphertext|tag, *outlen its length. */
int st_seal(const struct store *st, const char *ad, const unsigned char *in,
	    size_t len, unsigned char out[STORE_SEALED_MAX], size_t *outlen,
	    char *err, size_t errlen);
/* Returns 0, or -1 if in does not authenticate under ad (out wiped). */
int st_open_sealed(const struct store *st, const char *ad,
		   const unsigned char *in, size_t len,
		   unsigned char out[STORE_TOTP_SECRET_MAX], size_t *outlen,
		   char *err, size_t errlen);
/* SHA-256(salt | secret) into hash. */
int st_code_hash(const unsigned char salt[STORE_SALT_LEN], const char *secret,
		 unsigned char hash[STORE_HASH_LEN], char *err, size_t errlen);

#endif /* MWG_STORE_INT_H */
