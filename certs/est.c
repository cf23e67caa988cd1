/*
 * The bodies of enrolment over EST (RFC 7030): base64 PKCS#10 requests in,
 * checked against their own key and the key policy; base64 certs-only
 * PKCS#7 out (and back in, for the client). The subject and extensions a
 * request asks for are never read: the gateway sets them.
 */
#include "certs/certs.h"
#include "certs/certs_local.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>

#include "common/xmalloc.h"

#define B64_LINE	64		/* characters per line we write */
#define PKCS7_B64_MAX	(256 * 1024)	/* a certs-only body a client reads */
#define EC_NAME_MAX	64
#define EC_FIELD_MAX	48		/* bytes of a P-384 coordinate */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64_alphabet, c)) == NULL)
		return -1;
	return (int)(p - b64_alphabet);
}

int
certs_random_b32(char *out, size_t n)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char r[64];

	if (n > sizeof(r) || RAND_bytes(r, (int)n) != 1)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = alpha[r[i] & 31];	/* 256 % 32 == 0: no bias */
	out[n] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

/*
 * Strict base64 (RFC 4648 §4): whitespace anywhere is skipped, padding is
 * required and only at the end, and the bits padding leaves unused must be
 * zero, so one byte string has one accepted spelling. Returns a buffer to
 * free() with its length in *outlen, or NULL.
 */
unsigned char *
certs_base64_decode(const char *in, size_t len, size_t *outlen)
{
	unsigned char *out = xmalloc(len / 4 * 3 + 3);
	unsigned int acc = 0;
	size_t i, n = 0, o = 0, pad = 0;
	int v;

	for (i = 0; i < len; i++) {
		if (is_space(in[i]))
			continue;
		if (in[i] == '=') {
			if (n % 4 < 2 || ++pad > 2)
				goto bad;
			n++;
			continue;
		}
		if (pad > 0 || (v = b64_value(in[i])) == -1)
			goto bad;
		acc = acc << 6 | (unsigned int)v;
		if (++n % 4 == 0) {
			out[o++] = acc >> 16 & 0xff;
			out[o++] = acc >> 8 & 0xff;
			out[o++] = acc & 0xff;
			acc = 0;
		}
	}
	if (n == 0 || n % 4 != 0)
		goto bad;
	if (pad == 2) {		/* "xx==": 12 bits, the last 4 unused */
		if (acc & 0xf)
			goto bad;
		out[o++] = acc >> 4 & 0xff;
	} else if (pad == 1) {	/* "xxx=": 18 bits, the last 2 unused */
		if (acc & 0x3)
			goto bad;
		out[o++] = acc >> 10 & 0xff;
		out[o++] = acc >> 2 & 0xff;
	}
	*outlen = o;
	return out;
bad:
	free(out);
	return NULL;
}

/* Base64 of len bytes with CRLF after every B64_LINE characters. */
static char *
b64_encode(const unsigned char *in, size_t len, size_t *outlen)
{
	size_t chunk = B64_LINE / 4 * 3, lines = (len + chunk - 1) / chunk;
	char *out = xmalloc(lines * (B64_LINE + 2) + 1);
	size_t i, o = 0, n;

	for (i = 0; i < len; i += n) {
		n = len - i < chunk ? len - i : chunk;
		o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, in + i,
		    (int)n);
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static int
rsa_acceptable(EVP_PKEY *key, char *err, size_t errlen)
{
	int bits = EVP_PKEY_get_bits(key);

	if (bits >= 3072)
		return 0;
	certs_errf(err, errlen, "key type not allowed: RSA of %d bits (need "
	    "3072 or more)", bits);
	return -1;
}

/*
 * Only named curves (RFC 5480 §2.1.1: namedCurve MUST be used in PKIX).
 * OpenSSL recognises explicit parameters that equal P-256 and names the
 * group, so the name alone does not tell: the key's encoding does. An
 * explicit key also re-encodes to other bytes, a second identity.
 */
static int
ec_acceptable(EVP_PKEY *key, char *err, size_t errlen)
{
	char name[EC_NAME_MAX], enc[EC_NAME_MAX];

	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING,
	    enc, sizeof(enc), NULL) != 1 ||
	    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
		ERR_clear_error();
		certs_errf(err, errlen, "key type not allowed: EC key with "
		    "explicit curve parameters (need a named curve, P-256 or "
		    "P-384)");
		return -1;
	}
	if (EVP_PKEY_get_group_name(key, name, sizeof(name), NULL) != 1) {
		ERR_clear_error();
		certs_errf(err, errlen, "key type not allowed: EC key without "
		    "a named curve (need P-256 or P-384)");
		return -1;
	}
	if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0 ||
	    strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0)
		return 0;
	certs_errf(err, errlen, "key type not allowed: EC curve %s (need "
	    "P-256 or P-384)", name);
	return -1;
}

