/*
 * The SSH jump listener in the network process: the host keys and the
 * socket the monitor gave it (monitor/ssh_prepare.c), the algorithm
 * lists, and the acceptor thread that admits each new connection (within
 * max-startups) to one of the handshake threads started with the
 * listener (ssh_auth.c; no thread is started later: the sandbox forbids
 * it) and cuts those past their deadlines; authenticated sessions are
 * forwarded by the loops in ssh_fwd.c. Nothing here runs on a TLS worker.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/errbuf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/config.h"
#include "gateway/drain.h"
#include "gateway/net/proxy_accept.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"
#include "gateway/ssh.h"
#include "gateway/ssh_int.h"


/*
 * Algorithms (docs/ssh.md): curve25519 key exchange only (libssh 0.10 has
 * no sntrup761x25519); AEAD ciphers; encrypt-then-MAC SHA-2 MACs for
 * clients that insist on one; no compression; client keys ECDSA P-256
 * only, as devices enrol with those. No CBC, no SHA-1. Both host keys are
 * made and loaded, but only Ed25519 is offered: ssh-audit fails NIST-curve
 * host keys, and every OpenSSH since 6.5 speaks Ed25519. Adding
 * ecdsa-sha2-nistp256 to SSH_HOSTKEYS offers the other.
 */
#define SSH_KEX		"curve25519-sha256,curve25519-sha256@libssh.org"
#define SSH_CIPHERS	"chacha20-poly1305@openssh.com,aes256-gcm@openssh.com," \
			"aes128-gcm@openssh.com"
#define SSH_MACS	"hmac-sha2-256-etm@openssh.com," \
			"hmac-sha2-512-etm@openssh.com"
#define SSH_HOSTKEYS	"ssh-ed25519"
#define SSH_USERKEYS	"ecdsa-sha2-nistp256"

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;

static void
ssh_global_init(void)
{
	ssh_init();
}

/* ---- records ------------------------------------------------------------ */

json_t *
ssh_sess_fields(const struct ssh_sess *ss, const char *reason, json_t *extra)
{
	json_t *f = json_object();

	json_object_set_new(f, "network.protocol", json_string("ssh"));
	json_object_set_new(f, "ssh.session.id", json_integer(
	    (json_int_t)ss->id));
	json_object_set_new(f, "source.ip", json_string(ss->peer_ip));
	json_object_set_new(f, "source.port", json_integer(ss->peer_port));
	if (ss->user[0])
		json_object_set_new(f, "user.name", json_string(ss->user));
	if (ss->device_id[0])
		json_object_set_new(f, "device.id",
		    json_string(ss->device_id));
	if (ss->practice[0])
		json_object_set_new(f, "mwg.device_practice",
		    json_string(ss->practice));
	if (reason)
		json_object_set_new(f, "event.reason", json_string(reason));
	if (extra) {
		json_object_update(f, extra);
		json_decref(extra);
	}
	return f;
}

void
ssh_sess_free(struct ssh_sess *ss)
{
	if (ss == NULL)
		return;
	if (ss->s != NULL) {
		ssh_disconnect(ss->s);
		ssh_free(ss->s);	/* closes fd */
	} else if (ss->fd != -1)
		close(ss->fd);
	explicit_bzero(ss, sizeof(*ss));
	free(ss);
}

