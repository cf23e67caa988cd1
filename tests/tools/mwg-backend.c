/*
 * mwg-backend: a stand-in "practice system" for integration tests, the demo
 * and the benchmark. One TCP listener, one thread per connection, one of
 * four behaviours (echo, http, discard, source). Test-only; never installed.
 * Self-contained on purpose (libc + pthreads) so it builds even when the
 * project library does not.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"

#define BACKEND_CONNS_MAX	16384	/* live connections; more are closed */
#define BACKEND_BACKLOG		1024
#define BACKEND_STACK		(256 * 1024)	/* per-connection thread */
#define IO_BUF			(251 * 256)	/* multiple of the source period */
#define SOURCE_PERIOD		251	/* prime: never aligns with buffer sizes */
#define HTTP_HEAD_MAX		8192
#define HTTP_HEAD_TIMEOUT_S	10
#define LINGER_MS		2000	/* drain after our last byte, at most */
#define LINGER_BYTES		(1024 * 1024)
#define ACCEPT_PAUSE_MS		100	/* out of descriptors: wait, never spin */
#define ADDR_MAX		256

enum mode {
	MODE_ECHO,
	MODE_HTTP,
	MODE_DISCARD,
	MODE_SOURCE,
	MODE_STALL,
};

struct options {
	const char	*listen;
	const char	*pidfile;
	enum mode	 mode;
	uint64_t	 bytes;		/* source mode: how much to send */
};

struct conn {
	int		 fd;
	const struct options *opt;
};

static const char *progname = "mwg-backend";
static volatile sig_atomic_t quit;
static atomic_int live_conns;

static void usage(FILE *) __attribute__((noreturn));
static void bwarn(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s --listen ADDR:PORT --mode MODE [--pidfile FILE] "
	    "[--bytes N]\n"
	    "\n"
	    "A stand-in practice system for tests and benchmarks.\n"
	    "  --listen ADDR:PORT  numeric address to listen on ([::1]:P for"
	    " IPv6;\n"
	    "                      port 0 picks one); the bound address is"
	    " printed\n"
	    "                      on stdout as \"listening ADDR:PORT\"\n"
	    "  --mode echo         send every byte back; on the client's"
	    " half-close,\n"
	    "                      finish echoing, then close\n"
	    "  --mode http         answer HTTP/1.x GET or HEAD with 200 and a"
	    " small\n"
	    "                      HTML page naming the path; Connection: close\n"
	    "  --mode discard      read and drop; at EOF write the byte count"
	    " and\n"
	    "                      \"\\n\", then close\n"
	    "  --mode source       write --bytes N bytes (byte i is i %% %d),"
	    " then close\n"
	    "  --mode stall        listen with a queue of one, never accept:"
	    " later\n"
	    "                      connects hang (for connect timeouts)\n"
	    "  --bytes N           for source mode; suffix k, m or g for KiB,"
	    " MiB,\n"
	    "                      GiB (default 1m)\n"
	    "  --pidfile FILE      written once listening, removed on exit\n"
	    "SIGTERM or SIGINT: exit 0.\n",
	    progname, SOURCE_PERIOD);
	exit(f == stdout ? 0 : 2);
}

static void
bwarn(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", progname, msg);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Closing a socket with unread input makes the kernel send RST, which can
 * destroy our last bytes before the peer reads them. So: half-close, then
 * read until the peer closes too, bounded in time and bytes.
 */
static void
linger_close(int fd, char *buf, size_t bufsz)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int64_t deadline = now_ms() + LINGER_MS;
	size_t drained = 0;
	ssize_t n;
	int left;

	shutdown(fd, SHUT_WR);
	while (drained < LINGER_BYTES) {
		left = (int)(deadline - now_ms());
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
		n = read(fd, buf, bufsz);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		drained += (size_t)n;
	}
	close(fd);
}

static void
serve_echo(int fd, char *buf)
{
	ssize_t n;

	for (;;) {
		n = read(fd, buf, IO_BUF);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (fd_write_all(fd, buf, (size_t)n) == -1)
			break;
	}
	/* Everything read has been echoed: the half-close is honoured. */
	if (n == 0)
		shutdown(fd, SHUT_WR);
	close(fd);
}

static void
serve_discard(int fd, char *buf)
{
	char line[32];
	uint64_t total = 0;
	ssize_t n;
	int len;

	for (;;) {
		n = read(fd, buf, IO_BUF);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (uint64_t)n;
	}
	if (n == 0) {
		len = snprintf(line, sizeof(line), "%" PRIu64 "\n", total);
		(void)fd_write_all(fd, line, (size_t)len);
		shutdown(fd, SHUT_WR);
	}
	close(fd);
}

static void
serve_source(int fd, char *buf, uint64_t bytes)
{
	uint64_t left = bytes;
	size_t i, chunk;

	/* IO_BUF is a multiple of the period, so every chunk starts at 0. */
	for (i = 0; i < IO_BUF; i++)
		buf[i] = (char)(i % SOURCE_PERIOD);
	while (left > 0) {
		chunk = left < IO_BUF ? (size_t)left : IO_BUF;
		if (fd_write_all(fd, buf, chunk) == -1) {
			close(fd);
			return;
		}
		left -= chunk;
	}
	linger_close(fd, buf, IO_BUF);
}

