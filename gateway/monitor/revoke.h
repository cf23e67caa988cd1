/*
 * Revocation as the world sees it: the CRL, rebuilt from the state store
 * at start and after every revocation, written to the configured path and
 * kept in memory for GET /crl. (The gateway itself consults the denylist,
 * which also covers session certificates and older device certificates.)
 */
#ifndef MWG_GW_REVOKE_H
#define MWG_GW_REVOKE_H

#include <stddef.h>

#include "gateway/job.h"

struct server;

#define REVOKE_CRL_DAYS	7	/* nextUpdate; mwgd rewrites it daily */
#define REVOKE_REFRESH_S	86400

/* Builds, signs and writes the CRL to path (atomically, 0644). 0 or -1. */
int revoke_publish(struct server *srv, const char *path, char *err,
    size_t errlen);
/* GET /crl: the current CRL in PEM. */
void revoke_crl_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out);
void revoke_free(void);

#endif
