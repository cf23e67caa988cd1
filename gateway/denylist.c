/*
 * The in-memory denylist: three small hash maps (people, devices, ended
 * sessions) behind a read-write lock. Entries are few (locks, revocations
 * and logouts are rare next to CONNECTs), reads are on every handshake and
 * CONNECT: a lookup is one hash and a short chain. Ended sessions leave
 * once their certificate has expired, so that map holds at most the
 * logouts of one session lifetime.
 */
#include "gateway/denylist.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "gateway/state_mirror.h"
#include "gateway/monitor/store.h"

#define DL_BUCKETS	256

struct dl_entry {
	struct dl_entry *next;
	char name[STORE_NAME_MAX];
	int locked;
	time_t until;			/* lock: 0 = until unlocked */
	char lock_reason[DENYLIST_REASON_MAX];
	int revoked;			/* devices only */
	char revoke_reason[DENYLIST_REASON_MAX];
};

/* A session certificate ended by mwg logout. */
struct dl_session {
	struct dl_session *next;
	char serial[STORE_SERIAL_MAX];
	time_t until;			/* its notAfter: then it can go */
};

struct denylist {
	pthread_rwlock_t lock;
	state_mirror_fn mirror;		/* told of every change (monitor) */
	void *mirror_arg;
	struct dl_entry *users[DL_BUCKETS];
	struct dl_entry *devices[DL_BUCKETS];
	struct dl_session *sessions[DL_BUCKETS];
	atomic_ulong generation;	/* one more at every change */
};

static unsigned
dl_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % DL_BUCKETS;
}

static struct dl_entry **
dl_table(struct denylist *d, int is_user)
{
	return is_user ? d->users : d->devices;
}

static struct dl_entry *
dl_find(struct denylist *d, int is_user, const char *name)
{
	struct dl_entry *e = dl_table(d, is_user)[dl_hash(name)];

	while (e && strcmp(e->name, name) != 0)
		e = e->next;
	return e;
}