/* Appends s to out with HTML's five special characters escaped. */
static size_t
html_escape(char *out, size_t outsz, const char *s)
{
	size_t o = 0, rl;
	const char *rep;
	char one[2] = { 0, 0 };

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: one[0] = *s; rep = one; break;
		}
		rl = strlen(rep);
		if (o + rl >= outsz)
			break;
		memcpy(out + o, rep, rl);
		o += rl;
	}
	out[o] = '\0';
	return o;
}

/*
 * Reads a request head into buf (NUL-terminated). Returns its length, 0 if
 * the peer closed or timed out first, -1 if the head exceeds HTTP_HEAD_MAX.
 */
static ssize_t
http_read_head(int fd, char *buf)
{
	size_t len = 0;
	ssize_t n;

	while (len < HTTP_HEAD_MAX) {
		n = read(fd, buf + len, HTTP_HEAD_MAX - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL ||
		    strstr(buf, "\n\n") != NULL)
			return (ssize_t)len;
	}
	return -1;
}

static void
http_respond(int fd, int status, const char *reason, const char *body,
    int with_body)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\n"
	    "Server: mwg-backend\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n\r\n",
	    status, reason, strlen(body));
	if (fd_write_all(fd, head, (size_t)n) == 0 && with_body)
		(void)fd_write_all(fd, body, strlen(body));
}

/* Splits "METHOD SP TARGET SP HTTP/1.x" in place; 0 on success. */
static int
http_parse_line(char *head, char **method, char **path)
{
	char *sp1, *sp2, *eol;

	eol = strpbrk(head, "\r\n");
	if (eol == NULL)
		return -1;
	*eol = '\0';
	if ((sp1 = strchr(head, ' ')) == NULL)
		return -1;
	*sp1 = '\0';
	if ((sp2 = strchr(sp1 + 1, ' ')) == NULL)
		return -1;
	*sp2 = '\0';
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)sp2[8]) || sp2[9] != '\0')
		return -1;
	*method = head;
	*path = sp1 + 1;
	return **path != '\0' ? 0 : -1;
}

static void
serve_http(int fd, char *buf)
{
	struct timeval tv = { .tv_sec = HTTP_HEAD_TIMEOUT_S };
	char body[HTTP_HEAD_MAX + 512], esc[HTTP_HEAD_MAX / 2];
	char *method, *path;
	ssize_t len;
	int is_head;

	/* A slow or silent client must not hold a thread for ever. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	len = http_read_head(fd, buf);
	if (len == 0) {
		close(fd);
		return;
	}
	if (len < 0) {
		http_respond(fd, 431, "Request Header Fields Too Large",
		    "<p>Request head too large</p>\n", 1);
	} else if (http_parse_line(buf, &method, &path) == -1) {
		http_respond(fd, 400, "Bad Request", "<p>Bad request</p>\n", 1);
	} else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		http_respond(fd, 405, "Method Not Allowed",
		    "<p>Only GET and HEAD</p>\n", 1);
	} else {
		is_head = strcmp(method, "HEAD") == 0;
		html_escape(esc, sizeof(esc), path);
		snprintf(body, sizeof(body),
		    "<!DOCTYPE html>\n<html><head><title>Stand-in practice "
		    "system</title></head>\n<body><h1>Stand-in practice "
		    "system</h1>\n<p>Path: %s</p></body></html>\n", esc);
		http_respond(fd, 200, "OK", body, !is_head);
	}
	linger_close(fd, buf, IO_BUF);
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	char *buf;

	/* +1: the HTTP head reader NUL-terminates after HTTP_HEAD_MAX. */
	if ((buf = malloc(IO_BUF + 1)) == NULL) {
		close(c->fd);
		goto out;
	}
	switch (c->opt->mode) {
	case MODE_ECHO:
		serve_echo(c->fd, buf);
		break;
	case MODE_HTTP:
		serve_http(c->fd, buf);
		break;
	case MODE_DISCARD:
		serve_discard(c->fd, buf);
		break;
	case MODE_SOURCE:
		serve_source(c->fd, buf, c->opt->bytes);
		break;
	case MODE_STALL:	/* never accepts, so never serves */
		close(c->fd);
		break;
	}
	free(buf);
 out:
	free(c);
	atomic_fetch_sub(&live_conns, 1);
	return NULL;
}

