/*
 * Audit search and exports in the console. The files are scanned first,
 * the search or export is then recorded by mwgd (console-note naming the
 * console user, the filter and the count), and only then shown: if mwgd
 * cannot record it, nothing is shown, as with mwgctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "audit/audit.h"
#include "common/xmalloc.h"
#include "console/console.h"
#include "console/pages.h"

/* The search fields, as typed (for the form and the note). */
struct audit_form {
	const char *user, *practice, *event, *outcome, *since, *until;
	const char *format;
	int page;
};

static const char *
field(struct evkeyvalq *q, const char *key)
{
	const char *v = evhttp_find_header(q, key);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Form into filter; NULL, or what is wrong (shown to the person). */
static const char *
audit_parse(struct evkeyvalq *q, struct audit_form *af, struct search_q *sq)
{
	const char *keys[] = { "user", "practice", "event", "outcome", "since",
	    "until", "format" };
	const char **vals[] = { &af->user, &af->practice, &af->event,
	    &af->outcome, &af->since, &af->until, &af->format };
	const char *page = field(q, "page");
	char *end;

	memset(sq, 0, sizeof(*sq));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		*vals[i] = field(q, keys[i]);
		if (*vals[i] != NULL && strlen(*vals[i]) > CONSOLE_FIELD_MAX)
			return "a search field is too long";
	}
	af->page = page ? (int)strtol(page, &end, 10) : 0;
	if (page && (*end != '\0' || af->page < 0 ||
	    af->page >= CONSOLE_PAGES_MAX))
		return "page must be a number from 0 to 199";
	if (af->outcome && strcmp(af->outcome, "success") &&
	    strcmp(af->outcome, "failure") && strcmp(af->outcome, "unknown"))
		return "outcome is success, failure or unknown";
	if (af->since && audit_parse_time(af->since, &sq->f.since) == -1)
		return "since: a date (2026-11-25) or a UTC time "
		    "(2026-11-25T10:00:00Z)";
	if (af->until && audit_parse_time(af->until, &sq->f.until) == -1)
		return "until: a date (2026-11-25) or a UTC time "
		    "(2026-11-25T10:00:00Z)";
	if (sq->f.since && sq->f.until && sq->f.since >= sq->f.until)
		return "since must be before until";
	sq->f.user = af->user;
	sq->f.practice = af->practice;
	sq->f.event = af->event;
	sq->outcome = af->outcome;
	sq->page = af->page;
	return NULL;
}

static json_t *
audit_filter_json(const struct audit_form *af)
{
	json_t *f = json_object();

	if (af->user)
		json_object_set_new(f, "user", json_string(af->user));
	if (af->practice)
		json_object_set_new(f, "practice", json_string(af->practice));
	if (af->event)
		json_object_set_new(f, "event", json_string(af->event));
	if (af->outcome)
		json_object_set_new(f, "outcome", json_string(af->outcome));
	if (af->since)
		json_object_set_new(f, "since", json_string(af->since));
	if (af->until)
		json_object_set_new(f, "until", json_string(af->until));
	return f;
}

static void
input(struct evbuffer *b, const char *label, const char *name,
    const char *value, const char *extra)
{
	evbuffer_add_printf(b, "<label>%s <input name=\"%s\" %s value=\"",
	    label, name, extra);
	html_esc(b, value);
	evbuffer_add_printf(b, "\"></label> ");
}

static void
search_form(struct evbuffer *b, const struct audit_form *af)
{
	evbuffer_add_printf(b, "<form method=\"get\" action=\"/audit\" "
	    "id=\"search\" class=\"fields\">");
	input(b, "person", "user", af->user, "maxlength=\"128\"");
	input(b, "practice", "practice", af->practice, "maxlength=\"128\"");
	input(b, "event", "event", af->event, "maxlength=\"128\" "
	    "placeholder=\"tunnel. or auth.login\"");
	input(b, "outcome", "outcome", af->outcome, "maxlength=\"16\" "
	    "placeholder=\"success / failure\"");
	input(b, "since", "since", af->since, "maxlength=\"40\" "
	    "placeholder=\"2026-11-25\"");
	input(b, "until", "until", af->until, "maxlength=\"40\"");
	evbuffer_add_printf(b, "<button type=\"submit\">Search</button>"
	    "</form>\n");
}

