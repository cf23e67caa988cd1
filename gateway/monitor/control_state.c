/*
 * Control requests that change the state store: TOTP enrolment and
 * import, locks, enrolment codes, the device list and revocation. mwgd is
 * the store's only writer, so mwgctl asks here. Each change is audited
 * with the administrator's OS uid (user.id, from SO_PEERCRED) and the
 * person or device acted on; no secret ever reaches a record or a log.
 * They run on the main thread: the store is quick, and tunnels never wait.
 */
#include "gateway/monitor/control.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "audit/audit.h"
#include "certs/certs.h"
#include "common/log.h"
#include "gateway/monitor/auth.h"
#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/monitor/netctl.h"
#include "gateway/posture.h"
#include "gateway/monitor/revoke.h"
#include "gateway/snapshot.h"
#include "gateway/ssh.h"
#include "gateway/monitor/store.h"

#define CODE_TTL_MAX	(30 * 86400)
#define CODE_TTL_DEFAULT (24 * 3600)
#define REASON_MAX	200

static json_t *cs_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static json_t *
cs_error(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static const char *
cs_string(json_t *req, const char *key)
{
	return json_string_value(json_object_get(req, key));
}

/* A reason an administrator typed: required, printable, bounded. */
static int
reason_valid(const char *r)
{
	size_t n = r ? strlen(r) : 0;

	if (n == 0 || n > REASON_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)r[i]))
			return 0;
	return 1;
}

/* Practice codes are upper case letters and digits (ODS codes). */
static int
practice_valid(const char *p)
{
	size_t n = p ? strlen(p) : 0;

	if (n == 0 || n > 15)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isupper((unsigned char)p[i]) && !isdigit((unsigned char)p[i]))
			return 0;
	return 1;
}

static int
cs_audit(struct server *srv, const char *action, long uid, json_t *fields)
{
	json_object_set_new(fields, "user.id", json_integer(uid));
	return audit_append(srv->audit, action, "success", fields);
}

/* ---- TOTP --------------------------------------------------------------- */

static json_t *
cs_totp_enrol(struct server *srv, json_t *req, long uid)
{
	const char *user = cs_string(req, "user");
	unsigned char secret[STORE_TOTP_SECRET_MAX];
	struct store_totp_info info;
	char b32[AUTH_TOTP_B32_MAX], err[STORE_ERR_MAX];
	size_t len;
	int had;
	json_t *ans;

	if (user == NULL || certs_user_valid(user) != 0)
		return cs_error("'%s' is not a valid user name",
		    user ? user : "");
	had = store_totp_get(srv->store, user, secret, &len, &info, err,
	    sizeof(err));
	OPENSSL_cleanse(secret, sizeof(secret));
	if (had == -1 || auth_totp_enrol(srv->store, user, b32, sizeof(b32),
	    err, sizeof(err)) == -1)
		return cs_error("%s", err);
	cs_audit(srv, "totp.enrol", uid, json_pack("{s:s, s:b}", "user.name",
	    user, "totp.replaced", had == 1));
	ans = json_pack("{s:b, s:s, s:s, s:i, s:i, s:s, s:b}", "ok", 1,
	    "user", user, "secret", b32, "digits", AUTH_TOTP_DIGITS, "period",
	    AUTH_TOTP_PERIOD, "algorithm", "SHA1", "replaced", had == 1);
	OPENSSL_cleanse(b32, sizeof(b32));
	return ans;
}

/* One pam_oath entry, already checked by mwgctl; checked again here. */
static int
import_decode(json_t *e, const char **user, unsigned char *secret,
    size_t *len, unsigned *digits, unsigned *period)
{
	const char *hex = cs_string(e, "secret_hex");
	json_int_t d = json_integer_value(json_object_get(e, "digits"));
	json_int_t p = json_integer_value(json_object_get(e, "period"));
	size_t n = hex ? strlen(hex) : 0;

	*user = cs_string(e, "user");
	if (*user == NULL || certs_user_valid(*user) != 0 || n < 20 ||
	    n % 2 || n / 2 > STORE_TOTP_SECRET_MAX || d < 6 || d > 8 ||
	    p < 1 || p > 300)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		secret[i] = (unsigned char)v;
	}
	*len = n / 2;
	*digits = (unsigned)d;
	*period = (unsigned)p;
	return 0;
}

