/*
 * The store's cryptography: the secrets.key file, AES-256-GCM sealing of
 * TOTP secrets (associated data = the user name, so a sealed secret only
 * opens in its own row) and the salted hash of enrolment code secrets.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/fdio.h"
#include "common/safefile.h"
#include "gateway/monitor/store_int.h"

static int st_key_create(const char *dir, const char *path, char *err,
			 size_t errlen);
static int st_key_read(struct store *st, int fd, const char *path, char *err,
		       size_t errlen);

/* How many TOTP secrets the database holds (sealed with some key). */
static int
st_totp_count(struct store *st, int64_t *np, char *err, size_t errlen)
{
	return st_get(st, "SELECT count(*) FROM totp", ST_NOARGS, st_int_row,
		      np, err, errlen) == 1
		   ? 0
		   : -1;
}

/*
 * Loads dir/secrets.key, making it at first start. A missing key is only
 * made when no TOTP secret exists: a new key could not open the old ones,
 * and the operator should restore the file rather than lose them all.
 */
int
st_key_load(struct store *st, const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX], why[SAFEFILE_ERR_MAX];
	int64_t n = 0;
	int fd, rc;

	rc = snprintf(path, sizeof(path), "%s/%s", dir, STORE_KEY_FILE);
	if (rc < 0 || (size_t)rc >= sizeof(path)) {
		st_err(err, errlen, "%s: path too long", dir);
		return -1;
	}
	fd = safefile_open(path, O_RDONLY, 0, NULL, why, sizeof(why));
	if (fd == -1 && errno == ENOENT) {
		if (st_totp_count(st, &n, err, errlen) == -1)
			return -1;
		if (n > 0) {
			st_err(err, errlen,
			       "%s is missing but %s holds %lld "
			       "TOTP secrets sealed with it; restore the file",
			       path, st_db_name(st), (long long)n);
			return -1;
		}
		if (st_key_create(dir, path, err, errlen) == -1)
			return -1;
		fd = safefile_open(path, O_RDONLY, 0, NULL, why, sizeof(why));
	}
	if (fd == -1) {
		st_err(err, errlen, "%s", why);
		return -1;
	}
	rc = st_key_read(st, fd, path, err, errlen);
	close(fd);
	return rc;
}

/* Checks the key file's type, mode and size, then reads the key. */
static int
st_key_read(struct store *st, int fd, const char *path, char *err,
	    size_t errlen)
{
	struct stat sb;
	ssize_t n;

	if (st_check_private(fd, path, "read the key", &sb, err, errlen) == -1)
		return -1;
	if (sb.st_size != STORE_KEY_LEN) {
		st_err(err, errlen, "%s: %lld bytes, want %d", path,
		       (long long)sb.st_size, STORE_KEY_LEN);
		return -1;
	}
	do
		n = read(fd, st->key, sizeof(st->key));
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(st->key)) {
		st_err(err, errlen, "%s: %s", path,
		       n == -1 ? strerror(errno) : "short read");
		OPENSSL_cleanse(st->key, sizeof(st->key));
		return -1;
	}
	return 0;
}

#define STORE_KEY_ID_LEN 16
#define STORE_KEY_ID_LABEL "mwg secrets.key id v1"

static int
st_key_id_row(struct store *st, const struct st_row *r, void *arg, char *err,
	      size_t errlen)
{
	size_t len = 0;

	if (st_col_blob(st, r, 0, arg, STORE_KEY_ID_LEN, &len, err, errlen) ==
		-1 ||
	    len != STORE_KEY_ID_LEN) {
		st_err(err, errlen, "stored key id is not %d bytes",
		       STORE_KEY_ID_LEN);
		return -1;
	}
	return 0;
}

