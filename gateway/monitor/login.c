/*
 * POST /v1/login on the auth pool: the request body, then the device (it
 * must be enrolled, unrevoked, unlocked, and the person's own unless the
 * organisation manages it), the throttle, both factors, and on success a
 * session certificate for the device's own key. Every factor failure gets
 * the same answer; the audit record says which factor it was.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "common/log.h"
#include "gateway/monitor/auth.h"
#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/monitor/login.h"
#include "gateway/monitor/store.h"
#include "policy/policy.h"

#define LOGIN_ERR_MAX		256
#define LOGIN_REASON_MAX	768	/* an audit reason: several parts */
#define LOGIN_FAILED_TEXT	"the user name, password or code is not right"

/* What the body said; wiped before the job returns. */
struct login_req {
	char user[CERTS_ID_MAX];
	char password[LOGIN_PASSWORD_MAX + 1];
	char otp[LOGIN_OTP_MAX];
};

/* One login, as it goes through the steps. */
struct login {
	const struct job_ctx *ctx;
	const struct job_in *in;
	struct job_out *out;
	struct login_req req;
	int has_user;			/* req.user is valid */
	struct store_device dev;	/* dev.id[0]: found */
	char ukey[STORE_THROTTLE_KEY_MAX];
	char ikey[STORE_THROTTLE_KEY_MAX];
	const char *keys[2];
};

/* ---- answers and records ------------------------------------------------ */

/* An auth-style record with the person and the device's practice. */
static int
login_audit(struct login *l, const char *action, const char *outcome,
    const char *reason, json_t *extra)
{
	if (extra == NULL)
		extra = json_object();
	if (l->has_user)
		json_object_set_new(extra, "user.name",
		    json_string(l->req.user));
	if (l->dev.practice[0] != '\0')
		json_object_set_new(extra, "organization.id",
		    json_string(l->dev.practice));
	return job_audit(l->ctx, l->in, action, outcome, reason, extra);
}

/* Answers status/code/text; audits auth.login failure with why. */
static void
login_refuse(struct login *l, int status, const char *code, const char *text,
    const char *why)
{
	json_t *x = json_pack("{s:i}", "http.response.status_code", status);

	login_audit(l, "auth.login", "failure", why, x);
	job_error(l->out, status, code, text);
}

/* The gateway failed (store, PAM, signing): 500 or 503, logged once. */
static void
login_internal(struct login *l, int status, const char *what,
    const char *err)
{
	char why[LOGIN_REASON_MAX];

	snprintf(why, sizeof(why), "%s: %s", what, err);
	log_warnx("%s: device %s: %s", __func__,
	    l->in->cert_ok ? l->in->ident->device_id : "-", why);
	login_refuse(l, status, status == 503 ? "unavailable" : "internal",
	    status == 503 ? "the gateway cannot check identities right now" :
	    "the login could not be completed", why);
}

/* ---- the request body --------------------------------------------------- */

/* 1 if the media type is application/json (parameters allowed). */
static int
login_is_json(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

/* Copies obj's string member name into buf; 0, or -1 if absent, not a
 * string or not 1..size-1 bytes. */
static int
login_member(json_t *obj, const char *name, char *buf, size_t size,
    size_t min)
{
	json_t *v = json_object_get(obj, name);
	size_t len;

	if (!json_is_string(v))
		return -1;
	len = json_string_length(v);
	if (len < min || len >= size)
		return -1;
	memcpy(buf, json_string_value(v), len + 1);
	return 0;
}

/* The parsed body's secrets live in jansson's memory too: wipe them. */
static void
login_wipe_member(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v),
		    json_string_length(v));
}

/* Body fields into l->req: NULL, or the reason to refuse (never a secret). */
static const char *
login_fields(struct login *l, json_t *body)
{
	if (!json_is_object(body))
		return "the body must be a JSON object";
	if (login_member(body, "user", l->req.user, sizeof(l->req.user),
	    1) == -1 || certs_user_valid(l->req.user) != 0)
		return "user: a string naming a person ([a-z0-9._-], 1..63 "
		    "characters)";
	l->has_user = 1;
	if (login_member(body, "password", l->req.password,
	    sizeof(l->req.password), 1) == -1)
		return "password: a string of 1..1024 bytes";
	if (login_member(body, "otp", l->req.otp, sizeof(l->req.otp),
	    0) == -1)
		return "otp: a string of at most 15 characters";
	return NULL;
}

