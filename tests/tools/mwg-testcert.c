/*
 * mwg-testcert: TEST ONLY, never installed. Issues a device or session
 * certificate straight from a CA directory, and can put the device into a
 * state store, so integration tests can act as an enrolled device or a
 * logged-in person; real devices get theirs only through enrolment (EST)
 * and login.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include "audit/audit.h"
#include "certs/certs.h"
#include "gateway/monitor/store.h"

#define TESTCERT_DAYS_MAX	3650
#define DAY			(24 * 60 * 60)
#define HOUR			(60 * 60)
#define SKEW			(5 * 60)
#define DEFAULT_OWNER		"alice"
#define DEFAULT_PRACTICE	"K84001"

static const char usage[] =
"usage: mwg-testcert --ca-dir DIR --id DEVICE_ID --out PREFIX [--key FILE]\n"
"                    [--user NAME [--group G]...] [--days N]\n"
"                    [--not-before DATE | --expired]\n"
"                    [--store DIR [--owner USER] [--practice P] [--managed]]\n";

static const char help[] =
"\n"
"TEST HELPER ONLY: not installed, not for production. Devices get their\n"
"certificates through enrolment (mwg enrol), people through mwg login.\n"
"\n"
"Makes a new EC P-256 key (or uses --key FILE, an unencrypted PEM key)\n"
"and a certificate for it, signed with DIR/issuing.pem and\n"
"DIR/issuing.key, and writes PREFIX.pem and, for a new key, PREFIX.key\n"
"(0600), replacing any that exist.\n"
"\n"
"Without --user it is a device certificate for DEVICE_ID, valid for N\n"
"days (default 90, at most 3650). With --user NAME it is a session\n"
"certificate for that person on DEVICE_ID instead, carrying each --group\n"
"(up to 64) in the groups extension, valid for 12 hours unless --days is\n"
"given. Either starts 5 minutes ago, or at --not-before DATE\n"
"(\"2026-11-25\" or \"2026-11-25T10:00:00Z\"); --expired makes it valid\n"
"from 10 days ago until 1 day ago.\n"
"\n"
"--store DIR also adds the device to the state store in DIR (created if\n"
"need be): its key fingerprint, the serial of the certificate written,\n"
"enrolled for --owner (default the --user, else alice) at practice\n"
"--practice (default K84001), managed if --managed. A device id or key\n"
"already in the store is an error.\n"
"\n"
"Exit status: 0 written (nothing printed), 1 failed, 2 bad usage.\n";

struct testcert_opts {
	const char	*ca_dir;
	const char	*id;
	const char	*out;
	const char	*key_path;
	const char	*user;
	const char	*groups[CERTS_GROUPS_MAX];
	size_t		 ngroups;
	long		 days;		/* 0: the kind's default */
	time_t		 not_before;	/* 0: now less SKEW */
	int		 is_expired;
	const char	*store_dir;
	const char	*owner;
	const char	*practice;
	int		 is_managed;
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

/* Options that take a value; 0 or 2 (bad usage, reported). */
static int
set_opt(struct testcert_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case 'c': o->ca_dir = arg; break;
	case 'i': o->id = arg; break;
	case 'o': o->out = arg; break;
	case 'k': o->key_path = arg; break;
	case 'u': o->user = arg; break;
	case 's': o->store_dir = arg; break;
	case 'w': o->owner = arg; break;
	case 'p': o->practice = arg; break;
	case 'g':
		if (o->ngroups == CERTS_GROUPS_MAX)
			return bad_usage("at most 64 --group options", "");
		if (certs_group_valid(arg) == -1)
			return bad_usage("not a valid group name: ", arg);
		o->groups[o->ngroups++] = arg;
		break;
	case 'd':
		if (parse_days(arg, &o->days) == -1)
			return bad_usage("--days must be 1..3650: ", arg);
		break;
	case 'n':
		if (audit_parse_time(arg, &o->not_before) == -1 ||
		    o->not_before <= 0)
			return bad_usage("--not-before is not a date: ", arg);
		break;
	}
	return 0;
}

