/*
 * CSV fields for audit exports (RFC 4180) that are safe to open in a
 * spreadsheet: mwgctl audit export --format csv writes every text field
 * through here. Unit-tested and fuzzed on its own.
 */
#ifndef AUDIT_CSV_H
#define AUDIT_CSV_H

/*
 * s as one CSV field. Quoted (each '"' doubled) when s holds a comma, a
 * quote, CR or LF, or starts like a spreadsheet formula (= + - @ TAB CR),
 * which also gets a leading ' inside the quotes so that it shows as text
 * (OWASP "CSV injection"). Returns a NUL-terminated string; caller frees.
 */
char	*audit_csv_field(const char *s);

#endif
