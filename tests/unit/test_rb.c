/*
 * test_rb - the remote-backend protocol module, driven by data files.
 *
 * Builds a small schema-2 store (example.com. (master) delegating
 * sub.example.com. (native, its own zone) and old.example.com., a dyndns
 * host in it; other.test. (slave); w.test. for the write cases), then
 * replays every tests/unit/rb_cases/ *.case file (sorted by name) through
 * rb_handle(), twice: with the lookup fast path and without.  A case file
 * holds request and expected reply side by side:
 *
 *   # comment
 *   > {"method":"initialize","parameters":{}}     request line (as is)
 *   >hex 7b00ff0a                                  request given as hex bytes
 *   < {"result":true}                              the exact reply
 *   <^ {"result":false,"log":[                     the reply starts with this
 *   <~ "last_check":1                              the reply contains this
 *   @conn 2                                        requests go on connection 2 (0-7)
 *   @close                                         connection closes (aborts its txn)
 *   @idle 61                                       the idle timer runs, 61 s later
 *
 * ${SERIAL}, ${WSERIAL} and ${ID} stand for the current serials of
 * example.com. and w.test. and example.com.'s id.  Every reply is also
 * checked to be one JSON value with "result", ending in exactly one
 * newline.  A deferred request (a write) is run in-line with
 * rb_work_run()/rb_work_done(), as the server would.  write_cases() covers
 * what data files cannot: size limits, a commit the store refuses, a
 * secondary zone's first transfer.
 */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "dname.h"
#include "store.h"

/* The module under test is compiled into this program (the unit-test rule
 * links only libkyedns.a); that also lets the test see its statics. */
#include "../../backend/rb.c"
#include "../../backend/rbwrite.c"
#include "../../backend/rbsec.c"
#include "../../backend/txn.c"

static uint32_t zone_serial, zone_id;
static store_t *the_store;

static void name(dname_t *n, const char *s)
{
	CHECK_OK(dname_parse(n, s, strlen(s)));
}

static uint32_t zone_id_of(store_txn_t *t, const char *apex)
{
	dname_t n;
	store_zone_t z;
	name(&n, apex);
	CHECK_OK(store_zone_get(t, &n, &z));
	return z.id;
}

static void rr(store_txn_t *t, const char *zone, const char *owner, uint16_t type, uint32_t ttl,
	       const char *content)
{
	dname_t n;
	name(&n, owner);
	int rc = store_rr_add(t, zone_id_of(t, zone), &n, type, ttl, content, strlen(content));
	if (rc != 0)
		fprintf(stderr, "seeding %s %u %s: %s\n", owner, type, content, err_str(rc));
	CHECK_OK(rc);
}

static void zone(store_txn_t *t, const char *apex, uint8_t kind, uint32_t serial)
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
		z.account = "acct";
		z.account_len = 4;
	}
	CHECK_OK(store_zone_add(t, &z));
}

static void host(store_txn_t *t, const char *hname, const char *v4)
{
	dname_t n;
	store_host_t h;
	memset(&h, 0, sizeof h);
	h.ttl = 60;
	name(&n, hname);
	CHECK_OK(store_host_put(t, &n, &h));
	addr_t a, client;
	CHECK_OK(addr_parse(&a, v4, strlen(v4)));
	client = a;
	int changed;
	CHECK_OK(store_host_update(t, &n, &a, NULL, &client, "test", 4, 1700000000, &changed));
}

/*
 * example.com. (master) delegates sub.example.com. (native, its own zone)
 * with glue and a DS, and old.example.com. (no child zone here); it holds a
 * dyndns host dyn.example.com.; other.test. is a slave zone; w.test. is the
 * zone the write cases change (and put back).
 */
static store_t *seed(const char *dir)
{
	store_t *s;
	store_txn_t *t;
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	zone(t, "example.com.", STORE_KIND_MASTER, 2024010100);
	zone(t, "sub.example.com.", STORE_KIND_NATIVE, 7);
	zone(t, "other.test.", STORE_KIND_SLAVE, 9);
	zone(t, "w.test.", STORE_KIND_NATIVE, 100);
	rr(t, "example.com.", "example.com.", RR_NS, 3600, "ns1.example.com");
	rr(t, "example.com.", "example.com.", RR_NS, 3600, "ns2.example.com");
	rr(t, "example.com.", "example.com.", RR_MX, 3600, "10 mail.example.com");
	rr(t, "example.com.", "ns1.example.com.", RR_A, 3600, "192.0.2.53");
	rr(t, "example.com.", "www.example.com.", RR_A, 60, "192.0.2.1");
	rr(t, "example.com.", "www.example.com.", RR_AAAA, 60, "2001:db8::1");
	rr(t, "example.com.", "txt.example.com.", RR_TXT, 300, "\"hello \\\"world\\\"\"");
	rr(t, "example.com.", "alias.example.com.", RR_CNAME, 300, "www.example.com");
	rr(t, "example.com.", "*.wild.example.com.", RR_A, 300, "192.0.2.99");
	rr(t, "example.com.", "a.b.c.example.com.", RR_A, 300, "192.0.2.7");
	rr(t, "example.com.", "a\\@b.example.com.", RR_A, 300, "192.0.2.64");
	rr(t, "example.com.", "loc.example.com.", 29, 300,
	   "51 30 12.748 N 0 7 39.611 W 0.00m 1m 10000m 10m");
	rr(t, "example.com.", "sub.example.com.", RR_NS, 3600, "ns.sub.example.com");
	rr(t, "example.com.", "sub.example.com.", RR_DS, 3600,
	   "12345 13 2 3a2c5b2e8f1d4c6a7b8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4");
	rr(t, "example.com.", "ns.sub.example.com.", RR_A, 3600, "192.0.2.77");
	rr(t, "example.com.", "old.example.com.", RR_NS, 3600, "ns.elsewhere.net");
	rr(t, "example.com.", "old.example.com.", RR_A, 3600, "192.0.2.66");
	rr(t, "example.com.", "deep.x.old.example.com.", RR_A, 3600, "192.0.2.67");
	rr(t, "sub.example.com.", "sub.example.com.", RR_NS, 3600, "ns.sub.example.com");
	rr(t, "sub.example.com.", "ns.sub.example.com.", RR_A, 3600, "192.0.2.77");
	rr(t, "sub.example.com.", "x.sub.example.com.", RR_A, 300, "192.0.2.20");
	rr(t, "w.test.", "w.test.", RR_NS, 3600, "ns1.example.com");
	rr(t, "w.test.", "keep.w.test.", RR_TXT, 300, "\"kept\"");
	rr(t, "w.test.", "mx.w.test.", RR_MX, 300, "10 mail.w.test");
	rr(t, "w.test.", "t.deep.w.test.", RR_TXT, 300, "\"deep\"");
	host(t, "dyn.example.com.", "198.51.100.1");
	host(t, "h.w.test.", "198.51.100.2");
	dname_t ns;
	name(&ns, "ns1.example.net.");
	CHECK_OK(store_autoprimary_put(t, "192.0.2.250", &ns, "acct2", 5));
	CHECK_OK(store_txn_commit(t));
	the_store = s;

	store_zone_t z;
	dname_t n;
	name(&n, "example.com.");
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	zone_serial = z.serial;
	zone_id = z.id;
	store_txn_abort(t);
	return s;
}

