/*
 * Private to certs/: the steps every certificate kind shares (serial,
 * validity, subject, extensions, signing) and error formatting. Nothing
 * outside this folder includes it.
 */
#ifndef MWG_CERTS_LOCAL_H
#define MWG_CERTS_LOCAL_H

#include "common/errbuf.h"

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CERTS_SERIAL_BYTES	16	/* 128 random bits */
#define CERTS_BACKDATE		300	/* seconds of peer clock skew allowed */

/* One extension in a profile table, in OpenSSL's config syntax. */
struct certs_ext {
	int		 nid;
	const char	*value;
};

/* One-line reason into err (NULL or zero length is allowed). */
#define certs_errf errbuf_set	/* common/errbuf.h */
/* As certs_errf, then ": " and OpenSSL's reason; clears the error queue. */
void certs_errf_ssl(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A v3 certificate for pub with subject CN = cn, a random serial and the
 * validity given; unsigned, no extensions. Caller frees with X509_free().
 */
X509 *certs_build_new(EVP_PKEY *pub, const char *cn, time_t not_before,
    time_t not_after, char *err, size_t errlen);
/* Adds the n extensions of tab; issuer may be cert itself (self-signed). */
int certs_build_exts(X509 *cert, X509 *issuer, const struct certs_ext *tab,
    size_t n, char *err, size_t errlen);
/* Adds names as the subjectAltName extension; names stays the caller's. */
int certs_build_san(X509 *cert, GENERAL_NAMES *names, char *err,
    size_t errlen);
/* Appends a GEN_DNS, GEN_URI or GEN_IPADD name of len bytes. 0 or -1. */
int certs_san_push(GENERAL_NAMES *names, int type, const void *data,
    size_t len);
/* Sets the issuer name from issuer and signs with SHA-256. */
int certs_build_sign(X509 *cert, X509 *issuer, EVP_PKEY *issuer_key,
    char *err, size_t errlen);

/*
 * The server certificate's profile (ca_init.c), shared by ca init and
 * server-cert renewal: its extensions, and its SANs from hosts (DNS names
 * and IP addresses; NULL with err if one is neither). Caller frees the
 * names with GENERAL_NAMES_free().
 */
#define CERTS_SERVER_NEXTS	5
extern const struct certs_ext certs_server_exts[CERTS_SERVER_NEXTS];
GENERAL_NAMES *certs_server_names(const char *const *hosts, size_t nhosts,
    char *err, size_t errlen);

/* The issuing CA's private key, for session certificates and CRLs (not a
 * new reference; never leaves certs/). */
struct certs_issuer;
EVP_PKEY *certs_issuer_key(const struct certs_issuer *ca);

#endif
