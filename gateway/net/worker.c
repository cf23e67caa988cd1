/*
 * Worker threads: one event base, one SO_REUSEPORT listener and the
 * connections accepted on it. Limits are checked at accept: past the
 * per-worker or global limit a connection gets a short 503 over TLS (a
 * bounded number at once), and past that it is closed at once. Out of
 * descriptors, accepting pauses for a second instead of spinning.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/net/conn.h"
#include "gateway/snapshot.h"

#define ACCEPT_BATCH		32	/* accepts per readiness event */
#define ACCEPT_PAUSE_S		1
#define REFUSE_MAX		64	/* 503 answers in flight per worker */
#define LISTEN_BACKLOG		1024
#define TRIM_INTERVAL_S		10	/* return freed heap pages after churn */

int
worker_listen_socket(const struct sockaddr *sa, socklen_t len)
{
	int fd, one = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    bind(fd, sa, len) == -1 || listen(fd, LISTEN_BACKLOG) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void *
worker_buf_get(struct worker *w)
{
	if (w->npool > 0)
		return w->pool[--w->npool];
	return xmalloc(SPLICE_BUF_SIZE);
}

void
worker_buf_put(struct worker *w, void *buf)
{
	if (w->npool < WORKER_POOL_MAX)
		w->pool[w->npool++] = buf;
	else
		free(buf);
}

static const char *
worker_limit(struct worker *w, const struct gw_snapshot *snap)
{
	if (w->nconns - w->nrefusing >= snap->conf->max_worker_conns)
		return "this gateway worker is at its connection limit; "
		    "try again shortly";
	if (atomic_load(&w->srv->nconns) >= snap->conf->max_conns)
		return "the gateway is at its connection limit; try again "
		    "shortly";
	return NULL;
}

static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct worker *w = arg;
	struct gw_snapshot *snap = snapshot_get();
	struct sockaddr_storage ss;
	socklen_t len;
	const char *refuse;
	int fd;

	(void)what;
	for (int i = 0; snap && i < ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				struct timeval tv = { ACCEPT_PAUSE_S, 0 };

				log_warnx("worker %d: out of file descriptors; "
				    "pausing accept for %ds", w->idx,
				    ACCEPT_PAUSE_S);
				event_del(&w->ev_accept);
				event_add(&w->ev_accept_pause, &tv);
			}
			break;
		}
		atomic_fetch_add(&w->srv->n_accepted, 1);
		if ((refuse = worker_limit(w, snap)) != NULL) {
			atomic_fetch_add(&w->srv->n_refused, 1);
			if (w->nrefusing >= REFUSE_MAX) {
				close(fd);
				continue;
			}
		}
		conn_accept(w, snap, fd, (struct sockaddr *)&ss, refuse);
	}
	snapshot_put(snap);
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (!w->quitting)
		event_add(&w->ev_accept, NULL);
}

/*
 * A burst of handshakes leaves freed memory scattered between live
 * connections; glibc keeps it resident unless asked. After churn, give
 * whole free pages back so idle tunnels cost what they hold.
 *
 * The trim is process-wide, and the workers' timers start together, so
 * they fired at the same moment: one trim at a time. Concurrent calls also
 * crashed the sanitizer build at exit ("malloc assertion failure in
 * __malloc_arena_thread_freeres"): under ASan glibc's own allocator is
 * never used, so each malloc_trim ran its lazy, unlocked initialisation.
 */
static pthread_mutex_t trim_lock = PTHREAD_MUTEX_INITIALIZER;

static void
trim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (w->nclosed == w->nclosed_trimmed)
		return;
	if (pthread_mutex_trylock(&trim_lock) != 0) {
		worker_trim_later(w);	/* another worker is trimming */
		return;
	}
	w->nclosed_trimmed = w->nclosed;
	malloc_trim(0);
	pthread_mutex_unlock(&trim_lock);
}

/*
 * A connection closed: trim the heap a while later, once for a burst.
 * Armed only then, so an idle worker never wakes for it.
 */
void
worker_trim_later(struct worker *w)
{
	if (!event_pending(&w->ev_trim, EV_TIMEOUT, NULL))
		event_add(&w->ev_trim, &(struct timeval){ TRIM_INTERVAL_S, 0 });
}

static void
worker_quit(struct worker *w)
{
	struct conn *c;

	w->quitting = 1;
	event_del(&w->ev_accept);
	event_del(&w->ev_accept_pause);
	while ((c = TAILQ_FIRST(&w->conns)) != NULL)
		conn_close(c, "shutdown");
	event_del(&w->ev_mbox);
	event_del(&w->ev_trim);
	event_base_loopexit(w->base, NULL);
}

/* Closes c's tunnel if it belongs to the person or device m names. */
static void
worker_close_whose(struct worker *w, const struct worker_msg *m)
{
	struct conn *c, *next;
	const char *who;

	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, wentry);
		if (!c->cert_ok || c->state != CONN_OPEN)
			continue;
		who = m->type == WORKER_MSG_CLOSE_USER ? c->ident.user :
		    c->ident.device_id;
		if (strcmp(who, m->name) == 0)
			conn_close(c, m->reason);
	}
}

