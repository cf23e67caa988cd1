/*
 * gateway/store on PostgreSQL: every case of store_cases.h against a
 * throwaway cluster (initdb and pg_ctl from Debian's postgresql package,
 * as nobody when run as root, in a temp dir, on 127.0.0.1), each test in
 * its own schema; then what only PostgreSQL has: outages, a connection
 * the server closed, nodes migrating together, bytes PostgreSQL refuses.
 *
 * The cluster is started once before the tests and removed after them.
 * Ports: MWG_TEST_PG_PORT (default 55400) and the 19 after it for that
 * cluster, the next 20 for the outage test's own. initdb and pg_ctl come
 * from MWG_TEST_PG_BINDIR, else /usr/lib/postgresql/N/bin; without them
 * the tests are skipped, and under CI=true they fail.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "gateway/monitor/store.h"
#include "unit.h"

#define NOW 1790000000 /* a fixed "now" for every test */
#define RACERS 8
#define SCHEMA_VERSION 6 /* migrations in gateway/monitor/store_pg_schema.c */
#define DB_NAME "the PostgreSQL store"
/* SQL: true if bytea column col holds the bytes of text literal lit. */
#define SQL_BLOB_HOLDS(col, lit)                                               \
	"position(convert_to('" lit "', 'UTF8') IN " col ") > 0"

#define PG_BINDIR_GLOB "/usr/lib/postgresql/*/bin/initdb"
#define PG_PORT_DEFAULT 55400
#define PG_PORT_TRIES 20
#define PG_USER "mwgtest"
#define PG_CMD_MAX 2048

static char dir[64];
static char key_path[PATH_MAX];
static char err[STORE_ERR_MAX];
static char conninfo[512]; /* the cluster, this test's schema */
static char schema[32];

/* RFC 6238's test secret: easy to spot if it ever reaches the disk. */
static const unsigned char totp_secret[] = "12345678901234567890";
#define TOTP_LEN (sizeof(totp_secret) - 1)

/* ---- a throwaway cluster ------------------------------------------------ */

struct cluster {
	char dir[64]; /* data/, log, the Unix socket */
	int port;
};

/* Runs a shell command (every word ours); 0 if it exited 0. */
static int
run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[PG_CMD_MAX];
	va_list ap;
	int n, status;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	status = system(cmd);
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0
		   ? 0
		   : -1;
}

/* initdb refuses root: as root the cluster belongs to nobody. */
static const char *
as_owner(void)
{
	return geteuid() == 0 ? "runuser -u nobody -- " : "";
}

/*
 * The directory of initdb and pg_ctl (MWG_TEST_PG_BINDIR, else Debian's
 * newest), or NULL.
 */