/* The current serial of zone apex (writes move it). */
static uint32_t serial_of(const char *apex)
{
	store_txn_t *t;
	store_zone_t z;
	dname_t n;
	name(&n, apex);
	CHECK_OK(store_txn_begin(the_store, 0, &t));
	CHECK_OK(store_zone_get(t, &n, &z));
	store_txn_abort(t);
	return z.serial;
}

/* Replaces ${SERIAL} and ${ID}; returns a malloc'd string. */
static char *expand(const char *s)
{
	char num[3][16];
	snprintf(num[0], sizeof num[0], "%u", serial_of("example.com."));
	snprintf(num[1], sizeof num[1], "%u", zone_id);
	snprintf(num[2], sizeof num[2], "%u", serial_of("w.test."));
	size_t cap = strlen(s) * 2 + 64, n = 0;
	char *o = malloc(cap);
	while (*s) {
		const char *rep = NULL;
		size_t skip = 0;
		if (strncmp(s, "${SERIAL}", 9) == 0)
			rep = num[0], skip = 9;
		else if (strncmp(s, "${WSERIAL}", 10) == 0)
			rep = num[2], skip = 10;
		else if (strncmp(s, "${ID}", 5) == 0)
			rep = num[1], skip = 5;
		if (rep) {
			size_t l = strlen(rep);
			memcpy(o + n, rep, l);
			n += l;
			s += skip;
		} else {
			o[n++] = *s++;
		}
	}
	o[n] = '\0';
	return o;
}

/* Checks the shape every reply must have. */
static void check_shape(const char *where, const char *reply, size_t len)
{
	int ok = len >= 2 && reply[len - 1] == '\n' && reply[len - 2] != '\n' &&
		 memchr(reply, '\n', len - 1) == NULL;
	json_error_t e;
	json_t *j = ok ? json_loadb(reply, len, 0, &e) : NULL;
	ok = ok && json_is_object(j) && json_object_get(j, "result") != NULL;
	json_decref(j);
	if (!ok)
		fprintf(stderr, "%s: malformed reply: %.*s\n", where, (int)len, reply);
	CHECK(ok);
}

/* Runs one request; returns the reply (NUL-terminated, in out). */
static rb_conn_t *cur_conn; /* the connection requests go on */

static const char *run(rb_t *rb, rb_buf_t *out, const char *req, size_t len, const char *where)
{
	rb_work_t w;
	out->len = 0;
	int rc = rb_handle(rb, cur_conn, req, len, out, &w);
	if (rc == RB_DEFER) {
		rb_work_run(rb, &w);
		rc = rb_work_done(rb, &w, out);
	}
	CHECK_OK(rc);
	check_shape(where, out->p, out->len);
	/* room for the NUL: the buffer always has spare capacity after a
	 * reply ("\n" was appended with at least that much reserved) */
	char *nul = malloc(out->len + 1);
	memcpy(nul, out->p, out->len);
	nul[out->len] = '\0';
	static char *last;
	free(last);
	last = nul;
	return nul;
}

static int unhex(const char *s, char *out, size_t *n)
{
	size_t k = 0;
	while (*s && *s != '\n') {
		if (*s == ' ') {
			s++;
			continue;
		}
		unsigned v;
		if (sscanf(s, "%2x", &v) != 1)
			return -1;
		out[k++] = (char)v;
		s += 2;
	}
	*n = k;
	return 0;
}

