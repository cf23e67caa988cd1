/*
 * Control requests of the cyber team's console (mwg-console): a login
 * checked here, because mwgd is the only writer of the state store that
 * holds the TOTP steps and the throttle, and notes that put each console
 * search, view, export and change in the audit trail naming the person.
 * A login may block (PAM), so it runs on a thread of its own and answers
 * through a pipe back on the main loop; the control loop never waits.
 */
#include "gateway/monitor/control.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "audit/audit.h"
#include "certs/certs.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/monitor/auth.h"
#include "gateway/denylist.h"
#include "gateway/monitor/login.h"
#include "gateway/snapshot.h"
#include "gateway/monitor/store.h"

#define CONSOLE_LOGINS_MAX	4	/* logins checked at once */
#define CONSOLE_ERR_MAX		256
#define CONSOLE_REASON_MAX	768
#define CONSOLE_FAILED_TEXT	"the user name, password or code is not right"
#define CONSOLE_NOTE_TEXT_MAX	512	/* bytes of one note field */

/* One login on its thread; freed on the main loop after it answers. */
struct console_login {
	struct control_client *cc;
	struct server *srv;
	pthread_t thread;
	int slot;
	char user[CERTS_ID_MAX];
	char password[LOGIN_PASSWORD_MAX + 1];
	char otp[LOGIN_OTP_MAX];
	char source[64];
	char pam_service[64];
	json_t *answer;
};

static struct console_login *cl_slots[CONSOLE_LOGINS_MAX];
static int cl_pipe[2] = { -1, -1 };
static struct event *cl_event;

