/*
 * mwg-console: the cyber team's console, served over HTTPS on a
 * management listener (default 127.0.0.1:8443). Options, TLS, the HTTP
 * server and the router: which path needs a session, which role and,
 * for every change, the session's CSRF token.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "console/console.h"
#include "console/pages.h"

#define HTTP_HEADERS_MAX	8192
#define HTTP_BODY_MAX		16384
#define HTTP_TIMEOUT_S		30
#define CONSOLE_CONNS_MAX	128	/* connections open at once */
#define HTTP_WAIT_S		20	/* for a whole request: from the accept
					 * or the last answer to the handler */
#define CONSOLE_LISTEN_DEFAULT	"127.0.0.1:8443"

struct console_conf console_conf = {
	.listen = CONSOLE_LISTEN_DEFAULT,
	.control = "/run/mwg/control.sock",
	.audit = "/var/log/mwg/audit.jsonl",
	.cyber_group = "mwg-cyber",
	.it_group = "mwg-it",
	.idle_s = CONSOLE_IDLE_S,
};
struct event_base *console_base;

static const char usage_text[] =
"usage: mwg-console --cert PEM --key PEM [--listen ADDR:PORT]\n"
"                   [--control SOCKET] [--audit FILE] [--audit-key PUB]\n"
"                   [--cyber-group G] [--it-group G] [--idle SECONDS] [-d]\n"
"\n"
"The cyber team's web console: live tunnels (IT may kill them), audit\n"
"search, exports (the same bytes as mwgctl audit export), devices and\n"
"locks (IT may add and remove them). People log in with their directory\n"
"password and TOTP code, checked by mwgd.\n"
"\n"
"    --listen ADDR:PORT  the management listener (default "
CONSOLE_LISTEN_DEFAULT ");\n"
"                        bind it to a management network, never to the\n"
"                        network staff devices use\n"
"    --cert, --key       the listener's TLS certificate and key (PEM)\n"
"    --control SOCKET    mwgd's control socket (default /run/mwg/control.sock);\n"
"                        the console's user must be in its group\n"
"    --audit FILE        the live audit file; its rotated files FILE.* are\n"
"                        read too (default /var/log/mwg/audit.jsonl)\n"
"    --audit-key PUB     the audit key's public half, for the chain status\n"
"                        (default audit.key.pub beside FILE)\n"
"    --cyber-group G     directory group of the cyber team: read, search,\n"
"                        export (default mwg-cyber)\n"
"    --it-group G        directory group of IT: also kill, lock, unlock\n"
"                        (default mwg-it)\n"
"    --idle SECONDS      a session ends after this long unused: 10 to 900\n"
"                        (default 900, 15 minutes); 8 hours at most in any case\n"
"    -d                  stay in the foreground and log to stderr\n";

/* ---- the router --------------------------------------------------------- */

struct route {
	const char *path;
	int method;		/* EVHTTP_REQ_GET or _POST */
	enum console_role need;	/* ROLE_NONE: no session needed */
	int id;
};

enum { R_LOGIN_PAGE, R_LOGIN, R_LOGOUT, R_TUNNELS, R_KILL, R_AUDIT,
    R_EXPORTS, R_EXPORT, R_DEVICES, R_LOCKS, R_LOCK_ADD, R_LOCK_REMOVE,
    R_CSS, R_ROOT };

static const struct route routes[] = {
	{ "/", EVHTTP_REQ_GET, ROLE_NONE, R_ROOT },
	{ "/audit", EVHTTP_REQ_GET, ROLE_CYBER, R_AUDIT },
	{ "/devices", EVHTTP_REQ_GET, ROLE_CYBER, R_DEVICES },
	{ "/export", EVHTTP_REQ_GET, ROLE_CYBER, R_EXPORT },
	{ "/exports", EVHTTP_REQ_GET, ROLE_CYBER, R_EXPORTS },
	{ "/locks", EVHTTP_REQ_GET, ROLE_CYBER, R_LOCKS },
	{ "/locks/add", EVHTTP_REQ_POST, ROLE_IT, R_LOCK_ADD },
	{ "/locks/remove", EVHTTP_REQ_POST, ROLE_IT, R_LOCK_REMOVE },
	{ "/login", EVHTTP_REQ_GET, ROLE_NONE, R_LOGIN_PAGE },
	{ "/login", EVHTTP_REQ_POST, ROLE_NONE, R_LOGIN },
	{ "/logout", EVHTTP_REQ_POST, ROLE_CYBER, R_LOGOUT },
	{ "/static/console.css", EVHTTP_REQ_GET, ROLE_NONE, R_CSS },
	{ "/tunnels", EVHTTP_REQ_GET, ROLE_CYBER, R_TUNNELS },
	{ "/tunnels/kill", EVHTTP_REQ_POST, ROLE_IT, R_KILL },
};

