/*
 * limit - abuse control in bounded memory.
 *
 * Fixed-size tables, allocated once:
 *   - failed authentications per host name and client (LIMIT_AUTH_FAILS
 *     within a window -> that client is blocked for that name until the
 *     window ends; the owner elsewhere is not);
 *   - failed authentications per host name from all clients together (the
 *     host's failure budget: over it, the name is blocked for every client
 *     that has not authenticated for it before, so guesses spread over
 *     many /64s are bounded too, and the owner at a known address is not
 *     locked out);
 *   - the clients that authenticated for a host name (the "known" ones);
 *   - a token bucket per client address for requests, and one per host
 *     name for changes (commits);
 *   - open connections per client address.
 * A client is its address, an IPv6 client its /64 (one subscriber holds a
 * whole /64).  Keys are SipHash'ed with a
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

#define LIMIT_KNOWN_MS (30ull * 86400 * 1000) /* a successful client stays known */

typedef struct limit limit_t;

typedef struct limit_config {
	unsigned slots;           /* entries of each table (rounded up to a power of two) */
	double rate, burst;       /* requests/s per client and burst; rate 0 = off */
	double change_rate;       /* changes per second per host name; 0 = off */
	double change_burst;
	unsigned host_fails;      /* failures per name and window from all clients; 0 = off */
	unsigned conns_per_client; /* open connections per client; 0 = off */
} limit_config_t;

/* Creates the tables.  Returns 0 and *out, or -ENOMEM. */
int limit_new(limit_t **out, const limit_config_t *cfg);
void limit_free(limit_t *l);

/* Returns 1 and *retry_after (seconds) if name is blocked for requests
 * from client (IPv6: its /64), else 0. */
int limit_auth_blocked(limit_t *l, const dname_t *name, const addr_t *client, uint64_t now,
		       unsigned *retry_after);

/* Counts one failed authentication for name from client (in both the
 * client's count and the name's budget). */
void limit_auth_fail(limit_t *l, const dname_t *name, const addr_t *client, uint64_t now);

/* Returns 1 and *retry_after if name's failure budget is spent and client
 * has not authenticated for name within LIMIT_KNOWN_MS, else 0. */
int limit_host_blocked(limit_t *l, const dname_t *name, const addr_t *client, uint64_t now,
		       unsigned *retry_after);

/* Remembers that client authenticated for name. */
void limit_auth_ok(limit_t *l, const dname_t *name, const addr_t *client, uint64_t now);

/* Takes one change from name's bucket: 0 if allowed, else 1 and
 * *retry_after (seconds). */
int limit_change(limit_t *l, const dname_t *name, uint64_t now, unsigned *retry_after);

/* Counts a new connection from client: 0 if allowed (then call
 * limit_conn_close() when it closes), 1 if client has its maximum open. */
int limit_conn_open(limit_t *l, const addr_t *client, uint64_t now);
void limit_conn_close(limit_t *l, const addr_t *client);

/* Takes one request from client's bucket: returns 0 if allowed, else 1
 * and *retry_after (seconds). */
int limit_rate(limit_t *l, const addr_t *client, uint64_t now, unsigned *retry_after);

#endif
