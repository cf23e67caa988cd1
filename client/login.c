/*
 * mwg login: the person proves who they are (password through the
 * gateway's PAM, and a one-time code) over a connection authenticated by
 * the device certificate, and gets a short-lived session certificate for
 * the same device key. The password exists once in memory, in buffers that
 * are wiped as soon as the request is sent.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "certs/certs.h"
#include "client/gw.h"
#include "client/posture.h"
#include "common/xmalloc.h"

#define VERB		"login"
#define LOGIN_PATH	"/v1/login"
#define PASSWORD_MAX	1024	/* bytes, without the newline */
#define OTP_MIN		6
#define OTP_MAX		10
#define USER_MAX	64

static const char login_usage[] =
    "usage: mwg login --user USER [--password-file FILE] [--otp CODE] "
    "[--dir DIR]\n";

static const char login_help[] =
"NAME\n"
"     mwg login - prove who you are and get a session certificate\n"
"\n"
"SYNOPSIS\n"
"     mwg login --user USER [--password-file FILE] [--otp CODE] [--dir DIR]\n"
"\n"
"DESCRIPTION\n"
"     Sends USER's password and the current one-time code from the\n"
"     authenticator app to the gateway, over TLS authenticated with this\n"
"     device's certificate. The gateway checks the password (PAM), the code\n"
"     (each is accepted once), that the device is enrolled and not revoked,\n"
"     and issues a session certificate for this device's key, valid for as\n"
"     long as your role allows (typically a working day). mwg connect uses\n"
"     it; mwg logout forgets it.\n"
"\n"
"     Without --password-file the password is asked for on the terminal,\n"
"     without echo; without --otp the code is asked for too. Neither is ever\n"
"     printed, logged or stored. Failed attempts slow further attempts down:\n"
"     the gateway then says how long to wait.\n"
"\n"
"     If the device certificate is in the last third of its life, mwg\n"
"     renews it first and says so.\n"
"\n"
"     --user USER\n"
"             Your user name at the gateway.\n"
"     --password-file FILE\n"
"             Read the password from the first line of FILE (- for standard\n"
"             input), for scripts. mwg warns if others can read FILE.\n"
"     --otp CODE\n"
"             The one-time code (6 to 10 digits). --otp - with\n"
"             --password-file - reads it from the second line of standard\n"
"             input, so that a program (mwg-gui) need not put it in a\n"
"             command line others can read.\n"
"     --dir DIR\n"
"             State directory (default $MWG_DIR, else ~/.config/mwg).\n"
"     --help  Print this help and exit.\n"
"\n"
"FILES\n"
"     DIR/session.pem   0600, the session certificate\n"
"     DIR/session.json  0600, the gateway's answer: user, device, expiry,\n"
"                       groups, roles, practices\n"
"\n"
"EXIT STATUS\n"
"     0 logged in; 1 refused or failed, with the gateway's reason and HTTP\n"
"     status on stderr (401: password or code wrong; 429: too many\n"
"     failures, with the wait); 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwg login --user alice\n"
"     printf '%s\\n' \"$PW\" | mwg login --user alice --password-file - \\\n"
"         --otp \"$(oathtool --totp -b \"$SEED\")\"\n";

struct login_opts {
	const char	*user;
	const char	*password_file;
	const char	*otp;
	const char	*dir;
};

/* 0 if code is OTP_MIN..OTP_MAX digits. */
static int
login_otp_valid(const char *code)
{
	size_t len = strlen(code);

	if (len < OTP_MIN || len > OTP_MAX)
		return -1;
	return strspn(code, "0123456789") == len ? 0 : -1;
}

