/*
 * loadgen: the benchmark's TLS client. Drives one gateway (mwgd with
 * --connect, or a plain TLS proxy such as stunnel or haproxy without it)
 * over mutual TLS in one of four modes (bulk, handshake, rtt, idle) and
 * prints one "result key=value ..." line per measurement for bench/run.sh.
 * Blocking sockets with per-I/O timeouts; threads only for handshake load.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "bench/bench.h"

#define IO_CHUNK		(64 * 1024)
#define HEAD_MAX		8192	/* CONNECT answer head */
#define IO_TIMEOUT_S		10	/* any single read or write */
#define BULK_TIMEOUT_S		120	/* a whole bulk transfer */
#define HANDSHAKE_THREADS_MAX	1024
#define RTT_COUNT_MAX		10000000L
#define RTT_WARMUP		200
#define MSG_MAX			65536	/* rtt message size */
#define IDLE_MAX		100000L
#define IDLE_HOLD_S		600	/* idle tunnels are dropped after this */
#define HS_BACKOFF_MS		10	/* after a failed handshake */
#define ERRORS_SHOWN		5	/* handshake failures printed, at most */
#define MIB			(1024ULL * 1024ULL)
/*
 * One suite unless told otherwise: every gateway then runs the same
 * cryptography, whatever its own preference order. The key share is
 * X25519; P-256 is listed too because TLS 1.2 (RFC 8422 §5.1) lets a server
 * use a P-256 ECDSA certificate only with a client that names that curve.
 */
#define DEFAULT_SUITES		"TLS_AES_128_GCM_SHA256"
#define DEFAULT_CIPHERS		"ECDHE-ECDSA-AES128-GCM-SHA256"
#define DEFAULT_GROUPS		"X25519:P-256"

struct lg_opts {
	const char	*mode;
	const char	*addr;
	const char	*cert;
	const char	*key;
	const char	*ca;
	const char	*connect;	/* CONNECT target, or NULL */
	const char	*label;
	const char	*suites;	/* TLS 1.3 */
	const char	*ciphers;	/* TLS 1.2 */
	const char	*groups;
	int		 tls_version;	/* 0: 1.2 or 1.3; else TLS1_x_VERSION */
	uint64_t	 send_bytes;
	uint64_t	 recv_bytes;
	double		 seconds;
	int		 concurrency;
	long		 count;
	size_t		 size;
	pid_t		 cpu_pid;	/* report this process's CPU, or 0 */
	int		 is_probe;	/* handshake: one echo byte per tunnel */
};

struct lg_target {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 host[256];
};

/* One tunnel: the socket and the TLS object that owns the stream. */
struct lg_conn {
	int	 fd;
	SSL	*ssl;
};

struct hs_shared {
	const struct lg_opts	*opt;
	const struct lg_target	*tgt;
	SSL_CTX			*ctx;
	double			 deadline;
	atomic_long		 ok;
	atomic_long		 failed;
	atomic_int		 errors_shown;
};

static void usage(int) __attribute__((noreturn));

static void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: loadgen MODE --addr HOST:PORT --cert F --key F --ca F\n"
	    "               [--connect TARGET] [--label NAME] [--tls 1.2|1.3]"
	    " [--cpu-pid PID]\n"
	    "               [--ciphersuites LIST] [--ciphers LIST]"
	    " [--groups LIST]\n"
	    "modes:\n"
	    "  bulk --send MIB | --recv MIB   one tunnel; into a discard"
	    " backend,\n"
	    "                                 or from a source backend\n"
	    "  handshake --seconds T --concurrency C [--probe]\n"
	    "                                 full mutual-TLS handshakes, no"
	    " resumption\n"
	    "  rtt --count K [--size 64]      round trips through an echo"
	    " backend\n"
	    "  idle --count N [--seconds T]   open N tunnels (one echo byte"
	    " each),\n"
	    "                                 print \"ready\", hold until"
	    " SIGTERM/SIGINT/SIGUSR1\n"
	    "--connect sends \"CONNECT TARGET HTTP/1.1\" and needs a 200;"
	    " without it\n"
	    "the TLS stream is the backend stream. --cpu-pid reports that"
	    " process's\n"
	    "(and its children's) utime+stime per operation (rtt, handshake). By default the"
	    " client offers\n"
	    "only " DEFAULT_SUITES " (TLS 1.3), " DEFAULT_CIPHERS
	    " (TLS 1.2)\nand groups " DEFAULT_GROUPS " (key share: the"
	    " first), so every gateway runs the\nsame cryptography.\n");
	exit(status);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* utime + stime of pid in seconds (all its threads), or -1. */
