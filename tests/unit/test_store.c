/*
 * Unit tests of the store, schema 2: zones and zone cuts, RRsets, canonical
 * order, hosts and their A/AAAA, the serial policy, metadata, TSIG keys,
 * autoprimaries, DNSSEC keys, NSEC order, search, the documented value encoding, the migration of a
 * schema-1 store (tests/data/store-v1.dump), and the multi-process cases
 * (concurrent reader and writer processes, map growth under an open
 * reader, stale reader slots), and the issue-12 tables: host options
 * (offline, wildcard, routers and their followers), named scoped tokens,
 * history and ACME values, with what a host's deletion takes along and
 * the opening of a store made before them.  Each test case gets its own
 * temporary store.
 */
#include <dlfcn.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "rdata.h"
#include "store.h"

static char tmpl[] = "/tmp/kyedns-test-store-XXXXXX";
static char dir[256];
static int seq;
static const char *argv0;

static const char *fresh_dir(void)
{
	snprintf(dir, sizeof(dir), "%s/s%d", tmpl, ++seq);
	return dir;
}

static dname_t N(const char *s)
{
	dname_t n;
	if (dname_parse(&n, s, strlen(s)) < 0) {
		fprintf(stderr, "bad test name %s\n", s);
		exit(2);
	}
	return n;
}

static int add_zone_kind(store_txn_t *t, const char *name, uint8_t kind, uint32_t *id)
{
	store_zone_t z;
	int rc;
	memset(&z, 0, sizeof(z));
	z.name = N(name);
	z.kind = kind;
	z.refresh = 10800;
	z.retry = 3600;
	z.expire = 604800;
	z.minimum = 60;
	z.ttl = 3600;
	z.mname = "ns1.example.net.";
	z.mname_len = (uint8_t)strlen(z.mname);
	z.rname = "hostmaster.example.net.";
	z.rname_len = (uint8_t)strlen(z.rname);
	rc = store_zone_add(t, &z);
	if (id)
		*id = z.id;
	return rc;
}

static int add_zone(store_txn_t *t, const char *name, uint32_t *id)
{
	return add_zone_kind(t, name, STORE_KIND_MASTER, id);
}

static int add_rr(store_txn_t *t, uint32_t zone, const char *name, uint16_t type,
		  const char *content)
{
	dname_t n = N(name);
	return store_rr_add(t, zone, &n, type, 300, content, strlen(content));
}

static int add_host(store_txn_t *t, const char *name, const char *token)
{
	store_host_t h;
	dname_t n = N(name);
	memset(&h, 0, sizeof(h));
	token_hash(token, strlen(token), h.token_hash);
	h.created = 1000;
	h.ttl = 60;
	return store_host_put(t, &n, &h);
}

/* Collects "type content" of one owner in one zone. */
static const char *rrs(store_txn_t *t, uint32_t zone, const char *name)
{
	static char buf[4096];
	store_rr_iter_t it;
	store_rr_t rr;
	dname_t n = N(name);
	size_t o = 0;
	buf[0] = '\0';
	if (store_name_get(t, zone, &n, &it) < 0)
		return "(none)";
	while (store_rr_next(&it, &rr) == 1)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u %.*s", o ? "|" : "", rr.type,
				      (int)rr.len, rr.data);
	return buf;
}

/* Like rrs, with each RRset's TTL: "type/ttl content". */
static const char *rrs_ttl(store_txn_t *t, uint32_t zone, const char *name)
{
	static char buf[4096];
	store_rr_iter_t it;
	store_rr_t rr;
	dname_t n = N(name);
	size_t o = 0;
	buf[0] = '\0';
	if (store_name_get(t, zone, &n, &it) < 0)
		return "(none)";
	while (store_rr_next(&it, &rr) == 1)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u/%u %.*s", o ? "|" : "", rr.type,
				      rr.ttl, (int)rr.len, rr.data);
	return buf;
}

static uint32_t serial_of(store_t *s, const char *zone)
{
	store_txn_t *t;
	store_zone_t z;
	dname_t n = N(zone);
	uint32_t v = 0;
	if (store_txn_begin(s, 0, &t) == 0) {
		if (store_zone_get(t, &n, &z) == 0)
			v = z.serial;
		store_txn_abort(t);
	}
	return v;
}

struct walk_acc {
	char buf[8192];
	size_t o;
};

static int walk_cb(const dname_t *owner, store_rr_iter_t *it, void *arg)
{
	struct walk_acc *a = arg;
	char txt[DNAME_MAX_TEXT];
	store_rr_t rr;
	dname_to_text(owner, txt, sizeof(txt));
	while (store_rr_next(it, &rr) == 1)
		a->o += (size_t)snprintf(a->buf + a->o, sizeof(a->buf) - a->o, "%s %u;", txt, rr.type);
	return 0;
}

/* Owners only, once each. */
static int walk_owner_cb(const dname_t *owner, store_rr_iter_t *it, void *arg)
{
	struct walk_acc *a = arg;
	char txt[DNAME_MAX_TEXT];
	(void)it;
	dname_to_text(owner, txt, sizeof(txt));
	a->o += (size_t)snprintf(a->buf + a->o, sizeof(a->buf) - a->o, "%s ", txt);
	return 0;
}

static const char *walk(store_txn_t *t, uint32_t zone, int owners_only)
{
	static struct walk_acc acc;
	memset(&acc, 0, sizeof(acc));
	if (store_name_walk(t, zone, owners_only ? walk_owner_cb : walk_cb, &acc) < 0)
		return "(error)";
	return acc.buf;
}

static int below(store_txn_t *t, uint32_t zone, const char *name)
{
	dname_t n = N(name);
	return store_name_has_below(t, zone, &n);
}

static int cut(store_txn_t *t, uint32_t zone, const char *name, int at_or_below)
{
	dname_t n = N(name);
	return store_name_below_cut(t, zone, &n, at_or_below);
}

/* An empty RRset value may be NULL (LMDB gives a NULL pointer for a zero
 * size): iterating it yields nothing, with no pointer arithmetic on NULL
 * (found by tests/fuzz/fuzz_backend under clang's UBSan). */
static void test_rr_iter_empty(void)
{
	store_rr_iter_t it;
	store_rr_t rr;
	store_rr_iter_init(&it, NULL, 0);
	CHECK(it.p == NULL && it.end == NULL);
	CHECK(store_rr_next(&it, &rr) == 0);
}

static void test_open(void)
{
	store_t *s;
	const char *d = fresh_dir();
	CHECK_RC(store_open(&s, d, 0), -ENOENT);            /* reading never creates */
	CHECK_RC(store_open(&s, d, STORE_RDONLY), -ENOENT);
	CHECK_OK(store_open(&s, d, STORE_CREATE));
	store_close(s);
	CHECK_OK(store_open(&s, d, STORE_RDONLY));
	{
		store_txn_t *t;
		CHECK_RC(store_txn_begin(s, 1, &t), -EACCES);
	}
	store_close(s);
	CHECK_OK(store_open(&s, d, 0)); /* a current store opens without a write txn */
	store_close(s);
	/* a wrong schema version is refused, with and without write access */
	{
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val k = {7, "version"}, v;
		uint8_t nine[4] = {0, 0, 0, 9};
		v.mv_size = 4;
		v.mv_data = nine;
		mdb_env_create(&env);
		mdb_env_set_maxdbs(env, 16);
		CHECK(mdb_env_open(env, d, 0, 0640) == 0);
		mdb_txn_begin(env, NULL, 0, &txn);
		mdb_dbi_open(txn, "meta", 0, &dbi);
		mdb_put(txn, dbi, &k, &v, 0);
		mdb_txn_commit(txn);
		mdb_env_close(env);
		CHECK_RC(store_open(&s, d, 0), ERR_VERSION);
		CHECK_RC(store_open(&s, d, STORE_RDONLY), ERR_VERSION);
		CHECK_RC(store_open(&s, d, STORE_CREATE), ERR_VERSION);
	}
	/* a plain LMDB file without our tables is not a store */
	{
		MDB_env *env;
		MDB_txn *txn;
		const char *d2 = fresh_dir();
		mkdir(d2, 0700);
		mdb_env_create(&env);
		CHECK(mdb_env_open(env, d2, 0, 0640) == 0);
		mdb_txn_begin(env, NULL, 0, &txn);
		mdb_txn_commit(txn);
		mdb_env_close(env);
		CHECK_RC(store_open(&s, d2, 0), ERR_VERSION);
	}
	CHECK_RC(store_open(&s, "/proc/version", STORE_CREATE), -ENOTDIR);
}

static void test_zones_records(void)
{
	store_t *s;
	store_txn_t *t;
	store_zone_t z;
	uint32_t id1, id2;
	dname_t n;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "Example.com", &id1));
	CHECK_OK(add_zone(t, "dyn.example.com.", &id2));
	CHECK_RC(add_zone(t, "example.com", NULL), -EEXIST);
	CHECK_RC(add_zone(t, ".", NULL), ERR_BADNAME);
	CHECK(id1 == 1 && id2 == 2);
	CHECK_OK(add_rr(t, id1, "example.com", RR_NS, "ns1.example.net"));
	CHECK_OK(add_rr(t, id1, "example.com", RR_NS, "ns2.example.net"));
	CHECK_RC(add_rr(t, id1, "example.com", RR_NS, "ns2.example.net"), -EEXIST);
	CHECK_OK(add_rr(t, id1, "www.example.com", RR_A, "192.0.2.1"));
	CHECK_OK(add_rr(t, id1, "www.example.com", RR_AAAA, "2001:db8::1"));
	CHECK_OK(add_rr(t, id1, "a.b.c.example.com", RR_TXT, "\"deep\""));
	CHECK_OK(add_rr(t, id1, "alias.example.com", RR_CNAME, "www.example.com"));
	/* the refusals of store_rr_add */
	CHECK_RC(add_rr(t, id1, "alias.example.com", RR_A, "192.0.2.9"), ERR_CLASH);
	CHECK_RC(add_rr(t, id1, "alias.example.com", RR_CNAME, "other.example.com"), ERR_CLASH);
	CHECK_RC(add_rr(t, id1, "www.example.com", RR_CNAME, "x.example.com"), ERR_CLASH);
	CHECK_RC(add_rr(t, id1, "example.com", RR_CNAME, "x.example.net"), ERR_ISZONE);
	CHECK_RC(add_rr(t, id1, "example.com", RR_DS, "1 13 2 abcd"), ERR_ISZONE);
	CHECK_RC(add_rr(t, id1, "www.example.org", RR_A, "192.0.2.1"), ERR_NOZONE);
	CHECK_RC(add_rr(t, id2, "www.example.com", RR_A, "192.0.2.1"), ERR_NOZONE);
	CHECK_RC(add_rr(t, 99, "www.example.com", RR_A, "192.0.2.1"), ERR_NOZONE);
	CHECK_RC(add_rr(t, id1, "www.example.com", RR_SOA, "x"), ERR_BADTYPE);
	CHECK_RC(add_rr(t, id1, "www.example.com", RR_ANY, "x"), ERR_BADTYPE);
	CHECK_RC(add_rr(t, id1, "www.example.com", RR_TSIG, "x"), ERR_BADTYPE);
	CHECK_RC(add_rr(t, id1, "www.example.com", RR_OPT, "x"), ERR_BADTYPE);
	CHECK_RC(add_rr(t, id1, "www.example.com", RR_AXFR, "x"), ERR_BADTYPE);
	CHECK_RC(add_rr(t, id1, "www.example.com", 0, "x"), ERR_BADTYPE);
	{
		static char big[STORE_MAX_CONTENT + 2];
		n = N("big.example.com");
		CHECK_RC(store_rr_add(t, id1, &n, RR_TXT, 60, big, sizeof(big)), ERR_TOOBIG);
	}
	/* an unknown type in RFC 3597 form is just content */
	CHECK_OK(add_rr(t, id1, "www.example.com", 65280, "\\# 2 abcd"));
	CHECK_OK(add_rr(t, id1, "*.example.com", RR_A, "192.0.2.77"));
	/* a DS below the apex (the parent side of a cut) is fine */
	CHECK_OK(add_rr(t, id1, "dyn.example.com", RR_DS, "1 13 2 abcd"));
	CHECK_OK(add_rr(t, id2, "host.dyn.example.com", RR_A, "192.0.2.50"));
	CHECK_OK(store_txn_commit(t));

	CHECK_OK(store_txn_begin(s, 0, &t));
	/* RRsets come back sorted by type, content as stored */
	CHECK_STR(rrs(t, id1, "WWW.example.COM."), "1 192.0.2.1|28 2001:db8::1|65280 \\# 2 abcd");
	CHECK_STR(rrs(t, id1, "example.com"), "2 ns1.example.net|2 ns2.example.net");
	CHECK_STR(rrs(t, id1, "nothing.example.com"), "(none)");
	CHECK_STR(rrs(t, id2, "example.com"), "(none)"); /* outside zone 2 */
	/* closest enclosing zone */
	n = N("host.dyn.example.com");
	CHECK_OK(store_zone_find(t, &n, &z));
	CHECK(z.id == id2);
	n = N("www.example.com");
	CHECK_OK(store_zone_find(t, &n, &z));
	CHECK(z.id == id1 && z.kind == STORE_KIND_MASTER && z.refresh == 10800 && z.flags == 0);
	CHECK(z.mname_len == 16 && memcmp(z.mname, "ns1.example.net.", 16) == 0);
	CHECK(z.masters_len == 0 && z.account_len == 0 && z.last_check == 0);
	n = N("example.org");
	CHECK_RC(store_zone_find(t, &n, &z), ERR_NOZONE);
	CHECK_OK(store_zone_get_by_id(t, id2, &z));
	{
		char txt[DNAME_MAX_TEXT];
		dname_to_text(&z.name, txt, sizeof(txt));
		CHECK_STR(txt, "dyn.example.com.");
	}
	CHECK_RC(store_zone_get_by_id(t, 999, &z), -ENOENT);
	/* empty non-terminals by range scan, scoped to the zone */
	CHECK(below(t, id1, "b.c.example.com") == 1);
	CHECK(below(t, id1, "c.example.com") == 1);
	CHECK(below(t, id1, "a.b.c.example.com") == 0);
	CHECK(below(t, id1, "www.example.com") == 0);
	CHECK(below(t, id1, "ww.example.com") == 0);
	CHECK(below(t, id1, "example.com") == 1);
	CHECK(below(t, id2, "dyn.example.com") == 1);
	CHECK(below(t, id2, "host.dyn.example.com") == 0);
	CHECK(below(t, id1, "dyn.example.com") == 0); /* the child's data is not zone 1's */
	CHECK(below(t, 99, "example.com") == 0);
	store_txn_abort(t);

	/* delete one RR, an RRset, the last RRset of an owner */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_rr(t, id1, "www.example.com", RR_A, "192.0.2.2"));
	n = N("www.example.com");
	CHECK_OK(store_rr_del(t, id1, &n, RR_A, "192.0.2.1", 9));
	CHECK_STR(rrs(t, id1, "www.example.com"), "1 192.0.2.2|28 2001:db8::1|65280 \\# 2 abcd");
	CHECK_RC(store_rr_del(t, id1, &n, RR_A, "192.0.2.1", 9), -ENOENT);
	CHECK_OK(store_rr_del(t, id1, &n, RR_AAAA, NULL, 0));
	CHECK_RC(store_rr_del(t, id1, &n, RR_MX, NULL, 0), -ENOENT);
	CHECK_RC(store_rr_del(t, id2, &n, RR_A, NULL, 0), -ENOENT);
	CHECK_OK(store_rr_del(t, id1, &n, RR_A, NULL, 0));
	CHECK_OK(store_rr_del(t, id1, &n, 65280, NULL, 0));
	CHECK_STR(rrs(t, id1, "www.example.com"), "(none)");
	CHECK_OK(store_txn_commit(t));
	store_close(s);
}

static int zone_count_cb(const store_zone_t *z, void *arg)
{
	(void)z;
	(*(int *)arg)++;
	return 0;
}

/* The same owner in parent and child: each zone sees only its own data. */
static void test_zone_cut(void)
{
	store_t *s;
	store_txn_t *t;
	uint32_t p, c, x, id4;
	dname_t n;
	int zones = 0;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", &p));
	CHECK_OK(add_zone(t, "sub.example.com", &c));
	CHECK_OK(add_zone(t, "example.comx", &x));
	CHECK_OK(add_rr(t, p, "example.com", RR_NS, "ns1.example.com"));
	CHECK_OK(add_rr(t, p, "ns1.example.com", RR_A, "192.0.2.53"));
	/* parent side of the cut: delegation NS, DS, glue */
	CHECK_OK(add_rr(t, p, "sub.example.com", RR_NS, "ns.sub.example.com"));
	CHECK_OK(add_rr(t, p, "sub.example.com", RR_DS, "12345 13 2 abcdef"));
	CHECK_OK(add_rr(t, p, "ns.sub.example.com", RR_A, "192.0.2.99"));
	/* child side: apex NS, its own data at the same names */
	CHECK_OK(add_rr(t, c, "sub.example.com", RR_NS, "ns.sub.example.com"));
	CHECK_OK(add_rr(t, c, "sub.example.com", RR_NS, "ns2.example.net"));
	CHECK_OK(add_rr(t, c, "sub.example.com", RR_TXT, "\"child\""));
	CHECK_OK(add_rr(t, c, "ns.sub.example.com", RR_A, "192.0.2.99"));
	CHECK_OK(add_rr(t, c, "x.sub.example.com", RR_A, "192.0.2.8"));
	CHECK_OK(add_rr(t, x, "example.comx", RR_NS, "ns1.example.com"));
	CHECK_OK(add_host(t, "h1.example.com", "abcdefghijklmnopqrstuvwxyz"));
	CHECK_OK(add_host(t, "h2.sub.example.com", "abcdefghijklmnopqrstuvwxyz"));
	{
		const char *v = "v";
		uint16_t l = 1;
		CHECK_OK(store_meta_set(t, p, "ALSO-NOTIFY", 11, &v, &l, 1));
		CHECK_OK(store_meta_set(t, c, "ALSO-NOTIFY", 11, &v, &l, 1));
	}
	CHECK_OK(store_txn_commit(t));

	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_STR(rrs(t, p, "sub.example.com"), "2 ns.sub.example.com|43 12345 13 2 abcdef");
	CHECK_STR(rrs(t, c, "sub.example.com"), "2 ns.sub.example.com|2 ns2.example.net|16 \"child\"");
	CHECK_STR(rrs(t, p, "x.sub.example.com"), "(none)");
	CHECK_STR(rrs(t, c, "x.sub.example.com"), "1 192.0.2.8");
	/* the parent's listing has the delegation and glue, in canonical order */
	CHECK_STR(walk(t, p, 0), "example.com. 2;ns1.example.com. 1;sub.example.com. 2;"
				 "sub.example.com. 43;ns.sub.example.com. 1;");
	CHECK_STR(walk(t, c, 0), "sub.example.com. 2;sub.example.com. 2;sub.example.com. 16;"
				 "ns.sub.example.com. 1;x.sub.example.com. 1;");
	CHECK_STR(walk(t, 99, 0), "");
	/* occlusion: below the cut in the parent; the cut itself with at_or_below */
	CHECK(cut(t, p, "ns.sub.example.com", 0) == 1);
	CHECK(cut(t, p, "deep.x.sub.example.com", 0) == 1);
	CHECK(cut(t, p, "sub.example.com", 0) == 0);
	CHECK(cut(t, p, "sub.example.com", 1) == 1);
	CHECK(cut(t, p, "ns1.example.com", 1) == 0);
	CHECK(cut(t, p, "example.com", 1) == 0); /* the apex NS is no cut */
	CHECK(cut(t, c, "x.sub.example.com", 0) == 0);
	CHECK(cut(t, c, "sub.example.com", 1) == 0);
	CHECK(cut(t, p, "www.example.org", 1) == 0);
	CHECK(below(t, p, "sub.example.com") == 1);  /* glue ns.sub */
	CHECK(below(t, c, "ns.sub.example.com") == 0);
	CHECK_OK(store_zone_walk(t, zone_count_cb, &zones));
	CHECK(zones == 3);
	store_txn_abort(t);

	/* zone del: its records, hosts and metadata go; the child's stay */
	CHECK_OK(store_txn_begin(s, 1, &t));
	n = N("example.com");
	CHECK_OK(store_zone_del(t, &n));
	CHECK_RC(store_zone_del(t, &n), -ENOENT);
	CHECK_STR(walk(t, p, 0), "");
	CHECK_STR(rrs(t, c, "x.sub.example.com"), "1 192.0.2.8");
	CHECK_STR(rrs(t, c, "sub.example.com"), "2 ns.sub.example.com|2 ns2.example.net|16 \"child\"");
	{
		store_host_t h;
		store_meta_iter_t it;
		dname_t h1 = N("h1.example.com"), h2 = N("h2.sub.example.com");
		CHECK_RC(store_host_get(t, &h1, &h), -ENOENT);
		CHECK_OK(store_host_get(t, &h2, &h));
		CHECK(h.zone_id == c);
		CHECK_RC(store_meta_get(t, p, "ALSO-NOTIFY", 11, &it), -ENOENT);
		CHECK_OK(store_meta_get(t, c, "ALSO-NOTIFY", 11, &it));
	}
	/* the last keys of the records table go too (the cursor runs off the end) */
	n = N("example.comx");
	CHECK_OK(store_zone_del(t, &n));
	CHECK_STR(walk(t, x, 0), "");
	CHECK_STR(walk(t, c, 1), "sub.example.com. ns.sub.example.com. x.sub.example.com. ");
	/* ids are never reused */
	CHECK_OK(add_zone(t, "example.com", &id4));
	CHECK(id4 == 4);
	CHECK_STR(walk(t, id4, 0), "");
	CHECK_OK(store_txn_commit(t));
	store_close(s);
}

/* RFC 4034 6.1's example order, within one zone. */
static void test_canonical_order(void)
{
	store_t *s;
	store_txn_t *t;
	uint32_t z;
	const char *names[] = {"\\200.z.example", "zABC.a.example", "*.z.example", "z.example",
			       "Z.a.example", "\\001.z.example", "yljkjljk.a.example", "a.example",
			       "example"};

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example", &z));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK_OK(add_rr(t, z, names[i], RR_TXT, "\"x\""));
	CHECK_STR(walk(t, z, 1), "example. a.example. yljkjljk.a.example. z.a.example. "
				 "zabc.a.example. z.example. \\001.z.example. *.z.example. "
				 "\\200.z.example. ");
	CHECK(below(t, z, "z.example") == 1);
	CHECK(below(t, z, "zabc.a.example") == 0);
	CHECK(below(t, z, "y.a.example") == 0);
	CHECK_OK(store_txn_commit(t));
	store_close(s);
}

/* Sets zone's serial exactly (a slave takes it verbatim; the kind change
 * back is no SOA change). */
static void set_serial(store_t *s, const char *zone, uint32_t serial, uint8_t kind)
{
	store_txn_t *t;
	store_zone_t z;
	dname_t n = N(zone);
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	z.kind = STORE_KIND_SLAVE;
	z.serial = serial;
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(store_txn_commit(t));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	z.kind = kind;
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, zone) == serial);
}

/* One data change in its own txn. */
static void touch(store_t *s, uint32_t zone, const char *name)
{
	store_txn_t *t;
	dname_t n = N(name);
	CHECK_OK(store_txn_begin(s, 1, &t));
	store_rr_del(t, zone, &n, RR_TXT, NULL, 0);
	CHECK_OK(add_rr(t, zone, name, RR_TXT, "\"touch\""));
	CHECK_OK(store_txn_commit(t));
}

/* An explicit SOA write of serial (and optionally a new mname). */
static void write_soa(store_t *s, const char *zone, uint32_t serial, const char *mname)
{
	store_txn_t *t;
	store_zone_t z;
	dname_t n = N(zone);
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	z.serial = serial;
	if (mname) {
		z.mname = mname;
		z.mname_len = (uint8_t)strlen(mname);
	}
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(store_txn_commit(t));
}

/* Sets name's A RRset to the one address in its own committed txn;
 * returns the "changed" flag, or -1 when a step failed. */
static int set_one_a(store_t *s, uint32_t zone, const char *name, const char *ip)
{
	store_txn_t *t;
	dname_t n = N(name);
	uint16_t l = (uint16_t)strlen(ip);
	int ch = -1;
	if (store_txn_begin(s, 1, &t) < 0)
		return -1;
	if (store_rrset_set(t, zone, &n, RR_A, 300, &ip, &l, 1, &ch) < 0) {
		store_txn_abort(t);
		return -1;
	}
	return store_txn_commit(t) < 0 ? -1 : ch;
}

