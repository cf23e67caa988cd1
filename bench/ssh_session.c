/*
 * ssh_session: BENCHMARK ONLY. Records a live login session for a device
 * in mwgd's state store, as a successful `mwg login` would, so that the
 * SSH benchmark takes the jump listener's "device key + live session"
 * path without PAM and TOTP. The device must already be in the store
 * (mwg-testcert --store); mwgd should not be running yet.
 * usage: ssh_session STATE_DIR DEVICE_ID USER [SECONDS]
 *
 * It writes the row with SQLite directly (bench programs link libmwg.a,
 * not the gateway's store code), so it follows gateway/monitor/store_schema.c's
 * sessions table: serial, user, device_id, issued_at, expires_at.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define SESSION_SECONDS_DEFAULT	3600
#define SESSION_SECONDS_MAX	(24 * 3600)
#define BUSY_TIMEOUT_MS		5000

static const char insert_sql[] =
    "INSERT INTO sessions (serial, user, device_id, issued_at, expires_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";

static int
add_session(sqlite3 *db, const char *device, const char *user, long seconds)
{
	sqlite3_stmt *st = NULL;
	char serial[64];
	time_t now = time(NULL);
	int rc;

	snprintf(serial, sizeof(serial), "bench-%lld-%ld", (long long)now,
	    (long)getpid());
	if (sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(db, insert_sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	/* A minute back, so that the clock's second cannot matter. */
	sqlite3_bind_int64(st, 4, (sqlite3_int64)now - 60);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)now + seconds);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
main(int argc, char **argv)
{
	char path[4096];
	sqlite3 *db = NULL;
	long seconds = SESSION_SECONDS_DEFAULT;
	char *end;
	int rc = 1;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: ssh_session STATE_DIR DEVICE_ID USER "
		    "[SECONDS]\n");
		return 2;
	}
	if (argc == 5) {
		errno = 0;
		seconds = strtol(argv[4], &end, 10);
		if (errno || *end || seconds < 1 ||
		    seconds > SESSION_SECONDS_MAX) {
			fprintf(stderr, "ssh_session: SECONDS must be "
			    "1..%d\n", SESSION_SECONDS_MAX);
			return 2;
		}
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/state.db", argv[1]) >=
	    sizeof(path)) {
		fprintf(stderr, "ssh_session: path too long\n");
		return 2;
	}
	/* No CREATE: the store must exist, made by mwg-testcert --store. */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		fprintf(stderr, "ssh_session: %s: %s\n", path,
		    db ? sqlite3_errmsg(db) : "cannot open");
	else if (sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    add_session(db, argv[2], argv[3], seconds) == -1)
		fprintf(stderr, "ssh_session: %s: %s (is device %s in the "
		    "store?)\n", path, sqlite3_errmsg(db), argv[2]);
	else
		rc = 0;
	sqlite3_close(db);
	return rc;
}
