/*
 * store.c - the LMDB store.  The value encodings are documented in store.h;
 * this file is the only place that sees MDB_* codes (lmdb_err() maps them).
 */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

struct store {
	MDB_env *env;
	MDB_dbi meta, zones, zoneids, names, hosts;
	unsigned flags;
	/* Every active txn of this process holds the read side; resizing the
	 * map (which LMDB allows only with no txn active in the process) takes
	 * the write side.  Writer-preferring, so a busy reader loop cannot
	 * starve a grow. */
	pthread_rwlock_t map_lock;
	char path[PATH_MAX];
};

struct store_txn {
	store_t *s;
	MDB_txn *txn;
	int write;
	int locked;          /* holds map_lock (read side) */
	uint32_t *changed;   /* ids of zones changed in this txn */
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

static uint32_t serial_next(uint32_t old, uint32_t now)
{
	uint32_t next = old + 1;
	/* RFC 1982: now is "greater" than next when the forward distance is
	 * below 2^31.  Time only ever wins when it is ahead, so a serial set
	 * into the future by hand keeps counting from there. */
	if (now != next && (uint32_t)(now - next) < 0x80000000u)
		next = now;
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

static int init_schema(store_t *s, int create)
{
	MDB_txn *t;
	MDB_val k = mval("version", 7), v;
	uint8_t buf[4];
	unsigned dbflags = create ? MDB_CREATE : 0;
	int rc = mdb_txn_begin(s->env, NULL, (s->flags & STORE_RDONLY) ? MDB_RDONLY : 0, &t);
	if (rc)
		return lmdb_err(rc);
	if ((rc = mdb_dbi_open(t, "meta", dbflags, &s->meta)) ||
	    (rc = mdb_dbi_open(t, "zones", dbflags, &s->zones)) ||
	    (rc = mdb_dbi_open(t, "zoneids", dbflags, &s->zoneids)) ||
	    (rc = mdb_dbi_open(t, "names", dbflags, &s->names)) ||
	    (rc = mdb_dbi_open(t, "hosts", dbflags, &s->hosts))) {
		mdb_txn_abort(t);
		/* a database file without our tables is not a KyedNS store */
		return rc == MDB_NOTFOUND ? ERR_VERSION : lmdb_err(rc);
	}
	rc = mdb_get(t, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND && create) {
		uint8_t id[4];
		put32(buf, STORE_SCHEMA_VERSION);
		put32(id, 1);
		v = mval(buf, 4);
		rc = mdb_put(t, s->meta, &k, &v, 0);
		if (!rc) {
			MDB_val k2 = mval("next_zone_id", 12), v2 = mval(id, 4);
			rc = mdb_put(t, s->meta, &k2, &v2, 0);
		}
		if (rc) {
			mdb_txn_abort(t);
			return lmdb_err(rc);
		}
		return lmdb_err(mdb_txn_commit(t));
	}
	if (rc) {
		mdb_txn_abort(t);
		return rc == MDB_NOTFOUND ? ERR_VERSION : lmdb_err(rc);
	}
	if (v.mv_size != 4 || get32(v.mv_data) != STORE_SCHEMA_VERSION) {
		mdb_txn_abort(t);
		return ERR_VERSION;
	}
	return lmdb_err(mdb_txn_commit(t));
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
	if ((rc = mdb_env_create(&s->env)) || (rc = mdb_env_set_maxdbs(s->env, 8)) ||
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

static int mark_changed(store_txn_t *t, uint32_t id)
{
	for (unsigned i = t->nchanged; i-- > 0;)
		if (t->changed[i] == id)
			return 0;
	if (t->nchanged == t->capchanged) {
		unsigned cap = t->capchanged ? t->capchanged * 2 : 8;
		uint32_t *n = realloc(t->changed, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->changed = n;
		t->capchanged = cap;
	}
	t->changed[t->nchanged++] = id;
	return 0;
}

static int zone_decode(const MDB_val *k, const MDB_val *v, store_zone_t *z);
static int zone_write(store_txn_t *t, const store_zone_t *z);

static int bump_serials(store_txn_t *t)
{
	uint32_t now = unix_now();
	for (unsigned i = 0; i < t->nchanged; i++) {
		store_zone_t z;
		int rc = store_zone_get_by_id(t, t->changed[i], &z);
		if (rc == -ENOENT)
			continue; /* deleted in this txn */
		if (rc < 0)
			return rc;
		z.serial = serial_next(z.serial, now);
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

#define ZONE_FIXED 37 /* bytes before mname_len */

static int zone_decode(const MDB_val *k, const MDB_val *v, store_zone_t *z)
{
	const uint8_t *p = v->mv_data;
	size_t n = v->mv_size, off;
	if (n < ZONE_FIXED + 2 || dname_from_key(&z->name, k->mv_data, k->mv_size) < 0)
		return ERR_CORRUPT;
	z->id = get32(p);
	z->kind = p[4];
	z->serial = get32(p + 5);
	z->notified_serial = get32(p + 9);
	z->refresh = get32(p + 13);
	z->retry = get32(p + 17);
	z->expire = get32(p + 21);
	z->minimum = get32(p + 25);
	z->ttl = get32(p + 29);
	/* p + 33: reserved u32 (flags), zero in schema 1 */
	off = ZONE_FIXED;
	z->mname_len = p[off];
	if (off + 1 + z->mname_len + 1 > n)
		return ERR_CORRUPT;
	z->mname = (const char *)p + off + 1;
	off += 1u + z->mname_len;
	z->rname_len = p[off];
	if (off + 1 + z->rname_len > n)
		return ERR_CORRUPT;
	z->rname = (const char *)p + off + 1;
	return 0;
}

static int zone_write(store_txn_t *t, const store_zone_t *z)
{
	uint8_t buf[ZONE_FIXED + 2 + 255 + 255];
	size_t n = ZONE_FIXED;
	MDB_val k = mval(z->name.key, z->name.len), v;
	put32(buf, z->id);
	buf[4] = z->kind;
	put32(buf + 5, z->serial);
	put32(buf + 9, z->notified_serial);
	put32(buf + 13, z->refresh);
	put32(buf + 17, z->retry);
	put32(buf + 21, z->expire);
	put32(buf + 25, z->minimum);
	put32(buf + 29, z->ttl);
	put32(buf + 33, 0);
	/* mname/rname may point into the map: copy before the put moves pages */
	buf[n++] = z->mname_len;
	if (z->mname_len)
		memcpy(buf + n, z->mname, z->mname_len);
	n += z->mname_len;
	buf[n++] = z->rname_len;
	if (z->rname_len)
		memcpy(buf + n, z->rname, z->rname_len);
	n += z->rname_len;
	v = mval(buf, n);
	return lmdb_err(mdb_put(t->txn, t->s->zones, &k, &v, 0));
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

int store_zone_add(store_txn_t *t, store_zone_t *z)
{
	MDB_val k = mval(z->name.key, z->name.len), v;
	uint8_t idbuf[4];
	int rc;
	if (!t->write)
		return -EACCES;
	if (z->name.len == 0)
		return ERR_BADNAME; /* the root zone is not ours to serve */
	rc = mdb_get(t->txn, t->s->zones, &k, &v);
	if (rc == 0)
		return -EEXIST;
	if (rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	if ((rc = next_zone_id(t, &z->id)) < 0)
		return rc;
	if (z->serial == 0)
		z->serial = unix_now();
	if ((rc = zone_write(t, z)) < 0)
		return rc;
	put32(idbuf, z->id);
	k = mval(idbuf, 4);
	v = mval(z->name.key, z->name.len);
	return lmdb_err(mdb_put(t->txn, t->s->zoneids, &k, &v, 0));
}

/* Looks up one name in dbi; the root name is never a key. */
static int get_name(store_txn_t *t, MDB_dbi dbi, const dname_t *name, MDB_val *v)
{
	MDB_val k = mval(name->key, name->len);
	if (name->len == 0)
		return -ENOENT;
	return lmdb_err(mdb_get(t->txn, dbi, &k, v));
}

int store_zone_get(store_txn_t *t, const dname_t *name, store_zone_t *out)
{
	MDB_val k = mval(name->key, name->len), v;
	int rc = get_name(t, t->s->zones, name, &v);
	if (rc < 0)
		return rc;
	return zone_decode(&k, &v, out);
}

int store_zone_put(store_txn_t *t, const store_zone_t *z)
{
	store_zone_t old;
	store_zone_t nz = *z;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = store_zone_get(t, &z->name, &old)) < 0)
		return rc;
	nz.id = old.id;
	if ((rc = zone_write(t, &nz)) < 0)
		return rc;
	return mark_changed(t, old.id);
}

int store_zone_get_by_id(store_txn_t *t, uint32_t id, store_zone_t *out)
{
	uint8_t idbuf[4];
	MDB_val k = mval(idbuf, 4), v;
	dname_t name;
	int rc;
	put32(idbuf, id);
	rc = mdb_get(t->txn, t->s->zoneids, &k, &v);
	if (rc)
		return lmdb_err(rc);
	if (dname_from_key(&name, v.mv_data, v.mv_size) < 0)
		return ERR_CORRUPT;
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

/* Collects the keys of zones strictly below name, to skip their data in
 * walks.  *out is malloc'd (or NULL when there are none). */
static int subzones(store_txn_t *t, const dname_t *name, dname_t **out, unsigned *count)
{
	MDB_cursor *c;
	MDB_val k = mval(name->key, name->len), v;
	dname_t *list = NULL;
	unsigned n = 0, cap = 0;
	int rc = mdb_cursor_open(t->txn, t->s->zones, &c);
	*out = NULL;
	*count = 0;
	if (rc)
		return lmdb_err(rc);
	if (name->len == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	else
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size < name->len || memcmp(k.mv_data, name->key, name->len) != 0)
			break;
		if (k.mv_size == name->len)
			continue;
		if (n == cap) {
			dname_t *nl;
			cap = cap ? cap * 2 : 4;
			nl = realloc(list, cap * sizeof(*nl));
			if (!nl) {
				free(list);
				mdb_cursor_close(c);
				return -ENOMEM;
			}
			list = nl;
		}
		if (dname_from_key(&list[n], k.mv_data, k.mv_size) < 0) {
			free(list);
			mdb_cursor_close(c);
			return ERR_CORRUPT;
		}
		n++;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		free(list);
		return lmdb_err(rc);
	}
	*out = list;
	*count = n;
	return 0;
}

static int in_subzone(const dname_t *n, const dname_t *subs, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		if (dname_is_below(n, &subs[i]))
			return 1;
	return 0;
}

/* Deletes every key at or below name in dbi, except under subs. */
static int del_range(store_txn_t *t, MDB_dbi dbi, const dname_t *name, const dname_t *subs,
		     unsigned nsubs)
{
	MDB_cursor *c;
	MDB_val k = mval(name->key, name->len), v;
	int rc = mdb_cursor_open(t->txn, dbi, &c);
	if (rc)
		return lmdb_err(rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0) {
		dname_t n;
		if (k.mv_size < name->len || memcmp(k.mv_data, name->key, name->len) != 0)
			break;
		if (dname_from_key(&n, k.mv_data, k.mv_size) == 0 && in_subzone(&n, subs, nsubs)) {
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
			continue;
		}
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		/* after a delete the cursor already sits on the next item;
		 * GET_CURRENT reads it without moving */
		rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : lmdb_err(rc);
}

int store_zone_del(store_txn_t *t, const dname_t *name)
{
	store_zone_t z;
	dname_t *subs;
	unsigned nsubs;
	uint8_t idbuf[4];
	MDB_val k, v;
	int rc;
	if (!t->write)
		return -EACCES;
	if ((rc = store_zone_get(t, name, &z)) < 0)
		return rc;
	if ((rc = subzones(t, name, &subs, &nsubs)) < 0)
		return rc;
	rc = del_range(t, t->s->names, name, subs, nsubs);
	if (rc == 0)
		rc = del_range(t, t->s->hosts, name, subs, nsubs);
	free(subs);
	if (rc < 0)
		return rc;
	put32(idbuf, z.id);
	k = mval(idbuf, 4);
	if ((rc = mdb_del(t->txn, t->s->zoneids, &k, NULL)) && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	k = mval(name->key, name->len);
	(void)v;
	return lmdb_err(mdb_del(t->txn, t->s->zones, &k, NULL));
}

/* ---- names and RRsets ---- */

static void iter_init(store_rr_iter_t *it, const void *data, size_t len)
{
	it->p = data;
	it->end = it->p + len;
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

int store_name_get(store_txn_t *t, const dname_t *name, store_rr_iter_t *it)
{
	MDB_val v;
	int rc = get_name(t, t->s->names, name, &v);
	if (rc < 0)
		return rc;
	iter_init(it, v.mv_data, v.mv_size);
	return 0;
}

int store_name_has_below(store_txn_t *t, const dname_t *name)
{
	MDB_cursor *c;
	MDB_val k = mval(name->key, name->len), v;
	int rc = mdb_cursor_open(t->txn, t->s->names, &c), found = 0;
	if (rc)
		return lmdb_err(rc);
	rc = name->len ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
	if (rc == 0 && k.mv_size == name->len && memcmp(k.mv_data, name->key, name->len) == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	if (rc == 0)
		found = k.mv_size > name->len && memcmp(k.mv_data, name->key, name->len) == 0;
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	return found;
}

int store_name_walk(store_txn_t *t, const dname_t *name, int skip_subzones, store_name_cb cb,
		    void *arg)
{
	MDB_cursor *c;
	MDB_val k = mval(name->key, name->len), v;
	dname_t *subs = NULL;
	unsigned nsubs = 0;
	int rc, r = 0;
	if (skip_subzones && (rc = subzones(t, name, &subs, &nsubs)) < 0)
		return rc;
	if ((rc = mdb_cursor_open(t->txn, t->s->names, &c))) {
		free(subs);
		return lmdb_err(rc);
	}
	rc = name->len ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		dname_t owner;
		store_rr_iter_t it;
		if (k.mv_size < name->len || memcmp(k.mv_data, name->key, name->len) != 0)
			break;
		if (dname_from_key(&owner, k.mv_data, k.mv_size) < 0) {
			r = ERR_CORRUPT;
			break;
		}
		if (nsubs && in_subzone(&owner, subs, nsubs))
			continue;
		iter_init(&it, v.mv_data, v.mv_size);
		if ((r = cb(&owner, &it, arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	free(subs);
	if (r)
		return r;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* Appends one RRset in the names-value encoding at buf + *o. */
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

/*
 * Rewrites the value of one owner with RRset `type` replaced by the given
 * contents (count 0 removes it).  Validates CNAME exclusivity against the
 * other RRsets of the owner.  Sets *changed.  The new value is built in a
 * heap buffer: the old one lives in the map and stays valid until our put.
 */
static int rrset_replace(store_txn_t *t, const dname_t *name, const store_zone_t *zone,
			 uint16_t type, uint32_t ttl, const char *const *contents,
			 const uint16_t *lens, unsigned count, int *changed)
{
	MDB_val k = mval(name->key, name->len), v = {0, NULL};
	const uint8_t *p, *end;
	size_t newlen = 0, o = 0, n;
	uint8_t *buf;
	int rc, present = 0, same = 0, others = 0, had_cname = 0, inserted = 0;

	*changed = 0;
	rc = mdb_get(t->txn, t->s->names, &k, &v);
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
			const uint8_t *r = p + 8;
			same = 1;
			for (unsigned j = 0; j < count && same; j++) {
				same = get16(r) == lens[j] && memcmp(r + 2, contents[j], lens[j]) == 0;
				r += 2u + get16(r);
			}
		}
	}
	if (count == 0 ? !present : same)
		return 0;
	if (count && type == RR_CNAME) {
		if (zone && dname_equal(name, &zone->name))
			return ERR_ISZONE;
		if (count > 1 || others)
			return ERR_CLASH;
	} else if (count && had_cname) {
		return ERR_CLASH;
	}
	if (count == 0 && !others) {
		/* the owner loses its last RRset */
		if ((rc = mdb_del(t->txn, t->s->names, &k, NULL)) != 0)
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
	rc = mdb_put(t->txn, t->s->names, &k, &v, 0);
	free(buf);
	if (rc)
		return lmdb_err(rc);
	*changed = 1;
	return 0;
}

/* Finds the zone of name and checks it is writable there. */
static int zone_for_write(store_txn_t *t, const dname_t *name, store_zone_t *z)
{
	if (!t->write)
		return -EACCES;
	return store_zone_find(t, name, z);
}

int store_rrset_set(store_txn_t *t, const dname_t *name, uint16_t type, uint32_t ttl,
		    const char *const *contents, const uint16_t *lens, unsigned count, int *changed)
{
	store_zone_t z;
	int ch = 0, rc;
	if (type == 0 || type == RR_SOA || type == RR_ANY)
		return ERR_BADTYPE;
	if (count > UINT16_MAX)
		return ERR_TOOBIG;
	if ((rc = zone_for_write(t, name, &z)) < 0)
		return rc;
	if (type == RR_CNAME && count) {
		/* a host's name must be able to hold its A/AAAA */
		MDB_val hv;
		rc = get_name(t, t->s->hosts, name, &hv);
		if (rc == 0)
			return ERR_CLASH;
		if (rc != -ENOENT)
			return rc;
	}
	rc = rrset_replace(t, name, &z, type, ttl, contents, lens, count, &ch);
	if (rc == 0 && ch)
		rc = mark_changed(t, z.id);
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
static int rrset_read(store_txn_t *t, const dname_t *name, uint16_t type, const char ***contents,
		      uint16_t **lens, unsigned *count, uint32_t *ttl)
{
	store_rr_iter_t it;
	store_rr_t rr;
	unsigned n = 0, cap = 0;
	const char **c = NULL;
	uint16_t *l = NULL;
	int rc = store_name_get(t, name, &it);
	*contents = NULL;
	*lens = NULL;
	*count = 0;
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
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

int store_rr_add(store_txn_t *t, const dname_t *name, uint16_t type, uint32_t ttl,
		 const char *content, size_t len)
{
	const char **c;
	uint16_t *l;
	unsigned n;
	uint32_t oldttl = ttl;
	int rc, ch;
	char *copy;
	if (len > STORE_MAX_CONTENT)
		return ERR_TOOBIG;
	if (type == 0 || type == RR_SOA || type == RR_ANY)
		return ERR_BADTYPE;
	if (!t->write)
		return -EACCES;
	if ((rc = rrset_read(t, name, type, &c, &l, &n, &oldttl)) < 0)
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
	rc = store_rrset_set(t, name, type, ttl, c, l, n + 1, &ch);
	free(copy);
	free(c);
	free(l);
	return rc;
}

int store_rr_del(store_txn_t *t, const dname_t *name, uint16_t type, const char *content,
		 size_t len)
{
	const char **c;
	uint16_t *l;
	unsigned n, m = 0;
	uint32_t ttl = 0;
	int rc, ch, found = 0;
	if (!t->write)
		return -EACCES;
	if ((rc = rrset_read(t, name, type, &c, &l, &n, &ttl)) < 0)
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
	rc = store_rrset_set(t, name, type, ttl, c, l, m, &ch);
	free(c);
	free(l);
	return rc;
}

/* ---- hosts ---- */

#define HOST_FIXED (TOKEN_HASH_LEN + 8 + 8 + 4 + 1 + 16 + 1)

static int host_decode(const MDB_val *v, store_host_t *h)
{
	const uint8_t *p = v->mv_data;
	size_t off = TOKEN_HASH_LEN;
	if (v->mv_size < HOST_FIXED)
		return ERR_CORRUPT;
	memcpy(h->token_hash, p, TOKEN_HASH_LEN);
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

static int host_write(store_txn_t *t, const dname_t *name, const store_host_t *h)
{
	uint8_t buf[HOST_FIXED + 255];
	size_t off = TOKEN_HASH_LEN;
	MDB_val k = mval(name->key, name->len), v;
	memcpy(buf, h->token_hash, TOKEN_HASH_LEN);
	put64(buf + off, h->created);
	put64(buf + off + 8, h->updated);
	put32(buf + off + 16, h->ttl);
	buf[off + 20] = h->last_client.family;
	memcpy(buf + off + 21, h->last_client.bytes, 16);
	buf[off + 37] = h->agent_len;
	if (h->agent_len)
		memcpy(buf + HOST_FIXED, h->agent, h->agent_len);
	v = mval(buf, HOST_FIXED + (size_t)h->agent_len);
	return lmdb_err(mdb_put(t->txn, t->s->hosts, &k, &v, 0));
}

int store_host_get(store_txn_t *t, const dname_t *name, store_host_t *out)
{
	MDB_val v;
	int rc = get_name(t, t->s->hosts, name, &v);
	if (rc < 0)
		return rc;
	return host_decode(&v, out);
}

int store_host_put(store_txn_t *t, const dname_t *name, const store_host_t *h)
{
	store_zone_t z;
	int rc;
	if ((rc = zone_for_write(t, name, &z)) < 0)
		return rc;
	if (dname_equal(name, &z.name))
		return ERR_ISZONE;
	return host_write(t, name, h);
}

int store_host_del(store_txn_t *t, const dname_t *name)
{
	MDB_val k = mval(name->key, name->len);
	store_zone_t z;
	int rc, ch;
	if ((rc = zone_for_write(t, name, &z)) < 0)
		return rc == ERR_NOZONE ? -ENOENT : rc;
	rc = mdb_del(t->txn, t->s->hosts, &k, NULL);
	if (rc)
		return lmdb_err(rc);
	if ((rc = rrset_replace(t, name, &z, RR_A, 0, NULL, NULL, 0, &ch)) < 0)
		return rc;
	if (ch && (rc = mark_changed(t, z.id)) < 0)
		return rc;
	if ((rc = rrset_replace(t, name, &z, RR_AAAA, 0, NULL, NULL, 0, &ch)) < 0)
		return rc;
	if (ch && (rc = mark_changed(t, z.id)) < 0)
		return rc;
	return 0;
}

int store_host_addrs(store_txn_t *t, const dname_t *name, addr_t *v4, addr_t *v6)
{
	store_rr_iter_t it;
	store_rr_t rr;
	int rc;
	v4->family = 0;
	v6->family = 0;
	rc = store_name_get(t, name, &it);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	while ((rc = store_rr_next(&it, &rr)) == 1) {
		if (rr.type == RR_A && !v4->family)
			addr_parse4(v4, rr.data, rr.len);
		else if (rr.type == RR_AAAA && !v6->family)
			addr_parse6(v6, rr.data, rr.len);
	}
	return rc < 0 ? rc : 0;
}

/* Is the single-address RRset of this family already exactly addr? */
static int addr_stored(store_txn_t *t, const dname_t *name, uint16_t type, const char *text,
		       size_t len, uint32_t ttl)
{
	store_rr_iter_t it;
	store_rr_t rr;
	int n = 0, same = 0;
	if (store_name_get(t, name, &it) < 0)
		return 0;
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
	store_host_t h;
	store_zone_t z;
	char t4[ADDR_TEXT_MAX], t6[ADDR_TEXT_MAX];
	int n4 = 0, n6 = 0, set4 = 0, set6 = 0, rc, ch;
	uint8_t agentbuf[255];

	*changed = 0;
	if (!t->write)
		return -EACCES;
	if ((rc = store_host_get(t, name, &h)) < 0)
		return rc;
	if (v4 && v4->family == 4) {
		if ((n4 = addr_format(v4, t4, sizeof(t4))) < 0)
			return n4;
		set4 = !addr_stored(t, name, RR_A, t4, (size_t)n4, h.ttl);
	}
	if (v6 && v6->family == 6) {
		if ((n6 = addr_format(v6, t6, sizeof(t6))) < 0)
			return n6;
		set6 = !addr_stored(t, name, RR_AAAA, t6, (size_t)n6, h.ttl);
	}
	if (!set4 && !set6)
		return 0;
	if ((rc = zone_for_write(t, name, &z)) < 0)
		return rc;
	if (set4) {
		const char *c = t4;
		uint16_t l = (uint16_t)n4;
		if ((rc = rrset_replace(t, name, &z, RR_A, h.ttl, &c, &l, 1, &ch)) < 0)
			return rc;
	}
	if (set6) {
		const char *c = t6;
		uint16_t l = (uint16_t)n6;
		if ((rc = rrset_replace(t, name, &z, RR_AAAA, h.ttl, &c, &l, 1, &ch)) < 0)
			return rc;
	}
	if ((rc = mark_changed(t, z.id)) < 0)
		return rc;
	/* every field of h is a copy except agent, which pointed into the map
	 * (possibly moved by the puts above) and is replaced here */
	h.updated = now;
	if (client)
		h.last_client = *client;
	if (agent_len > sizeof(agentbuf))
		agent_len = sizeof(agentbuf);
	if (agent_len)
		memcpy(agentbuf, agent, agent_len);
	h.agent = (const char *)agentbuf;
	h.agent_len = (uint8_t)agent_len;
	if ((rc = host_write(t, name, &h)) < 0)
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
	if (!mdb_stat(t->txn, s->names, &ms))
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
