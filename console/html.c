/*
 * Server-rendered HTML for the console: every value from a record, mwgd or
 * a request is escaped here; every answer carries a strict CSP (no script
 * at all, styles only from the console itself) and is never cached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "console/console.h"

#define FORM_BODY_MAX	16384

void
html_esc(struct evbuffer *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&': evbuffer_add(b, "&amp;", 5); break;
		case '<': evbuffer_add(b, "&lt;", 4); break;
		case '>': evbuffer_add(b, "&gt;", 4); break;
		case '"': evbuffer_add(b, "&quot;", 6); break;
		case '\'': evbuffer_add(b, "&#39;", 5); break;
		default:
			/* Control bytes are shown, never passed on. */
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				evbuffer_add(b, "?", 1);
			else
				evbuffer_add(b, s, 1);
		}
	}
}

void
http_headers(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; "
	    "style-src 'self'; img-src 'self'; form-action 'self'; "
	    "frame-ancestors 'none'; base-uri 'none'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Strict-Transport-Security", "max-age=31536000");
}

static void
nav_link(struct evbuffer *b, const char *href, const char *text)
{
	evbuffer_add_printf(b, "<a href=\"%s\">%s</a> ", href, text);
}

void
html_head(struct evbuffer *b, const char *title,
    const struct console_session *s)
{
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\"><title>");
	html_esc(b, title);
	evbuffer_add_printf(b, " - mwg console</title><link rel=\"stylesheet\""
	    " href=\"/static/console.css\"></head><body><header><strong>mwg "
	    "console</strong> ");
	if (s != NULL) {
		evbuffer_add_printf(b, "<nav>");
		nav_link(b, "/tunnels", "Live tunnels");
		nav_link(b, "/audit", "Audit search");
		nav_link(b, "/exports", "Exports");
		nav_link(b, "/devices", "Devices");
		nav_link(b, "/locks", "Locks");
		evbuffer_add_printf(b, "</nav><form class=\"who\" method=\"post\" "
		    "action=\"/logout\"><span id=\"who\">");
		html_esc(b, s->user);
		evbuffer_add_printf(b, " (%s)</span> ", role_name(s->role));
		html_csrf(b, s);
		evbuffer_add_printf(b, "<button type=\"submit\">Log out</button>"
		    "</form>");
	}
	evbuffer_add_printf(b, "</header><main><h1>");
	html_esc(b, title);
	evbuffer_add_printf(b, "</h1>\n");
}

void
html_foot(struct evbuffer *b)
{
	evbuffer_add_printf(b, "</main></body></html>\n");
}

void
html_csrf(struct evbuffer *b, const struct console_session *s)
{
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"csrf\" "
	    "value=\"%s\">", s->csrf);
}

void
http_send(struct evhttp_request *req, int status, struct evbuffer *b)
{
	http_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/html; charset=utf-8");
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
}

void
http_refuse(struct evhttp_request *req, int status, const char *msg,
    const struct console_session *s)
{
	struct evbuffer *b = evbuffer_new();

	html_head(b, status == 403 ? "Not allowed" : status == 401 ?
	    "Please log in" : "Refused", s);
	evbuffer_add_printf(b, "<p class=\"error\" id=\"refused\">");
	html_esc(b, msg);
	evbuffer_add_printf(b, "</p>");
	if (status == 401)
		evbuffer_add_printf(b, "<p><a href=\"/login\">Log in</a></p>");
	html_foot(b);
	http_send(req, status, b);
}

void
http_redirect(struct evhttp_request *req, const char *to)
{
	http_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
	    to);
	evhttp_send_reply(req, 303, "See Other", NULL);
}

int
http_query(struct evhttp_request *req, struct evkeyvalq *q)
{
	const char *query = evhttp_uri_get_query(
	    evhttp_request_get_evhttp_uri(req));

	TAILQ_INIT(q);
	return query == NULL ? 0 : evhttp_parse_query_str(query, q);
}

int
http_form(struct evhttp_request *req, struct evkeyvalq *q)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *body;
	int rc;

	TAILQ_INIT(q);
	if (len > FORM_BODY_MAX)
		return -1;
	body = malloc(len + 1);
	if (body == NULL)
		return -1;
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	rc = evhttp_parse_query_str(body, q);
	explicit_bzero(body, len);	/* a login form carries a password */
	free(body);
	return rc;
}
