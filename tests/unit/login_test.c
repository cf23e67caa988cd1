/*
 * gateway/login: POST /v1/login driven as a job, with a real store, CA,
 * audit log and denylist. Refusals run on the system's PAM, where these
 * names never log in (pam_unix: no such user). The successes need a PAM
 * that says yes: the "wrapped" suite runs in a child of this binary started
 * with pam_wrapper and nss_wrapper preloaded (login/success_paths_...).
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <link.h>
#include <spawn.h>
#include <unistd.h>

#include <http_parser.h>
#include <jansson.h>
#include <oath.h>
#include <openssl/pem.h>

#include "audit/audit.h"
#include "certs/certs.h"
#include "gateway/monitor/auth.h"
#include "gateway/denylist.h"
#include "gateway/job.h"
#include "gateway/monitor/login.h"
#include "gateway/monitor/store.h"
#include "policy/policy.h"
#include "tests/unit/unit.h"

extern char **environ;

#define NOPAM_SERVICE	"mwg-login-test-nopam"	/* pam.d/other */
#define WRAP_SERVICE	"mwg-test"
#define WRAP_ENV	"MWG_LOGIN_TEST_WRAPPED"
#define PAM_MATRIX	"/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so"
#define GENERIC		"the user name, password or code is not right"
#define PASSWORD	"Pw-9f3e1c-not-in-any-log"
#define SOURCE_IP	"127.0.0.2"
#define DAY		(24 * 60 * 60)

static const unsigned char secret[] = "12345678901234567890";
#define SECRET_LEN	(sizeof(secret) - 1)

static char dir[PATH_MAX], audit_path[PATH_MAX];
static char err[512];
static time_t now;
static struct store *st;
static struct certs_issuer *issuer;
static struct audit_log *alog;
static struct denylist *deny;
static struct job_ctx ctx;

/* One enrolled (or not) device: its key, certificate and identity. */
struct device {
	EVP_PKEY *key;
	X509 *cert;
	struct certs_identity ident;
};
static struct device laptop, shared;	/* alice's own; a managed one */

/* ---- fixture ------------------------------------------------------------ */

static void
device_make(struct device *d, const char *id, const char *user,
    int is_managed, int add)
{
	struct store_device sd = { .is_managed = is_managed,
	    .enrolled_at = now - 100, .expires_at = now + 90 * DAY };

	cr_assert_not_null(d->key = certs_new_key());
	d->cert = certs_issue_device(issuer, d->key, id, now - 60,
	    now + 90 * DAY, err, sizeof(err));
	cr_assert_not_null(d->cert, "%s", err);
	cr_assert_eq(certs_identity(d->cert, &d->ident), 0);
	if (!add)
		return;
	snprintf(sd.id, sizeof(sd.id), "%s", id);
	snprintf(sd.user, sizeof(sd.user), "%s", user);
	snprintf(sd.practice, sizeof(sd.practice), "K84001");
	snprintf(sd.cert_serial, sizeof(sd.cert_serial), "%s", d->ident.serial);
	cr_assert_eq(certs_key_fingerprint(d->key, sd.key_fpr,
	    sizeof(sd.key_fpr)), 0);
	cr_assert_eq(store_device_add(st, &sd, err, sizeof(err)), 0, "%s",
	    err);
}

static void
setup(void)
{
	const char *hosts[] = { "localhost" };
	struct audit_options ao = { 0 };
	char p[PATH_MAX], k[PATH_MAX];

	now = time(NULL);
	make_tmp_dir(dir, sizeof(dir), "mwg-login-test");
	cr_assert_not_null(st = store_open(dir, err, sizeof(err)), "%s", err);
	cr_assert_eq(certs_ca_init(path_in(p, dir, "ca"), hosts, 1, err,
	    sizeof(err)), 0, "%s", err);
	path_in(p, dir, "ca/" CERTS_ISSUING_CERT);
	path_in(k, dir, "ca/" CERTS_ISSUING_KEY);
	cr_assert_not_null(issuer = certs_issuer_load(p, k, err, sizeof(err)));
	ao.path = path_in(audit_path, dir, "audit.jsonl");
	ao.key_path = path_in(k, dir, "audit.key");
	cr_assert_not_null(alog = audit_open(&ao, err, sizeof(err)), "%s",
	    err);
	deny = denylist_new();
	device_make(&laptop, "laptop-1", "alice", 0, 1);
	device_make(&shared, "shared-1", "alice", 1, 1);
	ctx = (struct job_ctx){ .store = st, .issuer = issuer, .audit = alog,
	    .deny = deny, .pam_service = NOPAM_SERVICE, .now = now };
	cr_assert_eq(oath_init(), OATH_OK);
}

static void
teardown(void)
{
	if (dir[0] == '\0')
		return;		/* skipped before setup */
	audit_close(alog);
	denylist_free(deny);
	certs_issuer_free(issuer);
	store_close(st);
	X509_free(laptop.cert);
	X509_free(shared.cert);
	EVP_PKEY_free(laptop.key);
	EVP_PKEY_free(shared.key);
	remove_tree(dir);
}

