/*
 * The console's pages, read-only: live tunnels, audit search, exports,
 * devices and locks. Each asks mwgd or reads the audit files, and every
 * search, view of a person's records and export is recorded (console-note)
 * before anything is shown. The changes are in actions.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "audit/audit.h"
#include "common/xmalloc.h"
#include "console/console.h"
#include "console/pages.h"

/* ---- small helpers ------------------------------------------------------ */

struct pend *
pend_new(struct evhttp_request *req, const struct console_session *s)
{
	struct pend *p = xcalloc(1, sizeof(*p));

	p->req = req;
	snprintf(p->user, sizeof(p->user), "%s", s->user);
	snprintf(p->csrf, sizeof(p->csrf), "%s", s->csrf);
	p->role = s->role;
	return p;
}

/* The session as it was when the request came (for the page's head). */
void
pend_session(const struct pend *p, struct console_session *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->user, sizeof(s->user), "%s", p->user);
	snprintf(s->csrf, sizeof(s->csrf), "%s", p->csrf);
	s->role = p->role;
}

void
pend_fail(struct pend *p, const char *why)
{
	struct console_session s;

	pend_session(p, &s);
	http_refuse(p->req, 502, why, &s);
	free(p);
}

/* A time as UTC text; "-" for 0. */
const char *
utc_text(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

/* A cell with a string member (escaped) or an integer. */
void
cell(struct evbuffer *b, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	evbuffer_add_printf(b, "<td>");
	if (json_is_integer(v))
		evbuffer_add_printf(b, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		evbuffer_add_printf(b, "%s", json_is_true(v) ? "yes" : "no");
	else
		html_esc(b, json_string_value(v));
	evbuffer_add_printf(b, "</td>");
}

/* ---- live tunnels ------------------------------------------------------- */

static void
tunnel_row(struct evbuffer *b, json_t *t, const struct console_session *s)
{
	char when[40];

	evbuffer_add_printf(b, "<tr>");
	cell(b, t, "id");
	cell(b, t, "user");
	cell(b, t, "device");
	cell(b, t, "practice");
	cell(b, t, "target");
	cell(b, t, "protocol");
	evbuffer_add_printf(b, "<td>%s</td>", utc_text(json_integer_value(
	    json_object_get(t, "since")), when, sizeof(when)));
	evbuffer_add_printf(b, "<td>%lld / %lld</td>",
	    (long long)json_integer_value(json_object_get(t, "bytes_up")),
	    (long long)json_integer_value(json_object_get(t, "bytes_down")));
	if (s->role == ROLE_IT) {
		evbuffer_add_printf(b, "<td><form method=\"post\" "
		    "action=\"/tunnels/kill\" class=\"inline\">");
		html_csrf(b, s);
		evbuffer_add_printf(b, "<input type=\"hidden\" name=\"id\" "
		    "value=\"%lld\"><input name=\"reason\" required "
		    "maxlength=\"200\" placeholder=\"reason\" aria-label=\""
		    "reason\"><button type=\"submit\" class=\"danger\">Kill"
		    "</button></form></td>", (long long)json_integer_value(
		    json_object_get(t, "id")));
	}
	evbuffer_add_printf(b, "</tr>\n");
}

/* The target's practice and protocol, from "name.PRACTICE:port" or ssh. */
static void
tunnel_fill(json_t *t)
{
	const char *target = json_string_value(json_object_get(t, "target"));
	const char *dot, *colon;

	if (json_object_get(t, "protocol") == NULL)
		json_object_set_new(t, "protocol", json_string(json_object_get(
		    t, "backend") ? "https-connect" : "ssh"));
	if (json_object_get(t, "practice") != NULL || target == NULL ||
	    (dot = strchr(target, '.')) == NULL)
		return;
	colon = strchr(dot, ':');
	json_object_set_new(t, "practice", json_stringn(dot + 1, colon ?
	    (size_t)(colon - dot - 1) : strlen(dot + 1)));
}

static void
tunnels_cb(json_t *ans, const char *err, void *arg)
{
	struct pend *p = arg;
	struct console_session s;
	struct evbuffer *b;
	json_t *list = json_object_get(ans, "sessions"), *t;
	size_t i;

	if (!json_is_array(list)) {
		pend_fail(p, err ? err : "mwgd gave no tunnel list");
		return;
	}
	pend_session(p, &s);
	b = evbuffer_new();
	html_head(b, "Live tunnels", &s);
	evbuffer_add_printf(b, "<p>%zu open.</p><table id=\"tunnels\"><thead>"
	    "<tr><th>id</th><th>person</th><th>device</th><th>practice</th>"
	    "<th>target</th><th>protocol</th><th>since</th><th>bytes up / "
	    "down</th>%s</tr></thead><tbody>\n", json_array_size(list),
	    s.role == ROLE_IT ? "<th>kill (IT)</th>" : "");
	json_array_foreach(list, i, t) {
		tunnel_fill(t);
		tunnel_row(b, t, &s);
	}
	evbuffer_add_printf(b, "</tbody></table>");
	html_foot(b);
	http_send(p->req, 200, b);
	free(p);
}

void
page_tunnels(struct evhttp_request *req, struct console_session *s)
{
	ctl_call(json_pack("{s:s}", "cmd", "sessions"), tunnels_cb,
	    pend_new(req, s));
}

/* ---- devices and locks -------------------------------------------------- */

/* What the newest posture report failed: the names, "none", or "-" if
 * the device never reported. */
static void
failed_cell(struct evbuffer *b, json_t *failed)
{
	json_t *f;
	size_t i;

	evbuffer_add_printf(b, "<td class=\"failed\">");
	if (!json_is_array(failed))
		evbuffer_add_printf(b, "-");
	else if (json_array_size(failed) == 0)
		evbuffer_add_printf(b, "none");
	json_array_foreach(failed, i, f) {
		if (i > 0)
			evbuffer_add_printf(b, ", ");
		html_esc(b, json_string_value(f));
	}
	evbuffer_add_printf(b, "</td>");
}

static void
devices_cb(json_t *ans, const char *err, void *arg)
{
	struct pend *p = arg;
	struct console_session s;
	struct evbuffer *b;
	json_t *list = json_object_get(ans, "devices"), *d;
	char t1[40], t2[40];
	size_t i;

	if (!json_is_array(list)) {
		pend_fail(p, err ? err : "mwgd gave no device list");
		return;
	}
	pend_session(p, &s);
	b = evbuffer_new();
	html_head(b, "Devices", &s);
	evbuffer_add_printf(b, "<table id=\"devices\"><thead><tr><th>device"
	    "</th><th>status</th><th>owner</th><th>practice</th><th>managed"
	    "</th><th>last seen</th><th>last posture</th><th>posture failed"
	    "</th><th>revoked because</th></tr></thead><tbody>\n");
	json_array_foreach(list, i, d) {
		evbuffer_add_printf(b, "<tr>");
		cell(b, d, "id");
		cell(b, d, "status");
		cell(b, d, "user");
		cell(b, d, "practice");
		cell(b, d, "managed");
		evbuffer_add_printf(b, "<td>%s</td><td>%s</td>", utc_text(
		    json_integer_value(json_object_get(d, "last_seen_at")), t1,
		    sizeof(t1)), utc_text(json_integer_value(json_object_get(d,
		    "posture_at")), t2, sizeof(t2)));
		failed_cell(b, json_object_get(d, "posture_failed"));
		cell(b, d, "revoke_reason");
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</tbody></table>");
	html_foot(b);
	http_send(p->req, 200, b);
	free(p);
}

void
page_devices(struct evhttp_request *req, struct console_session *s)
{
	ctl_call(json_pack("{s:s}", "cmd", "device-list"), devices_cb,
	    pend_new(req, s));
}

static void
lock_form(struct evbuffer *b, const struct console_session *s)
{
	evbuffer_add_printf(b, "<h2>Add a lock</h2><form method=\"post\" "
	    "action=\"/locks/add\" id=\"lock-add\">");
	html_csrf(b, s);
	evbuffer_add_printf(b, "<label>kind <select name=\"kind\"><option>"
	    "user</option><option>device</option></select></label> <label>"
	    "name <input name=\"name\" required maxlength=\"63\"></label> "
	    "<label>reason <input name=\"reason\" required maxlength=\"200\">"
	    "</label> <button type=\"submit\">Lock</button></form>");
}

static void
locks_cb(json_t *ans, const char *err, void *arg)
{
	struct pend *p = arg;
	struct console_session s;
	struct evbuffer *b;
	json_t *list = json_object_get(ans, "locks"), *l;
	char t1[40], t2[40];
	size_t i;

	if (!json_is_array(list)) {
		pend_fail(p, err ? err : "mwgd gave no lock list");
		return;
	}
	pend_session(p, &s);
	b = evbuffer_new();
	html_head(b, "Locks", &s);
	evbuffer_add_printf(b, "<table id=\"locks\"><thead><tr><th>kind</th>"
	    "<th>name</th><th>reason</th><th>since</th><th>until</th>%s</tr>"
	    "</thead><tbody>\n", s.role == ROLE_IT ? "<th>remove (IT)</th>" :
	    "");
	json_array_foreach(list, i, l) {
		evbuffer_add_printf(b, "<tr>");
		cell(b, l, "kind");
		cell(b, l, "name");
		cell(b, l, "reason");
		evbuffer_add_printf(b, "<td>%s</td><td>%s</td>", utc_text(
		    json_integer_value(json_object_get(l, "created_at")), t1,
		    sizeof(t1)), json_integer_value(json_object_get(l,
		    "until")) ? utc_text(json_integer_value(json_object_get(l,
		    "until")), t2, sizeof(t2)) : "until unlocked");
		if (s.role == ROLE_IT) {
			evbuffer_add_printf(b, "<td><form method=\"post\" "
			    "action=\"/locks/remove\" class=\"inline\">");
			html_csrf(b, &s);
			evbuffer_add_printf(b, "<input type=\"hidden\" name=\""
			    "kind\" value=\"");
			html_esc(b, json_string_value(json_object_get(l,
			    "kind")));
			evbuffer_add_printf(b, "\"><input type=\"hidden\" name="
			    "\"name\" value=\"");
			html_esc(b, json_string_value(json_object_get(l,
			    "name")));
			evbuffer_add_printf(b, "\"><button type=\"submit\">"
			    "Unlock</button></form></td>");
		}
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</tbody></table>");
	if (s.role == ROLE_IT)
		lock_form(b, &s);
	html_foot(b);
	http_send(p->req, 200, b);
	free(p);
}

void
page_locks(struct evhttp_request *req, struct console_session *s)
{
	ctl_call(json_pack("{s:s}", "cmd", "lock-list"), locks_cb,
	    pend_new(req, s));
}
