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
 * What an item does (enum wr_op): WR_UPDATE is a dyndns2 update of one host
 * -- its wildcard switch, a router's prefix (its followers' AAAA), its
 * addresses, its offline switch, in that order -- and WR_ACME_SET /
 * WR_ACME_DEL add and remove ACME DNS-01 values.  Every item that changed
 * something appends a history entry (job->hist_keep > 0) in the same
 * transaction, so the record of a change is exactly as durable as the
 * change and costs no extra sync.  A refusal that concerns one item only
 * (a wildcard clash, a full set of ACME values, a bad value) is that
 * item's rc; the batch goes on.  WR_ACME_GC (one item, no host) removes
 * every expired ACME value and lists the hosts it touched in purge.
 *
 * Ownership: a submitted job belongs to the writer until the done callback
 * hands it back.  job->purge is malloc'd by the writer; the receiver of
 * the done callback frees it.
 */
#ifndef KYEDNS_WRITER_H
#define KYEDNS_WRITER_H

#include <stdint.h>

#include <uv.h>

#include "addr.h"
#include "dname.h"
#include "log.h"
#include "store.h"

enum wr_op { WR_UPDATE, WR_ACME_SET, WR_ACME_DEL, WR_ACME_GC };

typedef struct wr_item {
	dname_t name;
	uint8_t op;         /* enum wr_op */
	int8_t offline;     /* WR_UPDATE: -1 keep, 0 back online, 1 offline */
	int8_t wildcard;    /* WR_UPDATE: -1 keep, 0 off, 1 on */
	uint8_t prefix_len; /* WR_UPDATE: 0 = no prefix update, else 1..64 */
	addr_t v4, v6;      /* WR_UPDATE; family 0: leave that family alone */
	addr_t prefix;      /* WR_UPDATE: the router's new prefix */
	uint8_t value_len;  /* WR_ACME_*: 0 with WR_ACME_DEL = every value */
	uint8_t roll;       /* WR_ACME_SET: when the host's values are full, the one
			       expiring first makes room (acme-dns keeps the newest) */
	char value[STORE_ACME_VALUE_MAX];
	int rc;             /* out: 0; -ENOENT / ERR_NOZONE when the host or its
			       zone vanished (answered nohost); or the refusal of
			       this item alone: ERR_CLASH, ERR_TOOBIG, ERR_BADTXT */
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
	unsigned hist_keep; /* history entries kept per host; 0 = no history */
	uint64_t acme_expires; /* WR_ACME_SET: expiry of the values */
	uint32_t acme_ttl;  /* WR_ACME_SET: TTL of the TXT RRset */
	void *data;         /* the submitter's */
	/* out, valid in the done callback */
	int rc;             /* 0 = committed and synced; else the error (reply 911) */
	unsigned batch;     /* jobs in the commit (set on the batch's first job, else 0) */
	unsigned grows;     /* map growths during the batch (first job only) */
	uint64_t commit_ns; /* wall time of the batch's txn (first job only) */
	dname_t *purge;     /* out: more names whose caches must go (a router's
			       followers, hosts whose expired values went); malloc'd */
	unsigned npurge, purge_cap;
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