/* The wrapped suite runs in login/success_paths_under_pam_wrapper's child. */
static void
wrapped_setup(void)
{
	if (getenv(WRAP_ENV) == NULL)
		cr_skip_test("runs in login/success_paths_under_pam_wrapper");
	setup();
	ctx.pam_service = WRAP_SERVICE;
}

TestSuite(login, .init = setup, .fini = teardown);
TestSuite(wrapped, .init = wrapped_setup, .fini = teardown);

/* ---- driving the job ---------------------------------------------------- */

struct req {
	int method;			/* 0: POST */
	const char *content_type;	/* NULL: application/json */
	const char *body;
	const struct device *dev;	/* NULL: no certificate */
	const char *ip;			/* NULL: SOURCE_IP */
};

/* Runs login_job; the caller json_decrefs out->json. */
static void
run(const struct req *r, struct job_out *out)
{
	const char *ip = r->ip ? r->ip : SOURCE_IP;
	struct job_in in = {
		.method = r->method ? r->method : HTTP_POST,
		.url = "/v1/login",
		.content_type = r->content_type ? r->content_type :
		    "application/json",
		.authorization = "",
		.body = r->body,
		.body_len = strlen(r->body),
		.cert_ok = r->dev != NULL,
		.cert_error = r->dev ? NULL : "no certificate presented",
		.ident = r->dev ? &r->dev->ident : NULL,
		.peer_cert = r->dev ? r->dev->cert : NULL,
		.source_ip = ip,
	};

	in.who = json_pack("{s:s}", "source.ip", ip);
	if (r->dev)
		json_object_set_new(in.who, "device.id",
		    json_string(r->dev->ident.device_id));
	memset(out, 0, sizeof(*out));
	login_job(&ctx, &in, out);
	json_decref(in.who);
	cr_assert_not_null(out->json, "no answer");
	cr_assert_null(out->raw);
}

/* A login body; caller frees. */
static char *
body(const char *user, const char *password, const char *otp)
{
	json_t *b = json_pack("{s:s, s:s, s:s}", "user", user, "password",
	    password, "otp", otp);
	char *s = json_dumps(b, JSON_COMPACT);

	json_decref(b);
	return s;
}

