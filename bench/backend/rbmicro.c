/*
 * rbmicro - the backend's own work per lookup, without sockets: calls
 * rb_handle() (the built backend/rb.o, unchanged) in a loop on pdns-shaped
 * lookup lines for random names of a store, in one process on one thread.
 * What it measures is what a lookup costs the backend beyond the transport
 * (parsing, the LMDB read transaction and gets, the JSON reply) - the part
 * this project controls - and it is far less noisy on a shared machine than
 * a socket benchmark.
 *
 *   rbmicro --db DIR [--count 1000] [--seconds 2] [--pattern h%u.example.com.]
 *           [--qtype ANY]
 *
 * Prints one line: lookups, seconds, ns_per_lookup, rate (lookups/s of
 * CPU; the process only computes), reply_bytes (average).
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

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *db = NULL, *pattern = "h%u.example.com.", *qtype = "ANY";
	unsigned count = 1000;
	double seconds = 2;
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"count", required_argument, NULL, 'n'},
		{"seconds", required_argument, NULL, 't'},
		{"pattern", required_argument, NULL, 'p'},
		{"qtype", required_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': db = optarg; break;
		case 'n': count = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': seconds = atof(optarg); break;
		case 'p': pattern = optarg; break;
		case 'q': qtype = optarg; break;
		default:
			fprintf(stderr, "usage: rbmicro --db DIR [--count N] [--seconds S] "
					"[--pattern FMT] [--qtype T]\n");
			return 2;
		}
	}
	if (!db || !count || !strstr(pattern, "%u")) {
		fprintf(stderr, "rbmicro: --db is required, --pattern needs %%u\n");
		return 2;
	}
	store_t *store;
	int rc = store_open(&store, db, STORE_RDONLY);
	if (rc < 0) {
		fprintf(stderr, "rbmicro: cannot open store %s (%s)\n", db, err_str(rc));
		return 1;
	}
	rb_t rb;
	rb_init(&rb, store);

	/* Each request line is built as pre + digits + post (a few ns, as in
	 * rbload), so that every name of a big store can come up, as under
	 * pdns; a table of prebuilt lines would keep the map cache-warm. */
	char pre[400], post[400], line[1024];
	const char *u = strstr(pattern, "%u");
	int prelen = snprintf(pre, sizeof pre,
			      "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"%s\","
			      "\"qname\":\"%.*s",
			      qtype, (int)(u - pattern), pattern);
	int postlen = snprintf(post, sizeof post,
			       "%s\",\"remote\":\"127.0.0.1\",\"local\":\"127.0.0.1\","
			       "\"real-remote\":\"127.0.0.1/32\",\"zone-id\":-1}}",
			       u + 2);
	if (prelen < 0 || postlen < 0 || (size_t)prelen >= sizeof pre ||
	    (size_t)postlen >= sizeof post) {
		fprintf(stderr, "rbmicro: pattern too long\n");
		return 2;
	}
	memcpy(line, pre, (size_t)prelen);

	rb_buf_t out = {0};
	rb_work_t work;
	rb_conn_t conn = {0};
	uint64_t n = 0, bytes = 0, empty = 0;
	double t0 = 0, t1;
	for (int warm = 1;; warm = 0) {
		if (!warm)
			t0 = cpu_now();
		do {
			for (int i = 0; i < 1024; i++) {
				unsigned v = (unsigned)(xorshift() % count);
				char d[12];
				int k = sizeof d;
				do {
					d[--k] = (char)('0' + v % 10);
					v /= 10;
				} while (v);
				char *o = line + prelen;
				memcpy(o, d + k, sizeof d - (size_t)k);
				o += sizeof d - (size_t)k;
				memcpy(o, post, (size_t)postlen);
				o += postlen;
				out.len = 0;
				if (rb_handle(&rb, &conn, line, (size_t)(o - line), &out, &work) != 0) {
					fprintf(stderr, "rbmicro: rb_handle failed\n");
					return 1;
				}
				bytes += out.len;
				empty += out.len < 16;
			}
			n += 1024;
			t1 = cpu_now();
		} while (t1 - t0 < (warm ? 0.3 : seconds));
		if (warm) /* page in the map and the allocator first */
			n = bytes = empty = 0;
		else
			break;
	}
	double secs = t1 - t0;
	printf("lookups=%llu seconds=%.2f ns_per_lookup=%.0f rate=%.0f/s reply_bytes=%.0f "
	       "empty=%llu\n",
	       (unsigned long long)n, secs, secs * 1e9 / (double)n, (double)n / secs,
	       (double)bytes / (double)n, (unsigned long long)empty);
	rb_buf_free(&out);
	rb_free(&rb);
	store_close(store);
	return 0;
}
