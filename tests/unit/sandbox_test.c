/*
 * gateway/net/sandbox: a child confines itself, starts threads and seals
 * itself, as root or as the network user; from outside (/proc/CHILD) it
 * has seccomp on, no new privileges, no capabilities, RLIMIT_NPROC 0 and
 * the empty root; inside, TCP, TLS, libevent, the monitor-link shape, JSON
 * and malloc still work; each forbidden call, on any thread, kills the
 * whole child with SIGSYS; and sanitizer reports still come out. Runs in
 * the sanitizer build (make test) and the release build, whose stricter
 * list only it checks. Run as root (chroot and the network user need it).
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/capability.h>

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "gateway/net/sandbox.h"
#include "unit.h"

#ifdef __SANITIZE_ADDRESS__
#define SAN_BUILD 1
#else
#define SAN_BUILD 0
#endif

/* More threads than glibc's default arena test (8 on 64-bit): the ninth
 * arena made after the seal is where glibc would read the CPU count. */
#define IDLE_THREADS	2
#define ARENA_THREADS	12
#define CHILD_WAIT_S	30	/* a child that hangs fails the test */

static char root_dir[64];
static pid_t parent_pid;	/* the test process, for the child to aim at */

static void
setup(void)
{
	make_tmp_dir(root_dir, sizeof(root_dir), "mwg-sandbox-root");
	/* The network user must be able to enter it. */
	cr_assert_eq(chmod(root_dir, 0755), 0);
}

static void
teardown(void)
{
	remove_tree(root_dir);
}

TestSuite(sandbox, .init = setup, .fini = teardown, .timeout = 60);

/* ---- the child ---------------------------------------------------------- */

/* What a sealed child does; its return value is the child's exit status. */
typedef int (*sealed_fn)(void);

#define CHILD_ERR_MAX	65536	/* the child's stderr kept, when captured */

struct child {
	pid_t pid;
	int go;		/* parent writes: carry on after the seal */
	int sealed;	/* child writes: sealed (or the reason it is not) */
	int err;	/* the child's stderr, or -1: not captured */
	char errbuf[CHILD_ERR_MAX];
	size_t errlen;
};

/* Threads that exist before the seal, as the network process's do: idle
 * ones, and nworkers that run worker_fn once the gate opens. */
static void *(*worker_fn)(void *);
static pthread_t workers[ARENA_THREADS];
static int nworkers;

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;

static void
gate_wait(void)
{
	pthread_mutex_lock(&gate_lock);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void
gate_release(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

static void *
idle_main(void *arg)
{
	gate_wait();
	return arg;
}

/*
 * As the monitor starts the network process: its own user (nobody here),
 * no other groups, and CAP_SYS_CHROOT alone, in the ambient set that an
 * exec would keep. A sanitizer build stays dumpable for its leak checker,
 * as privdrop_to does.
 */
static int as_network_user;
/* Run after the threads start and before the seal, as the network
 * process makes its event bases. */
static int (*before_seal)(void);

#define NETWORK_UID	65534
#define NETWORK_GID	65534

static int
become_network_user(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	const gid_t gid = NETWORK_GID;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1 ||
	    setgroups(1, &gid) == -1 ||
	    setresgid(NETWORK_GID, NETWORK_GID, NETWORK_GID) == -1 ||
	    setresuid(NETWORK_UID, NETWORK_UID, NETWORK_UID) == -1)
		return -1;
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = data[0].inheritable =
	    1u << CAP_SYS_CHROOT;
	if (syscall(SYS_capset, &hdr, data) == -1 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_CHROOT, 0,
	    0) == -1)
		return -1;
	if (SAN_BUILD && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1)
		return -1;
	return 0;
}

/*
 * Child side, in the network process's order: confine (single-threaded:
 * capabilities are per thread), start the threads, seal, tell the parent,
 * wait for it, run fn.
 */
