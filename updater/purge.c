#include "purge.h"

#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llhttp.h"

typedef struct preq {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	uv_write_t write;
	llhttp_t parser;
	struct purge *p;
	char *out;              /* request bytes, freed in the close path */
	int status;             /* HTTP status of the reply, 0 before it came */
	int finished;           /* outcome counted */
	int open_handles;
	unsigned slot;          /* index in purge.active */
	dname_t dn;             /* queued again if the purge fails */
	char name[DNAME_MAX_TEXT];
} preq_t;

struct purge {
	uv_loop_t *loop;
	metrics_t *m;
	struct sockaddr_storage addr;
	char host[300];         /* Host header */
	char *key;
	dname_t ring[PURGE_QUEUE];
	unsigned head, count;   /* queued names */
	uint64_t queued[2 * PURGE_QUEUE]; /* hashes of queued names, to skip repeats */
	unsigned inflight;
	struct preq *active[PURGE_MAX_INFLIGHT];
	int closing;
	unsigned live;          /* preqs not yet freed, and the backoff timer */
	uv_timer_t backoff;     /* ends a pause after failures */
	uint64_t paused_until;  /* loop time; no purge starts before it */
	uint64_t backoff_ms;    /* the current pause; 0 = not failing */
	uint64_t failed;        /* failures since the last log line */
	uint64_t streak_failed; /* failures since the last success */
	uint64_t logged_at;     /* loop time of the last failure line */
};

static int on_status_headers(llhttp_t *lp)
{
	preq_t *r = lp->data;
	r->status = llhttp_get_status_code(lp);
	return 0;
}

static int on_reply_done(llhttp_t *lp)
{
	(void)lp;
	return HPE_PAUSED;
}

static const llhttp_settings_t reply_settings = {
	.on_headers_complete = on_status_headers,
	.on_message_complete = on_reply_done,
};

