/*
 * Inside the metrics module: the counters metrics.c keeps and
 * metrics_http.c renders, with the fixed lists their labels come from.
 */
#ifndef MWG_GW_METRICS_INT_H
#define MWG_GW_METRICS_INT_H

#include <stdatomic.h>
#include <time.h>

#include "gateway/metrics.h"

enum { METRICS_PROTO_TLS, METRICS_PROTO_SSH, METRICS_PROTO_N };
enum { METRICS_CLOSE_N = 17 };
enum {
	METRICS_FACTOR_PASSWORD, METRICS_FACTOR_CODE, METRICS_FACTOR_LOCKED,
	METRICS_FACTOR_DEVICE, METRICS_FACTOR_POSTURE,
	METRICS_FACTOR_THROTTLED, METRICS_FACTOR_REQUEST,
	METRICS_FACTOR_INTERNAL, METRICS_FACTOR_N
};

extern const char *const metrics_protocols[METRICS_PROTO_N];
extern const char *const metrics_close_reasons[METRICS_CLOSE_N];
extern const char *const metrics_factors[METRICS_FACTOR_N];
extern const char *const metrics_hs_results[METRICS_HS_N];

struct metrics_counters {
	atomic_ullong tunnels_opened[METRICS_PROTO_N];
	atomic_ullong tunnels_refused[METRICS_PROTO_N];
	atomic_ullong tunnels_closed[METRICS_PROTO_N][METRICS_CLOSE_N];
	atomic_ullong bytes_up, bytes_down;
	atomic_ullong handshakes[METRICS_HS_N];
	atomic_ullong logins[2];		/* success, failure */
	atomic_ullong login_failures[METRICS_FACTOR_N];
	atomic_ullong ssh_auth[2];		/* success, failure */
	atomic_ullong enrolments[2][2];	/* [enrol, renew][success, failure] */
	atomic_ullong locks[2];			/* user, device */
	atomic_ullong revocations;
	atomic_ullong reloads[2];		/* ok, refused */
	_Atomic time_t policy_loaded_at;
};

extern struct metrics_counters metrics_c;

#endif
