/*
 * mwgd.conf keywords, one handler each, in a sorted table (OpenBSD
 * parse.y's lookup()). Unknown keywords, duplicates, missing and
 * out-of-range values are errors with their position.
 */
#include "gateway/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "audit/audit.h"
#include "common/addr.h"
#include "common/xmalloc.h"

struct keyword {
	const char *name;
	void (*fn)(struct gw_config *, const struct conf_node *,
	    struct conf_errors *);
	int has_block;		/* 1: requires { }, 0: forbids it */
};

static void
set_string(char **dst, const struct conf_node *n, struct conf_errors *errs)
{
	if (conf_nargs(n, 1, 1, errs) == -1)
		return;
	if (*dst != NULL) {
		conf_error(errs, &n->name.pos, "%s is set twice", n->name.text);
		return;
	}
	if (n->args[0].text[0] == '\0') {
		conf_error(errs, &n->args[0].pos, "expected a value, got \"\"");
		return;
	}
	*dst = xstrdup(n->args[0].text);
}

static void
kw_user(struct gw_config *c, const struct conf_node *n, struct conf_errors *e)
{
	set_string(&c->user, n, e);
}

static void
kw_group(struct gw_config *c, const struct conf_node *n, struct conf_errors *e)
{
	set_string(&c->group, n, e);
}

static void
kw_network_user(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	set_string(&c->net_user, n, e);
}

static void
kw_network_root(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	set_string(&c->net_root, n, e);
	if (c->net_root && c->net_root[0] != '/')
		conf_error(e, &n->args[0].pos, "network-root must be an "
		    "absolute path");
}

static void
kw_state_dir(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	set_string(&c->state_dir, n, e);
}

static void
kw_policy(struct gw_config *c, const struct conf_node *n, struct conf_errors *e)
{
	set_string(&c->policy_path, n, e);
}

static void
kw_control(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	set_string(&c->control_path, n, e);
}

static void
kw_control_group(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	set_string(&c->control_group, n, e);
}

static void
kw_audit_control(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	set_string(&c->audit_control_path, n, e);
}

static void
kw_audit_control_group(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	set_string(&c->audit_control_group, n, e);
}

/* node-name NAME: this node in every audit record (observer.name). */
static void
kw_node_name(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	if (c->node_name != NULL || n->nargs != 1 ||
	    audit_node_name_valid(n->args[0].text)) {
		set_string(&c->node_name, n, e);
		return;
	}
	conf_error(e, &n->args[0].pos, "expected a node name (1 to %d letters, "
	    "digits, '.', '-' or '_', starting with a letter or digit), got "
	    "'%.*s'", AUDIT_NODE_NAME_MAX, AUDIT_NODE_NAME_MAX + 1,
	    n->args[0].text);
}

/*
 * What the system says, asked once: the network process parses every
 * later configuration in a sandbox that allows neither uname(2) nor
 * reading /sys (gateway/net/sandbox.c). Its first parse, before the seal,
 * asks; a reload's parse uses the answer.
 */
static const char *
host_name(void)
{
	static char host[256];
	static int known;

	if (!known && gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	known = 1;
	return host;
}

static long
online_cpus(void)
{
	static long cpus = -2;

	if (cpus == -2)
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus;
}

/*
 * Without node-name, the host name as the daemon starts; one that cannot
 * be a node name is an error (set node-name), not a silent substitute.
 */
static void
node_name_default(struct gw_config *c, const char *name,
    struct conf_errors *e)
{
	char host[256];

	if (c->node_name != NULL)
		return;
	snprintf(host, sizeof(host), "%s", host_name());
	if (audit_node_name_valid(host)) {
		c->node_name = xstrdup(host);
		return;
	}
	for (char *p = host; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '\'')
			*p = '?';
	conf_error(e, NULL, "%s: the host name '%.*s' cannot be a node name "
	    "in audit records (1 to %d letters, digits, '.', '-' or '_'): set "
	    "node-name", name, AUDIT_NODE_NAME_MAX + 1, host,
	    AUDIT_NODE_NAME_MAX);
}

static void
kw_crl(struct gw_config *c, const struct conf_node *n, struct conf_errors *e)
{
	set_string(&c->crl_path, n, e);
}

/* auth { pam-service NAME  threads N } */
static void
kw_auth(struct gw_config *c, const struct conf_node *n, struct conf_errors *e)
{
	long long v;

	conf_nargs(n, 0, 0, e);
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *k = &n->children[i];

		if (strcmp(k->name.text, "pam-service") == 0)
			set_string(&c->pam_service, k, e);
		else if (strcmp(k->name.text, "threads") == 0) {
			if (c->auth_threads != 0)
				conf_error(e, &k->name.pos, "threads is set "
				    "twice");
			else if (conf_nargs(k, 1, 1, e) == 0 &&
			    conf_uint(&k->args[0], 1, 64, &v, e) == 0)
				c->auth_threads = (int)v;
		} else
			conf_error(e, &k->name.pos, "expected 'pam-service' or "
			    "'threads' in auth, got '%s'", k->name.text);
	}
}

