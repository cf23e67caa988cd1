/*
 * mwg: the three message helpers every verb uses, so that each failure is
 * one line that reads "mwg: VERB: reason" and a usage error names the verb.
 */
#include <stdarg.h>
#include <stdio.h>

#include "client/client.h"

int
client_fail(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mwg: %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLIENT_EXIT_FAIL;
}

void
client_warn(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mwg: %s: warning: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
client_usage(const char *verb, const char *usage_line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mwg: %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_line);
	return CLIENT_EXIT_USAGE;
}
