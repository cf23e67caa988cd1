/*
 * libFuzzer harness for the POST /v1/login body (gateway/monitor/login.c): the
 * input is the body, sent without a client certificate, so the job parses
 * and validates it and stops at "certificate-required". Checks: the answer
 * is a 400 or 401 error object, the audit record has a reason, and a
 * password holding '#' (a character no reason text has) appears in
 * neither. Everything past the certificate check is a stub that aborts.
 * Run by tests/fuzz/run.sh with gateway/monitor/login.c gateway/job.c
 * certs/identity.c common/log.c common/errbuf.c common/xmalloc.c,
 * -ljansson -lcrypto.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>
#include <jansson.h>

#include "audit/audit.h"
#include "gateway/monitor/auth.h"
#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/job.h"
#include "gateway/monitor/login.h"
#include "gateway/monitor/store.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *password;		/* the body's, if it holds '#' */
static int records;

/* 1 if s holds the password (when there is one to look for). */
static int
holds_password(const char *s)
{
	return password != NULL && s != NULL && strstr(s, password) != NULL;
}

int
audit_append(struct audit_log *log, const char *action, const char *outcome,
    json_t *fields)
{
	char *dump = json_dumps(fields, JSON_COMPACT);

	(void)log;
	if (dump == NULL || strcmp(action, "auth.login") != 0 ||
	    strcmp(outcome, "failure") != 0 ||
	    !json_is_string(json_object_get(fields, "event.reason")) ||
	    holds_password(dump))
		abort();
	records++;
	free(dump);
	json_decref(fields);
	return 0;
}

/* Never reached without a certificate. */
#define UNREACHED(ret, name, args) ret name args { abort(); }
UNREACHED(int, auth_pam_check, (const char *a, const char *b, const char *c,
    char *d, size_t e))
UNREACHED(int, auth_totp_check, (struct store *a, const char *b,
    const char *c, time_t d, const char **e, char *f, size_t g))
UNREACHED(int, auth_totp_failed, (struct store *a, const char *b, time_t c,
    char *d, size_t e))
UNREACHED(long, auth_throttle_wait, (struct store *a, const char *const *b,
    size_t c, time_t d, char *e, size_t f))
UNREACHED(int, auth_throttle_fail, (struct store *a, const char *const *b,
    size_t c, time_t d, char *e, size_t f))
UNREACHED(int, auth_throttle_clear, (struct store *a, const char *b, char *c,
    size_t d))
UNREACHED(int, auth_groups, (const char *a, char (*b)[CERTS_GROUP_MAX],
    size_t c))
UNREACHED(int, store_device_get, (struct store *a, const char *b,
    struct store_device *c, char *d, size_t e))
UNREACHED(int, store_device_touch, (struct store *a, const char *b, time_t c,
    char *d, size_t e))
UNREACHED(int, store_session_add, (struct store *a,
    const struct store_session *b, char *c, size_t d))
UNREACHED(int, denylist_user, (struct denylist *a, const char *b, time_t c,
    char *d, size_t e))
UNREACHED(int, denylist_device, (struct denylist *a, const char *b, time_t c,
    char *d, size_t e))
UNREACHED(long, policy_session_lifetime, (const struct policy *a,
    const char *b, const char *const *c, size_t d))
UNREACHED(void, policy_user_access, (const struct policy *a, const char *b,
    const char *const *c, size_t d, policy_name_cb e, void *f))
UNREACHED(long, policy_posture_max_age, (const struct policy *a))
UNREACHED(int, devcache_get, (struct devcache *a, const char *b, int *c,
    struct policy_posture *d))
UNREACHED(void, devcache_set_managed, (struct devcache *a, const char *b,
    int c))
UNREACHED(X509 *, certs_issue_session, (struct certs_issuer *a, EVP_PKEY *b,
    const char *c, const char *d, const char *const *e, size_t f, time_t g,
    time_t h, char *i, size_t j))

/* The body's password if it is a string holding '#'; caller frees. */
static char *
find_password(const char *body, size_t len)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *p = json_string_value(json_object_get(j, "password"));
	char *copy = NULL;

	if (p != NULL && strchr(p, '#') != NULL)
		copy = strdup(p);
	json_decref(j);
	return copy;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_ctx ctx = { .pam_service = "mwg", .now = 1790000000 };
	struct job_in in = { .method = HTTP_POST, .url = "/v1/login",
	    .content_type = "application/json", .authorization = "",
	    .cert_error = "no certificate presented", .source_ip = "192.0.2.1" };
	struct job_out out = { 0 };
	char *body, *dump;
	int status;

	if (size > JOB_BODY_MAX)
		return 0;
	if ((body = malloc(size + 1)) == NULL)
		abort();
	memcpy(body, data, size);
	body[size] = '\0';
	in.body = body;
	in.body_len = size;
	in.who = json_pack("{s:s}", "source.ip", in.source_ip);
	password = find_password(body, size);
	records = 0;

	login_job(&ctx, &in, &out);
	status = out.status;
	dump = json_dumps(out.json, JSON_COMPACT);
	if ((status != 400 && status != 401) || records != 1 || dump == NULL ||
	    !json_is_string(json_object_get(out.json, "error")) ||
	    !json_is_string(json_object_get(out.json, "reason")) ||
	    holds_password(dump))
		abort();
	free(dump);
	json_decref(out.json);
	json_decref(in.who);
	free(password);
	free(body);
	return 0;
}
