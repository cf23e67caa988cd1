/*
 * certs/ for enrolment: base64 PKCS#10 requests (good keys, refused keys,
 * broken encodings), key fingerprints, certs-only PKCS#7 both ways and the
 * CRL, each cross-checked with the openssl CLI or OpenSSL's own parsers.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs/certs.h"
#include "unit.h"

#define DAY		(24 * 60 * 60)

static char tmp_dir[64];
static char ca_dir[PATH_MAX];

static void
setup_ca(void)
{
	static const char *const hosts[] = { "gw.example.org" };
	char err[CERTS_ERR_MAX];

	umask(022);
	make_tmp_dir(tmp_dir, sizeof(tmp_dir), "mwg-est-test");
	path_in(ca_dir, tmp_dir, "ca");
	cr_assert_eq(certs_ca_init(ca_dir, hosts, 1, err, sizeof(err)), 0,
	    "%s", err);
}

static void
teardown(void)
{
	remove_tree(tmp_dir);
}

/* ---- helpers ------------------------------------------------------------- */

static EVP_PKEY *
keygen(const char *what)
{
	EVP_PKEY *k = NULL;

	if (strcmp(what, "P-256") == 0 || strcmp(what, "P-384") == 0 ||
	    strcmp(what, "secp256k1") == 0)
		k = EVP_EC_gen(what);
	else if (strcmp(what, "RSA-2048") == 0)
		k = EVP_RSA_gen(2048);
	else if (strcmp(what, "RSA-3072") == 0)
		k = EVP_RSA_gen(3072);
	else if (strcmp(what, "ED25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	cr_assert_not_null(k, "keygen %s", what);
	return k;
}

/* DER of a request signed by key, with a subject that must be ignored. */
static size_t
csr_der(EVP_PKEY *key, unsigned char **der)
{
	X509_REQ *req = X509_REQ_new();
	int md_less = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
	int len;

	cr_assert_not_null(req);
	cr_assert_eq(X509_REQ_set_pubkey(req, key), 1);
	cr_assert_eq(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req),
	    "CN", MBSTRING_ASC, (const unsigned char *)"root-please", -1, -1,
	    0), 1);
	cr_assert_gt(X509_REQ_sign(req, key, md_less ? NULL : EVP_sha256()),
	    0);
	*der = NULL;
	cr_assert_gt(len = i2d_X509_REQ(req, der), 0);
	X509_REQ_free(req);
	return (size_t)len;
}

/* Base64 of der in lines of width characters ending in eol (malloc). */
static char *
b64(const unsigned char *der, size_t len, size_t width, const char *eol)
{
	size_t chunk = width / 4 * 3, cap = (len / chunk + 2) *
	    (width + strlen(eol)) + 1, o = 0;
	char *out = malloc(cap);

	cr_assert_not_null(out);
	for (size_t i = 0; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;

		o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, der + i,
		    (int)n);
		o += (size_t)snprintf(out + o, cap - o, "%s", eol);
	}
	out[o] = '\0';
	return out;
}

static char *
csr_b64(EVP_PKEY *key)
{
	unsigned char *der;
	size_t len = csr_der(key, &der);
	char *s = b64(der, len, 64, "\n");

	OPENSSL_free(der);
	return s;
}

/* Runs cmd through sh; its stdout (malloc, NUL-terminated); its status. */
static char *
run(const char *cmd, int *status)
{
	char *buf = calloc(1, 65536);
	size_t n = 0, r;
	FILE *p;

	cr_assert_not_null(buf);
	cr_assert_not_null(p = popen(cmd, "r"), "%s", cmd);
	while ((r = fread(buf + n, 1, 65535 - n, p)) > 0)
		n += r;
	*status = pclose(p);
	return buf;
}

