/*
 * The state store's PostgreSQL back-end (libpq): one connection with
 * bounded waits, made again after an outage, and the statement and row
 * helpers of gateway/monitor/store.c for the SQL that both back-ends share.
 */
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "common/xmalloc.h"
#include "gateway/monitor/store_int.h"

#define PG_SQL_MAX 4096	      /* longest shared statement, after ?N -> $N */
#define PG_RETRY_SECONDS 1    /* least time between two reconnection tries */
#define PG_VERSION_MIN 110000 /* EXECUTE FUNCTION in triggers */
#define PG_STATEMENT_TIMEOUT "10s"
#define PG_IDLE_READS 16 /* reads of what came while idle, at most */

/* libpq type OIDs (server/catalog/pg_type_d.h, stable since 7.x). */
#define PG_BYTEAOID 17
#define PG_INT8OID 20
#define PG_TEXTOID 25

struct st_pg {
	PGconn *conn;
	int is_down;	 /* the last try met a refused or lost connection */
	int must_reset;	 /* the server is no longer the primary */
	int is_closing;	 /* the server said FATAL while we were idle */
	time_t next_try; /* while down: no reconnection before this */
	atomic_int backend_pid; /* PQbackendPID of the live connection */
};

/*
 * Defaults for the connection, given before the operator's conninfo so
 * that it may override each: a dead or black-holed server must cost a
 * call seconds, not the kernel's minutes.
 */
static const char *const pg_keys[] = {"connect_timeout",  "keepalives",
				      "keepalives_idle",  "keepalives_interval",
				      "keepalives_count", "tcp_user_timeout",
				      "application_name", "client_encoding",
				      "dbname",		  NULL};
static const char *const pg_defaults[] = {"5", "1",	"10",	"3",
					  "3", "10000", "mwgd", "UTF8"};
/* A value for each key but dbname (the conninfo) and the NULL. */
_Static_assert(sizeof(pg_defaults) / sizeof(pg_defaults[0]) + 2 ==
		   sizeof(pg_keys) / sizeof(pg_keys[0]),
	       "pg_defaults and pg_keys");

/* libpq's message, first line only ("" if none). */
static void
st_pg_message(const char *msg, char *buf, size_t size)
{
	size_t n;

	if (msg == NULL)
		msg = "";
	n = strcspn(msg, "\n");
	if (n >= size)
		n = size - 1;
	memcpy(buf, msg, n);
	buf[n] = '\0';
}

/* Marks the connection down and says so in err; returns -1. */
static int
st_pg_down(struct st_pg *pg, const char *what, char *err, size_t errlen)
{
	char msg[STORE_ERR_MAX];

	st_count_error();
	st_pg_message(PQerrorMessage(pg->conn), msg, sizeof(msg));
	pg->is_down = 1;
	pg->next_try = time(NULL) + PG_RETRY_SECONDS;
	st_err(err, errlen, "state store unavailable: %s: %s", what,
	       msg[0] != '\0' ? msg : "no connection");
	return -1;
}

/*
 * Notices are not printed on stderr (libpq's default), and one kind is
 * remembered: an error the server sends while the connection is idle,
 * which libpq hands over as a notice, is FATAL just before it closes
 * (shutdown, fail-over, pg_terminate_backend).
 */
