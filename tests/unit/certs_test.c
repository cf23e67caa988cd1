/*
 * certs/: CA creation, device issuing, identity parsing and the file
 * writers, checked with OpenSSL's own verifier rather than by our code.
 * Each test works in its own mkdtemp directory under /tmp.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs/certs.h"
#include "unit.h"

#define DAY		(24 * 60 * 60)

static const char *const test_hosts[] = {
	"gw.example.org", "127.0.0.1", "::1", "localhost",
};

static const char *const ca_names[] = {
	CERTS_ROOT_KEY, CERTS_ROOT_CERT, CERTS_ISSUING_KEY,
	CERTS_ISSUING_CERT, CERTS_SERVER_KEY, CERTS_SERVER_CERT,
};

static char tmp_dir[64];	/* mkdtemp, removed by teardown */
static char ca_dir[PATH_MAX];	/* tmp_dir/ca, made by certs_ca_init */

static void
setup_tmp(void)
{
	umask(022);
	make_tmp_dir(tmp_dir, sizeof(tmp_dir), "mwg-certs-test");
	path_in(ca_dir, tmp_dir, "ca");
}

static void
setup_ca(void)
{
	char err[CERTS_ERR_MAX];

	setup_tmp();
	cr_assert_eq(certs_ca_init(ca_dir, test_hosts, NELEM(test_hosts), err,
	    sizeof(err)), 0, "ca init: %s", err);
}

