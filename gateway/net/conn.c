/*
 * A client connection's life on its worker: TLS handshake, the request
 * head (bounded in size and time), dispatch to CONNECT or an API endpoint,
 * a final answer, and one close that logs and audits why.
 */
#include "gateway/net/conn.h"
#include "gateway/metrics.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "audit/audit.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/denylist.h"
#include "gateway/net/health.h"
#include "gateway/net/http_head.h"
#include "gateway/net/proxy_accept.h"
#include "gateway/session.h"
#include "gateway/snapshot.h"

#define CONN_FINISH_TIMEOUT	5	/* seconds to deliver a final answer */
#define HEAD_READ_CHUNK		2048	/* bytes per read while in the head */

static void client_cb(evutil_socket_t fd, short what, void *arg);
static void timer_cb(evutil_socket_t fd, short what, void *arg);

void
conn_update_events(struct conn *c)
{
	unsigned want = 0, change;

	if (c->want & (WANT_UP_CRD | WANT_DN_CRD))
		want |= 1;
	if (c->want & (WANT_UP_CWR | WANT_DN_CWR))
		want |= 2;
	if (c->want & WANT_DN_BRD)
		want |= 4;
	if (c->want & WANT_UP_BWR)
		want |= 8;
	change = want ^ c->armed;
	if (change & 1)
		(want & 1) ? event_add(&c->ev_crd, NULL) : event_del(&c->ev_crd);
	if (change & 2)
		(want & 2) ? event_add(&c->ev_cwr, NULL) : event_del(&c->ev_cwr);
	if (change & 4)
		(want & 4) ? event_add(&c->ev_brd, NULL) : event_del(&c->ev_brd);
	if (change & 8)
		(want & 8) ? event_add(&c->ev_bwr, NULL) : event_del(&c->ev_bwr);
	c->armed = want;
}

void
conn_set_timer(struct conn *c, long seconds)
{
	struct timeval tv = { seconds > 0 ? seconds : 0, 0 };

	/* A deadline already passed (a session that expired while its
	 * tunnel was being opened) fires at once. */
	event_add(&c->ev_timer, &tv);
}

void
conn_touch(struct conn *c)
{
	struct timeval now;

	event_base_gettimeofday_cached(c->w->base, &now);
	c->last_active = now.tv_sec;
}

void
conn_accept(struct worker *w, const struct gw_snapshot *snap, int fd,
    const struct sockaddr *sa, const char *refuse)
{
	struct conn *c;
	int one = 1;

	c = xcalloc(1, sizeof(*c));
	c->id = server_next_id(w->srv);
	c->w = w;
	c->cfd = fd;
	c->bfd = -1;
	c->refuse = refuse;
	c->timeout_idle = snap->conf->timeout_idle;
	memcpy(&c->peer_sa, sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	addr_format_ip(sa, c->peer_ip, sizeof(c->peer_ip));
	c->peer_port = addr_port(sa);
	proxy_conn_init(c, snap->conf->tls.proxy_from,
	    snap->conf->tls.nproxy_from);
	clock_gettime(CLOCK_REALTIME, &c->t_start);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c->ssl = SSL_new(snap->ssl)) == NULL || SSL_set_fd(c->ssl, fd) != 1)
		fatalx("%s: cannot allocate a TLS connection", __func__);
	SSL_set_accept_state(c->ssl);
	event_assign(&c->ev_crd, w->base, fd, EV_READ | EV_PERSIST, client_cb, c);
	event_assign(&c->ev_cwr, w->base, fd, EV_WRITE | EV_PERSIST, client_cb, c);
	event_assign(&c->ev_timer, w->base, -1, 0, timer_cb, c);
	TAILQ_INSERT_TAIL(&w->conns, c, wentry);
	w->nconns++;
	if (refuse)
		w->nrefusing++;
	atomic_fetch_add(&w->srv->nconns, 1);
	conn_set_timer(c, snap->conf->timeout_head);
	c->state = CONN_HANDSHAKE;
	c->want = WANT_UP_CRD;
	conn_update_events(c);
}

/*
 * A revoked device is refused here, at the handshake check, for every
 * endpoint: its certificate verified, but it no longer counts.
 */