static void
st_pg_notice(void *arg, const PGresult *res)
{
	struct st_pg *pg = arg;
	const char *sev =
	    PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

	if (sev != NULL &&
	    (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
		pg->is_closing = 1;
}

/*
 * Session settings after each connection: a statement that hangs ends
 * (the store's mutex is held meanwhile), and no notice of CREATE ... IF
 * NOT EXISTS is sent.
 */
static int
st_pg_session(struct st_pg *pg, char *err, size_t errlen)
{
	PGresult *res;
	int ok;

	PQsetNoticeReceiver(pg->conn, st_pg_notice, pg);
	pg->is_closing = 0;
	atomic_store(&pg->backend_pid, PQbackendPID(pg->conn));
	if (PQserverVersion(pg->conn) < PG_VERSION_MIN) {
		st_err(err, errlen,
		       "PostgreSQL server version %d is older than 11",
		       PQserverVersion(pg->conn));
		return -1;
	}
	res = PQexec(pg->conn, "SET statement_timeout = '" PG_STATEMENT_TIMEOUT
			       "'; SET client_min_messages = "
			       "warning");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok)
		return st_pg_down(pg, "session settings", err, errlen);
	return 0;
}

struct st_pg *
st_pg_connect(const char *conninfo, char *err, size_t errlen)
{
	const char *values[sizeof(pg_keys) / sizeof(pg_keys[0])];
	struct st_pg *pg;
	size_t i;

	for (i = 0; pg_keys[i + 1] != NULL; i++)
		values[i] = pg_defaults[i];
	values[i++] = conninfo; /* dbname, expanded: it overrides the above */
	values[i] = NULL;
	pg = xcalloc(1, sizeof(*pg));
	pg->conn = PQconnectdbParams(pg_keys, values, 1);
	if (pg->conn == NULL) {
		st_err(err, errlen, "%s: out of memory", __func__);
		free(pg);
		return NULL;
	}
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		st_pg_down(pg, "PostgreSQL", err, errlen);
		st_pg_close(pg);
		return NULL;
	}
	if (st_pg_session(pg, err, errlen) == -1) {
		st_pg_close(pg);
		return NULL;
	}
	return pg;
}

void
st_pg_close(struct st_pg *pg)
{
	if (pg == NULL)
		return;
	PQfinish(pg->conn);
	free(pg);
}

int
st_pg_unavailable(const struct st_pg *pg)
{
	return pg->is_down;
}

int
st_pg_backend_pid(const struct st_pg *pg)
{
	return atomic_load(&pg->backend_pid);
}

void *
st_pg_conn(struct st_pg *pg)
{
	return pg->conn;
}

/*
 * Whether the idle connection was closed by the server (a restart, a
 * fail-over, pg_terminate_backend): it then sent FATAL and closed, so
 * the socket reads. Found before a statement is sent, the connection can
 * be made again without doubt about whether the statement ran.
 */
static int
st_pg_is_stale(struct st_pg *pg)
{
	struct pollfd pfd = {.fd = PQsocket(pg->conn), .events = POLLIN};

	if (pfd.fd < 0)
		return 1;
	/* Bounded: what arrives while idle is a message or two, not a
	 * stream (no LISTEN on this connection). */
	for (int i = 0;
	     i < PG_IDLE_READS && !pg->is_closing && poll(&pfd, 1, 0) > 0;
	     i++) {
		if (PQconsumeInput(pg->conn) == 0 ||
		    PQstatus(pg->conn) != CONNECTION_OK)
			return 1;
		(void)PQisBusy(pg->conn); /* parses: FATAL reaches the notice
					     receiver */
	}
	return pg->is_closing;
}

/* Makes sure there is a connection to send on: 0, or -1 while down. */
static int
st_pg_ready(struct st_pg *pg, char *err, size_t errlen)
{
	if (PQstatus(pg->conn) == CONNECTION_OK && !pg->must_reset &&
	    !st_pg_is_stale(pg))
		return 0;
	/* Bounded: while down, one try a second, the rest fail at once. */
	if (pg->is_down && time(NULL) < pg->next_try) {
		st_count_error();
		st_err(err, errlen,
		       "state store unavailable: PostgreSQL: "
		       "no connection (next try within %d s)",
		       PG_RETRY_SECONDS);
		return -1;
	}
	PQreset(pg->conn);
	pg->must_reset = 0;
	if (PQstatus(pg->conn) != CONNECTION_OK)
		return st_pg_down(pg, "PostgreSQL", err, errlen);
	if (st_pg_session(pg, err, errlen) == -1)
		return -1;
	pg->is_down = 0;
	return 0;
}

