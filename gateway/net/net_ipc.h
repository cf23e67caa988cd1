/*
 * The network process's side of the channel (gateway/ipc.h): what it
 * asks the monitor (records, API requests, SSH checks) and how it answers
 * the monitor's messages about live tunnels and state.
 */
#ifndef MWG_GW_NET_IPC_H
#define MWG_GW_NET_IPC_H

#include <stdint.h>

#include <jansson.h>

struct server;
struct ipc;
struct store_device;

/* The handler of the monitor's messages (after IPC_INIT). */
void net_ipc_handle(struct ipc *ch, int type, uint64_t id, int is_call,
    json_t *msg, void *arg);
/* One state operation from the monitor (at INIT or in IPC_STATE): a
 * readiness word (health.h) or a denylist/devcache change. 0, or -1 if
 * it is malformed. */
int net_state_op(struct server *srv, json_t *op);
/* The audit log whose records the monitor writes. */
struct audit_log *net_audit_open(struct ipc *ch);

/* The SSH listener's questions (monitor/ssh_verdict.h); as the store and
 * auth functions they replace: 1/0/-1 and err. */
int net_ssh_device(struct server *srv, const char *fpr,
    struct store_device *dev, char *err, size_t errlen);
int net_ssh_session_live(struct server *srv, const char *device_id,
    const char *user, char *err, size_t errlen);
long net_ssh_throttle(struct server *srv, const char *user, const char *ip,
    char *err, size_t errlen);
/* 0 accepted; 1 refused with why (warn: it was an error, not the
 * person's mistake). fields: the session's record fields (taken). */
int net_ssh_kbdint(struct server *srv, const char *user, const char *ip,
    const char *password, const char *code, json_t *fields, char *why,
    size_t whylen, int *warn);
/* The person's groups (NSS, in the monitor): how many, or -1. */
int net_ssh_groups(struct server *srv, const char *user, char (*groups)[64],
    int max);

#endif