static void test_serials(void)
{
	store_t *s;
	store_txn_t *t;
	store_zone_t z;
	dname_t n = N("example.com");
	uint32_t id, sl, s0, s1, other, now = (uint32_t)time(NULL), old;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", &id));
	CHECK_OK(add_zone(t, "other.org", NULL));
	CHECK_OK(add_zone_kind(t, "slave.test", STORE_KIND_SLAVE, &sl));
	/* records added with the zone keep its fresh serial */
	CHECK_OK(add_rr(t, id, "example.com", RR_NS, "ns1.example.net"));
	CHECK_OK(store_txn_commit(t));
	s0 = serial_of(s, "example.com");
	CHECK(s0 >= now && s0 <= now + 2);

	/* many changes, one commit: one bump */
	CHECK_OK(store_txn_begin(s, 1, &t));
	for (int i = 0; i < 50; i++) {
		char name[64], ip[32];
		snprintf(name, sizeof(name), "h%d.example.com", i);
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		CHECK_OK(add_rr(t, id, name, RR_A, ip));
	}
	other = serial_of(s, "other.org");
	CHECK_OK(store_txn_commit(t));
	s1 = serial_of(s, "example.com");
	CHECK(s1 == s0 + 1 || (s1 > s0 && s1 <= (uint32_t)time(NULL)));
	CHECK(serial_of(s, "other.org") == other); /* an untouched zone keeps its serial */

	/* an explicit serial greater than the old one is kept as written */
	set_serial(s, "example.com", 100, STORE_KIND_MASTER);
	write_soa(s, "example.com", 200, NULL);
	CHECK(serial_of(s, "example.com") == 200);
	/* ... also when data changed in the same txn */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_rr(t, id, "new.example.com", RR_TXT, "\"n\""));
	CHECK_OK(store_zone_get(t, &n, &z));
	z.serial = 300;
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "example.com") == 300);
	/* lower or equal: bumped by the policy (time is ahead of 300) */
	now = (uint32_t)time(NULL);
	write_soa(s, "example.com", 150, NULL);
	s1 = serial_of(s, "example.com");
	CHECK(s1 >= now && s1 <= (uint32_t)time(NULL));
	set_serial(s, "example.com", 2026112801u, STORE_KIND_MASTER);
	write_soa(s, "example.com", 2026112801u, "ns9.example.net."); /* equal, mname changed */
	CHECK(serial_of(s, "example.com") == 2026112802u);
	/* YYYYMMDDnn ahead of the clock keeps counting */
	touch(s, id, "t.example.com");
	CHECK(serial_of(s, "example.com") == 2026112803u);
	touch(s, id, "t.example.com");
	CHECK(serial_of(s, "example.com") == 2026112804u);
	/* the step is never 2^31: with the clock exactly 2^31 ahead of the old
	 * serial (undefined in RFC 1982) the serial counts on by one */
	old = (uint32_t)time(NULL) + 0x80000000u;
	set_serial(s, "example.com", old, STORE_KIND_MASTER);
	touch(s, id, "t.example.com");
	CHECK(serial_of(s, "example.com") == old + 1);
	/* nor is an explicit serial 2^31 ahead taken as written */
	old = serial_of(s, "example.com");
	write_soa(s, "example.com", old + 0x80000000u, NULL);
	s1 = serial_of(s, "example.com");
	CHECK(s1 != old + 0x80000000u && (uint32_t)(s1 - old) < 0x80000000u && s1 != old);
	/* old = 1, clock ahead by less than 2^31: time */
	set_serial(s, "example.com", 1, STORE_KIND_MASTER);
	now = (uint32_t)time(NULL);
	touch(s, id, "t.example.com");
	s1 = serial_of(s, "example.com");
	CHECK(s1 >= now && s1 <= (uint32_t)time(NULL));
	/* wrap-around: 0xffffffff + 1 is 0, skipped; time is ahead anyway */
	set_serial(s, "example.com", 0xffffffffu, STORE_KIND_MASTER);
	touch(s, id, "t.example.com");
	s1 = serial_of(s, "example.com");
	CHECK(s1 >= now && s1 <= (uint32_t)time(NULL));

	/* slave zones: what they are fed, verbatim; data changes do not bump */
	CHECK_OK(store_txn_begin(s, 1, &t));
	n = N("slave.test");
	CHECK_OK(store_zone_get(t, &n, &z));
	z.serial = 5;
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(add_rr(t, sl, "www.slave.test", RR_A, "192.0.2.1"));
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "slave.test") == 5);
	touch(s, sl, "x.slave.test");
	CHECK(serial_of(s, "slave.test") == 5);

	/* setNotified, setFresh and kind/account changes do not bump */
	s1 = serial_of(s, "example.com");
	CHECK_OK(store_txn_begin(s, 1, &t));
	n = N("example.com");
	CHECK_OK(store_zone_get(t, &n, &z));
	CHECK_OK(store_zone_set_notified(t, z.id, z.serial));
	CHECK_OK(store_zone_set_checked(t, z.id, 12345));
	CHECK_RC(store_zone_set_notified(t, 4242, 1), -ENOENT);
	CHECK_RC(store_zone_set_checked(t, 4242, 1), -ENOENT);
	CHECK_OK(store_txn_commit(t));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	z.kind = STORE_KIND_NATIVE;
	z.account = "acct";
	z.account_len = 4;
	z.masters = "192.0.2.1:5300";
	z.masters_len = 14;
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(store_txn_commit(t));
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	/* the kind changed, so last_check starts again from "never" */
	CHECK(z.notified_serial == s1 && z.serial == s1 && z.last_check == 0);
	CHECK(z.kind == STORE_KIND_NATIVE && z.account_len == 4 && memcmp(z.account, "acct", 4) == 0);
	CHECK(z.masters_len == 14 && memcmp(z.masters, "192.0.2.1:5300", 14) == 0);
	store_txn_abort(t);

	/* an identical rrset write is not a change */
	CHECK(set_one_a(s, id, "h1.example.com", "192.0.2.99") == 1);
	s1 = serial_of(s, "example.com");
	CHECK(set_one_a(s, id, "h1.example.com", "192.0.2.99") == 0);
	CHECK(serial_of(s, "example.com") == s1);
	/* a zone added with NOSOA keeps serial 0 */
	CHECK_OK(store_txn_begin(s, 1, &t));
	memset(&z, 0, sizeof(z));
	z.name = N("new.slave.test");
	z.kind = STORE_KIND_SLAVE;
	z.flags = STORE_ZONE_NOSOA;
	CHECK_OK(store_zone_add(t, &z));
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "new.slave.test") == 0);
	store_close(s);
}

static int host_cb(const dname_t *name, const store_host_t *h, void *arg)
{
	(void)name;
	(void)h;
	(*(int *)arg)++;
	return 0;
}

static uint64_t last_check_of(store_t *s, uint32_t id, uint32_t *notified)
{
	store_txn_t *t;
	store_zone_t z;
	uint64_t v = UINT64_MAX;
	if (store_txn_begin(s, 0, &t) == 0) {
		if (store_zone_get_by_id(t, id, &z) == 0) {
			v = z.last_check;
			if (notified)
				*notified = z.notified_serial;
		}
		store_txn_abort(t);
	}
	return v;
}

/* setNotified of a master zone records the time of the NOTIFY round in
 * last_check (kyedns-backend's --notify-min-interval counts from it): in
 * the store, so another process and a reopened store see it.  Slave and
 * native zones keep theirs; a kind change starts it from 0. */
static void test_notified_time(void)
{
	const char *d = fresh_dir();
	store_t *s;
	store_txn_t *t;
	store_zone_t z;
	uint32_t m, sl, nat, ser, notified = 0;
	dname_t n;

	CHECK_OK(store_open(&s, d, STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "m.test", &m));
	CHECK_OK(add_zone_kind(t, "s.test", STORE_KIND_SLAVE, &sl));
	CHECK_OK(add_zone_kind(t, "n.test", STORE_KIND_NATIVE, &nat));
	CHECK_OK(store_zone_set_checked(t, sl, 777));
	CHECK_OK(store_zone_set_checked(t, nat, 888));
	CHECK_OK(store_txn_commit(t));
	CHECK(last_check_of(s, m, NULL) == 0);
	ser = serial_of(s, "m.test");

	uint64_t before = (uint64_t)time(NULL);
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_set_notified(t, m, ser));
	CHECK_OK(store_zone_set_notified(t, sl, 41));
	CHECK_OK(store_zone_set_notified(t, nat, 42));
	CHECK_OK(store_txn_commit(t));
	uint64_t after = (uint64_t)time(NULL);
	uint64_t lc = last_check_of(s, m, &notified);
	CHECK(lc >= before && lc <= after && notified == ser);
	CHECK(serial_of(s, "m.test") == ser); /* no bump */
	CHECK(last_check_of(s, sl, &notified) == 777 && notified == 41);
	CHECK(last_check_of(s, nat, &notified) == 888 && notified == 42);
	/* a read-only txn records nothing */
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_RC(store_zone_set_notified(t, m, ser), -EACCES);
	store_txn_abort(t);

	/* another process records a later round: this one sees its time */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_set_checked(t, m, 1000));
	CHECK_OK(store_txn_commit(t));
	CHECK(last_check_of(s, m, NULL) == 1000);
	pid_t pid = fork();
	if (pid == 0) {
		store_t *w;
		store_txn_t *wt;
		if (store_open(&w, d, 0) < 0 || store_txn_begin(w, 1, &wt) < 0)
			_exit(10);
		if (store_zone_set_notified(wt, m, ser + 1) < 0 || store_txn_commit(wt) < 0)
			_exit(11);
		store_close(w);
		_exit(0);
	}
	int status;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	lc = last_check_of(s, m, &notified);
	CHECK(lc >= before && lc <= (uint64_t)time(NULL) && notified == ser + 1);
	/* and a reopened store (a restarted backend) still has it */
	store_close(s);
	CHECK_OK(store_open(&s, d, 0));
	CHECK(last_check_of(s, m, &notified) == lc && notified == ser + 1);

	/* a put that keeps the kind keeps last_check; a new kind resets it */
	CHECK_OK(store_txn_begin(s, 1, &t));
	n = N("m.test");
	CHECK_OK(store_zone_get(t, &n, &z));
	z.account = "ops";
	z.account_len = 3;
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(store_txn_commit(t));
	CHECK(last_check_of(s, m, NULL) == lc);
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	z.kind = STORE_KIND_SLAVE;
	z.masters = "192.0.2.1";
	z.masters_len = 9;
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(store_txn_commit(t));
	CHECK(last_check_of(s, m, NULL) == 0); /* a new slave: SOA-checked at once */
	CHECK_OK(store_txn_begin(s, 1, &t));
	n = N("s.test");
	CHECK_OK(store_zone_get(t, &n, &z));
	z.kind = STORE_KIND_MASTER;
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(store_txn_commit(t));
	CHECK(last_check_of(s, sl, NULL) == 0); /* a new master: notified at once */
	store_close(s);
}

static void test_hosts(void)
{
	store_t *s;
	store_txn_t *t;
	store_host_t h;
	dname_t n = N("home.example.com");
	addr_t v4, v6, cl, g4, g6;
	int ch, count = 0;
	uint32_t ser, id, sub;
	const char *tok = "abcdefghijklmnopqrstuvwxyz0123";

	addr_parse(&v4, "203.0.113.50", 12);
	addr_parse(&v6, "2001:db8::1", 11);
	addr_parse(&cl, "198.51.100.7", 12);
	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", &id));
	CHECK_RC(add_host(t, "example.com", tok), ERR_ISZONE);
	CHECK_RC(add_host(t, "home.example.org", tok), ERR_NOZONE);
	CHECK_OK(add_host(t, "home.example.com", tok));
	CHECK_OK(add_host(t, "other.example.com", tok));
	CHECK_RC(store_host_update(t, &(dname_t){0}, &v4, NULL, &cl, "ua", 2, 5, &ch), -ENOENT);
	CHECK_OK(store_host_get(t, &n, &h));
	CHECK(h.zone_id == id);
	/* no zone at a host's exact name */
	CHECK_RC(add_zone(t, "home.example.com", NULL), ERR_CLASH);
	CHECK_OK(store_txn_commit(t));
	ser = serial_of(s, "example.com");

	/* IPv4 only */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_update(t, &n, &v4, NULL, &cl, "curl/8", 6, 5000, &ch));
	CHECK(ch == 1);
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "example.com") != ser);
	/* IPv6 keeps IPv4 */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_update(t, &n, NULL, &v6, &cl, "curl/8", 6, 5001, &ch));
	CHECK(ch == 1);
	CHECK_STR(rrs_ttl(t, id, "home.example.com"), "1/60 203.0.113.50|28/60 2001:db8::1");
	CHECK_OK(store_txn_commit(t));
	ser = serial_of(s, "example.com");
	/* same again: nochg, nothing written, no serial bump */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_update(t, &n, &v4, &v6, &cl, "other", 5, 6000, &ch));
	CHECK(ch == 0);
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "example.com") == ser);
	/* new IPv4 keeps IPv6; metadata recorded */
	addr_parse(&v4, "203.0.113.51", 12);
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_update(t, &n, &v4, NULL, &cl, "ddclient/3.10.0", 15, 7000, &ch));
	CHECK(ch == 1);
	CHECK_OK(store_host_get(t, &n, &h));
	CHECK(h.updated == 7000 && h.created == 1000 && h.ttl == 60 && h.zone_id == id);
	CHECK(addr_equal(&h.last_client, &cl));
	CHECK(h.agent_len == 15 && memcmp(h.agent, "ddclient/3.10.0", 15) == 0);
	CHECK(token_verify(h.token_hash, tok, strlen(tok)));
	CHECK_OK(store_host_addrs(t, &n, &g4, &g6));
	CHECK(addr_equal(&g4, &v4) && addr_equal(&g6, &v6));
	CHECK_OK(store_host_walk(t, NULL, host_cb, &count));
	CHECK(count == 2);
	CHECK_OK(store_txn_commit(t));

	/* the host's A/AAAA belong to it: every record write refuses them */
	CHECK_OK(store_txn_begin(s, 1, &t));
	{
		const char *c = "192.0.2.1";
		uint16_t l = 9;
		store_rr_t a = {RR_A, 60, "192.0.2.1", 9}, txt = {RR_TXT, 60, "\"hi\"", 4};
		store_rr_t both[2] = {txt, a};
		CHECK_RC(add_rr(t, id, "home.example.com", RR_A, "192.0.2.1"), ERR_HOSTOWNED);
		CHECK_RC(add_rr(t, id, "home.example.com", RR_AAAA, "2001:db8::9"), ERR_HOSTOWNED);
		CHECK_RC(store_rr_del(t, id, &n, RR_A, NULL, 0), ERR_HOSTOWNED);
		CHECK_RC(store_rr_del(t, id, &n, RR_AAAA, "2001:db8::1", 11), ERR_HOSTOWNED);
		CHECK_RC(store_rrset_set(t, id, &n, RR_A, 60, &c, &l, 1, NULL), ERR_HOSTOWNED);
		CHECK_RC(store_rrset_set(t, id, &n, RR_AAAA, 60, NULL, NULL, 0, NULL), ERR_HOSTOWNED);
		CHECK_RC(store_name_set(t, id, &n, both, 2), ERR_HOSTOWNED);
		CHECK_RC(store_name_check(t, id, &n, both, 2), ERR_HOSTOWNED);
		CHECK_RC(store_name_check(t, id, &n, &txt, 1), 0);
		/* other types at a host's name are fine, and the addresses stay */
		CHECK_OK(store_name_set(t, id, &n, &txt, 1));
		CHECK_STR(rrs(t, id, "home.example.com"),
			  "1 203.0.113.51|16 \"hi\"|28 2001:db8::1");
		CHECK_OK(store_name_set(t, id, &n, NULL, 0));
		CHECK_STR(rrs(t, id, "home.example.com"), "1 203.0.113.51|28 2001:db8::1");
		/* a host's name cannot take a CNAME, even before it has an address */
		CHECK_RC(add_rr(t, id, "home.example.com", RR_CNAME, "x.example.com"), ERR_CLASH);
		CHECK_RC(add_rr(t, id, "other.example.com", RR_CNAME, "x.example.com"), ERR_CLASH);
		CHECK_OK(add_rr(t, id, "other.example.com", RR_MX, "10 mx.example.com"));
	}
	CHECK_OK(store_txn_commit(t));

	/* a name with static A/AAAA/CNAME cannot become a host */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_rr(t, id, "static.example.com", RR_A, "192.0.2.7"));
	CHECK_OK(add_rr(t, id, "static6.example.com", RR_AAAA, "2001:db8::7"));
	CHECK_OK(add_rr(t, id, "c.example.com", RR_CNAME, "home.example.com"));
	CHECK_OK(add_rr(t, id, "txt.example.com", RR_TXT, "\"t\""));
	CHECK_RC(add_host(t, "static.example.com", tok), ERR_CLASH);
	CHECK_RC(add_host(t, "static6.example.com", tok), ERR_CLASH);
	CHECK_RC(add_host(t, "c.example.com", tok), ERR_CLASH);
	/* any static record: the name is someone else's */
	CHECK_RC(add_host(t, "txt.example.com", tok), ERR_CLASH);
	CHECK_OK(add_rr(t, id, "mx.example.com", RR_MX, "10 mail.example.com"));
	CHECK_RC(add_host(t, "mx.example.com", tok), ERR_CLASH);
	/* name servers of the zone, in-zone, before any glue exists */
	CHECK_OK(add_rr(t, id, "example.com", RR_NS, "ns1.example.com"));
	CHECK_OK(add_rr(t, id, "example.com", RR_NS, "NS2.Example.COM."));
	CHECK_RC(add_host(t, "ns1.example.com", tok), ERR_CLASH);
	CHECK_RC(add_host(t, "ns2.example.com", tok), ERR_CLASH);
	CHECK_OK(add_host(t, "ns3.example.com", tok)); /* not a name server */
	{
		dname_t n3 = N("ns3.example.com");
		CHECK_OK(store_host_del(t, &n3));
	}
	/* a delegation inside the zone: its name and the glue below it */
	CHECK_OK(add_rr(t, id, "deleg.example.com", RR_NS, "ns.deleg.example.com"));
	CHECK_RC(add_host(t, "deleg.example.com", tok), ERR_CLASH);
	CHECK_RC(add_host(t, "ns.deleg.example.com", tok), ERR_CLASH);
	CHECK_RC(add_host(t, "a.b.deleg.example.com", tok), ERR_CLASH);
	{
		dname_t n1 = N("ns1.example.com"), nd = N("ns.deleg.example.com");
		CHECK_RC(store_host_get(t, &n1, &h), -ENOENT);
		CHECK_RC(store_host_get(t, &nd, &h), -ENOENT);
	}
	/* a static A of the same name in another zone is no clash */
	CHECK_OK(add_zone(t, "sub.example.com", &sub));
	CHECK_OK(add_rr(t, id, "h.sub.example.com", RR_A, "192.0.2.8")); /* zone 1's glue */
	CHECK_OK(add_host(t, "h.sub.example.com", tok));
	{
		dname_t hs = N("h.sub.example.com");
		CHECK_OK(store_host_get(t, &hs, &h));
		CHECK(h.zone_id == sub);
		CHECK_OK(store_host_update(t, &hs, &v4, NULL, &cl, "", 0, 1, &ch));
		CHECK_STR(rrs(t, sub, "h.sub.example.com"), "1 203.0.113.51");
		CHECK_STR(rrs(t, id, "h.sub.example.com"), "1 192.0.2.8");
		CHECK_OK(add_rr(t, id, "h.sub.example.com", RR_AAAA, "2001:db8::8"));
		/* re-putting an existing host keeps its zone */
		h.ttl = 30;
		CHECK_OK(store_host_put(t, &hs, &h));
		CHECK_OK(store_host_get(t, &hs, &h));
		CHECK(h.zone_id == sub && h.ttl == 30);
	}
	/* a name server of a zone above the host's zone */
	CHECK_OK(add_rr(t, id, "example.com", RR_NS, "ns.sub.example.com"));
	CHECK_RC(add_host(t, "ns.sub.example.com", tok), ERR_CLASH);
	CHECK_OK(add_host(t, "ns4.sub.example.com", tok));
	{
		dname_t n4 = N("ns4.sub.example.com");
		CHECK_OK(store_host_del(t, &n4));
	}
	CHECK_OK(add_host(t, "txt2.example.com", tok)); /* stands in for txt */
	CHECK_OK(store_txn_commit(t));

	/* zone clear keeps exactly the hosts' A/AAAA */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_rr(t, id, "home.example.com", RR_TXT, "\"gone\""));
	ser = serial_of(s, "example.com");
	CHECK_OK(store_zone_clear(t, id));
	CHECK_RC(store_zone_clear(t, 999), -ENOENT);
	CHECK_STR(walk(t, id, 1), "home.example.com. ");
	CHECK_STR(rrs(t, id, "home.example.com"), "1 203.0.113.51|28 2001:db8::1");
	CHECK_STR(rrs(t, sub, "h.sub.example.com"), "1 203.0.113.51");
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "example.com") != ser);

	/* host del removes A and AAAA */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_del(t, &n));
	CHECK_RC(store_host_del(t, &n), -ENOENT);
	CHECK_STR(rrs(t, id, "home.example.com"), "(none)");
	CHECK_OK(add_rr(t, id, "home.example.com", RR_A, "192.0.2.1")); /* static now */
	CHECK_OK(store_txn_commit(t));
	{
		store_stat_t st;
		CHECK_OK(store_stat(s, &st));
		CHECK(st.zones == 2 && st.hosts == 3 && st.map_used > 0 && st.map_size >= st.map_used);
	}
	store_close(s);
}

static void test_name_set(void)
{
	store_t *s;
	store_txn_t *t;
	uint32_t id, ser;
	dname_t n = N("www.example.com"), apex = N("example.com");

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", &id));
	CHECK_OK(add_rr(t, id, "www.example.com", RR_MX, "10 old.example.com"));
	CHECK_OK(store_txn_commit(t));
	{
		store_rr_t set[] = {
			{RR_TXT, 60, "\"b\"", 3},   {RR_A, 120, "192.0.2.1", 9},
			{RR_TXT, 99, "\"a\"", 3},   {RR_A, 7, "192.0.2.2", 9},
			{RR_A, 7, "192.0.2.1", 9},  {65280, 5, "\\# 0", 4},
		};
		store_rr_t cn[] = {{RR_CNAME, 60, "a.example.com", 13}, {RR_TXT, 60, "\"x\"", 3}};
		store_rr_t cn2[] = {{RR_CNAME, 60, "a.example.com", 13}, {RR_CNAME, 60, "b.example.com", 13}};
		store_rr_t cn3[] = {{RR_CNAME, 60, "a.example.com", 13}, {RR_CNAME, 70, "a.example.com", 13}};
		store_rr_t soa = {RR_SOA, 60, "a b 1 2 3 4 5", 13}, ds = {RR_DS, 60, "1 1 1 ab", 8};
		CHECK_OK(store_txn_begin(s, 1, &t));
		CHECK_OK(store_name_check(t, id, &n, set, 6));
		CHECK_STR(rrs(t, id, "www.example.com"), "15 10 old.example.com"); /* check writes nothing */
		CHECK_OK(store_name_set(t, id, &n, set, 6));
		/* by type, the first RR's TTL, duplicates once, the old MX gone */
		CHECK_STR(rrs_ttl(t, id, "www.example.com"),
			  "1/120 192.0.2.1|1/120 192.0.2.2|16/60 \"b\"|16/60 \"a\"|65280/5 \\# 0");
		CHECK_RC(store_name_set(t, id, &n, cn, 2), ERR_CLASH);
		CHECK_RC(store_name_check(t, id, &n, cn, 2), ERR_CLASH);
		CHECK_RC(store_name_set(t, id, &n, cn2, 2), ERR_CLASH);
		CHECK_OK(store_name_set(t, id, &n, cn3, 2));
		CHECK_STR(rrs_ttl(t, id, "www.example.com"), "5/60 a.example.com");
		CHECK_RC(store_name_set(t, id, &apex, cn, 1), ERR_ISZONE);
		CHECK_RC(store_name_set(t, id, &apex, &ds, 1), ERR_ISZONE);
		CHECK_RC(store_name_check(t, id, &apex, &ds, 1), ERR_ISZONE);
		CHECK_RC(store_name_set(t, id, &n, &soa, 1), ERR_BADTYPE);
		CHECK_RC(store_name_set(t, 77, &n, set, 1), ERR_NOZONE);
		{
			dname_t out = N("www.example.org");
			CHECK_RC(store_name_set(t, id, &out, set, 1), ERR_NOZONE);
			CHECK_RC(store_name_check(t, id, &out, set, 1), ERR_NOZONE);
		}
		/* an owner's value over STORE_MAX_VALUE: refused, nothing written */
		{
			static char big[18][60000];
			store_rr_t many[18];
			for (int i = 0; i < 18; i++) {
				memset(big[i], 'a' + i, sizeof(big[i]));
				many[i] = (store_rr_t){RR_TXT, 60, big[i], (uint16_t)sizeof(big[i])};
			}
			CHECK_RC(store_name_check(t, id, &n, many, 18), ERR_TOOBIG);
			CHECK_RC(store_name_set(t, id, &n, many, 18), ERR_TOOBIG);
			CHECK_OK(store_name_set(t, id, &n, many, 16));
			CHECK_OK(store_rr_add(t, id, &n, RR_TXT, 60, big[16], sizeof(big[16])));
			CHECK_RC(store_rr_add(t, id, &n, RR_TXT, 60, big[17], sizeof(big[17])), ERR_TOOBIG);
		}
		CHECK_OK(store_name_set(t, id, &n, set, 6));
		CHECK_OK(store_txn_commit(t));
		ser = serial_of(s, "example.com");
		/* the same set again changes nothing: no bump */
		CHECK_OK(store_txn_begin(s, 1, &t));
		CHECK_OK(store_name_set(t, id, &n, set, 6));
		CHECK_OK(store_txn_commit(t));
		CHECK(serial_of(s, "example.com") == ser);
		CHECK_OK(store_txn_begin(s, 1, &t));
		CHECK_OK(store_name_set(t, id, &n, NULL, 0));
		CHECK_STR(rrs(t, id, "www.example.com"), "(none)");
		CHECK_OK(store_name_set(t, id, &n, NULL, 0)); /* deleting nothing is fine */
		CHECK_OK(store_txn_commit(t));
	}
	store_close(s);
}

