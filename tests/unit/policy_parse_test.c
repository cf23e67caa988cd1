/*
 * policy/policy_parse.c and policy_role.c: every statement's errors, as a
 * table of files with the exact error list each must give (file:line:col:
 * what was expected), and what a good file loads as.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "audit/audit.h"
#include "policy/policy.h"
#include "unit.h"

/* Line 1 of most cases: one practice with one target. */
#define P1	"practice K84001 { target emis 10.0.0.1:443 }\n"
/* A role on line 2 with the given statements. */
#define ROLE(body) P1 "role r { groups g; targets emis; " body " }\n"
#define E(pos, msg) "t.conf:" pos ": " msg

static const struct bad_case bad_cases[] = {
	/* timezone */
	{ "timezone Mars/Olympus\n", E("1:10", "cannot read time zone "
	    "Mars/Olympus: /usr/share/zoneinfo/Mars/Olympus: No such file or "
	    "directory"), 1 },
	{ "timezone ../../etc/passwd\n", E("1:10", "expected a time zone name "
	    "like Europe/London, got '../../etc/passwd'"), 1 },
	{ "timezone /etc/localtime\n", E("1:10", "expected a time zone name "
	    "like Europe/London, got '/etc/localtime'"), 1 },
	{ "timezone UTC\ntimezone UTC\n", E("2:1", "timezone is set twice "
	    "(first at t.conf:1:1)"), 1 },
	{ "timezone\n", E("1:1", "timezone takes 1 argument, got 0"), 1 },
	{ "timezone Europe\n", E("1:10", "cannot read time zone Europe: "
	    "/usr/share/zoneinfo/Europe: not a time zone file"), 1 },
	{ "timezone leapseconds\n", E("1:10", "cannot read time zone "
	    "leapseconds: /usr/share/zoneinfo/leapseconds: not a valid TZif "
	    "file"), 1 },
	{ "timezone zone.tab\n", E("1:10", "expected a time zone name like "
	    "Europe/London, got 'zone.tab'"), 1 },
	/* target kind and host */
	{ "practice K84001 {\n target emis 10.0.0.1:443 { kind web; kind rdp;"
	  " host emis.k84001.example.nhs.uk; host x.example }\n"
	  " target rdp 10.0.0.2:3389 { kind vnc; colour blue }\n"
	  " target web 10.0.0.3:443 { kind web }\n"
	  " target ssh 10.0.0.4:22 { host 10.0.0.4; host a..b; port 22 { } }\n"
	  " target pub 10.0.0.5:443 { kind web; host EMIS.K84001.Example.NHS.UK }\n"
	  "}\n",
	    E("2:39", "kind is set twice in target emis.K84001 (first at line "
	    "2)") "\n"
	    E("2:82", "host is set twice in target emis.K84001 (first at line "
	    "2)") "\n"
	    E("3:34", "expected a kind web, rdp, ssh or tcp, got 'vnc'") "\n"
	    E("3:39", "expected 'kind' or 'host' in target rdp.K84001, got "
	    "'colour'") "\n"
	    E("4:2", "target web.K84001 is kind web: it needs host NAME, the "
	    "name its certificate is for") "\n"
	    E("5:32", "expected a host name like emis.k84001.example.nhs.uk "
	    "(letters, digits, '-' and '.', at most 253 bytes), got "
	    "'10.0.0.4'") "\n"
	    E("5:42", "host is set twice in target ssh.K84001 (first at line "
	    "5)") "\n"
	    E("5:53", "expected 'kind' or 'host' in target ssh.K84001, got "
	    "'port' with a block") "\n"
	    E("6:43", "host emis.k84001.example.nhs.uk is already target "
	    "emis.K84001's"), 9 },
	{ "practice K84001 { target a 10.0.0.1:1 { host -a.example };"
	  " target b 10.0.0.1:2 { host a-.example }; target c 10.0.0.1:3 {"
	  " host example }; target d 10.0.0.1:4 { host a_b.example } }\n",
	    E("1:46", "expected a host name like emis.k84001.example.nhs.uk "
	    "(letters, digits, '-' and '.', at most 253 bytes), got "
	    "'-a.example'") "\n"
	    E("1:87", "expected a host name like emis.k84001.example.nhs.uk "
	    "(letters, digits, '-' and '.', at most 253 bytes), got "
	    "'a-.example'") "\n"
	    E("1:128", "expected a host name like emis.k84001.example.nhs.uk "
	    "(letters, digits, '-' and '.', at most 253 bytes), got "
	    "'example'") "\n"
	    E("1:166", "expected a host name like emis.k84001.example.nhs.uk "
	    "(letters, digits, '-' and '.', at most 253 bytes), got "
	    "'a_b.example'"), 4 },
	/* site */
	{ "site office { networks 10.200.0.0/16 10.1.2.3/8 ::1/129 x }\n",
	    E("1:38", "10.1.2.3/8 has host bits set: the network is "
	    "10.0.0.0/8") "\n"
	    E("1:49", "expected a network like 10.200.0.0/16 or 2001:db8::/32, "
	    "got '::1/129'") "\n"
	    E("1:57", "expected a network like 10.200.0.0/16 or 2001:db8::/32, "
	    "got 'x'"), 3 },
	{ "site a { networks 10.0.0.0/8 10.0.0.0/8 }\n", E("1:30", "network "
	    "10.0.0.0/8 is listed twice in site a"), 1 },
	{ "site a { networks 2001:db8::1/64 fe80::/10 10.0.0.0/+8 }\n",
	    E("1:19", "2001:db8::1/64 has host bits set: the network is "
	    "2001:db8::/64") "\n"
	    E("1:44", "expected a network like 10.200.0.0/16 or 2001:db8::/32, "
	    "got '10.0.0.0/+8'"), 2 },
	{ "site a { }\n", E("1:1", "site a has no networks (expected networks "
	    "CIDR...)"), 1 },
	{ "site a { hosts 10.0.0.1 }\n", E("1:10", "expected 'networks' in site "
	    "a, got 'hosts'"), 1 },
	{ "site a { networks }\n", E("1:10", "networks takes at "
	    "least 1 argument, got 0"), 1 },
	{ "site A { networks 10.0.0.0/8 }\n", E("1:6", "expected a site name "
	    "of a-z, 0-9 and '-', got 'A'"), 1 },
	{ "site a { networks 10.0.0.0/8 }\nsite a { networks 10.0.0.0/8 }\n",
	    E("2:6", "site a is defined twice"), 1 },
	{ "site a\n", E("1:1", "expected '{' with the site's statements"), 1 },
	/* posture */
	{ "posture p {\n disk-encryption yes\n screen-lock\n firewall required "
	  "x\n os-updates 14d\n os-updates within 2w\n max-age 0\n"
	  " security-updates max -1\n antivirus on\n}\n",
	    E("2:18", "expected 'required', got 'yes'") "\n"
	    E("3:2", "screen-lock takes 1 argument, got 0") "\n"
	    E("4:2", "firewall takes 1 argument, got 2") "\n"
	    E("5:2", "os-updates takes 2 arguments, got 1") "\n"
	    E("6:2", "os-updates is set twice in posture p") "\n"
	    E("7:10", "expected a duration from 60s to 604800s (e.g. 30s, 15m, "
	    "12h, 14d), got '0'") "\n"
	    E("8:23", "expected a number from 0 to 10000, got '-1'") "\n"
	    E("9:2", "expected disk-encryption, firewall, max-age, os-updates, "
	    "screen-lock or security-updates in posture p, got 'antivirus'"),
	    8 },
	{ "posture p { os-updates within 36h }\n", E("1:31", "expected whole "
	    "days (e.g. 14d), got '36h'"), 1 },
	{ "posture p { os-updates since 14d }\n", E("1:24", "expected 'within', "
	    "got 'since' (e.g. os-updates within ...)"), 1 },
	{ "posture p { os-updates within 400d }\n", E("1:31", "expected a "
	    "duration from 86400s to 31536000s (e.g. 30s, 15m, 12h, 14d), got "
	    "'400d'"), 1 },
	{ "posture p { }\nposture p { }\n", E("2:9", "posture profile p is "
	    "defined twice"), 1 },
	/* practice and member */
	{ P1 "member alice { practices K84001 K84009 * K84001 }\n",
	    E("2:33", "expected a practice defined in this policy, got "
	    "'K84009'") "\n"
	    E("2:40", "expected practice codes: only a role may say practices "
	    "*") "\n"
	    E("2:42", "practice K84001 is listed twice for member alice"), 3 },
	{ P1 "member alice { practices K84001 }\n"
	  "member bob { practices K84001 }\n"
	  "member alice { practices K84001 }\n"
	  "member group alice { practices K84001 }\n"
	  "member group alice { practices K84001 }\n",
	    E("4:8", "member alice is defined twice (first at t.conf:2:8)") "\n"
	    E("6:14", "member group alice is defined twice (first at "
	    "t.conf:5:14)"), 2 },
	{ P1 "member Alice { practices K84001 }\n"
	  "member group \"bad,group\" { practices K84001 }\n"
	  "member team x { practices K84001 }\n"
	  "member { practices K84001 }\n"
	  "member bob\n"
	  "member carol { }\n"
	  "member dave { roles x }\n",
	    E("2:8", "expected a user name of a-z, 0-9, '.', '_' and '-', got "
	    "'Alice'") "\n"
	    E("3:14", "expected a group name (printable ASCII without ',', 1 "
	    "to 63 bytes), got 'bad,group'") "\n"
	    E("4:1", "expected member USER { ... } or member group GROUP "
	    "{ ... }") "\n"
	    E("5:1", "expected member USER { ... } or member group GROUP "
	    "{ ... }") "\n"
	    E("6:1", "expected '{' with the member's practices") "\n"
	    E("7:1", "member carol names no practices (expected practices "
	    "CODE...)") "\n"
	    E("8:15", "expected 'practices' in member dave, got 'roles'"), 7 },
	/* role: its name, who holds it, what it reaches */
	{ P1 "role r { targets emis }\n", E("2:6", "role r names no groups or "
	    "users: nobody would hold it (expected groups G... or users "
	    "U...)"), 1 },
	{ P1 "role r { groups g }\n", E("2:6", "role r names no targets "
	    "(expected targets NAME... or targets *)"), 1 },
	{ P1 "role r { groups g; targets emis }\n"
	  "role r { groups g; targets emis }\n"
	  "role R { groups g; targets emis }\n"
	  "role r2\n",
	    E("3:6", "role r is defined twice") "\n"
	    E("4:6", "expected a role name of a-z, 0-9 and '-', at most 58 "
	    "bytes, got 'R'") "\n"
	    E("5:1", "expected '{' with the role's statements"), 3 },
	{ ROLE("groups g \"two words\" \" lead\"; users Bob; users bob bob"),
	    E("2:41", "group g is listed twice in role r") "\n"
	    E("2:55", "expected a group name (printable ASCII without ',', 1 "
	    "to 63 bytes), got ' lead'") "\n"
	    E("2:70", "expected a user name of a-z, 0-9, '.', '_' and '-', got "
	    "'Bob'") "\n"
	    E("2:85", "user bob is listed twice in role r"), 4 },
	/* A statement that mixes * and names is refused whole. */
	{ ROLE("targets docman *; practices K84009; practices * K84001"),
	    E("2:34", "expected either targets * or a list of names, not "
	    "both") "\n"
	    E("2:62", "expected a practice defined in this policy, got "
	    "'K84009'") "\n"
	    E("2:70", "expected either practices * or a list of names, not "
	    "both"), 3 },
	{ ROLE("targets docman"), E("2:42", "expected a target name defined "
	    "in a practice, got 'docman'"), 1 },
	{ ROLE("practices *; practices K84001; targets emis"),
	    E("2:57", "expected no more practices: role r already says "
	    "practices *") "\n"
	    E("2:73", "target emis is listed twice in role r"), 2 },
	{ ROLE("practices K84001 k84001"), E("2:51", "practice k84001 is "
	    "listed twice in role r"), 1 },
	/* role: conditions and limits */
	{ ROLE("posture strict; device personal; from office; mode audit"),
	    E("2:42", "expected a posture profile defined in this policy, got "
	    "'strict'") "\n"
	    E("2:57", "expected 'managed' or 'any', got 'personal'") "\n"
	    E("2:72", "expected a site defined in this policy, got 'office'")
	    "\n"
	    E("2:85", "expected 'enforce' or 'report-only', got 'audit'"), 4 },
	{ ROLE("idle 0; max-session 8d; break-glass 2d; idle 5m"),
	    E("2:39", "expected a duration from 60s to 86400s (e.g. 30s, 15m, "
	    "12h, 14d), got '0'") "\n"
	    E("2:54", "expected a duration from 300s to 604800s (e.g. 30s, "
	    "15m, 12h, 14d), got '8d'") "\n"
	    E("2:70", "expected a duration from 60s to 86400s (e.g. 30s, 15m, "
	    "12h, 14d), got '2d'") "\n"
	    E("2:74", "idle is set twice in role r"), 4 },
	{ ROLE("break-glass 1h; mode report-only"), E("2:6", "role r cannot "
	    "be both break-glass and report-only"), 1 },
	{ ROLE("allow everything; hours { }"),
	    E("2:34", "expected a role statement (break-glass, device, from, "
	    "groups, hours, idle, max-session, mode, posture, practices, "
	    "targets, users) in role r, got 'allow'") "\n"
	    E("2:52", "expected a role statement (break-glass, device, from, "
	    "groups, hours, idle, max-session, mode, posture, practices, "
	    "targets, users) in role r, got 'hours'"), 2 },
	/* role: hours */
	{ ROLE("hours mon-fri 08:00-18:30 sat 09:00-12:00 sun"),
	    E("2:76", "expected a time range HH:MM-HH:MM after 'sun'"), 1 },
	{ ROLE("hours mon-fri sat 09:00-12:00"), E("2:48", "expected a time "
	    "range HH:MM-HH:MM after 'mon-fri', got 'sat'"), 1 },
	{ ROLE("hours 08:00-18:00 mon 8-18 mon 09:00-09:00 tue 25:00-26:00"),
	    E("2:40", "expected days (e.g. mon-fri) before the time range "
	    "'08:00-18:00'") "\n"
	    E("2:56", "expected a time range HH:MM-HH:MM from 00:00 to 24:00, "
	    "got '8-18'") "\n"
	    E("2:65", "expected a time range that is not empty, got "
	    "'09:00-09:00'") "\n"
	    E("2:81", "expected a time range HH:MM-HH:MM from 00:00 to 24:00, "
	    "got '25:00-26:00'"), 4 },
	{ ROLE("hours monday 08:00-18:00; hours mon-xyz 08:00-18:00; "
	    "hours mon 24:00-06:00; hours mon 08:60-09:00; hours mon"),
	    E("2:40", "expected days (mon-fri, sat or mon,wed) or a time range "
	    "(08:00-18:30), got 'monday'") "\n"
	    E("2:66", "expected days (mon-fri, sat or mon,wed) or a time range "
	    "(08:00-18:30), got 'mon-xyz'") "\n"
	    E("2:97", "expected a time range HH:MM-HH:MM from 00:00 to 24:00, "
	    "got '24:00-06:00'") "\n"
	    E("2:120", "expected a time range HH:MM-HH:MM from 00:00 to 24:00, "
	    "got '08:60-09:00'") "\n"
	    E("2:133", "hours takes at least 2 arguments, got 1"), 5 },
	/* top level */
	{ "rule x { }\npractice\n", E("1:1", "expected member, posture, "
	    "practice, role, site or timezone, got 'rule'") "\n"
	    E("2:1", "practice takes 1 to 2 arguments, got 0"), 2 },
};

