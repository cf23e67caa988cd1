/*
 * mwg enrol: make the device's key here, have the gateway certify it over
 * EST (RFC 7030) with a one-time enrolment code, check what came back, and
 * only then write the state directory. A failed enrolment leaves any
 * earlier one as it was.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "certs/certs.h"
#include "client/gw.h"
#include "common/xmalloc.h"

#define VERB		"enrol"
#define EST_ENROLL	"/.well-known/est/simpleenroll"
#define CODE_MAX	256
#define FPR_HEX		64	/* a SHA-256 fingerprint in hex */

static const char enrol_usage[] =
    "usage: mwg enrol --gateway HOST:PORT --ca CA.pem --code ID:SECRET\n"
    "                 [--ca-fingerprint SHA256] [--force] [--dir DIR]\n";

static const char enrol_help[] =
"NAME\n"
"     mwg enrol - enrol this device with the gateway\n"
"\n"
"SYNOPSIS\n"
"     mwg enrol --gateway HOST:PORT --ca CA.pem --code ID:SECRET\n"
"               [--ca-fingerprint SHA256] [--force] [--dir DIR]\n"
"\n"
"DESCRIPTION\n"
"     Makes a new EC P-256 key on this device, asks the gateway to certify\n"
"     it (EST, RFC 7030) with the one-time enrolment code IT gave you, and\n"
"     stores the device certificate. The key never leaves the device.\n"
"\n"
"     The gateway is trusted only if its certificate chains to CA.pem and\n"
"     names HOST (a DNS name or IP address). mwg checks that the certificate\n"
"     it gets back is for the new key, chains to the gateway's CA\n"
"     certificates and names an mwg device before it writes anything.\n"
"     An existing enrolment is never replaced without --force.\n"
"\n"
"     --gateway HOST:PORT\n"
"             The gateway's address, e.g. gw.example.nhs.uk:443 or\n"
"             [2001:db8::1]:443.\n"
"     --ca CA.pem\n"
"             The CA certificate(s) the gateway's server certificate\n"
"             chains to (from IT; `mwgctl ca init` prints its SHA-256\n"
"             fingerprint to compare). Copied to DIR/ca.pem. Check it\n"
"             before it is used, with --ca-fingerprint or with\n"
"             openssl x509 -in CA.pem -noout -fingerprint -sha256.\n"
"     --ca-fingerprint SHA256\n"
"             The root certificate's SHA-256 fingerprint as IT gave it\n"
"             (hex, colons and case as you like). mwg refuses to go on,\n"
"             before the code is sent anywhere, unless a certificate in\n"
"             CA.pem has it.\n"
"     --code ID:SECRET\n"
"             The enrolment code, usable once and for a short time. mwg\n"
"             blanks it in its own command line as soon as it has read it.\n"
"     --force\n"
"             Replace an existing enrolment (and forget its session).\n"
"     --dir DIR\n"
"             State directory (default $MWG_DIR, else ~/.config/mwg).\n"
"     --help  Print this help and exit.\n"
"\n"
"FILES\n"
"     DIR/             0700, created if missing\n"
"     DIR/gateway      HOST:PORT, one line\n"
"     DIR/ca.pem       the CA given with --ca\n"
"     DIR/cacerts.pem  the gateway's issuing CA certificates (EST /cacerts)\n"
"     DIR/device.key   0600, this device's private key\n"
"     DIR/device.pem   the device certificate (renewed by mwg when it is in\n"
"                      the last third of its life)\n"
"     DIR/session.pem, DIR/session.json\n"
"                      written by mwg login\n"
"     DIR/targets.json the systems the gateway last said you may reach\n"
"                      (mwg list, open, proxy)\n"
"     DIR/proxy        the address mwg proxy listens on\n"
"\n"
"EXIT STATUS\n"
"     On success mwg prints the root certificate's fingerprint (what the\n"
"     gateway was trusted by) and the new device certificate's, each\n"
"     labelled: the second is this device's, for IT's records.\n"
"\n"
"     0 enrolled; 1 refused or failed (one line on stderr: the gateway's\n"
"     reason and HTTP status, or what is wrong locally); 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwg enrol --gateway gw.example.nhs.uk:443 --ca gw-root.pem \\\n"
"         --code q7k2m9:Tz4XoW1b8vYp\n";

