/*
 * The CONNECT authority "name.practice:port": the one parser of a target a
 * client names, for CONNECT (tunnel.c) and SSH direct-tcpip (ssh_tun.c).
 * Kept apart from the tunnel so that it is fuzzed on its own.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/net/conn.h"

int
tunnel_parse_authority(const char *url, char *name, char *practice, int *port)
{
	const char *colon = strrchr(url, ':'), *dot = strchr(url, '.');
	size_t nlen, plen;
	char *end;
	long p;

	if (colon == NULL || dot == NULL || dot > colon)
		return -1;
	nlen = (size_t)(dot - url);
	plen = (size_t)(colon - dot - 1);
	if (nlen == 0 || nlen >= POLICY_NAME_MAX || plen == 0 ||
	    plen >= POLICY_NAME_MAX || memchr(dot + 1, '.', plen))
		return -1;
	for (const char *s = url; s < colon; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			return -1;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || errno || p < 1 ||
	    p > 65535)
		return -1;
	memcpy(name, url, nlen);
	name[nlen] = '\0';
	for (size_t i = 0; i < plen; i++)
		practice[i] = (char)toupper((unsigned char)dot[1 + i]);
	practice[plen] = '\0';
	*port = (int)p;
	return 0;
}
