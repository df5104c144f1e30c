/*
 * store.c - the LMDB store, schema 2.  The value encodings are documented in
 * store.h; this file is the only place that sees MDB_* codes (lmdb_err()
 * maps them).  The schema-1 migration lives at the end of the file.
 */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <sodium.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "rdata.h"

struct store {
	MDB_env *env;
	MDB_dbi meta, zones, zoneids, records, hosts, domainmeta, tsigkeys, autoprimaries;
	MDB_dbi domainkeys;
	MDB_dbi hostopts, followers, tokens, acme; /* issue 12 */
	MDB_dbi oldhist;       /* a "history" table of a development store */
	int nokeys;            /* read-only open of a store made before domainkeys */
	int noext;             /* read-only open of a store made before hostopts & co */
	int hasoldhist;        /* oldhist is open: a writable open drops it */
	unsigned flags;
	/* Every active txn of this process holds the read side; resizing the
	 * map (which LMDB allows only with no txn active in the process) takes
	 * the write side.  Writer-preferring, so a busy reader loop cannot
	 * starve a grow. */
	pthread_rwlock_t map_lock;
	char path[PATH_MAX];
};

/* A zone this txn changed, with what the serial policy needs at commit. */
struct zchange {
	uint32_t id;
	uint32_t old_serial; /* the serial before the txn's first SOA write */
	uint8_t have_old;    /* old_serial is set (else: the row still holds it) */
	uint8_t explicit_soa; /* store_zone_put wrote SOA fields */
	uint8_t created;     /* store_zone_add in this txn: its serial is new */
};

struct store_txn {
	store_t *s;
	MDB_txn *txn;
	int write;
	int locked;            /* holds map_lock (read side) */
	struct zchange *changed;
	unsigned nchanged, capchanged;
};

/* ---- encoding helpers: explicit big-endian, never struct dumps ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}
static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint64_t get64(const uint8_t *p)
{
	return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

static int lmdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_NOTFOUND: return -ENOENT;
	case MDB_KEYEXIST: return -EEXIST;
	case MDB_MAP_FULL: return ERR_MAPFULL;
	case MDB_TXN_FULL: return ERR_TXNFULL;
	case MDB_READERS_FULL: return ERR_READERS;
	case MDB_MAP_RESIZED: return ERR_RESIZED;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH: return ERR_CORRUPT;
	case MDB_BAD_VALSIZE: return ERR_TOOBIG;
	/* ENOSPC (the disk, not the map, is full) stays -ENOSPC: growing the
	 * map would not help, and the caller must not loop on it */
	default:
		if (rc > 0)
			return -rc; /* errno */
		return -EIO;
	}
}

static MDB_val mval(const void *p, size_t n)
{
	MDB_val v = {n, (void *)p};
	return v;
}

/* RFC 1982: a is greater than b when the forward distance b -> a is 1 to
 * 2^31 - 1; a distance of exactly 2^31 is undefined, so never "greater". */
static int serial_gt(uint32_t a, uint32_t b)
{
	uint32_t d = a - b;
	return d != 0 && d < 0x80000000u;
}

/* The serial policy of store.h for a bump without an accepted explicit
 * serial: time when it is ahead, else one more.  Either way the step is
 * below 2^31. */
static uint32_t serial_next(uint32_t old, uint32_t now)
{
	uint32_t next = serial_gt(now, old) ? now : old + 1;
	if (next == 0)
		next = 1;
	return next;
}

static uint32_t unix_now(void)
{
	return (uint32_t)time(NULL);
}

/* ---- environment ---- */

static int adopt_mapsize(store_t *s)
{
	MDB_envinfo info;
	int rc;
	/* size 0 = "whatever the file's meta says, at least the used part" */
	rc = mdb_env_set_mapsize(s->env, 0);
	if (rc)
		return lmdb_err(rc);
	mdb_env_info(s->env, &info);
	if (info.me_mapsize < STORE_DEFAULT_MAPSIZE)
		rc = mdb_env_set_mapsize(s->env, STORE_DEFAULT_MAPSIZE);
	return lmdb_err(rc);
}

static int migrate_v1(store_t *s, MDB_txn *t);

/* Opens every schema-2 table in t (creating them when dbflags has
 * MDB_CREATE).  A missing one is ERR_VERSION: not a store we know. */
static int open_tables(store_t *s, MDB_txn *t, unsigned dbflags)
{
	int rc;
	if ((rc = mdb_dbi_open(t, "zones", dbflags, &s->zones)) ||
	    (rc = mdb_dbi_open(t, "zoneids", dbflags, &s->zoneids)) ||
	    (rc = mdb_dbi_open(t, "records", dbflags, &s->records)) ||
	    (rc = mdb_dbi_open(t, "hosts", dbflags, &s->hosts)) ||
	    (rc = mdb_dbi_open(t, "domainmeta", dbflags, &s->domainmeta)) ||
	    (rc = mdb_dbi_open(t, "tsigkeys", dbflags, &s->tsigkeys)) ||
	    (rc = mdb_dbi_open(t, "autoprimaries", dbflags, &s->autoprimaries)))
		return rc == MDB_NOTFOUND ? ERR_VERSION : lmdb_err(rc);
	/* domainkeys joined schema 2 before its release: a store written
	 * without it gets it at its next writable open (init_schema) */
	s->nokeys = 0;
	rc = mdb_dbi_open(t, "domainkeys", dbflags, &s->domainkeys);
	if (rc == MDB_NOTFOUND)
		s->nokeys = 1;
	else if (rc)
		return lmdb_err(rc);
	/* the issue-12 tables came later still, the same way: all or none */
	s->noext = 0;
	if ((rc = mdb_dbi_open(t, "hostopts", dbflags, &s->hostopts)) ||
	    (rc = mdb_dbi_open(t, "followers", dbflags, &s->followers)) ||
	    (rc = mdb_dbi_open(t, "tokens", dbflags, &s->tokens)) ||
	    (rc = mdb_dbi_open(t, "acme", dbflags, &s->acme))) {
		if (rc != MDB_NOTFOUND)
			return lmdb_err(rc);
		s->noext = 1;
	}
	/* Development builds kept history in a table of its own; it now lives
	 * in the host values, and a writable open drops the old table (its
	 * entries are not carried over: no release ever wrote it). */
	rc = mdb_dbi_open(t, "history", 0, &s->oldhist);
	s->hasoldhist = rc == 0;
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	return 0;
}

/* Reads the schema version in t: 0 and *version, ERR_VERSION when there is
 * no meta table or version key (not a KyedNS store), -ENOENT for an empty
 * environment (no named tables at all: a new store). */
static int read_version(store_t *s, MDB_txn *t, uint32_t *version)
{
	MDB_val k = mval("version", 7), v;
	int rc = mdb_dbi_open(t, "meta", 0, &s->meta);
	if (rc == MDB_NOTFOUND) {
		MDB_dbi main;
		MDB_stat st;
		if (mdb_dbi_open(t, NULL, 0, &main) == 0 && mdb_stat(t, main, &st) == 0 &&
		    st.ms_entries == 0)
			return -ENOENT;
		return ERR_VERSION;
	}
	if (rc)
		return lmdb_err(rc);
	rc = mdb_get(t, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		return ERR_VERSION;
	if (rc)
		return lmdb_err(rc);
	if (v.mv_size != 4)
		return ERR_VERSION;
	*version = get32(v.mv_data);
	return 0;
}

/* Creates the schema of a new store in the write txn t. */
static int create_schema(store_t *s, MDB_txn *t)
{
	MDB_val k = mval("version", 7), v, k2 = mval("next_zone_id", 12), v2;
	uint8_t buf[4], id[4];
	int rc;
	if ((rc = mdb_dbi_open(t, "meta", MDB_CREATE, &s->meta)))
		return lmdb_err(rc);
	if ((rc = open_tables(s, t, MDB_CREATE)) < 0)
		return rc;
	put32(buf, STORE_SCHEMA_VERSION);
	put32(id, 1);
	v = mval(buf, 4);
	v2 = mval(id, 4);
	if ((rc = mdb_put(t, s->meta, &k, &v, 0)) || (rc = mdb_put(t, s->meta, &k2, &v2, 0)))
		return lmdb_err(rc);
	return 0;
}

/*
 * Checks the schema and opens the tables.  A current store needs only a
 * read txn, so opening never waits for another process's writer.  A new
 * store or a schema-1 store takes a write txn and looks again inside it:
 * two processes may open the same old store at once, and only the first
 * may migrate.
 */
static int init_schema(store_t *s, int create)
{
	MDB_txn *t;
	uint32_t version = 0;
	int rc, rdonly = !!(s->flags & STORE_RDONLY);

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t)))
		return lmdb_err(rc);
	rc = read_version(s, t, &version);
	if (rc == 0 && version == STORE_SCHEMA_VERSION) {
		if ((rc = open_tables(s, t, 0)) < 0) {
			mdb_txn_abort(t);
			return rc;
		}
		/* committing a read txn keeps its DBI handles for later txns */
		if ((!s->nokeys && !s->noext && !s->hasoldhist) || rdonly)
			return lmdb_err(mdb_txn_commit(t));
		rc = 0; /* a writable open adds domainkeys or hostopts & co below */
	}
	mdb_txn_abort(t);
	if (rc == -ENOENT && !create)
		return ERR_VERSION; /* an empty LMDB file is not a store */
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == 0 && version != 1 && version != STORE_SCHEMA_VERSION)
		return ERR_VERSION;
	if (rdonly)
		return ERR_VERSION; /* schema 1 needs a migration we may not write */

	for (;;) {
		if ((rc = mdb_txn_begin(s->env, NULL, 0, &t)))
			return lmdb_err(rc);
		rc = read_version(s, t, &version);
		if (rc == -ENOENT)
			rc = create ? create_schema(s, t) : ERR_VERSION;
		else if (rc == 0 && version == 1)
			rc = migrate_v1(s, t);
		else if (rc == 0 && version == STORE_SCHEMA_VERSION)
			rc = open_tables(s, t, MDB_CREATE); /* another process got here
							     first, or a table is new */
		else if (rc == 0)
			rc = ERR_VERSION;
		if (rc == 0 && s->hasoldhist) {
			rc = lmdb_err(mdb_drop(t, s->oldhist, 1));
			s->hasoldhist = 0;
		}
		if (rc == 0) {
			rc = mdb_txn_commit(t);
			if (rc != MDB_MAP_FULL)
				return lmdb_err(rc);
		} else {
			mdb_txn_abort(t);
			if (rc != ERR_MAPFULL)
				return rc;
		}
		/* a migration holds both layouts until it commits: give it room
		 * (no txn of ours is active while store_open runs) */
		if ((rc = store_grow(s)) < 0)
			return rc;
	}
}

int store_open(store_t **out, const char *dir, unsigned flags)
{
	store_t *s;
	struct stat st;
	char datafile[PATH_MAX + 16];
	unsigned envflags = MDB_NOTLS;
	int rc, dead;
	pthread_rwlockattr_t attr;

	if (strlen(dir) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT || !(flags & STORE_CREATE))
			return -errno;
		if (mkdir(dir, 0750) != 0 && errno != EEXIST)
			return -errno;
	} else if (!S_ISDIR(st.st_mode)) {
		return -ENOTDIR;
	}
	snprintf(datafile, sizeof(datafile), "%s/data.mdb", dir);
	if (!(flags & STORE_CREATE) && stat(datafile, &st) != 0)
		return -ENOENT; /* never create a store as a side effect of reading */

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->flags = flags;
	strcpy(s->path, dir);
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->map_lock, &attr);
	pthread_rwlockattr_destroy(&attr);

	if (flags & STORE_RDONLY)
		envflags |= MDB_RDONLY;
	if (flags & STORE_NOSYNC)
		envflags |= MDB_NOSYNC;
	if ((rc = mdb_env_create(&s->env)) || (rc = mdb_env_set_maxdbs(s->env, 32)) ||
	    (rc = mdb_env_set_maxreaders(s->env, STORE_MAX_READERS)) ||
	    (rc = mdb_env_set_mapsize(s->env, STORE_DEFAULT_MAPSIZE)) ||
	    (rc = mdb_env_open(s->env, dir, envflags, 0640))) {
		rc = lmdb_err(rc);
		goto fail;
	}
	/* Reader slots of crashed processes pin old pages forever and fill
	 * the table; clear them before we add our own. */
	mdb_reader_check(s->env, &dead);
	if ((rc = adopt_mapsize(s)) < 0)
		goto fail;
	if ((rc = init_schema(s, !!(flags & STORE_CREATE))) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	if (s->env)
		mdb_env_close(s->env);
	pthread_rwlock_destroy(&s->map_lock);
	free(s);
	return rc;
}

void store_close(store_t *s)
{
	if (!s)
		return;
	mdb_env_close(s->env);
	pthread_rwlock_destroy(&s->map_lock);
	free(s);
}

const char *store_path(const store_t *s)
{
	return s->path;
}

int store_grow(store_t *s)
{
	MDB_envinfo info;
	uint64_t size;
	int rc;
	pthread_rwlock_wrlock(&s->map_lock);
	/* adopt what another process may already have set, then double */
	rc = mdb_env_set_mapsize(s->env, 0);
	if (!rc) {
		mdb_env_info(s->env, &info);
		size = (uint64_t)info.me_mapsize * 2;
		if (info.me_mapsize >= STORE_MAX_MAPSIZE)
			rc = -1;
		else
			rc = mdb_env_set_mapsize(s->env, size > STORE_MAX_MAPSIZE ? STORE_MAX_MAPSIZE : size);
	}
	pthread_rwlock_unlock(&s->map_lock);
	if (rc == -1)
		return ERR_MAPFULL;
	return lmdb_err(rc);
}

int store_sync(store_t *s)
{
	return mdb_env_sync(s->env, 1) ? -EIO : 0;
}

int store_reader_check(store_t *s)
{
	int dead = 0;
	mdb_reader_check(s->env, &dead);
	return dead;
}

/* ---- transactions ---- */

/* Takes the map lock and begins an LMDB txn, adopting a map grown by
 * another process (MDB_MAP_RESIZED) and clearing stale readers when the
 * table is full; both are retried once. */
static int begin_locked(store_t *s, int write, MDB_txn **out)
{
	int rc;
	for (int attempt = 0;; attempt++) {
		pthread_rwlock_rdlock(&s->map_lock);
		rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, out);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&s->map_lock);
		if (attempt >= 2)
			break;
		if (rc == MDB_MAP_RESIZED) {
			pthread_rwlock_wrlock(&s->map_lock);
			rc = mdb_env_set_mapsize(s->env, 0);
			pthread_rwlock_unlock(&s->map_lock);
			if (rc)
				break;
		} else if (rc == MDB_READERS_FULL) {
			int dead = 0;
			mdb_reader_check(s->env, &dead);
			if (dead == 0)
				break;
		} else {
			break;
		}
	}
	return lmdb_err(rc);
}

int store_txn_begin(store_t *s, int write, store_txn_t **out)
{
	store_txn_t *t;
	int rc;
	if (write && (s->flags & STORE_RDONLY))
		return -EACCES;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	rc = begin_locked(s, write, &t->txn);
	if (rc < 0) {
		free(t);
		return rc;
	}
	t->s = s;
	t->write = write;
	t->locked = 1;
	*out = t;
	return 0;
}

static void txn_free(store_txn_t *t)
{
	if (t->locked)
		pthread_rwlock_unlock(&t->s->map_lock);
	free(t->changed);
	free(t);
}

void store_txn_abort(store_txn_t *t)
{
	if (!t)
		return;
	if (t->txn)
		mdb_txn_abort(t->txn);
	txn_free(t);
}

void store_txn_reset(store_txn_t *t)
{
	if (t->write || !t->locked)
		return;
	mdb_txn_reset(t->txn);
	pthread_rwlock_unlock(&t->s->map_lock);
	t->locked = 0;
}

int store_txn_renew(store_txn_t *t)
{
	int rc;
	if (t->write)
		return -EINVAL;
	if (t->locked)
		return 0;
	/* An earlier renew gave up its LMDB txn and then could not begin a
	 * fresh one: begin now, or the handle would fail for ever. */
	if (!t->txn) {
		if ((rc = begin_locked(t->s, 0, &t->txn)) < 0) {
			t->txn = NULL;
			return rc;
		}
		t->locked = 1;
		return 0;
	}
	pthread_rwlock_rdlock(&t->s->map_lock);
	rc = mdb_txn_renew(t->txn);
	if (rc == 0) {
		t->locked = 1;
		return 0;
	}
	pthread_rwlock_unlock(&t->s->map_lock);
	if (rc != MDB_MAP_RESIZED && rc != MDB_READERS_FULL)
		return lmdb_err(rc);
	/* start over with a fresh txn after adopting the new map */
	mdb_txn_abort(t->txn);
	t->txn = NULL;
	rc = begin_locked(t->s, 0, &t->txn);
	if (rc < 0)
		return rc;
	t->locked = 1;
	return 0;
}

/* The change entry of zone id, created if missing (NULL: out of memory).
 * The updater marks the same zone again and again: look at the last
 * entry first. */
static struct zchange *zchange_get(store_txn_t *t, uint32_t id)
{
	struct zchange *c;
	for (unsigned i = t->nchanged; i-- > 0;)
		if (t->changed[i].id == id)
			return &t->changed[i];
	if (t->nchanged == t->capchanged) {
		unsigned cap = t->capchanged ? t->capchanged * 2 : 8;
		struct zchange *n = realloc(t->changed, cap * sizeof(*n));
		if (!n)
			return NULL;
		t->changed = n;
		t->capchanged = cap;
	}
	c = &t->changed[t->nchanged++];
	memset(c, 0, sizeof(*c));
	c->id = id;
	return c;
}

static int mark_changed(store_txn_t *t, uint32_t id)
{
	return zchange_get(t, id) ? 0 : -ENOMEM;
}

static int zone_write(store_txn_t *t, const store_zone_t *z);

/* Applies the serial policy (store.h) to every zone this txn changed. */
static int bump_serials(store_txn_t *t)
{
	uint32_t now = unix_now();
	for (unsigned i = 0; i < t->nchanged; i++) {
		struct zchange *c = &t->changed[i];
		store_zone_t z;
		uint32_t old, next;
		int rc = store_zone_get_by_id(t, c->id, &z);
		if (rc == -ENOENT)
			continue; /* deleted in this txn */
		if (rc < 0)
			return rc;
		if (z.kind == STORE_KIND_SLAVE || c->created)
			continue;
		old = c->have_old ? c->old_serial : z.serial;
		if (c->explicit_soa && serial_gt(z.serial, old))
			next = z.serial;
		else
			next = serial_next(old, now);
		if (next == z.serial)
			continue;
		z.serial = next;
		if ((rc = zone_write(t, &z)) < 0)
			return rc;
	}
	return 0;
}

int store_txn_commit(store_txn_t *t)
{
	int rc = 0;
	if (!t->write) {
		store_txn_abort(t);
		return 0;
	}
	rc = bump_serials(t);
	if (rc < 0) {
		store_txn_abort(t);
		return rc;
	}
	rc = mdb_txn_commit(t->txn);
	t->txn = NULL; /* commit frees the LMDB txn even on failure */
	txn_free(t);
	return lmdb_err(rc);
}

/* ---- zones ---- */

#define ZONE_FIXED 46 /* bytes before mname_len */
#define ZONE_MAXVAL (ZONE_FIXED + 1 + 255 + 1 + 255 + 2 + STORE_MAX_MASTERS + 1 + 255)

static int zone_decode(const MDB_val *k, const MDB_val *v, store_zone_t *z)
{
	const uint8_t *p = v->mv_data;
	size_t n = v->mv_size, off;
	if (n < ZONE_FIXED + 5 || dname_from_key(&z->name, k->mv_data, k->mv_size) < 0)
		return ERR_CORRUPT;
	z->id = get32(p);
	z->kind = p[4];
	z->flags = p[5];
	z->serial = get32(p + 6);
	z->notified_serial = get32(p + 10);
	z->refresh = get32(p + 14);
	z->retry = get32(p + 18);
	z->expire = get32(p + 22);
	z->minimum = get32(p + 26);
	z->ttl = get32(p + 30);
	z->last_check = get64(p + 34);
	/* p + 42: reserved u32, zero */
	off = ZONE_FIXED;
	z->mname_len = p[off];
	if (off + 1 + z->mname_len + 1 > n)
		return ERR_CORRUPT;
	z->mname = (const char *)p + off + 1;
	off += 1u + z->mname_len;
	z->rname_len = p[off];
	if (off + 1 + z->rname_len + 2 > n)
		return ERR_CORRUPT;
	z->rname = (const char *)p + off + 1;
	off += 1u + z->rname_len;
	z->masters_len = get16(p + off);
	if (off + 2 + z->masters_len + 1 > n)
		return ERR_CORRUPT;
	z->masters = (const char *)p + off + 2;
	off += 2u + z->masters_len;
	z->account_len = p[off];
	if (off + 1 + z->account_len > n)
		return ERR_CORRUPT;
	z->account = (const char *)p + off + 1;
	return 0;
}

/* Encodes z into buf (ZONE_MAXVAL bytes); returns the length. */
static size_t zone_encode(const store_zone_t *z, uint8_t *buf)
{
	size_t n = ZONE_FIXED;
	uint16_t ml = z->masters_len; /* <= STORE_MAX_MASTERS, checked by the callers */
	put32(buf, z->id);
	buf[4] = z->kind;
	buf[5] = z->flags;
	put32(buf + 6, z->serial);
	put32(buf + 10, z->notified_serial);
	put32(buf + 14, z->refresh);
	put32(buf + 18, z->retry);
	put32(buf + 22, z->expire);
	put32(buf + 26, z->minimum);
	put32(buf + 30, z->ttl);
	put64(buf + 34, z->last_check);
	put32(buf + 42, 0);
	/* the strings may point into the map: copy before the put moves pages */
	buf[n++] = z->mname_len;
	if (z->mname_len)
		memcpy(buf + n, z->mname, z->mname_len);
	n += z->mname_len;
	buf[n++] = z->rname_len;
	if (z->rname_len)
		memcpy(buf + n, z->rname, z->rname_len);
	n += z->rname_len;
	put16(buf + n, ml);
	n += 2;
	if (ml)
		memcpy(buf + n, z->masters, ml);
	n += ml;
	buf[n++] = z->account_len;
	if (z->account_len)
		memcpy(buf + n, z->account, z->account_len);
	n += z->account_len;
	return n;
}

