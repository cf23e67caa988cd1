/*
 * The SSH forwarding threads. Each waits with one epoll set on its
 * mailbox, the sockets of the authenticated sessions handed to it
 * (round-robin, by the handshake threads) and the target sockets of their
 * tunnels, and services only the sessions something happened to: a
 * socket event, a message, or the once-a-second tick that applies locks,
 * idle limits and policy reloads. An idle tunnel costs no work between
 * ticks. libssh runs on each ready session through that session's own
 * ssh_event (see ssh_int.h for why not one shared). Nothing here blocks:
 * PAM and TOTP ran on the handshake thread, dials are non-blocking, and
 * records are appended, not awaited.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/errbuf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"
#include "gateway/ssh.h"
#include "gateway/ssh_int.h"

#define SSH_POLL_MS		1000	/* the tick's resolution */
#define SSH_IDLE_WAIT_MS	(60 * 1000)	/* the longest idle sleep */
#define SSH_READS_MAX		16	/* libssh rounds per ready session */
#define SSH_CUT_FLUSH		2	/* seconds a cut waits for output */
#define SSH_EVENTS_MAX		256	/* epoll events per wait */

/*
 * What an epoll event is about: its data is the descriptor (high 32
 * bits), a kind and the session's slot in the loop's table. A slot, not
 * a pointer: an event that outlives its session (a socket still open in
 * a forked child keeps its registration) finds an empty slot or another
 * live session, never freed memory; a spurious event costs one look.
 */
enum { SSH_EV_MBOX, SSH_EV_SESS, SSH_EV_TARGET, SSH_EV_LINGER };
#define SSH_EV_SLOT_BITS	28
#define SSH_EV_SLOT_MASK	((1u << SSH_EV_SLOT_BITS) - 1)

static int ssh_tick_posture(struct ssh_sess *ss);

/* ---- mailbox ------------------------------------------------------------ */

void
ssh_loop_post(struct ssh_loop *lp, struct ssh_msg *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&lp->lock);
	STAILQ_INSERT_TAIL(&lp->mbox, m, entry);
	pthread_mutex_unlock(&lp->lock);
	(void)!write(lp->mbox_fd, &one, sizeof(one));
}

void
ssh_loop_hand(struct ssh_listener *l, struct ssh_sess *ss)
{
	struct ssh_loop *lp = &l->loops[l->next_loop++ % (unsigned)l->nloops];
	struct ssh_msg *m = xcalloc(1, sizeof(*m));

	m->type = SSH_MSG_SESSION;
	m->sess = ss;
	ssh_loop_post(lp, m);
}

/* ---- requests other than direct-tcpip ----------------------------------- */

/* What a refused request was, for the record; NULL: refuse silently. */
static const char *
ssh_fwd_refusal(int type, int sub)
{
	switch (type) {
	case SSH_REQUEST_CHANNEL_OPEN:
		switch (sub) {
		case SSH_CHANNEL_SESSION:
			return "session channel (no shell, exec or subsystem "
			    "is served)";
		case SSH_CHANNEL_X11:
			return "X11 forwarding";
		case SSH_CHANNEL_AUTH_AGENT:
			return "agent forwarding";
		case SSH_CHANNEL_FORWARDED_TCPIP:
			return "forwarded-tcpip channel";
		default:
			return "unknown channel type";
		}
	case SSH_REQUEST_CHANNEL:
		return "channel request (shell, exec, subsystem, pty, env, "
		    "agent or X11)";
	case SSH_REQUEST_GLOBAL:
		return sub == SSH_GLOBAL_REQUEST_TCPIP_FORWARD ?
		    "remote forwarding (tcpip-forward)" : NULL;
	default:
		return NULL;
	}
}

