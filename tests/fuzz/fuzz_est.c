/*
 * libFuzzer harness for EST bodies (certs/est.c): every input goes to
 * certs_csr_from_base64 and to certs_pkcs7_from_base64. A request that
 * passes must carry an allowed key that signed it; certificates read from
 * a PKCS#7 must survive a round trip through certs_pkcs7_base64 unchanged.
 * Run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "certs/certs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_csr(const char *body, size_t size)
{
	char err[CERTS_ERR_MAX] = "", fpr[65];
	X509_REQ *req;
	EVP_PKEY *key;

	req = certs_csr_from_base64(body, size, err, sizeof(err));
	if (req == NULL) {
		if (err[0] == '\0')
			abort();	/* a refusal always says why */
		return;
	}
	key = X509_REQ_get0_pubkey(req);
	if (key == NULL || certs_key_acceptable(key, err, sizeof(err)) != 0 ||
	    X509_REQ_verify(req, key) != 1 ||
	    certs_key_fingerprint(key, fpr, sizeof(fpr)) != 0 ||
	    strlen(fpr) != 64)
		abort();
	X509_REQ_free(req);
}

static void
check_pkcs7(const char *body, size_t size)
{
	STACK_OF(X509) *sk, *again;
	char err[CERTS_ERR_MAX] = "", *b64;
	X509 **certs;
	size_t len;
	int i, n;

	if ((sk = certs_pkcs7_from_base64(body, size, err, sizeof(err))) ==
	    NULL) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if ((n = sk_X509_num(sk)) <= 0 ||
	    (certs = calloc((size_t)n, sizeof(*certs))) == NULL)
		abort();
	for (i = 0; i < n; i++)
		certs[i] = sk_X509_value(sk, i);
	if ((b64 = certs_pkcs7_base64(certs, (size_t)n, &len)) != NULL) {
		again = certs_pkcs7_from_base64(b64, len, err, sizeof(err));
		if (again == NULL || sk_X509_num(again) != n)
			abort();
		for (i = 0; i < n; i++)
			if (X509_cmp(sk_X509_value(again, i), certs[i]) != 0)
				abort();
		sk_X509_pop_free(again, X509_free);
		free(b64);
	}
	free(certs);
	sk_X509_pop_free(sk, X509_free);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size + 1);

	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	check_csr(body, size);
	check_pkcs7(body, size);
	free(body);
	return 0;
}