int
certs_key_acceptable(EVP_PKEY *key, char *err, size_t errlen)
{
	const char *type;

	if (key == NULL) {
		certs_errf(err, errlen, "key type not allowed: no key");
		return -1;
	}
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		return ec_acceptable(key, err, errlen);
	case EVP_PKEY_RSA:
		return rsa_acceptable(key, err, errlen);
	default:
		if ((type = EVP_PKEY_get0_type_name(key)) == NULL)
			type = "unknown";
		certs_errf(err, errlen, "key type not allowed: %s (need EC "
		    "P-256 or P-384, or RSA of 3072 bits or more)", type);
		return -1;
	}
}

/*
 * The EC key rebuilt from its curve's name and its point, uncompressed:
 * what i2d_PUBKEY writes then is one spelling per key, whatever the
 * request carried (explicit parameters, a compressed point). NULL on
 * failure. Caller frees.
 */
static EVP_PKEY *
ec_canonical(EVP_PKEY *key)
{
	unsigned char pt[1 + 2 * EC_FIELD_MAX];
	char name[EC_NAME_MAX];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *out = NULL;
	BIGNUM *x = NULL, *y = NULL;
	int flen = (EVP_PKEY_get_bits(key) + 7) / 8;

	if (flen <= 0 || flen > EC_FIELD_MAX ||
	    EVP_PKEY_get_group_name(key, name, sizeof(name), NULL) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
		goto out;
	pt[0] = POINT_CONVERSION_UNCOMPRESSED;
	if (BN_bn2binpad(x, pt + 1, flen) != flen ||
	    BN_bn2binpad(y, pt + 1 + flen, flen) != flen)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    name, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    (size_t)(1 + 2 * flen)) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &out, EVP_PKEY_PUBLIC_KEY, params) != 1)
		out = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(x);
	BN_free(y);
	return out;
}

/* The DER SubjectPublicKeyInfo in its one canonical spelling; -1 or its
 * length, *der to OPENSSL_free. RSA keys re-encode canonically as they
 * are (DER of n and e); EC keys are rebuilt first. */
static int
key_canonical_der(EVP_PKEY *key, unsigned char **der)
{
	EVP_PKEY *ec;
	int len;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return i2d_PUBKEY(key, der);
	if ((ec = ec_canonical(key)) == NULL)
		return -1;
	len = i2d_PUBKEY(ec, der);
	EVP_PKEY_free(ec);
	return len;
}

/*
 * "Key already enrolled" compares this: the canonical SPKI re-encoded,
 * never the bytes as sent, so one key is never two devices.
 */
int
certs_key_fingerprint(EVP_PKEY *key, char *buf, size_t buflen)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0, i;
	int len, rc = -1;

	if (key == NULL || buflen < 65)
		return -1;
	if ((len = key_canonical_der(key, &der)) > 0 &&
	    EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == 32) {
		for (i = 0; i < mdlen; i++) {
			buf[2 * i] = "0123456789abcdef"[md[i] >> 4];
			buf[2 * i + 1] = "0123456789abcdef"[md[i] & 0xf];
		}
		buf[2 * mdlen] = '\0';
		rc = 0;
	}
	OPENSSL_free(der);
	ERR_clear_error();
	return rc;
}

/* The request's key; -1 with the client's reason if it is not allowed. */
static int
csr_check(X509_REQ *req, char *err, size_t errlen)
{
	EVP_PKEY *key;

	if ((key = X509_REQ_get0_pubkey(req)) == NULL) {
		ERR_clear_error();
		certs_errf(err, errlen, "key type not allowed: unknown or "
		    "malformed public key");
		return -1;
	}
	if (certs_key_acceptable(key, err, errlen) == -1)
		return -1;
	/* Proof of possession: the requester holds the private key. */
	if (X509_REQ_verify(req, key) != 1) {
		ERR_clear_error();
		certs_errf(err, errlen, "signature does not match the key");
		return -1;
	}
	return 0;
}

