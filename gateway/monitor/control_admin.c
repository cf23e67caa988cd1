/*
 * Control requests behind the IT guide's housekeeping verbs: listing and
 * withdrawing enrolment codes, listing and removing TOTP secrets, listing
 * and clearing login throttles. Lists show state, never a secret; each
 * change is audited with the administrator's uid (SO_PEERCRED).
 */
#include "gateway/monitor/control.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "audit/audit.h"
#include "certs/certs.h"
#include "gateway/monitor/auth.h"
#include "gateway/monitor/store.h"

#define THROTTLE_ARG_MAX	96	/* bytes of a throttle clear target */
/*
 * Rows in one throttle list answer. Anyone can add ip: rows by failing
 * from many addresses; beyond this the answer only counts them, so it
 * stays well inside what mwgctl reads (4 MiB, ~200 bytes a row).
 */
#define THROTTLE_SHOW_MAX	5000

static json_t *hk_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static json_t *
hk_error(const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static void
hk_audit(struct server *srv, const char *action, long uid, json_t *fields)
{
	json_object_set_new(fields, "user.id", json_integer(uid));
	audit_append(srv->audit, action, "success", fields);
}

/* ---- enrolment codes ---------------------------------------------------- */

static const char *
code_state(const struct store_code *c, time_t now)
{
	if (c->used_at != 0)
		return "used";
	if (c->withdrawn_at != 0)
		return "withdrawn";
	if (c->expires_at <= now)
		return "expired";
	return "unused";
}

struct code_walk {
	json_t *list;
	time_t now;
};

static int
code_row(const struct store_code *c, void *arg)
{
	struct code_walk *cw = arg;

	json_array_append_new(cw->list, json_pack(
	    "{s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:s, s:I, s:s}",
	    "id", c->id, "user", c->user, "practice", c->practice, "label",
	    c->label, "managed", c->is_managed, "created_at",
	    (json_int_t)c->created_at, "created_by_uid",
	    (json_int_t)c->created_by_uid, "expires_at",
	    (json_int_t)c->expires_at, "used_at", (json_int_t)c->used_at,
	    "used_by", c->used_by, "withdrawn_at",
	    (json_int_t)c->withdrawn_at, "state", code_state(c, cw->now)));
	return 0;
}

static json_t *
hk_code_list(struct server *srv, json_t *req, long uid)
{
	(void)req;
	(void)uid;
	struct code_walk cw = { json_array(), time(NULL) };
	char err[STORE_ERR_MAX];

	if (store_code_list(srv->store, code_row, &cw, err, sizeof(err)) ==
	    -1) {
		json_decref(cw.list);
		return hk_error("%s", err);
	}
	return json_pack("{s:b, s:o}", "ok", 1, "codes", cw.list);
}

static json_t *
hk_code_withdraw(struct server *srv, json_t *req, long uid)
{
	const char *id = json_string_value(json_object_get(req, "id"));
	struct store_code c;
	char err[STORE_ERR_MAX];
	int rc;

	/* Code ids are base32 from certs_random_b32: the user-name rule
	 * covers them and keeps odd bytes out of the answer. */
	if (id == NULL || certs_user_valid(id) != 0)
		return hk_error("'%.64s' is not an enrolment code id",
		    id ? id : "");
	rc = store_code_withdraw(srv->store, id, time(NULL), &c, err,
	    sizeof(err));
	if (rc == -1)
		return hk_error("%s", err);
	if (rc == 1)
		return hk_error("no enrolment code %s", id);
	if (rc == 2 && c.used_at != 0)
		return hk_error("enrolment code %s was already used%s%s: revoke "
		    "the device instead", id, c.used_by[0] ? " by " : "",
		    c.used_by);
	if (rc == 2)
		return hk_error("enrolment code %s was already withdrawn", id);
	hk_audit(srv, "enrol.code.withdraw", uid, json_pack("{s:s, s:s, s:s}",
	    "enrol.code_id", id, "user.name", c.user, "organization.id",
	    c.practice));
	return json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "id", id, "user",
	    c.user, "practice", c.practice);
}

/* ---- TOTP --------------------------------------------------------------- */

static int
totp_row(const char *user, const struct store_totp_info *i, void *arg)
{
	/* The time step's start is when the last code accepted was made. */
	json_int_t last = i->last_step > 0 ? (json_int_t)(i->last_step *
	    (int64_t)i->period) : 0;

	json_array_append_new(arg, json_pack(
	    "{s:s, s:I, s:i, s:I, s:b, s:I, s:i, s:i}", "user", user,
	    "enrolled_at", (json_int_t)i->enrolled_at, "failures", i->failures,
	    "disabled_at", (json_int_t)i->disabled_at, "disabled",
	    i->disabled_at != 0, "last_used_at", last, "digits",
	    (int)i->digits, "period", (int)i->period));
	return 0;
}

static json_t *
hk_totp_list(struct server *srv, json_t *req, long uid)
{
	(void)req;
	(void)uid;
	json_t *list = json_array();
	char err[STORE_ERR_MAX];

	if (store_totp_list(srv->store, totp_row, list, err, sizeof(err)) ==
	    -1) {
		json_decref(list);
		return hk_error("%s", err);
	}
	return json_pack("{s:b, s:o}", "ok", 1, "totp", list);
}

