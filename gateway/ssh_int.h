/*
 * Inside the SSH jump listener (gateway/ssh*.c); nothing outside them
 * includes this. Threads: one acceptor; one short-lived handshake thread
 * per connection until it has authenticated (key exchange, publickey, then
 * a live session or PAM + TOTP, which may block); then the session moves
 * to one of N forwarding threads, each an epoll loop that serves many
 * sessions, touches only those with events, and never blocks. All
 * threads start with the listener: none is made per connection. Every
 * session has an ssh_event of its own
 * holding only its socket: libssh polls a session's event again from
 * inside channel reads and writes, and a shared event let one session's
 * disconnect fail (and free memory under) another.
 */
#ifndef MWG_GW_SSH_INT_H
#define MWG_GW_SSH_INT_H

#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "certs/certs.h"
#include "policy/policy.h"

struct server;

/* Unauthenticated connections are bounded by listen ssh { max-startups,
 * per-source-max-startups, login-grace-time, max-auth-tries }. */
#define SSH_KEX_GRACE		10	/* seconds to the end of key exchange */
#define SSH_KEX_TIMEOUT		30	/* seconds one blocking read may wait */
#define SSH_REFUSED_LOG_S	10	/* one log line per this, for refusals */
#define SSH_LINGER		2	/* seconds a closing socket is drained */
#define SSH_KEX_LINGER_MS	1000	/* ... after a failed key exchange */
#define SSH_HS_STACK		(512 * 1024)	/* a handshake thread's stack */
#define SSH_KBDINT_TRIES	3	/* wrong answers before disconnect */
#define SSH_ANSWER_MAX		1024	/* bytes in a password or code answer */
#define SSH_IO_CHUNK		(32 * 1024)	/* one read from a target */
#define SSH_THREADS_MAX		16

struct ssh_tun;
struct ssh_loop;

/* One SSH connection: who authenticated, from where, and its tunnels. */
struct ssh_sess {
	TAILQ_ENTRY(ssh_sess) entry;	/* its loop's, or the handshake list */
	uint64_t id;
	ssh_session s;
	int fd;
	struct ssh_listener *l;
	struct ssh_loop *loop;		/* NULL while handshaking */
	struct sockaddr_storage peer;
	char peer_ip[64];
	int peer_port;
	/* authentication */
	char user[CERTS_ID_MAX];	/* valid once key_ok */
	char device_id[CERTS_ID_MAX];
	char practice[CERTS_ID_MAX];	/* the device's practice */
	int key_ok;			/* the device key was proven */
	int is_authed;			/* both factors: may open channels */
	int kbdint_tries;
	const char *method;		/* for the records */
	/* refusals, recorded once per connection (ssh_auth.c) */
	int auth_failures;
	int max_auth_tries;
	unsigned auth_methods;		/* SSH_AUTH_METHOD_* bits refused */
	char auth_why[256];		/* the last refusal's reason */
	int is_auth_over;		/* max-auth-tries reached: disconnect */
	/* deadlines (the acceptor shuts the socket; under hs_lock) */
	long grace;			/* login-grace-time, seconds */
	int64_t started_ms;		/* ssh_now_ms() at accept */
	atomic_int is_kex_done;
	int is_reaped;
	int proxy_mode;			/* enum proxy_mode (ssh_proxy.c) */
	char groups[CERTS_GROUPS_MAX][CERTS_GROUP_MAX];
	int ngroups;
	struct ssh_server_callbacks_struct scb;
	/* forwarding */
	LIST_HEAD(, ssh_tun) tuns;
	time_t idle_since;		/* when it last had no tunnel */
	ssh_event ev;			/* its own: only its socket */
	/* Its loop's epoll: the socket it registered (-1: none) and for
	 * what; its slot in the loop's table (the events' data); whether it
	 * is on the loop's ready list this round, and to be read. */
	int ep_fd;
	uint32_t ep_events;
	uint32_t slot;
	TAILQ_ENTRY(ssh_sess) ready_entry;
	unsigned is_ready:1;
	unsigned is_readable:1;
	int is_dead;			/* to be freed after this poll round */
	/* The gateway ends it (ssh_sess_cut): SSH_MSG_DISCONNECT with
	 * cut_msg once libssh's output is flushed, or at cut_deadline. */
	int is_cutting;
	time_t cut_deadline;
	char cut_msg[256];
	int linger_fd;			/* after the disconnect: drained, or -1 */
	time_t linger_until;
	unsigned long posture_seen;	/* devcache_posture_gen last decided on */
	/* The tick looks a session up again only when these changed. */
	unsigned long deny_seen;	/* denylist_generation last checked */
	unsigned long devices_seen;	/* devcache_generation last checked */
	int64_t next_tick_ms;		/* no tick look before (0: next tick) */
};

TAILQ_HEAD(ssh_sess_list, ssh_sess);

