/*
 * mwg open NAME.PRACTICE: one step from "I want the clinical system" to
 * the program on the screen. Looks the system up among those the gateway
 * says the person may reach (GET /v1/targets), listens on a free loopback
 * port, starts the program its kind calls for, and carries that program's
 * connections through the gateway; when the program exits, so does mwg
 * and its tunnels. A web system opens by its real name through mwg proxy
 * instead, so the browser checks the system's own certificate.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/tunnel.h"
#include "common/addr.h"

#define VERB		"open"
#define ARGS_MAX	32	/* the program's arguments, ours and the person's */
#define NOTIFY_DEFAULT	"notify-send"
#define OPEN_DRAIN	5	/* seconds for tunnels to end after the program */

extern char **environ;

static const char open_usage[] =
    "usage: mwg open NAME.PRACTICE [--break-glass REASON] [--dir DIR] "
    "[-- PROGRAM-ARGS...]\n";

static const char open_help[] =
"NAME\n"
"     mwg open - open a practice system in the right program, in one step\n"
"\n"
"SYNOPSIS\n"
"     mwg open NAME.PRACTICE [--break-glass REASON] [--dir DIR]\n"
"              [-- PROGRAM-ARGS...]\n"
"\n"
"DESCRIPTION\n"
"     Finds NAME.PRACTICE among the systems the gateway says you may reach\n"
"     (as mwg list shows them) and opens it:\n"
"\n"
"     rdp     listens on a free port on 127.0.0.1 and starts the remote\n"
"             desktop program on it: xfreerdp (/v:127.0.0.1:PORT), else\n"
"             remmina (-c rdp://127.0.0.1:PORT).\n"
"     ssh     the same with ssh -p PORT 127.0.0.1, the host key checked\n"
"             under the system's own name (HostKeyAlias), not 127.0.0.1.\n"
"     tcp     listens on a free port and says which; no program.\n"
"     web     opens https://HOST/ (the system's real name) in the browser\n"
"             (xdg-open). The browser reaches it through mwg proxy, which\n"
"             must be running (mwg proxy --help): the browser then checks\n"
"             the system's own certificate.\n"
"\n"
"     Each connection the program makes is a tunnel through the gateway\n"
"     (mwg connect --help), for this OS user only. mwg exits when the\n"
"     program exits, and its tunnels end with it. A refusal or a cut (IT\n"
"     locked the account, the posture or the policy no longer allows it,\n"
"     the role's hours or break-glass time ran out) is printed on stderr\n"
"     with the gateway's reason, and shown as a desktop notification\n"
"     (notify-send) where there is one.\n"
"\n"
"     NAME.PRACTICE\n"
"             The system, as mwg list names it (the port may be left off).\n"
"     --break-glass REASON\n"
"             Emergency access with REASON recorded and reviewed, for a\n"
"             system listed as \"only with break-glass\" (not a web one:\n"
"             mwg proxy does not carry emergency access).\n"
"     -- PROGRAM-ARGS...\n"
"             More arguments for the program (e.g. -- -l alice for ssh).\n"
"     --dir DIR\n"
"             State directory (default $MWG_DIR, else ~/.config/mwg).\n"
"     --help  Print this help and exit.\n"
"\n"
"ENVIRONMENT\n"
"     MWG_OPEN_RDP, MWG_OPEN_SSH, MWG_OPEN_WEB\n"
"             The program for that kind instead of the default. A program\n"
"             named like xfreerdp, remmina or ssh gets that program's\n"
"             arguments; any other gets one: 127.0.0.1:PORT (for web, the\n"
"             URL). Every program also finds MWG_OPEN_TARGET, MWG_OPEN_KIND,\n"
"             MWG_OPEN_HOST, MWG_OPEN_ADDR and MWG_OPEN_PORT in its\n"
"             environment.\n"
"     MWG_NOTIFY\n"
"             The notification program instead of notify-send; it is\n"
"             given a title and the message. Empty: no notifications.\n"
"\n"
"     On Windows and macOS (not built yet) the same verb would start\n"
"     mstsc.exe /v:127.0.0.1:PORT or the Microsoft Remote Desktop app\n"
"     (rdp://full%20address=s:127.0.0.1:PORT), ssh, and the default\n"
"     browser, and notify through the system's notification centre.\n"
"\n"
"EXIT STATUS\n"
"     0 the program ran and exited 0; 1 it exited otherwise, could not be\n"
"     started, or the system cannot be opened (not logged in, not among\n"
"     those you may reach, mwg proxy not running for a web system); 2 bad\n"
"     usage.\n"
"\n"
"EXAMPLES\n"
"     mwg open reception.K84001\n"
"     mwg open emis.K84001\n"
"     mwg open jump.K84001 -- -l alice\n"
"     mwg open emis.K84002 --break-glass \"covering K84002 duty doctor\"\n";