/* One record: the usual columns, and every field under details. */
static void
record_row(struct evbuffer *b, const char *line)
{
	json_t *rec = json_loads(line, 0, NULL), *v;
	const char *k;

	if (!json_is_object(rec)) {
		json_decref(rec);
		return;
	}
	evbuffer_add_printf(b, "<tr>");
	cell(b, rec, "seq");
	cell(b, rec, "@timestamp");
	cell(b, rec, "event.action");
	cell(b, rec, "event.outcome");
	cell(b, rec, "user.name");
	cell(b, rec, "device.id");
	cell(b, rec, "organization.id");
	cell(b, rec, "destination.address");
	/* The fields on a row of their own: whole width, even on a tablet. */
	evbuffer_add_printf(b, "</tr>\n<tr class=\"fields\"><td colspan=\"8\">"
	    "<details><summary>all fields of seq ");
	evbuffer_add_printf(b, "%lld", (long long)json_integer_value(
	    json_object_get(rec, "seq")));
	evbuffer_add_printf(b, "</summary><dl>");
	json_object_foreach(rec, k, v) {
		char *text = json_is_string(v) ? NULL : json_dumps(v,
		    JSON_ENCODE_ANY | JSON_COMPACT);

		evbuffer_add_printf(b, "<dt>");
		html_esc(b, k);
		evbuffer_add_printf(b, "</dt><dd>");
		html_esc(b, text ? text : json_string_value(v));
		evbuffer_add_printf(b, "</dd>");
		free(text);
	}
	evbuffer_add_printf(b, "</dl></details></td></tr>\n");
	json_decref(rec);
}

/* A search's results, kept until mwgd has recorded it. */
struct results {
	struct audit_form af;
	struct evkeyvalq q;	/* owns the strings af points at */
	unsigned long long total;
	char **lines;
	size_t nlines;
	char verify[1200];
	double seconds;
};

static void
results_free(struct results *r)
{
	for (size_t i = 0; i < r->nlines; i++)
		free(r->lines[i]);
	free(r->lines);
	evhttp_clear_headers(&r->q);
	free(r);
}

static void
page_link(struct evbuffer *b, const struct audit_form *af, int page,
    const char *text)
{
	const char *keys[] = { "user", "practice", "event", "outcome", "since",
	    "until" };
	const char *vals[] = { af->user, af->practice, af->event, af->outcome,
	    af->since, af->until };
	char *enc;

	evbuffer_add_printf(b, "<a href=\"/audit?page=%d", page);
	for (size_t i = 0; i < 6; i++) {
		if (vals[i] == NULL)
			continue;
		enc = evhttp_encode_uri(vals[i]);
		evbuffer_add_printf(b, "&amp;%s=", keys[i]);
		html_esc(b, enc);
		free(enc);
	}
	evbuffer_add_printf(b, "\">%s</a> ", text);
}

static void
audit_results(struct evbuffer *b, struct results *r)
{
	unsigned long long first = (unsigned long long)r->af.page *
	    CONSOLE_PAGE;

	evbuffer_add_printf(b, "<p id=\"verify\" class=\"%s\">Chain: ",
	    strncmp(r->verify, "OK", 2) == 0 ? "ok" : "error");
	html_esc(b, r->verify);
	evbuffer_add_printf(b, "</p><p id=\"count\">%llu matching records "
	    "(%.3f s); showing %llu to %llu, newest first.</p>", r->total,
	    r->seconds, r->nlines ? first + 1 : 0, first + r->nlines);
	if (r->af.page > 0)
		page_link(b, &r->af, r->af.page - 1, "newer");
	if (first + r->nlines < r->total &&
	    r->af.page + 1 < CONSOLE_PAGES_MAX)
		page_link(b, &r->af, r->af.page + 1, "older");
	evbuffer_add_printf(b, "<table id=\"records\"><thead><tr><th>seq</th>"
	    "<th>time</th><th>action</th><th>outcome</th><th>person</th>"
	    "<th>device</th><th>practice</th><th>target</th></tr></thead>"
	    "<tbody>\n");
	for (size_t i = 0; i < r->nlines; i++)
		record_row(b, r->lines[i]);
	evbuffer_add_printf(b, "</tbody></table>");
}

