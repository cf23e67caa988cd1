/*
 * The SQLite state store's schema: an ordered list of migrations, each
 * applied in its own transaction and recorded in schema_version. A database
 * newer than this list is refused, since an older mwgd could misread it.
 * gateway/monitor/store_pg_schema.c keeps the same versions for PostgreSQL.
 */
#include <stdint.h>
#include <time.h>

#include "gateway/monitor/store_int.h"

/*
 * migrations[i] takes the schema from version i to i + 1. Append only: a
 * released migration never changes. STRICT tables refuse values of the
 * wrong type instead of storing them.
 */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE devices ("
    "  id TEXT PRIMARY KEY,"
    "  user TEXT NOT NULL,"
    "  practice TEXT NOT NULL,"
    "  managed INTEGER NOT NULL CHECK (managed IN (0, 1)),"
    "  key_fpr TEXT NOT NULL UNIQUE,"
    "  cert_serial TEXT NOT NULL,"
    "  enrolled_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL DEFAULT 0,"
    "  revoked_at INTEGER NOT NULL DEFAULT 0,"
    "  revoke_reason TEXT NOT NULL DEFAULT ''"
    ") STRICT;"
    "CREATE TABLE enrol_codes ("
    "  id TEXT PRIMARY KEY,"
    "  salt BLOB NOT NULL,"
    "  hash BLOB NOT NULL," /* SHA-256(salt | secret) */
    "  user TEXT NOT NULL,"
    "  practice TEXT NOT NULL,"
    "  label TEXT NOT NULL,"
    "  managed INTEGER NOT NULL CHECK (managed IN (0, 1)),"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER NOT NULL DEFAULT 0,"
    "  created_by_uid INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE totp ("
    "  user TEXT PRIMARY KEY,"
    "  secret BLOB NOT NULL," /* nonce | AES-256-GCM | tag */
    "  digits INTEGER NOT NULL CHECK (digits BETWEEN 6 AND 8),"
    "  period INTEGER NOT NULL CHECK (period BETWEEN 1 AND 300),"
    "  last_step INTEGER NOT NULL DEFAULT 0,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  disabled_at INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE TABLE locks ("
    "  kind TEXT NOT NULL CHECK (kind IN ('user', 'device')),"
    "  name TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  created_by_uid INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  until INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (kind, name)"
    ") STRICT;"
    "CREATE TABLE sessions ("
    "  serial TEXT PRIMARY KEY,"
    "  user TEXT NOT NULL,"
    "  device_id TEXT NOT NULL REFERENCES devices (id),"
    "  issued_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX sessions_device ON sessions (device_id);"
    "CREATE TABLE posture ("
    "  device_id TEXT PRIMARY KEY REFERENCES devices (id),"
    "  report TEXT NOT NULL"
    "    CHECK (length(CAST(report AS BLOB)) <= 16384),"
    "  received_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE throttle ("
    "  key TEXT PRIMARY KEY,"
    "  failures INTEGER NOT NULL,"
    "  window_start INTEGER NOT NULL,"
    "  next_allowed_at INTEGER NOT NULL"
    ") STRICT;",
    /*
     * 2: every device certificate ever issued, so the CRL can list a
     * revoked device's older certificates and those replaced at renewal.
     * Triggers keep it, so no writer of devices can forget it.
     */
    "CREATE TABLE device_certs ("
    "  serial TEXT PRIMARY KEY,"
    "  device_id TEXT NOT NULL REFERENCES devices (id),"
    "  expires_at INTEGER NOT NULL,"
    "  replaced_at INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE INDEX device_certs_device ON device_certs (device_id);"
    "INSERT INTO device_certs (serial, device_id, expires_at)"
    "  SELECT cert_serial, id, expires_at FROM devices"
    "  WHERE cert_serial <> '';"
    "CREATE TRIGGER device_certs_enrol AFTER INSERT ON devices"
    "  WHEN NEW.cert_serial <> '' BEGIN"
    "    INSERT OR IGNORE INTO device_certs (serial, device_id, expires_at)"
    "    VALUES (NEW.cert_serial, NEW.id, NEW.expires_at);"
    "  END;"
    "CREATE TRIGGER device_certs_renew AFTER UPDATE OF cert_serial ON devices"
    "  WHEN NEW.cert_serial <> OLD.cert_serial BEGIN"
    "    UPDATE device_certs SET replaced_at = unixepoch()"
    "    WHERE serial = OLD.cert_serial AND replaced_at = 0;"
    "    INSERT OR IGNORE INTO device_certs (serial, device_id, expires_at)"
    "    VALUES (NEW.cert_serial, NEW.id, NEW.expires_at);"
    "  END;",
    /* 3: mwg logout ends a session at the gateway (0: not ended). */
    "ALTER TABLE sessions ADD COLUMN ended_at INTEGER NOT NULL DEFAULT 0;",
    /*
     * 4: for mwgctl totp list and enrol-code withdraw: when a TOTP secret
     * was set (0: before this version recorded it) and when IT withdrew a
     * code (0: not withdrawn; a withdrawn code is never usable).
     */
    "ALTER TABLE totp ADD COLUMN enrolled_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE enrol_codes ADD COLUMN withdrawn_at INTEGER NOT NULL "
    "DEFAULT 0;",
};

