/*
 * API requests from the network process (monitor/mon_job.h). Every field
 * is checked for type and length; the handler is looked up by path in
 * the fixed table; and a certificate the network process calls verified
 * is verified again here, so that a compromised network process cannot
 * have a session certificate signed for a key of its choosing.
 */
#include "gateway/monitor/mon_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/denylist.h"
#include "gateway/ipc.h"
#include "gateway/pool.h"
#include "gateway/routes.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"
#include "gateway/monitor/store.h"

#define JOB_URL_MAX	8192
#define JOB_HEADER_MAX	8192
#define JOB_CERT_MAX	16384	/* a device or session certificate, DER */
#define JOB_WHO_MAX	64	/* members of the connection's fields */

int
mon_peer_verify(struct server *srv, const struct gw_snapshot *snap,
    X509 *cert, struct certs_identity *ident, char *why, size_t len)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	time_t now = time(NULL);
	int ok;

	if (ctx == NULL || X509_STORE_CTX_init(ctx, SSL_CTX_get_cert_store(
	    snap->ssl), cert, NULL) != 1) {
		X509_STORE_CTX_free(ctx);
		snprintf(why, len, "client certificate not accepted: out of "
		    "memory");
		return 0;
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		snprintf(why, len, "client certificate not accepted: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(
		    ctx)));
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		return 0;
	if (certs_identity(cert, ident) == -1) {
		snprintf(why, len, "client certificate names no mwg device");
		return 0;
	}
	if (srv->deny && denylist_device(srv->deny, ident->device_id, now,
	    why, len) && strncmp(why, "revoked", 7) == 0) {
		snprintf(why, len, "device %s is revoked", ident->device_id);
		return 0;
	}
	if (srv->deny && ident->kind == CERTS_KIND_SESSION &&
	    denylist_session_ended(srv->deny, ident->serial, now)) {
		snprintf(why, len, "the session ended at logout: log in again "
		    "(mwg login)");
		return 0;
	}
	return 1;
}

/* The certificate part of the request: the monitor's verdict stands. */
static void
job_peer(struct server *srv, struct pool_job *job, json_t *msg)
{
	const unsigned char *p;
	unsigned char *der;
	size_t len;
	int net_ok = 0;

	ipc_bool(msg, "cert_ok", &net_ok);
	der = ipc_b64(msg, "cert", JOB_CERT_MAX, &len);
	p = der;
	if (der && (job->peer_cert = d2i_X509(NULL, &p, (long)len)) == NULL)
		ERR_clear_error();
	free(der);
	job->in.cert_ok = 0;
	if (!net_ok || job->peer_cert == NULL)
		return;
	if (mon_peer_verify(srv, job->snap, job->peer_cert, &job->ident,
	    job->cert_error, sizeof(job->cert_error))) {
		job->in.cert_ok = 1;
		return;
	}
	log_warnx("monitor: the network process called a client certificate "
	    "verified that is not: %s", job->cert_error);
}

/* Fills job from msg: 0, or -1 if a field is missing or malformed. */
static int
job_from_message(struct server *srv, struct pool_job *job, json_t *msg)
{
	const char *path = ipc_str(msg, "path", 64), *url, *ct, *auth, *err;
	const char *ip = ipc_str(msg, "source_ip", sizeof(job->source_ip) - 1);
	const struct api_route *r = path ? api_route_find(path) : NULL;
	json_t *who = json_object_get(msg, "who");
	long long method;
	size_t len;

	url = ipc_str(msg, "url", JOB_URL_MAX);
	ct = ipc_str(msg, "content_type", JOB_HEADER_MAX);
	auth = ipc_str(msg, "authorization", JOB_HEADER_MAX);
	err = ipc_str(msg, "cert_error", sizeof(job->cert_error) - 1);
	if (r == NULL || url == NULL || ct == NULL || auth == NULL ||
	    err == NULL || ip == NULL || ipc_int(msg, "method", 0, 64,
	    &method) == -1 || !json_is_object(who) ||
	    json_object_size(who) > JOB_WHO_MAX ||
	    (job->body = (char *)ipc_b64(msg, "body", JOB_BODY_MAX, &len)) ==
	    NULL)
		return -1;
	job->fn = r->fn;
	job->url = xstrdup(url);
	job->content_type = xstrdup(ct);
	job->authorization = xstrdup(auth);
	snprintf(job->cert_error, sizeof(job->cert_error), "%s", err);
	snprintf(job->source_ip, sizeof(job->source_ip), "%s", ip);
	job->in.body_len = len;
	job->in.method = (int)method;
	job->in.who = json_incref(who);	/* msg goes; who stays */
	job_peer(srv, job, msg);
	return 0;
}

