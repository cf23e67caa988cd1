/*
 * The hash chain's one rule (audit_format.h): a record's hash covers the
 * record as serialised without its "hash" member. Sealing appends the
 * member; checking strips it again and recomputes.
 */
#include "audit/audit_format.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

static const char HASH_KEY[] = ",\"hash\":\"";

/*
 * Hashing is the writer's hot path: the digest is fetched once and each
 * thread keeps one context (freed when the thread ends), instead of an
 * implicit fetch and an allocation per record.
 */
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha_md;
static pthread_key_t sha_ctx_key;

static void
sha_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void
sha_init(void)
{
	sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (pthread_key_create(&sha_ctx_key, sha_ctx_free) != 0)
		sha_md = NULL;
}

static EVP_MD_CTX *
sha_ctx(void)
{
	EVP_MD_CTX *ctx;

	if (pthread_once(&sha_once, sha_init) != 0 || sha_md == NULL)
		return NULL;
	if ((ctx = pthread_getspecific(sha_ctx_key)) == NULL &&
	    (ctx = EVP_MD_CTX_new()) != NULL &&
	    pthread_setspecific(sha_ctx_key, ctx) != 0) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static int
sha256_hex(const char *a, size_t alen, const char *b, size_t blen,
    char hex[AUDIT_HASH_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = sha_ctx();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, sha_md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, a, alen) != 1 ||
	    EVP_DigestUpdate(ctx, b, blen) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		return -1;
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[AUDIT_HASH_HEX] = '\0';
	return 0;
}

size_t
audit_seal(const char *body, size_t body_len, char *out, size_t outlen,
    char hash_hex[AUDIT_HASH_HEX + 1])
{
	size_t n;

	if (body_len < 2 || body[0] != '{' || body[body_len - 1] != '}' ||
	    outlen < body_len + AUDIT_SEAL_EXTRA)
		return 0;
	if (sha256_hex(body, body_len, "", 0, hash_hex) == -1)
		return 0;
	n = body_len - 1;
	memcpy(out, body, n);
	memcpy(out + n, HASH_KEY, sizeof(HASH_KEY) - 1);
	n += sizeof(HASH_KEY) - 1;
	memcpy(out + n, hash_hex, AUDIT_HASH_HEX);
	n += AUDIT_HASH_HEX;
	memcpy(out + n, "\"}\n", 3);
	return n + 3;
}

int
audit_line_check(const char *line, size_t len,
    char claimed[AUDIT_HASH_HEX + 1], char computed[AUDIT_HASH_HEX + 1])
{
	size_t tail = sizeof(HASH_KEY) - 1 + AUDIT_HASH_HEX + 2;
	const char *h;

	if (len < tail + 2 || line[0] != '{' || line[len - 1] != '}' ||
	    line[len - 2] != '"')
		return -1;
	if (memcmp(line + len - tail, HASH_KEY, sizeof(HASH_KEY) - 1) != 0)
		return -1;
	h = line + len - tail + sizeof(HASH_KEY) - 1;
	for (int i = 0; i < AUDIT_HASH_HEX; i++)
		if (!isxdigit((unsigned char)h[i]) ||
		    isupper((unsigned char)h[i]))
			return -1;
	memcpy(claimed, h, AUDIT_HASH_HEX);
	claimed[AUDIT_HASH_HEX] = '\0';
	/* The body: everything before ,"hash":" and a closing brace. */
	return sha256_hex(line, len - tail, "}", 1, computed);
}

size_t
audit_checkpoint_text(char *buf, size_t len, unsigned long long seq,
    const char *prev_hex)
{
	int n = snprintf(buf, len, "%s %llu %s", AUDIT_SIG_CONTEXT, seq,
	    prev_hex);

	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}
