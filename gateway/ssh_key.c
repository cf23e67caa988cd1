/*
 * SSH keys for the jump listener: the device fingerprint of a client key
 * (the same SHA-256 of the SubjectPublicKeyInfo that enrolment stored from
 * the CSR), and the host keys, made at first start (as root, in the
 * daemon's state-dir: through common/safefile, never through a link).
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "certs/certs.h"
#include "common/errbuf.h"
#include "common/safefile.h"
#include "gateway/ssh_int.h"

#define SSH_EC_POINT_LEN	65	/* uncompressed P-256 point */
#define SSH_HOSTKEY_FILE_MAX	16384	/* host key files are < 1 KiB */

/* All of a host key file from fd (at most SSH_HOSTKEY_FILE_MAX), NUL
 * ended. 0, or -1 (too large, or a read error). Caller frees *buf. */
static int
ssh_key_read_fd(int fd, char **buf, size_t *len)
{
	char *b = malloc(SSH_HOSTKEY_FILE_MAX + 1);
	size_t got = 0;
	ssize_t n;

	if (b == NULL)
		return -1;
	while (got <= SSH_HOSTKEY_FILE_MAX && ((n = read(fd, b + got,
	    SSH_HOSTKEY_FILE_MAX + 1 - got)) > 0 || (n == -1 &&
	    errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	if (got > SSH_HOSTKEY_FILE_MAX || n == -1) {
		OPENSSL_cleanse(b, got);
		free(b);
		return -1;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	return 0;
}

/* One SSH "string" (RFC 4251 §5) at *p, at most end; NULL if malformed. */
static const unsigned char *
ssh_blob_string(const unsigned char **p, const unsigned char *end,
    uint32_t *len)
{
	const unsigned char *s;
	uint32_t n;

	if (end - *p < 4)
		return NULL;
	memcpy(&n, *p, 4);
	n = ntohl(n);
	if ((size_t)(end - *p - 4) < n)
		return NULL;
	s = *p + 4;
	*p = s + n;
	*len = n;
	return s;
}

/* The public point Q of an ecdsa-sha2-nistp256 blob (RFC 5656 §3.1). */
static const unsigned char *
ssh_blob_point(const unsigned char *b, size_t blen)
{
	const unsigned char *p = b, *end = b + blen, *s;
	uint32_t n;

	if ((s = ssh_blob_string(&p, end, &n)) == NULL || n != 19 ||
	    memcmp(s, "ecdsa-sha2-nistp256", 19) != 0)
		return NULL;
	if ((s = ssh_blob_string(&p, end, &n)) == NULL || n != 8 ||
	    memcmp(s, "nistp256", 8) != 0)
		return NULL;
	if ((s = ssh_blob_string(&p, end, &n)) == NULL ||
	    n != SSH_EC_POINT_LEN || s[0] != 0x04 || p != end)
		return NULL;
	return s;
}

/* An EVP_PKEY for the P-256 point q; NULL on failure. */
static EVP_PKEY *
ssh_point_pkey(const unsigned char *q)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (bld == NULL || OSSL_PARAM_BLD_push_utf8_string(bld,
	    OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q,
	    SSH_EC_POINT_LEN) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* The key's wire blob (RFC 4253 §6.6), decoded from libssh's base64. */
static unsigned char *
ssh_key_blob(ssh_key key, size_t *lenp)
{
	char *b64 = NULL;
	unsigned char *blob;
	size_t n;
	int len;

	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return NULL;
	n = strlen(b64);
	blob = malloc(n / 4 * 3 + 3);
	len = blob ? EVP_DecodeBlock(blob, (unsigned char *)b64, (int)n) : -1;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	for (size_t i = n; len > 0 && i > 0 && b64[i - 1] == '='; i--)
		len--;
	ssh_string_free_char(b64);
	if (len < 0) {
		free(blob);
		return NULL;
	}
	*lenp = (size_t)len;
	return blob;
}

int
ssh_key_device_fpr(ssh_key key, char *buf, size_t buflen, char *err,
    size_t errlen)
{
	const unsigned char *q;
	unsigned char *blob;
	EVP_PKEY *pkey = NULL;
	size_t blen;
	int rc = -1;

	if (ssh_key_type(key) != SSH_KEYTYPE_ECDSA_P256) {
		errbuf_set(err, errlen, "a %s key is not a device key "
		    "(devices have ECDSA P-256 keys)",
		    ssh_key_type_to_char(ssh_key_type(key)));
		return -1;
	}
	if ((blob = ssh_key_blob(key, &blen)) == NULL) {
		errbuf_set(err, errlen, "cannot read the public key");
		return -1;
	}
	q = ssh_blob_point(blob, blen);
	if (q == NULL)
		errbuf_set(err, errlen, "malformed ecdsa-sha2-nistp256 key");
	else if ((pkey = ssh_point_pkey(q)) == NULL)
		errbuf_set(err, errlen, "not a point on P-256");
	else if (certs_key_fingerprint(pkey, buf, buflen) == -1)
		errbuf_set(err, errlen, "cannot fingerprint the key");
	else
		rc = 0;
	EVP_PKEY_free(pkey);
	free(blob);
	return rc;
}

/*
 * Makes a new key of type at path, 0600, OpenSSH's own format for Ed25519
 * (a PKCS#8 Ed25519 key loads but breaks every key exchange). Root does
 * this in the daemon's state-dir: O_EXCL in a checked directory, so a link
 * planted under the key's name is refused, not written through.
 */
static int
ssh_key_host_make(const char *path, enum ssh_keytypes_e type, char *err,
    size_t errlen)
{
	char *pem = NULL, why[SAFEFILE_ERR_MAX];
	ssh_key key = NULL;
	size_t len;
	ssize_t n = 0;
	int fd;

	if (ssh_pki_generate(type, type == SSH_KEYTYPE_ECDSA_P256 ? 256 : 0,
	    &key) != SSH_OK || ssh_pki_export_privkey_base64(key, NULL, NULL,
	    NULL, &pem) != SSH_OK) {
		ssh_key_free(key);
		errbuf_set(err, errlen, "cannot make a %s host key",
		    ssh_key_type_to_char(type));
		return -1;
	}
	ssh_key_free(key);
	if ((fd = safefile_open(path, O_WRONLY | O_CREAT | O_EXCL, 0600, NULL,
	    why, sizeof(why))) == -1) {
		errbuf_set(err, errlen, "cannot make a host key: %s", why);
		OPENSSL_cleanse(pem, strlen(pem));
		ssh_string_free_char(pem);
		return -1;
	}
	len = strlen(pem);
	for (size_t off = 0; off < len; off += (size_t)n) {
		do
			n = write(fd, pem + off, len - off);
		while (n == -1 && errno == EINTR);
		if (n <= 0) {
			n = -1;
			break;
		}
	}
	OPENSSL_cleanse(pem, len);
	ssh_string_free_char(pem);
	if (n == -1 || fsync(fd) == -1 || close(fd) == -1) {
		errbuf_set(err, errlen, "cannot write host key %s: %s", path,
		    strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/*
 * Root loads the host keys from the daemon's state-dir: read through
 * safefile (no link followed, one name, a trusted owner), so the daemon's
 * user cannot make root serve a key it may not read (the CA's, sshd's).
 */
ssh_key
ssh_key_host_load(const char *path, enum ssh_keytypes_e type, char *err,
    size_t errlen)
{
	char *pem = NULL, why[SAFEFILE_ERR_MAX];
	ssh_key key = NULL;
	struct stat sb;
	size_t len;
	int fd, rc;

	if (lstat(path, &sb) == -1 && errno == ENOENT &&
	    ssh_key_host_make(path, type, err, errlen) == -1)
		return NULL;
	if ((fd = safefile_open(path, O_RDONLY, 0, NULL, why,
	    sizeof(why))) == -1) {
		errbuf_set(err, errlen, "cannot load host key: %s", why);
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || (sb.st_mode & 077) != 0) {
		errbuf_set(err, errlen, "host key %s: group or others may "
		    "read it (chmod 600)", path);
		close(fd);
		return NULL;
	}
	rc = ssh_key_read_fd(fd, &pem, &len);
	close(fd);
	if (rc == -1 || ssh_pki_import_privkey_base64(pem, NULL, NULL, NULL,
	    &key) != SSH_OK) {
		errbuf_set(err, errlen, "cannot load host key %s", path);
		if (pem)
			OPENSSL_cleanse(pem, len);
		free(pem);
		return NULL;
	}
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (ssh_key_type(key) != type) {
		errbuf_set(err, errlen, "host key %s is %s, expected %s", path,
		    ssh_key_type_to_char(ssh_key_type(key)),
		    ssh_key_type_to_char(type));
		ssh_key_free(key);
		return NULL;
	}
	return key;
}
