/*
 * mwgctl: what the verbs share on the way in: the choice of a sub-command
 * (ca init, device list, totp enrol...), durations such as --ttl, and the
 * usage error, one line naming the verb followed by the verb's usage.
 */
#include "admin/admin.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/conf.h"

#define USAGE_MSG_MAX	256	/* bytes of one usage error, cut to fit */

int
admin_usage_error(const char *verb, const char *usage, const char *fmt, ...)
{
	char msg[USAGE_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mwgctl: %s: %s\n%s", verb, msg, usage);
	return ADMIN_EXIT_USAGE;
}

int
admin_bad_option(const char *verb, const char *usage, int ch, char **argv)
{
	/* getopt_long has stepped past the option it could not take. */
	if (ch == ':')
		return admin_usage_error(verb, usage, "%s needs an argument",
		    argv[optind - 1]);
	return admin_usage_error(verb, usage, "unknown option %s",
	    argv[optind - 1]);
}

int
admin_subcommand(const char *verb, const struct admin_cmd *cmds,
    size_t ncmds, const char *help, const char *usage, int argc, char **argv)
{
	for (size_t i = 0; argc >= 2 && i < ncmds; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		fputs(help, stdout);
		return ADMIN_EXIT_OK;
	}
	if (argc < 2)
		return admin_usage_error(verb, usage, "missing command");
	return admin_usage_error(verb, usage, "unknown command %s", argv[1]);
}

int
admin_duration(const char *opt, const char *text, long long min_s,
    long long max_s, long long *out_s)
{
	struct conf_arg a = { (char *)text, 0, { opt, 0, 0 } };
	struct conf_errors errs = { NULL, 0, 0 };
	int rc = conf_duration(&a, min_s, max_s, out_s, &errs);

	conf_errors_clear(&errs);	/* the caller says what is wrong */
	return rc;
}

int
admin_json_help(const char *verb, const char *help, const char *usage,
    int argc, char **argv, int *as_json)
{
	static const struct option opts[] = {
		{ "json",	no_argument,	NULL, 'j' },
		{ "help",	no_argument,	NULL, 'h' },
		{ NULL,		0,		NULL, 0 },
	};
	int ch;

	optind = 0;	/* glibc: full reset, argv is not the one main saw */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			*as_json = 1;
			break;
		case 'h':
			fputs(help, stdout);
			return ADMIN_EXIT_OK;
		default:
			return admin_bad_option(verb, usage, ch, argv);
		}
	}
	return -1;
}