static void
teardown(void)
{
	remove_tree(tmp_dir);
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

/* The issuing CA in ca_dir; the caller frees. */
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

/* A device certificate for a new key, valid from 5 minutes ago. */
static X509 *
issue_device(const char *id, time_t not_after)
{
	char err[CERTS_ERR_MAX];
	struct certs_issuer *ca = load_issuer();
	EVP_PKEY *key;
	X509 *x;

	cr_assert_not_null(key = certs_new_key());
	x = certs_issue_device(ca, key, id, time(NULL) - 300, not_after, err,
	    sizeof(err));
	cr_assert_not_null(x, "%s", err);
	EVP_PKEY_free(key);
	certs_issuer_free(ca);
	return x;
}

/* X509_V_OK or the verifier's error for leaf against the given trust. */
static int
verify(X509 *leaf, X509 *const *trusted, size_t ntrusted, X509 *untrusted,
    unsigned long flags, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	size_t i;
	int rc;

	cr_assert(store != NULL && ctx != NULL && chain != NULL);
	for (i = 0; i < ntrusted; i++)
		cr_assert_eq(X509_STORE_add_cert(store, trusted[i]), 1);
	if (untrusted != NULL)
		cr_assert_gt(sk_X509_push(chain, untrusted), 0);
	cr_assert_eq(X509_STORE_CTX_init(ctx, store, leaf, chain), 1);
	X509_STORE_CTX_set_flags(ctx, flags);
	if (purpose != 0)
		cr_assert_eq(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	rc = X509_verify_cert(ctx) == 1 ? X509_V_OK :
	    X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(chain);	/* the certificates stay the caller's */
	return rc;
}

static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	cr_assert_not_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

Test(ca_init, writes_six_files_with_modes, .init = setup_ca,
    .fini = teardown)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	cr_assert_eq(stat(ca_dir, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0700, "dir mode %o", st.st_mode);
	for (i = 0; i < NELEM(ca_names); i++) {
		cr_assert_eq(stat(path_in(path, ca_dir, ca_names[i]), &st), 0,
		    "%s missing", ca_names[i]);
		cr_expect(S_ISREG(st.st_mode));
		cr_expect_eq(st.st_mode & 07777,
		    strstr(ca_names[i], ".key") != NULL ? 0600 : 0644,
		    "%s mode %o", ca_names[i], st.st_mode & 07777);
	}
	cr_expect_eq(count_entries(ca_dir), 6);
	ASSERT_NO_LEAKS();
}

Test(ca_init, ca_profiles, .init = setup_ca, .fini = teardown)
{
	X509 *root = load_cert(CERTS_ROOT_CERT);
	X509 *issuing = load_cert(CERTS_ISSUING_CERT);
	BASIC_CONSTRAINTS *bc;
	char cn[64];
	int crit;

	cr_expect_eq(X509_NAME_get_text_by_NID(X509_get_subject_name(root),
	    NID_commonName, cn, sizeof(cn)) > 0, 1);
	cr_expect_str_eq(cn, "mwg root CA");
	cr_expect_eq(X509_NAME_get_text_by_NID(X509_get_subject_name(issuing),
	    NID_commonName, cn, sizeof(cn)) > 0, 1);
	cr_expect_str_eq(cn, "mwg issuing CA");
	bc = X509_get_ext_d2i(issuing, NID_basic_constraints, &crit, NULL);
	cr_assert_not_null(bc);
	cr_expect(bc->ca && crit == 1);
	cr_expect_eq(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	cr_expect(X509_get_key_usage(root) & KU_KEY_CERT_SIGN);
	cr_expect_not_null(X509_get0_subject_key_id(root));
	cr_expect_not_null(X509_get0_authority_key_id(issuing));
	cr_expect_eq(ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(root),
	    X509_get0_authority_key_id(issuing)), 0);
	cr_expect_eq(X509_get_signature_nid(issuing), NID_ecdsa_with_SHA256);
	X509_free(root);
	X509_free(issuing);
	ASSERT_NO_LEAKS();
}

Test(ca_init, refuses_second_init_and_changes_nothing, .init = setup_ca,
    .fini = teardown)
{
	static const char *const other[] = { "other.example.org" };
	char path[PATH_MAX], err[CERTS_ERR_MAX];
	struct stat before[NELEM(ca_names)], after;
	size_t i;

	for (i = 0; i < NELEM(ca_names); i++)
		cr_assert_eq(stat(path_in(path, ca_dir, ca_names[i]),
		    &before[i]), 0);
	sleep(1);	/* so a rewrite would show in st_mtime */
	cr_assert_eq(certs_ca_init(ca_dir, other, 1, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "already exists"), "err: %s", err);
	for (i = 0; i < NELEM(ca_names); i++) {
		cr_assert_eq(stat(path_in(path, ca_dir, ca_names[i]), &after),
		    0);
		cr_expect_eq(after.st_ino, before[i].st_ino, "%s",
		    ca_names[i]);
		cr_expect_eq(after.st_mtime, before[i].st_mtime, "%s",
		    ca_names[i]);
		cr_expect_eq(after.st_size, before[i].st_size, "%s",
		    ca_names[i]);
	}
	cr_expect_eq(count_entries(ca_dir), 6);
	ASSERT_NO_LEAKS();
}

/* Any one file already there is enough to refuse, before writing any. */
Test(ca_init, refuses_if_any_file_exists, .init = setup_tmp,
    .fini = teardown)
{
	char dir[PATH_MAX], path[PATH_MAX], err[CERTS_ERR_MAX];
	size_t i;
	FILE *fp;

	for (i = 0; i < NELEM(ca_names); i++) {
		snprintf(dir, sizeof(dir), "%s/ca%zu", tmp_dir, i);
		cr_assert_eq(mkdir(dir, 0700), 0);
		cr_assert_not_null(fp = fopen(path_in(path, dir, ca_names[i]),
		    "w"));
		fclose(fp);
		cr_expect_eq(certs_ca_init(dir, test_hosts, 1, err,
		    sizeof(err)), -1, "%s", ca_names[i]);
		cr_expect_not_null(strstr(err, ca_names[i]), "err: %s", err);
		cr_expect_eq(count_entries(dir), 1, "%s", ca_names[i]);
	}
	ASSERT_NO_LEAKS();
}

Test(ca_init, rejects_bad_hosts_before_touching_disk, .init = setup_tmp,
    .fini = teardown)
{
	static const char *const bad[] = {
		"", "bad host", "a,b", "-lead.example", "trail-.example",
		"x..y", ".x", "x.", "host/path", "*.example.org",
		"1.2.3.4:443",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		".example",
	};
	char err[CERTS_ERR_MAX];
	struct stat st;
	size_t i;

	for (i = 0; i < NELEM(bad); i++) {
		cr_expect_eq(certs_ca_init(ca_dir, &bad[i], 1, err,
		    sizeof(err)), -1, "host \"%s\" accepted", bad[i]);
		cr_expect_eq(stat(ca_dir, &st), -1, "dir made for \"%s\"",
		    bad[i]);
	}
	cr_expect_eq(certs_ca_init(ca_dir, test_hosts, 0, err, sizeof(err)),
	    -1);
	ASSERT_NO_LEAKS();
}

Test(ca_init, missing_parent_dir_fails, .init = setup_tmp, .fini = teardown)
{
	char dir[PATH_MAX], err[CERTS_ERR_MAX];

	snprintf(dir, sizeof(dir), "%s/no/such", tmp_dir);
	cr_expect_eq(certs_ca_init(dir, test_hosts, 1, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "No such file"), "err: %s", err);
	ASSERT_NO_LEAKS();
}

Test(chain, device_verifies_to_issuing_and_root, .init = setup_ca,
    .fini = teardown)
{
	X509 *root = load_cert(CERTS_ROOT_CERT);
	X509 *issuing = load_cert(CERTS_ISSUING_CERT);
	X509 *dev = issue_device("laptop-01", time(NULL) + 90 * DAY);

	/* What mwgd does: trust only the issuing CA. */
	cr_expect_eq(verify(dev, &issuing, 1, NULL,
	    X509_V_FLAG_PARTIAL_CHAIN, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	cr_expect_eq(verify(dev, &root, 1, issuing, 0,
	    X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	cr_expect_eq(verify(issuing, &root, 1, NULL, 0, 0), X509_V_OK);
	/* Without the issuing CA there is no path to the root. */
	cr_expect_neq(verify(dev, &root, 1, NULL, 0, 0), X509_V_OK);
	X509_free(dev);
	X509_free(issuing);
	X509_free(root);
	ASSERT_NO_LEAKS();
}

Test(chain, expired_device_fails, .init = setup_ca, .fini = teardown)
{
	X509 *issuing = load_cert(CERTS_ISSUING_CERT);
	X509 *dev = issue_device("laptop-01", time(NULL) - 60);

	cr_expect_eq(verify(dev, &issuing, 1, NULL, X509_V_FLAG_PARTIAL_CHAIN,
	    X509_PURPOSE_SSL_CLIENT), X509_V_ERR_CERT_HAS_EXPIRED);
	X509_free(dev);
	X509_free(issuing);
	ASSERT_NO_LEAKS();
}

Test(server, has_given_names_and_verifies_as_server, .init = setup_ca,
    .fini = teardown)
{
	static const struct {
		const char	*name;
		int		 is_ip;
		int		 want;
	} cases[] = {
		{ "gw.example.org", 0, 1 },
		{ "localhost", 0, 1 },
		{ "other.example.org", 0, 0 },
		{ "127.0.0.1", 1, 1 },
		{ "::1", 1, 1 },
		{ "127.0.0.2", 1, 0 },
	};
	X509 *root = load_cert(CERTS_ROOT_CERT);
	X509 *srv = load_cert(CERTS_SERVER_CERT);
	char cn[256];
	size_t i;
	int got;

	for (i = 0; i < NELEM(cases); i++) {
		if (cases[i].is_ip)
			got = X509_check_ip_asc(srv, cases[i].name, 0);
		else
			got = X509_check_host(srv, cases[i].name, 0, 0, NULL);
		cr_expect_eq(got == 1, cases[i].want, "%s", cases[i].name);
	}
	cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(srv),
	    NID_commonName, cn, sizeof(cn)), 0);
	cr_expect_str_eq(cn, "gw.example.org");
	cr_expect_eq(verify(srv, &root, 1, NULL, 0, X509_PURPOSE_SSL_SERVER),
	    X509_V_OK);
	cr_expect_eq(X509_get_extended_key_usage(srv), XKU_SSL_SERVER);
	X509_free(srv);
	X509_free(root);
	ASSERT_NO_LEAKS();
}

/* The reason the server certificate hangs off the root. */
Test(server, never_passes_as_client, .init = setup_ca, .fini = teardown)
{
	X509 *root = load_cert(CERTS_ROOT_CERT);
	X509 *issuing = load_cert(CERTS_ISSUING_CERT);
	X509 *srv = load_cert(CERTS_SERVER_CERT);
	X509 *both[2] = { root, issuing };

	cr_expect_neq(verify(srv, &issuing, 1, NULL,
	    X509_V_FLAG_PARTIAL_CHAIN, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	cr_expect_neq(verify(srv, &issuing, 1, root,
	    X509_V_FLAG_PARTIAL_CHAIN, 0), X509_V_OK);
	/* Even trusting both CAs, its EKU is serverAuth only. */
	cr_expect_neq(verify(srv, both, 2, NULL, 0, X509_PURPOSE_SSL_CLIENT),
	    X509_V_OK);
	X509_free(srv);
	X509_free(issuing);
	X509_free(root);
	ASSERT_NO_LEAKS();
}

Test(device, profile_is_client_only, .init = setup_ca, .fini = teardown)
{
	X509 *dev = issue_device("laptop-01", time(NULL) + 90 * DAY);
	X509 *issuing = load_cert(CERTS_ISSUING_CERT);
	char cn[64];

	cr_expect_eq(X509_get_extended_key_usage(dev), XKU_SSL_CLIENT);
	cr_expect_eq(X509_check_ca(dev), 0);
	cr_expect_neq(X509_check_purpose(dev, X509_PURPOSE_SSL_SERVER, 0), 1);
	cr_expect_eq(X509_get_key_usage(dev), KU_DIGITAL_SIGNATURE);
	cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(dev),
	    NID_commonName, cn, sizeof(cn)), 0);
	cr_expect_str_eq(cn, "laptop-01");
	cr_expect_eq(ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(issuing),
	    X509_get0_authority_key_id(dev)), 0);
	cr_expect_eq(X509_get_signature_nid(dev), NID_ecdsa_with_SHA256);
	X509_free(issuing);
	X509_free(dev);
	ASSERT_NO_LEAKS();
}

Test(device, serials_are_random_and_positive, .init = setup_ca,
    .fini = teardown)
{
	X509 *a = issue_device("a", time(NULL) + DAY);
	X509 *b = issue_device("a", time(NULL) + DAY);
	BIGNUM *bn;

	cr_expect_neq(ASN1_INTEGER_cmp(X509_get0_serialNumber(a),
	    X509_get0_serialNumber(b)), 0);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(a), NULL);
	cr_assert_not_null(bn);
	cr_expect(!BN_is_negative(bn) && !BN_is_zero(bn));
	cr_expect_leq(BN_num_bits(bn), 128);
	BN_free(bn);
	X509_free(a);
	X509_free(b);
	ASSERT_NO_LEAKS();
}

Test(device, refuses_bad_requests, .init = setup_ca, .fini = teardown)
{
	char err[CERTS_ERR_MAX];
	struct certs_issuer *ca = load_issuer();
	EVP_PKEY *key = certs_new_key();
	time_t now = time(NULL);

	cr_expect_null(certs_issue_device(ca, key, "../x", now, now + DAY,
	    err, sizeof(err)));
	cr_expect_not_null(strstr(err, "device id"), "err: %s", err);
	cr_expect_null(certs_issue_device(ca, key, "ok", now, now, err,
	    sizeof(err)));
	cr_expect_null(certs_issue_device(ca, NULL, "ok", now, now + DAY,
	    err, sizeof(err)));
	EVP_PKEY_free(key);
	certs_issuer_free(ca);
	certs_issuer_free(NULL);
	ASSERT_NO_LEAKS();
}

Test(issuer, load_failures_say_why, .init = setup_ca, .fini = teardown)
{
	static const struct {
		const char	*cert;
		const char	*key;
		const char	*want;
	} cases[] = {
		{ CERTS_ISSUING_CERT, CERTS_ROOT_KEY, "does not match" },
		{ CERTS_ISSUING_CERT, "nope.key", "No such file" },
		{ "nope.pem", CERTS_ISSUING_KEY, "No such file" },
		{ CERTS_ISSUING_KEY, CERTS_ISSUING_KEY, "not a PEM cert" },
		{ CERTS_ISSUING_CERT, CERTS_ISSUING_CERT, "private key" },
		{ CERTS_SERVER_CERT, CERTS_SERVER_KEY, "not a CA" },
	};
	char cpath[PATH_MAX], kpath[PATH_MAX], err[CERTS_ERR_MAX];
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		err[0] = '\0';
		cr_expect_null(certs_issuer_load(path_in(cpath, ca_dir,
		    cases[i].cert), path_in(kpath, ca_dir, cases[i].key), err,
		    sizeof(err)), "case %zu", i);
		cr_expect_not_null(strstr(err, cases[i].want),
		    "case %zu: err \"%s\", want \"%s\"", i, err, cases[i].want);
		cr_expect_null(strchr(err, '\n'), "case %zu", i);
	}
	ASSERT_NO_LEAKS();
}

/* A self-signed certificate whose SAN holds uris (none: one DNS name). */
static X509 *
make_uri_cert(EVP_PKEY *key, const char *const *uris, const size_t *lens,
    size_t n)
{
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	X509 *x = X509_new();
	ASN1_IA5STRING *s;
	GENERAL_NAME *gn;
	size_t i;

	cr_assert(names != NULL && x != NULL);
	for (i = 0; i < n || (n == 0 && i == 0); i++) {
		cr_assert_not_null(gn = GENERAL_NAME_new());
		cr_assert_not_null(s = ASN1_IA5STRING_new());
		cr_assert_eq(ASN1_STRING_set(s, n ? uris[i] : "x.example",
		    n ? (int)lens[i] : -1), 1);
		GENERAL_NAME_set0_value(gn, n ? GEN_URI : GEN_DNS, s);
		cr_assert_gt(sk_GENERAL_NAME_push(names, gn), 0);
	}
	cr_assert_eq(X509_set_version(x, X509_VERSION_3), 1);
	cr_assert_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1abc), 1);
	cr_assert_not_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	cr_assert_not_null(X509_gmtime_adj(X509_getm_notAfter(x), DAY));
	cr_assert_eq(X509_set_pubkey(x, key), 1);
	cr_assert_eq(X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, 0),
	    1);
	cr_assert_gt(X509_sign(x, key, EVP_sha256()), 0);
	GENERAL_NAMES_free(names);
	return x;
}