static int enrol_fpr_norm(const char *s, char *out);

struct enrol_opts {
	struct client_hostport	 gw;
	const char		*ca;
	const char		*ca_fpr;	/* --ca-fingerprint, or NULL */
	const char		*dir;
	char			 id[CODE_MAX];
	char			 secret[CODE_MAX];
	int			 has_code;
	int			 is_forced;
};

/* Takes the code, then blanks it in argv so ps(1) shows it no longer. */
static int
enrol_take_code(char *arg, struct enrol_opts *o)
{
	char err[CLIENT_ERR_MAX];
	int rc;

	rc = client_parse_code(arg, o->id, sizeof(o->id), o->secret,
	    sizeof(o->secret), err, sizeof(err));
	OPENSSL_cleanse(arg, strlen(arg));
	if (rc == -1)
		return client_usage(VERB, enrol_usage, "%s", err);
	o->has_code = 1;
	return 0;
}

static int
enrol_options(int argc, char **argv, struct enrol_opts *o)
{
	static const struct option longopts[] = {
		{ "gateway",	required_argument,	NULL, 'g' },
		{ "ca",		required_argument,	NULL, 'c' },
		{ "ca-fingerprint", required_argument,	NULL, 'p' },
		{ "code",	required_argument,	NULL, 'k' },
		{ "force",	no_argument,		NULL, 'f' },
		{ "dir",	required_argument,	NULL, 'd' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	char err[CLIENT_ERR_MAX], want[FPR_HEX + 1];
	int ch, has_gw = 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'g':
			if (client_parse_hostport(optarg, &o->gw, err,
			    sizeof(err)) == -1)
				return client_usage(VERB, enrol_usage, "%s",
				    err);
			has_gw = 1;
			break;
		case 'c':
			o->ca = optarg;
			break;
		case 'p':
			o->ca_fpr = optarg;
			break;
		case 'k':
			if (enrol_take_code(optarg, o) != 0)
				return CLIENT_EXIT_USAGE;
			break;
		case 'f':
			o->is_forced = 1;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'h':
			fputs(enrol_help, stdout);
			return -1;
		default:
			return client_bad_option(VERB, enrol_usage, ch, argv);
		}
	}
	if (client_args_left(VERB, enrol_usage, argc, argv) != 0)
		return CLIENT_EXIT_USAGE;
	if (!has_gw || o->ca == NULL || !o->has_code)
		return client_usage(VERB, enrol_usage, "--gateway, --ca and "
		    "--code are all needed");
	if (o->ca_fpr != NULL && enrol_fpr_norm(o->ca_fpr, want) == -1)
		return client_usage(VERB, enrol_usage, "--ca-fingerprint needs "
		    "a SHA-256 fingerprint (64 hex digits, colons allowed)");
	return 0;
}

/* "Authorization: Basic base64(ID:SECRET)" (RFC 7617); caller wipes. */
static char *
enrol_auth_header(const struct enrol_opts *o, size_t *lenp)
{
	size_t plain_len = strlen(o->id) + 1 + strlen(o->secret);
	size_t b64_len = 4 * ((plain_len + 2) / 3);
	char *plain = xmalloc(plain_len + 1), *hdr;
	static const char pre[] = "Authorization: Basic ";

	snprintf(plain, plain_len + 1, "%s:%s", o->id, o->secret);
	*lenp = sizeof(pre) - 1 + b64_len + 3;
	hdr = xmalloc(*lenp);
	memcpy(hdr, pre, sizeof(pre) - 1);
	EVP_EncodeBlock((unsigned char *)hdr + sizeof(pre) - 1,
	    (const unsigned char *)plain, (int)plain_len);
	memcpy(hdr + sizeof(pre) - 1 + b64_len, "\r\n", 3);
	freezero_mwg(plain, plain_len + 1);
	return hdr;
}

/*
 * A fingerprint as a person copies it (colons or not, any case, even
 * openssl's "sha256 Fingerprint=" in front) into 64 lower-case hex
 * digits. 0, or -1 if it is not a SHA-256 fingerprint.
 */