static json_t *
cs_totp_import(struct server *srv, json_t *req, long uid)
{
	json_t *entries = json_object_get(req, "entries"), *e;
	unsigned char secret[STORE_TOTP_SECRET_MAX];
	char err[STORE_ERR_MAX];
	unsigned digits, period;
	const char *user;
	size_t i, len;

	if (!json_is_array(entries) || json_array_size(entries) == 0)
		return cs_error("no entries");
	json_array_foreach(entries, i, e) {	/* all valid, or none stored */
		if (import_decode(e, &user, secret, &len, &digits, &period)) {
			OPENSSL_cleanse(secret, sizeof(secret));
			return cs_error("entry %zu is not valid",
			    i + 1);
		}
	}
	json_array_foreach(entries, i, e) {
		import_decode(e, &user, secret, &len, &digits, &period);
		if (auth_totp_import(srv->store, user, secret, len, digits,
		    period, err, sizeof(err)) == -1) {
			OPENSSL_cleanse(secret, sizeof(secret));
			return cs_error("%s", err);
		}
		cs_audit(srv, "totp.import", uid, json_pack("{s:s}",
		    "user.name", user));
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	return json_pack("{s:b, s:I}", "ok", 1, "imported",
	    (json_int_t)json_array_size(entries));
}

/* ---- locks -------------------------------------------------------------- */

/* "user" or "device" and a name valid for that kind. */
static int
lock_target(json_t *req, int *is_user, const char **name)
{
	const char *kind = cs_string(req, "kind");

	*name = cs_string(req, "name");
	if (kind == NULL || *name == NULL)
		return -1;
	if (strcmp(kind, "user") == 0) {
		*is_user = 1;
		return certs_user_valid(*name) == 0 ? 0 : -1;
	}
	*is_user = 0;
	return strcmp(kind, "device") == 0 &&
	    certs_device_id_valid(*name) == 0 ? 0 : -1;
}

static json_t *
cs_lock(struct server *srv, json_t *req, long uid)
{
	struct store_lock l = { 0 };
	const char *name, *reason = cs_string(req, "reason");
	json_int_t ttl = json_integer_value(json_object_get(req, "ttl"));
	char err[STORE_ERR_MAX];
	int is_user, closed;

	if (lock_target(req, &is_user, &name) == -1)
		return cs_error("give kind user or device and a valid "
		    "name");
	if (!reason_valid(reason))
		return cs_error("a reason of 1 to 200 printable "
		    "characters is required");
	if (ttl < 0 || ttl > 366 * 86400LL)
		return cs_error("ttl must be 0 (until unlocked) to one "
		    "year");
	l.kind = is_user ? STORE_LOCK_USER : STORE_LOCK_DEVICE;
	snprintf(l.name, sizeof(l.name), "%s", name);
	snprintf(l.reason, sizeof(l.reason), "%s", reason);
	l.created_by_uid = (uid_t)uid;
	l.created_at = time(NULL);
	l.until = ttl ? l.created_at + (time_t)ttl : 0;
	if (store_lock_add(srv->store, &l, err, sizeof(err)) == -1)
		return cs_error("%s", err);
	denylist_lock(srv->deny, is_user, name, l.until, reason);
	closed = netctl_close_locked(is_user, name);
	cs_audit(srv, "lock.add", uid, json_pack("{s:s, s:s, s:I, s:i}",
	    is_user ? "user.name" : "device.id", name, "event.reason", reason,
	    "lock.until", (json_int_t)l.until, "tunnels.closed", closed));
	return json_pack("{s:b, s:i, s:I}", "ok", 1, "closed", closed, "until",
	    (json_int_t)l.until);
}

static json_t *
cs_unlock(struct server *srv, json_t *req, long uid)
{
	char err[STORE_ERR_MAX];
	const char *name;
	int is_user, r;

	if (lock_target(req, &is_user, &name) == -1)
		return cs_error("give kind user or device and a valid "
		    "name");
	r = store_lock_remove(srv->store, is_user ? STORE_LOCK_USER :
	    STORE_LOCK_DEVICE, name, err, sizeof(err));
	if (r == -1)
		return cs_error("%s", err);
	/* No row, but this node may still hold the lock in memory (one
	 * that missed the unlock made through another node): clear it. */
	if (r == 1 && !denylist_locked(srv->deny, is_user, name, time(NULL)))
		return cs_error("%s is not locked", name);
	denylist_unlock(srv->deny, is_user, name);
	cs_audit(srv, "lock.remove", uid, json_pack("{s:s}", is_user ?
	    "user.name" : "device.id", name));
	return json_pack("{s:b}", "ok", 1);
}

static int
lock_row(const struct store_lock *l, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}",
	    "kind", l->kind == STORE_LOCK_USER ? "user" : "device", "name",
	    l->name, "reason", l->reason, "by_uid", (json_int_t)l->created_by_uid,
	    "created_at", (json_int_t)l->created_at, "until",
	    (json_int_t)l->until));
	return 0;
}