static void
st_hex(const unsigned char *b, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/*
 * Several nodes share one database but each reads its own secrets.key:
 * the first records the key's id (HMAC-SHA256 of a fixed label, cut to
 * 16 bytes), and a node whose key has another id is refused, so that no
 * node seals TOTP secrets the others cannot open.
 */
int
st_key_check(struct store *st, const char *dir, char *err, size_t errlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE], have[STORE_KEY_ID_LEN];
	char mine_hex[2 * STORE_KEY_ID_LEN + 1], have_hex[sizeof(mine_hex)];
	unsigned int maclen = 0;
	int rc;

	if (HMAC(EVP_sha256(), st->key, sizeof(st->key),
		 (const unsigned char *)STORE_KEY_ID_LABEL,
		 strlen(STORE_KEY_ID_LABEL), mac, &maclen) == NULL ||
	    maclen < STORE_KEY_ID_LEN) {
		st_err(err, errlen, "%s: HMAC-SHA256 failed", __func__);
		return -1;
	}
	rc = st_run_locked(
	    st,
	    "INSERT INTO store_key (one, key_id, recorded_at) "
	    "VALUES (1, ?1, ?2) ON CONFLICT (one) DO NOTHING",
	    ST_ARGS(ST_BLOB(mac, STORE_KEY_ID_LEN), ST_INT(time(NULL))), err,
	    errlen);
	if (rc < 0 ||
	    st_get_locked(st, "SELECT key_id FROM store_key", ST_NOARGS,
			  st_key_id_row, have, err, errlen) != 1)
		return -1;
	if (CRYPTO_memcmp(have, mac, STORE_KEY_ID_LEN) == 0)
		return 0;
	st_hex(mac, STORE_KEY_ID_LEN, mine_hex);
	st_hex(have, STORE_KEY_ID_LEN, have_hex);
	st_err(err, errlen,
	       "%s/%s is not the key that seals %s's TOTP secrets (key id %s "
	       "here, %s there): copy secrets.key from a node that works",
	       dir, STORE_KEY_FILE, st_db_name(st), mine_hex, have_hex);
	return -1;
}

/* fsync()s directory dir; -1 with errno. */
static int
st_sync_dir(const char *dir)
{
	int fd, rc, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/*
 * Makes the key in a 0600 temporary file (mkostemp opens with O_EXCL),
 * syncs it, then link()s it into place: link never replaces an existing
 * file, and a crash leaves either no key file or a whole one. If another
 * process linked first, its key wins and ours is dropped.
 */
static int
st_key_create(const char *dir, const char *path, char *err, size_t errlen)
{
	unsigned char key[STORE_KEY_LEN];
	char tmp[PATH_MAX];
	int fd, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		st_err(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		st_err(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (RAND_bytes(key, sizeof(key)) != 1)
		st_err(err, errlen, "%s: RAND_bytes failed", __func__);
	else if (fchmod(fd, 0600) == -1 ||
		 fd_write_all(fd, key, sizeof(key)) == -1 || fsync(fd) == -1)
		st_err(err, errlen, "%s: %s", tmp, strerror(errno));
	else if (link(tmp, path) == -1 && errno != EEXIST)
		st_err(err, errlen, "%s: %s", path, strerror(errno));
	else
		rc = 0;
	OPENSSL_cleanse(key, sizeof(key));
	close(fd);
	if (unlink(tmp) == -1 && rc == 0) {
		st_err(err, errlen, "%s: %s", tmp, strerror(errno));
		rc = -1;
	}
	/* The new name must survive a crash too, or the secrets would not. */
	if (rc == 0 && st_sync_dir(dir) == -1) {
		st_err(err, errlen, "%s: %s", dir, strerror(errno));
		rc = -1;
	}
	return rc;
}

int
st_seal(const struct store *st, const char *ad, const unsigned char *in,
	size_t len, unsigned char out[STORE_SEALED_MAX], size_t *outlen,
	char *err, size_t errlen)
{
	unsigned char *ct = out + STORE_GCM_NONCE_LEN;
	EVP_CIPHER_CTX *c;
	int n = 0, fin = 0, ok;

	if (len == 0 || len > STORE_TOTP_SECRET_MAX) {
		st_err(err, errlen, "secret length %zu is not 1..%d", len,
		       STORE_TOTP_SECRET_MAX);
		return -1;
	}
	if (RAND_bytes(out, STORE_GCM_NONCE_LEN) != 1 ||
	    (c = EVP_CIPHER_CTX_new()) == NULL) {
		st_err(err, errlen, "%s: OpenSSL failed", __func__);
		return -1;
	}
	ok =
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, st->key, out) == 1 &&
	    EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)ad,
			      (int)strlen(ad)) == 1 &&
	    EVP_EncryptUpdate(c, ct, &n, in, (int)len) == 1 &&
	    (size_t)n == len && EVP_EncryptFinal_ex(c, ct + n, &fin) == 1 &&
	    fin == 0 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, STORE_GCM_TAG_LEN,
				ct + len) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		OPENSSL_cleanse(out, STORE_SEALED_MAX);
		st_err(err, errlen, "%s: AES-256-GCM failed", __func__);
		return -1;
	}
	*outlen = STORE_GCM_NONCE_LEN + len + STORE_GCM_TAG_LEN;
	return 0;
}

