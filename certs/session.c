/*
 * Session certificates: issued at login for the device's own key, naming
 * the person and the device in SAN URIs and carrying the groups resolved
 * at login in a private extension, so any node that trusts the issuing CA
 * can decide on a CONNECT without a session store.
 */
#include "certs/certs.h"
#include "certs/certs_local.h"

#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#define USER_URI_PREFIX		"urn:mwg:user:"
#define DEVICE_URI_PREFIX	"urn:mwg:device:"
#define URI_MAX			(sizeof(USER_URI_PREFIX) + CERTS_ID_MAX)

/* As a device certificate: client-only, never a CA, never a server. */
static const struct certs_ext session_exts[] = {
	{ NID_basic_constraints,	"critical,CA:FALSE" },
	{ NID_key_usage,		"critical,digitalSignature" },
	{ NID_ext_key_usage,		"clientAuth" },
	{ NID_subject_key_identifier,	"hash" },
	{ NID_authority_key_identifier,	"keyid:always" },
};

int
certs_group_valid(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || name[0] == ' ')
		return -1;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= CERTS_GROUP_MAX - 1)
			return -1;
		/* ',' would split a group in the comma lists logs use. */
		if (name[i] < 0x20 || name[i] > 0x7e || name[i] == ',')
			return -1;
	}
	return name[i - 1] == ' ' ? -1 : 0;
}

/* The groups extension's OID as an object; caller frees. */
static ASN1_OBJECT *
groups_oid(void)
{
	return OBJ_txt2obj(CERTS_OID_GROUPS, 1);
}

static int
add_session_san(X509 *x, const char *user, const char *device_id, char *err,
    size_t errlen)
{
	GENERAL_NAMES *names;
	char uri[2][URI_MAX];
	int n[2], rc = -1;

	n[0] = snprintf(uri[0], URI_MAX, USER_URI_PREFIX "%s", user);
	n[1] = snprintf(uri[1], URI_MAX, DEVICE_URI_PREFIX "%s", device_id);
	if (n[0] < 0 || (size_t)n[0] >= URI_MAX || n[1] < 0 ||
	    (size_t)n[1] >= URI_MAX)
		return -1;	/* not reached: both names were checked */
	if ((names = sk_GENERAL_NAME_new_null()) == NULL ||
	    certs_san_push(names, GEN_URI, uri[0], (size_t)n[0]) == -1 ||
	    certs_san_push(names, GEN_URI, uri[1], (size_t)n[1]) == -1)
		certs_errf_ssl(err, errlen, "cannot build subjectAltName");
	else
		rc = certs_build_san(x, names, err, errlen);
	GENERAL_NAMES_free(names);
	return rc;
}

/* DER SEQUENCE OF UTF8String of groups into a new octet string. */
static ASN1_OCTET_STRING *
groups_encode(const char *const *groups, size_t ngroups)
{
	ASN1_SEQUENCE_ANY *seq;
	ASN1_OCTET_STRING *os = NULL;
	ASN1_UTF8STRING *s;
	ASN1_TYPE *t;
	unsigned char *der = NULL;
	size_t i;
	int len;

	if ((seq = sk_ASN1_TYPE_new_null()) == NULL)
		return NULL;
	for (i = 0; i < ngroups; i++) {
		if ((t = ASN1_TYPE_new()) == NULL)
			goto out;
		if ((s = ASN1_UTF8STRING_new()) == NULL ||
		    ASN1_STRING_set(s, groups[i], -1) != 1) {
			ASN1_UTF8STRING_free(s);
			ASN1_TYPE_free(t);
			goto out;
		}
		ASN1_TYPE_set(t, V_ASN1_UTF8STRING, s);	/* t owns s */
		if (sk_ASN1_TYPE_push(seq, t) == 0) {
			ASN1_TYPE_free(t);
			goto out;
		}
	}
	if ((len = i2d_ASN1_SEQUENCE_ANY(seq, &der)) <= 0)
		goto out;
	if ((os = ASN1_OCTET_STRING_new()) != NULL &&
	    ASN1_OCTET_STRING_set(os, der, len) != 1) {
		ASN1_OCTET_STRING_free(os);
		os = NULL;
	}
out:
	OPENSSL_free(der);
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return os;
}

/* The groups extension, non-critical: other verifiers may ignore it. */
static int
add_groups(X509 *x, const char *const *groups, size_t ngroups, char *err,
    size_t errlen)
{
	ASN1_OBJECT *oid;
	ASN1_OCTET_STRING *os = NULL;
	X509_EXTENSION *ext = NULL;
	int rc = -1;

	if ((oid = groups_oid()) != NULL &&
	    (os = groups_encode(groups, ngroups)) != NULL &&
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os)) != NULL &&
	    X509_add_ext(x, ext, -1) == 1)
		rc = 0;
	else
		certs_errf_ssl(err, errlen, "cannot add the groups extension");
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
	return rc;
}