/* The shared SQL's ?N parameters as PostgreSQL's $N, into buf. */
static int
st_pg_sql(const char *sql, char *buf, size_t size, char *err, size_t errlen)
{
	size_t len = strlen(sql);

	if (len >= size) {
		st_err(err, errlen, "statement of %zu bytes is too long", len);
		return -1;
	}
	for (size_t i = 0; i <= len; i++)
		buf[i] = sql[i] == '?' ? '$' : sql[i];
	return 0;
}

/* A statement's parameters in libpq's arrays; ints as decimal text. */
struct st_pg_args {
	Oid types[ST_PARAMS_MAX];
	const char *values[ST_PARAMS_MAX];
	int lengths[ST_PARAMS_MAX];
	int formats[ST_PARAMS_MAX];
	char ints[ST_PARAMS_MAX][24];
};

static int
st_pg_args(struct st_pg_args *a, const struct st_param *p, size_t np, char *err,
	   size_t errlen)
{
	if (np > ST_PARAMS_MAX) {
		st_err(err, errlen, "%zu parameters: at most %d", np,
		       ST_PARAMS_MAX);
		return -1;
	}
	for (size_t i = 0; i < np; i++) {
		a->lengths[i] = 0;
		a->formats[i] = 0;
		switch (p[i].type) {
		case ST_P_TEXT:
			a->types[i] = PG_TEXTOID;
			a->values[i] = p[i].text;
			break;
		case ST_P_INT:
			a->types[i] = PG_INT8OID;
			snprintf(a->ints[i], sizeof(a->ints[i]), "%lld",
				 (long long)p[i].i);
			a->values[i] = a->ints[i];
			break;
		case ST_P_BLOB:
			a->types[i] = PG_BYTEAOID;
			a->values[i] = p[i].blob;
			a->lengths[i] = p[i].len;
			a->formats[i] = 1; /* binary: the bytes as they are */
			break;
		default:
			st_err(err, errlen, "parameter %zu: bad type", i + 1);
			return -1;
		}
	}
	return 0;
}

/*
 * SQLSTATEs that mean "the database cannot serve now" rather than "this
 * request is wrong": connection exceptions (08), operator intervention
 * (57P01 shutdown, 57P02 crash, 57P03 starting) and a read-only server
 * (25006: after a fail-over this one is a standby; reconnect, and with
 * target_session_attrs=read-write libpq finds the new primary).
 */
static int
st_pg_is_outage(struct st_pg *pg, const char *state)
{
	if (state == NULL)
		return PQstatus(pg->conn) != CONNECTION_OK;
	if (strcmp(state, "25006") == 0)
		pg->must_reset = 1;
	return strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
	       strcmp(state, "25006") == 0 ||
	       PQstatus(pg->conn) != CONNECTION_OK;
}

/* Judges a failed result: -1 (down or an error) or STORE_CONSTRAINT. */
static int
st_pg_fail(struct st_pg *pg, PGresult *res, const char *what, char *err,
	   size_t errlen)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	char msg[STORE_ERR_MAX];

	if (st_pg_is_outage(pg, state))
		return st_pg_down(pg, what, err, errlen);
	st_count_error();
	st_pg_message(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), msg,
		      sizeof(msg));
	st_err(err, errlen, "%s: %s", what, msg);
	/* Class 23: integrity constraint violation (unique, foreign key,
	 * check, not null). */
	return state != NULL && strncmp(state, "23", 2) == 0 ? STORE_CONSTRAINT
							     : -1;
}

/*
 * Sends sql with p and returns its result (caller PQclears), or NULL with
 * *rcp set to -1 or STORE_CONSTRAINT.
 */
