/*
 * The small pieces every request handler shares: an error answer and an
 * audit record carrying the connection's fields.
 */
#include "gateway/job.h"

#include <stdio.h>

#include "audit/audit.h"

void
job_error(struct job_out *out, int status, const char *code,
    const char *reason)
{
	json_decref(out->json);
	out->status = status;
	out->json = json_pack("{s:s, s:s}", "error", code, "reason", reason);
}

int
job_audit(const struct job_ctx *ctx, const struct job_in *in,
    const char *action, const char *outcome, const char *reason,
    json_t *extra)
{
	json_t *f = in->who ? json_deep_copy(in->who) : json_object();

	return audit_append(ctx->audit, action, outcome,
	    audit_fields_add(f, reason, extra));
}
