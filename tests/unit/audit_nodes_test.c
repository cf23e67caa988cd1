/*
 * Several gateway nodes' audit trails: node names, every record naming
 * its node inside its hash, files sorted into one chain per node, each
 * chain verified against its own node's key (a tamper on one node fails
 * that node only), old files without node names, and the time-ordered
 * merge behind mwgctl audit query and export.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/log.h"
#include "tests/unit/unit.h"

#define MAXFILES	64

static char dir[PATH_MAX];

static void
setup(void)
{
	log_init("audit_nodes_test", 0, 0);
	make_tmp_dir(dir, sizeof(dir), "mwg-anodes");
}

static void
teardown(void)
{
	remove_tree(dir);
}

/* ---- node names ---------------------------------------------------------- */

static const struct {
	const char *name;
	int valid;
} names[] = {
	{ "gw-a", 1 },
	{ "gw1.icb.nhs.uk", 1 },
	{ "A", 1 },
	{ "9node_2", 1 },
	/* 64 characters: the longest a host name is on Linux. */
	{ "n123456789012345678901234567890123456789012345678901234567890123",
	    1 },
	{ "n1234567890123456789012345678901234567890123456789012345678901234",
	    0 },
	{ "", 0 },
	{ "-gw", 0 },		/* a spreadsheet formula's start */
	{ ".gw", 0 },
	{ "_gw", 0 },
	{ "gw a", 0 },
	{ "gw\"a", 0 },
	{ "gw\\a", 0 },
	{ "gw\na", 0 },
	{ "gw\x1b[2J", 0 },
	{ "gw,a", 0 },
	{ "gw/a", 0 },
	{ "g\xc3\xa9", 0 },	/* UTF-8 "gé": ASCII only */
};

Test(audit_nodes, node_name_table)
{
	for (size_t i = 0; i < NELEM(names); i++)
		cr_expect_eq(audit_node_name_valid(names[i].name),
		    names[i].valid, "case %zu '%s'", i, names[i].name);
	cr_expect_eq(audit_node_name_valid(NULL), 0);
}

/* ---- a node's trail, written by the real writer ------------------------- */

struct node {
	char name[32];
	char dir[PATH_MAX], path[PATH_MAX], key[PATH_MAX], pub[PATH_MAX];
	struct audit_key *pk;
	char *files[MAXFILES];		/* rotated files, then the live one */
	size_t nfiles;
};

static void
node_init(struct node *n, const char *name)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	path_in(n->dir, dir, name);
	cr_assert_eq(mkdir(n->dir, 0700), 0, "mkdir: %s", strerror(errno));
	path_in(n->path, n->dir, "audit.jsonl");
	path_in(n->key, n->dir, "audit.key");
	cr_assert(snprintf(n->pub, sizeof(n->pub), "%s.pub", n->key) <
	    PATH_MAX);
}

/*
 * Writes count tunnel.open records of practice to n's trail, naming node
 * (NULL: none, as before node names); rotate: after every group.
 */
static void
node_write(struct node *n, const char *node, int count, const char *practice,
    int rotate)
{
	struct audit_options o = { .path = n->path, .key_path = n->key,
	    .node_name = node, .rotate_bytes = rotate ? 1 : 0 };
	struct audit_log *log;
	char err[512];

	log = audit_open(&o, err, sizeof(err));
	cr_assert_not_null(log, "audit_open: %s", err);
	for (int i = 0; i < count; i++)
		cr_assert_eq(audit_append_sync(log, "tunnel.open", "success",
		    json_pack("{s:s, s:s, s:i}", "organization.id", practice,
		    "user.name", "alice", "n", i)), 0);
	audit_close(log);
}

/* The node's files in chain order: rotated (by name), then the live one. */
static void
node_files(struct node *n)
{
	char pat[PATH_MAX + 4];
	glob_t g;

	for (size_t i = 0; i < n->nfiles; i++)
		free(n->files[i]);
	n->nfiles = 0;
	cr_assert(snprintf(pat, sizeof(pat), "%s.2*", n->path) <
	    (int)sizeof(pat));
	if (glob(pat, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			cr_assert_lt(n->nfiles, MAXFILES - 1);
			n->files[n->nfiles++] = strdup(g.gl_pathv[i]);
		}
		globfree(&g);
	}
	n->files[n->nfiles++] = strdup(n->path);
}

