/*
 * common/conf.c and conf_value.c: the shared reader behind mwgd.conf and
 * policy.conf. Tables of inputs with the exact tree or the exact error
 * list expected; includes are exercised on files in a mkdtemp directory.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/conf.h"
#include "unit.h"

/*
 * One input and its outcome. tree is the expected dump (see dump_node)
 * when the parse succeeds, NULL when it must fail with exactly errs
 * (messages joined by '\n', as conf_errors_join gives them).
 */
struct parse_case {
	const char *text;
	size_t len;		/* 0: strlen(text) */
	const char *tree;
	const char *errs;
	size_t nerrs;
};

/* "name arg "quoted" { child; child }; next" */
static void
dump_node(FILE *f, const struct conf_node *parent)
{
	for (size_t i = 0; i < parent->nchildren; i++) {
		const struct conf_node *n = &parent->children[i];

		fprintf(f, "%s%s", i ? "; " : "", n->name.text);
		for (size_t j = 0; j < n->nargs; j++)
			fprintf(f, n->args[j].is_quoted ? " \"%s\"" : " %s",
			    n->args[j].text);
		if (n->has_block) {
			fprintf(f, " {%s", n->nchildren ? " " : "");
			dump_node(f, n);
			fprintf(f, " }");
		}
	}
}

/* Caller frees. */
static char *
dump_tree(const struct conf_tree *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	dump_node(f, &t->root);
	fclose(f);
	return buf;
}

static void
check_case(const char *what, size_t idx, const struct parse_case *c)
{
	struct conf_errors errs = { 0 };
	size_t len = c->len ? c->len : strlen(c->text);
	struct conf_tree *t = conf_parse_string("t.conf", c->text, len, &errs);
	char *joined = conf_errors_join(&errs);

	if (c->tree != NULL) {
		cr_expect_not_null(t, "%s[%zu] %s: unexpected errors:\n%s",
		    what, idx, c->text, joined ? joined : "(none)");
		if (t != NULL) {
			char *got = dump_tree(t);

			cr_expect_str_eq(got, c->tree, "%s[%zu] %s: got %s", what,
			    idx, c->text, got);
			free(got);
		}
		cr_expect_eq(errs.n, 0);
	} else {
		cr_expect_null(t, "%s[%zu] %s: parsed but must fail", what, idx,
		    c->text);
		cr_expect_eq(errs.n, c->nerrs, "%s[%zu] %s: %zu errors, want "
		    "%zu:\n%s", what, idx, c->text, errs.n, c->nerrs,
		    joined ? joined : "(none)");
		cr_expect_str_eq(joined ? joined : "", c->errs,
		    "%s[%zu] %s: got\n%s", what, idx, c->text,
		    joined ? joined : "");
	}
	free(joined);
	conf_tree_free(t);
	conf_errors_clear(&errs);
}

/* check_case for each of n cases; what names the table in messages. */
static void
check_cases(const char *what, const struct parse_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_case(what, i, &cases[i]);
}

static const struct parse_case good_cases[] = {
	{ "", 0, "", NULL, 0 },
	{ "\n\n\n", 0, "", NULL, 0 },
	{ "# only a comment\n   # another\n", 0, "", NULL, 0 },
	{ "a b c\n", 0, "a b c", NULL, 0 },
	{ "a b c", 0, "a b c", NULL, 0 },
	{ "a b # trailing comment { } \"\n", 0, "a b", NULL, 0 },
	{ "a#b c", 0, "a#b c", NULL, 0 },
	{ "\ta\t b \t\n", 0, "a b", NULL, 0 },
	{ "a b\r\nc d\r\n", 0, "a b; c d", NULL, 0 },
	{ "a \"b c\" d", 0, "a \"b c\" d", NULL, 0 },
	{ "a \"\"", 0, "a \"\"", NULL, 0 },
	{ "a \"# not a comment\"", 0, "a \"# not a comment\"", NULL, 0 },
	{ "a \"x\\\"y\\\\z\\n\\tw\"", 0, "a \"x\"y\\z\n\tw\"", NULL, 0 },
	{ "a \"\\q\"", 0, "a \"q\"", NULL, 0 },
	{ "a \"{ } ;\"", 0, "a \"{ } ;\"", NULL, 0 },
	{ "a \"tab\there\"", 0, "a \"tab\there\"", NULL, 0 },
	{ "a \"caf\xc3\xa9\"", 0, "a \"caf\xc3\xa9\"", NULL, 0 },
	{ "a \"x\"\"y\"", 0, "a \"x\" \"y\"", NULL, 0 },
	{ "a 10.0.0.1:443 [::1]:8443 conf.d/*.conf", 0,
	    "a 10.0.0.1:443 [::1]:8443 conf.d/*.conf", NULL, 0 },
	{ "a { b c }", 0, "a { b c }", NULL, 0 },
	{ "a{b}", 0, "a { b }", NULL, 0 },
	{ "a {}", 0, "a { }", NULL, 0 },
	{ "a {\n}\n", 0, "a { }", NULL, 0 },
	{ "a x \"y\" { b }", 0, "a x \"y\" { b }", NULL, 0 },
	{ "a {\n\tb {\n\t\tc d\n\t}\n\te\n}\nf\n", 0, "a { b { c d }; e }; f",
	    NULL, 0 },
	{ "a { b { c } }", 0, "a { b { c } }", NULL, 0 },
	{ "a; b; c d", 0, "a; b; c d", NULL, 0 },
	{ "a;;b;", 0, "a; b", NULL, 0 },
	{ "a { b; c }", 0, "a { b; c }", NULL, 0 },
	{ "a { b }; c", 0, "a { b }; c", NULL, 0 },
	{ "a b \\\n  c\n", 0, "a b c", NULL, 0 },
	{ "a \\\n \\\n b", 0, "a b", NULL, 0 },
	{ "a {\n b \\\n c }", 0, "a { b c }", NULL, 0 },
	/* A backslash that ends a word is part of it, not a continuation. */
	{ "a b\\\nc", 0, "a b\\; c", NULL, 0 },
	{ "a \"x\\\ny\"", 0, "a \"x\ny\"", NULL, 0 },
	{ "a \"\x7f\"", 0, "a \"\x7f\"", NULL, 0 },
};