/* libssh: every request of an authenticated session. */
static int
ssh_fwd_message_cb(ssh_session s, ssh_message msg, void *arg)
{
	struct ssh_sess *ss = arg;
	int type = ssh_message_type(msg), sub = ssh_message_subtype(msg);
	const char *what;

	if (ss->is_cutting)
		return 1;
	if (type == SSH_REQUEST_CHANNEL_OPEN && sub == SSH_CHANNEL_DIRECT_TCPIP)
		return ssh_tun_request(ss, msg);
	if ((what = ssh_fwd_refusal(type, sub)) != NULL) {
		log_info("ssh %llu: %s: %s: refused %s",
		    (unsigned long long)ss->id, ss->peer_ip, ss->user, what);
		audit_append(ss->l->srv->audit, "ssh.refuse", "failure",
		    ssh_sess_fields(ss, "only direct-tcpip channels to policy "
		    "targets are served", json_pack("{s:s}", "mwg.ssh_request",
		    what)));
	}
	return 1;
}

/* ---- the epoll set, its slots and the ready list ------------------------ */

static uint64_t
ssh_ev_data(int kind, uint32_t slot, int fd)
{
	return (uint64_t)(uint32_t)fd << 32 |
	    (uint64_t)kind << SSH_EV_SLOT_BITS | slot;
}

/*
 * Registers fd for want (0: not at all: epoll reports hang-ups and
 * errors whether asked or not, and one nobody acts on would wake the
 * loop for ever) when that differs from *have. -1 if epoll refused.
 */
static int
ssh_loop_arm(struct ssh_loop *lp, int fd, uint32_t *have, uint32_t want,
    uint64_t data)
{
	struct epoll_event ev = { .events = want, .data.u64 = data };
	int op;

	if (want == *have || fd == -1)
		return 0;
	op = want == 0 ? EPOLL_CTL_DEL : *have == 0 ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD;
	if (epoll_ctl(lp->epfd, op, fd, &ev) == -1) {
		/* A registration closed with its descriptor, or one made for
		 * the same descriptor before: the other operation. */
		if (op == EPOLL_CTL_MOD && errno == ENOENT)
			op = EPOLL_CTL_ADD;
		else if (op == EPOLL_CTL_ADD && errno == EEXIST)
			op = EPOLL_CTL_MOD;
		else if (op == EPOLL_CTL_DEL)
			op = -1;
		else
			goto fail;
		if (op != -1 && epoll_ctl(lp->epfd, op, fd, &ev) == -1)
			goto fail;
	}
	*have = want;
	return 0;
fail:
	log_warn("ssh loop %d: epoll_ctl %d", lp->idx, fd);
	return -1;
}

/* A slot for ss in lp's table: what its events carry. */
static void
ssh_slot_take(struct ssh_loop *lp, struct ssh_sess *ss)
{
	if (lp->nfree > 0)
		ss->slot = lp->free_slots[--lp->nfree];
	else {
		if (lp->nslots == lp->slotcap) {
			lp->slotcap = lp->slotcap ? 2 * lp->slotcap : 64;
			lp->slots = xreallocarray(lp->slots, lp->slotcap,
			    sizeof(*lp->slots));
			lp->free_slots = xreallocarray(lp->free_slots,
			    lp->slotcap, sizeof(*lp->free_slots));
		}
		ss->slot = lp->nslots++;
	}
	lp->slots[ss->slot] = ss;
}

static void
ssh_slot_give(struct ssh_loop *lp, struct ssh_sess *ss)
{
	lp->slots[ss->slot] = NULL;
	lp->free_slots[lp->nfree++] = ss->slot;
}

/* ss is serviced (swept, re-armed) at the end of this round. */
static void
ssh_sess_touch(struct ssh_sess *ss)
{
	ss->next_tick_ms = 0;	/* something happened: the next tick looks */
	if (ss->loop != NULL)
		ss->loop->next_tick_ms = 0;
	if (ss->is_ready || ss->loop == NULL)
		return;
	ss->is_ready = 1;
	TAILQ_INSERT_TAIL(&ss->loop->ready, ss, ready_entry);
}

/*
 * Stops watching the session's socket. Only while libssh still holds it:
 * a descriptor libssh closed was unregistered by the close, and its
 * number may already be another socket's.
 */
static void
ssh_sess_unwatch(struct ssh_sess *ss)
{
	if (ss->ep_fd != -1 && ssh_get_fd(ss->s) == ss->ep_fd)
		(void)epoll_ctl(ss->loop->epfd, EPOLL_CTL_DEL, ss->ep_fd, NULL);
	ss->ep_fd = -1;
	ss->ep_events = 0;
}