static void
node_load_key(struct node *n)
{
	char err[256];

	n->pk = audit_key_load(n->pub, err, sizeof(err));
	cr_assert_not_null(n->pk, "%s", err);
}

static void
node_free(struct node *n)
{
	for (size_t i = 0; i < n->nfiles; i++)
		free(n->files[i]);
	audit_key_free(n->pk);
}

/* Every line of path, parsed; the caller frees with json_decref. */
static json_t *
file_records(const char *path)
{
	json_t *all = json_array(), *r;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "%s", path);
	while ((len = getline(&buf, &cap, f)) > 0) {
		cr_assert_not_null(r = json_loadb(buf, (size_t)len, 0, NULL));
		json_array_append_new(all, r);
	}
	free(buf);
	fclose(f);
	return all;
}

Test(audit_nodes, writer_names_every_record_inside_its_hash, .init = setup,
    .fini = teardown)
{
	struct audit_options o;
	struct audit_log *log;
	struct node a;
	char err[512], *text, *at;
	json_t *all, *r;
	size_t i;

	node_init(&a, "a");
	o = (struct audit_options){ .path = a.path, .key_path = a.key,
	    .node_name = "gw-a" };
	cr_assert_not_null(log = audit_open(&o, err, sizeof(err)), "%s", err);
	/* A caller cannot name another node: its field is dropped. */
	cr_assert_eq(audit_append_sync(log, "tunnel.open", "success",
	    json_pack("{s:s, s:s}", "observer.name", "gw-b", "user.name",
	    "alice")), 0);
	audit_close(log);
	all = file_records(a.path);
	cr_assert_eq(json_array_size(all), 3);	/* start, open, checkpoint */
	json_array_foreach(all, i, r) {
		cr_expect_str_eq(json_string_value(json_object_get(r,
		    "observer.name")), "gw-a", "record %zu", i + 1);
		/* Right after event.outcome, as docs/audit.md says. */
		text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
		at = strstr(text, "\"event.outcome\":\"success\","
		    "\"observer.name\":\"gw-a\",");
		cr_expect_not_null(at, "record %zu: %s", i + 1, text);
		free(text);
	}
	json_decref(all);

	/* The name is inside the hash: renaming the node is an edit. */
	node_files(&a);
	node_load_key(&a);
	{
		struct audit_chain_files c = { .paths = (const char **)a.files,
		    .npaths = a.nfiles };
		struct audit_verify_result res;
		char cmd[PATH_MAX * 2];

		snprintf(c.node, sizeof(c.node), "gw-a");
		cr_assert_eq(audit_verify_chain(&c, (const struct audit_key
		    *const *)&a.pk, 1, &res, NULL), 0, "%s", res.reason);
		cr_expect_str_eq(res.node, "gw-a");
		snprintf(cmd, sizeof(cmd), "sed -i '2s/\"gw-a\"/\"gw-b\"/' %s",
		    a.path);
		cr_assert_eq(system(cmd), 0);
		cr_assert_eq(audit_verify_chain(&c, (const struct audit_key
		    *const *)&a.pk, 1, &res, NULL), -1);
		cr_expect_eq(res.bad_line, 2);
		cr_expect_str_eq(res.reason, "record edited: hash does not "
		    "match");
	}
	node_free(&a);
	ASSERT_NO_LEAKS();
}

Test(audit_nodes, writer_refuses_a_bad_node_name, .init = setup,
    .fini = teardown)
{
	struct node a;
	struct audit_options o;
	char err[512];

	node_init(&a, "a");
	o = (struct audit_options){ .path = a.path, .key_path = a.key,
	    .node_name = "gw a" };
	cr_assert_null(audit_open(&o, err, sizeof(err)));
	cr_expect_str_eq(err, "audit: not a valid node name (1 to 64 "
	    "letters, digits, '.', '-' or '_')");
	ASSERT_NO_LEAKS();
}

/* ---- several nodes: one chain each --------------------------------------- */

/* Interleaves a's and b's files: a1 b1 a2 b2 ..., into out. */
static size_t
interleave(const struct node *a, const struct node *b, const char **out)
{
	size_t n = 0;

	for (size_t i = 0; i < a->nfiles || i < b->nfiles; i++) {
		if (i < a->nfiles)
			out[n++] = a->files[i];
		if (i < b->nfiles)
			out[n++] = b->files[i];
	}
	return n;
}

