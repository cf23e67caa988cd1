/*
 * libFuzzer harness for control-socket requests (gateway/monitor/control.c): the
 * input's first line is one request as ctl_read_cb hands it to ctl_handle
 * (it includes control.c to reach that static function). The daemon
 * around it is a stub with no tunnels, no snapshot and an audit trail
 * that counts records; the state-store verbs (control_state.c) answer
 * "unknown" here. Checks: every request gets an object with a boolean
 * "ok", a refusal carries an "error" string, the answer encodes, and only
 * a well-formed audit-note or a (failing) reload writes a record, once.
 * Run by tests/fuzz/run.sh.
 */
#include "gateway/monitor/control.c"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int records;

int
audit_append(struct audit_log *log, const char *action, const char *outcome,
    json_t *fields)
{
	/* No tunnel to kill; a reload fails (no configuration here). */
	(void)log;
	if (fields == NULL || strcmp(action, "policy.reload") != 0 ||
	    strcmp(outcome, "failure") != 0)
		abort();
	records++;
	json_decref(fields);
	return 0;
}

int
audit_append_sync(struct audit_log *log, const char *action,
    const char *outcome, json_t *fields)
{
	(void)log; (void)outcome;
	if (fields == NULL || strncmp(action, "audit.", 6) != 0)
		abort();
	records++;
	json_decref(fields);
	return 0;
}

int
audit_failed(struct audit_log *log)
{
	(void)log;
	return 0;
}

void
audit_forwarder_stats(struct audit_forwarder *f, unsigned long long *sent,
    int *connected)
{
	(void)f; (void)sent; (void)connected;
	abort();	/* no forwarder */
}

json_t *
control_state_handle(struct server *srv, const char *cmd, json_t *req,
    long uid)
{
	(void)srv; (void)cmd; (void)req; (void)uid;
	return NULL;
}

struct gw_snapshot *
snapshot_load(const char *conf_path, struct conf_errors *errs)
{
	struct conf_pos pos = { conf_path, 1, 1 };

	/* As the real one: NULL always comes with a reason. */
	conf_error(errs, &pos, "cannot open: No such file or directory");
	return NULL;
}

struct gw_snapshot *snapshot_get(void) { return NULL; }
void snapshot_put(struct gw_snapshot *s) { (void)s; }
void snapshot_install(struct gw_snapshot *s, char *h, size_t n)
{
	(void)s; (void)h; (void)n;
	abort();
}
const char *policy_hash(const struct policy *p) { (void)p; abort(); }
/* Not under test here: the console, the admin verbs, systemd, SSH. */
json_t *control_admin_handle(struct server *s, const char *c, json_t *r,
    long u)
{
	(void)s; (void)c; (void)r; (void)u;
	return NULL;
}
json_t *control_console_handle(struct server *s, struct control_client *cc,
    const char *c, json_t *r, long u, int *later)
{
	(void)s; (void)cc; (void)c; (void)r; (void)u;
	*later = 0;
	return NULL;
}
/* Nor mwgctl drain (gateway/drain.c), which would stop the loop. */
json_t *drain_control_handle(struct server *s, struct event_base *b,
    const char *c, json_t *r, long u)
{
	(void)s; (void)b; (void)c; (void)r; (void)u;
	return NULL;
}
void drain_free(void) { }
int drain_is_active(void) { return 0; }
void control_console_start(struct event_base *b) { (void)b; }
void control_console_stop(void) { }
void notify_reloading(void) { }
void notify_reloaded(const char *status) { (void)status; }
/* The network process: no tunnels, none to kill. */
json_t *netctl_sessions(void) { return json_array(); }
int netctl_kill(uint64_t id) { (void)id; return -1; }
json_t *netctl_counters(void) { return json_object(); }
void netctl_redecide(const char *d, const char *w)
{
	(void)d; (void)w;
	abort();
}
struct ipc *netproc_channel(void) { return NULL; }
int store_unavailable(struct store *st) { (void)st; return 0; }
void netproc_status(json_t *r) { (void)r; }
void netproc_set_bundle(json_t *b) { json_decref(b); }
int netproc_withhold_key(json_t *b, const struct gw_snapshot *s)
{
	(void)b; (void)s;
	abort();
}
json_t *ipc_call(struct ipc *ch, int type, json_t *msg, int ms)
{
	(void)ch; (void)type; (void)ms;
	json_decref(msg);
	abort();
}
int ipc_bool(json_t *m, const char *k, int *out)
{
	(void)m; (void)k; (void)out;
	abort();
}
const char *ipc_str(json_t *m, const char *k, size_t max)
{
	(void)m; (void)k; (void)max;
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct server srv;
	static int ready;
	struct control_client cc = { .uid = 1000 };
	const char *ok_key, *action, *cmd;
	size_t len = 0;
	char *line, *text;
	json_t *ans, *req;
	int may_record, later = 0;

	if (!ready) {
		pthread_mutex_init(&srv.reg_lock, NULL);
		TAILQ_INIT(&srv.tunnels);
		ctl_srv = &srv;
		ctl_conf_path = "/nonexistent/mwgd.conf";
		ready = 1;
	}
	if (size > CONTROL_REQUEST_MAX)
		return 0;
	while (len < size && data[len] != '\n')
		len++;
	if ((line = malloc(len + 1)) == NULL)
		abort();
	memcpy(line, data, len);
	line[len] = '\0';
	records = 0;
	req = json_loads(line, 0, NULL);
	action = json_string_value(json_object_get(req, "action"));
	cmd = json_string_value(json_object_get(req, "cmd"));
	may_record = json_is_object(req) && cmd != NULL &&
	    (strcmp(cmd, "reload") == 0 || (strcmp(cmd, "audit-note") == 0 &&
	    action != NULL && strncmp(action, "audit.", 6) == 0));

	ans = ctl_handle(&cc, line, &later);
	if (later)	/* only a console login answers later: not reached */
		abort();
	ok_key = json_is_object(ans) ? "ok" : NULL;
	if (ok_key == NULL || !json_is_boolean(json_object_get(ans, ok_key)) ||
	    (json_is_false(json_object_get(ans, ok_key)) &&
	    !json_is_string(json_object_get(ans, "error"))))
		abort();
	if ((text = json_dumps(ans, JSON_COMPACT)) == NULL)
		abort();
	if (records > 1 || (records == 1 && !may_record))
		abort();
	free(text);
	json_decref(ans);
	json_decref(req);
	free(line);
	return 0;
}
