/*
 * gateway/config.c: mwgd.conf into struct gw_config. A full file with every
 * field checked, the defaults, and a table of bad files with the exact
 * error list each must produce.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "gateway/config.h"
#include "unit.h"

/* The smallest file that loads. */
#define TLS_OK	"listen tls 127.0.0.1:8443 { certificate c; key k; ca a }\n"
#define NO_TLS	"t.conf: no 'listen tls' statement"
#define DUR(range, got) "expected a duration from " range \
	" (e.g. 30s, 15m, 12h, 14d), got '" got "'"

static struct gw_config *
load(const char *text, struct conf_errors *errs)
{
	return gw_config_load_string("t.conf", text, strlen(text), errs);
}

static int
cpus_clamped(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > GW_WORKERS_MAX ? GW_WORKERS_MAX : (int)n;
}

Test(gw_config, full_file_sets_every_field)
{
	static const char text[] =
	    "# mwgd.conf for the tests\n"
	    "user _mwg\n"
	    "group mwg-grp\n"
	    "workers 4\n"
	    "state-dir /var/lib/mwg-test\n"
	    "policy \"/etc/mwg/policy test.conf\"\n"
	    "control /run/mwg/ctl\n"
	    "control-group mwg-admin\n"
	    "node-name gw1.icb-test\n"
	    "listen tls 10.1.2.3:8443 {\n"
	    "\tcertificate /etc/mwg/server.pem\n"
	    "\tkey /etc/mwg/server.key\n"
	    "\tca /etc/mwg/issuing.pem\n"
	    "}\n"
	    "audit { file /var/log/mwg/a.jsonl }\n"
	    "limits {\n"
	    "\tconnections 500\n"
	    "\tworker-connections 100\n"
	    "}\n"
	    "timeouts { head 15s; connect 2m; idle 1h; stop-drain 90s }\n";
	struct conf_errors errs = { 0 };
	struct gw_config *c = load(text, &errs);
	const struct sockaddr_in *sin;

	cr_assert_not_null(c, "%s", errs.n ? errs.msgs[0] : "");
	cr_assert_eq(errs.n, 0);
	cr_assert_str_eq(c->path, "t.conf");
	cr_assert_str_eq(c->user, "_mwg");
	cr_assert_str_eq(c->group, "mwg-grp");
	cr_assert_eq(c->workers, 4);
	cr_assert_str_eq(c->state_dir, "/var/lib/mwg-test");
	cr_assert_str_eq(c->policy_path, "/etc/mwg/policy test.conf");
	cr_assert_str_eq(c->control_path, "/run/mwg/ctl");
	cr_assert_str_eq(c->control_group, "mwg-admin");
	cr_assert_str_eq(c->node_name, "gw1.icb-test");
	cr_assert_str_eq(c->audit_file, "/var/log/mwg/a.jsonl");
	cr_assert_eq(c->has_tls, 1);
	sin = (const struct sockaddr_in *)&c->tls.addr;
	cr_assert_eq(sin->sin_family, AF_INET);
	cr_assert_eq(ntohs(sin->sin_port), 8443);
	cr_assert_eq(ntohl(sin->sin_addr.s_addr), 0x0a010203);
	cr_assert_eq(c->tls.addrlen, sizeof(struct sockaddr_in));
	cr_assert_str_eq(c->tls.addr_str, "10.1.2.3:8443");
	cr_assert_str_eq(c->tls.certificate, "/etc/mwg/server.pem");
	cr_assert_str_eq(c->tls.key, "/etc/mwg/server.key");
	cr_assert_str_eq(c->tls.ca, "/etc/mwg/issuing.pem");
	cr_assert_eq(c->max_conns, 500);
	cr_assert_eq(c->max_worker_conns, 100);
	cr_assert_eq(c->timeout_head, 15);
	cr_assert_eq(c->timeout_connect, 120);
	cr_assert_eq(c->timeout_idle, 3600);
	cr_assert_eq(c->timeout_stop_drain, 90);
	gw_config_free(c);
	gw_config_free(NULL);
	ASSERT_NO_LEAKS();
}