/* utime + stime of one process (all its threads), seconds; -1 if gone. */
static double
cpu_seconds_one(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces: fields start after the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u"
	    " %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * The process and its children (every thread's): mwgd's network process
 * is its monitor's child, and both work on each connection (the monitor
 * signs for the TLS handshake); an nginx master's worker likewise.
 */
static double
cpu_seconds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	double sum = cpu_seconds_one(pid), c;
	long child;
	FILE *f;
	DIR *dir;

	if (sum < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return sum;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%.16s/children",
		    (long)pid, d->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fscanf(f, "%ld", &child) == 1)
			if ((c = cpu_seconds_one((pid_t)child)) > 0)
				sum += c;
		fclose(f);
	}
	closedir(dir);
	return sum;
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static uint64_t
arg_u64(const char *name, const char *val, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (parse_u64(val, max, &v) == -1 || v < min) {
		log_warnx("%s: want a number in %" PRIu64 "..%" PRIu64
		    ", got \"%s\"", name, min, max, val);
		usage(2);
	}
	return v;
}

static void
opts_parse(int argc, char **argv, struct lg_opts *o)
{
	const char *a, *v;
	int i;

	if (argc < 2)
		usage(2);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		usage(0);
	memset(o, 0, sizeof(*o));
	o->mode = argv[1];
	o->label = "gateway";
	o->suites = DEFAULT_SUITES;
	o->ciphers = DEFAULT_CIPHERS;
	o->groups = DEFAULT_GROUPS;
	o->size = 64;
	o->concurrency = 1;
	for (i = 2; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--help") == 0)
			usage(0);
		if (strcmp(a, "--probe") == 0) {
			o->is_probe = 1;
			continue;
		}
		if (i + 1 >= argc) {
			log_warnx("%s: missing value or unknown option", a);
			usage(2);
		}
		v = argv[++i];
		if (strcmp(a, "--addr") == 0)
			o->addr = v;
		else if (strcmp(a, "--cert") == 0)
			o->cert = v;
		else if (strcmp(a, "--key") == 0)
			o->key = v;
		else if (strcmp(a, "--ca") == 0)
			o->ca = v;
		else if (strcmp(a, "--connect") == 0)
			o->connect = v;
		else if (strcmp(a, "--label") == 0)
			o->label = v;
		else if (strcmp(a, "--ciphersuites") == 0)
			o->suites = v;
		else if (strcmp(a, "--ciphers") == 0)
			o->ciphers = v;
		else if (strcmp(a, "--groups") == 0)
			o->groups = v;
		else if (strcmp(a, "--tls") == 0) {
			if (strcmp(v, "1.2") == 0)
				o->tls_version = TLS1_2_VERSION;
			else if (strcmp(v, "1.3") == 0)
				o->tls_version = TLS1_3_VERSION;
			else {
				log_warnx("--tls: want 1.2 or 1.3");
				usage(2);
			}
		} else if (strcmp(a, "--send") == 0)
			o->send_bytes = arg_u64(a, v, 1, 1 << 20) * MIB;
		else if (strcmp(a, "--recv") == 0)
			o->recv_bytes = arg_u64(a, v, 1, 1 << 20) * MIB;
		else if (strcmp(a, "--seconds") == 0)
			o->seconds = (double)arg_u64(a, v, 1, 3600);
		else if (strcmp(a, "--concurrency") == 0)
			o->concurrency = (int)arg_u64(a, v, 1,
			    HANDSHAKE_THREADS_MAX);
		else if (strcmp(a, "--count") == 0)
			o->count = (long)arg_u64(a, v, 1, RTT_COUNT_MAX);
		else if (strcmp(a, "--size") == 0)
			o->size = (size_t)arg_u64(a, v, 1, MSG_MAX);
		else if (strcmp(a, "--cpu-pid") == 0)
			o->cpu_pid = (pid_t)arg_u64(a, v, 1, INT32_MAX);
		else {
			log_warnx("unknown option: %s", a);
			usage(2);
		}
	}
	if (o->addr == NULL || o->cert == NULL || o->key == NULL ||
	    o->ca == NULL) {
		log_warnx("--addr, --cert, --key and --ca are required");
		usage(2);
	}
}

