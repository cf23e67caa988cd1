/*
 * The network process's sandbox, in the manner of OpenSSH's
 * sandbox-seccomp-filter.c: first an empty root and no capabilities, then,
 * once its threads run, no new privileges, no new processes and a seccomp
 * allow-list of what network I/O and computation need. A call off the list
 * kills the whole process (SIGSYS); the monitor sees it and starts another.
 */
#include "gateway/net/sandbox.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/capability.h>

#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "common/errbuf.h"
#include "common/log.h"

/*
 * Sanitizer builds (make SAN=1) are test builds: ASan, UBSan and
 * LeakSanitizer must still work in the sealed process, and LeakSanitizer
 * needs /proc, a tracer process and ptrace at exit. They get a wider list
 * (sandbox_rules_san), no chroot, and a soft RLIMIT_NPROC they can raise.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SAN 1
#else
#define SANDBOX_SAN 0
#endif

/* glibc malloc's default cap on arenas, per online CPU (64-bit). */
#define SANDBOX_ARENAS_PER_CPU	8
/* glibc's default trim and mmap thresholds, fixed: left dynamic, freeing
 * a large block raises the trim threshold up to 64 MiB, and no preload
 * could be sure to make a heap shrink. */
#define SANDBOX_MALLOC_THRESHOLD	(128 * 1024)
/* Bytes a throw-away thread allocates and frees to make glibc shrink a
 * thread arena's heap once (each below the mmap threshold, three together
 * above the trim threshold). */
#define SANDBOX_SHRINK_CHUNK	100000
#define SANDBOX_SHRINK_CHUNKS	3
/* Above 1024 bytes glibc's qsort asks the kernel how much memory there is
 * (sysinfo), once. */
#define SANDBOX_QSORT_N		512

/* ---- stage 1: what libraries would read from files later ---------------- */

#if defined(__GLIBC__) && !SANDBOX_SAN
static void *
sandbox_shrink_main(void *arg)
{
	void *p[SANDBOX_SHRINK_CHUNKS];
	void *volatile *vp = p;	/* the compiler must not drop the pairs */

	for (int i = 0; i < SANDBOX_SHRINK_CHUNKS; i++)
		vp[i] = malloc(SANDBOX_SHRINK_CHUNK);
	for (int i = SANDBOX_SHRINK_CHUNKS - 1; i >= 0; i--)
		free(vp[i]);
	return arg;
}
#endif

/*
 * glibc malloc reads two files lazily, at a moment no one chooses: how many
 * CPUs are online (/sys/devices/system/cpu/online) when a thread makes the
 * ninth arena, and the overcommit mode (/proc/sys/vm/overcommit_memory) the
 * first time a thread arena's heap shrinks. After the seal either open is
 * SIGSYS in the middle of serving. So: fix the arena cap to glibc's own
 * default (no read later), fix the thresholds at their defaults, and make
 * one thread arena shrink now (the mode is cached). ASan has its own
 * allocator: none of this applies.
 */
static int
sandbox_preload_malloc(char *err, size_t errlen)
{
#if defined(__GLIBC__) && !SANDBOX_SAN
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t t;
	int e;

	if (cpus < 1)
		cpus = 1;
	if (mallopt(M_ARENA_MAX, (int)(cpus * SANDBOX_ARENAS_PER_CPU)) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, SANDBOX_MALLOC_THRESHOLD) != 1 ||
	    mallopt(M_MMAP_THRESHOLD, SANDBOX_MALLOC_THRESHOLD) != 1) {
		errbuf_set(err, errlen, "mallopt failed");
		return -1;
	}
	if ((e = pthread_create(&t, NULL, sandbox_shrink_main, NULL)) != 0 ||
	    (e = pthread_join(t, NULL)) != 0) {
		errbuf_set(err, errlen, "malloc preload thread: %s",
		    strerror(e));
		return -1;
	}
#endif
	(void)err;
	(void)errlen;
	return 0;
}

