/*
 * The CSV form of an audit export: the header, every column of a
 * tunnel.close (bytes and duration included), empty cells for absent
 * fields, RFC 4180 quoting and formula neutralising. Table-driven: each
 * case is a record and the exact row it must give.
 */
#include "tests/unit/unit.h"

#include "audit/audit.h"

#define CSV_HEADER "seq,@timestamp,event.action,event.outcome," \
	"observer.name,user.name," \
	"device.id,organization.id,source.ip,destination.address," \
	"destination.socket,rule.id,event.reason,network.bytes_up," \
	"network.bytes_down,event.duration_ms,hash\r\n"

/* The row audit_csv_row writes for record (NULL: the header); caller frees. */
static char *
csv_of(json_t *record)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	cr_assert_not_null(fp);
	audit_csv_row(fp, record);
	cr_assert_eq(fclose(fp), 0);
	return buf;
}

Test(audit_csv, header)
{
	char *row = csv_of(NULL);

	cr_expect_str_eq(row, CSV_HEADER);
	free(row);
}

static const struct {
	const char *record;
	const char *row;
} rows[] = {
	/* "For how long": a tunnel.close carries its bytes and duration. */
	{ "{\"seq\":4,\"@timestamp\":\"2026-11-25T18:12:35.422Z\","
	  "\"event.action\":\"tunnel.close\",\"event.outcome\":\"success\","
	  "\"observer.name\":\"gw-a\",\"tunnel.id\":2,"
	  "\"source.ip\":\"127.0.0.1\",\"source.port\":59788,"
	  "\"device.id\":\"dev-7pki4sjj3x\",\"user.name\":\"alice\","
	  "\"organization.id\":\"K84001\",\"destination.address\":\"emis.K84001\","
	  "\"destination.socket\":\"10.10.1.10:443\",\"rule.id\":\"role clinician\","
	  "\"event.reason\":\"completed\",\"network.bytes_up\":93,"
	  "\"network.bytes_down\":276,\"event.duration_ms\":184203,"
	  "\"prev\":\"00\",\"hash\":\"e694\"}",
	  "4,2026-11-25T18:12:35.422Z,tunnel.close,success,gw-a,alice,"
	  "dev-7pki4sjj3x,K84001,127.0.0.1,emis.K84001,10.10.1.10:443,"
	  "role clinician,completed,93,276,184203,e694\r\n" },
	/* A record without them leaves the cells empty, not 0. */
	{ "{\"seq\":5,\"event.action\":\"tunnel.deny\",\"event.outcome\":"
	  "\"failure\",\"event.reason\":\"no client certificate\","
	  "\"hash\":\"ab\"}",
	  "5,,tunnel.deny,failure,,,,,,,,,no client certificate,,,,ab\r\n" },
	/* Quoting (RFC 4180) and formulas shown as text. */
	{ "{\"seq\":6,\"destination.address\":\"-cmd.K84001\","
	  "\"event.reason\":\"a, \\\"quoted\\\"\\nline\",\"user.name\":\"=1+1\"}",
	  "6,,,,,\"'=1+1\",,,,\"'-cmd.K84001\",,,\"a, \"\"quoted\"\"\nline\","
	  ",,,\r\n" },
	/* Other JSON types in a column. */
	{ "{\"seq\":7,\"event.duration_ms\":0,\"network.bytes_up\":1.5,"
	  "\"rule.id\":true,\"event.reason\":null}",
	  "7,,,,,,,,,,,true,,1.5,,0,\r\n" },
};

Test(audit_csv, rows)
{
	for (size_t i = 0; i < NELEM(rows); i++) {
		json_error_t jerr;
		json_t *rec = json_loads(rows[i].record, 0, &jerr);
		char *row;

		cr_assert_not_null(rec, "case %zu: %s", i, jerr.text);
		row = csv_of(rec);
		cr_expect_str_eq(row, rows[i].row, "case %zu", i);
		free(row);
		json_decref(rec);
	}
}