static void
child_main(const char *root, int go, int sealed, sealed_fn fn)
{
	pthread_t t[IDLE_THREADS];
	char err[256] = "", c;

	if (as_network_user && become_network_user() == -1) {
		snprintf(err, sizeof(err), "cannot become the network user: %s",
		    strerror(errno));
		goto fail;
	}
	if (sandbox_confine(root, err, sizeof(err)) == -1)
		goto fail;
	for (int i = 0; i < IDLE_THREADS; i++)
		if (pthread_create(&t[i], NULL, idle_main, NULL) != 0)
			_exit(90);
	for (int i = 0; i < nworkers; i++)
		if (pthread_create(&workers[i], NULL, worker_fn, NULL) != 0)
			_exit(90);
	if (before_seal != NULL && before_seal() == -1) {
		snprintf(err, sizeof(err), "the pre-seal set-up failed");
		goto fail;
	}
	if (sandbox_seal(err, sizeof(err)) == -1)
		goto fail;
	if (write(sealed, "S", 1) != 1 || read(go, &c, 1) != 1)
		_exit(92);
	_exit(fn());
fail:
	(void)!write(sealed, err, strlen(err));
	_exit(91);
}

/* Forks a child that seals itself around fn; returns once it is sealed. */
static void
child_start(struct child *ch, const char *root, sealed_fn fn)
{
	int go[2], sealed[2], err[2] = { -1, -1 };
	char buf[256];
	ssize_t n;

	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(sealed), 0);
	if (ch->err == 0)	/* asked for: capture stderr */
		cr_assert_eq(pipe2(err, O_NONBLOCK), 0);
	fflush(NULL);
	parent_pid = getpid();
	cr_assert_neq(ch->pid = fork(), -1);
	if (ch->pid == 0) {
		close(go[1]);
		close(sealed[0]);
		if (err[1] != -1 && dup2(err[1], STDERR_FILENO) == -1)
			_exit(93);
		child_main(root, go[0], sealed[1], fn);
	}
	close(go[0]);
	close(sealed[1]);
	if (err[1] != -1)
		close(err[1]);
	ch->err = err[0];
	ch->errlen = 0;
	ch->go = go[1];
	ch->sealed = sealed[0];
	n = read(ch->sealed, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = '\0';
	cr_assert_str_eq(buf, "S", "the child did not seal itself: %s", buf);
}

/* Keeps what the child wrote to its stderr so far (when captured). */
static void
child_drain(struct child *ch)
{
	ssize_t n;

	if (ch->err == -1)
		return;
	while (ch->errlen < sizeof(ch->errbuf) - 1 && (n = read(ch->err,
	    ch->errbuf + ch->errlen, sizeof(ch->errbuf) - 1 - ch->errlen)) > 0)
		ch->errlen += (size_t)n;
	ch->errbuf[ch->errlen] = '\0';
}

/* Lets the child run its part; returns its wait status. */
static int
child_finish(struct child *ch)
{
	int status;
	pid_t r;

	cr_assert_eq(write(ch->go, "G", 1), 1);
	close(ch->go);
	close(ch->sealed);
	for (int i = 0; i < CHILD_WAIT_S * 100; i++) {
		child_drain(ch);
		if ((r = waitpid(ch->pid, &status, WNOHANG)) == ch->pid) {
			child_drain(ch);
			return status;
		}
		cr_assert_eq(r, 0);
		usleep(10000);
	}
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, &status, 0);
	cr_assert_fail("the child hung for %d s", CHILD_WAIT_S);
	return -1;
}

static const char *
root_for_child(void)
{
	return geteuid() == 0 ? root_dir : NULL;
}

/* fn, run sealed, must be killed by SIGSYS. */
static void
expect_sigsys(sealed_fn fn)
{
	struct child ch = { .err = -1 };
	int st;

	child_start(&ch, root_for_child(), fn);
	st = child_finish(&ch);
	cr_assert(WIFSIGNALED(st), "the forbidden call did not kill the child "
	    "(exit status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	cr_assert_eq(WTERMSIG(st), SIGSYS, "killed by signal %d, not SIGSYS",
	    WTERMSIG(st));
}

/* fn, run sealed, must exit with status want. */
static void
expect_exit(sealed_fn fn, int want)
{
	struct child ch = { .err = -1 };
	int st;

	child_start(&ch, root_for_child(), fn);
	st = child_finish(&ch);
	cr_assert(WIFEXITED(st), "the sealed child was killed by signal %d",
	    WTERMSIG(st));
	cr_assert_eq(WEXITSTATUS(st), want, "the sealed child exited %d "
	    "(want %d)", WEXITSTATUS(st), want);
}

/* ---- seen from outside -------------------------------------------------- */

/* The value of "Name:" in /proc/pid/FILE (status or limits) into out. */
static void
proc_field(pid_t pid, const char *file, const char *name, char *out,
    size_t outlen)
{
	char path[64], line[256];
	size_t len = strlen(name);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	cr_assert_not_null(f = fopen(path, "r"), "%s", path);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, len) == 0) {
			char *v = line + len;

			v += strspn(v, " \t:");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, outlen, "%s", v);
			break;
		}
	fclose(f);
	cr_assert_neq(out[0], '\0', "%s has no %s", path, name);
}

