/*
 * Private to the audit writer: the pieces split out of audit_writer.c,
 * recovery of the live file at open (audit_recover.c) and the file's life,
 * locked open and rotation (audit_rotate.c). Not for other modules.
 */
#ifndef MWG_AUDIT_WRITER_PRIV_H
#define MWG_AUDIT_WRITER_PRIV_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include "audit/audit_format.h"

#define AUDIT_TAIL_MAX	(1024 * 1024)	/* read back to find the last record */

/* Where the chain in the live file stands once recovery is done. */
struct audit_tail {
	unsigned long long seq;		/* of the last record; 0: empty file */
	char hash[AUDIT_HASH_HEX + 1];	/* its hash, or AUDIT_GENESIS */
	off_t end;			/* the file's size after recovery */
	off_t torn;			/* bytes moved to PATH.torn (0: none) */
	time_t first;			/* the file's first record (0: none) */
};

/*
 * Opens path to append (creating it 0640; with excl, it must not exist)
 * through common/safefile (no link followed, one link, a trusted owner),
 * gives it to owner (0: leave it) and takes its exclusive flock, held
 * while the descriptor is open. Returns the descriptor, or -1 with a
 * reason in err.
 */
int audit_file_open(const char *path, int excl, uid_t owner, char *err,
    size_t errlen);

/* Writes all of p, going on after short writes: 0, or -1 with errno. */

/*
 * Finds the end of the chain in path, open and locked as fd. A torn tail
 * is appended to PATH.torn and cut off the file. Fills t; returns 0, or
 * -1 with a reason in err (a file that does not end in a sealed record).
 */
int audit_recover(int fd, const char *path, struct audit_tail *t, char *err,
    size_t errlen);

/*
 * Renames path to path.<UTC time>[-N] and swaps a new, empty, locked path
 * (given to owner, 0: left as made) into *fd, closing the old descriptor.
 * 0, or -1 with a reason in err,
 * and then *fd is still the old file under its old name.
 */
int audit_rotate_file(const char *path, uid_t owner, int *fd, char *err,
    size_t errlen);

#endif
