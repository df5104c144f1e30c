/*
 * store - the KyedNS LMDB store, shared by kyedns-backend, kyedns-updater and
 * kyednsctl.  Schema 2: records belong to a zone.
 *
 * One LMDB environment (a directory: data.mdb, lock.mdb) holds these named
 * databases.  All integers are big-endian.
 *
 *   meta     "version" -> u32 schema version (STORE_SCHEMA_VERSION)
 *            "next_zone_id" -> u32
 *   zones    zone name key (dname key form, see dname.h) -> zone value
 *   zoneids  u32 zone id -> zone name key
 *   records  u32 zone id | owner's canonical key relative to the zone apex
 *            (dname_canon_key: labels root side first, each ended by \0,
 *            so key order is DNSSEC canonical order, RFC 4034 6.1; the apex
 *            is the empty string) -> all RRsets of that owner in that zone
 *   hosts    host name key (dname key form) -> host value
 *   domainmeta  u32 zone id | kind bytes -> metadata value
 *   tsigkeys key name key (dname key form) -> TSIG key value
 *   autoprimaries  ip text | \0 | nameserver key (dname key form) -> account
 *   domainkeys  u32 zone id | u32 key id -> DNSSEC key value
 *   hostopts    host key -> host options (offline, wildcard, iid, router)
 *   followers   router host key | 0x00 | follower host key -> empty
 *   tokens      host key | 0x00 | token name -> named token
 *   acme        host key | 0x00 | ACME value -> u64 expires
 * The last four (issue 12) are laid out in the section at the end of this
 * file; a store made before them gets them at its next writable open, and a
 * read-only open sees them as empty.
 *
 * The same owner name can hold records in two zones: at a zone cut the
 * parent's delegation NS, DS and glue live under the parent's id, the
 * child's apex data under the child's id.  A zone's records are one key
 * range (its id prefix); an owner's descendants in that zone are the keys
 * that extend its canonical key.  Empty non-terminals are derived by such a
 * range test; nothing is stored for them.
 *
 * Zone value, schema 2:
 *   u32 id | u8 kind | u8 flags | u32 serial | u32 notified_serial |
 *   u32 refresh | u32 retry | u32 expire | u32 minimum | u32 ttl |
 *   u64 last_check |
 *   u8 mname_len | mname | u8 rname_len | rname |
 *   u16 masters_len | masters | u8 account_len | account
 * mname/rname: canonical absolute text ("ns1.example.com.").  masters: the
 * primaries of a slave zone, space-separated "ip" or "ip:port" text.
 * flags: STORE_ZONE_NOSOA while a slave zone has never been transferred
 * (lookups then show no SOA, so pdns treats the zone as not loaded).
 * last_check: unix time of a slave zone's last SOA check (setFresh) or of
 * a master zone's last NOTIFY round (setNotified); 0 is never.
 * The SOA record is never stored in records: it is the zone value.
 *
 * Records value, schema 2 (as schema 1): RRsets sorted by type, each
 *   u16 type | u32 ttl | u16 count | count x (u16 len | content bytes)
 * content is the PowerDNS backend form, exactly what the remote backend
 * returns and what pdns sends in replaceRRSet/feedRecord: names inside
 * content carry no trailing dot ("10 mx.example.com"), the root is ".",
 * TXT is quoted, unknown types are RFC 3597 "\# len hex".  rdata.h converts
 * user text to that form.
 *
 * Host value, schema 2:
 *   u32 zone id | u8[32] token hash | u64 created | u64 updated | u32 ttl |
 *   u8 last_family (0, 4, 6) | u8[16] last client address |
 *   u8 agent_len | agent bytes (<= 255, truncated) | [history ring]
 * The optional history ring (issue 12, see "per-host history" at the end)
 * follows the agent; a value without it (every value written before it)
 * is a host without history.
 * The host's addresses are its A and AAAA RRsets in the records of its zone
 * (the zone id above, fixed when the host is created).  Those two RRsets
 * belong to the host: every record write refuses A/AAAA at a host's name
 * (ERR_HOSTOWNED), except store_host_update; a whole-zone replace keeps
 * them (store_zone_clear).
 *
 * Metadata value: u16 count | count x (u16 len | bytes).  TSIG key value:
 * u8 alg_len | algorithm text ("hmac-sha256.") | u16 secret_len | base64
 * secret.  Autoprimary value: account bytes.
 *
 * DNSSEC key value (pdns addDomainKey & co): u32 flags (256 ZSK, 257 KSK)
 * | u8 active | u8 published | u32 content_len | content, the ISC
 * private-key text pdns sends ("Private-key-format: v1.2\nAlgorithm: 13
 * ..."), verbatim.  It is a secret, like a TSIG secret: store_open creates
 * the files 0640 (and a missing directory 0750), and callers must never log
 * content.
 * Key ids count from 1 within a zone; domainkeys was added to schema 2
 * before its release, so a writable open adds it to a schema-2 store that
 * lacks it (a read-only open then sees no keys).
 *
 * Serial policy (store_txn_commit): a native or master zone whose data or
 * SOA changed in a txn gets a new serial once, at commit.  If the txn wrote
 * the SOA with a serial that is greater than the old one in RFC 1982 terms
 * (a forward distance of 1 to 2^31 - 1), that serial is kept as written.
 * Otherwise serial = now (unix time) when now is ahead of the old serial by
 * 1 to 2^31 - 1, else old + 1; 0 is skipped.  So a serial never goes
 * backwards, never moves by 2^31 or more, and YYYYMMDDnn serials keep
 * counting.  Slave zones keep the SOA they are fed, verbatim.  A zone
 * created in the txn keeps the serial it was created with.
 *
 * Migration: store_open of a schema-1 store with write access converts it
 * in one write txn (a crash leaves schema 1 intact): each names entry goes
 * to the zone that contained it (the closest enclosing zone), content loses
 * the trailing dots of its names; a zone's apex NS set is also copied into
 * its parent zone (if any) as the delegation, with A/AAAA glue of in-zone NS
 * targets, and a DS at a child apex moves to the parent; hosts get their
 * zone id.  Names and hosts outside every zone (which no zone served in
 * schema 1 either) are dropped.  A read-only open of a schema-1 store is
 * ERR_VERSION.
 *
 * Threading: a store_t may be shared by threads; a store_txn_t belongs to
 * one thread at a time (the env is opened with MDB_NOTLS, so a read txn may
 * be reset on one thread and renewed on another; a write txn must begin,
 * write and end on one thread).  LMDB allows one write txn per environment
 * across all processes; a second writer blocks.
 *
 * Map growth: when a write call returns ERR_MAPFULL the caller aborts the
 * txn (store_txn_commit has already freed it when it is the one failing),
 * calls store_grow() (which waits until no txn of this process is active,
 * so the calling thread must hold none) and redoes its changes.
 *
 * One process, one store_t: LMDB forbids opening the same environment twice
 * in a process.  A thread holds at most one active txn at a time.  When
 * another process grew the map, store_txn_begin/renew adopt the new size.
 *
 * Borrowed memory: every pointer a lookup returns (rr content, host agent,
 * zone mname/rname/masters/account, metadata values, TSIG fields) points
 * into the map and is valid until the txn is reset, committed or aborted,
 * or until the next write call in a write txn.  Copy before any
 * asynchronous step.
 */