static int
sealed_nothing(void)
{
	return 0;
}

static void
check_from_outside(void)
{
	char v[256], mine[256], soft[32] = "", hard[32] = "", path[64];
	char root[PATH_MAX];
	struct child ch = { .err = -1 };
	ssize_t n;
	int st;

	child_start(&ch, root_for_child(), sealed_nothing);
	proc_field(ch.pid, "status", "Seccomp:", v, sizeof(v));
	cr_expect_str_eq(v, "2", "Seccomp: %s", v);
	proc_field(ch.pid, "status", "NoNewPrivs:", v, sizeof(v));
	cr_expect_str_eq(v, "1", "NoNewPrivs: %s", v);
	proc_field(ch.pid, "status", "Uid:", v, sizeof(v));
	cr_expect_str_eq(v, as_network_user ? "65534\t65534\t65534\t65534" :
	    "0\t0\t0\t0", "Uid: %s", v);
	proc_field(ch.pid, "status", "CapEff:", v, sizeof(v));
	cr_expect_str_eq(v, "0000000000000000", "CapEff: %s", v);
	proc_field(ch.pid, "status", "CapPrm:", v, sizeof(v));
	cr_expect_str_eq(v, "0000000000000000", "CapPrm: %s", v);
	proc_field(ch.pid, "status", "CapInh:", v, sizeof(v));
	cr_expect_str_eq(v, "0000000000000000", "CapInh: %s", v);
	proc_field(ch.pid, "status", "CapAmb:", v, sizeof(v));
	cr_expect_str_eq(v, "0000000000000000", "CapAmb: %s", v);
	/* Root (CAP_SETPCAP) empties the bounding set; the network user
	 * cannot, and keeps ours. */
	proc_field(ch.pid, "status", "CapBnd:", v, sizeof(v));
	proc_field(getpid(), "status", "CapBnd:", mine, sizeof(mine));
	cr_expect_str_eq(v, as_network_user ? mine : "0000000000000000",
	    "CapBnd: %s", v);
	/* Soft and hard 0; a sanitizer build keeps the hard limit. */
	proc_field(ch.pid, "limits", "Max processes", v, sizeof(v));
	cr_assert_eq(sscanf(v, "%31s %31s", soft, hard), 2, "%s", v);
	cr_expect_str_eq(soft, "0", "Max processes: %s", v);
	if (SAN_BUILD)
		cr_expect_str_neq(hard, "0", "Max processes: %s", v);
	else
		cr_expect_str_eq(hard, "0", "Max processes: %s", v);
	snprintf(path, sizeof(path), "/proc/%d/root", (int)ch.pid);
	cr_assert_gt(n = readlink(path, root, sizeof(root) - 1), 0);
	root[n] = '\0';
	st = child_finish(&ch);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	/* A sanitizer build keeps "/" (its leak checker reads /proc). */
	cr_expect_str_eq(root, SAN_BUILD ? "/" : root_dir);
}

Test(sandbox, seen_from_outside)
{
	if (geteuid() != 0)
		UNIT_SKIP("not root: cannot chroot");
	check_from_outside();
}

Test(sandbox, seen_from_outside_as_network_user)
{
	if (geteuid() != 0)
		UNIT_SKIP("not root: cannot become another user");
	as_network_user = 1;
	check_from_outside();
}

/* ---- what still works --------------------------------------------------- */

/*
 * Each pre-seal thread makes its first allocation after the seal, all of
 * them before any frees (so each needs an arena of its own: more than
 * glibc's eight), then frees enough to shrink its arena's heap.
 */
static pthread_barrier_t arena_barrier;

static void *
arena_main(void *arg)
{
	void *volatile p[3];

	gate_wait();
	for (int i = 0; i < 3; i++)
		p[i] = malloc(100000);
	pthread_barrier_wait(&arena_barrier);
	for (int i = 2; i >= 0; i--)
		free(p[i]);
	return arg;
}

/* A listening socket (made before the seal: no bind or listen after it),
 * a new TCP connection to it and its accepted end. 0 or a failure code. */
static struct sockaddr_in listen_addr;

