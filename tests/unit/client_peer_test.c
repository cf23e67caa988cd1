/*
 * client/peer.c: who owns the other end of a local connection. Real
 * loopback TCP pairs (IPv4 and IPv6) looked up through NETLINK_SOCK_DIAG
 * and through /proc/net/tcp{,6}, a Unix socket pair through SO_PEERCRED,
 * and /proc tables written by hand for what a live system rarely shows
 * (a listener or TIME_WAIT line on the peer's address, another uid).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "client/peer.c"
#include "unit.h"

/* A connected loopback pair: *c the connecting end, *a the accepted one. */
static void
tcp_pair(int family, int *c, int *a)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int l;

	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	cr_assert_neq(l = socket(family, SOCK_STREAM, 0), -1);
	cr_assert_eq(bind(l, (struct sockaddr *)&ss, len), 0);
	cr_assert_eq(listen(l, 1), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&ss, &len), 0);
	cr_assert_neq(*c = socket(family, SOCK_STREAM, 0), -1);
	cr_assert_eq(connect(*c, (struct sockaddr *)&ss, len), 0);
	cr_assert_neq(*a = accept(l, NULL, NULL), -1);
	close(l);
}

static void
check_live(int family)
{
	char err[CLIENT_ERR_MAX] = "";
	uid_t uid = 12345;
	int c, a;

	tcp_pair(family, &c, &a);
	cr_assert_eq(client_peer_uid(a, &uid, err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(uid, geteuid());
	close(c);
	close(a);
}

Test(peer, tcp4_sock_diag) { check_live(AF_INET); }
Test(peer, tcp6_sock_diag) { check_live(AF_INET6); }

/* The same answer from the /proc table the fallback reads. */
static void
check_proc(int family, const char *path)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	uid_t uid = 12345;
	FILE *f;
	int c, a;

	tcp_pair(family, &c, &a);
	cr_assert_eq(getpeername(a, (struct sockaddr *)&peer, &plen), 0);
	cr_assert_eq(getsockname(a, (struct sockaddr *)&local, &llen), 0);
	cr_assert_not_null(f = fopen(path, "r"));
	cr_assert_eq(client_peer_uid_proc(f, (struct sockaddr *)&peer,
	    (struct sockaddr *)&local, &uid), 1);
	cr_assert_eq(uid, geteuid());
	fclose(f);
	close(c);
	close(a);
}

Test(peer, tcp4_proc) { check_proc(AF_INET, "/proc/net/tcp"); }
Test(peer, tcp6_proc) { check_proc(AF_INET6, "/proc/net/tcp6"); }

Test(peer, unix_peercred)
{
	char err[CLIENT_ERR_MAX] = "";
	uid_t uid = 12345;
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(client_peer_uid(sv[0], &uid, err, sizeof(err)), 1);
	cr_assert_eq(uid, geteuid());
	close(sv[0]);
	close(sv[1]);
}

/* A peer that is gone: no socket on this host has its address. */
Test(peer, tcp_peer_gone_is_not_found)
{
	struct sockaddr_in peer = { .sin_family = AF_INET }, local;
	uid_t uid = 12345;
	FILE *f;

	peer.sin_addr.s_addr = htonl(0x7f000001);
	peer.sin_port = htons(9);	/* discard: nothing connects from it */
	local = peer;
	local.sin_port = htons(7);
	cr_assert_not_null(f = fopen("/proc/net/tcp", "r"));
	cr_assert_eq(client_peer_uid_proc(f, (struct sockaddr *)&peer,
	    (struct sockaddr *)&local, &uid), 0);
	cr_assert_eq(uid, 12345);
	fclose(f);
}

/* An empty table has not even its heading. */
Test(peer, proc_empty)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	uid_t uid;
	FILE *f;

	cr_assert_not_null(f = fopen("/dev/null", "r"));
	cr_assert_eq(client_peer_uid_proc(f, (struct sockaddr *)&a,
	    (struct sockaddr *)&a, &uid), -1);
	fclose(f);
}