struct open_opts {
	char		 name[CLIENT_NAME_MAX];
	char		 practice[CLIENT_NAME_MAX];
	int		 port;		/* given as NAME.PRACTICE:PORT, or 0 */
	const char	*break_glass;
	const char	*dir;
	char	       **extra;		/* after --, for the program */
	int		 nextra;
};

/* The engine's state: reachable from here while its threads run. */
static struct client_tunnels *open_tunnels;
static char open_target_text[2 * CLIENT_NAME_MAX + 8];

/* "emis.K84001" or "emis.K84001:443": the port is the gateway's to say. */
static int
open_parse_name(const char *s, struct open_opts *o)
{
	struct client_target t;
	char buf[2 * CLIENT_NAME_MAX + 16], err[CLIENT_ERR_MAX];

	snprintf(buf, sizeof(buf), "%s%s", s, strchr(s, ':') ? "" : ":1");
	if (strlen(s) > 2 * CLIENT_NAME_MAX || client_parse_target(buf, &t,
	    err, sizeof(err)) == -1)
		return client_usage(VERB, open_usage, "'%s' is not "
		    "NAME.PRACTICE (e.g. emis.K84001, as mwg list shows)", s);
	memcpy(o->name, t.name, sizeof(o->name));
	memcpy(o->practice, t.practice, sizeof(o->practice));
	o->port = strchr(s, ':') ? t.port : 0;
	return 0;
}

static int
open_options(int argc, char **argv, struct open_opts *o)
{
	static const struct option longopts[] = {
		{ "break-glass",	required_argument,	NULL, 'b' },
		{ "dir",		required_argument,	NULL, 'd' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 },
	};
	int ch, rest;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			o->break_glass = optarg;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'h':
			fputs(open_help, stdout);
			return -1;
		default:
			return client_bad_option(VERB, open_usage, ch, argv);
		}
	}
	if (optind >= argc)
		return client_usage(VERB, open_usage, "which system? "
		    "(NAME.PRACTICE, as mwg list shows)");
	if (o->break_glass != NULL && !client_break_glass_valid(o->break_glass))
		return client_usage(VERB, open_usage, "--break-glass needs a "
		    "reason of 1-200 printable characters");
	if (open_parse_name(argv[optind], o) != 0)
		return CLIENT_EXIT_USAGE;
	rest = optind + 1;
	/* getopt moved "--" before the operand; what follows is the
	 * program's. */
	if (rest < argc && strcmp(argv[optind - 1], "--") != 0 &&
	    strcmp(argv[rest], "--") != 0)
		return client_usage(VERB, open_usage, "one system only (more "
		    "arguments for the program go after --)");
	for (int i = 1; i < optind; i++)
		if (strcmp(argv[i], "--") == 0)
			rest = optind;		/* the operand followed it */
	if (rest < argc) {
		o->extra = argv + rest + 1;
		o->nextra = argc - rest - 1;
	}
	if (o->nextra > ARGS_MAX - 8)
		return client_usage(VERB, open_usage, "at most %d arguments "
		    "for the program", ARGS_MAX - 8);
	return 0;
}

