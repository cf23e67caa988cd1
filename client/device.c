/*
 * The enrolled device as every verb after enrolment sees it: the gateway's
 * address, the device certificate and its id, and renewal over EST
 * (simplereenroll, same key) once the certificate is in the last third of
 * its life, so that a device in daily use never lapses.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "certs/certs.h"
#include "client/gw.h"
#include "common/errbuf.h"
#include "common/xmalloc.h"

#define EST_REENROLL	"/.well-known/est/simplereenroll"
#define RENEW_VERB	"renew"		/* how renewal's messages start */

static int
device_read_gateway(struct client_device *dev, char *err, size_t errlen)
{
	char why[CLIENT_ERR_MAX], *text;
	size_t len;
	int rc;

	if ((text = client_state_read(&dev->st, STATE_GATEWAY, &len, why,
	    sizeof(why))) == NULL) {
		if (errno == ENOENT)
			errbuf_set(err, errlen, "not enrolled in %s (run mwg "
			    "enrol)", dev->st.dir);
		else
			errbuf_set(err, errlen, "%s", why);
		return -1;
	}
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		text[--len] = '\0';
	rc = client_parse_hostport(text, &dev->gw, why, sizeof(why));
	free(text);
	if (rc == -1) {
		errbuf_set(err, errlen, "%s/%s: %s", dev->st.dir, STATE_GATEWAY,
		    why);
		return -1;
	}
	client_format_hostport(&dev->gw, dev->gw_text, sizeof(dev->gw_text));
	return 0;
}

/* The files an enrolment leaves, and who the certificate names. */
static int
device_read(struct client_device *dev, char *err, size_t errlen)
{
	const struct client_state *st = &dev->st;
	struct certs_identity id;
	X509 *cert;
	int rc = -1;

	if (!client_state_has(st, STATE_DEVICE)) {
		errbuf_set(err, errlen, "not enrolled in %s (run mwg enrol)",
		    st->dir);
		return -1;
	}
	if (device_read_gateway(dev, err, errlen) == -1)
		return -1;
	if (client_state_path(st, STATE_CA, dev->ca, sizeof(dev->ca)) == -1 ||
	    client_state_path(st, STATE_DEVICE, dev->cert,
	    sizeof(dev->cert)) == -1 || client_state_path(st, STATE_KEY,
	    dev->key, sizeof(dev->key)) == -1) {
		errbuf_set(err, errlen, "%s: path too long", st->dir);
		return -1;
	}
	if (!client_state_has(st, STATE_KEY)) {
		errbuf_set(err, errlen, "%s is missing: enrol again (mwg enrol "
		    "--force)", dev->key);
		return -1;
	}
	if ((cert = certs_read_cert(dev->cert, err, errlen)) == NULL)
		return -1;
	memset(&id, 0, sizeof(id));
	if (certs_identity(cert, &id) == -1 || client_cert_times(cert,
	    &dev->not_before, &dev->not_after) == -1)
		errbuf_set(err, errlen, "%s is not an mwg device certificate",
		    dev->cert);
	else {
		snprintf(dev->id, sizeof(dev->id), "%s", id.device_id);
		rc = 0;
	}
	X509_free(cert);
	return rc;
}

int
client_device_load(const struct client_state *st, const char *verb,
    struct client_device *dev)
{
	char err[CLIENT_ERR_MAX];

	memset(dev, 0, sizeof(*dev));
	dev->st = *st;
	if (device_read(dev, err, sizeof(err)) == -1) {
		client_fail(verb, "%s", err);
		return -1;
	}
	return 0;
}

/* Writes the new CA certificates, then the device certificate. */
static int
device_store(struct client_device *dev, STACK_OF(X509) *anchors, X509 *cert)
{
	STACK_OF(X509) *one = sk_X509_new_null();
	char err[CLIENT_ERR_MAX], *pem = NULL, *ca = NULL;
	size_t len, calen;
	int rc = -1;

	if (one == NULL || sk_X509_push(one, cert) <= 0)
		client_fail(RENEW_VERB, "out of memory");
	else if ((ca = client_est_pem(anchors, &calen, err, sizeof(err))) ==
	    NULL || (pem = client_est_pem(one, &len, err, sizeof(err))) ==
	    NULL)
		client_fail(RENEW_VERB, "%s", err);
	else if (client_state_write(&dev->st, STATE_CACERTS, ca, calen, 0644,
	    err, sizeof(err)) == -1 || client_state_write(&dev->st,
	    STATE_DEVICE, pem, len, 0644, err, sizeof(err)) == -1)
		client_fail(RENEW_VERB, "%s", err);
	else
		rc = 0;
	free(pem);
	free(ca);
	sk_X509_free(one);	/* cert is the caller's */
	return rc;
}

/* One simplereenroll exchange; 0 if the new certificate is stored. */
static int
device_reenroll(struct client_device *dev)
{
	struct certs_identity id;
	struct client_tls *t;
	STACK_OF(X509) *anchors = NULL;
	char err[CLIENT_ERR_MAX];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc = -1;

	if ((t = client_tls_new(&dev->gw, dev->ca, dev->cert, dev->key, err,
	    sizeof(err))) == NULL) {
		client_fail(RENEW_VERB, "%s", err);
		return -1;
	}
	if ((key = certs_read_key(dev->key, err, sizeof(err))) == NULL)
		client_fail(RENEW_VERB, "%s", err);
	else if ((anchors = client_est_cacerts(t, RENEW_VERB)) != NULL &&
	    (cert = client_est_enroll(t, RENEW_VERB, EST_REENROLL, NULL, key,
	    anchors)) != NULL) {
		memset(&id, 0, sizeof(id));
		if (certs_identity(cert, &id) == -1 ||
		    strcmp(id.device_id, dev->id) != 0)
			client_fail(RENEW_VERB, "the renewed certificate names "
			    "device '%s', not '%s'", id.device_id, dev->id);
		else if (device_store(dev, anchors, cert) == 0 &&
		    client_cert_times(cert, &dev->not_before,
		    &dev->not_after) == 0)
			rc = 0;
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	sk_X509_pop_free(anchors, X509_free);
	client_tls_free(t);
	return rc;
}

int
client_device_renew(struct client_device *dev, const char *verb)
{
	time_t now = time(NULL);
	char when[64];

	client_format_time(dev->not_after, when, sizeof(when));
	if (now >= dev->not_after) {
		client_fail(verb, "the device certificate expired on %s: enrol "
		    "again with a new code (mwg enrol --force)", when);
		return -1;
	}
	if (!client_renew_due(dev->not_before, dev->not_after, now))
		return 0;
	if (device_reenroll(dev) == -1) {
		client_warn(verb, "the device certificate was not renewed; it "
		    "is valid until %s", when);
		return 0;
	}
	fprintf(stderr, "mwg: renewed the device certificate of %s; valid "
	    "until %s\n", dev->id, client_format_time(dev->not_after, when,
	    sizeof(when)));
	return 0;
}
