/*
 * gateway/denylist.c, the part mwg logout added: session certificates
 * ended early are refused until they expire, whether the gateway heard of
 * the logout itself or loaded it from the state store at a restart, and
 * expired entries leave instead of piling up.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "gateway/denylist.h"
#include "gateway/monitor/store.h"
#include "unit.h"

static char dir[64];
static char err[STORE_ERR_MAX];

static void
setup(void)
{
	make_tmp_dir(dir, sizeof(dir), "mwg-denylist-test");
}

static void
teardown(void)
{
	remove_tree(dir);
}

TestSuite(denylist, .init = setup, .fini = teardown);

Test(denylist, ended_sessions_until_they_expire)
{
	struct denylist *d = denylist_new();
	time_t now = time(NULL);

	cr_assert_eq(denylist_session_ended(d, "AB01", now), 0);
	denylist_session_end(d, "AB01", now + 60);
	cr_assert_eq(denylist_session_ended(d, "AB01", now), 1);
	cr_assert_eq(denylist_session_ended(d, "AB02", now), 0,
	    "only that serial");
	cr_assert_eq(denylist_session_ended(d, "AB01", now + 60), 0,
	    "an expired certificate needs no entry");
	/* Ending it again keeps one entry, with the new time. */
	denylist_session_end(d, "AB01", now + 120);
	cr_assert_eq(denylist_session_ended(d, "AB01", now + 60), 1);
	/* Locks and revocations are apart: a device of that name is free. */
	cr_assert_eq(denylist_device(d, "AB01", now, NULL, 0), 0);
	denylist_free(d);
	ASSERT_NO_LEAKS();
}

/* Many logouts, half of them for certificates that expired already (the
 * chains are swept of those as entries arrive; that is not observable
 * here, only that lookups stay right across the sweeping). */
Test(denylist, many_entries_old_and_new)
{
	struct denylist *d = denylist_new();
	time_t now = time(NULL);
	char serial[32];

	for (int i = 0; i < 5000; i++) {
		snprintf(serial, sizeof(serial), "OLD%04d", i);
		denylist_session_end(d, serial, now - 1);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(serial, sizeof(serial), "NEW%04d", i);
		denylist_session_end(d, serial, now + 600);
	}
	cr_assert_eq(denylist_session_ended(d, "NEW4999", now), 1);
	cr_assert_eq(denylist_session_ended(d, "OLD0001", now), 0);
	denylist_free(d);
	ASSERT_NO_LEAKS();
}

/* A restart: the ended sessions come back from the store. */
Test(denylist, load_brings_back_ended_sessions)
{
	struct store *st = store_open(dir, err, sizeof(err));
	struct denylist *d = denylist_new();
	struct store_device dev = { 0 };
	time_t now = time(NULL);
	struct store_session s1 = { "C1", "alice", "dev-a", now - 60,
	    now + 3600, 0 }, s2 = { "C2", "alice", "dev-a", now - 60,
	    now + 3600, 0 };

	cr_assert_not_null(st, "%s", err);
	snprintf(dev.id, sizeof(dev.id), "dev-a");
	snprintf(dev.user, sizeof(dev.user), "alice");
	snprintf(dev.practice, sizeof(dev.practice), "K84001");
	memset(dev.key_fpr, 'a', STORE_FPR_MAX - 1);
	snprintf(dev.cert_serial, sizeof(dev.cert_serial), "D1");
	dev.enrolled_at = now;
	dev.expires_at = now + 86400;
	cr_assert_eq(store_device_add(st, &dev, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(store_session_add(st, &s1, err, sizeof(err)), 0);
	cr_assert_eq(store_session_end(st, "dev-a", "alice", now, NULL, NULL,
	    err, sizeof(err)), 1);
	cr_assert_eq(store_session_add(st, &s2, err, sizeof(err)), 0,
	    "a later login");
	cr_assert_eq(denylist_load(d, st, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(denylist_session_ended(d, "C1", now), 1);
	cr_assert_eq(denylist_session_ended(d, "C2", now), 0,
	    "the session after the logout is live");
	denylist_free(d);
	store_close(st);
	ASSERT_NO_LEAKS();
}

/* A lock, not a revocation, until it runs out or is lifted. */
Test(denylist, locked_is_a_lock_that_holds)
{
	struct denylist *d = denylist_new();
	time_t now = time(NULL);

	denylist_lock(d, 1, "alice", now + 60, "left");
	denylist_lock(d, 0, "dev-a", 0, "lost");
	denylist_revoke(d, "dev-b", "stolen");
	cr_assert_eq(denylist_locked(d, 1, "alice", now), 1);
	cr_assert_eq(denylist_locked(d, 0, "alice", now), 0, "a person, "
	    "not a device");
	cr_assert_eq(denylist_locked(d, 1, "alice", now + 60), 0,
	    "run out");
	cr_assert_eq(denylist_locked(d, 0, "dev-a", now + 86400), 1,
	    "until lifted");
	cr_assert_eq(denylist_locked(d, 0, "dev-b", now), 0,
	    "revoked is not locked");
	denylist_unlock(d, 0, "dev-a");
	cr_assert_eq(denylist_locked(d, 0, "dev-a", now), 0);
	denylist_free(d);
	ASSERT_NO_LEAKS();
}
