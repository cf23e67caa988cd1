/*
 * The control socket: a Unix stream socket where mwgctl sends one JSON
 * request line and reads one JSON answer line. The peer's uid (SO_PEERCRED)
 * is recorded with every admin action in the audit trail.
 */
#ifndef MWG_GW_CONTROL_H
#define MWG_GW_CONTROL_H

#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#include "gateway/server.h"

#define CONTROL_REQUEST_MAX	65536	/* bytes in one request line */
#define CONTROL_TIMEOUT_S	10
#define CONTROL_CLIENTS_MAX	64	/* at once, per socket; more are closed
					   at accept */

/*
 * Binds path (mode 0660, group gid unless (gid_t)-1, replacing a stale
 * socket, in a directory checked by common/safefile, never through a
 * link). The descriptor, or -1 with err (errno EADDRINUSE: another mwgd
 * answers there).
 */
int control_socket(const char *path, gid_t gid, char *err, size_t errlen);
/*
 * Serves requests on fd (every request: administrators) and, unless
 * audit_fd is -1, on audit_fd (audit query and export notes only: the
 * cyber team) from base; conf_path is re-read on reload.
 */
void control_start(struct event_base *base, int fd, int audit_fd,
    struct server *srv, const char *conf_path);
void control_stop(void);
/*
 * control_state.c: requests that change the state store (totp-enrol,
 * totp-import, lock, unlock, lock-list, enrol-code-create, device-list,
 * device-revoke). Returns the answer, or NULL if cmd is none of them.
 */
json_t *control_state_handle(struct server *srv, const char *cmd,
    json_t *req, long uid);
/*
 * control_admin.c: enrol-code-list, enrol-code-withdraw, totp-list,
 * totp-remove, throttle-list, throttle-clear. Returns the answer, or NULL
 * if cmd is none of them.
 */
json_t *control_admin_handle(struct server *srv, const char *cmd,
    json_t *req, long uid);
/*
 * control_console.c: the console's requests (console-login, console-note).
 * Returns the answer; NULL with *later set if it will come through
 * control_answer(cc, ...); NULL with *later 0 if cmd is none of them.
 */
struct control_client;
json_t *control_console_handle(struct server *srv, struct control_client *cc,
    const char *cmd, json_t *req, long uid, int *later);
void control_console_start(struct event_base *base);
void control_console_stop(void);
/* Sends ans (reference taken) to cc as one line, then closes it. */
void control_answer(struct control_client *cc, json_t *ans);
/* Reloads mwgd.conf and policy; answers NULL or an error text to free.
 * uid is who asked (-1: a signal). */
char *control_reload(struct server *srv, const char *conf_path, long uid);

#endif