/*
 * After its service: what the session's socket and its tunnels' target
 * sockets are waited on for next (output libssh could not write yet,
 * SSH_WRITE_PENDING, waits for EPOLLOUT).
 */
static void
ssh_sess_arm(struct ssh_sess *ss)
{
	struct ssh_loop *lp = ss->loop;
	struct ssh_tun *t;
	uint32_t want = EPOLLIN;
	int fd = ssh_get_fd(ss->s);

	if (ss->ep_fd != -1 && fd != ss->ep_fd) {	/* libssh closed it */
		ss->ep_fd = -1;
		ss->ep_events = 0;
	}
	if (fd != -1) {
		if (ssh_get_poll_flags(ss->s) & SSH_WRITE_PENDING)
			want |= EPOLLOUT;
		ss->ep_fd = fd;
		(void)ssh_loop_arm(lp, fd, &ss->ep_events, want,
		    ssh_ev_data(SSH_EV_SESS, ss->slot, fd));
	}
	LIST_FOREACH(t, &ss->tuns, entry)
		if (ssh_loop_arm(lp, t->fd, &t->ep_events,
		    (uint16_t)t->fd_events,
		    ssh_ev_data(SSH_EV_TARGET, ss->slot, t->fd)) == -1) {
			ssh_tun_fail(t, "target-read-failed",
			    "cannot wait on the target's socket");
			ssh_sess_touch(ss);
		}
}

/* ---- sessions ----------------------------------------------------------- */

static void
ssh_sess_adopt(struct ssh_loop *lp, struct ssh_sess *ss)
{
	ss->loop = lp;
	ss->linger_fd = -1;
	ss->ep_fd = -1;
	ss->ep_events = 0;
	ss->idle_since = time(NULL);
	ssh_tick_posture(ss);	/* the report its decisions start from */
	ssh_set_blocking(ss->s, 0);
	ssh_set_message_callback(ss->s, ssh_fwd_message_cb, ss);
	if ((ss->ev = ssh_event_new()) == NULL ||
	    ssh_event_add_session(ss->ev, ss->s) != SSH_OK) {
		log_warnx("ssh %llu: cannot add the session to its loop",
		    (unsigned long long)ss->id);
		if (ss->ev != NULL)
			ssh_event_free(ss->ev);
		ss->ev = NULL;
		ssh_sess_free(ss);
		return;
	}
	TAILQ_INSERT_TAIL(&lp->sessions, ss, entry);
	ssh_slot_take(lp, ss);
	/* Read once at once: libssh may hold requests from the handshake. */
	ssh_sess_touch(ss);
	ss->is_readable = 1;
}

/*
 * The client's connection ended. ssh -W and ProxyJump clients often hang
 * up (or send SSH_MSG_DISCONNECT) instead of closing a finished channel,
 * and a TLS client that hangs up is a normal end too: completed, unless
 * the socket broke (a reset): client-connection-error. libssh's words are
 * the detail. The session goes after this round.
 */
static void
ssh_sess_gone(struct ssh_sess *ss)
{
	char err[160];
	const char *reason = "completed";
	struct ssh_tun *t;

	/* Copied first: closing channels overwrites libssh's error. */
	snprintf(err, sizeof(err), "%s", ssh_get_error(ss->s));
	if (strncmp(err, "Received SSH_MSG_DISCONNECT", 27) != 0 &&
	    strcmp(err, "Socket error: disconnected") != 0 && err[0] != '\0')
		reason = "client-connection-error";
	while ((t = LIST_FIRST(&ss->tuns)) != NULL) {
		if (t->client_eof && t->target_eof)
			ssh_tun_kill(t, "completed", NULL, 0);
		else
			ssh_tun_kill(t, reason, err[0] ? err :
			    "the client disconnected", 0);
	}
	log_debug("%s: ssh %llu: %s: client gone: %s", __func__,
	    (unsigned long long)ss->id, ss->user, err);
	ss->is_dead = 1;
}

