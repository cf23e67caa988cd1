/*
 * certs: the gateway's X.509 work — creating the CA (root, issuing CA,
 * server certificate), issuing device certificates for keys that never leave
 * the device, and reading the identity out of a verified peer certificate.
 * No event loop, no globals: mwgd, mwgctl and the tests link it directly.
 */
#ifndef MWG_CERTS_H
#define MWG_CERTS_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CERTS_ERR_MAX		256	/* size of the err buffers below */
#define CERTS_ID_MAX		64	/* device ids: [a-z0-9-], 1..63 chars */
#define CERTS_DEVICE_DAYS	90
#define CERTS_ROOT_DAYS		3650
#define CERTS_ISSUING_DAYS	1825
#define CERTS_SERVER_DAYS	397
#define CERTS_FPR_MAX		96	/* "AB:CD:..." SHA-256 with NUL */

/* File names that `mwgctl ca init --dir DIR` writes inside DIR. */
#define CERTS_ROOT_CERT		"root.pem"
#define CERTS_ROOT_KEY		"root.key"
#define CERTS_ISSUING_CERT	"issuing.pem"
#define CERTS_ISSUING_KEY	"issuing.key"
#define CERTS_SERVER_CERT	"server.pem"
#define CERTS_SERVER_KEY	"server.key"

enum certs_kind {
	CERTS_KIND_UNKNOWN = 0,
	CERTS_KIND_DEVICE,	/* SAN URI urn:mwg:device:<id> only */
	CERTS_KIND_SESSION,	/* also urn:mwg:user:<name> (identity issue) */
};

struct certs_identity {
	enum certs_kind kind;
	char device_id[CERTS_ID_MAX];
	char user[CERTS_ID_MAX];	/* "" for a device certificate */
	char serial[64];		/* hex, for logs and audit */
	time_t not_after;
};

/*
 * Creates dir (0700) and in it a root CA, an issuing CA signed by the root,
 * and a server certificate signed by the root with DNS/IP SANs from hosts
 * (an entry that parses as an IPv4/IPv6 address becomes an IP SAN). All
 * keys EC P-256, written 0600. Refuses (returns -1) if any of the files
 * already exists. Returns 0, or -1 with a one-line reason in err.
 */
int certs_ca_init(const char *dir, const char *const *hosts, size_t nhosts,
    char *err, size_t errlen);

/*
 * Renews the server certificate in dir (server_renew.c): a new EC P-256
 * key and a certificate for hosts (as certs_ca_init's), signed by the root
 * (dir/root.pem and root_key, or dir/root.key if root_key is NULL; they
 * must match). Both are staged beside server.key and server.pem with the
 * old files' mode, owner and group (0600 and 0644 if there were none),
 * synced, then renamed into place. Returns 0, or -1 with a reason in err
 * and the old files untouched.
 */
int certs_server_renew(const char *dir, const char *root_key,
    const char *const *hosts, size_t nhosts, char *err, size_t errlen);

/* An issuing CA loaded for signing. */
struct certs_issuer;

/* Loads the CA certificate and its private key; checks they match. */
struct certs_issuer *certs_issuer_load(const char *cert_path,
    const char *key_path, char *err, size_t errlen);
void certs_issuer_free(struct certs_issuer *ca);

/*
 * Issues a device certificate for pub: subject CN = device_id, SAN URI
 * urn:mwg:device:<device_id>, EKU clientAuth, keyUsage digitalSignature,
 * a random 128-bit serial, validity [not_before, not_after]. The subject is
 * set here, never copied from a request. Returns a certificate the caller
 * frees with X509_free(), or NULL with a reason in err.
 */
X509 *certs_issue_device(struct certs_issuer *ca, EVP_PKEY *pub,
    const char *device_id, time_t not_before, time_t not_after, char *err,
    size_t errlen);

/* 0 if id is a valid device id ([a-z0-9-], 1..63 chars, no leading '-'). */
int certs_device_id_valid(const char *id);
/*
 * 0 if name is a valid user name ([a-z0-9._-], 1..63 chars, not starting
 * with '.' or '-', so it is never a path component like "..").
 */
int certs_user_valid(const char *name);

/*
 * Reads the mwg identity from a (verified) peer certificate. Returns 0, or
 * -1 if the certificate names no mwg device.
 */
int certs_identity(X509 *cert, struct certs_identity *out);

/* ---- session certificates (identity issue) ------------------------------ */

#define CERTS_SESSION_HOURS	12	/* default life: a role's max-session */
#define CERTS_GROUPS_MAX	64	/* groups carried in one certificate */
#define CERTS_GROUP_MAX		64	/* bytes per group name, with the NUL */
/*
 * The groups extension: a non-critical extension, OID
 * CERTS_OID_GROUPS (an arc under 2.25, a UUID OID needing no
 * registration), whose value is a DER SEQUENCE OF UTF8String.
 */
#define CERTS_OID_GROUPS	"2.25.112156367374933965921081985558667648015.1"

/* 0 if name is a group name we carry: 1..63 bytes of printable ASCII
 * (0x20..0x7e) other than ',' , not starting or ending with a space. */
int certs_group_valid(const char *name);

