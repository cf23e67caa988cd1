/*
 * Jobs: request handlers that may block (PAM, the state store, signing)
 * run on the auth pool, never on a worker's event loop. A worker copies
 * what the handler needs off the connection into a job_in, parks the
 * connection, and sends the job_out the handler filled once the pool hands
 * it back through the worker's mailbox.
 *
 * A handler is a plain function of (ctx, in) -> out: it can be unit-tested
 * without a network. It audits what it decided itself (ctx->audit), with
 * the connection's fields from in->who, and never puts a secret (password,
 * code, enrolment secret, key) into an answer, a log line or a record.
 */
#ifndef MWG_GW_JOB_H
#define MWG_GW_JOB_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certs/certs.h"

struct store;
struct audit_log;
struct policy;
struct denylist;
struct devcache;
struct server;

#define JOB_BODY_MAX	65536	/* request body bytes; more is a 413 */

/* What a handler may use. Everything here is safe from any thread. */
struct job_ctx {
	struct store *store;
	struct certs_issuer *issuer;	/* signs device and session certificates */
	X509 *root;			/* the root CA, for EST /cacerts */
	struct audit_log *audit;
	const struct policy *policy;	/* the snapshot's; held for the job */
	struct denylist *deny;		/* locks and revoked devices */
	struct devcache *devices;	/* managed flag, newest posture */
	struct server *srv;		/* for effects on live tunnels */
	const char *pam_service;	/* "mwg" */
	time_t now;
};

/* The request, copied off the connection: the handler owns nothing here. */
struct job_in {
	int method;			/* enum http_method */
	const char *url;
	const char *content_type;	/* "" if absent */
	const char *authorization;	/* "" if absent */
	const char *body;		/* NUL-terminated; body_len bytes */
	size_t body_len;
	int cert_ok;			/* the client certificate verified */
	const char *cert_error;		/* why not, if it did not */
	const struct certs_identity *ident;	/* valid if cert_ok */
	X509 *peer_cert;		/* NULL if none; not a new reference */
	const char *source_ip;
	json_t *who;			/* audit fields of the connection: copy
					   with json_deep_copy, never change */
};

/* The answer. Exactly one of json or raw is set (json if neither). */
struct job_out {
	int status;			/* HTTP status */
	json_t *json;			/* a JSON answer (reference owned) */
	char *raw;			/* or a raw one (malloc'd) ... */
	size_t raw_len;
	char content_type[96];		/* ... with its media type */
	long retry_after;		/* > 0: a Retry-After header (429) */
	const char *www_authenticate;	/* a 401's challenge, or NULL */
};

typedef void (*job_fn)(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out);

/* Fills out with {"error": code, "reason": reason} and status. */
void job_error(struct job_out *out, int status, const char *code,
    const char *reason);
/*
 * Audits action/outcome with in->who's fields, reason (may be NULL) and
 * extra (reference taken; may be NULL). Returns what audit_append does.
 */
int job_audit(const struct job_ctx *ctx, const struct job_in *in,
    const char *action, const char *outcome, const char *reason,
    json_t *extra);

#endif
