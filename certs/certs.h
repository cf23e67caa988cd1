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