static int
conn_revoked(struct conn *c)
{
	char why[DENYLIST_REASON_MAX];
	struct denylist *deny = c->w->srv->deny;

	if (deny == NULL || !denylist_device(deny, c->ident.device_id,
	    time(NULL), why, sizeof(why)) || strncmp(why, "revoked", 7) != 0)
		return 0;
	c->revoked = 1;
	snprintf(c->cert_error, sizeof(c->cert_error), "device %s is revoked",
	    c->ident.device_id);
	return 1;
}

/*
 * A session certificate that mwg logout ended counts no more, on every
 * endpoint, from the handshake check on (the store and the denylist know
 * its serial; the certificate itself would verify until it expires).
 */
static int
conn_session_ended(struct conn *c)
{
	struct denylist *deny = c->w->srv->deny;

	if (deny == NULL || c->ident.kind != CERTS_KIND_SESSION ||
	    !denylist_session_ended(deny, c->ident.serial, time(NULL)))
		return 0;
	c->revoked = 1;
	snprintf(c->cert_error, sizeof(c->cert_error), "the session ended at "
	    "logout: log in again (mwg login)");
	return 1;
}

/* Who the client is, from the handshake; endpoints decide what it means. */
static void
conn_read_identity(struct conn *c)
{
	X509 *cert = SSL_get0_peer_certificate(c->ssl);
	long v;

	if (cert == NULL) {
		snprintf(c->cert_error, sizeof(c->cert_error),
		    "no client certificate");
		return;
	}
	c->has_cert = 1;
	if ((v = SSL_get_verify_result(c->ssl)) != X509_V_OK) {
		snprintf(c->cert_error, sizeof(c->cert_error),
		    "client certificate not accepted: %s",
		    X509_verify_cert_error_string(v));
		return;
	}
	if (certs_identity(cert, &c->ident) == -1) {
		snprintf(c->cert_error, sizeof(c->cert_error),
		    "client certificate names no mwg device");
		return;
	}
	if (conn_revoked(c) || conn_session_ended(c))
		return;
	/*
	 * A resumed session carries the verification of its first handshake,
	 * which may be hours old: check the validity period again now.
	 */
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0 ||
	    X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
		snprintf(c->cert_error, sizeof(c->cert_error),
		    "client certificate not accepted: %s", SSL_session_reused(
		    c->ssl) ? "certificate has expired since the session began" :
		    "certificate is outside its validity period");
		return;
	}
	c->cert_ok = 1;
}

static const char *
tls_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "connection closed";
}

static void
conn_head_start(struct conn *c)
{
	c->head = xmalloc(sizeof(*c->head));
	http_head_init(c->head);
	c->state = CONN_HEAD;
	conn_read_identity(c);
	if (c->refuse) {
		conn_audit(c, "connection.refuse", "failure", c->refuse,
		    json_pack("{s:i}", "http.response.status_code", 503));
		conn_respond_error(c, 503, "busy", c->refuse);
		return;
	}
	c->want = WANT_UP_CRD;
	conn_update_events(c);
	/* The first request may already be buffered inside OpenSSL. */
	if (SSL_has_pending(c->ssl))
		event_active(&c->ev_crd, EV_READ, 0);
}

/* Why a handshake failed, for the metrics (before tls_reason clears it). */
static enum metrics_handshake
handshake_failure(void)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0 || (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) ==
	    SSL_R_UNEXPECTED_EOF_WHILE_READING))
		return METRICS_HS_PEER_CLOSED;
	if (ERR_GET_LIB(e) == ERR_LIB_SSL && (ERR_GET_REASON(e) ==
	    SSL_R_CERTIFICATE_VERIFY_FAILED || ERR_GET_REASON(e) ==
	    SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE))
		return METRICS_HS_CERTIFICATE;
	return METRICS_HS_PROTOCOL;
}

