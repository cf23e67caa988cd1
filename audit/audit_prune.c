/*
 * Retention: cuts a rotated audit file at a signed checkpoint, so that
 * what remains starts with an anchor and still verifies on its own
 * (audit_format.h). The live file is refused: mwgd holds its flock.
 */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"

#define PRUNE_SUFFIX	".prune-tmp"
#define PRUNE_COPY_BUF	65536

/*
 * Finds the last checkpoint older than before that comes before the
 * first record which is not provably older (a newer one, or one whose
 * time cannot be read). Returns how many lines precede it and sets
 * *keep_off to its offset; 0 if there is no such checkpoint.
 */
static long long
find_cut(const char *path, int fd, time_t before, off_t *keep_off, char *err,
    size_t errlen)
{
	struct audit_filter older = { .until = before };
	long long idx = 0, cut = 0;
	off_t off = 0;
	char *buf = NULL;
	const char *action;
	size_t cap = 0;
	ssize_t n;
	json_t *rec;
	FILE *f;
	int dfd;

	*keep_off = 0;
	if ((dfd = dup(fd)) == -1 || (f = fdopen(dfd, "r")) == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	while ((n = getline(&buf, &cap, f)) != -1 && buf[n - 1] == '\n') {
		rec = json_loadb(buf, (size_t)n - 1, 0, NULL);
		if (!audit_filter_match(&older, rec)) {
			json_decref(rec);
			break;
		}
		action = json_string_value(json_object_get(rec,
		    "event.action"));
		if (action != NULL && strcmp(action, "audit.checkpoint") == 0) {
			cut = idx;
			*keep_off = off;
		}
		json_decref(rec);
		idx++;
		off += n;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		cut = -1;
	}
	free(buf);
	fclose(f);
	return cut;
}

static int
copy_tail(int in, off_t off, int out)
{
	char *buf = xmalloc(PRUNE_COPY_BUF);
	ssize_t n, w;
	int rc = 0;

	while ((n = pread(in, buf, PRUNE_COPY_BUF, off)) > 0) {
		for (ssize_t done = 0; done < n; done += w)
			if ((w = write(out, buf + done, (size_t)(n - done))) ==
			    -1) {
				free(buf);
				return -1;
			}
		off += n;
	}
	if (n == -1)
		rc = -1;
	free(buf);
	return rc;
}

/* A rename is durable only once its directory is on disk. */
static int
fsync_dir(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd, rc;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/* The new file: same owner and mode, kept bytes, on disk, renamed. */
static int
rewrite(const char *path, int fd, const struct stat *st, off_t keep_off,
    char *err, size_t errlen)
{
	char *tmp = xasprintf("%s%s", path, PRUNE_SUFFIX);
	const char *what = "create";
	int out;

	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (out == -1)
		goto fail;
	what = "set the owner and mode of";
	if ((st->st_uid != geteuid() || st->st_gid != getegid()) &&
	    fchown(out, st->st_uid, st->st_gid) == -1)
		goto fail;
	if (fchmod(out, st->st_mode & 07777) == -1)
		goto fail;
	what = "write";
	if (copy_tail(fd, keep_off, out) == -1 || fsync(out) == -1)
		goto fail;
	if (close(out) == -1) {
		out = -1;
		goto fail;
	}
	out = -1;
	what = "rename";
	if (rename(tmp, path) == -1)
		goto fail;
	free(tmp);
	if (fsync_dir(path) == -1) {
		snprintf(err, errlen, "pruned %s, but cannot sync its "
		    "directory: %s", path, strerror(errno));
		return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot %s %s: %s", what, tmp, strerror(errno));
	if (out != -1)
		close(out);
	unlink(tmp);
	free(tmp);
	return -1;
}

long long
audit_prune(const char *path, time_t before, char *err, size_t errlen)
{
	struct stat st;
	long long removed;
	off_t keep_off;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	/* Held until the new file is in place: no second prune meanwhile. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "%s is in use by mwgd: prune "
			    "rotated files only", path);
		else
			snprintf(err, errlen, "cannot lock %s: %s", path,
			    strerror(errno));
		close(fd);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "cannot stat %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	removed = find_cut(path, fd, before, &keep_off, err, errlen);
	if (removed > 0 &&
	    rewrite(path, fd, &st, keep_off, err, errlen) == -1)
		removed = -1;
	close(fd);
	return removed;
}
