/*
 * mwg logout: end the session at the gateway (POST /v1/logout with the
 * session certificate: the gateway refuses it from then on, over TLS and
 * SSH, and closes its tunnels), then forget the certificate and the login
 * answer here. The local copy goes even when the gateway cannot be told,
 * which is then an error the person hears about.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "certs/certs.h"
#include "client/gw.h"

#define VERB		"logout"
#define LOGOUT_PATH	"/v1/logout"

static const char logout_usage[] = "usage: mwg logout [--dir DIR]\n";

static const char logout_help[] =
"NAME\n"
"     mwg logout - end the session at the gateway and on this device\n"
"\n"
"SYNOPSIS\n"
"     mwg logout [--dir DIR]\n"
"\n"
"DESCRIPTION\n"
"     Tells the gateway the session has ended, with the session\n"
"     certificate: from then on the gateway refuses that certificate (and\n"
"     every other session certificate of this person on this device) for\n"
"     tunnels and over SSH, and closes the tunnels still open with it\n"
"     (mwg connect prints \"closed by the gateway: you logged out\").\n"
"     Then removes DIR/session.pem and DIR/session.json. The enrolment\n"
"     (the device key and certificate) stays, so mwg login works again at\n"
"     once. Having no session is not an error: mwg says so and exits 0.\n"
"\n"
"     If the gateway cannot be reached, the files are removed all the\n"
"     same, mwg says that the gateway was not told and until when the\n"
"     certificate stays valid there, and exits 1. To cut a person or a\n"
"     device off everywhere at once, IT uses mwgctl lock.\n"
"\n"
"     --dir DIR\n"
"             State directory (default $MWG_DIR, else ~/.config/mwg).\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 no session is left here or at the gateway; 1 the gateway could not\n"
"     be told, or a file could not be removed; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwg logout\n";

/*
 * POST /v1/logout with the session certificate, if there is a valid one.
 * 1 told, 0 nothing to tell, -1 after saying why not.
 */
static int
logout_tell(const struct client_state *st, int *closed)
{
	struct client_device dev;
	struct certs_identity id;
	struct client_answer a = { 0 };
	struct client_tls *t = NULL;
	char path[PATH_MAX], err[CLIENT_ERR_MAX], when[64];
	X509 *cert;
	json_t *root = NULL;
	int rc = -1;

	client_state_path(st, STATE_SESSION, path, sizeof(path));
	memset(&id, 0, sizeof(id));
	if ((cert = certs_read_cert(path, err, sizeof(err))) == NULL ||
	    certs_identity(cert, &id) == -1 || id.not_after <= time(NULL)) {
		X509_free(cert);
		return 0;	/* unreadable or expired: nothing to end */
	}
	X509_free(cert);
	client_format_time(id.not_after, when, sizeof(when));
	if (client_device_load(st, VERB, &dev) == -1)
		return -1;
	if ((t = client_tls_new(&dev.gw, dev.ca, path, dev.key, err,
	    sizeof(err))) == NULL ||
	    client_request(t, "POST", LOGOUT_PATH, NULL, "", 0, &a, err,
	    sizeof(err)) == -1)
		client_fail(VERB, "the gateway was not told: %s; the session "
		    "stays valid there until %s", err, when);
	else if (a.status == 200) {
		root = json_loads(a.body, 0, NULL);
		*closed = (int)json_integer_value(json_object_get(root,
		    "tunnels_closed"));
		rc = 1;
	} else if (a.status == 401)
		rc = 1;		/* ended already, or the device is revoked */
	else
		client_fail(VERB, "the gateway was not told: %s (%d); the "
		    "session stays valid there until %s",
		    client_answer_reason(&a, err, sizeof(err)), a.status, when);
	json_decref(root);
	client_answer_free(&a);
	client_tls_free(t);
	return rc;
}

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
	int ch, pem, json, told = 0, closed = 0;

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
	if (client_state_has(&st, STATE_SESSION))
		told = logout_tell(&st, &closed);
	/* The certificate first: without it the session is gone here. */
	if ((pem = client_state_remove(&st, STATE_SESSION, err,
	    sizeof(err))) == -1 || (json = client_state_remove(&st,
	    STATE_SESSION_JSON, err, sizeof(err))) == -1)
		return client_fail(VERB, "%s", err);
	if (pem == 0 && json == 0)
		printf("no session in %s: nothing to do\n", st.dir);
	else
		printf("logged out: the session certificate is removed from "
		    "%s%s", st.dir, told == 1 ? " and ended at the gateway" :
		    "");
	if (told == 1 && closed > 0)
		printf(" (%d open tunnel%s closed)", closed, closed == 1 ? "" :
		    "s");
	if (pem != 0 || json != 0)
		printf("\n");
	return told == -1 ? CLIENT_EXIT_FAIL : CLIENT_EXIT_OK;
}