static int
enrol_fpr_norm(const char *s, char *out)
{
	const char *eq = strchr(s, '=');
	size_t n = 0;

	for (s = eq != NULL ? eq + 1 : s; *s != '\0'; s++) {
		if (*s == ':' || *s == ' ')
			continue;
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		    (*s >= 'A' && *s <= 'F')) || n == FPR_HEX)
			return -1;
		out[n++] = (char)(*s >= 'A' && *s <= 'F' ? *s + 32 : *s);
	}
	out[n] = '\0';
	return n == FPR_HEX ? 0 : -1;
}

/*
 * The root the gateway will be trusted by, said before the code is sent:
 * its fingerprint printed with a label, and with --ca-fingerprint one of
 * the certificates must have the one IT gave. 0 or -1 (said).
 */
static int
enrol_check_ca(const struct enrol_opts *o, STACK_OF(X509) *sk)
{
	char fpr[CERTS_FPR_MAX], want[FPR_HEX + 1], got[FPR_HEX + 1];
	int matched = 0;

	if (o->ca_fpr != NULL && enrol_fpr_norm(o->ca_fpr, want) == -1)
		return -1;	/* enrol_options said so */
	for (int i = 0; i < sk_X509_num(sk); i++) {
		if (certs_fingerprint(sk_X509_value(sk, i), fpr,
		    sizeof(fpr)) == -1)
			continue;
		printf("root certificate (%s) SHA-256 fingerprint: %s\n",
		    o->ca, fpr);
		if (o->ca_fpr != NULL && enrol_fpr_norm(fpr, got) == 0 &&
		    strcmp(got, want) == 0)
			matched = 1;
	}
	fflush(stdout);
	if (o->ca_fpr == NULL || matched)
		return 0;
	client_fail(VERB, "%s does not have the SHA-256 fingerprint given "
	    "with --ca-fingerprint: do not use it; ask IT for the right "
	    "root.pem (nothing was sent)", o->ca);
	return -1;
}

/* The --ca file must hold at least one certificate: check before use. */
static char *
enrol_read_ca(const struct enrol_opts *o, size_t *lenp)
{
	char err[CLIENT_ERR_MAX], *text;
	STACK_OF(X509) *sk;
	int rc;

	if ((text = client_read_file(o->ca, lenp, err, sizeof(err))) == NULL) {
		client_fail(VERB, "%s", err);
		return NULL;
	}
	if ((sk = client_est_read_pem(text, *lenp, err, sizeof(err))) == NULL) {
		client_fail(VERB, "%s: %s", o->ca, err);
		free(text);
		return NULL;
	}
	rc = enrol_check_ca(o, sk);
	sk_X509_pop_free(sk, X509_free);
	if (rc == -1) {
		free(text);
		return NULL;
	}
	return text;
}

/* An enrolment that exists is replaced only when asked to. */
static int
enrol_check_existing(const struct client_state *st, int is_forced)
{
	struct certs_identity id;
	char path[PATH_MAX], err[CLIENT_ERR_MAX];
	X509 *cert;

	if (!client_state_has(st, STATE_DEVICE) || is_forced)
		return 0;
	memset(&id, 0, sizeof(id));
	client_state_path(st, STATE_DEVICE, path, sizeof(path));
	if ((cert = certs_read_cert(path, err, sizeof(err))) != NULL &&
	    certs_identity(cert, &id) == 0)
		client_fail(VERB, "already enrolled as device %s in %s (use "
		    "--force to replace it)", id.device_id, st->dir);
	else
		client_fail(VERB, "%s already exists (use --force to replace "
		    "it)", path);
	X509_free(cert);
	return -1;
}

/* The EST exchange: CA certificates, then our new key certified. */
static X509 *
enrol_exchange(const struct enrol_opts *o, EVP_PKEY *key,
    STACK_OF(X509) **cacerts)
{
	char err[CLIENT_ERR_MAX], *auth;
	struct client_tls *t;
	X509 *cert = NULL;
	size_t authlen;

	*cacerts = NULL;
	if ((t = client_tls_new(&o->gw, o->ca, NULL, NULL, err,
	    sizeof(err))) == NULL) {
		client_fail(VERB, "%s", err);
		return NULL;
	}
	if ((*cacerts = client_est_cacerts(t, VERB)) != NULL) {
		auth = enrol_auth_header(o, &authlen);
		cert = client_est_enroll(t, VERB, EST_ENROLL, auth, key,
		    *cacerts);
		freezero_mwg(auth, authlen);
	}
	client_tls_free(t);
	return cert;
}

