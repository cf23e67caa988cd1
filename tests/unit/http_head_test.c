/*
 * gateway/net/http_head.c: request heads through libhttp-parser. Every case is
 * fed whole and in pieces (down to one byte at a time) and must give the
 * same state, byte count, target and headers; the 8 KiB and 64-field
 * limits are checked at their exact boundaries.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "gateway/net/http_head.h"
#include "unit.h"

static const size_t chunk_sizes[] = { SIZE_MAX, 1, 2, 3, 7, 64, 4096 };

/*
 * Feeds len bytes in pieces of chunk until the state is no longer MORE.
 * *used is the total the head took. While MORE, every byte must be taken.
 */
static enum http_head_state
feed_chunks(struct http_head *h, const char *s, size_t len, size_t chunk,
    size_t *used)
{
	enum http_head_state st = HTTP_HEAD_MORE;
	size_t off = 0;

	*used = 0;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk, u = 99999;

		st = http_head_feed(h, s + off, n, &u);
		if (st == HTTP_HEAD_ERROR)
			break;
		cr_assert_leq(u, n);
		*used += u;
		if (st == HTTP_HEAD_DONE)
			break;
		cr_assert_eq(u, n, "MORE after taking %zu of %zu bytes", u, n);
		off += n;
	}
	return st;
}

/* A new head on the heap fed s as feed_chunks does; caller frees. */
static struct http_head *
fed_head(const char *s, size_t len, size_t chunk, size_t *used,
    enum http_head_state *st)
{
	struct http_head *h = malloc(sizeof(*h));

	cr_assert_not_null(h);
	http_head_init(h);
	*st = feed_chunks(h, s, len, chunk, used);
	return h;
}

/* "Name=value\n" for every header, in order; caller frees. */
static char *
headers_str(const struct http_head *h)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	for (size_t i = 0; i < h->nheaders; i++)
		fprintf(f, "%s=%s\n", h->headers[i].name, h->headers[i].value);
	fclose(f);
	return buf;
}

struct head_case {
	const char *text;
	size_t len;			/* 0: strlen(text) */
	enum http_head_state st;	/* DONE or ERROR */
	size_t used;			/* DONE: bytes of the head */
	int method;
	const char *url;
	const char *headers;		/* DONE: headers_str() */
	int status;			/* ERROR */
	const char *error;		/* ERROR */
};