int64_t
ssh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
ssh_sess_writable(struct ssh_sess *ss)
{
	struct pollfd p = { .fd = ssh_get_fd(ss->s), .events = POLLOUT };

	return p.fd != -1 && poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

int
ssh_sess_disconnect(struct ssh_sess *ss, const char *why)
{
	int fd = ssh_get_fd(ss->s);

	/* libssh writes only once its own poll saw the socket writable
	 * since its last write, and ssh_disconnect closes the socket right
	 * after queueing: without this the message was never sent. */
	if (ssh_sess_writable(ss))
		ssh_set_fd_towrite(ss->s);
	/* libssh closes its descriptor: a copy keeps the connection. */
	fd = fd == -1 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
	ssh_session_set_disconnect_message(ss->s, why);
	ssh_disconnect(ss->s);
	if (fd != -1) {
		shutdown(fd, SHUT_WR);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	return fd;
}

int
ssh_linger_drain(int fd)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		continue;
	return n == -1 && (errno == EAGAIN || errno == EINTR);
}



/* Gives one host key (OpenSSH base64) to the bind. */
static int
ssh_bind_hostkey(ssh_bind b, const char *b64, char *err, size_t errlen)
{
	ssh_key key = NULL;

	if (ssh_pki_import_privkey_base64(b64, NULL, NULL, NULL, &key) !=
	    SSH_OK) {
		errbuf_set(err, errlen, "host key: cannot import");
		return -1;
	}
	/* The bind owns the key from here. */
	if (ssh_bind_options_set(b, SSH_BIND_OPTIONS_IMPORT_KEY, key) != 0) {
		ssh_key_free(key);
		errbuf_set(err, errlen, "host key: %s", ssh_get_error(b));
		return -1;
	}
	return 0;
}

static int
ssh_bind_algorithms(ssh_bind b, char *err, size_t errlen)
{
	static const struct {
		enum ssh_bind_options_e opt;
		const char *val;
	} algs[] = {
		{ SSH_BIND_OPTIONS_KEY_EXCHANGE, SSH_KEX },
		{ SSH_BIND_OPTIONS_CIPHERS_C_S, SSH_CIPHERS },
		{ SSH_BIND_OPTIONS_CIPHERS_S_C, SSH_CIPHERS },
		{ SSH_BIND_OPTIONS_HMAC_C_S, SSH_MACS },
		{ SSH_BIND_OPTIONS_HMAC_S_C, SSH_MACS },
		{ SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, SSH_HOSTKEYS },
		{ SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES, SSH_USERKEYS },
	};
	bool no = false;

	/* Never /etc/ssh/libssh_server_config: what is set here is all. */
	if (ssh_bind_options_set(b, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no) !=
	    0) {
		errbuf_set(err, errlen, "cannot turn off libssh's config");
		return -1;
	}
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (ssh_bind_options_set(b, algs[i].opt, algs[i].val) != 0) {
			errbuf_set(err, errlen, "algorithms %s: %s",
			    algs[i].val, ssh_get_error(b));
			return -1;
		}
	return 0;
}


struct ssh_listener *
ssh_listener_new(const struct gw_config *c, int fd, const char *const keys[2],
    char *err, size_t errlen)
{
	struct ssh_listener *l;

	pthread_once(&ssh_once, ssh_global_init);
	l = xcalloc(1, sizeof(*l));
	l->fd = fd;
	l->stop_pipe[0] = l->stop_pipe[1] = -1;
	snprintf(l->addr_str, sizeof(l->addr_str), "%s", c->ssh_addr_str);
	l->nloops = c->workers > 0 ? c->workers : 1;
	if (l->nloops > SSH_THREADS_MAX)
		l->nloops = SSH_THREADS_MAX;
	if ((l->bind = ssh_bind_new()) == NULL) {
		errbuf_set(err, errlen, "ssh_bind_new failed");
		goto fail;
	}
	if (ssh_bind_algorithms(l->bind, err, errlen) == -1 ||
	    ssh_bind_hostkey(l->bind, keys[0], err, errlen) == -1 ||
	    ssh_bind_hostkey(l->bind, keys[1], err, errlen) == -1)
		goto fail;
	if (pipe2(l->stop_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		errbuf_set(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&l->hs_lock, NULL);
	pthread_cond_init(&l->hs_cond, NULL);
	TAILQ_INIT(&l->handshakes);
	pthread_mutex_init(&l->reg_lock, NULL);
	LIST_INIT(&l->open_tuns);
	return l;
fail:
	if (l->bind)
		ssh_bind_free(l->bind);
	free(l);
	return NULL;
}

/* ---- accepting ---------------------------------------------------------- */

/* Refusals are logged at most once per SSH_REFUSED_LOG_S, with a count:
 * a flood must not become a flood of log lines. Acceptor thread only. */
static void
ssh_refused(struct ssh_listener *l, const char *ip, const char *why)
{
	time_t now = time(NULL);

	l->nrefused++;
	if (now - l->refused_logged < SSH_REFUSED_LOG_S)
		return;
	log_warnx("ssh: %s: %s: connection refused (%lu refused in the last "
	    "%d s)", ip, why, l->nrefused, SSH_REFUSED_LOG_S);
	l->nrefused = 0;
	l->refused_logged = now;
}

/*
 * sshd's MaxStartups and PerSourceMaxStartups, under hs_lock: NULL to
 * admit, or why not. From START unauthenticated connections a new one is
 * refused with probability RATE%, rising to 100% at FULL; one address
 * may hold per_source of them.
 */
static const char *
ssh_startups_full(struct ssh_listener *l, const char *ip,
    const long long st[3], long long per_source)
{
	const struct ssh_sess *ss;
	long long n = l->nhandshakes, from_ip = 0, p;

	TAILQ_FOREACH(ss, &l->handshakes, entry)
		if (strcmp(ss->peer_ip, ip) == 0)
			from_ip++;
	if (from_ip >= per_source)
		return "per-source-max-startups reached";
	/* A reload may raise FULL; the threads are those started with it. */
	if (n >= st[2] || n >= l->nhs_threads)
		return "max-startups full";
	if (n < st[0])
		return NULL;
	p = st[1] + (100 - st[1]) * (n - st[0]) / (st[2] - st[0]);
	return (long long)arc4random_uniform(100) < p ?
	    "max-startups: dropped at random" : NULL;
}

/* The limits of the current configuration (a reload changes them). */
static void
ssh_limits(struct ssh_sess *ss, long long st[3], long long *per_source)
{
	struct gw_snapshot *snap = snapshot_get();
	const struct gw_config *c = snap->conf;

	memcpy(st, c->ssh_startups, 3 * sizeof(st[0]));
	*per_source = c->ssh_per_source;
	ss->grace = (long)c->ssh_login_grace;
	ss->max_auth_tries = (int)c->ssh_max_auth_tries;
	ss->proxy_mode = proxy_mode_for(c->ssh_proxy_from, c->nssh_proxy_from,
	    (const struct sockaddr *)&ss->peer);
	/* Through a load balancer the source is known after the header:
	 * ssh_proxy.c applies per-source-max-startups then. */
	if (ss->proxy_mode == PROXY_MODE_REQUIRED)
		*per_source = LLONG_MAX;
	snapshot_put(snap);
}

/* A new connection: its session, then a handshake thread for it. */
static void
ssh_accept_one(struct ssh_listener *l, int fd, const struct sockaddr_storage *sa)
{
	struct ssh_sess *ss = xcalloc(1, sizeof(*ss));
	long long st[3], per_source;
	const char *full;
	int one = 1;

	/* Key exchange and auth are small request/reply writes: with Nagle
	 * each waited for a delayed ACK (~40 ms, twice per connection). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ss->fd = fd;
	ss->l = l;
	ss->peer = *sa;
	ss->started_ms = ssh_now_ms();
	addr_format_ip((const struct sockaddr *)sa, ss->peer_ip,
	    sizeof(ss->peer_ip));
	ss->peer_port = addr_port((const struct sockaddr *)sa);
	LIST_INIT(&ss->tuns);
	if (drain_is_active()) {
		ssh_refused(l, ss->peer_ip, "draining");
		ssh_sess_free(ss);
		return;
	}
	ssh_limits(ss, st, &per_source);
	pthread_mutex_lock(&l->hs_lock);
	if ((full = ssh_startups_full(l, ss->peer_ip, st, per_source)) !=
	    NULL) {
		pthread_mutex_unlock(&l->hs_lock);
		ssh_refused(l, ss->peer_ip, full);
		ssh_sess_free(ss);
		return;
	}
	ss->id = server_next_id(l->srv);
	/* Compression is a session option (the bind has none): off. */
	if ((ss->s = ssh_new()) == NULL ||
	    ssh_bind_accept_fd(l->bind, ss->s, fd) != SSH_OK ||
	    ssh_options_set(ss->s, SSH_OPTIONS_COMPRESSION_C_S, "none") != 0 ||
	    ssh_options_set(ss->s, SSH_OPTIONS_COMPRESSION_S_C, "none") != 0) {
		pthread_mutex_unlock(&l->hs_lock);
		log_warnx("ssh: %s: cannot start a session: %s", ss->peer_ip,
		    ss->s ? ssh_get_error(l->bind) : "out of memory");
		ssh_sess_free(ss);
		return;
	}
	TAILQ_INSERT_TAIL(&l->handshakes, ss, entry);
	l->nhandshakes++;
	/* Admitted within max-startups: a thread is free, or soon will be. */
	l->hs_queue[(l->hs_qhead + l->hs_qlen++) % l->nhs_threads] = ss;
	pthread_cond_signal(&l->hs_qcond);
	pthread_mutex_unlock(&l->hs_lock);
}

/* A handshake thread: takes admitted connections until the listener stops. */
static void *
ssh_hs_thread_main(void *arg)
{
	struct ssh_listener *l = arg;
	struct ssh_sess *ss;

	pthread_mutex_lock(&l->hs_lock);
	for (;;) {
		while (l->hs_qlen == 0 && !atomic_load(&l->quitting))
			pthread_cond_wait(&l->hs_qcond, &l->hs_lock);
		if (l->hs_qlen == 0)
			break;
		ss = l->hs_queue[l->hs_qhead];
		l->hs_qhead = (l->hs_qhead + 1) % l->nhs_threads;
		l->hs_qlen--;
		pthread_mutex_unlock(&l->hs_lock);
		/* A PROXY header, if any, is read before libssh reads a byte. */
		if (ss->proxy_mode == PROXY_MODE_NONE)
			ssh_handshake_main(ss);
		else
			ssh_proxy_main(ss);
		pthread_mutex_lock(&l->hs_lock);
	}
	pthread_mutex_unlock(&l->hs_lock);
	return NULL;
}

/* As many handshake threads as max-startups admits, small stacks. */
static int
ssh_hs_threads_start(struct ssh_listener *l, char *err, size_t errlen)
{
	pthread_attr_t attr;
	int rc = 0;

	l->hs_threads = xcalloc((size_t)l->nhs_threads, sizeof(pthread_t));
	l->hs_queue = xcalloc((size_t)l->nhs_threads, sizeof(*l->hs_queue));
	pthread_cond_init(&l->hs_qcond, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SSH_HS_STACK);
	for (int i = 0; i < l->nhs_threads && rc == 0; i++)
		if (pthread_create(&l->hs_threads[i], &attr, ssh_hs_thread_main,
		    l) != 0) {
			errbuf_set(err, errlen, "cannot start SSH handshake "
			    "thread %d of %d", i + 1, l->nhs_threads);
			l->nhs_threads = i;
			rc = -1;
		}
	pthread_attr_destroy(&attr);
	return rc;
}

static void
ssh_hs_threads_stop(struct ssh_listener *l)
{
	pthread_mutex_lock(&l->hs_lock);
	pthread_cond_broadcast(&l->hs_qcond);
	pthread_mutex_unlock(&l->hs_lock);
	for (int i = 0; i < l->nhs_threads; i++)
		pthread_join(l->hs_threads[i], NULL);
	pthread_cond_destroy(&l->hs_qcond);
	free(l->hs_threads);
	free(l->hs_queue);
}

/*
 * LoginGraceTime: a connection that has not finished the key exchange
 * within SSH_KEX_GRACE, or authentication within its grace, is shut
 * down; its handshake thread then finds the socket closed. So silent
 * connections hold a slot for seconds, not for a blocking read's timeout.
 */
static void
ssh_handshakes_reap(struct ssh_listener *l)
{
	int64_t now = ssh_now_ms(), age;
	struct ssh_sess *ss;

	pthread_mutex_lock(&l->hs_lock);
	TAILQ_FOREACH(ss, &l->handshakes, entry) {
		age = now - ss->started_ms;
		if (ss->is_reaped || (age < ss->grace * 1000 &&
		    (atomic_load(&ss->is_kex_done) ||
		    age < SSH_KEX_GRACE * 1000)))
			continue;
		log_debug("%s: ssh %llu: %s: %s not done in time", __func__,
		    (unsigned long long)ss->id, ss->peer_ip,
		    atomic_load(&ss->is_kex_done) ? "authentication" :
		    "key exchange");
		shutdown(ss->fd, SHUT_RDWR);
		ss->is_reaped = 1;
	}
	pthread_mutex_unlock(&l->hs_lock);
}

static void *
ssh_acceptor_main(void *arg)
{
	struct ssh_listener *l = arg;
	struct pollfd pfd[2] = { { .fd = l->fd, .events = POLLIN },
	    { .fd = l->stop_pipe[0], .events = POLLIN } };
	struct sockaddr_storage sa;
	socklen_t len;
	int fd;

	while (!atomic_load(&l->quitting)) {
		if (poll(pfd, 2, 1000) == -1 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		ssh_handshakes_reap(l);
		if (!(pfd[0].revents & POLLIN))
			continue;
		len = sizeof(sa);
		fd = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
		if (fd == -1) {
			/* Out of descriptors: wait, never spin. */
			if (errno == EMFILE || errno == ENFILE)
				poll(&pfd[1], 1, 1000);
			continue;
		}
		ssh_accept_one(l, fd, &sa);
	}
	return NULL;
}

int
ssh_listener_start(struct ssh_listener *l, struct server *srv, char *err,
    size_t errlen)
{
	struct gw_snapshot *snap = snapshot_get();

	l->srv = srv;
	/* max-startups FULL, as configured at start: a reload that raises
	 * it takes effect at the next start. */
	l->nhs_threads = (int)snap->conf->ssh_startups[2];
	snapshot_put(snap);
	if (ssh_hs_threads_start(l, err, errlen) == -1) {
		atomic_store(&l->quitting, 1);
		ssh_hs_threads_stop(l);
		return -1;
	}
	if (ssh_loops_start(l, l->nloops, err, errlen) == -1)
		return -1;
	if (pthread_create(&l->acceptor, NULL, ssh_acceptor_main, l) != 0) {
		errbuf_set(err, errlen, "cannot start the SSH acceptor");
		ssh_loops_stop(l);
		return -1;
	}
	l->started = 1;
	srv->ssh = l;
	log_info("ssh: listening on %s with %d forwarding threads",
	    l->addr_str, l->nloops);
	return 0;
}

/* Cuts every handshake short and waits until their threads are gone. */
static void
ssh_handshakes_stop(struct ssh_listener *l)
{
	struct ssh_sess *ss;

	pthread_mutex_lock(&l->hs_lock);
	TAILQ_FOREACH(ss, &l->handshakes, entry)
		shutdown(ss->fd, SHUT_RDWR);
	while (l->nhandshakes > 0)
		pthread_cond_wait(&l->hs_cond, &l->hs_lock);
	pthread_mutex_unlock(&l->hs_lock);
}

void
ssh_listener_stop(struct ssh_listener *l)
{
	if (l == NULL)
		return;
	atomic_store(&l->quitting, 1);
	if (l->srv)
		l->srv->ssh = NULL;
	if (l->started) {
		(void)!write(l->stop_pipe[1], "q", 1);
		pthread_join(l->acceptor, NULL);
		ssh_handshakes_stop(l);
		ssh_hs_threads_stop(l);
		ssh_loops_stop(l);
	}
	close(l->fd);
	close(l->stop_pipe[0]);
	close(l->stop_pipe[1]);
	ssh_bind_free(l->bind);
	pthread_mutex_destroy(&l->hs_lock);
	pthread_cond_destroy(&l->hs_cond);
	pthread_mutex_destroy(&l->reg_lock);
	free(l->loops);
	free(l);
}

int
ssh_listener_kill(struct ssh_listener *l, uint64_t id)
{
	struct ssh_loop *lp = NULL;
	struct ssh_tun *t;
	struct ssh_msg *m;

	if (l == NULL)
		return -1;
	pthread_mutex_lock(&l->reg_lock);
	LIST_FOREACH(t, &l->open_tuns, reg_entry)
		if (t->id == id)
			lp = t->lp;
	pthread_mutex_unlock(&l->reg_lock);
	if (lp == NULL)
		return -1;
	/* The loop looks the id up again: the tunnel may end meanwhile. */
	m = xcalloc(1, sizeof(*m));
	m->type = SSH_MSG_KILL;
	m->id = id;
	ssh_loop_post(lp, m);
	return 0;
}

void
ssh_listener_sessions(struct ssh_listener *l, json_t *list)
{
	const struct ssh_tun *t;

	if (l == NULL)
		return;
	/* Registered tunnels are open: their session and names are fixed. */
	pthread_mutex_lock(&l->reg_lock);
	LIST_FOREACH(t, &l->open_tuns, reg_entry)
		json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s, "
		    "s:s, s:s, s:I, s:I, s:I, s:s}",
		    "id", (json_int_t)t->id, "device", t->ss->device_id,
		    "user", t->ss->user, "source", t->ss->peer_ip,
		    "target", t->target, "backend", t->backend,
		    "since", (json_int_t)t->t_open.tv_sec,
		    "bytes_up", (json_int_t)atomic_load(&t->bytes_up),
		    "bytes_down", (json_int_t)atomic_load(&t->bytes_down),
		    "protocol", "ssh"));
	pthread_mutex_unlock(&l->reg_lock);
}

int
ssh_listener_count_open(struct ssh_listener *l)
{
	const struct ssh_tun *t;
	int n = 0;

	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->reg_lock);
	LIST_FOREACH(t, &l->open_tuns, reg_entry)
		n++;
	pthread_mutex_unlock(&l->reg_lock);
	return n;
}

int
ssh_listener_count_whose(struct ssh_listener *l, int is_user,
    const char *name)
{
	const struct ssh_tun *t;
	int n = 0;

	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->reg_lock);
	LIST_FOREACH(t, &l->open_tuns, reg_entry)
		if (strcmp(is_user ? t->ss->user : t->ss->device_id, name) == 0)
			n++;
	pthread_mutex_unlock(&l->reg_lock);
	return n;
}
