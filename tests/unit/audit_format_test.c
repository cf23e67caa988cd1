/*
 * The audit chain's one rule and the audit key: sealing, checking, and
 * checkpoint signatures, including the edits an attacker would try.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_format.h"

static const char BODY[] = "{\"seq\":1,\"@timestamp\":\"2026-11-25T16:42:32.249Z\","
    "\"event.action\":\"tunnel.open\",\"event.outcome\":\"success\",\"prev\":\""
    AUDIT_GENESIS "\"}";

Test(audit_format, seal_then_check)
{
	char line[sizeof(BODY) + AUDIT_SEAL_EXTRA], hash[65], claimed[65],
	    computed[65];
	size_t n = audit_seal(BODY, strlen(BODY), line, sizeof(line), hash);

	cr_assert_gt(n, strlen(BODY));
	cr_assert_eq(line[n - 1], '\n');
	cr_assert_eq(audit_line_check(line, n - 1, claimed, computed), 0);
	cr_assert_str_eq(claimed, hash);
	cr_assert_str_eq(computed, hash);
	/* Known answer: the hash is SHA-256 of the body exactly. */
	{
		char cmd[1024], expect[65] = "";
		FILE *p;

		snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | sha256sum", BODY);
		p = popen(cmd, "r");
		cr_assert_not_null(p);
		cr_assert_eq(fscanf(p, "%64s", expect), 1);
		pclose(p);
		cr_assert_str_eq(hash, expect);
	}
}

Test(audit_format, any_edit_changes_the_computed_hash)
{
	char line[sizeof(BODY) + AUDIT_SEAL_EXTRA], hash[65], claimed[65],
	    computed[65];
	size_t n = audit_seal(BODY, strlen(BODY), line, sizeof(line), hash);

	for (size_t i = 0; i + 68 < n - 1; i++) {	/* every body byte */
		char saved = line[i];

		line[i] = saved == 'x' ? 'y' : 'x';
		if (audit_line_check(line, n - 1, claimed, computed) == 0)
			cr_assert_str_neq(claimed, computed, "byte %zu", i);
		line[i] = saved;
	}
}

Test(audit_format, malformed_lines_are_not_records)
{
	static const char *bad[] = {
		"", "{}", "not json",
		"{\"seq\":1,\"hash\":\"abc\"}",
		"{\"seq\":1,\"hash\":\"" AUDIT_GENESIS "\"} ",
		"{\"seq\":1,\"hash\":\"" AUDIT_GENESIS "0\"}",
		"{\"seq\":1,\"hash\":\"ABCDEF0000000000000000000000000000000000000000000000000000000000\"}",
		"{\"seq\":1,\"hash\":\"zz00000000000000000000000000000000000000000000000000000000000000\"}",
	};
	char claimed[65], computed[65];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(audit_line_check(bad[i], strlen(bad[i]), claimed,
		    computed), -1, "case %zu", i);
	cr_assert_eq(audit_seal("{}x", 3, claimed, sizeof(claimed), computed),
	    0);
}

Test(audit_format, key_sign_verify_and_public_half)
{
	char dir[] = "/tmp/mwg-akey.XXXXXX", path[256], pub[300], err[256];
	char sig[AUDIT_SIG_B64_MAX], id1[17], id2[17], text[200];
	struct audit_key *k, *pk, *again;
	struct stat st;
	size_t len;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.key", dir);
	snprintf(pub, sizeof(pub), "%s.pub", path);
	k = audit_key_load_or_create(path, err, sizeof(err));
	cr_assert_not_null(k, "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	len = audit_checkpoint_text(text, sizeof(text), 41, AUDIT_GENESIS);
	cr_assert_str_eq(text, "mwg-audit-v1 41 " AUDIT_GENESIS);
	cr_assert_eq(audit_key_sign(k, text, len, sig), 0);
	cr_assert_eq(strlen(sig), 88);
	pk = audit_key_load(pub, err, sizeof(err));
	cr_assert_not_null(pk, "%s", err);
	cr_assert_eq(audit_key_verify(pk, text, len, sig), 1);
	text[13] = '2';		/* another seq */
	cr_assert_eq(audit_key_verify(pk, text, len, sig), 0);
	text[13] = '4';
	sig[5] = sig[5] == 'A' ? 'B' : 'A';
	cr_assert_eq(audit_key_verify(pk, text, len, sig), 0);
	cr_assert_eq(audit_key_verify(pk, text, len, "short"), 0);
	cr_assert_eq(audit_key_sign(pk, text, len, sig), -1, "public keys "
	    "cannot sign");
	audit_key_id(k, id1);
	audit_key_id(pk, id2);
	cr_assert_str_eq(id1, id2);
	cr_assert_eq(strlen(id1), 16);
	/* A second start loads the same key instead of making another. */
	again = audit_key_load_or_create(path, err, sizeof(err));
	cr_assert_not_null(again);
	audit_key_id(again, id2);
	cr_assert_str_eq(id1, id2);
	audit_key_free(k);
	audit_key_free(pk);
	audit_key_free(again);
	unlink(pub);
	unlink(path);
	rmdir(dir);
}
