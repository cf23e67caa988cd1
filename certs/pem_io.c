/*
 * Key and certificate files: new EC P-256 keys, PEM writers that create
 * keys 0600 and never overwrite by accident, and readers that never prompt.
 */
#include "certs/certs.h"
#include "certs/certs_local.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/fdio.h"

#define KEY_MODE	0600
#define CERT_MODE	0644

EVP_PKEY *
certs_new_key(void)
{
	return EVP_EC_gen("P-256");
}

/*
 * Without overwrite the file is created in place with O_EXCL, so an
 * existing file (or a symlink planted there) is never written through.
 * With overwrite a temporary file is renamed over path, so a reader sees
 * the old file or the new one, never half of either.
 */
static int
write_file(const char *path, const char *data, size_t len, mode_t mode,
    int overwrite, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	const char *target = path;
	int fd, saved;

	if (overwrite) {
		if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
		    (int)sizeof(tmp)) {
			certs_errf(err, errlen, "%s: path too long", path);
			return -1;
		}
		target = tmp;
		if ((fd = mkostemp(tmp, O_CLOEXEC)) != -1 &&
		    fchmod(fd, mode) == -1) {
			saved = errno;
			close(fd);
			unlink(tmp);
			errno = saved;
			fd = -1;
		}
	} else
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode);
	if (fd == -1) {
		certs_errf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fd_write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		goto fail;
	}
	if (close(fd) == -1 || (overwrite && rename(tmp, path) == -1))
		goto fail;
	return 0;
fail:
	certs_errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	unlink(target);
	return -1;
}

int
certs_write_key(const char *path, EVP_PKEY *key, int overwrite, char *err,
    size_t errlen)
{
	BIO *bio;
	char *data;
	long len;
	int rc = -1;

	/* A secure-heap BIO is wiped when freed: the PEM is the secret. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
		certs_errf_ssl(err, errlen, "%s: cannot allocate", path);
		return -1;
	}
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0)
		certs_errf_ssl(err, errlen, "%s: cannot encode key", path);
	else
		rc = write_file(path, data, (size_t)len, KEY_MODE, overwrite,
		    err, errlen);
	BIO_free(bio);
	return rc;
}

int
certs_write_cert(const char *path, X509 *cert, int overwrite, char *err,
    size_t errlen)
{
	BIO *bio;
	char *data;
	long len;
	int rc = -1;

	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		certs_errf_ssl(err, errlen, "%s: cannot allocate", path);
		return -1;
	}
	if (PEM_write_bio_X509(bio, cert) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0)
		certs_errf_ssl(err, errlen, "%s: cannot encode certificate",
		    path);
	else
		rc = write_file(path, data, (size_t)len, CERT_MODE, overwrite,
		    err, errlen);
	BIO_free(bio);
	return rc;
}

/* Opens path for reading, with the system's reason if it cannot. */
static BIO *
read_bio(const char *path, char *err, size_t errlen)
{
	FILE *fp;
	BIO *bio;

	if ((fp = fopen(path, "re")) == NULL) {
		certs_errf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((bio = BIO_new_fp(fp, BIO_CLOSE)) == NULL) {
		certs_errf_ssl(err, errlen, "cannot read %s", path);
		fclose(fp);
	}
	return bio;
}

X509 *
certs_read_cert(const char *path, char *err, size_t errlen)
{
	X509 *x;
	BIO *bio;

	if ((bio = read_bio(path, err, errlen)) == NULL)
		return NULL;
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		certs_errf_ssl(err, errlen, "%s: not a PEM certificate", path);
	BIO_free(bio);
	return x;
}

/* OpenSSL's default would ask on the terminal; a daemon must not. */
static int
no_passphrase_cb(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

EVP_PKEY *
certs_read_key(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *key;
	BIO *bio;

	if ((bio = read_bio(path, err, errlen)) == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase_cb, NULL);
	if (key == NULL)
		certs_errf_ssl(err, errlen,
		    "%s: not an unencrypted PEM private key", path);
	BIO_free(bio);
	return key;
}