#ifndef KYEDNS_STORE_H
#define KYEDNS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "dname.h"
#include "token.h"

#define STORE_SCHEMA_VERSION 2
#define STORE_DEFAULT_MAPSIZE (64ULL << 20) /* grows by doubling */
#define STORE_MAX_MAPSIZE (1ULL << 40)
#define STORE_MAX_READERS 1024
#define STORE_MAX_CONTENT 65535 /* bytes of one rr content */
#define STORE_MAX_VALUE (1u << 20) /* bytes of all RRsets of one owner in one zone */
#define STORE_MAX_META_KIND 255    /* bytes of a metadata kind */
#define STORE_MAX_META_VALUE 65535 /* bytes of one metadata value */
#define STORE_MAX_MASTERS 1024     /* bytes of a slave zone's masters text */
#define STORE_MAX_KEY_CONTENT 65535 /* bytes of one DNSSEC key's private-key text */

enum store_open_flags {
	STORE_RDONLY = 1, /* open read-only: no create, no writes, no migration */
	STORE_CREATE = 2, /* create the directory and schema if missing */
	STORE_NOSYNC = 4, /* MDB_NOSYNC: bulk loads; caller calls store_sync() */
};

enum store_zone_kind {
	STORE_KIND_NATIVE = 0,
	STORE_KIND_MASTER = 1,
	STORE_KIND_SLAVE = 2,
};

enum store_zone_flags {
	STORE_ZONE_NOSOA = 1, /* slave zone not transferred yet: no SOA served */
};

/* RR type codes (IANA) the code refers to by name. */
enum {
	RR_A = 1, RR_NS = 2, RR_CNAME = 5, RR_SOA = 6, RR_PTR = 12, RR_MX = 15,
	RR_TXT = 16, RR_AAAA = 28, RR_SRV = 33, RR_DNAME = 39, RR_OPT = 41, RR_DS = 43,
	RR_SSHFP = 44, RR_RRSIG = 46, RR_NSEC = 47, RR_DNSKEY = 48, RR_NSEC3 = 50,
	RR_NSEC3PARAM = 51, RR_TLSA = 52, RR_SVCB = 64, RR_HTTPS = 65, RR_TKEY = 249,
	RR_TSIG = 250, RR_IXFR = 251, RR_AXFR = 252, RR_MAILB = 253, RR_MAILA = 254,
	RR_ANY = 255, RR_CAA = 257,
};

typedef struct store store_t;
typedef struct store_txn store_txn_t;

typedef struct store_zone {
	dname_t name;
	uint32_t id;              /* stable, never reused, >= 1 */
	uint8_t kind;             /* enum store_zone_kind */
	uint8_t flags;            /* enum store_zone_flags */
	uint32_t serial;
	uint32_t notified_serial;
	uint32_t refresh, retry, expire, minimum;
	uint32_t ttl;             /* SOA TTL, default TTL of new records */
	uint64_t last_check;      /* unix time; slave: of the last SOA check,
				     master: of the last NOTIFY round
				     (store_zone_set_notified); 0: never */
	const char *mname;        /* canonical absolute text; borrowed (or caller's) */
	uint8_t mname_len;
	const char *rname;
	uint8_t rname_len;
	const char *masters;      /* slave zones: "ip[:port] ..."; may be NULL if len 0 */
	uint16_t masters_len;
	const char *account;      /* free text pdns shows; may be NULL if len 0 */
	uint8_t account_len;
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
	uint32_t zone_id;          /* zone holding the A/AAAA; set by store_host_put */
	uint8_t token_hash[TOKEN_HASH_LEN];
	uint64_t created, updated; /* unix seconds */
	uint32_t ttl;              /* TTL of the host's A/AAAA */
	addr_t last_client;        /* family 0: never updated */
	const char *agent;         /* borrowed (or caller's, for put) */
	uint8_t agent_len;
} store_host_t;

/* Iterates a metadata value's strings; fill with store_meta_get(). */
typedef struct store_meta_iter {
	const uint8_t *p, *end;
	uint16_t left;
} store_meta_iter_t;

typedef struct store_tsig {
	dname_t name;
	const char *algorithm;     /* "hmac-sha256." as pdns sends it; borrowed */
	uint8_t algorithm_len;
	const char *secret;        /* base64 text; borrowed */
	uint16_t secret_len;
} store_tsig_t;

typedef struct store_key {
	uint32_t zone_id;
	uint32_t id;               /* >= 1, unique within the zone */
	uint32_t flags;            /* DNSKEY flags: 256 ZSK, 257 KSK */
	uint8_t active, published; /* 0 or 1 */
	const char *content;       /* ISC private-key text; borrowed; a secret */
	uint32_t content_len;
} store_key_t;

typedef struct store_stat {
	uint64_t zones, names, hosts;   /* entries (names: records entries) */
	uint64_t map_size;              /* bytes mapped */
	uint64_t map_used;              /* bytes in use (last page * page size) */
	uint64_t readers_used, readers_max;
	uint64_t psize;
} store_stat_t;

/* ---- environment ---- */

