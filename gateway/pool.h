/*
 * The auth pool: a few threads that run request handlers which may block
 * (PAM, the state store, signing), so that no worker's loop ever waits.
 * A worker submits a job for a parked connection; a pool thread runs it
 * and posts it back to that worker's mailbox (WORKER_MSG_JOB_DONE).
 */
#ifndef MWG_GW_POOL_H
#define MWG_GW_POOL_H

#include <sys/queue.h>

#include "gateway/job.h"

struct conn;
struct worker;
struct gw_snapshot;
struct ipc;

#define POOL_THREADS_DEFAULT	4
#define POOL_QUEUE_MAX		256	/* jobs waiting; more get a 503 */

struct pool_job {
	STAILQ_ENTRY(pool_job) entry;
	job_fn fn;
	struct conn *conn;		/* parked until the job comes back */
	struct worker *w;
	struct gw_snapshot *snap;	/* referenced for the job's life */
	struct job_ctx ctx;
	struct job_in in;
	struct job_out out;
	/* storage behind in's pointers */
	char *url, *content_type, *authorization, *body;
	char cert_error[96];
	char source_ip[64];
	char www_auth[128];		/* out.www_authenticate's bytes */
	struct certs_identity ident;
	X509 *peer_cert;		/* a reference of its own */
	/* In the monitor: the answer goes back over the channel, not to a
	 * worker's mailbox (done is called on the pool thread). */
	void (*done)(struct pool_job *job);
	struct ipc *ipc;
	uint64_t ipc_id;
	/* A plain task instead of a request handler (fn NULL). */
	void (*task)(void *arg);
	void *task_arg;
};

struct pool;

struct pool *pool_start(int nthreads);
/* Runs what is queued, stops the threads and frees the pool. */
void pool_stop(struct pool *p);
/* Jobs waiting for a thread now (monitoring). */
size_t pool_queued(struct pool *p);
/* Queues job; -1 if the queue is full (the caller answers 503). */
int pool_submit(struct pool *p, struct pool_job *job);
/* Queues task(arg) on a pool thread; -1 if the queue is full. */
int pool_submit_task(struct pool *p, void (*task)(void *), void *arg);
/* Frees a job that came back (its answer already sent). */
void pool_job_free(struct pool_job *job);

#endif