/*
 * The gateway ends the whole session: every tunnel is recorded with
 * reason, and the client is sent SSH_MSG_DISCONNECT with told once what
 * libssh holds for it is flushed (ssh_loop_sweep), so that ssh exits
 * non-zero and prints why. No CHANNEL_CLOSE goes first: on one, ssh -W
 * exits 0 as if the target had finished.
 */
static void
ssh_sess_cut(struct ssh_sess *ss, const char *reason, const char *detail,
    const char *told)
{
	struct ssh_tun *t;

	if (ss->is_dead || ss->is_cutting)
		return;
	while ((t = LIST_FIRST(&ss->tuns)) != NULL)
		ssh_tun_kill(t, reason, detail, 1);
	snprintf(ss->cut_msg, sizeof(ss->cut_msg), "%s", told);
	ss->is_cutting = 1;
	ss->cut_deadline = time(NULL) + SSH_CUT_FLUSH;
	ssh_sess_touch(ss);
	log_debug("%s: ssh %llu: %s: %s", __func__, (unsigned long long)ss->id,
	    ss->user, told);
}

/*
 * The gateway ends one tunnel. The session's only one (ssh -W, ProxyJump):
 * the session ends with the reason told. Others stay: only this channel
 * closes (ssh -L's local connection drops, untold).
 */
static void
ssh_tun_cut(struct ssh_tun *t, const char *reason, const char *detail)
{
	char told[256];

	ssh_sess_touch(t->ss);
	if (LIST_FIRST(&t->ss->tuns) == t && LIST_NEXT(t, entry) == NULL) {
		ssh_tun_told(t, reason, detail, told, sizeof(told));
		ssh_sess_cut(t->ss, reason, detail, told);
		return;
	}
	ssh_tun_kill(t, reason, detail, 0);
}

/* The session's tunnel id, if this loop has it (mwgctl kill). */
static void
ssh_loop_kill(struct ssh_loop *lp, uint64_t id)
{
	struct ssh_sess *ss;
	struct ssh_tun *t;

	TAILQ_FOREACH(ss, &lp->sessions, entry)
		LIST_FOREACH(t, &ss->tuns, entry)
			if (t->id == id && t->state != SSH_TUN_DONE) {
				log_info("ssh %llu: tunnel %llu to %s killed by "
				    "an administrator", (unsigned long long)ss->id,
				    (unsigned long long)id, t->target);
				ssh_tun_cut(t, "killed-by-admin", NULL);
				return;
			}
}

static void
ssh_loop_mail(struct ssh_loop *lp)
{
	STAILQ_HEAD(, ssh_msg) q = STAILQ_HEAD_INITIALIZER(q);
	struct ssh_msg *m;

	pthread_mutex_lock(&lp->lock);
	STAILQ_CONCAT(&q, &lp->mbox);
	pthread_mutex_unlock(&lp->lock);
	while ((m = STAILQ_FIRST(&q)) != NULL) {
		STAILQ_REMOVE_HEAD(&q, entry);
		switch (m->type) {
		case SSH_MSG_SESSION:
			if (lp->quitting)
				ssh_sess_free(m->sess);
			else
				ssh_sess_adopt(lp, m->sess);
			break;
		case SSH_MSG_AUDITED:
			if (m->tun->ss != NULL) {
				ssh_sess_touch(m->tun->ss);
				ssh_tun_audited(m->tun, m->ok);
				break;
			}
			/* Its session went while the record was written. */
			lp->npending--;
			LIST_REMOVE(m->tun, entry);
			free(m->tun);
			break;
		case SSH_MSG_KILL:
			ssh_loop_kill(lp, m->id);
			break;
		case SSH_MSG_QUIT:
			lp->quitting = 1;
			break;
		}
		free(m);
	}
}

/* A cut session: its disconnect once its output is out (or too late),
 * then its socket lingers until the client closes (or SSH_LINGER). */