static void
worker_handle(struct worker *w, const struct worker_msg *m)
{
	struct conn *c;

	switch (m->type) {
	case WORKER_MSG_KILL:
		TAILQ_FOREACH(c, &w->conns, wentry)
			if (c->id == m->id) {
				conn_close(c, m->reason);
				break;
			}
		break;
	case WORKER_MSG_QUIT:
		worker_quit(w);
		break;
	case WORKER_MSG_REDECIDE:
		tunnel_redecide_all(w, m->name[0] ? m->name : NULL, m->reason);
		break;
	case WORKER_MSG_JOB_DONE:
		request_done(m->job);
		break;
	case WORKER_MSG_CLOSE_USER:
	case WORKER_MSG_CLOSE_DEVICE:
		worker_close_whose(w, m);
		break;
	case WORKER_MSG_AUDITED:
		c = m->conn;
		c->audit_pending = 0;
		if (c->zombie)		/* closed while its record was written */
			free(c);
		else
			tunnel_audited(c, m->ok);
		break;
	}
}

static void
mbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct worker_msg *msgs;
	uint64_t n;
	size_t count;

	(void)what;
	(void)!read(fd, &n, sizeof(n));
	pthread_mutex_lock(&w->mbox_lock);
	msgs = w->mbox;
	count = w->nmbox;
	w->mbox = NULL;
	w->nmbox = 0;
	pthread_mutex_unlock(&w->mbox_lock);
	for (size_t i = 0; i < count; i++)
		if (!w->quitting || msgs[i].type == WORKER_MSG_AUDITED ||
		    msgs[i].type == WORKER_MSG_JOB_DONE)
			worker_handle(w, &msgs[i]);
	free(msgs);
}

static int
worker_enqueue(struct worker *w, const struct worker_msg *msg, size_t limit)
{
	uint64_t one = 1;

	pthread_mutex_lock(&w->mbox_lock);
	if (w->nmbox >= limit) {
		pthread_mutex_unlock(&w->mbox_lock);
		return -1;
	}
	w->mbox = xreallocarray(w->mbox, w->nmbox + 1, sizeof(*msg));
	w->mbox[w->nmbox++] = *msg;
	pthread_mutex_unlock(&w->mbox_lock);
	(void)!write(w->mbox_fd, &one, sizeof(one));
	return 0;
}

void
server_redecide_device(struct server *srv, const char *device_id,
    const char *why)
{
	struct worker_msg m = { .type = WORKER_MSG_REDECIDE };

	snprintf(m.reason, sizeof(m.reason), "%s", why);

	if (device_id)
		snprintf(m.name, sizeof(m.name), "%s", device_id);
	for (int i = 0; i < srv->nworkers; i++)
		worker_post_always(&srv->workers[i], &m);
}

int
worker_post(struct worker *w, const struct worker_msg *msg)
{
	return worker_enqueue(w, msg, WORKER_MBOX_MAX);
}

/* Each AUDITED message stands for a connection waiting on it. */
void
worker_post_always(struct worker *w, const struct worker_msg *msg)
{
	worker_enqueue(w, msg, (size_t)-1);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

static void
worker_init(struct server *srv, struct worker *w, int idx, int fd)
{
	struct event_config *cfg = event_config_new();

	/* Each base is used by one thread only: no locks inside libevent. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL)
		fatalx("worker %d: cannot create an event base", idx);
	w->idx = idx;
	w->srv = srv;
	w->listen_fd = fd;
	TAILQ_INIT(&w->conns);
	pthread_mutex_init(&w->mbox_lock, NULL);
	if ((w->mbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("worker %d: eventfd", idx);
	event_assign(&w->ev_accept, w->base, fd, EV_READ | EV_PERSIST,
	    accept_cb, w);
	event_assign(&w->ev_accept_pause, w->base, -1, 0, accept_resume_cb, w);
	event_assign(&w->ev_mbox, w->base, w->mbox_fd, EV_READ | EV_PERSIST,
	    mbox_cb, w);
	event_assign(&w->ev_trim, w->base, -1, 0, trim_cb, w);
	event_add(&w->ev_accept, NULL);
	event_add(&w->ev_mbox, NULL);
}

int
workers_start(struct server *srv, const int *fds, int nworkers)
{
	srv->workers = xcalloc((size_t)nworkers, sizeof(*srv->workers));
	srv->nworkers = nworkers;
	for (int i = 0; i < nworkers; i++)
		worker_init(srv, &srv->workers[i], i, fds[i]);
	for (int i = 0; i < nworkers; i++)
		if (pthread_create(&srv->workers[i].thread, NULL, worker_main,
		    &srv->workers[i]) != 0)
			fatalx("cannot start worker thread %d", i);
	return 0;
}

void
workers_join(struct server *srv)
{
	struct worker_msg quit = { .type = WORKER_MSG_QUIT };

	for (int i = 0; i < srv->nworkers; i++)
		while (worker_post(&srv->workers[i], &quit) == -1)
			usleep(1000);
	for (int i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i].thread, NULL);
}

void
workers_free(struct server *srv)
{
	for (int i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		/* Late AUDITED messages free the connections they kept. */
		for (size_t j = 0; j < w->nmbox; j++)
			if (w->mbox[j].type == WORKER_MSG_AUDITED ||
			    w->mbox[j].type == WORKER_MSG_JOB_DONE)
				worker_handle(w, &w->mbox[j]);
		event_del(&w->ev_accept);
		event_del(&w->ev_mbox);
		event_del(&w->ev_trim);
		event_base_free(w->base);
		close(w->listen_fd);
		close(w->mbox_fd);
		free(w->mbox);
		for (int j = 0; j < w->npool; j++)
			free(w->pool[j]);
		pthread_mutex_destroy(&w->mbox_lock);
	}
	free(srv->workers);
	srv->workers = NULL;
	srv->nworkers = 0;
}