static void
kw_workers(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	long long v;

	if (c->workers != 0) {
		conf_error(e, &n->name.pos, "workers is set twice");
		return;
	}
	if (conf_nargs(n, 1, 1, e) == 0 &&
	    conf_uint(&n->args[0], 1, GW_WORKERS_MAX, &v, e) == 0)
		c->workers = (int)v;
}

/* "64m", "1g", "4096": bytes, with k/m/g for KiB/MiB/GiB. */
static int
conf_size(const struct conf_arg *a, long long *out, struct conf_errors *e)
{
	struct conf_arg num = *a;
	char buf[32];
	size_t len = strlen(a->text);
	long long mult = 1;

	if (len > 0 && len < sizeof(buf) && strchr("kmg", a->text[len - 1])) {
		mult = a->text[len - 1] == 'k' ? 1024LL : a->text[len - 1] ==
		    'm' ? 1024LL * 1024 : 1024LL * 1024 * 1024;
		memcpy(buf, a->text, len - 1);
		buf[len - 1] = '\0';
		num.text = buf;
	}
	if (conf_uint(&num, 1, (1LL << 40) / mult, out, e) == -1)
		return -1;
	*out *= mult;
	return 0;
}

static void
audit_syslog(struct gw_config *c, const struct conf_node *k,
    struct conf_errors *e)
{
	const char *u = c->syslog_url;

	set_string(&c->syslog_url, k, e);
	/* Judge only a URL this statement set: set_string has reported a
	 * repeated or argument-less "syslog", whose args may be NULL. */
	if (c->syslog_url == u || (u = c->syslog_url) == NULL)
		return;
	if (strncmp(u, "udp://", 6) && strncmp(u, "tcp://", 6) &&
	    strncmp(u, "tls://", 6)) {
		conf_error(e, &k->args[0].pos, "expected udp://, tcp:// or "
		    "tls://HOST:PORT, got '%s'", u);
		return;
	}
	for (size_t i = 0; i < k->nchildren; i++) {
		if (strcmp(k->children[i].name.text, "ca") == 0)
			set_string(&c->syslog_ca, &k->children[i], e);
		else
			conf_error(e, &k->children[i].name.pos, "expected 'ca' "
			    "in syslog, got '%s'", k->children[i].name.text);
	}
	if (strncmp(u, "tls://", 6) == 0 && c->syslog_ca == NULL)
		conf_error(e, &k->name.pos, "syslog over tls:// needs "
		    "{ ca FILE } (the collector's CA)");
}

/* "retention 12 months" (the default) or "retention K84001 24 months". */
static void
audit_retention(struct gw_config *c, const struct conf_node *k,
    struct conf_errors *e)
{
	const struct conf_arg *num, *unit;
	struct gw_retention *r;
	long long months;

