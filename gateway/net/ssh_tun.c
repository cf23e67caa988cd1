/*
 * One direct-tcpip channel of an authenticated SSH session: the policy
 * decision (the same inputs as a CONNECT), the dial, the tunnel.open record
 * made durable before the first byte moves, then bytes both ways with
 * flow control (the client's window one way, the target socket's buffer
 * the other), half-close, and one tunnel.close record with the bytes.
 * Everything runs on the session's forwarding thread; libssh callbacks
 * only move bytes to the target socket and set flags. Every libssh call
 * that may poll (channel read, write, EOF, close) happens in
 * ssh_tun_sweep, after the poll round, never inside a libssh callback:
 * libssh polls the session's ssh_event again from inside them.
 */
#include <sys/socket.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/net/conn.h"
#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"
#include "gateway/ssh_int.h"

/* ---- records ------------------------------------------------------------ */

static json_t *
ssh_tun_fields(const struct ssh_tun *t, const char *reason, json_t *extra)
{
	json_t *x = json_object();

	json_object_set_new(x, "tunnel.id", json_integer((json_int_t)t->id));
	if (t->practice[0])
		json_object_set_new(x, "organization.id",
		    json_string(t->practice));
	if (t->target[0])
		json_object_set_new(x, "destination.address",
		    json_string(t->target));
	if (t->port)
		json_object_set_new(x, "destination.port",
		    json_integer(t->port));
	if (t->backend[0])
		json_object_set_new(x, "destination.socket",
		    json_string(t->backend));
	if (t->rule[0])
		json_object_set_new(x, "rule.id", json_string(t->rule));
	if (extra) {
		json_object_update(x, extra);
		json_decref(extra);
	}
	return ssh_sess_fields(t->ss, reason, x);
}

static int
ssh_tun_audit(struct ssh_tun *t, const char *action, const char *outcome,
    const char *reason, json_t *extra)
{
	return audit_append(t->ss->l->srv->audit, action, outcome,
	    ssh_tun_fields(t, reason, extra));
}

