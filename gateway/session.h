/*
 * A session certificate's own business with the gateway: ending it
 * (POST /v1/logout, from mwg logout) and hearing why the gateway cut its
 * tunnels (GET /v1/closed, from mwg connect).
 *
 * Why a tunnel was cut cannot travel in the tunnel: after CONNECT's 200
 * the stream is the target's bytes. So a cut is signalled by its form and
 * explained out of band. The gateway ends a tunnel it cuts (lock,
 * revocation, policy or posture, break-glass or role time, idle, kill,
 * logout, shutdown) without TLS close_notify: to the client that is a
 * truncated stream (RFC 8446 §6.1), never a clean end, so it knows to ask.
 * Before closing, the gateway notes the cut under the session
 * certificate's serial and the tunnel's TLS exporter value (RFC 5705,
 * label "EXPORTER-mwg-tunnel-id", 16 bytes), which both ends can compute
 * and no one else can. The client then asks GET /v1/closed with the same
 * session certificate and finds its tunnel's entry by that value. The
 * note is made before the socket is closed, so it is there by the time
 * the client sees the close. Notes live in memory only, a bounded ring
 * (SESSION_CLOSED_MAX entries, SESSION_CLOSED_KEEP seconds): a client
 * that asks another node, or too late, hears no reason and says so.
 */
#ifndef MWG_GW_SESSION_H
#define MWG_GW_SESSION_H

#include "gateway/job.h"

struct conn;

#define SESSION_EXPORTER_LABEL	"EXPORTER-mwg-tunnel-id"
#define SESSION_EXPORTER_LEN	16

/* POST /v1/logout on the auth pool: ends the sessions, closes tunnels. */
void session_logout_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out);

/*
 * 1 if a tunnel closed for reason was cut by the gateway (anything but
 * both ends finishing, or the client going away): it gets no
 * close_notify, and a session tunnel's cut is noted for GET /v1/closed.
 */
int session_is_cut(const char *reason);
/*
 * On the worker, in conn_close, before the TLS object is freed: notes
 * c's cut under its session certificate's serial. detail is the policy's
 * reason for a re-decision (may be NULL or "").
 */
void session_closed_note(struct conn *c, const char *reason,
    const char *detail);
/* GET /v1/closed on the worker: the session's noted cuts, newest first. */
void session_closed_answer(struct conn *c);

#endif
