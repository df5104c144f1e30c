/*
 * store - the KyedNS LMDB store, shared by kyedns-backend (reads),
 * kyedns-updater and kyednsctl (write).
 *
 * One LMDB environment (a directory: data.mdb, lock.mdb) holds five named
 * databases.  All integers are big-endian; all names are dname key form
 * (see dname.h), so one zone's names are one contiguous key range.
 *
 *   meta    "version" -> u32 schema version (STORE_SCHEMA_VERSION)
 *           "next_zone_id" -> u32
 *   zones   zone key -> zone value (below)
 *   zoneids u32 zone id -> zone key
 *   names   owner key -> all RRsets of that owner (below)
 *   hosts   host key -> host value (below)
 *
 * Zone value, schema 1:
 *   u32 id | u8 kind | u32 serial | u32 notified_serial | u32 refresh |
 *   u32 retry | u32 expire | u32 minimum | u32 ttl |
 *   u8 mname_len | mname text | u8 rname_len | rname text
 * (mname/rname canonical absolute text; ttl is the SOA record's TTL and the
 * default TTL for new records.)
 *
 * Names value, schema 1: a sequence of RRsets, sorted by type, each
 *   u16 type | u32 ttl | u16 count | count x (u16 len | content bytes)
 * content is PowerDNS presentation format ("1.2.3.4", "10 mx.example.com.",
 * "\"text\""), exactly what the remote backend returns.  SOA is never stored
 * here: it is synthesized from the zone value.  An owner with no RRsets has
 * no key (empty non-terminals are found by range scan).
 *
 * Host value, schema 1:
 *   u8[32] token hash | u64 created | u64 updated | u32 ttl |
 *   u8 last_family (0, 4, 6) | u8[16] last client address |
 *   u8 agent_len | agent bytes (<= 255, truncated)
 *
 * Threading: a store_t may be shared by threads; a store_txn_t belongs to
 * one thread at a time (the env is opened with MDB_NOTLS, so a read txn may
 * be reset on one thread and renewed on another).  LMDB allows one write txn
 * per environment across all processes; a second writer blocks.
 *
 * Map growth: when a write call returns ERR_MAPFULL the caller aborts the
 * txn (store_txn_commit has already freed it when it is the one failing),
 * calls store_grow() (which waits until no txn of this process is active,
 * so the calling thread must hold none) and redoes its changes.
 *
 * One process, one store_t: LMDB forbids opening the same environment twice
 * in a process, so a daemon that mostly reads but sometimes writes (the
 * backend's setNotified) opens it without STORE_RDONLY.  A thread holds at
 * most one active txn at a time.  When another process grew the map,
 * store_txn_begin/renew adopt the new size transparently.
 *
 * Borrowed memory: every pointer a lookup returns (rr content, host agent,
 * zone mname/rname) points into the map and is valid until the txn is
 * reset, committed or aborted.  Copy before any asynchronous step.
 */
#ifndef KYEDNS_STORE_H
#define KYEDNS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "dname.h"
#include "token.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_DEFAULT_MAPSIZE (64ULL << 20) /* grows by doubling */
#define STORE_MAX_MAPSIZE (1ULL << 40)
#define STORE_MAX_READERS 1024
#define STORE_MAX_CONTENT 65535 /* bytes of one rr content */
#define STORE_MAX_VALUE (1u << 20) /* bytes of all RRsets of one owner */

enum store_open_flags {
	STORE_RDONLY = 1, /* open read-only (backend): no create, no writes */
	STORE_CREATE = 2, /* create the directory and schema if missing */
	STORE_NOSYNC = 4, /* MDB_NOSYNC: bulk loads; caller calls store_sync() */
};

enum store_zone_kind {
	STORE_KIND_NATIVE = 0,
	STORE_KIND_MASTER = 1,
	STORE_KIND_SLAVE = 2,
};

/* RR type codes (IANA). */
enum {
	RR_A = 1, RR_NS = 2, RR_CNAME = 5, RR_SOA = 6, RR_PTR = 12, RR_MX = 15,
	RR_TXT = 16, RR_AAAA = 28, RR_SRV = 33, RR_DS = 43, RR_SSHFP = 44,
	RR_TLSA = 52, RR_HTTPS = 65, RR_SVCB = 64, RR_CAA = 257, RR_ANY = 255,
};

typedef struct store store_t;
typedef struct store_txn store_txn_t;

typedef struct store_zone {
	dname_t name;
	uint32_t id;              /* stable, never reused, >= 1 */
	uint8_t kind;             /* enum store_zone_kind */
	uint32_t serial;
	uint32_t notified_serial;
	uint32_t refresh, retry, expire, minimum;
	uint32_t ttl;             /* SOA TTL, default TTL of new records */
	const char *mname;        /* borrowed (or caller's, for zone_add) */
	uint8_t mname_len;
	const char *rname;
	uint8_t rname_len;
} store_zone_t;

