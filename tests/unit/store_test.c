/*
 * gateway/store on SQLite: the files and their modes here, then every
 * case of store_cases.h (which store_pg_test.c runs on PostgreSQL). The
 * raw database is opened with SQLite directly to check what is (and is
 * not) on disk and to tamper.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "gateway/monitor/store.h"
#include "unit.h"

#define NOW 1790000000 /* a fixed "now" for every test */
#define RACERS 8
#define SCHEMA_VERSION 4 /* migrations in gateway/monitor/store_schema.c */
#define DB_NAME "state.db" /* as the store's messages name it */
/* SQL: 1 if blob column col holds the bytes of text literal lit. */
#define SQL_BLOB_HOLDS(col, lit) "instr(" col ", CAST('" lit "' AS BLOB)) > 0"

static char dir[64];
static char db_path[PATH_MAX];
static char key_path[PATH_MAX];
static char err[STORE_ERR_MAX];

/* RFC 6238's test secret: easy to spot if it ever reaches the disk. */
static const unsigned char totp_secret[] = "12345678901234567890";
#define TOTP_LEN (sizeof(totp_secret) - 1)

static void
setup(void)
{
	umask(022); /* the store must not rely on a strict umask */
	make_tmp_dir(dir, sizeof(dir), "mwg-store-test");
	path_in(db_path, dir, STORE_DB_FILE);
	path_in(key_path, dir, STORE_KEY_FILE);
	err[0] = '\0';
}

static void
teardown(void)
{
	remove_tree(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

/* A store on dir, or NULL with err set. */
static struct store *
reopen_store(void)
{
	return store_open(dir, err, sizeof(err));
}

static struct store *
open_store(void)
{
	struct store *st = reopen_store();

	cr_assert_not_null(st, "store_open: %s", err);
	return st;
}

/* ---- raw access to state.db -------------------------------------------- */

static sqlite3 *
raw_open(void)
{
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
	return db;
}

static void
raw_exec(const char *sql)
{
	sqlite3 *db = raw_open();

	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK,
		     "%s: %s", sql, sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_close(db), SQLITE_OK);
}

/* The first column of the first row of sql, as an integer. */
static long long
raw_int(const char *sql)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *s;
	long long v;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK,
		     "%s: %s", sql, sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "%s", sql);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	cr_assert_eq(sqlite3_close(db), SQLITE_OK);
	return v;
}

/* Reads user's sealed TOTP secret into buf; returns its length. */
static int
raw_sealed(const char *user, unsigned char *buf, size_t size)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *s;
	int len;

	cr_assert_eq(sqlite3_prepare_v2(db,
					"SELECT secret FROM totp "
					"WHERE \"user\" = ?1",
					-1, &s, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	len = sqlite3_column_bytes(s, 0);
	cr_assert_leq((size_t)len, size);
	memcpy(buf, sqlite3_column_blob(s, 0), (size_t)len);
	sqlite3_finalize(s);
	cr_assert_eq(sqlite3_close(db), SQLITE_OK);
	return len;
}

static void
raw_set_sealed(const char *user, const unsigned char *buf, int len)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *s;

	cr_assert_eq(sqlite3_prepare_v2(db,
					"UPDATE totp SET secret = ?1 "
					"WHERE \"user\" = ?2",
					-1, &s, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_bind_blob(s, 1, buf, len, SQLITE_STATIC),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_bind_text(s, 2, user, -1, SQLITE_STATIC),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_step(s), SQLITE_DONE);
	cr_assert_eq(sqlite3_changes(db), 1);
	sqlite3_finalize(s);
	cr_assert_eq(sqlite3_close(db), SQLITE_OK);
}

/* 1 if the file at path holds needle anywhere; a missing file holds none. */
static int
file_holds(const char *path, const void *needle, size_t len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;
	int found;

	if (f == NULL)
		return 0;
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	cr_assert_geq(size = ftell(f), 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	found = memmem(buf, (size_t)size, needle, len) != NULL;
	free(buf);
	return found;
}

/* 1 if state.db or its write-ahead log holds needle. */
static int
state_holds(const void *needle, size_t len)
{
	char wal[PATH_MAX + 8];

	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	return file_holds(db_path, needle, len) || file_holds(wal, needle, len);
}

static mode_t
file_mode(const char *path)
{
	struct stat sb;

	cr_assert_eq(stat(path, &sb), 0, "%s", path);
	return sb.st_mode & 07777;
}

/* ---- files, modes and schema -------------------------------------------- */

Test(store, open_creates_private_files_in_wal_mode)
{
	struct store *st = open_store();
	char wal[PATH_MAX + 8];
	struct stat sb;
	sqlite3 *db;
	sqlite3_stmt *s;

	cr_assert_eq(file_mode(db_path), 0600);
	cr_assert_eq(file_mode(key_path), 0600);
	cr_assert_eq(stat(key_path, &sb), 0);
	cr_assert_eq(sb.st_size, 32);
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	cr_assert_eq(file_mode(wal), 0600, "the WAL takes the db's mode");
	db = raw_open();
	cr_assert_eq(
	    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);
	cr_assert_eq(raw_int("SELECT max(version) FROM schema_version"),
		     SCHEMA_VERSION);
	store_close(st);
	store_close(NULL);
	ASSERT_NO_LEAKS();
}

Test(store, loose_database_file_is_refused)
{
	char want[PATH_MAX + 128];

	store_close(open_store());
	cr_assert_eq(chmod(db_path, 0644), 0);
	cr_assert_null(store_open(dir, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "%s: mode 0644 lets group or others in; "
		 "want 0600",
		 db_path);
	cr_assert_str_eq(err, want);
	cr_assert_eq(store_unavailable(NULL), 0);
	ASSERT_NO_LEAKS();
}

Test(store, sqlite_is_never_unavailable)
{
	struct store *st = open_store();

	cr_assert_str_eq(store_backend(st), "sqlite");
	cr_assert_eq(store_unavailable(st), 0);
	store_close(st);
	st = store_open_with(dir, NULL, err, sizeof(err));
	cr_assert_not_null(st, "%s", err);
	cr_assert_str_eq(store_backend(st), "sqlite", "NULL conninfo: SQLite");
	store_close(st);
	ASSERT_NO_LEAKS();
}

#include "store_cases.h"
