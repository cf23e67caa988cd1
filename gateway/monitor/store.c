/*
 * The state store's connection: opening state.db with the settings the
 * security rules depend on (or PostgreSQL, gateway/monitor/store_pg.c), the mutex
 * that makes one connection safe for every thread, and the statement and
 * row helpers the store_*.c files share, switched by back-end here.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/safefile.h"
#include "common/xmalloc.h"
#include "gateway/monitor/store_int.h"

/*
 * How long a statement waits for another connection's write lock (mwgctl
 * reading, a second mwgd during a restart) before it fails.
 */
#define STORE_BUSY_MS 5000

static int st_db_file(const char *path, char *err, size_t errlen);
static int st_dir_check(const char *dir, char *err, size_t errlen);
static int st_settings(struct store *st, char *err, size_t errlen);
static int st_pragma(struct store *st, const char *sql, const char *want,
		     char *err, size_t errlen);
static int st_prepare(struct store *st, const char *sql, sqlite3_stmt **sp,
		      char *err, size_t errlen);
static int st_step_row(struct store *st, sqlite3_stmt *s, char *err,
		       size_t errlen);
static void st_finish(sqlite3_stmt *s);

/* Makes dir if missing, checks it and makes the struct, yet unconnected. */
static struct store *
st_new(const char *dir, char *err, size_t errlen)
{
	struct store *st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		st_err(err, errlen, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	if (st_dir_check(dir, err, errlen) == -1)
		return NULL;
	st = xcalloc(1, sizeof(*st));
	if (pthread_mutex_init(&st->mu, NULL) != 0) {
		st_err(err, errlen, "%s: cannot make a mutex", __func__);
		free(st);
		return NULL;
	}
	return st;
}

struct store *
store_open(const char *dir, char *err, size_t errlen)
{
	struct store *st;
	char path[PATH_MAX];
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_FILE);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		st_err(err, errlen, "%s: path too long", dir);
		return NULL;
	}
	if ((st = st_new(dir, err, errlen)) == NULL)
		return NULL;
	if (st_db_file(path, err, errlen) == -1) {
		store_close(st);
		return NULL;
	}
	/* NOMUTEX: st->mu already serialises every use of the connection. */
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
				SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		st_err(err, errlen, "%s: %s", path,
		       st->db == NULL ? "out of memory"
				      : sqlite3_errmsg(st->db));
		store_close(st);
		return NULL;
	}
	if (st_settings(st, err, errlen) == -1 ||
	    st_migrate(st, err, errlen) == -1 ||
	    st_key_load(st, dir, err, errlen) == -1) {
		store_close(st);
		return NULL;
	}
	return st;
}

/*
 * PostgreSQL: the tables live in the database conninfo names; dir keeps
 * secrets.key, which every node sharing the database must hold alike.
 */
static struct store *
st_open_pg(const char *dir, const char *conninfo, char *err, size_t errlen)
{
	struct store *st;

	if ((st = st_new(dir, err, errlen)) == NULL)
		return NULL;
	st->pg_conninfo = xstrdup(conninfo);
	if ((st->pg = st_pg_connect(conninfo, err, errlen)) == NULL ||
	    st_pg_migrate(st, err, errlen) == -1 ||
	    st_key_load(st, dir, err, errlen) == -1 ||
	    st_key_check(st, dir, err, errlen) == -1) {
		store_close(st);
		return NULL;
	}
	return st;
}

struct store *
store_open_with(const char *dir, const char *pg_conninfo, char *err,
		size_t errlen)
{
	if (pg_conninfo == NULL)
		return store_open(dir, err, errlen);
	return st_open_pg(dir, pg_conninfo, err, errlen);
}

int
store_unavailable(struct store *st)
{
	int rc;

	if (st == NULL || st->pg == NULL)
		return 0;
	st_enter(st);
	rc = st_pg_unavailable(st->pg);
	st_leave(st);
	return rc;
}

const char *
store_backend(const struct store *st)
{
	return st->pg != NULL ? "postgresql" : "sqlite";
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	/*
	 * Every statement is finalised before its function returns, so close
	 * cannot find one busy; its answer has nothing left to act on.
	 */
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("%s: %s", __func__, sqlite3_errmsg(st->db));
	st_pg_close(st->pg);
	free(st->pg_conninfo);
	OPENSSL_cleanse(st->key, sizeof(st->key));
	pthread_mutex_destroy(&st->mu);
	free(st);
}

/*
 * Makes state.db 0600 before SQLite sees it: SQLite would create it 0644,
 * and gives its -wal and -shm files the database file's mode. An existing
 * file that group or others can open is refused, not silently fixed.
 */