#define PROC_HEAD "  sl  local_address rem_address   st tx_queue rx_queue " \
    "tr tm->when retrnsmt   uid  timeout inode\n"

struct proc_case {
	const char *table;
	int rc;
	uid_t uid;
};

/* The peer is 127.0.0.1:40000 (0100007F:9C40), we are 127.0.0.1:8443
 * (0100007F:20FB); raw words, as a little-endian kernel prints them. */
static const struct proc_case proc_cases[] = {
	/* The connecting socket, uid 1001. */
	{ PROC_HEAD "   0: 0100007F:9C40 0100007F:20FB 01 00000000:00000000 "
	  "00:00000000 00000000  1001        0 111 1\n", 1, 1001 },
	/* Our own accepted socket is the mirror image: not the peer. */
	{ PROC_HEAD "   0: 0100007F:20FB 0100007F:9C40 01 00000000:00000000 "
	  "00:00000000 00000000     0        0 112 1\n", 0, 0 },
	/* A listener or a TIME_WAIT line on the peer's address says uid 0
	 * for no one: skipped, the real socket below is found. */
	{ PROC_HEAD "   0: 0100007F:9C40 00000000:0000 0A 00000000:00000000 "
	  "00:00000000 00000000     0        0 113 1\n"
	  "   1: 0100007F:9C40 0100007F:20FB 06 00000000:00000000 "
	  "00:00000000 00000000     0        0 0 1\n"
	  "   2: 0100007F:9C40 0100007F:20FB 04 00000000:00000000 "
	  "00:00000000 00000000  2002        0 114 1\n", 1, 2002 },
	/* Another port, another address: not it. */
	{ PROC_HEAD "   0: 0100007F:9C41 0100007F:20FB 01 00000000:00000000 "
	  "00:00000000 00000000  1001        0 115 1\n"
	  "   1: 0200007F:9C40 0100007F:20FB 01 00000000:00000000 "
	  "00:00000000 00000000  1001        0 116 1\n", 0, 0 },
	/* Garbage lines are skipped. */
	{ PROC_HEAD "nonsense\n   0: 0100007F 0100007F:20FB 01\n", 0, 0 },
};

Test(peer, proc_tables)
{
	struct sockaddr_in peer = { .sin_family = AF_INET }, local;
	FILE *f;
	uid_t uid;

	cr_assert_eq(htonl(1), 1u << 24, "the tables are little-endian");
	peer.sin_addr.s_addr = htonl(0x7f000001);
	peer.sin_port = htons(40000);
	local = peer;
	local.sin_port = htons(8443);
	for (size_t i = 0; i < NELEM(proc_cases); i++) {
		const struct proc_case *pc = &proc_cases[i];

		uid = 0;
		cr_assert_not_null(f = fmemopen((void *)pc->table,
		    strlen(pc->table), "r"));
		cr_assert_eq(client_peer_uid_proc(f, (struct sockaddr *)&peer,
		    (struct sockaddr *)&local, &uid), pc->rc, "case %zu", i);
		if (pc->rc == 1)
			cr_assert_eq(uid, pc->uid, "case %zu", i);
		fclose(f);
	}
}

/* IPv6: [::1]:40000 -> [::1]:8443, four raw words each. */
Test(peer, proc_table_v6)
{
	static const char table[] = PROC_HEAD
	    "   0: 00000000000000000000000001000000:9C40 "
	    "00000000000000000000000001000000:20FB 01 00000000:00000000 "
	    "00:00000000 00000000  3003        0 117 1\n";
	struct sockaddr_in6 peer = { .sin6_family = AF_INET6 }, local;
	uid_t uid = 0;
	FILE *f;

	peer.sin6_addr = in6addr_loopback;
	peer.sin6_port = htons(40000);
	local = peer;
	local.sin6_port = htons(8443);
	cr_assert_not_null(f = fmemopen((void *)table, sizeof(table) - 1,
	    "r"));
	cr_assert_eq(client_peer_uid_proc(f, (struct sockaddr *)&peer,
	    (struct sockaddr *)&local, &uid), 1);
	cr_assert_eq(uid, 3003);
	fclose(f);
}
