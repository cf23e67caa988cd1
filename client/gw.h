/*
 * mwg: talking to the gateway. TLS connections that verify the gateway
 * against the CA the device was enrolled with (client/tls.c), one HTTP
 * request per connection with answers parsed by libhttp-parser
 * (client/http.c), and the certificate work of enrolment and renewal
 * (client/est.c, client/device.c).
 */
#ifndef MWG_CLIENT_GW_H
#define MWG_CLIENT_GW_H

#include <stddef.h>

#include <http_parser.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "client/client.h"

#define CLIENT_CONNECT_TIMEOUT	10	/* seconds for the TCP connect */
#define CLIENT_IO_TIMEOUT	30	/* seconds for handshake and answers */
#define CLIENT_ANSWER_MAX	(1024 * 1024)	/* answer body, bytes */
#define CLIENT_HEAD_MAX		8192	/* answer status line and headers */

/* ---- TLS (client/tls.c) ------------------------------------------------ */

/* A TLS client context for one gateway, with a per-process session cache. */
struct client_tls;

/*
 * Trusts only the certificates in ca_path; presents cert_path and key_path
 * if both are given (NULL: no client certificate). TLS 1.2 or later, ECDHE
 * and AEAD only. NULL with a reason in err.
 */
struct client_tls *client_tls_new(const struct client_hostport *gw,
    const char *ca_path, const char *cert_path, const char *key_path,
    char *err, size_t errlen);
/* NULL is a no-op. Thread-safe against client_tls_open. */
void client_tls_free(struct client_tls *t);
/*
 * A verified TLS connection to the gateway (its name or address checked,
 * ALPN http/1.1, the cached session offered). The socket is blocking with
 * CLIENT_IO_TIMEOUT on reads and writes. Safe to call from several
 * threads. NULL with a reason. Ends with client_tls_close().
 */
SSL *client_tls_open(struct client_tls *t, char *err, size_t errlen);
/* "host:port" of the gateway, as Host headers and messages name it. */
const char *client_tls_gateway(const struct client_tls *t);
/* Sends close_notify (best effort), closes the socket, frees ssl. */
void client_tls_close(SSL *ssl);
/* Why the SSL call on ssl that returned rc failed, as "what: reason". */
void client_tls_error(SSL *ssl, int rc, const char *what, char *err,
    size_t errlen);

/* ---- HTTP answers (client/http.c) ------------------------------------- */

struct client_answer {
	int	 status;		/* 0 until the status line is read */
	long	 retry_after;		/* Retry-After seconds, -1 if none */
	char	*body;			/* NUL-terminated, body_len bytes */
	size_t	 body_len;
	int	 complete;		/* the whole answer was read */
	/* private */
	http_parser parser;
	int	 is_connect;		/* a 2xx ends at the head */
	int	 head_done;
	size_t	 head_len;
	size_t	 body_cap;
	char	 field[32];		/* header name (longer: ignored) */
	size_t	 field_len;
	char	 value[32];		/* its value (longer: ignored) */
	size_t	 value_len;
	int	 last_was_value;
	const char *error;
};

/* is_connect: the answer to a CONNECT, where a 2xx has no body. */
void client_answer_init(struct client_answer *a, int is_connect);
void client_answer_free(struct client_answer *a);
/*
 * Feeds len bytes of the answer (len 0: the gateway closed). Returns 1
 * when the answer is complete (for a CONNECT 2xx: the head, and *used
 * says how many of these bytes were the head; the rest are tunnel bytes),
 * 0 for more, -1 with a reason in err (malformed, too large, cut short).
 */
int client_answer_feed(struct client_answer *a, const char *data,
    size_t len, size_t *used, char *err, size_t errlen);
/*
 * The reason an error answer gives: "reason" from its JSON body, else its
 * "error", else "the gateway answered STATUS". Returns buf.
 */
const char *client_answer_reason(const struct client_answer *a, char *buf,
    size_t buflen);
/* Prints "mwg: VERB: REASON (STATUS)"; returns CLIENT_EXIT_FAIL. */
int client_answer_fail(const char *verb, const struct client_answer *a);

/*
 * One request on a new connection: method, path, extra header lines (each
 * ending CRLF, or NULL) and a body (NULL: none; Content-Length is always
 * sent), then the whole answer into a (initialised here; the caller frees
 * it with client_answer_free either way). The request is wiped from
 * memory once sent: it may carry a secret. 0, or -1 with a reason.
 */
int client_request(struct client_tls *t, const char *method,
    const char *path, const char *headers, const char *body, size_t len,
    struct client_answer *a, char *err, size_t errlen);