/* What parse_args checks once every option is read. */
static int
check_opts(struct testcert_opts *o)
{
	if (o->ca_dir == NULL || o->id == NULL || o->out == NULL)
		return bad_usage("--ca-dir, --id and --out are required", "");
	if (certs_device_id_valid(o->id) == -1)
		return bad_usage("device id must be [a-z0-9-], 1..63 chars, "
		    "not starting with '-': ", o->id);
	if (o->user != NULL && certs_user_valid(o->user) == -1)
		return bad_usage("not a valid user name: ", o->user);
	if (o->user == NULL && o->ngroups > 0)
		return bad_usage("--group needs --user", "");
	if (o->is_expired && o->not_before != 0)
		return bad_usage("--expired and --not-before exclude each "
		    "other", "");
	if (o->store_dir == NULL && (o->owner || o->practice ||
	    o->is_managed))
		return bad_usage("--owner, --practice and --managed need "
		    "--store", "");
	if (o->owner == NULL)
		o->owner = o->user != NULL ? o->user : DEFAULT_OWNER;
	if (o->practice == NULL)
		o->practice = DEFAULT_PRACTICE;
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
		{ "key",	required_argument,	NULL, 'k' },
		{ "user",	required_argument,	NULL, 'u' },
		{ "group",	required_argument,	NULL, 'g' },
		{ "days",	required_argument,	NULL, 'd' },
		{ "not-before",	required_argument,	NULL, 'n' },
		{ "expired",	no_argument,		NULL, 'e' },
		{ "store",	required_argument,	NULL, 's' },
		{ "owner",	required_argument,	NULL, 'w' },
		{ "practice",	required_argument,	NULL, 'p' },
		{ "managed",	no_argument,		NULL, 'm' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	int ch, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			o->is_expired = 1;
			break;
		case 'm':
			o->is_managed = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return 1;
		case ':':
			return bad_usage("missing argument for ",
			    argv[optind - 1]);
		case '?':
			return bad_usage("unknown option ", argv[optind - 1]);
		default:
			if ((rc = set_opt(o, ch, optarg)) != 0)
				return rc;
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument ", argv[optind]);
	return check_opts(o);
}

/* The certificate's validity from the options. */
static void
validity(const struct testcert_opts *o, time_t *nb, time_t *na)
{
	time_t now = time(NULL), life;

	if (o->is_expired) {
		*nb = now - 10 * DAY;
		*na = now - DAY;
		return;
	}
	if (o->days != 0)
		life = (time_t)o->days * DAY;
	else
		life = o->user != NULL ? CERTS_SESSION_HOURS * HOUR :
		    (time_t)CERTS_DEVICE_DAYS * DAY;
	*nb = o->not_before != 0 ? o->not_before : now - SKEW;
	*na = *nb + life;
}

/*
 * Root works on a store that belongs to mwgd's user as that user, as mwgd
 * does: the store refuses files and a directory owned by anyone else.
 */
static void
as_store_owner(const char *dir, int become)
{
	static int changed;
	struct stat sb;

	if (!become) {
		if (changed && (seteuid(0) == -1 || setegid(0) == -1))
			fprintf(stderr, "mwg-testcert: cannot become root "
			    "again\n");
		return;
	}
	if (geteuid() != 0 || stat(dir, &sb) == -1 || sb.st_uid == 0)
		return;
	changed = 1;
	if (setegid(sb.st_gid) == -1 || seteuid(sb.st_uid) == -1)
		fprintf(stderr, "mwg-testcert: cannot act as uid %u\n",
		    (unsigned)sb.st_uid);
}

/* Adds the device to the state store in o->store_dir. 0 or -1. */
static int
register_device(const struct testcert_opts *o, EVP_PKEY *key, X509 *x,
    char *err, size_t errlen)
{
	struct store_device d = { .is_managed = o->is_managed };
	struct certs_identity id;
	struct store *st;
	int rc;

	if (certs_identity(x, &id) == -1 ||
	    certs_key_fingerprint(key, d.key_fpr, sizeof(d.key_fpr)) == -1) {
		snprintf(err, errlen, "cannot read back the certificate");
		return -1;
	}
	snprintf(d.id, sizeof(d.id), "%s", o->id);
	snprintf(d.user, sizeof(d.user), "%s", o->owner);
	snprintf(d.practice, sizeof(d.practice), "%s", o->practice);
	snprintf(d.cert_serial, sizeof(d.cert_serial), "%s", id.serial);
	d.enrolled_at = time(NULL);
	d.expires_at = id.not_after;
	as_store_owner(o->store_dir, 1);
	if ((st = store_open(o->store_dir, err, errlen)) == NULL) {
		as_store_owner(o->store_dir, 0);
		return -1;
	}
	rc = store_device_add(st, &d, err, errlen);
	store_close(st);
	as_store_owner(o->store_dir, 0);
	return rc == 0 ? 0 : -1;	/* 1: the reason names the clash */
}

static EVP_PKEY *
get_key(const struct testcert_opts *o, char *err, size_t errlen)
{
	EVP_PKEY *key;

	if (o->key_path != NULL)
		return certs_read_key(o->key_path, err, errlen);
	if ((key = certs_new_key()) == NULL)
		snprintf(err, errlen, "cannot generate a key");
	return key;
}

static X509 *
make_cert(const struct testcert_opts *o, struct certs_issuer *ca,
    EVP_PKEY *key, char *err, size_t errlen)
{
	time_t nb, na;

	validity(o, &nb, &na);
	if (o->user != NULL)
		return certs_issue_session(ca, key, o->user, o->id, o->groups,
		    o->ngroups, nb, na, err, errlen);
	return certs_issue_device(ca, key, o->id, nb, na, err, errlen);
}

static int
issue(const struct testcert_opts *o, char *err, size_t errlen)
{
	char cert_path[PATH_MAX], key_path[PATH_MAX];
	struct certs_issuer *ca = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int rc = -1;

	snprintf(cert_path, sizeof(cert_path), "%s/%s", o->ca_dir,
	    CERTS_ISSUING_CERT);
	snprintf(key_path, sizeof(key_path), "%s/%s", o->ca_dir,
	    CERTS_ISSUING_KEY);
	if ((ca = certs_issuer_load(cert_path, key_path, err, errlen)) == NULL ||
	    (key = get_key(o, err, errlen)) == NULL ||
	    (x = make_cert(o, ca, key, err, errlen)) == NULL)
		goto out;
	snprintf(key_path, sizeof(key_path), "%s.key", o->out);
	snprintf(cert_path, sizeof(cert_path), "%s.pem", o->out);
	/* The store first: a clash there leaves no files behind. */
	if (o->store_dir != NULL &&
	    register_device(o, key, x, err, errlen) == -1)
		goto out;
	if ((o->key_path != NULL ||
	    certs_write_key(key_path, key, 1, err, errlen) == 0) &&
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
