/*
 * Small pieces the load generators share (header only: each bench program is
 * its own program): a monotonic clock, the signals that end an idle hold,
 * the descriptor limit, and the byte pattern of mwg-backend's source mode.
 */
#ifndef MWG_BENCH_H
#define MWG_BENCH_H

#include <signal.h>
#include <stddef.h>
#include <sys/resource.h>
#include <time.h>

#define SOURCE_PERIOD	251	/* mwg-backend source: byte i is i % 251 */

static inline double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SIGTERM, SIGINT and SIGUSR1 end an idle hold: blocked in every thread
 * before it starts, so a signal sent early is not lost, then taken. */
static inline void
hold_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* Raises the descriptor limit to the hard limit: idle needs one per tunnel. */
static inline void
fd_limit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* len bytes of the source pattern: one period longer than a read, so the
 * bytes at any offset compare against pat + offset % SOURCE_PERIOD. */
static inline void
source_pattern(unsigned char *pat, size_t len)
{
	for (size_t i = 0; i < len; i++)
		pat[i] = (unsigned char)(i % SOURCE_PERIOD);
}

#endif