static void
ssh_sess_cut_now(struct ssh_sess *ss)
{
	uint32_t have = 0;

	if (((ssh_get_poll_flags(ss->s) & SSH_WRITE_PENDING) ||
	    !ssh_sess_writable(ss)) && time(NULL) < ss->cut_deadline)
		return;
	/* Before the copy ssh_sess_disconnect makes: a registration lives
	 * as long as any descriptor of the socket does. */
	ssh_sess_unwatch(ss);
	ss->linger_fd = ssh_sess_disconnect(ss, ss->cut_msg);
	ss->linger_until = time(NULL) + SSH_LINGER;
	ss->is_dead = 1;
	if (ss->linger_fd != -1 && ssh_loop_arm(ss->loop, ss->linger_fd, &have,
	    EPOLLIN, ssh_ev_data(SSH_EV_LINGER, ss->slot, ss->linger_fd)) == -1) {
		close(ss->linger_fd);
		ss->linger_fd = -1;
	}
}

/* 1 while a dead session's socket still lingers (ssh_sess_cut_now). */
static int
ssh_sess_lingers(struct ssh_sess *ss)
{
	if (ss->linger_fd == -1)
		return 0;
	if (ssh_linger_drain(ss->linger_fd) && time(NULL) < ss->linger_until)
		return 1;
	(void)epoll_ctl(ss->loop->epfd, EPOLL_CTL_DEL, ss->linger_fd, NULL);
	close(ss->linger_fd);
	ss->linger_fd = -1;
	return 0;
}

/* After a wait: its tunnels move on, or it goes; 1 if it was freed. */
static int
ssh_sess_service(struct ssh_loop *lp, struct ssh_sess *ss)
{
	struct ssh_tun *t, *tnext;

	/* Tunnels first: a channel closed in this round says so. */
	for (t = LIST_FIRST(&ss->tuns); t != NULL; t = tnext) {
		tnext = LIST_NEXT(t, entry);
		ssh_tun_sweep(t);
	}
	if (!ss->is_dead && !ssh_is_connected(ss->s))
		ssh_sess_gone(ss);
	else if (ss->is_cutting && !ss->is_dead)
		ssh_sess_cut_now(ss);
	if (!LIST_EMPTY(&ss->tuns))
		ss->idle_since = 0;
	else if (ss->idle_since == 0)
		ss->idle_since = time(NULL);
	if (!ss->is_dead || ssh_sess_lingers(ss))
		return 0;
	ssh_sess_unwatch(ss);
	ssh_slot_give(lp, ss);
	TAILQ_REMOVE(&lp->sessions, ss, entry);
	ssh_event_remove_session(ss->ev, ss->s);
	ssh_event_free(ss->ev);
	ss->ev = NULL;
	ssh_sess_free(ss);
	return 1;
}

/* The sessions something happened to this round, and only those. */
static void
ssh_loop_sweep(struct ssh_loop *lp)
{
	struct ssh_sess_list q = TAILQ_HEAD_INITIALIZER(q);
	struct ssh_sess *ss;

	TAILQ_CONCAT(&q, &lp->ready, ready_entry);
	while ((ss = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, ss, ready_entry);
		ss->is_ready = 0;
		ss->is_readable = 0;
		if (!ssh_sess_service(lp, ss) && !ss->is_dead)
			ssh_sess_arm(ss);
	}
}

/* ---- once a second: locks, idle limits, policy reloads ------------------ */

/*
 * A lock on the person or the device, or the device's revocation, ends the
 * whole session (user-locked, device-locked, device-revoked); the
 * denylist's words ("locked: REASON") are the detail.
 */
static int
ssh_tick_locks(struct ssh_sess *ss, time_t now)
{
	struct denylist *deny = ss->l->srv->deny;
	char r[DENYLIST_REASON_MAX], told[256];
	const char *reason;
	unsigned long gen;

	/* Nothing was locked or revoked since this session's last look:
	 * a lock can only have ended. Once a second for every session
	 * otherwise, with thousands idle. */
	if (deny == NULL || (gen = denylist_generation(deny)) == ss->deny_seen)
		return 0;
	ss->deny_seen = gen;
	if (denylist_device(deny, ss->device_id, now, r, sizeof(r)))
		reason = strncmp(r, "revoked", 7) == 0 ? "device-revoked" :
		    "device-locked";
	else if (denylist_user(deny, ss->user, now, r, sizeof(r)))
		reason = "user-locked";
	else
		return 0;
	log_info("ssh %llu: %s on %s cut off: %s: %s",
	    (unsigned long long)ss->id, ss->user, ss->device_id, reason, r);
	ssh_tun_told(NULL, reason, r, told, sizeof(told));
	ssh_sess_cut(ss, reason, r, told);
	return 1;
}