/* ---- notifications -------------------------------------------------- */

/* Runs prog with argv and waits for it; 0 if it exited 0. */
static int
open_run_wait(const char *prog, char *const *argv)
{
	pid_t pid;
	int status;

	if (posix_spawnp(&pid, prog, NULL, NULL, argv, environ) != 0)
		return -1;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/*
 * A refusal or cut, as a desktop notification too: the person is looking
 * at the remote desktop or the browser, not at the terminal. Best effort:
 * no notifier, no notification (the line is on stderr anyway).
 */
static void
open_said_cb(const char *line, int is_cut, void *arg)
{
	const char *prog = getenv("MWG_NOTIFY");
	char title[sizeof(open_target_text) + 16];
	char *argv[6];
	int n = 0;

	(void)arg;
	if (!is_cut)
		return;
	if (prog == NULL)
		prog = NOTIFY_DEFAULT;
	if (*prog == '\0')
		return;
	snprintf(title, sizeof(title), "mwg: %s", open_target_text);
	argv[n++] = (char *)prog;
	if (strcmp(prog, NOTIFY_DEFAULT) == 0) {
		argv[n++] = (char *)"--app-name=mwg";
		argv[n++] = (char *)"--urgency=critical";
	}
	argv[n++] = title;
	argv[n++] = (char *)line;
	argv[n] = NULL;
	open_run_wait(prog, argv);
}

/* ---- the program ------------------------------------------------------ */

struct open_program {
	const char	*path;		/* what to run */
	char		*argv[ARGS_MAX + 1];
	int		 argc;
	char		 addr[64];	/* 127.0.0.1:PORT */
	char		 buf[4][CLIENT_HOST_MAX + 64];	/* argument text */
};

/* 1 if prog is found in PATH (or is a path that can be run). */
static int
open_have(const char *prog)
{
	char path[PATH_MAX], *env, *copy, *dir, *save = NULL;
	int found = 0;

	if (strchr(prog, '/') != NULL)
		return access(prog, X_OK) == 0;
	if ((env = getenv("PATH")) == NULL)
		return 0;
	copy = strdup(env);
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", *dir ? dir : ".", prog);
		found = access(path, X_OK) == 0;
	}
	free(copy);
	return found;
}

/* The program for kind: MWG_OPEN_<KIND>, else the first default found. */
static const char *
open_choose(const char *kind)
{
	static const char *const rdp[] = { "xfreerdp", "xfreerdp3",
	    "remmina", NULL };
	static const char *const ssh[] = { "ssh", NULL };
	static const char *const web[] = { "xdg-open", NULL };
	const char *const *defaults = strcmp(kind, "rdp") == 0 ? rdp :
	    strcmp(kind, "ssh") == 0 ? ssh : web;
	const char *env = getenv(strcmp(kind, "rdp") == 0 ? "MWG_OPEN_RDP" :
	    strcmp(kind, "ssh") == 0 ? "MWG_OPEN_SSH" : "MWG_OPEN_WEB");

	if (env != NULL && *env != '\0')
		return env;
	for (; *defaults != NULL; defaults++)
		if (open_have(*defaults))
			return *defaults;
	return NULL;
}

static void
open_arg(struct open_program *p, const char *a)
{
	if (p->argc < ARGS_MAX)
		p->argv[p->argc++] = (char *)a;
}

