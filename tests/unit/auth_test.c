/*
 * gateway/auth: TOTP codes (the window, each code once, older steps after
 * newer ones, disabling after 100 failures, enrolment and import, checked
 * against oathtool), the throttle's exact waits, groups from NSS, and PAM
 * through pam_wrapper in a child process (tests/tools/mwg-pamcheck), since
 * the wrapper must be preloaded when a process starts.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <link.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <oath.h>

#include "gateway/monitor/auth.h"
#include "gateway/monitor/store.h"
#include "tests/unit/unit.h"

extern char **environ;

#define NOW		1790000000	/* fixed, 20 s into a step */
#define PAM_MATRIX	"/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so"

/* RFC 6238's test secret. */
static const unsigned char secret[] = "12345678901234567890";
#define SECRET_LEN	(sizeof(secret) - 1)

static char dir[PATH_MAX];
static char err[STORE_ERR_MAX];
static struct store *st;

static void
setup(void)
{
	make_tmp_dir(dir, sizeof(dir), "mwg-auth-test");
	st = store_open(dir, err, sizeof(err));
	cr_assert_not_null(st, "store_open: %s", err);
	cr_assert_eq(oath_init(), OATH_OK);
}

static void
teardown(void)
{
	if (dir[0] == '\0')
		return;		/* skipped before setup, or torn down */
	store_close(st);
	remove_tree(dir);
	dir[0] = '\0';	/* a test may tear down early, then .fini runs */
}

TestSuite(totp, .init = setup, .fini = teardown);
TestSuite(throttle, .init = setup, .fini = teardown);
TestSuite(groups);
static char pamcheck_tool[PATH_MAX];

/* The tool beside this build: BUILD/bin/mwg-pamcheck; skips without it. */
static void
pam_setup(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	cr_assert_gt(n, 0);
	self[n] = '\0';
	*strrchr(self, '/') = '\0';	/* BUILD/tests */
	cr_assert(snprintf(pamcheck_tool, sizeof(pamcheck_tool),
	    "%s/../bin/mwg-pamcheck", self) < (int)sizeof(pamcheck_tool));
	if (access(pamcheck_tool, X_OK) != 0)
		UNIT_SKIP("%s is not built (make all)", pamcheck_tool);
	setup();
}

TestSuite(pam, .init = pam_setup, .fini = teardown);

/* ---- TOTP --------------------------------------------------------------- */

/* The code for key at t (digits, period as given) into buf. */
static void
code_at(const unsigned char *key, size_t len, time_t t, unsigned digits,
    unsigned period, char buf[16])
{
	cr_assert_eq(oath_totp_generate((const char *)key, len, t, period, 0,
	    digits, buf), OATH_OK);
}

/* auth_totp_check's result for code at now; *why into why. */
static int
check(const char *user, const char *code, time_t now, const char **why)
{
	int rc;

	rc = auth_totp_check(st, user, code, now, why, err, sizeof(err));
	cr_assert_neq(rc, -1, "auth_totp_check: %s", err);
	cr_assert(rc == 1 ? *why != NULL : *why == NULL);
	return rc;
}

/* Checks that code at now is refused because of want. */
static void
refused(const char *user, const char *code, time_t now, const char *want)
{
	const char *why;

	cr_assert_eq(check(user, code, now, &why), 1, "%s accepted", code);
	cr_assert_str_eq(why, want, "%s: %s, want %s", code, why, want);
}

static void
accepted(const char *user, const char *code, time_t now)
{
	const char *why = NULL;

	cr_assert_eq(check(user, code, now, &why), 0, "%s refused: %s", code,
	    why ? why : "");
}

static void
import_rfc_secret(const char *user)
{
	cr_assert_eq(auth_totp_import(st, user, secret, SECRET_LEN, 6, 30, err,
	    sizeof(err)), 0, "%s", err);
}