static int zone_write(store_txn_t *t, const store_zone_t *z)
{
	uint8_t *buf = malloc(ZONE_MAXVAL);
	MDB_val k = mval(z->name.key, z->name.len), v;
	int rc;
	if (!buf)
		return -ENOMEM;
	v = mval(buf, zone_encode(z, buf));
	rc = lmdb_err(mdb_put(t->txn, t->s->zones, &k, &v, 0));
	free(buf);
	return rc;
}

static int next_zone_id(store_txn_t *t, uint32_t *id)
{
	MDB_val k = mval("next_zone_id", 12), v;
	uint8_t buf[4];
	int rc = mdb_get(t->txn, t->s->meta, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? ERR_CORRUPT : lmdb_err(rc);
	if (v.mv_size != 4)
		return ERR_CORRUPT;
	*id = get32(v.mv_data);
	put32(buf, *id + 1);
	v = mval(buf, 4);
	return lmdb_err(mdb_put(t->txn, t->s->meta, &k, &v, 0));
}

/* Looks up one name in dbi; the root name is never a key. */
static int get_name(store_txn_t *t, MDB_dbi dbi, const dname_t *name, MDB_val *v)
{
	MDB_val k = mval(name->key, name->len);
	if (name->len == 0)
		return -ENOENT;
	return lmdb_err(mdb_get(t->txn, dbi, &k, v));
}

int store_zone_add(store_txn_t *t, store_zone_t *z)
{
	MDB_val k = mval(z->name.key, z->name.len), v;
	uint8_t idbuf[4];
	struct zchange *c;
	int rc;
	if (!t->write)
		return -EACCES;
	if (z->name.len == 0)
		return ERR_BADNAME; /* the root zone is not ours to serve */
	if (z->masters_len > STORE_MAX_MASTERS)
		return ERR_TOOBIG;
	rc = mdb_get(t->txn, t->s->zones, &k, &v);
	if (rc == 0)
		return -EEXIST;
	if (rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	rc = get_name(t, t->s->hosts, &z->name, &v);
	if (rc == 0)
		return ERR_CLASH; /* a host's name holds its addresses, not an apex */
	if (rc != -ENOENT)
		return rc;
	if ((rc = next_zone_id(t, &z->id)) < 0)
		return rc;
	if (z->serial == 0 && !(z->flags & STORE_ZONE_NOSOA))
		z->serial = unix_now();
	if ((rc = zone_write(t, z)) < 0)
		return rc;
	put32(idbuf, z->id);
	k = mval(idbuf, 4);
	v = mval(z->name.key, z->name.len);
	if ((rc = lmdb_err(mdb_put(t->txn, t->s->zoneids, &k, &v, 0))) < 0)
		return rc;
	/* records added in the same txn do not bump the serial just chosen */
	if (!(c = zchange_get(t, z->id)))
		return -ENOMEM;
	c->created = 1;
	return 0;
}

int store_zone_get(store_txn_t *t, const dname_t *name, store_zone_t *out)
{
	MDB_val k = mval(name->key, name->len), v;
	int rc = get_name(t, t->s->zones, name, &v);
	if (rc < 0)
		return rc;
	return zone_decode(&k, &v, out);
}

static int bytes_eq(const char *a, size_t al, const char *b, size_t bl)
{
	return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

int store_zone_put(store_txn_t *t, const store_zone_t *z)
{
	store_zone_t old, nz = *z;
	struct zchange *c;
	int rc, soa;
	if (!t->write)
		return -EACCES;
	if (z->masters_len > STORE_MAX_MASTERS)
		return ERR_TOOBIG;
	if ((rc = store_zone_get(t, &z->name, &old)) < 0)
		return rc;
	nz.id = old.id;
	/* last_check means the last SOA check of a slave zone and the last
	 * NOTIFY round of a master zone: a new kind starts from "never", so a
	 * new slave is checked and a new master notified at the next cycle */
	if (nz.kind != old.kind)
		nz.last_check = 0;
	soa = z->serial != old.serial || z->refresh != old.refresh || z->retry != old.retry ||
	      z->expire != old.expire || z->minimum != old.minimum || z->ttl != old.ttl ||
	      !bytes_eq(z->mname, z->mname_len, old.mname, old.mname_len) ||
	      !bytes_eq(z->rname, z->rname_len, old.rname, old.rname_len);
	if (soa) {
		/* the serial before this txn's first SOA write is the "old" one of
		 * the policy; record it before the row changes */
		if (!(c = zchange_get(t, old.id)))
			return -ENOMEM;
		if (!c->have_old) {
			c->old_serial = old.serial;
			c->have_old = 1;
		}
		c->explicit_soa = 1;
	}
	return zone_write(t, &nz);
}

/* The apex name of zone id (zoneids only: one get). 0, -ENOENT. */
static int zone_apex(store_txn_t *t, uint32_t id, dname_t *apex)
{
	uint8_t idbuf[4];
	MDB_val k = mval(idbuf, 4), v;
	int rc;
	put32(idbuf, id);
	rc = mdb_get(t->txn, t->s->zoneids, &k, &v);
	if (rc)
		return lmdb_err(rc);
	if (dname_from_key(apex, v.mv_data, v.mv_size) < 0)
		return ERR_CORRUPT;
	return 0;
}

int store_zone_get_by_id(store_txn_t *t, uint32_t id, store_zone_t *out)
{
	dname_t name;
	int rc = zone_apex(t, id, &name);
	if (rc < 0)
		return rc;
	rc = store_zone_get(t, &name, out);
	return rc == -ENOENT ? ERR_CORRUPT : rc;
}

int store_zone_find(store_txn_t *t, const dname_t *name, store_zone_t *out)
{
	dname_t n = *name;
	/* longest suffix first: the closest enclosing zone wins */
	while (n.len > 0) {
		int rc = store_zone_get(t, &n, out);
		if (rc == 0)
			return 0;
		if (rc != -ENOENT)
			return rc;
		dname_parent(&n);
	}
	return ERR_NOZONE;
}

int store_zone_set_notified(store_txn_t *t, uint32_t id, uint32_t serial)
{
	store_zone_t z;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = store_zone_get_by_id(t, id, &z)) < 0)
		return rc;
	z.notified_serial = serial;
	/* a master zone's last_check is the time of its last NOTIFY round:
	 * the backend's --notify-min-interval holds the next one back from it */
	if (z.kind == STORE_KIND_MASTER)
		z.last_check = unix_now();
	return zone_write(t, &z);
}

int store_zone_set_checked(store_txn_t *t, uint32_t id, uint64_t when)
{
	store_zone_t z;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = store_zone_get_by_id(t, id, &z)) < 0)
		return rc;
	z.last_check = when;
	return zone_write(t, &z);
}

int store_zone_walk(store_txn_t *t, store_zone_cb cb, void *arg)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc = mdb_cursor_open(t->txn, t->s->zones, &c);
	if (rc)
		return lmdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		store_zone_t z;
		int r = zone_decode(&k, &v, &z);
		if (r == 0)
			r = cb(&z, arg);
		if (r) {
			mdb_cursor_close(c);
			return r;
		}
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/*
 * Deletes the item under cursor c and moves to the next one (its key and
 * value in *k, *v).  LMDB leaves a cursor whose item was deleted in a state
 * where MDB_GET_CURRENT fails with EINVAL once the database is empty, so
 * this seeks again from a copy of the deleted key instead.  0,
 * MDB_NOTFOUND past the end, or an MDB error.
 */
static int cursor_del_next(MDB_cursor *c, MDB_val *k, MDB_val *v)
{
	uint8_t copy[512];
	int rc;
	if (k->mv_size > sizeof copy)
		return MDB_BAD_VALSIZE;
	memcpy(copy, k->mv_data, k->mv_size);
	if ((rc = mdb_cursor_del(c, 0)) != 0)
		return rc;
	k->mv_data = copy;
	rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	return rc;
}

/* Deletes every key of dbi that starts with prefix (plen bytes).  With
 * keep, keys for which keep(key, value, arg) returns 1 stay; a negative
 * return aborts. */
static int del_prefix(store_txn_t *t, MDB_dbi dbi, const uint8_t *prefix, size_t plen,
		      int (*keep)(store_txn_t *, const MDB_val *, const MDB_val *, void *), void *arg)
{
	MDB_cursor *c;
	MDB_val k = mval(prefix, plen), v;
	int rc = mdb_cursor_open(t->txn, dbi, &c), r;
	if (rc)
		return lmdb_err(rc);
	rc = plen ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		if (keep && (r = keep(t, &k, &v, arg)) != 0) {
			if (r < 0) {
				mdb_cursor_close(c);
				return r;
			}
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
			continue;
		}
		rc = cursor_del_next(c, &k, &v);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : lmdb_err(rc);
}

#define HOST_FIXED (4 + TOKEN_HASH_LEN + 8 + 8 + 4 + 1 + 16 + 1)

static int zone_hosts_cascade(store_txn_t *t, const dname_t *apex, uint32_t id);

/* keep callback: hosts of other zones stay. */
static int host_of_other_zone(store_txn_t *t, const MDB_val *k, const MDB_val *v, void *arg)
{
	(void)t;
	(void)k;
	if (v->mv_size < HOST_FIXED)
		return ERR_CORRUPT;
	return get32(v->mv_data) != *(const uint32_t *)arg;
}

int store_zone_del(store_txn_t *t, const dname_t *name)
{
	store_zone_t z;
	uint8_t idbuf[4];
	MDB_val k;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = store_zone_get(t, name, &z)) < 0)
		return rc;
	put32(idbuf, z.id);
	if ((rc = zone_hosts_cascade(t, name, z.id)) < 0)
		return rc;
	if ((rc = del_prefix(t, t->s->records, idbuf, 4, NULL, NULL)) < 0 ||
	    (rc = del_prefix(t, t->s->domainmeta, idbuf, 4, NULL, NULL)) < 0 ||
	    (!t->s->nokeys && (rc = del_prefix(t, t->s->domainkeys, idbuf, 4, NULL, NULL)) < 0) ||
	    (rc = del_prefix(t, t->s->hosts, name->key, name->len, host_of_other_zone, &z.id)) < 0)
		return rc;
	k = mval(idbuf, 4);
	if ((rc = mdb_del(t->txn, t->s->zoneids, &k, NULL)) && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	k = mval(name->key, name->len);
	return lmdb_err(mdb_del(t->txn, t->s->zones, &k, NULL));
}

/* ---- names and RRsets ---- */

#define RKEY_MAX (4 + DNAME_MAX_CANON)

/* A record write's target: the zone, the owner and its records key. */
typedef struct rtarget {
	uint32_t id;
	dname_t apex;
	uint8_t key[RKEY_MAX];
	size_t klen;
	int is_apex;
} rtarget_t;

/* Builds the records key of name in zone id whose apex is known. */
static int rkey_build(rtarget_t *r, uint32_t id, const dname_t *apex, const dname_t *name)
{
	int n = dname_canon_key(name, apex, r->key + 4);
	if (n < 0)
		return ERR_NOZONE;
	r->id = id;
	r->apex = *apex;
	put32(r->key, id);
	r->klen = 4u + (size_t)n;
	r->is_apex = n == 0;
	return 0;
}

/* Resolves zone id (ERR_NOZONE when missing) and name's key in it
 * (ERR_NOZONE when name is outside the zone). */
static int rtarget(store_txn_t *t, uint32_t id, const dname_t *name, rtarget_t *r)
{
	dname_t apex;
	int rc = zone_apex(t, id, &apex);
	if (rc == -ENOENT)
		return ERR_NOZONE;
	if (rc < 0)
		return rc;
	return rkey_build(r, id, &apex, name);
}

static int rget(store_txn_t *t, const uint8_t *key, size_t klen, MDB_val *v)
{
	MDB_val k = mval(key, klen);
	return lmdb_err(mdb_get(t->txn, t->s->records, &k, v));
}

void store_rr_iter_init(store_rr_iter_t *it, const void *data, size_t len)
{
	it->p = data;
	/* An empty value may come as NULL: NULL + 0 is undefined in C. */
	it->end = len ? it->p + len : it->p;
	it->type = 0;
	it->ttl = 0;
	it->left = 0;
}

int store_rr_next(store_rr_iter_t *it, store_rr_t *rr)
{
	uint16_t len;
	while (it->left == 0) {
		if (it->p == it->end)
			return 0;
		if (it->end - it->p < 8)
			return ERR_CORRUPT;
		it->type = get16(it->p);
		it->ttl = get32(it->p + 2);
		it->left = get16(it->p + 6);
		it->p += 8;
	}
	if (it->end - it->p < 2)
		return ERR_CORRUPT;
	len = get16(it->p);
	if ((size_t)(it->end - it->p) < 2u + len)
		return ERR_CORRUPT;
	rr->type = it->type;
	rr->ttl = it->ttl;
	rr->data = (const char *)it->p + 2;
	rr->len = len;
	it->p += 2u + len;
	it->left--;
	return 1;
}

int store_name_get(store_txn_t *t, uint32_t zone_id, const dname_t *name, store_rr_iter_t *it)
{
	rtarget_t r;
	MDB_val v;
	int rc = rtarget(t, zone_id, name, &r);
	if (rc == ERR_NOZONE)
		return -ENOENT;
	if (rc < 0)
		return rc;
	if ((rc = rget(t, r.key, r.klen, &v)) < 0)
		return rc;
	store_rr_iter_init(it, v.mv_data, v.mv_size);
	return 0;
}

/* Length of the RRset starting at p (8-byte header and its rdatas), or 0
 * when it runs past end. */
static size_t rrset_len(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p + 8;
	uint16_t cnt;
	if (end - p < 8)
		return 0;
	cnt = get16(p + 6);
	for (uint16_t j = 0; j < cnt; j++) {
		if (end - q < 2 || (size_t)(end - q) < 2u + get16(q))
			return 0;
		q += 2u + get16(q);
	}
	return (size_t)(q - p);
}

/* Does the value hold an RRset of type? */
static int value_has(const MDB_val *v, uint16_t type)
{
	const uint8_t *p = v->mv_data, *end = p + v->mv_size;
	size_t n;
	for (; p < end; p += n) {
		if ((n = rrset_len(p, end)) == 0)
			return 0;
		if (get16(p) == type)
			return 1;
	}
	return 0;
}

int store_name_has_below(store_txn_t *t, uint32_t zone_id, const dname_t *name)
{
	rtarget_t r;
	MDB_cursor *c;
	MDB_val k, v;
	int rc = rtarget(t, zone_id, name, &r), found = 0;
	if (rc == ERR_NOZONE)
		return 0;
	if (rc < 0)
		return rc;
	if ((rc = mdb_cursor_open(t->txn, t->s->records, &c)))
		return lmdb_err(rc);
	k = mval(r.key, r.klen);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size == r.klen && memcmp(k.mv_data, r.key, r.klen) == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	if (rc == 0)
		found = k.mv_size > r.klen && memcmp(k.mv_data, r.key, r.klen) == 0;
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	return found;
}

int store_name_below_cut(store_txn_t *t, uint32_t zone_id, const dname_t *name, int at_or_below)
{
	rtarget_t r;
	int rc = rtarget(t, zone_id, name, &r);
	size_t end;
	if (rc == ERR_NOZONE)
		return 0;
	if (rc < 0)
		return rc;
	/* each ancestor's key is a prefix of name's key that ends at a label
	 * terminator: test those between the apex and name (name's own last
	 * terminator only with at_or_below) */
	end = at_or_below ? r.klen : r.klen - 1;
	for (size_t i = 4; i < end; i++) {
		MDB_val v;
		if (r.key[i] != 0)
			continue;
		rc = rget(t, r.key, i + 1, &v);
		if (rc == -ENOENT)
			continue;
		if (rc < 0)
			return rc;
		if (value_has(&v, RR_NS))
			return 1;
	}
	return 0;
}

