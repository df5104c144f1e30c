/*
 * rbload - load generator for a PowerDNS remote backend on a unix socket.
 *
 * Speaks the protocol the way pdns does: N connections, each begins with
 * initialize, then sends one lookup and waits for its reply before the next
 * (lockstep; pdns never pipelines).  Names are drawn at random from a
 * printf pattern ("h%u.example.com.") over [0, count).  One thread, epoll.
 *
 *   rbload --socket PATH [--conns 3] [--seconds 10] [--warmup 1] [--count 1000]
 *          [--pattern h%u.example.com.] [--qtype ANY] [--expect-rows]
 *
 * The first --warmup seconds are not measured (page faults of a fresh
 * mapping, allocator growth).
 *
 * Prints one line: requests, seconds, rate, p50/p99/max latency (us),
 * errors (replies without "result", or empty results with --expect-rows).
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

typedef struct lconn {
	int fd;
	char req[512];
	size_t reqlen, sent;
	char *in;
	size_t inlen, incap;
	uint64_t t0;
	int initialized;
} lconn_t;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *pattern = "h%u.example.com.";
static const char *qtype = "ANY";
static unsigned count = 1000;

static void make_lookup(lconn_t *c)
{
	char name[256];
	snprintf(name, sizeof name, pattern, (unsigned)(xorshift() % count));
	int n = snprintf(c->req, sizeof c->req,
			 "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"%s\",\"qname\":\"%s\","
			 "\"remote\":\"127.0.0.1\",\"local\":\"127.0.0.1\",\"real-remote\":"
			 "\"127.0.0.1/32\",\"zone-id\":-1}}\n",
			 qtype, name);
	c->reqlen = (size_t)n;
	c->sent = 0;
}

static int send_req(lconn_t *c)
{
	while (c->sent < c->reqlen) {
		ssize_t n = send(c->fd, c->req + c->sent, c->reqlen - c->sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		c->sent += (size_t)n;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int nconns = 3, expect_rows = 0;
	double seconds = 10, warmup = 1;
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"conns", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 't'},
		{"warmup", required_argument, NULL, 'w'},
		{"count", required_argument, NULL, 'n'},
		{"pattern", required_argument, NULL, 'p'},
		{"qtype", required_argument, NULL, 'q'},
		{"expect-rows", no_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': path = optarg; break;
		case 'c': nconns = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 'n': count = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': pattern = optarg; break;
		case 'q': qtype = optarg; break;
		case 'e': expect_rows = 1; break;
		default:
			fprintf(stderr, "usage: rbload --socket PATH [--conns N] [--seconds S] "
					"[--count N] [--pattern FMT] [--qtype T] [--expect-rows]\n");
			return 2;
		}
	}
	if (!path || nconns < 1 || count < 1) {
		fprintf(stderr, "rbload: --socket is required\n");
		return 2;
	}
	rng ^= (uint64_t)getpid() << 20;

	int ep = epoll_create1(0);
	lconn_t *conns = calloc((size_t)nconns, sizeof *conns);
	for (int i = 0; i < nconns; i++) {
		lconn_t *c = &conns[i];
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			perror("rbload: connect");
			return 1;
		}
		c->incap = 1 << 16;
		c->in = malloc(c->incap);
		c->reqlen = (size_t)snprintf(c->req, sizeof c->req,
					     "{\"method\":\"initialize\",\"parameters\":{\"path\":"
					     "\"%s\",\"timeout\":\"2000\"}}\n", path);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		c->t0 = now_ns();
		send_req(c);
	}

	size_t lcap = 1 << 20, nlat = 0;
	uint32_t *lat = malloc(lcap * sizeof *lat);
	uint64_t done = 0, errors = 0, start = 0, end = 0;
	int measuring = 0, running = nconns;
	uint64_t t_begin = now_ns();
	uint64_t warm = t_begin + (uint64_t)(warmup * 1e9);
	uint64_t stop = warm + (uint64_t)(seconds * 1e9);
	struct epoll_event evs[256];
	while (running > 0) {
		int n = epoll_wait(ep, evs, 256, 100);
		uint64_t t = now_ns();
		if (!measuring && t >= warm) {
			measuring = 1;
			start = t;
		}
		for (int i = 0; i < n; i++) {
			lconn_t *c = evs[i].data.ptr;
			ssize_t r = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				fprintf(stderr, "rbload: connection closed by the backend\n");
				return 1;
			}
			c->inlen += (size_t)r;
			if (c->inlen == c->incap) {
				c->incap *= 2;
				c->in = realloc(c->in, c->incap);
			}
			char *nl = memchr(c->in, '\n', c->inlen);
			if (!nl)
				continue;
			size_t linelen = (size_t)(nl - c->in);
			if (c->initialized) {
				if (measuring && t < stop) {
					done++;
					if (nlat == lcap) {
						lcap *= 2;
						lat = realloc(lat, lcap * sizeof *lat);
					}
					uint64_t d = t - c->t0;
					lat[nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
				}
				if (!memmem(c->in, linelen, "\"result\"", 8) ||
				    (expect_rows && memmem(c->in, linelen, "\"result\":[]", 11)))
					errors++;
			}
			c->initialized = 1;
			c->inlen -= linelen + 1;
			memmove(c->in, nl + 1, c->inlen);
			if (t >= stop) {
				running--;
				continue;
			}
			make_lookup(c);
			c->t0 = now_ns();
			if (send_req(c) < 0) {
				perror("rbload: send");
				return 1;
			}
		}
		if (measuring && t >= stop && !end)
			end = t;
	}
	if (!end)
		end = now_ns();
	double secs = (double)(end - start) / 1e9;
	qsort(lat, nlat, sizeof *lat, cmp_u32);
	double p50 = nlat ? lat[nlat / 2] / 1e3 : 0;
	double p99 = nlat ? lat[(size_t)((double)nlat * 0.99)] / 1e3 : 0;
	double max = nlat ? lat[nlat - 1] / 1e3 : 0;
	printf("conns=%d count=%u qtype=%s requests=%llu seconds=%.2f rate=%.0f/s p50=%.1fus "
	       "p99=%.1fus max=%.1fus errors=%llu\n",
	       nconns, count, qtype, (unsigned long long)done, secs, done / secs, p50, p99, max,
	       (unsigned long long)errors);
	for (int i = 0; i < nconns; i++)
		close(conns[i].fd);
	return errors ? 1 : 0;
}