static void run_file(rb_t *rb, const char *path)
{
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	char *line = NULL, *req = NULL;
	size_t cap = 0, reqlen = 0;
	ssize_t n;
	int lineno = 0, cases = 0;
	rb_buf_t out = {0};
	const char *reply = NULL;
	rb_conn_t conns[8];
	memset(conns, 0, sizeof conns);
	cur_conn = &conns[0];
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		char where[1200];
		snprintf(where, sizeof where, "%s:%d", path, lineno);
		if (strncmp(line, "@conn ", 6) == 0) {
			int i = atoi(line + 6);
			CHECK(i >= 0 && i < 8);
			cur_conn = &conns[i & 7];
		} else if (strcmp(line, "@close") == 0) {
			rb_conn_close(rb, cur_conn);
			CHECK(cur_conn->tx == NULL);
		} else if (strncmp(line, "@idle ", 6) == 0) {
			/* as if the server's timer ran N seconds from now */
			rb_conn_tick(rb, cur_conn, rb_now_ns() / 1000000000u + (uint64_t)atoi(line + 6));
		} else if (strncmp(line, "<~ ", 3) == 0) {
			char *want = expand(line + 3);
			int ok = reply && strstr(reply, want) != NULL;
			if (!ok)
				fprintf(stderr, "%s: reply\n  got:  %s  want it to contain: %s\n", where,
					reply ? reply : "", want);
			CHECK(ok);
			cases++;
			free(want);
		} else if (strncmp(line, ">hex ", 5) == 0) {
			free(req);
			req = malloc((size_t)n);
			CHECK(unhex(line + 5, req, &reqlen) == 0);
			reply = run(rb, &out, req, reqlen, where);
		} else if (strncmp(line, "> ", 2) == 0) {
			char *r = expand(line + 2);
			reply = run(rb, &out, r, strlen(r), where);
			free(r);
		} else if (strncmp(line, "<^ ", 3) == 0 || strncmp(line, "< ", 2) == 0) {
			int prefix = line[1] == '^';
			char *want = expand(line + (prefix ? 3 : 2));
			size_t wl = strlen(want);
			/* reply without its newline */
			size_t rl = reply ? strlen(reply) - 1 : 0;
			int ok = reply && (prefix ? rl >= wl && memcmp(reply, want, wl) == 0
						  : rl == wl && memcmp(reply, want, wl) == 0);
			if (!ok)
				fprintf(stderr, "%s: reply\n  got:  %.*s\n  want: %s%s\n", where,
					(int)rl, reply ? reply : "", want, prefix ? "..." : "");
			CHECK(ok);
			cases++;
			free(want);
		}
	}
	CHECK(cases > 0);
	for (int i = 0; i < 8; i++)
		rb_conn_close(rb, &conns[i]);
	CHECK(rb->st->txns_open == 0);
	cur_conn = NULL;
	free(line);
	free(req);
	rb_buf_free(&out);
	fclose(f);
}

