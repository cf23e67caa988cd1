/*
 * audit_bench: durable audit records per second, and how long one durable
 * record takes (the latency a tunnel.open waits for), with the real writer
 * (group commit + fdatasync) on a file in the given directory.
 * usage: audit_bench DIR [THREADS] [RECORDS_PER_THREAD]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/log.h"

#define LAT_SAMPLES	2000

struct bench {
	struct audit_log *log;
	long per_thread;
	atomic_long done;
	atomic_long lost;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
done_cb(void *arg, int ok)
{
	struct bench *b = arg;

	if (!ok)
		atomic_fetch_add(&b->lost, 1);
	atomic_fetch_add(&b->done, 1);
}

/* A record shaped like a tunnel.open. */
static json_t *
fields(long i)
{
	return json_pack("{s:I, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "tunnel.id", (json_int_t)i, "source.ip", "192.0.2.10",
	    "source.port", 50000, "device.id", "laptop-0042",
	    "tls.client.x509.serial_number", "47B0F66CA69AFE6699DDAD51AF1F384E",
	    "organization.id", "K84001", "destination.address", "emis.K84001",
	    "destination.socket", "10.10.1.10:443", "event.reason",
	    "allowed by policy");
}

static void *
producer(void *arg)
{
	struct bench *b = arg;

	for (long i = 0; i < b->per_thread; i++)
		while (audit_append_notify(b->log, "tunnel.open", "success",
		    fields(i), done_cb, b) == -1)
			usleep(100);	/* queue full: back off */
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
latency(struct audit_log *log, const char *label)
{
	static double lat[LAT_SAMPLES];

	for (int i = 0; i < LAT_SAMPLES; i++) {
		double t0 = now_s();

		audit_append_sync(log, "tunnel.open", "success", fields(i));
		lat[i] = (now_s() - t0) * 1e6;
	}
	qsort(lat, LAT_SAMPLES, sizeof(lat[0]), cmp_double);
	printf("result mode=audit_latency label=%s p50_us=%.0f p99_us=%.0f\n",
	    label, lat[LAT_SAMPLES / 2], lat[LAT_SAMPLES * 99 / 100]);
}

int
main(int argc, char **argv)
{
	char path[512], key[512], err[256];
	int nthreads = argc > 2 ? atoi(argv[2]) : 4;
	struct bench b = { .per_thread = argc > 3 ? atol(argv[3]) : 100000 };
	pthread_t *th;
	double t0, t1;

	if (argc < 2 || nthreads < 1 || nthreads > 64 || b.per_thread < 1) {
		fprintf(stderr, "usage: audit_bench DIR [THREADS] [RECORDS]\n");
		return 2;
	}
	log_init("audit_bench", 0, 0);
	snprintf(path, sizeof(path), "%s/bench-audit.jsonl", argv[1]);
	snprintf(key, sizeof(key), "%s/bench-audit.key", argv[1]);
	b.log = audit_open(&(struct audit_options){ .path = path,
	    .key_path = key }, err, sizeof(err));
	if (b.log == NULL) {
		fprintf(stderr, "audit_bench: %s\n", err);
		return 1;
	}
	latency(b.log, "idle");
	th = calloc((size_t)nthreads, sizeof(*th));
	t0 = now_s();
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, producer, &b);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	while (atomic_load(&b.done) < nthreads * b.per_thread)
		usleep(200);
	t1 = now_s();
	printf("result mode=audit_throughput threads=%d records=%ld "
	    "seconds=%.3f durable_per_s=%.0f lost=%ld\n", nthreads,
	    nthreads * b.per_thread, t1 - t0,
	    nthreads * b.per_thread / (t1 - t0), atomic_load(&b.lost));
	free(th);
	audit_close(b.log);
	unlink(path);
	unlink(key);
	strncat(key, ".pub", sizeof(key) - strlen(key) - 1);
	unlink(key);
	return 0;
}