enum ssh_tun_state {
	SSH_TUN_DIALING,	/* channel accepted, connecting to the target */
	SSH_TUN_AUDITING,	/* connected; tunnel.open being made durable */
	SSH_TUN_OPEN,		/* forwarding both ways */
	SSH_TUN_DONE,		/* finished; freed after this poll round */
};

/* One direct-tcpip channel and its target socket. */
struct ssh_tun {
	LIST_ENTRY(ssh_tun) entry;
	uint64_t id;
	struct ssh_sess *ss;		/* NULL once the session is gone */
	struct ssh_loop *lp;
	ssh_channel ch;
	struct ssh_channel_callbacks_struct cb;
	int fd;
	enum ssh_tun_state state;
	char name[POLICY_NAME_MAX];		/* "emis" */
	char target[2 * POLICY_NAME_MAX + 1];	/* "emis.K84001" */
	char practice[POLICY_NAME_MAX];
	int port;
	char backend[64];		/* the address dialled */
	char rule[64];
	_Atomic uint64_t bytes_up, bytes_down;	/* read by mwgctl sessions */
	struct timespec t_open;
	int64_t last_active_ms;		/* ssh_now_ms() of the last byte */
	long idle;			/* seconds without a byte either way */
	time_t deadline;		/* 0: none */
	short fd_events;		/* what the loop polls the target for */
	short revents;			/* seen by a poll, not yet acted on */
	uint32_t ep_events;		/* registered with the loop's epoll */
	unsigned client_eof:1;		/* the client sent EOF */
	unsigned target_eof:1;		/* the target closed its side */
	unsigned shut_wr:1;		/* we shut the target's write side */
	unsigned eof_sent:1;		/* we sent the client EOF */
	unsigned close_sent:1;		/* we sent CHANNEL_CLOSE */
	unsigned remote_closed:1;	/* the client sent CHANNEL_CLOSE */
	unsigned want_out:1;		/* client bytes wait for the target */
	unsigned want_in:1;		/* the client's window has room */
	unsigned audit_pending:1;	/* the writer will call back */
	unsigned open_recorded:1;	/* tunnel.open was appended */
	unsigned failed:1;		/* close after this poll round (why) */
	char *pending;			/* client bytes the target did not take */
	size_t plen, poff;
	/* Why it closed: a term of docs/audit.md's table, the rest apart. */
	const char *reason;
	char detail[192];
	LIST_ENTRY(ssh_tun) reg_entry;	/* the listener's open tunnels */
	unsigned is_registered:1;
};

/* A message to a forwarding thread. */
struct ssh_msg {
	STAILQ_ENTRY(ssh_msg) entry;
	enum { SSH_MSG_SESSION, SSH_MSG_AUDITED, SSH_MSG_KILL,
	    SSH_MSG_QUIT } type;
	struct ssh_sess *sess;
	struct ssh_tun *tun;
	int ok;
	uint64_t id;			/* KILL: the tunnel */
};

/* One forwarding thread. */
struct ssh_loop {
	int idx;
	pthread_t thread;
	struct ssh_listener *l;
	int epfd;			/* sessions' and targets' sockets */
	struct epoll_event *evs;	/* one epoll_wait's worth */
	struct ssh_sess **slots;	/* epoll data -> session; NULL: free */
	uint32_t *free_slots;		/* a stack of the NULL ones */
	uint32_t nslots, nfree, slotcap;
	struct ssh_sess_list ready;	/* to service after this wait */
	int mbox_fd;			/* eventfd */
	pthread_mutex_t lock;
	STAILQ_HEAD(, ssh_msg) mbox;
	struct ssh_sess_list sessions;
	LIST_HEAD(, ssh_tun) orphans;	/* session gone, audit still pending */
	int quitting;
	int npending;			/* tunnel.open records not back yet */
	unsigned long generation;	/* the policy snapshot last decided on */
	time_t last_tick;
	int64_t next_tick_ms;		/* the tick must look by then (CLOCK_
					   MONOTONIC ms); 0: at the next second */
};

struct ssh_listener {
	int fd;
	ssh_bind bind;
	char addr_str[64];
	int stop_pipe[2];
	pthread_t acceptor;
	int started;
	struct server *srv;
	atomic_int quitting;
	int nloops;
	struct ssh_loop *loops;
	unsigned next_loop;
	/* handshakes in progress, so that stop can cut them short */
	pthread_mutex_t hs_lock;
	pthread_cond_t hs_cond;
	struct ssh_sess_list handshakes;
	int nhandshakes;
	/* The handshake threads, all started with the listener (the network
	 * process may not start threads later): admitted connections wait in
	 * hs_queue for one; there are as many as max-startups admits. */
	pthread_t *hs_threads;
	int nhs_threads;
	struct ssh_sess **hs_queue;	/* a ring of nhs_threads */
	int hs_qhead, hs_qlen;
	pthread_cond_t hs_qcond;
	/* refusals at accept, logged once per SSH_REFUSED_LOG_S */
	unsigned long nrefused;
	time_t refused_logged;
	/* open tunnels by id, for mwgctl kill (any thread, under reg_lock) */
	pthread_mutex_t reg_lock;
	LIST_HEAD(, ssh_tun) open_tuns;
};