X509_REQ *
certs_csr_from_base64(const char *body, size_t len, char *err,
    size_t errlen)
{
	const unsigned char *p;
	unsigned char *der;
	X509_REQ *req;
	size_t dlen;

	if (body == NULL || len == 0) {
		certs_errf(err, errlen, "empty request");
		return NULL;
	}
	if (len > CERTS_CSR_MAX) {
		certs_errf(err, errlen, "request too large: %zu bytes (at most "
		    "%d)", len, CERTS_CSR_MAX);
		return NULL;
	}
	if ((der = certs_base64_decode(body, len, &dlen)) == NULL) {
		certs_errf(err, errlen, "not base64");
		return NULL;
	}
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)dlen);
	if (req == NULL || p != der + dlen) {
		ERR_clear_error();
		certs_errf(err, errlen, "not a PKCS#10 request");
		X509_REQ_free(req);
		free(der);
		return NULL;
	}
	free(der);
	if (csr_check(req, err, errlen) == -1) {
		X509_REQ_free(req);
		return NULL;
	}
	return req;
}

/*
 * RFC 7030 §4.1.3 and RFC 5652 §5.2: SignedData with no signers, the
 * content type id-data and no content: only the certificates matter.
 */
static PKCS7 *
pkcs7_certs_only(X509 *const *certs, size_t n)
{
	PKCS7 *p7;
	size_t i;

	if ((p7 = PKCS7_new()) == NULL ||
	    PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1)
		goto fail;
	for (i = 0; i < n; i++)
		if (certs[i] == NULL ||
		    PKCS7_add_certificate(p7, certs[i]) != 1)
			goto fail;
	if (PKCS7_set_detached(p7, 1) != 1)
		goto fail;
	return p7;
fail:
	PKCS7_free(p7);
	return NULL;
}

char *
certs_pkcs7_base64(X509 *const *certs, size_t n, size_t *lenp)
{
	unsigned char *der = NULL;
	char *out = NULL;
	PKCS7 *p7;
	int len;

	if (certs == NULL || n == 0 || lenp == NULL)
		return NULL;
	if ((p7 = pkcs7_certs_only(certs, n)) != NULL &&
	    (len = i2d_PKCS7(p7, &der)) > 0)
		out = b64_encode(der, (size_t)len, lenp);
	OPENSSL_free(der);
	PKCS7_free(p7);
	ERR_clear_error();
	return out;
}

/* Every certificate of a signed PKCS#7 with no signers, new references. */
static STACK_OF(X509) *
pkcs7_take_certs(PKCS7 *p7, char *err, size_t errlen)
{
	STACK_OF(X509) *sk;
	X509 *x;
	int i;

	if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL) {
		certs_errf(err, errlen, "not a PKCS#7 SignedData");
		return NULL;
	}
	if (sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info) > 0) {
		certs_errf(err, errlen, "not a certs-only PKCS#7 (it has "
		    "signers)");
		return NULL;
	}
	if (sk_X509_num(p7->d.sign->cert) <= 0) {
		certs_errf(err, errlen, "PKCS#7 holds no certificate");
		return NULL;
	}
	if ((sk = sk_X509_new_null()) == NULL) {
		certs_errf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < sk_X509_num(p7->d.sign->cert); i++) {
		x = sk_X509_value(p7->d.sign->cert, i);
		if (X509_up_ref(x) != 1 || sk_X509_push(sk, x) == 0) {
			sk_X509_pop_free(sk, X509_free);
			certs_errf(err, errlen, "out of memory");
			return NULL;
		}
	}
	return sk;
}

STACK_OF(X509) *
certs_pkcs7_from_base64(const char *body, size_t len, char *err,
    size_t errlen)
{
	STACK_OF(X509) *sk = NULL;
	const unsigned char *p;
	unsigned char *der;
	PKCS7 *p7;
	size_t dlen;

	if (body == NULL || len == 0) {
		certs_errf(err, errlen, "empty PKCS#7 body");
		return NULL;
	}
	if (len > PKCS7_B64_MAX) {
		certs_errf(err, errlen, "PKCS#7 body too large: %zu bytes (at "
		    "most %d)", len, PKCS7_B64_MAX);
		return NULL;
	}
	if ((der = certs_base64_decode(body, len, &dlen)) == NULL) {
		certs_errf(err, errlen, "not base64");
		return NULL;
	}
	p = der;
	p7 = d2i_PKCS7(NULL, &p, (long)dlen);
	if (p7 == NULL || p != der + dlen)
		certs_errf(err, errlen, "not a PKCS#7 structure");
	else
		sk = pkcs7_take_certs(p7, err, errlen);
	PKCS7_free(p7);
	free(der);
	ERR_clear_error();
	return sk;
}
