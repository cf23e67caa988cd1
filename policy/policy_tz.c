/*
 * Time zones for policy hours without touching the process's TZ: a small
 * reader for TZif files (RFC 8536, versions 1 to 4) and their POSIX TZ
 * footer, read once at load and used read-only by every decision.
 */
#include "policy/policy_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/errbuf.h"
#include "common/fbundle.h"
#include "common/xmalloc.h"

#define TZ_FILE_MAX	(256 * 1024)	/* the largest zone is ~4 KiB */
#define TZ_HEADER	44
#define TZ_OFF_MAX	(26 * 3600L)	/* RFC 8536 §3.2: -2^31 < utoff,
					   and no zone is beyond ±26 h */
#define TZ_ABBR_MAX	16
#define TZ_RULE_TIME_MAX (167 * 3600L)	/* RFC 8536 §3.3.1 extension */

struct tz_type {
	long off;			/* seconds east of UTC */
	int isdst;
	char abbr[TZ_ABBR_MAX];
};

/* A POSIX TZ rule date: Jn, n or Mm.w.d, with the time of day. */
struct tz_date {
	char kind;			/* 'J', 'n' or 'M' */
	int n, m, w, d;
	long secs;			/* local time of the change */
};

struct policy_tz {
	long long *times;		/* transitions, ascending */
	unsigned char *idx;		/* type of each transition */
	size_t ntimes;
	struct tz_type *types;
	size_t ntypes;
	/* The footer: local time after the last transition. */
	int has_rule;
	struct tz_type std, dst;
	int has_dst;
	struct tz_date start, end;
};

/* ---- calendar arithmetic (proleptic Gregorian, any year) --------------- */

