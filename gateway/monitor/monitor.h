/*
 * The monitor (DESIGN §10): the process that holds the issuing CA key,
 * the audit key, secrets.key and the state store, runs PAM and TOTP, and
 * answers the network process's fixed set of messages (gateway/ipc.h),
 * checking every field itself. This header is what main.c and the
 * control socket use of it.
 */
#ifndef MWG_GW_MONITOR_H
#define MWG_GW_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

struct server;
struct ipc;

/* What the monitor needs to start (and restart) the network process. */
struct netproc_conf {
	const char *conf_path;
	json_t *bundle;			/* the files of the running config */
	const int *tls_fds;
	int ntls;
	int ssh_fd;			/* -1: no listen ssh */
	char *ssh_keys[2];		/* host keys, OpenSSH base64 */
	int debug;
	int as_root;			/* started as root: confine it */
	uid_t uid;			/* the network process's user */
	gid_t gid;
	const char *root;		/* its empty root directory */
};

/*
 * Starts the network process and waits until it serves (its listeners
 * and threads are up): 0, or -1 with why. It is started again (within a
 * second) whenever it dies, and its death is audited.
 */
int netproc_start(struct server *srv, struct event_base *base,
    const struct netproc_conf *nc, char *err, size_t errlen);
/*
 * As root, before the drop: makes the network process's empty root
 * (0755, root's) if it is missing, and checks that it is a directory of
 * root's that nobody else may write and that holds nothing. 0 or -1.
 */
int netproc_root_ready(const char *path, char *err, size_t errlen);
/*
 * Keeps the TLS server key out of the network process: takes its file out
 * of bundle when it is an EC key (the monitor then signs each handshake,
 * IPC_TLS_SIGN). 1 if withheld, 0 if not (an RSA key goes as before).
 */
struct gw_snapshot;
int netproc_withhold_key(json_t *bundle, const struct gw_snapshot *snap);
/* Replaces the configuration bundle (after a reload); owns b. */
void netproc_set_bundle(json_t *b);
/* Asks the network process to close everything and waits for its exit. */
void netproc_stop(void);

/*
 * Whether msg is a well-formed message of type from the network process:
 * every member of the right type and length, a record's action one the
 * network side may write and no reserved field (monitor/mon_check.c).
 */
int mon_msg_valid(int type, json_t *msg);

/* The handler of the network process's messages (monitor/mon_ipc.c). */
void mon_ipc_handle(struct ipc *ch, int type, uint64_t id, int is_call,
    json_t *msg, void *arg);

/* The monitor follows the tunnels the network process holds from its
 * records, to audit their end if it dies (mon_ipc.c calls this). */
void netproc_track(const char *action, const char *outcome, json_t *fields);

/* mwgctl status: network_pid (0 while it restarts), network_restarts. */
void netproc_status(json_t *r);

/*
 * Why this node cannot serve (GET /health answers 503 with it), or NULL
 * when it can again: the network process is told now, a new one at its
 * start. Any thread.
 */
void netproc_set_not_ready(const char *why);

/* The current channel to the network process, or NULL. */
struct ipc *netproc_channel(void);

#endif
