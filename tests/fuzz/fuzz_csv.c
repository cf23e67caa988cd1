/*
 * libFuzzer harness for CSV export fields (audit/audit_csv.c): the input,
 * up to its first NUL, is one text field. Checks: the field reads back
 * (RFC 4180) to the input, with one ' added exactly when the input starts
 * like a formula; a field never starts with = + - @ TAB CR; an unquoted
 * field holds no comma, quote, CR or LF. Run by tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The RFC 4180 reading of field f into out (sized strlen(f) + 1); -1 if
 * f is not one well-formed field. */
static int
csv_read(const char *f, char *out)
{
	size_t n = strlen(f), j = 0;

	if (n == 0 || f[0] != '"') {
		if (strpbrk(f, ",\"\r\n") != NULL)
			return -1;
		memcpy(out, f, n + 1);
		return 0;
	}
	if (n < 2 || f[n - 1] != '"')
		return -1;
	for (size_t i = 1; i < n - 1; i++) {
		if (f[i] == '"') {
			if (f[i + 1] != '"' || i + 1 == n - 1)
				return -1;
			i++;
		}
		out[j++] = f[i];
	}
	out[j] = '\0';
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *field, *back;
	int is_formula;

	if (in == NULL)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';
	is_formula = in[0] != '\0' && strchr("=+-@\t\r", in[0]) != NULL;
	field = audit_csv_field(in);
	if ((back = malloc(strlen(field) + 1)) == NULL)
		abort();
	if (csv_read(field, back) == -1)
		abort();
	if (is_formula ? back[0] != '\'' || strcmp(back + 1, in) != 0 :
	    strcmp(back, in) != 0)
		abort();
	if (field[0] != '\0' && strchr("=+-@\t\r", field[0]) != NULL)
		abort();
	free(back);
	free(field);
	free(in);
	return 0;
}
