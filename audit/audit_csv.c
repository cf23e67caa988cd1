/*
 * The CSV form of an audit export (mwgctl audit export --format csv): one
 * fixed set of columns, RFC 4180 quoting, and text that a spreadsheet
 * would run as a formula shown as text instead.
 */
#include "audit/audit.h"

#include <string.h>

/* Columns, in order; a record without a field leaves its cell empty. */
static const char *const csv_columns[] = {
	"seq", "@timestamp", "event.action", "event.outcome", "user.name",
	"device.id", "organization.id", "source.ip", "destination.address",
	"destination.socket", "rule.id", "event.reason", "network.bytes_up",
	"network.bytes_down", "event.duration_ms", "hash",
};
#define CSV_NCOLUMNS	(sizeof(csv_columns) / sizeof(csv_columns[0]))

/* RFC 4180 §2: a field with a comma, quote or line break is quoted. */
static void
csv_text(FILE *fp, const char *s)
{
	/* A spreadsheet runs =cmd|... as a formula: show it as text. */
	int formula = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;

	if (!formula && strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, fp);
		return;
	}
	putc('"', fp);
	if (formula)
		putc('\'', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putc('"', fp);
		putc(*s, fp);
	}
	putc('"', fp);
}

static void
csv_cell(FILE *fp, json_t *v)
{
	if (json_is_string(v))
		csv_text(fp, json_string_value(v));
	else if (json_is_integer(v))
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
