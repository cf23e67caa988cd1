/* The monitor's calls on live tunnels (monitor/netctl.h). */
#include "gateway/monitor/netctl.h"

#include "gateway/ipc.h"
#include "gateway/monitor/monitor.h"

/* The network process answers from memory: seconds mean it is stuck. */
#define NETCTL_TIMEOUT_MS	5000

static json_t *
netctl_call(int type, json_t *msg)
{
	struct ipc *ch = netproc_channel();

	if (ch == NULL) {
		json_decref(msg);
		return NULL;
	}
	return ipc_call(ch, type, msg, NETCTL_TIMEOUT_MS);
}

json_t *
netctl_sessions(void)
{
	json_t *r = netctl_call(IPC_SESSIONS, json_object());
	json_t *list = json_object_get(r, "sessions");

	list = json_is_array(list) ? json_incref(list) : json_array();
	json_decref(r);
	return list;
}

int
netctl_kill(uint64_t id)
{
	json_t *r = netctl_call(IPC_KILL, json_pack("{s:I}", "id",
	    (json_int_t)id));
	long long rc = -2;

	if (r != NULL && ipc_int(r, "result", -2, 0, &rc) == -1)
		rc = -2;
	json_decref(r);
	return r == NULL ? -1 : (int)rc;
}

static int
netctl_count(json_t *r)
{
	long long n = 0;

	if (r != NULL && ipc_int(r, "closed", 0, INT32_MAX, &n) == -1)
		n = 0;
	json_decref(r);
	return (int)n;
}

int
netctl_close_whose(int is_user, const char *name, const char *reason)
{
	return netctl_count(netctl_call(IPC_CLOSE_WHOSE, json_pack(
	    "{s:b, s:s, s:s}", "user", is_user, "name", name, "reason",
	    reason)));
}

int
netctl_close_locked(int is_user, const char *name)
{
	return netctl_close_whose(is_user, name, is_user ? "user-locked" :
	    "device-locked");
}

int
netctl_close_serials(json_t *serials)
{
	return netctl_count(netctl_call(IPC_CLOSE_SERIALS, json_pack("{s:O}",
	    "serials", serials)));
}

void
netctl_redecide(const char *device_id, const char *why)
{
	struct ipc *ch = netproc_channel();

	if (ch != NULL)
		ipc_send(ch, IPC_REDECIDE, json_pack("{s:s?, s:s}", "device",
		    device_id, "why", why));
}

json_t *
netctl_counters(void)
{
	json_t *r = netctl_call(IPC_COUNTERS, json_object());

	return r != NULL ? r : json_object();
}

void
netctl_drain(void)
{
	struct ipc *ch = netproc_channel();

	if (ch != NULL)
		ipc_send(ch, IPC_DRAIN, json_object());
}

int
netctl_open_tunnels(void)
{
	json_t *n = netctl_counters();
	long long open = 0;

	if (ipc_int(n, "open_tunnels", 0, INT32_MAX, &open) == -1)
		open = 0;
	json_decref(n);
	return (int)open;
}
