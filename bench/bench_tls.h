/*
 * The server side the two OpenSSL floors share (bench/tls_floor.c for
 * memory, bench/hs_floor.c for CPU), header only like bench.h: the bench
 * CA's server chain and key, the issuing CA as the only trust anchor (as
 * mwgd: partial chains, strict), the client certificate requested and any
 * chain let through to be looked at afterwards. Each floor adds the
 * settings it measures.
 */
#ifndef MWG_BENCH_TLS_H
#define MWG_BENCH_TLS_H

#include <stdio.h>
#include <stdlib.h>

#include <openssl/ssl.h>

static inline int
bench_accept_any(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

/* A server context from CA_DIR/{server.pem,server.key,issuing.pem}. */
static inline SSL_CTX *
bench_server_ctx(const char *dir, const char *prog)
{
	static const unsigned char sid[] = "floor";
	SSL_CTX *s = SSL_CTX_new(TLS_server_method());
	char p[1024];
	int ok = s != NULL;

	snprintf(p, sizeof(p), "%s/server.pem", dir);
	ok = ok && SSL_CTX_use_certificate_chain_file(s, p) == 1;
	snprintf(p, sizeof(p), "%s/server.key", dir);
	ok = ok && SSL_CTX_use_PrivateKey_file(s, p, SSL_FILETYPE_PEM) == 1;
	snprintf(p, sizeof(p), "%s/issuing.pem", dir);
	ok = ok && SSL_CTX_load_verify_locations(s, p, NULL) == 1;
	if (!ok) {
		fprintf(stderr, "%s: cannot load %s\n", prog, dir);
		exit(1);
	}
	X509_STORE_set_flags(SSL_CTX_get_cert_store(s),
	    X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
	SSL_CTX_set_verify(s, SSL_VERIFY_PEER, bench_accept_any);
	SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(s, sid, sizeof(sid) - 1);
	SSL_CTX_set_read_ahead(s, 1);
	return s;
}

#endif