long long
policy_tz_floor_div(long long a, long long b)
{
	long long q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of y-m-d (H. Hinnant's days_from_civil). */
long long
policy_tz_days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = policy_tz_floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
policy_tz_civil_from_days(long long z, long long *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = policy_tz_floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
is_leap(long long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(long long y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return days[m - 1] + (m == 2 && is_leap(y));
}

/* ---- the POSIX TZ footer ----------------------------------------------- */

/* An abbreviation: 3+ letters, or <...> of letters, digits, + and -. */
static const char *
rule_name(const char *s, char *out)
{
	size_t n = 0;

	if (*s == '<') {
		for (s++; *s && *s != '>'; s++) {
			if (!(isalnum_ascii(*s) || *s == '+' || *s == '-') ||
			    n + 1 >= TZ_ABBR_MAX)
				return NULL;
			out[n++] = *s;
		}
		if (*s != '>')
			return NULL;
		s++;
	} else
		for (; (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z');
		    s++) {
			if (n + 1 >= TZ_ABBR_MAX)
				return NULL;
			out[n++] = *s;
		}
	out[n] = '\0';
	return n >= 3 ? s : NULL;
}

static const char *
rule_number(const char *s, long min, long max, long *out)
{
	long v = 0;

	if (*s < '0' || *s > '9')
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > max)
			return NULL;
	}
	if (v < min)
		return NULL;
	*out = v;
	return s;
}

/* [+-]hh[:mm[:ss]], hours up to maxh; into seconds. */
static const char *
rule_time(const char *s, long maxh, long *out)
{
	long h, m = 0, sec = 0, sign = 1;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if ((s = rule_number(s, 0, maxh, &h)) == NULL)
		return NULL;
	if (*s == ':' && (s = rule_number(s + 1, 0, 59, &m)) != NULL &&
	    *s == ':')
		s = rule_number(s + 1, 0, 59, &sec);
	if (s == NULL)
		return NULL;
	*out = sign * (h * 3600 + m * 60 + sec);
	return s;
}

static const char *
rule_date(const char *s, struct tz_date *d)
{
	long v = 0, w = 0, wd = 0;

	d->secs = 2 * 3600;		/* POSIX: 02:00:00 by default */
	if (*s == 'J') {
		d->kind = 'J';
		s = rule_number(s + 1, 1, 365, &v);
		d->n = (int)v;
	} else if (*s == 'M') {
		d->kind = 'M';
		if ((s = rule_number(s + 1, 1, 12, &v)) == NULL || *s != '.' ||
		    (s = rule_number(s + 1, 1, 5, &w)) == NULL || *s != '.' ||
		    (s = rule_number(s + 1, 0, 6, &wd)) == NULL)
			return NULL;
		d->m = (int)v;
		d->w = (int)w;
		d->d = (int)wd;
	} else {
		d->kind = 'n';
		s = rule_number(s, 0, 365, &v);
		d->n = (int)v;
	}
	if (s != NULL && *s == '/')
		s = rule_time(s + 1, 167, &d->secs);
	return s;
}

/* "GMT0BST,M3.5.0/1,M10.5.0": fills the rule part of tz; -1 if malformed. */
static int
rule_parse(struct policy_tz *tz, const char *s)
{
	long off;

	if (*s == '\0')
		return 0;		/* no footer: the last type stays */
	if ((s = rule_name(s, tz->std.abbr)) == NULL ||
	    (s = rule_time(s, 24, &off)) == NULL)
		return -1;
	tz->std.off = -off;		/* POSIX counts west of UTC */
	tz->has_rule = 1;
	if (*s == '\0')
		return 0;
	if ((s = rule_name(s, tz->dst.abbr)) == NULL)
		return -1;
	tz->has_dst = 1;
	tz->dst.isdst = 1;
	tz->dst.off = tz->std.off + 3600;
	if (*s != ',' && *s != '\0') {
		if ((s = rule_time(s, 24, &off)) == NULL)
			return -1;
		tz->dst.off = -off;
	}
	/* RFC 8536 §3.3: a footer with DST names its rule. */
	if (*s != ',' || (s = rule_date(s + 1, &tz->start)) == NULL ||
	    *s != ',' || (s = rule_date(s + 1, &tz->end)) == NULL || *s != '\0')
		return -1;
	return 0;
}

/* Local seconds (since 1970 on the local calendar) of d in year y. */
static long long
rule_local(const struct tz_date *d, long long y)
{
	long long day;
	int first, mday;

	switch (d->kind) {
	case 'J':	/* 1..365, 29 February never counted */
		day = policy_tz_days_from_civil(y, 1, 1) + d->n - 1 +
		    (is_leap(y) && d->n >= 60);
		break;
	case 'n':	/* 0..365, counting 29 February */
		day = policy_tz_days_from_civil(y, 1, 1) + d->n;
		break;
	default:	/* day d of week w (5: the last) of month m */
		day = policy_tz_days_from_civil(y, d->m, 1);
		first = (int)((day % 7 + 7 + 4) % 7);	/* 0 Sunday */
		mday = 1 + (d->d - first + 7) % 7 + (d->w - 1) * 7;
		while (mday > month_days(y, d->m))
			mday -= 7;
		day += mday - 1;
	}
	return day * 86400 + d->secs;
}

static const struct tz_type *
rule_type(const struct policy_tz *tz, long long t)
{
	long long y, start, end;
	int m, d;

	if (!tz->has_dst)
		return &tz->std;
	policy_tz_civil_from_days(policy_tz_floor_div(t + tz->std.off, 86400), &y, &m, &d);
	/* Start is given in standard time, end in daylight time. */
	start = rule_local(&tz->start, y) - tz->std.off;
	end = rule_local(&tz->end, y) - tz->dst.off;
	if (start < end)
		return t >= start && t < end ? &tz->dst : &tz->std;
	return t >= end && t < start ? &tz->std : &tz->dst;
}

/* ---- the TZif file ------------------------------------------------------ */

struct tz_counts {
	unsigned long isut, isstd, leap, time, type, chr;
};

static unsigned long
be32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
	    (unsigned long)p[2] << 8 | p[3];
}

static long long
be64(const unsigned char *p)
{
	unsigned long long v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (long long)v;
}

/* Reads a header at buf (len bytes left); its data block's size in *need. */
static int
tz_header(const unsigned char *buf, size_t len, int tsize,
    struct tz_counts *c, size_t *need)
{
	if (len < TZ_HEADER || memcmp(buf, "TZif", 4) != 0)
		return -1;
	c->isut = be32(buf + 20);
	c->isstd = be32(buf + 24);
	c->leap = be32(buf + 28);
	c->time = be32(buf + 32);
	c->type = be32(buf + 36);
	c->chr = be32(buf + 40);
	/* RFC 8536 §3.1; every count is bounded by the file's size. */
	if (c->type == 0 || c->type > 256 || c->chr == 0 ||
	    (c->isut != 0 && c->isut != c->type) ||
	    (c->isstd != 0 && c->isstd != c->type) || c->time > TZ_FILE_MAX ||
	    c->leap > TZ_FILE_MAX || c->chr > TZ_FILE_MAX)
		return -1;
	*need = c->time * (size_t)(tsize + 1) + c->type * 6 + c->chr +
	    c->leap * (size_t)(tsize + 4) + c->isstd + c->isut;
	return len - TZ_HEADER < *need ? -1 : 0;
}

/* The data block after a header (times of tsize bytes) into tz. */
static int
tz_data(struct policy_tz *tz, const unsigned char *p, int tsize,
    const struct tz_counts *c)
{
	const unsigned char *types = p + c->time * (size_t)(tsize + 1);
	const char *chars = (const char *)types + c->type * 6;

	tz->ntimes = c->time;
	tz->times = xreallocarray(NULL, c->time + 1, sizeof(*tz->times));
	tz->idx = xmalloc(c->time + 1);
	for (size_t i = 0; i < c->time; i++) {
		tz->times[i] = tsize == 8 ? be64(p + 8 * i) :
		    (long long)(int32_t)be32(p + 4 * i);
		if (i > 0 && tz->times[i] <= tz->times[i - 1])
			return -1;
		tz->idx[i] = p[c->time * (size_t)tsize + i];
		if (tz->idx[i] >= c->type)
			return -1;
	}
	tz->ntypes = c->type;
	tz->types = xcalloc(c->type, sizeof(*tz->types));
	for (size_t i = 0; i < c->type; i++) {
		const unsigned char *t = types + 6 * i;
		long off = (long)(int32_t)be32(t);
		size_t ai = t[5], n;

		if (off <= -TZ_OFF_MAX || off >= TZ_OFF_MAX || t[4] > 1 ||
		    ai >= c->chr)
			return -1;
		tz->types[i].off = off;
		tz->types[i].isdst = t[4];
		n = strnlen(chars + ai, c->chr - ai);
		if (n >= TZ_ABBR_MAX || ai + n >= c->chr)
			return -1;	/* each designation ends with a NUL */
		memcpy(tz->types[i].abbr, chars + ai, n);
	}
	return 0;
}

void
policy_tz_free(struct policy_tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->times);
	free(tz->idx);
	free(tz->types);
	free(tz);
}

struct policy_tz *
policy_tz_parse(const unsigned char *buf, size_t len, char *err, size_t errlen)
{
	struct policy_tz *tz = xcalloc(1, sizeof(*tz));
	struct tz_counts c;
	size_t need;
	int tsize = 4;
	char footer[128];
	const char *nl;

	if (tz_header(buf, len, 4, &c, &need) == -1)
		goto bad;
	if (buf[4] >= '2') {	/* skip the 32-bit block: use the 64-bit one */
		buf += TZ_HEADER + need;
		len -= TZ_HEADER + need;
		tsize = 8;
		if (tz_header(buf, len, 8, &c, &need) == -1)
			goto bad;
	}
	if (tz_data(tz, buf + TZ_HEADER, tsize, &c) == -1)
		goto bad;
	buf += TZ_HEADER + need;
	len -= TZ_HEADER + need;
	if (tsize == 8) {	/* "\nTZSTRING\n" */
		if (len < 2 || buf[0] != '\n' ||
		    (nl = memchr(buf + 1, '\n', len - 1)) == NULL ||
		    (size_t)(nl - (const char *)buf) > sizeof(footer))
			goto bad;
		memcpy(footer, buf + 1, (size_t)(nl - (const char *)buf) - 1);
		footer[nl - (const char *)buf - 1] = '\0';
		if (rule_parse(tz, footer) == -1)
			goto bad;
	}
	return tz;
bad:
	errbuf_set(err, errlen, "not a valid TZif file");
	policy_tz_free(tz);
	return NULL;
}

/* Coordinated time itself, for policies that say `timezone UTC` or when
 * no zone file is needed. */
struct policy_tz *
policy_tz_utc(void)
{
	struct policy_tz *tz = xcalloc(1, sizeof(*tz));

	tz->ntypes = 1;
	tz->types = xcalloc(1, sizeof(*tz->types));
	snprintf(tz->types[0].abbr, sizeof(tz->types[0].abbr), "UTC");
	return tz;
}

/* Through the file bundle: mwgd's network process reads the zone the
 * monitor read (common/fbundle.h). */
struct policy_tz *
policy_tz_load(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[512], why[FBUNDLE_ERR_MAX];
	struct policy_tz *tz;
	char *buf;
	size_t len;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path)) {
		errbuf_set(err, errlen, "time zone name too long");
		return NULL;
	}
	if (fbundle_read(path, TZ_FILE_MAX, &buf, &len, why, sizeof(why)) ==
	    -1) {
		/* The wording of before: "PATH: No such file or directory". */
		if (strncmp(why, "cannot open ", 12) == 0)
			errbuf_set(err, errlen, "%s", why + 12);
		else
			errbuf_set(err, errlen, "%s: not a time zone file",
			    path);
		return NULL;
	}
	if ((tz = policy_tz_parse((unsigned char *)buf, len, why,
	    sizeof(why))) == NULL)
		errbuf_set(err, errlen, "%s: %s", path, why);
	free(buf);
	return tz;
}