static const char *cases_dir(void)
{
	const char *d = getenv("KYEDNS_RB_CASES");
	if (d)
		return d;
	if (access("tests/unit/rb_cases", R_OK) == 0)
		return "tests/unit/rb_cases";
	return "../tests/unit/rb_cases";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int log_lines;
static void count_log(void *arg, const char *fmt, ...)
{
	(void)arg;
	(void)fmt;
	log_lines++;
}

/* Things data files cannot say well: sizes, counters, the log limit. */
/* The lookup lines pdns 4.7 really sends (captured through the system
 * tests) must take the fast path: both paths give identical replies, so
 * only this check notices when the scanner silently falls back. */
static void fast_path_taken(void)
{
	/* pdns serializes with json11: keys sorted, ": " and ", " */
	static const char *const lines[] = {
		"{\"method\": \"lookup\", \"parameters\": {\"local\": \"127.0.0.1\", \"qname\": \"www.example.com.\", \"qtype\": \"ANY\", \"real-remote\": \"127.0.0.1/32\", \"remote\": \"127.0.0.1\", \"zone-id\": 1}}",
		"{\"method\": \"lookup\", \"parameters\": {\"local\": \"0.0.0.0\", \"qname\": \"Example.COM.\", \"qtype\": \"SOA\", \"real-remote\": \"127.0.0.1/32\", \"remote\": \"127.0.0.1\", \"zone-id\": -1}}",
		"{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\",\"qname\":\"*.example.com.\",\"zone-id\":1}}",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		fp_t f;
		CHECK(fp_lookup(lines[i], strlen(lines[i]), &f) == 1);
	}
	/* and what it must leave to jansson */
	{
		fp_t f;
		const char *odd = "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\"}}";
		CHECK(fp_lookup(odd, strlen(odd), &f) == 0);
	}
}

/* Runs a request given as a printf format on connection c. */
static const char *req(rb_t *rb, rb_conn_t *c, rb_buf_t *out, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static const char *req(rb_t *rb, rb_conn_t *c, rb_buf_t *out, const char *fmt, ...)
{
	char *line;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&line, fmt, ap);
	va_end(ap);
	CHECK(n > 0);
	cur_conn = c;
	const char *r = run(rb, out, line, (size_t)n, "req");
	cur_conn = NULL;
	free(line);
	return r;
}

#define IS_TRUE(r) (strncmp((r), "{\"result\":true", 14) == 0)
#define IS_FALSE(r) (strncmp((r), "{\"result\":false", 15) == 0)

/* Writes that cannot be said in case files: sizes, store changes behind a
 * transaction's back, a secondary zone's life. */
/* Writes big TXT records, owners per txn, until the map is full (no
 * growing); returns how many commits went in. */
static int fill_map(store_t *s, uint32_t zid, size_t size, int owners, int *tag)
{
	static char big[60002];
	int commits = 0;
	memset(big, 'f', sizeof big);
	big[0] = '"';
	big[size - 1] = '"';
	for (;;) {
		store_txn_t *t;
		int rc = store_txn_begin(s, 1, &t);
		CHECK_OK(rc);
		if (rc < 0)
			return commits;
		for (int i = 0; i < owners && rc == 0; i++) {
			char o[64];
			dname_t n;
			snprintf(o, sizeof o, "f%d.full.test", (*tag)++);
			name(&n, o);
			rc = store_rr_add(t, zid, &n, RR_TXT, 60, big, size);
		}
		if (rc == 0)
			rc = store_txn_commit(t);
		else
			store_txn_abort(t);
		if (rc == ERR_MAPFULL)
			return commits;
		CHECK_OK(rc);
		if (rc < 0)
			return commits;
		commits++;
	}
}

/*
 * Issue 10 item 17: setNotified on a full map grows the map and redoes the
 * write (store.h's rule for every writer), instead of failing until some
 * other writer grows it.  The map is filled while another process holds a
 * read snapshot (so nothing the fill frees can be reused), until a direct
 * setNotified commit gets ERR_MAPFULL.
 */
static void notified_on_full_map(const char *dir)
{
	char db[512];
	snprintf(db, sizeof db, "%s/full", dir);
	store_t *s;
	store_txn_t *t;
	CHECK_OK(store_open(&s, db, STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	zone(t, "full.test.", STORE_KIND_MASTER, 2026010101);
	uint32_t zid = zone_id_of(t, "full.test.");
	CHECK_OK(store_txn_commit(t));

	int to_child[2], to_parent[2];
	if (pipe(to_child) != 0 || pipe(to_parent) != 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		store_t *c;
		store_txn_t *r;
		char b = 0;
		close(to_child[1]);
		close(to_parent[0]);
		if (store_open(&c, db, 0) < 0 || store_txn_begin(c, 0, &r) < 0)
			_exit(1);
		if (write(to_parent[1], &b, 1) != 1)
			_exit(1);
		if (read(to_child[0], &b, 1) < 0) /* until the parent closes it */
			_exit(1);
		store_txn_abort(r);
		store_close(c);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	char b;
	CHECK(read(to_parent[0], &b, 1) == 1);

	int tag = 0;
	fill_map(s, zid, 60000, 64, &tag);
	fill_map(s, zid, 60000, 1, &tag);
	fill_map(s, zid, 2000, 1, &tag);
	fill_map(s, zid, 100, 1, &tag);
	/* a direct setNotified commit now finds the map full */
	int rc = 0;
	for (int i = 0; i < 100000 && rc == 0; i++) {
		CHECK_OK(store_txn_begin(s, 1, &t));
		rc = store_zone_set_notified(t, zid, (uint32_t)i + 1);
		if (rc == 0)
			rc = store_txn_commit(t);
		else
			store_txn_abort(t);
	}
	CHECK_RC(rc, ERR_MAPFULL);
	store_stat_t before, after;
	CHECK_OK(store_stat(s, &before));

	rb_t rb;
	rb_init(&rb, s);
	rb_buf_t out = {0};
	rb_conn_t c = {0};
	const char *r = req(&rb, &c, &out, "{\"method\":\"setNotified\",\"parameters\":"
			    "{\"id\":%u,\"serial\":2026010199}}", zid);
	CHECK_STR(r, "{\"result\":true}\n");
	CHECK_OK(store_stat(s, &after));
	CHECK(after.map_size > before.map_size);
	store_zone_t z;
	CHECK_OK(store_txn_begin(s, 0, &t));
	CHECK_OK(store_zone_get_by_id(t, zid, &z));
	CHECK(z.notified_serial == 2026010199);
	store_txn_abort(t);
	rb_conn_close(&rb, &c);
	rb_buf_free(&out);
	rb_free(&rb);

	close(to_child[1]);
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(to_parent[0]);
	store_close(s);
}

static void write_cases(rb_t *rb)
{
	rb_buf_t out = {0};
	rb_conn_t c = {0};
	const char *r;

	/* An RRset over the store's value limit is refused when it arrives. */
	{
		size_t cnt = 9000, cap = cnt * 200 + 512, o = 0;
		char *big = malloc(cap);
		o += (size_t)snprintf(big + o, cap - o, "{\"method\":\"replaceRRSet\",\"parameters\":"
				      "{\"domain_id\":4,\"qname\":\"big.w.test.\",\"qtype\":\"TXT\","
				      "\"trxid\":7,\"rrset\":[");
		for (size_t i = 0; i < cnt; i++)
			o += (size_t)snprintf(big + o, cap - o, "%s{\"content\":\"\\\"%0120zu\\\"\","
					      "\"qname\":\"big.w.test.\",\"qtype\":\"TXT\","
					      "\"ttl\":1}", i ? "," : "", i);
		o += (size_t)snprintf(big + o, cap - o, "]}}");
		r = req(rb, &c, &out, "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":"
			"\"w.test.\",\"domain_id\":-1,\"trxid\":7}}");
		CHECK(IS_TRUE(r));
		cur_conn = &c;
		r = run(rb, &out, big, o, "big rrset");
		cur_conn = NULL;
		CHECK(IS_FALSE(r) && strstr(r, "refused big.w.test. TXT") != NULL);
		free(big);
		r = req(rb, &c, &out, "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":7}}");
		CHECK(IS_FALSE(r) && strstr(r, "failed earlier") != NULL);
		CHECK(c.tx == NULL);
		r = req(rb, &c, &out, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
			"\"qname\":\"big.w.test.\"}}");
		CHECK_STR(r, "{\"result\":[]}\n");
	}

	/* A transaction over its byte cap fails, and so does its commit: the
	 * store never sees half of it. */
	{
		size_t saved = rb->txn_max_bytes;
		rb->txn_max_bytes = 8192;
		r = req(rb, &c, &out, "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":"
			"\"w.test.\",\"domain_id\":-1,\"trxid\":8}}");
		CHECK(IS_TRUE(r));
		int fails = 0;
		for (int i = 0; i < 200 && !fails; i++) {
			r = req(rb, &c, &out, "{\"method\":\"feedRecord\",\"parameters\":{\"rr\":"
				"{\"content\":\"\\\"%0100d\\\"\",\"qname\":\"n%d.w.test.\","
				"\"qtype\":\"TXT\",\"ttl\":1},\"trxid\":8}}", i, i);
			fails = IS_FALSE(r);
		}
		CHECK(fails && strstr(r, "size limit") != NULL);
		r = req(rb, &c, &out, "{\"method\":\"feedRecord\",\"parameters\":{\"rr\":"
			"{\"content\":\"\\\"x\\\"\",\"qname\":\"n0.w.test.\",\"qtype\":\"TXT\","
			"\"ttl\":1},\"trxid\":8}}");
		CHECK(IS_FALSE(r) && strstr(r, "failed earlier") != NULL);
		r = req(rb, &c, &out, "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":8}}");
		CHECK(IS_FALSE(r));
		CHECK(c.tx == NULL);
		r = req(rb, &c, &out, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
			"\"qname\":\"n0.w.test.\"}}");
		CHECK_STR(r, "{\"result\":[]}\n");
		rb->txn_max_bytes = saved;
	}

	/* A commit the store refuses (a dyndns host appeared where the
	 * transaction put a CNAME) writes nothing at all. */
	{
		r = req(rb, &c, &out, "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":"
			"\"w.test.\",\"domain_id\":-1,\"trxid\":9}}");
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"feedRecord\",\"parameters\":{\"rr\":"
			"{\"content\":\"192.0.2.5\",\"qname\":\"a1.w.test.\",\"qtype\":\"A\","
			"\"ttl\":1},\"trxid\":9}}");
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"feedRecord\",\"parameters\":{\"rr\":"
			"{\"content\":\"keep.w.test\",\"qname\":\"z9.w.test.\",\"qtype\":\"CNAME\","
			"\"ttl\":1},\"trxid\":9}}");
		CHECK(IS_TRUE(r));
		store_txn_t *t;
		CHECK_OK(store_txn_begin(the_store, 1, &t));
		host(t, "z9.w.test.", "198.51.100.9");
		CHECK_OK(store_txn_commit(t));
		r = req(rb, &c, &out, "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":9}}");
		CHECK(IS_FALSE(r) && strstr(r, "z9.w.test.") != NULL);
		r = req(rb, &c, &out, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
			"\"qname\":\"a1.w.test.\"}}");
		CHECK_STR(r, "{\"result\":[]}\n");
		dname_t n;
		name(&n, "z9.w.test.");
		CHECK_OK(store_txn_begin(the_store, 1, &t));
		CHECK_OK(store_host_del(t, &n));
		CHECK_OK(store_txn_commit(t));
	}

	/* A secondary zone: autoprimary accept, create, first transfer (the
	 * zone shows no SOA until then), refresh bookkeeping. */
	{
		r = req(rb, &c, &out, "{\"method\":\"createSlaveDomain\",\"parameters\":{\"ip\":"
			"\"192.0.2.250\",\"domain\":\"auto.test.\",\"nameserver\":\"ns1.example.net\","
			"\"account\":\"acct2\"}}");
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"getDomainInfo\",\"parameters\":{\"name\":"
			"\"auto.test.\"}}");
		CHECK(strstr(r, "\"zone\":\"auto.test.\",\"masters\":[\"192.0.2.250\"]") != NULL);
		CHECK(strstr(r, "\"kind\":\"slave\",\"account\":\"acct2\"}") != NULL);
		const char *p = strstr(r, "\"id\":");
		unsigned id = p ? (unsigned)atoi(p + 5) : 0;
		CHECK(id >= 5);
		r = req(rb, &c, &out, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"SOA\","
			"\"qname\":\"auto.test.\",\"zone-id\":-1}}");
		CHECK_STR(r, "{\"result\":[]}\n");
		r = req(rb, &c, &out, "{\"method\":\"getUnfreshSlaveInfos\",\"parameters\":{}}");
		CHECK(strstr(r, "\"zone\":\"auto.test.\"") != NULL);
		r = req(rb, &c, &out, "{\"method\":\"createSlaveDomain\",\"parameters\":{\"ip\":"
			"\"192.0.2.250\",\"domain\":\"auto.test.\"}}");
		CHECK(IS_FALSE(r));
		/* AXFR-in: replace the whole zone; the SOA is kept verbatim */
		r = req(rb, &c, &out, "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":"
			"\"auto.test.\",\"domain_id\":%u,\"trxid\":10}}", id);
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"feedRecord\",\"parameters\":{\"rr\":{\"auth\":"
			"true,\"content\":\"ns1.auto.test hostmaster.auto.test 5 3600 600 86400 300\","
			"\"ordername\":null,\"qclass\":1,\"qname\":\"auto.test.\",\"qtype\":\"SOA\","
			"\"ttl\":300},\"trxid\":10}}");
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"feedRecord\",\"parameters\":{\"rr\":{\"content\":"
			"\"ns1.auto.test\",\"qname\":\"auto.test.\",\"qtype\":\"NS\",\"ttl\":300},"
			"\"trxid\":10}}");
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"feedRecord\",\"parameters\":{\"rr\":{\"content\":"
			"\"192.0.2.33\",\"qname\":\"a.b.c.auto.test.\",\"qtype\":\"A\",\"ttl\":300},"
			"\"trxid\":10}}");
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"feedEnts\",\"parameters\":{\"domain_id\":%u,"
			"\"nonterm\":[{\"auth\":true,\"nonterm\":\"c.auto.test.\"},{\"auth\":true,"
			"\"nonterm\":\"b.c.auto.test.\"}],\"trxid\":10}}", id);
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":10}}");
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"setFresh\",\"parameters\":{\"id\":%u}}", id);
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"SOA\","
			"\"qname\":\"auto.test.\",\"zone-id\":-1}}");
		char want[512];
		snprintf(want, sizeof want, "{\"result\":[{\"qtype\":\"SOA\",\"qname\":\"auto.test.\","
			 "\"content\":\"ns1.auto.test hostmaster.auto.test 5 3600 600 86400 300\","
			 "\"ttl\":300,\"domain_id\":%u}]}\n", id);
		CHECK_STR(r, want);
		r = req(rb, &c, &out, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
			"\"qname\":\"b.c.auto.test.\",\"zone-id\":%u}}", id);
		CHECK(strstr(r, "\"qtype\":\"ENT\"") != NULL);
		r = req(rb, &c, &out, "{\"method\":\"getUnfreshSlaveInfos\",\"parameters\":{}}");
		CHECK(strstr(r, "auto.test.") == NULL);
		r = req(rb, &c, &out, "{\"method\":\"getDomainInfo\",\"parameters\":{\"name\":"
			"\"auto.test.\"}}");
		CHECK(strstr(r, "\"serial\":5,") != NULL);
	}
	/* A commit bigger than the map: grown and redone on the worker, all
	 * of it lands. */
	{
		store_txn_t *t;
		CHECK_OK(store_txn_begin(the_store, 1, &t));
		zone(t, "big.test.", STORE_KIND_NATIVE, 1);
		uint32_t id = zone_id_of(t, "big.test.");
		CHECK_OK(store_txn_commit(t));
		store_stat_t st0, st1;
		CHECK_OK(store_stat(the_store, &st0));
		r = req(rb, &c, &out, "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":"
			"\"big.test.\",\"domain_id\":%u,\"trxid\":11}}", id);
		CHECK(IS_TRUE(r));
		char pad[1001];
		memset(pad, 'x', 1000);
		pad[1000] = '\0';
		int ok = 1;
		unsigned n = (unsigned)(st0.map_size / 1000) + 2000;
		for (unsigned i = 0; i < n && ok; i++) {
			r = req(rb, &c, &out, "{\"method\":\"feedRecord\",\"parameters\":{\"rr\":"
				"{\"content\":\"\\\"%s\\\"\",\"qname\":\"n%u.big.test.\","
				"\"qtype\":\"TXT\",\"ttl\":1},\"trxid\":11}}", pad, i);
			ok = IS_TRUE(r);
		}
		CHECK(ok);
		r = req(rb, &c, &out, "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":11}}");
		CHECK(IS_TRUE(r));
		CHECK_OK(store_stat(the_store, &st1));
		CHECK(st1.map_size > st0.map_size);
		r = req(rb, &c, &out, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"TXT\","
			"\"qname\":\"n%u.big.test.\",\"zone-id\":-1}}", n - 1);
		/* one 1000-byte string is stored as pdns prints it: 255-byte pieces */
		pad[255] = '\0';
		CHECK(strstr(r, pad) != NULL && strstr(r, "\\\" \\\"") != NULL);
	}
	/* A write made behind an open transaction's back to another RRset of
	 * an owner the transaction touches survives its commit; the RRset
	 * the transaction wrote is the transaction's. */
	{
		store_txn_t *t;
		CHECK_OK(store_txn_begin(the_store, 1, &t));
		zone(t, "merge.test.", STORE_KIND_NATIVE, 1);
		uint32_t id = zone_id_of(t, "merge.test.");
		dname_t n;
		name(&n, "www.merge.test.");
		const char *txt = "\"old\"";
		uint16_t tlen = (uint16_t)strlen(txt);
		CHECK_OK(store_rrset_set(t, id, &n, RR_TXT, 300, &txt, &tlen, 1, NULL));
		CHECK_OK(store_txn_commit(t));
		r = req(rb, &c, &out, "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":"
			"\"merge.test.\",\"domain_id\":-1,\"trxid\":12}}");
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"feedRecord\",\"parameters\":{\"rr\":"
			"{\"content\":\"192.0.2.1\",\"qname\":\"www.merge.test.\",\"qtype\":\"A\","
			"\"ttl\":300},\"trxid\":12}}");
		CHECK(IS_TRUE(r));
		/* kyednsctl (any other writer) adds an MX and changes the TXT */
		const char *mx = "10 mx.merge.test", *txt2 = "\"new\"";
		uint16_t mlen = (uint16_t)strlen(mx), t2len = (uint16_t)strlen(txt2);
		CHECK_OK(store_txn_begin(the_store, 1, &t));
		CHECK_OK(store_rrset_set(t, id, &n, RR_MX, 300, &mx, &mlen, 1, NULL));
		CHECK_OK(store_rrset_set(t, id, &n, RR_TXT, 300, &txt2, &t2len, 1, NULL));
		CHECK_OK(store_txn_commit(t));
		r = req(rb, &c, &out, "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":12}}");
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
			"\"qname\":\"www.merge.test.\",\"zone-id\":%u}}", id);
		CHECK(strstr(r, "192.0.2.1") != NULL);
		CHECK(strstr(r, "10 mx.merge.test") != NULL);
		CHECK(strstr(r, "new") != NULL && strstr(r, "old") == NULL);
		/* an RFC 2136 delete of the whole name deletes what is stored at
		 * commit, the MX added meanwhile too */
		r = req(rb, &c, &out, "{\"method\":\"startTransaction\",\"parameters\":{\"domain\":"
			"\"merge.test.\",\"domain_id\":-1,\"trxid\":13}}");
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"replaceRRSet\",\"parameters\":{\"domain_id\":%u,"
			"\"qname\":\"www.merge.test.\",\"qtype\":\"ANY\",\"rrset\":[],\"trxid\":13}}",
			id);
		CHECK(IS_TRUE(r));
		const char *mx2 = "20 mx2.merge.test";
		uint16_t m2len = (uint16_t)strlen(mx2);
		CHECK_OK(store_txn_begin(the_store, 1, &t));
		CHECK_OK(store_rrset_set(t, id, &n, RR_MX, 300, &mx2, &m2len, 1, NULL));
		CHECK_OK(store_txn_commit(t));
		r = req(rb, &c, &out, "{\"method\":\"commitTransaction\",\"parameters\":{\"trxid\":13}}");
		CHECK(IS_TRUE(r));
		r = req(rb, &c, &out, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"ANY\","
			"\"qname\":\"www.merge.test.\",\"zone-id\":%u}}", id);
		CHECK(strstr(r, "mx2") == NULL && strstr(r, "192.0.2.1") == NULL);
	}
	rb_conn_close(rb, &c);
	CHECK(rb->st->txns_open == 0);
	rb_buf_free(&out);
}