static long long
ssh_elapsed_ms(const struct timespec *from)
{
	struct timespec now;

	if (from->tv_sec == 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	return (long long)(now.tv_sec - from->tv_sec) * 1000 +
	    (now.tv_nsec - from->tv_nsec) / 1000000;
}

/* ---- the listener's registry of open tunnels (for mwgctl kill) --------- */

static void
ssh_tun_register_open(struct ssh_tun *t)
{
	struct ssh_listener *l = t->ss->l;

	pthread_mutex_lock(&l->reg_lock);
	LIST_INSERT_HEAD(&l->open_tuns, t, reg_entry);
	t->is_registered = 1;
	pthread_mutex_unlock(&l->reg_lock);
}

static void
ssh_tun_unregister(struct ssh_tun *t)
{
	struct ssh_listener *l;

	if (!t->is_registered)
		return;
	l = t->ss->l;
	pthread_mutex_lock(&l->reg_lock);
	LIST_REMOVE(t, reg_entry);
	t->is_registered = 0;
	pthread_mutex_unlock(&l->reg_lock);
}

/*
 * A refused channel: recorded (error.code as a CONNECT's answer would
 * carry it, docs/audit.md), counted; the caller sends the refusal.
 */
static int
ssh_tun_deny(struct ssh_tun *t, const char *code, const char *reason)
{
	atomic_fetch_add(&t->ss->l->srv->n_denied, 1);
	ssh_tun_audit(t, "tunnel.deny", "failure", reason, json_pack("{s:s}",
	    "error.code", code));
	log_info("ssh %llu: %s: %s to %s denied: %s",
	    (unsigned long long)t->ss->id, t->ss->peer_ip, t->ss->user,
	    t->target, reason);
	free(t);
	return 1;
}

/* ---- the decision ------------------------------------------------------- */

void
ssh_tun_decide(const struct ssh_tun *t, const struct policy *p,
    struct policy_decision *d)
{
	const struct ssh_sess *ss = t->ss;
	struct policy_request req = { 0 };
	struct policy_posture posture;
	const char *gptrs[CERTS_GROUPS_MAX];

	for (int i = 0; i < ss->ngroups; i++)
		gptrs[i] = ss->groups[i];
	req.user = ss->user;
	req.groups = gptrs;
	req.ngroups = (size_t)ss->ngroups;
	req.device_id = ss->device_id;
	if (ss->l->srv->devices) {
		devcache_get(ss->l->srv->devices, ss->device_id,
		    &req.device_managed, &posture);
		req.posture = posture.received_at ? &posture : NULL;
	}
	req.source = (const struct sockaddr *)&ss->peer;
	req.source_ip = ss->peer_ip;
	req.target_name = t->name;
	req.practice = t->practice;
	req.port = t->port;
	req.now = time(NULL);
	policy_decide(p, &req, d);
}

/*
 * Locks and revocations since the session began: NULL, or the code
 * (device-revoked, device-locked, user-locked) with the denylist's words
 * ("locked: REASON") in why, as a CONNECT records them.
 */
static const char *
ssh_tun_locked(struct ssh_sess *ss, char *why, size_t len)
{
	struct denylist *deny = ss->l->srv->deny;
	time_t now = time(NULL);

	if (deny && denylist_device(deny, ss->device_id, now, why, len))
		return strncmp(why, "revoked", 7) == 0 ? "device-revoked" :
		    "device-locked";
	if (deny && denylist_user(deny, ss->user, now, why, len))
		return "user-locked";
	return NULL;
}

/* "name.practice" and the port into t; -1 if not a target's form. */
static int
ssh_tun_parse(struct ssh_tun *t, const char *dest, int port)
{
	char authority[2 * POLICY_NAME_MAX + 16];

	snprintf(t->target, sizeof(t->target), "%s", dest ? dest : "");
	t->port = port;
	if (dest == NULL || snprintf(authority, sizeof(authority), "%s:%d",
	    dest, port) >= (int)sizeof(authority) ||
	    tunnel_parse_authority(authority, t->name, t->practice,
	    &t->port) == -1) {
		t->practice[0] = '\0';
		return -1;
	}
	snprintf(t->target, sizeof(t->target), "%s.%s", t->name, t->practice);
	return 0;
}

/*
 * An IP address and port instead of a name (ssh -J with a HostName, or a
 * client that resolved the name): the one target the current policy
 * defines there, under its name, so that the decision, the records and
 * every re-decision are those of the name. 0, or -1 if dest is no address
 * or no single target is defined at it (t->target keeps dest).
 */
static int
ssh_tun_parse_addr(struct ssh_tun *t, const char *dest, int port)
{
	char authority[ADDR_STR_MAX];
	struct sockaddr_storage ss;
	struct gw_snapshot *snap;
	const struct policy_target *pt;
	socklen_t len;
	int n;

	if (dest == NULL || port < 1 || port > 65535)
		return -1;
	/* A bare IPv6 address gets the brackets addr_parse wants. */
	if (dest[0] != '[' && strchr(dest, ':') != NULL)
		n = snprintf(authority, sizeof(authority), "[%s]:%d", dest,
		    port);
	else
		n = snprintf(authority, sizeof(authority), "%s:%d", dest, port);
	if (n < 0 || (size_t)n >= sizeof(authority) ||
	    addr_parse(authority, &ss, &len) == -1)
		return -1;
	snap = snapshot_get();
	pt = policy_find_target_addr(snap->policy, (struct sockaddr *)&ss);
	if (pt != NULL) {
		snprintf(t->name, sizeof(t->name), "%s", pt->name);
		snprintf(t->practice, sizeof(t->practice), "%s", pt->practice);
		snprintf(t->target, sizeof(t->target), "%s.%s", pt->name,
		    pt->practice);
		t->port = port;
	}
	snapshot_put(snap);
	return pt != NULL ? 0 : -1;
}

/* ---- opening ------------------------------------------------------------ */

static void
ssh_tun_audited_cb(void *arg, int ok)
{
	struct ssh_tun *t = arg;
	struct ssh_msg *m = xcalloc(1, sizeof(*m));

	m->type = SSH_MSG_AUDITED;
	m->tun = t;
	m->ok = ok;
	ssh_loop_post(t->lp, m);
}

/* Connected: tunnel.open must be durable before any byte moves. */
static void
ssh_tun_record_open(struct ssh_tun *t)
{
	t->state = SSH_TUN_AUDITING;
	clock_gettime(CLOCK_REALTIME, &t->t_open);
	t->audit_pending = 1;
	t->open_recorded = 1;
	t->lp->npending++;
	if (audit_append_notify(t->ss->l->srv->audit, "tunnel.open", "success",
	    ssh_tun_fields(t, "allowed by policy", NULL), ssh_tun_audited_cb,
	    t) == -1) {
		t->audit_pending = 0;
		t->open_recorded = 0;
		t->lp->npending--;
		ssh_tun_fail(t, "audit-unavailable",
		    "the audit record could not be written");
	}
}

void
ssh_tun_audited(struct ssh_tun *t, int ok)
{
	t->audit_pending = 0;
	t->lp->npending--;
	if (t->state != SSH_TUN_AUDITING)
		return;
	if (!ok) {
		ssh_tun_fail(t, "audit-unavailable",
		    "the audit record could not be written");
		return;
	}
	atomic_fetch_add(&t->ss->l->srv->n_tunnels, 1);
	ssh_tun_register_open(t);
	t->state = SSH_TUN_OPEN;
	t->last_active_ms = ssh_now_ms();
	t->want_in = 1;
	t->want_out = 1;	/* client bytes may wait in libssh already */
}

/* The target could not be reached (record, and the channel goes). */
static void
ssh_tun_unreachable(struct ssh_tun *t, int err)
{
	char why[160];

	snprintf(why, sizeof(why), "cannot reach %s: %s", t->backend,
	    strerror(err));
	ssh_tun_audit(t, "tunnel.open", "failure", why, NULL);
	t->failed = 1;
	t->state = SSH_TUN_DONE;
}

static int
ssh_tun_dial(struct ssh_tun *t, const struct policy_target *pt)
{
	int fd, one = 1;

	fd = socket(pt->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&pt->addr, pt->addrlen) ==
	    -1 && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	t->fd = fd;
	return 0;
}

static void ssh_tun_callbacks(struct ssh_tun *t);

/* The decision and the dial; 0 with the channel accepted, 1 refused. */
static int
ssh_tun_admit(struct ssh_tun *t, ssh_message msg)
{
	struct gw_snapshot *snap = snapshot_get();
	struct policy_decision d;
	int e;

	ssh_tun_decide(t, snap->policy, &d);
	snprintf(t->rule, sizeof(t->rule), "%s", d.rule);
	if (!d.allow) {
		snapshot_put(snap);
		return ssh_tun_deny(t, d.target ? "forbidden" :
		    "unknown-target", d.reason);
	}
	t->idle = d.idle > 0 ? d.idle : snap->conf->timeout_idle;
	t->deadline = d.max_duration > 0 ? time(NULL) + d.max_duration : 0;
	snprintf(t->backend, sizeof(t->backend), "%s", d.target->addr_str);
	e = ssh_tun_dial(t, d.target) == -1 ? errno : 0;
	snapshot_put(snap);
	if (e != 0) {
		ssh_tun_unreachable(t, e);
		free(t);
		return 1;
	}
	if ((t->ch = ssh_message_channel_request_open_reply_accept(msg)) ==
	    NULL) {
		log_warnx("ssh %llu: cannot accept a channel",
		    (unsigned long long)t->ss->id);
		close(t->fd);
		free(t);
		return 0;
	}
	ssh_tun_callbacks(t);
	LIST_INSERT_HEAD(&t->ss->tuns, t, entry);
	t->state = SSH_TUN_DIALING;
	return 0;
}

int
ssh_tun_request(struct ssh_sess *ss, ssh_message msg)
{
	struct ssh_tun *t = xcalloc(1, sizeof(*t));
	char why[DENYLIST_REASON_MAX];
	const char *dest, *code;
	int port;

	t->id = server_next_id(ss->l->srv);
	t->ss = ss;
	t->lp = ss->loop;
	t->fd = -1;
	dest = ssh_message_channel_request_open_destination(msg);
	port = ssh_message_channel_request_open_destination_port(msg);
	if (ssh_tun_parse(t, dest, port) == -1 &&
	    ssh_tun_parse_addr(t, dest, port) == -1)
		return ssh_tun_deny(t, "bad-target", "the target must be "
		    "NAME.PRACTICE and a port, e.g. emis.K84001 port 443, or "
		    "the address and port of exactly one defined target");
	if ((code = ssh_tun_locked(ss, why, sizeof(why))) != NULL)
		return ssh_tun_deny(t, code, why);
	/* No tunnel that could not be recorded (e.g. the disk is full). */
	if (audit_failed(ss->l->srv->audit)) {
		log_warnx("ssh %llu: channel to %s refused: the audit trail "
		    "cannot be written", (unsigned long long)ss->id, t->target);
		free(t);
		return 1;
	}
	return ssh_tun_admit(t, msg);
}

/* ---- bytes -------------------------------------------------------------- */

void
ssh_tun_fail(struct ssh_tun *t, const char *reason, const char *detail)
{
	if (t->failed)
		return;
	t->failed = 1;
	t->reason = reason;
	snprintf(t->detail, sizeof(t->detail), "%s", detail ? detail : "");
}

/* Client bytes for the target; what is not taken stays in libssh. */
static int
ssh_tun_data_cb(ssh_session s, ssh_channel ch, void *data, uint32_t len,
    int is_stderr, void *arg)
{
	struct ssh_tun *t = arg;
	ssize_t w;

	if (is_stderr)
		return (int)len;	/* not part of a TCP stream */
	if (t->state != SSH_TUN_OPEN || t->plen > 0 || t->failed)
		return 0;
	w = write(t->fd, data, len);
	if (w == -1) {
		if (errno != EAGAIN && errno != EINTR) {
			ssh_tun_fail(t, "target-write-failed", strerror(errno));
			return (int)len;
		}
		w = 0;
	}
	if ((uint32_t)w < len)
		t->want_out = 1;
	t->bytes_up += (uint64_t)w;
	t->last_active_ms = ssh_now_ms();
	return (int)w;
}

static void
ssh_tun_eof_cb(ssh_session s, ssh_channel ch, void *arg)
{
	((struct ssh_tun *)arg)->client_eof = 1;
}

static void
ssh_tun_close_cb(ssh_session s, ssh_channel ch, void *arg)
{
	((struct ssh_tun *)arg)->remote_closed = 1;
}

static int
ssh_tun_wontblock_cb(ssh_session s, ssh_channel ch, uint32_t bytes, void *arg)
{
	if (bytes > 0)
		((struct ssh_tun *)arg)->want_in = 1;
	return 0;
}

static void
ssh_tun_callbacks(struct ssh_tun *t)
{
	t->cb.userdata = t;
	t->cb.channel_data_function = ssh_tun_data_cb;
	t->cb.channel_eof_function = ssh_tun_eof_cb;
	t->cb.channel_close_function = ssh_tun_close_cb;
	t->cb.channel_write_wontblock_function = ssh_tun_wontblock_cb;
	ssh_callbacks_init(&t->cb);
	ssh_set_channel_callbacks(t->ch, &t->cb);
}

/* Writes n bytes of buf to the target, keeping what it does not take. */
static int
ssh_tun_write_keep(struct ssh_tun *t, const char *buf, size_t n)
{
	ssize_t w = write(t->fd, buf, n);

	if (w == -1) {
		if (errno != EAGAIN && errno != EINTR) {
			ssh_tun_fail(t, "target-write-failed", strerror(errno));
			return -1;
		}
		w = 0;
	}
	t->bytes_up += (uint64_t)w;
	if ((size_t)w == n)
		return 0;
	t->pending = xmalloc(n - (size_t)w);
	memcpy(t->pending, buf + w, n - (size_t)w);
	t->plen = n - (size_t)w;
	t->poff = 0;
	return 1;
}

/* The target can take more: what we kept, then what waits in libssh. */
static void
ssh_tun_drain(struct ssh_tun *t)
{
	char buf[SSH_IO_CHUNK];
	ssize_t w;
	int n;

	if (t->plen > 0) {
		w = write(t->fd, t->pending + t->poff, t->plen - t->poff);
		if (w == -1) {
			if (errno != EAGAIN && errno != EINTR)
				ssh_tun_fail(t, "target-write-failed", strerror(errno));
			return;
		}
		t->bytes_up += (uint64_t)w;
		t->poff += (size_t)w;
		if (t->poff < t->plen)
			return;
		free(t->pending);
		t->pending = NULL;
		t->plen = t->poff = 0;
	}
	/* A few chunks a round, so one tunnel cannot starve the others;
	 * want_out stays set until libssh holds nothing more for us. */
	for (int i = 0; i < 8; i++) {
		n = ssh_channel_read_nonblocking(t->ch, buf, sizeof(buf), 0);
		if (n <= 0) {
			t->want_out = 0;
			return;
		}
		t->last_active_ms = ssh_now_ms();
		if (ssh_tun_write_keep(t, buf, (size_t)n) != 0)
			return;
	}
}

/* Target bytes for the client, as far as the client's window allows. */
static void
ssh_tun_read(struct ssh_tun *t)
{
	char buf[SSH_IO_CHUNK];
	uint32_t win = ssh_channel_window_size(t->ch);
	ssize_t n;

	if (t->target_eof)
		return;
	if (win == 0) {
		t->want_in = 0;
		return;
	}
	n = read(t->fd, buf, win < sizeof(buf) ? win : sizeof(buf));
	if (n > 0) {
		if (ssh_channel_write(t->ch, buf, (uint32_t)n) == SSH_ERROR) {
			/* libssh's words ("Remote channel is closed", ...). */
			ssh_tun_fail(t, "client-write-failed",
			    ssh_get_error(t->ss->s));
			return;
		}
		t->bytes_down += (uint64_t)n;
		t->last_active_ms = ssh_now_ms();
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		ssh_tun_fail(t, "target-read-failed", strerror(errno));
		return;
	}
	t->target_eof = 1;
	ssh_channel_send_eof(t->ch);
	t->eof_sent = 1;
}

/* The dial finished one way or the other. */
static void
ssh_tun_dialled(struct ssh_tun *t)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0) {
		ssh_tun_record_open(t);
		return;
	}
	ssh_tun_unreachable(t, err);
}

