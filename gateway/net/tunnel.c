/*
 * CONNECT name.practice:port — the tunnel's decision and its start. The
 * target name resolves only through policy (never to an address the client
 * chose); every refusal is answered with a reason and audited, and a
 * tunnel.open record is written before the first byte is forwarded.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/net/conn.h"
#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/net/http_head.h"
#include "gateway/snapshot.h"

static const char TUNNEL_OK[] = "HTTP/1.1 200 Connection established\r\n\r\n";

/* Refused: why goes to the audit record, told to the client. */
static void
tunnel_deny_told(struct conn *c, int status, const char *code,
    const char *why, const char *told)
{
	atomic_fetch_add(&c->w->srv->n_denied, 1);
	conn_audit(c, "tunnel.deny", "failure", why, json_pack("{s:i, s:s}",
	    "http.response.status_code", status, "error.code", code));
	conn_respond_error(c, status, code, told);
}

static void
tunnel_deny(struct conn *c, int status, const char *code, const char *reason)
{
	tunnel_deny_told(c, status, code, reason, reason);
}

/*
 * The target could not be reached: the audit record has the address and
 * the error; the client hears only which named target failed.
 */
static void
tunnel_fail(struct conn *c, int status, int err)
{
	char why[160], told[160];

	if (status == 504) {
		snprintf(why, sizeof(why), "%s did not answer within the "
		    "connect timeout", c->backend);
		snprintf(told, sizeof(told), "%s did not answer in time",
		    c->target);
	} else {
		snprintf(why, sizeof(why), "cannot reach %s: %s", c->backend,
		    strerror(err));
		snprintf(told, sizeof(told), "%s is unreachable", c->target);
	}
	conn_audit(c, "tunnel.open", "failure", why, NULL);
	conn_respond_error(c, status, status == 504 ? "target-timeout" :
	    "target-unreachable", told);
}

static int
tunnel_dial(struct conn *c, const struct policy_target *t, long timeout)
{
	int fd, one = 1;

	fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) == -1 &&
	    errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	c->bfd = fd;
	event_assign(&c->ev_brd, c->w->base, fd, EV_READ | EV_PERSIST,
	    tunnel_backend_cb, c);
	event_assign(&c->ev_bwr, c->w->base, fd, EV_WRITE | EV_PERSIST,
	    tunnel_backend_cb, c);
	c->state = CONN_DIALING;
	c->want = WANT_UP_BWR;
	conn_update_events(c);
	conn_set_timer(c, timeout);
	return 0;
}

/*
 * A tunnel needs a person: a session certificate (from `mwg login`), not a
 * device certificate alone; and neither the person nor the device may be
 * locked now. -1 if refused (answered and audited).
 */
static int
tunnel_check_person(struct conn *c)
{
	struct denylist *deny = c->w->srv->deny;
	char why[DENYLIST_REASON_MAX + 64];
	time_t now = time(NULL);

	if (c->ident.kind != CERTS_KIND_SESSION) {
		tunnel_deny(c, 401, "session-required", "a device certificate "
		    "alone opens no tunnel: log in first (mwg login)");
		return -1;
	}
	/* The administrator's reason goes to the audit trail, not to the
	 * person: they are told to ask IT. */
	if (deny && denylist_device(deny, c->ident.device_id, now, why,
	    sizeof(why))) {
		tunnel_deny_told(c, 403, "device-locked", why, "this device is "
		    "locked by IT; contact the service desk");
		return -1;
	}
	if (deny && denylist_user(deny, c->ident.user, now, why,
	    sizeof(why))) {
		tunnel_deny_told(c, 403, "user-locked", why, "your access is "
		    "locked by IT; contact the service desk");
		return -1;
	}
	return 0;
}

/* The groups the session certificate carries, for the decision. */
static size_t
tunnel_groups(struct conn *c, char (*groups)[CERTS_GROUP_MAX],
    const char **ptrs)
{
	int n = certs_session_groups(SSL_get0_peer_certificate(c->ssl), groups,
	    CERTS_GROUPS_MAX);

	for (int i = 0; i < n; i++)
		ptrs[i] = groups[i];
	return n > 0 ? (size_t)n : 0;
}

/*
 * The decision for c's tunnel under policy p, from what the connection
 * carries: who (session certificate), from where, to what, and a
 * break-glass reason if one was given. Used at CONNECT and again for every
 * open tunnel after a reload.
 */
void
tunnel_decide(struct conn *c, const struct policy *p, struct policy_decision *d)
{
	struct policy_request req = { 0 };
	struct policy_posture posture;
	char groups[CERTS_GROUPS_MAX][CERTS_GROUP_MAX];
	const char *gptrs[CERTS_GROUPS_MAX];
	char name[POLICY_NAME_MAX];
	const char *dot = strchr(c->target, '.');

	snprintf(name, sizeof(name), "%.*s", dot ? (int)(dot - c->target) : 0,
	    c->target);
	req.user = c->ident.user;
	req.ngroups = tunnel_groups(c, groups, gptrs);
	req.groups = gptrs;
	req.device_id = c->ident.device_id;
	if (c->w->srv->devices) {
		devcache_get(c->w->srv->devices, c->ident.device_id,
		    &req.device_managed, &posture);
		req.posture = posture.received_at ? &posture : NULL;
	}
	req.source = (const struct sockaddr *)&c->peer_sa;
	req.source_ip = c->peer_ip;
	req.break_glass = c->break_glass;
	req.target_name = name;
	req.practice = c->practice;
	req.port = c->port;
	req.now = time(NULL);
	policy_decide(p, &req, d);
}