static int
tcp_pair(int lfd, int *cfd, int *afd)
{
	socklen_t len = sizeof(listen_addr);
	int one = 1, e = 1;
	struct pollfd p;

	*cfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*cfd == -1)
		return 11;
	if (setsockopt(*cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		return 12;
	if (connect(*cfd, (struct sockaddr *)&listen_addr, len) == -1 &&
	    errno != EINPROGRESS)
		return 13;
	p = (struct pollfd){ .fd = *cfd, .events = POLLOUT };
	len = sizeof(e);
	if (poll(&p, 1, 5000) != 1 ||
	    getsockopt(*cfd, SOL_SOCKET, SO_ERROR, &e, &len) == -1 || e != 0)
		return 14;
	if ((*afd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return 15;
	return 0;
}

/* A self-signed P-256 certificate for "sandbox", made after the seal. */
static int
tls_identity(EVP_PKEY **key, X509 **crt)
{
	X509_NAME *n;

	if ((*key = EVP_EC_gen("P-256")) == NULL || (*crt = X509_new()) == NULL)
		return 20;
	n = X509_get_subject_name(*crt);
	if (!X509_set_version(*crt, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(*crt), 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(*crt), -60) ||
	    !X509_gmtime_adj(X509_getm_notAfter(*crt), 3600) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"sandbox", -1, -1, 0) ||
	    !X509_set_issuer_name(*crt, n) || !X509_set_pubkey(*crt, *key) ||
	    !X509_sign(*crt, *key, EVP_sha256()))
		return 21;
	return 0;
}

/* Both ends of a TLS 1.3 handshake on non-blocking sockets, then one
 * message each way: OpenSSL's whole run-time path under the filter. */
/* A server and a client context that trusts the server's certificate. */
static int
tls_contexts(SSL_CTX **sctx, SSL_CTX **cctx)
{
	EVP_PKEY *key = NULL;
	X509 *crt = NULL;
	int rc;

	*sctx = SSL_CTX_new(TLS_server_method());
	*cctx = SSL_CTX_new(TLS_client_method());
	if (*sctx == NULL || *cctx == NULL)
		return 30;
	if ((rc = tls_identity(&key, &crt)) != 0)
		return rc;
	if (!SSL_CTX_use_certificate(*sctx, crt) ||
	    !SSL_CTX_use_PrivateKey(*sctx, key) ||
	    !X509_STORE_add_cert(SSL_CTX_get_cert_store(*cctx), crt))
		return 31;
	SSL_CTX_set_verify(*cctx, SSL_VERIFY_PEER, NULL);
	X509_free(crt);
	EVP_PKEY_free(key);
	return 0;
}

static int
tls_exchange(int cfd, int afd, SSL_CTX *sctx, SSL_CTX *cctx)
{
	SSL *s, *c;
	char buf[8] = "";
	int rc = 0, done_s = 0, done_c = 0;

	if ((s = SSL_new(sctx)) == NULL || (c = SSL_new(cctx)) == NULL ||
	    !SSL_set_fd(s, afd) || !SSL_set_fd(c, cfd) ||
	    !SSL_set1_host(c, "sandbox"))
		return 32;
	for (int i = 0; i < 1000 && !(done_s && done_c); i++) {
		struct pollfd p[2] = { { .fd = cfd, .events = POLLIN },
		    { .fd = afd, .events = POLLIN } };

		done_c = done_c || SSL_connect(c) == 1;
		done_s = done_s || SSL_accept(s) == 1;
		if (!(done_s && done_c))
			poll(p, 2, 100);
	}
	if (!done_s || !done_c || SSL_version(c) != TLS1_3_VERSION ||
	    SSL_get_verify_result(c) != X509_V_OK)
		return 33;
	if (SSL_write(c, "ping", 4) != 4)
		return 34;
	for (int i = 0; i < 100 && (rc = SSL_read(s, buf, 4)) <= 0; i++)
		poll(&(struct pollfd){ .fd = afd, .events = POLLIN }, 1, 100);
	if (rc != 4 || memcmp(buf, "ping", 4) != 0)
		return 35;
	SSL_free(s);
	SSL_free(c);
	return 0;
}

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* What sandbox_confine preloads is for: each of these would open a file
 * (or call sysinfo) the first time, here after the seal. */
static int
library_firsts(void)
{
	int v[512];
	void *frames[2];
	time_t now = time(NULL);
	struct tm tm;
	json_t *j;
	char *s;

	if (localtime_r(&now, &tm) == NULL)
		return 40;
	if ((j = json_pack("{s:s, s:i}", "user", "alice", "n", 1)) == NULL ||
	    (s = json_dumps(j, JSON_COMPACT)) == NULL)
		return 41;
	free(s);
	json_decref(j);
	for (int i = 0; i < 512; i++)
		v[i] = 512 - i;
	qsort(v, 512, sizeof(v[0]), int_cmp);
	if (v[0] != 1)
		return 42;
	if (backtrace(frames, 2) < 1)
		return 43;
	return 0;
}

/* The listener the parent makes before fork (no bind or listen after the
 * seal: the monitor binds). */
static int listen_fd = -1;

static int
listen_local(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	cr_assert_neq(fd, -1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&listen_addr,
	    &(socklen_t){ sizeof(listen_addr) }), 0);
	return fd;
}

static int
workers_release(void)
{
	gate_release();
	for (int i = 0; i < nworkers; i++)
		if (pthread_join(workers[i], NULL) != 0)
			return 50;
	return 0;
}

/* The monitor's link: a UNIX socketpair made before the seal (no UNIX
 * socket can be made after it), carrying a message and a descriptor. */
static int link_fd[2] = { -1, -1 };

static int
link_exchange(void)
{
	char byte = 'M', got = 0, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int fd = STDERR_FILENO, passed;

	memset(ctl, 0, sizeof(ctl));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(link_fd[0], &m, 0) != 1)
		return 70;
	iov.iov_base = &got;
	m.msg_controllen = sizeof(ctl);
	if (recvmsg(link_fd[1], &m, 0) != 1 || got != 'M' ||
	    (c = CMSG_FIRSTHDR(&m)) == NULL || c->cmsg_type != SCM_RIGHTS)
		return 71;
	memcpy(&passed, CMSG_DATA(c), sizeof(int));
	if (close(passed) == -1)
		return 72;
	/* send/recv: libssh's calls (sendto, recvfrom). */
	if (send(link_fd[0], "s", 1, 0) != 1 ||
	    recv(link_fd[1], &got, 1, 0) != 1 || got != 's')
		return 73;
	return 0;
}

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* A handled signal (rt_sigreturn), a short sleep (the worker's back-off on
 * EMFILE), and a large realloc (mremap). */
