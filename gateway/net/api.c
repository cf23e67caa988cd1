/*
 * The plain HTTP endpoints on the TLS listener: a table from path to
 * handler. whoami, closed and targets answer on the worker (they need
 * only the handshake and memory); everything that touches PAM, the store
 * or the CA key runs in the monitor (gateway/routes.h). Every answer
 * closes the connection.
 */
#include <string.h>

#include "gateway/net/conn.h"
#include "gateway/net/http_head.h"
#include "gateway/routes.h"
#include "gateway/session.h"
#include "gateway/net/targets.h"

static void
api_whoami(struct conn *c)
{
	json_t *body;

	if (c->head->method != HTTP_GET) {
		conn_respond_error(c, 405, "method-not-allowed",
		    "use GET for /v1/whoami");
		return;
	}
	if (!c->cert_ok) {
		conn_respond_error(c, 401, "certificate-required", c->cert_error);
		return;
	}
	body = json_pack("{s:s, s:s, s:s, s:I, s:s}",
	    "device", c->ident.device_id,
	    "kind", c->ident.kind == CERTS_KIND_SESSION ? "session" : "device",
	    "serial", c->ident.serial,
	    "not_after", (json_int_t)c->ident.not_after,
	    "source", c->peer_ip);
	if (c->ident.user[0])
		json_object_set_new(body, "user", json_string(c->ident.user));
	conn_respond(c, 200, body);
}

void
api_dispatch(struct conn *c)
{
	const char *url = c->head->url;
	const struct api_route *r;

	if (strcmp(url, "/v1/whoami") == 0) {
		api_whoami(c);
		return;
	}
	/* In memory, like whoami: answered on the worker. */
	if (strcmp(url, "/v1/closed") == 0) {
		session_closed_answer(c);
		return;
	}
	if (strcmp(url, TARGETS_PATH) == 0) {
		targets_answer(c);
		return;
	}
	if ((r = api_route_find(url)) != NULL) {
		if (!c->w->srv->has_issuer && r->needs_ca) {
			conn_respond_error(c, 503, "not-configured",
			    "this gateway has no ca-key: it cannot "
			    "enrol devices or log people in");
			return;
		}
		request_run(c, r->path);
		return;
	}
	conn_respond_error(c, 404, "not-found", "no such endpoint");
}
