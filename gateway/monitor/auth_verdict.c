/*
 * Both factors of a person (gateway/monitor/auth.h: auth_verdict_*), as
 * POST /v1/login and the SSH listener's keyboard-interactive check them:
 * the lock, the password and the code, always all three, the same
 * reasons in the same words, and a failure counted the same way.
 */
#include "gateway/monitor/auth.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "gateway/denylist.h"

void
auth_verdict_check(struct store *st, struct denylist *deny,
    const char *service, const char *user, const char *password,
    const char *code, time_t now, struct auth_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (deny != NULL)
		v->locked = denylist_user(deny, user, now, v->lock_reason,
		    sizeof(v->lock_reason)) == 1;
	v->pam = auth_pam_check(service ? service : AUTH_PAM_SERVICE, user,
	    password, v->pam_why, sizeof(v->pam_why));
	v->totp = auth_totp_check(st, user, code, now, &v->totp_why,
	    v->totp_err, sizeof(v->totp_err));
}

int
auth_verdict_refused(const struct auth_verdict *v)
{
	return v->locked || v->pam == 1 || v->totp == 1;
}

/*
 * PAM cannot tell a wrong password from an unknown name (and should
 * not), so "wrong password" covers both.
 */
static const char *
verdict_pam_why(const struct auth_verdict *v)
{
	if (v->pam == 1 && strncmp(v->pam_why, "wrong password", 14) == 0)
		return "wrong password";
	return v->pam_why;
}

void
auth_verdict_why(const struct auth_verdict *v, const char *lock, char *buf,
    size_t len)
{
	int n = 0;

	buf[0] = '\0';
	if (v->locked)
		n = snprintf(buf, len, "%s", lock);
	if (v->pam != 0 && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "%s%s%s",
		    n ? "; " : "", v->pam == -1 ? "PAM error: " : "",
		    verdict_pam_why(v));
	if (v->totp != 0 && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "%s%s%s", n ? "; " : "",
		    v->totp == -1 ? "TOTP error: " : "",
		    v->totp == -1 ? v->totp_err : v->totp_why);
}

int
auth_verdict_failed(struct store *st, const struct auth_verdict *v,
    const char *user, const char *const *keys, time_t now)
{
	char err[AUTH_VERDICT_ERR_MAX];
	int rc = 0;

	if (auth_throttle_fail(st, keys, 2, now, err, sizeof(err)) == -1)
		log_warnx("throttle: %s", err);
	/*
	 * A wrong code counts towards disabling TOTP only with the right
	 * password: without it, guessing codes gains nothing (the answer is
	 * the same), and counting those would let anyone who knows a name
	 * lock that person out.
	 */
	if (v->pam == 0 && v->totp == 1 && (rc = auth_totp_failed(st, user,
	    now, err, sizeof(err))) == -1)
		log_warnx("TOTP of %s: %s", user, err);
	return rc == 1;
}
