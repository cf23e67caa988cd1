/*
 * libFuzzer harness for HTTP request heads (gateway/net/http_head.c). The
 * first byte picks where the rest is split into two feeds; the split
 * parse must agree with the same bytes fed at once. A complete head's
 * body framing (http_head_body_length) must agree too, and a length it
 * accepts must be the one libhttp-parser read (else a request could be
 * framed two ways: smuggling). Run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/net/http_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds the parts that are not empty (an empty feed means EOF). */
static enum http_head_state
feed(struct http_head *h, const char *s, size_t len, size_t split,
    size_t *used)
{
	enum http_head_state st = HTTP_HEAD_MORE;
	size_t u;

	*used = 0;
	if (split > 0) {
		st = http_head_feed(h, s, split, &u);
		if (u > split)
			abort();
		if (st == HTTP_HEAD_MORE && u != split)
			abort();
		*used += u;
	}
	if (st == HTTP_HEAD_MORE && len > split) {
		st = http_head_feed(h, s + split, len - split, &u);
		if (u > len - split)
			abort();
		*used += u;
	}
	return st;
}

/* The body step: what request.c does with a complete head. */
static void
check_body(const struct http_head *w, const struct http_head *s)
{
	long n = http_head_body_length(w);
	const char *cl = http_head_get(w, "Content-Length");

	if (n != http_head_body_length(s) || n < HTTP_BODY_CHUNKED)
		abort();
	/* Any Transfer-Encoding, and only that, is refused as chunked. */
	if ((n == HTTP_BODY_CHUNKED) !=
	    (http_head_get(w, "Transfer-Encoding") != NULL))
		abort();
	if (n >= 0 && cl == NULL && n != 0)
		abort();
	if (n >= 0 && cl != NULL && (!(w->parser.flags & F_CONTENTLENGTH) ||
	    w->parser.content_length != (uint64_t)n))
		abort();
}

static int
same_head(const struct http_head *a, const struct http_head *b)
{
	if (a->nheaders != b->nheaders || a->method != b->method ||
	    a->fed != b->fed)
		return 0;
	if ((a->url == NULL) != (b->url == NULL) ||
	    (a->url && strcmp(a->url, b->url) != 0))
		return 0;
	for (size_t i = 0; i < a->nheaders; i++)
		if (strcmp(a->headers[i].name, b->headers[i].name) != 0 ||
		    strcmp(a->headers[i].value, b->headers[i].value) != 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_head whole, split;
	const char *s = (const char *)data + 1;
	size_t len, at, used_w, used_s;
	enum http_head_state st_w, st_s;

	if (size < 1)
		return 0;
	len = size - 1;
	at = len ? data[0] * len / 255 : 0;

	http_head_init(&whole);
	st_w = feed(&whole, s, len, len, &used_w);
	http_head_init(&split);
	st_s = feed(&split, s, len, at, &used_s);

	if (st_w != st_s)
		abort();
	if (st_w == HTTP_HEAD_DONE) {
		if (used_w != used_s || used_w > HTTP_HEAD_MAX ||
		    !same_head(&whole, &split) || whole.url == NULL ||
		    whole.nheaders > HTTP_HEADERS_MAX)
			abort();
		for (size_t i = 0; i < whole.nheaders; i++)
			if (http_head_get(&whole, whole.headers[i].name) == NULL)
				abort();
		check_body(&whole, &split);
	}
	/*
	 * With two faults (a 65th field whose name holds a bad byte) the
	 * reason may follow the split: libhttp-parser reports a field name
	 * cut by the end of a feed before it has seen all of it. Both
	 * refuse; only the reason may differ.
	 */
	if (st_w == HTTP_HEAD_ERROR) {
		if ((whole.status != 400 && whole.status != 431) ||
		    (split.status != 400 && split.status != 431) ||
		    whole.error == NULL || split.error == NULL)
			abort();
	}
	return 0;
}
