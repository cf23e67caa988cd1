/*
 * Private to the audit forwarder: what audit_syslog.c (the forwarder)
 * uses from audit_syslog_format.c (the messages). Not for other modules.
 */
#ifndef MWG_AUDIT_SYSLOG_PRIV_H
#define MWG_AUDIT_SYSLOG_PRIV_H

#include <stddef.h>

#define AUDIT_SYSLOG_HOSTNAME_MAX	255	/* RFC 5424 §6.2.4 */

/*
 * As audit_syslog_format(); also sets *seq to the record's seq if it has
 * one (a non-negative integer), and leaves it alone otherwise.
 */
size_t audit_syslog_format_record(const char *line, size_t len,
    const char *hostname, long procid, size_t max, char *out, size_t outlen,
    unsigned long long *seq);

#endif
