/*
 * CSV fields of audit exports: RFC 4180 quoting (commas, quotes, CR, LF)
 * and formula neutralising (a leading = - + @ TAB CR shows as text).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "audit/audit_csv.h"
#include "unit.h"

static const struct {
	const char *in, *out;
} cases[] = {
	{ "", "" },
	{ "alice", "alice" },
	{ "dev-abc234", "dev-abc234" },
	{ "127.0.0.1:8080", "127.0.0.1:8080" },
	{ "a=b", "a=b" },		/* not leading: no formula */
	{ "x-y+z@w", "x-y+z@w" },
	{ "Smith, Jo", "\"Smith, Jo\"" },
	{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
	{ "\"", "\"\"\"\"" },
	{ "two\r\nlines", "\"two\r\nlines\"" },
	{ "lf\nonly", "\"lf\nonly\"" },
	{ "cr\ronly", "\"cr\ronly\"" },
	{ "=cmd|'/c calc'!A1", "\"'=cmd|'/c calc'!A1\"" },
	{ "+1+1", "\"'+1+1\"" },
	{ "-2+3", "\"'-2+3\"" },
	{ "@SUM(A1:A9)", "\"'@SUM(A1:A9)\"" },
	{ "=", "\"'=\"" },
	{ "-", "\"'-\"" },
	{ "\t=1+1", "\"'\t=1+1\"" },
	{ "\r=1+1", "\"'\r=1+1\"" },
	{ "=HYPERLINK(\"http://x\",\"y\")",
	    "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
	{ "=a,b\r\n", "\"'=a,b\r\n\"" },
};

Test(audit_csv, table)
{
	for (size_t i = 0; i < NELEM(cases); i++) {
		char *got = audit_csv_field(cases[i].in);

		cr_expect_str_eq(got, cases[i].out, "case %zu: '%s' gave '%s', "
		    "expected '%s'", i, cases[i].in, got, cases[i].out);
		free(got);
	}
	ASSERT_NO_LEAKS();
}