/*
 * Reads an answer on ssl into a (already initialised). For a CONNECT 2xx
 * the bytes read past the head are copied to rest (restcap bytes, which
 * must be at least 16 KiB: one TLS record) and counted in *restlen.
 */
int client_read_answer(SSL *ssl, struct client_answer *a, char *rest,
    size_t restcap, size_t *restlen, char *err, size_t errlen);

/* ---- a tunnel's bytes (client/relay.c) -------------------------------- */

struct client_relay_stats {
	unsigned long long	 up, down;	/* bytes each way */
	const char		*why;		/* how it ended */
	int			 is_abrupt;	/* the gateway's side ended without
						   close_notify: a cut */
};

/*
 * RFC 5705 exporter label and length that name one tunnel's TLS
 * connection to both ends; GET /v1/closed lists cuts under it. The same
 * values as gateway/session.h, which explains the design.
 */
#define CLIENT_EXPORTER_LABEL	"EXPORTER-mwg-tunnel-id"
#define CLIENT_EXPORTER_LEN	16
#define CLIENT_CLOSED_PATH	"/v1/closed"

/*
 * Relays between the local socket and the tunnel on ssl until both sides
 * have closed (half-closes passed on), writing early (bytes that came
 * with the gateway's answer, at most 16 KiB) to the local side first.
 * Makes both sockets non-blocking; closes neither. 0 when both ends
 * closed in order, -1 when one failed (stats->why says which;
 * stats->is_abrupt if the gateway's side cut it).
 */
int client_relay(SSL *ssl, int local, const char *early, size_t early_len,
    struct client_relay_stats *stats);

/* ---- certificates for enrolment (client/est.c) ------------------------ */

/* A PKCS#10 request for key (CN=mwg-device, SHA-256) as one line of
 * base64 DER. Caller frees. NULL with a reason. */
char *client_est_csr(EVP_PKEY *key, char *err, size_t errlen);
/*
 * Of the certificates in an EST answer, the one for key, checked to chain
 * to anchors (the issuing CAs from /cacerts), to allow client use and to
 * name an mwg device. Caller frees. NULL with a reason.
 */
X509 *client_est_pick(STACK_OF(X509) *got, EVP_PKEY *key,
    STACK_OF(X509) *anchors, char *err, size_t errlen);
/*
 * 0 if cert chains to one of anchors (a partial chain is enough: the
 * issuing CA need not be self-signed) and is fit for TLS client use.
 */
int client_est_verify(X509 *cert, STACK_OF(X509) *untrusted,
    STACK_OF(X509) *anchors, char *err, size_t errlen);
/* certs as concatenated PEM, NUL-terminated; caller frees. */
char *client_est_pem(STACK_OF(X509) *certs, size_t *lenp, char *err,
    size_t errlen);
/* Every certificate in PEM text (at least one). NULL with a reason. */
STACK_OF(X509) *client_est_read_pem(const char *text, size_t len,
    char *err, size_t errlen);
/*
 * GET /.well-known/est/cacerts on t. The certificates, or NULL after
 * printing "mwg: VERB: ..." on stderr.
 */
STACK_OF(X509) *client_est_cacerts(struct client_tls *t, const char *verb);
/*
 * POST the CSR for key to path (simpleenroll or simplereenroll) with the
 * extra headers, and return the certificate picked by client_est_pick, or
 * NULL after printing why.
 */
X509 *client_est_enroll(struct client_tls *t, const char *verb,
    const char *path, const char *headers, EVP_PKEY *key,
    STACK_OF(X509) *anchors);

/* ---- the enrolled device (client/device.c) ----------------------------- */

/* What every verb past enrol starts from. */
struct client_device {
	struct client_state	st;
	struct client_hostport	gw;
	char			gw_text[CLIENT_HOST_MAX + 8];
	char			ca[PATH_MAX];		/* DIR/ca.pem */
	char			cert[PATH_MAX];		/* DIR/device.pem */
	char			key[PATH_MAX];		/* DIR/device.key */
	char			id[64];			/* device id */
	time_t			not_before, not_after;
};

/*
 * Loads the enrolment from st's directory: the gateway, the device
 * certificate and its id. 0, or -1 after printing "mwg: VERB: not
 * enrolled (run mwg enrol)" or what else is wrong.
 */
int client_device_load(const struct client_state *st, const char *verb,
    struct client_device *dev);
/*
 * If the device certificate is in the last third of its life, renews it
 * over EST (same key) and says so on stderr; a failed renewal is only a
 * warning while the certificate is valid. 0, or -1 (said on stderr) if
 * the certificate has expired.
 */
int client_device_renew(struct client_device *dev, const char *verb);

#endif
