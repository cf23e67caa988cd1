/*
 * The auth pool's threads and queue. Jobs are independent: each is run
 * once, in the order queued, and handed back to its worker.
 */
#include "gateway/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "gateway/net/conn.h"
#include "gateway/server.h"
#include "gateway/snapshot.h"

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	STAILQ_HEAD(, pool_job) queue;
	size_t nqueued;
	int stopping;
	int nthreads;
	pthread_t *threads;
};

static void
pool_run(struct pool_job *job)
{
	job->ctx.now = time(NULL);
	job->out.status = 500;
	job->fn(&job->ctx, &job->in, &job->out);
	if (job->out.json == NULL && job->out.raw == NULL)
		job_error(&job->out, 500, "internal", "the request could not "
		    "be handled");
}

static void *
pool_main(void *arg)
{
	struct pool *p = arg;
	struct pool_job *job;
	struct worker_msg m = { .type = WORKER_MSG_JOB_DONE };

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (STAILQ_EMPTY(&p->queue) && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if ((job = STAILQ_FIRST(&p->queue)) == NULL)
			break;	/* stopping, and nothing is left */
		STAILQ_REMOVE_HEAD(&p->queue, entry);
		p->nqueued--;
		pthread_mutex_unlock(&p->lock);
		if (job->task != NULL) {
			job->task(job->task_arg);
			free(job);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		pool_run(job);
		if (job->done != NULL) {
			job->done(job);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		m.job = job;
		m.conn = job->conn;
		worker_post_always(job->w, &m);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct pool *
pool_start(int nthreads)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	STAILQ_INIT(&p->queue);
	p->nthreads = nthreads > 0 ? nthreads : POOL_THREADS_DEFAULT;
	p->threads = xcalloc((size_t)p->nthreads, sizeof(*p->threads));
	for (int i = 0; i < p->nthreads; i++)
		if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0)
			fatalx("cannot start auth pool thread %d", i);
	return p;
}

void
pool_stop(struct pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

size_t
pool_queued(struct pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->nqueued;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int
pool_submit(struct pool *p, struct pool_job *job)
{
	pthread_mutex_lock(&p->lock);
	if (p->stopping || p->nqueued >= POOL_QUEUE_MAX) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	STAILQ_INSERT_TAIL(&p->queue, job, entry);
	p->nqueued++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int
pool_submit_task(struct pool *p, void (*task)(void *), void *arg)
{
	struct pool_job *job = xcalloc(1, sizeof(*job));

	job->task = task;
	job->task_arg = arg;
	if (pool_submit(p, job) == -1) {
		free(job);
		return -1;
	}
	return 0;
}

void
pool_job_free(struct pool_job *job)
{
	if (job == NULL)
		return;
	if (job->body)
		OPENSSL_cleanse(job->body, job->in.body_len);
	if (job->authorization)
		OPENSSL_cleanse(job->authorization, strlen(job->authorization));
	free(job->url);
	free(job->content_type);
	free(job->authorization);
	free(job->body);
	X509_free(job->peer_cert);
	json_decref(job->in.who);
	json_decref(job->out.json);
	free(job->out.raw);
	if (job->snap)
		snapshot_put(job->snap);
	free(job);
}