/* Logs user in on dev with password and otp; status, answer into out. */
static int
login_as(const struct device *dev, const char *user, const char *password,
    const char *otp, const char *ip, struct job_out *out)
{
	char *b = body(user, password, otp);
	struct req r = { .body = b, .dev = dev, .ip = ip };

	run(&r, out);
	free(b);
	return out->status;
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

/* Checks out is {"error": code, "reason": reason} with status. */
static void
expect_error(const struct job_out *out, int status, const char *code,
    const char *reason)
{
	cr_expect_eq(out->status, status, "status %d, want %d", out->status,
	    status);
	cr_expect_str_eq(jstr(out->json, "error"), code);
	if (reason)
		cr_expect_str_eq(jstr(out->json, "reason"), reason);
	cr_expect_eq(json_object_size(out->json), 2);
}

static void
totp_code(time_t t, char buf[16])
{
	cr_assert_eq(oath_totp_generate((const char *)secret, SECRET_LEN, t,
	    30, 0, 6, buf), OATH_OK);
}

static void
totp_enrol(const char *user)
{
	cr_assert_eq(auth_totp_import(st, user, secret, SECRET_LEN, 6, 30, err,
	    sizeof(err)), 0, "%s", err);
}

static struct store_throttle
throttle_row(const char *key)
{
	struct store_throttle t;

	cr_assert_neq(store_throttle_get(st, key, &t, err, sizeof(err)), -1);
	return t;
}

static struct store_totp_info
totp_info(const char *user)
{
	unsigned char s[STORE_TOTP_SECRET_MAX];
	struct store_totp_info info;
	size_t len;

	cr_assert_eq(store_totp_get(st, user, s, &len, &info, err,
	    sizeof(err)), 1);
	return info;
}

/* ---- the audit trail ---------------------------------------------------- */

/* Closes the log and returns every record (an array) and the raw text. */
static json_t *
audit_records(char **text)
{
	json_t *all = json_array(), *r;
	char line[AUDIT_RECORD_MAX + 2];
	size_t size = 0;
	FILE *f, *mem;

	audit_close(alog);
	alog = NULL;
	cr_assert_not_null(f = fopen(audit_path, "r"));
	cr_assert_not_null(mem = open_memstream(text, &size));
	while (fgets(line, sizeof(line), f) != NULL) {
		fputs(line, mem);
		cr_assert_not_null(r = json_loads(line, 0, NULL), "%s", line);
		json_array_append_new(all, r);
	}
	fclose(f);
	fclose(mem);
	return all;
}

/* The records with event.action action, as a new array. */
static json_t *
audit_find(json_t *all, const char *action)
{
	json_t *out = json_array(), *r;
	size_t i;

	json_array_foreach(all, i, r)
		if (strcmp(jstr(r, "event.action"), action) == 0)
			json_array_append(out, r);
	return out;
}

/* Checks record i of action: outcome, reason, and the secret's absence. */
static json_t *
audit_expect(json_t *all, const char *action, size_t i, const char *outcome,
    const char *reason)
{
	json_t *found = audit_find(all, action);
	json_t *r = json_array_get(found, i);

	cr_assert_not_null(r, "no %s record %zu (%zu found)", action, i,
	    json_array_size(found));
	cr_expect_str_eq(jstr(r, "event.outcome"), outcome);
	if (reason)
		cr_expect_str_eq(jstr(r, "event.reason"), reason, "%s %zu",
		    action, i);
	json_decref(found);
	return r;	/* borrowed from all */
}

/* ---- requests refused before any factor --------------------------------- */

Test(login, wrong_method_and_media_type_are_not_audited)
{
	struct req r = { .method = HTTP_GET, .body = "", .dev = &laptop };
	struct job_out out;
	json_t *all;
	char *text;

	run(&r, &out);
	expect_error(&out, 405, "method-not-allowed", "use POST for /v1/login");
	json_decref(out.json);
	r = (struct req){ .content_type = "text/plain", .body = "{}",
	    .dev = &laptop };
	run(&r, &out);
	expect_error(&out, 415, "unsupported-media-type", NULL);
	json_decref(out.json);
	r.content_type = "Application/JSON; charset=utf-8";
	run(&r, &out);
	cr_expect_eq(out.status, 400, "parameters are allowed");
	json_decref(out.json);

	all = audit_records(&text);
	json_t *found = audit_find(all, "auth.login");
	cr_expect_eq(json_array_size(found), 1, "only the 400");
	json_decref(found);
	json_decref(all);
	free(text);
	ASSERT_NO_LEAKS();
}

Test(login, bad_bodies_get_400_without_the_password)
{
	static const struct {
		const char *body, *reason;
	} cases[] = {
		{ "", "the body is not JSON (line 1, column 0)" },
		{ "{\"user\":", "the body is not JSON (line 1, column 8)" },
		{ "{\"password\": \"" PASSWORD "\"",
		    "the body is not JSON (line 1, column 39)" },
		{ "[\"" PASSWORD "\"]", "the body must be a JSON object" },
		{ "{}", "user: a string naming a person ([a-z0-9._-], 1..63 "
		    "characters)" },
		{ "{\"user\": \"Alice\", \"password\": \"x\", \"otp\": \"1\"}",
		    "user: a string naming a person ([a-z0-9._-], 1..63 "
		    "characters)" },
		{ "{\"user\": \"../etc\", \"password\": \"x\", \"otp\": \"1\"}",
		    "user: a string naming a person ([a-z0-9._-], 1..63 "
		    "characters)" },
		{ "{\"user\": 7, \"password\": \"x\", \"otp\": \"1\"}",
		    "user: a string naming a person ([a-z0-9._-], 1..63 "
		    "characters)" },
		{ "{\"user\": \"alice\", \"otp\": \"123456\"}",
		    "password: a string of 1..1024 bytes" },
		{ "{\"user\": \"alice\", \"password\": \"\", \"otp\": \"1\"}",
		    "password: a string of 1..1024 bytes" },
		{ "{\"user\": \"alice\", \"password\": 12, \"otp\": \"1\"}",
		    "password: a string of 1..1024 bytes" },
		{ "{\"user\": \"alice\", \"password\": \"" PASSWORD "\"}",
		    "otp: a string of at most 15 characters" },
		{ "{\"user\": \"alice\", \"password\": \"" PASSWORD "\", "
		    "\"otp\": 123456}",
		    "otp: a string of at most 15 characters" },
		{ "{\"user\": \"alice\", \"password\": \"" PASSWORD "\", "
		    "\"otp\": \"1234567890123456\"}",
		    "otp: a string of at most 15 characters" },
		/* Jansson refuses NUL in strings (PAM takes C strings). */
		{ "{\"user\": \"alice\", \"password\": \"a\\u0000b\", \"otp\": "
		    "\"1\"}", "the body is not JSON (line 1, column 40)" },
		/* Which of two passwords would count? Neither. */
		{ "{\"user\": \"alice\", \"password\": \"" PASSWORD "\", "
		    "\"password\": \"y\", \"otp\": \"1\"}",
		    "the body is not JSON (line 1, column 68)" },
	};
	char big[LOGIN_PASSWORD_MAX + 64], *text, *dump;
	struct job_out out;
	json_t *all, *recs;
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		struct req r = { .body = cases[i].body, .dev = &laptop };

		run(&r, &out);
		expect_error(&out, 400, "bad-request", cases[i].reason);
		dump = json_dumps(out.json, 0);
		cr_expect_null(strstr(dump, PASSWORD), "case %zu", i);
		free(dump);
		json_decref(out.json);
	}
	/* 1024 bytes is the most; 1025 is refused. */
	memset(big, 'p', sizeof(big));
	big[LOGIN_PASSWORD_MAX + 1] = '\0';
	dump = body("alice", big, "123456");
	struct req r = { .body = dump, .dev = &laptop };
	run(&r, &out);
	expect_error(&out, 400, "bad-request",
	    "password: a string of 1..1024 bytes");
	json_decref(out.json);
	free(dump);

	all = audit_records(&text);
	recs = audit_find(all, "auth.login");
	cr_expect_eq(json_array_size(recs), NELEM(cases) + 1);
	audit_expect(all, "auth.login", 0, "failure",
	    "bad request: the body is not JSON (line 1, column 0)");
	json_t *rec = audit_expect(all, "auth.login", 5, "failure",
	    "bad request: user: a string naming a person ([a-z0-9._-], "
	    "1..63 characters)");
	cr_expect_null(json_object_get(rec, "user.name"), "invalid name kept");
	rec = audit_expect(all, "auth.login", 8, "failure",
	    "bad request: password: a string of 1..1024 bytes");
	cr_expect_str_eq(jstr(rec, "user.name"), "alice");
	cr_expect_str_eq(jstr(rec, "device.id"), "laptop-1");
	cr_expect_eq(json_integer_value(json_object_get(rec,
	    "http.response.status_code")), 400);
	cr_expect_null(strstr(text, PASSWORD), "the password is in the audit");
	cr_expect_eq(throttle_row("ip:" SOURCE_IP).failures, 0);
	json_decref(recs);
	json_decref(all);
	free(text);
	ASSERT_NO_LEAKS();
}

