/*
 * The audit reader: verify finds every tamper an attacker would try and
 * names the first bad record; the filter behind query and export; prune
 * leaves a file that still verifies. Chains are sealed here with
 * audit_seal, so these tests do not depend on the writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "unit.h"

#define MAXREC	32

struct rec {
	char *ts, *action, *fields;	/* fields: "" or "\"k\":v,..." */
	char *line;			/* sealed, with its '\n' */
	char hash[AUDIT_HASH_HEX + 1];
};

/* A chain as the writer would make it, record i having seq i + 1. */
struct chain {
	struct rec r[MAXREC];
	size_t n;
};

static char dir[PATH_MAX], keypath[PATH_MAX], otherpath[PATH_MAX];
static struct audit_key *key, *pub, *other;

static void
setup(void)
{
	char err[256], p[PATH_MAX];

	make_tmp_dir(dir, sizeof(dir), "mwg-areader");
	path_in(keypath, dir, "audit.key");
	path_in(otherpath, dir, "other.key");
	key = audit_key_load_or_create(keypath, err, sizeof(err));
	cr_assert_not_null(key, "%s", err);
	other = audit_key_load_or_create(otherpath, err, sizeof(err));
	cr_assert_not_null(other, "%s", err);
	path_in(p, dir, "audit.key.pub");
	pub = audit_key_load(p, err, sizeof(err));
	cr_assert_not_null(pub, "%s", err);
}

static void
teardown(void)
{
	audit_key_free(key);
	audit_key_free(other);
	audit_key_free(pub);
	remove_tree(dir);
}

static char *
xdup(const char *s)
{
	char *d = strdup(s);

	cr_assert_not_null(d);
	return d;
}

/* Seals record i of c from its parts, its seq and the prev given. */
static void
seal_rec(struct chain *c, size_t i, unsigned long long seq, const char *prev)
{
	struct rec *r = &c->r[i];
	char *body, *line;
	size_t cap, n;

	cr_assert(asprintf(&body, "{\"seq\":%llu,\"@timestamp\":\"%s\","
	    "\"event.action\":\"%s\",\"event.outcome\":\"success\"%s%s,"
	    "\"prev\":\"%s\"}", seq, r->ts, r->action, *r->fields ? "," : "",
	    r->fields, prev) > 0);
	cap = strlen(body) + AUDIT_SEAL_EXTRA;
	cr_assert_not_null(line = malloc(cap + 1));
	n = audit_seal(body, strlen(body), line, cap, r->hash);
	cr_assert_gt(n, 0);
	line[n] = '\0';
	free(body);
	free(r->line);
	r->line = line;
}

/* Reseals records from..n-1 with seq i + 1 and prev links, as an attacker
 * who knows the hash rule (but not the key) would. */
static void
chain_reseal(struct chain *c, size_t from)
{
	for (size_t i = from; i < c->n; i++)
		seal_rec(c, i, i + 1, i ? c->r[i - 1].hash : AUDIT_GENESIS);
}

/* Inserts a record at i (not sealed) and returns it. */
static struct rec *
chain_insert(struct chain *c, size_t i, const char *ts, const char *action,
    const char *fields)
{
	cr_assert_lt(c->n, MAXREC);
	memmove(&c->r[i + 1], &c->r[i], (c->n - i) * sizeof(c->r[0]));
	memset(&c->r[i], 0, sizeof(c->r[0]));
	c->r[i].ts = xdup(ts);
	c->r[i].action = xdup(action);
	c->r[i].fields = xdup(fields);
	c->n++;
	return &c->r[i];
}

static void
chain_push(struct chain *c, const char *ts, const char *action,
    const char *fields)
{
	chain_insert(c, c->n, ts, action, fields);
	chain_reseal(c, c->n - 1);
}

/* A checkpoint's fields for seq: signed by signer, naming named's id. */
static char *
checkpoint_fields(const struct audit_key *signer,
    const struct audit_key *named, unsigned long long seq, const char *prev)
{
	char text[200], sig[AUDIT_SIG_B64_MAX], id[AUDIT_KEY_ID_HEX + 1], *f;
	size_t n = audit_checkpoint_text(text, sizeof(text), seq - 1, prev);

	cr_assert_gt(n, 0);
	cr_assert_eq(audit_key_sign(signer, text, n, sig), 0);
	audit_key_id(named, id);
	cr_assert(asprintf(&f, "\"audit.key_id\":\"%s\",\"audit.signature\":"
	    "\"%s\"", id, sig) > 0);
	return f;
}

static void
chain_checkpoint(struct chain *c, const char *ts)
{
	char *f = checkpoint_fields(key, key, c->n + 1,
	    c->n ? c->r[c->n - 1].hash : AUDIT_GENESIS);

	chain_push(c, ts, "audit.checkpoint", f);
	free(f);
}

static void
chain_remove(struct chain *c, size_t i)
{
	free(c->r[i].ts);
	free(c->r[i].action);
	free(c->r[i].fields);
	free(c->r[i].line);
	memmove(&c->r[i], &c->r[i + 1], (c->n - i - 1) * sizeof(c->r[0]));
	c->n--;
}

static void
chain_free(struct chain *c)
{
	while (c->n > 0)
		chain_remove(c, c->n - 1);
}

/*
 * seq 1-4 on 1 January, checkpoint 5 on 2 January, 6-8 on 3 January,
 * checkpoint 9 on 1 February, 10-11 on 1 March.
 */
