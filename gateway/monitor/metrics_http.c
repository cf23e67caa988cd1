/*
 * GET /metrics: the Prometheus text format, served by libevent's evhttp
 * on its own listener (plain HTTP, no client certificate: bind it to a
 * management address). Gauges are read at scrape time; counters come from
 * metrics.c. Runs on the main thread's loop.
 */
#include "gateway/metrics.h"
#include "gateway/metrics_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "audit/audit.h"
#include "gateway/monitor/netctl.h"
#include "gateway/pool.h"
#include "gateway/server.h"
#include "gateway/monitor/store.h"

#define METRICS_HEAD_MAX	8192	/* a scrape's request head */
#define METRICS_TIMEOUT_S	10	/* to read the request and send */
#define METRICS_BACKLOG		16	/* a scraper or two, not the world */

static struct evhttp *metrics_http;

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static unsigned long long
get(atomic_ullong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void
render_tunnels(FILE *f)
{
	unsigned long long open, closed;

	family(f, "mwg_tunnels_total", "counter", "Tunnel requests decided, "
	    "by protocol and outcome (opened or refused).");
	for (int p = 0; p < METRICS_PROTO_N; p++) {
		fprintf(f, "mwg_tunnels_total{protocol=\"%s\",outcome=\"opened\"} "
		    "%llu\n", metrics_protocols[p], get(&metrics_c.tunnels_opened[p]));
		fprintf(f, "mwg_tunnels_total{protocol=\"%s\",outcome=\"refused\"} "
		    "%llu\n", metrics_protocols[p], get(&metrics_c.tunnels_refused[p]));
	}
	family(f, "mwg_tunnels_closed_total", "counter", "Tunnels closed, by "
	    "protocol and reason (docs/audit.md's table; other: any else).");
	for (int p = 0; p < METRICS_PROTO_N; p++)
		for (int r = 0; r < METRICS_CLOSE_N; r++)
			fprintf(f, "mwg_tunnels_closed_total{protocol=\"%s\","
			    "reason=\"%s\"} %llu\n", metrics_protocols[p],
			    metrics_close_reasons[r],
			    get(&metrics_c.tunnels_closed[p][r]));
	family(f, "mwg_tunnels_open", "gauge", "Tunnels open now, by protocol.");
	for (int p = 0; p < METRICS_PROTO_N; p++) {
		closed = 0;
		for (int r = 0; r < METRICS_CLOSE_N; r++)
			closed += get(&metrics_c.tunnels_closed[p][r]);
		open = get(&metrics_c.tunnels_opened[p]);
		fprintf(f, "mwg_tunnels_open{protocol=\"%s\"} %llu\n",
		    metrics_protocols[p], open > closed ? open - closed : 0);
	}
	family(f, "mwg_tunnel_bytes_total", "counter", "Bytes through tunnels, "
	    "counted when a tunnel closes (up: client to target).");
	fprintf(f, "mwg_tunnel_bytes_total{direction=\"up\"} %llu\n",
	    get(&metrics_c.bytes_up));
	fprintf(f, "mwg_tunnel_bytes_total{direction=\"down\"} %llu\n",
	    get(&metrics_c.bytes_down));
}

static void
render_auth(FILE *f)
{
	static const char *const kinds[2] = { "enrol", "renew" };
	static const char *const outcomes[2] = { "success", "failure" };

	family(f, "mwg_tls_handshakes_total", "counter", "TLS handshakes, by "
	    "result (ok, or why one failed).");
	for (int i = 0; i < METRICS_HS_N; i++)
		fprintf(f, "mwg_tls_handshakes_total{result=\"%s\"} %llu\n",
		    metrics_hs_results[i], get(&metrics_c.handshakes[i]));
	family(f, "mwg_logins_total", "counter", "Logins (POST /v1/login), by "
	    "outcome.");
	for (int i = 0; i < 2; i++)
		fprintf(f, "mwg_logins_total{outcome=\"%s\"} %llu\n",
		    outcomes[i], get(&metrics_c.logins[i]));
	family(f, "mwg_login_failures_total", "counter", "Failed logins by "
	    "what failed (a login with two wrong factors counts in both).");
	for (int i = 0; i < METRICS_FACTOR_N; i++)
		fprintf(f, "mwg_login_failures_total{factor=\"%s\"} %llu\n",
		    metrics_factors[i], get(&metrics_c.login_failures[i]));
	family(f, "mwg_ssh_auth_total", "counter", "SSH authentication steps "
	    "decided, by outcome.");
	for (int i = 0; i < 2; i++)
		fprintf(f, "mwg_ssh_auth_total{outcome=\"%s\"} %llu\n",
		    outcomes[i], get(&metrics_c.ssh_auth[i]));
	family(f, "mwg_enrolments_total", "counter", "EST enrolments and "
	    "renewals, by outcome.");
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 2; i++)
			fprintf(f, "mwg_enrolments_total{kind=\"%s\",outcome="
			    "\"%s\"} %llu\n", kinds[k], outcomes[i],
			    get(&metrics_c.enrolments[k][i]));
}

