/*
 * The audit forwarder: RFC 5424 messages byte for byte (escaping, missing
 * fields, hostile values, truncation), RFC 6587 octet counting, its
 * arguments, and the thread against a collector played by the test.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#include "audit/audit_syslog.h"

#define HOST	"gw1.example"
#define PID	4242
#define HASH	"ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"
#define PREV	"0000000000000000000000000000000000000000000000000000000000000000"
#define BIG	70000

static char out[BIG];

static size_t
fmt(const char *line, size_t max)
{
	return audit_syslog_format(line, strlen(line), HOST, PID, max, out,
	    sizeof(out));
}

/* ---- RFC 5424 formatting ------------------------------------------------ */

struct fmt_case {
	const char *line;
	const char *want;	/* the whole message */
};

/* JSON escapes in the line; RFC 5424 §6.3.3 escapes in the SD values. */
static const struct fmt_case fmt_cases[] = {
	/* Every SD field; '"', '\' and ']' escaped; tunnel.id is not in SD. */
	{ "{\"seq\":42,\"@timestamp\":\"2026-11-25T16:42:32.249Z\","
	  "\"event.action\":\"tunnel.open\",\"event.outcome\":\"success\","
	  "\"tunnel.id\":7,\"source.ip\":\"127.0.0.2\","
	  "\"device.id\":\"laptop-7f3a\",\"user.name\":\"a\\\"b\\\\c]d\","
	  "\"organization.id\":\"K84001\","
	  "\"destination.address\":\"emis.K84001\",\"prev\":\"" PREV "\","
	  "\"hash\":\"" HASH "\"}",
	  "<85>1 2026-11-25T16:42:32.249Z gw1.example mwgd 4242 tunnel.open "
	  "[mwg@32473 seq=\"42\" action=\"tunnel.open\" outcome=\"success\" "
	  "user=\"a\\\"b\\\\c\\]d\" device=\"laptop-7f3a\" practice=\"K84001\" "
	  "target=\"emis.K84001\" source=\"127.0.0.2\" hash=\"" HASH "\"] "
	  "{\"seq\":42,\"@timestamp\":\"2026-11-25T16:42:32.249Z\","
	  "\"event.action\":\"tunnel.open\",\"event.outcome\":\"success\","
	  "\"tunnel.id\":7,\"source.ip\":\"127.0.0.2\","
	  "\"device.id\":\"laptop-7f3a\",\"user.name\":\"a\\\"b\\\\c]d\","
	  "\"organization.id\":\"K84001\","
	  "\"destination.address\":\"emis.K84001\",\"prev\":\"" PREV "\","
	  "\"hash\":\"" HASH "\"}" },
	/* A node's name follows seq: several nodes share one SIEM. */
	{ "{\"seq\":9,\"@timestamp\":\"2026-11-25T16:42:33.000Z\","
	  "\"event.action\":\"tunnel.close\",\"event.outcome\":\"success\","
	  "\"observer.name\":\"gw-b\",\"hash\":\"" HASH "\"}",
	  "<85>1 2026-11-25T16:42:33.000Z gw1.example mwgd 4242 tunnel.close "
	  "[mwg@32473 seq=\"9\" node=\"gw-b\" action=\"tunnel.close\" "
	  "outcome=\"success\" hash=\"" HASH "\"] "
	  "{\"seq\":9,\"@timestamp\":\"2026-11-25T16:42:33.000Z\","
	  "\"event.action\":\"tunnel.close\",\"event.outcome\":\"success\","
	  "\"observer.name\":\"gw-b\",\"hash\":\"" HASH "\"}" },
	/* A denial: auth.warning; absent fields are left out of SD. */
	{ "{\"seq\":3,\"@timestamp\":\"2026-11-25T16:42:33.000Z\","
	  "\"event.action\":\"tunnel.deny\",\"event.outcome\":\"failure\","
	  "\"prev\":\"" PREV "\",\"hash\":\"" HASH "\"}",
	  "<84>1 2026-11-25T16:42:33.000Z gw1.example mwgd 4242 tunnel.deny "
	  "[mwg@32473 seq=\"3\" action=\"tunnel.deny\" outcome=\"failure\" "
	  "hash=\"" HASH "\"] "
	  "{\"seq\":3,\"@timestamp\":\"2026-11-25T16:42:33.000Z\","
	  "\"event.action\":\"tunnel.deny\",\"event.outcome\":\"failure\","
	  "\"prev\":\"" PREV "\",\"hash\":\"" HASH "\"}" },
	/* A break-glass tunnel (event.severity 9): auth.alert (81). */
	{ "{\"seq\":5,\"event.action\":\"tunnel.open\",\"event.outcome\":"
	  "\"success\",\"event.severity\":9}",
	  "<81>1 - gw1.example mwgd 4242 tunnel.open [mwg@32473 seq=\"5\" "
	  "action=\"tunnel.open\" outcome=\"success\"] {\"seq\":5,"
	  "\"event.action\":\"tunnel.open\",\"event.outcome\":\"success\","
	  "\"event.severity\":9}" },
	/* No time, action or outcome: NILVALUEs, and warning. */
	{ "{\"seq\":4}",
	  "<84>1 - gw1.example mwgd 4242 - [mwg@32473 seq=\"4\"] {\"seq\":4}" },
	/* Not JSON at all: still forwarded, with an empty SD-ELEMENT. */
	{ "not json]\"",
	  "<84>1 - gw1.example mwgd 4242 - [mwg@32473] not json]\"" },
	/* Hostile values: no space or control character in the header, a
	 * control character in SD becomes '?', MSGID is cut at 32, a time
	 * that is not RFC 3339 becomes NILVALUE, a non-string field is
	 * ignored. */
	{ "{\"@timestamp\":\"yesterday at noon\",\"event.action\":"
	  "\"tunnel open\\nx-and-a-very-long-tail-beyond-32\","
	  "\"event.outcome\":\"success\",\"user.name\":\"a\\tb\","
	  "\"device.id\":[1]}",
	  "<85>1 - gw1.example mwgd 4242 tunnel_open_x-and-a-very-long-ta "
	  "[mwg@32473 action=\"tunnel open?x-and-a-very-long-tail-beyond-32\" "
	  "outcome=\"success\" user=\"a?b\"] "
	  "{\"@timestamp\":\"yesterday at noon\",\"event.action\":"
	  "\"tunnel open\\nx-and-a-very-long-tail-beyond-32\","
	  "\"event.outcome\":\"success\",\"user.name\":\"a\\tb\","
	  "\"device.id\":[1]}" },
};