/* The arguments a known program takes; any other gets one address. */
static void
open_args(struct open_program *p, const struct client_reach *r, int port,
    const char *url, const struct open_opts *o)
{
	char copy[PATH_MAX];
	const char *base;

	snprintf(copy, sizeof(copy), "%s", p->path);
	base = basename(copy);
	snprintf(p->addr, sizeof(p->addr), "127.0.0.1:%d", port);
	open_arg(p, p->path);
	if (strstr(base, "freerdp") != NULL) {
		snprintf(p->buf[0], sizeof(p->buf[0]), "/v:%s", p->addr);
		open_arg(p, p->buf[0]);
		if (r->host[0] != '\0') {
			/* The server's certificate names the host, not us. */
			snprintf(p->buf[1], sizeof(p->buf[1]), "/cert-name:%s",
			    r->host);
			open_arg(p, p->buf[1]);
		}
	} else if (strstr(base, "remmina") != NULL) {
		snprintf(p->buf[0], sizeof(p->buf[0]), "rdp://%s", p->addr);
		open_arg(p, "-c");
		open_arg(p, p->buf[0]);
	} else if (strcmp(base, "ssh") == 0) {
		snprintf(p->buf[0], sizeof(p->buf[0]), "%d", port);
		if (r->host[0] != '\0')
			snprintf(p->buf[1], sizeof(p->buf[1]), "HostKeyAlias=%s",
			    r->host);
		else
			snprintf(p->buf[1], sizeof(p->buf[1]),
			    "HostKeyAlias=%s.%s", r->t.name, r->t.practice);
		open_arg(p, "-p");
		open_arg(p, p->buf[0]);
		open_arg(p, "-o");
		open_arg(p, p->buf[1]);
		/* ssh's options come before the host; after it, a command. */
		for (int i = 0; i < o->nextra; i++)
			open_arg(p, o->extra[i]);
		open_arg(p, "127.0.0.1");
		p->argv[p->argc] = NULL;
		return;
	} else
		open_arg(p, url != NULL ? url : p->addr);
	for (int i = 0; i < o->nextra; i++)
		open_arg(p, o->extra[i]);
	p->argv[p->argc] = NULL;
}

/* What the program finds in its environment about what it opens. */
static void
open_env(const struct client_reach *r, int port)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", port);
	setenv("MWG_OPEN_TARGET", r->t.authority, 1);
	setenv("MWG_OPEN_KIND", r->kind, 1);
	setenv("MWG_OPEN_HOST", r->host, 1);
	setenv("MWG_OPEN_ADDR", "127.0.0.1", 1);
	setenv("MWG_OPEN_PORT", num, 1);
}

/*
 * Starts the program and waits for it; the tunnels serve its connections
 * meanwhile. Returns the exit status mwg should have.
 */
static int
open_run(struct open_program *p, const struct client_reach *r)
{
	pid_t pid;
	int status, rc;

	if ((rc = posix_spawnp(&pid, p->path, NULL, NULL, p->argv,
	    environ)) != 0)
		return client_fail(VERB, "cannot start %s: %s", p->path,
		    strerror(rc));
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return client_fail(VERB, "waiting for %s: %s", p->path,
			    strerror(errno));
	/* Its sockets closed with it: let the tunnels finish in order. */
	client_tunnels_wait(open_tunnels, OPEN_DRAIN);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		fprintf(stderr, "mwg: %s: %s: %s ended; tunnels closed\n",
		    VERB, r->t.authority, p->path);
		return CLIENT_EXIT_OK;
	}
	if (WIFEXITED(status))
		return client_fail(VERB, "%s: %s exited with status %d; tunnels "
		    "closed", r->t.authority, p->path, WEXITSTATUS(status));
	return client_fail(VERB, "%s: %s ended by signal %d; tunnels closed",
	    r->t.authority, p->path, WTERMSIG(status));
}

static void *
open_serve_thread(void *arg)
{
	int lfd = *(int *)arg;

	client_tunnels_serve(open_tunnels, lfd);
	return NULL;
}

/*
 * Why the gateway refuses port on the system: a CONNECT, answered with
 * the reason a clinician needs (out of hours, the posture, a lock) and
 * audited as any refused CONNECT. 0 with the reason in why; 1 if it was
 * allowed after all (the tunnel is closed at once); -1 if it cannot ask.
 */