Test(gw_config, ssh_listener_bounds)
{
	struct conf_errors errs = { 0 };
	struct gw_config *c = load(TLS_OK "listen ssh 127.0.0.1:2222 {\n"
	    " max-auth-tries 3\n max-startups 10:30:100\n"
	    " per-source-max-startups 4\n login-grace-time 2m\n}\n", &errs);

	cr_assert_not_null(c, "%s", errs.n ? errs.msgs[0] : "");
	cr_assert_eq(c->has_ssh, 1);
	cr_assert_str_eq(c->ssh_addr_str, "127.0.0.1:2222");
	cr_assert_eq(c->ssh_max_auth_tries, 3);
	cr_assert_eq(c->ssh_startups[0], 10);
	cr_assert_eq(c->ssh_startups[1], 30);
	cr_assert_eq(c->ssh_startups[2], 100);
	cr_assert_eq(c->ssh_per_source, 4);
	cr_assert_eq(c->ssh_login_grace, 120);
	gw_config_free(c);
}

/* proxy-protocol from, in both listeners, adds up over its lines. */
Test(gw_config, proxy_protocol_from)
{
	struct conf_errors errs = { 0 };
	struct gw_config *c = load("listen tls 127.0.0.1:8443 { certificate c; "
	    "key k; ca a\n proxy-protocol from 127.0.0.1/32 ::1\n"
	    " proxy-protocol from 10.0.0.0/8\n}\n"
	    "listen ssh 127.0.0.1:2222 { proxy-protocol from 192.0.2.10 }\n",
	    &errs);
	struct sockaddr_in sin = { .sin_family = AF_INET };

	cr_assert_not_null(c, "%s", errs.n ? errs.msgs[0] : "");
	cr_assert_eq(c->tls.nproxy_from, 3);
	cr_assert_eq(c->tls.proxy_from[1].family, AF_INET6);
	cr_assert_eq(c->tls.proxy_from[2].plen, 8);
	cr_assert_eq(c->nssh_proxy_from, 1);
	inet_pton(AF_INET, "10.9.8.7", &sin.sin_addr);
	cr_assert_eq(proxy_net_match(c->tls.proxy_from, c->tls.nproxy_from,
	    (const struct sockaddr *)&sin), 1);
	cr_assert_eq(proxy_net_match(c->ssh_proxy_from, c->nssh_proxy_from,
	    (const struct sockaddr *)&sin), 0);
	gw_config_free(c);
	c = load(TLS_OK, &errs);
	cr_assert_not_null(c);
	cr_assert_eq(c->tls.nproxy_from + c->nssh_proxy_from, 0,
	    "no proxy-protocol: no header is read");
	gw_config_free(c);
	ASSERT_NO_LEAKS();
}

Test(gw_config, defaults_when_omitted)
{
	struct conf_errors errs = { 0 };
	struct gw_config *c = load("listen tls [::1]:443 {\n certificate c\n "
	    "key k\n ca a\n}\n", &errs);
	const struct sockaddr_in6 *sin6;
	char host[256] = "";

	cr_assert_not_null(c);
	cr_assert_eq(gethostname(host, sizeof(host) - 1), 0);
	cr_assert_str_eq(c->node_name, host);	/* audit's observer.name */
	cr_assert_null(c->user);
	cr_assert_null(c->group);
	cr_assert_null(c->control_group);
	cr_assert_eq(c->workers, cpus_clamped());
	cr_assert_str_eq(c->state_dir, "/var/lib/mwg");
	cr_assert_str_eq(c->policy_path, "/etc/mwg/policy.conf");
	cr_assert_str_eq(c->control_path, "/run/mwg/control");
	cr_assert_str_eq(c->audit_file, "/var/log/mwg/audit.jsonl");
	cr_assert_eq(c->max_conns, 10000);
	cr_assert_eq(c->max_worker_conns, 10000);
	cr_assert_eq(c->timeout_head, 10);
	cr_assert_eq(c->timeout_connect, 10);
	cr_assert_eq(c->timeout_idle, 1800);
	cr_assert_eq(c->timeout_stop_drain, 0, "SIGTERM stops at once");
	cr_assert_eq(c->ssh_max_auth_tries, 6);
	cr_assert_eq(c->ssh_startups[0], 20);
	cr_assert_eq(c->ssh_startups[1], 30);
	cr_assert_eq(c->ssh_startups[2], 100);
	cr_assert_eq(c->ssh_per_source, 10);
	cr_assert_eq(c->ssh_login_grace, 60);
	sin6 = (const struct sockaddr_in6 *)&c->tls.addr;
	cr_assert_eq(sin6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(sin6->sin6_port), 443);
	cr_assert_eq(c->tls.addrlen, sizeof(struct sockaddr_in6));
	cr_assert_str_eq(c->tls.addr_str, "[::1]:443");
	gw_config_free(c);
	ASSERT_NO_LEAKS();
}

