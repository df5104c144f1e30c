/*
 * txn - the buffered writes of one pdns transaction.  See txn.h.
 *
 * Owners live in an array of pointers with a hash index on the name, so a
 * zone fed in any order (load-zone sends file order) costs O(1) per record;
 * the array is sorted only when a reader needs canonical order (list,
 * empty non-terminal checks), and the index is rebuilt after a sort.
 */
#include "txn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static uint32_t name_hash(const dname_t *n)
{
	uint32_t h = 2166136261u;
	for (unsigned i = 0; i < n->len; i++)
		h = (h ^ n->key[i]) * 16777619u;
	return h;
}

txn_t *txn_new(int64_t trxid, uint32_t zone_id, const dname_t *apex, int replace,
	       size_t max_bytes)
{
	txn_t *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->trxid = trxid;
	t->zone_id = zone_id;
	t->apex = *apex;
	t->replace = replace;
	t->max_bytes = max_bytes ? max_bytes : TXN_DEFAULT_MAX_BYTES;
	t->sorted = 1;
	return t;
}

static void owner_free(txn_owner_t *o)
{
	free(o->touched);
	for (unsigned i = 0; i < o->n; i++)
		free(o->rrs[i].data);
	free(o->rrs);
	free(o->blob);
	free(o);
}

void txn_free(txn_t *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		owner_free(t->owners[i]);
	free(t->owners);
	free(t->hash);
	free(t);
}

/* Rebuilds the hash index with room for at least want owners. */
static int rehash(txn_t *t, size_t want)
{
	size_t cap = t->hcap ? t->hcap : 64;
	while (cap <= 2 * want)
		cap *= 2;
	uint32_t *h = calloc(cap, sizeof *h);
	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = name_hash(&t->owners[i]->name) & (cap - 1);
		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = (uint32_t)(i + 1);
	}
	free(t->hash);
	t->hash = h;
	t->hcap = cap;
	return 0;
}

txn_owner_t *txn_find(txn_t *t, const dname_t *name)
{
	if (!t->hcap)
		return NULL;
	size_t j = name_hash(name) & (t->hcap - 1);
	while (t->hash[j]) {
		txn_owner_t *o = t->owners[t->hash[j] - 1];
		if (o->name.len == name->len && memcmp(o->name.key, name->key, name->len) == 0)
			return o;
		j = (j + 1) & (t->hcap - 1);
	}
	return NULL;
}

static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

int txn_add(txn_t *t, const dname_t *name, txn_owner_t **out)
{
	uint8_t key[DNAME_MAX_CANON];
	int klen = dname_canon_key(name, &t->apex, key);
	if (klen < 0)
		return klen;
	size_t size = sizeof(txn_owner_t) + (size_t)klen;
	if (t->bytes + size > t->max_bytes)
		return ERR_TXNFULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		txn_owner_t **p = realloc(t->owners, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		t->owners = p;
		t->cap = cap;
	}
	if (2 * (t->n + 1) >= t->hcap && rehash(t, t->n + 1) < 0)
		return -ENOMEM;
	txn_owner_t *o = calloc(1, size);
	if (!o)
		return -ENOMEM;
	o->name = *name;
	memcpy(o->key, key, (size_t)klen);
	o->klen = (uint16_t)klen;
	if (t->sorted && t->n) {
		const txn_owner_t *last = t->owners[t->n - 1];
		if (key_cmp(last->key, last->klen, o->key, o->klen) >= 0)
			t->sorted = 0;
	}
	t->owners[t->n++] = o;
	size_t j = name_hash(name) & (t->hcap - 1);
	while (t->hash[j])
		j = (j + 1) & (t->hcap - 1);
	t->hash[j] = (uint32_t)t->n;
	t->bytes += size;
	*out = o;
	return 0;
}

static int owner_reserve(txn_owner_t *o, unsigned want)
{
	if (want <= o->cap)
		return 0;
	unsigned cap = o->cap ? o->cap : 4;
	while (cap < want)
		cap *= 2;
	txn_rr_t *p = realloc(o->rrs, cap * sizeof *p);
	if (!p)
		return -ENOMEM;
	o->rrs = p;
	o->cap = cap;
	return 0;
}

/* Appends one RR without checks. */
static int owner_push(txn_t *t, txn_owner_t *o, uint16_t type, uint32_t ttl, const char *data,
		      uint16_t len)
{
	if (t->bytes + len + TXN_RR_OVERHEAD > t->max_bytes)
		return ERR_TXNFULL;
	if (owner_reserve(o, o->n + 1) < 0)
		return -ENOMEM;
	char *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	o->rrs[o->n++] = (txn_rr_t){.type = type, .ttl = ttl, .len = len, .data = copy};
	t->bytes += len + TXN_RR_OVERHEAD;
	free(o->blob);
	o->blob = NULL;
	return 0;
}

int txn_owner_load(txn_t *t, txn_owner_t *o, store_rr_iter_t *it, int only_addrs)
{
	store_rr_t rr;
	int rc;
	while ((rc = store_rr_next(it, &rr)) == 1) {
		if (only_addrs && rr.type != RR_A && rr.type != RR_AAAA)
			continue;
		if ((rc = owner_push(t, o, rr.type, rr.ttl, rr.data, rr.len)) < 0)
			return rc;
	}
	return rc;
}

static void owner_drop_type(txn_t *t, txn_owner_t *o, uint16_t type)
{
	unsigned w = 0;
	for (unsigned i = 0; i < o->n; i++) {
		if (o->rrs[i].type == type) {
			t->bytes -= o->rrs[i].len + TXN_RR_OVERHEAD;
			free(o->rrs[i].data);
		} else {
			o->rrs[w++] = o->rrs[i];
		}
	}
	o->n = w;
	free(o->blob);
	o->blob = NULL;
}