static void
conn_handshake(struct conn *c)
{
	int r;

	/* A PROXY header comes first, before any TLS byte. */
	if (c->proxy_mode != PROXY_MODE_NONE && proxy_conn_step(c) != 1)
		return;
	if ((r = SSL_do_handshake(c->ssl)) == 1) {
		metrics_handshake(METRICS_HS_OK);
		conn_head_start(c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->want = WANT_UP_CRD;
		break;
	case SSL_ERROR_WANT_WRITE:
		c->want = WANT_DN_CWR;
		break;
	default:
		c->tls_broken = 1;
		metrics_handshake(handshake_failure());
		log_debug("%s: conn %llu: handshake with %s failed: %s",
		    __func__, (unsigned long long)c->id, c->peer_ip,
		    tls_reason());
		conn_close(c, "tls-handshake-failed");
		return;
	}
	conn_update_events(c);
}

/*
 * Reads the head in small pieces from the stack: no splice buffer is held
 * while a client handshakes or dawdles. Bytes sent right behind the head
 * are the tunnel's first bytes and move to the up buffer.
 */
static void
conn_read_head(struct conn *c)
{
	char buf[HEAD_READ_CHUNK];
	enum http_head_state st = HTTP_HEAD_MORE;
	size_t used = 0;
	int r = 0;

	while (st == HTTP_HEAD_MORE) {
		r = SSL_read(c->ssl, buf, sizeof(buf));
		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);

			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			if (e != SSL_ERROR_ZERO_RETURN)
				c->tls_broken = 1;
			conn_close(c, "client-closed-in-head");
			return;
		}
		st = http_head_feed(c->head, buf, (size_t)r, &used);
	}
	if (st == HTTP_HEAD_ERROR) {
		log_debug("%s: conn %llu: bad request head from %s: %s",
		    __func__, (unsigned long long)c->id, c->peer_ip,
		    c->head->error);
		conn_audit(c, "request.reject", "failure", c->head->error,
		    json_pack("{s:i}", "http.response.status_code",
		    c->head->status));
		conn_respond_error(c, c->head->status, c->head->status == 400 ?
		    "bad-request" : "head-too-large", c->head->error);
		return;
	}
	c->want = 0;
	conn_update_events(c);
	/* GET /health; and while draining, every other request is refused. */
	if (health_intercept(c))
		return;
	if (c->head->method != HTTP_CONNECT) {
		request_begin(c, buf + used, (size_t)r - used);
		/* The body's first bytes (a password, say) leave no copy. */
		OPENSSL_cleanse(buf, sizeof(buf));
		return;
	}
	if ((size_t)r > used) {
		c->up.data = worker_buf_get(c->w);
		memcpy(c->up.data, buf + used, (size_t)r - used);
		c->up.len = (size_t)r - used;
	}
	tunnel_connect(c);
}

/*
 * Flushes the down buffer and refills it from the answer's body, one
 * splice buffer at a time (a CRL can be megabytes); when all is sent,
 * says goodbye and closes.
 */
static void
conn_finish(struct conn *c)
{
	size_t n;

	for (;;) {
		if (splice_down(c) == -1)
			return;
		if (c->down.len != 0)
			return;		/* blocked: the write event brings us back */
		if (c->answer_off == c->answer_len)
			break;
		n = c->answer_len - c->answer_off;
		if (n > SPLICE_BUF_SIZE)
			n = SPLICE_BUF_SIZE;
		(void)conn_queue(c, c->answer + c->answer_off, n);
		c->answer_off += n;
	}
	conn_close(c, c->rule[0] ? c->rule : "answered");
}

static void
client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	switch (c->state) {
	case CONN_HANDSHAKE:
		conn_handshake(c);
		break;
	case CONN_HEAD:
		conn_read_head(c);
		break;
	case CONN_BODY:
		request_read_body(c);
		break;
	case CONN_FINISHING:
		conn_finish(c);
		break;
	case CONN_OPEN:
		if (what & EV_READ) {
			if ((c->want & WANT_DN_CRD) && splice_down(c) == -1)
				return;
			splice_up(c);
		} else {
			if (splice_down(c) == -1)
				return;
			if (c->want & WANT_UP_CWR)
				splice_up(c);
		}
		break;
	case CONN_DIALING:
	case CONN_AUDITING:
	case CONN_WORKING:
		break;
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct timeval now;
	long quiet;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CONN_HANDSHAKE:
		if (c->proxy_mode == PROXY_MODE_REQUIRED)
			proxy_conn_timeout(c);
		metrics_handshake(METRICS_HS_TIMEOUT);
		conn_close(c, "head-timeout");
		return;
	case CONN_HEAD:
		conn_close(c, "head-timeout");
		return;
	case CONN_BODY:
		conn_close(c, "body-timeout");
		return;
	case CONN_WORKING:	/* the pool answers; nothing to time here */
		return;
	case CONN_DIALING:
		tunnel_backend_cb(c->bfd, EV_TIMEOUT, c);
		return;
	case CONN_AUDITING:	/* no timer runs while the record is written */
		return;
	case CONN_FINISHING:
		conn_close(c, "answer-timeout");
		return;
	case CONN_OPEN:
		break;
	}
	event_base_gettimeofday_cached(c->w->base, &now);
	if (c->deadline && now.tv_sec >= c->deadline) {
		conn_close(c, c->deadline == c->ident.not_after ?
		    "session-expired" : c->is_break_glass ?
		    "break-glass-expired" : "role-time-ended");
		return;
	}
	quiet = (long)(now.tv_sec - c->last_active);
	if (quiet >= c->timeout_idle)
		conn_close(c, "idle-timeout");
	else if (c->deadline && c->deadline - now.tv_sec <
	    c->timeout_idle - quiet)
		conn_set_timer(c, (long)(c->deadline - now.tv_sec));
	else
		conn_set_timer(c, c->timeout_idle - quiet);
}

