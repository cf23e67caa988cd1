/*
 * Audit forwarder, the followed file: reads whole lines from the live audit
 * file, follows its rotation like tail -F (finding a rotated file by inode
 * after a restart) and saves the forwarded position atomically.
 */
#include "audit/audit_syslog_priv.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/safefile.h"
#include "common/xmalloc.h"

/* At most one batch is unacknowledged: after a lost connection or a crash
 * TCP and TLS may deliver up to FWD_BATCH_RECORDS records twice. */
#define FWD_BATCH_RECORDS	256	/* records read and sent at a time */
#define FWD_BATCH_BYTES		(1024 * 1024)
#define FWD_STATE_MAGIC		"mwg-forward-v1"
#define FWD_STATE_MAX		128	/* one line: magic, inode, offset, seq */

void
audit_follow_save(struct audit_follow *fl)
{
	char line[128], why[SAFEFILE_ERR_MAX];
	int n;

	if (fl->fd == -1 || (fl->ino == fl->saved_ino &&
	    fl->acked.off == fl->saved.off && fl->acked.seq == fl->saved.seq))
		return;
	n = snprintf(line, sizeof(line), "%s %ju %jd %llu\n",
	    FWD_STATE_MAGIC, (uintmax_t)fl->ino, (intmax_t)fl->acked.off,
	    fl->acked.seq);
	/* The thread may still be root at start: never through a link. */
	if (safefile_replace(fl->state_path, line, (size_t)n, 0600, why,
	    sizeof(why)) == -1) {
		if (!fl->state_warned)
			log_warnx("audit forwarder: cannot save position: %s",
			    why);
		fl->state_warned = 1;
		return;
	}
	fl->state_warned = 0;
	fl->saved_ino = fl->ino;
	fl->saved = fl->acked;
}

static void
follow_load_state(struct audit_follow *fl)
{
	char magic[32], *text, why[SAFEFILE_ERR_MAX];
	uintmax_t ino;
	intmax_t off;
	unsigned long long seq;
	size_t len;

	if (safefile_read(fl->state_path, FWD_STATE_MAX, &text, &len, why,
	    sizeof(why)) == -1) {
		if (errno != ENOENT)
			log_warnx("audit forwarder: cannot read its position "
			    "(%s); starting at the beginning of %s", why,
			    fl->path);
		return;
	}
	if (sscanf(text, "%31s %ju %jd %llu", magic, &ino, &off, &seq) != 4 ||
	    strcmp(magic, FWD_STATE_MAGIC) != 0 || off < 0)
		log_warnx("audit forwarder: %s is not a forwarder state file; "
		    "starting at the beginning of %s", fl->state_path,
		    fl->path);
	else {
		fl->have_state = 1;
		fl->saved_ino = (ino_t)ino;
		fl->saved.off = (off_t)off;
		fl->saved.seq = seq;
	}
	free(text);
}

/* Opens name (whose inode must be want, unless 0) as the followed file. */
static int
follow_open(struct audit_follow *fl, const char *name, ino_t want,
    struct audit_follow_pos at)
{
	char why[SAFEFILE_ERR_MAX];
	struct stat st;
	int fd;

	if ((fd = safefile_open(name, O_RDONLY, 0, NULL, why,
	    sizeof(why))) == -1) {
		/* The writer may not have made the live file yet. */
		if (errno != ENOENT && !fl->open_warned)
			log_warnx("audit forwarder: cannot open %s", why);
		fl->open_warned = errno != ENOENT;
		return -1;
	}
	if (fstat(fd, &st) == -1 || (want != 0 && st.st_ino != want)) {
		close(fd);
		return -1;
	}
	if (at.off > st.st_size) {
		log_warnx("audit forwarder: %s is shorter than the saved "
		    "position; forwarding it from its beginning", name);
		at.off = 0;
	}
	if (fl->fd != -1)
		close(fl->fd);
	fl->fd = fd;
	fl->ino = st.st_ino;
	fl->pos = fl->acked = at;
	fl->open_warned = 0;
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Rotated files: PATH.<UTC stamp>, so names sort in the order written. */
static size_t
list_rotated(struct audit_follow *fl, char ***namesp)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	if ((d = opendir(fl->dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, fl->base, fl->baselen) != 0 ||
		    de->d_name[fl->baselen] != '.' ||
		    !isdigit((unsigned char)de->d_name[fl->baselen + 1]))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	(void)closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_name);
	*namesp = names;
	return n;
}

/*
 * Looks among the rotated files for the one whose inode is ino: its path
 * goes into found, and the path of the file written after it (the next
 * rotated file, or PATH) into next. Returns 0, or -1 if none has ino.
 */
