/*
 * store_bench: state store operations per second, SQLite against
 * PostgreSQL, through gateway/monitor/store.h as mwgd calls it: the statements a
 * login (TOTP step, throttle count, lock and device lookups, session) and
 * an enrolment (code use, device) make. bench/store_bench.sh starts a
 * throwaway PostgreSQL cluster and runs both back-ends.
 * usage: store_bench [-n OPS] [-t THREADS] DIR [CONNINFO]
 *   DIR      state-dir (secrets.key; state.db unless CONNINFO is given)
 *   THREADS  for the racing rows: THREADS threads on one store (mwgd's
 *            shape: one connection a process), and for PostgreSQL also
 *            one connection each (THREADS nodes)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "gateway/monitor/store.h"

#define NOW 1790000000
#define OPS_DEFAULT 2000
#define THREADS_DEFAULT 4
#define THREADS_MAX 32

static const char *dir, *conninfo;
static int ops = OPS_DEFAULT, nthreads = THREADS_DEFAULT;

static struct store *
open_store(void)
{
	char err[STORE_ERR_MAX];
	struct store *st = store_open_with(dir, conninfo, err, sizeof(err));

	if (st == NULL) {
		fprintf(stderr, "store_bench: %s\n", err);
		exit(1);
	}
	return st;
}

static void
check(int rc, int want, const char *what, const char *err)
{
	if (rc != want) {
		fprintf(stderr, "store_bench: %s: %d, want %d: %s\n", what, rc,
			want, err);
		exit(1);
	}
}

static void
report(const char *what, int n, double secs)
{
	printf("result backend=%s op=%s ops=%d seconds=%.3f ops_per_s=%.0f\n",
	       conninfo != NULL ? "postgresql" : "sqlite", what, n, secs,
	       n / secs);
	fflush(stdout);
}

/* Every operation once per i; each loop one row of the report. */
static void
bench_single(struct store *st)
{
	static const unsigned char secret[20] = "12345678901234567890";
	struct store_device d;
	struct store_code c, out;
	struct store_throttle t;
	struct store_session s;
	char err[STORE_ERR_MAX], id[32], code_secret[32];
	const char *why;
	double t0;

	for (int i = 0; i < ops; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		check(store_totp_set(st, id, secret, sizeof(secret), 6, 30, err,
				     sizeof(err)),
		      0, "totp_set", err);
	}
	t0 = now_s();
	for (int i = 0; i < ops; i++)
		check(store_totp_accept_step(st, "u0", 1000 + i, err,
					     sizeof(err)),
		      0, "totp_accept_step", err);
	report("totp_accept_step", ops, now_s() - t0);

	t0 = now_s();
	for (int i = 0; i < ops; i++) {
		snprintf(id, sizeof(id), "ip:192.0.2.%d", i % 200);
		check(store_throttle_count(st, id, NOW, 900, &t, err,
					   sizeof(err)),
		      0, "throttle_count", err);
	}
	report("throttle_count", ops, now_s() - t0);

	t0 = now_s();
	for (int i = 0; i < ops; i++) {
		memset(&d, 0, sizeof(d));
		snprintf(d.id, sizeof(d.id), "dev-%d", i);
		snprintf(d.user, sizeof(d.user), "u%d", i);
		snprintf(d.practice, sizeof(d.practice), "K84001");
		snprintf(d.key_fpr, sizeof(d.key_fpr), "%064x", i);
		snprintf(d.cert_serial, sizeof(d.cert_serial), "%x", i + 1);
		d.enrolled_at = NOW;
		d.expires_at = NOW + 86400;
		check(store_device_add(st, &d, err, sizeof(err)), 0,
		      "device_add", err);
	}
	report("device_add", ops, now_s() - t0);

	t0 = now_s();
	for (int i = 0; i < ops; i++) {
		snprintf(id, sizeof(id), "dev-%d", i);
		check(store_device_get(st, id, &d, err, sizeof(err)), 1,
		      "device_get", err);
	}
	report("device_get", ops, now_s() - t0);

	t0 = now_s();
	for (int i = 0; i < ops; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		check(store_locked(st, STORE_LOCK_USER, id, NOW, NULL, err,
				   sizeof(err)),
		      0, "locked", err);
	}
	report("locked", ops, now_s() - t0);

	t0 = now_s();
	for (int i = 0; i < ops; i++) {
		memset(&s, 0, sizeof(s));
		snprintf(s.serial, sizeof(s.serial), "5e%x", i);
		snprintf(s.user, sizeof(s.user), "u%d", i);
		snprintf(s.device_id, sizeof(s.device_id), "dev-%d", i);
		s.issued_at = NOW;
		s.expires_at = NOW + 3600;
		check(store_session_add(st, &s, err, sizeof(err)), 0,
		      "session_add", err);
	}
	report("session_add", ops, now_s() - t0);

	t0 = now_s();
	for (int i = 0; i < ops; i++) {
		memset(&c, 0, sizeof(c));
		snprintf(c.id, sizeof(c.id), "c%d", i);
		snprintf(c.user, sizeof(c.user), "u%d", i);
		snprintf(c.practice, sizeof(c.practice), "K84001");
		c.created_at = NOW;
		c.expires_at = NOW + 3600;
		snprintf(code_secret, sizeof(code_secret), "secret-%d", i);
		check(store_code_add(st, &c, code_secret, err, sizeof(err)), 0,
		      "code_add", err);
	}
	report("code_add", ops, now_s() - t0);

	t0 = now_s();
	for (int i = 0; i < ops; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		snprintf(code_secret, sizeof(code_secret), "secret-%d", i);
		check(store_code_consume(st, id, code_secret, NOW, &out, &why,
					 err, sizeof(err)),
		      0, "code_consume", err);
	}
	report("code_consume", ops, now_s() - t0);
}