/*
 * Opens (flags STORE_CREATE: creates) the store in directory dir.  Runs
 * mdb_reader_check() to clear stale reader slots, checks the schema version
 * and migrates a schema-1 store in place unless STORE_RDONLY (ERR_VERSION
 * for any other version, or schema 1 opened read-only), and adopts the map
 * size of the file if larger than the default.  Returns 0 and *out, or a
 * negative error; -ENOENT when the directory or store does not exist and
 * STORE_CREATE is not given.
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
 * hold no active txn. */
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
 * Commits: first gives every native/master zone this txn changed its new
 * serial (the serial policy above).  Frees txn whatever the result.
 * Returns 0, ERR_MAPFULL (nothing written; grow and redo), or -EIO.
 * Committing a read txn just ends it.
 */
int store_txn_commit(store_txn_t *txn);

/* Ends txn without writing; frees it.  NULL is a no-op. */
void store_txn_abort(store_txn_t *txn);

/* Read txns only: release the snapshot but keep the txn for reuse. */
void store_txn_reset(store_txn_t *txn);

/* Read txns only: take a fresh snapshot (after reset).  Returns 0 or an
 * error; adopts a grown map transparently.  A failed renew leaves txn
 * reset and usable: the next renew tries again (txn still must be
 * aborted at the end). */
int store_txn_renew(store_txn_t *txn);

/* ---- zones ---- */

/*
 * Creates zone z->name (z->id is assigned and written back; serial, if 0,
 * becomes the current unix time unless STORE_ZONE_NOSOA is set).  Creates
 * no records: add NS with store_rr_add (records added in the same txn do
 * not bump that serial).  -EEXIST if the zone exists, ERR_CLASH if a host
 * has that exact name, ERR_TOOBIG for masters over STORE_MAX_MASTERS.
 */
int store_zone_add(store_txn_t *txn, store_zone_t *z);

/*
 * Rewrites the zone row of an existing zone (by z->name; id kept): SOA
 * fields, TTL, kind, flags, masters, account.  When serial, mname, rname,
 * timers or ttl differ from the stored row it counts as a change of the
 * zone's data and z->serial is the "written serial" of the serial policy;
 * a change of only kind, masters, account or last_check does not bump.
 * A change of kind resets last_check to 0 (its meaning depends on the
 * kind: a new slave is SOA-checked, a new master notified, at once).
 * -ENOENT if the zone does not exist, ERR_TOOBIG as store_zone_add.
 */
int store_zone_put(store_txn_t *txn, const store_zone_t *z);

/* Exact zone by name / by id.  0, -ENOENT. */
int store_zone_get(store_txn_t *txn, const dname_t *name, store_zone_t *out);
int store_zone_get_by_id(store_txn_t *txn, uint32_t id, store_zone_t *out);

/* Closest enclosing zone of name (the zone itself if name is an apex).
 * 0, or ERR_NOZONE. */
int store_zone_find(store_txn_t *txn, const dname_t *name, store_zone_t *out);

/* Deletes the zone, its records, hosts and metadata.  Records of other
 * zones (a child zone below it) are untouched.  0, -ENOENT. */
int store_zone_del(store_txn_t *txn, const dname_t *name);

/* Deletes every record of zone id, except the A/AAAA RRsets of its hosts
 * and of the *.H of its hosts with the wildcard option (the start of a
 * whole-zone replace).  Marks the zone changed.  0,
 * -ENOENT (no such zone). */
int store_zone_clear(store_txn_t *txn, uint32_t id);

/* Records the serial pdns has notified for zone id (no serial bump); for
 * a master zone also last_check = now, the time of this NOTIFY round, from
 * which kyedns-backend's --notify-min-interval counts (kept in the store,
 * so every backend process and a restarted one see it).  Slave and native
 * zones keep their last_check.  0, -ENOENT. */
int store_zone_set_notified(store_txn_t *txn, uint32_t id, uint32_t serial);

/* Sets last_check of zone id (setFresh: now; setStale: 0).  No bump.
 * 0, -ENOENT. */
int store_zone_set_checked(store_txn_t *txn, uint32_t id, uint64_t when);

/* Calls cb for each zone in key order; stops when cb returns non-zero and
 * returns that value; otherwise 0. */
typedef int (*store_zone_cb)(const store_zone_t *z, void *arg);
int store_zone_walk(store_txn_t *txn, store_zone_cb cb, void *arg);

/* ---- records (always of one zone) ---- */

/* The RRsets of owner name in zone zone_id.  0 and *it positioned before
 * the first RR, or -ENOENT when the owner has no records in that zone.
 * The SOA is not among them (it is the zone row). */
int store_name_get(store_txn_t *txn, uint32_t zone_id, const dname_t *name,
		   store_rr_iter_t *it);

/* Next RR: returns 1 and fills *rr, 0 at the end, ERR_CORRUPT on a bad
 * value. */
int store_rr_next(store_rr_iter_t *it, store_rr_t *rr);

/*
 * Encodes rrs[0..n) as one owner's records value, exactly as
 * store_name_set stores it: RRsets in ascending type order, the RRs of a
 * type in the order given, each RRset's TTL its first RR's, duplicate
 * contents once.  *out is malloc'd (NULL when n = 0; the caller frees it),
 * *len its size.  0, -ENOMEM, or ERR_TOOBIG over STORE_MAX_VALUE or over
 * 65535 RRs in one RRset (the count is a u16).  No rules
 * are checked: that is store_name_check's job.
 */
int store_value_encode(const store_rr_t *rrs, unsigned n, uint8_t **out, size_t *len);

/* Positions it before the first RR of a records value (len bytes at data,
 * e.g. from store_value_encode); data must outlive the iteration. */
void store_rr_iter_init(store_rr_iter_t *it, const void *data, size_t len);

/* Returns 1 if some owner of zone zone_id lies strictly below name (so
 * name, if it has no records itself, is an empty non-terminal), 0 if none,
 * < 0 on error. */
int store_name_has_below(store_txn_t *txn, uint32_t zone_id, const dname_t *name);

/*
 * Returns 1 if name lies at or below a delegation of zone zone_id: some
 * owner between the apex (exclusive) and name (inclusive when at_or_below)
 * holds an NS RRset in that zone.  0 if not, < 0 on error.  With
 * at_or_below = 0 this says "name is occluded" (glue, auth 0); with 1 it
 * also counts a delegation at name itself (its NS RRset is not auth).
 */
int store_name_below_cut(store_txn_t *txn, uint32_t zone_id, const dname_t *name,
			 int at_or_below);

/* Calls cb for every owner of zone zone_id in canonical order (the apex
 * first, if it has records), with an iterator over its RRs.  Stops and
 * returns cb's value when it is non-zero. */
