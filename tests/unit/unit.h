/*
 * Helpers shared by the Criterion unit tests. Header-only: every
 * tests/unit/NAME_test.c is its own binary, so everything here is static
 * (inline), and a test that does not use a helper pays nothing for it.
 */
#ifndef MWG_TESTS_UNIT_H
#define MWG_TESTS_UNIT_H

#include <sys/stat.h>

#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "common/conf.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#define ASSERT_NO_LEAKS() cr_assert(__lsan_do_recoverable_leak_check() == 0)
#else
#define ASSERT_NO_LEAKS() do { } while (0)
#endif

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * A test that cannot run here (no root for a tmpfs, a tool not built)
 * says "skip: TEST: why" on stderr, where tests/run-all.sh counts it apart
 * from passes; under CI=true it fails instead, so CI never passes by
 * skipping. FMT must be a string literal.
 */
#define UNIT_SKIP(FMT, ...) do {					\
	fprintf(stderr, "skip: %s: " FMT "\n", __func__, ##__VA_ARGS__);	\
	if (unit_is_ci())						\
		cr_assert_fail("skipped under CI=true: " FMT, ##__VA_ARGS__);	\
	cr_skip_test(FMT, ##__VA_ARGS__);				\
} while (0)

static inline int
unit_is_ci(void)
{
	const char *ci = getenv("CI");

	return ci != NULL && strcmp(ci, "true") == 0;
}

/* ---- files and directories -------------------------------------------- */

/* dir/name into buf (PATH_MAX bytes); returns buf. */
static inline char *
path_in(char *buf, const char *dir, const char *name)
{
	cr_assert(snprintf(buf, PATH_MAX, "%s/%s", dir, name) < PATH_MAX);
	return buf;
}

/* Makes a fresh "/tmp/PREFIX-XXXXXX" in buf (size bytes). */
static inline void
make_tmp_dir(char *buf, size_t size, const char *prefix)
{
	cr_assert(snprintf(buf, size, "/tmp/%s-XXXXXX", prefix) < (int)size);
	cr_assert_not_null(mkdtemp(buf), "mkdtemp %s", buf);
}

static inline int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything below it. */
static inline void
remove_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes path with len bytes of text (0: strlen), replacing it. */
static inline void
write_file(const char *path, const char *text, size_t len)
{
	FILE *f;

	if (len == 0)
		len = strlen(text);
	cr_assert_not_null(f = fopen(path, "w"), "%s", path);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* ---- the content hash of conf files ------------------------------------ */

/*
 * The documented hash (conf_tree sha256, policy_hash): SHA-256 over each
 * file read, in order, as its name with its NUL, its length as a size_t,
 * then its bytes; out gets 64 lowercase hex digits.
 */
static inline void
files_hash(size_t n, const char *const names[], const char *const texts[],
    char out[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[32];
	unsigned int len = 0;

	cr_assert_not_null(md);
	cr_assert_eq(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	for (size_t i = 0; i < n; i++) {
		size_t tlen = strlen(texts[i]);

		EVP_DigestUpdate(md, names[i], strlen(names[i]) + 1);
		EVP_DigestUpdate(md, &tlen, sizeof(tlen));
		EVP_DigestUpdate(md, texts[i], tlen);
	}
	cr_assert_eq(EVP_DigestFinal_ex(md, d, &len), 1);
	cr_assert_eq(len, 32);
	EVP_MD_CTX_free(md);
	for (unsigned int i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- error lists --------------------------------------------------------- */

/* A file that must not load, and every message it gives. */
struct bad_case {
	const char *text;
	const char *errs;	/* every message, joined with '\n' */
	size_t nerrs;
};

/*
 * bad_cases[idx] gave loaded (must be NULL) and errs: checks both, then
 * clears errs. The caller frees loaded.
 */
static inline void
expect_bad_load(size_t idx, const struct bad_case *b, const void *loaded,
    struct conf_errors *errs)
{
	char *joined = conf_errors_join(errs);

	cr_expect_null(loaded, "bad[%zu] loaded:\n%s", idx, b->text);
	cr_expect_eq(errs->n, b->nerrs, "bad[%zu] %zu errors, want %zu:"
	    "\n%s", idx, errs->n, b->nerrs, joined ? joined : "");
	cr_expect_str_eq(joined ? joined : "", b->errs,
	    "bad[%zu] got:\n%s", idx, joined ? joined : "");
	free(joined);
	conf_errors_clear(errs);
}

/* errs holds exactly one message, the one fmt gives; then clears errs. */
__attribute__((format(printf, 2, 3)))
static inline void
assert_sole_error(struct conf_errors *errs, const char *fmt, ...)
{
	char want[PATH_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	cr_assert_eq(errs->n, 1);
	cr_assert_str_eq(errs->msgs[0], want);
	conf_errors_clear(errs);
}

#endif /* MWG_TESTS_UNIT_H */
