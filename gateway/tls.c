/*
 * The TLS server context: TLS 1.2 minimum, ECDHE with AEAD only, no
 * compression, no renegotiation, no 0-RTT, ALPN http/1.1. The client
 * certificate is requested but optional at the handshake: each endpoint
 * that needs one checks the verification result itself, so a person with
 * a bad or expired certificate gets a clear answer, and the refusal is
 * audited, instead of a bare handshake alert.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/fbundle.h"
#include "gateway/net/tls_remote.h"
#include "gateway/snapshot.h"
#include "gateway/tls_policy.h"

#define TLS_VERIFY_DEPTH 2	/* device cert -> issuing CA */
#define TLS_PEM_MAX	(1024 * 1024)	/* bytes in a certificate or key file */
/* Resumable sessions kept (one per recent client; about 3 KiB each). */
#define TLS_SESSION_CACHE_MAX	10240

static void
tls_error(struct conf_errors *errs, const char *what, const char *path)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	ERR_clear_error();
	conf_error(errs, NULL, "%s %s: %s", what, path, buf);
}

/*
 * A PEM file as a memory BIO, read through the file bundle: the network
 * process builds the same context from the monitor's bytes. NULL with
 * the error in errs.
 */
static BIO *
tls_pem_bio(const char *path, struct conf_errors *errs)
{
	char err[FBUNDLE_ERR_MAX], *buf;
	size_t len;
	BIO *bio;

	if (fbundle_read(path, TLS_PEM_MAX, &buf, &len, err, sizeof(err)) ==
	    -1) {
		conf_error(errs, NULL, "%s", err);
		return NULL;
	}
	/* The BIO copies, so a key's bytes are wiped here at once. */
	bio = BIO_new(BIO_s_mem());
	if (bio && BIO_write(bio, buf, (int)len) != (int)len) {
		BIO_free(bio);
		bio = NULL;
	}
	OPENSSL_cleanse(buf, len);
	free(buf);
	return bio;
}

/* The leaf, then every further certificate as the chain. */
static int
tls_use_chain(SSL_CTX *ctx, BIO *bio)
{
	X509 *x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
	int ok;

	if (x == NULL)
		return -1;
	ok = SSL_CTX_use_certificate(ctx, x) == 1;
	X509_free(x);
	if (!ok || SSL_CTX_clear_chain_certs(ctx) != 1)
		return -1;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			return -1;
		}
	/* The end of the file is the expected way out of the loop. */
	if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE)
		ERR_clear_error();
	return ERR_peek_error() == 0 ? 0 : -1;
}

static int
tls_use_key(SSL_CTX *ctx, BIO *bio)
{
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	int ok;

	if (k == NULL)
		return -1;
	ok = SSL_CTX_use_PrivateKey(ctx, k) == 1;
	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

/* The network process: the monitor keeps the key and signs for us. */
static int
tls_use_remote_key(SSL_CTX *ctx, const char *path, struct conf_errors *errs)
{
	EVP_PKEY *k = tls_remote_key(SSL_CTX_get0_certificate(ctx));
	int ok = k != NULL && SSL_CTX_use_PrivateKey(ctx, k) == 1;

	EVP_PKEY_free(k);
	if (!ok) {
		tls_error(errs, "cannot use the monitor's key", path);
		return -1;
	}
	return 0;
}

/* Every certificate in bio is trusted, and named to clients as a CA. */
static int
tls_use_ca(SSL_CTX *ctx, BIO *bio)
{
	STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509 *x;
	int n = 0;

	while (names && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) !=
	    NULL) {
		if (X509_STORE_add_cert(store, x) != 1 ||
		    sk_X509_NAME_push(names, X509_NAME_dup(
		    X509_get_subject_name(x))) <= 0) {
			X509_free(x);
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			return -1;
		}
		X509_free(x);
		n++;
	}
	if (names == NULL || n == 0) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		return -1;
	}
	ERR_clear_error();
	SSL_CTX_set_client_CA_list(ctx, names);
	return 0;
}

/* Accept any chain at the handshake; endpoints read the result. */
static int
verify_cb(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, h11,
	    sizeof(h11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

static int
tls_ctx_policy(SSL_CTX *ctx)
{
	static const unsigned char session_context[] = "mwgd-tls";

	/* CLEANSE_PLAINTEXT: decrypted records (passwords, codes) are wiped
	 * from OpenSSL's buffers once read, not left in freed memory. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CLEANSE_PLAINTEXT);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/*
	 * Resumption from a server-side cache (TLS 1.3 stateful tickets, TLS
	 * 1.2 session IDs), not stateless tickets: OpenSSL 3.0 makes each
	 * stateless ticket by encoding the session, decoding it again (the
	 * client certificate parsed a second time) and encoding it once more,
	 * about a sixth of a full handshake's CPU (bench/README.md). Only a
	 * client that completed a mutual-TLS handshake gets an entry; the
	 * cache is bounded, and full, OpenSSL drops the oldest.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, TLS_SESSION_CACHE_MAX);
	/*
	 * With client certificates, OpenSSL aborts a resumption unless the
	 * session is bound to a context ("session id context uninitialized").
	 */
	if (SSL_CTX_set_session_id_context(ctx, session_context,
	    sizeof(session_context) - 1) != 1)
		return -1;
	/* One TLS 1.3 ticket (a cache entry) is enough for a client. */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_max_early_data(ctx, 0);
	/* One read(2) can bring several records. */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1)
		return -1;
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	return 0;
}

static int
tls_ctx_client_ca(SSL_CTX *ctx, const char *ca, struct conf_errors *errs)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	BIO *bio;
	int rc;

	if ((bio = tls_pem_bio(ca, errs)) == NULL)
		return -1;
	rc = tls_use_ca(ctx, bio);
	BIO_free(bio);
	if (rc == -1) {
		tls_error(errs, "cannot load CA", ca);
		return -1;
	}
	/* The issuing CA is the trust anchor: no root needed. */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN |
	    X509_V_FLAG_X509_STRICT);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_verify_depth(ctx, TLS_VERIFY_DEPTH);
	return 0;
}

/* The certificate chain and key: 0, or -1 with the error in errs. */
static int
tls_ctx_identity(SSL_CTX *ctx, const struct gw_config *c,
    struct conf_errors *errs)
{
	BIO *bio;
	int rc;

	if ((bio = tls_pem_bio(c->tls.certificate, errs)) == NULL)
		return -1;
	rc = tls_use_chain(ctx, bio);
	BIO_free(bio);
	if (rc == -1) {
		tls_error(errs, "cannot load certificate", c->tls.certificate);
		return -1;
	}
	if (fbundle_withheld(c->tls.key))
		return tls_use_remote_key(ctx, c->tls.key, errs);
	if ((bio = tls_pem_bio(c->tls.key, errs)) == NULL)
		return -1;
	rc = tls_use_key(ctx, bio);
	BIO_free(bio);
	if (rc == -1) {
		tls_error(errs, "cannot load key", c->tls.key);
		return -1;
	}
	return 0;
}

SSL_CTX *
tls_server_ctx(const struct gw_config *c, struct conf_errors *errs)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || tls_ctx_policy(ctx) == -1) {
		tls_error(errs, "cannot set up TLS for", c->tls.addr_str);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (tls_ctx_identity(ctx, c, errs) == -1)
		goto fail;
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(errs, "key does not match certificate", c->tls.key);
		goto fail;
	}
	if (tls_ctx_client_ca(ctx, c->tls.ca, errs) == -1)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