/* A report-only role judged this request: record what it would have done. */
static void
tunnel_audit_report_only(struct conn *c, const struct policy_decision *d)
{
	if (!d->report_only)
		return;
	conn_audit(c, "policy.report_only", d->report_allow ? "success" :
	    "failure", d->report_reason, json_pack("{s:s, s:s, s:b}",
	    "mwg.report_rule", d->report_rule, "mwg.would", d->report_allow ?
	    "allow" : "deny", "mwg.enforced_allow", d->allow));
}

/*
 * A break-glass reason: printable, 1..200 characters. Anything else is
 * refused before the decision, so the audit trail never holds junk.
 */
static int
tunnel_take_break_glass(struct conn *c)
{
	const char *r = http_head_get(c->head, "Mwg-Break-Glass");
	size_t n;

	if (r == NULL)
		return 0;
	n = strlen(r);
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)r[i]))
			n = 0;
	if (n == 0 || n > 200) {
		tunnel_deny(c, 400, "bad-break-glass", "Mwg-Break-Glass must "
		    "give a reason of 1 to 200 printable characters");
		return -1;
	}
	c->break_glass = xstrdup(r);
	return 0;
}

/*
 * Limits from the deciding role: idle time, and a hard end (break-glass,
 * the end of its hours). No tunnel outlives the session certificate that
 * opened it (the role's max-session).
 */
static void
tunnel_apply_limits(struct conn *c, const struct policy_decision *d)
{
	if (d->idle > 0)
		c->timeout_idle = d->idle;
	c->deadline = d->max_duration > 0 ? time(NULL) + d->max_duration : 0;
	if (c->deadline == 0 || c->ident.not_after < c->deadline)
		c->deadline = c->ident.not_after;
	if (d->break_glass)
		log_warnx("ALERT: break-glass tunnel by %s on %s to %s from %s "
		    "(%s): %s", c->ident.user, c->ident.device_id, c->target,
		    c->peer_ip, d->rule, c->break_glass);
}

/* Checks the client certificate and the request; decides; dials. */
void
tunnel_connect(struct conn *c)
{
	struct policy_decision d;
	struct gw_snapshot *snap;
	char name[POLICY_NAME_MAX], practice[POLICY_NAME_MAX];
	int port;

	if (tunnel_parse_authority(c->head->url, name, practice, &port) == -1) {
		snprintf(c->target, sizeof(c->target), "%.*s",
		    (int)sizeof(c->target) - 1, c->head->url);
		tunnel_deny(c, 400, "bad-target", "CONNECT target must be "
		    "NAME.PRACTICE:PORT, e.g. emis.K84001:443");
		return;
	}
	snprintf(c->target, sizeof(c->target), "%s.%s", name, practice);
	snprintf(c->practice, sizeof(c->practice), "%s", practice);
	c->port = port;
	if (!c->cert_ok) {
		tunnel_deny(c, 401, "certificate-required", c->cert_error);
		return;
	}
	if (tunnel_check_person(c) == -1)
		return;
	/* No tunnel that could not be recorded (e.g. the disk is full). */
	if (audit_failed(c->w->srv->audit)) {
		conn_respond_error(c, 503, "audit-unavailable", "the audit "
		    "trail cannot be written; no tunnel without a record");
		return;
	}
	if (tunnel_take_break_glass(c) == -1)
		return;
	snap = snapshot_get();
	tunnel_decide(c, snap->policy, &d);
	snprintf(c->rule, sizeof(c->rule), "%s", d.rule);
	tunnel_audit_report_only(c, &d);
	if (!d.allow) {
		snapshot_put(snap);
		tunnel_deny(c, d.target ? 403 : 404, d.target ? "forbidden" :
		    "unknown-target", d.reason);
		return;
	}
	c->is_break_glass = d.break_glass;
	tunnel_apply_limits(c, &d);
	snprintf(c->backend, sizeof(c->backend), "%s", d.target->addr_str);
	if (tunnel_dial(c, d.target, snap->conf->timeout_connect) == -1) {
		snapshot_put(snap);
		tunnel_fail(c, 502, errno);
		return;
	}
	snapshot_put(snap);
}

static void
tunnel_register(struct conn *c)
{
	struct server *srv = c->w->srv;

	pthread_mutex_lock(&srv->reg_lock);
	TAILQ_INSERT_TAIL(&srv->tunnels, c, gentry);
	c->in_registry = 1;
	pthread_mutex_unlock(&srv->reg_lock);
	atomic_fetch_add(&srv->n_tunnels, 1);
}

