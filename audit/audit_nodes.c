/*
 * Several gateway nodes' trails: which node a record and a file belong to
 * (observer.name), files sorted into one chain per node for verify, and
 * the chains' records merged in time order for query and export.
 */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"

/* The writer seals records of at most AUDIT_RECORD_MAX bytes. */
#define AUDIT_LINE_MAX		(AUDIT_RECORD_MAX + AUDIT_SEAL_EXTRA)
/* Read back from a file's end to find its node: two whole records. */
#define NODE_TAIL_MAX		(2 * (AUDIT_LINE_MAX + 1))
#define MERGE_TS_MAX		40	/* a writer's @timestamp is 24 */

int
audit_node_name_valid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > AUDIT_NODE_NAME_MAX ||
	    strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789", s[0]) == NULL)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_") == n;
}

/*
 * A record's node into name ("" if it names none). A name no writer
 * makes is kept recognisable but harmless for a terminal ('?' for each
 * byte that may not be in one); verify then refuses the record.
 */
static void
record_node(json_t *rec, char name[AUDIT_NODE_NAME_MAX + 1])
{
	const char *v = json_string_value(json_object_get(rec,
	    "observer.name"));
	size_t i;

	name[0] = '\0';
	if (v == NULL)
		return;
	for (i = 0; v[i] != '\0' && i < AUDIT_NODE_NAME_MAX; i++)
		name[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
		    "TUVWXYZ0123456789.-_", v[i]) != NULL ? v[i] : '?';
	name[i] = '\0';
	if (i == 0)
		snprintf(name, AUDIT_NODE_NAME_MAX + 1, "?");
}

/* The node of one line (without '\n'); 1 if it names one. */
static int
line_node(const char *line, size_t len, char name[AUDIT_NODE_NAME_MAX + 1])
{
	json_t *rec = json_loadb(line, len, 0, NULL);

	record_node(rec, name);
	json_decref(rec);
	return name[0] != '\0';
}

/* The last whole line in buf[0..n) that names a node; skip_first: the
 * buffer starts mid-line. 1 if found. */
static int
tail_node(const char *buf, size_t n, int skip_first,
    char name[AUDIT_NODE_NAME_MAX + 1])
{
	size_t end = n, start;

	/* A torn last line (no '\n') is no record. */
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	while (end > 0) {
		end--;		/* drop the '\n' */
		start = end;
		while (start > 0 && buf[start - 1] != '\n')
			start--;
		if (start == 0 && skip_first)
			return 0;
		if (end > start && line_node(buf + start, end - start, name))
			return 1;
		end = start;
	}
	return 0;
}

/*
 * The file's node: its last record that names one, found in the file's
 * tail; else its first record's. Records of one file are one node's, so
 * the ends suffice. 0 (name "" if none), or -1 with err.
 */
static int
file_node(const char *path, char name[AUDIT_NODE_NAME_MAX + 1], char *err,
    size_t errlen)
{
	char *buf = xmalloc(NODE_TAIL_MAX);
	struct stat sb;
	off_t from;
	ssize_t n;
	char *nl;
	int fd, rc = -1;

	name[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		goto out;
	}
	from = sb.st_size > (off_t)NODE_TAIL_MAX ?
	    sb.st_size - (off_t)NODE_TAIL_MAX : 0;
	if ((n = pread(fd, buf, NODE_TAIL_MAX, from)) == -1)
		goto fail;
	if (tail_node(buf, (size_t)n, from > 0, name)) {
		rc = 0;
		goto out;
	}
	if (from > 0 && (n = pread(fd, buf, NODE_TAIL_MAX, 0)) == -1)
		goto fail;
	if ((nl = memchr(buf, '\n', (size_t)n)) != NULL)
		line_node(buf, (size_t)(nl - buf), name);
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
out:
	if (fd != -1)
		close(fd);
	free(buf);
	return rc;
}

/* The chain of node name in chains[0..*n), added at the end if new. */
static struct audit_chain_files *
chain_for(struct audit_chain_files *chains, size_t *n, const char *name,
    size_t npaths)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(chains[i].node, name) == 0)
			return &chains[i];
	snprintf(chains[*n].node, sizeof(chains[*n].node), "%s", name);
	chains[*n].paths = xcalloc(npaths, sizeof(*chains[*n].paths));
	return &chains[(*n)++];
}

struct audit_chain_files *
audit_chains_group(const char *const *paths, size_t npaths, size_t *nchains,
    char *err, size_t errlen)
{
	char (*names)[AUDIT_NODE_NAME_MAX + 1];
	struct audit_chain_files *chains, *c;
	size_t n = 0, named = 0;

	names = xcalloc(npaths ? npaths : 1, sizeof(*names));
	for (size_t i = 0; i < npaths; i++)
		if (file_node(paths[i], names[i], err, errlen) == -1) {
			free(names);
			return NULL;
		}
	for (size_t i = 0; i < npaths; i++) {
		size_t j = 0;

		while (j < i && strcmp(names[j], names[i]) != 0)
			j++;
		named += j == i && names[i][0] != '\0';
	}
	chains = xcalloc(npaths + 1, sizeof(*chains));
	for (size_t i = 0; i < npaths; i++) {
		/* At most one node named: every file is its chain, as
		 * before node names (old files join the node's new ones). */
		c = chain_for(chains, &n, named <= 1 ? "" : names[i], npaths);
		c->paths[c->npaths++] = paths[i];
	}
	for (size_t i = 0; named == 1 && i < npaths; i++)
		if (names[i][0] != '\0')
			snprintf(chains[0].node, sizeof(chains[0].node), "%s",
			    names[i]);
	if (n == 0)
		chain_for(chains, &n, "", 1);
	free(names);
	*nchains = n;
	return chains;
}