typedef struct store_rr {
	uint16_t type;
	uint32_t ttl;
	const char *data;         /* content, not NUL-terminated; borrowed */
	uint16_t len;
} store_rr_t;

/* Iterates the RRs of one owner; fill with store_name_get(). */
typedef struct store_rr_iter {
	const uint8_t *p, *end;
	uint16_t type;            /* current RRset */
	uint32_t ttl;
	uint16_t left;            /* rdatas left in current RRset */
} store_rr_iter_t;

typedef struct store_host {
	uint8_t token_hash[TOKEN_HASH_LEN];
	uint64_t created, updated; /* unix seconds */
	uint32_t ttl;              /* TTL of the host's A/AAAA */
	addr_t last_client;        /* family 0: never updated */
	const char *agent;         /* borrowed (or caller's, for put) */
	uint8_t agent_len;
} store_host_t;

typedef struct store_stat {
	uint64_t zones, names, hosts;   /* entries */
	uint64_t map_size;              /* bytes mapped */
	uint64_t map_used;              /* bytes in use (last page * page size) */
	uint64_t readers_used, readers_max;
	uint64_t psize;
} store_stat_t;

/* ---- environment ---- */

/*
 * Opens (flags STORE_CREATE: creates) the store in directory dir.  Runs
 * mdb_reader_check() to clear stale reader slots, checks the schema version
 * (ERR_VERSION if not ours), and adopts the map size of the file if larger
 * than the default.  Returns 0 and *out, or a negative error; -ENOENT when
 * the directory or store does not exist and STORE_CREATE is not given.
 */
int store_open(store_t **out, const char *dir, unsigned flags);

/* Closes the env.  All txns must have ended.  NULL is a no-op. */
void store_close(store_t *s);

/* Doubles the map size (up to STORE_MAX_MAPSIZE); waits until no txn of
 * this process is active.  Returns 0, or ERR_MAPFULL at the ceiling. */
int store_grow(store_t *s);

/* Flushes to disk (after STORE_NOSYNC loads).  Returns 0 or -EIO. */
int store_sync(store_t *s);

/* Fills st; counts come from a fresh read txn, so the calling thread must
 * hold no active txn (a store_grow() waiting on another thread would
 * otherwise deadlock against it). */
int store_stat(store_t *s, store_stat_t *st);

/* Clears stale reader slots; returns how many were cleared (>= 0). */
int store_reader_check(store_t *s);

/* Returns the directory path the store was opened with. */
const char *store_path(const store_t *s);

/* ---- transactions ---- */

/* Begins a read (write = 0) or write txn.  A write txn on a STORE_RDONLY
 * store is -EACCES.  Returns 0 and *out. */
int store_txn_begin(store_t *s, int write, store_txn_t **out);

/*
 * Commits: first bumps the SOA serial of every zone this txn changed, once
 * per zone: serial = old + 1, or the current unix time if that is greater in
 * RFC 1982 serial arithmetic.  Frees txn whatever the result.  Returns 0,
 * ERR_MAPFULL (nothing written; grow and redo), or -EIO.  Committing a read
 * txn just ends it.
 */
int store_txn_commit(store_txn_t *txn);

/* Ends txn without writing; frees it.  NULL is a no-op. */
void store_txn_abort(store_txn_t *txn);

/* Read txns only: release the snapshot but keep the txn for reuse. */
void store_txn_reset(store_txn_t *txn);

/* Read txns only: take a fresh snapshot (after reset).  Returns 0 or an
 * error; adopts a grown map transparently. */
int store_txn_renew(store_txn_t *txn);

/* ---- zones ---- */

/* Creates zone z->name (z->id is assigned and written back; serial, if 0,
 * becomes the current unix time).  Does not create NS records: add them
 * with store_rr_add.  -EEXIST if the zone exists. */
int store_zone_add(store_txn_t *txn, store_zone_t *z);

/* Rewrites SOA fields/kind of an existing zone (by z->name); id is kept.
 * Counts as a change: the serial is bumped at commit (from z->serial). */
int store_zone_put(store_txn_t *txn, const store_zone_t *z);

/* Exact zone by name / by id.  0, -ENOENT. */
int store_zone_get(store_txn_t *txn, const dname_t *name, store_zone_t *out);
int store_zone_get_by_id(store_txn_t *txn, uint32_t id, store_zone_t *out);

/* Closest enclosing zone of name (the zone itself if name is an apex).
 * 0, or ERR_NOZONE. */
int store_zone_find(store_txn_t *txn, const dname_t *name, store_zone_t *out);