static void
standard_chain(struct chain *c)
{
	memset(c, 0, sizeof(*c));
	chain_push(c, "2026-01-01T00:00:01.000Z", "gateway.start", "");
	chain_push(c, "2026-01-01T00:00:02.000Z", "tunnel.open",
	    "\"user.name\":\"alice\",\"organization.id\":\"K84001\"");
	chain_push(c, "2026-01-01T00:00:03.000Z", "tunnel.close",
	    "\"user.name\":\"alice\",\"organization.id\":\"K84001\"");
	chain_push(c, "2026-01-01T00:00:04.000Z", "tunnel.deny",
	    "\"user.name\":\"bob\",\"organization.id\":\"K84002\"");
	chain_checkpoint(c, "2026-01-02T00:00:00.000Z");
	chain_push(c, "2026-01-03T00:00:01.000Z", "tunnel.open",
	    "\"user.name\":\"carol\",\"organization.id\":\"K84002\"");
	chain_push(c, "2026-01-03T00:00:02.000Z", "tunnel.close",
	    "\"user.name\":\"alice\",\"network.bytes_up\":81");
	chain_push(c, "2026-01-03T00:00:03.000Z", "tunnel.open",
	    "\"user.name\":\"dave\"");
	chain_checkpoint(c, "2026-02-01T00:00:00.000Z");
	chain_push(c, "2026-03-01T00:00:01.000Z", "tunnel.open",
	    "\"user.name\":\"erin\"");
	chain_push(c, "2026-03-01T00:00:02.000Z", "tunnel.close",
	    "\"user.name\":\"erin\"");
}