static const struct parse_case bad_cases[] = {
	{ "a \"x", 0, NULL, "t.conf:1:3: unterminated string", 1 },
	{ "a \"x\ny\n", 0, NULL, "t.conf:1:3: unterminated string", 1 },
	{ "a\n  b  \"x\\\"\n", 0, NULL, "t.conf:2:6: unterminated string", 1 },
	{ "a \"x\\", 0, NULL, "t.conf:1:3: unterminated string", 1 },
	{ "a \"\x01\"", 0, NULL, "t.conf:1:3: control character in string",
	    1 },
	{ "a \"x\x1b[0m\"", 0, NULL,
	    "t.conf:1:3: control character in string", 1 },
	{ "a \x01", 0, NULL, "t.conf:1:3: unexpected character 0x01", 1 },
	{ "a b\x7f", 0, NULL, "t.conf:1:4: unexpected character 0x7f", 1 },
	{ "a {", 0, NULL,
	    "t.conf:1:3: '{' is never closed (expected '}' before end of file)",
	    1 },
	{ "a {\n b {\n  c\n }\n", 0, NULL,
	    "t.conf:1:3: '{' is never closed (expected '}' before end of file)",
	    1 },
	/* Two braces left open: each is reported, the inner one first. */
	{ "a {\n b {\n  c\n", 0, NULL,
	    "t.conf:2:4: '{' is never closed (expected '}' before end of file)\n"
	    "t.conf:1:3: '{' is never closed (expected '}' before end of file)",
	    2 },
	{ "}", 0, NULL, "t.conf:1:1: unexpected '}'", 1 },
	{ "a\n  }\nb\n", 0, NULL, "t.conf:2:3: unexpected '}'", 1 },
	{ "a { b } }", 0, NULL, "t.conf:1:9: unexpected '}'", 1 },
	{ "} }", 0, NULL, "t.conf:1:1: unexpected '}'\n"
	    "t.conf:1:3: unexpected '}'", 2 },
	{ "a \0 b", 5, NULL, "t.conf:1:1: file contains a NUL byte", 1 },
	{ "a b\n\n\"q\" c\0", 11, NULL, "t.conf:1:1: file contains a NUL byte",
	    1 },
	{ "\"q\" b", 0, NULL, "t.conf:1:1: expected a keyword, got string", 1 },
	{ "{", 0, NULL, "t.conf:1:1: expected a keyword, got '{'", 1 },
	{ "a { b }  c", 0, NULL, "t.conf:1:10: expected end of line, got word",
	    1 },
	{ "a {} \"s\"", 0, NULL,
	    "t.conf:1:6: expected end of line, got string", 1 },
	{ "include", 0, NULL,
	    "t.conf:1:8: expected a path after include, got end of file", 1 },
	{ "include\nb\n", 0, NULL,
	    "t.conf:1:8: expected a path after include, got end of line", 1 },
	{ "include {", 0, NULL,
	    "t.conf:1:9: expected a path after include, got '{'", 1 },
	/* Every error in the file, each once, in order. */
	{ "a \"x\n"
	  "b {} c\n"
	  "}\n"
	  "d \x01\n"
	  "e \"\x02\"\n"
	  "f ok\n"
	  "g {\n", 0, NULL,
	    "t.conf:1:3: unterminated string\n"
	    "t.conf:2:6: expected end of line, got word\n"
	    "t.conf:3:1: unexpected '}'\n"
	    "t.conf:4:3: unexpected character 0x01\n"
	    "t.conf:5:3: control character in string\n"
	    "t.conf:7:3: '{' is never closed (expected '}' before end of file)",
	    6 },
};

Test(conf_parse, good_inputs)
{
	check_cases("good", good_cases, NELEM(good_cases));
	ASSERT_NO_LEAKS();
}

Test(conf_parse, bad_inputs)
{
	check_cases("bad", bad_cases, NELEM(bad_cases));
	ASSERT_NO_LEAKS();
}