struct meta_acc {
	char buf[1024];
	size_t o;
};

static int meta_cb(const char *kind, size_t kind_len, store_meta_iter_t *it, void *arg)
{
	struct meta_acc *a = arg;
	const char *v;
	uint16_t l;
	a->o += (size_t)snprintf(a->buf + a->o, sizeof(a->buf) - a->o, "%.*s=", (int)kind_len, kind);
	while (store_meta_next(it, &v, &l) == 1)
		a->o += (size_t)snprintf(a->buf + a->o, sizeof(a->buf) - a->o, "[%.*s]", (int)l, v);
	a->o += (size_t)snprintf(a->buf + a->o, sizeof(a->buf) - a->o, ";");
	return 0;
}

/* Deleting the last entries of a database: LMDB's cursor cannot step on
 * from a deleted item once the database is empty; clear and del must
 * still succeed (whole-zone replace and zone del of the only zone). */
static void test_delete_last_entries(void)
{
	store_t *s;
	store_txn_t *t;
	uint32_t id;
	dname_t apex = N("only.test");
	store_rr_iter_t it;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "only.test", &id));
	CHECK_OK(add_rr(t, id, "only.test", RR_NS, "ns1.only.test"));
	CHECK_OK(add_rr(t, id, "www.only.test", RR_A, "192.0.2.1"));
	CHECK_OK(store_txn_commit(t));

	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_clear(t, id));
	CHECK_RC(store_name_get(t, id, &apex, &it), -ENOENT);
	CHECK_OK(store_txn_commit(t));

	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_rr(t, id, "www.only.test", RR_A, "192.0.2.1"));
	CHECK_OK(store_zone_del(t, &apex));
	CHECK_RC(store_zone_del(t, &apex), -ENOENT);
	CHECK_OK(store_txn_commit(t));
	store_close(s);
}

/* An RRset's count is a u16: 65,536 RRs are refused, not stored with a
 * wrapped count (which made the value unreadable); a 65,535-RR set, fed in
 * one call, encodes in well under a second (the encoder is O(n log n)). */
static void test_big_rrset(void)
{
	enum { N = 65536 };
	store_rr_t *rrs = malloc(N * sizeof(*rrs));
	char (*txt)[16] = malloc(N * sizeof(*txt));
	uint8_t *buf;
	size_t len;
	CHECK(rrs && txt);
	for (unsigned i = 0; i < N; i++) {
		int n = snprintf(txt[i], sizeof txt[i], "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		rrs[i] = (store_rr_t){.type = RR_A, .ttl = 60, .data = txt[i], .len = (uint16_t)n};
	}
	CHECK_RC(store_value_encode(rrs, N, &buf, &len), ERR_TOOBIG);
	rrs[N - 1] = rrs[0]; /* a duplicate: 65,535 distinct RRs */
	clock_t c0 = clock();
	CHECK_OK(store_value_encode(rrs, N, &buf, &len));
	CHECK((double)(clock() - c0) / CLOCKS_PER_SEC < 1.0);
	{
		store_rr_iter_t it;
		store_rr_t rr;
		unsigned count = 0;
		store_rr_iter_init(&it, buf, len);
		while (store_rr_next(&it, &rr) == 1)
			count++;
		CHECK(count == N - 1);
	}
	free(buf);
	free(rrs);
	free(txt);
}

static void test_meta(void)
{
	store_t *s;
	store_txn_t *t;
	store_meta_iter_t it;
	struct meta_acc acc;
	uint32_t id, id2, ser;
	const char *vals[] = {"192.0.2.1", "", "2001:db8::1"};
	uint16_t lens[] = {9, 0, 11};
	const char *v;
	uint16_t l;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", &id));
	CHECK_OK(add_zone(t, "example.org", &id2));
	CHECK_OK(store_txn_commit(t));
	ser = serial_of(s, "example.com");
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_meta_set(t, id, "ALSO-NOTIFY", 11, vals, lens, 3));
	CHECK_OK(store_meta_set(t, id, "TSIG-ALLOW-AXFR", 15, vals, lens, 1));
	CHECK_OK(store_meta_set(t, id2, "X-OTHER", 7, vals, lens, 1));
	CHECK_RC(store_meta_set(t, 99, "X", 1, vals, lens, 1), -ENOENT);
	CHECK_RC(store_meta_set(t, id, "", 0, vals, lens, 1), -EINVAL);
	{
		static char kind[300];
		memset(kind, 'K', sizeof(kind));
		CHECK_RC(store_meta_set(t, id, kind, sizeof(kind), vals, lens, 1), ERR_TOOBIG);
	}
	CHECK_OK(store_meta_get(t, id, "ALSO-NOTIFY", 11, &it));
	CHECK(store_meta_next(&it, &v, &l) == 1 && l == 9 && memcmp(v, "192.0.2.1", 9) == 0);
	CHECK(store_meta_next(&it, &v, &l) == 1 && l == 0);
	CHECK(store_meta_next(&it, &v, &l) == 1 && l == 11);
	CHECK(store_meta_next(&it, &v, &l) == 0);
	CHECK_RC(store_meta_get(t, id, "ALSO", 4, &it), -ENOENT);
	CHECK_RC(store_meta_get(t, id2, "ALSO-NOTIFY", 11, &it), -ENOENT);
	memset(&acc, 0, sizeof(acc));
	CHECK_OK(store_meta_walk(t, id, meta_cb, &acc));
	CHECK_STR(acc.buf, "ALSO-NOTIFY=[192.0.2.1][][2001:db8::1];TSIG-ALLOW-AXFR=[192.0.2.1];");
	/* replace, then delete with an empty list */
	CHECK_OK(store_meta_set(t, id, "ALSO-NOTIFY", 11, vals + 2, lens + 2, 1));
	CHECK_OK(store_meta_set(t, id, "TSIG-ALLOW-AXFR", 15, NULL, NULL, 0));
	CHECK_OK(store_meta_set(t, id, "TSIG-ALLOW-AXFR", 15, NULL, NULL, 0));
	memset(&acc, 0, sizeof(acc));
	CHECK_OK(store_meta_walk(t, id, meta_cb, &acc));
	CHECK_STR(acc.buf, "ALSO-NOTIFY=[2001:db8::1];");
	memset(&acc, 0, sizeof(acc));
	CHECK_OK(store_meta_walk(t, id2, meta_cb, &acc));
	CHECK_STR(acc.buf, "X-OTHER=[192.0.2.1];");
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "example.com") == ser); /* metadata is no zone data */
	store_close(s);
}

struct tsig_acc {
	char buf[1024];
	size_t o;
};

static int tsig_cb(const store_tsig_t *k, void *arg)
{
	struct tsig_acc *a = arg;
	char txt[DNAME_MAX_TEXT];
	dname_to_text(&k->name, txt, sizeof(txt));
	a->o += (size_t)snprintf(a->buf + a->o, sizeof(a->buf) - a->o, "%s %.*s %.*s;", txt,
				 (int)k->algorithm_len, k->algorithm, (int)k->secret_len, k->secret);
	return 0;
}

static int ap_cb(const char *ip, const dname_t *ns, const char *account, size_t len, void *arg)
{
	struct tsig_acc *a = arg;
	char txt[DNAME_MAX_TEXT];
	dname_to_text(ns, txt, sizeof(txt));
	a->o += (size_t)snprintf(a->buf + a->o, sizeof(a->buf) - a->o, "%s %s %.*s;", ip, txt,
				 (int)len, account);
	return 0;
}

static void test_tsig_autoprimary(void)
{
	store_t *s;
	store_txn_t *t;
	store_tsig_t k, got;
	struct tsig_acc acc;
	dname_t ns1 = N("ns1.example.net"), ns2 = N("ns2.example.net");

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	memset(&k, 0, sizeof(k));
	k.name = N("k1");
	k.algorithm = "hmac-sha256.";
	k.algorithm_len = 12;
	k.secret = "c2VjcmV0";
	k.secret_len = 8;
	CHECK_OK(store_tsig_put(t, &k));
	k.name = N("apikey.");
	k.secret = "b3RoZXI=";
	CHECK_OK(store_tsig_put(t, &k));
	k.secret_len = 0;
	CHECK_RC(store_tsig_put(t, &k), -EINVAL);
	k.secret_len = 8;
	k.algorithm_len = 0;
	CHECK_RC(store_tsig_put(t, &k), -EINVAL);
	CHECK_OK(store_tsig_get(t, &k.name, &got));
	CHECK(got.algorithm_len == 12 && memcmp(got.algorithm, "hmac-sha256.", 12) == 0);
	CHECK(got.secret_len == 8 && memcmp(got.secret, "b3RoZXI=", 8) == 0);
	memset(&acc, 0, sizeof(acc));
	CHECK_OK(store_tsig_walk(t, tsig_cb, &acc));
	/* key order: the name key form (length-prefixed labels) */
	CHECK_STR(acc.buf, "k1. hmac-sha256. c2VjcmV0;apikey. hmac-sha256. b3RoZXI=;");
	CHECK_OK(store_tsig_del(t, &k.name));
	CHECK_RC(store_tsig_del(t, &k.name), -ENOENT);
	CHECK_RC(store_tsig_get(t, &k.name, &got), -ENOENT);

	CHECK_OK(store_autoprimary_put(t, "192.0.2.1", &ns1, "acct", 4));
	CHECK_OK(store_autoprimary_put(t, "192.0.2.1", &ns2, "", 0));
	CHECK_OK(store_autoprimary_put(t, "192.0.2.10", &ns1, "x", 1));
	CHECK_OK(store_autoprimary_put(t, "192.0.2.1", &ns1, "acct2", 5)); /* replaces */
	CHECK_RC(store_autoprimary_put(t, "", &ns1, "", 0), -EINVAL);
	memset(&acc, 0, sizeof(acc));
	CHECK_OK(store_autoprimary_walk(t, "192.0.2.1", ap_cb, &acc));
	CHECK_STR(acc.buf, "192.0.2.1 ns1.example.net. acct2;192.0.2.1 ns2.example.net. ;");
	CHECK_OK(store_autoprimary_del(t, "192.0.2.1", &ns2));
	CHECK_RC(store_autoprimary_del(t, "192.0.2.1", &ns2), -ENOENT);
	memset(&acc, 0, sizeof(acc));
	CHECK_OK(store_autoprimary_walk(t, NULL, ap_cb, &acc));
	CHECK_STR(acc.buf, "192.0.2.1 ns1.example.net. acct2;192.0.2.10 ns1.example.net. x;");
	CHECK_OK(store_txn_commit(t));
	store_close(s);
}

struct search_acc {
	char buf[2048];
	size_t o;
	int stop_after;
};

static int search_cb(const store_zone_t *z, const dname_t *owner, const store_rr_t *rr, void *arg)
{
	struct search_acc *a = arg;
	char txt[DNAME_MAX_TEXT];
	dname_to_text(owner, txt, sizeof(txt));
	a->o += (size_t)snprintf(a->buf + a->o, sizeof(a->buf) - a->o, "%u:%s %u %.*s;", z->id, txt,
				 rr->type, (int)rr->len, rr->data);
	return --a->stop_after == 0;
}

static const char *search(store_txn_t *t, const char *pat, unsigned max)
{
	static struct search_acc acc;
	memset(&acc, 0, sizeof(acc));
	acc.stop_after = -1;
	if (store_search(t, pat, strlen(pat), max, search_cb, &acc) < 0)
		return "(error)";
	return acc.buf;
}

static void test_search(void)
{
	store_t *s;
	store_txn_t *t;
	store_zone_t z;
	uint32_t a, b;
	dname_t n = N("example.com");

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", &a));
	CHECK_OK(add_zone(t, "example.org", &b));
	CHECK_OK(store_zone_get(t, &n, &z));
	z.serial = 7;
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(add_rr(t, a, "www.example.com", RR_A, "192.0.2.1"));
	CHECK_OK(add_rr(t, a, "www.example.com", RR_TXT, "\"Hello World\""));
	CHECK_OK(add_rr(t, a, "mail.example.com", RR_MX, "10 www.example.org"));
	CHECK_OK(add_rr(t, b, "www2.example.org", RR_A, "192.0.2.2"));
	CHECK_OK(store_txn_commit(t));
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_STR(search(t, "www*", 100), "1:www.example.com. 1 192.0.2.1;"
					  "1:www.example.com. 16 \"Hello World\";"
					  "2:www2.example.org. 1 192.0.2.2;");
	CHECK_STR(search(t, "WWW.EXAMPLE.?OM", 100), "1:www.example.com. 1 192.0.2.1;"
						     "1:www.example.com. 16 \"Hello World\";");
	CHECK_STR(search(t, "*hello*", 100), "1:www.example.com. 16 \"Hello World\";");
	CHECK_STR(search(t, "*www.example.org", 100), "1:mail.example.com. 15 10 www.example.org;");
	CHECK_STR(search(t, "192.0.2.?", 1), "1:www.example.com. 1 192.0.2.1;");
	CHECK_STR(search(t, "nothing", 100), "");
	/* the SOA rows: owner or "mname rname serial ..." content */
	CHECK_STR(search(t, "example.com", 100),
		  "1:example.com. 6 ns1.example.net hostmaster.example.net 7 10800 3600 604800 60;");
	CHECK_STR(search(t, "*hostmaster.* 7 *", 100),
		  "1:example.com. 6 ns1.example.net hostmaster.example.net 7 10800 3600 604800 60;");
	/* cb stops the search */
	{
		struct search_acc acc;
		memset(&acc, 0, sizeof(acc));
		acc.stop_after = 1;
		CHECK(store_search(t, "*", 1, 100, search_cb, &acc) == 1);
		CHECK_STR(acc.buf,
			  "1:example.com. 6 ns1.example.net hostmaster.example.net 7 10800 3600 604800 60;");
	}
	store_txn_abort(t);
	store_close(s);
}

/* The encoding documented in store.h, byte for byte, read with raw LMDB. */
static void test_encoding(void)
{
	store_t *s;
	store_txn_t *t;
	const char *d = fresh_dir();
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	uint32_t id;

	CHECK_OK(store_open(&s, d, STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "ex.com", &id));
	CHECK_OK(add_rr(t, id, "www.ex.com", RR_A, "1.2.3.4"));
	CHECK_OK(add_rr(t, id, "\\@.ex.com", RR_TXT, "\"x\""));
	CHECK_OK(add_host(t, "h.ex.com", "abcdefghijklmnopqrstuvwxyz"));
	CHECK_OK(store_txn_commit(t));
	store_close(s);

	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 16);
	CHECK(mdb_env_open(env, d, MDB_RDONLY, 0640) == 0);
	mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	CHECK(mdb_dbi_open(txn, "records", 0, &dbi) == 0);
	k.mv_data = "\0\0\0\1www\0";
	k.mv_size = 8;
	CHECK(mdb_get(txn, dbi, &k, &v) == 0);
	/* u16 type | u32 ttl | u16 count | u16 len | content */
	CHECK(v.mv_size == 17 && memcmp(v.mv_data, "\0\1\0\0\1\x2c\0\1\0\7" "1.2.3.4", 17) == 0);
	k.mv_data = "\0\0\0\1\x41\0"; /* '@' (0x40) shifted up by one */
	k.mv_size = 6;
	CHECK(mdb_get(txn, dbi, &k, &v) == 0);
	CHECK(mdb_dbi_open(txn, "zones", 0, &dbi) == 0);
	k.mv_data = "\3com\2ex";
	k.mv_size = 7;
	CHECK(mdb_get(txn, dbi, &k, &v) == 0);
	CHECK(v.mv_size == 46 + 1 + 16 + 1 + 23 + 2 + 1);
	CHECK(memcmp(v.mv_data, "\0\0\0\1\1\0", 6) == 0); /* id 1, kind master, flags 0 */
	CHECK(mdb_dbi_open(txn, "hosts", 0, &dbi) == 0);
	k.mv_data = "\3com\2ex\1h";
	k.mv_size = 9;
	CHECK(mdb_get(txn, dbi, &k, &v) == 0);
	CHECK(v.mv_size == 74 && memcmp(v.mv_data, "\0\0\0\1", 4) == 0); /* zone id first */
	CHECK(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
	k.mv_data = "version";
	k.mv_size = 7;
	CHECK(mdb_get(txn, dbi, &k, &v) == 0);
	CHECK(v.mv_size == 4 && memcmp(v.mv_data, "\0\0\0\2", 4) == 0);
	CHECK(mdb_dbi_open(txn, "names", 0, &dbi) == MDB_NOTFOUND);
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

/* Loads the schema-1 fixture (an mdb_dump of a store written by the
 * schema-1 kyednsctl and updater) into a fresh directory. */
static int load_fixture(const char *d)
{
	const char *cands[3] = {"tests/data/store-v1.dump", NULL, NULL};
	char alt[512], cmd[1200];
	const char *slash = strrchr(argv0, '/');
	if (slash) {
		/* build/tests/test_store -> tests/data next to build/ */
		snprintf(alt, sizeof(alt), "%.*s/../../tests/data/store-v1.dump",
			 (int)(slash - argv0), argv0);
		cands[1] = alt;
	}
	for (int i = 0; i < 2 && cands[i]; i++) {
		if (access(cands[i], R_OK) != 0)
			continue;
		mkdir(d, 0700);
		/* the dump names db_pagesize, which this mdb_load ignores aloud */
		snprintf(cmd, sizeof(cmd), "mdb_load -f '%s' '%s' 2>/dev/null", cands[i], d);
		return system(cmd) == 0 ? 0 : -1;
	}
	fprintf(stderr, "store-v1.dump not found\n");
	return -1;
}

static int count_hosts_cb(const dname_t *name, const store_host_t *h, void *arg)
{
	(void)name;
	(void)h;
	(*(int *)arg)++;
	return 0;
}

static void check_migrated(store_t *s)
{
	store_txn_t *t;
	store_zone_t z;
	store_host_t h;
	dname_t n;
	addr_t lo;
	int hosts = 0;
	const char *hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char want[512];

	CHECK_OK(store_txn_begin(s, 0, &t));
	/* zones: ids, kinds, SOA fields and serials as schema 1 had them */
	n = N("example.test");
	CHECK_OK(store_zone_get(t, &n, &z));
	CHECK(z.id == 1 && z.kind == STORE_KIND_MASTER && z.flags == 0 && z.serial == 0x6b0a7b07);
	CHECK(z.ttl == 3600 && z.refresh == 10800 && z.retry == 3600 && z.expire == 604800 &&
	      z.minimum == 60 && z.last_check == 0 && z.masters_len == 0 && z.account_len == 0);
	CHECK(z.mname_len == 17 && memcmp(z.mname, "ns1.example.test.", 17) == 0);
	CHECK(z.rname_len == 24 && memcmp(z.rname, "hostmaster.example.test.", 24) == 0);
	n = N("dyn.example.test");
	CHECK_OK(store_zone_get(t, &n, &z));
	CHECK(z.id == 2 && z.kind == STORE_KIND_NATIVE && z.serial == 0x6b0a7b03 && z.ttl == 60);
	CHECK(z.rname_len == 28 && memcmp(z.rname, "hostmaster.dyn.example.test.", 28) == 0);
	n = N("other.test");
	CHECK_OK(store_zone_get(t, &n, &z));
	CHECK(z.id == 3 && z.kind == STORE_KIND_NATIVE && z.serial == 0x6b0a7afb && z.ttl == 3600);
	CHECK(z.mname_len == 14 && memcmp(z.mname, "ns.other.test.", 14) == 0);
	CHECK_OK(store_zone_get_by_id(t, 2, &z));
	CHECK(z.name.labels == 3);

	/* zone 1: content in backend form, sorted by type */
	CHECK_STR(rrs_ttl(t, 1, "example.test"),
		  "2/3600 ns1.example.test|2/3600 ns2.example.net|15/3600 10 mx.example.test|"
		  "16/3600 \"v=spf1 -all\"|"
		  "44/3600 1 1 0123456789abcdef0123456789abcdef01234567|"
		  "257/3600 0 issue \"letsencrypt.org\"");
	CHECK_STR(rrs(t, 1, "ns1.example.test"), "1 192.0.2.1|28 2001:db8::1");
	CHECK_STR(rrs(t, 1, "www.example.test"), "5 example.test");
	CHECK_STR(rrs(t, 1, "_sip._tcp.example.test"), "33 0 5 5060 sip.example.test");
	CHECK_STR(rrs(t, 1, "1.2.0.192.in-addr.example.test"), "12 host.example.test");
	snprintf(want, sizeof(want), "52 3 1 1 %s", hex64);
	CHECK_STR(rrs(t, 1, "_443._tcp.www.example.test"), want);
	CHECK_STR(rrs(t, 1, "a.b.c.example.test"), "16 \"deep\"");
	/* a delegation inside zone 1: NS, glue and DS stay there */
	snprintf(want, sizeof(want), "2 ns1.sub.example.test|43 12345 13 2 %s", hex64);
	CHECK_STR(rrs(t, 1, "sub.example.test"), want);
	CHECK_STR(rrs(t, 1, "ns1.sub.example.test"), "1 192.0.2.53");
	/* dyn.example.test's apex NS: the child's, and the parent's delegation */
	CHECK_STR(rrs_ttl(t, 2, "dyn.example.test"), "2/60 ns1.example.test|2/60 ns2.example.net");
	CHECK_STR(rrs_ttl(t, 1, "dyn.example.test"), "2/60 ns1.example.test|2/60 ns2.example.net");
	CHECK_STR(rrs(t, 1, "static.dyn.example.test"), "(none)");
	CHECK_STR(rrs(t, 2, "static.dyn.example.test"), "1 198.51.100.7");
	CHECK_STR(rrs_ttl(t, 2, "home.dyn.example.test"), "1/60 203.0.113.5|28/60 2001:db8::5");
	CHECK_STR(rrs_ttl(t, 2, "office.dyn.example.test"), "1/120 203.0.113.66");
	CHECK_STR(rrs(t, 2, "nowhere.dyn.example.test"), "(none)");
	CHECK_STR(rrs(t, 3, "other.test"), "2 ns.other.test");
	CHECK_STR(rrs(t, 3, "laptop.other.test"), "28 2001:db8::77");
	CHECK_STR(walk(t, 1, 1), "example.test. _sip._tcp.example.test. a.b.c.example.test. "
				 "dyn.example.test. 1.2.0.192.in-addr.example.test. "
				 "ns1.example.test. sub.example.test. ns1.sub.example.test. "
				 "www.example.test. _443._tcp.www.example.test. ");
	CHECK_STR(walk(t, 2, 1), "dyn.example.test. home.dyn.example.test. "
				 "office.dyn.example.test. static.dyn.example.test. ");
	CHECK_STR(walk(t, 3, 1), "other.test. laptop.other.test. ");
	/* the cut and ENTs as the backend will ask */
	CHECK(cut(t, 1, "ns1.sub.example.test", 0) == 1);
	CHECK(cut(t, 1, "home.dyn.example.test", 0) == 1);
	CHECK(cut(t, 1, "dyn.example.test", 0) == 0);
	CHECK(cut(t, 2, "home.dyn.example.test", 0) == 0);
	CHECK(below(t, 1, "c.example.test") == 1);
	CHECK(below(t, 1, "b.c.example.test") == 1);
	CHECK(below(t, 1, "a.b.c.example.test") == 0);
	CHECK(below(t, 1, "dyn.example.test") == 0);
	CHECK(below(t, 2, "dyn.example.test") == 1);

	/* hosts: zone ids, token hashes, the updater's last client */
	n = N("home.dyn.example.test");
	CHECK_OK(store_host_get(t, &n, &h));
	CHECK(h.zone_id == 2 && h.ttl == 60 && h.created == 0x6b0a7afb && h.last_client.family == 0);
	CHECK(token_verify(h.token_hash, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32));
	CHECK(!token_verify(h.token_hash, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 32));
	n = N("office.dyn.example.test");
	CHECK_OK(store_host_get(t, &n, &h));
	addr_parse(&lo, "127.0.0.1", 9);
	CHECK(h.zone_id == 2 && h.ttl == 120 && h.updated == 0x6b0a7b03 && h.updated > h.created);
	CHECK(addr_equal(&h.last_client, &lo));
	CHECK(h.agent_len == 17 && memcmp(h.agent, "fixture-agent/1.0", 17) == 0);
	CHECK(token_verify(h.token_hash, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 32));
	n = N("nowhere.dyn.example.test");
	CHECK_OK(store_host_get(t, &n, &h));
	CHECK(h.zone_id == 2 && token_verify(h.token_hash, "cccccccccccccccccccccccccccccccc", 32));
	n = N("laptop.other.test");
	CHECK_OK(store_host_get(t, &n, &h));
	CHECK(h.zone_id == 3 && token_verify(h.token_hash, "dddddddddddddddddddddddddddddddd", 32));
	{
		addr_t a4, a6;
		n = N("home.dyn.example.test");
		CHECK_OK(store_host_addrs(t, &n, &a4, &a6));
		CHECK(a4.family == 4 && a6.family == 6);
	}
	CHECK_OK(store_host_walk(t, NULL, count_hosts_cb, &hosts));
	CHECK(hosts == 4);
	store_txn_abort(t);
}

static void test_migration(void)
{
	store_t *s;
	store_txn_t *t;
	const char *d = fresh_dir();
	char copy[300];
	int ch;

	if (load_fixture(d) < 0) {
		CHECK(!"fixture loaded");
		return;
	}
	/* read-only: schema 1 cannot be served as is */
	CHECK_RC(store_open(&s, d, STORE_RDONLY), ERR_VERSION);
	CHECK_OK(store_open(&s, d, 0));
	check_migrated(s);
	/* the migrated store works: the updater's path and the host rule */
	CHECK_OK(store_txn_begin(s, 1, &t));
	{
		dname_t n = N("home.dyn.example.test");
		addr_t v4, cl;
		uint32_t before = serial_of(s, "dyn.example.test");
		addr_parse(&v4, "203.0.113.9", 11);
		addr_parse(&cl, "192.0.2.1", 9);
		CHECK_OK(store_host_update(t, &n, &v4, NULL, &cl, "x", 1, 1, &ch));
		CHECK(ch == 1);
		CHECK_RC(add_rr(t, 2, "home.dyn.example.test", RR_A, "192.0.2.1"), ERR_HOSTOWNED);
		CHECK_OK(store_txn_commit(t));
		CHECK(serial_of(s, "dyn.example.test") != before);
	}
	store_close(s);
	/* opening the migrated store again changes nothing */
	{
		struct stat a, b;
		snprintf(copy, sizeof(copy), "%s/data.mdb", d);
		CHECK(stat(copy, &a) == 0);
		CHECK_OK(store_open(&s, d, 0));
		store_close(s);
		CHECK_OK(store_open(&s, d, STORE_RDONLY));
		CHECK_OK(store_txn_begin(s, 0, &t));
		CHECK_STR(rrs(t, 2, "home.dyn.example.test"), "1 203.0.113.9|28 2001:db8::5");
		CHECK_STR(rrs(t, 1, "dyn.example.test"), "2 ns1.example.test|2 ns2.example.net");
		store_txn_abort(t);
		store_close(s);
		CHECK(stat(copy, &b) == 0 && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
		      a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_size == b.st_size);
	}
	/* a fresh copy migrated twice at once: one process migrates, the
	 * other finds schema 2 inside its write txn */
	{
		const char *d2 = fresh_dir();
		pid_t kids[2];
		int status, ok = 1;
		if (load_fixture(d2) < 0) {
			CHECK(!"fixture loaded");
			return;
		}
		for (int i = 0; i < 2; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				store_t *c;
				_exit(store_open(&c, d2, 0) == 0 ? 0 : 1);
			}
		}
		for (int i = 0; i < 2; i++) {
			waitpid(kids[i], &status, 0);
			ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
		}
		CHECK(ok);
		CHECK_OK(store_open(&s, d2, STORE_RDONLY));
		check_migrated(s);
		store_close(s);
	}
}

