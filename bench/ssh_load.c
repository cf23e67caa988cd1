/*
 * ssh_load: the SSH benchmark's client (bench/ssh_bench.sh). libssh in
 * this process, not the ssh program, so that a measurement counts the
 * server's work and not process start-up. Drives one SSH server used as a
 * jump host (mwgd's SSH listener or OpenSSH's sshd) with one key exchange
 * (curve25519-sha256, ssh-ed25519 host key, chacha20-poly1305), publickey
 * authentication with a P-256 device key, and direct-tcpip channels to a
 * stand-in backend (tests/tools/mwg-backend). Prints one
 * "result key=value ..." line per measurement.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <libssh/libssh.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "bench/bench.h"

#define SL_KEX			"curve25519-sha256"
#define SL_HOSTKEYS		"ssh-ed25519"
#define SL_CIPHER		"chacha20-poly1305@openssh.com"
#define SL_MAC			"hmac-sha2-256-etm@openssh.com"	/* unused by chacha */
#define SL_CLIENT_KEYS		"ecdsa-sha2-nistp256"
#define IO_TIMEOUT_S		10	/* any blocking libssh call */
#define IO_CHUNK		(64 * 1024)
#define ECHO_BYTES		16	/* per connection in connect mode */
#define THREADS_MAX		256
#define IDLE_MAX		10000L
#define IDLE_HOLD_MAX_S		600
#define ERRORS_SHOWN		5
#define BACKOFF_NS		(10 * 1000 * 1000L)	/* after a failure */
#define MIB			(1024ULL * 1024ULL)

struct sl_opts {
	const char	*mode;
	char		 host[256];
	unsigned int	 port;
	const char	*user;
	const char	*key;		/* device private key (PEM) */
	const char	*hostkey;	/* the server's public host key */
	char		 thost[256];	/* direct-tcpip destination */
	int		 tport;
	const char	*label;
	double		 seconds;
	int		 concurrency;
	long		 count;
	uint64_t	 send_bytes;
	uint64_t	 recv_bytes;
};

/* What each connection needs: the options and the two keys. */
struct sl_keys {
	ssh_key		 priv;
	ssh_key		 host;
};

struct sl_conn {
	ssh_session	 s;
	ssh_channel	 ch;
};

struct conn_shared {
	const struct sl_opts	*opt;
	double			 deadline;
	atomic_long		 ok;
	atomic_long		 failed;
	atomic_llong		 ok_ns;		/* sum of successful durations */
	atomic_int		 errors_shown;
};

static void usage(int) __attribute__((noreturn));

static void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: ssh_load MODE --addr HOST:PORT --user NAME --key FILE\n"
	    "                --hostkey FILE.pub --target HOST:PORT"
	    " [--label NAME]\n"
	    "modes:\n"
	    "  connect --seconds T --concurrency C\n"
	    "        new connections: key exchange, publickey, one"
	    " direct-tcpip channel\n"
	    "        to an echo backend, %d bytes echoed, close; C threads"
	    " for T seconds\n"
	    "  idle --count N [--seconds T] [--concurrency C]\n"
	    "        N connections with one tunnel each (one byte echoed),"
	    " opened by C\n        threads at once; prints\n"
	    "        \"ready\", holds until SIGTERM/SIGINT/SIGUSR1 or T"
	    " seconds\n"
	    "  bulk --send MIB | --recv MIB\n"
	    "        one tunnel: into a discard backend (its count checked)"
	    " or from\n"
	    "        a source backend (every byte checked)\n"
	    "Offers only " SL_KEX ", " SL_HOSTKEYS " and " SL_CIPHER ";"
	    " the host key must\nbe the one in --hostkey. Reads no ssh"
	    " configuration file.\n", ECHO_BYTES);
	exit(status);
}

/* This process's CPU seconds (every thread). */
static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- options ------------------------------------------------------------- */

static uint64_t
arg_u64(const char *name, const char *val, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		log_warnx("%s: want a number in %" PRIu64 "..%" PRIu64
		    ", got '%s'", name, min, max, val);
		usage(2);
	}
	return v;
}

/* "host:port" or "[v6]:port" into host and port; -1 if malformed. */
static int
split_hostport(const char *spec, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(spec, ':');
	size_t hl;

	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	*port = (int)arg_u64("port", colon + 1, 1, 65535);
	return 0;
}

