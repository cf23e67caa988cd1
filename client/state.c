/*
 * mwg's state directory: where it is (--dir, $MWG_DIR, ~/.config/mwg),
 * creating it private, and whole-file reads and atomic writes of the small
 * files in it (keys, certificates, the gateway's address).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "common/errbuf.h"
#include "common/fdio.h"
#include "common/xmalloc.h"

#define STATE_DIR_MODE	0700

int
client_state_resolve(const char *opt, struct client_state *st, char *err,
    size_t errlen)
{
	const char *env = getenv(STATE_DIR_ENV), *home = getenv("HOME");
	struct passwd *pw;
	int n;

	if (opt != NULL && opt[0] == '\0') {
		errbuf_set(err, errlen, "--dir is empty");
		return -1;
	}
	if (opt != NULL || (env != NULL && env[0] != '\0'))
		n = snprintf(st->dir, sizeof(st->dir), "%s", opt ? opt : env);
	else {
		if (home == NULL || home[0] == '\0') {
			if ((pw = getpwuid(getuid())) == NULL ||
			    pw->pw_dir == NULL || pw->pw_dir[0] == '\0') {
				errbuf_set(err, errlen, "no home directory: "
				    "give --dir DIR or set %s", STATE_DIR_ENV);
				return -1;
			}
			home = pw->pw_dir;
		}
		n = snprintf(st->dir, sizeof(st->dir), "%s%s%s", home,
		    home[strlen(home) - 1] == '/' ? "" : "/", STATE_DIR_HOME);
	}
	if (n < 0 || (size_t)n >= sizeof(st->dir)) {
		errbuf_set(err, errlen, "state directory path too long");
		return -1;
	}
	/* "dir/" and "dir" are one directory; keep messages tidy. */
	while (n > 1 && st->dir[n - 1] == '/')
		st->dir[--n] = '\0';
	return 0;
}

int
client_state_path(const struct client_state *st, const char *name, char *buf,
    size_t buflen)
{
	int n = snprintf(buf, buflen, "%s/%s", st->dir, name);

	return n < 0 || (size_t)n >= buflen ? -1 : 0;
}

/* mkdir -p for the parents of dir: created 0700, like the directory. */
static int
state_make_parents(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	char *p;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, STATE_DIR_MODE) == -1 && errno != EEXIST) {
			errbuf_set(err, errlen, "cannot create %s: %s", path,
			    strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

int
client_state_create(const struct client_state *st, char *err, size_t errlen)
{
	struct stat sb;

	if (state_make_parents(st->dir, err, errlen) == -1)
		return -1;
	if (mkdir(st->dir, STATE_DIR_MODE) == -1 && errno != EEXIST) {
		errbuf_set(err, errlen, "cannot create %s: %s", st->dir,
		    strerror(errno));
		return -1;
	}
	if (stat(st->dir, &sb) == -1) {
		errbuf_set(err, errlen, "%s: %s", st->dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		errbuf_set(err, errlen, "%s is not a directory", st->dir);
		return -1;
	}
	/* Someone else's directory could swap our key files under us. */
	if (sb.st_uid != geteuid()) {
		errbuf_set(err, errlen, "%s belongs to uid %u, not to you",
		    st->dir, (unsigned int)sb.st_uid);
		return -1;
	}
	if ((sb.st_mode & 022) != 0) {
		errbuf_set(err, errlen, "others can write to %s: make it "
		    "private first (chmod 700 %s)", st->dir, st->dir);
		return -1;
	}
	return 0;
}

/* The rename is durable only once the directory itself is synced. */
static void
state_sync_dir(const char *dir)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

int
client_state_write(const struct client_state *st, const char *name,
    const void *data, size_t len, mode_t mode, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, saved;

	if (client_state_path(st, name, path, sizeof(path)) == -1 ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", st->dir, name) >=
	    (int)sizeof(tmp)) {
		errbuf_set(err, errlen, "%s/%s: path too long", st->dir, name);
		return -1;
	}
	/* mkostemp creates 0600: the secret is never readable by others. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		errbuf_set(err, errlen, "cannot create a file in %s: %s",
		    st->dir, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) == -1 || fd_write_all(fd, data, len) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		goto fail;
	}
	state_sync_dir(st->dir);
	return 0;
fail:
	unlink(tmp);
	errbuf_set(err, errlen, "cannot write %s: %s", path, strerror(saved));
	return -1;
}

static char *
state_read_fd(int fd, const char *path, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat sb;
	size_t len = 0;
	ssize_t n;
	char *buf;

	if (fstat(fd, &sb) == -1) {
		errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > STATE_FILE_MAX) {
		errno = S_ISREG(sb.st_mode) ? EFBIG : EINVAL;
		errbuf_set(err, errlen, "%s: not a regular file of at most "
		    "%d bytes", path, STATE_FILE_MAX);
		return NULL;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (len < (size_t)sb.st_size) {
		n = read(fd, buf + len, (size_t)sb.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			errbuf_set(err, errlen, "cannot read %s: %s", path,
			    n == 0 ? "file shrank" : strerror(errno));
			freezero_mwg(buf, (size_t)sb.st_size + 1);
			errno = EIO;
			return NULL;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

char *
client_read_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	char *buf;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		saved = errno;
		errbuf_set(err, errlen, "cannot read %s: %s", path,
		    strerror(saved));
		errno = saved;
		return NULL;
	}
	buf = state_read_fd(fd, path, lenp, err, errlen);
	saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

char *
client_state_read(const struct client_state *st, const char *name,
    size_t *lenp, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (client_state_path(st, name, path, sizeof(path)) == -1) {
		errbuf_set(err, errlen, "%s/%s: path too long", st->dir, name);
		errno = ENAMETOOLONG;
		return NULL;
	}
	return client_read_file(path, lenp, err, errlen);
}

int
client_state_has(const struct client_state *st, const char *name)
{
	char path[PATH_MAX];

	return client_state_path(st, name, path, sizeof(path)) == 0 &&
	    access(path, F_OK) == 0;
}

int
client_state_remove(const struct client_state *st, const char *name,
    char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (client_state_path(st, name, path, sizeof(path)) == -1) {
		errbuf_set(err, errlen, "%s/%s: path too long", st->dir, name);
		return -1;
	}
	if (unlink(path) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	errbuf_set(err, errlen, "cannot remove %s: %s", path, strerror(errno));
	return -1;
}
