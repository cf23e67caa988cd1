/*
 * Session certificates: what certs_identity reads from them, the groups
 * extension both ways (and every malformed form we refuse), the names we
 * carry, and that OpenSSL's verifier and CLI still accept them.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs/certs.h"
#include "unit.h"

#define HOUR		(60 * 60)

static char tmp_dir[64];
static char ca_dir[PATH_MAX];
static struct certs_issuer *ca;
static EVP_PKEY *ca_key;		/* to sign hand-made certificates */
static EVP_PKEY *dev_key;

static void
setup(void)
{
	static const char *const hosts[] = { "gw.example.org" };
	char err[CERTS_ERR_MAX], cpath[PATH_MAX], kpath[PATH_MAX];

	umask(022);
	make_tmp_dir(tmp_dir, sizeof(tmp_dir), "mwg-session-test");
	path_in(ca_dir, tmp_dir, "ca");
	cr_assert_eq(certs_ca_init(ca_dir, hosts, 1, err, sizeof(err)), 0,
	    "%s", err);
	ca = certs_issuer_load(path_in(cpath, ca_dir, CERTS_ISSUING_CERT),
	    path_in(kpath, ca_dir, CERTS_ISSUING_KEY), err, sizeof(err));
	cr_assert_not_null(ca, "%s", err);
	ca_key = certs_read_key(kpath, err, sizeof(err));
	cr_assert_not_null(ca_key, "%s", err);
	cr_assert_not_null(dev_key = certs_new_key());
}

static void
teardown(void)
{
	EVP_PKEY_free(dev_key);
	EVP_PKEY_free(ca_key);
	certs_issuer_free(ca);
	remove_tree(tmp_dir);
}

static X509 *
issue(const char *const *groups, size_t n)
{
	char err[CERTS_ERR_MAX];
	time_t now = time(NULL);
	X509 *x;

	x = certs_issue_session(ca, dev_key, "alice", "laptop-7f3a", groups, n,
	    now - 300, now + CERTS_SESSION_HOURS * HOUR, err, sizeof(err));
	cr_assert_not_null(x, "%s", err);
	return x;
}

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

Test(session, identity_groups_and_profile, .init = setup, .fini = teardown)
{
	static const char *const groups[] = {
		"gp-clinicians", "Domain Users", "k84001-staff",
	};
	char got[CERTS_GROUPS_MAX][CERTS_GROUP_MAX], cn[CERTS_ID_MAX];
	struct certs_identity id;
	X509 *x = issue(groups, NELEM(groups));

	cr_assert_eq(certs_identity(x, &id), 0);
	cr_expect_eq(id.kind, CERTS_KIND_SESSION);
	cr_expect_str_eq(id.user, "alice");
	cr_expect_str_eq(id.device_id, "laptop-7f3a");
	cr_expect_eq(certs_session_groups(x, got, CERTS_GROUPS_MAX), 3);
	for (size_t i = 0; i < NELEM(groups); i++)
		cr_expect_str_eq(got[i], groups[i]);
	/* Exactly max names still fit; one fewer is refused. */
	cr_expect_eq(certs_session_groups(x, got, 3), 3);
	cr_expect_eq(certs_session_groups(x, got, 2), -1);
	cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn)), 0);
	cr_expect_str_eq(cn, "alice");
	cr_expect_eq(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	cr_expect_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	cr_expect_eq(X509_check_ca(x), 0);
	cr_expect_eq(EVP_PKEY_eq(X509_get0_pubkey(x), dev_key), 1);
	cr_expect_eq(X509_check_issued(certs_issuer_cert(ca), x), X509_V_OK);
	X509_free(x);
	ASSERT_NO_LEAKS();
}

/* The unknown, non-critical extension does not stop OpenSSL verifying. */
Test(session, openssl_verify_accepts, .init = setup, .fini = teardown)
{
	static const char *const groups[] = { "gp-clinicians" };
	char path[PATH_MAX], cmd[PATH_MAX * 3], err[CERTS_ERR_MAX], *out;
	X509 *x = issue(groups, 1);
	int status;

	cr_assert_eq(certs_write_cert(path_in(path, tmp_dir, "s.pem"), x, 0,
	    err, sizeof(err)), 0, "%s", err);
	snprintf(cmd, sizeof(cmd), "cd %s && openssl verify -purpose sslclient"
	    " -CAfile ca/%s -untrusted ca/%s s.pem 2>&1", tmp_dir,
	    CERTS_ROOT_CERT, CERTS_ISSUING_CERT);
	out = run(cmd, &status);
	cr_expect_eq(status, 0, "%s", out);
	cr_expect_str_eq(out, "s.pem: OK\n");
	free(out);
	/* The CLI shows it as an unknown extension, not critical. */
	snprintf(cmd, sizeof(cmd), "openssl x509 -in %s -noout -text", path);
	out = run(cmd, &status);
	cr_expect_not_null(strstr(out, CERTS_OID_GROUPS ": \n"), "%s", out);
	cr_expect_not_null(strstr(out, "URI:urn:mwg:user:alice, "
	    "URI:urn:mwg:device:laptop-7f3a"), "%s", out);
	free(out);
	X509_free(x);
}

