/*
 * mwg connect: a local port whose every connection becomes a CONNECT
 * tunnel through the gateway to one practice system, authenticated with
 * the session certificate. One thread per local connection; the TLS
 * context is shared, so reconnects resume the TLS session. A new login in
 * another terminal is picked up at the next connection. Only the OS user
 * who started mwg may use the port (client/peer.c): on a shared PC another
 * person must not act with this one's session.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certs/certs.h"
#include "client/gw.h"
#include "client/posture.h"
#include "client/tunnel.h"
#include "common/addr.h"
#include "common/errbuf.h"
#include "common/xmalloc.h"

#define VERB		"connect"
#define CONNECT_MAX	256	/* local connections open at once */
#define LISTEN_BACKLOG	64
#define ACCEPT_PAUSE	1	/* seconds, when out of descriptors */
#define UNIX_PREFIX	"unix:"

static const char connect_usage[] =
    "usage: mwg connect NAME.PRACTICE:PORT --listen ADDR:PORT|unix:PATH "
    "[--break-glass REASON]\n"
    "                   [--allow-remote] [--verbose] [--dir DIR]\n";

static const char connect_help[] =
"NAME\n"
"     mwg connect - reach a practice system through the gateway\n"
"\n"
"SYNOPSIS\n"
"     mwg connect NAME.PRACTICE:PORT --listen ADDR:PORT|unix:PATH\n"
"                 [--break-glass REASON] [--allow-remote] [--verbose]\n"
"                 [--dir DIR]\n"
"\n"
"DESCRIPTION\n"
"     Listens on ADDR:PORT on this device. Each connection made to it is\n"
"     carried to the practice system NAME in practice PRACTICE, port PORT,\n"
"     through a TLS tunnel to the gateway (HTTP CONNECT), authenticated\n"
"     with the session certificate from mwg login. Point the program you\n"
"     use (browser, remote desktop, the clinical system's client) at\n"
"     ADDR:PORT. mwg runs until it is stopped (Ctrl-C).\n"
"\n"
"     The target is named as the gateway's policy names it: the system's\n"
"     name, a dot, the practice code, and the system's port, which is\n"
"     always given (the policy allows a system on its own port only), e.g.\n"
"     emis.K84001:443. The practice code is not case-sensitive.\n"
"\n"
"     Once listening, mwg prints one line on standard output, \"mwg:\n"
"     forwarding ADDR:PORT to NAME.PRACTICE:PORT through GATEWAY; ...\", so\n"
"     a script can wait for it.\n"
"\n"
"     Only the OS user who started mwg connect may use it: a connection\n"
"     from a program of another user on this device (found from the\n"
"     kernel's socket table) is closed before a byte is read or sent, and\n"
"     mwg prints \"refused a local connection from ... of uid N (NAME)\".\n"
"\n"
"     Each connection is a separate decision by the gateway (policy,\n"
"     posture, locks), recorded in its audit trail. A refused connection is\n"
"     closed, and the gateway's reason is printed with its HTTP status\n"
"     (403 not allowed, 404 no such system, 502 or 504 the system did not\n"
"     answer); mwg goes on listening. When the gateway cuts an open tunnel\n"
"     (IT locked the person or the device, revoked the device, the policy\n"
"     or the device's posture no longer allows it, break-glass time or the\n"
"     role's hours ran out, logout), mwg asks it why and prints \"tunnel\n"
"     for ... closed by the gateway: REASON\". If the session expires,\n"
"     connections are refused until mwg login is run again (in any\n"
"     terminal: the new session is used from the next connection on).\n"
"\n"
"     NAME.PRACTICE:PORT\n"
"             The practice system to reach.\n"
"     --listen ADDR:PORT\n"
"             The local address and port to listen on, as literals:\n"
"             127.0.0.1:8443 or [::1]:8443. Only loopback addresses are\n"
"             accepted, so that no one else on the network can use your\n"
"             session, unless --allow-remote is given.\n"
"     --listen unix:PATH\n"
"             Listen on a Unix socket instead, for programs that can use\n"
"             one (e.g. ssh -o ProxyCommand='nc -U PATH'). The socket is\n"
"             made with mode 0600 in PATH's directory, which must be yours\n"
"             and writable by no one else (e.g. $XDG_RUNTIME_DIR or DIR).\n"
"             A socket left behind by an mwg that ended is replaced.\n"
"     --break-glass REASON\n"
"             Ask for emergency access, which the gateway's policy may\n"
"             allow beyond the usual rules, with REASON (1-200 printable\n"
"             characters) recorded in the audit trail and reviewed.\n"
"     --allow-remote\n"
"             Allow a non-loopback --listen address. Anyone who can reach\n"
"             it from another computer then acts with your session: use\n"
"             with care. (Other users of this device are still refused.)\n"
"     --verbose, -v\n"
"             Print a line when each tunnel opens and closes, with bytes.\n"
"     --dir DIR\n"
"             State directory (default $MWG_DIR, else ~/.config/mwg).\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     1 if mwg cannot start (not logged in, the session expired, the\n"
"     address is in use); 2 bad usage. Once listening, mwg runs until it\n"
"     is stopped by a signal.\n"
"\n"
"EXAMPLES\n"
"     mwg connect emis.K84001:443 --listen 127.0.0.1:8443\n"
"     mwg connect reception.K84001:3389 --listen 127.0.0.1:13389\n"
"     mwg connect emis.K84001:443 --listen unix:$XDG_RUNTIME_DIR/emis.sock\n"
"     mwg connect docman.K84002:443 --listen 127.0.0.1:9443 \\\n"
"         --break-glass \"covering K84002 duty doctor, incident 4411\"\n";

