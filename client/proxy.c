/*
 * mwg proxy: a local HTTP proxy on 127.0.0.1 for the browser, so web
 * systems open by their real names (https://emis.k84001.example.nhs.uk/)
 * and the browser checks each system's own certificate end to end. The
 * proxy serves a PAC file that sends only the policy's web host names
 * here (everything else goes direct), and turns each CONNECT for one of
 * them into a CONNECT tunnel through the gateway to that target, with the
 * session certificate; mwg never sees inside the TLS between the browser
 * and the system. The tunnel engine is mwg connect's (client/tunnel.h):
 * this OS user only, cuts explained.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "client/tunnel.h"
#include "common/addr.h"
#include "common/fdio.h"
#include "common/xmalloc.h"

#define VERB		"proxy"
#define HEAD_MAX	8192	/* a browser's request head, bytes */
#define HEAD_TIMEOUT	10	/* seconds to send it */
#define URL_MAX		512
#define PAC_PATH	"/proxy.pac"
#define BACKLOG		64

static const char proxy_usage[] =
    "usage: mwg proxy [--listen ADDR:PORT] [--dir DIR]\n";

static const char proxy_help[] =
"NAME\n"
"     mwg proxy - open web practice systems by their real names\n"
"\n"
"SYNOPSIS\n"
"     mwg proxy [--listen ADDR:PORT] [--dir DIR]\n"
"\n"
"DESCRIPTION\n"
"     Runs a small HTTP proxy on this device for the browser. Set the\n"
"     browser's automatic proxy configuration URL (PAC) to\n"
"     http://ADDR:PORT/proxy.pac once (IT can set it for you). The PAC\n"
"     file sends only the web systems you may reach (as mwg list shows\n"
"     them, kind web) to mwg; everything else goes direct, as before.\n"
"\n"
"     Open a system by its real name, e.g. https://emis.k84001.example.\n"
"     nhs.uk/ (or mwg open emis.K84001): the browser asks the proxy to\n"
"     CONNECT to that name, mwg opens a tunnel through the gateway to\n"
"     that system (a separate decision each time, recorded in the audit\n"
"     trail) and the browser checks the system's own certificate, end to\n"
"     end: mwg never sees inside. A name not in the PAC file is refused.\n"
"     Break-glass systems are not served here (use mwg open\n"
"     --break-glass).\n"
"\n"
"     The list is asked from the gateway at the start and again whenever\n"
"     the browser fetches the PAC file or asks for a name not on it (after\n"
"     a new mwg login, say). Only this OS user's programs may use the\n"
"     proxy. A refusal or a cut is printed with the gateway's reason, as\n"
"     mwg connect prints it; the browser shows a failed connection.\n"
"\n"
"     --listen ADDR:PORT\n"
"             A loopback address and port (default " CLIENT_PROXY_DEFAULT
")\n"
"             written to DIR/proxy, where mwg open finds it.\n"
"     --dir DIR\n"
"             State directory (default $MWG_DIR, else ~/.config/mwg).\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     1 if it cannot start (not logged in, the address is in use); 2 bad\n"
"     usage. Otherwise it runs until stopped (Ctrl-C).\n"
"\n"
"EXAMPLES\n"
"     mwg proxy &\n"
"     chromium --proxy-pac-url=http://127.0.0.1:7411/proxy.pac\n";

struct proxy_host {
	char			 host[CLIENT_HOST_MAX];
	struct client_target	 t;
};

/* The web systems served: replaced whole when asked again. */
static struct {
	pthread_mutex_t		 lock;
	struct proxy_host	*v;
	size_t			 n;
	char			 addr[64];	/* where we listen */
	const struct client_state *st;	/* where the list is kept */
} proxy = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The web hosts of l (not break-glass ones) become the served list. */
static void
proxy_take(const struct client_reach_list *l)
{
	struct proxy_host *v = xcalloc(l->n + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct client_reach *r = &l->v[i];

		if (strcmp(r->kind, "web") != 0 || r->host[0] == '\0' ||
		    r->is_break_glass)
			continue;
		snprintf(v[n].host, sizeof(v[n].host), "%s", r->host);
		v[n++].t = r->t;
	}
	pthread_mutex_lock(&proxy.lock);
	free(proxy.v);
	proxy.v = v;
	proxy.n = n;
	pthread_mutex_unlock(&proxy.lock);
}