	if (conf_nargs(k, 2, 3, e) == -1)
		return;
	num = &k->args[k->nargs - 2];
	unit = &k->args[k->nargs - 1];
	if (strcmp(unit->text, "months") != 0) {
		conf_error(e, &unit->pos, "expected 'months', got '%s'",
		    unit->text);
		return;
	}
	if (conf_uint(num, 6, 24, &months, e) == -1)
		return;
	if (k->nargs == 2) {
		if (c->audit_retention_months != 0)
			conf_error(e, &k->name.pos, "retention is set twice");
		c->audit_retention_months = months;
		return;
	}
	if (strlen(k->args[0].text) >= sizeof(r->practice)) {
		conf_error(e, &k->args[0].pos, "practice code too long");
		return;
	}
	for (size_t i = 0; i < c->nretention; i++)
		if (strcasecmp(c->retention[i].practice, k->args[0].text) == 0) {
			conf_error(e, &k->args[0].pos, "retention for %s is set "
			    "twice", k->args[0].text);
			return;
		}
	c->retention = xreallocarray(c->retention, c->nretention + 1,
	    sizeof(*c->retention));
	r = &c->retention[c->nretention++];
	for (size_t i = 0; i <= strlen(k->args[0].text); i++)
		r->practice[i] = (char)toupper((unsigned char)k->args[0].text[i]);
	r->months = months;
}

/* A number or duration statement in audit { }: one value, set once. */
static void
audit_value(const struct conf_node *k, long long *dst, int kind,
    struct conf_errors *e)
{
	if (*dst != 0) {
		conf_error(e, &k->name.pos, "%s is set twice", k->name.text);
		return;
	}
	if (conf_nargs(k, 1, 1, e) == -1)
		return;
	if (kind == 'n')
		conf_uint(&k->args[0], 1, 1000000, dst, e);
	else if (kind == 'd')
		conf_duration(&k->args[0], 1, 366 * 86400LL, dst, e);
	else
		conf_size(&k->args[0], dst, e);
}

static void
kw_audit(struct gw_config *c, const struct conf_node *n, struct conf_errors *e)
{
	conf_nargs(n, 0, 0, e);
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *k = &n->children[i];
		const char *w = k->name.text;

		if (strcmp(w, "syslog") && k->has_block)
			conf_error(e, &k->name.pos, "%s takes no block", w);
		else if (strcmp(w, "file") == 0)
			set_string(&c->audit_file, k, e);
		else if (strcmp(w, "key") == 0)
			set_string(&c->audit_key, k, e);
		else if (strcmp(w, "checkpoint-records") == 0)
			audit_value(k, &c->audit_checkpoint_records, 'n', e);
		else if (strcmp(w, "checkpoint-interval") == 0)
			audit_value(k, &c->audit_checkpoint_seconds, 'd', e);
		else if (strcmp(w, "rotate-size") == 0)
			audit_value(k, &c->audit_rotate_bytes, 's', e);
		else if (strcmp(w, "rotate-age") == 0)
			audit_value(k, &c->audit_rotate_seconds, 'd', e);
		else if (strcmp(w, "retention") == 0)
			audit_retention(c, k, e);
		else if (strcmp(w, "syslog") == 0)
			audit_syslog(c, k, e);
		else
			conf_error(e, &k->name.pos, "expected file, key, "
			    "checkpoint-records, checkpoint-interval, rotate-size, "
			    "rotate-age, retention or syslog in audit, got '%s'",
			    w);
	}
}

static void
kw_limits(struct gw_config *c, const struct conf_node *n, struct conf_errors *e)
{
	conf_nargs(n, 0, 0, e);
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *k = &n->children[i];
		long long *dst = NULL;

		if (strcmp(k->name.text, "connections") == 0)
			dst = &c->max_conns;
		else if (strcmp(k->name.text, "worker-connections") == 0)
			dst = &c->max_worker_conns;
		else {
			conf_error(e, &k->name.pos, "expected 'connections' or "
			    "'worker-connections' in limits, got '%s'",
			    k->name.text);
			continue;
		}
		if (*dst != 0)
			conf_error(e, &k->name.pos, "%s is set twice",
			    k->name.text);
		else if (conf_nargs(k, 1, 1, e) == 0)
			conf_uint(&k->args[0], 1, GW_CONNS_MAX, dst, e);
	}
	if (c->max_conns && c->max_worker_conns > c->max_conns)
		conf_error(e, &n->name.pos, "worker-connections (%lld) is more "
		    "than connections (%lld)", c->max_worker_conns,
		    c->max_conns);
}

