/*
 * mwg ssh-config: the gateway as an OpenSSH jump host. Writes the
 * gateway's SSH host keys to DIR/ssh_known_hosts and a config block to
 * DIR/ssh_config (and stdout): the gateway as Host mwg-gateway with the
 * device key as IdentityFile, and ProxyJump for the practices of the last
 * login, so that `ssh emis.K84001` goes through it.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/libssh.h>

#include "client/client.h"

#define VERB		"ssh-config"
#define SSH_ALIAS	"mwg-gateway"
#define SSH_PORT_DEFAULT "2222"
#define SSH_CONFIG_MAX	16384
#define SSH_SCAN_TIMEOUT 10	/* seconds to fetch a host key */

static const char sshc_usage[] =
"usage: mwg ssh-config [--dir DIR] [--port PORT] [--user NAME]\n"
"                      [--host-keys FILE]\n";

static const char sshc_help[] =
"NAME\n"
"     mwg ssh-config - use the gateway as an SSH jump host\n"
"\n"
"SYNOPSIS\n"
"     mwg ssh-config [--dir DIR] [--port PORT] [--user NAME]\n"
"                    [--host-keys FILE]\n"
"\n"
"DESCRIPTION\n"
"     Writes DIR/ssh_known_hosts (the gateway's SSH host keys) and\n"
"     DIR/ssh_config, and prints the config: Host mwg-gateway (the host in\n"
"     DIR/gateway, port PORT, the device key DIR/device.key), and for each\n"
"     practice of the last login, Host *.PRACTICE with ProxyJump\n"
"     mwg-gateway. Add `Include DIR/ssh_config` to ~/.ssh/config, or\n"
"     append the printed block to it.\n"
"\n"
"     Without --host-keys, the keys are fetched from the gateway now and\n"
"     their SHA-256 fingerprints printed: compare them with the ones IT\n"
"     publishes (trust on first use). --host-keys FILE takes them from a\n"
"     known_hosts-style file from IT instead (\"TYPE BASE64\" per line).\n"
"\n"
"     --port PORT  the gateway's SSH port (default 2222).\n"
"     --user NAME  the user name (default: the last login's, else $USER).\n"
"\n"
"EXIT STATUS\n"
"     0 written; 1 not enrolled or the keys could not be had; 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"     mwg ssh-config && ssh emis.K84001\n"
"     ssh -J mwg-gateway emis.K84001\n";

struct sshc {
	struct client_state st;
	struct client_hostport gw;
	const char *port;
	const char *user;
	const char *host_keys;
	char user_buf[CLIENT_NAME_MAX];
	json_t *session;		/* the last login's answer, or NULL */
};

/* A name that may go into an ssh_config line as it is. */
static int
sshc_safe(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) < CLIENT_NAME_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == strlen(s);
}

/* "[host]:port" as known_hosts names it (plain host on port 22). */
static void
sshc_known_name(const struct sshc *c, char *buf, size_t len)
{
	if (strcmp(c->port, "22") == 0)
		snprintf(buf, len, "%s", c->gw.host);
	else
		snprintf(buf, len, "[%s]:%s", c->gw.host, c->port);
}

