/*
 * policy_bench: a county-sized generated policy (100 practices x 10
 * targets, 20 roles, 5,000 members): how long a reload's parse and free
 * take, how much memory a loaded snapshot holds, and decisions per second
 * on one thread (bench/run.sh pins it to one CPU).
 * usage: policy_bench DIR [SECONDS]
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/conf.h"
#include "policy/policy.h"

#define PRACTICES	100
#define TARGETS		10	/* per practice */
#define ROLES		20
#define MEMBERS		5000	/* 4,900 people and 100 practice groups */
#define REQUESTS	8192	/* distinct requests cycled through */
#define PARSE_RUNS	21

static const char *const target_names[TARGETS] = { "emis", "docman",
    "reception", "files", "lab", "ehr-web", "scan", "dict", "pacs", "rota" };

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* This thread's CPU time: on a shared machine, the core's own capacity. */
static double
cpu_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/* A deterministic generator, so every run decides the same requests. */
static unsigned
rnd(unsigned long long *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(*s >> 33);
}

static void
gen_roles(FILE *f)
{
	for (int r = 0; r < ROLES; r++) {
		fprintf(f, "role role-%02d {\n    groups group-%02d staff-%02d\n",
		    r, r, r % 7);
		if (r == 18)
			fprintf(f, "    practices *\n    targets *\n"
			    "    from office\n");
		else if (r == 19)
			fprintf(f, "    practices *\n    targets emis\n"
			    "    break-glass 1h\n");
		else
			fprintf(f, "    targets %s %s %s\n", target_names[r % 10],
			    target_names[(r + 3) % 10], target_names[(r + 7) %
			    10]);
		if (r % 2 == 0)
			fprintf(f, "    posture %s\n    device managed\n",
			    r % 4 ? "managed" : "basic");
		if (r % 3 == 0)
			fprintf(f, "    hours mon-fri 07:00-19:00 sat 08:00-13:00\n");
		if (r % 5 == 1)
			fprintf(f, "    from office homes\n");
		if (r == 17)
			fprintf(f, "    mode report-only\n");
		fprintf(f, "    max-session %dh\n    idle 30m\n}\n", 8 + r % 5);
	}
}

