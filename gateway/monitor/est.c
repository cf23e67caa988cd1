/*
 * EST (RFC 7030) on the auth pool: /cacerts (and /root.pem, the root alone
 * in PEM for IT to hand out), /simpleenroll for a device with an enrolment
 * code, /simplereenroll for a device with its current certificate. The
 * gateway names the device and sets every field of the certificate; the
 * request contributes only its public key.
 */
#include "gateway/monitor/est.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <openssl/crypto.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/monitor/auth.h"
#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/monitor/store.h"

#define EST_BACKDATE	300	/* seconds of client clock skew allowed */
#define EST_ID_TRIES	8	/* fresh ids tried before giving up */
#define DAY		(24 * 60 * 60)
/* Base64 of "ID:SECRET" at the longest the store accepts. */
#define EST_BASIC_MAX	(4 * ((STORE_NAME_MAX + STORE_CODE_SECRET_MAX) / 3 + 1))

static const char reason_internal[] =
    "the gateway could not complete the request";

/* One EST POST as it goes through its checks. */
struct est_req {
	const struct job_ctx	*ctx;
	const struct job_in	*in;
	struct job_out		*out;
	char			 code_id[STORE_NAME_MAX];	/* "" if none */
	char			 secret[STORE_CODE_SECRET_MAX];	/* wiped */
	char			 code_key[STORE_THROTTLE_KEY_MAX];
	char			 ip_key[STORE_THROTTLE_KEY_MAX];
	const char		*keys[2];
	X509_REQ		*req;
	EVP_PKEY		*pub;		/* the request's; not owned */
	char			 fpr[STORE_FPR_MAX];
	struct store_device	 dev;		/* as it will be stored */
	struct store_device	 old;		/* renewal: as it was */
	X509			*cert;		/* the new certificate */
	struct certs_identity	 issued;
};

/*
 * Answers status with {error, reason} and audits enrol.request failure
 * with audit_why (the client's reason if NULL): the audit may say more
 * than the client hears, never a secret.
 */
static void
est_refuse(struct est_req *e, int status, const char *code,
    const char *reason, const char *audit_why)
{
	json_t *extra = json_pack("{s:i, s:s}", "http.response.status_code",
	    status, "url.path", e->in->url ? e->in->url : "");

	if (e->code_id[0] != '\0')
		json_object_set_new(extra, "enrol.code_id",
		    json_string(e->code_id));
	free(e->out->raw);
	e->out->raw = NULL;
	e->out->raw_len = 0;
	job_error(e->out, status, code, reason);
	job_audit(e->ctx, e->in, "enrol.request", "failure",
	    audit_why ? audit_why : reason, extra);
}

/* A 500: the store or the CA failed. err goes to the log and the audit. */
static void
est_internal(struct est_req *e, const char *what, const char *err)
{
	char why[STORE_ERR_MAX + 64];

	snprintf(why, sizeof(why), "%s: %s", what, err);
	log_warnx("%s: %s", e->in->url ? e->in->url : "est", why);
	est_refuse(e, 500, "internal-error", reason_internal, why);
}

