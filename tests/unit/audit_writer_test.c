/*
 * The audit writer: sequence and chain, field order, checkpoints, reopen,
 * recovery of a torn tail, the lock, rotation, many threads, callbacks,
 * over-long records and a full disk. Every file is checked line by line.
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/log.h"
#include "tests/unit/unit.h"

static char dir[PATH_MAX], path[PATH_MAX], key[PATH_MAX], pub[PATH_MAX];
static char mnt[PATH_MAX];

static void
setup(void)
{
	log_init("audit_writer_test", 0, 0);
	make_tmp_dir(dir, sizeof(dir), "mwg-aw");
	path_in(path, dir, "audit.jsonl");
	path_in(key, dir, "audit.key");
	cr_assert(snprintf(pub, sizeof(pub), "%s.pub", key) < PATH_MAX);
}

static void
teardown(void)
{
	if (mnt[0] != '\0')
		(void)umount2(mnt, MNT_DETACH);
	remove_tree(dir);
}

static struct audit_log *
open_log(const struct audit_options *o)
{
	struct audit_options def = { .path = path, .key_path = key };
	struct audit_log *log;
	char err[512];

	log = audit_open(o ? o : &def, err, sizeof(err));
	cr_assert_not_null(log, "audit_open: %s", err);
	return log;
}

/* ---- reading files back ------------------------------------------------- */

struct lines {
	char *data;
	size_t size;
	char *line[32768];
	size_t len[32768];
	size_t n;
};

static struct lines *
lines_read(const char *p)
{
	struct lines *l = calloc(1, sizeof(*l));
	struct stat st;
	FILE *f;
	char *s, *nl;

	cr_assert_not_null(l);
	cr_assert_not_null(f = fopen(p, "r"), "%s", p);
	cr_assert_eq(fstat(fileno(f), &st), 0);
	l->size = (size_t)st.st_size;
	cr_assert_not_null(l->data = malloc(l->size + 1));
	cr_assert_eq(fread(l->data, 1, l->size, f), l->size);
	cr_assert_eq(fclose(f), 0);
	l->data[l->size] = '\0';
	cr_assert(l->size == 0 || l->data[l->size - 1] == '\n',
	    "%s does not end in a complete line", p);
	for (s = l->data; s < l->data + l->size; s = nl + 1) {
		cr_assert_lt(l->n, NELEM(l->line));
		nl = memchr(s, '\n', (size_t)(l->data + l->size - s));
		*nl = '\0';
		l->line[l->n] = s;
		l->len[l->n++] = (size_t)(nl - s);
	}
	return l;
}

static void
lines_free(struct lines *l)
{
	free(l->data);
	free(l);
}

static json_t *
rec(const struct lines *l, size_t i)
{
	json_error_t e;
	json_t *r;

	cr_assert_lt(i, l->n);
	r = json_loadb(l->line[i], l->len[i], 0, &e);
	cr_assert_not_null(r, "line %zu: %s", i + 1, e.text);
	return r;
}

static const char *
str(json_t *r, const char *k)
{
	const char *v = json_string_value(json_object_get(r, k));

	return v ? v : "";
}

static long long
num(json_t *r, const char *k)
{
	cr_assert(json_is_integer(json_object_get(r, k)), "no integer %s", k);
	return json_integer_value(json_object_get(r, k));
}

static void
ckpt_verify(json_t *r)
{
	char err[256], text[200], id[AUDIT_KEY_ID_HEX + 1];
	struct audit_key *pk = audit_key_load(pub, err, sizeof(err));
	size_t len;

	cr_assert_not_null(pk, "%s", err);
	audit_key_id(pk, id);
	cr_assert_str_eq(str(r, "event.action"), "audit.checkpoint");
	cr_assert_str_eq(str(r, "audit.key_id"), id);
	len = audit_checkpoint_text(text, sizeof(text),
	    (unsigned long long)num(r, "seq") - 1, str(r, "prev"));
	cr_assert_eq(audit_key_verify(pk, text, len, str(r, "audit.signature")),
	    1, "checkpoint %lld does not verify", num(r, "seq"));
	audit_key_free(pk);
}

/*
 * Checks every line's seal and its link to the one before, continuing
 * from *seq and prev (0 and AUDIT_GENESIS at the chain's start); a file
 * that does not start the chain must open with a valid checkpoint.
 */
