/*
 * policy/policy_tz.c: the TZif reader and its POSIX TZ footer, checked
 * against glibc's own conversion of the same zone; policy hours across the
 * 2026 daylight-saving changes in Europe/London; local times for explain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "audit/audit.h"
#include "policy/policy_int.h"
#include "unit.h"

static time_t
at(const char *s)
{
	time_t t;

	cr_assert_eq(audit_parse_time(s, &t), 0, "%s", s);
	return t;
}

static unsigned char *
read_zone(const char *name, size_t *len)
{
	char path[256];
	unsigned char *buf = malloc(1 << 18);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", POLICY_ZONEINFO, name);
	cr_assert_not_null(f = fopen(path, "rb"), "%s (is tzdata installed?)",
	    path);
	*len = fread(buf, 1, 1 << 18, f);
	fclose(f);
	return buf;
}

/* glibc's offset for t in zone (the TZ variable: tests run in their own
 * process). */
static long
glibc_offset(const char *tzvar, time_t t)
{
	struct tm tm;

	setenv("TZ", tzvar, 1);
	tzset();
	cr_assert_not_null(localtime_r(&t, &tm));
	return tm.tm_gmtoff;
}

static void
compare_zone(const char *name)
{
	char err[128], tzvar[128];
	struct policy_tz *tz;
	size_t len, checked = 0;
	unsigned char *buf = read_zone(name, &len);
	/* 1900 to 2100 by an irregular step, plus every 15 minutes of 2026
	 * and 2045 (beyond the table: the footer rule). */
	long long from = -2208988800LL, to = 4102444800LL;

	tz = policy_tz_parse(buf, len, err, sizeof(err));
	cr_assert_not_null(tz, "%s: %s", name, err);
	snprintf(tzvar, sizeof(tzvar), ":%s", name);
	for (long long t = from; t < to; t += 86400 * 3 + 3607) {
		cr_expect_eq(policy_tz_offset(tz, t, NULL, NULL), glibc_offset(tzvar,
		    (time_t)t), "%s at %lld", name, t);
		checked++;
	}
	for (int y = 0; y < 2; y++) {
		long long start = y ? 2366841600LL : 1767225600LL;

		for (long long t = start; t < start + 366 * 86400LL; t += 900) {
			cr_expect_eq(policy_tz_offset(tz, t, NULL, NULL),
			    glibc_offset(tzvar, (time_t)t), "%s at %lld", name,
			    t);
			checked++;
		}
	}
	cr_assert_gt(checked, 70000);
	policy_tz_free(tz);
	free(buf);
}

Test(policy_tz, london_matches_glibc)
{
	compare_zone("Europe/London");
}

/* Northern and southern daylight saving, Dublin's negative DST, half
 * hours, 45 minutes, and a zone without DST. */
Test(policy_tz, other_zones_match_glibc)
{
	static const char *const zones[] = { "America/New_York",
	    "Australia/Sydney", "Europe/Dublin", "Asia/Kolkata",
	    "Pacific/Chatham", "America/Sao_Paulo", "UTC" };

	for (size_t i = 0; i < NELEM(zones); i++)
		compare_zone(zones[i]);
}

Test(policy_tz, london_abbreviations_and_switches)
{
	static const struct {
		const char *utc;
		long off;
		const char *abbr;
	} cases[] = {
		{ "2026-03-29T00:59:59Z", 0, "GMT" },
		{ "2026-03-29T01:00:00Z", 3600, "BST" },
		{ "2026-10-25T00:59:59Z", 3600, "BST" },
		{ "2026-10-25T01:00:00Z", 0, "GMT" },
		/* Past the last transition in the file: the footer's rule. */
		{ "2040-03-25T00:59:59Z", 0, "GMT" },
		{ "2040-03-25T01:00:00Z", 3600, "BST" },
		{ "2099-10-25T00:59:59Z", 3600, "BST" },
		{ "2099-10-25T01:00:00Z", 0, "GMT" },
	};
	char err[128];
	size_t len;
	unsigned char *buf = read_zone("Europe/London", &len);
	struct policy_tz *tz = policy_tz_parse(buf, len, err, sizeof(err));

	cr_assert_not_null(tz, "%s", err);
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *abbr;

		cr_expect_eq(policy_tz_offset(tz, at(cases[i].utc), &abbr, NULL),
		    cases[i].off, "case %zu", i);
		cr_expect_str_eq(abbr, cases[i].abbr, "case %zu", i);
	}
	/* Before 1847 London kept its mean time; before any transition, the
	 * first type (RFC 8536 3.2). */
	cr_expect_eq(policy_tz_offset(tz, -4000000000LL, NULL, NULL), -75);
	policy_tz_free(tz);
	free(buf);
}

