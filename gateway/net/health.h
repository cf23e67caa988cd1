/*
 * GET /health on the TLS port, for a load balancer's check (HAProxy's
 * check-ssl with option httpchk): no client certificate needed, 200
 * "ready" or 503 with why not ("draining", or what the readiness hook
 * says). While mwgd drains, every other new request is refused with 503.
 */
#ifndef MWG_GW_HEALTH_H
#define MWG_GW_HEALTH_H

#include <stddef.h>

#define HEALTH_PATH	"/health"
#define HEALTH_WHY_MAX	128	/* bytes of a not-ready reason */

struct conn;

/*
 * A readiness check the rest of the daemon installs (e.g. "the state
 * store has been unreachable for longer than its grace period"): fn
 * returns 1 when the node can serve, else 0 with a short reason (no
 * secret, no client byte) in why. Any thread may call it. NULL removes
 * it. Today nothing installs one: only draining makes the node not ready.
 */
typedef int (*health_check_fn)(void *arg, char *why, size_t whylen);
void health_set_check(health_check_fn fn, void *arg);
/* 1 if the node can serve new connections; else 0 with why. Any thread. */
int health_is_ready(char *why, size_t whylen);
/*
 * On the worker, once c's head is read: answers GET /health, or while
 * draining refuses any other request (503, connection.refuse). 1 if c
 * was answered (or closed), 0 to go on.
 */
int health_intercept(struct conn *c);

#endif
