/*
 * hs_floor: the least a server can do per full mutual-TLS handshake on this
 * machine's OpenSSL, to set the handshake row of bench/run.sh against. One
 * thread, blocking sockets, the key in the process, no target to dial, no
 * policy, no audit, no event loop: accept, handshake (mwgd's suites, groups,
 * verification and session settings), echo loadgen's probe byte, read the
 * client's close_notify, answer it, close. Any gateway on this OpenSSL does
 * at least this much work per tunnel; what it spends above it is its own.
 *
 * usage: hs_floor CA_DIR PORT [--tickets none|cache|stateless] [--no-verify]
 *   --tickets cache      one TLS 1.3 ticket naming a server-side cache
 *                        entry, as mwgd (the default)
 *   --tickets stateless  one stateless ticket, as OpenSSL's (and nginx's,
 *                        HAProxy's, stunnel's) default does
 *   --tickets none       no ticket at all
 *   --no-verify          request the client certificate, skip the chain
 *                        check (the certificate is still parsed)
 * It prints "ready" when listening and runs until killed. A client silent
 * for 5 s is dropped, so a stalled load generator cannot hang it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench/bench_tls.h"
#include "gateway/tls_policy.h"

#define FLOOR_IO_TIMEOUT_S	5	/* a stalled client cannot hang the floor */

static int
skip_chain(X509_STORE_CTX *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return 1;
}

static void
tickets(SSL_CTX *s, const char *how)
{
	if (strcmp(how, "none") == 0) {
		SSL_CTX_set_num_tickets(s, 0);
	} else if (strcmp(how, "stateless") == 0) {
		SSL_CTX_set_num_tickets(s, 1);
	} else if (strcmp(how, "cache") == 0) {
		SSL_CTX_set_options(s, SSL_OP_NO_TICKET);
		SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_SERVER);
		SSL_CTX_sess_set_cache_size(s, 10240);
		SSL_CTX_set_num_tickets(s, 1);
	} else {
		fprintf(stderr, "hs_floor: --tickets none|cache|stateless\n");
		exit(2);
	}
}

static SSL_CTX *
server_ctx(const char *dir, const char *how, int verify)
{
	SSL_CTX *s = bench_server_ctx(dir, "hs_floor");

	if (SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(s, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set_ciphersuites(s, TLS13_SUITES) != 1 ||
	    SSL_CTX_set1_groups_list(s, TLS_GROUPS) != 1) {
		fprintf(stderr, "hs_floor: cannot set suites and groups\n");
		exit(1);
	}
	if (!verify)
		SSL_CTX_set_cert_verify_callback(s, skip_chain, NULL);
	SSL_CTX_set_options(s, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	tickets(s, how);
	return s;
}

static int
listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || bind(fd, (struct sockaddr *)&a,
	    sizeof(a)) == -1 || listen(fd, 512) == -1) {
		perror("hs_floor: listen");
		exit(1);
	}
	return fd;
}

/* One connection: handshake, echo one byte, close both ways. */
static void
serve(SSL_CTX *s, int fd)
{
	struct timeval tv = { FLOOR_IO_TIMEOUT_S, 0 };
	SSL *ssl = SSL_new(s);
	char b;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
		fprintf(stderr, "hs_floor: cannot make a TLS connection\n");
		exit(1);
	}
	if (SSL_accept(ssl) == 1 && SSL_get0_peer_certificate(ssl) != NULL &&
	    SSL_read(ssl, &b, 1) == 1 && SSL_write(ssl, &b, 1) == 1 &&
	    SSL_read(ssl, &b, 1) <= 0)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	ERR_clear_error();
	close(fd);
}

int
main(int argc, char **argv)
{
	const char *how = "cache";
	int verify = 1, lfd, fd;
	char *end;
	long port;
	SSL_CTX *s;

	if (argc < 3) {
		fprintf(stderr, "usage: hs_floor CA_DIR PORT [--tickets "
		    "none|cache|stateless] [--no-verify]\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--tickets") == 0 && i + 1 < argc)
			how = argv[++i];
		else if (strcmp(argv[i], "--no-verify") == 0)
			verify = 0;
		else {
			fprintf(stderr, "hs_floor: unknown option %s\n",
			    argv[i]);
			return 2;
		}
	}
	port = strtol(argv[2], &end, 10);
	if (*argv[2] == '\0' || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "hs_floor: PORT must be 1 to 65535, not %s\n",
		    argv[2]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	s = server_ctx(argv[1], how, verify);
	lfd = listen_on((int)port);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		if ((fd = accept(lfd, NULL, NULL)) >= 0)
			serve(s, fd);
}