Test(conf_parse, positions_and_quoting)
{
	static const char text[] =
	    "# head\n"
	    "\tlisten tls \"a b\" {\n"
	    "  key k \\\n"
	    "     more\n"
	    "}; x y\n";
	struct conf_errors errs = { 0 };
	struct conf_tree *t = conf_parse_string("p.conf", text,
	    sizeof(text) - 1, &errs);
	const struct conf_node *n, *k;

	cr_assert_not_null(t);
	cr_assert_eq(t->nfiles, 1);
	cr_assert_str_eq(t->files[0], "p.conf");
	cr_assert_eq(t->root.nchildren, 2);
	n = &t->root.children[0];
	cr_assert_str_eq(n->name.pos.file, "p.conf");
	cr_assert_eq(n->name.pos.line, 2);
	cr_assert_eq(n->name.pos.col, 2);
	cr_assert_eq(n->nargs, 2);
	cr_assert_eq(n->args[0].is_quoted, 0);
	cr_assert_eq(n->args[0].pos.col, 9);
	cr_assert_eq(n->args[1].is_quoted, 1);
	cr_assert_str_eq(n->args[1].text, "a b");
	cr_assert_eq(n->args[1].pos.line, 2);
	cr_assert_eq(n->args[1].pos.col, 13);
	cr_assert(n->has_block);
	cr_assert_eq(n->nchildren, 1);
	k = &n->children[0];
	cr_assert_eq(k->nargs, 2);
	cr_assert_eq(k->name.pos.line, 3);
	cr_assert_eq(k->name.pos.col, 3);
	cr_assert_str_eq(k->args[1].text, "more");
	cr_assert_eq(k->args[1].pos.line, 4);
	cr_assert_eq(k->args[1].pos.col, 6);
	n = &t->root.children[1];
	cr_assert_str_eq(n->name.text, "x");
	cr_assert_eq(n->name.pos.line, 5);
	cr_assert_eq(n->name.pos.col, 4);
	cr_assert_eq(n->has_block, 0);
	conf_tree_free(t);
	ASSERT_NO_LEAKS();
}

/* Builds "a X...X" with a word or string of n bytes; caller frees. */
static char *
long_token(size_t n, int quoted)
{
	char *s = malloc(n + 8);

	cr_assert_not_null(s);
	strcpy(s, quoted ? "a \"" : "a ");
	memset(s + strlen(s), 'x', n);
	strcpy(s + (quoted ? 3 : 2) + n, quoted ? "\"\n" : "\n");
	return s;
}