static void
render_admin(FILE *f)
{
	time_t at = atomic_load(&metrics_c.policy_loaded_at);

	family(f, "mwg_locks_applied_total", "counter", "Locks applied "
	    "(mwgctl lock), by kind.");
	fprintf(f, "mwg_locks_applied_total{kind=\"user\"} %llu\n",
	    get(&metrics_c.locks[0]));
	fprintf(f, "mwg_locks_applied_total{kind=\"device\"} %llu\n",
	    get(&metrics_c.locks[1]));
	family(f, "mwg_revocations_total", "counter", "Devices revoked.");
	fprintf(f, "mwg_revocations_total %llu\n",
	    get(&metrics_c.revocations));
	family(f, "mwg_policy_reloads_total", "counter", "Reloads, by outcome "
	    "(refused: the old configuration stayed).");
	fprintf(f, "mwg_policy_reloads_total{outcome=\"ok\"} %llu\n",
	    get(&metrics_c.reloads[0]));
	fprintf(f, "mwg_policy_reloads_total{outcome=\"refused\"} %llu\n",
	    get(&metrics_c.reloads[1]));
	family(f, "mwg_policy_age_seconds", "gauge", "Seconds since the "
	    "running configuration and policy were loaded.");
	fprintf(f, "mwg_policy_age_seconds %lld\n",
	    at ? (long long)(time(NULL) - at) : 0LL);
}

static void
render_audit(FILE *f, struct audit_log *log)
{
	struct audit_stats st;

	if (log == NULL)
		return;
	audit_stats_get(log, &st);
	family(f, "mwg_audit_records_written_total", "counter", "Audit "
	    "records made durable.");
	fprintf(f, "mwg_audit_records_written_total %llu\n", st.written);
	family(f, "mwg_audit_records_dropped_total", "counter", "Audit "
	    "records not written: refused (queue full or writing failed) or "
	    "lost with a failed write. Each refusal also refused its work.");
	fprintf(f, "mwg_audit_records_dropped_total{why=\"refused\"} %llu\n",
	    st.refused);
	fprintf(f, "mwg_audit_records_dropped_total{why=\"lost\"} %llu\n",
	    st.lost);
	family(f, "mwg_audit_queue_depth", "gauge", "Audit records waiting "
	    "for the writer.");
	fprintf(f, "mwg_audit_queue_depth %llu\n", st.queued);
	family(f, "mwg_audit_unavailable", "gauge", "1 while the audit trail "
	    "cannot be written (new tunnels, logins and enrolments refused).");
	fprintf(f, "mwg_audit_unavailable %d\n", st.failed ? 1 : 0);
	family(f, "mwg_audit_fsync_seconds", "histogram", "fdatasync of each "
	    "group of audit records.");
	for (int i = 0; i < AUDIT_FSYNC_BUCKETS; i++)
		fprintf(f, "mwg_audit_fsync_seconds_bucket{le=\"%g\"} %llu\n",
		    (double)audit_fsync_bounds_us[i] / 1e6, st.fsync_le[i]);
	fprintf(f, "mwg_audit_fsync_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "mwg_audit_fsync_seconds_sum %.6f\n"
	    "mwg_audit_fsync_seconds_count %llu\n", st.fsyncs,
	    st.fsync_seconds, st.fsyncs);
}

