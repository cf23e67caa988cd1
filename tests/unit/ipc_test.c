/*
 * gateway/ipc.c, the monitor <-> network process channel, over a real
 * socketpair with both readers running: calls get their replies (in
 * order, from several threads), notices arrive, async replies reach their
 * callback, a call times out when nobody answers, and a frame the reader
 * must not accept (a type the sender may not send, an oversized length, a
 * payload that is not an object) closes the channel and fails every
 * waiting call, as the peer's going away does. And the state operations
 * made in one process are what the other makes of them.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/fdio.h"
#include "gateway/denylist.h"
#include "gateway/devcache.h"
#include "gateway/ipc.h"
#include "gateway/state_mirror.h"
#include "policy/policy.h"

static struct ipc *mon, *net;
static int fds[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int notices, closed;

/* The "monitor": answers IPC_SSH_GROUPS with the user it was asked for;
 * leaves IPC_SSH_SESSION unanswered; counts audit notices. */
static void
mon_handle(struct ipc *ch, int type, uint64_t id, int is_call, json_t *msg,
    void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	if (type == IPC_CLOSED)
		closed++;
	else if (type == IPC_AUDIT && !is_call)
		notices++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	if (type == IPC_SSH_GROUPS && is_call)
		ipc_reply(ch, id, json_pack("{s:O}", "user",
		    json_object_get(msg, "user")));
	json_decref(msg);
}

static void
net_handle(struct ipc *ch, int type, uint64_t id, int is_call, json_t *msg,
    void *arg)
{
	(void)arg;
	if (is_call)
		ipc_reply(ch, id, json_pack("{s:i}", "type", type));
	json_decref(msg);
}

static void
setup(void)
{
	/* As in mwgd: a write to a closed channel is an error, not death. */
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds),
	    0);
	notices = closed = 0;
	mon = ipc_start(fds[0], 1, mon_handle, NULL);
	net = ipc_start(fds[1], 0, net_handle, NULL);
}

static void
teardown(void)
{
	ipc_free(net);
	ipc_free(mon);
}

static void
wait_for(int *counter, int n)
{
	pthread_mutex_lock(&lock);
	while (*counter < n)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

TestSuite(ipc, .init = setup, .fini = teardown, .timeout = 20);

Test(ipc, call_reply_and_notice)
{
	json_t *r = ipc_call(net, IPC_SSH_GROUPS, json_pack("{s:s}", "user",
	    "alice"), 5000);

	cr_assert_not_null(r);
	cr_assert_str_eq(json_string_value(json_object_get(r, "user")),
	    "alice");
	json_decref(r);
	/* The other way: the monitor asks, the network process answers. */
	r = ipc_call(mon, IPC_COUNTERS, json_object(), 5000);
	cr_assert_not_null(r);
	cr_assert_eq(json_integer_value(json_object_get(r, "type")),
	    IPC_COUNTERS);
	json_decref(r);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ipc_send(net, IPC_AUDIT, json_pack("{s:i}", "n",
		    i)), 0);
	wait_for(&notices, 3);
}

/* A frame (header and payload in one sendmsg) larger than the socket's
 * buffer arrives whole: the reader takes it in pieces while the sender
 * blocks. */
Test(ipc, frame_larger_than_the_socket_buffer_arrives_whole)
{
	size_t len = 3u << 20;
	char *big = malloc(len + 1);
	json_t *r;

	cr_assert_not_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	big[len] = '\0';
	r = ipc_call(net, IPC_SSH_GROUPS, json_pack("{s:s}", "user", big),
	    5000);
	cr_assert_not_null(r);
	cr_assert_eq(strlen(json_string_value(json_object_get(r, "user"))),
	    len);
	cr_assert_str_eq(json_string_value(json_object_get(r, "user")), big);
	json_decref(r);
	free(big);
}

static void *
caller_main(void *arg)
{
	char user[16];
	long ok = 0;

	for (int i = 0; i < 200; i++) {
		json_t *r;

		snprintf(user, sizeof(user), "u%ld-%d", (long)(intptr_t)arg, i);
		r = ipc_call(net, IPC_SSH_GROUPS, json_pack("{s:s}", "user",
		    user), 5000);
		ok += r != NULL && strcmp(json_string_value(json_object_get(r,
		    "user")), user) == 0;
		json_decref(r);
	}
	return (void *)ok;
}

