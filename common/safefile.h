/*
 * Opening files that root (or the daemon) must not be tricked into: a
 * directory reached without following a link that an untrusted user could
 * have planted, checked for owner and mode, then openat() with O_NOFOLLOW,
 * O_EXCL creation, and a check of the file's type, owner and link count.
 */
#ifndef MWG_SAFEFILE_H
#define MWG_SAFEFILE_H

#include <stddef.h>
#include <sys/types.h>

#define SAFEFILE_ERR_MAX	512	/* enough for two paths and a reason */

/*
 * Besides root and the process's own user, who may own the directories and
 * files opened here: the daemon's user, set once before the first open
 * (mwgd: mwgd.conf's user and group). Without a call only root and the
 * process's user are trusted.
 */
void safefile_trust(uid_t uid, gid_t gid);

/*
 * Opens the directory path. Every component is opened from its parent
 * with O_NOFOLLOW; a symbolic link is followed only where its directory is
 * writable by root (or the process's user) alone and the link is theirs.
 * Every directory must be owned by root, the process's user or the trusted
 * user; none may be writable by others (sticky ones excepted), nor by a
 * group other than root's or the trusted one; the last may not be writable
 * by others at all. Returns a descriptor (O_RDONLY | O_DIRECTORY), or -1
 * with err naming the directory and what is wrong (errno as the system
 * call left it, EPERM for a refusal by these rules).
 */
int safefile_dir_open(const char *path, char *err, size_t errlen);

/*
 * Opens name (one path component) in the directory dirfd, shown as dirpath
 * in messages, never following a link. flags are open(2)'s: with O_CREAT
 * a missing file is created with O_EXCL (mode), with O_CREAT | O_EXCL it
 * must be missing; O_TRUNC is applied only after the checks. The file must
 * be a regular file with one link, owned by root, the process's user or
 * the trusted user. Returns the descriptor, or -1 with err (errno ENOENT
 * for a missing file, ELOOP for a link, EPERM for a refusal). If created
 * is not NULL it tells whether this call made the file.
 */
int safefile_openat(int dirfd, const char *dirpath, const char *name,
    int flags, mode_t mode, int *created, char *err, size_t errlen);

/* safefile_dir_open() on path's directory, then safefile_openat(). */
int safefile_open(const char *path, int flags, mode_t mode, int *created,
    char *err, size_t errlen);

/*
 * Reads all of path (at most max bytes) as safefile_open() opens it, into
 * a new buffer with a NUL after the len bytes. Caller frees *buf (and
 * cleanses it first if it held a secret). 0, or -1 with err.
 */
int safefile_read(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen);

/*
 * Replaces path with len bytes of buf: written to a new .NAME.tmp in the
 * same checked directory (O_EXCL, mode), synced, renamed over path, and
 * the directory synced. 0, or -1 with err.
 */
int safefile_replace(const char *path, const void *buf, size_t len,
    mode_t mode, char *err, size_t errlen);

/*
 * Splits path into a new string holding its directory ("." if it has
 * none) and a pointer to its last component inside path. Caller frees the
 * result. NULL if path ends in '/' or is empty.
 */
char *safefile_split(const char *path, const char **name);

#endif