/* Resident bytes (statm) and open descriptors, as client libraries name them. */
static void
render_process(FILE *f, time_t started)
{
	unsigned long long pages = 0, rss = 0;
	long fds = 0;
	FILE *statm;
	DIR *d;

	if ((statm = fopen("/proc/self/statm", "re")) != NULL) {
		if (fscanf(statm, "%llu %llu", &pages, &rss) != 2)
			rss = 0;
		fclose(statm);
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while (readdir(d) != NULL)
			fds++;
		closedir(d);
		fds -= 3;	/* ".", ".." and the directory's own */
	}
	family(f, "process_resident_memory_bytes", "gauge", "Resident memory.");
	fprintf(f, "process_resident_memory_bytes %llu\n",
	    rss * (unsigned long long)sysconf(_SC_PAGESIZE));
	family(f, "process_open_fds", "gauge", "Open file descriptors.");
	fprintf(f, "process_open_fds %ld\n", fds > 0 ? fds : 0);
	family(f, "process_start_time_seconds", "gauge", "Start time, Unix "
	    "seconds.");
	fprintf(f, "process_start_time_seconds %lld\n", (long long)started);
}

/* Handshakes happen in the network process: its counts, read now. */
static void
fetch_handshakes(void)
{
	json_t *n = netctl_counters();
	json_t *hs = json_object_get(n, "handshakes");

	for (int i = 0; i < METRICS_HS_N; i++)
		if (json_is_integer(json_array_get(hs, (size_t)i)))
			atomic_store(&metrics_c.handshakes[i],
			    (unsigned long long)json_integer_value(
			    json_array_get(hs, (size_t)i)));
	json_decref(n);
}

char *
metrics_render(struct server *srv)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	fetch_handshakes();
	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	render_tunnels(f);
	render_auth(f);
	render_admin(f);
	render_audit(f, srv->audit);
	family(f, "mwg_auth_pool_queue_depth", "gauge", "Requests waiting for "
	    "an auth pool thread (PAM, TOTP, store, signing).");
	fprintf(f, "mwg_auth_pool_queue_depth %zu\n",
	    srv->pool ? pool_queued(srv->pool) : 0);
	family(f, "mwg_store_errors_total", "counter", "State store (SQLite) "
	    "errors.");
	fprintf(f, "mwg_store_errors_total %llu\n", store_errors_total());
	render_process(f, srv->started);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void
metrics_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(
	    req));
	char *text;

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is here");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, HTTP_BADMETHOD, "use GET");
		return;
	}
	if ((text = metrics_render(arg)) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, "cannot render");
		return;
	}
	evbuffer_add(out, text, strlen(text));
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

int
metrics_listen_socket(const struct sockaddr *sa, socklen_t len)
{
	int fd, one = 1, e;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, sa, len) == -1 || listen(fd, METRICS_BACKLOG) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
metrics_start(struct event_base *base, int fd, struct server *srv, char *err,
    size_t errlen)
{
	if ((metrics_http = evhttp_new(base)) == NULL ||
	    evhttp_accept_socket(metrics_http, fd) == -1) {
		snprintf(err, errlen, "cannot serve metrics");
		metrics_stop();
		return -1;
	}
	evhttp_set_allowed_methods(metrics_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_max_headers_size(metrics_http, METRICS_HEAD_MAX);
	evhttp_set_max_body_size(metrics_http, 0);
	evhttp_set_timeout(metrics_http, METRICS_TIMEOUT_S);
	evhttp_set_gencb(metrics_http, metrics_cb, srv);
	return 0;
}

void
metrics_stop(void)
{
	if (metrics_http != NULL)
		evhttp_free(metrics_http);
	metrics_http = NULL;
}