static void
kw_timeouts(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	static const struct {
		const char *name;
		size_t off;
		long long min, max;
	} tab[] = {
		{ "connect", offsetof(struct gw_config, timeout_connect), 1, 300 },
		{ "head", offsetof(struct gw_config, timeout_head), 1, 300 },
		{ "idle", offsetof(struct gw_config, timeout_idle), 1, 86400 },
		{ "stop-drain", offsetof(struct gw_config, timeout_stop_drain),
		    1, 86400 },
	};

	conf_nargs(n, 0, 0, e);
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *k = &n->children[i];
		size_t j;

		for (j = 0; j < sizeof(tab) / sizeof(tab[0]); j++)
			if (strcmp(k->name.text, tab[j].name) == 0)
				break;
		if (j == sizeof(tab) / sizeof(tab[0])) {
			conf_error(e, &k->name.pos, "expected 'connect', 'head', "
			    "'idle' or 'stop-drain' in timeouts, got '%s'",
			    k->name.text);
			continue;
		}
		if (*(long long *)((char *)c + tab[j].off) != 0)
			conf_error(e, &k->name.pos, "%s is set twice",
			    k->name.text);
		else if (conf_nargs(k, 1, 1, e) == 0)
			conf_duration(&k->args[0], tab[j].min, tab[j].max,
			    (long long *)((char *)c + tab[j].off), e);
	}
}

/*
 * proxy-protocol from NET... (listen tls and listen ssh blocks): the load
 * balancers whose connections open with a PROXY v2 header. May be given
 * more than once; PROXY_V2_NETS_MAX networks at most.
 */
static void
listen_proxy_from(struct proxy_net **nets, size_t *n,
    const struct conf_node *k, struct conf_errors *e)
{
	if (k->has_block) {
		conf_error(e, &k->name.pos, "proxy-protocol takes no block");
		return;
	}
	if (k->nargs < 1 || strcmp(k->args[0].text, "from") != 0) {
		conf_error(e, k->nargs ? &k->args[0].pos : &k->name.pos,
		    "expected 'from' after proxy-protocol, got '%s'", k->nargs ?
		    k->args[0].text : "nothing");
		return;
	}
	if (k->nargs < 2) {
		conf_error(e, &k->name.pos, "expected an address or network "
		    "after proxy-protocol from");
		return;
	}
	for (size_t i = 1; i < k->nargs; i++) {
		struct proxy_net net;

		if (proxy_net_parse(k->args[i].text, &net) == -1) {
			conf_error(e, &k->args[i].pos, "expected an address or "
			    "a network like 10.0.0.0/24 or 2001:db8::/64 (no "
			    "host bits set), got '%s'", k->args[i].text);
			continue;
		}
		if (*n >= PROXY_V2_NETS_MAX) {
			conf_error(e, &k->args[i].pos, "more than %d networks in "
			    "proxy-protocol from", PROXY_V2_NETS_MAX);
			return;
		}
		*nets = xreallocarray(*nets, *n + 1, sizeof(**nets));
		(*nets)[(*n)++] = net;
	}
}

/*
 * key-holder monitor|network: which process holds the TLS server key.
 * The monitor (it then signs every full handshake for the network
 * process: safer, and about a tenth more CPU per handshake) or the
 * network process (as before privilege separation).
 */
static void
listen_key_holder(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	static const char *const holders[] = { "monitor", "network" };
	char *v = NULL;

	set_string(&v, n, e);
	if (v == NULL)
		return;
	if (strcmp(v, holders[0]) == 0)
		c->tls.key_in_monitor = 1;
	else if (strcmp(v, holders[1]) == 0)
		c->tls.key_in_monitor = 0;
	else
		conf_error(e, &n->args[0].pos, "expected 'monitor' or "
		    "'network' after key-holder, got '%s'", v);
	free(v);
}