static int
st_db_file(const char *path, char *err, size_t errlen)
{
	char why[SAFEFILE_ERR_MAX];
	struct stat sb;
	int fd, rc, made;

	fd = safefile_open(path, O_RDWR | O_CREAT, 0600, &made, why,
			   sizeof(why));
	if (fd == -1) {
		st_err(err, errlen, "%s", why);
		return -1;
	}
	if (made && fchmod(fd, 0600) == -1) {
		st_err(err, errlen, "%s: chmod: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	rc = st_check_private(fd, path, "in", &sb, err, errlen);
	close(fd);
	return rc;
}

/*
 * The state-dir holds the TOTP key and the store: a directory that others
 * could write, or one reached through a link its user could change, is
 * refused (common/safefile says which and why).
 */
static int
st_dir_check(const char *dir, char *err, size_t errlen)
{
	char why[SAFEFILE_ERR_MAX];
	int dfd;

	if ((dfd = safefile_dir_open(dir, why, sizeof(why))) == -1) {
		st_err(err, errlen, "state-dir: %s", why);
		return -1;
	}
	close(dfd);
	return 0;
}

/*
 * The connection settings. synchronous=FULL: in WAL mode the default
 * (NORMAL) may lose the last commits on power loss, and a lost commit here
 * is a TOTP step or an enrolment code that becomes usable again.
 * secure_delete overwrites freed pages, so replaced secrets do not linger.
 */
static int
st_settings(struct store *st, char *err, size_t errlen)
{
	int on = 0;

	if (sqlite3_extended_result_codes(st->db, 1) != SQLITE_OK ||
	    sqlite3_busy_timeout(st->db, STORE_BUSY_MS) != SQLITE_OK)
		return st_dberr(st, __func__, err, errlen);
	/* Defensive: no writable_schema tricks through this connection. */
	if (sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) !=
		SQLITE_OK ||
	    on != 1)
		return st_dberr(st, "defensive mode", err, errlen);
	if (st_pragma(st, "PRAGMA journal_mode = WAL", "wal", err, errlen) ==
		-1 ||
	    st_pragma(st, "PRAGMA synchronous = FULL", NULL, err, errlen) ==
		-1 ||
	    st_pragma(st, "PRAGMA secure_delete = ON", "1", err, errlen) ==
		-1 ||
	    st_pragma(st, "PRAGMA trusted_schema = OFF", NULL, err, errlen) ==
		-1 ||
	    st_pragma(st, "PRAGMA foreign_keys = ON", NULL, err, errlen) ==
		-1 ||
	    st_pragma(st, "PRAGMA foreign_keys", "1", err, errlen) == -1 ||
	    st_pragma(st, "PRAGMA synchronous", "2", err, errlen) == -1)
		return -1;
	return 0;
}

/* Runs a pragma; if want is set, its first answer must be want. */
static int
st_pragma(struct store *st, const char *sql, const char *want, char *err,
	  size_t errlen)
{
	sqlite3_stmt *s;
	const unsigned char *got;
	int rc;

	if (st_prepare(st, sql, &s, err, errlen) == -1)
		return -1;
	rc = st_step_row(st, s, err, errlen);
	if (rc == 1 && want != NULL) {
		got = sqlite3_column_text(s, 0);
		if (got == NULL || strcmp((const char *)got, want) != 0) {
			st_err(err, errlen, "%s: got %s, want %s", sql,
			       got == NULL ? "nothing" : (const char *)got,
			       want);
			rc = -1;
		}
	} else if (rc == 0 && want != NULL) {
		st_err(err, errlen, "%s: no answer", sql);
		rc = -1;
	}
	while (rc == 1)
		rc = st_step_row(st, s, err, errlen);
	st_finish(s);
	return rc == -1 ? -1 : 0;
}

/* ---- helpers shared by store_*.c ------------------------------------------
 */

void
st_enter(struct store *st)
{
	/* Fails only on a destroyed or foreign mutex: a bug, not a state. */
	if (pthread_mutex_lock(&st->mu) != 0)
		fatalx("%s: pthread_mutex_lock", __func__);
}

void
st_leave(struct store *st)
{
	if (pthread_mutex_unlock(&st->mu) != 0)
		fatalx("%s: pthread_mutex_unlock", __func__);
}

/* Every database failure, for monitoring (all stores of the process). */
static atomic_ullong st_errors;

void
st_count_error(void)
{
	atomic_fetch_add_explicit(&st_errors, 1, memory_order_relaxed);
}

int
st_dberr(struct store *st, const char *what, char *err, size_t errlen)
{
	st_count_error();
	st_err(err, errlen, "%s: %s", what, sqlite3_errmsg(st->db));
	return -1;
}

unsigned long long
store_errors_total(void)
{
	return atomic_load(&st_errors);
}

const char *
st_db_name(const struct store *st)
{
	return st->pg != NULL ? "the PostgreSQL store" : STORE_DB_FILE;
}

int
st_check_len(const char *what, const char *s, size_t max, char *err,
	     size_t errlen)
{
	size_t len;

	if (s == NULL || *s == '\0') {
		st_err(err, errlen, "%s is empty", what);
		return -1;
	}
	len = strnlen(s, max);
	if (len >= max) {
		st_err(err, errlen, "%s is longer than %zu bytes", what,
		       max - 1);
		return -1;
	}
	return 0;
}

int
st_check_private(int fd, const char *path, const char *lets, struct stat *sb,
		 char *err, size_t errlen)
{
	if (fstat(fd, sb) == -1) {
		st_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb->st_mode)) {
		st_err(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (sb->st_nlink != 1 || sb->st_uid != geteuid()) {
		st_err(err, errlen,
		       "%s: owned by uid %u with %u links; want uid %u and "
		       "one link",
		       path, (unsigned int)sb->st_uid,
		       (unsigned int)sb->st_nlink, (unsigned int)geteuid());
		return -1;
	}
	if ((sb->st_mode & 077) != 0) {
		st_err(err, errlen,
		       "%s: mode %04o lets group or others %s; want 0600", path,
		       (unsigned int)(sb->st_mode & 07777), lets);
		return -1;
	}
	return 0;
}

/* ---- rows ------------------------------------------------------------- */

int64_t
st_col_int(const struct st_row *r, int col)
{
	if (r->s == NULL)
		return st_pg_col_int(r, col);
	return sqlite3_column_int64(r->s, col);
}

int
st_col_is_null(const struct st_row *r, int col)
{
	if (r->s == NULL)
		return st_pg_col_is_null(r, col);
	return sqlite3_column_type(r->s, col) == SQLITE_NULL;
}

/* Text column col and its length; NULL for SQL NULL (or no memory). */
static const char *
st_col_ptr(const struct st_row *r, int col, size_t *lenp)
{
	const unsigned char *t;
	int len;

	if (r->s == NULL)
		return st_pg_col_text(r, col, lenp);
	t = sqlite3_column_text(r->s, col);
	len = sqlite3_column_bytes(r->s, col);
	*lenp = len < 0 ? 0 : (size_t)len;
	return (const char *)t;
}

int
st_col_text(struct store *st, const struct st_row *r, int col, char *buf,
	    size_t size, char *err, size_t errlen)
{
	const char *t;
	size_t len = 0;

	t = st_col_ptr(r, col, &len);
	if (t == NULL && r->s != NULL &&
	    sqlite3_errcode(st->db) == SQLITE_NOMEM)
		return st_dberr(st, "read", err, errlen);
	if (t == NULL) {
		buf[0] = '\0';
		return 0;
	}
	if (len >= size) {
		st_err(err, errlen, "stored column %d is longer than %zu bytes",
		       col, size - 1);
		return -1;
	}
	memcpy(buf, t, len);
	buf[len] = '\0';
	return 0;
}

char *
st_col_strdup(const struct st_row *r, int col)
{
	const char *t;
	size_t len = 0;
	char *out;

	t = st_col_ptr(r, col, &len);
	out = xmalloc(len + 1);
	if (t != NULL)
		memcpy(out, t, len);
	out[t == NULL ? 0 : len] = '\0';
	return out;
}

int
st_col_blob(struct store *st, const struct st_row *r, int col, void *buf,
	    size_t size, size_t *lenp, char *err, size_t errlen)
{
	const void *b;
	int len;

	(void)st;
	if (r->s == NULL) {
		if (st_pg_col_blob(r, col, buf, size, lenp) == 0)
			return 0;
	} else {
		b = sqlite3_column_blob(r->s, col);
		len = sqlite3_column_bytes(r->s, col);
		if (b != NULL && len > 0 && (size_t)len <= size) {
			memcpy(buf, b, (size_t)len);
			*lenp = (size_t)len;
			return 0;
		}
	}
	st_err(err, errlen,
	       "stored column %d is empty or longer than %zu "
	       "bytes",
	       col, size);
	return -1;
}

/* ---- statements --------------------------------------------------------- */

static int
st_prepare(struct store *st, const char *sql, sqlite3_stmt **sp, char *err,
	   size_t errlen)
{
	*sp = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, sp, NULL) != SQLITE_OK) {
		st_finish(*sp);
		*sp = NULL;
		return st_dberr(st, "prepare", err, errlen);
	}
	return 0;
}

