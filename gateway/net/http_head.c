/*
 * HTTP request heads through libhttp-parser. Callbacks copy the URL and the
 * header fields into a fixed arena (its size follows from HTTP_HEAD_MAX, so
 * it cannot overflow); the parse stops at the end of the head.
 */
#include "gateway/net/http_head.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

static int
arena_append(struct http_head *h, const char *at, size_t len)
{
	if (h->arena_len + len + 1 > sizeof(h->arena))
		return -1;
	memcpy(h->arena + h->arena_len, at, len);
	h->arena_len += len;
	h->arena[h->arena_len] = '\0';
	return 0;
}

/* Ends the string being built (url, field or value) and starts a new one. */
static int
arena_terminate(struct http_head *h)
{
	if (h->arena_len + 1 >= sizeof(h->arena))
		return -1;
	h->arena_len++;
	h->arena[h->arena_len] = '\0';
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct http_head *h = p->data;

	if (h->url == NULL)
		h->url = h->arena + h->arena_len;
	return arena_append(h, at, len);
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_head *h = p->data;

	if (h->nheaders == 0 || h->last_was_value) {
		if (h->nheaders == HTTP_HEADERS_MAX) {
			h->error = "too many header fields";
			h->status = 431;
			return -1;
		}
		if (arena_terminate(h) == -1)
			return -1;
		h->headers[h->nheaders].name = h->arena + h->arena_len;
		h->headers[h->nheaders].value = "";
		h->nheaders++;
		h->last_was_value = 0;
	}
	return arena_append(h, at, len);
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_head *h = p->data;

	if (!h->last_was_value) {
		if (arena_terminate(h) == -1)
			return -1;
		h->headers[h->nheaders - 1].value = h->arena + h->arena_len;
		h->last_was_value = 1;
	}
	return arena_append(h, at, len);
}

static int
on_headers_complete(http_parser *p)
{
	struct http_head *h = p->data;

	h->done = 1;
	h->method = p->method;
	/* A request body (a later endpoint's) is read by its handler. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings head_settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
};

void
http_head_init(struct http_head *h)
{
	memset(h, 0, offsetof(struct http_head, arena));
	h->arena[0] = '\0';
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = h;
}

enum http_head_state
http_head_feed(struct http_head *h, const char *data, size_t len, size_t *used)
{
	size_t room = HTTP_HEAD_MAX - h->fed, n;
	enum http_errno err;

	*used = 0;
	if (len > room)
		len = room;
	n = http_parser_execute(&h->parser, &head_settings, data, len);
	err = HTTP_PARSER_ERRNO(&h->parser);
	if (h->done && (err == HPE_PAUSED || err == HPE_OK)) {
		/*
		 * Paused inside on_headers_complete, the parser has not
		 * counted the final LF of the head.
		 */
		if (err == HPE_PAUSED && n < len && data[n] == '\n')
			n++;
		h->fed += n;
		*used = n;
		if (h->url == NULL) {
			h->error = "empty request target";
			h->status = 400;
			return HTTP_HEAD_ERROR;
		}
		return HTTP_HEAD_DONE;
	}
	if (err != HPE_OK) {
		if (h->error == NULL)
			h->error = http_errno_description(err);
		if (h->status == 0)
			h->status = 400;
		return HTTP_HEAD_ERROR;
	}
	h->fed += n;
	*used = n;
	if (h->fed >= HTTP_HEAD_MAX) {
		h->error = "request head larger than 8192 bytes";
		h->status = 431;
		return HTTP_HEAD_ERROR;
	}
	return HTTP_HEAD_MORE;
}

const char *
http_head_get(const struct http_head *h, const char *name)
{
	for (size_t i = 0; i < h->nheaders; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			return h->headers[i].value;
	return NULL;
}

long
http_head_body_length(const struct http_head *h)
{
	const char *v = http_head_get(h, "Content-Length");
	long n = 0;

	if (http_head_get(h, "Transfer-Encoding") != NULL)
		return HTTP_BODY_CHUNKED;
	if (v == NULL)
		return 0;
	if (*v == '\0')
		return HTTP_BODY_BAD;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9' || n > (LONG_MAX - (*v - '0')) / 10)
			return HTTP_BODY_BAD;
		n = n * 10 + (*v - '0');
	}
	return n;
}
