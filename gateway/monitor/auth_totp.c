/*
 * TOTP (RFC 6238) codes: liboath computes and compares, the store keeps
 * the secret and the last accepted time step. A code is good once: the
 * step it matched must be newer than the last one accepted, and the store
 * checks and moves that step in one statement.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <oath.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/errbuf.h"
#include "gateway/monitor/auth.h"
#include "gateway/monitor/store.h"

#define TOTP_DIGITS_MAX		8
/*
 * RFC 4226 §4 asks for 128 bits at least, but secrets made by common
 * authenticator tools (and so found in pam_oath files) have 80: refusing
 * them would only send people back to IT for a new enrolment.
 */
#define TOTP_IMPORT_MIN		10

static pthread_once_t totp_once = PTHREAD_ONCE_INIT;
static int totp_init_rc;	/* oath_init's result, set once */

static void
totp_init_once(void)
{
	totp_init_rc = oath_init();
}

static int
totp_init(char *err, size_t errlen)
{
	pthread_once(&totp_once, totp_init_once);
	if (totp_init_rc != OATH_OK) {
		errbuf_set(err, errlen, "liboath: %s",
		    oath_strerror(totp_init_rc));
		return -1;
	}
	return 0;
}

/* 0 if code is exactly digits decimal digits. */
static int
totp_code_wellformed(const char *code, unsigned digits)
{
	size_t i;

	for (i = 0; code[i] != '\0'; i++)
		if (i >= digits || code[i] < '0' || code[i] > '9')
			return -1;
	return i == digits ? 0 : -1;
}

/* liboath's comparison callback: the candidate against the code, in
 * constant time (both have the stored length, checked before). */
static int
totp_cmp_cb(void *handle, const char *candidate)
{
	const char *code = handle;
	size_t len = strlen(code);

	if (strlen(candidate) != len)
		return 1;
	return CRYPTO_memcmp(code, candidate, len) == 0 ? 0 : 1;
}

/*
 * Which time step code matches within the window: 0 and *step, 1 if none,
 * -1 on a liboath error.
 */
static int
totp_match(const unsigned char *secret, size_t len,
    const struct store_totp_info *info, const char *code, time_t now,
    uint64_t *step, char *err, size_t errlen)
{
	int pos = 0, rc;

	rc = oath_totp_validate3_callback((const char *)secret, len, now,
	    info->period, 0, info->digits, AUTH_TOTP_WINDOW, &pos, step,
	    totp_cmp_cb, (void *)code);
	if (rc >= 0)
		return 0;
	if (rc == OATH_INVALID_OTP)
		return 1;
	errbuf_set(err, errlen, "liboath: %s", oath_strerror(rc));
	return -1;
}

/* The secret's verdict on code: 0 and *step, 1 with *why, or -1. */
static int
totp_verify(const unsigned char *secret, size_t len,
    const struct store_totp_info *info, const char *code, time_t now,
    uint64_t *step, const char **why, char *err, size_t errlen)
{
	int rc;

	if (info->disabled_at != 0) {
		*why = "TOTP disabled";
		return 1;
	}
	if (totp_code_wellformed(code, info->digits) == -1) {
		*why = "malformed code";
		return 1;
	}
	rc = totp_match(secret, len, info, code, now, step, err, errlen);
	if (rc == 1)
		*why = "wrong code";
	else if (rc == 0 && *step > INT64_MAX) {
		errbuf_set(err, errlen, "TOTP step %llu out of range",
		    (unsigned long long)*step);
		rc = -1;
	}
	return rc;
}

