/*
 * The EST handlers (gateway/monitor/est.c) driven directly, as the auth pool runs
 * them: a throwaway CA, state store and audit log per test, job_in structs
 * built here. Each case checks the exact answer, what the store holds
 * afterwards and the audit record, and that no secret reached the log.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "audit/audit.h"
#include "certs/certs.h"
#include "common/log.h"
#include "gateway/monitor/auth.h"
#include "gateway/monitor/est.h"
#include "gateway/monitor/store.h"
#include "unit.h"

#define DAY		(24 * 60 * 60)
#define SECRET		"s3cret-Horse-Battery"
#define SOURCE		"192.0.2.7"

static char tmp_dir[64], audit_path[PATH_MAX];
static char mnt[PATH_MAX];		/* a tmpfs some tests fill */
static struct job_ctx ctx;

static void
setup(void)
{
	static const char *const hosts[] = { "gw.example.org" };
	char ca_dir[PATH_MAX], state[PATH_MAX], key[PATH_MAX], a[PATH_MAX],
	    b[PATH_MAX], err[512];
	struct audit_options o = { 0 };

	log_init("est_test", 0, 0);
	umask(022);
	make_tmp_dir(tmp_dir, sizeof(tmp_dir), "mwg-est");
	path_in(ca_dir, tmp_dir, "ca");
	cr_assert_eq(certs_ca_init(ca_dir, hosts, 1, err, sizeof(err)), 0,
	    "%s", err);
	ctx.issuer = certs_issuer_load(path_in(a, ca_dir, CERTS_ISSUING_CERT),
	    path_in(b, ca_dir, CERTS_ISSUING_KEY), err, sizeof(err));
	cr_assert_not_null(ctx.issuer, "%s", err);
	ctx.root = certs_read_cert(path_in(a, ca_dir, CERTS_ROOT_CERT), err,
	    sizeof(err));
	cr_assert_not_null(ctx.root, "%s", err);
	path_in(state, tmp_dir, "state");
	cr_assert_eq(mkdir(state, 0700), 0);
	ctx.store = store_open(state, err, sizeof(err));
	cr_assert_not_null(ctx.store, "%s", err);
	o.path = path_in(audit_path, tmp_dir, "audit.jsonl");
	o.key_path = path_in(key, tmp_dir, "audit.key");
	ctx.audit = audit_open(&o, err, sizeof(err));
	cr_assert_not_null(ctx.audit, "%s", err);
	ctx.now = time(NULL);
}

static void
teardown(void)
{
	audit_close(ctx.audit);
	store_close(ctx.store);
	certs_issuer_free(ctx.issuer);
	X509_free(ctx.root);
	memset(&ctx, 0, sizeof(ctx));
	if (mnt[0] != '\0')
		(void)umount2(mnt, MNT_DETACH);
	mnt[0] = '\0';
	remove_tree(tmp_dir);
}

TestSuite(est, .init = setup, .fini = teardown);

/* ---- requests ------------------------------------------------------------ */

static void
add_code(const char *id, time_t expires_at, int managed)
{
	struct store_code c = { .is_managed = managed };
	char err[STORE_ERR_MAX];

	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.user, sizeof(c.user), "alice");
	snprintf(c.practice, sizeof(c.practice), "K84001");
	snprintf(c.label, sizeof(c.label), "front desk");
	c.created_at = ctx.now - 60;
	c.expires_at = expires_at;
	cr_assert_eq(store_code_add(ctx.store, &c, SECRET, err, sizeof(err)),
	    0, "%s", err);
}

/* Base64 of a PKCS#10 request for key, in 64-character lines. */
static char *
csr_body(EVP_PKEY *key)
{
	X509_REQ *req = X509_REQ_new();
	unsigned char *der = NULL;
	char *out;
	int len, o = 0;

	cr_assert_not_null(req);
	cr_assert_eq(X509_REQ_set_pubkey(req, key), 1);
	cr_assert_gt(X509_REQ_sign(req, key, EVP_sha256()), 0);
	cr_assert_gt(len = i2d_X509_REQ(req, &der), 0);
	cr_assert_not_null(out = malloc((size_t)len * 2 + 8));
	for (int i = 0; i < len; i += 48) {
		o += EVP_EncodeBlock((unsigned char *)out + o, der + i,
		    len - i < 48 ? len - i : 48);
		out[o++] = '\n';
	}
	out[o] = '\0';
	OPENSSL_free(der);
	X509_REQ_free(req);
	return out;
}

/* "Basic base64(id:secret)" into buf. */
static const char *
basic(char *buf, size_t len, const char *id, const char *secret)
{
	char plain[256];
	int n = snprintf(plain, sizeof(plain), "%s:%s", id, secret);

	cr_assert_lt(strlen("Basic ") + (size_t)(n + 2) / 3 * 4, len);
	memcpy(buf, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)buf + 6, (unsigned char *)plain, n);
	return buf;
}

