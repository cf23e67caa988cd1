/*
 * policy/policy.c: loading policy.conf, practices and targets, lookups,
 * the target part of a decision and the content hash. Bad practice and
 * target statements are a table with the exact error list each must give;
 * the other statements are in policy_parse_test.c, decisions in
 * policy_decide_test.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/addr.h"
#include "policy/policy.h"
#include "unit.h"

static const char two_practices[] =
    "# two practices\n"
    "practice K84001 \"Banbury Cross Health Centre\" {\n"
    "\ttarget emis 10.10.1.10:443\n"
    "\ttarget docman 10.10.1.11:8443\n"
    "}\n"
    "practice k84002 {\n"
    "\ttarget emis [fd00::10]:443\n"
    "\ttarget files-1 10.20.0.5:445\n"
    "}\n";

/*
 * One good target, so that a case does not load an empty policy (see
 * empty_file_has_no_targets).
 */
#define KEEP	"practice Z99999 { target keep 10.9.9.9:1 }\n"

static struct policy *
load(const char *text, struct conf_errors *errs)
{
	return policy_load_string("t.conf", text, strlen(text), errs);
}

Test(policy, two_practices_and_lookups)
{
	static const struct {
		const char *name, *practice;
		const char *want;	/* addr_str, NULL: not found */
		const char *want_practice;
	} cases[] = {
		{ "emis", "K84001", "10.10.1.10:443", "K84001" },
		{ "emis", "k84001", "10.10.1.10:443", "K84001" },
		{ "docman", "K84001", "10.10.1.11:8443", "K84001" },
		{ "emis", "K84002", "[fd00::10]:443", "K84002" },
		{ "emis", "k84002", "[fd00::10]:443", "K84002" },
		{ "files-1", "K84002", "10.20.0.5:445", "K84002" },
		{ "docman", "K84002", NULL, NULL },
		{ "nope", "K84001", NULL, NULL },
		{ "EMIS", "K84001", NULL, NULL },
		{ "emis", "K84003", NULL, NULL },
		{ "emis", "", NULL, NULL },
		{ "", "K84001", NULL, NULL },
		{ "emis", "K84001\n", NULL, NULL },
		{ "emis",
		  "K840010000000000000000000000000000000000000000000000000000000000"
		  "000000", NULL, NULL },
		{ "emis000000000000000000000000000000000000000000000000000000000000"
		  "000000", "K84001", NULL, NULL },
	};
	struct conf_errors errs = { 0 };
	struct policy *p = load(two_practices, &errs);

	cr_assert_not_null(p, "%s", errs.n ? errs.msgs[0] : "");
	cr_assert_eq(errs.n, 0);
	cr_assert_eq(policy_target_count(p), 4);
	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct policy_target *t = policy_find_target(p,
		    cases[i].name, cases[i].practice);

		if (cases[i].want == NULL) {
			cr_expect_null(t, "case %zu: %s.%s found", i,
			    cases[i].name, cases[i].practice);
			continue;
		}
		cr_expect_not_null(t, "case %zu: %s.%s not found", i,
		    cases[i].name, cases[i].practice);
		if (t == NULL)
			continue;
		cr_expect_str_eq(t->name, cases[i].name, "case %zu", i);
		cr_expect_str_eq(t->practice, cases[i].want_practice,
		    "case %zu", i);
		cr_expect_str_eq(t->addr_str, cases[i].want, "case %zu", i);
	}
	policy_free(p);
	policy_free(NULL);
	ASSERT_NO_LEAKS();
}

Test(policy, target_addresses)
{
	struct conf_errors errs = { 0 };
	struct policy *p = load(two_practices, &errs);
	const struct policy_target *t;
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	struct in6_addr want6;

	cr_assert_not_null(p);
	t = policy_find_target(p, "docman", "K84001");
	cr_assert_not_null(t);
	sin = (const struct sockaddr_in *)&t->addr;
	cr_assert_eq(sin->sin_family, AF_INET);
	cr_assert_eq(ntohs(sin->sin_port), 8443);
	cr_assert_eq(ntohl(sin->sin_addr.s_addr), 0x0a0a010b);
	cr_assert_eq(t->addrlen, sizeof(*sin));
	t = policy_find_target(p, "emis", "K84002");
	cr_assert_not_null(t);
	sin6 = (const struct sockaddr_in6 *)&t->addr;
	cr_assert_eq(sin6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(sin6->sin6_port), 443);
	cr_assert_eq(inet_pton(AF_INET6, "fd00::10", &want6), 1);
	cr_assert_eq(memcmp(&sin6->sin6_addr, &want6, sizeof(want6)), 0);
	cr_assert_eq(t->addrlen, sizeof(*sin6));
	policy_free(p);
	ASSERT_NO_LEAKS();
}

