/*
 * The daemon's shared state and its worker threads. Each worker owns an
 * event base, its own SO_REUSEPORT listening socket and every connection
 * accepted on it: no locks on the data path. Other threads reach a worker
 * only through its mailbox (an eventfd plus a locked queue).
 */
#ifndef MWG_GW_SERVER_H
#define MWG_GW_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/event_struct.h>

struct conn;
struct pool_job;
struct pool;
struct store;
struct denylist;
struct certs_issuer;
struct audit_log;
struct audit_forwarder;
struct ssh_listener;
struct ipc;

#define WORKER_POOL_MAX		16	/* spare splice buffers kept per worker */
#define WORKER_MBOX_MAX		1024	/* queued admin messages per worker */

enum worker_msg_type {
	WORKER_MSG_KILL,	/* close tunnel id */
	WORKER_MSG_QUIT,	/* close everything and leave the loop */
	WORKER_MSG_AUDITED,	/* conn's tunnel.open is durable (or lost) */
	WORKER_MSG_JOB_DONE,	/* conn's request handler has finished */
	WORKER_MSG_CLOSE_USER,	/* close every tunnel of person `name` */
	WORKER_MSG_CLOSE_DEVICE,	/* ... of device `name` */
	WORKER_MSG_REDECIDE,	/* a new policy: decide every tunnel again */
};

struct worker_msg {
	enum worker_msg_type type;
	uint64_t id;
	struct conn *conn;	/* AUDITED: kept alive until this arrives */
	int ok;
	char reason[64];
	struct pool_job *job;	/* JOB_DONE: the finished job */
	char name[64];		/* CLOSE_*: whose tunnels */
};

TAILQ_HEAD(conn_list, conn);

struct worker {
	int idx;
	pthread_t thread;
	struct server *srv;
	struct event_base *base;
	int listen_fd;
	struct event ev_accept;
	struct event ev_accept_pause;	/* out of descriptors: retry later */
	int mbox_fd;
	struct event ev_mbox;
	pthread_mutex_t mbox_lock;
	struct worker_msg *mbox;
	size_t nmbox;
	long nconns;
	long nrefusing;
	unsigned long nclosed;		/* connections closed, ever */
	unsigned long nclosed_trimmed;	/* ... at the last heap trim */
	struct event ev_trim;			/* connections being sent a 503 */
	struct conn_list conns;
	void *pool[WORKER_POOL_MAX];	/* spare splice buffers */
	int npool;
	int quitting;
};

struct server {
	struct audit_log *audit;
	struct store *store;		/* the state store (any thread) */
	struct certs_issuer *issuer;	/* signs device and session certs */
	int has_issuer;			/* the monitor has one (net: told) */
	struct ipc *net;		/* net: the channel to the monitor */
	struct x509_st *root;		/* the root CA, for EST /cacerts */
	struct denylist *deny;		/* locks and revocations, in memory */
	struct devcache *devices;	/* managed flag and posture, in memory */
	struct pool *pool;		/* the auth pool */
	_Atomic(struct audit_forwarder *) forwarder;	/* NULL: no syslog */
	struct worker *workers;
	int nworkers;
	atomic_long nconns;		/* every connection, all workers */
	atomic_uint_fast64_t next_id;	/* server_next_id() only */
	atomic_uint_fast64_t n_accepted, n_refused, n_tunnels, n_denied;
	pthread_mutex_t reg_lock;	/* guards tunnels */
	struct conn_list tunnels;	/* open tunnels, for sessions/kill */
	struct ssh_listener *ssh;	/* set while SSH runs, for kill */
	time_t started;
};

/*
 * The id of a new TLS connection, SSH session or SSH tunnel: one sequence
 * for all of them, from 1, so that a tunnel.id names one tunnel whatever
 * its protocol (and `mwgctl kill ID` one target). Any thread.
 */
static inline uint64_t
server_next_id(struct server *srv)
{
	return atomic_fetch_add(&srv->next_id, 1) + 1;
}

/* Creates the listening socket for one worker (SO_REUSEPORT); -1 on error. */
int worker_listen_socket(const struct sockaddr *sa, socklen_t len);
/* Starts nworkers threads on the given listening sockets. */
int workers_start(struct server *srv, const int *fds, int nworkers);
/* Posts a message; returns -1 if the mailbox is full. Any thread. */
int worker_post(struct worker *w, const struct worker_msg *msg);
/* Posts a message that must not be lost (no limit); any thread. */
void worker_post_always(struct worker *w, const struct worker_msg *msg);
/* Asks every worker to quit and joins them; their state stays. */
void workers_join(struct server *srv);
/* Handles what is left in the mailboxes, then frees the workers. */
void workers_free(struct server *srv);

/*
 * Every worker decides the tunnels of device_id again (NULL: every tunnel)
 * and closes those now denied, with close reason why (a term of
 * docs/audit.md's table: "policy-changed", "posture-failed"). Any thread.
 */
void server_redecide_device(struct server *srv, const char *device_id,
    const char *why);

/* Splice buffers come from and return to the worker's pool. */
#define SPLICE_BUF_SIZE		(64 * 1024)
void *worker_buf_get(struct worker *w);
void worker_buf_put(struct worker *w, void *buf);
void worker_trim_later(struct worker *w);

#endif
