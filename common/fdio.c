/*
 * Whole writes to a descriptor (common/fdio.h).
 */
#include "common/fdio.h"

#include <errno.h>
#include <unistd.h>

int
fd_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, c, len)) == -1 && errno == EINTR)
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