struct connect_opts {
	struct client_target	 target;
	struct sockaddr_storage	 listen;
	socklen_t		 listen_len;
	const char		*break_glass;
	const char		*dir;
	int			 is_unix;	/* --listen unix:PATH */
	int			 is_remote_ok;
	int			 is_verbose;
};

/* A loaded session; connections hold a reference while they use it. */
struct connect_session {
	struct client_tls	*tls;
	time_t			 not_after;
	struct stat		 file;		/* session.pem when loaded */
	int			 refs;		/* under connect_lock */
};

static pthread_mutex_t connect_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int connect_active;

struct connect_state {
	struct client_device	 dev;
	struct connect_opts	 o;
	struct connect_session	*cur;	/* the accept thread's; NULL: none */
	uid_t			 uid;	/* the only user served */
	char			 listen_text[PATH_MAX + 8];
	struct client_tunnel_hooks hooks;	/* open's and proxy's */
	int			 is_session_optional;	/* proxy's */
};

/* What other verbs hold (client/tunnel.h): the same state. */
struct client_tunnels {
	struct connect_state	 cs;
};

struct connect_job {
	const struct connect_state *cs;
	struct connect_session	*sess;	/* a reference, dropped at the end;
					   NULL (with a pick hook): none */
	int			 fd;
	char			 peer[ADDR_STR_MAX];
	struct client_target	 target;	/* where this one goes */
	char			 no_session[CLIENT_ERR_MAX];	/* why */
};

/* The verb that runs the engine: one per process. */
static const char *connect_verb = VERB;
static const struct client_tunnel_hooks *connect_hooks;

/*
 * One whole line on stderr: threads' lines never interleave. A hook
 * (mwg open's notification) hears it too; is_cut says the gateway cut or
 * refused a tunnel, rather than a local matter.
 */
static void connect_tell(int is_cut, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
connect_vtell(int is_cut, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = snprintf(line, sizeof(line), "mwg: %s: ", connect_verb);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (connect_hooks != NULL && connect_hooks->said != NULL)
		connect_hooks->said(line + n, is_cut, connect_hooks->arg);
	strcat(line, "\n");
	fputs(line, stderr);
}

static void
connect_tell(int is_cut, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	connect_vtell(is_cut, fmt, ap);
	va_end(ap);
}

static void connect_say(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
connect_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	connect_vtell(0, fmt, ap);
	va_end(ap);
}

/* --listen unix:PATH: a path that fits a socket address. */
static int
connect_check_unix(struct connect_opts *o, const char *path)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&o->listen;

	if (*path == '\0' || addr_unix(path, sun) == -1)
		return client_usage(VERB, connect_usage, "--listen unix:PATH "
		    "needs a path of 1 to %zu bytes", sizeof(sun->sun_path) -
		    1);
	o->listen_len = sizeof(*sun);
	o->is_unix = 1;
	return 0;
}