int
auth_totp_check(struct store *st, const char *user, const char *code,
    time_t now, const char **why, char *err, size_t errlen)
{
	unsigned char secret[STORE_TOTP_SECRET_MAX];
	struct store_totp_info info;
	uint64_t step = 0;
	size_t len = 0;
	int rc;

	*why = NULL;
	if (totp_init(err, errlen) == -1)
		return -1;
	rc = store_totp_get(st, user, secret, &len, &info, err, errlen);
	if (rc == 1)
		rc = totp_verify(secret, len, &info, code, now, &step, why,
		    err, errlen);
	else if (rc == 0) {
		*why = "no TOTP enrolled";
		rc = 1;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	if (rc != 0)
		return rc;
	/* The replay rule: a step at or before the last accepted is spent. */
	rc = store_totp_accept_step(st, user, (int64_t)step, err, errlen);
	if (rc == 1)
		*why = "code already used";
	return rc;
}

int
auth_totp_failed(struct store *st, const char *user, time_t now, char *err,
    size_t errlen)
{
	int count = 0, rc;

	rc = store_totp_failure(st, user, &count, err, errlen);
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	if (count < AUTH_TOTP_DISABLE_AFTER)
		return 0;
	/*
	 * Past the limit too (idempotent: the first time is kept), so that
	 * a disable that failed once is made by the next failure.
	 */
	rc = store_totp_disable(st, user, now > 0 ? now : 1, err, errlen);
	if (rc == -1)
		return -1;
	return count == AUTH_TOTP_DISABLE_AFTER ? 1 : 0;
}

/* secret as base32 without '=' padding into b32. 0 or -1. */
static int
totp_base32(const unsigned char *secret, size_t len, char *b32,
    size_t b32len, char *err, size_t errlen)
{
	char *enc = NULL;
	size_t enclen = 0;
	int rc;

	rc = oath_base32_encode((const char *)secret, len, &enc, &enclen);
	if (rc != OATH_OK) {
		errbuf_set(err, errlen, "base32: %s", oath_strerror(rc));
		return -1;
	}
	while (enclen > 0 && enc[enclen - 1] == '=')
		enclen--;
	rc = 0;
	if (enclen >= b32len) {
		errbuf_set(err, errlen, "base32 secret needs %zu bytes, "
		    "buffer has %zu", enclen + 1, b32len);
		rc = -1;
	} else {
		memcpy(b32, enc, enclen);
		b32[enclen] = '\0';
	}
	OPENSSL_cleanse(enc, strlen(enc));
	free(enc);
	return rc;
}

int
auth_totp_enrol(struct store *st, const char *user, char *b32, size_t b32len,
    char *err, size_t errlen)
{
	unsigned char secret[AUTH_TOTP_SECRET_LEN];
	int rc = -1;

	if (b32len > 0)
		b32[0] = '\0';
	if (totp_init(err, errlen) == -1)
		return -1;
	if (RAND_bytes(secret, sizeof(secret)) != 1) {
		errbuf_set(err, errlen, "no random bytes for a TOTP secret");
		return -1;
	}
	/* Encoded first: a secret nobody can be shown is not stored. */
	if (totp_base32(secret, sizeof(secret), b32, b32len, err,
	    errlen) == 0 &&
	    store_totp_set(st, user, secret, sizeof(secret), AUTH_TOTP_DIGITS,
	    AUTH_TOTP_PERIOD, err, errlen) == 0)
		rc = 0;
	OPENSSL_cleanse(secret, sizeof(secret));
	if (rc == -1 && b32len > 0)
		OPENSSL_cleanse(b32, b32len);
	return rc;
}

int
auth_totp_import(struct store *st, const char *user,
    const unsigned char *secret, size_t len, unsigned digits, unsigned period,
    char *err, size_t errlen)
{
	if (len < TOTP_IMPORT_MIN || len > STORE_TOTP_SECRET_MAX) {
		errbuf_set(err, errlen, "TOTP secret of %zu bytes: want %d..%d",
		    len, TOTP_IMPORT_MIN, STORE_TOTP_SECRET_MAX);
		return -1;
	}
	if (digits < AUTH_TOTP_DIGITS || digits > TOTP_DIGITS_MAX) {
		errbuf_set(err, errlen, "TOTP of %u digits: want %d..%d",
		    digits, AUTH_TOTP_DIGITS, TOTP_DIGITS_MAX);
		return -1;
	}
	if (period == 0)
		period = AUTH_TOTP_PERIOD;
	return store_totp_set(st, user, secret, len, digits, period, err,
	    errlen);
}