/* The chain of node in chains, which must be there. */
static const struct audit_chain_files *
chain_of(const struct audit_chain_files *chains, size_t n, const char *node)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(chains[i].node, node) == 0)
			return &chains[i];
	cr_assert_fail("no chain of node '%s'", node);
	return NULL;
}

/* The chain holds exactly node's files, in their order. */
static void
expect_files(const struct audit_chain_files *c, const struct node *n)
{
	cr_assert_eq(c->npaths, n->nfiles, "node %s", c->node);
	for (size_t i = 0; i < n->nfiles; i++)
		cr_expect_str_eq(c->paths[i], n->files[i], "node %s file %zu",
		    c->node, i);
}

Test(audit_nodes, two_nodes_two_chains_a_tamper_fails_one, .init = setup,
    .fini = teardown)
{
	struct node a, b;
	const char *paths[2 * MAXFILES];
	struct audit_chain_files *chains;
	const struct audit_key *keys[2];
	struct audit_verify_result r;
	char err[512], ida[AUDIT_KEY_ID_HEX + 1], idb[AUDIT_KEY_ID_HEX + 1];
	char cmd[PATH_MAX * 2];
	size_t n, nchains;

	node_init(&a, "a");
	node_init(&b, "b");
	node_write(&a, "gw-a", 3, "K84001", 1);	/* rotated files too */
	node_write(&b, "gw-b", 4, "K84001", 0);
	node_files(&a);
	node_files(&b);
	cr_assert_geq(a.nfiles, 2, "a rotated: %zu files", a.nfiles);
	node_load_key(&a);
	node_load_key(&b);
	audit_key_id(a.pk, ida);
	audit_key_id(b.pk, idb);
	cr_assert_str_neq(ida, idb);
	keys[0] = b.pk;		/* either order: picked by key_id */
	keys[1] = a.pk;

	n = interleave(&a, &b, paths);
	chains = audit_chains_group(paths, n, &nchains, err, sizeof(err));
	cr_assert_not_null(chains, "%s", err);
	cr_assert_eq(nchains, 2);
	cr_expect_str_eq(chains[0].node, "gw-a");	/* first seen first */
	expect_files(chain_of(chains, nchains, "gw-a"), &a);
	expect_files(chain_of(chains, nchains, "gw-b"), &b);

	cr_assert_eq(audit_verify_chain(chain_of(chains, nchains, "gw-a"),
	    keys, 2, &r, NULL), 0, "%s", r.reason);
	cr_expect_str_eq(r.node, "gw-a");
	cr_expect_str_eq(r.key_id, ida);
	cr_expect_eq(r.first_seq, 1);
	cr_assert_eq(audit_verify_chain(chain_of(chains, nchains, "gw-b"),
	    keys, 2, &r, NULL), 0, "%s", r.reason);
	cr_expect_str_eq(r.node, "gw-b");
	cr_expect_str_eq(r.key_id, idb);
	cr_expect_eq(r.records, 6);	/* start, 4 opens, checkpoint */

	/* One byte of one of b's records: b fails there, a still passes. */
	snprintf(cmd, sizeof(cmd), "sed -i '3s/\"K84001\"/\"K84009\"/' %s",
	    b.path);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(audit_verify_chain(chain_of(chains, nchains, "gw-b"),
	    keys, 2, &r, NULL), -1);
	cr_expect_str_eq(r.bad_file, b.path);
	cr_expect_eq(r.bad_line, 3);
	cr_expect_eq(r.bad_seq, 3);
	cr_expect_str_eq(r.reason, "record edited: hash does not match");
	cr_expect_eq(audit_verify_chain(chain_of(chains, nchains, "gw-a"),
	    keys, 2, &r, NULL), 0, "%s", r.reason);

	audit_chains_free(chains, nchains);
	node_free(&a);
	node_free(&b);
	ASSERT_NO_LEAKS();
}

