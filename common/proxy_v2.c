/*
 * PROXY protocol v2 headers and the networks they are accepted from. The
 * parser looks at no byte it has not been given and at none past the
 * header, so the caller can read exactly the header from a socket and
 * leave the client's first bytes (a TLS ClientHello, an SSH banner) there.
 */
#include "common/proxy_v2.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v2_sig[PROXY_V2_SIG_LEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char v1_sig[] = "PROXY ";

#define V2_VERSION		0x20	/* high nibble of byte 12 */
#define V2_CMD_LOCAL		0x00
#define V2_CMD_PROXY		0x01
#define V2_FAM_TCP4		0x11
#define V2_FAM_TCP6		0x21
#define V2_ADDR_TCP4		12	/* src, dst, src port, dst port */
#define V2_ADDR_TCP6		36
#define V2_TLV_HDR		3	/* type, length (2 bytes) */

static enum proxy_v2_status
v2_error(struct proxy_v2_result *r, const char *why)
{
	r->error = why;
	return PROXY_V2_ERROR;
}

/* Each TLV (type, 16-bit length, value) must end inside the header. */
static int
v2_tlvs_ok(const uint8_t *p, size_t len)
{
	size_t off = 0, vlen;

	while (off < len) {
		if (len - off < V2_TLV_HDR)
			return 0;
		vlen = (size_t)p[off + 1] << 8 | p[off + 2];
		if (vlen > len - off - V2_TLV_HDR)
			return 0;
		off += V2_TLV_HDR + vlen;
	}
	return 1;
}

static enum proxy_v2_status
v2_address(const uint8_t *buf, size_t body, struct proxy_v2_result *r)
{
	const uint8_t *a = buf + PROXY_V2_HDR_LEN;
	size_t alen;

	memset(&r->src, 0, sizeof(r->src));
	if (buf[13] == V2_FAM_TCP4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&r->src;

		if ((alen = V2_ADDR_TCP4) > body)
			return v2_error(r, "address block too short for IPv4");
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		memcpy(&sin->sin_port, a + 8, 2);
		r->srclen = sizeof(*sin);
	} else if (buf[13] == V2_FAM_TCP6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&r->src;

		if ((alen = V2_ADDR_TCP6) > body)
			return v2_error(r, "address block too short for IPv6");
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		memcpy(&sin6->sin6_port, a + 32, 2);
		r->srclen = sizeof(*sin6);
	} else
		return v2_error(r, "not TCP over IPv4 or IPv6");
	if (!v2_tlvs_ok(a + alen, body - alen))
		return v2_error(r, "malformed TLV after the addresses");
	return PROXY_V2_DONE;
}

enum proxy_v2_status
proxy_v2_parse(const uint8_t *buf, size_t len, struct proxy_v2_result *r)
{
	size_t n = len < PROXY_V2_SIG_LEN ? len : PROXY_V2_SIG_LEN, body;

	memset(r, 0, sizeof(*r));
	if (memcmp(buf, v2_sig, n) != 0) {
		n = len < sizeof(v1_sig) - 1 ? len : sizeof(v1_sig) - 1;
		return v2_error(r, n > 0 && memcmp(buf, v1_sig, n) == 0 ?
		    "PROXY protocol version 1 (text) is not accepted" :
		    "no PROXY protocol v2 signature");
	}
	if (len < PROXY_V2_HDR_LEN) {
		r->need = PROXY_V2_HDR_LEN;
		return PROXY_V2_MORE;
	}
	if ((buf[12] & 0xf0) != V2_VERSION)
		return v2_error(r, "not PROXY protocol version 2");
	if ((buf[12] & 0x0f) != V2_CMD_LOCAL && (buf[12] & 0x0f) !=
	    V2_CMD_PROXY)
		return v2_error(r, "unknown PROXY protocol command");
	body = (size_t)buf[14] << 8 | buf[15];
	if (body > PROXY_V2_MAX - PROXY_V2_HDR_LEN)
		return v2_error(r, "header longer than 536 bytes");
	if (len < PROXY_V2_HDR_LEN + body) {
		r->need = PROXY_V2_HDR_LEN + body;
		return PROXY_V2_MORE;
	}
	r->len = PROXY_V2_HDR_LEN + body;
	/* §2.2: a LOCAL header's address block is to be ignored. */
	if ((buf[12] & 0x0f) == V2_CMD_LOCAL) {
		r->is_local = 1;
		return PROXY_V2_DONE;
	}
	return v2_address(buf, body, r);
}

int
proxy_v2_looks_like(const uint8_t *buf, size_t len)
{
	size_t n2 = len < PROXY_V2_SIG_LEN ? len : PROXY_V2_SIG_LEN;
	size_t n1 = len < sizeof(v1_sig) - 1 ? len : sizeof(v1_sig) - 1;

	if (len == 0)
		return 0;
	return memcmp(buf, v2_sig, n2) == 0 || memcmp(buf, v1_sig, n1) == 0;
}

int
proxy_net_parse(const char *s, struct proxy_net *out)
{
	char host[INET6_ADDRSTRLEN + 1], *end;
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	long plen;
	int max;

	memset(out, 0, sizeof(*out));
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, host, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -1;
	max = out->family == AF_INET ? 32 : 128;
	plen = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		errno = 0;
		plen = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || plen > max)
			return -1;
	}
	out->plen = (int)plen;
	/* Host bits set is a typo more often than not: refuse it. */
	for (int i = 0; i < 16; i++) {
		int keep = out->plen - 8 * i;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (uint8_t)(0xff << (8 - keep));

		if (out->addr[i] & ~mask)
			return -1;
	}
	return 0;
}

static int
net_has(const struct proxy_net *net, int family, const uint8_t *addr)
{
	int full = net->plen / 8, rest = net->plen % 8;

	if (family != net->family || memcmp(net->addr, addr, (size_t)full))
		return 0;
	return rest == 0 || ((net->addr[full] ^ addr[full]) &
	    (uint8_t)(0xff << (8 - rest))) == 0;
}

int
proxy_net_match(const struct proxy_net *nets, size_t n,
    const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	uint8_t addr[16];
	int family;

	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		family = AF_INET6;
		/* An IPv4 peer on a dual-stack listener matches IPv4 lists. */
		if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
			memmove(addr, addr + 12, 4);
			family = AF_INET;
		}
	} else
		return 0;
	for (size_t i = 0; i < n; i++)
		if (net_has(&nets[i], family, addr))
			return 1;
	return 0;
}
