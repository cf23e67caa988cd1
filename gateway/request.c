/*
 * API requests after the head: the body (Content-Length only, bounded),
 * then the handler on the auth pool, then its answer. The worker never
 * waits: the connection is parked while the pool works.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/conn.h"
#include "gateway/http_head.h"
#include "gateway/pool.h"
#include "gateway/snapshot.h"

static void
request_refuse(struct conn *c, int status, const char *code,
    const char *reason)
{
	conn_audit(c, "request.reject", "failure", reason,
	    json_pack("{s:i}", "http.response.status_code", status));
	conn_respond_error(c, status, code, reason);
}

void
request_begin(struct conn *c, const char *early, size_t len)
{
	long want;

	if ((want = http_head_body_length(c->head)) == HTTP_BODY_CHUNKED) {
		request_refuse(c, 411, "length-required", "send the body with "
		    "Content-Length; chunked bodies are not accepted");
		return;
	}
	if (want == HTTP_BODY_BAD) {
		request_refuse(c, 400, "bad-request", "malformed "
		    "Content-Length");
		return;
	}
	if (want > JOB_BODY_MAX) {
		request_refuse(c, 413, "body-too-large", "the request body is "
		    "larger than 64 KiB");
		return;
	}
	c->body_want = (size_t)want;
	c->body = xmalloc(c->body_want + 1);
	c->body_len = len < c->body_want ? len : c->body_want;
	memcpy(c->body, early, c->body_len);
	if (c->body_len == c->body_want) {
		c->body[c->body_len] = '\0';
		api_dispatch(c);
		return;
	}
	c->state = CONN_BODY;
	c->want = WANT_UP_CRD;
	conn_update_events(c);
	/* The rest may already sit decrypted inside OpenSSL (the head came
	 * from the front of a larger record): no socket event would come. */
	request_read_body(c);
}

void
request_read_body(struct conn *c)
{
	int r, e;

	while (c->body_len < c->body_want) {
		r = SSL_read(c->ssl, c->body + c->body_len,
		    (int)(c->body_want - c->body_len));
		if (r <= 0) {
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE)
				return;
			if (e != SSL_ERROR_ZERO_RETURN)
				c->tls_broken = 1;
			conn_close(c, "client-closed-in-body");
			return;
		}
		c->body_len += (size_t)r;
	}
	c->body[c->body_len] = '\0';
	c->want = 0;
	conn_update_events(c);
	api_dispatch(c);
}

static char *
dup_header(const struct conn *c, const char *name)
{
	const char *v = http_head_get(c->head, name);

	return xstrdup(v ? v : "");
}

/* Copies what the handler may read off the connection into job. */
static void
request_fill(struct pool_job *job, struct conn *c, struct gw_snapshot *snap)
{
	struct server *srv = c->w->srv;

	job->snap = snap;
	job->ctx.store = srv->store;
	job->ctx.issuer = srv->issuer;
	job->ctx.root = srv->root;
	job->ctx.audit = srv->audit;
	job->ctx.policy = snap->policy;
	job->ctx.deny = srv->deny;
	job->ctx.devices = srv->devices;
	job->ctx.srv = srv;
	job->ctx.pam_service = snap->conf->pam_service;
	job->url = xstrdup(c->head->url);
	job->content_type = dup_header(c, "Content-Type");
	job->authorization = dup_header(c, "Authorization");
	job->body = c->body ? c->body : xstrdup("");
	job->in.body_len = c->body ? c->body_len : 0;
	c->body = NULL;
	snprintf(job->cert_error, sizeof(job->cert_error), "%s",
	    c->cert_error);
	snprintf(job->source_ip, sizeof(job->source_ip), "%s", c->peer_ip);
	job->ident = c->ident;
	job->peer_cert = SSL_get1_peer_certificate(c->ssl);
	job->in.method = c->head->method;
	job->in.url = job->url;
	job->in.content_type = job->content_type;
	job->in.authorization = job->authorization;
	job->in.body = job->body;
	job->in.cert_ok = c->cert_ok;
	job->in.cert_error = job->cert_error;
	job->in.ident = &job->ident;
	job->in.peer_cert = job->peer_cert;
	job->in.source_ip = job->source_ip;
	job->in.who = conn_audit_fields(c, NULL, NULL);
}

void
request_run(struct conn *c, job_fn fn)
{
	struct gw_snapshot *snap = snapshot_get();
	struct pool_job *job = xcalloc(1, sizeof(*job));

	job->fn = fn;
	job->conn = c;
	job->w = c->w;
	request_fill(job, c, snap);
	c->state = CONN_WORKING;
	c->want = 0;
	conn_update_events(c);
	event_del(&c->ev_timer);
	c->job_pending = 1;
	if (pool_submit(c->w->srv->pool, job) == -1) {
		c->job_pending = 0;
		pool_job_free(job);
		log_warnx("conn %llu: auth pool full, request refused",
		    (unsigned long long)c->id);
		conn_respond_error(c, 503, "busy", "the gateway is busy; try "
		    "again in a few seconds");
	}
}

static void
request_answer(struct conn *c, const struct job_out *out)
{
	char extra[192] = "";

	if (out->retry_after > 0)
		snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n",
		    out->retry_after);
	if (out->www_authenticate)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    "WWW-Authenticate: %s\r\n", out->www_authenticate);
	if (out->raw == NULL) {
		char *text = json_dumps(out->json, JSON_COMPACT |
		    JSON_ENSURE_ASCII);

		if (text == NULL || extra[0] == '\0') {
			free(text);
			conn_respond(c, out->status, json_incref(out->json));
			return;
		}
		conn_respond_raw(c, out->status, "application/json", extra,
		    text, strlen(text));
		free(text);
		return;
	}
	/* RFC 7030 4.1.3: EST bodies are base64 and say so. */
	if (strncmp(out->content_type, "application/pkcs", 16) == 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    "Content-Transfer-Encoding: base64\r\n");
	conn_respond_raw(c, out->status, out->content_type, extra, out->raw,
	    out->raw_len);
}

void
request_done(struct pool_job *job)
{
	struct conn *c = job->conn;

	c->job_pending = 0;
	if (c->zombie)
		free(c);	/* the client went (or mwgd is stopping) */
	else {
		ERR_clear_error();
		request_answer(c, &job->out);
	}
	pool_job_free(job);
}