Test(policy_parse, bad_files)
{
	for (size_t i = 0; i < NELEM(bad_cases); i++) {
		struct conf_errors errs = { 0 };
		struct policy *p = policy_load_string("t.conf",
		    bad_cases[i].text, strlen(bad_cases[i].text), &errs);

		expect_bad_load(i, &bad_cases[i], p, &errs);
		policy_free(p);
	}
	ASSERT_NO_LEAKS();
}

/* Roles and members may come before what they name. */
static const char any_order[] =
    "member group staff { practices K84002 K84001 }\n"
    "role r {\n"
    "  users alice bob.smith\n"
    "  groups \"GP Clinicians\" staff\n"
    "  practices K84001\n"
    "  practices k84002\n"
    "  targets emis\n"
    "  targets docman\n"
    "  posture p\n"
    "  from office\n"
    "  hours mon,wed,fri 08:00-12:00 fri-mon 13:00-14:00\n"
    "  hours sat 00:00-24:00 mon-sun 23:00-00:00\n"
    "  device managed\n"
    "  max-session 2h; idle 10m\n"
    "  mode enforce\n"
    "}\n"
    "posture p { max-age 2h }\n"
    "posture q { disk-encryption required }\n"
    "site office { networks 10.0.0.0/8; networks ::/0 }\n"
    "practice K84001 \"Banbury \\\"Cross\\\"\" { target emis 10.0.0.1:443;"
    " target docman 10.0.0.2:443 }\n"
    "practice k84002 { target emis 10.0.1.1:443 }\n"
    "timezone Europe/London\n";

