/*
 * GET /health on the TLS port, for a load balancer's check (HAProxy's
 * check-ssl with option httpchk): no client certificate needed, 200
 * "ready" or 503 with why not ("draining", or what the monitor says:
 * the state store unreachable past its grace period). While mwgd drains, every other new request is refused with 503.
 */
#ifndef MWG_GW_HEALTH_H
#define MWG_GW_HEALTH_H

#include <stddef.h>

#define HEALTH_PATH	"/health"
#define HEALTH_WHY_MAX	128	/* bytes of a not-ready reason */

struct conn;

/*
 * The monitor's word on readiness, a state operation {"op": "health",
 * "name": "store", "why": W}: W (a short reason, no secret, no client
 * byte) makes the node not ready, no "why" ready again. Returns 1 if op
 * was one and is applied, -1 if it was one but malformed, 0 if op is
 * another kind (for state_apply). Any thread.
 */
struct json_t;
int health_apply(struct json_t *op);
/* 1 if the node can serve new connections; else 0 with why. Any thread. */
int health_is_ready(char *why, size_t whylen);
/*
 * On the worker, once c's head is read: answers GET /health, or while
 * draining refuses any other request (503, connection.refuse). 1 if c
 * was answered (or closed), 0 to go on.
 */
int health_intercept(struct conn *c);

#endif