static void
chain_check(const struct lines *l, unsigned long long *seq, char *prev)
{
	char claimed[AUDIT_HASH_HEX + 1], computed[AUDIT_HASH_HEX + 1];

	for (size_t i = 0; i < l->n; i++) {
		json_t *r = rec(l, i);

		cr_assert_eq(audit_line_check(l->line[i], l->len[i], claimed,
		    computed), 0, "line %zu not sealed: %s", i + 1, l->line[i]);
		cr_assert_str_eq(claimed, computed, "line %zu", i + 1);
		cr_assert_eq(num(r, "seq"), (long long)*seq + 1, "line %zu",
		    i + 1);
		cr_assert_str_eq(str(r, "prev"), prev, "line %zu", i + 1);
		cr_assert_str_eq(str(r, "hash"), claimed);
		if (strcmp(str(r, "event.action"), "audit.checkpoint") == 0)
			ckpt_verify(r);
		else if (i == 0)
			cr_assert_eq(*seq, 0, "a continued file must open "
			    "with a checkpoint");
		*seq += 1;
		memcpy(prev, claimed, AUDIT_HASH_HEX + 1);
		json_decref(r);
	}
}

/* The whole live file verifies from the chain's start; its line count. */
static size_t
file_check(const char *p)
{
	char prev[AUDIT_HASH_HEX + 1] = AUDIT_GENESIS;
	unsigned long long seq = 0;
	struct lines *l = lines_read(p);
	size_t n = l->n;

	chain_check(l, &seq, prev);
	lines_free(l);
	return n;
}

static void
expect_action(const struct lines *l, size_t i, const char *action)
{
	json_t *r = rec(l, i);

	cr_assert_str_eq(str(r, "event.action"), action, "line %zu", i + 1);
	json_decref(r);
}

/* ---- sequence, chain, fields --------------------------------------------- */

Test(audit_writer, records_in_order_on_a_valid_chain, .init = setup,
    .fini = teardown)
{
	struct audit_log *log = open_log(NULL);
	struct lines *l;

	for (int i = 0; i < 100; i++)
		cr_assert_eq(audit_append(log, "test.event", "success",
		    json_pack("{s:i}", "n", i)), 0);
	audit_close(log);
	cr_assert_eq(file_check(path), 102);
	l = lines_read(path);
	expect_action(l, 0, "audit.start");
	for (size_t i = 1; i <= 100; i++) {
		json_t *r = rec(l, i);

		cr_assert_str_eq(str(r, "event.action"), "test.event");
		cr_assert_eq(num(r, "n"), (long long)i - 1);
		json_decref(r);
	}
	expect_action(l, 101, "audit.checkpoint");
	lines_free(l);
	ASSERT_NO_LEAKS();
}

Test(audit_writer, start_record_names_key_and_pid, .init = setup,
    .fini = teardown)
{
	struct audit_log *log = open_log(NULL);
	char err[256], id[AUDIT_KEY_ID_HEX + 1];
	struct audit_key *pk;
	struct lines *l;
	json_t *r;

	audit_close(log);
	cr_assert_not_null(pk = audit_key_load(pub, err, sizeof(err)));
	audit_key_id(pk, id);
	audit_key_free(pk);
	l = lines_read(path);
	r = rec(l, 0);
	cr_assert_str_eq(str(r, "event.outcome"), "success");
	cr_assert_str_eq(str(r, "audit.key_id"), id);
	cr_assert_eq(num(r, "process.pid"), getpid());
	json_decref(r);
	lines_free(l);
	ASSERT_NO_LEAKS();
}

Test(audit_writer, fields_keep_order_and_cannot_override, .init = setup,
    .fini = teardown)
{
	struct audit_log *log = open_log(NULL);
	json_t *f = json_object(), *r;
	char want[1024];
	struct lines *l;

	json_object_set_new(f, "user.name", json_string("alice"));
	json_object_set_new(f, "seq", json_integer(99));
	json_object_set_new(f, "event.action", json_string("forged"));
	json_object_set_new(f, "z", json_integer(1));
	json_object_set_new(f, "hash", json_string("h"));
	json_object_set_new(f, "prev", json_string("p"));
	json_object_set_new(f, "@timestamp", json_string("t"));
	json_object_set_new(f, "event.outcome", json_string("o"));
	json_object_set_new(f, "user.full_name", json_string("Zo\xc3\xab"));
	json_object_set_new(f, "a", json_pack("[i,i]", 1, 2));
	json_incref(f);		/* the caller keeps a reference */
	cr_assert_eq(audit_append_sync(log, "test.order", "failure", f), 0);
	cr_assert_eq(json_integer_value(json_object_get(f, "seq")), 99,
	    "the caller's object was changed");
	json_decref(f);
	l = lines_read(path);
	cr_assert_eq(l->n, 2);
	r = rec(l, 1);
	snprintf(want, sizeof(want), "{\"seq\":2,\"@timestamp\":\"%s\","
	    "\"event.action\":\"test.order\",\"event.outcome\":\"failure\","
	    "\"user.name\":\"alice\",\"z\":1,\"user.full_name\":"
	    "\"Zo\\u00EB\",\"a\":[1,2],\"prev\":\"%s\",\"hash\":\"%s\"}",
	    str(r, "@timestamp"), str(r, "prev"), str(r, "hash"));
	cr_assert_str_eq(l->line[1], want);
	cr_assert_eq(strlen(str(r, "@timestamp")), 24);
	json_decref(r);
	lines_free(l);
	audit_close(log);
	file_check(path);
	ASSERT_NO_LEAKS();
}

