/*
 * libFuzzer harness for HTTP request heads (gateway/http_head.c). The
 * first byte picks where the rest is split into two feeds; the split
 * parse must agree with the same bytes fed at once. Run by
 * tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/http_head.h"

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