int store_name_walk(store_txn_t *t, uint32_t zone_id, store_name_cb cb, void *arg)
{
	MDB_cursor *c;
	MDB_val k, v;
	dname_t apex;
	uint8_t idbuf[4];
	int rc = zone_apex(t, zone_id, &apex), r = 0;
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	put32(idbuf, zone_id);
	if ((rc = mdb_cursor_open(t->txn, t->s->records, &c)))
		return lmdb_err(rc);
	k = mval(idbuf, 4);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		dname_t owner;
		store_rr_iter_t it;
		if (k.mv_size < 4 || memcmp(k.mv_data, idbuf, 4) != 0)
			break;
		if (dname_from_canon_key(&owner, &apex, (const uint8_t *)k.mv_data + 4,
					 k.mv_size - 4) < 0) {
			r = ERR_CORRUPT;
			break;
		}
		store_rr_iter_init(&it, v.mv_data, v.mv_size);
		if ((r = cb(&owner, &it, arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (r)
		return r;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* Appends one RRset in the records-value encoding at buf + *o. */
static void put_rrset(uint8_t *buf, size_t *o, uint16_t type, uint32_t ttl,
		      const char *const *contents, const uint16_t *lens, unsigned count)
{
	put16(buf + *o, type);
	put32(buf + *o + 2, ttl);
	put16(buf + *o + 6, (uint16_t)count);
	*o += 8;
	for (unsigned j = 0; j < count; j++) {
		put16(buf + *o, lens[j]);
		memcpy(buf + *o + 2, contents[j], lens[j]);
		*o += 2u + lens[j];
	}
}

/*
 * Rewrites the value at records key r with RRset `type` replaced by the
 * given contents (count 0 removes it).  Validates CNAME exclusivity against
 * the other RRsets of the owner.  Sets *changed.  The new value is built in
 * a heap buffer: the old one lives in the map and stays valid until our put.
 */
static int rrset_replace(store_txn_t *t, const rtarget_t *r, uint16_t type, uint32_t ttl,
			 const char *const *contents, const uint16_t *lens, unsigned count,
			 int *changed)
{
	MDB_val k = mval(r->key, r->klen), v = {0, NULL};
	const uint8_t *p, *end;
	size_t newlen = 0, o = 0, n;
	uint8_t *buf;
	int rc, present = 0, same = 0, others = 0, had_cname = 0, inserted = 0;

	*changed = 0;
	rc = mdb_get(t->txn, t->s->records, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	p = v.mv_data;
	end = p ? p + v.mv_size : NULL;

	/* pass 1: validate the old value, find our RRset and the others */
	for (; p && p < end; p += n) {
		uint16_t ty;
		if ((n = rrset_len(p, end)) == 0)
			return ERR_CORRUPT;
		ty = get16(p);
		if (ty != type) {
			others = 1;
			had_cname |= ty == RR_CNAME;
			newlen += n;
			continue;
		}
		present = 1;
		/* identical set (same TTL, same contents in order) = no change */
		if (count && get32(p + 2) == ttl && get16(p + 6) == count) {
			const uint8_t *q = p + 8;
			same = 1;
			for (unsigned j = 0; j < count && same; j++) {
				same = get16(q) == lens[j] && memcmp(q + 2, contents[j], lens[j]) == 0;
				q += 2u + get16(q);
			}
		}
	}
	if (count == 0 ? !present : same)
		return 0;
	if (count && type == RR_CNAME) {
		if (count > 1 || others)
			return ERR_CLASH;
	} else if (count && had_cname) {
		return ERR_CLASH;
	}
	if (count == 0 && !others) {
		/* the owner loses its last RRset */
		if ((rc = mdb_del(t->txn, t->s->records, &k, NULL)) != 0)
			return lmdb_err(rc);
		*changed = 1;
		return 0;
	}
	if (count) {
		newlen += 8;
		for (unsigned j = 0; j < count; j++)
			newlen += 2u + lens[j];
	}
	if (newlen > STORE_MAX_VALUE)
		return ERR_TOOBIG;
	if (!(buf = malloc(newlen)))
		return -ENOMEM;
	/* pass 2: copy the others in type order, ours in its place */
	for (p = v.mv_data; p && p < end; p += n) {
		uint16_t ty = get16(p);
		n = rrset_len(p, end);
		if (count && !inserted && ty > type) {
			put_rrset(buf, &o, type, ttl, contents, lens, count);
			inserted = 1;
		}
		if (ty != type) {
			memcpy(buf + o, p, n);
			o += n;
		}
	}
	if (count && !inserted)
		put_rrset(buf, &o, type, ttl, contents, lens, count);
	v = mval(buf, o);
	rc = mdb_put(t->txn, t->s->records, &k, &v, 0);
	free(buf);
	if (rc)
		return lmdb_err(rc);
	*changed = 1;
	return 0;
}

/* Types no zone stores: the SOA (it is the zone row) and meta types. */
static int type_storable(uint16_t type)
{
	switch (type) {
	case 0:
	case RR_SOA:
	case RR_OPT:
	case RR_TSIG:
	case RR_TKEY:
	case RR_IXFR:
	case RR_AXFR:
	case RR_MAILA:
	case RR_MAILB:
	case RR_ANY: return 0;
	default: return 1;
	}
}

static int wildcard_host_of(store_txn_t *t, uint32_t id, const dname_t *name);

/* Is name a host of zone id, or the *.H of a host H of zone id that has
 * the wildcard option (whose A/AAAA belong to H)?  1, 0, or < 0 on error. */
static int is_host_of(store_txn_t *t, uint32_t id, const dname_t *name)
{
	MDB_val v;
	int rc = get_name(t, t->s->hosts, name, &v);
	if (rc == -ENOENT)
		return dname_is_wildcard(name) ? wildcard_host_of(t, id, name) : 0;
	if (rc < 0)
		return rc;
	if (v.mv_size < HOST_FIXED)
		return ERR_CORRUPT;
	return get32(v.mv_data) == id;
}

/* The per-RRset rules of store_rr_add that need no look at other RRsets,
 * and the host-owned rules (host: is name a host of this zone). */
static int rr_rules(const rtarget_t *r, uint16_t type, int host, int adding)
{
	if (!type_storable(type))
		return ERR_BADTYPE;
	if (host && (type == RR_A || type == RR_AAAA))
		return ERR_HOSTOWNED;
	if (!adding)
		return 0;
	if (r->is_apex && (type == RR_CNAME || type == RR_DS))
		return ERR_ISZONE;
	if (host && type == RR_CNAME)
		return ERR_CLASH; /* a host's name must be able to hold its addresses */
	return 0;
}

/* Prepares a write of RRset type at name in zone id: resolves the key
 * and applies rr_rules. */
static int rr_prepare(store_txn_t *t, uint32_t id, const dname_t *name, uint16_t type, int adding,
		      rtarget_t *r)
{
	int rc, host = 0;
	if (!t->write)
		return -EACCES;
	if (!type_storable(type))
		return ERR_BADTYPE;
	if ((rc = rtarget(t, id, name, r)) < 0)
		return rc;
	if (type == RR_A || type == RR_AAAA || type == RR_CNAME) {
		if ((host = is_host_of(t, id, name)) < 0)
			return host;
	}
	return rr_rules(r, type, host, adding);
}

int store_rrset_set(store_txn_t *t, uint32_t zone_id, const dname_t *name, uint16_t type,
		    uint32_t ttl, const char *const *contents, const uint16_t *lens, unsigned count,
		    int *changed)
{
	rtarget_t r;
	int ch = 0, rc;
	if (changed)
		*changed = 0;
	if (count > UINT16_MAX)
		return ERR_TOOBIG;
	if ((rc = rr_prepare(t, zone_id, name, type, count > 0, &r)) < 0)
		return rc;
	rc = rrset_replace(t, &r, type, ttl, contents, lens, count, &ch);
	if (rc == 0 && ch)
		rc = mark_changed(t, zone_id);
	if (changed)
		*changed = ch;
	return rc;
}

/* Grows the parallel content/length arrays of an RRset to want slots; on
 * failure frees both and returns -ENOMEM. */
static int pair_reserve(const char ***c, uint16_t **l, unsigned want)
{
	const char **nc = realloc(*c, want * sizeof(**c));
	uint16_t *nl;
	if (!nc) {
		free(*c);
		free(*l);
		return -ENOMEM;
	}
	*c = nc;
	nl = realloc(*l, want * sizeof(**l));
	if (!nl) {
		free(*c);
		free(*l);
		return -ENOMEM;
	}
	*l = nl;
	return 0;
}

/* Reads the contents of one RRset into arrays pointing into the map. */
static int rrset_read(store_txn_t *t, const rtarget_t *r, uint16_t type, const char ***contents,
		      uint16_t **lens, unsigned *count, uint32_t *ttl)
{
	store_rr_iter_t it;
	store_rr_t rr;
	unsigned n = 0, cap = 0;
	const char **c = NULL;
	uint16_t *l = NULL;
	MDB_val v;
	int rc = rget(t, r->key, r->klen, &v);
	*contents = NULL;
	*lens = NULL;
	*count = 0;
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	store_rr_iter_init(&it, v.mv_data, v.mv_size);
	while ((rc = store_rr_next(&it, &rr)) == 1) {
		if (rr.type != type)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			/* one spare slot: store_rr_add appends without growing */
			if (pair_reserve(&c, &l, cap + 1) < 0)
				return -ENOMEM;
		}
		c[n] = rr.data;
		l[n] = rr.len;
		*ttl = rr.ttl;
		n++;
	}
	if (rc < 0) {
		free(c);
		free(l);
		return rc;
	}
	*contents = c;
	*lens = l;
	*count = n;
	return 0;
}

int store_rr_add(store_txn_t *t, uint32_t zone_id, const dname_t *name, uint16_t type,
		 uint32_t ttl, const char *content, size_t len)
{
	rtarget_t r;
	const char **c;
	uint16_t *l;
	unsigned n;
	uint32_t oldttl = ttl;
	int rc, ch;
	char *copy;
	if (len > STORE_MAX_CONTENT)
		return ERR_TOOBIG;
	if ((rc = rr_prepare(t, zone_id, name, type, 1, &r)) < 0)
		return rc;
	if ((rc = rrset_read(t, &r, type, &c, &l, &n, &oldttl)) < 0)
		return rc;
	for (unsigned i = 0; i < n; i++) {
		if (l[i] == len && memcmp(c[i], content, len) == 0) {
			free(c);
			free(l);
			return -EEXIST;
		}
	}
	if (n >= UINT16_MAX) {
		free(c);
		free(l);
		return ERR_TOOBIG;
	}
	/* the existing contents point into the map; rrset_replace builds the
	 * new value before it writes, so they stay valid while it reads them */
	if (!c && pair_reserve(&c, &l, 1) < 0)
		return -ENOMEM;
	copy = malloc(len ? len : 1);
	if (!copy) {
		free(c);
		free(l);
		return -ENOMEM;
	}
	memcpy(copy, content, len);
	c[n] = copy;
	l[n] = (uint16_t)len;
	rc = rrset_replace(t, &r, type, ttl, c, l, n + 1, &ch);
	if (rc == 0 && ch)
		rc = mark_changed(t, zone_id);
	free(copy);
	free(c);
	free(l);
	return rc;
}

int store_rr_del(store_txn_t *t, uint32_t zone_id, const dname_t *name, uint16_t type,
		 const char *content, size_t len)
{
	rtarget_t r;
	const char **c;
	uint16_t *l;
	unsigned n, m = 0;
	uint32_t ttl = 0;
	int rc, ch, found = 0;
	if ((rc = rr_prepare(t, zone_id, name, type, 0, &r)) < 0)
		return rc == ERR_NOZONE || rc == ERR_BADTYPE ? -ENOENT : rc;
	if ((rc = rrset_read(t, &r, type, &c, &l, &n, &ttl)) < 0)
		return rc;
	if (n == 0) {
		free(c);
		free(l);
		return -ENOENT;
	}
	if (content) {
		for (unsigned i = 0; i < n; i++) {
			if (!found && l[i] == len && memcmp(c[i], content, len) == 0) {
				found = 1;
				continue;
			}
			c[m] = c[i];
			l[m] = l[i];
			m++;
		}
		if (!found) {
			free(c);
			free(l);
			return -ENOENT;
		}
	}
	rc = rrset_replace(t, &r, type, ttl, c, l, m, &ch);
	if (rc == 0 && ch)
		rc = mark_changed(t, zone_id);
	free(c);
	free(l);
	return rc;
}

/* qsort_r orders: by (type, input position), which keeps the order given
 * within an RRset and makes the first RR of a type give its TTL; and by
 * (type, content, input position), which puts duplicates next to each
 * other, the first one given first. */
static int by_type_pos(const void *a, const void *b, void *arg)
{
	const store_rr_t *rrs = arg;
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	if (rrs[x].type != rrs[y].type)
		return rrs[x].type < rrs[y].type ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int by_type_content_pos(const void *a, const void *b, void *arg)
{
	const store_rr_t *rrs = arg;
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	if (rrs[x].type != rrs[y].type)
		return rrs[x].type < rrs[y].type ? -1 : 1;
	if (rrs[x].len != rrs[y].len)
		return rrs[x].len < rrs[y].len ? -1 : 1;
	int c = memcmp(rrs[x].data, rrs[y].data, rrs[x].len);
	if (c)
		return c;
	return x < y ? -1 : x > y;
}

int store_value_encode(const store_rr_t *rrs, unsigned n, uint8_t **out, size_t *outlen)
{
	unsigned *idx;
	uint8_t *dup, *buf;
	size_t len = 0, o = 0;

	*out = NULL;
	*outlen = 0;
	if (n == 0)
		return 0;
	idx = malloc(n * sizeof(*idx));
	dup = calloc(n, 1);
	if (!idx || !dup) {
		free(idx);
		free(dup);
		return -ENOMEM;
	}
	/* O(n log n): an RRset from pdns can hold tens of thousands of RRs */
	for (unsigned i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), by_type_content_pos, (void *)rrs);
	for (unsigned i = 1; i < n; i++) {
		const store_rr_t *a = &rrs[idx[i - 1]], *b = &rrs[idx[i]];
		dup[idx[i]] = a->type == b->type && a->len == b->len &&
			      memcmp(a->data, b->data, a->len) == 0;
	}
	qsort_r(idx, n, sizeof(*idx), by_type_pos, (void *)rrs);
	for (unsigned i = 0, j; i < n; i = j) {
		unsigned cnt = 0;
		len += 8;
		for (j = i; j < n && rrs[idx[j]].type == rrs[idx[i]].type; j++)
			if (!dup[idx[j]]) {
				len += 2u + rrs[idx[j]].len;
				cnt++;
			}
		if (cnt > UINT16_MAX)
			len = STORE_MAX_VALUE + 1; /* the count is a u16 */
	}
	if (len > STORE_MAX_VALUE || !(buf = malloc(len))) {
		free(idx);
		free(dup);
		return len > STORE_MAX_VALUE ? ERR_TOOBIG : -ENOMEM;
	}
	for (unsigned i = 0, j; i < n; i = j) {
		uint16_t type = rrs[idx[i]].type;
		size_t hdr = o;
		unsigned cnt = 0;
		o += 8;
		for (j = i; j < n && rrs[idx[j]].type == type; j++) {
			const store_rr_t *a = &rrs[idx[j]];
			if (dup[idx[j]])
				continue;
			put16(buf + o, a->len);
			memcpy(buf + o + 2, a->data, a->len);
			o += 2u + a->len;
			cnt++;
		}
		put16(buf + hdr, type);
		put32(buf + hdr + 2, rrs[idx[i]].ttl);
		put16(buf + hdr + 6, (uint16_t)cnt);
	}
	free(idx);
	free(dup);
	*out = buf;
	*outlen = o;
	return 0;
}

/*
 * store_name_set and store_name_check: the owner's new value is the kept
 * host A/AAAA plus rrs, encoded by store_value_encode; with write, it is
 * stored.
 */
static int name_set(store_txn_t *t, uint32_t zone_id, const dname_t *name, const store_rr_t *rrs,
		    unsigned n, int write)
{
	rtarget_t r;
	MDB_val k, v = {0, NULL};
	store_rr_t *all = NULL;
	unsigned nall = 0, nkept = 0;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc, host;

	if (write && !t->write)
		return -EACCES;
	if ((rc = rtarget(t, zone_id, name, &r)) < 0)
		return rc;
	if ((host = is_host_of(t, zone_id, name)) < 0)
		return host;
	for (unsigned i = 0; i < n; i++)
		if ((rc = rr_rules(&r, rrs[i].type, host, 1)) < 0)
			return rc;
	k = mval(r.key, r.klen);
	rc = mdb_get(t->txn, t->s->records, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	if (rc == MDB_NOTFOUND)
		v = mval(NULL, 0);
	/* the host's A/AAAA stay as they are: they go first, rrs holds none */
	if (host && v.mv_size) {
		store_rr_iter_t it;
		store_rr_t rr;
		store_rr_iter_init(&it, v.mv_data, v.mv_size);
		while ((rc = store_rr_next(&it, &rr)) == 1)
			nkept += rr.type == RR_A || rr.type == RR_AAAA;
		if (rc < 0)
			return rc;
	}
	if (n + nkept && !(all = malloc((n + nkept) * sizeof(*all))))
		return -ENOMEM;
	if (nkept) {
		store_rr_iter_t it;
		store_rr_t rr;
		store_rr_iter_init(&it, v.mv_data, v.mv_size);
		while (store_rr_next(&it, &rr) == 1)
			if (rr.type == RR_A || rr.type == RR_AAAA)
				all[nall++] = rr;
	}
	for (unsigned i = 0; i < n; i++) {
		/* a CNAME stands alone: one target (duplicates collapse), nothing else */
		if (rrs[i].type == RR_CNAME || (n && rrs[0].type == RR_CNAME)) {
			if (nkept || rrs[i].type != rrs[0].type || rrs[i].len != rrs[0].len ||
			    memcmp(rrs[i].data, rrs[0].data, rrs[0].len) != 0) {
				free(all);
				return ERR_CLASH;
			}
		}
		all[nall++] = rrs[i];
	}
	rc = store_value_encode(all, nall, &buf, &len);
	free(all);
	if (rc < 0 || !write) {
		free(buf);
		return rc;
	}
	if (len == v.mv_size && (len == 0 || memcmp(buf, v.mv_data, len) == 0)) {
		free(buf);
		return 0; /* identical: nothing written, no serial bump */
	}
	if (len == 0)
		rc = mdb_del(t->txn, t->s->records, &k, NULL);
	else {
		MDB_val nv = mval(buf, len);
		rc = mdb_put(t->txn, t->s->records, &k, &nv, 0);
	}
	free(buf);
	if (rc)
		return lmdb_err(rc);
	return mark_changed(t, zone_id);
}

int store_name_set(store_txn_t *t, uint32_t zone_id, const dname_t *name, const store_rr_t *rrs,
		   unsigned n)
{
	return name_set(t, zone_id, name, rrs, n, 1);
}

int store_name_check(store_txn_t *t, uint32_t zone_id, const dname_t *name, const store_rr_t *rrs,
		     unsigned n)
{
	return name_set(t, zone_id, name, rrs, n, 0);
}

/* keep callback of store_zone_clear: an owner that is a host of the zone
 * keeps exactly its A/AAAA RRsets (rewritten in place when it had more). */
struct clear_arg {
	uint32_t id;
	const dname_t *apex;
	int changed;
};

static int clear_keep(store_txn_t *t, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct clear_arg *a = arg;
	dname_t owner;
	const uint8_t *p = v->mv_data, *end = p + v->mv_size;
	size_t m, keep = 0, other = 0;
	int host;
	if (dname_from_canon_key(&owner, a->apex, (const uint8_t *)k->mv_data + 4, k->mv_size - 4) < 0)
		return ERR_CORRUPT;
	if ((host = is_host_of(t, a->id, &owner)) <= 0) {
		if (host == 0)
			a->changed = 1;
		return host; /* 0: delete */
	}
	for (; p < end; p += m) {
		if ((m = rrset_len(p, end)) == 0)
			return ERR_CORRUPT;
		if (get16(p) == RR_A || get16(p) == RR_AAAA)
			keep += m;
		else
			other += m;
	}
	if (keep == 0) {
		a->changed = 1;
		return 0;
	}
	if (other) {
		uint8_t *buf = malloc(keep);
		MDB_val nv = mval(buf, 0);
		int rc;
		if (!buf)
			return -ENOMEM;
		for (p = v->mv_data; p < end; p += m) {
			m = rrset_len(p, end);
			if (get16(p) == RR_A || get16(p) == RR_AAAA) {
				memcpy(buf + nv.mv_size, p, m);
				nv.mv_size += m;
			}
		}
		/* the key lives in the page the put rewrites: copy it first */
		uint8_t key[RKEY_MAX];
		MDB_val nk = mval(key, k->mv_size);
		if (k->mv_size > sizeof(key)) {
			free(buf);
			return ERR_CORRUPT;
		}
		memcpy(key, k->mv_data, k->mv_size);
		rc = mdb_put(t->txn, t->s->records, &nk, &nv, 0);
		free(buf);
		if (rc)
			return lmdb_err(rc);
		a->changed = 1;
	}
	return 1;
}

int store_zone_clear(store_txn_t *t, uint32_t id)
{
	dname_t apex;
	uint8_t idbuf[4];
	struct clear_arg a;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = zone_apex(t, id, &apex)) < 0)
		return rc;
	put32(idbuf, id);
	a.id = id;
	a.apex = &apex;
	a.changed = 0;
	if ((rc = del_prefix(t, t->s->records, idbuf, 4, clear_keep, &a)) < 0)
		return rc;
	return mark_changed(t, id);
}

/* ---- search ---- */

/* pdns glob: '*' any run, '?' one byte; ASCII case-insensitive. */
static int glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
	size_t p = 0, i = 0, star = (size_t)-1, mark = 0;
	while (i < slen) {
		if (p < plen && (pat[p] == '?' ||
				 tolower((unsigned char)pat[p]) == tolower((unsigned char)s[i]))) {
			p++;
			i++;
		} else if (p < plen && pat[p] == '*') {
			star = p++;
			mark = i;
		} else if (star != (size_t)-1) {
			p = star + 1;
			i = ++mark;
		} else {
			return 0;
		}
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

/* Writes the SOA content of z in backend form (names without the dot). */
static int soa_content(const store_zone_t *z, char *buf, size_t size)
{
	int ml = z->mname_len, rl = z->rname_len;
	if (ml > 1 && z->mname[ml - 1] == '.')
		ml--;
	if (rl > 1 && z->rname[rl - 1] == '.')
		rl--;
	return snprintf(buf, size, "%.*s %.*s %u %u %u %u %u", ml, z->mname, rl, z->rname, z->serial,
			z->refresh, z->retry, z->expire, z->minimum);
}

int store_search(store_txn_t *t, const char *pattern, size_t plen, unsigned max,
		 store_search_cb cb, void *arg)
{
	MDB_cursor *zc, *rc_;
	MDB_val zk, zv;
	unsigned found = 0;
	int rc, r = 0;
	if (max == 0)
		return 0;
	if ((rc = mdb_cursor_open(t->txn, t->s->zoneids, &zc)))
		return lmdb_err(rc);
	if ((rc = mdb_cursor_open(t->txn, t->s->records, &rc_))) {
		mdb_cursor_close(zc);
		return lmdb_err(rc);
	}
	for (rc = mdb_cursor_get(zc, &zk, &zv, MDB_FIRST); rc == 0 && !r && found < max;
	     rc = mdb_cursor_get(zc, &zk, &zv, MDB_NEXT)) {
		store_zone_t z;
		dname_t apex;
		char text[DNAME_MAX_TEXT], soa[3 * 256 + 64];
		uint8_t idbuf[4];
		MDB_val k, v;
		int tl, sl;
		if (zk.mv_size != 4 || dname_from_key(&apex, zv.mv_data, zv.mv_size) < 0) {
			r = ERR_CORRUPT;
			break;
		}
		memcpy(idbuf, zk.mv_data, 4);
		if ((r = store_zone_get(t, &apex, &z)) < 0) {
			if (r == -ENOENT)
				r = ERR_CORRUPT;
			break;
		}
		if (!(z.flags & STORE_ZONE_NOSOA)) {
			tl = dname_to_text_nodot(&apex, text, sizeof(text));
			sl = soa_content(&z, soa, sizeof(soa));
			if (tl >= 0 && sl >= 0 &&
			    (glob_match(pattern, plen, text, (size_t)tl) ||
			     glob_match(pattern, plen, soa, (size_t)sl))) {
				store_rr_t rr = {RR_SOA, z.ttl, soa, (uint16_t)sl};
				found++;
				if ((r = cb(&z, &apex, &rr, arg)) != 0)
					break;
			}
		}
		k = mval(idbuf, 4);
		for (rc = mdb_cursor_get(rc_, &k, &v, MDB_SET_RANGE); rc == 0 && found < max;
		     rc = mdb_cursor_get(rc_, &k, &v, MDB_NEXT)) {
			dname_t owner;
			store_rr_iter_t it;
			store_rr_t rr;
			int owner_match, x = 0;
			if (k.mv_size < 4 || memcmp(k.mv_data, idbuf, 4) != 0)
				break;
			if (dname_from_canon_key(&owner, &apex, (const uint8_t *)k.mv_data + 4,
						 k.mv_size - 4) < 0 ||
			    (tl = dname_to_text_nodot(&owner, text, sizeof(text))) < 0) {
				r = ERR_CORRUPT;
				break;
			}
			owner_match = glob_match(pattern, plen, text, (size_t)tl);
			store_rr_iter_init(&it, v.mv_data, v.mv_size);
			while (found < max && (x = store_rr_next(&it, &rr)) == 1) {
				if (!owner_match && !glob_match(pattern, plen, rr.data, rr.len))
					continue;
				found++;
				if ((r = cb(&z, &owner, &rr, arg)) != 0)
					break;
			}
			if (!r && x < 0)
				r = x;
			if (r)
				break;
		}
		if (rc != 0 && rc != MDB_NOTFOUND && !r)
			r = lmdb_err(rc);
		rc = 0;
	}
	mdb_cursor_close(rc_);
	mdb_cursor_close(zc);
	if (r)
		return r;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* ---- hosts ---- */

static int host_decode(const MDB_val *v, store_host_t *h)
{
	const uint8_t *p = v->mv_data;
	size_t off = 4 + TOKEN_HASH_LEN;
	if (v->mv_size < HOST_FIXED)
		return ERR_CORRUPT;
	h->zone_id = get32(p);
	memcpy(h->token_hash, p + 4, TOKEN_HASH_LEN);
	h->created = get64(p + off);
	h->updated = get64(p + off + 8);
	h->ttl = get32(p + off + 16);
	memset(&h->last_client, 0, sizeof(h->last_client));
	h->last_client.family = p[off + 20];
	if (h->last_client.family != 0 && h->last_client.family != 4 && h->last_client.family != 6)
		return ERR_CORRUPT;
	memcpy(h->last_client.bytes, p + off + 21, 16);
	h->agent_len = p[off + 37];
	if (HOST_FIXED + (size_t)h->agent_len > v->mv_size)
		return ERR_CORRUPT;
	h->agent = (const char *)p + HOST_FIXED;
	return 0;
}

static size_t host_encode(const store_host_t *h, uint8_t *buf)
{
	size_t off = 4 + TOKEN_HASH_LEN;
	put32(buf, h->zone_id);
	memcpy(buf + 4, h->token_hash, TOKEN_HASH_LEN);
	put64(buf + off, h->created);
	put64(buf + off + 8, h->updated);
	put32(buf + off + 16, h->ttl);
	buf[off + 20] = h->last_client.family;
	memcpy(buf + off + 21, h->last_client.bytes, 16);
	buf[off + 37] = h->agent_len;
	if (h->agent_len)
		memcpy(buf + HOST_FIXED, h->agent, h->agent_len);
	return HOST_FIXED + (size_t)h->agent_len;
}

static int hist_ring_off(const MDB_val *v, size_t *off);
static int hist_ring_put(const uint8_t *ring, size_t rlen, const store_hist_t *e, unsigned keep,
			 uint8_t *out, size_t *outlen);

/* Writes host value h, keeping the history ring of the value it replaces
 * (a new host starts without one), with e put at the ring's head when
 * e is not NULL (keep as for store_history_add).  One cursor finds the
 * value and replaces it: a single B-tree search for the read and the
 * write, and the entry costs no second rewrite of the value. */
static int host_write_hist(store_txn_t *t, const dname_t *name, const store_host_t *h,
			   const store_hist_t *e, unsigned keep)
{
	uint8_t buf[HOST_FIXED + 255 + STORE_HIST_BYTES];
	MDB_val k = mval(name->key, name->len), v;
	MDB_cursor *c;
	size_t len = host_encode(h, buf), roff, n = 0;
	int rc = mdb_cursor_open(t->txn, t->s->hosts, &c), found;
	if (rc)
		return lmdb_err(rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET);
	found = rc == 0;
	if (rc == 0) {
		if (hist_ring_off(&v, &roff) < 0 || v.mv_size - roff > STORE_HIST_BYTES) {
			rc = ERR_CORRUPT;
		} else if (e) {
			rc = hist_ring_put((const uint8_t *)v.mv_data + roff, v.mv_size - roff, e,
					   keep, buf + len, &n);
		} else {
			n = v.mv_size - roff;
			memcpy(buf + len, (const uint8_t *)v.mv_data + roff, n);
		}
	} else if (rc == MDB_NOTFOUND) {
		rc = e ? hist_ring_put(NULL, 0, e, keep, buf + len, &n) : 0;
	} else {
		rc = lmdb_err(rc);
	}
	if (rc == 0) {
		/* in place at the cursor (the key is the caller's, never the
		 * map's: a resized node is deleted and added again) */
		k = mval(name->key, name->len);
		v = mval(buf, len + n);
		rc = lmdb_err(mdb_cursor_put(c, &k, &v, found ? MDB_CURRENT : 0));
	}
	mdb_cursor_close(c);
	return rc;
}

static int host_write(store_txn_t *t, const dname_t *name, const store_host_t *h)
{
	return host_write_hist(t, name, h, NULL, 0);
}

int store_host_get(store_txn_t *t, const dname_t *name, store_host_t *out)
{
	MDB_val v;
	int rc = get_name(t, t->s->hosts, name, &v);
	if (rc < 0)
		return rc;
	return host_decode(&v, out);
}

/* 1 if the apex NS RRset of zone z names name, 0 if not, or an error. */
static int host_is_ns_of(store_txn_t *t, const store_zone_t *z, const dname_t *name)
{
	rtarget_t r;
	store_rr_iter_t it;
	store_rr_t rr;
	MDB_val v;
	dname_t target;
	int rc;
	if ((rc = rkey_build(&r, z->id, &z->name, &z->name)) < 0)
		return rc;
	if ((rc = rget(t, r.key, r.klen, &v)) < 0)
		return rc == -ENOENT ? 0 : rc;
	store_rr_iter_init(&it, v.mv_data, v.mv_size);
	while ((rc = store_rr_next(&it, &rr)) == 1)
		if (rr.type == RR_NS && dname_parse_pdns(&target, rr.data, rr.len) == 0 &&
		    dname_equal(&target, name))
			return 1;
	return rc;
}

/*
 * The names a new host must not take, because its token would then write
 * the addresses of something it does not own: a name with any static
 * RRset (the host's A/AAAA would replace or sit beside it), a name at or
 * below a zone cut inside its zone (glue lives there), and a name server
 * name of the apex NS set of its zone or of any zone above it in the store
 * (resolvers reach the zone through that address).  ERR_CLASH for each, 0
 * when free, or a store error.  NS records of delegations elsewhere in the
 * zone are not searched (that would need a scan of the zone per host).
 */
static int host_name_refused(store_txn_t *t, const store_zone_t *z, const dname_t *name)
{
	store_zone_t y = *z;
	dname_t up = *name;
	rtarget_t r;
	MDB_val v;
	int rc;
	for (int at_name = 1; !dname_equal(&up, &z->name); at_name = 0) {
		if ((rc = rkey_build(&r, z->id, &z->name, &up)) < 0)
			return rc;
		rc = rget(t, r.key, r.klen, &v);
		if (rc == 0 && (at_name ? v.mv_size > 0 : value_has(&v, RR_NS)))
			return ERR_CLASH;
		if (rc < 0 && rc != -ENOENT)
			return rc;
		if (dname_parent(&up) < 0)
			break;
	}
	for (;;) {
		dname_t parent = y.name;
		if ((rc = host_is_ns_of(t, &y, name)) != 0)
			return rc < 0 ? rc : ERR_CLASH;
		if (dname_parent(&parent) < 0)
			return 0;
		rc = store_zone_find(t, &parent, &y);
		if (rc == ERR_NOZONE || rc == -ENOENT)
			return 0;
		if (rc < 0)
			return rc;
	}
}

int store_host_put(store_txn_t *t, const dname_t *name, const store_host_t *h)
{
	store_host_t nh = *h, old;
	store_zone_t z;
	int rc;
	if (!t->write)
		return -EACCES;
	rc = store_host_get(t, name, &old);
	if (rc == 0) {
		nh.zone_id = old.zone_id; /* fixed when the host was created */
		return host_write(t, name, &nh);
	}
	if (rc != -ENOENT)
		return rc;
	if ((rc = store_zone_find(t, name, &z)) < 0)
		return rc;
	if (dname_equal(name, &z.name))
		return ERR_ISZONE;
	if ((rc = host_name_refused(t, &z, name)) < 0)
		return rc;
	nh.zone_id = z.id;
	return host_write(t, name, &nh);
}

static int host_cascade(store_txn_t *t, const dname_t *name, const store_host_t *h, int records);
static int hopt_read(store_txn_t *t, const dname_t *name, store_hostopt_t *o);
static int host_set_addrs(store_txn_t *t, const dname_t *name, const store_host_t *h,
			  store_hostopt_t *o, const addr_t *v4, const addr_t *v6, addr_t *old4,
			  addr_t *old6, int *changed);
static int host_touch(store_txn_t *t, const dname_t *name, const store_host_t *h, uint64_t now,
		      const addr_t *client, const char *agent, size_t agent_len,
		      const store_hist_t *e, unsigned keep);

int store_host_del(store_txn_t *t, const dname_t *name)
{
	MDB_val k = mval(name->key, name->len);
	store_host_t h;
	rtarget_t r;
	int rc, ch, any = 0;
	if (!t->write)
		return -EACCES;
	if ((rc = store_host_get(t, name, &h)) < 0)
		return rc;
	if ((rc = host_cascade(t, name, &h, 1)) < 0)
		return rc;
	if ((rc = mdb_del(t->txn, t->s->hosts, &k, NULL)))
		return lmdb_err(rc);
	rc = rtarget(t, h.zone_id, name, &r);
	if (rc == ERR_NOZONE)
		return 0;
	if (rc < 0)
		return rc;
	if ((rc = rrset_replace(t, &r, RR_A, 0, NULL, NULL, 0, &ch)) < 0)
		return rc;
	any |= ch;
	if ((rc = rrset_replace(t, &r, RR_AAAA, 0, NULL, NULL, 0, &ch)) < 0)
		return rc;
	any |= ch;
	return any ? mark_changed(t, h.zone_id) : 0;
}

/* The host's address of one family in a records value: 1 and *a if the
 * RRset has exactly one valid address, else 0. */
static void value_addrs(const MDB_val *v, addr_t *v4, addr_t *v6)
{
	store_rr_iter_t it;
	store_rr_t rr;
	store_rr_iter_init(&it, v->mv_data, v->mv_size);
	while (store_rr_next(&it, &rr) == 1) {
		if (rr.type == RR_A && !v4->family)
			addr_parse4(v4, rr.data, rr.len);
		else if (rr.type == RR_AAAA && !v6->family)
			addr_parse6(v6, rr.data, rr.len);
	}
}

int store_host_addrs(store_txn_t *t, const dname_t *name, addr_t *v4, addr_t *v6)
{
	store_host_t h;
	rtarget_t r;
	MDB_val v;
	int rc;
	v4->family = 0;
	v6->family = 0;
	if ((rc = store_host_get(t, name, &h)) < 0)
		return rc;
	rc = rtarget(t, h.zone_id, name, &r);
	if (rc == ERR_NOZONE)
		return 0;
	if (rc < 0)
		return rc;
	rc = rget(t, r.key, r.klen, &v);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	value_addrs(&v, v4, v6);
	return 0;
}

/* Is the single-address RRset of this type in value v exactly text/ttl? */
static int addr_stored(const MDB_val *v, uint16_t type, const char *text, size_t len, uint32_t ttl)
{
	store_rr_iter_t it;
	store_rr_t rr;
	int n = 0, same = 0;
	store_rr_iter_init(&it, v->mv_data, v->mv_size);
	while (store_rr_next(&it, &rr) == 1) {
		if (rr.type != type)
			continue;
		n++;
		same = rr.len == len && memcmp(rr.data, text, len) == 0 && rr.ttl == ttl;
	}
	return n == 1 && same;
}

int store_host_update(store_txn_t *t, const dname_t *name, const addr_t *v4, const addr_t *v6,
		      const addr_t *client, const char *agent, size_t agent_len, uint64_t now,
		      int *changed)
{
	return store_host_update_ex(t, name, v4, v6, client, agent, agent_len, now, changed, NULL,
				    NULL);
}

int store_host_update_ex(store_txn_t *t, const dname_t *name, const addr_t *v4, const addr_t *v6,
			 const addr_t *client, const char *agent, size_t agent_len, uint64_t now,
			 int *changed, addr_t *old4, addr_t *old6)
{
	return store_host_update_hist(t, name, v4, v6, client, agent, agent_len, now, 0, changed,
				      old4, old6);
}

int store_host_update_hist(store_txn_t *t, const dname_t *name, const addr_t *v4,
			   const addr_t *v6, const addr_t *client, const char *agent,
			   size_t agent_len, uint64_t now, unsigned keep, int *changed,
			   addr_t *old4, addr_t *old6)
{
	store_host_t h;
	store_hostopt_t o;
	store_hist_t e;
	addr_t o4, o6;
	int rc, ch;

	*changed = 0;
	if (!t->write)
		return -EACCES;
	if (keep > STORE_HIST_MAX_KEEP)
		return -EINVAL;
	if ((rc = store_host_get(t, name, &h)) < 0)
		return rc;
	if ((rc = hopt_read(t, name, &o)) < 0)
		return rc;
	rc = host_set_addrs(t, name, &h, &o, v4, v6, &o4, &o6, &ch);
	if (old4)
		*old4 = o4;
	if (old6)
		*old6 = o6;
	if (rc < 0 || !ch)
		return rc;
	if (keep) {
		memset(&e, 0, sizeof(e));
		e.time = now;
		e.result = STORE_HIST_GOOD;
		e.old4 = o4;
		e.new4 = v4 && v4->family == 4 ? *v4 : o4;
		e.old6 = o6;
		e.new6 = v6 && v6->family == 6 ? *v6 : o6;
		if (client)
			e.client = *client;
		e.agent = agent;
		e.agent_len = (uint8_t)(agent_len > 255 ? 255 : agent_len);
	}
	/* every field of h is a copy except agent, which pointed into the map
	 * (possibly moved by the puts above) and is replaced here */
	if ((rc = host_touch(t, name, &h, now, client, agent, agent_len, keep ? &e : NULL,
			     keep)) < 0)
		return rc;
	*changed = 1;
	return 0;
}

int store_host_walk(store_txn_t *t, const dname_t *name, store_host_cb cb, void *arg)
{
	MDB_cursor *c;
	MDB_val k, v;
	size_t plen = name ? name->len : 0;
	int rc, r = 0;
	if ((rc = mdb_cursor_open(t->txn, t->s->hosts, &c)))
		return lmdb_err(rc);
	if (plen) {
		k = mval(name->key, plen);
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	} else {
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	}
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		dname_t hn;
		store_host_t h;
		if (plen && (k.mv_size < plen || memcmp(k.mv_data, name->key, plen) != 0))
			break;
		if (dname_from_key(&hn, k.mv_data, k.mv_size) < 0 || host_decode(&v, &h) < 0) {
			r = ERR_CORRUPT;
			break;
		}
		if ((r = cb(&hn, &h, arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (r)
		return r;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* ---- issue 12: host options, scoped tokens, history, ACME values ---- */

/* host key | 0x00: the prefix of a host's entries in followers, tokens,
 * history and acme.  The length bytes of a key are never 0, so the 0x00
 * ends the host key: a.example.com's entries are not example.com's. */
#define SUB_MAX (DNAME_MAX_KEY + 1)

static size_t sub_prefix(uint8_t *out, const dname_t *host)
{
	memcpy(out, host->key, host->len);
	out[host->len] = 0;
	return host->len + 1u;
}

/* The length of the host key at the start of key k (up to its 0x00), or
 * 0 when k does not hold one. */
static size_t sub_host_len(const uint8_t *k, size_t n)
{
	size_t i = 0;
	while (i < n && k[i] != 0)
		i += 1u + k[i];
	return i < n && i > 0 ? i : 0;
}

/* Is key k (n bytes) one of the entries under prefix p (plen bytes)? */
static int has_prefix(const MDB_val *k, const uint8_t *p, size_t plen)
{
	return k->mv_size > plen && memcmp(k->mv_data, p, plen) == 0;
}

/* An address as u8 family | n bytes. */
static void addr_put(uint8_t *p, const addr_t *a, size_t n)
{
	p[0] = a->family;
	memcpy(p + 1, a->bytes, n);
}

static int addr_get(addr_t *a, const uint8_t *p, size_t n, int fam_ok)
{
	memset(a, 0, sizeof(*a));
	a->family = p[0];
	if (a->family != 0 && a->family != 4 && a->family != 6)
		return ERR_CORRUPT;
	if (a->family != 0 && fam_ok && a->family != fam_ok)
		return ERR_CORRUPT;
	memcpy(a->bytes, p + 1, n);
	return 0;
}

/* ---- host options ---- */

#define HOPT_FIXED 51

static int hopt_decode(const MDB_val *v, store_hostopt_t *o)
{
	const uint8_t *p = v->mv_data;
	int rc;
	memset(o, 0, sizeof(*o));
	if (v->mv_size < HOPT_FIXED || v->mv_size != HOPT_FIXED + (size_t)p[50])
		return ERR_CORRUPT;
	o->flags = p[0];
	o->has_iid = p[1] ? 1 : 0;
	memcpy(o->iid, p + 2, 8);
	if ((rc = addr_get(&o->saved4, p + 10, 4, 4)) < 0 ||
	    (rc = addr_get(&o->saved6, p + 15, 16, 6)) < 0)
		return rc;
	o->prefix.family = p[32];
	o->prefix_len = p[33];
	memcpy(o->prefix.bytes, p + 34, 16);
	if ((o->prefix.family != 0 && o->prefix.family != 6) || o->prefix_len > 64)
		return ERR_CORRUPT;
	if (p[50] && dname_from_key(&o->follow, p + HOPT_FIXED, p[50]) < 0)
		return ERR_CORRUPT;
	return 0;
}

static size_t hopt_encode(const store_hostopt_t *o, uint8_t *b)
{
	b[0] = o->flags;
	b[1] = o->has_iid ? 1 : 0;
	memcpy(b + 2, o->iid, 8);
	addr_put(b + 10, &o->saved4, 4);
	addr_put(b + 15, &o->saved6, 16);
	b[32] = o->prefix.family;
	b[33] = o->prefix_len;
	memcpy(b + 34, o->prefix.bytes, 16);
	b[50] = o->follow.len;
	memcpy(b + HOPT_FIXED, o->follow.key, o->follow.len);
	return HOPT_FIXED + (size_t)o->follow.len;
}

/* The options of name, all zero when it has none (or the store predates
 * them).  Does not check that name is a host. */
static int hopt_read(store_txn_t *t, const dname_t *name, store_hostopt_t *o)
{
	MDB_val v;
	int rc;
	memset(o, 0, sizeof(*o));
	if (t->s->noext)
		return 0;
	rc = get_name(t, t->s->hostopts, name, &v);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	return hopt_decode(&v, o);
}

/* Writes o, or deletes the entry when o holds nothing but defaults. */
static int hopt_write(store_txn_t *t, const dname_t *name, const store_hostopt_t *o)
{
	uint8_t buf[HOPT_FIXED + DNAME_MAX_KEY];
	MDB_val k = mval(name->key, name->len), v;
	int rc;
	if (t->s->noext)
		return -EACCES;
	if (o->flags == 0 && !o->has_iid && o->prefix.family == 0 && o->follow.len == 0) {
		rc = mdb_del(t->txn, t->s->hostopts, &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
	}
	v = mval(buf, hopt_encode(o, buf));
	return lmdb_err(mdb_put(t->txn, t->s->hostopts, &k, &v, 0));
}

int store_hostopt_get(store_txn_t *t, const dname_t *name, store_hostopt_t *out)
{
	store_host_t h;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = store_host_get(t, name, &h)) < 0)
		return rc;
	return hopt_read(t, name, out);
}

static int wildcard_host_of(store_txn_t *t, uint32_t id, const dname_t *name)
{
	dname_t parent = *name;
	store_hostopt_t o;
	MDB_val v;
	int rc;
	if (t->s->noext || dname_parent(&parent) < 0)
		return 0;
	rc = get_name(t, t->s->hosts, &parent, &v);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (v.mv_size < HOST_FIXED)
		return ERR_CORRUPT;
	if (get32(v.mv_data) != id)
		return 0;
	if ((rc = hopt_read(t, &parent, &o)) < 0)
		return rc;
	return (o.flags & STORE_HOST_WILDCARD) != 0;
}

int store_prefix_addr(const addr_t *prefix, unsigned plen, const uint8_t iid[8], addr_t *out)
{
	unsigned full = plen / 8, rest = plen % 8;
	if (!prefix || prefix->family != 6 || plen > 64)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->family = 6;
	memcpy(out->bytes, prefix->bytes, full);
	if (rest)
		out->bytes[full] = (uint8_t)(prefix->bytes[full] & (0xffu << (8 - rest)));
	if (iid)
		memcpy(out->bytes + 8, iid, 8);
	return 0;
}

/* Sets the RRset `type` at r to the one address a (a NULL or family 0:
 * removes it).  *any |= whether it changed. */
static int addr_rrset(store_txn_t *t, const rtarget_t *r, uint16_t type, uint32_t ttl,
		      const addr_t *a, int *any)
{
	char text[ADDR_TEXT_MAX];
	const char *c = text;
	uint16_t l;
	int n, rc, ch = 0;
	if (!a || a->family == 0) {
		rc = rrset_replace(t, r, type, 0, NULL, NULL, 0, &ch);
	} else {
		if ((n = addr_format(a, text, sizeof(text))) < 0)
			return n;
		l = (uint16_t)n;
		rc = rrset_replace(t, r, type, ttl, &c, &l, 1, &ch);
	}
	*any |= ch;
	return rc;
}

/* The records target of *.name in zone id. */
static int star_target(store_txn_t *t, uint32_t id, const dname_t *name, rtarget_t *r)
{
	dname_t star;
	int rc = dname_child(&star, name, "*", 1);
	if (rc < 0)
		return rc;
	return rtarget(t, id, &star, r);
}

/*
 * Sets the addresses of host name (v4/v6 NULL or of the other family:
 * left alone) where they live now: the records of H (and of *.H with the
 * wildcard option), or the saved ones in o while offline (o is written
 * then).  *old4 and *old6 = the addresses before.  *changed = 1 when anything
 * changed; the zone is marked changed when records did.  Does not touch
 * the host value.
 */
static int host_set_addrs(store_txn_t *t, const dname_t *name, const store_host_t *h,
			  store_hostopt_t *o, const addr_t *v4, const addr_t *v6, addr_t *old4,
			  addr_t *old6, int *changed)
{
	int want4 = v4 && v4->family == 4, want6 = v6 && v6->family == 6;
	int set4 = 0, set6 = 0, n4 = 0, n6 = 0, rc, ch;
	char t4[ADDR_TEXT_MAX], t6[ADDR_TEXT_MAX];
	rtarget_t r, rs;
	MDB_val v = {0, NULL};

	*changed = 0;
	memset(old4, 0, sizeof(*old4));
	memset(old6, 0, sizeof(*old6));
	if (o->flags & STORE_HOST_OFFLINE) {
		*old4 = o->saved4;
		*old6 = o->saved6;
		if (want4 && !addr_equal(&o->saved4, v4)) {
			o->saved4 = *v4;
			set4 = 1;
		}
		if (want6 && !addr_equal(&o->saved6, v6)) {
			o->saved6 = *v6;
			set6 = 1;
		}
		if (!set4 && !set6)
			return 0;
		if ((rc = hopt_write(t, name, o)) < 0)
			return rc;
		*changed = 1;
		return 0;
	}
	if ((rc = rtarget(t, h->zone_id, name, &r)) < 0)
		return rc;
	rc = rget(t, r.key, r.klen, &v);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == 0)
		value_addrs(&v, old4, old6);
	if (want4) {
		if ((n4 = addr_format(v4, t4, sizeof(t4))) < 0)
			return n4;
		set4 = !addr_stored(&v, RR_A, t4, (size_t)n4, h->ttl);
	}
	if (want6) {
		if ((n6 = addr_format(v6, t6, sizeof(t6))) < 0)
			return n6;
		set6 = !addr_stored(&v, RR_AAAA, t6, (size_t)n6, h->ttl);
	}
	if (!set4 && !set6)
		return 0;
	if ((o->flags & STORE_HOST_WILDCARD) && (rc = star_target(t, h->zone_id, name, &rs)) < 0)
		return rc;
	for (int star = 0; star <= !!(o->flags & STORE_HOST_WILDCARD); star++) {
		const rtarget_t *tr = star ? &rs : &r;
		if (set4) {
			const char *c = t4;
			uint16_t l = (uint16_t)n4;
			if ((rc = rrset_replace(t, tr, RR_A, h->ttl, &c, &l, 1, &ch)) < 0)
				return rc;
		}
		if (set6) {
			const char *c = t6;
			uint16_t l = (uint16_t)n6;
			if ((rc = rrset_replace(t, tr, RR_AAAA, h->ttl, &c, &l, 1, &ch)) < 0)
				return rc;
		}
	}
	if ((rc = mark_changed(t, h->zone_id)) < 0)
		return rc;
	*changed = 1;
	return 0;
}

/* Rewrites host value h (a copy whose agent may point into the map: it is
 * replaced by agent) with updated = now and, when client, last_client;
 * with e, in the same write, e at the head of the history ring. */
static int host_touch(store_txn_t *t, const dname_t *name, const store_host_t *h, uint64_t now,
		      const addr_t *client, const char *agent, size_t agent_len,
		      const store_hist_t *e, unsigned keep)
{
	store_host_t nh = *h;
	uint8_t agentbuf[255];
	nh.updated = now;
	if (client)
		nh.last_client = *client;
	if (agent_len > sizeof(agentbuf))
		agent_len = sizeof(agentbuf);
	if (agent_len)
		memcpy(agentbuf, agent, agent_len);
	nh.agent = (const char *)agentbuf;
	nh.agent_len = (uint8_t)agent_len;
	return host_write_hist(t, name, &nh, e, keep);
}

/* Reads host name into *h with its agent copied to agentbuf (255 bytes),
 * so h survives later writes. */
static int host_get_copy(store_txn_t *t, const dname_t *name, store_host_t *h, uint8_t *agentbuf)
{
	int rc = store_host_get(t, name, h);
	if (rc < 0)
		return rc;
	if (h->agent_len)
		memcpy(agentbuf, h->agent, h->agent_len);
	h->agent = (const char *)agentbuf;
	return 0;
}

int store_host_set_offline(store_txn_t *t, const dname_t *name, int on, uint64_t now, int *changed)
{
	store_host_t h;
	store_hostopt_t o;
	uint8_t agentbuf[255];
	rtarget_t r, rs;
	int rc, any = 0, wild;
	if (changed)
		*changed = 0;
	if (!t->write)
		return -EACCES;
	if ((rc = host_get_copy(t, name, &h, agentbuf)) < 0 || (rc = hopt_read(t, name, &o)) < 0)
		return rc;
	if (!!on == !!(o.flags & STORE_HOST_OFFLINE))
		return 0;
	wild = (o.flags & STORE_HOST_WILDCARD) != 0;
	if ((rc = rtarget(t, h.zone_id, name, &r)) < 0 ||
	    (wild && (rc = star_target(t, h.zone_id, name, &rs)) < 0))
		return rc;
	if (on) {
		MDB_val v;
		addr_t a4 = {0}, a6 = {0};
		rc = rget(t, r.key, r.klen, &v);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		if (rc == 0)
			value_addrs(&v, &a4, &a6);
		o.saved4 = a4;
		o.saved6 = a6;
		o.flags |= STORE_HOST_OFFLINE;
		for (int star = 0; star <= wild; star++) {
			if ((rc = addr_rrset(t, star ? &rs : &r, RR_A, 0, NULL, &any)) < 0 ||
			    (rc = addr_rrset(t, star ? &rs : &r, RR_AAAA, 0, NULL, &any)) < 0)
				return rc;
		}
	} else {
		for (int star = 0; star <= wild; star++) {
			if ((rc = addr_rrset(t, star ? &rs : &r, RR_A, h.ttl, &o.saved4, &any)) < 0 ||
			    (rc = addr_rrset(t, star ? &rs : &r, RR_AAAA, h.ttl, &o.saved6, &any)) < 0)
				return rc;
		}
		o.flags &= (uint8_t)~STORE_HOST_OFFLINE;
		memset(&o.saved4, 0, sizeof(o.saved4));
		memset(&o.saved6, 0, sizeof(o.saved6));
	}
	if (any && (rc = mark_changed(t, h.zone_id)) < 0)
		return rc;
	if ((rc = hopt_write(t, name, &o)) < 0)
		return rc;
	h.updated = now;
	if ((rc = host_write(t, name, &h)) < 0)
		return rc;
	if (changed)
		*changed = 1;
	return 0;
}

int store_host_set_wildcard(store_txn_t *t, const dname_t *name, int on, int *changed)
{
	store_host_t h;
	store_hostopt_t o;
	rtarget_t r, rs;
	MDB_val v;
	int rc, any = 0;
	if (changed)
		*changed = 0;
	if (!t->write)
		return -EACCES;
	if ((rc = store_host_get(t, name, &h)) < 0 || (rc = hopt_read(t, name, &o)) < 0)
		return rc;
	if (!!on == !!(o.flags & STORE_HOST_WILDCARD))
		return 0;
	if ((rc = rtarget(t, h.zone_id, name, &r)) < 0 ||
	    (rc = star_target(t, h.zone_id, name, &rs)) < 0)
		return rc;
	if (on) {
		addr_t a4 = {0}, a6 = {0};
		rc = rget(t, rs.key, rs.klen, &v);
		if (rc == 0 && (value_has(&v, RR_A) || value_has(&v, RR_AAAA) ||
				value_has(&v, RR_CNAME)))
			return ERR_CLASH;
		if (rc < 0 && rc != -ENOENT)
			return rc;
		rc = rget(t, r.key, r.klen, &v);
		if (rc == 0 && value_has(&v, RR_NS))
			return ERR_CLASH;
		if (rc < 0 && rc != -ENOENT)
			return rc;
		if (rc == 0 && !(o.flags & STORE_HOST_OFFLINE))
			value_addrs(&v, &a4, &a6);
		if ((rc = addr_rrset(t, &rs, RR_A, h.ttl, &a4, &any)) < 0 ||
		    (rc = addr_rrset(t, &rs, RR_AAAA, h.ttl, &a6, &any)) < 0)
			return rc;
		o.flags |= STORE_HOST_WILDCARD;
	} else {
		if ((rc = addr_rrset(t, &rs, RR_A, 0, NULL, &any)) < 0 ||
		    (rc = addr_rrset(t, &rs, RR_AAAA, 0, NULL, &any)) < 0)
			return rc;
		o.flags &= (uint8_t)~STORE_HOST_WILDCARD;
	}
	if (any && (rc = mark_changed(t, h.zone_id)) < 0)
		return rc;
	if ((rc = hopt_write(t, name, &o)) < 0)
		return rc;
	if (changed)
		*changed = 1;
	return 0;
}

/* ---- followers ---- */

#define FKEY_MAX (2 * DNAME_MAX_KEY + 1)

static size_t follower_key(uint8_t *k, const dname_t *router, const dname_t *follower)
{
	size_t n = sub_prefix(k, router);
	memcpy(k + n, follower->key, follower->len);
	return n + follower->len;
}

static int follower_link(store_txn_t *t, const dname_t *router, const dname_t *follower, int add)
{
	uint8_t kb[FKEY_MAX];
	MDB_val k = mval(kb, follower_key(kb, router, follower)), v = mval("", 0);
	int rc;
	if (add)
		return lmdb_err(mdb_put(t->txn, t->s->followers, &k, &v, 0));
	rc = mdb_del(t->txn, t->s->followers, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* Collects the followers of router into a malloc'd array (*out, *n). */
static int follower_list(store_txn_t *t, const dname_t *router, dname_t **out, unsigned *n)
{
	uint8_t pre[SUB_MAX];
	size_t plen = sub_prefix(pre, router);
	MDB_cursor *c;
	MDB_val k = mval(pre, plen), v;
	dname_t *list = NULL;
	unsigned cnt = 0, cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	if (t->s->noext)
		return 0;
	if ((rc = mdb_cursor_open(t->txn, t->s->followers, &c)))
		return lmdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && has_prefix(&k, pre, plen);
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (cnt == cap) {
			dname_t *nl = realloc(list, (cap = cap ? cap * 2 : 8) * sizeof(*list));
			if (!nl) {
				rc = ENOMEM;
				break;
			}
			list = nl;
		}
		if (dname_from_key(&list[cnt], (const uint8_t *)k.mv_data + plen, k.mv_size - plen) < 0) {
			rc = MDB_CORRUPTED;
			break;
		}
		cnt++;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		free(list);
		return rc == ENOMEM ? -ENOMEM : lmdb_err(rc);
	}
	*out = list;
	*n = cnt;
	return 0;
}

int store_follower_walk(store_txn_t *t, const dname_t *router, store_follower_cb cb, void *arg)
{
	dname_t *list;
	unsigned n;
	int rc = follower_list(t, router, &list, &n);
	for (unsigned i = 0; rc == 0 && i < n; i++)
		rc = cb(&list[i], arg);
	free(list);
	return rc;
}

int store_host_set_follow(store_txn_t *t, const dname_t *name, const dname_t *router,
			  const uint8_t iid[8])
{
	store_host_t h, rh;
	store_hostopt_t o, ro;
	int rc, same;
	if (!t->write)
		return -EACCES;
	if ((rc = store_host_get(t, name, &h)) < 0 || (rc = hopt_read(t, name, &o)) < 0)
		return rc;
	if (router && (!iid || dname_equal(router, name)))
		return -EINVAL;
	memset(&ro, 0, sizeof(ro));
	if (router) {
		rc = store_host_get(t, router, &rh);
		if (rc == -ENOENT)
			return ERR_NOROUTER;
		if (rc < 0 || (rc = hopt_read(t, router, &ro)) < 0)
			return rc;
	}
	same = router && o.follow.len && dname_equal(&o.follow, router);
	if (router && !same) {
		dname_t *list;
		unsigned n;
		if ((rc = follower_list(t, router, &list, &n)) < 0)
			return rc;
		free(list);
		if (n >= STORE_MAX_FOLLOWERS)
			return ERR_TOOBIG;
		if ((rc = follower_link(t, router, name, 1)) < 0)
			return rc;
	}
	if (o.follow.len && !same && (rc = follower_link(t, &o.follow, name, 0)) < 0)
		return rc;
	o.has_iid = iid != NULL;
	if (iid)
		memcpy(o.iid, iid, 8);
	else
		memset(o.iid, 0, 8);
	if (router)
		o.follow = *router;
	else
		memset(&o.follow, 0, sizeof(o.follow));
	if ((rc = hopt_write(t, name, &o)) < 0)
		return rc;
	if (router && ro.prefix.family == 6) {
		addr_t a, o4, o6;
		int ch;
		if ((rc = store_prefix_addr(&ro.prefix, ro.prefix_len, iid, &a)) < 0)
			return rc;
		return host_set_addrs(t, name, &h, &o, NULL, &a, &o4, &o6, &ch);
	}
	return 0;
}

int store_host_prefix_update(store_txn_t *t, const dname_t *router, const addr_t *prefix,
			     unsigned plen, const addr_t *client, const char *agent,
			     size_t agent_len, uint64_t now, unsigned keep, unsigned *nchanged)
{
	store_host_t rh;
	store_hostopt_t ro;
	addr_t p;
	dname_t *list;
	unsigned n, done = 0;
	int rc;
	if (nchanged)
		*nchanged = 0;
	if (!t->write)
		return -EACCES;
	if (!prefix || prefix->family != 6)
		return ERR_BADADDR;
	if (plen > 64 || keep > STORE_HIST_MAX_KEEP)
		return -EINVAL;
	if ((rc = store_host_get(t, router, &rh)) < 0 || (rc = hopt_read(t, router, &ro)) < 0)
		return rc;
	if ((rc = store_prefix_addr(prefix, plen, NULL, &p)) < 0)
		return rc;
	if (!addr_equal(&ro.prefix, &p) || ro.prefix_len != plen) {
		ro.prefix = p;
		ro.prefix_len = (uint8_t)plen;
		if ((rc = hopt_write(t, router, &ro)) < 0)
			return rc;
	}
	if ((rc = follower_list(t, router, &list, &n)) < 0)
		return rc;
	for (unsigned i = 0; i < n; i++) {
		store_host_t fh;
		store_hostopt_t fo;
		addr_t a, o4, o6;
		int ch;
		rc = store_host_get(t, &list[i], &fh);
		if (rc == -ENOENT) {
			rc = 0; /* a stale link: nothing to move */
			continue;
		}
		if (rc < 0 || (rc = hopt_read(t, &list[i], &fo)) < 0)
			break;
		if (!fo.has_iid || !dname_equal(&fo.follow, router))
			continue;
		if ((rc = store_prefix_addr(&p, plen, fo.iid, &a)) < 0 ||
		    (rc = host_set_addrs(t, &list[i], &fh, &fo, NULL, &a, &o4, &o6, &ch)) < 0)
			break;
		if (!ch)
			continue;
		store_hist_t e;
		memset(&e, 0, sizeof(e));
		e.time = now;
		e.old6 = o6;
		e.new6 = a;
		if (client)
			e.client = *client;
		e.result = STORE_HIST_PREFIX;
		e.agent = agent;
		e.agent_len = (uint8_t)(agent_len > 255 ? 255 : agent_len);
		if ((rc = host_touch(t, &list[i], &fh, now, client, agent, agent_len,
				     keep ? &e : NULL, keep)) < 0)
			break;
		done++;
	}
	free(list);
	if (rc < 0)
		return rc;
	if (nchanged)
		*nchanged = done;
	return 0;
}

/* ---- named tokens ---- */

#define TOK_FIXED (TOKEN_HASH_LEN + 8 + 8 + 1)
#define TOK_CIDR 18

int store_token_name_check(const char *name, size_t len)
{
	if (!name || len == 0 || len > STORE_TOKEN_NAME_MAX)
		return ERR_TOKENNAME;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return ERR_TOKENNAME;
	}
	return 0;
}

static int is_default(const char *name, size_t len)
{
	return len == sizeof(STORE_TOKEN_DEFAULT) - 1 &&
	       memcmp(name, STORE_TOKEN_DEFAULT, len) == 0;
}

static void tok_default(const store_host_t *h, store_token_t *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->name, STORE_TOKEN_DEFAULT, sizeof(STORE_TOKEN_DEFAULT));
	memcpy(out->hash, h->token_hash, TOKEN_HASH_LEN);
	out->created = h->created;
}

static int tok_decode(const MDB_val *k, size_t plen, const MDB_val *v, store_token_t *out)
{
	const uint8_t *p = v->mv_data;
	size_t nlen = k->mv_size - plen;
	unsigned n;
	memset(out, 0, sizeof(*out));
	if (nlen == 0 || nlen > STORE_TOKEN_NAME_MAX || v->mv_size < TOK_FIXED)
		return ERR_CORRUPT;
	memcpy(out->name, (const uint8_t *)k->mv_data + plen, nlen);
	memcpy(out->hash, p, TOKEN_HASH_LEN);
	out->created = get64(p + TOKEN_HASH_LEN);
	out->expires = get64(p + TOKEN_HASH_LEN + 8);
	n = p[TOKEN_HASH_LEN + 16];
	if (n > STORE_TOKEN_MAX_CIDRS || v->mv_size != TOK_FIXED + (size_t)n * TOK_CIDR)
		return ERR_CORRUPT;
	out->ncidr = n;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *q = p + TOK_FIXED + i * TOK_CIDR;
		if ((q[0] != 4 && q[0] != 6) || q[1] > (q[0] == 4 ? 32 : 128))
			return ERR_CORRUPT;
		out->cidrs[i].net.family = q[0];
		out->cidrs[i].prefix = q[1];
		memcpy(out->cidrs[i].net.bytes, q + 2, 16);
	}
	return 0;
}

/* 0 when token tok lets client in at now, else why not. */
static int tok_allows(const store_token_t *tok, const addr_t *client, uint64_t now)
{
	addr_t c;
	if (tok->expires && now >= tok->expires)
		return ERR_TOKENEXPIRED;
	if (tok->ncidr == 0)
		return 0;
	if (!client || client->family == 0)
		return ERR_TOKENSOURCE;
	c = *client;
	addr_normalize(&c);
	for (unsigned i = 0; i < tok->ncidr; i++)
		if (addr_cidr_match(&tok->cidrs[i], &c))
			return 0;
	return ERR_TOKENSOURCE;
}

int store_token_add(store_txn_t *t, const dname_t *host, const char *name, size_t name_len,
		    const uint8_t hash[TOKEN_HASH_LEN], uint64_t expires,
		    const addr_cidr_t *cidrs, unsigned ncidr, uint64_t now)
{
	uint8_t kb[SUB_MAX + STORE_TOKEN_NAME_MAX];
	uint8_t vb[TOK_FIXED + STORE_TOKEN_MAX_CIDRS * TOK_CIDR];
	size_t plen = sub_prefix(kb, host);
	store_host_t h;
	MDB_cursor *c;
	MDB_val k, v;
	unsigned count = 0;
	int rc;
	if ((rc = store_token_name_check(name, name_len)) < 0)
		return rc;
	if (!t->write)
		return -EACCES;
	if (t->s->noext)
		return -EACCES;
	if ((rc = store_host_get(t, host, &h)) < 0)
		return rc;
	if (is_default(name, name_len))
		return -EEXIST;
	if (expires && expires <= now)
		return -EINVAL;
	if (ncidr > STORE_TOKEN_MAX_CIDRS)
		return ERR_TOOBIG;
	memset(vb, 0, sizeof(vb));
	for (unsigned i = 0; i < ncidr; i++) {
		uint8_t *q = vb + TOK_FIXED + i * TOK_CIDR;
		unsigned fam = cidrs[i].net.family, pl = cidrs[i].prefix;
		unsigned full = pl / 8, rest = pl % 8, bytes = fam == 4 ? 4 : 16;
		if ((fam != 4 && fam != 6) || pl > bytes * 8)
			return ERR_BADADDR;
		q[0] = (uint8_t)fam;
		q[1] = (uint8_t)pl;
		memcpy(q + 2, cidrs[i].net.bytes, full);
		if (rest)
			q[2 + full] = (uint8_t)(cidrs[i].net.bytes[full] & (0xffu << (8 - rest)));
	}
	if (!sodium_is_zero(h.token_hash, TOKEN_HASH_LEN) &&
	    sodium_memcmp(h.token_hash, hash, TOKEN_HASH_LEN) == 0)
		return -EEXIST;
	if ((rc = mdb_cursor_open(t->txn, t->s->tokens, &c)))
		return lmdb_err(rc);
	k = mval(kb, plen);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && has_prefix(&k, kb, plen);
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		count++;
		if ((k.mv_size - plen == name_len &&
		     memcmp((const uint8_t *)k.mv_data + plen, name, name_len) == 0) ||
		    (v.mv_size >= TOKEN_HASH_LEN &&
		     sodium_memcmp(v.mv_data, hash, TOKEN_HASH_LEN) == 0)) {
			mdb_cursor_close(c);
			return -EEXIST;
		}
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	if (count >= STORE_TOKEN_MAX)
		return ERR_TOOBIG;
	memcpy(vb, hash, TOKEN_HASH_LEN);
	put64(vb + TOKEN_HASH_LEN, now);
	put64(vb + TOKEN_HASH_LEN + 8, expires);
	vb[TOKEN_HASH_LEN + 16] = (uint8_t)ncidr;
	memcpy(kb + plen, name, name_len);
	k = mval(kb, plen + name_len);
	v = mval(vb, TOK_FIXED + (size_t)ncidr * TOK_CIDR);
	return lmdb_err(mdb_put(t->txn, t->s->tokens, &k, &v, 0));
}

int store_token_del(store_txn_t *t, const dname_t *host, const char *name, size_t name_len)
{
	uint8_t kb[SUB_MAX + STORE_TOKEN_NAME_MAX];
	size_t plen = sub_prefix(kb, host);
	store_host_t h;
	MDB_val k;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = store_host_get(t, host, &h)) < 0)
		return rc;
	if (store_token_name_check(name, name_len) < 0)
		return -ENOENT;
	if (is_default(name, name_len)) {
		if (sodium_is_zero(h.token_hash, TOKEN_HASH_LEN))
			return -ENOENT;
		memset(h.token_hash, 0, TOKEN_HASH_LEN);
		return host_write(t, host, &h);
	}
	if (t->s->noext)
		return -ENOENT;
	memcpy(kb + plen, name, name_len);
	k = mval(kb, plen + name_len);
	return lmdb_err(mdb_del(t->txn, t->s->tokens, &k, NULL));
}

int store_token_get(store_txn_t *t, const dname_t *host, const char *name, size_t name_len,
		    store_token_t *out)
{
	uint8_t kb[SUB_MAX + STORE_TOKEN_NAME_MAX];
	size_t plen = sub_prefix(kb, host);
	store_host_t h;
	MDB_val k, v;
	int rc;
	if ((rc = store_host_get(t, host, &h)) < 0)
		return rc;
	if (store_token_name_check(name, name_len) < 0)
		return -ENOENT;
	if (is_default(name, name_len)) {
		if (sodium_is_zero(h.token_hash, TOKEN_HASH_LEN))
			return -ENOENT;
		tok_default(&h, out);
		return 0;
	}
	if (t->s->noext)
		return -ENOENT;
	memcpy(kb + plen, name, name_len);
	k = mval(kb, plen + name_len);
	if ((rc = mdb_get(t->txn, t->s->tokens, &k, &v)))
		return lmdb_err(rc);
	return tok_decode(&k, plen, &v, out);
}

int store_token_walk(store_txn_t *t, const dname_t *host, store_token_cb cb, void *arg)
{
	uint8_t pre[SUB_MAX];
	size_t plen = sub_prefix(pre, host);
	store_host_t h;
	store_token_t tok;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, r = 0;
	if ((rc = store_host_get(t, host, &h)) < 0)
		return rc;
	if (!sodium_is_zero(h.token_hash, TOKEN_HASH_LEN)) {
		tok_default(&h, &tok);
		if ((r = cb(&tok, arg)) != 0)
			return r;
	}
	if (t->s->noext)
		return 0;
	if ((rc = mdb_cursor_open(t->txn, t->s->tokens, &c)))
		return lmdb_err(rc);
	k = mval(pre, plen);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && has_prefix(&k, pre, plen);
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((r = tok_decode(&k, plen, &v, &tok)) < 0)
			break;
		if ((r = cb(&tok, arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (r)
		return r;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* Folds one matching token's verdict r into *best (0 wins; else the
 * first verdict is kept), with its name. */
static void tok_verdict(int r, const char *name, int *best, char *best_name)
{
	if (*best == 0)
		return;
	if (r == 0 || *best == ERR_BADTOKEN) {
		*best = r;
		memcpy(best_name, name, strlen(name) + 1);
	}
}

int store_token_check(store_txn_t *t, const dname_t *host, const char *secret, size_t len,
		      const addr_t *client, uint64_t now, char name_out[STORE_TOKEN_NAME_MAX + 1])
{
	uint8_t pre[SUB_MAX], hh[TOKEN_HASH_LEN];
	size_t plen = sub_prefix(pre, host);
	char best_name[STORE_TOKEN_NAME_MAX + 1] = "";
	store_host_t h;
	store_token_t tok;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, best = ERR_BADTOKEN;
	if (name_out)
		name_out[0] = 0;
	if ((rc = store_host_get(t, host, &h)) < 0)
		return rc;
	if (!secret || len > TOKEN_MAX_LEN)
		return ERR_BADTOKEN;
	token_hash(secret, len, hh);
	/* every stored hash is compared, in constant time each, whatever
	 * matched before: the time says nothing about which token it was */
	if (!sodium_is_zero(h.token_hash, TOKEN_HASH_LEN) &&
	    sodium_memcmp(h.token_hash, hh, TOKEN_HASH_LEN) == 0)
		tok_verdict(0, STORE_TOKEN_DEFAULT, &best, best_name);
	if (!t->s->noext) {
		unsigned seen = 0;
		if ((rc = mdb_cursor_open(t->txn, t->s->tokens, &c))) {
			sodium_memzero(hh, sizeof(hh));
			return lmdb_err(rc);
		}
		k = mval(pre, plen);
		for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		     rc == 0 && has_prefix(&k, pre, plen) && seen < STORE_TOKEN_MAX;
		     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), seen++) {
			if (tok_decode(&k, plen, &v, &tok) < 0)
				continue; /* a bad entry authorises nothing */
			if (sodium_memcmp(tok.hash, hh, TOKEN_HASH_LEN) == 0)
				tok_verdict(tok_allows(&tok, client, now), tok.name, &best, best_name);
		}
		mdb_cursor_close(c);
		if (rc != 0 && rc != MDB_NOTFOUND && seen < STORE_TOKEN_MAX) {
			sodium_memzero(hh, sizeof(hh));
			return lmdb_err(rc);
		}
	}
	sodium_memzero(hh, sizeof(hh));
	if (name_out && best != ERR_BADTOKEN)
		memcpy(name_out, best_name, sizeof(best_name));
	return best;
}

/* ---- history: a ring of the last entries, inside the host value ----
 *
 * Every durable update already rewrites the host value (updated,
 * last_client, agent), so history kept there costs no page of its own: a
 * separate table dirtied one more random B-tree path per update and cost
 * up to 40 % of the durable-update throughput.  The ring is therefore
 * compact and bounded (STORE_HIST_BYTES), so that a host value stays far
 * below LMDB's overflow size (a node over about half a page goes to
 * overflow pages, which cost whole pages per write).  Layout in store.h.
 */

#define HIST_TAG 0x01           /* first byte of the ring: its version */
#define HIST_HEAD_MAX (1 + 10 + 1)
#define HIST_ENTRY_MAX (2 + 10 + 4 + 4 + 16 + 16 + 17 + 1 + 255)
_Static_assert(HIST_HEAD_MAX + HIST_ENTRY_MAX <= STORE_HIST_BYTES, "the newest entry always fits");

/*
 * An entry's two head bytes: byte 0 = result (bits 0-3) | agent * 5 +
 * client (bits 4-7); byte 1 = the modes of new4 (bits 0-1), old4 (2-3),
 * new6 (4-5), old6 (6-7).  Decoding runs newest first, so an entry may
 * refer to its newer neighbour ("nw") and, for old and client, to its own
 * new addresses.
 */
enum { HAG_NONE, HAG_LIT, HAG_SAME };  /* agent: none, u8 len | bytes, nw's */
enum { HCL_NONE, HCL_LIT, HCL_NW, HCL_NEW4, HCL_NEW6 }; /* client: u8 family | bytes */
enum { HAD_NONE, HAD_LIT, HAD_REF, HAD_REF2 }; /* address mode, see below */
/* new: HAD_REF = nw's old (the state between the two changes); HAD_REF2 unused.
 * old: HAD_REF = own new (the family did not change), HAD_REF2 = nw's old. */

const char *store_hist_result_str(unsigned result)
{
	static const char *const names[] = {
		[STORE_HIST_GOOD] = "good",
		[STORE_HIST_NOCHG] = "nochg",
		[STORE_HIST_OFFLINE] = "offline",
		[STORE_HIST_ONLINE] = "online",
		[STORE_HIST_TXT_SET] = "txt-set",
		[STORE_HIST_TXT_CLEAR] = "txt-clear",
		[STORE_HIST_PREFIX] = "prefix",
		[STORE_HIST_WILDCARD_ON] = "wildcard-on",
		[STORE_HIST_WILDCARD_OFF] = "wildcard-off",
	};
	if (result == 0 || result > STORE_HIST_RESULT_MAX)
		return "unknown";
	return names[result];
}

static size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* 0 and *v, advancing *off, or ERR_CORRUPT. */
static int varint_get(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
	uint64_t r = 0;
	for (unsigned shift = 0; shift < 64 && *off < len; shift += 7) {
		uint8_t b = p[(*off)++];
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return ERR_CORRUPT;
}

static int addr_same(const addr_t *a, const addr_t *b)
{
	return a->family && a->family == b->family &&
	       memcmp(a->bytes, b->bytes, a->family == 4 ? 4 : 16) == 0;
}

/* Where the ring starts in host value v: 0 and *off (== v->mv_size when
 * the value has none, as every value written before the ring), or
 * ERR_CORRUPT. */
static int hist_ring_off(const MDB_val *v, size_t *off)
{
	const uint8_t *p = v->mv_data;
	if (v->mv_size < HOST_FIXED || HOST_FIXED + (size_t)p[HOST_FIXED - 1] > v->mv_size)
		return ERR_CORRUPT;
	*off = HOST_FIXED + (size_t)p[HOST_FIXED - 1];
	return 0;
}

static int hist_addr_get(const uint8_t *p, size_t len, size_t *off, uint8_t family, addr_t *a)
{
	size_t n = family == 4 ? 4 : 16;
	if (len - *off < n)
		return ERR_CORRUPT;
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->bytes, p + *off, n);
	*off += n;
	return 0;
}

/* Decodes one address slot of mode m (family fam); newer: nw's old of
 * that family, own: this entry's new (NULL for a new slot). */
static int hist_slot_get(const uint8_t *p, size_t len, size_t *off, unsigned m, uint8_t fam,
			 const addr_t *newer, const addr_t *own, addr_t *a)
{
	switch (m) {
	case HAD_NONE:
		memset(a, 0, sizeof(*a));
		return 0;
	case HAD_LIT:
		return hist_addr_get(p, len, off, fam, a);
	case HAD_REF:
		if (own)
			newer = own; /* old: own new; new: nw's old */
		if (!newer || !newer->family)
			return ERR_CORRUPT;
		*a = *newer;
		return 0;
	default:
		if (!own || !newer || !newer->family)
			return ERR_CORRUPT;
		*a = *newer;
		return 0;
	}
}

/* Decodes the entry at p + *off (nw: its decoded newer neighbour, NULL for
 * the newest; seq: its seq) into *e and moves *off past it; the agent
 * points into p.  0 or ERR_CORRUPT. */
static int hist_entry_decode(const uint8_t *p, size_t len, size_t *off, const store_hist_t *nw,
			     uint64_t seq, store_hist_t *e)
{
	unsigned ag, cl, m;
	uint64_t t;
	memset(e, 0, sizeof(*e));
	if (len - *off < 2)
		return ERR_CORRUPT;
	e->result = p[*off] & 0x0f;
	ag = (p[*off] >> 4) / 5;
	cl = (p[*off] >> 4) % 5;
	m = p[*off + 1];
	*off += 2;
	if (ag > HAG_SAME || (!nw && (ag == HAG_SAME || cl == HCL_NW)) ||
	    varint_get(p, len, off, &t) < 0)
		return ERR_CORRUPT;
	e->seq = seq;
	/* older entries hold the zigzag delta to their newer one */
	e->time = nw ? nw->time - ((t >> 1) ^ (0 - (t & 1))) : t;
	if ((m & 3) == HAD_REF2 || ((m >> 4) & 3) == HAD_REF2 ||
	    hist_slot_get(p, len, off, m & 3, 4, nw ? &nw->old4 : NULL, NULL, &e->new4) < 0 ||
	    hist_slot_get(p, len, off, (m >> 2) & 3, 4, nw ? &nw->old4 : NULL, &e->new4,
			  &e->old4) < 0 ||
	    hist_slot_get(p, len, off, (m >> 4) & 3, 6, nw ? &nw->old6 : NULL, NULL, &e->new6) < 0 ||
	    hist_slot_get(p, len, off, m >> 6, 6, nw ? &nw->old6 : NULL, &e->new6, &e->old6) < 0)
		return ERR_CORRUPT;
	switch (cl) {
	case HCL_LIT:
		if (*off >= len || (p[*off] != 4 && p[*off] != 6))
			return ERR_CORRUPT;
		(*off)++;
		if (hist_addr_get(p, len, off, p[*off - 1], &e->client) < 0)
			return ERR_CORRUPT;
		break;
	case HCL_NW:
		e->client = nw->client;
		break;
	case HCL_NEW4:
		e->client = e->new4;
		break;
	case HCL_NEW6:
		e->client = e->new6;
		break;
	}
	if (ag == HAG_LIT) {
		if (*off >= len || len - *off - 1 < p[*off])
			return ERR_CORRUPT;
		e->agent_len = p[*off];
		e->agent = (const char *)p + *off + 1;
		*off += 1 + (size_t)e->agent_len;
	} else if (ag == HAG_SAME) {
		e->agent = nw->agent;
		e->agent_len = nw->agent_len;
	}
	return 0;
}

/* Reads the ring's head: 0 with *seq, *count and *off at the first entry,
 * or ERR_CORRUPT. */
static int hist_ring_head(const uint8_t *p, size_t len, uint64_t *seq, unsigned *count,
			  size_t *off)
{
	*off = 1;
	if (len == 0 || p[0] != HIST_TAG || varint_get(p, len, off, seq) < 0 || *off >= len)
		return ERR_CORRUPT;
	*count = p[(*off)++];
	if (*count == 0 || *count > STORE_HIST_MAX_KEEP || *seq < *count)
		return ERR_CORRUPT;
	return 0;
}

/*
 * Decodes ring p (len bytes; len 0: no history) into out[0..*n), newest
 * first; agents point into p.  ERR_CORRUPT on any inconsistency.
 */
static int hist_ring_decode(const uint8_t *p, size_t len, store_hist_t *out, unsigned *n)
{
	uint64_t seq;
	size_t off;
	unsigned count;
	*n = 0;
	if (len == 0)
		return 0;
	if (hist_ring_head(p, len, &seq, &count, &off) < 0)
		return ERR_CORRUPT;
	for (unsigned i = 0; i < count; i++)
		if (hist_entry_decode(p, len, &off, i ? &out[i - 1] : NULL, seq - i, &out[i]) < 0)
			return ERR_CORRUPT;
	if (off != len)
		return ERR_CORRUPT;
	*n = count;
	return 0;
}

/* The mode of slot a (newer: nw's old, own: this entry's new, NULL for a
 * new slot); a literal is appended at p + *off. */
static unsigned hist_slot_put(const addr_t *a, const addr_t *newer, const addr_t *own, uint8_t *p,
			      size_t *off)
{
	size_t n = a->family == 4 ? 4 : 16;
	if (!a->family)
		return HAD_NONE;
	if (own && addr_same(a, own))
		return HAD_REF;
	if (newer && addr_same(a, newer))
		return own ? HAD_REF2 : HAD_REF;
	memcpy(p + *off, a->bytes, n);
	*off += n;
	return HAD_LIT;
}

/* Encodes entry e (nw: its newer neighbour, NULL for the newest) at p;
 * returns its size (<= HIST_ENTRY_MAX). */
static size_t hist_entry_encode(const store_hist_t *e, const store_hist_t *nw, uint8_t *p)
{
	unsigned ag = HAG_NONE, cl = HCL_NONE, m;
	size_t off = 2;
	uint64_t t = e->time;
	if (nw) {
		int64_t d = (int64_t)(nw->time - e->time);
		t = ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
	}
	off += varint_put(p + off, t);
	m = hist_slot_put(&e->new4, nw ? &nw->old4 : NULL, NULL, p, &off);
	m |= hist_slot_put(&e->old4, nw ? &nw->old4 : NULL, &e->new4, p, &off) << 2;
	m |= hist_slot_put(&e->new6, nw ? &nw->old6 : NULL, NULL, p, &off) << 4;
	m |= hist_slot_put(&e->old6, nw ? &nw->old6 : NULL, &e->new6, p, &off) << 6;
	if (!e->client.family) {
		cl = HCL_NONE;
	} else if (nw && addr_same(&e->client, &nw->client)) {
		cl = HCL_NW;
	} else if (addr_same(&e->client, &e->new4)) {
		cl = HCL_NEW4;
	} else if (addr_same(&e->client, &e->new6)) {
		cl = HCL_NEW6;
	} else {
		size_t n = e->client.family == 4 ? 4 : 16;
		cl = HCL_LIT;
		p[off++] = e->client.family;
		memcpy(p + off, e->client.bytes, n), off += n;
	}
	if (e->agent_len == 0) {
		ag = HAG_NONE;
	} else if (nw && nw->agent_len == e->agent_len &&
		   memcmp(nw->agent, e->agent, e->agent_len) == 0) {
		ag = HAG_SAME;
	} else {
		ag = HAG_LIT;
		p[off++] = e->agent_len;
		memcpy(p + off, e->agent, e->agent_len), off += e->agent_len;
	}
	p[0] = (uint8_t)((e->result & 0x0f) | (ag * 5 + cl) << 4);
	p[1] = (uint8_t)m;
	return off;
}

static int hist_entry_check(const store_hist_t *e)
{
	if (e->result > 0x0f || (e->old4.family != 0 && e->old4.family != 4) ||
	    (e->new4.family != 0 && e->new4.family != 4) ||
	    (e->old6.family != 0 && e->old6.family != 6) ||
	    (e->new6.family != 0 && e->new6.family != 6) ||
	    (e->client.family != 0 && e->client.family != 4 && e->client.family != 6))
		return -EINVAL;
	return 0;
}

/* Moves *off past the entry at p + *off without decoding it (its
 * references are checked by a walk).  0 or ERR_CORRUPT. */
static int hist_entry_skip(const uint8_t *p, size_t len, size_t *off)
{
	static const uint8_t alen[2] = {4, 16};
	unsigned ag, cl, m;
	uint64_t t;
	size_t need = 0;
	if (len - *off < 2)
		return ERR_CORRUPT;
	ag = (p[*off] >> 4) / 5;
	cl = (p[*off] >> 4) % 5;
	m = p[*off + 1];
	*off += 2;
	if (ag > HAG_SAME || varint_get(p, len, off, &t) < 0)
		return ERR_CORRUPT;
	for (unsigned i = 0; i < 4; i++)
		if (((m >> (2 * i)) & 3) == HAD_LIT)
			need += alen[i >= 2];
	if (len - *off < need)
		return ERR_CORRUPT;
	*off += need;
	if (cl == HCL_LIT) {
		if (*off >= len || (p[*off] != 4 && p[*off] != 6) ||
		    len - *off - 1 < alen[p[*off] == 6])
			return ERR_CORRUPT;
		*off += 1 + (size_t)alen[p[*off] == 6];
	}
	if (ag == HAG_LIT) {
		if (*off >= len || len - *off - 1 < p[*off])
			return ERR_CORRUPT;
		*off += 1 + (size_t)p[*off];
	}
	return 0;
}

/*
 * Writes to out (room for STORE_HIST_BYTES) the ring ring (rlen bytes; 0:
 * none yet) with e put at its head, dropping what no longer fits;
 * *outlen = its length.  Only the former newest entry is decoded and
 * encoded again (it becomes relative to e); the older ones keep their
 * bytes, since an entry's encoding depends only on itself and its newer
 * neighbour.  ring must not overlap out.
 */
static int hist_ring_put(const uint8_t *ring, size_t rlen, const store_hist_t *e, unsigned keep,
			 uint8_t *out, size_t *outlen)
{
	store_hist_t ne, e0;
	size_t off = 0, o = 0, countoff;
	uint64_t seq = 0;
	unsigned count = 0, kept;
	int rc;
	if ((rc = hist_entry_check(e)) < 0)
		return rc;
	if (rlen && ((rc = hist_ring_head(ring, rlen, &seq, &count, &off)) < 0 ||
		     (rc = hist_entry_decode(ring, rlen, &off, NULL, seq, &e0)) < 0))
		return rc;
	ne = *e;
	ne.seq = seq + 1;
	if (!e->agent || !e->agent_len) { /* no agent: the length is ignored */
		ne.agent = NULL;
		ne.agent_len = 0;
	}
	out[o++] = HIST_TAG;
	o += varint_put(out + o, ne.seq);
	countoff = o++;
	o += hist_entry_encode(&ne, NULL, out + o);
	kept = 1;
	if (count && keep > 1) {
		uint8_t ent[HIST_ENTRY_MAX];
		size_t len = hist_entry_encode(&e0, &ne, ent);
		if (o + len <= STORE_HIST_BYTES) {
			memcpy(out + o, ent, len);
			o += len;
			kept++;
		} else {
			keep = kept; /* the rest is older still: it goes too */
		}
	}
	/* the older entries as they are, while keep and the budget allow;
	 * all of them are walked, so a damaged ring is noticed here */
	for (unsigned i = 1; i < count; i++) {
		size_t start = off;
		if ((rc = hist_entry_skip(ring, rlen, &off)) < 0)
			return rc;
		if (kept < keep && o + (off - start) <= STORE_HIST_BYTES) {
			memcpy(out + o, ring + start, off - start);
			o += off - start;
			kept++;
		} else {
			keep = kept;
		}
	}
	if (off != rlen)
		return ERR_CORRUPT;
	out[countoff] = (uint8_t)kept;
	*outlen = o;
	return 0;
}

/* Puts e at the head of host's ring and rewrites the host value in place:
 * the host's page is dirty already when the caller just updated the host,
 * so this writes no new page. */
static int history_append(store_txn_t *t, const dname_t *host, const store_hist_t *e,
			  unsigned keep)
{
	/* LMDB 0.9 moves a leaf node (8 bytes + key + value) over
	 * (4096 - 16) / 2 - 2 = 2038 bytes to overflow pages */
	_Static_assert(HOST_FIXED + 255 + STORE_HIST_BYTES + DNAME_MAX_KEY + 8 <= 2038,
		      "a host value must stay below LMDB's overflow size for 4 KiB pages");
	store_host_t h;
	uint8_t agentbuf[255];
	int rc = host_get_copy(t, host, &h, agentbuf);
	if (rc < 0)
		return rc;
	return host_write_hist(t, host, &h, e, keep);
}

int store_history_add(store_txn_t *t, const dname_t *host, const store_hist_t *e, unsigned keep)
{
	if (!t->write)
		return -EACCES;
	if (keep == 0 || keep > STORE_HIST_MAX_KEEP)
		return -EINVAL;
	return history_append(t, host, e, keep);
}

int store_history_walk(store_txn_t *t, const dname_t *host, int newest_first, store_hist_cb cb,
		       void *arg)
{
	store_hist_t list[STORE_HIST_MAX_KEEP];
	uint8_t ring[STORE_HIST_BYTES];
	MDB_val v;
	size_t roff;
	unsigned n;
	int rc;
	rc = get_name(t, t->s->hosts, host, &v);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0 || (rc = hist_ring_off(&v, &roff)) < 0)
		return rc;
	if (v.mv_size - roff > sizeof(ring))
		return ERR_CORRUPT;
	/* a copy, so that the callback may write in the txn */
	memcpy(ring, (const uint8_t *)v.mv_data + roff, v.mv_size - roff);
	if ((rc = hist_ring_decode(ring, v.mv_size - roff, list, &n)) < 0)
		return rc;
	for (unsigned i = 0; i < n; i++)
		if ((rc = cb(&list[newest_first ? i : n - 1 - i], arg)) != 0)
			return rc;
	return 0;
}

/* ---- ACME values ---- */

#define AKEY_MAX (SUB_MAX + STORE_ACME_VALUE_MAX)

int store_acme_check(const char *value, size_t len)
{
	if (!value || len == 0 || len > STORE_ACME_VALUE_MAX)
		return ERR_BADTXT;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return ERR_BADTXT;
	}
	return 0;
}

int store_acme_name(const dname_t *host, dname_t *out)
{
	int rc = dname_child(out, host, STORE_ACME_LABEL, sizeof(STORE_ACME_LABEL) - 1);
	return rc == ERR_BADNAME ? ERR_TOOBIG : rc;
}

/*
 * Adds (add = 1, with ttl) or removes one value's content in the TXT RRset
 * at _acme-challenge.<host> of host's zone, leaving every other content
 * as it is.  *changed |= whether the RRset changed; the zone is marked.
 */
static int acme_txt(store_txn_t *t, const dname_t *host, uint32_t zone_id, const char *value,
		    size_t len, int add, uint32_t ttl, int *changed)
{
	char q[STORE_ACME_VALUE_MAX + 2];
	const char **c;
	uint16_t *l;
	unsigned n, m = 0;
	uint32_t oldttl = ttl;
	dname_t an;
	rtarget_t r;
	int rc, ch = 0, present = 0;
	if ((rc = store_acme_name(host, &an)) < 0)
		return rc;
	rc = rtarget(t, zone_id, &an, &r);
	if (rc == ERR_NOZONE && !add)
		return 0;
	if (rc < 0)
		return rc;
	q[0] = '"';
	memcpy(q + 1, value, len);
	q[len + 1] = '"';
	if ((rc = rrset_read(t, &r, RR_TXT, &c, &l, &n, &oldttl)) < 0)
		return rc;
	for (unsigned i = 0; i < n; i++) {
		if (l[i] == len + 2 && memcmp(c[i], q, len + 2) == 0) {
			present = 1;
			if (!add)
				continue;
		}
		c[m] = c[i];
		l[m] = l[i];
		m++;
	}
	if (add && !present) {
		/* rrset_read leaves one spare slot when it found any */
		if (!c && pair_reserve(&c, &l, 1) < 0)
			return -ENOMEM;
		c[m] = q;
		l[m] = (uint16_t)(len + 2);
		m++;
	}
	if (add || present)
		rc = rrset_replace(t, &r, RR_TXT, add ? ttl : oldttl, c, l, m, &ch);
	free(c);
	free(l);
	if (rc == 0 && ch) {
		*changed = 1;
		rc = mark_changed(t, zone_id);
	}
	return rc;
}

/* One value found by acme_collect: host and value copied out of the map. */
struct acme_item {
	dname_t host;
	uint8_t len;
	char value[STORE_ACME_VALUE_MAX];
};

/*
 * Collects the values of host (all hosts when NULL) whose expiry is <= before
 * (UINT64_MAX: all) into a malloc'd array.
 */
static int acme_collect(store_txn_t *t, const dname_t *host, uint64_t before,
			struct acme_item **out, unsigned *n)
{
	uint8_t pre[SUB_MAX];
	size_t plen = host ? sub_prefix(pre, host) : 0;
	struct acme_item *list = NULL;
	unsigned cnt = 0, cap = 0;
	MDB_cursor *c;
	MDB_val k = mval(pre, plen), v;
	int rc;
	*out = NULL;
	*n = 0;
	if (t->s->noext)
		return 0;
	if ((rc = mdb_cursor_open(t->txn, t->s->acme, &c)))
		return lmdb_err(rc);
	rc = plen ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
	for (; rc == 0 && (!plen || has_prefix(&k, pre, plen));
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t hl = sub_host_len(k.mv_data, k.mv_size), vl;
		if (hl == 0 || v.mv_size != 8 || (vl = k.mv_size - hl - 1) == 0 ||
		    vl > STORE_ACME_VALUE_MAX) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (get64(v.mv_data) > before)
			continue;
		if (cnt == cap) {
			struct acme_item *nl = realloc(list, (cap = cap ? cap * 2 : 8) * sizeof(*list));
			if (!nl) {
				rc = ENOMEM;
				break;
			}
			list = nl;
		}
		if (dname_from_key(&list[cnt].host, k.mv_data, hl) < 0) {
			rc = MDB_CORRUPTED;
			break;
		}
		list[cnt].len = (uint8_t)vl;
		memcpy(list[cnt].value, (const uint8_t *)k.mv_data + hl + 1, vl);
		cnt++;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		free(list);
		return rc == ENOMEM ? -ENOMEM : lmdb_err(rc);
	}
	*out = list;
	*n = cnt;
	return 0;
}

/* Removes the collected values: their entries and, with records, their
 * TXT contents (a host that is gone has none to remove). */
static int acme_remove(store_txn_t *t, const struct acme_item *items, unsigned n, int records)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t kb[AKEY_MAX];
		size_t plen = sub_prefix(kb, &items[i].host);
		store_host_t h;
		MDB_val k;
		int rc, ch = 0;
		if (records) {
			rc = store_host_get(t, &items[i].host, &h);
			if (rc < 0 && rc != -ENOENT)
				return rc;
			if (rc == 0 && (rc = acme_txt(t, &items[i].host, h.zone_id, items[i].value,
						      items[i].len, 0, 0, &ch)) < 0)
				return rc;
		}
		memcpy(kb + plen, items[i].value, items[i].len);
		k = mval(kb, plen + items[i].len);
		rc = mdb_del(t->txn, t->s->acme, &k, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return lmdb_err(rc);
	}
	return 0;
}

int store_acme_set(store_txn_t *t, const dname_t *host, const char *value, size_t len,
		   uint64_t expires, uint32_t ttl, uint64_t now, int *changed)
{
	uint8_t kb[AKEY_MAX], eb[8];
	size_t plen = sub_prefix(kb, host);
	struct acme_item *items;
	unsigned n;
	store_host_t h;
	MDB_val k, v;
	int rc, ch = 0;
	if (changed)
		*changed = 0;
	if ((rc = store_acme_check(value, len)) < 0)
		return rc;
	if (!t->write || t->s->noext)
		return -EACCES;
	if (expires <= now)
		return -EINVAL;
	if ((rc = store_host_get(t, host, &h)) < 0)
		return rc;
	/* expired values first, so a stale one never blocks a new one */
	if ((rc = acme_collect(t, host, now, &items, &n)) < 0)
		return rc;
	rc = acme_remove(t, items, n, 1);
	free(items);
	if (rc < 0)
		return rc;
	if (n && changed)
		*changed = 1;
	memcpy(kb + plen, value, len);
	k = mval(kb, plen + len);
	rc = mdb_get(t->txn, t->s->acme, &k, &v);
	if (rc == MDB_NOTFOUND) {
		if ((rc = acme_collect(t, host, UINT64_MAX, &items, &n)) < 0)
			return rc;
		free(items);
		if (n >= STORE_ACME_MAX)
			return ERR_TOOBIG;
	} else if (rc) {
		return lmdb_err(rc);
	}
	if ((rc = acme_txt(t, host, h.zone_id, value, len, 1, ttl, &ch)) < 0)
		return rc;
	put64(eb, expires);
	v = mval(eb, 8);
	if ((rc = mdb_put(t->txn, t->s->acme, &k, &v, 0)))
		return lmdb_err(rc);
	if (ch && changed)
		*changed = 1;
	return 0;
}

int store_acme_del(store_txn_t *t, const dname_t *host, const char *value, size_t len)
{
	struct acme_item *items, one;
	unsigned n;
	store_host_t h;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = store_host_get(t, host, &h)) < 0)
		return rc;
	if (t->s->noext)
		return value ? -ENOENT : 0;
	if (value) {
		uint8_t kb[AKEY_MAX];
		size_t plen = sub_prefix(kb, host);
		MDB_val k, v;
		if (len == 0 || len > STORE_ACME_VALUE_MAX)
			return -ENOENT;
		memcpy(kb + plen, value, len);
		k = mval(kb, plen + len);
		if ((rc = mdb_get(t->txn, t->s->acme, &k, &v)))
			return lmdb_err(rc);
		one.host = *host;
		one.len = (uint8_t)len;
		memcpy(one.value, value, len);
		return acme_remove(t, &one, 1, 1);
	}
	if ((rc = acme_collect(t, host, UINT64_MAX, &items, &n)) < 0)
		return rc;
	rc = acme_remove(t, items, n, 1);
	free(items);
	return rc;
}

