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

/* Adds name to job's purge list (best effort: without memory the name is
 * left out; its cache entry then expires on its own). */
static void add_purge(wr_job_t *j, const dname_t *name)
{
	for (unsigned i = 0; i < j->npurge; i++)
		if (dname_equal(&j->purge[i], name))
			return;
	if (j->npurge == j->purge_cap) {
		unsigned cap = j->purge_cap ? 2 * j->purge_cap : 8;
		dname_t *p = realloc(j->purge, cap * sizeof(*p));
		if (!p)
			return;
		j->purge = p;
		j->purge_cap = cap;
	}
	j->purge[j->npurge++] = *name;
}

static int add_follower(const dname_t *follower, void *arg)
{
	add_purge(arg, follower);
	return 0;
}

/* The host's addresses as DNS has them, or as kept while it is offline. */
static int cur_addrs(store_txn_t *txn, const dname_t *name, addr_t *v4, addr_t *v6)
{
	int rc = store_host_addrs(txn, name, v4, v6);
	if (rc || v4->family || v6->family)
		return rc;
	store_hostopt_t o;
	if (store_hostopt_get(txn, name, &o) == 0 && (o.flags & STORE_HOST_OFFLINE)) {
		*v4 = o.saved4;
		*v6 = o.saved6;
	}
	return 0;
}

static int history(store_txn_t *txn, const wr_job_t *j, const dname_t *name, int result,
		   const addr_t *o4, const addr_t *n4, const addr_t *o6, const addr_t *n6)
{
	static const addr_t none;
	if (!j->hist_keep)
		return 0;
	store_hist_t e = {
		.time = j->now,
		.old4 = o4 ? *o4 : none,
		.new4 = n4 ? *n4 : none,
		.old6 = o6 ? *o6 : none,
		.new6 = n6 ? *n6 : none,
		.client = j->client,
		.result = (uint8_t)result,
		.agent = j->agent,
		.agent_len = (uint8_t)(j->agent_len > 255 ? 255 : j->agent_len),
	};
	return store_history_add(txn, name, &e, j->hist_keep);
}

/* One dyndns2 update: wildcard, prefix, addresses, offline.  Returns 0,
 * the refusal of this item alone (in it->rc as well), or a hard error. */