/* One host key of type alg from the gateway, as "TYPE BASE64". */
static int
sshc_fetch_key(const struct sshc *c, const char *alg, char *line, size_t len,
    char *err, size_t errlen)
{
	ssh_session s = ssh_new();
	long timeout = SSH_SCAN_TIMEOUT;
	ssh_key key = NULL;
	char *b64 = NULL, *fp = NULL;
	unsigned char *hash = NULL;
	size_t hlen;
	bool no = false;
	int rc = -1;

	if (s == NULL ||
	    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no) != 0 ||
	    ssh_options_set(s, SSH_OPTIONS_HOST, c->gw.host) != 0 ||
	    ssh_options_set(s, SSH_OPTIONS_PORT_STR, c->port) != 0 ||
	    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout) != 0 ||
	    ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, alg) != 0)
		snprintf(err, errlen, "cannot set up an SSH client");
	else if (ssh_connect(s) != SSH_OK)
		snprintf(err, errlen, "%s port %s: %s", c->gw.host, c->port,
		    ssh_get_error(s));
	else if (ssh_get_server_publickey(s, &key) != SSH_OK ||
	    ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK ||
	    ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
	    &hlen) != 0)
		snprintf(err, errlen, "no %s host key from the gateway", alg);
	else {
		snprintf(line, len, "%s %s", ssh_key_type_to_char(
		    ssh_key_type(key)), b64);
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
		    hlen);
		printf("# gateway host key %s %s\n", alg, fp ? fp : "?");
		rc = 0;
	}
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
	ssh_string_free_char(b64);
	ssh_key_free(key);
	if (s != NULL) {
		ssh_disconnect(s);
		ssh_free(s);
	}
	return rc;
}

/* DIR/ssh_known_hosts from the gateway or from --host-keys. */
static int
sshc_known_hosts(const struct sshc *c, char *err, size_t errlen)
{
	/* What the gateway offers (gateway/net/ssh.c SSH_HOSTKEYS). */
	static const char *algs[] = { "ssh-ed25519" };
	char name[CLIENT_HOST_MAX + 16], line[1024], *text, *in = NULL, *save;
	size_t n = 0, cap = 4096;
	int rc;

	sshc_known_name(c, name, sizeof(name));
	text = calloc(1, cap);
	if (text == NULL)
		return -1;
	if (c->host_keys != NULL) {
		if ((in = client_read_file(c->host_keys, NULL, err,
		    errlen)) == NULL) {
			free(text);
			return -1;
		}
		for (char *l = strtok_r(in, "\n", &save); l != NULL;
		    l = strtok_r(NULL, "\n", &save))
			if (l[0] != '#' && l[0] != '\0' && n < cap)
				n += (size_t)snprintf(text + n, cap - n,
				    "%s %s\n", name, l);
		free(in);
	} else
		for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			if (sshc_fetch_key(c, algs[i], line, sizeof(line), err,
			    errlen) == -1) {
				free(text);
				return -1;
			}
			n += (size_t)snprintf(text + n, cap - n, "%s %s\n",
			    name, line);
		}
	if (n == 0 || n >= cap) {
		snprintf(err, errlen, "no host keys");
		free(text);
		return -1;
	}
	rc = client_state_write(&c->st, "ssh_known_hosts", text, n, 0644, err,
	    errlen);
	free(text);
	return rc;
}

/* The config text; the practices come from the last login's answer. */
static int
sshc_render(const struct sshc *c, char *buf, size_t len)
{
	char key[PATH_MAX], kh[PATH_MAX];
	json_t *pr = c->session ? json_object_get(c->session, "practices") :
	    NULL, *v;
	size_t i, np = 0;
	int n;

	client_state_path(&c->st, STATE_KEY, key, sizeof(key));
	client_state_path(&c->st, "ssh_known_hosts", kh, sizeof(kh));
	n = snprintf(buf, len,
	    "# mwg ssh-config: the gateway as an SSH jump host.\n"
	    "Host " SSH_ALIAS "\n"
	    "    HostName %s\n    Port %s\n    User %s\n"
	    "    IdentityFile %s\n    IdentitiesOnly yes\n"
	    "    UserKnownHostsFile %s\n    StrictHostKeyChecking yes\n"
	    "    PreferredAuthentications publickey,keyboard-interactive\n",
	    c->gw.host, c->port, c->user, key, kh);
	json_array_foreach(pr, i, v)
		if (sshc_safe(json_string_value(v)))
			np++;
	if (np > 0 && n > 0 && (size_t)n < len) {
		n += snprintf(buf + n, len - (size_t)n, "Host");
		json_array_foreach(pr, i, v)
			if (sshc_safe(json_string_value(v)) && n > 0 &&
			    (size_t)n < len)
				n += snprintf(buf + n, len - (size_t)n, " *.%s",
				    json_string_value(v));
		if (n > 0 && (size_t)n < len)
			n += snprintf(buf + n, len - (size_t)n,
			    "\n    ProxyJump " SSH_ALIAS "\n");
	}
	return n > 0 && (size_t)n < len ? n : -1;
}