/* A version 2 TZif with no transitions, one type and the given footer. */
static size_t
synthetic(unsigned char *buf, const char *footer, long off)
{
	static const unsigned char counts[24] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4 };
	unsigned char data[10] = { (unsigned char)(off >> 24),
	    (unsigned char)(off >> 16), (unsigned char)(off >> 8),
	    (unsigned char)off, 0, 0, 'X', 'X', 'X', 0 };
	size_t n = 0;

	for (int block = 0; block < 2; block++) {
		memcpy(buf + n, "TZif2", 5);
		memset(buf + n + 5, 0, 15);
		memcpy(buf + n + 20, counts, 24);
		memcpy(buf + n + 44, data, sizeof(data));
		n += 44 + sizeof(data);
	}
	n += (size_t)sprintf((char *)buf + n, "\n%s\n", footer);
	return n;
}

/* The footer's rule forms (Mm.w.d, Jn, n, times, <names>, southern
 * hemisphere order), each against glibc reading the same TZ string. */
Test(policy_tz, footer_rules_match_glibc)
{
	static const char *const rules[] = {
		"GMT0BST,M3.5.0/1,M10.5.0",
		"EST5EDT,M3.2.0,M11.1.0",
		"AEST-10AEDT,M10.1.0,M4.1.0/3",
		"IST-1GMT0,M10.5.0,M3.5.0/1",
		"<+0330>-3:30",
		"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
		"XXX3YYY,J60/2,J300/3",
		"XXX3YYY,59/2,299/3",
		"NZST-12NZDT,M9.5.0,M4.1.0/3",
		"CST6CDT,M3.2.0/2:00:00,M11.1.0/2:00:00",
		"WGT3WGST,M3.5.0/-2,M10.5.0/-1",
		"AAA-5:30",
	};
	unsigned char buf[512];
	char err[128];

	for (size_t i = 0; i < NELEM(rules); i++) {
		size_t len = synthetic(buf, rules[i], 0);
		struct policy_tz *tz = policy_tz_parse(buf, len, err, sizeof(err));

		cr_assert_not_null(tz, "%s: %s", rules[i], err);
		for (long long t = 1704067200LL; t < 1704067200LL + 3 *
		    366 * 86400LL; t += 1800)
			cr_expect_eq(policy_tz_offset(tz, t, NULL, NULL),
			    glibc_offset(rules[i], (time_t)t), "%s at %lld",
			    rules[i], t);
		policy_tz_free(tz);
	}
}

static int
parses(const unsigned char *buf, size_t len)
{
	struct policy_tz *tz = policy_tz_parse(buf, len, NULL, 0);

	policy_tz_free(tz);
	return tz != NULL;
}

