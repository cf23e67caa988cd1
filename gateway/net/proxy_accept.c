/*
 * PROXY protocol v2 at accept: a listed load balancer must open with a
 * header, which is read (never past its end) before TLS or SSH sees the
 * socket; anyone else must not send one. Either mistake closes the
 * connection with a proxy.reject record naming the peer and why. Bounded:
 * PROXY_V2_MAX bytes held, for the head timeout (TLS) at most.
 */
#include "gateway/net/proxy_accept.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/net/conn.h"

enum proxy_mode
proxy_mode_for(const struct proxy_net *nets, size_t n,
    const struct sockaddr *peer)
{
	if (n == 0)
		return PROXY_MODE_NONE;
	return proxy_net_match(nets, n, peer) ? PROXY_MODE_REQUIRED :
	    PROXY_MODE_SNIFF;
}

enum proxy_v2_status
proxy_read_step(struct proxy_read *pr, int fd, struct proxy_v2_result *r,
    const char **why)
{
	enum proxy_v2_status st = proxy_v2_parse(pr->buf, pr->have, r);
	ssize_t n;

	/* r->need never passes PROXY_V2_MAX: the parser refuses first. */
	while (st == PROXY_V2_MORE) {
		n = recv(fd, pr->buf + pr->have, r->need - pr->have,
		    MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return PROXY_V2_MORE;
		if (n <= 0) {
			*why = PROXY_WHY_CLOSED;
			return PROXY_V2_ERROR;
		}
		pr->have += (size_t)n;
		st = proxy_v2_parse(pr->buf, pr->have, r);
	}
	if (st == PROXY_V2_ERROR)
		*why = r->error;
	return st;
}

int
proxy_sniff(int fd)
{
	uint8_t buf[PROXY_V2_SIG_LEN];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);

	return n > 0 && proxy_v2_looks_like(buf, (size_t)n);
}

void
proxy_conn_init(struct conn *c, const struct proxy_net *nets, size_t n)
{
	c->proxy_mode = proxy_mode_for(nets, n,
	    (const struct sockaddr *)&c->peer_sa);
	if (c->proxy_mode == PROXY_MODE_REQUIRED)
		c->proxy = xcalloc(1, sizeof(*c->proxy));
}

void
proxy_conn_free(struct conn *c)
{
	free(c->proxy);
	c->proxy = NULL;
}

static void
proxy_conn_refuse(struct conn *c, const char *why)
{
	log_debug("%s: conn %llu: %s: %s", __func__,
	    (unsigned long long)c->id, c->peer_ip, why);
	conn_audit(c, "proxy.reject", "failure", why, NULL);
	conn_close(c, "proxy-refused");
}

/* From here on the connection is the header's client (policy sites,
 * throttles and audit records see it); a LOCAL header keeps the proxy's. */
static void
proxy_conn_apply(struct conn *c, const struct proxy_v2_result *r)
{
	char via[INET6_ADDRSTRLEN];

	proxy_conn_free(c);
	c->proxy_mode = PROXY_MODE_NONE;
	if (r->is_local)
		return;
	memcpy(via, c->peer_ip, sizeof(via));
	memset(&c->peer_sa, 0, sizeof(c->peer_sa));
	memcpy(&c->peer_sa, &r->src, r->srclen);
	addr_format_ip((const struct sockaddr *)&c->peer_sa, c->peer_ip,
	    sizeof(c->peer_ip));
	c->peer_port = addr_port((const struct sockaddr *)&c->peer_sa);
	log_debug("%s: conn %llu: client %s:%d through %s", __func__,
	    (unsigned long long)c->id, c->peer_ip, c->peer_port, via);
}

int
proxy_conn_step(struct conn *c)
{
	struct proxy_v2_result r;
	const char *why = NULL;

	if (c->proxy_mode == PROXY_MODE_SNIFF) {
		if (proxy_sniff(c->cfd)) {
			proxy_conn_refuse(c, PROXY_WHY_NOT_LISTED);
			return -1;
		}
		c->proxy_mode = PROXY_MODE_NONE;
		return 1;
	}
	switch (proxy_read_step(c->proxy, c->cfd, &r, &why)) {
	case PROXY_V2_MORE:
		return 0;
	case PROXY_V2_ERROR:
		proxy_conn_refuse(c, why);
		return -1;
	case PROXY_V2_DONE:
		break;
	}
	proxy_conn_apply(c, &r);
	return 1;
}

void
proxy_conn_timeout(struct conn *c)
{
	log_debug("%s: conn %llu: %s: %s", __func__,
	    (unsigned long long)c->id, c->peer_ip, PROXY_WHY_TIMEOUT);
	conn_audit(c, "proxy.reject", "failure", PROXY_WHY_TIMEOUT, NULL);
}