/* Raw schema-1 writing, for migration cases the fixture does not have. */
static void v1_put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kl, const void *v, size_t vl)
{
	MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};
	CHECK(mdb_put(txn, dbi, &key, &val, 0) == 0);
}

static size_t v1_zone(uint8_t *b, uint32_t id, const char *mname, const char *rname)
{
	size_t o = 37, ml = strlen(mname), rl = strlen(rname);
	memset(b, 0, 37);
	b[3] = (uint8_t)id;
	b[4] = 1;                  /* master */
	b[8] = 7;                  /* serial 7 */
	b[32] = 60;                /* ttl 60 */
	b[o++] = (uint8_t)ml;
	memcpy(b + o, mname, ml);
	o += ml;
	b[o++] = (uint8_t)rl;
	memcpy(b + o, rname, rl);
	return o + rl;
}

/* One RRset in the names encoding; returns the bytes appended. */
static size_t v1_rrset(uint8_t *b, uint16_t type, const char *const *c, unsigned n)
{
	size_t o = 8;
	b[0] = (uint8_t)(type >> 8);
	b[1] = (uint8_t)type;
	b[2] = b[3] = b[4] = 0;
	b[5] = 60;
	b[6] = 0;
	b[7] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(c[i]);
		b[o] = 0;
		b[o + 1] = (uint8_t)l;
		memcpy(b + o + 2, c[i], l);
		o += 2 + l;
	}
	return o;
}

static void test_migration_cases(void)
{
	const char *d = fresh_dir();
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, zones, zoneids, names, hosts;
	uint8_t b[1024], host[70];
	size_t o;
	store_t *s;
	store_txn_t *t;
	store_host_t h;
	dname_t n;

	mkdir(d, 0700);
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 8);
	CHECK(mdb_env_open(env, d, 0, 0640) == 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, "meta", MDB_CREATE, &meta);
	mdb_dbi_open(txn, "zones", MDB_CREATE, &zones);
	mdb_dbi_open(txn, "zoneids", MDB_CREATE, &zoneids);
	mdb_dbi_open(txn, "names", MDB_CREATE, &names);
	mdb_dbi_open(txn, "hosts", MDB_CREATE, &hosts);
	v1_put(txn, meta, "version", 7, "\0\0\0\1", 4);
	v1_put(txn, meta, "next_zone_id", 12, "\0\0\0\3", 4);
	v1_put(txn, zones, "\4test\7example", 13, b, v1_zone(b, 1, "ns1.example.test.", "h.example.test."));
	v1_put(txn, zoneids, "\0\0\0\1", 4, "\4test\7example", 13);
	v1_put(txn, zones, "\4test\7example\5child", 19, b, v1_zone(b, 2, "ns1.example.test.", "h.example.test."));
	v1_put(txn, zoneids, "\0\0\0\2", 4, "\4test\7example\5child", 19);
	{
		const char *ns[] = {"ns1.example.test."};
		o = v1_rrset(b, RR_NS, ns, 1);
		v1_put(txn, names, "\4test\7example", 13, b, o);
	}
	{
		const char *ns[] = {"ns1.child.example.test.", "ns.elsewhere.net."};
		const char *txt[] = {"\"c\""}, *ds[] = {"1 13 2 ab"};
		o = v1_rrset(b, RR_NS, ns, 2);
		o += v1_rrset(b + o, RR_TXT, txt, 1);
		o += v1_rrset(b + o, RR_DS, ds, 1);
		v1_put(txn, names, "\4test\7example\5child", 19, b, o);
	}
	{
		const char *a[] = {"192.0.2.1"}, *txt[] = {"\"t\""}, *aaaa[] = {"2001:db8::1"};
		o = v1_rrset(b, RR_A, a, 1);
		o += v1_rrset(b + o, RR_TXT, txt, 1);
		o += v1_rrset(b + o, RR_AAAA, aaaa, 1);
		v1_put(txn, names, "\4test\7example\5child\3ns1", 23, b, o);
	}
	{
		const char *cn[] = {"a\\@b.example.test."}, *mx[] = {"0 ."};
		o = v1_rrset(b, RR_CNAME, cn, 1);
		v1_put(txn, names, "\4test\7example\5weird", 19, b, o);
		o = v1_rrset(b, RR_MX, mx, 1);
		v1_put(txn, names, "\4test\7example\4null", 18, b, o);
	}
	{
		const char *a[] = {"192.0.2.9"};
		o = v1_rrset(b, RR_A, a, 1);
		v1_put(txn, names, "\4test\6orphan", 12, b, o); /* outside every zone */
	}
	memset(host, 0, sizeof(host));
	token_hash("abcdefghijklmnopqrstuvwxyz", 26, host);
	host[32 + 19] = 60; /* ttl, the last byte of the u32 after two u64 */
	v1_put(txn, hosts, "\4test\7example\5child\1h", 21, host, sizeof(host));
	v1_put(txn, hosts, "\4test\6nozone\1x", 14, host, sizeof(host));
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);

	CHECK_OK(store_open(&s, d, 0));
	CHECK_OK(store_txn_begin(s, 0, &t));
	/* the parent gets the delegation NS, the DS and the in-zone glue */
	CHECK_STR(rrs(t, 1, "child.example.test"),
		  "2 ns1.child.example.test|2 ns.elsewhere.net|43 1 13 2 ab");
	CHECK_STR(rrs(t, 1, "ns1.child.example.test"), "1 192.0.2.1|28 2001:db8::1");
	/* the child keeps its apex data, minus the DS */
	CHECK_STR(rrs(t, 2, "child.example.test"),
		  "2 ns1.child.example.test|2 ns.elsewhere.net|16 \"c\"");
	CHECK_STR(rrs(t, 2, "ns1.child.example.test"), "1 192.0.2.1|16 \"t\"|28 2001:db8::1");
	/* names re-escaped the way pdns writes them; the root stays "." */
	CHECK_STR(rrs(t, 1, "weird.example.test"), "5 a@b.example.test");
	CHECK_STR(rrs(t, 1, "null.example.test"), "15 0 .");
	CHECK_STR(walk(t, 1, 1), "example.test. child.example.test. ns1.child.example.test. "
				 "null.example.test. weird.example.test. ");
	n = N("h.child.example.test");
	CHECK_OK(store_host_get(t, &n, &h));
	CHECK(h.zone_id == 2 && h.ttl == 60 && token_verify(h.token_hash, "abcdefghijklmnopqrstuvwxyz", 26));
	n = N("x.nozone.test");
	CHECK_RC(store_host_get(t, &n, &h), -ENOENT); /* no zone could serve it */
	{
		store_stat_t st;
		store_txn_abort(t);
		CHECK_OK(store_stat(s, &st));
		CHECK(st.zones == 2 && st.hosts == 1 && st.names == 7);
	}
	store_close(s);

	/* a migration that fails leaves schema 1 exactly as it was */
	d = fresh_dir();
	mkdir(d, 0700);
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 8);
	CHECK(mdb_env_open(env, d, 0, 0640) == 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, "meta", MDB_CREATE, &meta);
	mdb_dbi_open(txn, "zones", MDB_CREATE, &zones);
	mdb_dbi_open(txn, "zoneids", MDB_CREATE, &zoneids);
	mdb_dbi_open(txn, "names", MDB_CREATE, &names);
	mdb_dbi_open(txn, "hosts", MDB_CREATE, &hosts);
	v1_put(txn, meta, "version", 7, "\0\0\0\1", 4);
	v1_put(txn, zones, "\4test\7example", 13, b, v1_zone(b, 1, "ns1.example.test.", "h.example.test."));
	v1_put(txn, zoneids, "\0\0\0\1", 4, "\4test\7example", 13);
	v1_put(txn, names, "\4test\7example\1a", 15, "\0\1\0\0\0\1\0\11", 8); /* 9 RRs, none there */
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
	CHECK_RC(store_open(&s, d, 0), ERR_CORRUPT);
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 16);
	CHECK(mdb_env_open(env, d, MDB_RDONLY, 0640) == 0);
	mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	{
		MDB_val k = {7, "version"}, v;
		MDB_dbi rec;
		CHECK(mdb_dbi_open(txn, "meta", 0, &meta) == 0 && mdb_get(txn, meta, &k, &v) == 0);
		CHECK(v.mv_size == 4 && memcmp(v.mv_data, "\0\0\0\1", 4) == 0);
		CHECK(mdb_dbi_open(txn, "names", 0, &names) == 0);
		CHECK(mdb_dbi_open(txn, "records", 0, &rec) == MDB_NOTFOUND);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);

	/* a migration that needs more than the map: grown and redone */
	d = fresh_dir();
	mkdir(d, 0700);
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 8);
	mdb_env_set_mapsize(env, STORE_DEFAULT_MAPSIZE);
	CHECK(mdb_env_open(env, d, 0, 0640) == 0);
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, "meta", MDB_CREATE, &meta);
	mdb_dbi_open(txn, "zones", MDB_CREATE, &zones);
	mdb_dbi_open(txn, "zoneids", MDB_CREATE, &zoneids);
	mdb_dbi_open(txn, "names", MDB_CREATE, &names);
	mdb_dbi_open(txn, "hosts", MDB_CREATE, &hosts);
	v1_put(txn, meta, "version", 7, "\0\0\0\1", 4);
	v1_put(txn, meta, "next_zone_id", 12, "\0\0\0\2", 4);
	v1_put(txn, zones, "\4test\7example", 13, b, v1_zone(b, 1, "ns1.example.test.", "h.example.test."));
	v1_put(txn, zoneids, "\0\0\0\1", 4, "\4test\7example", 13);
	{
		static uint8_t big[60012];
		uint8_t key[32];
		/* one TXT RRset of one 60,000-byte string per owner */
		memcpy(big, "\0\20\0\0\0\74\0\1", 8);
		big[8] = (uint8_t)(60002 >> 8);
		big[9] = (uint8_t)(60002 & 0xff);
		memset(big + 10, 'x', 60002);
		big[10] = big[60011] = '"';
		int bad = 0;
		for (int i = 0; i < 600; i++) {
			int kl = snprintf((char *)key, sizeof(key), "\4test\7example\4o%03d", i);
			MDB_val k = {(size_t)kl, key}, v = {sizeof(big), big};
			bad += mdb_put(txn, names, &k, &v, 0) != 0;
		}
		CHECK(bad == 0);
	}
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
	CHECK_OK(store_open(&s, d, 0));
	{
		store_stat_t st;
		CHECK_OK(store_stat(s, &st));
		CHECK(st.names == 600 && st.map_size > STORE_DEFAULT_MAPSIZE);
		CHECK_OK(store_txn_begin(s, 0, &t));
		n = N("o599.example.test");
		{
			store_rr_iter_t it;
			store_rr_t rr;
			CHECK_OK(store_name_get(t, 1, &n, &it));
			CHECK(store_rr_next(&it, &rr) == 1 && rr.type == RR_TXT && rr.len == 60002);
		}
		store_txn_abort(t);
	}
	store_close(s);
}

/* Fills the map past its size: ERR_MAPFULL, abort, grow, redo works. */
static int fill(store_t *s, const char *zone, int owners, int tag)
{
	static char big[60000];
	memset(big, 'a' + tag % 26, sizeof(big) - 2);
	big[0] = '"';
	big[sizeof(big) - 2] = '"';
	for (int attempt = 0; attempt < 8; attempt++) {
		store_txn_t *t;
		int rc = store_txn_begin(s, 1, &t);
		if (rc < 0)
			return rc;
		for (int i = 0; i < owners && rc == 0; i++) {
			char name[128];
			dname_t n;
			snprintf(name, sizeof(name), "o%d-%d.%s", tag, i, zone);
			n = N(name);
			rc = store_rr_add(t, 1, &n, RR_TXT, 60, big, sizeof(big) - 1);
		}
		if (rc == ERR_MAPFULL) {
			store_txn_abort(t);
			if ((rc = store_grow(s)) < 0)
				return rc;
			continue;
		}
		if (rc < 0) {
			store_txn_abort(t);
			return rc;
		}
		rc = store_txn_commit(t);
		if (rc == ERR_MAPFULL) {
			if ((rc = store_grow(s)) < 0)
				return rc;
			continue;
		}
		return rc;
	}
	return ERR_MAPFULL;
}

static void test_growth(void)
{
	store_t *s;
	store_txn_t *r;
	const char *d = fresh_dir();
	int pipefd[2], status;
	pid_t pid;
	store_stat_t st;

	CHECK_OK(store_open(&s, d, STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &r));
	CHECK_OK(add_zone(r, "grow.test", NULL));
	CHECK_OK(store_txn_commit(r));
	/* in-process: 1200 x 60 KB > the 64 MiB default map */
	CHECK_OK(fill(s, "grow.test", 1200, 1));
	CHECK_OK(store_stat(s, &st));
	CHECK(st.map_size > STORE_DEFAULT_MAPSIZE && st.map_used > STORE_DEFAULT_MAPSIZE);

	/* cross-process: our reader txn is open (reset between "requests")
	 * while another process grows the map and writes past our mapping */
	CHECK_OK(store_txn_begin(s, 0, &r));
	store_txn_reset(r);
	if (pipe(pipefd) != 0)
		abort();
	pid = fork();
	if (pid == 0) {
		store_t *c;
		close(pipefd[0]);
		if (store_open(&c, d, 0) < 0)
			_exit(10);
		if (fill(c, "grow.test", 2500, 2) < 0)
			_exit(11);
		store_close(c);
		_exit(0);
	}
	close(pipefd[1]);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_OK(store_txn_renew(r));
	{
		store_rr_iter_t it;
		dname_t n = N("o2-2499.grow.test");
		CHECK_OK(store_name_get(r, 1, &n, &it));
	}
	store_txn_abort(r);
	/* and we can write after adopting the grown map */
	CHECK_OK(fill(s, "grow.test", 10, 3));
	store_close(s);
}

/*
 * Fault injection for test_renew_after_failed_begin: while fail_begins > 0,
 * LMDB's txn begin (called by the store, which is linked into this
 * program) fails with MDB_READERS_FULL, as it does when every reader slot
 * is held by live processes.  Otherwise the real function runs.
 */
static int fail_begins;

int mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned int flags, MDB_txn **txn)
{
	static int (*real)(MDB_env *, MDB_txn *, unsigned int, MDB_txn **);
	if (fail_begins > 0) {
		fail_begins--;
		return MDB_READERS_FULL;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "mdb_txn_begin");
	return real(env, parent, flags, txn);
}

/*
 * Issue 10 item 18: a renew that fails because another process grew the
 * map (MDB_MAP_RESIZED), followed by a fresh begin that fails too, must
 * not leave the read txn unusable: once the reader table has room again,
 * the next renew works (the updater keeps one read txn for its lifetime).
 */
static void test_renew_after_failed_begin(void)
{
	store_t *s;
	store_txn_t *r;
	const char *d = fresh_dir();
	int status;
	pid_t pid;

	CHECK_OK(store_open(&s, d, STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &r));
	CHECK_OK(add_zone(r, "grow.test", NULL));
	CHECK_OK(store_txn_commit(r));
	CHECK_OK(store_txn_begin(s, 0, &r));
	store_txn_reset(r);
	pid = fork();
	if (pid == 0) {
		store_t *c;
		if (store_open(&c, d, 0) < 0)
			_exit(10);
		if (fill(c, "grow.test", 1200, 4) < 0) /* past our 64 MiB map */
			_exit(11);
		store_close(c);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the renew meets the resize; every fresh begin then fails */
	fail_begins = 1000;
	CHECK(store_txn_renew(r) < 0);
	CHECK(store_txn_renew(r) < 0);
	fail_begins = 0;
	/* room again: the same handle works */
	CHECK_OK(store_txn_renew(r));
	{
		store_rr_iter_t it;
		dname_t n = N("o4-1199.grow.test");
		CHECK_OK(store_name_get(r, 1, &n, &it));
	}
	store_txn_reset(r);
	CHECK_OK(store_txn_renew(r));
	store_txn_abort(r);
	store_close(s);
}

struct grow_arg {
	store_t *s;
	int rc;
	volatile int done;
};

static void *grow_thread(void *p)
{
	struct grow_arg *a = p;
	a->rc = store_grow(a->s);
	a->done = 1;
	return NULL;
}

/* store_grow waits for this process's active read txn to end. */
static void test_grow_waits_for_reader(void)
{
	store_t *s;
	store_txn_t *r;
	pthread_t th;
	struct grow_arg a = {0};
	store_stat_t before, after;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_stat(s, &before));
	CHECK_OK(store_txn_begin(s, 0, &r));
	a.s = s;
	pthread_create(&th, NULL, grow_thread, &a);
	usleep(100000);
	CHECK(a.done == 0); /* still blocked by our active reader */
	store_txn_reset(r);
	pthread_join(th, NULL);
	CHECK(a.done == 1 && a.rc == 0);
	CHECK_OK(store_txn_renew(r));
	store_txn_abort(r);
	CHECK_OK(store_stat(s, &after));
	CHECK(after.map_size == before.map_size * 2);
	store_close(s);
}

/* Readers and a writer in separate processes: every snapshot a reader
 * sees is consistent (the two names of one commit always agree). */
static void test_concurrent_processes(void)
{
	const char *d = fresh_dir();
	store_t *s;
	store_txn_t *t;
	pid_t writer, readers[2];
	int status, bad = 0;

	CHECK_OK(store_open(&s, d, STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "conc.test", NULL));
	CHECK_OK(add_rr(t, 1, "a.conc.test", RR_TXT, "\"0\""));
	CHECK_OK(add_rr(t, 1, "b.conc.test", RR_TXT, "\"0\""));
	CHECK_OK(store_txn_commit(t));
	store_close(s);

	writer = fork();
	if (writer == 0) {
		store_t *w;
		if (store_open(&w, d, 0) < 0)
			_exit(10);
		for (int i = 1; i <= 300; i++) {
			store_txn_t *wt;
			char v[32];
			const char *c = v;
			uint16_t l;
			dname_t a = N("a.conc.test"), b = N("b.conc.test");
			snprintf(v, sizeof(v), "\"%d\"", i);
			l = (uint16_t)strlen(v);
			if (store_txn_begin(w, 1, &wt) < 0 ||
			    store_rrset_set(wt, 1, &a, RR_TXT, 60, &c, &l, 1, NULL) < 0 ||
			    store_rrset_set(wt, 1, &b, RR_TXT, 60, &c, &l, 1, NULL) < 0 ||
			    store_txn_commit(wt) < 0)
				_exit(11);
		}
		store_close(w);
		_exit(0);
	}
	for (int r = 0; r < 2; r++) {
		readers[r] = fork();
		if (readers[r] == 0) {
			store_t *rs;
			store_txn_t *rt;
			int last = 0;
			if (store_open(&rs, d, 0) < 0 || store_txn_begin(rs, 0, &rt) < 0)
				_exit(10);
			store_txn_reset(rt);
			for (int i = 0; i < 20000 && last < 300; i++) {
				store_rr_iter_t ia, ib;
				store_rr_t ra, rb;
				dname_t a = N("a.conc.test"), b = N("b.conc.test");
				int va, vb;
				if (store_txn_renew(rt) < 0)
					_exit(12);
				if (store_name_get(rt, 1, &a, &ia) < 0 || store_name_get(rt, 1, &b, &ib) < 0 ||
				    store_rr_next(&ia, &ra) != 1 || store_rr_next(&ib, &rb) != 1)
					_exit(13);
				va = atoi(ra.data + 1);
				vb = atoi(rb.data + 1);
				store_txn_reset(rt);
				if (va != vb || va < last)
					_exit(14); /* torn or backwards snapshot */
				last = va;
			}
			store_txn_abort(rt);
			store_close(rs);
			_exit(0);
		}
	}
	waitpid(writer, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bad++;
	for (int r = 0; r < 2; r++) {
		waitpid(readers[r], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "reader exit %d\n", WEXITSTATUS(status));
			bad++;
		}
	}
	CHECK(bad == 0);
	CHECK_OK(store_open(&s, d, 0));
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_STR(rrs(t, 1, "a.conc.test"), "16 \"300\"");
	store_txn_abort(t);
	store_close(s);
}

/* A reader killed mid-txn leaves its slot taken while other processes
 * keep the env open (the first opener of an idle env resets the table
 * anyway); store_reader_check clears it. */