typedef int (*store_name_cb)(const dname_t *owner, store_rr_iter_t *it, void *arg);
int store_name_walk(store_txn_t *txn, uint32_t zone_id, store_name_cb cb, void *arg);

/*
 * Adds one RR (content already in backend form, see rdata.h) to RRset
 * name/type of zone zone_id, setting the RRset's TTL to ttl.  Refuses:
 * ERR_NOZONE (no such zone, or name not at or below its apex), ERR_BADTYPE
 * (type 0, SOA, or a meta type: OPT, TSIG, TKEY, IXFR, AXFR, MAILA, MAILB,
 * ANY), ERR_ISZONE (CNAME or DS at the apex), ERR_CLASH (CNAME beside
 * other data or a second CNAME), ERR_HOSTOWNED (A/AAAA at a host's name,
 * or at *.H of a host H with the wildcard option),
 * ERR_TOOBIG (owner value over STORE_MAX_VALUE).  -EEXIST if the same
 * content is present.  Marks the zone changed.
 */
int store_rr_add(store_txn_t *txn, uint32_t zone_id, const dname_t *name, uint16_t type,
		 uint32_t ttl, const char *content, size_t len);

/* Deletes the RR with this content, or the whole RRset when content is
 * NULL.  0, -ENOENT if nothing matched, ERR_HOSTOWNED as above. */
int store_rr_del(store_txn_t *txn, uint32_t zone_id, const dname_t *name, uint16_t type,
		 const char *content, size_t len);

/*
 * Replaces RRset name/type of zone zone_id with exactly the given contents
 * (count 0 deletes it).  Same checks as store_rr_add; duplicate contents
 * are stored once.  Sets *changed (if not NULL) to 1 when the stored data
 * differed (TTL included), 0 when it was identical, in which case nothing
 * is written and the zone is not marked changed.
 */
int store_rrset_set(store_txn_t *txn, uint32_t zone_id, const dname_t *name, uint16_t type,
		    uint32_t ttl, const char *const *contents, const uint16_t *lens,
		    unsigned count, int *changed);

/*
 * Replaces all RRsets of owner name in zone zone_id with rrs[0..n) (any
 * order; RRs of one type form one RRset, whose TTL is the first one's;
 * duplicates are stored once; n = 0 deletes the owner).  The host-owned
 * A/AAAA at a host's name are kept as they are and rrs must hold none
 * (ERR_HOSTOWNED).  Same checks as store_rr_add.  Used to apply a pdns
 * transaction.  Marks the zone changed when anything differed.
 */
int store_name_set(store_txn_t *txn, uint32_t zone_id, const dname_t *name,
		   const store_rr_t *rrs, unsigned n);

/* Checks one owner's future RRsets without writing: the CNAME, apex, type
 * and host-owned rules of store_rr_add, for rrs[0..n) in zone zone_id.
 * 0 or the error store_name_set would return. */
int store_name_check(store_txn_t *txn, uint32_t zone_id, const dname_t *name,
		     const store_rr_t *rrs, unsigned n);

/*
 * searchRecords: calls cb for each record (SOA rows included) whose owner
 * name (absolute text without the trailing dot) or content matches pattern
 * (pdns glob: '*' any run, '?' one character; case-insensitive), in store
 * order, until cb returns non-zero or max records were reported.  An SOA
 * row's rr->data is a buffer of store_search, valid during the call only.
 */
typedef int (*store_search_cb)(const store_zone_t *z, const dname_t *owner,
			       const store_rr_t *rr, void *arg);
int store_search(store_txn_t *txn, const char *pattern, size_t len, unsigned max,
		 store_search_cb cb, void *arg);

/* ---- hosts ---- */

/* 0 and *out, or -ENOENT. */
int store_host_get(store_txn_t *txn, const dname_t *name, store_host_t *out);

/*
 * Creates or replaces the host record (not its addresses).  A new host's
 * zone is the closest enclosing zone (ERR_NOZONE); h->zone_id is ignored
 * and an existing host keeps its zone.  Refuses the apex (ERR_ISZONE), and
 * with ERR_CLASH a name whose addresses are not the host's to write: one
 * that holds any static record in that zone, one at or below a zone cut
 * (an NS RRset below the apex: glue), and a name server name of the apex
 * NS RRset of that zone or of a zone above it in the store.
 */
int store_host_put(store_txn_t *txn, const dname_t *name, const store_host_t *h);

/* Deletes the host and its A and AAAA RRsets, and everything that hangs
 * off it (options, *.H addresses, router links, named tokens, history,
 * ACME values: see the issue-12 section).  0, -ENOENT. */
int store_host_del(store_txn_t *txn, const dname_t *name);

/*
 * The dyndns2 update: sets the host's A RRset to v4 (if v4 && v4->family)
 * and/or its AAAA RRset to v6 (likewise), leaving the other family alone.
 * When anything changed, also records updated = now, last_client = client
 * and agent (truncated to 255 bytes), and sets *changed = 1; when both
 * addresses were already stored, writes nothing and sets *changed = 0.
 * With the wildcard option *.name gets the same addresses; while the host
 * is offline only its saved addresses change (no zone change).
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

/* ---- domain metadata (pdns getDomainMetadata & co) ---- */

/* The values of kind for zone zone_id: 0 and *it, or -ENOENT when none. */
int store_meta_get(store_txn_t *txn, uint32_t zone_id, const char *kind, size_t kind_len,
		   store_meta_iter_t *it);

/* Next value: 1 and *val and *len, 0 at the end, ERR_CORRUPT on a bad value. */
int store_meta_next(store_meta_iter_t *it, const char **val, uint16_t *len);

/* Sets kind to exactly vals[0..count) (count 0 deletes the kind).  -ENOENT
 * when the zone does not exist, ERR_TOOBIG over the limits above,
 * -EINVAL for an empty kind.  Not a change of zone data: no serial bump. */
int store_meta_set(store_txn_t *txn, uint32_t zone_id, const char *kind, size_t kind_len,
		   const char *const *vals, const uint16_t *lens, unsigned count);

/* Calls cb for each kind of zone zone_id, in key order. */
typedef int (*store_meta_cb)(const char *kind, size_t kind_len, store_meta_iter_t *it,
			     void *arg);
int store_meta_walk(store_txn_t *txn, uint32_t zone_id, store_meta_cb cb, void *arg);