Test(audit_nodes, each_chain_needs_its_own_key, .init = setup,
    .fini = teardown)
{
	struct node a, b;
	struct audit_chain_files c = { .node = "gw-a" };
	const struct audit_key *keys[2];
	struct audit_verify_result r;
	char ida[AUDIT_KEY_ID_HEX + 1], idb[AUDIT_KEY_ID_HEX + 1], want[256];

	node_init(&a, "a");
	node_init(&b, "b");
	node_write(&a, "gw-a", 2, "K84001", 0);
	node_write(&b, "gw-b", 2, "K84001", 0);
	node_files(&a);
	node_files(&b);
	node_load_key(&a);
	node_load_key(&b);
	audit_key_id(a.pk, ida);
	audit_key_id(b.pk, idb);
	c.paths = (const char **)a.files;
	c.npaths = a.nfiles;

	/* b's key alone: a's checkpoint is not b's. */
	keys[0] = b.pk;
	cr_assert_eq(audit_verify_chain(&c, keys, 1, &r, NULL), -1);
	snprintf(want, sizeof(want), "forged checkpoint: key_id %s is not the "
	    "verifying key's %s", ida, idb);
	cr_expect_str_eq(r.reason, want);
	/* Several keys, none a's. */
	keys[1] = b.pk;
	cr_assert_eq(audit_verify_chain(&c, keys, 2, &r, NULL), -1);
	snprintf(want, sizeof(want), "forged checkpoint: key_id %s is none of "
	    "the 2 verifying keys'", ida);
	cr_expect_str_eq(r.reason, want);
	cr_expect_eq(r.bad_line, 4);	/* start, 2 opens, the checkpoint */

	/* a's records are not b's: the chain's node is checked. */
	keys[0] = a.pk;
	snprintf(c.node, sizeof(c.node), "gw-b");
	cr_assert_eq(audit_verify_chain(&c, keys, 2, &r, NULL), -1);
	cr_expect_str_eq(r.reason, "record of node gw-a in the chain of node "
	    "gw-b");
	cr_expect_eq(r.bad_line, 1);

	node_free(&a);
	node_free(&b);
	ASSERT_NO_LEAKS();
}

/* A node that ran before node names: its old files join it. */
Test(audit_nodes, old_files_without_node_names, .init = setup,
    .fini = teardown)
{
	struct node a, b;
	const char *paths[2 * MAXFILES];
	struct audit_chain_files *chains;
	const struct audit_key *keys[2];
	struct audit_verify_result r;
	size_t n, nchains, old;
	char err[512];

	node_init(&a, "a");
	node_init(&b, "b");
	/* Before the upgrade: rotated files and a live file, no names. */
	node_write(&a, NULL, 3, "K84001", 1);
	node_files(&a);
	old = a.nfiles - 1;
	cr_assert_geq(old, 1);
	/* After it: the same live file goes on, naming gw-a. */
	node_write(&a, "gw-a", 2, "K84001", 0);
	node_files(&a);
	cr_assert_eq(a.nfiles, old + 1);
	node_load_key(&a);
	keys[0] = a.pk;

	/* Old files alone: one chain with no node, as before names. */
	chains = audit_chains_group((const char *const *)a.files, old,
	    &nchains, err, sizeof(err));
	cr_assert_not_null(chains, "%s", err);
	cr_assert_eq(nchains, 1);
	cr_expect_str_eq(chains[0].node, "");
	cr_expect_eq(audit_verify_chain(&chains[0], keys, 1, &r, NULL), 0,
	    "%s", r.reason);
	cr_expect_str_eq(r.node, "");
	audit_chains_free(chains, nchains);
	cr_expect_eq(audit_verify2((const char *const *)a.files, old, a.pk,
	    &r, NULL), 0, "%s", r.reason);

	/* One node named: old and new files are its one chain. */
	chains = audit_chains_group((const char *const *)a.files, a.nfiles,
	    &nchains, err, sizeof(err));
	cr_assert_not_null(chains, "%s", err);
	cr_assert_eq(nchains, 1);
	cr_expect_str_eq(chains[0].node, "gw-a");
	expect_files(&chains[0], &a);
	cr_expect_eq(audit_verify_chain(&chains[0], keys, 1, &r, NULL), 0,
	    "%s", r.reason);
	cr_expect_eq(r.first_seq, 1);
	audit_chains_free(chains, nchains);

	/* With a second node, the unnamed files are a chain of their own. */
	node_write(&b, "gw-b", 1, "K84001", 0);
	node_files(&b);
	node_load_key(&b);
	keys[1] = b.pk;
	n = interleave(&a, &b, paths);
	chains = audit_chains_group(paths, n, &nchains, err, sizeof(err));
	cr_assert_not_null(chains, "%s", err);
	cr_assert_eq(nchains, 3);
	cr_expect_eq(chain_of(chains, nchains, "")->npaths, old);
	cr_expect_eq(chain_of(chains, nchains, "gw-a")->npaths, 1);
	cr_expect_str_eq(chain_of(chains, nchains, "gw-a")->paths[0], a.path);
	for (size_t i = 0; i < nchains; i++)
		cr_expect_eq(audit_verify_chain(&chains[i], keys, 2, &r, NULL),
		    0, "chain '%s': %s", chains[i].node, r.reason);
	audit_chains_free(chains, nchains);

	node_free(&a);
	node_free(&b);
	ASSERT_NO_LEAKS();
}

