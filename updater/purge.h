/*
 * purge - asks pdns to drop a name from its caches after an update, via
 * its HTTP API: PUT /api/v1/servers/localhost/cache/flush?domain=NAME.
 * with X-API-Key.  Without this, pdns keeps serving the old address for up
 * to cache-ttl / query-cache-ttl seconds.
 *
 * A tiny HTTP/1.1 client on the updater's loop: one short connection per
 * purge, at most PURGE_MAX_INFLIGHT at once, the rest queued in a bounded
 * ring (a name already waiting is not queued again; overflow is dropped and
 * counted).  Responses are parsed with
 * llhttp.  Failures are counted in metrics and never delay or fail an
 * update reply.  A failure pauses all purges (pdns or its API is most
 * likely down), from PURGE_BACKOFF_MIN_MS doubling to PURGE_BACKOFF_MAX_MS
 * while failures go on; a name whose purge failed for a reason worth
 * retrying (no connection, timeout, 5xx) is queued again.  The log gets the
 * first failure, then one summary line per PURGE_LOG_MS, and one line when
 * purging works again.
 *
 * Threading: loop thread only.
 */
#ifndef KYEDNS_PURGE_H
#define KYEDNS_PURGE_H

#include <uv.h>

#include "dname.h"
#include "metrics.h"

#define PURGE_MAX_INFLIGHT 16
#define PURGE_QUEUE 4096
#define PURGE_TIMEOUT_MS 2000
#define PURGE_BACKOFF_MIN_MS 250    /* first pause after a failure */
#define PURGE_BACKOFF_MAX_MS 30000  /* the pause doubles up to this */
#define PURGE_LOG_MS 10000          /* at most one failure summary per this */

typedef struct purge purge_t;

/*
 * Parses url ("http://127.0.0.1:8081", "http://[::1]:8081/",
 * "http://localhost:8081"; names are resolved once, here) and prepares the
 * client.  key is the pdns api-key (copied).  Returns 0 and *out, or
 * -EINVAL for an unusable URL (only http:// is supported), -ENOMEM.
 */
int purge_new(purge_t **out, uv_loop_t *loop, const char *url, const char *key, metrics_t *m);

/* Queues a purge of name (exact name and below, as pdns does). */
void purge_name(purge_t *p, const dname_t *name);

/* Returns the number of purges queued or in flight. */
unsigned purge_pending(const purge_t *p);

/* Abandons queued and in-flight purges; frees p once its handles closed. */
void purge_close(purge_t *p);

#endif
