/*
 * libFuzzer harness for the CONNECT authority (gateway/net/tunnel_authority.c),
 * the target a client names over CONNECT or SSH direct-tcpip: the input,
 * up to its first NUL, is "name.practice:port". Checks: an accepted one
 * reads back as the input (name as given, practice upper-cased, port
 * 1..65535 in decimal), both names fit POLICY_NAME_MAX and hold only
 * letters, digits and '-' (nothing a log line or a policy lookup could
 * mistake). Run by tests/fuzz/run.sh.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/net/conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
is_label(const char *s, int upper_only)
{
	if (*s == '\0' || strlen(s) >= POLICY_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-') ||
		    (upper_only && islower((unsigned char)*s)))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1), name[POLICY_NAME_MAX],
	    practice[POLICY_NAME_MAX], back[2 * POLICY_NAME_MAX + 8];
	const char *colon;
	int port = -1;

	if (url == NULL)
		abort();
	memcpy(url, data, size);
	url[size] = '\0';
	memset(name, 'x', sizeof(name));
	memset(practice, 'x', sizeof(practice));
	if (tunnel_parse_authority(url, name, practice, &port) == 0) {
		if (!is_label(name, 0) || !is_label(practice, 1) || port < 1 ||
		    port > 65535)
			abort();
		/* Leading zeros in the port are the only spelling that may
		 * differ: compare the host part and the number. */
		colon = strrchr(url, ':');
		snprintf(back, sizeof(back), "%s.%s", name, practice);
		if (colon == NULL || strlen(back) != (size_t)(colon - url) ||
		    strncasecmp(back, url, strlen(back)) != 0 ||
		    strtol(colon + 1, NULL, 10) != port)
			abort();
	}
	free(url);
	return 0;
}
