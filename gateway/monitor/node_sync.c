/*
 * Several nodes on one PostgreSQL store: a thread that hears the changes
 * other nodes make (store_listen_wait) and applies each to this node's
 * denylist and device cache, and through them to its network process:
 * a lock, a revocation or a logout made anywhere closes this node's live
 * TLS and SSH tunnels of that person, device or session. After the
 * listening connection is made again it reloads the whole mirrored state
 * (notices sent meanwhile are lost); while it is down past the grace
 * period the node reports itself not ready to the load balancer.
 */
#include "gateway/monitor/node_sync.h"

#include <sys/eventfd.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/config.h"
#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/monitor/monitor.h"
#include "gateway/monitor/netctl.h"
#include "gateway/monitor/revoke.h"
#include "gateway/monitor/store.h"
#include "gateway/posture.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"
#include "gateway/state_mirror.h"

/* While listening, the thread wakes for a notice or its stop only. */
#define NS_WAIT_MS	(60 * 1000)

struct node_sync {
	struct server *srv;
	struct store_listener *l;
	pthread_t thread;
	int stop_fd;		/* an eventfd: written to stop the thread */
	atomic_int stop;
	int grace;		/* seconds down before "not ready" */
	int must_reload;	/* a notice may have been missed */
	int reloads;		/* done so far (the first is at start) */
	time_t down_since;	/* 0: the listener is connected */
	int said_not_ready;
};

/* A state.sync record: what another node changed, applied here. */
static void
ns_audit(struct node_sync *ns, const char *change, int is_user,
    const char *name, const char *reason, int closed)
{
	json_t *f = json_pack("{s:s, s:s, s:i}", "mwg.change", change,
	    is_user ? "user.name" : "device.id", name, "tunnels.closed",
	    closed);

	if (reason != NULL)
		json_object_set_new(f, "event.reason", json_string(reason));
	(void)audit_append(ns->srv->audit, "state.sync", "success", f);
}

/* The CRL again: a revocation or renewal elsewhere changes it. */
static void
ns_publish_crl(struct node_sync *ns)
{
	struct gw_snapshot *snap = snapshot_get();
	char err[256];

	if (revoke_publish(ns->srv, snap->conf->crl_path, err, sizeof(err)) ==
	    -1)
		log_warnx("node sync: the CRL was not updated: %s", err);
	snapshot_put(snap);
}

static int
ns_lock(struct node_sync *ns, const struct store_change *c, time_t now)
{
	struct server *srv = ns->srv;
	struct store_lock l;
	char err[STORE_ERR_MAX];
	int r, closed;

	r = store_lock_get(srv->store, c->is_user ? STORE_LOCK_USER :
	    STORE_LOCK_DEVICE, c->name, &l, err, sizeof(err));
	if (r == -1)
		return -1;
	if (r == 1 && (l.until == 0 || l.until > now)) {
		denylist_lock(srv->deny, c->is_user, c->name, l.until,
		    l.reason);
		closed = netctl_close_locked(c->is_user, c->name);
		ns_audit(ns, "lock", c->is_user, c->name, l.reason, closed);
	} else if (denylist_locked(srv->deny, c->is_user, c->name, now)) {
		denylist_unlock(srv->deny, c->is_user, c->name);
		ns_audit(ns, "unlock", c->is_user, c->name, NULL, 0);
	}
	return 0;
}

static int
ns_revoked_here(struct server *srv, const char *id)
{
	char why[DENYLIST_REASON_MAX + 16];

	return denylist_device(srv->deny, id, time(NULL), why,
	    sizeof(why)) == 1 && strncmp(why, "revoked", 7) == 0;
}

static int
ns_device(struct node_sync *ns, const struct store_change *c)
{
	struct server *srv = ns->srv;
	struct store_device d;
	char err[STORE_ERR_MAX];
	int r, closed;

	if ((r = store_device_get(srv->store, c->name, &d, err,
	    sizeof(err))) != 1)
		return r;	/* 0: gone, nothing to mirror */
	devcache_set_managed(srv->devices, d.id, d.is_managed);
	/* Once: a revoked device's row may change again (a renewal left
	 * behind, its managed flag), and it is revoked here already. */
	if (d.revoked_at != 0 && !ns_revoked_here(srv, d.id)) {
		denylist_revoke(srv->deny, d.id, d.revoke_reason);
		closed = netctl_close_whose(0, d.id, "device-revoked");
		ns_audit(ns, "revoke", 0, d.id, d.revoke_reason, closed);
	}
	ns_publish_crl(ns);
	return 0;
}