int
conn_queue(struct conn *c, const char *data, size_t len)
{
	struct conn_buf *b = &c->down;

	if (b->data == NULL)
		b->data = worker_buf_get(c->w);
	if (len > SPLICE_BUF_SIZE - b->len)
		return -1;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return "Error";
	}
}

void
conn_respond(struct conn *c, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) :
	    NULL;
	size_t len;

	json_decref(body);
	if (text == NULL)	/* a value json_pack refused: say so, plainly */
		text = strdup("{\"error\":\"internal\"}");
	if (text == NULL || (text = realloc(text, (len = strlen(text)) + 2)) ==
	    NULL) {
		free(text);
		conn_close(c, "out-of-memory");
		return;
	}
	text[len++] = '\n';
	conn_respond_raw(c, status, "application/json", "", text, len);
	free(text);
}

void
conn_respond_raw(struct conn *c, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", status, status_text(status),
	    content_type, len, extra_headers);
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    conn_queue(c, head, (size_t)n) == -1) {
		log_warnx("%s: conn %llu: answer head too long; closed",
		    __func__, (unsigned long long)c->id);
		conn_close(c, "answer-head-too-long");
		return;
	}
	/* The body goes out in splice-buffer pieces from conn_finish, so an
	 * answer of any size is sent whole under its Content-Length. */
	if (len > 0) {
		c->answer = xmalloc(len);
		memcpy(c->answer, body, len);
		c->answer_len = len;
		c->answer_off = 0;
	}
	snprintf(c->rule, sizeof(c->rule), "answered-%d", status);
	c->state = CONN_FINISHING;
	c->want = 0;
	conn_update_events(c);
	conn_set_timer(c, CONN_FINISH_TIMEOUT);
	conn_finish(c);
}

void
conn_respond_error(struct conn *c, int status, const char *code,
    const char *reason)
{
	conn_respond(c, status, json_pack("{s:s, s:s}", "error", code,
	    "reason", reason));
}

static long long
elapsed_ms(const struct timespec *from)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (now.tv_sec - from->tv_sec) * 1000LL +
	    (now.tv_nsec - from->tv_nsec) / 1000000;
}

/*
 * A certificate was presented but refused: record what it claims, marked
 * unverified, so the cyber team can trace a stolen or stale one.
 */
static void
conn_audit_unverified(struct conn *c, json_t *f)
{
	X509 *cert = SSL_get0_peer_certificate(c->ssl);
	char dn[256], *serial = NULL;
	BIGNUM *bn;

	if (cert == NULL)
		return;
	X509_NAME_oneline(X509_get_subject_name(cert), dn, sizeof(dn));
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL)))
		serial = BN_bn2hex(bn);
	json_object_set_new(f, "tls.client.subject", json_string(dn));
	if (serial)
		json_object_set_new(f, "tls.client.x509.serial_number",
		    json_string(serial));
	json_object_set_new(f, "tls.client.verified", json_false());
	OPENSSL_free(serial);
	BN_free(bn);
}