static X509 *
load_cert(const char *name)
{
	char path[PATH_MAX], err[CERTS_ERR_MAX];
	X509 *x;

	x = certs_read_cert(path_in(path, ca_dir, name), err, sizeof(err));
	cr_assert_not_null(x, "%s", err);
	return x;
}

static struct certs_issuer *
load_issuer(void)
{
	char cpath[PATH_MAX], kpath[PATH_MAX], err[CERTS_ERR_MAX];
	struct certs_issuer *ca;

	ca = certs_issuer_load(path_in(cpath, ca_dir, CERTS_ISSUING_CERT),
	    path_in(kpath, ca_dir, CERTS_ISSUING_KEY), err, sizeof(err));
	cr_assert_not_null(ca, "%s", err);
	return ca;
}

/* ---- requests ------------------------------------------------------------ */

/* Accepted keys: the request comes back with the very same key. */
Test(csr, accepts_p256_p384_rsa3072)
{
	static const char *const kinds[] = { "P-256", "P-384", "RSA-3072" };
	char err[CERTS_ERR_MAX], want[65], got[65];

	for (size_t i = 0; i < NELEM(kinds); i++) {
		EVP_PKEY *key = keygen(kinds[i]);
		char *body = csr_b64(key);
		X509_REQ *req;

		err[0] = '\0';
		req = certs_csr_from_base64(body, strlen(body), err,
		    sizeof(err));
		cr_assert_not_null(req, "%s: %s", kinds[i], err);
		cr_expect_eq(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key), 1,
		    "%s", kinds[i]);
		cr_assert_eq(certs_key_fingerprint(key, want, sizeof(want)), 0);
		cr_assert_eq(certs_key_fingerprint(X509_REQ_get0_pubkey(req),
		    got, sizeof(got)), 0);
		cr_expect_str_eq(got, want);
		cr_expect_eq(certs_key_acceptable(key, err, sizeof(err)), 0);
		X509_REQ_free(req);
		free(body);
		EVP_PKEY_free(key);
	}
	ASSERT_NO_LEAKS();
}

/* CRLF, spaces and tabs anywhere are fine; one line is fine too. */
Test(csr, whitespace_is_allowed)
{
	EVP_PKEY *key = keygen("P-256");
	char err[CERTS_ERR_MAX];
	unsigned char *der;
	size_t len = csr_der(key, &der);
	static const struct { size_t width; const char *eol; } forms[] = {
		{ 64, "\r\n" }, { 76, "\n" }, { 4, " \t" }, { 4096, "" },
		{ 8, "\r\n  \r\n" },
	};

	for (size_t i = 0; i < NELEM(forms); i++) {
		char *body = b64(der, len, forms[i].width, forms[i].eol);
		X509_REQ *req = certs_csr_from_base64(body, strlen(body), err,
		    sizeof(err));

		cr_expect_not_null(req, "form %zu: %s", i, err);
		X509_REQ_free(req);
		free(body);
	}
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	ASSERT_NO_LEAKS();
}

/* Each refused request and the exact reason a client is given. */
Test(csr, refuses_bad_encodings)
{
	static const struct {
		const char *body;
		size_t len;	/* 0: strlen */
		const char *err;
	} cases[] = {
		{ "", 0, "empty request" },
		{ "!!!!", 0, "not base64" },
		{ "QUJD!", 0, "not base64" },
		{ "QUJ", 0, "not base64" },		/* no padding */
		{ "QQ=", 0, "not base64" },
		{ "QR==", 0, "not base64" },		/* unused bits set */
		{ "QUI=QUJD", 0, "not base64" },	/* padding inside */
		{ "Q===", 0, "not base64" },
		{ "QUJD\0QUJD", 9, "not base64" },	/* an embedded NUL */
		{ "-----BEGIN CERTIFICATE REQUEST-----", 0, "not base64" },
		{ "    \r\n", 0, "not base64" },
		{ "QUJD", 0, "not a PKCS#10 request" },	/* "ABC" */
		{ "MAA=", 0, "not a PKCS#10 request" },	/* empty SEQUENCE */
	};
	char err[CERTS_ERR_MAX];

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t len = cases[i].len ? cases[i].len :
		    strlen(cases[i].body);
		X509_REQ *req;

		err[0] = '\0';
		req = certs_csr_from_base64(cases[i].body, len, err,
		    sizeof(err));
		cr_expect_null(req, "case %zu accepted", i);
		cr_expect_str_eq(err, cases[i].err, "case %zu", i);
		X509_REQ_free(req);
	}
	cr_expect_null(certs_csr_from_base64(NULL, 0, err, sizeof(err)));
	cr_expect_str_eq(err, "empty request");
	ASSERT_NO_LEAKS();
}