/* After the poll round: what the target socket was ready for. */
static void
ssh_tun_io(struct ssh_tun *t)
{
	short revents = t->revents;

	t->revents = 0;
	if (revents == 0 || t->failed)
		return;
	if (t->state == SSH_TUN_DIALING) {
		ssh_tun_dialled(t);
		return;
	}
	if (t->state != SSH_TUN_OPEN)
		return;
	if (revents & POLLOUT)
		ssh_tun_drain(t);
	if (!t->failed && (revents & (POLLIN | POLLHUP | POLLERR)))
		ssh_tun_read(t);
}

/* ---- after each poll round ---------------------------------------------- */

/* What the loop should poll the target socket for next round. */
static void
ssh_tun_register(struct ssh_tun *t)
{
	short want = 0;

	/*
	 * The client's WINDOW_ADJUST fires no libssh callback (write_wontblock
	 * follows only a drained socket), so a tunnel that used up the window
	 * looks at it again after every round; without this a download stopped
	 * for good after the client's first window (2 MiB for OpenSSH).
	 */
	if (t->state == SSH_TUN_OPEN && !t->want_in && !t->target_eof &&
	    ssh_channel_window_size(t->ch) > 0)
		t->want_in = 1;
	if (t->state == SSH_TUN_DIALING)
		want = POLLOUT;
	else if (t->state == SSH_TUN_OPEN) {
		if (t->want_in && !t->target_eof)
			want |= POLLIN;
		if (t->want_out || t->plen > 0)
			want |= POLLOUT;
	}
	t->fd_events = want;
}

