/*
 * The SSH listener's part in the monitor (gateway/ssh.h): before the
 * privilege drop it makes or loads the host keys in state-dir and binds
 * the listening socket; the network process gets both as data and runs
 * the listener (net/ssh.c).
 */
#include "gateway/ssh.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "common/errbuf.h"
#include "gateway/config.h"
#include "gateway/ssh_int.h"

#define SSH_HOSTKEY_ED25519	"ssh_host_ed25519_key"
#define SSH_HOSTKEY_ECDSA	"ssh_host_ecdsa_key"

/* ---- binding ------------------------------------------------------------ */

static int
ssh_listen_socket(const struct gw_config *c, char *err, size_t errlen)
{
	int fd, one = 1;

	fd = socket(c->ssh_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		errbuf_set(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&c->ssh_addr,
	    c->ssh_addrlen) == -1 || listen(fd, SOMAXCONN) == -1) {
		errbuf_set(err, errlen, "cannot listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Loads (or makes) one host key, as OpenSSH base64 for the network
 * process. */
static char *
ssh_hostkey_text(const char *dir, const char *name, enum ssh_keytypes_e type,
    char *err, size_t errlen)
{
	char path[PATH_MAX], *b64 = NULL;
	ssh_key key;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path)) {
		errbuf_set(err, errlen, "state-dir path too long");
		return NULL;
	}
	if ((key = ssh_key_host_load(path, type, err, errlen)) == NULL)
		return NULL;
	if (ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &b64) !=
	    SSH_OK)
		errbuf_set(err, errlen, "host key %s: cannot export", path);
	ssh_key_free(key);
	return b64;
}

int
ssh_listener_prepare(const struct gw_config *c, int *fd, char *keys[2],
    char *err, size_t errlen)
{
	keys[0] = keys[1] = NULL;
	ssh_init();	/* libssh's own once: the key functions need it */
	if ((keys[0] = ssh_hostkey_text(c->state_dir, SSH_HOSTKEY_ED25519,
	    SSH_KEYTYPE_ED25519, err, errlen)) == NULL ||
	    (keys[1] = ssh_hostkey_text(c->state_dir, SSH_HOSTKEY_ECDSA,
	    SSH_KEYTYPE_ECDSA_P256, err, errlen)) == NULL ||
	    (*fd = ssh_listen_socket(c, err, errlen)) == -1) {
		free(keys[0]);
		free(keys[1]);
		keys[0] = keys[1] = NULL;
		return -1;
	}
	return 0;
}