/* ---- which node a file is: synthetic lines --------------------------------- */

static char *
put_file(const char *name, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	path_in(p, dir, name);
	cr_assert_not_null(f = fopen(p, "w"));
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
	return strdup(p);
}

#define L(seq, node) "{\"seq\":" #seq ",\"observer.name\":\"" node "\"}\n"
#define U(seq) "{\"seq\":" #seq "}\n"

Test(audit_nodes, file_node_from_its_ends, .init = setup, .fini = teardown)
{
	static const struct {
		const char *text;
		const char *node;
	} cases[] = {
		{ L(1, "gw-a") L(2, "gw-a"), "gw-a" },
		/* Upgraded in place: the last named record counts. */
		{ U(1) U(2) L(3, "gw-a"), "gw-a" },
		/* A torn last line (no '\n', even if whole JSON) is no record. */
		{ L(1, "gw-a") "{\"seq\":2,\"observer.name\":\"gw-b\"} ", "gw-a" },
		{ L(1, "gw-a") "{\"seq\":2,\"observer.name\":\"gw-b", "gw-a" },
		{ U(1) U(2), "" },
		{ "", "" },
		/* A name no writer makes is shown harmless. */
		{ "{\"seq\":1,\"observer.name\":\"a\\u001b[2Jb\"}\n", "a??2Jb" },
	};
	struct audit_chain_files *chains;
	size_t nchains;
	char err[256], name[32], *p;

	for (size_t i = 0; i < NELEM(cases); i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		p = put_file(name, cases[i].text);
		chains = audit_chains_group((const char *const *)&p, 1,
		    &nchains, err, sizeof(err));
		cr_assert_not_null(chains, "case %zu: %s", i, err);
		cr_assert_eq(nchains, 1);
		cr_expect_str_eq(chains[0].node, cases[i].node, "case %zu", i);
		audit_chains_free(chains, nchains);
		free(p);
	}
	ASSERT_NO_LEAKS();
}

Test(audit_nodes, file_node_in_a_large_file, .init = setup, .fini = teardown)
{
	struct audit_chain_files *chains;
	size_t nchains, len = 0, cap = 200000;
	char err[256], *text = malloc(cap), *p[2];

	/* Named at the start only, unnamed for more than the tail read. */
	cr_assert_not_null(text);
	len += (size_t)snprintf(text, cap, L(1, "gw-old"));
	for (int i = 2; len + 32 < cap; i++)
		len += (size_t)snprintf(text + len, cap - len, U(%d), i);
	p[0] = put_file("big", text);
	/* Named at the end only, far from the start. */
	len = 0;
	for (int i = 1; len + 64 < cap; i++)
		len += (size_t)snprintf(text + len, cap - len, U(%d), i);
	snprintf(text + len, cap - len, L(99999, "gw-new"));
	p[1] = put_file("big2", text);
	free(text);
	chains = audit_chains_group((const char *const *)p, 2, &nchains, err,
	    sizeof(err));
	cr_assert_not_null(chains, "%s", err);
	cr_assert_eq(nchains, 2);
	cr_expect_str_eq(chains[0].node, "gw-old");
	cr_expect_str_eq(chains[1].node, "gw-new");
	audit_chains_free(chains, nchains);
	/* A file that cannot be read is an error, not a chain. */
	free(p[1]);
	p[1] = strdup("/nonexistent/audit.jsonl");
	cr_assert_null(audit_chains_group((const char *const *)p, 2, &nchains,
	    err, sizeof(err)));
	cr_expect_str_eq(err, "cannot open /nonexistent/audit.jsonl: No such "
	    "file or directory");
	free(p[0]);
	free(p[1]);
	ASSERT_NO_LEAKS();
}