static void
audit_noted_cb(json_t *ans, const char *err, void *arg)
{
	struct pend *p = arg;
	struct results *r = (struct results *)(void *)p->data;
	struct console_session s;
	struct evbuffer *b;

	p->data = NULL;
	if (!json_is_true(json_object_get(ans, "ok"))) {
		results_free(r);
		pend_fail(p, "this search could not be recorded in the audit "
		    "trail, so nothing is shown");
		return;
	}
	pend_session(p, &s);
	b = evbuffer_new();
	html_head(b, "Audit search", &s);
	search_form(b, &r->af);
	audit_results(b, r);
	html_foot(b);
	http_send(p->req, 200, b);
	results_free(r);
	free(p);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
page_audit(struct evhttp_request *req, struct console_session *s)
{
	struct results *r = xcalloc(1, sizeof(*r));
	struct search_q sq;
	const char *bad;
	char err[512], **files;
	size_t nfiles;
	struct pend *p;
	double t0;

	if (http_query(req, &r->q) == -1 ||
	    (bad = audit_parse(&r->q, &r->af, &sq)) != NULL) {
		results_free(r);
		http_refuse(req, 400, "the search is not valid", s);
		return;
	}
	if (evhttp_find_header(&r->q, "page") == NULL && TAILQ_EMPTY(&r->q)) {
		/* The empty form: nothing searched, nothing recorded. */
		struct evbuffer *b = evbuffer_new();

		html_head(b, "Audit search", s);
		search_form(b, &r->af);
		html_foot(b);
		http_send(req, 200, b);
		results_free(r);
		return;
	}
	files = search_files(&nfiles);
	t0 = now_s();
	if (search_run(files, nfiles, &sq, &r->total, &r->lines, &r->nlines,
	    err, sizeof(err)) == -1) {
		search_files_free(files, nfiles);
		results_free(r);
		http_refuse(req, 500, err, s);
		return;
	}
	r->seconds = now_s() - t0;
	search_verify(files, nfiles, r->verify, sizeof(r->verify));
	search_files_free(files, nfiles);
	p = pend_new(req, s);
	p->data = (json_t *)(void *)r;
	/* A search naming a person is a view of that person's records. */
	note_send(p, r->af.user ? "console.view" : "console.search", "success",
	    json_pack("{s:o, s:I, s:i}", "audit.filter",
	    audit_filter_json(&r->af), "audit.records", (json_int_t)r->total,
	    "console.page", r->af.page), audit_noted_cb);
}

/* ---- exports ------------------------------------------------------------ */

void
page_exports(struct evhttp_request *req, struct console_session *s)
{
	struct evbuffer *b = evbuffer_new();

	html_head(b, "Exports", s);
	evbuffer_add_printf(b, "<p>The same bytes as <code>mwgctl audit export"
	    "</code>: for a practice's data protection officer, or a "
	    "person's subject access request. Every export is recorded.</p>"
	    "<form method=\"get\" action=\"/export\" id=\"export\" class=\""
	    "fields\"><label>practice <input name=\"practice\" maxlength=\""
	    "128\"></label> <label>or person <input name=\"user\" maxlength="
	    "\"128\"></label> <label>since <input name=\"since\" maxlength=\""
	    "40\" placeholder=\"2026-11-01\"></label> <label>until <input "
	    "name=\"until\" maxlength=\"40\"></label> <label>format <select "
	    "name=\"format\"><option>csv</option><option>jsonl</option>"
	    "</select></label> <button type=\"submit\">Download</button>"
	    "</form>");
	html_foot(b);
	http_send(req, 200, b);
}

static void
export_noted_cb(json_t *ans, const char *err, void *arg)
{
	struct pend *p = arg;
	int fd = p->flag;
	struct evbuffer *b;
	struct evkeyvalq *h;
	struct stat sb;
	char disp[160];
	const char *name = json_string_value(json_object_get(p->data, "name"));
	int csv = json_is_true(json_object_get(p->data, "csv"));

	if (!json_is_true(json_object_get(ans, "ok")) || fstat(fd, &sb) ==
	    -1) {
		close(fd);
		json_decref(p->data);
		p->data = NULL;
		pend_fail(p, "this export could not be recorded in the audit "
		    "trail, so nothing is exported");
		return;
	}
	b = evbuffer_new();
	/* The file is unlinked already: the buffer reads it and closes it. */
	if (sb.st_size == 0)
		close(fd);
	else
		evbuffer_add_file(b, fd, 0, sb.st_size);
	http_headers(p->req);
	h = evhttp_request_get_output_headers(p->req);
	evhttp_add_header(h, "Content-Type", csv ? "text/csv; charset=utf-8" :
	    "application/x-ndjson");
	snprintf(disp, sizeof(disp), "attachment; filename=\"mwg-audit-%s.%s\"",
	    name, csv ? "csv" : "jsonl");
	evhttp_add_header(h, "Content-Disposition", disp);
	evhttp_send_reply(p->req, 200, "OK", b);
	evbuffer_free(b);
	json_decref(p->data);
	free(p);
}

/* A name for the file: the practice or person, letters and digits only. */
static void
export_name(const char *who, char *buf, size_t len)
{
	size_t k = 0;

	for (; who && *who && k + 1 < len && k < 40; who++)
		if ((*who >= 'a' && *who <= 'z') || (*who >= 'A' &&
		    *who <= 'Z') || (*who >= '0' && *who <= '9') || *who == '-')
			buf[k++] = *who;
	buf[k] = '\0';
	if (k == 0)
		snprintf(buf, len, "export");
}

void
page_export(struct evhttp_request *req, struct console_session *s)
{
	struct audit_form af;
	struct search_q sq;
	struct evkeyvalq q;
	char err[512], name[48], tmpl[] = "/tmp/mwg-console-export.XXXXXX";
	unsigned long long count;
	char **files;
	size_t nfiles;
	struct pend *p;
	int fd, csv, rc;

	if (http_query(req, &q) == -1 || audit_parse(&q, &af, &sq) != NULL ||
	    (af.practice == NULL) == (af.user == NULL) || af.event ||
	    af.outcome || (af.format && strcmp(af.format, "csv") &&
	    strcmp(af.format, "jsonl"))) {
		evhttp_clear_headers(&q);
		http_refuse(req, 400, "give a practice or a person (one of "
		    "them), optional since and until, and format csv or jsonl",
		    s);
		return;
	}
	csv = af.format == NULL || strcmp(af.format, "csv") == 0;
	if ((fd = mkostemp(tmpl, O_CLOEXEC)) == -1) {
		evhttp_clear_headers(&q);
		http_refuse(req, 500, "cannot make a temporary file", s);
		return;
	}
	unlink(tmpl);
	files = search_files(&nfiles);
	rc = search_export(files, nfiles, &sq.f, csv, fd, &count, err,
	    sizeof(err));
	search_files_free(files, nfiles);
	if (rc == -1) {
		close(fd);
		evhttp_clear_headers(&q);
		http_refuse(req, 500, err, s);
		return;
	}
	export_name(af.practice ? af.practice : af.user, name, sizeof(name));
	p = pend_new(req, s);
	p->flag = fd;
	p->data = json_pack("{s:s, s:b}", "name", name, "csv", csv);
	note_send(p, "console.export", "success", json_pack("{s:o, s:I, s:s}",
	    "audit.filter", audit_filter_json(&af), "audit.records",
	    (json_int_t)count, "console.format", csv ? "csv" : "jsonl"),
	    export_noted_cb);
	evhttp_clear_headers(&q);
}
