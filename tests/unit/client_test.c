/*
 * client/: the pure parts of mwg. The state directory (where it is,
 * creating it private, atomic writes, bounded reads), what the command
 * line names (gateway, target, listen address, enrolment code, break-glass
 * reason), time and JSON text, and the gateway's answers through
 * libhttp-parser, fed whole and in pieces. The client's objects are not in
 * the libraries the unit tests link, so its files are compiled in here.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "client/authority.c"
#include "client/http.c"
#include "client/state.c"
#include "client/text.c"
#include "unit.h"

/* ---- gateway HOST:PORT ---------------------------------------------------- */

struct hostport_case {
	const char *in;
	const char *host;	/* NULL: refused */
	const char *port;
	int is_ip;
};

static const struct hostport_case hostport_cases[] = {
	{ "gw.example.org:443", "gw.example.org", "443", 0 },
	{ "GW-1.Example.org:8443", "GW-1.Example.org", "8443", 0 },
	{ "localhost:1", "localhost", "1", 0 },
	{ "127.0.0.1:65535", "127.0.0.1", "65535", 1 },
	{ "[::1]:8443", "::1", "8443", 1 },
	{ "[2001:db8::7]:443", "2001:db8::7", "443", 1 },
	{ "gw", NULL, NULL, 0 },
	{ "gw:", NULL, NULL, 0 },
	{ ":443", NULL, NULL, 0 },
	{ "gw:0", NULL, NULL, 0 },
	{ "gw:65536", NULL, NULL, 0 },
	{ "gw:+443", NULL, NULL, 0 },
	{ "gw:443x", NULL, NULL, 0 },
	{ "gw: 443", NULL, NULL, 0 },
	{ "gw:004430", NULL, NULL, 0 },
	{ "::1:443", NULL, NULL, 0 },
	{ "[::1]443", NULL, NULL, 0 },
	{ "[::1:443", NULL, NULL, 0 },
	{ "[gw.example.org]:443", NULL, NULL, 0 },
	{ "[127.0.0.1]:443", NULL, NULL, 0 },
	{ "gw_1.example.org:443", NULL, NULL, 0 },
	{ "-gw.example.org:443", NULL, NULL, 0 },
	{ "gw-.example.org:443", NULL, NULL, 0 },
	{ "gw..example.org:443", NULL, NULL, 0 },
	{ ".gw:443", NULL, NULL, 0 },
	{ "gw example:443", NULL, NULL, 0 },
};

Test(client_authority, hostport_table)
{
	for (size_t i = 0; i < NELEM(hostport_cases); i++) {
		const struct hostport_case *c = &hostport_cases[i];
		struct client_hostport hp;
		char err[CLIENT_ERR_MAX] = "", back[CLIENT_HOST_MAX + 8];
		int rc = client_parse_hostport(c->in, &hp, err, sizeof(err));

		if (c->host == NULL) {
			cr_expect_eq(rc, -1, "[%zu] %s accepted", i, c->in);
			cr_expect_neq(err[0], '\0', "[%zu] no reason", i);
			continue;
		}
		cr_assert_eq(rc, 0, "[%zu] %s: %s", i, c->in, err);
		cr_expect_str_eq(hp.host, c->host, "[%zu]", i);
		cr_expect_str_eq(hp.port, c->port, "[%zu]", i);
		cr_expect_eq(hp.is_ip, c->is_ip, "[%zu] is_ip", i);
		client_format_hostport(&hp, back, sizeof(back));
		cr_expect_str_eq(back, c->in, "[%zu] formats back", i);
	}
}

