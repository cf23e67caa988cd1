/*
 * libFuzzer harness for what an SSH client names before and after it
 * authenticates: the user name (certs_user_valid, certs/identity.c, as
 * gateway/net/ssh_auth.c checks it) and the direct-tcpip destination, which
 * gateway/net/ssh_tun.c composes as "DEST:PORT" for tunnel_parse_authority
 * (gateway/net/tunnel_authority.c) or, for an address, addr_parse
 * (common/addr.c). The keyboard-interactive answers are read inside
 * libssh's message callback (ssh_kbdint_answer), with no parser of their
 * own to fuzz apart. First byte: 0 user name, else destination with the
 * next two bytes as the port. Checks: an accepted name has only
 * [a-z0-9._-], not first '.' or '-', and fits; an accepted address
 * formats and parses back to itself. Run by tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certs.h"
#include "common/addr.h"
#include "gateway/net/conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_user(const char *u)
{
	size_t n = strlen(u);

	if (certs_user_valid(u) != 0)
		return;
	if (n == 0 || n >= CERTS_ID_MAX || u[0] == '.' || u[0] == '-' ||
	    strspn(u, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		abort();
}

static void
check_dest(const char *dest, int port)
{
	char authority[2 * POLICY_NAME_MAX + 16], name[POLICY_NAME_MAX],
	    practice[POLICY_NAME_MAX], addr[ADDR_STR_MAX], again[ADDR_STR_MAX];
	struct sockaddr_storage ss, ss2;
	socklen_t len, len2;
	int p;

	/* ssh_tun_parse's composition. */
	if (snprintf(authority, sizeof(authority), "%s:%d", dest, port) <
	    (int)sizeof(authority) &&
	    tunnel_parse_authority(authority, name, practice, &p) == 0 &&
	    p != port)
		abort();
	/* ssh_tun_parse_addr's: brackets for a bare IPv6 address. */
	if (snprintf(addr, sizeof(addr), dest[0] != '[' && strchr(dest, ':') ?
	    "[%s]:%d" : "%s:%d", dest, port) >= (int)sizeof(addr) ||
	    addr_parse(addr, &ss, &len) == -1)
		return;
	if (port < 1 || port > 65535 || addr_format((struct sockaddr *)&ss,
	    again, sizeof(again)) == NULL || addr_parse(again, &ss2, &len2) ||
	    len != len2 || memcmp(&ss, &ss2, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	int port;

	if (size < 3)
		return 0;
	port = data[1] << 8 | data[2];
	if ((s = malloc(size - 2)) == NULL)
		abort();
	memcpy(s, data + 3, size - 3);
	s[size - 3] = '\0';
	if (data[0] == 0)
		check_user(s);
	else
		check_dest(s, port);
	free(s);
	return 0;
}