static void
job_ctx_fill(struct server *srv, struct pool_job *job)
{
	job->ctx.store = srv->store;
	job->ctx.issuer = srv->issuer;
	job->ctx.root = srv->root;
	job->ctx.audit = srv->audit;
	job->ctx.policy = job->snap->policy;
	job->ctx.deny = srv->deny;
	job->ctx.devices = srv->devices;
	job->ctx.srv = srv;
	job->ctx.pam_service = job->snap->conf->pam_service;
	job->in.url = job->url;
	job->in.content_type = job->content_type;
	job->in.authorization = job->authorization;
	job->in.body = job->body;
	job->in.cert_error = job->cert_error;
	job->in.ident = &job->ident;
	job->in.peer_cert = job->peer_cert;
	job->in.source_ip = job->source_ip;
}

/* The answer, as request.c in the network process reads it. */
static json_t *
job_reply(const struct job_out *out)
{
	json_t *r = json_pack("{s:i}", "status", out->status);

	if (out->retry_after > 0)
		json_object_set_new(r, "retry_after",
		    json_integer(out->retry_after));
	if (out->www_authenticate)
		json_object_set_new(r, "www_authenticate",
		    json_string(out->www_authenticate));
	if (out->raw) {
		json_object_set_new(r, "raw", ipc_b64_new(out->raw,
		    out->raw_len));
		json_object_set_new(r, "content_type",
		    json_string(out->content_type));
	} else
		json_object_set(r, "json", out->json);
	return r;
}

#define STORE_DOWN_REASON "the gateway's database is unreachable; try again " \
	"in a minute"

/*
 * A handler that failed (500) because the store's database is out: the
 * person is told so, with a 503 they can act on, and it is recorded
 * (issue 15: logins, enrolments and posture wait for the database).
 */
static void
job_store_down(struct pool_job *job)
{
	if (job->out.status != 500 || job->ctx.store == NULL ||
	    !store_unavailable(job->ctx.store))
		return;
	json_decref(job->out.json);
	job->out.json = NULL;
	free(job->out.raw);
	job->out.raw = NULL;
	job_error(&job->out, 503, "database-unavailable", STORE_DOWN_REASON);
	job->out.retry_after = 60;
	job_audit(&job->ctx, &job->in, "request.reject", "failure",
	    STORE_DOWN_REASON, json_pack("{s:i, s:s}",
	    "http.response.status_code", 503, "url.path", job->url));
}

/* On the pool thread, once the handler has run. */
static void
job_done(struct pool_job *job)
{
	job_store_down(job);
	ipc_reply(job->ipc, job->ipc_id, job_reply(&job->out));
	pool_job_free(job);
}

void
mon_job_submit(struct server *srv, struct ipc *ch, uint64_t id, json_t *msg)
{
	struct pool_job *job = xcalloc(1, sizeof(*job));

	job->snap = snapshot_get();
	job->ipc = ch;
	job->ipc_id = id;
	job->done = job_done;
	if (job_from_message(srv, job, msg) == -1) {
		json_decref(msg);
		log_warnx("monitor: a malformed request from the network "
		    "process was refused");
		job_error(&job->out, 400, "bad-request", "malformed request");
		job_done(job);
		return;
	}
	json_decref(msg);
	job_ctx_fill(srv, job);
	if (pool_submit(srv->pool, job) == -1) {
		log_warnx("monitor: auth pool full, request refused");
		job_error(&job->out, 503, "busy", "the gateway is busy; try "
		    "again in a few seconds");
		job_done(job);
	}
}