Test(audit_syslog, format_exact)
{
	for (size_t i = 0; i < NELEM(fmt_cases); i++) {
		size_t n = fmt(fmt_cases[i].line, 65000);

		cr_expect_str_eq(out, fmt_cases[i].want, "case %zu", i);
		cr_expect_eq(n, strlen(fmt_cases[i].want), "case %zu", i);
	}
}

Test(audit_syslog, hostname_is_a_token)
{
	audit_syslog_format("{\"seq\":1}", 9, "my host", 1, 65000, out,
	    sizeof(out));
	cr_expect_str_eq(out, "<84>1 - my_host mwgd 1 - [mwg@32473 seq=\"1\"] "
	    "{\"seq\":1}");
	audit_syslog_format("{\"seq\":1}", 9, "", 1, 65000, out, sizeof(out));
	cr_expect_str_eq(out, "<84>1 - - mwgd 1 - [mwg@32473 seq=\"1\"] "
	    "{\"seq\":1}");
}

/* A line with a long field of what (repeated n times) in event.reason. */
static char *
long_line(const char *what, size_t n)
{
	size_t wl = strlen(what), len = 64 + n * wl;
	char *s = malloc(len), *p;

	cr_assert_not_null(s);
	p = s + sprintf(s, "{\"seq\":9,\"event.reason\":\"");
	for (size_t i = 0; i < n; i++, p += wl)
		memcpy(p, what, wl);
	strcpy(p, "\"}");
	return s;
}