Test(client_authority, hostport_messages)
{
	struct client_hostport hp;
	char err[CLIENT_ERR_MAX];

	cr_assert_eq(client_parse_hostport("::1:443", &hp, err, sizeof(err)),
	    -1);
	cr_expect_str_eq(err, "'::1:443': write an IPv6 address in brackets, "
	    "as [::1]:8443");
	cr_assert_eq(client_parse_hostport("gw", &hp, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "'gw' is not HOST:PORT (a name or address and a "
	    "port 1-65535, e.g. gw.example.org:443 or [::1]:8443)");
}

/* ---- CONNECT targets -------------------------------------------------------- */

struct target_case {
	const char *in;
	const char *authority;	/* NULL: refused */
};

static const struct target_case target_cases[] = {
	{ "emis.K84001:443", "emis.K84001:443" },
	{ "emis.k84001:443", "emis.K84001:443" },
	{ "Reception-2.k84001:3389", "Reception-2.K84001:3389" },
	{ "a.b:1", "a.B:1" },
	{ "emis.K84001:65535", "emis.K84001:65535" },
	{ "emis.K84001", NULL },
	{ "emis:443", NULL },
	{ "emis.K84001.nhs:443", NULL },
	{ ".K84001:443", NULL },
	{ "emis.:443", NULL },
	{ "emis.K84001:", NULL },
	{ "emis.K84001:0", NULL },
	{ "emis.K84001:65536", NULL },
	{ "emis.K84001:-1", NULL },
	{ "emis.K84001:44 3", NULL },
	{ "em_is.K84001:443", NULL },
	{ "emis.K84001:443:1", NULL },
	{ "emis.K84 001:443", NULL },
	{ "", NULL },
};

Test(client_authority, target_table)
{
	for (size_t i = 0; i < NELEM(target_cases); i++) {
		const struct target_case *c = &target_cases[i];
		struct client_target t;
		char err[CLIENT_ERR_MAX] = "";
		int rc = client_parse_target(c->in, &t, err, sizeof(err));

		if (c->authority == NULL) {
			cr_expect_eq(rc, -1, "[%zu] '%s' accepted", i, c->in);
			cr_expect_neq(err[0], '\0', "[%zu] no reason", i);
			continue;
		}
		cr_assert_eq(rc, 0, "[%zu] %s: %s", i, c->in, err);
		cr_expect_str_eq(t.authority, c->authority, "[%zu]", i);
	}
}

Test(client_authority, target_parts_and_missing_port)
{
	struct client_target t;
	char err[CLIENT_ERR_MAX];

	cr_assert_eq(client_parse_target("docman.k84002:8443", &t, err,
	    sizeof(err)), 0);
	cr_expect_str_eq(t.name, "docman");
	cr_expect_str_eq(t.practice, "K84002");
	cr_expect_eq(t.port, 8443);
	cr_assert_eq(client_parse_target("emis.K84001", &t, err, sizeof(err)),
	    -1);
	cr_expect_str_eq(err, "'emis.K84001': give the target's port too, as "
	    "NAME.PRACTICE:PORT (e.g. emis.K84001:443)");
}

/* ---- listen addresses -------------------------------------------------------- */

struct listen_case {
	const char *in;
	int rc;
	int is_loopback;
};

static const struct listen_case listen_cases[] = {
	{ "127.0.0.1:8443", 0, 1 },
	{ "127.1.2.3:1", 0, 1 },
	{ "[::1]:8443", 0, 1 },
	{ "[::ffff:127.0.0.1]:8443", 0, 1 },
	{ "[::ffff:10.0.0.1]:8443", 0, 0 },
	{ "0.0.0.0:8443", 0, 0 },
	{ "10.0.0.1:8443", 0, 0 },
	{ "128.0.0.1:8443", 0, 0 },
	{ "[::]:8443", 0, 0 },
	{ "[fe80::1]:8443", 0, 0 },
	{ "localhost:8443", -1, 0 },
	{ "127.0.0.1", -1, 0 },
	{ "127.0.0.1:0", -1, 0 },
	{ "::1:8443", -1, 0 },
};

Test(client_authority, listen_and_loopback)
{
	for (size_t i = 0; i < NELEM(listen_cases); i++) {
		const struct listen_case *c = &listen_cases[i];
		struct sockaddr_storage ss;
		socklen_t len;
		char err[CLIENT_ERR_MAX] = "";

		cr_assert_eq(client_parse_listen(c->in, &ss, &len, err,
		    sizeof(err)), c->rc, "[%zu] %s", i, c->in);
		if (c->rc == 0)
			cr_expect_eq(client_is_loopback((struct sockaddr *)&ss),
			    c->is_loopback, "[%zu] %s loopback", i, c->in);
		else
			cr_expect_neq(err[0], '\0');
	}
}

/* ---- enrolment codes and break-glass reasons ------------------------------- */

Test(client_authority, enrolment_code)
{
	char id[64], secret[256], err[CLIENT_ERR_MAX];
	static const char *const bad[] = {
		"nocolon", ":s3cr3tXYZ", "abc:", "a b:s3cr3tXYZ",
		"abc:s3cr3t XYZ", "abc:s3cr3t\tXYZ", "abc:s3cr3t\x7fXYZ",
	};

	cr_assert_eq(client_parse_code("q7k2m9:Tz4XoW1b8vYp", id, sizeof(id),
	    secret, sizeof(secret), err, sizeof(err)), 0);
	cr_expect_str_eq(id, "q7k2m9");
	cr_expect_str_eq(secret, "Tz4XoW1b8vYp");
	/* The first ':' splits: a secret may hold more. */
	cr_assert_eq(client_parse_code("a:b:c", id, sizeof(id), secret,
	    sizeof(secret), err, sizeof(err)), 0);
	cr_expect_str_eq(id, "a");
	cr_expect_str_eq(secret, "b:c");
	for (size_t i = 0; i < NELEM(bad); i++) {
		err[0] = '\0';
		cr_expect_eq(client_parse_code(bad[i], id, sizeof(id), secret,
		    sizeof(secret), err, sizeof(err)), -1, "[%zu]", i);
		cr_expect_neq(err[0], '\0');
		cr_expect_null(strstr(err, "s3cr3t"), "[%zu] the reason "
		    "repeats the secret: %s", i, err);
	}
	/* Longer than the caller's buffer: refused, not cut. */
	cr_expect_eq(client_parse_code("abcdefgh:x", id, 8, secret,
	    sizeof(secret), err, sizeof(err)), -1);
}

Test(client_authority, break_glass_reason)
{
	char long_ok[201], too_long[202];

	memset(long_ok, 'x', 200);
	long_ok[200] = '\0';
	memset(too_long, 'x', 201);
	too_long[201] = '\0';
	cr_expect_eq(client_break_glass_valid("duty doctor, incident 4411"), 1);
	cr_expect_eq(client_break_glass_valid("Zahnärztin vertreten"), 1);
	cr_expect_eq(client_break_glass_valid(long_ok), 1);
	cr_expect_eq(client_break_glass_valid(too_long), 0);
	cr_expect_eq(client_break_glass_valid(""), 0);
	cr_expect_eq(client_break_glass_valid(" leading"), 0);
	cr_expect_eq(client_break_glass_valid("trailing "), 0);
	cr_expect_eq(client_break_glass_valid("a\r\nX-Evil: 1"), 0);
	cr_expect_eq(client_break_glass_valid("tab\there"), 0);
	cr_expect_eq(client_break_glass_valid("del\x7f"), 0);
}

/* ---- time and text ------------------------------------------------------------ */

Test(client_text, format_left)
{
	static const struct {
		long long secs;
		const char *want;
	} cases[] = {
		{ -5, "0s" }, { 0, "0s" }, { 59, "59s" }, { 60, "1m 00s" },
		{ 61, "1m 01s" }, { 3599, "59m 59s" }, { 3600, "1h 00m" },
		{ 43140, "11h 59m" }, { 86399, "23h 59m" }, { 86400, "1d 0h" },
		{ 90 * 86400 - 1, "89d 23h" },
	};
	char buf[32];

	for (size_t i = 0; i < NELEM(cases); i++)
		cr_expect_str_eq(client_format_left(cases[i].secs, buf,
		    sizeof(buf)), cases[i].want, "[%zu] %lld", i,
		    cases[i].secs);
}

Test(client_text, format_time_utc)
{
	char buf[64];

	cr_assert_eq(setenv("TZ", "UTC", 1), 0);
	tzset();
	cr_expect_str_eq(client_format_time(1767225600, buf, sizeof(buf)),
	    "2026-01-01 00:00 UTC");
}

Test(client_text, renew_due_in_last_third)
{
	static const struct {
		time_t nb, na, now;
		int due;
	} cases[] = {
		{ 0, 90, 0, 0 }, { 0, 90, 59, 0 }, { 0, 90, 60, 1 },
		{ 0, 90, 89, 1 }, { 0, 90, 200, 1 }, { 100, 100, 100, 1 },
		{ 1000, 1000 + 90 * 86400, 1000 + 60 * 86400 - 1, 0 },
		{ 1000, 1000 + 90 * 86400, 1000 + 60 * 86400, 1 },
	};

	for (size_t i = 0; i < NELEM(cases); i++)
		cr_expect_eq(client_renew_due(cases[i].nb, cases[i].na,
		    cases[i].now), cases[i].due, "[%zu]", i);
}

Test(client_text, cert_times)
{
	X509 *x = X509_new();
	time_t nb, na;

	cr_assert_not_null(x);
	cr_assert_not_null(ASN1_TIME_set(X509_getm_notBefore(x), 1700000000));
	cr_assert_not_null(ASN1_TIME_set(X509_getm_notAfter(x), 4102444800));
	cr_assert_eq(client_cert_times(x, &nb, &na), 0);
	cr_expect_eq(nb, 1700000000);
	cr_expect_eq(na, 4102444800);	/* 2100: GeneralizedTime */
	X509_free(x);
}

/* The escaped string must read back, through jansson, as what went in. */
static void
expect_json_round_trip(const char *s)
{
	size_t off = 0;
	char *buf = malloc(6 * strlen(s) + 3);
	json_error_t jerr;
	json_t *v;

	cr_assert_not_null(buf);
	client_json_string(buf, &off, s);
	cr_expect_eq(off, strlen(buf));
	v = json_loads(buf, JSON_DECODE_ANY, &jerr);
	cr_assert_not_null(v, "'%s' -> %s: %s", s, buf, jerr.text);
	cr_expect_str_eq(json_string_value(v), s);
	json_decref(v);
	free(buf);
}

Test(client_text, json_string)
{
	char all[128], buf[64];
	size_t off = 0;

	for (int c = 1; c < 128; c++)
		all[c - 1] = (char)c;
	all[127] = '\0';
	expect_json_round_trip(all);
	expect_json_round_trip("");
	expect_json_round_trip("g\"o\\od\u00e9 \t\u20ac");
	memcpy(buf, "x=", 2);
	off = 2;
	client_json_string(buf, &off, "a\"\n");
	cr_expect_str_eq(buf, "x=\"a\\\"\\u000a\"");
	cr_expect_eq(off, strlen(buf));
}

Test(client_text, json_join)
{
	json_t *arr = json_pack("[s, s, i, s]", "K84001", "K84002", 7, "Z");
	char buf[64], small[12];

	cr_expect_eq(client_json_join(arr, buf, sizeof(buf)), 4);
	cr_expect_str_eq(buf, "K84001, K84002, ?, Z");
	/* What fits is shown, whole names only. */
	cr_expect_eq(client_json_join(arr, small, sizeof(small)), 1);
	cr_expect_str_eq(small, "K84001");
	cr_expect_eq(client_json_join(NULL, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "");
	json_decref(arr);
}

/* ---- the state directory --------------------------------------------------- */

Test(client_state, resolve_order)
{
	struct client_state st;
	char err[CLIENT_ERR_MAX];

	cr_assert_eq(setenv("HOME", "/home/alice", 1), 0);
	cr_assert_eq(unsetenv(STATE_DIR_ENV), 0);
	cr_assert_eq(client_state_resolve(NULL, &st, err, sizeof(err)), 0);
	cr_expect_str_eq(st.dir, "/home/alice/.config/mwg");
	cr_assert_eq(setenv("HOME", "/home/bob/", 1), 0);
	cr_assert_eq(client_state_resolve(NULL, &st, err, sizeof(err)), 0);
	cr_expect_str_eq(st.dir, "/home/bob/.config/mwg");
	cr_assert_eq(setenv(STATE_DIR_ENV, "/srv/mwg//", 1), 0);
	cr_assert_eq(client_state_resolve(NULL, &st, err, sizeof(err)), 0);
	cr_expect_str_eq(st.dir, "/srv/mwg");
	cr_assert_eq(setenv(STATE_DIR_ENV, "", 1), 0);
	cr_assert_eq(client_state_resolve(NULL, &st, err, sizeof(err)), 0);
	cr_expect_str_eq(st.dir, "/home/bob/.config/mwg");
	cr_assert_eq(client_state_resolve("rel/dir", &st, err, sizeof(err)),
	    0);
	cr_expect_str_eq(st.dir, "rel/dir");
	cr_assert_eq(client_state_resolve("", &st, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "--dir is empty");
}

Test(client_state, create_private)
{
	char tmp[128], err[CLIENT_ERR_MAX];
	struct client_state st;
	struct stat sb;

	make_tmp_dir(tmp, sizeof(tmp), "mwg-client");
	snprintf(st.dir, sizeof(st.dir), "%s/a/b/mwg", tmp);
	cr_assert_eq(client_state_create(&st, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(st.dir, &sb), 0);
	cr_expect_eq(sb.st_mode & 07777, 0700);
	snprintf(st.dir, sizeof(st.dir), "%s/a", tmp);
	cr_assert_eq(stat(st.dir, &sb), 0);
	cr_expect_eq(sb.st_mode & 07777, 0700, "parents are private too");
	/* One that exists is used as it is, unless others can write to it. */
	cr_assert_eq(chmod(st.dir, 0755), 0);
	cr_assert_eq(client_state_create(&st, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(st.dir, &sb), 0);
	cr_expect_eq(sb.st_mode & 07777, 0755);
	cr_assert_eq(chmod(st.dir, 0775), 0);
	cr_assert_eq(client_state_create(&st, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "others can write to"), "%s", err);
	/* A file where the directory should be. */
	snprintf(st.dir, sizeof(st.dir), "%s/file", tmp);
	write_file(st.dir, "x", 0);
	cr_expect_eq(client_state_create(&st, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "is not a directory"), "%s", err);
	remove_tree(tmp);
}

Test(client_state, write_read_remove)
{
	char tmp[128], err[CLIENT_ERR_MAX], path[PATH_MAX], *got;
	struct client_state st;
	struct stat sb;
	size_t len = 0;
	DIR *d;
	struct dirent *e;
	int n = 0;

	make_tmp_dir(tmp, sizeof(tmp), "mwg-client");
	snprintf(st.dir, sizeof(st.dir), "%s", tmp);
	cr_assert_eq(client_state_write(&st, STATE_SESSION, "one\n", 4, 0600,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(client_state_write(&st, STATE_SESSION, "second\n", 7,
	    0600, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(client_state_write(&st, STATE_GATEWAY, "gw:1\n", 5, 0644,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(client_state_path(&st, STATE_SESSION, path,
	    sizeof(path)), 0);
	cr_assert_eq(stat(path, &sb), 0);
	cr_expect_eq(sb.st_mode & 07777, 0600);
	cr_assert_eq(client_state_path(&st, STATE_GATEWAY, path,
	    sizeof(path)), 0);
	cr_assert_eq(stat(path, &sb), 0);
	cr_expect_eq(sb.st_mode & 07777, 0644);
	got = client_state_read(&st, STATE_SESSION, &len, err, sizeof(err));
	cr_assert_not_null(got, "%s", err);
	cr_expect_eq(len, 7);
	cr_expect_str_eq(got, "second\n");
	free(got);
	/* No temporary file is left behind. */
	cr_assert_not_null(d = opendir(tmp));
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	cr_expect_eq(n, 2);
	cr_expect_eq(client_state_has(&st, STATE_SESSION), 1);
	cr_expect_eq(client_state_remove(&st, STATE_SESSION, err, sizeof(err)),
	    1);
	cr_expect_eq(client_state_remove(&st, STATE_SESSION, err, sizeof(err)),
	    0);
	cr_expect_eq(client_state_has(&st, STATE_SESSION), 0);
	errno = 0;
	cr_expect_null(client_state_read(&st, STATE_SESSION, NULL, err,
	    sizeof(err)));
	cr_expect_eq(errno, ENOENT);
	cr_expect_not_null(strstr(err, "No such file"), "%s", err);
	remove_tree(tmp);
}

Test(client_state, read_limits)
{
	char tmp[128], err[CLIENT_ERR_MAX], path[PATH_MAX], *got;
	struct client_state st;
	int fd;

	make_tmp_dir(tmp, sizeof(tmp), "mwg-client");
	snprintf(st.dir, sizeof(st.dir), "%s", tmp);
	path_in(path, tmp, "big");
	cr_assert_neq(fd = open(path, O_WRONLY | O_CREAT, 0600), -1);
	cr_assert_eq(ftruncate(fd, STATE_FILE_MAX + 1), 0);
	close(fd);
	errno = 0;
	cr_expect_null(client_state_read(&st, "big", NULL, err, sizeof(err)));
	cr_expect_eq(errno, EFBIG);
	cr_assert_eq(truncate(path, STATE_FILE_MAX), 0);
	got = client_state_read(&st, "big", NULL, err, sizeof(err));
	cr_expect_not_null(got, "exactly the limit is fine: %s", err);
	free(got);
	errno = 0;
	cr_expect_null(client_read_file(tmp, NULL, err, sizeof(err)));
	cr_expect_eq(errno, EINVAL, "a directory is not a state file");
	got = client_read_file("/dev/null", NULL, err, sizeof(err));
	cr_expect_null(got, "a device is not a state file");
	remove_tree(tmp);
}

/* ---- the gateway's answers ----------------------------------------------------- */

static const size_t chunk_sizes[] = { SIZE_MAX, 1, 2, 3, 7, 64, 4096 };

/*
 * Feeds text in pieces of chunk, then (if the answer is not complete and
 * eof is set) the end of the connection. Returns the last feed's result;
 * *used counts the bytes the answer took.
 */
static int
feed_answer(struct client_answer *a, const char *text, size_t len,
    size_t chunk, int eof, size_t *used, char *err, size_t errlen)
{
	size_t off = 0, u;
	int rc = 0;

	*used = 0;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;

		rc = client_answer_feed(a, text + off, n, &u, err, errlen);
		if (rc == -1)
			return -1;
		cr_assert_leq(u, n);
		*used += u;
		if (rc == 1)
			return 1;
		cr_assert_eq(u, n, "more wanted after %zu of %zu bytes", u, n);
		off += n;
	}
	if (eof)
		rc = client_answer_feed(a, "", 0, &u, err, errlen);
	return rc;
}

struct answer_case {
	const char *text;
	int is_connect;
	int eof;		/* the gateway closes after text */
	int rc;			/* 1 complete, -1 error */
	int status;
	const char *body;	/* complete: the body */
	size_t used;		/* CONNECT 2xx: bytes of the head */
	long retry_after;
	const char *err;	/* error: a part of the reason */
};

#define H200 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
#define HEAD_OK "HTTP/1.1 200 Connection established\r\n\r\n"

static const struct answer_case answer_cases[] = {
	{ H200 "Content-Length: 5\r\n\r\nhello", 0, 0, 1, 200, "hello", 0, -1,
	    NULL },
	{ H200 "Content-Length: 5\r\n\r\nhello", 0, 1, 1, 200, "hello", 0, -1,
	    NULL },
	{ H200 "Content-Length: 0\r\n\r\n", 0, 0, 1, 200, "", 0, -1, NULL },
	/* One answer per connection: what follows it is not read. */
	{ H200 "Content-Length: 2\r\n\r\nokHTTP/1.1 500 X\r\n\r\n", 0, 0, 1,
	    200, "ok", 0, -1, NULL },
	/* No length: the body ends when the gateway closes. */
	{ "HTTP/1.1 200 OK\r\n\r\nuntil eof", 0, 1, 1, 200, "until eof", 0,
	    -1, NULL },
	{ "HTTP/1.1 401 Unauthorized\r\nContent-Length: 59\r\n\r\n"
	  "{\"error\":\"login-failed\",\"reason\":\"password or code wrong\"}\n",
	  0, 0, 1, 401, "{\"error\":\"login-failed\",\"reason\":\"password or "
	  "code wrong\"}\n", 0, -1, NULL },
	{ "HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\n"
	  "Content-Length: 2\r\n\r\n{}", 0, 0, 1, 429, "{}", 0, 7, NULL },
	{ "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 999999\r\n"
	  "Content-Length: 0\r\n\r\n", 0, 0, 1, 429, "", 0, 86400, NULL },
	{ "HTTP/1.1 429 Too Many Requests\r\nRetry-After: Wed, 21 Oct 2026 "
	  "07:28:00 GMT\r\nContent-Length: 0\r\n\r\n", 0, 0, 1, 429, "", 0, -1,
	  NULL },
	{ "HTTP/1.1 503 X\r\nRetry-After: 5s\r\nContent-Length: 0\r\n\r\n", 0,
	    0, 1, 503, "", 0, -1, NULL },
	/* CONNECT: a 2xx ends at its head; the rest is the tunnel's. */
	{ HEAD_OK "EARLY", 1, 0, 1, 200, "", sizeof(HEAD_OK) - 1, -1, NULL },
	{ HEAD_OK, 1, 0, 1, 200, "", sizeof(HEAD_OK) - 1, -1, NULL },
	{ "HTTP/1.1 403 Forbidden\r\nContent-Length: 16\r\n\r\n"
	  "{\"error\":\"no\"}\n\n", 1, 0, 1, 403, "{\"error\":\"no\"}\n\n", 0, -1,
	  NULL },
	/* Errors. */
	{ H200 "Content-Length: 5\r\n\r\nhel", 0, 1, -1, 0, NULL, 0, -1,
	    "closed the connection before" },
	{ "HTTP/1.1 200", 0, 1, -1, 0, NULL, 0, -1,
	    "closed the connection before" },
	{ "", 0, 1, -1, 0, NULL, 0, -1, "closed the connection before" },
	{ "SSH-2.0-OpenSSH_9.2\r\n", 0, 0, -1, 0, NULL, 0, -1,
	    "bad answer from the gateway" },
	{ "HTTP/1.1 2000 OK\r\n\r\n", 0, 0, -1, 0, NULL, 0, -1,
	    "bad answer from the gateway" },
	{ H200 "Content-Length: x\r\n\r\n", 0, 0, -1, 0, NULL, 0, -1,
	    "bad answer from the gateway" },
};

Test(client_http, answer_table)
{
	for (size_t i = 0; i < NELEM(answer_cases); i++) {
		const struct answer_case *c = &answer_cases[i];

		for (size_t k = 0; k < NELEM(chunk_sizes); k++) {
			struct client_answer a;
			char err[CLIENT_ERR_MAX] = "";
			size_t used;
			int rc;

			client_answer_init(&a, c->is_connect);
			rc = feed_answer(&a, c->text, strlen(c->text),
			    chunk_sizes[k], c->eof, &used, err, sizeof(err));
			cr_expect_eq(rc, c->rc, "[%zu/%zu] rc %d: %s", i,
			    chunk_sizes[k], rc, err);
			if (rc == 1) {
				cr_expect_eq(a.status, c->status, "[%zu]", i);
				cr_expect_eq(a.body_len, strlen(c->body),
				    "[%zu]", i);
				cr_expect_str_eq(a.body, c->body, "[%zu]", i);
				cr_expect_eq(a.retry_after, c->retry_after,
				    "[%zu]", i);
				if (c->used)
					cr_expect_eq(used, c->used,
					    "[%zu/%zu] head", i, chunk_sizes[k]);
			} else if (rc == -1)
				cr_expect_not_null(strstr(err, c->err),
				    "[%zu] '%s' lacks '%s'", i, err, c->err);
			client_answer_free(&a);
		}
	}
}

/* Bodies and heads are bounded: 1 MiB and 8 KiB. */
Test(client_http, answer_limits)
{
	struct client_answer a;
	char err[CLIENT_ERR_MAX], head[128], *big;
	size_t used, max = CLIENT_ANSWER_MAX;
	int n;

	big = malloc(max + 2);
	cr_assert_not_null(big);
	memset(big, 'a', max + 1);
	big[max + 1] = '\0';
	for (size_t extra = 0; extra <= 1; extra++) {
		client_answer_init(&a, 0);
		n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
		    "Content-Length: %zu\r\n\r\n", max + extra);
		cr_assert_eq(client_answer_feed(&a, head, (size_t)n, &used, err,
		    sizeof(err)), 0);
		cr_expect_eq(client_answer_feed(&a, big, max + extra, &used, err,
		    sizeof(err)), extra ? -1 : 1, "body of %zu", max + extra);
		if (extra)
			cr_expect_str_eq(err, "bad answer from the gateway: the "
			    "gateway's answer is larger than 1 MiB");
		client_answer_free(&a);
	}
	client_answer_init(&a, 0);
	cr_assert_eq(client_answer_feed(&a, "HTTP/1.1 200 OK\r\nX-Pad: ", 24,
	    &used, err, sizeof(err)), 0);
	cr_expect_eq(client_answer_feed(&a, big, CLIENT_HEAD_MAX, &used, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "bad answer from the gateway: head larger than "
	    "8192 bytes");
	client_answer_free(&a);
	free(big);
}

Test(client_http, answer_reason)
{
	static const struct {
		int status;
		const char *body;
		const char *want;
	} cases[] = {
		{ 403, "{\"error\":\"forbidden\",\"reason\":\"outside hours\"}",
		    "outside hours" },
		{ 404, "{\"error\":\"unknown-target\"}", "unknown-target" },
		{ 401, "{\"error\":\"x\",\"reason\":\"\"}", "x" },
		{ 500, "<html>oops</html>", "the gateway answered 500" },
		{ 502, "", "the gateway answered 502" },
		{ 400, "[\"reason\"]", "the gateway answered 400" },
		{ 403, "{\"reason\":\"bell\\u0007 and \\u001b[31m red\"}",
		    "bell? and ?[31m red" },
	};
	struct client_answer a;
	char buf[128];

	for (size_t i = 0; i < NELEM(cases); i++) {
		client_answer_init(&a, 0);
		free(a.body);
		a.body = strdup(cases[i].body);
		a.body_len = strlen(cases[i].body);
		a.status = cases[i].status;
		cr_expect_str_eq(client_answer_reason(&a, buf, sizeof(buf)),
		    cases[i].want, "[%zu]", i);
		client_answer_free(&a);
	}
}
