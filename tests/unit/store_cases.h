/*
 * The state store's tests, the same for both back-ends: included by
 * store_test.c (SQLite) and store_pg_test.c (PostgreSQL), which first
 * define the suite "store", open_store(), reopen_store(), the raw_*()
 * access to the database, state_holds(), DB_NAME and SQL_BLOB_HOLDS.
 * Devices, single-use enrolment codes, TOTP sealing and the replay rule,
 * locks, sessions, posture and throttle rows; the shared rules also with
 * threads racing over several connections (several nodes, for
 * PostgreSQL).
 */
#ifndef MWG_STORE_CASES_H
#define MWG_STORE_CASES_H

Test(store, reopen_keeps_data_key_and_schema_version)
{
	struct store *st = open_store();
	unsigned char key1[32], key2[32], got[STORE_TOTP_SECRET_MAX];
	struct store_totp_info info;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(store_totp_set(st, "alice", totp_secret, TOTP_LEN, 6, 30,
				    err, sizeof(err)),
		     0, "%s", err);
	store_close(st);
	cr_assert_not_null(f = fopen(key_path, "rb"));
	cr_assert_eq(fread(key1, 1, 32, f), 32);
	fclose(f);

	st = open_store();
	cr_assert_eq(
	    store_totp_get(st, "alice", got, &len, &info, err, sizeof(err)), 1,
	    "%s", err);
	cr_assert_eq(len, TOTP_LEN);
	cr_assert_arr_eq(got, totp_secret, TOTP_LEN);
	store_close(st);
	cr_assert_not_null(f = fopen(key_path, "rb"));
	cr_assert_eq(fread(key2, 1, 32, f), 32);
	fclose(f);
	cr_assert_arr_eq(key1, key2, 32, "the key is made once");
	cr_assert_eq(raw_int("SELECT max(version) FROM schema_version"),
		     SCHEMA_VERSION);
	cr_assert_eq(raw_int("SELECT count(*) FROM schema_version"),
		     SCHEMA_VERSION);
	ASSERT_NO_LEAKS();
}

Test(store, newer_schema_is_refused)
{
	char want[160];

	store_close(open_store());
	raw_exec("INSERT INTO schema_version (version, applied_at) "
		 "VALUES (99, 0)");
	cr_assert_null(reopen_store());
	snprintf(want, sizeof(want), "%s has schema version 99, newer "
		 "than this program knows (%d): refusing to open it",
		 DB_NAME, SCHEMA_VERSION);
	cr_assert_str_eq(err, want);
	ASSERT_NO_LEAKS();
}

Test(store, loose_or_bad_key_files_are_refused)
{
	char want[PATH_MAX + 128];

	store_close(open_store());
	cr_assert_eq(chmod(key_path, 0640), 0);
	cr_assert_null(reopen_store());
	snprintf(want, sizeof(want),
		 "%s: mode 0640 lets group or others "
		 "read the key; want 0600",
		 key_path);
	cr_assert_str_eq(err, want);

	cr_assert_eq(chmod(key_path, 0600), 0);
	cr_assert_eq(truncate(key_path, 31), 0);
	cr_assert_null(reopen_store());
	snprintf(want, sizeof(want), "%s: 31 bytes, want 32", key_path);
	cr_assert_str_eq(err, want);
	ASSERT_NO_LEAKS();
}

Test(store, missing_key_with_totp_secrets_is_refused)
{
	struct store *st = open_store();
	char want[PATH_MAX + 128];

	cr_assert_eq(store_totp_set(st, "alice", totp_secret, TOTP_LEN, 6, 30,
				    err, sizeof(err)),
		     0, "%s", err);
	store_close(st);
	cr_assert_eq(unlink(key_path), 0);
	cr_assert_null(reopen_store());
	snprintf(want, sizeof(want),
		 "%s is missing but %s holds 1 "
		 "TOTP secrets sealed with it; restore the file",
		 key_path, DB_NAME);
	cr_assert_str_eq(err, want);
	cr_assert_eq(access(key_path, F_OK), -1, "no new key was made");
	ASSERT_NO_LEAKS();
}

/* ---- devices ------------------------------------------------------------ */

/* A device whose key fingerprint is 64 copies of hex digit c. */
static void
make_device(struct store_device *d, const char *id, char c, time_t at)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", id);
	snprintf(d->user, sizeof(d->user), "alice");
	snprintf(d->practice, sizeof(d->practice), "K84001");
	d->is_managed = 1;
	memset(d->key_fpr, c, STORE_FPR_MAX - 1);
	snprintf(d->cert_serial, sizeof(d->cert_serial), "%c1", c);
	d->enrolled_at = at;
	d->expires_at = at + 90 * 86400;
}

static int
collect_ids(const struct store_device *d, void *arg)
{
	char *out = arg;

	strcat(out, d->id);
	strcat(out, " ");
	return strcmp(d->id, "dev-c") == 0; /* stop after dev-c */
}

Test(store, device_add_get_by_fpr_and_duplicates)
{
	struct store *st = open_store();
	struct store_device d, got;

	make_device(&d, "dev-a", 'a', NOW);
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_device_get(st, "dev-a", &got, err, sizeof(err)), 1);
	cr_assert_str_eq(got.id, "dev-a");
	cr_assert_str_eq(got.user, "alice");
	cr_assert_str_eq(got.practice, "K84001");
	cr_assert_eq(got.is_managed, 1);
	cr_assert_str_eq(got.key_fpr, d.key_fpr);
	cr_assert_str_eq(got.cert_serial, "a1");
	cr_assert_eq(got.enrolled_at, NOW);
	cr_assert_eq(got.expires_at, NOW + 90 * 86400);
	cr_assert_eq(got.last_seen_at, 0);
	cr_assert_eq(got.revoked_at, 0);
	cr_assert_str_eq(got.revoke_reason, "");
	cr_assert_eq(store_device_get(st, "dev-x", &got, err, sizeof(err)), 0);

	cr_assert_eq(store_device_by_fpr(st, d.key_fpr, &got, err, sizeof(err)),
		     1);
	cr_assert_str_eq(got.id, "dev-a");
	memset(d.key_fpr, 'b', STORE_FPR_MAX - 1);
	cr_assert_eq(store_device_by_fpr(st, d.key_fpr, &got, err, sizeof(err)),
		     0);
	d.key_fpr[0] = 'B';
	cr_assert_eq(store_device_by_fpr(st, d.key_fpr, &got, err, sizeof(err)),
		     -1);
	cr_assert_str_eq(err, "key fingerprint is not 64 lowercase hex digits");

	make_device(&d, "dev-a", 'b', NOW); /* same id */
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 1);
	cr_assert_str_eq(err, "device dev-a or its key is already enrolled");
	make_device(&d, "dev-b", 'a', NOW); /* same key */
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 1);
	store_close(st);
	ASSERT_NO_LEAKS();
}