/*
 * A target found by its address and port (an SSH client may name it so):
 * exact matches only, and an address defined twice names no target.
 */
Test(policy, find_target_by_address)
{
	static const char text[] =
	    "practice K84001 {\n"
	    "\ttarget emis 10.10.1.10:443\n"
	    "\ttarget vpn 10.1.1.1:22\n"
	    "\ttarget web 10.3.3.3:80\n"
	    "\ttarget www 10.3.3.3:80\n"
	    "}\n"
	    "practice K84002 {\n"
	    "\ttarget emis [fd00::10]:443\n"
	    "\ttarget jump 10.1.1.1:22\n"
	    "\ttarget jump2 10.1.1.1:2222\n"
	    "}\n";
	static const struct {
		const char *addr;
		const char *want;	/* "name.practice", NULL: none */
	} cases[] = {
		{ "10.10.1.10:443", "emis.K84001" },
		{ "[fd00::10]:443", "emis.K84002" },
		{ "10.1.1.1:2222", "jump2.K84002" },
		{ "10.10.1.10:444", NULL },		/* other port */
		{ "10.10.1.11:443", NULL },		/* other address */
		{ "[::ffff:10.10.1.10]:443", NULL },	/* mapped: not exact */
		{ "[fd00::11]:443", NULL },
		{ "10.1.1.1:22", NULL },	/* vpn.K84001 and jump.K84002 */
		{ "10.3.3.3:80", NULL },	/* web and www in one practice */
	};
	struct conf_errors errs = { 0 };
	struct policy *p = load(text, &errs);
	struct sockaddr_storage ss;
	struct sockaddr_storage un = { .ss_family = AF_UNIX };
	socklen_t len;
	char got[2 * POLICY_NAME_MAX];

	cr_assert_not_null(p, "%s", errs.n ? errs.msgs[0] : "");
	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct policy_target *t;

		cr_assert_eq(addr_parse(cases[i].addr, &ss, &len), 0,
		    "case %zu", i);
		t = policy_find_target_addr(p, (struct sockaddr *)&ss);
		if (cases[i].want == NULL) {
			cr_expect_null(t, "case %zu: %s found as %s.%s", i,
			    cases[i].addr, t ? t->name : "", t ?
			    t->practice : "");
			continue;
		}
		cr_expect_not_null(t, "case %zu: %s not found", i,
		    cases[i].addr);
		if (t == NULL)
			continue;
		snprintf(got, sizeof(got), "%s.%s", t->name, t->practice);
		cr_expect_str_eq(got, cases[i].want, "case %zu", i);
		cr_expect_str_eq(t->addr_str, cases[i].addr, "case %zu", i);
	}
	cr_expect_null(policy_find_target_addr(p, NULL));
	cr_expect_null(policy_find_target_addr(p, (struct sockaddr *)&un));
	policy_free(p);
	p = load("# nothing yet\n", &errs);
	cr_assert_not_null(p);
	cr_assert_eq(addr_parse("10.10.1.10:443", &ss, &len), 0);
	cr_expect_null(policy_find_target_addr(p, (struct sockaddr *)&ss));
	policy_free(p);
	ASSERT_NO_LEAKS();
}

/*
 * With no targets there is no array: qsort and bsearch must not be handed
 * NULL (both are declared nonnull; the SAN=1 build aborted on it once).
 */
Test(policy, empty_file_has_no_targets)
{
	struct conf_errors errs = { 0 };
	struct policy *p;

	p = load("# nothing yet\n", &errs);

	cr_assert_not_null(p);
	cr_assert_eq(policy_target_count(p), 0);
	cr_assert_null(policy_find_target(p, "emis", "K84001"));
	policy_free(p);
	p = load("practice K84001 { }\n", &errs);
	cr_assert_not_null(p);
	cr_assert_eq(policy_target_count(p), 0);
	policy_free(p);
	ASSERT_NO_LEAKS();
}

#define ADDR_ERR(pos, a) "t.conf:" pos ": expected an address IP:PORT or " \
	"[IPv6]:PORT, got '" a "'"
#define NAME_ERR(pos, n) "t.conf:" pos ": expected a target name of a-z, " \
	"0-9 and '-', got '" n "'"
#define TOP_ERR(pos, w) "t.conf:" pos ": expected member, posture, " \
	"practice, role, site or timezone, got '" w "'"