Test(audit_writer, bad_records, .init = setup, .fini = teardown)
{
	struct audit_log *log = open_log(NULL);
	struct lines *l;
	json_t *r;

	cr_assert_eq(audit_append(log, NULL, "success", NULL), -1);
	cr_assert_eq(audit_append(log, "a", NULL, json_object()), -1);
	cr_assert_eq(audit_append(log, "bad.\xff", "success", NULL), -1);
	cr_assert_eq(audit_append_sync(log, "odd \"name\"", "success",
	    json_pack("[i]", 1)), 0);
	l = lines_read(path);
	cr_assert_eq(l->n, 2);
	r = rec(l, 1);
	cr_assert_str_eq(str(r, "event.action"), "odd \"name\"");
	cr_assert_eq(json_object_size(r), 6, "no fields: %s", l->line[1]);
	json_decref(r);
	lines_free(l);
	audit_close(log);
	file_check(path);
	ASSERT_NO_LEAKS();
}

Test(audit_writer, sync_record_is_in_the_file_on_return, .init = setup,
    .fini = teardown)
{
	struct audit_log *log = open_log(NULL);
	struct lines *l;

	for (int i = 0; i < 20; i++) {
		cr_assert_eq(audit_append_sync(log, "test.sync", "success",
		    json_pack("{s:i}", "n", i)), 0);
		l = lines_read(path);
		cr_assert_eq(l->n, (size_t)i + 2);
		expect_action(l, l->n - 1, "test.sync");
		lines_free(l);
	}
	audit_close(log);
	ASSERT_NO_LEAKS();
}

/* ---- over-long records --------------------------------------------------- */

Test(audit_writer, long_reason_is_cut_once, .init = setup, .fini = teardown)
{
	struct audit_log *log = open_log(NULL);
	char *reason = malloc(20001), want[1100];
	struct lines *l;
	json_t *r;

	memset(reason, 'r', 20000);
	reason[20000] = '\0';
	cr_assert_eq(audit_append_sync(log, "test.long", "failure",
	    json_pack("{s:s, s:s}", "event.reason", reason, "user.name",
	    "bob")), 0);
	free(reason);
	l = lines_read(path);
	cr_assert_leq(l->len[1] + 1, AUDIT_RECORD_MAX);
	r = rec(l, 1);
	memset(want, 'r', 1024);
	strcpy(want + 1024, "... (18976 bytes cut)");
	cr_assert_str_eq(str(r, "event.reason"), want);
	cr_assert_str_eq(str(r, "user.name"), "bob");
	json_decref(r);
	lines_free(l);
	audit_close(log);
	file_check(path);
	ASSERT_NO_LEAKS();
}

Test(audit_writer, cut_keeps_utf8_whole, .init = setup, .fini = teardown)
{
	struct audit_log *log = open_log(NULL);
	char *reason = malloc(1 + 2 * 5000 + 1), want[1100];
	struct lines *l;
	json_t *r;

	/* "a" then 2-byte characters: byte 1024 is inside one. */
	reason[0] = 'a';
	for (int i = 0; i < 5000; i++)
		memcpy(reason + 1 + 2 * i, "\xc3\xa9", 2);
	reason[10001] = '\0';
	cr_assert_eq(audit_append_sync(log, "test.long", "failure",
	    json_pack("{s:s}", "event.reason", reason)), 0);
	free(reason);
	l = lines_read(path);
	r = rec(l, 1);
	want[0] = 'a';
	for (int i = 0; i < 511; i++)
		memcpy(want + 1 + 2 * i, "\xc3\xa9", 2);
	strcpy(want + 1023, "... (8978 bytes cut)");
	cr_assert_str_eq(str(r, "event.reason"), want);
	json_decref(r);
	lines_free(l);
	audit_close(log);
	ASSERT_NO_LEAKS();
}