static json_t *
cl_error(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* ---- the login, on its thread ------------------------------------------- */

static void
cl_audit(struct console_login *l, const char *outcome, const char *why,
    json_t *extra)
{
	json_t *f = extra ? extra : json_object();

	json_object_set_new(f, "user.name", json_string(l->user));
	if (l->source[0] != '\0')
		json_object_set_new(f, "source.ip", json_string(l->source));
	json_object_set_new(f, "event.reason", json_string(why));
	if (audit_append_sync(l->srv->audit, "console.login", outcome, f) == -1)
		log_warnx("console: login of %s: the audit trail refuses "
		    "records", l->user);
}

/* 0 if the person and the address may try now; else the answer is set. */
static int
cl_throttled(struct console_login *l, const char *const *keys)
{
	char err[CONSOLE_ERR_MAX], text[96];
	long wait;

	wait = auth_throttle_wait(l->srv->store, keys, 2, time(NULL), err,
	    sizeof(err));
	if (wait == 0)
		return 0;
	if (wait == -1) {
		log_warnx("console: throttle: %s", err);
		l->answer = cl_error("the gateway cannot check identities "
		    "right now");
		return -1;
	}
	cl_audit(l, "failure", "throttled", NULL);
	snprintf(text, sizeof(text), "too many failed attempts: try again "
	    "in %ld seconds", wait);
	l->answer = json_pack("{s:b, s:s, s:I}", "ok", 0, "error", text,
	    "retry_after", (json_int_t)wait);
	return -1;
}

/* A failure that is the person's: counted, audited, the one answer. */
static void
cl_failed(struct console_login *l, const char *const *keys, int pam_ok,
    int totp_wrong, const char *why)
{
	char err[CONSOLE_ERR_MAX];
	time_t now = time(NULL);

	if (auth_throttle_fail(l->srv->store, keys, 2, now, err,
	    sizeof(err)) == -1)
		log_warnx("console: throttle: %s", err);
	/* As for staff logins: only a wrong code with the right password
	 * counts towards disabling TOTP. */
	if (pam_ok && totp_wrong && auth_totp_failed(l->srv->store, l->user,
	    now, err, sizeof(err)) == 1)
		audit_append(l->srv->audit, "totp.disable", "success",
		    json_pack("{s:s, s:s}", "user.name", l->user,
		    "event.reason", "100 consecutive failures"));
	cl_audit(l, "failure", why, NULL);
	l->answer = cl_error(CONSOLE_FAILED_TEXT);
}

/* Both factors passed: the person's groups are the answer. */
static void
cl_success(struct console_login *l, const char *ukey)
{
	char groups[CERTS_GROUPS_MAX][CERTS_GROUP_MAX], err[CONSOLE_ERR_MAX];
	json_t *g;
	int n;

	if (auth_throttle_clear(l->srv->store, ukey, err, sizeof(err)) == -1)
		log_warnx("console: %s: %s", ukey, err);
	if ((n = auth_groups(l->user, groups, CERTS_GROUPS_MAX)) == -1) {
		cl_audit(l, "failure", "no such user in NSS", NULL);
		l->answer = cl_error(CONSOLE_FAILED_TEXT);
		return;
	}
	g = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(g, json_string(groups[i]));
	cl_audit(l, "success", "password and code accepted",
	    json_pack("{s:O}", "user.group.name", g));
	l->answer = json_pack("{s:b, s:s, s:o}", "ok", 1, "user", l->user,
	    "groups", g);
}

/* The password, then always the code too: the same work either way. */
static void
cl_check(struct console_login *l)
{
	char ukey[STORE_THROTTLE_KEY_MAX], ikey[STORE_THROTTLE_KEY_MAX];
	char pam_why[CONSOLE_ERR_MAX], totp_err[CONSOLE_ERR_MAX];
	char lock_reason[DENYLIST_REASON_MAX], why[CONSOLE_REASON_MAX];
	const char *keys[2] = { ukey, NULL }, *totp_why = "";
	int locked = 0, pam, totp;

	snprintf(ukey, sizeof(ukey), "user:%s", l->user);
	if (l->source[0] != '\0') {
		snprintf(ikey, sizeof(ikey), "ip:%s", l->source);
		keys[1] = ikey;
	}
	if (cl_throttled(l, keys) == -1)
		return;
	if (l->srv->deny != NULL)
		locked = denylist_user(l->srv->deny, l->user, time(NULL),
		    lock_reason, sizeof(lock_reason)) == 1;
	pam = auth_pam_check(l->pam_service, l->user, l->password, pam_why,
	    sizeof(pam_why));
	totp = auth_totp_check(l->srv->store, l->user, l->otp, time(NULL),
	    &totp_why, totp_err, sizeof(totp_err));
	OPENSSL_cleanse(l->password, sizeof(l->password));
	OPENSSL_cleanse(l->otp, sizeof(l->otp));
	snprintf(why, sizeof(why), "%s%s%s%s%s", locked ? "user locked" : "",
	    locked && (pam || totp) ? "; " : "", pam == 1 &&
	    strncmp(pam_why, "wrong password", 14) == 0 ? "wrong password" :
	    pam ? pam_why : "", pam && totp ? "; " : "", totp == -1 ?
	    totp_err : totp ? totp_why : "");
	if (locked || pam == 1 || totp == 1)
		cl_failed(l, keys, pam == 0, totp == 1, why);
	else if (pam == -1 || totp == -1) {
		log_warnx("console: cannot check %s: %s", l->user, why);
		cl_audit(l, "failure", why, NULL);
		l->answer = cl_error("the gateway cannot check identities "
		    "right now");
	} else
		cl_success(l, ukey);
}

static void *
cl_thread(void *arg)
{
	struct console_login *l = arg;

	cl_check(l);
	if (l->answer == NULL)
		l->answer = cl_error("internal error");
	/* A pointer is far below PIPE_BUF: the write is atomic. */
	if (write(cl_pipe[1], &l, sizeof(l)) != sizeof(l))
		log_warn("console: cannot hand a login back");
	return NULL;
}

/* Back on the main loop: answer, join, free. */
static void
cl_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct console_login *l;

	(void)what;
	(void)arg;
	while (read(fd, &l, sizeof(l)) == sizeof(l)) {
		pthread_join(l->thread, NULL);
		cl_slots[l->slot] = NULL;
		control_answer(l->cc, l->answer);
		OPENSSL_cleanse(l, sizeof(*l));
		free(l);
	}
}

/* Copies a string member of 1..size-1 bytes; -1 if absent or too long. */
static int
cl_member(json_t *req, const char *name, char *buf, size_t size, size_t min)
{
	json_t *v = json_object_get(req, name);
	size_t len;

	if (!json_is_string(v) || (len = json_string_length(v)) < min ||
	    len >= size)
		return -1;
	memcpy(buf, json_string_value(v), len + 1);
	return 0;
}

static json_t *
cl_login(struct server *srv, struct control_client *cc, json_t *req,
    int *later)
{
	struct gw_snapshot *snap;
	struct console_login *l;
	int slot = -1;

	for (int i = 0; i < CONSOLE_LOGINS_MAX; i++)
		if (cl_slots[i] == NULL)
			slot = i;
	if (cl_event == NULL || srv->store == NULL)
		return cl_error("console logins are not available");
	if (slot == -1)
		return cl_error("too many console logins at once; try again");
	l = xcalloc(1, sizeof(*l));
	if (cl_member(req, "user", l->user, sizeof(l->user), 1) == -1 ||
	    certs_user_valid(l->user) != 0 ||
	    cl_member(req, "password", l->password, sizeof(l->password),
	    1) == -1 || cl_member(req, "otp", l->otp, sizeof(l->otp), 0) ||
	    (json_object_get(req, "source") != NULL && cl_member(req,
	    "source", l->source, sizeof(l->source), 1) == -1)) {
		OPENSSL_cleanse(l, sizeof(*l));
		free(l);
		return cl_error("console-login: user, password, otp (strings) "
		    "and an optional source are needed");
	}
	snap = snapshot_get();
	snprintf(l->pam_service, sizeof(l->pam_service), "%s",
	    snap && snap->conf->pam_service ? snap->conf->pam_service :
	    AUTH_PAM_SERVICE);
	snapshot_put(snap);
	l->cc = cc;
	l->srv = srv;
	l->slot = slot;
	if (pthread_create(&l->thread, NULL, cl_thread, l) != 0) {
		OPENSSL_cleanse(l, sizeof(*l));
		free(l);
		return cl_error("cannot start the login check");
	}
	cl_slots[slot] = l;
	*later = 1;
	return NULL;
}

