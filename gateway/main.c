/*
 * mwgd: the mobile-working gateway daemon. Reads mwgd.conf and the policy,
 * binds its sockets, drops root, then runs worker threads for TLS clients
 * while the main thread serves the control socket and signals.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>

#include <event2/event.h>

#include "audit/audit.h"
#include "audit/audit_syslog.h"
#include "common/log.h"
#include "common/safefile.h"
#include "common/xmalloc.h"
#include "certs/certs.h"
#include "gateway/monitor/control.h"
#include "common/fbundle.h"
#include "gateway/ipc.h"
#include "gateway/monitor/monitor.h"
#include "gateway/net/net_main.h"
#include "gateway/denylist.h"
#include "gateway/drain.h"
#include "gateway/devcache.h"
#include "gateway/monitor/fdlimit.h"
#include "gateway/metrics.h"
#include "gateway/monitor/node_sync.h"
#include "gateway/monitor/notify.h"
#include "gateway/pool.h"
#include "gateway/monitor/revoke.h"
#include "gateway/ssh.h"
#include "gateway/monitor/store.h"
#include "gateway/monitor/privdrop.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"

#define MWGD_VERSION "0.1.0"

static const char usage_text[] =
"NAME\n"
"    mwgd - the mobile-working gateway daemon\n"
"\n"
"SYNOPSIS\n"
"    mwgd -f FILE [-d]\n"
"    mwgd -n -f FILE\n"
"\n"
"DESCRIPTION\n"
"    mwgd lets enrolled devices reach practice systems. On its TLS port it\n"
"    enrols devices over EST (/.well-known/est/*, with a one-time code from\n"
"    mwgctl enrol-code), logs people in (POST /v1/login: PAM password and a\n"
"    TOTP code, answered with a short-lived session certificate), takes\n"
"    posture reports (POST /v1/posture), serves its CRL (GET /crl), and\n"
"    opens mutual-TLS HTTP CONNECT tunnels for session certificates. With\n"
"    listen ssh it is also an SSH jump host for stock OpenSSH clients.\n"
"    Each tunnel names a target as NAME.PRACTICE:PORT, resolved only through\n"
"    policy.conf, and is decided by the person's role, practice membership,\n"
"    site, hours and the device's posture; every decision is written to the\n"
"    audit log before any byte flows. mwgd runs in the foreground and logs\n"
"    to standard error.\n"
"\n"
"    mwgd runs as two processes: the monitor holds the CA key, the audit\n"
"    key, the state store, PAM and TOTP, and starts a network process (its\n"
"    child, as network-user, in an empty root, under a seccomp filter)\n"
"    that serves TLS and SSH and asks the monitor for the rest. If the\n"
"    network process dies, the monitor audits it and starts another.\n"
"\n"
"OPTIONS\n"
"    -f FILE   the configuration file (mwgd.conf)\n"
"    -n        check mwgd.conf, the policy it names, the TLS files and the CA\n"
"              key, print every error as file:line:column, and exit\n"
"    -d        debug logging\n"
"    -h        this help\n"
"\n"
"SIGNALS\n"
"    SIGHUP    reload mwgd.conf and policy.conf; a broken file is refused\n"
"              and the running configuration stays (also: mwgctl reload)\n"
"    SIGTERM   with timeouts { stop-drain D } in mwgd.conf: refuse new\n"
"              connections and let the open tunnels end, for at most D,\n"
"              then exit (as mwgctl drain); without it, or a second time:\n"
"              as SIGINT\n"
"    SIGINT    close every tunnel (audited) and exit\n"
"\n"
"EXIT STATUS\n"
"    0 clean exit or valid configuration, 1 error, 2 bad usage\n"
"\n"
"SEE ALSO\n"
"    mwgctl(8), docs/operations.md\n";

struct mwgd {
	const char *conf_path;
	struct server srv;
	struct event_base *base;
	int *listen_fds;
	int metrics_fd;			/* listen metrics, or -1 */
	struct event *sigs[3];		/* SIGHUP, SIGTERM, SIGINT */
	struct event *crl_timer;	/* the daily CRL */
	struct event *watchdog;		/* systemd's, or NULL */
	int control_fd;
	int audit_control_fd;		/* -1: no audit-control socket */
	int ssh_fd;			/* listen ssh, or -1 */
	char *ssh_keys[2];		/* its host keys, for the network process */
	json_t *bundle;			/* the files the configuration read */
	int debug;
	uid_t net_uid;			/* the network process's user */
	gid_t net_gid;
	char *conf_control_path;
	char *conf_audit_control_path;
	int can_drop;			/* started as root, or as user with the
					 * unit's capabilities: drops to uid */
	uid_t uid;			/* the daemon's user (mwgd.conf user) */
	gid_t gid;
	gid_t ctl_gid;			/* the control socket's group */
	gid_t audit_ctl_gid;		/* the audit-control socket's group */
	struct node_sync *sync;		/* PostgreSQL: other nodes' changes */
};

