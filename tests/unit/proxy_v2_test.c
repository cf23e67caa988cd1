/*
 * common/proxy_v2.c: PROXY protocol v2 headers as HAProxy sends them, and
 * every way one can be wrong. Each input is copied to a buffer of exactly
 * its length, so a read past it is an ASan error; every proper prefix of
 * a good header must ask for more, never past the header's end.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/proxy_v2.h"
#include "unit.h"

#define SIG "\r\n\r\n\0\r\nQUIT\n"

/* HAProxy 2.6 send-proxy-v2: 192.0.2.7:51000 -> 127.0.0.1:8443. */
static const uint8_t v4[] = SIG "\x21\x11\x00\x0c"
    "\xc0\x00\x02\x07" "\x7f\x00\x00\x01" "\xc7\x38" "\x20\xfb";
/* [2001:db8::5]:40000 -> [::1]:443, then a NOOP TLV and an ALPN TLV. */
static const uint8_t v6_tlv[] = SIG "\x21\x21\x00\x2e"
    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
    "\x9c\x40" "\x01\xbb" "\x04\x00\x00" "\x01\x00\x04h2xx";
/* A health check: LOCAL, no addresses. */
static const uint8_t local[] = SIG "\x20\x00\x00\x00";

struct pcase {
	const char *name;
	const uint8_t *buf;
	size_t len;
	enum proxy_v2_status want;
	const char *error;	/* a word of the error, for ERROR */
};

static enum proxy_v2_status
parse_exact(const uint8_t *buf, size_t len, struct proxy_v2_result *r)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum proxy_v2_status st;

	cr_assert_not_null(copy);
	memcpy(copy, buf, len);
	st = proxy_v2_parse(copy, len, r);
	free(copy);
	return st;
}

Test(proxy_v2, ipv4_as_haproxy_sends_it)
{
	struct proxy_v2_result r;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&r.src;
	char ip[INET_ADDRSTRLEN];

	cr_assert_eq(parse_exact(v4, sizeof(v4) - 1, &r), PROXY_V2_DONE);
	cr_assert_eq(r.len, 28);
	cr_assert_eq(r.is_local, 0);
	cr_assert_eq(sin->sin_family, AF_INET);
	cr_assert_eq(r.srclen, sizeof(struct sockaddr_in));
	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	cr_assert_str_eq(ip, "192.0.2.7");
	cr_assert_eq(ntohs(sin->sin_port), 51000);
}

Test(proxy_v2, ipv6_with_tlvs)
{
	struct proxy_v2_result r;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&r.src;
	char ip[INET6_ADDRSTRLEN];

	cr_assert_eq(parse_exact(v6_tlv, sizeof(v6_tlv) - 1, &r),
	    PROXY_V2_DONE);
	cr_assert_eq(r.len, 16 + 46);
	cr_assert_eq(sin6->sin6_family, AF_INET6);
	inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
	cr_assert_str_eq(ip, "2001:db8::5");
	cr_assert_eq(ntohs(sin6->sin6_port), 40000);
}

Test(proxy_v2, local_keeps_the_connection_address)
{
	struct proxy_v2_result r;

	cr_assert_eq(parse_exact(local, sizeof(local) - 1, &r), PROXY_V2_DONE);
	cr_assert_eq(r.len, 16);
	cr_assert_eq(r.is_local, 1);
}

/* The client's own bytes after the header are not the header's. */
Test(proxy_v2, stops_at_the_header_end)
{
	uint8_t buf[sizeof(v4) - 1 + 5];
	struct proxy_v2_result r;

	memcpy(buf, v4, sizeof(v4) - 1);
	memcpy(buf + sizeof(v4) - 1, "\x16\x03\x01\x02\x00", 5);
	cr_assert_eq(parse_exact(buf, sizeof(buf), &r), PROXY_V2_DONE);
	cr_assert_eq(r.len, 28);
}

/* Every proper prefix asks for more, and never for more than the header. */
Test(proxy_v2, every_prefix_asks_for_more)
{
	const struct { const uint8_t *b; size_t len; } good[] = {
		{ v4, sizeof(v4) - 1 }, { v6_tlv, sizeof(v6_tlv) - 1 },
		{ local, sizeof(local) - 1 },
	};
	struct proxy_v2_result r;

	for (size_t g = 0; g < NELEM(good); g++)
		for (size_t n = 0; n < good[g].len; n++) {
			cr_assert_eq(parse_exact(good[g].b, n, &r),
			    PROXY_V2_MORE, "header %zu, %zu bytes", g, n);
			cr_assert(r.need > n && r.need <= good[g].len,
			    "header %zu, %zu bytes: need %zu", g, n, r.need);
		}
}

