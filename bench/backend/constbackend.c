/*
 * constbackend - the ceiling for the benchmark: a remote backend that does
 * no work.  One thread per connection, blocking I/O, no JSON parser: it
 * finds "method", "qname" and "qtype" with strstr and answers every name
 * below the zone with one A record, the apex with SOA + NS.  Anything pdns
 * needs to serve the zone (initialize, getAllDomains, getDomainInfo,
 * metadata) gets a fixed answer.  Not a real backend: bench only.
 *
 * With --epoll it serves every connection from one thread with level-
 * triggered epoll instead: one epoll_wait per batch, one read and one write
 * per request - the same system calls kyedns-backend makes through libuv.
 * That mode measures the transport floor: the CPU a backend spends per
 * request when its own work is nothing.
 *
 * With --stdio it serves one connection on stdin/stdout and exits at end of
 * input: the process pdns's pipe connector starts (one per backend
 * instance), remote-connection-string=pipe:command=/abs/constbackend --stdio.
 * The ceiling of the pipe path, as the default mode is the socket's.
 *
 *   constbackend [--epoll] SOCKET [ZONE]      (ZONE defaults to example.com.)
 *   constbackend --stdio [ZONE]
 */
#include <pthread.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *zone = "example.com.";

/* The string value after "key": (no escapes expected), or NULL; *len gets
 * its length.  pdns puts a space after the colon in initialize, none
 * elsewhere. */
static char *field(char *line, const char *key, size_t *len)
{
	char pat[32];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	char *p = strstr(line, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p++ != '"')
		return NULL;
	char *q = strchr(p, '"');
	if (!q)
		return NULL;
	*len = (size_t)(q - p);
	return p;
}

static int answer(char *line, char *out, size_t size)
{
	char *m = strstr(line, "\"method\":");
	if (!m)
		return snprintf(out, size, "{\"result\":false}\n");
	m += 9;
	while (*m == ' ')
		m++;
	if (*m++ != '"')
		return snprintf(out, size, "{\"result\":false}\n");
	if (strncmp(m, "lookup\"", 7) == 0) {
		size_t tl, nl;
		char *qtype = field(m, "qtype", &tl);
		char *qname = field(m, "qname", &nl);
		if (!qname || !qtype)
			return snprintf(out, size, "{\"result\":false}\n");
		qtype[tl] = '\0';
		qname[nl] = '\0';
		if (strcasecmp(qname, zone) == 0) {
			if (strcmp(qtype, "ANY") && strcmp(qtype, "SOA") && strcmp(qtype, "NS"))
				return snprintf(out, size, "{\"result\":[]}\n");
			return snprintf(out, size,
					"{\"result\":[{\"qtype\":\"SOA\",\"qname\":\"%s\",\"content\":"
					"\"ns1.%s hostmaster.%s 1 10800 3600 604800 60\",\"ttl\":3600,"
					"\"domain_id\":1,\"auth\":true},{\"qtype\":\"NS\",\"qname\":\"%s\","
					"\"content\":\"ns1.%s\",\"ttl\":3600,\"domain_id\":1,\"auth\":true}]}\n",
					qname, zone, zone, qname, zone);
		}
		if (strcmp(qtype, "ANY") && strcmp(qtype, "A"))
			return snprintf(out, size, "{\"result\":[]}\n");
		return snprintf(out, size,
				"{\"result\":[{\"qtype\":\"A\",\"qname\":\"%s\",\"content\":\"192.0.2.1\","
				"\"ttl\":60,\"domain_id\":1,\"auth\":true}]}\n",
				qname);
	}
	if (strncmp(m, "getAllDomains\"", 14) == 0 || strncmp(m, "getDomainInfo\"", 14) == 0) {
		const char *di = "{\"id\":1,\"zone\":\"%s\",\"masters\":[],\"notified_serial\":1,"
				 "\"serial\":1,\"last_check\":0,\"kind\":\"native\"}";
		char buf[512];
		snprintf(buf, sizeof buf, di, zone);
		return snprintf(out, size, m[3] == 'A' ? "{\"result\":[%s]}\n" : "{\"result\":%s}\n",
				buf);
	}
	if (strncmp(m, "initialize\"", 11) == 0)
		return snprintf(out, size, "{\"result\":true}\n");
	if (strncmp(m, "getAllDomainMetadata\"", 21) == 0)
		return snprintf(out, size, "{\"result\":{}}\n");
	if (strncmp(m, "getDomainMetadata\"", 18) == 0)
		return snprintf(out, size, "{\"result\":[]}\n");
	return snprintf(out, size, "{\"result\":false}\n");
}

/* Answers the lines read from rfd on wfd until end of input or an error. */
static void serve_fds(int rfd, int wfd)
{
	char in[65536], out[4096];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(rfd, in + len, sizeof in - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		char *start = in, *nl;
		while ((nl = memchr(start, '\n', len - (size_t)(start - in)))) {
			*nl = '\0';
			int m = answer(start, out, sizeof out);
			if (write(wfd, out, (size_t)m) != m)
				return;
			start = nl + 1;
		}
		len -= (size_t)(start - in);
		memmove(in, start, len);
		if (len == sizeof in - 1)
			return;
	}
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	serve_fds(fd, fd);
	close(fd);
	return NULL;
}

/* Per-connection input of the epoll mode. */
typedef struct econn {
	int fd;
	size_t len;
	char in[65536];
} econn_t;

/* Answers the complete lines of c; 0, or -1 when c should be closed. */
static int econn_lines(econn_t *c)
{
	char out[4096], *start = c->in, *nl;
	while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->in)))) {
		*nl = '\0';
		int m = answer(start, out, sizeof out);
		if (write(c->fd, out, (size_t)m) != m)
			return -1;
		start = nl + 1;
	}
	c->len -= (size_t)(start - c->in);
	memmove(c->in, start, c->len);
	return c->len == sizeof c->in - 1 ? -1 : 0;
}

static _Noreturn void serve_epoll(int ls)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[64];
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			econn_t *c = evs[i].data.ptr;
			if (!c) {
				int fd = accept(ls, NULL, NULL);
				if (fd < 0 || !(c = calloc(1, sizeof *c))) {
					if (fd >= 0)
						close(fd);
					continue;
				}
				c->fd = fd;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			ssize_t r = read(c->fd, c->in + c->len, sizeof c->in - 1 - c->len);
			if (r > 0) {
				c->len += (size_t)r;
				if (econn_lines(c) == 0)
					continue;
			}
			close(c->fd); /* also leaves the epoll set */
			free(c);
		}
	}
}

int main(int argc, char **argv)
{
	int use_epoll = 0;
	if (argc > 1 && strcmp(argv[1], "--stdio") == 0) {
		if (argc > 2)
			zone = argv[2];
		signal(SIGPIPE, SIG_IGN);
		serve_fds(0, 1);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--epoll") == 0) {
		use_epoll = 1;
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: constbackend [--epoll] SOCKET [ZONE]\n"
		                "       constbackend --stdio [ZONE]\n");
		return 2;
	}
	if (argc > 2)
		zone = argv[2];
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
	unlink(argv[1]);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 128) < 0) {
		perror("constbackend");
		return 1;
	}
	if (use_epoll)
		serve_epoll(ls);
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_t t;
		pthread_create(&t, NULL, serve, (void *)(long)fd);
		pthread_detach(t);
	}
}
