/*
 * The SSH listener's questions that only the monitor can answer (the
 * store, PAM, TOTP, NSS), asked by the network process (IPC_SSH_*).
 * Each answer is a JSON object; the wording of every reason is the one
 * the single-process gateway gave (ssh.auth records keep their text).
 */
#ifndef MWG_GW_SSH_VERDICT_H
#define MWG_GW_SSH_VERDICT_H

#include <jansson.h>

struct server;

/* {user, fpr} -> {found: 1|0|-1, error?, device?: {...}} */
json_t *ssh_verdict_device(struct server *srv, json_t *q);
/* {device, user} -> {live: 1|0|-1, error?} */
json_t *ssh_verdict_session(struct server *srv, json_t *q);
/* {user, ip} -> {wait: seconds (0 none, -1 error), error?} */
json_t *ssh_verdict_throttle(struct server *srv, json_t *q);
/* {user, ip, password, code, fields} -> {ok: bool, why, warn: bool} */
json_t *ssh_verdict_kbdint(struct server *srv, json_t *q);
/* {user} -> {groups: [...]} or {error} */
json_t *ssh_verdict_groups(struct server *srv, json_t *q);

#endif