/* A header of exactly PROXY_V2_MAX bytes is taken; one byte more is not. */
Test(proxy_v2, the_536_byte_bound)
{
	static uint8_t buf[PROXY_V2_MAX + 1];
	size_t body = PROXY_V2_MAX - 16, tlv = body - 12 - 3;
	struct proxy_v2_result r;

	memcpy(buf, v4, sizeof(v4) - 1);
	buf[14] = (uint8_t)(body >> 8);
	buf[15] = (uint8_t)body;
	buf[28] = 0x04;			/* PP2_TYPE_NOOP */
	buf[29] = (uint8_t)(tlv >> 8);
	buf[30] = (uint8_t)tlv;
	cr_assert_eq(parse_exact(buf, PROXY_V2_MAX, &r), PROXY_V2_DONE);
	cr_assert_eq(r.len, PROXY_V2_MAX);
	body++;
	buf[14] = (uint8_t)(body >> 8);
	buf[15] = (uint8_t)body;
	cr_assert_eq(parse_exact(buf, 16, &r), PROXY_V2_ERROR,
	    "a longer header is refused from its length alone");
	cr_assert(strstr(r.error, "536") != NULL, "%s", r.error);
}

static const uint8_t bad_version[] = SIG "\x11\x11\x00\x0c";
static const uint8_t bad_command[] = SIG "\x22\x11\x00\x0c";
static const uint8_t udp4[] = SIG "\x21\x12\x00\x0c"
    "\xc0\x00\x02\x07\x7f\x00\x00\x01\xc7\x38\x20\xfb";
static const uint8_t unix_stream[] = SIG "\x21\x31\x00\x00";
static const uint8_t short_v4[] = SIG "\x21\x11\x00\x08"
    "\xc0\x00\x02\x07\x7f\x00\x00\x01";
static const uint8_t short_v6[] = SIG "\x21\x21\x00\x0c"
    "\xc0\x00\x02\x07\x7f\x00\x00\x01\xc7\x38\x20\xfb";
/* A TLV that claims 9 bytes where 2 are left. */
static const uint8_t bad_tlv[] = SIG "\x21\x11\x00\x11"
    "\xc0\x00\x02\x07\x7f\x00\x00\x01\xc7\x38\x20\xfb" "\x01\x00\x09" "ab";
/* Two bytes where a TLV header needs three. */
static const uint8_t stub_tlv[] = SIG "\x21\x11\x00\x0e"
    "\xc0\x00\x02\x07\x7f\x00\x00\x01\xc7\x38\x20\xfb" "\x01\x00";
static const uint8_t v1[] = "PROXY TCP4 192.0.2.7 127.0.0.1 51000 8443\r\n";
static const uint8_t hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
static const uint8_t ssh[] = "SSH-2.0-OpenSSH_9.2p1\r\n";
static const uint8_t near[] = "\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x00";

Test(proxy_v2, refusals)
{
	const struct pcase cases[] = {
		{ "version 1", bad_version, 16, PROXY_V2_ERROR, "version 2" },
		{ "command 2", bad_command, 16, PROXY_V2_ERROR, "command" },
		{ "UDP", udp4, sizeof(udp4) - 1, PROXY_V2_ERROR, "TCP" },
		{ "Unix", unix_stream, 16, PROXY_V2_ERROR, "TCP" },
		{ "short v4", short_v4, sizeof(short_v4) - 1, PROXY_V2_ERROR,
		    "too short" },
		{ "short v6", short_v6, sizeof(short_v6) - 1, PROXY_V2_ERROR,
		    "too short" },
		{ "TLV past the end", bad_tlv, sizeof(bad_tlv) - 1,
		    PROXY_V2_ERROR, "TLV" },
		{ "TLV stub", stub_tlv, sizeof(stub_tlv) - 1, PROXY_V2_ERROR,
		    "TLV" },
		{ "text v1", v1, sizeof(v1) - 1, PROXY_V2_ERROR, "version 1" },
		{ "v1 prefix", v1, 3, PROXY_V2_ERROR, "version 1" },
		{ "TLS hello", hello, sizeof(hello) - 1, PROXY_V2_ERROR,
		    "signature" },
		{ "SSH banner", ssh, sizeof(ssh) - 1, PROXY_V2_ERROR,
		    "signature" },
		{ "signature off by one byte", near, sizeof(near) - 1,
		    PROXY_V2_ERROR, "signature" },
	};
	struct proxy_v2_result r;

	for (size_t i = 0; i < NELEM(cases); i++) {
		cr_assert_eq(parse_exact(cases[i].buf, cases[i].len, &r),
		    cases[i].want, "%s", cases[i].name);
		cr_assert_not_null(r.error, "%s", cases[i].name);
		cr_assert(strstr(r.error, cases[i].error) != NULL,
		    "%s: '%s' lacks '%s'", cases[i].name, r.error,
		    cases[i].error);
	}
}

