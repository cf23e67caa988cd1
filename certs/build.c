/*
 * Building blocks shared by every certificate mwg makes (root, issuing CA,
 * server, device): a random serial, validity, subject, extension profiles
 * from a table, subjectAltNames built as structures, and the signature.
 */
#include "certs/certs_local.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>

void
certs_errf_ssl(char *err, size_t errlen, const char *fmt, ...)
{
	unsigned long e = ERR_peek_error();	/* the root cause is first */
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	va_list ap;
	size_t n;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		n = strlen(err);
		if (reason != NULL && n < errlen)
			snprintf(err + n, errlen - n, ": %s", reason);
	}
	ERR_clear_error();
}

/*
 * 128 random bits read as an unsigned number, so the serial is positive
 * and at most 17 DER octets (RFC 5280 §4.1.2.2 allows 20).
 */
static int
set_serial(X509 *x)
{
	unsigned char buf[CERTS_SERIAL_BYTES];
	BIGNUM *bn = NULL;
	int rc = -1;

	do {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			goto out;
		BN_free(bn);
		if ((bn = BN_bin2bn(buf, sizeof(buf), NULL)) == NULL)
			goto out;
	} while (BN_is_zero(bn));
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		rc = 0;
out:
	BN_free(bn);
	return rc;
}

X509 *
certs_build_new(EVP_PKEY *pub, const char *cn, time_t not_before,
    time_t not_after, char *err, size_t errlen)
{
	X509 *x;

	if ((x = X509_new()) == NULL) {
		certs_errf_ssl(err, errlen, "cannot allocate a certificate");
		return NULL;
	}
	if (X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) == -1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), not_after) == NULL ||
	    X509_set_pubkey(x, pub) != 1) {
		certs_errf_ssl(err, errlen, "cannot build a certificate");
		X509_free(x);
		return NULL;
	}
	if (X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1) {
		certs_errf_ssl(err, errlen, "cannot set common name \"%s\"", cn);
		X509_free(x);
		return NULL;
	}
	return x;
}

int
certs_build_exts(X509 *cert, X509 *issuer, const struct certs_ext *tab,
    size_t n, char *err, size_t errlen)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	size_t i;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	for (i = 0; i < n; i++) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, tab[i].nid,
		    tab[i].value);
		if (ext == NULL || X509_add_ext(cert, ext, -1) != 1) {
			certs_errf_ssl(err, errlen, "cannot add %s extension",
			    OBJ_nid2sn(tab[i].nid));
			X509_EXTENSION_free(ext);
			return -1;
		}
		X509_EXTENSION_free(ext);
	}
	return 0;
}

int
certs_build_san(X509 *cert, GENERAL_NAMES *names, char *err, size_t errlen)
{
	/* Non-critical: the subject is never empty (RFC 5280 §4.2.1.6). */
	if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0,
	    X509V3_ADD_DEFAULT) != 1) {
		certs_errf_ssl(err, errlen, "cannot add subjectAltName");
		return -1;
	}
	return 0;
}

int
certs_san_push(GENERAL_NAMES *names, int type, const void *data, size_t len)
{
	GENERAL_NAME *gn;
	ASN1_STRING *s;

	if (len > INT_MAX || (gn = GENERAL_NAME_new()) == NULL)
		return -1;
	if (type == GEN_IPADD)
		s = ASN1_OCTET_STRING_new();
	else
		s = ASN1_IA5STRING_new();
	if (s == NULL || ASN1_STRING_set(s, data, (int)len) != 1) {
		ASN1_STRING_free(s);
		GENERAL_NAME_free(gn);
		return -1;
	}
	GENERAL_NAME_set0_value(gn, type, s);	/* gn owns s now */
	if (sk_GENERAL_NAME_push(names, gn) == 0) {
		GENERAL_NAME_free(gn);
		return -1;
	}
	return 0;
}

int
certs_build_sign(X509 *cert, X509 *issuer, EVP_PKEY *issuer_key, char *err,
    size_t errlen)
{
	if (X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1 ||
	    X509_sign(cert, issuer_key, EVP_sha256()) <= 0) {
		certs_errf_ssl(err, errlen, "cannot sign certificate");
		return -1;
	}
	return 0;
}