static int
sshc_setup(struct sshc *c, const char *dir, char *err, size_t errlen)
{
	char *gw;
	const char *u;

	if (client_state_resolve(dir, &c->st, err, errlen) == -1)
		return -1;
	if (!client_state_has(&c->st, STATE_KEY) ||
	    (gw = client_state_read(&c->st, STATE_GATEWAY, NULL, err,
	    errlen)) == NULL) {
		snprintf(err, errlen, "not enrolled in %.400s (run mwg enrol)",
		    c->st.dir);
		return -1;
	}
	gw[strcspn(gw, "\r\n")] = '\0';
	if (client_parse_hostport(gw, &c->gw, err, errlen) == -1) {
		free(gw);
		return -1;
	}
	free(gw);
	if ((gw = client_state_read(&c->st, STATE_SESSION_JSON, NULL, err,
	    errlen)) != NULL) {
		c->session = json_loads(gw, 0, NULL);
		free(gw);
	}
	u = c->session ? json_string_value(json_object_get(c->session,
	    "user")) : NULL;
	if (c->user == NULL && (u != NULL || (u = getenv("USER")) != NULL))
		c->user = strncpy(c->user_buf, u, sizeof(c->user_buf) - 1);
	if (!sshc_safe(c->user)) {
		snprintf(err, errlen, "no usable user name: give --user NAME");
		return -1;
	}
	return 0;
}

static int
sshc_run(struct sshc *c, const char *dir)
{
	char err[CLIENT_ERR_MAX], text[SSH_CONFIG_MAX];
	int n;

	if (sshc_setup(c, dir, err, sizeof(err)) == -1 ||
	    sshc_known_hosts(c, err, sizeof(err)) == -1)
		return client_fail(VERB, "%s", err);
	if ((n = sshc_render(c, text, sizeof(text))) == -1)
		return client_fail(VERB, "the config does not fit");
	if (client_state_write(&c->st, "ssh_config", text, (size_t)n, 0600,
	    err, sizeof(err)) == -1)
		return client_fail(VERB, "%s", err);
	fputs(text, stdout);
	printf("# written to %s/ssh_config (Include it from ~/.ssh/config)\n",
	    c->st.dir);
	return CLIENT_EXIT_OK;
}

int
client_ssh_config(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir",	required_argument,	NULL, 'd' },
		{ "port",	required_argument,	NULL, 'p' },
		{ "user",	required_argument,	NULL, 'u' },
		{ "host-keys",	required_argument,	NULL, 'k' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	struct sshc c = { .port = SSH_PORT_DEFAULT };
	const char *dir = NULL;
	char *end;
	long p;
	int ch, rc;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'p':
			p = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || p < 1 ||
			    p > 65535)
				return client_usage(VERB, sshc_usage, "--port "
				    "takes 1..65535, not '%s'", optarg);
			c.port = optarg;
			break;
		case 'u':
			c.user = optarg;
			break;
		case 'k':
			c.host_keys = optarg;
			break;
		case 'h':
			fputs(sshc_help, stdout);
			return CLIENT_EXIT_OK;
		default:
			return client_bad_option(VERB, sshc_usage, ch, argv);
		}
	}
	if (client_args_left(VERB, sshc_usage, argc, argv) != 0)
		return CLIENT_EXIT_USAGE;
	rc = sshc_run(&c, dir);
	json_decref(c.session);
	return rc;
}