json_t *
conn_audit_fields(struct conn *c, const char *reason, json_t *extra)
{
	json_t *f = json_object();

	json_object_set_new(f, "tunnel.id", json_integer((json_int_t)c->id));
	json_object_set_new(f, "source.ip", json_string(c->peer_ip));
	json_object_set_new(f, "source.port", json_integer(c->peer_port));
	if (c->cert_ok || c->revoked) {
		json_object_set_new(f, "device.id",
		    json_string(c->ident.device_id));
		if (c->ident.user[0])
			json_object_set_new(f, "user.name",
			    json_string(c->ident.user));
		json_object_set_new(f, "tls.client.x509.serial_number",
		    json_string(c->ident.serial));
	} else if (c->has_cert)
		conn_audit_unverified(c, f);
	if (c->practice[0])
		json_object_set_new(f, "organization.id",
		    json_string(c->practice));
	if (c->target[0])
		json_object_set_new(f, "destination.address",
		    json_string(c->target));
	if (c->backend[0])
		json_object_set_new(f, "destination.socket",
		    json_string(c->backend));
	if (c->rule[0])
		json_object_set_new(f, "rule.id", json_string(c->rule));
	return audit_fields_add(f, reason, extra);
}

int
conn_audit(struct conn *c, const char *action, const char *outcome,
    const char *reason, json_t *extra)
{
	return audit_append(c->w->srv->audit, action, outcome,
	    conn_audit_fields(c, reason, extra));
}

static void
conn_audit_close(struct conn *c, const char *reason)
{
	json_t *x = json_object();

	json_object_set_new(x, "network.bytes_up",
	    json_integer((json_int_t)atomic_load(&c->bytes_up)));
	json_object_set_new(x, "network.bytes_down",
	    json_integer((json_int_t)atomic_load(&c->bytes_down)));
	json_object_set_new(x, "event.duration_ms",
	    json_integer(elapsed_ms(&c->t_open)));
	conn_audit(c, "tunnel.close", "success", reason, x);
}

static void
conn_buf_release(struct conn *c, struct conn_buf *b)
{
	if (b->data)
		worker_buf_put(c->w, b->data);
	memset(b, 0, sizeof(*b));
}

void
conn_close(struct conn *c, const char *reason)
{
	struct server *srv = c->w->srv;
	int is_cut = c->state == CONN_OPEN && session_is_cut(reason);

	if (c->state == CONN_OPEN) {
		conn_audit_close(c, reason);
		session_closed_note(c, reason, c->close_detail);
		log_debug("%s: conn %llu: tunnel to %s closed: %s", __func__,
		    (unsigned long long)c->id, c->target, reason);
	}
	if (c->in_registry) {
		pthread_mutex_lock(&srv->reg_lock);
		TAILQ_REMOVE(&srv->tunnels, c, gentry);
		pthread_mutex_unlock(&srv->reg_lock);
	}
	event_del(&c->ev_crd);
	event_del(&c->ev_cwr);
	event_del(&c->ev_timer);
	if (c->bfd != -1) {
		event_del(&c->ev_brd);
		event_del(&c->ev_bwr);
		close(c->bfd);
	}
	/*
	 * Best effort close_notify; never wait for it. A tunnel the gateway
	 * cuts gets none: its stream did not end, it was truncated, and the
	 * client asks why (gateway/session.h).
	 */
	if (!c->tls_broken && !c->notify_sent && c->state != CONN_HANDSHAKE &&
	    !is_cut)
		SSL_shutdown(c->ssl);
	SSL_free(c->ssl);
	ERR_clear_error();
	close(c->cfd);
	conn_buf_release(c, &c->up);
	conn_buf_release(c, &c->down);
	/* It may hold an Authorization header (an enrolment secret). */
	if (c->head)
		OPENSSL_cleanse(c->head, sizeof(*c->head));
	free(c->head);
	proxy_conn_free(c);
	free(c->answer);
	c->answer = NULL;
	free(c->break_glass);
	c->break_glass = NULL;
	free(c->close_detail);
	c->close_detail = NULL;
	if (c->body) {
		OPENSSL_cleanse(c->body, c->body_want);
		free(c->body);
		c->body = NULL;
	}
	TAILQ_REMOVE(&c->w->conns, c, wentry);
	c->w->nconns--;
	c->w->nclosed++;
	worker_trim_later(c->w);
	if (c->refuse)
		c->w->nrefusing--;
	atomic_fetch_sub(&srv->nconns, 1);
	/* The audit writer still holds c for tunnel.open: free it then. */
	if (c->audit_pending || c->job_pending) {
		c->zombie = 1;
		return;
	}
	free(c);
}