/* 1 if the media type of ct (parameters ignored) is want, any case. */
static int
media_type_is(const char *ct, const char *want)
{
	size_t len;

	if (ct == NULL)
		return 0;
	ct += strspn(ct, " \t");
	len = strcspn(ct, ";");
	while (len > 0 && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
		len--;
	return len == strlen(want) && strncasecmp(ct, want, len) == 0;
}

/*
 * RFC 7617: "Basic" (any case), spaces, base64 of "ID:SECRET". The ID is
 * printable ASCII (it is logged and audited); the secret is any bytes but
 * NUL. 0 and both filled, or -1.
 */
static int
basic_credentials(struct est_req *e, const char *auth)
{
	unsigned char *buf = NULL;
	const unsigned char *colon;
	size_t len = 0, toklen, idlen, i;
	int rc = -1;

	auth += strspn(auth, " \t");
	if (strncasecmp(auth, "Basic", 5) != 0 || (auth[5] != ' ' &&
	    auth[5] != '\t'))
		return -1;
	auth += 5 + strspn(auth + 5, " \t");
	toklen = strcspn(auth, " \t");
	if (auth[toklen + strspn(auth + toklen, " \t")] != '\0' ||
	    toklen == 0 || toklen > EST_BASIC_MAX ||
	    (buf = certs_base64_decode(auth, toklen, &len)) == NULL)
		goto out;
	if ((colon = memchr(buf, ':', len)) == NULL ||
	    memchr(buf, '\0', len) != NULL)
		goto out;
	idlen = (size_t)(colon - buf);
	if (idlen == 0 || idlen >= sizeof(e->code_id) || len - idlen - 1 == 0 ||
	    len - idlen - 1 >= sizeof(e->secret))
		goto out;
	for (i = 0; i < idlen; i++)
		if (buf[i] <= 0x20 || buf[i] >= 0x7f)
			goto out;
	memcpy(e->code_id, buf, idlen);
	e->code_id[idlen] = '\0';
	memcpy(e->secret, colon + 1, len - idlen - 1);
	e->secret[len - idlen - 1] = '\0';
	rc = 0;
out:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	return rc;
}

/* 0 if the POST is a PKCS#10 body; else refused (405 or 415). */
static int
est_check_post(struct est_req *e)
{
	if (e->in->method != HTTP_POST) {
		est_refuse(e, 405, "method-not-allowed", "use POST", NULL);
		return -1;
	}
	if (!media_type_is(e->in->content_type, EST_CSR_TYPE)) {
		est_refuse(e, 415, "unsupported-media-type", "send the "
		    "request as " EST_CSR_TYPE " (base64 PKCS#10)", NULL);
		return -1;
	}
	return 0;
}

/* 0 if none of e->keys is throttled; else refused (429 or 500). */
static int
est_throttled(struct est_req *e)
{
	char err[STORE_ERR_MAX], why[128];
	long wait;

	wait = auth_throttle_wait(e->ctx->store, e->keys, 2, e->ctx->now, err,
	    sizeof(err));
	if (wait == 0)
		return 0;
	if (wait < 0) {
		est_internal(e, "throttle", err);
		return -1;
	}
	snprintf(why, sizeof(why), "too many failed attempts; try again in "
	    "%ld seconds", wait);
	est_refuse(e, 429, "too-many-attempts", why, NULL);
	e->out->retry_after = wait;
	return -1;
}

/* Decodes and checks the request body: 0, or refused (400 or 413). */
static int
est_read_csr(struct est_req *e)
{
	char err[CERTS_ERR_MAX], why[CERTS_ERR_MAX + 32];

	if (e->in->body_len > CERTS_CSR_MAX) {
		snprintf(why, sizeof(why), "the request is larger than %d "
		    "bytes", CERTS_CSR_MAX);
		est_refuse(e, 413, "body-too-large", why, NULL);
		return -1;
	}
	e->req = certs_csr_from_base64(e->in->body, e->in->body_len, err,
	    sizeof(err));
	if (e->req == NULL) {
		snprintf(why, sizeof(why), "bad certificate request: %s", err);
		est_refuse(e, 400, "bad-request", why, NULL);
		return -1;
	}
	e->pub = X509_REQ_get0_pubkey(e->req);
	if (certs_key_fingerprint(e->pub, e->fpr, sizeof(e->fpr)) == -1) {
		est_internal(e, "key fingerprint", "cannot compute");
		return -1;
	}
	return 0;
}

/* 0 unless the key already belongs to a device other than own_id. */
static int
est_key_free(struct est_req *e, const char *own_id)
{
	struct store_device d;
	char err[STORE_ERR_MAX];
	int rc;

	rc = store_device_by_fpr(e->ctx->store, e->fpr, &d, err, sizeof(err));
	if (rc == -1) {
		est_internal(e, "device lookup", err);
		return -1;
	}
	if (rc == 1 && (own_id == NULL || strcmp(d.id, own_id) != 0)) {
		est_refuse(e, 409, "key-in-use", "this key belongs to an "
		    "enrolled device; make a new key", NULL);
		return -1;
	}
	return 0;
}

/* Builds the 200 answer: the new certificate, certs-only PKCS#7. */
static int
est_answer(struct est_req *e)
{
	X509 *certs[1] = { e->cert };

	free(e->out->raw);
	e->out->raw = certs_pkcs7_base64(certs, 1, &e->out->raw_len);
	if (e->out->raw == NULL)
		return -1;
	e->out->status = 200;
	snprintf(e->out->content_type, sizeof(e->out->content_type), "%s",
	    EST_PKCS7_TYPE);
	return 0;
}

/* Issues e->cert for e->pub as device id, valid from now. 0 or -1. */
static int
est_issue(struct est_req *e, const char *id)
{
	char err[CERTS_ERR_MAX];
	time_t now = e->ctx->now;

	X509_free(e->cert);
	e->cert = certs_issue_device(e->ctx->issuer, e->pub, id,
	    now - EST_BACKDATE, now + (time_t)CERTS_DEVICE_DAYS * DAY, err,
	    sizeof(err));
	if (e->cert == NULL || certs_identity(e->cert, &e->issued) == -1) {
		est_internal(e, "issue", e->cert ? "cannot read back" : err);
		return -1;
	}
	if (est_answer(e) == -1) {
		est_internal(e, "answer", "cannot encode PKCS#7");
		return -1;
	}
	return 0;
}

/* The success record: who, which device, which key and certificate. */
static int
est_audit_issue(struct est_req *e, const char *action, const char *why)
{
	json_t *extra = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}",
	    "device.id", e->dev.id, "user.name", e->dev.user,
	    "organization.id", e->dev.practice,
	    "device.managed", e->dev.is_managed != 0,
	    "device.key_sha256", e->fpr,
	    "x509.serial_number", e->issued.serial);

	if (e->code_id[0] != '\0')
		json_object_set_new(extra, "enrol.code_id",
		    json_string(e->code_id));
	json_object_set_new(extra, "http.response.status_code",
	    json_integer(200));
	return job_audit(e->ctx, e->in, action, "success", why, extra);
}

