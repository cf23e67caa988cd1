/*
 * mwg status: what this device holds (enrolment, device and session
 * certificates, the login answer) and what the gateway sees (GET
 * /v1/whoami). The local part works offline; the gateway part then says
 * why it is missing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "certs/certs.h"
#include "client/gw.h"

#define VERB		"status"
#define WHOAMI_PATH	"/v1/whoami"

static const char status_usage[] = "usage: mwg status [--dir DIR]\n";

static const char status_help[] =
"NAME\n"
"     mwg status - show the enrolment, the session and what the gateway sees\n"
"\n"
"SYNOPSIS\n"
"     mwg status [--dir DIR]\n"
"\n"
"DESCRIPTION\n"
"     Prints the state directory, the gateway, this device's id and how long\n"
"     its certificate is valid, the person logged in and how long the\n"
"     session has left, the groups, roles and practices the gateway gave at\n"
"     login, and then what the gateway itself reports for this device\n"
"     (GET /v1/whoami, with the session certificate if there is a valid one,\n"
"     else the device certificate), such as the source address it sees.\n"
"\n"
"     If the gateway cannot be reached the local part is still printed,\n"
"     followed by \"gateway: unreachable\" and why. If the device certificate\n"
"     is in the last third of its life it is renewed first.\n"
"\n"
"     --dir DIR\n"
"             State directory (default $MWG_DIR, else ~/.config/mwg).\n"
"     --help  Print this help and exit.\n"
"\n"
"EXIT STATUS\n"
"     0 the state was shown (even with no session, an expired certificate\n"
"     or an unreachable gateway); 1 not enrolled or the state cannot be\n"
"     read; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwg status\n"
"     MWG_DIR=/srv/kiosk/mwg mwg status\n";

static int
status_options(int argc, char **argv, const char **dir)
{
	static const struct option longopts[] = {
		{ "dir",	required_argument,	NULL, 'd' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			*dir = optarg;
			break;
		case 'h':
			fputs(status_help, stdout);
			return -1;
		default:
			return client_bad_option(VERB, status_usage, ch, argv);
		}
	}
	if (client_args_left(VERB, status_usage, argc, argv) != 0)
		return CLIENT_EXIT_USAGE;
	return 0;
}

/* "until DATE (LEFT left)" or "expired on DATE". */
static const char *
status_until(time_t t, char *buf, size_t buflen)
{
	char when[64], left[32];
	time_t now = time(NULL);

	client_format_time(t, when, sizeof(when));
	if (t <= now)
		snprintf(buf, buflen, "expired on %s", when);
	else
		snprintf(buf, buflen, "valid until %s (%s left)", when,
		    client_format_left((long long)(t - now), left,
		    sizeof(left)));
	return buf;
}

/*
 * The session, if any: its certificate says who and until when, the
 * login answer beside it what the gateway granted. 1 if it is valid.
 */
static int
status_session(const struct client_device *dev)
{
	struct certs_identity id;
	char path[PATH_MAX], err[CLIENT_ERR_MAX], text[512];
	json_t *root;
	X509 *cert;
	static const char *const lists[][2] = { { "groups", "groups:" },
	    { "roles", "roles:" }, { "practices", "practices:" } };

	memset(&id, 0, sizeof(id));
	client_state_path(&dev->st, STATE_SESSION, path, sizeof(path));
	if (!client_state_has(&dev->st, STATE_SESSION)) {
		printf("session: none (run mwg login)\n");
		return 0;
	}
	if ((cert = certs_read_cert(path, err, sizeof(err))) == NULL ||
	    certs_identity(cert, &id) == -1 || id.kind != CERTS_KIND_SESSION) {
		printf("session: unreadable (%s); run mwg login\n", cert ?
		    "not a session certificate" : err);
		X509_free(cert);
		return 0;
	}
	X509_free(cert);
	printf("user: %s\n", id.user);
	printf("session: %s\n", status_until(id.not_after, text,
	    sizeof(text)));
	client_state_path(&dev->st, STATE_SESSION_JSON, path, sizeof(path));
	root = json_load_file(path, 0, NULL);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (client_json_join(json_object_get(root, lists[i][0]), text,
		    sizeof(text)) > 0)
			printf("%s %s\n", lists[i][1], text);
	json_decref(root);
	return id.not_after > time(NULL) && strcmp(id.device_id, dev->id) == 0;
}