static int
sandbox_int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * Everything else found to read a file (or make a call off the list) the
 * first time, long after start-up:
 * - the time zone (/etc/localtime) for localtime_r;
 * - OpenSSL's configuration (openssl.cnf, and any module it names) and its
 *   DRBG, whose first use would otherwise come on a worker thread;
 * - jansson's hash seed, read from /dev/urandom by the first object made;
 * - glibc's qsort, which asks sysinfo() for the memory size once (loading
 *   a policy sorts its targets, and a reload comes after the seal);
 * - glibc's unwinder (libgcc_s.so.1, dlopen'ed on the first backtrace,
 *   pthread_exit or pthread_cancel).
 */
static int
sandbox_preload(char *err, size_t errlen)
{
	unsigned char rnd[16];
	int v[SANDBOX_QSORT_N];
	void *frames[2];

	tzset();
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1) {
		errbuf_set(err, errlen, "OpenSSL initialisation failed");
		return -1;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    RAND_priv_bytes(rnd, sizeof(rnd)) != 1) {
		errbuf_set(err, errlen, "OpenSSL's random generator failed");
		return -1;
	}
	OPENSSL_cleanse(rnd, sizeof(rnd));
	json_object_seed(0);
	for (int i = 0; i < SANDBOX_QSORT_N; i++)
		v[i] = SANDBOX_QSORT_N - i;
	qsort(v, SANDBOX_QSORT_N, sizeof(v[0]), sandbox_int_cmp);
	if (backtrace(frames, 2) < 1) {
		errbuf_set(err, errlen, "the unwinder did not load");
		return -1;
	}
	return sandbox_preload_malloc(err, errlen);
}

/* ---- stage 1: the empty root -------------------------------------------- */

/*
 * An empty directory only root may change, as OpenSSH asks of its privsep
 * path: a root the process could write into is no longer empty. It is
 * opened once and checked and entered through that descriptor, so that no
 * one can swap the path between the check and the chroot.
 */
