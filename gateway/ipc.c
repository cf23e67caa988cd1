/*
 * The monitor <-> network process channel (gateway/ipc.h). Writers share
 * one lock per channel so frames never interleave; the reader thread is
 * the only one that reads. A call that waits holds a pending entry (a
 * condition variable, or a callback) until its reply or the peer's end.
 */
#include "gateway/ipc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <malloc.h>

#include <openssl/crypto.h>

#include "common/b64.h"
#include "common/log.h"
#include "common/xmalloc.h"

struct ipc_pending {
	LIST_ENTRY(ipc_pending) entry;
	uint64_t id;
	ipc_reply_fn fn;	/* or, if NULL, a waiter: */
	void *arg;
	int done;
	json_t *reply;
};

struct ipc {
	int fd;
	pthread_t reader;
	ipc_handler_fn handler;
	void *handler_arg;
	pthread_mutex_t wlock;		/* one frame at a time */
	pthread_mutex_t lock;		/* pending, next_id, alive */
	pthread_cond_t cond;
	LIST_HEAD(, ipc_pending) pending;
	uint64_t next_id;
	int alive;
	int from_net;			/* what this side reads */
};

/* ---- frames ------------------------------------------------------------ */

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static int
type_ok(int type, int from_net)
{
	if (from_net)
		return type >= IPC_AUDIT && type < IPC_NET_LAST;
	return type >= IPC_INIT && type < IPC_MON_LAST;
}

int
ipc_hdr_parse(const unsigned char *buf, int from_net, struct ipc_hdr *h,
    char *err, size_t errlen)
{
	h->len = get32(buf);
	h->type = (uint16_t)(buf[4] | buf[5] << 8);
	h->flags = (uint16_t)(buf[6] | buf[7] << 8);
	h->id = (uint64_t)get32(buf + 8) | (uint64_t)get32(buf + 12) << 32;
	if (h->len == 0 || h->len > IPC_PAYLOAD_MAX) {
		snprintf(err, errlen, "frame of %u bytes", h->len);
		return -1;
	}
	if (h->flags & ~(IPC_F_CALL | IPC_F_REPLY) ||
	    (h->flags & IPC_F_CALL && h->flags & IPC_F_REPLY)) {
		snprintf(err, errlen, "frame flags 0x%x", h->flags);
		return -1;
	}
	/* A reply carries the type of the call it answers: ours. */
	if (!(h->flags & IPC_F_REPLY) && !type_ok(h->type, from_net)) {
		snprintf(err, errlen, "message type %u not allowed", h->type);
		return -1;
	}
	return 0;
}

int
ipc_decode(const unsigned char *hdr, const unsigned char *payload,
    size_t len, int from_net, struct ipc_hdr *h, json_t **msg, char *err,
    size_t errlen)
{
	json_error_t je;

	*msg = NULL;
	if (ipc_hdr_parse(hdr, from_net, h, err, errlen) == -1)
		return -1;
	if (len != h->len) {
		snprintf(err, errlen, "truncated frame");
		return -1;
	}
	*msg = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES,
	    &je);
	if (*msg == NULL || !json_is_object(*msg)) {
		snprintf(err, errlen, "payload is not a JSON object");
		json_decref(*msg);
		*msg = NULL;
		return -1;
	}
	return 0;
}

/*
 * A frame goes in one system call where it can: on one core, a header sent
 * alone wakes the reader, which reads it and sleeps again on the payload,
 * two wake-ups (and two switches back) for every message. A peer that is
 * gone is an error here, never a SIGPIPE.
 */