/* ---- conversions -------------------------------------------------------- */

static const struct tz_type *
tz_type_at(const struct policy_tz *tz, long long t)
{
	size_t lo = 0, hi = tz->ntimes;

	/* RFC 8536 §3.2: before the first transition, type 0. */
	if (tz->ntimes == 0 || t < tz->times[0])
		return tz->ntimes == 0 && tz->has_rule ? rule_type(tz, t) :
		    &tz->types[0];
	if (t >= tz->times[tz->ntimes - 1] && tz->has_rule)
		return rule_type(tz, t);
	while (hi - lo > 1) {	/* times[lo] <= t < times[hi] */
		size_t mid = lo + (hi - lo) / 2;

		if (tz->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return &tz->types[tz->idx[lo]];
}

long
policy_tz_offset(const struct policy_tz *tz, long long t, const char **abbr,
    int *isdst)
{
	const struct tz_type *ty = tz_type_at(tz, t);

	if (abbr != NULL)
		*abbr = ty->abbr;
	if (isdst != NULL)
		*isdst = ty->isdst;
	return ty->off;
}

/* Every offset the zone can have (a handful), for local_to_utc. */
static size_t
tz_offsets(const struct policy_tz *tz, long *offs, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < tz->ntypes + 2; i++) {
		long o;
		size_t j;

		if (i < tz->ntypes)
			o = tz->types[i].off;
		else if (tz->has_rule && (i == tz->ntypes || tz->has_dst))
			o = i == tz->ntypes ? tz->std.off : tz->dst.off;
		else
			continue;
		for (j = 0; j < n && offs[j] != o; j++)
			;
		if (j == n && n < max)
			offs[n++] = o;
	}
	return n;
}

int
policy_tz_local_to_utc(const struct policy_tz *tz, long long local, long long *t)
{
	long offs[258], lo_off = 0, hi_off = 0;
	size_t n = tz_offsets(tz, offs, sizeof(offs) / sizeof(offs[0]));
	long long lo, hi;
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		long long c = local - offs[i];

		if (i == 0 || offs[i] < lo_off)
			lo_off = offs[i];
		if (i == 0 || offs[i] > hi_off)
			hi_off = offs[i];
		if (policy_tz_offset(tz, c, NULL, NULL) != offs[i])
			continue;
		if (!found || c < *t)
			*t = c;
		found++;
	}
	if (found)
		return found > 1 ? 1 : 0;
	/* A gap (clocks went forward): the first instant at or past it. */
	lo = local - hi_off;
	hi = local - lo_off;
	while (lo < hi) {
		long long mid = lo + (hi - lo) / 2;

		if (mid + policy_tz_offset(tz, mid, NULL, NULL) >= local)
			hi = mid;
		else
			lo = mid + 1;
	}
	*t = lo;
	return 2;
}