/* 0, or -1 having answered 400. */
static int
login_parse(struct login *l)
{
	char text[128], why[160];
	const char *bad;
	json_error_t e;
	json_t *body;

	/* No jansson error text: it may quote the body, password and all. */
	body = json_loadb(l->in->body, l->in->body_len, JSON_REJECT_DUPLICATES,
	    &e);
	if (body == NULL) {
		snprintf(text, sizeof(text), "the body is not JSON (line %d, "
		    "column %d)", e.line, e.column);
		bad = text;
	} else
		bad = login_fields(l, body);
	if (body != NULL) {
		login_wipe_member(body, "password");
		login_wipe_member(body, "otp");
		json_decref(body);
	}
	if (bad == NULL)
		return 0;
	snprintf(why, sizeof(why), "bad request: %s", bad);
	login_refuse(l, 400, "bad-request", bad, why);
	return -1;
}

/* ---- the device --------------------------------------------------------- */

/* A verified device or session certificate: 0, or -1 having answered. */
static int
login_certified(struct login *l)
{
	const char *e = l->in->cert_error;
	char why[LOGIN_REASON_MAX];

	if (l->in->cert_ok)
		return 0;
	if (e == NULL || e[0] == '\0')
		e = "a device certificate is required";
	snprintf(why, sizeof(why), "no valid client certificate: %s", e);
	login_refuse(l, 401, "certificate-required", e, why);
	return -1;
}

/*
 * The denylist's reason without its "locked: " or "revoked: " (they say
 * which list it came from); *is_revoked says which.
 */
static const char *
login_deny_reason(const char *reason, int *is_revoked)
{
	*is_revoked = strncmp(reason, "revoked: ", 9) == 0;
	if (*is_revoked)
		return reason + 9;
	if (strncmp(reason, "locked: ", 8) == 0)
		return reason + 8;
	return reason;
}

/* The denylist cuts the device off (revoked since, or locked by IT). */
static void
login_device_denied(struct login *l, const char *reason)
{
	char why[LOGIN_REASON_MAX];
	int is_revoked;

	reason = login_deny_reason(reason, &is_revoked);
	snprintf(why, sizeof(why), "device %s: %s", is_revoked ? "revoked" :
	    "locked", reason);
	if (is_revoked) {
		login_refuse(l, 403, "device-revoked",
		    "this device has been revoked", why);
		return;
	}
	/* The administrator's reason stays in the audit record. */
	login_refuse(l, 403, "device-locked", "this device is locked by IT; "
	    "contact the service desk", why);
}

/* The device may be used by this person: 0, or -1 having answered. */
/*
 * Where the policy asks for posture, a login needs a recent report from
 * the device (mwg login sends one first); each tunnel then checks it
 * against its role's profile. 0, or -1 having answered.
 */
static int
login_posture_fresh(struct login *l)
{
	const struct job_ctx *ctx = l->ctx;
	long max_age = ctx->policy ? policy_posture_max_age(ctx->policy) : 0;
	struct policy_posture p;
	char why[160];
	int managed;

	if (max_age <= 0 || ctx->devices == NULL)
		return 0;
	devcache_get(ctx->devices, l->in->ident->device_id, &managed, &p);
	if (p.received_at != 0 && ctx->now - p.received_at <= max_age)
		return 0;
	snprintf(why, sizeof(why), p.received_at ? "posture report is %ld min "
	    "old (at most %ld min)" : "no posture report (reports at most %ld "
	    "min old are needed)", p.received_at ? (long)(ctx->now -
	    p.received_at) / 60 : max_age / 60, max_age / 60);
	login_refuse(l, 403, "posture-stale", "this device's posture report "
	    "is missing or too old: run mwg posture, then log in again", why);
	return -1;
}