/* ---- TSIG keys ---- */

/* 0 and *out, or -ENOENT. */
int store_tsig_get(store_txn_t *txn, const dname_t *name, store_tsig_t *out);

/* Creates or replaces key k->name.  -EINVAL for an empty algorithm or
 * secret. */
int store_tsig_put(store_txn_t *txn, const store_tsig_t *k);

/* 0, -ENOENT. */
int store_tsig_del(store_txn_t *txn, const dname_t *name);

typedef int (*store_tsig_cb)(const store_tsig_t *k, void *arg);
int store_tsig_walk(store_txn_t *txn, store_tsig_cb cb, void *arg);

/* ---- DNSSEC keys (pdns getDomainKeys, addDomainKey & co) ----
 * No key call checks content: the caller validates it (and never logs it).
 * A key write is not a change of zone data: no serial bump. */

/* Adds key (its flags, active, published, content; zone_id and id are
 * ignored) to zone zone_id with id = the zone's largest key id + 1 (1 for
 * the first), written to *id.  -ENOENT when the zone does not exist,
 * -EINVAL for empty content, ERR_TOOBIG over STORE_MAX_KEY_CONTENT. */
int store_key_add(store_txn_t *txn, uint32_t zone_id, const store_key_t *key, uint32_t *id);

/* 0 and *out (content borrowed), or -ENOENT. */
int store_key_get(store_txn_t *txn, uint32_t zone_id, uint32_t id, store_key_t *out);

/* Calls cb for each key of zone zone_id in id order; stops and returns
 * cb's value when it is non-zero.  ERR_CORRUPT on a bad value. */
typedef int (*store_key_cb)(const store_key_t *key, void *arg);
int store_key_walk(store_txn_t *txn, uint32_t zone_id, store_key_cb cb, void *arg);

/* Sets active and/or published (each 0 or 1; -1 leaves it).  0 (also when
 * nothing changed), -ENOENT when there is no such key. */
int store_key_set_flags(store_txn_t *txn, uint32_t zone_id, uint32_t id, int active,
			int published);

/* 0, -ENOENT. */
int store_key_del(store_txn_t *txn, uint32_t zone_id, uint32_t id);

/* ---- NSEC order (pdns getBeforeAndAfterNamesAbsolute) ---- */

/*
 * The NSEC neighbours of name in zone zone_id.  The chain is the apex plus
 * every owner with records in the zone that is not occluded (no NS RRset
 * at an owner strictly between the apex and it): authoritative names and
 * delegation points, in canonical order.  Glue and other names below a cut
 * and empty non-terminals are not in it (pdns's SQL backends give them no
 * NSEC ordername).  *before = the largest member <= name (name itself when
 * it is one), *after = the smallest member > name, wrapping to the apex.
 * Each lookup is a few cursor moves plus one get per label of the names it
 * passes.  0, or ERR_NOZONE (no such zone, or name outside it).
 */
int store_nsec_neighbours(store_txn_t *txn, uint32_t zone_id, const dname_t *name,
			  dname_t *before, dname_t *after);

/* ---- autoprimaries (pdns superMasterBackend) ---- */

/* Adds (ip, nameserver) with account (may be empty); replaces the account
 * of an existing pair.  ip is the primary's address text. */
int store_autoprimary_put(store_txn_t *txn, const char *ip, const dname_t *nameserver,
			  const char *account, size_t account_len);

/* 0, -ENOENT. */
int store_autoprimary_del(store_txn_t *txn, const char *ip, const dname_t *nameserver);

/* Calls cb for each pair (all of them when ip is NULL), in key order. */
typedef int (*store_autoprimary_cb)(const char *ip, const dname_t *nameserver,
				    const char *account, size_t account_len, void *arg);
int store_autoprimary_walk(store_txn_t *txn, const char *ip, store_autoprimary_cb cb,
			   void *arg);

/* ---- issue 12: host options, scoped tokens, history, ACME values ----
 *
 * Four named databases joined schema 2 after its release, like domainkeys:
 * a writable open creates them in a store that lacks them (the schema
 * version stays 2, existing hosts keep their single token), and a
 * read-only open of such a store treats them as empty (every get says
 * "absent", every walk reports nothing).  Layouts (all integers
 * big-endian; "host key" is the dname key form of the host name, whose
 * length bytes are never 0, so a 0x00 after it ends it unambiguously):
 *
 *   hostopts  host key -> u8 flags (STORE_HOST_OFFLINE 1 | STORE_HOST_WILDCARD 2)
 *             | u8 has_iid | u8[8] iid | u8 saved4_family | u8[4] saved4
 *             | u8 saved6_family | u8[16] saved6 | u8 prefix_family | u8 prefix_len
 *             | u8[16] prefix | u8 follow_len | follow (router host key)
 *             Absent = all defaults (the entry is deleted when it returns
 *             to all defaults).
 *   followers router host key | 0x00 | follower host key -> empty
 *   tokens    host key | 0x00 | token name -> u8[32] hash | u64 created
 *             | u64 expires (0 = never) | u8 ncidr
 *             | ncidr x (u8 family 4/6 | u8 prefix_len | u8[16] network)
 *   acme      host key | 0x00 | value bytes -> u64 expires
 *
 * Every write, get and check below that takes a host returns -ENOENT when
 * it is not a host (store_token_walk too); the other walks then report
 * nothing.  Write functions return -EACCES in a read txn.  Pointers in structs
 * filled by a get or a walk are borrowed as everywhere in this header
 * (valid until the txn ends or its next write).
 */

/* ---- host options: offline, wildcard, interface identifier, router ---- */

enum store_host_flags {
	STORE_HOST_OFFLINE = 1,  /* addresses kept in hostopts, out of DNS */
	STORE_HOST_WILDCARD = 2, /* *.H carries H's A/AAAA */
};

#define STORE_MAX_FOLLOWERS 64 /* hosts that follow one router's prefix */

typedef struct store_hostopt {
	uint8_t flags;            /* enum store_host_flags */
	uint8_t has_iid;          /* 1: iid is set */
	uint8_t iid[8];           /* interface identifier: the low 64 bits of the AAAA */
	addr_t saved4, saved6;    /* while offline: the addresses DNS gets back (family 0: none) */
	addr_t prefix;            /* as a router: its last prefix (family 6) or family 0 */
	uint8_t prefix_len;       /* of prefix: 0..64 */
	dname_t follow;           /* the router host whose prefix this host follows;
				     follow.len == 0: none */
} store_hostopt_t;

