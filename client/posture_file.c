/*
 * What the posture collectors share: paths below the root they read
 * (a fixture tree in tests), bounded whole-file reads, shell-style
 * KEY=value files, report strings, and running a system tool with a time
 * limit (only ever on the live system).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/posture.h"
#include "common/xmalloc.h"

#define FILE_CHUNK	4096

int
posture_root_is_live(const char *root)
{
	return root[0] == '/' && root[strspn(root, "/")] == '\0';
}

int
posture_path(const char *root, const char *rel, char *buf, size_t len)
{
	size_t rlen = strlen(root);
	int n;

	/* "fixture/" and "fixture" are one tree; "/" stays "/". */
	while (rlen > 0 && root[rlen - 1] == '/')
		rlen--;
	while (*rel == '/')
		rel++;
	n = snprintf(buf, len, "%.*s/%s", (int)rlen, root, rel);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The next buffer size: doubling, up to one byte past the limit (a
 * file that fills it is too large). */
static size_t
file_grow(size_t cap)
{
	return cap * 2 > POSTURE_FILE_MAX ? POSTURE_FILE_MAX + 1 : cap * 2;
}

/* Reads fd to the end: at most POSTURE_FILE_MAX bytes, or NULL. */
static char *
file_read_fd(int fd, size_t *lenp)
{
	size_t len = 0, cap = FILE_CHUNK;
	char *buf = xmalloc(cap + 1);
	ssize_t n;

	for (;;) {
		if (len == cap) {
			if (cap > POSTURE_FILE_MAX) {
				free(buf);
				return NULL;
			}
			cap = file_grow(cap);
			buf = xreallocarray(buf, cap + 1, 1);
		}
		if ((n = read(fd, buf + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

char *
posture_read(const char *root, const char *rel, size_t *lenp)
{
	char path[PATH_MAX], *text;
	struct stat sb;
	int fd;

	if (posture_path(root, rel, path, sizeof(path)) == -1)
		return NULL;
	/* O_NONBLOCK: a FIFO planted in a tree must not hang us. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return NULL;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return NULL;
	}
	text = file_read_fd(fd, lenp);
	close(fd);
	return text;
}

int
posture_mtime(const char *root, const char *rel, time_t *t)
{
	char path[PATH_MAX];
	struct stat sb;

	if (posture_path(root, rel, path, sizeof(path)) == -1 ||
	    stat(path, &sb) == -1)
		return -1;
	*t = sb.st_mtime;
	return 0;
}

char *
posture_next_line(char **cursor)
{
	char *line = *cursor, *nl;

	if (line == NULL || *line == '\0')
		return NULL;
	if ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		*cursor = nl + 1;
	} else
		*cursor = line + strlen(line);
	return line;
}

/* value with one level of '...' or "..." removed (and \" etc. inside). */
static void
file_unquote(const char *v, size_t vlen, char *buf, size_t buflen)
{
	size_t o = 0;
	char q = 0;

	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t' ||
	    v[vlen - 1] == '\r'))
		vlen--;
	if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
		q = v[0];
		v++;
		vlen -= 2;
	}
	for (size_t i = 0; i < vlen && o + 1 < buflen; i++) {
		if (q == '"' && v[i] == '\\' && i + 1 < vlen)
			i++;
		buf[o++] = v[i];
	}
	buf[o] = '\0';
}

int
posture_shell_value(const char *text, const char *key, char *buf,
    size_t buflen)
{
	size_t klen = strlen(key);
	const char *line, *end;
	int found = 0;

	buf[0] = '\0';
	for (line = text; line != NULL && *line != '\0'; line = end ?
	    end + 1 : NULL) {
		end = strchr(line, '\n');
		line += strspn(line, " \t");
		if (strncmp(line, key, klen) != 0 || line[klen] != '=')
			continue;
		line += klen + 1;
		file_unquote(line, end ? (size_t)(end - line) : strlen(line),
		    buf, buflen);
		found = 1;
	}
	return found;
}

void
posture_text(char dst[POSTURE_TEXT_MAX], const char *src)
{
	size_t i;

	for (i = 0; i < POSTURE_TEXT_MAX - 1 && src[i] != '\0'; i++)
		dst[i] = src[i] >= 0x20 && src[i] <= 0x7e ? src[i] : '?';
	dst[i] = '\0';
	if (i == 0)
		strcpy(dst, "unknown");
}

/* The child's side: never returns. Only async-signal-safe calls here
 * (mwg connect runs this from a threaded process). */
static void
file_child(char *const argv[], int out)
{
	static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	    "LC_ALL=C", NULL };
	int null = open("/dev/null", O_RDWR);

	/* dup2 onto itself keeps close-on-exec: clear it by hand. */
	if (out == STDOUT_FILENO)
		fcntl(out, F_SETFD, 0);
	if (null == -1 || dup2(null, STDIN_FILENO) == -1 ||
	    dup2(out, STDOUT_FILENO) == -1 ||
	    dup2(null, STDERR_FILENO) == -1)
		_exit(127);
	execve(argv[0], argv, env);
	_exit(127);
}

static long long
file_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child's output until it closes it, the deadline passes or it is
 * too long. 0 at the end of output, -1 otherwise (out freed). */
static int
file_collect(int fd, long long deadline, char **outp, size_t *lenp)
{
	long long left;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t cap = FILE_CHUNK;
	ssize_t n;
	int pr;

	*outp = xmalloc(cap + 1);
	*lenp = 0;
	for (;;) {
		if ((left = deadline - file_now_ms()) <= 0 ||
		    (pr = poll(&pfd, 1, (int)left)) == 0)
			break;
		if (pr == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((n = read(fd, *outp + *lenp, cap - *lenp)) == 0) {
			(*outp)[*lenp] = '\0';
			return 0;
		}
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			break;
		if (n > 0 && (*lenp += (size_t)n) == cap) {
			if (cap > POSTURE_FILE_MAX)
				break;
			cap = file_grow(cap);
			*outp = xreallocarray(*outp, cap + 1, 1);
		}
	}
	free(*outp);
	*outp = NULL;
	return -1;
}

/* The child's exit by the deadline, else it is killed. 0 with *status,
 * or -1. */
static int
file_reap(pid_t pid, long long deadline, int *status)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	pid_t r;

	for (;;) {
		if ((r = waitpid(pid, status, WNOHANG)) == pid)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
		if (file_now_ms() >= deadline)
			break;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) == -1 && errno == EINTR)
		;
	return -1;
}

int
posture_run(char *const argv[], int timeout_ms, char **outp)
{
	long long deadline = file_now_ms() + timeout_ms;
	char *out = NULL;
	int fds[2], status, rc;
	size_t len;
	pid_t pid;

	if (access(argv[0], X_OK) == -1 || pipe2(fds, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0)
		file_child(argv, fds[1]);
	close(fds[1]);
	rc = file_collect(fds[0], deadline, &out, &len);
	close(fds[0]);
	if (rc == -1)
		kill(pid, SIGKILL);
	if (file_reap(pid, deadline, &status) == -1 || rc == -1 ||
	    !WIFEXITED(status)) {
		free(out);
		return -1;
	}
	if (outp != NULL)
		*outp = out;
	else
		free(out);
	return WEXITSTATUS(status);
}
