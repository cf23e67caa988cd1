/*
 * Several nodes on one PostgreSQL store (monitor/node_sync.c): changes
 * other nodes make reach this node's in-memory state and its live
 * tunnels within a second; a lost database connection is followed by a
 * full reload, and, past `grace` seconds, by "not ready" on GET /health.
 */
#ifndef MWG_MONITOR_NODE_SYNC_H
#define MWG_MONITOR_NODE_SYNC_H

struct server;
struct node_sync;

/* Starts the listening thread; NULL with SQLite (one node). */
struct node_sync *node_sync_start(struct server *srv, int grace);
/* Stops and frees it; NULL is a no-op. */
void node_sync_stop(struct node_sync *ns);

#endif