static void
parse_args(int argc, char **argv, struct sl_opts *o)
{
	int port;

	if (argc < 2 || strcmp(argv[1], "--help") == 0)
		usage(argc < 2 ? 2 : 0);
	o->mode = argv[1];
	o->label = "-";
	for (int i = 2; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL) {
			log_warnx("%s needs a value", a);
			usage(2);
		}
		if (strcmp(a, "--addr") == 0) {
			if (split_hostport(v, o->host, sizeof(o->host),
			    &port) == -1)
				usage(2);
			o->port = (unsigned int)port;
		} else if (strcmp(a, "--target") == 0) {
			if (split_hostport(v, o->thost, sizeof(o->thost),
			    &o->tport) == -1)
				usage(2);
		} else if (strcmp(a, "--user") == 0)
			o->user = v;
		else if (strcmp(a, "--key") == 0)
			o->key = v;
		else if (strcmp(a, "--hostkey") == 0)
			o->hostkey = v;
		else if (strcmp(a, "--label") == 0)
			o->label = v;
		else if (strcmp(a, "--seconds") == 0)
			o->seconds = (double)arg_u64(a, v, 1, IDLE_HOLD_MAX_S);
		else if (strcmp(a, "--concurrency") == 0)
			o->concurrency = (int)arg_u64(a, v, 1, THREADS_MAX);
		else if (strcmp(a, "--count") == 0)
			o->count = (long)arg_u64(a, v, 1, IDLE_MAX);
		else if (strcmp(a, "--send") == 0)
			o->send_bytes = arg_u64(a, v, 1, 1 << 16) * MIB;
		else if (strcmp(a, "--recv") == 0)
			o->recv_bytes = arg_u64(a, v, 1, 1 << 16) * MIB;
		else {
			log_warnx("unknown option: %s", a);
			usage(2);
		}
	}
	if (o->host[0] == '\0' || o->thost[0] == '\0' || o->user == NULL ||
	    o->key == NULL || o->hostkey == NULL) {
		log_warnx("--addr, --target, --user, --key and --hostkey are "
		    "required");
		usage(2);
	}
}

/* ---- one connection ------------------------------------------------------ */

static int
keys_load(const struct sl_opts *o, struct sl_keys *k)
{
	memset(k, 0, sizeof(*k));
	if (ssh_pki_import_privkey_file(o->key, NULL, NULL, NULL, &k->priv) !=
	    SSH_OK) {
		log_warnx("%s: cannot load the private key", o->key);
		return -1;
	}
	if (ssh_pki_import_pubkey_file(o->hostkey, &k->host) != SSH_OK) {
		log_warnx("%s: cannot load the host key", o->hostkey);
		ssh_key_free(k->priv);
		return -1;
	}
	return 0;
}

static void
keys_free(struct sl_keys *k)
{
	ssh_key_free(k->priv);
	ssh_key_free(k->host);
}

/* Every option, so that nothing comes from files or defaults. */
static int
session_options(ssh_session s, const struct sl_opts *o)
{
	long timeout = IO_TIMEOUT_S;
	bool no = false;
	int one = 1, rc = 0;

	rc |= ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
	rc |= ssh_options_set(s, SSH_OPTIONS_HOST, o->host);
	rc |= ssh_options_set(s, SSH_OPTIONS_PORT, &o->port);
	rc |= ssh_options_set(s, SSH_OPTIONS_USER, o->user);
	rc |= ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
	rc |= ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
	rc |= ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
	rc |= ssh_options_set(s, SSH_OPTIONS_NODELAY, &one);
	rc |= ssh_options_set(s, SSH_OPTIONS_KEY_EXCHANGE, SL_KEX);
	rc |= ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, SL_HOSTKEYS);
	rc |= ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S, SL_CIPHER);
	rc |= ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C, SL_CIPHER);
	rc |= ssh_options_set(s, SSH_OPTIONS_HMAC_C_S, SL_MAC);
	rc |= ssh_options_set(s, SSH_OPTIONS_HMAC_S_C, SL_MAC);
	rc |= ssh_options_set(s, SSH_OPTIONS_COMPRESSION, "no");
	rc |= ssh_options_set(s, SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES,
	    SL_CLIENT_KEYS);
	return rc == 0 ? 0 : -1;
}