Test(gw_config, values_at_their_limits)
{
	static const struct {
		const char *text;
		int workers;
		long long conns, worker_conns, head, connect, idle;
	} cases[] = {
		{ TLS_OK "workers 1", 1, 10000, 10000, 10, 10, 1800 },
		{ TLS_OK "workers 64", 64, 10000, 10000, 10, 10, 1800 },
		{ TLS_OK "limits { connections 1 }", 0, 1, 1, 10, 10, 1800 },
		{ TLS_OK "limits { connections 1000000 }", 0, 1000000, 1000000,
		    10, 10, 1800 },
		{ TLS_OK "limits { connections 50; worker-connections 50 }", 0,
		    50, 50, 10, 10, 1800 },
		{ TLS_OK "limits { worker-connections 7 }", 0, 10000, 7, 10, 10,
		    1800 },
		{ TLS_OK "limits { worker-connections 10000 }", 0, 10000, 10000,
		    10, 10, 1800 },
		{ TLS_OK "limits { worker-connections 6 }\nlimits { connections "
		    "6 }", 0, 6, 6, 10, 10, 1800 },
		{ TLS_OK "timeouts { head 1; connect 1s; idle 1 }", 0, 10000,
		    10000, 1, 1, 1 },
		{ TLS_OK "timeouts { head 5m; connect 300; idle 1d }", 0, 10000,
		    10000, 300, 300, 86400 },
		{ TLS_OK "timeouts { idle 24h }", 0, 10000, 10000, 10, 10,
		    86400 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct conf_errors errs = { 0 };
		struct gw_config *c = load(cases[i].text, &errs);
		int workers = cases[i].workers ? cases[i].workers :
		    cpus_clamped();

		cr_expect_not_null(c, "case %zu: %s", i,
		    errs.n ? errs.msgs[0] : "");
		if (c == NULL)
			continue;
		cr_expect_eq(c->workers, workers, "case %zu", i);
		cr_expect_eq(c->max_conns, cases[i].conns, "case %zu", i);
		cr_expect_eq(c->max_worker_conns, cases[i].worker_conns,
		    "case %zu", i);
		cr_expect_eq(c->timeout_head, cases[i].head, "case %zu", i);
		cr_expect_eq(c->timeout_connect, cases[i].connect, "case %zu",
		    i);
		cr_expect_eq(c->timeout_idle, cases[i].idle, "case %zu", i);
		gw_config_free(c);
	}
	ASSERT_NO_LEAKS();
}

/* The state store in PostgreSQL: the conninfo as written; none: SQLite. */
Test(gw_config, store_postgres)
{
	static const char *const ok[] = {
	    "host=db1.icb.example,db2.icb.example dbname=mwg user=mwg "
	    "sslmode=verify-full target_session_attrs=read-write",
	    "postgresql://mwg@db.icb.example:5432/mwg?sslmode=verify-full",
	    "dbname=mwg",
	};
	struct conf_errors errs = { 0 };
	struct gw_config *c;
	char text[512];

	for (size_t i = 0; i < NELEM(ok); i++) {
		snprintf(text, sizeof(text), TLS_OK "store {\n\tpostgres "
		    "\"%s\"\n}\n", ok[i]);
		c = load(text, &errs);
		cr_assert_not_null(c, "case %zu: %s", i, errs.n ?
		    errs.msgs[0] : "");
		cr_assert_str_eq(c->store_postgres, ok[i]);
		cr_assert_eq(c->store_not_ready_after, 30, "the default");
		gw_config_free(c);
	}
	c = load(TLS_OK "store { postgres \"dbname=mwg\"; not-ready-after 2m }\n",
	    &errs);
	cr_assert_not_null(c, "%s", errs.n ? errs.msgs[0] : "");
	cr_assert_eq(c->store_not_ready_after, 120);
	gw_config_free(c);
	c = load(TLS_OK, &errs);
	cr_assert_not_null(c);
	cr_assert_null(c->store_postgres, "no store block: SQLite");
	gw_config_free(c);
	ASSERT_NO_LEAKS();
}

/* A listen tls address that must be refused (so no listener either). */
#define BAD_LISTEN(a) { "listen tls " a " { certificate c; key k; ca a }\n", \
	"t.conf:1:12: expected an address IP:PORT or [IPv6]:PORT, got '" a \
	"'\n" NO_TLS, 2 }
#define BAD_WORKERS(n) { TLS_OK "workers " n "\n", \
	"t.conf:2:9: expected a number from 1 to 64, got '" n "'", 1 }

