/*
 * Audit forwarder: a thread sends each record of the live audit file to the
 * SIEM over UDP, TCP or TLS and catches up after an outage (messages:
 * audit_syslog_format.c; the followed file: audit_syslog_follow.c).
 */
#include "audit/audit_syslog.h"
#include "audit/audit_syslog_priv.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/xmalloc.h"

#define FWD_MSG_MAX		65000	/* a message fits one UDP datagram */
#define FWD_FLUSH_BYTES		(64 * 1024)	/* TCP/TLS write size */
#define FWD_OUT_BYTES		(FWD_FLUSH_BYTES + FWD_MSG_MAX + 32)
#define FWD_POLL_MS		1000	/* look at the file without a kick */
#define FWD_CONNECT_MS		5000
#define FWD_IO_MS		2000	/* a send blocked longer: reconnect */
#define FWD_SLICE_MS		100	/* a connect looks for stop this often */
#define FWD_ACK_WAIT_MS		1000	/* for the collector's TCP ACK */
#define FWD_STOP_MS		2000	/* stop sends what it can this long */
#define FWD_BACKOFF_MIN_S	1
#define FWD_BACKOFF_MAX_S	30

enum fwd_proto {
	FWD_UDP,
	FWD_TCP,
	FWD_TLS,
};

struct audit_forwarder {
	/* Set at start, read-only afterwards. */
	enum fwd_proto proto;
	char *url, *host, *port;
	int host_is_ip;
	SSL_CTX *ctx;
	char hostname[AUDIT_SYSLOG_HOSTNAME_MAX + 1];
	long procid;
	pthread_t thread;

	pthread_mutex_t lock;	/* guards the fields up to the blank line */
	pthread_cond_t cond;
	int kicked, stopping, connected;
	long long stop_at;	/* when stop was asked (monotonic ms) */
	unsigned long long sent, backlog;

	/* The forwarder thread's own. */
	int sock;
	SSL *ssl;
	char outage[256];	/* why the collector is out of reach, or "" */
	int has_connected, stop_tried;
	unsigned backoff;	/* seconds before the next try */
	long long retry_at, deadline;	/* monotonic ms; deadline: stopping */
	struct audit_follow *fl;	/* the audit file, our place in it */
	char *msg, *out;
};

/* ---- the collector ------------------------------------------------------ */

static long long
mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
fwd_set_connected(struct audit_forwarder *f, int connected,
    unsigned long long delivered)
{
	if (pthread_mutex_lock(&f->lock) != 0)
		return;
	f->connected = connected;
	f->sent += delivered;
	(void)pthread_mutex_unlock(&f->lock);
}

static int
set_io_timeout(int s, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		return -1;
	return 0;
}

static int
fwd_is_stopping(struct audit_forwarder *f)
{
	int stop = 1;

	if (pthread_mutex_lock(&f->lock) == 0) {
		stop = f->stopping;
		(void)pthread_mutex_unlock(&f->lock);
	}
	return stop;
}

/*
 * Connects to one address within timeout_ms, giving up early if stop is
 * asked meanwhile; the socket is then blocking with I/O timeouts.
 */
