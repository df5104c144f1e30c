/*
 * rbload - load generator for a PowerDNS remote backend on a unix socket.
 *
 * Speaks the protocol the way pdns does: N connections, each begins with
 * initialize, then sends one lookup and waits for its reply before the next
 * (lockstep; pdns never pipelines).  Names are drawn at random from a
 * pattern with one %u ("h%u.example.com.") over [0, count).
 *
 *   rbload --socket PATH [--conns 3] [--seconds 3] [--warmup 1] [--count 1000]
 *          [--pattern h%u.example.com.] [--qtype ANY] [--expect-rows]
 *          [--pid PID]
 *
 * It shares the machine with the backend it measures, so it is built to
 * cost little per request: one thread, one epoll set, no allocation, the
 * request assembled from a prebuilt prefix and suffix around hand-written
 * digits, and the reply not parsed - in lockstep exactly one reply is in
 * flight per connection, and it is complete when the last byte read is the
 * "\n" (JSON escapes newlines inside strings).  Its own CPU time is reported
 * so that what it takes from a shared machine is visible.
 *
 * With --pid, the backend's CPU time (utime + stime of /proc/PID/stat, all
 * threads) is read at the start and end of the measured window, and
 * "capacity" = lookups / backend CPU seconds: what one core could serve if
 * the backend had it to itself.  That is the number to hold against a
 * "lookups/s on one core" target; "rate" is the wall-clock rate with the
 * generator and the backend sharing the machine.
 *
 * The first --warmup seconds are not measured (page faults of a fresh
 * mapping, allocator growth).
 *
 * Prints one line of key=value: requests, seconds, rate, p50/p99/max
 * latency (us), gen_cpu_s (this process), backend_cpu_s, capacity, errors
 * (replies that do not start with {"result": , or with --expect-rows,
 * replies without a row).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define INBUF 65536

typedef struct lconn {
	int fd;
	int initialized;
	size_t inlen; /* bytes of the current reply so far */
	uint64_t t0;  /* when the request was sent */
	char head[16]; /* first bytes of the reply, for the error check */
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

/* The lookup request is pre + digits + post. */
static char pre[512], post[512];
static size_t prelen, postlen;
static unsigned count = 1000;

static void build_template(const char *pattern, const char *qtype)
{
	const char *u = strstr(pattern, "%u");
	if (!u) {
		fprintf(stderr, "rbload: --pattern needs one %%u\n");
		exit(2);
	}
	prelen = (size_t)snprintf(pre, sizeof pre,
				  "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"%s\","
				  "\"qname\":\"%.*s",
				  qtype, (int)(u - pattern), pattern);
	postlen = (size_t)snprintf(post, sizeof post,
				   "%s\",\"remote\":\"127.0.0.1\",\"local\":\"127.0.0.1\","
				   "\"real-remote\":\"127.0.0.1/32\",\"zone-id\":-1}}\n",
				   u + 2);
	if (prelen >= sizeof pre - 1 || postlen >= sizeof post - 1) {
		fprintf(stderr, "rbload: pattern too long\n");
		exit(2);
	}
}

static size_t make_lookup(char *out)
{
	unsigned v = (unsigned)(xorshift() % count);
	char digits[12];
	int i = sizeof digits;
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	char *o = out;
	memcpy(o, pre, prelen);
	o += prelen;
	memcpy(o, digits + i, sizeof digits - (size_t)i);
	o += sizeof digits - (size_t)i;
	memcpy(o, post, postlen);
	o += postlen;
	return (size_t)(o - out);
}

/* A request is a few hundred bytes: a unix socket takes it in one write. */
static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* only if the backend stopped reading: wait */
				struct timespec ts = {0, 100000};
				nanosleep(&ts, NULL);
				continue;
			}
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* utime + stime of a process (all its threads), in clock ticks; -1 if gone. */
static long long proc_ticks(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* after ") ": state(3) ... utime is field 14, stime 15 */
	long long ut = 0, st = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st) != 2)
		return -1;
	return ut + st;
}

