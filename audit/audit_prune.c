/*
 * Retention: cuts a rotated audit file at a signed checkpoint, so that
 * what remains starts with an anchor and still verifies on its own, and
 * replaces one practice's expired records with redaction stubs, so that
 * the others' stay verifiable (audit_format.h). The live file is refused:
 * mwgd holds its flock.
 */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"

#define PRUNE_SUFFIX	".prune-tmp"
#define PRUNE_COPY_BUF	65536
#define RETAIN_REASON_MAX 160	/* "retention: 24 months (ODS), ..." */
#define MONTHS_MAX	12000	/* a thousand years: beyond is a typo */

/* Writes the new file's bytes to out; returns the records changed
 * (0: leave the file alone), or -1 with errno or the rewrite's err. */
typedef long long (*fill_fn)(int in, int out, void *arg);

/* Which records a redaction replaces, and with what stated reason. */
struct redact_rule {
	const char *practice;	/* NULL: records no other rule names */
	time_t before;		/* 0: never (retained as long as any) */
	const char *reason;
	long long count;
};

struct redact {
	const char *path;
	unsigned long long line;
	struct redact_rule *rules;
	size_t nrules;
	char *err;
	size_t errlen;
};

/*
 * Finds the last checkpoint older than before that comes before the
 * first record which is not provably older (a newer one, or one whose
 * time cannot be read). Returns how many lines precede it and sets
 * *keep_off to its offset; 0 if there is no such checkpoint.
 */
