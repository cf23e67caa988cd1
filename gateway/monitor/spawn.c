/*
 * Starting, watching and restarting the network process (monitor.h).
 *
 * The network process is this program again, exec'd with a hidden option:
 * a fresh address space that has never held a key. Before the exec the
 * child becomes the network user and keeps only CAP_SYS_CHROOT (ambient)
 * to enter its empty root; the monitor then hands it, over the channel,
 * everything it may have: the configuration files it would read, the TLS
 * and SSH host keys, the listening sockets (inherited) and the in-memory
 * state. If it dies, its death and its tunnels' end are audited and a
 * new one is started within a second.
 */
#include "gateway/monitor/monitor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grp.h>
#include <linux/capability.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "audit/audit.h"
#include "common/fbundle.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/denylist.h"
#include "gateway/drain.h"
#include "gateway/devcache.h"
#include "gateway/ipc.h"
#include "gateway/monitor/privdrop.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"
#include "gateway/state_mirror.h"

#define NETPROC_INIT_MS		30000	/* to come up (ASan builds are slow) */
#define NETPROC_RESPAWN_MS	200	/* after a death, before the next */
#define NETPROC_RESPAWN_MAX_MS	1000	/* ... doubled while each dies young */
#define NETPROC_QUIT_MS		30000	/* to close every tunnel and exit */
#define NETPROC_OLD_MAX		64	/* dead channels kept until exit */

static struct {
	struct server *srv;
	struct event_base *base;
	struct netproc_conf nc;
	char self[PATH_MAX];		/* this program, for the exec */
	pid_t pid;
	struct ipc *ch;			/* the live one's channel, or NULL */
	pthread_mutex_t lock;		/* ch, and the mirror's order */
	struct event *ev_chld;
	struct event *ev_respawn;
	int stopping;
	unsigned long generation;	/* network processes started */
	struct timespec started;	/* the last one's fork (monotonic) */
	long respawn_ms;		/* the next restart's delay */
	struct ipc *old[NETPROC_OLD_MAX];
	int nold;
	json_t *tunnels;		/* open ones: id -> the open record */
	char not_ready[128];		/* why not ready; "": ready */
} np = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct ipc *
netproc_channel(void)
{
	struct ipc *ch;

	pthread_mutex_lock(&np.lock);
	ch = np.ch;
	pthread_mutex_unlock(&np.lock);
	return ch;
}

int
netproc_withhold_key(json_t *bundle, const struct gw_snapshot *snap)
{
	EVP_PKEY *k = SSL_CTX_get0_privatekey(snap->ssl);

	if (!snap->conf->tls.key_in_monitor || k == NULL ||
	    EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
		return 0;
	return fbundle_withhold(bundle, snap->conf->tls.key);
}

void
netproc_status(json_t *r)
{
	json_object_set_new(r, "network_pid", json_integer(np.pid));
	json_object_set_new(r, "network_restarts", json_integer(
	    np.generation > 0 ? (json_int_t)np.generation - 1 : 0));
}

void
netproc_set_bundle(json_t *b)
{
	json_decref(np.nc.bundle);
	np.nc.bundle = b;
}

/* ---- the mirror of the in-memory state ---------------------------------- */

/* Each change of the denylist or devcache, in order, to the live one. */
static void
mirror_cb(void *arg, json_t *op)
{
	(void)arg;
	pthread_mutex_lock(&np.lock);
	if (np.ch != NULL)
		ipc_send(np.ch, IPC_STATE, op);
	else
		json_decref(op);
	pthread_mutex_unlock(&np.lock);
}

static void
dump_cb(void *arg, json_t *op)
{
	json_array_append_new(arg, op);
}

/* The op that tells the network process why the node is not ready. */
static json_t *
not_ready_op(void)
{
	json_t *op = json_pack("{s:s, s:s}", "op", "health", "name", "store");

	/* No "why": ready again. */
	if (np.not_ready[0] != '\0')
		json_object_set_new(op, "why", json_string(np.not_ready));
	return op;
}

void
netproc_set_not_ready(const char *why)
{
	pthread_mutex_lock(&np.lock);
	snprintf(np.not_ready, sizeof(np.not_ready), "%s", why ? why : "");
	if (np.ch != NULL)
		ipc_send(np.ch, IPC_STATE, not_ready_op());
	pthread_mutex_unlock(&np.lock);
}

/* ---- the tunnels it holds, from its own records ------------------------- */

void
netproc_track(const char *action, const char *outcome, json_t *fields)
{
	json_t *id = json_object_get(fields, "tunnel.id");
	char key[32];

	if (!json_is_integer(id))
		return;
	snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(id));
	pthread_mutex_lock(&np.lock);
	if (strcmp(action, "tunnel.open") == 0 && strcmp(outcome,
	    "success") == 0)
		json_object_set_new(np.tunnels, key, json_deep_copy(fields));
	else if (strcmp(action, "tunnel.close") == 0)
		json_object_del(np.tunnels, key);
	pthread_mutex_unlock(&np.lock);
}

