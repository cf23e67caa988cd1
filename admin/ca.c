/*
 * mwgctl ca init: creates the gateway's CA files offline, through certs/.
 * Prints what it wrote and the root fingerprint an operator gives to
 * clients, so that `mwg enrol --ca` can be checked by eye.
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
#define CA_HOSTS_MAX	64	/* SANs on the server certificate */

static const char ca_usage_line[] =
    "usage: mwgctl ca init --dir DIR --host NAME [--host NAME ...]\n";

static const char ca_help[] =
"NAME\n"
"     mwgctl ca init - create the gateway's certificate authority\n"
"\n"
"SYNOPSIS\n"
"     mwgctl ca init --dir DIR --host NAME [--host NAME ...]\n"
"\n"
"DESCRIPTION\n"
"     Creates DIR (mode 0700) if it does not exist and writes into it a new\n"
"     root CA, an issuing CA signed by the root, and the gateway's server\n"
"     certificate signed by the root. Keys are EC P-256; signatures use\n"
"     SHA-256; serials are random.\n"
"\n"
"     mwgd signs device and session certificates with the issuing CA and\n"
"     trusts only it for clients. The server certificate is signed by the\n"
"     root instead, so it can never pass as a client certificate.\n"
"\n"
"     If any of the six files already exists in DIR, nothing is written.\n"
"\n"
"     --dir DIR\n"
"             Directory to write to. Its parent must exist.\n"
"     --host NAME\n"
"             A DNS name or IP address clients use to reach the gateway;\n"
"             repeat for each (at most 64). Each becomes a subjectAltName\n"
"             of the server certificate; the first is also its CN.\n"
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
"     stderr; 2 bad usage.\n";

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

static int
ca_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir",	required_argument,	NULL, 'd' },
		{ "host",	required_argument,	NULL, 'H' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *dir = NULL, *hosts[CA_HOSTS_MAX];
	char err[CERTS_ERR_MAX];
	size_t nhosts = 0;
	int ch;

	optind = 0;	/* glibc: full reset, argv is not the one main saw */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (dir != NULL)
				return admin_usage_error(VERB, ca_usage_line,
				    "--dir given twice");
			dir = optarg;
			break;
		case 'H':
			if (nhosts == CA_HOSTS_MAX)
				return admin_usage_error(VERB, ca_usage_line,
				    "too many --host");
			hosts[nhosts++] = optarg;
			break;
		case 'h':
			fputs(ca_help, stdout);
			return ADMIN_EXIT_OK;
		default:
			return admin_bad_option(VERB, ca_usage_line, ch, argv);
		}
	}
	if (optind < argc)
		return admin_usage_error(VERB, ca_usage_line, "unexpected "
		    "argument %s", argv[optind]);
	if (dir == NULL || nhosts == 0)
		return admin_usage_error(VERB, ca_usage_line, "--dir and "
		    "--host are required");
	if (certs_ca_init(dir, hosts, nhosts, err, sizeof(err)) == -1) {
		fprintf(stderr, "mwgctl: ca init: %s\n", err);
		return ADMIN_EXIT_FAIL;
	}
	return ca_report(dir);
}

int
admin_ca(int argc, char **argv)
{
	static const struct admin_cmd cmds[] = {
		{ "init",	ca_init },
	};

	return admin_subcommand("ca", cmds, sizeof(cmds) / sizeof(cmds[0]),
	    ca_help, ca_usage_line, argc, argv);
}
