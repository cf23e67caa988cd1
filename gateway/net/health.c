/*
 * GET /health for the load balancer in front, answered on the worker from
 * memory (no certificate, no store, no pool), and the refusal of other
 * requests while the node drains. Not audited: HAProxy asks every second
 * or two, and a record each time would bury the trail.
 */
#include "gateway/net/health.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gateway/net/conn.h"
#include "gateway/drain.h"
#include "gateway/net/http_head.h"

#define HEALTH_DRAINING	"draining"
#define DRAIN_REFUSAL	"this gateway node is draining for maintenance: " \
			"connect again (another node will answer)"

static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static health_check_fn health_fn;
static void *health_arg;

void
health_set_check(health_check_fn fn, void *arg)
{
	pthread_mutex_lock(&health_lock);
	health_fn = fn;
	health_arg = arg;
	pthread_mutex_unlock(&health_lock);
}

int
health_is_ready(char *why, size_t whylen)
{
	health_check_fn fn;
	void *arg;

	if (drain_is_active()) {
		snprintf(why, whylen, "%s", HEALTH_DRAINING);
		return 0;
	}
	pthread_mutex_lock(&health_lock);
	fn = health_fn;
	arg = health_arg;
	pthread_mutex_unlock(&health_lock);
	if (fn != NULL && !fn(arg, why, whylen))
		return 0;
	return 1;
}

static void
health_answer(struct conn *c)
{
	char why[HEALTH_WHY_MAX], body[HEALTH_WHY_MAX + 16];
	int n;

	if (c->head->method != HTTP_GET) {
		conn_respond_error(c, 405, "method-not-allowed",
		    "use GET for " HEALTH_PATH);
		return;
	}
	why[0] = '\0';
	if (health_is_ready(why, sizeof(why))) {
		conn_respond_raw(c, 200, "text/plain", "Cache-Control: "
		    "no-store\r\n", "ready\n", 6);
		return;
	}
	n = snprintf(body, sizeof(body), "%s\n", why[0] ? why : "not ready");
	conn_respond_raw(c, 503, "text/plain", "Cache-Control: no-store\r\n",
	    body, n > 0 && (size_t)n < sizeof(body) ? (size_t)n :
	    strlen(body));
}

int
health_intercept(struct conn *c)
{
	if (strcmp(c->head->url, HEALTH_PATH) == 0) {
		health_answer(c);
		return 1;
	}
	if (!drain_is_active())
		return 0;
	conn_audit(c, "connection.refuse", "failure", HEALTH_DRAINING,
	    json_pack("{s:i}", "http.response.status_code", 503));
	conn_respond_error(c, 503, "draining", DRAIN_REFUSAL);
	return 1;
}
