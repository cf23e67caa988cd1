/*
 * The policy.conf corpus in tests/fixtures/policy/ (see its README.md):
 * every good file loads, every bad file gives exactly the errors its
 * .errors file lists. Runs from the repository root, as run-all.sh does.
 */
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "policy/policy.h"
#include "unit.h"

#define CORPUS	"tests/fixtures/policy"

/* The whole of path, or NULL. Caller frees. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	buf = malloc(65536);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static size_t
corpus_glob(const char *pattern, glob_t *g)
{
	cr_assert_eq(access(CORPUS "/README.md", R_OK), 0, "run from the "
	    "repository root: %s not found", CORPUS);
	cr_assert_eq(glob(pattern, 0, NULL, g), 0, "%s", pattern);
	return g->gl_pathc;
}

Test(policy_corpus, good_files_load)
{
	struct conf_errors errs = { 0 };
	glob_t g;
	size_t n = corpus_glob(CORPUS "/good/*.conf", &g);

	cr_assert_geq(n, 4);
	for (size_t i = 0; i <= n; i++) {
		/* The shipped example must pass check too. */
		const char *path = i < n ? g.gl_pathv[i] : "deploy/policy.conf";
		struct policy *p = policy_load(path, &errs);

		cr_expect_not_null(p, "%s: %s", path, errs.n ? errs.msgs[0] :
		    "");
		conf_errors_clear(&errs);
		policy_free(p);
	}
	globfree(&g);
	ASSERT_NO_LEAKS();
}

Test(policy_corpus, bad_files_give_their_errors)
{
	char want_path[PATH_MAX];
	glob_t g;
	size_t n = corpus_glob(CORPUS "/bad/*.conf", &g);

	cr_assert_geq(n, 8);
	/* Positions read NAME.conf:LINE:COL, as the README says. */
	cr_assert_eq(chdir(CORPUS "/bad"), 0);
	for (size_t i = 0; i < n; i++) {
		const char *name = strrchr(g.gl_pathv[i], '/') + 1;
		struct conf_errors errs = { 0 };
		struct policy *p = policy_load(name, &errs);
		char *want, *got = conf_errors_join(&errs);
		size_t len;

		snprintf(want_path, sizeof(want_path), "%.*s.errors",
		    (int)(strlen(name) - 5), name);
		want = slurp(want_path);
		cr_expect_not_null(want, "%s missing", want_path);
		len = want ? strlen(want) : 0;
		if (len > 0 && want[len - 1] == '\n')
			want[len - 1] = '\0';
		cr_expect_null(p, "%s loaded", name);
		cr_expect_str_eq(got ? got : "", want ? want : "?",
		    "%s:\n%s", name, got ? got : "");
		free(want);
		free(got);
		conf_errors_clear(&errs);
		policy_free(p);
	}
	globfree(&g);
	ASSERT_NO_LEAKS();
}
