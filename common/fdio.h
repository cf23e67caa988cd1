/*
 * Whole writes to a descriptor: the one loop every module that writes a
 * file or a socket in full (keys, the audit trail, the CRL, state files,
 * a proxy's answer) had its own copy of.
 */
#ifndef MWG_FDIO_H
#define MWG_FDIO_H

#include <stddef.h>

/*
 * Writes all len bytes of p to fd, again after EINTR. 0, or -1 with errno
 * (EIO if write(2) ever writes nothing).
 */
int fd_write_all(int fd, const void *p, size_t len);

#endif