Test(audit_writer, too_large_record_keeps_action_and_size, .init = setup,
    .fini = teardown)
{
	struct audit_log *log = open_log(NULL);
	char *blob = malloc(20001);
	unsigned long n = 0;
	struct lines *l;
	json_t *r;

	memset(blob, 'b', 20000);
	blob[20000] = '\0';
	cr_assert_eq(audit_append_sync(log, "tunnel.open", "success",
	    json_pack("{s:s, s:s}", "event.reason", "short", "blob", blob)),
	    0);
	free(blob);
	l = lines_read(path);
	r = rec(l, 1);
	cr_assert_str_eq(str(r, "event.action"), "tunnel.open");
	cr_assert_str_eq(str(r, "event.outcome"), "success");
	cr_assert_eq(json_object_size(r), 7, "%s", l->line[1]);
	cr_assert_eq(sscanf(str(r, "event.reason"), "record too large (%lu "
	    "bytes)", &n), 1, "%s", str(r, "event.reason"));
	cr_assert_gt(n, 20000);
	cr_assert_lt(n, 20400);
	json_decref(r);
	lines_free(l);
	audit_close(log);
	file_check(path);
	ASSERT_NO_LEAKS();
}

/* ---- checkpoints --------------------------------------------------------- */

Test(audit_writer, checkpoint_every_n_records, .init = setup,
    .fini = teardown)
{
	struct audit_options o = { .path = path, .key_path = key,
	    .checkpoint_records = 10 };
	struct audit_log *log = open_log(&o);
	static const size_t ckpt[] = { 10, 21, 28 };	/* line indexes */
	struct lines *l;

	for (int i = 0; i < 25; i++)
		cr_assert_eq(audit_append(log, "test.event", "success", NULL),
		    0);
	audit_close(log);
	cr_assert_eq(file_check(path), 29);
	l = lines_read(path);
	for (size_t i = 0, k = 0; i < l->n; i++) {
		int is_ckpt = k < NELEM(ckpt) && ckpt[k] == i;

		expect_action(l, i, is_ckpt ? "audit.checkpoint" : i == 0 ?
		    "audit.start" : "test.event");
		k += is_ckpt;
	}
	lines_free(l);
	ASSERT_NO_LEAKS();
}

Test(audit_writer, checkpoint_after_seconds, .init = setup, .fini = teardown)
{
	struct audit_options o = { .path = path, .key_path = key,
	    .checkpoint_seconds = 1 };
	struct audit_log *log = open_log(&o);
	struct lines *l;

	cr_assert_eq(audit_append_sync(log, "test.event", "success", NULL), 0);
	usleep(2500 * 1000);
	l = lines_read(path);
	cr_assert_eq(l->n, 3);
	expect_action(l, 2, "audit.checkpoint");
	lines_free(l);
	/* Nothing new since: no further checkpoint, not even at close. */
	usleep(1500 * 1000);
	audit_close(log);
	cr_assert_eq(file_check(path), 3);
	ASSERT_NO_LEAKS();
}

Test(audit_writer, reopen_continues_the_chain, .init = setup,
    .fini = teardown)
{
	struct audit_log *log;
	struct lines *l;

	for (int run = 0; run < 2; run++) {
		log = open_log(NULL);
		for (int i = 0; i < 3; i++)
			cr_assert_eq(audit_append(log, "test.event",
			    "success", NULL), 0);
		audit_close(log);
	}
	cr_assert_eq(file_check(path), 10);
	l = lines_read(path);
	expect_action(l, 4, "audit.checkpoint");
	expect_action(l, 5, "audit.start");
	expect_action(l, 9, "audit.checkpoint");
	lines_free(l);
	ASSERT_NO_LEAKS();
}

Test(audit_writer, second_open_is_refused, .init = setup, .fini = teardown)
{
	struct audit_options o = { .path = path, .key_path = key };
	struct audit_log *log = open_log(NULL), *again;
	char err[512], want[PATH_MAX + 64];

	again = audit_open(&o, err, sizeof(err));
	cr_assert_null(again);
	snprintf(want, sizeof(want), "%s is in use by another mwgd", path);
	cr_assert_str_eq(err, want);
	audit_close(log);
	log = open_log(NULL);
	audit_close(log);
	cr_assert_eq(file_check(path), 4);
	ASSERT_NO_LEAKS();
}