static json_t *
cs_lock_list(struct server *srv)
{
	json_t *list = json_array();
	char err[STORE_ERR_MAX];

	if (store_lock_list(srv->store, lock_row, list, err, sizeof(err)) ==
	    -1) {
		json_decref(list);
		return cs_error("%s", err);
	}
	return json_pack("{s:b, s:o}", "ok", 1, "locks", list);
}

/* ---- enrolment codes ---------------------------------------------------- */

static json_t *
cs_code_create(struct server *srv, json_t *req, long uid)
{
	struct store_code c = { 0 };
	const char *user = cs_string(req, "user");
	const char *practice = cs_string(req, "practice");
	const char *label = cs_string(req, "label");
	json_t *ttlj = json_object_get(req, "ttl"), *ans;
	json_int_t ttl = ttlj ? json_integer_value(ttlj) : CODE_TTL_DEFAULT;
	char secret[33], err[STORE_ERR_MAX];
	int r, tries = 0;

	if (user == NULL || certs_user_valid(user) != 0)
		return cs_error("'%s' is not a valid user name",
		    user ? user : "");
	if (!practice_valid(practice))
		return cs_error("'%s' is not a practice code "
		    "(A-Z, 0-9)", practice ? practice : "");
	if (label && strlen(label) >= STORE_LABEL_MAX)
		return cs_error("the label is too long");
	if (ttl < 60 || ttl > CODE_TTL_MAX)
		return cs_error("ttl must be 1 minute to 30 "
		    "days");
	snprintf(c.user, sizeof(c.user), "%s", user);
	snprintf(c.practice, sizeof(c.practice), "%s", practice);
	snprintf(c.label, sizeof(c.label), "%s", label ? label : "");
	c.is_managed = json_is_true(json_object_get(req, "managed"));
	c.created_at = time(NULL);
	c.expires_at = c.created_at + (time_t)ttl;
	c.created_by_uid = (uid_t)uid;
	if (certs_random_b32(secret, 32) == -1)	/* 160 bits */
		return cs_error("no randomness from the CSPRNG");
	do {
		r = -1;
		if (certs_random_b32(c.id, 10) == -1) {
			snprintf(err, sizeof(err), "no randomness");
			break;
		}
		r = store_code_add(srv->store, &c, secret, err, sizeof(err));
	} while (r == 1 && ++tries < 5);
	if (r != 0) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return cs_error("%s", r == 1 ? "no free code id" :
		    err);
	}
	cs_audit(srv, "enrol.code.create", uid, json_pack(
	    "{s:s, s:s, s:s, s:s, s:b, s:I}", "user.name", user,
	    "organization.id", practice, "enrol.code_id", c.id, "enrol.label",
	    c.label, "device.managed", c.is_managed, "enrol.code_expires",
	    (json_int_t)c.expires_at));
	ans = json_pack("{s:b, s:s, s:s, s:I}", "ok", 1, "id", c.id, "secret",
	    secret, "expires_at", (json_int_t)c.expires_at);
	OPENSSL_cleanse(secret, sizeof(secret));
	return ans;
}

/* ---- devices ------------------------------------------------------------ */

struct device_walk {
	struct server *srv;
	json_t *list;
	time_t now;
};

static const char *
device_status(struct device_walk *dw, const struct store_device *d)
{
	if (d->revoked_at)
		return "revoked";
	if (denylist_device(dw->srv->deny, d->id, dw->now, NULL, 0))
		return "locked";
	if (d->expires_at <= dw->now)
		return "expired";
	return "active";
}

static int
device_row(const struct store_device *d, void *arg)
{
	struct device_walk *dw = arg;

	json_array_append_new(dw->list, json_pack(
	    "{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:s, s:s, s:s}",
	    "id", d->id, "user", d->user, "practice", d->practice,
	    "managed", d->is_managed, "enrolled_at", (json_int_t)d->enrolled_at,
	    "expires_at", (json_int_t)d->expires_at, "last_seen_at",
	    (json_int_t)d->last_seen_at, "revoked_at",
	    (json_int_t)d->revoked_at, "revoke_reason", d->revoke_reason,
	    "status", device_status(dw, d), "key_sha256", d->key_fpr));
	return 0;
}

