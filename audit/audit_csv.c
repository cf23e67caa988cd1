/*
 * The CSV form of an audit export (mwgctl audit export --format csv, the
 * console's export): one fixed set of columns, RFC 4180 quoting, and text
 * that a spreadsheet would run as a formula shown as text instead. A
 * person's name or a reason comes from a client, and the cyber team opens
 * exports in a spreadsheet.
 */
#include "audit/audit.h"
#include "audit/audit_csv.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

/* A spreadsheet runs a cell starting with one of these as a formula
 * (=cmd|'/c calc'!A1, +, -, @SUM(...)); TAB and CR hide such a start. */
static const char CSV_FORMULA_START[] = "=+-@\t\r";

/* Columns, in order; a record without a field leaves its cell empty. */
static const char *const csv_columns[] = {
	"seq", "@timestamp", "event.action", "event.outcome", "observer.name",
	"user.name",
	"device.id", "organization.id", "source.ip", "destination.address",
	"destination.socket", "rule.id", "event.reason", "network.bytes_up",
	"network.bytes_down", "event.duration_ms", "hash",
};
#define CSV_NCOLUMNS	(sizeof(csv_columns) / sizeof(csv_columns[0]))

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

static void
csv_cell(FILE *fp, json_t *v)
{
	char *f;

	if (json_is_string(v)) {
		f = audit_csv_field(json_string_value(v));
		fputs(f, fp);
		free(f);
	} else if (json_is_integer(v))
		fprintf(fp, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		fprintf(fp, "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "true" : "false", fp);
}

void
audit_csv_row(FILE *fp, json_t *record)
{
	for (size_t i = 0; i < CSV_NCOLUMNS; i++) {
		if (i > 0)
			putc(',', fp);
		if (record == NULL)	/* the header: names, never formulas */
			fputs(csv_columns[i], fp);
		else
			csv_cell(fp, json_object_get(record, csv_columns[i]));
	}
	fputs("\r\n", fp);	/* RFC 4180 §2: CRLF */
}