static const struct bad_case bad_cases[] = {
	/* store { postgres "CONNINFO" } */
	{ TLS_OK "store { }\n",
	    "t.conf:2:1: expected 'postgres \"CONNINFO\"' in store", 1 },
	{ TLS_OK "store postgres\n", "t.conf:2:1: expected '{' after store",
	    1 },
	{ TLS_OK "store { sqlite x }\n",
	    "t.conf:2:9: expected 'postgres' or 'not-ready-after' in store, "
	    "got 'sqlite'", 1 },
	{ TLS_OK "store { not-ready-after 30s }\n",
	    "t.conf:2:1: expected 'postgres \"CONNINFO\"' in store", 1 },
	{ TLS_OK "store { postgres \"dbname=a\"; not-ready-after 2s }\n",
	    "t.conf:2:46: expected a duration from 5s to 86400s (e.g. 30s, "
	    "15m, 12h, 14d), got '2s'", 1 },
	{ TLS_OK "store { postgres \"\" }\n",
	    "t.conf:2:18: expected a value, got \"\"", 1 },
	{ TLS_OK "store { postgres }\n",
	    "t.conf:2:9: postgres takes 1 argument, got 0", 1 },
	{ TLS_OK "store { postgres \"dbname=a\"; postgres \"dbname=b\" }\n",
	    "t.conf:2:30: postgres is set twice", 1 },
	{ TLS_OK "store { postgres \"host=db password=s3cret bogus=1\" }\n",
	    "t.conf:2:18: expected a libpq connection string or URI "
	    "(host=... dbname=... or postgresql://...), got one libpq refuses: "
	    "invalid connection option \"bogus\"", 1 },
	{ TLS_OK "store { postgres \"host=db password=s3cret\" }\n",
	    "t.conf:2:18: a password in the connection string: put it in a "
	    "passfile (passfile=FILE, mode 0600, read by the monitor only) or "
	    "use a client certificate (sslcert=, sslkey=)", 1 },
	{ TLS_OK "store { postgres \"postgresql://mwg:s3cret@db/mwg\" }\n",
	    "t.conf:2:18: a password in the connection string: put it in a "
	    "passfile (passfile=FILE, mode 0600, read by the monitor only) or "
	    "use a client certificate (sslcert=, sslkey=)", 1 },
	{ TLS_OK "store { postgres \"host=db dbname\" }\n",
	    "t.conf:2:18: expected a libpq connection string or URI "
	    "(host=... dbname=... or postgresql://...), got one libpq refuses: "
	    "missing \"=\" after \"dbname\" in connection info string", 1 },
	{ TLS_OK "store { postgres \"postgresql://db/mwg?sslmde=verify-full\" "
	    "}\n",
	    "t.conf:2:18: expected a libpq connection string or URI "
	    "(host=... dbname=... or postgresql://...), got one libpq refuses: "
	    "invalid URI query parameter: \"sslmde\"", 1 },
	{ TLS_OK "store { postgres x { } }\n",
	    "t.conf:2:9: postgres takes no block", 1 },
	/* Top level. */
	{ TLS_OK "bogus 1\n", "t.conf:2:1: unknown keyword 'bogus'", 1 },
	{ TLS_OK "Workers 2\n", "t.conf:2:1: unknown keyword 'Workers'", 1 },
	{ TLS_OK "user a\nuser b\n", "t.conf:3:1: user is set twice", 1 },
	{ TLS_OK "group a\ngroup a\n", "t.conf:3:1: group is set twice", 1 },
	{ TLS_OK "policy p\npolicy q\n", "t.conf:3:1: policy is set twice", 1 },
	{ TLS_OK "control-group a\ncontrol-group b\n",
	    "t.conf:3:1: control-group is set twice", 1 },
	{ TLS_OK "workers 2\nworkers 3\n", "t.conf:3:1: workers is set twice",
	    1 },
	{ TLS_OK "user \"\"\n", "t.conf:2:6: expected a value, got \"\"", 1 },
	{ TLS_OK "user\n", "t.conf:2:1: user takes 1 argument, got 0", 1 },
	{ TLS_OK "state-dir a b\n",
	    "t.conf:2:1: state-dir takes 1 argument, got 2", 1 },
	{ TLS_OK "node-name \"gw a\"\n", "t.conf:2:11: expected a node name "
	    "(1 to 64 letters, digits, '.', '-' or '_', starting with a letter "
	    "or digit), got 'gw a'", 1 },
	{ TLS_OK "node-name -gw\n", "t.conf:2:11: expected a node name "
	    "(1 to 64 letters, digits, '.', '-' or '_', starting with a letter "
	    "or digit), got '-gw'", 1 },
	{ TLS_OK "node-name gw-a\nnode-name gw-b\n",
	    "t.conf:3:1: node-name is set twice", 1 },
	{ TLS_OK "node-name\n", "t.conf:2:1: node-name takes 1 argument, got 0",
	    1 },
	BAD_WORKERS("0"),
	BAD_WORKERS("65"),
	BAD_WORKERS("-1"),
	BAD_WORKERS("four"),
	{ TLS_OK "workers\n", "t.conf:2:1: workers takes 1 argument, got 0",
	    1 },
	/* Blocks where none is allowed, and none where one is needed. */
	{ TLS_OK "user a { }\n", "t.conf:2:1: user takes no block", 1 },
	{ TLS_OK "workers 2 {\n}\n", "t.conf:2:1: workers takes no block", 1 },
	{ TLS_OK "control c { x }\n", "t.conf:2:1: control takes no block", 1 },
	{ TLS_OK "limits\n", "t.conf:2:1: expected '{' after limits", 1 },
	{ TLS_OK "timeouts head 5\n", "t.conf:2:1: expected '{' after timeouts",
	    1 },
	{ TLS_OK "audit file x\n", "t.conf:2:1: expected '{' after audit", 1 },
	/* listen */
	BAD_LISTEN("1.2.3.4"),
	BAD_LISTEN("1.2.3.4:0"),
	BAD_LISTEN("1.2.3.4:65536"),
	BAD_LISTEN("localhost:443"),
	BAD_LISTEN("::1:443"),
	BAD_LISTEN("[::1]443"),
	BAD_LISTEN("[1.2.3.4]:443"),
	BAD_LISTEN("1.2.3.4:44a"),
	{ "listen tls 1.2.3.4:443 { key k; ca a }\n",
	    "t.conf:1:1: listen tls needs certificate, key and ca", 1 },
	{ "listen tls 1.2.3.4:443 { certificate c; ca a }\n",
	    "t.conf:1:1: listen tls needs certificate, key and ca", 1 },
	{ "listen tls 1.2.3.4:443 {\n certificate c\n key k\n}\n",
	    "t.conf:1:1: listen tls needs certificate, key and ca", 1 },
	{ "listen tls 1.2.3.4:443 { }\n",
	    "t.conf:1:1: listen tls needs certificate, key and ca", 1 },
	{ "listen tls 1.2.3.4:443\n",
	    "t.conf:1:1: expected '{' with certificate, key and ca after "
	    "listen tls", 1 },
	{ "listen tls 1.2.3.4:443 {\n certificate c\n certificate d\n key k\n"
	  " ca a\n}\n", "t.conf:3:2: certificate is set twice", 1 },
	{ "listen tls 1.2.3.4:443 {\n certificate c\n key k\n ca a\n crl x\n}\n",
	    "t.conf:5:2: expected 'certificate', 'key', 'key-holder', 'ca', "
	    "'ca-key', 'root' or 'proxy-protocol' in listen tls, got 'crl'", 1 },
	{ "listen tls 1.2.3.4:443 {\n certificate c\n key k\n ca a\n"
	  " key-holder both\n}\n",
	    "t.conf:5:13: expected 'monitor' or 'network' after key-holder, "
	    "got 'both'", 1 },
	{ "listen tls 1.2.3.4:443 { certificate c; key k; ca a }\n"
	  "auth { threads 0 }\n", "t.conf:2:16: expected a number from 1 to 64, got '0'", 1 },
	{ "listen tls 1.2.3.4:443 { certificate c; key k; ca a }\n"
	  "auth { pam-service mwg; pam-service other }\n",
	  "t.conf:2:25: pam-service is set twice", 1 },
	{ "listen tls 1.2.3.4:443 { certificate c; key k; ca a }\n"
	  "auth { realm x }\n", "t.conf:2:8: expected 'pam-service' or "
	  "'threads' in auth, got 'realm'", 1 },
	{ TLS_OK "listen tls 127.0.0.1:9443 { certificate c; key k; ca a }\n",
	    "t.conf:2:1: listen tls is set twice", 1 },
	{ TLS_OK "listen ssh 0.0.0.0:22\nlisten ssh 0.0.0.0:23\n",
	    "t.conf:3:1: listen ssh is set twice", 1 },
	{ TLS_OK "listen ssh localhost:22\n",
	    "t.conf:2:12: expected an address IP:PORT or [IPv6]:PORT, got "
	    "'localhost:22'", 1 },
	{ TLS_OK "listen metrics 127.0.0.1:9100\nlisten metrics 127.0.0.1:9101\n",
	    "t.conf:3:1: listen metrics is set twice", 1 },
	{ TLS_OK "listen metrics 127.0.0.1:9100 { x }\n",
	    "t.conf:2:1: listen metrics takes no block", 1 },
	{ TLS_OK "listen metrics localhost:9100\n",
	    "t.conf:2:16: expected an address IP:PORT or [IPv6]:PORT, got "
	    "'localhost:9100'", 1 },
	{ "listen ssh 0.0.0.0:22 { key k }\n",
	    "t.conf:1:25: expected 'max-auth-tries', 'max-startups', "
	    "'per-source-max-startups', 'login-grace-time' or 'proxy-protocol' "
	    "in listen ssh, got 'key'\n" NO_TLS, 2 },
	{ "listen tls 1.2.3.4:443 { certificate c; key k; ca a\n"
	  " proxy-protocol from 10.0.0.1/8 ::1 nowhere\n"
	  " proxy-protocol 10.0.0.1\n proxy-protocol from\n"
	  " proxy-protocol from ::1 { x }\n}\n",
	    "t.conf:2:22: expected an address or a network like 10.0.0.0/24 or "
	    "2001:db8::/64 (no host bits set), got '10.0.0.1/8'\n"
	    "t.conf:2:37: expected an address or a network like 10.0.0.0/24 or "
	    "2001:db8::/64 (no host bits set), got 'nowhere'\n"
	    "t.conf:3:17: expected 'from' after proxy-protocol, got "
	    "'10.0.0.1'\n"
	    "t.conf:4:2: expected an address or network after proxy-protocol "
	    "from\n"
	    "t.conf:5:2: proxy-protocol takes no block", 5 },
	{ TLS_OK "listen ssh 0.0.0.0:22 { max-startups 10:30 }\n",
	    "t.conf:2:38: expected START:RATE:FULL with 1 <= START <= FULL <= "
	    "1024 and RATE 1 to 100 (e.g. 10:30:100), got '10:30'", 1 },
	{ TLS_OK "listen ssh 0.0.0.0:22 { max-startups 20:30:10 }\n",
	    "t.conf:2:38: expected START:RATE:FULL with 1 <= START <= FULL <= "
	    "1024 and RATE 1 to 100 (e.g. 10:30:100), got '20:30:10'", 1 },
	{ TLS_OK "listen ssh 0.0.0.0:22 { max-auth-tries 0 }\n",
	    "t.conf:2:40: expected a number from 1 to 100, got '0'", 1 },
	{ TLS_OK "listen ssh 0.0.0.0:22 { login-grace-time 2s }\n",
	    "t.conf:2:42: " DUR("5s to 600s", "2s"), 1 },
	{ TLS_OK "listen ssh 0.0.0.0:22 { login-grace-time 20s; "
	    "login-grace-time 30s }\n",
	    "t.conf:2:47: login-grace-time is set twice", 1 },
	{ TLS_OK "listen http 0.0.0.0:80\n",
	    "t.conf:2:8: expected 'tls', 'ssh' or 'metrics', got 'http'", 1 },
	{ TLS_OK "listen TLS 0.0.0.0:80\n",
	    "t.conf:2:8: expected 'tls', 'ssh' or 'metrics', got 'TLS'", 1 },
	{ TLS_OK "listen tls\n", "t.conf:2:1: listen takes 2 arguments, got 1",
	    1 },
	{ "listen tls 1.2.3.4:1 x { certificate c; key k; ca a }\n",
	    "t.conf:1:1: listen takes 2 arguments, got 3\n" NO_TLS, 2 },
	/* limits, timeouts, audit */
	{ TLS_OK "limits { conns 5 }\n",
	    "t.conf:2:10: expected 'connections' or 'worker-connections' in "
	    "limits, got 'conns'", 1 },
	{ TLS_OK "limits { connections 0 }\n",
	    "t.conf:2:22: expected a number from 1 to 1000000, got '0'", 1 },
	{ TLS_OK "limits { connections 1000001 }\n",
	    "t.conf:2:22: expected a number from 1 to 1000000, got '1000001'",
	    1 },
	{ TLS_OK "limits { worker-connections }\n",
	    "t.conf:2:10: worker-connections takes 1 argument, got 0", 1 },
	{ TLS_OK "limits 5 { connections 5 }\n",
	    "t.conf:2:1: limits takes 0 arguments, got 1", 1 },
	{ TLS_OK "limits { connections 5; connections 6 }\n",
	    "t.conf:2:25: connections is set twice", 1 },
	{ TLS_OK "limits { connections 5 }\nlimits { connections 6 }\n",
	    "t.conf:3:10: connections is set twice", 1 },
	{ TLS_OK "limits { worker-connections 5 }\n"
	  "limits { worker-connections 5 }\n",
	    "t.conf:3:10: worker-connections is set twice", 1 },
	/* A worker never gets more than the whole daemon. */
	{ TLS_OK "limits { connections 50; worker-connections 60 }\n",
	    "t.conf:2:1: worker-connections (60) is more than connections (50)",
	    1 },
	{ TLS_OK "limits { worker-connections 60 }\nlimits { connections 50 }\n",
	    "t.conf:3:1: worker-connections (60) is more than connections (50)",
	    1 },
	{ TLS_OK "timeouts { head 0 }\n", "t.conf:2:17: " DUR("1s to 300s", "0"),
	    1 },
	{ TLS_OK "timeouts { head 301 }\n",
	    "t.conf:2:17: " DUR("1s to 300s", "301"), 1 },
	{ TLS_OK "timeouts { connect 6m }\n",
	    "t.conf:2:20: " DUR("1s to 300s", "6m"), 1 },
	{ TLS_OK "timeouts { idle 86401 }\n",
	    "t.conf:2:17: " DUR("1s to 86400s", "86401"), 1 },
	{ TLS_OK "timeouts { idle 2d }\n",
	    "t.conf:2:17: " DUR("1s to 86400s", "2d"), 1 },
	{ TLS_OK "timeouts { idle 1y }\n",
	    "t.conf:2:17: " DUR("1s to 86400s", "1y"), 1 },
	{ TLS_OK "timeouts { head 5; head 6 }\n",
	    "t.conf:2:20: head is set twice", 1 },
	{ TLS_OK "timeouts { idle 1h }\ntimeouts { connect 5; idle 2h }\n",
	    "t.conf:3:23: idle is set twice", 1 },
	{ TLS_OK "timeouts { read 5 }\n",
	    "t.conf:2:12: expected 'connect', 'head', 'idle' or 'stop-drain' "
	    "in timeouts, got 'read'", 1 },
	{ TLS_OK "timeouts { stop-drain 0 }\n",
	    "t.conf:2:23: expected a duration from 1s to 86400s (e.g. 30s, "
	    "15m, 12h, 14d), got '0'", 1 },
	{ TLS_OK "audit { path x }\n",
	    "t.conf:2:9: expected file, key, checkpoint-records, checkpoint-interval, rotate-size, rotate-age, retention or syslog in audit, got 'path'", 1 },
	{ TLS_OK "audit { file a; file b }\n",
	    "t.conf:2:17: file is set twice", 1 },
	{ TLS_OK "audit { retention 5 months }\n",
	    "t.conf:2:19: expected a number from 6 to 24, got '5'", 1 },
	{ TLS_OK "audit { retention 12 weeks }\n",
	    "t.conf:2:22: expected 'months', got 'weeks'", 1 },
	{ TLS_OK "audit { retention K84001 24 months; retention k84001 6 months }\n",
	    "t.conf:2:47: retention for k84001 is set twice", 1 },
	{ TLS_OK "audit { retention 12 months; retention 13 months }\n",
	    "t.conf:2:30: retention is set twice", 1 },
	{ TLS_OK "audit { syslog tcp://127.0.0.1:514 { port 1 } }\n",
	    "t.conf:2:38: expected 'ca' in syslog, got 'port'", 1 },
	{ TLS_OK "audit { syslog http://x:1 }\n",
	    "t.conf:2:16: expected udp://, tcp:// or tls://HOST:PORT, got "
	    "'http://x:1'", 1 },
	{ TLS_OK "audit { syslog tls://127.0.0.1:6514 }\n",
	    "t.conf:2:9: syslog over tls:// needs { ca FILE } (the collector's "
	    "CA)", 1 },
	/* A second "syslog" without its URL (or twice) is judged once: the
	 * fuzzer found the first statement's URL judged against the second's
	 * missing argument (a NULL offset, undefined behaviour). */
	{ TLS_OK "audit { syslog http://x:1; syslog }\n",
	    "t.conf:2:16: expected udp://, tcp:// or tls://HOST:PORT, got "
	    "'http://x:1'\n"
	    "t.conf:2:28: syslog takes 1 argument, got 0", 2 },
	{ TLS_OK "audit { syslog tcp://a:1; syslog udp://b:2 { ca x } }\n",
	    "t.conf:2:27: syslog is set twice", 1 },
	{ TLS_OK "audit { rotate-size 10x }\n",
	    "t.conf:2:21: expected a number from 1 to 1099511627776, got "
	    "'10x'", 1 },
	/* No listener at all. */
	{ "", NO_TLS, 1 },
	{ "# nothing but a comment\n", NO_TLS, 1 },
	{ "user mwg\nworkers 2\n", NO_TLS, 1 },
	/* Syntax errors stop before the keywords are looked at. */
	{ TLS_OK "user \"mwg\n", "t.conf:2:6: unterminated string", 1 },
	{ "bogus {\n", "t.conf:1:7: '{' is never closed (expected '}' before "
	    "end of file)", 1 },
	/* Every error in the file, in order. */
	{ "user a\n"
	  "workers 0\n"
	  "listen tls 1.2.3.4:443 { key k }\n"
	  "user b\n"
	  "limits { connections 0; pipes 2 }\n"
	  "frobnicate\n"
	  "timeouts { idle 0 }\n",
	    "t.conf:2:9: expected a number from 1 to 64, got '0'\n"
	    "t.conf:3:1: listen tls needs certificate, key and ca\n"
	    "t.conf:4:1: user is set twice\n"
	    "t.conf:5:22: expected a number from 1 to 1000000, got '0'\n"
	    "t.conf:5:25: expected 'connections' or 'worker-connections' in "
	    "limits, got 'pipes'\n"
	    "t.conf:6:1: unknown keyword 'frobnicate'\n"
	    "t.conf:7:17: " DUR("1s to 86400s", "0"), 7 },
};

