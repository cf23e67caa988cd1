/*
 * The issuing CA as mwgd uses it: its certificate and key loaded once and
 * checked to match, then used to sign device certificates whose subject is
 * set here from the enrolment record, never copied from a request.
 */
#include "certs/certs.h"
#include "certs/certs_local.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/xmalloc.h"

#define DEVICE_URI_PREFIX	"urn:mwg:device:"

struct certs_issuer {
	X509		*cert;
	EVP_PKEY	*key;
};

/* Client-only: a device certificate can never serve as a gateway. */
static const struct certs_ext device_exts[] = {
	{ NID_basic_constraints,	"critical,CA:FALSE" },
	{ NID_key_usage,		"critical,digitalSignature" },
	{ NID_ext_key_usage,		"clientAuth" },
	{ NID_subject_key_identifier,	"hash" },
	{ NID_authority_key_identifier,	"keyid:always" },
};

struct certs_issuer *
certs_issuer_load(const char *cert_path, const char *key_path, char *err,
    size_t errlen)
{
	struct certs_issuer *ca;
	X509 *cert;
	EVP_PKEY *key;

	if ((cert = certs_read_cert(cert_path, err, errlen)) == NULL)
		return NULL;
	if ((key = certs_read_key(key_path, err, errlen)) == NULL) {
		X509_free(cert);
		return NULL;
	}
	if (X509_check_private_key(cert, key) != 1) {
		certs_errf_ssl(err, errlen, "%s does not match %s", key_path,
		    cert_path);
		goto fail;
	}
	if (X509_check_ca(cert) == 0) {
		certs_errf(err, errlen, "%s is not a CA certificate",
		    cert_path);
		goto fail;
	}
	ca = xcalloc(1, sizeof(*ca));
	ca->cert = cert;
	ca->key = key;
	return ca;
fail:
	EVP_PKEY_free(key);
	X509_free(cert);
	return NULL;
}

void
certs_issuer_free(struct certs_issuer *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
}

X509 *
certs_issuer_cert(const struct certs_issuer *ca)
{
	return ca->cert;
}

EVP_PKEY *
certs_issuer_key(const struct certs_issuer *ca)
{
	return ca->key;
}

static int
add_device_san(X509 *x, const char *device_id, char *err, size_t errlen)
{
	GENERAL_NAMES *names;
	char uri[sizeof(DEVICE_URI_PREFIX) + CERTS_ID_MAX];
	int n, rc = -1;

	n = snprintf(uri, sizeof(uri), DEVICE_URI_PREFIX "%s", device_id);
	if (n < 0 || (size_t)n >= sizeof(uri))
		return -1;
	if ((names = sk_GENERAL_NAME_new_null()) == NULL ||
	    certs_san_push(names, GEN_URI, uri, (size_t)n) == -1)
		certs_errf_ssl(err, errlen, "cannot build subjectAltName");
	else
		rc = certs_build_san(x, names, err, errlen);
	GENERAL_NAMES_free(names);
	return rc;
}

X509 *
certs_issue_device(struct certs_issuer *ca, EVP_PKEY *pub,
    const char *device_id, time_t not_before, time_t not_after, char *err,
    size_t errlen)
{
	X509 *x;

	if (ca == NULL || pub == NULL) {
		certs_errf(err, errlen, "no issuer or no public key");
		return NULL;
	}
	/* Checked here too: the id becomes a CN, a URI and a log field. */
	if (device_id == NULL || certs_device_id_valid(device_id) == -1) {
		certs_errf(err, errlen, "invalid device id");
		return NULL;
	}
	if (not_after <= not_before) {
		certs_errf(err, errlen, "validity ends before it starts");
		return NULL;
	}
	x = certs_build_new(pub, device_id, not_before, not_after, err,
	    errlen);
	if (x == NULL)
		return NULL;
	if (certs_build_exts(x, ca->cert, device_exts,
	    sizeof(device_exts) / sizeof(device_exts[0]), err, errlen) == -1 ||
	    add_device_san(x, device_id, err, errlen) == -1 ||
	    certs_build_sign(x, ca->cert, ca->key, err, errlen) == -1) {
		X509_free(x);
		return NULL;
	}
	return x;
}
