/*
 * SSH authentication checks run in the monitor (monitor/ssh_verdict.h):
 * the password through PAM and the TOTP code, with the throttle and the
 * once-only rule shared with HTTPS login, and the lookups behind them.
 * The network process gets a verdict and a reason, never a secret.
 */
#include "gateway/monitor/ssh_verdict.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "audit/audit.h"
#include "certs/certs.h"
#include "common/log.h"
#include "gateway/monitor/auth.h"
#include "gateway/denylist.h"
#include "gateway/ipc.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"
#include "gateway/monitor/store.h"

#define VERDICT_ERR_MAX		256
#define VERDICT_REASON_MAX	768
#define VERDICT_ANSWER_MAX	1024	/* a password's bytes */
#define VERDICT_FIELDS_MAX	64	/* members of a record's fields */

json_t *
ssh_verdict_device(struct server *srv, json_t *q)
{
	const char *fpr = ipc_str(q, "fpr", CERTS_FPR_MAX - 1);
	char err[VERDICT_ERR_MAX];
	struct store_device d;
	int rc;

	if (fpr == NULL)
		return json_pack("{s:i, s:s}", "found", -1, "error",
		    "malformed question");
	rc = store_device_by_fpr(srv->store, fpr, &d, err, sizeof(err));
	if (rc != 1)
		return json_pack("{s:i, s:s}", "found", rc, "error",
		    rc == -1 ? err : "");
	return json_pack("{s:i, s:{s:s, s:s, s:s, s:b, s:I, s:I, s:s}}",
	    "found", 1, "device", "id", d.id, "user", d.user, "practice",
	    d.practice, "managed", d.is_managed, "revoked_at",
	    (json_int_t)d.revoked_at, "expires_at", (json_int_t)d.expires_at,
	    "revoke_reason", d.revoke_reason);
}

json_t *
ssh_verdict_session(struct server *srv, json_t *q)
{
	const char *dev = ipc_str(q, "device", STORE_NAME_MAX - 1);
	const char *user = ipc_str(q, "user", STORE_NAME_MAX - 1);
	char err[VERDICT_ERR_MAX] = "";
	int rc = -1;

	if (dev && user)
		rc = store_session_live(srv->store, dev, user, time(NULL), err,
		    sizeof(err));
	else
		snprintf(err, sizeof(err), "malformed question");
	return json_pack("{s:i, s:s}", "live", rc, "error", err);
}

/* Throttle keys for this person and address, as login.c makes them. */
static int
verdict_keys(json_t *q, char *ukey, char *ikey, size_t len, const char **keys)
{
	const char *user = ipc_str(q, "user", STORE_NAME_MAX - 1);
	const char *ip = ipc_str(q, "ip", 63);

	if (user == NULL || ip == NULL || certs_user_valid(user) != 0)
		return -1;
	snprintf(ukey, len, "user:%s", user);
	snprintf(ikey, len, "ip:%s", ip);
	keys[0] = ukey;
	keys[1] = ikey;
	return 0;
}

json_t *
ssh_verdict_throttle(struct server *srv, json_t *q)
{
	char ukey[STORE_THROTTLE_KEY_MAX], ikey[STORE_THROTTLE_KEY_MAX];
	char err[VERDICT_ERR_MAX] = "";
	const char *keys[2];
	long wait = -1;

	if (verdict_keys(q, ukey, ikey, sizeof(ukey), keys) == 0)
		wait = auth_throttle_wait(srv->store, keys, 2, time(NULL), err,
		    sizeof(err));
	else
		snprintf(err, sizeof(err), "malformed question");
	return json_pack("{s:I, s:s}", "wait", (json_int_t)wait, "error", err);
}

/* The record fields the network process sent, checked: an object of a
 * few members (mon_msg_valid has seen them). */
static json_t *
verdict_fields(json_t *q)
{
	json_t *f = json_object_get(q, "fields");

	if (!json_is_object(f) || json_object_size(f) > VERDICT_FIELDS_MAX)
		return json_object();
	return json_deep_copy(f);
}

json_t *
ssh_verdict_kbdint(struct server *srv, json_t *q)
{
	char ukey[STORE_THROTTLE_KEY_MAX], ikey[STORE_THROTTLE_KEY_MAX];
	char err[VERDICT_ERR_MAX], why[VERDICT_REASON_MAX], wait_why[64];
	char lock[DENYLIST_REASON_MAX + 8];
	const char *user = ipc_str(q, "user", STORE_NAME_MAX - 1);
	const char *password = ipc_str(q, "password", VERDICT_ANSWER_MAX);
	const char *code = ipc_str(q, "code", 15);
	const char *keys[2];
	struct auth_verdict v;
	struct gw_snapshot *snap;
	long wait;

	if (verdict_keys(q, ukey, ikey, sizeof(ukey), keys) == -1 ||
	    password == NULL || code == NULL)
		return json_pack("{s:b, s:s, s:b}", "ok", 0, "why",
		    "malformed keyboard-interactive answers", "warn", 0);
	/* Every answer, not only the request: a client may answer again. */
	wait = auth_throttle_wait(srv->store, keys, 2, time(NULL), err,
	    sizeof(err));
	if (wait != 0) {
		snprintf(wait_why, sizeof(wait_why), "throttled (%ld s)", wait);
		if (wait < 0)
			log_warnx("ssh: throttle: %s", err);
		return json_pack("{s:b, s:s, s:b}", "ok", 0, "why", wait > 0 ?
		    wait_why : "throttle error", "warn", 0);
	}
	snap = snapshot_get();
	auth_verdict_check(srv->store, srv->deny, snap->conf->pam_service,
	    user, password, code, time(NULL), &v);
	snapshot_put(snap);
	snprintf(lock, sizeof(lock), "user %s", v.lock_reason);
	auth_verdict_why(&v, lock, why, sizeof(why));
	if (auth_verdict_refused(&v)) {
		if (auth_verdict_failed(srv->store, &v, user, keys, time(NULL)))
			audit_append(srv->audit, "totp.disable", "success",
			    audit_fields_add(verdict_fields(q), "100 "
			    "consecutive failures", NULL));
		return json_pack("{s:b, s:s, s:b}", "ok", 0, "why", why, "warn",
		    0);
	}
	if (v.pam == -1 || v.totp == -1)
		return json_pack("{s:b, s:s, s:b}", "ok", 0, "why", why, "warn",
		    1);
	if (auth_throttle_clear(srv->store, ukey, err, sizeof(err)) == -1)
		log_warnx("ssh: %s: %s", ukey, err);
	return json_pack("{s:b, s:s, s:b}", "ok", 1, "why", "", "warn", 0);
}

json_t *
ssh_verdict_groups(struct server *srv, json_t *q)
{
	const char *user = ipc_str(q, "user", STORE_NAME_MAX - 1);
	char groups[CERTS_GROUPS_MAX][CERTS_GROUP_MAX];
	json_t *list;
	int n;

	(void)srv;
	if (user == NULL || certs_user_valid(user) != 0 ||
	    (n = auth_groups(user, groups, CERTS_GROUPS_MAX)) < 0)
		return json_pack("{s:s}", "error", "no such user in NSS");
	list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, json_string(groups[i]));
	return json_pack("{s:o}", "groups", list);
}