/* The options of host name: 0 and *out (all zero when it has none), or
 * -ENOENT when name is not a host. */
int store_hostopt_get(store_txn_t *txn, const dname_t *name, store_hostopt_t *out);

/*
 * Builds the address prefix/plen | iid into *out (family 6): the first
 * plen bits come from prefix, bits plen..63 are zero, the low 64 bits are
 * iid (NULL: zero, which gives the masked prefix itself).  -EINVAL when
 * plen > 64 or prefix is not IPv6.  Pure.
 */
int store_prefix_addr(const addr_t *prefix, unsigned plen, const uint8_t iid[8], addr_t *out);

/*
 * Takes host name offline (on = 1) or back online (on = 0).  Offline: the
 * host's A and AAAA (and those at *.name when it has the wildcard flag)
 * leave the records and are kept in hostopts (saved4/saved6); online: they
 * are written back (from the saved addresses, so updates made while
 * offline take effect).  Idempotent: *changed (may be NULL) = 1 when the
 * state changed, 0 when it already was so.  A change marks the zone
 * changed (serial bump) when records moved, and sets the host's updated =
 * now.  -ENOENT when name is not a host.
 *
 * While a host is offline, store_host_update and prefix updates change the
 * saved addresses only (the records stay empty) and report a change when a
 * saved address changed; store_host_addrs reports no addresses (read
 * saved4/saved6 with store_hostopt_get).
 */
int store_host_set_offline(store_txn_t *txn, const dname_t *name, int on, uint64_t now,
			   int *changed);

/*
 * Sets (on = 1) or clears the wildcard flag of host name.  On: *.name gets
 * name's current A/AAAA (none while offline) with the host's TTL, and from
 * then on they belong to the host like its own: store_host_update,
 * offline/online and prefix updates keep them in step, record writes of
 * A, AAAA or CNAME at *.name are ERR_HOSTOWNED, store_zone_clear keeps
 * them, store_host_del removes them.  ERR_CLASH when *.name already holds
 * a static A, AAAA or CNAME (delete it first), or name holds an NS RRset
 * (*.name would be below a cut).  Off: removes the A/AAAA at *.name.
 * *changed (may be NULL) as for store_host_set_offline; a change of
 * records marks the zone changed.
 */
int store_host_set_wildcard(store_txn_t *txn, const dname_t *name, int on, int *changed);

/*
 * Sets both the interface identifier of host name (iid NULL: none) and the
 * router host it follows (router NULL: none; the host keeps its current
 * AAAA), replacing what was stored: (R, I) follow R with I; (NULL, I) keep
 * an identifier, follow nobody; (NULL, NULL) clear both.  Following needs
 * an identifier: (R, NULL) is -EINVAL; so is router == name.  ERR_NOROUTER
 * when router is not a host; ERR_TOOBIG when router already has
 * STORE_MAX_FOLLOWERS followers.  To change one half, read the other with
 * store_hostopt_get first.
 * When the router has a stored prefix, the host's AAAA becomes
 * prefix | iid at once (a zone change).  There is no chaining: a follower
 * that is itself a router passes nothing on (its own followers move only
 * with its own prefix updates).  A follower may still be updated directly
 * (myipv6=); the router's next prefix update overwrites that AAAA.
 */
int store_host_set_follow(store_txn_t *txn, const dname_t *name, const dname_t *router,
			  const uint8_t iid[8]);

/*
 * A router's prefix update: stores prefix/plen (plen <= 64, else -EINVAL;
 * prefix must be IPv6, else ERR_BADADDR) as the router's last prefix and
 * sets the AAAA of each follower to store_prefix_addr(prefix, plen, its
 * iid), exactly as store_host_update would (offline followers: their saved
 * AAAA; wildcard followers: *.F too; updated/last_client/agent of each
 * changed follower).  It does not touch the router's own A/AAAA (update
 * those with store_host_update).  With keep > 0 each follower whose AAAA
 * changed also gets a history entry (result STORE_HIST_PREFIX, old6/new6,
 * client, agent, no v4; keep as for store_history_add, 0 = no history).
 * *nchanged (may be NULL) = followers whose address changed.  A follower
 * without an identifier or whose stored router is another host is
 * skipped.  All in txn: same durability as any update.
 * -ENOENT when router is not a host.
 */
int store_host_prefix_update(store_txn_t *txn, const dname_t *router, const addr_t *prefix,
			     unsigned plen, const addr_t *client, const char *agent,
			     size_t agent_len, uint64_t now, unsigned keep, unsigned *nchanged);

/*
 * store_host_update that also reports the addresses before it (old4/old6,
 * may be NULL; family 0 = none): the records' ones, or the saved ones
 * while the host is offline.  For the history entry of the update.
 */
int store_host_update_ex(store_txn_t *txn, const dname_t *name, const addr_t *v4,
			 const addr_t *v6, const addr_t *client, const char *agent,
			 size_t agent_len, uint64_t now, int *changed, addr_t *old4, addr_t *old6);

/*
 * store_host_update_ex that, when anything changed and keep > 0, also
 * records the change in the host's history: the entry store_history_add
 * would put (time now, result STORE_HIST_GOOD, old = the addresses before,
 * new = v4/v6, or the old address of a family not given, client, agent),
 * written with the host value in one write instead of a second lookup and
 * rewrite of it (the durable-update path).  keep as for store_history_add;
 * 0 = no entry, over STORE_HIST_MAX_KEEP: -EINVAL.
 */
int store_host_update_hist(store_txn_t *txn, const dname_t *name, const addr_t *v4,
			   const addr_t *v6, const addr_t *client, const char *agent,
			   size_t agent_len, uint64_t now, unsigned keep, int *changed,
			   addr_t *old4, addr_t *old6);

/* Calls cb for each follower of router (key order); stops and returns
 * cb's value when non-zero.  0 when none (also when router is no host). */
typedef int (*store_follower_cb)(const dname_t *follower, void *arg);
int store_follower_walk(store_txn_t *txn, const dname_t *router, store_follower_cb cb, void *arg);