/* Key exchange, the host key checked, publickey; 0 or -1 with err. */
static int
session_login(ssh_session s, const struct sl_keys *k, char *err,
    size_t errlen)
{
	ssh_key srv = NULL;
	int rc;

	if (ssh_connect(s) != SSH_OK) {
		snprintf(err, errlen, "connect: %s", ssh_get_error(s));
		return -1;
	}
	if (ssh_get_server_publickey(s, &srv) != SSH_OK ||
	    ssh_key_cmp(srv, k->host, SSH_KEY_CMP_PUBLIC) != 0) {
		ssh_key_free(srv);
		snprintf(err, errlen, "the server's host key is not the "
		    "expected one");
		return -1;
	}
	ssh_key_free(srv);
	if ((rc = ssh_userauth_publickey(s, NULL, k->priv)) !=
	    SSH_AUTH_SUCCESS) {
		snprintf(err, errlen, "publickey: %s (%d)",
		    rc == SSH_AUTH_PARTIAL ? "partial: a second factor is "
		    "wanted" : ssh_get_error(s), rc);
		return -1;
	}
	return 0;
}

static void
conn_close(struct sl_conn *c)
{
	if (c->ch != NULL) {
		ssh_channel_send_eof(c->ch);
		ssh_channel_close(c->ch);
		ssh_channel_free(c->ch);
	}
	if (c->s != NULL) {
		ssh_disconnect(c->s);
		ssh_free(c->s);
	}
	c->ch = NULL;
	c->s = NULL;
}

/* A logged-in session with one direct-tcpip channel; 0 or -1 with err. */
static int
conn_open(struct sl_conn *c, const struct sl_opts *o, const struct sl_keys *k,
    char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if ((c->s = ssh_new()) == NULL) {
		snprintf(err, errlen, "ssh_new failed");
		return -1;
	}
	if (session_options(c->s, o) == -1) {
		snprintf(err, errlen, "options: %s", ssh_get_error(c->s));
		goto fail;
	}
	if (session_login(c->s, k, err, errlen) == -1)
		goto fail;
	if ((c->ch = ssh_channel_new(c->s)) == NULL ||
	    ssh_channel_open_forward(c->ch, o->thost, o->tport, "127.0.0.1",
	    0) != SSH_OK) {
		snprintf(err, errlen, "direct-tcpip to %.64s:%d: %s", o->thost,
		    o->tport, ssh_get_error(c->s));
		goto fail;
	}
	return 0;
fail:
	conn_close(c);
	return -1;
}

/* n bytes through an echo backend and back, byte-exact. */
static int
conn_echo(struct sl_conn *c, size_t n, char *err, size_t errlen)
{
	char out[ECHO_BYTES] = { 0 }, in[ECHO_BYTES] = { 0 };
	size_t got = 0;
	int r;

	for (size_t i = 0; i < n; i++)
		out[i] = (char)('a' + i % 26);
	if (ssh_channel_write(c->ch, out, (uint32_t)n) != (int)n) {
		snprintf(err, errlen, "write: %s", ssh_get_error(c->s));
		return -1;
	}
	while (got < n) {
		r = ssh_channel_read_timeout(c->ch, in + got,
		    (uint32_t)(n - got), 0, IO_TIMEOUT_S * 1000);
		if (r <= 0) {
			snprintf(err, errlen, "echo read: %s", r == 0 ?
			    "end of stream or timeout" : ssh_get_error(c->s));
			return -1;
		}
		got += (size_t)r;
	}
	if (memcmp(in, out, n) != 0) {
		snprintf(err, errlen, "echo: different bytes came back");
		return -1;
	}
	return 0;
}

/* ---- connect: new connections per second --------------------------------- */

static void
conn_error(struct conn_shared *sh, const char *err)
{
	if (atomic_fetch_add(&sh->errors_shown, 1) < ERRORS_SHOWN)
		log_warnx("%s: connection failed: %s", sh->opt->label, err);
}

static void *
connect_thread(void *arg)
{
	struct conn_shared *sh = arg;
	struct timespec pause = { 0, BACKOFF_NS };
	struct sl_keys k;
	struct sl_conn c;
	char err[256];
	double t0;

	if (keys_load(sh->opt, &k) == -1) {
		atomic_fetch_add(&sh->failed, 1);
		return NULL;
	}
	while ((t0 = now_s()) < sh->deadline) {
		if (conn_open(&c, sh->opt, &k, err, sizeof(err)) == 0 &&
		    conn_echo(&c, ECHO_BYTES, err, sizeof(err)) == 0) {
			conn_close(&c);
			atomic_fetch_add(&sh->ok, 1);
			atomic_fetch_add(&sh->ok_ns,
			    (long long)((now_s() - t0) * 1e9));
			continue;
		}
		conn_close(&c);
		atomic_fetch_add(&sh->failed, 1);
		conn_error(sh, err);
		nanosleep(&pause, NULL);
	}
	keys_free(&k);
	return NULL;
}