static PGresult *
st_pg_send(struct store *st, const char *sql, const struct st_param *p,
	   size_t np, int *rcp, char *err, size_t errlen)
{
	struct st_pg_args a;
	char buf[PG_SQL_MAX];
	PGresult *res;
	ExecStatusType status;

	*rcp = -1;
	if (st_pg_sql(sql, buf, sizeof(buf), err, errlen) == -1 ||
	    st_pg_args(&a, p, np, err, errlen) == -1 ||
	    st_pg_ready(st->pg, err, errlen) == -1)
		return NULL;
	res = PQexecParams(st->pg->conn, buf, (int)np, a.types, a.values,
			   a.lengths, a.formats, 0);
	status = PQresultStatus(res);
	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
		st->pg->is_down = 0;
		return res;
	}
	*rcp = st_pg_fail(st->pg, res, "statement", err, errlen);
	PQclear(res);
	return NULL;
}

int
st_pg_run(struct store *st, const char *sql, const struct st_param *p,
	  size_t np, char *err, size_t errlen)
{
	PGresult *res;
	int rc;

	if ((res = st_pg_send(st, sql, p, np, &rc, err, errlen)) == NULL)
		return rc;
	rc = atoi(PQcmdTuples(res));
	PQclear(res);
	return rc;
}

int
st_pg_query(struct store *st, const char *sql, const struct st_param *p,
	    size_t np, st_row_fn fn, void *arg, int all, char *err,
	    size_t errlen)
{
	struct st_row row = {.s = NULL};
	PGresult *res;
	int rc, n, seen = 0;

	if ((res = st_pg_send(st, sql, p, np, &rc, err, errlen)) == NULL)
		return rc == STORE_CONSTRAINT ? -1 : rc;
	n = PQntuples(res);
	row.res = res;
	for (row.i = 0; row.i < n; row.i++) {
		seen++;
		rc = fn != NULL ? fn(st, &row, arg, err, errlen) : 0;
		if (rc == -1) {
			PQclear(res);
			return -1;
		}
		if (rc != 0 || !all)
			break;
	}
	PQclear(res);
	return seen;
}

int
st_pg_exec(struct store *st, const char *what, const char *sql, char *err,
	   size_t errlen)
{
	PGresult *res;
	ExecStatusType status;
	int rc = 0;

	if (st_pg_ready(st->pg, err, errlen) == -1)
		return -1;
	res = PQexec(st->pg->conn, sql);
	status = PQresultStatus(res);
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
		(void)st_pg_fail(st->pg, res, what, err, errlen);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

int64_t
st_pg_col_int(const struct st_row *r, int col)
{
	const PGresult *res = r->res;

	if (PQgetisnull(res, r->i, col))
		return 0;
	return strtoll(PQgetvalue(res, r->i, col), NULL, 10);
}

int
st_pg_col_is_null(const struct st_row *r, int col)
{
	return PQgetisnull(r->res, r->i, col);
}

const char *
st_pg_col_text(const struct st_row *r, int col, size_t *lenp)
{
	*lenp = 0;
	if (PQgetisnull(r->res, r->i, col))
		return NULL;
	*lenp = (size_t)PQgetlength(r->res, r->i, col);
	return PQgetvalue(r->res, r->i, col);
}

static int
st_pg_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* bytea_output = hex (the default since 9.0): "\x" and two digits a byte. */
int
st_pg_col_blob(const struct st_row *r, int col, void *buf, size_t size,
	       size_t *lenp)
{
	unsigned char *out = buf;
	const char *t;
	size_t len, n;
	int hi, lo;

	if ((t = st_pg_col_text(r, col, &len)) == NULL || len < 2 ||
	    t[0] != '\\' || t[1] != 'x' || len % 2 != 0)
		return -1;
	n = (len - 2) / 2;
	if (n == 0 || n > size)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((hi = st_pg_hex(t[2 + 2 * i])) == -1 ||
		    (lo = st_pg_hex(t[3 + 2 * i])) == -1)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*lenp = n;
	return 0;
}
