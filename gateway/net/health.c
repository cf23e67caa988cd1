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
#include "gateway/ipc.h"
#include "gateway/net/http_head.h"

#define HEALTH_DRAINING	"draining"
#define DRAIN_REFUSAL	"this gateway node is draining for maintenance: " \
			"connect again (another node will answer)"

static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static char health_why[HEALTH_WHY_MAX];	/* "": ready */

int
health_apply(json_t *op)
{
	const char *kind = ipc_str(op, "op", 16), *why;

	if (kind == NULL || strcmp(kind, "health") != 0)
		return 0;
	why = ipc_str(op, "why", HEALTH_WHY_MAX - 1);
	if (json_object_get(op, "why") != NULL && (why == NULL ||
	    why[0] == '\0'))
		return -1;
	pthread_mutex_lock(&health_lock);
	snprintf(health_why, sizeof(health_why), "%s", why ? why : "");
	pthread_mutex_unlock(&health_lock);
	return 1;
}

int
health_is_ready(char *why, size_t whylen)
{
	int ready;

	if (drain_is_active()) {
		snprintf(why, whylen, "%s", HEALTH_DRAINING);
		return 0;
	}
	pthread_mutex_lock(&health_lock);
	ready = health_why[0] == '\0';
	if (!ready)
		snprintf(why, whylen, "%s", health_why);
	pthread_mutex_unlock(&health_lock);
	return ready;
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
