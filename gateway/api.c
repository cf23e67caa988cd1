/*
 * The plain HTTP endpoints on the TLS listener. This first cut serves
 * GET /v1/whoami; enrolment (EST), login and posture arrive with their
 * issues. Every answer is JSON and closes the connection.
 */
#include <string.h>

#include "gateway/conn.h"
#include "gateway/http_head.h"

static void
api_whoami(struct conn *c)
{
	json_t *body;

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

	if (strcmp(url, "/v1/whoami") == 0) {
		if (c->head->method != HTTP_GET) {
			conn_respond_error(c, 405, "method-not-allowed",
			    "use GET for /v1/whoami");
			return;
		}
		api_whoami(c);
		return;
	}
	conn_respond_error(c, 404, "not-found", "no such endpoint");
}
