/*
 * mwg: the message helpers every verb uses, so that each failure is one
 * line that reads "mwg: VERB: reason" and a usage error names the verb;
 * also the usage errors every verb's option loop ends with.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "client/client.h"

/* "mwg: VERB: TAGMESSAGE" without the line end, which differs. */
static void
msg_vput(const char *verb, const char *tag, const char *fmt, va_list ap)
{
	fprintf(stderr, "mwg: %s: %s", verb, tag);
	vfprintf(stderr, fmt, ap);
}

int
client_fail(const char *verb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vput(verb, "", fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLIENT_EXIT_FAIL;
}

void
client_warn(const char *verb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vput(verb, "warning: ", fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
client_usage(const char *verb, const char *usage_line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vput(verb, "", fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_line);
	return CLIENT_EXIT_USAGE;
}

int
client_bad_option(const char *verb, const char *usage_line, int ch,
    char **argv)
{
	/* getopt_long has stepped past the option it could not take. */
	if (ch == ':')
		return client_usage(verb, usage_line, "%s needs a value",
		    argv[optind - 1]);
	return client_usage(verb, usage_line, "unknown option %s",
	    argv[optind - 1]);
}

int
client_args_left(const char *verb, const char *usage_line, int argc,
    char **argv)
{
	if (optind >= argc)
		return 0;
	return client_usage(verb, usage_line, "unexpected argument '%s'",
	    argv[optind]);
}