static int
session_args_valid(const char *user, const char *device_id,
    const char *const *groups, size_t ngroups, char *err, size_t errlen)
{
	size_t i;

	if (user == NULL || certs_user_valid(user) == -1) {
		certs_errf(err, errlen, "invalid user name");
		return -1;
	}
	if (device_id == NULL || certs_device_id_valid(device_id) == -1) {
		certs_errf(err, errlen, "invalid device id");
		return -1;
	}
	if (ngroups > CERTS_GROUPS_MAX || (ngroups > 0 && groups == NULL)) {
		certs_errf(err, errlen, "%zu groups (at most %d)", ngroups,
		    CERTS_GROUPS_MAX);
		return -1;
	}
	for (i = 0; i < ngroups; i++) {
		if (certs_group_valid(groups[i]) == -1) {
			/* The name may be anything: say which, not what. */
			certs_errf(err, errlen, "group %zu is not a valid "
			    "group name", i + 1);
			return -1;
		}
	}
	return 0;
}

X509 *
certs_issue_session(struct certs_issuer *ca, EVP_PKEY *pub, const char *user,
    const char *device_id, const char *const *groups, size_t ngroups,
    time_t not_before, time_t not_after, char *err, size_t errlen)
{
	X509 *x, *issuer;

	if (ca == NULL || pub == NULL) {
		certs_errf(err, errlen, "no issuer or no public key");
		return NULL;
	}
	if (session_args_valid(user, device_id, groups, ngroups, err,
	    errlen) == -1)
		return NULL;
	if (not_after <= not_before) {
		certs_errf(err, errlen, "validity ends before it starts");
		return NULL;
	}
	if ((x = certs_build_new(pub, user, not_before, not_after, err,
	    errlen)) == NULL)
		return NULL;
	issuer = certs_issuer_cert(ca);
	if (certs_build_exts(x, issuer, session_exts,
	    sizeof(session_exts) / sizeof(session_exts[0]), err,
	    errlen) == -1 ||
	    add_session_san(x, user, device_id, err, errlen) == -1 ||
	    add_groups(x, groups, ngroups, err, errlen) == -1 ||
	    certs_build_sign(x, issuer, certs_issuer_key(ca), err,
	    errlen) == -1) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Copies one UTF8String into out; -1 unless it is a valid group name. */
static int
group_take(const ASN1_TYPE *t, char *out)
{
	const unsigned char *p;
	int len;

	if (t->type != V_ASN1_UTF8STRING)
		return -1;
	p = ASN1_STRING_get0_data(t->value.utf8string);
	len = ASN1_STRING_length(t->value.utf8string);
	if (len <= 0 || len >= CERTS_GROUP_MAX ||
	    memchr(p, '\0', (size_t)len) != NULL)
		return -1;
	memcpy(out, p, (size_t)len);
	out[len] = '\0';
	return certs_group_valid(out);
}

/*
 * Parses the extension's value. DER only: the value must re-encode to the
 * same bytes, so one list has one spelling.
 */
static int
groups_decode(const ASN1_OCTET_STRING *os, char (*groups)[CERTS_GROUP_MAX],
    size_t max)
{
	const unsigned char *der = ASN1_STRING_get0_data(os), *p = der;
	long len = ASN1_STRING_length(os);
	ASN1_SEQUENCE_ANY *seq;
	unsigned char *again = NULL;
	int i, n, rc = -1;

	if ((seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len)) == NULL)
		return -1;
	n = sk_ASN1_TYPE_num(seq);
	if (p != der + len || n < 0 || (size_t)n > max ||
	    i2d_ASN1_SEQUENCE_ANY(seq, &again) != len ||
	    memcmp(again, der, (size_t)len) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (group_take(sk_ASN1_TYPE_value(seq, i), groups[i]) == -1)
			goto out;
	rc = n;
out:
	OPENSSL_free(again);
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return rc;
}

int
certs_session_groups(X509 *cert, char (*groups)[CERTS_GROUP_MAX],
    size_t max)
{
	ASN1_OBJECT *oid;
	X509_EXTENSION *ext;
	int at, rc;

	if (cert == NULL || (oid = groups_oid()) == NULL)
		return -1;
	at = X509_get_ext_by_OBJ(cert, oid, -1);
	rc = at >= 0 && X509_get_ext_by_OBJ(cert, oid, at) >= 0 ? -1 : 0;
	ASN1_OBJECT_free(oid);
	if (at < 0 || rc == -1) {
		ERR_clear_error();
		return rc;	/* none (0), or repeated (-1) */
	}
	ext = X509_get_ext(cert, at);
	rc = groups_decode(X509_EXTENSION_get_data(ext), groups, max);
	ERR_clear_error();
	return rc;
}