static void
collect(const char *kind, const char *name, void *arg)
{
	char *buf = arg;

	snprintf(buf + strlen(buf), 256 - strlen(buf), "%s=%s ", kind, name);
}

Test(policy_parse, any_order_and_every_form)
{
	static const struct {
		const char *utc;
		int allow;
	} when[] = {
		{ "2026-06-08T07:30:00Z", 1 },	/* Mon 08:30 BST */
		{ "2026-06-09T07:30:00Z", 0 },	/* Tue */
		{ "2026-06-10T10:59:00Z", 1 },	/* Wed 11:59 */
		{ "2026-06-10T11:00:00Z", 0 },	/* Wed 12:00 */
		{ "2026-06-14T12:30:00Z", 1 },	/* Sun 13:30: fri-mon */
		{ "2026-06-10T12:30:00Z", 0 },	/* Wed 13:30 */
		{ "2026-06-13T02:00:00Z", 1 },	/* all Saturday */
		{ "2026-06-09T22:30:00Z", 1 },	/* Tue 23:30 */
	};
	const char *groups[] = { "GP Clinicians" };
	struct conf_errors errs = { 0 };
	struct policy_counts c;
	struct policy *p;
	char buf[256] = "";

	p = policy_load_string("t.conf", any_order, strlen(any_order), &errs);
	cr_assert_not_null(p, "%s", errs.n ? errs.msgs[0] : "");
	policy_counts(p, &c);
	cr_expect_eq(c.practices, 2);
	cr_expect_eq(c.targets, 3);
	cr_expect_eq(c.sites, 1);
	cr_expect_eq(c.postures, 2);
	cr_expect_eq(c.roles, 1);
	cr_expect_eq(c.members, 1);
	cr_expect_str_eq(policy_practice_title(p, "k84001"),
	    "Banbury \"Cross\"");
	cr_expect_str_eq(policy_practice_title(p, "K84002"), "");
	cr_expect_null(policy_practice_title(p, "K84003"));
	/* Only profiles a role uses count for the clients' refresh. */
	cr_expect_eq(policy_posture_max_age(p), 2 * 3600);
	cr_expect_eq(policy_session_lifetime(p, "bob.smith", NULL, 0), 7200);
	policy_user_access(p, "carol", (const char *[]){ "staff" }, 1,
	    collect, buf);
	cr_expect_str_eq(buf, "role=r practice=K84001 practice=K84002 ");
	for (size_t i = 0; i < NELEM(when); i++) {
		struct policy_posture ps = { .received_at = 0 };
		struct policy_request req = { .user = "zoe", .groups = groups,
		    .ngroups = 1, .device_id = "d", .device_managed = 1,
		    .posture = &ps, .source_ip = "10.1.2.3",
		    .target_name = "docman", .practice = "K84001",
		    .port = 443 };
		struct policy_decision d;

		cr_assert_eq(audit_parse_time(when[i].utc, &req.now), 0);
		ps.received_at = req.now;
		/* zoe is not a member: only a member of staff gets in. */
		policy_decide(p, &req, &d);
		cr_expect_eq(d.allow, 0, "case %zu", i);
		req.groups = (const char *[]){ "GP Clinicians", "staff" };
		req.ngroups = 2;
		policy_decide(p, &req, &d);
		cr_expect_eq(d.allow, when[i].allow, "case %zu: %s", i,
		    d.reason);
	}
	policy_free(p);
	ASSERT_NO_LEAKS();
}

