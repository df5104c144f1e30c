/*
 * limit - abuse control in bounded memory.
 *
 * Two fixed-size tables, allocated once: failed authentications per host
 * name and client (LIMIT_AUTH_FAILS within a window -> that client is
 * blocked for that name until the window ends; the owner elsewhere is not) and a token bucket per client address (IPv6 clients by their /64,
 * since one subscriber holds a whole /64).  Keys are SipHash'ed with a
 * random per-process key, so a client cannot aim collisions at someone
 * else's entry; each key maps to a 4-way bucket and a full bucket evicts
 * its least recently used entry.  Eviction can only forget a penalty, never
 * invent one.
 *
 * Threading: loop thread only.  Times are milliseconds of a monotonic clock.
 */
#ifndef KYEDNS_LIMIT_H
#define KYEDNS_LIMIT_H

#include <stdint.h>

#include "addr.h"
#include "dname.h"

#define LIMIT_AUTH_FAILS 5          /* failures within the window -> blocked */
#define LIMIT_AUTH_WINDOW_MS 300000 /* 5 minutes */

typedef struct limit limit_t;

/*
 * Creates the tables: slots entries each (rounded up to a power of two),
 * rate requests per second per client with a burst of burst (rate 0: no
 * rate limit).  Returns 0 and *out, or -ENOMEM.
 */
int limit_new(limit_t **out, unsigned slots, double rate, double burst);
void limit_free(limit_t *l);

/* Returns 1 and *retry_after (seconds) if name is blocked for requests
 * from client (IPv6: its /64), else 0. */
int limit_auth_blocked(limit_t *l, const dname_t *name, const addr_t *client, uint64_t now,
		       unsigned *retry_after);

/* Counts one failed authentication for name from client. */
void limit_auth_fail(limit_t *l, const dname_t *name, const addr_t *client, uint64_t now);

/* Takes one request from client's bucket: returns 0 if allowed, else 1
 * and *retry_after (seconds). */
int limit_rate(limit_t *l, const addr_t *client, uint64_t now, unsigned *retry_after);

#endif
