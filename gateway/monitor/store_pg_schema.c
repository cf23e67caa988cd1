/*
 * The PostgreSQL state store's schema: the same versions as the SQLite
 * one (gateway/monitor/store_schema.c), written for PostgreSQL, and a fifth and
 * sixth that only several nodes need; applied in one transaction under an advisory
 * lock so that nodes starting together migrate once, and recorded in
 * schema_version.
 */
#include <stdint.h>
#include <time.h>

#include "gateway/monitor/store_int.h"

/*
 * Taken by every node before it reads or changes the schema: "mwg-st" in
 * ASCII, so no other user of the database is likely to pick it.
 */
#define PG_SCHEMA_LOCK "109951769060212" /* 0x6d77672d7374 */

/*
 * migrations[i] takes the schema from version i to i + 1, as the SQLite
 * list does. Append only. Integers are BIGINT (SQLite's INTEGER); text is
 * COLLATE "C", so ORDER BY and equality are bytewise as in SQLite whatever
 * locale the cluster was made with; "user" is quoted (a reserved word).
 */
static const char *const pg_migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE devices ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  \"user\" TEXT COLLATE \"C\" NOT NULL,"
    "  practice TEXT COLLATE \"C\" NOT NULL,"
    "  managed BIGINT NOT NULL CHECK (managed IN (0, 1)),"
    "  key_fpr TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  cert_serial TEXT COLLATE \"C\" NOT NULL,"
    "  enrolled_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  last_seen_at BIGINT NOT NULL DEFAULT 0,"
    "  revoked_at BIGINT NOT NULL DEFAULT 0,"
    "  revoke_reason TEXT COLLATE \"C\" NOT NULL DEFAULT ''"
    ");"
    "CREATE TABLE enrol_codes ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  salt BYTEA NOT NULL,"
    "  hash BYTEA NOT NULL," /* SHA-256(salt | secret) */
    "  \"user\" TEXT COLLATE \"C\" NOT NULL,"
    "  practice TEXT COLLATE \"C\" NOT NULL,"
    "  label TEXT COLLATE \"C\" NOT NULL,"
    "  managed BIGINT NOT NULL CHECK (managed IN (0, 1)),"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  used_at BIGINT NOT NULL DEFAULT 0,"
    "  created_by_uid BIGINT NOT NULL"
    ");"
    "CREATE TABLE totp ("
    "  \"user\" TEXT COLLATE \"C\" PRIMARY KEY,"
    "  secret BYTEA NOT NULL," /* nonce | AES-256-GCM | tag */
    "  digits BIGINT NOT NULL CHECK (digits BETWEEN 6 AND 8),"
    "  period BIGINT NOT NULL CHECK (period BETWEEN 1 AND 300),"
    "  last_step BIGINT NOT NULL DEFAULT 0,"
    "  failures BIGINT NOT NULL DEFAULT 0,"
    "  disabled_at BIGINT NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE locks ("
    "  kind TEXT COLLATE \"C\" NOT NULL CHECK (kind IN ('user', 'device')),"
    "  name TEXT COLLATE \"C\" NOT NULL,"
    "  reason TEXT COLLATE \"C\" NOT NULL,"
    "  created_by_uid BIGINT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  until BIGINT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (kind, name)"
    ");"
    "CREATE TABLE sessions ("
    "  serial TEXT COLLATE \"C\" PRIMARY KEY,"
    "  \"user\" TEXT COLLATE \"C\" NOT NULL,"
    "  device_id TEXT COLLATE \"C\" NOT NULL REFERENCES devices (id),"
    "  issued_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL"
    ");"
    "CREATE INDEX sessions_device ON sessions (device_id);"
    "CREATE TABLE posture ("
    "  device_id TEXT COLLATE \"C\" PRIMARY KEY REFERENCES devices (id),"
    "  report TEXT NOT NULL CHECK (octet_length(report) <= 16384),"
    "  received_at BIGINT NOT NULL"
    ");"
    "CREATE TABLE throttle ("
    "  key TEXT COLLATE \"C\" PRIMARY KEY,"
    "  failures BIGINT NOT NULL,"
    "  window_start BIGINT NOT NULL,"
    "  next_allowed_at BIGINT NOT NULL"
    ");",
    /*
     * 2: every device certificate ever issued (the CRL), kept by
     * triggers as in SQLite. SET search_path FROM CURRENT: the functions
     * find the tables of the schema they were made in, whatever the
     * caller's search_path.
     */
    "CREATE TABLE device_certs ("
    "  serial TEXT COLLATE \"C\" PRIMARY KEY,"
    "  device_id TEXT COLLATE \"C\" NOT NULL REFERENCES devices (id),"
    "  expires_at BIGINT NOT NULL,"
    "  replaced_at BIGINT NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX device_certs_device ON device_certs (device_id);"
    "INSERT INTO device_certs (serial, device_id, expires_at)"
    "  SELECT cert_serial, id, expires_at FROM devices"
    "  WHERE cert_serial <> '' ON CONFLICT DO NOTHING;"
    "CREATE FUNCTION device_certs_enrol() RETURNS trigger"
    "  LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$ BEGIN"
    "    INSERT INTO device_certs (serial, device_id, expires_at)"
    "    VALUES (NEW.cert_serial, NEW.id, NEW.expires_at)"
    "    ON CONFLICT DO NOTHING;"
    "    RETURN NULL;"
    "  END $f$;"
    "CREATE TRIGGER device_certs_enrol AFTER INSERT ON devices"
    "  FOR EACH ROW WHEN (NEW.cert_serial <> '')"
    "  EXECUTE FUNCTION device_certs_enrol();"
    "CREATE FUNCTION device_certs_renew() RETURNS trigger"
    "  LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$ BEGIN"
    "    UPDATE device_certs"
    "    SET replaced_at = floor(extract(epoch FROM now()))::bigint"
    "    WHERE serial = OLD.cert_serial AND replaced_at = 0;"
    "    INSERT INTO device_certs (serial, device_id, expires_at)"
    "    VALUES (NEW.cert_serial, NEW.id, NEW.expires_at)"
    "    ON CONFLICT DO NOTHING;"
    "    RETURN NULL;"
    "  END $f$;"
    "CREATE TRIGGER device_certs_renew AFTER UPDATE OF cert_serial"
    "  ON devices FOR EACH ROW"
    "  WHEN (NEW.cert_serial <> OLD.cert_serial)"
    "  EXECUTE FUNCTION device_certs_renew();",
    /* 3: mwg logout ends a session at the gateway (0: not ended). */
    "ALTER TABLE sessions ADD COLUMN ended_at BIGINT NOT NULL DEFAULT 0;",
    /* 4: when a TOTP secret was set, when IT withdrew a code. */
    "ALTER TABLE totp ADD COLUMN enrolled_at BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE enrol_codes ADD COLUMN withdrawn_at BIGINT NOT NULL "
    "DEFAULT 0;",
    /*
     * 5 (PostgreSQL only: one node's SQLite needs no such check): which
     * secrets.key seals the TOTP secrets, as an HMAC of a fixed label
     * under the key (never the key), so that a node holding another key
     * refuses to start instead of sealing secrets the others cannot open.
     */
    "CREATE TABLE store_key ("
    "  one BIGINT PRIMARY KEY CHECK (one = 1),"
    "  key_id BYTEA NOT NULL,"
    "  recorded_at BIGINT NOT NULL"
    ");",
    /*
     * 6 (PostgreSQL only): every change that the nodes mirror in memory
     * is announced on channel mwg_changes.SCHEMA (so that deployments
     * sharing a database in schemas of their own do not hear each
     * other) by the changing transaction
     * itself (delivered at its commit, lost with its rollback): "L KIND
     * NAME" a lock added, changed or removed; "D ID" a device enrolled,
     * renewed, revoked or made (un)managed; "S SERIAL" a session ended;
     * "P ID" a posture report. Each node reads the row again.
     */
    "CREATE FUNCTION mwg_changed() RETURNS trigger"
    "  LANGUAGE plpgsql SET search_path FROM CURRENT AS $f$"
    "  DECLARE j jsonb; p text := TG_ARGV[0]; BEGIN"
    "    IF TG_OP = 'DELETE' THEN j := to_jsonb(OLD);"
    "    ELSE j := to_jsonb(NEW); END IF;"
    "    FOR i IN 1 .. TG_NARGS - 1 LOOP"
    "      p := p || ' ' || (j ->> TG_ARGV[i]);"
    "    END LOOP;"
    "    PERFORM pg_notify('mwg_changes.' || current_schema(), p);"
    "    RETURN NULL;"
    "  END $f$;"
    "CREATE TRIGGER locks_changed AFTER INSERT OR UPDATE OR DELETE"
    "  ON locks FOR EACH ROW EXECUTE FUNCTION mwg_changed('L', 'kind',"
    "  'name');"
    "CREATE TRIGGER devices_changed AFTER INSERT OR UPDATE OF managed,"
    "  revoked_at, cert_serial ON devices FOR EACH ROW"
    "  EXECUTE FUNCTION mwg_changed('D', 'id');"
    "CREATE TRIGGER sessions_changed AFTER UPDATE OF ended_at ON sessions"
    "  FOR EACH ROW WHEN (NEW.ended_at <> 0)"
    "  EXECUTE FUNCTION mwg_changed('S', 'serial');"
    "CREATE TRIGGER posture_changed AFTER INSERT OR UPDATE ON posture"
    "  FOR EACH ROW EXECUTE FUNCTION mwg_changed('P', 'device_id');",
};