static int
runtime_misc(void)
{
	char *p = malloc(1 << 20), *q;

	if (raise(SIGUSR1) != 0 || got_signal != SIGUSR1)
		return 80;
	if (usleep(1000) != 0)
		return 81;
	if (p == NULL || (q = realloc(p, 8 << 20)) == NULL)
		return 82;
	free(q);
	return 0;
}

/* The workers' shape: a pthreads-aware event base made before the seal,
 * and TLS bufferevents on it after (bufferevent_openssl, epoll). */
static struct event_base *ev_base;

static int
make_event_base(void)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link_fd) == -1 ||
	    signal(SIGUSR1, on_signal) == SIG_ERR)
		return -1;
	if (evthread_use_pthreads() == -1 ||
	    (ev_base = event_base_new()) == NULL)
		return -1;
	return 0;
}

struct ev_got {
	char buf[8];
	size_t len;
};

static void
ev_read_cb(struct bufferevent *bev, void *arg)
{
	struct ev_got *g = arg;

	g->len += bufferevent_read(bev, g->buf + g->len,
	    sizeof(g->buf) - 1 - g->len);
	if (g->len >= 4)
		event_base_loopbreak(bufferevent_get_base(bev));
}

/* With contexts: TLS bufferevents (the workers' tunnels); without: plain
 * socket bufferevents, whose reads ask FIONREAD (the monitor's link). */
static int
libevent_exchange(int cfd, int afd, SSL_CTX *sctx, SSL_CTX *cctx)
{
	struct bufferevent *bs, *bc;
	struct ev_got got = { .len = 0 };
	const int opt = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE;

	if (sctx != NULL) {
		SSL *s = SSL_new(sctx), *c = SSL_new(cctx);

		if (s == NULL || c == NULL || !SSL_set1_host(c, "sandbox"))
			return 60;
		bs = bufferevent_openssl_socket_new(ev_base, afd, s,
		    BUFFEREVENT_SSL_ACCEPTING, opt);
		bc = bufferevent_openssl_socket_new(ev_base, cfd, c,
		    BUFFEREVENT_SSL_CONNECTING, opt);
	} else {
		bs = bufferevent_socket_new(ev_base, afd, opt);
		bc = bufferevent_socket_new(ev_base, cfd, opt);
	}
	if (bs == NULL || bc == NULL)
		return 61;
	bufferevent_setcb(bs, ev_read_cb, NULL, NULL, &got);
	if (bufferevent_enable(bs, EV_READ) == -1 ||
	    bufferevent_enable(bc, EV_READ | EV_WRITE) == -1 ||
	    bufferevent_write(bc, "pong", 4) == -1 ||
	    event_base_loopexit(ev_base, &(struct timeval){ 5, 0 }) == -1 ||
	    event_base_dispatch(ev_base) == -1)
		return 62;
	bufferevent_free(bs);
	bufferevent_free(bc);
	return got.len == 4 && memcmp(got.buf, "pong", 4) == 0 ? 0 : 63;
}

