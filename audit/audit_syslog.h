/*
 * Audit forwarding to the region's SIEM: a thread that follows the local
 * audit file like tail -F and sends each record as RFC 5424 syslog over
 * UDP, TCP or TLS (RFC 5425). The local file stays the record of truth;
 * the forwarder only reads it, keeps its place in a state file, and
 * catches up from the file after an outage or a restart.
 */
#ifndef MWG_AUDIT_SYSLOG_H
#define MWG_AUDIT_SYSLOG_H

#include <stddef.h>

struct audit_forwarder;

/*
 * url: udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT (HOST an IP
 * literal, [IPv6], or a name resolved at each connect). ca: the
 * collector's CA file, required for tls, NULL otherwise. audit_path: the
 * live audit file to follow (it may not exist yet). state_path: where the
 * forwarder keeps its place (inode, offset, last seq delivered), replaced
 * atomically after each batch. Starts the thread; NULL with a reason in
 * err. Caller frees with audit_forwarder_stop().
 */
struct audit_forwarder *audit_forwarder_start(const char *url,
    const char *ca, const char *audit_path, const char *state_path,
    char *err, size_t errlen);

/* New records are on disk: wake the thread. Cheap; any thread. */
void audit_forwarder_kick(struct audit_forwarder *f);

/*
 * Sends what is there (for at most about 2 s), saves the state, joins the
 * thread and frees f. NULL is a no-op.
 */
void audit_forwarder_stop(struct audit_forwarder *f);

/*
 * For status: records delivered since start (for TCP and TLS: written and
 * acknowledged by the collector's TCP; for UDP: sent), and 1 while a
 * connection to the collector is up.
 */
void audit_forwarder_stats(struct audit_forwarder *f,
    unsigned long long *sent, int *connected);

/* Bytes of the followed file not yet delivered (approximate). */
unsigned long long audit_forwarder_backlog(struct audit_forwarder *f);

/* ---- message format (exposed for the unit tests) ------------------------ */

#define AUDIT_SYSLOG_SDVALUE_MAX 256	/* bytes of a field copied to SD */

/*
 * Formats one audit line (JSON, without its '\n') as an RFC 5424 message
 * into out, NUL-terminated: facility auth, severity notice for success and
 * warning otherwise, the record's time, its summary fields as structured
 * data and the whole line as MSG. If the message would be longer than max
 * bytes, MSG is cut and SD says truncated="ORIGINAL-LENGTH". A line that is
 * not JSON still goes out, with empty SD. Returns the message length, or 0
 * if it does not fit in outlen.
 */
size_t audit_syslog_format(const char *line, size_t len,
    const char *hostname, long procid, size_t max, char *out, size_t outlen);

/*
 * RFC 6587 §3.4.1 octet-counting frame of msg ("LEN SP MSG") into out.
 * Returns the frame length, or 0 if it does not fit in outlen.
 */
size_t audit_syslog_frame(const char *msg, size_t len, char *out,
    size_t outlen);

#endif
