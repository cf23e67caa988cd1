/*
 * mwg logout: forget the session certificate and the login answer. The
 * gateway keeps no session table (DESIGN §4), so nothing is sent: the
 * certificate stops being usable because this device no longer has it.
 */
#include <getopt.h>
#include <stdio.h>

#include "client/client.h"

#define VERB	"logout"

static const char logout_usage[] = "usage: mwg logout [--dir DIR]\n";

static const char logout_help[] =
"NAME\n"
"     mwg logout - forget the session certificate\n"
"\n"
"SYNOPSIS\n"
"     mwg logout [--dir DIR]\n"
"\n"
"DESCRIPTION\n"
"     Removes DIR/session.pem and DIR/session.json. The enrolment (the\n"
"     device key and certificate) stays, so mwg login works again at once.\n"
"     Tunnels that mwg connect has open keep running until they close; new\n"
"     ones are refused until the next login. Having no session is not an\n"
"     error: mwg says so and exits 0.\n"
"\n"
"     The gateway keeps no list of sessions, so nothing is sent to it. To\n"
"     cut a person or a device off everywhere at once, IT uses\n"
"     mwgctl lock.\n"
"\n"
"     --dir DIR\n"
"             State directory (default $MWG_DIR, else ~/.config/mwg).\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 no session is left; 1 a file could not be removed; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwg logout\n";

int
client_logout(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir",	required_argument,	NULL, 'd' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *dir = NULL;
	struct client_state st;
	char err[CLIENT_ERR_MAX];
	int ch, pem, json;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			fputs(logout_help, stdout);
			return CLIENT_EXIT_OK;
		default:
			return client_bad_option(VERB, logout_usage, ch, argv);
		}
	}
	if (client_args_left(VERB, logout_usage, argc, argv) != 0)
		return CLIENT_EXIT_USAGE;
	if (client_state_resolve(dir, &st, err, sizeof(err)) == -1)
		return client_fail(VERB, "%s", err);
	/* The certificate first: without it the session is gone. */
	if ((pem = client_state_remove(&st, STATE_SESSION, err,
	    sizeof(err))) == -1 || (json = client_state_remove(&st,
	    STATE_SESSION_JSON, err, sizeof(err))) == -1)
		return client_fail(VERB, "%s", err);
	if (pem == 0 && json == 0)
		printf("no session in %s: nothing to do\n", st.dir);
	else
		printf("logged out: the session certificate is removed from "
		    "%s\n", st.dir);
	return CLIENT_EXIT_OK;
}
