/*
 * POST /v1/logout (gateway/session.h), in the monitor: the store ends
 * every live session of this person on this device, the denylist (and
 * its mirror in the network process) refuses their certificates, and
 * the network process closes their tunnels.
 */
#include "gateway/session.h"

#include <http_parser.h>

#include "common/log.h"
#include "gateway/denylist.h"
#include "gateway/monitor/netctl.h"
#include "gateway/monitor/store.h"

/*
 * The sessions a logout ended: serial to expiry. Collected under the
 * store's lock and given to the denylist after it (the denylist is never
 * waited for while the store is held: denylist_load takes them the other
 * way round).
 */
static int
session_ended_cb(const struct store_session *ss, void *arg)
{
	json_object_set_new(arg, ss->serial,
	    json_integer((json_int_t)ss->expires_at));
	return 0;
}

/*
 * Every live session of this person on this device ends, not only the one
 * presented: an earlier login's certificate, replaced on the device but
 * still valid, would otherwise keep the SSH listener's live-session path
 * open. The presented certificate is denied even if the store never knew
 * it. The denylist changes before tunnels close, so no new CONNECT slips
 * in between.
 */
void
session_logout_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out)
{
	json_t *ended = json_object(), *serials = json_array(), *v;
	char err[STORE_ERR_MAX];
	const char *serial;
	int n, closed;

	if (in->method != HTTP_POST) {
		job_error(out, 405, "method-not-allowed", "use POST for "
		    "/v1/logout");
		goto out;
	}
	if (!in->cert_ok) {
		job_error(out, 401, "certificate-required", in->cert_error);
		goto out;
	}
	if (in->ident->kind != CERTS_KIND_SESSION) {
		job_error(out, 401, "session-required", "log out with the "
		    "session certificate (mwg logout)");
		goto out;
	}
	n = store_session_end(ctx->store, in->ident->device_id,
	    in->ident->user, ctx->now, session_ended_cb, ended, err,
	    sizeof(err));
	if (n == -1) {
		log_warnx("logout of %s on %s: store: %s", in->ident->user,
		    in->ident->device_id, err);
		job_error(out, 500, "internal", "the session could not be "
		    "ended; try again");
		goto out;
	}
	if (json_object_get(ended, in->ident->serial) == NULL)
		json_object_set_new(ended, in->ident->serial,
		    json_integer((json_int_t)in->ident->not_after));
	json_object_foreach(ended, serial, v) {
		denylist_session_end(ctx->deny, serial,
		    (time_t)json_integer_value(v));
		json_array_append_new(serials, json_string(serial));
	}
	closed = ctx->srv ? netctl_close_serials(serials) : 0;
	job_audit(ctx, in, "session.end", "success", "mwg logout",
	    json_pack("{s:O, s:i}", "mwg.sessions_ended", serials,
	    "tunnels.closed", closed));
	out->status = 200;
	out->json = json_pack("{s:i, s:i}", "sessions_ended",
	    (int)json_array_size(serials), "tunnels_closed", closed);
out:
	json_decref(ended);
	json_decref(serials);
}