Test(gw_config, bad_files)
{
	for (size_t i = 0; i < NELEM(bad_cases); i++) {
		struct conf_errors errs = { 0 };
		struct gw_config *c = load(bad_cases[i].text, &errs);

		expect_bad_load(i, &bad_cases[i], c, &errs);
		gw_config_free(c);
	}
	ASSERT_NO_LEAKS();
}

/*
 * BUG (gateway/config.c kw_limits + apply_defaults, since d0fa1d9): the
 * "worker-connections (N) is more than connections (M)" check runs only
 * when connections is set, and apply_defaults() no longer clamps, so
 * "limits { worker-connections 20000 }" loads with max_worker_conns 20000
 * above the default max_conns 10000.
 */
Test(gw_config, worker_limit_above_default_limit)
{
	struct conf_errors errs = { 0 };
	struct gw_config *c;

	c = load(TLS_OK "limits { worker-connections 20000 }\n", &errs);
	if (c != NULL)
		cr_expect_leq(c->max_worker_conns, c->max_conns,
		    "worker %lld > daemon %lld", c->max_worker_conns,
		    c->max_conns);
	else
		cr_expect_eq(errs.n, 1);
	gw_config_free(c);
	conf_errors_clear(&errs);
	ASSERT_NO_LEAKS();
}