static void
listen_tls_block(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *k = &n->children[i];

		if (strcmp(k->name.text, "certificate") == 0)
			set_string(&c->tls.certificate, k, e);
		else if (strcmp(k->name.text, "key") == 0)
			set_string(&c->tls.key, k, e);
		else if (strcmp(k->name.text, "ca") == 0)
			set_string(&c->tls.ca, k, e);
		else if (strcmp(k->name.text, "ca-key") == 0)
			set_string(&c->tls.ca_key, k, e);
		else if (strcmp(k->name.text, "root") == 0)
			set_string(&c->tls.root, k, e);
		else if (strcmp(k->name.text, "proxy-protocol") == 0)
			listen_proxy_from(&c->tls.proxy_from,
			    &c->tls.nproxy_from, k, e);
		else if (strcmp(k->name.text, "key-holder") == 0)
			listen_key_holder(c, k, e);
		else
			conf_error(e, &k->name.pos, "expected 'certificate', "
			    "'key', 'key-holder', 'ca', 'ca-key', 'root' or "
			    "'proxy-protocol' in listen tls, got '%s'",
			    k->name.text);
	}
	if (c->tls.certificate == NULL || c->tls.key == NULL ||
	    c->tls.ca == NULL)
		conf_error(e, &n->name.pos, "listen tls needs certificate, key "
		    "and ca");
}

/* max-startups START:RATE:FULL (sshd's MaxStartups), e.g. 10:30:100. */
static void
ssh_startups(struct gw_config *c, const struct conf_arg *a,
    struct conf_errors *e)
{
	long long v[3];
	char *s = a->text, *end;

	for (int i = 0; i < 3; i++) {
		errno = 0;
		v[i] = strtoll(s, &end, 10);
		if (!isdigit((unsigned char)*s) || errno ||
		    *end != (i < 2 ? ':' : '\0'))
			break;
		s = end + 1;
		if (i == 2 && v[0] >= 1 && v[0] <= v[2] && v[1] >= 1 &&
		    v[1] <= 100 && v[2] <= GW_SSH_STARTUPS_MAX) {
			memcpy(c->ssh_startups, v, sizeof(v));
			return;
		}
	}
	conf_error(e, &a->pos, "expected START:RATE:FULL with 1 <= START <= "
	    "FULL <= %d and RATE 1 to 100 (e.g. 10:30:100), got '%s'",
	    GW_SSH_STARTUPS_MAX, a->text);
}

static int
ssh_set_twice(const struct gw_config *c, const struct conf_node *k,
    struct conf_errors *e)
{
	const char *name = k->name.text;
	int set = (strcmp(name, "max-auth-tries") == 0 &&
	    c->ssh_max_auth_tries) || (strcmp(name, "max-startups") == 0 &&
	    c->ssh_startups[0]) || (strcmp(name, "per-source-max-startups") ==
	    0 && c->ssh_per_source) || (strcmp(name, "login-grace-time") == 0 &&
	    c->ssh_login_grace);

	if (set)
		conf_error(e, &k->name.pos, "%s is set twice", name);
	return set;
}

/* listen ssh ADDR:PORT { ... }: pre-authentication bounds (docs/ssh.md). */
static void
listen_ssh_block(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *k = &n->children[i];
		const char *name = k->name.text;

		if (strcmp(name, "proxy-protocol") == 0) {
			listen_proxy_from(&c->ssh_proxy_from,
			    &c->nssh_proxy_from, k, e);
			continue;
		}
		if (conf_nargs(k, 1, 1, e) == -1 || ssh_set_twice(c, k, e))
			continue;
		if (strcmp(name, "max-auth-tries") == 0)
			conf_uint(&k->args[0], 1, 100, &c->ssh_max_auth_tries, e);
		else if (strcmp(name, "max-startups") == 0)
			ssh_startups(c, &k->args[0], e);
		else if (strcmp(name, "per-source-max-startups") == 0)
			conf_uint(&k->args[0], 1, GW_SSH_STARTUPS_MAX,
			    &c->ssh_per_source, e);
		else if (strcmp(name, "login-grace-time") == 0)
			conf_duration(&k->args[0], 5, 600, &c->ssh_login_grace,
			    e);
		else
			conf_error(e, &k->name.pos, "expected 'max-auth-tries', "
			    "'max-startups', 'per-source-max-startups', "
			    "'login-grace-time' or 'proxy-protocol' in listen "
			    "ssh, got '%s'", name);
	}
}