void
audit_chains_free(struct audit_chain_files *chains, size_t nchains)
{
	if (chains == NULL)
		return;
	for (size_t i = 0; i < nchains; i++)
		free(chains[i].paths);
	free(chains);
}

/* ---- the merge ---------------------------------------------------------- */

/* One chain being read: its head line and where it sorts. */
struct merge_stream {
	const struct audit_chain_files *c;
	size_t file;			/* index into c->paths */
	FILE *f;
	unsigned long long lineno;
	char *buf;
	size_t cap;
	ssize_t len;
	json_t *rec;
	int has_head, done;
	/* The sort key: the head's, or for a line that is no record the
	 * last record's (so it comes out where it stood). */
	char ts[MERGE_TS_MAX];
	char node[AUDIT_NODE_NAME_MAX + 1];
	unsigned long long seq;
};

struct audit_merge {
	struct merge_stream *s;
	size_t n;
	ssize_t last;			/* the stream given out last, or -1 */
};

struct audit_merge *
audit_merge_new(const struct audit_chain_files *chains, size_t nchains)
{
	struct audit_merge *m = xcalloc(1, sizeof(*m));

	m->s = xcalloc(nchains ? nchains : 1, sizeof(*m->s));
	m->n = nchains;
	m->last = -1;
	for (size_t i = 0; i < nchains; i++) {
		m->s[i].c = &chains[i];
		snprintf(m->s[i].node, sizeof(m->s[i].node), "%s",
		    chains[i].node);
	}
	return m;
}

/* The head's sort key, from its record. */
static void
stream_key(struct merge_stream *s)
{
	const char *ts;
	json_int_t seq;

	if (s->rec == NULL)
		return;
	ts = json_string_value(json_object_get(s->rec, "@timestamp"));
	snprintf(s->ts, sizeof(s->ts), "%s", ts != NULL ? ts : "");
	record_node(s->rec, s->node);
	if (s->node[0] == '\0')
		snprintf(s->node, sizeof(s->node), "%s", s->c->node);
	seq = json_integer_value(json_object_get(s->rec, "seq"));
	s->seq = seq > 0 ? (unsigned long long)seq : 0;
}

/* Reads the stream's next line into its head: 0, or -1 with err. */
static int
stream_advance(struct merge_stream *s, char *err, size_t errlen)
{
	const char *path;

	json_decref(s->rec);
	s->rec = NULL;
	s->has_head = 0;
	while (!s->done) {
		if (s->f == NULL && s->file == s->c->npaths) {
			s->done = 1;
			break;
		}
		path = s->c->paths[s->file];
		if (s->f == NULL && (s->f = fopen(path, "re")) == NULL) {
			snprintf(err, errlen, "cannot open %s: %s", path,
			    strerror(errno));
			return -1;
		}
		if ((s->len = getline(&s->buf, &s->cap, s->f)) != -1) {
			s->lineno++;
			s->rec = s->buf[s->len - 1] == '\n' ? json_loadb(s->buf,
			    (size_t)s->len - 1, 0, NULL) : NULL;
			if (!json_is_object(s->rec)) {
				json_decref(s->rec);
				s->rec = NULL;
			}
			s->has_head = 1;
			stream_key(s);
			return 0;
		}
		if (ferror(s->f)) {
			snprintf(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
			return -1;
		}
		fclose(s->f);
		s->f = NULL;
		s->file++;
		s->lineno = 0;
	}
	return 0;
}

/* <0 if a's head comes out before b's. */
static int
stream_cmp(const struct merge_stream *a, const struct merge_stream *b)
{
	int c;

	if ((c = strcmp(a->ts, b->ts)) != 0)
		return c;
	if ((c = strcmp(a->node, b->node)) != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int
audit_merge_next(struct audit_merge *m, struct audit_merge_item *it,
    char *err, size_t errlen)
{
	struct merge_stream *s, *best = NULL;

	/* The line given out last is done with only now. */
	if (m->last >= 0 &&
	    stream_advance(&m->s[m->last], err, errlen) == -1)
		return -1;
	m->last = -1;
	for (size_t i = 0; i < m->n; i++) {
		s = &m->s[i];
		if (!s->has_head && !s->done &&
		    stream_advance(s, err, errlen) == -1)
			return -1;
		if (s->has_head && (best == NULL || stream_cmp(s, best) < 0))
			best = s;
	}
	if (best == NULL)
		return 0;
	m->last = best - m->s;
	it->rec = best->rec;
	it->line = best->buf;
	it->len = (size_t)best->len;
	it->chain = (size_t)(best - m->s);
	it->path = best->c->paths[best->file];
	it->lineno = best->lineno;
	return 1;
}

void
audit_merge_stop(struct audit_merge *m, size_t chain)
{
	struct merge_stream *s;

	if (chain >= m->n)
		return;
	s = &m->s[chain];
	if (m->last == (ssize_t)chain)
		m->last = -1;
	json_decref(s->rec);
	s->rec = NULL;
	s->has_head = 0;
	s->done = 1;
	if (s->f != NULL)
		fclose(s->f);
	s->f = NULL;
}

void
audit_merge_free(struct audit_merge *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		audit_merge_stop(m, i);
	for (size_t i = 0; i < m->n; i++)
		free(m->s[i].buf);
	free(m->s);
	free(m);
}
