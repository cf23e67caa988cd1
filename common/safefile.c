/*
 * Safe opens for the files mwgd touches as root before the privilege drop
 * and as its own user after it: no link an untrusted user planted is ever
 * followed, and every directory and file is checked for owner and mode on
 * the descriptor that is then used (never by a second lookup of the path).
 */
#include "common/safefile.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/fdio.h"
#include "common/xmalloc.h"

#define SAFEFILE_LINKS_MAX	16	/* links followed in one directory path */

static uid_t trusted_uid = (uid_t)-1;
static gid_t trusted_gid = (gid_t)-1;

void
safefile_trust(uid_t uid, gid_t gid)
{
	trusted_uid = uid;
	trusted_gid = gid;
}

/* Root and the process's own user: they can change anything we could. */
static int
uid_is_ours(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static int
uid_trusted(uid_t uid)
{
	return uid_is_ours(uid) || (trusted_uid != (uid_t)-1 &&
	    uid == trusted_uid);
}

static int
gid_trusted(gid_t gid)
{
	return gid == 0 || gid == getegid() || (trusted_gid != (gid_t)-1 &&
	    gid == trusted_gid);
}

/* "root or uid 65534" for messages: who may own what is opened. */
static const char *
owners_str(char *buf, size_t size)
{
	if (trusted_uid != (uid_t)-1 && !uid_is_ours(trusted_uid) &&
	    geteuid() != 0)
		snprintf(buf, size, "root, uid %u or uid %u",
		    (unsigned)geteuid(), (unsigned)trusted_uid);
	else if (trusted_uid != (uid_t)-1 && !uid_is_ours(trusted_uid))
		snprintf(buf, size, "root or uid %u", (unsigned)trusted_uid);
	else if (geteuid() != 0)
		snprintf(buf, size, "root or uid %u", (unsigned)geteuid());
	else
		snprintf(buf, size, "root");
	return buf;
}

static int refuse(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* A refusal by the rules here: err says what is wrong, errno EPERM. */
static int
refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = EPERM;
	return -1;
}

/*
 * One directory of the path: its owner and who may write it. The last one
 * (where files are opened or made) may not be writable by others at all.
 */
static int
dir_check(const struct stat *sb, const char *shown, int is_last, char *err,
    size_t errlen)
{
	char who[64];
	mode_t m = sb->st_mode;

	if (!S_ISDIR(m)) {
		errbuf_set(err, errlen, "%s: not a directory", shown);
		errno = ENOTDIR;
		return -1;
	}
	if (!uid_trusted(sb->st_uid))
		return refuse(err, errlen, "directory %s is owned by uid %u; "
		    "expected %s", shown, (unsigned)sb->st_uid,
		    owners_str(who, sizeof(who)));
	if ((m & S_IWOTH) && (is_last || !(m & S_ISVTX)))
		return refuse(err, errlen, "directory %s is writable by "
		    "anyone (mode %04o); refusing to use it%s", shown,
		    (unsigned)(m & 07777), is_last && (m & S_ISVTX) ?
		    ": give mwgd a directory of its own" : "");
	if ((m & S_IWGRP) && !(m & S_ISVTX) && !gid_trusted(sb->st_gid))
		return refuse(err, errlen, "directory %s is writable by "
		    "group %u (mode %04o); refusing to use it (chmod g-w)",
		    shown, (unsigned)sb->st_gid, (unsigned)(m & 07777));
	return 0;
}

/* A link may be followed only where no one but root (or we) could have
 * put it: its directory and the link itself are ours, unwritable by any
 * other user. */
static int
link_check(const struct stat *dir, const struct stat *lnk, const char *shown,
    const char *comp, char *err, size_t errlen)
{
	if (uid_is_ours(dir->st_uid) && uid_is_ours(lnk->st_uid) &&
	    (dir->st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return 0;
	errbuf_set(err, errlen, "%s/%s is a symbolic link in a directory "
	    "that uid %u can change; refusing to follow it (name the real "
	    "directory instead)", strcmp(shown, "/") ? shown : "", comp,
	    (unsigned)(uid_is_ours(dir->st_uid) ? lnk->st_uid : dir->st_uid));
	errno = ELOOP;
	return -1;
}

/* The next component of *rest into comp; 0 at the end, -1 if too long. */
static int
next_comp(const char **rest, char comp[NAME_MAX + 1])
{
	const char *p = *rest, *e;

	while (*p == '/')
		p++;
	if (*p == '\0')
		return 0;
	e = strchrnul(p, '/');
	if (e - p > NAME_MAX)
		return -1;
	memcpy(comp, p, (size_t)(e - p));
	comp[e - p] = '\0';
	*rest = e;
	return 1;
}

/* Where a walk is: the directory open so far and its name for messages. */
struct walk {
	int fd;
	struct stat sb;
	char shown[PATH_MAX];
	char rest[PATH_MAX];
	int links;
};

static int
walk_start(struct walk *w, int absolute, char *err, size_t errlen)
{
	const char *start = absolute ? "/" : ".";

	if (w->fd != -1)
		(void)close(w->fd);
	snprintf(w->shown, sizeof(w->shown), "%s", start);
	if ((w->fd = open(start, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(w->fd, &w->sb) == -1) {
		errbuf_set(err, errlen, "%s: %s", start, strerror(errno));
		return -1;
	}
	return dir_check(&w->sb, w->shown, 0, err, errlen);
}

/* Follows the link comp in w's directory: its target goes before rest. */
static int
walk_link(struct walk *w, const char *comp, const struct stat *lsb,
    const char *rest, char *err, size_t errlen)
{
	char target[PATH_MAX];
	ssize_t n;

	if (link_check(&w->sb, lsb, w->shown, comp, err, errlen) == -1)
		return -1;
	if (++w->links > SAFEFILE_LINKS_MAX) {
		errbuf_set(err, errlen, "%s: too many symbolic links",
		    w->shown);
		errno = ELOOP;
		return -1;
	}
	n = readlinkat(w->fd, comp, target, sizeof(target) - 1);
	if (n <= 0) {
		errbuf_set(err, errlen, "%s/%s: %s", w->shown, comp,
		    n == 0 ? "empty link" : strerror(errno));
		return -1;
	}
	target[n] = '\0';
	if (snprintf(w->rest, sizeof(w->rest), "%s/%s", target, rest) >=
	    (int)sizeof(w->rest)) {
		errbuf_set(err, errlen, "%s/%s: path too long", w->shown, comp);
		errno = ENAMETOOLONG;
		return -1;
	}
	return target[0] == '/' ? walk_start(w, 1, err, errlen) : 0;
}

/* Steps into the directory comp, checked as an ancestor. */
static int
walk_into(struct walk *w, const char *comp, char *err, size_t errlen)
{
	size_t len = strlen(w->shown);
	int nfd;

	if (snprintf(w->shown + len, sizeof(w->shown) - len, "%s%s",
	    w->shown[len - 1] == '/' ? "" : "/", comp) >=
	    (int)(sizeof(w->shown) - len)) {
		errbuf_set(err, errlen, "%s: path too long", w->shown);
		errno = ENAMETOOLONG;
		return -1;
	}
	nfd = openat(w->fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (nfd == -1) {
		errbuf_set(err, errlen, "%s: %s", w->shown, errno == ELOOP ||
		    errno == ENOTDIR ? "not a directory (or it was replaced "
		    "while mwgd opened it)" : strerror(errno));
		return -1;
	}
	(void)close(w->fd);
	w->fd = nfd;
	if (fstat(w->fd, &w->sb) == -1) {
		errbuf_set(err, errlen, "%s: %s", w->shown, strerror(errno));
		return -1;
	}
	return dir_check(&w->sb, w->shown, 0, err, errlen);
}

static int
walk_step(struct walk *w, char *err, size_t errlen)
{
	char comp[NAME_MAX + 1], rest[PATH_MAX];
	const char *p = w->rest;
	struct stat lsb;
	int r;

	if ((r = next_comp(&p, comp)) <= 0) {
		if (r == -1) {
			errbuf_set(err, errlen, "%s: a name is too long",
			    w->shown);
			errno = ENAMETOOLONG;
		}
		return r;
	}
	snprintf(rest, sizeof(rest), "%s", p);
	snprintf(w->rest, sizeof(w->rest), "%s", rest);
	if (strcmp(comp, ".") == 0)
		return 1;
	if (fstatat(w->fd, comp, &lsb, AT_SYMLINK_NOFOLLOW) == -1) {
		errbuf_set(err, errlen, "%s%s%s: %s", w->shown,
		    strcmp(w->shown, "/") ? "/" : "", comp, strerror(errno));
		return -1;
	}
	if (S_ISLNK(lsb.st_mode))
		r = walk_link(w, comp, &lsb, rest, err, errlen);
	else
		r = walk_into(w, comp, err, errlen);
	return r == -1 ? -1 : 1;
}

int
safefile_dir_open(const char *path, char *err, size_t errlen)
{
	struct walk w = { .fd = -1 };
	int r, fd;

	if (path == NULL || *path == '\0' || strlen(path) >= sizeof(w.rest)) {
		errbuf_set(err, errlen, "%s: no directory, or too long a name",
		    path ? path : "(null)");
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(w.rest, sizeof(w.rest), "%s", path);
	if (walk_start(&w, path[0] == '/', err, errlen) == -1)
		goto fail;
	while ((r = walk_step(&w, err, errlen)) == 1)
		;
	if (r == -1 || dir_check(&w.sb, w.shown, 1, err, errlen) == -1)
		goto fail;
	/* A real descriptor: the caller may fsync it or list it. */
	if ((fd = openat(w.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		errbuf_set(err, errlen, "%s: %s", w.shown, strerror(errno));
		goto fail;
	}
	(void)close(w.fd);
	return fd;
fail:
	if (w.fd != -1) {
		int saved = errno;

		(void)close(w.fd);
		errno = saved;
	}
	return -1;
}

/* The file behind fd: a regular file with one link, owned by whom we
 * trust. A second link could be a name for any file of that owner. */
static int
file_check(int fd, const char *dirpath, const char *name, char *err,
    size_t errlen)
{
	const char *sep = strcmp(dirpath, "/") ? "/" : "";
	char who[64];
	struct stat sb;

	if (fstat(fd, &sb) == -1) {
		errbuf_set(err, errlen, "%s%s%s: %s", dirpath, sep, name,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode))
		return refuse(err, errlen, "%s%s%s: not a regular file; "
		    "refusing it", dirpath, sep, name);
	if (!uid_trusted(sb.st_uid))
		return refuse(err, errlen, "%s%s%s is owned by uid %u; "
		    "expected %s", dirpath, sep, name, (unsigned)sb.st_uid,
		    owners_str(who, sizeof(who)));
	if (sb.st_nlink != 1)
		return refuse(err, errlen, "%s%s%s has %u hard links; refusing "
		    "it (another name could be any file)", dirpath, sep, name,
		    (unsigned)sb.st_nlink);
	return 0;
}

static int
open_once(int dirfd, const char *name, int flags, mode_t mode)
{
	return openat(dirfd, name, flags | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC, mode);
}

int
safefile_openat(int dirfd, const char *dirpath, const char *name, int flags,
    mode_t mode, int *created, char *err, size_t errlen)
{
	const char *sep = strcmp(dirpath, "/") ? "/" : "";
	int base = flags & ~(O_CREAT | O_EXCL | O_TRUNC), fd = -1, made = 0;

	if (created)
		*created = 0;
	if (*name == '\0' || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, "..")) {
		errbuf_set(err, errlen, "%s%s%s: not a file name", dirpath,
		    sep, name);
		errno = EINVAL;
		return -1;
	}
	if (!(flags & O_EXCL))
		fd = open_once(dirfd, name, base, 0);
	if ((flags & O_CREAT) && (flags & O_EXCL || (fd == -1 &&
	    errno == ENOENT))) {
		fd = open_once(dirfd, name, base | O_CREAT | O_EXCL, mode);
		made = fd != -1;
	}
	if (fd == -1) {
		int saved = errno;

		errbuf_set(err, errlen, "%s%s%s: %s", dirpath, sep, name,
		    errno == ELOOP ? "is a symbolic link; refusing to follow "
		    "it" : errno == EEXIST ? "already exists (mwgd makes this "
		    "file itself)" : strerror(errno));
		errno = saved;
		return -1;
	}
	if (file_check(fd, dirpath, name, err, errlen) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1 ||
	    ((flags & O_TRUNC) && ftruncate(fd, 0) == -1)) {
		int saved = errno;

		if (saved != EPERM)
			errbuf_set(err, errlen, "%s%s%s: %s", dirpath, sep,
			    name, strerror(saved));
		(void)close(fd);
		errno = saved;
		return -1;
	}
	if (created)
		*created = made;
	return fd;
}

char *
safefile_split(const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');

	if (*path == '\0' || (slash && slash[1] == '\0'))
		return NULL;
	if (slash == NULL) {
		*name = path;
		return xstrdup(".");
	}
	*name = slash + 1;
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int
safefile_open(const char *path, int flags, mode_t mode, int *created,
    char *err, size_t errlen)
{
	const char *name;
	char *dir = safefile_split(path, &name);
	int dfd, fd, saved;

	if (dir == NULL) {
		errbuf_set(err, errlen, "%s: not a file name", path);
		errno = EINVAL;
		return -1;
	}
	if ((dfd = safefile_dir_open(dir, err, errlen)) == -1) {
		free(dir);
		return -1;
	}
	fd = safefile_openat(dfd, dir, name, flags, mode, created, err,
	    errlen);
	saved = errno;
	(void)close(dfd);
	free(dir);
	errno = saved;
	return fd;
}

int
safefile_read(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen)
{
	struct stat sb;
	size_t got = 0;
	ssize_t n = 0;
	char *b;
	int fd;

	if ((fd = safefile_open(path, O_RDONLY, 0, NULL, err, errlen)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || sb.st_size < 0 ||
	    (size_t)sb.st_size > max) {
		errbuf_set(err, errlen, "%s: %s", path, sb.st_size < 0 ||
		    (size_t)sb.st_size <= max ? strerror(errno) :
		    "larger than expected; refusing it");
		(void)close(fd);
		return -1;
	}
	b = xmalloc(max + 1);
	while (got < max) {
		n = read(fd, b + got, max - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (n == -1) {
		errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
		free(b);
		(void)close(fd);
		return -1;
	}
	(void)close(fd);
	b[got] = '\0';
	*buf = b;
	*len = got;
	return 0;
}

int
safefile_replace(const char *path, const void *buf, size_t len, mode_t mode,
    char *err, size_t errlen)
{
	const char *name;
	char *dir = safefile_split(path, &name), *tmp = NULL;
	int dfd = -1, fd = -1, rc = -1;

	if (dir == NULL) {
		errbuf_set(err, errlen, "%s: not a file name", path);
		return -1;
	}
	if ((dfd = safefile_dir_open(dir, err, errlen)) == -1)
		goto out;
	tmp = xasprintf(".%s.tmp", name);
	/* A crash may have left one; removing a name never follows it. */
	if (unlinkat(dfd, tmp, 0) == -1 && errno != ENOENT) {
		errbuf_set(err, errlen, "%s/%s: %s", dir, tmp, strerror(errno));
		goto out;
	}
	if ((fd = safefile_openat(dfd, dir, tmp, O_WRONLY | O_CREAT | O_EXCL,
	    mode, NULL, err, errlen)) == -1)
		goto out;
	if (fd_write_all(fd, buf, len) == -1 || fsync(fd) == -1 ||
	    renameat(dfd, tmp, dfd, name) == -1 || fsync(dfd) == -1) {
		errbuf_set(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		(void)unlinkat(dfd, tmp, 0);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		(void)close(fd);
	if (dfd != -1)
		(void)close(dfd);
	free(tmp);
	free(dir);
	return rc;
}
