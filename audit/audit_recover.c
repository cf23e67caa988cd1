/*
 * Recovery of the live audit file at open: find where its chain ends. A
 * crash can leave a torn last line (a group cut short); it is appended to
 * PATH.torn, never dropped, and the file is cut back to its last sealed
 * record so that the chain goes on from there.
 */
#include "audit/audit_writer_priv.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/fdio.h"
#include "common/safefile.h"
#include "common/xmalloc.h"

#define FIRST_LINE_MAX	65536	/* read to find the first record's time */

/* The last part of the file, read back in one piece. */
struct tail_buf {
	char *buf;
	size_t len;
	off_t base;		/* file offset of buf[0] */
};

static int
pread_all(int fd, char *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t r = pread(fd, buf, len, off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;	/* the file shrank under us */
			return -1;
		}
		buf += r;
		len -= (size_t)r;
		off += r;
	}
	return 0;
}

/* 1 if buf[start, end) is a sealed record whose hash is its own. */
static int
line_sealed(const struct tail_buf *tb, size_t start, size_t end,
    char hash[AUDIT_HASH_HEX + 1])
{
	char computed[AUDIT_HASH_HEX + 1];

	if (audit_line_check(tb->buf + start, end - start, hash,
	    computed) == -1)
		return 0;
	return strcmp(hash, computed) == 0;
}

/*
 * Start of the line that ends at buf[end] (its '\n'); -1 if the line may
 * begin before the window, so it cannot be a record of ours.
 */
static ssize_t
line_start(const struct tail_buf *tb, size_t end)
{
	const char *nl = end ? memrchr(tb->buf, '\n', end) : NULL;

	if (nl != NULL)
		return nl - tb->buf + 1;
	return tb->base == 0 ? 0 : -1;
}

/* The last record's seq, from a line whose seal was checked. */
static int
line_seq(const char *line, size_t len, unsigned long long *seq)
{
	json_error_t jerr;
	json_t *rec = json_loadb(line, len, 0, &jerr), *v;
	int rc = -1;

	if (rec != NULL && json_is_integer(v = json_object_get(rec, "seq")) &&
	    json_integer_value(v) > 0) {
		*seq = (unsigned long long)json_integer_value(v);
		rc = 0;
	}
	json_decref(rec);
	return rc;
}

/*
 * Finds the last good line: the last complete line if it is sealed, or
 * else the one before it (the last is then torn too). Sets t->seq,
 * t->hash, t->end.
 */
static int
tail_find(const struct tail_buf *tb, const char *path, struct audit_tail *t,
    char *err, size_t errlen)
{
	const char *nl = memrchr(tb->buf, '\n', tb->len);
	ssize_t start;
	size_t end;

	if (nl == NULL && tb->base == 0)
		return 0;	/* no complete line: all of it is torn */
	if (nl == NULL) {
		snprintf(err, errlen, "%s has no line end in its last %d "
		    "bytes: rotate it away (mv) and start a new file", path,
		    AUDIT_TAIL_MAX);
		return -1;
	}
	end = (size_t)(nl - tb->buf);
	if ((start = line_start(tb, end)) != -1 &&
	    !line_sealed(tb, (size_t)start, end, t->hash) && start > 0) {
		end = (size_t)start - 1;
		start = line_start(tb, end);
	}
	if (start == -1 || !line_sealed(tb, (size_t)start, end, t->hash) ||
	    line_seq(tb->buf + start, end - (size_t)start, &t->seq) == -1) {
		snprintf(err, errlen, "%s does not end in a sealed record: "
		    "rotate it away (mv) and start a new file", path);
		return -1;
	}
	t->end = tb->base + (off_t)end + 1;
	return 0;
}

/*
 * Appends the torn bytes to PATH.torn, durably, then cuts them off. Runs
 * as root at start in the daemon's directory: PATH.torn is opened through
 * safefile, so a link planted there is refused, never appended through.
 */
