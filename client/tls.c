/*
 * TLS to the gateway: trust only the CA given at enrolment, check the
 * gateway's name or address (X509_VERIFY_PARAM), ALPN http/1.1, and keep
 * the newest session ticket so the next connection of this process resumes
 * (cheap reconnects for `mwg connect`).
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certs/certs.h"
#include "client/gw.h"
#include "common/errbuf.h"
#include "common/xmalloc.h"

/* TLS 1.2 suites: forward secrecy and AEAD only (TLS 1.3's all are). */
#define TLS12_CIPHERS	"ECDHE+AESGCM:ECDHE+CHACHA20"
static const unsigned char alpn_http11[] = "\x08http/1.1";

struct client_tls {
	SSL_CTX			*ctx;
	struct client_hostport	 gw;
	char			 gw_text[CLIENT_HOST_MAX + 8];
	pthread_mutex_t		 lock;		/* guards session */
	SSL_SESSION		*session;	/* newest resumable, or NULL */
};

/* OpenSSL hands over each new session (TLS 1.3: each ticket). */
static int
tls_new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct client_tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	if (t == NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	pthread_mutex_lock(&t->lock);
	SSL_SESSION_free(t->session);
	t->session = sess;		/* we keep the reference */
	pthread_mutex_unlock(&t->lock);
	return 1;
}

/* Reason from OpenSSL's queue, then clears it. */
static void
tls_ssl_reason(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	errbuf_set(err, errlen, "%s%s%s", what, r ? ": " : "", r ? r : "");
	ERR_clear_error();
}

static int
tls_use_identity(SSL_CTX *ctx, const char *cert_path, const char *key_path,
    char *err, size_t errlen)
{
	X509 *cert;
	EVP_PKEY *key;
	int rc = -1;

	if ((cert = certs_read_cert(cert_path, err, errlen)) == NULL)
		return -1;
	if ((key = certs_read_key(key_path, err, errlen)) != NULL) {
		if (SSL_CTX_use_certificate(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey(ctx, key) != 1)
			tls_ssl_reason(err, errlen, "cannot use the device "
			    "certificate");
		else if (SSL_CTX_check_private_key(ctx) != 1)
			tls_ssl_reason(err, errlen, "the certificate does not "
			    "match device.key");
		else
			rc = 0;
	}
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

struct client_tls *
client_tls_new(const struct client_hostport *gw, const char *ca_path,
    const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	struct client_tls *t = xcalloc(1, sizeof(*t));
	SSL_CTX *ctx;

	t->gw = *gw;
	client_format_hostport(gw, t->gw_text, sizeof(t->gw_text));
	pthread_mutex_init(&t->lock, NULL);
	if ((t->ctx = ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_ssl_reason(err, errlen, "cannot create a TLS context");
		goto fail;
	}
	SSL_CTX_set_app_data(ctx, t);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		tls_ssl_reason(err, errlen, "cannot set the TLS versions");
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca_path, NULL) != 1) {
		errbuf_set(err, errlen, "cannot load the gateway's CA from %s",
		    ca_path);
		ERR_clear_error();
		goto fail;
	}
	if (cert_path != NULL && key_path != NULL &&
	    tls_use_identity(ctx, cert_path, key_path, err, errlen) == -1)
		goto fail;
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, tls_new_session_cb);
	return t;
fail:
	client_tls_free(t);
	return NULL;
}

void
client_tls_free(struct client_tls *t)
{
	if (t == NULL)
		return;
	SSL_SESSION_free(t->session);
	SSL_CTX_free(t->ctx);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Waits for a non-blocking connect; 0 or -1 with errno. */
static int
tls_wait_connect(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int n, soerr = 0;

	while ((n = poll(&pfd, 1, timeout_ms)) == -1 && errno == EINTR)
		;
	if (n == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (n == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
	    &len) == -1)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

/* A blocking socket with I/O time limits, ready for TLS. */
static int
tls_socket_ready(int fd)
{
	struct timeval tv = { .tv_sec = CLIENT_IO_TIMEOUT };
	int one = 1, flags = fcntl(fd, F_GETFL);

	if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* TCP to the gateway: each address getaddrinfo gives, in order. */
static int
tls_dial(const struct client_tls *t, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	int fd = -1, rc, saved = 0;

	if ((rc = getaddrinfo(t->gw.host, t->gw.port, &hints, &res)) != 0) {
		errbuf_set(err, errlen, "cannot find the gateway %s: %s",
		    t->gw.host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if ((connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && tls_wait_connect(fd,
		    CLIENT_CONNECT_TIMEOUT * 1000) == 0)) &&
		    tls_socket_ready(fd) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		errbuf_set(err, errlen, "cannot reach the gateway at %s: %s",
		    t->gw_text, strerror(saved));
	return fd;
}

/* Name or address check, SNI for names, ALPN, and the cached session. */
static int
tls_prepare(struct client_tls *t, SSL *ssl)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);

	if (t->gw.is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(param, t->gw.host) != 1)
			return -1;
	} else {
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (X509_VERIFY_PARAM_set1_host(param, t->gw.host, 0) != 1 ||
		    SSL_set_tlsext_host_name(ssl, t->gw.host) != 1)
			return -1;
	}
	if (SSL_set_alpn_protos(ssl, alpn_http11, sizeof(alpn_http11) - 1))
		return -1;	/* this one returns 0 on success */
	pthread_mutex_lock(&t->lock);
	if (t->session != NULL)
		SSL_set_session(ssl, t->session);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

SSL *
client_tls_open(struct client_tls *t, char *err, size_t errlen)
{
	char what[CLIENT_HOST_MAX + 64];
	SSL *ssl;
	int fd, rc;

	if ((fd = tls_dial(t, err, errlen)) == -1)
		return NULL;
	if ((ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    tls_prepare(t, ssl) == -1) {
		tls_ssl_reason(err, errlen, "cannot set up TLS");
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	if ((rc = SSL_connect(ssl)) != 1) {
		snprintf(what, sizeof(what), "TLS with the gateway %s",
		    t->gw_text);
		client_tls_error(ssl, rc, what, err, errlen);
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	return ssl;
}

const char *
client_tls_gateway(const struct client_tls *t)
{
	return t->gw_text;
}

void
client_tls_close(SSL *ssl)
{
	int fd;

	if (ssl == NULL)
		return;
	fd = SSL_get_fd(ssl);
	if (!SSL_in_init(ssl))
		(void)SSL_shutdown(ssl);	/* close_notify, no wait */
	ERR_clear_error();
	SSL_free(ssl);
	if (fd != -1)
		close(fd);
}

void
client_tls_error(SSL *ssl, int rc, const char *what, char *err,
    size_t errlen)
{
	int saved = errno;
	long vr = SSL_get_verify_result(ssl);
	int e = SSL_get_error(ssl, rc);

	if (SSL_in_init(ssl) && vr != X509_V_OK) {
		errbuf_set(err, errlen, "%s: the gateway's certificate does "
		    "not verify: %s", what, X509_verify_cert_error_string(vr));
		ERR_clear_error();
	} else if (e == SSL_ERROR_SSL)
		tls_ssl_reason(err, errlen, what);
	else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL &&
	    saved == 0))
		errbuf_set(err, errlen, "%s: the gateway closed the "
		    "connection", what);
	else if (e == SSL_ERROR_SYSCALL)
		errbuf_set(err, errlen, "%s: %s", what, saved == EAGAIN ||
		    saved == EWOULDBLOCK ? "timed out" : strerror(saved));
	else
		errbuf_set(err, errlen, "%s: TLS error %d", what, e);
	ERR_clear_error();
}
