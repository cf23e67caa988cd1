/*
 * The device cache: a hash map from device id to (managed, posture) behind
 * a read-write lock. Thousands of entries at most; reads on every CONNECT.
 */
#include "gateway/devcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/state_mirror.h"
#include "gateway/posture.h"
#include "gateway/monitor/store.h"

#define DC_BUCKETS	1024

struct dc_entry {
	struct dc_entry *next;
	char id[STORE_NAME_MAX];
	int managed;
	struct policy_posture posture;	/* received_at 0: none */
	unsigned long posture_gen;	/* reports stored so far */
};

struct devcache {
	pthread_rwlock_t lock;
	state_mirror_fn mirror;		/* told of every change (monitor) */
	void *mirror_arg;
	atomic_ulong generation;	/* one more at every change */
	struct dc_entry *bucket[DC_BUCKETS];
};

static unsigned
dc_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % DC_BUCKETS;
}

static struct dc_entry *
dc_find(struct devcache *d, const char *id)
{
	struct dc_entry *e = d->bucket[dc_hash(id)];

	while (e && strcmp(e->id, id) != 0)
		e = e->next;
	return e;
}

/* Caller holds the write lock. */
static struct dc_entry *
dc_get(struct devcache *d, const char *id)
{
	struct dc_entry *e = dc_find(d, id);
	unsigned h;

	if (e)
		return e;
	e = xcalloc(1, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	h = dc_hash(id);
	e->next = d->bucket[h];
	d->bucket[h] = e;
	return e;
}

struct devcache *
devcache_new(void)
{
	struct devcache *d = xcalloc(1, sizeof(*d));

	pthread_rwlock_init(&d->lock, NULL);
	atomic_init(&d->generation, 1);
	return d;
}

void
devcache_free(struct devcache *d)
{
	struct dc_entry *e, *next;

	if (d == NULL)
		return;
	for (int i = 0; i < DC_BUCKETS; i++)
		for (e = d->bucket[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	pthread_rwlock_destroy(&d->lock);
	free(d);
}

static int
dc_load_device(const struct store_device *dev, void *arg)
{
	devcache_set_managed(arg, dev->id, dev->is_managed);
	return 0;
}

/* The newest report of each known device, read after the device walk (a
 * list callback must not call the store). */
static void
dc_load_postures(struct devcache *d, struct store *st)
{
	struct policy_posture p;
	char *report, err[STORE_ERR_MAX];
	time_t at;

	for (int i = 0; i < DC_BUCKETS; i++)
		for (struct dc_entry *e = d->bucket[i]; e; e = e->next) {
			if (store_posture_get(st, e->id, &report, &at, err,
			    sizeof(err)) != 1)
				continue;
			if (posture_parse(report, strlen(report), &p, err,
			    sizeof(err)) == 0) {
				p.received_at = at;
				e->posture = p;
			} else
				log_warnx("device %s: stored posture report "
				    "skipped: %s", e->id, err);
			free(report);
		}
}

int
devcache_load(struct devcache *d, struct store *st, char *err, size_t errlen)
{
	if (store_device_list(st, dc_load_device, d, err, errlen) == -1)
		return -1;
	pthread_rwlock_wrlock(&d->lock);
	atomic_fetch_add(&d->generation, 1);
	dc_load_postures(d, st);
	pthread_rwlock_unlock(&d->lock);
	return 0;
}

void
devcache_set_managed(struct devcache *d, const char *device_id, int managed)
{
	pthread_rwlock_wrlock(&d->lock);
	atomic_fetch_add(&d->generation, 1);
	dc_get(d, device_id)->managed = managed;
	pthread_rwlock_unlock(&d->lock);
	if (d->mirror)
		d->mirror(d->mirror_arg, state_op_managed(device_id, managed));
}

void
devcache_set_posture(struct devcache *d, const char *device_id,
    const struct policy_posture *p)
{
	struct dc_entry *e;

	pthread_rwlock_wrlock(&d->lock);
	atomic_fetch_add(&d->generation, 1);
	e = dc_get(d, device_id);
	if (p->received_at >= e->posture.received_at) {
		e->posture = *p;
		e->posture_gen++;
	}
	pthread_rwlock_unlock(&d->lock);
	if (d->mirror)
		d->mirror(d->mirror_arg, state_op_posture(device_id, p));
}

unsigned long
devcache_posture_gen(struct devcache *d, const char *device_id)
{
	const struct dc_entry *e;
	unsigned long gen = 0;

	pthread_rwlock_rdlock(&d->lock);
	if ((e = dc_find(d, device_id)) != NULL)
		gen = e->posture_gen;
	pthread_rwlock_unlock(&d->lock);
	return gen;
}

int
devcache_get(struct devcache *d, const char *device_id, int *managed,
    struct policy_posture *posture)
{
	const struct dc_entry *e;
	int found = 0;

	memset(posture, 0, sizeof(*posture));
	*managed = 0;
	pthread_rwlock_rdlock(&d->lock);
	if ((e = dc_find(d, device_id)) != NULL) {
		*managed = e->managed;
		*posture = e->posture;
		found = 1;
	}
	pthread_rwlock_unlock(&d->lock);
	return found;
}

void
devcache_set_mirror(struct devcache *d, state_mirror_fn fn, void *arg)
{
	d->mirror = fn;
	d->mirror_arg = arg;
}

void
devcache_dump(struct devcache *d, state_mirror_fn fn, void *arg)
{
	pthread_rwlock_rdlock(&d->lock);
	for (int i = 0; i < DC_BUCKETS; i++)
		for (struct dc_entry *e = d->bucket[i]; e; e = e->next) {
			fn(arg, state_op_managed(e->id, e->managed));
			if (e->posture.received_at != 0)
				fn(arg, state_op_posture(e->id, &e->posture));
		}
	pthread_rwlock_unlock(&d->lock);
}

unsigned long
devcache_generation(struct devcache *d)
{
	return atomic_load(&d->generation);
}