static int
login_device(struct login *l)
{
	const struct job_ctx *ctx = l->ctx;
	const char *id = l->in->ident->device_id;
	char err[LOGIN_ERR_MAX], reason[DENYLIST_REASON_MAX];
	char why[LOGIN_REASON_MAX];
	int rc;

	rc = store_device_get(ctx->store, id, &l->dev, err, sizeof(err));
	if (rc != 1) {
		memset(&l->dev, 0, sizeof(l->dev));
		if (rc == -1)
			login_internal(l, 500, "store", err);
		else
			login_refuse(l, 403, "device-not-enrolled",
			    "this device is not enrolled",
			    "device not enrolled");
		return -1;
	}
	if (l->dev.revoked_at != 0) {
		snprintf(why, sizeof(why), "device revoked: %s",
		    l->dev.revoke_reason);
		login_refuse(l, 403, "device-revoked",
		    "this device has been revoked", why);
		return -1;
	}
	if (ctx->deny != NULL && denylist_device(ctx->deny, id, ctx->now,
	    reason, sizeof(reason)) == 1) {
		login_device_denied(l, reason);
		return -1;
	}
	/* A device certificate replaced at renewal is in the CRL: refused
	 * here too. (A session certificate names the device it was issued to.) */
	if (l->in->ident->kind == CERTS_KIND_DEVICE &&
	    strcmp(l->in->ident->serial, l->dev.cert_serial) != 0) {
		login_refuse(l, 403, "certificate-replaced", "this device "
		    "certificate has been replaced by a newer one; use that one",
		    "device certificate replaced at renewal");
		return -1;
	}
	if (!l->dev.is_managed && strcmp(l->dev.user, l->req.user) != 0) {
		snprintf(why, sizeof(why), "personal device of %s",
		    l->dev.user);
		login_refuse(l, 403, "device-not-yours",
		    "this device was enrolled for another person", why);
		return -1;
	}
	if (ctx->devices)
		devcache_set_managed(ctx->devices, id, l->dev.is_managed);
	return login_posture_fresh(l);
}

/* ---- throttling --------------------------------------------------------- */

/* 0 if the person and the address may try now; -1 having answered. */
static int
login_throttled(struct login *l)
{
	const char *ip = l->in->source_ip;
	char err[LOGIN_ERR_MAX], text[96];
	long wait;

	snprintf(l->ukey, sizeof(l->ukey), "user:%s", l->req.user);
	l->keys[0] = l->ukey;
	if (ip != NULL && ip[0] != '\0') {
		snprintf(l->ikey, sizeof(l->ikey), "ip:%s", ip);
		l->keys[1] = l->ikey;
	}
	wait = auth_throttle_wait(l->ctx->store, l->keys, 2, l->ctx->now, err,
	    sizeof(err));
	if (wait == -1) {
		login_internal(l, 500, "throttle", err);
		return -1;
	}
	if (wait == 0)
		return 0;
	snprintf(text, sizeof(text), "too many failed attempts: try again "
	    "in %ld seconds", wait);
	login_refuse(l, 429, "too-many-attempts", text, "throttled");
	l->out->retry_after = wait;
	return -1;
}

/* ---- the session certificate -------------------------------------------- */

/* What the person holds under the policy, for the answer. */
struct login_access {
	json_t *roles;
	json_t *practices;
};

static void
login_access_cb(const char *kind, const char *name, void *arg)
{
	struct login_access *a = arg;

	if (strcmp(kind, "role") == 0)
		json_array_append_new(a->roles, json_string(name));
	else if (strcmp(kind, "practice") == 0)
		json_array_append_new(a->practices, json_string(name));
}

/* The groups as a JSON array of strings. */
static json_t *
login_groups_json(const char *const *groups, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(groups[i]));
	return a;
}

/* The certificate in PEM, as a JSON string; NULL on failure. */
static json_t *
login_pem(X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	json_t *s = NULL;
	char *data;
	long len;

	if (b != NULL && PEM_write_bio_X509(b, cert) == 1 &&
	    (len = BIO_get_mem_data(b, &data)) > 0)
		s = json_stringn(data, (size_t)len);
	BIO_free(b);
	return s;
}

