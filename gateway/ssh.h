/*
 * The SSH jump listener (listen ssh ADDR:PORT): stock OpenSSH clients use
 * mwgd as a ProxyJump host. Authentication is the device key (publickey,
 * mapped to an enrolled device in the store) and then either a live
 * session certificate of the same device or keyboard-interactive
 * (password through PAM, then the TOTP code). Only direct-tcpip channels
 * to policy targets are served, each decided like a CONNECT.
 */
#ifndef MWG_GW_SSH_H
#define MWG_GW_SSH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct gw_config;
struct server;
struct ssh_listener;

/*
 * In the monitor, before the privilege drop: makes the host keys at first
 * start (state-dir/ssh_host_ed25519_key and ssh_host_ecdsa_key, 0600),
 * reads them into keys (OpenSSH base64, malloc'd: Ed25519, ECDSA) and
 * binds c->ssh_addr into *fd. 0, or -1 with a reason in err.
 */
int ssh_listener_prepare(const struct gw_config *c, int *fd, char *keys[2],
    char *err, size_t errlen);
/* In the network process: the listener on fd with those host keys. NULL
 * with a reason in err. */
struct ssh_listener *ssh_listener_new(const struct gw_config *c, int fd,
    const char *const keys[2], char *err, size_t errlen);
/* Starts the SSH threads, which use srv (the channel to the monitor,
 * audit, denylist, snapshot). 0 or -1 with a reason. */
int ssh_listener_start(struct ssh_listener *l, struct server *srv, char *err,
    size_t errlen);
/*
 * mwgctl kill: ends the open SSH tunnel id (tunnel.close killed-by-admin;
 * the client is told). 0 if it is open here, -1 if not. Any thread while
 * the listener runs (srv->ssh is set from start to stop).
 */
int ssh_listener_kill(struct ssh_listener *l, uint64_t id);
/* mwgctl sessions: appends each open SSH tunnel to list, in the fields of
 * a TLS one plus "protocol": "ssh". NULL l: none. Any thread. */
void ssh_listener_sessions(struct ssh_listener *l, json_t *list);
/* How many open SSH tunnels the person (is_user) or device name has: a
 * lock or revocation closes them within a second. NULL l: 0. */
int ssh_listener_count_whose(struct ssh_listener *l, int is_user,
    const char *name);
/* Open SSH tunnels (for mwgctl drain). NULL l: 0. Any thread. */
int ssh_listener_count_open(struct ssh_listener *l);
/* Closes every SSH session (audited) and frees l; NULL is a no-op. */
/*
 * Something its tunnels are decided on changed (the denylist, a device's
 * state, the policy): the forwarding threads, which sleep while their
 * sessions are idle, look at once (the next second's tick). NULL: no-op.
 * Any thread.
 */
void ssh_listener_wake(struct ssh_listener *l);
void ssh_listener_stop(struct ssh_listener *l);

#endif