#define CODE_ERR(pos, c) "t.conf:" pos ": expected a practice code (ODS " \
	"code, e.g. K84001), got '" c "'"

/* One statement inside practice K84001 (its line 2) that must fail. */
#define IN_K84001(stmt) "practice K84001 {\n\t" stmt "\n}\n"
#define BAD_ADDR(a) { IN_K84001("target emis " a), ADDR_ERR("2:14", a), 1 }
#define BAD_NAME(n) \
	{ IN_K84001("target " n " 10.0.0.1:443"), NAME_ERR("2:9", n), 1 }

static const struct bad_case bad_cases[] = {
	{ "practice K84001 {\n\ttarget emis 10.0.0.1:443\n"
	  "\ttarget emis 10.0.0.2:443\n}\n",
	    "t.conf:3:9: target emis.K84001 is defined twice", 1 },
	{ "practice k84001 { target emis 10.0.0.1:443 }\n"
	  "practice K84001 { target emis 10.0.0.1:8443 }\n",
	    "t.conf:2:10: practice K84001 is defined twice", 1 },
	{ "practice K84001 { target a 1.1.1.1:1; target b 1.1.1.1:1 }\n"
	  "practice K84002 { target a 1.1.1.1:1; target b 1.1.1.1:1;"
	  " target a 1.1.1.1:2 }\n",
	    "t.conf:2:66: target a.K84002 is defined twice", 1 },
	BAD_ADDR("emis.example:443"),
	BAD_ADDR("10.0.0.1"),
	BAD_ADDR("10.0.0.1:0"),
	BAD_ADDR("10.0.0.256:443"),
	BAD_ADDR("fd00::1:443"),
	BAD_ADDR("[fd00::1]"),
	BAD_NAME("EMIS"),
	BAD_NAME("-emis"),
	BAD_NAME("emis.x"),
	BAD_NAME("em_is"),
	{ IN_K84001("target \"\" 10.0.0.1:443"), NAME_ERR("2:9", ""), 1 },
	BAD_NAME("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	{ IN_K84001("target emis"),
	    "t.conf:2:2: target takes 2 arguments, got 1", 1 },
	{ IN_K84001("target emis 10.0.0.1:443 x"),
	    "t.conf:2:2: target takes 2 arguments, got 3", 1 },
	{ "server emis 10.0.0.1:443\n", TOP_ERR("1:1", "server"), 1 },
	{ "Practice K84001 { }\n", TOP_ERR("1:1", "Practice"), 1 },
	{ IN_K84001("host emis 10.0.0.1:443"),
	    "t.conf:2:2: expected 'target' in practice K84001, got 'host'", 1 },
	{ "practice k84001 { practice x { } }\n",
	    "t.conf:1:19: expected 'target' in practice K84001, got "
	    "'practice'", 1 },
	{ "practice K84001\n",
	    "t.conf:1:1: expected '{' with the practice's targets", 1 },
	{ "practice K84001 \"Name\"\n",
	    "t.conf:1:1: expected '{' with the practice's targets", 1 },
	{ "practice { target emis 10.0.0.1:443 }\n",
	    "t.conf:1:1: practice takes 1 to 2 arguments, got 0", 1 },
	{ "practice K84001 a b { }\n",
	    "t.conf:1:1: practice takes 1 to 2 arguments, got 3", 1 },
	{ "practice K84.001 { }\n", CODE_ERR("1:10", "K84.001"), 1 },
	{ "practice -K84001 { }\n", CODE_ERR("1:10", "-K84001"), 1 },
	{ "practice \"\" { }\n", CODE_ERR("1:10", ""), 1 },
	{ "practice K84001 \""
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "\" { }\n",
	    "t.conf:1:17: practice name longer than 127 bytes", 1 },
	/* A syntax error stops before the statements are looked at. */
	{ "practice K84001 \"Banbury Cross\n",
	    "t.conf:1:17: unterminated string", 1 },
	/* Every error, in order. */
	{ "practice K84001 {\n"
	  "\ttarget emis 10.0.0.1:443\n"
	  "\ttarget Bad 10.0.0.1:443\n"
	  "\ttarget ok 10.0.0.1\n"
	  "\tport 5\n"
	  "\ttarget emis 10.0.0.3:443\n"
	  "}\n"
	  "practice K84002\n"
	  "site x\n"
	  "host y\n",
	    NAME_ERR("3:9", "Bad") "\n"
	    ADDR_ERR("4:12", "10.0.0.1") "\n"
	    "t.conf:5:2: expected 'target' in practice K84001, got 'port'\n"
	    "t.conf:6:9: target emis.K84001 is defined twice\n"
	    "t.conf:8:1: expected '{' with the practice's targets\n"
	    "t.conf:9:1: expected '{' with the site's statements\n"
	    TOP_ERR("10:1", "host"), 7 },
};

