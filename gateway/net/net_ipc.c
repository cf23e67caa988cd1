/*
 * The monitor's messages to the network process (net/net_ipc.h): live
 * tunnels, state, reloads. The monitor is trusted here, but its messages
 * are still read field by field: a missing or mistyped field is an
 * error, never a crash. What this process asks is in net/net_ask.c.
 */
#include "gateway/net/net_ipc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certs.h"
#include "common/fbundle.h"
#include "common/log.h"
#include "gateway/net/conn.h"
#include "gateway/net/health.h"
#include "gateway/denylist.h"
#include "gateway/drain.h"
#include "gateway/devcache.h"
#include "gateway/ipc.h"
#include "gateway/metrics_int.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"
#include "gateway/ssh.h"
#include "gateway/state_mirror.h"
#include "gateway/monitor/store.h"

/* ---- the monitor's messages --------------------------------------------- */

static json_t *
net_sessions(struct server *srv)
{
	json_t *list = json_array();
	struct conn *c;

	pthread_mutex_lock(&srv->reg_lock);
	TAILQ_FOREACH(c, &srv->tunnels, gentry)
		json_array_append_new(list, json_pack(
		    "{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:i}",
		    "id", (json_int_t)c->id, "device", c->ident.device_id,
		    "user", c->ident.user, "source", c->peer_ip,
		    "target", c->target, "backend", c->backend,
		    "since", (json_int_t)c->t_open.tv_sec,
		    "bytes_up", (json_int_t)atomic_load(&c->bytes_up),
		    "bytes_down", (json_int_t)atomic_load(&c->bytes_down),
		    "worker", c->w->idx));
	pthread_mutex_unlock(&srv->reg_lock);
	ssh_listener_sessions(srv->ssh, list);
	return json_pack("{s:o}", "sessions", list);
}

/* 0 asked to close, -1 no such tunnel, -2 its worker is busy. */
static json_t *
net_kill(struct server *srv, json_t *msg)
{
	struct worker_msg m = { .type = WORKER_MSG_KILL };
	struct worker *w = NULL;
	long long id;
	struct conn *c;
	int rc = 0;

	if (ipc_int(msg, "id", 0, INT64_MAX, &id) == -1)
		return json_pack("{s:i}", "result", -1);
	pthread_mutex_lock(&srv->reg_lock);
	TAILQ_FOREACH(c, &srv->tunnels, gentry)
		if (c->id == (uint64_t)id)
			w = c->w;
	pthread_mutex_unlock(&srv->reg_lock);
	m.id = (uint64_t)id;
	snprintf(m.reason, sizeof(m.reason), "killed-by-admin");
	if (w == NULL && ssh_listener_kill(srv->ssh, (uint64_t)id) == -1)
		rc = -1;
	else if (w != NULL && worker_post(w, &m) == -1)
		rc = -2;
	return json_pack("{s:i}", "result", rc);
}

/* Asks every worker to close the person's or device's tunnels now. */
static json_t *
net_close_whose(struct server *srv, json_t *msg)
{
	const char *name = ipc_str(msg, "name", STORE_NAME_MAX - 1);
	const char *reason = ipc_str(msg, "reason", 63);
	struct worker_msg m = { 0 };
	struct conn *c;
	int is_user, n = 0;

	if (name == NULL || reason == NULL || ipc_bool(msg, "user",
	    &is_user) == -1)
		return json_pack("{s:i}", "closed", 0);
	m.type = is_user ? WORKER_MSG_CLOSE_USER : WORKER_MSG_CLOSE_DEVICE;
	pthread_mutex_lock(&srv->reg_lock);
	TAILQ_FOREACH(c, &srv->tunnels, gentry)
		if (strcmp(is_user ? c->ident.user : c->ident.device_id,
		    name) == 0)
			n++;
	pthread_mutex_unlock(&srv->reg_lock);
	n += ssh_listener_count_whose(srv->ssh, is_user, name);
	snprintf(m.name, sizeof(m.name), "%s", name);
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	for (int i = 0; i < srv->nworkers; i++)
		worker_post_always(&srv->workers[i], &m);
	return json_pack("{s:i}", "closed", n);
}

static int
serial_in(json_t *serials, const char *serial)
{
	size_t i;
	json_t *v;

	json_array_foreach(serials, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), serial) ==
		    0)
			return 1;
	return 0;
}

