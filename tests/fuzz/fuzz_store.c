/* The harnesses' template store: see fuzz_store.h. */
#include "fuzz_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "dname.h"
#include "err.h"
#include "token.h"

static char tmpl_dir[256], work_dir[256];

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "fuzz store: %s (%s)\n", what, err_str(rc));
		abort();
	}
}

static void name(dname_t *n, const char *s)
{
	must(dname_parse(n, s, strlen(s)), s);
}

static uint32_t zone(store_txn_t *t, const char *apex, uint8_t kind, uint32_t serial)
{
	store_zone_t z;
	memset(&z, 0, sizeof z);
	name(&z.name, apex);
	z.kind = kind;
	z.serial = serial;
	z.refresh = 10800;
	z.retry = 3600;
	z.expire = 604800;
	z.minimum = 300;
	z.ttl = 3600;
	z.mname = "ns1.example.com.";
	z.mname_len = (uint8_t)strlen(z.mname);
	z.rname = "hostmaster.example.com.";
	z.rname_len = (uint8_t)strlen(z.rname);
	if (kind == STORE_KIND_SLAVE) {
		z.masters = "192.0.2.200 192.0.2.201:5300";
		z.masters_len = (uint16_t)strlen(z.masters);
	}
	must(store_zone_add(t, &z), apex);
	return z.id;
}

static void rr(store_txn_t *t, uint32_t zid, const char *owner, uint16_t type, const char *content)
{
	dname_t n;
	name(&n, owner);
	must(store_rr_add(t, zid, &n, type, 300, content, strlen(content)), content);
}

static void host(store_txn_t *t, const char *hname, const char *v4)
{
	dname_t n;
	store_host_t h;
	addr_t a;
	int changed;
	memset(&h, 0, sizeof h);
	h.ttl = 60;
	token_hash(FUZZ_TOKEN, strlen(FUZZ_TOKEN), h.token_hash);
	name(&n, hname);
	must(store_host_put(t, &n, &h), hname);
	must(addr_parse(&a, v4, strlen(v4)), v4);
	must(store_host_update(t, &n, &a, NULL, &a, "fuzz", 4, 1700000000, &changed), hname);
}

static void cleanup(void)
{
	const char *files[] = {"data.mdb", "lock.mdb"};
	char p[300];
	for (int d = 0; d < 2; d++) {
		const char *dir = d ? work_dir : tmpl_dir;
		if (!dir[0])
			continue;
		for (int i = 0; i < 2; i++) {
			snprintf(p, sizeof p, "%s/%s", dir, files[i]);
			unlink(p);
		}
		rmdir(dir);
	}
}

static void build_template(void)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(tmpl_dir, sizeof tmpl_dir, "%s/kyedns-fuzz-XXXXXX", tmp);
	snprintf(work_dir, sizeof work_dir, "%s/kyedns-fuzz-XXXXXX", tmp);
	if (!mkdtemp(tmpl_dir) || !mkdtemp(work_dir)) {
		perror("fuzz store: mkdtemp");
		abort();
	}
	atexit(cleanup);
	store_t *s;
	store_txn_t *t;
	must(store_open(&s, tmpl_dir, STORE_CREATE), "open template");
	must(store_txn_begin(s, 1, &t), "begin");
	uint32_t ex = zone(t, "example.com.", STORE_KIND_MASTER, 2024010100);
	uint32_t sub = zone(t, "sub.example.com.", STORE_KIND_NATIVE, 7);
	zone(t, "other.test.", STORE_KIND_SLAVE, 9);
	uint32_t w = zone(t, "w.test.", STORE_KIND_NATIVE, 100);
	rr(t, ex, "example.com.", RR_NS, "ns1.example.com");
	rr(t, ex, "example.com.", RR_MX, "10 mail.example.com");
	rr(t, ex, "ns1.example.com.", RR_A, "192.0.2.53");
	rr(t, ex, "www.example.com.", RR_A, "192.0.2.1");
	rr(t, ex, "www.example.com.", RR_AAAA, "2001:db8::1");
	rr(t, ex, "txt.example.com.", RR_TXT, "\"hello \\\"world\\\"\"");
	rr(t, ex, "alias.example.com.", RR_CNAME, "www.example.com");
	rr(t, ex, "*.wild.example.com.", RR_A, "192.0.2.99");
	rr(t, ex, "sub.example.com.", RR_NS, "ns.sub.example.com");
	rr(t, ex, "sub.example.com.", RR_DS,
	   "12345 13 2 3a2c5b2e8f1d4c6a7b8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4");
	rr(t, ex, "ns.sub.example.com.", RR_A, "192.0.2.77");
	rr(t, ex, "old.example.com.", RR_NS, "ns.elsewhere.net");
	rr(t, ex, "deep.x.old.example.com.", RR_A, "192.0.2.67");
	rr(t, sub, "sub.example.com.", RR_NS, "ns.sub.example.com");
	rr(t, sub, "x.sub.example.com.", RR_A, "192.0.2.20");
	rr(t, w, "w.test.", RR_NS, "ns1.example.com");
	rr(t, w, "mx.w.test.", RR_MX, "10 mail.w.test");
	rr(t, w, "keep.w.test.", RR_TXT, "\"kept\"");
	host(t, "dyn.example.com.", "198.51.100.1");
	host(t, "h.w.test.", "198.51.100.2");
	must(store_txn_commit(t), "commit");
	store_close(s);
}

/* Copies src to dst (both files), replacing dst. */
static void copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in < 0 || out < 0) {
		perror("fuzz store: copy");
		abort();
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			perror("fuzz store: write");
			abort();
		}
	close(in);
	close(out);
}

store_t *fuzz_store_fresh(unsigned flags)
{
	if (!tmpl_dir[0])
		build_template();
	char src[300], dst[300];
	snprintf(src, sizeof src, "%s/data.mdb", tmpl_dir);
	snprintf(dst, sizeof dst, "%s/data.mdb", work_dir);
	copy_file(src, dst);
	store_t *s;
	must(store_open(&s, work_dir, flags), "open copy");
	return s;
}