static void
usage(FILE *f, int status)
{
	fputs(usage_text, f);
	exit(status);
}

/*
 * SIGTERM with timeouts { stop-drain }: a drain as mwgctl drain's, so a
 * node behind the load balancer is patched without cutting anyone off
 * (systemd's TimeoutStopSec= must be longer). 1 if one began; a second
 * SIGTERM, or one during a drain, stops at once.
 */
static int
term_drains(struct mwgd *d)
{
	struct gw_snapshot *snap = snapshot_get();
	long long limit = snap->conf->timeout_stop_drain;

	snapshot_put(snap);
	if (limit == 0 || drain_is_active() || drain_begin(&d->srv, d->base,
	    limit, -1) == -1)
		return 0;
	log_info("SIGTERM: draining for at most %llds; SIGTERM again stops "
	    "at once", limit);
	notify_stopping();
	return 1;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct mwgd *d = arg;

	(void)what;
	if (sig == SIGHUP) {
		free(control_reload(&d->srv, d->conf_path, -1));
		return;
	}
	if (sig == SIGTERM && term_drains(d))
		return;
	log_info("signal %d: shutting down", (int)sig);
	notify_stopping();
	event_base_loopbreak(d->base);
}

static struct gw_snapshot *
load_or_report(const char *path, json_t *bundle)
{
	struct conf_errors errs = { 0 };
	struct gw_snapshot *s;

	fbundle_record(bundle);
	s = snapshot_load(path, &errs);
	fbundle_record(NULL);

	if (s == NULL) {
		char *msg = conf_errors_join(&errs);

		fprintf(stderr, "%s\nmwgd: %s: configuration refused (%zu "
		    "error%s)\n", msg, path, errs.n + errs.dropped,
		    errs.n + errs.dropped == 1 ? "" : "s");
		free(msg);
	}
	conf_errors_clear(&errs);
	return s;
}

/* The CRL is signed afresh every day, long before its nextUpdate. */
static void
crl_refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct gw_snapshot *snap = snapshot_get();
	char err[256];

	(void)fd;
	(void)what;
	if (revoke_publish(srv, snap->conf->crl_path, err, sizeof(err)) == -1)
		log_warnx("daily CRL refresh: %s", err);
	snapshot_put(snap);
}

/* The audit writer tells the forwarder after each durable group. */
static void
forwarder_kick_cb(void *arg)
{
	struct server *srv = arg;
	struct audit_forwarder *fw = atomic_load(&srv->forwarder);

	if (fw)
		audit_forwarder_kick(fw);
}

/*
 * Forwarding to the SIEM runs on a thread of its own that follows the
 * audit file: a collector that is down never holds up the writer, and
 * the forwarder catches up from the file when it returns.
 */
static void
start_forwarder(struct server *srv, const struct gw_config *c)
{
	/* Beside the audit file: a directory the daemon's user can write. */
	char err[256], *state = xasprintf("%s.forward-state", c->audit_file);
	struct audit_forwarder *fw;

	fw = audit_forwarder_start(c->syslog_url, c->syslog_ca, c->audit_file,
	    state, err, sizeof(err));
	free(state);
	if (fw == NULL)
		fatalx("audit forwarding to %s: %s", c->syslog_url, err);
	atomic_store(&srv->forwarder, fw);
}