static void coded_cases(rb_t *rb)
{
	rb_buf_t out = {0};
	const char *r;

	/* A flood of garbage logs at most RB_LOG_PER_SEC lines a second (plus
	 * one "dropped" line if the second turns over meanwhile). */
	rb->log = count_log;
	uint64_t t0 = rb_now_ns();
	for (int i = 0; i < 200; i++)
		run(rb, &out, "garbage", 7, "log flood");
	uint64_t secs = (rb_now_ns() - t0) / 1000000000u + 1;
	CHECK(log_lines >= 1 && (uint64_t)log_lines <= secs * (RB_LOG_PER_SEC + 1));
	rb->log = NULL;

	/* A valid request padded to near the line limit still parses. */
	size_t big = RB_MAX_LINE - 200;
	char *req = malloc(big + 1);
	const char *head = "{\"method\":\"lookup\",\"parameters\":{\"qname\":\"www.example.com.\","
			   "\"qtype\":\"A\"}";
	size_t hl = strlen(head);
	memcpy(req, head, hl);
	memset(req + hl, ' ', big - hl - 1);
	req[big - 1] = '}';
	r = run(rb, &out, req, big, "padded request");
	CHECK(strstr(r, "\"192.0.2.1\"") != NULL);

	/* A huge garbage line: an error, no crash. */
	memset(req, '[', big);
	r = run(rb, &out, req, big, "deep nesting");
	CHECK(strncmp(r, "{\"result\":false", 15) == 0);
	free(req);

	/* Statistics count what happened. */
	r = run(rb, &out, "{\"method\":\"directBackendCmd\",\"parameters\":{\"query\":\"stats\"}}", 60,
		"stats");
	CHECK(strstr(r, "lookup_count ") != NULL);
	CHECK(strstr(r, "lookup_p99_ns ") != NULL);
	CHECK(strstr(r, "invalid_count ") != NULL);
	CHECK(strstr(r, "store_zones 4") != NULL);
	CHECK(strstr(r, "store_map_size_bytes ") != NULL);
	CHECK(rb->st->m[RB_M_LOOKUP].count > 10);
	CHECK(rb->st->m[RB_M_INVALID].errors > 0);

	/* A long lookup burst keeps one txn, renewed each time. */
	for (int i = 0; i < 10000; i++) {
		out.len = 0;
		rb_work_t w;
		static const char q[] = "{\"method\":\"lookup\",\"parameters\":{\"qname\":"
					"\"WWW.example.com.\",\"qtype\":\"ANY\",\"zone-id\":-1}}";
		CHECK_RC(rb_handle(rb, NULL, q, sizeof q - 1, &out, &w), 0);
	}
	CHECK(rb->txn != NULL && !rb->txn_live);
	rb_buf_free(&out);
}