Test(identity, reads_san_uris)
{
	static const struct {
		const char	*uris[3];
		int		 want;
		enum certs_kind	 kind;
		const char	*device;
		const char	*user;
	} cases[] = {
		{ { "urn:mwg:device:laptop-01" }, 0, CERTS_KIND_DEVICE,
		    "laptop-01", "" },
		{ { "urn:mwg:user:alice", "urn:mwg:device:laptop-01" }, 0,
		    CERTS_KIND_SESSION, "laptop-01", "alice" },
		{ { "urn:mwg:device:d1", "urn:mwg:user:a.smith_2" }, 0,
		    CERTS_KIND_SESSION, "d1", "a.smith_2" },
		{ { "https://example.org/", "urn:mwg:device:a" }, 0,
		    CERTS_KIND_DEVICE, "a", "" },
		{ { "urn:mwg:user:alice" }, -1, 0, NULL, NULL },
		{ { "urn:mwg:device:Laptop" }, -1, 0, NULL, NULL },
		{ { "urn:mwg:device:../x" }, -1, 0, NULL, NULL },
		{ { "urn:mwg:device:" }, -1, 0, NULL, NULL },
		{ { "URN:MWG:DEVICE:a" }, -1, 0, NULL, NULL },
		{ { "urn:mwg:device:a", "urn:mwg:device:b" }, -1, 0, NULL,
		    NULL },
		{ { "urn:mwg:device:a", "urn:mwg:device:a" }, -1, 0, NULL,
		    NULL },
		{ { "urn:mwg:user:Alice", "urn:mwg:device:a" }, -1, 0, NULL,
		    NULL },
		{ { "urn:mwg:user:../a", "urn:mwg:device:a" }, -1, 0, NULL,
		    NULL },
		{ { "urn:mwg:user:a", "urn:mwg:user:b", "urn:mwg:device:a" },
		    -1, 0, NULL, NULL },
		{ { "urn:mwg:device:"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		    -1, 0, NULL, NULL },
	};
	EVP_PKEY *key = certs_new_key();
	struct certs_identity id;
	size_t i, n, lens[3];
	X509 *x;

	cr_assert_not_null(key);
	for (i = 0; i < NELEM(cases); i++) {
		for (n = 0; n < 3 && cases[i].uris[n] != NULL; n++)
			lens[n] = strlen(cases[i].uris[n]);
		x = make_uri_cert(key, cases[i].uris, lens, n);
		cr_expect_eq(certs_identity(x, &id), cases[i].want,
		    "case %zu", i);
		if (cases[i].want == 0) {
			cr_expect_eq(id.kind, cases[i].kind, "case %zu", i);
			cr_expect_str_eq(id.device_id, cases[i].device);
			cr_expect_str_eq(id.user, cases[i].user);
			cr_expect_str_eq(id.serial, "1ABC");
		} else
			cr_expect_eq(id.kind, CERTS_KIND_UNKNOWN);
		X509_free(x);
	}
	EVP_PKEY_free(key);
	ASSERT_NO_LEAKS();
}

Test(identity, rejects_embedded_nul_and_non_mwg)
{
	static const char *const uri[] = { "urn:mwg:device:a\0b" };
	static const size_t len[] = { sizeof("urn:mwg:device:a\0b") - 1 };
	EVP_PKEY *key = certs_new_key();
	struct certs_identity id;
	X509 *x;

	cr_assert_not_null(key);
	x = make_uri_cert(key, uri, len, 1);
	cr_expect_eq(certs_identity(x, &id), -1);
	X509_free(x);
	x = make_uri_cert(key, NULL, NULL, 0);	/* a DNS SAN only */
	cr_expect_eq(certs_identity(x, &id), -1);
	X509_free(x);
	cr_expect_eq(certs_identity(NULL, &id), -1);
	EVP_PKEY_free(key);
	ASSERT_NO_LEAKS();
}

Test(identity, device_and_ca_certs, .init = setup_ca, .fini = teardown)
{
	time_t not_after = time(NULL) + 90 * DAY;
	X509 *dev = issue_device("laptop-01", not_after);
	X509 *srv = load_cert(CERTS_SERVER_CERT);
	X509 *root = load_cert(CERTS_ROOT_CERT);
	struct certs_identity id;
	BIGNUM *bn;
	char *hex;

	cr_assert_eq(certs_identity(dev, &id), 0);
	cr_expect_eq(id.kind, CERTS_KIND_DEVICE);
	cr_expect_str_eq(id.device_id, "laptop-01");
	cr_expect_str_eq(id.user, "");
	cr_expect_eq(id.not_after, not_after);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(dev), NULL);
	cr_assert_not_null(hex = BN_bn2hex(bn));
	cr_expect_str_eq(id.serial, hex);
	cr_expect_eq(strspn(id.serial, "0123456789ABCDEF"),
	    strlen(id.serial));
	OPENSSL_free(hex);
	BN_free(bn);
	cr_expect_eq(certs_identity(srv, &id), -1);
	cr_expect_eq(certs_identity(root, &id), -1);
	X509_free(root);
	X509_free(srv);
	X509_free(dev);
	ASSERT_NO_LEAKS();
}