void
ssh_tun_finish(struct ssh_tun *t, const char *reason, const char *detail)
{
	json_t *x;

	if (t->state == SSH_TUN_DONE && !t->open_recorded)
		return;
	if (t->open_recorded) {
		x = json_pack("{s:I, s:I, s:I}",
		    "network.bytes_up", (json_int_t)t->bytes_up,
		    "network.bytes_down", (json_int_t)t->bytes_down,
		    "event.duration_ms", (json_int_t)ssh_elapsed_ms(&t->t_open));
		if (detail && detail[0])
			json_object_set_new(x, "mwg.close_detail",
			    json_string(detail));
		ssh_tun_audit(t, "tunnel.close", "success", reason, x);
		t->open_recorded = 0;
		log_debug("%s: ssh %llu: tunnel %llu to %s closed: %s%s%s",
		    __func__, (unsigned long long)t->ss->id,
		    (unsigned long long)t->id, t->target, reason,
		    detail && detail[0] ? ": " : "", detail ? detail : "");
	}
	t->state = SSH_TUN_DONE;
}

/* Half-closes and closes as each side finishes; 1 once the tunnel is done. */
static int
ssh_tun_progress(struct ssh_tun *t)
{
	if (t->failed) {
		ssh_tun_finish(t, t->reason, t->detail);
		return 1;
	}
	/* The client ending its channel early is a normal end, as a TLS
	 * client that hangs up is (completed). */
	if (t->remote_closed) {
		ssh_tun_finish(t, "completed", t->client_eof && t->target_eof ?
		    NULL : "the client closed the channel first");
		return 1;
	}
	if (t->state != SSH_TUN_OPEN)
		return t->state == SSH_TUN_DONE;
	if (t->client_eof && !t->shut_wr && t->plen == 0 && !t->want_out) {
		shutdown(t->fd, SHUT_WR);
		t->shut_wr = 1;
	}
	/* Both sides said EOF: the server must close, or ssh -W hangs. */
	if (t->shut_wr && t->target_eof && !t->close_sent) {
		ssh_channel_close(t->ch);
		t->close_sent = 1;
	}
	return 0;
}

