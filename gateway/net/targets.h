/*
 * GET /v1/targets: what the person holding a session certificate may
 * reach now, and what only with break-glass, for mwg list and mwg open.
 */
#ifndef MWG_GW_TARGETS_H
#define MWG_GW_TARGETS_H

struct conn;

#define TARGETS_PATH		"/v1/targets"
#define TARGETS_ANSWER_MAX	1000	/* entries in one answer */

/* On the worker: decisions only read the policy and the device cache. */
void targets_answer(struct conn *c);

#endif
