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
 * Writes may block on the store's single writer lock (the updater fsyncs
 * while holding it), so they are not done here: rb_handle returns RB_DEFER
 * with an rb_work_t, the caller runs rb_work_run() on some other thread and
 * then rb_work_done() back on its own thread.  Deferred: setNotified,
 * setFresh, setStale, setDomainMetadata, setTSIGKey, deleteTSIGKey,
 * createSlaveDomain, commitTransaction, addDomainKey, removeDomainKey and
 * (de)activate/(un)publishDomainKey.
 *
 * Transactions (startTransaction ... commitTransaction) belong to one
 * connection (rb_conn_t): pdns's trxid is the unix time and repeats across
 * connections.  Their writes are buffered in memory (txn.h) and validated
 * when they arrive; reads on that connection see them; commit applies them
 * in one LMDB write txn on the worker thread, with grow-and-redo when the
 * map is full.  Closing the connection aborts it (rb_conn_close); a
 * transaction idle for rb->txn_timeout seconds is dropped (rb_conn_tick).
 * A startTransaction while one is open on the connection is refused (pdns
 * never nests; the client must commit or abort first).  An abort of an
 * unknown transaction is accepted (pdns sends it on a fresh connection
 * after a failure); a commit of one is refused, since its writes are lost.
 * A refused write (bad content, CNAME beside other data, a dyndns host's
 * A/AAAA, out of zone...) also fails its transaction: pdns ignores most
 * failed writes and commits anyway, and a transaction commits whole or not
 * at all.  The one exception: in a whole-zone replace (load-zone, AXFR-in)
 * A/AAAA fed at a host's name are skipped with a log entry, as an exported
 * zone carries the hosts' addresses.  Content pdns sends is stored in the
 * form pdns prints (rdata_normalize), as load-zone passes zone file text.
 *
 * Reads: lookup honours pdns's zone-id (-1: the closest zone; a DS at a
 * zone apex then comes from the parent, where it lives) and list returns
 * one zone.  Rows carry "auth":0 for what a delegation of their zone hides
 * (names below a cut, and at the cut all but the DS), as pdns's bind
 * backend computes it; pdns reads the flag with remote-dnssec=yes.
 *
 * DNSSEC (rbsec.c): pdns signs at query time with keys kept in the store
 * (getDomainKeys; addDomainKey and the key switches are deferred writes;
 * key content is never logged) and asks getBeforeAndAfterNamesAbsolute for
 * the NSEC or NSEC3 neighbours of a name.  The mode is the zone's
 * NSEC3PARAM metadata; NSEC order comes from the store
 * (store_nsec_neighbours), the NSEC3 hash chain from a per-zone cache in
 * rb_t, rebuilt when the zone's serial or parameters change and its names
 * did.  Rectify writes nothing through this protocol: auth, ENTs and the
 * order are all derived from the records.
 *
 * Threading: an rb_t belongs to one thread (the event loop), except that
 * rb_work_run() may run concurrently on one other thread per work item; it
 * touches only the store and the work item.  No logging policy here beyond
 * the optional log callbacks, which the daemon points at its log.
 *
 * Statistics: directBackendCmd "stats" answers a human-readable text
 * (counts, p50/p99 latencies of the service's processes, stats.h) and "metrics" the Prometheus
 * text format (counters, histograms in seconds), which
 * `pdnsutil backend-cmd remote metrics` prints unchanged.
 */
#ifndef KYEDNS_RB_H
#define KYEDNS_RB_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "version.h"

#define RB_VERSION "kyedns-backend " KYEDNS_VERSION
#define RB_MAX_LINE (1u << 20) /* a request line longer than this is refused */
#define RB_DEFER 1             /* rb_handle: run rb_work_run() elsewhere */
#define RB_LOG_PER_SEC 10      /* log lines about bad requests per second */
#define RB_SCRATCH (STORE_MAX_CONTENT + 1)

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
	RB_M_GETUNFRESHSLAVEINFOS,
	RB_M_SETFRESH,
	RB_M_SETSTALE,
	RB_M_SETDOMAINMETADATA,
	RB_M_GETTSIGKEY,
	RB_M_GETTSIGKEYS,
	RB_M_SETTSIGKEY,
	RB_M_DELETETSIGKEY,
	RB_M_SEARCHRECORDS,
	RB_M_SUPERMASTERBACKEND,
	RB_M_CREATESLAVEDOMAIN,
	RB_M_GETDOMAINKEYS,
	RB_M_STARTTRANSACTION,
	RB_M_COMMITTRANSACTION,
	RB_M_ABORTTRANSACTION,
	RB_M_REPLACERRSET,
	RB_M_FEEDRECORD,
	RB_M_FEEDENTS,
	RB_M_FEEDENTS3,
	RB_M_ADDDOMAINKEY,
	RB_M_REMOVEDOMAINKEY,
	RB_M_ACTIVATEDOMAINKEY,
	RB_M_DEACTIVATEDOMAINKEY,
	RB_M_PUBLISHDOMAINKEY,
	RB_M_UNPUBLISHDOMAINKEY,
	RB_M_GETBEFOREANDAFTERNAMESABSOLUTE,
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

/* The Prometheus histogram's upper bounds (le), in ns and as printed in
 * seconds; RB_LE_COUNT of them, then +Inf.  Counted beside hist (which
 * gives the percentiles of the human "stats" text) so that each bucket is
 * exact rather than interpolated from the log-linear one. */
#define RB_LE_COUNT 18

typedef struct rb_method_stats {
	uint64_t count;  /* requests */
	uint64_t errors; /* replies with result false because something failed */
	uint64_t timed;  /* requests in hist (lookups are sampled) */
	uint64_t sum_ns; /* total latency of the timed requests */
	uint64_t le[RB_LE_COUNT + 1]; /* timed requests per fixed bucket (not
					 cumulative; the last one is +Inf) */
	uint64_t hist[RB_HIST_BUCKETS]; /* latency in ns */
} rb_method_stats_t;

/*
 * Everything the statistics report.  A process counts into one rb_stats_t,
 * written by it alone: its own (rb_t.own), or its slot of the stats file
 * that every process of the service maps (stats.h), so that stats and
 * metrics report the service, not one process.  Counters only grow; the
 * gauges (conns_open, txns_open) describe the process now.
 */
typedef struct rb_stats {
	uint64_t started;        /* unix seconds the process started */
	uint64_t conns_open;     /* maintained by the server */
	uint64_t conns_total;
	uint64_t lines_too_long; /* maintained by the server */
	uint64_t conns_refused;  /* the server's limits (server.h), for the */
	uint64_t conns_idle_closed;   /* statistics and its log lines */
	uint64_t conns_buffer_closed;
	uint64_t txns_open;      /* transactions open now */
	uint64_t n3_builds;      /* NSEC3 chains built */
	uint64_t n3_reuses;      /* new serial, same names: chain kept */
	uint64_t n3_build_ns;    /* time spent building and checking them */
	rb_method_stats_t m[RB_M_COUNT];
} rb_stats_t;

/* NSEC3 hash chains kept (one per zone, the least recently used goes). */
#define RB_N3_CACHE 16

typedef struct rb_n3chain rb_n3chain_t; /* rbsec.c */

typedef void (*rb_log_fn)(void *arg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same with a syslog priority: LOG_ERR for our own failures (the store
 * could not be written), LOG_WARNING for a peer's request we refused. */
typedef void (*rb_logp_fn)(void *arg, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

typedef struct rb {
	store_t *store;          /* not owned */
	store_txn_t *txn;        /* the reused read txn; NULL until first use */
	int txn_live;            /* txn holds a snapshot (within a request) */
	rb_log_fn log;           /* optional: one call per event worth a line
				    (a refused request: a warning) */
	rb_logp_fn logp;         /* optional, preferred over log: with priority */
	void *log_arg;           /* passed to either */
	uint64_t log_sec, log_count, log_dropped; /* rate limit of bad-input lines */
	uint64_t ticks;          /* requests seen, for sampling the clock */
	unsigned txn_timeout;    /* seconds a transaction may stay idle */
	size_t txn_max_bytes;    /* buffered bytes per transaction */
	unsigned notify_min_interval; /* seconds between two NOTIFY rounds of
				    a master zone (getUpdatedMasters); 0: none */
	char *scratch;           /* RB_SCRATCH bytes for normalizing content;
				    NULL until first use */
	rb_n3chain_t *n3[RB_N3_CACHE]; /* NSEC3 chains by (zone, serial, params) */
	rb_stats_t *st;          /* the counters: &own, or a slot shared with
				    the service's other processes (stats.h) */
	rb_stats_t own;
	struct rbstats *shared; /* NULL: stats report this process only */
} rb_t;

struct txn;

/* The per-connection state: the open transaction, if any.  Zero-initialise;
 * end with rb_conn_close(). */
typedef struct rb_conn {
	struct txn *tx;        /* owned; NULL when none is open */
} rb_conn_t;

/* Work item of a deferred request (a write). */
typedef struct rb_work {
	int method;            /* enum rb_method */
	uint32_t id, serial;   /* zone id, serial pdns notified (setNotified);
				  addDomainKey: the new key's id */
	void *params;          /* owned json_t: the request's parameters */
	struct txn *tx;        /* commitTransaction: owned, taken from the conn */
	int rc;                /* result of rb_work_run() */
	char err[384];         /* why it failed, when rc < 0 */
	uint64_t start_ns;     /* for the latency statistics */
} rb_work_t;

/* Initialises rb over an open store (borrowed; must outlive rb). */
void rb_init(rb_t *rb, store_t *store);

/* Ends the read txn.  The store stays open. */
void rb_free(rb_t *rb);

/*
 * Handles one request of connection conn: line is len bytes without the
 * trailing newline (it need not be NUL-terminated and may hold any bytes).
 * Appends exactly one JSON value plus "\n" to out and returns 0, or returns
 * RB_DEFER and fills *work without touching out; the caller must then run
 * rb_work_run() and rb_work_done() before the next request of conn.
 * Returns -ENOMEM when out could not grow (the caller should drop the
 * connection).
 */
int rb_handle(rb_t *rb, rb_conn_t *conn, const char *line, size_t len, rb_buf_t *out,
	      rb_work_t *work);

/* Runs a deferred request: one short write txn (grown and redone when the
 * map is full).  Thread-safe with respect to the loop thread (uses only
 * rb->store, rb's read-only settings and the work item). */
void rb_work_run(rb_t *rb, rb_work_t *work);

/* Appends the reply of a finished work item to out, counts it and frees
 * what it owns.  Returns 0 or -ENOMEM. */
int rb_work_done(rb_t *rb, rb_work_t *work, rb_buf_t *out);

/* Aborts conn's open transaction (the connection closed).  Not while a
 * request of conn is deferred. */
void rb_conn_close(rb_t *rb, rb_conn_t *conn);

/* Drops conn's transaction when idle longer than rb->txn_timeout; now is
 * rb_now_ns() / 1e9.  Not while a request of conn is deferred. */
void rb_conn_tick(rb_t *rb, rb_conn_t *conn, uint64_t now);

/* Appends the reply sent before closing a connection whose request line
 * exceeded RB_MAX_LINE. */
int rb_reply_too_long(rb_t *rb, rb_buf_t *out);

/* Writes the statistics text (what directBackendCmd "stats" returns) into
 * out, NUL-terminated (out->len excludes the NUL). */
int rb_stats_text(rb_t *rb, rb_buf_t *out);

/*
 * Writes the statistics in the Prometheus text exposition format (what
 * directBackendCmd "metrics" returns) into out, NUL-terminated: every
 * family with HELP and TYPE, every method present (zeros included),
 * durations in seconds, ending in a newline.  0 or -ENOMEM.
 */
int rb_metrics_text(rb_t *rb, rb_buf_t *out);

/* Monotonic clock in ns (the one the statistics use). */
uint64_t rb_now_ns(void);

#endif