static int
send_frame(int fd, const unsigned char *hdr, const char *text, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = IPC_HDR_LEN },
		{ .iov_base = (void *)text, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t done = 0, total = IPC_HDR_LEN + len;
	ssize_t n;

	while (done < total) {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
		/* A partial send (a large frame): skip what went. */
		while (mh.msg_iovlen > 0 && (size_t)n >= mh.msg_iov->iov_len) {
			n -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int
frame_write(struct ipc *ch, int type, int flags, uint64_t id, json_t *msg)
{
	unsigned char hdr[IPC_HDR_LEN];
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0;
	int rc = -1;

	json_decref(msg);
	if (text == NULL || len == 0 || len > IPC_PAYLOAD_MAX) {
		log_warnx("ipc: message type %d of %zu bytes not sent", type,
		    len);
		free(text);
		return -1;
	}
	put32(hdr, (uint32_t)len);
	hdr[4] = (unsigned char)type;
	hdr[5] = (unsigned char)(type >> 8);
	hdr[6] = (unsigned char)flags;
	hdr[7] = (unsigned char)(flags >> 8);
	put32(hdr + 8, (uint32_t)id);
	put32(hdr + 12, (uint32_t)(id >> 32));
	pthread_mutex_lock(&ch->wlock);
	if (send_frame(ch->fd, hdr, text, len) == 0)
		rc = 0;
	pthread_mutex_unlock(&ch->wlock);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

/* ---- the reader -------------------------------------------------------- */

static int
read_full(int fd, void *p, size_t len)
{
	size_t got = 0;
	ssize_t r;

	while (got < len) {
		r = read(fd, (char *)p + got, len - got);
		if (r == 0 || (r == -1 && errno != EINTR))
			return -1;
		if (r > 0)
			got += (size_t)r;
	}
	return 0;
}

static void
deliver_reply(struct ipc *ch, uint64_t id, json_t *msg)
{
	struct ipc_pending *p;

	pthread_mutex_lock(&ch->lock);
	LIST_FOREACH(p, &ch->pending, entry)
		if (p->id == id)
			break;
	if (p == NULL) {
		pthread_mutex_unlock(&ch->lock);
		json_decref(msg);	/* a call that timed out */
		return;
	}
	LIST_REMOVE(p, entry);
	if (p->fn) {
		pthread_mutex_unlock(&ch->lock);
		p->fn(msg, p->arg);
		free(p);
		return;
	}
	p->reply = msg;
	p->done = 1;
	pthread_cond_broadcast(&ch->cond);
	pthread_mutex_unlock(&ch->lock);
}

/* The peer is gone: every waiter wakes with no reply. */
static void
fail_pending(struct ipc *ch)
{
	struct ipc_pending *p;

	pthread_mutex_lock(&ch->lock);
	ch->alive = 0;
	while ((p = LIST_FIRST(&ch->pending)) != NULL) {
		LIST_REMOVE(p, entry);
		if (p->fn) {
			pthread_mutex_unlock(&ch->lock);
			p->fn(NULL, p->arg);
			free(p);
			pthread_mutex_lock(&ch->lock);
			continue;
		}
		p->done = 1;
	}
	pthread_cond_broadcast(&ch->cond);
	pthread_mutex_unlock(&ch->lock);
}

static void *
ipc_reader_main(void *arg)
{
	struct ipc *ch = arg;
	unsigned char hdr[IPC_HDR_LEN], *payload;
	char err[128];
	struct ipc_hdr h;
	json_t *msg;

	for (;;) {
		if (read_full(ch->fd, hdr, sizeof(hdr)) == -1)
			break;
		if (ipc_hdr_parse(hdr, ch->from_net, &h, err, sizeof(err)) ==
		    -1) {
			log_warnx("ipc: %s: closing the channel", err);
			break;
		}
		payload = xmalloc(h.len);
		if (read_full(ch->fd, payload, h.len) == -1) {
			free(payload);
			break;
		}
		if (ipc_decode(hdr, payload, h.len, ch->from_net, &h, &msg,
		    err, sizeof(err)) == -1) {
			free(payload);
			log_warnx("ipc: %s: closing the channel", err);
			break;
		}
		free(payload);
		if (h.flags & IPC_F_REPLY)
			deliver_reply(ch, h.id, msg);
		else
			ch->handler(ch, h.type, h.id, h.flags & IPC_F_CALL,
			    msg, ch->handler_arg);
	}
	/* Wake the writers and the peer's reads too. */
	shutdown(ch->fd, SHUT_RDWR);
	fail_pending(ch);
	ch->handler(ch, IPC_CLOSED, 0, 0, NULL, ch->handler_arg);
	return NULL;
}

/* ---- the API ----------------------------------------------------------- */

struct ipc *
ipc_start(int fd, int from_net, ipc_handler_fn h, void *arg)
{
	struct ipc *ch = xcalloc(1, sizeof(*ch));

	ch->fd = fd;
	ch->from_net = from_net;
	ch->handler = h;
	ch->handler_arg = arg;
	ch->alive = 1;
	ch->next_id = 1;
	pthread_mutex_init(&ch->wlock, NULL);
	pthread_mutex_init(&ch->lock, NULL);
	pthread_cond_init(&ch->cond, NULL);
	LIST_INIT(&ch->pending);
	if (pthread_create(&ch->reader, NULL, ipc_reader_main, ch) != 0)
		fatalx("ipc: cannot start the reader thread");
	return ch;
}

void
ipc_free(struct ipc *ch)
{
	if (ch == NULL)
		return;
	shutdown(ch->fd, SHUT_RDWR);
	pthread_join(ch->reader, NULL);
	close(ch->fd);
	pthread_mutex_destroy(&ch->wlock);
	pthread_mutex_destroy(&ch->lock);
	pthread_cond_destroy(&ch->cond);
	free(ch);
}

int
ipc_alive(struct ipc *ch)
{
	int alive;

	pthread_mutex_lock(&ch->lock);
	alive = ch->alive;
	pthread_mutex_unlock(&ch->lock);
	return alive;
}

int
ipc_send(struct ipc *ch, int type, json_t *msg)
{
	return frame_write(ch, type, 0, 0, msg);
}

int
ipc_reply(struct ipc *ch, uint64_t id, json_t *msg)
{
	return frame_write(ch, 0, IPC_F_REPLY, id, msg ? msg : json_object());
}

/* Registers a pending call; NULL if the peer is already gone. */
static struct ipc_pending *
pending_add(struct ipc *ch, ipc_reply_fn fn, void *arg)
{
	struct ipc_pending *p = xcalloc(1, sizeof(*p));

	pthread_mutex_lock(&ch->lock);
	if (!ch->alive) {
		pthread_mutex_unlock(&ch->lock);
		free(p);
		return NULL;
	}
	p->id = ch->next_id++;
	p->fn = fn;
	p->arg = arg;
	LIST_INSERT_HEAD(&ch->pending, p, entry);
	pthread_mutex_unlock(&ch->lock);
	return p;
}

/* Takes p back unless the reader has (1 if it was still ours). */
static int
pending_cancel(struct ipc *ch, uint64_t id)
{
	struct ipc_pending *p;

	pthread_mutex_lock(&ch->lock);
	LIST_FOREACH(p, &ch->pending, entry)
		if (p->id == id)
			break;
	if (p)
		LIST_REMOVE(p, entry);
	pthread_mutex_unlock(&ch->lock);
	free(p);
	return p != NULL;
}

int
ipc_call_async(struct ipc *ch, int type, json_t *msg, ipc_reply_fn fn,
    void *arg)
{
	struct ipc_pending *p = pending_add(ch, fn, arg);
	uint64_t id;

	if (p == NULL) {
		json_decref(msg);
		return -1;
	}
	id = p->id;
	if (frame_write(ch, type, IPC_F_CALL, id, msg) == -1) {
		if (pending_cancel(ch, id))
			return -1;
		/* The reader failed it already: the callback has run. */
	}
	return 0;
}

struct ipc_pending *
ipc_call_begin(struct ipc *ch, int type, json_t *msg)
{
	struct ipc_pending *p = pending_add(ch, NULL, NULL);

	if (p == NULL) {
		json_decref(msg);
		return NULL;
	}
	if (frame_write(ch, type, IPC_F_CALL, p->id, msg) == -1) {
		/* Ours to free either way: taken back, or failed by the
		 * reader (which frees only callbacks' entries). */
		if (!pending_cancel(ch, p->id))
			free(p);
		return NULL;
	}
	return p;
}

json_t *
ipc_call_end(struct ipc *ch, struct ipc_pending *p, int timeout_ms)
{
	struct timespec until;
	json_t *reply;
	int rc = 0;

	if (p == NULL)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ch->lock);
	while (!p->done && rc == 0)
		rc = timeout_ms > 0 ? pthread_cond_timedwait(&ch->cond,
		    &ch->lock, &until) : pthread_cond_wait(&ch->cond, &ch->lock);
	if (!p->done) {
		/* Timed out: the reply, if it comes, is dropped. */
		LIST_REMOVE(p, entry);
		pthread_mutex_unlock(&ch->lock);
		free(p);
		return NULL;
	}
	pthread_mutex_unlock(&ch->lock);
	reply = p->reply;
	free(p);
	return reply;
}

json_t *
ipc_call(struct ipc *ch, int type, json_t *msg, int timeout_ms)
{
	return ipc_call_end(ch, ipc_call_begin(ch, type, msg), timeout_ms);
}

/* ---- fields ------------------------------------------------------------ */

const char *
ipc_str(json_t *msg, const char *key, size_t max)
{
	json_t *v = json_object_get(msg, key);
	const char *s = json_string_value(v);

	if (s == NULL || json_string_length(v) > max ||
	    strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

int
ipc_int(json_t *msg, const char *key, long long min, long long max,
    long long *out)
{
	json_t *v = json_object_get(msg, key);

	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

int
ipc_bool(json_t *msg, const char *key, int *out)
{
	json_t *v = json_object_get(msg, key);

	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}

unsigned char *
ipc_b64(json_t *msg, const char *key, size_t max, size_t *len)
{
	const char *s = ipc_str(msg, key, 4 * ((max + 2) / 3));

	return s != NULL ? b64_decode(s, max, len) : NULL;
}

json_t *
ipc_b64_new(const void *p, size_t len)
{
	char *b64 = b64_encode(p, len);
	json_t *s = json_string(b64);

	free(b64);
	return s;
}

static void
wipe_free(void *p)
{
	if (p != NULL)
		OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

void
ipc_wipe_allocator(void)
{
	json_set_alloc_funcs(malloc, wipe_free);
}