static const char css[] =
"body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1b1b1b}"
"header{display:flex;flex-wrap:wrap;gap:1em;align-items:center;"
"background:#12355b;color:#fff;padding:.5em 1em}header a{color:#fff}"
"nav a{margin-right:.8em}.who{margin-left:auto}main{padding:1em}"
"table{border-collapse:collapse;width:100%;font-size:13px}"
"th,td{border:1px solid #ccc;padding:.25em .4em;text-align:left;"
"vertical-align:top;white-space:nowrap}th{background:#eef2f7}"
"tr.fields td{white-space:normal;border-top:0;padding-left:2em}"
"main{overflow-x:auto}dd{overflow-wrap:anywhere}"
".fields label,.login label{display:inline-block;margin:.2em .6em .2em 0}"
".login label{display:block}.error{color:#a40000;font-weight:bold}"
".ok{color:#0a6b0a}.inline{display:flex;gap:.3em}.danger{color:#a40000}"
"dl{margin:0;display:grid;grid-template-columns:max-content "
"minmax(10em,1fr);"
"gap:0 .6em}dt{font-weight:bold}dd{margin:0}"
"@media (max-width:800px){table{font-size:12px}}\n";

static void
send_css(struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, css, sizeof(css) - 1);
	http_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/css; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static const struct route *
route_find(struct evhttp_request *req, int *path_known)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(
	    req));
	int method = evhttp_request_get_command(req);

	*path_known = 0;
	for (size_t i = 0; path && i < sizeof(routes) / sizeof(routes[0]);
	    i++)
		if (strcmp(path, routes[i].path) == 0) {
			*path_known = 1;
			if (routes[i].method == method)
				return &routes[i];
		}
	return NULL;
}

/* A change: the form's CSRF token must be the session's. */
static int
csrf_checked(struct evhttp_request *req, struct console_session *s,
    struct evkeyvalq *form)
{
	if (http_form(req, form) == -1 ||
	    !session_csrf_ok(s, evhttp_find_header(form, "csrf"))) {
		evhttp_clear_headers(form);
		log_info("console: %s: a change without the right CSRF token "
		    "refused", s->user);
		http_refuse(req, 403, "this form has expired or did not come "
		    "from the console; reload the page", s);
		return -1;
	}
	return 0;
}

static void
route_post(struct evhttp_request *req, const struct route *r,
    struct console_session *s)
{
	struct evkeyvalq form;

	if (csrf_checked(req, s, &form) == -1)
		return;
	if (r->id == R_LOGOUT)
		action_logout(req, s);
	else if (r->id == R_KILL)
		action_kill(req, s, &form);
	else
		action_lock(req, s, &form, r->id == R_LOCK_ADD);
	evhttp_clear_headers(&form);
}

static void
route_get(struct evhttp_request *req, const struct route *r,
    struct console_session *s)
{
	switch (r->id) {
	case R_TUNNELS: page_tunnels(req, s); break;
	case R_AUDIT: page_audit(req, s); break;
	case R_EXPORTS: page_exports(req, s); break;
	case R_EXPORT: page_export(req, s); break;
	case R_DEVICES: page_devices(req, s); break;
	case R_LOCKS: page_locks(req, s); break;
	}
}

static void
route_session(struct evhttp_request *req, const struct route *r,
    struct console_session *s)
{
	if (r->need == ROLE_IT && s->role != ROLE_IT) {
		log_info("console: %s (%s) asked for %s; refused", s->user,
		    role_name(s->role), r->path);
		return http_refuse(req, 403, "this needs the IT role", s);
	}
	if (r->method == EVHTTP_REQ_POST)
		route_post(req, r, s);
	else
		route_get(req, r, s);
}

void
pages_route(struct evhttp_request *req, void *arg)
{
	struct console_session *s;
	const struct route *r;
	int known;

	(void)arg;
	if ((r = route_find(req, &known)) == NULL) {
		http_refuse(req, known ? 405 : 404, known ? "method not "
		    "allowed" : "no such page", NULL);
		return;
	}
	s = session_find(req);
	if (r->id == R_CSS)
		send_css(req);
	else if (r->id == R_ROOT)
		http_redirect(req, s ? "/tunnels" : "/login");
	else if (r->id == R_LOGIN_PAGE)
		page_login(req, NULL, 200);
	else if (r->id == R_LOGIN)
		action_login(req);
	else if (s == NULL)
		http_refuse(req, 401, "your session has ended or you are not "
		    "logged in", NULL);
	else
		route_session(req, r, s);
}

