/*
 * mwgctl's verbs that talk to mwgd: pam_oath users files, otpauth:// URIs,
 * the QR code on the terminal, and each verb's exact request and output
 * against a fake mwgd that answers canned lines on a Unix socket. mwgctl
 * is a program, not a library, so its sources are included here.
 */
#include "tests/unit/unit.h"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <criterion/redirect.h>

#include "admin/control.c"
#include "admin/code.c"
#include "admin/device.c"
#include "admin/lock.c"
#include "admin/qr.c"
#include "admin/totp.c"
#include "admin/totp_list.c"
#include "admin/usage.c"

#define FIXTURES	"tests/fixtures/pam_oath/"
#define FAKE_MAX	4		/* answers one fake mwgd gives */
#define FAKE_REQ_MAX	(1024 * 1024)	/* bytes of a request it keeps */

/* The longest secret taken (64 bytes) and one byte more. */
#define HEX128	"HOTP/T30 a - " \
	"0011223344556677889900112233445566778899001122334455667788990011" \
	"2233445566778899001122334455667788990011223344556677889900112233\n"
#define HEX130	"HOTP/T30 a - " \
	"0011223344556677889900112233445566778899001122334455667788990011" \
	"223344556677889900112233445566778899001122334455667788990011223344\n"

/* ---- helpers ------------------------------------------------------------- */

/* Parses text as a users file named "users"; *errs gets every message. */
static size_t
parse_text(const char *text, size_t len, struct totp_file *f, char **errs)
{
	char *buf = xmalloc(len + 1);
	size_t errlen = 0, n;
	FILE *m;

	memcpy(buf, text, len);
	cr_assert_not_null(m = open_memstream(errs, &errlen));
	n = totp_parse_users("users", buf, len, f, m);
	cr_assert_eq(fclose(m), 0);
	free(buf);
	return n;
}