/* The checks the device's newest report fails (the device cache holds
 * it, parsed); null if the device never reported. */
static json_t *
device_posture_failed(struct server *srv, const char *id)
{
	struct policy_posture p;
	int managed;

	if (id == NULL || devcache_get(srv->devices, id, &managed, &p) != 1 ||
	    p.received_at == 0)
		return json_null();
	return posture_failed(&p);
}

/* The newest posture time of each device and what that report failed,
 * added after the walk (a list callback must not call the store). */
static void
device_posture_times(struct server *srv, json_t *list)
{
	json_t *d;
	size_t i;
	char *report, err[STORE_ERR_MAX];
	const char *id;
	time_t at;

	json_array_foreach(list, i, d) {
		at = 0;
		id = json_string_value(json_object_get(d, "id"));
		if (store_posture_get(srv->store, id, &report, &at, err,
		    sizeof(err)) == 1)
			free(report);
		json_object_set_new(d, "posture_at", json_integer(at));
		json_object_set_new(d, "posture_failed",
		    device_posture_failed(srv, id));
	}
}

static json_t *
cs_device_list(struct server *srv)
{
	struct device_walk dw = { srv, json_array(), time(NULL) };
	char err[STORE_ERR_MAX];

	if (store_device_list(srv->store, device_row, &dw, err, sizeof(err)) ==
	    -1) {
		json_decref(dw.list);
		return cs_error("%s", err);
	}
	device_posture_times(srv, dw.list);
	return json_pack("{s:b, s:o}", "ok", 1, "devices", dw.list);
}

static json_t *
cs_device_revoke(struct server *srv, json_t *req, long uid,
    const char *crl_path)
{
	const char *id = cs_string(req, "id"), *reason = cs_string(req,
	    "reason");
	char err[STORE_ERR_MAX];
	int r, closed;

	if (id == NULL || certs_device_id_valid(id) != 0)
		return cs_error("'%s' is not a device id",
		    id ? id : "");
	if (!reason_valid(reason))
		return cs_error("a reason of 1 to 200 printable "
		    "characters is required");
	r = store_device_revoke(srv->store, id, reason, time(NULL), err,
	    sizeof(err));
	if (r != 0)
		return r == 1 ? cs_error("no device %s", id) :
		    cs_error("%s", err);
	denylist_revoke(srv->deny, id, reason);
	closed = netctl_close_whose(0, id, "device-revoked");
	cs_audit(srv, "device.revoke", uid, json_pack("{s:s, s:s, s:i}",
	    "device.id", id, "event.reason", reason, "tunnels.closed", closed));
	/* The gateway already refuses the device; the CRL tells others. */
	if (revoke_publish(srv, crl_path, err, sizeof(err)) == -1) {
		log_warnx("device %s revoked, but the CRL was not updated: %s",
		    id, err);
		return cs_error("device revoked and refused by this gateway, "
		    "but the CRL could not be written: %s", err);
	}
	return json_pack("{s:b, s:i}", "ok", 1, "closed", closed);
}

/* ---- dispatch ----------------------------------------------------------- */

json_t *
control_state_handle(struct server *srv, const char *cmd, json_t *req,
    long uid)
{
	struct gw_snapshot *snap;
	json_t *ans;

	if (srv->store == NULL)
		return cs_error("%s: the state store is not open", cmd);
	if (strcmp(cmd, "totp-enrol") == 0)
		return cs_totp_enrol(srv, req, uid);
	if (strcmp(cmd, "totp-import") == 0)
		return cs_totp_import(srv, req, uid);
	if (strcmp(cmd, "lock") == 0)
		return cs_lock(srv, req, uid);
	if (strcmp(cmd, "unlock") == 0)
		return cs_unlock(srv, req, uid);
	if (strcmp(cmd, "lock-list") == 0)
		return cs_lock_list(srv);
	if (strcmp(cmd, "enrol-code-create") == 0)
		return cs_code_create(srv, req, uid);
	if (strcmp(cmd, "device-list") == 0)
		return cs_device_list(srv);
	if (strcmp(cmd, "device-revoke") == 0) {
		snap = snapshot_get();
		ans = cs_device_revoke(srv, req, uid, snap->conf->crl_path);
		snapshot_put(snap);
		return ans;
	}
	return NULL;
}