/* Records that an operation changed RRset type of o. */
static int owner_touch(txn_owner_t *o, uint16_t type)
{
	for (unsigned i = 0; i < o->ntouched; i++)
		if (o->touched[i] == type)
			return 0;
	if (o->ntouched == o->captouched) {
		unsigned cap = o->captouched ? o->captouched * 2 : 4;
		uint16_t *n = realloc(o->touched, cap * sizeof *n);
		if (!n)
			return -ENOMEM;
		o->touched = n;
		o->captouched = cap;
	}
	o->touched[o->ntouched++] = type;
	return 0;
}

int txn_owner_touched(const txn_owner_t *o, uint16_t type)
{
	for (unsigned i = 0; i < o->ntouched; i++)
		if (o->touched[i] == type)
			return 1;
	if (!o->cleared)
		return 0;
	for (unsigned i = 0; i < o->nkeep; i++)
		if (o->keep[i] == type)
			return 0;
	return 1;
}

void txn_owner_clear(txn_t *t, txn_owner_t *o, const uint16_t *keep, unsigned nkeep)
{
	unsigned w = 0;
	/* The commit deletes every type but keep, whatever is stored then;
	 * a kept type set earlier in this transaction stays touched. */
	o->cleared = 1;
	o->nkeep = 0;
	for (unsigned j = 0; j < nkeep && o->nkeep < 4; j++)
		o->keep[o->nkeep++] = keep[j];
	for (unsigned i = 0; i < o->n; i++) {
		int k = 0;
		for (unsigned j = 0; j < nkeep && !k; j++)
			k = o->rrs[i].type == keep[j];
		if (k) {
			o->rrs[w++] = o->rrs[i];
		} else {
			t->bytes -= o->rrs[i].len + TXN_RR_OVERHEAD;
			free(o->rrs[i].data);
		}
	}
	o->n = w;
	free(o->blob);
	o->blob = NULL;
}

static int owner_holds(const txn_owner_t *o, uint16_t type, const char *data, uint16_t len)
{
	for (unsigned i = 0; i < o->n; i++)
		if (o->rrs[i].type == type && o->rrs[i].len == len &&
		    memcmp(o->rrs[i].data, data, len) == 0)
			return 1;
	return 0;
}

int txn_rrset_set(txn_t *t, txn_owner_t *o, uint16_t type, uint32_t ttl,
		  const char *const *contents, const uint16_t *lens, unsigned count)
{
	size_t need = 0;
	for (unsigned i = 0; i < count; i++)
		need += lens[i] + TXN_RR_OVERHEAD;
	if (t->bytes + need > t->max_bytes)
		return ERR_TXNFULL;
	if (owner_touch(o, type) < 0)
		return -ENOMEM;
	owner_drop_type(t, o, type);
	for (unsigned i = 0; i < count; i++) {
		if (owner_holds(o, type, contents[i], lens[i]))
			continue;
		int rc = owner_push(t, o, type, ttl, contents[i], lens[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int txn_rr_add(txn_t *t, txn_owner_t *o, uint16_t type, uint32_t ttl, const char *content,
	       uint16_t len)
{
	int dup = owner_holds(o, type, content, len);
	if (owner_touch(o, type) < 0)
		return -ENOMEM;
	/* The RRset takes the new TTL, as store_rr_add does. */
	for (unsigned i = 0; i < o->n; i++)
		if (o->rrs[i].type == type)
			o->rrs[i].ttl = ttl;
	free(o->blob);
	o->blob = NULL;
	if (dup)
		return -EEXIST;
	return owner_push(t, o, type, ttl, content, len);
}

int txn_owner_iter(txn_owner_t *o, store_rr_iter_t *it)
{
	if (!o->blob && o->n) {
		/* the store's own encoding, so readers see what a commit would
		 * store: RRsets by type, TTL of the first RR, duplicates once */
		store_rr_t *rrs = malloc(o->n * sizeof(*rrs));
		int rc;
		if (!rrs)
			return -ENOMEM;
		for (unsigned i = 0; i < o->n; i++) {
			rrs[i].type = o->rrs[i].type;
			rrs[i].ttl = o->rrs[i].ttl;
			rrs[i].data = o->rrs[i].data;
			rrs[i].len = o->rrs[i].len;
		}
		rc = store_value_encode(rrs, o->n, &o->blob, &o->blob_len);
		free(rrs);
		if (rc < 0)
			return rc;
	}
	store_rr_iter_init(it, o->blob, o->blob ? o->blob_len : 0);
	return 0;
}

static int owner_cmp(const void *a, const void *b)
{
	const txn_owner_t *x = *(txn_owner_t *const *)a, *y = *(txn_owner_t *const *)b;
	return key_cmp(x->key, x->klen, y->key, y->klen);
}

void txn_sort(txn_t *t)
{
	if (t->sorted)
		return;
	qsort(t->owners, t->n, sizeof *t->owners, owner_cmp);
	t->sorted = 1;
	/* Indices moved: rebuild the index in place of the old one. */
	if (t->hcap) {
		memset(t->hash, 0, t->hcap * sizeof *t->hash);
		for (size_t i = 0; i < t->n; i++) {
			size_t j = name_hash(&t->owners[i]->name) & (t->hcap - 1);
			while (t->hash[j])
				j = (j + 1) & (t->hcap - 1);
			t->hash[j] = (uint32_t)(i + 1);
		}
	}
}

size_t txn_lower_bound(const txn_t *t, const uint8_t *key, size_t klen)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const txn_owner_t *o = t->owners[mid];
		if (key_cmp(o->key, o->klen, key, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