Test(policy_tz, refuses_malformed_files)
{
	static const char *const bad_footers[] = { "GMT", "GMT0BST",
	    "GMT0BST,M3.5.0", "GMT0BST,M13.5.0,M10.5.0", "GMT0BST,M3.6.0,M10.5.0",
	    "GMT0BST,M3.5.7,M10.5.0", "GMT0BST,J0,J100", "GMT0BST,J366,J100",
	    "GMT25", "G0", "<GMT0", "GMT0BST,M3.5.0/168,M10.5.0",
	    "GMT0BST,M3.5.0,M10.5.0x" };
	unsigned char buf[512], *zone;
	char err[128];
	size_t len;

	for (size_t i = 0; i < NELEM(bad_footers); i++) {
		len = synthetic(buf, bad_footers[i], 0);
		cr_expect_null(policy_tz_parse(buf, len, err, sizeof(err)), "%s",
		    bad_footers[i]);
		cr_expect_str_eq(err, "not a valid TZif file");
	}
	/* An offset outside +-26 hours. */
	len = synthetic(buf, "", 26 * 3600);
	cr_expect_null(policy_tz_parse(buf, len, err, sizeof(err)));
	len = synthetic(buf, "", 25 * 3600);
	cr_expect(parses(buf, len));

	/* Every prefix of a real file is refused; every one-byte change
	 * either parses or is refused (the sanitizer build watches). */
	zone = read_zone("Europe/London", &len);
	for (size_t n = 0; n < len; n++)
		cr_expect_null(policy_tz_parse(zone, n, err, sizeof(err)), "prefix %zu",
		    n);
	for (size_t n = 0; n < len; n++) {
		zone[n] ^= 0xff;
		policy_tz_free(policy_tz_parse(zone, len, err, sizeof(err)));
		zone[n] ^= 0xff;
	}
	free(zone);
	ASSERT_NO_LEAKS();
}

/* ---- hours in Europe/London across the 2026 changes ------------------- */

static const char hours_policy[] =
    "practice K84001 { target emis 10.0.0.1:443 }\n"
    "role day { users dora; targets emis; hours mon-sun 06:00-22:00 }\n"
    "role night { users nell; targets emis; hours mon-sun 22:00-06:00 }\n"
    "role late { users lee; targets emis; hours mon-sun 00:00-01:30 }\n"
    "role weeknights { users will; targets emis;"
    " hours mon-fri 22:00-06:00 }\n"
    "member dora { practices K84001 }\n"
    "member nell { practices K84001 }\n"
    "member lee { practices K84001 }\n"
    "member will { practices K84001 }\n";

struct hcase {
	const char *user, *utc;
	int allow;
	long left;		/* max_duration when allowed */
	const char *why;	/* the reason when denied */
};