Test(policy, bad_files)
{
	for (size_t i = 0; i < NELEM(bad_cases); i++) {
		struct conf_errors errs = { 0 };
		struct policy *p = load(bad_cases[i].text, &errs);

		expect_bad_load(i, &bad_cases[i], p, &errs);
		policy_free(p);
	}
	ASSERT_NO_LEAKS();
}

/*
 * Errors dropped past CONF_ERRORS_MAX still count: with an error list that
 * is already full a bad policy must not load (NULL on any error).
 */
Test(policy, full_error_list_still_fails)
{
	struct conf_errors errs = { 0 };
	struct policy *p;

	for (int i = 0; i < CONF_ERRORS_MAX; i++)
		conf_error(&errs, NULL, "earlier error %d", i);
	p = load("practice K84001 { target BAD 10.0.0.1:443 }\n" KEEP, &errs);
	cr_expect_null(p);
	cr_expect_eq(errs.dropped, 1);
	policy_free(p);
	conf_errors_clear(&errs);
	ASSERT_NO_LEAKS();
}

/*
 * The target part of a decision: a target that is not defined, or not on
 * that port, is refused before any role is looked at. A defined target
 * that no role reaches is refused by default.
 */
#define NO_ROLE(name, practice, port, target) { name, practice, port, 0, \
	"default-deny", "no role gives alice access to " name "." \
	practice, target }

Test(policy, decide_targets)
{
	static const struct {
		const char *name, *practice;
		int port;
		int allow;
		const char *rule, *reason;
		const char *target;	/* addr_str of out->target, or NULL */
	} cases[] = {
		NO_ROLE("emis", "K84001", 443, "10.10.1.10:443"),
		{ "emis", "k84001", 443, 0, "default-deny", "no role gives "
		    "alice access to emis.K84001", "10.10.1.10:443" },
		NO_ROLE("docman", "K84001", 8443, "10.10.1.11:8443"),
		NO_ROLE("emis", "K84002", 443, "[fd00::10]:443"),
		{ "nope", "K84001", 443, 0, "default-deny",
		    "no target nope.K84001 is defined in policy", NULL },
		{ "emis", "k84009", 443, 0, "default-deny",
		    "no target emis.k84009 is defined in policy", NULL },
		{ "", "", 443, 0, "default-deny",
		    "no target . is defined in policy", NULL },
		/* Reasons are printable ASCII: they reach JSON and people. */
		{ "em\xc3\xa9is", "K\n1", 443, 0, "default-deny",
		    "no target em??is.K?1 is defined in policy", NULL },
		/* The reason reaches the client: never the real port. */
		{ "emis", "k84001", 8443, 0, "default-deny",
		    "target emis.K84001 is not served on port 8443",
		    "10.10.1.10:443" },
		{ "docman", "K84001", 443, 0, "default-deny",
		    "target docman.K84001 is not served on port 443",
		    "10.10.1.11:8443" },
		{ "emis", "K84002", 0, 0, "default-deny",
		    "target emis.K84002 is not served on port 0",
		    "[fd00::10]:443" },
	};
	struct conf_errors errs = { 0 };
	struct policy *p = load(two_practices, &errs);

	cr_assert_not_null(p);
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct policy_request req = {
			.user = "alice", .device_id = "dev-1",
			.source_ip = "192.0.2.1",
			.target_name = cases[i].name,
			.practice = cases[i].practice, .port = cases[i].port,
			.now = 1700000000,
		};
		struct policy_decision d;

		memset(&d, 0xa5, sizeof(d));
		policy_decide(p, &req, &d);
		cr_expect_eq(d.allow, cases[i].allow, "case %zu", i);
		cr_expect_str_eq(d.rule, cases[i].rule, "case %zu: %s", i,
		    d.rule);
		cr_expect_str_eq(d.reason, cases[i].reason, "case %zu: %s", i,
		    d.reason);
		cr_expect_eq(d.report_only, 0, "case %zu", i);
		if (cases[i].target == NULL)
			cr_expect_null(d.target, "case %zu", i);
		else {
			cr_expect_not_null(d.target, "case %zu", i);
			if (d.target != NULL)
				cr_expect_str_eq(d.target->addr_str,
				    cases[i].target, "case %zu", i);
		}
	}
	policy_free(p);
	ASSERT_NO_LEAKS();
}

