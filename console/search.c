/*
 * The audit files, read as mwgctl reads them (audit/ library): search with
 * paging from the newest, export with the same bytes as mwgctl audit
 * export, and the chain's verify status, cached while the files are
 * unchanged. A cheap text test skips most lines before JSON parsing.
 */
#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "audit/audit_format.h"
#include "common/log.h"
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
 * The text shortcut. The writer serialises records compactly, so a field
 * stands in a line as "key":"value"; inside a string a quote is always
 * escaped, so that text cannot appear there. For values made only of
 * [A-Za-z0-9._@-] (nothing JSON escapes) a line can be decided without
 * parsing: 1 it matches, 0 it cannot match, -1 undecided (parse it).
 */
#define SAFE_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789._-@"
#define TS_LEN		19	/* 2026-11-25T10:00:00 */

struct scan {
	const struct audit_filter *f;
	const char *outcome;
	int can_text;		/* every filter value is SAFE_CHARS */
	char since[TS_LEN + 1], until[TS_LEN + 1];
};

static int
safe(const char *v)
{
	return v == NULL || (strlen(v) <= CONSOLE_FIELD_MAX &&
	    v[strspn(v, SAFE_CHARS)] == '\0');
}

static void
ts_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	buf[0] = '\0';
	if (t != 0 && gmtime_r(&t, &tm) != NULL)
		strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

static void
scan_init(struct scan *s, const struct audit_filter *f, const char *outcome)
{
	memset(s, 0, sizeof(*s));
	s->f = f;
	s->outcome = outcome;
	s->can_text = safe(f->user) && safe(f->practice) && safe(f->event) &&
	    safe(outcome);
	ts_text(f->since, s->since, sizeof(s->since));
	ts_text(f->until, s->until, sizeof(s->until));
	if ((f->since && s->since[0] == '\0') ||
	    (f->until && s->until[0] == '\0'))
		s->can_text = 0;
}

/*
 * Does key's value in line satisfy want (case-insensitively if icase; as
 * a prefix if prefix)? 1 yes, 0 no, -1 undecided.
 */
static int
text_field(const char *line, const char *key, const char *want, int icase,
    int prefix)
{
	char pat[64];
	size_t plen, wlen = strlen(want);
	const char *p;
	int seen = 0;

	plen = (size_t)snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	for (p = line; (p = strstr(p, pat)) != NULL; p += plen) {
		const char *v = p + plen;

		seen = 1;
		if ((icase ? strncasecmp(v, want, wlen) : strncmp(v, want,
		    wlen)) == 0 && (prefix || v[wlen] == '"'))
			return 1;
	}
	/* Not there in the writer's form: absent (no match) or odd (parse). */
	return seen || strstr(line, key) == NULL ? 0 : -1;
}

static int
text_time(const struct scan *s, const char *line)
{
	static const char pat[] = "\"@timestamp\":\"";
	const char *p = strstr(line, pat);

	if (s->since[0] == '\0' && s->until[0] == '\0')
		return 1;
	if (p == NULL)
		return -1;
	p += sizeof(pat) - 1;
	if (strspn(p, "0123456789-T:") < TS_LEN || p[10] != 'T')
		return -1;
	if (s->since[0] && strncmp(p, s->since, TS_LEN) < 0)
		return 0;
	if (s->until[0] && strncmp(p, s->until, TS_LEN) >= 0)
		return 0;
	return 1;
}

static int
text_match(const struct scan *s, const char *line, size_t n)
{
	const struct audit_filter *f = s->f;
	size_t elen = f->event ? strlen(f->event) : 0;
	int r, undecided = 0;

	if (!s->can_text || n < 4 || line[0] != '{' || line[n - 2] != '}')
		return -1;
	if (f->user && (r = text_field(line, "user.name", f->user, 0, 0)) < 1)
		return r;
	if (f->practice && (r = text_field(line, "organization.id",
	    f->practice, 1, 0)) < 1)
		return r;
	if (f->event && (r = text_field(line, "event.action", f->event, 0,
	    elen > 0 && f->event[elen - 1] == '.')) < 1)
		return r;
	if (s->outcome && (r = text_field(line, "event.outcome", s->outcome,
	    0, 0)) < 1)
		return r;
	if ((r = text_time(s, line)) == 0)
		return 0;
	undecided = r == -1;
	return undecided ? -1 : 1;
}

/* The full test on the parsed record: 1 matches (*recp set), else 0. */
static int
parse_match(const struct scan *s, const char *line, size_t n, json_t **recp)
{
	const char *o;
	json_t *rec;

	if ((rec = json_loadb(line, n - 1, 0, NULL)) == NULL)
		return 0;
	o = json_string_value(json_object_get(rec, "event.outcome"));
	if (!json_is_object(rec) || !audit_filter_match(s->f, rec) ||
	    (s->outcome && (o == NULL || strcmp(o, s->outcome) != 0))) {
		json_decref(rec);
		return 0;
	}
	*recp = rec;
	return 1;
}

/*
 * 1 if line matches; *recp is the parsed record when need_rec (else it
 * may stay NULL: a search counts without parsing when the text decides).
 */