/* ---- ssh_auth.c: the handshake thread ------------------------------------ */

/* Thread body: key exchange and both factors, then ssh_loop_hand or free. */
void *ssh_handshake_main(void *arg);
/* ssh_proxy.c: the PROXY header step, then ssh_handshake_main. */
void *ssh_proxy_main(void *arg);

/* ---- ssh_fwd.c: forwarding threads -------------------------------------- */

int ssh_loops_start(struct ssh_listener *l, int n, char *err, size_t errlen);
/* Closes every session (audited), waits for pending records, joins. */
void ssh_loops_stop(struct ssh_listener *l);
/* Hands an authenticated session to the next loop (round-robin). */
void ssh_loop_hand(struct ssh_listener *l, struct ssh_sess *ss);

/* Queues m (freed by the loop) for lp's thread; any thread. */
void ssh_loop_post(struct ssh_loop *lp, struct ssh_msg *m);

/* ---- ssh_tun.c: one direct-tcpip channel (on its loop's thread) --------- */

/* A direct-tcpip open: decided, dialled and accepted (0), or refused and
 * recorded (1: the caller sends libssh's default refusal). */
int ssh_tun_request(struct ssh_sess *ss, ssh_message msg);
/* The channel's decision under policy p, from the session's identity. */
void ssh_tun_decide(const struct ssh_tun *t, const struct policy *p,
    struct policy_decision *d);
/* The writer's answer for tunnel.open (ok 0: lost, the tunnel closes). */
void ssh_tun_audited(struct ssh_tun *t, int ok);
/*
 * Close reasons are the terms of docs/audit.md's table (completed,
 * idle-timeout, user-locked, ...), shared with TLS tunnels; detail is
 * free text for mwg.close_detail ("" or NULL: none).
 */
/* Marks t to close after this poll round. */
void ssh_tun_fail(struct ssh_tun *t, const char *reason, const char *detail);
/* Records tunnel.close once (if tunnel.open was) and marks t done. */
void ssh_tun_finish(struct ssh_tun *t, const char *reason,
    const char *detail);
/* After a poll round: half-closes, closes, re-registers; 1 if t is gone. */
int ssh_tun_sweep(struct ssh_tun *t);
/* Ends t now and frees it (or parks it for its audit answer); its channel
 * is closed, or with keep_channel left to the session's disconnect. */
void ssh_tun_kill(struct ssh_tun *t, const char *reason, const char *detail,
    int keep_channel);
/* What the person is told when the gateway ends t for reason. */
void ssh_tun_told(const struct ssh_tun *t, const char *reason,
    const char *detail, char *buf, size_t len);

/* ---- ssh_key.c ---------------------------------------------------------- */

/*
 * The device key fingerprint of an SSH public key: SHA-256 of the DER
 * SubjectPublicKeyInfo, lowercase hex (what the store keeps from the
 * CSR). Only ecdsa-sha2-nistp256 keys can be device keys. 0, or -1 with
 * a reason in err.
 */
int ssh_key_device_fpr(ssh_key key, char *buf, size_t buflen, char *err,
    size_t errlen);
/* Loads path, making an OpenSSH key of type there first (0600) if absent. */
ssh_key ssh_key_host_load(const char *path, enum ssh_keytypes_e type,
    char *err, size_t errlen);

/* ---- shared helpers (ssh.c) --------------------------------------------- */

/* Audit fields common to every SSH record (network.protocol ssh, who,
 * from where) plus extra (its reference taken). */
json_t *ssh_sess_fields(const struct ssh_sess *ss, const char *reason,
    json_t *extra);
/* Frees a session that has no loop (handshake failed or refused). */
void ssh_sess_free(struct ssh_sess *ss);
/*
 * SSH_MSG_DISCONNECT with why (OpenSSH prints it), then a lingering close:
 * the socket is half-closed and what the client still sends must be read
 * and dropped (ssh_linger_drain), or its kernel gets a reset and loses the
 * message. The descriptor to drain, or -1.
 */
int ssh_sess_disconnect(struct ssh_sess *ss, const char *why);
/* CLOCK_MONOTONIC in milliseconds: idle limits to the tick, not to the
 * whole second. */
int64_t ssh_now_ms(void);
/* Whether the session's socket can take a write now. */
int ssh_sess_writable(struct ssh_sess *ss);
/* Reads and drops what fd has: 1 while the peer may send more. */
int ssh_linger_drain(int fd);

#endif
