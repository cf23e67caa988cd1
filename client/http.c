/*
 * The gateway's answers, parsed by libhttp-parser in response mode (never
 * by hand): status, Retry-After, and a body of at most 1 MiB. An answer to
 * CONNECT ends at its head when it is a 2xx, since what follows is the
 * tunnel; any other answer ends where its Content-Length says.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "client/gw.h"
#include "common/errbuf.h"
#include "common/xmalloc.h"

#define RETRY_AFTER_MAX	86400	/* longer waits are shown as a day */

/* A header is complete: keep the one we act on. */
static void
answer_header_end(struct client_answer *a)
{
	char *end;
	long v;

	if (a->field_len < sizeof(a->field) && a->value_len <
	    sizeof(a->value) && strcasecmp(a->field, "Retry-After") == 0 &&
	    isdigit((unsigned char)a->value[0])) {
		errno = 0;
		v = strtol(a->value, &end, 10);
		if (errno == 0 && *end == '\0')
			a->retry_after = v > RETRY_AFTER_MAX ?
			    RETRY_AFTER_MAX : v;
	}
	a->field_len = a->value_len = 0;
	a->field[0] = a->value[0] = '\0';
}

/* Appends to a fixed buffer; one that overflows is marked (len = size). */
static void
answer_append(char *buf, size_t size, size_t *len, const char *at, size_t n)
{
	if (*len >= size || n >= size - *len) {
		*len = size;
		return;
	}
	memcpy(buf + *len, at, n);
	*len += n;
	buf[*len] = '\0';
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct client_answer *a = p->data;

	if (a->last_was_value)
		answer_header_end(a);
	a->last_was_value = 0;
	answer_append(a->field, sizeof(a->field), &a->field_len, at, len);
	return 0;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct client_answer *a = p->data;

	a->last_was_value = 1;
	answer_append(a->value, sizeof(a->value), &a->value_len, at, len);
	return 0;
}

static int
on_headers_complete(http_parser *p)
{
	struct client_answer *a = p->data;

	if (a->last_was_value)
		answer_header_end(a);
	a->status = p->status_code;
	a->head_done = 1;
	/* RFC 9110 §9.3.6: after a 2xx to CONNECT the connection is the
	 * tunnel; stop here and leave those bytes to the caller. */
	if (a->is_connect && a->status / 100 == 2)
		http_parser_pause(p, 1);
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct client_answer *a = p->data;

	if (len > CLIENT_ANSWER_MAX - a->body_len) {
		a->error = "the gateway's answer is larger than 1 MiB";
		return -1;
	}
	if (a->body_len + len + 1 > a->body_cap) {
		while (a->body_len + len + 1 > a->body_cap)
			a->body_cap = a->body_cap < 4096 ? 4096 :
			    a->body_cap * 2;
		a->body = xreallocarray(a->body, a->body_cap, 1);
	}
	memcpy(a->body + a->body_len, at, len);
	a->body_len += len;
	a->body[a->body_len] = '\0';
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	struct client_answer *a = p->data;

	a->complete = 1;
	/* One answer per connection: whatever follows is not ours to read. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings answer_settings = {
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void
client_answer_init(struct client_answer *a, int is_connect)
{
	memset(a, 0, sizeof(*a));
	a->retry_after = -1;
	a->is_connect = is_connect;
	a->body = xmalloc(1);
	a->body[0] = '\0';
	a->body_cap = 1;
	http_parser_init(&a->parser, HTTP_RESPONSE);
	a->parser.data = a;
}

void
client_answer_free(struct client_answer *a)
{
	free(a->body);
	a->body = NULL;
	a->body_len = a->body_cap = 0;
}

/* The parser stopped itself: a CONNECT 2xx head, or a whole answer. */
static int
answer_paused(struct client_answer *a, const char *data, size_t len,
    size_t n, size_t *used)
{
	/*
	 * Paused inside on_headers_complete, http-parser has not yet
	 * counted the head's final LF (the gateway's http_head.c does the
	 * same): the tunnel starts after it.
	 */
	if (!a->complete && n < len && data[n] == '\n')
		n++;
	if (!a->complete)
		a->complete = 1;
	*used = n;
	return 1;
}

int
client_answer_feed(struct client_answer *a, const char *data, size_t len,
    size_t *used, char *err, size_t errlen)
{
	enum http_errno herr;
	size_t n;

	*used = 0;
	if (a->complete)
		return 1;
	n = http_parser_execute(&a->parser, &answer_settings, data, len);
	herr = HTTP_PARSER_ERRNO(&a->parser);
	if (herr == HPE_PAUSED)
		return answer_paused(a, data, len, n, used);
	if (len == 0 && !a->complete) {
		errbuf_set(err, errlen, "the gateway closed the connection "
		    "before its answer was complete");
		return -1;
	}
	if (herr != HPE_OK) {
		errbuf_set(err, errlen, "bad answer from the gateway: %s",
		    a->error ? a->error : http_errno_description(herr));
		return -1;
	}
	*used = n;
	if (!a->head_done && (a->head_len += n) > CLIENT_HEAD_MAX) {
		errbuf_set(err, errlen, "bad answer from the gateway: head "
		    "larger than %d bytes", CLIENT_HEAD_MAX);
		return -1;
	}
	return a->complete ? 1 : 0;
}

/* Copies s into buf, any control character shown as '?': a gateway's
 * text never drives the terminal. */
static void
answer_copy_text(char *buf, size_t buflen, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < buflen; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' :
		    s[i];
	buf[i] = '\0';
}

const char *
client_answer_reason(const struct client_answer *a, char *buf, size_t buflen)
{
	const char *text = NULL;
	json_t *root, *v;

	root = json_loadb(a->body, a->body_len, 0, NULL);
	if (json_is_object(root)) {
		if (json_is_string(v = json_object_get(root, "reason")) &&
		    json_string_length(v) > 0)
			text = json_string_value(v);
		else if (json_is_string(v = json_object_get(root, "error")))
			text = json_string_value(v);
	}
	if (text != NULL)
		answer_copy_text(buf, buflen, text);
	else
		snprintf(buf, buflen, "the gateway answered %d", a->status);
	json_decref(root);
	return buf;
}
