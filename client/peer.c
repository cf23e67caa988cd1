/*
 * Who is at the other end of a local connection to mwg connect: the OS
 * user that owns the connecting socket. A Unix socket says so itself
 * (SO_PEERCRED); for loopback TCP the kernel's socket table does, looked
 * up by the peer's address and port (NETLINK_SOCK_DIAG, else
 * /proc/net/tcp{,6}). Linux only; client/client.h says what other systems
 * need.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "common/errbuf.h"

#define PEER_DIAG_TIMEOUT	1000	/* ms for the kernel's answer */
#define PEER_DIAG_BUF		8192

/* The request for one socket, found by its exact four-tuple. */
struct peer_diag_req {
	struct nlmsghdr		nlh;
	struct inet_diag_req_v2	r;
};

/* Copies sa's address into a diag address (network order words). */
static void
peer_diag_addr(const struct sockaddr *sa, __be32 out[4], __be16 *port)
{
	memset(out, 0, 4 * sizeof(__be32));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		out[0] = sin->sin_addr.s_addr;
		*port = sin->sin_port;
	} else {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)sa;

		memcpy(out, &sin6->sin6_addr, 16);
		*port = sin6->sin6_port;
	}
}

/*
 * Only a full socket carries its owner: the kernel reports uid 0 for
 * TIME_WAIT and request sockets, and a listener is not a connection.
 */
static int
peer_state_ok(unsigned state)
{
	switch (state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSE_WAIT:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		return 1;
	default:
		return 0;
	}
}

/* 1 if the diag id names the socket at local `mine` talking to `theirs`. */
static int
peer_diag_match(const struct inet_diag_sockid *id, const struct sockaddr *mine,
    const struct sockaddr *theirs)
{
	__be32 a[4], b[4];
	__be16 pa, pb;

	peer_diag_addr(mine, a, &pa);
	peer_diag_addr(theirs, b, &pb);
	return id->idiag_sport == pa && id->idiag_dport == pb &&
	    memcmp(id->idiag_src, a, sizeof(a)) == 0 &&
	    memcmp(id->idiag_dst, b, sizeof(b)) == 0;
}

/* Reads the kernel's one answer: 1 uid found, 0 no such socket, -1. */
static int
peer_diag_answer(int nl, const struct sockaddr *mine,
    const struct sockaddr *theirs, uid_t *uid, char *err, size_t errlen)
{
	char buf[PEER_DIAG_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct pollfd pfd = { .fd = nl, .events = POLLIN };
	const struct nlmsghdr *h;
	const struct inet_diag_msg *m;
	ssize_t n;

	if (poll(&pfd, 1, PEER_DIAG_TIMEOUT) != 1) {
		errbuf_set(err, errlen, "sock_diag: no answer from the kernel");
		return -1;
	}
	if ((n = recv(nl, buf, sizeof(buf), 0)) <= 0) {
		errbuf_set(err, errlen, "sock_diag: %s", n == 0 ? "closed" :
		    strerror(errno));
		return -1;
	}
	for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
	    h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			/* ENOENT: no socket on this host has that address. */
			if (e->error == -ENOENT)
				return 0;
			errbuf_set(err, errlen, "sock_diag: %s",
			    strerror(-e->error));
			errno = -e->error;
			return -1;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			continue;
		m = NLMSG_DATA(h);
		/* The connecting socket itself, never a listener that
		 * happens to sit on the peer's port. */
		if (!peer_state_ok(m->idiag_state) ||
		    !peer_diag_match(&m->id, mine, theirs))
			continue;
		*uid = m->idiag_uid;
		return 1;
	}
	return 0;
}

/*
 * NETLINK_SOCK_DIAG: asks for the TCP socket whose local address is the
 * peer's and whose remote address is ours (an exact lookup, not a dump).
 */
static int
peer_uid_diag(const struct sockaddr *peer, const struct sockaddr *local,
    uid_t *uid, char *err, size_t errlen)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct peer_diag_req req;
	int nl, rc;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;
	req.nlh.nlmsg_seq = 1;
	req.r.sdiag_family = (__u8)peer->sa_family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = ~0U;
	peer_diag_addr(peer, req.r.id.idiag_src, &req.r.id.idiag_sport);
	peer_diag_addr(local, req.r.id.idiag_dst, &req.r.id.idiag_dport);
	req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if ((nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1) {
		errbuf_set(err, errlen, "sock_diag: %s", strerror(errno));
		return -1;
	}
	if (sendto(nl, &req, sizeof(req), 0, (struct sockaddr *)&kernel,
	    sizeof(kernel)) != (ssize_t)sizeof(req)) {
		errbuf_set(err, errlen, "sock_diag: %s", strerror(errno));
		rc = -1;
	} else
		rc = peer_diag_answer(nl, peer, local, uid, err, errlen);
	close(nl);
	return rc;
}