static const struct head_case head_cases[] = {
	/* CONNECT with early tunnel bytes after the head. */
	{ "CONNECT emis.K84001:443 HTTP/1.1\r\nHost: emis.K84001:443\r\n\r\n"
	  "\x16\x03\x01\x00\x05hello", 69, HTTP_HEAD_DONE, 59, HTTP_CONNECT,
	    "emis.K84001:443", "Host=emis.K84001:443\n", 0, NULL },
	{ "CONNECT emis.K84001:443 HTTP/1.1\r\n\r\n", 0, HTTP_HEAD_DONE, 36,
	    HTTP_CONNECT, "emis.K84001:443", "", 0, NULL },
	{ "GET /api/v1/status?x=1 HTTP/1.1\r\nHost: gw.example.org\r\n"
	  "User-Agent: t/1.0\r\nAccept: */*\r\nX-Empty:\r\nX-Sp:   a b  \r\n"
	  "\r\n", 0, HTTP_HEAD_DONE, 114, HTTP_GET, "/api/v1/status?x=1",
	    "Host=gw.example.org\nUser-Agent=t/1.0\nAccept=*/*\nX-Empty=\n"
	    "X-Sp=a b  \n", 0, NULL },
	/* LF-only line endings; the rest is not the head's. */
	{ "GET / HTTP/1.1\nHost: x\n\nrest", 0, HTTP_HEAD_DONE, 24, HTTP_GET,
	    "/", "Host=x\n", 0, NULL },
	{ "CONNECT a.B:1 HTTP/1.1\n\n\n\n", 0, HTTP_HEAD_DONE, 24,
	    HTTP_CONNECT, "a.B:1", "", 0, NULL },
	/* A body is not the head's either. */
	{ "POST /enrol HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", 0,
	    HTTP_HEAD_DONE, 43, HTTP_POST, "/enrol", "Content-Length=5\n", 0,
	    NULL },
	{ "HEAD / HTTP/1.0\r\n\r\n", 0, HTTP_HEAD_DONE, 19, HTTP_HEAD, "/", "",
	    0, NULL },
	/* RFC 7230 §3.5: empty lines before the request line are ignored. */
	{ "\r\nGET / HTTP/1.1\r\n\r\n", 0, HTTP_HEAD_DONE, 20, HTTP_GET, "/",
	    "", 0, NULL },
	/* Malformed: 400 with libhttp-parser's reason. */
	{ "GARBAGE\r\n\r\n", 0, HTTP_HEAD_ERROR, 0, 0, NULL, NULL, 400,
	    "invalid HTTP method" },
	{ "get / HTTP/1.1\r\n\r\n", 0, HTTP_HEAD_ERROR, 0, 0, NULL, NULL, 400,
	    "invalid HTTP method" },
	{ " GET / HTTP/1.1\r\n\r\n", 0, HTTP_HEAD_ERROR, 0, 0, NULL, NULL, 400,
	    "invalid HTTP method" },
	{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, HTTP_HEAD_ERROR,
	    0, 0, NULL, NULL, 400, "invalid HTTP method" },
	{ "GET / HTTP/1.1 extra\r\n\r\n", 0, HTTP_HEAD_ERROR, 0, 0, NULL, NULL,
	    400, "invalid HTTP version" },
	{ "GET /\0 HTTP/1.1\r\n\r\n", 19, HTTP_HEAD_ERROR, 0, 0, NULL, NULL,
	    400, "invalid URL" },
	{ "GET / HTTP/1.1\r\nbad header\r\n\r\n", 0, HTTP_HEAD_ERROR, 0, 0,
	    NULL, NULL, 400, "invalid character in header" },
	{ "GET / HTTP/1.1\r\n: v\r\n\r\n", 0, HTTP_HEAD_ERROR, 0, 0, NULL,
	    NULL, 400, "invalid character in header" },
	{ "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 26, HTTP_HEAD_ERROR, 0, 0,
	    NULL, NULL, 400, "invalid character in header" },
	{ "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0,
	    HTTP_HEAD_ERROR, 0, 0, NULL, NULL, 400,
	    "unexpected content-length header" },
};

static void
check_head(size_t idx, const struct head_case *c, size_t chunk)
{
	size_t len = c->len ? c->len : strlen(c->text), used;
	enum http_head_state st;
	struct http_head *h = fed_head(c->text, len, chunk, &used, &st);

	cr_expect_eq(st, c->st, "case %zu chunk %zu: state %d", idx, chunk, st);
	if (st == HTTP_HEAD_DONE && c->st == HTTP_HEAD_DONE) {
		char *got = headers_str(h);

		cr_expect_eq(used, c->used, "case %zu chunk %zu: used %zu", idx,
		    chunk, used);
		cr_expect_eq(h->fed, c->used, "case %zu chunk %zu", idx, chunk);
		cr_expect_eq(h->method, c->method, "case %zu chunk %zu", idx,
		    chunk);
		cr_expect_str_eq(h->url, c->url, "case %zu chunk %zu: url %s",
		    idx, chunk, h->url);
		cr_expect_str_eq(got, c->headers, "case %zu chunk %zu: got\n%s",
		    idx, chunk, got);
		cr_expect_eq(h->status, 0);
		cr_expect_null(h->error);
		free(got);
	} else if (st == HTTP_HEAD_ERROR && c->st == HTTP_HEAD_ERROR) {
		cr_expect_eq(h->status, c->status, "case %zu chunk %zu: %d",
		    idx, chunk, h->status);
		cr_expect_str_eq(h->error, c->error, "case %zu chunk %zu: %s",
		    idx, chunk, h->error);
	}
	free(h);
}