static const struct hcase hcases[] = {
	/* Sunday 29 March 2026: GMT to BST at 01:00 UTC. */
	{ "dora", "2026-03-28T05:59:59Z", 0, 0, "hours: not allowed at Sat "
	    "05:59 GMT (mon-sun 06:00-22:00) (role day)" },
	{ "dora", "2026-03-28T06:00:00Z", 1, 16 * 3600, NULL },
	{ "dora", "2026-03-28T21:59:59Z", 1, 1, NULL },
	{ "dora", "2026-03-28T22:00:00Z", 0, 0, "hours: not allowed at Sat "
	    "22:00 GMT (mon-sun 06:00-22:00) (role day)" },
	{ "dora", "2026-03-29T00:59:59Z", 0, 0, "hours: not allowed at Sun "
	    "00:59 GMT (mon-sun 06:00-22:00) (role day)" },
	{ "dora", "2026-03-29T01:00:00Z", 0, 0, "hours: not allowed at Sun "
	    "02:00 BST (mon-sun 06:00-22:00) (role day)" },
	{ "dora", "2026-03-29T04:59:59Z", 0, 0, "hours: not allowed at Sun "
	    "05:59 BST (mon-sun 06:00-22:00) (role day)" },
	{ "dora", "2026-03-29T05:00:00Z", 1, 16 * 3600, NULL },
	{ "dora", "2026-03-29T20:59:59Z", 1, 1, NULL },
	{ "dora", "2026-03-29T21:00:00Z", 0, 0, "hours: not allowed at Sun "
	    "22:00 BST (mon-sun 06:00-22:00) (role day)" },
	/* Sunday 25 October 2026: BST to GMT at 01:00 UTC. */
	{ "dora", "2026-10-24T04:59:59Z", 0, 0, "hours: not allowed at Sat "
	    "05:59 BST (mon-sun 06:00-22:00) (role day)" },
	{ "dora", "2026-10-24T05:00:00Z", 1, 16 * 3600, NULL },
	{ "dora", "2026-10-24T21:00:00Z", 0, 0, "hours: not allowed at Sat "
	    "22:00 BST (mon-sun 06:00-22:00) (role day)" },
	{ "dora", "2026-10-25T00:30:00Z", 0, 0, "hours: not allowed at Sun "
	    "01:30 BST (mon-sun 06:00-22:00) (role day)" },
	{ "dora", "2026-10-25T01:30:00Z", 0, 0, "hours: not allowed at Sun "
	    "01:30 GMT (mon-sun 06:00-22:00) (role day)" },
	{ "dora", "2026-10-25T05:59:59Z", 0, 0, "hours: not allowed at Sun "
	    "05:59 GMT (mon-sun 06:00-22:00) (role day)" },
	{ "dora", "2026-10-25T06:00:00Z", 1, 16 * 3600, NULL },
	{ "dora", "2026-10-25T21:59:59Z", 1, 1, NULL },
	{ "dora", "2026-10-25T22:00:00Z", 0, 0, "hours: not allowed at Sun "
	    "22:00 GMT (mon-sun 06:00-22:00) (role day)" },
	/* A night that the clocks shorten to 7 hours, one they stretch to 9. */
	{ "nell", "2026-03-28T22:00:00Z", 1, 7 * 3600, NULL },
	{ "nell", "2026-03-29T04:59:00Z", 1, 60, NULL },
	{ "nell", "2026-03-29T05:00:00Z", 0, 0, "hours: not allowed at Sun "
	    "06:00 BST (mon-sun 22:00-06:00) (role night)" },
	{ "nell", "2026-10-24T21:00:00Z", 1, 9 * 3600, NULL },
	{ "nell", "2026-10-25T05:59:00Z", 1, 60, NULL },
	/* Hours that end inside the repeated hour, and inside the skipped
	 * one (which ends them when the clocks jump). */
	{ "lee", "2026-10-25T00:10:00Z", 1, 20 * 60, NULL },
	{ "lee", "2026-10-25T01:10:00Z", 1, 20 * 60, NULL },
	{ "lee", "2026-03-29T00:50:00Z", 1, 10 * 60, NULL },
	{ "lee", "2026-03-29T01:00:00Z", 0, 0, "hours: not allowed at Sun "
	    "02:00 BST (mon-sun 00:00-01:30) (role late)" },
	/* Friday night runs into Saturday; Sunday night is not a week night. */
	{ "will", "2026-06-13T04:00:00Z", 1, 3600, NULL },
	{ "will", "2026-06-14T22:00:00Z", 0, 0, "hours: not allowed at Sun "
	    "23:00 BST (mon-fri 22:00-06:00) (role weeknights)" },
	{ "will", "2026-06-15T04:00:00Z", 0, 0, "hours: not allowed at Mon "
	    "05:00 BST (mon-fri 22:00-06:00) (role weeknights)" },
	{ "will", "2026-06-15T21:00:00Z", 1, 8 * 3600, NULL },
};

Test(policy_tz, hours_across_daylight_saving)
{
	struct conf_errors errs = { 0 };
	struct policy *p = policy_load_string("h.conf", hours_policy,
	    strlen(hours_policy), &errs);

	cr_assert_not_null(p, "%s", errs.n ? errs.msgs[0] : "");
	cr_assert_str_eq(policy_timezone(p), "Europe/London");
	for (size_t i = 0; i < NELEM(hcases); i++) {
		const struct hcase *c = &hcases[i];
		struct policy_request req = { .user = c->user, .device_id = "d",
		    .source_ip = "", .target_name = "emis",
		    .practice = "K84001", .port = 443, .now = at(c->utc) };
		struct policy_decision d;

		policy_decide(p, &req, &d);
		cr_expect_eq(d.allow, c->allow, "case %zu %s: %s", i, c->utc,
		    d.reason);
		if (c->allow)
			cr_expect_eq(d.max_duration, c->left, "case %zu %s: %ld",
			    i, c->utc, d.max_duration);
		else
			cr_expect_str_eq(d.reason, c->why, "case %zu", i);
	}
	policy_free(p);
}