static void test_stale_readers(void)
{
	const char *d = fresh_dir();
	store_t *s;
	store_stat_t st;
	pid_t pid;
	int status;

	CHECK_OK(store_open(&s, d, STORE_CREATE));
	CHECK(store_reader_check(s) == 0);
	pid = fork();
	if (pid == 0) {
		store_t *c;
		store_txn_t *t;
		if (store_open(&c, d, 0) < 0 || store_txn_begin(c, 0, &t) < 0)
			_exit(10);
		kill(getpid(), SIGKILL); /* die holding the slot */
		_exit(11);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status));
	CHECK_OK(store_stat(s, &st));
	CHECK(st.readers_used >= 1);
	CHECK(store_reader_check(s) == 1);
	CHECK(store_reader_check(s) == 0);
	store_close(s);
}

static int rm_rf(const char *path)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

struct key_acc {
	char buf[512];
	size_t o;
	unsigned n;
};

static int key_cb(const store_key_t *k, void *arg)
{
	struct key_acc *a = arg;
	a->n++;
	a->o += (size_t)snprintf(a->buf + a->o, sizeof(a->buf) - a->o, "%s%u/%u/%u%u/%.*s",
				 a->o ? "|" : "", k->id, k->flags, k->active, k->published,
				 (int)k->content_len, k->content);
	return 0;
}

static const char *keys_of(store_txn_t *t, uint32_t zone)
{
	static struct key_acc a;
	memset(&a, 0, sizeof(a));
	CHECK_OK(store_key_walk(t, zone, key_cb, &a));
	return a.buf;
}

static void test_keys(void)
{
	store_t *s;
	store_txn_t *t;
	store_key_t k, got;
	uint32_t z1, z2, z3, id = 0;
	dname_t n;
	struct stat st;
	char path[300];

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	/* the store files are not readable by others: keys are secrets */
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0750);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0007) == 0);
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "a.test", &z1));
	CHECK_OK(add_zone(t, "b.test", &z2));
	CHECK_OK(add_zone(t, "sub.a.test", &z3));
	memset(&k, 0, sizeof(k));
	k.flags = 257;
	k.active = 1;
	k.published = 1;
	k.content = "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: x=\n";
	k.content_len = (uint32_t)strlen(k.content);
	CHECK_OK(store_key_add(t, z1, &k, &id));
	CHECK(id == 1);
	k.flags = 256;
	k.active = 0;
	k.content = "zsk";
	k.content_len = 3;
	CHECK_OK(store_key_add(t, z1, &k, &id));
	CHECK(id == 2);
	/* ids count per zone */
	CHECK_OK(store_key_add(t, z2, &k, &id));
	CHECK(id == 1);
	CHECK_OK(store_key_add(t, z3, &k, &id));
	CHECK(id == 1);
	CHECK_RC(store_key_add(t, 999, &k, &id), -ENOENT);
	k.content_len = 0;
	CHECK_RC(store_key_add(t, z1, &k, &id), -EINVAL);
	k.content_len = STORE_MAX_KEY_CONTENT + 1;
	CHECK_RC(store_key_add(t, z1, &k, &id), ERR_TOOBIG);
	CHECK_STR(keys_of(t, z2), "1/256/01/zsk");
	CHECK_OK(store_key_get(t, z1, 1, &got));
	CHECK(got.zone_id == z1 && got.id == 1 && got.flags == 257 && got.active == 1 &&
	      got.published == 1 && got.content_len > 40 &&
	      memcmp(got.content, "Private-key-format: v1.2\nAlgorithm: 13", 38) == 0);
	CHECK_RC(store_key_get(t, z1, 3, &got), -ENOENT);
	CHECK_RC(store_key_get(t, z1, 0, &got), -ENOENT);
	/* flags */
	CHECK_OK(store_key_set_flags(t, z1, 2, 1, -1));
	CHECK_OK(store_key_set_flags(t, z1, 2, -1, 0));
	CHECK_OK(store_key_set_flags(t, z1, 2, -1, 0)); /* no change: fine */
	CHECK_OK(store_key_get(t, z1, 2, &got));
	CHECK(got.active == 1 && got.published == 0 && got.content_len == 3 &&
	      memcmp(got.content, "zsk", 3) == 0);
	CHECK_RC(store_key_set_flags(t, z1, 7, 1, 1), -ENOENT);
	CHECK_RC(store_key_set_flags(t, 999, 1, 1, 1), -ENOENT);
	/* delete: the next id stays above the largest left */
	CHECK_OK(store_key_del(t, z1, 1));
	CHECK_RC(store_key_del(t, z1, 1), -ENOENT);
	k.content_len = 3;
	CHECK_OK(store_key_add(t, z1, &k, &id));
	CHECK(id == 3);
	CHECK_STR(keys_of(t, z1), "2/256/10/zsk|3/256/01/zsk");
	CHECK_OK(store_txn_commit(t));

	/* keys are not zone data: no serial bump; a read txn sees them */
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_STR(keys_of(t, z1), "2/256/10/zsk|3/256/01/zsk");
	CHECK_RC(store_key_add(t, z1, &k, &id), -EACCES);
	store_txn_abort(t);

	/* deleting a zone deletes its keys, not those of its child zone */
	CHECK_OK(store_txn_begin(s, 1, &t));
	n = N("a.test");
	CHECK_OK(store_zone_del(t, &n));
	CHECK_STR(keys_of(t, z1), "");
	CHECK_STR(keys_of(t, z3), "1/256/01/zsk");
	CHECK_STR(keys_of(t, z2), "1/256/01/zsk");
	CHECK_OK(store_txn_commit(t));
	store_close(s);

	/* a schema-2 store written before domainkeys existed: a read-only
	 * open sees no keys, a writable one adds the table */
	{
		MDB_env *env;
		MDB_txn *tx;
		MDB_dbi dbi;
		CHECK(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 16) == 0 &&
		      mdb_env_open(env, dir, 0, 0640) == 0);
		CHECK(mdb_txn_begin(env, NULL, 0, &tx) == 0);
		CHECK(mdb_dbi_open(tx, "domainkeys", 0, &dbi) == 0);
		CHECK(mdb_drop(tx, dbi, 1) == 0);
		CHECK(mdb_txn_commit(tx) == 0);
		mdb_env_close(env);
	}
	CHECK_OK(store_open(&s, dir, STORE_RDONLY));
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_STR(keys_of(t, z2), "");
	CHECK_RC(store_key_get(t, z2, 1, &got), -ENOENT);
	store_txn_abort(t);
	store_close(s);
	CHECK_OK(store_open(&s, dir, 0));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_STR(keys_of(t, z2), "");
	CHECK_OK(store_key_add(t, z2, &k, &id));
	CHECK(id == 1);
	CHECK_OK(store_txn_commit(t));
	store_close(s);
}

/* "before after" of name in zone, as absolute texts. */
static const char *nsec_of(store_txn_t *t, uint32_t zone, const char *name)
{
	static char buf[2 * DNAME_MAX_TEXT + 2];
	char b[DNAME_MAX_TEXT], a[DNAME_MAX_TEXT];
	dname_t n = N(name), before, after;
	int rc = store_nsec_neighbours(t, zone, &n, &before, &after);
	if (rc < 0)
		return err_str(rc);
	dname_to_text(&before, b, sizeof(b));
	dname_to_text(&after, a, sizeof(a));
	snprintf(buf, sizeof(buf), "%s %s", b, a);
	return buf;
}

static void test_nsec_order(void)
{
	store_t *s;
	store_txn_t *t;
	uint32_t z, child, other;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "a.test", &z));
	CHECK_OK(add_zone(t, "b.test", &other));
	/* a zone with only its SOA: the apex is the whole chain */
	CHECK_STR(nsec_of(t, other, "b.test"), "b.test. b.test.");
	CHECK_STR(nsec_of(t, other, "x.b.test"), "b.test. b.test.");
	CHECK_OK(add_rr(t, other, "b.test", RR_NS, "ns.b.test"));
	CHECK_OK(add_rr(t, other, "zz.b.test", RR_A, "192.0.2.9"));
	CHECK_OK(add_rr(t, z, "a.test", RR_NS, "ns1.a.test"));
	CHECK_OK(add_rr(t, z, "ns1.a.test", RR_A, "192.0.2.1"));
	CHECK_OK(add_rr(t, z, "www.a.test", RR_A, "192.0.2.2"));
	CHECK_OK(add_rr(t, z, "x.ent.a.test", RR_TXT, "\"x\""));
	CHECK_OK(add_rr(t, z, "*.wild.a.test", RR_TXT, "\"w\""));
	/* delegation with glue below and beside */
	CHECK_OK(add_rr(t, z, "del.a.test", RR_NS, "ns.del.a.test"));
	CHECK_OK(add_rr(t, z, "ns.del.a.test", RR_A, "192.0.2.3"));
	CHECK_OK(add_rr(t, z, "deep.x.del.a.test", RR_A, "192.0.2.4"));
	CHECK_OK(add_rr(t, z, "sec.a.test", RR_NS, "ns.sec.a.test"));
	CHECK_OK(add_rr(t, z, "sec.a.test", RR_DS, "1 13 2 abcd"));
	CHECK_OK(add_rr(t, z, "ns.sec.a.test", RR_A, "192.0.2.5"));
	/* the child zone's records do not count in the parent */
	CHECK_OK(add_zone(t, "kid.a.test", &child));
	CHECK_OK(add_rr(t, child, "kid.a.test", RR_NS, "ns1.a.test"));
	CHECK_OK(add_rr(t, child, "in.kid.a.test", RR_A, "192.0.2.6"));
	/* the chain of a.test in canonical order: a.test, del, x.ent, ns1,
	 * sec, *.wild, www (ns.del, deep.x.del, ns.sec are occluded) */
	CHECK_STR(nsec_of(t, z, "a.test"), "a.test. del.a.test.");
	CHECK_STR(nsec_of(t, z, "del.a.test"), "del.a.test. x.ent.a.test.");
	/* below the cut: the cut covers, the next is past its subtree */
	CHECK_STR(nsec_of(t, z, "ns.del.a.test"), "del.a.test. x.ent.a.test.");
	CHECK_STR(nsec_of(t, z, "zzz.del.a.test"), "del.a.test. x.ent.a.test.");
	/* an ENT is not a member; its child is */
	CHECK_STR(nsec_of(t, z, "ent.a.test"), "del.a.test. x.ent.a.test.");
	CHECK_STR(nsec_of(t, z, "x.ent.a.test"), "x.ent.a.test. ns1.a.test.");
	CHECK_STR(nsec_of(t, z, "ns1.a.test"), "ns1.a.test. sec.a.test.");
	CHECK_STR(nsec_of(t, z, "ot.a.test"), "ns1.a.test. sec.a.test.");
	CHECK_STR(nsec_of(t, z, "nope.a.test"), "x.ent.a.test. ns1.a.test.");
	CHECK_STR(nsec_of(t, z, "sec.a.test"), "sec.a.test. *.wild.a.test.");
	CHECK_STR(nsec_of(t, z, "ns.sec.a.test"), "sec.a.test. *.wild.a.test.");
	CHECK_STR(nsec_of(t, z, "*.a.test"), "a.test. del.a.test.");
	CHECK_STR(nsec_of(t, z, "x.wild.a.test"), "*.wild.a.test. www.a.test.");
	/* the last member wraps to the apex; names after it too */
	CHECK_STR(nsec_of(t, z, "www.a.test"), "www.a.test. a.test.");
	CHECK_STR(nsec_of(t, z, "zzz.a.test"), "www.a.test. a.test.");
	CHECK_STR(nsec_of(t, z, "a.www.a.test"), "www.a.test. a.test.");
	/* the child zone's apex and names are not in the parent's chain */
	CHECK_STR(nsec_of(t, z, "in.kid.a.test"), "x.ent.a.test. ns1.a.test.");
	CHECK_STR(nsec_of(t, child, "kid.a.test"), "kid.a.test. in.kid.a.test.");
	CHECK_STR(nsec_of(t, child, "zz.kid.a.test"), "in.kid.a.test. kid.a.test.");
	CHECK_STR(nsec_of(t, other, "b.test"), "b.test. zz.b.test.");
	CHECK_STR(nsec_of(t, other, "a.b.test"), "b.test. zz.b.test.");
	CHECK_STR(nsec_of(t, other, "zz.b.test"), "zz.b.test. b.test.");
	CHECK_STR(nsec_of(t, z, "other.test"), err_str(ERR_NOZONE));
	CHECK_STR(nsec_of(t, 999, "a.test"), err_str(ERR_NOZONE));
	/* the last member of the chain occluded: wrap from past the cut */
	CHECK_OK(add_rr(t, other, "zz.b.test", RR_NS, "ns.zz.b.test"));
	CHECK_OK(add_rr(t, other, "ns.zz.b.test", RR_A, "192.0.2.7"));
	CHECK_STR(nsec_of(t, other, "zz.b.test"), "zz.b.test. b.test.");
	CHECK_STR(nsec_of(t, other, "ns.zz.b.test"), "zz.b.test. b.test.");
	CHECK_STR(nsec_of(t, other, "a.b.test"), "b.test. zz.b.test.");
	store_txn_abort(t);
	store_close(s);
}

/* ---- issue 12: host options, scoped tokens, history, ACME values ---- */

static addr_t A(const char *s)
{
	addr_t a;
	if (addr_parse(&a, s, strlen(s)) < 0) {
		fprintf(stderr, "bad test address %s\n", s);
		exit(2);
	}
	return a;
}

static const char *atext(const addr_t *a)
{
	static char buf[8][ADDR_TEXT_MAX];
	static int i;
	char *b = buf[i++ % 8];
	if (a->family == 0)
		return "-";
	addr_format(a, b, ADDR_TEXT_MAX);
	return b;
}

static int update(store_txn_t *t, const char *host, const char *v4, const char *v6, int *ch)
{
	dname_t n = N(host);
	addr_t a4 = {0}, a6 = {0}, cl = A("198.51.100.7");
	if (v4)
		a4 = A(v4);
	if (v6)
		a6 = A(v6);
	return store_host_update(t, &n, v4 ? &a4 : NULL, v6 ? &a6 : NULL, &cl, "test", 4, 5000, ch);
}

static store_hostopt_t opts(store_txn_t *t, const char *host)
{
	store_hostopt_t o;
	dname_t n = N(host);
	memset(&o, 0xee, sizeof(o));
	if (store_hostopt_get(t, &n, &o) < 0)
		o.flags = 0xee;
	return o;
}

static void test_offline_wildcard(void)
{
	store_t *s;
	store_txn_t *t;
	store_hostopt_t o;
	store_rr_t rr;
	dname_t home = N("home.example.com"), star = N("*.home.example.com"), h2 = N("h2.example.com");
	addr_t g4, g6, o4, o6, v4 = A("203.0.113.60"), cl = A("198.51.100.7");
	uint32_t id, ser;
	int ch;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", &id));
	CHECK_OK(add_host(t, "home.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	CHECK_OK(add_host(t, "h2.example.com", "abcdefghijklmnopqrstuvwxyz0124"));
	CHECK_OK(update(t, "home.example.com", "203.0.113.50", "2001:db8::1", &ch));
	o = opts(t, "home.example.com");
	CHECK(o.flags == 0 && !o.has_iid && o.follow.len == 0 && o.prefix.family == 0 &&
	      o.saved4.family == 0);
	CHECK_RC(store_hostopt_get(t, &star, &o), -ENOENT);
	CHECK_RC(store_host_set_wildcard(t, &star, 1, &ch), -ENOENT);
	CHECK_RC(store_host_set_offline(t, &star, 1, 1, &ch), -ENOENT);
	CHECK_OK(store_txn_commit(t));
	ser = serial_of(s, "example.com");

	/* wildcard on: *.H gets H's addresses and they belong to H */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_set_wildcard(t, &home, 1, &ch));
	CHECK(ch == 1);
	CHECK_OK(store_host_set_wildcard(t, &home, 1, &ch));
	CHECK(ch == 0);
	CHECK(opts(t, "home.example.com").flags == STORE_HOST_WILDCARD);
	CHECK_STR(rrs_ttl(t, id, "*.home.example.com"), "1/60 203.0.113.50|28/60 2001:db8::1");
	CHECK_RC(add_rr(t, id, "*.home.example.com", RR_A, "192.0.2.1"), ERR_HOSTOWNED);
	CHECK_RC(add_rr(t, id, "*.home.example.com", RR_AAAA, "2001:db8::9"), ERR_HOSTOWNED);
	CHECK_RC(add_rr(t, id, "*.home.example.com", RR_CNAME, "x.example.com"), ERR_CLASH);
	CHECK_RC(store_rr_del(t, id, &star, RR_A, NULL, 0), ERR_HOSTOWNED);
	CHECK_OK(add_rr(t, id, "*.home.example.com", RR_TXT, "\"wild\""));
	rr.type = RR_A;
	rr.ttl = 60;
	rr.data = "192.0.2.1";
	rr.len = 9;
	CHECK_RC(store_name_set(t, id, &star, &rr, 1), ERR_HOSTOWNED);
	rr.type = RR_MX;
	rr.data = "10 mx.example.com";
	rr.len = (uint16_t)strlen(rr.data);
	CHECK_OK(store_name_set(t, id, &star, &rr, 1));
	CHECK_STR(rrs(t, id, "*.home.example.com"),
		  "1 203.0.113.50|15 10 mx.example.com|28 2001:db8::1");
	/* other hosts' wildcards are not owned */
	CHECK_OK(add_rr(t, id, "*.h2.example.com", RR_A, "192.0.2.2"));
	CHECK_RC(store_host_set_wildcard(t, &h2, 1, &ch), ERR_CLASH);
	CHECK(ch == 0);
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "example.com") != ser);

	/* updates keep *.H in step */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_update_ex(t, &home, &v4, NULL, &cl, "ua", 2, 6000, &ch, &o4, &o6));
	CHECK(ch == 1);
	CHECK_STR(atext(&o4), "203.0.113.50");
	CHECK_STR(atext(&o6), "2001:db8::1");
	CHECK_STR(rrs(t, id, "*.home.example.com"),
		  "1 203.0.113.60|15 10 mx.example.com|28 2001:db8::1");
	CHECK_STR(rrs(t, id, "home.example.com"), "1 203.0.113.60|28 2001:db8::1");
	/* a whole-zone replace keeps them too */
	CHECK_OK(store_zone_clear(t, id));
	CHECK_STR(rrs(t, id, "*.home.example.com"), "1 203.0.113.60|28 2001:db8::1");
	CHECK_STR(rrs(t, id, "*.h2.example.com"), "(none)");
	CHECK_OK(store_txn_commit(t));

	/* offline: addresses leave DNS (H and *.H), are kept */
	ser = serial_of(s, "example.com");
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_set_offline(t, &home, 1, 7000, &ch));
	CHECK(ch == 1);
	CHECK_OK(store_host_set_offline(t, &home, 1, 7001, &ch));
	CHECK(ch == 0);
	CHECK_STR(rrs(t, id, "home.example.com"), "(none)");
	CHECK_STR(rrs(t, id, "*.home.example.com"), "(none)");
	o = opts(t, "home.example.com");
	CHECK(o.flags == (STORE_HOST_OFFLINE | STORE_HOST_WILDCARD));
	CHECK_STR(atext(&o.saved4), "203.0.113.60");
	CHECK_STR(atext(&o.saved6), "2001:db8::1");
	CHECK_OK(store_host_addrs(t, &home, &g4, &g6));
	CHECK(g4.family == 0 && g6.family == 0);
	{
		store_host_t h;
		CHECK_OK(store_host_get(t, &home, &h));
		CHECK(h.updated == 7000);
	}
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "example.com") != ser);

	/* updates while offline change the saved addresses only */
	ser = serial_of(s, "example.com");
	CHECK_OK(store_txn_begin(s, 1, &t));
	v4 = A("203.0.113.61");
	CHECK_OK(store_host_update_ex(t, &home, &v4, NULL, &cl, "ua", 2, 8000, &ch, &o4, &o6));
	CHECK(ch == 1);
	CHECK_STR(atext(&o4), "203.0.113.60");
	CHECK_STR(atext(&o6), "2001:db8::1");
	CHECK_STR(rrs(t, id, "home.example.com"), "(none)");
	o = opts(t, "home.example.com");
	CHECK_STR(atext(&o.saved4), "203.0.113.61");
	CHECK_OK(update(t, "home.example.com", "203.0.113.61", NULL, &ch));
	CHECK(ch == 0);
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "example.com") == ser);

	/* online: the saved (updated) addresses come back, on H and *.H */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_set_offline(t, &home, 0, 9000, &ch));
	CHECK(ch == 1);
	CHECK_OK(store_host_set_offline(t, &home, 0, 9000, &ch));
	CHECK(ch == 0);
	CHECK_STR(rrs_ttl(t, id, "home.example.com"), "1/60 203.0.113.61|28/60 2001:db8::1");
	CHECK_STR(rrs_ttl(t, id, "*.home.example.com"), "1/60 203.0.113.61|28/60 2001:db8::1");
	o = opts(t, "home.example.com");
	CHECK(o.flags == STORE_HOST_WILDCARD && o.saved4.family == 0 && o.saved6.family == 0);
	/* wildcard off: *.H loses the addresses, keeps the operator's data */
	CHECK_OK(add_rr(t, id, "*.home.example.com", RR_TXT, "\"keep\""));
	CHECK_OK(store_host_set_wildcard(t, &home, 0, &ch));
	CHECK(ch == 1);
	CHECK_STR(rrs(t, id, "*.home.example.com"), "16 \"keep\"");
	CHECK(opts(t, "home.example.com").flags == 0);
	CHECK_OK(add_rr(t, id, "*.home.example.com", RR_A, "192.0.2.7"));
	CHECK_RC(store_host_set_wildcard(t, &home, 1, &ch), ERR_CLASH);
	CHECK_OK(store_rr_del(t, id, &star, RR_A, NULL, 0));
	/* wildcard set while offline: *.H gets the addresses back online */
	CHECK_OK(store_host_set_offline(t, &home, 1, 9100, &ch));
	CHECK_OK(store_host_set_wildcard(t, &home, 1, &ch));
	CHECK(ch == 1);
	CHECK_STR(rrs(t, id, "*.home.example.com"), "16 \"keep\"");
	CHECK_OK(store_host_set_offline(t, &home, 0, 9200, &ch));
	CHECK_STR(rrs(t, id, "*.home.example.com"), "1 203.0.113.61|16 \"keep\"|28 2001:db8::1");
	/* a host with an NS RRset cannot have a wildcard (it would be below a cut) */
	CHECK_OK(add_rr(t, id, "h2.example.com", RR_NS, "ns.elsewhere.net"));
	CHECK_RC(store_host_set_wildcard(t, &h2, 1, &ch), ERR_CLASH);
	/* deleting the host removes *.H's addresses and its options */
	CHECK_OK(store_host_del(t, &home));
	CHECK_STR(rrs(t, id, "*.home.example.com"), "16 \"keep\"");
	CHECK_STR(rrs(t, id, "home.example.com"), "(none)");
	CHECK_OK(add_host(t, "home.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	o = opts(t, "home.example.com");
	CHECK(o.flags == 0 && o.saved4.family == 0);
	CHECK_OK(add_rr(t, id, "*.home.example.com", RR_A, "192.0.2.8"));
	CHECK_OK(store_txn_commit(t));
	/* read txns see the options too */
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_RC(store_host_set_offline(t, &home, 1, 1, &ch), -EACCES);
	CHECK_RC(store_host_set_wildcard(t, &home, 1, &ch), -EACCES);
	store_txn_abort(t);
	store_close(s);
}

static int follower_cb(const dname_t *f, void *arg)
{
	char *buf = arg, txt[DNAME_MAX_TEXT];
	dname_to_text(f, txt, sizeof(txt));
	strcat(buf, txt);
	strcat(buf, " ");
	return 0;
}

static const char *followers(store_txn_t *t, const char *router)
{
	static char buf[4096];
	dname_t r = N(router);
	buf[0] = 0;
	if (store_follower_walk(t, &r, follower_cb, buf) < 0)
		return "(error)";
	return buf;
}

struct hist_acc {
	char buf[8192];
	unsigned n;
	uint64_t first, last;
};

static int hist_cb(const store_hist_t *e, void *arg)
{
	struct hist_acc *a = arg;
	size_t o = strlen(a->buf);
	if (a->n++ == 0)
		a->first = e->seq;
	a->last = e->seq;
	if (o < sizeof(a->buf) - 200)
		snprintf(a->buf + o, sizeof(a->buf) - o, "%llu:%llu %s %s>%s %s>%s %s %.*s;",
			 (unsigned long long)e->seq, (unsigned long long)e->time,
			 store_hist_result_str(e->result), atext(&e->old4), atext(&e->new4),
			 atext(&e->old6), atext(&e->new6), atext(&e->client), (int)e->agent_len,
			 e->agent ? e->agent : "");
	return 0;
}

static struct hist_acc *history(store_txn_t *t, const char *host, int newest_first)
{
	static struct hist_acc acc;
	dname_t n = N(host);
	memset(&acc, 0, sizeof(acc));
	if (store_history_walk(t, &n, newest_first, hist_cb, &acc) < 0)
		strcpy(acc.buf, "(error)");
	return &acc;
}

static void test_follow(void)
{
	store_t *s;
	store_txn_t *t;
	store_hostopt_t o;
	dname_t router = N("router.example.com"), nas = N("nas.example.com"),
		cam = N("cam.example.com"), far = N("far.example.org"), nohost = N("x.example.com");
	const uint8_t iid1[8] = {0, 0, 0, 0, 0, 0, 0, 0x10};
	const uint8_t iid2[8] = {0x02, 0x11, 0x32, 0xff, 0xfe, 0x01, 0x02, 0x03};
	addr_t p = A("2001:db8:1:2::"), p56 = A("2001:db8:1:2ff::"), cl = A("198.51.100.9"), a;
	uint32_t id, id2, ser;
	unsigned nch;
	int ch;

	/* the address arithmetic */
	CHECK_OK(store_prefix_addr(&p, 64, iid1, &a));
	CHECK_STR(atext(&a), "2001:db8:1:2::10");
	CHECK_OK(store_prefix_addr(&p56, 56, iid2, &a));
	CHECK_STR(atext(&a), "2001:db8:1:200:211:32ff:fe01:203");
	CHECK_OK(store_prefix_addr(&p56, 60, NULL, &a));
	CHECK_STR(atext(&a), "2001:db8:1:2f0::");
	CHECK_OK(store_prefix_addr(&p56, 0, iid1, &a));
	CHECK_STR(atext(&a), "::10");
	CHECK_RC(store_prefix_addr(&p, 65, iid1, &a), -EINVAL);
	a = A("192.0.2.1");
	CHECK_RC(store_prefix_addr(&a, 24, iid1, &a), -EINVAL);

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", &id));
	CHECK_OK(add_zone(t, "example.org", &id2));
	CHECK_OK(add_host(t, "router.example.com", "abcdefghijklmnopqrstuvwxyz0001"));
	CHECK_OK(add_host(t, "nas.example.com", "abcdefghijklmnopqrstuvwxyz0002"));
	CHECK_OK(add_host(t, "cam.example.com", "abcdefghijklmnopqrstuvwxyz0003"));
	CHECK_OK(add_host(t, "far.example.org", "abcdefghijklmnopqrstuvwxyz0004"));
	CHECK_OK(update(t, "router.example.com", "203.0.113.1", "2001:db8:ffff::1", &ch));
	CHECK_OK(update(t, "nas.example.com", "203.0.113.2", NULL, &ch));
	/* refusals */
	CHECK_RC(store_host_set_follow(t, &nas, &router, NULL), -EINVAL);
	CHECK_RC(store_host_set_follow(t, &nas, &nas, iid1), -EINVAL);
	CHECK_RC(store_host_set_follow(t, &nas, &nohost, iid1), ERR_NOROUTER);
	CHECK_RC(store_host_set_follow(t, &nohost, &router, iid1), -ENOENT);
	CHECK_STR(followers(t, "router.example.com"), "");
	/* following before the router has a prefix: no address yet */
	CHECK_OK(store_host_set_follow(t, &nas, &router, iid1));
	CHECK_OK(store_host_set_follow(t, &far, &router, iid2));
	o = opts(t, "nas.example.com");
	CHECK(o.has_iid && memcmp(o.iid, iid1, 8) == 0 && dname_equal(&o.follow, &router));
	CHECK_STR(rrs(t, id, "nas.example.com"), "1 203.0.113.2");
	CHECK_STR(followers(t, "router.example.com"), "nas.example.com. far.example.org. ");
	CHECK_OK(store_txn_commit(t));
	ser = serial_of(s, "example.com");

	/* the router's prefix update moves its followers, not itself */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_RC(store_host_prefix_update(t, &router, &p, 65, &cl, "fritz", 5, 6000, 32, &nch),
		 -EINVAL);
	a = A("192.0.2.0");
	CHECK_RC(store_host_prefix_update(t, &router, &a, 24, &cl, "fritz", 5, 6000, 32, &nch),
		 ERR_BADADDR);
	CHECK_RC(store_host_prefix_update(t, &nohost, &p, 64, &cl, "fritz", 5, 6000, 32, &nch),
		 -ENOENT);
	CHECK_OK(store_host_prefix_update(t, &router, &p, 64, &cl, "fritz", 5, 6000, 32, &nch));
	CHECK(nch == 2);
	CHECK_STR(rrs_ttl(t, id, "nas.example.com"), "1/60 203.0.113.2|28/60 2001:db8:1:2::10");
	CHECK_STR(rrs(t, id2, "far.example.org"), "28 2001:db8:1:2:211:32ff:fe01:203");
	CHECK_STR(rrs(t, id, "router.example.com"), "1 203.0.113.1|28 2001:db8:ffff::1");
	o = opts(t, "router.example.com");
	CHECK(o.prefix_len == 64);
	CHECK_STR(atext(&o.prefix), "2001:db8:1:2::");
	CHECK_STR(history(t, "nas.example.com", 1)->buf,
		  "1:6000 prefix ->- ->2001:db8:1:2::10 198.51.100.9 fritz;");
	{
		store_host_t h;
		CHECK_OK(store_host_get(t, &nas, &h));
		CHECK(h.updated == 6000 && addr_equal(&h.last_client, &cl) && h.agent_len == 5);
	}
	/* same prefix again: nothing changes, no history */
	CHECK_OK(store_host_prefix_update(t, &router, &p, 64, &cl, "fritz", 5, 6100, 32, &nch));
	CHECK(nch == 0);
	CHECK(history(t, "nas.example.com", 1)->n == 1);
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "example.com") != ser);

	/* a new follower gets its address from the stored prefix at once */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_set_follow(t, &cam, &router, iid2));
	CHECK_STR(rrs(t, id, "cam.example.com"), "28 2001:db8:1:2:211:32ff:fe01:203");
	/* an offline follower moves its saved address; a wildcard one *.F */
	CHECK_OK(store_host_set_offline(t, &cam, 1, 6200, &ch));
	CHECK_OK(store_host_set_wildcard(t, &nas, 1, &ch));
	CHECK_OK(store_host_prefix_update(t, &router, &p56, 56, &cl, "fritz", 5, 6300, 0, &nch));
	CHECK(nch == 3);
	CHECK_STR(rrs(t, id, "cam.example.com"), "(none)");
	o = opts(t, "cam.example.com");
	CHECK_STR(atext(&o.saved6), "2001:db8:1:200:211:32ff:fe01:203");
	CHECK_STR(rrs(t, id, "*.nas.example.com"), "1 203.0.113.2|28 2001:db8:1:200::10");
	CHECK_STR(rrs(t, id, "nas.example.com"), "1 203.0.113.2|28 2001:db8:1:200::10");
	/* keep 0: no history written */
	CHECK(history(t, "nas.example.com", 1)->n == 1);
	/* a follower stops following: keeps its address, is left out */
	CHECK_OK(store_host_set_follow(t, &nas, NULL, iid1));
	o = opts(t, "nas.example.com");
	CHECK(o.has_iid && o.follow.len == 0);
	CHECK_STR(followers(t, "router.example.com"), "cam.example.com. far.example.org. ");
	CHECK_OK(store_host_prefix_update(t, &router, &p, 64, &cl, "fritz", 5, 6400, 32, &nch));
	CHECK(nch == 2);
	CHECK_STR(rrs(t, id, "nas.example.com"), "1 203.0.113.2|28 2001:db8:1:200::10");
	/* clearing everything deletes the options entry */
	CHECK_OK(store_host_set_follow(t, &nas, NULL, NULL));
	CHECK_OK(store_host_set_wildcard(t, &nas, 0, &ch));
	o = opts(t, "nas.example.com");
	CHECK(o.flags == 0 && !o.has_iid);
	/* moving a follower to another router moves its link */
	CHECK_OK(store_host_set_follow(t, &far, &nas, iid2));
	CHECK_STR(followers(t, "router.example.com"), "cam.example.com. ");
	CHECK_STR(followers(t, "nas.example.com"), "far.example.org. ");
	CHECK_OK(store_host_set_follow(t, &far, &router, iid2));
	CHECK_STR(followers(t, "nas.example.com"), "");
	CHECK_OK(store_txn_commit(t));

	/* at most STORE_MAX_FOLLOWERS per router */
	CHECK_OK(store_txn_begin(s, 1, &t));
	for (int i = 0; i < STORE_MAX_FOLLOWERS; i++) {
		char name[64];
		dname_t f;
		snprintf(name, sizeof(name), "f%d.example.com", i);
		f = N(name);
		CHECK_OK(add_host(t, name, "abcdefghijklmnopqrstuvwxyz0005"));
		CHECK_OK(store_host_set_follow(t, &f, &nas, iid1));
	}
	CHECK_RC(store_host_set_follow(t, &far, &nas, iid2), ERR_TOOBIG);
	/* following the same router again is no new follower */
	{
		dname_t f0 = N("f0.example.com");
		CHECK_OK(store_host_set_follow(t, &f0, &nas, iid2));
	}
	CHECK_OK(store_host_prefix_update(t, &nas, &p, 64, &cl, "owrt", 4, 7000, 32, &nch));
	CHECK(nch == STORE_MAX_FOLLOWERS);
	CHECK_STR(rrs(t, id, "f0.example.com"), "28 2001:db8:1:2:211:32ff:fe01:203");
	CHECK_STR(rrs(t, id, "f63.example.com"), "28 2001:db8:1:2::10");
	store_txn_abort(t);

	/* deleting the router: followers keep address and iid, follow none;
	 * deleting a follower: it leaves the router's list */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_del(t, &far));
	CHECK_STR(followers(t, "router.example.com"), "cam.example.com. ");
	CHECK_OK(store_host_del(t, &router));
	CHECK_STR(followers(t, "router.example.com"), "");
	o = opts(t, "cam.example.com");
	CHECK(o.follow.len == 0 && o.has_iid && memcmp(o.iid, iid2, 8) == 0 &&
	      o.flags == STORE_HOST_OFFLINE);
	CHECK_OK(add_host(t, "router.example.com", "abcdefghijklmnopqrstuvwxyz0001"));
	o = opts(t, "router.example.com");
	CHECK(o.prefix.family == 0 && o.flags == 0);
	CHECK_STR(followers(t, "router.example.com"), "");
	CHECK_OK(store_txn_commit(t));
	store_close(s);
}