Test(policy_parse, includes_name_their_files)
{
	char dir[64], path[PATH_MAX], inc[PATH_MAX], sub[PATH_MAX];
	char want[PATH_MAX + 80];
	struct conf_errors errs = { 0 };
	struct policy_counts c;
	struct policy *p;

	make_tmp_dir(dir, sizeof(dir), "mwg-policy-parse");
	path_in(sub, dir, "members.d");
	cr_assert_eq(mkdir(sub, 0700), 0);
	path_in(path, dir, "policy.conf");
	write_file(path, "practice K84001 { target emis 10.0.0.1:443 }\n"
	    "role r { groups g; targets emis }\n"
	    "include members.d/*.conf\n", 0);
	path_in(inc, sub, "a.conf");
	write_file(inc, "member alice { practices K84001 }\n", 0);
	path_in(inc, sub, "b.conf");
	write_file(inc, "member bob { practices K84001 }\n", 0);
	p = policy_load(path, &errs);
	cr_assert_not_null(p, "%s", errs.n ? errs.msgs[0] : "");
	policy_counts(p, &c);
	cr_expect_eq(c.members, 2);
	policy_free(p);

	write_file(inc, "member bob { practices K84002 }\n"
	    "member alice { practices K84001 }\n", 0);
	cr_assert_null(policy_load(path, &errs));
	cr_assert_eq(errs.n, 2);
	snprintf(want, sizeof(want), "%s:1:24: expected a practice defined "
	    "in this policy, got 'K84002'", inc);
	cr_expect_str_eq(errs.msgs[0], want);
	cr_expect(strstr(errs.msgs[1], "b.conf:2:8: member alice is defined "
	    "twice (first at ") != NULL, "%s", errs.msgs[1]);
	cr_expect(strstr(errs.msgs[1], "a.conf:1:8)") != NULL, "%s",
	    errs.msgs[1]);
	conf_errors_clear(&errs);
	remove_tree(dir);
	ASSERT_NO_LEAKS();
}

