/*
 * What the command line names: the gateway (HOST:PORT, a DNS name is
 * allowed), a tunnel target (NAME.PRACTICE:PORT, as the gateway's policy
 * names it), a local listening address (a literal), an enrolment code and
 * a break-glass reason. Each parse says plainly what was expected.
 */
#include <netinet/in.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "common/addr.h"
#include "common/errbuf.h"

#define DNS_NAME_MAX		253
#define DNS_LABEL_MAX		63
#define CODE_PART_MAX		255
#define BREAK_GLASS_MAX		200

/* A decimal port 1..65535 with nothing else; -1 if not. */
static int
port_parse(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9' || strlen(s) > 5)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

/* RFC 1123 host name: labels of letters, digits and '-', dot-separated. */
static int
dns_name_valid(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > DNS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		if ((label == 0 && s[i] == '-') || ++label > DNS_LABEL_MAX)
			return 0;
	}
	return s[len - 1] != '-';
}

int
client_parse_hostport(const char *s, struct client_hostport *hp, char *err,
    size_t errlen)
{
	const char *host = s, *colon;
	size_t hlen;
	unsigned char buf[sizeof(struct in6_addr)];

	memset(hp, 0, sizeof(*hp));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		host = s + 1;
		colon = rb ? rb + 1 : NULL;
		hlen = rb ? (size_t)(rb - host) : 0;
		if (colon == NULL || *colon != ':')
			goto bad;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen) != NULL) {
			errbuf_set(err, errlen, "'%s': write an IPv6 address "
			    "in brackets, as [::1]:8443", s);
			return -1;
		}
	}
	if (hlen == 0 || hlen >= sizeof(hp->host) || port_parse(colon + 1) < 0)
		goto bad;
	memcpy(hp->host, host, hlen);
	hp->host[hlen] = '\0';
	memcpy(hp->port, colon + 1, strlen(colon + 1) + 1);
	if (s[0] == '[') {
		if (inet_pton(AF_INET6, hp->host, buf) != 1)
			goto bad;
		hp->is_ip = 1;
	} else if (inet_pton(AF_INET, hp->host, buf) == 1)
		hp->is_ip = 1;
	else if (!dns_name_valid(hp->host))
		goto bad;
	return 0;
bad:
	errbuf_set(err, errlen, "'%s' is not HOST:PORT (a name or address and "
	    "a port 1-65535, e.g. gw.example.org:443 or [::1]:8443)", s);
	return -1;
}

void
client_format_hostport(const struct client_hostport *hp, char *buf,
    size_t buflen)
{
	if (strchr(hp->host, ':') != NULL)
		snprintf(buf, buflen, "[%s]:%s", hp->host, hp->port);
	else
		snprintf(buf, buflen, "%s:%s", hp->host, hp->port);
}

/* Copies [s, s+len) into out if it is 1..63 letters, digits or '-'. */
static int
name_take(const char *s, size_t len, char *out, int upper)
{
	if (len == 0 || len >= CLIENT_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return -1;
		out[i] = upper ? (char)toupper((unsigned char)s[i]) : s[i];
	}
	out[len] = '\0';
	return 0;
}

int
client_parse_target(const char *s, struct client_target *t, char *err,
    size_t errlen)
{
	const char *colon = strrchr(s, ':'), *dot = strchr(s, '.');

	memset(t, 0, sizeof(*t));
	if (colon == NULL) {
		errbuf_set(err, errlen, "'%s': give the target's port too, as "
		    "NAME.PRACTICE:PORT (e.g. emis.K84001:443)", s);
		return -1;
	}
	if (dot == NULL || dot > colon ||
	    name_take(s, (size_t)(dot - s), t->name, 0) == -1 ||
	    name_take(dot + 1, (size_t)(colon - dot - 1), t->practice,
	    1) == -1 || (t->port = port_parse(colon + 1)) == -1) {
		errbuf_set(err, errlen, "'%s' is not NAME.PRACTICE:PORT (e.g. "
		    "emis.K84001:443: letters, digits and '-', one dot, a port "
		    "1-65535)", s);
		return -1;
	}
	snprintf(t->authority, sizeof(t->authority), "%s.%s:%d", t->name,
	    t->practice, t->port);
	return 0;
}

int
client_parse_listen(const char *s, struct sockaddr_storage *ss,
    socklen_t *len, char *err, size_t errlen)
{
	if (addr_parse(s, ss, len) == -1) {
		errbuf_set(err, errlen, "'%s' is not ADDR:PORT (a literal "
		    "address and a port 1-65535, e.g. 127.0.0.1:8443 or "
		    "[::1]:8443)", s);
		return -1;
	}
	return 0;
}

int
client_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6;
	const unsigned char *a;

	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return 0;
	sin6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
		return 1;
	a = sin6->sin6_addr.s6_addr;
	return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && a[12] == 127;
}

/* 1 if [s, s+len) is 1..CODE_PART_MAX bytes of visible ASCII. */
static int
code_part_valid(const char *s, size_t len)
{
	if (len == 0 || len > CODE_PART_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

int
client_parse_code(const char *s, char *id, size_t idlen, char *secret,
    size_t secretlen, char *err, size_t errlen)
{
	const char *colon = strchr(s, ':');
	size_t ilen, slen;

	if (colon == NULL) {
		errbuf_set(err, errlen, "the enrolment code must be ID:SECRET, "
		    "as IT gave it");
		return -1;
	}
	ilen = (size_t)(colon - s);
	slen = strlen(colon + 1);
	if (!code_part_valid(s, ilen) || !code_part_valid(colon + 1, slen) ||
	    ilen >= idlen || slen >= secretlen) {
		errbuf_set(err, errlen, "the enrolment code must be ID:SECRET, "
		    "each part 1-%d visible characters", CODE_PART_MAX);
		return -1;
	}
	memcpy(id, s, ilen);
	id[ilen] = '\0';
	memcpy(secret, colon + 1, slen + 1);
	return 0;
}

int
client_break_glass_valid(const char *reason)
{
	size_t len = strlen(reason);

	if (len == 0 || len > BREAK_GLASS_MAX || reason[0] == ' ' ||
	    reason[len - 1] == ' ')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)reason[i];

		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}