/* Steps a statement that returns no row: the rows it changed,
 * STORE_CONSTRAINT, or -1 (err set). */
static int
st_step_done(struct store *st, sqlite3_stmt *s, char *err, size_t errlen)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return sqlite3_changes(st->db);
	st_dberr(st, "write", err, errlen);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return STORE_CONSTRAINT;
	return -1;
}

/* Steps a query: 1 a row is ready, 0 no more rows, -1 (err set). */
static int
st_step_row(struct store *st, sqlite3_stmt *s, char *err, size_t errlen)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return st_dberr(st, "read", err, errlen);
}

static void
st_finish(sqlite3_stmt *s)
{
	/*
	 * sqlite3_finalize repeats the last step's error, which the caller
	 * has already handled; on a NULL statement it is a no-op.
	 */
	(void)sqlite3_finalize(s);
}

/* Prepares sql and binds p[0..np-1] to ?1..?np ("bind" error on failure). */
static int
st_prepare_bind(struct store *st, const char *sql, const struct st_param *p,
		size_t np, sqlite3_stmt **sp, char *err, size_t errlen)
{
	size_t i;
	int idx, rc = SQLITE_OK;

	if (st_prepare(st, sql, sp, err, errlen) == -1)
		return -1;
	for (i = 0; i < np && rc == SQLITE_OK; i++) {
		idx = (int)i + 1;
		switch (p[i].type) {
		case ST_P_TEXT:
			rc = sqlite3_bind_text(*sp, idx, p[i].text, -1,
					       SQLITE_STATIC);
			break;
		case ST_P_INT:
			rc = sqlite3_bind_int64(*sp, idx, p[i].i);
			break;
		case ST_P_BLOB:
			rc = sqlite3_bind_blob(*sp, idx, p[i].blob, p[i].len,
					       SQLITE_STATIC);
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	if (rc != SQLITE_OK) {
		st_dberr(st, "bind", err, errlen);
		st_finish(*sp);
		*sp = NULL;
		return -1;
	}
	return 0;
}

int
st_run(struct store *st, const char *sql, const struct st_param *p, size_t np,
       char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if (st->pg != NULL)
		return st_pg_run(st, sql, p, np, err, errlen);
	if (st_prepare_bind(st, sql, p, np, &s, err, errlen) == -1)
		return -1;
	rc = st_step_done(st, s, err, errlen);
	st_finish(s);
	return rc;
}

int
st_run_locked(struct store *st, const char *sql, const struct st_param *p,
	      size_t np, char *err, size_t errlen)
{
	int rc;

	st_enter(st);
	rc = st_run(st, sql, p, np, err, errlen);
	st_leave(st);
	return rc;
}

/*
 * Steps s through its rows, calling fn on each (all: until fn answers
 * non-zero; else the first only). The rest are stepped over, so that a
 * write with RETURNING completes. Returns the rows seen by fn, or -1.
 */
static int
st_sqlite_rows(struct store *st, sqlite3_stmt *s, st_row_fn fn, void *arg,
	       int all, char *err, size_t errlen)
{
	struct st_row row = {.s = s};
	int rc, n = 0, stop = 0;

	while ((rc = st_step_row(st, s, err, errlen)) == 1) {
		if (stop)
			continue;
		n++;
		if (fn != NULL && (rc = fn(st, &row, arg, err, errlen)) != 0) {
			if (rc == -1)
				return -1;
			stop = 1;
		}
		if (!all)
			stop = 1;
	}
	return rc == -1 ? -1 : n;
}

int
st_get(struct store *st, const char *sql, const struct st_param *p, size_t np,
       st_row_fn fn, void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if (st->pg != NULL)
		return st_pg_query(st, sql, p, np, fn, arg, 0, err, errlen);
	if (st_prepare_bind(st, sql, p, np, &s, err, errlen) == -1)
		return -1;
	rc = st_sqlite_rows(st, s, fn, arg, 0, err, errlen);
	st_finish(s);
	return rc;
}

int
st_get_locked(struct store *st, const char *sql, const struct st_param *p,
	      size_t np, st_row_fn fn, void *arg, char *err, size_t errlen)
{
	int rc;

	st_enter(st);
	rc = st_get(st, sql, p, np, fn, arg, err, errlen);
	st_leave(st);
	return rc;
}

int
st_each_locked(struct store *st, const char *sql, const struct st_param *p,
	       size_t np, st_row_fn fn, void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc = -1;

	st_enter(st);
	if (st->pg != NULL)
		rc = st_pg_query(st, sql, p, np, fn, arg, 1, err, errlen);
	else if (st_prepare_bind(st, sql, p, np, &s, err, errlen) == 0) {
		rc = st_sqlite_rows(st, s, fn, arg, 1, err, errlen);
		st_finish(s);
	}
	st_leave(st);
	return rc == -1 ? -1 : 0;
}

int
st_exec(struct store *st, const char *what, const char *sql, char *err,
	size_t errlen)
{
	if (st->pg != NULL)
		return st_pg_exec(st, what, sql, err, errlen);
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return st_dberr(st, what, err, errlen);
	return 0;
}
