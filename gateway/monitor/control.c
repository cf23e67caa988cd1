/*
 * Control requests: status, sessions, kill, reload. Everything that
 * changes live state is audited with the OS user who asked. Two sockets,
 * two roles: the admin socket takes every request; the audit-control
 * socket (the cyber team's group) only asks for audit queries and exports
 * to be recorded, and a table says so (ctl_allowed), not scattered checks.
 */
#include "gateway/monitor/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>

#include "audit/audit.h"
#include "audit/audit_syslog.h"
#include "common/addr.h"
#include "common/fbundle.h"
#include "common/log.h"
#include "common/safefile.h"
#include "common/xmalloc.h"
#include "gateway/drain.h"
#include "gateway/ipc.h"
#include "gateway/monitor/monitor.h"
#include "gateway/monitor/netctl.h"
#include "gateway/monitor/notify.h"
#include "gateway/snapshot.h"
#include "gateway/monitor/store.h"
#include "gateway/ssh.h"

/* Who is at the other end, by the socket they reached. */
enum ctl_role {
	CTL_ROLE_ADMIN,		/* control: every request */
	CTL_ROLE_AUDIT_READER,	/* audit-control: audit query/export notes */
};

struct control_client {
	struct bufferevent *bev;
	long uid;
	enum ctl_role role;
};

static const enum ctl_role ctl_role_admin = CTL_ROLE_ADMIN;
static const enum ctl_role ctl_role_reader = CTL_ROLE_AUDIT_READER;
static struct evconnlistener *ctl_listener, *ctl_audit_listener;
static struct server *ctl_srv;
static struct event_base *ctl_base;	/* the main loop: mwgctl drain ends it */
static const char *ctl_conf_path;

/*
 * Root makes the socket before the drop. Everything after bind() is done
 * in the checked directory by name, never following a link: a link put in
 * its place would otherwise have root chmod or chown any file.
 */