static int
mode_connect(const struct sl_opts *o)
{
	struct conn_shared sh = { .opt = o };
	pthread_t th[THREADS_MAX];
	double t0, t1, cpu0, cpu1;
	long ok;
	int n = o->concurrency > 0 ? o->concurrency : 1, started = 0;

	if (o->seconds <= 0) {
		log_warnx("connect needs --seconds");
		usage(2);
	}
	t0 = now_s();
	cpu0 = self_cpu_s();
	sh.deadline = t0 + o->seconds;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&th[i], NULL, connect_thread, &sh) != 0) {
			log_warnx("pthread_create failed");
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	t1 = now_s();
	cpu1 = self_cpu_s();
	ok = atomic_load(&sh.ok);
	printf("result mode=connect label=%s ok=%ld failed=%ld seconds=%.2f "
	    "concurrency=%d per_s=%.1f mean_ms=%.2f client_cpu_us_per_op=%.0f"
	    "\n", o->label, ok, atomic_load(&sh.failed), t1 - t0, started,
	    (double)ok / (t1 - t0), ok ? (double)atomic_load(&sh.ok_ns) /
	    (double)ok / 1e6 : 0.0, ok ? (cpu1 - cpu0) * 1e6 / (double)ok :
	    0.0);
	return ok > 0 && started == n ? 0 : 1;
}

/* ---- idle: tunnels held open --------------------------------------------- */

/* One opener of idle tunnels: every stride-th one from first. */
struct idle_job {
	const struct sl_opts	*opt;
	struct sl_keys		 keys;	/* its own, as connect's threads */
	int			 has_keys;
	struct sl_conn		*c;
	long			 first, stride;
	atomic_long		*opened;
	atomic_int		*failed;
};

static void *
idle_thread(void *arg)
{
	struct idle_job *j = arg;
	char err[256];

	if (keys_load(j->opt, &j->keys) == -1) {
		atomic_store(j->failed, 1);
		return NULL;
	}
	j->has_keys = 1;
	for (long n = j->first; n < j->opt->count && !atomic_load(j->failed);
	    n += j->stride) {
		if (conn_open(&j->c[n], j->opt, &j->keys, err, sizeof(err)) ==
		    -1 || conn_echo(&j->c[n], 1, err, sizeof(err)) == -1) {
			log_warnx("%s: idle tunnel %ld: %s", j->opt->label,
			    n + 1, err);
			conn_close(&j->c[n]);
			atomic_store(j->failed, 1);
			break;
		}
		atomic_fetch_add(j->opened, 1);
	}
	return NULL;
}