/* t as RFC 3339 UTC, for audit records. */
static void
login_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

/*
 * How long the session may last: the policy's word for the person's roles
 * (the default if it has none), and never past the device certificate: a
 * session must not outlive the enrolment it rests on.
 */
static time_t
login_not_after(struct login *l, const char *const *groups, size_t n)
{
	long life = 0;
	time_t end;

	if (l->ctx->policy != NULL)
		life = policy_session_lifetime(l->ctx->policy, l->req.user,
		    groups, n);
	if (life <= 0)
		life = CERTS_SESSION_HOURS * 3600L;
	end = l->ctx->now + life;
	if (l->dev.expires_at > 0 && l->dev.expires_at < end)
		end = l->dev.expires_at;
	return end;
}

/* The audit log refused a record that must exist before the answer. */
static void
login_audit_down(struct login *l)
{
	log_warnx("%s: device %s: the audit log refuses records: no session "
	    "issued for %s", __func__, l->dev.id, l->req.user);
	job_error(l->out, 503, "audit-unavailable", "the audit log cannot "
	    "take records, so no session can be issued");
}

/* The answer: certificate, expiry, who, and what policy grants. */
static void
login_answer(struct login *l, json_t *pem, time_t not_after,
    const char *const *groups, size_t n)
{
	struct login_access a = { json_array(), json_array() };

	if (l->ctx->policy != NULL)
		policy_user_access(l->ctx->policy, l->req.user, groups, n,
		    login_access_cb, &a);
	json_decref(l->out->json);
	l->out->json = json_pack("{s:o, s:I, s:s, s:s, s:o, s:o, s:o}",
	    "certificate", pem, "expires_at", (json_int_t)not_after,
	    "user", l->req.user, "device", l->dev.id,
	    "groups", login_groups_json(groups, n),
	    "roles", a.roles, "practices", a.practices);
	l->out->status = 200;
}

/* Records the issued session (store, then audit): 0, or -1 answered. */
static int
login_record(struct login *l, const struct certs_identity *sid,
    const char *const *groups, size_t n)
{
	const struct job_ctx *ctx = l->ctx;
	struct store_session s = { .issued_at = ctx->now,
	    .expires_at = sid->not_after };
	char err[LOGIN_ERR_MAX], when[32];
	json_t *x;
	int rc;

	snprintf(s.serial, sizeof(s.serial), "%s", sid->serial);
	snprintf(s.user, sizeof(s.user), "%s", l->req.user);
	snprintf(s.device_id, sizeof(s.device_id), "%s", l->dev.id);
	if ((rc = store_session_add(ctx->store, &s, err, sizeof(err))) != 0) {
		login_internal(l, 500, "store session", rc == 1 ?
		    "serial exists or device unknown" : err);
		return -1;
	}
	if (store_device_touch(ctx->store, l->dev.id, ctx->now, err,
	    sizeof(err)) == -1)
		log_warnx("%s: device %s: %s", __func__, l->dev.id, err);
	x = json_pack("{s:o}", "user.group.name", login_groups_json(groups, n));
	if (login_audit(l, "auth.login", "success",
	    "password and code accepted", x) == -1)
		goto down;
	login_time(sid->not_after, when, sizeof(when));
	x = json_pack("{s:s, s:s}", "x509.serial_number", sid->serial,
	    "x509.not_after", when);
	if (login_audit(l, "session.issue", "success", NULL, x) == -1)
		goto down;
	return 0;
down:
	login_audit_down(l);
	return -1;
}