/* More errors than are kept: all counted, none loads. */
Test(policy_parse, many_errors)
{
	char *text = malloc(200 * 64), *t = text;
	struct conf_errors errs = { 0 };

	for (int i = 0; i < 150; i++)
		t += sprintf(t, "member u%d { practices X%d }\n", i, i);
	cr_assert_null(policy_load_string("t.conf", text, strlen(text),
	    &errs));
	cr_expect_eq(errs.n, CONF_ERRORS_MAX);
	cr_expect_eq(errs.dropped, 50);
	conf_errors_clear(&errs);
	free(text);
}

/* Kinds and hosts as loaded; what policy_reachable lists for whom. */
static void
reach_collect(const struct policy_target *t, int only_glass, void *arg)
{
	char *buf = arg;

	snprintf(buf + strlen(buf), 512 - strlen(buf), "%s.%s:%s:%s%s ",
	    t->name, t->practice, policy_kind_name(t->kind), t->host,
	    only_glass ? ":glass" : "");
}

Test(policy_parse, target_kinds_and_what_a_person_reaches)
{
	static const char text[] =
	    "timezone Europe/London\n"
	    "practice K84001 {\n"
	    "  target emis 10.0.0.1:443 { kind web; host EMIS.k84001.example.nhs.uk }\n"
	    "  target reception 10.0.0.2:3389 { kind rdp }\n"
	    "  target files 10.0.0.3:445\n"
	    "  target jump 10.0.0.4:22 { kind ssh; host jump.k84001.example }\n"
	    "}\n"
	    "practice K84002 { target emis 10.0.1.1:443 { kind web;"
	    " host emis.k84002.example.nhs.uk } }\n"
	    "role gp { groups gp; targets emis reception;"
	    " hours mon-fri 08:00-18:00 }\n"
	    "role it { groups it; practices *; targets *; device managed }\n"
	    "role glass { groups gp; practices *; targets emis;"
	    " break-glass 1h }\n"
	    "member group gp { practices K84001 }\n";
	static const struct {
		const char *group, *at;
		int managed;
		const char *want;
	} cases[] = {
		/* Wed 11:00 BST: gp's own two, K84002's emis by break-glass. */
		{ "gp", "2026-06-10T10:00:00Z", 0,
		    "emis.K84001:web:emis.k84001.example.nhs.uk "
		    "reception.K84001:rdp: "
		    "emis.K84002:web:emis.k84002.example.nhs.uk:glass " },
		/* Wed 23:00 BST: out of hours; break-glass reaches both emis. */
		{ "gp", "2026-06-10T22:00:00Z", 0,
		    "emis.K84001:web:emis.k84001.example.nhs.uk:glass "
		    "emis.K84002:web:emis.k84002.example.nhs.uk:glass " },
		/* it on a managed device: everything; on a personal one: none. */
		{ "it", "2026-06-10T22:00:00Z", 1,
		    "emis.K84001:web:emis.k84001.example.nhs.uk "
		    "files.K84001:tcp: jump.K84001:ssh:jump.k84001.example "
		    "reception.K84001:rdp: "
		    "emis.K84002:web:emis.k84002.example.nhs.uk " },
		{ "it", "2026-06-10T22:00:00Z", 0, "" },
		{ "nobody", "2026-06-10T10:00:00Z", 1, "" },
	};
	struct conf_errors errs = { 0 };
	struct policy *p = policy_load_string("t.conf", text, strlen(text),
	    &errs);

	cr_assert_not_null(p, "%s", errs.n ? errs.msgs[0] : "");
	cr_expect_str_eq(policy_kind_name(POLICY_KIND_TCP), "tcp");
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *groups[] = { cases[i].group };
		struct policy_request req = { .user = "alice", .groups = groups,
		    .ngroups = 1, .device_id = "d", .source_ip = "",
		    .device_managed = cases[i].managed,
		    .target_name = "ignored", .practice = "K84009",
		    .port = 1, .break_glass = NULL };
		char buf[512] = "";
		size_t n;

		cr_assert_eq(audit_parse_time(cases[i].at, &req.now), 0);
		n = policy_reachable(p, &req, reach_collect, buf);
		cr_expect_str_eq(buf, cases[i].want, "case %zu: '%s'", i, buf);
		/* One entry per space in want. */
		size_t spaces = 0;
		for (const char *c = cases[i].want; *c; c++)
			spaces += *c == ' ';
		cr_expect_eq(n, spaces, "case %zu: %zu listed", i, n);
	}
	policy_free(p);
	ASSERT_NO_LEAKS();
}
