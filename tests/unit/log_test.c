/*
 * common/log.c: every line is escaped at the sink, so a client's bytes can
 * never forge a log line. A table of inputs with their exact escaped form,
 * and the logger itself run into a pipe to count the lines it writes.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/log.h"
#include "unit.h"

struct escape_case {
	const char *in;
	const char *out;
};

static const struct escape_case escape_cases[] = {
	{ "plain text: 127.0.0.1:443", "plain text: 127.0.0.1:443" },
	{ "", "" },
	{ "emis.K84001\r\nforged line", "emis.K84001\\x0d\\x0aforged line" },
	{ "\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07" },
	{ "back\\slash", "back\\\\slash" },
	{ "del\x7f tab\t", "del\\x7f tab\\x09" },
	{ "Zo\xc3\xab", "Zo\\xc3\\xab" },		/* UTF-8 stays unambiguous */
	{ "\xc2\x9b" "31m", "\\xc2\\x9b31m" },	/* C1 CSI in UTF-8 */
};

Test(log, escape_table)
{
	char out[256];

	for (size_t i = 0; i < NELEM(escape_cases); i++) {
		log_escape(out, sizeof(out), escape_cases[i].in);
		cr_assert_str_eq(out, escape_cases[i].out, "case %zu", i);
	}
}

/* A short buffer cuts at a whole escape, never inside one. */
Test(log, escape_cuts_whole)
{
	char out[8];

	log_escape(out, sizeof(out), "ab\ncd");
	cr_assert_str_eq(out, "ab\\x0ac");
	log_escape(out, sizeof(out), "abcd\n");
	cr_assert_str_eq(out, "abcd");
	log_escape(out, 1, "x");
	cr_assert_str_eq(out, "");
}

/* The logger writes exactly one line per call, whatever the arguments. */
Test(log, one_line_per_event)
{
	int fds[2], saved;
	char buf[4096];
	ssize_t n;
	size_t lines = 0;

	cr_assert(pipe(fds) == 0);
	saved = dup(STDERR_FILENO);
	cr_assert(dup2(fds[1], STDERR_FILENO) != -1);
	log_init("log_test", 1, 0);
	log_warnx("user %s", "alice\nmwgd[1]: forged: allowed");
	log_info("target %s", "emis\r\x1b[1A\x1b[2K");
	log_debug("%s", "\n\n\n");
	dup2(saved, STDERR_FILENO);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	close(saved);
	cr_assert(n > 0);
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	cr_assert_eq(lines, 3, "got: %s", buf);
	cr_assert(strstr(buf, "user alice\\x0amwgd[1]: forged: allowed\n"));
	cr_assert(strstr(buf, "target emis\\x0d\\x1b[1A\\x1b[2K\n"));
	cr_assert(strchr(buf, '\x1b') == NULL && strchr(buf, '\r') == NULL);
}
