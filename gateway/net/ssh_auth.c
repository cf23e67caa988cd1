/*
 * The handshake thread of one SSH connection: key exchange, then both
 * factors, in the order and with the records of POST /v1/login. First
 * publickey with the device key (enrolled, unrevoked, unexpired, not
 * locked, the person's own unless managed); then either a live session
 * certificate of that device for the same person (the MFA of mwg login,
 * reused until it expires) or keyboard-interactive: the password through
 * PAM and the TOTP code, with the throttle and the once-only rule shared
 * with HTTPS login, all checked by the monitor (monitor/ssh_verdict.c).
 * PAM may sleep: this thread serves one connection at a time, so no
 * other session waits for it. Refused attempts are counted (at
 * max-auth-tries the connection ends) and recorded once per connection.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit/audit.h"
#include "common/log.h"
#include "gateway/denylist.h"
#include "gateway/net/net_ipc.h"
#include "gateway/devcache.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"
#include "gateway/ssh_int.h"
#include "gateway/monitor/store.h"

#define SSH_ERR_MAX		256
#define SSH_REASON_MAX		768
#define SSH_PROMPT_PASSWORD	"Password: "
#define SSH_PROMPT_CODE		"Verification code: "

/* ---- records ------------------------------------------------------------ */

static void
ssh_auth_audit(struct ssh_sess *ss, const char *outcome, const char *why,
    json_t *x)
{
	if (x == NULL)
		x = json_object();
	if (ss->method)
		json_object_set_new(x, "mwg.auth_method",
		    json_string(ss->method));
	if (audit_append(ss->l->srv->audit, "ssh.auth", outcome,
	    ssh_sess_fields(ss, why, x)) == -1)
		log_warnx("ssh %llu: %s: ssh.auth record lost",
		    (unsigned long long)ss->id, ss->peer_ip);
}

/*
 * A connection's refusals, as one record: how many, which methods, and
 * the last reason (one connection once wrote 501 records in 0.4 s). Also
 * for a proven key that never gave its second factor (why says so).
 */