static int
dial_one(struct audit_forwarder *f, const struct addrinfo *ai,
    int timeout_ms, char *why, size_t len)
{
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int s, r = 0, soerr = 0, one = 1, waited = 0, fl;

	s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (s == -1)
		goto fail;
	if (connect(s, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = s;
		pfd.events = POLLOUT;
		while (waited < timeout_ms && (f->deadline != 0 ||
		    !fwd_is_stopping(f)) && (r = poll(&pfd, 1,
		    timeout_ms - waited < FWD_SLICE_MS ? timeout_ms - waited :
		    FWD_SLICE_MS)) == 0)
			waited += FWD_SLICE_MS;
		if (r <= 0) {
			errno = r == 0 ? ETIMEDOUT : errno;
			goto fail;
		}
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			goto fail;
		if (soerr != 0) {
			errno = soerr;
			goto fail;
		}
	}
	if ((fl = fcntl(s, F_GETFL)) == -1 ||
	    fcntl(s, F_SETFL, fl & ~O_NONBLOCK) == -1 ||
	    set_io_timeout(s, FWD_IO_MS) == -1)
		goto fail;
	/* We batch writes ourselves; Nagle would only hold the last one. */
	if (ai->ai_socktype == SOCK_STREAM && setsockopt(s, IPPROTO_TCP,
	    TCP_NODELAY, &one, sizeof(one)) == -1)
		goto fail;
	return s;
fail:
	snprintf(why, len, "%s", strerror(errno));
	if (s != -1)
		close(s);
	return -1;
}

static int
fwd_dial(struct audit_forwarder *f, int timeout_ms, char *why, size_t len)
{
	struct addrinfo hints, *res, *ai;
	int gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = f->proto == FWD_UDP ? SOCK_DGRAM : SOCK_STREAM;
	if ((gai = getaddrinfo(f->host, f->port, &hints, &res)) != 0) {
		snprintf(why, len, "cannot resolve %s: %s", f->host,
		    gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL && f->sock == -1; ai = ai->ai_next)
		f->sock = dial_one(f, ai, timeout_ms, why, len);
	freeaddrinfo(res);
	return f->sock == -1 ? -1 : 0;
}

/* RFC 5425 §5.2: the collector's certificate must name HOST. */
static int
fwd_tls_handshake(struct audit_forwarder *f, char *why, size_t len)
{
	long v;
	int ok;

	ERR_clear_error();
	if ((f->ssl = SSL_new(f->ctx)) == NULL ||
	    SSL_set_fd(f->ssl, f->sock) != 1)
		ok = 0;
	else if (f->host_is_ip)
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(f->ssl),
		    f->host) == 1;
	else
		ok = SSL_set1_host(f->ssl, f->host) == 1 &&
		    SSL_set_tlsext_host_name(f->ssl, f->host) == 1;
	if (ok && SSL_connect(f->ssl) == 1)
		return 0;
	v = f->ssl ? SSL_get_verify_result(f->ssl) : X509_V_OK;
	if (v != X509_V_OK)
		snprintf(why, len, "collector certificate not accepted: %s",
		    X509_verify_cert_error_string(v));
	else
		snprintf(why, len, "TLS handshake failed: %s",
		    ERR_peek_last_error() ?
		    ERR_reason_error_string(ERR_peek_last_error()) :
		    strerror(errno));
	ERR_clear_error();
	return -1;
}

static void
fwd_disconnect(struct audit_forwarder *f, int clean)
{
	if (f->ssl != NULL) {
		/* One close_notify, not waiting for the collector's. */
		if (clean)
			(void)SSL_shutdown(f->ssl);
		SSL_free(f->ssl);
		f->ssl = NULL;
		ERR_clear_error();
	}
	if (f->sock != -1)
		close(f->sock);
	f->sock = -1;
	fwd_set_connected(f, 0, 0);
}

/*
 * A failed connect or a lost connection: close, go back to the last place
 * delivered, and wait before the next try: 1 s, doubling to 30 s until a
 * batch is delivered again (so a collector that accepts and drops every
 * connection is not hammered).
 */
static void
fwd_lost(struct audit_forwarder *f, const char *why)
{
	/* An outage is logged once, and again only if its reason changes. */
	if (strcmp(why, f->outage) != 0)
		log_warnx("audit forwarder: %s: %s; records after seq %llu wait "
		    "in the local file", f->url, why, f->fl->acked.seq);
	snprintf(f->outage, sizeof(f->outage), "%s", why);
	fwd_disconnect(f, 0);
	f->fl->pos = f->fl->acked;
	f->fl->unconfirmed = 0;
	f->retry_at = mono_ms() + f->backoff * 1000LL;
	f->backoff = f->backoff * 2 > FWD_BACKOFF_MAX_S ? FWD_BACKOFF_MAX_S :
	    f->backoff * 2;
}

/* Connects unless the backoff says wait; stopping: one try in the time left. */
static int
fwd_connect(struct audit_forwarder *f)
{
	long long now = mono_ms();
	int timeout = FWD_CONNECT_MS;
	char why[200] = "", msg[256];

	if (f->deadline != 0) {
		if (now >= f->deadline || f->stop_tried)
			return -1;
		f->stop_tried = 1;
		if (f->deadline - now < timeout)
			timeout = (int)(f->deadline - now);
	} else if (now < f->retry_at)
		return -1;
	if (fwd_dial(f, timeout, why, sizeof(why)) == -1 ||
	    (f->proto == FWD_TLS && fwd_tls_handshake(f, why,
	    sizeof(why)) == -1)) {
		snprintf(msg, sizeof(msg), "cannot connect: %s", why);
		fwd_lost(f, msg);
		return -1;
	}
	if (!f->has_connected)
		log_info("audit forwarder: forwarding to %s", f->url);
	f->has_connected = 1;
	fwd_set_connected(f, 1, 0);
	return 0;
}

/*
 * Reads and drops what the collector sent: syslog collectors send nothing
 * but TLS housekeeping (TLS 1.3 session tickets). Returns 1 if it read
 * something, 0 if there is nothing more, -1 at EOF or on an error.
 */
static int
fwd_discard(struct audit_forwarder *f)
{
	char junk[512];
	int flags, n, e;

	if (f->ssl == NULL) {
		ssize_t r = recv(f->sock, junk, sizeof(junk), MSG_DONTWAIT);

		if (r > 0)
			return 1;
		return r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) ?
		    0 : -1;
	}
	if ((flags = fcntl(f->sock, F_GETFL)) == -1 ||
	    fcntl(f->sock, F_SETFL, flags | O_NONBLOCK) == -1)
		return -1;
	n = SSL_read(f->ssl, junk, sizeof(junk));
	e = SSL_get_error(f->ssl, n);
	ERR_clear_error();
	if (fcntl(f->sock, F_SETFL, flags) == -1)
		return -1;
	if (n > 0)
		return 1;
	return e == SSL_ERROR_WANT_READ ? 0 : -1;
}