/*
 * Whether the device sent a posture report since the last look: by the
 * cache's count of reports, since two can arrive within one second.
 */
static int
ssh_tick_posture(struct ssh_sess *ss)
{
	unsigned long gen, all;

	if (ss->l->srv->devices == NULL)
		return 0;
	all = devcache_generation(ss->l->srv->devices);
	if (all == ss->devices_seen)
		return 0;
	ss->devices_seen = all;
	gen = devcache_posture_gen(ss->l->srv->devices, ss->device_id);
	if (gen == ss->posture_seen)
		return 0;
	ss->posture_seen = gen;
	return 1;
}

/*
 * Limits and decisions for each tunnel of ss. why: NULL, or the reason a
 * tunnel now denied closes with (policy-changed after a reload,
 * posture-failed after the device's report); the policy's reason is the
 * detail, and what the person is told.
 */
static void
ssh_tick_tunnels(struct ssh_sess *ss, struct gw_snapshot *snap,
    const char *why, time_t now)
{
	struct policy_decision d;
	struct ssh_tun *t, *next;

	for (t = LIST_FIRST(&ss->tuns); t != NULL && !ss->is_cutting;
	    t = next) {
		next = LIST_NEXT(t, entry);
		if (t->state == SSH_TUN_DONE)
			continue;
		if (t->state == SSH_TUN_OPEN && t->idle > 0 &&
		    ssh_now_ms() - t->last_active_ms >= t->idle * 1000) {
			ssh_tun_cut(t, "idle-timeout", NULL);
			continue;
		}
		/* SSH carries no break-glass reason: a deadline is the end of
		 * the role's hours. */
		if (t->deadline && now >= t->deadline) {
			ssh_tun_cut(t, "role-time-ended", NULL);
			continue;
		}
		if (why == NULL)
			continue;
		ssh_tun_decide(t, snap->policy, &d);
		if (d.allow)
			continue;
		snprintf(t->rule, sizeof(t->rule), "%s", d.rule);
		log_info("ssh %llu: tunnel to %s closed (%s): %s",
		    (unsigned long long)ss->id, t->target, why, d.reason);
		ssh_tun_cut(t, why, d.reason);
	}
}

/*
 * When the tick must look at ss again at the latest (CLOCK_MONOTONIC ms):
 * its first idle limit or role deadline. Traffic only moves these later,
 * and any event puts the session back to "next tick" (ssh_sess_touch), so
 * an early answer costs a look and a late one cannot happen.
 */
static int64_t
ssh_sess_next_ms(const struct ssh_sess *ss, const struct gw_config *c,
    time_t now, int64_t now_ms)
{
	int64_t next = INT64_MAX, at;
	const struct ssh_tun *t;

	if (ss->idle_since && c->timeout_idle > 0)
		next = now_ms + ((int64_t)ss->idle_since + c->timeout_idle -
		    now) * 1000;
	LIST_FOREACH(t, &ss->tuns, entry) {
		if (t->state != SSH_TUN_OPEN)
			return now_ms;	/* opening: every tick */
		if (t->idle > 0 && (at = t->last_active_ms + t->idle * 1000) <
		    next)
			next = at;
		if (t->deadline && (at = now_ms + ((int64_t)t->deadline -
		    now) * 1000) < next)
			next = at;
	}
	return next;
}