/* Runs a verb as main would: argv from a NULL-terminated list. */
static int
run(int (*fn)(int, char **), const char *const *args)
{
	char *argv[32];
	int argc = 0, rc;

	while (args[argc] != NULL) {
		cr_assert_lt(argc, 31);
		argv[argc] = xstrdup(args[argc]);
		argc++;
	}
	argv[argc] = NULL;
	rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

#define RUN(fn, ...) run(fn, (const char *const[]){ __VA_ARGS__, NULL })

/* ---- a fake mwgd --------------------------------------------------------- */

struct fake {
	char dir[64];
	char path[PATH_MAX];
	int fd;
	const char *answers[FAKE_MAX];
	size_t n;
	char *requests[FAKE_MAX];	/* each line as received, no '\n' */
	pthread_t thread;
};

static struct fake fake;

static char *
fake_read_line(int c)
{
	char *buf = xmalloc(FAKE_REQ_MAX + 1);
	size_t len = 0;
	ssize_t r;

	while (len < FAKE_REQ_MAX && (r = read(c, buf + len, 1)) == 1 &&
	    buf[len] != '\n')
		len++;
	buf[len] = '\0';
	return buf;
}

static void *
fake_serve(void *arg)
{
	struct fake *f = arg;

	for (size_t i = 0; i < f->n; i++) {
		int c = accept(f->fd, NULL, NULL);

		if (c == -1)
			break;
		f->requests[i] = fake_read_line(c);
		if (write(c, f->answers[i], strlen(f->answers[i])) == -1 ||
		    write(c, "\n", 1) == -1)
			perror("fake mwgd");
		close(c);
	}
	return NULL;
}

/* Listens on a fresh socket, named in MWG_CONTROL, for n answers. */
static void
fake_start(size_t n, const char *const *answers)
{
	struct sockaddr_un sun;

	memset(&fake, 0, sizeof(fake));
	cr_assert_leq(n, FAKE_MAX);
	make_tmp_dir(fake.dir, sizeof(fake.dir), "mwg-admin");
	path_in(fake.path, fake.dir, "control");
	cr_assert_eq(addr_unix(fake.path, &sun), 0);
	cr_assert_neq(fake.fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	cr_assert_eq(bind(fake.fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fake.fd, 4), 0);
	for (size_t i = 0; i < n; i++)
		fake.answers[i] = answers[i];
	fake.n = n;
	cr_assert_eq(setenv("MWG_CONTROL", fake.path, 1), 0);
	cr_assert_eq(pthread_create(&fake.thread, NULL, fake_serve, &fake), 0);
}

#define FAKE(...) fake_start(NELEM(((const char *const[]){ __VA_ARGS__ })), \
    (const char *const[]){ __VA_ARGS__ })

/* Waits for the fake to finish: the verb must have used every answer. */
static void
fake_end(void)
{
	cr_assert_eq(pthread_join(fake.thread, NULL), 0);
	close(fake.fd);
	remove_tree(fake.dir);
}

static void
fake_free(void)
{
	for (size_t i = 0; i < FAKE_MAX; i++)
		free(fake.requests[i]);
}

static void
capture(void)
{
	cr_redirect_stdout();
	cr_redirect_stderr();
	setenv("MWG_CONTROL", "/nonexistent/mwg-admin-test", 1);
	unsetenv("NO_COLOR");
}

/* ---- pam_oath users files ------------------------------------------------ */

Test(pam_oath, good_fixture)
{
	static const struct {
		const char *user, *hex;
		unsigned int digits, period;
		int line;
	} want[] = {
		{ "alice", "3132333435363738393031323334353637383930", 6, 30,
		  4 },
		{ "bob", "00112233445566778899aabbccddeeff00112233", 6, 30, 5 },
		{ "carol.jones", "0123456789abcdef0123", 8, 60, 6 },
		{ "d_evans", "ffeeddccbbaa99887766", 7, 30, 7 },
	};
	struct totp_file f = { NULL, 0, 0 };
	char *text, *errs = NULL;
	size_t len, errlen = 0;
	FILE *m;

	cr_assert_eq(totp_read_file(FIXTURES "good.users", &text, &len), 0);
	cr_assert_not_null(m = open_memstream(&errs, &errlen));
	cr_assert_eq(totp_parse_users("good.users", text, len, &f, m), 0);
	fclose(m);
	cr_assert_str_eq(errs, "");
	cr_assert_eq(f.n, NELEM(want));
	for (size_t i = 0; i < NELEM(want); i++) {
		cr_expect_str_eq(f.v[i].user, want[i].user, "[%zu]", i);
		cr_expect_str_eq(f.v[i].secret_hex, want[i].hex, "[%zu]", i);
		cr_expect_eq(f.v[i].digits, want[i].digits, "[%zu]", i);
		cr_expect_eq(f.v[i].period, want[i].period, "[%zu]", i);
		cr_expect_eq(f.v[i].line, want[i].line, "[%zu]", i);
	}
	free(errs);
	free(text);
	totp_file_free(&f);
	ASSERT_NO_LEAKS();
}

Test(pam_oath, bad_fixture_every_error_by_line)
{
	static const char want[] =
	    "b:3: counter-based token HOTP: mwg imports only time-based "
	    "entries (HOTP/T30, HOTP/T60/8, ...)\n"
	    "b:4: counter-based token HOTP/E/8: mwg imports only time-based "
	    "entries (HOTP/T30, HOTP/T60/8, ...)\n"
	    "b:5: dave has a PIN; mwg checks the PAM password instead: put "
	    "'-' in the PIN field\n"
	    "b:6: unknown token type 'TOTP/T30': expected HOTP/T<seconds>"
	    "[/<digits>], e.g. HOTP/T30 or HOTP/T60/8\n"
	    "b:7: invalid user name 'Frank' (a-z, 0-9, '.', '_', '-'; 1 to 63, "
	    "not starting with '.' or '-')\n"
	    "b:8: the secret for gail is not hexadecimal\n"
	    "b:9: the secret for hugh is 18 hex digits; 10 to 64 bytes (an "
	    "even count of 20 to 128 digits) are accepted\n"
	    "b:10: 9 digits in HOTP/T30/9: 6 to 8 are supported\n"
	    "b:11: time step in HOTP/T0 must be 1 to 300 seconds\n"
	    "b:12: expected TYPE USER PIN SECRET (and at most 3 more fields), "
	    "got 3 fields\n"
	    "b:13: alice already has a secret at line 2 (mwg keeps one per "
	    "person)\n"
	    "b:14: expected TYPE USER PIN SECRET (and at most 3 more fields), "
	    "got more than 7 fields\n";
	struct totp_file f = { NULL, 0, 0 };
	char *text, *errs = NULL;
	size_t len, errlen = 0;
	FILE *m;

	cr_assert_eq(totp_read_file(FIXTURES "bad.users", &text, &len), 0);
	cr_assert_not_null(m = open_memstream(&errs, &errlen));
	cr_assert_eq(totp_parse_users("b", text, len, &f, m), 12);
	fclose(m);
	cr_assert_str_eq(errs, want);
	/* The PIN and the secrets are never quoted. */
	cr_assert_null(strstr(errs, "1234"));
	cr_assert_null(strstr(errs, "3132"));
	free(errs);
	free(text);
	totp_file_free(&f);
	ASSERT_NO_LEAKS();
}

/* One users file each: entries kept, errors and their exact messages. */
Test(pam_oath, lines)
{
	static const struct {
		const char *text;
		size_t nentries;
		size_t nerrs;
		const char *errs;
	} cases[] = {
		/* CRLF, no final newline, tabs, leading blanks */
		{ "HOTP/T30 a - 00112233445566778899\r\n\t HOTP/T30 b - "
		  "00112233445566778899", 2, 0, "" },
		{ "  # indented comment\n\nHOTP/T300/8 a - 0011223344556677"
		  "8899\n", 1, 0, "" },
		{ HEX128, 1, 0, "" },
		{ HEX130, 0, 1,
		  "users:1: the secret for a is 130 hex digits; 10 to 64 bytes "
		  "(an even count of 20 to 128 digits) are accepted\n" },
		{ "HOTP/T301 a - 00112233445566778899\n", 0, 1,
		  "users:1: time step in HOTP/T301 must be 1 to 300 "
		  "seconds\n" },
		{ "HOTP/T30/ a - 00112233445566778899\n", 0, 1,
		  "users:1: unknown token type 'HOTP/T30/': expected "
		  "HOTP/T<seconds>[/<digits>], e.g. HOTP/T30 or HOTP/T60/8\n" },
		{ "HOTP/T30/66 a - 00112233445566778899\n", 0, 1,
		  "users:1: unknown token type 'HOTP/T30/66': expected "
		  "HOTP/T<seconds>[/<digits>], e.g. HOTP/T30 or HOTP/T60/8\n" },
		{ "HOTP/Tx a - 00112233445566778899\n", 0, 1,
		  "users:1: unknown token type 'HOTP/Tx': expected "
		  "HOTP/T<seconds>[/<digits>], e.g. HOTP/T30 or HOTP/T60/8\n" },
		{ "HOTP/E a - 00112233445566778899\n", 0, 1,
		  "users:1: counter-based token HOTP/E: mwg imports only "
		  "time-based entries (HOTP/T30, HOTP/T60/8, ...)\n" },
		{ "HOTP/T30 a - 0011223344556677889\n", 0, 1,
		  "users:1: the secret for a is 19 hex digits; 10 to 64 bytes "
		  "(an even count of 20 to 128 digits) are accepted\n" },
		{ "HOTP/T30 a + 00112233445566778899\n", 0, 1,
		  "users:1: a has a PIN; mwg checks the PAM password instead: "
		  "put '-' in the PIN field\n" },
		{ "HOTP/T30 .a - 00112233445566778899\n", 0, 1,
		  "users:1: invalid user name '.a' (a-z, 0-9, '.', '_', '-'; "
		  "1 to 63, not starting with '.' or '-')\n" },
		/* a terminal escape in the file is not replayed on ours */
		{ "HOTP/T30 \x1b[2J - 00112233445566778899\n", 0, 1,
		  "users:1: invalid user name '?[2J' (a-z, 0-9, '.', '_', "
		  "'-'; 1 to 63, not starting with '.' or '-')\n" },
		{ "HOTP/T30 a - 00112233445566778899\n"
		  "HOTP/T30 a - 00112233445566778899\n"
		  "HOTP/T30 a - 00112233445566778899\n", 3, 2,
		  "users:2: a already has a secret at line 1 (mwg keeps one "
		  "per person)\n"
		  "users:3: a already has a secret at line 1 (mwg keeps one "
		  "per person)\n" },
		{ "# nothing\n\n", 0, 1, "users: no TOTP entries\n" },
		{ "", 0, 1, "users: no TOTP entries\n" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct totp_file f = { NULL, 0, 0 };
		char *errs;
		size_t n = parse_text(cases[i].text, strlen(cases[i].text), &f,
		    &errs);

		cr_expect_str_eq(errs, cases[i].errs, "case %zu", i);
		cr_expect_eq(n, cases[i].nerrs, "case %zu: %zu errors", i, n);
		cr_expect_eq(f.n, cases[i].nentries, "case %zu: %zu entries", i,
		    f.n);
		free(errs);
		totp_file_free(&f);
	}
	ASSERT_NO_LEAKS();
}

Test(pam_oath, nul_byte)
{
	static const char text[] = "HOTP/T30 a - 001122\0 33445566778899\n"
	    "HOTP/T30 b - 00112233445566778899\n";
	struct totp_file f = { NULL, 0, 0 };
	char *errs;

	cr_assert_eq(parse_text(text, sizeof(text) - 1, &f, &errs), 1);
	cr_assert_str_eq(errs, "users:1: NUL byte in line\n");
	cr_assert_eq(f.n, 1);
	cr_assert_str_eq(f.v[0].user, "b");
	free(errs);
	totp_file_free(&f);
	ASSERT_NO_LEAKS();
}

Test(ctl, unreadable_files)
{
	char *text;
	size_t len;

	cr_assert_eq(totp_read_file(FIXTURES "missing.users", &text, &len), -1);
	cr_assert_eq(totp_read_file(FIXTURES, &text, &len), -1);
	fflush(stderr);
	cr_assert_stderr_eq_str(
	    "mwgctl: totp import: " FIXTURES "missing.users: No such file or "
	    "directory\n"
	    "mwgctl: totp import: " FIXTURES ": not a regular file\n");
}

/* ---- otpauth:// URIs ----------------------------------------------------- */

Test(otpauth, uri)
{
	static const struct {
		const char *issuer, *user, *alg;
		int digits, period;
		const char *want;
	} cases[] = {
		{ "mwg", "alice", "SHA1", 6, 30,
		  "otpauth://totp/mwg:alice?secret=JBSWY3DPEHPK3PXP&issuer=mwg&"
		  "algorithm=SHA1&digits=6&period=30" },
		{ "Banbury Cross & Co/K84001", "carol.jones", "SHA256", 8, 60,
		  "otpauth://totp/Banbury%20Cross%20%26%20Co%2FK84001:"
		  "carol.jones?secret=JBSWY3DPEHPK3PXP&issuer=Banbury%20Cross"
		  "%20%26%20Co%2FK84001&algorithm=SHA256&digits=8&period=60" },
		{ "Ysbyty \xc3\xa2?=#+~", "d_evans-2", "SHA1", 6, 30,
		  "otpauth://totp/Ysbyty%20%C3%A2%3F%3D%23%2B~:d_evans-2?"
		  "secret=JBSWY3DPEHPK3PXP&issuer=Ysbyty%20%C3%A2%3F%3D%23%2B~"
		  "&algorithm=SHA1&digits=6&period=30" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *uri = totp_uri(cases[i].issuer, cases[i].user,
		    "JBSWY3DPEHPK3PXP", cases[i].alg, cases[i].digits,
		    cases[i].period);

		cr_expect_str_eq(uri, cases[i].want, "case %zu", i);
		free(uri);
	}
	ASSERT_NO_LEAKS();
}

Test(otpauth, issuer_and_secret_checks)
{
	char long_issuer[TOTP_ISSUER_MAX + 2];

	cr_expect_eq(totp_issuer_valid("mwg"), 0);
	cr_expect_eq(totp_issuer_valid("Banbury Cross HC"), 0);
	cr_expect_eq(totp_issuer_valid(""), -1);
	cr_expect_eq(totp_issuer_valid("a:b"), -1);
	cr_expect_eq(totp_issuer_valid("a\nb"), -1);
	cr_expect_eq(totp_issuer_valid("a\x7f"), -1);
	memset(long_issuer, 'a', sizeof(long_issuer) - 1);
	long_issuer[sizeof(long_issuer) - 1] = '\0';
	cr_expect_eq(totp_issuer_valid(long_issuer), -1);
	long_issuer[TOTP_ISSUER_MAX] = '\0';
	cr_expect_eq(totp_issuer_valid(long_issuer), 0);

	cr_expect_eq(totp_b32_valid("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), 0);
	cr_expect_eq(totp_b32_valid("JBSWY3DPEHPK3PX"), -1);	/* short */
	cr_expect_eq(totp_b32_valid("JBSWY3DPEHPK3PX1"), -1);	/* not b32 */
	cr_expect_eq(totp_b32_valid("JBSWY3DPEHPK3PX="), -1);	/* padding */
	cr_expect_eq(totp_b32_valid("jbswy3dpehpk3pxp"), -1);
	cr_expect_eq(totp_b32_valid(NULL), -1);
}

/* ---- QR codes ------------------------------------------------------------ */

/* "mwg" as `qrencode -t UTF8 -m 2 -l M -8` draws it (libqrencode 4.1),
 * except the last line: its bottom half is left blank here. */
static const char qr_mwg[] =
	"█████████████████████████\n"
	"██ ▄▄▄▄▄ ██ █ ██ ▄▄▄▄▄ ██\n"
	"██ █   █ █  ████ █   █ ██\n"
	"██ █▄▄▄█ █  ▄▀▄█ █▄▄▄█ ██\n"
	"██▄▄▄▄▄▄▄█ █ █▄█▄▄▄▄▄▄▄██\n"
	"██▄▀▄   ▄█▀ █ ▀▀ ▄▄  ▀▀██\n"
	"██ ▀▀█▀▀▄█▀▄█▀ ▀ ▄█ ▀ ███\n"
	"██▄▄▄██▄▄█  ▀█ ██ █▀▀▄ ██\n"
	"██ ▄▄▄▄▄ █▀▀ ▄█▄█▀ ▄▀ ▀██\n"
	"██ █   █ █ █▄ ▀ ▀█▄▀▄████\n"
	"██ █▄▄▄█ █▄█▄▀ ▀ ▄█▀█████\n"
	"██▄▄▄▄▄▄▄█▄▄██▄██▄██▄▄███\n"
	"▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀\n";

Test(qr, known_string)
{
	char *out = qr_render("mwg", 0);

	cr_assert_not_null(out);
	cr_assert_str_eq(out, qr_mwg);
	free(out);
	ASSERT_NO_LEAKS();
}

Test(qr, colour_wraps_each_line)
{
	char *out = qr_render("mwg", 1), *want = xcalloc(1, 4096), *p = want;
	const char *line = qr_mwg, *nl;

	cr_assert_not_null(out);
	while ((nl = strchr(line, '\n')) != NULL) {
		p = stpcpy(p, QR_SGR_ON);
		memcpy(p, line, (size_t)(nl - line));
		p = stpcpy(p + (nl - line), QR_SGR_OFF "\n");
		line = nl + 1;
	}
	cr_assert_str_eq(out, want);
	free(out);
	free(want);
	ASSERT_NO_LEAKS();
}

/* Reads the drawing back into modules and compares with libqrencode's
 * own matrix: quiet zone light, every module where it belongs. */
Test(qr, uri_round_trip)
{
	static const char uri[] = "otpauth://totp/Banbury%20Cross%20HC:alice?"
	    "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Banbury%20Cross%20"
	    "HC&algorithm=SHA1&digits=6&period=30";
	QRcode *qr = QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	char *out = qr_render(uri, 0);
	const char *p = out;
	int n, y = 0;

	cr_assert_not_null(qr);
	cr_assert_not_null(out);
	n = qr->width + 2 * QR_QUIET;
	for (; *p != '\0'; y += 2, p++) {
		for (int x = 0; x < n; x++) {
			int top = strncmp(p, "\u2580", 3) == 0 ||
			    strncmp(p, "\u2588", 3) == 0;
			int bottom = strncmp(p, "\u2584", 3) == 0 ||
			    strncmp(p, "\u2588", 3) == 0;

			cr_assert_eq(top, qr_light(qr, x, y), "(%d,%d)", x, y);
			if (y + 1 < n)
				cr_assert_eq(bottom, qr_light(qr, x, y + 1),
				    "(%d,%d)", x, y + 1);
			else
				cr_assert_eq(bottom, 0);
			p += *p == ' ' ? 1 : 3;
		}
		cr_assert_eq(*p, '\n', "line %d is %d modules wide", y / 2, n);
	}
	cr_assert_eq(y, n + 1, "%d lines for %d rows", y / 2, n);
	/* The finder pattern's corner: dark, inside two light modules. */
	cr_assert_eq(qr_light(qr, 1, 1), 1);
	cr_assert_eq(qr_light(qr, QR_QUIET, QR_QUIET), 0);
	QRcode_free(qr);
	free(out);
	ASSERT_NO_LEAKS();
}

Test(qr, refuses_empty_and_long_text)
{
	char *big = xmalloc(QR_TEXT_MAX + 2);

	memset(big, 'a', QR_TEXT_MAX + 1);
	big[QR_TEXT_MAX + 1] = '\0';
	errno = 0;
	cr_assert_null(qr_render("", 0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(qr_render(big, 0));
	cr_assert_eq(errno, EINVAL);
	free(big);
	ASSERT_NO_LEAKS();
}

/* ---- the verbs against a fake mwgd --------------------------------------- */

TestSuite(ctl, .init = capture);

Test(ctl, totp_enrol_uri_only)
{
	int rc;

	FAKE("{\"ok\":true,\"user\":\"alice\",\"secret\":\"JBSWY3DPEHPK3PXP"
	    "JBSWY3DPEHPK3PXP\",\"digits\":6,\"period\":30,\"algorithm\":"
	    "\"SHA1\",\"replaced\":false}");
	rc = RUN(admin_totp, "totp", "enrol", "alice", "--no-qr");
	fake_end();
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(fake.requests[0], "{\"cmd\":\"totp-enrol\",\"user\":"
	    "\"alice\"}");
	cr_assert_stdout_eq_str("otpauth://totp/mwg:alice?secret=JBSWY3DPEHPK3"
	    "PXPJBSWY3DPEHPK3PXP&issuer=mwg&algorithm=SHA1&digits=6&period=30"
	    "\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, totp_enrol_qr_and_warnings)
{
	char *want, *full;
	int rc;

	FAKE("{\"ok\":true,\"user\":\"a\",\"secret\":\"JBSWY3DPEHPK3PXP\","
	    "\"digits\":6,\"period\":30,\"algorithm\":\"SHA1\",\"replaced\":"
	    "true}");
	rc = RUN(admin_totp, "totp", "enrol", "--issuer=Acme", "a");
	fake_end();
	cr_assert_eq(rc, 0);
	want = qr_render("otpauth://totp/Acme:a?secret=JBSWY3DPEHPK3PXP&issuer="
	    "Acme&algorithm=SHA1&digits=6&period=30", 0);
	cr_assert_stderr_eq_str("mwgctl: totp enrol: a's previous secret is "
	    "replaced; codes from it no longer work\nmwgctl: totp enrol: this "
	    "secret is shown once: when a has scanned it, clear the screen and "
	    "scrollback (clear && printf '\\033[3J')\n");
	full = xasprintf("otpauth://totp/Acme:a?secret=JBSWY3DPEHPK3PXP&issuer="
	    "Acme&algorithm=SHA1&digits=6&period=30\n\n%s\n", want);
	cr_assert_stdout_eq_str(full);
	free(full);
	free(want);
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, totp_enrol_json)
{
	int rc;

	FAKE("{\"ok\":true,\"user\":\"a\",\"secret\":\"JBSWY3DPEHPK3PXP\","
	    "\"digits\":8,\"period\":60,\"algorithm\":\"SHA256\",\"replaced\":"
	    "false}");
	rc = RUN(admin_totp, "totp", "enrol", "a", "--json");
	fake_end();
	cr_assert_eq(rc, 0);
	cr_assert_stdout_eq_str("{\n"
	    "  \"ok\": true,\n"
	    "  \"user\": \"a\",\n"
	    "  \"secret\": \"JBSWY3DPEHPK3PXP\",\n"
	    "  \"digits\": 8,\n"
	    "  \"period\": 60,\n"
	    "  \"algorithm\": \"SHA256\",\n"
	    "  \"replaced\": false,\n"
	    "  \"uri\": \"otpauth://totp/mwg:a?secret=JBSWY3DPEHPK3PXP&"
	    "issuer=mwg&algorithm=SHA256&digits=8&period=60\"\n"
	    "}\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, totp_enrol_malformed_and_refused)
{
	int rc1, rc2;

	FAKE("{\"ok\":true,\"user\":\"a\",\"secret\":\"jbswy3dp\\u001b[2J\","
	    "\"digits\":6,\"period\":30,\"algorithm\":\"SHA1\"}",
	    "{\"ok\":false,\"error\":\"no such user\"}");
	rc1 = RUN(admin_totp, "totp", "enrol", "a");
	rc2 = RUN(admin_totp, "totp", "enrol", "a");
	fake_end();
	cr_assert_eq(rc1, 1);
	cr_assert_eq(rc2, 1);
	cr_assert_stdout_eq_str("");
	cr_assert_stderr_eq_str("mwgctl: totp enrol: mwgd sent a malformed "
	    "answer (secret)\nmwgctl: totp enrol: no such user\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, totp_import_request)
{
	int rc;

	FAKE("{\"ok\":true,\"imported\":4}");
	rc = RUN(admin_totp, "totp", "import", FIXTURES "good.users");
	fake_end();
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(fake.requests[0], "{\"cmd\":\"totp-import\","
	    "\"entries\":["
	    "{\"user\":\"alice\",\"secret_hex\":"
	    "\"3132333435363738393031323334353637383930\","
	    "\"digits\":6,\"period\":30},"
	    "{\"user\":\"bob\",\"secret_hex\":"
	    "\"00112233445566778899aabbccddeeff00112233\","
	    "\"digits\":6,\"period\":30},"
	    "{\"user\":\"carol.jones\",\"secret_hex\":"
	    "\"0123456789abcdef0123\",\"digits\":8,\"period\":60},"
	    "{\"user\":\"d_evans\",\"secret_hex\":"
	    "\"ffeeddccbbaa99887766\",\"digits\":7,\"period\":30}]}");
	cr_assert_stdout_eq_str("imported 4 secrets\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

/* 450 entries: three requests of 200, 200 and 50, each under 64 KiB. */
Test(ctl, totp_import_batches)
{
	char dir[64], path[PATH_MAX];
	FILE *f;
	json_t *req;
	int rc;

	make_tmp_dir(dir, sizeof(dir), "mwg-admin");
	path_in(path, dir, "users.oath");
	cr_assert_not_null(f = fopen(path, "w"));
	for (int i = 0; i < 450; i++)
		fprintf(f, "HOTP/T30 user-%03d-with-a-rather-long-name-for-the-"
		    "test-abcdef - %0128d\n", i, i);
	fclose(f);
	FAKE("{\"ok\":true,\"imported\":200}", "{\"ok\":true,\"imported\":200}",
	    "{\"ok\":true,\"imported\":50}");
	rc = RUN(admin_totp, "totp", "import", path);
	fake_end();
	remove_tree(dir);
	cr_assert_eq(rc, 0);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_lt(strlen(fake.requests[i]), 65536);
		cr_assert_not_null(req = json_loads(fake.requests[i], 0, NULL));
		cr_assert_eq(json_array_size(json_object_get(req, "entries")),
		    i < 2 ? 200 : 50);
		json_decref(req);
	}
	cr_assert_stdout_eq_str("imported 450 secrets\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, totp_import_bad_file_sends_nothing)
{
	int rc = RUN(admin_totp, "totp", "import", FIXTURES "empty.users");

	cr_assert_eq(rc, 1);
	cr_assert_stderr_eq_str(FIXTURES "empty.users: no TOTP entries\n"
	    "mwgctl: totp import: 1 error in " FIXTURES "empty.users; nothing "
	    "was imported\n");
}

Test(ctl, lock_and_unlock)
{
	int rc1, rc2, rc3;

	FAKE("{\"ok\":true,\"closed\":2,\"until\":1735732800}",
	    "{\"ok\":true,\"closed\":1}", "{\"ok\":true}");
	rc1 = RUN(admin_lock, "lock", "user", "alice", "--ttl", "12h",
	    "--reason", "left the practice");
	rc2 = RUN(admin_lock, "lock", "--reason", "stolen", "device",
	    "laptop-7f3a");
	rc3 = RUN(admin_lock, "unlock", "device", "laptop-7f3a");
	fake_end();
	cr_assert_eq(rc1, 0);
	cr_assert_eq(rc2, 0);
	cr_assert_eq(rc3, 0);
	cr_assert_str_eq(fake.requests[0], "{\"cmd\":\"lock\",\"kind\":"
	    "\"user\",\"name\":\"alice\",\"ttl\":43200,\"reason\":"
	    "\"left the practice\"}");
	cr_assert_str_eq(fake.requests[1], "{\"cmd\":\"lock\",\"kind\":"
	    "\"device\",\"name\":\"laptop-7f3a\",\"ttl\":0,\"reason\":"
	    "\"stolen\"}");
	cr_assert_str_eq(fake.requests[2], "{\"cmd\":\"unlock\",\"kind\":"
	    "\"device\",\"name\":\"laptop-7f3a\"}");
	cr_assert_stdout_eq_str(
	    "locked user alice (until 2025-01-01 12:00 UTC), closed 2 "
	    "tunnels\n"
	    "locked device laptop-7f3a (until unlocked), closed 1 tunnel\n"
	    "unlocked device laptop-7f3a\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, lock_refused)
{
	int rc1, rc2;

	FAKE("{\"ok\":false,\"error\":\"alice is not locked\"}",
	    "{\"ok\":false}");
	rc1 = RUN(admin_lock, "unlock", "user", "alice");
	rc2 = RUN(admin_lock, "lock", "user", "alice", "--reason", "x");
	fake_end();
	cr_assert_eq(rc1, 1);
	cr_assert_eq(rc2, 1);
	cr_assert_stdout_eq_str("");
	cr_assert_stderr_eq_str("mwgctl: unlock: alice is not locked\n"
	    "mwgctl: lock: refused (mwgd gave no reason)\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, lock_list_table)
{
	int rc;

	FAKE("{\"ok\":true,\"locks\":["
	    "{\"kind\":\"user\",\"name\":\"alice\",\"reason\":\"left the "
	    "practice\",\"by_uid\":1000,\"created_at\":1735732800,\"until\":0},"
	    "{\"kind\":\"device\",\"name\":\"laptop-7f3a\",\"reason\":"
	    "\"reported stolen\",\"by_uid\":0,\"created_at\":1735732800,"
	    "\"until\":1735776000},"
	    "{\"kind\":\"user\",\"name\":\"bob\",\"reason\":\"x\\u001by\","
	    "\"created_at\":1735732800,\"until\":4102444800}]}");
	rc = RUN(admin_lock, "lock", "list");
	fake_end();
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(fake.requests[0], "{\"cmd\":\"lock-list\"}");
	cr_assert_stdout_eq_str(
	    "KIND    NAME         EXPIRES               STATE    CREATED       "
	    "        BY-UID  REASON\n"
	    "user    alice        never                 active   2025-01-01 "
	    "12:00 UTC  1000    left the practice\n"
	    "device  laptop-7f3a  2025-01-02 00:00 UTC  expired  2025-01-01 "
	    "12:00 UTC  0       reported stolen\n"
	    "user    bob          2100-01-01 00:00 UTC  active   2025-01-01 "
	    "12:00 UTC  -       x?y\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, lock_usage_errors)
{
	cr_expect_eq(RUN(admin_lock, "lock", "user", "alice"), 2);
	cr_expect_eq(RUN(admin_lock, "lock", "user", "Alice", "--reason", "x"),
	    2);
	cr_expect_eq(RUN(admin_lock, "lock", "group", "a", "--reason", "x"), 2);
	cr_expect_eq(RUN(admin_lock, "lock", "device", "-x", "--reason", "x"),
	    2);
	cr_expect_eq(RUN(admin_lock, "lock", "user", "a", "--reason", ""), 2);
	cr_expect_eq(RUN(admin_lock, "lock", "user", "a", "--reason", "a\tb"),
	    2);
	cr_expect_eq(RUN(admin_lock, "lock", "user", "a", "--reason", "x",
	    "--ttl", "12x"), 2);
	cr_expect_eq(RUN(admin_lock, "lock", "user", "a", "--reason", "x",
	    "--ttl", "367d"), 2);
	cr_expect_eq(RUN(admin_lock, "lock", "user", "a", "--reason", "x",
	    "--ttl", "0"), 2);
	cr_expect_eq(RUN(admin_lock, "unlock", "user", "a", "--reason", "x"),
	    2);
	cr_expect_eq(RUN(admin_lock, "lock", "list", "--reason", "x"), 2);
	cr_expect_eq(RUN(admin_lock, "lock"), 2);
	cr_expect_eq(RUN(admin_lock, "lock", "user", "a", "--reason", "x",
	    "--bogus"), 2);
	cr_expect_eq(RUN(admin_lock, "lock", "--help"), 0);
	/* Nothing was sent: no mwgd listens at MWG_CONTROL. */
}

Test(ctl, reason_lengths)
{
	char reason[ADMIN_REASON_MAX + 2];

	memset(reason, 'r', sizeof(reason));
	reason[ADMIN_REASON_MAX + 1] = '\0';
	cr_expect_eq(admin_reason_check("lock", reason), -1);
	reason[ADMIN_REASON_MAX] = '\0';
	cr_expect_eq(admin_reason_check("lock", reason), 0);
	fflush(stderr);
	cr_assert_stderr_eq_str("mwgctl: lock: --reason must be 1 to 200 "
	    "characters, got 201\n");
}

Test(ctl, unreachable)
{
	cr_assert_eq(RUN(admin_lock, "lock", "list"), 1);
	cr_assert_stderr_eq_str("mwgctl: cannot reach mwgd at "
	    "/nonexistent/mwg-admin-test: No such file or directory\n");
}

Test(ctl, enrol_code_create)
{
	int rc;

	FAKE("{\"ok\":true,\"id\":\"c-5f2a\",\"secret\":\"s3cr3t-XYZ\","
	    "\"expires_at\":1735732800}");
	rc = RUN(admin_enrol_code, "enrol-code", "create", "--user", "alice",
	    "--practice", "k84001", "--label", "reception PC 2", "--ttl", "2h",
	    "--managed");
	fake_end();
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(fake.requests[0], "{\"cmd\":\"enrol-code-create\","
	    "\"user\":\"alice\",\"practice\":\"K84001\",\"label\":"
	    "\"reception PC 2\",\"ttl\":7200,\"managed\":true}");
	cr_assert_stdout_eq_str("c-5f2a:s3cr3t-XYZ\n");
	cr_assert_stderr_eq_str("mwgctl: enrol-code: single use, expires "
	    "2025-01-01 12:00 UTC\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, enrol_code_defaults)
{
	int rc;

	FAKE("{\"ok\":true,\"id\":\"c-1\",\"secret\":\"s\",\"expires_at\":1}");
	rc = RUN(admin_enrol_code, "enrol-code", "create", "--practice",
	    "K84001", "--user", "bob");
	fake_end();
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(fake.requests[0], "{\"cmd\":\"enrol-code-create\","
	    "\"user\":\"bob\",\"practice\":\"K84001\",\"label\":\"\",\"ttl\":"
	    "86400,\"managed\":false}");
	cr_assert_stdout_eq_str("c-1:s\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, enrol_code_malformed_answer)
{
	int rc;

	FAKE("{\"ok\":true,\"id\":\"c:1\",\"secret\":\"s\",\"expires_at\":1}");
	rc = RUN(admin_enrol_code, "enrol-code", "create", "--practice",
	    "K84001", "--user", "bob");
	fake_end();
	cr_assert_eq(rc, 1);
	cr_assert_stdout_eq_str("");
	cr_assert_stderr_eq_str("mwgctl: enrol-code: mwgd sent a malformed "
	    "answer (id)\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, enrol_code_usage_errors)
{
	cr_expect_eq(RUN(admin_enrol_code, "enrol-code", "create", "--user",
	    "a"), 2);
	cr_expect_eq(RUN(admin_enrol_code, "enrol-code", "create", "--user",
	    "a", "--practice", "K8400!"), 2);
	cr_expect_eq(RUN(admin_enrol_code, "enrol-code", "create", "--user",
	    "a", "--practice", "K84001K84001K840"), 2);	/* 16 */
	cr_expect_eq(RUN(admin_enrol_code, "enrol-code", "create", "--user",
	    "a", "--practice", "K84001", "--ttl", "31d"), 2);
	cr_expect_eq(RUN(admin_enrol_code, "enrol-code", "create", "--user",
	    "a", "--practice", "K84001", "--ttl", "59s"), 2);
	cr_expect_eq(RUN(admin_enrol_code, "enrol-code", "create", "--user",
	    "a", "--practice", "K84001", "--label", "a\nb"), 2);
	cr_expect_eq(RUN(admin_enrol_code, "enrol-code", "create", "--user",
	    "a", "--practice", "K84001", "--reason", "x"), 2);
	cr_expect_eq(RUN(admin_enrol_code, "enrol-code", "create", "--user",
	    "a", "--practice", "K84001", "extra"), 2);
	cr_expect_eq(RUN(admin_enrol_code, "enrol-code", "delete"), 2);
	cr_expect_eq(RUN(admin_enrol_code, "enrol-code"), 2);
	cr_expect_eq(RUN(admin_enrol_code, "enrol-code", "create", "--help"),
	    0);
}

Test(ctl, device_list_table)
{
	int rc;

	FAKE("{\"ok\":true,\"devices\":["
	    "{\"id\":\"laptop-7f3a\",\"user\":\"alice\",\"practice\":"
	    "\"K84001\","
	    "\"managed\":true,\"enrolled_at\":1735732800,\"expires_at\":"
	    "1743508800,\"last_seen_at\":1735736400,\"posture_at\":0,"
	    "\"status\":\"active\"},"
	    "{\"id\":\"pc-2\",\"user\":\"bob.smith\",\"practice\":\"K84002\","
	    "\"managed\":false,\"enrolled_at\":1735732800,\"expires_at\":"
	    "1743508800,\"status\":\"revoked\"}]}");
	rc = RUN(admin_device, "device", "list");
	fake_end();
	cr_assert_eq(rc, 0);
	cr_assert_str_eq(fake.requests[0], "{\"cmd\":\"device-list\"}");
	cr_assert_stdout_eq_str(
	    "ID           PERSON     PRACTICE  MANAGED  ENROLLED              "
	    "EXPIRES               LAST-SEEN             LAST-POSTURE          "
	    "STATUS\n"
	    "laptop-7f3a  alice      K84001    yes      2025-01-01 12:00 UTC  "
	    "2025-04-01 12:00 UTC  2025-01-01 13:00 UTC  -                     "
	    "active\n"
	    "pc-2         bob.smith  K84002    no       2025-01-01 12:00 UTC  "
	    "2025-04-01 12:00 UTC  -                     -                     "
	    "revoked\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, device_list_json_and_malformed)
{
	int rc1, rc2;

	FAKE("{\"ok\":true,\"devices\":[]}", "{\"ok\":true}");
	rc1 = RUN(admin_device, "device", "list", "--json");
	rc2 = RUN(admin_device, "device", "list");
	fake_end();
	cr_assert_eq(rc1, 0);
	cr_assert_eq(rc2, 1);
	cr_assert_stdout_eq_str("{\n  \"ok\": true,\n  \"devices\": []\n}\n");
	cr_assert_stderr_eq_str("mwgctl: device list: mwgd sent a malformed "
	    "answer (devices)\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, device_revoke)
{
	int rc1, rc2;

	FAKE("{\"ok\":true,\"closed\":3}",
	    "{\"ok\":false,\"error\":\"no such device\"}");
	rc1 = RUN(admin_device, "device", "revoke", "laptop-7f3a", "--reason",
	    "sold without wiping");
	rc2 = RUN(admin_device, "device", "revoke", "--reason", "x", "pc-9");
	fake_end();
	cr_assert_eq(rc1, 0);
	cr_assert_eq(rc2, 1);
	cr_assert_str_eq(fake.requests[0], "{\"cmd\":\"device-revoke\",\"id\":"
	    "\"laptop-7f3a\",\"reason\":\"sold without wiping\"}");
	cr_assert_str_eq(fake.requests[1], "{\"cmd\":\"device-revoke\",\"id\":"
	    "\"pc-9\",\"reason\":\"x\"}");
	cr_assert_stdout_eq_str("revoked device laptop-7f3a, closed 3 "
	    "tunnels\n");
	cr_assert_stderr_eq_str("mwgctl: device revoke: no such device\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

Test(ctl, device_usage_errors)
{
	cr_expect_eq(RUN(admin_device, "device", "revoke", "laptop-1"), 2);
	cr_expect_eq(RUN(admin_device, "device", "revoke", "Laptop",
	    "--reason", "x"), 2);
	cr_expect_eq(RUN(admin_device, "device", "revoke", "--reason", "x"), 2);
	cr_expect_eq(RUN(admin_device, "device", "list", "--reason", "x"), 2);
	cr_expect_eq(RUN(admin_device, "device", "list", "extra"), 2);
	cr_expect_eq(RUN(admin_device, "device", "wipe"), 2);
	cr_expect_eq(RUN(admin_device, "device", "--help"), 0);
}

Test(ctl, totp_usage_errors)
{
	cr_expect_eq(RUN(admin_totp, "totp", "enrol"), 2);
	cr_expect_eq(RUN(admin_totp, "totp", "enrol", "a", "b"), 2);
	cr_expect_eq(RUN(admin_totp, "totp", "enrol", "../a"), 2);
	cr_expect_eq(RUN(admin_totp, "totp", "enrol", "a", "--issuer", "a:b"),
	    2);
	cr_expect_eq(RUN(admin_totp, "totp", "enrol", "a", "--issuer"), 2);
	cr_expect_eq(RUN(admin_totp, "totp", "import"), 2);
	cr_expect_eq(RUN(admin_totp, "totp", "import", "a", "b"), 2);
	cr_expect_eq(RUN(admin_totp, "totp", "reset", "a"), 2);
	cr_expect_eq(RUN(admin_totp, "totp", "enrol", "--help"), 0);
	cr_expect_eq(RUN(admin_totp, "totp", "import", "--help"), 0);
}

/* The older verbs share the client: status and kill go as before. */
Test(ctl, status_and_kill)
{
	int rc1, rc2;

	FAKE("{\"ok\":true,\"version\":\"0.1\",\"tunnels\":3,\"draining\":"
	    "false}", "{\"ok\":false,\"error\":\"no tunnel 7\"}");
	rc1 = RUN(admin_control, "status");
	rc2 = RUN(admin_control, "kill", "7");
	fake_end();
	cr_assert_eq(rc1, 0);
	cr_assert_eq(rc2, 1);
	cr_assert_str_eq(fake.requests[0], "{\"cmd\":\"status\"}");
	cr_assert_str_eq(fake.requests[1], "{\"cmd\":\"kill\",\"id\":7}");
	cr_assert_stdout_eq_str("version          0.1\n"
	    "tunnels          3\n"
	    "draining         no\n");
	cr_assert_stderr_eq_str("mwgctl: kill: no tunnel 7\n");
	fake_free();
	ASSERT_NO_LEAKS();
}

/* An answer that is not JSON, or that never comes. */
Test(ctl, bad_answers)
{
	int rc1, rc2;

	FAKE("not json", "[1,2]");
	rc1 = RUN(admin_device, "device", "list");
	rc2 = RUN(admin_device, "device", "list");
	fake_end();
	cr_assert_eq(rc1, 1);
	cr_assert_eq(rc2, 1);
	cr_assert_stdout_eq_str("");
	cr_assert_stderr_eq_str("mwgctl: no valid answer from mwgd\n"
	    "mwgctl: device list: mwgd sent a malformed answer (not an "
	    "object)\n");
	fake_free();
	ASSERT_NO_LEAKS();
}