/* Writes records from..to-1 of c to dir/name; returns the path. */
static char *
write_part(char *path, const char *name, const struct chain *c, size_t from,
    size_t to)
{
	FILE *f;

	path_in(path, dir, name);
	cr_assert_not_null(f = fopen(path, "w"));
	for (size_t i = from; i < to; i++)
		cr_assert_eq(fputs(c->r[i].line, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
	return path;
}

static int
verify_one(const char *path, struct audit_verify_result *r)
{
	const char *paths[] = { path };

	return audit_verify(paths, 1, pub, r);
}

static void
expect_bad(const struct audit_verify_result *r, const char *file,
    unsigned long long seq, unsigned long long line, const char *reason)
{
	cr_expect_eq(r->ok, 0);
	cr_expect_eq(r->bad_seq, seq, "bad_seq %llu, want %llu (%s)",
	    r->bad_seq, seq, r->reason);
	cr_expect_eq(r->bad_line, line, "bad_line %llu, want %llu",
	    r->bad_line, line);
	cr_expect_str_eq(r->bad_file, file);
	cr_expect_str_eq(r->reason, reason);
}

Test(audit_reader, good_chain_verifies, .init = setup, .fini = teardown)
{
	struct audit_verify_result r;
	char path[PATH_MAX];
	struct chain c;

	standard_chain(&c);
	write_part(path, "a.jsonl", &c, 0, c.n);
	cr_assert_eq(verify_one(path, &r), 0, "%s", r.reason);
	cr_expect_eq(r.ok, 1);
	cr_expect_eq(r.records, 11);
	cr_expect_eq(r.checkpoints, 2);
	cr_expect_eq(r.first_seq, 1);
	cr_expect_eq(r.last_seq, 11);
	cr_expect_eq(r.sealed_seq, 8);
	cr_expect_eq(r.bad_seq, 0);
	cr_expect_str_eq(r.reason, "");
	chain_free(&c);
}

/* ---- tampering: each case changes the chain, verify names the first bad */

static void
edit_field(struct chain *c)
{
	char *p = strstr(c->r[6].line, "alice");	/* seq 7 */

	cr_assert_not_null(p);
	p[4] = 'x';
}

static void
delete_record(struct chain *c)
{
	chain_remove(c, 2);				/* seq 3 */
}

static void
insert_record(struct chain *c)
{
	/* Well formed, linked to seq 3 and numbered 4: only seq 4 after it
	 * gives it away. */
	chain_insert(c, 3, "2026-01-01T00:00:03.500Z", "tunnel.open",
	    "\"user.name\":\"mallory\"");
	seal_rec(c, 3, 4, c->r[2].hash);
}

static void
swap_records(struct chain *c)
{
	struct rec t = c->r[5];				/* seq 6 and 7 */

	c->r[5] = c->r[6];
	c->r[6] = t;
}

static void
torn_last_line(struct chain *c)
{
	char *l = c->r[c->n - 1].line;

	l[strlen(l) - 10] = '\0';
}

static void
replace_resealed(struct chain *c)
{
	free(c->r[2].fields);				/* seq 3 */
	c->r[2].fields = xdup("\"user.name\":\"mallory\"");
	seal_rec(c, 2, 3, c->r[1].hash);
}

static void
edit_and_reseal_onwards(struct chain *c)
{
	free(c->r[6].fields);				/* seq 7 */
	c->r[6].fields = xdup("\"user.name\":\"alice\","
	    "\"network.bytes_up\":1");
	chain_reseal(c, 6);	/* checkpoint 9 keeps its old signature */
}

static void
delete_and_renumber(struct chain *c)
{
	chain_remove(c, 2);
	chain_reseal(c, 2);
}

static void
forged_checkpoint(struct chain *c)
{
	free(c->r[8].fields);				/* seq 9 */
	c->r[8].fields = checkpoint_fields(other, key, 9, c->r[7].hash);
	chain_reseal(c, 8);
}

static void
garbage_line(struct chain *c)
{
	free(c->r[3].line);				/* seq 4 */
	c->r[3].line = xdup("this is not a record\n");
}

static const struct {
	const char *name;
	void (*tamper)(struct chain *);
	unsigned long long seq, line;
	const char *reason;
} tampers[] = {
	{ "edited field", edit_field, 7, 7,
	    "record edited: hash does not match" },
	{ "deleted record", delete_record, 3, 3,
	    "record missing or reordered: expected seq 3, found 4" },
	{ "inserted record", insert_record, 5, 5,
	    "record missing or reordered: expected seq 5, found 4" },
	{ "swapped records", swap_records, 6, 6,
	    "record missing or reordered: expected seq 6, found 7" },
	{ "truncated mid-line", torn_last_line, 11, 11, "torn last line" },
	{ "replaced and resealed", replace_resealed, 4, 4,
	    "chain broken: prev does not match the record before" },
	{ "edited, resealed to the end", edit_and_reseal_onwards, 9, 9,
	    "forged checkpoint: signature does not verify" },
	{ "deleted and renumbered", delete_and_renumber, 4, 4,
	    "forged checkpoint: signature does not verify" },
	{ "forged checkpoint", forged_checkpoint, 9, 9,
	    "forged checkpoint: signature does not verify" },
	{ "garbage line", garbage_line, 4, 4, "not a sealed audit record" },
};

Test(audit_reader, every_tamper_is_found, .init = setup, .fini = teardown)
{
	struct audit_verify_result r;
	char path[PATH_MAX];
	struct chain c;

	for (size_t i = 0; i < NELEM(tampers); i++) {
		standard_chain(&c);
		tampers[i].tamper(&c);
		write_part(path, "t.jsonl", &c, 0, c.n);
		cr_expect_eq(verify_one(path, &r), -1, "%s", tampers[i].name);
		cr_expect_eq(r.bad_seq, tampers[i].seq, "%s: bad_seq %llu",
		    tampers[i].name, r.bad_seq);
		cr_expect_eq(r.bad_line, tampers[i].line, "%s: line %llu",
		    tampers[i].name, r.bad_line);
		cr_expect_str_eq(r.bad_file, path, "%s", tampers[i].name);
		cr_expect_str_eq(r.reason, tampers[i].reason, "%s: %s",
		    tampers[i].name, r.reason);
		chain_free(&c);
	}
}

Test(audit_reader, checkpoint_of_another_key, .init = setup, .fini = teardown)
{
	char path[PATH_MAX], want[256], id[17], otherid[17];
	struct audit_verify_result r;
	struct chain c;

	standard_chain(&c);
	free(c.r[4].fields);				/* seq 5 */
	c.r[4].fields = checkpoint_fields(key, other, 5, c.r[3].hash);
	chain_reseal(&c, 4);
	write_part(path, "t.jsonl", &c, 0, c.n);
	cr_assert_eq(verify_one(path, &r), -1);
	audit_key_id(pub, id);
	audit_key_id(other, otherid);
	snprintf(want, sizeof(want), "forged checkpoint: key_id %s is not "
	    "the verifying key's %s", otherid, id);
	expect_bad(&r, path, 5, 5, want);
	chain_free(&c);
}

Test(audit_reader, wrong_key_fails_at_first_checkpoint, .init = setup,
    .fini = teardown)
{
	const char *paths[1];
	char path[PATH_MAX], pubpath[PATH_MAX], err[256], want[256], id[17],
	    otherid[17];
	struct audit_verify_result r;
	struct audit_key *otherpub;
	struct chain c;

	standard_chain(&c);
	paths[0] = write_part(path, "a.jsonl", &c, 0, c.n);
	path_in(pubpath, dir, "other.key.pub");
	otherpub = audit_key_load(pubpath, err, sizeof(err));
	cr_assert_not_null(otherpub, "%s", err);
	cr_assert_eq(audit_verify(paths, 1, otherpub, &r), -1);
	audit_key_id(key, id);
	audit_key_id(otherpub, otherid);
	snprintf(want, sizeof(want), "forged checkpoint: key_id %s is not "
	    "the verifying key's %s", id, otherid);
	expect_bad(&r, path, 5, 5, want);
	cr_expect_eq(r.records, 4);
	audit_key_free(otherpub);
	chain_free(&c);
}

/* ---- several files, and files that start with an anchor ------------- */

Test(audit_reader, files_in_chain_order, .init = setup, .fini = teardown)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *order[2], *wrong[2];
	struct audit_verify_result r;
	struct chain c;

	standard_chain(&c);
	/* Rotation: the new file starts with the checkpoint, seq 9. */
	order[0] = wrong[1] = write_part(a, "a.jsonl", &c, 0, 8);
	order[1] = wrong[0] = write_part(b, "b.jsonl", &c, 8, c.n);
	cr_assert_eq(audit_verify(order, 2, pub, &r), 0, "%s", r.reason);
	cr_expect_eq(r.records, 11);
	cr_expect_eq(r.first_seq, 1);
	cr_expect_eq(r.last_seq, 11);
	cr_expect_eq(r.checkpoints, 2);
	cr_expect_eq(r.sealed_seq, 8);
	cr_assert_eq(audit_verify(wrong, 2, pub, &r), -1);
	expect_bad(&r, a, 12, 1,
	    "record missing or reordered: expected seq 12, found 1");
	/* Only the first file of a chain may start it. */
	cr_assert_eq(audit_verify(order + 1, 1, pub, &r), 0, "%s", r.reason);
	chain_free(&c);
}

Test(audit_reader, file_starting_with_checkpoint_alone, .init = setup,
    .fini = teardown)
{
	struct audit_verify_result r;
	char path[PATH_MAX];
	struct chain c;

	standard_chain(&c);
	write_part(path, "b.jsonl", &c, 4, c.n);	/* from checkpoint 5 */
	cr_assert_eq(verify_one(path, &r), 0, "%s", r.reason);
	cr_expect_eq(r.records, 7);
	cr_expect_eq(r.first_seq, 5);
	cr_expect_eq(r.last_seq, 11);
	cr_expect_eq(r.checkpoints, 2);
	cr_expect_eq(r.sealed_seq, 8);
	/* Without a checkpoint a file cannot start in the middle. */
	write_part(path, "c.jsonl", &c, 5, c.n);
	cr_assert_eq(verify_one(path, &r), -1);
	expect_bad(&r, path, 1, 1, "chain has no start: expected seq 1 or a "
	    "signed checkpoint, found seq 6");
	/* An edited anchor is named by the seq it claims. */
	c.r[4].line[strlen(c.r[4].line) - 80] ^= 1;
	write_part(path, "d.jsonl", &c, 4, c.n);
	cr_assert_eq(verify_one(path, &r), -1);
	expect_bad(&r, path, 5, 1, "record edited: hash does not match");
	chain_free(&c);
}

Test(audit_reader, live_file_unsealed_tail_and_empty, .init = setup,
    .fini = teardown)
{
	struct audit_verify_result r;
	char path[PATH_MAX];
	struct chain c;

	standard_chain(&c);
	write_part(path, "a.jsonl", &c, 0, 4);		/* no checkpoint yet */
	cr_assert_eq(verify_one(path, &r), 0, "%s", r.reason);
	cr_expect_eq(r.records, 4);
	cr_expect_eq(r.checkpoints, 0);
	cr_expect_eq(r.sealed_seq, 0);
	write_part(path, "e.jsonl", &c, 0, 0);
	cr_assert_eq(verify_one(path, &r), 0, "%s", r.reason);
	cr_expect_eq(r.records, 0);
	path_in(path, dir, "missing.jsonl");
	cr_assert_eq(verify_one(path, &r), -1);
	expect_bad(&r, path, 1, 0, "cannot open: No such file or directory");
	chain_free(&c);
}

/* ---- the filter behind query and export ------------------------------ */

#define T_1000	1795600800	/* 2026-11-25T10:00:00Z */
#define T_NEXT	1795651200	/* 2026-11-26T00:00:00Z */

static const struct {
	struct audit_filter f;
	const char *rec;
	int want;
} filters[] = {
	{ { 0 }, "{\"seq\":1}", 1 },
	{ { 0 }, "[1]", 0 },
	{ { .user = "alice" }, "{\"user.name\":\"alice\"}", 1 },
	{ { .user = "alice" }, "{\"user.name\":\"Alice\"}", 0 },
	{ { .user = "alice" }, "{\"user.name\":\"alice2\"}", 0 },
	{ { .user = "alice" }, "{\"device.id\":\"alice\"}", 0 },
	{ { .user = "alice" }, "{\"user.name\":1}", 0 },
	{ { .practice = "k84001" }, "{\"organization.id\":\"K84001\"}", 1 },
	{ { .practice = "K84001" }, "{\"organization.id\":\"K84001\"}", 1 },
	{ { .practice = "K84001" }, "{\"organization.id\":\"K84002\"}", 0 },
	{ { .practice = "K84001" }, "{\"user.name\":\"K84001\"}", 0 },
	{ { .event = "tunnel.open" }, "{\"event.action\":\"tunnel.open\"}",
	    1 },
	{ { .event = "tunnel.open" }, "{\"event.action\":\"tunnel.opened\"}",
	    0 },
	{ { .event = "tunnel" }, "{\"event.action\":\"tunnel.open\"}", 0 },
	{ { .event = "tunnel." }, "{\"event.action\":\"tunnel.close\"}", 1 },
	{ { .event = "tunnel." }, "{\"event.action\":\"tunnelx.close\"}", 0 },
	{ { .event = "tunnel." }, "{\"event.action\":\"tunnel\"}", 0 },
	{ { .event = "tunnel." }, "{\"seq\":1}", 0 },
	{ { .since = T_1000 }, "{\"@timestamp\":\"2026-11-25T09:59:59.999Z\"}",
	    0 },
	{ { .since = T_1000 }, "{\"@timestamp\":\"2026-11-25T10:00:00.000Z\"}",
	    1 },
	{ { .since = T_1000 }, "{\"@timestamp\":\"2026-11-25T10:00:00Z\"}", 1 },
	{ { .until = T_1000 }, "{\"@timestamp\":\"2026-11-25T09:59:59.999Z\"}",
	    1 },
	{ { .until = T_1000 }, "{\"@timestamp\":\"2026-11-25T10:00:00.000Z\"}",
	    0 },
	{ { .since = T_1000, .until = T_NEXT },
	    "{\"@timestamp\":\"2026-11-25T23:59:59.999Z\"}", 1 },
	{ { .since = T_1000, .until = T_NEXT },
	    "{\"@timestamp\":\"2026-11-26T00:00:00.000Z\"}", 0 },
	{ { .since = T_1000 }, "{\"seq\":1}", 0 },
	{ { .since = T_1000 }, "{\"@timestamp\":\"2026-11-31T10:00:00.000Z\"}",
	    0 },
	{ { .since = T_1000 }, "{\"@timestamp\":\"2026-13-01T10:00:00.000Z\"}",
	    0 },
	{ { .since = T_1000 }, "{\"@timestamp\":\"2026-11-25T10:00:00.000\"}",
	    0 },
	{ { .since = T_1000 }, "{\"@timestamp\":\"2026-11-25 10:00:00.000Z\"}",
	    0 },
	{ { .user = "alice", .practice = "K84001" },
	    "{\"user.name\":\"alice\",\"organization.id\":\"K84002\"}", 0 },
	{ { .user = "alice", .practice = "K84001", .event = "tunnel.",
	    .since = T_1000, .until = T_NEXT },
	    "{\"user.name\":\"alice\",\"organization.id\":\"K84001\","
	    "\"event.action\":\"tunnel.open\","
	    "\"@timestamp\":\"2026-11-25T12:00:00.000Z\"}", 1 },
};

Test(audit_reader, filter_table)
{
	json_error_t jerr;
	json_t *rec;

	for (size_t i = 0; i < NELEM(filters); i++) {
		rec = json_loads(filters[i].rec, 0, &jerr);
		cr_assert_not_null(rec, "case %zu: %s", i, jerr.text);
		cr_expect_eq(audit_filter_match(&filters[i].f, rec),
		    filters[i].want, "case %zu: %s", i, filters[i].rec);
		json_decref(rec);
	}
	cr_expect_eq(audit_filter_match(&filters[0].f, NULL), 0);
}

/* ---- prune ------------------------------------------------------------ */

#define FEB_15		1771113600	/* 2026-02-15T00:00:00Z */
#define JAN_2_NOON	1767355200	/* 2026-01-02T12:00:00Z */
#define JAN_1_NOON	1767268800	/* 2026-01-01T12:00:00Z */

static char *
slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f, *m;
	int ch;

	cr_assert_not_null(f = fopen(path, "r"));
	cr_assert_not_null(m = open_memstream(&buf, &len));
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, m);
	fclose(f);
	cr_assert_eq(fclose(m), 0);
	return buf;
}