/* mwgd -n: the CA key and root load and match (a typo fails here, not at
 * start). 0 or -1 with the reason on stderr. */
static int
check_ca(const struct gw_config *c)
{
	struct certs_issuer *ca;
	char err[CERTS_ERR_MAX];
	X509 *root = NULL;

	if (c->tls.ca_key == NULL)
		return 0;
	if ((ca = certs_issuer_load(c->tls.ca, c->tls.ca_key, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s: ca-key: %s\n", c->path, err);
		return -1;
	}
	certs_issuer_free(ca);
	if (c->tls.root && (root = certs_read_cert(c->tls.root, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s: root: %s\n", c->path, err);
		return -1;
	}
	if (c->tls.root)
		X509_free(root);
	return 0;
}

/*
 * The issuing CA's key signs device and session certificates; like the
 * server key it may be readable by root only, so it is read before the
 * drop and kept for the daemon's life (a new key needs a restart).
 */
static void
load_ca(struct server *srv, const struct gw_config *c)
{
	char err[CERTS_ERR_MAX];

	if (c->tls.ca_key == NULL) {
		log_warnx("no ca-key in listen tls: enrolment and login are "
		    "off, and no session certificate can be issued");
		return;
	}
	if ((srv->issuer = certs_issuer_load(c->tls.ca, c->tls.ca_key, err,
	    sizeof(err))) == NULL)
		fatalx("issuing CA: %s", err);
	if (c->tls.root && (srv->root = certs_read_cert(c->tls.root, err,
	    sizeof(err))) == NULL)
		fatalx("root CA: %s", err);
}

/*
 * State that belongs to the daemon's user: the store (SQLite makes its
 * WAL files beside the database), the denylist made from it, the CRL,
 * and the auth pool that uses them.
 */
static void
setup_state(struct server *srv, const struct gw_config *c)
{
	char err[STORE_ERR_MAX];

	if ((srv->store = store_open_with(c->state_dir, c->store_postgres, err,
	    sizeof(err))) == NULL)
		fatalx("state store: %s", err);
	srv->deny = denylist_new();
	if (denylist_load(srv->deny, srv->store, err, sizeof(err)) == -1)
		fatalx("state store: %s", err);
	srv->devices = devcache_new();
	if (devcache_load(srv->devices, srv->store, err, sizeof(err)) == -1)
		fatalx("state store: %s", err);
	if (revoke_publish(srv, c->crl_path, err, sizeof(err)) == -1)
		fatalx("%s", err);
	srv->pool = pool_start(c->auth_threads);
}

static void
teardown_state(struct server *srv)
{
	store_close(srv->store);
	denylist_free(srv->deny);
	devcache_free(srv->devices);
	certs_issuer_free(srv->issuer);
	X509_free(srv->root);
	revoke_free();
}

/*
 * Root drops to user; so does a start as user itself that holds the
 * capabilities the systemd unit gives (AmbientCapabilities=): it sheds
 * them as root would. A start without them (a developer's) stays as it
 * is; one with only some of those needed for the network process is
 * refused rather than run it unconfined.
 */
static int
start_privileged(const struct gw_config *c)
{
	const uint64_t spawn = 1ULL << CAP_SETUID | 1ULL << CAP_SETGID |
	    1ULL << CAP_SYS_CHROOT;
	uint64_t held = privdrop_held() & spawn;

	if (geteuid() == 0)
		return 1;
	if (held == 0)
		return 0;
	if (held != spawn)
		fatalx("started as uid %d with some of CAP_SETUID, CAP_SETGID "
		    "and CAP_SYS_CHROOT but not all (%#llx): give all three "
		    "(deploy/mwgd.service) or none", (int)geteuid(),
		    (unsigned long long)held);
	if (c->user == NULL)
		fatalx("started with capabilities but no 'user' in %s",
		    c->path);
	return 1;
}

/* Not root, a socket's group can only be one of our own (no CAP_CHOWN). */
static void
check_socket_groups(const struct mwgd *d, const struct gw_config *c)
{
	if (geteuid() == 0)
		return;
	if (!privdrop_in_group(d->ctl_gid))
		fatalx("control-group %s: uid %d is not in it, so it cannot "
		    "give the control socket to that group (the unit's "
		    "SupplementaryGroups=)", c->control_group ?
		    c->control_group : "(the daemon's group)", (int)geteuid());
	if (c->audit_control_path && !privdrop_in_group(d->audit_ctl_gid))
		fatalx("audit-control-group %s: uid %d is not in it (the "
		    "unit's SupplementaryGroups=)", c->audit_control_group ?
		    c->audit_control_group : "(the daemon's group)",
		    (int)geteuid());
}

/*
 * Who mwgd becomes, looked up while /etc is readable and before any file
 * is opened: the files root opens in the daemon's directories are checked
 * against that user (common/safefile), and given to it on the descriptor.
 */
static void
lookup_user(struct mwgd *d, const struct gw_config *c)
{
	char err[256];

	d->uid = geteuid();
	d->gid = getegid();
	d->ctl_gid = (gid_t)-1;
	d->audit_ctl_gid = (gid_t)-1;
	if (!(d->can_drop = start_privileged(c))) {
		if (c->user)
			log_info("not started as root: staying uid %d",
			    (int)geteuid());
		return;
	}
	if (privdrop_lookup(c->user, c->group, &d->uid, &d->gid, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	if (geteuid() != 0 && d->uid != geteuid())
		fatalx("started as uid %d with capabilities, but user %s is "
		    "uid %d: start mwgd as root or as %s", (int)geteuid(),
		    c->user, (int)d->uid, c->user);
	d->ctl_gid = d->gid;
	if (c->control_group && privdrop_group(c->control_group, &d->ctl_gid,
	    err, sizeof(err)) == -1)
		fatalx("%s", err);
	/* The cyber team reaches only the audit-control socket, through its
	 * own group (the daemon's if none is named). */
	d->audit_ctl_gid = d->gid;
	if (c->audit_control_group && privdrop_group(c->audit_control_group,
	    &d->audit_ctl_gid, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (privdrop_lookup(c->net_user, NULL, &d->net_uid, &d->net_gid, err,
	    sizeof(err)) == -1)
		fatalx("network-user: %s (create it: see docs/operations.md)",
		    err);
	if (d->net_uid == d->uid)
		fatalx("network-user %s is also mwgd's user: the network "
		    "process needs a user of its own", c->net_user);
	check_socket_groups(d, c);
	safefile_trust(d->uid, d->gid);
}

/* Everything that may need root: sockets and the audit file. */
static void
setup_privileged(struct mwgd *d, const struct gw_config *c)
{
	char err[SAFEFILE_ERR_MAX + 128];

	d->listen_fds = xcalloc((size_t)c->workers, sizeof(int));
	for (int i = 0; i < c->workers; i++)
		if ((d->listen_fds[i] = worker_listen_socket(
		    (const struct sockaddr *)&c->tls.addr, c->tls.addrlen)) == -1)
			fatal("cannot listen on %s", c->tls.addr_str);
	if ((d->control_fd = control_socket(c->control_path, d->ctl_gid, err,
	    sizeof(err))) == -1)
		fatalx("%s", err);
	d->audit_control_fd = -1;
	if (c->audit_control_path && (d->audit_control_fd = control_socket(
	    c->audit_control_path, d->audit_ctl_gid, err, sizeof(err))) == -1)
		fatalx("%s", err);
	if ((d->srv.audit = audit_open(&(struct audit_options){
	    .path = c->audit_file, .key_path = c->audit_key,
	    .checkpoint_records = (unsigned)c->audit_checkpoint_records,
	    .checkpoint_seconds = (unsigned)c->audit_checkpoint_seconds,
	    .rotate_bytes = (unsigned long long)c->audit_rotate_bytes,
	    .rotate_seconds = (unsigned)c->audit_rotate_seconds,
	    .owner = d->can_drop ? d->uid : 0,
	    .node_name = c->node_name,
	    .on_commit = forwarder_kick_cb, .on_commit_arg = &d->srv },
	    err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (c->syslog_url)
		start_forwarder(&d->srv, c);
	load_ca(&d->srv, c);
	d->srv.has_issuer = d->srv.issuer != NULL;
	d->ssh_fd = -1;
	if (c->has_ssh && ssh_listener_prepare(c, &d->ssh_fd, d->ssh_keys, err,
	    sizeof(err)) == -1)
		fatalx("listen ssh %s: %s", c->ssh_addr_str, err);
	if (d->can_drop && netproc_root_ready(c->net_root, err, sizeof(err)) ==
	    -1)
		fatalx("network-root %s: %s", c->net_root, err);
	d->metrics_fd = -1;
	if (c->has_metrics && (d->metrics_fd = metrics_listen_socket(
	    (const struct sockaddr *)&c->metrics_addr, c->metrics_addrlen)) ==
	    -1)
		fatal("cannot listen on %s for metrics", c->metrics_addr_str);
	audit_set_observer(d->srv.audit, metrics_audit_observe, NULL);
}

static void
drop_privileges(const struct mwgd *d, const struct gw_config *c)
{
	char err[256];

	if (!d->can_drop)
		return;
	/* Kept, not effective: what starting a network process takes. */
	if (privdrop_to_keeping(d->uid, d->gid, 1ULL << CAP_SETUID |
	    1ULL << CAP_SETGID | 1ULL << CAP_SYS_CHROOT, err, sizeof(err)) ==
	    -1)
		fatalx("%s", err);
	log_info("running as %s (uid %d, gid %d)", c->user, (int)d->uid,
	    (int)d->gid);
}

/*
 * The main loop's own events: signals, the daily CRL, the watchdog (which
 * pings only once the loop turns, so READY=1 comes first in practice).
 */
static void
main_events_start(struct mwgd *d)
{
	const int signos[3] = { SIGHUP, SIGTERM, SIGINT };

	for (int i = 0; i < 3; i++) {
		d->sigs[i] = evsignal_new(d->base, signos[i], signal_cb, d);
		event_add(d->sigs[i], NULL);
	}
	d->crl_timer = event_new(d->base, -1, EV_PERSIST, crl_refresh_cb,
	    &d->srv);
	event_add(d->crl_timer, &(struct timeval){ REVOKE_REFRESH_S, 0 });
	d->watchdog = notify_watchdog_start(d->base);
}

static void
main_events_free(struct mwgd *d)
{
	for (int i = 0; i < 3; i++)
		event_free(d->sigs[i]);
	event_free(d->crl_timer);
	if (d->watchdog)
		event_free(d->watchdog);
}

/* The network process and what stays here; then systemd hears READY=1. */
static void
serve_start(struct mwgd *d, const struct gw_config *c)
{
	struct netproc_conf nc = {
		.conf_path = d->conf_path, .bundle = d->bundle,
		.tls_fds = d->listen_fds, .ntls = c->workers,
		.ssh_fd = d->ssh_fd, .ssh_keys = { d->ssh_keys[0],
		d->ssh_keys[1] }, .debug = d->debug,
		.as_root = d->can_drop, .uid = d->net_uid, .gid = d->net_gid,
		.root = c->net_root,
	};
	char err[512], status[128];

	control_start(d->base, d->control_fd, d->audit_control_fd, &d->srv,
	    d->conf_path);
	if (d->metrics_fd != -1 && metrics_start(d->base, d->metrics_fd,
	    &d->srv, err, sizeof(err)) == -1)
		fatalx("listen metrics %s: %s", c->metrics_addr_str, err);
	d->ssh_keys[0] = d->ssh_keys[1] = NULL;	/* netproc's now */
	if (netproc_start(&d->srv, d->base, &nc, err, sizeof(err)) == -1)
		fatalx("%s", err);
	d->sync = node_sync_start(&d->srv, (int)c->store_not_ready_after);
	if (c->has_ssh)
		log_info("ssh: listening on %s", c->ssh_addr_str);
	snprintf(status, sizeof(status), "listening on %s with %d workers",
	    c->tls.addr_str, c->workers);
	log_info("%s", status);
	notify_ready(status);
}

/* Everything serve_start and the set-up started, in reverse. */
static void
serve_stop(struct mwgd *d)
{
	metrics_stop();
	control_stop();
	node_sync_stop(d->sync);
	/* Its tunnels close (audited) while the pool still answers jobs. */
	netproc_stop();
	pool_stop(d->srv.pool);
	/* Durable, and every earlier record's callback has run. */
	audit_append_sync(d->srv.audit, "gateway.stop", "success", NULL);
	main_events_free(d);
	event_base_free(d->base);
	unlink(d->conf_control_path);	/* best effort: may lack the right */
	free(d->conf_control_path);
	if (d->conf_audit_control_path)
		unlink(d->conf_audit_control_path);
	free(d->conf_audit_control_path);
	snapshot_clear();
	teardown_state(&d->srv);
	audit_close(d->srv.audit);
	/* After the last record: the forwarder sends what is left (2 s). */
	audit_forwarder_stop(atomic_exchange(&d->srv.forwarder, NULL));
	free(d->listen_fds);
	json_decref(d->bundle);
}

static void
run(struct mwgd *d, struct gw_snapshot *snap)
{
	struct gw_config *c = snap->conf;

	if (geteuid() == 0 && c->user == NULL)
		fatalx("refusing to run as root: set 'user' in %s", c->path);
	/* Not for mwgd -n: its output is the configuration's verdict. */
	fdlimit_raise();
	lookup_user(d, c);
	setup_privileged(d, c);
	d->conf_control_path = xstrdup(c->control_path);
	d->conf_audit_control_path = c->audit_control_path ?
	    xstrdup(c->audit_control_path) : NULL;
	drop_privileges(d, c);
	setup_state(&d->srv, c);
	d->srv.started = time(NULL);
	if ((d->base = event_base_new()) == NULL)
		fatalx("cannot create the main event base");
	/* Signals first: a SIGHUP or SIGTERM is handled from here on. */
	main_events_start(d);
	snapshot_install(snap, NULL, 0);
	audit_append(d->srv.audit, "gateway.start", "success", json_pack(
	    "{s:s, s:s, s:i}", "service.version", MWGD_VERSION,
	    "policy.sha256", policy_hash(snap->policy), "process.pid",
	    (int)getpid()));
	serve_start(d, c);
	event_base_dispatch(d->base);
	serve_stop(d);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mwgd d = { 0 };
	struct gw_snapshot *snap;
	int ch, debug = 0, check = 0;

	/* Messages carry secrets: every freed JSON value is wiped. */
	ipc_wipe_allocator();
	if (argc >= 4 && strcmp(argv[1], "--network-process") == 0) {
		log_init("mwgd", argc > 4 && strcmp(argv[4], "-d") == 0, 0);
		net_main(atoi(argv[2]), argv[3], argc > 4);
	}

	while ((ch = getopt_long(argc, argv, "df:hn", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': debug = 1; break;
		case 'f': d.conf_path = optarg; break;
		case 'n': check = 1; break;
		case 'h': usage(stdout, 0); break;
		default: usage(stderr, 2);
		}
	}
	if (optind != argc || d.conf_path == NULL)
		usage(stderr, 2);
	log_init("mwgd", debug, 0);
	signal(SIGPIPE, SIG_IGN);
	d.debug = debug;
	d.bundle = fbundle_new();
	if ((snap = load_or_report(d.conf_path, d.bundle)) == NULL) {
		json_decref(d.bundle);
		return 1;
	}
	netproc_withhold_key(d.bundle, snap);
	if (check) {
		json_decref(d.bundle);
		if (check_ca(snap->conf) == -1) {
			snapshot_put(snap);
			return 1;
		}
		printf("%s: configuration OK (%zu targets, policy sha256 %s)\n",
		    d.conf_path, policy_target_count(snap->policy),
		    policy_hash(snap->policy));
		snapshot_put(snap);
		return 0;
	}
	run(&d, snap);
	log_info("stopped");
	return 0;
}
