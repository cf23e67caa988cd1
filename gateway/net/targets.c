/*
 * GET /v1/targets on the worker. Each target is decided as a CONNECT to it
 * would be (the person and groups from the session certificate, the device
 * and its posture from the cache, the source address, now), and again
 * with a break-glass reason; only those allowed are listed, with what a
 * client needs to open them (kind, host, port), never their address. The
 * cost is two decisions per target in the policy, bounded by the policy,
 * and only a verified session certificate gets this far.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "gateway/net/conn.h"
#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/net/http_head.h"
#include "gateway/snapshot.h"
#include "gateway/net/targets.h"

struct targets_list {
	const struct policy *policy;
	json_t *arr;
	size_t n;
	int is_truncated;
};

static void
targets_add_cb(const struct policy_target *t, int only_break_glass,
    void *arg)
{
	struct targets_list *l = arg;
	const char *title = policy_practice_title(l->policy, t->practice);
	json_t *e;

	if (l->n >= TARGETS_ANSWER_MAX) {
		l->is_truncated = 1;
		return;
	}
	e = json_pack("{s:s, s:s, s:i, s:s, s:b}", "name", t->name,
	    "practice", t->practice,
	    "port", addr_port((const struct sockaddr *)&t->addr),
	    "kind", policy_kind_name(t->kind), "break_glass",
	    only_break_glass);
	if (t->host[0] != '\0')
		json_object_set_new(e, "host", json_string(t->host));
	if (title != NULL && title[0] != '\0')
		json_object_set_new(e, "practice_title", json_string(title));
	json_array_append_new(l->arr, e);
	l->n++;
}

/* Refused as CONNECT would be: a session, neither person nor device
 * locked. 0, or -1 answered. */
static int
targets_check(struct conn *c)
{
	struct denylist *deny = c->w->srv->deny;
	char why[DENYLIST_REASON_MAX + 64];
	time_t now = time(NULL);

	if (c->head->method != HTTP_GET) {
		conn_respond_error(c, 405, "method-not-allowed", "use GET for "
		    TARGETS_PATH);
		return -1;
	}
	if (!c->cert_ok) {
		conn_respond_error(c, 401, "certificate-required",
		    c->cert_error);
		return -1;
	}
	if (c->ident.kind != CERTS_KIND_SESSION) {
		conn_respond_error(c, 401, "session-required", "a device "
		    "certificate alone reaches nothing: log in first (mwg "
		    "login)");
		return -1;
	}
	if (deny && denylist_device(deny, c->ident.device_id, now, why,
	    sizeof(why))) {
		conn_respond_error(c, 403, "device-locked", "this device is "
		    "locked by IT; contact the service desk");
		return -1;
	}
	if (deny && denylist_user(deny, c->ident.user, now, why,
	    sizeof(why))) {
		conn_respond_error(c, 403, "user-locked", "your access is "
		    "locked by IT; contact the service desk");
		return -1;
	}
	return 0;
}

void
targets_answer(struct conn *c)
{
	char groups[CERTS_GROUPS_MAX][CERTS_GROUP_MAX];
	const char *gptrs[CERTS_GROUPS_MAX];
	struct policy_request req = { 0 };
	struct policy_posture posture;
	struct targets_list l = { 0 };
	struct gw_snapshot *snap;
	int n;

	if (targets_check(c) == -1)
		return;
	n = certs_session_groups(SSL_get0_peer_certificate(c->ssl), groups,
	    CERTS_GROUPS_MAX);
	for (int i = 0; i < n; i++)
		gptrs[i] = groups[i];
	req.user = c->ident.user;
	req.groups = gptrs;
	req.ngroups = n > 0 ? (size_t)n : 0;
	req.device_id = c->ident.device_id;
	if (c->w->srv->devices) {
		devcache_get(c->w->srv->devices, c->ident.device_id,
		    &req.device_managed, &posture);
		req.posture = posture.received_at ? &posture : NULL;
	}
	req.source = (const struct sockaddr *)&c->peer_sa;
	req.source_ip = c->peer_ip;
	req.target_name = req.practice = "";
	req.now = time(NULL);
	snap = snapshot_get();
	l.policy = snap->policy;
	l.arr = json_array();
	policy_reachable(snap->policy, &req, targets_add_cb, &l);
	snapshot_put(snap);
	conn_respond(c, 200, json_pack("{s:s, s:I, s:o, s:b}", "user",
	    c->ident.user, "at", (json_int_t)req.now, "targets", l.arr,
	    "truncated", l.is_truncated));
}