/* The target, the listening address and the reason, as given. */
static int
connect_check(struct connect_opts *o, const char *target,
    const char *listen_arg)
{
	char err[CLIENT_ERR_MAX];

	if (client_parse_target(target, &o->target, err, sizeof(err)) == -1)
		return client_usage(VERB, connect_usage, "%s", err);
	if (o->break_glass != NULL && !client_break_glass_valid(o->break_glass))
		return client_usage(VERB, connect_usage, "--break-glass needs "
		    "a reason of 1-200 printable characters");
	if (listen_arg == NULL)
		return client_usage(VERB, connect_usage, "--listen is needed");
	if (strncmp(listen_arg, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0)
		return connect_check_unix(o, listen_arg + strlen(UNIX_PREFIX));
	if (client_parse_listen(listen_arg, &o->listen, &o->listen_len, err,
	    sizeof(err)) == -1)
		return client_usage(VERB, connect_usage, "%s", err);
	if (!client_is_loopback((const struct sockaddr *)&o->listen)) {
		if (!o->is_remote_ok)
			return client_usage(VERB, connect_usage, "%s is not a "
			    "loopback address: anyone who reaches it would use "
			    "your session (--allow-remote if that is meant)",
			    listen_arg);
		client_warn(VERB, "listening on %s: anyone who reaches it "
		    "from another computer uses your session", listen_arg);
	}
	return 0;
}

static int
connect_options(int argc, char **argv, struct connect_opts *o)
{
	static const struct option longopts[] = {
		{ "listen",		required_argument,	NULL, 'l' },
		{ "break-glass",	required_argument,	NULL, 'b' },
		{ "allow-remote",	no_argument,		NULL, 'r' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ "dir",		required_argument,	NULL, 'd' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 },
	};
	const char *listen_arg = NULL;
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen_arg = optarg;
			break;
		case 'b':
			o->break_glass = optarg;
			break;
		case 'r':
			o->is_remote_ok = 1;
			break;
		case 'v':
			o->is_verbose = 1;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'h':
			fputs(connect_help, stdout);
			return -1;
		default:
			return client_bad_option(VERB, connect_usage, ch, argv);
		}
	}
	if (optind != argc - 1)
		return client_usage(VERB, connect_usage, optind == argc ?
		    "which target? (NAME.PRACTICE:PORT)" : "one target only");
	return connect_check(o, argv[optind], listen_arg);
}

static void
connect_session_put(struct connect_session *s)
{
	int last;

	if (s == NULL)
		return;
	pthread_mutex_lock(&connect_lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&connect_lock);
	if (last) {
		client_tls_free(s->tls);
		free(s);
	}
}