static void
expect_der_refused(const unsigned char *der, size_t len, const char *want,
    const char *what)
{
	char *body = b64(der, len, 64, "\n"), err[CERTS_ERR_MAX] = "";
	X509_REQ *req = certs_csr_from_base64(body, strlen(body), err,
	    sizeof(err));

	cr_expect_null(req, "%s accepted", what);
	cr_expect_str_eq(err, want, "%s", what);
	X509_REQ_free(req);
	free(body);
}

Test(csr, refuses_truncated_padded_and_altered)
{
	EVP_PKEY *key = keygen("P-256");
	unsigned char *der, *more;
	size_t len = csr_der(key, &der);

	expect_der_refused(der, len - 1, "not a PKCS#10 request", "truncated");
	expect_der_refused(der, len / 2, "not a PKCS#10 request", "half");
	cr_assert_not_null(more = malloc(len + 1));
	memcpy(more, der, len);
	more[len] = 0;
	expect_der_refused(more, len + 1, "not a PKCS#10 request",
	    "trailing byte");
	/* The signature's last octet: still DER, no longer the key's. */
	memcpy(more, der, len);
	more[len - 1] ^= 0x01;
	expect_der_refused(more, len, "signature does not match the key",
	    "altered signature");
	/* A byte of the signed part (inside the subject's "root-please"). */
	memcpy(more, der, len);
	cr_assert_not_null(memmem(more, len, "root-please", 11));
	((unsigned char *)memmem(more, len, "root-please", 11))[0] = 'R';
	expect_der_refused(more, len, "signature does not match the key",
	    "altered subject");
	free(more);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	ASSERT_NO_LEAKS();
}