/* Sets example.com.'s notified serial and last_check directly. */
static void set_notify_state(uint32_t notified, uint64_t last_check)
{
	store_txn_t *t;
	CHECK_OK(store_txn_begin(the_store, 1, &t));
	CHECK_OK(store_zone_set_notified(t, zone_id, notified));
	CHECK_OK(store_zone_set_checked(t, zone_id, last_check));
	CHECK_OK(store_txn_commit(t));
}

/* Whether getUpdatedMasters reports example.com. now. */
static int updated(rb_t *rb, rb_buf_t *out, const char *where)
{
	static const char q[] = "{\"method\":\"getUpdatedMasters\",\"parameters\":{}}";
	const char *r = run(rb, out, q, sizeof q - 1, where);
	CHECK(strncmp(r, "{\"result\":[", 11) == 0);
	return strstr(r, "\"zone\":\"example.com.\"") != NULL;
}

/*
 * --notify-min-interval: a changed master zone is reported only when its
 * last NOTIFY round (last_check, which setNotified records) is at least
 * that old.  Times are chosen so that the clock's tick during the test
 * cannot flip a result.
 */
static void notify_policy_cases(rb_t *rb)
{
	rb_buf_t out = {0};
	uint32_t serial = serial_of("example.com.");
	uint64_t now = (uint64_t)time(NULL);
	cur_conn = NULL;

	/* 0, the default: every cycle that finds a new serial reports it */
	CHECK(rb->notify_min_interval == 0);
	set_notify_state(0, now);
	CHECK(updated(rb, &out, "policy off, just notified"));
	rb->notify_min_interval = 100;
	CHECK(!updated(rb, &out, "just notified"));
	set_notify_state(0, now - 90);
	CHECK(!updated(rb, &out, "notified 90 s ago"));
	set_notify_state(0, now - 100);
	CHECK(updated(rb, &out, "notified 100 s ago"));
	set_notify_state(0, 0);
	CHECK(updated(rb, &out, "never notified"));
	/* a clock set back must not hold a zone until it catches up */
	set_notify_state(0, now + 3600);
	CHECK(updated(rb, &out, "last round in the future"));
	/* an unchanged serial is never reported, however old the round */
	set_notify_state(serial, 0);
	CHECK(!updated(rb, &out, "serial notified"));

	/* through the protocol: setNotified records the round's time, so a
	 * newer serial right after it waits */
	char req[160];
	int n = snprintf(req, sizeof req,
			 "{\"method\":\"setNotified\",\"parameters\":{\"id\":%u,\"serial\":%u}}",
			 zone_id, serial - 1);
	CHECK_STR(run(rb, &out, req, (size_t)n, "setNotified"), "{\"result\":true}\n");
	CHECK(!updated(rb, &out, "after setNotified"));
	rb->notify_min_interval = 0;
	CHECK(updated(rb, &out, "after setNotified, policy off"));

	set_notify_state(0, 0); /* as seeded */
	rb_buf_free(&out);
}

