/*
 * The in-memory state every decision reads (denylist, devcache) lives in
 * both processes: the monitor changes its own copy, and each change goes
 * to the network process as an operation, a small JSON object, which
 * state_apply makes there. A new network process gets the whole state as
 * the same operations first.
 */
#ifndef MWG_GW_STATE_MIRROR_H
#define MWG_GW_STATE_MIRROR_H

#include <time.h>

#include <jansson.h>

struct denylist;
struct devcache;
struct policy_posture;

/* Told of one change; owns op. */
typedef void (*state_mirror_fn)(void *arg, json_t *op);

json_t *state_op_lock(int is_user, const char *name, time_t until,
    const char *reason);
json_t *state_op_unlock(int is_user, const char *name);
json_t *state_op_revoke(const char *device_id, const char *reason);
json_t *state_op_session_end(const char *serial, time_t until);
json_t *state_op_managed(const char *device_id, int managed);
json_t *state_op_posture(const char *device_id,
    const struct policy_posture *p);

/* Makes op in deny and devices: 0, or -1 if op is malformed. */
int state_apply(struct denylist *deny, struct devcache *devices, json_t *op);

#endif
