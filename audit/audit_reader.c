/*
 * The audit reader: verifies files of the hash chain (audit_format.h)
 * against the public key, accepting redaction stubs by their structure,
 * and matches records against a filter. mwgctl uses it offline; it never
 * needs the daemon or the private key.
 */
#include "audit/audit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The writer seals records of at most AUDIT_RECORD_MAX bytes. */
#define AUDIT_LINE_MAX		(AUDIT_RECORD_MAX + AUDIT_SEAL_EXTRA)
#define CHECKPOINT_ACTION	"audit.checkpoint"
/* "mwg-audit-v1 <seq> <prev>": a 20-digit seq at most, two spaces. */
#define CHECKPOINT_TEXT_MAX	(sizeof(AUDIT_SIG_CONTEXT) + 22 + AUDIT_HASH_HEX)
/* As the writer serialises, so that a stub has one exact form. */
#define STUB_DUMP_FLAGS		(JSON_COMPACT | JSON_PRESERVE_ORDER | \
				    JSON_ENSURE_ASCII)

/* Every key a redaction stub may have, in its order (audit_format.h). */
static const char *const stub_keys[] = {
	"seq", "@timestamp", "event.action", "event.outcome",
	"organization.id", "audit.redacted_reason", "prev", "hash",
};

struct verify_state {
	const struct audit_key *const *keys;	/* those a checkpoint may use */
	size_t nkeys;
	const struct audit_key *pub;	/* the one the chain uses, once known */
	char key_id[AUDIT_KEY_ID_HEX + 1];
	const char *node;		/* every named record's; NULL: any */
	int anchored;			/* the chain's start has been seen */
	unsigned long long next_seq;	/* the seq the next record must have */
	char prev[AUDIT_HASH_HEX + 1];	/* hash of the record before */
	const char *path;
	unsigned long long line;
	unsigned long long redacted;	/* stubs accepted */
	struct audit_verify_result *out;
};