/*
 * Issues a session certificate for pub (the device's own key): subject CN =
 * user, SAN URIs urn:mwg:user:<user> and urn:mwg:device:<device_id>, the
 * groups extension (ngroups <= CERTS_GROUPS_MAX, each certs_group_valid),
 * EKU clientAuth, keyUsage digitalSignature, random 128-bit serial,
 * validity [not_before, not_after]. NULL with a reason in err.
 */
X509 *certs_issue_session(struct certs_issuer *ca, EVP_PKEY *pub,
    const char *user, const char *device_id, const char *const *groups,
    size_t ngroups, time_t not_before, time_t not_after, char *err,
    size_t errlen);

/*
 * The groups a session certificate carries, copied into groups (max
 * entries). Returns how many (0 if the certificate has no groups
 * extension), or -1 if the extension is malformed, repeated, holds an
 * invalid name, or more than max names.
 */
int certs_session_groups(X509 *cert, char (*groups)[CERTS_GROUP_MAX],
    size_t max);

/* The issuing CA's certificate (not a new reference). */
X509 *certs_issuer_cert(const struct certs_issuer *ca);

/* ---- enrolment (EST, RFC 7030) ------------------------------------------ */

#define CERTS_CSR_MAX		16384	/* base64 CSR body, bytes */

/*
 * Decodes an EST request body: base64 of a DER PKCS#10 request (line
 * breaks and other whitespace allowed, nothing else). Checks the request's
 * signature with its own key and that the key is acceptable
 * (certs_key_acceptable). The subject and extensions are never used.
 * Returns the request (X509_REQ_free) or NULL with a reason a client can
 * act on in err ("not base64", "not a PKCS#10 request", "signature does not
 * match the key", "key type not allowed: ...").
 */
X509_REQ *certs_csr_from_base64(const char *body, size_t len, char *err,
    size_t errlen);
/*
 * Strict base64 (RFC 4648 §4): whitespace skipped, padding required and
 * only at the end, unused bits zero (one spelling per byte string).
 * Returns a buffer to free() with its length in *outlen, or NULL.
 */
unsigned char *certs_base64_decode(const char *in, size_t len,
    size_t *outlen);
/* n random characters of base32's lower-case alphabet ([a-z2-7]) and a
 * NUL into out (n + 1 bytes), from the CSPRNG. 0, or -1 if it failed. */
int certs_random_b32(char *out, size_t n);
/* 0 if key is EC P-256 or P-384, or RSA of 3072 bits or more; else -1
 * with the reason in err. */
int certs_key_acceptable(EVP_PKEY *key, char *err, size_t errlen);
/* SHA-256 of the DER SubjectPublicKeyInfo as 64 lowercase hex digits into
 * buf (at least 65 bytes). 0 or -1. */
int certs_key_fingerprint(EVP_PKEY *key, char *buf, size_t buflen);
/*
 * A degenerate PKCS#7 SignedData holding certs (certs-only, RFC 7030
 * 4.1.3), DER, base64 with CRLF every 64 characters. Returns a
 * NUL-terminated string to free(), its length in *lenp; NULL on error.
 */
char *certs_pkcs7_base64(X509 *const *certs, size_t n, size_t *lenp);
/* The reverse, for clients: every certificate in a base64 certs-only
 * PKCS#7 body. Returns a stack (sk_X509_pop_free(sk, X509_free)) or NULL
 * with a reason in err. */
STACK_OF(X509) *certs_pkcs7_from_base64(const char *body, size_t len,
    char *err, size_t errlen);

/* ---- revocation --------------------------------------------------------- */

struct certs_revoked {
	const char *serial;	/* hex, as certs_identity gives it */
	time_t revoked_at;
	int reason;		/* RFC 5280 §5.3.1 CRLReason; 0: none given */
};

#define CERTS_CRL_REASON_SUPERSEDED	4

/*
 * A CRL signed by the issuing CA listing revoked (n entries), with
 * lastUpdate this_update, nextUpdate next_update and CRL number number.
 * Returns the CRL in PEM as a NUL-terminated string to free(), or NULL
 * with a reason in err.
 */
char *certs_crl_pem(struct certs_issuer *ca, const struct certs_revoked *revoked,
    size_t n, time_t this_update, time_t next_update, long number, char *err,
    size_t errlen);

/* PEM writers: the key file is created 0600 (O_EXCL unless overwrite). */
int certs_write_key(const char *path, EVP_PKEY *key, int overwrite,
    char *err, size_t errlen);
int certs_write_cert(const char *path, X509 *cert, int overwrite, char *err,
    size_t errlen);
/* A new EC P-256 key; caller frees with EVP_PKEY_free(). */
EVP_PKEY *certs_new_key(void);

/*
 * PEM readers; the key reader never prompts for a passphrase. Return what
 * the caller frees (X509_free(), EVP_PKEY_free()), or NULL with a reason.
 */
X509 *certs_read_cert(const char *path, char *err, size_t errlen);
EVP_PKEY *certs_read_key(const char *path, char *err, size_t errlen);

/*
 * SHA-256 of the DER certificate as "AB:CD:..." (what `openssl x509
 * -fingerprint -sha256` prints) into buf of CERTS_FPR_MAX bytes. 0 or -1.
 */
int certs_fingerprint(X509 *cert, char *buf, size_t buflen);

#endif