static int
open_ask_why(struct client_tls *sess, const struct open_opts *o, int port,
    char *why, size_t whylen)
{
	struct client_answer a;
	char req[512], rest[16384], err[CLIENT_ERR_MAX];
	size_t restlen = 0;
	SSL *ssl;
	int n, rc = -1;

	if ((ssl = client_tls_open(sess, err, sizeof(err))) == NULL)
		return -1;
	n = snprintf(req, sizeof(req), "CONNECT %s.%s:%d HTTP/1.1\r\nHost: "
	    "%s.%s:%d\r\n\r\n", o->name, o->practice, port, o->name,
	    o->practice, port);
	client_answer_init(&a, 1);
	if (SSL_write(ssl, req, n) == n && client_read_answer(ssl, &a, rest,
	    sizeof(rest), &restlen, err, sizeof(err)) == 0) {
		rc = a.status / 100 == 2;
		if (rc == 0) {
			client_answer_reason(&a, why, whylen);
			client_text_clean(why);
			snprintf(why + strlen(why), whylen - strlen(why), " (%d)",
			    a.status);
		}
	}
	client_answer_free(&a);
	client_tls_close(ssl);
	return rc;
}

/*
 * The system among those the person may reach, or NULL (said why). One
 * not listed now but known (listed before, in kept, or named with its
 * port) is asked about, so the person hears the gateway's reason, not
 * only that it is missing.
 */
static const struct client_reach *
open_find(const struct client_reach_list *l, const struct client_reach_list
    *kept, const struct open_opts *o, struct client_tls *sess)
{
	const struct client_reach *r = client_reach_find(l, o->name,
	    o->practice), *was = client_reach_find(kept, o->name, o->practice);
	int port = o->port ? o->port : was != NULL ? was->t.port : 0;
	char why[CLIENT_ERR_MAX];

	if (r == NULL && port != 0 && open_ask_why(sess, o, port, why,
	    sizeof(why)) == 0) {
		client_fail(VERB, "%s.%s:%d: %s", o->name, o->practice, port,
		    why);
		return NULL;
	}
	if (r == NULL) {
		client_fail(VERB, "%s.%s is not among the systems you may reach "
		    "now (mwg list shows them)", o->name, o->practice);
		return NULL;
	}
	if (r->is_break_glass && o->break_glass == NULL) {
		client_fail(VERB, "%s.%s is reachable only with break-glass, in "
		    "an emergency: mwg open %s.%s --break-glass REASON",
		    o->name, o->practice, o->name, o->practice);
		return NULL;
	}
	return r;
}

/* A web system: by its real name in the browser, through mwg proxy. */
static int
open_web(const struct client_reach *r, const struct open_opts *o,
    const struct client_device *dev)
{
	struct open_program p = { 0 };
	char url[CLIENT_HOST_MAX + 32], addr[64];

	if (r->host[0] == '\0')
		return client_fail(VERB, "%s is a web system without a host "
		    "name in the policy: ask IT", r->t.authority);
	/* The proxy serves what the person may reach without a reason:
	 * emergency access is asked for one system at a time. */
	if (r->is_break_glass)
		return client_fail(VERB, "%s is a web system reachable only "
		    "with break-glass, which mwg proxy does not carry: call the "
		    "service desk (they can open it with mwg connect %s --listen "
		    "... --break-glass REASON)", r->t.authority, r->t.authority);
	if (client_proxy_running(dev, addr, sizeof(addr)) != 1)
		return client_fail(VERB, "%s is a web system: it opens through "
		    "mwg proxy, which is not running (start it with mwg proxy, "
		    "and set the browser's proxy configuration URL to the one it "
		    "prints)", r->t.authority);
	if (r->t.port == 443)
		snprintf(url, sizeof(url), "https://%s/", r->host);
	else
		snprintf(url, sizeof(url), "https://%s:%d/", r->host,
		    r->t.port);
	if ((p.path = open_choose("web")) == NULL)
		return client_fail(VERB, "no browser to open %s with (install "
		    "xdg-utils, or set MWG_OPEN_WEB)", url);
	open_args(&p, r, r->t.port, url, o);
	open_env(r, r->t.port);
	fprintf(stderr, "mwg: %s: opening %s (through mwg proxy at %s)\n",
	    VERB, url, addr);
	return open_run(&p, r);
}

