/*
 * Throttling of failed logins per key ("user:NAME", "ip:ADDRESS"): a
 * growing delay after a few free mistakes, and a cap per window. It slows
 * guessing down without ever locking staff out for good, so an attacker
 * who knows a name cannot use it to keep that person from working.
 *
 * A key's row: failures in the current window (consecutive: a success
 * clears the row), when the window began, and when the key may try again.
 * When the window has passed, the next failure starts a new one at zero.
 */
#include <string.h>

#include "common/errbuf.h"
#include "gateway/monitor/auth.h"
#include "gateway/monitor/store.h"

/* The delay after the failures-th failure in a row. */
static long
throttle_delay(int failures)
{
	long d = 2;

	if (failures <= AUTH_THROTTLE_FREE)
		return 0;
	for (int i = AUTH_THROTTLE_FREE + 1; i < failures; i++) {
		d *= 2;
		if (d >= AUTH_THROTTLE_DELAY_MAX)
			return AUTH_THROTTLE_DELAY_MAX;
	}
	return d;
}

time_t
auth_throttle_until(const struct store_throttle *t)
{
	time_t until = t->next_allowed_at;
	time_t window_end = t->window_start + AUTH_THROTTLE_WINDOW;

	/* The cap: the next attempt waits for the window to end. */
	if (t->failures >= AUTH_THROTTLE_MAX && window_end > until)
		until = window_end;
	return until;
}

/* Seconds key's row t makes it wait at now (0: none). */
static long
throttle_row_wait(const struct store_throttle *t, time_t now)
{
	time_t until = auth_throttle_until(t);

	return until > now ? (long)(until - now) : 0;
}

long
auth_throttle_wait(struct store *st, const char *const *keys, size_t n,
    time_t now, char *err, size_t errlen)
{
	struct store_throttle t;
	long wait = 0, w;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (keys[i] == NULL)
			continue;
		rc = store_throttle_get(st, keys[i], &t, err, errlen);
		if (rc == -1)
			return -1;
		if (rc == 0)
			continue;
		if ((w = throttle_row_wait(&t, now)) > wait)
			wait = w;
	}
	return wait;
}

/*
 * One more failure for key at now: the store counts it in one statement
 * (a new window if the last has passed), so failures racing in this
 * process or on other nodes sharing the store all count; then the delay
 * the count earns is held, never shortened by a racing smaller one.
 */
static int
throttle_fail_one(struct store *st, const char *key, time_t now, char *err,
    size_t errlen)
{
	struct store_throttle t;

	if (store_throttle_count(st, key, now, AUTH_THROTTLE_WINDOW, &t, err,
	    errlen) == -1)
		return -1;
	return store_throttle_hold(st, key, now + throttle_delay(t.failures),
	    err, errlen);
}

int
auth_throttle_fail(struct store *st, const char *const *keys, size_t n,
    time_t now, char *err, size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		if (keys[i] != NULL)
			rc = throttle_fail_one(st, keys[i], now, err, errlen);
	return rc;
}

int
auth_throttle_clear(struct store *st, const char *key, char *err,
    size_t errlen)
{
	return store_throttle_clear(st, key, err, errlen);
}
