/*
 * The audit trail's on-disk format, shared by the writer, the reader,
 * mwgctl and the forwarder. docs/audit.md explains it for the cyber team.
 *
 * A file is JSON Lines. Each record is one compact JSON object whose keys
 * come in this order:
 *
 *   "seq", "@timestamp", "event.action", "event.outcome", <fields>,
 *   "prev", "hash"
 *
 * seq        counts records of the whole chain from 1, across rotated files.
 * @timestamp UTC, RFC 3339 with milliseconds ("2026-11-25T16:42:32.249Z").
 * prev       the "hash" of the record before (AUDIT_GENESIS for seq 1).
 * hash       SHA-256 (lower-case hex) of the record serialised without its
 *            "hash" member: the line's bytes up to, not including, the
 *            final ',"hash":"' plus a closing '}'. audit_seal() and
 *            audit_line_check() are the one implementation of this rule.
 *
 * Checkpoints are records with event.action "audit.checkpoint" and
 *   "audit.key_id"    first 16 hex of SHA-256 of the raw Ed25519 public key
 *   "audit.signature" base64 Ed25519 signature over the text
 *                     "mwg-audit-v1 <seq - 1> <prev>"
 * so a valid checkpoint seals every record before it. A file may begin
 * with a checkpoint (after rotation or prune): its seq and prev are then
 * taken as given once its signature verifies, and the file verifies on its
 * own. A checkpoint is written every N records or T seconds, at rotation
 * and at a clean stop.
 *
 * The audit key: Ed25519, PKCS#8 PEM, mode 0600, made at first start;
 * its public half beside it as KEY.pub (SubjectPublicKeyInfo PEM).
 */
#ifndef MWG_AUDIT_FORMAT_H
#define MWG_AUDIT_FORMAT_H

#include <stddef.h>

#define AUDIT_HASH_HEX		64
#define AUDIT_GENESIS							\
	"0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_SIG_CONTEXT	"mwg-audit-v1"
#define AUDIT_KEY_ID_HEX	16
#define AUDIT_SIG_B64_MAX	100	/* base64 of a 64-byte signature + NUL */
#define AUDIT_SEAL_EXTRA	(sizeof(",\"hash\":\"\"}\n") + AUDIT_HASH_HEX)

/*
 * Seals body (a compact JSON object ending in '}', without "hash") into
 * out as a full line ending in '\n', and gives its hash. out needs
 * body_len + AUDIT_SEAL_EXTRA bytes. Returns the line's length, 0 on error.
 */
size_t audit_seal(const char *body, size_t body_len, char *out, size_t outlen,
    char hash_hex[AUDIT_HASH_HEX + 1]);

/*
 * Checks one line (without its '\n'): it must end in ',"hash":"<64 hex>"}'.
 * Fills claimed with that hash and computed with the hash of the body it
 * was sealed from. Returns 0 if the shape is right (compare the two to
 * know whether the line was altered), -1 if it is not a sealed record.
 */
int audit_line_check(const char *line, size_t len,
    char claimed[AUDIT_HASH_HEX + 1], char computed[AUDIT_HASH_HEX + 1]);

/* The text a checkpoint signs, into buf; returns its length. */
size_t audit_checkpoint_text(char *buf, size_t len, unsigned long long seq,
    const char *prev_hex);

/* An Ed25519 audit key (private for mwgd, public for verifiers). */
struct audit_key;

/* Loads path, or makes it (0600) and path.pub if it does not exist. */
struct audit_key *audit_key_load_or_create(const char *path, char *err,
    size_t errlen);
/* Loads a public key (KEY.pub) or a private key file; NULL with err. */
struct audit_key *audit_key_load(const char *path, char *err, size_t errlen);
void audit_key_free(struct audit_key *k);
/* "1f2e..." (AUDIT_KEY_ID_HEX chars + NUL). */
void audit_key_id(const struct audit_key *k, char id[AUDIT_KEY_ID_HEX + 1]);
/* Base64 signature of msg into sig (AUDIT_SIG_B64_MAX); 0 or -1. */
int audit_key_sign(const struct audit_key *k, const char *msg, size_t len,
    char sig[AUDIT_SIG_B64_MAX]);
/* 1 if sig (base64) is k's signature of msg, else 0. */
int audit_key_verify(const struct audit_key *k, const char *msg, size_t len,
    const char *sig);

/*
 * Redaction stubs: retention is per practice (each is its own data
 * controller), yet a chained file cannot lose one practice's records
 * without breaking the chain. So an expired record is replaced, in place,
 * by a stub with exactly these keys in this order:
 *
 *   "seq", "@timestamp", "event.action":"audit.redacted",
 *   "event.outcome":"unknown", ["organization.id",]
 *   "audit.redacted_reason", "prev", "hash"
 *
 * seq, @timestamp, organization.id (if the record had one), prev and hash
 * are the original record's; nothing else of it survives (no user.name,
 * device.id, source.ip...). The stub's hash is therefore not the hash of
 * its own body: a verifier accepts it by structure (that exact key set and
 * order, in the writer's compact form), checks its seq and prev like any
 * record's and takes its hash as given for the next record's prev.
 * Checkpoints after it still verify: they sign the original hash.
 *
 * What a stub proves: a record stood at that place and was removed. It
 * cannot prove why, nor its stated time, practice or reason: anyone able
 * to write the file can redact a record (visibly, and counted by verify),
 * but cannot alter what remains undetected. Checkpoints are never
 * redacted by mwgctl.
 */

#endif