Test(login, a_device_certificate_is_required)
{
	struct job_out out;
	json_t *all;
	char *text;

	cr_assert_eq(login_as(NULL, "alice", PASSWORD, "123456", NULL, &out),
	    401);
	expect_error(&out, 401, "certificate-required",
	    "no certificate presented");
	json_decref(out.json);
	all = audit_records(&text);
	audit_expect(all, "auth.login", 0, "failure",
	    "no valid client certificate: no certificate presented");
	json_decref(all);
	free(text);
	ASSERT_NO_LEAKS();
}

/* The device refusals come before the throttle and PAM: none counts. */
Test(login, devices_unknown_revoked_locked_or_not_yours)
{
	struct device stray = { 0 };
	struct job_out out;
	json_t *all;
	char *text;

	device_make(&stray, "stray-1", "alice", 0, 0);
	login_as(&stray, "alice", PASSWORD, "123456", NULL, &out);
	expect_error(&out, 403, "device-not-enrolled",
	    "this device is not enrolled");
	json_decref(out.json);

	login_as(&laptop, "bob", PASSWORD, "123456", NULL, &out);
	expect_error(&out, 403, "device-not-yours",
	    "this device was enrolled for another person");
	json_decref(out.json);

	denylist_lock(deny, 0, "laptop-1", 0, "reported stolen");
	login_as(&laptop, "alice", PASSWORD, "123456", NULL, &out);
	expect_error(&out, 403, "device-locked",
	    "this device is locked by IT; contact the service desk");
	json_decref(out.json);
	denylist_unlock(deny, 0, "laptop-1");
	/* A lock that has run out no longer applies. */
	denylist_lock(deny, 0, "laptop-1", now, "until now");
	denylist_revoke(deny, "shared-1", "lost on a train");
	login_as(&shared, "alice", PASSWORD, "123456", NULL, &out);
	expect_error(&out, 403, "device-revoked",
	    "this device has been revoked");
	json_decref(out.json);

	cr_assert_eq(store_device_revoke(st, "laptop-1", "left the practice",
	    now, err, sizeof(err)), 0);
	login_as(&laptop, "alice", PASSWORD, "123456", NULL, &out);
	expect_error(&out, 403, "device-revoked",
	    "this device has been revoked");
	json_decref(out.json);

	cr_expect_eq(throttle_row("user:alice").failures, 0);
	cr_expect_eq(throttle_row("ip:" SOURCE_IP).failures, 0);
	all = audit_records(&text);
	audit_expect(all, "auth.login", 0, "failure", "device not enrolled");
	audit_expect(all, "auth.login", 1, "failure",
	    "personal device of alice");
	audit_expect(all, "auth.login", 2, "failure",
	    "device locked: reported stolen");
	audit_expect(all, "auth.login", 3, "failure",
	    "device revoked: lost on a train");
	json_t *rec = audit_expect(all, "auth.login", 4, "failure",
	    "device revoked: left the practice");
	cr_expect_str_eq(jstr(rec, "organization.id"), "K84001");
	cr_expect_eq(json_integer_value(json_object_get(rec,
	    "http.response.status_code")), 403);
	json_decref(all);
	free(text);
	X509_free(stray.cert);
	EVP_PKEY_free(stray.key);
	ASSERT_NO_LEAKS();
}

/* ---- factors, on the system's PAM (which refuses these names) --------- */