/* The session certificate must be this device's, and still valid. */
static struct connect_session *
connect_session_load(const struct client_device *dev, const struct stat *sb,
    char *err, size_t errlen)
{
	struct connect_session *s;
	struct certs_identity id;
	char path[PATH_MAX], e[CLIENT_ERR_MAX], when[64];
	struct client_tls *t;
	X509 *cert;

	client_state_path(&dev->st, STATE_SESSION, path, sizeof(path));
	memset(&id, 0, sizeof(id));
	if ((cert = certs_read_cert(path, e, sizeof(e))) == NULL ||
	    certs_identity(cert, &id) == -1 || id.kind != CERTS_KIND_SESSION ||
	    strcmp(id.device_id, dev->id) != 0) {
		errbuf_set(err, errlen, "%s is not a session of device %s (run "
		    "mwg login)", path, dev->id);
		X509_free(cert);
		return NULL;
	}
	X509_free(cert);
	if (id.not_after <= time(NULL)) {
		errbuf_set(err, errlen, "the session expired at %s (run mwg "
		    "login)", client_format_time(id.not_after, when,
		    sizeof(when)));
		return NULL;
	}
	if ((t = client_tls_new(&dev->gw, dev->ca, path, dev->key, e,
	    sizeof(e))) == NULL) {
		errbuf_set(err, errlen, "%s (run mwg login)", e);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->tls = t;
	s->not_after = id.not_after;
	s->file = *sb;
	s->refs = 1;		/* the accept thread's, as cs->cur */
	return s;
}

static int
connect_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && a->st_mtim.tv_sec ==
	    b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * The session for a new connection, with a reference for it: the one
 * loaded, or session.pem again if it changed (a new login). NULL with a
 * reason when there is no usable session.
 */
static struct connect_session *
connect_session_get(struct connect_state *cs, char *err, size_t errlen)
{
	struct connect_session *s = cs->cur;
	char path[PATH_MAX], when[64];
	struct stat sb;

	client_state_path(&cs->dev.st, STATE_SESSION, path, sizeof(path));
	if (stat(path, &sb) == -1) {
		connect_session_put(cs->cur);
		cs->cur = NULL;
		errbuf_set(err, errlen, "not logged in (run mwg login)");
		return NULL;
	}
	if (s == NULL || !connect_same_file(&s->file, &sb)) {
		if ((s = connect_session_load(&cs->dev, &sb, err,
		    errlen)) == NULL)
			return NULL;
		connect_session_put(cs->cur);
		cs->cur = s;
	}
	if (s->not_after <= time(NULL)) {
		errbuf_set(err, errlen, "the session expired at %s (run mwg "
		    "login)", client_format_time(s->not_after, when,
		    sizeof(when)));
		return NULL;
	}
	pthread_mutex_lock(&connect_lock);
	s->refs++;
	pthread_mutex_unlock(&connect_lock);
	return s;
}

/* With a pick hook, the local program hears the gateway's answer. */
static void
connect_answered(const struct connect_job *j, int status, const char *reason)
{
	const struct client_tunnel_hooks *h = &j->cs->hooks;

	if (h->answered != NULL)
		h->answered(j->fd, status, reason, h->arg);
}

/* The CONNECT request and its answer; 0 with the tunnel open. */
static int
connect_ask(const struct connect_job *j, SSL *ssl, char *rest,
    size_t restcap, size_t *restlen)
{
	const struct connect_opts *o = &j->cs->o;
	const char *target = j->target.authority;
	struct client_answer a;
	char req[1024], err[CLIENT_ERR_MAX], reason[512];
	int n, rc = -1;

	n = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n"
	    "%s%s%s\r\n", target, target, o->break_glass ? "Mwg-Break-Glass: " :
	    "", o->break_glass ? o->break_glass : "", o->break_glass ? "\r\n" :
	    "");
	if (SSL_write(ssl, req, n) != n) {
		client_tls_error(ssl, n, "sending CONNECT", err, sizeof(err));
		connect_say("%s: %s", target, err);
		return -1;
	}
	client_answer_init(&a, 1);
	if (client_read_answer(ssl, &a, rest, restcap, restlen, err,
	    sizeof(err)) == -1) {
		connect_say("%s: %s", target, err);
		connect_answered(j, 502, err);
	} else if (a.status / 100 != 2) {
		client_answer_reason(&a, reason, sizeof(reason));
		client_text_clean(reason);
		connect_tell(1, "%s: %s (%d)", target, reason, a.status);
		connect_answered(j, a.status, reason);
	} else {
		connect_answered(j, 200, NULL);
		rc = 0;
	}
	client_answer_free(&a);
	return rc;
}

/*
 * The gateway's entry for the tunnel on ssl among the session's cuts
 * (GET /v1/closed), matched by the TLS exporter value both ends share:
 * 0 with its message and reason code, -1 with why not.
 */