static void
conn_start(int fd, const struct options *opt, const pthread_attr_t *attr)
{
	struct conn *c;
	pthread_t tid;
	int one = 1;

	if (atomic_fetch_add(&live_conns, 1) >= BACKEND_CONNS_MAX) {
		bwarn("%d connections live: refusing one", BACKEND_CONNS_MAX);
		goto fail;
	}
	/* Small writes (echo, RTT probes) must leave at once. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c = malloc(sizeof(*c))) == NULL)
		goto fail;
	c->fd = fd;
	c->opt = opt;
	if ((errno = pthread_create(&tid, attr, conn_main, c)) != 0) {
		bwarn("pthread_create: %s", strerror(errno));
		free(c);
		goto fail;
	}
	return;
 fail:
	atomic_fetch_sub(&live_conns, 1);
	close(fd);
}

/* Splits "host:port" or "[v6]:port" and resolves it numerically. */
static int
parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct addrinfo hints, *res;
	char host[ADDR_MAX];
	const char *colon, *port;
	size_t hl;
	int rc;

	if ((colon = strrchr(spec, ':')) == NULL)
		return -1;
	port = colon + 1;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host) || *port == '\0')
		return -1;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		bwarn("%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int
listen_open(const char *spec, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char host[ADDR_MAX], port[16];
	int fd, one = 1;

	if (parse_listen(spec, &ss, &sslen) == -1) {
		bwarn("bad --listen address: %s", spec);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		bwarn("socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, backlog) == -1) {
		bwarn("%s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof(host),
	    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
		printf(ss.ss_family == AF_INET6 ? "listening [%s]:%s\n" :
		    "listening %s:%s\n", host, port);
		fflush(stdout);
	}
	return fd;
}

/* Written to a temporary name and renamed, so a reader never sees half. */
static int
pidfile_write(const char *path)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void
on_signal(int sig)
{
	quit = sig;
}

/*
 * Termination signals stay blocked except inside ppoll(), so the accept
 * loop sees them at one point only and connection threads never do.
 */
static void
signals_setup(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
}

static void
accept_loop(int lfd, const struct options *opt, const sigset_t *waitmask)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	struct timespec pause = { 0, ACCEPT_PAUSE_MS * 1000000L };
	pthread_attr_t attr;
	int fd;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, BACKEND_STACK);
	while (!quit) {
		if (ppoll(&pfd, 1, NULL, waitmask) == -1)
			continue;	/* EINTR: the loop test sees quit */
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_start(fd, opt, &attr);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			bwarn("accept: %s: pausing", strerror(errno));
			ppoll(NULL, 0, &pause, waitmask);
		}
	}
	pthread_attr_destroy(&attr);
}

/* Parses N with an optional k/m/g (binary) suffix, range-checked. */
static int
parse_bytes(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'k': shift = 10; end++; break;
	case 'm': shift = 20; end++; break;
	case 'g': shift = 30; end++; break;
	default: return -1;
	}
	if (*end != '\0' || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int
parse_mode(const char *s, enum mode *m)
{
	static const struct {
		const char *name;
		enum mode mode;
	} modes[] = {
		{ "discard", MODE_DISCARD },
		{ "echo", MODE_ECHO },
		{ "http", MODE_HTTP },
		{ "source", MODE_SOURCE },
		{ "stall", MODE_STALL },
	};
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(s, modes[i].name) == 0) {
			*m = modes[i].mode;
			return 0;
		}
	}
	return -1;
}

static void
parse_args(int argc, char **argv, struct options *opt)
{
	const char *arg, *val;
	int i, has_mode = 0;

	opt->bytes = 1 << 20;
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			usage(stdout);
		if (i + 1 >= argc) {
			bwarn("%s: missing value or unknown option", arg);
			usage(stderr);
		}
		val = argv[++i];
		if (strcmp(arg, "--listen") == 0)
			opt->listen = val;
		else if (strcmp(arg, "--pidfile") == 0)
			opt->pidfile = val;
		else if (strcmp(arg, "--mode") == 0) {
			if (parse_mode(val, &opt->mode) == -1) {
				bwarn("unknown mode: %s", val);
				usage(stderr);
			}
			has_mode = 1;
		} else if (strcmp(arg, "--bytes") == 0) {
			if (parse_bytes(val, &opt->bytes) == -1) {
				bwarn("bad --bytes: %s", val);
				usage(stderr);
			}
		} else {
			bwarn("unknown option: %s", arg);
			usage(stderr);
		}
	}
	if (opt->listen == NULL || !has_mode) {
		bwarn("--listen and --mode are required");
		usage(stderr);
	}
}

int
main(int argc, char **argv)
{
	struct options opt;
	sigset_t waitmask;
	int lfd;

	memset(&opt, 0, sizeof(opt));
	parse_args(argc, argv, &opt);
	signals_setup(&waitmask);
	/* stall: a queue of one that is never accepted, so later SYNs are
	 * dropped and a client's connect hangs (connect-timeout tests). */
	if ((lfd = listen_open(opt.listen, opt.mode == MODE_STALL ? 0 :
	    BACKEND_BACKLOG)) == -1)
		return 1;
	if (opt.pidfile != NULL && pidfile_write(opt.pidfile) == -1) {
		bwarn("%s: %s", opt.pidfile, strerror(errno));
		return 1;
	}
	if (opt.mode == MODE_STALL)
		while (!quit)
			sigsuspend(&waitmask);
	else
		accept_loop(lfd, &opt, &waitmask);
	close(lfd);
	if (opt.pidfile != NULL)
		unlink(opt.pidfile);
	return 0;
}
