/*
 * Moving bytes through an open tunnel. OpenSSL is driven directly on the
 * sockets (no bufferevents): SSL_read fills a pooled 64 KiB buffer that is
 * written to the target with one write(2), and read(2) from the target
 * feeds SSL_write. Backpressure is natural: a direction stops reading
 * while its buffer is unwritten, so a slow side never makes the gateway
 * hold more than one buffer per direction. Idle tunnels hold no buffers.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/log.h"
#include "gateway/net/conn.h"

#define SPLICE_ROUNDS	8	/* buffers per callback before yielding */

static void
buf_release_if_empty(struct conn *c, struct conn_buf *b)
{
	if (b->data && b->off == b->len) {
		worker_buf_put(c->w, b->data);
		b->data = NULL;
		b->off = b->len = 0;
	}
}

static void
want(struct conn *c, unsigned bits, int on)
{
	if (on)
		c->want |= bits;
	else
		c->want &= ~bits;
}

/* Both sides finished and everything delivered: the tunnel is done. */
static int
splice_check_done(struct conn *c)
{
	if (c->client_eof && c->backend_eof && c->notify_sent &&
	    c->up.len == c->up.off && c->down.len == c->down.off) {
		conn_close(c, "completed");
		return -1;
	}
	conn_update_events(c);
	return 0;
}

static int
splice_tls_error(struct conn *c, int e, const char *what)
{
	if (e == SSL_ERROR_SYSCALL && errno == 0)
		ERR_clear_error();
	c->tls_broken = 1;
	conn_close(c, what);
	return -1;
}

/* Writes the up buffer to the target: 1 drained, 0 blocked, -1 closed. */
static int
up_flush(struct conn *c)
{
	struct conn_buf *b = &c->up;

	while (b->off < b->len) {
		ssize_t n = write(c->bfd, b->data + b->off, b->len - b->off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			want(c, WANT_UP_BWR, 1);
			want(c, WANT_UP_CRD, 0);
			conn_update_events(c);
			return 0;
		}
		if (n <= 0) {
			conn_close(c, "target-write-failed");
			return -1;
		}
		b->off += (size_t)n;
	}
	b->off = b->len = 0;
	want(c, WANT_UP_BWR, 0);
	return 1;
}

/* Fills the up buffer from TLS: 1 data, 0 wait, -1 closed, 2 client EOF. */
static int
up_fill(struct conn *c)
{
	struct conn_buf *b = &c->up;
	int r, e;

	if (b->data == NULL)
		b->data = worker_buf_get(c->w);
	do {
		r = SSL_read(c->ssl, b->data + b->len, SPLICE_BUF_SIZE - b->len);
		if (r > 0)
			b->len += (size_t)r;
	} while (r > 0 && b->len < SPLICE_BUF_SIZE && SSL_has_pending(c->ssl));
	if (b->len > 0) {
		atomic_fetch_add_explicit(&c->bytes_up, b->len,
		    memory_order_relaxed);
		conn_touch(c);
		want(c, WANT_UP_CWR, 0);	/* the read went through */
		return 1;
	}
	switch ((e = SSL_get_error(c->ssl, r))) {
	case SSL_ERROR_WANT_READ:
		want(c, WANT_UP_CRD, 1);
		want(c, WANT_UP_CWR, 0);
		buf_release_if_empty(c, b);
		return 0;
	case SSL_ERROR_WANT_WRITE:
		want(c, WANT_UP_CWR, 1);
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return 2;
	default:
		return splice_tls_error(c, e, "client-connection-error");
	}
}

int
splice_up(struct conn *c)
{
	int r;

	for (int round = 0; round < SPLICE_ROUNDS; round++) {
		if ((r = up_flush(c)) <= 0)
			return r;
		if (c->client_eof)
			break;
		if ((r = up_fill(c)) == -1)
			return -1;
		if (r == 0)
			return splice_check_done(c);
		if (r == 2) {
			c->client_eof = 1;
			want(c, WANT_UP_CRD | WANT_UP_CWR, 0);
		}
	}
	if (c->client_eof && c->up.len == 0) {
		if (!c->backend_shut && shutdown(c->bfd, SHUT_WR) == 0)
			c->backend_shut = 1;
		buf_release_if_empty(c, &c->up);
		return splice_check_done(c);
	}
	/* More may be waiting: come back after others had a turn. */
	event_active(&c->ev_crd, EV_READ, 0);
	return splice_check_done(c);
}

/* Writes the down buffer through TLS: 1 drained, 0 blocked, -1 closed. */
static int
down_flush(struct conn *c)
{
	struct conn_buf *b = &c->down;
	int r, e;

	while (b->off < b->len) {
		r = SSL_write(c->ssl, b->data + b->off, (int)(b->len - b->off));
		if (r > 0) {
			b->off += (size_t)r;
			continue;
		}
		switch ((e = SSL_get_error(c->ssl, r))) {
		case SSL_ERROR_WANT_WRITE:
			want(c, WANT_DN_CWR, 1);
			want(c, WANT_DN_BRD, 0);
			conn_update_events(c);
			return 0;
		case SSL_ERROR_WANT_READ:
			want(c, WANT_DN_CRD, 1);
			want(c, WANT_DN_BRD, 0);
			conn_update_events(c);
			return 0;
		default:
			return splice_tls_error(c, e, "client-write-failed");
		}
	}
	b->off = b->len = 0;
	want(c, WANT_DN_CWR | WANT_DN_CRD, 0);
	return 1;
}

/* Fills the down buffer from the target: 1 data, 0 wait, 2 EOF, -1. */
static int
down_fill(struct conn *c)
{
	struct conn_buf *b = &c->down;
	ssize_t n;

	if (b->data == NULL)
		b->data = worker_buf_get(c->w);
	do
		n = read(c->bfd, b->data, SPLICE_BUF_SIZE);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		b->len = (size_t)n;
		atomic_fetch_add_explicit(&c->bytes_down, (uint64_t)n,
		    memory_order_relaxed);
		conn_touch(c);
		return 1;
	}
	if (n == 0)
		return 2;
	if (errno == EAGAIN) {
		want(c, WANT_DN_BRD, 1);
		buf_release_if_empty(c, b);
		return 0;
	}
	conn_close(c, "target-read-failed");
	return -1;
}

int
splice_down(struct conn *c)
{
	int r;

	for (int round = 0; round < SPLICE_ROUNDS; round++) {
		if ((r = down_flush(c)) <= 0)
			return r;
		if (c->backend_eof || c->state != CONN_OPEN)
			break;
		if ((r = down_fill(c)) == -1)
			return -1;
		if (r == 0)
			return splice_check_done(c);
		if (r == 2) {
			c->backend_eof = 1;
			want(c, WANT_DN_BRD, 0);
		}
	}
	if (c->state != CONN_OPEN) {
		buf_release_if_empty(c, &c->down);
		return 0;
	}
	if (c->backend_eof && c->down.len == 0) {
		if (!c->notify_sent) {
			SSL_shutdown(c->ssl);	/* close_notify: our half-close */
			c->notify_sent = 1;
		}
		buf_release_if_empty(c, &c->down);
		return splice_check_done(c);
	}
	event_active(&c->ev_brd, EV_READ, 0);
	return splice_check_done(c);
}
