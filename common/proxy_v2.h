/*
 * The PROXY protocol version 2 header (HAProxy's proxy-protocol.txt §2.2):
 * what a load balancer in TCP mode sends before the client's first byte to
 * say who the client is. A pure parser over bytes (bounded, no allocation,
 * no I/O) and the list of networks a header is accepted from.
 */
#ifndef MWG_PROXY_V2_H
#define MWG_PROXY_V2_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define PROXY_V2_SIG_LEN	12	/* \r\n\r\n\0\r\nQUIT\n */
#define PROXY_V2_HDR_LEN	16	/* signature, version+command, family,
					   length */
/* A whole header, TLVs included, at most: the spec's 536-byte buffer. A
 * longer one is refused, so a peer can make us hold no more than this. */
#define PROXY_V2_MAX		536
#define PROXY_V2_NETS_MAX	64	/* networks in one listener's list */

enum proxy_v2_status {
	PROXY_V2_MORE,		/* a valid prefix: need r->need bytes in all */
	PROXY_V2_DONE,		/* a whole header of r->len bytes */
	PROXY_V2_ERROR,		/* not a header we accept: r->error says why */
};

struct proxy_v2_result {
	size_t need;		/* MORE: bytes the header needs (at least) */
	size_t len;		/* DONE: the header's bytes; the client's
				   own bytes follow */
	int is_local;		/* DONE: LOCAL command (the proxy's own health
				   check): use the connection's addresses */
	struct sockaddr_storage src;	/* DONE, not local: the client */
	socklen_t srclen;
	const char *error;	/* ERROR: a constant text, never input bytes */
};

/*
 * Parses the first len bytes the peer sent. Never reads past buf[len] nor
 * past the header; MORE means those bytes are a valid prefix (read up to
 * r->need and call again with all of them). Accepted: version 2, LOCAL,
 * or PROXY over TCP/IPv4 or TCP/IPv6, TLVs well framed, 16 + length at
 * most PROXY_V2_MAX. Version 1 (text) and UDP/Unix families are refused.
 */
enum proxy_v2_status proxy_v2_parse(const uint8_t *buf, size_t len,
    struct proxy_v2_result *r);
/*
 * 1 if the len bytes a peer sent first are the start of a PROXY header of
 * either version (a prefix of the v2 signature, or of "PROXY "), else 0.
 * Neither a TLS record nor an SSH banner starts so.
 */
int proxy_v2_looks_like(const uint8_t *buf, size_t len);

/* A network a header is accepted from: 10.0.0.0/8, 2001:db8::/32, ::1. */
struct proxy_net {
	int family;			/* AF_INET or AF_INET6 */
	int plen;
	uint8_t addr[16];
};

/* 0, or -1 if s is no address or network (host bits set count as no). */
int proxy_net_parse(const char *s, struct proxy_net *out);
/* 1 if sa (IPv4, IPv6, or IPv4-mapped IPv6) is inside one of nets. */
int proxy_net_match(const struct proxy_net *nets, size_t n,
    const struct sockaddr *sa);

#endif