Test(login, wrong_password_gets_the_one_answer_and_spends_the_code,
    .timeout = 60)
{
	struct job_out a, b, c;
	char code[16], *text, *da, *db, *dc;
	json_t *all, *rec;

	/* No TOTP either: both factors named in the record. */
	cr_assert_eq(login_as(&laptop, "alice", PASSWORD, "123456", NULL, &a),
	    401);
	expect_error(&a, 401, "login-failed", GENERIC);
	cr_expect_eq(throttle_row("user:alice").failures, 1);
	cr_expect_eq(throttle_row("ip:" SOURCE_IP).failures, 1);

	/* A right code with a wrong password: spent all the same. */
	totp_enrol("alice");
	totp_code(now, code);
	login_as(&laptop, "alice", PASSWORD, code, NULL, &b);
	cr_expect_eq(totp_info("alice").last_step, now / 30);
	login_as(&laptop, "alice", PASSWORD, code, "127.0.0.3", &c);
	cr_expect_eq(throttle_row("user:alice").failures, 3);
	cr_expect_eq(throttle_row("ip:" SOURCE_IP).failures, 2);
	cr_expect_eq(throttle_row("ip:127.0.0.3").failures, 1);
	/* Wrong codes with a wrong password do not count towards disabling. */
	cr_expect_eq(totp_info("alice").failures, 0);

	da = json_dumps(a.json, JSON_SORT_KEYS);
	db = json_dumps(b.json, JSON_SORT_KEYS);
	dc = json_dumps(c.json, JSON_SORT_KEYS);
	cr_expect_str_eq(da, db);
	cr_expect_str_eq(da, dc);
	cr_expect_eq(b.status, 401);
	cr_expect_eq(c.status, 401);

	all = audit_records(&text);
	rec = audit_expect(all, "auth.login", 0, "failure",
	    "wrong password; no TOTP enrolled");
	cr_expect_str_eq(jstr(rec, "user.name"), "alice");
	cr_expect_str_eq(jstr(rec, "device.id"), "laptop-1");
	cr_expect_str_eq(jstr(rec, "source.ip"), SOURCE_IP);
	cr_expect_str_eq(jstr(rec, "organization.id"), "K84001");
	cr_expect_eq(json_integer_value(json_object_get(rec,
	    "http.response.status_code")), 401);
	audit_expect(all, "auth.login", 1, "failure", "wrong password");
	audit_expect(all, "auth.login", 2, "failure",
	    "wrong password; code already used");
	cr_expect_null(strstr(text, PASSWORD));
	cr_expect_null(strstr(text, code));
	json_decref(all);
	free(text);
	free(da);
	free(db);
	free(dc);
	json_decref(a.json);
	json_decref(b.json);
	json_decref(c.json);
	ASSERT_NO_LEAKS();
}

/* Three people fail from one address; the fourth waits 2 s there. */
Test(login, one_address_is_slowed_after_three_failures, .timeout = 60)
{
	static const char *const users[] = { "dora", "eve", "fay" };
	struct job_out out;
	json_t *all, *rec;
	char *text;

	for (size_t i = 0; i < NELEM(users); i++) {
		cr_expect_eq(login_as(&shared, users[i], PASSWORD, "000000",
		    "127.0.0.9", &out), 401);
		json_decref(out.json);
	}
	cr_assert_eq(login_as(&shared, "gus", PASSWORD, "000000", "127.0.0.9",
	    &out), 429);
	expect_error(&out, 429, "too-many-attempts",
	    "too many failed attempts: try again in 2 seconds");
	cr_expect_eq(out.retry_after, 2);
	json_decref(out.json);
	cr_expect_eq(throttle_row("ip:127.0.0.9").failures, 3);
	cr_expect_eq(throttle_row("user:gus").failures, 0, "429 is no guess");

	/* The wait is over: the address may try again. */
	ctx.now = now + 2;
	cr_expect_eq(login_as(&shared, "gus", PASSWORD, "000000", "127.0.0.9",
	    &out), 401);
	json_decref(out.json);

	all = audit_records(&text);
	rec = audit_expect(all, "auth.login", 3, "failure", "throttled");
	cr_expect_str_eq(jstr(rec, "user.name"), "gus");
	cr_expect_eq(json_integer_value(json_object_get(rec,
	    "http.response.status_code")), 429);
	audit_expect(all, "auth.login", 4, "failure",
	    "wrong password; no TOTP enrolled");
	json_decref(all);
	free(text);
	ASSERT_NO_LEAKS();
}

/* A locked person gets the answer anyone gets; the record says why. */
Test(login, a_locked_person_gets_the_generic_answer, .timeout = 60)
{
	struct job_out out;
	json_t *all;
	char code[16], *text;

	totp_enrol("alice");
	totp_code(now, code);
	denylist_lock(deny, 1, "alice", 0, "on leave");
	cr_assert_eq(login_as(&laptop, "alice", PASSWORD, code, NULL, &out),
	    401);
	expect_error(&out, 401, "login-failed", GENERIC);
	json_decref(out.json);
	cr_expect_eq(throttle_row("user:alice").failures, 1);
	all = audit_records(&text);
	audit_expect(all, "auth.login", 0, "failure",
	    "user locked: on leave; wrong password");
	json_decref(all);
	free(text);
	ASSERT_NO_LEAKS();
}