/*
 * Writes the enrolment, device.pem last: its presence is what "enrolled"
 * means, so a write that fails part way leaves no half enrolment behind.
 */
static int
enrol_store(const struct client_state *st, const struct enrol_opts *o,
    const char *ca, size_t calen, STACK_OF(X509) *cacerts, EVP_PKEY *key,
    X509 *cert)
{
	char err[CLIENT_ERR_MAX], path[PATH_MAX], gw[CLIENT_HOST_MAX + 8];
	char *pem = NULL;
	size_t len;
	int rc = -1;

	client_format_hostport(&o->gw, gw, sizeof(gw) - 1);
	strcat(gw, "\n");
	if (client_state_create(st, err, sizeof(err)) == -1 ||
	    client_state_remove(st, STATE_DEVICE, err, sizeof(err)) == -1 ||
	    client_state_remove(st, STATE_SESSION, err, sizeof(err)) == -1 ||
	    client_state_remove(st, STATE_SESSION_JSON, err,
	    sizeof(err)) == -1 ||
	    client_state_write(st, STATE_GATEWAY, gw, strlen(gw), 0644, err,
	    sizeof(err)) == -1 ||
	    client_state_write(st, STATE_CA, ca, calen, 0644, err,
	    sizeof(err)) == -1 ||
	    (pem = client_est_pem(cacerts, &len, err, sizeof(err))) == NULL ||
	    client_state_write(st, STATE_CACERTS, pem, len, 0644, err,
	    sizeof(err)) == -1 ||
	    client_state_path(st, STATE_KEY, path, sizeof(path)) == -1 ||
	    certs_write_key(path, key, 1, err, sizeof(err)) == -1 ||
	    client_state_path(st, STATE_DEVICE, path, sizeof(path)) == -1 ||
	    certs_write_cert(path, cert, 1, err, sizeof(err)) == -1)
		client_fail(VERB, "%s", err);
	else
		rc = 0;
	free(pem);
	return rc;
}

static void
enrol_report(const struct client_state *st, const struct enrol_opts *o,
    X509 *cert)
{
	struct certs_identity id;
	char gw[CLIENT_HOST_MAX + 8], fpr[CERTS_FPR_MAX], when[64];
	time_t nb, na;

	memset(&id, 0, sizeof(id));
	certs_identity(cert, &id);
	client_format_hostport(&o->gw, gw, sizeof(gw));
	printf("enrolled this device as %s with the gateway %s\n",
	    id.device_id, gw);
	if (client_cert_times(cert, &nb, &na) == 0)
		printf("device certificate valid until %s\n",
		    client_format_time(na, when, sizeof(when)));
	if (certs_fingerprint(cert, fpr, sizeof(fpr)) == 0)
		printf("this device's certificate SHA-256 fingerprint (for "
		    "IT's records; not the root's): %s\n", fpr);
	printf("state in %s; next: mwg login --user NAME\n", st->dir);
}

int
client_enrol(int argc, char **argv)
{
	struct enrol_opts o;
	struct client_state st;
	STACK_OF(X509) *cacerts = NULL;
	char err[CLIENT_ERR_MAX], *ca = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	size_t calen;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = enrol_options(argc, argv, &o)) != 0)
		goto out;
	rc = CLIENT_EXIT_FAIL;
	if (client_state_resolve(o.dir, &st, err, sizeof(err)) == -1) {
		client_fail(VERB, "%s", err);
		goto out;
	}
	if (enrol_check_existing(&st, o.is_forced) == -1 ||
	    (ca = enrol_read_ca(&o, &calen)) == NULL)
		goto out;
	if ((key = certs_new_key()) == NULL) {
		client_fail(VERB, "cannot make a key");
		goto out;
	}
	if ((cert = enrol_exchange(&o, key, &cacerts)) != NULL &&
	    enrol_store(&st, &o, ca, calen, cacerts, key, cert) == 0) {
		enrol_report(&st, &o, cert);
		rc = CLIENT_EXIT_OK;
	}
out:
	OPENSSL_cleanse(&o, sizeof(o));
	X509_free(cert);
	EVP_PKEY_free(key);
	sk_X509_pop_free(cacerts, X509_free);
	free(ca);
	return rc == -1 ? CLIENT_EXIT_OK : rc;
}
