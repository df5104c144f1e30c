/*
 * txn - the buffered writes of one pdns transaction (an overlay over the
 * store).
 *
 * pdns opens a transaction with startTransaction, sends replaceRRSet and
 * feedRecord calls, reads back on the same connection, and commits.  The
 * backend never holds the LMDB writer lock while pdns talks: every write
 * goes into this overlay, in memory, and commitTransaction applies the
 * whole overlay in one short LMDB write txn.  The overlay holds, per owner
 * name that an operation touched, the complete state of that owner after
 * the operations (the committed records it started from, changed by each
 * operation), plus a "replace" flag (a whole-zone replace: at commit the
 * zone's records are cleared first) and a pending SOA.
 *
 * An owner's records are kept as a list of RRs and, for reads, encoded on
 * demand in the store's records-value format, so readers iterate them with
 * the store's own store_rr_iter_t and store_rr_next().
 *
 * Pure memory; no store access, no logging.  A txn_t belongs to one thread
 * at a time (the loop thread, or the pool thread applying a commit).
 */
#ifndef KYEDNS_TXN_H
#define KYEDNS_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "dname.h"
#include "store.h"

#define TXN_DEFAULT_MAX_BYTES (256u << 20) /* buffered bytes per transaction */
#define TXN_DEFAULT_TIMEOUT 60             /* idle seconds before it is dropped */
#define TXN_RR_OVERHEAD 16                 /* bytes counted per buffered RR */

typedef struct txn_rr {
	uint16_t type;
	uint32_t ttl;
	uint16_t len;
	char *data;               /* owned copy of the content */
} txn_rr_t;

typedef struct txn_owner {
	dname_t name;
	txn_rr_t *rrs;            /* the owner's RRs after the operations */
	unsigned n, cap;
	uint16_t *touched;        /* types an operation set or added to: the commit
				     writes these from rrs and keeps the others as
				     they are then in the store */
	unsigned ntouched, captouched;
	int cleared;              /* all RRsets deleted (but the keep types) */
	uint16_t keep[4];         /* with cleared: types left alone */
	unsigned nkeep;
	uint8_t *blob;            /* rrs encoded for readers; NULL when stale */
	size_t blob_len;
	uint16_t klen;
	uint8_t key[];            /* canonical key relative to the apex, klen bytes */
} txn_owner_t;

typedef struct txn {
	int64_t trxid;            /* as pdns sent it (unix time; not unique) */
	uint32_t zone_id;
	dname_t apex;
	int replace;              /* whole-zone replace: clear the zone at commit */
	int soa_set;              /* a new SOA is pending */
	int failed;               /* an operation failed halfway (out of memory,
				     over max_bytes): the commit is refused */
	char why[256];            /* why it failed */
	uint32_t serial, refresh, retry, expire, minimum, soa_ttl;
	char mname[DNAME_MAX_TEXT]; /* pending SOA names: absolute text */
	char rname[DNAME_MAX_TEXT];
	txn_owner_t **owners;     /* owned; sorted by key when `sorted` */
	size_t n, cap;
	int sorted;
	uint32_t *hash;           /* open addressing: index + 1, 0 = empty */
	size_t hcap;              /* a power of two, > 2 * n */
	size_t bytes;             /* buffered bytes (content + overhead) */
	size_t max_bytes;         /* ERR_TXNFULL beyond this */
	uint64_t last_used;       /* monotonic seconds of the last operation */
} txn_t;

/* A new, empty transaction.  NULL when out of memory. */
txn_t *txn_new(int64_t trxid, uint32_t zone_id, const dname_t *apex, int replace,
	       size_t max_bytes);

/* Frees t and everything it holds.  NULL is a no-op. */
void txn_free(txn_t *t);

/* The overlay's owner of name, or NULL when no operation touched it. */
txn_owner_t *txn_find(txn_t *t, const dname_t *name);

/*
 * Adds an empty owner for name (which must be at or below the apex and not
 * yet in t) and returns it in *out: the caller then loads the committed
 * records with txn_owner_load.  0, ERR_NOZONE (outside the apex), -ENOMEM.
 */
int txn_add(txn_t *t, const dname_t *name, txn_owner_t **out);

/* Appends the RRs of it to o (the committed state).  0, -ENOMEM,
 * ERR_TXNFULL, or the iterator's error. */
int txn_owner_load(txn_t *t, txn_owner_t *o, store_rr_iter_t *it, int only_addrs);

/*
 * Replaces RRset type of o with contents[0..count) at ttl (count 0 deletes
 * it); duplicates are kept once.  0, -ENOMEM, ERR_TXNFULL.
 */
int txn_rrset_set(txn_t *t, txn_owner_t *o, uint16_t type, uint32_t ttl,
		  const char *const *contents, const uint16_t *lens, unsigned count);

/* Returns 1 if an operation of t changed RRset type of o (so the commit
 * writes the buffered RRset), 0 if the commit keeps the stored one. */
int txn_owner_touched(const txn_owner_t *o, uint16_t type);

/* Deletes every RRset of o except those of the types in keep[0..nkeep)
 * (at most 4). */
void txn_owner_clear(txn_t *t, txn_owner_t *o, const uint16_t *keep, unsigned nkeep);

/* Inserts one RR (RFC 2136 add; also load-zone's append).  The RRset takes
 * ttl.  0 (-EEXIST when the content was already present: nothing added),
 * -ENOMEM, ERR_TXNFULL. */
int txn_rr_add(txn_t *t, txn_owner_t *o, uint16_t type, uint32_t ttl, const char *content,
	       uint16_t len);

/* Positions it on o's RRs (encoding them if needed).  0 or -ENOMEM. */
int txn_owner_iter(txn_owner_t *o, store_rr_iter_t *it);

/* Sorts the owners by canonical key (for ordered walks). */
void txn_sort(txn_t *t);

/* After txn_sort: the index of the first owner whose key is >= key. */
size_t txn_lower_bound(const txn_t *t, const uint8_t *key, size_t klen);

#endif