/* ---- successes, in a child under pam_wrapper and nss_wrapper ----------- */

/* The sanitizer runtime this binary loaded, to preload it first. */
static int
find_asan(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libasan.so")) {
		snprintf(arg, PATH_MAX, "%s", info->dlpi_name);
		return 1;
	}
	return 0;
}

/*
 * PAM services and NSS files for the child, in dir/wrap (pam_wrapper
 * copies the whole service directory at start).
 */
static void
wrapper_files(char wrap[PATH_MAX])
{
	char p[PATH_MAX], text[PATH_MAX * 3];

	cr_assert_eq(mkdir(path_in(wrap, dir, "wrap"), 0700), 0);
	path_in(p, wrap, "passdb");
	write_file(p, "alice:" PASSWORD ":" WRAP_SERVICE "\n"
	    "ghost:" PASSWORD ":" WRAP_SERVICE "\n"
	    "bob:" PASSWORD ":other\n", 0);
	snprintf(text, sizeof(text), "auth required %s passdb=%s\n"
	    "account required %s passdb=%s\n", PAM_MATRIX, p, PAM_MATRIX, p);
	write_file(path_in(p, wrap, WRAP_SERVICE), text, 0);
	write_file(path_in(p, wrap, "other"), "\n", 1);
	write_file(path_in(p, wrap, "passwd"),
	    "alice:x:2001:3001:Alice:/nonexistent:/bin/false\n"
	    "bob:x:2002:3001:Bob:/nonexistent:/bin/false\n", 0);
	write_file(path_in(p, wrap, "group"),
	    "staff:x:3001:\n"
	    "gp-clinicians:x:3002:alice,bob\n"
	    "k84001-staff:x:3003:alice\n"
	    "bad,name:x:3004:alice\n", 0);
}

/*
 * This environment without Criterion's own (BXFI_MAP would make the child
 * think it is one of the parent's test workers); caller frees the array.
 */
static char **
child_environ(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	cr_assert_not_null(env = calloc(n + 1, sizeof(*env)));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "BXFI_", 5) != 0)
			env[k++] = environ[i];
	return env;
}

