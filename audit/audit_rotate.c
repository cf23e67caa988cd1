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
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define ROTATE_SUFFIX_MAX	1000	/* PATH.<time>-N tried up to this N */

int
audit_file_open(const char *path, int excl, char *err, size_t errlen)
{
	int fd, flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;

	if ((fd = open(path, flags | (excl ? O_EXCL : 0), 0640)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
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
	return fd;
}

int
audit_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t w = write(fd, c, len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		c += w;
		len -= (size_t)w;
	}
	return 0;
}

/* A rename or create is durable only once its directory is synced. */
static int
dir_sync(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		strcpy(dir, ".");
	else if (snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
	    (int)(slash - path), path) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/* path.<UTC YYYYmmddTHHMMSSZ>, with -N added while that name is taken. */
static int
rotate_name(const char *path, char *buf, size_t size)
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
		n = i == 0 ? snprintf(buf, size, "%s.%s", path, stamp) :
		    snprintf(buf, size, "%s.%s-%d", path, stamp, i);
		if (n < 0 || (size_t)n >= size)
			return -1;
		if (lstat(buf, &st) == -1 && errno == ENOENT)
			return 0;
	}
	return -1;
}

int
audit_rotate_file(const char *path, int *fd, char *err, size_t errlen)
{
	char name[PATH_MAX];
	int nfd;

	if (rotate_name(path, name, sizeof(name)) == -1) {
		snprintf(err, errlen, "no free name to rotate %s to", path);
		return -1;
	}
	if (rename(path, name) == -1) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", path, name,
		    strerror(errno));
		return -1;
	}
	/* O_EXCL: the new file is ours and empty, as the chain expects. */
	if ((nfd = audit_file_open(path, 1, err, errlen)) == -1) {
		if (rename(name, path) == -1)
			log_warn("audit: cannot rename %s back to %s", name,
			    path);
		return -1;
	}
	if (dir_sync(path) == -1)
		log_warn("audit: cannot sync the directory of %s", path);
	if (close(*fd) == -1)
		log_warn("audit: close %s", name);
	*fd = nfd;
	log_info("audit: rotated %s to %s", path, name);
	return 0;
}
