/*
 * API requests after the head: the body (Content-Length only, bounded),
 * then the handler in the monitor (one IPC_JOB call), then its answer.
 * The worker never waits: the connection is parked meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/net/conn.h"
#include "gateway/net/http_head.h"
#include "gateway/ipc.h"
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

static json_t *
header_json(const struct conn *c, const char *name)
{
	const char *v = http_head_get(c->head, name);

	return json_string(v ? v : "");
}

/* The request as the monitor's IPC_JOB message (gateway/ipc.h). */
static json_t *
request_message(struct conn *c, const char *path)
{
	X509 *cert = SSL_get0_peer_certificate(c->ssl);
	unsigned char *der = NULL;
	json_t *m;
	int n;

	m = json_pack("{s:s, s:i, s:s, s:o, s:o, s:o, s:b, s:s, s:s, s:o}",
	    "path", path, "method", c->head->method, "url", c->head->url,
	    "content_type", header_json(c, "Content-Type"),
	    "authorization", header_json(c, "Authorization"),
	    "body", ipc_b64_new(c->body ? c->body : "", c->body ?
	    c->body_len : 0), "cert_ok", c->cert_ok, "cert_error",
	    c->cert_error, "source_ip", c->peer_ip,
	    "who", conn_audit_fields(c, NULL, NULL));
	if (cert && (n = i2d_X509(cert, &der)) > 0) {
		json_object_set_new(m, "cert", ipc_b64_new(der, (size_t)n));
		OPENSSL_free(der);
	}
	if (c->body) {
		OPENSSL_cleanse(c->body, c->body_len);
		free(c->body);
		c->body = NULL;
	}
	return m;
}

/* The monitor's answer into job->out; a 503 if there is none. */
static void
request_reply_fill(struct pool_job *job, json_t *r)
{
	struct job_out *out = &job->out;
	const char *ct, *wa;
	long long status, retry;
	size_t len;

	if (r == NULL || ipc_int(r, "status", 100, 599, &status) == -1) {
		job_error(out, 503, "busy", "the gateway is busy; try again in "
		    "a few seconds");
		return;
	}
	out->status = (int)status;
	if (ipc_int(r, "retry_after", 1, 86400, &retry) == 0)
		out->retry_after = (long)retry;
	if ((wa = ipc_str(r, "www_authenticate", sizeof(job->www_auth) - 1))) {
		snprintf(job->www_auth, sizeof(job->www_auth), "%s", wa);
		out->www_authenticate = job->www_auth;
	}
	if ((ct = ipc_str(r, "content_type", sizeof(out->content_type) - 1)) &&
	    (out->raw = (char *)ipc_b64(r, "raw", IPC_PAYLOAD_MAX, &len))) {
		out->raw_len = len;
		snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
		return;
	}
	if (json_is_object(json_object_get(r, "json")))
		out->json = json_incref(json_object_get(r, "json"));
	else
		job_error(out, 500, "internal", "the request could not be "
		    "handled");
}

/* On the channel's reader thread: back to the connection's worker. */
static void
request_reply_cb(json_t *r, void *arg)
{
	struct pool_job *job = arg;
	struct worker_msg m = { .type = WORKER_MSG_JOB_DONE };

	request_reply_fill(job, r);
	json_decref(r);
	m.job = job;
	m.conn = job->conn;
	worker_post_always(job->w, &m);
}

void
request_run(struct conn *c, const char *path)
{
	struct pool_job *job = xcalloc(1, sizeof(*job));

	job->conn = c;
	job->w = c->w;
	c->state = CONN_WORKING;
	c->want = 0;
	conn_update_events(c);
	event_del(&c->ev_timer);
	c->job_pending = 1;
	if (ipc_call_async(c->w->srv->net, IPC_JOB, request_message(c, path),
	    request_reply_cb, job) == -1) {
		c->job_pending = 0;
		pool_job_free(job);
		log_warnx("conn %llu: the monitor is gone, request refused",
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