static int
ns_session(struct node_sync *ns, const struct store_change *c)
{
	struct server *srv = ns->srv;
	struct store_session s;
	char err[STORE_ERR_MAX];
	json_t *serials;
	int r, closed;

	if ((r = store_session_get(srv->store, c->name, &s, err,
	    sizeof(err))) != 1 || s.ended_at == 0)
		return r == -1 ? -1 : 0;
	denylist_session_end(srv->deny, s.serial, s.expires_at);
	serials = json_pack("[s]", s.serial);
	closed = netctl_close_serials(serials);
	json_decref(serials);
	ns_audit(ns, "session-end", 1, s.user, NULL, closed);
	return 0;
}

static int
ns_posture(struct node_sync *ns, const struct store_change *c)
{
	struct server *srv = ns->srv;
	struct policy_posture p;
	char *report, err[STORE_ERR_MAX];
	time_t at;
	int r;

	if ((r = store_posture_get(srv->store, c->name, &report, &at, err,
	    sizeof(err))) != 1)
		return r;
	r = posture_parse(report, strlen(report), &p, err, sizeof(err));
	free(report);
	if (r == -1) {
		log_warnx("node sync: device %s: stored posture report "
		    "skipped: %s", c->name, err);
		return 0;
	}
	p.received_at = at;
	devcache_set_posture(srv->devices, c->name, &p);
	netctl_redecide(c->name, "posture-failed");
	return 0;
}

/* store_change_fn: one change another node made. */
static void
ns_change(const struct store_change *c, void *arg)
{
	struct node_sync *ns = arg;
	int rc = 0;

	if (c->is_own || ns->must_reload)
		return;		/* applied already, or about to be */
	switch (c->kind) {
	case STORE_CHANGE_LOCK:
		rc = ns_lock(ns, c, time(NULL));
		break;
	case STORE_CHANGE_DEVICE:
		rc = ns_device(ns, c);
		break;
	case STORE_CHANGE_SESSION:
		rc = ns_session(ns, c);
		break;
	case STORE_CHANGE_POSTURE:
		rc = ns_posture(ns, c);
		break;
	}
	if (rc == -1) {
		log_warnx("node sync: a change to %s could not be read; "
		    "reloading the whole state", c->name);
		ns->must_reload = 1;
	}
}

static void
ns_collect(void *arg, json_t *op)
{
	json_array_append_new(arg, op);
}

/* Unlocks what this node holds locked and the store no longer does. */
static int
ns_drop_gone_locks(struct node_sync *ns, time_t now)
{
	json_t *ops = json_array(), *op;
	struct store_lock l;
	char err[STORE_ERR_MAX];
	size_t i;
	int r = 0, is_user;

	denylist_dump(ns->srv->deny, ns_collect, ops);
	json_array_foreach(ops, i, op) {
		const char *name = json_string_value(json_object_get(op,
		    "name"));

		if (strcmp(json_string_value(json_object_get(op, "op")),
		    "lock") != 0)
			continue;
		is_user = json_is_true(json_object_get(op, "user"));
		r = store_lock_get(ns->srv->store, is_user ? STORE_LOCK_USER :
		    STORE_LOCK_DEVICE, name, &l, err, sizeof(err));
		if (r == -1)
			break;
		if (r == 0 || (l.until != 0 && l.until <= now))
			denylist_unlock(ns->srv->deny, is_user, name);
	}
	json_decref(ops);
	return r == -1 ? -1 : 0;
}

/* Closes what op (from a fresh load) forbids; the number closed. */
static int
ns_cut(json_t *op, json_t *serials)
{
	const char *kind = json_string_value(json_object_get(op, "op"));
	const char *name = json_string_value(json_object_get(op, "name"));
	int is_user = json_is_true(json_object_get(op, "user"));

	if (strcmp(kind, "lock") == 0)
		return netctl_close_locked(is_user, name);
	if (strcmp(kind, "revoke") == 0)
		return netctl_close_whose(0, name, "device-revoked");
	if (strcmp(kind, "session-end") == 0)
		json_array_append_new(serials, json_string(name));
	return 0;
}