/*
 * Asks the gateway again (and keeps the answer for a start with no
 * session); 0, or -1 (said) keeping the old list. No session: nothing to
 * ask with, the old list stays.
 */
static int
proxy_refresh(struct client_tls *sess)
{
	struct client_reach_list l;
	char err[CLIENT_ERR_MAX];

	if (sess == NULL)
		return -1;
	if (client_reach_fetch_keep(sess, proxy.st, &l, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "mwg: %s: cannot learn what you may reach: "
		    "%s\n", VERB, err);
		return -1;
	}
	proxy_take(&l);
	client_reach_free(&l);
	return 0;
}

/* The target served for host:port; 1 found, 0 not, -1 wrong port. */
static int
proxy_lookup(const char *host, int port, struct client_target *t)
{
	int rc = 0;

	pthread_mutex_lock(&proxy.lock);
	for (size_t i = 0; i < proxy.n && rc == 0; i++)
		if (strcmp(proxy.v[i].host, host) == 0) {
			rc = proxy.v[i].t.port == port ? 1 : -1;
			*t = proxy.v[i].t;
		}
	pthread_mutex_unlock(&proxy.lock);
	return rc;
}

/* The PAC file (JavaScript); the hosts are [a-z0-9.-] only. Caller frees. */
static char *
proxy_pac(size_t *lenp)
{
	size_t cap = 512, len;
	char *buf;

	pthread_mutex_lock(&proxy.lock);
	cap += proxy.n * (CLIENT_HOST_MAX + 32);
	buf = xmalloc(cap);
	len = (size_t)snprintf(buf, cap, "// mwg proxy: these practice "
	    "systems go through the gateway, all else direct.\n"
	    "function FindProxyForURL(url, host) {\n"
	    "\thost = host.toLowerCase();\n");
	for (size_t i = 0; i < proxy.n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "\tif (host == "
		    "\"%s\")\n\t\treturn \"PROXY %s\";\n", proxy.v[i].host,
		    proxy.addr);
	len += (size_t)snprintf(buf + len, cap - len, "\treturn \"DIRECT\";\n"
	    "}\n");
	pthread_mutex_unlock(&proxy.lock);
	*lenp = len;
	return buf;
}

/* ---- the browser's request ------------------------------------------- */

struct proxy_req {
	char	url[URL_MAX];
	size_t	url_len;
	int	is_too_long;
	int	is_done;
};

static int
proxy_on_url(http_parser *p, const char *at, size_t len)
{
	struct proxy_req *r = p->data;

	if (r->url_len + len >= sizeof(r->url)) {
		r->is_too_long = 1;
		return 1;
	}
	memcpy(r->url + r->url_len, at, len);
	r->url_len += len;
	r->url[r->url_len] = '\0';
	return 0;
}

static int
proxy_on_head(http_parser *p)
{
	((struct proxy_req *)p->data)->is_done = 1;
	return 1;	/* a CONNECT has no body; a GET here needs none */
}

static const http_parser_settings proxy_settings = {
	.on_url = proxy_on_url,
	.on_headers_complete = proxy_on_head,
};

/* A whole answer with a text body, then the connection is done. */
static void
proxy_answer(int fd, int status, const char *type, const char *body,
    size_t len)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "%s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n", status, status == 200 ? "OK" :
	    status == 403 ? "Forbidden" : status == 404 ? "Not Found" :
	    status == 405 ? "Method Not Allowed" : status == 504 ?
	    "Gateway Timeout" : status == 400 ? "Bad Request" : "Bad Gateway",
	    type, len);
	(void)fd_write_all(fd, head, (size_t)n);
	(void)fd_write_all(fd, body, len);
}

static void
proxy_refuse(int fd, int status, const char *why)
{
	char body[CLIENT_ERR_MAX + 2];
	int n = snprintf(body, sizeof(body), "%s\n", why);

	proxy_answer(fd, status, "text/plain", body, (size_t)n);
}

/*
 * Reads the request head one byte at a time (nothing past it is taken
 * from the browser) into r, all of it within HEAD_TIMEOUT seconds. The
 * method (HTTP_CONNECT, HTTP_GET), -2 another, -1 not a request in time.
 */
