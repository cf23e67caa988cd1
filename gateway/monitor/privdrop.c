/*
 * Dropping root after the privileged set-up, as relayd and sshd do: the
 * supplementary groups, then the group, then the user, each checked, and
 * a final check that root cannot be regained. A start as the user itself
 * with capabilities (the systemd unit) goes through the same steps.
 */
#include "gateway/monitor/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <linux/capability.h>

int
privdrop_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid,
    char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;

	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user '%s' does not exist", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (group) {
		if ((gr = getgrnam(group)) == NULL) {
			snprintf(err, errlen, "group '%s' does not exist", group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	if (*uid == 0) {
		snprintf(err, errlen, "user '%s' is root; choose an "
		    "unprivileged user", user);
		return -1;
	}
	return 0;
}

int
privdrop_group(const char *group, gid_t *gid, char *err, size_t errlen)
{
	struct group *gr = getgrnam(group);

	if (gr == NULL) {
		snprintf(err, errlen, "group '%s' does not exist", group);
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

/* The ids, each call checked; no check that they took (privdrop_verify). */
static int
privdrop_ids(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "cannot drop privileges: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The ids took and root cannot be regained: called with no capability
 * effective (setuid(0) would succeed with CAP_SETUID effective). Then the
 * process is made non-dumpable: a uid change does that by itself, but a
 * start as the user with capabilities changes no uid.
 */
static int
privdrop_verify(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid || setuid(0) != -1 || seteuid(0) != -1) {
		snprintf(err, errlen, "privileges were not dropped");
		return -1;
	}
#ifdef __SANITIZE_ADDRESS__
	/*
	 * Test builds only: the leak checker needs to ptrace us at exit.
	 * Production builds stay non-dumpable, so no same-uid process can
	 * read the keys in memory.
	 */
	prctl(PR_SET_DUMPABLE, 1);
#else
	if (prctl(PR_SET_DUMPABLE, 0) == -1) {
		snprintf(err, errlen, "cannot make the process non-dumpable: "
		    "%s", strerror(errno));
		return -1;
	}
#endif
	return 0;
}

int
privdrop_to(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (privdrop_ids(uid, gid, err, errlen) == -1)
		return -1;
	return privdrop_verify(uid, gid, err, errlen);
}

int
privdrop_caps(uint64_t permitted, uint64_t effective, uint64_t inheritable)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)effective, (uint32_t)permitted,
		    (uint32_t)inheritable },
		{ (uint32_t)(effective >> 32), (uint32_t)(permitted >> 32),
		    (uint32_t)(inheritable >> 32) },
	};

	return syscall(SYS_capset, &h, d) == 0 ? 0 : -1;
}

int
privdrop_ambient(int cap)
{
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}

uint64_t
privdrop_held(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) == -1)
		return 0;
	return (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
}

/*
 * Started as the user with capabilities (a service manager's
 * AmbientCapabilities=), with threads already running (the audit writer):
 * capset changes only the calling thread, and another thread left with
 * CAP_SETUID effective would make the check below fail (glibc aborts when
 * a set*id call succeeds on one thread and not another). The kernel drops
 * every capability of a thread whose uids go from including 0 to not
 * (unless it keeps them, as this thread does), and glibc makes each set*id
 * call on every thread: so the saved uid becomes 0 for a moment (never the
 * effective one), and the final setresuid empties the other threads. This
 * thread keeps keep, with only ids effective for the calls.
 */
static int
privdrop_threads(uint64_t keep, uint64_t ids, char *err, size_t errlen)
{
	if (privdrop_caps(keep, keep & ids, 0) == -1) {
		snprintf(err, errlen, "cannot set capabilities: %s",
		    strerror(errno));
		return -1;
	}
	if (setresuid((uid_t)-1, (uid_t)-1, 0) == -1) {
		snprintf(err, errlen, "cannot set the saved uid: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
privdrop_to_keeping(uid_t uid, gid_t gid, uint64_t keep, char *err,
    size_t errlen)
{
	const uint64_t ids = 1ULL << CAP_SETUID | 1ULL << CAP_SETGID;
	int rc;

	/* EINVAL: a kernel before 4.3 has no ambient set to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		snprintf(err, errlen, "cannot clear the ambient capabilities: "
		    "%s", strerror(errno));
		return -1;
	}
	if (geteuid() != 0 && privdrop_threads(keep, ids, err, errlen) == -1)
		return -1;
	/* Across setresuid the permitted set stays; then only keep. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "cannot keep capabilities: %s",
		    strerror(errno));
		return -1;
	}
	rc = privdrop_ids(uid, gid, err, errlen);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (rc == -1)
		return -1;
	if (privdrop_caps(keep, 0, 0) == -1) {
		snprintf(err, errlen, "cannot set capabilities: %s",
		    strerror(errno));
		return -1;
	}
	return privdrop_verify(uid, gid, err, errlen);
}

int
privdrop_in_group(gid_t gid)
{
	gid_t *groups;
	int n, found = 0;

	if (gid == getegid())
		return 1;
	if ((n = getgroups(0, NULL)) <= 0 ||
	    (groups = calloc((size_t)n, sizeof(*groups))) == NULL)
		return 0;
	n = getgroups(n, groups);
	for (int i = 0; i < n && !found; i++)
		found = groups[i] == gid;
	free(groups);
	return found;
}
