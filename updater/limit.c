#include "limit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define WAYS 4

typedef struct entry {
	uint64_t tag;      /* keyed hash of the key; 0 = empty */
	uint64_t used;     /* last touch, for eviction */
	uint64_t start;    /* auth: window start; rate: last refill */
	double value;      /* auth: failures in window; rate: tokens */
} entry_t;

typedef struct table {
	entry_t *e;
	size_t mask;       /* buckets - 1 */
} table_t;

struct limit {
	table_t auth, rate, hostfail, known, change, conns;
	double per_ms, burst;
	double change_per_ms, change_burst;
	unsigned host_fails, conns_max;
	uint8_t key[crypto_shorthash_KEYBYTES];
};

static int table_init(table_t *t, unsigned slots)
{
	size_t buckets = 1;
	while (buckets * WAYS < slots)
		buckets <<= 1;
	t->e = calloc(buckets * WAYS, sizeof(entry_t));
	t->mask = buckets - 1;
	return t->e ? 0 : -ENOMEM;
}

int limit_new(limit_t **out, const limit_config_t *cfg)
{
	limit_t *l = calloc(1, sizeof(*l));
	unsigned slots = cfg->slots;
	if (!l)
		return -ENOMEM;
	if (table_init(&l->auth, slots) || table_init(&l->rate, slots) ||
	    table_init(&l->hostfail, slots) || table_init(&l->known, slots) ||
	    table_init(&l->change, slots) || table_init(&l->conns, slots)) {
		limit_free(l);
		return -ENOMEM;
	}
	l->per_ms = cfg->rate / 1000.0;
	l->burst = cfg->burst < 1 ? 1 : cfg->burst;
	l->change_per_ms = cfg->change_rate / 1000.0;
	l->change_burst = cfg->change_burst < 1 ? 1 : cfg->change_burst;
	l->host_fails = cfg->host_fails;
	l->conns_max = cfg->conns_per_client;
	randombytes_buf(l->key, sizeof(l->key));
	*out = l;
	return 0;
}

void limit_free(limit_t *l)
{
	if (!l)
		return;
	free(l->auth.e);
	free(l->rate.e);
	free(l->hostfail.e);
	free(l->known.e);
	free(l->change.e);
	free(l->conns.e);
	free(l);
}

static uint64_t hash(const limit_t *l, const void *key, size_t len)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, key, len, l->key);
	return h ? h : 1;
}

/* Finds the entry of tag, or NULL; with create, takes an empty or the least
 * recently used way of the bucket and marks it *fresh. */