static int
sandbox_root_check(int fd, const char *root, char *err, size_t errlen)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int dfd;

	if (fstat(fd, &st) == -1) {
		errbuf_set(err, errlen, "%s: %s", root, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		errbuf_set(err, errlen, "%s: must be a directory owned by root "
		    "and writable by no one else", root);
		return -1;
	}
	if ((dfd = dup(fd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		errbuf_set(err, errlen, "%s: %s", root, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			break;
	closedir(d);
	if (de != NULL) {
		errbuf_set(err, errlen, "%s: must be empty", root);
		return -1;
	}
	return 0;
}

static int
sandbox_chroot(const char *root, char *err, size_t errlen)
{
	int fd, rc = -1;

	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		errbuf_set(err, errlen, "%s: %s", root, strerror(errno));
		return -1;
	}
	if (sandbox_root_check(fd, root, err, errlen) == 0) {
		if (fchdir(fd) == -1 || chroot(".") == -1 || chdir("/") == -1)
			errbuf_set(err, errlen, "chroot %s: %s", root,
			    strerror(errno));
		else
			rc = 0;
	}
	close(fd);
	return rc;
}

/* ---- stage 1: no capabilities ------------------------------------------- */

/*
 * The bounding set needs CAP_SETPCAP to shrink: a network process started
 * as root has it; one exec'd as its own user with only CAP_SYS_CHROOT does
 * not, and then its bounding set does not matter (no new privileges and no
 * execve after the seal).
 */
static int
sandbox_drop_bounding(char *err, size_t errlen)
{
	int in;

	/* PR_CAPBSET_READ fails (EINVAL) past the kernel's last capability. */
	for (int cap = 0; (in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0;
	    cap++) {
		if (in == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EPERM)
			return 0;
		errbuf_set(err, errlen, "cannot drop capability %d from the "
		    "bounding set: %s", cap, strerror(errno));
		return -1;
	}
	return 0;
}

static int
sandbox_drop_caps(char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (sandbox_drop_bounding(err, errlen) == -1)
		return -1;
	/* EINVAL: a kernel before 4.3 has no ambient set to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		errbuf_set(err, errlen, "cannot clear the ambient "
		    "capabilities: %s", strerror(errno));
		return -1;
	}
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) == -1) {
		errbuf_set(err, errlen, "cannot drop capabilities: %s",
		    strerror(errno));
		return -1;
	}
	if (syscall(SYS_capget, &hdr, data) == -1 || data[0].effective ||
	    data[0].permitted || data[0].inheritable || data[1].effective ||
	    data[1].permitted || data[1].inheritable) {
		errbuf_set(err, errlen, "capabilities were not dropped");
		return -1;
	}
	return 0;
}

/*
 * Capabilities belong to each thread, not the process: a thread started
 * before the drop would keep them. The count comes from /proc, which is
 * still there.
 */
static int
sandbox_single_threaded(char *err, size_t errlen)
{
	char line[128];
	long n = -1;
	FILE *f;

	if ((f = fopen("/proc/self/status", "re")) == NULL) {
		errbuf_set(err, errlen, "/proc/self/status: %s",
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Threads:", 8) == 0)
			n = strtol(line + 8, NULL, 10);
	fclose(f);
	if (n != 1) {
		errbuf_set(err, errlen, "confine with %ld threads running: "
		    "it must come before any thread starts", n);
		return -1;
	}
	return 0;
}

int
sandbox_confine(const char *root, char *err, size_t errlen)
{
	if (sandbox_single_threaded(err, errlen) == -1 ||
	    sandbox_preload(err, errlen) == -1)
		return -1;
	/* The leak checker reads /proc/self/maps and /proc/self/task at
	 * exit: a sanitizer build keeps the real root. */
	if (root != NULL && !SANDBOX_SAN &&
	    sandbox_chroot(root, err, errlen) == -1)
		return -1;
	return sandbox_drop_caps(err, errlen);
}

/* ---- stage 2: the allow-list -------------------------------------------- */

/*
 * Calls allowed whatever their arguments. Found by running mwgd under
 * strace -f through scenarios 01, 05, 21, 23, 28, 30, 31 and 72 and
 * keeping what its workers, SSH threads and main loop make after start-up,
 * less what moves to the monitor (files, the store, PAM, the audit file).
 */
static const int sandbox_plain[] = {
	/* The loops: libevent's epoll backend; libssh and the SSH threads
	 * poll (epoll_pwait and ppoll are what glibc uses where the plain
	 * calls do not exist, e.g. arm64). No epoll_create, eventfd or pipe:
	 * loops and their wake-up descriptors are made before the seal. */
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	/* Bytes on descriptors it already holds: libevent and OpenSSL use
	 * read/write/readv/writev, libssh recvfrom/sendto; recvmsg/sendmsg
	 * carry the monitor's messages (and descriptors it passes). */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg),
	/* Connections: accept on listeners the monitor bound (no bind, no
	 * listen here), connect to targets, half- and full close. */
	SCMP_SYS(accept4), SCMP_SYS(connect), SCMP_SYS(shutdown),
	SCMP_SYS(close),
	/* Memory: malloc, thread stacks already mapped, realloc of large
	 * blocks (mremap), and giving pages back (madvise MADV_DONTNEED on
	 * free and at thread exit). mmap and mprotect are below: no exec. */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	/* Locks and condition variables between the threads. */
	SCMP_SYS(futex),
	/* A thread created just before the seal may not have run yet: its
	 * first calls in glibc register its robust-futex list and its rseq
	 * area (both only point the kernel at the thread's own memory). */
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	/* Time, only when the vDSO falls back to the kernel (a clock source
	 * it cannot read), and the worker's short sleep when accept runs out
	 * of descriptors (usleep: clock_nanosleep in glibc). */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(clock_nanosleep),
	/* OpenSSL's DRBG reseeds from the kernel; libssh asks OpenSSL. */
	SCMP_SYS(getrandom),
	/* OpenSSL and libssh check the pid (fork detection); log lines
	 * carry it; abort() needs it for tgkill. */
	SCMP_SYS(getpid), SCMP_SYS(gettid),
	/* Signals: libevent's handlers (SIGHUP, SIGTERM), and it restores
	 * the old ones at exit; glibc blocks signals around thread exit; a
	 * handler's return, and a sleep it interrupted resuming. */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),
	/* Threads end at shutdown (no thread starts after the seal). */
	SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* A rule, or -1 with the reason; a call this architecture lacks (EDOM,
 * e.g. epoll_wait on arm64) needs no rule. */
static int
sandbox_add(scmp_filter_ctx ctx, int nr, unsigned n,
    const struct scmp_arg_cmp *cmp, char *err, size_t errlen)
{
	int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
	char *name;

	if (rc == 0 || rc == -EDOM)
		return 0;
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	errbuf_set(err, errlen, "seccomp rule for %s: %s",
	    name ? name : "?", strerror(-rc));
	free(name);
	return -1;
}

#define SANDBOX_ADD(ctx, call, err, errlen, ...) \
	sandbox_add((ctx), SCMP_SYS(call), \
	    sizeof((struct scmp_arg_cmp[]){ __VA_ARGS__ }) / \
	    sizeof(struct scmp_arg_cmp), \
	    (struct scmp_arg_cmp[]){ __VA_ARGS__ }, (err), (errlen))

/* New TCP sockets to targets, IPv4 or IPv6, and nothing else: no UNIX,
 * netlink, packet or UDP sockets (the monitor's link is made before). */
static int
sandbox_rules_socket(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const int families[] = { AF_INET, AF_INET6 };
	const int protos[] = { 0, IPPROTO_TCP };
	const scmp_datum_t flags = SOCK_NONBLOCK | SOCK_CLOEXEC;

	for (size_t f = 0; f < 2; f++)
		for (size_t p = 0; p < 2; p++)
			if (SANDBOX_ADD(ctx, socket, err, errlen,
			    SCMP_A0_32(SCMP_CMP_EQ, (scmp_datum_t)families[f]),
			    SCMP_A1_32(SCMP_CMP_MASKED_EQ, ~flags, SOCK_STREAM),
			    SCMP_A2_32(SCMP_CMP_EQ,
			    (scmp_datum_t)protos[p])) == -1)
				return -1;
	return 0;
}

/* Socket options: TCP_NODELAY on new connections, and the connect result
 * (SO_ERROR). Nothing that attaches filters, ULPs or changes buffers. */
static int
sandbox_rules_sockopt(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	if (SANDBOX_ADD(ctx, setsockopt, err, errlen,
	    SCMP_A1_32(SCMP_CMP_EQ, IPPROTO_TCP),
	    SCMP_A2_32(SCMP_CMP_EQ, TCP_NODELAY)) == -1)
		return -1;
	return SANDBOX_ADD(ctx, getsockopt, err, errlen,
	    SCMP_A1_32(SCMP_CMP_EQ, SOL_SOCKET),
	    SCMP_A2_32(SCMP_CMP_EQ, SO_ERROR));
}

/* fcntl: non-blocking and close-on-exec flags (libevent, libssh), and the
 * SSH side's dup of a session's socket for its graceful close. No locks,
 * no F_SETOWN/F_SETSIG, no leases. ioctl: FIONREAD, which libevent asks
 * before each read on a plain socket (the monitor's link, if it is a
 * bufferevent); no terminal or device ioctls. */
static int
sandbox_rules_fd(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const int cmds[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD,
	    F_DUPFD_CLOEXEC };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (SANDBOX_ADD(ctx, fcntl, err, errlen,
		    SCMP_A1_32(SCMP_CMP_EQ, (scmp_datum_t)cmds[i])) == -1)
			return -1;
	return SANDBOX_ADD(ctx, ioctl, err, errlen,
	    SCMP_A1_32(SCMP_CMP_EQ, FIONREAD));
}

/*
 * mmap and mprotect only without PROT_EXEC: nothing is loaded after the
 * seal (no dlopen, no JIT), so code injected into data can never be made
 * executable; an exploit is left with code already mapped. Sanitizer
 * builds keep this too.
 */
static int
sandbox_rules_memory(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	if (SANDBOX_ADD(ctx, mmap, err, errlen,
	    SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) == -1)
		return -1;
	return SANDBOX_ADD(ctx, mprotect, err, errlen,
	    SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
}

/* abort() raises SIGABRT with tgkill on its own thread: only this process
 * may be signalled (its pid is fixed: it never forks). */
static int
sandbox_rules_signal(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	return SANDBOX_ADD(ctx, tgkill, err, errlen,
	    SCMP_A0_32(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
}

#if SANDBOX_SAN
/*
 * Sanitizer builds only. Found by running the sealed children of
 * tests/unit/sandbox_test.c (threads, a leak at exit, a heap overflow)
 * with the default action set to log, until the kernel logged nothing:
 * - ASan, on each thread at start and exit: its alternate signal stack
 *   (sigaltstack), and the thread's stack bounds from pthread_getattr_np,
 *   which asks the kernel for the CPU set (sched_getaffinity);
 * - sandbox_before_exit and the runtime's own limits: prlimit64;
 * - LeakSanitizer at exit: the process checks and may set its dumpable
 *   flag and lets its tracer trace it (prctl PR_GET/SET_DUMPABLE,
 *   PR_SET_PTRACER), starts the tracer (clone with exactly the flags
 *   below: a process sharing memory, never a thread) and waits for it
 *   (wait4); the tracer dies with its parent (PR_SET_PDEATHSIG), checks
 *   it (getppid), lists /proc/self/task (open, getdents) and stops each
 *   thread (ptrace); the two wait for each other with sched_yield;
 * - every report (a leak, an overflow): reads /proc/self/maps and the
 *   binaries for symbols (open/openat read-only, newfstatat, lseek,
 *   readlink of /proc/self/exe) and asks whether stderr is a terminal
 *   (ioctl TCGETS).
 */
static const int sandbox_san_plain[] = {
	SCMP_SYS(sigaltstack), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(prlimit64), SCMP_SYS(wait4), SCMP_SYS(getppid),
	SCMP_SYS(ptrace), SCMP_SYS(getdents), SCMP_SYS(getdents64),
	SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(lseek),
	SCMP_SYS(readlink), SCMP_SYS(sched_yield),
};

/* The leak checker's tracer: sanitizer_stoptheworld_linux_libcdep.cpp. */
#define SANDBOX_LSAN_CLONE	(CLONE_VM | CLONE_FS | CLONE_FILES | \
				CLONE_UNTRACED)

static int
sandbox_rules_san(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const int prctls[] = { PR_GET_DUMPABLE, PR_SET_DUMPABLE,
	    PR_SET_PTRACER, PR_SET_PDEATHSIG };

	for (size_t i = 0; i < sizeof(sandbox_san_plain) /
	    sizeof(sandbox_san_plain[0]); i++)
		if (sandbox_add(ctx, sandbox_san_plain[i], 0, NULL, err,
		    errlen) == -1)
			return -1;
	for (size_t i = 0; i < sizeof(prctls) / sizeof(prctls[0]); i++)
		if (SANDBOX_ADD(ctx, prctl, err, errlen,
		    SCMP_A0_32(SCMP_CMP_EQ, (scmp_datum_t)prctls[i])) == -1)
			return -1;
	if (SANDBOX_ADD(ctx, open, err, errlen,
	    SCMP_A1_32(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT, O_RDONLY)) ==
	    -1 || SANDBOX_ADD(ctx, openat, err, errlen,
	    SCMP_A2_32(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT, O_RDONLY)) ==
	    -1)
		return -1;
	if (SANDBOX_ADD(ctx, ioctl, err, errlen,
	    SCMP_A1_32(SCMP_CMP_EQ, TCGETS)) == -1)
		return -1;
	return SANDBOX_ADD(ctx, clone, err, errlen,
	    SCMP_A0_64(SCMP_CMP_EQ, SANDBOX_LSAN_CLONE));
}
#endif

static int
sandbox_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(sandbox_plain) /
	    sizeof(sandbox_plain[0]); i++)
		if (sandbox_add(ctx, sandbox_plain[i], 0, NULL, err,
		    errlen) == -1)
			return -1;
	if (sandbox_rules_socket(ctx, err, errlen) == -1 ||
	    sandbox_rules_sockopt(ctx, err, errlen) == -1 ||
	    sandbox_rules_fd(ctx, err, errlen) == -1 ||
	    sandbox_rules_memory(ctx, err, errlen) == -1 ||
	    sandbox_rules_signal(ctx, err, errlen) == -1)
		return -1;
#if SANDBOX_SAN
	if (sandbox_rules_san(ctx, err, errlen) == -1)
		return -1;
#endif
	return 0;
}

/*
 * The filter kills the whole process, never one thread (a thread killed
 * alone would leave its locks held and its peers hanging) and never
 * returns an error the code could work around. Calls from another ABI
 * (x32, i386 through int 0x80) are killed too. TSYNC puts the filter on
 * every thread at once, or fails if one cannot take it.
 */
static int
sandbox_filter_load(char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		errbuf_set(err, errlen, "seccomp_init failed");
		return -1;
	}
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) != 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		errbuf_set(err, errlen, "seccomp attributes: %s",
		    strerror(-rc));
		seccomp_release(ctx);
		return -1;
	}
	if (sandbox_rules(ctx, err, errlen) == -1) {
		seccomp_release(ctx);
		return -1;
	}
	if ((rc = seccomp_load(ctx)) != 0) {
		errbuf_set(err, errlen, "cannot load the seccomp filter: %s",
		    strerror(-rc));
		seccomp_release(ctx);
		return -1;
	}
	seccomp_release(ctx);
	return 0;
}

/*
 * RLIMIT_NPROC 0: the process may not fork even through a call the filter
 * missed (the kernel does not apply it to uid 0, which the monitor never
 * gives this process). Sanitizer builds keep the hard limit so that
 * sandbox_before_exit can let the leak checker's tracer start.
 *
 * A service manager's system-call filter may refuse setrlimit with EPERM
 * (lowering a limit is otherwise always allowed): then the limit is not
 * set, which is said once, and the allow-list alone (no fork, clone or
 * execve) keeps the process from starting another.
 */
static int
sandbox_nproc(char *err, size_t errlen)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NPROC, &rl) == -1)
		goto refused;
	rl.rlim_cur = 0;
	if (!SANDBOX_SAN)
		rl.rlim_max = 0;
	if (setrlimit(RLIMIT_NPROC, &rl) == -1)
		goto refused;
	return 0;
refused:
	if (errno != EPERM) {
		errbuf_set(err, errlen, "cannot set RLIMIT_NPROC to 0: %s",
		    strerror(errno));
		return -1;
	}
	log_info("network process: RLIMIT_NPROC not set to 0: getrlimit or "
	    "setrlimit refused (EPERM, a system-call filter); the seccomp "
	    "allow-list still forbids new processes");
	return 0;
}

int
sandbox_seal(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		errbuf_set(err, errlen, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
		return -1;
	}
	if (sandbox_nproc(err, errlen) == -1)
		return -1;
	return sandbox_filter_load(err, errlen);
}

void
sandbox_before_exit(void)
{
#if SANDBOX_SAN
	struct rlimit rl;

	if (getrlimit(RLIMIT_NPROC, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NPROC, &rl);
	}
#endif
}

#ifdef MWG_TEST_TRIGGERS
void
sandbox_test_forbidden(void)
{
	char *const argv[] = { NULL };

	/* Harmless if it were allowed: "/" is a directory (EACCES). */
	syscall(SYS_execve, "/", argv, argv);
}
#endif
