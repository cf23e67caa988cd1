/*
 * The audit files, read as mwgctl reads them (audit/ library): search with
 * paging from the newest, export with the same bytes as mwgctl audit
 * export, and the chain's verify status, cached while the files are
 * unchanged. A cheap text test skips most lines before JSON parsing.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "audit/audit_format.h"
#include "common/xmalloc.h"
#include "console/console.h"

char **
search_files(size_t *n)
{
	char pattern[4096], **files;
	glob_t g;
	size_t k = 0;

	snprintf(pattern, sizeof(pattern), "%s.*", console_conf.audit);
	if (glob(pattern, 0, NULL, &g) != 0)
		g.gl_pathc = 0;
	files = xcalloc(g.gl_pathc + 1, sizeof(*files));
	/* Rotated files are named by time stamp: sorted, oldest first. */
	for (size_t i = 0; i < g.gl_pathc && k < CONSOLE_FILES_MAX; i++)
		if (strstr(g.gl_pathv[i] + strlen(console_conf.audit),
		    "tmp") == NULL)
			files[k++] = xstrdup(g.gl_pathv[i]);
	if (g.gl_pathc)
		globfree(&g);
	files[k++] = xstrdup(console_conf.audit);
	*n = k;
	return files;
}

void
search_files_free(char **files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
}

/*
 * "value" as it must stand in the line for value to match: only for
 * names whose JSON text is the name itself; else "" (no shortcut).
 */
static void
needle(const char *value, char *buf, size_t len)
{
	buf[0] = '\0';
	if (value == NULL || strlen(value) + 3 > len ||
	    value[strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
	    "QRSTUVWXYZ0123456789._-@")] != '\0')
		return;
	snprintf(buf, len, "\"%s\"", value);
}

struct scan {
	const struct audit_filter *f;
	const char *outcome;
	char user[CONSOLE_FIELD_MAX + 3], practice[CONSOLE_FIELD_MAX + 3];
};

/* The parsed record if line matches, else NULL. */
static json_t *
scan_match(const struct scan *s, const char *line, size_t n)
{
	const char *o;
	json_t *rec;

	if (n == 0 || line[n - 1] != '\n')
		return NULL;
	if (s->user[0] && strstr(line, s->user) == NULL)
		return NULL;
	if (s->practice[0] && strcasestr(line, s->practice) == NULL)
		return NULL;
	if ((rec = json_loadb(line, n - 1, 0, NULL)) == NULL)
		return NULL;
	o = json_string_value(json_object_get(rec, "event.outcome"));
	if (!json_is_object(rec) || !audit_filter_match(s->f, rec) ||
	    (s->outcome && (o == NULL || strcmp(o, s->outcome) != 0))) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

static void
scan_init(struct scan *s, const struct audit_filter *f, const char *outcome)
{
	s->f = f;
	s->outcome = outcome;
	needle(f->user, s->user, sizeof(s->user));
	needle(f->practice, s->practice, sizeof(s->practice));
}

/* Calls fn for every matching line of every file. */
static int
scan_all(char **files, size_t nfiles, const struct scan *s,
    int (*fn)(json_t *, const char *, size_t, void *), void *arg, char *err,
    size_t errlen)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	json_t *rec;
	FILE *fp;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < nfiles; i++) {
		if ((fp = fopen(files[i], "re")) == NULL) {
			snprintf(err, errlen, "cannot open %s: %s", files[i],
			    strerror(errno));
			rc = -1;
			break;
		}
		while (rc == 0 && (n = getline(&buf, &cap, fp)) != -1) {
			if ((rec = scan_match(s, buf, (size_t)n)) == NULL)
				continue;
			rc = fn(rec, buf, (size_t)n, arg);
			json_decref(rec);
		}
		if (ferror(fp)) {
			snprintf(err, errlen, "cannot read %s", files[i]);
			rc = -1;
		}
		fclose(fp);
	}
	free(buf);
	return rc;
}

/* The newest (page + 1) * CONSOLE_PAGE matches, in a ring. */
struct ring {
	char **slot;
	size_t size;
	unsigned long long seen;
};

static int
ring_add(json_t *rec, const char *line, size_t n, void *arg)
{
	struct ring *r = arg;
	size_t i = (size_t)(r->seen % r->size);

	(void)rec;
	free(r->slot[i]);
	r->slot[i] = xstrndup(line, n - 1);
	r->seen++;
	return 0;
}

