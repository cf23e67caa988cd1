/*
 * The current snapshot, swapped under a mutex held only for the pointer
 * and the reference count change: readers never wait for a reload's parse.
 */
#include "gateway/snapshot.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/xmalloc.h"

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gw_snapshot *snap_current;
static unsigned long snap_generation;

static void
snapshot_free(struct gw_snapshot *s)
{
	gw_config_free(s->conf);
	policy_free(s->policy);
	SSL_CTX_free(s->ssl);
	free(s);
}

/* The certificate the context serves, hashed for the audit trail. */
static void
snapshot_cert_hash(struct gw_snapshot *s)
{
	X509 *x = SSL_CTX_get0_certificate(s->ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	s->server_sha256[0] = '\0';
	if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1)
		return;
	for (unsigned int i = 0; i < n && 2 * i + 2 < sizeof(s->server_sha256);
	    i++)
		snprintf(s->server_sha256 + 2 * i, 3, "%02x", md[i]);
}

struct gw_snapshot *
snapshot_load(const char *conf_path, struct conf_errors *errs)
{
	struct gw_snapshot *s = xcalloc(1, sizeof(*s));

	atomic_init(&s->refs, 1);
	if ((s->conf = gw_config_load(conf_path, errs)) == NULL)
		goto fail;
	s->policy = policy_load(s->conf->policy_path, errs);
	s->ssl = tls_server_ctx(s->conf, errs);
	if (s->policy == NULL || s->ssl == NULL)
		goto fail;
	snapshot_cert_hash(s);
	return s;
fail:
	snapshot_free(s);
	return NULL;
}

struct gw_snapshot *
snapshot_get(void)
{
	struct gw_snapshot *s;

	pthread_mutex_lock(&snap_lock);
	s = snap_current;
	if (s)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&snap_lock);
	return s;
}

void
snapshot_put(struct gw_snapshot *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		snapshot_free(s);
}

void
snapshot_install(struct gw_snapshot *s, char *old_hash, size_t len)
{
	struct gw_snapshot *old;

	pthread_mutex_lock(&snap_lock);
	old = snap_current;
	s->generation = ++snap_generation;
	snap_current = s;
	pthread_mutex_unlock(&snap_lock);
	if (old_hash)
		snprintf(old_hash, len, "%s", old ? policy_hash(old->policy) : "");
	snapshot_put(old);
}

void
snapshot_clear(void)
{
	struct gw_snapshot *old;

	pthread_mutex_lock(&snap_lock);
	old = snap_current;
	snap_current = NULL;
	pthread_mutex_unlock(&snap_lock);
	snapshot_put(old);
}
