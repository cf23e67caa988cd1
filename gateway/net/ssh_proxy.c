/*
 * The SSH listener's PROXY protocol step, on the connection's handshake
 * thread before libssh reads a byte: a listed load balancer's header is
 * read (within SSH_PROXY_HEADER_MS) and the session takes the client's
 * address from it; from a peer not listed, bytes that start a header are
 * refused. Refusals are audited (proxy.reject) and free the slot at once.
 */
#include <sys/socket.h>

#include <poll.h>
#include <string.h>

#include "audit/audit.h"
#include "common/addr.h"
#include "common/log.h"
#include "gateway/net/proxy_accept.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"
#include "gateway/ssh_int.h"

#define SSH_PROXY_HEADER_MS	5000	/* a listed peer's header, whole */
/*
 * How long a peer not listed is watched for a header before libssh sends
 * its banner. OpenSSH and PuTTY send theirs at once, so this costs them
 * nothing; a client that waits for the server's banner first waits this.
 */
#define SSH_PROXY_SNIFF_MS	500

/* The handshake slot is given back as ssh_handshake_main does. */
static void
ssh_proxy_drop(struct ssh_sess *ss, const char *why, int is_audited)
{
	struct ssh_listener *l = ss->l;
	uint64_t id = ss->id;
	char ip[sizeof(ss->peer_ip)];

	memcpy(ip, ss->peer_ip, sizeof(ip));
	log_debug("%s: ssh %llu: %s: %s", __func__, (unsigned long long)id,
	    ip, why);
	if (is_audited)
		audit_append(l->srv->audit, "proxy.reject", "failure",
		    ssh_sess_fields(ss, why, NULL));
	pthread_mutex_lock(&l->hs_lock);
	TAILQ_REMOVE(&l->handshakes, ss, entry);
	ssh_sess_free(ss);
	l->nhandshakes--;
	log_debug("%s: ssh %llu: %s: unauthenticated connections now %d",
	    __func__, (unsigned long long)id, ip, l->nhandshakes);
	pthread_cond_broadcast(&l->hs_cond);
	pthread_mutex_unlock(&l->hs_lock);
}

/* Waits for fd to be readable until deadline (ssh_now_ms); 0 if it is. */
static int
ssh_proxy_wait(struct ssh_sess *ss, int64_t deadline)
{
	struct pollfd p = { .fd = ss->fd, .events = POLLIN };
	int64_t left = deadline - ssh_now_ms();

	if (left <= 0 || atomic_load(&ss->l->quitting))
		return -1;
	return poll(&p, 1, (int)left) == 1 ? 0 : -1;
}

/* The header's client becomes the session's peer, and counts against
 * per-source-max-startups from here on. NULL, or why it is refused. */
static const char *
ssh_proxy_apply(struct ssh_sess *ss, const struct proxy_v2_result *r)
{
	struct gw_snapshot *snap = snapshot_get();
	long long per_source = snap->conf->ssh_per_source, from_ip = 0;
	struct ssh_listener *l = ss->l;
	const struct ssh_sess *o;
	char via[sizeof(ss->peer_ip)];

	snapshot_put(snap);
	pthread_mutex_lock(&l->hs_lock);
	memcpy(via, ss->peer_ip, sizeof(via));
	memset(&ss->peer, 0, sizeof(ss->peer));
	memcpy(&ss->peer, &r->src, r->srclen);
	addr_format_ip((const struct sockaddr *)&ss->peer, ss->peer_ip,
	    sizeof(ss->peer_ip));
	ss->peer_port = addr_port((const struct sockaddr *)&ss->peer);
	TAILQ_FOREACH(o, &l->handshakes, entry)
		if (o != ss && strcmp(o->peer_ip, ss->peer_ip) == 0)
			from_ip++;
	pthread_mutex_unlock(&l->hs_lock);
	log_debug("%s: ssh %llu: client %s:%d through %s", __func__,
	    (unsigned long long)ss->id, ss->peer_ip, ss->peer_port, via);
	return from_ip >= per_source ? "per-source-max-startups reached" :
	    NULL;
}

/* A listed peer: NULL once the header is read and applied, or why not;
 * *is_audited is 0 for a refusal that is no PROXY matter. */
static const char *
ssh_proxy_read(struct ssh_sess *ss, int *is_audited)
{
	int64_t deadline = ssh_now_ms() + SSH_PROXY_HEADER_MS;
	struct proxy_read pr = { 0 };
	struct proxy_v2_result r;
	const char *why = NULL;
	enum proxy_v2_status st;

	*is_audited = 1;
	while ((st = proxy_read_step(&pr, ss->fd, &r, &why)) == PROXY_V2_MORE)
		if (ssh_proxy_wait(ss, deadline) == -1)
			return PROXY_WHY_TIMEOUT;
	if (st == PROXY_V2_ERROR)
		return why;
	if (r.is_local)
		return NULL;
	why = ssh_proxy_apply(ss, &r);
	*is_audited = why == NULL;
	return why;
}

void *
ssh_proxy_main(void *arg)
{
	struct ssh_sess *ss = arg;
	const char *why = NULL;
	int is_audited = 1;

	if (ss->proxy_mode == PROXY_MODE_REQUIRED)
		why = ssh_proxy_read(ss, &is_audited);
	else if (ssh_proxy_wait(ss, ssh_now_ms() + SSH_PROXY_SNIFF_MS) == 0 &&
	    proxy_sniff(ss->fd))
		why = PROXY_WHY_NOT_LISTED;
	if (why != NULL) {
		ssh_proxy_drop(ss, why, is_audited);
		return NULL;
	}
	return ssh_handshake_main(ss);
}
