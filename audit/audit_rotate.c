/*
 * The live audit file's life: opened under an exclusive flock so that one
 * mwgd alone appends to it, and rotated by renaming it aside under its UTC
 * time and starting a new file in its place (the writer continues the
 * chain there, beginning with a checkpoint).
 */
#include "audit/audit_writer_priv.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/safefile.h"
#include "common/xmalloc.h"

#define ROTATE_SUFFIX_MAX	1000	/* PATH.<time>-N tried up to this N */

/*
 * The live file is opened as root at start in a directory the daemon's
 * user owns: safefile refuses a link or a second name planted there, and
 * the chown goes to the descriptor, never to a path.
 */
int
audit_file_open(const char *path, int excl, uid_t owner, char *err,
    size_t errlen)
{
	int fd, flags = O_WRONLY | O_APPEND | O_CREAT;
	char why[SAFEFILE_ERR_MAX];

	if ((fd = safefile_open(path, flags | (excl ? O_EXCL : 0), 0640, NULL,
	    why, sizeof(why))) == -1) {
		snprintf(err, errlen, "cannot open the audit file: %s", why);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "%s is in use by another mwgd",
			    path);
		else
			snprintf(err, errlen, "cannot lock %s: %s", path,
			    strerror(errno));
		(void)close(fd);
		return -1;
	}
	/* The daemon's user rotates it and its forwarder reads it. */
	if (owner != 0 && owner != geteuid() &&
	    fchown(fd, owner, (gid_t)-1) == -1) {
		snprintf(err, errlen, "cannot give %s to uid %u: %s", path,
		    (unsigned)owner, strerror(errno));
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* name.<UTC YYYYmmddTHHMMSSZ>, with -N added while that name is taken in
 * dfd (looked up without following a link). */
static int
rotate_name(int dfd, const char *name, char *buf, size_t size)
{
	char stamp[32];
	struct stat st;
	struct tm tm;
	time_t now = time(NULL);
	int n;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return -1;
	for (int i = 0; i < ROTATE_SUFFIX_MAX; i++) {
		n = i == 0 ? snprintf(buf, size, "%s.%s", name, stamp) :
		    snprintf(buf, size, "%s.%s-%d", name, stamp, i);
		if (n < 0 || (size_t)n >= size)
			return -1;
		if (fstatat(dfd, buf, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
		    errno == ENOENT)
			return 0;
	}
	return -1;
}

/* The new live file, made (O_EXCL) in the checked directory dfd. */
static int
rotate_new(int dfd, const char *dir, const char *name, uid_t owner,
    char *err, size_t errlen)
{
	char why[SAFEFILE_ERR_MAX];
	int fd;

	if ((fd = safefile_openat(dfd, dir, name, O_WRONLY | O_APPEND |
	    O_CREAT | O_EXCL, 0640, NULL, why, sizeof(why))) == -1) {
		snprintf(err, errlen, "cannot make a new audit file: %s", why);
		return -1;
	}
	if ((owner != 0 && owner != geteuid() &&
	    fchown(fd, owner, (gid_t)-1) == -1) ||
	    flock(fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "cannot take %s/%s: %s", dir, name,
		    strerror(errno));
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* Renames, creates and syncs all inside one checked directory descriptor,
 * so a link swapped in for the directory or the file is never followed. */
int
audit_rotate_file(const char *path, uid_t owner, int *fd, char *err,
    size_t errlen)
{
	char name[PATH_MAX], why[SAFEFILE_ERR_MAX];
	const char *base;
	char *dir = safefile_split(path, &base);
	int dfd, nfd, rc = -1;

	if (dir == NULL || (dfd = safefile_dir_open(dir, why,
	    sizeof(why))) == -1) {
		snprintf(err, errlen, "cannot rotate %s: %s", path,
		    dir ? why : "not a file name");
		free(dir);
		return -1;
	}
	if (rotate_name(dfd, base, name, sizeof(name)) == -1) {
		snprintf(err, errlen, "no free name to rotate %s to", path);
		goto out;
	}
	if (renameat(dfd, base, dfd, name) == -1) {
		snprintf(err, errlen, "cannot rename %s to %s/%s: %s", path,
		    dir, name, strerror(errno));
		goto out;
	}
	/* O_EXCL: the new file is ours and empty, as the chain expects. */
	if ((nfd = rotate_new(dfd, dir, base, owner, err, errlen)) == -1) {
		if (renameat(dfd, name, dfd, base) == -1)
			log_warn("audit: cannot rename %s/%s back to %s", dir,
			    name, path);
		goto out;
	}
	if (fsync(dfd) == -1)
		log_warn("audit: cannot sync the directory of %s", path);
	if (close(*fd) == -1)
		log_warn("audit: close %s/%s", dir, name);
	*fd = nfd;
	log_info("audit: rotated %s to %s/%s", path, dir, name);
	rc = 0;
out:
	(void)close(dfd);
	free(dir);
	return rc;
}
