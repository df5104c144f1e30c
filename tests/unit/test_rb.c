/*
 * test_rb - the remote-backend protocol module, driven by data files.
 *
 * Builds a small store (zones example.com. (master), sub.example.com.
 * (native), other.test. (slave)), then replays every tests/unit/rb_cases/
 * *.case file through rb_handle().  A case file holds request and expected
 * reply side by side:
 *
 *   # comment
 *   > {"method":"initialize","parameters":{}}     request line (as is)
 *   >hex 7b00ff0a                                  request given as hex bytes
 *   < {"result":true}                              the exact reply
 *   <^ {"result":false,"log":[                     the reply starts with this
 *
 * ${SERIAL} and ${ID} in requests and expected replies stand for example.com.'s serial
 * and id.  Every reply is also checked to be one JSON value with "result",
 * ending in exactly one newline.  A deferred request (setNotified) is run
 * in-line with rb_work_run()/rb_work_done(), as the server would.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "dname.h"
#include "store.h"

/* The module under test is compiled into this program (the unit-test rule
 * links only libkyedns.a); that also lets the test see its statics. */
#include "../../backend/rb.c"

static uint32_t zone_serial, zone_id;

static void name(dname_t *n, const char *s)
{
	CHECK_OK(dname_parse(n, s, strlen(s)));
}

static void rr(store_txn_t *t, const char *owner, uint16_t type, uint32_t ttl, const char *content)
{
	dname_t n;
	name(&n, owner);
	int rc = store_rr_add(t, &n, type, ttl, content, strlen(content));
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
	CHECK_OK(store_zone_add(t, &z));
}

static store_t *seed(const char *dir)
{
	store_t *s;
	store_txn_t *t;
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	CHECK_OK(store_txn_begin(s, 1, &t));
	zone(t, "example.com.", STORE_KIND_MASTER, 2024010100);
	zone(t, "sub.example.com.", STORE_KIND_NATIVE, 7);
	zone(t, "other.test.", STORE_KIND_SLAVE, 9);
	rr(t, "example.com.", RR_NS, 3600, "ns1.example.com.");
	rr(t, "example.com.", RR_NS, 3600, "ns2.example.com.");
	rr(t, "example.com.", RR_MX, 3600, "10 mail.example.com.");
	rr(t, "ns1.example.com.", RR_A, 3600, "192.0.2.53");
	rr(t, "www.example.com.", RR_A, 60, "192.0.2.1");
	rr(t, "www.example.com.", RR_AAAA, 60, "2001:db8::1");
	rr(t, "txt.example.com.", RR_TXT, 300, "\"hello \\\"world\\\"\"");
	rr(t, "alias.example.com.", RR_CNAME, 300, "www.example.com.");
	rr(t, "*.wild.example.com.", RR_A, 300, "192.0.2.99");
	rr(t, "a.b.c.example.com.", RR_A, 300, "192.0.2.7");
	rr(t, "sub.example.com.", RR_NS, 3600, "ns1.example.com.");
	rr(t, "x.sub.example.com.", RR_A, 300, "192.0.2.20");
	CHECK_OK(store_txn_commit(t));

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

/* Replaces ${SERIAL} and ${ID}; returns a malloc'd string. */
static char *expand(const char *s)
{
	char num[2][16];
	snprintf(num[0], sizeof num[0], "%u", zone_serial);
	snprintf(num[1], sizeof num[1], "%u", zone_id);
	size_t cap = strlen(s) * 2 + 64, n = 0;
	char *o = malloc(cap);
	while (*s) {
		const char *rep = NULL;
		size_t skip = 0;
		if (strncmp(s, "${SERIAL}", 9) == 0)
			rep = num[0], skip = 9;
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
static const char *run(rb_t *rb, rb_buf_t *out, const char *req, size_t len, const char *where)
{
	rb_work_t w;
	out->len = 0;
	int rc = rb_handle(rb, req, len, out, &w);
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
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		char where[1200];
		snprintf(where, sizeof where, "%s:%d", path, lineno);
		if (strncmp(line, ">hex ", 5) == 0) {
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
	CHECK(strstr(r, "store_zones 3") != NULL);
	CHECK(strstr(r, "store_map_size_bytes ") != NULL);
	CHECK(rb->m[RB_M_LOOKUP].count > 10);
	CHECK(rb->m[RB_M_INVALID].errors > 0);

	/* A long lookup burst keeps one txn, renewed each time. */
	for (int i = 0; i < 10000; i++) {
		out.len = 0;
		rb_work_t w;
		static const char q[] = "{\"method\":\"lookup\",\"parameters\":{\"qname\":"
					"\"WWW.example.com.\",\"qtype\":\"ANY\",\"zone-id\":-1}}";
		CHECK_RC(rb_handle(rb, q, sizeof q - 1, &out, &w), 0);
	}
	CHECK(rb->txn != NULL && !rb->txn_live);
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
	fast_path_taken();

	rb_free(&rb);
	store_close(s);
	char cmd[sizeof dir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_done("rb");
}