Test(store, device_revoke_twice_touch_renew_and_list)
{
	struct store *st = open_store();
	struct store_device d, got;
	char ids[128] = "";

	make_device(&d, "dev-b", 'b', NOW + 2);
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0, "%s", err);
	make_device(&d, "dev-a", 'a', NOW + 1);
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0, "%s", err);
	make_device(&d, "dev-c", 'c', NOW + 3);
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0, "%s", err);
	make_device(&d, "dev-d", 'd', NOW + 4);
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_device_list(st, collect_ids, ids, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(ids, "dev-a dev-b dev-c ", "oldest first, stops");

	cr_assert_eq(
	    store_device_touch(st, "dev-a", NOW + 50, err, sizeof(err)), 0);
	cr_assert_eq(store_device_touch(st, "dev-x", NOW, err, sizeof(err)), 1);
	cr_assert_eq(store_device_renew(st, "dev-a", d.key_fpr, "ff", NOW, err,
					sizeof(err)),
		     1, "dev-d's key");
	memset(d.key_fpr, 'e', STORE_FPR_MAX - 1);
	cr_assert_eq(store_device_renew(st, "dev-a", d.key_fpr, "e2",
					NOW + 1000, err, sizeof(err)),
		     0, "%s", err);

	cr_assert_eq(store_device_revoke(st, "dev-a", "lost laptop", NOW + 60,
					 err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(store_device_revoke(st, "dev-a", "again", NOW + 70, err,
					 sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(
	    store_device_revoke(st, "dev-x", "none", NOW, err, sizeof(err)), 1);
	cr_assert_str_eq(err, "no device dev-x");
	cr_assert_eq(store_device_get(st, "dev-a", &got, err, sizeof(err)), 1);
	cr_assert_eq(got.revoked_at, NOW + 60, "the first revocation stays");
	cr_assert_str_eq(got.revoke_reason, "lost laptop");
	cr_assert_eq(got.last_seen_at, NOW + 50);
	cr_assert_str_eq(got.key_fpr, d.key_fpr);
	cr_assert_str_eq(got.cert_serial, "e2");
	cr_assert_eq(got.expires_at, NOW + 1000);
	cr_assert_eq(store_device_renew(st, "dev-a", d.key_fpr, "e3", NOW, err,
					sizeof(err)),
		     1, "a revoked device does not renew");
	cr_assert_str_eq(err, "no unrevoked device dev-a");
	store_close(st);
	ASSERT_NO_LEAKS();
}

/* Appends "serial@revoked_at[s] " for each entry (s: superseded). */
static int
collect_revoked(const struct store_revoked *r, void *arg)
{
	char *out = arg;

	snprintf(out + strlen(out), 512 - strlen(out), "%s@%lld%s ", r->serial,
		 (long long)(r->revoked_at - NOW), r->is_superseded ? "s" : "");
	return 0;
}

/*
 * The CRL's source: a renewal supersedes the old certificate (reason 4,
 * the renewal's time); a revocation lists every certificate the device
 * held and its session certificates, at the revocation's time. Another
 * device's current certificate never appears.
 */
Test(store, revoked_list_follows_renewal_and_revocation)
{
	struct store *st = open_store();
	struct store_device d;
	struct store_session ss = {.issued_at = NOW, .expires_at = NOW + 600};
	char out[512] = "";
	time_t t0 = time(NULL);

	make_device(&d, "dev-a", 'a', NOW);
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0, "%s", err);
	make_device(&d, "dev-b", 'b', NOW);
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_revoked_list(st, collect_revoked, out, err,
					sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(out, "", "nothing replaced or revoked yet");

	make_device(&d, "dev-a", 'a', NOW);
	cr_assert_eq(store_device_renew(st, "dev-a", d.key_fpr, "a2",
					NOW + 1000, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(store_revoked_list(st, collect_revoked, out, err,
					sizeof(err)),
		     0, "%s", err);
	cr_assert(strncmp(out, "a1@", 3) == 0 && strstr(out, "s ") != NULL,
		  "the replaced certificate, superseded: %s", out);
	cr_assert(raw_int("SELECT replaced_at FROM device_certs "
			  "WHERE serial = 'a1'") >= t0);

	snprintf(ss.serial, sizeof(ss.serial), "5e55");
	snprintf(ss.user, sizeof(ss.user), "alice");
	snprintf(ss.device_id, sizeof(ss.device_id), "dev-a");
	cr_assert_eq(store_session_add(st, &ss, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(store_device_revoke(st, "dev-a", "lost", NOW + 60, err,
					 sizeof(err)),
		     0, "%s", err);
	out[0] = '\0';
	cr_assert_eq(store_revoked_list(st, collect_revoked, out, err,
					sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(out, "5e55@60 a1@60 a2@60 ",
			 "all of dev-a's certificates at its revocation");
	store_close(st);
	ASSERT_NO_LEAKS();
}

Test(store, bounds_are_refused_with_a_reason)
{
	struct store *st = open_store();
	struct store_device d;
	char longname[STORE_NAME_MAX + 1];

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	make_device(&d, "dev-a", 'a', NOW);
	memcpy(d.user, longname, sizeof(d.user) - 1); /* 63: fits */
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_totp_set(st, longname, totp_secret, TOTP_LEN, 6, 30,
				    err, sizeof(err)),
		     -1);
	cr_assert_str_eq(err, "user is longer than 63 bytes");
	cr_assert_eq(store_totp_set(st, "", totp_secret, TOTP_LEN, 6, 30, err,
				    sizeof(err)),
		     -1);
	cr_assert_str_eq(err, "user is empty");
	cr_assert_eq(store_totp_set(st, "bob", totp_secret, TOTP_LEN, 9, 30,
				    err, sizeof(err)),
		     -1);
	cr_assert_str_eq(err, "TOTP of 9 digits every 30 s: want 6..8 digits, "
			      "1..300 s");
	store_close(st);
	ASSERT_NO_LEAKS();
}

/* ---- enrolment codes ---------------------------------------------------- */

static void
make_code(struct store_code *c, const char *id, time_t expires_at)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->user, sizeof(c->user), "alice");
	snprintf(c->practice, sizeof(c->practice), "K84001");
	snprintf(c->label, sizeof(c->label), "reception pc");
	c->is_managed = 1;
	c->created_at = NOW - 100;
	c->expires_at = expires_at;
	c->created_by_uid = 1001;
}

Test(store, code_consume_is_single_use_with_one_answer_for_refusals)
{
	static const struct {
		const char *id, *secret;
		int rc;
		const char *why;
	} cases[] = {
	    {"c1", "s3cret-one", 0, NULL},
	    {"c1", "s3cret-one", 1, "used"},
	    {"c1", "wrong", 1, "wrong secret"},
	    {"c2", "not-this", 1, "wrong secret"},
	    {"c3", "s3cret-three", 1, "expired"},
	    {"c4", "s3cret-one", 1, "unknown"},
	    {"", "s3cret-one", 1, "unknown"},
	    {"c2", "", 1, "wrong secret"},
	    {"c2", "s3cret-two", 0, NULL},
	};
	struct store *st = open_store();
	struct store_code c, out;
	const char *why;

	make_code(&c, "c1", NOW + 3600);
	cr_assert_eq(store_code_add(st, &c, "s3cret-one", err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(store_code_add(st, &c, "other", err, sizeof(err)), 1);
	cr_assert_str_eq(err, "code c1 exists");
	make_code(&c, "c2", NOW + 1);
	cr_assert_eq(store_code_add(st, &c, "s3cret-two", err, sizeof(err)), 0);
	make_code(&c, "c3", NOW); /* expires at now: expired */
	cr_assert_eq(store_code_add(st, &c, "s3cret-three", err, sizeof(err)),
		     0);
	for (size_t i = 0; i < NELEM(cases); i++) {
		memset(&out, 0, sizeof(out));
		cr_assert_eq(store_code_consume(st, cases[i].id,
						cases[i].secret, NOW, &out,
						&why, err, sizeof(err)),
			     cases[i].rc, "case %zu: %s", i, err);
		if (cases[i].why == NULL) {
			cr_assert_null(why, "case %zu", i);
			cr_assert_str_eq(out.id, cases[i].id);
			cr_assert_str_eq(out.user, "alice");
			cr_assert_str_eq(out.practice, "K84001");
			cr_assert_str_eq(out.label, "reception pc");
			cr_assert_eq(out.is_managed, 1);
			cr_assert_eq(out.created_at, NOW - 100);
			cr_assert_eq(out.created_by_uid, 1001);
			cr_assert_eq(out.used_at, 0, "as it was before use");
		} else {
			cr_assert_str_eq(why, cases[i].why, "case %zu", i);
			cr_assert_str_eq(out.id, "", "case %zu: no out", i);
		}
	}
	cr_assert_eq(raw_int("SELECT used_at FROM enrol_codes WHERE id = 'c1'"),
		     NOW);
	cr_assert_eq(raw_int("SELECT used_at FROM enrol_codes WHERE id = 'c3'"),
		     0);
	store_close(st);
	ASSERT_NO_LEAKS();
}

Test(store, code_secret_is_stored_only_as_a_salted_hash)
{
	static const char secret[] = "Zq7-enrol-secret-XK42";
	struct store *st = open_store();
	struct store_code c;

	make_code(&c, "c1", NOW + 3600);
	cr_assert_eq(store_code_add(st, &c, secret, err, sizeof(err)), 0);
	make_code(&c, "c2", NOW + 3600);
	cr_assert_eq(store_code_add(st, &c, secret, err, sizeof(err)), 0);
	cr_assert_eq(raw_int("SELECT count(*) FROM enrol_codes WHERE "
			     "length(hash) = 32 AND length(salt) = 16"),
		     2);
	cr_assert_eq(
	    raw_int("SELECT count(*) FROM enrol_codes WHERE "
		    SQL_BLOB_HOLDS("hash", "Zq7-enrol-secret-XK42")),
	    0);
	cr_assert_eq(raw_int("SELECT CASE WHEN a.hash = b.hash THEN 1 ELSE 0 "
			     "END FROM enrol_codes a, "
			     "enrol_codes b WHERE a.id = 'c1' AND b.id = 'c2'"),
		     0, "salts differ, so equal secrets hash apart");
	cr_assert_not(state_holds(secret, strlen(secret)), "while open");
	store_close(st);
	cr_assert_not(state_holds(secret, strlen(secret)), "after close");
	ASSERT_NO_LEAKS();
}

/* ---- TOTP --------------------------------------------------------------- */

Test(store, totp_set_get_and_secret_not_on_disk)
{
	struct store *st = open_store();
	unsigned char got[STORE_TOTP_SECRET_MAX];
	struct store_totp_info info;
	size_t len = 0;

	cr_assert_eq(
	    store_totp_get(st, "alice", got, &len, &info, err, sizeof(err)), 0);
	cr_assert_eq(store_totp_set(st, "alice", totp_secret, TOTP_LEN, 6, 30,
				    err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(
	    store_totp_get(st, "alice", got, &len, &info, err, sizeof(err)), 1,
	    "%s", err);
	cr_assert_eq(len, TOTP_LEN);
	cr_assert_arr_eq(got, totp_secret, TOTP_LEN);
	cr_assert_eq(info.digits, 6);
	cr_assert_eq(info.period, 30);
	cr_assert_eq(info.last_step, 0);
	cr_assert_eq(info.failures, 0);
	cr_assert_eq(info.disabled_at, 0);
	cr_assert_eq(raw_int("SELECT length(secret) FROM totp"),
		     12 + TOTP_LEN + 16, "nonce | ciphertext | tag");
	cr_assert_not(state_holds(totp_secret, TOTP_LEN), "while open");
	store_close(st);
	cr_assert_not(state_holds(totp_secret, TOTP_LEN), "after close");
	ASSERT_NO_LEAKS();
}

Test(store, totp_steps_are_accepted_once_and_in_order)
{
	static const struct {
		int64_t step;
		int rc;
	} steps[] = {
	    {100, 0}, {100, 1}, {99, 1},  {101, 0},
	    {0, 1},   {-5, 1},	{101, 1}, {103, 0},
	};
	struct store *st = open_store();

	cr_assert_eq(store_totp_set(st, "alice", totp_secret, TOTP_LEN, 6, 30,
				    err, sizeof(err)),
		     0, "%s", err);
	for (size_t i = 0; i < NELEM(steps); i++)
		cr_assert_eq(store_totp_accept_step(st, "alice", steps[i].step,
						    err, sizeof(err)),
			     steps[i].rc, "step %lld",
			     (long long)steps[i].step);
	cr_assert_eq(
	    store_totp_accept_step(st, "nobody", 200, err, sizeof(err)), 1);
	store_close(st);
	ASSERT_NO_LEAKS();
}

Test(store, totp_failures_disable_and_reenrol)
{
	struct store *st = open_store();
	unsigned char got[STORE_TOTP_SECRET_MAX];
	struct store_totp_info info;
	size_t len;
	int count = -1;

	cr_assert_eq(store_totp_set(st, "alice", totp_secret, TOTP_LEN, 6, 30,
				    err, sizeof(err)),
		     0, "%s", err);
	for (int i = 1; i <= 3; i++) {
		cr_assert_eq(
		    store_totp_failure(st, "alice", &count, err, sizeof(err)),
		    0, "%s", err);
		cr_assert_eq(count, i);
	}
	cr_assert_eq(store_totp_failure(st, "nobody", &count, err, sizeof(err)),
		     1);
	cr_assert_eq(count, 0);
	cr_assert_eq(store_totp_accept_step(st, "alice", 10, err, sizeof(err)),
		     0);
	cr_assert_eq(
	    store_totp_get(st, "alice", got, &len, &info, err, sizeof(err)), 1);
	cr_assert_eq(info.failures, 0, "a success resets the count");
	cr_assert_eq(info.last_step, 10);

	cr_assert_eq(store_totp_disable(st, "alice", NOW, err, sizeof(err)), 0);
	cr_assert_eq(store_totp_disable(st, "alice", NOW + 9, err, sizeof(err)),
		     0);
	cr_assert_eq(store_totp_disable(st, "nobody", NOW, err, sizeof(err)),
		     1);
	cr_assert_eq(store_totp_accept_step(st, "alice", 11, err, sizeof(err)),
		     1, "disabled");
	cr_assert_eq(
	    store_totp_get(st, "alice", got, &len, &info, err, sizeof(err)), 1);
	cr_assert_eq(info.disabled_at, NOW, "the first disable time stays");

	cr_assert_eq(store_totp_set(st, "alice", totp_secret, 10, 8, 60, err,
				    sizeof(err)),
		     0);
	cr_assert_eq(
	    store_totp_get(st, "alice", got, &len, &info, err, sizeof(err)), 1);
	cr_assert_eq(len, 10);
	cr_assert_eq(info.digits, 8);
	cr_assert_eq(info.period, 60);
	cr_assert_eq(info.last_step, 0);
	cr_assert_eq(info.disabled_at, 0);
	cr_assert_eq(store_totp_accept_step(st, "alice", 11, err, sizeof(err)),
		     0, "enrolled again");
	store_close(st);
	ASSERT_NO_LEAKS();
}

struct racer {
	pthread_barrier_t *start;
	struct store *st;
	int rc;
};

static void *
race_cb(void *arg)
{
	struct racer *r = arg;
	char e[STORE_ERR_MAX];

	pthread_barrier_wait(r->start);
	r->rc = store_totp_accept_step(r->st, "alice", 500, e, sizeof(e));
	return NULL;
}

/* RACERS threads accept step 500 over nstores connections: one wins. */
static void
race(size_t nstores)
{
	struct store *stores[RACERS];
	struct racer r[RACERS];
	pthread_t tid[RACERS];
	pthread_barrier_t start;
	int won = 0, lost = 0;

	for (size_t i = 0; i < nstores; i++)
		stores[i] = open_store();
	cr_assert_eq(store_totp_set(stores[0], "alice", totp_secret, TOTP_LEN,
				    6, 30, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(pthread_barrier_init(&start, NULL, RACERS), 0);
	for (size_t i = 0; i < RACERS; i++) {
		r[i] = (struct racer){&start, stores[i % nstores], -9};
		cr_assert_eq(pthread_create(&tid[i], NULL, race_cb, &r[i]), 0);
	}
	for (size_t i = 0; i < RACERS; i++) {
		cr_assert_eq(pthread_join(tid[i], NULL), 0);
		won += r[i].rc == 0;
		lost += r[i].rc == 1;
	}
	pthread_barrier_destroy(&start);
	cr_assert_eq(won, 1);
	cr_assert_eq(lost, RACERS - 1);
	for (size_t i = 0; i < nstores; i++)
		store_close(stores[i]);
	cr_assert_eq(raw_int("SELECT last_step FROM totp"), 500);
}

Test(store, totp_race_on_one_connection_has_one_winner)
{
	race(1);
	ASSERT_NO_LEAKS();
}

Test(store, totp_race_across_connections_has_one_winner)
{
	race(4);
	ASSERT_NO_LEAKS();
}

Test(store, totp_tampered_or_moved_ciphertext_fails_cleanly)
{
	struct store *st = open_store();
	unsigned char sealed[128], bad[128], got[STORE_TOTP_SECRET_MAX];
	static const unsigned char zero[STORE_TOTP_SECRET_MAX];
	struct store_totp_info info;
	size_t len = 0;
	int n;

	cr_assert_eq(store_totp_set(st, "alice", totp_secret, TOTP_LEN, 6, 30,
				    err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(store_totp_set(st, "bob",
				    (const unsigned char *)"bob's "
							   "own secret!",
				    18, 6, 30, err, sizeof(err)),
		     0, "%s", err);
	store_close(st);
	n = raw_sealed("alice", sealed, sizeof(sealed));

	/* Every byte: nonce, ciphertext and tag. */
	for (int i = 0; i < n; i++) {
		memcpy(bad, sealed, (size_t)n);
		bad[i] ^= 0x01;
		raw_set_sealed("alice", bad, n);
		st = open_store();
		memset(got, 0xa5, sizeof(got));
		cr_assert_eq(store_totp_get(st, "alice", got, &len, &info, err,
					    sizeof(err)),
			     -1, "byte %d", i);
		cr_assert_str_eq(
		    err,
		    "TOTP secret of alice does not "
		    "authenticate (altered, moved from another row, or another "
		    "secrets.key)");
		cr_assert_arr_eq(got, zero, sizeof(got), "byte %d: wiped", i);
		store_close(st);
	}
	raw_set_sealed("alice", sealed, n - 1); /* truncated */
	st = open_store();
	cr_assert_eq(
	    store_totp_get(st, "alice", got, &len, &info, err, sizeof(err)),
	    -1);
	store_close(st);

	raw_set_sealed("alice", sealed, n);
	raw_set_sealed("bob", sealed, n); /* alice's, moved to bob */
	st = open_store();
	cr_assert_eq(
	    store_totp_get(st, "bob", got, &len, &info, err, sizeof(err)), -1);
	cr_assert_str_eq(
	    err, "TOTP secret of bob does not authenticate "
		 "(altered, moved from another row, or another secrets.key)");
	cr_assert_eq(
	    store_totp_get(st, "alice", got, &len, &info, err, sizeof(err)), 1,
	    "%s", err);
	cr_assert_arr_eq(got, totp_secret, TOTP_LEN);
	store_close(st);
	ASSERT_NO_LEAKS();
}

/* ---- locks, sessions, posture, throttle -----------------------------------
 */

static int
count_locks(const struct store_lock *l, void *arg)
{
	(void)l;
	(*(int *)arg)++;
	return 0;
}

static void
make_lock(struct store_lock *l, enum store_lock_kind kind, const char *name,
	  time_t until)
{
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->reason, sizeof(l->reason), "left the practice");
	l->created_by_uid = 0;
	l->created_at = NOW - 10;
	l->until = until;
}

Test(store, locks_expire_and_are_kind_specific)
{
	struct store *st = open_store();
	struct store_lock l;
	char reason[STORE_REASON_MAX];
	int n = 0;

	make_lock(&l, STORE_LOCK_USER, "alice", 0);
	cr_assert_eq(store_lock_add(st, &l, err, sizeof(err)), 0, "%s", err);
	make_lock(&l, STORE_LOCK_USER, "bob", NOW - 1);
	cr_assert_eq(store_lock_add(st, &l, err, sizeof(err)), 0);
	make_lock(&l, STORE_LOCK_USER, "carol", NOW);
	cr_assert_eq(store_lock_add(st, &l, err, sizeof(err)), 0);
	make_lock(&l, STORE_LOCK_DEVICE, "dev-a", NOW + 60);
	cr_assert_eq(store_lock_add(st, &l, err, sizeof(err)), 0);

	cr_assert_eq(store_locked(st, STORE_LOCK_USER, "alice", NOW, reason,
				  err, sizeof(err)),
		     1);
	cr_assert_str_eq(reason, "left the practice");
	cr_assert_eq(store_locked(st, STORE_LOCK_USER, "bob", NOW, reason, err,
				  sizeof(err)),
		     0, "until in the past");
	cr_assert_eq(store_locked(st, STORE_LOCK_USER, "carol", NOW, NULL, err,
				  sizeof(err)),
		     0, "until is now");
	cr_assert_eq(store_locked(st, STORE_LOCK_DEVICE, "dev-a", NOW, NULL,
				  err, sizeof(err)),
		     1);
	cr_assert_eq(store_locked(st, STORE_LOCK_DEVICE, "dev-a", NOW + 60,
				  NULL, err, sizeof(err)),
		     0);
	cr_assert_eq(store_locked(st, STORE_LOCK_DEVICE, "alice", NOW, NULL,
				  err, sizeof(err)),
		     0, "kinds are separate");
	cr_assert_eq(store_lock_list(st, count_locks, &n, err, sizeof(err)), 0);
	cr_assert_eq(n, 4);

	make_lock(&l, STORE_LOCK_USER, "bob", 0); /* replaces */
	cr_assert_eq(store_lock_add(st, &l, err, sizeof(err)), 0);
	cr_assert_eq(store_locked(st, STORE_LOCK_USER, "bob", NOW, NULL, err,
				  sizeof(err)),
		     1);
	cr_assert_eq(
	    store_lock_remove(st, STORE_LOCK_USER, "alice", err, sizeof(err)),
	    0);
	cr_assert_eq(
	    store_lock_remove(st, STORE_LOCK_USER, "alice", err, sizeof(err)),
	    1);
	cr_assert_eq(store_locked(st, STORE_LOCK_USER, "alice", NOW, NULL, err,
				  sizeof(err)),
		     0);
	n = 0;
	cr_assert_eq(store_lock_list(st, count_locks, &n, err, sizeof(err)), 0);
	cr_assert_eq(n, 3);
	store_close(st);
	ASSERT_NO_LEAKS();
}

Test(store, sessions_are_recorded_once_per_serial)
{
	struct store *st = open_store();
	struct store_device d;
	struct store_session s = {"0a1b2c", "alice", "dev-a", NOW,
				  NOW + 12 * 3600, 0},
			     got;

	cr_assert_eq(store_session_add(st, &s, err, sizeof(err)), 1,
		     "no device dev-a yet");
	make_device(&d, "dev-a", 'a', NOW);
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0);
	cr_assert_eq(store_session_add(st, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_session_add(st, &s, err, sizeof(err)), 1);
	cr_assert_eq(store_session_get(st, "0a1b2c", &got, err, sizeof(err)),
		     1);
	cr_assert_str_eq(got.serial, "0a1b2c");
	cr_assert_str_eq(got.user, "alice");
	cr_assert_str_eq(got.device_id, "dev-a");
	cr_assert_eq(got.issued_at, NOW);
	cr_assert_eq(got.expires_at, NOW + 12 * 3600);
	cr_assert_eq(store_session_get(st, "ffff", &got, err, sizeof(err)), 0);
	store_close(st);
	ASSERT_NO_LEAKS();
}

static int
collect_serial(const struct store_session *ss, void *arg)
{
	char *out = arg;

	strcat(out, ss->serial);
	strcat(out, " ");
	return 0;
}

/* mwg logout: every live session of the person on the device ends, the
 * SSH listener's live-session lookup stops finding one, and the ended
 * ones are listed until they expire. */
Test(store, logout_ends_live_sessions)
{
	struct store *st = open_store();
	struct store_device d;
	struct store_session s1 = {"a1", "alice", "dev-a", NOW - 60,
				   NOW + 3600, 0},
			     s2 = {"a2", "alice", "dev-a", NOW - 30, NOW + 7200, 0},
			     old = {"a0", "alice", "dev-a", NOW - 7200, NOW - 1, 0},
			     bob = {"b1", "bob", "dev-a", NOW - 60, NOW + 3600, 0},
			     got;
	char ended[64] = "";

	make_device(&d, "dev-a", 'a', NOW);
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0);
	cr_assert_eq(store_session_add(st, &s1, err, sizeof(err)), 0);
	cr_assert_eq(store_session_add(st, &s2, err, sizeof(err)), 0);
	cr_assert_eq(store_session_add(st, &old, err, sizeof(err)), 0);
	cr_assert_eq(store_session_add(st, &bob, err, sizeof(err)), 0);
	cr_assert_eq(store_session_live(st, "dev-a", "alice", NOW, err,
					sizeof(err)),
		     1);
	cr_assert_eq(store_session_end(st, "dev-a", "alice", NOW,
				       collect_serial, ended, err, sizeof(err)),
		     2, "%s", err);
	cr_assert(strcmp(ended, "a1 a2 ") == 0 || strcmp(ended, "a2 a1 ") == 0,
		  "ended: %s", ended);
	cr_assert_eq(store_session_live(st, "dev-a", "alice", NOW, err,
					sizeof(err)),
		     0, "no live session after logout");
	cr_assert_eq(store_session_live(st, "dev-a", "bob", NOW, err,
					sizeof(err)),
		     1, "bob's session is not alice's");
	cr_assert_eq(store_session_get(st, "a1", &got, err, sizeof(err)), 1);
	cr_assert_eq(got.ended_at, NOW);
	cr_assert_eq(store_session_get(st, "a0", &got, err, sizeof(err)), 1);
	cr_assert_eq(got.ended_at, 0, "an expired session is not ended");
	cr_assert_eq(store_session_end(st, "dev-a", "alice", NOW + 1, NULL,
				       NULL, err, sizeof(err)),
		     0, "a second logout ends nothing");
	ended[0] = '\0';
	cr_assert_eq(store_session_ended_list(st, NOW + 3601, collect_serial,
					      ended, err, sizeof(err)),
		     0);
	cr_assert_str_eq(ended, "a2 ", "only the unexpired ended session");
	store_close(st);
	ASSERT_NO_LEAKS();
}

Test(store, posture_keeps_only_the_newest)
{
	struct store *st = open_store();
	struct store_device d;
	char *report = NULL, *big;
	time_t at = 0;

	cr_assert_eq(
	    store_posture_put(st, "dev-a", "{}", NOW, err, sizeof(err)), 1,
	    "unknown device");
	make_device(&d, "dev-a", 'a', NOW);
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0);
	cr_assert_eq(
	    store_posture_get(st, "dev-a", &report, &at, err, sizeof(err)), 0);
	cr_assert_null(report);
	cr_assert_eq(store_posture_put(st, "dev-a", "{\"n\":1}", NOW + 100, err,
				       sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(store_posture_put(st, "dev-a", "{\"n\":2}", NOW + 200, err,
				       sizeof(err)),
		     0);
	cr_assert_eq(store_posture_put(st, "dev-a", "{\"n\":3}", NOW + 150, err,
				       sizeof(err)),
		     0, "late, older: kept out");
	cr_assert_eq(
	    store_posture_get(st, "dev-a", &report, &at, err, sizeof(err)), 1,
	    "%s", err);
	cr_assert_str_eq(report, "{\"n\":2}");
	cr_assert_eq(at, NOW + 200);
	free(report);
	cr_assert_eq(raw_int("SELECT count(*) FROM posture"), 1);

	big = malloc(STORE_POSTURE_MAX + 2);
	cr_assert_not_null(big);
	memset(big, ' ', STORE_POSTURE_MAX + 1);
	big[STORE_POSTURE_MAX + 1] = '\0';
	cr_assert_eq(
	    store_posture_put(st, "dev-a", big, NOW + 300, err, sizeof(err)),
	    -1);
	cr_assert_str_eq(err, "posture report is longer than 16384 bytes");
	big[STORE_POSTURE_MAX] = '\0';
	cr_assert_eq(
	    store_posture_put(st, "dev-a", big, NOW + 300, err, sizeof(err)), 0,
	    "%s", err);
	free(big);
	store_close(st);
	ASSERT_NO_LEAKS();
}

Test(store, throttle_rows_put_get_clear)
{
	struct store *st = open_store();
	struct store_throttle t = {3, NOW - 60, NOW + 8}, got;

	cr_assert_eq(
	    store_throttle_get(st, "ip:192.0.2.1", &got, err, sizeof(err)), 0);
	cr_assert_eq(got.failures, 0);
	cr_assert_eq(
	    store_throttle_put(st, "ip:192.0.2.1", &t, err, sizeof(err)), 0,
	    "%s", err);
	t.failures = 4;
	cr_assert_eq(
	    store_throttle_put(st, "ip:192.0.2.1", &t, err, sizeof(err)), 0);
	cr_assert_eq(
	    store_throttle_get(st, "ip:192.0.2.1", &got, err, sizeof(err)), 1);
	cr_assert_eq(got.failures, 4);
	cr_assert_eq(got.window_start, NOW - 60);
	cr_assert_eq(got.next_allowed_at, NOW + 8);
	cr_assert_eq(
	    store_throttle_get(st, "user:alice", &got, err, sizeof(err)), 0);
	cr_assert_eq(store_throttle_clear(st, "ip:192.0.2.1", err, sizeof(err)),
		     0);
	cr_assert_eq(store_throttle_clear(st, "ip:192.0.2.1", err, sizeof(err)),
		     0);
	cr_assert_eq(
	    store_throttle_get(st, "ip:192.0.2.1", &got, err, sizeof(err)), 0);
	store_close(st);
	ASSERT_NO_LEAKS();
}

/* ---- admin housekeeping: code, TOTP and throttle lists (mwgctl) -------- */

/* Appends "id:state:used_by " for each code, as mwgctl would judge it. */
static int
collect_codes(const struct store_code *c, void *arg)
{
	char *out = arg;
	const char *state = c->used_at      ? "used"
			    : c->withdrawn_at ? "withdrawn"
			    : c->expires_at <= NOW ? "expired"
						 : "unused";

	snprintf(out + strlen(out), 256 - strlen(out), "%s:%s:%s ", c->id,
		 state, c->used_by);
	return 0;
}

Test(store, code_list_and_withdraw)
{
	struct store *st = open_store();
	struct store_code c, out;
	struct store_device d;
	char seen[256] = "";
	const char *why;

	make_code(&c, "c1", NOW + 3600);
	cr_assert_eq(store_code_add(st, &c, "s1", err, sizeof(err)), 0);
	make_code(&c, "c2", NOW + 3600);
	cr_assert_eq(store_code_add(st, &c, "s2", err, sizeof(err)), 0);
	make_code(&c, "c3", NOW);
	c.created_at = NOW - 50; /* newer than c1 and c2: listed last */
	cr_assert_eq(store_code_add(st, &c, "s3", err, sizeof(err)), 0);
	cr_assert_eq(store_code_consume(st, "c1", "s1", NOW, &out, &why, err,
					sizeof(err)),
		     0);
	/* est.c adds the device with the same "now" as the code's use. */
	make_device(&d, "dev-one", 'a', NOW);
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0, "%s", err);
	make_device(&d, "dev-other", 'b', NOW + 1); /* a second later */
	cr_assert_eq(store_device_add(st, &d, err, sizeof(err)), 0);

	static const struct {
		const char *id;
		time_t at;
		int rc;
	} cases[] = {
	    {"c2", NOW, 0},	     /* unused: withdrawn */
	    {"c2", NOW + 5, 2},	     /* already withdrawn: first time kept */
	    {"c1", NOW, 2},	     /* used */
	    {"c3", NOW, 0},	     /* expired and unused: may be withdrawn */
	    {"nope", NOW, 1},	     /* unknown */
	    {"c2", 0, -1},	     /* no time */
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		memset(&out, 0, sizeof(out));
		cr_assert_eq(store_code_withdraw(st, cases[i].id, cases[i].at,
						 &out, err, sizeof(err)),
			     cases[i].rc, "case %zu: %s", i, err);
	}
	cr_assert_eq(store_code_withdraw(st, "c1", NOW, &out, err, sizeof(err)),
		     2);
	cr_assert_eq(out.used_at, NOW);
	cr_assert_eq(out.withdrawn_at, 0);
	cr_assert_str_eq(out.used_by, "dev-one", "the device that used it");
	cr_assert_eq(store_code_withdraw(st, "c2", NOW + 9, &out, err,
					 sizeof(err)),
		     2);
	cr_assert_eq(out.withdrawn_at, NOW, "the first withdrawal's time");
	cr_assert_str_eq(out.user, "alice");
	cr_assert_str_eq(out.label, "reception pc");
	/* A withdrawn code is refused, and said so for the audit record. */
	cr_assert_eq(store_code_consume(st, "c2", "s2", NOW, &out, &why, err,
					sizeof(err)),
		     1);
	cr_assert_str_eq(why, "withdrawn");
	cr_assert_eq(store_code_consume(st, "c2", "wrong", NOW, &out, &why,
					err, sizeof(err)),
		     1);
	cr_assert_str_eq(why, "wrong secret", "the secret is judged first");
	cr_assert_eq(store_code_list(st, collect_codes, seen, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(seen, "c1:used:dev-one c2:withdrawn: c3:withdrawn: ");
	store_close(st);
	ASSERT_NO_LEAKS();
}

/* Appends "user:failures:disabled:enrolled " for each TOTP row. */
struct totp_seen {
	char text[256];
	time_t from, to; /* enrolled_at must fall in [from, to] */
};

static int
collect_totp(const char *user, const struct store_totp_info *i, void *arg)
{
	struct totp_seen *ts = arg;

	snprintf(ts->text + strlen(ts->text), sizeof(ts->text) -
		 strlen(ts->text), "%s:%d:%d:%d ", user, i->failures,
		 i->disabled_at != 0,
		 i->enrolled_at >= ts->from && i->enrolled_at <= ts->to);
	return strcmp(user, "carol") == 0; /* stop after carol */
}

Test(store, totp_list_and_remove)
{
	struct store *st = open_store();
	struct totp_seen ts = {"", time(NULL), 0};
	unsigned char secret[STORE_TOTP_SECRET_MAX];
	struct store_totp_info info;
	size_t len;
	int n;

	for (const char *const *u = (const char *const[]){"bob", "alice",
							    "dave", "carol",
							    NULL};
	     *u != NULL; u++)
		cr_assert_eq(store_totp_set(st, *u, totp_secret, TOTP_LEN, 6,
					    30, err, sizeof(err)),
			     0, "%s", err);
	ts.to = time(NULL);
	cr_assert_eq(store_totp_failure(st, "bob", &n, err, sizeof(err)), 0);
	cr_assert_eq(store_totp_failure(st, "bob", &n, err, sizeof(err)), 0);
	cr_assert_eq(store_totp_disable(st, "carol", NOW, err, sizeof(err)), 0);
	cr_assert_eq(store_totp_list(st, collect_totp, &ts, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(ts.text, "alice:0:0:1 bob:2:0:1 carol:0:1:1 ",
			 "by name, stopped after carol");
	cr_assert_eq(store_totp_get(st, "alice", secret, &len, &info, err,
				    sizeof(err)),
		     1);
	OPENSSL_cleanse(secret, sizeof(secret));
	cr_assert(info.enrolled_at >= ts.from && info.enrolled_at <= ts.to);

	cr_assert_eq(store_totp_remove(st, "bob", err, sizeof(err)), 0);
	cr_assert_eq(store_totp_remove(st, "bob", err, sizeof(err)), 1);
	cr_assert_eq(store_totp_remove(st, "nobody", err, sizeof(err)), 1);
	cr_assert_eq(store_totp_get(st, "bob", secret, &len, &info, err,
				    sizeof(err)),
		     0, "gone");
	cr_assert_eq(raw_int("SELECT count(*) FROM totp WHERE \"user\" = 'bob'"), 0);
	ts.text[0] = '\0';
	cr_assert_eq(store_totp_list(st, collect_totp, &ts, err, sizeof(err)),
		     0);
	cr_assert_str_eq(ts.text, "alice:0:0:1 carol:0:1:1 ");
	/* Re-enrolling a disabled person resets the state and the time. */
	raw_exec("UPDATE totp SET enrolled_at = 1 WHERE \"user\" = 'carol'");
	cr_assert_eq(store_totp_set(st, "carol", totp_secret, TOTP_LEN, 6, 30,
				    err, sizeof(err)),
		     0);
	ts.text[0] = '\0';
	ts.to = time(NULL);
	cr_assert_eq(store_totp_list(st, collect_totp, &ts, err, sizeof(err)),
		     0);
	cr_assert_str_eq(ts.text, "alice:0:0:1 carol:0:0:1 ");
	store_close(st);
	ASSERT_NO_LEAKS();
}

static int
collect_throttle(const char *key, const struct store_throttle *t, void *arg)
{
	char *out = arg;

	snprintf(out + strlen(out), 256 - strlen(out), "%s=%d/%lld/%lld ", key,
		 t->failures, (long long)(t->window_start - NOW),
		 (long long)(t->next_allowed_at - NOW));
	return 0;
}

static int
stop_at_first(const char *key, const struct store_throttle *t, void *arg)
{
	(void)key;
	(void)t;
	++*(int *)arg;
	return 1;
}

Test(store, throttle_list_by_key)
{
	struct store *st = open_store();
	struct store_throttle a = {5, NOW - 10, NOW + 8}, b = {1, NOW, NOW};
	char seen[256] = "";
	int calls = 0;

	cr_assert_eq(store_throttle_list(st, collect_throttle, seen, err,
					 sizeof(err)),
		     0);
	cr_assert_str_eq(seen, "", "no rows, no calls");
	cr_assert_eq(store_throttle_put(st, "user:alice", &a, err, sizeof(err)),
		     0);
	cr_assert_eq(store_throttle_put(st, "ip:127.0.0.21", &a, err,
					sizeof(err)),
		     0);
	cr_assert_eq(store_throttle_put(st, "code:abc", &b, err, sizeof(err)),
		     0);
	cr_assert_eq(store_throttle_list(st, collect_throttle, seen, err,
					 sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(seen, "code:abc=1/0/0 ip:127.0.0.21=5/-10/8 "
			       "user:alice=5/-10/8 ");
	cr_assert_eq(store_throttle_list(st, stop_at_first, &calls, err,
					 sizeof(err)),
		     0);
	cr_assert_eq(calls, 1, "a non-zero answer stops the walk");
	cr_assert_eq(store_throttle_clear(st, "user:alice", err, sizeof(err)),
		     0);
	seen[0] = '\0';
	cr_assert_eq(store_throttle_list(st, collect_throttle, seen, err,
					 sizeof(err)),
		     0);
	cr_assert_str_eq(seen, "code:abc=1/0/0 ip:127.0.0.21=5/-10/8 ");
	store_close(st);
	ASSERT_NO_LEAKS();
}

/* ---- shared rules under racing connections (nodes) --------------------- */

#define RACE_STORES 4 /* connections: one per "node" */

struct rule_racer {
	pthread_barrier_t *start;
	struct store *st;
	int i;	    /* the racer's number */
	int rc;	    /* its answer */
	const char *why;
	char e[STORE_ERR_MAX];
};

/*
 * Runs fn in RACERS threads over RACE_STORES stores, released together;
 * each fills its r->rc. prepare (may be NULL) runs first on stores[0].
 */
static void
race_rule(void *(*fn)(void *), void (*prepare)(struct store *),
	  struct rule_racer r[RACERS])
{
	struct store *stores[RACE_STORES];
	pthread_t tid[RACERS];
	pthread_barrier_t start;

	for (size_t i = 0; i < RACE_STORES; i++)
		stores[i] = open_store();
	if (prepare != NULL)
		prepare(stores[0]);
	cr_assert_eq(pthread_barrier_init(&start, NULL, RACERS), 0);
	for (int i = 0; i < RACERS; i++) {
		r[i] = (struct rule_racer){.start = &start,
					   .st = stores[i % RACE_STORES],
					   .i = i,
					   .rc = -9};
		cr_assert_eq(pthread_create(&tid[i], NULL, fn, &r[i]), 0);
	}
	for (int i = 0; i < RACERS; i++)
		cr_assert_eq(pthread_join(tid[i], NULL), 0);
	pthread_barrier_destroy(&start);
	for (size_t i = 0; i < RACE_STORES; i++)
		store_close(stores[i]);
}

static void
add_code_c1(struct store *st)
{
	struct store_code c;

	make_code(&c, "c1", NOW + 3600);
	cr_assert_eq(store_code_add(st, &c, "s3cret", err, sizeof(err)), 0,
		     "%s", err);
}

static void *
consume_cb(void *arg)
{
	struct rule_racer *r = arg;
	struct store_code out;

	pthread_barrier_wait(r->start);
	r->rc = store_code_consume(r->st, "c1", "s3cret", NOW, &out, &r->why,
				   r->e, sizeof(r->e));
	return NULL;
}

/* One enrolment code, RACERS enrolments on four connections: one device. */
Test(store, code_race_across_connections_has_one_winner)
{
	struct rule_racer r[RACERS];
	int won = 0, used = 0;

	race_rule(consume_cb, add_code_c1, r);
	for (int i = 0; i < RACERS; i++) {
		cr_assert(r[i].rc == 0 || r[i].rc == 1, "racer %d: %d %s", i,
			  r[i].rc, r[i].e);
		won += r[i].rc == 0;
		used += r[i].rc == 1 && strcmp(r[i].why, "used") == 0;
	}
	cr_assert_eq(won, 1);
	cr_assert_eq(used, RACERS - 1, "every loser is told 'used'");
	cr_assert_eq(raw_int("SELECT used_at FROM enrol_codes WHERE id = 'c1'"),
		     NOW);
	ASSERT_NO_LEAKS();
}

static void *
device_cb(void *arg)
{
	struct rule_racer *r = arg;
	struct store_device d;
	char id[16];

	snprintf(id, sizeof(id), "dev-%d", r->i);
	make_device(&d, id, 'a', NOW); /* one key for every racer */
	pthread_barrier_wait(r->start);
	r->rc = store_device_add(r->st, &d, r->e, sizeof(r->e));
	return NULL;
}

/* One key, RACERS devices enrolling it on four connections: one device. */
Test(store, device_key_race_across_connections_has_one_winner)
{
	struct rule_racer r[RACERS];
	int won = 0, taken = 0;

	race_rule(device_cb, NULL, r);
	for (int i = 0; i < RACERS; i++) {
		won += r[i].rc == 0;
		taken += r[i].rc == 1;
	}
	cr_assert_eq(won, 1);
	cr_assert_eq(taken, RACERS - 1);
	cr_assert_eq(raw_int("SELECT count(*) FROM devices"), 1);
	cr_assert_eq(raw_int("SELECT count(*) FROM device_certs"), 1);
	ASSERT_NO_LEAKS();
}

#define THROTTLE_PER_RACER 25
#define THROTTLE_WINDOW 900

static void *
throttle_cb(void *arg)
{
	struct rule_racer *r = arg;
	struct store_throttle t;

	pthread_barrier_wait(r->start);
	r->rc = 0;
	for (int i = 0; i < THROTTLE_PER_RACER && r->rc == 0; i++)
		r->rc = store_throttle_count(r->st, "user:alice", NOW,
					     THROTTLE_WINDOW, &t, r->e,
					     sizeof(r->e));
	return NULL;
}

/* Failures counted on four connections at once all count. */
Test(store, throttle_counts_add_up_across_connections)
{
	struct rule_racer r[RACERS];
	struct store *st;
	struct store_throttle t;

	race_rule(throttle_cb, NULL, r);
	for (int i = 0; i < RACERS; i++)
		cr_assert_eq(r[i].rc, 0, "racer %d: %s", i, r[i].e);
	st = open_store();
	cr_assert_eq(store_throttle_get(st, "user:alice", &t, err,
					sizeof(err)),
		     1);
	cr_assert_eq(t.failures, RACERS * THROTTLE_PER_RACER);
	cr_assert_eq(t.window_start, NOW);
	store_close(st);
	ASSERT_NO_LEAKS();
}

/* The window: counts within it add up, a failure after it (or before its
 * start: a clock set back) starts again; hold only moves forward. */
Test(store, throttle_count_window_and_hold)
{
	static const struct {
		time_t at;
		int failures;
		time_t window_start, next_allowed_at;
	} steps[] = {
	    {NOW, 1, NOW, NOW},
	    {NOW + 10, 2, NOW, NOW + 30}, /* held to NOW + 30 below */
	    {NOW + THROTTLE_WINDOW - 1, 3, NOW, NOW + 30},
	    {NOW + THROTTLE_WINDOW, 1, NOW + THROTTLE_WINDOW,
	     NOW + THROTTLE_WINDOW},
	    {NOW + 5, 1, NOW + 5, NOW + 5}, /* before the window's start */
	};
	struct store *st = open_store();
	struct store_throttle t, got;

	for (size_t i = 0; i < NELEM(steps); i++) {
		cr_assert_eq(store_throttle_count(st, "ip:192.0.2.7",
						  steps[i].at, THROTTLE_WINDOW,
						  &t, err, sizeof(err)),
			     0, "step %zu: %s", i, err);
		if (i == 1) {
			cr_assert_eq(store_throttle_hold(st, "ip:192.0.2.7",
							 NOW + 30, err,
							 sizeof(err)),
				     0);
			cr_assert_eq(store_throttle_hold(st, "ip:192.0.2.7",
							 NOW + 20, err,
							 sizeof(err)),
				     0, "never back");
			cr_assert_eq(store_throttle_get(st, "ip:192.0.2.7", &t,
							err, sizeof(err)),
				     1);
		}
		cr_assert_eq(t.failures, steps[i].failures, "step %zu", i);
		cr_assert_eq(t.window_start, steps[i].window_start, "step %zu",
			     i);
		cr_assert_eq(t.next_allowed_at, steps[i].next_allowed_at,
			     "step %zu", i);
	}
	cr_assert_eq(store_throttle_hold(st, "ip:192.0.2.99", NOW, err,
					 sizeof(err)),
		     0, "no row: nothing to hold");
	cr_assert_eq(store_throttle_get(st, "ip:192.0.2.99", &got, err,
					sizeof(err)),
		     0);
	cr_assert_eq(store_throttle_count(st, "", NOW, 60, &t, err,
					  sizeof(err)),
		     -1);
	cr_assert_str_eq(err, "throttle key is empty");
	store_close(st);
	ASSERT_NO_LEAKS();
}

#endif /* MWG_STORE_CASES_H */