static entry_t *find(table_t *t, uint64_t tag, int create, uint64_t now, int *fresh)
{
	entry_t *b = t->e + (tag & t->mask) * WAYS, *victim = NULL;
	for (int i = 0; i < WAYS; i++) {
		if (b[i].tag == tag) {
			/* A look-up that does not create (now 0: a connection's
			 * close) must not make the entry the first to go. */
			if (create || now)
				b[i].used = now;
			if (fresh)
				*fresh = 0;
			return &b[i];
		}
		/* Prefer an empty way, else the least recently used one. */
		if (!victim || (victim->tag && (!b[i].tag || b[i].used < victim->used)))
			victim = &b[i];
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->tag = tag;
	victim->used = now;
	*fresh = 1;
	return victim;
}

/* A client: its IPv4 address, or the /64 of its IPv6 address. */
static uint64_t client_tag(const limit_t *l, const addr_t *client)
{
	uint8_t key[9];
	key[0] = client->family;
	memcpy(key + 1, client->bytes, 8); /* IPv4: 4 bytes + zeros; IPv6: the /64 */
	if (client->family == 4)
		memset(key + 5, 0, 4);
	return hash(l, key, sizeof(key));
}

static uint64_t name_tag(const limit_t *l, const dname_t *name)
{
	return hash(l, name->key, name->len);
}

/* The failed-auth key: the host name and the client (IPv6 by its /64), so
 * a stranger's wrong guesses never lock the owner out from elsewhere. */
static uint64_t auth_tag(const limit_t *l, const dname_t *name, const addr_t *client)
{
	uint8_t key[DNAME_MAX_KEY + 9];
	key[0] = client->family;
	memcpy(key + 1, client->bytes, 8);
	memcpy(key + 9, name->key, name->len);
	return hash(l, key, 9u + name->len);
}

int limit_auth_blocked(limit_t *l, const dname_t *name, const addr_t *client, uint64_t now,
		       unsigned *retry_after)
{
	entry_t *e = find(&l->auth, auth_tag(l, name, client), 0, now, NULL);
	if (!e || e->value < LIMIT_AUTH_FAILS || now - e->start >= LIMIT_AUTH_WINDOW_MS)
		return 0;
	*retry_after = (unsigned)((LIMIT_AUTH_WINDOW_MS - (now - e->start) + 999) / 1000);
	return 1;
}

void limit_auth_fail(limit_t *l, const dname_t *name, const addr_t *client, uint64_t now)
{
	int fresh;
	entry_t *e = find(&l->auth, auth_tag(l, name, client), 1, now, &fresh);
	if (fresh || now - e->start >= LIMIT_AUTH_WINDOW_MS) {
		e->start = now;
		e->value = 0;
	}
	/* The block lasts a full window from the failure that caused it (no
	 * further failures are counted while blocked: nothing is verified). */
	if (++e->value >= LIMIT_AUTH_FAILS)
		e->start = now;
	if (!l->host_fails)
		return;
	e = find(&l->hostfail, name_tag(l, name), 1, now, &fresh);
	if (fresh || now - e->start >= LIMIT_AUTH_WINDOW_MS) {
		e->start = now;
		e->value = 0;
	}
	if (++e->value >= l->host_fails)
		e->start = now;
}

int limit_host_blocked(limit_t *l, const dname_t *name, const addr_t *client, uint64_t now,
		       unsigned *retry_after)
{
	if (!l->host_fails)
		return 0;
	entry_t *e = find(&l->hostfail, name_tag(l, name), 0, now, NULL);
	if (!e || e->value < l->host_fails || now - e->start >= LIMIT_AUTH_WINDOW_MS)
		return 0;
	entry_t *k = find(&l->known, auth_tag(l, name, client), 0, now, NULL);
	if (k && now - k->start < LIMIT_KNOWN_MS)
		return 0;
	*retry_after = (unsigned)((LIMIT_AUTH_WINDOW_MS - (now - e->start) + 999) / 1000);
	return 1;
}

void limit_auth_ok(limit_t *l, const dname_t *name, const addr_t *client, uint64_t now)
{
	int fresh;
	entry_t *k = find(&l->known, auth_tag(l, name, client), 1, now, &fresh);
	k->start = now;
}

/* A token bucket: refills per_ms up to burst; takes one.  0 if allowed,
 * else 1 and *retry_after (seconds). */
static int bucket_take(entry_t *e, int fresh, uint64_t now, double per_ms, double burst,
		       unsigned *retry_after)
{
	if (fresh) {
		e->value = burst;
	} else {
		e->value += (double)(now - e->start) * per_ms;
		if (e->value > burst)
			e->value = burst;
	}
	e->start = now;
	if (e->value >= 1) {
		e->value -= 1;
		return 0;
	}
	double wait_ms = (1 - e->value) / per_ms;
	*retry_after = (unsigned)((wait_ms + 999.0) / 1000.0);
	if (*retry_after == 0)
		*retry_after = 1;
	return 1;
}

int limit_change(limit_t *l, const dname_t *name, uint64_t now, unsigned *retry_after)
{
	if (l->change_per_ms <= 0)
		return 0;
	int fresh;
	entry_t *e = find(&l->change, name_tag(l, name), 1, now, &fresh);
	return bucket_take(e, fresh, now, l->change_per_ms, l->change_burst, retry_after);
}

int limit_conn_open(limit_t *l, const addr_t *client, uint64_t now)
{
	if (!l->conns_max)
		return 0;
	int fresh;
	entry_t *e = find(&l->conns, client_tag(l, client), 1, now, &fresh);
	if (e->value >= l->conns_max)
		return 1;
	e->value++;
	return 0;
}

void limit_conn_close(limit_t *l, const addr_t *client)
{
	if (!l->conns_max)
		return;
	entry_t *e = find(&l->conns, client_tag(l, client), 0, 0, NULL);
	/* An entry evicted meanwhile has forgotten the count: nothing to do. */
	if (e && --e->value <= 0)
		memset(e, 0, sizeof(*e));
}

int limit_rate(limit_t *l, const addr_t *client, uint64_t now, unsigned *retry_after)
{
	if (l->per_ms <= 0)
		return 0;
	int fresh;
	entry_t *e = find(&l->rate, client_tag(l, client), 1, now, &fresh);
	return bucket_take(e, fresh, now, l->per_ms, l->burst, retry_after);
}