/* What the log callback was given, for the "keys are never logged" check. */
static char logged[8192];
static size_t logged_len;

static void keep_log(void *arg, const char *fmt, ...)
{
	(void)arg;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(logged + logged_len, sizeof logged - logged_len, fmt, ap);
	va_end(ap);
	if (n > 0 && logged_len + (size_t)n + 1 < sizeof logged) {
		logged_len += (size_t)n;
		logged[logged_len++] = '\n';
		logged[logged_len] = '\0';
	}
}

/* Writes (or, with content NULL, deletes) one RRset of w.test. as a
 * committed change, which bumps the zone's serial. */
static void w_rrset(const char *owner, uint16_t type, const char *content)
{
	store_txn_t *t;
	dname_t n;
	uint16_t len = content ? (uint16_t)strlen(content) : 0;
	name(&n, owner);
	CHECK_OK(store_txn_begin(the_store, 1, &t));
	CHECK_OK(store_rrset_set(t, zone_id_of(t, "w.test."), &n, type, 300, &content, &len,
				 content ? 1 : 0, NULL));
	CHECK_OK(store_txn_commit(t));
}

/*
 * DNSSEC things data files cannot say: a key is never logged; the NSEC3
 * chain cache is rebuilt on a serial change only when the names changed
 * (an address change keeps it), and always answers from the new data.
 */