Test(audit_syslog, long_message_is_cut_and_says_so)
{
	char *line = long_line("x", 1000), want[64];
	size_t n = fmt(line, 300);
	const char *msg;

	cr_assert_eq(n, 300);
	cr_assert_eq(strlen(out), 300);
	snprintf(want, sizeof(want), "[mwg@32473 seq=\"9\" truncated=\"%zu\"] ",
	    strlen(line));
	cr_assert_not_null(msg = strstr(out, want), "%s", out);
	msg += strlen(want);
	cr_expect_eq(strncmp(msg, line, strlen(msg)), 0);
	/* Enough room: not cut, no truncated parameter. */
	cr_expect_gt(fmt(line, 65000), strlen(line));
	cr_expect_null(strstr(out, "truncated"));
	free(line);
}

Test(audit_syslog, cuts_fall_on_utf8_boundaries)
{
	char *line = long_line("\xc3\xa9", 500);	/* é */
	char user[600] = "{\"user.name\":\"a";
	const char *v;
	size_t n;

	/* MSG: never half a character at the end, whatever the cut. */
	for (size_t max = 200; max < 210; max++) {
		n = fmt(line, max);
		cr_assert(n == max || n == max - 1, "max %zu: %zu", max, n);
		cr_expect(((unsigned char)out[n - 1] & 0xc0) != 0xc0,
		    "max %zu ends in a lead byte", max);
		cr_expect(out[n - 1] != '\xc3');
	}
	free(line);
	/* SD: a value is cut at 256 bytes, back to a whole character. */
	for (int i = 0; i < 200; i++)
		strcat(user, "\xc3\xa9");
	strcat(user, "\"}");
	cr_assert_gt(fmt(user, 65000), 0);
	cr_assert_not_null(v = strstr(out, "user=\"a"));
	cr_expect_eq(strchr(v + 6, '"') - (v + 6), 255);
	cr_expect_eq(AUDIT_SYSLOG_SDVALUE_MAX, 256);
}

Test(audit_syslog, too_small_a_buffer_is_refused)
{
	char small[40];

	cr_expect_eq(audit_syslog_format("{\"seq\":1}", 9, HOST, 1, 65000,
	    small, sizeof(small)), 0);
	cr_expect_eq(audit_syslog_format("{\"seq\":1}", 9, HOST, 1, 65000,
	    small, 0), 0);
	/* max below the header and SD: nothing sensible fits. */
	cr_expect_eq(fmt("{\"seq\":1}", 20), 0);
}

/* ---- RFC 6587 §3.4.1 octet counting ------------------------------------- */

Test(audit_syslog, octet_counting_frames)
{
	char f[32];

	cr_expect_eq(audit_syslog_frame("hello", 5, f, sizeof(f)), 7);
	cr_expect_eq(memcmp(f, "5 hello", 7), 0);
	cr_expect_eq(audit_syslog_frame("hello", 5, f, 7), 7);
	cr_expect_eq(audit_syslog_frame("hello", 5, f, 6), 0);
	cr_expect_eq(audit_syslog_frame("", 0, f, sizeof(f)), 2);
	cr_expect_eq(memcmp(f, "0 ", 2), 0);
	/* The length counts bytes, not characters. */
	cr_expect_eq(audit_syslog_frame("\xc3\xa9t\xc3\xa9", 5, f, sizeof(f)),
	    7);
	cr_expect_eq(memcmp(f, "5 \xc3\xa9t\xc3\xa9", 7), 0);
}

/* ---- arguments ---------------------------------------------------------- */

static const struct {
	const char *url, *ca, *err;
} bad_args[] = {
	{ "syslog://127.0.0.1:514", NULL, "bad forwarding address" },
	{ "tcp://127.0.0.1", NULL, "bad forwarding address" },
	{ "tcp://127.0.0.1:", NULL, "bad forwarding address" },
	{ "tcp://127.0.0.1:0", NULL, "bad forwarding address" },
	{ "tcp://127.0.0.1:65536", NULL, "bad forwarding address" },
	{ "tcp://127.0.0.1:+514", NULL, "bad forwarding address" },
	{ "tcp://127.0.0.1:514x", NULL, "bad forwarding address" },
	{ "tcp://:514", NULL, "bad forwarding address" },
	{ "tcp://::1:514", NULL, "bad forwarding address" },
	{ "udp://[::1]514", NULL, "bad forwarding address" },
	{ "tls://127.0.0.1:6514", NULL, "needs the collector's CA file" },
	{ "tcp://127.0.0.1:514", "/etc/ssl/ca.pem", "only used with tls://" },
	{ "tls://127.0.0.1:6514", "/nonexistent/ca.pem",
	  "cannot load collector CA /nonexistent/ca.pem" },
};

