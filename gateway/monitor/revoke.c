/*
 * The CRL: every unexpired certificate the gateway refuses for revocation
 * (all of a revoked device's device and session certificates) or renewal
 * (superseded device certificates), signed by the issuing CA. Built on the
 * main thread (start, revoke, daily); read by the pool for GET /crl under
 * a mutex.
 */
#include "gateway/monitor/revoke.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <http_parser.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/safefile.h"
#include "common/xmalloc.h"
#include "gateway/server.h"
#include "gateway/monitor/store.h"

static pthread_mutex_t crl_lock = PTHREAD_MUTEX_INITIALIZER;
static char *crl_pem;		/* the latest CRL, PEM */
static long crl_number;

struct revoked_list {
	struct certs_revoked *v;
	char (*serials)[STORE_SERIAL_MAX];
	size_t n, cap;
	time_t now;
};

/* An expired certificate is refused anyway (RFC 5280 §3.3): left out. */
static int
collect_revoked(const struct store_revoked *r, void *arg)
{
	struct revoked_list *l = arg;

	if (r->expires_at <= l->now || r->serial[0] == '\0')
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
		l->serials = xreallocarray(l->serials, l->cap,
		    sizeof(*l->serials));
	}
	memcpy(l->serials[l->n], r->serial, STORE_SERIAL_MAX);
	l->v[l->n].revoked_at = r->revoked_at;
	l->v[l->n].reason = r->is_superseded ? CERTS_CRL_REASON_SUPERSEDED : 0;
	l->n++;
	return 0;
}

/* Replaced whole (a reader never sees half a CRL), in a checked directory
 * and never through a link (common/safefile). */
static int
write_atomic(const char *path, const char *text, char *err, size_t errlen)
{
	char why[SAFEFILE_ERR_MAX];

	if (safefile_replace(path, text, strlen(text), 0644, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "cannot write the CRL: %s", why);
		return -1;
	}
	return 0;
}

/*
 * The number of the CRL already at path, or 0: the first CRL of a new
 * process goes on from it, so a restart within the second of a
 * revocation (whose CRL took time + 1) never reuses a number (RFC 5280
 * §5.2.3: monotonically increasing).
 */
static long
crl_number_on_disk(const char *path)
{
	ASN1_INTEGER *num = NULL;
	X509_CRL *crl = NULL;
	long n = 0;
	FILE *f;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return 0;
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return 0;
	}
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	if (crl != NULL)
		num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	if (num != NULL)
		n = ASN1_INTEGER_get(num);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	ERR_clear_error();	/* a missing or foreign file leaves errors */
	return n > 0 ? n : 0;
}

int
revoke_publish(struct server *srv, const char *path, char *err, size_t errlen)
{
	time_t now = time(NULL);
	struct revoked_list l = { .now = now };
	char *pem = NULL;
	int rc = -1;

	if (srv->issuer == NULL)
		return 0;	/* no CA key: nothing is issued, nothing revoked */
	if (store_revoked_list(srv->store, collect_revoked, &l, err, errlen) ==
	    -1)
		goto out;
	for (size_t i = 0; i < l.n; i++)
		l.v[i].serial = l.serials[i];
	pthread_mutex_lock(&crl_lock);
	/* CRL numbers must only grow, across restarts too: the time does,
	 * and a second CRL within the same second takes the next number. */
	if (crl_number == 0)
		crl_number = crl_number_on_disk(path);
	crl_number = (long)now > crl_number ? (long)now : crl_number + 1;
	pem = certs_crl_pem(srv->issuer, l.v, l.n, now - 60,
	    now + REVOKE_CRL_DAYS * 86400, crl_number, err, errlen);
	pthread_mutex_unlock(&crl_lock);
	if (pem == NULL || write_atomic(path, pem, err, errlen) == -1)
		goto out;
	pthread_mutex_lock(&crl_lock);
	free(crl_pem);
	crl_pem = pem;
	pem = NULL;
	pthread_mutex_unlock(&crl_lock);
	rc = 0;
out:
	free(pem);
	free(l.v);
	free(l.serials);
	return rc;
}

void
revoke_crl_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out)
{
	(void)ctx;
	if (in->method != HTTP_GET) {
		job_error(out, 405, "method-not-allowed", "use GET for /crl");
		return;
	}
	pthread_mutex_lock(&crl_lock);
	if (crl_pem != NULL) {
		out->raw = xstrdup(crl_pem);
		out->raw_len = strlen(crl_pem);
	}
	pthread_mutex_unlock(&crl_lock);
	if (out->raw == NULL) {
		job_error(out, 404, "not-found", "this gateway issues no "
		    "certificates and publishes no CRL");
		return;
	}
	out->status = 200;
	snprintf(out->content_type, sizeof(out->content_type),
	    "application/x-pem-file");
}

void
revoke_free(void)
{
	pthread_mutex_lock(&crl_lock);
	free(crl_pem);
	crl_pem = NULL;
	pthread_mutex_unlock(&crl_lock);
}
