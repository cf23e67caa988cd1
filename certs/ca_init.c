/*
 * `mwgctl ca init`: a new root CA, the issuing CA that signs device and
 * session certificates, and the gateway's server certificate. The server
 * certificate hangs off the root, not the issuing CA, so it can never pass
 * as a client certificate where mwgd trusts only the issuing CA.
 */
#include "certs/certs.h"
#include "certs/certs_local.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xmalloc.h"

#define DAY		(24 * 60 * 60)
#define DNS_NAME_MAX	253
#define DNS_LABEL_MAX	63

enum { CA_ROOT, CA_ISSUING, CA_SERVER, CA_COUNT };

struct ca_set {
	EVP_PKEY	*key[CA_COUNT];
	X509		*cert[CA_COUNT];
	char		 key_path[CA_COUNT][PATH_MAX];
	char		 cert_path[CA_COUNT][PATH_MAX];
};

static const char *const ca_key_names[CA_COUNT] = {
	CERTS_ROOT_KEY, CERTS_ISSUING_KEY, CERTS_SERVER_KEY,
};
static const char *const ca_cert_names[CA_COUNT] = {
	CERTS_ROOT_CERT, CERTS_ISSUING_CERT, CERTS_SERVER_CERT,
};

static const struct certs_ext root_exts[] = {
	{ NID_basic_constraints,	"critical,CA:TRUE" },
	{ NID_key_usage,		"critical,keyCertSign,cRLSign" },
	{ NID_subject_key_identifier,	"hash" },
	{ NID_authority_key_identifier,	"keyid:always" },
};

/* pathlen:0: the issuing CA signs end entities, never another CA. */
static const struct certs_ext issuing_exts[] = {
	{ NID_basic_constraints,	"critical,CA:TRUE,pathlen:0" },
	{ NID_key_usage,		"critical,keyCertSign,cRLSign" },
	{ NID_subject_key_identifier,	"hash" },
	{ NID_authority_key_identifier,	"keyid:always" },
};

const struct certs_ext certs_server_exts[CERTS_SERVER_NEXTS] = {
	{ NID_basic_constraints,	"critical,CA:FALSE" },
	{ NID_key_usage,		"critical,digitalSignature" },
	{ NID_ext_key_usage,		"serverAuth" },
	{ NID_subject_key_identifier,	"hash" },
	{ NID_authority_key_identifier,	"keyid:always" },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Made in this order: each signer comes before what it signs. */
static const struct ca_profile {
	const char		*cn;	/* NULL: the first host */
	int			 days;
	int			 signer;
	const struct certs_ext	*exts;
	size_t			 nexts;
} ca_profiles[CA_COUNT] = {
	[CA_ROOT] = { "mwg root CA", CERTS_ROOT_DAYS, CA_ROOT,
	    root_exts, NELEM(root_exts) },
	[CA_ISSUING] = { "mwg issuing CA", CERTS_ISSUING_DAYS, CA_ROOT,
	    issuing_exts, NELEM(issuing_exts) },
	[CA_SERVER] = { NULL, CERTS_SERVER_DAYS, CA_ROOT,
	    certs_server_exts, CERTS_SERVER_NEXTS },
};

/* Letters, digits and '-' in labels of 1..63, no '-' at either end. */
static int
dns_name_valid(const char *s)
{
	size_t len = strlen(s), label = 0, i;

	if (len == 0 || len > DNS_NAME_MAX)
		return -1;
	for (i = 0; i <= len; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return -1;
			label = 0;
		} else if (s[i] == '-' && label == 0) {
			return -1;
		} else if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-') {
			if (++label > DNS_LABEL_MAX)
				return -1;
		} else
			return -1;
	}
	return 0;
}

/* Every host becomes a DNS or IP SAN; the first is also the CN. */
GENERAL_NAMES *
certs_server_names(const char *const *hosts, size_t nhosts, char *err,
    size_t errlen)
{
	GENERAL_NAMES *names;
	unsigned char ip[sizeof(struct in6_addr)];
	size_t i;
	int rc;

	if ((names = sk_GENERAL_NAME_new_null()) == NULL) {
		certs_errf_ssl(err, errlen, "cannot allocate names");
		return NULL;
	}
	for (i = 0; i < nhosts; i++) {
		if (inet_pton(AF_INET, hosts[i], ip) == 1)
			rc = certs_san_push(names, GEN_IPADD, ip, 4);
		else if (inet_pton(AF_INET6, hosts[i], ip) == 1)
			rc = certs_san_push(names, GEN_IPADD, ip, 16);
		else if (dns_name_valid(hosts[i]) == 0)
			rc = certs_san_push(names, GEN_DNS, hosts[i],
			    strlen(hosts[i]));
		else {
			certs_errf(err, errlen, "host \"%s\" is neither a DNS "
			    "name nor an IP address", hosts[i]);
			GENERAL_NAMES_free(names);
			return NULL;
		}
		if (rc == -1) {
			certs_errf_ssl(err, errlen, "cannot add host %s",
			    hosts[i]);
			GENERAL_NAMES_free(names);
			return NULL;
		}
	}
	return names;
}