static const char *
pg_bindir(char *buf, size_t size)
{
	const char *env = getenv("MWG_TEST_PG_BINDIR");
	char initdb[PATH_MAX];
	glob_t g;
	char *slash;
	int found = 0;

	if (env != NULL) {
		snprintf(buf, size, "%s", env);
		snprintf(initdb, sizeof(initdb), "%s/initdb", env);
		return access(initdb, X_OK) == 0 ? buf : NULL;
	}
	if (glob(PG_BINDIR_GLOB, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
		/* The last is the newest major version. */
		snprintf(buf, size, "%s", g.gl_pathv[g.gl_pathc - 1]);
		if ((slash = strrchr(buf, '/')) != NULL) {
			*slash = '\0';
			found = 1;
		}
	}
	globfree(&g);
	return found ? buf : NULL;
}

static int
port_base(void)
{
	const char *s = getenv("MWG_TEST_PG_PORT");
	long v = s != NULL ? strtol(s, NULL, 10) : 0;

	return v > 1024 && v < 65000 ? (int)v : PG_PORT_DEFAULT;
}

/* pg_ctl start on the first free port from port0. */
static int
cluster_listen(struct cluster *c, const char *bindir, int port0)
{
	for (int port = port0; port < port0 + PG_PORT_TRIES; port++) {
		if (run("%s%s/pg_ctl -D %s/data -l %s/log -w -t 60 -s -o "
			"\"-k %s -c listen_addresses=127.0.0.1 -p %d "
			"-c fsync=off -c full_page_writes=off "
			"-c synchronous_commit=off -c max_connections=300\" "
			"start >>%s/pg_ctl.out 2>&1",
			as_owner(), bindir, c->dir, c->dir, c->dir, port,
			c->dir) == 0) {
			c->port = port;
			return 0;
		}
	}
	return -1;
}

/* Makes and starts a cluster; -1 with why. */
static int
cluster_start(struct cluster *c, const char *bindir, int port0, char *why,
	      size_t whylen)
{
	struct passwd *pw;

	snprintf(c->dir, sizeof(c->dir), "/tmp/mwg-pg-XXXXXX");
	if (mkdtemp(c->dir) == NULL) {
		snprintf(why, whylen, "mkdtemp failed");
		return -1;
	}
	if (geteuid() == 0 &&
	    ((pw = getpwnam("nobody")) == NULL ||
	     chown(c->dir, pw->pw_uid, pw->pw_gid) == -1)) {
		snprintf(why, whylen, "cannot give %s to nobody", c->dir);
		return -1;
	}
	if (run("%s%s/initdb -D %s/data -A trust -U " PG_USER " -N -E UTF8 "
		"--locale=C.UTF-8 >%s/initdb.log 2>&1",
		as_owner(), bindir, c->dir, c->dir) == -1) {
		snprintf(why, whylen, "initdb failed: see %s/initdb.log",
			 c->dir);
		return -1;
	}
	if (cluster_listen(c, bindir, port0) == -1) {
		snprintf(why, whylen, "pg_ctl start failed on ports %d-%d: see "
			 "%s/log", port0, port0 + PG_PORT_TRIES - 1, c->dir);
		return -1;
	}
	return 0;
}

static void
cluster_stop(struct cluster *c, const char *bindir)
{
	if (c->dir[0] == '\0')
		return;
	(void)run("%s%s/pg_ctl -D %s/data -w -s -m immediate stop "
		  ">/dev/null 2>&1",
		  as_owner(), bindir, c->dir);
	remove_tree(c->dir);
	c->dir[0] = '\0';
}

static struct cluster main_cluster;
static char main_bindir[PATH_MAX];
/* A test's own cluster and second state dir: teardown removes them if
 * the test did not. */
static struct cluster own_cluster;
static char dir2[64];

/*
 * Before the tests, in the runner: the cluster, announced to the tests
 * (each in its own process) through the environment.
 */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	char why[256], info[256];

	(void)set;
	if (pg_bindir(main_bindir, sizeof(main_bindir)) == NULL) {
		setenv("MWG_TEST_PG_SKIP",
		       "no initdb in MWG_TEST_PG_BINDIR or " PG_BINDIR_GLOB
		       " (deploy/deps.sh test installs postgresql)", 1);
		return;
	}
	if (cluster_start(&main_cluster, main_bindir, port_base(), why,
			  sizeof(why)) == -1) {
		setenv("MWG_TEST_PG_FAIL", why, 1);
		return;
	}
	snprintf(info, sizeof(info),
		 "host=127.0.0.1 port=%d user=" PG_USER " dbname=postgres",
		 main_cluster.port);
	setenv("MWG_TEST_PG", info, 1);
	setenv("MWG_TEST_PG_DIR", main_cluster.dir, 1);
	setenv("MWG_TEST_PG_BINDIR", main_bindir, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	cluster_stop(&main_cluster, main_bindir);
}

/* ---- raw access to the database ---------------------------------------- */

static void
raw_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static PGconn *
raw_open(const char *info)
{
	PGconn *c = PQconnectdb(info);

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	PQsetNoticeProcessor(c, raw_quiet, NULL);
	return c;
}

static PGresult *
raw_query(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType s = PQresultStatus(res);

	cr_assert(s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK, "%s: %s", sql,
		  PQresultErrorMessage(res));
	return res;
}

static void
raw_exec(const char *sql)
{
	PGconn *c = raw_open(conninfo);

	PQclear(raw_query(c, sql));
	PQfinish(c);
}

/* The first column of the first row of sql, as an integer. */
static long long
raw_int(const char *sql)
{
	PGconn *c = raw_open(conninfo);
	PGresult *res = raw_query(c, sql);
	char *end;
	long long v;

	cr_assert_geq(PQntuples(res), 1, "%s: no row", sql);
	v = strtoll(PQgetvalue(res, 0, 0), &end, 10);
	cr_assert(*end == '\0', "%s: not an integer: %s", sql,
		  PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(c);
	return v;
}

/* Reads user's sealed TOTP secret into buf; returns its length. */
static int
raw_sealed(const char *user, unsigned char *buf, size_t size)
{
	PGconn *c = raw_open(conninfo);
	PGresult *res;
	int len;

	res = PQexecParams(c, "SELECT secret FROM totp WHERE \"user\" = $1", 1,
			   NULL, &user, NULL, NULL, 1);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	cr_assert_eq(PQntuples(res), 1);
	len = PQgetlength(res, 0, 0);
	cr_assert_leq((size_t)len, size);
	memcpy(buf, PQgetvalue(res, 0, 0), (size_t)len);
	PQclear(res);
	PQfinish(c);
	return len;
}

static void
raw_set_sealed(const char *user, const unsigned char *buf, int len)
{
	PGconn *c = raw_open(conninfo);
	const char *values[2] = {(const char *)buf, user};
	int lengths[2] = {len, 0}, formats[2] = {1, 0};
	PGresult *res;

	res = PQexecParams(c, "UPDATE totp SET secret = $1 WHERE \"user\" = $2",
			   2, NULL, values, lengths, formats, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s",
		     PQresultErrorMessage(res));
	cr_assert_str_eq(PQcmdTuples(res), "1");
	PQclear(res);
	PQfinish(c);
}

/* What state_holds looks for, for its nftw callback. */
static const void *holds_needle;
static size_t holds_len;
static int holds_found;

static int
holds_file(const char *path, const struct stat *sb, int flag,
	   struct FTW *ftw)
{
	FILE *f;
	char *buf;

	(void)ftw;
	if (flag != FTW_F || sb->st_size == 0)
		return 0;
	if ((f = fopen(path, "rb")) == NULL)
		return 0; /* gone meanwhile (a temp file) */
	buf = malloc((size_t)sb->st_size);
	cr_assert_not_null(buf);
	if (fread(buf, 1, (size_t)sb->st_size, f) == (size_t)sb->st_size &&
	    memmem(buf, (size_t)sb->st_size, holds_needle, holds_len) != NULL) {
		fprintf(stderr, "found in %s\n", path);
		holds_found = 1;
	}
	free(buf);
	fclose(f);
	return 0;
}

/*
 * 1 if any file of the cluster (data files and WAL after a CHECKPOINT,
 * the server's log) holds needle.
 */
static int
state_holds(const void *needle, size_t len)
{
	const char *cdir = getenv("MWG_TEST_PG_DIR");

	cr_assert_not_null(cdir);
	raw_exec("CHECKPOINT");
	holds_needle = needle;
	holds_len = len;
	holds_found = 0;
	cr_assert_eq(nftw(cdir, holds_file, 16, FTW_PHYS), 0);
	return holds_found;
}

/* ---- each test: its own schema and state dir ---------------------------- */

static void
setup(void)
{
	const char *base = getenv("MWG_TEST_PG");
	const char *skip = getenv("MWG_TEST_PG_SKIP");
	const char *fail = getenv("MWG_TEST_PG_FAIL");
	char sql[128];

	if (skip != NULL)
		UNIT_SKIP("%s", skip);
	cr_assert_null(fail, "PostgreSQL test cluster: %s", fail);
	cr_assert_not_null(base, "no PostgreSQL test cluster");
	umask(022); /* the store must not rely on a strict umask */
	make_tmp_dir(dir, sizeof(dir), "mwg-store-pg-test");
	path_in(key_path, dir, STORE_KEY_FILE);
	snprintf(schema, sizeof(schema), "t_%ld", (long)getpid());
	cr_assert(snprintf(conninfo, sizeof(conninfo),
			   "%s options='-csearch_path=%s' application_name=%s",
			   base, schema, schema) < (int)sizeof(conninfo));
	snprintf(sql, sizeof(sql),
		 "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
		 schema);
	raw_exec(sql);
	err[0] = '\0';
}

static void
teardown(void)
{
	char sql[128];

	if (getenv("MWG_TEST_PG") != NULL && schema[0] != '\0') {
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE",
			 schema);
		raw_exec(sql);
	}
	if (own_cluster.dir[0] != '\0')
		cluster_stop(&own_cluster, getenv("MWG_TEST_PG_BINDIR"));
	if (dir2[0] != '\0')
		remove_tree(dir2);
	if (dir[0] != '\0')
		remove_tree(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

/* A store on this test's schema, or NULL with err set. */
static struct store *
reopen_store(void)
{
	return store_open_with(dir, conninfo, err, sizeof(err));
}

static struct store *
open_store(void)
{
	struct store *st = reopen_store();

	cr_assert_not_null(st, "store_open_with: %s", err);
	return st;
}

#include "store_cases.h"

/* ---- PostgreSQL only ---------------------------------------------------- */

/* Ends this test's one connection that matches also (SQL), as a server
 * restart would. */
static void
terminate_connection(const char *also)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT count(pg_terminate_backend(pid, 5000)) FROM "
		 "pg_stat_activity WHERE application_name = '%s' AND "
		 "pid <> pg_backend_pid() AND %s",
		 schema, also);
	cr_assert_eq(raw_int(sql), 1, "one connection (%s) to end", also);
}

static void
terminate_store_connections(void)
{
	terminate_connection("true");
}

/*
 * The server ended the idle connection (a restart, a fail-over, an
 * operator): the next call finds out before it sends, connects again and
 * succeeds; nothing is reported unavailable.
 */
Test(store, pg_connection_closed_by_the_server_is_made_again)
{
	struct store *st = open_store();
	struct store_lock l = {STORE_LOCK_USER, "alice", "left", 0, NOW, 0};

	cr_assert_str_eq(store_backend(st), "postgresql");
	cr_assert_eq(store_lock_add(st, &l, err, sizeof(err)), 0, "%s", err);
	terminate_store_connections();
	cr_assert_eq(store_locked(st, STORE_LOCK_USER, "alice", NOW, NULL, err,
				  sizeof(err)),
		     1, "%s", err);
	cr_assert_eq(store_unavailable(st), 0);
	store_close(st);
	ASSERT_NO_LEAKS();
}

struct opener {
	pthread_barrier_t *start;
	struct store *st;
	char e[STORE_ERR_MAX];
};

static void *
open_cb(void *arg)
{
	struct opener *o = arg;

	pthread_barrier_wait(o->start);
	o->st = store_open_with(dir, conninfo, o->e, sizeof(o->e));
	return NULL;
}

/* Nodes starting together on an empty database: the schema once. */
Test(store, pg_nodes_starting_together_migrate_once)
{
	struct opener o[RACERS];
	pthread_t tid[RACERS];
	pthread_barrier_t start;

	cr_assert_eq(pthread_barrier_init(&start, NULL, RACERS), 0);
	for (int i = 0; i < RACERS; i++) {
		o[i] = (struct opener){.start = &start};
		cr_assert_eq(pthread_create(&tid[i], NULL, open_cb, &o[i]), 0);
	}
	for (int i = 0; i < RACERS; i++) {
		cr_assert_eq(pthread_join(tid[i], NULL), 0);
		cr_assert_not_null(o[i].st, "node %d: %s", i, o[i].e);
	}
	pthread_barrier_destroy(&start);
	cr_assert_eq(raw_int("SELECT count(*) FROM schema_version"),
		     SCHEMA_VERSION);
	for (int i = 0; i < RACERS; i++)
		store_close(o[i].st);
	ASSERT_NO_LEAKS();
}

/*
 * Bytes PostgreSQL's text refuses (not UTF-8) are an error of the
 * request, not an outage; SQLite would store them.
 */
Test(store, pg_text_that_is_not_utf8_is_an_error_not_an_outage)
{
	struct store *st = open_store();
	struct store_throttle t;

	cr_assert_eq(store_throttle_count(st, "user:al\xffice", NOW, 60, &t,
					  err, sizeof(err)),
		     -1);
	cr_assert_str_eq(err, "statement: invalid byte sequence for encoding "
			      "\"UTF8\": 0xff");
	cr_assert_eq(store_unavailable(st), 0);
	cr_assert_eq(store_throttle_count(st, "user:alice", NOW, 60, &t, err,
					  sizeof(err)),
		     0, "%s", err);
	store_close(st);
	ASSERT_NO_LEAKS();
}

/* A conninfo libpq cannot read: open fails and says why. */
Test(store, pg_bad_conninfo_is_refused)
{
	cr_assert_null(store_open_with(dir, "host=127.0.0.1 bogus=1", err,
				       sizeof(err)));
	cr_assert_str_eq(err, "state store unavailable: PostgreSQL: invalid "
			      "connection option \"bogus\"");
	ASSERT_NO_LEAKS();
}

/* Polls fn until it answers want, for at most seconds; its last answer. */
static int
wait_for(int (*fn)(struct store *), struct store *st, int want, int seconds)
{
	struct timespec pause = {0, 50 * 1000 * 1000};
	time_t end = time(NULL) + seconds;
	int rc;

	while ((rc = fn(st)) != want && time(NULL) < end)
		nanosleep(&pause, NULL);
	return rc;
}

static int
alice_locked(struct store *st)
{
	return store_locked(st, STORE_LOCK_USER, "alice", NOW, NULL, err,
			    sizeof(err));
}

/*
 * The database stops (its own cluster, so the other tests go on): every
 * call answers -1 at once with store_unavailable() set and a reason that
 * says so, a new store cannot open; it starts again: the same store
 * serves again, without being reopened, and the data is there.
 */
Test(store, pg_outage_is_unavailable_then_recovers, .timeout = 180)
{
	const char *bindir = getenv("MWG_TEST_PG_BINDIR");
	struct store_lock l = {STORE_LOCK_USER, "alice", "left", 0, NOW, 0};
	struct cluster *c = &own_cluster;
	struct store *st;
	char why[256], info[256];
	time_t t0;

	cr_assert_not_null(bindir);
	cr_assert_eq(cluster_start(c, bindir, port_base() + PG_PORT_TRIES,
				   why, sizeof(why)),
		     0, "%s", why);
	snprintf(info, sizeof(info),
		 "host=127.0.0.1 port=%d user=" PG_USER " dbname=postgres",
		 c->port);
	st = store_open_with(dir, info, err, sizeof(err));
	cr_assert_not_null(st, "%s", err);
	cr_assert_eq(store_lock_add(st, &l, err, sizeof(err)), 0, "%s", err);

	cr_assert_eq(run("%s%s/pg_ctl -D %s/data -w -s -m fast stop",
			 as_owner(), bindir, c->dir),
		     0);
	cr_assert_eq(alice_locked(st), -1);
	cr_assert_eq(store_unavailable(st), 1);
	cr_assert(strncmp(err, "state store unavailable: PostgreSQL: ", 37) ==
		      0, "%s", err);
	t0 = time(NULL);
	cr_assert_eq(alice_locked(st), -1, "still down");
	cr_assert_eq(store_unavailable(st), 1);
	cr_assert_leq(time(NULL) - t0, 1, "a second call fails at once");
	cr_assert_null(store_open_with(dir, info, err, sizeof(err)));
	cr_assert(strstr(err, "Connection refused") != NULL, "%s", err);

	cr_assert_eq(cluster_listen(c, bindir, c->port), 0);
	cr_assert_eq(wait_for(alice_locked, st, 1, 30), 1, "back: %s", err);
	cr_assert_eq(store_unavailable(st), 0);
	store_close(st);
	cluster_stop(c, bindir);
	ASSERT_NO_LEAKS();
}

/* Writes 32 bytes of c as state dir d's secrets.key (0600). */
static void
write_key(const char *d, unsigned char c)
{
	unsigned char key[32];
	char path[PATH_MAX];
	int fd;

	memset(key, c, sizeof(key));
	path_in(path, d, STORE_KEY_FILE);
	(void)unlink(path);
	cr_assert_geq(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
	cr_assert_eq(write(fd, key, sizeof(key)), (ssize_t)sizeof(key));
	close(fd);
}

/*
 * Two nodes started fresh, each would make its own secrets.key: the
 * second is refused (its key is not the one the database recorded) until
 * it holds the first one's key, and a node whose key was swapped is
 * refused too.
 */
Test(store, pg_nodes_must_share_secrets_key)
{
	char key2[PATH_MAX], cmd[PATH_MAX * 2 + 16], want[512];
	struct store *a, *b;

	a = open_store(); /* makes secrets.key in dir, records its id */
	make_tmp_dir(dir2, sizeof(dir2), "mwg-store-pg-node2");
	path_in(key2, dir2, STORE_KEY_FILE);
	cr_assert_null(store_open_with(dir2, conninfo, err, sizeof(err)));
	cr_assert(strstr(err, "/secrets.key is not the key that seals the "
			      "PostgreSQL store's TOTP secrets (key id ") !=
		      NULL &&
		  strstr(err, "): copy secrets.key from a node that works") !=
		      NULL,
		  "%s", err);
	cr_assert_eq(access(key2, F_OK), 0, "node 2 made its own key");
	snprintf(cmd, sizeof(cmd), "cp -p %s %s", key_path, key2);
	cr_assert_eq(system(cmd), 0);
	b = store_open_with(dir2, conninfo, err, sizeof(err));
	cr_assert_not_null(b, "with the first node's key: %s", err);
	store_close(b);

	write_key(dir2, 0x5a); /* a wrong backup */
	cr_assert_null(store_open_with(dir2, conninfo, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/secrets.key is not the key", dir2);
	cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
	cr_assert_eq(raw_int("SELECT count(*) FROM store_key"), 1);
	store_close(a);
	ASSERT_NO_LEAKS();
}

/* ---- changes heard by other nodes --------------------------------------- */

#define HEARD_MAX 16

struct heard {
	struct store_change c[HEARD_MAX];
	int n;
};

static void
hear_cb(const struct store_change *c, void *arg)
{
	struct heard *h = arg;

	cr_assert_lt(h->n, HEARD_MAX, "more changes than expected");
	h->c[h->n++] = *c;
}

/* Waits (at most 5 s) until n changes have been heard in all. */
static void
hear(struct store_listener *l, struct heard *h, int n)
{
	for (int i = 0; i < 50 && h->n < n; i++)
		cr_assert_neq(store_listen_wait(l, -1, 100, hear_cb, h, err,
						sizeof(err)),
			      -1, "%s", err);
	cr_assert_eq(h->n, n, "heard %d changes, not %d", h->n, n);
}

static void
assert_heard(const struct store_change *c, enum store_change_kind kind,
	     int is_user, const char *name, int is_own)
{
	cr_assert_eq(c->kind, kind);
	cr_assert_eq(c->is_user, is_user);
	cr_assert_str_eq(c->name, name);
	cr_assert_eq(c->is_own, is_own, "%s: own %d", name, c->is_own);
}

/*
 * Node A listens; node B (another store on the same database) locks,
 * enrols, revokes, ends a session, reports posture and unlocks: A hears
 * each change once, by name, after its commit, and knows its own.
 */
Test(store, pg_listener_hears_every_mirrored_change)
{
	struct store *a = open_store(), *b = open_store();
	struct store_listener *l = store_listen_new(a);
	struct store_lock lk = {STORE_LOCK_USER, "alice", "left", 0, NOW, 0};
	struct store_session s = {.serial = "5e55", .user = "alice",
				  .device_id = "dev-a", .issued_at = NOW,
				  .expires_at = NOW + 3600};
	struct store_device d;
	struct heard h = {0};

	cr_assert_not_null(l);
	cr_assert_eq(store_listen_wait(l, -1, 0, hear_cb, &h, err, sizeof(err)), 1,
		     "the first call connects: %s", err);
	cr_assert_eq(store_lock_add(b, &lk, err, sizeof(err)), 0, "%s", err);
	hear(l, &h, 1);
	assert_heard(&h.c[0], STORE_CHANGE_LOCK, 1, "alice", 0);

	lk.kind = STORE_LOCK_DEVICE;
	cr_assert_eq(store_lock_add(a, &lk, err, sizeof(err)), 0, "%s", err);
	hear(l, &h, 2);
	assert_heard(&h.c[1], STORE_CHANGE_LOCK, 0, "alice", 1);

	make_device(&d, "dev-a", 'a', NOW);
	cr_assert_eq(store_device_add(b, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_session_add(b, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_session_end(b, "dev-a", "alice", NOW + 1, NULL,
				       NULL, err, sizeof(err)),
		     1, "%s", err);
	cr_assert_eq(store_posture_put(b, "dev-a", "{}", NOW + 2, err,
				       sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(store_device_revoke(b, "dev-a", "lost", NOW + 3, err,
					 sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(store_lock_remove(b, STORE_LOCK_USER, "alice", err,
				       sizeof(err)),
		     0, "%s", err);
	hear(l, &h, 7);
	assert_heard(&h.c[2], STORE_CHANGE_DEVICE, 0, "dev-a", 0);
	assert_heard(&h.c[3], STORE_CHANGE_SESSION, 0, "5e55", 0);
	assert_heard(&h.c[4], STORE_CHANGE_POSTURE, 0, "dev-a", 0);
	assert_heard(&h.c[5], STORE_CHANGE_DEVICE, 0, "dev-a", 0);
	assert_heard(&h.c[6], STORE_CHANGE_LOCK, 1, "alice", 0);
	/* Nothing else: a touch (last seen) is not a change to mirror. */
	cr_assert_eq(store_device_touch(b, "dev-a", NOW + 4, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(store_listen_wait(l, -1, 300, hear_cb, &h, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(h.n, 7);
	store_listen_free(l);
	store_close(b);
	store_close(a);
	ASSERT_NO_LEAKS();
}

/*
 * The listening connection ended by the server: the listener says it is
 * down, connects again within about a second and says so (the caller
 * must reload: a change made meanwhile was not heard), then hears again.
 */
Test(store, pg_listener_lost_connection_is_made_again)
{
	struct store *a = open_store(), *b = open_store();
	struct store_listener *l = store_listen_new(a);
	struct store_lock lk = {STORE_LOCK_USER, "bob", "left", 0, NOW, 0};
	struct heard h = {0};
	int rc = 0, downs = 0;

	cr_assert_eq(store_listen_wait(l, -1, 0, hear_cb, &h, err, sizeof(err)), 1,
		     "%s", err);
	terminate_connection("query LIKE 'LISTEN %'");
	cr_assert_eq(store_lock_add(b, &lk, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 40 && rc != 1; i++) {
		rc = store_listen_wait(l, -1, 100, hear_cb, &h, err, sizeof(err));
		downs += rc == -1;
	}
	cr_assert_eq(rc, 1, "connected again within 4 s");
	cr_assert_geq(downs, 1, "the loss was reported");
	cr_assert_eq(h.n, 0, "the change made while it was down is lost");
	cr_assert_eq(store_lock_remove(b, STORE_LOCK_USER, "bob", err,
				       sizeof(err)),
		     0, "%s", err);
	hear(l, &h, 1);
	assert_heard(&h.c[0], STORE_CHANGE_LOCK, 1, "bob", 0);
	store_listen_free(l);
	store_close(b);
	store_close(a);
	ASSERT_NO_LEAKS();
}

/* SQLite is one node: no listener. */
Test(store, sqlite_has_no_listener)
{
	struct store *st = store_open(dir, err, sizeof(err));

	cr_assert_not_null(st, "%s", err);
	cr_assert_null(store_listen_new(st));
	store_close(st);
}