/*
 * No certificate leaves without its record. If the audit log cannot take
 * it, the store is put back as it was: a renewal to the old certificate,
 * a new device revoked (devices are never deleted; its certificate was
 * never sent).
 */
static void
est_audit_or_undo(struct est_req *e, const char *action, const char *why)
{
	char err[STORE_ERR_MAX];
	int rc;

	if (est_audit_issue(e, action, why) == 0)
		return;
	log_warnx("%s: device %s: audit log unavailable, certificate "
	    "withheld", action, e->dev.id);
	if (e->old.id[0] != '\0')
		rc = store_device_renew(e->ctx->store, e->old.id,
		    e->old.key_fpr, e->old.cert_serial, e->old.expires_at, err,
		    sizeof(err));
	else
		rc = store_device_revoke(e->ctx->store, e->dev.id,
		    "certificate not delivered: the audit log could not "
		    "record it", e->ctx->now, err, sizeof(err));
	if (rc != 0)
		log_warnx("%s: device %s: cannot undo: %s", action, e->dev.id,
		    rc == -1 ? err : "device gone");
	free(e->out->raw);
	e->out->raw = NULL;
	e->out->raw_len = 0;
	job_error(e->out, 503, "audit-unavailable", "the audit record could "
	    "not be written; no certificate without one");
}

static void
est_free(struct est_req *e)
{
	OPENSSL_cleanse(e->secret, sizeof(e->secret));
	X509_REQ_free(e->req);
	X509_free(e->cert);
}

/* ---- /cacerts ----------------------------------------------------------- */

void
est_cacerts_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out)
{
	X509 *certs[2];

	if (in->method != HTTP_GET) {
		job_error(out, 405, "method-not-allowed", "use GET for "
		    EST_PATH_CACERTS);
		return;
	}
	/* RFC 7030 §4.1.3: the issuing CA first, then the chain up. */
	certs[0] = certs_issuer_cert(ctx->issuer);
	certs[1] = ctx->root;
	out->raw = certs_pkcs7_base64(certs, ctx->root ? 2 : 1, &out->raw_len);
	if (out->raw == NULL) {
		log_warnx("%s: cannot encode the CA certificates",
		    EST_PATH_CACERTS);
		job_error(out, 500, "internal-error", reason_internal);
		return;
	}
	out->status = 200;
	snprintf(out->content_type, sizeof(out->content_type), "%s",
	    EST_PKCS7_TYPE);
}