Test(gw_config, load_from_file_with_include)
{
	char dir[64], path[PATH_MAX], inc[PATH_MAX];
	struct conf_errors errs = { 0 };
	struct gw_config *c;

	make_tmp_dir(dir, sizeof(dir), "mwg-gwconf-test");
	path_in(path, dir, "mwgd.conf");
	path_in(inc, dir, "listen.conf");
	write_file(inc, TLS_OK, 0);
	write_file(path, "workers 3\ninclude listen.conf\n", 0);
	c = gw_config_load(path, &errs);
	cr_assert_not_null(c, "%s", errs.n ? errs.msgs[0] : "");
	cr_assert_str_eq(c->path, path);
	cr_assert_eq(c->workers, 3);
	cr_assert_str_eq(c->tls.addr_str, "127.0.0.1:8443");
	gw_config_free(c);

	write_file(inc, "listen tls 1.2.3.4:1 { certificate c }\n", 0);
	cr_assert_null(gw_config_load(path, &errs));
	assert_sole_error(&errs, "%s:1:1: listen tls needs certificate, key "
	    "and ca", inc);

	unlink(inc);
	unlink(path);
	cr_assert_null(gw_config_load(path, &errs));
	assert_sole_error(&errs, "cannot open %s: No such file or directory",
	    path);
	rmdir(dir);
	ASSERT_NO_LEAKS();
}