static int
target_resolve(const char *spec, struct lg_target *t)
{
	struct addrinfo hints, *res;
	const char *colon;
	size_t hl;
	int rc;

	if ((colon = strrchr(spec, ':')) == NULL)
		return -1;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(t->host))
		return -1;
	memcpy(t->host, spec, hl);
	t->host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(t->host, colon + 1, &hints, &res)) != 0) {
		log_warnx("%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	memcpy(&t->ss, res->ai_addr, res->ai_addrlen);
	t->sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/*
 * One context for every connection. Full handshakes only: no tickets and
 * no client session cache, so each connection pays the whole mutual-TLS
 * cost, as a fresh client would.
 */
static SSL_CTX *
ctx_new(const struct lg_opts *o)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx,
	    o->tls_version ? o->tls_version : TLS1_2_VERSION);
	if (o->tls_version)
		SSL_CTX_set_max_proto_version(ctx, o->tls_version);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	if (SSL_CTX_set_cipher_list(ctx, o->ciphers) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, o->suites) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, o->groups) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

static void
conn_free(struct lg_conn *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd != -1)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
}

/* Formats the first queued OpenSSL error (or errno) into err. */
static void
conn_error(char *err, size_t errsz, const char *what, int sslerr)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errsz, "%s: %s", what, buf);
	} else if (sslerr == SSL_ERROR_ZERO_RETURN)
		snprintf(err, errsz, "%s: peer closed", what);
	else if (errno != 0)
		snprintf(err, errsz, "%s: %s", what, strerror(errno));
	else
		snprintf(err, errsz, "%s: connection closed (ssl error %d)",
		    what, sslerr);
	ERR_clear_error();
}

static int
ssl_write_all(struct lg_conn *c, const void *buf, size_t len, char *err,
    size_t errsz)
{
	int n;

	errno = 0;
	n = SSL_write(c->ssl, buf, (int)len);	/* blocking: all or error */
	if (n <= 0 || (size_t)n != len) {
		conn_error(err, errsz, "write", SSL_get_error(c->ssl, n));
		return -1;
	}
	return 0;
}