static int
mode_idle(const struct sl_opts *o)
{
	struct idle_job jobs[THREADS_MAX];
	pthread_t th[THREADS_MAX];
	struct sl_conn *c;
	atomic_long opened = 0;
	atomic_int failed = 0;
	int nth = o->concurrency > 0 ? o->concurrency : 1, started = 0;
	long n;
	double t0;
	sigset_t set;

	if (o->count <= 0) {
		log_warnx("idle needs --count");
		usage(2);
	}
	hold_signals(&set);
	fd_limit_raise();
	c = xcalloc((size_t)o->count, sizeof(*c));
	t0 = now_s();
	/* Opened by --concurrency threads at once; held by this one. */
	for (int i = 0; i < nth; i++) {
		jobs[i] = (struct idle_job){ .opt = o, .c = c,
		    .first = i, .stride = nth, .opened = &opened,
		    .failed = &failed };
		if (pthread_create(&th[i], NULL, idle_thread, &jobs[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	n = atomic_load(&opened);
	printf("ready label=%s opened_s=%.2f count=%ld\n", o->label,
	    now_s() - t0, n);
	fflush(stdout);
	if (n == o->count)
		sigtimedwait(&set, NULL, &(struct timespec){ (time_t)(o->seconds >
		    0 ? o->seconds : IDLE_HOLD_MAX_S), 0 });
	for (long i = 0; i < o->count; i++)
		conn_close(&c[i]);
	free(c);
	for (int i = 0; i < started; i++)
		if (jobs[i].has_keys)
			keys_free(&jobs[i].keys);
	return n == o->count ? 0 : 1;
}

/* ---- bulk: one tunnel, many bytes ---------------------------------------- */

/* Into a discard backend, then its count back after our EOF. */
static int
bulk_send(struct sl_conn *c, uint64_t total, char *err, size_t errlen)
{
	char *buf = xmalloc(IO_CHUNK), line[64];
	unsigned long long count;
	uint64_t sent = 0;
	size_t got = 0;
	int r;

	memset(buf, 'x', IO_CHUNK);
	while (sent < total) {
		uint32_t n = (uint32_t)(total - sent < IO_CHUNK ?
		    total - sent : IO_CHUNK);

		if ((r = ssh_channel_write(c->ch, buf, n)) != (int)n) {
			snprintf(err, errlen, "write: %s", ssh_get_error(c->s));
			free(buf);
			return -1;
		}
		sent += n;
	}
	free(buf);
	ssh_channel_send_eof(c->ch);
	while (got < sizeof(line) - 1 && (r = ssh_channel_read_timeout(c->ch,
	    line + got, (uint32_t)(sizeof(line) - 1 - got), 0,
	    IO_TIMEOUT_S * 1000)) > 0)
		got += (size_t)r;
	line[got] = '\0';
	if (sscanf(line, "%llu", &count) != 1 || count != total) {
		snprintf(err, errlen, "the backend counted '%.20s', not %"
		    PRIu64, line, total);
		return -1;
	}
	return 0;
}

/* From a source backend to its end, every byte checked. */
static int
bulk_recv(struct sl_conn *c, uint64_t total, char *err, size_t errlen)
{
	char *buf = xmalloc(IO_CHUNK);
	unsigned char *pat = xmalloc(IO_CHUNK + SOURCE_PERIOD);
	uint64_t got = 0;
	int r;

	source_pattern(pat, IO_CHUNK + SOURCE_PERIOD);
	while ((r = ssh_channel_read_timeout(c->ch, buf, IO_CHUNK, 0,
	    IO_TIMEOUT_S * 1000)) > 0) {
		if (memcmp(buf, pat + got % SOURCE_PERIOD, (size_t)r) != 0) {
			snprintf(err, errlen, "wrong bytes near offset %"
			    PRIu64, got);
			break;
		}
		got += (uint64_t)r;
	}
	free(buf);
	free(pat);
	if (r < 0)
		snprintf(err, errlen, "read: %s", ssh_get_error(c->s));
	if (r != 0 || got != total) {
		if (r == 0)
			snprintf(err, errlen, "%" PRIu64 " bytes, not %" PRIu64,
			    got, total);
		return -1;
	}
	return 0;
}

static int
mode_bulk(const struct sl_opts *o)
{
	uint64_t total = o->send_bytes ? o->send_bytes : o->recv_bytes;
	struct sl_conn c;
	struct sl_keys k;
	char err[256] = "";
	double t0, t1, cpu0, cpu1;
	int rc;

	if ((o->send_bytes == 0) == (o->recv_bytes == 0)) {
		log_warnx("bulk needs one of --send and --recv");
		usage(2);
	}
	if (keys_load(o, &k) == -1)
		return 1;
	if (conn_open(&c, o, &k, err, sizeof(err)) == -1) {
		log_warnx("%s: bulk: %s", o->label, err);
		keys_free(&k);
		return 1;
	}
	t0 = now_s();
	cpu0 = self_cpu_s();
	rc = o->send_bytes ? bulk_send(&c, total, err, sizeof(err)) :
	    bulk_recv(&c, total, err, sizeof(err));
	t1 = now_s();
	cpu1 = self_cpu_s();
	conn_close(&c);
	keys_free(&k);
	if (rc == -1) {
		log_warnx("%s: bulk: %s", o->label, err);
		return 1;
	}
	printf("result mode=bulk label=%s dir=%s bytes=%" PRIu64 " seconds=%.3f"
	    " MBps=%.1f client_cpu_pct=%.0f confirmed=1\n", o->label,
	    o->send_bytes ? "send" : "recv", total, t1 - t0,
	    (double)total / 1e6 / (t1 - t0), (cpu1 - cpu0) * 100 / (t1 - t0));
	return 0;
}

int
main(int argc, char **argv)
{
	struct sl_opts o = { 0 };
	int rc;

	log_init("ssh_load", 0, 0);
	signal(SIGPIPE, SIG_IGN);
	parse_args(argc, argv, &o);
	if (ssh_init() != SSH_OK) {
		log_warnx("ssh_init failed");
		return 1;
	}
	if (strcmp(o.mode, "connect") == 0)
		rc = mode_connect(&o);
	else if (strcmp(o.mode, "idle") == 0)
		rc = mode_idle(&o);
	else if (strcmp(o.mode, "bulk") == 0)
		rc = mode_bulk(&o);
	else {
		log_warnx("unknown mode: %s", o.mode);
		usage(2);
	}
	ssh_finalize();
	return rc;
}