/* Reads the whole mirrored state again and applies it: 0, or -1. */
static int
ns_reload(struct node_sync *ns)
{
	struct server *srv = ns->srv;
	struct denylist *deny = denylist_new();
	struct devcache *devs = devcache_new();
	json_t *ops = json_array(), *serials = json_array(), *op;
	char err[STORE_ERR_MAX];
	int rc = -1, closed = 0;
	size_t i;

	if (denylist_load(deny, srv->store, err, sizeof(err)) == -1 ||
	    devcache_load(devs, srv->store, err, sizeof(err)) == -1 ||
	    ns_drop_gone_locks(ns, time(NULL)) == -1) {
		log_warnx("node sync: reload failed, trying again: %s", err);
		goto out;
	}
	denylist_dump(deny, ns_collect, ops);
	devcache_dump(devs, ns_collect, ops);
	json_array_foreach(ops, i, op) {
		(void)state_apply(srv->deny, srv->devices, op);
		closed += ns_cut(op, serials);
	}
	if (json_array_size(serials) > 0)
		closed += netctl_close_serials(serials);
	netctl_redecide(NULL, "posture-failed");
	ns_publish_crl(ns);
	if (ns->reloads++ > 0) {
		log_info("node sync: state reloaded from the store (%d "
		    "tunnels closed)", closed);
		(void)audit_append(srv->audit, "state.reload", "success",
		    json_pack("{s:i}", "tunnels.closed", closed));
	}
	ns->must_reload = 0;
	rc = 0;
out:
	json_decref(ops);
	json_decref(serials);
	denylist_free(deny);
	devcache_free(devs);
	return rc;
}

/* The listener's state, told to the log and to the load balancer. */
static void
ns_health(struct node_sync *ns, int up, const char *err)
{
	time_t now = time(NULL);
	char why[128];

	if (up) {
		if (ns->down_since != 0)
			log_info("node sync: listening again");
		if (ns->said_not_ready)
			netproc_set_not_ready(NULL);
		ns->down_since = 0;
		ns->said_not_ready = 0;
		return;
	}
	if (ns->down_since == 0) {
		ns->down_since = now;
		log_warnx("node sync: changes made on other nodes are not "
		    "heard: %s", err);
	}
	if (!ns->said_not_ready && ns->grace > 0 &&
	    now - ns->down_since >= ns->grace) {
		snprintf(why, sizeof(why), "the state store has been "
		    "unreachable for %d s", ns->grace);
		netproc_set_not_ready(why);
		ns->said_not_ready = 1;
	}
}

static void *
ns_thread(void *arg)
{
	struct node_sync *ns = arg;
	char err[STORE_ERR_MAX];
	int rc;

	while (!atomic_load(&ns->stop)) {
		rc = store_listen_wait(ns->l, ns->stop_fd, NS_WAIT_MS,
		    ns_change, ns, err, sizeof(err));
		ns_health(ns, rc != -1, err);
		if (rc == 1)
			ns->must_reload = 1;
		if (rc != -1 && ns->must_reload)
			(void)ns_reload(ns);
	}
	return NULL;
}

struct node_sync *
node_sync_start(struct server *srv, int grace)
{
	struct store_listener *l = store_listen_new(srv->store);
	struct node_sync *ns;

	if (l == NULL)
		return NULL;	/* SQLite: one node, nothing to hear */
	ns = xcalloc(1, sizeof(*ns));
	ns->srv = srv;
	ns->l = l;
	ns->grace = grace;
	if ((ns->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    pthread_create(&ns->thread, NULL, ns_thread, ns) != 0)
		fatalx("node sync: cannot start its thread");
	return ns;
}

void
node_sync_stop(struct node_sync *ns)
{
	if (ns == NULL)
		return;
	atomic_store(&ns->stop, 1);
	(void)!write(ns->stop_fd, &(uint64_t){ 1 }, sizeof(uint64_t));
	pthread_join(ns->thread, NULL);
	close(ns->stop_fd);
	store_listen_free(ns->l);
	free(ns);
}