/* "0100007F:1F90" (IPv4) or 32 hex digits and a port, as the kernel
 * prints the raw words of the address: 0 and the parts, or -1. */
static int
peer_proc_addr(const char *s, int family, __be32 a[4], unsigned *port)
{
	unsigned w[4];
	int n = 0;

	memset(a, 0, 4 * sizeof(__be32));
	if (family == AF_INET) {
		if (sscanf(s, "%8X:%4X%n", &w[0], port, &n) != 2 || n != 13)
			return -1;
		a[0] = w[0];
		return 0;
	}
	if (sscanf(s, "%8X%8X%8X%8X:%4X%n", &w[0], &w[1], &w[2], &w[3], port,
	    &n) != 5 || n != 37)
		return -1;
	for (int i = 0; i < 4; i++)
		a[i] = w[i];
	return 0;
}

int
client_peer_uid_proc(FILE *f, const struct sockaddr *peer,
    const struct sockaddr *local, uid_t *uid)
{
	char line[512], las[64], ras[64];
	__be32 pa[4], la[4], a[4];
	__be16 pp, lp;
	unsigned port, st, u;
	int family = peer->sa_family;

	peer_diag_addr(peer, pa, &pp);
	peer_diag_addr(local, la, &lp);
	if (fgets(line, sizeof(line), f) == NULL)	/* the heading */
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* sl local rem st tx:rx tr:when retrnsmt uid ... */
		if (sscanf(line, " %*s %63s %63s %X %*s %*s %*s %u", las, ras,
		    &st, &u) != 4)
			continue;
		if (!peer_state_ok(st) ||
		    peer_proc_addr(las, family, a, &port) == -1 ||
		    port != ntohs(pp) || memcmp(a, pa, sizeof(a)) != 0 ||
		    peer_proc_addr(ras, family, a, &port) == -1 ||
		    port != ntohs(lp) || memcmp(a, la, sizeof(a)) != 0)
			continue;
		*uid = (uid_t)u;
		return 1;
	}
	return 0;
}

/* The fallback when netlink is not allowed (e.g. a seccomp profile). */
static int
peer_uid_proc(const struct sockaddr *peer, const struct sockaddr *local,
    uid_t *uid, char *err, size_t errlen)
{
	const char *path = peer->sa_family == AF_INET ? "/proc/net/tcp" :
	    "/proc/net/tcp6";
	FILE *f;
	int rc;

	if ((f = fopen(path, "re")) == NULL) {
		errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((rc = client_peer_uid_proc(f, peer, local, uid)) == -1)
		errbuf_set(err, errlen, "%s: cannot read it", path);
	fclose(f);
	return rc;
}

int
client_peer_uid(int fd, uid_t *uid, char *err, size_t errlen)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char e[CLIENT_ERR_MAX], e2[CLIENT_ERR_MAX];
	int rc;

	if (getsockname(fd, (struct sockaddr *)&local, &llen) == -1 ||
	    getpeername(fd, (struct sockaddr *)&peer, &plen) == -1) {
		errbuf_set(err, errlen, "cannot read the connection's "
		    "addresses: %s", strerror(errno));
		return -1;
	}
	if (local.ss_family == AF_UNIX) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ==
		    -1) {
			errbuf_set(err, errlen, "SO_PEERCRED: %s",
			    strerror(errno));
			return -1;
		}
		*uid = cred.uid;
		return 1;
	}
	if (local.ss_family != AF_INET && local.ss_family != AF_INET6) {
		errbuf_set(err, errlen, "not a TCP or Unix connection");
		return -1;
	}
	rc = peer_uid_diag((struct sockaddr *)&peer, (struct sockaddr *)&local,
	    uid, e, sizeof(e));
	if (rc != -1)
		return rc;
	/* Netlink refused (not the answer "no such socket"): read /proc. */
	if ((rc = peer_uid_proc((struct sockaddr *)&peer,
	    (struct sockaddr *)&local, uid, e2, sizeof(e2))) == -1)
		errbuf_set(err, errlen, "%s; %s", e, e2);
	return rc;
}
