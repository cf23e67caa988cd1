/*
 * What changes something: logging in and out, killing a tunnel, adding
 * and removing a lock. mwgd checks the password and code (console-login);
 * the console maps the person's directory groups to a role. Every change
 * is IT's, carries the session's CSRF token (checked by the router), and
 * is recorded naming the console user (console-note) with its outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "console/console.h"
#include "console/pages.h"

#define REASON_MAX	200

/* ---- notes -------------------------------------------------------------- */

struct note {
	struct pend *p;
	ctl_cb cb;
};

static void
note_cb(json_t *ans, const char *err, void *arg)
{
	struct note *n = arg;

	if (!json_is_true(json_object_get(ans, "ok")))
		log_warnx("console: %s: mwgd did not record a note: %s",
		    n->p->user, err ? err : json_string_value(json_object_get(
		    ans, "error")));
	n->cb(ans, err, n->p);
	free(n);
}

void
note_send(struct pend *p, const char *action, const char *outcome,
    json_t *fields, ctl_cb cb)
{
	struct note *n = xcalloc(1, sizeof(*n));

	n->p = p;
	n->cb = cb;
	ctl_call(json_pack("{s:s, s:s, s:s, s:s, s:o}", "cmd", "console-note",
	    "action", action, "console_user", p->user, "outcome", outcome,
	    "fields", fields ? fields : json_object()), note_cb, n);
}

/* ---- login and logout --------------------------------------------------- */

void
page_login(struct evhttp_request *req, const char *msg, int status)
{
	struct evbuffer *b = evbuffer_new();

	html_head(b, "Log in", NULL);
	if (msg != NULL) {
		evbuffer_add_printf(b, "<p class=\"error\" id=\"refused\">");
		html_esc(b, msg);
		evbuffer_add_printf(b, "</p>");
	}
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/login\" "
	    "id=\"login\" class=\"login\"><label>user <input name=\"user\" "
	    "autocomplete=\"username\" required maxlength=\"63\"></label>"
	    "<label>password <input name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" required maxlength=\"1024\">"
	    "</label><label>code <input name=\"otp\" inputmode=\"numeric\" "
	    "autocomplete=\"one-time-code\" required maxlength=\"15\">"
	    "</label><button type=\"submit\">Log in</button></form>");
	html_foot(b);
	http_send(req, status, b);
}

/* The role the person's groups give; IT includes the cyber team's. */
static enum console_role
groups_role(json_t *groups)
{
	enum console_role r = ROLE_NONE;
	json_t *g;
	size_t i;

	json_array_foreach(groups, i, g) {
		const char *name = json_string_value(g);

		if (name && strcmp(name, console_conf.it_group) == 0)
			r = ROLE_IT;
		else if (name && r == ROLE_NONE &&
		    strcmp(name, console_conf.cyber_group) == 0)
			r = ROLE_CYBER;
	}
	return r;
}

static void
login_cb(json_t *ans, const char *err, void *arg)
{
	struct evhttp_request *req = arg;
	struct console_session *s;
	const char *user = json_string_value(json_object_get(ans, "user"));
	enum console_role role;
	char cookie[128];

	if (!json_is_true(json_object_get(ans, "ok")) || user == NULL) {
		page_login(req, ans ? json_string_value(json_object_get(ans,
		    "error")) : "the gateway cannot check identities right now",
		    ans ? 401 : 503);
		return;
	}
	if ((role = groups_role(json_object_get(ans, "groups"))) == ROLE_NONE) {
		log_info("console: %s logged in but is in neither %s nor %s",
		    user, console_conf.cyber_group, console_conf.it_group);
		page_login(req, "you are not a member of the console's groups",
		    403);
		return;
	}
	if ((s = session_new(user, role)) == NULL) {
		page_login(req, "too many sessions; try again later", 503);
		return;
	}
	log_info("console: %s logged in as %s", user, role_name(role));
	snprintf(cookie, sizeof(cookie), "mwgc=%s; Path=/; Secure; HttpOnly; "
	    "SameSite=Strict", s->id);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
	    cookie);
	http_redirect(req, "/tunnels");
}

/*
 * Login CSRF: a browser says where a POST came from. Sec-Fetch-Site must
 * be same-origin; without it, Origin must be this console's own
 * (https:// and the Host the browser addressed). A request with neither
 * is not a browser's (every current one sends Origin on a POST), so it
 * cannot carry a victim's browser into a login. 1 if the login may go on.
 */
static int
login_origin_ok(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *site = evhttp_find_header(h, "Sec-Fetch-Site");
	const char *origin = evhttp_find_header(h, "Origin");
	const char *host = evhttp_find_header(h, "Host");
	char own[300];

	if (site != NULL)
		return strcmp(site, "same-origin") == 0;
	if (origin == NULL)
		return 1;
	if (host == NULL || snprintf(own, sizeof(own), "https://%s", host) >=
	    (int)sizeof(own))
		return 0;
	return strcmp(origin, own) == 0;
}