/*
 * Deleting a host (store_host_del, and store_zone_del for its hosts) also
 * deletes its options, its A/AAAA at *.H when wildcard, its link to the
 * router it follows, its followers' links to it (they keep their last
 * AAAA and iid, and follow none), its named tokens, its history, and its
 * ACME values (their contents leave the TXT RRset at _acme-challenge.H).
 */

/* ---- named, scoped tokens ---- */

#define STORE_TOKEN_NAME_MAX 32 /* characters of a token name: [a-z0-9-_] */
#define STORE_TOKEN_MAX 16      /* named tokens per host, "default" not counted */
#define STORE_TOKEN_MAX_CIDRS 16
#define STORE_TOKEN_DEFAULT "default"

/*
 * The host value's token_hash is the token named "default": no expiry, no
 * CIDRs, created = the host's created.  An all-zero token_hash means the
 * host has no default token (it was deleted); it never matches.  A named
 * token can therefore never be called "default" (store_token_add: -EEXIST);
 * set the default token's hash with store_host_put.
 */
typedef struct store_token {
	char name[STORE_TOKEN_NAME_MAX + 1]; /* NUL-terminated */
	uint8_t hash[TOKEN_HASH_LEN];        /* token_hash() of the secret */
	uint64_t created;                    /* unix seconds */
	uint64_t expires;                    /* unix seconds; 0 = never */
	unsigned ncidr;                      /* 0: any source address */
	addr_cidr_t cidrs[STORE_TOKEN_MAX_CIDRS];
} store_token_t;

/* 0 when name (len bytes) is 1..STORE_TOKEN_NAME_MAX characters of
 * [a-z0-9-_], else ERR_TOKENNAME.  Pure. */
int store_token_name_check(const char *name, size_t len);

/*
 * Adds named token `name` to host: hash, expires (0 = never; a time <= now
 * is -EINVAL), cidrs[0..ncidr) (0 = any source; family 4 or 6, prefix within
 * the family, else ERR_BADADDR; host bits are cleared), created = now.
 * ERR_TOKENNAME for a bad name, -EEXIST when the host has a token of that
 * name ("default" included) or a token (any name) with the same hash,
 * ERR_TOOBIG beyond STORE_TOKEN_MAX named tokens or STORE_TOKEN_MAX_CIDRS.
 * Not a zone change.
 */
int store_token_add(store_txn_t *txn, const dname_t *host, const char *name, size_t name_len,
		    const uint8_t hash[TOKEN_HASH_LEN], uint64_t expires,
		    const addr_cidr_t *cidrs, unsigned ncidr, uint64_t now);

/* Deletes token `name` of host.  "default" clears the host value's
 * token_hash (all zero), so the old secret stops working at once.  0, or
 * -ENOENT when there is no such token (a cleared default included). */
int store_token_del(store_txn_t *txn, const dname_t *host, const char *name, size_t name_len);

/* 0 and *out, or -ENOENT.  "default" is reported as described above. */
int store_token_get(store_txn_t *txn, const dname_t *host, const char *name, size_t name_len,
		    store_token_t *out);

/* Calls cb for each token of host: "default" first (when set), then the
 * named ones in name order.  Stops and returns cb's value when non-zero.
 * ERR_CORRUPT on a bad value. */
typedef int (*store_token_cb)(const store_token_t *tok, void *arg);
int store_token_walk(store_txn_t *txn, const dname_t *host, store_token_cb cb, void *arg);

/*
 * THE authentication check: hashes secret (len bytes, <= TOKEN_MAX_LEN)
 * once and compares it in constant time with every token of host (at most
 * 1 + STORE_TOKEN_MAX compares; all are compared, whatever matched).
 * Returns 0 when a matching token is unexpired (expires == 0 or now <
 * expires) and client lies in one of its CIDRs (any client when it has
 * none; client NULL or family 0 fits only a token without CIDRs).
 * Otherwise ERR_BADTOKEN (no token matches, or secret too long),
 * ERR_TOKENEXPIRED or ERR_TOKENSOURCE (a token matched but is expired or
 * the client is outside its CIDRs), -ENOENT (no such host).  name_out
 * (may be NULL) gets the matching token's name, also with the last two
 * errors, so the caller can log which token and why; "" otherwise.
 * Read-only: works in a read txn.
 */
int store_token_check(store_txn_t *txn, const dname_t *host, const char *secret, size_t len,
		      const addr_t *client, uint64_t now, char name_out[STORE_TOKEN_NAME_MAX + 1]);

/* ---- per-host history ---- */

/*
 * The last changes of a host live in its own host value, as a ring that
 * every update rewrites anyway: recording a change writes no page beyond
 * the one the change itself dirties (a table of its own cost a random
 * B-tree path per update).  The ring follows the host value's agent:
 *
 *   u8 0x01 | varint newest seq | u8 count | count x entry, newest first
 *   entry: u8 result (bits 0-3) | agent mode * 5 + client mode (bits 4-7)
 *          | u8 modes of new4 (bits 0-1), old4 (2-3), new6 (4-5), old6 (6-7)
 *          | varint time (the newest: unix seconds; the others: zigzag of
 *            newer time - own time)
 *          | new4 [4] | old4 [4] | new6 [16] | old6 [16]  (those "literal")
 *          | client [u8 family 4/6 | 4 or 16 bytes] (when "literal")
 *          | agent [u8 len | bytes] (when "literal")
 *   address modes: 0 none, 1 literal; new 2 = the newer entry's old (the
 *          state between the two changes); old 2 = its own new (that
 *          family did not change), 3 = the newer entry's old.
 *   client modes: 0 none, 1 literal, 2 the newer entry's, 3 = own new4,
 *          4 = own new6.  agent modes: 0 none, 1 literal, 2 the newer
 *          entry's (a run of one agent stores it once).
 * (varint: 7 bits per byte, least significant first, 0x80 = more.)  An
 * IPv4 update by a client that keeps its agent takes about 9 bytes (also
 * with an unchanged IPv6), one that changes both addresses about 26, so
 * the default 32 entries take about 300 to 850 bytes.  The ring never
 * exceeds STORE_HIST_BYTES: store_history_add drops the oldest entries
 * that do not fit, so with long, changing agents (each change stores the
 * agent again, up to 255 bytes) a host keeps fewer than keep entries (at
 * least 3 even then; the newest always).  This
 * keeps every host value (with a 254-byte name and a 255-byte agent)
 * under the size at which LMDB moves a value to overflow pages (about
 * half a 4 KiB page), which would cost extra pages on every write.
 * Deleting a host deletes its history with it.
 */