struct tok_acc {
	char buf[2048];
};

static int tok_cb(const store_token_t *tok, void *arg)
{
	struct tok_acc *a = arg;
	size_t o = strlen(a->buf);
	snprintf(a->buf + o, sizeof(a->buf) - o, "%s/%llu/%llu/%u ", tok->name,
		 (unsigned long long)tok->created, (unsigned long long)tok->expires, tok->ncidr);
	return 0;
}

static const char *tokens(store_txn_t *t, const char *host)
{
	static struct tok_acc acc;
	dname_t n = N(host);
	int rc;
	memset(&acc, 0, sizeof(acc));
	if ((rc = store_token_walk(t, &n, tok_cb, &acc)) < 0)
		return err_str(rc);
	return acc.buf;
}

/* "rc name" of a token check from client at now. */
static const char *tcheck(store_txn_t *t, const char *host, const char *secret,
			  const char *client, uint64_t now)
{
	static char buf[128];
	char name[STORE_TOKEN_NAME_MAX + 1];
	dname_t n = N(host);
	addr_t c = {0};
	int rc;
	if (client)
		c = A(client);
	memset(name, 'x', sizeof(name));
	rc = store_token_check(t, &n, secret, strlen(secret), client ? &c : NULL, now, name);
	snprintf(buf, sizeof(buf), "%s %s",
		 rc == 0 ? "ok" : rc == ERR_BADTOKEN ? "bad" : rc == ERR_TOKENEXPIRED ? "expired"
				: rc == ERR_TOKENSOURCE ? "source" : err_str(rc),
		 name);
	return buf;
}

static addr_cidr_t C(const char *net, unsigned prefix)
{
	addr_cidr_t c;
	c.net = A(net);
	c.prefix = (uint8_t)prefix;
	return c;
}

static void test_tokens(void)
{
	store_t *s;
	store_txn_t *t;
	store_token_t tok;
	dname_t home = N("home.example.com"), nohost = N("x.example.com");
	const char *t0 = "abcdefghijklmnopqrstuvwxyz0123", *t1 = "Zyxwvutsrqponmlkjihgfedcba9876",
		   *t2 = "QWERTYUIOPasdfghjkl1234567890", *t3 = "mnbvcxzLKJHGFDSApoiuytrewq5555";
	uint8_t h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN], h3[TOKEN_HASH_LEN], h0[TOKEN_HASH_LEN];
	addr_cidr_t cidrs[STORE_TOKEN_MAX_CIDRS + 1];
	char long_secret[TOKEN_MAX_LEN + 2];

	token_hash(t0, strlen(t0), h0);
	token_hash(t1, strlen(t1), h1);
	token_hash(t2, strlen(t2), h2);
	token_hash(t3, strlen(t3), h3);
	CHECK_OK(store_token_name_check("ci-runner_2", 11));
	CHECK_OK(store_token_name_check("a", 1));
	CHECK_OK(store_token_name_check("abcdefghijklmnopqrstuvwxyz012345", 32));
	CHECK_RC(store_token_name_check("abcdefghijklmnopqrstuvwxyz0123456", 33), ERR_TOKENNAME);
	CHECK_RC(store_token_name_check("", 0), ERR_TOKENNAME);
	CHECK_RC(store_token_name_check("Upper", 5), ERR_TOKENNAME);
	CHECK_RC(store_token_name_check("a b", 3), ERR_TOKENNAME);
	CHECK_RC(store_token_name_check("a.b", 3), ERR_TOKENNAME);

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", NULL));
	CHECK_OK(add_host(t, "home.example.com", t0));
	CHECK_OK(add_host(t, "b.home.example.com", t3));
	/* the host's single token is the token "default" */
	CHECK_STR(tokens(t, "home.example.com"), "default/1000/0/0 ");
	CHECK_STR(tcheck(t, "home.example.com", t0, "192.0.2.1", 5000), "ok default");
	CHECK_STR(tcheck(t, "home.example.com", t0, NULL, 5000), "ok default");
	CHECK_STR(tcheck(t, "home.example.com", t1, "192.0.2.1", 5000), "bad ");
	CHECK_STR(tcheck(t, "x.example.com", t0, "192.0.2.1", 5000), "not found ");
	/* a child host's token is not its parent's */
	CHECK_STR(tcheck(t, "home.example.com", t3, "192.0.2.1", 5000), "bad ");
	memset(long_secret, 'a', sizeof(long_secret) - 1);
	long_secret[sizeof(long_secret) - 1] = 0;
	CHECK_STR(tcheck(t, "home.example.com", long_secret, NULL, 5000), "bad ");
	CHECK_OK(store_token_get(t, &home, "default", 7, &tok));
	CHECK(memcmp(tok.hash, h0, TOKEN_HASH_LEN) == 0 && tok.expires == 0 && tok.ncidr == 0);

	/* adding named tokens */
	CHECK_OK(store_token_add(t, &home, "ci", 2, h1, 0, NULL, 0, 4000));
	CHECK_RC(store_token_add(t, &home, "ci", 2, h2, 0, NULL, 0, 4000), -EEXIST);
	CHECK_RC(store_token_add(t, &home, "default", 7, h2, 0, NULL, 0, 4000), -EEXIST);
	CHECK_RC(store_token_add(t, &home, "other", 5, h1, 0, NULL, 0, 4000), -EEXIST);
	CHECK_RC(store_token_add(t, &home, "other", 5, h0, 0, NULL, 0, 4000), -EEXIST);
	CHECK_RC(store_token_add(t, &home, "Bad", 3, h2, 0, NULL, 0, 4000), ERR_TOKENNAME);
	CHECK_RC(store_token_add(t, &nohost, "ci", 2, h2, 0, NULL, 0, 4000), -ENOENT);
	CHECK_RC(store_token_add(t, &home, "past", 4, h2, 4000, NULL, 0, 4000), -EINVAL);
	/* rotation: both the old and the new token work at once */
	CHECK_STR(tcheck(t, "home.example.com", t1, "192.0.2.1", 5000), "ok ci");
	CHECK_STR(tcheck(t, "home.example.com", t0, "192.0.2.1", 5000), "ok default");
	/* expiry */
	CHECK_OK(store_token_add(t, &home, "tmp", 3, h2, 6000, NULL, 0, 4000));
	CHECK_STR(tcheck(t, "home.example.com", t2, NULL, 5999), "ok tmp");
	CHECK_STR(tcheck(t, "home.example.com", t2, NULL, 6000), "expired tmp");
	CHECK_STR(tcheck(t, "home.example.com", t2, NULL, 9000), "expired tmp");
	CHECK_OK(store_token_del(t, &home, "tmp", 3));
	CHECK_RC(store_token_del(t, &home, "tmp", 3), -ENOENT);
	CHECK_STR(tcheck(t, "home.example.com", t2, NULL, 5000), "bad ");

	/* CIDRs: host bits are cleared, v4 and v6, mapped clients count as v4 */
	cidrs[0] = C("192.0.2.77", 24);
	cidrs[1] = C("2001:db8:abcd:ffff::1", 48);
	CHECK_OK(store_token_add(t, &home, "net", 3, h2, 0, cidrs, 2, 4000));
	CHECK_OK(store_token_get(t, &home, "net", 3, &tok));
	CHECK(tok.ncidr == 2 && tok.created == 4000 && tok.expires == 0);
	CHECK_STR(atext(&tok.cidrs[0].net), "192.0.2.0");
	CHECK(tok.cidrs[0].prefix == 24);
	CHECK_STR(atext(&tok.cidrs[1].net), "2001:db8:abcd::");
	CHECK(tok.cidrs[1].prefix == 48);
	CHECK_STR(tcheck(t, "home.example.com", t2, "192.0.2.200", 5000), "ok net");
	CHECK_STR(tcheck(t, "home.example.com", t2, "192.0.2.0", 5000), "ok net");
	CHECK_STR(tcheck(t, "home.example.com", t2, "::ffff:192.0.2.5", 5000), "ok net");
	CHECK_STR(tcheck(t, "home.example.com", t2, "192.0.3.1", 5000), "source net");
	CHECK_STR(tcheck(t, "home.example.com", t2, "2001:db8:abcd:1::1", 5000), "ok net");
	CHECK_STR(tcheck(t, "home.example.com", t2, "2001:db8:abce::1", 5000), "source net");
	CHECK_STR(tcheck(t, "home.example.com", t2, NULL, 5000), "source net");
	CHECK_OK(store_token_del(t, &home, "net", 3));
	/* odd prefixes and the edges of a range */
	cidrs[0] = C("10.0.0.0", 9);
	cidrs[1] = C("2001:db8::", 127);
	CHECK_OK(store_token_add(t, &home, "odd", 3, h2, 8000, cidrs, 2, 4000));
	CHECK_STR(tcheck(t, "home.example.com", t2, "10.127.255.255", 5000), "ok odd");
	CHECK_STR(tcheck(t, "home.example.com", t2, "10.128.0.0", 5000), "source odd");
	CHECK_STR(tcheck(t, "home.example.com", t2, "2001:db8::1", 5000), "ok odd");
	CHECK_STR(tcheck(t, "home.example.com", t2, "2001:db8::2", 5000), "source odd");
	/* expiry is reported before the source */
	CHECK_STR(tcheck(t, "home.example.com", t2, "10.128.0.0", 8000), "expired odd");
	CHECK_OK(store_token_del(t, &home, "odd", 3));
	/* bad CIDRs */
	cidrs[0] = C("192.0.2.0", 33);
	CHECK_RC(store_token_add(t, &home, "net", 3, h2, 0, cidrs, 1, 4000), ERR_BADADDR);
	cidrs[0] = C("2001:db8::", 129);
	CHECK_RC(store_token_add(t, &home, "net", 3, h2, 0, cidrs, 1, 4000), ERR_BADADDR);
	cidrs[0].net.family = 5;
	cidrs[0].prefix = 8;
	CHECK_RC(store_token_add(t, &home, "net", 3, h2, 0, cidrs, 1, 4000), ERR_BADADDR);
	for (int i = 0; i <= STORE_TOKEN_MAX_CIDRS; i++)
		cidrs[i] = C("192.0.2.0", 24);
	CHECK_RC(store_token_add(t, &home, "net", 3, h2, 0, cidrs, STORE_TOKEN_MAX_CIDRS + 1, 4000),
		 ERR_TOOBIG);
	CHECK_OK(store_token_add(t, &home, "net", 3, h2, 0, cidrs, STORE_TOKEN_MAX_CIDRS, 4000));
	CHECK_STR(tcheck(t, "home.example.com", t2, "192.0.2.9", 5000), "ok net");
	CHECK_OK(store_token_del(t, &home, "net", 3));

	/* the cap on named tokens */
	for (int i = 1; i < STORE_TOKEN_MAX; i++) {
		char name[16], secret[64];
		uint8_t hh[TOKEN_HASH_LEN];
		snprintf(name, sizeof(name), "k%02d", i);
		snprintf(secret, sizeof(secret), "secret-number-%02d-abcdefghijk", i);
		token_hash(secret, strlen(secret), hh);
		CHECK_OK(store_token_add(t, &home, name, strlen(name), hh, 0, NULL, 0, 4000 + i));
	}
	CHECK_RC(store_token_add(t, &home, "one-too-many", 12, h2, 0, NULL, 0, 4000), ERR_TOOBIG);
	CHECK_STR(tcheck(t, "home.example.com", "secret-number-15-abcdefghijk", NULL, 5000),
		  "ok k15");
	CHECK_STR(tcheck(t, "home.example.com", t1, NULL, 5000), "ok ci");
	CHECK_STR(tokens(t, "home.example.com"),
		  "default/1000/0/0 ci/4000/0/0 k01/4001/0/0 k02/4002/0/0 k03/4003/0/0 "
		  "k04/4004/0/0 k05/4005/0/0 k06/4006/0/0 k07/4007/0/0 k08/4008/0/0 "
		  "k09/4009/0/0 k10/4010/0/0 k11/4011/0/0 k12/4012/0/0 k13/4013/0/0 "
		  "k14/4014/0/0 k15/4015/0/0 ");
	CHECK_STR(tokens(t, "b.home.example.com"), "default/1000/0/0 ");
	CHECK_OK(store_txn_commit(t));

	/* the check works in a read txn */
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_STR(tcheck(t, "home.example.com", t1, "192.0.2.1", 5000), "ok ci");
	CHECK_RC(store_token_add(t, &home, "ro", 2, h2, 0, NULL, 0, 4000), -EACCES);
	CHECK_RC(store_token_del(t, &home, "ci", 2), -EACCES);
	store_txn_abort(t);

	/* revoking the default token: the old secret stops at once */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_token_del(t, &home, "default", 7));
	CHECK_RC(store_token_del(t, &home, "default", 7), -ENOENT);
	CHECK_RC(store_token_get(t, &home, "default", 7, &tok), -ENOENT);
	CHECK_STR(tcheck(t, "home.example.com", t0, NULL, 5000), "bad ");
	CHECK_STR(tcheck(t, "home.example.com", t1, NULL, 5000), "ok ci");
	CHECK(strncmp(tokens(t, "home.example.com"), "ci/", 3) == 0);
	/* an empty secret matches nothing */
	CHECK_STR(tcheck(t, "home.example.com", "", NULL, 5000), "bad ");
	/* a new default token (host put) works again */
	CHECK_OK(add_host(t, "home.example.com", t0));
	CHECK_STR(tcheck(t, "home.example.com", t0, NULL, 5000), "ok default");
	CHECK_OK(store_token_del(t, &home, "ci", 2));
	CHECK_STR(tcheck(t, "home.example.com", t1, NULL, 5000), "bad ");
	CHECK_RC(store_token_get(t, &home, "ci", 2, &tok), -ENOENT);
	CHECK_RC(store_token_del(t, &home, "BAD", 3), -ENOENT);
	CHECK_OK(store_txn_commit(t));
	store_close(s);
}