/* Creates dir 0700 unless it exists; *created says whether it did. */
static int
make_dir(const char *dir, int *created, char *err, size_t errlen)
{
	struct stat st;

	*created = 0;
	if (mkdir(dir, 0700) == 0) {
		*created = 1;
		return 0;
	}
	if (errno != EEXIST) {
		certs_errf(err, errlen, "cannot create %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		certs_errf(err, errlen, "%s is not a directory", dir);
		return -1;
	}
	return 0;
}

static int
make_path(char *buf, const char *dir, const char *name, char *err,
    size_t errlen)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) {
		certs_errf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	return 0;
}

static int
check_absent(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		certs_errf(err, errlen, "%s already exists; nothing written",
		    path);
		return -1;
	}
	if (errno != ENOENT) {
		certs_errf(err, errlen, "cannot check %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* All six paths are checked before anything is generated or written. */
static int
plan_paths(struct ca_set *set, const char *dir, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < CA_COUNT; i++) {
		if (make_path(set->key_path[i], dir, ca_key_names[i], err,
		    errlen) == -1 ||
		    make_path(set->cert_path[i], dir, ca_cert_names[i], err,
		    errlen) == -1)
			return -1;
	}
	for (i = 0; i < CA_COUNT; i++) {
		if (check_absent(set->key_path[i], err, errlen) == -1 ||
		    check_absent(set->cert_path[i], err, errlen) == -1)
			return -1;
	}
	return 0;
}

/*
 * Makes key and certificate number i by its profile; cn overrides the
 * profile's name and names, if any, become the SANs.
 */
static int
make_one(struct ca_set *set, int i, const char *cn, GENERAL_NAMES *names,
    char *err, size_t errlen)
{
	const struct ca_profile *pr = &ca_profiles[i];
	time_t now = time(NULL);
	X509 *x, *issuer;

	if ((set->key[i] = certs_new_key()) == NULL) {
		certs_errf_ssl(err, errlen, "cannot generate a key");
		return -1;
	}
	x = certs_build_new(set->key[i], cn != NULL ? cn : pr->cn,
	    now - CERTS_BACKDATE, now + (time_t)pr->days * DAY, err, errlen);
	if (x == NULL)
		return -1;
	set->cert[i] = x;	/* freed with the set from here on */
	issuer = pr->signer == i ? x : set->cert[pr->signer];
	if (certs_build_exts(x, issuer, pr->exts, pr->nexts, err,
	    errlen) == -1)
		return -1;
	if (names != NULL && certs_build_san(x, names, err, errlen) == -1)
		return -1;
	return certs_build_sign(x, issuer, set->key[pr->signer], err, errlen);
}

/* Writes keys then certificates; on failure removes what it wrote. */
static int
write_all_files(struct ca_set *set, char *err, size_t errlen)
{
	int i, j;

	for (i = 0; i < CA_COUNT; i++) {
		if (certs_write_key(set->key_path[i], set->key[i], 0, err,
		    errlen) == -1)
			goto undo;
		if (certs_write_cert(set->cert_path[i], set->cert[i], 0, err,
		    errlen) == -1) {
			unlink(set->key_path[i]);
			goto undo;
		}
	}
	return 0;
undo:
	for (j = 0; j < i; j++) {
		unlink(set->key_path[j]);
		unlink(set->cert_path[j]);
	}
	return -1;
}

int
certs_ca_init(const char *dir, const char *const *hosts, size_t nhosts,
    char *err, size_t errlen)
{
	struct ca_set *set;
	GENERAL_NAMES *names;
	int created, i, rc = -1;

	if (dir == NULL || *dir == '\0' || hosts == NULL || nhosts == 0) {
		certs_errf(err, errlen, "need a directory and at least one "
		    "host");
		return -1;
	}
	if ((names = certs_server_names(hosts, nhosts, err, errlen)) == NULL)
		return -1;
	set = xcalloc(1, sizeof(*set));
	if (make_dir(dir, &created, err, errlen) == -1)
		goto out;
	if (plan_paths(set, dir, err, errlen) == 0 &&
	    make_one(set, CA_ROOT, NULL, NULL, err, errlen) == 0 &&
	    make_one(set, CA_ISSUING, NULL, NULL, err, errlen) == 0 &&
	    make_one(set, CA_SERVER, hosts[0], names, err, errlen) == 0 &&
	    write_all_files(set, err, errlen) == 0)
		rc = 0;
	if (rc == -1 && created)
		rmdir(dir);
out:
	for (i = 0; i < CA_COUNT; i++) {
		EVP_PKEY_free(set->key[i]);
		X509_free(set->cert[i]);
	}
	free(set);
	GENERAL_NAMES_free(names);
	return rc;
}
