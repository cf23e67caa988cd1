/*
 * Source networks for `site` blocks: "10.200.0.0/16", "2001:db8::/32" or a
 * single address, and the match of a connection's source against them
 * (an IPv4-mapped IPv6 source matches IPv4 networks).
 */
#include "policy/policy_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errbuf.h"

/* The first plen bits kept, the rest must be zero. */
static int
host_bits_clear(const unsigned char *a, int bytes, int plen)
{
	for (int i = 0; i < bytes; i++) {
		int keep = plen - 8 * i;
		unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (unsigned char)(0xff << (8 - keep));

		if (a[i] & ~mask)
			return 0;
	}
	return 1;
}

int
policy_net_parse(const char *s, struct policy_net *out, char *why,
    size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 1], *end;
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	long plen;
	int max;

	memset(out, 0, sizeof(*out));
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, host, out->addr) == 1)
		out->family = AF_INET6;
	else
		goto bad;
	max = out->family == AF_INET ? 32 : 128;
	plen = max;
	if (slash != NULL) {
		errno = 0;
		if (slash[1] < '0' || slash[1] > '9')
			goto bad;
		plen = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || plen > max)
			goto bad;
	}
	out->plen = (int)plen;
	if (!host_bits_clear(out->addr, max / 8, out->plen)) {
		char net[INET6_ADDRSTRLEN];

		for (int i = 0; i < 16; i++) {
			int keep = out->plen - 8 * i;

			out->addr[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 :
			    (unsigned char)(0xff << (8 - keep));
		}
		inet_ntop(out->family, out->addr, net, sizeof(net));
		errbuf_set(why, whylen, "%s has host bits set: the network "
		    "is %s/%ld", s, net, plen);
		return -1;
	}
	return 0;
bad:
	errbuf_set(why, whylen, "expected a network like 10.200.0.0/16 or "
	    "2001:db8::/32, got '%s'", s);
	return -1;
}

int
policy_net_match(const struct policy_net *net, int family,
    const unsigned char *addr)
{
	int full = net->plen / 8, rest = net->plen % 8;

	if (family != net->family)
		return 0;
	if (memcmp(net->addr, addr, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((net->addr[full] ^ addr[full]) &
	    (unsigned char)(0xff << (8 - rest))) == 0;
}

int
policy_net_source(const struct sockaddr *sa, const char *text, int *family,
    unsigned char *addr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	memset(addr, 0, 16);
	if (sa != NULL && sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		*family = AF_INET;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		*family = AF_INET6;
	} else if (text != NULL && inet_pton(AF_INET, text, addr) == 1)
		*family = AF_INET;
	else if (text != NULL && inet_pton(AF_INET6, text, addr) == 1)
		*family = AF_INET6;
	else
		return -1;
	if (*family == AF_INET6 && memcmp(addr, mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = AF_INET;
	}
	return 0;
}