Test(audit_syslog, bad_arguments)
{
	char err[256];

	for (size_t i = 0; i < NELEM(bad_args); i++) {
		err[0] = '\0';
		cr_expect_null(audit_forwarder_start(bad_args[i].url,
		    bad_args[i].ca, "/nonexistent/a", "/nonexistent/s", err,
		    sizeof(err)), "%s", bad_args[i].url);
		cr_expect_not_null(strstr(err, bad_args[i].err), "%s: %s",
		    bad_args[i].url, err);
	}
	audit_forwarder_stop(NULL);
	ASSERT_NO_LEAKS();
}

/* ---- the thread, against a collector played by the test ----------------- */

/* A TCP socket on 127.0.0.1, an ephemeral port; listening or not. */
static int
loopback_socket(int do_listen, char *url, size_t len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_neq(s, -1);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	if (do_listen)
		cr_assert_eq(listen(s, 4), 0);
	snprintf(url, len, "tcp://127.0.0.1:%u", ntohs(sin.sin_port));
	return s;
}

static int
accept_within(int ls, int ms)
{
	struct pollfd p = { ls, POLLIN, 0 };
	int c;

	cr_assert_eq(poll(&p, 1, ms), 1, "no connection from the forwarder");
	cr_assert_neq(c = accept(ls, NULL, NULL), -1);
	return c;
}

/*
 * Reads one octet-counted frame into msg (NUL-terminated) within ms;
 * returns its length, or -1 if none came.
 */
static long
read_frame(int fd, char *msg, size_t len, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t want = 0, got = 0;
	char c;

	for (;;) {
		if (poll(&p, 1, ms) != 1 || read(fd, &c, 1) != 1)
			return -1;
		if (c == ' ')
			break;
		cr_assert(c >= '0' && c <= '9', "bad frame length byte %#x", c);
		want = want * 10 + (size_t)(c - '0');
	}
	cr_assert_lt(want, len);
	while (got < want) {
		ssize_t n;

		cr_assert_eq(poll(&p, 1, 5000), 1, "frame cut short");
		cr_assert_gt(n = read(fd, msg + got, want - got), 0);
		got += (size_t)n;
	}
	msg[got] = '\0';
	return (long)got;
}

static void
append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0640);

	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	cr_assert_eq(close(fd), 0);
}

/* Waits (up to 5 s) until the forwarder reports sent records delivered. */
static void
wait_sent(struct audit_forwarder *f, unsigned long long sent)
{
	unsigned long long n = 0;
	int connected = 0;

	for (int i = 0; i < 500; i++) {
		audit_forwarder_stats(f, &n, &connected);
		if (n == sent)
			break;
		audit_forwarder_kick(f);
		usleep(10000);
	}
	cr_assert_eq(n, sent, "delivered %llu, expected %llu", n, sent);
	cr_assert_eq(connected, 1);
}

static const char *const recs[] = {
	"{\"seq\":1,\"event.action\":\"audit.start\",\"event.outcome\":\"success\"}\n",
	"{\"seq\":2,\"event.action\":\"tunnel.deny\",\"event.outcome\":\"failure\"}\n",
	"{\"seq\":3,\"event.action\":\"tunnel.open\",\"event.outcome\":\"success\"}\n",
	"{\"seq\":4,\"event.action\":\"tunnel.close\",\"event.outcome\":\"success\"}\n",
};

