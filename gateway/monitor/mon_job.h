/*
 * IPC_JOB in the monitor: an API request the network process parsed the
 * head of, run by its handler (gateway/routes.h) on the auth pool, with
 * the client certificate verified here again.
 */
#ifndef MWG_GW_MON_JOB_H
#define MWG_GW_MON_JOB_H

#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "certs/certs.h"

struct server;
struct ipc;
struct gw_snapshot;

/* Takes msg; the answer goes back as the reply to call id. */
void mon_job_submit(struct server *srv, struct ipc *ch, uint64_t id,
    json_t *msg);

/*
 * The monitor's own verdict on a client certificate the network process
 * says verified: the chain to the issuing CA, the validity period, an
 * mwg identity, not revoked, not a session ended at logout. 1 with ident
 * filled, or 0 with why (the network process's wording).
 */
int mon_peer_verify(struct server *srv, const struct gw_snapshot *snap,
    X509 *cert, struct certs_identity *ident, char *why, size_t len);

#endif