static int
proxy_read_head(int fd, struct proxy_req *r)
{
	struct timeval tv = { .tv_sec = HEAD_TIMEOUT };
	time_t deadline = time(NULL) + HEAD_TIMEOUT;
	http_parser p;
	size_t total = 0;
	char c;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	http_parser_init(&p, HTTP_REQUEST);
	p.data = r;
	while (!r->is_done && total++ < HEAD_MAX) {
		ssize_t n;

		if (time(NULL) > deadline)
			return -1;
		n = read(fd, &c, 1);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (http_parser_execute(&p, &proxy_settings, &c, 1) != 1 &&
		    !r->is_done)
			return -1;
	}
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!r->is_done || r->is_too_long)
		return -1;
	return p.method == HTTP_CONNECT ? HTTP_CONNECT : p.method == HTTP_GET ?
	    HTTP_GET : -2;
}

/* "host:port" of a CONNECT: host lower-cased. 0 or -1. */
static int
proxy_authority(const char *url, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(url, ':');
	char *end;
	long v;

	if (colon == NULL || colon == url || (size_t)(colon - url) >= hostlen)
		return -1;
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || v < 1 ||
	    v > 65535)
		return -1;
	for (size_t i = 0; i < (size_t)(colon - url); i++)
		host[i] = (char)(url[i] >= 'A' && url[i] <= 'Z' ? url[i] + 32 :
		    url[i]);
	host[colon - url] = '\0';
	*port = (int)v;
	return 0;
}

static int
proxy_connect(int fd, struct client_tls *sess, const char *url,
    struct client_target *t)
{
	char host[CLIENT_HOST_MAX], why[CLIENT_ERR_MAX];
	int port, rc;

	if (proxy_authority(url, host, sizeof(host), &port) == -1) {
		proxy_refuse(fd, 400, "CONNECT needs host:port");
		return -1;
	}
	if ((rc = proxy_lookup(host, port, t)) == 0 &&
	    proxy_refresh(sess) == 0)
		rc = proxy_lookup(host, port, t);
	if (rc == 1)
		return 1;
	client_text_clean(host);
	if (rc == 0)
		snprintf(why, sizeof(why), "%s is not a practice system you "
		    "may reach through mwg (mwg list shows them)", host);
	else
		snprintf(why, sizeof(why), "%s is served on port %d, not %d",
		    host, t->port, port);
	fprintf(stderr, "mwg: %s: refused CONNECT %s:%d: %s\n", VERB, host,
	    port, why);
	proxy_refuse(fd, 403, why);
	return -1;
}

/* The engine's pick hook: what the browser asks for on fd. */
static int
proxy_pick_cb(int fd, struct client_tls *sess, struct client_target *t,
    void *arg)
{
	struct proxy_req r = { .url_len = 0 };
	size_t len;
	char *pac;
	int m;

	(void)arg;
	if ((m = proxy_read_head(fd, &r)) == -1)
		return 0;	/* gone, slow or not HTTP: nothing to say */
	if (m == HTTP_CONNECT)
		return proxy_connect(fd, sess, r.url, t);
	if (m == HTTP_GET && (strcmp(r.url, PAC_PATH) == 0 ||
	    strcmp(r.url, "/wpad.dat") == 0)) {
		proxy_refresh(sess);
		pac = proxy_pac(&len);
		proxy_answer(fd, 200, "application/x-ns-proxy-autoconfig", pac,
		    len);
		free(pac);
		return 0;
	}
	proxy_refuse(fd, 405, "mwg proxy only carries HTTPS (CONNECT) to "
	    "practice systems, and serves " PAC_PATH);
	return -1;
}

/* The gateway's answer to the tunnel, in HTTP, to the browser. */
static void
proxy_answered_cb(int fd, int status, const char *reason, void *arg)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

	(void)arg;
	if (status == 200)
		(void)fd_write_all(fd, ok, sizeof(ok) - 1);
	else
		proxy_refuse(fd, status == 403 || status == 404 ||
		    status == 504 ? status : 502, reason ? reason : "refused");
}

/* ---- start ---------------------------------------------------------- */

static int
proxy_options(int argc, char **argv, const char **listen_arg,
    const char **dir)
{
	static const struct option longopts[] = {
		{ "listen",	required_argument,	NULL, 'l' },
		{ "dir",	required_argument,	NULL, 'd' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			*listen_arg = optarg;
			break;
		case 'd':
			*dir = optarg;
			break;
		case 'h':
			fputs(proxy_help, stdout);
			return -1;
		default:
			return client_bad_option(VERB, proxy_usage, ch, argv);
		}
	}
	return client_args_left(VERB, proxy_usage, argc, argv);
}

/* A loopback listener only: the proxy acts with the person's session.
 * The socket, -1 (said), or -2 after a usage error. */
