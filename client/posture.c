/*
 * mwg posture: collect this device's posture report and post it to the
 * gateway over TLS authenticated with the device certificate, so the
 * report is bound to the device's key; --show prints the report instead.
 * mwg login and mwg connect call posture_refresh() to post a fresh report
 * once the last one is half-way to the age the gateway stops counting it.
 */
#include <sys/stat.h>

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "client/gw.h"
#include "client/posture.h"

#define VERB		"posture"

static const char posture_usage[] =
    "usage: mwg posture [--show] [--root DIR] [--dir DIR]\n";

static const char posture_help[] =
"NAME\n"
"     mwg posture - report this device's security settings to the gateway\n"
"\n"
"SYNOPSIS\n"
"     mwg posture [--show] [--root DIR] [--dir DIR]\n"
"\n"
"DESCRIPTION\n"
"     Collects a short report on this device and posts it to the gateway\n"
"     over TLS authenticated with the device certificate. The gateway's\n"
"     policy may require some of these settings for some roles, and counts\n"
"     a report for a limited time (typically 15 minutes): mwg login and mwg\n"
"     connect post a fresh one on their own once half of it has passed.\n"
"     Prints the checks the report does not pass, as the gateway sees\n"
"     them; which of them matter depends on your role.\n"
"\n"
"     The report holds these facts and nothing else (no list of\n"
"     applications, no location, no browsing data, no file names):\n"
"       os.id, os.version  the distribution and its version (os-release)\n"
"       os.kernel          the running kernel's release\n"
"       disk_encryption    the root filesystem is on dm-crypt (LUKS)\n"
"       screen_lock        the screen locks when idle: GNOME settings the\n"
"                          system sets and locks (etc/dconf/db/local.d and\n"
"                          its locks/), or KDE's kscreenlockerrc Autolock\n"
"       firewall           incoming traffic is dropped unless allowed:\n"
"                          nftables.conf with an input chain of policy\n"
"                          drop, or ufw enabled, and in force now\n"
"       update_age_days    days since the package system last updated\n"
"                          (apt's stamps, else dpkg's log)\n"
"       security_updates   pending security updates, where Ubuntu's\n"
"                          update-notifier has counted them\n"
"       client_version     this program's version\n"
"       collected_at       when the report was made (UTC)\n"
"     yes, no or unknown: \"unknown\" means mwg cannot tell, and a policy\n"
"     never counts it as yes. A number mwg cannot tell is null.\n"
"\n"
"     --show  Print the report exactly as it would be sent (JSON) and\n"
"             send nothing. Needs no enrolment.\n"
"     --root DIR\n"
"             Read the files the report is made from below DIR instead of\n"
"             / (for tests against a fixture tree; nothing outside DIR is\n"
"             looked at then).\n"
"     --dir DIR\n"
"             State directory (default $MWG_DIR, else ~/.config/mwg).\n"
"     --help  Print this help and exit.\n"
"\n"
"FILES\n"
"     DIR/posture.json  0600, when the last report was accepted and for\n"
"                       how long the gateway counts one\n"
"\n"
"EXIT STATUS\n"
"     0 the report was accepted (even if it fails checks) or shown; 1 not\n"
"     enrolled, or the gateway refused the report or could not be\n"
"     reached, with the reason on stderr; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwg posture --show\n"
"     mwg posture\n";

struct posture_opts {
	int		 is_show;
	const char	*root;
	const char	*dir;
};

/* One report at a time from mwg connect's threads. */
static pthread_mutex_t posture_lock = PTHREAD_MUTEX_INITIALIZER;

static int
posture_options(int argc, char **argv, struct posture_opts *o)
{
	static const struct option longopts[] = {
		{ "show",	no_argument,		NULL, 's' },
		{ "root",	required_argument,	NULL, 'r' },
		{ "dir",	required_argument,	NULL, 'd' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	struct stat sb;
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->is_show = 1;
			break;
		case 'r':
			o->root = optarg;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'h':
			fputs(posture_help, stdout);
			return -1;
		default:
			return client_bad_option(VERB, posture_usage, ch, argv);
		}
	}
	if (client_args_left(VERB, posture_usage, argc, argv) != 0)
		return CLIENT_EXIT_USAGE;
	if (stat(o->root, &sb) == -1 || !S_ISDIR(sb.st_mode))
		return client_usage(VERB, posture_usage, "--root %s: not a "
		    "directory", o->root);
	return 0;
}

/* The report from below root, as the JSON that is sent, or NULL. */
static char *
posture_make(const char *root, size_t *lenp)
{
	struct posture_report r;

	posture_report_init(&r, time(NULL));
	posture_collect(root, &r);
	return posture_report_json(&r, lenp);
}

/* Posts body; the answer in a (freed by the caller either way). */
static int
posture_send(const struct client_device *dev, const char *body, size_t len,
    struct client_answer *a, char *err, size_t errlen)
{
	struct client_tls *t;
	int rc;

	if ((t = client_tls_new(&dev->gw, dev->ca, dev->cert, dev->key, err,
	    errlen)) == NULL)
		return -1;
	rc = client_request(t, "POST", POSTURE_PATH, "Content-Type: "
	    "application/json\r\n", body, len, a, err, errlen);
	client_tls_free(t);
	return rc;
}

/* What the gateway said of an accepted report. */
struct posture_receipt {
	char		failed[512];	/* the checks it fails, or "none" */
	long long	max_age;	/* seconds it counts; 0: policy asks none */
};

