/*
 * The shape of every message the network process may send the monitor
 * (monitor.h: mon_msg_valid): which members, of which type, how long. A
 * pure function of the message, so the fuzz harness (tests/fuzz/
 * fuzz_ipc.c) runs exactly what the monitor runs; the handlers then read
 * only what passed here.
 */
#include "gateway/monitor/monitor.h"

#include <stdio.h>
#include <string.h>

#include "certs/certs.h"
#include "gateway/ipc.h"
#include "gateway/job.h"
#include "gateway/routes.h"
#include "gateway/monitor/store.h"

#define CHECK_ACTION_MAX	64
#define CHECK_FIELDS_MAX	64	/* members of a record's fields */
#define CHECK_URL_MAX		8192
#define CHECK_HEADER_MAX	8192
#define CHECK_CERT_MAX		16384	/* a client certificate, DER */
#define CHECK_ANSWER_MAX	1024	/* a password's bytes */

/* The records the network side writes, and no other. */
static const char *const net_actions[] = {
	"connection.refuse", "request.reject", "tunnel.open", "tunnel.close",
	"tunnel.deny", "policy.report_only", "ssh.auth", "ssh.refuse",
	"proxy.reject",
};

/* Members only the writer sets, or only the monitor. */
static const char *const reserved_fields[] = {
	"seq", "@timestamp", "event.action", "event.outcome", "prev", "hash",
	"mwg.origin",
};

static int
one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* A record's fields: an object of a few members, none reserved. */
static int
fields_ok(json_t *f)
{
	if (!json_is_object(f) || json_object_size(f) > CHECK_FIELDS_MAX)
		return 0;
	for (size_t i = 0; i < sizeof(reserved_fields) /
	    sizeof(reserved_fields[0]); i++)
		if (json_object_get(f, reserved_fields[i]) != NULL)
			return 0;
	return 1;
}

static int
audit_ok(json_t *m)
{
	static const char *const outcomes[] = { "success", "failure",
	    "unknown" };

	return one_of(ipc_str(m, "action", CHECK_ACTION_MAX), net_actions,
	    sizeof(net_actions) / sizeof(net_actions[0])) &&
	    one_of(ipc_str(m, "outcome", 16), outcomes, 3) &&
	    fields_ok(json_object_get(m, "fields"));
}

static int
b64_ok(json_t *m, const char *key, size_t max, int optional)
{
	json_t *v = json_object_get(m, key);

	if (v == NULL)
		return optional;
	return ipc_str(m, key, 4 * ((max + 2) / 3)) != NULL &&
	    json_string_length(v) % 4 == 0;
}

static int
job_ok(json_t *m)
{
	const char *path = ipc_str(m, "path", 64);
	long long method;
	int b;

	return path != NULL && api_route_find(path) != NULL &&
	    ipc_int(m, "method", 0, 64, &method) == 0 &&
	    ipc_str(m, "url", CHECK_URL_MAX) != NULL &&
	    ipc_str(m, "content_type", CHECK_HEADER_MAX) != NULL &&
	    ipc_str(m, "authorization", CHECK_HEADER_MAX) != NULL &&
	    ipc_str(m, "cert_error", 95) != NULL &&
	    ipc_str(m, "source_ip", 63) != NULL &&
	    ipc_bool(m, "cert_ok", &b) == 0 &&
	    b64_ok(m, "body", JOB_BODY_MAX, 0) &&
	    b64_ok(m, "cert", CHECK_CERT_MAX, 1) &&
	    json_is_object(json_object_get(m, "who")) &&
	    json_object_size(json_object_get(m, "who")) <= CHECK_FIELDS_MAX;
}

static int
name_ok(json_t *m, const char *key)
{
	const char *s = ipc_str(m, key, STORE_NAME_MAX - 1);

	return s != NULL && s[0] != '\0';
}

static int
person_ok(json_t *m)
{
	const char *user = ipc_str(m, "user", STORE_NAME_MAX - 1);

	return user != NULL && certs_user_valid(user) == 0;
}

int
mon_msg_valid(int type, json_t *m)
{
	switch (type) {
	case IPC_AUDIT:
		return audit_ok(m);
	case IPC_JOB:
		return job_ok(m);
	case IPC_SSH_DEVICE:
		return ipc_str(m, "fpr", CERTS_FPR_MAX - 1) != NULL;
	case IPC_SSH_SESSION:
		return name_ok(m, "device") && person_ok(m);
	case IPC_SSH_THROTTLE:
		return person_ok(m) && ipc_str(m, "ip", 63) != NULL;
	case IPC_SSH_KBDINT:
		return person_ok(m) && ipc_str(m, "ip", 63) != NULL &&
		    ipc_str(m, "password", CHECK_ANSWER_MAX) != NULL &&
		    ipc_str(m, "code", 15) != NULL &&
		    fields_ok(json_object_get(m, "fields"));
	case IPC_SSH_GROUPS:
		return person_ok(m);
	case IPC_TLS_SIGN:
		return b64_ok(m, "digest", 64, 0);
	default:
		return 0;
	}
}
