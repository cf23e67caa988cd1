/*
 * One CSV field of an audit export (RFC 4180 §2), neutralised against
 * spreadsheet formula injection: a person's name or a reason comes from a
 * client, and the cyber team opens exports in a spreadsheet.
 */
#include "audit/audit_csv.h"

#include <string.h>

#include "common/xmalloc.h"

/* A spreadsheet runs a cell starting with one of these as a formula
 * (=cmd|'/c calc'!A1, +, -, @SUM(...)); TAB and CR hide such a start. */
static const char CSV_FORMULA_START[] = "=+-@\t\r";

char *
audit_csv_field(const char *s)
{
	int is_formula = s[0] != '\0' && strchr(CSV_FORMULA_START, s[0]);
	size_t len = strlen(s), quotes = 0;
	char *out, *o;

	if (!is_formula && strpbrk(s, ",\"\r\n") == NULL)
		return xstrdup(s);
	for (const char *p = s; *p != '\0'; p++)
		quotes += *p == '"';
	/* Two quotes around, one more per '"', maybe a ', and the NUL;
	 * len + quotes cannot overflow: both are bounded by one string. */
	o = out = xmalloc(len + quotes + 4);
	*o++ = '"';
	if (is_formula)
		*o++ = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '"')
			*o++ = '"';
		*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}