Test(proxy_v2, looks_like)
{
	cr_assert_eq(proxy_v2_looks_like(v4, 1), 1);
	cr_assert_eq(proxy_v2_looks_like(v4, 12), 1);
	cr_assert_eq(proxy_v2_looks_like(v4, sizeof(v4) - 1), 1);
	cr_assert_eq(proxy_v2_looks_like(v1, 1), 1);
	cr_assert_eq(proxy_v2_looks_like(v1, sizeof(v1) - 1), 1);
	cr_assert_eq(proxy_v2_looks_like(v1, 0), 0);
	cr_assert_eq(proxy_v2_looks_like(hello, sizeof(hello) - 1), 0);
	cr_assert_eq(proxy_v2_looks_like(ssh, sizeof(ssh) - 1), 0);
	cr_assert_eq(proxy_v2_looks_like(near, sizeof(near) - 1), 0);
	cr_assert_eq(proxy_v2_looks_like((const uint8_t *)"PROXZ", 5), 0);
}

Test(proxy_v2, networks_parse)
{
	const struct { const char *s; int ok, family, plen; } cases[] = {
		{ "127.0.0.1/32", 1, AF_INET, 32 },
		{ "127.0.0.1", 1, AF_INET, 32 },
		{ "10.0.0.0/8", 1, AF_INET, 8 },
		{ "0.0.0.0/0", 1, AF_INET, 0 },
		{ "::1", 1, AF_INET6, 128 },
		{ "2001:db8::/32", 1, AF_INET6, 32 },
		{ "10.0.0.1/8", 0, 0, 0 },	/* host bits set */
		{ "2001:db8::1/64", 0, 0, 0 },
		{ "10.0.0.0/33", 0, 0, 0 },
		{ "10.0.0.0/", 0, 0, 0 },
		{ "10.0.0.0/-1", 0, 0, 0 },
		{ "10.0.0.0/8x", 0, 0, 0 },
		{ "/8", 0, 0, 0 },
		{ "haproxy.example", 0, 0, 0 },
		{ "", 0, 0, 0 },
	};
	struct proxy_net n;

	for (size_t i = 0; i < NELEM(cases); i++) {
		cr_assert_eq(proxy_net_parse(cases[i].s, &n) == 0, cases[i].ok,
		    "'%s'", cases[i].s);
		if (cases[i].ok)
			cr_assert(n.family == cases[i].family &&
			    n.plen == cases[i].plen, "'%s'", cases[i].s);
	}
}

static struct sockaddr_storage
sa_of(const char *ip)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		cr_assert_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return ss;
}

Test(proxy_v2, networks_match)
{
	struct proxy_net nets[3];
	const struct { const char *ip; int in; } cases[] = {
		{ "127.0.0.1", 1 }, { "127.0.0.2", 0 },
		{ "10.20.30.40", 1 }, { "10.21.0.1", 1 }, { "10.22.0.1", 0 },
		{ "::ffff:127.0.0.1", 1 },	/* dual-stack listener */
		{ "::ffff:127.0.0.2", 0 },
		{ "2001:db8:1::7", 1 }, { "2001:db8:2::7", 0 }, { "::1", 0 },
	};

	cr_assert_eq(proxy_net_parse("127.0.0.1/32", &nets[0]), 0);
	cr_assert_eq(proxy_net_parse("10.20.0.0/15", &nets[1]), 0);
	cr_assert_eq(proxy_net_parse("2001:db8:1::/48", &nets[2]), 0);
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct sockaddr_storage ss = sa_of(cases[i].ip);

		cr_assert_eq(proxy_net_match(nets, 3,
		    (const struct sockaddr *)&ss), cases[i].in, "%s",
		    cases[i].ip);
	}
	cr_assert_eq(proxy_net_match(nets, 0, (const struct sockaddr *)
	    &(struct sockaddr_storage){ .ss_family = AF_INET }), 0);
}
