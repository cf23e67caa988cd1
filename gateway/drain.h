/*
 * mwgctl drain: the node stops taking new connections (TLS requests get
 * 503 "draining", GET /health says so, the SSH listener refuses), lets
 * the open tunnels run until they end or the limit passes, then stops as
 * on SIGTERM (the rest closed with reason shutdown) and exits 0.
 */
#ifndef MWG_GW_DRAIN_H
#define MWG_GW_DRAIN_H

#include <event2/event.h>
#include <jansson.h>

#include "gateway/server.h"

#define DRAIN_LIMIT_DEFAULT	(15 * 60)	/* seconds, mwgctl drain */
#define DRAIN_LIMIT_MAX		(24 * 3600)
#define DRAIN_TICK_MS		200	/* how often the tunnels are counted */

/* 1 once a drain has begun. Any thread. */
int drain_is_active(void);
/*
 * The control request {"cmd": "drain", "limit_s": N}: starts the drain
 * (audited as admin.drain with uid) on the main loop base, whose loop is
 * broken when it ends (gateway.drained). A second request answers how
 * the first goes. NULL if cmd is not "drain".
 */
json_t *drain_control_handle(struct server *srv, struct event_base *base,
    const char *cmd, json_t *req, long uid);
/*
 * Starts a drain on the main loop's base: 0, or -1 if one runs already,
 * limit_s is outside 1..DRAIN_LIMIT_MAX or the timer cannot start. uid
 * is who asked (-1: SIGTERM with timeouts { stop-drain }). Main thread.
 */
int drain_begin(struct server *srv, struct event_base *base, long long limit_s,
    long uid);
/* The network process: the monitor began a drain (IPC_DRAIN, INIT). */
void drain_activate(void);
/* Open tunnels, TLS and SSH, as the network process counts them. */
int drain_open_tunnels(struct server *srv);
/* Frees the drain's timer if the loop ended otherwise (SIGTERM during a
 * drain); before the main loop's base is freed. */
void drain_free(void);

#endif