/* Its tunnels ended with it: each gets its close record here. */
static void
close_orphans(void)
{
	const char *key;
	json_t *f, *t;

	pthread_mutex_lock(&np.lock);
	t = np.tunnels;
	np.tunnels = json_object();
	pthread_mutex_unlock(&np.lock);
	json_object_foreach(t, key, f) {
		json_t *c = json_deep_copy(f);

		json_object_del(c, "mwg.origin");
		audit_append(np.srv->audit, "tunnel.close", "success",
		    audit_fields_add(c, "network-process-exited", NULL));
	}
	json_decref(t);
}

/* ---- its empty root ----------------------------------------------------- */

int
netproc_root_ready(const char *path, char *err, size_t errlen)
{
	struct dirent *e;
	struct stat st;
	DIR *dir;
	int n = 0;

	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot make it: %s", strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) != 0) {
		snprintf(err, errlen, "must be a directory owned by root that "
		    "only root may write");
		return -1;
	}
	if ((dir = opendir(path)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	while ((e = readdir(dir)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(dir);
	if (n > 0) {
		snprintf(err, errlen, "must be empty");
		return -1;
	}
	return 0;
}

/* ---- the child ---------------------------------------------------------- */

/* Only the channel and the listening sockets cross the exec. */
static void
child_fds(int chfd)
{
	/* Older kernels, or a filter that refuses it: one by one. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		for (int fd = 3; fd < (int)sysconf(_SC_OPEN_MAX); fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(chfd, F_SETFD, 0);
	for (int i = 0; i < np.nc.ntls; i++)
		fcntl(np.nc.tls_fds[i], F_SETFD, 0);
	if (np.nc.ssh_fd != -1)
		fcntl(np.nc.ssh_fd, F_SETFD, 0);
}

/* The network user, keeping only CAP_SYS_CHROOT for its empty root. */
static void
child_become(void)
{
	const uint64_t raise = 1ULL << CAP_SETUID | 1ULL << CAP_SETGID |
	    1ULL << CAP_SYS_CHROOT, chroot_cap = 1ULL << CAP_SYS_CHROOT;

	if (privdrop_caps(raise, raise, 0) == -1 || setgroups(0, NULL) == -1 ||
	    setresgid(np.nc.gid, np.nc.gid, np.nc.gid) == -1 ||
	    setresuid(np.nc.uid, np.nc.uid, np.nc.uid) == -1 ||
	    privdrop_caps(chroot_cap, 0, chroot_cap) == -1 ||
	    privdrop_ambient(CAP_SYS_CHROOT) == -1) {
		dprintf(2, "mwgd: network process: cannot become uid %d: %s\n",
		    (int)np.nc.uid, strerror(errno));
		_exit(1);
	}
}

/*
 * The network process's environment: none of the monitor's (no library
 * preloaded for PAM or NSS, whose exit handlers would open files in the
 * sandbox; nothing else it could read), only the sanitizers' options.
 */
static void
child_env(char **envp, size_t max)
{
	static const char *const keep[] = { "ASAN_OPTIONS=", "UBSAN_OPTIONS=",
	    "LSAN_OPTIONS=" };
	extern char **environ;
	size_t n = 0;

	for (char **e = environ; e != NULL && *e != NULL && n + 1 < max; e++)
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if (strncmp(*e, keep[i], strlen(keep[i])) == 0)
				envp[n++] = *e;
	envp[n] = NULL;
}

static void
child_exec(int chfd)
{
	char fdstr[16];
	char *argv[6], *envp[8];
	int n = 0;

	child_fds(chfd);
	if (np.nc.as_root)
		child_become();
	/* The monitor's end is this one's end (set after the uid change,
	 * which clears it). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(fdstr, sizeof(fdstr), "%d", chfd);
	argv[n++] = "mwgd";
	argv[n++] = "--network-process";
	argv[n++] = fdstr;
	argv[n++] = (char *)(np.nc.as_root ? np.nc.root : "-");
	if (np.nc.debug)
		argv[n++] = "-d";
	argv[n] = NULL;
	child_env(envp, sizeof(envp) / sizeof(envp[0]));
	execve(np.self, argv, envp);
	dprintf(2, "mwgd: cannot run the network process %s: %s\n", np.self,
	    strerror(errno));
	_exit(127);
}

/* ---- INIT ----------------------------------------------------------------- */

static json_t *
init_message(void)
{
	json_t *fds = json_array(), *state = json_array(), *keys = json_array();

	for (int i = 0; i < np.nc.ntls; i++)
		json_array_append_new(fds, json_integer(np.nc.tls_fds[i]));
	for (int i = 0; i < 2 && np.nc.ssh_keys[i]; i++)
		json_array_append_new(keys, json_string(np.nc.ssh_keys[i]));
	denylist_dump(np.srv->deny, dump_cb, state);
	devcache_dump(np.srv->devices, dump_cb, state);
	if (np.not_ready[0] != '\0')
		json_array_append_new(state, not_ready_op());
	return json_pack("{s:s, s:O, s:o, s:i, s:o, s:o, s:b, s:I, s:I, s:b}",
	    "conf_path", np.nc.conf_path, "bundle", np.nc.bundle,
	    "tls_fds", fds, "ssh_fd", np.nc.ssh_fd, "ssh_keys", keys,
	    "state", state, "has_issuer", np.srv->issuer != NULL,
	    "started", (json_int_t)np.srv->started,
	    /* ids stay unique across network processes */
	    "id_base", (json_int_t)((np.generation - 1) << 40),
	    "draining", drain_is_active());
}

/* Starts one; 0 once it serves, or -1 with why (it was killed). */
static int
spawn_one(char *err, size_t errlen)
{
	int sv[2], ok = 0;
	struct ipc_pending *p;
	struct ipc *ch;
	json_t *r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		child_exec(sv[1]);
	}
	close(sv[1]);
	clock_gettime(CLOCK_MONOTONIC, &np.started);
	np.pid = pid;
	np.generation++;
	ch = ipc_start(sv[0], 1, mon_ipc_handle, np.srv);
	/* The state goes out after INIT, in order, and no change is lost:
	 * the dump and the switch of the mirror are under one lock. */
	pthread_mutex_lock(&np.lock);
	p = ipc_call_begin(ch, IPC_INIT, init_message());
	np.ch = ch;
	pthread_mutex_unlock(&np.lock);
	r = ipc_call_end(ch, p, NETPROC_INIT_MS);
	if (r == NULL || ipc_bool(r, "ok", &ok) == -1 || !ok) {
		snprintf(err, errlen, "the network process did not start: %s",
		    ipc_str(r, "error", 512) ? ipc_str(r, "error", 512) :
		    "no answer");
		json_decref(r);
		kill(pid, SIGKILL);
		return -1;
	}
	json_decref(r);
	log_info("network process %d serving (uid %d)", (int)pid,
	    (int)(np.nc.as_root ? np.nc.uid : geteuid()));
	return 0;
}

/* ---- death and restart -------------------------------------------------- */

static void
channel_retire(void)
{
	struct ipc *ch;

	pthread_mutex_lock(&np.lock);
	ch = np.ch;
	np.ch = NULL;
	pthread_mutex_unlock(&np.lock);
	if (ch == NULL)
		return;
	/* Calls in flight may still hold it: freed at exit. */
	if (np.nold < NETPROC_OLD_MAX)
		np.old[np.nold++] = ch;
}

static void
audit_child_exit(pid_t pid, int status)
{
	json_t *f = json_pack("{s:i, s:s}", "process.pid", (int)pid,
	    "process.name", "mwgd (network)");

	if (WIFSIGNALED(status)) {
		json_object_set_new(f, "process.exit_signal",
		    json_integer(WTERMSIG(status)));
		log_warnx("network process %d killed by signal %d%s", (int)pid,
		    WTERMSIG(status), WTERMSIG(status) == SIGSYS ? " (a system "
		    "call its sandbox forbids)" : "");
	} else {
		json_object_set_new(f, "process.exit_code",
		    json_integer(WEXITSTATUS(status)));
		log_warnx("network process %d exited with status %d", (int)pid,
		    WEXITSTATUS(status));
	}
	audit_append(np.srv->audit, "daemon.child_exit", "failure", f);
}

static void
respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	char err[512];

	(void)fd;
	(void)what;
	(void)arg;
	if (np.stopping || np.pid != 0)
		return;
	if (spawn_one(err, sizeof(err)) == -1) {
		log_warnx("%s; trying again", err);
		/* Its death (SIGCHLD) schedules the next try. */
	}
}

/*
 * 0.2 s after a death; one that dies within a second of its start
 * doubles the wait, up to a second: a crash loop costs a restart and a
 * record a second, not a storm.
 */
static void
respawn_later(void)
{
	struct timespec now;
	long lived_ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	lived_ms = (now.tv_sec - np.started.tv_sec) * 1000 +
	    (now.tv_nsec - np.started.tv_nsec) / 1000000;
	if (lived_ms >= 1000 || np.respawn_ms == 0)
		np.respawn_ms = NETPROC_RESPAWN_MS;
	else if ((np.respawn_ms *= 2) > NETPROC_RESPAWN_MAX_MS)
		np.respawn_ms = NETPROC_RESPAWN_MAX_MS;
	event_add(np.ev_respawn, &(struct timeval){ np.respawn_ms / 1000,
	    (np.respawn_ms % 1000) * 1000 });
}

static void
sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	int status;
	pid_t pid;

	(void)sig;
	(void)what;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != np.pid)
			continue;
		np.pid = 0;
		channel_retire();
		if (np.stopping)
			continue;
		audit_child_exit(pid, status);
		close_orphans();
		respawn_later();
	}
}

