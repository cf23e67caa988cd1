/*
 * gateway/net/ssh_tun.c ssh_tun_told: what a person's ssh prints when the
 * gateway ends a tunnel or a session, for every close reason the SSH side
 * uses (docs/audit.md's table). The administrator's lock or revocation
 * reason (the detail) must never reach the person.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "gateway/ssh_int.h"

struct told_case {
	const char *reason, *detail;
	int has_target;
	const char *told;
};

static const struct told_case cases[] = {
	{ "user-locked", "locked: left on a train", 0, "mwg: connection "
	    "closed: your access is locked by IT; contact the service desk" },
	{ "device-locked", "locked: lost", 0, "mwg: connection closed: this "
	    "device is locked by IT; contact the service desk" },
	{ "device-revoked", "revoked: stolen", 0, "mwg: connection closed: "
	    "this device was revoked by IT; contact the service desk" },
	{ "killed-by-admin", NULL, 1, "mwg: tunnel to emis.K84001 closed: an "
	    "administrator closed it" },
	{ "idle-timeout", NULL, 1, "mwg: tunnel to emis.K84001 closed: no "
	    "data moved for the idle time limit; connect again" },
	{ "role-time-ended", NULL, 1, "mwg: tunnel to emis.K84001 closed: "
	    "your role's hours for it have ended" },
	{ "shutdown", NULL, 1, "mwg: tunnel to emis.K84001 closed: the "
	    "gateway is restarting; connect again in a minute" },
	{ "policy-changed", "no role gives alice access to emis.K84001", 1,
	    "mwg: tunnel to emis.K84001 closed (policy-changed): no role gives "
	    "alice access to emis.K84001" },
	{ "posture-failed", "posture: disk encryption is off", 1, "mwg: "
	    "tunnel to emis.K84001 closed (posture-failed): posture: disk "
	    "encryption is off" },
	{ "policy-changed", NULL, 1, "mwg: tunnel to emis.K84001 closed "
	    "(policy-changed)" },
};

Test(ssh_told, every_reason)
{
	struct ssh_tun t;
	char buf[256];

	memset(&t, 0, sizeof(t));
	snprintf(t.target, sizeof(t.target), "emis.K84001");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ssh_tun_told(cases[i].has_target ? &t : NULL, cases[i].reason,
		    cases[i].detail, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].told, "case %zu", i);
		if (cases[i].detail && strncmp(cases[i].reason, "policy", 6) &&
		    strncmp(cases[i].reason, "posture", 7))
			cr_expect_null(strstr(buf, cases[i].detail),
			    "case %zu tells the detail", i);
	}
}

Test(ssh_told, cut_to_the_buffer)
{
	struct ssh_tun t;
	char buf[16];

	memset(&t, 0, sizeof(t));
	snprintf(t.target, sizeof(t.target), "emis.K84001");
	ssh_tun_told(&t, "killed-by-admin", NULL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "mwg: tunnel to ");
}