int store_acme_walk(store_txn_t *t, const dname_t *host, store_acme_cb cb, void *arg)
{
	uint8_t pre[SUB_MAX];
	size_t plen = host ? sub_prefix(pre, host) : 0;
	MDB_cursor *c;
	MDB_val k = mval(pre, plen), v;
	int rc, r = 0;
	if (t->s->noext)
		return 0;
	if ((rc = mdb_cursor_open(t->txn, t->s->acme, &c)))
		return lmdb_err(rc);
	rc = plen ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
	for (; rc == 0 && (!plen || has_prefix(&k, pre, plen));
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t hl = sub_host_len(k.mv_data, k.mv_size), vl;
		dname_t hn;
		store_acme_t a;
		if (hl == 0 || v.mv_size != 8 || (vl = k.mv_size - hl - 1) == 0 ||
		    vl > STORE_ACME_VALUE_MAX || dname_from_key(&hn, k.mv_data, hl) < 0) {
			r = ERR_CORRUPT;
			break;
		}
		a.value = (const char *)k.mv_data + hl + 1;
		a.len = (uint8_t)vl;
		a.expires = get64(v.mv_data);
		if ((r = cb(&hn, &a, arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (r)
		return r;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

int store_acme_gc(store_txn_t *t, uint64_t now, unsigned *removed)
{
	struct acme_item *items;
	unsigned n;
	int rc;
	if (removed)
		*removed = 0;
	if (!t->write)
		return -EACCES;
	if ((rc = acme_collect(t, NULL, now, &items, &n)) < 0)
		return rc;
	rc = acme_remove(t, items, n, 1);
	free(items);
	if (rc == 0 && removed)
		*removed = n;
	return rc;
}

/* ---- deleting a host: everything hanging off it ---- */

static int host_cascade(store_txn_t *t, const dname_t *name, const store_host_t *h, int records)
{
	uint8_t pre[SUB_MAX];
	size_t plen = sub_prefix(pre, name);
	store_hostopt_t o;
	struct acme_item *items;
	dname_t *list;
	unsigned n;
	int rc, any = 0;
	if (t->s->noext)
		return 0;
	if ((rc = hopt_read(t, name, &o)) < 0)
		return rc;
	if (records && (o.flags & STORE_HOST_WILDCARD)) {
		rtarget_t rs;
		rc = star_target(t, h->zone_id, name, &rs);
		if (rc == 0 && ((rc = addr_rrset(t, &rs, RR_A, 0, NULL, &any)) < 0 ||
				(rc = addr_rrset(t, &rs, RR_AAAA, 0, NULL, &any)) < 0))
			return rc;
		if (rc < 0 && rc != ERR_NOZONE)
			return rc;
		if (any && (rc = mark_changed(t, h->zone_id)) < 0)
			return rc;
	}
	if (o.follow.len && (rc = follower_link(t, &o.follow, name, 0)) < 0)
		return rc;
	/* followers keep their address and identifier, and follow none */
	if ((rc = follower_list(t, name, &list, &n)) < 0)
		return rc;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		store_hostopt_t fo;
		if ((rc = hopt_read(t, &list[i], &fo)) < 0)
			break;
		if (fo.follow.len && dname_equal(&fo.follow, name)) {
			memset(&fo.follow, 0, sizeof(fo.follow));
			rc = hopt_write(t, &list[i], &fo);
		}
	}
	free(list);
	if (rc < 0)
		return rc;
	if ((rc = del_prefix(t, t->s->followers, pre, plen, NULL, NULL)) < 0)
		return rc;
	memset(&o, 0, sizeof(o));
	/* the history lives in the host value and goes with it */
	if ((rc = hopt_write(t, name, &o)) < 0 ||
	    (rc = del_prefix(t, t->s->tokens, pre, plen, NULL, NULL)) < 0)
		return rc;
	if ((rc = acme_collect(t, name, UINT64_MAX, &items, &n)) < 0)
		return rc;
	rc = acme_remove(t, items, n, records);
	free(items);
	return rc;
}

struct cascade_arg {
	store_txn_t *t;
	uint32_t id;
};

static int cascade_one(const dname_t *name, const store_host_t *h, void *arg)
{
	struct cascade_arg *a = arg;
	if (h->zone_id != a->id)
		return 0;
	return host_cascade(a->t, name, h, 0);
}

/* store_zone_del: the hosts of zone id lose what hangs off them (their
 * records go with the zone). */
static int zone_hosts_cascade(store_txn_t *t, const dname_t *apex, uint32_t id)
{
	struct cascade_arg a = {t, id};
	if (t->s->noext)
		return 0;
	return store_host_walk(t, apex, cascade_one, &a);
}

/* ---- domain metadata ---- */

static int meta_key(uint8_t *key, uint32_t id, const char *kind, size_t kind_len)
{
	if (kind_len == 0)
		return -EINVAL;
	if (kind_len > STORE_MAX_META_KIND)
		return ERR_TOOBIG;
	put32(key, id);
	memcpy(key + 4, kind, kind_len);
	return 0;
}

int store_meta_get(store_txn_t *t, uint32_t zone_id, const char *kind, size_t kind_len,
		   store_meta_iter_t *it)
{
	uint8_t key[4 + STORE_MAX_META_KIND];
	MDB_val k, v;
	int rc = meta_key(key, zone_id, kind, kind_len);
	if (rc < 0)
		return rc == -EINVAL ? -ENOENT : rc;
	k = mval(key, 4 + kind_len);
	if ((rc = mdb_get(t->txn, t->s->domainmeta, &k, &v)))
		return lmdb_err(rc);
	if (v.mv_size < 2)
		return ERR_CORRUPT;
	it->p = (const uint8_t *)v.mv_data + 2;
	it->end = (const uint8_t *)v.mv_data + v.mv_size;
	it->left = get16(v.mv_data);
	return 0;
}

int store_meta_next(store_meta_iter_t *it, const char **val, uint16_t *len)
{
	uint16_t l;
	if (it->left == 0)
		return 0;
	if (it->end - it->p < 2)
		return ERR_CORRUPT;
	l = get16(it->p);
	if ((size_t)(it->end - it->p) < 2u + l)
		return ERR_CORRUPT;
	*val = (const char *)it->p + 2;
	*len = l;
	it->p += 2u + l;
	it->left--;
	return 1;
}

int store_meta_set(store_txn_t *t, uint32_t zone_id, const char *kind, size_t kind_len,
		   const char *const *vals, const uint16_t *lens, unsigned count)
{
	uint8_t key[4 + STORE_MAX_META_KIND], *buf;
	dname_t apex;
	MDB_val k, v;
	size_t len = 2, o = 2;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = meta_key(key, zone_id, kind, kind_len)) < 0)
		return rc;
	if (count > UINT16_MAX)
		return ERR_TOOBIG;
	if ((rc = zone_apex(t, zone_id, &apex)) < 0)
		return rc;
	k = mval(key, 4 + kind_len);
	if (count == 0) {
		rc = mdb_del(t->txn, t->s->domainmeta, &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
	}
	for (unsigned i = 0; i < count; i++)
		len += 2u + lens[i];
	if (len > STORE_MAX_VALUE)
		return ERR_TOOBIG;
	if (!(buf = malloc(len)))
		return -ENOMEM;
	put16(buf, (uint16_t)count);
	for (unsigned i = 0; i < count; i++) {
		put16(buf + o, lens[i]);
		if (lens[i])
			memcpy(buf + o + 2, vals[i], lens[i]);
		o += 2u + lens[i];
	}
	v = mval(buf, len);
	rc = lmdb_err(mdb_put(t->txn, t->s->domainmeta, &k, &v, 0));
	free(buf);
	return rc;
}

int store_meta_walk(store_txn_t *t, uint32_t zone_id, store_meta_cb cb, void *arg)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t idbuf[4];
	int rc, r = 0;
	put32(idbuf, zone_id);
	if ((rc = mdb_cursor_open(t->txn, t->s->domainmeta, &c)))
		return lmdb_err(rc);
	k = mval(idbuf, 4);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		store_meta_iter_t it;
		if (k.mv_size < 4 || memcmp(k.mv_data, idbuf, 4) != 0)
			break;
		if (v.mv_size < 2) {
			r = ERR_CORRUPT;
			break;
		}
		it.p = (const uint8_t *)v.mv_data + 2;
		it.end = (const uint8_t *)v.mv_data + v.mv_size;
		it.left = get16(v.mv_data);
		if ((r = cb((const char *)k.mv_data + 4, k.mv_size - 4, &it, arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (r)
		return r;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* ---- TSIG keys ---- */

static int tsig_decode(const MDB_val *k, const MDB_val *v, store_tsig_t *out)
{
	const uint8_t *p = v->mv_data;
	size_t n = v->mv_size, off;
	if (dname_from_key(&out->name, k->mv_data, k->mv_size) < 0 || n < 3)
		return ERR_CORRUPT;
	out->algorithm_len = p[0];
	if (1u + out->algorithm_len + 2 > n)
		return ERR_CORRUPT;
	out->algorithm = (const char *)p + 1;
	off = 1u + out->algorithm_len;
	out->secret_len = get16(p + off);
	if (off + 2 + out->secret_len > n)
		return ERR_CORRUPT;
	out->secret = (const char *)p + off + 2;
	return 0;
}

int store_tsig_get(store_txn_t *t, const dname_t *name, store_tsig_t *out)
{
	MDB_val k = mval(name->key, name->len), v;
	int rc = get_name(t, t->s->tsigkeys, name, &v);
	if (rc < 0)
		return rc;
	return tsig_decode(&k, &v, out);
}

int store_tsig_put(store_txn_t *t, const store_tsig_t *key)
{
	uint8_t *buf;
	MDB_val k = mval(key->name.key, key->name.len), v;
	size_t n;
	int rc;
	if (!t->write)
		return -EACCES;
	if (key->algorithm_len == 0 || key->secret_len == 0 || key->name.len == 0)
		return -EINVAL;
	n = 1u + key->algorithm_len + 2u + key->secret_len;
	if (!(buf = malloc(n)))
		return -ENOMEM;
	buf[0] = key->algorithm_len;
	memcpy(buf + 1, key->algorithm, key->algorithm_len);
	put16(buf + 1 + key->algorithm_len, key->secret_len);
	memcpy(buf + 3 + key->algorithm_len, key->secret, key->secret_len);
	v = mval(buf, n);
	rc = lmdb_err(mdb_put(t->txn, t->s->tsigkeys, &k, &v, 0));
	free(buf);
	return rc;
}

int store_tsig_del(store_txn_t *t, const dname_t *name)
{
	MDB_val k = mval(name->key, name->len);
	if (!t->write)
		return -EACCES;
	if (name->len == 0)
		return -ENOENT;
	return lmdb_err(mdb_del(t->txn, t->s->tsigkeys, &k, NULL));
}

int store_tsig_walk(store_txn_t *t, store_tsig_cb cb, void *arg)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc, r = 0;
	if ((rc = mdb_cursor_open(t->txn, t->s->tsigkeys, &c)))
		return lmdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		store_tsig_t key;
		if ((r = tsig_decode(&k, &v, &key)) < 0)
			break;
		if ((r = cb(&key, arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (r)
		return r;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* ---- autoprimaries ---- */

#define AP_MAX_IP 255

static int ap_key(uint8_t *key, const char *ip, const dname_t *ns, size_t *klen)
{
	size_t il = strlen(ip);
	if (il == 0)
		return -EINVAL;
	if (il > AP_MAX_IP)
		return ERR_TOOBIG;
	memcpy(key, ip, il);
	key[il] = 0;
	memcpy(key + il + 1, ns->key, ns->len);
	*klen = il + 1 + ns->len;
	return 0;
}

int store_autoprimary_put(store_txn_t *t, const char *ip, const dname_t *nameserver,
			  const char *account, size_t account_len)
{
	uint8_t key[AP_MAX_IP + 1 + DNAME_MAX_KEY];
	size_t klen;
	MDB_val k, v;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = ap_key(key, ip, nameserver, &klen)) < 0)
		return rc;
	if (account_len > 255)
		return ERR_TOOBIG;
	k = mval(key, klen);
	v = mval(account_len ? account : "", account_len);
	return lmdb_err(mdb_put(t->txn, t->s->autoprimaries, &k, &v, 0));
}

int store_autoprimary_del(store_txn_t *t, const char *ip, const dname_t *nameserver)
{
	uint8_t key[AP_MAX_IP + 1 + DNAME_MAX_KEY];
	size_t klen;
	MDB_val k;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = ap_key(key, ip, nameserver, &klen)) < 0)
		return rc == -EINVAL ? -ENOENT : rc;
	k = mval(key, klen);
	return lmdb_err(mdb_del(t->txn, t->s->autoprimaries, &k, NULL));
}

int store_autoprimary_walk(store_txn_t *t, const char *ip, store_autoprimary_cb cb, void *arg)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t prefix[AP_MAX_IP + 1];
	size_t plen = 0;
	int rc, r = 0;
	if (ip) {
		plen = strlen(ip);
		if (plen == 0 || plen > AP_MAX_IP)
			return 0;
		memcpy(prefix, ip, plen);
		prefix[plen++] = 0;
	}
	if ((rc = mdb_cursor_open(t->txn, t->s->autoprimaries, &c)))
		return lmdb_err(rc);
	if (plen) {
		k = mval(prefix, plen);
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	} else {
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	}
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;
		const uint8_t *nul;
		char ipbuf[AP_MAX_IP + 1];
		dname_t ns;
		size_t il;
		if (plen && (k.mv_size < plen || memcmp(kp, prefix, plen) != 0))
			break;
		nul = memchr(kp, 0, k.mv_size);
		if (!nul || (il = (size_t)(nul - kp)) > AP_MAX_IP ||
		    dname_from_key(&ns, nul + 1, k.mv_size - il - 1) < 0) {
			r = ERR_CORRUPT;
			break;
		}
		memcpy(ipbuf, kp, il);
		ipbuf[il] = '\0';
		if ((r = cb(ipbuf, &ns, v.mv_data, v.mv_size, arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (r)
		return r;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* ---- DNSSEC keys ---- */

#define KEY_FIXED (4 + 1 + 1 + 4)

static int key_decode(const MDB_val *k, const MDB_val *v, store_key_t *out)
{
	const uint8_t *p = v->mv_data;
	if (k->mv_size != 8 || v->mv_size < KEY_FIXED)
		return ERR_CORRUPT;
	out->zone_id = get32(k->mv_data);
	out->id = get32((const uint8_t *)k->mv_data + 4);
	out->flags = get32(p);
	out->active = p[4];
	out->published = p[5];
	out->content_len = get32(p + 6);
	if (out->content_len != v->mv_size - KEY_FIXED)
		return ERR_CORRUPT;
	out->content = (const char *)p + KEY_FIXED;
	return 0;
}

static int key_write(store_txn_t *t, uint32_t zone_id, uint32_t id, const store_key_t *key)
{
	uint8_t kb[8], *buf;
	MDB_val k, v;
	int rc;
	if (!(buf = malloc(KEY_FIXED + key->content_len)))
		return -ENOMEM;
	put32(kb, zone_id);
	put32(kb + 4, id);
	put32(buf, key->flags);
	buf[4] = key->active ? 1 : 0;
	buf[5] = key->published ? 1 : 0;
	put32(buf + 6, key->content_len);
	memcpy(buf + KEY_FIXED, key->content, key->content_len);
	k = mval(kb, 8);
	v = mval(buf, KEY_FIXED + key->content_len);
	rc = lmdb_err(mdb_put(t->txn, t->s->domainkeys, &k, &v, 0));
	/* the value held a private key: do not leave it in freed heap */
	sodium_memzero(buf, KEY_FIXED + key->content_len);
	free(buf);
	return rc;
}

int store_key_add(store_txn_t *t, uint32_t zone_id, const store_key_t *key, uint32_t *id)
{
	dname_t apex;
	uint8_t kb[8];
	MDB_cursor *c;
	MDB_val k, v;
	uint32_t next = 1;
	int rc;
	if (!t->write)
		return -EACCES;
	if (t->s->nokeys)
		return -EACCES;
	if (key->content_len == 0)
		return -EINVAL;
	if (key->content_len > STORE_MAX_KEY_CONTENT)
		return ERR_TOOBIG;
	if ((rc = zone_apex(t, zone_id, &apex)) < 0)
		return rc;
	/* the largest id of the zone is the last key below (zone_id + 1) */
	if ((rc = mdb_cursor_open(t->txn, t->s->domainkeys, &c)))
		return lmdb_err(rc);
	put32(kb, zone_id);
	put32(kb + 4, UINT32_MAX);
	k = mval(kb, 8);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size == 8 && memcmp(k.mv_data, kb, 8) == 0) {
		mdb_cursor_close(c);
		return ERR_TOOBIG; /* id space of the zone used up */
	}
	rc = rc == 0 ? mdb_cursor_get(c, &k, &v, MDB_PREV) : mdb_cursor_get(c, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == 8 && get32(k.mv_data) == zone_id)
		next = get32((const uint8_t *)k.mv_data + 4) + 1;
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	if ((rc = key_write(t, zone_id, next, key)) < 0)
		return rc;
	*id = next;
	return 0;
}

int store_key_get(store_txn_t *t, uint32_t zone_id, uint32_t id, store_key_t *out)
{
	uint8_t kb[8];
	MDB_val k = mval(kb, 8), v;
	int rc;
	if (t->s->nokeys)
		return -ENOENT;
	put32(kb, zone_id);
	put32(kb + 4, id);
	if ((rc = mdb_get(t->txn, t->s->domainkeys, &k, &v)))
		return lmdb_err(rc);
	return key_decode(&k, &v, out);
}

int store_key_walk(store_txn_t *t, uint32_t zone_id, store_key_cb cb, void *arg)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t idbuf[4];
	int rc, r = 0;
	if (t->s->nokeys)
		return 0;
	put32(idbuf, zone_id);
	if ((rc = mdb_cursor_open(t->txn, t->s->domainkeys, &c)))
		return lmdb_err(rc);
	k = mval(idbuf, 4);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		store_key_t key;
		if (k.mv_size < 4 || memcmp(k.mv_data, idbuf, 4) != 0)
			break;
		if ((r = key_decode(&k, &v, &key)) < 0)
			break;
		if ((r = cb(&key, arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (r)
		return r;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

int store_key_set_flags(store_txn_t *t, uint32_t zone_id, uint32_t id, int active, int published)
{
	store_key_t key;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = store_key_get(t, zone_id, id, &key)) < 0)
		return rc;
	if ((active < 0 || !!active == key.active) && (published < 0 || !!published == key.published))
		return 0;
	if (active >= 0)
		key.active = !!active;
	if (published >= 0)
		key.published = !!published;
	/* key.content points into the map; mdb_put of the same key may
	 * reuse that page, so write from a copy */
	char *copy = malloc(key.content_len ? key.content_len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, key.content, key.content_len);
	key.content = copy;
	rc = key_write(t, zone_id, id, &key);
	sodium_memzero(copy, key.content_len);
	free(copy);
	return rc;
}

int store_key_del(store_txn_t *t, uint32_t zone_id, uint32_t id)
{
	uint8_t kb[8];
	MDB_val k = mval(kb, 8);
	if (!t->write || t->s->nokeys)
		return t->write ? -ENOENT : -EACCES;
	put32(kb, zone_id);
	put32(kb + 4, id);
	return lmdb_err(mdb_del(t->txn, t->s->domainkeys, &k, NULL));
}

/* ---- NSEC order ---- */

/*
 * The length of the records key of the topmost delegation strictly between
 * the apex and the owner whose records key is key[0..klen) (a prefix of it
 * that ends at a label terminator), or 0 when the owner is not occluded;
 * < 0 on error.
 */
static int top_cut(store_txn_t *t, const uint8_t *key, size_t klen)
{
	for (size_t i = 4; i + 1 < klen; i++) {
		MDB_val v;
		int rc;
		if (key[i] != 0)
			continue;
		rc = rget(t, key, i + 1, &v);
		if (rc == -ENOENT)
			continue;
		if (rc < 0)
			return rc;
		if (value_has(&v, RR_NS))
			return (int)(i + 1);
	}
	return 0;
}

/* Builds *out from a records key of zone apex. */
static int owner_of(const dname_t *apex, const uint8_t *key, size_t klen, dname_t *out)
{
	return dname_from_canon_key(out, apex, key + 4, klen - 4) < 0 ? ERR_CORRUPT : 0;
}

int store_nsec_neighbours(store_txn_t *t, uint32_t zone_id, const dname_t *name,
			  dname_t *before, dname_t *after)
{
	rtarget_t r;
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t seek[RKEY_MAX];
	size_t slen;
	int rc = rtarget(t, zone_id, name, &r), cut;
	if (rc < 0)
		return rc;
	if ((rc = mdb_cursor_open(t->txn, t->s->records, &c)))
		return lmdb_err(rc);

	/* before: the last key <= name's; an occluded one gives way to the
	 * topmost cut above it, which sorts before it and is a member */
	*before = r.apex;
	k = mval(r.key, r.klen);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && !(k.mv_size == r.klen && memcmp(k.mv_data, r.key, r.klen) == 0))
		rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size > 4 && memcmp(k.mv_data, r.key, 4) == 0) {
		memcpy(seek, k.mv_data, k.mv_size);
		slen = k.mv_size;
		if ((cut = top_cut(t, seek, slen)) < 0)
			rc = cut;
		else
			rc = owner_of(&r.apex, seek, cut ? (size_t)cut : slen, before);
	} else if (rc == MDB_NOTFOUND) {
		rc = 0;
	} else if (rc > 0) {
		rc = lmdb_err(rc);
	}
	if (rc < 0)
		goto out;

	/* after: the first key > name's that is not occluded; past an
	 * occluded one, jump over the whole subtree of its cut (the cut's key
	 * with its last terminator raised to 0x01 sorts right after it) */
	*after = r.apex;
	memcpy(seek, r.key, r.klen);
	slen = r.klen;
	k = mval(seek, slen);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size == r.klen && memcmp(k.mv_data, r.key, r.klen) == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	while (rc == 0) {
		if (k.mv_size <= 4 || memcmp(k.mv_data, r.key, 4) != 0)
			break; /* past the zone: wrap to the apex */
		memcpy(seek, k.mv_data, k.mv_size);
		slen = k.mv_size;
		if ((cut = top_cut(t, seek, slen)) < 0) {
			rc = cut;
			goto out;
		}
		if (cut == 0) {
			rc = owner_of(&r.apex, seek, slen, after);
			goto out;
		}
		seek[cut - 1] = 1;
		k = mval(seek, (size_t)cut);
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	}
	rc = rc == 0 || rc == MDB_NOTFOUND ? 0 : rc < 0 ? rc : lmdb_err(rc);
out:
	mdb_cursor_close(c);
	return rc;
}

/* ---- stats ---- */

int store_stat(store_t *s, store_stat_t *st)
{
	store_txn_t *t;
	MDB_stat ms;
	MDB_envinfo info;
	int rc = store_txn_begin(s, 0, &t);
	if (rc < 0)
		return rc;
	memset(st, 0, sizeof(*st));
	if (!mdb_stat(t->txn, s->zones, &ms))
		st->zones = ms.ms_entries;
	if (!mdb_stat(t->txn, s->records, &ms))
		st->names = ms.ms_entries;
	if (!mdb_stat(t->txn, s->hosts, &ms))
		st->hosts = ms.ms_entries;
	mdb_env_stat(s->env, &ms);
	st->psize = ms.ms_psize;
	mdb_env_info(s->env, &info);
	st->map_size = info.me_mapsize;
	st->map_used = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	st->readers_used = info.me_numreaders;
	st->readers_max = info.me_maxreaders;
	store_txn_abort(t);
	return 0;
}

/* ---- migration from schema 1 ----
 *
 * Schema 1 (see the history of store.h) kept one "names" table for every
 * zone, keyed by the owner's name key, with content in presentation form
 * (names with a trailing dot); its zone value had no flags, last_check,
 * masters or account, its host value no zone id.  The whole conversion runs
 * in the one write txn of init_schema: a crash or an error leaves schema 1.
 */

#define V1_ZONE_FIXED 37
#define V1_HOST_FIXED (TOKEN_HASH_LEN + 8 + 8 + 4 + 1 + 16 + 1)

struct v1zone {
	dname_t name;
	uint32_t id;
	uint8_t *val; /* the schema-2 zone value, written after the walk */
	size_t len;
};

struct mig {
	store_txn_t t;            /* a store txn wrapping the migration txn */
	MDB_dbi names;
	struct v1zone *zones;     /* sorted like the zones table */
	size_t nzones;
};

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static const struct v1zone *mig_zone(const struct mig *m, const dname_t *n)
{
	size_t lo = 0, hi = m->nzones;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(m->zones[mid].name.key, m->zones[mid].name.len, n->key, n->len);
		if (c == 0)
			return &m->zones[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The closest enclosing zone of n, from the in-memory list (no gets). */
static const struct v1zone *mig_closest(const struct mig *m, const dname_t *n)
{
	dname_t x = *n;
	while (x.len > 0) {
		const struct v1zone *z = mig_zone(m, &x);
		if (z)
			return z;
		dname_parent(&x);
	}
	return NULL;
}

/*
 * The fallback for content rdata_v1_to_v2 does not recognise (schema 1
 * could not have written it, so it is kept rather than lost): names lose
 * their trailing dot where the type has them, in the whole content (NS,
 * CNAME, PTR), the 2nd field (MX, SVCB, HTTPS) or the 4th (SRV); the root
 * stays ".".
 */
static int mig_strip_dot(uint16_t type, const char *in, size_t len, char *out, size_t size,
			 size_t *outlen)
{
	int field;
	size_t start = 0, end, f = 1;
	switch (type) {
	case RR_NS:
	case RR_CNAME:
	case RR_PTR: field = 0; break;
	case RR_MX:
	case RR_SVCB:
	case RR_HTTPS: field = 2; break;
	case RR_SRV: field = 4; break;
	default: field = -1; break;
	}
	if (len > size)
		return ERR_TOOBIG;
	memcpy(out, in, len);
	*outlen = len;
	if (field < 0)
		return 0;
	if (field > 0) {
		for (; start < len && f < (size_t)field; start++)
			if (in[start] == ' ')
				f++;
		if (f < (size_t)field)
			return 0; /* fewer fields than the type has: leave as is */
	}
	end = field == 0 ? len : start;
	while (field > 0 && end < len && in[end] != ' ')
		end++;
	if (end - start > 1 && in[end - 1] == '.') {
		memmove(out + end - 1, out + end, len - end);
		*outlen = len - 1;
	}
	return 0;
}

/* Schema-1 content to backend form (rdata.h does the re-escaping). */
static int mig_content(uint16_t type, const char *in, size_t len, char *out, size_t size,
		       size_t *outlen)
{
	if (rdata_v1_to_v2(type, in, len, out, size, outlen) == 0 && *outlen <= STORE_MAX_CONTENT)
		return 0;
	return mig_strip_dot(type, in, len, out, size, outlen);
}

/* Growable byte buffer of the migration. */
struct mbuf {
	uint8_t *p;
	size_t len, cap;
};

static int mbuf_reserve(struct mbuf *b, size_t more)
{
	if (b->len + more > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *n;
		while (cap < b->len + more)
			cap *= 2;
		if (!(n = realloc(b->p, cap)))
			return -ENOMEM;
		b->p = n;
		b->cap = cap;
	}
	return 0;
}

/* Converts one schema-1 names value into out (schema-2 content). */
static int mig_value(const uint8_t *p, size_t n, struct mbuf *out)
{
	const uint8_t *end = p + n;
	static const size_t room = STORE_MAX_CONTENT + 1; /* and a NUL */
	char *tmp = malloc(room);
	int rc = 0;
	if (!tmp)
		return -ENOMEM;
	out->len = 0;
	while (p < end && !rc) {
		size_t m = rrset_len(p, end);
		const uint8_t *q = p + 8;
		uint16_t type, cnt;
		if (m == 0) {
			rc = ERR_CORRUPT;
			break;
		}
		type = get16(p);
		cnt = get16(p + 6);
		if ((rc = mbuf_reserve(out, m)) < 0)
			break;
		memcpy(out->p + out->len, p, 8);
		out->len += 8;
		for (uint16_t j = 0; j < cnt && !rc; j++) {
			uint16_t l = get16(q);
			size_t ol;
			rc = mig_content(type, (const char *)q + 2, l, tmp, room, &ol);
			if (rc == 0) {
				put16(out->p + out->len, (uint16_t)ol);
				memcpy(out->p + out->len + 2, tmp, ol);
				out->len += 2u + ol;
			}
			q += 2u + l;
		}
		p += m;
	}
	free(tmp);
	return rc;
}

/* Writes the RRset of type found in value val (schema-2 form) to dst. */
static int mig_copy_rrset(struct mig *m, const uint8_t *val, size_t n, uint16_t type,
			  const rtarget_t *dst)
{
	store_rr_iter_t it;
	store_rr_t rr;
	const char **c = NULL;
	uint16_t *l = NULL;
	unsigned cnt = 0, cap = 0;
	uint32_t ttl = 0;
	int rc, ch;
	store_rr_iter_init(&it, val, n);
	while ((rc = store_rr_next(&it, &rr)) == 1) {
		if (rr.type != type)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			if (pair_reserve(&c, &l, cap) < 0)
				return -ENOMEM;
		}
		c[cnt] = rr.data;
		l[cnt] = rr.len;
		ttl = rr.ttl;
		cnt++;
	}
	if (rc == 0 && cnt)
		rc = rrset_replace(&m->t, dst, type, ttl, c, l, cnt, &ch);
	free(c);
	free(l);
	return rc;
}

/*
 * At a zone apex with a parent zone in the store: the parent gets the
 * delegation (the apex NS set), the DS, and A/AAAA glue of the NS targets
 * at or below the apex.  v1 is the apex's schema-1 value (for the NS
 * targets, still with their dots), conv its converted form.
 */
static int mig_delegate(struct mig *m, const struct v1zone *child, const struct v1zone *parent,
			const uint8_t *v1, size_t v1len, const struct mbuf *conv)
{
	rtarget_t r;
	store_rr_iter_t it;
	store_rr_t rr;
	int rc;
	if ((rc = rkey_build(&r, parent->id, &parent->name, &child->name)) < 0)
		return rc;
	if ((rc = mig_copy_rrset(m, conv->p, conv->len, RR_NS, &r)) < 0 ||
	    (rc = mig_copy_rrset(m, conv->p, conv->len, RR_DS, &r)) < 0)
		return rc;
	store_rr_iter_init(&it, v1, v1len);
	while ((rc = store_rr_next(&it, &rr)) == 1) {
		dname_t target;
		MDB_val k, v;
		rtarget_t g;
		if (rr.type != RR_NS || dname_parse(&target, rr.data, rr.len) < 0 ||
		    !dname_is_below(&target, &child->name))
			continue;
		k = mval(target.key, target.len);
		if (target.len == 0 || mdb_get(m->t.txn, m->names, &k, &v) != 0)
			continue;
		if ((rc = rkey_build(&g, parent->id, &parent->name, &target)) < 0 ||
		    (rc = mig_copy_rrset(m, v.mv_data, v.mv_size, RR_A, &g)) < 0 ||
		    (rc = mig_copy_rrset(m, v.mv_data, v.mv_size, RR_AAAA, &g)) < 0)
			return rc;
	}
	return rc;
}

/* Reads the schema-1 zones into m (sorted by key) with their new values. */
static int mig_zones(struct mig *m)
{
	MDB_cursor *c;
	MDB_val k, v;
	size_t cap = 0;
	int rc = mdb_cursor_open(m->t.txn, m->t.s->zones, &c);
	if (rc)
		return lmdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const uint8_t *p = v.mv_data;
		store_zone_t z;
		struct v1zone *e;
		size_t off;
		memset(&z, 0, sizeof(z));
		if (v.mv_size < V1_ZONE_FIXED + 2 || dname_from_key(&z.name, k.mv_data, k.mv_size) < 0)
			break;
		z.id = get32(p);
		z.kind = p[4];
		z.serial = get32(p + 5);
		z.notified_serial = get32(p + 9);
		z.refresh = get32(p + 13);
		z.retry = get32(p + 17);
		z.expire = get32(p + 21);
		z.minimum = get32(p + 25);
		z.ttl = get32(p + 29);
		off = V1_ZONE_FIXED;
		z.mname_len = p[off];
		if (off + 1 + z.mname_len + 1 > v.mv_size)
			break;
		z.mname = (const char *)p + off + 1;
		off += 1u + z.mname_len;
		z.rname_len = p[off];
		if (off + 1 + z.rname_len > v.mv_size)
			break;
		z.rname = (const char *)p + off + 1;
		if (m->nzones == cap) {
			struct v1zone *n;
			cap = cap ? cap * 2 : 16;
			if (!(n = realloc(m->zones, cap * sizeof(*n)))) {
				mdb_cursor_close(c);
				return -ENOMEM;
			}
			m->zones = n;
		}
		e = &m->zones[m->nzones];
		e->name = z.name;
		e->id = z.id;
		if (!(e->val = malloc(ZONE_MAXVAL))) {
			mdb_cursor_close(c);
			return -ENOMEM;
		}
		e->len = zone_encode(&z, e->val);
		m->nzones++;
	}
	mdb_cursor_close(c);
	if (rc == 0)
		return ERR_CORRUPT; /* the loop stopped at a bad row */
	if (rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	for (size_t i = 0; i < m->nzones; i++) {
		k = mval(m->zones[i].name.key, m->zones[i].name.len);
		v = mval(m->zones[i].val, m->zones[i].len);
		if ((rc = mdb_put(m->t.txn, m->t.s->zones, &k, &v, 0)))
			return lmdb_err(rc);
	}
	return 0;
}

/* Moves every names entry to its zone's records. */
static int mig_names(struct mig *m)
{
	MDB_cursor *c;
	MDB_val k, v;
	struct mbuf conv = {0}, own = {0};
	int rc = mdb_cursor_open(m->t.txn, m->names, &c), r = 0;
	if (rc)
		return lmdb_err(rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !r;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const struct v1zone *z, *parent = NULL;
		dname_t owner, up;
		rtarget_t t;
		MDB_val nv;
		if (dname_from_key(&owner, k.mv_data, k.mv_size) < 0) {
			r = ERR_CORRUPT;
			break;
		}
		if (!(z = mig_closest(m, &owner)))
			continue; /* outside every zone: no zone could serve it */
		if ((r = mig_value(v.mv_data, v.mv_size, &conv)) < 0)
			break;
		if (dname_equal(&owner, &z->name)) {
			up = owner;
			if (dname_parent(&up) == 0)
				parent = mig_closest(m, &up);
		}
		/* a DS at a child apex is the parent's */
		own.len = 0;
		{
			const uint8_t *p = conv.p, *end = conv.p + conv.len;
			size_t n;
			if ((r = mbuf_reserve(&own, conv.len)) < 0)
				break;
			for (; p < end; p += n) {
				n = rrset_len(p, end);
				if (parent && get16(p) == RR_DS)
					continue;
				memcpy(own.p + own.len, p, n);
				own.len += n;
			}
		}
		if ((r = rkey_build(&t, z->id, &z->name, &owner)) < 0)
			break;
		if (own.len) {
			MDB_val nk = mval(t.key, t.klen);
			nv = mval(own.p, own.len);
			if ((r = lmdb_err(mdb_put(m->t.txn, m->t.s->records, &nk, &nv, 0))) < 0)
				break;
		}
		if (parent)
			r = mig_delegate(m, z, parent, v.mv_data, v.mv_size, &conv);
	}
	mdb_cursor_close(c);
	free(conv.p);
	free(own.p);
	if (r)
		return r;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* Gives every host its zone id (hosts outside every zone are dropped). */
static int mig_hosts(struct mig *m)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t buf[HOST_FIXED + 255], key[DNAME_MAX_KEY];
	int rc = mdb_cursor_open(m->t.txn, m->t.s->hosts, &c);
	if (rc)
		return lmdb_err(rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		const struct v1zone *z;
		dname_t name;
		MDB_val nv;
		if (dname_from_key(&name, k.mv_data, k.mv_size) < 0 || v.mv_size < V1_HOST_FIXED ||
		    v.mv_size > V1_HOST_FIXED + 255) {
			mdb_cursor_close(c);
			return ERR_CORRUPT;
		}
		if (!(z = mig_closest(m, &name))) {
			rc = cursor_del_next(c, &k, &v);
			continue;
		}
		put32(buf, z->id);
		memcpy(buf + 4, v.mv_data, v.mv_size);
		nv = mval(buf, 4 + v.mv_size);
		/* the key lives in the page the put rewrites: copy it first */
		memcpy(key, k.mv_data, k.mv_size);
		k.mv_data = key;
		if ((rc = mdb_cursor_put(c, &k, &nv, MDB_CURRENT)) != 0)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

static int migrate_v1(store_t *s, MDB_txn *txn)
{
	struct mig m;
	MDB_val k = mval("version", 7), v;
	uint8_t buf[4];
	int rc;
	memset(&m, 0, sizeof(m));
	m.t.s = s;
	m.t.txn = txn;
	m.t.write = 1;
	if ((rc = open_tables(s, txn, MDB_CREATE)) < 0)
		return rc;
	if ((rc = mdb_dbi_open(txn, "names", 0, &m.names)))
		return rc == MDB_NOTFOUND ? ERR_VERSION : lmdb_err(rc);
	if ((rc = mig_zones(&m)) == 0 && (rc = mig_names(&m)) == 0 && (rc = mig_hosts(&m)) == 0) {
		rc = lmdb_err(mdb_drop(txn, m.names, 1));
		if (rc == 0) {
			put32(buf, STORE_SCHEMA_VERSION);
			v = mval(buf, 4);
			rc = lmdb_err(mdb_put(txn, s->meta, &k, &v, 0));
		}
	}
	for (size_t i = 0; i < m.nzones; i++)
		free(m.zones[i].val);
	free(m.zones);
	return rc;
}
