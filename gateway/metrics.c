/*
 * The counters behind /metrics. Decisions are counted from the audit trail
 * (the observer sees every record offered to the log, written or refused),
 * so a dashboard and `mwgctl audit query` never disagree about what
 * happened; label values come from fixed lists, never from a record's
 * free text. Rendering lives in metrics_http.c.
 */
#include "gateway/metrics.h"
#include "gateway/metrics_int.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

const char *const metrics_protocols[METRICS_PROTO_N] = { "tls", "ssh" };
const char *const metrics_close_reasons[METRICS_CLOSE_N] = {
	"completed", "idle-timeout", "killed-by-admin", "shutdown",
	"client-connection-error", "client-write-failed",
	"target-read-failed", "target-write-failed", "user-locked",
	"device-locked", "device-revoked", "policy-changed", "posture-failed",
	"break-glass-expired", "role-time-ended", "session-ended", "other",
};
const char *const metrics_factors[METRICS_FACTOR_N] = {
	"password", "code", "locked", "device", "posture", "throttled",
	"request", "internal",
};
const char *const metrics_hs_results[METRICS_HS_N] = {
	"ok", "timeout", "peer-closed", "certificate", "protocol",
};

struct metrics_counters metrics_c;

static void
bump(atomic_ullong *c, unsigned long long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void
metrics_handshake(enum metrics_handshake what)
{
	if (what < METRICS_HS_N)
		bump(&metrics_c.handshakes[what], 1);
}

static const char *
field_str(json_t *fields, const char *key)
{
	const char *s = json_string_value(json_object_get(fields, key));

	return s ? s : "";
}

static int
proto_of(json_t *fields)
{
	return strcmp(field_str(fields, "network.protocol"), "ssh") == 0 ?
	    METRICS_PROTO_SSH : METRICS_PROTO_TLS;
}

static int
close_reason_of(json_t *fields)
{
	const char *r = field_str(fields, "event.reason");

	for (int i = 0; i < METRICS_CLOSE_N - 1; i++)
		if (strcmp(r, metrics_close_reasons[i]) == 0)
			return i;
	return METRICS_CLOSE_N - 1;	/* other */
}

static void
count_tunnel(const char *action, json_t *fields)
{
	int p = proto_of(fields);
	json_int_t up, down;

	if (strcmp(action, "tunnel.open") == 0)
		bump(&metrics_c.tunnels_opened[p], 1);
	else if (strcmp(action, "tunnel.deny") == 0)
		bump(&metrics_c.tunnels_refused[p], 1);
	else if (strcmp(action, "tunnel.close") == 0) {
		bump(&metrics_c.tunnels_closed[p][close_reason_of(fields)], 1);
		up = json_integer_value(json_object_get(fields,
		    "network.bytes_up"));
		down = json_integer_value(json_object_get(fields,
		    "network.bytes_down"));
		bump(&metrics_c.bytes_up, up > 0 ? (unsigned long long)up : 0);
		bump(&metrics_c.bytes_down, down > 0 ?
		    (unsigned long long)down : 0);
	}
}

/* One part of a login refusal's reason ("; "-joined) to its factor. */
static int
factor_of(const char *part, size_t len)
{
	static const struct { const char *prefix; int factor; } map[] = {
		{ "wrong password", METRICS_FACTOR_PASSWORD },
		{ "account not permitted", METRICS_FACTOR_PASSWORD },
		{ "PAM error", METRICS_FACTOR_INTERNAL },
		{ "wrong code", METRICS_FACTOR_CODE },
		{ "code already used", METRICS_FACTOR_CODE },
		{ "no TOTP enrolled", METRICS_FACTOR_CODE },
		{ "TOTP disabled", METRICS_FACTOR_CODE },
		{ "TOTP error", METRICS_FACTOR_INTERNAL },
		{ "user locked", METRICS_FACTOR_LOCKED },
		{ "device", METRICS_FACTOR_DEVICE },
		{ "personal device", METRICS_FACTOR_DEVICE },
		{ "no posture report", METRICS_FACTOR_POSTURE },
		{ "posture report", METRICS_FACTOR_POSTURE },
		{ "throttled", METRICS_FACTOR_THROTTLED },
		{ "bad request", METRICS_FACTOR_REQUEST },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t n = strlen(map[i].prefix);

		if (len >= n && strncmp(part, map[i].prefix, n) == 0)
			return map[i].factor;
	}
	return METRICS_FACTOR_INTERNAL;
}

static void
count_login(const char *outcome, json_t *fields)
{
	const char *r = field_str(fields, "event.reason"), *end;

	if (strcmp(outcome, "success") == 0) {
		bump(&metrics_c.logins[0], 1);
		return;
	}
	bump(&metrics_c.logins[1], 1);
	for (;; r = end + 2) {
		end = strstr(r, "; ");
		bump(&metrics_c.login_failures[factor_of(r, end ? (size_t)(end -
		    r) : strlen(r))], 1);
		if (end == NULL)
			break;
	}
}

static void
count_enrolment(const char *action, json_t *fields)
{
	int renew = strcmp(action, "enrol.renew") == 0 ||
	    strstr(field_str(fields, "url.path"), "simplereenroll") != NULL;

	bump(&metrics_c.enrolments[renew][strcmp(action, "enrol.request") == 0],
	    1);
}

/* A lock or revocation made on another node, applied on this one. */
static void
count_sync(json_t *fields)
{
	const char *change = json_string_value(json_object_get(fields,
	    "mwg.change"));

	if (change == NULL)
		return;
	if (strcmp(change, "lock") == 0)
		bump(&metrics_c.locks[json_object_get(fields, "user.name") ?
		    0 : 1], 1);
	else if (strcmp(change, "revoke") == 0)
		bump(&metrics_c.revocations, 1);
}

/* Policy reloads, locks, revocations and SSH authentication. */
static void
count_admin(const char *action, const char *outcome, json_t *fields)
{
	int ok = strcmp(outcome, "success") == 0;

	if (strcmp(action, "policy.reload") == 0) {
		bump(&metrics_c.reloads[!ok], 1);
		if (ok)
			atomic_store(&metrics_c.policy_loaded_at, time(NULL));
	} else if (strcmp(action, "gateway.start") == 0)
		atomic_store(&metrics_c.policy_loaded_at, time(NULL));
	else if (strcmp(action, "lock.add") == 0)
		bump(&metrics_c.locks[json_object_get(fields, "user.name") ?
		    0 : 1], 1);
	else if (strcmp(action, "device.revoke") == 0)
		bump(&metrics_c.revocations, 1);
	else if (strcmp(action, "state.sync") == 0)
		count_sync(fields);
	else if (strcmp(action, "ssh.auth") == 0)
		bump(&metrics_c.ssh_auth[!ok], 1);
}

void
metrics_audit_observe(void *arg, const char *action, const char *outcome,
    json_t *fields)
{
	(void)arg;
	if (action == NULL || outcome == NULL)
		return;
	if (strncmp(action, "tunnel.", 7) == 0)
		count_tunnel(action, fields);
	else if (strcmp(action, "auth.login") == 0)
		count_login(outcome, fields);
	else if (strcmp(action, "enrol.issue") == 0 ||
	    strcmp(action, "enrol.renew") == 0 ||
	    strcmp(action, "enrol.request") == 0)
		count_enrolment(action, fields);
	else
		count_admin(action, outcome, fields);
}