/* Issues the session certificate for the device's key and answers. */
static void
login_issue(struct login *l, const char *const *groups, size_t n)
{
	const struct job_ctx *ctx = l->ctx;
	EVP_PKEY *pub = l->in->peer_cert ?
	    X509_get0_pubkey(l->in->peer_cert) : NULL;
	struct certs_identity sid;
	char err[LOGIN_ERR_MAX];
	json_t *pem = NULL;
	X509 *cert = NULL;

	if (pub == NULL)
		snprintf(err, sizeof(err), "no public key in the client "
		    "certificate");
	else
		cert = certs_issue_session(ctx->issuer, pub, l->req.user,
		    l->dev.id, groups, n, ctx->now - 60,
		    login_not_after(l, groups, n), err, sizeof(err));
	if (cert != NULL && (certs_identity(cert, &sid) == -1 ||
	    (pem = login_pem(cert)) == NULL))
		snprintf(err, sizeof(err), "cannot read back the certificate");
	X509_free(cert);
	if (pem == NULL) {
		login_internal(l, 500, "session certificate", err);
		return;
	}
	if (login_record(l, &sid, groups, n) == -1) {
		json_decref(pem);
		return;
	}
	login_answer(l, pem, sid.not_after, groups, n);
}

/* Both factors passed: the person's groups, then the certificate. */
static void
login_success(struct login *l)
{
	char groups[CERTS_GROUPS_MAX][CERTS_GROUP_MAX];
	const char *gp[CERTS_GROUPS_MAX];
	char err[LOGIN_ERR_MAX];
	int n;

	/* Only the person's key: the address may be shared with a guesser. */
	if (auth_throttle_clear(l->ctx->store, l->ukey, err,
	    sizeof(err)) == -1)
		log_warnx("%s: %s: %s", __func__, l->ukey, err);
	if ((n = auth_groups(l->req.user, groups, CERTS_GROUPS_MAX)) == -1) {
		login_refuse(l, 401, "login-failed", LOGIN_FAILED_TEXT,
		    "no such user in NSS");
		return;
	}
	for (int i = 0; i < n; i++)
		gp[i] = groups[i];
	login_issue(l, gp, (size_t)n);
}

/* ---- the factors -------------------------------------------------------- */

/* Every reason the login failed, joined with "; ", into buf. */
static void
login_why(const struct auth_verdict *v, char *buf, size_t len)
{
	char lock[DENYLIST_REASON_MAX + 16];
	int is_revoked;

	snprintf(lock, sizeof(lock), "user locked: %s",
	    login_deny_reason(v->lock_reason, &is_revoked));
	auth_verdict_why(v, lock, buf, len);
}

/* A failure that is the person's: counted, audited, the one answer. */
static void
login_failed(struct login *l, const struct auth_verdict *v)
{
	const struct job_ctx *ctx = l->ctx;
	char why[LOGIN_REASON_MAX];

	if (auth_verdict_failed(ctx->store, v, l->req.user, l->keys,
	    ctx->now))
		login_audit(l, "totp.disable", "success",
		    "100 consecutive failures", NULL);
	login_why(v, why, sizeof(why));
	login_refuse(l, 401, "login-failed", LOGIN_FAILED_TEXT, why);
}

/* The lock, the password and the code: always all three. */
static void
login_factors(struct login *l)
{
	const struct job_ctx *ctx = l->ctx;
	struct auth_verdict v;
	char why[LOGIN_REASON_MAX];

	auth_verdict_check(ctx->store, ctx->deny, ctx->pam_service,
	    l->req.user, l->req.password, l->req.otp, ctx->now, &v);
	OPENSSL_cleanse(&l->req.password, sizeof(l->req.password));
	OPENSSL_cleanse(&l->req.otp, sizeof(l->req.otp));
	if (auth_verdict_refused(&v))
		login_failed(l, &v);
	else if (v.pam == -1 || v.totp == -1) {
		login_why(&v, why, sizeof(why));
		login_internal(l, 503, "cannot check", why);
	} else
		login_success(l);
}

void
login_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out)
{
	struct login l;

	memset(&l, 0, sizeof(l));
	l.ctx = ctx;
	l.in = in;
	l.out = out;
	if (in->method != HTTP_POST) {
		job_error(out, 405, "method-not-allowed",
		    "use POST for /v1/login");
		return;
	}
	if (!login_is_json(in->content_type)) {
		job_error(out, 415, "unsupported-media-type",
		    "send the body as application/json");
		return;
	}
	if (login_parse(&l) == 0 && login_certified(&l) == 0 &&
	    login_device(&l) == 0 && login_throttled(&l) == 0)
		login_factors(&l);
	OPENSSL_cleanse(&l.req, sizeof(l.req));
}