static int
sealed_allowed(void)
{
	SSL_CTX *sctx, *cctx;
	unsigned char r[32];
	char buf[8];
	int cfd, afd, rc;

	if ((rc = workers_release()) != 0)
		return rc;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return 1;
	if ((rc = tcp_pair(listen_fd, &cfd, &afd)) != 0)
		return rc;
	if (write(cfd, "hello", 5) != 5)
		return 2;
	poll(&(struct pollfd){ .fd = afd, .events = POLLIN }, 1, 5000);
	if (read(afd, buf, sizeof(buf)) != 5 || memcmp(buf, "hello", 5) != 0)
		return 3;
	if ((rc = tls_contexts(&sctx, &cctx)) != 0 ||
	    (rc = tls_exchange(cfd, afd, sctx, cctx)) != 0)
		return rc;
	if (shutdown(cfd, SHUT_WR) == -1 || close(cfd) == -1 ||
	    close(afd) == -1)
		return 4;
	if ((rc = tcp_pair(listen_fd, &cfd, &afd)) != 0 ||
	    (rc = libevent_exchange(cfd, afd, sctx, cctx)) != 0 ||
	    (rc = tcp_pair(listen_fd, &cfd, &afd)) != 0 ||
	    (rc = libevent_exchange(cfd, afd, NULL, NULL)) != 0 ||
	    (rc = library_firsts()) != 0 || (rc = link_exchange()) != 0 ||
	    (rc = runtime_misc()) != 0)
		return rc;
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	return 0;
}

Test(sandbox, allowed_calls_work)
{
	cr_assert_eq(pthread_barrier_init(&arena_barrier, NULL, ARENA_THREADS),
	    0);
	listen_fd = listen_local();
	worker_fn = arena_main;
	nworkers = ARENA_THREADS;
	before_seal = make_event_base;
	expect_exit(sealed_allowed, 0);
}

/* ---- what kills ---------------------------------------------------------- */

/* A sanitizer build lets its runtime open files to read (reports, the
 * leak checker); no build opens one to write. */
static int
sealed_openat_write(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/planted", root_dir);
	syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT, 0600);
	return 0;
}

#if !SAN_BUILD
static int
sealed_openat(void)
{
	syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY);
	return 0;
}
#endif

static int
sealed_execve(void)
{
	char *const argv[] = { "true", NULL };

	syscall(SYS_execve, "/bin/true", argv, argv);
	return 0;
}

static void *
thread_main(void *arg)
{
	return arg;
}

static int
sealed_thread(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_main, NULL) == 0)
		pthread_join(t, NULL);
	return 0;
}

static int
sealed_fork(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	return 0;
}

static int
sealed_unix_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd == -1 ? 1 : 0;
}

static int
sealed_udp_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd == -1 ? 1 : 0;
}

static int
sealed_exec_mapping(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 1;
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 0;
}

