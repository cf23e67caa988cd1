/*
 * libFuzzer harness for what the monitor reads from the network process
 * (issue 14): a frame (gateway/ipc.c: ipc_decode), then the message's
 * shape (gateway/monitor/mon_check.c: mon_msg_valid), then, for a state
 * operation, what the network process makes of it (state_apply). The
 * input is one whole frame: 16 bytes of header, then the payload.
 * Checks: decode accepts only a frame whose length matches, whose type
 * the network process may send, and whose payload is a JSON object; a
 * message that passes mon_msg_valid has every field the handlers read,
 * in bounds; nothing crashes, leaks or reads out of bounds. Routes are a
 * fixed stub here (the real table links every handler).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/ipc.h"
#include "gateway/posture.h"
#include "gateway/monitor/store.h"
#include "gateway/monitor/monitor.h"
#include "gateway/routes.h"
#include "gateway/state_mirror.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct api_route stub = { "/v1/login", NULL, 1 };

const struct api_route *
api_route_find(const char *path)
{
	return strcmp(path, "/v1/login") == 0 ? &stub : NULL;
}

/* The store is never loaded here (denylist_load, devcache_load). */
int store_device_list(struct store *st, store_device_cb cb, void *arg,
    char *err, size_t errlen) { abort(); }
int store_lock_list(struct store *st, store_lock_cb cb, void *arg, char *err,
    size_t errlen) { abort(); }
int store_session_ended_list(struct store *st, time_t now,
    store_session_cb cb, void *arg, char *err, size_t errlen) { abort(); }
int store_posture_get(struct store *st, const char *device_id,
    char **reportp, time_t *received_at, char *err, size_t errlen)
{ abort(); }
int posture_parse(const char *json, size_t len, struct policy_posture *out,
    char *err, size_t errlen) { abort(); }

/* What the handlers read of a valid message must be there. */
static void
check_valid(int type, json_t *m)
{
	long long v;
	int b;

	switch (type) {
	case IPC_AUDIT:
		if (ipc_str(m, "action", 64) == NULL ||
		    !json_is_object(json_object_get(m, "fields")) ||
		    json_object_get(json_object_get(m, "fields"), "hash"))
			abort();
		break;
	case IPC_JOB:
		if (ipc_int(m, "method", 0, 64, &v) == -1 ||
		    ipc_bool(m, "cert_ok", &b) == -1 ||
		    ipc_str(m, "url", 8192) == NULL)
			abort();
		break;
	case IPC_SSH_KBDINT:
		if (ipc_str(m, "password", 1024) == NULL ||
		    ipc_str(m, "code", 15) == NULL)
			abort();
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct denylist *deny;
	static struct devcache *devices;
	struct ipc_hdr h;
	char err[128];
	json_t *msg;
	size_t len;

	if (deny == NULL) {
		deny = denylist_new();
		devices = devcache_new();
	}
	if (size < IPC_HDR_LEN)
		return 0;
	len = size - IPC_HDR_LEN;
	if (ipc_decode(data, data + IPC_HDR_LEN, len, 1, &h, &msg, err,
	    sizeof(err)) == -1) {
		if (msg != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	if (h.len != len || !json_is_object(msg))
		abort();
	if (!(h.flags & IPC_F_REPLY) && mon_msg_valid(h.type, msg))
		check_valid(h.type, msg);
	/* The network process's side of a state operation. */
	state_apply(deny, devices, msg);
	json_decref(msg);
	return 0;
}