Test(conf_parse, token_length_limit)
{
	static const struct {
		size_t n;
		int quoted;
		const char *err;	/* NULL: parses */
	} cases[] = {
		{ CONF_TOKEN_MAX - 1, 0, NULL },
		{ CONF_TOKEN_MAX, 0, "t.conf:1:3: word longer than 4095 bytes" },
		{ CONF_TOKEN_MAX * 3, 0,
		    "t.conf:1:3: word longer than 4095 bytes" },
		{ CONF_TOKEN_MAX - 1, 1, NULL },
		{ CONF_TOKEN_MAX, 1, "t.conf:1:3: string longer than 4095 bytes" },
		{ CONF_TOKEN_MAX * 3, 1,
		    "t.conf:1:3: string longer than 4095 bytes" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct conf_errors errs = { 0 };
		char *s = long_token(cases[i].n, cases[i].quoted);
		struct conf_tree *t = conf_parse_string("t.conf", s, strlen(s),
		    &errs);

		if (cases[i].err == NULL) {
			cr_expect_not_null(t, "case %zu", i);
			if (t != NULL)
				cr_expect_eq(strlen(t->root.children[0]
				    .args[0].text), cases[i].n, "case %zu", i);
		} else {
			cr_expect_null(t, "case %zu", i);
			cr_expect_eq(errs.n, 1, "case %zu: %zu errors", i,
			    errs.n);
			if (errs.n > 0)
				cr_expect_str_eq(errs.msgs[0], cases[i].err,
				    "case %zu", i);
		}
		conf_tree_free(t);
		conf_errors_clear(&errs);
		free(s);
	}
	ASSERT_NO_LEAKS();
}

Test(conf_parse, file_size_limit)
{
	size_t len = CONF_FILE_MAX + 1;
	char *s = malloc(len);
	struct conf_errors errs = { 0 };
	struct conf_tree *t;

	cr_assert_not_null(s);
	memset(s, '\n', len);
	t = conf_parse_string("big.conf", s, len, &errs);
	cr_assert_null(t);
	cr_assert_eq(errs.n, 1);
	cr_assert_str_eq(errs.msgs[0], "big.conf:1:1: larger than 4194304 bytes");
	conf_errors_clear(&errs);
	t = conf_parse_string("big.conf", s, len - 1, &errs);
	cr_assert_not_null(t);
	cr_assert_eq(errs.n, 0);
	conf_tree_free(t);
	free(s);
	ASSERT_NO_LEAKS();
}

/* "a {\n" depth times, "x\n", "}\n" depth times; caller frees. */
static char *
nested(int depth)
{
	char *s = malloc((size_t)depth * 6 + 4);
	size_t o = 0;

	cr_assert_not_null(s);
	for (int i = 0; i < depth; i++)
		o += (size_t)sprintf(s + o, "a {\n");
	o += (size_t)sprintf(s + o, "x\n");
	for (int i = 0; i < depth; i++)
		o += (size_t)sprintf(s + o, "}\n");
	return s;
}

Test(conf_parse, depth_limit_first_error)
{
	struct conf_errors errs = { 0 };
	char *s = nested(CONF_DEPTH_MAX);
	struct conf_tree *t = conf_parse_string("t.conf", s, strlen(s), &errs);
	const struct conf_node *n;
	int depth = 0;

	cr_assert_not_null(t, "%d nested blocks must parse", CONF_DEPTH_MAX);
	for (n = &t->root; n->nchildren == 1 && n->children[0].has_block;
	    n = &n->children[0])
		depth++;
	cr_assert_eq(n->nchildren, 1);
	cr_assert_str_eq(n->children[0].name.text, "x");
	cr_assert_eq(depth, CONF_DEPTH_MAX);
	conf_tree_free(t);
	free(s);

	s = nested(CONF_DEPTH_MAX + 1);
	t = conf_parse_string("t.conf", s, strlen(s), &errs);
	cr_assert_null(t);
	cr_assert_geq(errs.n, 1);
	cr_assert_str_eq(errs.msgs[0], "t.conf:17:3: blocks nested deeper "
	    "than 16");
	conf_errors_clear(&errs);
	free(s);
	ASSERT_NO_LEAKS();
}

/*
 * BUG (common/conf.c parse_stmt): after "blocks nested deeper than 16" the
 * '{' is left unconsumed, so the parser goes on with "expected a keyword,
 * got '{'" and one "unexpected '}'" per closing brace: 19 errors for one.
 */
Test(conf_parse, depth_limit_single_error)
{
	struct conf_errors errs = { 0 };
	struct conf_tree *t;
	char *s;

	s = nested(CONF_DEPTH_MAX + 1);
	t = conf_parse_string("t.conf", s, strlen(s), &errs);
	cr_assert_null(t);
	cr_assert_eq(errs.n, 1);
	conf_errors_clear(&errs);
	free(s);
	ASSERT_NO_LEAKS();
}

/*
 * BUG (common/conf.c parse_stmt, "if (parse_block(...) == -1) return -1"):
 * an error inside a block returns before the block's '}' is consumed, so
 * that '}' is reported as "unexpected '}'" (and in nested blocks the
 * statements after it land in the enclosing block). Same for a statement
 * abandoned by lx_recover() before a '{ }' and for invalid tokens at the
 * start of a statement, which add "expected a keyword, got invalid token",
 * and bytes >= 0x80 in a word, reported once per byte. Each case below is
 * the correct, single-error outcome.
 */
static const struct parse_case spurious_cases[] = {
	{ "a {\n b \"x\n}\n", 0, NULL, "t.conf:2:4: unterminated string", 1 },
	{ "a {\n b {\n  c \x01\n }\n d\n}\n", 0, NULL,
	    "t.conf:3:5: unexpected character 0x01", 1 },
	{ "a { b } { c }", 0, NULL,
	    "t.conf:1:9: expected end of line, got '{'", 1 },
	{ "\"x\n", 0, NULL, "t.conf:1:1: unterminated string", 1 },
	{ "\x01 a\n", 0, NULL, "t.conf:1:1: unexpected character 0x01", 1 },
	{ "a\n{ b }\n", 0, NULL, "t.conf:2:1: expected a keyword, got '{'",
	    1 },
};

Test(conf_parse, errors_in_blocks_reported_once)
{
	check_cases("spurious", spurious_cases, NELEM(spurious_cases));
	ASSERT_NO_LEAKS();
}

/* What the parser does today with the cases above: the first error is right. */
Test(conf_parse, errors_in_blocks_first_message)
{
	for (size_t i = 0; i < NELEM(spurious_cases); i++) {
		const struct parse_case *c = &spurious_cases[i];
		struct conf_errors errs = { 0 };
		struct conf_tree *t = conf_parse_string("t.conf", c->text,
		    strlen(c->text), &errs);

		cr_expect_null(t, "case %zu", i);
		cr_expect_geq(errs.n, 1, "case %zu", i);
		if (errs.n > 0)
			cr_expect_str_eq(errs.msgs[0], c->errs, "case %zu", i);
		conf_tree_free(t);
		conf_errors_clear(&errs);
	}
	ASSERT_NO_LEAKS();
}

Test(conf_parse, error_list_is_capped)
{
	char text[300];
	struct conf_errors errs = { 0 };
	struct conf_tree *t;
	const char *want;
	char *joined;

	for (size_t i = 0; i < 150; i++)
		memcpy(text + 2 * i, "}\n", 2);
	t = conf_parse_string("t.conf", text, 300, &errs);
	cr_assert_null(t);
	cr_assert_eq(errs.n, CONF_ERRORS_MAX);
	cr_assert_eq(errs.dropped, 50);
	cr_assert_str_eq(errs.msgs[0], "t.conf:1:1: unexpected '}'");
	cr_assert_str_eq(errs.msgs[99], "t.conf:100:1: unexpected '}'");
	joined = conf_errors_join(&errs);
	cr_assert_not_null(joined);
	cr_assert_eq(strncmp(joined, "t.conf:1:1: unexpected '}'\n"
	    "t.conf:2:1: ", 39), 0);
	want = "t.conf:100:1: unexpected '}'\n(50 more errors)";
	cr_assert_str_eq(joined + strlen(joined) - strlen(want), want);
	free(joined);
	conf_errors_clear(&errs);
	cr_assert_eq(errs.n, 0);
	cr_assert_eq(errs.dropped, 0);
	cr_assert_null(conf_errors_join(&errs));
	ASSERT_NO_LEAKS();
}

Test(conf_parse, errors_accumulate_across_parses)
{
	struct conf_errors errs = { 0 };
	struct conf_tree *t;

	t = conf_parse_string("one.conf", "}", 1, &errs);
	cr_assert_null(t);
	t = conf_parse_string("two.conf", "ok", 2, &errs);
	cr_assert_not_null(t, "a clean parse succeeds after an earlier one failed");
	conf_tree_free(t);
	t = conf_parse_string("three.conf", "a {", 3, &errs);
	cr_assert_null(t);
	cr_assert_eq(errs.n, 2);
	cr_assert_str_eq(errs.msgs[0], "one.conf:1:1: unexpected '}'");
	cr_assert_str_eq(errs.msgs[1], "three.conf:1:3: '{' is never closed "
	    "(expected '}' before end of file)");
	conf_errors_clear(&errs);
	ASSERT_NO_LEAKS();
}

/* ---- include --------------------------------------------------------- */

static char tmp_dir[64];

static void
setup_tmp(void)
{
	make_tmp_dir(tmp_dir, sizeof(tmp_dir), "mwg-conf-test");
}

static void
teardown(void)
{
	remove_tree(tmp_dir);
}

/* Writes tmp_dir/name with len bytes of text (0: strlen). */
static void
put_file(const char *name, const char *text, size_t len)
{
	char path[PATH_MAX];

	write_file(path_in(path, tmp_dir, name), text, len);
}

/* Replaces each "@" in pattern with tmp_dir; caller frees. */
static char *
with_dir(const char *pattern)
{
	size_t n = strlen(pattern) + 1;
	char *out, *o;

	for (const char *p = pattern; *p; p++)
		if (*p == '@')
			n += strlen(tmp_dir);
	o = out = malloc(n);
	cr_assert_not_null(out);
	for (const char *p = pattern; *p; p++) {
		if (*p == '@')
			o = stpcpy(o, tmp_dir);
		else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* Parses tmp_dir/main.conf (written from text) with conf_parse_file. */
struct include_case {
	const char *main;
	const char *tree;	/* NULL: must fail */
	const char *errs;	/* '@' stands for tmp_dir */
	size_t nerrs;
};

static void
check_include(size_t idx, const struct include_case *c)
{
	struct conf_errors errs = { 0 };
	struct conf_tree *t;
	char path[PATH_MAX], *joined, *want;

	put_file("main.conf", c->main, 0);
	snprintf(path, sizeof(path), "%s/main.conf", tmp_dir);
	t = conf_parse_file(path, &errs);
	joined = conf_errors_join(&errs);
	if (c->tree != NULL) {
		cr_expect_not_null(t, "include[%zu]: %s", idx,
		    joined ? joined : "");
		if (t != NULL) {
			char *got = dump_tree(t);

			cr_expect_str_eq(got, c->tree, "include[%zu]", idx);
			free(got);
		}
	} else {
		want = with_dir(c->errs);
		cr_expect_null(t, "include[%zu]", idx);
		cr_expect_eq(errs.n, c->nerrs, "include[%zu]: %zu errors:\n%s",
		    idx, errs.n, joined ? joined : "");
		cr_expect_str_eq(joined ? joined : "", want, "include[%zu]",
		    idx);
		free(want);
	}
	free(joined);
	conf_tree_free(t);
	conf_errors_clear(&errs);
}

static const struct include_case include_cases[] = {
	{ "a 1\ninclude inc.conf\nd 4\n", "a 1; b 2; c 3; d 4", NULL, 0 },
	{ "include \"inc.conf\"; d", "b 2; c 3; d", NULL, 0 },
	{ "a {\n include inc.conf\n}\n", "a { b 2; c 3 }", NULL, 0 },
	{ "a { include inc.conf }", "a { b 2; c 3 }", NULL, 0 },
	{ "include conf.d/*.conf\n", "first; second { x }", NULL, 0 },
	{ "include conf.d/[12]0-*.conf\n", "first; second { x }", NULL, 0 },
	{ "include none.d/*.conf\nz\n", "z", NULL, 0 },
	{ "include conf.d/*.none\nz\n", "z", NULL, 0 },
	{ "include sub/inner.conf\n", "inner; leaf", NULL, 0 },
	{ "include nope.conf\n", NULL,
	    "@/main.conf:1:9: cannot open @/nope.conf: No such file or "
	    "directory", 1 },
	{ "a\n  include \"/nonexistent-mwg/x.conf\"\n", NULL,
	    "@/main.conf:2:11: cannot open /nonexistent-mwg/x.conf: No such "
	    "file or directory", 1 },
	{ "include bad.conf\n", NULL, "@/bad.conf:2:1: unexpected '}'", 1 },
	{ "include nul.conf\n", NULL, "@/nul.conf:1:1: file contains a NUL byte",
	    1 },
	{ "include sub\n", NULL, "@/main.conf:1:9: @/sub: not a regular file",
	    1 },
	{ "include inc.conf extra\n", NULL,
	    "@/main.conf:1:18: expected end of line after include path, got "
	    "word", 1 },
	{ "include bad.conf\ninclude nope.conf\n}\n", NULL,
	    "@/bad.conf:2:1: unexpected '}'\n"
	    "@/main.conf:2:9: cannot open @/nope.conf: No such file or "
	    "directory\n"
	    "@/main.conf:3:1: unexpected '}'", 3 },
};

Test(conf_include, corpus, .init = setup_tmp, .fini = teardown)
{
	char path[PATH_MAX];

	put_file("inc.conf", "b 2\nc 3\n", 0);
	put_file("bad.conf", "ok\n}\n", 0);
	put_file("nul.conf", "a\0b\n", 4);
	snprintf(path, sizeof(path), "%s/conf.d", tmp_dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	put_file("conf.d/20-b.conf", "second { x }\n", 0);
	put_file("conf.d/10-a.conf", "first\n", 0);
	put_file("conf.d/30-c.txt", "never\n", 0);
	snprintf(path, sizeof(path), "%s/sub", tmp_dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	/* Relative to the including file, not to the top one. */
	put_file("sub/inner.conf", "inner\ninclude leaf.conf\n", 0);
	put_file("sub/leaf.conf", "leaf\n", 0);
	for (size_t i = 0; i < NELEM(include_cases); i++)
		check_include(i, &include_cases[i]);
	ASSERT_NO_LEAKS();
}

Test(conf_include, positions_name_the_included_file, .init = setup_tmp,
    .fini = teardown)
{
	struct conf_errors errs = { 0 };
	struct conf_tree *t;
	char path[PATH_MAX], want[PATH_MAX];

	put_file("inc.conf", "\n  b 2\n", 0);
	put_file("main.conf", "a\ninclude inc.conf\n", 0);
	snprintf(path, sizeof(path), "%s/main.conf", tmp_dir);
	t = conf_parse_file(path, &errs);
	cr_assert_not_null(t);
	cr_assert_eq(t->nfiles, 2);
	cr_assert_eq(t->root.nchildren, 2);
	cr_assert_str_eq(t->root.children[0].name.pos.file, path);
	snprintf(want, sizeof(want), "%s/inc.conf", tmp_dir);
	cr_assert_str_eq(t->root.children[1].name.pos.file, want);
	cr_assert_eq(t->root.children[1].name.pos.line, 2);
	cr_assert_eq(t->root.children[1].name.pos.col, 3);
	conf_tree_free(t);
	ASSERT_NO_LEAKS();
}

/* conf_parse_string resolves relative includes against its name's dir. */
Test(conf_include, from_string_relative_to_name, .init = setup_tmp,
    .fini = teardown)
{
	struct conf_errors errs = { 0 };
	struct conf_tree *t;
	char name[PATH_MAX];

	put_file("inc.conf", "b\n", 0);
	snprintf(name, sizeof(name), "%s/virtual.conf", tmp_dir);
	t = conf_parse_string(name, "include inc.conf\na\n", 19, &errs);
	cr_assert_not_null(t);
	cr_assert_eq(t->root.nchildren, 2);
	cr_assert_str_eq(t->root.children[0].name.text, "b");
	conf_tree_free(t);
	ASSERT_NO_LEAKS();
}

/* tree->sha256: see files_hash in unit.h. */
Test(conf_parse, sha256_of_name_and_bytes)
{
	static const struct {
		const char *name, *text;
	} cases[] = {
		{ "t.conf", "" },
		{ "t.conf", "a b\n" },
		{ "t.conf", "a b\n\n" },
		{ "t.conf", "a  b\n" },
		{ "u.conf", "a b\n" },
		{ "t.conf", "# c\na b\n" },
	};
	char want[65], seen[NELEM(cases)][65];

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct conf_errors errs = { 0 };
		struct conf_tree *t = conf_parse_string(cases[i].name,
		    cases[i].text, strlen(cases[i].text), &errs);

		cr_assert_not_null(t);
		files_hash(1, &cases[i].name, &cases[i].text, want);
		cr_expect_str_eq(t->sha256, want, "case %zu", i);
		memcpy(seen[i], t->sha256, 65);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(seen[i], seen[j], "case %zu = %zu", i,
			    j);
		conf_tree_free(t);
	}
	ASSERT_NO_LEAKS();
}

Test(conf_include, sha256_covers_included_files, .init = setup_tmp,
    .fini = teardown)
{
	static const char *const texts[][2] = {	/* main.conf, inc.conf */
		{ "a\ninclude inc.conf\n", "b 1\n" },
		/* Moving a byte from one file to the other changes the hash. */
		{ "a\ninclude inc.conf", "\nb 1\n" },
	};
	struct conf_errors errs = { 0 };
	char path[PATH_MAX], inc[PATH_MAX], want[65], first[65];
	const char *names[2] = { path, inc };

	path_in(path, tmp_dir, "main.conf");
	path_in(inc, tmp_dir, "inc.conf");
	for (size_t i = 0; i < NELEM(texts); i++) {
		struct conf_tree *t;

		put_file("main.conf", texts[i][0], 0);
		put_file("inc.conf", texts[i][1], 0);
		t = conf_parse_file(path, &errs);
		cr_assert_not_null(t);
		files_hash(2, names, texts[i], want);
		cr_assert_str_eq(t->sha256, want);
		if (i == 0)
			memcpy(first, t->sha256, sizeof(first));
		else
			cr_assert_str_neq(t->sha256, first);
		conf_tree_free(t);
	}
	ASSERT_NO_LEAKS();
}

Test(conf_include, chain_of_eight_is_allowed_nine_is_not, .init = setup_tmp,
    .fini = teardown)
{
	struct conf_errors errs = { 0 };
	struct conf_tree *t;
	char name[32], text[64], path[PATH_MAX], *want;

	/* f0 includes f1 ... f8 includes f9: nine levels of include. */
	for (int i = 0; i <= CONF_INCLUDE_MAX + 1; i++) {
		snprintf(name, sizeof(name), "f%d.conf", i);
		if (i == CONF_INCLUDE_MAX + 1)
			snprintf(text, sizeof(text), "leaf%d\n", i);
		else
			snprintf(text, sizeof(text), "s%d\ninclude f%d.conf\n",
			    i, i + 1);
		put_file(name, text, 0);
	}
	snprintf(path, sizeof(path), "%s/f1.conf", tmp_dir);
	t = conf_parse_file(path, &errs);
	cr_assert_not_null(t, "8 nested includes must parse");
	cr_assert_eq(t->root.nchildren, CONF_INCLUDE_MAX + 1);
	cr_assert_str_eq(t->root.children[CONF_INCLUDE_MAX].name.text,
	    "leaf9");
	cr_assert_eq(t->nfiles, CONF_INCLUDE_MAX + 1);
	conf_tree_free(t);

	snprintf(path, sizeof(path), "%s/f0.conf", tmp_dir);
	t = conf_parse_file(path, &errs);
	cr_assert_null(t);
	cr_assert_eq(errs.n, 1);
	want = with_dir("@/f8.conf:2:9: includes nested deeper than 8");
	cr_assert_str_eq(errs.msgs[0], want);
	free(want);
	conf_errors_clear(&errs);
	ASSERT_NO_LEAKS();
}

Test(conf_include, self_include_and_cycle_are_bounded, .init = setup_tmp,
    .fini = teardown)
{
	static const struct {
		const char *top;
		const char *err;
	} cases[] = {
		{ "self.conf", "@/self.conf:1:9: includes nested deeper than 8" },
		{ "a.conf", "@/a.conf:1:9: includes nested deeper than 8" },
		{ "b.conf", "@/b.conf:1:9: includes nested deeper than 8" },
		{ "glob.conf", "@/glob.conf:1:9: includes nested deeper than 8" },
	};
	char path[PATH_MAX];

	put_file("self.conf", "include self.conf\n", 0);
	put_file("a.conf", "include b.conf\n", 0);
	put_file("b.conf", "include \"a.conf\"\n", 0);
	put_file("glob.conf", "include glob*.conf\n", 0);
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct conf_errors errs = { 0 };
		struct conf_tree *t;
		char *want = with_dir(cases[i].err);

		snprintf(path, sizeof(path), "%s/%s", tmp_dir, cases[i].top);
		t = conf_parse_file(path, &errs);
		cr_expect_null(t, "case %zu", i);
		cr_expect_eq(errs.n, 1, "case %zu: %zu errors", i, errs.n);
		if (errs.n > 0)
			cr_expect_str_eq(errs.msgs[0], want, "case %zu", i);
		free(want);
		conf_errors_clear(&errs);
	}
	ASSERT_NO_LEAKS();
}

Test(conf_include, missing_top_file, .init = setup_tmp, .fini = teardown)
{
	struct conf_errors errs = { 0 };
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/missing.conf", tmp_dir);
	cr_assert_null(conf_parse_file(path, &errs));
	assert_sole_error(&errs, "cannot open %s: No such file or directory",
	    path);
	cr_assert_null(conf_parse_file(tmp_dir, &errs));
	assert_sole_error(&errs, "%s: not a regular file", tmp_dir);
	ASSERT_NO_LEAKS();
}

/* ---- typed values ---------------------------------------------------- */

static struct conf_arg
arg(const char *text)
{
	struct conf_arg a = { (char *)text, 0, { "v.conf", 4, 7 } };

	return a;
}

/* A typed value, its range and what parsing it must give. */
struct value_case {
	const char *text;
	long long min, max;
	long long want;		/* when err is NULL */
	const char *err;
};

typedef int value_fn(const struct conf_arg *, long long, long long,
    long long *, struct conf_errors *);

/* Each case through parse (conf_uint or conf_duration). */
static void
check_values(value_fn *parse, const struct value_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct conf_errors errs = { 0 };
		struct conf_arg a = arg(cases[i].text);
		long long out = -42;
		int rc = parse(&a, cases[i].min, cases[i].max, &out, &errs);

		if (cases[i].err == NULL) {
			cr_expect_eq(rc, 0, "'%s'", cases[i].text);
			cr_expect_eq(out, cases[i].want, "'%s': %lld",
			    cases[i].text, out);
			cr_expect_eq(errs.n, 0, "'%s'", cases[i].text);
		} else {
			cr_expect_eq(rc, -1, "'%s'", cases[i].text);
			cr_expect_eq(out, -42, "'%s' wrote its output",
			    cases[i].text);
			cr_expect_eq(errs.n, 1, "'%s'", cases[i].text);
			if (errs.n > 0)
				cr_expect_str_eq(errs.msgs[0], cases[i].err);
		}
		conf_errors_clear(&errs);
	}
}

#define NUM_ERR(range, got) "v.conf:4:7: expected a number from " range \
	", got '" got "'"

Test(conf_value, uint)
{
	static const struct value_case cases[] = {
		{ "0", 0, 10, 0, NULL },
		{ "10", 0, 10, 10, NULL },
		{ "007", 0, 10, 7, NULL },
		{ "1", 1, 1, 1, NULL },
		{ "9223372036854775807", 0, 9223372036854775807LL,
		    9223372036854775807LL, NULL },
		{ "11", 0, 10, 0, NUM_ERR("0 to 10", "11") },
		{ "0", 1, 64, 0, NUM_ERR("1 to 64", "0") },
		{ "-1", 0, 10, 0, NUM_ERR("0 to 10", "-1") },
		{ "-1", -5, 10, 0, NUM_ERR("-5 to 10", "-1") },
		{ "+1", 0, 10, 0, NUM_ERR("0 to 10", "+1") },
		{ " 1", 0, 10, 0, NUM_ERR("0 to 10", " 1") },
		{ "1 ", 0, 10, 0, NUM_ERR("0 to 10", "1 ") },
		{ "", 0, 10, 0, NUM_ERR("0 to 10", "") },
		{ "1x", 0, 10, 0, NUM_ERR("0 to 10", "1x") },
		{ "0x10", 0, 100, 0, NUM_ERR("0 to 100", "0x10") },
		{ "1e3", 0, 10000, 0, NUM_ERR("0 to 10000", "1e3") },
		{ "99999999999999999999", 0, 9223372036854775807LL, 0,
		    NUM_ERR("0 to 9223372036854775807",
		    "99999999999999999999") },
	};

	check_values(conf_uint, cases, NELEM(cases));
	ASSERT_NO_LEAKS();
}

#define DUR_ERR(range, got) "v.conf:4:7: expected a duration from " range \
	" (e.g. 30s, 15m, 12h, 14d), got '" got "'"

Test(conf_value, duration)
{
	static const struct value_case cases[] = {
		{ "0", 0, 100, 0, NULL },
		{ "90", 0, 100, 90, NULL },
		{ "90s", 0, 100, 90, NULL },
		{ "15m", 0, 86400, 900, NULL },
		{ "12h", 0, 86400, 43200, NULL },
		{ "1d", 0, 86400, 86400, NULL },
		{ "14d", 0, 30 * 86400, 1209600, NULL },
		{ "2w", 0, 30 * 86400, 1209600, NULL },
		{ "0w", 0, 10, 0, NULL },
		{ "300s", 1, 300, 300, NULL },
		{ "5m", 1, 300, 300, NULL },
		{ "15250284452471w", 0, 9223372036854775807LL,
		    15250284452471LL * 604800, NULL },
		{ "153722867280912930m", 0, 9223372036854775807LL,
		    9223372036854775800LL, NULL },
		{ "301", 1, 300, 0, DUR_ERR("1s to 300s", "301") },
		{ "6m", 1, 300, 0, DUR_ERR("1s to 300s", "6m") },
		{ "0", 1, 300, 0, DUR_ERR("1s to 300s", "0") },
		{ "0m", 1, 300, 0, DUR_ERR("1s to 300s", "0m") },
		{ "-1", 0, 300, 0, DUR_ERR("0s to 300s", "-1") },
		{ "1x", 0, 300, 0, DUR_ERR("0s to 300s", "1x") },
		{ "1S", 0, 300, 0, DUR_ERR("0s to 300s", "1S") },
		{ "1ms", 0, 300, 0, DUR_ERR("0s to 300s", "1ms") },
		{ "15mm", 0, 3000, 0, DUR_ERR("0s to 3000s", "15mm") },
		{ "m", 0, 300, 0, DUR_ERR("0s to 300s", "m") },
		{ "", 0, 300, 0, DUR_ERR("0s to 300s", "") },
		{ " 5", 0, 300, 0, DUR_ERR("0s to 300s", " 5") },
		{ "5 s", 0, 300, 0, DUR_ERR("0s to 300s", "5 s") },
		{ "99999999999999999999", 0, 9223372036854775807LL, 0,
		    DUR_ERR("0s to 9223372036854775807s",
		    "99999999999999999999") },
		/* v * mult would overflow: rejected before multiplying. */
		{ "9223372036854775807w", 0, 9223372036854775807LL, 0,
		    DUR_ERR("0s to 9223372036854775807s",
		    "9223372036854775807w") },
		{ "15250284452472w", 0, 9223372036854775807LL, 0,
		    DUR_ERR("0s to 9223372036854775807s",
		    "15250284452472w") },
		{ "106751991167301d", 0, 9223372036854775807LL, 0,
		    DUR_ERR("0s to 9223372036854775807s", "106751991167301d") },
		{ "153722867280912931m", 0, 9223372036854775807LL, 0,
		    DUR_ERR("0s to 9223372036854775807s",
		    "153722867280912931m") },
	};

	check_values(conf_duration, cases, NELEM(cases));
	ASSERT_NO_LEAKS();
}

Test(conf_value, nargs)
{
	static const struct {
		size_t nargs, min, max;
		const char *err;	/* NULL: accepted */
	} cases[] = {
		{ 0, 0, 0, NULL },
		{ 1, 1, 1, NULL },
		{ 2, 1, 3, NULL },
		{ 3, 1, 3, NULL },
		{ 0, 1, 1, "n.conf:2:5: stmt takes 1 argument, got 0" },
		{ 2, 1, 1, "n.conf:2:5: stmt takes 1 argument, got 2" },
		{ 1, 2, 2, "n.conf:2:5: stmt takes 2 arguments, got 1" },
		{ 1, 0, 0, "n.conf:2:5: stmt takes 0 arguments, got 1" },
		{ 0, 1, 2, "n.conf:2:5: stmt takes 1 to 2 arguments, got 0" },
		{ 3, 1, 2, "n.conf:2:5: stmt takes 1 to 2 arguments, got 3" },
	};
	struct conf_arg args[3] = { 0 };
	struct conf_node n = { 0 };

	n.name = (struct conf_arg){ "stmt", 0, { "n.conf", 2, 5 } };
	n.args = args;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct conf_errors errs = { 0 };
		int rc;

		n.nargs = cases[i].nargs;
		rc = conf_nargs(&n, cases[i].min, cases[i].max, &errs);
		cr_expect_eq(rc, cases[i].err ? -1 : 0, "case %zu", i);
		cr_expect_eq(errs.n, cases[i].err ? 1 : 0, "case %zu", i);
		if (cases[i].err && errs.n > 0)
			cr_expect_str_eq(errs.msgs[0], cases[i].err);
		conf_errors_clear(&errs);
	}
	ASSERT_NO_LEAKS();
}

Test(conf_value, error_without_position)
{
	struct conf_errors errs = { 0 };
	struct conf_pos nofile = { NULL, 3, 4 };

	conf_error(&errs, NULL, "plain %d", 1);
	conf_error(&errs, &nofile, "no file");
	cr_assert_eq(errs.n, 2);
	cr_assert_str_eq(errs.msgs[0], "plain 1");
	cr_assert_str_eq(errs.msgs[1], "no file");
	conf_errors_clear(&errs);
	conf_tree_free(NULL);
	ASSERT_NO_LEAKS();
}