static int
login_options(int argc, char **argv, struct login_opts *o)
{
	static const struct option longopts[] = {
		{ "user",		required_argument,	NULL, 'u' },
		{ "password-file",	required_argument,	NULL, 'p' },
		{ "otp",		required_argument,	NULL, 'o' },
		{ "dir",		required_argument,	NULL, 'd' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 },
	};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			o->user = optarg;
			break;
		case 'p':
			o->password_file = optarg;
			break;
		case 'o':
			o->otp = optarg;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'h':
			fputs(login_help, stdout);
			return -1;
		default:
			return client_bad_option(VERB, login_usage, ch, argv);
		}
	}
	if (client_args_left(VERB, login_usage, argc, argv) != 0)
		return CLIENT_EXIT_USAGE;
	if (o->user == NULL)
		return client_usage(VERB, login_usage, "--user is needed");
	if (o->user[0] == '\0' || strlen(o->user) >= USER_MAX)
		return client_usage(VERB, login_usage, "--user must be 1-%d "
		    "characters", USER_MAX - 1);
	if (o->otp != NULL && strcmp(o->otp, "-") == 0 &&
	    (o->password_file == NULL || strcmp(o->password_file, "-") != 0))
		return client_usage(VERB, login_usage, "--otp - needs "
		    "--password-file - (the password, then the code, on standard "
		    "input)");
	if (o->otp != NULL && strcmp(o->otp, "-") != 0 &&
	    login_otp_valid(o->otp) == -1)
		return client_usage(VERB, login_usage, "--otp must be %d to %d "
		    "digits", OTP_MIN, OTP_MAX);
	return 0;
}


/*
 * The first line of fd, without its newline, into buf (PASSWORD_MAX + 1
 * bytes). Read with read(2), not stdio, so no unwiped copy is left in a
 * FILE buffer. 0 or -1 with errno (EMSGSIZE: line too long).
 */
static int
login_first_line(int fd, char *buf)
{
	char tmp[PASSWORD_MAX + 2];
	size_t len = 0, line;
	ssize_t n;
	char *nl = NULL;

	while (nl == NULL && len < sizeof(tmp)) {
		if ((n = read(fd, tmp + len, sizeof(tmp) - len)) == -1) {
			if (errno == EINTR)
				continue;
			OPENSSL_cleanse(tmp, sizeof(tmp));
			return -1;
		}
		if (n == 0)
			break;
		nl = memchr(tmp + len, '\n', (size_t)n);
		len += (size_t)n;
	}
	line = nl ? (size_t)(nl - tmp) : len;
	if (line > 0 && tmp[line - 1] == '\r')
		line--;
	if (line > PASSWORD_MAX) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(buf, tmp, line);
	buf[line] = '\0';
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}