/* ---- /root.pem ---------------------------------------------------------- */

void
est_root_pem_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out)
{
	BIO *bio;
	char *pem;
	long len;

	if (in->method != HTTP_GET) {
		job_error(out, 405, "method-not-allowed", "use GET for "
		    EST_PATH_ROOT_PEM);
		return;
	}
	if (ctx->root == NULL) {
		job_error(out, 404, "not-found", "this gateway names no root "
		    "CA certificate (listen tls { root })");
		return;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, ctx->root) != 1 ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0) {
		BIO_free(bio);
		log_warnx("%s: cannot encode the root CA certificate",
		    EST_PATH_ROOT_PEM);
		job_error(out, 500, "internal-error", reason_internal);
		return;
	}
	out->raw = xmalloc((size_t)len);
	memcpy(out->raw, pem, (size_t)len);
	out->raw_len = (size_t)len;
	BIO_free(bio);
	out->status = 200;
	snprintf(out->content_type, sizeof(out->content_type),
	    "application/x-pem-file");
}

/* ---- /simpleenroll ------------------------------------------------------ */

/* The enrolment code from HTTP Basic, and the throttle keys it gives. */
static int
est_enroll_auth(struct est_req *e)
{
	const char *auth = e->in->authorization;

	if (auth == NULL || auth[0] == '\0' ||
	    basic_credentials(e, auth) == -1) {
		est_refuse(e, 401, "enrolment-code-required", "send the "
		    "enrolment code as HTTP Basic authorization ID:SECRET",
		    auth && auth[0] ? "malformed Basic authorization" :
		    "no authorization");
		return -1;
	}
	snprintf(e->code_key, sizeof(e->code_key), "code:%s", e->code_id);
	e->keys[0] = e->code_key;
	if (e->in->source_ip != NULL && e->in->source_ip[0] != '\0' &&
	    snprintf(e->ip_key, sizeof(e->ip_key), "ip:%s",
	    e->in->source_ip) < (int)sizeof(e->ip_key))
		e->keys[1] = e->ip_key;
	return 0;
}

/* Uses the code once; a refusal counts against the code and the source. */
static int
est_consume(struct est_req *e)
{
	struct store_code code;
	char err[STORE_ERR_MAX], why[128];
	const char *what = "unknown";
	int rc;

	rc = store_code_consume(e->ctx->store, e->code_id, e->secret,
	    e->ctx->now, &code, &what, err, sizeof(err));
	OPENSSL_cleanse(e->secret, sizeof(e->secret));
	if (rc == -1) {
		est_internal(e, "enrolment code", err);
		return -1;
	}
	if (rc == 1) {
		if (auth_throttle_fail(e->ctx->store, e->keys, 2, e->ctx->now,
		    err, sizeof(err)) == -1)
			log_warnx("%s: throttle: %s", EST_PATH_ENROLL, err);
		/* Unknown, wrong, used, expired: the client hears one answer. */
		snprintf(why, sizeof(why), "enrolment code refused: %s", what);
		est_refuse(e, 401, "enrolment-code-refused", "the enrolment "
		    "code is not valid", why);
		return -1;
	}
	snprintf(e->dev.user, sizeof(e->dev.user), "%s", code.user);
	snprintf(e->dev.practice, sizeof(e->dev.practice), "%s",
	    code.practice);
	e->dev.is_managed = code.is_managed;
	return 0;
}

/* "dev-" and EST_ID_RANDOM characters of base32's alphabet. */
static int
est_new_id(char *id, size_t idlen)
{
	size_t plen = sizeof(EST_ID_PREFIX) - 1;

	if (idlen < plen + EST_ID_RANDOM + 1)
		return -1;
	memcpy(id, EST_ID_PREFIX, plen);
	return certs_random_b32(id + plen, EST_ID_RANDOM);
}

