/*
 * The shared reader for mwg's block-structured files (mwgd.conf, policy.conf):
 * nginx/OpenBSD style statements, `#` comments, quoted strings, `{ }` blocks
 * and `include`. It builds a syntax tree only; each module interprets the
 * tree with its own keyword table. Every error carries file:line:col, and
 * all errors in a file are collected before the parse fails.
 */
#ifndef MWG_CONF_H
#define MWG_CONF_H

#include <stddef.h>

#define CONF_FILE_MAX   (4 * 1024 * 1024)	/* bytes in one file */
#define CONF_TOKEN_MAX  4096			/* bytes in one word or string */
#define CONF_DEPTH_MAX  16			/* nested blocks */
#define CONF_INCLUDE_MAX 8			/* nested includes */
#define CONF_FILES_MAX	256			/* files read in one parse */
#define CONF_ERRORS_MAX 100			/* errors kept per parse */

struct conf_pos {
	const char *file;	/* owned by the tree (or by the errors list) */
	int line;
	int col;
};

struct conf_arg {
	char *text;
	int is_quoted;
	struct conf_pos pos;
};

struct conf_node {
	struct conf_arg name;		/* the keyword */
	struct conf_arg *args;
	size_t nargs;
	struct conf_node *children;	/* statements inside { } */
	size_t nchildren;
	int has_block;
};

struct conf_tree {
	struct conf_node root;		/* only children are used */
	char **files;			/* every file read, for positions */
	size_t nfiles;
	char sha256[65];		/* hex, over every file's bytes in the
					   order read (includes too) */
	void *md;			/* private: the running digest */
};

struct conf_errors {
	char **msgs;			/* "file:line:col: message" */
	size_t n;
	size_t dropped;			/* errors past CONF_ERRORS_MAX */
};

/*
 * Parses path and its includes. Returns a tree the caller frees with
 * conf_tree_free(), or NULL with at least one message added to errs.
 */
struct conf_tree *conf_parse_file(const char *path, struct conf_errors *errs);
/* Same, from memory; name is used in error positions. */
struct conf_tree *conf_parse_string(const char *name, const char *text,
    size_t len, struct conf_errors *errs);
void conf_tree_free(struct conf_tree *tree);

void conf_error(struct conf_errors *errs, const struct conf_pos *pos,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Frees the messages; the struct itself may be reused. */
void conf_errors_clear(struct conf_errors *errs);
/* Joins all messages with newlines; caller frees. NULL when there are none. */
char *conf_errors_join(const struct conf_errors *errs);

/*
 * Value parsers with range checks (never atoi). Each returns 0, or -1 and
 * adds "expected ..." at the argument's position.
 */
int conf_uint(const struct conf_arg *a, long long min, long long max,
    long long *out, struct conf_errors *errs);
/* "90s", "15m", "12h", "14d", "2w"; a bare number is seconds. */
int conf_duration(const struct conf_arg *a, long long min_s, long long max_s,
    long long *out_s, struct conf_errors *errs);
/* Checks the statement has between min and max arguments. */
int conf_nargs(const struct conf_node *n, size_t min, size_t max,
    struct conf_errors *errs);

#endif
