/*
 * Remote ECDSA signing for the TLS server key (net/tls_remote.h). OpenSSL
 * 3.0 has no non-deprecated way short of a provider to put a callback
 * under a key; an EC_KEY_METHOD makes the key "foreign", which keeps its
 * signatures on the method's path.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "gateway/net/tls_remote.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/ecdsa.h>

#include "gateway/ipc.h"

/* A signature travels the channel once per full handshake: quick. */
#define TLS_SIGN_TIMEOUT_MS	10000
#define TLS_DIGEST_MAX		64

static struct ipc *sign_ch;
static EC_KEY_METHOD *sign_meth;

/* The monitor's DER signature of dgst into sig: 1, or 0. */
static int
remote_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
    unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *eckey)
{
	json_t *reply;
	unsigned char *der;
	size_t len;
	int ok = 0;

	(void)type;
	(void)kinv;
	(void)r;
	if (sign_ch == NULL || dlen <= 0 || dlen > TLS_DIGEST_MAX)
		return 0;
	reply = ipc_call(sign_ch, IPC_TLS_SIGN, json_pack("{s:o}", "digest",
	    ipc_b64_new(dgst, (size_t)dlen)), TLS_SIGN_TIMEOUT_MS);
	der = ipc_b64(reply, "sig", (size_t)ECDSA_size(eckey), &len);
	if (der != NULL && len > 0) {
		memcpy(sig, der, len);
		*siglen = (unsigned int)len;
		ok = 1;
	}
	free(der);
	json_decref(reply);
	return ok;
}

static ECDSA_SIG *
remote_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *eckey)
{
	unsigned char buf[256];
	const unsigned char *p = buf;
	unsigned int len = 0;

	if ((int)sizeof(buf) < ECDSA_size(eckey) ||
	    !remote_sign(0, dgst, dlen, buf, &len, kinv, r, eckey))
		return NULL;
	return d2i_ECDSA_SIG(NULL, &p, (long)len);
}

void
tls_remote_init(struct ipc *ch)
{
	sign_ch = ch;
	if (sign_meth != NULL)
		return;
	sign_meth = EC_KEY_METHOD_new(EC_KEY_get_default_method());
	EC_KEY_METHOD_set_sign(sign_meth, remote_sign, NULL, remote_sign_sig);
}

EVP_PKEY *
tls_remote_key(X509 *cert)
{
	EC_KEY *pub, *key;
	EVP_PKEY *pk;

	if (sign_meth == NULL || (pub = EVP_PKEY_get1_EC_KEY(
	    X509_get0_pubkey(cert))) == NULL)
		return NULL;
	key = EC_KEY_new();
	if (key == NULL || EC_KEY_set_method(key, sign_meth) != 1 ||
	    EC_KEY_set_group(key, EC_KEY_get0_group(pub)) != 1 ||
	    EC_KEY_set_public_key(key, EC_KEY_get0_public_key(pub)) != 1 ||
	    (pk = EVP_PKEY_new()) == NULL) {
		EC_KEY_free(key);
		EC_KEY_free(pub);
		return NULL;
	}
	EC_KEY_free(pub);
	if (EVP_PKEY_assign_EC_KEY(pk, key) != 1) {
		EC_KEY_free(key);
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}