Test(names, device_id_valid)
{
	static const struct {
		const char	*id;
		int		 want;
	} cases[] = {
		{ "a", 0 },
		{ "laptop-01", 0 },
		{ "0", 0 },
		{ "a-", 0 },
		{ "abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz",
		    0 },				/* 63 */
		{ "", -1 },
		{ "abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz0",
		    -1 },				/* 64 */
		{ "Laptop", -1 },
		{ "../x", -1 },
		{ "a/b", -1 },
		{ "-a", -1 },
		{ "a.b", -1 },
		{ "a_b", -1 },
		{ "a b", -1 },
		{ "a,URI:x", -1 },
		{ "caf\xc3\xa9", -1 },
		{ "a\n", -1 },
	};
	size_t i;

	for (i = 0; i < NELEM(cases); i++)
		cr_expect_eq(certs_device_id_valid(cases[i].id),
		    cases[i].want, "\"%s\"", cases[i].id);
}

Test(names, user_valid)
{
	static const struct {
		const char	*name;
		int		 want;
	} cases[] = {
		{ "alice", 0 },
		{ "a.smith", 0 },
		{ "a_smith-2", 0 },
		{ "abcdefghijklmnopqrstuvwxyz0123456789.abcdefghijklmnopqrstuvwxyz",
		    0 },				/* 63 */
		{ "", -1 },
		{ ".", -1 },
		{ "..", -1 },
		{ "../x", -1 },
		{ "-a", -1 },
		{ "Alice", -1 },
		{ "a@b", -1 },
		{ "abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz0",
		    -1 },				/* 64 */
	};
	size_t i;

	for (i = 0; i < NELEM(cases); i++)
		cr_expect_eq(certs_user_valid(cases[i].name), cases[i].want,
		    "\"%s\"", cases[i].name);
}