Test(session, no_groups_and_device_certs, .init = setup, .fini = teardown)
{
	char got[1][CERTS_GROUP_MAX], err[CERTS_ERR_MAX];
	X509 *x = issue(NULL, 0), *d;
	ASN1_OBJECT *oid = OBJ_txt2obj(CERTS_OID_GROUPS, 1);

	/* The extension is there, with an empty list. */
	cr_expect_geq(X509_get_ext_by_OBJ(x, oid, -1), 0);
	cr_expect_eq(certs_session_groups(x, got, 1), 0);
	cr_expect_eq(certs_session_groups(x, NULL, 0), 0);
	d = certs_issue_device(ca, dev_key, "laptop-7f3a", time(NULL),
	    time(NULL) + HOUR, err, sizeof(err));
	cr_assert_not_null(d, "%s", err);
	cr_expect_eq(certs_session_groups(d, got, 1), 0);
	cr_expect_eq(certs_session_groups(NULL, got, 1), -1);
	ASN1_OBJECT_free(oid);
	X509_free(d);
	X509_free(x);
	ASSERT_NO_LEAKS();
}

Test(session, sixty_four_groups_and_no_more, .init = setup,
    .fini = teardown)
{
	char names[CERTS_GROUPS_MAX + 1][16], err[CERTS_ERR_MAX];
	const char *groups[CERTS_GROUPS_MAX + 1];
	char (*got)[CERTS_GROUP_MAX] = calloc(CERTS_GROUPS_MAX,
	    CERTS_GROUP_MAX);
	time_t now = time(NULL);
	X509 *x;

	cr_assert_not_null(got);
	for (size_t i = 0; i <= CERTS_GROUPS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "group-%02zu", i);
		groups[i] = names[i];
	}
	x = issue(groups, CERTS_GROUPS_MAX);
	cr_expect_eq(certs_session_groups(x, got, CERTS_GROUPS_MAX),
	    CERTS_GROUPS_MAX);
	cr_expect_str_eq(got[63], "group-63");
	X509_free(x);
	x = certs_issue_session(ca, dev_key, "alice", "laptop-7f3a", groups,
	    CERTS_GROUPS_MAX + 1, now, now + HOUR, err, sizeof(err));
	cr_expect_null(x);
	cr_expect_str_eq(err, "65 groups (at most 64)");
	X509_free(x);
	free(got);
	ASSERT_NO_LEAKS();
}

Test(session, refuses_bad_arguments, .init = setup, .fini = teardown)
{
	char long_name[CERTS_GROUP_MAX + 1];
	const char *ok[] = { "staff" };
	static const struct {
		const char *user, *device, *group;
		int from, to;
		const char *err;
	} cases[] = {
		{ "Alice", "d1", "staff", 0, 60, "invalid user name" },
		{ "../x", "d1", "staff", 0, 60, "invalid user name" },
		{ "", "d1", "staff", 0, 60, "invalid user name" },
		{ "alice", "-d1", "staff", 0, 60, "invalid device id" },
		{ "alice", "D1", "staff", 0, 60, "invalid device id" },
		{ "alice", "d1", "", 0, 60, "group 2 is not a valid group name" },
		{ "alice", "d1", " x", 0, 60,
		    "group 2 is not a valid group name" },
		{ "alice", "d1", "x ", 0, 60,
		    "group 2 is not a valid group name" },
		{ "alice", "d1", "a,b", 0, 60,
		    "group 2 is not a valid group name" },
		{ "alice", "d1", "tab\there", 0, 60,
		    "group 2 is not a valid group name" },
		{ "alice", "d1", "caf\xc3\xa9", 0, 60,
		    "group 2 is not a valid group name" },
		{ "alice", "d1", NULL, 0, 60,
		    "group 2 is not a valid group name" },
		{ "alice", "d1", "staff", 60, 60,
		    "validity ends before it starts" },
	};
	char err[CERTS_ERR_MAX];
	time_t now = time(NULL);

	memset(long_name, 'g', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';	/* 64 characters */
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *groups[2] = { ok[0], cases[i].group };
		X509 *x;

		err[0] = '\0';
		x = certs_issue_session(ca, dev_key, cases[i].user,
		    cases[i].device, groups, 2, now + cases[i].from,
		    now + cases[i].to, err, sizeof(err));
		cr_expect_null(x, "case %zu issued", i);
		cr_expect_str_eq(err, cases[i].err, "case %zu", i);
		X509_free(x);
	}
	ok[0] = long_name;
	cr_expect_null(certs_issue_session(ca, dev_key, "alice", "d1", ok, 1,
	    now, now + 60, err, sizeof(err)));
	cr_expect_str_eq(err, "group 1 is not a valid group name");
	cr_expect_null(certs_issue_session(ca, NULL, "alice", "d1", NULL, 0,
	    now, now + 60, err, sizeof(err)));
	cr_expect_str_eq(err, "no issuer or no public key");
	ASSERT_NO_LEAKS();
}