/* ---- recovery ------------------------------------------------------------ */

static void
append_raw(const char *p, const char *bytes)
{
	int fd = open(p, O_WRONLY | O_APPEND);

	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
	cr_assert_eq(close(fd), 0);
}

static char *
slurp(const char *p)
{
	struct lines *l = lines_read(p);
	char *s = malloc(l->size + 1);

	for (size_t i = 0; i < l->n; i++)
		l->line[i][l->len[i]] = '\n';	/* undo the split */
	memcpy(s, l->data, l->size + 1);
	lines_free(l);
	return s;
}

Test(audit_writer, torn_tail_is_kept_aside_and_recorded, .init = setup,
    .fini = teardown)
{
	static const struct {
		const char *junk;
		const char *torn;	/* PATH.torn after */
	} cases[] = {
		{ "{\"seq\":7,\"@timest", "{\"seq\":7,\"@timest\n" },
		{ "garbage\n", "garbage\n" },
		{ "{\"seq\":9}\npartial", "{\"seq\":9}\npartial\n" },
	};
	char tpath[PATH_MAX + 8], reason[PATH_MAX + 64], *before, *after;
	struct audit_log *log;
	struct lines *l;
	json_t *r;

	snprintf(tpath, sizeof(tpath), "%s.torn", path);
	for (size_t c = 0; c < NELEM(cases); c++) {
		unlink(path);
		unlink(tpath);
		log = open_log(NULL);
		cr_assert_eq(audit_append(log, "test.event", "success", NULL),
		    0);
		audit_close(log);
		before = slurp(path);
		append_raw(path, cases[c].junk);
		log = open_log(NULL);
		audit_close(log);
		after = slurp(tpath);
		cr_assert_str_eq(after, cases[c].torn, "case %zu", c);
		free(after);
		after = slurp(path);
		cr_assert_eq(strncmp(after, before, strlen(before)), 0);
		free(before);
		free(after);
		cr_assert_eq(file_check(path), 6, "case %zu", c);
		l = lines_read(path);
		r = rec(l, 3);
		cr_assert_str_eq(str(r, "event.action"), "audit.recover");
		cr_assert_str_eq(str(r, "event.outcome"), "failure");
		snprintf(reason, sizeof(reason), "torn last line (%zu bytes) "
		    "moved to %s.torn", strlen(cases[c].junk), path);
		cr_assert_str_eq(str(r, "event.reason"), reason);
		cr_assert_eq(num(r, "audit.torn_bytes"),
		    (long long)strlen(cases[c].junk));
		json_decref(r);
		expect_action(l, 4, "audit.start");
		lines_free(l);
	}
	ASSERT_NO_LEAKS();
}

Test(audit_writer, file_not_ending_in_a_record_is_refused, .init = setup,
    .fini = teardown)
{
	static const char *const cases[] = {
		"{\"seq\":1,\"@timestamp\":\"2026-01-01T00:00:00.000Z\","
		"\"event.action\":\"gateway.start\",\"event.outcome\":"
		"\"success\"}\n{\"seq\":2,\"@timestamp\":\"2026-01-01T00:00:"
		"00.001Z\",\"event.action\":\"gateway.stop\",\"event.outcome\":"
		"\"success\"}\n",
		"just one old line\n",
		"two old\nlines, the last torn",
	};
	struct audit_options o = { .path = path, .key_path = key };
	char err[512], want[PATH_MAX + 128], *after;

	snprintf(want, sizeof(want), "%s does not end in a sealed record: "
	    "rotate it away (mv) and start a new file", path);
	for (size_t c = 0; c < NELEM(cases); c++) {
		write_file(path, cases[c], 0);
		cr_assert_null(audit_open(&o, err, sizeof(err)), "case %zu", c);
		cr_assert_str_eq(err, want, "case %zu", c);
		if (cases[c][strlen(cases[c]) - 1] == '\n') {
			after = slurp(path);
			cr_assert_str_eq(after, cases[c], "file was changed");
			free(after);
		}
	}
	ASSERT_NO_LEAKS();
}

Test(audit_writer, file_of_one_torn_line_starts_a_chain, .init = setup,
    .fini = teardown)
{
	struct audit_log *log;
	struct lines *l;

	write_file(path, "{\"seq\":1,\"@tim", 0);
	log = open_log(NULL);
	audit_close(log);
	cr_assert_eq(file_check(path), 3);
	l = lines_read(path);
	expect_action(l, 0, "audit.recover");
	lines_free(l);
	ASSERT_NO_LEAKS();
}