static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *pattern = "h%u.example.com.", *qtype = "ANY";
	int nconns = 3, expect_rows = 0, pid = 0;
	double seconds = 3, warmup = 1;
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"conns", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 't'},
		{"warmup", required_argument, NULL, 'w'},
		{"count", required_argument, NULL, 'n'},
		{"pattern", required_argument, NULL, 'p'},
		{"qtype", required_argument, NULL, 'q'},
		{"expect-rows", no_argument, NULL, 'e'},
		{"pid", required_argument, NULL, 'P'},
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
		case 'P': pid = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: rbload --socket PATH [--conns N] [--seconds S] "
					"[--warmup S] [--count N] [--pattern FMT] [--qtype T] "
					"[--expect-rows] [--pid PID]\n");
			return 2;
		}
	}
	if (!path || nconns < 1 || count < 1) {
		fprintf(stderr, "rbload: --socket is required\n");
		return 2;
	}
	build_template(pattern, qtype);
	rng ^= (uint64_t)getpid() << 20;

	int ep = epoll_create1(0);
	lconn_t *conns = calloc((size_t)nconns, sizeof *conns);
	char req[1100];
	for (int i = 0; i < nconns; i++) {
		lconn_t *c = &conns[i];
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			perror("rbload: connect");
			return 1;
		}
		int n = snprintf(req, sizeof req,
				 "{\"method\":\"initialize\",\"parameters\":{\"path\":"
				 "\"%s\",\"timeout\":\"2000\"}}\n", path);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		c->t0 = now_ns();
		if (send_all(c->fd, req, (size_t)n) < 0) {
			perror("rbload: send");
			return 1;
		}
	}

	size_t lcap = 1 << 22, nlat = 0;
	uint32_t *lat = malloc(lcap * sizeof *lat);
	static char in[INBUF];
	uint64_t done = 0, errors = 0, start = 0, end = 0;
	long long ticks0 = 0, ticks1 = 0;
	double gen0 = 0, gen1 = 0;
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
			gen0 = self_cpu();
			if (pid)
				ticks0 = proc_ticks(pid);
		}
		if (measuring && t >= stop && !end) {
			end = t;
			gen1 = self_cpu();
			if (pid)
				ticks1 = proc_ticks(pid);
		}
		for (int i = 0; i < n; i++) {
			lconn_t *c = evs[i].data.ptr;
			ssize_t r = read(c->fd, in, sizeof in);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				fprintf(stderr, "rbload: connection closed by the backend\n");
				return 1;
			}
			if (c->inlen < sizeof c->head) {
				size_t k = sizeof c->head - c->inlen;
				memcpy(c->head + c->inlen, in, (size_t)r < k ? (size_t)r : k);
			}
			c->inlen += (size_t)r;
			if (in[r - 1] != '\n')
				continue; /* the rest of a long reply follows */
			if (c->initialized) {
				if (measuring && !end) {
					done++;
					if (nlat < lcap) {
						uint64_t d = t - c->t0;
						lat[nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
					}
				}
				if (c->inlen < 11 || memcmp(c->head, "{\"result\":", 10) != 0 ||
				    (expect_rows &&
				     (c->inlen < 12 || memcmp(c->head + 10, "[{", 2) != 0)))
					errors++;
			}
			c->initialized = 1;
			c->inlen = 0;
			if (end) {
				running--;
				continue;
			}
			size_t len = make_lookup(req);
			c->t0 = t;
			if (send_all(c->fd, req, len) < 0) {
				perror("rbload: send");
				return 1;
			}
		}
	}
	double secs = (double)(end - start) / 1e9;
	qsort(lat, nlat, sizeof *lat, cmp_u32);
	double p50 = nlat ? lat[nlat / 2] / 1e3 : 0;
	double p99 = nlat ? lat[(size_t)((double)nlat * 0.99)] / 1e3 : 0;
	double max = nlat ? lat[nlat - 1] / 1e3 : 0;
	double bcpu = (pid && ticks0 >= 0 && ticks1 >= 0)
			      ? (double)(ticks1 - ticks0) / (double)sysconf(_SC_CLK_TCK)
			      : 0;
	printf("conns=%d count=%u qtype=%s requests=%llu seconds=%.2f rate=%.0f/s p50=%.1fus "
	       "p99=%.1fus max=%.1fus gen_cpu_s=%.2f backend_cpu_s=%.2f capacity=%.0f/s "
	       "errors=%llu\n",
	       nconns, count, qtype, (unsigned long long)done, secs, done / secs, p50, p99, max,
	       gen1 - gen0, bcpu, bcpu > 0 ? (double)done / bcpu : 0, (unsigned long long)errors);
	for (int i = 0; i < nconns; i++)
		close(conns[i].fd);
	return errors ? 1 : 0;
}
