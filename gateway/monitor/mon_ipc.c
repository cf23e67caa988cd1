/*
 * The monitor's side of the channel (gateway/ipc.h): every message the
 * network process may send, checked field by field before anything is
 * done with it. A compromised network process can still refuse service;
 * through these messages it cannot mint a certificate (the monitor checks
 * the password and the code, and the certificate chain, itself), read a
 * secret, or write an audit record other than a network-side one (its
 * records carry mwg.origin "network" and cannot set seq, prev or hash).
 *
 * The reader thread never blocks: appends are queued, and everything that
 * may wait (PAM, the store, signing) runs on the auth pool.
 */
#include "gateway/monitor/monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "audit/audit.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/ipc.h"
#include "gateway/monitor/mon_job.h"
#include "gateway/monitor/ssh_verdict.h"
#include "gateway/pool.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"

struct mon_ack {
	struct ipc *ch;
	uint64_t id;
};

/* The writer made the record durable (or lost it): the caller hears. */
static void
mon_audit_done(void *arg, int ok)
{
	struct mon_ack *a = arg;

	ipc_reply(a->ch, a->id, json_pack("{s:b}", "ok", ok));
	free(a);
}

static void
mon_audit(struct server *srv, struct ipc *ch, uint64_t id, int is_call,
    json_t *msg)
{
	const char *action = ipc_str(msg, "action", 64);
	const char *outcome = ipc_str(msg, "outcome", 16);
	/* The message goes after this: its fields are the record's. */
	json_t *f = json_incref(json_object_get(msg, "fields"));
	struct mon_ack *a;
	int rc;

	json_object_set_new(f, "mwg.origin", json_string("network"));
	netproc_track(action, outcome, f);
	if (!is_call) {
		audit_append(srv->audit, action, outcome, f);
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->ch = ch;
	a->id = id;
	rc = audit_append_notify(srv->audit, action, outcome, f,
	    mon_audit_done, a);
	if (rc == -1)
		mon_audit_done(a, 0);
}

/* An SSH question, answered on the auth pool (it may wait on PAM). */
struct mon_task {
	struct server *srv;
	struct ipc *ch;
	uint64_t id;
	int type;
	json_t *msg;
};

static void
mon_task_run(void *arg)
{
	struct mon_task *t = arg;
	json_t *r;

	switch (t->type) {
	case IPC_SSH_DEVICE: r = ssh_verdict_device(t->srv, t->msg); break;
	case IPC_SSH_SESSION: r = ssh_verdict_session(t->srv, t->msg); break;
	case IPC_SSH_THROTTLE: r = ssh_verdict_throttle(t->srv, t->msg); break;
	case IPC_SSH_KBDINT: r = ssh_verdict_kbdint(t->srv, t->msg); break;
	default: r = ssh_verdict_groups(t->srv, t->msg); break;
	}
	/* Jansson's frees wipe (ipc_wipe_allocator): the password goes. */
	json_decref(t->msg);
	ipc_reply(t->ch, t->id, r);
	free(t);
}

static void
mon_task(struct server *srv, struct ipc *ch, uint64_t id, int type,
    json_t *msg)
{
	struct mon_task *t = xcalloc(1, sizeof(*t));

	t->srv = srv;
	t->ch = ch;
	t->id = id;
	t->type = type;
	t->msg = msg;
	if (pool_submit_task(srv->pool, mon_task_run, t) == -1) {
		json_decref(msg);
		free(t);
		ipc_reply(ch, id, json_pack("{s:b, s:i, s:s, s:s, s:b}", "ok", 0,
		    "found", -1, "error", "the gateway is busy", "why",
		    "the gateway is busy", "warn", 1));
	}
}

/*
 * A handshake's digest, signed with the server key of the monitor's
 * current configuration, on the reader thread: one ECDSA signature is a
 * few tens of microseconds, and every full handshake waits for it.
 */
static void
mon_tls_sign(struct ipc *ch, uint64_t id, json_t *msg)
{
	struct gw_snapshot *snap = snapshot_get();
	EVP_PKEY *key = snap ? SSL_CTX_get0_privatekey(snap->ssl) : NULL;
	unsigned char sig[256], *dgst;
	size_t dlen, slen = sizeof(sig);
	EVP_PKEY_CTX *ctx = NULL;
	json_t *r;

	dgst = ipc_b64(msg, "digest", 64, &dlen);
	if (dgst != NULL && key != NULL && EVP_PKEY_get_base_id(key) ==
	    EVP_PKEY_EC && (ctx = EVP_PKEY_CTX_new(key, NULL)) != NULL &&
	    EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_sign(ctx, sig, &slen,
	    dgst, dlen) == 1)
		r = json_pack("{s:o}", "sig", ipc_b64_new(sig, slen));
	else
		r = json_pack("{s:s}", "error", "cannot sign");
	EVP_PKEY_CTX_free(ctx);
	free(dgst);
	snapshot_put(snap);
	ERR_clear_error();
	ipc_reply(ch, id, r);
}

void
mon_ipc_handle(struct ipc *ch, int type, uint64_t id, int is_call,
    json_t *msg, void *arg)
{
	struct server *srv = arg;

	if (type == IPC_CLOSED)
		return;		/* the child watch (spawn.c) handles its end */
	if (!mon_msg_valid(type, msg) || (type != IPC_AUDIT && !is_call)) {
		log_warnx("monitor: a malformed or forbidden message (type %d) "
		    "from the network process was refused", type);
		json_decref(msg);
		if (is_call)
			ipc_reply(ch, id, json_pack("{s:b, s:s}", "ok", 0,
			    "error", "refused by the monitor"));
		return;
	}
	if (type == IPC_AUDIT) {
		mon_audit(srv, ch, id, is_call, msg);
		json_decref(msg);
		return;
	}
	switch (type) {
	case IPC_JOB:
		mon_job_submit(srv, ch, id, msg);	/* takes msg */
		return;
	case IPC_SSH_DEVICE:
	case IPC_SSH_SESSION:
	case IPC_SSH_THROTTLE:
	case IPC_SSH_KBDINT:
	case IPC_SSH_GROUPS:
		mon_task(srv, ch, id, type, msg);	/* takes msg */
		return;
	case IPC_TLS_SIGN:
		mon_tls_sign(ch, id, msg);
		json_decref(msg);
		return;
	default:
		ipc_reply(ch, id, json_pack("{s:s}", "error",
		    "unknown message"));
		json_decref(msg);
	}
}
