/*
 * mwg: the staff device's client. This file only dispatches to the verbs,
 * one per file.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "client/client.h"

static const char usage_text[] =
"NAME\n"
"     mwg - reach practice systems through the mobile-working gateway\n"
"\n"
"SYNOPSIS\n"
"     mwg enrol --gateway HOST:PORT --ca CA.pem --code ID:SECRET\n"
"               [--ca-fingerprint SHA256] [--force]\n"
"     mwg login --user USER [--password-file FILE] [--otp CODE]\n"
"     mwg posture [--show]\n"
"     mwg list\n"
"     mwg open NAME.PRACTICE [--break-glass REASON] [-- PROGRAM-ARGS...]\n"
"     mwg proxy [--listen ADDR:PORT]\n"
"     mwg connect NAME.PRACTICE:PORT --listen ADDR:PORT|unix:PATH\n"
"                 [--break-glass REASON] [--allow-remote] [--verbose]\n"
"     mwg status\n"
"     mwg logout\n"
"     mwg ssh-config [--port PORT] [--user NAME] [--host-keys FILE]\n"
"     mwg VERB --help\n"
"\n"
"     Every verb takes --dir DIR.\n"
"\n"
"DESCRIPTION\n"
"     enrol    make this device's key and enrol it with a code from IT\n"
"     login    prove who you are (password and one-time code); get a\n"
"              session certificate for the hours your role allows\n"
"     list     the practice systems you may reach now, and those only\n"
"              with break-glass, with what each is (web, rdp, ssh, tcp)\n"
"     open     open one in the right program (remote desktop, ssh, the\n"
"              browser) through the gateway; ends when the program does\n"
"     proxy    a local proxy for the browser, so web systems open by\n"
"              their real names and their own certificates are checked\n"
"     connect  open a local port (for this OS user only); each connection\n"
"              to it becomes a tunnel through the gateway to one practice\n"
"              system\n"
"     status   what is enrolled, who is logged in, and what the gateway\n"
"              sees\n"
"     logout   end the session, at the gateway and on this device\n"
"     posture  report this device's security settings (disk encryption,\n"
"              screen lock, firewall, updates) to the gateway; --show\n"
"              prints exactly what would be sent, and sends nothing\n"
"     ssh-config\n"
"              write an OpenSSH config that uses the gateway as a jump\n"
"              host (ProxyJump) to the practices of the last login, with\n"
"              the gateway's host keys; then ssh NAME.PRACTICE works\n"
"\n"
"     The device's key never leaves the device: the gateway sees only its\n"
"     certificates. Nothing mwg prints contains a password, a one-time code\n"
"     or an enrolment secret.\n"
"\n"
"FILES\n"
"     State lives in DIR: --dir DIR, else $MWG_DIR, else ~/.config/mwg\n"
"     (created 0700 at enrolment). See mwg enrol --help for the files.\n"
"\n"
"EXIT STATUS\n"
"     0 success; 1 refused or failed, with one line on stderr; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwg enrol --gateway gw.example.nhs.uk:443 --ca root.pem \\\n"
"         --code 7f3k2q:Z8vTq...\n"
"     mwg login --user alice\n"
"     mwg list\n"
"     mwg open reception.K84001\n"
"     mwg proxy &\n"
"     mwg connect emis.K84001:443 --listen 127.0.0.1:8443\n"
"     mwg ssh-config && ssh emis.K84001\n";

int
main(int argc, char **argv)
{
	static const struct {
		const char *verb;
		int (*fn)(int, char **);
	} verbs[] = {
		{ "enrol", client_enrol },
		{ "login", client_login },
		{ "connect", client_connect },
		{ "status", client_status },
		{ "logout", client_logout },
		{ "posture", client_posture },
		{ "ssh-config", client_ssh_config },
		{ "list", client_list },
		{ "open", client_open },
		{ "proxy", client_proxy },
	};

	/* A gateway that hangs up mid-write is an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLIENT_EXIT_USAGE : CLIENT_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].verb) == 0)
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mwg: unknown verb '%s' (see mwg --help)\n", argv[1]);
	return CLIENT_EXIT_USAGE;
}
