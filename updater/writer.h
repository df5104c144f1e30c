/*
 * writer - group commit of host updates on a dedicated thread.
 *
 * The loop thread submits jobs (one per HTTP request: its hosts and their
 * new addresses) and keeps serving.  The writer thread takes everything
 * queued as one batch (after waiting at most 1 ms for the clients it has
 * just answered to send their next requests), applies it in ONE write
 * transaction and commits it with a sync, so concurrent updates share one
 * fsync; the store
 * bumps each changed zone's serial once per commit.  Results go back to
 * the loop through a uv_async_t and the done callback runs there, once per
 * job, after the commit returned: a job whose rc is 0 is durable.
 *
 * Failure handling: a full map aborts the batch, grows the map (which
 * waits for the loop's read txn to be reset: it always is between
 * requests) and redoes it.  A job whose update fails otherwise is taken out
 * of the batch with that error and the rest redone, so one bad request
 * never fails the others.  A failed commit fails the whole batch.
 *
 * Ownership: a submitted job belongs to the writer until the done callback
 * hands it back.
 */
#ifndef KYEDNS_WRITER_H
#define KYEDNS_WRITER_H

#include <stdint.h>

#include <uv.h>

#include "addr.h"
#include "dname.h"
#include "log.h"
#include "store.h"

typedef struct wr_item {
	dname_t name;
	addr_t v4, v6;      /* family 0: leave that family alone */
	int rc;             /* out: 0, or -ENOENT / ERR_NOZONE when the host or its
			       zone vanished (answered nohost) */
	int changed;        /* out: 1 if the store differed */
} wr_item_t;

typedef struct wr_job {
	struct wr_job *next;
	wr_item_t *items;
	unsigned n;
	addr_t client;      /* recorded as the host's last client */
	uint64_t now;       /* unix seconds */
	size_t agent_len;
	char agent[256];
	void *data;         /* the submitter's */
	/* out, valid in the done callback */
	int rc;             /* 0 = committed and synced; else the error (reply 911) */
	unsigned batch;     /* jobs in the commit (set on the batch's first job, else 0) */
	unsigned grows;     /* map growths during the batch (first job only) */
	uint64_t commit_ns; /* wall time of the batch's txn (first job only) */
} wr_job_t;

typedef struct writer writer_t;
typedef void (*writer_done_cb)(wr_job_t *job, void *arg);

/* Starts the thread.  cb runs on loop's thread; the thread logs its errors
 * to log (borrowed: it must outlive the writer).  Returns 0, or a negative
 * errno. */
int writer_start(writer_t **out, uv_loop_t *loop, store_t *store, log_t *log, writer_done_cb cb,
		 void *arg);

/* Queues job (thread-safe, never blocks on the store). */
void writer_submit(writer_t *w, wr_job_t *job);

/* Finishes the queued jobs (their callbacks run from here), joins the
 * thread, closes the async handle and frees w.  Loop thread only. */
void writer_stop(writer_t *w);

#endif