void
action_login(struct evhttp_request *req)
{
	struct evkeyvalq form;
	const char *user, *pw, *otp;
	const char *src = NULL;
	char *host = NULL;
	ev_uint16_t port;
	json_t *r;

	if (!login_origin_ok(req)) {
		evhttp_connection_get_peer(evhttp_request_get_connection(req),
		    &host, &port);
		log_info("console: a login posted from another site refused "
		    "(browser %s)", host ? host : "?");
		page_login(req, "this login did not come from the console's "
		    "own page; open the console's address and log in there",
		    403);
		return;
	}
	if (http_form(req, &form) == -1 ||
	    (user = evhttp_find_header(&form, "user")) == NULL ||
	    (pw = evhttp_find_header(&form, "password")) == NULL ||
	    (otp = evhttp_find_header(&form, "otp")) == NULL) {
		evhttp_clear_headers(&form);
		page_login(req, "give a user, a password and a code", 400);
		return;
	}
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &host,
	    &port);
	src = host;
	r = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "cmd", "console-login",
	    "user", user, "password", pw, "otp", otp, "source", src);
	OPENSSL_cleanse((char *)pw, strlen(pw));
	evhttp_clear_headers(&form);
	if (r == NULL) {
		page_login(req, "the user name, password or code is not right",
		    401);
		return;
	}
	ctl_call(r, login_cb, req);	/* ctl_call wipes the request text */
}

static void
logout_cb(json_t *ans, const char *err, void *arg)
{
	struct pend *p = arg;

	http_redirect(p->req, "/login");
	free(p);
}

void
action_logout(struct evhttp_request *req, struct console_session *s)
{
	struct pend *p = pend_new(req, s);

	evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
	    "mwgc=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
	session_end(s);
	note_send(p, "console.logout", "success", NULL, logout_cb);
}

/* ---- changes (IT) ------------------------------------------------------- */

static int
reason_ok(const char *r)
{
	size_t n = r ? strlen(r) : 0;

	if (n == 0 || n > REASON_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
			return 0;
	return 1;
}

/* After the change: its outcome recorded, then back to the page. */
static void
change_noted_cb(json_t *ans, const char *err, void *arg)
{
	struct pend *p = arg;
	const char *to = p->flag ? "/locks" : "/tunnels";

	json_decref(p->data);
	http_redirect(p->req, to);
	free(p);
}

static void
change_done_cb(json_t *ans, const char *err, void *arg)
{
	struct pend *p = arg;
	json_t *f = p->data;
	const char *action = json_string_value(json_object_get(f, "action"));
	const char *why = json_string_value(json_object_get(ans, "error"));
	int ok = json_is_true(json_object_get(ans, "ok"));
	char act[32];

	snprintf(act, sizeof(act), "%s", action ? action : "console.kill");
	json_object_del(f, "action");
	if (!ok)
		json_object_set_new(f, "console.error", json_string(why ? why :
		    err ? err : "no answer"));
	p->data = NULL;
	note_send(p, act, ok ? "success" : "failure", f, change_noted_cb);
}

void
action_kill(struct evhttp_request *req, struct console_session *s,
    struct evkeyvalq *form)
{
	const char *id = evhttp_find_header(form, "id");
	const char *reason = evhttp_find_header(form, "reason");
	long long n;
	char *end;
	struct pend *p;

	if (id == NULL || !reason_ok(reason) || (n = strtoll(id, &end, 10)) <=
	    0 || *end != '\0') {
		http_refuse(req, 400, "give the tunnel's id and a reason (1 to "
		    "200 characters)", s);
		return;
	}
	p = pend_new(req, s);
	p->data = json_pack("{s:s, s:I, s:s}", "action", "console.kill",
	    "tunnel.id", (json_int_t)n, "event.reason", reason);
	ctl_call(json_pack("{s:s, s:I}", "cmd", "kill", "id", (json_int_t)n),
	    change_done_cb, p);
}

void
action_lock(struct evhttp_request *req, struct console_session *s,
    struct evkeyvalq *form, int add)
{
	const char *kind = evhttp_find_header(form, "kind");
	const char *name = evhttp_find_header(form, "name");
	const char *reason = evhttp_find_header(form, "reason");
	struct pend *p;

	if (kind == NULL || name == NULL || (strcmp(kind, "user") &&
	    strcmp(kind, "device")) || strlen(name) > 63 ||
	    (add && !reason_ok(reason))) {
		http_refuse(req, 400, "give kind user or device, a name and "
		    "(to lock) a reason of 1 to 200 characters", s);
		return;
	}
	p = pend_new(req, s);
	p->flag = 1;
	p->data = json_pack("{s:s, s:s, s:s, s:s?}", "action", add ?
	    "console.lock" : "console.unlock", "console.kind", kind,
	    "console.name", name, "event.reason", reason);
	ctl_call(add ? json_pack("{s:s, s:s, s:s, s:s}", "cmd", "lock", "kind",
	    kind, "name", name, "reason", reason) : json_pack("{s:s, s:s, s:s}",
	    "cmd", "unlock", "kind", kind, "name", name), change_done_cb, p);
}
