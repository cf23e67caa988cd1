/*
 * audit: the record of every decision the gateway makes. One JSON object a
 * line (JSON Lines), appended by any thread. Field names follow Elastic
 * Common Schema where one exists (docs/audit.md lists them).
 *
 * First cut: each record is written with one write(2) under a lock and
 * carries a sequence number and a UTC time with milliseconds. The audit
 * issue adds the hash chain, signed checkpoints, group commit and fsync.
 */
#ifndef MWG_AUDIT_H
#define MWG_AUDIT_H

#include <jansson.h>

#define AUDIT_RECORD_MAX 16384	/* bytes in one serialised record */

struct audit_log;

/* Opens (creating 0640) path for appending. NULL with a reason in err. */
struct audit_log *audit_open(const char *path, char *err, size_t errlen);
void audit_close(struct audit_log *log);

/*
 * Appends one record: event.action = action, event.outcome = outcome
 * ("success", "failure" or "unknown"), plus fields (may be NULL; its
 * reference is taken). Adds "seq" and "@timestamp". Returns 0, or -1 if the
 * record could not be written (the caller must not act as if it were).
 */
int audit_append(struct audit_log *log, const char *action,
    const char *outcome, json_t *fields);

/* Formats now as RFC 3339 UTC with milliseconds into buf (>= 32 bytes). */
void audit_timestamp(char *buf, size_t len);

#endif