/*
 * Frees the tunnel's socket, channel and memory (or parks it). With
 * keep_channel the channel is left open for the session's disconnect to
 * end: a CHANNEL_CLOSE first would let ssh -W exit 0 as if all was well.
 */
static void
ssh_tun_release(struct ssh_tun *t, int keep_channel)
{
	ssh_tun_unregister(t);
	LIST_REMOVE(t, entry);
	if (t->fd != -1)
		close(t->fd);
	if (t->ch != NULL) {
		ssh_remove_channel_callbacks(t->ch, &t->cb);
		if (!keep_channel) {
			if (!t->close_sent)
				ssh_channel_close(t->ch);
			ssh_channel_free(t->ch);
		}
	}
	free(t->pending);
	t->ch = NULL;
	t->fd = -1;
	t->fd_events = 0;
	t->ss = NULL;
	/* The writer still holds t: free it when its answer arrives. */
	if (t->audit_pending)
		LIST_INSERT_HEAD(&t->lp->orphans, t, entry);
	else
		free(t);
}

int
ssh_tun_sweep(struct ssh_tun *t)
{
	ssh_tun_io(t);
	if (ssh_tun_progress(t)) {
		ssh_tun_release(t, 0);
		return 1;
	}
	ssh_tun_register(t);
	return 0;
}

