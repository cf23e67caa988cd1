/*
 * RFC 5424 messages for the audit forwarder (audit_syslog.c): one audit
 * record becomes a syslog message with its summary as structured data, and
 * RFC 6587 octet-counting frames it for TCP and TLS. No I/O, no state.
 */
#include "audit/audit_syslog.h"
#include "audit/audit_syslog_priv.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

/*
 * 32473 is the IANA example enterprise number (RFC 5612), a placeholder
 * until the project has a Private Enterprise Number of its own.
 */
#define SD_ID			"mwg@32473"
#define SYSLOG_FACILITY		10	/* auth */
#define SEV_ALERT		1
#define SEV_WARNING		4
#define SEV_NOTICE		5
#define MSGID_MAX		32	/* RFC 5424 §6.2.7 */

struct sbuf {
	char *p;
	size_t len, cap;
	int full;
};

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->full || n >= b->cap - b->len) {
		b->full = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_putf(struct sbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_putf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->full = 1;
	else
		sb_put(b, tmp, (size_t)n);
}

/* Header fields are PRINTUSASCII (RFC 5424 §6): others become '_'. */
static void
sb_put_token(struct sbuf *b, const char *s, size_t max)
{
	if (s == NULL || *s == '\0') {
		sb_put(b, "-", 1);
		return;
	}
	for (size_t i = 0; s[i] != '\0' && i < max; i++) {
		char c = s[i] < 33 || s[i] > 126 ? '_' : s[i];

		sb_put(b, &c, 1);
	}
}

/*
 * RFC 5424 §6.3.3: in a PARAM-VALUE, '"', '\' and ']' are escaped with
 * '\'. Control characters become '?' and a long value is cut (on a UTF-8
 * boundary): SD is a summary for the SIEM, MSG carries the exact record.
 */
static void
sb_put_sdvalue(struct sbuf *b, const char *s, size_t n)
{
	if (n > AUDIT_SYSLOG_SDVALUE_MAX) {
		n = AUDIT_SYSLOG_SDVALUE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '"' || c == '\\' || c == ']')
			sb_put(b, "\\", 1);
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = '?';
		sb_put(b, &c, 1);
	}
}

static const char *
rec_str(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

/* RFC 5424 §6.2.3 TIMESTAMP, as the writer makes it; else NILVALUE. */
static void
sb_put_time(struct sbuf *b, const char *ts)
{
	size_t n = ts ? strlen(ts) : 0;

	if (n < 20 || n > 32 || ts[4] != '-' || ts[10] != 'T' ||
	    strspn(ts, "0123456789-T:.Z+") != n)
		ts = NULL;
	sb_put_token(b, ts, n);
}

/* SD-PARAMs in the order a SIEM analyst reads them; record keys (ECS). */
static const struct {
	const char *param;
	const char *key;
} sd_params[] = {
	{ "seq", "seq" },
	/* Several nodes forward to one SIEM: seq is only unique per node. */
	{ "node", "observer.name" },
	{ "action", "event.action" },
	{ "outcome", "event.outcome" },
	{ "user", "user.name" },
	{ "device", "device.id" },
	{ "practice", "organization.id" },
	{ "target", "destination.address" },
	{ "source", "source.ip" },
	{ "hash", "hash" },
};

/* One SD-ELEMENT; a field the record lacks is left out, not emptied. */
static void
sb_put_sd(struct sbuf *b, json_t *rec, size_t truncated)
{
	sb_put(b, "[" SD_ID, sizeof(SD_ID));
	for (size_t i = 0; i < sizeof(sd_params) / sizeof(sd_params[0]); i++) {
		json_t *v = json_object_get(rec, sd_params[i].key);

		if (!json_is_string(v) && !json_is_integer(v))
			continue;
		sb_putf(b, " %s=\"", sd_params[i].param);
		if (json_is_integer(v))
			sb_putf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else
			sb_put_sdvalue(b, json_string_value(v),
			    json_string_length(v));
		sb_put(b, "\"", 1);
	}
	if (truncated)
		sb_putf(b, " truncated=\"%zu\"", truncated);
	sb_put(b, "]", 1);
}

static void
sb_put_header(struct sbuf *b, json_t *rec, const char *hostname, long procid)
{
	const char *outcome = rec_str(rec, "event.outcome");
	json_int_t ecs = json_integer_value(json_object_get(rec,
	    "event.severity"));
	int sev = outcome && strcmp(outcome, "success") == 0 ? SEV_NOTICE :
	    SEV_WARNING;

	/* A record marked high severity (break-glass: 9) is an alert for
	 * the SIEM, whatever its outcome. */
	if (ecs >= 7)
		sev = SEV_ALERT;

	/* RFC 5424 §6.2.1: PRI = facility * 8 + severity; VERSION 1. */
	sb_putf(b, "<%d>1 ", SYSLOG_FACILITY * 8 + sev);
	sb_put_time(b, rec_str(rec, "@timestamp"));
	sb_put(b, " ", 1);
	sb_put_token(b, hostname, AUDIT_SYSLOG_HOSTNAME_MAX);
	sb_putf(b, " mwgd %ld ", procid);
	sb_put_token(b, rec_str(rec, "event.action"), MSGID_MAX);
	sb_put(b, " ", 1);
}

size_t
audit_syslog_format_record(const char *line, size_t len,
    const char *hostname, long procid, size_t max, char *out, size_t outlen,
    unsigned long long *seq)
{
	struct sbuf b = { out, 0, outlen, outlen == 0 };
	json_t *rec = json_loadb(line, len, 0, NULL);
	json_t *jseq = json_object_get(rec, "seq");
	size_t head, cut = len;

	if (json_is_integer(jseq) && json_integer_value(jseq) >= 0)
		*seq = (unsigned long long)json_integer_value(jseq);
	sb_put_header(&b, rec, hostname, procid);
	head = b.len;
	sb_put_sd(&b, rec, 0);
	if (b.len + 1 + len > max) {
		b.len = head;
		sb_put_sd(&b, rec, len);
		cut = b.len + 1 < max ? max - b.len - 1 : 0;
		while (cut > 0 && ((unsigned char)line[cut] & 0xc0) == 0x80)
			cut--;
	}
	json_decref(rec);
	sb_put(&b, " ", 1);
	sb_put(&b, line, cut);
	return b.full || b.len > max ? 0 : b.len;
}

size_t
audit_syslog_format(const char *line, size_t len, const char *hostname,
    long procid, size_t max, char *out, size_t outlen)
{
	unsigned long long seq = 0;

	return audit_syslog_format_record(line, len, hostname, procid, max,
	    out, outlen, &seq);
}

size_t
audit_syslog_frame(const char *msg, size_t len, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%zu ", len);

	if (n < 0 || (size_t)n >= outlen || len > outlen - (size_t)n)
		return 0;
	memcpy(out + n, msg, len);
	return (size_t)n + len;
}
