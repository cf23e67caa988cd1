/*
 * Remembering why the gateway cut a session's tunnels, for mwg connect to
 * ask (the design is in gateway/session.h). Network process. Ending a
 * session (POST /v1/logout) is the monitor's: monitor/logout.c.
 */
#include "gateway/session.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <http_parser.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/net/conn.h"
#include "gateway/net/http_head.h"

#define SESSION_CLOSED_MAX	4096	/* cuts remembered, every session */
#define SESSION_CLOSED_KEEP	600	/* seconds a cut is told */
#define SESSION_CLOSED_ANSWER	16	/* cuts in one answer, newest first */
#define SESSION_MESSAGE_MAX	256

/* ---- why a tunnel was cut ----------------------------------------------- */

struct session_cut {
	char		 serial[sizeof(((struct certs_identity *)0)->serial)];
	unsigned char	 id[SESSION_EXPORTER_LEN];
	uint64_t	 tunnel;
	time_t		 at;
	char		 reason[32];
	char		 target[2 * POLICY_NAME_MAX + 2];
	char		 message[SESSION_MESSAGE_MAX];
};

static pthread_mutex_t cuts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session_cut *cuts;	/* a ring, allocated at the first cut */
static size_t cuts_next;

/* What the person is told for each reason the gateway closes with. */
static const struct {
	const char *reason;
	const char *message;
} cut_messages[] = {
	{ "break-glass-expired", "the emergency (break-glass) access time is "
	    "over" },
	{ "device-locked", "this device is locked by IT; contact the service "
	    "desk" },
	{ "device-revoked", "this device is revoked; contact the service "
	    "desk" },
	{ "idle-timeout", "nothing was sent either way for too long" },
	{ "killed-by-admin", "IT closed it" },
	{ "policy-changed", "the access policy no longer allows it" },
	{ "role-time-ended", "your role's time for this connection is over" },
	{ "session-ended", "you logged out (mwg logout)" },
	{ "session-expired", "the session reached its time limit (run mwg "
	    "login)" },
	{ "shutdown", "the gateway is shutting down" },
	{ "target-read-failed", "the practice system's connection failed" },
	{ "target-write-failed", "the practice system's connection failed" },
	{ "user-locked", "your access is locked by IT; contact the service "
	    "desk" },
};

int
session_is_cut(const char *reason)
{
	return strcmp(reason, "completed") != 0 &&
	    strncmp(reason, "client-", 7) != 0;
}

/* The message for reason, with the policy's own words if it gave any. */
static void
session_message(const char *reason, const char *detail, char *buf,
    size_t len)
{
	const char *m = NULL;

	for (size_t i = 0; i < sizeof(cut_messages) / sizeof(cut_messages[0]);
	    i++)
		if (strcmp(reason, cut_messages[i].reason) == 0)
			m = cut_messages[i].message;
	if (m != NULL && detail != NULL && *detail != '\0')
		snprintf(buf, len, "%s: %s", m, detail);
	else if (m != NULL)
		snprintf(buf, len, "%s", m);
	else if (detail != NULL && *detail != '\0')
		snprintf(buf, len, "%s", detail);
	else
		snprintf(buf, len, "closed by the gateway (%s)", reason);
}

void
session_closed_note(struct conn *c, const char *reason, const char *detail)
{
	struct session_cut cut, *slot;

	if (!c->cert_ok || c->ident.kind != CERTS_KIND_SESSION ||
	    !session_is_cut(reason))
		return;
	memset(&cut, 0, sizeof(cut));
	if (SSL_export_keying_material(c->ssl, cut.id, sizeof(cut.id),
	    SESSION_EXPORTER_LABEL, strlen(SESSION_EXPORTER_LABEL), NULL, 0,
	    0) != 1) {
		log_debug("%s: conn %llu: no exporter value; cut not noted",
		    __func__, (unsigned long long)c->id);
		return;
	}
	snprintf(cut.serial, sizeof(cut.serial), "%s", c->ident.serial);
	snprintf(cut.reason, sizeof(cut.reason), "%s", reason);
	snprintf(cut.target, sizeof(cut.target), "%s", c->target);
	session_message(reason, detail, cut.message, sizeof(cut.message));
	cut.tunnel = c->id;
	cut.at = time(NULL);
	pthread_mutex_lock(&cuts_lock);
	if (cuts == NULL)
		cuts = xcalloc(SESSION_CLOSED_MAX, sizeof(*cuts));
	slot = &cuts[cuts_next++ % SESSION_CLOSED_MAX];
	*slot = cut;
	pthread_mutex_unlock(&cuts_lock);
}

static json_t *
session_cut_json(const struct session_cut *cut)
{
	char hex[2 * SESSION_EXPORTER_LEN + 1];

	for (size_t i = 0; i < SESSION_EXPORTER_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", cut->id[i]);
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:I}", "id", hex,
	    "tunnel", (json_int_t)cut->tunnel, "target", cut->target,
	    "reason", cut->reason, "message", cut->message, "at",
	    (json_int_t)cut->at);
}

/*
 * Only the session's own cuts, to the holder of its key. A session that
 * was ended (logout) or whose device was revoked still hears about them:
 * that is when the person most needs to know why.
 */
void
session_closed_answer(struct conn *c)
{
	json_t *list = json_array();
	time_t now = time(NULL);
	size_t i, have, n = 0;

	if (c->head->method != HTTP_GET) {
		json_decref(list);
		conn_respond_error(c, 405, "method-not-allowed", "use GET for "
		    "/v1/closed");
		return;
	}
	if (!(c->cert_ok || c->revoked) ||
	    c->ident.kind != CERTS_KIND_SESSION) {
		json_decref(list);
		conn_respond_error(c, 401, c->cert_ok || c->revoked ?
		    "session-required" : "certificate-required", c->cert_ok ||
		    c->revoked ? "ask with the session certificate whose "
		    "tunnels closed" : c->cert_error);
		return;
	}
	pthread_mutex_lock(&cuts_lock);
	have = cuts == NULL ? 0 : cuts_next < SESSION_CLOSED_MAX ? cuts_next :
	    SESSION_CLOSED_MAX;
	for (i = 0; i < have && n < SESSION_CLOSED_ANSWER; i++) {
		const struct session_cut *cut = &cuts[(cuts_next - 1 - i) %
		    SESSION_CLOSED_MAX];

		if (cut->at == 0 || now - cut->at > SESSION_CLOSED_KEEP)
			continue;
		if (strcmp(cut->serial, c->ident.serial) != 0)
			continue;
		json_array_append_new(list, session_cut_json(cut));
		n++;
	}
	pthread_mutex_unlock(&cuts_lock);
	conn_respond(c, 200, json_pack("{s:o}", "closed", list));
}