/* The tunnels of session certificates ended at logout close. */
static json_t *
net_close_serials(struct server *srv, json_t *msg)
{
	struct worker_msg m = { .type = WORKER_MSG_KILL };
	json_t *serials = json_object_get(msg, "serials");
	struct conn *c;
	int n = 0;

	if (!json_is_array(serials))
		return json_pack("{s:i}", "closed", 0);
	snprintf(m.reason, sizeof(m.reason), "session-ended");
	pthread_mutex_lock(&srv->reg_lock);
	TAILQ_FOREACH(c, &srv->tunnels, gentry)
		if (c->ident.kind == CERTS_KIND_SESSION &&
		    serial_in(serials, c->ident.serial)) {
			m.id = c->id;
			worker_post_always(c->w, &m);
			n++;
		}
	pthread_mutex_unlock(&srv->reg_lock);
	return json_pack("{s:i}", "closed", n);
}

static json_t *
net_counters(struct server *srv)
{
	json_t *hs = json_array();

	for (int i = 0; i < METRICS_HS_N; i++)
		json_array_append_new(hs, json_integer((json_int_t)
		    atomic_load(&metrics_c.handshakes[i])));
	const struct conn *c;
	int open = 0;

	pthread_mutex_lock(&srv->reg_lock);
	TAILQ_FOREACH(c, &srv->tunnels, gentry)
		open++;
	pthread_mutex_unlock(&srv->reg_lock);
	open += ssh_listener_count_open(srv->ssh);
	return json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:o, s:i}",
	    "workers", srv->nworkers,
	    "connections", (json_int_t)atomic_load(&srv->nconns),
	    "accepted", (json_int_t)atomic_load(&srv->n_accepted),
	    "refused", (json_int_t)atomic_load(&srv->n_refused),
	    "tunnels_opened", (json_int_t)atomic_load(&srv->n_tunnels),
	    "tunnels_denied", (json_int_t)atomic_load(&srv->n_denied),
	    "handshakes", hs, "open_tunnels", open);
}

/* A new configuration, parsed from the monitor's bundle. */
static json_t *
net_reload(json_t *msg)
{
	const char *path = ipc_str(msg, "conf_path", 4096);
	json_t *bundle = json_object_get(msg, "bundle");
	struct conf_errors errs = { 0 };
	struct gw_snapshot *s;
	json_t *r;

	if (path == NULL || !fbundle_valid(bundle))
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    "malformed reload");
	fbundle_serve(bundle);
	s = snapshot_load(path, &errs);
	fbundle_serve(NULL);
	if (s == NULL) {
		char *why = conf_errors_join(&errs);

		r = json_pack("{s:b, s:s}", "ok", 0, "error", why);
		free(why);
		conf_errors_clear(&errs);
		return r;
	}
	snapshot_install(s, NULL, 0);
	return json_pack("{s:b}", "ok", 1);
}

static void
net_redecide(struct server *srv, json_t *msg)
{
	const char *dev = ipc_str(msg, "device", STORE_NAME_MAX - 1);
	const char *why = ipc_str(msg, "why", 63);

	server_redecide_device(srv, dev, why ? why : "policy-changed");
	ssh_listener_wake(srv->ssh);
}

int
net_state_op(struct server *srv, json_t *op)
{
	int r = health_apply(op);

	if (r != 0)
		return r == 1 ? 0 : -1;
	if (state_apply(srv->deny, srv->devices, op) == -1)
		return -1;
	/* Idle SSH sessions are looked at only when woken. */
	ssh_listener_wake(srv->ssh);
	return 0;
}

void
net_ipc_handle(struct ipc *ch, int type, uint64_t id, int is_call,
    json_t *msg, void *arg)
{
	struct server *srv = arg;
	json_t *r = NULL;

	switch (type) {
	case IPC_STATE:
		if (net_state_op(srv, msg) == -1)
			log_warnx("net: a malformed state change was ignored");
		break;
	case IPC_REDECIDE: net_redecide(srv, msg); break;
	case IPC_RELOAD:
		r = net_reload(msg);
		ssh_listener_wake(srv->ssh);
		break;
	case IPC_SESSIONS: r = net_sessions(srv); break;
	case IPC_KILL: r = net_kill(srv, msg); break;
	case IPC_CLOSE_WHOSE: r = net_close_whose(srv, msg); break;
	case IPC_CLOSE_SERIALS: r = net_close_serials(srv, msg); break;
	case IPC_COUNTERS: r = net_counters(srv); break;
	case IPC_DRAIN: drain_activate(); break;
	default:
		log_warnx("net: unexpected message type %d", type);
		r = json_pack("{s:s}", "error", "unexpected message");
	}
	json_decref(msg);
	if (is_call)
		ipc_reply(ch, id, r ? r : json_object());
	else
		json_decref(r);
}