/*
 * A 200 answer into rcpt, and the stamp written (sent_at by our clock:
 * it is our clock that decides when the next report is due). 0, or -1
 * with a reason.
 */
static int
posture_accepted(const struct client_device *dev,
    const struct client_answer *a, time_t sent_at,
    struct posture_receipt *rcpt, char *err, size_t errlen)
{
	json_t *j = json_loadb(a->body, a->body_len, 0, NULL);
	json_t *f = json_object_get(j, "failed");
	json_t *age = json_object_get(j, "max_age");
	char *stamp;
	int rc;

	if (!json_is_object(j) || !json_is_array(f)) {
		snprintf(err, errlen, "the gateway's answer is not a posture "
		    "receipt");
		json_decref(j);
		return -1;
	}
	if (client_json_join(f, rcpt->failed, sizeof(rcpt->failed)) == 0)
		snprintf(rcpt->failed, sizeof(rcpt->failed), "none");
	rcpt->max_age = json_is_integer(age) ? json_integer_value(age) : 0;
	stamp = posture_stamp_json(sent_at, rcpt->max_age);
	rc = client_state_write(&dev->st, POSTURE_STAMP, stamp,
	    strlen(stamp), 0600, err, errlen);
	free(stamp);
	json_decref(j);
	return rc;
}

/*
 * Collects, posts and records one report. 0 with the gateway's receipt;
 * -1 with the reason in err (the gateway's, with its status); -2 the same
 * when the gateway refused the device certificate (401).
 */
static int
posture_post(const struct client_device *dev, const char *root,
    struct posture_receipt *rcpt, char *err, size_t errlen)
{
	struct client_answer a = { 0 };
	char reason[CLIENT_ERR_MAX], *body;
	time_t sent_at = time(NULL);
	size_t len;
	int rc = -1;

	if ((body = posture_make(root, &len)) == NULL) {
		snprintf(err, errlen, "cannot write the report (out of memory)");
		return -1;
	}
	if (posture_send(dev, body, len, &a, err, errlen) == 0) {
		if (a.status != 200) {
			snprintf(err, errlen, "%s (%d)", client_answer_reason(&a,
			    reason, sizeof(reason)), a.status);
			rc = a.status == 401 ? -2 : -1;
		} else
			rc = posture_accepted(dev, &a, sent_at, rcpt, err,
			    errlen);
	}
	client_answer_free(&a);
	free(body);
	return rc;
}

int
posture_refresh(const struct client_device *dev, const char *verb)
{
	struct posture_receipt rcpt;
	char err[CLIENT_ERR_MAX], *stamp;
	size_t len = 0;
	int is_due, rc = 0;

	pthread_mutex_lock(&posture_lock);
	stamp = client_state_read(&dev->st, POSTURE_STAMP, &len, err,
	    sizeof(err));
	is_due = stamp == NULL || posture_stamp_due(stamp, len, time(NULL));
	free(stamp);
	if (is_due) {
		rc = posture_post(dev, "/", &rcpt, err, sizeof(err));
		/* One whole line, even among mwg connect's threads. */
		flockfile(stderr);
		if (rc == -2)
			client_fail(verb, "%s", err);
		else if (rc == -1)
			client_warn(verb, "posture report not sent: %s", err);
		else if (rcpt.max_age > 0 && strcmp(rcpt.failed, "none") != 0)
			client_warn(verb, "posture checks this device does not "
			    "pass: %s (roles that require them are refused; "
			    "see mwg posture --help)", rcpt.failed);
		funlockfile(stderr);
	}
	pthread_mutex_unlock(&posture_lock);
	return rc == -2 ? -1 : 0;
}

int
client_posture(int argc, char **argv)
{
	struct posture_opts o = { .root = "/" };
	struct client_state st;
	struct client_device dev;
	struct posture_receipt rcpt;
	char err[CLIENT_ERR_MAX], left[32], *body;
	size_t len;
	int rc;

	if ((rc = posture_options(argc, argv, &o)) != 0)
		return rc == -1 ? CLIENT_EXIT_OK : rc;
	if (o.is_show) {
		if ((body = posture_make(o.root, &len)) == NULL)
			return client_fail(VERB, "cannot write the report (out "
			    "of memory)");
		rc = fwrite(body, 1, len, stdout) == len && fflush(stdout) == 0 ?
		    CLIENT_EXIT_OK : client_fail(VERB, "cannot write the "
		    "report to standard output");
		free(body);
		return rc;
	}
	if (client_state_resolve(o.dir, &st, err, sizeof(err)) == -1)
		return client_fail(VERB, "%s", err);
	if (client_device_load(&st, VERB, &dev) == -1 ||
	    client_device_renew(&dev, VERB) == -1)
		return CLIENT_EXIT_FAIL;
	if (posture_post(&dev, o.root, &rcpt, err, sizeof(err)) < 0)
		return client_fail(VERB, "%s", err);
	printf("posture report accepted by %s\nchecks not passed: %s\n",
	    dev.gw_text, rcpt.failed);
	if (rcpt.max_age > 0)
		printf("a report counts for %s; mwg login and mwg connect "
		    "send a fresh one once half of that has passed\n",
		    client_format_left(rcpt.max_age, left, sizeof(left)));
	return CLIENT_EXIT_OK;
}
