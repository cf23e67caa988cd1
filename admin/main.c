/*
 * mwgctl: the administrators' tool. One verb per file; this file only
 * dispatches. Offline verbs work on files; live ones talk to mwgd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "common/log.h"

static const char usage_text[] =
"NAME\n"
"    mwgctl - administer the mobile-working gateway\n"
"\n"
"SYNOPSIS\n"
"    mwgctl ca init --dir DIR --host NAME [--host NAME...]\n"
"    mwgctl ca server-cert --dir DIR --host NAME [--host NAME...]\n"
"                       [--root-key FILE]\n"
"    mwgctl [-s SOCKET] enrol-code create --user U --practice P [--label L]\n"
"                       [--ttl D] [--managed]\n"
"    mwgctl [-s SOCKET] enrol-code list [--json] | enrol-code withdraw ID\n"
"    mwgctl [-s SOCKET] device list [--json] | device revoke ID --reason TEXT\n"
"    mwgctl [-s SOCKET] totp enrol USER [--issuer NAME] [--no-qr] [--json]\n"
"    mwgctl [-s SOCKET] totp import FILE\n"
"    mwgctl [-s SOCKET] totp list [--json] | totp remove USER\n"
"    mwgctl [-s SOCKET] throttle list [--json] | throttle clear USER|ADDR\n"
"    mwgctl [-s SOCKET] lock user|device NAME [--ttl D] --reason TEXT\n"
"    mwgctl [-s SOCKET] lock list [--json] | unlock user|device NAME\n"
"    mwgctl policy check FILE\n"
"    mwgctl policy explain --user U --target T.PRACTICE [--device ID]\n"
"                       [--from ADDR] [--at TIME] [--policy FILE] ...\n"
"    mwgctl audit verify [--key PUB]... FILE...\n"
"    mwgctl audit query [--user U] [--practice P] [--event E] [--since T]\n"
"                       [--until T] [--json] FILE...\n"
"    mwgctl audit export --practice P | --user U [--since T] [--until T]\n"
"                       [--format jsonl|csv] FILE...\n"
"    mwgctl audit prune --before DATE FILE...\n"
"    mwgctl [-s SOCKET] status | sessions | kill ID | reload [--json]\n"
"    mwgctl [-s SOCKET] drain [--limit D] [--json]\n"
"    mwgctl VERB --help\n"
"\n"
"DESCRIPTION\n"
"    ca init      create a root CA, an issuing CA and a server certificate\n"
"    ca server-cert\n"
"                 a new server certificate and key in place of the old ones\n"
"                 (then mwgctl reload)\n"
"    enrol-code create\n"
"                 a single-use code (printed as ID:SECRET) that lets one\n"
"                 device enrol for one person and practice\n"
"    enrol-code list | withdraw\n"
"                 the codes made and what became of them (never a secret);\n"
"                 withdraw makes an unused code unusable\n"
"    device list  enrolled devices: person, practice, expiry, last seen,\n"
"                 last posture report, status\n"
"    device revoke\n"
"                 end a device for good and close its tunnels\n"
"    totp enrol   a new TOTP secret for a person, shown once as an\n"
"                 otpauth:// URI and a QR code in the terminal\n"
"    totp import  take the time-based secrets of a pam_oath users file\n"
"    totp list | remove\n"
"                 who has a TOTP secret, since when, failures, disabled;\n"
"                 remove takes a person's secret away (a lost phone)\n"
"    throttle list | clear\n"
"                 failed-attempt throttles per person, address and code;\n"
"                 clear lets one try again at once\n"
"    lock         refuse a person or a device at once (closing its\n"
"                 tunnels), until unlocked or for --ttl; lock list shows\n"
"                 the locks, unlock lifts one\n"
"    policy check check a policy file offline; every error as file:line:col\n"
"    policy explain\n"
"                 the decision for one person and target, with every rule\n"
"                 considered in order (offline; see policy explain --help)\n"
"    audit verify check the audit trail's hash chain and signed checkpoints,\n"
"                 one chain per gateway node\n"
"    audit query  search audit files; audit export: one practice's or one\n"
"                 person's records (GDPR), as JSON lines or CSV; several\n"
"                 nodes' files merged in time order; both are\n"
"                 themselves recorded by mwgd with your OS user\n"
"    audit prune  remove records older than DATE from rotated files, keeping\n"
"                 what remains verifiable\n"
"    status       the running gateway's counters\n"
"    sessions     open tunnels, TLS and SSH: id, device, person, source,\n"
"                 target, bytes\n"
"    kill ID      close one tunnel now (audited with your OS user)\n"
"    reload       re-read mwgd.conf and policy.conf; a broken file is\n"
"                 refused and the running configuration stays\n"
"    drain        take this node out of service: refuse new connections\n"
"                 (GET /health answers 503), let open tunnels end (up to\n"
"                 --limit), then stop mwgd\n"
"\n"
"    Verbs that reach the daemon use -s SOCKET (default /run/mwg/control,\n"
"    or MWG_CONTROL in the environment); mwgd records each change they make\n"
"    in the audit trail with your OS user. mwgctl VERB --help tells more.\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 refused or failed (one line on stderr), 2 bad usage\n";

int
main(int argc, char **argv)
{
	static const struct {
		const char *verb;
		int (*fn)(int, char **);
	} verbs[] = {
		{ "ca", admin_ca },
		{ "policy", admin_policy },
		{ "audit", admin_audit },
		{ "enrol-code", admin_enrol_code },
		{ "device", admin_device },
		{ "totp", admin_totp },
		{ "lock", admin_lock },
		{ "throttle", admin_throttle },
		{ "unlock", admin_lock },
		{ "status", admin_control },
		{ "sessions", admin_control },
		{ "kill", admin_control },
		{ "reload", admin_control },
		{ "drain", admin_drain },
	};

	log_init("mwgctl", 0, 0);
	/* A leading -s SOCKET applies to every verb that reaches mwgd. */
	if (argc >= 3 && strcmp(argv[1], "-s") == 0) {
		if (setenv("MWG_CONTROL", argv[2], 1) == -1)
			return ADMIN_EXIT_FAIL;
		argv[2] = argv[0];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? ADMIN_EXIT_USAGE : ADMIN_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].verb) == 0)
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mwgctl: unknown verb '%s' (see mwgctl --help)\n",
	    argv[1]);
	return ADMIN_EXIT_USAGE;
}