static void maybe_free(purge_t *p)
{
	if (p->closing && p->live == 0) {
		free(p->key);
		free(p);
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	preq_t *r = h->data;
	if (--r->open_handles > 0)
		return;
	purge_t *p = r->p;
	free(r->out);
	free(r);
	p->live--;
	maybe_free(p);
}

static void start_next(purge_t *p);

static void on_backoff_closed(uv_handle_t *h)
{
	purge_t *p = h->data;
	p->live--;
	maybe_free(p);
}

static void on_backoff(uv_timer_t *t)
{
	start_next(t->data);
}

/* A failed purge: pause all purges (pdns or its API is most likely down:
 * every other purge would fail the same way), doubling the pause up to
 * PURGE_BACKOFF_MAX_MS while failures go on, and log the first failure
 * and then one summary line per PURGE_LOG_MS instead of one per purge. */
static void failed(purge_t *p, const char *name, const char *why)
{
	uint64_t now = uv_now(p->loop);
	p->m->purge_failed++;
	p->failed++;
	p->streak_failed++;
	if (now >= p->paused_until) {
		p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : PURGE_BACKOFF_MIN_MS;
		if (p->backoff_ms > PURGE_BACKOFF_MAX_MS)
			p->backoff_ms = PURGE_BACKOFF_MAX_MS;
		p->paused_until = now + p->backoff_ms;
		p->m->purge_backoffs++;
		uv_timer_start(&p->backoff, on_backoff, p->backoff_ms, 0);
	}
	if (p->streak_failed == 1) {
		fprintf(stderr,
			"cannot purge %s from pdns caches (%s); retrying in %llu ms, further "
			"failures are summarised every %d s\n",
			name, why, (unsigned long long)p->backoff_ms, PURGE_LOG_MS / 1000);
		p->failed = 0;
		p->logged_at = now;
	} else if (now - p->logged_at >= PURGE_LOG_MS) {
		fprintf(stderr,
			"cannot purge from pdns caches: %llu failures in the last %llu s (last: %s, "
			"%s); retrying in %llu ms\n",
			(unsigned long long)p->failed, (unsigned long long)((now - p->logged_at) / 1000),
			name, why, (unsigned long long)(p->paused_until - now));
		p->failed = 0;
		p->logged_at = now;
	}
}

/* Counts the outcome once, closes both handles, starts the next purge. */
static void finish(preq_t *r, const char *why)
{
	if (r->finished)
		return;
	r->finished = 1;
	purge_t *p = r->p;
	if (!why && r->status == 200) {
		p->m->purge_ok++;
		if (p->streak_failed && !p->closing)
			fprintf(stderr, "purging from pdns caches works again (%llu purges failed)\n",
				(unsigned long long)p->streak_failed);
		p->streak_failed = 0;
		p->backoff_ms = 0;
	} else if (!p->closing) {
		char st[32];
		/* Worth another try after the pause: pdns unreachable or
		 * failing; a 4xx would only fail again. */
		int retry = why || r->status >= 500;
		if (!why) {
			snprintf(st, sizeof(st), "http status %d", r->status);
			why = st;
		}
		failed(p, r->name, why);
		if (retry)
			purge_name(p, &r->dn);
	} else {
		p->m->purge_failed++;
	}
	uv_close((uv_handle_t *)&r->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&r->timer, on_handle_closed);
	p->active[r->slot] = NULL;
	p->inflight--;
	start_next(p);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char scratch[4096]; /* loop thread only; consumed in on_read */
	(void)h;
	(void)hint;
	*buf = uv_buf_init(scratch, sizeof(scratch));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	preq_t *r = s->data;
	if (n < 0) {
		if (n == UV_EOF && llhttp_finish(&r->parser) == HPE_OK && r->status)
			finish(r, NULL);
		else
			finish(r, n == UV_EOF ? "connection closed early" : uv_strerror((int)n));
		return;
	}
	if (n == 0)
		return;
	llhttp_errno_t e = llhttp_execute(&r->parser, buf->base, (size_t)n);
	if (e == HPE_PAUSED)
		finish(r, NULL);
	else if (e != HPE_OK)
		finish(r, "malformed reply");
}

static void on_written(uv_write_t *w, int status)
{
	preq_t *r = w->data;
	if (status < 0)
		finish(r, uv_strerror(status));
}

static void on_connected(uv_connect_t *c, int status)
{
	preq_t *r = c->data;
	if (r->finished)
		return;
	if (status < 0) {
		finish(r, uv_strerror(status));
		return;
	}
	uv_buf_t b = uv_buf_init(r->out, (unsigned)strlen(r->out));
	int rc = uv_write(&r->write, (uv_stream_t *)&r->tcp, &b, 1, on_written);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_read);
	if (rc)
		finish(r, uv_strerror(rc));
}

static void on_timeout(uv_timer_t *t)
{
	finish(t->data, "timed out");
}

static int start_one(purge_t *p, const dname_t *name)
{
	preq_t *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->p = p;
	r->dn = *name;
	if (dname_to_text(name, r->name, sizeof(r->name)) < 0) {
		free(r);
		return -EINVAL;
	}
	size_t cap = strlen(r->name) + strlen(p->host) + strlen(p->key) + 256;
	r->out = malloc(cap);
	if (!r->out) {
		free(r);
		return -ENOMEM;
	}
	/* Host names are letters, digits, '-' and '.': nothing to escape. */
	snprintf(r->out, cap,
		 "PUT /api/v1/servers/localhost/cache/flush?domain=%s HTTP/1.1\r\n"
		 "Host: %s\r\nX-API-Key: %s\r\nContent-Length: 0\r\nConnection: close\r\n"
		 "User-Agent: kyedns-updater\r\n\r\n",
		 r->name, p->host, p->key);
	llhttp_init(&r->parser, HTTP_RESPONSE, &reply_settings);
	r->parser.data = r;
	uv_tcp_init(p->loop, &r->tcp);
	uv_timer_init(p->loop, &r->timer);
	r->tcp.data = r->timer.data = r->connect.data = r->write.data = r;
	r->open_handles = 2;
	while (p->active[r->slot])
		r->slot++;
	p->active[r->slot] = r;
	p->live++;
	p->inflight++;
	uv_timer_start(&r->timer, on_timeout, PURGE_TIMEOUT_MS, 0);
	int rc = uv_tcp_connect(&r->connect, &r->tcp, (struct sockaddr *)&p->addr, on_connected);
	if (rc)
		finish(r, uv_strerror(rc));
	return 0;
}

