/*
 * One JSON line to mwgd's control socket and one line back, without
 * blocking the console's loop (a login waits for PAM in mwgd). Bounded in
 * size and time; the callback runs exactly once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "console/console.h"

#define CTL_ANSWER_MAX	(8 * 1024 * 1024)
#define CTL_TIMEOUT_S	20	/* mwgd gives up on a client after 10 s */

struct ctl_call {
	struct bufferevent *bev;
	ctl_cb cb;
	void *arg;
};

static void
ctl_finish(struct ctl_call *c, json_t *ans, const char *err)
{
	c->cb(ans, err, c->arg);
	json_decref(ans);
	bufferevent_free(c->bev);
	free(c);
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	json_t *ans;
	char *line;

	if ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_LF)) == NULL) {
		if (evbuffer_get_length(in) > CTL_ANSWER_MAX)
			ctl_finish(arg, NULL, "mwgd's answer is too long");
		return;
	}
	ans = json_loads(line, 0, NULL);
	free(line);
	if (!json_is_object(ans)) {
		json_decref(ans);
		ctl_finish(arg, NULL, "mwgd's answer is not JSON");
		return;
	}
	ctl_finish(arg, ans, NULL);
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	ctl_finish(arg, NULL, what & BEV_EVENT_TIMEOUT ?
	    "mwgd did not answer in time" : "mwgd's control socket closed");
}

void
ctl_call(json_t *req, ctl_cb cb, void *arg)
{
	struct ctl_call *c = xcalloc(1, sizeof(*c));
	struct timeval tv = { CTL_TIMEOUT_S, 0 };
	struct sockaddr_un sun;
	char *text = json_dumps(req, JSON_COMPACT);

	json_decref(req);
	c->cb = cb;
	c->arg = arg;
	c->bev = bufferevent_socket_new(console_base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	if (text == NULL || c->bev == NULL ||
	    addr_unix(console_conf.control, &sun) == -1) {
		if (text)
			OPENSSL_cleanse(text, strlen(text));
		free(text);
		ctl_finish(c, NULL, "cannot build the request to mwgd");
		return;
	}
	bufferevent_setcb(c->bev, ctl_read_cb, NULL, ctl_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_ANSWER_MAX + 1);
	bufferevent_write(c->bev, text, strlen(text));
	bufferevent_write(c->bev, "\n", 1);
	OPENSSL_cleanse(text, strlen(text));	/* a login carries a password */
	free(text);
	bufferevent_enable(c->bev, EV_READ);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1)
		ctl_finish(c, NULL, "cannot reach mwgd's control socket");
}
