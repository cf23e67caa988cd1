/*
 * The CONNECT authority: what a client may name (NAME.PRACTICE:PORT) and
 * everything else, which must never reach the policy lookup.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "gateway/net/conn.h"

struct authority_case {
	const char *url;
	int ok;
	const char *name, *practice;
	int port;
};

static const struct authority_case cases[] = {
	{ "emis.K84001:443", 1, "emis", "K84001", 443 },
	{ "emis.k84001:443", 1, "emis", "K84001", 443 },
	{ "rdp-1.Y01234:3389", 1, "rdp-1", "Y01234", 3389 },
	{ "a.b:1", 1, "a", "B", 1 },
	{ "a.b:65535", 1, "a", "B", 65535 },
	{ "emis.K84001:0", 0, NULL, NULL, 0 },
	{ "emis.K84001:65536", 0, NULL, NULL, 0 },
	{ "emis.K84001:", 0, NULL, NULL, 0 },
	{ "emis.K84001", 0, NULL, NULL, 0 },
	{ "emis.K84001:+443", 0, NULL, NULL, 0 },
	{ "emis.K84001:443x", 0, NULL, NULL, 0 },
	{ "emis.K84001:99999999999999999999", 0, NULL, NULL, 0 },
	{ "127.0.0.1:443", 0, NULL, NULL, 0 },
	{ "[::1]:443", 0, NULL, NULL, 0 },
	{ "emis:443", 0, NULL, NULL, 0 },
	{ ".K84001:443", 0, NULL, NULL, 0 },
	{ "emis.:443", 0, NULL, NULL, 0 },
	{ "emis.K84001.nhs.uk:443", 0, NULL, NULL, 0 },
	{ "em is.K84001:443", 0, NULL, NULL, 0 },
	{ "emis.K84/001:443", 0, NULL, NULL, 0 },
	{ "emis.K84001@evil:443", 0, NULL, NULL, 0 },
	{ "", 0, NULL, NULL, 0 },
	{ ":443", 0, NULL, NULL, 0 },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.K1:1",
	    0, NULL, NULL, 0 },	/* 64-byte name: over POLICY_NAME_MAX - 1 */
};

Test(tunnel, parse_authority_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct authority_case *tc = &cases[i];
		char name[POLICY_NAME_MAX] = "", practice[POLICY_NAME_MAX] = "";
		int port = -1;
		int rc = tunnel_parse_authority(tc->url, name, practice, &port);

		cr_assert_eq(rc, tc->ok ? 0 : -1, "'%s': rc %d", tc->url, rc);
		if (!tc->ok)
			continue;
		cr_assert_str_eq(name, tc->name, "'%s'", tc->url);
		cr_assert_str_eq(practice, tc->practice, "'%s'", tc->url);
		cr_assert_eq(port, tc->port, "'%s'", tc->url);
	}
}