/* FNV-1a of the key form; 0 is kept for "empty". */
static uint64_t name_hash(const dname_t *n)
{
	uint64_t h = 14695981039346656037ull;
	for (unsigned i = 0; i < n->len; i++)
		h = (h ^ n->key[i]) * 1099511628211ull;
	return h ? h : 1;
}

static void start_next(purge_t *p)
{
	if (p->paused_until && uv_now(p->loop) < p->paused_until)
		return; /* the backoff timer calls again */
	while (!p->closing && p->count && p->inflight < PURGE_MAX_INFLIGHT) {
		dname_t name = p->ring[p->head];
		p->head = (p->head + 1) % PURGE_QUEUE;
		p->count--;
		uint64_t h = name_hash(&name);
		uint64_t *slot = &p->queued[h % (2 * PURGE_QUEUE)];
		if (*slot == h)
			*slot = 0;
		if (start_one(p, &name)) {
			p->m->purge_failed++;
			fprintf(stderr, "cannot purge from pdns caches (out of memory)\n");
		}
	}
}

void purge_name(purge_t *p, const dname_t *name)
{
	if (p->closing)
		return;
	/* A name already waiting is purged once: a host that updates in a
	 * burst costs pdns one flush, and the queue room stays for others.
	 * (A slot shared by two names only forgets one of them: at worst a
	 * second purge of the same name.) */
	uint64_t h = name_hash(name);
	uint64_t *slot = &p->queued[h % (2 * PURGE_QUEUE)];
	if (*slot == h)
		return;
	if (p->count == PURGE_QUEUE) {
		p->m->purge_dropped++;
		return;
	}
	*slot = h;
	p->ring[(p->head + p->count) % PURGE_QUEUE] = *name;
	p->count++;
	start_next(p);
}

unsigned purge_pending(const purge_t *p)
{
	return p->count + p->inflight;
}

int purge_new(purge_t **out, uv_loop_t *loop, const char *url, const char *key, metrics_t *m)
{
	if (strncmp(url, "http://", 7) != 0)
		return -EINVAL;
	const char *h = url + 7, *end = h + strcspn(h, "/");
	char host[256], port[16] = "80";
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (!rb || (size_t)(rb - h - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, h + 1, (size_t)(rb - h - 1));
		host[rb - h - 1] = '\0';
		if (rb + 1 < end) {
			if (rb[1] != ':' || (size_t)(end - rb - 2) >= sizeof(port))
				return -EINVAL;
			memcpy(port, rb + 2, (size_t)(end - rb - 2));
			port[end - rb - 2] = '\0';
		}
	} else {
		const char *colon = memchr(h, ':', (size_t)(end - h));
		const char *hend = colon ? colon : end;
		if (hend == h || (size_t)(hend - h) >= sizeof(host))
			return -EINVAL;
		memcpy(host, h, (size_t)(hend - h));
		host[hend - h] = '\0';
		if (colon) {
			if ((size_t)(end - colon - 1) >= sizeof(port) || end == colon + 1)
				return -EINVAL;
			memcpy(port, colon + 1, (size_t)(end - colon - 1));
			port[end - colon - 1] = '\0';
		}
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -EINVAL;
	purge_t *p = calloc(1, sizeof(*p));
	if (!p) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	memcpy(&p->addr, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	snprintf(p->host, sizeof(p->host), "%.*s", (int)(end - h), h);
	p->key = strdup(key ? key : "");
	if (!p->key) {
		free(p);
		return -ENOMEM;
	}
	p->loop = loop;
	p->m = m;
	uv_timer_init(loop, &p->backoff);
	p->backoff.data = p;
	p->live = 1; /* the backoff timer, until purge_close closes it */
	*out = p;
	return 0;
}

void purge_close(purge_t *p)
{
	if (!p)
		return;
	p->closing = 1;
	p->count = 0;
	p->live++; /* keep p while finishing the in-flight ones */
	for (unsigned i = 0; i < PURGE_MAX_INFLIGHT; i++)
		if (p->active[i])
			finish(p->active[i], "shutting down");
	uv_close((uv_handle_t *)&p->backoff, on_backoff_closed);
	p->live--;
	maybe_free(p);
}
