/*
 * Private to the audit forwarder: what audit_syslog.c (the forwarder)
 * uses from audit_syslog_format.c (the messages) and audit_syslog_follow.c
 * (the followed file and its state file). Not for other modules.
 */
#ifndef MWG_AUDIT_SYSLOG_PRIV_H
#define MWG_AUDIT_SYSLOG_PRIV_H

#include <sys/types.h>

#include <stddef.h>

#define AUDIT_SYSLOG_HOSTNAME_MAX	255	/* RFC 5424 §6.2.4 */

/*
 * As audit_syslog_format(); also sets *seq to the record's seq if it has
 * one (a non-negative integer), and leaves it alone otherwise.
 */
size_t audit_syslog_format_record(const char *line, size_t len,
    const char *hostname, long procid, size_t max, char *out, size_t outlen,
    unsigned long long *seq);

/* A place in the followed file: the next byte to read, the last seq. */
struct audit_follow_pos {
	off_t off;
	unsigned long long seq;
};

/* The live audit file as the forwarder thread follows it; its own alone. */
struct audit_follow {
	char *path, *dir, *base, *state_path;
	size_t baselen;
	int fd;			/* the file being followed, or -1 */
	ino_t ino;
	struct audit_follow_pos pos;	/* everything before it was written */
	struct audit_follow_pos acked;	/* everything before it was delivered */
	unsigned unconfirmed;	/* records between acked and pos */
	int have_state;		/* saved is from the state file, unused */
	ino_t saved_ino;
	struct audit_follow_pos saved;
	int state_warned, open_warned, skipping;
	char *buf;		/* the lines read last (audit_follow_read) */
};

/*
 * Follows audit_path, starting where the state file state_path says (read
 * here; a missing or bad one is logged and means the beginning). Nothing
 * is opened yet. Caller frees with audit_follow_free().
 */
struct audit_follow *audit_follow_new(const char *audit_path,
    const char *state_path);
void audit_follow_free(struct audit_follow *fl);

/* Opens the file at the saved position (or PATH from its start): 0 or -1. */
int audit_follow_open_first(struct audit_follow *fl);

/* Saves acked to the state file (write, fdatasync, rename) if it moved. */
void audit_follow_save(struct audit_follow *fl);

/* 1 if PATH is a new file: the followed one was rotated. */
int audit_follow_rotated(struct audit_follow *fl);

/*
 * Goes on with the file written after the rotated one, read to its end,
 * and saves the position. 1 if it did, 0 if that file cannot be opened.
 */
int audit_follow_switch(struct audit_follow *fl);

/* The file's size into *size; a file cut short is read again. 0 or -1. */
int audit_follow_stat(struct audit_follow *fl, off_t *size);

/*
 * Reads whole lines, at most a batch, at pos into fl->buf. Returns their
 * length in bytes (0: none yet), -2 to be called again, or -1 on an error.
 */
ssize_t audit_follow_read(struct audit_follow *fl);

#endif
