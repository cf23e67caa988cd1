/*
 * POST /v1/login: a person proves who they are (PAM password and a TOTP
 * code) on an enrolled device and gets a short-lived session certificate
 * for that device's key. Runs on the auth pool (job.h).
 */
#ifndef MWG_GW_LOGIN_H
#define MWG_GW_LOGIN_H

#include "gateway/job.h"

#define LOGIN_PASSWORD_MAX	1024	/* bytes of a password */
#define LOGIN_OTP_MAX		16	/* a code's bytes, with NUL */

/*
 * Body {"user": U, "password": P, "otp": C} (other members ignored).
 * Answers 200 {"certificate": PEM, "expires_at": epoch, "user", "device",
 * "groups", "roles", "practices"}; 400 bad body, 401 no certificate or
 * any wrong factor (one answer for all), 403 device not enrolled,
 * revoked, locked or another person's, 405, 415, 429 throttled (with
 * retry_after), 500, 503 (PAM, store or audit failing). Every outcome
 * but 405 and 415 is audited as auth.login; a success also as
 * session.issue.
 */
void login_job(const struct job_ctx *ctx, const struct job_in *in,
    struct job_out *out);

#endif