/* ---- notes: what a console user did ------------------------------------- */

/* What a console may have recorded; the console user is always named. */
static const char *const cl_note_actions[] = {
	"console.export",
	"console.kill",
	"console.lock",
	"console.logout",
	"console.search",
	"console.unlock",
	"console.view",
};

static int
cl_note_action_valid(const char *a)
{
	for (size_t i = 0; a != NULL && i < sizeof(cl_note_actions) /
	    sizeof(cl_note_actions[0]); i++)
		if (strcmp(a, cl_note_actions[i]) == 0)
			return 1;
	return 0;
}

/*
 * {"cmd":"console-note","action":A,"console_user":U,"outcome":O,
 *  "fields":{...}}: recorded durably before the console shows anything.
 * Only string and integer fields under "console." or "audit." are kept
 * besides a fixed few, so a console cannot forge another record's shape.
 */
static json_t *
cl_note(struct server *srv, json_t *req, long uid)
{
	const char *action = json_string_value(json_object_get(req, "action"));
	const char *user = json_string_value(json_object_get(req,
	    "console_user"));
	const char *outcome = json_string_value(json_object_get(req,
	    "outcome"));
	json_t *fields = json_object_get(req, "fields"), *v, *f;
	const char *k;

	if (!cl_note_action_valid(action))
		return cl_error("console-note: unknown action");
	if (user == NULL || certs_user_valid(user) != 0)
		return cl_error("console-note: console_user is not a valid "
		    "user name");
	if (outcome == NULL)
		outcome = "success";
	if (strcmp(outcome, "success") && strcmp(outcome, "failure"))
		return cl_error("console-note: outcome is success or failure");
	if (fields != NULL && !json_is_object(fields))
		return cl_error("console-note: fields must be an object");
	f = json_pack("{s:s, s:I}", "user.name", user, "user.id",
	    (json_int_t)uid);
	json_object_foreach(fields, k, v) {
		if (strncmp(k, "console.", 8) && strncmp(k, "audit.", 6) &&
		    strcmp(k, "event.reason") && strcmp(k, "tunnel.id") &&
		    strcmp(k, "source.ip"))
			continue;
		if (json_is_integer(v) || (json_is_string(v) &&
		    json_string_length(v) <= CONSOLE_NOTE_TEXT_MAX) ||
		    (json_is_object(v) && strcmp(k, "audit.filter") == 0))
			json_object_set(f, k, v);
	}
	if (audit_append_sync(srv->audit, action, outcome, f) == -1)
		return cl_error("the audit trail cannot be written now");
	return json_pack("{s:b}", "ok", 1);
}

/* ---- dispatch and life -------------------------------------------------- */

json_t *
control_console_handle(struct server *srv, struct control_client *cc,
    const char *cmd, json_t *req, long uid, int *later)
{
	*later = 0;
	if (strcmp(cmd, "console-login") == 0)
		return cl_login(srv, cc, req, later);
	if (strcmp(cmd, "console-note") == 0)
		return cl_note(srv, req, uid);
	return NULL;
}

void
control_console_start(struct event_base *base)
{
	if (pipe2(cl_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("console: pipe; console logins are off");
		return;
	}
	cl_event = event_new(base, cl_pipe[0], EV_READ | EV_PERSIST,
	    cl_done_cb, NULL);
	if (cl_event == NULL || event_add(cl_event, NULL) == -1)
		fatalx("cannot watch the console login pipe");
}

/* Waits for logins under way, so no thread outlives the store. */
void
control_console_stop(void)
{
	for (int i = 0; i < CONSOLE_LOGINS_MAX; i++)
		if (cl_slots[i] != NULL) {
			pthread_join(cl_slots[i]->thread, NULL);
			json_decref(cl_slots[i]->answer);
			free(cl_slots[i]);
			cl_slots[i] = NULL;
		}
	if (cl_event != NULL)
		event_free(cl_event);
	cl_event = NULL;
	for (int i = 0; i < 2; i++)
		if (cl_pipe[i] != -1)
			close(cl_pipe[i]);
	cl_pipe[0] = cl_pipe[1] = -1;
}
