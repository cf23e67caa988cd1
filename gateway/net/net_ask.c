/*
 * What the network process asks the monitor (net/net_ipc.h): its audit
 * records, and the SSH listener's questions about devices, sessions,
 * throttling, passwords and codes, and groups. Each answer is read field
 * by field; no answer (the monitor is gone) is a refusal.
 */
#include "gateway/net/net_ipc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "certs/certs.h"
#include "common/xmalloc.h"
#include "gateway/ipc.h"
#include "gateway/server.h"
#include "gateway/monitor/store.h"

/* ---- records ------------------------------------------------------------ */

struct net_audit_wait {
	void (*done)(void *, int);
	void *arg;
};

static void
net_audit_reply(json_t *r, void *arg)
{
	struct net_audit_wait *w = arg;
	int ok = 0;

	if (r != NULL && ipc_bool(r, "ok", &ok) == -1)
		ok = 0;
	json_decref(r);
	w->done(w->arg, ok);
	free(w);
}

static int
net_audit_append(void *arg, const char *action, const char *outcome,
    json_t *fields, void (*done)(void *, int), void *done_arg, int sync)
{
	struct ipc *ch = arg;
	json_t *m = json_pack("{s:s, s:s, s:o}", "action", action, "outcome",
	    outcome, "fields", fields ? fields : json_object());
	struct net_audit_wait *w;
	json_t *r;
	int ok = 0;

	if (done == NULL && !sync)
		return ipc_send(ch, IPC_AUDIT, m);
	if (sync) {
		r = ipc_call(ch, IPC_AUDIT, m, 0);
		if (r == NULL || ipc_bool(r, "ok", &ok) == -1)
			ok = 0;
		json_decref(r);
		return ok ? 0 : -1;
	}
	w = xcalloc(1, sizeof(*w));
	w->done = done;
	w->arg = done_arg;
	if (ipc_call_async(ch, IPC_AUDIT, m, net_audit_reply, w) == -1) {
		free(w);
		return -1;
	}
	return 0;
}

static const struct audit_remote net_audit_ops = { net_audit_append, NULL };

struct audit_log *
net_audit_open(struct ipc *ch)
{
	return audit_open_remote(&net_audit_ops, ch);
}

/* ---- SSH questions ------------------------------------------------------ */

static void
copy_field(json_t *o, const char *key, char *buf, size_t len)
{
	const char *s = ipc_str(o, key, len - 1);

	snprintf(buf, len, "%s", s ? s : "");
}

static time_t
time_field(json_t *o, const char *key)
{
	long long t = 0;

	ipc_int(o, key, 0, INT64_MAX, &t);
	return (time_t)t;
}

int
net_ssh_device(struct server *srv, const char *fpr, struct store_device *dev,
    char *err, size_t errlen)
{
	json_t *r = ipc_call(srv->net, IPC_SSH_DEVICE, json_pack("{s:s}",
	    "fpr", fpr), 0), *d;
	long long found = -1;
	int b = 0;

	if (r == NULL || ipc_int(r, "found", -1, 1, &found) == -1)
		found = -1;
	copy_field(r, "error", err, errlen);
	if (r == NULL)
		snprintf(err, errlen, "the monitor is gone");
	if (found == 1) {
		d = json_object_get(r, "device");
		memset(dev, 0, sizeof(*dev));
		copy_field(d, "id", dev->id, sizeof(dev->id));
		copy_field(d, "user", dev->user, sizeof(dev->user));
		copy_field(d, "practice", dev->practice, sizeof(dev->practice));
		copy_field(d, "revoke_reason", dev->revoke_reason,
		    sizeof(dev->revoke_reason));
		ipc_bool(d, "managed", &b);
		dev->is_managed = b;
		dev->revoked_at = time_field(d, "revoked_at");
		dev->expires_at = time_field(d, "expires_at");
		if (dev->id[0] == '\0')
			found = -1;
	}
	json_decref(r);
	return (int)found;
}

int
net_ssh_session_live(struct server *srv, const char *device_id,
    const char *user, char *err, size_t errlen)
{
	json_t *r = ipc_call(srv->net, IPC_SSH_SESSION, json_pack("{s:s, s:s}",
	    "device", device_id, "user", user), 0);
	long long live = -1;

	if (r == NULL || ipc_int(r, "live", -1, 1, &live) == -1)
		live = -1;
	copy_field(r, "error", err, errlen);
	json_decref(r);
	return (int)live;
}

long
net_ssh_throttle(struct server *srv, const char *user, const char *ip,
    char *err, size_t errlen)
{
	json_t *r = ipc_call(srv->net, IPC_SSH_THROTTLE, json_pack(
	    "{s:s, s:s}", "user", user, "ip", ip), 0);
	long long wait = -1;

	if (r == NULL || ipc_int(r, "wait", -1, INT32_MAX, &wait) == -1)
		wait = -1;
	copy_field(r, "error", err, errlen);
	json_decref(r);
	return (long)wait;
}

int
net_ssh_kbdint(struct server *srv, const char *user, const char *ip,
    const char *password, const char *code, json_t *fields, char *why,
    size_t whylen, int *warn)
{
	json_t *r = ipc_call(srv->net, IPC_SSH_KBDINT, json_pack(
	    "{s:s, s:s, s:s, s:s, s:o}", "user", user, "ip", ip, "password",
	    password, "code", code, "fields", fields), 0);
	int ok = 0;

	*warn = 1;
	if (r == NULL || ipc_bool(r, "ok", &ok) == -1)
		ok = 0;
	ipc_bool(r, "warn", warn);
	copy_field(r, "why", why, whylen);
	if (r == NULL)
		snprintf(why, whylen, "the gateway cannot check now");
	json_decref(r);
	return ok ? 0 : 1;
}

int
net_ssh_groups(struct server *srv, const char *user, char (*groups)[64],
    int max)
{
	json_t *r = ipc_call(srv->net, IPC_SSH_GROUPS, json_pack("{s:s}",
	    "user", user), 0), *list = json_object_get(r, "groups"), *g;
	size_t i;
	int n = 0;

	if (!json_is_array(list)) {
		json_decref(r);
		return -1;
	}
	json_array_foreach(list, i, g) {
		const char *s = json_string_value(g);

		if (n >= max || s == NULL || certs_group_valid(s) != 0)
			continue;
		snprintf(groups[n++], 64, "%s", s);
	}
	json_decref(r);
	return n;
}

