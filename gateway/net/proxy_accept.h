/*
 * PROXY protocol v2 at accept, for both listeners: which peers must send
 * a header (listen tls|ssh { proxy-protocol from NET... }), reading it
 * from a socket without reading past it, and, for TLS connections, the
 * step before the handshake. SSH's side is gateway/net/ssh_proxy.c.
 */
#ifndef MWG_GW_PROXY_ACCEPT_H
#define MWG_GW_PROXY_ACCEPT_H

#include <stddef.h>
#include <stdint.h>

#include "common/proxy_v2.h"

enum proxy_mode {
	PROXY_MODE_NONE,	/* no proxy-protocol on this listener */
	PROXY_MODE_SNIFF,	/* a peer not listed: a header is refused */
	PROXY_MODE_REQUIRED,	/* a listed peer: a header is required */
};

/* The header so far (listed peers only, freed once it is read). */
struct proxy_read {
	size_t have;
	uint8_t buf[PROXY_V2_MAX];
};

/* Why a connection was refused, as audit event.reason texts. */
#define PROXY_WHY_NOT_LISTED	"a PROXY protocol header from an address " \
				"not in proxy-protocol from"
#define PROXY_WHY_CLOSED	"the connection closed before its PROXY " \
				"protocol header ended"
#define PROXY_WHY_TIMEOUT	"no complete PROXY protocol header in time"

enum proxy_mode proxy_mode_for(const struct proxy_net *nets, size_t n,
    const struct sockaddr *peer);
/*
 * Reads what is missing of the header from fd without blocking and never
 * past its end. MORE: call again when fd is readable. DONE: r is the
 * header. ERROR: *why is a constant text (a malformed header, or the peer
 * closed or failed before its end).
 */
enum proxy_v2_status proxy_read_step(struct proxy_read *pr, int fd,
    struct proxy_v2_result *r, const char **why);
/*
 * A peer not listed: 1 if what it has sent so far (peeked, not read) is
 * the start of a PROXY header, else 0 (nothing sent yet counts as 0).
 */
int proxy_sniff(int fd);

/* ---- TLS connections (gateway/net/conn.c) ----------------------------------- */
struct conn;
/* At accept: the mode for c's peer under the running configuration. */
void proxy_conn_init(struct conn *c, const struct proxy_net *nets, size_t n);
/*
 * Before the TLS handshake, on each readable event while c->proxy_mode is
 * set: 1 to go on with TLS (c's peer is now the header's client), 0 to
 * wait for more, -1 if c was refused, audited and closed.
 */
int proxy_conn_step(struct conn *c);
/* The head timer fired before the header was whole: audits it (the
 * caller closes c). */
void proxy_conn_timeout(struct conn *c);
void proxy_conn_free(struct conn *c);

#endif