/* rdp, ssh, tcp: a local port of our own and the program on it. */
static int
open_local(const struct client_reach *r, const struct open_opts *o)
{
	struct open_program p = { 0 };
	static int lfd;
	pthread_attr_t attr;
	pthread_t tid;
	int port, rc;

	if (strcmp(r->kind, "tcp") != 0 && (p.path = open_choose(r->kind)) ==
	    NULL)
		return client_fail(VERB, "no program for %s systems found (%s; "
		    "or set MWG_OPEN_%s)", r->kind, strcmp(r->kind, "rdp") == 0 ?
		    "install freerdp2-x11 or remmina" : "install openssh-client",
		    strcmp(r->kind, "rdp") == 0 ? "RDP" : "SSH");
	if ((lfd = client_tunnels_listen_any(VERB, &port)) == -1)
		return CLIENT_EXIT_FAIL;
	client_tunnels_target(open_tunnels, &r->t, o->break_glass);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, open_serve_thread, &lfd);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return client_fail(VERB, "cannot start a thread: %s",
		    strerror(rc));
	if (p.path == NULL) {
		printf("mwg: %s: forwarding 127.0.0.1:%d to %s; stop with "
		    "Ctrl-C\n", VERB, port, r->t.authority);
		fflush(stdout);
		for (;;)
			pause();
	}
	open_args(&p, r, port, NULL, o);
	open_env(r, port);
	fprintf(stderr, "mwg: %s: %s (%s) on 127.0.0.1:%d with %s\n", VERB,
	    r->t.authority, r->kind, port, p.path);
	return open_run(&p, r);
}

int
client_open(int argc, char **argv)
{
	static const struct client_tunnel_hooks hooks = {
		.said = open_said_cb,
	};
	struct client_reach_list l, kept;
	const struct client_reach *r;
	struct open_opts o = { 0 };
	char err[CLIENT_ERR_MAX];
	struct client_tls *sess;
	time_t until;
	int rc;

	if ((rc = open_options(argc, argv, &o)) != 0)
		return rc == -1 ? CLIENT_EXIT_OK : rc;
	snprintf(open_target_text, sizeof(open_target_text), "%s.%s", o.name,
	    o.practice);
	if ((open_tunnels = client_tunnels_prepare(VERB, o.dir, NULL,
	    o.break_glass, 0, &hooks)) == NULL)
		return CLIENT_EXIT_FAIL;
	/* What was reachable before, for a system missing now. */
	if (client_reach_load_kept(&client_tunnels_device(open_tunnels)->st,
	    &kept, err, sizeof(err)) == -1)
		memset(&kept, 0, sizeof(kept));
	sess = client_tunnels_session(open_tunnels, &until);
	if (client_reach_fetch_keep(sess,
	    &client_tunnels_device(open_tunnels)->st, &l, err,
	    sizeof(err)) == -1) {
		client_reach_free(&kept);
		return client_fail(VERB, "cannot learn what you may reach: %s",
		    err);
	}
	r = open_find(&l, &kept, &o, sess);
	client_reach_free(&kept);
	if (r == NULL)
		rc = CLIENT_EXIT_FAIL;
	else if (strcmp(r->kind, "web") == 0)
		rc = open_web(r, &o, client_tunnels_device(open_tunnels));
	else
		rc = open_local(r, &o);
	client_reach_free(&l);
	return rc;
}
