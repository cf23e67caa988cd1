/*
 * devcache: what every decision needs to know of a device beyond its
 * certificate — whether it is organisation-owned (managed) and its newest
 * posture report — held in memory so that a CONNECT never waits on the
 * store. Loaded from the store at start; updated at enrolment, login and
 * each posture report. Any thread (a read-write lock inside).
 */
#ifndef MWG_GW_DEVCACHE_H
#define MWG_GW_DEVCACHE_H

#include <stddef.h>

#include "policy/policy.h"

struct store;
struct devcache;

struct devcache *devcache_new(void);
void devcache_free(struct devcache *d);
/* Every device's managed flag and newest report (reports that no longer
 * parse are skipped with a warning). 0 or -1 with a reason. */
int devcache_load(struct devcache *d, struct store *st, char *err,
    size_t errlen);
void devcache_set_managed(struct devcache *d, const char *device_id,
    int managed);
void devcache_set_posture(struct devcache *d, const char *device_id,
    const struct policy_posture *p);
/*
 * Fills *managed and *posture (received_at 0 if the device never
 * reported). Returns 1 if the device is known, 0 if not (then *managed is
 * 0 and there is no posture).
 */
int devcache_get(struct devcache *d, const char *device_id, int *managed,
    struct policy_posture *posture);
/*
 * How many reports the device has had stored (0: unknown device): it
 * changes with every report, even two within one second, so a watcher
 * knows when to decide again.
 */
unsigned long devcache_posture_gen(struct devcache *d, const char *device_id);
/* A number that changes with every change to any device (never 0): a
 * caller that saw it unchanged need not look up again. */
unsigned long devcache_generation(struct devcache *d);

/* As denylist_set_mirror and denylist_dump (gateway/state_mirror.h). */
#include "gateway/state_mirror.h"
void devcache_set_mirror(struct devcache *d, state_mirror_fn fn, void *arg);
void devcache_dump(struct devcache *d, state_mirror_fn fn, void *arg);

#endif