static void
ssh_auth_summary(struct ssh_sess *ss, const char *why)
{
	static const struct {
		unsigned bit;
		const char *name;
	} methods[] = {
		{ SSH_AUTH_METHOD_PASSWORD, "password" },
		{ SSH_AUTH_METHOD_PUBLICKEY, "publickey" },
		{ SSH_AUTH_METHOD_HOSTBASED, "hostbased" },
		{ SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive" },
		{ SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic" },
	};
	json_t *m = json_array();

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (ss->auth_methods & methods[i].bit)
			json_array_append_new(m, json_string(methods[i].name));
	ssh_auth_audit(ss, "failure", why, json_pack("{s:i, s:o}",
	    "mwg.auth_failures", ss->auth_failures, "mwg.auth_methods", m));
}

/*
 * A refused attempt: logged, counted for the connection's one record; at
 * max-auth-tries the connection ends (ssh_handshake disconnects).
 */
static void
ssh_auth_fail_method(struct ssh_sess *ss, unsigned method, const char *why)
{
	log_info("ssh %llu: %s: %s: refused: %s", (unsigned long long)ss->id,
	    ss->peer_ip, ss->user[0] ? ss->user : "-", why);
	ss->auth_failures++;
	ss->auth_methods |= method;
	snprintf(ss->auth_why, sizeof(ss->auth_why), "%s", why);
	if (ss->auth_failures >= ss->max_auth_tries)
		ss->is_auth_over = 1;
}

static void
ssh_auth_fail(struct ssh_sess *ss, const char *why)
{
	ssh_auth_fail_method(ss, ss->key_ok ? SSH_AUTH_METHOD_INTERACTIVE :
	    SSH_AUTH_METHOD_PUBLICKEY, why);
}

/* ---- the device key ----------------------------------------------------- */

/*
 * Whether key is an acceptable device key for user now: 0 with the device
 * filled in, or -1 with why (for the record).
 */
static int
ssh_auth_device(struct ssh_sess *ss, const char *user, ssh_key key,
    struct store_device *dev, char *why, size_t whylen)
{
	struct server *srv = ss->l->srv;
	char fpr[CERTS_FPR_MAX], err[SSH_ERR_MAX], reason[DENYLIST_REASON_MAX];
	time_t now = time(NULL);
	int rc;

	if (certs_user_valid(user) != 0) {
		snprintf(why, whylen, "user name not valid");
		return -1;
	}
	snprintf(ss->user, sizeof(ss->user), "%s", user);
	if (ssh_key_device_fpr(key, fpr, sizeof(fpr), err, sizeof(err)) == -1) {
		snprintf(why, whylen, "%s", err);
		return -1;
	}
	rc = net_ssh_device(srv, fpr, dev, err, sizeof(err));
	if (rc != 1) {
		snprintf(why, whylen, rc == 0 ? "key %.16s... is no enrolled "
		    "device's" : "store: %s", rc == 0 ? fpr : err);
		return -1;
	}
	snprintf(ss->device_id, sizeof(ss->device_id), "%s", dev->id);
	snprintf(ss->practice, sizeof(ss->practice), "%s", dev->practice);
	if (dev->revoked_at != 0) {
		snprintf(why, whylen, "device revoked: %s", dev->revoke_reason);
		return -1;
	}
	if (dev->expires_at != 0 && dev->expires_at <= now) {
		snprintf(why, whylen, "device certificate expired");
		return -1;
	}
	if (srv->deny && denylist_device(srv->deny, dev->id, now, reason,
	    sizeof(reason)) == 1) {
		snprintf(why, whylen, "device %s", reason);
		return -1;
	}
	if (!dev->is_managed && strcmp(dev->user, user) != 0) {
		snprintf(why, whylen, "personal device of %s", dev->user);
		return -1;
	}
	return 0;
}

/* The person's groups from NSS, for every decision of this session. */
static int
ssh_auth_groups(struct ssh_sess *ss)
{
	int n = net_ssh_groups(ss->l->srv, ss->user, ss->groups,
	    CERTS_GROUPS_MAX);

	if (n < 0)
		return -1;
	ss->ngroups = n;
	return 0;
}

/* Both factors passed: groups, the record, and the session is in. */
static int
ssh_auth_done(struct ssh_sess *ss, const char *why)
{
	if (ssh_auth_groups(ss) == -1) {
		ssh_auth_fail(ss, "no such user in NSS");
		return -1;
	}
	ss->is_authed = 1;
	if (ss->auth_failures > 0)
		ssh_auth_summary(ss, ss->auth_why);
	ssh_auth_audit(ss, "success", why, NULL);
	log_info("ssh %llu: %s: %s on %s authenticated (%s)",
	    (unsigned long long)ss->id, ss->peer_ip, ss->user, ss->device_id,
	    ss->method);
	return 0;
}

/*
 * The device key proved (signature checked): a live session of this
 * device for this person finishes authentication; otherwise the person
 * must answer keyboard-interactive.
 */
static int
ssh_auth_key_proven(struct ssh_sess *ss, const struct store_device *dev)
{
	struct server *srv = ss->l->srv;
	char err[SSH_ERR_MAX], reason[DENYLIST_REASON_MAX], why[SSH_REASON_MAX];
	time_t now = time(NULL);
	int rc;

	ss->key_ok = 1;
	if (srv->devices)
		devcache_set_managed(srv->devices, dev->id, dev->is_managed);
	rc = net_ssh_session_live(srv, dev->id, ss->user, err, sizeof(err));
	if (rc == -1)
		log_warnx("ssh %llu: session lookup: %s",
		    (unsigned long long)ss->id, err);
	if (rc != 1) {
		ssh_set_auth_methods(ss->s, SSH_AUTH_METHOD_INTERACTIVE);
		return SSH_AUTH_PARTIAL;
	}
	ss->method = "publickey+session";
	if (srv->deny && denylist_user(srv->deny, ss->user, now, reason,
	    sizeof(reason)) == 1) {
		snprintf(why, sizeof(why), "user %s", reason);
		ssh_auth_fail(ss, why);
		return SSH_AUTH_DENIED;
	}
	if (ssh_auth_done(ss, "device key and a live session") == -1)
		return SSH_AUTH_DENIED;
	return SSH_AUTH_SUCCESS;
}

/* libssh: a publickey request, probed (state NONE) or signed (VALID). */
static int
ssh_auth_pubkey_cb(ssh_session s, const char *user, struct ssh_key_struct *key,
    char state, void *arg)
{
	struct ssh_sess *ss = arg;
	struct store_device dev;
	char why[SSH_REASON_MAX];

	if (ss->key_ok || (state != SSH_PUBLICKEY_STATE_NONE &&
	    state != SSH_PUBLICKEY_STATE_VALID)) {
		ssh_auth_fail_method(ss, SSH_AUTH_METHOD_PUBLICKEY,
		    "another publickey after the device key");
		return SSH_AUTH_DENIED;
	}
	ss->method = "publickey";
	if (ssh_auth_device(ss, user, key, &dev, why, sizeof(why)) == -1) {
		/* Refused at the probe: the client never signs; one record. */
		ssh_auth_fail(ss, why);
		return SSH_AUTH_DENIED;
	}
	if (state == SSH_PUBLICKEY_STATE_NONE)
		return SSH_AUTH_SUCCESS;
	return ssh_auth_key_proven(ss, &dev);
}

/* ---- keyboard-interactive ----------------------------------------------- */

/* 1 (a refusal counted) if this person or address must wait. */
static int
ssh_throttled(struct ssh_sess *ss)
{
	char err[SSH_ERR_MAX], why[64];
	long wait;

	wait = net_ssh_throttle(ss->l->srv, ss->user, ss->peer_ip, err,
	    sizeof(err));
	if (wait == 0)
		return 0;
	if (wait > 0)
		snprintf(why, sizeof(why), "throttled (%ld s)", wait);
	else
		log_warnx("ssh %llu: throttle: %s", (unsigned long long)ss->id,
		    err);
	ssh_auth_fail(ss, wait > 0 ? why : "throttle error");
	return 1;
}

/*
 * The answers go to the monitor, which checks the password (PAM) and the
 * code (TOTP) with the throttle and the once-only rule, and always both
 * (the same work whichever is wrong; a right code with a wrong password
 * is spent). 0 accepted, -1 refused (recorded).
 */
static int
ssh_kbdint_check(struct ssh_sess *ss, const char *password, const char *code)
{
	char why[SSH_REASON_MAX];
	int warn;

	if (net_ssh_kbdint(ss->l->srv, ss->user, ss->peer_ip, password, code,
	    ssh_sess_fields(ss, NULL, NULL), why, sizeof(why), &warn) != 0) {
		if (warn)
			log_warnx("ssh %llu: cannot check: %s",
			    (unsigned long long)ss->id, why);
		ssh_auth_fail(ss, why);
		return -1;
	}
	return ssh_auth_done(ss, "device key, password and code");
}

/* The first keyboard-interactive request: throttled, or the prompts. */
static int
ssh_kbdint_start(struct ssh_sess *ss, ssh_message msg)
{
	static const char *prompts[2] = { SSH_PROMPT_PASSWORD,
	    SSH_PROMPT_CODE };
	char echo[2] = { 0, 0 };

	if (ssh_throttled(ss))
		return 1;
	if (ssh_message_auth_interactive_request(msg, "mwg",
	    "Your password, then the code from your authenticator app.", 2,
	    prompts, echo) != SSH_OK)
		return 1;
	return 0;
}

/* The answers to the prompts. 0 handled, 1 default refusal. */
static int
ssh_kbdint_answer(struct ssh_sess *ss, ssh_message msg)
{
	char password[SSH_ANSWER_MAX + 1], code[16];
	const char *a0, *a1;
	int rc;

	if (ssh_userauth_kbdint_getnanswers(ss->s) != 2 ||
	    (a0 = ssh_userauth_kbdint_getanswer(ss->s, 0)) == NULL ||
	    (a1 = ssh_userauth_kbdint_getanswer(ss->s, 1)) == NULL ||
	    strlen(a0) > SSH_ANSWER_MAX || strlen(a1) >= sizeof(code)) {
		ssh_auth_fail(ss, "malformed keyboard-interactive answers");
		return 1;
	}
	snprintf(password, sizeof(password), "%s", a0);
	snprintf(code, sizeof(code), "%s", a1);
	rc = ssh_kbdint_check(ss, password, code);
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(code, sizeof(code));
	if (rc == 0) {
		ssh_message_auth_reply_success(msg, 0);
		return 0;
	}
	if (++ss->kbdint_tries >= SSH_KBDINT_TRIES)
		ss->is_auth_over = 1;
	return 1;
}

/* libssh: every message the callbacks above do not take, before auth. */
static int
ssh_auth_message_cb(ssh_session s, ssh_message msg, void *arg)
{
	struct ssh_sess *ss = arg;
	const char *user;

	if (ssh_message_type(msg) != SSH_REQUEST_AUTH)
		return 1;
	if (ssh_message_subtype(msg) != SSH_AUTH_METHOD_INTERACTIVE ||
	    !ss->key_ok || ss->is_authed) {
		/* "none" asks what may follow (RFC 4252 §5.2): no attempt. */
		if (ssh_message_subtype(msg) != SSH_AUTH_METHOD_NONE)
			ssh_auth_fail_method(ss, (unsigned)ssh_message_subtype(
			    msg), "method not offered");
		return 1;
	}
	ss->method = "publickey+keyboard-interactive";
	if (ssh_message_auth_kbdint_is_response(msg))
		return ssh_kbdint_answer(ss, msg);
	/* The user of the second method must be the key's (RFC 4252 §5). */
	user = ssh_message_auth_user(msg);
	if (user == NULL || strcmp(user, ss->user) != 0) {
		log_debug("%s: ssh %llu: user '%s' after '%s'", __func__,
		    (unsigned long long)ss->id, user ? user : "(none)",
		    ss->user);
		ssh_auth_fail(ss, "keyboard-interactive for another user");
		return 1;
	}
	return ssh_kbdint_start(ss, msg);
}

/* ---- the thread --------------------------------------------------------- */

/*
 * max-auth-tries reached: the last refusal went out, then the reason.
 * The client may already have sent its next attempt: drained for at most
 * SSH_LINGER (this thread is the connection's own).
 */
static void
ssh_auth_linger(struct ssh_sess *ss)
{
	int fd = ssh_sess_disconnect(ss, "mwg: too many authentication "
	    "failures");
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	time_t until = time(NULL) + SSH_LINGER;

	while (fd != -1 && ssh_linger_drain(fd) && time(NULL) < until)
		poll(&pfd, 1, 200);
	if (fd != -1)
		close(fd);
}

/*
 * A key exchange that failed (no algorithm in common) leaves the client's
 * packets unread, and closing over unread data sends a reset, on which
 * the client's kernel drops our KEXINIT before ssh can say "no matching
 * cipher": half-close, read what came, and wait up to SSH_KEX_LINGER_MS
 * for the client's own close.
 */
static void
ssh_kex_linger(struct ssh_sess *ss)
{
	int fd = ssh_get_fd(ss->s);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int64_t until = ssh_now_ms() + SSH_KEX_LINGER_MS;
	char buf[4096];
	ssize_t n;

	if (fd < 0 || shutdown(fd, SHUT_WR) == -1)
		return;
	while (ssh_now_ms() < until && poll(&pfd, 1, 100) >= 0) {
		while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			continue;
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return;		/* the client closed too */
	}
}

/* Key exchange and the auth exchange; 0 once authenticated. */
static int
ssh_handshake(struct ssh_sess *ss)
{
	long timeout = SSH_KEX_TIMEOUT;
	ssh_event ev;
	int rc = -1;

	ssh_options_set(ss->s, SSH_OPTIONS_TIMEOUT, &timeout);
	/* Before the key exchange: the client's service request may arrive
	 * with its last packet, and nothing would answer a queued one. */
	ss->scb.userdata = ss;
	ss->scb.auth_pubkey_function = ssh_auth_pubkey_cb;
	ssh_callbacks_init(&ss->scb);
	ssh_set_server_callbacks(ss->s, &ss->scb);
	ssh_set_message_callback(ss->s, ssh_auth_message_cb, ss);
	ssh_set_auth_methods(ss->s, SSH_AUTH_METHOD_PUBLICKEY);
	if (ssh_handle_key_exchange(ss->s) != SSH_OK) {
		log_debug("%s: ssh %llu: %s: key exchange failed: %s",
		    __func__, (unsigned long long)ss->id, ss->peer_ip,
		    ssh_get_error(ss->s));
		ssh_kex_linger(ss);
		return -1;
	}
	atomic_store(&ss->is_kex_done, 1);
	if ((ev = ssh_event_new()) == NULL ||
	    ssh_event_add_session(ev, ss->s) != SSH_OK) {
		ssh_event_free(ev);
		return -1;
	}
	while (!ss->is_authed && !ss->is_auth_over &&
	    ssh_is_connected(ss->s) && !atomic_load(&ss->l->quitting) &&
	    ssh_now_ms() - ss->started_ms < ss->grace * 1000)
		if (ssh_event_dopoll(ev, 1000) == SSH_ERROR &&
		    !ssh_is_connected(ss->s))
			break;
	if (ss->is_auth_over && ssh_is_connected(ss->s))
		ssh_auth_linger(ss);
	if (ss->is_authed && ssh_is_connected(ss->s))
		rc = 0;
	ssh_event_remove_session(ev, ss->s);
	ssh_event_free(ev);
	return rc;
}

void *
ssh_handshake_main(void *arg)
{
	struct ssh_sess *ss = arg;
	struct ssh_listener *l = ss->l;
	uint64_t id = ss->id;
	char ip[sizeof(ss->peer_ip)];
	int rc = ssh_handshake(ss);

	/* ss may be freed or handed on below. */
	memcpy(ip, ss->peer_ip, sizeof(ip));

	pthread_mutex_lock(&l->hs_lock);
	TAILQ_REMOVE(&l->handshakes, ss, entry);
	/* Hand over under the lock: stop waits for this count first. */
	if (rc == 0 && !atomic_load(&l->quitting))
		ssh_loop_hand(l, ss);
	else {
		/* One record for the connection's refusals; a proven key
		 * without a second factor is a failed login too. */
		if (ss->auth_failures > 0)
			ssh_auth_summary(ss, ss->auth_why);
		else if (!ss->is_authed && ss->key_ok)
			ssh_auth_summary(ss, ss->is_reaped || ssh_now_ms() -
			    ss->started_ms >= ss->grace * 1000 ? "login grace "
			    "time passed" : "no second factor given");
		ssh_sess_free(ss);
	}
	l->nhandshakes--;
	log_debug("%s: ssh %llu: %s: unauthenticated connections now %d",
	    __func__, (unsigned long long)id, ip, l->nhandshakes);
	pthread_cond_broadcast(&l->hs_cond);
	pthread_mutex_unlock(&l->hs_lock);
	return NULL;
}