/* ---- rotation ------------------------------------------------------------ */

/* The rotated files beside path, oldest first (names sort by time). */
static size_t
rotated(char names[][PATH_MAX], size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "audit.jsonl.", 12) == 0 &&
		    strcmp(de->d_name, "audit.jsonl.torn") != 0) {
			cr_assert_lt(n, max);
			path_in(names[n++], dir, de->d_name);
		}
	closedir(d);
	qsort(names, n, PATH_MAX, (int (*)(const void *, const void *))strcmp);
	return n;
}

/* Every rotated file then the live one verify as one chain. */
static unsigned long long
files_check(char names[][PATH_MAX], size_t n)
{
	char prev[AUDIT_HASH_HEX + 1] = AUDIT_GENESIS;
	unsigned long long seq = 0;
	struct lines *l;

	for (size_t i = 0; i <= n; i++) {
		l = lines_read(i < n ? names[i] : path);
		cr_assert_gt(l->n, 0);
		if (i > 0)
			expect_action(l, 0, "audit.checkpoint");
		if (i < n)
			expect_action(l, l->n - 1, "audit.checkpoint");
		chain_check(l, &seq, prev);
		lines_free(l);
	}
	return seq;
}

Test(audit_writer, rotation_by_size_continues_the_chain, .init = setup,
    .fini = teardown)
{
	struct audit_options o = { .path = path, .key_path = key,
	    .rotate_bytes = 4096 };
	struct audit_log *log = open_log(&o);
	char names[4][PATH_MAX];
	struct stat st;

	for (int i = 0; i < 25; i++)
		cr_assert_eq(audit_append_sync(log, "test.event", "success",
		    json_pack("{s:i}", "n", i)), 0);
	audit_close(log);
	cr_assert_eq(rotated(names, 4), 1);
	cr_assert_eq(stat(names[0], &st), 0);
	cr_assert_geq(st.st_size, 4096);
	cr_assert_lt(st.st_size, 4096 + 1024);
	/* start, 25 records, 2 checkpoints at rotation, 1 at close */
	cr_assert_eq(files_check(names, 1), 29);
	ASSERT_NO_LEAKS();
}

Test(audit_writer, rotation_by_age, .init = setup, .fini = teardown)
{
	struct audit_options o = { .path = path, .key_path = key,
	    .rotate_seconds = 2 };
	struct audit_log *log = open_log(&o);
	char names[4][PATH_MAX];

	/* Rotated within a second of being due; the new file stays young. */
	cr_assert_eq(audit_append_sync(log, "test.event", "success", NULL), 0);
	usleep(3300 * 1000);
	cr_assert_eq(audit_append_sync(log, "test.event", "success", NULL), 0);
	audit_close(log);
	cr_assert_eq(rotated(names, 4), 1);
	cr_assert_eq(files_check(names, 1), 6);
	ASSERT_NO_LEAKS();
}

/* ---- threads and callbacks ----------------------------------------------- */

#define THREADS		4
#define PER_THREAD	5000

struct producer {
	struct audit_log *log;
	int id;
};

static void *
produce(void *arg)
{
	struct producer *p = arg;

	for (int i = 0; i < PER_THREAD; i++)
		if (audit_append(p->log, "test.thread", "success",
		    json_pack("{s:i, s:i}", "t", p->id, "i", i)) != 0)
			return (void *)1;
	return NULL;
}

Test(audit_writer, many_threads_one_chain, .init = setup, .fini = teardown)
{
	struct audit_log *log = open_log(NULL);
	struct producer p[THREADS];
	pthread_t th[THREADS];
	int next[THREADS] = { 0 };
	size_t records = 0;
	struct lines *l;
	void *res;

	for (int t = 0; t < THREADS; t++) {
		p[t] = (struct producer){ log, t };
		cr_assert_eq(pthread_create(&th[t], NULL, produce, &p[t]), 0);
	}
	for (int t = 0; t < THREADS; t++) {
		cr_assert_eq(pthread_join(th[t], &res), 0);
		cr_assert_null(res, "an append was refused");
	}
	audit_close(log);
	file_check(path);
	l = lines_read(path);
	for (size_t i = 0; i < l->n; i++) {
		json_t *r = rec(l, i);

		if (strcmp(str(r, "event.action"), "test.thread") == 0) {
			int t = (int)num(r, "t");

			cr_assert_eq(num(r, "i"), next[t]++, "thread %d", t);
			records++;
		}
		json_decref(r);
	}
	cr_assert_eq(records, THREADS * PER_THREAD);
	lines_free(l);
	ASSERT_NO_LEAKS();
}