static int
login_password_file(const char *path, char *buf)
{
	struct stat sb;
	int fd, rc;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		client_fail(VERB, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (fd != STDIN_FILENO && fstat(fd, &sb) == 0 &&
	    (sb.st_mode & 077) != 0)
		client_warn(VERB, "others can read %s (chmod 600 %s)", path,
		    path);
	rc = login_first_line(fd, buf);
	if (rc == -1)
		client_fail(VERB, "cannot read the password from %s: %s", path,
		    errno == EMSGSIZE ? "first line longer than 1024 bytes" :
		    strerror(errno));
	else if (buf[0] == '\0') {
		client_fail(VERB, "the first line of %s is empty", path);
		rc = -1;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

/*
 * Standard input's first line as the password and its second as the code
 * (--password-file - --otp -): read whole, bounded, then wiped. 0 or -1.
 */
static int
login_stdin_both(char *password, char *otp)
{
	char buf[PASSWORD_MAX + OTP_MAX + 8], *nl, *code;
	size_t len = 0;
	ssize_t n;
	int rc = -1;

	while (len < sizeof(buf) - 1 && (n = read(STDIN_FILENO, buf + len,
	    sizeof(buf) - 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		code = nl + 1;
		code[strcspn(code, "\r\n")] = '\0';
		buf[strcspn(buf, "\r")] = '\0';
		if (*buf != '\0' && strlen(buf) <= PASSWORD_MAX &&
		    strlen(code) <= OTP_MAX) {
			memcpy(password, buf, strlen(buf) + 1);
			memcpy(otp, code, strlen(code) + 1);
			rc = 0;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc == -1)
		client_fail(VERB, "standard input must hold the password, then "
		    "the code, on two lines");
	return rc;
}

/* Password and code from options, a file or the terminal. 0 or -1. */
static int
login_secrets(const struct login_opts *o, char *password, char *otp)
{
	char err[CLIENT_ERR_MAX], prompt[USER_MAX + 32];

	if (o->otp != NULL && strcmp(o->otp, "-") == 0) {
		if (login_stdin_both(password, otp) == -1)
			return -1;
	} else if (o->password_file != NULL) {
		if (login_password_file(o->password_file, password) == -1)
			return -1;
	} else {
		snprintf(prompt, sizeof(prompt), "Password for %s: ", o->user);
		if (client_prompt(prompt, password, PASSWORD_MAX + 1, 0, err,
		    sizeof(err)) == -1) {
			client_fail(VERB, "cannot ask for the password: %s "
			    "(use --password-file)", err);
			return -1;
		}
	}
	if (o->otp != NULL && strcmp(o->otp, "-") == 0)
		;		/* read above */
	else if (o->otp != NULL)	/* checked with the options */
		memcpy(otp, o->otp, strlen(o->otp) + 1);
	else if (client_prompt("One-time code: ", otp, OTP_MAX + 1, 0, err,
	    sizeof(err)) == -1) {
		client_fail(VERB, "cannot ask for the one-time code: %s (use "
		    "--otp)", err);
		return -1;
	}
	if (login_otp_valid(otp) == 0)
		return 0;
	client_fail(VERB, "the one-time code must be %d to %d digits", OTP_MIN,
	    OTP_MAX);
	return -1;
}

/* {"user":U,"password":P,"otp":O}; *capp bytes the caller wipes. */
static char *
login_body(const char *user, const char *password, const char *otp,
    size_t *lenp, size_t *capp)
{
	size_t cap, off = 0;
	char *b;

	cap = 6 * (strlen(user) + strlen(password) + strlen(otp)) + 64;
	b = xmalloc(cap);
	memcpy(b + off, "{\"user\":", 8);
	off += 8;
	client_json_string(b, &off, user);
	memcpy(b + off, ",\"password\":", 12);
	off += 12;
	client_json_string(b, &off, password);
	memcpy(b + off, ",\"otp\":", 7);
	off += 7;
	client_json_string(b, &off, otp);
	memcpy(b + off, "}", 2);
	*lenp = off + 1;
	*capp = cap;
	return b;
}

static X509 *
login_parse_pem(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return x;
}

/*
 * The session certificate must be for our key, chain to the gateway's
 * issuing CA and name this device and a person. Returns the person.
 */
static int
login_check_cert(const struct client_device *dev, X509 *cert,
    struct certs_identity *id)
{
	STACK_OF(X509) *anchors = NULL;
	char err[CLIENT_ERR_MAX], *text;
	EVP_PKEY *key;
	size_t len;
	int rc = -1;

	if ((key = certs_read_key(dev->key, err, sizeof(err))) == NULL)
		client_fail(VERB, "%s", err);
	else if (X509_check_private_key(cert, key) != 1)
		client_fail(VERB, "the session certificate is not for this "
		    "device's key");
	else if ((text = client_state_read(&dev->st, STATE_CACERTS, &len, err,
	    sizeof(err))) == NULL)
		client_fail(VERB, "%s", err);
	else {
		if ((anchors = client_est_read_pem(text, len, err,
		    sizeof(err))) == NULL ||
		    client_est_verify(cert, NULL, anchors, err,
		    sizeof(err)) == -1)
			client_fail(VERB, "session certificate: %s", err);
		else if (certs_identity(cert, id) == -1 ||
		    id->kind != CERTS_KIND_SESSION ||
		    strcmp(id->device_id, dev->id) != 0)
			client_fail(VERB, "the session certificate does not "
			    "name a person on device %s", dev->id);
		else
			rc = 0;
		free(text);
	}
	ERR_clear_error();
	sk_X509_pop_free(anchors, X509_free);
	EVP_PKEY_free(key);
	return rc;
}

static void
login_report(const struct certs_identity *id, json_t *root)
{
	char when[64], left[32], list[512];

	printf("logged in as %s on device %s until %s (%s)\n", id->user,
	    id->device_id, client_format_time(id->not_after, when,
	    sizeof(when)), client_format_left((long long)(id->not_after -
	    time(NULL)), left, sizeof(left)));
	if (client_json_join(json_object_get(root, "roles"), list,
	    sizeof(list)) > 0)
		printf("roles: %s\n", list);
	if (client_json_join(json_object_get(root, "practices"), list,
	    sizeof(list)) > 0)
		printf("practices: %s\n", list);
}

/* Checks the answer, then writes session.json and session.pem (0600). */
static int
login_store(const struct client_device *dev, const struct client_answer *a)
{
	struct certs_identity id;
	char err[CLIENT_ERR_MAX], *json = NULL, *pem = NULL;
	STACK_OF(X509) *one = NULL;
	json_t *root;
	X509 *cert = NULL;
	size_t len;
	int rc = -1;

	memset(&id, 0, sizeof(id));
	root = json_loadb(a->body, a->body_len, 0, NULL);
	if (!json_is_object(root) || !json_is_string(json_object_get(root,
	    "certificate")) || (cert = login_parse_pem(json_string_value(
	    json_object_get(root, "certificate")))) == NULL) {
		client_fail(VERB, "the gateway's answer holds no session "
		    "certificate");
		goto out;
	}
	if (login_check_cert(dev, cert, &id) == -1)
		goto out;
	json_object_del(root, "certificate");
	if ((json = json_dumps(root, JSON_INDENT(2))) == NULL ||
	    (one = sk_X509_new_null()) == NULL || sk_X509_push(one, cert) <= 0 ||
	    (pem = client_est_pem(one, &len, err, sizeof(err))) == NULL) {
		client_fail(VERB, "cannot encode the session");
		goto out;
	}
	if (client_state_write(&dev->st, STATE_SESSION_JSON, json,
	    strlen(json), 0600, err, sizeof(err)) == -1 ||
	    client_state_write(&dev->st, STATE_SESSION, pem, len, 0600, err,
	    sizeof(err)) == -1) {
		client_fail(VERB, "%s", err);
		goto out;
	}
	login_report(&id, root);
	rc = 0;
out:
	sk_X509_free(one);
	X509_free(cert);
	free(pem);
	free(json);
	json_decref(root);
	return rc;
}

/* The request: the secrets are wiped here, whatever happens. */
static int
login_send(const struct client_device *dev, const char *user, char *password,
    char *otp, struct client_answer *a)
{
	char err[CLIENT_ERR_MAX], *body;
	struct client_tls *t;
	size_t len, cap;
	int rc = -1;

	body = login_body(user, password, otp, &len, &cap);
	OPENSSL_cleanse(password, PASSWORD_MAX + 1);
	OPENSSL_cleanse(otp, OTP_MAX + 1);
	if ((t = client_tls_new(&dev->gw, dev->ca, dev->cert, dev->key, err,
	    sizeof(err))) == NULL)
		client_fail(VERB, "%s", err);
	else if (client_request(t, "POST", LOGIN_PATH, "Content-Type: "
	    "application/json\r\n", body, len, a, err, sizeof(err)) == -1)
		client_fail(VERB, "%s", err);
	else
		rc = 0;
	freezero_mwg(body, cap);
	client_tls_free(t);
	return rc;
}

int
client_login(int argc, char **argv)
{
	struct login_opts o = { 0 };
	struct client_state st;
	struct client_device dev;
	struct client_answer a = { 0 };
	char err[CLIENT_ERR_MAX], password[PASSWORD_MAX + 1], otp[OTP_MAX + 1];
	int rc;

	if ((rc = login_options(argc, argv, &o)) != 0)
		return rc == -1 ? CLIENT_EXIT_OK : rc;
	if (client_state_resolve(o.dir, &st, err, sizeof(err)) == -1)
		return client_fail(VERB, "%s", err);
	if (client_device_load(&st, VERB, &dev) == -1 ||
	    client_device_renew(&dev, VERB) == -1)
		return CLIENT_EXIT_FAIL;
	/* Where policy asks for posture, a login needs a fresh report. */
	if (posture_refresh(&dev, VERB) == -1)
		return CLIENT_EXIT_FAIL;
	rc = CLIENT_EXIT_FAIL;
	if (login_secrets(&o, password, otp) == 0 &&
	    login_send(&dev, o.user, password, otp, &a) == 0) {
		if (a.status != 200)
			client_answer_fail(VERB, &a);
		else if (login_store(&dev, &a) == 0)
			rc = CLIENT_EXIT_OK;
	}
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(otp, sizeof(otp));
	client_answer_free(&a);
	return rc;
}