Test(csr, refuses_weak_and_other_keys)
{
	static const struct { const char *kind, *err; } cases[] = {
		{ "RSA-2048", "key type not allowed: RSA of 2048 bits (need "
		    "3072 or more)" },
		{ "ED25519", "key type not allowed: ED25519 (need EC P-256 or "
		    "P-384, or RSA of 3072 bits or more)" },
		{ "secp256k1", "key type not allowed: EC curve secp256k1 (need "
		    "P-256 or P-384)" },
	};
	char err[CERTS_ERR_MAX];

	for (size_t i = 0; i < NELEM(cases); i++) {
		EVP_PKEY *key = keygen(cases[i].kind);
		char *body = csr_b64(key);
		X509_REQ *req;

		err[0] = '\0';
		req = certs_csr_from_base64(body, strlen(body), err,
		    sizeof(err));
		cr_expect_null(req, "%s accepted", cases[i].kind);
		cr_expect_str_eq(err, cases[i].err);
		err[0] = '\0';
		cr_expect_eq(certs_key_acceptable(key, err, sizeof(err)), -1);
		cr_expect_str_eq(err, cases[i].err);
		X509_REQ_free(req);
		free(body);
		EVP_PKEY_free(key);
	}
	cr_expect_eq(certs_key_acceptable(NULL, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "key type not allowed: no key");
	ASSERT_NO_LEAKS();
}

/* A copy of key spelled otherwise: OpenSSL's encoding parameters
 * ("encoding" explicit, "point-format" compressed) set on a duplicate. */
static EVP_PKEY *
respell(EVP_PKEY *key, const char *param, const char *value)
{
	EVP_PKEY *k = EVP_PKEY_dup(key);

	cr_assert_not_null(k);
	cr_assert_eq(EVP_PKEY_set_utf8_string_param(k, param, value), 1,
	    "%s=%s", param, value);
	return k;
}

/* DER SubjectPublicKeyInfo as written, for "the bytes differ". */
static int
spki_der(EVP_PKEY *key, unsigned char **der)
{
	int len = i2d_PUBKEY(key, der);

	cr_assert_gt(len, 0);
	return len;
}

/*
 * Explicit curve parameters are refused (RFC 5480: namedCurve only), even
 * when they are P-256's own and OpenSSL names the group from them.
 */
Test(csr, refuses_explicit_curve_parameters)
{
	static const char want[] = "key type not allowed: EC key with "
	    "explicit curve parameters (need a named curve, P-256 or P-384)";
	static const char *const curves[] = { "P-256", "P-384" };
	char err[CERTS_ERR_MAX], name[64];

	for (size_t i = 0; i < NELEM(curves); i++) {
		EVP_PKEY *named = keygen(curves[i]);
		EVP_PKEY *expl = respell(named, OSSL_PKEY_PARAM_EC_ENCODING,
		    OSSL_PKEY_EC_ENCODING_EXPLICIT);
		char *body = csr_b64(expl);
		X509_REQ *req;

		/* The request really carries the parameters, not an OID... */
		cr_assert_eq(EVP_PKEY_get_group_name(expl, name, sizeof(name),
		    NULL), 1);
		err[0] = '\0';
		req = certs_csr_from_base64(body, strlen(body), err,
		    sizeof(err));
		cr_expect_null(req, "%s explicit accepted", curves[i]);
		cr_expect_str_eq(err, want);
		err[0] = '\0';
		cr_expect_eq(certs_key_acceptable(expl, err, sizeof(err)), -1);
		cr_expect_str_eq(err, want);
		/* ...and the same key with its curve's name is fine. */
		cr_expect_eq(certs_key_acceptable(named, err, sizeof(err)), 0,
		    "%s", err);
		X509_REQ_free(req);
		free(body);
		EVP_PKEY_free(expl);
		EVP_PKEY_free(named);
	}
	ASSERT_NO_LEAKS();
}

/*
 * One key, one fingerprint: the SPKI is re-encoded canonically (named
 * curve, uncompressed point) before hashing, so a compressed point or
 * explicit parameters, whose DER differs, still name the same key.
 */
Test(fingerprint, one_per_key_whatever_the_encoding)
{
	static const char *const curves[] = { "P-256", "P-384" };

	for (size_t i = 0; i < NELEM(curves); i++) {
		EVP_PKEY *named = keygen(curves[i]), *other = keygen(curves[i]);
		EVP_PKEY *spelt[2] = {
			respell(named, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
			    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
			respell(named, OSSL_PKEY_PARAM_EC_ENCODING,
			    OSSL_PKEY_EC_ENCODING_EXPLICIT),
		};
		unsigned char *d0 = NULL, *d1 = NULL;
		char want[65], got[65], third[65];
		int l0 = spki_der(named, &d0);

		cr_assert_eq(certs_key_fingerprint(named, want, sizeof(want)),
		    0);
		for (size_t j = 0; j < NELEM(spelt); j++) {
			int l1 = spki_der(spelt[j], &d1);

			cr_expect(l0 != l1 || memcmp(d0, d1, (size_t)l0) != 0,
			    "%s spelling %zu: same DER", curves[i], j);
			cr_assert_eq(certs_key_fingerprint(spelt[j], got,
			    sizeof(got)), 0);
			cr_expect_str_eq(got, want, "%s spelling %zu",
			    curves[i], j);
			OPENSSL_free(d1);
			d1 = NULL;
			EVP_PKEY_free(spelt[j]);
		}
		cr_assert_eq(certs_key_fingerprint(other, third, sizeof(third)),
		    0);
		cr_expect_str_neq(third, want);
		OPENSSL_free(d0);
		EVP_PKEY_free(named);
		EVP_PKEY_free(other);
	}
	ASSERT_NO_LEAKS();
}

/* DSA: a request made by the openssl CLI (parameters take a while). */
Test(csr, refuses_dsa, .init = setup_ca, .fini = teardown, .timeout = 120)
{
	char cmd[PATH_MAX * 3], path[PATH_MAX], err[CERTS_ERR_MAX] = "";
	char *out;
	X509_REQ *req;
	int status;

	path_in(path, tmp_dir, "dsa.csr");
	snprintf(cmd, sizeof(cmd), "cd %s && openssl genpkey -genparam "
	    "-algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -out p.pem "
	    "2>/dev/null && openssl genpkey -paramfile p.pem -out dsa.key && "
	    "openssl req -new -key dsa.key -subj /CN=x -outform DER | "
	    "openssl base64 > %s", tmp_dir, path);
	free(run(cmd, &status));
	cr_assert_eq(status, 0, "%s", cmd);
	snprintf(cmd, sizeof(cmd), "cat %s", path);
	out = run(cmd, &status);
	req = certs_csr_from_base64(out, strlen(out), err, sizeof(err));
	cr_expect_null(req);
	cr_expect_str_eq(err, "key type not allowed: DSA (need EC P-256 or "
	    "P-384, or RSA of 3072 bits or more)");
	X509_REQ_free(req);
	free(out);
}

Test(csr, refuses_huge_body)
{
	size_t len = CERTS_CSR_MAX + 1;
	char *body = malloc(len), err[CERTS_ERR_MAX];

	cr_assert_not_null(body);
	memset(body, 'A', len);
	cr_expect_null(certs_csr_from_base64(body, len, err, sizeof(err)));
	cr_expect_str_eq(err, "request too large: 16385 bytes (at most "
	    "16384)");
	/* At the limit the size is fine; the content is not a request. */
	cr_expect_null(certs_csr_from_base64(body, len - 1, err,
	    sizeof(err)));
	cr_expect_str_eq(err, "not a PKCS#10 request");
	free(body);
	ASSERT_NO_LEAKS();
}

/* The fingerprint is SHA-256 over the DER SubjectPublicKeyInfo. */
Test(fingerprint, matches_openssl_cli, .init = setup_ca, .fini = teardown)
{
	char path[PATH_MAX], cmd[PATH_MAX + 128], fpr[65];
	EVP_PKEY *key = keygen("P-384");
	char *out;
	FILE *f;
	int status;

	path_in(path, tmp_dir, "pub.pem");
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(PEM_write_PUBKEY(f, key), 1);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "openssl pkey -pubin -in %s -outform DER |"
	    " openssl dgst -sha256 -r | cut -c1-64", path);
	out = run(cmd, &status);
	cr_assert_eq(status, 0);
	cr_assert_eq(certs_key_fingerprint(key, fpr, sizeof(fpr)), 0);
	cr_expect_eq(strncmp(out, fpr, 64), 0, "%s vs %s", out, fpr);
	cr_expect_eq(strlen(fpr), 64);
	cr_expect_eq(certs_key_fingerprint(key, fpr, 64), -1);
	cr_expect_eq(certs_key_fingerprint(NULL, fpr, sizeof(fpr)), -1);
	free(out);
	EVP_PKEY_free(key);
}

/* ---- PKCS#7 -------------------------------------------------------------- */

/* Byte for byte what `openssl crl2pkcs7 -nocrl` makes, in short lines. */
Test(pkcs7, certs_only_matches_openssl, .init = setup_ca, .fini = teardown)
{
	X509 *certs[2] = { load_cert(CERTS_ISSUING_CERT),
	    load_cert(CERTS_ROOT_CERT) };
	char cmd[PATH_MAX * 3], path[PATH_MAX], *body, *want, *line;
	size_t len;
	int status;

	body = certs_pkcs7_base64(certs, 2, &len);
	cr_assert_not_null(body);
	cr_expect_eq(strlen(body), len);
	/* Lines of at most 64 characters, each ending in CRLF. */
	for (line = body; *line != '\0'; line = strstr(line, "\r\n") + 2) {
		cr_assert_not_null(strstr(line, "\r\n"));
		cr_expect_leq((size_t)(strstr(line, "\r\n") - line), 64);
	}
	path_in(path, tmp_dir, "p7.b64");
	write_file(path, body, len);
	snprintf(cmd, sizeof(cmd), "cd %s && openssl crl2pkcs7 -nocrl "
	    "-certfile %s -certfile %s -outform DER | openssl base64 -A && "
	    "echo", ca_dir, CERTS_ISSUING_CERT, CERTS_ROOT_CERT);
	want = run(cmd, &status);
	cr_assert_eq(status, 0);
	snprintf(cmd, sizeof(cmd), "tr -d '\\r\\n' < %s && echo", path);
	line = run(cmd, &status);
	cr_expect_str_eq(line, want);
	free(line);
	free(want);
	/* And the CLI reads both certificates back, in order. */
	snprintf(cmd, sizeof(cmd), "openssl base64 -d -in %s | openssl pkcs7 "
	    "-inform DER -print_certs -noout | grep subject=", path);
	want = run(cmd, &status);
	cr_expect_str_eq(want, "subject=CN = mwg issuing CA\n"
	    "subject=CN = mwg root CA\n");
	free(want);
	free(body);
	X509_free(certs[0]);
	X509_free(certs[1]);
}

Test(pkcs7, round_trip, .init = setup_ca, .fini = teardown)
{
	X509 *certs[2] = { load_cert(CERTS_ISSUING_CERT),
	    load_cert(CERTS_ROOT_CERT) };
	STACK_OF(X509) *sk;
	char err[CERTS_ERR_MAX], *body;
	size_t len;

	cr_assert_not_null(body = certs_pkcs7_base64(certs, 2, &len));
	sk = certs_pkcs7_from_base64(body, len, err, sizeof(err));
	cr_assert_not_null(sk, "%s", err);
	cr_assert_eq(sk_X509_num(sk), 2);
	cr_expect_eq(X509_cmp(sk_X509_value(sk, 0), certs[0]), 0);
	cr_expect_eq(X509_cmp(sk_X509_value(sk, 1), certs[1]), 0);
	sk_X509_pop_free(sk, X509_free);
	free(body);
	cr_expect_null(certs_pkcs7_base64(certs, 0, &len));
	cr_expect_null(certs_pkcs7_base64(NULL, 1, &len));
	X509_free(certs[0]);
	X509_free(certs[1]);
	ASSERT_NO_LEAKS();
}

static char *
p7_b64(PKCS7 *p7)
{
	unsigned char *der = NULL;
	int len = i2d_PKCS7(p7, &der);
	char *s;

	cr_assert_gt(len, 0);
	s = b64(der, (size_t)len, 64, "\r\n");
	OPENSSL_free(der);
	return s;
}

Test(pkcs7, refuses_what_is_not_certs_only)
{
	PKCS7 *empty = PKCS7_new(), *data = PKCS7_new();
	char err[CERTS_ERR_MAX], *b[2];
	static const struct { const char *body, *err; } cases[] = {
		{ "", "empty PKCS#7 body" },
		{ "?!", "not base64" },
		{ "QUJD", "not a PKCS#7 structure" },
		{ "MAA=", "not a PKCS#7 structure" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		cr_expect_null(certs_pkcs7_from_base64(cases[i].body,
		    strlen(cases[i].body), err, sizeof(err)), "case %zu", i);
		cr_expect_str_eq(err, cases[i].err, "case %zu", i);
	}
	cr_assert_eq(PKCS7_set_type(empty, NID_pkcs7_signed), 1);
	cr_assert_eq(PKCS7_content_new(empty, NID_pkcs7_data), 1);
	cr_assert_eq(PKCS7_set_type(data, NID_pkcs7_data), 1);
	b[0] = p7_b64(empty);
	b[1] = p7_b64(data);
	cr_expect_null(certs_pkcs7_from_base64(b[0], strlen(b[0]), err,
	    sizeof(err)));
	cr_expect_str_eq(err, "PKCS#7 holds no certificate");
	cr_expect_null(certs_pkcs7_from_base64(b[1], strlen(b[1]), err,
	    sizeof(err)));
	cr_expect_str_eq(err, "not a PKCS#7 SignedData");
	free(b[0]);
	free(b[1]);
	PKCS7_free(empty);
	PKCS7_free(data);
	ASSERT_NO_LEAKS();
}

/* ---- CRL ------------------------------------------------------------------ */

static X509 *
issue_device(struct certs_issuer *ca, const char *id)
{
	char err[CERTS_ERR_MAX];
	EVP_PKEY *key = certs_new_key();
	time_t now = time(NULL);
	X509 *x;

	cr_assert_not_null(key);
	x = certs_issue_device(ca, key, id, now - 300, now + 90 * DAY, err,
	    sizeof(err));
	cr_assert_not_null(x, "%s", err);
	EVP_PKEY_free(key);
	return x;
}

static void
serial_of(X509 *x, char *buf, size_t len)
{
	struct certs_identity id;

	cr_assert_eq(certs_identity(x, &id), 0);
	cr_assert_lt(strlen(id.serial), len);
	strcpy(buf, id.serial);
}

/* What `openssl verify -crl_check` says of cert against crl; its status. */
static char *
verify_with_crl(const char *cert_name, int *status)
{
	char cmd[PATH_MAX * 4];

	snprintf(cmd, sizeof(cmd), "cd %s && openssl verify -crl_check "
	    "-CAfile ca/%s -untrusted ca/%s -CRLfile crl.pem %s 2>&1",
	    tmp_dir, CERTS_ROOT_CERT, CERTS_ISSUING_CERT, cert_name);
	return run(cmd, status);
}

Test(crl, signed_v2_with_number_and_verifies, .init = setup_ca,
    .fini = teardown)
{
	struct certs_issuer *ca = load_issuer();
	X509 *gone = issue_device(ca, "gone-1"), *kept = issue_device(ca,
	    "kept-1");
	char serial[64], path[PATH_MAX], cmd[PATH_MAX * 3], err[CERTS_ERR_MAX];
	time_t now = time(NULL);
	struct certs_revoked rev[2] = {
		{ serial, now - 60, 0 },
		{ "1F", now - 120, CERTS_CRL_REASON_SUPERSEDED },
	};
	char *pem, *out;
	int status;

	serial_of(gone, serial, sizeof(serial));
	pem = certs_crl_pem(ca, rev, 2, now - 10, now + DAY, 42, err,
	    sizeof(err));
	cr_assert_not_null(pem, "%s", err);
	write_file(path_in(path, tmp_dir, "crl.pem"), pem, 0);
	cr_assert_eq(certs_write_cert(path_in(path, tmp_dir, "gone.pem"), gone,
	    0, err, sizeof(err)), 0);
	cr_assert_eq(certs_write_cert(path_in(path, tmp_dir, "kept.pem"), kept,
	    0, err, sizeof(err)), 0);
	/* The CLI checks the signature against the issuing CA. */
	snprintf(cmd, sizeof(cmd), "cd %s && openssl crl -in crl.pem -CAfile "
	    "ca/%s -noout -crlnumber -text 2>&1", tmp_dir,
	    CERTS_ISSUING_CERT);
	out = run(cmd, &status);
	cr_expect_eq(status, 0, "%s", out);
	cr_expect_not_null(strstr(out, "verify OK"), "%s", out);
	cr_expect_not_null(strstr(out, "crlNumber=0x2A"), "%s", out);
	cr_expect_not_null(strstr(out, "Version 2 (0x1)"), "%s", out);
	cr_expect_not_null(strstr(out, "ecdsa-with-SHA256"), "%s", out);
	cr_expect_not_null(strstr(out, "X509v3 Authority Key Identifier"),
	    "%s", out);
	cr_expect_not_null(strstr(out, "Serial Number: 1F"), "%s", out);
	/* Only the superseded entry carries a reason code. */
	cr_expect_not_null(strstr(out, "X509v3 CRL Reason Code: \n"
	    "                Superseded"), "%s", out);
	cr_expect_null(strstr(strstr(out, "X509v3 CRL Reason Code") + 1,
	    "X509v3 CRL Reason Code"), "%s", out);
	cr_expect_not_null(strstr(out, serial), "%s", out);
	free(out);
	out = verify_with_crl("gone.pem", &status);
	cr_expect_neq(status, 0);
	cr_expect_not_null(strstr(out, "certificate revoked"), "%s", out);
	free(out);
	out = verify_with_crl("kept.pem", &status);
	cr_expect_eq(status, 0, "%s", out);
	cr_expect_str_eq(out, "kept.pem: OK\n");
	free(out);
	free(pem);
	X509_free(gone);
	X509_free(kept);
	certs_issuer_free(ca);
}

Test(crl, empty_list_and_refusals, .init = setup_ca, .fini = teardown)
{
	struct certs_issuer *ca = load_issuer();
	char err[CERTS_ERR_MAX], *pem;
	time_t now = time(NULL);
	static const struct { const char *serial, *err; } bad[] = {
		{ "", "revoked entry 1: serial is not 1..40 hex digits" },
		{ "XYZ", "revoked entry 1: serial is not 1..40 hex digits" },
		{ "-1F", "revoked entry 1: serial is not 1..40 hex digits" },
		{ "0", "revoked entry 1: serial is not 1..40 hex digits" },
		{ "12345678901234567890123456789012345678901",
		    "revoked entry 1: serial is not 1..40 hex digits" },
	};
	BIO *bio;
	X509_CRL *crl;

	pem = certs_crl_pem(ca, NULL, 0, now, now + DAY, 0, err, sizeof(err));
	cr_assert_not_null(pem, "%s", err);
	cr_assert_not_null(bio = BIO_new_mem_buf(pem, -1));
	cr_assert_not_null(crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL));
	cr_expect_eq(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	cr_expect_leq(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 0);
	cr_expect_eq(X509_CRL_verify(crl, X509_get0_pubkey(
	    certs_issuer_cert(ca))), 1);
	X509_CRL_free(crl);
	BIO_free(bio);
	free(pem);
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct certs_revoked r = { bad[i].serial, now, 0 };

		cr_expect_null(certs_crl_pem(ca, &r, 1, now, now + DAY, 1, err,
		    sizeof(err)), "case %zu", i);
		cr_expect_str_eq(err, bad[i].err, "case %zu", i);
	}
	cr_expect_null(certs_crl_pem(ca, NULL, 0, now, now, 1, err,
	    sizeof(err)));
	cr_expect_str_eq(err, "nextUpdate is not after lastUpdate");
	cr_expect_null(certs_crl_pem(ca, NULL, 0, now, now + 1, -1, err,
	    sizeof(err)));
	cr_expect_str_eq(err, "CRL number -1 is negative");
	certs_issuer_free(ca);
	ASSERT_NO_LEAKS();
}
