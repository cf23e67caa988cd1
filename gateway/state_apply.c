/*
 * State operations applied to a denylist and devcache (state_mirror.h):
 * in the network process as the monitor sends them, and in the monitor
 * when it reloads what another node changed (monitor/node_sync.c);
 * checked field by field: it never trusts a length or a type it was
 * sent, even by the monitor.
 */
#include "gateway/state_mirror.h"

#include <stdio.h>
#include <string.h>

#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/ipc.h"
#include "gateway/monitor/store.h"
#include "policy/policy.h"

static int
tri(json_t *op, const char *key, enum policy_tri *out)
{
	long long v;

	if (ipc_int(op, key, POLICY_UNKNOWN, POLICY_YES, &v) == -1)
		return -1;
	*out = (enum policy_tri)v;
	return 0;
}

static int
copy_str(json_t *op, const char *key, char *buf, size_t len)
{
	const char *s = ipc_str(op, key, len - 1);

	if (s == NULL)
		return -1;
	snprintf(buf, len, "%s", s);
	return 0;
}

static int
apply_posture(struct devcache *devices, const char *name, json_t *op)
{
	struct policy_posture p = { 0 };
	long long at, age, sec;

	if (ipc_int(op, "at", 0, INT64_MAX, &at) == -1 ||
	    tri(op, "disk", &p.disk_encryption) == -1 ||
	    tri(op, "screen", &p.screen_lock) == -1 ||
	    tri(op, "firewall", &p.firewall) == -1 ||
	    ipc_int(op, "update_age", -1, 1000000, &age) == -1 ||
	    ipc_int(op, "security_updates", -1, 1000000, &sec) == -1 ||
	    copy_str(op, "os_id", p.os_id, sizeof(p.os_id)) == -1 ||
	    copy_str(op, "os_version", p.os_version, sizeof(p.os_version)) ==
	    -1 || copy_str(op, "client", p.client_version,
	    sizeof(p.client_version)) == -1)
		return -1;
	p.received_at = (time_t)at;
	p.update_age_days = (int)age;
	p.security_updates = (int)sec;
	devcache_set_posture(devices, name, &p);
	return 0;
}

int
state_apply(struct denylist *deny, struct devcache *devices, json_t *op)
{
	const char *kind = ipc_str(op, "op", 16);
	const char *name = ipc_str(op, "name", STORE_NAME_MAX - 1);
	const char *reason = ipc_str(op, "reason", DENYLIST_REASON_MAX - 1);
	long long until;
	int b;

	if (kind == NULL || name == NULL || name[0] == '\0')
		return -1;
	if (strcmp(kind, "lock") == 0 && ipc_bool(op, "user", &b) == 0 &&
	    ipc_int(op, "until", 0, INT64_MAX, &until) == 0 && reason)
		denylist_lock(deny, b, name, (time_t)until, reason);
	else if (strcmp(kind, "unlock") == 0 && ipc_bool(op, "user", &b) == 0)
		denylist_unlock(deny, b, name);
	else if (strcmp(kind, "revoke") == 0 && reason)
		denylist_revoke(deny, name, reason);
	else if (strcmp(kind, "session-end") == 0 && ipc_int(op, "until", 0,
	    INT64_MAX, &until) == 0)
		denylist_session_end(deny, name, (time_t)until);
	else if (strcmp(kind, "managed") == 0 && ipc_bool(op, "managed", &b) ==
	    0)
		devcache_set_managed(devices, name, b);
	else if (strcmp(kind, "posture") == 0)
		return apply_posture(devices, name, op);
	else
		return -1;
	return 0;
}