static int
follow_find_rotated(struct audit_follow *fl, ino_t ino, char *found,
    char *next, size_t len)
{
	char **names = NULL;
	size_t n = list_rotated(fl, &names), i;
	struct stat st;
	int rc = -1;

	for (i = 0; i < n && rc == -1; i++) {
		if (snprintf(found, len, "%s/%s", fl->dir, names[i]) >=
		    (int)len || stat(found, &st) == -1 || st.st_ino != ino)
			continue;
		rc = 0;
		if (i + 1 < n)
			snprintf(next, len, "%s/%s", fl->dir, names[i + 1]);
		else
			snprintf(next, len, "%s", fl->path);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/*
 * First open: the saved position, in PATH or, if PATH was rotated since,
 * in the rotated file that has the saved inode; else PATH from its start.
 */
int
audit_follow_open_first(struct audit_follow *fl)
{
	char found[PATH_MAX], next[PATH_MAX];
	struct audit_follow_pos start = { 0, fl->saved.seq };
	struct stat st;

	if (fl->have_state) {
		if ((stat(fl->path, &st) == 0 && st.st_ino == fl->saved_ino &&
		    follow_open(fl, fl->path, fl->saved_ino, fl->saved) == 0) ||
		    (follow_find_rotated(fl, fl->saved_ino, found, next,
		    sizeof(found)) == 0 &&
		    follow_open(fl, found, fl->saved_ino, fl->saved) == 0)) {
			fl->have_state = 0;
			return 0;
		}
		if (stat(fl->path, &st) == -1)
			return -1;
		log_warnx("audit forwarder: the file of the saved position "
		    "(inode %ju) is gone; forwarding %s from its beginning",
		    (uintmax_t)fl->saved_ino, fl->path);
	}
	fl->have_state = 0;
	return follow_open(fl, fl->path, 0, start);
}

/* PATH is a new file: the followed one was rotated. */
int
audit_follow_rotated(struct audit_follow *fl)
{
	struct stat st;

	return stat(fl->path, &st) == 0 && st.st_ino != fl->ino;
}

/*
 * The followed file was rotated and read to its end: go on with the file
 * written after it, which is PATH unless it was rotated again meanwhile.
 */
int
audit_follow_switch(struct audit_follow *fl)
{
	char found[PATH_MAX], next[PATH_MAX];
	struct audit_follow_pos start = { 0, fl->pos.seq };
	const char *name = fl->path;
	struct stat st;

	if (fstat(fl->fd, &st) == 0 && st.st_size > fl->pos.off)
		log_warnx("audit forwarder: rotated file (inode %ju) ends in "
		    "%jd bytes without a newline; not forwarded",
		    (uintmax_t)fl->ino, (intmax_t)(st.st_size - fl->pos.off));
	if (follow_find_rotated(fl, fl->ino, found, next, sizeof(next)) == 0)
		name = next;
	if (follow_open(fl, name, 0, start) == -1)
		return 0;
	audit_follow_save(fl);
	return 1;
}

/* Puts the file's size in *size; a file cut short is read again. */
int
audit_follow_stat(struct audit_follow *fl, off_t *size)
{
	struct stat st;

	if (fstat(fl->fd, &st) == -1) {
		log_warn("audit forwarder: cannot stat %s", fl->path);
		return -1;
	}
	if (st.st_size < fl->acked.off) {
		log_warnx("audit forwarder: the followed file (inode %ju) "
		    "shrank below the position forwarded; forwarding it from "
		    "its beginning", (uintmax_t)fl->ino);
		fl->acked.off = 0;
		fl->pos = fl->acked;
		fl->unconfirmed = 0;
	}
	*size = st.st_size;
	return 0;
}

/*
 * Reads whole lines, at most a batch, at the position into fl->buf.
 * Returns their length in bytes (0: none yet), -2 to be called again, or
 * -1 on an error.
 */
ssize_t
audit_follow_read(struct audit_follow *fl)
{
	const char *nl;
	ssize_t n, end = 0;
	unsigned lines = 0;

	if ((n = pread(fl->fd, fl->buf, FWD_BATCH_BYTES, fl->pos.off)) == -1) {
		log_warn("audit forwarder: cannot read %s", fl->path);
		return -1;
	}
	while (lines < FWD_BATCH_RECORDS && (nl = memchr(fl->buf + end, '\n',
	    (size_t)(n - end))) != NULL) {
		end = nl - fl->buf + 1;
		lines++;
	}
	if (fl->skipping || (end == 0 && n == FWD_BATCH_BYTES)) {
		/* Records are at most AUDIT_RECORD_MAX: this is not one. */
		if (!fl->skipping)
			log_warnx("audit forwarder: line at offset %jd is over "
			    "%d bytes; not forwarded", (intmax_t)fl->pos.off,
			    FWD_BATCH_BYTES);
		nl = memchr(fl->buf, '\n', (size_t)n);
		fl->skipping = nl == NULL;
		fl->pos.off += nl ? nl - fl->buf + 1 : n;
		fl->acked = fl->pos;
		return n > 0 ? -2 : 0;
	}
	return end;
}


struct audit_follow *
audit_follow_new(const char *audit_path, const char *state_path)
{
	struct audit_follow *fl = xcalloc(1, sizeof(*fl));
	const char *slash = strrchr(audit_path, '/');

	fl->fd = -1;
	fl->path = xstrdup(audit_path);
	fl->dir = slash ? xstrndup(audit_path, (size_t)(slash - audit_path)) :
	    xstrdup(".");
	if (*fl->dir == '\0') {
		free(fl->dir);
		fl->dir = xstrdup("/");
	}
	fl->base = xstrdup(slash ? slash + 1 : audit_path);
	fl->baselen = strlen(fl->base);
	fl->state_path = xstrdup(state_path);
	fl->buf = xmalloc(FWD_BATCH_BYTES);
	follow_load_state(fl);
	return fl;
}

void
audit_follow_free(struct audit_follow *fl)
{
	if (fl == NULL)
		return;
	if (fl->fd != -1)
		close(fl->fd);
	free(fl->path);
	free(fl->dir);
	free(fl->base);
	free(fl->state_path);
	free(fl->buf);
	free(fl);
}
