/*
 * Who a peer certificate names: the mwg device and, for a session
 * certificate, the person, read from SAN URIs. Used on certificates the TLS
 * layer has already verified against the issuing CA.
 */
#include "certs/certs.h"
#include "certs/certs_local.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define URI_DEVICE	"urn:mwg:device:"
#define URI_USER	"urn:mwg:user:"

static int
name_valid(const char *s, const char *extra, const char *bad_first)
{
	size_t i;
	char c;

	for (i = 0; s[i] != '\0'; i++) {
		c = s[i];
		if (i >= CERTS_ID_MAX - 1)
			return -1;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (strchr(extra, c) == NULL)
			return -1;
		if (i == 0 && strchr(bad_first, c) != NULL)
			return -1;
	}
	return i == 0 ? -1 : 0;
}

int
certs_device_id_valid(const char *id)
{
	return name_valid(id, "-", "-");
}

int
certs_user_valid(const char *name)
{
	return name_valid(name, "._-", ".-");
}

/*
 * Copies the part of uri after prefix into out. 0 if uri has the prefix
 * (dup set if out was already filled), 1 if not, -1 if the rest is no
 * valid name: an embedded NUL, a bad character or too long.
 */
static int
uri_take(const ASN1_IA5STRING *uri, const char *prefix, char *out,
    int (*valid)(const char *), int *dup)
{
	const unsigned char *p = ASN1_STRING_get0_data(uri);
	size_t len = (size_t)ASN1_STRING_length(uri);
	size_t plen = strlen(prefix);

	if (len < plen || memcmp(p, prefix, plen) != 0)
		return 1;
	p += plen;
	len -= plen;
	if (len >= CERTS_ID_MAX || memchr(p, '\0', len) != NULL)
		return -1;
	if (out[0] != '\0')
		*dup = 1;
	memcpy(out, p, len);
	out[len] = '\0';
	return valid(out) == 0 ? 0 : -1;
}

/* Fills device_id and user from the SAN URIs; -1 on anything ambiguous. */
static int
read_uris(X509 *cert, struct certs_identity *out)
{
	GENERAL_NAMES *names;
	GENERAL_NAME *gn;
	int crit, i, dup = 0, rc = 0;

	names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (names == NULL)
		return -1;	/* none, or several SAN extensions (crit -2) */
	for (i = 0; i < sk_GENERAL_NAME_num(names) && rc == 0; i++) {
		gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type != GEN_URI)
			continue;
		if ((rc = uri_take(gn->d.uniformResourceIdentifier,
		    URI_DEVICE, out->device_id, certs_device_id_valid,
		    &dup)) == 1)
			rc = uri_take(gn->d.uniformResourceIdentifier,
			    URI_USER, out->user, certs_user_valid, &dup);
		if (rc == 1)
			rc = 0;	/* someone else's URI: not ours to judge */
	}
	GENERAL_NAMES_free(names);
	if (rc == -1 || dup || out->device_id[0] == '\0')
		return -1;
	return 0;
}

static int
read_serial(X509 *cert, char *buf, size_t buflen)
{
	BIGNUM *bn;
	char *hex = NULL;
	int rc = -1;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert),
	    NULL)) != NULL && (hex = BN_bn2hex(bn)) != NULL &&
	    strlen(hex) < buflen) {
		memcpy(buf, hex, strlen(hex) + 1);
		rc = 0;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

int
certs_identity(X509 *cert, struct certs_identity *out)
{
	struct tm tm;

	memset(out, 0, sizeof(*out));
	if (cert == NULL || read_uris(cert, out) == -1 ||
	    read_serial(cert, out->serial, sizeof(out->serial)) == -1 ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1 ||
	    (out->not_after = timegm(&tm)) == (time_t)-1) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->kind = out->user[0] != '\0' ? CERTS_KIND_SESSION :
	    CERTS_KIND_DEVICE;
	return 0;
}

int
certs_fingerprint(X509 *cert, char *buf, size_t buflen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen, i;

	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 ||
	    buflen < (size_t)mdlen * 3)
		return -1;
	for (i = 0; i < mdlen; i++)
		snprintf(buf + i * 3, buflen - i * 3, "%02X%s", md[i],
		    i + 1 < mdlen ? ":" : "");
	return 0;
}
