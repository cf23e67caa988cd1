/*
 * State operations (gateway/state_mirror.h), as the monitor's denylist
 * and devcache make them; net/state_apply.c makes them again there.
 */
#include "gateway/state_mirror.h"

#include <stdio.h>
#include <string.h>

#include "policy/policy.h"

json_t *
state_op_lock(int is_user, const char *name, time_t until, const char *reason)
{
	return json_pack("{s:s, s:b, s:s, s:I, s:s}", "op", "lock", "user",
	    is_user, "name", name, "until", (json_int_t)until, "reason",
	    reason ? reason : "");
}

json_t *
state_op_unlock(int is_user, const char *name)
{
	return json_pack("{s:s, s:b, s:s}", "op", "unlock", "user", is_user,
	    "name", name);
}

json_t *
state_op_revoke(const char *device_id, const char *reason)
{
	return json_pack("{s:s, s:s, s:s}", "op", "revoke", "name", device_id,
	    "reason", reason ? reason : "");
}

json_t *
state_op_session_end(const char *serial, time_t until)
{
	return json_pack("{s:s, s:s, s:I}", "op", "session-end", "name",
	    serial, "until", (json_int_t)until);
}

json_t *
state_op_managed(const char *device_id, int managed)
{
	return json_pack("{s:s, s:s, s:b}", "op", "managed", "name",
	    device_id, "managed", managed);
}

json_t *
state_op_posture(const char *device_id, const struct policy_posture *p)
{
	return json_pack("{s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:s, s:s, "
	    "s:s}", "op", "posture", "name", device_id,
	    "at", (json_int_t)p->received_at, "disk", (int)p->disk_encryption,
	    "screen", (int)p->screen_lock, "firewall", (int)p->firewall,
	    "update_age", p->update_age_days, "security_updates",
	    p->security_updates, "os_id", p->os_id, "os_version",
	    p->os_version, "client", p->client_version);
}
