#include "writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define WRITER_MAX_ATTEMPTS 8 /* map growths / resizes before giving up */
#define WRITER_GATHER_NS 1000000ull /* longest wait for a batch to fill */
#define WRITER_GATHER_STEP_NS 100000ull

struct writer {
	uv_loop_t *loop;
	store_t *store;
	log_t *log;
	writer_done_cb cb;
	void *arg;
	uv_thread_t thread;
	uv_mutex_t mu;
	uv_cond_t cond;
	uv_async_t async;     /* wakes the loop when done is non-empty */
	wr_job_t *queue, **queue_tail;
	unsigned queued;      /* jobs in queue */
	unsigned last_batch;  /* jobs in the previous batch */
	unsigned want;        /* wake the thread when queued reaches this; 0 = busy */
	wr_job_t *done, **done_tail;
	int stop;
};

static uint64_t now_ns(void)
{
	return uv_hrtime();
}

/* Applies every job still in the batch (rc == 0) to one write txn and
 * commits.  Returns 0, or the error that ended the attempt; *bad gets a job
 * to take out of the batch, if one caused it. */
static int attempt(writer_t *w, wr_job_t *batch, wr_job_t **bad)
{
	store_txn_t *txn;
	int rc = store_txn_begin(w->store, 1, &txn);
	if (rc)
		return rc;
	for (wr_job_t *j = batch; j; j = j->next) {
		if (j->rc)
			continue;
		for (unsigned i = 0; i < j->n; i++) {
			wr_item_t *it = &j->items[i];
			it->rc = store_host_update(txn, &it->name, it->v4.family ? &it->v4 : NULL,
						   it->v6.family ? &it->v6 : NULL, &j->client,
						   j->agent, j->agent_len, j->now, &it->changed);
			if (it->rc == -ENOENT || it->rc == ERR_NOZONE) {
				/* host (or its zone) deleted since the loop looked:
				 * nohost */
				it->changed = 0;
				continue;
			}
			if (it->rc) {
				rc = it->rc;
				store_txn_abort(txn);
				if (rc != ERR_MAPFULL) {
					char name[DNAME_MAX_TEXT];
					dname_to_text(&it->name, name, sizeof(name));
					log_printf(w->log, LOG_ERR, "cannot update %s (%s)", name, err_str(rc));
					*bad = j;
				}
				return rc;
			}
		}
	}
	return store_txn_commit(txn);
}

static void run_batch(writer_t *w, wr_job_t *batch)
{
	uint64_t t0 = now_ns();
	unsigned n = 0, grows = 0, tries = 0;
	for (wr_job_t *j = batch; j; j = j->next) {
		j->rc = 0;
		j->batch = 0;
		j->grows = 0;
		j->commit_ns = 0;
		n++;
	}
	for (;;) {
		wr_job_t *bad = NULL;
		int rc = attempt(w, batch, &bad);
		if (rc == 0)
			break;
		if (bad) {
			/* Only this request fails; redo the others. */
			bad->rc = rc;
			continue;
		}
		if ((rc == ERR_MAPFULL || rc == ERR_RESIZED) && ++tries < WRITER_MAX_ATTEMPTS) {
			if (rc == ERR_MAPFULL) {
				int g = store_grow(w->store);
				if (g) {
					log_printf(w->log, LOG_ERR, "cannot grow store %s (%s)",
						store_path(w->store), err_str(g));
					rc = g;
				} else {
					grows++;
					continue;
				}
			} else {
				continue;
			}
		}
		log_printf(w->log, LOG_ERR, "cannot commit %u updates to store %s (%s)", n,
			store_path(w->store), err_str(rc));
		for (wr_job_t *j = batch; j; j = j->next)
			if (!j->rc)
				j->rc = rc;
		break;
	}
	batch->batch = n;
	batch->grows = grows;
	batch->commit_ns = now_ns() - t0;
}