/* The message for recs[i] must carry it whole as MSG. */
static void
expect_rec(const char *msg, size_t i)
{
	size_t rl = strlen(recs[i]) - 1, ml = strlen(msg);

	cr_expect(ml > rl && memcmp(msg + ml - rl, recs[i], rl) == 0 &&
	    msg[ml - rl - 1] == ' ', "record %zu: %s", i, msg);
	cr_expect_eq(strncmp(msg, i == 1 ? "<84>1 " : "<85>1 ", 6), 0);
}

static void
expect_state(const char *path, const char *audit, unsigned long long seq)
{
	char want[128], got[128] = "";
	struct stat st;
	FILE *fp;

	cr_assert_eq(stat(audit, &st), 0);
	snprintf(want, sizeof(want), "mwg-forward-v1 %ju %jd %llu\n",
	    (uintmax_t)st.st_ino, (intmax_t)st.st_size, seq);
	cr_assert_not_null(fp = fopen(path, "r"));
	cr_assert_not_null(fgets(got, sizeof(got), fp));
	fclose(fp);
	cr_expect_str_eq(got, want);
}

Test(audit_syslog, forwards_whole_lines_and_resumes)
{
	char dir[64], audit[PATH_MAX], state[PATH_MAX], url[64], err[256];
	char msg[4096];
	struct audit_forwarder *f;
	int ls, c;

	make_tmp_dir(dir, sizeof(dir), "mwg-fwd");
	path_in(audit, dir, "audit.jsonl");
	path_in(state, dir, "forward.state");
	ls = loopback_socket(1, url, sizeof(url));
	append(audit, recs[0]);
	append(audit, recs[1]);
	append(audit, "{\"seq\":3,\"event.act");	/* being written */
	cr_assert_not_null(f = audit_forwarder_start(url, NULL, audit, state,
	    err, sizeof(err)), "%s", err);
	c = accept_within(ls, 5000);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_gt(read_frame(c, msg, sizeof(msg), 5000), 0);
		expect_rec(msg, i);
	}
	/* Half a line is never sent... */
	cr_expect_eq(read_frame(c, msg, sizeof(msg), 300), -1);
	/* ...until its newline is there. */
	append(audit, recs[2] + strlen("{\"seq\":3,\"event.act"));
	audit_forwarder_kick(f);
	cr_assert_gt(read_frame(c, msg, sizeof(msg), 5000), 0);
	expect_rec(msg, 2);
	wait_sent(f, 3);
	audit_forwarder_stop(f);
	expect_state(state, audit, 3);
	close(c);

	/* A restart sends only what came after the saved position. */
	append(audit, recs[3]);
	cr_assert_not_null(f = audit_forwarder_start(url, NULL, audit, state,
	    err, sizeof(err)), "%s", err);
	c = accept_within(ls, 5000);
	cr_assert_gt(read_frame(c, msg, sizeof(msg), 5000), 0);
	expect_rec(msg, 3);
	wait_sent(f, 1);
	cr_expect_eq(read_frame(c, msg, sizeof(msg), 300), -1);
	audit_forwarder_stop(f);
	expect_state(state, audit, 4);
	close(c);
	close(ls);
	remove_tree(dir);
	ASSERT_NO_LEAKS();
}

Test(audit_syslog, rotation_is_followed)
{
	char dir[64], audit[PATH_MAX], rotated[PATH_MAX], state[PATH_MAX];
	char url[64], err[256], msg[4096];
	struct audit_forwarder *f;
	int ls, c;

	make_tmp_dir(dir, sizeof(dir), "mwg-fwd");
	path_in(audit, dir, "audit.jsonl");
	path_in(rotated, dir, "audit.jsonl.20261125T164232Z");
	path_in(state, dir, "forward.state");
	ls = loopback_socket(1, url, sizeof(url));
	append(audit, recs[0]);
	cr_assert_not_null(f = audit_forwarder_start(url, NULL, audit, state,
	    err, sizeof(err)), "%s", err);
	c = accept_within(ls, 5000);
	cr_assert_gt(read_frame(c, msg, sizeof(msg), 5000), 0);
	expect_rec(msg, 0);
	/* The writer's last record lands just before it renames. */
	cr_assert_eq(rename(audit, rotated), 0);
	append(rotated, recs[1]);
	append(audit, recs[2]);
	audit_forwarder_kick(f);
	for (size_t i = 1; i < 3; i++) {
		cr_assert_gt(read_frame(c, msg, sizeof(msg), 5000), 0);
		expect_rec(msg, i);
	}
	wait_sent(f, 3);
	audit_forwarder_stop(f);
	expect_state(state, audit, 3);
	close(c);
	close(ls);
	remove_tree(dir);
	ASSERT_NO_LEAKS();
}