Test(http_head, corpus_whole_and_in_pieces)
{
	for (size_t i = 0; i < NELEM(head_cases); i++)
		for (size_t j = 0; j < NELEM(chunk_sizes); j++)
			check_head(i, &head_cases[i], chunk_sizes[j]);
	ASSERT_NO_LEAKS();
}

Test(http_head, incomplete_head_wants_more)
{
	static const char *const partial[] = {
		"",
		"CONNECT",
		"CONNECT emis.K84001:443 HTTP/1.1\r\n",
		"CONNECT emis.K84001:443 HTTP/1.1\r\nHost: x\r\n",
		"CONNECT emis.K84001:443 HTTP/1.1\r\nHost: x\r\n\r",
	};
	struct http_head h;

	for (size_t i = 0; i < NELEM(partial); i++) {
		size_t used = 99999, len = strlen(partial[i]);

		http_head_init(&h);
		if (len == 0) {
			cr_expect_eq(http_head_feed(&h, "x", 0, &used),
			    HTTP_HEAD_MORE, "case %zu", i);
			cr_expect_eq(used, 0);
			continue;
		}
		cr_expect_eq(http_head_feed(&h, partial[i], len, &used),
		    HTTP_HEAD_MORE, "case %zu", i);
		cr_expect_eq(used, len, "case %zu", i);
		cr_expect_eq(h.fed, len, "case %zu", i);
		cr_expect_eq(h.done, 0, "case %zu", i);
	}
}

/* The final LF of the head arrives with the first tunnel bytes. */
Test(http_head, final_lf_in_a_later_feed)
{
	static const char a[] = "CONNECT t.K1:22 HTTP/1.1\r\n\r";
	static const char b[] = "\nSSH-2.0-x\r\n";
	struct http_head h;
	size_t used;

	http_head_init(&h);
	cr_assert_eq(http_head_feed(&h, a, sizeof(a) - 1, &used),
	    HTTP_HEAD_MORE);
	cr_assert_eq(used, sizeof(a) - 1);
	cr_assert_eq(http_head_feed(&h, b, sizeof(b) - 1, &used),
	    HTTP_HEAD_DONE);
	cr_assert_eq(used, 1);
	cr_assert_eq(h.fed, sizeof(a));
	cr_assert_str_eq(h.url, "t.K1:22");
}

Test(http_head, header_lookup_is_case_insensitive)
{
	static const char req[] = "CONNECT x.K1:1 HTTP/1.1\r\n"
	    "Host: x.K1:1\r\nX-Device-Id: dev-7\r\nx-device-id: second\r\n"
	    "Empty:\r\n\r\n";
	static const struct {
		const char *name, *want;
	} cases[] = {
		{ "Host", "x.K1:1" }, { "host", "x.K1:1" }, { "HOST", "x.K1:1" },
		{ "x-DEVICE-id", "dev-7" },	/* the first of two */
		{ "empty", "" },
		{ "Hos", NULL }, { "Hostt", NULL }, { "", NULL },
		{ "X-Missing", NULL },
	};
	struct http_head h;
	size_t used;

	http_head_init(&h);
	cr_assert_eq(http_head_get(&h, "Host"), NULL);
	cr_assert_eq(http_head_feed(&h, req, sizeof(req) - 1, &used),
	    HTTP_HEAD_DONE);
	cr_assert_eq(h.nheaders, 4);
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *v = http_head_get(&h, cases[i].name);

		if (cases[i].want == NULL)
			cr_expect_null(v, "'%s' -> '%s'", cases[i].name, v);
		else {
			cr_expect_not_null(v, "'%s' missing", cases[i].name);
			if (v != NULL)
				cr_expect_str_eq(v, cases[i].want, "'%s'",
				    cases[i].name);
		}
	}
}

