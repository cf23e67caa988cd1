/*
 * libFuzzer harness for the enrolment code in HTTP Basic (RFC 7617) on
 * POST /.well-known/est/simpleenroll (gateway/monitor/est.c): the input, up to its
 * first NUL, is the Authorization header; the body is never a request, so
 * a job that accepts the credentials stops at "bad certificate request"
 * (400) before any code is used. Checks: the answer is 401 with the Basic
 * challenge, or 400 after the throttle was asked about "code:ID" where the
 * token's base64 decodes to "ID:SECRET" with ID printable, no space, and
 * fitting the store; the token never reaches the audit record. Everything
 * past the CSR check is a stub that aborts. Run by tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "audit/audit.h"
#include "gateway/monitor/auth.h"
#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/monitor/est.h"
#include "gateway/job.h"
#include "gateway/monitor/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *token;	/* the credentials' token, if long enough */
static char code_key[STORE_THROTTLE_KEY_MAX];
static int throttle_asked, records;

int
audit_append(struct audit_log *log, const char *action, const char *outcome,
    json_t *fields)
{
	char *dump = json_dumps(fields, JSON_COMPACT);

	(void)log;
	if (dump == NULL || strcmp(action, "enrol.request") != 0 ||
	    strcmp(outcome, "failure") != 0 ||
	    (token != NULL && strstr(dump, token) != NULL))
		abort();
	records++;
	free(dump);
	json_decref(fields);
	return 0;
}

long
auth_throttle_wait(struct store *st, const char *const *keys, size_t n,
    time_t now, char *err, size_t errlen)
{
	(void)st; (void)now; (void)err; (void)errlen;
	if (n != 2 || keys[0] == NULL || throttle_asked++)
		abort();
	snprintf(code_key, sizeof(code_key), "%s", keys[0]);
	return 0;
}

/* Never reached: the body is not a certificate request. */
#define UNREACHED(ret, name, args) ret name args { abort(); }
UNREACHED(int, auth_throttle_fail, (struct store *a, const char *const *b,
    size_t c, time_t d, char *e, size_t f))
UNREACHED(int, certs_identity, (X509 *a, struct certs_identity *b))
UNREACHED(X509 *, certs_issue_device, (struct certs_issuer *a, EVP_PKEY *b,
    const char *c, time_t d, time_t e, char *f, size_t g))
UNREACHED(X509 *, certs_issuer_cert, (const struct certs_issuer *a))
UNREACHED(int, denylist_device, (struct denylist *a, const char *b, time_t c,
    char *d, size_t e))
UNREACHED(void, devcache_set_managed, (struct devcache *a, const char *b,
    int c))
UNREACHED(int, store_code_consume, (struct store *a, const char *b,
    const char *c, time_t d, struct store_code *e, const char **f, char *g,
    size_t h))
UNREACHED(int, store_device_add, (struct store *a,
    const struct store_device *b, char *c, size_t d))
UNREACHED(int, store_device_by_fpr, (struct store *a, const char *b,
    struct store_device *c, char *d, size_t e))
UNREACHED(int, store_device_get, (struct store *a, const char *b,
    struct store_device *c, char *d, size_t e))
UNREACHED(int, store_device_renew, (struct store *a, const char *b,
    const char *c, const char *d, time_t e, char *f, size_t g))
UNREACHED(int, store_device_revoke, (struct store *a, const char *b,
    const char *c, time_t d, char *e, size_t f))
UNREACHED(int, store_code_restore, (struct store *a, const char *b,
    time_t c, char *d, size_t e))

/* The Basic token of auth (after "Basic" and spaces), or NULL. */
static const char *
basic_token(const char *auth, size_t *len)
{
	auth += strspn(auth, " \t");
	if (strncasecmp(auth, "Basic", 5) != 0)
		return NULL;
	auth += 5 + strspn(auth + 5, " \t");
	*len = strcspn(auth, " \t");
	return auth;
}

/* Accepted: the throttle key must be "code:" and the token's ID. */
static void
check_accepted(const char *auth)
{
	unsigned char raw[4096];
	char tok[4096];
	size_t len = 0, idlen, k = 0;
	const char *t = basic_token(auth, &len), *colon;
	int n, pad = 0;

	/* The shared base64 decoder skips CR, LF, FF and VT (EST bodies
	 * come in lines); a Basic token is cut only at space and tab. */
	if (t == NULL || len >= sizeof(tok))
		abort();
	for (size_t i = 0; i < len; i++)
		if (strchr("\r\n\f\v", t[i]) == NULL)
			tok[k++] = t[i];
	len = k;
	if (len == 0 || len % 4 != 0 || len > sizeof(raw) / 3 * 4)
		abort();
	pad = (tok[len - 1] == '=') + (len > 1 && tok[len - 2] == '=');
	if ((n = EVP_DecodeBlock(raw, (const unsigned char *)tok, (int)len)) < 0)
		abort();
	n -= pad;
	if ((colon = memchr(raw, ':', (size_t)n)) == NULL)
		abort();
	idlen = (size_t)(colon - (const char *)raw);
	if (strncmp(code_key, "code:", 5) != 0 || idlen == 0 ||
	    idlen >= STORE_NAME_MAX || strlen(code_key + 5) != idlen ||
	    memcmp(code_key + 5, raw, idlen) != 0 || colon + 1 == (char *)raw + n)
		abort();
	for (size_t i = 0; i < idlen; i++)
		if (raw[i] <= 0x20 || raw[i] >= 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_ctx ctx = { .now = 1790000000 };
	struct job_in in = { .method = HTTP_POST, .url = EST_PATH_ENROLL,
	    .content_type = EST_CSR_TYPE, .body = "!", .body_len = 1,
	    .source_ip = "192.0.2.1" };
	struct job_out out = { 0 };
	char *auth = malloc(size + 1);
	size_t tlen = 0;

	if (auth == NULL)
		abort();
	memcpy(auth, data, size);
	auth[size] = '\0';
	in.authorization = auth;
	in.who = json_pack("{s:s}", "source.ip", in.source_ip);
	throttle_asked = records = 0;
	code_key[0] = '\0';
	token = basic_token(auth, &tlen);
	/* A short token may occur in the record by chance ("ip:1..."). */
	if (token != NULL && (tlen < 12 || token[tlen] != '\0'))
		token = NULL;

	est_enroll_job(&ctx, &in, &out);
	if (records != 1 || out.json == NULL)
		abort();
	if (out.status == 401) {
		if (throttle_asked || out.www_authenticate == NULL ||
		    strncmp(out.www_authenticate, "Basic ", 6) != 0)
			abort();
	} else if (out.status == 400 && throttle_asked) {
		check_accepted(auth);
	} else {
		abort();
	}
	json_decref(out.json);
	json_decref(in.who);
	free(auth);
	return 0;
}