/* 1 if the connection is up; an ICMP error makes a UDP socket fail too. */
static int
fwd_alive(struct audit_forwarder *f)
{
	struct pollfd pfd;
	int r;

	for (;;) {
		pfd.fd = f->sock;
		pfd.events = POLLIN | POLLRDHUP;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) == -1)
			return 0;
		if (pfd.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL))
			return 0;
		if (!(pfd.revents & POLLIN))
			return 1;
		if ((r = fwd_discard(f)) != 1)
			return r == 0;
	}
}

/*
 * Syslog over TCP has no application acknowledgement (RELP would): a
 * batch counts as delivered once the collector's TCP has acknowledged
 * every byte (nothing left in our send queue). Looked at after 50 us, then
 * less and less often: on a LAN the ACK is back within a millisecond.
 * Returns 1 when it has, 0 if not yet after wait_ms, -1 if the connection
 * is gone.
 */
static int
fwd_acked(struct audit_forwarder *f, int wait_ms)
{
	long long waited = 0, step = 50;	/* microseconds */
	struct timespec ts;
	int outq;

	for (;;) {
		if (!fwd_alive(f))
			return -1;
		if (f->proto == FWD_UDP)
			return 1;
		if (ioctl(f->sock, SIOCOUTQ, &outq) == -1)
			return -1;
		if (outq == 0)
			return 1;
		if (waited >= wait_ms * 1000LL)
			return 0;
		ts.tv_sec = 0;
		ts.tv_nsec = step * 1000;
		(void)nanosleep(&ts, NULL);
		waited += step;
		step = step * 2 > 50000 ? 50000 : step * 2;
	}
}