int
netproc_start(struct server *srv, struct event_base *base,
    const struct netproc_conf *nc, char *err, size_t errlen)
{
	ssize_t n;

	np.srv = srv;
	np.base = base;
	np.nc = *nc;
	np.nc.bundle = json_incref(nc->bundle);
	np.tunnels = json_object();
	if ((n = readlink("/proc/self/exe", np.self, sizeof(np.self) - 1)) <=
	    0) {
		snprintf(err, errlen, "cannot find this program: %s",
		    strerror(errno));
		return -1;
	}
	np.self[n] = '\0';
	denylist_set_mirror(srv->deny, mirror_cb, NULL);
	devcache_set_mirror(srv->devices, mirror_cb, NULL);
	np.ev_chld = evsignal_new(base, SIGCHLD, sigchld_cb, NULL);
	np.ev_respawn = evtimer_new(base, respawn_cb, NULL);
	event_add(np.ev_chld, NULL);
	return spawn_one(err, errlen);
}

void
netproc_stop(void)
{
	struct ipc *ch = netproc_channel();
	int status;

	np.stopping = 1;
	if (ch != NULL)
		json_decref(ipc_call(ch, IPC_QUIT, json_object(),
		    NETPROC_QUIT_MS));
	if (np.pid > 0) {
		if (waitpid(np.pid, &status, 0) == np.pid &&
		    (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			audit_child_exit(np.pid, status);
		np.pid = 0;
	}
	channel_retire();
	for (int i = 0; i < np.nold; i++)
		ipc_free(np.old[i]);
	np.nold = 0;
	denylist_set_mirror(np.srv->deny, NULL, NULL);
	devcache_set_mirror(np.srv->devices, NULL, NULL);
	event_free(np.ev_chld);
	event_free(np.ev_respawn);
	json_decref(np.nc.bundle);
	json_decref(np.tunnels);
	for (int i = 0; i < 2; i++)
		free(np.nc.ssh_keys[i]);
}