Test(ipc, concurrent_calls_get_their_own_replies)
{
	pthread_t t[4];
	void *ok;

	for (intptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, caller_main, (void *)i);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &ok);
		cr_assert_eq((long)ok, 200, "thread %d: %ld of 200", i,
		    (long)ok);
	}
}

static json_t *async_reply;
static int async_done;

static void
async_cb(json_t *r, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	async_reply = r;
	async_done++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

Test(ipc, async_reply_and_timeout)
{
	async_done = 0;
	cr_assert_eq(ipc_call_async(net, IPC_SSH_GROUPS, json_pack("{s:s}",
	    "user", "bob"), async_cb, NULL), 0);
	wait_for(&async_done, 1);
	cr_assert_str_eq(json_string_value(json_object_get(async_reply,
	    "user")), "bob");
	json_decref(async_reply);
	/* Nobody answers IPC_SSH_SESSION here. */
	cr_assert_null(ipc_call(net, IPC_SSH_SESSION, json_object(), 200));
	cr_assert(ipc_alive(net));
}

/* A frame written straight onto the network side's socket. */
static void
raw_frame(uint32_t len, uint16_t type, const char *payload)
{
	unsigned char h[IPC_HDR_LEN] = { 0 };

	memcpy(h, &len, 4);	/* little-endian, as ipc.c writes it */
	memcpy(h + 4, &type, 2);
	cr_assert_eq(fd_write_all(fds[1], h, sizeof(h)), 0);
	if (payload)
		cr_assert_eq(fd_write_all(fds[1], payload, strlen(payload)), 0);
}

Test(ipc, forbidden_type_closes_the_channel)
{
	/* IPC_KILL is the monitor's to send, never the network process's. */
	raw_frame(2, IPC_KILL, "{}");
	wait_for(&closed, 1);
	cr_assert_null(ipc_call(net, IPC_SSH_GROUPS, json_pack("{s:s}", "user",
	    "x"), 2000));
}

Test(ipc, oversized_frame_closes_the_channel)
{
	raw_frame(IPC_PAYLOAD_MAX + 1, IPC_AUDIT, NULL);
	wait_for(&closed, 1);
}

Test(ipc, payload_not_an_object_closes_the_channel)
{
	raw_frame(7, IPC_AUDIT, "[1,2,3]");
	wait_for(&closed, 1);
}

Test(ipc, peer_gone_fails_waiting_calls)
{
	shutdown(fds[0], SHUT_RDWR);
	cr_assert_null(ipc_call(net, IPC_SSH_GROUPS, json_pack("{s:s}", "user",
	    "x"), 0));
	/* Its reader has seen the end (or will within the suite's timeout). */
	while (ipc_alive(net))
		usleep(1000);
}

/* The monitor's mirror, replayed: the network process's copies agree. */
static struct denylist *copy_deny;
static struct devcache *copy_dev;

static void
mirror(void *arg, json_t *op)
{
	(void)arg;
	cr_assert_eq(state_apply(copy_deny, copy_dev, op), 0);
	json_decref(op);
}

/* ---- a send cut short by a signal ---------------------------------------- */

static size_t got_len;
static int got_ok;

static void
big_handle(struct ipc *ch, int type, uint64_t id, int is_call, json_t *msg,
    void *arg)
{
	const char *v = json_string_value(json_object_get(msg, "v"));

	(void)ch;
	(void)id;
	(void)is_call;
	(void)arg;
	pthread_mutex_lock(&lock);
	if (type == IPC_AUDIT && v != NULL) {
		got_len = strlen(v);
		got_ok = 1;
		for (size_t i = 0; i < got_len; i++)
			got_ok &= v[i] == (char)('a' + i % 26);
	} else if (type == IPC_CLOSED) {
		closed++;
	}
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	json_decref(msg);
}

static void
on_signal(int sig)
{
	(void)sig;
}

struct big_send {
	struct ipc *ch;
	size_t len;
	int rc;
};

static void *
big_sender(void *arg)
{
	struct big_send *b = arg;
	char *v = malloc(b->len + 1);

	for (size_t i = 0; i < b->len; i++)
		v[i] = (char)('a' + i % 26);
	v[b->len] = '\0';
	b->rc = ipc_send(b->ch, IPC_AUDIT, json_pack("{s:s}", "v", v));
	free(v);
	return NULL;
}

/*
 * Nobody reads yet, so the sender blocks inside sendmsg with part of the
 * frame in the socket; a signal (no SA_RESTART) makes sendmsg return that
 * part, and send_frame must send the rest from the right place: the
 * reader, started afterwards, gets the whole frame intact.
 */
Test(ipc_partial, a_signal_mid_frame_loses_nothing, .timeout = 20)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct big_send b = { .len = 2u << 20 };
	struct ipc *net_side, *mon_side;
	pthread_t t;
	int sv[2];

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);	/* no SA_RESTART */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	got_len = 0;
	got_ok = closed = 0;
	net_side = ipc_start(sv[1], 0, net_handle, NULL);
	b.ch = net_side;
	cr_assert_eq(pthread_create(&t, NULL, big_sender, &b), 0);
	usleep(200000);			/* blocked: the socket is full */
	cr_assert_eq(pthread_kill(t, SIGUSR1), 0);
	usleep(100000);
	mon_side = ipc_start(sv[0], 1, big_handle, NULL);
	pthread_join(t, NULL);
	cr_assert_eq(b.rc, 0);
	pthread_mutex_lock(&lock);
	while (got_len == 0 && closed == 0)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	cr_assert_eq(closed, 0, "the reader closed the channel: a torn frame");
	cr_assert_eq(got_len, b.len);
	cr_assert(got_ok, "the payload arrived out of order");
	ipc_free(net_side);
	ipc_free(mon_side);
}

