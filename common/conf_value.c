/*
 * Typed values from configuration arguments, each range-checked, with an
 * "expected ..." error at the argument's position.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"

int
conf_uint(const struct conf_arg *a, long long min, long long max,
    long long *out, struct conf_errors *errs)
{
	char *end;
	long long v;

	errno = 0;
	if (a->text[0] < '0' || a->text[0] > '9')
		goto bad;
	v = strtoll(a->text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	conf_error(errs, &a->pos, "expected a number from %lld to %lld, got '%s'",
	    min, max, a->text);
	return -1;
}

int
conf_duration(const struct conf_arg *a, long long min_s, long long max_s,
    long long *out_s, struct conf_errors *errs)
{
	static const struct { char suffix; long long mult; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 7 * 86400 },
	};
	long long mult = 1, v;
	char *end;
	size_t i;

	errno = 0;
	if (a->text[0] < '0' || a->text[0] > '9')
		goto bad;
	v = strtoll(a->text, &end, 10);
	if (errno != 0)
		goto bad;
	if (*end != '\0') {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (end[0] == units[i].suffix && end[1] == '\0')
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			goto bad;
		mult = units[i].mult;
	}
	if (v > max_s / mult || v * mult < min_s || v * mult > max_s)
		goto bad;
	*out_s = v * mult;
	return 0;
bad:
	conf_error(errs, &a->pos,
	    "expected a duration from %llds to %llds (e.g. 30s, 15m, 12h, 14d), "
	    "got '%s'", min_s, max_s, a->text);
	return -1;
}

int
conf_nargs(const struct conf_node *n, size_t min, size_t max,
    struct conf_errors *errs)
{
	if (n->nargs >= min && n->nargs <= max)
		return 0;
	if (min == max)
		conf_error(errs, &n->name.pos, "%s takes %zu argument%s, got %zu",
		    n->name.text, min, min == 1 ? "" : "s", n->nargs);
	else
		conf_error(errs, &n->name.pos,
		    "%s takes %zu to %zu arguments, got %zu", n->name.text, min,
		    max, n->nargs);
	return -1;
}