/* The policy file a county-sized CSU might have. */
static void
gen_policy(FILE *f)
{
	unsigned long long s = 42;

	fprintf(f, "timezone Europe/London\n"
	    "site office { networks 10.200.0.0/16 2001:db8:200::/48 }\n"
	    "site homes { networks 192.0.2.0/24 198.51.100.0/24 }\n"
	    "posture managed { disk-encryption required; screen-lock required;"
	    " firewall required; os-updates within 14d; max-age 15m }\n"
	    "posture basic { disk-encryption required; max-age 1h }\n");
	for (int p = 0; p < PRACTICES; p++) {
		fprintf(f, "practice K%05d \"Practice number %d\" {\n", 80000 + p,
		    p);
		for (int t = 0; t < TARGETS; t++)
			fprintf(f, "    target %-10s 10.%d.%d.%d:%d\n",
			    target_names[t], 10 + p / 100, p % 100, 10 + t,
			    t == 2 ? 3389 : 443);
		fprintf(f, "}\n");
	}
	gen_roles(f);
	for (int m = 0; m < MEMBERS - PRACTICES; m++) {
		int n = 1 + (int)(rnd(&s) % 3);

		fprintf(f, "member user%04d { practices", m);
		for (int i = 0; i < n; i++)	/* neighbours: never twice */
			fprintf(f, " K%05d", 80000 + (m + i * 7) % PRACTICES);
		fprintf(f, " }\n");
	}
	for (int p = 0; p < PRACTICES; p++)
		fprintf(f, "member group k%05d-staff { practices K%05d }\n",
		    80000 + p, 80000 + p);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct req_store {
	struct policy_request req[REQUESTS];
	char user[REQUESTS][16], group[REQUESTS][3][24];
	const char *groups[REQUESTS][3];
	char practice[REQUESTS][8];
	struct policy_posture posture;
};

/* A mix of people, places, devices and times over a week in June. */
static void
gen_requests(struct req_store *st)
{
	static const char *const sources[] = { "10.200.7.9", "192.0.2.44",
	    "203.0.113.5", "2001:db8:200::17" };
	unsigned long long s = 7;

	st->posture = (struct policy_posture){ .disk_encryption = POLICY_YES,
	    .screen_lock = POLICY_YES, .firewall = POLICY_YES,
	    .update_age_days = 3, .security_updates = 0 };
	for (int i = 0; i < REQUESTS; i++) {
		struct policy_request *r = &st->req[i];
		int u = (int)(rnd(&s) % (MEMBERS - PRACTICES));
		int p = (u + (int)(rnd(&s) % 3) * 7) % PRACTICES;
		int t = (int)(rnd(&s) % TARGETS);

		snprintf(st->user[i], sizeof(st->user[i]), "user%04d", u);
		snprintf(st->group[i][0], 24, "group-%02d", (int)(rnd(&s) % 24));
		snprintf(st->group[i][1], 24, "staff-%02d", (int)(rnd(&s) % 9));
		snprintf(st->group[i][2], 24, "k%05d-staff", 80000 + p);
		for (int g = 0; g < 3; g++)
			st->groups[i][g] = st->group[i][g];
		snprintf(st->practice[i], sizeof(st->practice[i]), "K%05d",
		    80000 + p);
		r->user = st->user[i];
		r->groups = st->groups[i];
		r->ngroups = 3;
		r->device_id = "laptop-1";
		r->device_managed = rnd(&s) % 4 != 0;
		r->posture = &st->posture;
		r->source_ip = sources[rnd(&s) % 4];
		r->target_name = target_names[t];
		r->practice = st->practice[i];
		r->port = t == 2 ? 3389 : 443;
		r->now = 1780876800 + (time_t)(rnd(&s) % (7 * 86400));
		r->break_glass = rnd(&s) % 50 == 0 ? "on call" : NULL;
	}
}

static int
parse_bench(const char *path, size_t bytes)
{
	double ms[PARSE_RUNS];
	struct conf_errors errs = { 0 };
	struct policy_counts c;
	struct mallinfo2 before, after;
	struct policy *p;

	for (int i = 0; i < PARSE_RUNS; i++) {
		double t0 = cpu_s();

		if ((p = policy_load(path, &errs)) == NULL) {
			fprintf(stderr, "policy_bench: %s\n", errs.n ?
			    errs.msgs[0] : "load failed");
			return -1;
		}
		policy_free(p);
		ms[i] = (cpu_s() - t0) * 1000;
	}
	qsort(ms, PARSE_RUNS, sizeof(ms[0]), cmp_double);
	malloc_trim(0);
	before = mallinfo2();
	p = policy_load(path, &errs);
	after = mallinfo2();
	policy_counts(p, &c);
	printf("result mode=policy_reload practices=%zu targets=%zu roles=%zu "
	    "members=%zu file_bytes=%zu parse_free_cpu_ms_median=%.1f "
	    "parse_free_cpu_ms_max=%.1f runs=%d\n", c.practices, c.targets,
	    c.roles, c.members, bytes, ms[PARSE_RUNS / 2], ms[PARSE_RUNS - 1],
	    PARSE_RUNS);
	printf("result mode=policy_memory snapshot_kib=%.0f\n",
	    ((double)(after.uordblks + after.hblkhd) -
	    (double)(before.uordblks + before.hblkhd)) / 1024);
	policy_free(p);
	return 0;
}

static int
decide_bench(const char *path, double seconds)
{
	static struct req_store st;
	struct conf_errors errs = { 0 };
	struct policy_decision d;
	struct policy *p = policy_load(path, &errs);
	long long n = 0, allowed = 0, report = 0;
	double t0, t, c0, c;

	if (p == NULL)
		return -1;
	gen_requests(&st);
	t0 = now_s();
	c0 = cpu_s();
	do {
		for (int i = 0; i < REQUESTS; i++) {
			policy_decide(p, &st.req[i], &d);
			allowed += d.allow;
			report += d.report_only;
		}
		n += REQUESTS;
	} while ((t = now_s() - t0) < seconds);
	c = cpu_s() - c0;
	printf("result mode=policy_decide threads=1 decisions=%lld "
	    "per_cpu_s=%.0f ns_per_decision=%.0f per_wall_s=%.0f "
	    "allowed_pct=%.1f report_only_pct=%.1f\n", n, n / c, c * 1e9 / n,
	    n / t, 100.0 * allowed / n, 100.0 * report / n);
	policy_free(p);
	return 0;
}

int
main(int argc, char **argv)
{
	char path[4096];
	double seconds = argc > 2 ? atof(argv[2]) : 3;
	long bytes;
	FILE *f;

	if (argc < 2 || argc > 3 || seconds <= 0 || seconds > 60) {
		fprintf(stderr, "usage: policy_bench DIR [SECONDS]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/bench-policy.conf", argv[1]);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return 1;
	}
	gen_policy(f);
	bytes = ftell(f);
	if (fclose(f) != 0 || bytes < 0) {
		perror(path);
		return 1;
	}
	if (parse_bench(path, (size_t)bytes) == -1 ||
	    decide_bench(path, seconds) == -1)
		return 1;
	remove(path);
	return 0;
}