int
st_open_sealed(const struct store *st, const char *ad, const unsigned char *in,
	       size_t len, unsigned char out[STORE_TOTP_SECRET_MAX],
	       size_t *outlen, char *err, size_t errlen)
{
	const unsigned char *ct;
	EVP_CIPHER_CTX *c;
	size_t ctlen;
	int n = 0, fin = 0, ok;

	if (len <= STORE_GCM_NONCE_LEN + STORE_GCM_TAG_LEN ||
	    len > STORE_SEALED_MAX) {
		st_err(err, errlen, "sealed secret of %zu bytes", len);
		return -1;
	}
	ct = in + STORE_GCM_NONCE_LEN;
	ctlen = len - STORE_GCM_NONCE_LEN - STORE_GCM_TAG_LEN;
	if ((c = EVP_CIPHER_CTX_new()) == NULL) {
		st_err(err, errlen, "%s: OpenSSL failed", __func__);
		return -1;
	}
	/* The tag is checked by DecryptFinal; out is wiped if it fails. */
	ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, st->key, in) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)ad,
			       (int)strlen(ad)) == 1 &&
	     EVP_DecryptUpdate(c, out, &n, ct, (int)ctlen) == 1 &&
	     (size_t)n == ctlen &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, STORE_GCM_TAG_LEN,
				 (void *)(ct + ctlen)) == 1 &&
	     EVP_DecryptFinal_ex(c, out + n, &fin) == 1 && fin == 0;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		OPENSSL_cleanse(out, STORE_TOTP_SECRET_MAX);
		st_err(err, errlen, "sealed secret does not authenticate");
		return -1;
	}
	*outlen = ctlen;
	return 0;
}

/*
 * Code secrets are random (mwgctl makes them with the CSPRNG), so a plain
 * salted SHA-256 suffices: a slow KDF guards guessable passwords, not these.
 */
int
st_code_hash(const unsigned char salt[STORE_SALT_LEN], const char *secret,
	     unsigned char hash[STORE_HASH_LEN], char *err, size_t errlen)
{
	EVP_MD_CTX *md;
	unsigned int len = 0;
	int ok;

	if ((md = EVP_MD_CTX_new()) == NULL) {
		st_err(err, errlen, "%s: OpenSSL failed", __func__);
		return -1;
	}
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, salt, STORE_SALT_LEN) == 1 &&
	     EVP_DigestUpdate(md, secret, strlen(secret)) == 1 &&
	     EVP_DigestFinal_ex(md, hash, &len) == 1 && len == STORE_HASH_LEN;
	EVP_MD_CTX_free(md);
	if (!ok) {
		st_err(err, errlen, "%s: SHA-256 failed", __func__);
		return -1;
	}
	return 0;
}