static void test_history(void)
{
	store_t *s;
	store_txn_t *t;
	store_hist_t e;
	dname_t a = N("a.example.com"), b = N("b.a.example.com"), nohost = N("x.example.com");
	struct hist_acc *h;

	CHECK_STR(err_str(ERR_BADTOKEN), "token does not match");
	CHECK_STR(err_str(ERR_TOKENEXPIRED), "token has expired");
	CHECK_STR(err_str(ERR_TOKENSOURCE), "token is not allowed from this address");
	CHECK(strstr(err_str(ERR_TOKENNAME), "1 to 32") != NULL);
	CHECK(strstr(err_str(ERR_BADTXT), "255 printable") != NULL);
	CHECK_STR(err_str(ERR_NOROUTER), "the router host does not exist");
	CHECK_STR(store_hist_result_str(STORE_HIST_GOOD), "good");
	CHECK_STR(store_hist_result_str(STORE_HIST_TXT_CLEAR), "txt-clear");
	CHECK_STR(store_hist_result_str(STORE_HIST_WILDCARD_OFF), "wildcard-off");
	CHECK_STR(store_hist_result_str(0), "unknown");
	CHECK_STR(store_hist_result_str(STORE_HIST_RESULT_MAX + 1), "unknown");

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", NULL));
	CHECK_OK(add_host(t, "a.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	CHECK_OK(add_host(t, "b.a.example.com", "abcdefghijklmnopqrstuvwxyz0124"));
	memset(&e, 0, sizeof(e));
	e.result = STORE_HIST_GOOD;
	CHECK_RC(store_history_add(t, &a, &e, 0), -EINVAL);
	CHECK_RC(store_history_add(t, &a, &e, STORE_HIST_MAX_KEEP + 1), -EINVAL);
	CHECK_RC(store_history_add(t, &nohost, &e, 32), -ENOENT);
	CHECK(history(t, "a.example.com", 1)->n == 0);
	/* one full entry round-trips */
	e.time = 1234;
	e.old4 = A("203.0.113.1");
	e.new4 = A("203.0.113.2");
	e.old6 = A("2001:db8::1");
	e.new6 = A("2001:db8::2");
	e.client = A("2001:db8:c::7");
	e.agent = "ddclient/3.10.0";
	e.agent_len = 15;
	CHECK_OK(store_history_add(t, &a, &e, 32));
	CHECK_STR(history(t, "a.example.com", 0)->buf,
		  "1:1234 good 203.0.113.1>203.0.113.2 2001:db8::1>2001:db8::2 2001:db8:c::7 "
		  "ddclient/3.10.0;");
	/* a child host's history is its own */
	e.result = STORE_HIST_OFFLINE;
	e.agent = NULL;
	e.agent_len = 9; /* no agent: the length is ignored */
	memset(&e.old6, 0, sizeof(e.old6));
	CHECK_OK(store_history_add(t, &b, &e, 32));
	CHECK_STR(history(t, "b.a.example.com", 1)->buf,
		  "1:1234 offline 203.0.113.1>203.0.113.2 ->2001:db8::2 2001:db8:c::7 ;");
	CHECK(history(t, "a.example.com", 1)->n == 1);
	CHECK_OK(store_txn_commit(t));

	/* bound and order: 40 adds keep the newest 32 */
	CHECK_OK(store_txn_begin(s, 1, &t));
	e.agent = "x";
	e.agent_len = 1;
	for (int i = 2; i <= 40; i++) {
		e.time = 1234u + (unsigned)i;
		e.result = STORE_HIST_GOOD;
		CHECK_OK(store_history_add(t, &a, &e, 32));
	}
	h = history(t, "a.example.com", 1);
	CHECK(h->n == 32 && h->first == 40 && h->last == 9);
	h = history(t, "a.example.com", 0);
	CHECK(h->n == 32 && h->first == 9 && h->last == 40);
	CHECK(history(t, "b.a.example.com", 0)->n == 1);
	/* a smaller keep trims at the next add */
	CHECK_OK(store_history_add(t, &a, &e, 5));
	h = history(t, "a.example.com", 1);
	CHECK(h->n == 5 && h->first == 41 && h->last == 37);
	CHECK_OK(store_history_add(t, &a, &e, 1));
	h = history(t, "a.example.com", 1);
	CHECK(h->n == 1 && h->first == 42);
	CHECK_OK(store_txn_commit(t));
	/* read txn: walk works, add does not */
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK(history(t, "a.example.com", 0)->n == 1);
	CHECK_RC(store_history_add(t, &a, &e, 5), -EACCES);
	store_txn_abort(t);
	/* history is not zone data: no serial bump */
	{
		uint32_t ser = serial_of(s, "example.com");
		CHECK_OK(store_txn_begin(s, 1, &t));
		CHECK_OK(store_history_add(t, &a, &e, 5));
		CHECK_OK(store_txn_commit(t));
		CHECK(serial_of(s, "example.com") == ser);
	}
	store_close(s);
}

/* Raw access to a closed store's host value, for the ring's layout. */
static size_t raw_host(const char *host, uint8_t *out, size_t cap)
{
	MDB_env *env;
	MDB_txn *tx;
	MDB_dbi dbi;
	dname_t n = N(host);
	MDB_val k = {n.len, n.key}, v = {0, NULL};
	size_t len = 0;
	CHECK(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 32) == 0 &&
	      mdb_env_open(env, dir, MDB_RDONLY, 0640) == 0);
	CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &tx) == 0);
	CHECK(mdb_dbi_open(tx, "hosts", 0, &dbi) == 0);
	if (mdb_get(tx, dbi, &k, &v) == 0 && v.mv_size <= cap) {
		memcpy(out, v.mv_data, v.mv_size);
		len = v.mv_size;
	}
	mdb_txn_abort(tx);
	mdb_env_close(env);
	return len;
}

static void raw_host_put(const char *host, const uint8_t *val, size_t len)
{
	MDB_env *env;
	MDB_txn *tx;
	MDB_dbi dbi;
	dname_t n = N(host);
	MDB_val k = {n.len, n.key}, v = {len, (void *)val};
	CHECK(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 32) == 0 &&
	      mdb_env_open(env, dir, 0, 0640) == 0);
	CHECK(mdb_txn_begin(env, NULL, 0, &tx) == 0);
	CHECK(mdb_dbi_open(tx, "hosts", 0, &dbi) == 0);
	CHECK(mdb_put(tx, dbi, &k, &v, 0) == 0);
	CHECK(mdb_txn_commit(tx) == 0);
	mdb_env_close(env);
}

/* Ring bytes of host (value size less the fixed part and the agent). */
static size_t ring_bytes(const char *host)
{
	uint8_t v[4096];
	size_t len = raw_host(host, v, sizeof(v));
	CHECK(len >= 74);
	return len >= 74 ? len - 74 - v[73] : 0;
}

static int stop_at_2(const store_hist_t *e, void *arg)
{
	(void)arg;
	return e->seq == 2 ? 42 : 0;
}

/* Adds n IPv4 (and, with dual 1, IPv6; with dual 2, an unchanged IPv6)
 * changes to host: each from the address the previous one set, client =
 * the new address, agent ag. */
static void hist_fill(store_txn_t *t, const char *host, unsigned from, unsigned n, int dual,
		      const char *ag, unsigned keep)
{
	dname_t h = N(host);
	store_hist_t e;
	char a[64];
	for (unsigned i = from; i < from + n; i++) {
		memset(&e, 0, sizeof(e));
		e.time = 1700000000u + i * 86400u + i % 7;
		e.result = STORE_HIST_GOOD;
		snprintf(a, sizeof(a), "100.64.%u.%u", i / 250, i % 250 + 1);
		e.old4 = A(a);
		snprintf(a, sizeof(a), "100.64.%u.%u", (i + 1) / 250, (i + 1) % 250 + 1);
		e.new4 = A(a);
		if (dual == 2) { /* IPv6 unchanged: old6 = new6 */
			e.old6 = A("2001:db8:77::1");
			e.new6 = e.old6;
		} else if (dual) {
			snprintf(a, sizeof(a), "2001:db8:%x:1::%x", i, i + 7);
			e.old6 = A(a);
			snprintf(a, sizeof(a), "2001:db8:%x:1::%x", i + 1, i + 8);
			e.new6 = A(a);
		}
		e.client = e.new4;
		e.agent = ag;
		e.agent_len = (uint8_t)strlen(ag);
		CHECK_OK(store_history_add(t, &h, &e, keep));
	}
}

/* store_host_update_hist: the update and its entry in one write of the host
 * value, the same ring as store_host_update followed by store_history_add. */