/* ---- TLS and the server ------------------------------------------------- */

static SSL_CTX *
tls_context(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, console_conf.cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, console_conf.key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		fatalx("TLS: cannot use %s and %s: %s", console_conf.cert,
		    console_conf.key, ERR_reason_error_string(ERR_get_error()));
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
	return ctx;
}

/*
 * The cap on open connections and the wait for a request. evhttp
 * (libevent 2.1) has no cap, times out each read rather than the whole
 * request (a header trickled a byte at a time would hold a connection
 * for ever) and hands no connection to us; so each one is followed by
 * its SSL object: made in tls_bev_cb, freed with the connection (an
 * ex_data free callback). At the cap, evhttp's listener is paused and a
 * second listener on the same socket accepts and closes at once, so a
 * flood is turned away, not queued; below it again, evhttp accepts.
 */
struct conn {
	struct bufferevent *bev;
	struct event *wait;	/* HTTP_WAIT_S for the next whole request */
};

static int conn_open;
static int conn_ex = -1;
static int conn_refusing;
static struct evconnlistener *conn_http;	/* evhttp's; NULL: stopping */
static struct evconnlistener *conn_refuse;

static void
conn_refuse_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	(void)l; (void)sa; (void)len; (void)arg;
	evutil_closesocket(fd);
}

static void
conn_limit(void)
{
	if (conn_http == NULL)
		return;
	if (conn_open >= CONSOLE_CONNS_MAX && !conn_refusing) {
		evconnlistener_disable(conn_http);
		evconnlistener_enable(conn_refuse);
		conn_refusing = 1;
		log_warnx("console: %d connections open; closing new ones "
		    "until one ends", conn_open);
	} else if (conn_open < CONSOLE_CONNS_MAX && conn_refusing) {
		evconnlistener_disable(conn_refuse);
		evconnlistener_enable(conn_http);
		conn_refusing = 0;
		log_info("console: accepting connections again");
	}
}

static void
conn_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	struct conn *c = ptr;

	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	if (c == NULL)
		return;
	event_free(c->wait);
	free(c);
	conn_open--;
	conn_limit();
}

/* No whole request in time: closed as evhttp closes on a read timeout
 * (its own error callback, run from the loop). */
static void
conn_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd; (void)what;
	log_debug("%s: no whole request in %d s; closing", __func__,
	    HTTP_WAIT_S);
	bufferevent_trigger_event(c->bev, BEV_EVENT_READING |
	    BEV_EVENT_TIMEOUT, BEV_TRIG_DEFER_CALLBACKS);
}

static void
conn_wait(struct conn *c)
{
	struct timeval tv = { HTTP_WAIT_S, 0 };

	evtimer_add(c->wait, &tv);
}

static struct conn *
conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl;

	if (evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return NULL;
	return SSL_get_ex_data(ssl, conn_ex);
}

/* The answer is sent: the wait for the next request begins. */
static void
conn_done_cb(struct evhttp_request *req, void *arg)
{
	struct conn *c = conn_of(req);

	(void)arg;
	if (c != NULL)
		conn_wait(c);
}

/* A whole request came: no deadline while it is handled and answered. */
static void
conn_request_cb(struct evhttp_request *req, void *arg)
{
	struct conn *c = conn_of(req);

	if (c != NULL) {
		evtimer_del(c->wait);
		evhttp_request_set_on_complete_cb(req, conn_done_cb, NULL);
	}
	pages_route(req, arg);
}

static struct bufferevent *
tls_bev_cb(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(arg);
	struct bufferevent *bev;
	struct conn *c;

	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->bev = bev;
	if ((c->wait = evtimer_new(base, conn_wait_cb, c)) == NULL ||
	    SSL_set_ex_data(ssl, conn_ex, c) != 1)
		fatalx("cannot follow a connection");
	conn_wait(c);
	conn_open++;
	conn_limit();
	return bev;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("console: signal %d; stopping", (int)sig);
	event_base_loopbreak(arg);
}

/* "ADDR:PORT" or "[ADDR]:PORT" into host (a copy) and port. */
static int
listen_split(const char *s, char *host, size_t len, ev_uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	const char *h = s;
	size_t hl;
	char *end;
	long p;

	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - s);
	if (s[0] == '[' && hl >= 2 && colon[-1] == ']') {
		h++;
		hl -= 2;
	}
	p = strtol(colon + 1, &end, 10);
	if (hl == 0 || hl >= len || *end != '\0' || p < 1 || p > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (ev_uint16_t)p;
	return 0;
}