#define PG_SCHEMA_VERSION                                                      \
	((int64_t)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

_Static_assert(STORE_POSTURE_MAX == 16384, "posture CHECK in migration 1");

static int
st_pg_version_row(struct store *st, const struct st_row *r, void *arg,
		  char *err, size_t errlen)
{
	(void)st;
	(void)err;
	(void)errlen;
	*(int64_t *)arg = st_col_int(r, 0);
	return 0;
}

/* Inside the transaction: applies every migration after version v. */
static int
st_pg_apply(struct store *st, int64_t v, char *err, size_t errlen)
{
	for (; v < PG_SCHEMA_VERSION; v++) {
		if (st_exec(st, "migration", pg_migrations[v], err, errlen) ==
			-1 ||
		    st_run(st,
			   "INSERT INTO schema_version (version, applied_at) "
			   "VALUES (?1, ?2)",
			   ST_ARGS(ST_INT(v + 1), ST_INT(time(NULL))), err,
			   errlen) != 1)
			return -1;
	}
	return 0;
}

/* Reads the version and migrates, in the caller's transaction. */
static int
st_pg_migrate_locked(struct store *st, char *err, size_t errlen)
{
	int64_t v = 0;

	if (st_get(st, "SELECT pg_advisory_xact_lock(" PG_SCHEMA_LOCK ")",
		   ST_NOARGS, NULL, NULL, err, errlen) != 1 ||
	    st_exec(st, "schema_version",
		    "CREATE TABLE IF NOT EXISTS schema_version ("
		    "version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
		    err, errlen) == -1 ||
	    st_get(st, "SELECT coalesce(max(version), 0) FROM schema_version",
		   ST_NOARGS, st_pg_version_row, &v, err, errlen) != 1)
		return -1;
	if (v > PG_SCHEMA_VERSION) {
		st_err(err, errlen,
		       "%s has schema version %lld, newer than this program "
		       "knows (%lld): refusing to open it",
		       st_db_name(st), (long long)v,
		       (long long)PG_SCHEMA_VERSION);
		return -1;
	}
	return st_pg_apply(st, v, err, errlen);
}

int
st_pg_migrate(struct store *st, char *err, size_t errlen)
{
	int rc;

	if (st_exec(st, "begin", "BEGIN", err, errlen) == -1)
		return -1;
	rc = st_pg_migrate_locked(st, err, errlen);
	if (rc == 0)
		return st_exec(st, "commit", "COMMIT", err, errlen);
	/* The reason is in err already; a failed ROLLBACK leaves the same
	 * state (the server ends the transaction with the session). */
	(void)st_exec(st, "rollback", "ROLLBACK", NULL, 0);
	return -1;
}
