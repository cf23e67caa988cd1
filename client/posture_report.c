/*
 * The posture report as a whole: the collectors in the order they run,
 * the JSON that is sent (schema: gateway/posture.h; these are the only
 * facts in it), and the stamp of the last report the gateway accepted,
 * which says when the next one is due.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "client/posture.h"
#include "common/xmalloc.h"

static const struct posture_collector report_collectors[] = {
	{ "os", posture_collect_os },
	{ "disk", posture_collect_disk },
	{ "screen", posture_collect_screen },
	{ "firewall", posture_collect_firewall },
	{ "updates", posture_collect_updates },
	{ "security", posture_collect_security },
};

const struct posture_collector *
posture_collectors(size_t *n)
{
	*n = sizeof(report_collectors) / sizeof(report_collectors[0]);
	return report_collectors;
}

void
posture_report_init(struct posture_report *r, time_t now)
{
	memset(r, 0, sizeof(*r));
	posture_text(r->os_id, "");
	posture_text(r->os_version, "");
	posture_text(r->kernel, "");
	posture_text(r->client_version, MWG_VERSION);
	r->disk_encryption = r->screen_lock = r->firewall = POSTURE_UNKNOWN;
	r->update_age_days = r->security_updates = -1;
	r->collected_at = now;
}

void
posture_collect(const char *root, struct posture_report *r)
{
	size_t n;
	const struct posture_collector *c = posture_collectors(&n);

	for (size_t i = 0; i < n; i++)
		(void)c[i].collect(root, r);	/* a failure leaves unknown */
}

static const char *
report_tri(enum posture_tri t)
{
	return t == POSTURE_YES ? "yes" : t == POSTURE_NO ? "no" : "unknown";
}

/* A count, or null when unknown. */
static json_t *
report_count(int n)
{
	return n < 0 ? json_null() : json_integer(n);
}

char *
posture_report_json(const struct posture_report *r, size_t *lenp)
{
	char when[32], *text, *out;
	struct tm tm;
	json_t *j;

	if (gmtime_r(&r->collected_at, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	/* Keys stay in this order: jansson keeps insertion order. */
	j = json_pack("{s:i, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:o, s:o, "
	    "s:s, s:s}", "schema", POSTURE_SCHEMA,
	    "os", "id", r->os_id, "version", r->os_version, "kernel", r->kernel,
	    "disk_encryption", report_tri(r->disk_encryption),
	    "screen_lock", report_tri(r->screen_lock),
	    "firewall", report_tri(r->firewall),
	    "update_age_days", report_count(r->update_age_days),
	    "security_updates", report_count(r->security_updates),
	    "client_version", r->client_version, "collected_at", when);
	text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (text == NULL)
		return NULL;	/* out of memory: every string is ASCII */
	out = xasprintf("%s\n", text);
	free(text);
	if (lenp != NULL)
		*lenp = strlen(out);
	return out;
}

int
posture_stamp_due(const char *text, size_t len, time_t now)
{
	json_t *j = json_loadb(text, len, 0, NULL);
	json_t *at = json_object_get(j, "sent_at");
	json_t *age = json_object_get(j, "max_age");
	long long sent, max_age = POSTURE_MAX_AGE_DEFAULT;
	int due;

	if (!json_is_integer(at)) {
		json_decref(j);
		return 1;
	}
	sent = json_integer_value(at);
	if (json_is_integer(age) && json_integer_value(age) > 0)
		max_age = json_integer_value(age);
	due = sent < 0 || sent > (long long)now ||
	    (long long)now - sent >= max_age / 2;
	json_decref(j);
	return due;
}

char *
posture_stamp_json(time_t sent_at, long long max_age)
{
	return xasprintf("{\"sent_at\": %lld, \"max_age\": %lld}\n",
	    (long long)sent_at, max_age > 0 ? max_age :
	    (long long)POSTURE_MAX_AGE_DEFAULT);
}