static int bad(struct verify_state *, unsigned long long, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first failure in the result; always returns -1. */
static int
bad(struct verify_state *st, unsigned long long seq, const char *fmt, ...)
{
	struct audit_verify_result *out = st->out;
	va_list ap;

	out->ok = 0;
	out->bad_seq = seq;
	out->bad_line = st->line;
	snprintf(out->bad_file, sizeof(out->bad_file), "%s", st->path);
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	/* Reasons quote the file, and are shown on terminals. */
	for (char *p = out->reason; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

static int
field_is(json_t *rec, const char *key, const char *want, int nocase)
{
	const char *v = json_string_value(json_object_get(rec, key));

	if (v == NULL)
		return 0;
	return nocase ? strcasecmp(v, want) == 0 : strcmp(v, want) == 0;
}

/*
 * The seq a line that cannot be trusted should have had. Before the chain
 * is anchored nothing says, so take what the line claims (a pruned file
 * starts far from 1), else 1.
 */
static unsigned long long
expected_seq(const struct verify_state *st, const char *line, size_t len)
{
	json_int_t seq = 0;
	json_t *rec;

	if (st->anchored)
		return st->next_seq;
	if (line != NULL && (rec = json_loadb(line, len, 0, NULL)) != NULL) {
		seq = json_integer_value(json_object_get(rec, "seq"));
		json_decref(rec);
	}
	return seq > 0 ? (unsigned long long)seq : 1;
}

/*
 * With several keys (several nodes'), the chain's first checkpoint picks
 * the one it names; later checkpoints must use the same. 0, or -1 if no
 * key given has that id.
 */
static int
pick_key(struct verify_state *st, const char *kid, unsigned long long seq)
{
	char id[AUDIT_KEY_ID_HEX + 1];

	if (st->pub != NULL)
		return 0;
	for (size_t i = 0; kid != NULL && i < st->nkeys; i++) {
		audit_key_id(st->keys[i], id);
		if (strcmp(id, kid) == 0) {
			st->pub = st->keys[i];
			memcpy(st->key_id, id, sizeof(st->key_id));
			memcpy(st->out->key_id, id, sizeof(st->key_id));
			return 0;
		}
	}
	return bad(st, seq, "forged checkpoint: key_id %.32s is none of the "
	    "%zu verifying keys'", kid ? kid : "(none)", st->nkeys);
}

/* A checkpoint must be ours and its signature must cover seq - 1, prev. */
static int
check_checkpoint(struct verify_state *st, json_t *rec, unsigned long long seq,
    const char *prev)
{
	const char *kid, *sig;
	char text[CHECKPOINT_TEXT_MAX];
	size_t n;

	kid = json_string_value(json_object_get(rec, "audit.key_id"));
	sig = json_string_value(json_object_get(rec, "audit.signature"));
	if (pick_key(st, kid, seq) == -1)
		return -1;
	if (kid == NULL || strcmp(kid, st->key_id) != 0)
		return bad(st, seq, "forged checkpoint: key_id %.32s is not "
		    "the verifying key's %s", kid ? kid : "(none)", st->key_id);
	if (strlen(prev) != AUDIT_HASH_HEX)
		return bad(st, seq, "forged checkpoint: prev is not a hash");
	n = audit_checkpoint_text(text, sizeof(text), seq - 1, prev);
	if (sig == NULL || n == 0 || !audit_key_verify(st->pub, text, n, sig))
		return bad(st, seq, "forged checkpoint: signature does not "
		    "verify");
	return 0;
}

/*
 * The chain's first record: seq 1 from the genesis hash, or a checkpoint
 * whose signature vouches for the seq and prev it starts from.
 */
static int
check_start(struct verify_state *st, json_t *rec, unsigned long long seq,
    const char *prev, int is_checkpoint)
{
	if (is_checkpoint)
		return check_checkpoint(st, rec, seq, prev);
	if (seq != 1)
		return bad(st, 1, "chain has no start: expected seq 1 or a "
		    "signed checkpoint, found seq %llu", seq);
	if (strcmp(prev, AUDIT_GENESIS) != 0)
		return bad(st, 1, "chain broken: seq 1 does not start from "
		    "the genesis hash");
	return 0;
}

/*
 * observer.name is inside the hash, so it cannot be changed unseen; but a
 * record of another node in this chain (or a name no writer makes) is
 * not this node's record.
 */
static int
check_node(struct verify_state *st, json_t *rec, unsigned long long seq)
{
	json_t *v = json_object_get(rec, "observer.name");
	const char *name = json_string_value(v);

	if (v == NULL)
		return 0;
	if (name == NULL || !audit_node_name_valid(name))
		return bad(st, seq, "observer.name is not a valid node name");
	if (st->node != NULL && strcmp(name, st->node) != 0)
		return bad(st, seq, "record of node %s in the chain of node %s",
		    name, st->node);
	if (st->out->node[0] == '\0')
		snprintf(st->out->node, sizeof(st->out->node), "%s", name);
	return 0;
}

/* One parsed record whose hash is right: its place in the chain. */
static int
check_record(struct verify_state *st, json_t *rec, const char *hash)
{
	json_t *jseq = json_object_get(rec, "seq");
	const char *prev, *action;
	unsigned long long seq;
	int is_checkpoint;

	if (!json_is_integer(jseq) || json_integer_value(jseq) < 1)
		return bad(st, expected_seq(st, NULL, 0), "record has no "
		    "valid seq");
	seq = (unsigned long long)json_integer_value(jseq);
	prev = json_string_value(json_object_get(rec, "prev"));
	action = json_string_value(json_object_get(rec, "event.action"));
	is_checkpoint = action && strcmp(action, CHECKPOINT_ACTION) == 0;
	if (prev == NULL)
		return bad(st, seq, "chain broken: record has no prev");
	if (check_node(st, rec, seq) == -1)
		return -1;
	if (!st->anchored) {
		if (check_start(st, rec, seq, prev, is_checkpoint) == -1)
			return -1;
		st->anchored = 1;
		st->out->first_seq = seq;
	} else {
		if (seq != st->next_seq)
			return bad(st, st->next_seq, "record missing or "
			    "reordered: expected seq %llu, found %llu",
			    st->next_seq, seq);
		if (strcmp(prev, st->prev) != 0)
			return bad(st, seq, "chain broken: prev does not "
			    "match the record before");
		if (is_checkpoint &&
		    check_checkpoint(st, rec, seq, prev) == -1)
			return -1;
	}
	if (is_checkpoint) {
		st->out->checkpoints++;
		st->out->sealed_seq = seq - 1;
	}
	st->out->records++;
	st->out->last_seq = seq;
	st->next_seq = seq + 1;
	memcpy(st->prev, hash, sizeof(st->prev));
	return 0;
}

char *
audit_redaction_stub(json_t *rec, const char *reason)
{
	json_t *org = json_object_get(rec, "organization.id"), *stub;
	char *line = NULL;

	if (!json_is_integer(json_object_get(rec, "seq")) ||
	    !json_is_string(json_object_get(rec, "@timestamp")) ||
	    !json_is_string(json_object_get(rec, "prev")) ||
	    !json_is_string(json_object_get(rec, "hash")) ||
	    (org != NULL && !json_is_string(org)) ||
	    (stub = json_object()) == NULL)
		return NULL;
	/* Only what says where the record stood: nothing about whom. */
	if (json_object_set(stub, "seq", json_object_get(rec, "seq")) == 0 &&
	    json_object_set(stub, "@timestamp",
	    json_object_get(rec, "@timestamp")) == 0 &&
	    json_object_set_new(stub, "event.action",
	    json_string(AUDIT_REDACTED_ACTION)) == 0 &&
	    json_object_set_new(stub, "event.outcome",
	    json_string("unknown")) == 0 &&
	    (org == NULL ||
	    json_object_set(stub, "organization.id", org) == 0) &&
	    json_object_set_new(stub, "audit.redacted_reason",
	    json_string(reason)) == 0 &&
	    json_object_set(stub, "prev", json_object_get(rec, "prev")) == 0 &&
	    json_object_set(stub, "hash", json_object_get(rec, "hash")) == 0)
		line = json_dumps(stub, STUB_DUMP_FLAGS);
	json_decref(stub);
	/* A stub the verifier would call too long is no stub. */
	if (line != NULL && strlen(line) > AUDIT_LINE_MAX) {
		free(line);
		line = NULL;
	}
	return line;
}

/*
 * A stub's hash is the removed record's, not its own body's, so nothing
 * seals its text: accept only the exact form audit_redaction_stub writes,
 * so that no field of the original (user.name, source.ip...) can hide in
 * it. Its seq and prev are then checked like any record's.
 */
static int
check_stub(struct verify_state *st, json_t *rec, const char *line, size_t len)
{
	const char *key, *reason;
	json_t *v;
	char *want;
	size_t i;
	int same;

	json_object_foreach(rec, key, v) {
		for (i = 0; i < sizeof(stub_keys) / sizeof(stub_keys[0]); i++)
			if (strcmp(key, stub_keys[i]) == 0)
				break;
		if (i == sizeof(stub_keys) / sizeof(stub_keys[0]))
			return bad(st, expected_seq(st, line, len), "redaction "
			    "stub carries a field a stub may not: %.64s", key);
	}
	reason = json_string_value(json_object_get(rec,
	    "audit.redacted_reason"));
	want = reason != NULL ? audit_redaction_stub(rec, reason) : NULL;
	same = want != NULL && strlen(want) == len &&
	    memcmp(want, line, len) == 0;
	free(want);
	if (!same)
		return bad(st, expected_seq(st, line, len), "redaction stub "
		    "not in its exact form (keys, order, outcome, reason)");
	return 0;
}

/* One line without its '\n'. */
static int
check_line(struct verify_state *st, const char *line, size_t len)
{
	char claimed[AUDIT_HASH_HEX + 1], computed[AUDIT_HASH_HEX + 1];
	json_error_t jerr;
	json_t *rec;
	int rc, is_stub;

	if (len > AUDIT_LINE_MAX)
		return bad(st, expected_seq(st, NULL, 0), "record too long "
		    "(%zu bytes, at most %zu)", len, (size_t)AUDIT_LINE_MAX);
	if (audit_line_check(line, len, claimed, computed) == -1)
		return bad(st, expected_seq(st, line, len), "not a sealed "
		    "audit record");
	/* Duplicate keys would let a line say two things at once. */
	rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	is_stub = field_is(rec, "event.action", AUDIT_REDACTED_ACTION, 0);
	if (!is_stub && strcmp(claimed, computed) != 0) {
		json_decref(rec);
		return bad(st, expected_seq(st, line, len), "record edited: "
		    "hash does not match");
	}
	if (rec == NULL || !json_is_object(rec)) {
		json_decref(rec);
		return bad(st, expected_seq(st, NULL, 0), "not a JSON "
		    "object: %s", rec == NULL ? jerr.text : "not an object");
	}
	if (is_stub && check_stub(st, rec, line, len) == -1)
		rc = -1;
	else
		rc = check_record(st, rec, claimed);
	if (rc == 0 && is_stub)
		st->redacted++;
	json_decref(rec);
	return rc;
}

static int
verify_file(struct verify_state *st, const char *path)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc = 0;

	st->path = path;
	st->line = 0;
	if ((f = fopen(path, "re")) == NULL)
		return bad(st, expected_seq(st, NULL, 0), "cannot open: %s",
		    strerror(errno));
	while ((n = getline(&buf, &cap, f)) != -1) {
		st->line++;
		if (buf[n - 1] != '\n') {
			rc = bad(st, expected_seq(st, buf, (size_t)n),
			    "torn last line");
			break;
		}
		if ((rc = check_line(st, buf, (size_t)n - 1)) == -1)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = bad(st, expected_seq(st, NULL, 0), "cannot read: %s",
		    strerror(errno));
	free(buf);
	fclose(f);
	return rc;
}

int
audit_verify(const char *const *paths, size_t npaths,
    const struct audit_key *pub, struct audit_verify_result *out)
{
	return audit_verify2(paths, npaths, pub, out, NULL);
}

/* The chain in paths; node NULL: any. One key is the chain's from the
 * start (its id is named when a checkpoint is not its). */
static int
verify_paths(const char *const *paths, size_t npaths, const char *node,
    const struct audit_key *const *keys, size_t nkeys,
    struct audit_verify_result *out, unsigned long long *redacted)
{
	struct verify_state st;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	out->ok = 1;
	st.out = out;
	st.keys = keys;
	st.nkeys = nkeys;
	st.node = node;
	st.next_seq = 1;
	if (nkeys == 1) {
		st.pub = keys[0];
		audit_key_id(keys[0], st.key_id);
		memcpy(out->key_id, st.key_id, sizeof(out->key_id));
	}
	for (size_t i = 0; rc == 0 && i < npaths; i++)
		rc = verify_file(&st, paths[i]);
	if (redacted != NULL)
		*redacted = st.redacted;
	return rc;
}

int
audit_verify2(const char *const *paths, size_t npaths,
    const struct audit_key *pub, struct audit_verify_result *out,
    unsigned long long *redacted)
{
	return verify_paths(paths, npaths, NULL, &pub, 1, out, redacted);
}

int
audit_verify_chain(const struct audit_chain_files *c,
    const struct audit_key *const *keys, size_t nkeys,
    struct audit_verify_result *out, unsigned long long *redacted)
{
	return verify_paths(c->paths, c->npaths, c->node[0] ? c->node : NULL,
	    keys, nkeys, out, redacted);
}

/* Two digits or four, as a number; -1 if they are not all digits. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "+01:00" / "-05:30" into seconds east of UTC; -1 if malformed. */
static int
utc_offset(const char *s, long *off)
{
	int h, m;

	if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
		return -1;
	h = digits(s + 1, 2);
	m = digits(s + 4, 2);
	if (h < 0 || h > 23 || m < 0 || m > 59)
		return -1;
	*off = (s[0] == '-' ? -60L : 60L) * (h * 60 + m);
	return 0;
}

int
audit_parse_time(const char *s, time_t *t)
{
	struct tm tm, back;
	long off = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strlen(s) < 10 || s[4] != '-' || s[7] != '-')
		return -1;
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	if (s[10] != '\0') {
		if (strlen(s) < 20 || s[10] != 'T' || s[13] != ':' ||
		    s[16] != ':')
			return -1;
		tm.tm_hour = digits(s + 11, 2);
		tm.tm_min = digits(s + 14, 2);
		tm.tm_sec = digits(s + 17, 2);
		s += 19;
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++)
				;
		if (strcmp(s, "Z") != 0 && utc_offset(s, &off) == -1)
			return -1;
	}
	if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 1 ||
	    tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
		return -1;
	back = tm;
	/* timegm normalises 31 November into December: refuse that. */
	if ((*t = timegm(&tm)) == (time_t)-1 || tm.tm_year != back.tm_year ||
	    tm.tm_mon != back.tm_mon || tm.tm_mday != back.tm_mday ||
	    tm.tm_hour != back.tm_hour || tm.tm_min != back.tm_min ||
	    tm.tm_sec != back.tm_sec)
		return -1;
	*t -= off;
	return 0;
}

static int
record_time(json_t *rec, time_t *t)
{
	return audit_parse_time(json_string_value(json_object_get(rec,
	    "@timestamp")), t);
}

int
audit_filter_match(const struct audit_filter *f, json_t *record)
{
	const char *action;
	size_t elen;
	time_t t;

	if (!json_is_object(record))
		return 0;
	if (f->user != NULL && !field_is(record, "user.name", f->user, 0))
		return 0;
	/* ODS codes are upper case in records; people type them either way. */
	if (f->practice != NULL &&
	    !field_is(record, "organization.id", f->practice, 1))
		return 0;
	if (f->event != NULL) {
		action = json_string_value(json_object_get(record,
		    "event.action"));
		elen = strlen(f->event);
		if (action == NULL)
			return 0;
		if (elen > 0 && f->event[elen - 1] == '.' ?
		    strncmp(action, f->event, elen) != 0 :
		    strcmp(action, f->event) != 0)
			return 0;
	}
	if (f->since == 0 && f->until == 0)
		return 1;
	/* Whole seconds suffice: since and until are whole seconds. */
	if (record_time(record, &t) == -1)
		return 0;
	if (f->since != 0 && t < f->since)
		return 0;
	if (f->until != 0 && t >= f->until)
		return 0;
	return 1;
}