/* One value of the whoami answer, printable whatever its type. */
static void
status_value(const char *key, json_t *v)
{
	char buf[512];
	size_t i;

	if (json_is_string(v)) {
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
		for (i = 0; buf[i] != '\0'; i++)	/* no terminal control */
			if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
				buf[i] = '?';
	} else if (json_is_integer(v) && (strstr(key, "after") != NULL ||
	    strstr(key, "_at") != NULL))
		client_format_time((time_t)json_integer_value(v), buf,
		    sizeof(buf));
	else if (json_is_array(v))
		client_json_join(v, buf, sizeof(buf));
	else if (json_is_object(v)) {
		json_t *sub;
		const char *k;
		char name[128];

		json_object_foreach(v, k, sub) {
			snprintf(name, sizeof(name), "%s.%s", key, k);
			status_value(name, sub);
		}
		return;
	} else {
		char *text = json_dumps(v, JSON_ENCODE_ANY);

		snprintf(buf, sizeof(buf), "%s", text ? text : "?");
		free(text);
	}
	printf("  %s: %s\n", key, buf);
}

/* GET /v1/whoami with the best certificate we have. */
static void
status_gateway(const struct client_device *dev, int has_session)
{
	char err[CLIENT_ERR_MAX], reason[512], cert[PATH_MAX];
	struct client_answer a = { 0 };
	struct client_tls *t;
	json_t *root, *v;
	const char *k;

	client_state_path(&dev->st, has_session ? STATE_SESSION : STATE_DEVICE,
	    cert, sizeof(cert));
	if ((t = client_tls_new(&dev->gw, dev->ca, cert, dev->key, err,
	    sizeof(err))) == NULL ||
	    client_request(t, "GET", WHOAMI_PATH, NULL, NULL, 0, &a, err,
	    sizeof(err)) == -1) {
		printf("gateway: unreachable (%s)\n", err);
	} else if (a.status != 200) {
		printf("gateway: refused: %s (%d)\n", client_answer_reason(&a,
		    reason, sizeof(reason)), a.status);
	} else {
		printf("gateway: reachable; with the %s certificate it sees:\n",
		    has_session ? "session" : "device");
		root = json_loadb(a.body, a.body_len, 0, NULL);
		json_object_foreach(root, k, v)
			status_value(k, v);
		json_decref(root);
	}
	client_answer_free(&a);
	client_tls_free(t);
}

int
client_status(int argc, char **argv)
{
	const char *dir = NULL;
	struct client_state st;
	struct client_device dev;
	char err[CLIENT_ERR_MAX], text[256];
	int rc, has_session;

	if ((rc = status_options(argc, argv, &dir)) != 0)
		return rc == -1 ? CLIENT_EXIT_OK : rc;
	if (client_state_resolve(dir, &st, err, sizeof(err)) == -1)
		return client_fail(VERB, "%s", err);
	if (client_device_load(&st, VERB, &dev) == -1)
		return CLIENT_EXIT_FAIL;
	(void)client_device_renew(&dev, VERB);	/* said on stderr if not */
	printf("state: %s\n", st.dir);
	printf("gateway: %s\n", dev.gw_text);
	printf("device: %s, certificate %s\n", dev.id,
	    status_until(dev.not_after, text, sizeof(text)));
	has_session = status_session(&dev);
	fflush(stdout);
	status_gateway(&dev, has_session);
	return CLIENT_EXIT_OK;
}