/* --idle: whole seconds, CONSOLE_IDLE_MIN..CONSOLE_IDLE_S. */
static int
idle_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s < '0' || *s > '9' || *end != '\0' || v < CONSOLE_IDLE_MIN ||
	    v > CONSOLE_IDLE_S) {
		fprintf(stderr, "mwg-console: --idle: expected %d to %d seconds, "
		    "got '%s'\n", CONSOLE_IDLE_MIN, CONSOLE_IDLE_S, s);
		return -1;
	}
	console_conf.idle_s = v;
	return 0;
}

static int
parse_options(int argc, char **argv, int *debug)
{
	static const struct option opts[] = {
		{ "audit", required_argument, NULL, 'a' },
		{ "audit-key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "control", required_argument, NULL, 's' },
		{ "cyber-group", required_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ "idle", required_argument, NULL, 'I' },
		{ "it-group", required_argument, NULL, 'i' },
		{ "key", required_argument, NULL, 'K' },
		{ "listen", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "dh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': console_conf.audit = optarg; break;
		case 'k': console_conf.audit_key = optarg; break;
		case 'c': console_conf.cert = optarg; break;
		case 's': console_conf.control = optarg; break;
		case 'y': console_conf.cyber_group = optarg; break;
		case 'i': console_conf.it_group = optarg; break;
		case 'K': console_conf.key = optarg; break;
		case 'l': console_conf.listen = optarg; break;
		case 'I':
			if (idle_arg(optarg) == -1)
				return -1;
			break;
		case 'd': *debug = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: fputs(usage_text, stderr); return -1;
		}
	}
	if (optind != argc || console_conf.cert == NULL ||
	    console_conf.key == NULL) {
		fputs(usage_text, stderr);
		return -1;
	}
	return 0;
}

/* audit.key.pub beside the audit file, unless --audit-key said. */
static void
default_key(void)
{
	static char buf[4096];
	const char *slash = strrchr(console_conf.audit, '/');

	if (console_conf.audit_key != NULL)
		return;
	snprintf(buf, sizeof(buf), "%.*saudit.key.pub", slash ? (int)(slash -
	    console_conf.audit + 1) : 0, console_conf.audit);
	console_conf.audit_key = buf;
}

static struct evhttp *
http_start(SSL_CTX *ctx)
{
	struct evhttp *http = evhttp_new(console_base);
	struct evhttp_bound_socket *bound;
	char host[256];
	ev_uint16_t port;

	if (http == NULL || listen_split(console_conf.listen, host,
	    sizeof(host), &port) == -1)
		fatalx("--listen %s: expected ADDR:PORT", console_conf.listen);
	evhttp_set_bevcb(http, tls_bev_cb, ctx);
	evhttp_set_gencb(http, conn_request_cb, NULL);
	evhttp_set_max_headers_size(http, HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(http, HTTP_BODY_MAX);
	evhttp_set_timeout(http, HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	if ((bound = evhttp_bind_socket_with_handle(http, host, port)) ==
	    NULL)
		fatal("cannot listen on %s", console_conf.listen);
	conn_http = evhttp_bound_socket_get_listener(bound);
	conn_refuse = evconnlistener_new(console_base, conn_refuse_cb, NULL,
	    LEV_OPT_DISABLED, 0, evconnlistener_get_fd(conn_http));
	conn_ex = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free_cb);
	if (conn_refuse == NULL || conn_ex == -1)
		fatalx("cannot set up the connection cap");
	return http;
}

/* The chain is checked from the start, so the first search shows it. */
static void
verify_at_start(void)
{
	char **files, buf[64];
	size_t n;

	files = search_files(&n);
	search_verify(files, n, buf, sizeof(buf));
	search_files_free(files, n);
}

int
main(int argc, char **argv)
{
	struct event *sigterm, *sigint;
	struct evhttp *http;
	SSL_CTX *ctx;
	int debug = 0;

	if (parse_options(argc, argv, &debug) == -1)
		return 2;
	log_init("mwg-console", debug, !debug);
	signal(SIGPIPE, SIG_IGN);
	default_key();
	if ((console_base = event_base_new()) == NULL)
		fatalx("cannot make an event base");
	ctx = tls_context();
	http = http_start(ctx);
	verify_at_start();
	sigterm = evsignal_new(console_base, SIGTERM, signal_cb, console_base);
	sigint = evsignal_new(console_base, SIGINT, signal_cb, console_base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	log_info("console: listening on https://%s (control %s, audit %s)",
	    console_conf.listen, console_conf.control, console_conf.audit);
	event_base_dispatch(console_base);
	search_verify_stop();
	conn_http = NULL;		/* evhttp_free frees it */
	evconnlistener_free(conn_refuse);
	evhttp_free(http);
	event_free(sigterm);
	event_free(sigint);
	SSL_CTX_free(ctx);
	event_base_free(console_base);
	return 0;
}