/* ---- the merge ----------------------------------------------------------- */

#define R(seq, ts, node) "{\"seq\":" #seq ",\"@timestamp\":\"" ts "\"," \
	"\"observer.name\":\"" node "\"}\n"

/* "node:seq ..." of every record the merge gives, stopping chain stop
 * after its first record (-1: never). */
static char *
merge_order(struct audit_chain_files *c, size_t n, int stop)
{
	struct audit_merge *m = audit_merge_new(c, n);
	struct audit_merge_item it;
	char *out = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int r;

	cr_assert_not_null(f);
	while ((r = audit_merge_next(m, &it, err, sizeof(err))) == 1) {
		if (it.rec == NULL)
			fprintf(f, "x:%s:%llu ", strrchr(it.path, '/') + 1,
			    it.lineno);
		else
			fprintf(f, "%s:%lld ", json_string_value(
			    json_object_get(it.rec, "observer.name")),
			    (long long)json_integer_value(json_object_get(
			    it.rec, "seq")));
		if ((int)it.chain == stop)
			audit_merge_stop(m, it.chain);
	}
	cr_assert_eq(r, 0, "%s", err);
	audit_merge_free(m);
	fclose(f);
	return out;
}

Test(audit_nodes, merge_in_time_order, .init = setup, .fini = teardown)
{
	char *a1 = put_file("a1",
	    R(1, "2026-12-06T10:00:00.000Z", "gw-a")
	    R(2, "2026-12-06T10:00:02.000Z", "gw-a"));
	char *a2 = put_file("a2",
	    R(3, "2026-12-06T10:00:02.000Z", "gw-a")
	    "not a record\n"
	    R(4, "2026-12-06T10:00:05.000Z", "gw-a"));
	char *b1 = put_file("b1",
	    R(1, "2026-12-06T10:00:01.000Z", "gw-b")
	    R(2, "2026-12-06T10:00:02.000Z", "gw-b")
	    /* The clock set back: still after b's record 2. */
	    R(3, "2026-12-06T09:59:00.000Z", "gw-b")
	    R(4, "2026-12-06T10:00:03.000Z", "gw-b"));
	const char *pa[] = { a1, a2 }, *pb[] = { b1 };
	struct audit_chain_files c[2] = {
		{ .node = "gw-b", .paths = pb, .npaths = 1 },
		{ .node = "gw-a", .paths = pa, .npaths = 2 },
	};
	char *got;

	/* Same time: gw-a before gw-b, then seq; a line that is not a
	 * record comes out where it stood. */
	got = merge_order(c, 2, -1);
	cr_expect_str_eq(got, "gw-a:1 gw-b:1 gw-a:2 gw-a:3 x:a2:2 gw-b:2 "
	    "gw-b:3 gw-b:4 gw-a:4 ");
	free(got);
	/* A stopped chain gives no more. */
	got = merge_order(c, 2, 0);
	cr_expect_str_eq(got, "gw-a:1 gw-b:1 gw-a:2 gw-a:3 x:a2:2 gw-a:4 ");
	free(got);
	/* One chain: its files' order exactly. */
	got = merge_order(&c[1], 1, -1);
	cr_expect_str_eq(got, "gw-a:1 gw-a:2 gw-a:3 x:a2:2 gw-a:4 ");
	free(got);
	free(a1);
	free(a2);
	free(b1);
	ASSERT_NO_LEAKS();
}

Test(audit_nodes, merge_read_error, .init = setup, .fini = teardown)
{
	const char *p[] = { "/nonexistent/a" };
	struct audit_chain_files c = { .node = "gw-a", .paths = p,
	    .npaths = 1 };
	struct audit_merge *m = audit_merge_new(&c, 1);
	struct audit_merge_item it;
	char err[256];

	cr_expect_eq(audit_merge_next(m, &it, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "cannot open /nonexistent/a: No such file or "
	    "directory");
	audit_merge_free(m);
	ASSERT_NO_LEAKS();
}