static int
sealed_sockopt(void)
{
	int size = 1 << 20;

	setsockopt(listen_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return 0;
}

static int
sealed_kill_other(void)
{
	/* tgkill of another process (its own parent). */
	syscall(SYS_tgkill, parent_pid, parent_pid, 0);
	return 0;
}

static void *
openat_main(void *arg)
{
	gate_wait();
	sealed_openat_write();
	return arg;
}

#if !SAN_BUILD
Test(sandbox, openat_kills) { expect_sigsys(sealed_openat); }
#endif
Test(sandbox, openat_to_write_kills) { expect_sigsys(sealed_openat_write); }
Test(sandbox, execve_kills) { expect_sigsys(sealed_execve); }
Test(sandbox, new_thread_kills) { expect_sigsys(sealed_thread); }
Test(sandbox, fork_kills) { expect_sigsys(sealed_fork); }
Test(sandbox, unix_socket_kills) { expect_sigsys(sealed_unix_socket); }
Test(sandbox, udp_socket_kills) { expect_sigsys(sealed_udp_socket); }
Test(sandbox, exec_mapping_kills) { expect_sigsys(sealed_exec_mapping); }

Test(sandbox, other_sockopt_kills)
{
	listen_fd = listen_local();
	expect_sigsys(sealed_sockopt);
}

Test(sandbox, signal_to_another_process_kills)
{
	expect_sigsys(sealed_kill_other);
}

/* The filter is on every thread (TSYNC), and a forbidden call on any of
 * them kills the whole process, not just that thread. */
Test(sandbox, forbidden_call_on_another_thread_kills_all)
{
	worker_fn = openat_main;
	nworkers = 1;
	expect_sigsys(workers_release);
}

#ifdef MWG_TEST_TRIGGERS
static int
sealed_trigger(void)
{
	sandbox_test_forbidden();
	return 0;
}

Test(sandbox, test_trigger_kills) { expect_sigsys(sealed_trigger); }
#endif

/* abort() (assert, fatal paths) still ends in SIGABRT, not SIGSYS: the
 * monitor tells the two apart. */
static int
sealed_abort(void)
{
	abort();
}

Test(sandbox, abort_is_sigabrt)
{
	struct child ch = { .err = -1 };
	int st;

	child_start(&ch, root_for_child(), sealed_abort);
	st = child_finish(&ch);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status %#x", st);
}

/* A heap corruption glibc detects still ends in its message and SIGABRT
 * (glibc 2.36 writes to stderr, no /dev/tty open); under ASan, in its
 * report. */
static int
sealed_double_free(void)
{
	char *volatile p = malloc(32);

	free(p);
	free(p);
	return 0;
}

#if !SAN_BUILD
Test(sandbox, heap_corruption_is_sigabrt)
{
	struct child ch = { .err = 0 };
	int st;

	child_start(&ch, root_for_child(), sealed_double_free);
	st = child_finish(&ch);
	close(ch.err);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status %#x", st);
	cr_assert(strstr(ch.errbuf, "double free detected") != NULL, "%s",
	    ch.errbuf);
}
#endif

/* ---- what confine refuses ----------------------------------------------- */

/* A sanitizer build does not chroot, so does not check the root. */
#if !SAN_BUILD

/* confine in a child (it would chroot this process): its exit status is 0
 * if confine failed with want in its message. */
static void
expect_confine_refused(const char *root, const char *want)
{
	char err[256] = "";
	int st;
	pid_t p;

	fflush(NULL);
	cr_assert_neq(p = fork(), -1);
	if (p == 0)
		_exit(sandbox_confine(root, err, sizeof(err)) == -1 &&
		    strstr(err, want) != NULL ? 0 : 1);
	cr_assert_eq(waitpid(p, &st, 0), p);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "confine(%s) was not refused with '%s'", root, want);
}

Test(sandbox, root_must_be_empty_and_root_only)
{
	char path[PATH_MAX];

	if (geteuid() != 0)
		UNIT_SKIP("not root: cannot chroot");
	write_file(path_in(path, root_dir, "planted"), "x", 0);
	expect_confine_refused(root_dir, "must be empty");
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(chmod(root_dir, 0775), 0);
	expect_confine_refused(root_dir, "writable by no one else");
	cr_assert_eq(chmod(root_dir, 0755), 0);
	cr_assert_eq(chown(root_dir, 12345, 0), 0);
	expect_confine_refused(root_dir, "owned by root");
	expect_confine_refused(path_in(path, root_dir, "missing"),
	    "No such file");
	/* A link is not followed, even to a good root ("/" here). */
	cr_assert_eq(chown(root_dir, 0, 0), 0);
	cr_assert_eq(symlink("/", path_in(path, root_dir, "link")), 0);
	expect_confine_refused(path, "Not a directory");
}
#endif

/* ---- leak checking in a sealed process (sanitizer builds) --------------- */

#ifdef __SANITIZE_ADDRESS__
/*
 * A sanitizer report ends the process as ASAN_OPTIONS says: abort()
 * (SIGABRT) with abort_on_error=1, as make test sets, else exit status 1.
 * Either way it is the report, not SIGSYS from a call the report needs.
 */