static int
fwd_write(struct audit_forwarder *f, const char *p, size_t len)
{
	ssize_t n;

	if (f->ssl != NULL) {
		int w = SSL_write(f->ssl, p, (int)len);

		ERR_clear_error();
		return w > 0 && (size_t)w == len ? 0 : -1;
	}
	while (len > 0) {
		/* MSG_NOSIGNAL: a closed collector gives EPIPE, no signal. */
		if ((n = send(f->sock, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- the thread --------------------------------------------------------- */

/* Notes the backlog for status; a file cut short is read again. */
static int
fwd_stat(struct audit_forwarder *f)
{
	off_t size;

	if (audit_follow_stat(f->fl, &size) == -1)
		return -1;
	if (pthread_mutex_lock(&f->lock) == 0) {
		f->backlog = (unsigned long long)(size - f->fl->acked.off);
		(void)pthread_mutex_unlock(&f->lock);
	}
	return 0;
}

/*
 * Sends the lines in f->fl->buf: a datagram each (UDP) or octet-counted frames
 * (RFC 6587 §3.4.1, RFC 5425 §4.3) gathered into large writes. Only
 * advances the position once every byte was written.
 */
static int
fwd_send(struct audit_forwarder *f, size_t nbytes)
{
	const char *p = f->fl->buf, *end = p + nbytes, *nl;
	unsigned long long seq = f->fl->pos.seq;
	size_t olen = 0, mlen, flen;
	unsigned records = 0;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == p)
			continue;
		mlen = audit_syslog_format_record(p, (size_t)(nl - p),
		    f->hostname, f->procid, FWD_MSG_MAX, f->msg,
		    FWD_MSG_MAX + 1, &seq);
		if (mlen == 0) {
			log_warnx("audit forwarder: cannot format the record "
			    "after seq %llu", seq);
			continue;
		}
		records++;
		if (f->proto == FWD_UDP) {
			if (fwd_write(f, f->msg, mlen) == -1)
				return -1;
			continue;
		}
		if (olen + mlen + 16 > FWD_FLUSH_BYTES && olen > 0) {
			if (fwd_write(f, f->out, olen) == -1)
				return -1;
			olen = 0;
		}
		/* Cannot fail: out holds a flush's worth and one message. */
		if ((flen = audit_syslog_frame(f->msg, mlen, f->out + olen,
		    FWD_OUT_BYTES - olen)) == 0) {
			errno = EMSGSIZE;
			return -1;
		}
		olen += flen;
	}
	if (olen > 0 && fwd_write(f, f->out, olen) == -1)
		return -1;
	f->fl->pos.off += (off_t)nbytes;
	f->fl->pos.seq = seq;
	f->fl->unconfirmed += records;
	return 0;
}

/*
 * Settles the batch written last. Delivered: the position is saved. Lost
 * connection: back to the last delivered place, so at most that one batch
 * (FWD_BATCH_RECORDS records) can reach the collector twice, never zero
 * times. Returns 1 to go on, 0 to wait, -1 after a lost connection.
 */
static int
fwd_confirm(struct audit_forwarder *f)
{
	long long left = f->deadline ? f->deadline - mono_ms() : 0;
	int r, wait = FWD_ACK_WAIT_MS;

	if (f->fl->pos.off == f->fl->acked.off)
		return 1;
	if (f->deadline != 0 && left < wait)
		wait = left > 0 ? (int)left : 0;
	if ((r = fwd_acked(f, wait)) == 0)
		return 0;
	if (r == -1) {
		fwd_lost(f, "connection lost");
		return -1;
	}
	if (f->outage[0] != '\0')
		log_info("audit forwarder: %s reachable again; delivered up "
		    "to seq %llu", f->url, f->fl->pos.seq);
	f->outage[0] = '\0';
	f->backoff = FWD_BACKOFF_MIN_S;
	f->fl->acked = f->fl->pos;
	fwd_set_connected(f, 1, f->fl->unconfirmed);
	f->fl->unconfirmed = 0;
	audit_follow_save(f->fl);
	return 1;
}

/* One step of work: 1 if it did something and wants to go on at once. */
static int
fwd_step(struct audit_forwarder *f)
{
	char why[128];
	long long left;
	ssize_t n;
	int r, rotated;

	if ((f->fl->fd == -1 && audit_follow_open_first(f->fl) == -1) ||
	    fwd_stat(f) == -1)
		return 0;
	if (f->sock == -1 && fwd_connect(f) == -1)
		return 0;
	if ((r = fwd_confirm(f)) != 1)
		return r == -1;
	/* Stopping: no send may block past the deadline. */
	if (f->deadline != 0 && ((left = f->deadline - mono_ms()) < 1 ||
	    set_io_timeout(f->sock, (int)left) == -1))
		return 0;
	/* Looked at before reading: all the old file holds is then on disk. */
	rotated = audit_follow_rotated(f->fl);
	if ((n = audit_follow_read(f->fl)) == -2)
		return 1;
	if (n == -1)
		return 0;
	if (n == 0)
		return rotated ? audit_follow_switch(f->fl) : 0;
	if (fwd_send(f, (size_t)n) == -1) {
		snprintf(why, sizeof(why), "sending failed: %s",
		    strerror(errno));
		fwd_lost(f, why);
	}
	return 1;
}

/* Waits for a kick or the poll interval. Returns -1 once asked to stop. */
static int
fwd_wait(struct audit_forwarder *f)
{
	struct timespec ts;
	int stop;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += FWD_POLL_MS / 1000;
	if (pthread_mutex_lock(&f->lock) != 0)
		return -1;
	while (!f->kicked && !f->stopping)
		if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) != 0)
			break;
	f->kicked = 0;
	stop = f->stopping;
	(void)pthread_mutex_unlock(&f->lock);
	return stop ? -1 : 0;
}

static void *
fwd_main(void *arg)
{
	struct audit_forwarder *f = arg;

	while (fwd_wait(f) == 0)
		while (!fwd_is_stopping(f) && fwd_step(f) == 1)
			;
	/* Stopping: send what is there for a bounded time, then save. */
	if (pthread_mutex_lock(&f->lock) == 0) {
		f->deadline = f->stop_at + FWD_STOP_MS;
		(void)pthread_mutex_unlock(&f->lock);
	} else
		f->deadline = mono_ms();
	while (mono_ms() < f->deadline && fwd_step(f) == 1)
		;
	if (f->sock != -1)
		(void)fwd_confirm(f);
	audit_follow_save(f->fl);
	/* close_notify must not wait on a collector that does not read. */
	if (f->sock != -1)
		(void)set_io_timeout(f->sock, FWD_SLICE_MS);
	fwd_disconnect(f, 1);
	return NULL;
}

/* ---- start and stop ----------------------------------------------------- */

static int
fwd_parse_url(struct audit_forwarder *f, const char *url, char *err,
    size_t errlen)
{
	static const struct {
		const char *scheme;
		enum fwd_proto proto;
	} schemes[] = {
		{ "udp://", FWD_UDP }, { "tcp://", FWD_TCP }, { "tls://", FWD_TLS },
	};
	const char *rest = NULL, *colon, *host;
	char *end;
	unsigned long port;
	size_t hostlen, i;
	unsigned char a[sizeof(struct in6_addr)];

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]) && !rest; i++)
		if (strncmp(url, schemes[i].scheme, 6) == 0) {
			f->proto = schemes[i].proto;
			rest = url + 6;
		}
	if (rest == NULL)
		goto bad;
	host = rest + (*rest == '[');
	colon = *rest == '[' ? strstr(rest, "]:") : strchr(rest, ':');
	if (colon == NULL || (*rest != '[' && strchr(colon + 1, ':') != NULL))
		goto bad;
	hostlen = (size_t)(colon - host);
	f->port = xstrdup(colon + (*rest == '[' ? 2 : 1));
	errno = 0;
	port = strtoul(f->port, &end, 10);
	if (hostlen == 0 || hostlen > 253 || !isdigit((unsigned char)*f->port) ||
	    *end != '\0' || errno != 0 || port < 1 || port > 65535)
		goto bad;
	f->host = xstrndup(host, hostlen);
	f->host_is_ip = inet_pton(AF_INET, f->host, a) == 1 ||
	    inet_pton(AF_INET6, f->host, a) == 1;
	f->url = xstrdup(url);
	return 0;
