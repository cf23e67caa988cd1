/*
 * The network process's life (net/net_main.h): confine, take INIT from
 * the monitor (configuration, keys, sockets, state), start the workers
 * and the SSH threads, seal the sandbox, serve until QUIT; exit at once
 * if the monitor goes.
 */
#include "gateway/net/net_main.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/fbundle.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/denylist.h"
#include "gateway/drain.h"
#include "gateway/devcache.h"
#include "gateway/ipc.h"
#include "gateway/net/net_ipc.h"
#include "gateway/net/sandbox.h"
#include "gateway/net/tls_remote.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"
#include "gateway/ssh.h"
#include "gateway/state_mirror.h"

#define NET_FDS_MAX	256	/* TLS listening sockets (one per worker) */
#define NET_ERR_MAX	1024

static struct {
	struct server srv;
	struct ipc *ch;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ready;
	int quit;
	uint64_t quit_id;
} nd = { .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER };

/* A listening TCP socket this process was given: 1, or 0. */
static int
net_listening_fd(long long fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	return fd > 2 && fd < 65536 && getsockopt((int)fd, SOL_SOCKET,
	    SO_ACCEPTCONN, &on, &len) == 0 && on;
}

static int
net_tls_fds(json_t *msg, int *fds, int *n)
{
	json_t *a = json_object_get(msg, "tls_fds"), *v;
	size_t i;

	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > NET_FDS_MAX)
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || !net_listening_fd(
		    json_integer_value(v)))
			return -1;
		fds[(*n)++] = (int)json_integer_value(v);
	}
	return 0;
}

/* The monitor's configuration files, parsed as it parsed them. */
static int
net_config(json_t *msg, char *err, size_t errlen)
{
	const char *path = ipc_str(msg, "conf_path", 4096);
	json_t *bundle = json_object_get(msg, "bundle");
	struct conf_errors errs = { 0 };
	struct gw_snapshot *s;
	char *why;

	if (path == NULL || !fbundle_valid(bundle)) {
		snprintf(err, errlen, "malformed configuration");
		return -1;
	}
	fbundle_serve(bundle);
	s = snapshot_load(path, &errs);
	fbundle_serve(NULL);
	if (s == NULL) {
		why = conf_errors_join(&errs);
		snprintf(err, errlen, "%s", why);
		free(why);
		conf_errors_clear(&errs);
		return -1;
	}
	snapshot_install(s, NULL, 0);
	return 0;
}

/* The state every decision reads, as the monitor has it now. */
static int
net_state(json_t *msg)
{
	json_t *ops = json_object_get(msg, "state"), *op;
	struct server *srv = &nd.srv;
	long long started, base;
	size_t i;
	int b;

	if (!json_is_array(ops) || ipc_bool(msg, "has_issuer", &b) == -1 ||
	    ipc_int(msg, "started", 0, INT64_MAX, &started) == -1 ||
	    ipc_int(msg, "id_base", 0, INT64_MAX, &base) == -1)
		return -1;
	srv->has_issuer = b;
	if (ipc_bool(msg, "draining", &b) == 0 && b)
		drain_activate();
	srv->started = (time_t)started;
	atomic_store(&srv->next_id, (uint64_t)base);
	srv->deny = denylist_new();
	srv->devices = devcache_new();
	json_array_foreach(ops, i, op)
		if (net_state_op(srv, op) == -1)
			return -1;
	return 0;
}

static int
net_ssh(json_t *msg, char *err, size_t errlen)
{
	struct gw_snapshot *snap = snapshot_get();
	json_t *keys = json_object_get(msg, "ssh_keys");
	const char *k[2] = { json_string_value(json_array_get(keys, 0)),
	    json_string_value(json_array_get(keys, 1)) };
	long long fd;
	int rc = -1;

	if (ipc_int(msg, "ssh_fd", -1, 65535, &fd) == -1)
		snprintf(err, errlen, "malformed ssh_fd");
	else if (fd == -1 || !snap->conf->has_ssh)
		rc = 0;
	else if (!net_listening_fd(fd) || k[0] == NULL || k[1] == NULL)
		snprintf(err, errlen, "no SSH socket or host keys");
	else if ((nd.srv.ssh = ssh_listener_new(snap->conf, (int)fd, k, err,
	    errlen)) != NULL) {
		struct ssh_listener *l = nd.srv.ssh;

		nd.srv.ssh = NULL;	/* set again by a successful start */
		rc = ssh_listener_start(l, &nd.srv, err, errlen);
	}
	snapshot_put(snap);
	return rc;
}

