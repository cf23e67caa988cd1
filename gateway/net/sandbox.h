/*
 * The network process's sandbox: an empty root and no capabilities
 * (sandbox_confine), then no new privileges, no new processes and a
 * seccomp-bpf allow-list on every thread (sandbox_seal). See sandbox.c.
 */
#ifndef MWG_GW_NET_SANDBOX_H
#define MWG_GW_NET_SANDBOX_H

#include <stddef.h>

/*
 * Stage 1: call single-threaded, before the network process starts any
 * thread. Does now what libraries would otherwise read from files later
 * (time zone, OpenSSL's configuration and DRBG, jansson's hash seed,
 * glibc malloc's CPU count and overcommit mode), then, if root is not
 * NULL, chroot(root) and chdir("/"): root must be an empty directory
 * owned by root and writable by no one else. Then drops every capability
 * (the bounding set too if CAP_SETPCAP allows; the ambient set always).
 * Sanitizer builds skip the chroot (the leak checker reads /proc at exit).
 * 0, or -1 with the reason in err.
 */
int sandbox_confine(const char *root, char *err, size_t errlen);

/*
 * Stage 2: call once every thread of the process is started; the process
 * must never start a thread or a process afterwards. Sets
 * PR_SET_NO_NEW_PRIVS, RLIMIT_NPROC 0 and installs the seccomp allow-list
 * on every thread at once (TSYNC). Any call not on the list kills the
 * whole process with SIGSYS. 0, or -1 with the reason in err (the process
 * must then exit: it is not sandboxed).
 */
int sandbox_seal(char *err, size_t errlen);

/*
 * Sanitizer builds: raises RLIMIT_NPROC's soft limit again so the leak
 * checker can start its tracer at exit; call just before exit(). Release
 * builds: does nothing.
 */
void sandbox_before_exit(void);

#ifdef MWG_TEST_TRIGGERS
/* Test builds only: makes a system call the allow-list forbids (execve);
 * in a sealed process it does not return. */
void sandbox_test_forbidden(void);
#endif

#endif