static int
ssl_read_full(struct lg_conn *c, void *buf, size_t len, char *err,
    size_t errsz)
{
	char *p = buf;
	int n;

	while (len > 0) {
		errno = 0;
		n = SSL_read(c->ssl, p, (int)(len > INT32_MAX ? INT32_MAX : len));
		if (n <= 0) {
			conn_error(err, errsz, "read", SSL_get_error(c->ssl, n));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Sends the CONNECT request and reads the answer head a byte at a time, so
 * no tunnel byte that follows it is consumed here.
 */
static int
tunnel_request(struct lg_conn *c, const char *target, char *err,
    size_t errsz)
{
	char req[512], head[HEAD_MAX + 1];
	size_t len = 0;
	int n;

	n = snprintf(req, sizeof(req),
	    "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		snprintf(err, errsz, "CONNECT target too long");
		return -1;
	}
	if (ssl_write_all(c, req, (size_t)n, err, errsz) == -1)
		return -1;
	while (len < HEAD_MAX) {
		if (ssl_read_full(c, head + len, 1, err, errsz) == -1)
			return -1;
		head[++len] = '\0';
		if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (strncmp(head, "HTTP/1.1 200", 12) != 0 &&
	    strncmp(head, "HTTP/1.0 200", 12) != 0) {
		head[strcspn(head, "\r\n")] = '\0';
		snprintf(err, errsz, "CONNECT refused: %.200s", head);
		return -1;
	}
	return 0;
}

static int
tcp_connect(const struct lg_target *t, char *err, size_t errsz)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int fd, one = 1;

	fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Every blocking call is bounded: no run can hang on a dead peer. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&t->ss, t->sslen) == -1) {
		snprintf(err, errsz, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* TCP connect, TLS handshake (verifying the server), then CONNECT. */
static int
conn_open(SSL_CTX *ctx, const struct lg_target *t, const char *connect_to,
    struct lg_conn *c, char *err, size_t errsz)
{
	int rc;

	c->ssl = NULL;
	if ((c->fd = tcp_connect(t, err, errsz)) == -1)
		return -1;
	if ((c->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1 ||
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
	    t->host) != 1) {
		conn_error(err, errsz, "SSL_new", 0);
		conn_free(c);
		return -1;
	}
	errno = 0;
	if ((rc = SSL_connect(c->ssl)) != 1) {
		conn_error(err, errsz, "handshake", SSL_get_error(c->ssl, rc));
		conn_free(c);
		return -1;
	}
	if (connect_to != NULL &&
	    tunnel_request(c, connect_to, err, errsz) == -1) {
		conn_free(c);
		return -1;
	}
	return 0;
}

/*
 * Orderly close: send close_notify, then read until the peer's own close,
 * so no unread byte turns our close into a reset. Returns 0 on a clean
 * close, -1 if the peer failed us (a TLS alert: e.g. a refused
 * certificate in TLS 1.3, which the client only learns here).
 */
static int
conn_close(struct lg_conn *c)
{
	char buf[4096];
	int n, rc = 0, i;

	if (SSL_shutdown(c->ssl) < 0)
		rc = -1;
	for (i = 0; rc == 0 && i < 1024; i++) {
		n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n > 0)
			continue;
		if (SSL_get_error(c->ssl, n) != SSL_ERROR_ZERO_RETURN &&
		    ERR_GET_REASON(ERR_peek_error()) !=
		    SSL_R_UNEXPECTED_EOF_WHILE_READING)
			rc = -1;
		break;
	}
	ERR_clear_error();
	conn_free(c);
	return rc;
}

static void
print_tls(const struct lg_conn *c)
{
	int nid = SSL_get_negotiated_group(c->ssl);
	const char *group = nid > 0 ? OBJ_nid2sn(nid) : "none";

	printf(" tls=%s cipher=%s group=%s", SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl), group != NULL ? group : "unknown");
}

static int
mode_bulk_send(const struct lg_opts *o, const struct lg_target *t,
    SSL_CTX *ctx)
{
	struct lg_conn c;
	char *buf, err[512], line[64];
	uint64_t sent = 0, counted = 0;
	double t0, t1, deadline;
	size_t len = 0;
	int is_confirmed = 0;

	if (conn_open(ctx, t, o->connect, &c, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", o->label, err);
		return 1;
	}
	buf = xcalloc(1, IO_CHUNK);
	t0 = now_s();
	deadline = t0 + BULK_TIMEOUT_S;
	while (sent < o->send_bytes && now_s() < deadline) {
		size_t chunk = o->send_bytes - sent < IO_CHUNK ?
		    (size_t)(o->send_bytes - sent) : IO_CHUNK;
		if (ssl_write_all(&c, buf, chunk, err, sizeof(err)) == -1)
			break;
		sent += chunk;
	}
	/* close_notify; the discard backend answers its count on EOF. */
	SSL_shutdown(c.ssl);
	while (len < sizeof(line) - 1 &&
	    ssl_read_full(&c, line + len, 1, err, sizeof(err)) == 0) {
		line[++len] = '\0';
		if (line[len - 1] == '\n') {
			line[len - 1] = '\0';
			is_confirmed = parse_u64(line, UINT64_MAX,
			    &counted) == 0 && counted == sent;
			break;
		}
	}
	t1 = now_s();
	printf("result mode=bulk dir=send label=%s bytes=%" PRIu64
	    " seconds=%.3f MBps=%.1f confirmed=%d", o->label, sent, t1 - t0,
	    (double)sent / (t1 - t0) / 1e6, is_confirmed);
	print_tls(&c);
	printf("\n");
	free(buf);
	conn_free(&c);
	return is_confirmed && sent == o->send_bytes ? 0 : 1;
}

static int
mode_bulk_recv(const struct lg_opts *o, const struct lg_target *t,
    SSL_CTX *ctx)
{
	struct lg_conn c;
	unsigned char *buf, *pattern;
	char err[512];
	uint64_t got = 0;
	double t0, t1, deadline;
	int n, is_intact = 1;

	if (conn_open(ctx, t, o->connect, &c, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", o->label, err);
		return 1;
	}
	buf = xcalloc(1, IO_CHUNK);
	pattern = xcalloc(1, IO_CHUNK + SOURCE_PERIOD);
	source_pattern(pattern, IO_CHUNK + SOURCE_PERIOD);
	t0 = now_s();
	deadline = t0 + BULK_TIMEOUT_S;
	while (now_s() < deadline) {
		n = SSL_read(c.ssl, buf, IO_CHUNK);
		if (n <= 0)
			break;	/* close_notify, or a close without it */
		if (memcmp(buf, pattern + got % SOURCE_PERIOD, (size_t)n) != 0)
			is_intact = 0;
		got += (uint64_t)n;
	}
	t1 = now_s();
	ERR_clear_error();
	printf("result mode=bulk dir=recv label=%s bytes=%" PRIu64
	    " seconds=%.3f MBps=%.1f confirmed=%d", o->label, got, t1 - t0,
	    (double)got / (t1 - t0) / 1e6,
	    is_intact && got == o->recv_bytes);
	print_tls(&c);
	printf("\n");
	free(pattern);
	free(buf);
	conn_free(&c);
	return is_intact && got == o->recv_bytes ? 0 : 1;
}

static int
mode_bulk(const struct lg_opts *o, const struct lg_target *t, SSL_CTX *ctx)
{
	if ((o->send_bytes == 0) == (o->recv_bytes == 0)) {
		log_warnx("bulk: give exactly one of --send MIB, --recv MIB");
		usage(2);
	}
	if (o->send_bytes != 0)
		return mode_bulk_send(o, t, ctx);
	return mode_bulk_recv(o, t, ctx);
}

/* One full handshake (and CONNECT, and probe byte), then a clean close. */
static int
hs_once(struct hs_shared *sh, char *err, size_t errsz)
{
	struct lg_conn c;
	char b = 'x';

	if (conn_open(sh->ctx, sh->tgt, sh->opt->connect, &c, err,
	    errsz) == -1)
		return -1;
	if (sh->opt->is_probe &&
	    (ssl_write_all(&c, &b, 1, err, errsz) == -1 ||
	    ssl_read_full(&c, &b, 1, err, errsz) == -1)) {
		conn_free(&c);
		return -1;
	}
	if (conn_close(&c) == -1) {
		snprintf(err, errsz, "close: peer failed the connection");
		return -1;
	}
	return 0;
}

static void *
hs_thread(void *arg)
{
	struct timespec backoff = { 0, HS_BACKOFF_MS * 1000000L };
	struct hs_shared *sh = arg;
	char err[512];

	while (now_s() < sh->deadline) {
		if (hs_once(sh, err, sizeof(err)) == 0) {
			atomic_fetch_add(&sh->ok, 1);
			continue;
		}
		atomic_fetch_add(&sh->failed, 1);
		if (atomic_fetch_add(&sh->errors_shown, 1) < ERRORS_SHOWN)
			log_warnx("%s: %s", sh->opt->label, err);
		/* A refusing gateway must not turn this into a busy loop. */
		nanosleep(&backoff, NULL);
	}
	return NULL;
}

static int
mode_handshake(const struct lg_opts *o, const struct lg_target *t,
    SSL_CTX *ctx)
{
	struct hs_shared sh;
	pthread_t *tids;
	double t0, t1, cpu0 = -1, cpu1 = -1;
	long ok;
	int i, started = 0;

	if (o->seconds <= 0) {
		log_warnx("handshake: --seconds is required");
		usage(2);
	}
	memset(&sh, 0, sizeof(sh));
	sh.opt = o;
	sh.tgt = t;
	sh.ctx = ctx;
	tids = xcalloc((size_t)o->concurrency, sizeof(*tids));
	if (o->cpu_pid)
		cpu0 = cpu_seconds(o->cpu_pid);
	t0 = now_s();
	sh.deadline = t0 + o->seconds;
	for (i = 0; i < o->concurrency; i++) {
		if (pthread_create(&tids[i], NULL, hs_thread, &sh) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	t1 = now_s();
	if (o->cpu_pid)
		cpu1 = cpu_seconds(o->cpu_pid);
	ok = atomic_load(&sh.ok);
	printf("result mode=handshake label=%s concurrency=%d ok=%ld "
	    "failed=%ld seconds=%.3f per_s=%.1f", o->label, started, ok,
	    atomic_load(&sh.failed), t1 - t0, (double)ok / (t1 - t0));
	if (cpu0 >= 0 && cpu1 >= 0 && ok > 0)
		printf(" gw_cpu_s=%.2f gw_busy_pct=%.0f gw_cpu_us_per_op=%.1f",
		    cpu1 - cpu0, (cpu1 - cpu0) * 100 / (t1 - t0),
		    (cpu1 - cpu0) * 1e6 / (double)ok);
	printf("\n");
	free(tids);
	return ok > 0 && started == o->concurrency ? 0 : 1;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static uint64_t
percentile(const uint64_t *v, long n, double p)
{
	long rank = (long)(p / 100.0 * (double)n + 0.999999);

	if (rank < 1)
		rank = 1;
	return v[(rank > n ? n : rank) - 1];
}

static int
rtt_rounds(struct lg_conn *c, char *msg, size_t size, long rounds,
    uint64_t *lat, char *err, size_t errsz)
{
	uint64_t t0;
	long i;

	for (i = 0; i < rounds; i++) {
		t0 = now_ns();
		if (ssl_write_all(c, msg, size, err, errsz) == -1 ||
		    ssl_read_full(c, msg, size, err, errsz) == -1)
			return -1;
		if (lat != NULL)
			lat[i] = now_ns() - t0;
	}
	return 0;
}

static int
mode_rtt(const struct lg_opts *o, const struct lg_target *t, SSL_CTX *ctx)
{
	struct lg_conn c;
	uint64_t *lat, sum = 0;
	double cpu0 = -1, cpu1 = -1, t0, t1;
	char *msg, err[512];
	long i, n = o->count;
	int rc = 1;

	if (n <= 0) {
		log_warnx("rtt: --count is required");
		usage(2);
	}
	if (conn_open(ctx, t, o->connect, &c, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", o->label, err);
		return 1;
	}
	msg = xcalloc(1, o->size);
	memset(msg, 'r', o->size);
	lat = xcalloc((size_t)n, sizeof(*lat));
	/* Warm up caches, buffers and the gateway's allocator first. */
	if (rtt_rounds(&c, msg, o->size, RTT_WARMUP, NULL, err,
	    sizeof(err)) == -1)
		goto out;
	if (o->cpu_pid)
		cpu0 = cpu_seconds(o->cpu_pid);
	t0 = now_s();
	if (rtt_rounds(&c, msg, o->size, n, lat, err, sizeof(err)) == -1)
		goto out;
	t1 = now_s();
	if (o->cpu_pid)
		cpu1 = cpu_seconds(o->cpu_pid);
	for (i = 0; i < n; i++)
		sum += lat[i];
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	printf("result mode=rtt label=%s count=%ld size=%zu seconds=%.3f "
	    "p50_us=%.1f p99_us=%.1f mean_us=%.1f max_us=%.1f", o->label, n,
	    o->size, t1 - t0, percentile(lat, n, 50) / 1e3,
	    percentile(lat, n, 99) / 1e3, (double)sum / (double)n / 1e3,
	    lat[n - 1] / 1e3);
	if (cpu0 >= 0 && cpu1 >= 0)
		printf(" gw_cpu_s=%.2f gw_busy_pct=%.0f gw_cpu_us_per_op=%.2f",
		    cpu1 - cpu0, (cpu1 - cpu0) * 100 / (t1 - t0),
		    (cpu1 - cpu0) * 1e6 / (double)n);
	printf("\n");
	rc = 0;
 out:
	if (rc != 0)
		log_warnx("%s: %s", o->label, err);
	free(lat);
	free(msg);
	conn_close(&c);
	return rc;
}

static int
idle_open(const struct lg_opts *o, const struct lg_target *t, SSL_CTX *ctx,
    struct lg_conn *c)
{
	char err[512], b = 'i';

	if (conn_open(ctx, t, o->connect, c, err, sizeof(err)) == -1 ||
	    ssl_write_all(c, &b, 1, err, sizeof(err)) == -1 ||
	    ssl_read_full(c, &b, 1, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", o->label, err);
		conn_free(c);
		return -1;
	}
	return 0;
}

static int
mode_idle(const struct lg_opts *o, const struct lg_target *t, SSL_CTX *ctx)
{
	struct timespec hold = { .tv_sec = IDLE_HOLD_S };
	struct lg_conn *conns;
	sigset_t set;
	long i, opened = 0;
	int sig;

	if (o->count <= 0 || o->count > IDLE_MAX) {
		log_warnx("idle: --count 1..%ld is required", IDLE_MAX);
		usage(2);
	}
	if (o->seconds > 0)
		hold.tv_sec = (time_t)o->seconds;
	hold_signals(&set);
	fd_limit_raise();
	conns = xcalloc((size_t)o->count, sizeof(*conns));
	for (i = 0; i < o->count; i++) {
		if (idle_open(o, t, ctx, &conns[i]) == -1)
			break;
		opened++;
	}
	printf("ready mode=idle label=%s count=%ld\n", o->label, opened);
	fflush(stdout);
	sig = sigtimedwait(&set, NULL, &hold);
	for (i = 0; i < opened; i++)
		conn_free(&conns[i]);
	printf("result mode=idle label=%s count=%ld held_until=%s\n",
	    o->label, opened, sig > 0 ? "signal" : "timeout");
	free(conns);
	return opened == o->count ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(const struct lg_opts *, const struct lg_target *,
		    SSL_CTX *);
	} modes[] = {
		{ "bulk", mode_bulk },
		{ "handshake", mode_handshake },
		{ "idle", mode_idle },
		{ "rtt", mode_rtt },
	};
	struct lg_opts o;
	struct lg_target t;
	SSL_CTX *ctx;
	size_t i;
	int rc;

	log_init("loadgen", 0, 0);
	signal(SIGPIPE, SIG_IGN);
	opts_parse(argc, argv, &o);
	if (target_resolve(o.addr, &t) == -1) {
		log_warnx("bad --addr: %s", o.addr);
		return 2;
	}
	if ((ctx = ctx_new(&o)) == NULL) {
		log_warnx("TLS setup failed (cert %s, key %s, ca %s)", o.cert,
		    o.key, o.ca);
		ERR_print_errors_fp(stderr);
		return 1;
	}
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(o.mode, modes[i].name) == 0) {
			rc = modes[i].run(&o, &t, ctx);
			fflush(stdout);
			SSL_CTX_free(ctx);
			return rc;
		}
	}
	log_warnx("unknown mode: %s", o.mode);
	usage(2);
}