/* listen ssh ADDR:PORT: the SSH jump listener (host keys in state-dir). */
static void
listen_ssh(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	if (c->has_ssh) {
		conf_error(e, &n->name.pos, "listen ssh is set twice");
		return;
	}
	if (n->has_block)
		listen_ssh_block(c, n, e);
	if (addr_parse(n->args[1].text, &c->ssh_addr, &c->ssh_addrlen) == -1) {
		conf_error(e, &n->args[1].pos, "expected an address IP:PORT or "
		    "[IPv6]:PORT, got '%s'", n->args[1].text);
		return;
	}
	addr_format((struct sockaddr *)&c->ssh_addr, c->ssh_addr_str,
	    sizeof(c->ssh_addr_str));
	c->has_ssh = 1;
}

/* listen metrics ADDR:PORT: Prometheus text over plain HTTP. */
static void
listen_metrics(struct gw_config *c, const struct conf_node *n,
    struct conf_errors *e)
{
	if (c->has_metrics) {
		conf_error(e, &n->name.pos, "listen metrics is set twice");
		return;
	}
	if (n->has_block) {
		conf_error(e, &n->name.pos, "listen metrics takes no block");
		return;
	}
	if (addr_parse(n->args[1].text, &c->metrics_addr,
	    &c->metrics_addrlen) == -1) {
		conf_error(e, &n->args[1].pos, "expected an address IP:PORT or "
		    "[IPv6]:PORT, got '%s'", n->args[1].text);
		return;
	}
	addr_format((struct sockaddr *)&c->metrics_addr, c->metrics_addr_str,
	    sizeof(c->metrics_addr_str));
	c->has_metrics = 1;
}

static void
kw_listen(struct gw_config *c, const struct conf_node *n, struct conf_errors *e)
{
	if (conf_nargs(n, 2, 2, e) == -1)
		return;
	if (strcmp(n->args[0].text, "ssh") == 0) {
		listen_ssh(c, n, e);
		return;
	}
	if (strcmp(n->args[0].text, "metrics") == 0) {
		listen_metrics(c, n, e);
		return;
	}
	if (strcmp(n->args[0].text, "tls") != 0) {
		conf_error(e, &n->args[0].pos, "expected 'tls', 'ssh' or "
		    "'metrics', got '%s'", n->args[0].text);
		return;
	}
	if (c->has_tls) {
		conf_error(e, &n->name.pos, "listen tls is set twice");
		return;
	}
	if (addr_parse(n->args[1].text, &c->tls.addr, &c->tls.addrlen) == -1) {
		conf_error(e, &n->args[1].pos, "expected an address IP:PORT or "
		    "[IPv6]:PORT, got '%s'", n->args[1].text);
		return;
	}
	addr_format((struct sockaddr *)&c->tls.addr, c->tls.addr_str,
	    sizeof(c->tls.addr_str));
	c->has_tls = 1;
	if (!n->has_block)
		conf_error(e, &n->name.pos, "expected '{' with certificate, key "
		    "and ca after listen tls");
	else
		listen_tls_block(c, n, e);
}

/*
 * mwgd.conf is read by the network process too (as data, from the
 * monitor): a database password written in it would be the network
 * process's. The monitor alone reads a passfile or client key.
 */
static void
conninfo_no_password(const PQconninfoOption *opts, const struct conf_node *k,
    struct conf_errors *e)
{
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    o->val[0] != '\0')
			conf_error(e, &k->args[0].pos, "a password in the "
			    "connection string: put it in a passfile "
			    "(passfile=FILE, mode 0600, read by the monitor "
			    "only) or use a client certificate (sslcert=, "
			    "sslkey=)");
}

/*
 * store { postgres "CONNINFO" }: the state store in PostgreSQL, so that
 * several nodes share it. CONNINFO is read by libpq's own parser here, so
 * a typo is a config error with its position rather than a failed start;
 * the error quotes libpq, never the whole string (it may hold a password).
 */
static void
kw_store_postgres(struct gw_config *c, const struct conf_node *k,
    struct conf_errors *e)
{
	PQconninfoOption *opts;
	const char *before = c->store_postgres;
	char *msg = NULL;
	size_t len;

