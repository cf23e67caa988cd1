/*
 * Draining a node for maintenance (mwgctl drain): refuse what is new, let
 * what is open finish, then stop. The flag is read by the network
 * process's workers and SSH acceptor (the monitor sets it there with
 * IPC_DRAIN); the count (IPC_COUNTERS) and the end run on the monitor's
 * main loop, which the control socket also runs on. Ending breaks that loop, so mwgd stops
 * through the same path as SIGTERM (gateway.stop) and exits 0.
 */
#include "gateway/drain.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "common/log.h"
#include "gateway/monitor/netctl.h"
#include "gateway/monitor/notify.h"

static atomic_int drain_active;
static struct event *drain_timer;
static struct event_base *drain_base;
static struct server *drain_srv;
static time_t drain_since, drain_deadline;	/* wall clock, for people */
static int64_t drain_end_ms;			/* monotonic: the limit */
static long drain_uid;

static int64_t
drain_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
drain_is_active(void)
{
	return atomic_load(&drain_active);
}

void
drain_activate(void)
{
	atomic_store(&drain_active, 1);
}

/* The tunnels are the network process's: it counts them. */
int
drain_open_tunnels(struct server *srv)
{
	(void)srv;
	return netctl_open_tunnels();
}

static void
drain_end(const char *why, int left)
{
	log_info("drained (%s); stopping", why);
	audit_append(drain_srv->audit, "gateway.drained", "success", json_pack(
	    "{s:I, s:s, s:i, s:I}", "user.id", (json_int_t)drain_uid,
	    "event.reason", why, "tunnels.closed", left,
	    "event.duration_ms", (json_int_t)(time(NULL) - drain_since) * 1000));
	/* Freed from its own callback: this thread runs it, so no wait. */
	event_free(drain_timer);
	drain_timer = NULL;
	notify_stopping();
	event_base_loopbreak(drain_base);
}

static void
drain_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	int open = drain_open_tunnels(drain_srv);

	(void)fd;
	(void)what;
	(void)arg;
	if (open == 0)
		drain_end("every tunnel has ended", 0);
	else if (drain_now_ms() >= drain_end_ms)
		drain_end("the drain limit was reached", open);
}

static json_t *
drain_answer(struct server *srv, int is_new)
{
	return json_pack("{s:b, s:b, s:I, s:I, s:i}", "ok", 1, "already",
	    !is_new, "since", (json_int_t)drain_since, "deadline",
	    (json_int_t)drain_deadline, "open_tunnels",
	    drain_open_tunnels(srv));
}

int
drain_begin(struct server *srv, struct event_base *base, long long limit_s,
    long uid)
{
	struct timeval tick = { 0, DRAIN_TICK_MS * 1000 };

	if (drain_is_active() || limit_s < 1 || limit_s > DRAIN_LIMIT_MAX)
		return -1;
	drain_timer = event_new(base, -1, EV_PERSIST, drain_tick_cb, NULL);
	if (drain_timer == NULL || event_add(drain_timer, &tick) == -1) {
		drain_free();
		return -1;
	}
	drain_srv = srv;
	drain_base = base;
	drain_uid = uid;
	drain_since = time(NULL);
	drain_deadline = drain_since + limit_s;
	drain_end_ms = drain_now_ms() + limit_s * 1000;
	atomic_store(&drain_active, 1);
	netctl_drain();
	log_info("draining: new connections refused; stopping when the open "
	    "tunnels end, or in %llds", limit_s);
	audit_append(srv->audit, "admin.drain", "success", json_pack(
	    "{s:I, s:I, s:i}", "user.id", (json_int_t)uid, "mwg.drain_limit_s",
	    (json_int_t)limit_s, "tunnels.open", drain_open_tunnels(srv)));
	return 0;
}

json_t *
drain_control_handle(struct server *srv, struct event_base *base,
    const char *cmd, json_t *req, long uid)
{
	json_t *v = json_object_get(req, "limit_s");
	json_int_t limit = v ? json_integer_value(v) : DRAIN_LIMIT_DEFAULT;

	if (strcmp(cmd, "drain") != 0)
		return NULL;
	if (drain_is_active())
		return drain_answer(srv, 0);
	if ((v && !json_is_integer(v)) || limit < 1 || limit > DRAIN_LIMIT_MAX)
		return json_pack("{s:b, s:s}", "ok", 0, "error", "drain: "
		    "limit_s must be 1 to 86400 seconds");
	if (drain_begin(srv, base, (long long)limit, uid) == -1)
		return json_pack("{s:b, s:s}", "ok", 0, "error", "drain: "
		    "cannot start its timer");
	return drain_answer(srv, 1);
}

void
drain_free(void)
{
	if (drain_timer != NULL)
		event_free(drain_timer);
	drain_timer = NULL;
}