Test(totp, window_is_one_step_either_side)
{
	char c[16];

	import_rfc_secret("alice");
	/* Older steps first: each acceptance moves the last step on. */
	code_at(secret, SECRET_LEN, NOW - 30, 6, 30, c);
	accepted("alice", c, NOW);
	code_at(secret, SECRET_LEN, NOW, 6, 30, c);
	accepted("alice", c, NOW);
	code_at(secret, SECRET_LEN, NOW + 30, 6, 30, c);
	accepted("alice", c, NOW);

	import_rfc_secret("bob");
	code_at(secret, SECRET_LEN, NOW - 60, 6, 30, c);
	refused("bob", c, NOW, "wrong code");
	code_at(secret, SECRET_LEN, NOW + 60, 6, 30, c);
	refused("bob", c, NOW, "wrong code");
	refused("bob", "000000", NOW, "wrong code");
	ASSERT_NO_LEAKS();
}

Test(totp, a_code_is_good_once)
{
	struct store_totp_info info;
	unsigned char got[STORE_TOTP_SECRET_MAX];
	size_t len;
	char c[16];

	import_rfc_secret("alice");
	code_at(secret, SECRET_LEN, NOW, 6, 30, c);
	accepted("alice", c, NOW);
	refused("alice", c, NOW, "code already used");
	/* Still spent half a minute later, while it is inside the window. */
	refused("alice", c, NOW + 30, "code already used");
	cr_assert_eq(store_totp_get(st, "alice", got, &len, &info, err,
	    sizeof(err)), 1);
	cr_assert_eq(info.last_step, NOW / 30);
	ASSERT_NO_LEAKS();
}

Test(totp, an_older_step_after_a_newer_one_is_refused)
{
	char older[16], newer[16];

	import_rfc_secret("alice");
	code_at(secret, SECRET_LEN, NOW, 6, 30, older);
	code_at(secret, SECRET_LEN, NOW + 30, 6, 30, newer);
	accepted("alice", newer, NOW);
	refused("alice", older, NOW, "code already used");
	ASSERT_NO_LEAKS();
}

Test(totp, malformed_codes_and_missing_enrolment)
{
	static const char *const bad[] = {
		"", "12345", "1234567", "12a456", " 123456", "123456 ",
		"-12345", "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93", "12345\n",
	};
	const char *why;
	char c[16];

	refused("nobody", "123456", NOW, "no TOTP enrolled");
	import_rfc_secret("alice");
	for (size_t i = 0; i < NELEM(bad); i++)
		refused("alice", bad[i], NOW, "malformed code");
	/* Malformed attempts spent nothing: today's code still works. */
	code_at(secret, SECRET_LEN, NOW, 6, 30, c);
	cr_assert_eq(check("alice", c, NOW, &why), 0);
	ASSERT_NO_LEAKS();
}