static int
scan_match(const struct scan *s, const char *line, size_t n, int need_rec,
    json_t **recp)
{
	int r;

	*recp = NULL;
	if (n == 0 || line[n - 1] != '\n')
		return 0;
	if ((r = text_match(s, line, n)) == 0)
		return 0;
	if (r == 1 && !need_rec)
		return 1;
	return parse_match(s, line, n, recp);
}

/* Calls fn for every matching line of every file. */
static int
scan_all(char **files, size_t nfiles, const struct scan *s, int need_rec,
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
			if (!scan_match(s, buf, (size_t)n, need_rec, &rec))
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
	if (scan_all(files, n, &s, 0, ring_add, &r, err, errlen) == -1) {
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
	rc = scan_all(files, n, &s, 1, export_one, &e, err, errlen);
	if (fclose(e.out) == EOF && rc == 0) {
		snprintf(err, errlen, "cannot write the export");
		rc = -1;
	}
	*count = e.count;
	return rc;
}

/* ---- verify status, on a thread of its own -------------------------------- */

/*
 * Verifying a million records takes seconds, and the live file grows all
 * the time: a search never waits for it. A thread checks the chain when
 * the files have changed, at most every VERIFY_EVERY_S seconds; a page
 * shows the last finished check and says when it was made.
 */
#define VERIFY_EVERY_S	30

static pthread_mutex_t verify_lock = PTHREAD_MUTEX_INITIALIZER;
static char verify_status[1200];	/* the last finished check */
static time_t verify_at, verify_started;
static unsigned long long verify_sig;	/* of the files it checked */
static int verify_running;
static int verify_unjoined;		/* verify_thread is to be joined */
static pthread_t verify_thread;

struct verify_job {
	char **files;
	size_t n;
	unsigned long long sig;
};

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

static void
verify_text(struct verify_job *j, char *buf, size_t len)
{
	unsigned long long redacted = 0;
	struct audit_verify_result r;
	struct audit_key *pub;
	char err[256];

	if ((pub = audit_key_load(console_conf.audit_key, err,
	    sizeof(err))) == NULL) {
		snprintf(buf, len, "NOT CHECKED: %s", err);
		return;
	}
	if (audit_verify2((const char *const *)j->files, j->n, pub, &r,
	    &redacted) == -1)
		snprintf(buf, len, "FAIL: %s:%llu: seq %llu: %s", r.bad_file,
		    r.bad_line, r.bad_seq, r.reason);
	else
		snprintf(buf, len, "OK: %llu records (seq %llu..%llu) in %zu "
		    "files, %llu checkpoints, sealed through seq %llu; %llu "
		    "redacted", r.records, r.first_seq, r.last_seq, j->n,
		    r.checkpoints, r.sealed_seq, redacted);
	audit_key_free(pub);
}

static void *
verify_main(void *arg)
{
	struct verify_job *j = arg;
	char text[sizeof(verify_status)];

	time_t t0 = time(NULL);

	verify_text(j, text, sizeof(text));
	log_info("console: audit chain checked in %lld s: %.4s",
	    (long long)(time(NULL) - t0), text);
	pthread_mutex_lock(&verify_lock);
	snprintf(verify_status, sizeof(verify_status), "%s", text);
	verify_sig = j->sig;
	verify_at = time(NULL);
	verify_running = 0;
	pthread_mutex_unlock(&verify_lock);
	search_files_free(j->files, j->n);
	free(j);
	return NULL;
}

/* Starts a check of files if none runs and one is due. Lock held. */
static void
verify_start(char **files, size_t n, unsigned long long sig, time_t now)
{
	struct verify_job *j;

	if (verify_running || (verify_at != 0 && (sig == verify_sig ||
	    now - verify_started < VERIFY_EVERY_S)))
		return;
	if (verify_unjoined) {		/* finished: verify_running is 0 */
		pthread_join(verify_thread, NULL);
		verify_unjoined = 0;
	}
	j = xcalloc(1, sizeof(*j));
	j->files = xcalloc(n, sizeof(*j->files));
	for (size_t i = 0; i < n; i++)
		j->files[i] = xstrdup(files[i]);
	j->n = n;
	j->sig = sig;
	verify_started = now;
	verify_running = 1;
	if (pthread_create(&verify_thread, NULL, verify_main, j) == 0)
		verify_unjoined = 1;
	else {
		verify_running = 0;
		verify_started = 0;
		search_files_free(j->files, j->n);
		free(j);
	}
}

void
search_verify(char **files, size_t n, char *buf, size_t len)
{
	unsigned long long sig = files_sig(files, n);
	time_t now = time(NULL);
	char at[32];
	struct tm tm;

	pthread_mutex_lock(&verify_lock);
	verify_start(files, n, sig, now);
	if (verify_at == 0)
		snprintf(buf, len, "being checked; reload in a moment");
	else {
		gmtime_r(&verify_at, &tm);
		strftime(at, sizeof(at), "%H:%M:%SZ", &tm);
		snprintf(buf, len, "%s (checked at %s%s)", verify_status, at,
		    sig == verify_sig ? "" : "; newer records not yet "
		    "checked");
	}
	pthread_mutex_unlock(&verify_lock);
}

/* Waits for a check under way (at exit). */
void
search_verify_stop(void)
{
	int join;

	pthread_mutex_lock(&verify_lock);
	join = verify_unjoined;
	verify_unjoined = 0;
	pthread_mutex_unlock(&verify_lock);
	if (join)
		pthread_join(verify_thread, NULL);
}