/* Deletes the zone, all its names and hosts (not those of a more specific
 * zone below it).  0, -ENOENT. */
int store_zone_del(store_txn_t *txn, const dname_t *name);

/* Records the serial pdns has notified for zone id (no serial bump).
 * 0, -ENOENT. */
int store_zone_set_notified(store_txn_t *txn, uint32_t id, uint32_t serial);

/* Calls cb for each zone in key order; stops when cb returns non-zero and
 * returns that value; otherwise 0. */
typedef int (*store_zone_cb)(const store_zone_t *z, void *arg);
int store_zone_walk(store_txn_t *txn, store_zone_cb cb, void *arg);

/* ---- records ---- */

/* Looks up the RRsets of one owner.  0 and *it positioned before the first
 * RR, or -ENOENT when the owner has no records. */
int store_name_get(store_txn_t *txn, const dname_t *name, store_rr_iter_t *it);

/* Next RR: returns 1 and fills *rr, 0 at the end, ERR_CORRUPT on a bad
 * value. */
int store_rr_next(store_rr_iter_t *it, store_rr_t *rr);

/* Returns 1 if some owner lies strictly below name (so name, if it has no
 * records itself, is an empty non-terminal), 0 if none, < 0 on error. */
int store_name_has_below(store_txn_t *txn, const dname_t *name);

/* Calls cb for every owner at or below name (the zone listing when name is
 * an apex), with an iterator over its RRs, in key order.  Owners belonging
 * to a more specific zone are skipped when skip_subzones is set.  Stops and
 * returns cb's value when it is non-zero. */
typedef int (*store_name_cb)(const dname_t *owner, store_rr_iter_t *it, void *arg);
int store_name_walk(store_txn_t *txn, const dname_t *name, int skip_subzones,
		    store_name_cb cb, void *arg);

/*
 * Adds one RR (content must already be normalized, see rdata.h) to the
 * RRset name/type, setting the RRset's TTL to ttl.  name must be inside a
 * zone (ERR_NOZONE).  -EEXIST if the same content is present; ERR_CLASH for
 * CNAME beside other data, a second CNAME, or a CNAME at a host's name;
 * ERR_ISZONE for CNAME at an apex.  Marks the zone changed.
 */
int store_rr_add(store_txn_t *txn, const dname_t *name, uint16_t type, uint32_t ttl,
		 const char *content, size_t len);

/* Deletes the RR with this content, or the whole RRset when content is
 * NULL.  0, -ENOENT if nothing matched. */
int store_rr_del(store_txn_t *txn, const dname_t *name, uint16_t type,
		 const char *content, size_t len);

/*
 * Replaces RRset name/type with exactly the given contents (count 0 deletes
 * it).  Same checks as store_rr_add.  Sets *changed (if not NULL) to 1 when
 * the stored data differed (TTL included), 0 when it was identical, in
 * which case nothing is written and the zone is not marked changed.
 */
int store_rrset_set(store_txn_t *txn, const dname_t *name, uint16_t type, uint32_t ttl,
		    const char *const *contents, const uint16_t *lens, unsigned count,
		    int *changed);

/* ---- hosts ---- */

/* 0 and *out, or -ENOENT. */
int store_host_get(store_txn_t *txn, const dname_t *name, store_host_t *out);

/* Creates or replaces the host record (not its addresses).  name must be
 * inside a zone and not its apex (ERR_NOZONE, ERR_ISZONE). */
int store_host_put(store_txn_t *txn, const dname_t *name, const store_host_t *h);

/* Deletes the host and its A and AAAA RRsets.  0, -ENOENT. */
int store_host_del(store_txn_t *txn, const dname_t *name);

/*
 * The dyndns2 update: sets the host's A RRset to v4 (if v4 && v4->family)
 * and/or its AAAA RRset to v6 (likewise), leaving the other family alone.
 * When anything changed, also records updated = now, last_client = client
 * and agent (truncated to 255 bytes), and sets *changed = 1; when both
 * addresses were already stored, writes nothing and sets *changed = 0.
 * -ENOENT if the host does not exist.
 */
int store_host_update(store_txn_t *txn, const dname_t *name, const addr_t *v4,
		      const addr_t *v6, const addr_t *client, const char *agent,
		      size_t agent_len, uint64_t now, int *changed);

/* Reads the host's current addresses: families set to 0 when absent. */
int store_host_addrs(store_txn_t *txn, const dname_t *name, addr_t *v4, addr_t *v6);

/* Calls cb for every host at or below name (all hosts if name is NULL). */
typedef int (*store_host_cb)(const dname_t *name, const store_host_t *h, void *arg);
int store_host_walk(store_txn_t *txn, const dname_t *name, store_host_cb cb, void *arg);

#endif