static json_t *
hk_totp_remove(struct server *srv, json_t *req, long uid)
{
	const char *user = json_string_value(json_object_get(req, "user"));
	char err[STORE_ERR_MAX];
	int rc;

	if (user == NULL || certs_user_valid(user) != 0)
		return hk_error("'%.64s' is not a valid user name",
		    user ? user : "");
	if ((rc = store_totp_remove(srv->store, user, err, sizeof(err))) ==
	    -1)
		return hk_error("%s", err);
	if (rc == 1)
		return hk_error("%s has no TOTP secret", user);
	hk_audit(srv, "totp.remove", uid, json_pack("{s:s}", "user.name",
	    user));
	return json_pack("{s:b, s:s}", "ok", 1, "user", user);
}

/* ---- throttles ---------------------------------------------------------- */

struct throttle_walk {
	json_t *list;
	time_t now;
	json_int_t left_off;	/* rows past THROTTLE_SHOW_MAX */
};

static int
throttle_row(const char *key, const struct store_throttle *t, void *arg)
{
	struct throttle_walk *tw = arg;
	time_t until = auth_throttle_until(t);

	if (json_array_size(tw->list) >= THROTTLE_SHOW_MAX) {
		tw->left_off++;
		return 0;
	}
	json_array_append_new(tw->list, json_pack(
	    "{s:s, s:i, s:I, s:I, s:I, s:b}", "key", key, "failures",
	    t->failures, "window_start", (json_int_t)t->window_start,
	    "window_end", (json_int_t)(t->window_start + AUTH_THROTTLE_WINDOW),
	    "next_allowed_at", (json_int_t)until, "waiting", until > tw->now));
	return 0;
}

static json_t *
hk_throttle_list(struct server *srv, json_t *req, long uid)
{
	(void)req;
	(void)uid;
	struct throttle_walk tw = { json_array(), time(NULL), 0 };
	char err[STORE_ERR_MAX];

	if (store_throttle_list(srv->store, throttle_row, &tw, err,
	    sizeof(err)) == -1) {
		json_decref(tw.list);
		return hk_error("%s", err);
	}
	return json_pack("{s:b, s:I, s:o, s:I}", "ok", 1, "now",
	    (json_int_t)tw.now, "throttle", tw.list, "left_off", tw.left_off);
}

/* "ip:" and addr as mwgd writes addresses (inet_ntop), or -1. */
static int
throttle_addr_key(const char *addr, char *key, size_t len)
{
	unsigned char a[sizeof(struct in6_addr)];
	char text[INET6_ADDRSTRLEN];
	int af = strchr(addr, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(af, addr, a) != 1 || inet_ntop(af, a, text,
	    sizeof(text)) == NULL)
		return -1;
	return snprintf(key, len, "ip:%s", text) < (int)len ? 0 : -1;
}

/*
 * The throttle key for what an administrator typed: an address, a key as
 * throttle list shows it (ip:, user:, code:), or a person's name. 0, or
 * -1 if it is none of them.
 */
static int
throttle_key(const char *arg, char *key, size_t len)
{
	if (throttle_addr_key(arg, key, len) == 0)
		return 0;
	if (strncmp(arg, "ip:", 3) == 0)
		return throttle_addr_key(arg + 3, key, len);
	/* Names and code ids (base32) both keep to the user-name rule. */
	if ((strncmp(arg, "user:", 5) == 0 || strncmp(arg, "code:", 5) == 0) &&
	    certs_user_valid(arg + 5) == 0)
		return snprintf(key, len, "%s", arg) < (int)len ? 0 : -1;
	if (certs_user_valid(arg) == 0)
		return snprintf(key, len, "user:%s", arg) < (int)len ? 0 : -1;
	return -1;
}

static json_t *
hk_throttle_clear(struct server *srv, json_t *req, long uid)
{
	const char *arg = json_string_value(json_object_get(req, "target"));
	char key[STORE_THROTTLE_KEY_MAX], err[STORE_ERR_MAX];
	struct store_throttle t;
	int rc;

	if (arg == NULL || strlen(arg) > THROTTLE_ARG_MAX ||
	    throttle_key(arg, key, sizeof(key)) == -1)
		return hk_error("'%.64s' is neither a user name, an address "
		    "nor a throttle key", arg ? arg : "");
	if ((rc = store_throttle_get(srv->store, key, &t, err,
	    sizeof(err))) == -1)
		return hk_error("%s", err);
	if (rc == 0)
		return hk_error("no failures are recorded for %s", key);
	if (auth_throttle_clear(srv->store, key, err, sizeof(err)) == -1)
		return hk_error("%s", err);
	hk_audit(srv, "throttle.clear", uid, json_pack("{s:s, s:i}",
	    "throttle.key", key, "throttle.failures", t.failures));
	return json_pack("{s:b, s:s, s:i}", "ok", 1, "key", key, "failures",
	    t.failures);
}

/* ---- dispatch ----------------------------------------------------------- */

json_t *
control_admin_handle(struct server *srv, const char *cmd, json_t *req,
    long uid)
{
	static const struct {
		const char *cmd;
		json_t *(*fn)(struct server *, json_t *, long);
	} reqs[] = {
		{ "enrol-code-list",		hk_code_list },
		{ "enrol-code-withdraw",	hk_code_withdraw },
		{ "throttle-clear",		hk_throttle_clear },
		{ "throttle-list",		hk_throttle_list },
		{ "totp-list",			hk_totp_list },
		{ "totp-remove",		hk_totp_remove },
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		if (strcmp(cmd, reqs[i].cmd) != 0)
			continue;
		if (srv->store == NULL)
			return hk_error("%s: the state store is not open",
			    cmd);
		return reqs[i].fn(srv, req, uid);
	}
	return NULL;
}