static long long
find_cut(const char *path, int fd, time_t before, off_t *keep_off, char *err,
    size_t errlen)
{
	struct audit_filter older = { .until = before };
	long long idx = 0, cut = 0;
	off_t off = 0;
	char *buf = NULL;
	const char *action;
	size_t cap = 0;
	ssize_t n;
	json_t *rec;
	FILE *f;
	int dfd;

	*keep_off = 0;
	if ((dfd = dup(fd)) == -1 || (f = fdopen(dfd, "r")) == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	while ((n = getline(&buf, &cap, f)) != -1 && buf[n - 1] == '\n') {
		rec = json_loadb(buf, (size_t)n - 1, 0, NULL);
		if (!audit_filter_match(&older, rec)) {
			json_decref(rec);
			break;
		}
		action = json_string_value(json_object_get(rec,
		    "event.action"));
		if (action != NULL && strcmp(action, "audit.checkpoint") == 0) {
			cut = idx;
			*keep_off = off;
		}
		json_decref(rec);
		idx++;
		off += n;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		cut = -1;
	}
	free(buf);
	fclose(f);
	return cut;
}

static int
copy_tail(int in, off_t off, int out)
{
	char *buf = xmalloc(PRUNE_COPY_BUF);
	ssize_t n, w;
	int rc = 0;

	while ((n = pread(in, buf, PRUNE_COPY_BUF, off)) > 0) {
		for (ssize_t done = 0; done < n; done += w)
			if ((w = write(out, buf + done, (size_t)(n - done))) ==
			    -1) {
				free(buf);
				return -1;
			}
		off += n;
	}
	if (n == -1)
		rc = -1;
	free(buf);
	return rc;
}

struct prune_cut {
	off_t keep_off;
	long long removed;
};

static long long
prune_fill(int in, int out, void *arg)
{
	struct prune_cut *cut = arg;

	return copy_tail(in, cut->keep_off, out) == -1 ? -1 : cut->removed;
}

/* A rename is durable only once its directory is on disk. */
static int
fsync_dir(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd, rc;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/*
 * The new file: same owner and mode, what fill writes, on disk, renamed
 * into place. Returns what fill returned (0: nothing changed, the file
 * is left alone), or -1 with err.
 */
static long long
rewrite(const char *path, int fd, const struct stat *st, fill_fn fill,
    void *arg, char *err, size_t errlen)
{
	char *tmp = xasprintf("%s%s", path, PRUNE_SUFFIX);
	const char *what = "create";
	long long n = -1;
	int out;

	err[0] = '\0';
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (out == -1)
		goto fail;
	what = "set the owner and mode of";
	if ((st->st_uid != geteuid() || st->st_gid != getegid()) &&
	    fchown(out, st->st_uid, st->st_gid) == -1)
		goto fail;
	if (fchmod(out, st->st_mode & 07777) == -1)
		goto fail;
	what = "write";
	if ((n = fill(fd, out, arg)) <= 0 || fsync(out) == -1)
		goto fail;
	if (close(out) == -1) {
		out = -1;
		goto fail;
	}
	out = -1;
	what = "rename";
	if (rename(tmp, path) == -1)
		goto fail;
	free(tmp);
	if (fsync_dir(path) == -1) {
		snprintf(err, errlen, "rewrote %s, but cannot sync its "
		    "directory: %s", path, strerror(errno));
		return -1;
	}
	return n;
fail:
	if (n != 0 && err[0] == '\0')
		snprintf(err, errlen, "cannot %s %s: %s", what, tmp,
		    strerror(errno));
	if (out != -1)
		close(out);
	unlink(tmp);
	free(tmp);
	return n == 0 ? 0 : -1;
}

/*
 * Opens path and takes its lock, held until the new file is in place (no
 * second prune meanwhile); mwgd holds the live file's, so it is refused.
 * Returns the descriptor, or -1 with err.
 */
static int
open_rotated(const char *path, struct stat *st, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "%s is in use by mwgd: prune "
			    "rotated files only", path);
		else
			snprintf(err, errlen, "cannot lock %s: %s", path,
			    strerror(errno));
		close(fd);
		return -1;
	}
	if (fstat(fd, st) == -1) {
		snprintf(err, errlen, "cannot stat %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

long long
audit_prune(const char *path, time_t before, char *err, size_t errlen)
{
	struct prune_cut cut;
	struct stat st;
	int fd;

	if ((fd = open_rotated(path, &st, err, errlen)) == -1)
		return -1;
	cut.removed = find_cut(path, fd, before, &cut.keep_off, err, errlen);
	if (cut.removed > 0)
		cut.removed = rewrite(path, fd, &st, prune_fill, &cut, err,
		    errlen);
	close(fd);
	return cut.removed;
}

/* ---- redaction ---------------------------------------------------------- */

/*
 * The rule under which rec has expired, or NULL. Checkpoints never
 * expire (each seals all before it), nor do stubs (already redacted).
 */
static struct redact_rule *
expired_rule(const struct redact *r, json_t *rec)
{
	const char *org = json_string_value(json_object_get(rec,
	    "organization.id"));
	const char *action = json_string_value(json_object_get(rec,
	    "event.action"));
	struct redact_rule *rule = NULL, *fallback = NULL;
	struct audit_filter older = { 0 };

	if (!json_is_object(rec) || (action != NULL &&
	    (strcmp(action, "audit.checkpoint") == 0 ||
	    strcmp(action, AUDIT_REDACTED_ACTION) == 0)))
		return NULL;
	for (size_t i = 0; rule == NULL && i < r->nrules; i++) {
		if (r->rules[i].practice == NULL)
			fallback = fallback ? fallback : &r->rules[i];
		else if (org != NULL &&
		    strcasecmp(org, r->rules[i].practice) == 0)
			rule = &r->rules[i];
	}
	if (rule == NULL)
		rule = fallback;
	if (rule == NULL || rule->before == 0)
		return NULL;
	/* Only what is provably older: an unreadable time is kept. */
	older.until = rule->before;
	return audit_filter_match(&older, rec) ? rule : NULL;
}

/* Copies one line (with its '\n') or writes its stub: 0, 1 or -1. */
static int
redact_line(struct redact *r, const char *line, size_t n, FILE *o)
{
	char claimed[AUDIT_HASH_HEX + 1], computed[AUDIT_HASH_HEX + 1];
	struct redact_rule *rule = NULL;
	json_t *rec = NULL;
	char *stub;
	int rc;

	if (line[n - 1] == '\n')
		rec = json_loadb(line, n - 1, JSON_REJECT_DUPLICATES, NULL);
	if (rec == NULL || (rule = expired_rule(r, rec)) == NULL) {
		json_decref(rec);
		return fwrite(line, 1, n, o) == n ? 0 : -1;
	}
	/* A stub keeps the claimed hash: redacting an edited record would
	 * launder the edit, which is evidence. */
	if (audit_line_check(line, n - 1, claimed, computed) == -1 ||
	    strcmp(claimed, computed) != 0) {
		json_decref(rec);
		snprintf(r->err, r->errlen, "%s:%llu: record edited: hash does "
		    "not match; nothing redacted (see mwgctl audit verify)",
		    r->path, r->line);
		return -1;
	}
	stub = audit_redaction_stub(rec, rule->reason);
	json_decref(rec);
	if (stub == NULL) {
		snprintf(r->err, r->errlen, "%s:%llu: cannot make a stub of "
		    "this record; nothing redacted", r->path, r->line);
		return -1;
	}
	rc = fprintf(o, "%s\n", stub) < 0 ? -1 : 1;
	free(stub);
	if (rc == 1)
		rule->count++;
	return rc;
}

static long long
redact_fill(int in, int out, void *arg)
{
	struct redact *r = arg;
	FILE *f = NULL, *o = NULL;
	long long count = 0;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0, din, dout = -1;

	if ((din = dup(in)) == -1)
		return -1;
	if (lseek(din, 0, SEEK_SET) == -1 || (f = fdopen(din, "r")) == NULL) {
		close(din);
		return -1;
	}
	if ((dout = dup(out)) == -1 || (o = fdopen(dout, "w")) == NULL) {
		if (dout != -1)
			close(dout);
		fclose(f);
		return -1;
	}
	while (rc != -1 && (n = getline(&buf, &cap, f)) != -1) {
		r->line++;
		if ((rc = redact_line(r, buf, (size_t)n, o)) == 1)
			count++;
	}
	if (ferror(f))
		rc = -1;
	free(buf);
	fclose(f);
	if (fclose(o) == EOF)
		rc = -1;
	return rc == -1 ? -1 : count;
}

static long long
redact_file(const char *path, struct redact_rule *rules, size_t nrules,
    char *err, size_t errlen)
{
	struct redact r = { .path = path, .rules = rules, .nrules = nrules,
	    .err = err, .errlen = errlen };
	struct stat st;
	long long n;
	int fd;

	if ((fd = open_rotated(path, &st, err, errlen)) == -1)
		return -1;
	n = rewrite(path, fd, &st, redact_fill, &r, err, errlen);
	close(fd);
	return n;
}

long long
audit_redact(const char *path, const char *practice, time_t before,
    const char *reason, char *err, size_t errlen)
{
	struct redact_rule rule = { .practice = practice, .before = before,
	    .reason = reason };

	if (practice == NULL || *practice == '\0' || before == 0) {
		snprintf(err, errlen, "redact: a practice and a date are "
		    "needed");
		return -1;
	}
	if (strlen(reason) > AUDIT_REDACT_REASON_MAX) {
		snprintf(err, errlen, "redact: the reason is longer than %d "
		    "bytes", AUDIT_REDACT_REASON_MAX);
		return -1;
	}
	return redact_file(path, &rule, 1, err, errlen);
}

/* ---- retention ---------------------------------------------------------- */

static int
month_days(int year, int mon)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return days[mon] + (mon == 1 && leap);
}

time_t
audit_months_before(time_t now, unsigned months)
{
	struct tm tm;
	long long m;

	if (months > MONTHS_MAX || gmtime_r(&now, &tm) == NULL)
		return (time_t)-1;
	m = (long long)tm.tm_year * 12 + tm.tm_mon - months;
	/* Floor division: before 1900 tm_year is negative. */
	tm.tm_year = (int)(m >= 0 ? m / 12 : -((-m + 11) / 12));
	tm.tm_mon = (int)(m - (long long)tm.tm_year * 12);
	/* 31 August less six months is 28 February, not 3 March. */
	if (tm.tm_mday > month_days(tm.tm_year + 1900, tm.tm_mon))
		tm.tm_mday = month_days(tm.tm_year + 1900, tm.tm_mon);
	tm.tm_isdst = 0;
	return timegm(&tm);
}

/* Each rule's cut, and the longest retention; -1 with err if invalid. */
static int
retention_cuts(struct audit_retention *rules, size_t nrules, time_t now,
    unsigned *longest, char *err, size_t errlen)
{
	int has_default = 0;

	*longest = 0;
	for (size_t i = 0; i < nrules; i++) {
		rules[i].redacted = 0;
		rules[i].cut = audit_months_before(now, rules[i].months);
		if (rules[i].months == 0 || rules[i].cut == (time_t)-1) {
			snprintf(err, errlen, "retention of %u months is out "
			    "of range", rules[i].months);
			return -1;
		}
		if (rules[i].months > *longest)
			*longest = rules[i].months;
		has_default |= rules[i].practice == NULL;
	}
	if (!has_default) {
		snprintf(err, errlen, "retention: no default given");
		return -1;
	}
	return 0;
}

int
audit_retain(const char *path, struct audit_retention *rules,
    size_t nrules, time_t now, long long *removed, char *err, size_t errlen)
{
	struct redact_rule *rr;
	char (*why)[RETAIN_REASON_MAX], day[32];
	unsigned longest;
	long long n = 0;
	struct tm tm;

	*removed = 0;
	if (retention_cuts(rules, nrules, now, &longest, err, errlen) == -1)
		return -1;
	/* Whole records first: what every practice has let go of. */
	if ((*removed = audit_prune(path, audit_months_before(now, longest),
	    err, errlen)) == -1)
		return -1;
	rr = xcalloc(nrules, sizeof(*rr));
	why = xcalloc(nrules, sizeof(*why));
	for (size_t i = 0; i < nrules; i++) {
		rr[i].practice = rules[i].practice;
		if (rules[i].months == longest)
			continue;
		rr[i].before = rules[i].cut;
		gmtime_r(&rules[i].cut, &tm);
		strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(why[i], sizeof(why[i]), "retention: %u months (%s), "
		    "expired before %s", rules[i].months, rules[i].practice ?
		    rules[i].practice : "default", day);
		rr[i].reason = why[i];
		n++;
	}
	if (n > 0 && (n = redact_file(path, rr, nrules, err, errlen)) != -1)
		for (size_t i = 0; i < nrules; i++)
			rules[i].redacted = rr[i].count;
	free(rr);
	free(why);
	return n == -1 ? -1 : 0;
}