struct calls {
	atomic_int n[1000];
	atomic_int ok[1000];
	pthread_t caller;
	atomic_int on_caller;
};

static struct calls calls;

static void
count_done(void *arg, int ok)
{
	size_t i = (size_t)(uintptr_t)arg;

	atomic_fetch_add(&calls.n[i], 1);
	atomic_fetch_add(&calls.ok[i], ok);
	if (pthread_equal(pthread_self(), calls.caller))
		atomic_store(&calls.on_caller, 1);
}

Test(audit_writer, notify_calls_done_once, .init = setup, .fini = teardown)
{
	struct audit_log *log = open_log(NULL);

	calls.caller = pthread_self();
	for (size_t i = 0; i < 1000; i++)
		cr_assert_eq(audit_append_notify(log, "test.notify", "success",
		    NULL, count_done, (void *)(uintptr_t)i), 0);
	audit_close(log);
	for (size_t i = 0; i < 1000; i++) {
		cr_assert_eq(atomic_load(&calls.n[i]), 1, "record %zu", i);
		cr_assert_eq(atomic_load(&calls.ok[i]), 1, "record %zu", i);
	}
	cr_assert_eq(atomic_load(&calls.on_caller), 0,
	    "done ran on the caller's thread");
	/* start, 1000 records, checkpoints after 1000 and at close */
	cr_assert_eq(file_check(path), 1003);
	ASSERT_NO_LEAKS();
}

/* ---- failed writes ------------------------------------------------------- */

static atomic_int lost_done, lost_ok;

static void
lost_cb(void *arg, int ok)
{
	(void)arg;
	atomic_store(&lost_ok, ok);
	atomic_store(&lost_done, 1);
}

static off_t
file_size(const char *p)
{
	struct stat st;

	cr_assert_eq(stat(p, &st), 0);
	return st.st_size;
}

static int
wait_flag(atomic_int *flag, int ms)
{
	for (; ms > 0 && !atomic_load(flag); ms -= 10)
		usleep(10000);
	return atomic_load(flag);
}

/* Polls audit_failed until it is want; 1 if it got there in ms. */
static int
wait_failed(struct audit_log *log, int want, int ms)
{
	for (; ms > 0 && audit_failed(log) != want; ms -= 10)
		usleep(10000);
	return audit_failed(log) == want;
}

/* The record lost while failing, then the others refused at once. */
static void
expect_refusal(struct audit_log *log, json_t *lost_fields)
{
	cr_assert_eq(audit_append_notify(log, "test.lost", "success",
	    lost_fields, lost_cb, NULL), 0);
	cr_assert(wait_flag(&lost_done, 5000), "no callback");
	cr_assert_eq(atomic_load(&lost_ok), 0);
	cr_assert_eq(audit_failed(log), 1);
	cr_assert_eq(audit_append(log, "test.refused", "success", NULL), -1);
	cr_assert_eq(audit_append_sync(log, "test.refused", "success", NULL),
	    -1);
}

/*
 * The two refused appends of expect_refusal() leave one audit.dropped
 * record at line i, right after the resume, with their count.
 */
static void
expect_dropped(const char *p, size_t i, long long n)
{
	struct lines *l = lines_read(p);
	json_t *rec;

	cr_assert_gt(l->n, i);
	rec = json_loads(l->line[i], 0, NULL);
	cr_assert_not_null(rec);
	cr_assert_str_eq(json_string_value(json_object_get(rec,
	    "event.action")), "audit.dropped");
	cr_assert_eq(json_integer_value(json_object_get(rec,
	    "audit.dropped_records")), n);
	json_decref(rec);
	lines_free(l);
}

/* After the failure: audit.resume at line i, saying one record was lost. */
static void
expect_resume(const char *p, size_t i)
{
	struct lines *l = lines_read(p);
	json_t *r = rec(l, i);
	const char *reason = str(r, "event.reason");

	cr_assert_str_eq(str(r, "event.action"), "audit.resume");
	cr_assert_str_eq(str(r, "event.outcome"), "success");
	cr_assert_eq(num(r, "audit.lost_records"), 1);
	cr_assert_eq(strncmp(reason, "writing failed for ", 19), 0, "%s",
	    reason);
	cr_assert_not_null(strstr(reason, " s; 1 records lost"), "%s", reason);
	json_decref(r);
	/* i + 1 is the audit.dropped record (expect_dropped). */
	expect_action(l, i + 2, "test.after");
	expect_action(l, i + 3, "audit.checkpoint");
	cr_assert_eq(l->n, i + 4);
	lines_free(l);
}