Test(names, group_valid)
{
	static const struct { const char *name; int rc; } cases[] = {
		{ "a", 0 }, { "Domain Users", 0 }, { "k84001-staff", 0 },
		{ "CN=x;OU=y", 0 }, { "~!@#$%^&*()_+{}|:\"<>?", 0 },
		{ "", -1 }, { " a", -1 }, { "a ", -1 }, { " ", -1 },
		{ "a,b", -1 }, { "a\nb", -1 }, { "a\tb", -1 }, { "\x7f", -1 },
		{ "\xc3\xa9", -1 },
		{ "123456789012345678901234567890123456789012345678901234567890"
		    "123", 0 },
		{ "123456789012345678901234567890123456789012345678901234567890"
		    "1234", -1 },
	};

	for (size_t i = 0; i < NELEM(cases); i++)
		cr_expect_eq(certs_group_valid(cases[i].name), cases[i].rc,
		    "case %zu \"%s\"", i, cases[i].name);
	cr_expect_eq(certs_group_valid(NULL), -1);
}

/* ---- malformed extensions, made by hand and signed by the CA ------------ */

/* A session certificate with the groups extension's value set to der
 * (replacing ours), or with a second copy if der is NULL. */
static X509 *
with_groups_value(const unsigned char *der, size_t len)
{
	static const char *const groups[] = { "staff" };
	X509 *x = issue(groups, 1);
	ASN1_OBJECT *oid = OBJ_txt2obj(CERTS_OID_GROUPS, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;
	int at = X509_get_ext_by_OBJ(x, oid, -1);

	cr_assert_geq(at, 0);
	if (der == NULL) {
		cr_assert_eq(X509_add_ext(x, X509_get_ext(x, at), -1), 1);
	} else {
		cr_assert_eq(ASN1_OCTET_STRING_set(os, der, (int)len), 1);
		X509_EXTENSION_free(X509_delete_ext(x, at));
		ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
		cr_assert_not_null(ext);
		cr_assert_eq(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	cr_assert_gt(X509_sign(x, ca_key, EVP_sha256()), 0);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
	return x;
}

Test(groups_ext, two_extensions_refused, .init = setup, .fini = teardown)
{
	char got[4][CERTS_GROUP_MAX];
	X509 *x = with_groups_value(NULL, 0);

	cr_expect_eq(certs_session_groups(x, got, 4), -1);
	X509_free(x);
	ASSERT_NO_LEAKS();
}

Test(groups_ext, malformed_values, .init = setup, .fini = teardown)
{
	static const struct {
		const char *what;
		const unsigned char der[16];
		size_t len;
		int rc;
	} cases[] = {
		{ "good", { 0x30, 0x03, 0x0c, 0x01, 'a' }, 5, 1 },
		{ "empty", { 0x30, 0x00 }, 2, 0 },
		{ "nothing", { 0 }, 0, -1 },
		{ "not a sequence", { 0x0c, 0x01, 'a' }, 3, -1 },
		{ "a set", { 0x31, 0x03, 0x0c, 0x01, 'a' }, 5, -1 },
		{ "PrintableString", { 0x30, 0x03, 0x13, 0x01, 'a' }, 5, -1 },
		{ "INTEGER", { 0x30, 0x03, 0x02, 0x01, 0x05 }, 5, -1 },
		{ "truncated", { 0x30, 0x05, 0x0c, 0x01, 'a' }, 5, -1 },
		{ "trailing", { 0x30, 0x03, 0x0c, 0x01, 'a', 0x00 }, 6, -1 },
		{ "long-form length (BER)",
		    { 0x30, 0x81, 0x03, 0x0c, 0x01, 'a' }, 6, -1 },
		{ "indefinite length (BER)",
		    { 0x30, 0x80, 0x0c, 0x01, 'a', 0, 0 }, 7, -1 },
		{ "empty name", { 0x30, 0x02, 0x0c, 0x00 }, 4, -1 },
		{ "comma", { 0x30, 0x05, 0x0c, 0x03, 'a', ',', 'b' }, 7, -1 },
		{ "NUL inside", { 0x30, 0x05, 0x0c, 0x03, 'a', 0, 'b' }, 7,
		    -1 },
		{ "leading space", { 0x30, 0x04, 0x0c, 0x02, ' ', 'b' }, 6,
		    -1 },
		{ "UTF-8 beyond ASCII",
		    { 0x30, 0x04, 0x0c, 0x02, 0xc3, 0xa9 }, 6, -1 },
	};
	char got[4][CERTS_GROUP_MAX];

	for (size_t i = 0; i < NELEM(cases); i++) {
		X509 *x = with_groups_value(cases[i].der, cases[i].len);

		cr_expect_eq(certs_session_groups(x, got, 4), cases[i].rc,
		    "%s", cases[i].what);
		X509_free(x);
	}
	ASSERT_NO_LEAKS();
}