/*
 * Milliseconds from a to b. Whole seconds (b.tv_sec - a.tv_sec) read 3 for
 * a 2.05 s stop that began late in a second.
 */
static long
elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (long)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

Test(audit_syslog, collector_down_stop_is_bounded)
{
	char dir[64], audit[PATH_MAX], state[PATH_MAX], url[64], err[256];
	struct audit_forwarder *f;
	struct timespec a, b;
	unsigned long long sent;
	int s, connected;

	make_tmp_dir(dir, sizeof(dir), "mwg-fwd");
	path_in(audit, dir, "audit.jsonl");
	path_in(state, dir, "forward.state");
	s = loopback_socket(0, url, sizeof(url));	/* refuses */
	append(audit, recs[0]);
	cr_assert_not_null(f = audit_forwarder_start(url, NULL, audit, state,
	    err, sizeof(err)), "%s", err);
	usleep(200000);
	audit_forwarder_kick(f);
	audit_forwarder_stats(f, &sent, &connected);
	cr_expect_eq(sent, 0);
	cr_expect_eq(connected, 0);
	cr_expect_gt(audit_forwarder_backlog(f), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	audit_forwarder_stop(f);
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_expect_lt(elapsed_ms(&a, &b), 3000, "stop took %ld ms",
	    elapsed_ms(&a, &b));
	/* Nothing delivered, so the position did not move. */
	if (access(state, F_OK) == 0) {
		FILE *fp = fopen(state, "r");
		char line[128];

		cr_assert_not_null(fp);
		cr_assert_not_null(fgets(line, sizeof(line), fp));
		fclose(fp);
		cr_expect_not_null(strstr(line, " 0 0\n"), "%s", line);
	}
	close(s);
	remove_tree(dir);
	ASSERT_NO_LEAKS();
}

/* A collector that accepts but never reads: stop still returns in time. */
Test(audit_syslog, stalled_collector_stop_is_bounded)
{
	char dir[64], audit[PATH_MAX], state[PATH_MAX], url[64], err[256];
	char line[300];
	struct audit_forwarder *f;
	struct timespec a, b;
	int ls, small = 4096, fd;

	make_tmp_dir(dir, sizeof(dir), "mwg-fwd");
	path_in(audit, dir, "audit.jsonl");
	path_in(state, dir, "forward.state");
	ls = loopback_socket(0, url, sizeof(url));
	cr_assert_eq(setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	cr_assert_eq(listen(ls, 4), 0);
	cr_assert_neq(fd = open(audit, O_WRONLY | O_CREAT, 0640), -1);
	for (int i = 1; i <= 20000; i++) {
		int n = snprintf(line, sizeof(line), "{\"seq\":%d,\"event.reason\":"
		    "\"%0200d\"}\n", i, i);

		cr_assert_eq(write(fd, line, (size_t)n), n);
	}
	cr_assert_eq(close(fd), 0);
	cr_assert_not_null(f = audit_forwarder_start(url, NULL, audit, state,
	    err, sizeof(err)), "%s", err);
	usleep(500000);
	clock_gettime(CLOCK_MONOTONIC, &a);
	audit_forwarder_stop(f);
	clock_gettime(CLOCK_MONOTONIC, &b);
	/* Stop sends what it can for 2 s (FWD_STOP_MS), then gives up. */
	cr_expect_lt(elapsed_ms(&a, &b), 3000, "stop took %ld ms",
	    elapsed_ms(&a, &b));
	close(ls);
	remove_tree(dir);
	ASSERT_NO_LEAKS();
}
