/*
 * tls_floor: how much heap one server-side TLS connection holds in OpenSSL
 * after a mutual-TLS handshake, with mwgd's settings (buffers released
 * when idle, no session cache, one ticket). It is the floor under any
 * gateway's memory per idle tunnel built on this OpenSSL, so bench/run.sh
 * prints it beside the measured figures.
 * usage: tls_floor CA_DIR DEVICE_PREFIX [ROUNDS]
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "bench/bench_tls.h"

#define HANDSHAKE_STEPS	100

static size_t
heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

static SSL_CTX *
server_ctx(const char *dir)
{
	SSL_CTX *s = bench_server_ctx(dir, "tls_floor");

	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(s, 1);
	return s;
}

static SSL_CTX *
client_ctx(const char *prefix)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	char p[1024];

	snprintf(p, sizeof(p), "%s.pem", prefix);
	if (SSL_CTX_use_certificate_file(c, p, SSL_FILETYPE_PEM) != 1)
		exit(1);
	snprintf(p, sizeof(p), "%s.key", prefix);
	if (SSL_CTX_use_PrivateKey_file(c, p, SSL_FILETYPE_PEM) != 1)
		exit(1);
	return c;
}

/* Heap the server side keeps once the client side is gone. */
static size_t
one_round(SSL_CTX *s, SSL_CTX *c)
{
	int sv[2];
	size_t before;
	SSL *ss, *cs;
	char buf[8];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		exit(1);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	before = heap_in_use();
	ss = SSL_new(s);
	SSL_set_fd(ss, sv[0]);
	SSL_set_accept_state(ss);
	cs = SSL_new(c);
	SSL_set_fd(cs, sv[1]);
	SSL_set_connect_state(cs);
	for (int i = 0; i < HANDSHAKE_STEPS; i++) {
		SSL_do_handshake(cs);
		SSL_do_handshake(ss);
	}
	SSL_write(cs, "x", 1);
	SSL_read(ss, buf, sizeof(buf));
	SSL_write(ss, "y", 1);
	SSL_read(cs, buf, sizeof(buf));
	SSL_read(ss, buf, sizeof(buf));	/* settle: nothing pending */
	SSL_free(cs);
	close(sv[1]);
	{
		size_t held = heap_in_use() - before;

		SSL_free(ss);
		close(sv[0]);
		return held;
	}
}

int
main(int argc, char **argv)
{
	int rounds = argc > 3 ? atoi(argv[3]) : 20;
	size_t min = (size_t)-1;
	SSL_CTX *s, *c;

	if (argc < 3) {
		fprintf(stderr, "usage: tls_floor CA_DIR DEVICE_PREFIX [ROUNDS]\n");
		return 2;
	}
	s = server_ctx(argv[1]);
	c = client_ctx(argv[2]);
	for (int i = 0; i < rounds; i++) {
		size_t held = one_round(s, c);

		if (held < min)
			min = held;
	}
	printf("result mode=tls_floor bytes=%zu KiB=%.1f\n", min, min / 1024.0);
	SSL_CTX_free(s);
	SSL_CTX_free(c);
	return 0;
}
