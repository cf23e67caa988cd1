/*
 * Moving a tunnel's bytes between the local connection and the gateway's
 * TLS connection, both ways, in one thread: non-blocking sockets and
 * poll(2), since one SSL object must not be read and written from two
 * threads. Half-closes carry through: the local side's EOF becomes our
 * close_notify (the gateway then shuts the target's write side), and the
 * gateway's close_notify becomes shutdown(SHUT_WR) on the local socket.
 * A gateway that closes without close_notify has cut the tunnel: the
 * relay ends there, and the caller asks the gateway why.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "client/gw.h"
#include "common/xmalloc.h"

#define RELAY_BUF	16384	/* one TLS record */

struct relay_buf {
	char	data[RELAY_BUF];
	size_t	off, len;
};

struct relay {
	SSL			*ssl;
	int			 local, gw;
	struct relay_buf	 up;	/* local -> gateway */
	struct relay_buf	 down;	/* gateway -> local */
	short			 local_ev, gw_ev;	/* what to poll for */
	int			 is_local_eof, is_gw_eof;
	int			 has_sent_close, has_shut_local;
	int			 progress;
	struct client_relay_stats *stats;
};

static int
relay_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags == -1 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* An SSL call would block: poll for what it needs. 0, or -1 if it
 * failed for real. */
static int
relay_ssl_wait(struct relay *r, int rc)
{
	switch (SSL_get_error(r->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		r->gw_ev |= POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		r->gw_ev |= POLLOUT;
		return 0;
	default:
		r->stats->why = "the gateway connection failed";
		r->stats->is_abrupt = 1;
		return -1;
	}
}

/* A local read or write would block (or was interrupted): poll for ev.
 * 0, or -1 if it failed for real. */
static int
relay_local_wait(struct relay *r, short ev)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		r->local_ev |= ev;
		return 0;
	}
	r->stats->why = "local connection failed";
	return -1;
}

/* n more bytes of b went out; an emptied buffer starts again. */
static void
relay_drained(struct relay *r, struct relay_buf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
	r->progress = 1;
}

static int
relay_local_to_up(struct relay *r)
{
	ssize_t n;

	if (r->is_local_eof || r->up.len != 0)
		return 0;
	if ((n = read(r->local, r->up.data, RELAY_BUF)) == -1)
		return relay_local_wait(r, POLLIN);
	if (n > 0) {
		r->up.off = 0;
		r->up.len = (size_t)n;
	} else
		r->is_local_eof = 1;
	r->progress = 1;
	return 0;
}

static int
relay_up_to_gw(struct relay *r)
{
	int n;

	if (r->up.off < r->up.len) {
		n = SSL_write(r->ssl, r->up.data + r->up.off,
		    (int)(r->up.len - r->up.off));
		if (n <= 0)
			return relay_ssl_wait(r, n);
		r->stats->up += (unsigned long long)n;
		relay_drained(r, &r->up, (size_t)n);
	}
	/* Everything the local side sent is out: our half-close. */
	if (r->is_local_eof && r->up.len == 0 && !r->has_sent_close) {
		n = SSL_shutdown(r->ssl);
		if (n < 0)
			return relay_ssl_wait(r, n);
		r->has_sent_close = 1;
		r->progress = 1;
	}
	return 0;
}

static int
relay_gw_to_down(struct relay *r)
{
	int n, e;

	if (r->is_gw_eof || r->down.len != 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	if ((n = SSL_read(r->ssl, r->down.data, RELAY_BUF)) > 0) {
		r->down.off = 0;
		r->down.len = (size_t)n;
		r->stats->down += (unsigned long long)n;
		r->progress = 1;
		return 0;
	}
	e = SSL_get_error(r->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return relay_ssl_wait(r, n);
	if (e != SSL_ERROR_ZERO_RETURN) {
		/* A TCP close without close_notify: the gateway died. */
		r->stats->why = "the gateway closed the connection abruptly";
		r->stats->is_abrupt = 1;
	}
	r->is_gw_eof = 1;
	r->progress = 1;
	return 0;
}

static int
relay_down_to_local(struct relay *r)
{
	ssize_t n;

	if (r->down.off < r->down.len) {
		n = write(r->local, r->down.data + r->down.off,
		    r->down.len - r->down.off);
		if (n == -1)
			return relay_local_wait(r, POLLOUT);
		relay_drained(r, &r->down, (size_t)n);
	}
	/* The gateway has sent all it will: pass the half-close on. */
	if (r->is_gw_eof && r->down.len == 0 && !r->has_shut_local) {
		(void)shutdown(r->local, SHUT_WR);
		r->has_shut_local = 1;
		r->progress = 1;
	}
	return 0;
}

static int
relay_wait(struct relay *r)
{
	struct pollfd pfd[2] = {
		{ .fd = r->local_ev ? r->local : -1, .events = r->local_ev },
		{ .fd = r->gw_ev ? r->gw : -1, .events = r->gw_ev },
	};

	if (r->local_ev == 0 && r->gw_ev == 0) {
		r->stats->why = "relay stalled";	/* cannot happen */
		return -1;
	}
	if (poll(pfd, 2, -1) == -1 && errno != EINTR) {
		r->stats->why = "poll failed";
		return -1;
	}
	return 0;
}

int
client_relay(SSL *ssl, int local, const char *early, size_t early_len,
    struct client_relay_stats *stats)
{
	struct relay *r = xcalloc(1, sizeof(*r));	/* 32 KiB: not on the
							   thread's stack */
	int rc = -1;

	r->ssl = ssl;
	r->local = local;
	r->gw = SSL_get_fd(ssl);
	r->stats = stats;
	memset(stats, 0, sizeof(*stats));
	stats->why = "completed";
	if (early_len > RELAY_BUF || relay_nonblock(local) == -1 ||
	    relay_nonblock(r->gw) == -1) {
		stats->why = "cannot set up the relay";
		goto out;
	}
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Bytes that came in with the gateway's 200 go out first. */
	memcpy(r->down.data, early, early_len);
	r->down.len = early_len;
	stats->down = early_len;
	/*
	 * A gateway that ends without close_notify has cut the tunnel
	 * (gateway/session.h): what came before the cut still goes to the
	 * local side, then the relay ends; nothing more can reach the target.
	 */
	while (!(r->has_sent_close && r->has_shut_local) &&
	    !(stats->is_abrupt && r->has_shut_local)) {
		r->progress = 0;
		r->local_ev = r->gw_ev = 0;
		if (relay_local_to_up(r) == -1 || relay_up_to_gw(r) == -1 ||
		    relay_gw_to_down(r) == -1 || relay_down_to_local(r) == -1)
			goto out;
		if (!r->progress && relay_wait(r) == -1)
			goto out;
	}
	rc = stats->is_abrupt ? -1 : 0;
out:
	ERR_clear_error();
	free(r);
	return rc;
}
