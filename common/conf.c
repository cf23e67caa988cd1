/*
 * Lexer and statement-tree builder for mwg configuration files.
 * Grammar:  file  := stmt*
 *           stmt  := WORD arg* ( '{' stmt* '}' )? ( EOL | ';' | before '}' )
 *           arg   := WORD | "quoted string"
 * `include PATH` (glob, relative to the including file) splices the named
 * files' statements in place.
 */
#include "common/conf.h"

#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "common/fbundle.h"
#include "common/log.h"
#include "common/xmalloc.h"

enum tok { T_EOF, T_WORD, T_STRING, T_LBRACE, T_RBRACE, T_EOL, T_BAD };

struct lexer {
	const char *file;	/* owned by the tree */
	const char *p, *end;
	int line, col;
	struct conf_tree *tree;
	struct conf_errors *errs;
	int include_depth;
	/* one token of look-ahead */
	enum tok tok;
	char *text;
	struct conf_pos pos;
};

static int parse_block(struct lexer *lx, struct conf_node *parent, int depth,
    int in_block);

void
conf_error(struct conf_errors *errs, const struct conf_pos *pos,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (errs->n >= CONF_ERRORS_MAX) {
		errs->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote input: keep them printable ASCII (logs, JSON). */
	for (char *m = msg; *m; m++)
		if ((unsigned char)*m < ' ' || (unsigned char)*m >= 0x7f)
			*m = '?';
	errs->msgs = xreallocarray(errs->msgs, errs->n + 1, sizeof(char *));
	if (pos && pos->file)
		errs->msgs[errs->n++] = xasprintf("%s:%d:%d: %s", pos->file,
		    pos->line, pos->col, msg);
	else
		errs->msgs[errs->n++] = xstrdup(msg);
}

void
conf_errors_clear(struct conf_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
	errs->dropped = 0;
}

char *
conf_errors_join(const struct conf_errors *errs)
{
	size_t len = 1;
	char *out;

	if (errs->n == 0)
		return NULL;
	for (size_t i = 0; i < errs->n; i++)
		len += strlen(errs->msgs[i]) + 1;
	out = xmalloc(len + 64);
	out[0] = '\0';
	for (size_t i = 0; i < errs->n; i++) {
		strcat(out, errs->msgs[i]);
		if (i + 1 < errs->n)
			strcat(out, "\n");
	}
	if (errs->dropped)
		snprintf(out + strlen(out), 64, "\n(%zu more errors)",
		    errs->dropped);
	return out;
}

static const char *
tok_name(enum tok t)
{
	switch (t) {
	case T_EOF:	return "end of file";
	case T_WORD:	return "word";
	case T_STRING:	return "string";
	case T_LBRACE:	return "'{'";
	case T_RBRACE:	return "'}'";
	case T_EOL:	return "end of line";
	default:	return "invalid token";
	}
}

static void
lx_advance(struct lexer *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else
		lx->col++;
	lx->p++;
}

static void
lx_skip_blank(struct lexer *lx)
{
	while (lx->p < lx->end) {
		if (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r')
			lx_advance(lx);
		else if (*lx->p == '\\' && lx->p + 1 < lx->end &&
		    lx->p[1] == '\n') {
			lx_advance(lx);		/* line continuation */
			lx_advance(lx);
		} else if (*lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx_advance(lx);
		} else
			break;
	}
}

/* Bytes >= 0x80 (UTF-8) are word bytes; each keyword checks its values. */
static int
is_word_char(unsigned char c)
{
	return c > ' ' && c != '{' && c != '}' && c != '"' && c != ';' &&
	    c != 0x7f;
}

/* Reads a quoted string after the opening quote; escapes: \" \\ \n \t. */
static enum tok
lx_string(struct lexer *lx, char *buf, size_t *len)
{
	while (lx->p < lx->end && *lx->p != '"') {
		char c = *lx->p;

		if (c == '\n') {
			conf_error(lx->errs, &lx->pos, "unterminated string");
			return T_BAD;
		}
		if (c == '\\' && lx->p + 1 < lx->end) {
			lx_advance(lx);
			c = *lx->p == 'n' ? '\n' : *lx->p == 't' ? '\t' : *lx->p;
		} else if ((unsigned char)c < ' ' && c != '\t') {
			conf_error(lx->errs, &lx->pos,
			    "control character in string");
			return T_BAD;
		}
		if (*len + 1 >= CONF_TOKEN_MAX) {
			conf_error(lx->errs, &lx->pos,
			    "string longer than %d bytes", CONF_TOKEN_MAX - 1);
			return T_BAD;
		}
		buf[(*len)++] = c;
		lx_advance(lx);
	}
	if (lx->p >= lx->end) {
		conf_error(lx->errs, &lx->pos, "unterminated string");
		return T_BAD;
	}
	lx_advance(lx);
	return T_STRING;
}

static enum tok
lx_scan(struct lexer *lx)
{
	char buf[CONF_TOKEN_MAX];
	size_t len = 0;
	char c;

	lx_skip_blank(lx);
	lx->pos = (struct conf_pos){ lx->file, lx->line, lx->col };
	if (lx->p >= lx->end)
		return T_EOF;
	c = *lx->p;
	if (c == '\n' || c == ';') {
		lx_advance(lx);
		return T_EOL;
	}
	if (c == '{' || c == '}') {
		lx_advance(lx);
		return c == '{' ? T_LBRACE : T_RBRACE;
	}
	if (c == '"') {
		enum tok t;

		lx_advance(lx);
		t = lx_string(lx, buf, &len);
		if (t == T_BAD) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx_advance(lx);
			return T_BAD;
		}
		buf[len] = '\0';
		lx->text = xstrdup(buf);
		return T_STRING;
	}
	if (!is_word_char((unsigned char)c)) {
		conf_error(lx->errs, &lx->pos, "unexpected character 0x%02x",
		    (unsigned char)c);
		lx_advance(lx);
		return T_BAD;
	}
	while (lx->p < lx->end && is_word_char((unsigned char)*lx->p)) {
		if (len + 1 >= CONF_TOKEN_MAX) {
			conf_error(lx->errs, &lx->pos,
			    "word longer than %d bytes", CONF_TOKEN_MAX - 1);
			while (lx->p < lx->end &&
			    is_word_char((unsigned char)*lx->p))
				lx_advance(lx);
			return T_BAD;
		}
		buf[len++] = *lx->p;
		lx_advance(lx);
	}
	buf[len] = '\0';
	lx->text = xstrdup(buf);
	return T_WORD;
}

static void
lx_next(struct lexer *lx)
{
	free(lx->text);
	lx->text = NULL;
	lx->tok = lx_scan(lx);
}

/* Takes ownership of the current token's text. */
static struct conf_arg
lx_take_arg(struct lexer *lx)
{
	struct conf_arg a = { lx->text, lx->tok == T_STRING, lx->pos };

	lx->text = NULL;
	return a;
}

static void
node_free(struct conf_node *n)
{
	free(n->name.text);
	for (size_t i = 0; i < n->nargs; i++)
		free(n->args[i].text);
	free(n->args);
	for (size_t i = 0; i < n->nchildren; i++)
		node_free(&n->children[i]);
	free(n->children);
}

void
conf_tree_free(struct conf_tree *tree)
{
	if (tree == NULL)
		return;
	node_free(&tree->root);
	for (size_t i = 0; i < tree->nfiles; i++)
		free(tree->files[i]);
	free(tree->files);
	EVP_MD_CTX_free(tree->md);
	free(tree);
}

static const char *
tree_add_file(struct conf_tree *tree, const char *name)
{
	tree->files = xreallocarray(tree->files, tree->nfiles + 1,
	    sizeof(char *));
	tree->files[tree->nfiles] = xstrdup(name);
	return tree->files[tree->nfiles++];
}

static struct conf_node *
node_add_child(struct conf_node *parent)
{
	struct conf_node *c;

	parent->children = xreallocarray(parent->children,
	    parent->nchildren + 1, sizeof(*c));
	c = &parent->children[parent->nchildren++];
	memset(c, 0, sizeof(*c));
	return c;
}

/*
 * Skips to the end of the statement after an error. A block opened on the
 * way is skipped whole; a '}' that closes the enclosing block is left for
 * its owner, so one mistake gives one error.
 */
static void
lx_recover(struct lexer *lx)
{
	int nest = 0;

	while (lx->tok != T_EOF) {
		if (lx->tok == T_LBRACE)
			nest++;
		else if (lx->tok == T_RBRACE) {
			if (nest == 0)
				return;
			if (--nest == 0) {
				lx_next(lx);
				return;
			}
		} else if (lx->tok == T_EOL && nest == 0)
			return;
		lx_next(lx);
	}
}

static int parse_text(struct conf_tree *tree, struct conf_node *parent,
    const char *name, const char *text, size_t len, struct conf_errors *errs,
    int include_depth, int depth);
static int read_file(const char *path, char **buf, size_t *len,
    struct conf_errors *errs, const struct conf_pos *at);

/* `include PATH`: each file matching the glob is parsed into parent. */
static int
parse_include(struct lexer *lx, struct conf_node *parent, int depth,
    struct conf_arg *path)
{
	char *dir, *pattern, *buf;
	glob_t g;
	size_t len;
	int rc = 0, grc;

	if (lx->include_depth + 1 > CONF_INCLUDE_MAX) {
		conf_error(lx->errs, &path->pos,
		    "includes nested deeper than %d", CONF_INCLUDE_MAX);
		return -1;
	}
	if (path->text[0] == '/')
		pattern = xstrdup(path->text);
	else {
		char *copy = xstrdup(lx->file);

		dir = dirname(copy);
		pattern = xasprintf("%s/%s", dir, path->text);
		free(copy);
	}
	grc = fbundle_glob(pattern, &g);
	if (grc == GLOB_NOMATCH && strpbrk(path->text, "*?[") == NULL) {
		conf_error(lx->errs, &path->pos, "cannot open %s: %s", pattern,
		    strerror(ENOENT));
		rc = -1;
	}
	for (size_t i = 0; grc == 0 && i < g.gl_pathc; i++) {
		if (lx->tree->nfiles >= CONF_FILES_MAX) {
			conf_error(lx->errs, &path->pos, "more than %d files "
			    "read through include", CONF_FILES_MAX);
			rc = -1;
			break;
		}
		if (read_file(g.gl_pathv[i], &buf, &len, lx->errs,
		    &path->pos) == -1) {
			rc = -1;
			continue;
		}
		if (parse_text(lx->tree, parent, g.gl_pathv[i], buf, len,
		    lx->errs, lx->include_depth + 1, depth) == -1)
			rc = -1;
		free(buf);
	}
	if (grc == 0)
		globfree(&g);
	free(pattern);
	return rc;
}

/* Parses one statement whose keyword is the current token. */
static int
parse_stmt(struct lexer *lx, struct conf_node *parent, int depth)
{
	struct conf_node *n;
	int rc = 0;

	if (strcmp(lx->text, "include") == 0) {
		struct conf_arg path = { 0 };

		lx_next(lx);
		if (lx->tok != T_WORD && lx->tok != T_STRING) {
			conf_error(lx->errs, &lx->pos,
			    "expected a path after include, got %s",
			    tok_name(lx->tok));
			lx_recover(lx);
			return -1;
		}
		path = lx_take_arg(lx);
		lx_next(lx);
		rc = parse_include(lx, parent, depth, &path);
		free(path.text);
		if (lx->tok != T_EOL && lx->tok != T_EOF && lx->tok != T_RBRACE) {
			conf_error(lx->errs, &lx->pos,
			    "expected end of line after include path, got %s",
			    tok_name(lx->tok));
			lx_recover(lx);
			return -1;
		}
		return rc;
	}
	n = node_add_child(parent);
	n->name = lx_take_arg(lx);
	for (lx_next(lx); lx->tok == T_WORD || lx->tok == T_STRING; lx_next(lx)) {
		n->args = xreallocarray(n->args, n->nargs + 1, sizeof(*n->args));
		n->args[n->nargs++] = lx_take_arg(lx);
	}
	if (lx->tok == T_LBRACE) {
		struct conf_pos open = lx->pos;

		n->has_block = 1;
		if (depth + 1 > CONF_DEPTH_MAX) {
			conf_error(lx->errs, &open,
			    "blocks nested deeper than %d", CONF_DEPTH_MAX);
			lx_recover(lx);
			return -1;
		}
		lx_next(lx);
		rc = parse_block(lx, n, depth + 1, 1);
		if (lx->tok != T_RBRACE) {
			conf_error(lx->errs, &open,
			    "'{' is never closed (expected '}' before %s)",
			    tok_name(lx->tok));
			return -1;
		}
		lx_next(lx);
	}
	if (lx->tok == T_BAD) {
		lx_recover(lx);
		return -1;
	}
	if (lx->tok != T_EOL && lx->tok != T_EOF && lx->tok != T_RBRACE) {
		conf_error(lx->errs, &lx->pos, "expected end of line, got %s",
		    tok_name(lx->tok));
		lx_recover(lx);
		return -1;
	}
	return rc;
}

/* Statements until '}' (in_block) or end of file; all errors collected. */
static int
parse_block(struct lexer *lx, struct conf_node *parent, int depth, int in_block)
{
	int rc = 0;

	for (;;) {
		switch (lx->tok) {
		case T_EOL:
			lx_next(lx);
			continue;
		case T_EOF:
			return rc;
		case T_RBRACE:
			if (in_block)
				return rc;
			conf_error(lx->errs, &lx->pos, "unexpected '}'");
			rc = -1;
			lx_next(lx);
			continue;
		case T_WORD:
			if (parse_stmt(lx, parent, depth) == -1)
				rc = -1;
			if (lx->tok == T_EOF && in_block)
				return rc;
			continue;
		default:
			/* The lexer has already reported an invalid token. */
			if (lx->tok != T_BAD)
				conf_error(lx->errs, &lx->pos,
				    "expected a keyword, got %s",
				    tok_name(lx->tok));
			rc = -1;
			lx_recover(lx);
			if (lx->tok != T_RBRACE)
				lx_next(lx);
		}
	}
}

static int
parse_text(struct conf_tree *tree, struct conf_node *parent, const char *name,
    const char *text, size_t len, struct conf_errors *errs, int include_depth,
    int depth)
{
	struct lexer lx = { 0 };
	int rc;

	lx.file = tree_add_file(tree, name);
	/* Name and length first, so moving bytes between files shows. */
	EVP_DigestUpdate(tree->md, name, strlen(name) + 1);
	EVP_DigestUpdate(tree->md, &len, sizeof(len));
	EVP_DigestUpdate(tree->md, text, len);
	lx.p = text;
	lx.end = text + len;
	lx.line = lx.col = 1;
	lx.tree = tree;
	lx.errs = errs;
	lx.include_depth = include_depth;
	if (memchr(text, '\0', len) != NULL) {
		struct conf_pos pos = { lx.file, 1, 1 };

		conf_error(errs, &pos, "file contains a NUL byte");
		return -1;
	}
	lx_next(&lx);
	rc = parse_block(&lx, parent, depth, 0);
	if (lx.tok != T_EOF && rc == 0) {
		conf_error(errs, &lx.pos, "unexpected %s", tok_name(lx.tok));
		rc = -1;
	}
	free(lx.text);
	return rc;
}

/* Through the file bundle: the network process reads what the monitor did. */
static int
read_file(const char *path, char **buf, size_t *len, struct conf_errors *errs,
    const struct conf_pos *at)
{
	char err[FBUNDLE_ERR_MAX];

	if (fbundle_read(path, CONF_FILE_MAX, buf, len, err, sizeof(err)) ==
	    -1) {
		conf_error(errs, at, "%s", err);
		return -1;
	}
	return 0;
}

struct conf_tree *
conf_parse_string(const char *name, const char *text, size_t len,
    struct conf_errors *errs)
{
	struct conf_tree *tree = xcalloc(1, sizeof(*tree));
	size_t before = errs->n + errs->dropped;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if ((tree->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(tree->md, EVP_sha256(), NULL) != 1)
		fatalx("conf: cannot start SHA-256");
	if (len > CONF_FILE_MAX) {
		struct conf_pos pos = { name, 1, 1 };

		conf_error(errs, &pos, "larger than %d bytes", CONF_FILE_MAX);
		conf_tree_free(tree);
		return NULL;
	}
	if (parse_text(tree, &tree->root, name, text, len, errs, 0, 0) == -1 ||
	    errs->n + errs->dropped != before) {
		conf_tree_free(tree);
		return NULL;
	}
	if (EVP_DigestFinal_ex(tree->md, md, &mdlen) != 1)
		fatalx("conf: cannot finish SHA-256");
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(tree->sha256 + 2 * i, 3, "%02x", md[i]);
	return tree;
}

struct conf_tree *
conf_parse_file(const char *path, struct conf_errors *errs)
{
	struct conf_tree *tree;
	char *buf;
	size_t len;

	if (read_file(path, &buf, &len, errs, NULL) == -1)
		return NULL;
	tree = conf_parse_string(path, buf, len, errs);
	free(buf);
	return tree;
}