/* INIT: everything, then the sandbox's last stage. */
static json_t *
net_init(json_t *msg)
{
	char err[NET_ERR_MAX] = "";
	int fds[NET_FDS_MAX], n;

	nd.srv.net = nd.ch;
	nd.srv.audit = net_audit_open(nd.ch);
	tls_remote_init(nd.ch);
	pthread_mutex_init(&nd.srv.reg_lock, NULL);
	TAILQ_INIT(&nd.srv.tunnels);
	if (net_config(msg, err, sizeof(err)) == -1)
		goto fail;
	if (net_state(msg) == -1 || net_tls_fds(msg, fds, &n) == -1) {
		snprintf(err, sizeof(err), "malformed INIT");
		goto fail;
	}
	workers_start(&nd.srv, fds, n);
	if (net_ssh(msg, err, sizeof(err)) == -1 ||
	    sandbox_seal(err, sizeof(err)) == -1)
		goto fail;
	nd.ready = 1;
	return json_pack("{s:b}", "ok", 1);
fail:
	log_warnx("network process: %s", err);
	return json_pack("{s:b, s:s}", "ok", 0, "error", err);
}

static void
net_boot_handle(struct ipc *ch, int type, uint64_t id, int is_call,
    json_t *msg, void *arg)
{
	(void)arg;
	if (type == IPC_CLOSED) {
		/* Never without the monitor. */
		if (!nd.quit)
			_exit(0);
		return;
	}
	if (type == IPC_QUIT) {
		json_decref(msg);
		pthread_mutex_lock(&nd.lock);
		nd.quit = 1;
		nd.quit_id = id;
		pthread_cond_signal(&nd.cond);
		pthread_mutex_unlock(&nd.lock);
		return;
	}
	if (type == IPC_INIT && !nd.ready && is_call) {
		json_t *r;

		nd.ch = ch;	/* ipc_start may not have returned yet */
		r = net_init(msg);

		json_decref(msg);
		ipc_reply(ch, id, r);
		return;
	}
	if (!nd.ready) {
		json_decref(msg);
		if (is_call)
			ipc_reply(ch, id, json_pack("{s:s}", "error",
			    "not ready"));
		return;
	}
	net_ipc_handle(ch, type, id, is_call, msg, &nd.srv);
}

#ifdef MWG_TEST_TRIGGERS
/* Test builds only: SIGUSR2 makes this process call a system call its
 * sandbox forbids (scenario 66 watches it die of SIGSYS). */
static void
net_test_trigger(int sig)
{
	(void)sig;
	sandbox_test_forbidden();
}
#endif

/* QUIT: every tunnel closes (audited), then the answer, then exit. */
static void
net_stop(void)
{
	ssh_listener_stop(nd.srv.ssh);
	workers_join(&nd.srv);
	workers_free(&nd.srv);
	snapshot_clear();
	denylist_free(nd.srv.deny);
	devcache_free(nd.srv.devices);
	ipc_reply(nd.ch, nd.quit_id, json_pack("{s:b}", "ok", 1));
	sandbox_before_exit();
}

#ifndef __SANITIZE_ADDRESS__
/*
 * A tracer that attached between the exec and PR_SET_DUMPABLE stays
 * attached. Root's (an administrator's strace -f) may; any other is a
 * process of this user reading what the monitor is about to send.
 */
static void
net_refuse_foreign_tracer(void)
{
	char line[128], path[64];
	long tracer = 0;
	struct stat st;
	FILE *f;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		fatal("network process: /proc/self/status");
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "TracerPid:", 10) == 0)
			tracer = strtol(line + 10, NULL, 10);
	fclose(f);
	if (tracer == 0)
		return;
	snprintf(path, sizeof(path), "/proc/%ld", tracer);
	if (stat(path, &st) == 0 && st.st_uid == 0)
		return;
	fatalx("network process: traced by process %ld, which is not "
	    "root's: refusing to run", tracer);
}
#endif

void
net_main(int fd, const char *root, int debug)
{
	char err[NET_ERR_MAX];

	(void)debug;
	/* The monitor decides when to stop; a terminal's ^C reaches it. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
#ifdef MWG_TEST_TRIGGERS
	signal(SIGUSR2, net_test_trigger);
#endif
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#ifndef __SANITIZE_ADDRESS__
	/*
	 * The exec made this process dumpable again: without this, another
	 * process of its user could attach to it and read tunnel bytes and
	 * session state. (Test builds stay dumpable for the leak checker.)
	 */
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		fatal("network process: cannot make the process non-dumpable");
	net_refuse_foreign_tracer();
#endif
	if (getppid() == 1)
		_exit(0);	/* the monitor went before we could know */
	if (sandbox_confine(strcmp(root, "-") == 0 ? NULL : root, err,
	    sizeof(err)) == -1)
		fatalx("network process: %s", err);
	nd.ch = ipc_start(fd, 0, net_boot_handle, NULL);
	pthread_mutex_lock(&nd.lock);
	while (!nd.quit)
		pthread_cond_wait(&nd.cond, &nd.lock);
	pthread_mutex_unlock(&nd.lock);
	net_stop();
	exit(0);
}