bad:
	snprintf(err, errlen, "bad forwarding address '%s': expected "
	    "udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT", url);
	return -1;
}

static int
fwd_tls_init(struct audit_forwarder *f, const char *ca, char *err,
    size_t errlen)
{
	if (f->proto != FWD_TLS) {
		if (ca == NULL)
			return 0;
		snprintf(err, errlen, "a collector CA is only used with tls://");
		return -1;
	}
	if (ca == NULL) {
		snprintf(err, errlen, "tls:// forwarding needs the collector's "
		    "CA file");
		return -1;
	}
	ERR_clear_error();
	if ((f->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(f->ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(f->ctx, ca, NULL) != 1) {
		snprintf(err, errlen, "cannot load collector CA %s: %s", ca,
		    ERR_peek_last_error() ?
		    ERR_reason_error_string(ERR_peek_last_error()) : "failed");
		ERR_clear_error();
		return -1;
	}
	SSL_CTX_set_verify(f->ctx, SSL_VERIFY_PEER, NULL);
	return 0;
}

static void
fwd_free(struct audit_forwarder *f)
{
	audit_follow_free(f->fl);
	SSL_CTX_free(f->ctx);
	free(f->url);
	free(f->host);
	free(f->port);
	free(f->msg);
	free(f->out);
	free(f);
}

/* The thread blocks every signal: they are the daemon's to handle. */
static int
fwd_spawn(struct audit_forwarder *f, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int e;

	if ((e = pthread_mutex_init(&f->lock, NULL)) != 0 ||
	    (e = pthread_condattr_init(&ca)) != 0)
		goto fail;
	if ((e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0)
		e = pthread_cond_init(&f->cond, &ca);
	(void)pthread_condattr_destroy(&ca);
	if (e != 0)
		goto fail;
	f->kicked = 1;	/* look at the file at once */
	(void)sigfillset(&all);
	if ((e = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0)
		goto fail;
	e = pthread_create(&f->thread, NULL, fwd_main, f);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e == 0)
		return 0;
	(void)pthread_cond_destroy(&f->cond);
	(void)pthread_mutex_destroy(&f->lock);
fail:
	snprintf(err, errlen, "cannot start the audit forwarder: %s",
	    strerror(e));
	return -1;
}

struct audit_forwarder *
audit_forwarder_start(const char *url, const char *ca,
    const char *audit_path, const char *state_path, char *err, size_t errlen)
{
	struct audit_forwarder *f = xcalloc(1, sizeof(*f));

	f->sock = -1;
	f->backoff = FWD_BACKOFF_MIN_S;
	if (fwd_parse_url(f, url, err, errlen) == -1 ||
	    fwd_tls_init(f, ca, err, errlen) == -1) {
		fwd_free(f);
		return NULL;
	}
	f->fl = audit_follow_new(audit_path, state_path);
	if (gethostname(f->hostname, sizeof(f->hostname)) == -1)
		f->hostname[0] = '\0';
	f->hostname[sizeof(f->hostname) - 1] = '\0';
	f->procid = (long)getpid();
	f->msg = xmalloc(FWD_MSG_MAX + 1);
	f->out = xmalloc(FWD_OUT_BYTES);
	if (fwd_spawn(f, err, errlen) == -1) {
		fwd_free(f);
		return NULL;
	}
	return f;
}

void
audit_forwarder_kick(struct audit_forwarder *f)
{
	if (f == NULL || pthread_mutex_lock(&f->lock) != 0)
		return;
	f->kicked = 1;
	(void)pthread_cond_signal(&f->cond);
	(void)pthread_mutex_unlock(&f->lock);
}

void
audit_forwarder_stop(struct audit_forwarder *f)
{
	int e;

	if (f == NULL)
		return;
	if (pthread_mutex_lock(&f->lock) == 0) {
		f->stopping = 1;
		f->stop_at = mono_ms();
		(void)pthread_cond_signal(&f->cond);
		(void)pthread_mutex_unlock(&f->lock);
	}
	if ((e = pthread_join(f->thread, NULL)) != 0)
		log_warnx("audit forwarder: cannot join its thread: %s",
		    strerror(e));
	(void)pthread_mutex_destroy(&f->lock);
	(void)pthread_cond_destroy(&f->cond);
	fwd_free(f);
}

void
audit_forwarder_stats(struct audit_forwarder *f, unsigned long long *sent,
    int *connected)
{
	*sent = 0;
	*connected = 0;
	if (f == NULL || pthread_mutex_lock(&f->lock) != 0)
		return;
	*sent = f->sent;
	*connected = f->connected;
	(void)pthread_mutex_unlock(&f->lock);
}

unsigned long long
audit_forwarder_backlog(struct audit_forwarder *f)
{
	unsigned long long b = 0;

	if (f == NULL || pthread_mutex_lock(&f->lock) != 0)
		return 0;
	b = f->backlog;
	(void)pthread_mutex_unlock(&f->lock);
	return b;
}