/* Adds the device under a fresh id; 1 if the id was taken meanwhile. */
static int
est_enroll_add_one(struct est_req *e)
{
	struct store_device taken;
	char err[STORE_ERR_MAX];
	int rc;

	if (est_new_id(e->dev.id, sizeof(e->dev.id)) == -1) {
		est_internal(e, "device id", "no random bytes");
		return -1;
	}
	if ((rc = store_device_get(e->ctx->store, e->dev.id, &taken, err,
	    sizeof(err))) != 0) {
		if (rc == -1)
			est_internal(e, "device lookup", err);
		return rc;
	}
	if (est_issue(e, e->dev.id) == -1)
		return -1;
	snprintf(e->dev.key_fpr, sizeof(e->dev.key_fpr), "%s", e->fpr);
	snprintf(e->dev.cert_serial, sizeof(e->dev.cert_serial), "%s",
	    e->issued.serial);
	e->dev.enrolled_at = e->ctx->now;
	e->dev.expires_at = e->issued.not_after;
	rc = store_device_add(e->ctx->store, &e->dev, err, sizeof(err));
	if (rc == 0 && e->ctx->devices)
		devcache_set_managed(e->ctx->devices, e->dev.id,
		    e->dev.is_managed);
	if (rc == -1)
		est_internal(e, "device add", err);
	else if (rc == 1 && est_key_free(e, NULL) == -1)
		rc = -1;	/* another request enrolled this key meanwhile */
	return rc;
}

static int
est_enroll_add(struct est_req *e)
{
	int i, rc;

	for (i = 0; i < EST_ID_TRIES; i++)
		if ((rc = est_enroll_add_one(e)) != 1)
			return rc;
	est_internal(e, "device id", "no free id found");
	return -1;
}

/*
 * The code was used, but no certificate went out (the store, the CA or the
 * audit log failed, or another request took the key meanwhile): give the
 * code back, so nobody has to fetch a new one from IT; if even that fails,
 * say so where IT looks, naming the code.
 */
static void
est_code_restore(struct est_req *e)
{
	char err[STORE_ERR_MAX], why[STORE_ERR_MAX + 128];
	int rc;

	rc = store_code_restore(e->ctx->store, e->code_id, e->ctx->now, err,
	    sizeof(err));
	if (rc == 0) {
		log_info("enrolment code %s restored: enrolment failed after "
		    "it was used", e->code_id);
		job_audit(e->ctx, e->in, "enrol.code_restore", "success",
		    "no certificate was delivered: the code can be used again",
		    json_pack("{s:s}", "enrol.code_id", e->code_id));
		return;
	}
	snprintf(why, sizeof(why), "no certificate was delivered and the "
	    "code could not be restored (%s): make a new code", rc == 1 ?
	    "it changed meanwhile" : err);
	log_warnx("enrolment code %s used up by a failed enrolment: %s",
	    e->code_id, why);
	job_audit(e->ctx, e->in, "enrol.code_restore", "failure", why,
	    json_pack("{s:s}", "enrol.code_id", e->code_id));
}

void
est_enroll_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out)
{
	struct est_req e = { .ctx = ctx, .in = in, .out = out };

	/* A bad request leaves the code unused and counts no failure. */
	if (est_check_post(&e) == 0 && est_enroll_auth(&e) == 0 &&
	    est_throttled(&e) == 0 && est_read_csr(&e) == 0 &&
	    est_key_free(&e, NULL) == 0 && est_consume(&e) == 0) {
		if (est_enroll_add(&e) == 0)
			est_audit_or_undo(&e, "enrol.issue", "device enrolled");
		if (out->status != 200)
			est_code_restore(&e);
	}
	/* RFC 7235: a 401 names the scheme; enrolment takes HTTP Basic. */
	if (out->status == 401)
		out->www_authenticate = "Basic realm=\"mwg enrolment\"";
	est_free(&e);
}

/* ---- /simplereenroll ---------------------------------------------------- */

