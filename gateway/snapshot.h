/*
 * The read-mostly state every decision uses — configuration, policy, TLS
 * context — as one immutable, reference-counted snapshot. A reload builds a
 * new one completely or fails; the swap is atomic, and a connection keeps
 * the snapshot it started with until it lets go.
 */
#ifndef MWG_GW_SNAPSHOT_H
#define MWG_GW_SNAPSHOT_H

#include <stdatomic.h>

#include <openssl/ssl.h>

#include "common/conf.h"
#include "gateway/config.h"
#include "policy/policy.h"

struct gw_snapshot {
	atomic_int refs;
	struct gw_config *conf;
	struct policy *policy;
	SSL_CTX *ssl;
	/* SHA-256 of the server certificate's DER, hex: the reload audit
	 * record says when a renewed one (mwgctl ca server-cert) is served. */
	char server_sha256[65];
	unsigned long generation;
};

/* Loads mwgd.conf, the policy it names and the TLS material. */
struct gw_snapshot *snapshot_load(const char *conf_path,
    struct conf_errors *errs);
/* The current snapshot with a reference taken; release with snapshot_put. */
struct gw_snapshot *snapshot_get(void);
void snapshot_put(struct gw_snapshot *s);
/* Installs s (its reference passes to the store); returns the old one's
 * policy hash in old_hash (65 bytes) if there was one. */
void snapshot_install(struct gw_snapshot *s, char *old_hash, size_t len);
/* Drops the store's reference at shutdown. */
void snapshot_clear(void);

/* TLS server context per DESIGN §4 (gateway/tls.c). NULL with errors. */
SSL_CTX *tls_server_ctx(const struct gw_config *c, struct conf_errors *errs);

#endif