static void
ssh_loop_tick(struct ssh_loop *lp)
{
	time_t now = time(NULL);
	int64_t now_ms = ssh_now_ms();
	struct gw_snapshot *snap;
	struct ssh_sess *ss;
	unsigned long dgen, cgen;
	int redecide;

	if (now == lp->last_tick)
		return;
	lp->last_tick = now;
	snap = snapshot_get();
	redecide = snap->generation != lp->generation;
	lp->generation = snap->generation;
	dgen = lp->l->srv->deny ? denylist_generation(lp->l->srv->deny) : 0;
	cgen = lp->l->srv->devices ?
	    devcache_generation(lp->l->srv->devices) : 0;
	lp->next_tick_ms = INT64_MAX;
	TAILQ_FOREACH(ss, &lp->sessions, entry) {
		/* A cut waits for a deadline, a lingering close for its end. */
		if (ss->is_dead || ss->is_cutting) {
			ssh_sess_touch(ss);
			continue;
		}
		/* Idle and nothing changed: no lookup, no work. */
		if (!redecide && now_ms < ss->next_tick_ms &&
		    dgen == ss->deny_seen && cgen == ss->devices_seen)
			continue;
		if (ssh_tick_locks(ss, now))
			continue;
		if (ss->idle_since && snap->conf->timeout_idle > 0 &&
		    now - ss->idle_since >= snap->conf->timeout_idle) {
			ssh_sess_cut(ss, "idle-timeout", NULL, "mwg: closed: no "
			    "tunnel for the idle time limit");
			continue;
		}
		ssh_tick_tunnels(ss, snap, redecide ? "policy-changed" :
		    ssh_tick_posture(ss) ? "posture-failed" : NULL, now);
		if (!ss->is_cutting)
			ss->next_tick_ms = ssh_sess_next_ms(ss, snap->conf, now,
			    now_ms);
	}
	/* After the walk: a cut or a lookup above may have touched any. */
	TAILQ_FOREACH(ss, &lp->sessions, entry)
		if (ss->next_tick_ms < lp->next_tick_ms)
			lp->next_tick_ms = ss->next_tick_ms;
	snapshot_put(snap);
}

/* ---- the threads -------------------------------------------------------- */

/* One event: its session goes on the ready list, a target's readiness
 * is noted for the sweep (the session's tunnels are few). */
static void
ssh_loop_event(struct ssh_loop *lp, const struct epoll_event *e)
{
	uint64_t d = e->data.u64;
	int kind = (int)(d >> SSH_EV_SLOT_BITS) & 3, fd = (int)(d >> 32);
	uint32_t slot = (uint32_t)d & SSH_EV_SLOT_MASK;
	struct ssh_sess *ss;
	struct ssh_tun *t;
	uint64_t v;

	if (kind == SSH_EV_MBOX) {
		/* Mail, or ssh_listener_wake: the tick looks. */
		(void)!read(lp->mbox_fd, &v, sizeof(v));
		lp->next_tick_ms = 0;
		return;
	}
	if (slot >= lp->nslots || (ss = lp->slots[slot]) == NULL)
		return;
	ssh_sess_touch(ss);
	if (kind == SSH_EV_SESS)
		ss->is_readable = 1;
	else if (kind == SSH_EV_TARGET)
		LIST_FOREACH(t, &ss->tuns, entry)
			if (t->fd == fd) {
				t->revents |= (short)(e->events & (EPOLLIN |
				    EPOLLOUT | EPOLLERR | EPOLLHUP));
				break;
			}
}

/*
 * How long the wait may sleep: not at all while sessions wait for
 * service; up to the next second while the tick has something to look
 * at; else until the first idle limit or deadline of any session (a
 * minute at most). Idle sessions cost no wake-up: a change they are
 * decided on wakes the loop (ssh_listener_wake).
 */
static int
ssh_loop_timeout(const struct ssh_loop *lp)
{
	int64_t left;

	if (!TAILQ_EMPTY(&lp->ready))
		return 0;
	left = lp->next_tick_ms - ssh_now_ms();
	if (left <= SSH_POLL_MS)
		return SSH_POLL_MS;
	return left < SSH_IDLE_WAIT_MS ? (int)left : SSH_IDLE_WAIT_MS;
}

/*
 * Waits for the mailbox, the sessions' sockets and the targets (at most
 * ssh_loop_timeout); notes what is ready, then lets libssh read and flush
 * each ready session through its own event.
 */