struct call {
	struct job_in in;
	struct job_out out;
	json_t *who;
};

static void
call_init(struct call *c, int method, const char *ct, const char *auth,
    const char *body)
{
	memset(c, 0, sizeof(*c));
	c->who = json_pack("{s:s, s:i}", "source.ip", SOURCE, "tunnel.id", 7);
	c->in.method = method;
	c->in.url = EST_PATH_ENROLL;
	c->in.content_type = ct;
	c->in.authorization = auth;
	c->in.body = body;
	c->in.body_len = strlen(body);
	c->in.cert_error = "";
	c->in.source_ip = SOURCE;
	c->in.who = c->who;
}

static void
call_free(struct call *c)
{
	json_decref(c->out.json);
	free(c->out.raw);
	json_decref(c->who);
}

/* POST /simpleenroll with code id:secret and key's request; the status. */
static int
enrol(struct call *c, const char *id, const char *secret, EVP_PKEY *key)
{
	static char auth[256];
	char *body = csr_body(key);

	call_init(c, HTTP_POST, "application/pkcs10", basic(auth, sizeof(auth),
	    id, secret), body);
	est_enroll_job(&ctx, &c->in, &c->out);
	free(body);
	c->in.body = NULL;
	return c->out.status;
}

/* The JSON error answer as compact text, for exact comparison. */
static char *
answer(const struct call *c)
{
	cr_assert_null(c->out.raw);
	cr_assert_not_null(c->out.json);
	return json_dumps(c->out.json, JSON_COMPACT | JSON_SORT_KEYS);
}

static void
expect_answer(const struct call *c, int status, const char *code,
    const char *reason)
{
	char want[512], *got = answer(c);

	snprintf(want, sizeof(want), "{\"error\":\"%s\",\"reason\":\"%s\"}",
	    code, reason);
	cr_expect_eq(c->out.status, status, "status %d, want %d: %s",
	    c->out.status, status, got);
	cr_expect_str_eq(got, want);
	free(got);
}

/* The single certificate of a 200 answer; the caller frees it. */
static X509 *
answer_cert(const struct call *c)
{
	STACK_OF(X509) *sk;
	char err[CERTS_ERR_MAX];
	X509 *x;

	cr_assert_eq(c->out.status, 200);
	cr_assert_not_null(c->out.raw);
	cr_expect_null(c->out.json);
	cr_expect_str_eq(c->out.content_type,
	    "application/pkcs7-mime; smime-type=certs-only");
	sk = certs_pkcs7_from_base64(c->out.raw, c->out.raw_len, err,
	    sizeof(err));
	cr_assert_not_null(sk, "%s", err);
	cr_assert_eq(sk_X509_num(sk), 1);
	x = sk_X509_shift(sk);
	sk_X509_free(sk);
	return x;
}

static int
count_cb(const struct store_device *d, void *arg)
{
	(void)d;
	(*(int *)arg)++;
	return 0;
}

static int
device_count(void)
{
	char err[STORE_ERR_MAX];
	int n = 0;

	cr_assert_eq(store_device_list(ctx.store, count_cb, &n, err,
	    sizeof(err)), 0);
	return n;
}

static int
throttle_failures(const char *key)
{
	struct store_throttle t;
	char err[STORE_ERR_MAX];

	cr_assert_neq(store_throttle_get(ctx.store, key, &t, err, sizeof(err)),
	    -1);
	return t.failures;
}

/* ---- the audit trail ------------------------------------------------------ */

/*
 * Closes the log (so every record is on disk) and returns its records
 * with event.action action, in order; checks no secret is anywhere.
 */