/* The documented hash: see files_hash in unit.h. */
Test(policy, hash_covers_name_and_bytes)
{
	static const char *const texts[] = {
		two_practices,
		"# two practices, edited\n" KEEP,
		KEEP,
		"# a comment\n" KEEP,
		KEEP "\n",
	};
	char want[65], seen[NELEM(texts)][65];
	struct conf_errors errs = { 0 };

	for (size_t i = 0; i < NELEM(texts); i++) {
		struct policy *p = load(texts[i], &errs);
		const char *name = "t.conf";
		const char *h;

		cr_assert_not_null(p);
		h = policy_hash(p);
		cr_expect_eq(strlen(h), 64, "case %zu: '%s'", i, h);
		for (const char *c = h; *c; c++)
			cr_expect(isxdigit((unsigned char)*c) &&
			    !isupper((unsigned char)*c), "case %zu: '%s'", i, h);
		files_hash(1, &name, &texts[i], want);
		cr_expect_str_eq(h, want, "case %zu", i);
		memcpy(seen[i], h, 65);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(seen[i], seen[j], "case %zu = %zu", i,
			    j);
		policy_free(p);
	}
	ASSERT_NO_LEAKS();
}

/*
 * Loads path, which must give ntargets targets and the hash of the n files
 * named (into hash); frees the policy.
 */
static void
check_load(const char *path, size_t ntargets, size_t n,
    const char *const names[], const char *const texts[], char hash[65])
{
	struct conf_errors errs = { 0 };
	struct policy *p = policy_load(path, &errs);

	cr_assert_not_null(p, "%s", errs.n ? errs.msgs[0] : "");
	cr_assert_eq(policy_target_count(p), ntargets);
	files_hash(n, names, texts, hash);
	cr_assert_str_eq(policy_hash(p), hash);
	policy_free(p);
}

Test(policy, load_from_file)
{
	static const char top[] = "include more.conf\n" "practice K84001 "
	    "{\n\ttarget emis 10.10.1.10:443\n\ttarget docman "
	    "10.10.1.11:8443\n}\npractice k84002 {\n\ttarget emis "
	    "[fd00::10]:443\n\ttarget files-1 10.20.0.5:445\n}\n";
	char dir[64], path[PATH_MAX], inc[PATH_MAX], hash[65];
	const char *names[2], *texts[2];
	struct conf_errors errs = { 0 };
	struct policy *p;

	make_tmp_dir(dir, sizeof(dir), "mwg-policy-test");
	path_in(path, dir, "policy.conf");
	write_file(path, two_practices, 0);
	names[0] = path;
	texts[0] = two_practices;
	check_load(path, 4, 1, names, texts, hash);

	/* Included files are hashed too, after the file that names them. */
	path_in(inc, dir, "more.conf");
	write_file(inc, KEEP, 0);
	write_file(path, top, 0);
	names[1] = inc;
	texts[0] = top;
	texts[1] = KEEP;
	check_load(path, 5, 2, names, texts, hash);
	write_file(inc, KEEP "# edited\n", 0);
	p = policy_load(path, &errs);
	cr_assert_not_null(p);
	cr_assert_str_neq(policy_hash(p), hash, "an edited include must "
	    "change the hash");
	texts[1] = KEEP "# edited\n";
	files_hash(2, names, texts, hash);
	cr_assert_str_eq(policy_hash(p), hash);
	policy_free(p);
	unlink(inc);

	write_file(path, "practice K1 {\n\ttarget x 1.2.3.4\n}\n", 0);
	cr_assert_null(policy_load(path, &errs));
	assert_sole_error(&errs, "%s:2:11: expected an address IP:PORT or "
	    "[IPv6]:PORT, got '1.2.3.4'", path);

	unlink(path);
	cr_assert_null(policy_load(path, &errs));
	assert_sole_error(&errs, "cannot open %s: No such file or directory",
	    path);
	rmdir(dir);
	ASSERT_NO_LEAKS();
}

/*
 * A directory (or any read error) is an error, not an empty deny-all
 * policy accepted on reload: conf_parse_file() says "PATH: not a regular
 * file".
 */
Test(policy, load_directory_fails)
{
	char dir[64];
	struct conf_errors errs = { 0 };
	struct policy *p;

	make_tmp_dir(dir, sizeof(dir), "mwg-policy-test");
	p = policy_load(dir, &errs);
	rmdir(dir);
	cr_expect_null(p);
	cr_expect_eq(errs.n, 1);
	policy_free(p);
	conf_errors_clear(&errs);
	ASSERT_NO_LEAKS();
}
