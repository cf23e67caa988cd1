/*
 * POST /v1/posture: a device's report, bound to its key by the TLS client
 * certificate. Checked strictly (posture_parse), kept as the newest in the
 * store and the device cache, audited with the checks it fails, and the
 * device's live tunnels are decided again at once — a report that now
 * fails its role's profile closes them.
 */
#include "gateway/posture.h"
#include "gateway/monitor/netctl.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "gateway/devcache.h"
#include "gateway/server.h"
#include "gateway/monitor/store.h"

/* The checks a report fails in itself ("unknown" never counts as yes);
 * thresholds such as update age belong to the policy's profiles. */
json_t *
posture_failed(const struct policy_posture *p)
{
	json_t *f = json_array();

	if (p->disk_encryption != POLICY_YES)
		json_array_append_new(f, json_string("disk-encryption"));
	if (p->screen_lock != POLICY_YES)
		json_array_append_new(f, json_string("screen-lock"));
	if (p->firewall != POLICY_YES)
		json_array_append_new(f, json_string("firewall"));
	if (p->update_age_days < 0)
		json_array_append_new(f, json_string("os-updates-unknown"));
	if (p->security_updates > 0)
		json_array_append_new(f, json_string("security-updates"));
	return f;
}

static const char *
tri_text(enum policy_tri t)
{
	return t == POLICY_YES ? "yes" : t == POLICY_NO ? "no" : "unknown";
}

/* What the audit record keeps of the report: the facts, nothing more. */
static json_t *
posture_fields(const struct policy_posture *p, json_t *failed)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:o}",
	    "os.name", p->os_id, "os.version", p->os_version,
	    "posture.disk_encryption", tri_text(p->disk_encryption),
	    "posture.screen_lock", tri_text(p->screen_lock),
	    "posture.firewall", tri_text(p->firewall),
	    "posture.update_age_days", p->update_age_days,
	    "posture.security_updates", p->security_updates,
	    "mwg.client_version", p->client_version,
	    "posture.failed", failed);
}

/* The request itself, before the report is read. 0 or -1 (answered). */
static int
posture_check_request(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out)
{
	struct store_device dev;
	char err[STORE_ERR_MAX];
	int r;

	if (in->method != HTTP_POST) {
		job_error(out, 405, "method-not-allowed", "use POST for "
		    "/v1/posture");
		return -1;
	}
	if (!in->cert_ok) {
		job_error(out, 401, "certificate-required", in->cert_error);
		return -1;
	}
	if (strncasecmp(in->content_type, "application/json", 16) != 0) {
		job_error(out, 415, "unsupported-media-type", "send the report "
		    "as application/json");
		return -1;
	}
	if ((r = store_device_get(ctx->store, in->ident->device_id, &dev,
	    err, sizeof(err))) != 1 || dev.revoked_at != 0) {
		job_error(out, r == -1 ? 503 : 403, r == -1 ? "unavailable" :
		    "device-not-enrolled", r == -1 ? "the gateway cannot read "
		    "its state now; try again" : "this device is not enrolled "
		    "or is revoked");
		return -1;
	}
	if (in->body_len > POSTURE_MAX) {
		job_error(out, 413, "body-too-large", "a posture report is at "
		    "most 4 KiB");
		return -1;
	}
	return 0;
}

void
posture_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out)
{
	struct policy_posture p;
	char why[160], err[STORE_ERR_MAX];
	json_t *failed;

	if (posture_check_request(ctx, in, out) == -1)
		return;
	if (posture_parse(in->body, in->body_len, &p, why, sizeof(why)) ==
	    -1) {
		job_audit(ctx, in, "posture.report", "failure", why, NULL);
		job_error(out, 400, "bad-report", why);
		return;
	}
	p.received_at = ctx->now;
	if (store_posture_put(ctx->store, in->ident->device_id, in->body,
	    ctx->now, err, sizeof(err)) != 0) {
		job_error(out, 503, "unavailable", "the report could not be "
		    "stored; try again");
		return;
	}
	devcache_set_posture(ctx->devices, in->ident->device_id, &p);
	failed = posture_failed(&p);
	job_audit(ctx, in, "posture.report", json_array_size(failed) ?
	    "failure" : "success", NULL, posture_fields(&p,
	    json_incref(failed)));
	netctl_redecide(in->ident->device_id,
	    "posture-failed");
	out->status = 200;
	out->json = json_pack("{s:I, s:o, s:I}", "received_at",
	    (json_int_t)ctx->now, "failed", failed, "max_age",
	    (json_int_t)policy_posture_max_age(ctx->policy));
}
