#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int statuses[METRICS_NSTATUS] = {200, 400, 401, 403, 404, 405, 408, 409, 413,
					      414, 429, 431, 500, 503, 505, 0};
static const char *const ep_names[EP_COUNT] = {"update", "ip",   "checkip", "health",
					       "metrics", "acme", "other"};
static const double lat_bounds[METRICS_NLAT - 1] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
						    0.05,   0.1,   0.25,  0.5,   1.0};
static const unsigned batch_bounds[METRICS_NBATCH - 1] = {1,  2,   4,   8,   16,  32,
							  64, 128, 256, 512, 1024};

void metrics_request(metrics_t *m, enum metrics_endpoint ep, int status)
{
	int i = 0;
	while (i < METRICS_NSTATUS - 1 && statuses[i] != status)
		i++;
	m->requests[ep][i]++; /* the last slot counts any other status */
}

void metrics_commit(metrics_t *m, unsigned batch_jobs, uint64_t commit_ns)
{
	double s = (double)commit_ns / 1e9;
	int i = 0;
	while (i < METRICS_NLAT - 1 && s > lat_bounds[i])
		i++;
	m->commit_lat[i]++;
	m->commit_sum += s;
	m->commits++;
	i = 0;
	while (i < METRICS_NBATCH - 1 && batch_jobs > batch_bounds[i])
		i++;
	m->batch[i]++;
	m->batch_sum += batch_jobs;
}

typedef struct buf {
	char *p;
	size_t len, cap;
	int oom;
} buf_t;

static void put(buf_t *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap *= 2;
	}
}

static void counter(buf_t *b, const char *name, const char *help, uint64_t v)
{
	put(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
	    (unsigned long long)v);
}

char *metrics_render(const metrics_t *m, size_t *len)
{
	buf_t b = {malloc(8192), 0, 8192, 0};
	if (!b.p)
		return NULL;
	put(&b, "# HELP kyedns_http_requests_total HTTP requests answered, by endpoint and status.\n"
		"# TYPE kyedns_http_requests_total counter\n");
	for (int e = 0; e < EP_COUNT; e++)
		for (int s = 0; s < METRICS_NSTATUS; s++)
			if (m->requests[e][s] || (e == EP_UPDATE && s == 0))
			{
				char st[16];
				snprintf(st, sizeof(st), "%d", statuses[s]);
				put(&b, "kyedns_http_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n",
				    ep_names[e], statuses[s] ? st : "other",
				    (unsigned long long)m->requests[e][s]);
			}
	put(&b, "# HELP kyedns_update_results_total dyndns2 result lines sent, by code.\n"
		"# TYPE kyedns_update_results_total counter\n");
	for (int c = 0; c < DD_NCODES; c++)
		put(&b, "kyedns_update_results_total{result=\"%s\"} %llu\n", dd_code_str(c),
		    (unsigned long long)m->results[c]);

	put(&b, "# HELP kyedns_commit_seconds Write transaction commit latency (with sync).\n"
		"# TYPE kyedns_commit_seconds histogram\n");
	uint64_t acc = 0;
	for (int i = 0; i < METRICS_NLAT; i++) {
		acc += m->commit_lat[i];
		if (i < METRICS_NLAT - 1)
			put(&b, "kyedns_commit_seconds_bucket{le=\"%g\"} %llu\n", lat_bounds[i],
			    (unsigned long long)acc);
		else
			put(&b, "kyedns_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)acc);
	}
	put(&b, "kyedns_commit_seconds_sum %.6f\nkyedns_commit_seconds_count %llu\n",
	    m->commit_sum, (unsigned long long)m->commits);

	put(&b, "# HELP kyedns_batch_size Update requests per write transaction.\n"
		"# TYPE kyedns_batch_size histogram\n");
	acc = 0;
	for (int i = 0; i < METRICS_NBATCH; i++) {
		acc += m->batch[i];
		if (i < METRICS_NBATCH - 1)
			put(&b, "kyedns_batch_size_bucket{le=\"%u\"} %llu\n", batch_bounds[i],
			    (unsigned long long)acc);
		else
			put(&b, "kyedns_batch_size_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)acc);
	}
	put(&b, "kyedns_batch_size_sum %llu\nkyedns_batch_size_count %llu\n",
	    (unsigned long long)m->batch_sum, (unsigned long long)m->commits);

	counter(&b, "kyedns_commit_errors_total", "Write batches that failed (answered 911).",
		m->commit_errors);
	counter(&b, "kyedns_store_grows_total", "Map size doublings after a full map.",
		m->store_grows);
	put(&b, "# HELP kyedns_purge_total pdns cache purges, by outcome.\n"
		"# TYPE kyedns_purge_total counter\n"
		"kyedns_purge_total{result=\"ok\"} %llu\n"
		"kyedns_purge_total{result=\"failed\"} %llu\n"
		"kyedns_purge_total{result=\"dropped\"} %llu\n",
	    (unsigned long long)m->purge_ok, (unsigned long long)m->purge_failed,
	    (unsigned long long)m->purge_dropped);
	counter(&b, "kyedns_purge_failures_total", "pdns cache purges that failed or were dropped.",
		m->purge_failed + m->purge_dropped);
	put(&b, "# HELP kyedns_connections_open Client connections open now.\n"
		"# TYPE kyedns_connections_open gauge\nkyedns_connections_open %llu\n",
	    (unsigned long long)m->conns_open);
	counter(&b, "kyedns_connections_total", "Client connections accepted.", m->conns_total);
	counter(&b, "kyedns_connections_rejected_total",
		"Connections closed at once because the limit was reached.", m->conns_rejected);
	counter(&b, "kyedns_http_errors_total", "Malformed or oversized requests.", m->http_errors);
	counter(&b, "kyedns_rate_limited_total", "Requests refused by the per-client rate limit.",
		m->rate_limited);
	counter(&b, "kyedns_auth_blocked_total", "Host lines refused after repeated auth failures.",
		m->auth_blocked);
	counter(&b, "kyedns_connections_per_client_rejected_total",
		"Connections closed at once because their client had --max-conns-per-client open.",
		m->conns_per_client_rejected);
	counter(&b, "kyedns_connections_silent_timeout_total",
		"Connections closed because no byte came within the header timeout.",
		m->conns_silent_timeout);
	counter(&b, "kyedns_change_throttled_total",
		"Host lines refused (abuse) by the per-host change throttle.", m->change_throttled);
	counter(&b, "kyedns_host_blocked_total",
		"Host lines refused (abuse) because the name's failure budget was spent.",
		m->host_blocked);
	counter(&b, "kyedns_token_hashes_total",
		"Token verifications, real or dummy (the same work whether a host exists).",
		m->token_hashes);
	counter(&b, "kyedns_log_suppressed_total",
		"Access log lines not written for rate-limited requests.", m->log_suppressed);
	counter(&b, "kyedns_purge_backoffs_total",
		"Pauses of the purge client after a failed purge.", m->purge_backoffs);
	put(&b, "# HELP kyedns_writer_jobs Update requests waiting for or in a write transaction.\n"
		"# TYPE kyedns_writer_jobs gauge\nkyedns_writer_jobs %llu\n",
	    (unsigned long long)m->writer_jobs);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
