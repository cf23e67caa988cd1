/*
 * mwgctl ca init | server-cert: creates the gateway's CA files offline, or
 * renews the server certificate among them, through certs/. Prints what it
 * wrote and the fingerprint to check by eye (the root's for `mwg enrol
 * --ca`, the new server certificate's for a browser or s_client).
 */
#include "admin/admin.h"

#include <sys/stat.h>

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certs.h"

#define VERB		"ca init"
#define VERB_RENEW	"ca server-cert"
#define CA_HOSTS_MAX	64	/* SANs on the server certificate */

static const char ca_usage_line[] =
    "usage: mwgctl ca init --dir DIR --host NAME [--host NAME ...]\n"
    "       mwgctl ca server-cert --dir DIR --host NAME [--host NAME ...] "
    "[--root-key FILE]\n";

static const char ca_help[] =
"NAME\n"
"     mwgctl ca - create the gateway's certificate authority, renew its\n"
"     server certificate\n"
"\n"
"SYNOPSIS\n"
"     mwgctl ca init --dir DIR --host NAME [--host NAME ...]\n"
"     mwgctl ca server-cert --dir DIR --host NAME [--host NAME ...]\n"
"                       [--root-key FILE]\n"
"\n"
"DESCRIPTION\n"
"     init    Creates DIR (mode 0700) if it does not exist and writes into\n"
"             it a new root CA, an issuing CA signed by the root, and the\n"
"             gateway's server certificate signed by the root. Keys are EC\n"
"             P-256; signatures use SHA-256; serials are random.\n"
"\n"
"             mwgd signs device and session certificates with the issuing\n"
"             CA and trusts only it for clients. The server certificate is\n"
"             signed by the root instead, so it can never pass as a client\n"
"             certificate.\n"
"\n"
"             If any of the six files already exists in DIR, nothing is\n"
"             written.\n"
"\n"
"     server-cert\n"
"             Renews the server certificate (397 days) before it expires,\n"
"             or for a new set of names: a new key and certificate for the\n"
"             --host names, signed by the root CA in DIR (root.pem and\n"
"             root.key, or --root-key), put in place of DIR/server.key and\n"
"             DIR/server.pem. Each new file is written beside the old one\n"
"             with the old one's mode, owner and group (so a server.key of\n"
"             root:mwg 0640 stays readable by mwgd), synced, and renamed\n"
"             over it: a reader sees the old file or the new, never half.\n"
"             Nothing changes if any step fails. Then run `mwgctl reload`:\n"
"             new connections get the new certificate; tunnels already\n"
"             open keep flowing. The issuing CA, the root and clients'\n"
"             trust are unchanged. mwgd records the reload, with the old\n"
"             and new certificates' fingerprints, with your OS user.\n"
"\n"
"OPTIONS\n"
"     --dir DIR\n"
"             Directory to write to. Its parent must exist.\n"
"     --host NAME\n"
"             A DNS name or IP address clients use to reach the gateway;\n"
"             repeat for each (at most 64). Each becomes a subjectAltName\n"
"             of the server certificate; the first is also its CN.\n"
"     --root-key FILE\n"
"             server-cert: the root CA key, if it was moved out of DIR\n"
"             (e.g. kept offline and brought back for the renewal).\n"
"     --help  Print this help and exit.\n"
"\n"
"FILES\n"
"     DIR/root.key     0600  root CA key; move it offline after init\n"
"     DIR/root.pem     0644  root CA certificate, 10 years; clients trust it\n"
"     DIR/issuing.key  0600  issuing CA key, read by mwgd\n"
"     DIR/issuing.pem  0644  issuing CA certificate, 5 years\n"
"     DIR/server.key   0600  server key, read by mwgd\n"
"     DIR/server.pem   0644  server certificate, 397 days\n"
"\n"
"EXIT STATUS\n"
"     0 the files were written; 1 refused or failed, with the reason on\n"
"     stderr; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwgctl ca init --dir /etc/mwg/ca --host gw.example.org\n"
"     mwgctl ca server-cert --dir /etc/mwg/ca --host gw.example.org \\\n"
"         --root-key /media/offline/root.key && mwgctl reload\n";

static const struct {
	const char	*name;
	const char	*what;
} ca_files[] = {
	{ CERTS_ROOT_KEY,	"root CA key (keep offline)" },
	{ CERTS_ROOT_CERT,	"root CA certificate" },
	{ CERTS_ISSUING_KEY,	"issuing CA key" },
	{ CERTS_ISSUING_CERT,	"issuing CA certificate" },
	{ CERTS_SERVER_KEY,	"server key" },
	{ CERTS_SERVER_CERT,	"server certificate" },
};

