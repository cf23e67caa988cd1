/*
 * The client's half of EST (RFC 7030): a PKCS#10 request for the device's
 * own key, the CA certificates from /cacerts, and checking that what the
 * gateway issued is for our key, chains to those CAs and names a device,
 * before anything is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs/certs.h"
#include "client/gw.h"
#include "common/errbuf.h"
#include "common/xmalloc.h"

#define EST_CACERTS	"/.well-known/est/cacerts"
#define CSR_SUBJECT_CN	"mwg-device"	/* the gateway sets the real one */

static X509_REQ *
est_csr_build(EVP_PKEY *key)
{
	X509_REQ *req;
	X509_NAME *name;

	if ((req = X509_REQ_new()) == NULL)
		return NULL;
	name = X509_REQ_get_subject_name(req);
	if (X509_REQ_set_version(req, 0) != 1 ||	/* v1, the only one */
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)CSR_SUBJECT_CN, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		X509_REQ_free(req);
		return NULL;
	}
	return req;
}

char *
client_est_csr(EVP_PKEY *key, char *err, size_t errlen)
{
	unsigned char *der = NULL;
	X509_REQ *req;
	char *b64 = NULL;
	int len;

	if ((req = est_csr_build(key)) == NULL ||
	    (len = i2d_X509_REQ(req, &der)) <= 0) {
		errbuf_set(err, errlen, "cannot make the certificate request");
		ERR_clear_error();
	} else {
		/* RFC 7030 §4.2.1: the body is base64 of the DER request. */
		b64 = xmalloc(4 * (((size_t)len + 2) / 3) + 1);
		EVP_EncodeBlock((unsigned char *)b64, der, len);
	}
	OPENSSL_free(der);
	X509_REQ_free(req);
	return b64;
}

int
client_est_verify(X509 *cert, STACK_OF(X509) *untrusted,
    STACK_OF(X509) *anchors, char *err, size_t errlen)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *vctx = X509_STORE_CTX_new();
	int rc = -1, i, ok = store != NULL && vctx != NULL;

	for (i = 0; ok && i < sk_X509_num(anchors); i++)
		ok = X509_STORE_add_cert(store, sk_X509_value(anchors, i)) == 1;
	/* The issuing CA from /cacerts is the anchor, not only a root. */
	if (ok)
		ok = X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) ==
		    1 && X509_STORE_CTX_init(vctx, store, cert, untrusted) ==
		    1 && X509_STORE_CTX_set_purpose(vctx,
		    X509_PURPOSE_SSL_CLIENT) == 1;
	if (!ok)
		errbuf_set(err, errlen, "cannot check the certificate chain");
	else if (X509_verify_cert(vctx) == 1)
		rc = 0;
	else
		errbuf_set(err, errlen, "the certificate does not verify "
		    "against the gateway's CA certificates: %s",
		    X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(vctx)));
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}

X509 *
client_est_pick(STACK_OF(X509) *got, EVP_PKEY *key, STACK_OF(X509) *anchors,
    char *err, size_t errlen)
{
	struct certs_identity id;
	X509 *cert = NULL;
	int i;

	for (i = 0; i < sk_X509_num(got) && cert == NULL; i++)
		if (X509_check_private_key(sk_X509_value(got, i), key) == 1)
			cert = sk_X509_value(got, i);
	ERR_clear_error();
	if (cert == NULL) {
		errbuf_set(err, errlen, "the gateway sent no certificate for "
		    "this device's key");
		return NULL;
	}
	if (client_est_verify(cert, got, anchors, err, errlen) == -1)
		return NULL;
	memset(&id, 0, sizeof(id));
	if (certs_identity(cert, &id) == -1 || id.kind != CERTS_KIND_DEVICE) {
		errbuf_set(err, errlen, "the certificate the gateway sent "
		    "names no mwg device");
		return NULL;
	}
	X509_up_ref(cert);
	return cert;
}