static int
torn_move(int fd, const char *path, const char *bytes, size_t len, off_t end,
    char *err, size_t errlen)
{
	char *tpath = xasprintf("%s.torn", path), why[SAFEFILE_ERR_MAX];
	int tfd;

	if ((tfd = safefile_open(tpath, O_WRONLY | O_APPEND | O_CREAT, 0640,
	    NULL, why, sizeof(why))) == -1) {
		snprintf(err, errlen, "cannot set the torn end of %s aside: %s",
		    path, why);
		free(tpath);
		return -1;
	}
	/* Line-oriented like the log, so the kept bytes read as a line. */
	if (fd_write_all(tfd, bytes, len) == -1 ||
	    (bytes[len - 1] != '\n' && fd_write_all(tfd, "\n", 1) == -1) ||
	    fdatasync(tfd) == -1) {
		(void)close(tfd);
		goto fail;
	}
	if (close(tfd) == -1)
		goto fail;
	if (ftruncate(fd, end) == -1 || fdatasync(fd) == -1)
		goto fail;
	free(tpath);
	return 0;
fail:
	snprintf(err, errlen, "cannot move the torn end of %s to %s: %s",
	    path, tpath, strerror(errno));
	free(tpath);
	return -1;
}

/* The time of the file's first record, for rotation by age. */
static time_t
first_time(int rfd, off_t end)
{
	char buf[FIRST_LINE_MAX], *nl;
	size_t len = end < (off_t)sizeof(buf) ? (size_t)end : sizeof(buf);
	json_t *rec;
	const char *ts;
	struct tm tm;
	time_t t = time(NULL);

	if (end == 0)
		return 0;
	if (pread_all(rfd, buf, len, 0) == -1 ||
	    (nl = memchr(buf, '\n', len)) == NULL)
		return t;
	if ((rec = json_loadb(buf, (size_t)(nl - buf), 0, NULL)) == NULL)
		return t;
	memset(&tm, 0, sizeof(tm));
	ts = json_string_value(json_object_get(rec, "@timestamp"));
	if (ts != NULL && strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) != NULL)
		t = timegm(&tm);
	json_decref(rec);
	return t;
}

/* A second descriptor to read, on the very file that fd holds locked. */
static int
open_reader(int fd, const char *path, off_t *size, char *err, size_t errlen)
{
	struct stat st, rst;
	int rfd;

	if ((rfd = safefile_open(path, O_RDONLY, 0, NULL, err,
	    errlen)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || fstat(rfd, &rst) == -1) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		(void)close(rfd);
		return -1;
	}
	if (st.st_dev != rst.st_dev || st.st_ino != rst.st_ino) {
		snprintf(err, errlen, "%s was replaced while it was opened",
		    path);
		(void)close(rfd);
		return -1;
	}
	*size = st.st_size;
	return rfd;
}

int
audit_recover(int fd, const char *path, struct audit_tail *t, char *err,
    size_t errlen)
{
	struct tail_buf tb = { NULL, 0, 0 };
	off_t size;
	int rfd, rc = -1;

	memset(t, 0, sizeof(*t));
	memcpy(t->hash, AUDIT_GENESIS, sizeof(AUDIT_GENESIS));
	if ((rfd = open_reader(fd, path, &size, err, errlen)) == -1)
		return -1;
	if (size == 0) {
		rc = 0;
		goto out;
	}
	tb.len = size < AUDIT_TAIL_MAX ? (size_t)size : AUDIT_TAIL_MAX;
	tb.base = size - (off_t)tb.len;
	tb.buf = xmalloc(tb.len);
	if (pread_all(rfd, tb.buf, tb.len, tb.base) == -1) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (tail_find(&tb, path, t, err, errlen) == -1)
		goto out;
	t->torn = size - t->end;
	if (t->torn > 0 && torn_move(fd, path, tb.buf + (t->end - tb.base),
	    (size_t)t->torn, t->end, err, errlen) == -1)
		goto out;
	t->first = first_time(rfd, t->end);
	rc = 0;
out:
	free(tb.buf);
	if (close(rfd) == -1 && rc == 0) {
		snprintf(err, errlen, "close %s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}