static void
expect_sanitizer_report(sealed_fn fn, const char *what, const char *frame)
{
	const char *o = getenv("ASAN_OPTIONS");
	static struct child ch;
	int st;

	ch.err = 0;		/* capture its stderr */
	child_start(&ch, root_for_child(), fn);
	st = child_finish(&ch);
	close(ch.err);
	/* The whole report, symbolised from the binary: read under the
	 * filter. */
	cr_assert(strstr(ch.errbuf, what) != NULL && strstr(ch.errbuf, frame)
	    != NULL, "no '%s' report naming %s:\n%s", what, frame, ch.errbuf);
	if (o != NULL && strstr(o, "abort_on_error=1") != NULL)
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
		    "status %#x, want SIGABRT after the report", st);
	else
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1,
		    "status %#x, want exit 1 after the report", st);
}

/* Out of line, so no register or stack slot still points at the block
 * when the checker looks. */
__attribute__((noinline)) static void
leak_one(void)
{
	void *volatile p = malloc(64);

	(void)p;
}

/* exit(), not _exit(): the leak checker runs at exit, sealed. */
static int
sealed_exit_clean(void)
{
	sandbox_before_exit();
	exit(0);
}

static int
sealed_exit_leaking(void)
{
	leak_one();
	sandbox_before_exit();
	exit(0);
}

Test(sandbox, leak_check_runs_sealed)
{
	worker_fn = idle_main;
	nworkers = 1;
	expect_exit(sealed_exit_clean, 0);
	expect_sanitizer_report(sealed_exit_leaking,
	    "ERROR: LeakSanitizer: detected memory leaks", "leak_one");
}

/* As its own user RLIMIT_NPROC binds (it does not bind root): the leak
 * checker's tracer starts only because sandbox_before_exit raised it. */
Test(sandbox, leak_check_runs_sealed_as_network_user)
{
	if (geteuid() != 0)
		UNIT_SKIP("not root: cannot become another user");
	as_network_user = 1;
	worker_fn = idle_main;
	nworkers = 1;
	expect_exit(sealed_exit_clean, 0);
	expect_sanitizer_report(sealed_exit_leaking,
	    "ERROR: LeakSanitizer: detected memory leaks", "leak_one");
}

__attribute__((noinline)) static int
overflow_one(volatile char *p, int i)
{
	return p[i];
}

static int
sealed_heap_overflow(void)
{
	char *volatile p = malloc(16);

	return overflow_one(p, 16);
}

Test(sandbox, asan_report_runs_sealed)
{
	expect_sanitizer_report(sealed_heap_overflow,
	    "ERROR: AddressSanitizer: heap-buffer-overflow", "overflow_one");
	expect_sanitizer_report(sealed_double_free,
	    "ERROR: AddressSanitizer: attempting double-free",
	    "sealed_double_free");
}
#endif

/* Capabilities are per thread: confine refuses to run beside a thread
 * that would keep them. */
static void *
idle_until_killed(void *arg)
{
	for (;;)
		pause();
	return arg;
}

Test(sandbox, confine_refuses_running_threads)
{
	char err[256] = "";
	pthread_t t;
	int st;
	pid_t p;

	fflush(NULL);
	cr_assert_neq(p = fork(), -1);
	if (p == 0) {
		if (pthread_create(&t, NULL, idle_until_killed, NULL) != 0)
			_exit(2);
		_exit(sandbox_confine(NULL, err, sizeof(err)) == -1 &&
		    strstr(err, "before any thread starts") != NULL ? 0 : 1);
	}
	cr_assert_eq(waitpid(p, &st, 0), p);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "confine ran beside a thread (status %#x)", st);
}

/* As the network user, forbidden is still SIGSYS (not EAGAIN from
 * RLIMIT_NPROC, nor EACCES). */
Test(sandbox, new_thread_kills_as_network_user)
{
	if (geteuid() != 0)
		UNIT_SKIP("not root: cannot become another user");
	as_network_user = 1;
	expect_sigsys(sealed_thread);
}

Test(sandbox, allowed_calls_work_as_network_user)
{
	if (geteuid() != 0)
		UNIT_SKIP("not root: cannot become another user");
	as_network_user = 1;
	cr_assert_eq(pthread_barrier_init(&arena_barrier, NULL, ARENA_THREADS),
	    0);
	listen_fd = listen_local();
	worker_fn = arena_main;
	nworkers = ARENA_THREADS;
	before_seal = make_event_base;
	expect_exit(sealed_allowed, 0);
}