/* The records from..n-1 of c, concatenated. */
static char *
joined(const struct chain *c, size_t from)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	cr_assert_not_null(m = open_memstream(&buf, &len));
	for (size_t i = from; i < c->n; i++)
		fputs(c->r[i].line, m);
	cr_assert_eq(fclose(m), 0);
	return buf;
}

static void
expect_prune(const char *path, time_t before, long long removed,
    size_t kept_from, const struct chain *c)
{
	struct audit_verify_result r;
	char err[256] = "", *got, *want;
	struct stat st;

	cr_assert_eq(audit_prune(path, before, err, sizeof(err)), removed,
	    "%s", err);
	got = slurp(path);
	want = joined(c, kept_from);
	cr_expect_str_eq(got, want);
	free(got);
	free(want);
	cr_assert_eq(verify_one(path, &r), 0, "%s", r.reason);
	cr_expect_eq(r.first_seq, kept_from + 1);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0640);
}

Test(audit_reader, prune_cuts_at_a_checkpoint, .init = setup,
    .fini = teardown)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	struct chain c;

	standard_chain(&c);
	write_part(path, "p.jsonl", &c, 0, c.n);
	cr_assert_eq(chmod(path, 0640), 0);
	/* Nothing older than the first checkpoint can go: 0, untouched. */
	expect_prune(path, JAN_1_NOON, 0, 0, &c);
	/* Records 1-4 are older; checkpoint 5 anchors what is kept. */
	expect_prune(path, JAN_2_NOON, 4, 4, &c);
	/* Again later: 5-8 go, checkpoint 9 anchors. */
	expect_prune(path, FEB_15, 4, 8, &c);
	/* Everything expired: the last checkpoint stays as the anchor. */
	expect_prune(path, T_NEXT, 0, 8, &c);
	snprintf(tmp, sizeof(tmp), "%s.prune-tmp", path);
	cr_expect_eq(access(tmp, F_OK), -1);
	chain_free(&c);
}