Test(policy_tz, local_times_for_explain)
{
	static const struct {
		const char *local;
		int rc;
		const char *utc;	/* or the error */
	} cases[] = {
		{ "2026-06-10 11:00", 0, "2026-06-10T10:00:00Z" },
		{ "2026-12-10 11:00", 0, "2026-12-10T11:00:00Z" },
		{ "2026-10-25 01:30", 1, "2026-10-25T00:30:00Z" },
		{ "2026-10-25 02:00", 0, "2026-10-25T02:00:00Z" },
		{ "2026-03-29 00:59", 0, "2026-03-29T00:59:00Z" },
		{ "2026-03-29 01:30", -1, "2026-03-29 01:30 does not exist in "
		    "Europe/London (the clocks go forward then)" },
		{ "2026-03-29 02:00", 0, "2026-03-29T01:00:00Z" },
		{ "2026-02-29 10:00", -1, "2026-02-29 is not a date" },
		{ "2028-02-29 10:00", 0, "2028-02-29T10:00:00Z" },
		{ "2026-06-10 24:00", -1, "expected YYYY-MM-DD HH:MM, got "
		    "'2026-06-10 24:00'" },
		{ "2026-06-10T11:00", -1, "expected YYYY-MM-DD HH:MM, got "
		    "'2026-06-10T11:00'" },
		{ "2026-6-10 11:00", -1, "expected YYYY-MM-DD HH:MM, got "
		    "'2026-6-10 11:00'" },
	};
	struct conf_errors errs = { 0 };
	struct policy *p = policy_load_string("h.conf", hours_policy,
	    strlen(hours_policy), &errs);
	char err[128], buf[64];

	cr_assert_not_null(p);
	for (size_t i = 0; i < NELEM(cases); i++) {
		time_t t = 0;
		int rc = policy_parse_local(p, cases[i].local, &t, err,
		    sizeof(err));

		cr_expect_eq(rc, cases[i].rc, "case %zu: %d", i, rc);
		if (cases[i].rc >= 0)
			cr_expect_eq(t, at(cases[i].utc), "case %zu", i);
		else
			cr_expect_str_eq(err, cases[i].utc, "case %zu", i);
	}
	cr_expect_str_eq(policy_format_local(p, at("2026-03-29T01:00:00Z"),
	    buf, sizeof(buf)), "Sun 2026-03-29 02:00 BST");
	cr_expect_str_eq(policy_format_local(p, at("2026-12-31T23:59:59Z"),
	    buf, sizeof(buf)), "Thu 2026-12-31 23:59 GMT");
	policy_free(p);
}

Test(policy_tz, timezone_statement)
{
	static const char *const texts[] = {
		"timezone UTC\n",
		"timezone America/New_York\n",
	};
	static const char *const want[] = { "UTC", "America/New_York" };
	struct conf_errors errs = { 0 };
	char buf[64];

	for (size_t i = 0; i < NELEM(texts); i++) {
		struct policy *p = policy_load_string("z.conf", texts[i],
		    strlen(texts[i]), &errs);

		cr_assert_not_null(p, "%s", errs.n ? errs.msgs[0] : "");
		cr_expect_str_eq(policy_timezone(p), want[i]);
		policy_format_local(p, at("2026-07-01T12:00:00Z"), buf,
		    sizeof(buf));
		cr_expect_str_eq(buf, i == 0 ? "Wed 2026-07-01 12:00 UTC" :
		    "Wed 2026-07-01 08:00 EDT");
		policy_free(p);
	}
	ASSERT_NO_LEAKS();
}