static int
proxy_listen(const char *arg)
{
	struct sockaddr_storage ss;
	char err[CLIENT_ERR_MAX];
	socklen_t len;
	int fd, one = 1;

	if (client_parse_listen(arg, &ss, &len, err, sizeof(err)) == -1) {
		client_usage(VERB, proxy_usage, "%s", err);
		return -2;
	}
	if (!client_is_loopback((struct sockaddr *)&ss)) {
		client_usage(VERB, proxy_usage, "%s is not a loopback address: "
		    "anyone who reaches it would use your session", arg);
		return -2;
	}
	addr_format((struct sockaddr *)&ss, proxy.addr, sizeof(proxy.addr));
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, BACKLOG) == -1) {
		client_fail(VERB, "cannot listen on %s: %s", proxy.addr,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * The first list: from the gateway with a session, else the one kept by
 * the last mwg list, open or proxy (so the browser's PAC file works
 * before the login). 0, or -1 if neither can be had (said).
 */
static int
proxy_start_list(struct client_tunnels *ts, time_t *until)
{
	struct client_reach_list l;
	char err[CLIENT_ERR_MAX];
	struct client_tls *sess;

	*until = 0;
	if ((sess = client_tunnels_session(ts, until)) != NULL)
		return proxy_refresh(sess);
	if (client_reach_load_kept(proxy.st, &l, err, sizeof(err)) == -1) {
		client_warn(VERB, "no list of systems kept yet (%s): the PAC "
		    "file lists none until mwg login", err);
		return 0;
	}
	proxy_take(&l);
	client_reach_free(&l);
	return 0;
}

int
client_proxy_running(const struct client_device *dev, char *addr,
    size_t addrlen)
{
	struct sockaddr_storage ss;
	char err[CLIENT_ERR_MAX], *text;
	socklen_t len;
	int fd, rc;

	if ((text = client_state_read(&dev->st, CLIENT_PROXY_FILE, NULL, err,
	    sizeof(err))) == NULL)
		return 0;
	text[strcspn(text, "\n")] = '\0';
	snprintf(addr, addrlen, "%s", text);
	rc = client_parse_listen(text, &ss, &len, err, sizeof(err));
	free(text);
	if (rc == -1 || !client_is_loopback((struct sockaddr *)&ss) ||
	    (fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	rc = connect(fd, (struct sockaddr *)&ss, len) == 0;
	close(fd);
	return rc;
}

int
client_proxy(int argc, char **argv)
{
	static const struct client_tunnel_hooks hooks = {
		.pick = proxy_pick_cb,
		.answered = proxy_answered_cb,
	};
	const char *listen_arg = CLIENT_PROXY_DEFAULT, *dir = NULL;
	struct client_tunnels *ts;
	char err[CLIENT_ERR_MAX], line[80], when[64];
	time_t until;
	int rc, lfd;

	if ((rc = proxy_options(argc, argv, &listen_arg, &dir)) != 0)
		return rc == -1 ? CLIENT_EXIT_OK : rc;
	if ((ts = client_tunnels_prepare(VERB, dir, NULL, NULL, 0,
	    &hooks)) == NULL)
		return CLIENT_EXIT_FAIL;
	if ((lfd = proxy_listen(listen_arg)) < 0)
		return lfd == -2 ? CLIENT_EXIT_USAGE : CLIENT_EXIT_FAIL;
	proxy.st = &client_tunnels_device(ts)->st;
	if (proxy_start_list(ts, &until) == -1)
		return CLIENT_EXIT_FAIL;
	snprintf(line, sizeof(line), "%s\n", proxy.addr);
	if (client_state_write(&client_tunnels_device(ts)->st,
	    CLIENT_PROXY_FILE, line, strlen(line), 0644, err,
	    sizeof(err)) == -1)
		client_warn(VERB, "%s (mwg open will not find the proxy)", err);
	if (until != 0)
		client_format_time(until, when, sizeof(when));
	printf("mwg: proxy: %zu web system%s through %s; browser proxy "
	    "configuration URL http://%s" PAC_PATH "; %s%s; stop with "
	    "Ctrl-C\n", proxy.n, proxy.n == 1 ? "" : "s",
	    client_tunnels_device(ts)->gw_text, proxy.addr, until != 0 ?
	    "session until " : "not logged in yet", until != 0 ? when : "");
	fflush(stdout);
	return client_tunnels_serve(ts, lfd);
}