static json_t *
audit_records(const char *action)
{
	json_t *all = json_array();
	char line[AUDIT_RECORD_MAX + 2];
	FILE *f;

	audit_close(ctx.audit);
	ctx.audit = NULL;
	cr_assert_not_null(f = fopen(audit_path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *r = json_loads(line, 0, NULL);

		cr_assert_not_null(r, "%s", line);
		cr_expect_null(strstr(line, SECRET), "secret in %s", line);
		/* Nor the header: base64 of "code-1:..." starts so. */
		cr_expect_null(strstr(line, "Y29kZS0x"), "header in %s", line);
		if (strcmp(json_string_value(json_object_get(r,
		    "event.action")), action) == 0)
			json_array_append(all, r);
		json_decref(r);
	}
	fclose(f);
	return all;
}

static const char *
field(json_t *rec, const char *name)
{
	json_t *v = json_object_get(rec, name);

	cr_assert_not_null(v, "no %s", name);
	return json_string_value(v);
}

static time_t
asn1_time(const ASN1_TIME *a)
{
	struct tm tm;

	cr_assert_eq(ASN1_TIME_to_tm(a, &tm), 1);
	return timegm(&tm);
}

/* ---- /cacerts -------------------------------------------------------------- */

Test(est, cacerts_answers_issuing_then_root)
{
	STACK_OF(X509) *sk;
	struct call c;
	char err[CERTS_ERR_MAX];

	call_init(&c, HTTP_GET, "", "", "");
	c.in.url = EST_PATH_CACERTS;
	est_cacerts_job(&ctx, &c.in, &c.out);
	cr_assert_eq(c.out.status, 200);
	cr_expect_str_eq(c.out.content_type, EST_PKCS7_TYPE);
	sk = certs_pkcs7_from_base64(c.out.raw, c.out.raw_len, err,
	    sizeof(err));
	cr_assert_not_null(sk, "%s", err);
	cr_assert_eq(sk_X509_num(sk), 2);
	cr_expect_eq(X509_cmp(sk_X509_value(sk, 0),
	    certs_issuer_cert(ctx.issuer)), 0);
	cr_expect_eq(X509_cmp(sk_X509_value(sk, 1), ctx.root), 0);
	sk_X509_pop_free(sk, X509_free);
	call_free(&c);

	call_init(&c, HTTP_POST, "", "", "");
	est_cacerts_job(&ctx, &c.in, &c.out);
	expect_answer(&c, 405, "method-not-allowed",
	    "use GET for /.well-known/est/cacerts");
	call_free(&c);
}

/* ---- /simpleenroll --------------------------------------------------------- */

Test(est, good_enrolment)
{
	EVP_PKEY *key = certs_new_key();
	struct certs_identity id;
	struct store_device d;
	char fpr[65], err[STORE_ERR_MAX];
	struct call c;
	regex_t re;
	json_t *recs, *r;
	X509 *x;

	add_code("code-1", ctx.now + DAY, 1);
	cr_assert_eq(enrol(&c, "code-1", SECRET, key), 200);
	x = answer_cert(&c);
	cr_assert_eq(certs_identity(x, &id), 0);
	cr_expect_eq(id.kind, CERTS_KIND_DEVICE);
	cr_assert_eq(regcomp(&re, "^dev-[a-z2-7]{10}$", REG_EXTENDED), 0);
	cr_expect_eq(regexec(&re, id.device_id, 0, NULL, 0), 0, "%s",
	    id.device_id);
	regfree(&re);
	cr_expect_eq(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
	cr_expect_eq(asn1_time(X509_get0_notBefore(x)), ctx.now - 300);
	cr_expect_eq(id.not_after, ctx.now + CERTS_DEVICE_DAYS * DAY);
	cr_expect_eq(X509_check_issued(certs_issuer_cert(ctx.issuer), x),
	    X509_V_OK);
	/* The store has the device for the code's person and practice. */
	cr_assert_eq(certs_key_fingerprint(key, fpr, sizeof(fpr)), 0);
	cr_assert_eq(store_device_by_fpr(ctx.store, fpr, &d, err, sizeof(err)),
	    1);
	cr_expect_str_eq(d.id, id.device_id);
	cr_expect_str_eq(d.user, "alice");
	cr_expect_str_eq(d.practice, "K84001");
	cr_expect_eq(d.is_managed, 1);
	cr_expect_str_eq(d.cert_serial, id.serial);
	cr_expect_eq(d.expires_at, id.not_after);
	cr_expect_eq(d.enrolled_at, ctx.now);
	cr_expect_eq(device_count(), 1);
	call_free(&c);

	recs = audit_records("enrol.issue");
	cr_assert_eq(json_array_size(recs), 1);
	r = json_array_get(recs, 0);
	cr_expect_str_eq(field(r, "event.outcome"), "success");
	cr_expect_str_eq(field(r, "device.id"), id.device_id);
	cr_expect_str_eq(field(r, "user.name"), "alice");
	cr_expect_str_eq(field(r, "organization.id"), "K84001");
	cr_expect_eq(json_object_get(r, "device.managed"), json_true());
	cr_expect_str_eq(field(r, "device.key_sha256"), fpr);
	cr_expect_str_eq(field(r, "x509.serial_number"), id.serial);
	cr_expect_str_eq(field(r, "enrol.code_id"), "code-1");
	cr_expect_str_eq(field(r, "source.ip"), SOURCE);
	json_decref(recs);
	X509_free(x);
	EVP_PKEY_free(key);
}

Test(est, code_used_twice)
{
	EVP_PKEY *k1 = certs_new_key(), *k2 = certs_new_key();
	struct call c;
	json_t *recs;

	add_code("code-1", ctx.now + DAY, 0);
	cr_assert_eq(enrol(&c, "code-1", SECRET, k1), 200);
	call_free(&c);
	enrol(&c, "code-1", SECRET, k2);
	expect_answer(&c, 401, "enrolment-code-refused",
	    "the enrolment code is not valid");
	call_free(&c);
	cr_expect_eq(device_count(), 1);
	cr_expect_eq(throttle_failures("code:code-1"), 1);
	cr_expect_eq(throttle_failures("ip:" SOURCE), 1);
	recs = audit_records("enrol.request");
	cr_assert_eq(json_array_size(recs), 1);
	cr_expect_str_eq(field(json_array_get(recs, 0), "event.reason"),
	    "enrolment code refused: used");
	cr_expect_str_eq(field(json_array_get(recs, 0), "event.outcome"),
	    "failure");
	json_decref(recs);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

/* Wrong secret, unknown code, expired code: one answer, three reasons. */
Test(est, refused_codes_look_alike)
{
	EVP_PKEY *key = certs_new_key();
	static const char *const why[] = {
		"enrolment code refused: wrong secret",
		"enrolment code refused: unknown",
		"enrolment code refused: expired",
	};
	struct call c;
	json_t *recs;

	add_code("code-1", ctx.now + DAY, 0);
	add_code("code-old", ctx.now - 1, 0);
	enrol(&c, "code-1", "not-the-secret", key);
	expect_answer(&c, 401, "enrolment-code-refused",
	    "the enrolment code is not valid");
	call_free(&c);
	enrol(&c, "no-such-code", SECRET, key);
	expect_answer(&c, 401, "enrolment-code-refused",
	    "the enrolment code is not valid");
	call_free(&c);
	enrol(&c, "code-old", SECRET, key);
	expect_answer(&c, 401, "enrolment-code-refused",
	    "the enrolment code is not valid");
	call_free(&c);
	cr_expect_eq(device_count(), 0);
	cr_expect_eq(throttle_failures("code:code-1"), 1);
	cr_expect_eq(throttle_failures("ip:" SOURCE), 3);
	/* The source made three mistakes: it waits, then the code works. */
	cr_expect_eq(enrol(&c, "code-1", SECRET, key), 429);
	call_free(&c);
	ctx.now += 2;
	cr_expect_eq(enrol(&c, "code-1", SECRET, key), 200);
	call_free(&c);
	recs = audit_records("enrol.request");
	cr_assert_eq(json_array_size(recs), 4);
	cr_expect_str_eq(field(json_array_get(recs, 3), "event.reason"),
	    "too many failed attempts; try again in 2 seconds");
	for (size_t i = 0; i < 3; i++)
		cr_expect_str_eq(field(json_array_get(recs, i),
		    "event.reason"), why[i]);
	json_decref(recs);
	EVP_PKEY_free(key);
}

Test(est, guessing_is_throttled)
{
	EVP_PKEY *key = certs_new_key();
	struct call c;

	add_code("code-1", ctx.now + DAY, 0);
	for (int i = 0; i < AUTH_THROTTLE_FREE + 1; i++) {
		cr_expect_eq(enrol(&c, "code-1", "guess", key), 401);
		call_free(&c);
	}
	enrol(&c, "code-1", SECRET, key);
	expect_answer(&c, 429, "too-many-attempts", "too many failed "
	    "attempts; try again in 2 seconds");
	cr_expect_eq(c.out.retry_after, 2);
	call_free(&c);
	cr_expect_eq(device_count(), 0);
	ctx.now += 2;
	cr_expect_eq(enrol(&c, "code-1", SECRET, key), 200);
	call_free(&c);
	EVP_PKEY_free(key);
}

/* A bad request changes nothing: the code stays usable, no failure. */
Test(est, bad_csr_keeps_the_code)
{
	EVP_PKEY *key = certs_new_key();
	char auth[256], *body;
	struct call c;
	json_t *recs;

	add_code("code-1", ctx.now + DAY, 0);
	call_init(&c, HTTP_POST, "application/pkcs10", basic(auth,
	    sizeof(auth), "code-1", SECRET), "this is not base64!");
	est_enroll_job(&ctx, &c.in, &c.out);
	expect_answer(&c, 400, "bad-request",
	    "bad certificate request: not base64");
	call_free(&c);
	/* A request whose signature was altered. */
	body = csr_body(key);
	body[strlen(body) - 6] = body[strlen(body) - 6] == 'A' ? 'B' : 'A';
	call_init(&c, HTTP_POST, "application/pkcs10", auth, body);
	est_enroll_job(&ctx, &c.in, &c.out);
	expect_answer(&c, 400, "bad-request",
	    "bad certificate request: signature does not match the key");
	call_free(&c);
	free(body);
	cr_expect_eq(device_count(), 0);
	cr_expect_eq(throttle_failures("code:code-1"), 0);
	cr_expect_eq(throttle_failures("ip:" SOURCE), 0);
	cr_expect_eq(enrol(&c, "code-1", SECRET, key), 200);
	call_free(&c);
	recs = audit_records("enrol.request");
	cr_assert_eq(json_array_size(recs), 2);
	cr_expect_str_eq(field(json_array_get(recs, 0), "enrol.code_id"),
	    "code-1");
	json_decref(recs);
	EVP_PKEY_free(key);
}

Test(est, huge_body_refused)
{
	char auth[256], *body = malloc(CERTS_CSR_MAX + 2);
	struct call c;

	cr_assert_not_null(body);
	memset(body, 'A', CERTS_CSR_MAX + 1);
	body[CERTS_CSR_MAX + 1] = '\0';
	add_code("code-1", ctx.now + DAY, 0);
	call_init(&c, HTTP_POST, "application/pkcs10", basic(auth,
	    sizeof(auth), "code-1", SECRET), body);
	est_enroll_job(&ctx, &c.in, &c.out);
	expect_answer(&c, 413, "body-too-large",
	    "the request is larger than 16384 bytes");
	call_free(&c);
	free(body);
}

Test(est, media_type)
{
	static const struct { const char *ct; int status; } cases[] = {
		{ "", 415 }, { "text/plain", 415 },
		{ "application/pkcs10x", 415 },
		{ "application/pkcs7-mime", 415 },
		{ "application/pkcs10", 200 },
		{ " Application/PKCS10 ; charset=x", 200 },
	};
	char auth[256], *body;
	struct call c;

	for (size_t i = 0; i < NELEM(cases); i++) {
		EVP_PKEY *key = certs_new_key();
		char id[32];

		snprintf(id, sizeof(id), "code-%zu", i);
		add_code(id, ctx.now + DAY, 0);
		body = csr_body(key);
		call_init(&c, HTTP_POST, cases[i].ct, basic(auth,
		    sizeof(auth), id, SECRET), body);
		est_enroll_job(&ctx, &c.in, &c.out);
		cr_expect_eq(c.out.status, cases[i].status, "\"%s\"",
		    cases[i].ct);
		if (cases[i].status == 415)
			expect_answer(&c, 415, "unsupported-media-type",
			    "send the request as application/pkcs10 (base64 "
			    "PKCS#10)");
		call_free(&c);
		free(body);
		EVP_PKEY_free(key);
	}
	cr_expect_eq(device_count(), 2);
}

Test(est, authorization_required)
{
	static const char *const auths[] = {
		"", "Bearer abc", "Basic", "Basic !!!!", "Basic Y29kZS0x",
		"Basic OnNlY3JldA==", "Basic Y29kZS0xOg==",
		"Basic Y29kZS0xOnNlY3JldA== extra", "Digest Y29kZS0x",
	};
	EVP_PKEY *key = certs_new_key();
	char *body = csr_body(key);
	struct call c;
	json_t *recs;

	add_code("code-1", ctx.now + DAY, 0);
	for (size_t i = 0; i < NELEM(auths); i++) {
		call_init(&c, HTTP_POST, "application/pkcs10", auths[i], body);
		est_enroll_job(&ctx, &c.in, &c.out);
		expect_answer(&c, 401, "enrolment-code-required", "send the "
		    "enrolment code as HTTP Basic authorization ID:SECRET");
		call_free(&c);
	}
	/* The scheme is case-insensitive (RFC 7617 §2). */
	call_init(&c, HTTP_POST, "application/pkcs10",
	    "basic Y29kZS0xOnMzY3JldC1Ib3JzZS1CYXR0ZXJ5", body);
	est_enroll_job(&ctx, &c.in, &c.out);
	cr_expect_eq(c.out.status, 200);
	call_free(&c);
	recs = audit_records("enrol.request");
	cr_expect_eq(json_array_size(recs), NELEM(auths));
	cr_expect_str_eq(field(json_array_get(recs, 0), "event.reason"),
	    "no authorization");
	cr_expect_str_eq(field(json_array_get(recs, 1), "event.reason"),
	    "malformed Basic authorization");
	json_decref(recs);
	free(body);
	EVP_PKEY_free(key);
}

Test(est, key_of_an_enrolled_device)
{
	EVP_PKEY *key = certs_new_key(), *other = certs_new_key();
	struct call c;

	add_code("code-1", ctx.now + DAY, 0);
	add_code("code-2", ctx.now + DAY, 0);
	cr_assert_eq(enrol(&c, "code-1", SECRET, key), 200);
	call_free(&c);
	enrol(&c, "code-2", SECRET, key);
	expect_answer(&c, 409, "key-in-use",
	    "this key belongs to an enrolled device; make a new key");
	call_free(&c);
	/* code-2 was not used up by the refusal. */
	cr_expect_eq(enrol(&c, "code-2", SECRET, other), 200);
	call_free(&c);
	cr_expect_eq(device_count(), 2);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

/* key spelled otherwise (OpenSSL encoding parameter set on a copy). */
static EVP_PKEY *
respell(EVP_PKEY *key, const char *param, const char *value)
{
	EVP_PKEY *k = EVP_PKEY_dup(key);

	cr_assert_not_null(k);
	cr_assert_eq(EVP_PKEY_set_utf8_string_param(k, param, value), 1);
	return k;
}

/* Explicit curve parameters: 400 before the code is looked at, which
 * stays usable and counts no failure. */
Test(est, explicit_curve_refused_keeps_the_code)
{
	EVP_PKEY *key = certs_new_key(), *expl;
	struct call c;

	expl = respell(key, OSSL_PKEY_PARAM_EC_ENCODING,
	    OSSL_PKEY_EC_ENCODING_EXPLICIT);
	add_code("code-1", ctx.now + DAY, 0);
	enrol(&c, "code-1", SECRET, expl);
	expect_answer(&c, 400, "bad-request", "bad certificate request: key "
	    "type not allowed: EC key with explicit curve parameters (need a "
	    "named curve, P-256 or P-384)");
	call_free(&c);
	cr_expect_eq(device_count(), 0);
	cr_expect_eq(throttle_failures("code:code-1"), 0);
	cr_expect_eq(enrol(&c, "code-1", SECRET, key), 200);
	call_free(&c);
	cr_expect_eq(device_count(), 1);
	EVP_PKEY_free(expl);
	EVP_PKEY_free(key);
}

/* The same key with a compressed point is the same key: 409, and the
 * second code is not used up. */
Test(est, key_in_another_encoding_is_the_same_key)
{
	EVP_PKEY *key = certs_new_key(), *comp, *other = certs_new_key();
	struct call c;

	comp = respell(key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED);
	add_code("code-1", ctx.now + DAY, 0);
	add_code("code-2", ctx.now + DAY, 0);
	cr_assert_eq(enrol(&c, "code-1", SECRET, key), 200);
	call_free(&c);
	enrol(&c, "code-2", SECRET, comp);
	expect_answer(&c, 409, "key-in-use",
	    "this key belongs to an enrolled device; make a new key");
	call_free(&c);
	cr_expect_eq(device_count(), 1);
	cr_expect_eq(enrol(&c, "code-2", SECRET, other), 200);
	call_free(&c);
	cr_expect_eq(device_count(), 2);
	EVP_PKEY_free(comp);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

Test(est, enrol_wrong_method)
{
	struct call c;

	call_init(&c, HTTP_GET, "application/pkcs10", "", "");
	est_enroll_job(&ctx, &c.in, &c.out);
	expect_answer(&c, 405, "method-not-allowed", "use POST");
	call_free(&c);
}

/* ---- /simplereenroll -------------------------------------------------------- */

struct device {
	EVP_PKEY *key;
	X509 *cert;
	struct certs_identity ident;
};

/* A device enrolled with a certificate valid [nb, na], in the store. */
static void
device_make(struct device *d, const char *id, time_t nb, time_t na)
{
	struct store_device sd = { .is_managed = 0 };
	char err[CERTS_ERR_MAX];

	cr_assert_not_null(d->key = certs_new_key());
	d->cert = certs_issue_device(ctx.issuer, d->key, id, nb, na, err,
	    sizeof(err));
	cr_assert_not_null(d->cert, "%s", err);
	cr_assert_eq(certs_identity(d->cert, &d->ident), 0);
	snprintf(sd.id, sizeof(sd.id), "%s", id);
	snprintf(sd.user, sizeof(sd.user), "bob");
	snprintf(sd.practice, sizeof(sd.practice), "K84002");
	cr_assert_eq(certs_key_fingerprint(d->key, sd.key_fpr,
	    sizeof(sd.key_fpr)), 0);
	snprintf(sd.cert_serial, sizeof(sd.cert_serial), "%s",
	    d->ident.serial);
	sd.enrolled_at = nb;
	sd.expires_at = na;
	cr_assert_eq(store_device_add(ctx.store, &sd, err, sizeof(err)), 0,
	    "%s", err);
}

static void
device_free(struct device *d)
{
	EVP_PKEY_free(d->key);
	X509_free(d->cert);
}

/* POST /simplereenroll presenting d's certificate, for key; the status. */
static int
renew(struct call *c, const struct device *d, EVP_PKEY *key)
{
	char *body = csr_body(key);

	call_init(c, HTTP_POST, "application/pkcs10", "", body);
	c->in.url = EST_PATH_REENROLL;
	c->in.cert_ok = 1;
	c->in.ident = &d->ident;
	c->in.peer_cert = d->cert;
	est_reenroll_job(&ctx, &c->in, &c->out);
	free(body);
	c->in.body = NULL;
	return c->out.status;
}

Test(est, renewal_in_the_last_third)
{
	struct device d;
	struct store_device sd;
	struct certs_identity id;
	EVP_PKEY *fresh = certs_new_key();
	char err[STORE_ERR_MAX], fpr[65];
	struct call c;
	json_t *recs, *r;
	X509 *x;

	device_make(&d, "laptop-1", ctx.now - 61 * DAY, ctx.now + 29 * DAY);
	cr_assert_eq(renew(&c, &d, fresh), 200);
	x = answer_cert(&c);
	call_free(&c);
	cr_assert_eq(certs_identity(x, &id), 0);
	cr_expect_eq(id.kind, CERTS_KIND_DEVICE);
	cr_expect_str_eq(id.device_id, "laptop-1");
	cr_expect_str_neq(id.serial, d.ident.serial);
	cr_expect_eq(id.not_after, ctx.now + CERTS_DEVICE_DAYS * DAY);
	cr_expect_eq(EVP_PKEY_eq(X509_get0_pubkey(x), fresh), 1);
	cr_assert_eq(store_device_get(ctx.store, "laptop-1", &sd, err,
	    sizeof(err)), 1);
	cr_assert_eq(certs_key_fingerprint(fresh, fpr, sizeof(fpr)), 0);
	cr_expect_str_eq(sd.cert_serial, id.serial);
	cr_expect_str_eq(sd.key_fpr, fpr);
	cr_expect_eq(sd.expires_at, id.not_after);
	cr_expect_str_eq(sd.user, "bob");
	/* The old certificate cannot renew again. */
	renew(&c, &d, fresh);
	expect_answer(&c, 403, "certificate-replaced", "this certificate has "
	    "been replaced by a newer one; renew with that one");
	call_free(&c);
	recs = audit_records("enrol.renew");
	cr_assert_eq(json_array_size(recs), 1);
	r = json_array_get(recs, 0);
	cr_expect_str_eq(field(r, "device.id"), "laptop-1");
	cr_expect_str_eq(field(r, "user.name"), "bob");
	cr_expect_str_eq(field(r, "organization.id"), "K84002");
	cr_expect_str_eq(field(r, "x509.serial_number"), id.serial);
	cr_expect_str_eq(field(r, "device.key_sha256"), fpr);
	json_decref(recs);
	X509_free(x);
	EVP_PKEY_free(fresh);
	device_free(&d);
}

Test(est, renewal_with_the_same_key)
{
	struct device d;
	struct call c;

	device_make(&d, "laptop-1", ctx.now - 61 * DAY, ctx.now + 29 * DAY);
	cr_expect_eq(renew(&c, &d, d.key), 200);
	call_free(&c);
	device_free(&d);
}

Test(est, renewal_too_early)
{
	time_t opens = ctx.now + 59 * DAY;
	char date[32], reason[160];
	struct device d;
	struct call c;
	struct tm tm;

	device_make(&d, "laptop-1", ctx.now - DAY, ctx.now + 89 * DAY);
	renew(&c, &d, d.key);
	gmtime_r(&opens, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(reason, sizeof(reason), "too early to renew: renewal opens "
	    "at %s (the last third of the certificate's life)", date);
	expect_answer(&c, 403, "renewal-too-early", reason);
	call_free(&c);
	device_free(&d);
}

Test(est, renewal_refusals)
{
	struct device d, other, gone;
	struct certs_identity sess;
	char err[CERTS_ERR_MAX];
	struct call c;
	X509 *s;

	device_make(&d, "laptop-1", ctx.now - 61 * DAY, ctx.now + 29 * DAY);
	device_make(&other, "laptop-2", ctx.now - 61 * DAY, ctx.now + 29 * DAY);
	device_make(&gone, "laptop-3", ctx.now - 61 * DAY, ctx.now + 29 * DAY);
	cr_assert_eq(store_device_revoke(ctx.store, "laptop-3", "stolen",
	    ctx.now, err, sizeof(err)), 0);
	renew(&c, &gone, gone.key);
	expect_answer(&c, 403, "device-revoked", "this device has been "
	    "revoked");
	call_free(&c);
	/* Another device's key. */
	renew(&c, &d, other.key);
	expect_answer(&c, 409, "key-in-use",
	    "this key belongs to an enrolled device; make a new key");
	call_free(&c);
	/* No certificate, or one that did not verify. */
	call_init(&c, HTTP_POST, "application/pkcs10", "", "");
	c.in.cert_error = "certificate has expired";
	est_reenroll_job(&ctx, &c.in, &c.out);
	expect_answer(&c, 401, "device-certificate-required",
	    "renewal needs the device's current certificate");
	call_free(&c);
	/* A session certificate names a device too, but is not one. */
	s = certs_issue_session(ctx.issuer, d.key, "bob", "laptop-1", NULL, 0,
	    ctx.now - 60, ctx.now + 3600, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(certs_identity(s, &sess), 0);
	call_init(&c, HTTP_POST, "application/pkcs10", "", "");
	c.in.cert_ok = 1;
	c.in.ident = &sess;
	c.in.peer_cert = s;
	est_reenroll_job(&ctx, &c.in, &c.out);
	cr_expect_eq(c.out.status, 401);
	call_free(&c);
	X509_free(s);
	/* Unknown to this store. */
	cr_assert_eq(store_device_get(ctx.store, "laptop-1", &(struct
	    store_device){ 0 }, err, sizeof(err)), 1);
	snprintf(d.ident.device_id, sizeof(d.ident.device_id), "laptop-9");
	renew(&c, &d, d.key);
	expect_answer(&c, 403, "device-unknown", "this device is not "
	    "enrolled");
	call_free(&c);
	/* Wrong media type, wrong method. */
	call_init(&c, HTTP_POST, "text/plain", "", "");
	est_reenroll_job(&ctx, &c.in, &c.out);
	cr_expect_eq(c.out.status, 415);
	call_free(&c);
	call_init(&c, HTTP_PUT, "application/pkcs10", "", "");
	est_reenroll_job(&ctx, &c.in, &c.out);
	cr_expect_eq(c.out.status, 405);
	call_free(&c);
	device_free(&d);
	device_free(&other);
	device_free(&gone);
}

/* ---- when the audit trail cannot take the record ------------------------ */

/* Moves ctx.audit onto a small tmpfs and fills it until writes fail. */
static void
audit_on_full_disk(void)
{
	struct audit_options o = { 0 };
	char live[PATH_MAX], key[PATH_MAX], filler[PATH_MAX], err[512];
	static const char chunk[4096];
	int fd, i;

	path_in(mnt, tmp_dir, "mnt");
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k,mode=0755") == -1) {
		int e = errno;

		mnt[0] = '\0';
		UNIT_SKIP("cannot mount a tmpfs to fill: %s (needs root)",
		    strerror(e));
	}
	audit_close(ctx.audit);
	o.path = path_in(live, mnt, "audit.jsonl");
	o.key_path = path_in(key, tmp_dir, "audit2.key");
	cr_assert_not_null(ctx.audit = audit_open(&o, err, sizeof(err)), "%s",
	    err);
	cr_assert_neq(fd = open(path_in(filler, mnt, "filler"), O_WRONLY |
	    O_CREAT, 0600), -1);
	while (write(fd, chunk, sizeof(chunk)) > 0)
		;
	close(fd);
	/* tmpfs takes small writes into its last page: use that up too. */
	for (i = 0; i < 64 && audit_append_sync(ctx.audit, "test.fill",
	    "success", json_pack("{s:s}", "pad", chunk + 1)) == 0; i++)
		;
	cr_assert_eq(audit_failed(ctx.audit), 1);
}

Test(est, no_enrolment_without_audit)
{
	EVP_PKEY *key = certs_new_key();
	struct store_device sd;
	char fpr[65], err[STORE_ERR_MAX];
	struct call c;

	add_code("code-1", ctx.now + DAY, 0);
	audit_on_full_disk();
	enrol(&c, "code-1", SECRET, key);
	expect_answer(&c, 503, "audit-unavailable", "the audit record could "
	    "not be written; no certificate without one");
	call_free(&c);
	/* The device is there (ids are never reused) but revoked. */
	cr_assert_eq(certs_key_fingerprint(key, fpr, sizeof(fpr)), 0);
	cr_assert_eq(store_device_by_fpr(ctx.store, fpr, &sd, err,
	    sizeof(err)), 1);
	cr_expect_eq(sd.revoked_at, ctx.now);
	cr_expect_str_eq(sd.revoke_reason, "certificate not delivered: the "
	    "audit log could not record it");
	EVP_PKEY_free(key);
}

Test(est, no_renewal_without_audit)
{
	struct store_device sd;
	struct device d;
	EVP_PKEY *fresh = certs_new_key();
	char err[STORE_ERR_MAX], fpr[65];
	struct call c;

	device_make(&d, "laptop-1", ctx.now - 61 * DAY, ctx.now + 29 * DAY);
	audit_on_full_disk();
	renew(&c, &d, fresh);
	expect_answer(&c, 503, "audit-unavailable", "the audit record could "
	    "not be written; no certificate without one");
	call_free(&c);
	/* As it was: the old certificate and key, not revoked. */
	cr_assert_eq(store_device_get(ctx.store, "laptop-1", &sd, err,
	    sizeof(err)), 1);
	cr_assert_eq(certs_key_fingerprint(d.key, fpr, sizeof(fpr)), 0);
	cr_expect_str_eq(sd.cert_serial, d.ident.serial);
	cr_expect_str_eq(sd.key_fpr, fpr);
	cr_expect_eq(sd.expires_at, ctx.now + 29 * DAY);
	cr_expect_eq(sd.revoked_at, 0);
	EVP_PKEY_free(fresh);
	device_free(&d);
}
