/*
 * The audit key: Ed25519 through OpenSSL's EVP interface. mwgd signs
 * checkpoints with the private key; verifiers need only KEY.pub.
 */
#include "audit/audit_format.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/safefile.h"
#include "common/xmalloc.h"

#define AUDIT_KEY_FILE_MAX	8192	/* a PEM Ed25519 key is ~120 bytes */

struct audit_key {
	EVP_PKEY *pkey;
	int is_private;
};

static void
ossl_err(char *err, size_t errlen, const char *what, const char *path)
{
	char buf[160];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	ERR_clear_error();
	snprintf(err, errlen, "%s %s: %s", what, path, buf);
}

/* Made by root at mwgd's first start, maybe in the daemon's directory:
 * created with O_EXCL in a checked directory, never through a link. */
static int
write_pem(const char *path, EVP_PKEY *k, int private, char *err,
    size_t errlen)
{
	char why[SAFEFILE_ERR_MAX];
	int fd = safefile_open(path, O_WRONLY | O_CREAT | O_EXCL,
	    private ? 0600 : 0644, NULL, why, sizeof(why));
	FILE *f;
	int ok;

	if (fd == -1) {
		snprintf(err, errlen, "cannot create the audit key: %s", why);
		return -1;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	ok = private ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_PUBKEY(f, k);
	if (fclose(f) != 0 || ok != 1) {
		ossl_err(err, errlen, "cannot write", path);
		unlink(path);
		return -1;
	}
	return 0;
}

static struct audit_key *
key_create(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct audit_key *ak;
	char *pub;

	if (k == NULL) {
		ossl_err(err, errlen, "cannot make an Ed25519 key for", path);
		return NULL;
	}
	pub = xasprintf("%s.pub", path);
	if (write_pem(path, k, 1, err, errlen) == -1 ||
	    write_pem(pub, k, 0, err, errlen) == -1) {
		unlink(path);
		free(pub);
		EVP_PKEY_free(k);
		return NULL;
	}
	free(pub);
	ak = xcalloc(1, sizeof(*ak));
	ak->pkey = k;
	ak->is_private = 1;
	return ak;
}

/* The key in the PEM text buf (private, else public). */
static struct audit_key *
key_parse(const char *buf, size_t len, const char *path, char *err,
    size_t errlen)
{
	struct audit_key *ak;
	EVP_PKEY *k = NULL;
	int is_private = 0;
	BIO *b;

	if (len > INT_MAX || (b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		snprintf(err, errlen, "cannot read %s", path);
		return NULL;
	}
	if ((k = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"")) != NULL)
		is_private = 1;
	else {
		ERR_clear_error();
		(void)BIO_reset(b);
		k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	}
	BIO_free(b);
	if (k == NULL || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		if (k == NULL)
			ossl_err(err, errlen, "cannot read an audit key from",
			    path);
		else
			snprintf(err, errlen, "%s is not an Ed25519 key", path);
		EVP_PKEY_free(k);
		return NULL;
	}
	ak = xcalloc(1, sizeof(*ak));
	ak->pkey = k;
	ak->is_private = is_private;
	return ak;
}

/* For verifiers (mwgctl audit verify): a public key the operator names. */
struct audit_key *
audit_key_load(const char *path, char *err, size_t errlen)
{
	char buf[AUDIT_KEY_FILE_MAX + 1];
	struct audit_key *ak;
	size_t len;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (len > AUDIT_KEY_FILE_MAX) {
		snprintf(err, errlen, "%s is too large for an audit key", path);
		return NULL;
	}
	ak = key_parse(buf, len, path, err, errlen);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ak;
}

/*
 * For mwgd, as root at start: the key is read through safefile (no link,
 * one name, a trusted owner), so a link planted beside it cannot make the
 * daemon sign checkpoints with someone else's key.
 */
struct audit_key *
audit_key_load_or_create(const char *path, char *err, size_t errlen)
{
	char *buf, why[SAFEFILE_ERR_MAX];
	struct audit_key *ak;
	struct stat st;
	size_t len;

	if (lstat(path, &st) == -1 && errno == ENOENT)
		return key_create(path, err, errlen);
	if (safefile_read(path, AUDIT_KEY_FILE_MAX, &buf, &len, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "cannot load the audit key: %s", why);
		return NULL;
	}
	ak = key_parse(buf, len, path, err, errlen);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return ak;
}

void
audit_key_free(struct audit_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

void
audit_key_id(const struct audit_key *k, char id[AUDIT_KEY_ID_HEX + 1])
{
	unsigned char raw[32], md[32];
	size_t len = sizeof(raw);
	unsigned int mdlen = 0;

	strcpy(id, "unknown");
	if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &len) != 1 ||
	    EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return;
	for (int i = 0; i < AUDIT_KEY_ID_HEX / 2; i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
}

int
audit_key_sign(const struct audit_key *k, const char *msg, size_t len,
    char sig[AUDIT_SIG_B64_MAX])
{
	unsigned char raw[64];
	size_t rawlen = sizeof(raw);
	EVP_MD_CTX *ctx;
	int ok;

	if (!k->is_private || (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(ctx, raw, &rawlen, (const unsigned char *)msg,
	    len) == 1 && rawlen == 64;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	EVP_EncodeBlock((unsigned char *)sig, raw, 64);
	return 0;
}

int
audit_key_verify(const struct audit_key *k, const char *msg, size_t len,
    const char *sig)
{
	unsigned char raw[66];
	EVP_MD_CTX *ctx;
	int n, ok;

	if (strlen(sig) != 88 ||
	    (n = EVP_DecodeBlock(raw, (const unsigned char *)sig, 88)) != 66)
		return 0;	/* 64 bytes decode as 66 with "==" padding */
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestVerify(ctx, raw, 64, (const unsigned char *)msg,
	    len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}
