/*
 * denylist: who is cut off right now — locked people, locked devices,
 * revoked devices and session certificates ended by mwg logout — held in
 * memory so that every CONNECT and the handshake check consult it without
 * touching the state store. Loaded from the store at start; the control
 * socket and the logout endpoint change the store first, then this.
 * Readers and writers may be on any thread (a read-write lock inside).
 */
#ifndef MWG_GW_DENYLIST_H
#define MWG_GW_DENYLIST_H

#include <stddef.h>
#include <time.h>

struct store;
struct denylist;

#define DENYLIST_REASON_MAX	256

struct denylist *denylist_new(void);
void denylist_free(struct denylist *d);
/* Replaces the contents with the store's locks and revoked devices. */
int denylist_load(struct denylist *d, struct store *st, char *err,
    size_t errlen);

/*
 * 1 if user is locked at now (reason copied into reason, which may be
 * NULL), 0 if not.
 */
/* 1 if (is_user, name) holds a lock that has not run out at now (a
 * device's revocation is not a lock), else 0. */
int denylist_locked(struct denylist *d, int is_user, const char *name,
    time_t now);
int denylist_user(struct denylist *d, const char *user, time_t now,
    char *reason, size_t len);
/* 1 if the device is revoked or locked at now, with the reason; 0 if not. */
int denylist_device(struct denylist *d, const char *device_id, time_t now,
    char *reason, size_t len);

/* until 0: until unlocked. is_user: 1 person, 0 device. */
void denylist_lock(struct denylist *d, int is_user, const char *name,
    time_t until, const char *reason);
void denylist_unlock(struct denylist *d, int is_user, const char *name);
void denylist_revoke(struct denylist *d, const char *device_id,
    const char *reason);

/*
 * The session certificate with this serial was ended (mwg logout); the
 * entry is dropped once the certificate expires at until (its notAfter).
 */
void denylist_session_end(struct denylist *d, const char *serial,
    time_t until);
/* 1 if the session certificate serial was ended and has not expired. */
int denylist_session_ended(struct denylist *d, const char *serial,
    time_t now);
/* A number that changes with every change above (never 0): a caller that
 * saw it unchanged need not look up again (the SSH threads' tick). */
unsigned long denylist_generation(struct denylist *d);

/* The monitor tells the network process of every change (state_mirror.h):
 * fn gets each change as an operation, after it is made. */
#include "gateway/state_mirror.h"
void denylist_set_mirror(struct denylist *d, state_mirror_fn fn, void *arg);
/* Every current entry, as the operations that make it. */
void denylist_dump(struct denylist *d, state_mirror_fn fn, void *arg);

#endif
