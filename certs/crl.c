/*
 * The certificate revocation list: revoked devices' certificates, signed
 * by the issuing CA that issued them, so any verifier that trusts that CA
 * (another gateway node, `openssl verify -crl_check`) can use it.
 */
#include "certs/certs.h"
#include "certs/certs_local.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/xmalloc.h"

#define SERIAL_HEX_MAX	40	/* RFC 5280 §4.1.2.2: at most 20 octets */

/* A positive serial from hex as certs_identity writes it; NULL if bad. */
static ASN1_INTEGER *
serial_from_hex(const char *hex)
{
	ASN1_INTEGER *ai;
	BIGNUM *bn = NULL;
	size_t len;

	if (hex == NULL || (len = strlen(hex)) == 0 || len > SERIAL_HEX_MAX ||
	    strspn(hex, "0123456789abcdefABCDEF") != len)
		return NULL;
	if (BN_hex2bn(&bn, hex) != (int)len || BN_is_zero(bn)) {
		BN_free(bn);
		return NULL;
	}
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

/* RFC 5280 §5.3.1: the reason code, an entry extension (0: left out). */
static int
add_reason(X509_REVOKED *rev, int reason)
{
	ASN1_ENUMERATED *e;
	int ok;

	if (reason == 0)
		return 1;
	if ((e = ASN1_ENUMERATED_new()) == NULL)
		return 0;
	ok = ASN1_ENUMERATED_set(e, reason) == 1 &&
	    X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, e, 0, 0) == 1;
	ASN1_ENUMERATED_free(e);
	return ok;
}

static int
add_revoked(X509_CRL *crl, const struct certs_revoked *r, size_t i,
    char *err, size_t errlen)
{
	X509_REVOKED *rev;
	ASN1_INTEGER *serial;
	ASN1_TIME *at = NULL;
	int rc = -1;

	if ((serial = serial_from_hex(r->serial)) == NULL) {
		certs_errf(err, errlen, "revoked entry %zu: serial is not 1..%d "
		    "hex digits", i + 1, SERIAL_HEX_MAX);
		return -1;
	}
	if ((rev = X509_REVOKED_new()) != NULL &&
	    (at = ASN1_TIME_set(NULL, r->revoked_at)) != NULL &&
	    X509_REVOKED_set_serialNumber(rev, serial) == 1 &&
	    X509_REVOKED_set_revocationDate(rev, at) == 1 &&
	    add_reason(rev, r->reason) &&
	    X509_CRL_add0_revoked(crl, rev) == 1) {
		rev = NULL;	/* the CRL owns it now */
		rc = 0;
	} else
		certs_errf_ssl(err, errlen, "revoked entry %zu: cannot add",
		    i + 1);
	X509_REVOKED_free(rev);
	ASN1_TIME_free(at);
	ASN1_INTEGER_free(serial);
	return rc;
}

/* RFC 5280 §5.2.1 and §5.2.3: a conforming CRL has both. */
static int
add_crl_exts(X509_CRL *crl, X509 *issuer, long number, char *err,
    size_t errlen)
{
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(issuer);
	AUTHORITY_KEYID *akid = NULL;
	ASN1_INTEGER *num;
	int rc = -1;

	if ((num = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set(num, number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
		goto out;
	if (skid != NULL) {
		if ((akid = AUTHORITY_KEYID_new()) == NULL ||
		    (akid->keyid = ASN1_OCTET_STRING_dup(skid)) == NULL ||
		    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier,
		    akid, 0, 0) != 1)
			goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		certs_errf_ssl(err, errlen, "cannot add CRL extensions");
	AUTHORITY_KEYID_free(akid);
	ASN1_INTEGER_free(num);
	return rc;
}

static X509_CRL *
crl_build(struct certs_issuer *ca, const struct certs_revoked *revoked,
    size_t n, time_t this_update, time_t next_update, long number, char *err,
    size_t errlen)
{
	X509 *issuer = certs_issuer_cert(ca);
	ASN1_TIME *last = NULL, *next = NULL;
	X509_CRL *crl;
	size_t i;

	if ((crl = X509_CRL_new()) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
	    (last = ASN1_TIME_set(NULL, this_update)) == NULL ||
	    (next = ASN1_TIME_set(NULL, next_update)) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, last) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, next) != 1) {
		certs_errf_ssl(err, errlen, "cannot build a CRL");
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (add_revoked(crl, &revoked[i], i, err, errlen) == -1)
			goto fail;
	if (add_crl_exts(crl, issuer, number, err, errlen) == -1)
		goto fail;
	if (X509_CRL_sort(crl) != 1 ||
	    X509_CRL_sign(crl, certs_issuer_key(ca), EVP_sha256()) <= 0) {
		certs_errf_ssl(err, errlen, "cannot sign the CRL");
		goto fail;
	}
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	return crl;
fail:
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	return NULL;
}

char *
certs_crl_pem(struct certs_issuer *ca, const struct certs_revoked *revoked,
    size_t n, time_t this_update, time_t next_update, long number, char *err,
    size_t errlen)
{
	X509_CRL *crl;
	BIO *bio;
	char *data, *pem = NULL;
	long len;

	if (ca == NULL || (n > 0 && revoked == NULL)) {
		certs_errf(err, errlen, "no issuer or no revoked list");
		return NULL;
	}
	if (next_update <= this_update) {
		certs_errf(err, errlen, "nextUpdate is not after lastUpdate");
		return NULL;
	}
	if (number < 0) {
		certs_errf(err, errlen, "CRL number %ld is negative", number);
		return NULL;
	}
	if ((crl = crl_build(ca, revoked, n, this_update, next_update, number,
	    err, errlen)) == NULL)
		return NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_CRL(bio, crl) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0)
		certs_errf_ssl(err, errlen, "cannot encode the CRL");
	else
		pem = xstrndup(data, (size_t)len);
	BIO_free(bio);
	X509_CRL_free(crl);
	return pem;
}