Test(audit_writer, partial_write_is_cut_back_then_resumes, .init = setup,
    .fini = teardown)
{
	struct audit_log *log = open_log(NULL);
	struct rlimit old, lim;
	char *blob = malloc(8001);
	off_t size;

	/* A write past RLIMIT_FSIZE stops short, then fails with EFBIG. */
	cr_assert_neq(signal(SIGXFSZ, SIG_IGN), SIG_ERR);
	cr_assert_eq(audit_append_sync(log, "test.before", "success", NULL), 0);
	size = file_size(path);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 100;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	memset(blob, 'x', 8000);
	blob[8000] = '\0';
	expect_refusal(log, json_pack("{s:s}", "blob", blob));
	free(blob);
	cr_assert_eq(file_size(path), size, "a partial line stayed");
	cr_assert_eq(file_check(path), 2);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	cr_assert(wait_failed(log, 0, 5000), "no resume");
	cr_assert_eq(audit_append_sync(log, "test.after", "success", NULL), 0);
	audit_close(log);
	cr_assert_eq(file_check(path), 6);
	expect_resume(path, 2);
	expect_dropped(path, 3, 2);
	ASSERT_NO_LEAKS();
}

/* Fills the file system the filler is on. */
static void
fill(const char *filler)
{
	static const char chunk[4096];
	int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_neq(fd, -1);
	while (write(fd, chunk, sizeof(chunk)) > 0)
		;
	cr_assert_eq(errno, ENOSPC);
	cr_assert_eq(close(fd), 0);
}

/*
 * Pads the live file to a whole number of pages: tmpfs would otherwise
 * take later records into the last page's slack even when full.
 */
static void
pad_to_page(struct audit_log *log, const char *p)
{
	size_t base, need;
	struct lines *l;
	char *pad;

	cr_assert_eq(audit_append_sync(log, "test.pad", "success",
	    json_pack("{s:s}", "pad", "")), 0);
	l = lines_read(p);
	base = l->len[l->n - 1] + 1;
	lines_free(l);
	need = (4096 - (size_t)file_size(p) % 4096) % 4096;
	if (need < base)
		need += 4096;
	cr_assert_not_null(pad = calloc(1, need - base + 1));
	memset(pad, 'p', need - base);
	cr_assert_eq(audit_append_sync(log, "test.pad", "success",
	    json_pack("{s:s}", "pad", pad)), 0);
	free(pad);
	cr_assert_eq(file_size(p) % 4096, 0);
}

Test(audit_writer, full_disk_refuses_then_resumes, .init = setup,
    .fini = teardown)
{
	struct audit_options o = { .key_path = key };
	char live[PATH_MAX], filler[PATH_MAX];
	struct audit_log *log;
	off_t size;

	path_in(mnt, dir, "mnt");
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k,mode=0755") == -1) {
		int e = errno;

		mnt[0] = '\0';
		UNIT_SKIP("cannot mount a 256k tmpfs to fill: %s (needs root)",
		    strerror(e));
	}
	o.path = path_in(live, mnt, "audit.jsonl");
	path_in(filler, mnt, "filler");
	log = open_log(&o);
	cr_assert_eq(audit_append_sync(log, "test.before", "success", NULL), 0);
	pad_to_page(log, live);
	size = file_size(live);
	fill(filler);
	expect_refusal(log, NULL);
	cr_assert_eq(file_size(live), size);
	/* Retries go on failing while the disk is full, and leave no trace. */
	usleep(2500 * 1000);
	cr_assert_eq(audit_failed(log), 1);
	cr_assert_eq(file_size(live), size);
	cr_assert_eq(file_check(live), 4);
	cr_assert_eq(unlink(filler), 0);
	cr_assert(wait_failed(log, 0, 5000), "no resume after the disk had "
	    "room");
	cr_assert_eq(audit_append_sync(log, "test.after", "success", NULL), 0);
	audit_close(log);
	cr_assert_eq(file_check(live), 8);
	expect_resume(live, 4);
	expect_dropped(live, 5, 2);
	ASSERT_NO_LEAKS();
}