static int apply_update(store_txn_t *txn, wr_job_t *j, wr_item_t *it)
{
	int rc, c = 0;
	if (it->wildcard >= 0) {
		rc = store_host_set_wildcard(txn, &it->name, it->wildcard, &c);
		if (rc == ERR_CLASH)
			return it->rc = rc;
		if (rc)
			return rc;
		if (c) {
			it->changed = 1;
			rc = history(txn, j, &it->name,
				     it->wildcard ? STORE_HIST_WILDCARD_ON : STORE_HIST_WILDCARD_OFF,
				     NULL, NULL, NULL, NULL);
			if (rc)
				return rc;
		}
	}
	if (it->prefix_len) {
		store_hostopt_t before;
		unsigned n = 0;
		if ((rc = store_hostopt_get(txn, &it->name, &before)) ||
		    (rc = store_host_prefix_update(txn, &it->name, &it->prefix, it->prefix_len,
						   &j->client, j->agent, j->agent_len, j->now,
						   j->hist_keep, &n)))
			return rc;
		if (n && (rc = store_follower_walk(txn, &it->name, add_follower, j)))
			return rc;
		int moved = before.prefix.family != 6 || before.prefix_len != it->prefix_len ||
			    !addr_equal(&before.prefix, &it->prefix);
		if (moved || n) {
			it->changed = 1;
			rc = history(txn, j, &it->name, STORE_HIST_PREFIX, NULL, NULL,
				     before.prefix.family ? &before.prefix : NULL, &it->prefix);
			if (rc)
				return rc;
		}
	}
	if (it->v4.family || it->v6.family) {
		/* the history entry goes into the same write of the host value
		 * as the update itself (no second lookup and rewrite) */
		rc = store_host_update_hist(txn, &it->name, it->v4.family ? &it->v4 : NULL,
					    it->v6.family ? &it->v6 : NULL, &j->client, j->agent,
					    j->agent_len, j->now, j->hist_keep, &c, NULL, NULL);
		if (rc)
			return rc;
		if (c)
			it->changed = 1;
	}
	if (it->offline >= 0) {
		addr_t o4 = {0}, o6 = {0};
		if (j->hist_keep && (rc = cur_addrs(txn, &it->name, &o4, &o6)))
			return rc;
		rc = store_host_set_offline(txn, &it->name, it->offline, j->now, &c);
		if (rc)
			return rc;
		if (c) {
			it->changed = 1;
			/* offline: the addresses leave DNS; online: they return */
			rc = it->offline ? history(txn, j, &it->name, STORE_HIST_OFFLINE, &o4, NULL,
						   &o6, NULL)
					 : history(txn, j, &it->name, STORE_HIST_ONLINE, NULL, &o4,
						   NULL, &o6);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int count_value(const dname_t *host, const store_acme_t *a, void *arg)
{
	(void)host;
	(void)a;
	++*(unsigned *)arg;
	return 0;
}

typedef struct oldest {
	char value[STORE_ACME_VALUE_MAX];
	uint8_t len;
	uint64_t expires;
} oldest_t;

static int find_oldest(const dname_t *host, const store_acme_t *a, void *arg)
{
	oldest_t *o = arg;
	(void)host;
	if (!o->len || a->expires < o->expires) {
		memcpy(o->value, a->value, a->len);
		o->len = a->len;
		o->expires = a->expires;
	}
	return 0;
}

static int apply_acme(store_txn_t *txn, wr_job_t *j, wr_item_t *it)
{
	int rc, c = 0;
	if (it->op == WR_ACME_SET) {
		rc = store_acme_set(txn, &it->name, it->value, it->value_len, j->acme_expires,
				    j->acme_ttl, j->now, &c);
		if (rc == ERR_TOOBIG && it->roll) {
			oldest_t o = {0};
			if ((rc = store_acme_walk(txn, &it->name, find_oldest, &o)) ||
			    (rc = store_acme_del(txn, &it->name, o.value, o.len)))
				return rc;
			rc = store_acme_set(txn, &it->name, it->value, it->value_len,
					    j->acme_expires, j->acme_ttl, j->now, &c);
		}
		if (rc == ERR_TOOBIG || rc == ERR_BADTXT || rc == ERR_CLASH || rc == -EINVAL)
			return it->rc = rc;
		/* A refresh moves only the expiry: a success all the same. */
		it->changed = 1;
	} else {
		unsigned n = 0;
		if (!it->value_len && (rc = store_acme_walk(txn, &it->name, count_value, &n)))
			return rc;
		rc = store_acme_del(txn, &it->name, it->value_len ? it->value : NULL,
				    it->value_len);
		if (rc == -ENOENT || (rc == 0 && !it->value_len && n == 0)) {
			/* That value was not there: nothing to do.  (A missing
			 * host is ENOENT as well; the loop checked it exists, and
			 * a host deleted since then has nothing to clean up.) */
			it->changed = 0;
			return 0;
		}
		c = 1;
		it->changed = rc == 0;
	}
	if (rc)
		return rc;
	if (c) {
		/* The value is not an address: the entry says what and when. */
		rc = history(txn, j, &it->name,
			     it->op == WR_ACME_SET ? STORE_HIST_TXT_SET : STORE_HIST_TXT_CLEAR, NULL,
			     NULL, NULL, NULL);
	}
	return rc;
}

static int add_expired(const dname_t *host, const store_acme_t *a, void *arg)
{
	wr_job_t *j = arg;
	if (a->expires <= j->now)
		add_purge(j, host);
	return 0;
}

static int apply_gc(store_txn_t *txn, wr_job_t *j, wr_item_t *it)
{
	unsigned removed = 0;
	int rc = store_acme_walk(txn, NULL, add_expired, j);
	if (rc == 0)
		rc = store_acme_gc(txn, j->now, &removed);
	it->changed = removed > 0;
	return rc;
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
		j->npurge = 0;
		for (unsigned i = 0; i < j->n; i++) {
			wr_item_t *it = &j->items[i];
			it->rc = 0;
			it->changed = 0;
			switch (it->op) {
			case WR_UPDATE: rc = apply_update(txn, j, it); break;
			case WR_ACME_GC: rc = apply_gc(txn, j, it); break;
			default: rc = apply_acme(txn, j, it); break;
			}
			if (rc == -ENOENT || rc == ERR_NOZONE) {
				/* host (or its zone) deleted since the loop looked:
				 * nohost */
				it->rc = rc;
				it->changed = 0;
				continue;
			}
			if (rc && rc == it->rc)
				continue; /* this item's own refusal */
			if (rc) {
				it->rc = rc;
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
