/*
 * File bundles (common/fbundle.h). Contents travel base64-encoded: a
 * configuration file need not be UTF-8, a JSON string must.
 */
#include "common/fbundle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/b64.h"
#include "common/xmalloc.h"

static json_t *recording;
static json_t *serving;

json_t *
fbundle_new(void)
{
	return json_pack("{s:{}, s:{}}", "files", "globs");
}

void
fbundle_record(json_t *b)
{
	recording = b;
}

void
fbundle_serve(json_t *b)
{
	serving = b;
}

static void
record_file(const char *path, const char *buf, size_t len)
{
	char *b64 = b64_encode(buf, len);

	json_object_set_new(json_object_get(recording, "files"), path,
	    json_string(b64));
	free(b64);
}

static int
serve_file(const char *path, size_t max, char **buf, size_t *len, char *err,
    size_t errlen)
{
	const char *b64 = json_string_value(json_object_get(
	    json_object_get(serving, "files"), path));

	if (b64 == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(ENOENT));
		return -1;
	}
	if ((*buf = (char *)b64_decode(b64, max, len)) == NULL) {
		snprintf(err, errlen, "%s: larger than %zu bytes or unreadable",
		    path, max);
		return -1;
	}
	return 0;
}

static int
read_fs(const char *path, size_t max, char **buf, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		fclose(f);
		return -1;
	}
	if ((size_t)st.st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		fclose(f);
		return -1;
	}
	*buf = xmalloc((size_t)st.st_size + 1);
	*len = fread(*buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		free(*buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	(*buf)[*len] = '\0';
	return 0;
}

int
fbundle_read(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen)
{
	if (serving)
		return serve_file(path, max, buf, len, err, errlen);
	if (read_fs(path, max, buf, len, err, errlen) == -1)
		return -1;
	if (recording)
		record_file(path, *buf, *len);
	return 0;
}

static int
serve_glob(const char *pattern, glob_t *g)
{
	json_t *list = json_object_get(json_object_get(serving, "globs"),
	    pattern), *v;
	size_t i, n = json_array_size(list);

	memset(g, 0, sizeof(*g));
	if (n == 0)
		return GLOB_NOMATCH;
	g->gl_pathv = xcalloc(n + 1, sizeof(char *));
	json_array_foreach(list, i, v)
		g->gl_pathv[g->gl_pathc++] = xstrdup(json_string_value(v) ?
		    json_string_value(v) : "");
	return 0;
}

int
fbundle_glob(const char *pattern, glob_t *g)
{
	json_t *list;
	int rc;

	if (serving)
		return serve_glob(pattern, g);
	rc = glob(pattern, GLOB_ERR, NULL, g);
	if (recording == NULL || (rc != 0 && rc != GLOB_NOMATCH))
		return rc;
	list = json_array();
	for (size_t i = 0; rc == 0 && i < g->gl_pathc; i++)
		json_array_append_new(list, json_string(g->gl_pathv[i]));
	json_object_set_new(json_object_get(recording, "globs"), pattern,
	    list);
	return rc;
}

int
fbundle_withhold(json_t *b, const char *path)
{
	json_t *w = json_object_get(b, "withheld");

	if (json_object_del(json_object_get(b, "files"), path) == -1)
		return 0;
	if (!json_is_array(w))
		json_object_set_new(b, "withheld", (w = json_array()));
	json_array_append_new(w, json_string(path));
	return 1;
}

int
fbundle_withheld(const char *path)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(serving, "withheld"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), path) == 0)
			return 1;
	return 0;
}

int
fbundle_valid(json_t *b)
{
	json_t *files = json_object_get(b, "files");
	json_t *globs = json_object_get(b, "globs"), *v, *p;
	json_t *held = json_object_get(b, "withheld");
	const char *k;
	size_t i;

	if (!json_is_object(files) || !json_is_object(globs) ||
	    (held != NULL && !json_is_array(held)))
		return 0;
	json_object_foreach(files, k, v)
		if (!json_is_string(v))
			return 0;
	json_object_foreach(globs, k, v) {
		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, i, p)
			if (!json_is_string(p))
				return 0;
	}
	return 1;
}
