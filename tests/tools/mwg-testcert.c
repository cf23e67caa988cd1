/*
 * mwg-testcert: TEST ONLY, never installed. Issues a device certificate
 * straight from a CA directory so integration tests can act as an enrolled
 * device; real devices get theirs only through enrolment (EST).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs/certs.h"

#define TESTCERT_DAYS_MAX	3650
#define DAY			(24 * 60 * 60)
#define SKEW			(5 * 60)

static const char usage[] =
"usage: mwg-testcert --ca-dir DIR --id DEVICE_ID --out PREFIX [--days N]\n"
"                    [--expired]\n";

static const char help[] =
"\n"
"TEST HELPER ONLY: not installed, not for production. Devices get their\n"
"certificates through enrolment (mwg enrol).\n"
"\n"
"Makes a new EC P-256 key and a device certificate for it, signed with\n"
"DIR/issuing.pem and DIR/issuing.key, and writes PREFIX.key (0600) and\n"
"PREFIX.pem, replacing any that exist. The certificate is valid from 5\n"
"minutes ago for N days (default 90, at most 3650); --expired makes it\n"
"valid from 10 days ago until 1 day ago.\n"
"\n"
"Exit status: 0 written (nothing printed), 1 failed, 2 bad usage.\n";

struct testcert_opts {
	const char	*ca_dir;
	const char	*id;
	const char	*out;
	long		 days;
	int		 is_expired;
};

static int
bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "mwg-testcert: %s%s\n%s", what, arg, usage);
	return 2;
}

static int
parse_days(const char *s, long *days)
{
	char *end;

	errno = 0;
	*days = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *days < 1 ||
	    *days > TESTCERT_DAYS_MAX)
		return -1;
	return 0;
}

/* 0, 1 (--help shown) or 2 (bad usage, reported). */
static int
parse_args(int argc, char **argv, struct testcert_opts *o)
{
	static const struct option longopts[] = {
		{ "ca-dir",	required_argument,	NULL, 'c' },
		{ "id",		required_argument,	NULL, 'i' },
		{ "out",	required_argument,	NULL, 'o' },
		{ "days",	required_argument,	NULL, 'd' },
		{ "expired",	no_argument,		NULL, 'e' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	int ch;

	o->days = CERTS_DEVICE_DAYS;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->ca_dir = optarg;
			break;
		case 'i':
			o->id = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'e':
			o->is_expired = 1;
			break;
		case 'd':
			if (parse_days(optarg, &o->days) == -1)
				return bad_usage("--days must be 1..3650: ",
				    optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return 1;
		case ':':
			return bad_usage("missing argument for ",
			    argv[optind - 1]);
		default:
			return bad_usage("unknown option ", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument ", argv[optind]);
	if (o->ca_dir == NULL || o->id == NULL || o->out == NULL)
		return bad_usage("--ca-dir, --id and --out are required", "");
	if (certs_device_id_valid(o->id) == -1)
		return bad_usage("device id must be [a-z0-9-], 1..63 chars, "
		    "not starting with '-': ", o->id);
	return 0;
}

static int
issue(const struct testcert_opts *o, char *err, size_t errlen)
{
	char cert_path[PATH_MAX], key_path[PATH_MAX];
	struct certs_issuer *ca = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	time_t now = time(NULL), nb, na;
	int rc = -1;

	nb = o->is_expired ? now - 10 * DAY : now - SKEW;
	na = o->is_expired ? now - DAY : now + o->days * DAY;
	snprintf(cert_path, sizeof(cert_path), "%s/%s", o->ca_dir,
	    CERTS_ISSUING_CERT);
	snprintf(key_path, sizeof(key_path), "%s/%s", o->ca_dir,
	    CERTS_ISSUING_KEY);
	if ((ca = certs_issuer_load(cert_path, key_path, err, errlen)) == NULL)
		goto out;
	if ((key = certs_new_key()) == NULL) {
		snprintf(err, errlen, "cannot generate a key");
		goto out;
	}
	if ((x = certs_issue_device(ca, key, o->id, nb, na, err, errlen)) ==
	    NULL)
		goto out;
	snprintf(key_path, sizeof(key_path), "%s.key", o->out);
	snprintf(cert_path, sizeof(cert_path), "%s.pem", o->out);
	if (certs_write_key(key_path, key, 1, err, errlen) == 0 &&
	    certs_write_cert(cert_path, x, 1, err, errlen) == 0)
		rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	certs_issuer_free(ca);
	return rc;
}

int
main(int argc, char **argv)
{
	struct testcert_opts o = { 0 };
	char err[CERTS_ERR_MAX];
	int rc;

	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc == 1 ? 0 : 2;
	if (issue(&o, err, sizeof(err)) == -1) {
		fprintf(stderr, "mwg-testcert: %s\n", err);
		return 1;
	}
	return 0;
}