static int
connect_ask_why(const struct connect_job *j, SSL *ssl, char *msg,
    size_t msglen, char *code, size_t codelen)
{
	unsigned char id[CLIENT_EXPORTER_LEN];
	char hex[2 * CLIENT_EXPORTER_LEN + 1];
	struct client_answer a;
	json_t *root = NULL, *e;
	size_t i;
	int rc = -1;

	if (SSL_export_keying_material(ssl, id, sizeof(id),
	    CLIENT_EXPORTER_LABEL, strlen(CLIENT_EXPORTER_LABEL), NULL, 0,
	    0) != 1) {
		snprintf(msg, msglen, "no exporter value");
		return -1;
	}
	for (i = 0; i < sizeof(id); i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	if (client_request(j->sess->tls, "GET", CLIENT_CLOSED_PATH, NULL,
	    NULL, 0, &a, msg, msglen) == -1)
		goto out;
	if (a.status != 200 || (root = json_loads(a.body, 0, NULL)) == NULL) {
		client_answer_reason(&a, msg, msglen);
		goto out;
	}
	snprintf(msg, msglen, "the gateway has no record of it");
	json_array_foreach(json_object_get(root, "closed"), i, e) {
		const char *eid = json_string_value(json_object_get(e, "id"));
		const char *m = json_string_value(json_object_get(e,
		    "message"));
		const char *r = json_string_value(json_object_get(e,
		    "reason"));

		if (eid == NULL || m == NULL || r == NULL ||
		    strcmp(eid, hex) != 0)
			continue;
		snprintf(msg, msglen, "%s", m);
		snprintf(code, codelen, "%s", r);
		rc = 0;
		break;
	}
out:
	json_decref(root);
	client_answer_free(&a);
	return rc;
}

/*
 * The gateway cut the tunnel: say why, in its words, whether or not
 * --verbose was given (the person's program just lost its connection).
 * Only printable text reaches the terminal.
 */
static void
connect_say_cut(const struct connect_job *j, SSL *ssl,
    const struct client_relay_stats *st)
{
	const char *target = j->target.authority;
	char msg[CLIENT_ERR_MAX], code[64] = "", when[64];

	/* No tunnel outlives its session; an expired one cannot ask. */
	if (time(NULL) >= j->sess->not_after) {
		connect_tell(1, "%s: tunnel for %s closed by the gateway: the "
		    "session expired at %s (run mwg login)", target, j->peer,
		    client_format_time(j->sess->not_after, when,
		    sizeof(when)));
		return;
	}
	if (connect_ask_why(j, ssl, msg, sizeof(msg), code,
	    sizeof(code)) == -1) {
		client_text_clean(msg);
		connect_tell(1, "%s: tunnel for %s closed: %s (the reason could "
		    "not be learnt: %s); %llu bytes up, %llu down", target,
		    j->peer, st->why, msg, st->up, st->down);
		return;
	}
	client_text_clean(msg);
	client_text_clean(code);
	connect_tell(1, "%s: tunnel for %s closed by the gateway: %s (%s)",
	    target, j->peer, msg, code);
}

static void
connect_tunnel(struct connect_job *j)
{
	const struct client_tunnel_hooks *h = &j->cs->hooks;
	const char *target = j->target.authority;
	struct client_relay_stats stats;
	char err[CLIENT_ERR_MAX], rest[16384];
	size_t restlen = 0;
	SSL *ssl;
	int rc;

	if (h->pick != NULL && h->pick(j->fd, j->sess ? j->sess->tls : NULL,
	    &j->target, h->arg) != 1)
		return;
	if (j->sess == NULL) {
		connect_tell(1, "%s: %s", target, j->no_session);
		connect_answered(j, 502, j->no_session);
		return;
	}
	/* mwg connect runs for hours; the report it sent at the start ages.
	 * A device the gateway refuses has been told so once, here. */
	if (posture_refresh(&j->cs->dev, connect_verb) == -1) {
		connect_answered(j, 502, "the device's posture report was "
		    "refused");
		return;
	}
	if ((ssl = client_tls_open(j->sess->tls, err, sizeof(err))) == NULL) {
		connect_say("%s: %s", target, err);
		connect_answered(j, 502, err);
		return;
	}
	if (connect_ask(j, ssl, rest, sizeof(rest), &restlen) == 0) {
		if (j->cs->o.is_verbose)
			connect_say("%s: tunnel open for %s%s", target, j->peer,
			    SSL_session_reused(ssl) ? " (TLS resumed)" : "");
		rc = client_relay(ssl, j->fd, rest, restlen, &stats);
		if (rc == -1 && stats.is_abrupt)
			connect_say_cut(j, ssl, &stats);
		else if (rc == -1 || j->cs->o.is_verbose)
			connect_say("%s: tunnel for %s closed: %s; %llu bytes "
			    "up, %llu down", target, j->peer, stats.why,
			    stats.up, stats.down);
	}
	client_tls_close(ssl);
}

static void *
connect_job_run(void *arg)
{
	struct connect_job *j = arg;

	connect_tunnel(j);
	close(j->fd);
	connect_session_put(j->sess);
	atomic_fetch_sub(&connect_active, 1);
	free(j);
	return NULL;
}

/* "uid N (NAME)", or "uid N" for a uid with no name. */
static char *
connect_uid_text(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
	    res != NULL)
		snprintf(buf, len, "uid %u (%.64s)", (unsigned)uid,
		    res->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

/*
 * Whether the program at the other end of fd may use this tunnel: only a
 * socket of the user who started mwg (with --allow-remote, also a peer on
 * another computer, which no local socket owns). Refusals are said here,
 * once; nothing has been read from fd or sent to it.
 */
static int
connect_peer_ok(const struct connect_state *cs, int fd, const char *peer,
    const struct sockaddr_storage *sa)
{
	char err[CLIENT_ERR_MAX], who[128], me[128];
	uid_t uid;
	int rc;

	rc = client_peer_uid(fd, &uid, err, sizeof(err));
	if (rc == 1 && uid == cs->uid)
		return 1;
	if (rc == 0 && cs->o.is_remote_ok && !cs->o.is_unix &&
	    !client_is_loopback((const struct sockaddr *)sa))
		return 1;
	connect_uid_text(cs->uid, me, sizeof(me));
	if (rc == 1)
		connect_say("refused a local connection from %s of %s: only %s "
		    "may use this tunnel", peer, connect_uid_text(uid, who,
		    sizeof(who)), me);
	else if (rc == 0)
		connect_say("refused a local connection from %s: no socket on "
		    "this device owns it, so whose it is cannot be told", peer);
	else
		connect_say("refused a local connection from %s: whose it is "
		    "cannot be told: %s", peer, err);
	return 0;
}

/* A new local connection: a session reference and a thread of its own. */
static void
connect_accepted(struct connect_state *cs, int fd,
    const struct sockaddr_storage *peer)
{
	struct connect_job *j;
	char err[CLIENT_ERR_MAX], text[ADDR_STR_MAX];
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	if (cs->o.is_unix)
		snprintf(text, sizeof(text), "the Unix socket");
	else
		addr_format((const struct sockaddr *)peer, text, sizeof(text));
	if (!connect_peer_ok(cs, fd, text, peer)) {
		close(fd);
		return;
	}
	if (atomic_load(&connect_active) >= CONNECT_MAX) {
		connect_say("%d connections open already; refusing another",
		    CONNECT_MAX);
		close(fd);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->cs = cs;
	j->fd = fd;
	j->target = cs->o.target;
	snprintf(j->peer, sizeof(j->peer), "%s", text);
	/* With a pick hook the program may want no tunnel (a PAC file):
	 * no session is said only if it asks for one. */
	if ((j->sess = connect_session_get(cs, err, sizeof(err))) == NULL &&
	    cs->hooks.pick != NULL)
		snprintf(j->no_session, sizeof(j->no_session), "%s", err);
	else if (j->sess == NULL) {
		connect_tell(1, "%s: %s", cs->o.target.authority, err);
		close(fd);
		free(j);
		return;
	}
	atomic_fetch_add(&connect_active, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if ((rc = pthread_create(&tid, &attr, connect_job_run, j)) != 0) {
		connect_say("cannot start a thread: %s", strerror(rc));
		atomic_fetch_sub(&connect_active, 1);
		connect_session_put(j->sess);
		close(fd);
		free(j);
	}
	pthread_attr_destroy(&attr);
}

/* Runs until a signal ends the process; returns only on a fatal error. */
static int
connect_serve(struct connect_state *cs, int lfd)
{
	struct sockaddr_storage peer;
	socklen_t len;
	int fd;

	for (;;) {
		len = sizeof(peer);
		fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
		if (fd != -1) {
			connect_accepted(cs, fd, &peer);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* Out of descriptors: pause, never spin. */
			connect_say("accept: %s; pausing", strerror(errno));
			sleep(ACCEPT_PAUSE);
			continue;
		}
		return client_fail(connect_verb, "accept: %s", strerror(errno));
	}
}

/*
 * A Unix socket's directory must be ours and writable by no one else:
 * otherwise another user could swap the socket for one of their own.
 */
static int
connect_unix_dir(const char *path)
{
	char copy[PATH_MAX], *dir;
	struct stat sb;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (stat(dir, &sb) == -1) {
		client_fail(VERB, "cannot listen on unix:%s: %s: %s", path,
		    dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		client_fail(VERB, "cannot listen on unix:%s: the directory %s "
		    "must be yours and writable by no one else (chmod 700 %s)",
		    path, dir, dir);
		return -1;
	}
	return 0;
}

/*
 * A socket file left by an mwg that ended (nothing accepts on it) is
 * ours to replace; anything else at the path is left alone.
 */
static int
connect_unix_stale(const char *path)
{
	struct stat sb;
	int fd;

	if (lstat(path, &sb) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(sb.st_mode) || sb.st_uid != geteuid()) {
		errno = EEXIST;
		return -1;
	}
	if ((fd = addr_unix_connect(path)) != -1) {
		close(fd);
		errno = EADDRINUSE;
		return -1;
	}
	return errno == ECONNREFUSED ? unlink(path) : -1;
}

/* The Unix socket: mode 0600 from its creation (umask), never wider. */
static int
connect_listen_unix(const struct connect_opts *o)
{
	const char *path = ((const struct sockaddr_un *)&o->listen)->sun_path;
	mode_t old;
	int fd, rc;

	if (connect_unix_dir(path) == -1)
		return -1;
	if (connect_unix_stale(path) == -1) {
		client_fail(VERB, "cannot listen on unix:%s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		client_fail(VERB, "cannot listen on unix:%s: %s", path,
		    strerror(errno));
		return -1;
	}
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)&o->listen, o->listen_len);
	umask(old);
	if (rc == -1 || chmod(path, 0600) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		client_fail(VERB, "cannot listen on unix:%s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
connect_listen(const struct connect_opts *o)
{
	char addr[ADDR_STR_MAX];
	int fd, one = 1;

	if (o->is_unix)
		return connect_listen_unix(o);
	addr_format((const struct sockaddr *)&o->listen, addr, sizeof(addr));
	if ((fd = socket(o->listen.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || bind(fd, (const struct sockaddr *)&o->listen,
	    o->listen_len) == -1 || listen(fd, LISTEN_BACKLOG) == -1) {
		client_fail(VERB, "cannot listen on %s: %s", addr,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* Device, session and posture, as every tunnel verb starts. 0 or -1. */
static int
connect_prepare(struct connect_state *cs, const char *dir)
{
	struct client_state st;
	char err[CLIENT_ERR_MAX];
	struct connect_session *s;

	cs->uid = geteuid();
	if (client_state_resolve(dir, &st, err, sizeof(err)) == -1) {
		client_fail(connect_verb, "%s", err);
		return -1;
	}
	if (client_device_load(&st, connect_verb, &cs->dev) == -1 ||
	    client_device_renew(&cs->dev, connect_verb) == -1)
		return -1;
	/* A connect that cannot work says so now, not at the first use;
	 * mwg proxy may start before the login and wait for one. */
	if ((s = connect_session_get(cs, err, sizeof(err))) == NULL) {
		if (!cs->is_session_optional) {
			client_fail(connect_verb, "%s", err);
			return -1;
		}
		client_warn(connect_verb, "%s; until then the browser's "
		    "connections to practice systems are refused", err);
	}
	connect_session_put(s);
	return posture_refresh(&cs->dev, connect_verb) == -1 ? -1 : 0;
}

struct client_tunnels *
client_tunnels_prepare(const char *verb, const char *dir,
    const struct client_target *target, const char *break_glass,
    int is_verbose, const struct client_tunnel_hooks *hooks)
{
	struct client_tunnels *ts = xcalloc(1, sizeof(*ts));

	connect_verb = verb;
	ts->cs.hooks = *hooks;
	connect_hooks = &ts->cs.hooks;
	if (target != NULL)
		ts->cs.o.target = *target;
	ts->cs.o.break_glass = break_glass;
	ts->cs.o.is_verbose = is_verbose;
	ts->cs.is_session_optional = hooks->pick != NULL;
	if (connect_prepare(&ts->cs, dir) == -1) {
		connect_session_put(ts->cs.cur);
		connect_hooks = NULL;
		free(ts);
		return NULL;
	}
	return ts;
}

const struct client_device *
client_tunnels_device(struct client_tunnels *ts)
{
	return &ts->cs.dev;
}

struct client_tls *
client_tunnels_session(struct client_tunnels *ts, time_t *not_after)
{
	if (ts->cs.cur == NULL)
		return NULL;
	*not_after = ts->cs.cur->not_after;
	return ts->cs.cur->tls;
}

void
client_tunnels_target(struct client_tunnels *ts,
    const struct client_target *t, const char *break_glass)
{
	ts->cs.o.target = *t;
	ts->cs.o.break_glass = break_glass;
}

int
client_tunnels_serve(struct client_tunnels *ts, int lfd)
{
	return connect_serve(&ts->cs, lfd);
}

int
client_tunnels_wait(struct client_tunnels *ts, int secs)
{
	struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };

	(void)ts;
	for (int i = 0; i < secs * 100; i++) {
		if (atomic_load(&connect_active) == 0)
			return 1;
		nanosleep(&tick, NULL);
	}
	return atomic_load(&connect_active) == 0;
}

int
client_tunnels_listen_any(const char *verb, int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		client_fail(verb, "cannot listen on 127.0.0.1: %s",
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

int
client_connect(int argc, char **argv)
{
	struct connect_state *cs = xcalloc(1, sizeof(*cs));
	char when[64];
	int rc, lfd = -1;

	if ((rc = connect_options(argc, argv, &cs->o)) != 0) {
		rc = rc == -1 ? CLIENT_EXIT_OK : rc;
		goto out;
	}
	rc = CLIENT_EXIT_FAIL;
	if (connect_prepare(cs, cs->o.dir) == -1)
		goto out;
	if ((lfd = connect_listen(&cs->o)) == -1)
		goto out;
	if (cs->o.is_unix)
		snprintf(cs->listen_text, sizeof(cs->listen_text), "unix:%s",
		    ((struct sockaddr_un *)&cs->o.listen)->sun_path);
	else
		addr_format((const struct sockaddr *)&cs->o.listen,
		    cs->listen_text, sizeof(cs->listen_text));
	printf("mwg: forwarding %s to %s through %s; session until %s; stop "
	    "with Ctrl-C\n", cs->listen_text, cs->o.target.authority,
	    cs->dev.gw_text,
	    client_format_time(cs->cur->not_after, when, sizeof(when)));
	fflush(stdout);
	rc = connect_serve(cs, lfd);
out:
	if (lfd != -1)
		close(lfd);
	/* Tunnel threads may still use cs; the process is ending anyway. */
	if (atomic_load(&connect_active) == 0) {
		connect_session_put(cs->cur);
		free(cs);
	}
	return rc;
}