Test(state, operations_round_trip)
{
	struct denylist *d = denylist_new();
	struct devcache *dc = devcache_new();
	struct policy_posture p = { .received_at = 1700000000,
	    .disk_encryption = POLICY_YES, .screen_lock = POLICY_NO,
	    .update_age_days = 3, .security_updates = -1, .os_id = "debian",
	    .os_version = "12", .client_version = "0.1.0" }, q;
	char why[DENYLIST_REASON_MAX];
	json_t *bad[2];
	int managed;

	copy_deny = denylist_new();
	copy_dev = devcache_new();
	denylist_set_mirror(d, mirror, NULL);
	devcache_set_mirror(dc, mirror, NULL);
	denylist_lock(d, 1, "alice", 0, "on leave");
	denylist_lock(d, 0, "dev-1", 0, "lost");
	denylist_unlock(d, 0, "dev-1");
	denylist_revoke(d, "dev-2", "stolen");
	denylist_session_end(d, "ABCD", time(NULL) + 60);
	devcache_set_managed(dc, "dev-3", 1);
	devcache_set_posture(dc, "dev-3", &p);
	cr_assert_eq(denylist_user(copy_deny, "alice", time(NULL), why,
	    sizeof(why)), 1);
	cr_assert(strstr(why, "on leave") != NULL, "%s", why);
	cr_assert_eq(denylist_device(copy_deny, "dev-1", time(NULL), NULL, 0),
	    0);
	cr_assert_eq(denylist_device(copy_deny, "dev-2", time(NULL), why,
	    sizeof(why)), 1);
	cr_assert_eq(denylist_session_ended(copy_deny, "ABCD", time(NULL)), 1);
	cr_assert_eq(devcache_get(copy_dev, "dev-3", &managed, &q), 1);
	cr_assert_eq(managed, 1);
	cr_assert_eq(q.received_at, p.received_at);
	cr_assert_eq(q.disk_encryption, POLICY_YES);
	cr_assert_eq(q.screen_lock, POLICY_NO);
	cr_assert_eq(q.security_updates, -1);
	cr_assert_str_eq(q.os_version, "12");
	/* Malformed operations are refused, not half applied. */
	bad[0] = json_pack("{s:s, s:s}", "op", "lock", "name", "bob");
	bad[1] = json_pack("{s:s, s:s, s:i}", "op", "posture", "name",
	    "dev-4", "at", 1);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(state_apply(copy_deny, copy_dev, bad[i]), -1);
		json_decref(bad[i]);
	}
	cr_assert_eq(denylist_user(copy_deny, "bob", time(NULL), NULL, 0), 0);
	denylist_free(d);
	devcache_free(dc);
	denylist_free(copy_deny);
	devcache_free(copy_dev);
}