Test(http_head, names_and_values_split_across_feeds)
{
	static const char *const parts[] = {
		"GET /a", "bc HTTP/1.1\r\nX-Lo", "ng: abc", "def\r\n",
		"Ho", "st: y", "\r\nZ", ": ", "1", "2\r\n\r\nleft",
	};
	struct http_head h;
	size_t used, total = 0;
	enum http_head_state st = HTTP_HEAD_MORE;
	char *got;

	http_head_init(&h);
	for (size_t i = 0; i < NELEM(parts); i++) {
		st = http_head_feed(&h, parts[i], strlen(parts[i]), &used);
		total += used;
		if (i + 1 < NELEM(parts)) {
			cr_assert_eq(st, HTTP_HEAD_MORE, "part %zu", i);
			cr_assert_eq(used, strlen(parts[i]), "part %zu", i);
		}
	}
	cr_assert_eq(st, HTTP_HEAD_DONE);
	cr_assert_eq(used, 5);
	cr_assert_eq(total, 53);
	cr_assert_str_eq(h.url, "/abc");
	got = headers_str(&h);
	cr_assert_str_eq(got, "X-Long=abcdef\nHost=y\nZ=12\n");
	free(got);
	cr_assert_str_eq(http_head_get(&h, "x-long"), "abcdef");
	ASSERT_NO_LEAKS();
}

/*
 * "GET / HTTP/1.1\r\nX: aaa...\r\n\r\n" of exactly size bytes, followed by
 * extra bytes; caller frees.
 */
static char *
head_of_size(size_t size, const char *extra)
{
	static const char pre[] = "GET / HTTP/1.1\r\nX: ";
	size_t vlen = size - (sizeof(pre) - 1) - 4;
	char *s = malloc(size + strlen(extra) + 1);

	cr_assert_not_null(s);
	memcpy(s, pre, sizeof(pre) - 1);
	memset(s + sizeof(pre) - 1, 'a', vlen);
	memcpy(s + size - 4, "\r\n\r\n", 4);
	strcpy(s + size, extra);
	return s;
}

/*
 * The limit counts the whole head including its final CRLF CRLF: a head
 * of exactly HTTP_HEAD_MAX bytes is accepted, one byte more is 431, at
 * every chunking (the head is refused once 8192 bytes have arrived
 * without its end, before the rest is read).
 */
Test(http_head, size_limit_boundary)
{
	static const struct {
		size_t size;
		enum http_head_state st;
	} cases[] = {
		{ HTTP_HEAD_MAX - 1, HTTP_HEAD_DONE },
		{ HTTP_HEAD_MAX, HTTP_HEAD_DONE },
		{ HTTP_HEAD_MAX + 1, HTTP_HEAD_ERROR },
		{ HTTP_HEAD_MAX + 1000, HTTP_HEAD_ERROR },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *s = head_of_size(cases[i].size, "TUNNEL");
		size_t len = strlen(s);

		for (size_t j = 0; j < NELEM(chunk_sizes); j++) {
			size_t used;
			enum http_head_state st;
			struct http_head *h = fed_head(s, len, chunk_sizes[j],
			    &used, &st);

			cr_expect_eq(st, cases[i].st, "size %zu chunk %zu: %d",
			    cases[i].size, chunk_sizes[j], st);
			if (cases[i].st == HTTP_HEAD_DONE) {
				cr_expect_eq(used, cases[i].size,
				    "size %zu chunk %zu: used %zu",
				    cases[i].size, chunk_sizes[j], used);
				cr_expect_eq(strlen(http_head_get(h, "x")),
				    cases[i].size - 23);
			} else {
				cr_expect_eq(h->status, 431);
				cr_expect_str_eq(h->error, "request head larger "
				    "than 8192 bytes");
				cr_expect_eq(h->fed, HTTP_HEAD_MAX,
				    "size %zu chunk %zu: fed %zu",
				    cases[i].size, chunk_sizes[j], h->fed);
			}
			free(h);
		}
		free(s);
	}
	ASSERT_NO_LEAKS();
}

