/*
 * Reading one HTTP/1.1 request head from a client, with a hard size limit,
 * parsed by libhttp-parser (never by hand). The head is kept in a bounded
 * arena only while the request is being read.
 */
#ifndef MWG_HTTP_HEAD_H
#define MWG_HTTP_HEAD_H

#include <stddef.h>

#include <http_parser.h>

#define HTTP_HEAD_MAX		8192	/* request line + headers, bytes */
#define HTTP_HEADERS_MAX	64	/* header fields */

enum http_head_state {
	HTTP_HEAD_MORE,		/* need more bytes */
	HTTP_HEAD_DONE,		/* head complete; see http_head.used */
	HTTP_HEAD_ERROR,	/* malformed: answer status (400 or 431), close */
};

struct http_header {
	const char *name;	/* in the arena, NUL-terminated */
	const char *value;
};

struct http_head {
	http_parser parser;
	int method;			/* enum http_method */
	const char *url;		/* in the arena */
	struct http_header headers[HTTP_HEADERS_MAX];
	size_t nheaders;
	size_t fed;			/* bytes given so far */
	int status;			/* on error: 400 or 431 */
	const char *error;		/* on error: why, for logs */
	int done;
	/* private: the arena holds url and headers, each NUL-terminated */
	size_t arena_len;
	int last_was_value;
	char arena[HTTP_HEAD_MAX + HTTP_HEADERS_MAX * 2 + 2];
};

void http_head_init(struct http_head *h);
/*
 * Feeds len bytes. *used is set to how many belong to the head; the rest
 * (for CONNECT, early tunnel bytes) is the caller's.
 */
enum http_head_state http_head_feed(struct http_head *h, const char *data,
    size_t len, size_t *used);
/* Case-insensitive header lookup; NULL if absent. */
const char *http_head_get(const struct http_head *h, const char *name);

#define HTTP_BODY_BAD		(-1)	/* malformed Content-Length: 400 */
#define HTTP_BODY_CHUNKED	(-2)	/* a Transfer-Encoding: 411 */
/*
 * The body's length from a complete head (RFC 9112 §6.3): the
 * Content-Length, 0 without one; HTTP_BODY_CHUNKED when any
 * Transfer-Encoding is present (only Content-Length bodies are read);
 * HTTP_BODY_BAD unless the Content-Length is 1*DIGIT and fits a long (no
 * sign, space or list). libhttp-parser has already refused a repeated
 * Content-Length and one beside a Transfer-Encoding.
 */
long http_head_body_length(const struct http_head *h);

#endif
