/*
 * metrics - the updater's counters and histograms, rendered in the
 * Prometheus text exposition format (version 0.0.4) for GET /metrics.
 *
 * Plain integers updated on the loop thread only (the writer thread's
 * timings reach the loop with its results), so no atomics are needed.
 */
#ifndef KYEDNS_METRICS_H
#define KYEDNS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "dd.h"

enum metrics_endpoint {
	EP_UPDATE,
	EP_IP,
	EP_CHECKIP,
	EP_HEALTH,
	EP_METRICS,
	EP_ACME, /* lego httpreq and acme-dns */
	EP_OTHER,
	EP_COUNT
};

#define METRICS_NSTATUS 16
#define METRICS_NLAT 12   /* commit latency buckets, +Inf included */
#define METRICS_NBATCH 12 /* batch size buckets, +Inf included */

typedef struct metrics {
	uint64_t requests[EP_COUNT][METRICS_NSTATUS]; /* by endpoint and HTTP status */
	uint64_t results[DD_NCODES];                  /* dyndns2 result lines */
	uint64_t commit_lat[METRICS_NLAT];            /* cumulative at render time */
	double commit_sum;                            /* seconds */
	uint64_t commits;
	uint64_t batch[METRICS_NBATCH];
	uint64_t batch_sum;
	uint64_t commit_errors, store_grows;
	uint64_t purge_ok, purge_failed, purge_dropped;
	uint64_t conns_open, conns_total, conns_rejected, http_errors;
	uint64_t rate_limited, auth_blocked;
	uint64_t conns_per_client_rejected; /* over --max-conns-per-client */
	uint64_t conns_silent_timeout;      /* closed: no byte within the header timeout */
	uint64_t change_throttled;          /* host lines refused by the change throttle */
	uint64_t host_blocked;              /* host lines refused: the name's failure budget */
	uint64_t token_hashes;              /* token verifications (real or dummy) */
	uint64_t log_suppressed;            /* access lines not written (rate limited) */
	uint64_t writer_jobs;               /* gauge: update requests with the writer */
	uint64_t purge_backoffs;            /* pauses after failed purges */
} metrics_t;

void metrics_request(metrics_t *m, enum metrics_endpoint ep, int status);
void metrics_commit(metrics_t *m, unsigned batch_jobs, uint64_t commit_ns);

/* Renders all metrics into a malloc'ed NUL-terminated buffer; *len gets
 * its length.  NULL when out of memory. */
char *metrics_render(const metrics_t *m, size_t *len);

#endif