static void thread_main(void *arg)
{
	writer_t *w = arg;
	unsigned arrived = 0; /* jobs queued while the previous batch committed */
	uv_mutex_lock(&w->mu);
	for (;;) {
		w->want = 1;
		while (!w->queue && !w->stop)
			uv_cond_wait(&w->cond, &w->mu);
		if (!w->queue)
			break;
		/* Group commit.  The clients of the previous batch have just been
		 * answered and their next requests are on the way; the ones that
		 * arrived during that commit are already here.  Starting with
		 * whatever is queued would split the clients into two half-size
		 * batches that leapfrog each other, each paying a full sync.  So
		 * wait, briefly and bounded, for about all of them: stop at the
		 * target, after WRITER_GATHER_NS, or as soon as a step passes
		 * without an arrival (on a starved machine the stragglers may be
		 * far away, and a commit overlapping their round trip is better
		 * than an idle writer).  A lone client never waits (target 1). */
		unsigned target = arrived + w->last_batch;
		w->want = target;
		uint64_t waited = 0;
		while (!w->stop && w->queued < target && waited < WRITER_GATHER_NS) {
			unsigned before = w->queued;
			uv_cond_timedwait(&w->cond, &w->mu, WRITER_GATHER_STEP_NS);
			waited += WRITER_GATHER_STEP_NS;
			if (w->queued == before)
				break; /* arrivals stopped: waiting longer buys nothing */
		}
		w->want = 0;
		wr_job_t *batch = w->queue, **tail = w->queue_tail;
		w->last_batch = w->queued;
		w->queued = 0;
		w->queue = NULL;
		w->queue_tail = &w->queue;
		uv_mutex_unlock(&w->mu);

		run_batch(w, batch);

		uv_mutex_lock(&w->mu);
		*w->done_tail = batch;
		w->done_tail = tail;
		arrived = w->queued;
		uv_mutex_unlock(&w->mu);
		uv_async_send(&w->async);
		uv_mutex_lock(&w->mu);
	}
	uv_mutex_unlock(&w->mu);
}

static void deliver(writer_t *w)
{
	uv_mutex_lock(&w->mu);
	wr_job_t *j = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	uv_mutex_unlock(&w->mu);
	while (j) {
		wr_job_t *next = j->next;
		j->next = NULL;
		w->cb(j, w->arg);
		j = next;
	}
}

static void on_async_closed(uv_handle_t *h)
{
	free(h->data);
}

static void on_async(uv_async_t *a)
{
	deliver(a->data);
}

int writer_start(writer_t **out, uv_loop_t *loop, store_t *store, log_t *log, writer_done_cb cb,
		 void *arg)
{
	writer_t *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->loop = loop;
	w->store = store;
	w->log = log;
	w->cb = cb;
	w->arg = arg;
	w->queue_tail = &w->queue;
	w->done_tail = &w->done;
	int rc;
	if ((rc = uv_mutex_init(&w->mu))) {
		free(w);
		return rc;
	}
	if ((rc = uv_cond_init(&w->cond))) {
		uv_mutex_destroy(&w->mu);
		free(w);
		return rc;
	}
	if ((rc = uv_async_init(loop, &w->async, on_async))) {
		uv_cond_destroy(&w->cond);
		uv_mutex_destroy(&w->mu);
		free(w);
		return rc;
	}
	w->async.data = w;
	if ((rc = uv_thread_create(&w->thread, thread_main, w))) {
		/* The async handle is embedded: free w in its close callback. */
		uv_cond_destroy(&w->cond);
		uv_mutex_destroy(&w->mu);
		uv_close((uv_handle_t *)&w->async, on_async_closed);
		return rc;
	}
	*out = w;
	return 0;
}

void writer_submit(writer_t *w, wr_job_t *job)
{
	job->next = NULL;
	uv_mutex_lock(&w->mu);
	*w->queue_tail = job;
	w->queue_tail = &job->next;
	/* Signal only when the thread waits for exactly this: each wake-up
	 * is a context switch on a busy machine. */
	if (++w->queued == w->want)
		uv_cond_signal(&w->cond);
	uv_mutex_unlock(&w->mu);
}

void writer_stop(writer_t *w)
{
	if (!w)
		return;
	uv_mutex_lock(&w->mu);
	w->stop = 1;
	w->want = 0;
	uv_cond_signal(&w->cond);
	uv_mutex_unlock(&w->mu);
	uv_thread_join(&w->thread);
	deliver(w);
	uv_cond_destroy(&w->cond);
	uv_mutex_destroy(&w->mu);
	uv_close((uv_handle_t *)&w->async, on_async_closed);
}