static int
ctl_bind(int fd, int dfd, const char *path, const char *name, gid_t gid,
    char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat sb;
	mode_t old;
	int rc;

	if (addr_unix(path, &sun) == -1) {
		snprintf(err, errlen, "%s: too long for a socket name", path);
		return -1;
	}
	old = umask(0117);	/* 0660 from the start, no chmod by path */
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1) {
		snprintf(err, errlen, "cannot bind %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s was replaced after it was made; "
		    "refusing it", path);
		return -1;
	}
	/* Admins reach the socket through its group, not the daemon's. The
	 * owner stays whoever made it: root, or the unit's user. */
	if (gid != (gid_t)-1 && fchownat(dfd, name, (uid_t)-1, gid,
	    AT_SYMLINK_NOFOLLOW) == -1) {
		snprintf(err, errlen, "cannot chown %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (listen(fd, 16) == -1) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* A stale socket from a daemon that is gone is removed; anything else
 * at path is left alone and refused. */
static int
ctl_clear(int dfd, const char *path, const char *name, char *err,
    size_t errlen)
{
	struct stat sb;
	int fd;

	/* A daemon already answering on path means a second mwgd: refuse. */
	if ((fd = addr_unix_connect(path)) != -1) {
		close(fd);
		snprintf(err, errlen, "another mwgd answers on %s; refusing "
		    "to start a second one", path);
		errno = EADDRINUSE;
		return -1;
	}
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; "
		    "refusing to replace it", path);
		errno = EEXIST;
		return -1;
	}
	if (unlinkat(dfd, name, 0) == -1) {
		snprintf(err, errlen, "cannot remove the stale socket %s: %s",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}

int
control_socket(const char *path, gid_t gid, char *err, size_t errlen)
{
	char why[SAFEFILE_ERR_MAX];
	const char *name;
	char *dir = safefile_split(path, &name);
	int dfd = -1, fd = -1, saved;

	if (dir == NULL) {
		snprintf(err, errlen, "control %s: not a socket name", path);
		errno = EINVAL;
		return -1;
	}
	if ((dfd = safefile_dir_open(dir, why, sizeof(why))) == -1) {
		snprintf(err, errlen, "control socket %s: %s", path, why);
		goto fail;
	}
	if (ctl_clear(dfd, path, name, err, errlen) == -1)
		goto fail;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (ctl_bind(fd, dfd, path, name, gid, err, errlen) == -1)
		goto fail;
	close(dfd);
	free(dir);
	return fd;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	free(dir);
	errno = saved;
	return -1;
}

static void
ctl_status_syslog(struct server *srv, json_t *r)
{
	struct audit_forwarder *fw = atomic_load(&srv->forwarder);
	unsigned long long sent = 0;
	int connected = 0;

	if (fw == NULL)
		return;
	audit_forwarder_stats(fw, &sent, &connected);
	json_object_set_new(r, "syslog_sent", json_integer((json_int_t)sent));
	json_object_set_new(r, "syslog_connected", json_boolean(connected));
}

static json_t *
ctl_status(struct server *srv)
{
	struct gw_snapshot *snap = snapshot_get();
	json_t *r, *n = netctl_counters();

	r = json_pack("{s:b, s:i, s:I, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, "
	    "s:s, s:I, s:b}",
	    "ok", 1, "pid", (int)getpid(),
	    "uptime_s", (json_int_t)(time(NULL) - srv->started),
	    "workers", json_object_get(n, "workers"),
	    "connections", json_object_get(n, "connections"),
	    "accepted", json_object_get(n, "accepted"),
	    "refused", json_object_get(n, "refused"),
	    "tunnels_opened", json_object_get(n, "tunnels_opened"),
	    "tunnels_denied", json_object_get(n, "tunnels_denied"),
	    "policy_sha256", snap ? policy_hash(snap->policy) : "",
	    "generation", (json_int_t)(snap ? snap->generation : 0),
	    "audit_failed", audit_failed(srv->audit));
	json_decref(n);
	snapshot_put(snap);
	json_object_set_new(r, "draining", json_boolean(drain_is_active()));
	netproc_status(r);
	ctl_status_syslog(srv, r);
	return r;
}

static json_t *
ctl_sessions(void)
{
	return json_pack("{s:b, s:o}", "ok", 1, "sessions", netctl_sessions());
}

static json_t *
ctl_error(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *
ctl_kill(struct server *srv, json_t *req, long uid)
{
	json_int_t id = json_integer_value(json_object_get(req, "id"));
	char msg[80];
	int rc = id > 0 ? netctl_kill((uint64_t)id) : -1;

	if (rc == -1) {
		snprintf(msg, sizeof(msg), "no open tunnel with id %lld",
		    (long long)id);
		return ctl_error(msg);
	}
	if (rc == -2)
		return ctl_error("worker busy; try again");
	audit_append(srv->audit, "admin.kill", "success", json_pack(
	    "{s:I, s:I}", "user.id", (json_int_t)uid, "tunnel.id", id));
	return json_pack("{s:b}", "ok", 1);
}

static int
str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* Settings a running daemon cannot change: named, so nobody is misled. */
static void
restart_only_changes(const struct gw_config *old, const struct gw_config *new,
    char *buf, size_t len)
{
	buf[0] = '\0';
	if (strcmp(old->tls.addr_str, new->tls.addr_str) != 0)
		strncat(buf, " listen", len - strlen(buf) - 1);
	if (old->workers != new->workers)
		strncat(buf, " workers", len - strlen(buf) - 1);
	if (str_differs(old->control_path, new->control_path) ||
	    str_differs(old->control_group, new->control_group) ||
	    str_differs(old->audit_control_path, new->audit_control_path) ||
	    str_differs(old->audit_control_group, new->audit_control_group))
		strncat(buf, " control", len - strlen(buf) - 1);
	if (str_differs(old->audit_file, new->audit_file) ||
	    str_differs(old->audit_key, new->audit_key) ||
	    str_differs(old->syslog_url, new->syslog_url) ||
	    str_differs(old->syslog_ca, new->syslog_ca) ||
	    old->audit_checkpoint_records != new->audit_checkpoint_records ||
	    old->audit_checkpoint_seconds != new->audit_checkpoint_seconds ||
	    old->audit_rotate_bytes != new->audit_rotate_bytes ||
	    old->audit_rotate_seconds != new->audit_rotate_seconds)
		strncat(buf, " audit", len - strlen(buf) - 1);
	if (str_differs(old->user, new->user) ||
	    str_differs(old->group, new->group))
		strncat(buf, " user", len - strlen(buf) - 1);
	if (str_differs(old->tls.ca_key, new->tls.ca_key) ||
	    str_differs(old->tls.root, new->tls.root))
		strncat(buf, " ca-key", len - strlen(buf) - 1);
	if (str_differs(old->state_dir, new->state_dir) ||
	    str_differs(old->crl_path, new->crl_path))
		strncat(buf, " state-dir", len - strlen(buf) - 1);
	if (old->auth_threads != new->auth_threads)
		strncat(buf, " auth", len - strlen(buf) - 1);
}

/* Every worker decides its open tunnels again under the new policy. */
static void
redecide_tunnels(struct server *srv)
{
	(void)srv;
	netctl_redecide(NULL, "policy-changed");
}

/*
 * The network process parses the same files from the bundle; it cannot
 * refuse what the monitor accepted unless it is broken, and then it is
 * said.
 */
static void
reload_network(const char *conf_path, json_t *bundle)
{
	struct ipc *ch = netproc_channel();
	json_t *r;
	int ok = 0;

	netproc_set_bundle(json_incref(bundle));
	if (ch == NULL)
		return;		/* a new one starts with the new bundle */
	r = ipc_call(ch, IPC_RELOAD, json_pack("{s:s, s:O}", "conf_path",
	    conf_path, "bundle", bundle), 10000);
	if (r == NULL || ipc_bool(r, "ok", &ok) == -1 || !ok)
		log_warnx("reload: the network process kept its old "
		    "configuration: %s", ipc_str(r, "error", 1024) ?
		    ipc_str(r, "error", 1024) : "no answer");
	json_decref(r);
}

static char *
reload_apply(struct server *srv, const char *conf_path, long uid)
{
	struct conf_errors errs = { 0 };
	json_t *bundle = fbundle_new();
	struct gw_snapshot *s, *cur;
	char old[80], old_cert[65] = "", pending[128] = "", *msg;

	fbundle_record(bundle);
	s = snapshot_load(conf_path, &errs);
	fbundle_record(NULL);
	if (s == NULL) {
		json_decref(bundle);
		msg = conf_errors_join(&errs);
		log_warnx("reload refused, old configuration kept: %zu error%s",
		    errs.n, errs.n == 1 ? "" : "s");
		for (size_t i = 0; i < errs.n; i++)
			log_warnx("reload: %s", errs.msgs[i]);
		conf_errors_clear(&errs);
		audit_append(srv->audit, "policy.reload", "failure", json_pack(
		    "{s:I, s:s}", "user.id", (json_int_t)uid, "event.reason",
		    msg));
		return msg;
	}
	if ((cur = snapshot_get()) != NULL) {
		restart_only_changes(cur->conf, s->conf, pending,
		    sizeof(pending));
		snprintf(old_cert, sizeof(old_cert), "%s", cur->server_sha256);
		snapshot_put(cur);
	}
	netproc_withhold_key(bundle, s);
	snapshot_install(s, old, sizeof(old));
	reload_network(conf_path, bundle);
	json_decref(bundle);
	redecide_tunnels(srv);
	log_info("reloaded %s (policy sha256 %s)", conf_path,
	    policy_hash(s->policy));
	if (pending[0])
		log_warnx("reload: changed settings that take effect only "
		    "after a restart:%s", pending);
	if (strcmp(old_cert, s->server_sha256) != 0)
		log_info("reload: new server certificate, sha256 %s",
		    s->server_sha256);
	audit_append(srv->audit, "policy.reload", "success", json_pack(
	    "{s:I, s:s, s:s, s:s, s:s}", "user.id", (json_int_t)uid,
	    "policy.old_sha256", old, "policy.new_sha256",
	    policy_hash(s->policy), "tls.server_cert_old_sha256", old_cert,
	    "tls.server_cert_sha256", s->server_sha256));
	return NULL;
}

/* The service manager hears the reload begin and how it ended. */
char *
control_reload(struct server *srv, const char *conf_path, long uid)
{
	char status[160];
	char *msg;

	notify_reloading();
	msg = reload_apply(srv, conf_path, uid);
	if (msg == NULL)
		snprintf(status, sizeof(status), "reloaded %s", conf_path);
	else
		snprintf(status, sizeof(status), "reload refused, old "
		    "configuration kept: %.*s", (int)strcspn(msg, "\n"), msg);
	notify_reloaded(status);
	return msg;
}

/*
 * mwgctl audit query/export ask to be recorded: the daemon is the audit
 * trail's only writer, and it knows who asked (SO_PEERCRED).
 */
static json_t *
ctl_audit_note(struct server *srv, json_t *req, long uid)
{
	const char *action = json_string_value(json_object_get(req, "action"));
	json_t *filter = json_object_get(req, "filter");

	if (action == NULL || (strcmp(action, "audit.query") &&
	    strcmp(action, "audit.export") && strcmp(action, "audit.prune")))
		return ctl_error("audit-note: action must be audit.query, "
		    "audit.export or audit.prune");
	if (filter != NULL && !json_is_object(filter))
		return ctl_error("audit-note: filter must be an object");
	if (audit_append_sync(srv->audit, action, "success", json_pack(
	    "{s:I, s:O?, s:O?}", "user.id", (json_int_t)uid, "audit.filter",
	    filter, "audit.records", json_object_get(req, "records"))) == -1)
		return ctl_error("the audit trail cannot be written now");
	return json_pack("{s:b}", "ok", 1);
}

/* The retention periods in force, for mwgctl audit prune --retention-from. */
static json_t *
ctl_retention(void)
{
	struct gw_snapshot *snap = snapshot_get();
	json_t *p = json_object(), *r;

	for (size_t i = 0; snap && i < snap->conf->nretention; i++)
		json_object_set_new(p, snap->conf->retention[i].practice,
		    json_integer(snap->conf->retention[i].months));
	r = json_pack("{s:b, s:I, s:o}", "ok", 1, "default_months",
	    (json_int_t)(snap ? snap->conf->audit_retention_months : 12),
	    "practices", p);
	snapshot_put(snap);
	return r;
}

/*
 * What an audit reader may ask: to have an audit query or export recorded
 * (audit-note with that action), and nothing else, not even status.
 */
static const struct {
	const char *cmd;
	const char *action;	/* for audit-note: the action it records */
} ctl_reader_allowed[] = {
	{ "audit-note", "audit.export" },
	{ "audit-note", "audit.query" },
};

static int
ctl_allowed(enum ctl_role role, const char *cmd, json_t *req)
{
	const char *action = json_string_value(json_object_get(req, "action"));

	if (role == CTL_ROLE_ADMIN)
		return 1;
	for (size_t i = 0; i < sizeof(ctl_reader_allowed) /
	    sizeof(ctl_reader_allowed[0]); i++)
		if (strcmp(cmd, ctl_reader_allowed[i].cmd) == 0 &&
		    action != NULL &&
		    strcmp(action, ctl_reader_allowed[i].action) == 0)
			return 1;
	return 0;
}

/*
 * An admin change that failed because the store's database is out says
 * so (and is recorded), instead of the store's own words.
 */
static json_t *
ctl_store_down(const char *cmd, json_t *ans, long uid)
{
	static const char why[] = "the gateway's database is unreachable; "
	    "try again in a minute";

	if (ans == NULL || json_is_true(json_object_get(ans, "ok")) ||
	    ctl_srv->store == NULL || !store_unavailable(ctl_srv->store))
		return ans;
	json_decref(ans);
	audit_append(ctl_srv->audit, "admin.refused", "failure", json_pack(
	    "{s:I, s:s, s:s}", "user.id", (json_int_t)uid, "mwg.command",
	    cmd, "event.reason", why));
	return ctl_error(why);
}

static json_t *
ctl_handle(struct control_client *cc, const char *line, int *later)
{
	json_error_t jerr;
	json_t *req = json_loads(line, 0, &jerr), *ans;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	char *err, msg[256];

	*later = 0;

	if (!json_is_object(req) || cmd == NULL) {
		snprintf(msg, sizeof(msg), "bad request: %s", req ?
		    "no \"cmd\"" : jerr.text);
		ans = ctl_error(msg);
	} else if (!ctl_allowed(cc->role, cmd, req)) {
		log_info("control: uid %ld on the audit-control socket asked "
		    "for '%.64s'; refused", cc->uid, cmd);
		ans = ctl_error("not allowed on the audit-control socket: it "
		    "only records audit queries and exports (use the control "
		    "socket, as an administrator)");
	}
	else if (strcmp(cmd, "status") == 0)
		ans = ctl_status(ctl_srv);
	else if (strcmp(cmd, "sessions") == 0)
		ans = ctl_sessions();
	else if (strcmp(cmd, "kill") == 0)
		ans = ctl_kill(ctl_srv, req, cc->uid);
	else if (strcmp(cmd, "retention") == 0)
		ans = ctl_retention();
	else if (strcmp(cmd, "audit-note") == 0)
		ans = ctl_audit_note(ctl_srv, req, cc->uid);
	else if (strcmp(cmd, "reload") == 0) {
		err = control_reload(ctl_srv, ctl_conf_path, cc->uid);
		ans = err ? ctl_error(err) : json_pack("{s:b}", "ok", 1);
		free(err);
	}
	/* The console's requests (control_console.c); a login answers later. */
	else if (strncmp(cmd, "console-", 8) == 0) {
		ans = control_console_handle(ctl_srv, cc, cmd, req, cc->uid,
		    later);
		if (ans == NULL && !*later) {
			snprintf(msg, sizeof(msg), "unknown command '%.64s'",
			    cmd);
			ans = ctl_error(msg);
		}
	} else if ((ans = control_admin_handle(ctl_srv, cmd, req,
	    cc->uid)) == NULL && (ans = control_state_handle(ctl_srv, cmd,
	    req, cc->uid)) == NULL && (ans = drain_control_handle(ctl_srv,
	    ctl_base, cmd, req, cc->uid)) == NULL) {
		snprintf(msg, sizeof(msg), "unknown command '%.64s'", cmd);
		ans = ctl_error(msg);
	}
	ans = ctl_store_down(cmd, ans, cc->uid);
	json_decref(req);
	return ans;
}

/* Clients at once, per socket: readers cannot take the admins' places. */
static int ctl_nclients[2];

static void
ctl_client_free(struct control_client *cc)
{
	ctl_nclients[cc->role]--;
	bufferevent_free(cc->bev);
	free(cc);
}

static void ctl_event_cb(struct bufferevent *bev, short what, void *arg);

static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		ctl_client_free(arg);
}

/* Sends ans (reference taken) as one line; the client closes after. */
void
control_answer(struct control_client *cc, json_t *ans)
{
	struct bufferevent *bev = cc->bev;
	char *text;

	if (ans == NULL)	/* json_pack refused a value: never crash on it */
		ans = ctl_error("internal error: answer could not be encoded");
	text = json_dumps(ans, JSON_COMPACT);
	json_decref(ans);
	if (text == NULL) {
		ctl_client_free(cc);
		return;
	}
	bufferevent_disable(bev, EV_READ);
	bufferevent_write(bev, text, strlen(text));
	bufferevent_write(bev, "\n", 1);
	free(text);
	/* Keep the event callback: a client that goes without reading its
	 * answer (EPIPE, timeout) must still be freed. */
	bufferevent_setcb(bev, NULL, ctl_write_cb, ctl_event_cb, cc);
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	json_t *ans;
	char *line;
	int later;

	line = evbuffer_readln(in, NULL, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CONTROL_REQUEST_MAX)
			ctl_client_free(cc);
		return;
	}
	ans = ctl_handle(cc, line, &later);
	explicit_bzero(line, strlen(line));	/* may carry a password */
	free(line);
	if (later) {
		/* Nothing fires while reading is off and nothing is being
		 * written: cc lives until control_answer. */
		bufferevent_disable(bev, EV_READ);
		return;
	}
	control_answer(cc, ans);
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	ctl_client_free(arg);
}

static void
ctl_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct control_client *cc = xcalloc(1, sizeof(*cc));
	struct timeval tv = { CONTROL_TIMEOUT_S, 0 };
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	(void)sa;
	(void)len;
	cc->role = *(const enum ctl_role *)arg;
	if (ctl_nclients[cc->role] >= CONTROL_CLIENTS_MAX) {
		log_warnx("control: more than %d clients at once on the %s "
		    "socket; refusing one", CONTROL_CLIENTS_MAX,
		    cc->role == CTL_ROLE_ADMIN ? "control" : "audit-control");
		close(fd);
		free(cc);
		return;
	}
	ctl_nclients[cc->role]++;
	cc->uid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 ?
	    (long)cred.uid : -1;
	cc->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(cc->bev, ctl_read_cb, NULL, ctl_event_cb, cc);
	bufferevent_set_timeouts(cc->bev, &tv, &tv);
	bufferevent_setwatermark(cc->bev, EV_READ, 0, CONTROL_REQUEST_MAX + 1);
	bufferevent_enable(cc->bev, EV_READ);
}

void
control_start(struct event_base *base, int fd, int audit_fd,
    struct server *srv, const char *conf_path)
{
	ctl_srv = srv;
	ctl_base = base;
	ctl_conf_path = conf_path;
	ctl_listener = evconnlistener_new(base, ctl_accept_cb,
	    (void *)&ctl_role_admin, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (ctl_listener == NULL)
		fatalx("cannot serve the control socket");
	control_console_start(base);
	if (audit_fd == -1)
		return;
	ctl_audit_listener = evconnlistener_new(base, ctl_accept_cb,
	    (void *)&ctl_role_reader, LEV_OPT_CLOSE_ON_FREE, -1, audit_fd);
	if (ctl_audit_listener == NULL)
		fatalx("cannot serve the audit-control socket");
}

void
control_stop(void)
{
	if (ctl_listener)
		evconnlistener_free(ctl_listener);
	if (ctl_audit_listener)
		evconnlistener_free(ctl_audit_listener);
	ctl_listener = ctl_audit_listener = NULL;
	control_console_stop();
	drain_free();
}