Test(pem_io, key_writer_modes_and_overwrite, .init = setup_tmp,
    .fini = teardown)
{
	char path[PATH_MAX], err[CERTS_ERR_MAX];
	EVP_PKEY *k1 = certs_new_key(), *k2 = certs_new_key(), *back;
	struct stat st;

	cr_assert(k1 != NULL && k2 != NULL);
	path_in(path, tmp_dir, "dev.key");
	cr_assert_eq(certs_write_key(path, k1, 0, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	cr_expect_eq(certs_write_key(path, k2, 0, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "File exists"), "err: %s", err);
	cr_assert_not_null(back = certs_read_key(path, err, sizeof(err)));
	cr_expect_eq(EVP_PKEY_eq(back, k1), 1, "refused write changed it");
	EVP_PKEY_free(back);
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(certs_write_key(path, k2, 1, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	cr_assert_not_null(back = certs_read_key(path, err, sizeof(err)));
	cr_expect_eq(EVP_PKEY_eq(back, k2), 1);
	cr_expect_eq(count_entries(tmp_dir), 1, "temporary file left");
	EVP_PKEY_free(back);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	ASSERT_NO_LEAKS();
}

Test(pem_io, fingerprint_matches_openssl, .init = setup_ca,
    .fini = teardown)
{
	X509 *root = load_cert(CERTS_ROOT_CERT);
	unsigned char md[EVP_MAX_MD_SIZE];
	char fpr[CERTS_FPR_MAX], want[3];
	unsigned int len;

	cr_assert_eq(certs_fingerprint(root, fpr, sizeof(fpr)), 0);
	cr_assert_eq(X509_digest(root, EVP_sha256(), md, &len), 1);
	cr_expect_eq(strlen(fpr), len * 3 - 1);
	snprintf(want, sizeof(want), "%02X", md[0]);
	cr_expect_eq(strncmp(fpr, want, 2), 0);
	cr_expect_eq(fpr[2], ':');
	cr_expect_eq(certs_fingerprint(root, fpr, 10), -1);
	X509_free(root);
	ASSERT_NO_LEAKS();
}