/* Ends a tunnel now (session gone, lock, policy, timeout). */
void
ssh_tun_kill(struct ssh_tun *t, const char *reason, const char *detail,
    int keep_channel)
{
	ssh_tun_finish(t, reason, detail);
	ssh_tun_release(t, keep_channel);
}

/*
 * Words a person can act on, for SSH_MSG_DISCONNECT (OpenSSH prints them:
 * "Received disconnect from ...: mwg: ..."). The administrator's own lock
 * or revocation reason stays in the audit trail, as for TLS.
 */
void
ssh_tun_told(const struct ssh_tun *t, const char *reason, const char *detail,
    char *buf, size_t len)
{
	static const struct {
		const char *reason, *told;
	} words[] = {
		{ "user-locked", "your access is locked by IT; contact the "
		    "service desk" },
		{ "device-locked", "this device is locked by IT; contact the "
		    "service desk" },
		{ "device-revoked", "this device was revoked by IT; contact "
		    "the service desk" },
		{ "killed-by-admin", "an administrator closed it" },
		{ "idle-timeout", "no data moved for the idle time limit; "
		    "connect again" },
		{ "role-time-ended", "your role's hours for it have ended" },
		{ "shutdown", "the gateway is restarting; connect again in a "
		    "minute" },
	};
	char what[sizeof(t->target) + 16] = "connection";

	if (t != NULL && t->target[0])
		snprintf(what, sizeof(what), "tunnel to %s", t->target);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(reason, words[i].reason) == 0) {
			snprintf(buf, len, "mwg: %s closed: %s", what,
			    words[i].told);
			return;
		}
	/* policy-changed, posture-failed: the policy's own reason. */
	snprintf(buf, len, "mwg: %s closed (%s)%s%s", what, reason,
	    detail && detail[0] ? ": " : "", detail ? detail : "");
}