static void dnssec_cases(rb_t *rb)
{
	rb_buf_t out = {0};
	const char *r;
	char req[512];

	/* refused key material is not logged, nor sent back */
	static const char bad[] = "{\"method\":\"addDomainKey\",\"parameters\":{\"name\":\"w.test.\","
		"\"key\":{\"flags\":257,\"active\":true,\"published\":true,\"content\":"
		"\"Private-key-format: v1.2\\nAlgorithm: 77 (X)\\nPrivateKey: SECRETMATERIAL=\\n\"}}}";
	rb->log = keep_log;
	logged_len = 0;
	logged[0] = '\0';
	rb->log_sec = 0; /* a fresh second for the rate limit */
	r = run(rb, &out, bad, sizeof bad - 1, "bad key");
	CHECK(strncmp(r, "{\"result\":false", 15) == 0);
	CHECK(strstr(r, "SECRETMATERIAL") == NULL);
	CHECK(strstr(logged, "addDomainKey for zone w.test. refused (key content names DNSSEC "
			     "algorithm 77") != NULL);
	CHECK(strstr(logged, "SECRETMATERIAL") == NULL);
	rb->log = NULL;

	/* NSEC3 cache */
	store_txn_t *t;
	const char *param = "1 0 0 -";
	uint16_t plen = 7;
	CHECK_OK(store_txn_begin(the_store, 1, &t));
	uint32_t wid = zone_id_of(t, "w.test.");
	CHECK_OK(store_meta_set(t, wid, "NSEC3PARAM", 10, &param, &plen, 1));
	CHECK_OK(store_txn_commit(t));
	uint64_t builds = rb->st->n3_builds, reuses = rb->st->n3_reuses;
	/* the hash of new.w.test. (salt none, 0 iterations) */
	uint8_t h[SHA1_LEN];
	char hb[SHA1_B32_LEN + 1];
	dname_t nn;
	name(&nn, "new.w.test.");
	sha1_nsec3(&nn, NULL, 0, 0, h);
	sha1_b32(h, hb);
	snprintf(req, sizeof req, "{\"method\":\"getBeforeAndAfterNamesAbsolute\",\"parameters\":"
		 "{\"id\":%u,\"qname\":\"%s.\"}}", wid, hb);
	r = run(rb, &out, req, strlen(req), "n3 first");
	CHECK(strstr(r, "\"result\":{\"before\":") != NULL && strstr(r, hb) == NULL);
	CHECK(rb->st->n3_builds == builds + 1);
	r = run(rb, &out, req, strlen(req), "n3 cached");
	CHECK(rb->st->n3_builds == builds + 1 && rb->st->n3_reuses == reuses);
	/* new content at an existing name: new serial, same chain */
	w_rrset("keep.w.test.", RR_TXT, "\"changed\"");
	r = run(rb, &out, req, strlen(req), "n3 same names");
	CHECK(rb->st->n3_builds == builds + 1 && rb->st->n3_reuses == reuses + 1);
	CHECK(strstr(r, hb) == NULL);
	/* a new name: rebuilt, and it is its own "before" now */
	w_rrset("new.w.test.", RR_TXT, "\"new\"");
	r = run(rb, &out, req, strlen(req), "n3 new name");
	CHECK(rb->st->n3_builds == builds + 2);
	char want[128];
	snprintf(want, sizeof want, "{\"before\":\"%s\"", hb);
	CHECK(strstr(r, want) != NULL && strstr(r, "\"unhashed\":\"new.w.test.\"") != NULL);
	/* ... and gone again */
	w_rrset("new.w.test.", RR_TXT, NULL);
	r = run(rb, &out, req, strlen(req), "n3 name gone");
	CHECK(rb->st->n3_builds == builds + 3 && strstr(r, want) == NULL);
	/* changed parameters: rebuilt */
	param = "1 0 1 ab";
	plen = 8;
	CHECK_OK(store_txn_begin(the_store, 1, &t));
	CHECK_OK(store_meta_set(t, wid, "NSEC3PARAM", 10, &param, &plen, 1));
	CHECK_OK(store_txn_commit(t));
	r = run(rb, &out, req, strlen(req), "n3 new params");
	CHECK(rb->st->n3_builds == builds + 4);
	/* put back */
	w_rrset("keep.w.test.", RR_TXT, "\"kept\"");
	CHECK_OK(store_txn_begin(the_store, 1, &t));
	CHECK_OK(store_meta_set(t, wid, "NSEC3PARAM", 10, NULL, NULL, 0));
	CHECK_OK(store_txn_commit(t));
	rb_buf_free(&out);
}

int main(void)
{
	char dir[] = "/tmp/kyedns-test-rb-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char db[sizeof dir + 8];
	snprintf(db, sizeof db, "%s/db", dir);
	store_t *s = seed(db);

	rb_t rb;
	rb_init(&rb, s);

	const char *d = cases_dir();
	DIR *dh = opendir(d);
	CHECK(dh != NULL);
	int files = 0;
	if (dh) {
		struct dirent *e;
		char *names[256];
		int n = 0;
		while ((e = readdir(dh)) && n < 256) {
			size_t l = strlen(e->d_name);
			if (l > 5 && strcmp(e->d_name + l - 5, ".case") == 0)
				names[n++] = strdup(e->d_name);
		}
		closedir(dh);
		qsort(names, (size_t)n, sizeof names[0], cmp_str);
		/* Every case twice: through the lookup fast path and through
		 * jansson alone; both must give the same replies. */
		for (fast_path = 1; fast_path >= 0; fast_path--) {
			for (int i = 0; i < n; i++) {
				char path[1024];
				snprintf(path, sizeof path, "%s/%s", d, names[i]);
				run_file(&rb, path);
				files++;
			}
		}
		fast_path = 1;
		for (int i = 0; i < n; i++)
			free(names[i]);
	}
	CHECK(files > 0);
	coded_cases(&rb);
	notify_policy_cases(&rb);
	dnssec_cases(&rb);
	write_cases(&rb);
	fast_path_taken();
	notified_on_full_map(dir);

	rb_free(&rb);
	store_close(s);
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_done("rb");
}