#define STORE_SCHEMA_VERSION                                                   \
	((int64_t)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(STORE_POSTURE_MAX == 16384, "posture CHECK in migration 1");

/* Reads the single integer column into arg (an int64_t). */
int
st_int_row(struct store *st, const struct st_row *r, void *arg, char *err,
	   size_t errlen)
{
	(void)st;
	(void)err;
	(void)errlen;
	*(int64_t *)arg = st_col_int(r, 0);
	return 0;
}

/* BEGIN IMMEDIATE (takes the write lock now), COMMIT, ROLLBACK. */
static int
st_begin(struct store *st, char *err, size_t errlen)
{
	return st_exec(st, "begin", "BEGIN IMMEDIATE", err, errlen);
}

static void
st_rollback(struct store *st)
{
	/*
	 * A failed ROLLBACK means SQLite already rolled back (it does on
	 * some errors); either way no transaction is left open.
	 */
	if (sqlite3_get_autocommit(st->db) == 0)
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
st_commit(struct store *st, char *err, size_t errlen)
{
	if (st_exec(st, "commit", "COMMIT", err, errlen) == -1) {
		st_rollback(st);
		return -1;
	}
	return 0;
}

/* The highest version applied, 0 for a new database. */
static int
st_version(struct store *st, int64_t *vp, char *err, size_t errlen)
{
	return st_get(st,
		      "SELECT coalesce(max(version), 0) "
		      "FROM schema_version",
		      ST_NOARGS, st_int_row, vp, err, errlen) == 1
		   ? 0
		   : -1;
}

static int
st_record_version(struct store *st, int64_t v, char *err, size_t errlen)
{
	return st_run(st,
		      "INSERT INTO schema_version (version, applied_at) "
		      "VALUES (?1, ?2)",
		      ST_ARGS(ST_INT(v), ST_INT(time(NULL))), err, errlen) == 1
		   ? 0
		   : -1;
}

/*
 * Applies migration v (1-based) unless another process did while we
 * waited: the version is read again inside the write transaction.
 */
static int
st_apply(struct store *st, int64_t v, char *err, size_t errlen)
{
	int64_t now;

	if (st_begin(st, err, errlen) == -1)
		return -1;
	if (st_version(st, &now, err, errlen) == -1)
		goto fail;
	if (now >= v)
		return st_commit(st, err, errlen);
	if (st_exec(st, "migration", migrations[v - 1], err, errlen) == -1 ||
	    st_record_version(st, v, err, errlen) == -1)
		goto fail;
	return st_commit(st, err, errlen);
fail:
	st_rollback(st);
	return -1;
}

int
st_migrate(struct store *st, char *err, size_t errlen)
{
	int64_t v;

	if (st_exec(st, "schema_version",
		    "CREATE TABLE IF NOT EXISTS "
		    "schema_version ("
		    "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) "
		    "STRICT",
		    err, errlen) == -1)
		return -1;
	if (st_version(st, &v, err, errlen) == -1)
		return -1;
	if (v > STORE_SCHEMA_VERSION) {
		st_err(err, errlen,
		       "%s has schema version %lld, newer than "
		       "this program knows (%lld): refusing to open it",
		       STORE_DB_FILE, (long long)v,
		       (long long)STORE_SCHEMA_VERSION);
		return -1;
	}
	for (; v < STORE_SCHEMA_VERSION; v++)
		if (st_apply(st, v + 1, err, errlen) == -1)
			return -1;
	return 0;
}