Test(login, success_paths_under_pam_wrapper, .timeout = 180)
{
	char self[PATH_MAX], pre[PATH_MAX * 2], asan[PATH_MAX] = "";
	char p[PATH_MAX], wrap[PATH_MAX], log_path[PATH_MAX], *out = NULL;
	char **env;
	char *argv[] = { self, "--filter", "wrapped/*", "--jobs", "1", NULL };
	posix_spawn_file_actions_t fa;
	ssize_t n;
	pid_t pid;
	int status;
	FILE *f;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	cr_assert_gt(n, 0);
	self[n] = '\0';
	wrapper_files(wrap);
	dl_iterate_phdr(find_asan, asan);
	snprintf(pre, sizeof(pre), "%s%slibpam_wrapper.so:libnss_wrapper.so",
	    asan, asan[0] ? ":" : "");
	cr_assert_eq(setenv("LD_PRELOAD", pre, 1), 0);
	cr_assert_eq(setenv("PAM_WRAPPER", "1", 1), 0);
	cr_assert_eq(setenv("PAM_WRAPPER_SERVICE_DIR", wrap, 1), 0);
	cr_assert_eq(setenv("PAM_WRAPPER_DISABLE_DEEPBIND", "1", 1), 0);
	cr_assert_eq(setenv("NSS_WRAPPER_PASSWD", path_in(p, wrap, "passwd"),
	    1), 0);
	cr_assert_eq(setenv("NSS_WRAPPER_GROUP", path_in(p, wrap, "group"), 1),
	    0);
	cr_assert_eq(setenv(WRAP_ENV, dir, 1), 0);

	path_in(log_path, dir, "child.log");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT |
	    O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	env = child_environ();
	cr_assert_eq(posix_spawn(&pid, self, &fa, NULL, argv, env), 0);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	cr_assert_eq(waitpid(pid, &status, 0), pid);

	cr_assert_not_null(f = fopen(log_path, "r"));
	size_t size = 0;
	if (getdelim(&out, &size, '\0', f) < 0) {
		free(out);
		out = strdup("(no output)");
	}
	fclose(f);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the wrapped tests failed (status %#x):\n%s", status, out);
	cr_expect_not_null(strstr(out, "Tested: 7 | Passing: 7 | Failing: 0 "
	    "| Crashing: 0"), "not every wrapped test ran:\n%s", out);
	free(out);
}

/* A session certificate answer: parsed and checked against the device. */
static X509 *
session_of(const struct job_out *out, const struct device *dev)
{
	const char *pem = jstr(out->json, "certificate");
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *cert = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	cr_assert_not_null(cert, "no certificate in the answer");
	cr_expect_eq(EVP_PKEY_eq(X509_get0_pubkey(cert), dev->key), 1,
	    "not the device's own key");
	return cert;
}

Test(wrapped, a_login_gets_a_session_certificate)
{
	char groups[8][CERTS_GROUP_MAX], code[16], *text;
	struct certs_identity id;
	struct store_session s;
	struct store_device d;
	struct job_out out;
	json_t *all, *rec;
	X509 *cert;

	totp_enrol("alice");
	totp_code(now, code);
	/* An earlier mistake: the person's row goes, the address's stays. */
	login_as(&laptop, "alice", "not-it", "000000", NULL, &out);
	cr_assert_eq(out.status, 401);
	json_decref(out.json);

	cr_assert_eq(login_as(&laptop, "alice", PASSWORD, code, NULL, &out),
	    200, "%s", jstr(out.json, "reason"));
	cr_expect_str_eq(jstr(out.json, "user"), "alice");
	cr_expect_str_eq(jstr(out.json, "device"), "laptop-1");
	cr_expect_eq(json_integer_value(json_object_get(out.json,
	    "expires_at")), now + CERTS_SESSION_HOURS * 3600);
	rec = json_pack("[s, s, s]", "staff", "gp-clinicians", "k84001-staff");
	cr_expect(json_equal(json_object_get(out.json, "groups"), rec),
	    "groups: primary first, \"bad,name\" skipped");
	json_decref(rec);
	cr_expect_eq(json_array_size(json_object_get(out.json, "roles")), 0);
	cr_expect_eq(json_array_size(json_object_get(out.json, "practices")),
	    0);

	cert = session_of(&out, &laptop);
	cr_assert_eq(certs_identity(cert, &id), 0);
	cr_expect_eq(id.kind, CERTS_KIND_SESSION);
	cr_expect_str_eq(id.user, "alice");
	cr_expect_str_eq(id.device_id, "laptop-1");
	cr_expect_eq(id.not_after, now + CERTS_SESSION_HOURS * 3600);
	cr_expect_eq(ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert), now - 60),
	    0);
	cr_expect_eq(certs_session_groups(cert, groups, 8), 3);
	cr_expect_str_eq(groups[0], "staff");
	X509_free(cert);
	json_decref(out.json);

	cr_assert_eq(store_session_get(st, id.serial, &s, err, sizeof(err)), 1);
	cr_expect_str_eq(s.user, "alice");
	cr_expect_str_eq(s.device_id, "laptop-1");
	cr_expect_eq(s.issued_at, now);
	cr_expect_eq(s.expires_at, id.not_after);
	cr_assert_eq(store_device_get(st, "laptop-1", &d, err, sizeof(err)), 1);
	cr_expect_eq(d.last_seen_at, now);
	cr_expect_eq(throttle_row("user:alice").failures, 0);
	cr_expect_eq(throttle_row("ip:" SOURCE_IP).failures, 1);

	all = audit_records(&text);
	audit_expect(all, "auth.login", 0, "failure",
	    "wrong password; wrong code");
	rec = audit_expect(all, "auth.login", 1, "success",
	    "password and code accepted");
	cr_expect_str_eq(jstr(rec, "user.name"), "alice");
	cr_expect_eq(json_array_size(json_object_get(rec, "user.group.name")),
	    3);
	rec = audit_expect(all, "session.issue", 0, "success", NULL);
	cr_expect_str_eq(jstr(rec, "x509.serial_number"), id.serial);
	cr_expect_str_eq(jstr(rec, "user.name"), "alice");
	cr_expect_str_eq(jstr(rec, "organization.id"), "K84001");
	cr_expect_null(strstr(text, PASSWORD));
	json_decref(all);
	free(text);
	ASSERT_NO_LEAKS();
}

Test(wrapped, a_code_once_and_wrong_codes_counted_with_the_password)
{
	struct job_out out;
	char code[16], next[16], *text;
	json_t *all;

	totp_enrol("alice");
	totp_code(now, code);
	totp_code(now + 30, next);
	cr_assert_eq(login_as(&laptop, "alice", PASSWORD, next, NULL, &out),
	    200);
	json_decref(out.json);
	cr_assert_eq(login_as(&laptop, "alice", PASSWORD, next, NULL, &out),
	    401);
	expect_error(&out, 401, "login-failed", GENERIC);
	json_decref(out.json);
	cr_assert_eq(login_as(&laptop, "alice", PASSWORD, code, NULL, &out),
	    401, "an older step after a newer one");
	json_decref(out.json);
	cr_assert_eq(login_as(&laptop, "alice", PASSWORD, "12345", NULL, &out),
	    401);
	json_decref(out.json);
	cr_expect_eq(totp_info("alice").failures, 3);

	all = audit_records(&text);
	audit_expect(all, "auth.login", 1, "failure", "code already used");
	audit_expect(all, "auth.login", 2, "failure", "code already used");
	audit_expect(all, "auth.login", 3, "failure", "malformed code");
	json_decref(all);
	free(text);
	ASSERT_NO_LEAKS();
}