static struct dl_entry *
dl_get(struct denylist *d, int is_user, const char *name)
{
	struct dl_entry *e = dl_find(d, is_user, name), **head;

	if (e)
		return e;
	e = xcalloc(1, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	head = &dl_table(d, is_user)[dl_hash(name)];
	e->next = *head;
	*head = e;
	return e;
}

static void
dl_clear(struct denylist *d)
{
	struct dl_entry *e, *next;
	struct dl_session *s, *snext;

	for (int i = 0; i < DL_BUCKETS; i++) {
		for (s = d->sessions[i]; s; s = snext) {
			snext = s->next;
			free(s);
		}
		d->sessions[i] = NULL;
	}
	for (int t = 0; t < 2; t++)
		for (int i = 0; i < DL_BUCKETS; i++) {
			for (e = dl_table(d, t)[i]; e; e = next) {
				next = e->next;
				free(e);
			}
			dl_table(d, t)[i] = NULL;
		}
}

struct denylist *
denylist_new(void)
{
	struct denylist *d = xcalloc(1, sizeof(*d));

	pthread_rwlock_init(&d->lock, NULL);
	atomic_init(&d->generation, 1);
	return d;
}

void
denylist_free(struct denylist *d)
{
	if (d == NULL)
		return;
	dl_clear(d);
	pthread_rwlock_destroy(&d->lock);
	free(d);
}

static int
dl_load_lock(const struct store_lock *l, void *arg)
{
	struct dl_entry *e = dl_get(arg, l->kind == STORE_LOCK_USER, l->name);

	e->locked = 1;
	e->until = l->until;
	snprintf(e->lock_reason, sizeof(e->lock_reason), "%s", l->reason);
	return 0;
}

static int
dl_load_device(const struct store_device *dev, void *arg)
{
	struct dl_entry *e;

	if (dev->revoked_at == 0)
		return 0;
	e = dl_get(arg, 0, dev->id);
	e->revoked = 1;
	snprintf(e->revoke_reason, sizeof(e->revoke_reason), "%s",
	    dev->revoke_reason);
	return 0;
}

/* Adds serial (lock held); expired entries in its chain go on the way. */
static void
dl_session_add(struct denylist *d, const char *serial, time_t until,
    time_t now)
{
	struct dl_session **pp = &d->sessions[dl_hash(serial)], *s;

	while ((s = *pp) != NULL) {
		if (strcmp(s->serial, serial) == 0) {
			s->until = until;
			return;
		}
		if (s->until <= now) {
			*pp = s->next;
			free(s);
			continue;
		}
		pp = &s->next;
	}
	s = xcalloc(1, sizeof(*s));
	snprintf(s->serial, sizeof(s->serial), "%s", serial);
	s->until = until;
	*pp = s;
}

static int
dl_load_session(const struct store_session *ss, void *arg)
{
	dl_session_add(arg, ss->serial, ss->expires_at, time(NULL));
	return 0;
}

int
denylist_load(struct denylist *d, struct store *st, char *err, size_t errlen)
{
	int rc;

	pthread_rwlock_wrlock(&d->lock);
	atomic_fetch_add(&d->generation, 1);
	dl_clear(d);
	rc = store_lock_list(st, dl_load_lock, d, err, errlen);
	if (rc == 0)
		rc = store_device_list(st, dl_load_device, d, err, errlen);
	if (rc == 0)
		rc = store_session_ended_list(st, time(NULL), dl_load_session,
		    d, err, errlen);
	pthread_rwlock_unlock(&d->lock);
	return rc;
}

/* A lock that has run out is no lock; reason copied if it holds. */
static int
dl_locked(const struct dl_entry *e, time_t now, char *reason, size_t len)
{
	if (!e->locked || (e->until != 0 && e->until <= now))
		return 0;
	if (reason)
		snprintf(reason, len, "locked: %s", e->lock_reason);
	return 1;
}

int
denylist_locked(struct denylist *d, int is_user, const char *name, time_t now)
{
	const struct dl_entry *e;
	int rc = 0;

	pthread_rwlock_rdlock(&d->lock);
	if ((e = dl_find(d, is_user, name)) != NULL)
		rc = dl_locked(e, now, NULL, 0);
	pthread_rwlock_unlock(&d->lock);
	return rc;
}

int
denylist_user(struct denylist *d, const char *user, time_t now, char *reason,
    size_t len)
{
	const struct dl_entry *e;
	int rc = 0;

	pthread_rwlock_rdlock(&d->lock);
	if ((e = dl_find(d, 1, user)) != NULL)
		rc = dl_locked(e, now, reason, len);
	pthread_rwlock_unlock(&d->lock);
	return rc;
}

int
denylist_device(struct denylist *d, const char *device_id, time_t now,
    char *reason, size_t len)
{
	const struct dl_entry *e;
	int rc = 0;

	pthread_rwlock_rdlock(&d->lock);
	if ((e = dl_find(d, 0, device_id)) != NULL) {
		if (e->revoked) {
			if (reason)
				snprintf(reason, len, "revoked: %s",
				    e->revoke_reason);
			rc = 1;
		} else
			rc = dl_locked(e, now, reason, len);
	}
	pthread_rwlock_unlock(&d->lock);
	return rc;
}

void
denylist_lock(struct denylist *d, int is_user, const char *name,
    time_t until, const char *reason)
{
	struct dl_entry *e;

	pthread_rwlock_wrlock(&d->lock);
	atomic_fetch_add(&d->generation, 1);
	e = dl_get(d, is_user, name);
	e->locked = 1;
	e->until = until;
	snprintf(e->lock_reason, sizeof(e->lock_reason), "%s", reason);
	pthread_rwlock_unlock(&d->lock);
	if (d->mirror)
		d->mirror(d->mirror_arg, state_op_lock(is_user, name, until,
		    reason));
}

void
denylist_unlock(struct denylist *d, int is_user, const char *name)
{
	struct dl_entry *e;

	pthread_rwlock_wrlock(&d->lock);
	atomic_fetch_add(&d->generation, 1);
	if ((e = dl_find(d, is_user, name)) != NULL)
		e->locked = 0;
	pthread_rwlock_unlock(&d->lock);
	if (d->mirror)
		d->mirror(d->mirror_arg, state_op_unlock(is_user, name));
}

void
denylist_revoke(struct denylist *d, const char *device_id, const char *reason)
{
	struct dl_entry *e;

	pthread_rwlock_wrlock(&d->lock);
	atomic_fetch_add(&d->generation, 1);
	e = dl_get(d, 0, device_id);
	if (!e->revoked) {
		e->revoked = 1;
		snprintf(e->revoke_reason, sizeof(e->revoke_reason), "%s",
		    reason);
	}
	pthread_rwlock_unlock(&d->lock);
	if (d->mirror)
		d->mirror(d->mirror_arg, state_op_revoke(device_id, reason));
}

void
denylist_session_end(struct denylist *d, const char *serial, time_t until)
{
	pthread_rwlock_wrlock(&d->lock);
	atomic_fetch_add(&d->generation, 1);
	dl_session_add(d, serial, until, time(NULL));
	pthread_rwlock_unlock(&d->lock);
	if (d->mirror)
		d->mirror(d->mirror_arg, state_op_session_end(serial, until));
}

int
denylist_session_ended(struct denylist *d, const char *serial, time_t now)
{
	const struct dl_session *s;
	int rc = 0;

	pthread_rwlock_rdlock(&d->lock);
	for (s = d->sessions[dl_hash(serial)]; s != NULL; s = s->next)
		if (strcmp(s->serial, serial) == 0) {
			rc = s->until > now;
			break;
		}
	pthread_rwlock_unlock(&d->lock);
	return rc;
}

void
denylist_set_mirror(struct denylist *d, state_mirror_fn fn, void *arg)
{
	d->mirror = fn;
	d->mirror_arg = arg;
}

/* Every entry as the operations that make it (for a new mirror). */
void
denylist_dump(struct denylist *d, state_mirror_fn fn, void *arg)
{
	time_t now = time(NULL);

	pthread_rwlock_rdlock(&d->lock);
	for (int u = 0; u < 2; u++)
		for (int i = 0; i < DL_BUCKETS; i++)
			for (struct dl_entry *e = dl_table(d, u)[i]; e;
			    e = e->next) {
				if (e->locked)
					fn(arg, state_op_lock(u, e->name,
					    e->until, e->lock_reason));
				if (e->revoked)
					fn(arg, state_op_revoke(e->name,
					    e->revoke_reason));
			}
	for (int i = 0; i < DL_BUCKETS; i++)
		for (struct dl_session *x = d->sessions[i]; x; x = x->next)
			if (x->until > now)
				fn(arg, state_op_session_end(x->serial,
				    x->until));
	pthread_rwlock_unlock(&d->lock);
}

unsigned long
denylist_generation(struct denylist *d)
{
	return atomic_load(&d->generation);
}