/* A request line alone past the limit is refused the same way. */
Test(http_head, long_request_target)
{
	size_t len = HTTP_HEAD_MAX + 100;
	char *s = malloc(len);
	struct http_head h;
	size_t used;

	cr_assert_not_null(s);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'u', len - 5);
	http_head_init(&h);
	cr_assert_eq(feed_chunks(&h, s, len, 1000, &used), HTTP_HEAD_ERROR);
	cr_assert_eq(h.status, 431);
	cr_assert_str_eq(h.error, "request head larger than 8192 bytes");
	free(s);
	ASSERT_NO_LEAKS();
}

/* "GET / HTTP/1.1\r\n" and n fields "hN: v"; caller frees. */
static char *
head_with_fields(size_t n)
{
	char *s = malloc(32 + n * 16);
	size_t o;

	cr_assert_not_null(s);
	o = (size_t)sprintf(s, "GET / HTTP/1.1\r\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(s + o, "h%zu: v%zu\r\n", i, i);
	strcpy(s + o, "\r\n");
	return s;
}

Test(http_head, header_count_limit)
{
	static const struct {
		size_t n;
		enum http_head_state st;
	} cases[] = {
		{ 0, HTTP_HEAD_DONE },
		{ HTTP_HEADERS_MAX - 1, HTTP_HEAD_DONE },
		{ HTTP_HEADERS_MAX, HTTP_HEAD_DONE },
		{ HTTP_HEADERS_MAX + 1, HTTP_HEAD_ERROR },
		{ 200, HTTP_HEAD_ERROR },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *s = head_with_fields(cases[i].n);

		for (size_t j = 0; j < NELEM(chunk_sizes); j++) {
			size_t used;
			enum http_head_state st;
			struct http_head *h = fed_head(s, strlen(s),
			    chunk_sizes[j], &used, &st);

			cr_expect_eq(st, cases[i].st, "n %zu chunk %zu: %d",
			    cases[i].n, chunk_sizes[j], st);
			if (st == HTTP_HEAD_DONE) {
				cr_expect_eq(used, strlen(s));
				cr_expect_eq(h->nheaders, cases[i].n);
				if (cases[i].n == HTTP_HEADERS_MAX)
					cr_expect_str_eq(http_head_get(h,
					    "H63"), "v63");
			} else {
				cr_expect_eq(h->status, 431);
				cr_expect_str_eq(h->error,
				    "too many header fields");
				cr_expect_eq(h->nheaders, HTTP_HEADERS_MAX);
			}
			free(h);
		}
		free(s);
	}
	ASSERT_NO_LEAKS();
}

/*
 * The arena is sized for the worst case: 64 empty-valued fields plus the
 * longest head the limit allows.
 */
Test(http_head, arena_worst_case)
{
	size_t o;
	char *s = malloc(HTTP_HEAD_MAX + 64);
	struct http_head *h = malloc(sizeof(*h));
	size_t used;

	cr_assert_not_null(s);
	cr_assert_not_null(h);
	o = (size_t)sprintf(s, "GET /");
	for (size_t i = 0; i < HTTP_HEADERS_MAX; i++)
		o += (size_t)sprintf(s + o, "%s%c:\r\n", i ? "" :
		    " HTTP/1.1\r\n", (char)('a' + i % 26));
	/* Pad the URL so the whole head is exactly HTTP_HEAD_MAX bytes. */
	memmove(s + 5 + (HTTP_HEAD_MAX - o - 2), s + 5, o - 5);
	memset(s + 5, 'u', HTTP_HEAD_MAX - o - 2);
	memcpy(s + HTTP_HEAD_MAX - 2, "\r\n", 2);
	http_head_init(h);
	cr_assert_eq(feed_chunks(h, s, HTTP_HEAD_MAX, SIZE_MAX, &used),
	    HTTP_HEAD_DONE, "%s", h->error ? h->error : "");
	cr_assert_eq(used, HTTP_HEAD_MAX);
	cr_assert_eq(h->nheaders, HTTP_HEADERS_MAX);
	cr_assert_eq(strlen(h->url), HTTP_HEAD_MAX - o - 2 + 1);
	cr_assert_str_eq(h->headers[HTTP_HEADERS_MAX - 1].value, "");
	free(h);
	free(s);
	ASSERT_NO_LEAKS();
}

/*
 * Body framing (RFC 9112 §6.3): only a plain 1*DIGIT Content-Length is a
 * length; any Transfer-Encoding is "chunked" (411); a sign, space, list,
 * hex or overflow is malformed (400). Heads libhttp-parser itself refuses
 * (a repeated Content-Length, one beside Transfer-Encoding, a negative
 * one) never get this far: status 400 there.
 */
static const struct {
	const char *fields;
	enum http_head_state st;
	long length;
} body_cases[] = {
	{ "", HTTP_HEAD_DONE, 0 },
	{ "Content-Length: 0\r\n", HTTP_HEAD_DONE, 0 },
	{ "Content-Length: 2\r\n", HTTP_HEAD_DONE, 2 },
	{ "content-length: 65536\r\n", HTTP_HEAD_DONE, 65536 },
	{ "Content-Length: 007\r\n", HTTP_HEAD_DONE, 7 },
	{ "Content-Length: 9223372036854775807\r\n", HTTP_HEAD_DONE,
	    9223372036854775807L },
	{ "Content-Length: 9223372036854775808\r\n", HTTP_HEAD_DONE,
	    HTTP_BODY_BAD },
	{ "Content-Length: 10000000000000000000\r\n", HTTP_HEAD_DONE,
	    HTTP_BODY_BAD },
	{ "Content-Length: 2 \r\n", HTTP_HEAD_DONE, HTTP_BODY_BAD },
	{ "Transfer-Encoding: chunked\r\n", HTTP_HEAD_DONE, HTTP_BODY_CHUNKED },
	{ "Transfer-Encoding: identity\r\n", HTTP_HEAD_DONE,
	    HTTP_BODY_CHUNKED },
	{ "Content-Length: -1\r\n", HTTP_HEAD_ERROR, 0 },
	{ "Content-Length: +2\r\n", HTTP_HEAD_ERROR, 0 },
	{ "Content-Length: 0x2\r\n", HTTP_HEAD_ERROR, 0 },
	{ "Content-Length: 2, 2\r\n", HTTP_HEAD_ERROR, 0 },
	{ "Content-Length: 2\r\nContent-Length: 2\r\n", HTTP_HEAD_ERROR, 0 },
	{ "Content-Length: 2\r\nContent-Length: 3\r\n", HTTP_HEAD_ERROR, 0 },
	{ "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
	    HTTP_HEAD_ERROR, 0 },
	{ "Content-Length: 99999999999999999999\r\n", HTTP_HEAD_ERROR, 0 },
};

Test(http_head, body_framing)
{
	char s[512];
	size_t used;

	for (size_t i = 0; i < NELEM(body_cases); i++) {
		enum http_head_state st;
		struct http_head *h;
		int n = snprintf(s, sizeof(s), "POST /v1/login HTTP/1.1\r\n"
		    "Host: x\r\n%s\r\n", body_cases[i].fields);

		h = fed_head(s, (size_t)n, SIZE_MAX, &used, &st);
		cr_expect_eq(st, body_cases[i].st, "case %zu: state %d", i, st);
		if (st == HTTP_HEAD_DONE)
			cr_expect_eq(http_head_body_length(h),
			    body_cases[i].length, "case %zu: length %ld, "
			    "expected %ld", i, http_head_body_length(h),
			    body_cases[i].length);
		else
			cr_expect_eq(h->status, 400, "case %zu: status %d", i,
			    h->status);
		free(h);
	}
	ASSERT_NO_LEAKS();
}
