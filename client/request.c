/*
 * One request to the gateway on a new TLS connection, and reading its
 * answer with the limits of client/http.c. Requests may carry a secret
 * (a password, an enrolment secret), so their buffer is wiped once sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "client/gw.h"
#include "common/errbuf.h"
#include "common/xmalloc.h"

#define READ_CHUNK	16384	/* one TLS record of plaintext */

static const char request_fmt[] =
    "%s %s HTTP/1.1\r\n"
    "Host: %s\r\n"
    "User-Agent: mwg\r\n"
    "Accept: application/json, */*\r\n"
    "Connection: close\r\n"
    "%s";

/* A clean end: close_notify, or a TCP close (the answer's own length
 * says whether anything is missing). */
static int
read_is_eof(SSL *ssl, int rc)
{
	int e = SSL_get_error(ssl, rc);

	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL &&
	    errno == 0))
		return 1;
	return e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_last_error()) ==
	    SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

int
client_read_answer(SSL *ssl, struct client_answer *a, char *rest,
    size_t restcap, size_t *restlen, char *err, size_t errlen)
{
	char buf[READ_CHUNK];
	size_t used;
	int n, rc;

	if (restlen != NULL)
		*restlen = 0;
	for (;;) {
		ERR_clear_error();	/* read_is_eof looks at the queue */
		errno = 0;
		if ((n = SSL_read(ssl, buf, sizeof(buf))) <= 0) {
			if (!read_is_eof(ssl, n)) {
				client_tls_error(ssl, n, "reading the gateway's "
				    "answer", err, errlen);
				return -1;
			}
			ERR_clear_error();
			return client_answer_feed(a, buf, 0, &used, err,
			    errlen) == 1 ? 0 : -1;
		}
		rc = client_answer_feed(a, buf, (size_t)n, &used, err, errlen);
		if (rc == -1)
			return -1;
		if (rc == 1)
			break;
	}
	if (rest != NULL && restlen != NULL && used < (size_t)n) {
		*restlen = (size_t)n - used;
		if (*restlen > restcap)
			*restlen = restcap;
		memcpy(rest, buf + used, *restlen);
	}
	return 0;
}

/* head + body in one buffer, so a small request is one TLS record. */
static char *
request_build(struct client_tls *t, const char *method, const char *path,
    const char *headers, const char *body, size_t len, size_t *total)
{
	char clen[64] = "", *head, *buf;
	size_t hlen;

	if (body != NULL)
		snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", len);
	head = xasprintf(request_fmt, method, path, client_tls_gateway(t),
	    headers ? headers : "");
	hlen = strlen(head);
	*total = hlen + strlen(clen) + 2 + (body ? len : 0);
	buf = xmalloc(*total);
	memcpy(buf, head, hlen);
	memcpy(buf + hlen, clen, strlen(clen));
	memcpy(buf + hlen + strlen(clen), "\r\n", 2);
	if (body != NULL)
		memcpy(buf + hlen + strlen(clen) + 2, body, len);
	freezero_mwg(head, hlen);
	return buf;
}

int
client_request(struct client_tls *t, const char *method, const char *path,
    const char *headers, const char *body, size_t len,
    struct client_answer *a, char *err, size_t errlen)
{
	size_t total;
	char *req;
	SSL *ssl;
	int n, rc = -1;

	client_answer_init(a, 0);
	if ((ssl = client_tls_open(t, err, errlen)) == NULL)
		return -1;
	req = request_build(t, method, path, headers, body, len, &total);
	if ((n = SSL_write(ssl, req, (int)total)) != (int)total)
		client_tls_error(ssl, n, "sending the request", err, errlen);
	else
		rc = client_read_answer(ssl, a, NULL, 0, NULL, err, errlen);
	freezero_mwg(req, total);
	client_tls_close(ssl);
	return rc;
}

int
client_answer_fail(const char *verb, const struct client_answer *a)
{
	char reason[512];

	client_answer_reason(a, reason, sizeof(reason));
	/* The gateway's own reason may already say when; say it once. */
	if (a->status == 429 && a->retry_after >= 0 &&
	    strstr(reason, "try again") == NULL)
		return client_fail(verb, "%s (429); try again in %ld s", reason,
		    a->retry_after);
	return client_fail(verb, "%s (%d)", reason, a->status);
}
