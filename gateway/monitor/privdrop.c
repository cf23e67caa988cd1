/*
 * Dropping root after the privileged set-up, as relayd and sshd do: the
 * supplementary groups, then the group, then the user, each checked, and
 * a final check that root cannot be regained.
 */
#include "gateway/monitor/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
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

int
privdrop_to(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "cannot drop privileges: %s",
		    strerror(errno));
		return -1;
	}
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid || setuid(0) != -1 || seteuid(0) != -1) {
		snprintf(err, errlen, "privileges were not dropped");
		return -1;
	}
#ifdef __SANITIZE_ADDRESS__
	/*
	 * Test builds only: changing uid made us non-dumpable, and the leak
	 * checker needs to ptrace us at exit. Production builds stay
	 * non-dumpable, so no same-uid process can read the keys in memory.
	 */
	prctl(PR_SET_DUMPABLE, 1);
#endif
	return 0;
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

int
privdrop_to_keeping(uid_t uid, gid_t gid, uint64_t keep, char *err,
    size_t errlen)
{
	int rc;

	/* Across setresuid the permitted set stays; then only keep. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "cannot keep capabilities: %s",
		    strerror(errno));
		return -1;
	}
	rc = privdrop_to(uid, gid, err, errlen);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (rc == -1)
		return -1;
	if (privdrop_caps(keep, 0, 0) == -1) {
		snprintf(err, errlen, "cannot set capabilities: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}
