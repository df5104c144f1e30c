/*
 * Unit tests of the store: schema, zones, RRsets, hosts, serials, walks,
 * the documented value encoding, and the multi-process cases (concurrent
 * reader and writer processes, map growth under an open reader, stale
 * reader slots).  Each test case gets its own temporary store.
 */
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

static int add_zone(store_txn_t *t, const char *name, uint32_t *id)
{
	store_zone_t z;
	int rc;
	memset(&z, 0, sizeof(z));
	z.name = N(name);
	z.kind = STORE_KIND_MASTER;
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

static int add_rr(store_txn_t *t, const char *name, uint16_t type, const char *content)
{
	dname_t n = N(name);
	return store_rr_add(t, &n, type, 300, content, strlen(content));
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

/* Collects "type content" lines of one owner into buf. */
static const char *rrs(store_txn_t *t, const char *name)
{
	static char buf[4096];
	store_rr_iter_t it;
	store_rr_t rr;
	dname_t n = N(name);
	size_t o = 0;
	buf[0] = '\0';
	if (store_name_get(t, &n, &it) < 0)
		return "(none)";
	while (store_rr_next(&it, &rr) == 1)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u %.*s", o ? "|" : "", rr.type,
				      (int)rr.len, rr.data);
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
	/* a wrong schema version is refused */
	{
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val k = {7, "version"}, v;
		uint8_t nine[4] = {0, 0, 0, 9};
		v.mv_size = 4;
		v.mv_data = nine;
		mdb_env_create(&env);
		mdb_env_set_maxdbs(env, 8);
		CHECK(mdb_env_open(env, d, 0, 0640) == 0);
		mdb_txn_begin(env, NULL, 0, &txn);
		mdb_dbi_open(txn, "meta", 0, &dbi);
		mdb_put(txn, dbi, &k, &v, 0);
		mdb_txn_commit(txn);
		mdb_env_close(env);
		CHECK_RC(store_open(&s, d, 0), ERR_VERSION);
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
	CHECK(id1 >= 1 && id2 == id1 + 1);
	CHECK_OK(add_rr(t, "example.com", RR_NS, "ns1.example.net."));
	CHECK_OK(add_rr(t, "example.com", RR_NS, "ns2.example.net."));
	CHECK_RC(add_rr(t, "example.com", RR_NS, "ns2.example.net."), -EEXIST);
	CHECK_OK(add_rr(t, "www.example.com", RR_A, "192.0.2.1"));
	CHECK_OK(add_rr(t, "www.example.com", RR_AAAA, "2001:db8::1"));
	CHECK_OK(add_rr(t, "a.b.c.example.com", RR_TXT, "\"deep\""));
	CHECK_OK(add_rr(t, "alias.example.com", RR_CNAME, "www.example.com."));
	CHECK_RC(add_rr(t, "alias.example.com", RR_A, "192.0.2.9"), ERR_CLASH);
	CHECK_RC(add_rr(t, "alias.example.com", RR_CNAME, "other.example.com."), ERR_CLASH);
	CHECK_RC(add_rr(t, "www.example.com", RR_CNAME, "x.example.com."), ERR_CLASH);
	CHECK_RC(add_rr(t, "example.com", RR_CNAME, "x.example.net."), ERR_ISZONE);
	CHECK_RC(add_rr(t, "www.example.org", RR_A, "192.0.2.1"), ERR_NOZONE);
	CHECK_RC(add_rr(t, "www.example.com", RR_SOA, "x"), ERR_BADTYPE);
	CHECK_OK(add_rr(t, "*.example.com", RR_A, "192.0.2.77"));
	CHECK_OK(add_rr(t, "host.dyn.example.com", RR_A, "192.0.2.50"));
	CHECK_OK(store_txn_commit(t));

	CHECK_OK(store_txn_begin(s, 0, &t));
	/* RRsets come back sorted by type, content as stored */
	CHECK_STR(rrs(t, "WWW.example.COM."), "1 192.0.2.1|28 2001:db8::1");
	CHECK_STR(rrs(t, "example.com"), "2 ns1.example.net.|2 ns2.example.net.");
	CHECK_STR(rrs(t, "nothing.example.com"), "(none)");
	/* closest enclosing zone */
	n = N("host.dyn.example.com");
	CHECK_OK(store_zone_find(t, &n, &z));
	CHECK(z.id == id2);
	n = N("www.example.com");
	CHECK_OK(store_zone_find(t, &n, &z));
	CHECK(z.id == id1 && z.kind == STORE_KIND_MASTER && z.refresh == 10800);
	CHECK(z.mname_len == 16 && memcmp(z.mname, "ns1.example.net.", 16) == 0);
	n = N("example.org");
	CHECK_RC(store_zone_find(t, &n, &z), ERR_NOZONE);
	CHECK_OK(store_zone_get_by_id(t, id2, &z));
	{
		char txt[DNAME_MAX_TEXT];
		dname_to_text(&z.name, txt, sizeof(txt));
		CHECK_STR(txt, "dyn.example.com.");
	}
	CHECK_RC(store_zone_get_by_id(t, 999, &z), -ENOENT);
	/* empty non-terminals by range scan */
	n = N("b.c.example.com");
	CHECK(store_name_has_below(t, &n) == 1);
	n = N("c.example.com");
	CHECK(store_name_has_below(t, &n) == 1);
	n = N("a.b.c.example.com");
	CHECK(store_name_has_below(t, &n) == 0);
	n = N("www.example.com");
	CHECK(store_name_has_below(t, &n) == 0);
	n = N("ww.example.com");
	CHECK(store_name_has_below(t, &n) == 0);
	store_txn_abort(t);

	/* delete one RR, an RRset, the last RRset of an owner */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_rr(t, "www.example.com", RR_A, "192.0.2.2"));
	n = N("www.example.com");
	CHECK_OK(store_rr_del(t, &n, RR_A, "192.0.2.1", 9));
	CHECK_STR(rrs(t, "www.example.com"), "1 192.0.2.2|28 2001:db8::1");
	CHECK_RC(store_rr_del(t, &n, RR_A, "192.0.2.1", 9), -ENOENT);
	CHECK_OK(store_rr_del(t, &n, RR_AAAA, NULL, 0));
	CHECK_RC(store_rr_del(t, &n, RR_MX, NULL, 0), -ENOENT);
	CHECK_OK(store_rr_del(t, &n, RR_A, NULL, 0));
	CHECK_STR(rrs(t, "www.example.com"), "(none)");
	CHECK_OK(store_txn_commit(t));
	store_close(s);
}

struct walk_acc {
	char buf[4096];
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

static int zone_count_cb(const store_zone_t *z, void *arg)
{
	(void)z;
	(*(int *)arg)++;
	return 0;
}

static void test_walk_and_delete(void)
{
	store_t *s;
	store_txn_t *t;
	struct walk_acc acc;
	dname_t n;
	int zones = 0;
	uint32_t id3;

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", NULL));
	CHECK_OK(add_zone(t, "sub.example.com", NULL));
	CHECK_OK(add_zone(t, "example.comx", NULL));
	CHECK_OK(add_rr(t, "example.com", RR_NS, "ns1.example.com."));
	CHECK_OK(add_rr(t, "ns1.example.com", RR_A, "192.0.2.53"));
	CHECK_OK(add_rr(t, "sub.example.com", RR_NS, "ns1.example.com."));
	CHECK_OK(add_rr(t, "x.sub.example.com", RR_A, "192.0.2.8"));
	CHECK_OK(add_rr(t, "example.comx", RR_NS, "ns1.example.com."));
	CHECK_OK(add_host(t, "h1.example.com", "abcdefghijklmnopqrstuvwxyz"));
	CHECK_OK(add_host(t, "h2.sub.example.com", "abcdefghijklmnopqrstuvwxyz"));
	CHECK_OK(store_txn_commit(t));

	CHECK_OK(store_txn_begin(s, 0, &t));
	memset(&acc, 0, sizeof(acc));
	n = N("example.com");
	CHECK_OK(store_name_walk(t, &n, 1, walk_cb, &acc));
	CHECK_STR(acc.buf, "example.com. 2;ns1.example.com. 1;");
	memset(&acc, 0, sizeof(acc));
	CHECK_OK(store_name_walk(t, &n, 0, walk_cb, &acc));
	CHECK_STR(acc.buf, "example.com. 2;ns1.example.com. 1;sub.example.com. 2;x.sub.example.com. 1;");
	CHECK_OK(store_zone_walk(t, zone_count_cb, &zones));
	CHECK(zones == 3);
	store_txn_abort(t);

	/* zone del: its names and hosts go, the sub-zone's stay */
	CHECK_OK(store_txn_begin(s, 1, &t));
	n = N("example.com");
	CHECK_OK(store_zone_del(t, &n));
	CHECK_RC(store_zone_del(t, &n), -ENOENT);
	CHECK_STR(rrs(t, "ns1.example.com"), "(none)");
	CHECK_STR(rrs(t, "x.sub.example.com"), "1 192.0.2.8");
	{
		store_host_t h;
		dname_t h1 = N("h1.example.com"), h2 = N("h2.sub.example.com");
		CHECK_RC(store_host_get(t, &h1, &h), -ENOENT);
		CHECK_OK(store_host_get(t, &h2, &h));
	}
	/* the last keys of the names table go too (the cursor runs off the end) */
	n = N("example.comx");
	CHECK_OK(store_zone_del(t, &n));
	CHECK_STR(rrs(t, "example.comx"), "(none)");
	CHECK_STR(rrs(t, "x.sub.example.com"), "1 192.0.2.8");
	/* ids are never reused */
	CHECK_OK(add_zone(t, "example.com", &id3));
	CHECK(id3 == 4);
	CHECK_OK(store_txn_commit(t));
	store_close(s);
}

/* Sets name's A RRset to the one address in its own committed txn;
 * returns the "changed" flag, or -1 when a step failed. */
static int set_one_a(store_t *s, const char *name, const char *ip)
{
	store_txn_t *t;
	dname_t n = N(name);
	uint16_t l = (uint16_t)strlen(ip);
	int ch = -1;
	if (store_txn_begin(s, 1, &t) < 0)
		return -1;
	if (store_rrset_set(t, &n, RR_A, 300, &ip, &l, 1, &ch) < 0) {
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
	uint32_t s0, s1, s2, other, now = (uint32_t)time(NULL);

	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", NULL));
	CHECK_OK(add_zone(t, "other.org", NULL));
	CHECK_OK(store_txn_commit(t));
	s0 = serial_of(s, "example.com");
	CHECK(s0 >= now && s0 <= now + 2);

	/* many changes, one commit: one bump */
	CHECK_OK(store_txn_begin(s, 1, &t));
	for (int i = 0; i < 50; i++) {
		char name[64], ip[32];
		snprintf(name, sizeof(name), "h%d.example.com", i);
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		CHECK_OK(add_rr(t, name, RR_A, ip));
	}
	other = serial_of(s, "other.org");
	CHECK_OK(store_txn_commit(t));
	s1 = serial_of(s, "example.com");
	CHECK(s1 == s0 + 1 || (s1 > s0 && s1 <= (uint32_t)time(NULL)));
	CHECK(serial_of(s, "other.org") == other); /* an untouched zone keeps its serial */

	/* a serial ahead of the clock keeps counting (never jumps back) */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	z.serial = now + 100000;
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(store_txn_commit(t));
	CHECK(serial_of(s, "example.com") == now + 100001);
	/* wrap-around: 0xffffffff + 1 is 1 in serial arithmetic only if time
	 * is not "ahead"; with time far behind in RFC 1982 terms we just add 1 */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	z.serial = now + 0x7ffffff0u; /* time is "behind" this */
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(store_txn_commit(t));
	s2 = serial_of(s, "example.com");
	CHECK(s2 == now + 0x7ffffff1u);
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	z.serial = 0xffffffffu;
	CHECK_OK(store_zone_put(t, &z));
	CHECK_OK(store_txn_commit(t));
	/* 0xffffffff + 1 wraps to 0, which we skip; time (small, "ahead" of 0
	 * by less than 2^31) then wins */
	s2 = serial_of(s, "example.com");
	CHECK(s2 >= now && s2 <= now + 2);

	/* setNotified does not bump */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	CHECK_OK(store_zone_set_notified(t, z.id, z.serial));
	CHECK_RC(store_zone_set_notified(t, 4242, 1), -ENOENT);
	CHECK_OK(store_txn_commit(t));
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	CHECK(z.notified_serial == s2 && z.serial == s2);
	store_txn_abort(t);

	/* an identical rrset write is not a change */
	CHECK(set_one_a(s, "h1.example.com", "192.0.2.99") == 1);
	s1 = serial_of(s, "example.com");
	CHECK(set_one_a(s, "h1.example.com", "192.0.2.99") == 0);
	CHECK(serial_of(s, "example.com") == s1);
	store_close(s);
}

static int host_cb(const dname_t *name, const store_host_t *h, void *arg)
{
	(void)name;
	(void)h;
	(*(int *)arg)++;
	return 0;
}

static void test_hosts(void)
{
	store_t *s;
	store_txn_t *t;
	store_host_t h;
	dname_t n = N("home.example.com");
	addr_t v4, v6, cl, g4, g6;
	int ch, count = 0;
	uint32_t ser;
	const char *tok = "abcdefghijklmnopqrstuvwxyz0123";

	addr_parse(&v4, "203.0.113.50", 12);
	addr_parse(&v6, "2001:db8::1", 11);
	addr_parse(&cl, "198.51.100.7", 12);
	CHECK_OK(store_open(&s, fresh_dir(), STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "example.com", NULL));
	CHECK_RC(add_host(t, "example.com", tok), ERR_ISZONE);
	CHECK_RC(add_host(t, "home.example.org", tok), ERR_NOZONE);
	CHECK_OK(add_host(t, "home.example.com", tok));
	CHECK_OK(add_host(t, "other.example.com", tok));
	CHECK_RC(store_host_update(t, &(dname_t){0}, &v4, NULL, &cl, "ua", 2, 5, &ch), -ENOENT);
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
	CHECK_STR(rrs(t, "home.example.com"), "1 203.0.113.50|28 2001:db8::1");
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
	CHECK(h.updated == 7000 && h.created == 1000 && h.ttl == 60);
	CHECK(addr_equal(&h.last_client, &cl));
	CHECK(h.agent_len == 15 && memcmp(h.agent, "ddclient/3.10.0", 15) == 0);
	CHECK(token_verify(h.token_hash, tok, strlen(tok)));
	CHECK_OK(store_host_addrs(t, &n, &g4, &g6));
	CHECK(addr_equal(&g4, &v4) && addr_equal(&g6, &v6));
	CHECK_OK(store_host_walk(t, NULL, host_cb, &count));
	CHECK(count == 2);
	CHECK_OK(store_txn_commit(t));
	/* a host's name cannot take a CNAME, even before it has an address */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_host(t, "noaddr.example.com", tok));
	CHECK_RC(add_rr(t, "noaddr.example.com", RR_CNAME, "home.example.com."), ERR_CLASH);
	store_txn_abort(t);
	/* a CNAME owner cannot become a host with addresses */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_rr(t, "c.example.com", RR_CNAME, "home.example.com."));
	CHECK_OK(add_host(t, "c.example.com", tok));
	{
		dname_t c = N("c.example.com");
		CHECK_RC(store_host_update(t, &c, &v4, NULL, &cl, "", 0, 1, &ch), ERR_CLASH);
	}
	store_txn_abort(t);
	/* host del removes A and AAAA */
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(store_host_del(t, &n));
	CHECK_RC(store_host_del(t, &n), -ENOENT);
	CHECK_STR(rrs(t, "home.example.com"), "(none)");
	CHECK_OK(store_txn_commit(t));
	{
		store_stat_t st;
		CHECK_OK(store_stat(s, &st));
		CHECK(st.zones == 1 && st.hosts == 1 && st.map_used > 0 && st.map_size >= st.map_used);
	}
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

	CHECK_OK(store_open(&s, d, STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	CHECK_OK(add_zone(t, "ex.com", NULL));
	CHECK_OK(add_rr(t, "www.ex.com", RR_A, "1.2.3.4"));
	CHECK_OK(store_txn_commit(t));
	store_close(s);

	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 8);
	CHECK(mdb_env_open(env, d, MDB_RDONLY, 0640) == 0);
	mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	CHECK(mdb_dbi_open(txn, "names", 0, &dbi) == 0);
	k.mv_data = "\3com\2ex\3www";
	k.mv_size = 11;
	CHECK(mdb_get(txn, dbi, &k, &v) == 0);
	/* u16 type | u32 ttl | u16 count | u16 len | content */
	CHECK(v.mv_size == 17 && memcmp(v.mv_data, "\0\1\0\0\1\x2c\0\1\0\7" "1.2.3.4", 17) == 0);
	CHECK(mdb_dbi_open(txn, "zones", 0, &dbi) == 0);
	k.mv_data = "\3com\2ex";
	k.mv_size = 7;
	CHECK(mdb_get(txn, dbi, &k, &v) == 0);
	CHECK(v.mv_size == 37 + 1 + 16 + 1 + 23);
	CHECK(memcmp(v.mv_data, "\0\0\0\1\1", 5) == 0); /* id 1, kind master */
	CHECK(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
	k.mv_data = "version";
	k.mv_size = 7;
	CHECK(mdb_get(txn, dbi, &k, &v) == 0);
	CHECK(v.mv_size == 4 && memcmp(v.mv_data, "\0\0\0\1", 4) == 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
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
			rc = store_rr_add(t, &n, RR_TXT, 60, big, sizeof(big) - 1);
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
		CHECK_OK(store_name_get(r, &n, &it));
	}
	store_txn_abort(r);
	/* and we can write after adopting the grown map */
	CHECK_OK(fill(s, "grow.test", 10, 3));
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
	CHECK_OK(add_rr(t, "a.conc.test", RR_TXT, "\"0\""));
	CHECK_OK(add_rr(t, "b.conc.test", RR_TXT, "\"0\""));
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
			    store_rrset_set(wt, &a, RR_TXT, 60, &c, &l, 1, NULL) < 0 ||
			    store_rrset_set(wt, &b, RR_TXT, 60, &c, &l, 1, NULL) < 0 ||
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
				if (store_name_get(rt, &a, &ia) < 0 || store_name_get(rt, &b, &ib) < 0 ||
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
	CHECK_STR(rrs(t, "a.conc.test"), "16 \"300\"");
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

int main(void)
{
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 2;
	}
	token_init();
	test_open();
	test_zones_records();
	test_walk_and_delete();
	test_serials();
	test_hosts();
	test_encoding();
	test_growth();
	test_grow_waits_for_reader();
	test_concurrent_processes();
	test_stale_readers();
	rm_rf(tmpl);
	return check_done("store");
}