static void
ssh_loop_wait(struct ssh_loop *lp)
{
	struct ssh_sess *ss;
	int n;

	n = epoll_wait(lp->epfd, lp->evs, SSH_EVENTS_MAX,
	    ssh_loop_timeout(lp));
	for (int i = 0; i < n; i++)
		ssh_loop_event(lp, &lp->evs[i]);
	/* libssh reads one small buffer per round: a few rounds in a row
	 * for a busy session, or each would cost a wait. */
	TAILQ_FOREACH(ss, &lp->ready, ready_entry)
		if (ss->is_readable && !ss->is_dead)
			for (int i = 0; i < SSH_READS_MAX &&
			    ssh_event_dopoll(ss->ev, 0) == SSH_OK; i++)
				continue;
}

static void *
ssh_loop_main(void *arg)
{
	struct ssh_loop *lp = arg;
	struct ssh_sess *ss;

	for (;;) {
		ssh_loop_wait(lp);
		ssh_loop_mail(lp);
		if (lp->quitting)
			TAILQ_FOREACH(ss, &lp->sessions, entry)
				ssh_sess_cut(ss, "shutdown", NULL, "mwg: the "
				    "gateway is restarting; connect again in a "
				    "minute");
		ssh_loop_tick(lp);
		ssh_loop_sweep(lp);
		if (lp->quitting && TAILQ_EMPTY(&lp->sessions) &&
		    lp->npending == 0)
			break;
	}
	return NULL;
}

static int
ssh_loop_init(struct ssh_listener *l, struct ssh_loop *lp, int idx)
{
	struct gw_snapshot *snap = snapshot_get();
	uint32_t have = 0;

	lp->idx = idx;
	lp->l = l;
	lp->generation = snap->generation;
	snapshot_put(snap);
	pthread_mutex_init(&lp->lock, NULL);
	STAILQ_INIT(&lp->mbox);
	TAILQ_INIT(&lp->sessions);
	TAILQ_INIT(&lp->ready);
	LIST_INIT(&lp->orphans);
	lp->evs = xcalloc(SSH_EVENTS_MAX, sizeof(*lp->evs));
	lp->mbox_fd = -1;
	if ((lp->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (lp->mbox_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    ssh_loop_arm(lp, lp->mbox_fd, &have, EPOLLIN,
	    ssh_ev_data(SSH_EV_MBOX, 0, lp->mbox_fd)) == -1)
		return -1;
	return 0;
}

int
ssh_loops_start(struct ssh_listener *l, int n, char *err, size_t errlen)
{
	l->loops = xcalloc((size_t)n, sizeof(*l->loops));
	for (int i = 0; i < n; i++) {
		if (ssh_loop_init(l, &l->loops[i], i) == -1) {
			errbuf_set(err, errlen, "cannot make SSH loop %d: %s",
			    i, strerror(errno));
			return -1;
		}
		if (pthread_create(&l->loops[i].thread, NULL, ssh_loop_main,
		    &l->loops[i]) != 0) {
			errbuf_set(err, errlen, "cannot start SSH thread %d", i);
			return -1;
		}
		l->nloops = i + 1;
	}
	return 0;
}

void
ssh_listener_wake(struct ssh_listener *l)
{
	uint64_t one = 1;

	if (l == NULL)
		return;
	for (int i = 0; i < l->nloops; i++)
		(void)!write(l->loops[i].mbox_fd, &one, sizeof(one));
}

void
ssh_loops_stop(struct ssh_listener *l)
{
	struct ssh_msg *m;

	for (int i = 0; i < l->nloops; i++) {
		m = xcalloc(1, sizeof(*m));
		m->type = SSH_MSG_QUIT;
		ssh_loop_post(&l->loops[i], m);
	}
	for (int i = 0; i < l->nloops; i++) {
		struct ssh_loop *lp = &l->loops[i];

		pthread_join(lp->thread, NULL);
		free(lp->evs);
		free(lp->slots);
		free(lp->free_slots);
		close(lp->epfd);
		close(lp->mbox_fd);
		while ((m = STAILQ_FIRST(&lp->mbox)) != NULL) {
			STAILQ_REMOVE_HEAD(&lp->mbox, entry);
			free(m);
		}
		pthread_mutex_destroy(&lp->lock);
	}
}
