/*
 * Enrolment over EST (RFC 7030): the CA certificates, a first device
 * certificate for an enrolment code, and renewal with the device's current
 * certificate. Each handler is a job_fn (gateway/job.h) run on the auth
 * pool; answers are base64 DER (the caller adds
 * "Content-Transfer-Encoding: base64", RFC 7030 §4.1.3).
 */
#ifndef MWG_GW_EST_H
#define MWG_GW_EST_H

#include "gateway/job.h"

#define EST_PATH_CACERTS	"/.well-known/est/cacerts"
#define EST_PATH_ENROLL		"/.well-known/est/simpleenroll"
#define EST_PATH_REENROLL	"/.well-known/est/simplereenroll"
/* Not EST: the root CA alone, in PEM, for IT to hand out (mwg enrol --ca). */
#define EST_PATH_ROOT_PEM	"/root.pem"
/* The media type of every successful EST answer (RFC 7030 §4.1.3, §4.2.3). */
#define EST_PKCS7_TYPE		"application/pkcs7-mime; smime-type=certs-only"
#define EST_CSR_TYPE		"application/pkcs10"
#define EST_ID_PREFIX		"dev-"
#define EST_ID_RANDOM		10	/* characters after the prefix */

/* GET: the issuing CA and the root, certs-only PKCS#7. */
void est_cacerts_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out);
/*
 * GET: the root CA certificate (listen tls { root }) as PEM, or 404 when
 * none is configured. Needs no certificate: it is public, and a person
 * compares its fingerprint with the one IT gives before trusting it.
 */
void est_root_pem_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out);
/*
 * POST with HTTP Basic "CODE_ID:SECRET" and a base64 PKCS#10 body: uses
 * the enrolment code once, adds a new device for the person, practice and
 * management flag the code was made for, and answers its certificate.
 */
void est_enroll_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out);
/*
 * POST with the device's current certificate and a new request (a new key
 * is allowed): in the last third of that certificate's life, a new
 * certificate for the same device id.
 */
void est_reenroll_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out);

#endif