#define STORE_HIST_MAX_KEEP 64      /* largest keep */
#define STORE_HIST_DEFAULT_KEEP 32
#define STORE_HIST_BYTES 1024       /* bytes of one host's ring, at most */

enum store_hist_result {
	STORE_HIST_GOOD = 1,      /* addresses changed by an update */
	STORE_HIST_NOCHG = 2,     /* update that changed nothing (callers may skip it) */
	STORE_HIST_OFFLINE = 3,   /* host taken offline */
	STORE_HIST_ONLINE = 4,    /* host back online */
	STORE_HIST_TXT_SET = 5,   /* ACME value set */
	STORE_HIST_TXT_CLEAR = 6, /* ACME value(s) removed */
	STORE_HIST_PREFIX = 7,    /* AAAA set from a router's prefix (router: prefix update) */
	STORE_HIST_WILDCARD_ON = 8,
	STORE_HIST_WILDCARD_OFF = 9,
	STORE_HIST_RESULT_MAX = 9 /* stored in 4 bits: add takes 0..15 */
};

typedef struct store_hist {
	uint64_t seq;             /* per host, increasing; set by walk, ignored by add */
	uint64_t time;            /* unix seconds */
	addr_t old4, new4;        /* family 0 (none) or 4 */
	addr_t old6, new6;        /* family 0 (none) or 6 */
	addr_t client;            /* family 0: not known (kyednsctl) */
	uint8_t result;           /* enum store_hist_result */
	const char *agent;        /* borrowed (or caller's, for add); may be NULL if len 0 */
	uint8_t agent_len;
} store_hist_t;

/* "good", "nochg", "offline", "online", "txt-set", "txt-clear", "prefix",
 * "wildcard-on", "wildcard-off"; "unknown" otherwise.  Static text. */
const char *store_hist_result_str(unsigned result);

/*
 * Puts entry e (seq assigned: the host's last + 1, from 1) at the head of
 * host's history and drops the oldest entries beyond keep
 * (1..STORE_HIST_MAX_KEEP, else -EINVAL) or beyond STORE_HIST_BYTES.
 * -EINVAL also for an address of the wrong family in e or a result over
 * 15.  It rewrites the host value in txn, so it commits (and syncs) with
 * the change it records, and after an update of the same host it dirties
 * no further page: call it in the same txn as the change.  Not a zone
 * change.  ERR_CORRUPT when the stored ring does not decode.
 */
int store_history_add(store_txn_t *txn, const dname_t *host, const store_hist_t *e,
		      unsigned keep);

/* Calls cb for each entry of host (at most STORE_HIST_MAX_KEEP), newest
 * first or oldest first.  Stops and returns cb's value when non-zero.  0
 * when none (also when host is not a host).  Entries' agents point into
 * a copy that lives until the walk returns: cb may write in txn. */
typedef int (*store_hist_cb)(const store_hist_t *e, void *arg);
int store_history_walk(store_txn_t *txn, const dname_t *host, int newest_first,
		       store_hist_cb cb, void *arg);

/* ---- ACME DNS-01 values at _acme-challenge.<host> ---- */

#define STORE_ACME_MAX 4            /* live values per host */
#define STORE_ACME_VALUE_MAX 255    /* bytes of one value (one TXT string) */
#define STORE_ACME_LABEL "_acme-challenge"
#define STORE_ACME_DEFAULT_TTL 60
#define STORE_ACME_DEFAULT_LIFETIME 3600 /* seconds a value lives unless cleaned up */

/*
 * The TXT RRset at _acme-challenge.H, in H's zone, holds every live ACME
 * value of host H, each as one quoted string.  The store adds and removes
 * exactly the contents it manages; TXT contents written there by the
 * operator (kyednsctl record, pdns: lego's pdns provider, certbot's
 * RFC 2136 plugin) are left alone, so both paths work side by side.  A
 * CNAME at _acme-challenge.H (an acme-dns style delegation) makes
 * store_acme_set fail with ERR_CLASH.  Every add or removal is a change
 * of zone data (serial bump at commit).  No function here writes any
 * other name or type, so a host's credentials reach nothing else.
 */
typedef struct store_acme {
	const char *value;        /* borrowed */
	uint8_t len;
	uint64_t expires;         /* unix seconds */
} store_acme_t;

/* 0 when value (len bytes) is a storable ACME value: 1..STORE_ACME_VALUE_MAX
 * bytes of printable ASCII 0x21..0x7e other than '"' and '\\' (no spaces:
 * ACME values are 43 base64url characters), else ERR_BADTXT.  Pure. */
int store_acme_check(const char *value, size_t len);

/* Writes _acme-challenge.<host> into *out.  0 or ERR_TOOBIG (over 255
 * bytes). */
int store_acme_name(const dname_t *host, dname_t *out);

/*
 * Adds value to host (or, when present, sets its expiry to expires) and
 * puts it in the TXT RRset with TTL ttl (which becomes the RRset's TTL).
 * Values of host whose expiry is <= now are removed first.  ERR_BADTXT
 * (store_acme_check), -EINVAL when expires <= now, ERR_TOOBIG when the
 * host already has STORE_ACME_MAX live values, ERR_CLASH as above.
 * *changed (may be NULL) = 1 when the RRset changed (a refresh only moves
 * the expiry: 0).
 */
int store_acme_set(store_txn_t *txn, const dname_t *host, const char *value, size_t len,
		   uint64_t expires, uint32_t ttl, uint64_t now, int *changed);

/* Removes value (value NULL: every value) of host and its TXT content.
 * 0; -ENOENT when a given value is not there (NULL with none: 0). */
int store_acme_del(store_txn_t *txn, const dname_t *host, const char *value, size_t len);

/* Calls cb for each value of host (all hosts when host is NULL; cb gets
 * the host name) in key order, expired ones included. */
typedef int (*store_acme_cb)(const dname_t *host, const store_acme_t *a, void *arg);
int store_acme_walk(store_txn_t *txn, const dname_t *host, store_acme_cb cb, void *arg);

/* Removes every value whose expiry is <= now, of all hosts, with its TXT
 * content (the RRset goes when empty).  *removed (may be NULL) = count. */
int store_acme_gc(store_txn_t *txn, uint64_t now, unsigned *removed);

#endif
