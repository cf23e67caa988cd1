/*
 * Small pure helpers for what mwg shows and sends: how long is left, a
 * certificate's validity and when to renew it, and JSON strings built in
 * memory the caller controls (so a password has exactly one copy).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/asn1.h>

#include "client/client.h"

#define MINUTE	60LL
#define HOUR	(60 * MINUTE)
#define DAY	(24 * HOUR)

char *
client_format_left(long long secs, char *buf, size_t buflen)
{
	if (secs < 0)
		secs = 0;
	if (secs >= DAY)
		snprintf(buf, buflen, "%lldd %lldh", secs / DAY,
		    secs % DAY / HOUR);
	else if (secs >= HOUR)
		snprintf(buf, buflen, "%lldh %02lldm", secs / HOUR,
		    secs % HOUR / MINUTE);
	else if (secs >= MINUTE)
		snprintf(buf, buflen, "%lldm %02llds", secs / MINUTE,
		    secs % MINUTE);
	else
		snprintf(buf, buflen, "%llds", secs);
	return buf;
}

char *
client_format_time(time_t t, char *buf, size_t buflen)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, buflen, "%Y-%m-%d %H:%M %Z", &tm) == 0)
		snprintf(buf, buflen, "@%lld", (long long)t);
	return buf;
}

static int
asn1_to_time(const ASN1_TIME *a, time_t *t)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return -1;
	*t = timegm(&tm);
	return 0;
}

int
client_cert_times(X509 *cert, time_t *not_before, time_t *not_after)
{
	if (asn1_to_time(X509_get0_notBefore(cert), not_before) == -1 ||
	    asn1_to_time(X509_get0_notAfter(cert), not_after) == -1)
		return -1;
	return 0;
}

int
client_renew_due(time_t nb, time_t na, time_t now)
{
	long long life = (long long)na - (long long)nb;

	if (life <= 0)
		return 1;
	/* now - nb >= 2/3 life, in integers: 3 (now - nb) >= 2 life */
	return 3 * ((long long)now - (long long)nb) >= 2 * life;
}

void
client_json_string(char *buf, size_t *off, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = *off;

	buf[o++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(buf + o, "\\u00", 4);
			buf[o + 4] = hex[c >> 4];
			buf[o + 5] = hex[c & 0xf];
			o += 6;
		} else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	*off = o;
}

int
client_json_join(json_t *arr, char *buf, size_t buflen)
{
	size_t off = 0, i;
	json_t *v;
	int n = 0;

	buf[0] = '\0';
	if (!json_is_array(arr))
		return 0;
	json_array_foreach(arr, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : "?";
		int w = snprintf(buf + off, buflen - off, "%s%s",
		    n ? ", " : "", s);

		if (w < 0 || (size_t)w >= buflen - off) {
			buf[off] = '\0';	/* whole names only */
			break;
		}
		off += (size_t)w;
		n++;
	}
	return n;
}

char *
client_text_clean(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return s;
}
