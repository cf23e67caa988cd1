/*
 * `mwgctl ca server-cert`: a new key and server certificate, signed by the
 * root as at ca init, put in place of server.pem and server.key with the
 * old files' modes and owners, so a running mwgd picks them up at reload.
 */
#include "certs/certs.h"
#include "certs/certs_local.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "common/fdio.h"

#define DAY		(24 * 60 * 60)
#define KEY_MODE_NEW	0600	/* when there is no old file to follow */
#define CERT_MODE_NEW	0644

/* One file to put in place: written beside it first, renamed at the end. */
struct staged {
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	int fd;
};

/*
 * The temporary file takes the mode, owner and group of the file it
 * replaces (a server.key of root:mwg 0640 stays readable by mwgd at
 * reload), or mode_new if there is none.
 */
static int
stage_open(struct staged *f, const char *dir, const char *name,
    mode_t mode_new, char *err, size_t errlen)
{
	struct stat sb;
	int has_old;

	f->fd = -1;
	if (snprintf(f->path, sizeof(f->path), "%s/%s", dir, name) >=
	    (int)sizeof(f->path) || snprintf(f->tmp, sizeof(f->tmp),
	    "%s/.%s.XXXXXX", dir, name) >= (int)sizeof(f->tmp)) {
		certs_errf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if ((has_old = lstat(f->path, &sb) == 0) && !S_ISREG(sb.st_mode)) {
		certs_errf(err, errlen, "%s is not a regular file; nothing "
		    "written", f->path);
		return -1;
	}
	if ((f->fd = mkostemp(f->tmp, O_CLOEXEC)) == -1) {
		certs_errf(err, errlen, "cannot create a file in %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (fchmod(f->fd, has_old ? sb.st_mode & 07777 : mode_new) == -1 ||
	    (has_old && fchown(f->fd, sb.st_uid, sb.st_gid) == -1)) {
		certs_errf(err, errlen, "cannot give %s the owner and mode of "
		    "%s: %s", f->tmp, f->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Writes the PEM in bio to the staged file and syncs it. */
static int
stage_write(struct staged *f, BIO *bio, char *err, size_t errlen)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	if (len <= 0 || fd_write_all(f->fd, data, (size_t)len) == -1 ||
	    fsync(f->fd) == -1) {
		certs_errf(err, errlen, "cannot write %s: %s", f->tmp,
		    len <= 0 ? "nothing to write" : strerror(errno));
		return -1;
	}
	return 0;
}

static void
stage_drop(struct staged *f)
{
	if (f->fd != -1) {
		close(f->fd);
		unlink(f->tmp);
		f->fd = -1;
	}
}

/* The root that signs: its certificate and key, checked to match. */
static int
load_root(const char *dir, const char *key_path, X509 **cert, EVP_PKEY **key,
    char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, CERTS_ROOT_CERT) >=
	    (int)sizeof(path)) {
		certs_errf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if ((*cert = certs_read_cert(path, err, errlen)) == NULL ||
	    (*key = certs_read_key(key_path, err, errlen)) == NULL)
		return -1;
	if (X509_check_private_key(*cert, *key) != 1) {
		certs_errf_ssl(err, errlen, "%s is not the key of %s",
		    key_path, path);
		return -1;
	}
	return 0;
}

/* A new key and certificate for hosts, signed by root. */
static X509 *
make_server(X509 *root, EVP_PKEY *root_key, const char *const *hosts,
    GENERAL_NAMES *names, EVP_PKEY **keyp, char *err, size_t errlen)
{
	time_t now = time(NULL);
	X509 *x;

	if ((*keyp = certs_new_key()) == NULL) {
		certs_errf_ssl(err, errlen, "cannot generate a key");
		return NULL;
	}
	x = certs_build_new(*keyp, hosts[0], now - CERTS_BACKDATE,
	    now + (time_t)CERTS_SERVER_DAYS * DAY, err, errlen);
	if (x == NULL)
		return NULL;
	if (certs_build_exts(x, root, certs_server_exts, CERTS_SERVER_NEXTS,
	    err, errlen) == -1 || certs_build_san(x, names, err, errlen) ==
	    -1 || certs_build_sign(x, root, root_key, err, errlen) == -1) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Both files staged and synced, then renamed: key first, certificate
 * last, so the pair on disk is old or new but for one rename's time. */
static int
put_in_place(const char *dir, EVP_PKEY *key, X509 *cert, char *err,
    size_t errlen)
{
	struct staged k, c;
	BIO *kb = BIO_new(BIO_s_secmem()), *cb = BIO_new(BIO_s_mem());
	int dfd, rc = -1;

	k.fd = c.fd = -1;
	if (kb == NULL || cb == NULL ||
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(cb, cert) != 1)
		certs_errf_ssl(err, errlen, "cannot encode the new key and "
		    "certificate");
	else if (stage_open(&k, dir, CERTS_SERVER_KEY, KEY_MODE_NEW, err,
	    errlen) == 0 && stage_open(&c, dir, CERTS_SERVER_CERT,
	    CERT_MODE_NEW, err, errlen) == 0 && stage_write(&k, kb, err,
	    errlen) == 0 && stage_write(&c, cb, err, errlen) == 0) {
		if (rename(k.tmp, k.path) == -1 || rename(c.tmp, c.path) == -1)
			certs_errf(err, errlen, "cannot rename into %s: %s",
			    dir, strerror(errno));
		else
			rc = 0;
	}
	if (rc == 0) {
		close(k.fd);
		close(c.fd);
		/* The renames survive a crash once the directory is synced. */
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
		    -1) {
			fsync(dfd);
			close(dfd);
		}
	} else {
		stage_drop(&k);
		stage_drop(&c);
	}
	BIO_free(kb);
	BIO_free(cb);
	return rc;
}

int
certs_server_renew(const char *dir, const char *root_key,
    const char *const *hosts, size_t nhosts, char *err, size_t errlen)
{
	char key_path[PATH_MAX];
	GENERAL_NAMES *names;
	X509 *root = NULL, *cert = NULL;
	EVP_PKEY *rkey = NULL, *key = NULL;
	int rc = -1;

	if (dir == NULL || *dir == '\0' || hosts == NULL || nhosts == 0) {
		certs_errf(err, errlen, "need a directory and at least one "
		    "host");
		return -1;
	}
	if (root_key == NULL) {
		if (snprintf(key_path, sizeof(key_path), "%s/%s", dir,
		    CERTS_ROOT_KEY) >= (int)sizeof(key_path)) {
			certs_errf(err, errlen, "%s: path too long", dir);
			return -1;
		}
		root_key = key_path;
	}
	if ((names = certs_server_names(hosts, nhosts, err, errlen)) == NULL)
		return -1;
	if (load_root(dir, root_key, &root, &rkey, err, errlen) == 0 &&
	    (cert = make_server(root, rkey, hosts, names, &key, err,
	    errlen)) != NULL)
		rc = put_in_place(dir, key, cert, err, errlen);
	X509_free(root);
	X509_free(cert);
	EVP_PKEY_free(rkey);
	EVP_PKEY_free(key);
	GENERAL_NAMES_free(names);
	return rc;
}