/* The device behind the presented certificate, with its current one. */
static int
est_renew_who(struct est_req *e)
{
	const struct job_in *in = e->in;
	char err[STORE_ERR_MAX], why[DENYLIST_REASON_MAX + 16];
	int rc;

	if (!in->cert_ok || in->ident == NULL || in->peer_cert == NULL ||
	    in->ident->kind != CERTS_KIND_DEVICE) {
		est_refuse(e, 401, "device-certificate-required", "renewal "
		    "needs the device's current certificate",
		    !in->cert_ok && in->cert_error && in->cert_error[0] ?
		    in->cert_error : NULL);
		return -1;
	}
	rc = store_device_get(e->ctx->store, in->ident->device_id, &e->dev,
	    err, sizeof(err));
	if (rc == -1) {
		est_internal(e, "device lookup", err);
		return -1;
	}
	if (rc == 0) {
		est_refuse(e, 403, "device-unknown", "this device is not "
		    "enrolled", NULL);
		return -1;
	}
	if (e->dev.revoked_at != 0) {
		est_refuse(e, 403, "device-revoked", "this device has been "
		    "revoked", NULL);
		return -1;
	}
	if (e->ctx->deny && denylist_device(e->ctx->deny, e->dev.id,
	    e->ctx->now, why, sizeof(why))) {
		est_refuse(e, 403, "device-locked", "this device is locked by "
		    "IT; contact the service desk", why);
		return -1;
	}
	if (strcmp(in->ident->serial, e->dev.cert_serial) != 0) {
		est_refuse(e, 403, "certificate-replaced", "this certificate "
		    "has been replaced by a newer one; renew with that one",
		    NULL);
		return -1;
	}
	return 0;
}

static int
asn1_time_t(const ASN1_TIME *a, time_t *t)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1 ||
	    (*t = timegm(&tm)) == (time_t)-1)
		return -1;
	return 0;
}

/* Renewal opens for the last third of the presented certificate's life. */
static int
est_renew_window(struct est_req *e)
{
	char why[128], date[32];
	time_t nb, na, opens;
	struct tm tm;

	if (asn1_time_t(X509_get0_notBefore(e->in->peer_cert), &nb) == -1 ||
	    asn1_time_t(X509_get0_notAfter(e->in->peer_cert), &na) == -1 ||
	    na <= nb) {
		est_refuse(e, 400, "bad-certificate", "the certificate's "
		    "validity cannot be read", NULL);
		return -1;
	}
	opens = na - (na - nb) / 3;
	if (e->ctx->now >= opens)
		return 0;
	gmtime_r(&opens, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(why, sizeof(why), "too early to renew: renewal opens at %s "
	    "(the last third of the certificate's life)", date);
	est_refuse(e, 403, "renewal-too-early", why, NULL);
	return -1;
}

/* The new certificate in the store, keeping the old row for an undo. */
static int
est_renew_store(struct est_req *e)
{
	char err[STORE_ERR_MAX];
	int rc;

	if (est_issue(e, e->dev.id) == -1)
		return -1;
	e->old = e->dev;
	snprintf(e->dev.key_fpr, sizeof(e->dev.key_fpr), "%s", e->fpr);
	snprintf(e->dev.cert_serial, sizeof(e->dev.cert_serial), "%s",
	    e->issued.serial);
	e->dev.expires_at = e->issued.not_after;
	rc = store_device_renew(e->ctx->store, e->dev.id, e->dev.key_fpr,
	    e->dev.cert_serial, e->dev.expires_at, err, sizeof(err));
	if (rc == 0)
		return 0;
	e->old.id[0] = '\0';
	if (rc == -1)
		est_internal(e, "device renew", err);
	else if (est_key_free(e, e->dev.id) == 0)	/* else 409 given */
		est_refuse(e, 403, "device-revoked", "this device has been "
		    "revoked", NULL);
	return -1;
}

void
est_reenroll_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out)
{
	struct est_req e = { .ctx = ctx, .in = in, .out = out };

	if (est_check_post(&e) == 0 && est_renew_who(&e) == 0 &&
	    est_renew_window(&e) == 0 && est_read_csr(&e) == 0 &&
	    est_key_free(&e, e.dev.id) == 0 && est_renew_store(&e) == 0)
		est_audit_or_undo(&e, "enrol.renew",
		    "device certificate renewed");
	est_free(&e);
}
