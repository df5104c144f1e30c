/*
 * purge - asks pdns to drop a name from its caches after an update, via
 * its HTTP API: PUT <base>/api/v1/servers/localhost/cache/flush?domain=NAME.
 * with X-API-Key, where <base> is the configured URL with its path prefix
 * ("https://proxy:8443/pdns" puts the API under /pdns).  Without this, pdns
 * keeps serving the old address for up to cache-ttl / query-cache-ttl
 * seconds.
 *
 * The client is libcurl's multi interface driven by the updater's libuv
 * loop: curl tells which sockets to watch (uv_poll_t each) and when to
 * wake it (one uv_timer_t), so no purge ever blocks the loop.  Keeping
 * curl's multi handle for the daemon's lifetime gives:
 *  - keep-alive: connections stay in curl's connection cache and are
 *    reused (pdns 4.7's own webserver closes after every answer; a TLS
 *    reverse proxy in front of it keeps them open);
 *  - re-resolution: the API host's addresses are cached for dns_cache_s
 *    seconds only, so a recreated pdns container is found again;
 *  - https with certificate and host name verification, against ca_file
 *    or the system's CA store.
 *
 * At most PURGE_MAX_INFLIGHT purges run at once (one reusable easy handle
 * each), the rest wait in a bounded ring (a name already waiting is not
 * queued again; overflow is dropped and counted).  Failures are counted in
 * metrics and never delay or fail an update reply.  A failure pauses all
 * purges (pdns or its API is most likely down), from PURGE_BACKOFF_MIN_MS
 * doubling to PURGE_BACKOFF_MAX_MS while failures go on; a name whose purge
 * failed for a reason worth retrying (no connection, timeout, 5xx) is
 * queued again.  The log gets the first failure, then at most one summary
 * line per PURGE_LOG_MS with the count, and one line when purging works
 * again.
 *
 * Threading: loop thread only.
 */
#ifndef KYEDNS_PURGE_H
#define KYEDNS_PURGE_H

#include <uv.h>

#include "dname.h"
#include "log.h"
#include "metrics.h"

#define PURGE_MAX_INFLIGHT 16
#define PURGE_QUEUE 4096
#define PURGE_TIMEOUT_MS 2000
#define PURGE_BACKOFF_MIN_MS 250    /* first pause after a failure */
#define PURGE_BACKOFF_MAX_MS 30000  /* the pause doubles up to this */
#define PURGE_LOG_MS 60000          /* at most one failure summary per this */

typedef struct purge purge_t;

typedef struct purge_config {
	const char *url;      /* "http://127.0.0.1:8081", "https://api.example:8443/pdns" */
	const char *key;      /* the pdns api-key (copied) */
	const char *ca_file;  /* PEM CA bundle for https; NULL: the system's */
	long dns_cache_s;     /* seconds a resolved address is reused */
} purge_config_t;

/*
 * Checks cfg->url (http:// or https://, a host, an optional port and path
 * prefix, no query) and prepares the client; nothing is resolved or
 * connected yet.  m and log are borrowed and must outlive the client.
 * Returns 0 and *out, or -EINVAL for an unusable URL, -ENOMEM, or -EIO
 * when libcurl cannot be set up.
 */
int purge_new(purge_t **out, uv_loop_t *loop, const purge_config_t *cfg, metrics_t *m,
	      log_t *log);

/* Queues a purge of name (exact name and below, as pdns does). */
void purge_name(purge_t *p, const dname_t *name);

/* Returns the number of purges queued or in flight. */
unsigned purge_pending(const purge_t *p);

/* Abandons queued and in-flight purges (in-flight ones count as failed);
 * frees p once its handles closed, during the loop's next iterations. */
void purge_close(purge_t *p);

#endif