Test(totp, hundred_failures_disable_until_enrolled_again)
{
	unsigned char got[STORE_TOTP_SECRET_MAX];
	struct store_totp_info info;
	char b32[AUTH_TOTP_B32_MAX], c[16];
	char *raw = NULL;
	size_t len = 0;

	cr_assert_eq(auth_totp_failed(st, "nobody", NOW, err, sizeof(err)), 0);
	import_rfc_secret("alice");
	for (int i = 1; i < AUTH_TOTP_DISABLE_AFTER; i++)
		cr_assert_eq(auth_totp_failed(st, "alice", NOW, err,
		    sizeof(err)), 0, "failure %d", i);
	cr_assert_eq(auth_totp_failed(st, "alice", NOW, err, sizeof(err)), 1);
	cr_assert_eq(auth_totp_failed(st, "alice", NOW + 5, err, sizeof(err)),
	    0, "only the 100th reports the disabling");
	cr_assert_eq(store_totp_get(st, "alice", got, &len, &info, err,
	    sizeof(err)), 1);
	cr_assert_eq(info.disabled_at, NOW, "the first time is kept");
	cr_assert_eq(info.failures, AUTH_TOTP_DISABLE_AFTER + 1);

	code_at(secret, SECRET_LEN, NOW, 6, 30, c);
	refused("alice", c, NOW, "TOTP disabled");

	cr_assert_eq(auth_totp_enrol(st, "alice", b32, sizeof(b32), err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(oath_base32_decode(b32, strlen(b32), &raw, &len),
	    OATH_OK);
	code_at((unsigned char *)raw, len, NOW, 6, 30, c);
	accepted("alice", c, NOW);
	free(raw);
	ASSERT_NO_LEAKS();
}

Test(totp, an_accepted_code_resets_the_failures)
{
	unsigned char got[STORE_TOTP_SECRET_MAX];
	struct store_totp_info info;
	size_t len;
	char c[16];

	import_rfc_secret("alice");
	for (int i = 0; i < 50; i++)
		cr_assert_eq(auth_totp_failed(st, "alice", NOW, err,
		    sizeof(err)), 0);
	code_at(secret, SECRET_LEN, NOW, 6, 30, c);
	accepted("alice", c, NOW);
	cr_assert_eq(store_totp_get(st, "alice", got, &len, &info, err,
	    sizeof(err)), 1);
	cr_assert_eq(info.failures, 0);
	ASSERT_NO_LEAKS();
}

Test(totp, enrol_makes_a_fresh_160_bit_secret_in_base32)
{
	unsigned char got[STORE_TOTP_SECRET_MAX];
	struct store_totp_info info;
	char a[AUTH_TOTP_B32_MAX], b[AUTH_TOTP_B32_MAX], small[32];
	char *raw = NULL;
	size_t len = 0, glen = 0;

	cr_assert_eq(auth_totp_enrol(st, "alice", a, sizeof(a), err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(strlen(a), 32, "%s", a);
	cr_assert_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 32);
	cr_assert_eq(oath_base32_decode(a, strlen(a), &raw, &len), OATH_OK);
	cr_assert_eq(len, AUTH_TOTP_SECRET_LEN);
	cr_assert_eq(store_totp_get(st, "alice", got, &glen, &info, err,
	    sizeof(err)), 1);
	cr_assert_eq(glen, len);
	cr_assert_eq(memcmp(got, raw, len), 0);
	cr_assert_eq(info.digits, 6);
	cr_assert_eq(info.period, 30);
	free(raw);

	cr_assert_eq(auth_totp_enrol(st, "alice", b, sizeof(b), err,
	    sizeof(err)), 0);
	cr_assert_str_neq(a, b);
	/* 32 characters and the NUL do not fit in 32 bytes: nothing stored. */
	cr_assert_eq(auth_totp_enrol(st, "carol", small, sizeof(small), err,
	    sizeof(err)), -1);
	cr_assert_str_eq(small, "");
	cr_assert_eq(store_totp_get(st, "carol", got, &glen, &info, err,
	    sizeof(err)), 0);
	ASSERT_NO_LEAKS();
}

Test(totp, import_keeps_digits_and_period)
{
	static const struct {
		size_t len;
		unsigned digits;
	} bad[] = { { 9, 6 }, { STORE_TOTP_SECRET_MAX + 1, 6 }, { 20, 5 },
		{ 20, 9 } };
	unsigned char big[STORE_TOTP_SECRET_MAX + 1] = { 0 };
	char c[16];

	cr_assert_eq(auth_totp_import(st, "alice", secret, SECRET_LEN, 8, 60,
	    err, sizeof(err)), 0, "%s", err);
	code_at(secret, SECRET_LEN, NOW, 6, 60, c);
	refused("alice", c, NOW, "malformed code");
	code_at(secret, SECRET_LEN, NOW, 8, 30, c);
	refused("alice", c, NOW, "wrong code");
	code_at(secret, SECRET_LEN, NOW - 60, 8, 60, c);
	accepted("alice", c, NOW);

	/* Period 0: the default 30 s. */
	cr_assert_eq(auth_totp_import(st, "bob", secret, 10, 6, 0, err,
	    sizeof(err)), 0, "%s", err);
	code_at(secret, 10, NOW + 30, 6, 30, c);
	accepted("bob", c, NOW);

	for (size_t i = 0; i < NELEM(bad); i++)
		cr_assert_eq(auth_totp_import(st, "carol", big, bad[i].len,
		    bad[i].digits, 30, err, sizeof(err)), -1, "bad[%zu]", i);
	ASSERT_NO_LEAKS();
}

/* oathtool, a separate implementation, agrees with an enrolled secret. */
Test(totp, oathtool_agrees_with_an_enrolled_secret)
{
	char b32[AUTH_TOTP_B32_MAX], cmd[256], c[16] = "";
	FILE *p;

	if (access("/usr/bin/oathtool", X_OK) != 0) {
		teardown();	/* a skip does not run .fini */
		UNIT_SKIP("oathtool is not installed");
	}
	cr_assert_eq(auth_totp_enrol(st, "alice", b32, sizeof(b32), err,
	    sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "/usr/bin/oathtool --totp -b %s -N @%d",
	    b32, NOW);
	cr_assert_not_null(p = popen(cmd, "r"));
	cr_assert_not_null(fgets(c, sizeof(c), p));
	cr_assert_eq(pclose(p), 0);
	c[strcspn(c, "\n")] = '\0';
	accepted("alice", c, NOW);
}

/* ---- throttle ----------------------------------------------------------- */

static long
wait_at(const char *const *keys, size_t n, time_t now)
{
	long w = auth_throttle_wait(st, keys, n, now, err, sizeof(err));

	cr_assert_geq(w, 0, "auth_throttle_wait: %s", err);
	return w;
}

static void
fail_at(const char *key, time_t now)
{
	const char *keys[] = { key };

	cr_assert_eq(auth_throttle_fail(st, keys, 1, now, err, sizeof(err)), 0,
	    "%s", err);
}

Test(throttle, two_free_then_doubling_up_to_a_minute)
{
	static const long want[] = { 0, 0, 2, 4, 8, 16, 32, 60, 60 };
	const char *keys[] = { "user:alice" };
	time_t t = NOW;

	cr_assert_eq(wait_at(keys, 1, t), 0);
	for (size_t i = 0; i < NELEM(want); i++) {
		fail_at(keys[0], t);
		cr_assert_eq(wait_at(keys, 1, t), want[i],
		    "after %zu failures: %ld, want %ld", i + 1,
		    wait_at(keys, 1, t), want[i]);
		t += want[i];
		cr_assert_eq(wait_at(keys, 1, t), 0, "after waiting");
	}
	ASSERT_NO_LEAKS();
}

Test(throttle, the_wait_counts_down)
{
	const char *keys[] = { "ip:192.0.2.1" };

	for (int i = 0; i < 4; i++)
		fail_at(keys[0], NOW);
	cr_assert_eq(wait_at(keys, 1, NOW), 4);
	cr_assert_eq(wait_at(keys, 1, NOW + 1), 3);
	cr_assert_eq(wait_at(keys, 1, NOW + 4), 0);
	cr_assert_eq(wait_at(keys, 1, NOW + 400), 0);
}

Test(throttle, the_eleventh_attempt_waits_for_the_window)
{
	const char *keys[] = { "user:alice" };
	struct store_throttle row;
	time_t t = NOW;
	long w;

	/* Ten failures, each as soon as allowed: +0 0 0 2 6 14 30 62 122 182 */
	for (int i = 0; i < AUTH_THROTTLE_MAX; i++) {
		t += wait_at(keys, 1, t);
		fail_at(keys[0], t);
	}
	cr_assert_eq(t, NOW + 182);
	w = wait_at(keys, 1, t);
	cr_assert_eq(w, AUTH_THROTTLE_WINDOW - 182, "wait %ld", w);
	cr_assert_eq(wait_at(keys, 1, NOW + 242), 58, "past the delay");
	cr_assert_eq(wait_at(keys, 1, NOW + AUTH_THROTTLE_WINDOW - 1), 1);
	cr_assert_eq(wait_at(keys, 1, NOW + AUTH_THROTTLE_WINDOW), 0);

	/* The window has passed: a new one starts at zero, free again. */
	fail_at(keys[0], NOW + AUTH_THROTTLE_WINDOW);
	cr_assert_eq(store_throttle_get(st, keys[0], &row, err, sizeof(err)),
	    1);
	cr_assert_eq(row.failures, 1);
	cr_assert_eq(row.window_start, NOW + AUTH_THROTTLE_WINDOW);
	cr_assert_eq(wait_at(keys, 1, NOW + AUTH_THROTTLE_WINDOW), 0);
	ASSERT_NO_LEAKS();
}

Test(throttle, keys_are_separate_and_clear_forgets_one)
{
	const char *both[] = { "user:alice", NULL, "ip:192.0.2.1" };
	const char *user[] = { "user:alice" }, *ip[] = { "ip:192.0.2.1" };
	struct store_throttle row;

	cr_assert_eq(auth_throttle_fail(st, both, 3, NOW, err, sizeof(err)),
	    0);
	cr_assert_eq(auth_throttle_fail(st, both, 3, NOW, err, sizeof(err)),
	    0);
	for (int i = 0; i < 2; i++)
		fail_at(ip[0], NOW);
	cr_assert_eq(wait_at(user, 1, NOW), 0);
	cr_assert_eq(wait_at(ip, 1, NOW), 4);
	cr_assert_eq(wait_at(both, 3, NOW), 4, "the longest wait");

	cr_assert_eq(auth_throttle_clear(st, "user:alice", err, sizeof(err)),
	    0);
	cr_assert_eq(store_throttle_get(st, "user:alice", &row, err,
	    sizeof(err)), 0);
	cr_assert_eq(store_throttle_get(st, "ip:192.0.2.1", &row, err,
	    sizeof(err)), 1);
	cr_assert_eq(row.failures, 4);
	cr_assert_eq(wait_at(both, 3, NOW), 4);
	cr_assert_eq(auth_throttle_clear(st, "user:nobody", err, sizeof(err)),
	    0, "no row is not an error");
	ASSERT_NO_LEAKS();
}

/* ---- groups ------------------------------------------------------------- */

Test(groups, root_has_its_primary_group_first)
{
	char g[CERTS_GROUPS_MAX][CERTS_GROUP_MAX];
	int n;

	n = auth_groups("root", g, CERTS_GROUPS_MAX);
	cr_assert_geq(n, 1);
	cr_assert_str_eq(g[0], "root");
	for (int i = 1; i < n; i++)
		cr_assert_str_neq(g[i], "root", "listed twice");
	cr_assert_eq(auth_groups("root", g, 1), 1);
	cr_assert_eq(auth_groups("root", g, 0), 0);
	cr_assert_eq(auth_groups("no-such-user-mwg", g, CERTS_GROUPS_MAX), -1);
	ASSERT_NO_LEAKS();
}

/* ---- PAM through pam_wrapper, in a child ----------------------------- */

/* The sanitizer runtime this binary loaded, to preload it first. */
static int
find_asan(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libasan.so")) {
		snprintf(arg, PATH_MAX, "%s", info->dlpi_name);
		return 1;
	}
	return 0;
}

/*
 * Writes the service files into dir/wrap (pam_wrapper copies the whole
 * directory at start) and sets the wrapper's environment for the child.
 */
static void
pam_wrapper_env(void)
{
	char p[PATH_MAX], text[PATH_MAX * 3], asan[PATH_MAX] = "";
	char wrap[PATH_MAX], pre[PATH_MAX * 2];

	cr_assert_eq(mkdir(path_in(wrap, dir, "wrap"), 0700), 0);
	path_in(p, wrap, "passdb");
	write_file(p, "alice:s3cret:mwg\nbob:hunter2:other\n", 0);
	snprintf(text, sizeof(text), "auth required %s passdb=%s\n"
	    "account required %s passdb=%s\n", PAM_MATRIX, p, PAM_MATRIX, p);
	write_file(path_in(p, wrap, "mwg"), text, 0);
	path_in(p, wrap, "passdb-v");
	write_file(p, "alice:s3cret:mwg-verbose\n", 0);
	snprintf(text, sizeof(text), "auth required %s passdb=%s verbose\n"
	    "account required %s passdb=%s verbose\n", PAM_MATRIX, p,
	    PAM_MATRIX, p);
	write_file(path_in(p, wrap, "mwg-verbose"), text, 0);
	write_file(path_in(p, wrap, "other"), "\n", 1);

	dl_iterate_phdr(find_asan, asan);
	snprintf(pre, sizeof(pre), "%s%slibpam_wrapper.so", asan,
	    asan[0] ? ":" : "");
	cr_assert_eq(setenv("LD_PRELOAD", pre, 1), 0);
	cr_assert_eq(setenv("PAM_WRAPPER", "1", 1), 0);
	cr_assert_eq(setenv("PAM_WRAPPER_SERVICE_DIR", wrap, 1), 0);
	cr_assert_eq(setenv("PAM_WRAPPER_DISABLE_DEEPBIND", "1", 1), 0);
}

/* Runs the tool with password on stdin; its exit status, output in out. */
static int
pamcheck(const char *threads, const char *service, const char *user,
    const char *password, char *out, size_t outlen)
{
	char *argv[] = { pamcheck_tool, "-n", (char *)threads, (char *)service,
	    (char *)user, NULL };
	posix_spawn_file_actions_t fa;
	int in[2], o[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	cr_assert_eq(pipe(in), 0);
	cr_assert_eq(pipe(o), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, o[0]);
	cr_assert_eq(posix_spawn(&pid, pamcheck_tool, &fa, NULL, argv,
	    environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(o[1]);
	cr_assert_eq(write(in[1], password, strlen(password)),
	    (ssize_t)strlen(password));
	cr_assert_eq(write(in[1], "\n", 1), 1);
	close(in[1]);
	while ((n = read(o[0], out + got, outlen - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = '\0';
	close(o[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "mwg-pamcheck died: %s", out);
	return WEXITSTATUS(status);
}

Test(pam, matrix_accepts_refuses_and_denies_the_account, .timeout = 60)
{
	static const struct {
		const char *service, *user, *password;
		int status;
		const char *out;
	} cases[] = {
		{ "mwg", "alice", "s3cret", 0, "accepted\n" },
		{ "mwg", "alice", "s3cret!", 1,
		    "refused: wrong password or unknown user\n" },
		{ "mwg", "alice", "", 1,
		    "refused: wrong password or unknown user\n" },
		{ "mwg", "mallory", "s3cret", 1,
		    "refused: wrong password or unknown user\n" },
		/* bob's password is right, but not for this service. */
		{ "mwg", "bob", "hunter2", 1,
		    "refused: account not permitted: Permission denied\n" },
		/* verbose: pam_matrix sends information with resp == NULL */
		{ "mwg-verbose", "alice", "s3cret", 0, "accepted\n" },
		{ "mwg-verbose", "alice", "nope", 1,
		    "refused: wrong password or unknown user\n" },
	};
	char out[512];

	pam_wrapper_env();
	for (size_t i = 0; i < NELEM(cases); i++) {
		int s = pamcheck("4", cases[i].service, cases[i].user,
		    cases[i].password, out, sizeof(out));

		cr_expect_eq(s, cases[i].status, "case %zu: exit %d: %s", i, s,
		    out);
		cr_expect_str_eq(out, cases[i].out, "case %zu", i);
	}
}

/* Sixteen checks at once on one process: each sees its own answer. */
Test(pam, concurrent_checks_agree, .timeout = 60)
{
	char out[512];

	pam_wrapper_env();
	cr_assert_eq(pamcheck("16", "mwg", "alice", "s3cret", out,
	    sizeof(out)), 0, "%s", out);
	cr_assert_eq(pamcheck("16", "mwg", "alice", "wrong", out,
	    sizeof(out)), 1, "%s", out);
}