/* Lists the files with their real modes, then the root fingerprint. */
static int
ca_report(const char *dir)
{
	char path[PATH_MAX], fpr[CERTS_FPR_MAX], err[CERTS_ERR_MAX];
	struct stat st;
	X509 *root;
	size_t i;

	for (i = 0; i < sizeof(ca_files) / sizeof(ca_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ca_files[i].name);
		if (stat(path, &st) == -1)
			st.st_mode = 0;
		printf("wrote %04o %-*s %s\n",
		    (unsigned int)(st.st_mode & 07777),
		    (int)(strlen(dir) + sizeof(CERTS_ISSUING_CERT)), path,
		    ca_files[i].what);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, CERTS_ROOT_CERT);
	if ((root = certs_read_cert(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mwgctl: ca init: %s\n", err);
		return ADMIN_EXIT_FAIL;
	}
	if (certs_fingerprint(root, fpr, sizeof(fpr)) == -1) {
		fprintf(stderr, "mwgctl: ca init: cannot fingerprint %s\n",
		    path);
		X509_free(root);
		return ADMIN_EXIT_FAIL;
	}
	printf("root CA SHA-256 fingerprint: %s\n", fpr);
	X509_free(root);
	return ADMIN_EXIT_OK;
}

/* What ca init and ca server-cert were asked. */
struct ca_args {
	const char *dir;
	const char *root_key;
	const char *hosts[CA_HOSTS_MAX];
	size_t nhosts;
};

/* -1 to go on, else the exit status; --root-key only for server-cert. */
static int
ca_parse(const char *verb, int argc, char **argv, struct ca_args *a)
{
	static const struct option longopts[] = {
		{ "dir",	required_argument,	NULL, 'd' },
		{ "host",	required_argument,	NULL, 'H' },
		{ "root-key",	required_argument,	NULL, 'k' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	int ch;

	optind = 0;	/* glibc: full reset, argv is not the one main saw */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (a->dir != NULL)
				return admin_usage_error(verb, ca_usage_line,
				    "--dir given twice");
			a->dir = optarg;
			break;
		case 'H':
			if (a->nhosts == CA_HOSTS_MAX)
				return admin_usage_error(verb, ca_usage_line,
				    "too many --host");
			a->hosts[a->nhosts++] = optarg;
			break;
		case 'k':
			if (strcmp(verb, VERB_RENEW) != 0)
				return admin_usage_error(verb, ca_usage_line,
				    "--root-key is an option of %s only",
				    VERB_RENEW);
			a->root_key = optarg;
			break;
		case 'h':
			fputs(ca_help, stdout);
			return ADMIN_EXIT_OK;
		default:
			return admin_bad_option(verb, ca_usage_line, ch, argv);
		}
	}
	if (optind < argc)
		return admin_usage_error(verb, ca_usage_line, "unexpected "
		    "argument %s", argv[optind]);
	if (a->dir == NULL || a->nhosts == 0)
		return admin_usage_error(verb, ca_usage_line, "--dir and "
		    "--host are required");
	return -1;
}

static int
ca_init(int argc, char **argv)
{
	struct ca_args a = { 0 };
	char err[CERTS_ERR_MAX];
	int rc;

	if ((rc = ca_parse(VERB, argc, argv, &a)) != -1)
		return rc;
	if (certs_ca_init(a.dir, a.hosts, a.nhosts, err, sizeof(err)) == -1) {
		fprintf(stderr, "mwgctl: ca init: %s\n", err);
		return ADMIN_EXIT_FAIL;
	}
	return ca_report(a.dir);
}

/* The two files with their modes, owners, expiry and fingerprint. */
static int
ca_renew_report(const char *dir)
{
	char path[PATH_MAX], fpr[CERTS_FPR_MAX], err[CERTS_ERR_MAX];
	char when[ADMIN_TIME_MAX];
	const char *names[2] = { CERTS_SERVER_KEY, CERTS_SERVER_CERT };
	struct stat st;
	struct tm tm;
	X509 *x;

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == -1)
			memset(&st, 0, sizeof(st));
		printf("wrote %04o %u:%u %s\n", (unsigned int)(st.st_mode &
		    07777), (unsigned int)st.st_uid, (unsigned int)st.st_gid,
		    path);
	}
	if ((x = certs_read_cert(path, err, sizeof(err))) == NULL ||
	    certs_fingerprint(x, fpr, sizeof(fpr)) == -1 ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		fprintf(stderr, "mwgctl: %s: cannot read back %s\n",
		    VERB_RENEW, path);
		X509_free(x);
		return ADMIN_EXIT_FAIL;
	}
	printf("server certificate SHA-256 fingerprint: %s\n", fpr);
	printf("expires %s; run mwgctl reload to serve it\n",
	    admin_time_text(timegm(&tm), when, sizeof(when)));
	X509_free(x);
	return ADMIN_EXIT_OK;
}

static int
ca_server_cert(int argc, char **argv)
{
	struct ca_args a = { 0 };
	char err[CERTS_ERR_MAX];
	int rc;

	if ((rc = ca_parse(VERB_RENEW, argc, argv, &a)) != -1)
		return rc;
	if (certs_server_renew(a.dir, a.root_key, a.hosts, a.nhosts, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "mwgctl: %s: %s\n", VERB_RENEW, err);
		return ADMIN_EXIT_FAIL;
	}
	return ca_renew_report(a.dir);
}

int
admin_ca(int argc, char **argv)
{
	static const struct admin_cmd cmds[] = {
		{ "init",	ca_init },
		{ "server-cert",	ca_server_cert },
	};

	return admin_subcommand("ca", cmds, sizeof(cmds) / sizeof(cmds[0]),
	    ca_help, ca_usage_line, argc, argv);
}