	if (k->has_block) {
		conf_error(e, &k->name.pos, "postgres takes no block");
		return;
	}
	set_string(&c->store_postgres, k, e);
	if (c->store_postgres == before)
		return;		/* set_string said why */
	if ((opts = PQconninfoParse(c->store_postgres, &msg)) != NULL) {
		conninfo_no_password(opts, k, e);
		PQconninfoFree(opts);
		return;
	}
	len = msg != NULL ? strcspn(msg, "\n") : 0;
	conf_error(e, &k->args[0].pos, "expected a libpq connection string "
	    "or URI (host=... dbname=... or postgresql://...), got one libpq "
	    "refuses: %.*s", (int)len, msg != NULL ? msg : "out of memory");
	PQfreemem(msg);
}

static void
kw_store(struct gw_config *c, const struct conf_node *n, struct conf_errors *e)
{
	int has_postgres = 0;

	conf_nargs(n, 0, 0, e);
	for (size_t i = 0; i < n->nchildren; i++) {
		const struct conf_node *k = &n->children[i];

		if (strcmp(k->name.text, "postgres") == 0) {
			kw_store_postgres(c, k, e);
			has_postgres = 1;
		}
		else if (strcmp(k->name.text, "not-ready-after") == 0) {
			if (conf_nargs(k, 1, 1, e) == 0)
				conf_duration(&k->args[0], 5, 86400,
				    &c->store_not_ready_after, e);
		} else {
			conf_error(e, &k->name.pos, "expected 'postgres' or "
			    "'not-ready-after' in store, got '%s'",
			    k->name.text);
			has_postgres = -1;	/* said already */
		}
	}
	if (has_postgres == 0)
		conf_error(e, &n->name.pos, "expected 'postgres \"CONNINFO\"' "
		    "in store");
}

/* Sorted by name. */
static const struct keyword keywords[] = {
	{ "audit", kw_audit, 1 },
	{ "audit-control", kw_audit_control, 0 },
	{ "audit-control-group", kw_audit_control_group, 0 },
	{ "auth", kw_auth, 1 },
	{ "control", kw_control, 0 },
	{ "control-group", kw_control_group, 0 },
	{ "crl", kw_crl, 0 },
	{ "group", kw_group, 0 },
	{ "limits", kw_limits, 1 },
	{ "listen", kw_listen, -1 },
	{ "network-root", kw_network_root, 0 },
	{ "network-user", kw_network_user, 0 },
	{ "node-name", kw_node_name, 0 },
	{ "policy", kw_policy, 0 },
	{ "state-dir", kw_state_dir, 0 },
	{ "store", kw_store, 1 },
	{ "timeouts", kw_timeouts, 1 },
	{ "user", kw_user, 0 },
	{ "workers", kw_workers, 0 },
};

static int
keyword_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct keyword *)e)->name);
}

static void
apply_defaults(struct gw_config *c)
{
	long cpus = online_cpus();

	if (c->workers == 0)
		c->workers = cpus < 1 ? 1 : cpus > GW_WORKERS_MAX ?
		    GW_WORKERS_MAX : (int)cpus;
	if (c->state_dir == NULL)
		c->state_dir = xstrdup("/var/lib/mwg");
	if (c->net_user == NULL)
		c->net_user = xstrdup("mwg-net");
	if (c->tls.key_in_monitor == -1)
		c->tls.key_in_monitor = 1;
	if (c->net_root == NULL)
		c->net_root = xstrdup("/var/empty");
	if (c->policy_path == NULL)
		c->policy_path = xstrdup("/etc/mwg/policy.conf");
	if (c->control_path == NULL)
		c->control_path = xstrdup("/run/mwg/control");
	if (c->audit_file == NULL)
		c->audit_file = xstrdup("/var/log/mwg/audit.jsonl");
	if (c->crl_path == NULL)
		c->crl_path = xasprintf("%s/crl.pem", c->state_dir);
	if (c->pam_service == NULL)
		c->pam_service = xstrdup("mwg");
	if (c->auth_threads == 0)
		c->auth_threads = 4;
	if (c->audit_key == NULL)
		c->audit_key = xasprintf("%s/audit.key", c->state_dir);
	if (c->audit_retention_months == 0)
		c->audit_retention_months = 12;
	if (c->max_conns == 0)
		c->max_conns = 10000;
	if (c->max_worker_conns == 0)
		c->max_worker_conns = c->max_conns;
	if (c->timeout_head == 0)
		c->timeout_head = 10;
	if (c->timeout_connect == 0)
		c->timeout_connect = 10;
	if (c->timeout_idle == 0)
		c->timeout_idle = 30 * 60;
	if (c->ssh_max_auth_tries == 0)
		c->ssh_max_auth_tries = 6;
	if (c->ssh_startups[0] == 0) {
		c->ssh_startups[0] = 20;
		c->ssh_startups[1] = 30;
		c->ssh_startups[2] = 100;
	}
	if (c->ssh_per_source == 0)
		c->ssh_per_source = 10;
	if (c->ssh_login_grace == 0)
		c->ssh_login_grace = 60;
	if (c->store_not_ready_after == 0)
		c->store_not_ready_after = 30;
}