static void test_update_hist(void)
{
	store_t *s;
	store_txn_t *t;
	store_hist_t e;
	dname_t a = N("a.example.com"), b = N("b.example.com"), nohost = N("x.example.com");
	addr_t cl = A("198.51.100.7"), v4 = A("203.0.113.1"), v4b = A("203.0.113.2"),
	       v6 = A("2001:db8::1"), o4, o6;
	uint8_t ra[4096], rb[4096];
	size_t la, lb;
	int ch;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", NULL));
	CHECK_OK(add_host(t, "a.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	CHECK_OK(add_host(t, "b.example.com", "abcdefghijklmnopqrstuvwxyz0124"));
	CHECK_RC(store_host_update_hist(t, &a, &v4, NULL, &cl, "ua", 2, 5000,
					STORE_HIST_MAX_KEEP + 1, &ch, NULL, NULL),
		 -EINVAL);
	CHECK(history(t, "a.example.com", 1)->n == 0);
	CHECK_RC(store_host_update_hist(t, &nohost, &v4, NULL, &cl, "ua", 2, 5000, 8, &ch, NULL,
					NULL),
		 -ENOENT);
	/* the first address: old none */
	CHECK_OK(store_host_update_hist(t, &a, &v4, NULL, &cl, "ua", 2, 5000, 8, &ch, &o4, &o6));
	CHECK(ch == 1 && o4.family == 0 && o6.family == 0);
	CHECK_STR(history(t, "a.example.com", 1)->buf,
		  "1:5000 good ->203.0.113.1 ->- 198.51.100.7 ua;");
	/* the same again changes nothing: no entry */
	CHECK_OK(store_host_update_hist(t, &a, &v4, NULL, &cl, "ua", 2, 5001, 8, &ch, &o4, &o6));
	CHECK(ch == 0 && addr_equal(&o4, &v4));
	CHECK(history(t, "a.example.com", 1)->n == 1);
	/* IPv6 only: the IPv4 of the entry is the one it keeps */
	CHECK_OK(store_host_update_hist(t, &a, NULL, &v6, &cl, "ua", 2, 5002, 8, &ch, &o4, &o6));
	CHECK(ch == 1 && addr_equal(&o4, &v4) && o6.family == 0);
	CHECK_STR(history(t, "a.example.com", 1)->buf,
		  "2:5002 good 203.0.113.1>203.0.113.1 ->2001:db8::1 198.51.100.7 ua;"
		  "1:5000 good ->203.0.113.1 ->- 198.51.100.7 ua;");
	/* keep 0: the change without an entry */
	CHECK_OK(store_host_update_hist(t, &a, &v4b, NULL, &cl, "ua", 2, 5003, 0, &ch, NULL, NULL));
	CHECK(ch == 1 && history(t, "a.example.com", 1)->n == 2);
	/* offline: old = the saved addresses, the entry still written */
	CHECK_OK(store_host_set_offline(t, &a, 1, 5004, &ch));
	CHECK_OK(store_host_update_hist(t, &a, &v4, NULL, NULL, NULL, 0, 5005, 8, &ch, &o4, &o6));
	CHECK(ch == 1 && addr_equal(&o4, &v4b) && addr_equal(&o6, &v6));
	CHECK_STR(strtok(history(t, "a.example.com", 1)->buf, ";"),
		  "3:5005 good 203.0.113.2>203.0.113.1 2001:db8::1>2001:db8::1 - ");
	CHECK_OK(store_host_set_offline(t, &a, 0, 5006, &ch));
	/* a bounded ring: 40 updates with keep 5 leave the newest 5 */
	for (unsigned i = 0; i < 40; i++) {
		char txt[32];
		snprintf(txt, sizeof(txt), "10.0.%u.%u", i / 200, i % 200 + 1);
		addr_t x = A(txt);
		CHECK_OK(store_host_update_hist(t, &b, &x, NULL, &cl, "ddclient/3.10.0", 15,
						6000 + i, 5, &ch, NULL, NULL));
		CHECK(ch == 1);
	}
	{
		struct hist_acc *h = history(t, "b.example.com", 1);
		CHECK(h->n == 5 && h->first == 40 && h->last == 36);
	}
	CHECK_OK(store_txn_commit(t));
	/* a read txn cannot write */
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_RC(store_host_update_hist(t, &a, &v4b, NULL, &cl, "ua", 2, 7000, 8, &ch, NULL, NULL),
		 -EACCES);
	store_txn_abort(t);
	store_close(s);

	/* byte for byte the ring of store_host_update + store_history_add,
	 * for the same changes: host a one way, host b the other */
	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", NULL));
	CHECK_OK(add_host(t, "a.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	CHECK_OK(add_host(t, "b.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	for (unsigned i = 0; i < 50; i++) {
		char t4[32], t6[64];
		const char *ag = i % 3 ? "curl/8" : "ddclient/3.10.0";
		snprintf(t4, sizeof(t4), "10.1.%u.%u", i / 200, i % 200 + 1);
		snprintf(t6, sizeof(t6), "2001:db8:%x::%x", i / 4, i + 1);
		addr_t x4 = A(t4), x6 = A(t6);
		const addr_t *p4 = i % 4 == 3 ? NULL : &x4, *p6 = i % 2 ? &x6 : NULL;
		CHECK_OK(store_host_update_hist(t, &a, p4, p6, &cl, ag, strlen(ag), 8000 + i * 61,
						32, &ch, NULL, NULL));
		CHECK(ch == 1);
		CHECK_OK(store_host_update_ex(t, &b, p4, p6, &cl, ag, strlen(ag), 8000 + i * 61,
					      &ch, &o4, &o6));
		CHECK(ch == 1);
		memset(&e, 0, sizeof(e));
		e.time = 8000 + i * 61;
		e.result = STORE_HIST_GOOD;
		e.old4 = o4;
		e.new4 = p4 ? *p4 : o4;
		e.old6 = o6;
		e.new6 = p6 ? *p6 : o6;
		e.client = cl;
		e.agent = ag;
		e.agent_len = (uint8_t)strlen(ag);
		CHECK_OK(store_history_add(t, &b, &e, 32));
	}
	CHECK_OK(store_txn_commit(t));
	store_close(s);
	la = raw_host("a.example.com", ra, sizeof(ra));
	lb = raw_host("b.example.com", rb, sizeof(rb));
	/* the host parts differ (token hash); agent and ring must not */
	CHECK(la > 74 && lb > 74 && la - ra[73] == lb - rb[73] && ra[73] == rb[73]);
	CHECK(memcmp(ra + 74, rb + 74, la - 74) == 0);
}

/* The ring inside the host value: layout, runs, bound, budget, old values. */
static void test_history_ring(void)
{
	static const char *const agents[] = {
		"ddclient/3.10.0",
		"Fritz!Box DDNS/1.0.1",
		"curl/7.88.1",
		"Mozilla/5.0 (compatible; FRITZ!Box 7590 AX; FRITZ!OS 7.57) DynDNS",
	};
	store_t *s;
	store_txn_t *t;
	store_hist_t e;
	store_host_t hv;
	dname_t a = N("a.example.com"), b = N("b.example.com");
	struct hist_acc *h;
	uint8_t val[4096], save[4096];
	size_t len, slen;
	char agent[256];
	int ch;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", NULL));
	CHECK_OK(add_host(t, "a.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	CHECK_OK(add_host(t, "b.example.com", "abcdefghijklmnopqrstuvwxyz0124"));
	CHECK_OK(store_txn_commit(t));
	store_close(s);
	/* a value without a ring (as every value before it) has no history */
	len = raw_host("a.example.com", val, sizeof(val));
	CHECK(len == 74 && val[73] == 0);
	memcpy(save, val, len);
	slen = len;

	CHECK_OK(store_open(&s, dir, 0));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK(history(t, "a.example.com", 1)->n == 0);
	/* refs between neighbours, client forms, agent runs, a clock step back */
	memset(&e, 0, sizeof(e));
	e.time = 1000;
	e.result = STORE_HIST_GOOD;
	e.old4 = A("192.0.2.1");
	e.new4 = A("192.0.2.2");
	e.client = A("192.0.2.2"); /* = new4 */
	e.agent = "ddclient/3.10.0";
	e.agent_len = 15;
	CHECK_OK(store_history_add(t, &a, &e, 8));
	e.time = 900; /* older than the entry before: a clock step */
	e.old4 = A("192.0.2.2");
	e.new4 = A("192.0.2.3");
	e.old6 = A("2001:db8::1");
	e.new6 = A("2001:db8::2");
	e.client = A("2001:db8::2"); /* = new6 */
	CHECK_OK(store_history_add(t, &a, &e, 8));
	e.time = 5000;
	e.result = STORE_HIST_OFFLINE;
	e.old4 = A("192.0.2.3");
	memset(&e.new4, 0, sizeof(e.new4));
	e.old6 = A("2001:db8::2");
	memset(&e.new6, 0, sizeof(e.new6));
	memset(&e.client, 0, sizeof(e.client));
	e.agent = "kyednsctl";
	e.agent_len = 9;
	CHECK_OK(store_history_add(t, &a, &e, 8));
	e.time = 5000;
	e.result = STORE_HIST_PREFIX;
	memset(&e.old4, 0, sizeof(e.old4));
	e.old6 = A("2001:db8::2");
	e.new6 = A("2001:db8:1::2");
	e.client = A("198.51.100.1"); /* neither */
	e.agent = "ddclient/3.10.0"; /* an agent seen before, not by the newer entry */
	e.agent_len = 15;
	CHECK_OK(store_history_add(t, &a, &e, 8));
	e.time = UINT64_MAX - 5;
	e.result = 15;
	memset(&e.old6, 0, sizeof(e.old6));
	memset(&e.new6, 0, sizeof(e.new6));
	e.client = A("198.51.100.1"); /* = the newer's client */
	e.agent = NULL;
	e.agent_len = 0;
	CHECK_OK(store_history_add(t, &a, &e, 8));
	CHECK_STR(history(t, "a.example.com", 0)->buf,
		  "1:1000 good 192.0.2.1>192.0.2.2 ->- 192.0.2.2 ddclient/3.10.0;"
		  "2:900 good 192.0.2.2>192.0.2.3 2001:db8::1>2001:db8::2 2001:db8::2 "
		  "ddclient/3.10.0;"
		  "3:5000 offline 192.0.2.3>- 2001:db8::2>- - kyednsctl;"
		  "4:5000 prefix ->- 2001:db8::2>2001:db8:1::2 198.51.100.1 ddclient/3.10.0;"
		  "5:18446744073709551610 unknown ->- ->- 198.51.100.1 ;");
	h = history(t, "a.example.com", 1);
	CHECK(h->n == 5 && h->first == 5 && h->last == 1);
	CHECK(strncmp(h->buf, "5:18446744073709551610 unknown", 30) == 0);
	/* a non-zero callback value stops the walk and is returned */
	CHECK_RC(store_history_walk(t, &a, 1, stop_at_2, NULL), 42);
	CHECK_RC(store_history_walk(t, &a, 0, stop_at_2, NULL), 42);
	/* bad entries */
	e.result = 16;
	CHECK_RC(store_history_add(t, &a, &e, 8), -EINVAL);
	e.result = STORE_HIST_GOOD;
	e.old4 = A("2001:db8::9");
	CHECK_RC(store_history_add(t, &a, &e, 8), -EINVAL);
	memset(&e.old4, 0, sizeof(e.old4));
	e.new6 = A("192.0.2.9");
	CHECK_RC(store_history_add(t, &a, &e, 8), -EINVAL);
	CHECK(history(t, "a.example.com", 1)->n == 5);
	/* the ring survives every other write of the host value */
	CHECK_OK(update(t, "a.example.com", "203.0.113.9", NULL, &ch));
	CHECK_OK(store_host_get(t, &a, &hv));
	hv.ttl = 300;
	CHECK_OK(store_host_put(t, &a, &hv));
	CHECK_OK(store_host_set_offline(t, &a, 1, 6000, &ch));
	CHECK_OK(store_host_set_offline(t, &a, 0, 6001, &ch));
	CHECK_OK(store_token_del(t, &a, "default", 7));
	h = history(t, "a.example.com", 0);
	CHECK(h->n == 5 && h->first == 1 && h->last == 5);
	CHECK_OK(store_host_get(t, &a, &hv));
	CHECK(hv.ttl == 300 && hv.updated == 6001 && hv.agent_len == 4);
	CHECK_OK(store_txn_commit(t));
	store_close(s);

	/* runs of one agent pay for it once; realistic sizes for 32 entries */
	for (unsigned i = 0; i < sizeof(agents) / sizeof(agents[0]); i++) {
		size_t one, dual, v4only;
		CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
		CHECK_OK(store_txn_begin(s, 1, &t));
		CHECK_OK(add_zone(t, "example.com", NULL));
		CHECK_OK(add_host(t, "a.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
		CHECK_OK(add_host(t, "b.example.com", "abcdefghijklmnopqrstuvwxyz0124"));
		CHECK_OK(add_host(t, "c.example.com", "abcdefghijklmnopqrstuvwxyz0125"));
		hist_fill(t, "c.example.com", 0, 40, 2, agents[i], STORE_HIST_DEFAULT_KEEP);
		h = history(t, "c.example.com", 1);
		CHECK(h->n == STORE_HIST_DEFAULT_KEEP &&
		      strstr(h->buf, "10:1700777602 good 100.64.0.10>100.64.0.11 "
				     "2001:db8:77::1>2001:db8:77::1 100.64.0.11 ") != NULL);
		hist_fill(t, "a.example.com", 0, 40, 0, agents[i], STORE_HIST_DEFAULT_KEEP);
		hist_fill(t, "b.example.com", 0, 40, 1, agents[i], STORE_HIST_DEFAULT_KEEP);
		h = history(t, "a.example.com", 0);
		CHECK(h->n == STORE_HIST_DEFAULT_KEEP && h->first == 9 && h->last == 40);
		h = history(t, "b.example.com", 1);
		CHECK(h->n == STORE_HIST_DEFAULT_KEEP && h->first == 40 && h->last == 9);
		/* refs and runs decode to the full entries */
		snprintf(agent, sizeof(agent),
			 "40:1703369604 good 100.64.0.40>100.64.0.41 "
			 "2001:db8:27:1::2e>2001:db8:28:1::2f 100.64.0.41 %s;"
			 "39:1703283203 good 100.64.0.39>100.64.0.40 "
			 "2001:db8:26:1::2d>2001:db8:27:1::2e 100.64.0.40 %s;",
			 agents[i], agents[i]);
		CHECK(strncmp(h->buf, agent, strlen(agent)) == 0);
		CHECK(strstr(h->buf, "9:1700691201 good 100.64.0.9>100.64.0.10 "
				     "2001:db8:8:1::f>2001:db8:9:1::10 100.64.0.10 ") != NULL);
		CHECK_OK(store_txn_commit(t));
		store_close(s);
		one = ring_bytes("a.example.com");
		dual = ring_bytes("b.example.com");
		v4only = ring_bytes("c.example.com");
		if (getenv("KYEDNS_TEST_VERBOSE"))
			fprintf(stderr,
				"history ring, 32 entries, agent %zu bytes: v4 %zu, dual %zu, "
				"dual with IPv6 unchanged %zu\n",
				strlen(agents[i]), one, dual, v4only);
		/* ~9 bytes per IPv4 entry (an unchanged IPv6 is free), ~26
		 * dual-stack, the agent once */
		CHECK(one <= strlen(agents[i]) + 32 * 10);
		CHECK(v4only <= strlen(agents[i]) + 32 * 10 + 16);
		CHECK(dual <= strlen(agents[i]) + 32 * 27);
	}

	/* the byte budget: long, changing agents keep fewer entries */
	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", NULL));
	CHECK_OK(add_host(t, "a.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	CHECK_OK(add_host(t, "b.example.com", "abcdefghijklmnopqrstuvwxyz0124"));
	for (unsigned i = 1; i <= 70; i++) {
		memset(agent, 'a' + i % 26, 255);
		agent[255] = 0;
		hist_fill(t, "a.example.com", i, 1, 1, agent, STORE_HIST_MAX_KEEP);
		/* the bound: short agents keep STORE_HIST_MAX_KEEP */
		hist_fill(t, "b.example.com", i, 1, 0, "curl/7.88.1", STORE_HIST_MAX_KEEP);
	}
	h = history(t, "a.example.com", 1);
	CHECK(h->n >= 3 && h->n < 10 && h->first == 70 && h->last == 71 - h->n);
	h = history(t, "b.example.com", 1);
	CHECK(h->n == STORE_HIST_MAX_KEEP && h->first == 70 && h->last == 7);
	CHECK_OK(store_txn_commit(t));
	store_close(s);
	CHECK(ring_bytes("a.example.com") <= STORE_HIST_BYTES);
	CHECK(ring_bytes("a.example.com") > STORE_HIST_BYTES - 330);
	CHECK(ring_bytes("b.example.com") <= STORE_HIST_BYTES);

	/* a value that does not decode: ERR_CORRUPT, nothing written */
	memcpy(val, save, slen);
	val[slen] = 0x01; /* tag */
	val[slen + 1] = 3; /* seq 3 */
	val[slen + 2] = 2; /* two entries, but only one follows */
	val[slen + 3] = STORE_HIST_GOOD;
	val[slen + 4] = 0;
	val[slen + 5] = 7;
	raw_host_put("a.example.com", val, slen + 6);
	CHECK_OK(store_open(&s, dir, 0));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_RC(store_history_walk(t, &a, 1, stop_at_2, NULL), ERR_CORRUPT);
	memset(&e, 0, sizeof(e));
	e.result = STORE_HIST_GOOD;
	CHECK_RC(store_history_add(t, &a, &e, 8), ERR_CORRUPT);
	store_txn_abort(t);
	store_close(s);
	val[slen + 2] = 1; /* now it is one entry: seq 3, time 7, no addresses */
	raw_host_put("a.example.com", val, slen + 6);
	CHECK_OK(store_open(&s, dir, 0));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_STR(history(t, "a.example.com", 1)->buf, "3:7 good ->- ->- - ;");
	CHECK_OK(store_history_add(t, &a, &e, 8));
	CHECK_STR(history(t, "a.example.com", 1)->buf, "4:0 good ->- ->- - ;3:7 good ->- ->- - ;");
	/* deleting the host deletes its history; a new host starts empty */
	CHECK_OK(store_host_del(t, &a));
	CHECK(history(t, "a.example.com", 1)->n == 0);
	CHECK_OK(add_host(t, "a.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	CHECK(history(t, "a.example.com", 1)->n == 0);
	CHECK_OK(store_history_add(t, &a, &e, 8));
	CHECK_STR(history(t, "a.example.com", 1)->buf, "1:0 good ->- ->- - ;");
	(void)b;
	CHECK_OK(store_txn_commit(t));
	store_close(s);

	/* every truncation and many byte flips of a real ring: a walk and an
	 * add either work or say ERR_CORRUPT (the sanitizer build checks that
	 * no byte outside the value is read) */
	{
		uint8_t good[4096], bad[4096];
		size_t glen;
		unsigned corrupt = 0;
		CHECK_OK(store_open(&s, dir, 0));
		CHECK_OK(store_txn_begin(s, 1, &t));
		CHECK_OK(add_host(t, "c.example.com", "abcdefghijklmnopqrstuvwxyz0125"));
		hist_fill(t, "c.example.com", 0, 6, 1, "ddclient/3.10.0", 8);
		hist_fill(t, "c.example.com", 6, 3, 2, "curl/7.88.1", 8);
		CHECK_OK(store_txn_commit(t));
		store_close(s);
		size_t roff;
		glen = raw_host("c.example.com", good, sizeof(good));
		roff = 74 + (size_t)good[73];
		CHECK(glen > roff + 40);
		/* i in (roff, glen): truncated at i; then bit flips */
		for (size_t i = roff + 1; i < glen + 60 && i < sizeof(bad); i++) {
			dname_t c = N("c.example.com");
			int rc;
			memcpy(bad, good, glen);
			if (i < glen) {
				raw_host_put("c.example.com", bad, i); /* truncated */
			} else {
				bad[roff + (i * 7) % (glen - roff)] ^= (uint8_t)(1u << (i % 8));
				raw_host_put("c.example.com", bad, glen); /* one bit flipped */
			}
			CHECK_OK(store_open(&s, dir, 0));
			CHECK_OK(store_txn_begin(s, 1, &t));
			rc = store_history_walk(t, &c, (int)(i & 1), hist_cb, &(struct hist_acc){0});
			CHECK(rc == 0 || rc == ERR_CORRUPT);
			corrupt += rc == ERR_CORRUPT;
			memset(&e, 0, sizeof(e));
			e.result = STORE_HIST_GOOD;
			rc = store_history_add(t, &c, &e, 8);
			CHECK(rc == 0 || rc == ERR_CORRUPT);
			store_txn_abort(t);
			store_close(s);
		}
		CHECK(corrupt > 40); /* every truncation at least */
		raw_host_put("c.example.com", good, glen);
	}

	/* a development store's "history" table: a read-only open keeps it, a
	 * writable open drops it */
	{
		MDB_env *env;
		MDB_txn *tx;
		MDB_dbi dbi;
		MDB_val k = {3, "abc"}, v = {1, "x"};
		CHECK(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 32) == 0 &&
		      mdb_env_open(env, dir, 0, 0640) == 0);
		CHECK(mdb_txn_begin(env, NULL, 0, &tx) == 0);
		CHECK(mdb_dbi_open(tx, "history", MDB_CREATE, &dbi) == 0);
		CHECK(mdb_put(tx, dbi, &k, &v, 0) == 0);
		CHECK(mdb_txn_commit(tx) == 0);
		mdb_env_close(env);
	}
	for (int rw = 0; rw < 2; rw++) {
		MDB_env *env;
		MDB_txn *tx;
		MDB_dbi dbi;
		CHECK_OK(store_open(&s, dir, rw ? 0 : STORE_RDONLY));
		CHECK_OK(store_txn_begin(s, 0, &t));
		CHECK_STR(history(t, "a.example.com", 1)->buf, "1:0 good ->- ->- - ;");
		store_txn_abort(t);
		store_close(s);
		CHECK(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 32) == 0 &&
		      mdb_env_open(env, dir, MDB_RDONLY, 0640) == 0);
		CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &tx) == 0);
		CHECK(mdb_dbi_open(tx, "history", 0, &dbi) == (rw ? MDB_NOTFOUND : 0));
		mdb_txn_abort(tx);
		mdb_env_close(env);
	}
}

struct acme_acc {
	char buf[4096];
};

static int acme_cb(const dname_t *host, const store_acme_t *v, void *arg)
{
	struct acme_acc *a = arg;
	char txt[DNAME_MAX_TEXT];
	size_t o = strlen(a->buf);
	dname_to_text(host, txt, sizeof(txt));
	snprintf(a->buf + o, sizeof(a->buf) - o, "%s %.*s %llu;", txt, (int)v->len, v->value,
		 (unsigned long long)v->expires);
	return 0;
}

static const char *acme_values(store_txn_t *t, const char *host)
{
	static struct acme_acc acc;
	dname_t n;
	memset(&acc, 0, sizeof(acc));
	if (host)
		n = N(host);
	if (store_acme_walk(t, host ? &n : NULL, acme_cb, &acc) < 0)
		return "(error)";
	return acc.buf;
}

static int acme_set(store_txn_t *t, const char *host, const char *v, uint64_t exp, uint64_t now,
		    int *ch)
{
	dname_t n = N(host);
	return store_acme_set(t, &n, v, strlen(v), exp, 60, now, ch);
}

static void test_acme(void)
{
	store_t *s;
	store_txn_t *t;
	dname_t home = N("home.example.com"), an, nohost = N("x.example.com");
	const char *v1 = "gfj9Xq_Yf-Dk7zAB0cIkW9eHmSoUtwx1y2z3A4b5C6d";
	const char *v2 = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
	char big[STORE_ACME_VALUE_MAX + 2];
	uint32_t id, ser;
	unsigned removed;
	int ch;

	CHECK_OK(store_acme_check(v1, strlen(v1)));
	CHECK_OK(store_acme_check("a", 1));
	CHECK_OK(store_acme_check("base64+/=~!#", 12));
	memset(big, 'a', sizeof(big));
	CHECK_OK(store_acme_check(big, STORE_ACME_VALUE_MAX));
	CHECK_RC(store_acme_check(big, STORE_ACME_VALUE_MAX + 1), ERR_BADTXT);
	CHECK_RC(store_acme_check("", 0), ERR_BADTXT);
	CHECK_RC(store_acme_check(NULL, 0), ERR_BADTXT);
	CHECK_RC(store_acme_check("a b", 3), ERR_BADTXT);
	CHECK_RC(store_acme_check("a\"b", 3), ERR_BADTXT);
	CHECK_RC(store_acme_check("a\\b", 3), ERR_BADTXT);
	CHECK_RC(store_acme_check("a\x7f", 2), ERR_BADTXT);
	CHECK_RC(store_acme_check("a\nb", 3), ERR_BADTXT);
	CHECK_RC(store_acme_check("\xc3\xa9", 2), ERR_BADTXT);
	CHECK_OK(store_acme_name(&home, &an));
	{
		char txt[DNAME_MAX_TEXT];
		dname_to_text(&an, txt, sizeof(txt));
		CHECK_STR(txt, "_acme-challenge.home.example.com.");
	}

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", &id));
	CHECK_OK(add_host(t, "home.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	CHECK_OK(add_host(t, "h2.example.com", "abcdefghijklmnopqrstuvwxyz0124"));
	CHECK_OK(add_host(t, "h3.example.com", "abcdefghijklmnopqrstuvwxyz0125"));
	CHECK_OK(store_txn_commit(t));
	ser = serial_of(s, "example.com");

	/* two values at once (wildcard + apex certificates) */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(acme_set(t, "home.example.com", v1, 4600, 1000, &ch));
	CHECK(ch == 1);
	CHECK_OK(acme_set(t, "home.example.com", v2, 4600, 1000, &ch));
	CHECK(ch == 1);
	CHECK_STR(rrs_ttl(t, id, "_acme-challenge.home.example.com"),
		  "16/60 \"gfj9Xq_Yf-Dk7zAB0cIkW9eHmSoUtwx1y2z3A4b5C6d\"|"
		  "16/60 \"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\"");
	/* refresh: new expiry, same RRset */
	CHECK_OK(acme_set(t, "home.example.com", v1, 5000, 1100, &ch));
	CHECK(ch == 0);
	CHECK_STR(acme_values(t, "home.example.com"),
		  "home.example.com. LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0 4600;"
		  "home.example.com. gfj9Xq_Yf-Dk7zAB0cIkW9eHmSoUtwx1y2z3A4b5C6d 5000;");
	/* refusals */
	CHECK_RC(acme_set(t, "home.example.com", "bad value", 5000, 1100, &ch), ERR_BADTXT);
	CHECK_RC(acme_set(t, "home.example.com", "v3", 1100, 1100, &ch), -EINVAL);
	CHECK_RC(acme_set(t, "x.example.com", "v3", 5000, 1100, &ch), -ENOENT);
	CHECK_OK(acme_set(t, "home.example.com", "v3", 5000, 1100, &ch));
	CHECK_OK(acme_set(t, "home.example.com", "v4", 5000, 1100, &ch));
	CHECK_RC(acme_set(t, "home.example.com", "v5", 5000, 1100, &ch), ERR_TOOBIG);
	CHECK_OK(acme_set(t, "home.example.com", "v4", 5000, 1100, &ch)); /* refresh at the cap */
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "example.com") != ser);

	/* the operator's TXT at the same name is left alone */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_rr(t, id, "_acme-challenge.home.example.com", RR_TXT, "\"operator\""));
	CHECK_OK(store_acme_del(t, &home, "v3", 2));
	CHECK_RC(store_acme_del(t, &home, "v3", 2), -ENOENT);
	CHECK_RC(store_acme_del(t, &home, "", 0), -ENOENT);
	CHECK_RC(store_acme_del(t, &nohost, NULL, 0), -ENOENT);
	CHECK_STR(rrs(t, id, "_acme-challenge.home.example.com"),
		  "16 \"gfj9Xq_Yf-Dk7zAB0cIkW9eHmSoUtwx1y2z3A4b5C6d\"|"
		  "16 \"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\"|16 \"v4\"|16 \"operator\"");
	/* gc: v2 expired at 4600, the others live */
	CHECK_OK(store_acme_gc(t, 4599, &removed));
	CHECK(removed == 0);
	CHECK_OK(store_acme_gc(t, 4600, &removed));
	CHECK(removed == 1);
	CHECK_STR(rrs(t, id, "_acme-challenge.home.example.com"),
		  "16 \"gfj9Xq_Yf-Dk7zAB0cIkW9eHmSoUtwx1y2z3A4b5C6d\"|16 \"v4\"|16 \"operator\"");
	/* the other host's values are its own, the RRset goes when empty */
	CHECK_OK(acme_set(t, "h2.example.com", v2, 4700, 1000, &ch));
	CHECK_STR(rrs(t, id, "_acme-challenge.h2.example.com"),
		  "16 \"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\"");
	CHECK_STR(acme_values(t, NULL),
		  "h2.example.com. LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0 4700;"
		  "home.example.com. gfj9Xq_Yf-Dk7zAB0cIkW9eHmSoUtwx1y2z3A4b5C6d 5000;"
		  "home.example.com. v4 5000;");
	CHECK_OK(store_acme_gc(t, 4800, &removed));
	CHECK(removed == 1);
	CHECK_STR(rrs(t, id, "_acme-challenge.h2.example.com"), "(none)");
	/* all at once */
	CHECK_OK(store_acme_del(t, &home, NULL, 0));
	CHECK_OK(store_acme_del(t, &home, NULL, 0));
	CHECK_STR(rrs(t, id, "_acme-challenge.home.example.com"), "16 \"operator\"");
	CHECK_STR(acme_values(t, NULL), "");
	/* expired values never block new ones */
	CHECK_OK(acme_set(t, "h2.example.com", "a1", 2000, 1000, &ch));
	CHECK_OK(acme_set(t, "h2.example.com", "a2", 2000, 1000, &ch));
	CHECK_OK(acme_set(t, "h2.example.com", "a3", 2000, 1000, &ch));
	CHECK_OK(acme_set(t, "h2.example.com", "a4", 2000, 1000, &ch));
	CHECK_OK(acme_set(t, "h2.example.com", "a5", 3000, 2000, &ch));
	CHECK(ch == 1);
	CHECK_STR(rrs(t, id, "_acme-challenge.h2.example.com"), "16 \"a5\"");
	/* the longest value is one TXT string of 255 bytes */
	CHECK_OK(store_acme_set(t, &home, big, STORE_ACME_VALUE_MAX, 3000, 60, 2000, &ch));
	CHECK(strlen(rrs(t, id, "_acme-challenge.home.example.com")) ==
	      strlen("16 \"operator\"|16 \"\"") + STORE_ACME_VALUE_MAX);
	CHECK_OK(store_acme_del(t, &home, big, STORE_ACME_VALUE_MAX));
	CHECK_STR(rrs(t, id, "_acme-challenge.home.example.com"), "16 \"operator\"");
	/* an acme-dns style CNAME at the name refuses values */
	CHECK_OK(add_rr(t, id, "_acme-challenge.h3.example.com", RR_CNAME, "x.auth.example.net"));
	CHECK_RC(acme_set(t, "h3.example.com", "c1", 3000, 2000, &ch), ERR_CLASH);
	CHECK_STR(acme_values(t, "h3.example.com"), "");
	CHECK_OK(store_txn_commit(t));

	/* a whole-zone replace drops the TXT; a later set and gc cope */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_clear(t, id));
	CHECK_OK(store_acme_gc(t, 5000, &removed));
	CHECK(removed == 1);
	CHECK_OK(acme_set(t, "h2.example.com", "a6", 9000, 5000, &ch));
	CHECK_STR(rrs(t, id, "_acme-challenge.h2.example.com"), "16 \"a6\"");
	CHECK_OK(store_txn_commit(t));
	/* read txn */
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_STR(acme_values(t, "h2.example.com"), "h2.example.com. a6 9000;");
	CHECK_RC(acme_set(t, "h2.example.com", "a7", 9000, 5000, &ch), -EACCES);
	CHECK_RC(store_acme_gc(t, 9999, &removed), -EACCES);
	store_txn_abort(t);
	store_close(s);
}

/* Deleting a host, or its zone, takes everything that hangs off it. */
static void test_cascade(void)
{
	store_t *s;
	store_txn_t *t;
	store_hist_t e;
	store_hostopt_t o;
	dname_t home = N("home.example.com"), router = N("r.example.org"), fol = N("f.example.com"),
		zone = N("example.com");
	const uint8_t iid[8] = {0, 0, 0, 0, 0, 0, 0, 1};
	uint8_t hh[TOKEN_HASH_LEN];
	addr_t p = A("2001:db8:5::");
	uint32_t id, id2;
	int ch;

	token_hash("another-secret-0123456789", 25, hh);
	memset(&e, 0, sizeof(e));
	e.result = STORE_HIST_GOOD;
	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", &id));
	CHECK_OK(add_zone(t, "example.org", &id2));
	CHECK_OK(add_host(t, "home.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	CHECK_OK(add_host(t, "f.example.com", "abcdefghijklmnopqrstuvwxyz0124"));
	CHECK_OK(add_host(t, "r.example.org", "abcdefghijklmnopqrstuvwxyz0125"));
	CHECK_OK(update(t, "home.example.com", "203.0.113.5", NULL, &ch));
	CHECK_OK(store_host_set_wildcard(t, &home, 1, &ch));
	CHECK_OK(store_host_set_follow(t, &home, &router, iid));
	CHECK_OK(store_host_set_follow(t, &fol, &home, iid));
	CHECK_OK(store_host_prefix_update(t, &home, &p, 48, NULL, NULL, 0, 100, 8, NULL));
	CHECK_OK(store_token_add(t, &home, "ci", 2, hh, 0, NULL, 0, 100));
	CHECK_OK(store_history_add(t, &home, &e, 8));
	CHECK_OK(acme_set(t, "home.example.com", "v1", 5000, 100, &ch));
	CHECK_OK(add_rr(t, id, "_acme-challenge.home.example.com", RR_TXT, "\"op\""));
	CHECK_STR(rrs(t, id, "f.example.com"), "28 2001:db8:5::1");
	CHECK_OK(store_txn_commit(t));

	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_del(t, &home));
	CHECK_STR(rrs(t, id, "home.example.com"), "(none)");
	CHECK_STR(rrs(t, id, "*.home.example.com"), "(none)");
	CHECK_STR(rrs(t, id, "_acme-challenge.home.example.com"), "16 \"op\"");
	CHECK_STR(followers(t, "r.example.org"), "");
	CHECK_STR(followers(t, "home.example.com"), "");
	o = opts(t, "f.example.com");
	CHECK(o.follow.len == 0 && o.has_iid);
	CHECK_STR(rrs(t, id, "f.example.com"), "28 2001:db8:5::1");
	CHECK_STR(acme_values(t, NULL), "");
	/* a new host of that name starts empty */
	CHECK_OK(add_host(t, "home.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	o = opts(t, "home.example.com");
	CHECK(o.flags == 0 && !o.has_iid && o.follow.len == 0 && o.prefix.family == 0);
	CHECK_STR(tokens(t, "home.example.com"), "default/1000/0/0 ");
	CHECK(history(t, "home.example.com", 0)->n == 0);
	/* zone deletion: its hosts' tokens, history, values and links go */
	CHECK_OK(store_host_set_follow(t, &home, &router, iid));
	CHECK_OK(store_host_set_follow(t, &fol, &home, iid));
	CHECK_OK(store_token_add(t, &home, "ci", 2, hh, 0, NULL, 0, 100));
	CHECK_OK(store_history_add(t, &home, &e, 8));
	CHECK_OK(acme_set(t, "home.example.com", "v1", 5000, 100, &ch));
	CHECK_OK(store_host_set_follow(t, &router, &fol, iid)); /* r (other zone) follows f */
	CHECK_OK(store_zone_del(t, &zone));
	CHECK_STR(followers(t, "r.example.org"), "");
	o = opts(t, "r.example.org");
	CHECK(o.follow.len == 0 && o.has_iid);
	CHECK_STR(acme_values(t, NULL), "");
	CHECK_OK(add_zone(t, "example.com", &id));
	CHECK_OK(add_host(t, "home.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	CHECK_STR(tokens(t, "home.example.com"), "default/1000/0/0 ");
	CHECK(history(t, "home.example.com", 0)->n == 0);
	CHECK_STR(followers(t, "home.example.com"), "");
	o = opts(t, "home.example.com");
	CHECK(o.follow.len == 0 && !o.has_iid);
	CHECK_OK(store_txn_commit(t));
	store_close(s);
}

/* A store written before the issue-12 tables: a read-only open sees them
 * empty, a writable one adds them; the single token is "default". */
static void test_old_store(void)
{
	static const char *const names[] = {"hostopts", "followers", "tokens", "acme"};
	store_t *s;
	store_txn_t *t;
	store_hostopt_t o;
	store_hist_t e;
	dname_t home = N("home.example.com");
	uint8_t hh[TOKEN_HASH_LEN];
	addr_t g4, g6;
	uint32_t id;
	int ch;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", &id));
	CHECK_OK(add_host(t, "home.example.com", "abcdefghijklmnopqrstuvwxyz0123"));
	CHECK_OK(update(t, "home.example.com", "203.0.113.5", NULL, &ch));
	CHECK_OK(store_txn_commit(t));
	store_close(s);
	{
		MDB_env *env;
		MDB_txn *tx;
		MDB_dbi dbi;
		CHECK(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 32) == 0 &&
		      mdb_env_open(env, dir, 0, 0640) == 0);
		CHECK(mdb_txn_begin(env, NULL, 0, &tx) == 0);
		for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			CHECK(mdb_dbi_open(tx, names[i], 0, &dbi) == 0);
			CHECK(mdb_drop(tx, dbi, 1) == 0);
		}
		CHECK(mdb_txn_commit(tx) == 0);
		mdb_env_close(env);
	}
	CHECK_OK(store_open(&s, dir, STORE_RDONLY));
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_OK(store_hostopt_get(t, &home, &o));
	CHECK(o.flags == 0 && !o.has_iid);
	CHECK_STR(tcheck(t, "home.example.com", "abcdefghijklmnopqrstuvwxyz0123", NULL, 5000),
		  "ok default");
	CHECK_STR(tcheck(t, "home.example.com", "abcdefghijklmnopqrstuvwxyz0124", NULL, 5000),
		  "bad ");
	CHECK_STR(tokens(t, "home.example.com"), "default/1000/0/0 ");
	CHECK(history(t, "home.example.com", 1)->n == 0);
	CHECK_STR(acme_values(t, NULL), "");
	CHECK_STR(followers(t, "home.example.com"), "");
	CHECK_OK(store_host_addrs(t, &home, &g4, &g6));
	CHECK_STR(atext(&g4), "203.0.113.5");
	CHECK_STR(rrs(t, id, "home.example.com"), "1 203.0.113.5");
	store_txn_abort(t);
	store_close(s);
	/* the files still lack the tables: the read-only open added nothing */
	{
		MDB_env *env;
		MDB_txn *tx;
		MDB_dbi dbi;
		CHECK(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 32) == 0 &&
		      mdb_env_open(env, dir, MDB_RDONLY, 0640) == 0);
		CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &tx) == 0);
		CHECK(mdb_dbi_open(tx, "tokens", 0, &dbi) == MDB_NOTFOUND);
		mdb_txn_abort(tx);
		mdb_env_close(env);
	}
	CHECK_OK(store_open(&s, dir, 0));
	CHECK_OK(store_txn_begin(s, 1, &t));
	token_hash("another-secret-0123456789", 25, hh);
	CHECK_OK(store_token_add(t, &home, "ci", 2, hh, 0, NULL, 0, 100));
	CHECK_STR(tcheck(t, "home.example.com", "another-secret-0123456789", NULL, 5000), "ok ci");
	CHECK_STR(tcheck(t, "home.example.com", "abcdefghijklmnopqrstuvwxyz0123", NULL, 5000),
		  "ok default");
	memset(&e, 0, sizeof(e));
	e.result = STORE_HIST_GOOD;
	CHECK_OK(store_history_add(t, &home, &e, 8));
	CHECK_OK(store_host_set_offline(t, &home, 1, 100, &ch));
	CHECK_OK(acme_set(t, "home.example.com", "v1", 5000, 100, &ch));
	CHECK_OK(store_txn_commit(t));
	store_close(s);
	/* and a read-only open now sees them */
	CHECK_OK(store_open(&s, dir, STORE_RDONLY));
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK(opts(t, "home.example.com").flags == STORE_HOST_OFFLINE);
	CHECK(history(t, "home.example.com", 1)->n == 1);
	CHECK_STR(acme_values(t, NULL), "home.example.com. v1 5000;");
	store_txn_abort(t);
	store_close(s);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 2;
	}
	token_init();
	test_rr_iter_empty();
	test_open();
	test_zones_records();
	test_zone_cut();
	test_canonical_order();
	test_serials();
	test_notified_time();
	test_hosts();
	test_name_set();
	test_delete_last_entries();
	test_big_rrset();
	test_meta();
	test_tsig_autoprimary();
	test_keys();
	test_nsec_order();
	test_search();
	test_encoding();
	test_migration();
	test_migration_cases();
	test_growth();
	test_grow_waits_for_reader();
	test_renew_after_failed_begin();
	test_concurrent_processes();
	test_stale_readers();
	test_offline_wildcard();
	test_follow();
	test_tokens();
	test_history();
	test_history_ring();
	test_update_hist();
	test_acme();
	test_cascade();
	test_old_store();
	rm_rf(tmpl);
	return check_done("store");
}
