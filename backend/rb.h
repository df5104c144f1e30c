/*
 * rb - the PowerDNS remote-backend protocol, answered from the store.
 *
 * pdns (4.7, launch=remote, unix socket) writes one compact JSON object per
 * line, {"method":"lookup","parameters":{...}}, and waits for exactly one
 * JSON value in reply.  This module turns one request line into one reply
 * line: it parses with jansson, dispatches on the method, reads the store
 * inside one read transaction that is renewed for the request and reset
 * right after it (a snapshot is never kept between requests, so writers can
 * reuse pages), and writes the reply with a small compact JSON writer.
 * Every reply holds "result"; a failure is {"result":false,"log":[...]},
 * which pdns treats as "no data" and logs, never as a broken connection.
 *
 * The one write, setNotified, may block on the store's single writer lock
 * (the updater fsyncs while holding it), so it is not done here: rb_handle
 * returns RB_DEFER with an rb_work_t, the caller runs rb_work_run() on some
 * other thread and then rb_work_done() back on its own thread.
 *
 * Threading: an rb_t belongs to one thread (the event loop), except that
 * rb_work_run() may run concurrently on one other thread per work item; it
 * touches only the store and the work item.  No logging policy here beyond
 * the optional log callback, which the daemon points at stderr.
 */
#ifndef KYEDNS_RB_H
#define KYEDNS_RB_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define RB_VERSION "kyedns-backend 0.1.0"
#define RB_MAX_LINE (1u << 20) /* a request line longer than this is refused */
#define RB_DEFER 1             /* rb_handle: run rb_work_run() elsewhere */
#define RB_LOG_PER_SEC 10      /* log lines about bad requests per second */

/* A growable output buffer.  Zero-initialise; free with rb_buf_free(). */
typedef struct rb_buf {
	char *p;
	size_t len, cap;
	int oom; /* set when a growth failed; contents are then truncated */
} rb_buf_t;

void rb_buf_free(rb_buf_t *b);
/* Drops the first n bytes (already written out). */
void rb_buf_consume(rb_buf_t *b, size_t n);

/* The methods counted in the statistics. */
enum rb_method {
	RB_M_INITIALIZE,
	RB_M_LOOKUP,
	RB_M_GETALLDOMAINS,
	RB_M_GETDOMAININFO,
	RB_M_GETALLDOMAINMETADATA,
	RB_M_GETDOMAINMETADATA,
	RB_M_LIST,
	RB_M_GETUPDATEDMASTERS,
	RB_M_SETNOTIFIED,
	RB_M_DIRECTBACKENDCMD,
	RB_M_UNKNOWN,  /* well-formed, method we do not implement */
	RB_M_INVALID,  /* not JSON, not an object, no method */
	RB_M_COUNT
};

/* Latency histogram: log-linear buckets, 8 per power of two (<= 12.5%
 * error), from 1 ns to about 1100 s. */
#define RB_HIST_SUB 8
#define RB_HIST_BUCKETS (RB_HIST_SUB + 38 * RB_HIST_SUB)

/* Lookups through the fast path are timed one in RB_TIME_EVERY (a power of
 * two): two clock reads were 6% of a lookup's own cost, and a sample of a
 * steady stream gives the same percentiles.  Every other request is timed. */
#define RB_TIME_EVERY 16

typedef struct rb_method_stats {
	uint64_t count;  /* requests */
	uint64_t errors; /* replies with result false because something failed */
	uint64_t timed;  /* requests in hist (lookups are sampled) */
	uint64_t hist[RB_HIST_BUCKETS]; /* latency in ns */
} rb_method_stats_t;

typedef void (*rb_log_fn)(void *arg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

typedef struct rb {
	store_t *store;          /* not owned */
	store_txn_t *txn;        /* the reused read txn; NULL until first use */
	int txn_live;            /* txn holds a snapshot (within a request) */
	rb_log_fn log;           /* optional: one call per event worth a line */
	void *log_arg;
	uint64_t log_sec, log_count, log_dropped; /* rate limit of bad-input lines */
	uint64_t started;        /* unix seconds, for stats */
	uint64_t conns_open;     /* maintained by the server, shown in stats */
	uint64_t conns_total;
	uint64_t lines_too_long; /* maintained by the server */
	uint64_t ticks;          /* requests seen, for sampling the clock */
	rb_method_stats_t m[RB_M_COUNT];
} rb_t;

/* Work item of a deferred request (setNotified). */
typedef struct rb_work {
	uint32_t id, serial;   /* zone id, serial pdns notified */
	int rc;                /* result of rb_work_run() */
	uint64_t start_ns;     /* for the latency statistics */
} rb_work_t;

/* Initialises rb over an open store (borrowed; must outlive rb). */
void rb_init(rb_t *rb, store_t *store);

/* Ends the read txn.  The store stays open. */
void rb_free(rb_t *rb);

/*
 * Handles one request: line is len bytes without the trailing newline (it
 * need not be NUL-terminated and may hold any bytes).  Appends exactly one
 * JSON value plus "\n" to out and returns 0, or returns RB_DEFER and fills
 * *work without touching out.  Returns -ENOMEM when out could not grow (the
 * caller should drop the connection).
 */
int rb_handle(rb_t *rb, const char *line, size_t len, rb_buf_t *out, rb_work_t *work);

/* Runs a deferred request: one short write txn.  Thread-safe with respect
 * to the loop thread (uses only rb->store). */
void rb_work_run(rb_t *rb, rb_work_t *work);

/* Appends the reply of a finished work item to out; counts it.  Returns 0
 * or -ENOMEM. */
int rb_work_done(rb_t *rb, rb_work_t *work, rb_buf_t *out);

/* Appends the reply sent before closing a connection whose request line
 * exceeded RB_MAX_LINE. */
int rb_reply_too_long(rb_t *rb, rb_buf_t *out);

/* Writes the statistics text (what directBackendCmd "stats" returns) into
 * out, NUL-terminated (out->len excludes the NUL). */
int rb_stats_text(rb_t *rb, rb_buf_t *out);

/* Monotonic clock in ns (the one the statistics use). */
uint64_t rb_now_ns(void);

#endif
