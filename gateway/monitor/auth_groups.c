/*
 * A person's groups from NSS, read at login after PAM: with sssd these are
 * the directory's groups, which policy maps to roles. Re-entrant calls
 * only (getpwnam_r, getgrgid_r), with buffers that grow on ERANGE.
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "gateway/monitor/auth.h"

#define GROUPS_BUF_START	1024	/* bytes for a passwd/group entry */
#define GROUPS_BUF_MAX		(1 << 20)
#define GROUPS_LIST_START	32	/* gids asked for first */
#define GROUPS_LIST_MAX		65536

/* user's primary gid: 0, or -1 if NSS does not know user. */
static int
groups_primary(const char *user, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	size_t len = GROUPS_BUF_START;
	char *buf = NULL;
	int rc;

	for (;;) {
		buf = xreallocarray(buf, 1, len);
		rc = getpwnam_r(user, &pw, buf, len, &res);
		if (rc != ERANGE || len >= GROUPS_BUF_MAX)
			break;
		len *= 2;
	}
	if (rc == 0 && res != NULL)
		*gid = pw.pw_gid;
	free(buf);
	return rc == 0 && res != NULL ? 0 : -1;
}

/* Every gid of user (primary included), into *list; the count or -1. */
static int
groups_list(const char *user, gid_t primary, gid_t **list)
{
	int n = GROUPS_LIST_START, want;

	*list = NULL;
	for (;;) {
		*list = xreallocarray(*list, (size_t)n, sizeof(**list));
		want = n;
		if (getgrouplist(user, primary, *list, &want) >= 0)
			return want;
		/* glibc says how many it needs; grow at least twofold. */
		if (n >= GROUPS_LIST_MAX)
			break;
		n = want > n * 2 ? want : n * 2;
		if (n > GROUPS_LIST_MAX)
			n = GROUPS_LIST_MAX;
	}
	free(*list);
	*list = NULL;
	return -1;
}

/* gid's name into out (CERTS_GROUP_MAX): 0, or -1 if none or too long. */
static int
groups_name(gid_t gid, char out[CERTS_GROUP_MAX])
{
	struct group gr, *res = NULL;
	size_t len = GROUPS_BUF_START;
	char *buf = NULL;
	int rc, ret = -1;

	for (;;) {
		buf = xreallocarray(buf, 1, len);
		rc = getgrgid_r(gid, &gr, buf, len, &res);
		if (rc != ERANGE || len >= GROUPS_BUF_MAX)
			break;
		len *= 2;
	}
	if (rc == 0 && res != NULL && strlen(gr.gr_name) < CERTS_GROUP_MAX) {
		strcpy(out, gr.gr_name);
		ret = 0;
	}
	free(buf);
	return ret;
}

static int groups_of(const char *user, char (*groups)[CERTS_GROUP_MAX],
    size_t max);

/* 1 if gid is in the first n of list. */
static int
groups_seen(const gid_t *list, int n, gid_t gid)
{
	for (int i = 0; i < n; i++)
		if (list[i] == gid)
			return 1;
	return 0;
}

/*
 * One lookup at a time: an NSS module may walk the group list with state
 * shared by every thread (nss_wrapper, which the tests use, keeps its
 * place in the group file globally; scenario 31 once saw an SSH session
 * authenticated without its group). A lookup per login costs nothing
 * worth running in parallel.
 */
static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER;

int
auth_groups(const char *user, char (*groups)[CERTS_GROUP_MAX], size_t max)
{
	int n;

	pthread_mutex_lock(&groups_lock);
	n = groups_of(user, groups, max);
	pthread_mutex_unlock(&groups_lock);
	return n;
}

static int
groups_of(const char *user, char (*groups)[CERTS_GROUP_MAX], size_t max)
{
	gid_t primary = 0, *list;
	size_t count = 0;
	int n;

	if (groups_primary(user, &primary) == -1)
		return -1;
	if ((n = groups_list(user, primary, &list)) == -1)
		return -1;
	/* The primary group first, whatever order NSS gave. */
	if (count < max && groups_name(primary, groups[count]) == 0 &&
	    certs_group_valid(groups[count]) == 0)
		count++;
	for (int i = 0; i < n && count < max; i++) {
		if (list[i] == primary || groups_seen(list, i, list[i]))
			continue;
		if (groups_name(list[i], groups[count]) == 0 &&
		    certs_group_valid(groups[count]) == 0)
			count++;
	}
	free(list);
	return (int)count;
}
