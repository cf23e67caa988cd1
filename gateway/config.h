/*
 * mwgd.conf: the daemon's own settings (listeners, files, limits, timeouts).
 * Parsed with the shared reader in common/conf.h into a new struct or not at
 * all: a parse never touches the running configuration.
 */
#ifndef MWG_GW_CONFIG_H
#define MWG_GW_CONFIG_H

#include <sys/socket.h>

#include "common/conf.h"
#include "common/proxy_v2.h"

#define GW_WORKERS_MAX		64
#define GW_CONNS_MAX		1000000
#define GW_SSH_STARTUPS_MAX	1024	/* max-startups FULL at most */

struct gw_listen_tls {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_str[64];
	char *certificate;	/* server certificate (PEM, may hold a chain) */
	char *key;		/* its private key */
	char *ca;		/* issuing CA: device certificates chain here */
	int key_in_monitor;	/* key-holder monitor (1) or network (0) */
	char *ca_key;		/* its key: signs device and session
				   certificates (NULL: no enrolment, no login) */
	char *root;		/* the root CA, served at EST /cacerts */
	/* proxy-protocol from NET...: peers that must (and only peers that
	 * may) open with a PROXY v2 header (gateway/net/proxy_accept.c) */
	struct proxy_net *proxy_from;
	size_t nproxy_from;
};

struct gw_config {
	char *path;
	char *user;		/* NULL: do not change user (non-root only) */
	char *net_user;		/* the network process's user (root only) */
	char *net_root;		/* its empty root directory (root only) */
	char *group;
	char *state_dir;
	char *store_postgres;	/* store { postgres CONNINFO }; NULL: SQLite
				   in state_dir */
	long long store_not_ready_after; /* seconds the store may be
				   unreachable before GET /health says 503 */
	char *crl_path;		/* CRL written here and served at /crl */
	char *pam_service;	/* default "mwg" */
	int auth_threads;	/* the auth pool; default 4 */
	char *policy_path;
	char *control_path;
	char *control_group;	/* group that may use the control socket */
	/* The restricted socket for the cyber team: audit query and export
	 * notes only (gateway/monitor/control.c); NULL: none. */
	char *audit_control_path;
	char *audit_control_group;
	char *audit_file;
	char *node_name;	/* observer.name in audit records; default
				   the host name at start */
	char *audit_key;		/* default: state-dir/audit.key */
	long long audit_checkpoint_records;
	long long audit_checkpoint_seconds;
	long long audit_rotate_bytes;	/* 0: never */
	long long audit_rotate_seconds;	/* 0: never */
	long long audit_retention_months; /* 6..24, default 12 */
	struct gw_retention {
		char practice[64];	/* ODS code, upper case */
		long long months;
	} *retention;			/* per-practice exceptions */
	size_t nretention;
	char *syslog_url;		/* udp:// tcp:// tls:// or NULL */
	char *syslog_ca;		/* the collector's CA, for tls:// */
	int workers;
	int has_tls;
	struct gw_listen_tls tls;
	int has_ssh;			/* listen ssh ADDR:PORT */
	struct sockaddr_storage ssh_addr;
	socklen_t ssh_addrlen;
	char ssh_addr_str[64];
	/* listen ssh { ... }: bounds on unauthenticated connections */
	long long ssh_max_auth_tries;	/* max-auth-tries, default 6 */
	long long ssh_startups[3];	/* max-startups START:RATE:FULL */
	long long ssh_per_source;	/* per-source-max-startups */
	long long ssh_login_grace;	/* login-grace-time, seconds */
	struct proxy_net *ssh_proxy_from;	/* proxy-protocol from, as in
						   listen tls */
	size_t nssh_proxy_from;
	int has_metrics;		/* listen metrics ADDR:PORT */
	struct sockaddr_storage metrics_addr;
	socklen_t metrics_addrlen;
	char metrics_addr_str[64];
	long long max_conns;		/* whole daemon */
	long long max_worker_conns;	/* one worker thread */
	long long timeout_head;		/* seconds: TLS handshake + head */
	long long timeout_connect;	/* seconds: dialling a target */
	long long timeout_idle;		/* seconds without a byte either way */
	long long timeout_stop_drain;	/* SIGTERM drains this long; 0: stops
					   at once */
};

/* NULL with every error (file:line:col) in errs. Caller frees. */
struct gw_config *gw_config_load(const char *path, struct conf_errors *errs);
struct gw_config *gw_config_load_string(const char *name, const char *text,
    size_t len, struct conf_errors *errs);
void gw_config_free(struct gw_config *c);

#endif
