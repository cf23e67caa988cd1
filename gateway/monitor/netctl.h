/*
 * What the monitor does to live tunnels, which live in the network
 * process: each function is one call over the channel (gateway/ipc.h),
 * answered by net/net_ipc.c. With no network process running (it is
 * being restarted) there are no tunnels: lists are empty, counts 0.
 */
#ifndef MWG_GW_NETCTL_H
#define MWG_GW_NETCTL_H

#include <stdint.h>

#include <jansson.h>

/* The live tunnels (TLS and SSH), as mwgctl sessions lists them. */
json_t *netctl_sessions(void);
/* Closes tunnel id: 0, -1 no such tunnel, -2 busy. */
int netctl_kill(uint64_t id);
/* Closes a person's (is_user) or device's tunnels; how many. */
int netctl_close_whose(int is_user, const char *name, const char *reason);
/* The same for a lock just applied: reason user-locked or device-locked. */
int netctl_close_locked(int is_user, const char *name);
/* Closes the tunnels of these session certificate serials; how many. */
int netctl_close_serials(json_t *serials);
/* Decides device_id's tunnels (NULL: all) again; closes the denied. */
void netctl_redecide(const char *device_id, const char *why);
/* The network process refuses new connections from now (mwgctl drain). */
void netctl_drain(void);
/* Its open tunnels, TLS and SSH (0 if it cannot be asked). */
int netctl_open_tunnels(void);
/* Connection counters (mwgctl status, metrics): an object, never NULL. */
json_t *netctl_counters(void);

#endif