int
search_run(char **files, size_t n, const struct search_q *q,
    unsigned long long *total, char ***lines, size_t *nlines, char *err,
    size_t errlen)
{
	struct ring r = { .size = (size_t)(q->page + 1) * CONSOLE_PAGE };
	struct scan s;
	size_t k = 0;

	scan_init(&s, &q->f, q->outcome);
	r.slot = xcalloc(r.size, sizeof(*r.slot));
	if (scan_all(files, n, &s, ring_add, &r, err, errlen) == -1) {
		for (size_t i = 0; i < r.size; i++)
			free(r.slot[i]);
		free(r.slot);
		return -1;
	}
	*total = r.seen;
	*lines = xcalloc(CONSOLE_PAGE, sizeof(**lines));
	/* Newest first: match number seen-1-page*PAGE downwards. */
	for (unsigned long long j = 0; j < CONSOLE_PAGE; j++) {
		unsigned long long idx = (unsigned long long)q->page *
		    CONSOLE_PAGE + j;

		if (idx >= r.seen)
			break;
		idx = r.seen - 1 - idx;
		(*lines)[k++] = r.slot[idx % r.size];
		r.slot[idx % r.size] = NULL;
	}
	for (size_t i = 0; i < r.size; i++)
		free(r.slot[i]);
	free(r.slot);
	*nlines = k;
	return 0;
}

struct export {
	FILE *out;
	int csv;
	unsigned long long count;
};

static int
export_one(json_t *rec, const char *line, size_t n, void *arg)
{
	struct export *e = arg;

	if (e->csv)
		audit_csv_row(e->out, rec);
	else
		fwrite(line, 1, n, e->out);
	e->count++;
	return ferror(e->out) ? -1 : 0;
}

int
search_export(char **files, size_t n, const struct audit_filter *f,
    int csv, int fd, unsigned long long *count, char *err, size_t errlen)
{
	struct export e = { .csv = csv };
	struct scan s;
	int rc;

	if ((e.out = fdopen(dup(fd), "w")) == NULL) {
		snprintf(err, errlen, "cannot write the export: %s",
		    strerror(errno));
		return -1;
	}
	scan_init(&s, f, NULL);
	if (csv)
		audit_csv_row(e.out, NULL);
	rc = scan_all(files, n, &s, export_one, &e, err, errlen);
	if (fclose(e.out) == EOF && rc == 0) {
		snprintf(err, errlen, "cannot write the export");
		rc = -1;
	}
	*count = e.count;
	return rc;
}

/* ---- verify status, cached ---------------------------------------------- */

static char verify_status[1200];
static unsigned long long verify_sig;	/* of the files it was made for */

static unsigned long long
files_sig(char **files, size_t n)
{
	unsigned long long h = 1469598103934665603ULL;
	struct stat sb;

	for (size_t i = 0; i < n; i++) {
		if (stat(files[i], &sb) == -1)
			memset(&sb, 0, sizeof(sb));
		h = (h ^ (unsigned long long)sb.st_ino) * 1099511628211ULL;
		h = (h ^ (unsigned long long)sb.st_size) * 1099511628211ULL;
		h = (h ^ (unsigned long long)sb.st_mtim.tv_nsec) *
		    1099511628211ULL;
		h = (h ^ (unsigned long long)sb.st_mtim.tv_sec) *
		    1099511628211ULL;
	}
	return h;
}

const char *
search_verify(char **files, size_t n)
{
	unsigned long long sig = files_sig(files, n), redacted = 0;
	struct audit_verify_result r;
	char err[256];
	struct audit_key *pub;

	if (sig == verify_sig && verify_status[0] != '\0')
		return verify_status;
	if ((pub = audit_key_load(console_conf.audit_key, err,
	    sizeof(err))) == NULL) {
		snprintf(verify_status, sizeof(verify_status), "NOT CHECKED: "
		    "%s", err);
		return verify_status;
	}
	if (audit_verify2((const char *const *)files, n, pub, &r,
	    &redacted) == -1)
		snprintf(verify_status, sizeof(verify_status), "FAIL: %s:%llu: "
		    "seq %llu: %s", r.bad_file, r.bad_line, r.bad_seq,
		    r.reason);
	else
		snprintf(verify_status, sizeof(verify_status), "OK: %llu "
		    "records (seq %llu..%llu) in %zu files, %llu checkpoints, "
		    "sealed through seq %llu; %llu redacted", r.records,
		    r.first_seq, r.last_seq, n, r.checkpoints, r.sealed_seq,
		    redacted);
	audit_key_free(pub);
	verify_sig = sig;
	return verify_status;
}