char *
client_est_pem(STACK_OF(X509) *certs, size_t *lenp, char *err, size_t errlen)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;
	int i;

	if (bio == NULL)
		goto out;
	for (i = 0; i < sk_X509_num(certs); i++)
		if (PEM_write_bio_X509(bio, sk_X509_value(certs, i)) != 1)
			goto out;
	if ((len = BIO_get_mem_data(bio, &data)) <= 0)
		goto out;
	out = xstrndup(data, (size_t)len);
	if (lenp != NULL)
		*lenp = (size_t)len;
out:
	if (out == NULL)
		errbuf_set(err, errlen, "cannot encode certificates as PEM");
	BIO_free(bio);
	ERR_clear_error();
	return out;
}

STACK_OF(X509) *
client_est_read_pem(const char *text, size_t len, char *err, size_t errlen)
{
	STACK_OF(X509) *sk = NULL;
	BIO *bio = NULL;
	unsigned long e;
	X509 *x;

	if (len > STATE_FILE_MAX || (sk = sk_X509_new_null()) == NULL ||
	    (bio = BIO_new_mem_buf(text, (int)len)) == NULL)
		goto fail;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			goto fail;
		}
	/* The loop ends at the end of the text, or at something broken. */
	e = ERR_peek_last_error();
	if (sk_X509_num(sk) == 0 || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
		goto fail;
	ERR_clear_error();
	BIO_free(bio);
	return sk;
fail:
	errbuf_set(err, errlen, "%s", sk && sk_X509_num(sk) == 0 ?
	    "no PEM certificate in it" : "a PEM certificate in it is broken");
	ERR_clear_error();
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

STACK_OF(X509) *
client_est_cacerts(struct client_tls *t, const char *verb)
{
	struct client_answer a;
	char err[CLIENT_ERR_MAX];
	STACK_OF(X509) *sk = NULL;

	if (client_request(t, "GET", EST_CACERTS, NULL, NULL, 0, &a, err,
	    sizeof(err)) == -1)
		client_fail(verb, "%s", err);
	else if (a.status != 200)
		client_answer_fail(verb, &a);
	else if ((sk = certs_pkcs7_from_base64(a.body, a.body_len, err,
	    sizeof(err))) == NULL)
		client_fail(verb, "the gateway's CA certificates: %s", err);
	else if (sk_X509_num(sk) == 0) {
		client_fail(verb, "the gateway sent no CA certificates");
		sk_X509_free(sk);
		sk = NULL;
	}
	client_answer_free(&a);
	return sk;
}

X509 *
client_est_enroll(struct client_tls *t, const char *verb, const char *path,
    const char *headers, EVP_PKEY *key, STACK_OF(X509) *anchors)
{
	struct client_answer a;
	char err[CLIENT_ERR_MAX], *csr, *hdrs;
	STACK_OF(X509) *got = NULL;
	X509 *cert = NULL;

	if ((csr = client_est_csr(key, err, sizeof(err))) == NULL) {
		client_fail(verb, "%s", err);
		return NULL;
	}
	hdrs = xasprintf("Content-Type: application/pkcs10\r\n%s",
	    headers ? headers : "");
	if (client_request(t, "POST", path, hdrs, csr, strlen(csr), &a, err,
	    sizeof(err)) == -1)
		client_fail(verb, "%s", err);
	else if (a.status != 200)
		client_answer_fail(verb, &a);
	else if ((got = certs_pkcs7_from_base64(a.body, a.body_len, err,
	    sizeof(err))) == NULL)
		client_fail(verb, "the gateway's answer: %s", err);
	else if ((cert = client_est_pick(got, key, anchors, err,
	    sizeof(err))) == NULL)
		client_fail(verb, "%s", err);
	freezero_mwg(hdrs, strlen(hdrs));	/* may hold the code's secret */
	free(csr);
	sk_X509_pop_free(got, X509_free);
	client_answer_free(&a);
	return cert;
}
