/*
 * The posture report, checked strictly (schema in gateway/posture.h):
 * every field present, nothing else, each of its type and in its range.
 * A device that sends more than the schema names is refused rather than
 * trimmed, so staff can rely on what mwg posture --show says is sent.
 * Pure but for the clock, which bounds how far ahead collected_at may be.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "audit/audit.h"
#include "common/errbuf.h"
#include "gateway/posture.h"

#define PP_STR_MAX	31	/* bytes in a string, as policy_posture holds */
#define PP_AGE_MAX	36500	/* update_age_days: a century */
#define PP_UPDATES_MAX	100000	/* security_updates */
#define PP_NAME_SHOWN	31	/* bytes of an unknown field's name shown */

enum pp_kind {
	PP_SCHEMA,	/* the integer 1 */
	PP_OS,		/* the nested object */
	PP_TRI,		/* "yes" | "no" | "unknown" */
	PP_COUNT,	/* 0..max or null */
	PP_TEXT,	/* 1..31 printable ASCII */
	PP_TIME,	/* RFC 3339, with a time of day */
};

struct pp_field {
	const char	*name;		/* as the error names it: "os.kernel" */
	const char	*key;		/* in its object */
	enum pp_kind	 kind;
	size_t		 off;		/* in policy_posture; PP_NONE: not kept */
	long		 max;		/* PP_COUNT */
};

#define PP_AT(f)	offsetof(struct policy_posture, f)
#define PP_NONE		((size_t)-1)

/* In the schema's order, which is the order errors are looked for. */
static const struct pp_field pp_top[] = {
	{ "schema", "schema", PP_SCHEMA, PP_NONE, 0 },
	{ "os", "os", PP_OS, PP_NONE, 0 },
	{ "disk_encryption", "disk_encryption", PP_TRI,
	    PP_AT(disk_encryption), 0 },
	{ "screen_lock", "screen_lock", PP_TRI, PP_AT(screen_lock), 0 },
	{ "firewall", "firewall", PP_TRI, PP_AT(firewall), 0 },
	{ "update_age_days", "update_age_days", PP_COUNT,
	    PP_AT(update_age_days), PP_AGE_MAX },
	{ "security_updates", "security_updates", PP_COUNT,
	    PP_AT(security_updates), PP_UPDATES_MAX },
	{ "client_version", "client_version", PP_TEXT, PP_AT(client_version),
	    0 },
	{ "collected_at", "collected_at", PP_TIME, PP_NONE, 0 },
};

static const struct pp_field pp_os[] = {
	{ "os.id", "id", PP_TEXT, PP_AT(os_id), 0 },
	{ "os.version", "version", PP_TEXT, PP_AT(os_version), 0 },
	/* Validated, not kept: no decision uses the kernel (yet). */
	{ "os.kernel", "kernel", PP_TEXT, PP_NONE, 0 },
};

#define PP_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

_Static_assert(sizeof(((struct policy_posture *)0)->os_id) > PP_STR_MAX &&
    sizeof(((struct policy_posture *)0)->os_version) > PP_STR_MAX &&
    sizeof(((struct policy_posture *)0)->client_version) > PP_STR_MAX,
    "policy_posture's strings hold PP_STR_MAX bytes and a NUL");

static int pp_object(json_t *obj, const char *prefix,
    const struct pp_field *fields, size_t n, struct policy_posture *out,
    char *err, size_t errlen);

/* A name from the input, fit to quote in an error: printable, short. */
static void
pp_shown(const char *s, char *buf, size_t buflen)
{
	size_t i, len = strlen(s);

	for (i = 0; i < len && i < PP_NAME_SHOWN && i + 1 < buflen; i++)
		buf[i] = s[i] >= 0x20 && s[i] <= 0x7e && s[i] != '"' ?
		    s[i] : '?';
	buf[i] = '\0';
	if (len > PP_NAME_SHOWN && i + 4 <= buflen)
		strcat(buf, "...");
}

