/*
 * One client connection, from accept to close, owned by one worker: its TLS
 * object, its events, its splice buffers and (for a tunnel) its target
 * socket. It ends only through conn_close(c, reason), which audits once.
 */
#ifndef MWG_GW_CONN_H
#define MWG_GW_CONN_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <jansson.h>
#include <openssl/ssl.h>
#include <event2/event_struct.h>

#include "certs/certs.h"
#include "gateway/job.h"
#include "gateway/server.h"
#include "policy/policy.h"

struct http_head;
struct proxy_read;

enum conn_state {
	CONN_HANDSHAKE,		/* TLS handshake */
	CONN_HEAD,		/* reading the request head */
	CONN_BODY,		/* reading a request body (API endpoints) */
	CONN_WORKING,		/* parked: its handler runs on the auth pool */
	CONN_DIALING,		/* CONNECT allowed; connecting to the target */
	CONN_AUDITING,		/* connected; tunnel.open is being made durable */
	CONN_OPEN,		/* splicing bytes both ways */
	CONN_FINISHING,		/* writing a final answer, then close */
};

/* A splice buffer: bytes [off, len) are waiting to be written. */
struct conn_buf {
	char *data;		/* from the worker's pool; NULL when idle */
	size_t off;
	size_t len;
};

/* What each direction needs from the event loop. */
#define WANT_UP_CRD	0x01	/* up: client readable */
#define WANT_UP_CWR	0x02	/* up: TLS read needs client writable */
#define WANT_UP_BWR	0x04	/* up: target writable */
#define WANT_DN_BRD	0x08	/* down: target readable */
#define WANT_DN_CWR	0x10	/* down: client writable */
#define WANT_DN_CRD	0x20	/* down: TLS write needs client readable */

struct conn {
	uint64_t id;
	struct worker *w;
	enum conn_state state;
	int cfd;			/* client socket */
	int bfd;			/* target socket, -1 until dialled */
	SSL *ssl;
	struct event ev_crd, ev_cwr, ev_brd, ev_bwr, ev_timer;
	unsigned want;			/* WANT_* bits */
	unsigned armed;			/* events currently added */
	struct http_head *head;		/* only while reading the head */
	struct conn_buf up;		/* client -> target */
	struct conn_buf down;		/* target -> client */
	const char *refuse;		/* answer 503 with this after handshake */
	char *body;			/* CONN_BODY: the request body so far */
	char *answer;			/* CONN_FINISHING: the answer's body */
	size_t answer_len, answer_off;	/* ... and how much of it is queued */
	size_t body_len, body_want;

	struct sockaddr_storage peer_sa;	/* the client: from a PROXY
						   header if one was required */
	char peer_ip[INET6_ADDRSTRLEN];
	int peer_port;
	int proxy_mode;			/* enum proxy_mode until the header
					   step is done, then 0 */
	struct proxy_read *proxy;	/* the header so far (listed peers) */
	int has_cert;			/* the client sent a certificate */
	int cert_ok;			/* ... and it verified */
	int revoked;			/* ... but names a revoked device or
					   a session ended by mwg logout */
	char cert_error[96];
	struct certs_identity ident;

	char target[2 * POLICY_NAME_MAX + 2];	/* "emis.K84001" */
	char practice[POLICY_NAME_MAX];
	char backend[64];			/* the target's address:port */
	char rule[64];
	int port;				/* asked for at CONNECT */
	char *break_glass;			/* the reason given, or NULL */
	char *close_detail;			/* why policy cut it, or NULL */
	int is_break_glass;			/* allowed through break-glass */
	time_t deadline;			/* the tunnel ends here; 0: never */
	long timeout_idle;
	struct timespec t_start;
	struct timespec t_open;
	time_t last_active;
	atomic_uint_fast64_t bytes_up;		/* client -> target */
	atomic_uint_fast64_t bytes_down;	/* target -> client */

	unsigned client_eof:1;		/* client finished sending */
	unsigned backend_eof:1;		/* target finished sending */
	unsigned backend_shut:1;	/* we shut the target's write side */
	unsigned notify_sent:1;		/* we sent close_notify */
	unsigned tls_broken:1;		/* fatal TLS error: no close_notify */
	unsigned in_registry:1;
	unsigned audit_pending:1;	/* the writer will call back with c */
	unsigned job_pending:1;		/* the auth pool holds c */
	unsigned zombie:1;		/* closed; freed when the writer or the
					   pool is done with it */
	TAILQ_ENTRY(conn) wentry;	/* worker's connections */
	TAILQ_ENTRY(conn) gentry;	/* server's open tunnels */
};

struct gw_snapshot;

/* conn.c: takes ownership of fd; snap supplies TLS context and timeouts. */
void conn_accept(struct worker *w, const struct gw_snapshot *snap, int fd,
    const struct sockaddr *sa, const char *refuse);
void conn_close(struct conn *c, const char *reason);
/* Sends a JSON answer (body's reference is taken), then closes. */
void conn_respond(struct conn *c, int status, json_t *body);
/* Any answer: extra_headers is "" or full "Name: value\r\n" lines. */
void conn_respond_raw(struct conn *c, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len);
/* {"error": code, "reason": reason}. Neither audits anything itself. */
void conn_respond_error(struct conn *c, int status, const char *code,
    const char *reason);
/* Queues raw bytes for the client (a response head); 0 or -1. */
int conn_queue(struct conn *c, const char *data, size_t len);
void conn_update_events(struct conn *c);
void conn_set_timer(struct conn *c, long seconds);
void conn_touch(struct conn *c);
/* Audit record with the connection's who/where fields; reason may be NULL. */
int conn_audit(struct conn *c, const char *action, const char *outcome,
    const char *reason, json_t *extra);
/* The same fields as a new object (for audit_append_notify). */
json_t *conn_audit_fields(struct conn *c, const char *reason, json_t *extra);

/* tunnel.c: CONNECT — decide, dial, open. */
/* "emis.K84001:443" into name, practice (upper case) and port; 0 or -1. */
int tunnel_parse_authority(const char *url, char *name, char *practice,
    int *port);
void tunnel_connect(struct conn *c);
void tunnel_backend_cb(evutil_socket_t fd, short what, void *arg);
/* On the worker, once tunnel.open is durable (ok) or lost: open or refuse. */
void tunnel_audited(struct conn *c, int ok);
/* The policy's decision for c's tunnel (at CONNECT, and after reloads). */
void tunnel_decide(struct conn *c, const struct policy *p,
    struct policy_decision *d);
/* On the worker: decides every open tunnel again; closes the denied. */
void tunnel_redecide_all(struct worker *w, const char *device_id,
    const char *why);

/* splice.c: moving bytes once open. Each returns -1 if c was closed. */
int splice_up(struct conn *c);
int splice_down(struct conn *c);

/* api.c: the plain endpoints: whoami, login, EST, CRL. */
void api_dispatch(struct conn *c);

/* request.c: a request body, then a handler on the auth pool. */
struct pool_job;
/* After the head: collects the body (early holds bytes read behind the
 * head), then calls api_dispatch. */
void request_begin(struct conn *c, const char *early, size_t len);
void request_read_body(struct conn *c);
/* Parks c and runs fn on the auth pool; answers when it comes back. */
void request_run(struct conn *c, const char *path);
/* On the worker: the job for c has finished (c may be a zombie). */
void request_done(struct pool_job *job);

#endif
