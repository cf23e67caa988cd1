/*
 * auth: who a person is — the password through PAM, the TOTP code through
 * liboath (each code once), throttling of failures, and groups from NSS.
 * Every function may block (PAM can sleep on failure; the store writes):
 * call them on the auth pool only, never on a worker's loop. Nothing here
 * logs or returns a secret.
 */
#ifndef MWG_GW_AUTH_H
#define MWG_GW_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "certs/certs.h"

struct store;
struct store_throttle;

/* ---- passwords (auth_pam.c) --------------------------------------------- */

#define AUTH_PAM_SERVICE	"mwg"

/*
 * pam_authenticate then pam_acct_mgmt for user with password on service.
 * The conversation answers PAM_PROMPT_ECHO_OFF with the password and
 * nothing else (PAM_PROMPT_ECHO_ON with the user name); it tolerates
 * resp == NULL. Returns 0 accepted, 1 refused (why: "wrong password or
 * unknown user", "account not permitted: ..."), -1 PAM itself failed (why
 * says how). why is for the audit record, never for the client.
 */
int auth_pam_check(const char *service, const char *user,
    const char *password, char *why, size_t whylen);

/* ---- TOTP (auth_totp.c) ------------------------------------------------- */

#define AUTH_TOTP_DIGITS	6
#define AUTH_TOTP_PERIOD	30
#define AUTH_TOTP_WINDOW	1	/* steps either side of now */
#define AUTH_TOTP_SECRET_LEN	20	/* 160 bits */
#define AUTH_TOTP_DISABLE_AFTER	100	/* consecutive failures */
#define AUTH_TOTP_B32_MAX	64	/* base32 text of a secret, with NUL */

/*
 * Checks code for user at now: the secret from the store, liboath with
 * window ±AUTH_TOTP_WINDOW, then the replay rule (store_totp_accept_step:
 * a step at or before the last accepted one is refused, atomically).
 * Returns 0 accepted; 1 refused with *why one of "no TOTP enrolled",
 * "TOTP disabled", "malformed code", "wrong code", "code already used";
 * -1 on error (err). Counting the failure is the caller's
 * (auth_totp_failed), because a login counts one failure per attempt.
 */
int auth_totp_check(struct store *st, const char *user, const char *code,
    time_t now, const char **why, char *err, size_t errlen);
/*
 * One more consecutive failure for user's TOTP; the 100th disables it
 * until IT enrols it again. Returns 1 if this failure disabled it, 0 if
 * not (or the user has no TOTP), -1 on error.
 */
int auth_totp_failed(struct store *st, const char *user, time_t now,
    char *err, size_t errlen);
/*
 * A new 160-bit secret from the CSPRNG for user (SHA-1, 6 digits, 30 s),
 * stored encrypted (replacing any); its base32 (no padding) into b32
 * (AUTH_TOTP_B32_MAX bytes) for the otpauth URI. 0 or -1.
 */
int auth_totp_enrol(struct store *st, const char *user, char *b32,
    size_t b32len, char *err, size_t errlen);
/*
 * Stores a given secret (e.g. from a pam_oath users file), digits 6..8,
 * period 30 unless the file said otherwise. 0 or -1.
 */
int auth_totp_import(struct store *st, const char *user,
    const unsigned char *secret, size_t len, unsigned digits,
    unsigned period, char *err, size_t errlen);

/* ---- throttling (auth_throttle.c) --------------------------------------- */

/*
 * Failures slow a person and a source address down, separately: the
 * first AUTH_THROTTLE_FREE consecutive failures cost nothing (typing
 * mistakes), then each waits twice as long as the last, from 2 s up to
 * AUTH_THROTTLE_DELAY_MAX; and no key gets more than AUTH_THROTTLE_MAX
 * guesses in AUTH_THROTTLE_WINDOW seconds. Never a hard lock.
 */
#define AUTH_THROTTLE_FREE	2
#define AUTH_THROTTLE_DELAY_MAX	60
#define AUTH_THROTTLE_MAX	10
#define AUTH_THROTTLE_WINDOW	300

/*
 * Keys: "user:NAME", "ip:ADDRESS", "code:ID". Returns 0 if every key
 * (NULL entries are skipped) may try at now, else the seconds until all
 * may (> 0), or -1 on error.
 */
long auth_throttle_wait(struct store *st, const char *const *keys, size_t n,
    time_t now, char *err, size_t errlen);
/* Records one failure against each key. 0 or -1. */
int auth_throttle_fail(struct store *st, const char *const *keys, size_t n,
    time_t now, char *err, size_t errlen);
/* Forgets key's failures (after a success). 0 or -1. */
int auth_throttle_clear(struct store *st, const char *key, char *err,
    size_t errlen);
/* When a key with row t may try again: its next_allowed_at, or the end of
 * its window once it has had AUTH_THROTTLE_MAX failures in it. */
time_t auth_throttle_until(const struct store_throttle *t);

/* ---- groups (auth_groups.c) --------------------------------------------- */

/*
 * user's groups from NSS (getgrouplist, then getgrgid_r for names): the
 * primary group first, names that fail certs_group_valid skipped, at most
 * max. Returns the count, or -1 if NSS does not know user.
 */
int auth_groups(const char *user, char (*groups)[CERTS_GROUP_MAX],
    size_t max);

/* ---- both factors (auth_verdict.c) -------------------------------------- */

#define AUTH_VERDICT_ERR_MAX	256

struct denylist;

/* The lock, the password and the code, for one attempt. */
struct auth_verdict {
	int locked;
	char lock_reason[256];		/* DENYLIST_REASON_MAX */
	int pam;			/* auth_pam_check's result */
	char pam_why[AUTH_VERDICT_ERR_MAX];
	int totp;			/* auth_totp_check's result */
	const char *totp_why;
	char totp_err[AUTH_VERDICT_ERR_MAX];
};

/* Checks all three, always: the same work whichever is wrong, and a
 * right code sent with a wrong password is spent. deny may be NULL. */
void auth_verdict_check(struct store *st, struct denylist *deny,
    const char *service, const char *user, const char *password,
    const char *code, time_t now, struct auth_verdict *v);
/* 1 if the person failed (locked, wrong password or code); an error of
 * PAM or the store is neither failure nor success. */
int auth_verdict_refused(const struct auth_verdict *v);
/* Every reason, joined with "; ", into buf; lock: how the caller words
 * the lock (used only if locked). */
void auth_verdict_why(const struct auth_verdict *v, const char *lock,
    char *buf, size_t len);
/* Counts a refused attempt against keys, and a wrong code with the right
 * password towards disabling TOTP: 1 if TOTP was disabled just now. */
int auth_verdict_failed(struct store *st, const struct auth_verdict *v,
    const char *user, const char *const *keys, time_t now);

#endif
