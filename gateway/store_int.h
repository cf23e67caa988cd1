/*
 * Inside the state store: the struct and the small SQLite and crypto helpers
 * that store_*.c share. Not for other modules; they use gateway/store.h.
 */
#ifndef MWG_STORE_INT_H
#define MWG_STORE_INT_H

#include "common/errbuf.h"

#include <sys/stat.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

#include <sqlite3.h>

#include "gateway/store.h"

#define STORE_KEY_LEN 32 /* AES-256 */
#define STORE_GCM_NONCE_LEN 12
#define STORE_GCM_TAG_LEN 16
#define STORE_SALT_LEN 16
#define STORE_HASH_LEN 32 /* SHA-256 */
/* nonce | ciphertext | tag of a TOTP secret */
#define STORE_SEALED_MAX                                                       \
	(STORE_GCM_NONCE_LEN + STORE_TOTP_SECRET_MAX + STORE_GCM_TAG_LEN)

/* st_step_done's answer for a UNIQUE, FOREIGN KEY or CHECK violation. */
#define STORE_CONSTRAINT (-2)

struct store {
	pthread_mutex_t mu; /* guards db: one statement at a time */
	sqlite3 *db;
	unsigned char key[STORE_KEY_LEN]; /* wiped by store_close */
};

void st_enter(struct store *st);
void st_leave(struct store *st);

#define st_err errbuf_set	/* common/errbuf.h */
/* Sets err to "what: SQLite's message" and returns -1. */
int st_dberr(struct store *st, const char *what, char *err, size_t errlen);
/* 0 if s is non-NULL and shorter than max bytes (with its NUL), else -1. */
int st_check_len(const char *what, const char *s, size_t max, char *err,
		 size_t errlen);

/*
 * fstat()s fd (opened from path) into *sb and checks that it is a regular
 * file that group and others cannot open; lets says what they could do.
 */
int st_check_private(int fd, const char *path, const char *lets,
		     struct stat *sb, char *err, size_t errlen);

int st_prepare(struct store *st, const char *sql, sqlite3_stmt **sp, char *err,
	       size_t errlen);
/*
 * Steps a statement that returns no row: the number of rows it changed,
 * STORE_CONSTRAINT, or -1 (err set).
 */
int st_step_done(struct store *st, sqlite3_stmt *s, char *err, size_t errlen);
/* Steps a query: 1 a row is ready, 0 no more rows, -1 (err set). */
int st_step_row(struct store *st, sqlite3_stmt *s, char *err, size_t errlen);
/* sqlite3_finalize; NULL is a no-op. */
void st_finish(sqlite3_stmt *s);
/* Binds text with SQLITE_STATIC: s must outlive the statement's steps. */
int st_bind_text(sqlite3_stmt *s, int idx, const char *text);
/* Copies text column col into buf (size bytes); -1 if it does not fit. */
int st_col_text(struct store *st, sqlite3_stmt *s, int col, char *buf,
		size_t size, char *err, size_t errlen);

/* One bound value of a prepared statement: ?1, ?2, ... in list order. */
enum st_param_type { ST_P_TEXT, ST_P_INT, ST_P_BLOB };
struct st_param {
	enum st_param_type type;
	const char *text; /* ST_P_TEXT, bound SQLITE_STATIC; NULL binds NULL */
	int64_t i;	  /* ST_P_INT */
	const void *blob; /* ST_P_BLOB, bound SQLITE_STATIC */
	int len;	  /* ST_P_BLOB */
};
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

/*
 * Called on a row of a query. Returns 0, or -1 with err set. For st_each
 * also 1: stop without error.
 */
typedef int (*st_row_fn)(struct store *st, sqlite3_stmt *s, void *arg,
			 char *err, size_t errlen);

/* st_prepare, then binds p[0..np-1] to ?1..?np ("bind" error on failure). */
int st_prepare_bind(struct store *st, const char *sql, const struct st_param *p,
		    size_t np, sqlite3_stmt **sp, char *err, size_t errlen);
/*
 * Prepares, binds and steps a statement that returns no row: as
 * st_step_done. st_run_locked takes the mutex, st_run expects it held.
 */
int st_run(struct store *st, const char *sql, const struct st_param *p,
	   size_t np, char *err, size_t errlen);
int st_run_locked(struct store *st, const char *sql, const struct st_param *p,
		  size_t np, char *err, size_t errlen);
/*
 * Prepares, binds and steps a query once; on a row calls fn (if non-NULL)
 * with the statement. Returns 1 row read, 0 no row, -1 (err set).
 * st_get_locked takes the mutex, st_get expects it held.
 */
int st_get(struct store *st, const char *sql, const struct st_param *p,
	   size_t np, st_row_fn fn, void *arg, char *err, size_t errlen);
int st_get_locked(struct store *st, const char *sql, const struct st_param *p,
		  size_t np, st_row_fn fn, void *arg, char *err, size_t errlen);
/*
 * Under the mutex, calls fn on each row of sql (no parameters) until fn
 * answers non-zero. Returns 0, or -1 (err set).
 */
int st_each_locked(struct store *st, const char *sql, st_row_fn fn, void *arg,
		   char *err, size_t errlen);

/* Runs SQL without values (DDL, transaction control). */
int st_exec(struct store *st, const char *what, const char *sql, char *err,
	    size_t errlen);
/* BEGIN IMMEDIATE (takes the write lock now), COMMIT, ROLLBACK. */
int st_begin(struct store *st, char *err, size_t errlen);
int st_commit(struct store *st, char *err, size_t errlen);
void st_rollback(struct store *st);

/* store_schema.c: applies every migration newer than the database. */
int st_migrate(struct store *st, char *err, size_t errlen);

/* store_crypt.c */
int st_key_load(struct store *st, const char *dir, char *err, size_t errlen);
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