struct worker {
	pthread_barrier_t *start;
	struct store *st;
	int i;
	int64_t base; /* first TOTP step: each run above the last */
};

static int64_t step_base = 1000000;

/* Each thread its own connection: throttle counts on one shared key. */
static void *
throttle_worker(void *arg)
{
	struct worker *w = arg;
	struct store_throttle t;
	char err[STORE_ERR_MAX];

	pthread_barrier_wait(w->start);
	for (int i = 0; i < ops; i++)
		check(store_throttle_count(w->st, "user:shared", NOW, 900, &t,
					   err, sizeof(err)),
		      0, "throttle_count", err);
	return NULL;
}

/* Each thread its own connection and person: TOTP steps. */
static void *
totp_worker(void *arg)
{
	struct worker *w = arg;
	char err[STORE_ERR_MAX], user[16];

	snprintf(user, sizeof(user), "u%d", w->i + 1);
	pthread_barrier_wait(w->start);
	for (int i = 0; i < ops; i++)
		check(store_totp_accept_step(w->st, user, w->base + i, err,
					     sizeof(err)),
		      0, "totp_accept_step", err);
	return NULL;
}

/* nthreads threads running fn: on shared if given, else a store each. */
static void
bench_threads(const char *what, void *(*fn)(void *), struct store *shared)
{
	struct worker w[THREADS_MAX];
	pthread_t tid[THREADS_MAX];
	pthread_barrier_t start;
	char name[64];
	double t0;

	pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){&start,
				       shared != NULL ? shared : open_store(),
				       i, step_base};
		pthread_create(&tid[i], NULL, fn, &w[i]);
	}
	pthread_barrier_wait(&start);
	t0 = now_s();
	for (int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	snprintf(name, sizeof(name), "%s_%dthreads_%s", what, nthreads,
		 shared != NULL ? "1conn" : "conn_each");
	report(name, ops * nthreads, now_s() - t0);
	for (int i = 0; shared == NULL && i < nthreads; i++)
		store_close(w[i].st);
	pthread_barrier_destroy(&start);
	step_base += ops;
}

int
main(int argc, char **argv)
{
	struct store *st;
	int ch;

	while ((ch = getopt(argc, argv, "n:t:")) != -1) {
		switch (ch) {
		case 'n':
			ops = atoi(optarg);
			break;
		case 't':
			nthreads = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind < 1 || argc - optind > 2 || ops < 1 || nthreads < 1 ||
	    nthreads > THREADS_MAX)
		goto usage;
	dir = argv[optind];
	conninfo = argc - optind == 2 ? argv[optind + 1] : NULL;
	st = open_store();
	bench_single(st);
	bench_threads("throttle_count_one_key", throttle_worker, st);
	bench_threads("totp_accept_step", totp_worker, st);
	store_close(st);
	/* SQLite's connections in one process would only queue for its
	 * one writer (and may starve past the busy timeout); mwgd has one. */
	if (conninfo != NULL) {
		bench_threads("throttle_count_one_key", throttle_worker, NULL);
		bench_threads("totp_accept_step", totp_worker, NULL);
	}
	return 0;
usage:
	fprintf(stderr, "usage: store_bench [-n OPS] [-t THREADS] DIR "
			"[CONNINFO]\n");
	return 2;
}