Test(audit_reader, prune_without_checkpoint_removes_nothing, .init = setup,
    .fini = teardown)
{
	char path[PATH_MAX];
	struct chain c;

	standard_chain(&c);
	while (c.n > 4)
		chain_remove(&c, c.n - 1);
	write_part(path, "p.jsonl", &c, 0, c.n);
	cr_assert_eq(chmod(path, 0640), 0);
	expect_prune(path, T_NEXT, 0, 0, &c);
	chain_free(&c);
}

Test(audit_reader, prune_refuses_the_live_file, .init = setup,
    .fini = teardown)
{
	char path[PATH_MAX], err[PATH_MAX + 64], want[PATH_MAX + 64], *before,
	    *after;
	struct chain c;
	int fd;

	standard_chain(&c);
	write_part(path, "live.jsonl", &c, 0, c.n);
	cr_assert_neq(fd = open(path, O_WRONLY | O_APPEND), -1);
	cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);	/* as mwgd does */
	before = slurp(path);
	cr_assert_eq(audit_prune(path, FEB_15, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s is in use by mwgd: prune rotated "
	    "files only", path);
	cr_expect_str_eq(err, want);
	after = slurp(path);
	cr_expect_str_eq(after, before);
	close(fd);
	path_in(path, dir, "missing.jsonl");
	cr_assert_eq(audit_prune(path, FEB_15, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot open %s: No such file or "
	    "directory", path);
	cr_expect_str_eq(err, want);
	free(before);
	free(after);
	chain_free(&c);
}

/* ---- redaction stubs and retention per practice ------------------------- */

#define REASON		"retention test"
#define NOW_2027	1799971200	/* 2027-01-15T00:00:00Z */

/* The stub of record i of c, as audit_format.h defines it (with '\n'). */
static char *
want_stub(const struct chain *c, size_t i, const char *org,
    const char *reason)
{
	char *s, orgf[64] = "";

	if (org != NULL)
		snprintf(orgf, sizeof(orgf), ",\"organization.id\":\"%s\"", org);
	cr_assert(asprintf(&s, "{\"seq\":%zu,\"@timestamp\":\"%s\","
	    "\"event.action\":\"audit.redacted\",\"event.outcome\":\"unknown\""
	    "%s,\"audit.redacted_reason\":\"%s\",\"prev\":\"%s\","
	    "\"hash\":\"%s\"}\n", i + 1, c->r[i].ts, orgf, reason,
	    i ? c->r[i - 1].hash : AUDIT_GENESIS, c->r[i].hash) > 0);
	return s;
}

/* Puts line (taken) in place of record i's; its hash stays for prev. */
static void
replace_line(struct chain *c, size_t i, char *line)
{
	free(c->r[i].line);
	c->r[i].line = line;
}

/* standard_chain, then seq 12 of K84001 in March and checkpoint 13. */
static void
practice_chain(struct chain *c)
{
	standard_chain(c);
	chain_push(c, "2026-03-02T00:00:01.000Z", "tunnel.open",
	    "\"user.name\":\"frank\",\"device.id\":\"d-7\","
	    "\"source.ip\":\"192.0.2.7\",\"organization.id\":\"K84001\"");
	chain_checkpoint(c, "2026-03-03T00:00:00.000Z");
}

static void
expect_verifies(const char *path, unsigned long long records,
    unsigned long long redacted)
{
	const char *paths[] = { path };
	struct audit_verify_result r;
	unsigned long long n = ~0ULL;

	cr_assert_eq(audit_verify2(paths, 1, pub, &r, &n), 0, "%s", r.reason);
	cr_expect_eq(r.records, records);
	cr_expect_eq(n, redacted, "redacted %llu, want %llu", n, redacted);
	/* audit_verify is audit_verify2 without the count. */
	cr_expect_eq(verify_one(path, &r), 0);
}

Test(audit_reader, redact_one_practice_keeps_the_rest, .init = setup,
    .fini = teardown)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16], err[256] = "", *got, *want;
	struct audit_verify_result r;
	struct stat st;
	struct chain c;

	practice_chain(&c);
	write_part(path, "r.jsonl", &c, 0, c.n);
	cr_assert_eq(chmod(path, 0640), 0);
	/* seq 2 and 3 are K84001's before 15 February; seq 12 is later. */
	cr_assert_eq(audit_redact(path, "k84001", FEB_15, REASON, err,
	    sizeof(err)), 2, "%s", err);
	replace_line(&c, 1, want_stub(&c, 1, "K84001", REASON));
	replace_line(&c, 2, want_stub(&c, 2, "K84001", REASON));
	got = slurp(path);
	want = joined(&c, 0);
	/* Every other line, K84002's (seq 4, 6) included, byte for byte. */
	cr_expect_str_eq(got, want);
	cr_expect_not_null(strstr(got, c.r[3].line));
	cr_expect_not_null(strstr(got, c.r[5].line));
	free(got);
	expect_verifies(path, 13, 2);
	cr_assert_eq(verify_one(path, &r), 0);
	cr_expect_eq(r.checkpoints, 3);
	cr_expect_eq(r.sealed_seq, 12);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0640);
	snprintf(tmp, sizeof(tmp), "%s.prune-tmp", path);
	cr_expect_eq(access(tmp, F_OK), -1);
	/* Stubs are not redacted again; another practice: nothing of it. */
	cr_expect_eq(audit_redact(path, "K84001", FEB_15, REASON, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(audit_redact(path, "Y00001", T_NEXT, REASON, err,
	    sizeof(err)), 0, "%s", err);
	got = slurp(path);
	cr_expect_str_eq(got, want);
	free(got);
	free(want);
	/* A whole-record prune over stubs still leaves a verifying file. */
	cr_expect_eq(audit_prune(path, JAN_2_NOON, err, sizeof(err)), 4);
	expect_verifies(path, 9, 0);
	chain_free(&c);
}

Test(audit_reader, stub_at_the_end_verifies_and_is_counted, .init = setup,
    .fini = teardown)
{
	char path[PATH_MAX], err[256] = "", *got, *want, *h;
	struct chain c;

	practice_chain(&c);
	chain_remove(&c, c.n - 1);		/* seq 12 (K84001) is last */
	write_part(path, "r.jsonl", &c, 0, c.n);
	cr_assert_eq(audit_redact(path, "K84001", T_NEXT, REASON, err,
	    sizeof(err)), 3, "%s", err);
	replace_line(&c, 1, want_stub(&c, 1, "K84001", REASON));
	replace_line(&c, 2, want_stub(&c, 2, "K84001", REASON));
	replace_line(&c, 11, want_stub(&c, 11, "K84001", REASON));
	got = slurp(path);
	want = joined(&c, 0);
	cr_expect_str_eq(got, want);
	free(got);
	free(want);
	expect_verifies(path, 12, 3);
	/* Nothing follows it, so its hash is as unsealed as any record
	 * after the last checkpoint: altered, it still verifies. */
	h = &c.r[11].line[strlen(c.r[11].line) - 4];	/* last hex digit */
	*h = *h == '0' ? '1' : '0';
	write_part(path, "r.jsonl", &c, 0, c.n);
	expect_verifies(path, 12, 3);
	chain_free(&c);
}

/* Tamperings of a stub at seq 2 (line 2), and what verify says. */
static const struct {
	const char *name, *from, *to;
	unsigned long long seq;
	const char *reason;
} stub_tampers[] = {
	{ "field added", "\"audit.redacted_reason\"",
	    "\"user.name\":\"alice\",\"audit.redacted_reason\"", 2,
	    "redaction stub carries a field a stub may not: user.name" },
	{ "outcome changed", "\"unknown\"", "\"success\"", 2,
	    "redaction stub not in its exact form (keys, order, outcome, "
	    "reason)" },
	{ "keys reordered", "\"event.outcome\":\"unknown\","
	    "\"organization.id\":\"K84001\"", "\"organization.id\":\"K84001\","
	    "\"event.outcome\":\"unknown\"", 2,
	    "redaction stub not in its exact form (keys, order, outcome, "
	    "reason)" },
	{ "reason missing", ",\"audit.redacted_reason\":\"" REASON "\"", "", 2,
	    "redaction stub not in its exact form (keys, order, outcome, "
	    "reason)" },
	{ "hash altered", "\"hash\":\"", "\"hash\":\"0", 3,
	    "chain broken: prev does not match the record before" },
	{ "prev altered", "\"prev\":\"", "\"prev\":\"0", 2,
	    "chain broken: prev does not match the record before" },
};

/* s with its first from replaced by to; from must occur. */
static char *
replaced(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	size_t flen = strlen(from), tlen = strlen(to);
	char *out;

	cr_assert_not_null(p, "%s not in %s", from, s);
	cr_assert_not_null(out = malloc(strlen(s) - flen + tlen + 1));
	memcpy(out, s, (size_t)(p - s));
	memcpy(out + (p - s), to, tlen);
	strcpy(out + (p - s) + tlen, p + flen);
	return out;
}

Test(audit_reader, tampered_stub_is_found, .init = setup, .fini = teardown)
{
	struct audit_verify_result r;
	char path[PATH_MAX], *stub, *bad_stub;
	struct chain c;

	for (size_t i = 0; i < NELEM(stub_tampers); i++) {
		practice_chain(&c);
		stub = want_stub(&c, 1, "K84001", REASON);
		bad_stub = replaced(stub, stub_tampers[i].from,
		    stub_tampers[i].to);
		/* "hash altered" keeps 64 hex: drop the digit pushed out. */
		if (strlen(bad_stub) == strlen(stub) + 1 &&
		    strcmp(stub_tampers[i].name, "hash altered") == 0)
			memmove(bad_stub + strlen(bad_stub) - 4,
			    bad_stub + strlen(bad_stub) - 3, 4);
		free(stub);
		replace_line(&c, 1, bad_stub);
		write_part(path, "t.jsonl", &c, 0, c.n);
		cr_expect_eq(verify_one(path, &r), -1, "%s",
		    stub_tampers[i].name);
		cr_expect_eq(r.bad_seq, stub_tampers[i].seq, "%s: bad_seq %llu",
		    stub_tampers[i].name, r.bad_seq);
		cr_expect_eq(r.bad_line, stub_tampers[i].seq, "%s: line %llu",
		    stub_tampers[i].name, r.bad_line);
		cr_expect_str_eq(r.reason, stub_tampers[i].reason, "%s: %s",
		    stub_tampers[i].name, r.reason);
		chain_free(&c);
	}
}

Test(audit_reader, redact_refuses_live_and_edited_files, .init = setup,
    .fini = teardown)
{
	char path[PATH_MAX], err[PATH_MAX + 128], want[PATH_MAX + 128],
	    *before, *after, *p;
	struct audit_retention rules[] = { { .months = 12 } };
	long long removed;
	struct chain c;
	int fd;

	practice_chain(&c);
	write_part(path, "live.jsonl", &c, 0, c.n);
	cr_assert_neq(fd = open(path, O_WRONLY | O_APPEND), -1);
	cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);	/* as mwgd does */
	before = slurp(path);
	snprintf(want, sizeof(want), "%s is in use by mwgd: prune rotated "
	    "files only", path);
	cr_assert_eq(audit_redact(path, "K84001", T_NEXT, REASON, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, want);
	cr_assert_eq(audit_retain(path, rules, 1, NOW_2027, &removed, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, want);
	after = slurp(path);
	cr_expect_str_eq(after, before);
	close(fd);
	free(before);
	free(after);
	/* An edited record is evidence: redaction must not launder it. */
	free(c.r[6].fields);		/* seq 7: K84001's, sealed */
	c.r[6].fields = xdup("\"organization.id\":\"K84001\"");
	seal_rec(&c, 6, 7, c.r[5].hash);
	cr_assert_not_null(p = strstr(c.r[6].line, "close"));
	*p = 'C';				/* ...then edited */
	write_part(path, "edited.jsonl", &c, 0, c.n);
	before = slurp(path);
	cr_assert_eq(audit_redact(path, "K84001", T_NEXT, REASON, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:7: record edited: hash does not "
	    "match; nothing redacted (see mwgctl audit verify)", path);
	cr_expect_str_eq(err, want);
	after = slurp(path);
	cr_expect_str_eq(after, before);
	snprintf(want, sizeof(want), "%s.prune-tmp", path);
	cr_expect_eq(access(want, F_OK), -1);
	free(before);
	free(after);
	chain_free(&c);
}

static const struct {
	time_t now;
	unsigned months;
	time_t want;
} month_cases[] = {
	{ 1788177600, 6, 1772280000 },	/* 2026-08-31T12 -> 02-28T12 */
	{ 1711843200, 1, 1709164800 },	/* 2024-03-31 -> 2024-02-29 */
	{ 1774915200, 13, 1740700800 },	/* 2026-03-31 -> 2025-02-28 */
	{ NOW_2027, 24, 1736899200 },	/* 2027-01-15 -> 2025-01-15 */
	{ NOW_2027, 12, 1768435200 },	/* -> 2026-01-15 */
	{ NOW_2027, 6, 1784073600 },	/* -> 2026-07-15 */
	{ NOW_2027, 0, NOW_2027 },
};

Test(audit_reader, calendar_months_before)
{
	for (size_t i = 0; i < NELEM(month_cases); i++)
		cr_expect_eq(audit_months_before(month_cases[i].now,
		    month_cases[i].months), month_cases[i].want,
		    "case %zu: %lld", i, (long long)audit_months_before(
		    month_cases[i].now, month_cases[i].months));
}

/*
 * As of 2027-01-15: K84001 keeps 6 months (cut 2026-07-15), K84002 24
 * (cut 2025-01-15, the longest), the rest 12 (cut 2026-01-15).
 */
static void
retention_chain(struct chain *c)
{
	memset(c, 0, sizeof(*c));
	chain_push(c, "2024-11-01T00:00:00.000Z", "gateway.start", "");
	chain_push(c, "2024-12-01T00:00:00.000Z", "tunnel.open",
	    "\"user.name\":\"alice\",\"organization.id\":\"K84001\"");
	chain_checkpoint(c, "2024-12-02T00:00:00.000Z");		/* 3 */
	chain_push(c, "2025-01-10T00:00:00.000Z", "tunnel.open",
	    "\"user.name\":\"bob\",\"organization.id\":\"K84002\"");
	chain_checkpoint(c, "2025-02-01T00:00:00.000Z");		/* 5 */
	chain_push(c, "2025-06-01T00:00:00.000Z", "tunnel.open",
	    "\"user.name\":\"alice\",\"organization.id\":\"K84001\"");
	chain_push(c, "2025-06-01T00:00:01.000Z", "tunnel.close",
	    "\"user.name\":\"alice\",\"organization.id\":\"k84001\"");
	chain_push(c, "2025-06-02T00:00:00.000Z", "tunnel.open",
	    "\"user.name\":\"bob\",\"organization.id\":\"K84002\"");
	chain_push(c, "2025-12-01T00:00:00.000Z", "tunnel.deny",
	    "\"user.name\":\"mallory\",\"source.ip\":\"198.51.100.9\"");
	chain_push(c, "2025-12-01T00:00:01.000Z", "tunnel.open",
	    "\"user.name\":\"carol\",\"organization.id\":\"K84003\"");
	chain_checkpoint(c, "2026-02-01T00:00:00.000Z");		/* 11 */
	chain_push(c, "2026-03-01T00:00:00.000Z", "tunnel.open",
	    "\"user.name\":\"alice\",\"organization.id\":\"K84001\"");
	chain_push(c, "2026-03-01T00:00:01.000Z", "gateway.reload", "");
	chain_push(c, "2026-08-01T00:00:00.000Z", "tunnel.open",
	    "\"user.name\":\"alice\",\"organization.id\":\"K84001\"");
	chain_checkpoint(c, "2026-08-02T00:00:00.000Z");		/* 15 */
	chain_push(c, "2026-12-01T00:00:00.000Z", "tunnel.open",
	    "\"user.name\":\"bob\",\"organization.id\":\"K84002\"");
}

#define WHY_K84001	"retention: 6 months (K84001), expired before " \
			    "2026-07-15T00:00:00Z"
#define WHY_DEFAULT	"retention: 12 months (default), expired before " \
			    "2026-01-15T00:00:00Z"

Test(audit_reader, retention_per_practice, .init = setup, .fini = teardown)
{
	struct audit_retention rules[] = {
		{ .practice = NULL, .months = 12 },
		{ .practice = "K84001", .months = 6 },
		{ .practice = "K84002", .months = 24 },
	};
	char path[PATH_MAX], err[256] = "", *got, *want;
	struct audit_verify_result r;
	long long removed = -1;
	struct chain c;

	retention_chain(&c);
	write_part(path, "ret.jsonl", &c, 0, c.n);
	cr_assert_eq(audit_retain(path, rules, NELEM(rules), NOW_2027,
	    &removed, err, sizeof(err)), 0, "%s", err);
	/* Cut at checkpoint 3: seq 4 is older than 2025-01-15, 5 is not. */
	cr_expect_eq(removed, 2);
	cr_expect_eq(rules[0].redacted, 2);	/* seq 9 (none), 10 */
	cr_expect_eq(rules[1].redacted, 3);	/* seq 6, 7 (k84001), 12 */
	cr_expect_eq(rules[2].redacted, 0);	/* longest: pruned only */
	cr_expect_eq(rules[0].cut, 1768435200);
	cr_expect_eq(rules[1].cut, 1784073600);
	cr_expect_eq(rules[2].cut, 1736899200);
	replace_line(&c, 5, want_stub(&c, 5, "K84001", WHY_K84001));
	replace_line(&c, 6, want_stub(&c, 6, "k84001", WHY_K84001));
	replace_line(&c, 8, want_stub(&c, 8, NULL, WHY_DEFAULT));
	replace_line(&c, 9, want_stub(&c, 9, "K84003", WHY_DEFAULT));
	replace_line(&c, 11, want_stub(&c, 11, "K84001", WHY_K84001));
	got = slurp(path);
	want = joined(&c, 2);
	cr_expect_str_eq(got, want);
	free(got);
	free(want);
	expect_verifies(path, 14, 5);
	cr_assert_eq(verify_one(path, &r), 0);
	cr_expect_eq(r.first_seq, 3);
	/* Applied again: nothing more to do. */
	cr_assert_eq(audit_retain(path, rules, NELEM(rules), NOW_2027,
	    &removed, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(removed, 0);
	cr_expect_eq(rules[0].redacted + rules[1].redacted +
	    rules[2].redacted, 0);
	/* Without a default the rest would have no rule. */
	cr_expect_eq(audit_retain(path, rules + 1, 2, NOW_2027, &removed, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "retention: no default given");
	chain_free(&c);
}

/* One parser for record times and for mwgctl's --since/--until/--before. */
Test(audit_reader, parse_time_table)
{
	static const struct {
		const char *s;
		long long t;	/* -1: refused */
	} cases[] = {
		{ "2026-11-25", 1795564800LL },
		{ "2026-11-25T10:00:00Z", 1795600800LL },
		{ "2026-11-25T10:00:00.249Z", 1795600800LL },
		{ "2026-11-25T10:00:00+01:00", 1795597200LL },
		{ "2026-11-25T10:00:00-05:30", 1795620600LL },
		{ "2026-11-31", -1 },
		{ "2026-11-25T10:00:00", -1 },
		{ "2026-11-25T10:00:00+1:00", -1 },
		{ "2026-11-25T10:00:00+01:0", -1 },
		{ "2026-11-25T10:00:00+24:00", -1 },
		{ "2026-11-25T25:00:00Z", -1 },
		{ "2026-11-25 10:00:00Z", -1 },
		{ "26-11-25", -1 },
		{ "", -1 },
		{ "2026-11-25T10:00:00Zjunk", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = 0;
		int rc = audit_parse_time(cases[i].s, &t);

		if (cases[i].t == -1)
			cr_assert_eq(rc, -1, "'%s' must be refused", cases[i].s);
		else {
			cr_assert_eq(rc, 0, "'%s' refused", cases[i].s);
			cr_assert_eq((long long)t, cases[i].t, "'%s': %lld",
			    cases[i].s, (long long)t);
		}
	}
	cr_assert_eq(audit_parse_time(NULL, &(time_t){ 0 }), -1);
}
