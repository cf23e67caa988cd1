/*
 * mwgd's counters for Prometheus (listen metrics): most follow the audit
 * trail (an observer on the audit log counts every decision offered to
 * it), the rest are counted where they happen (TLS handshakes) or read at
 * scrape time (audit writer, auth pool, store, process). No label ever
 * holds a person, a device or an address.
 */
#ifndef MWG_GW_METRICS_H
#define MWG_GW_METRICS_H

#include <sys/socket.h>

#include <jansson.h>

struct server;
struct event_base;

enum metrics_handshake {
	METRICS_HS_OK,
	METRICS_HS_TIMEOUT,		/* no handshake within timeouts { head } */
	METRICS_HS_PEER_CLOSED,		/* the client went away */
	METRICS_HS_CERTIFICATE,		/* its certificate did not verify */
	METRICS_HS_PROTOCOL,		/* version, suites, alerts, garbage */
	METRICS_HS_N
};

/* Counts one TLS handshake's outcome. Any thread. */
void metrics_handshake(enum metrics_handshake what);

/* The audit log's observer (audit_set_observer): any thread. */
void metrics_audit_observe(void *arg, const char *action,
    const char *outcome, json_t *fields);

/*
 * The Prometheus text exposition (format 0.0.4) of every metric, for
 * srv; caller frees. Reads the audit writer, pool and store counters.
 */
char *metrics_render(struct server *srv);

/* A listening socket for the metrics (before the privilege drop): fd or -1. */
int metrics_listen_socket(const struct sockaddr *sa, socklen_t len);
/*
 * Serves GET /metrics on the listening socket fd (bound before the
 * privilege drop) from base's loop. 0, or -1 with err set.
 */
int metrics_start(struct event_base *base, int fd, struct server *srv,
    char *err, size_t errlen);
void metrics_stop(void);

#endif
