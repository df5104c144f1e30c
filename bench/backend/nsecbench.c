/*
 * nsecbench - what signing costs the backend per query: the NSEC3 chain
 * build (once per zone serial) and getBeforeAndAfterNamesAbsolute for NSEC
 * and NSEC3, through rb_handle() as in rbmicro (no sockets).
 *
 *   nsecbench --db DIR --zone example.com. [--param "1 0 0 -"] [--seconds 1]
 *
 * Sets the zone's NSEC3PARAM metadata to --param (and deletes it at the
 * end), so run it on a scratch store.  Build like rbmicro (see run.py),
 * adding backend/rbsec.o.  Prints: chain_build_ms (first NSEC3 query),
 * same_names_recheck_ms (the query after one host h0.ZONE changed address:
 * a new serial, the same names), nsec3_ns (per cached query), nsec_ns (per
 * query).  h0.ZONE must be a dyndns host (bench/import's stores have it).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "rb.h"
#include "store.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int set_param(store_t *s, uint32_t id, const char *param)
{
	store_txn_t *t;
	uint16_t len = param ? (uint16_t)strlen(param) : 0;
	int rc = store_txn_begin(s, 1, &t);
	if (rc == 0)
		rc = store_meta_set(t, id, "NSEC3PARAM", 10, &param, &len, param ? 1 : 0);
	if (rc == 0)
		rc = store_txn_commit(t);
	else
		store_txn_abort(t);
	return rc;
}

/* Runs one request; exits on a failed reply. */
static void call(rb_t *rb, rb_buf_t *out, const char *req)
{
	rb_work_t w;
	out->len = 0;
	if (rb_handle(rb, NULL, req, strlen(req), out, &w) != 0 ||
	    (out->len > 16 && memcmp(out->p, "{\"result\":false", 15) == 0)) {
		fprintf(stderr, "nsecbench: %s -> %.*s\n", req, (int)out->len, out->p);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *db = NULL, *zone = NULL, *param = "1 0 0 -";
	double seconds = 1;
	static const struct option opts[] = {{"db", 1, 0, 'd'},
	                                     {"zone", 1, 0, 'z'},
	                                     {"param", 1, 0, 'p'},
	                                     {"seconds", 1, 0, 's'},
	                                     {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			db = optarg;
		else if (c == 'z')
			zone = optarg;
		else if (c == 'p')
			param = optarg;
		else if (c == 's')
			seconds = atof(optarg);
		else
			return 2;
	}
	if (!db || !zone) {
		fprintf(stderr,
		        "usage: nsecbench --db DIR --zone ZONE [--param P] [--seconds S]\n");
		return 2;
	}
	store_t *s;
	store_txn_t *t;
	store_zone_t z;
	dname_t n;
	int rc = store_open(&s, db, 0);
	if (rc == 0)
		rc = dname_parse(&n, zone, strlen(zone));
	if (rc == 0 && (rc = store_txn_begin(s, 0, &t)) == 0) {
		rc = store_zone_get(t, &n, &z);
		store_txn_abort(t);
	}
	if (rc == 0)
		rc = set_param(s, z.id, param);
	if (rc < 0) {
		fprintf(stderr, "nsecbench: %s (%s)\n", db, err_str(rc));
		return 1;
	}
	rb_t rb;
	rb_buf_t out = {0};
	char req[256];
	rb_init(&rb, s);
	static const char b32[] = "0123456789abcdefghijklmnopqrstuv";

	/* the first NSEC3 query builds the chain */
	snprintf(req, sizeof req,
	         "{\"method\":\"getBeforeAndAfterNamesAbsolute\",\"parameters\":"
	         "{\"id\":%u,\"qname\":\"00000000000000000000000000000000.\"}}",
	         z.id);
	double t0 = now();
	call(&rb, &out, req);
	double build = now() - t0;

	unsigned long calls = 0;
	t0 = now();
	while (now() - t0 < seconds) {
		for (int k = 0; k < 256; k++, calls++) {
			char h[33];
			for (int i = 0; i < 32; i++)
				h[i] = b32[xorshift() & 31];
			h[32] = '\0';
			snprintf(req, sizeof req,
			         "{\"method\":\"getBeforeAndAfterNamesAbsolute\","
			         "\"parameters\":{\"id\":%u,\"qname\":\"%s.\"}}",
			         z.id, h);
			call(&rb, &out, req);
		}
	}
	double n3 = (now() - t0) / (double)calls;

	/* a dyndns-like change (one host's address): new serial, same names */
	dname_t h0;
	addr_t a;
	store_txn_t *w;
	int changed;
	char hn[300];
	snprintf(hn, sizeof hn, "h0.%s", zone);
	rc = dname_parse(&h0, hn, strlen(hn));
	if (rc == 0)
		rc = addr_parse(&a, "192.0.2.123", 11);
	if (rc == 0 && (rc = store_txn_begin(s, 1, &w)) == 0) {
		rc = store_host_update(w, &h0, &a, NULL, &a, "bench", 5, (uint64_t)time(NULL),
		                       &changed);
		rc = rc == 0 ? store_txn_commit(w) : (store_txn_abort(w), rc);
	}
	if (rc < 0) {
		fprintf(stderr, "nsecbench: cannot update %s (%s)\n", hn, err_str(rc));
		return 1;
	}
	snprintf(req, sizeof req,
	         "{\"method\":\"getBeforeAndAfterNamesAbsolute\",\"parameters\":"
	         "{\"id\":%u,\"qname\":\"00000000000000000000000000000000.\"}}",
	         z.id);
	t0 = now();
	call(&rb, &out, req);
	double recheck = now() - t0;

	set_param(s, z.id, NULL);
	unsigned long ncalls = 0;
	t0 = now();
	while (now() - t0 < seconds) {
		for (int k = 0; k < 256; k++, ncalls++) {
			snprintf(req, sizeof req,
			         "{\"method\":\"getBeforeAndAfterNamesAbsolute\","
			         "\"parameters\":{\"id\":%u,\"qname\":\"x%u.\"}}",
			         z.id, (unsigned)(xorshift() % 1000000));
			call(&rb, &out, req);
		}
	}
	double nsec = (now() - t0) / (double)ncalls;
	printf("chain_build_ms=%.1f same_names_recheck_ms=%.1f builds=%llu reuses=%llu "
	       "nsec3_ns=%.0f nsec_ns=%.0f\n",
	       build * 1e3, recheck * 1e3, (unsigned long long)rb.n3_builds,
	       (unsigned long long)rb.n3_reuses, n3 * 1e9, nsec * 1e9);
	rb_buf_free(&out);
	rb_free(&rb);
	store_close(s);
	return 0;
}