Test(wrapped, the_hundredth_wrong_code_disables_totp)
{
	struct job_out out;
	char code[16], *text;
	json_t *all, *rec;

	totp_enrol("alice");
	for (int i = 1; i < AUTH_TOTP_DISABLE_AFTER; i++)
		cr_assert_eq(auth_totp_failed(st, "alice", now, err,
		    sizeof(err)), 0);
	login_as(&laptop, "alice", PASSWORD, "000000", NULL, &out);
	cr_expect_eq(out.status, 401);
	json_decref(out.json);
	cr_expect_eq(totp_info("alice").disabled_at, now);
	totp_code(now, code);
	ctx.now = now + 60;	/* past the throttle's 2 s */
	login_as(&laptop, "alice", PASSWORD, code, NULL, &out);
	cr_expect_eq(out.status, 401);
	json_decref(out.json);

	all = audit_records(&text);
	rec = audit_expect(all, "totp.disable", 0, "success",
	    "100 consecutive failures");
	cr_expect_str_eq(jstr(rec, "user.name"), "alice");
	audit_expect(all, "auth.login", 1, "failure", "TOTP disabled");
	json_decref(all);
	free(text);
	ASSERT_NO_LEAKS();
}

/* The session ends with the device certificate, whichever is first. */
Test(wrapped, a_session_never_outlives_the_device_certificate)
{
	struct store_device d;
	struct job_out out;
	char code[16];

	cr_assert_eq(store_device_get(st, "shared-1", &d, err, sizeof(err)),
	    1);
	cr_assert_eq(store_device_renew(st, "shared-1", d.key_fpr,
	    d.cert_serial, now + 3600, err, sizeof(err)), 0, "%s", err);
	totp_enrol("bob");
	totp_code(now, code);
	/* bob's account is not for this service: refused after the password. */
	cr_assert_eq(login_as(&shared, "bob", PASSWORD, code, NULL, &out),
	    401);
	json_decref(out.json);
	totp_enrol("alice");
	cr_assert_eq(login_as(&shared, "alice", PASSWORD, code, NULL, &out),
	    200, "%s", jstr(out.json, "reason"));
	cr_expect_eq(json_integer_value(json_object_get(out.json,
	    "expires_at")), now + 3600);
	json_decref(out.json);
	ASSERT_NO_LEAKS();
}

Test(wrapped, pam_says_yes_but_nss_knows_no_such_person)
{
	struct job_out out;
	char code[16], *text;
	json_t *all;

	totp_enrol("ghost");
	totp_code(now, code);
	cr_assert_eq(login_as(&shared, "ghost", PASSWORD, code, NULL, &out),
	    401);
	expect_error(&out, 401, "login-failed", GENERIC);
	json_decref(out.json);
	all = audit_records(&text);
	audit_expect(all, "auth.login", 0, "failure", "no such user in NSS");
	json_decref(all);
	free(text);
	ASSERT_NO_LEAKS();
}

Test(wrapped, an_account_pam_refuses_is_named_in_the_record)
{
	struct job_out out;
	char code[16], *text;
	json_t *all;

	totp_enrol("bob");
	totp_code(now, code);
	cr_assert_eq(login_as(&shared, "bob", PASSWORD, code, NULL, &out),
	    401);
	expect_error(&out, 401, "login-failed", GENERIC);
	json_decref(out.json);
	all = audit_records(&text);
	audit_expect(all, "auth.login", 0, "failure",
	    "account not permitted: Permission denied");
	json_decref(all);
	free(text);
	ASSERT_NO_LEAKS();
}

/* The policy's max-session sets the life; its roles and practices show. */
Test(wrapped, the_policy_sets_the_life_roles_and_practices)
{
	static const char text[] =
	    "practice K84001 { target emis 10.10.1.10:443 }\n"
	    "practice K84002 { target emis 10.10.2.10:443 }\n"
	    "role clinician { groups gp-clinicians; targets emis;"
	    " max-session 2h }\n"
	    "role nurse { users alice; targets emis; max-session 90m }\n"
	    "role other { groups nobody-here; targets emis; max-session 20h }\n"
	    "member group k84001-staff { practices K84001 }\n";
	struct conf_errors errs = { 0 };
	struct policy *p;
	struct job_out out;
	char code[16];
	json_t *want;

	p = policy_load_string("t.conf", text, strlen(text), &errs);
	cr_assert_not_null(p, "policy: %s", errs.n ? errs.msgs[0] : "?");
	ctx.policy = p;
	totp_enrol("alice");
	totp_code(now, code);
	cr_assert_eq(login_as(&laptop, "alice", PASSWORD, code, NULL, &out),
	    200, "%s", jstr(out.json, "reason"));
	cr_expect_eq(json_integer_value(json_object_get(out.json,
	    "expires_at")), now + 2 * 3600, "the longest max-session held");
	want = json_pack("[s, s]", "clinician", "nurse");
	cr_expect(json_equal(json_object_get(out.json, "roles"), want));
	json_decref(want);
	want = json_pack("[s]", "K84001");
	cr_expect(json_equal(json_object_get(out.json, "practices"), want));
	json_decref(want);
	json_decref(out.json);
	ctx.policy = NULL;
	policy_free(p);
	conf_errors_clear(&errs);
	ASSERT_NO_LEAKS();
}