static int
pp_is_text(json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (!json_is_string(v) || len < 1 || len > PP_STR_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* RFC 3339 date and time ("2026-11-25T19:00:00Z", a fraction and an
 * offset allowed); audit_parse_time also takes a bare date: not here. */
static int
pp_time(const char *s, time_t *t)
{
	if (strlen(s) < 20 || s[10] != 'T')
		return -1;
	if (s[19] == '.' && (s[20] < '0' || s[20] > '9'))
		return -1;
	return audit_parse_time(s, t);
}

static int
pp_check_time(json_t *v, const char *name, char *err, size_t errlen)
{
	time_t t;

	if (!pp_is_text(v) || pp_time(json_string_value(v), &t) == -1) {
		errbuf_set(err, errlen, "%s: expected an RFC 3339 time such as "
		    "2026-11-25T19:00:00Z", name);
		return -1;
	}
	if (t > time(NULL) + POSTURE_SKEW) {
		errbuf_set(err, errlen, "%s: more than %d s ahead of the "
		    "gateway's clock", name, POSTURE_SKEW);
		return -1;
	}
	return 0;
}

static int
pp_check_tri(json_t *v, enum policy_tri *t)
{
	const char *s = json_string_value(v);

	if (s == NULL)
		return -1;
	if (strcmp(s, "yes") == 0)
		*t = POLICY_YES;
	else if (strcmp(s, "no") == 0)
		*t = POLICY_NO;
	else if (strcmp(s, "unknown") == 0)
		*t = POLICY_UNKNOWN;
	else
		return -1;
	return 0;
}

static int
pp_check_count(json_t *v, long max, int *n)
{
	json_int_t i;

	if (json_is_null(v)) {
		*n = -1;
		return 0;
	}
	if (!json_is_integer(v) || (i = json_integer_value(v)) < 0 || i > max)
		return -1;
	*n = (int)i;
	return 0;
}

/* One field's value; where it is kept, into out. 0 or -1 with err. */
static int
pp_value(const struct pp_field *f, json_t *v, struct policy_posture *out,
    char *err, size_t errlen)
{
	char *at = f->off == PP_NONE ? NULL : (char *)out + f->off;

	switch (f->kind) {
	case PP_SCHEMA:
		if (json_is_integer(v) && json_integer_value(v) == 1)
			return 0;
		errbuf_set(err, errlen, "%s: expected 1", f->name);
		return -1;
	case PP_OS:
		if (json_is_object(v))
			return pp_object(v, "os.", pp_os, PP_NELEM(pp_os), out,
			    err, errlen);
		errbuf_set(err, errlen, "%s: expected an object", f->name);
		return -1;
	case PP_TRI:
		if (pp_check_tri(v, (enum policy_tri *)(void *)at) == 0)
			return 0;
		errbuf_set(err, errlen, "%s: expected \"yes\", \"no\" or "
		    "\"unknown\"", f->name);
		return -1;
	case PP_COUNT:
		if (pp_check_count(v, f->max, (int *)(void *)at) == 0)
			return 0;
		errbuf_set(err, errlen, "%s: expected an integer 0..%ld or "
		    "null", f->name, f->max);
		return -1;
	case PP_TEXT:
		if (pp_is_text(v)) {
			if (at != NULL)
				memcpy(at, json_string_value(v),
				    json_string_length(v) + 1);
			return 0;
		}
		errbuf_set(err, errlen, "%s: expected 1..%d printable ASCII "
		    "characters", f->name, PP_STR_MAX);
		return -1;
	case PP_TIME:
		return pp_check_time(v, f->name, err, errlen);
	}
	return -1;
}

/* An object of exactly these fields: an unknown one is found first (in
 * the report's order), then each field in the schema's order. */
static int
pp_object(json_t *obj, const char *prefix, const struct pp_field *fields,
    size_t n, struct policy_posture *out, char *err, size_t errlen)
{
	char shown[PP_NAME_SHOWN + 4];
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(obj, key, v) {
		for (i = 0; i < n && strcmp(key, fields[i].key) != 0; i++)
			;
		if (i == n) {
			pp_shown(key, shown, sizeof(shown));
			errbuf_set(err, errlen, "unknown field \"%s%s\"", prefix,
			    shown);
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		if ((v = json_object_get(obj, fields[i].key)) == NULL) {
			errbuf_set(err, errlen, "missing field \"%s\"",
			    fields[i].name);
			return -1;
		}
		if (pp_value(&fields[i], v, out, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* jansson's reason, with anything but printable ASCII made '?'. */
static void
pp_json_error(const json_error_t *je, char *err, size_t errlen)
{
	char text[sizeof(je->text)];
	size_t i;

	for (i = 0; je->text[i] != '\0' && i + 1 < sizeof(text); i++)
		text[i] = je->text[i] >= 0x20 && je->text[i] <= 0x7e ?
		    je->text[i] : '?';
	text[i] = '\0';
	errbuf_set(err, errlen, "malformed JSON at line %d, column %d: %s",
	    je->line, je->column, text);
}

int
posture_parse(const char *json, size_t len, struct policy_posture *out,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > POSTURE_MAX) {
		errbuf_set(err, errlen, "the report is %zu bytes; at most %d",
		    len, POSTURE_MAX);
		return -1;
	}
	if ((root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		pp_json_error(&je, err, errlen);
		return -1;
	}
	if (!json_is_object(root)) {
		errbuf_set(err, errlen, "the report must be a JSON object");
		rc = -1;
	} else
		rc = pp_object(root, "", pp_top, PP_NELEM(pp_top), out, err,
		    errlen);
	json_decref(root);
	if (rc == -1)
		memset(out, 0, sizeof(*out));
	return rc;
}