static struct gw_config *
config_build(const char *name, const struct conf_tree *tree,
    struct conf_errors *errs)
{
	struct gw_config *c = xcalloc(1, sizeof(*c));
	size_t before = errs->n + errs->dropped;

	c->tls.key_in_monitor = -1;	/* unset: the monitor (apply_defaults) */
	c->path = xstrdup(name);
	for (size_t i = 0; i < tree->root.nchildren; i++) {
		const struct conf_node *n = &tree->root.children[i];
		const struct keyword *kw = bsearch(n->name.text, keywords,
		    sizeof(keywords) / sizeof(keywords[0]), sizeof(keywords[0]),
		    keyword_cmp);

		if (kw == NULL) {
			conf_error(errs, &n->name.pos, "unknown keyword '%s'",
			    n->name.text);
			continue;
		}
		if (kw->has_block == 1 && !n->has_block)
			conf_error(errs, &n->name.pos, "expected '{' after %s",
			    n->name.text);
		else if (kw->has_block == 0 && n->has_block)
			conf_error(errs, &n->name.pos, "%s takes no block",
			    n->name.text);
		else
			kw->fn(c, n, errs);
	}
	if (!c->has_tls)
		conf_error(errs, NULL, "%s: no 'listen tls' statement", name);
	if (c->audit_control_group != NULL && c->audit_control_path == NULL)
		conf_error(errs, NULL, "%s: audit-control-group needs "
		    "audit-control (the socket's path)", name);
	apply_defaults(c);
	node_name_default(c, name, errs);
	if (c->audit_control_path != NULL &&
	    strcmp(c->audit_control_path, c->control_path) == 0)
		conf_error(errs, NULL, "%s: audit-control and control are the "
		    "same path %s", name, c->control_path);
	if (c->max_worker_conns > c->max_conns && errs->n == before)
		conf_error(errs, NULL, "%s: worker-connections (%lld) is more "
		    "than connections (%lld)", name, c->max_worker_conns,
		    c->max_conns);
	if (errs->n + errs->dropped != before) {
		gw_config_free(c);
		return NULL;
	}
	return c;
}

struct gw_config *
gw_config_load_string(const char *name, const char *text, size_t len,
    struct conf_errors *errs)
{
	struct conf_tree *tree = conf_parse_string(name, text, len, errs);
	struct gw_config *c;

	if (tree == NULL)
		return NULL;
	c = config_build(name, tree, errs);
	conf_tree_free(tree);
	return c;
}

struct gw_config *
gw_config_load(const char *path, struct conf_errors *errs)
{
	struct conf_tree *tree = conf_parse_file(path, errs);
	struct gw_config *c;

	if (tree == NULL)
		return NULL;
	c = config_build(path, tree, errs);
	conf_tree_free(tree);
	return c;
}

void
gw_config_free(struct gw_config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->user);
	free(c->group);
	free(c->net_user);
	free(c->net_root);
	free(c->state_dir);
	free(c->store_postgres);
	free(c->crl_path);
	free(c->pam_service);
	free(c->tls.ca_key);
	free(c->tls.root);
	free(c->policy_path);
	free(c->control_path);
	free(c->control_group);
	free(c->audit_control_path);
	free(c->audit_control_group);
	free(c->audit_file);
	free(c->node_name);
	free(c->audit_key);
	free(c->syslog_url);
	free(c->syslog_ca);
	free(c->retention);
	free(c->tls.certificate);
	free(c->tls.key);
	free(c->tls.ca);
	free(c->tls.proxy_from);
	free(c->ssh_proxy_from);
	free(c);
}