/* Break-glass use stands out: high severity and the reason given. */
static json_t *
tunnel_open_extra(struct conn *c)
{
	if (!c->is_break_glass)
		return NULL;
	return json_pack("{s:i, s:s}", "event.severity", 9,
	    "mwg.break_glass_reason", c->break_glass);
}

/* Writer thread: hand the result back to the connection's own worker. */
static void
tunnel_audit_done(void *arg, int ok)
{
	struct conn *c = arg;
	struct worker_msg m = { .type = WORKER_MSG_AUDITED, .conn = c,
	    .ok = ok };

	worker_post_always(c->w, &m);
}

/*
 * The target answered. The decision must be on disk before the first
 * byte moves (DESIGN §7): the worker goes on serving others meanwhile.
 */
static void
tunnel_open(struct conn *c)
{
	struct audit_log *log = c->w->srv->audit;

	free(c->head);
	c->head = NULL;
	c->state = CONN_AUDITING;
	c->want = 0;
	conn_update_events(c);
	event_del(&c->ev_timer);
	c->audit_pending = 1;
	if (audit_append_notify(log, "tunnel.open", "success",
	    conn_audit_fields(c, c->is_break_glass ? "break-glass" :
	    "allowed by policy", tunnel_open_extra(c)), tunnel_audit_done,
	    c) == -1) {
		c->audit_pending = 0;
		tunnel_audited(c, 0);
	}
}

void
tunnel_audited(struct conn *c, int ok)
{
	if (!ok) {
		log_warnx("conn %llu: tunnel to %s refused: the audit record "
		    "could not be written", (unsigned long long)c->id,
		    c->target);
		conn_respond_error(c, 503, "audit-unavailable", "the audit "
		    "record could not be written; no tunnel without one");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &c->t_open);
	conn_touch(c);
	/* Bytes the client sent right behind the head are tunnel bytes. */
	atomic_fetch_add(&c->bytes_up, c->up.len - c->up.off);
	tunnel_register(c);
	c->state = CONN_OPEN;
	c->want = 0;
	/*
	 * The wipe of decrypted records (tls.c) guards the request phase:
	 * heads, passwords, codes. A tunnel's bytes pass through the splice
	 * buffers, which are reused, not wiped, so wiping OpenSSL's copy of
	 * them protects nothing and costs 6 % of an upload's CPU.
	 */
	SSL_clear_options(c->ssl, SSL_OP_CLEANSE_PLAINTEXT);
	/*
	 * A logout that came while this tunnel was being opened may have
	 * looked for it in the registry too early: the registry first, then
	 * the denylist here, so one of the two sees the other.
	 */
	if (c->w->srv->deny && denylist_session_ended(c->w->srv->deny,
	    c->ident.serial, time(NULL))) {
		conn_close(c, "session-ended");
		return;
	}
	conn_set_timer(c, c->deadline && c->deadline - time(NULL) <
	    c->timeout_idle ? (long)(c->deadline - time(NULL)) : c->timeout_idle);
	/* The 200 goes first; early client bytes sit in the up buffer. */
	conn_queue(c, TUNNEL_OK, sizeof(TUNNEL_OK) - 1);
	if (splice_down(c) == -1)
		return;
	splice_up(c);
}

static void
tunnel_dial_done(struct conn *c, short what)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (what & EV_TIMEOUT) {
		tunnel_fail(c, 504, 0);
		return;
	}
	if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		tunnel_fail(c, 502, err);
		return;
	}
	tunnel_open(c);
}

void
tunnel_backend_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if (c->state == CONN_DIALING) {
		c->want = 0;
		conn_update_events(c);
		tunnel_dial_done(c, what);
		return;
	}
	if (c->state != CONN_OPEN)
		return;
	if (what & EV_READ)
		splice_down(c);
	else
		splice_up(c);
}

/*
 * After a reload (or a device's new posture report), on each worker: every
 * tunnel (of that device) is decided again; those now denied close with
 * reason why, policy-changed or posture-failed, the rule that denied them
 * in the record; the rest keep flowing untouched.
 */
void
tunnel_redecide_all(struct worker *w, const char *device_id, const char *why)
{
	struct gw_snapshot *snap = snapshot_get();
	struct policy_decision d;
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, wentry);
		if (c->state != CONN_OPEN && c->state != CONN_DIALING &&
		    c->state != CONN_AUDITING)
			continue;
		if (device_id && strcmp(device_id, c->ident.device_id) != 0)
			continue;
		tunnel_decide(c, snap->policy, &d);
		if (d.allow)
			continue;
		snprintf(c->rule, sizeof(c->rule), "%s", d.rule);
		log_info("conn %llu: tunnel to %s closed (%s): %s",
		    (unsigned long long)c->id, c->target, why, d.reason);
		free(c->close_detail);
		c->close_detail = xstrdup(d.reason);	/* told to the client */
		conn_close(c, why);
	}
	snapshot_put(snap);
}
