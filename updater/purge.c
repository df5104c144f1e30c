#include "purge.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "version.h"

#define FLUSH_PATH "/api/v1/servers/localhost/cache/flush?domain="

/* One purge slot: its easy handle is made once and reused, so its
 * settings (headers, TLS, timeouts) are not rebuilt per purge. */
typedef struct preq {
	struct purge *p;
	CURL *easy;             /* NULL until the slot is first used */
	int busy;               /* added to the multi handle */
	dname_t dn;             /* queued again if the purge fails */
	char name[DNAME_MAX_TEXT];
	char err[CURL_ERROR_SIZE];
} preq_t;

/* A socket curl asked us to watch; freed in its poll handle's close
 * callback. */
typedef struct psock {
	uv_poll_t poll;
	struct purge *p;
	curl_socket_t fd;
	struct psock *prev, *next;
} psock_t;

struct purge {
	uv_loop_t *loop;
	metrics_t *m;
	log_t *log;
	CURLM *multi;
	struct curl_slist *headers; /* X-API-Key and friends, shared by all slots */
	char *base;             /* the URL without trailing slashes */
	char *ca;               /* CA file, or NULL */
	long dns_cache_s;
	uv_timer_t curl_timer;  /* curl's own timeouts */
	uv_timer_t backoff;     /* ends a pause after failures */
	psock_t *socks;         /* sockets being watched */
	preq_t slots[PURGE_MAX_INFLIGHT];
	dname_t ring[PURGE_QUEUE];
	unsigned head, count;   /* queued names */
	uint64_t queued[2 * PURGE_QUEUE]; /* hashes of queued names, to skip repeats */
	unsigned inflight;
	int closing;
	unsigned live;          /* uv handles not yet closed */
	uint64_t paused_until;  /* loop time; no purge starts before it */
	uint64_t backoff_ms;    /* the current pause; 0 = not failing */
	uint64_t failed;        /* failures since the last log line */
	uint64_t streak_failed; /* failures since the last success */
	uint64_t logged_at;     /* loop time of the last failure line */
};

static void start_next(purge_t *p);

static void maybe_free(purge_t *p)
{
	if (!p->closing || p->live)
		return;
	for (unsigned i = 0; i < PURGE_MAX_INFLIGHT; i++)
		if (p->slots[i].easy)
			curl_easy_cleanup(p->slots[i].easy);
	curl_slist_free_all(p->headers);
	free(p->base);
	free(p->ca);
	free(p);
}

static void on_handle_closed(uv_handle_t *h)
{
	purge_t *p = h->data;
	p->live--;
	maybe_free(p);
}

static void on_sock_closed(uv_handle_t *h)
{
	psock_t *s = h->data;
	purge_t *p = s->p;
	free(s);
	p->live--;
	maybe_free(p);
}

static void sock_close(purge_t *p, psock_t *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		p->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* ---- outcomes ---- */

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
		log_printf(p->log, LOG_ERR,
			   "cannot purge %s from pdns caches (%s); retrying in %llu ms, further "
			   "failures are summarised every %d s",
			   name, why, (unsigned long long)p->backoff_ms, PURGE_LOG_MS / 1000);
		p->failed = 0;
		p->logged_at = now;
	} else if (now - p->logged_at >= PURGE_LOG_MS) {
		log_printf(p->log, LOG_ERR,
			   "cannot purge from pdns caches: %llu failures in the last %llu s (last: "
			   "%s, %s); retrying in %llu ms",
			   (unsigned long long)p->failed,
			   (unsigned long long)((now - p->logged_at) / 1000), name, why,
			   (unsigned long long)(p->paused_until - now));
		p->failed = 0;
		p->logged_at = now;
	}
}

/* Counts the outcome of slot r (why: NULL, or the transport error),
 * frees the slot and starts the next purge. */
static void finish(preq_t *r, const char *why, long status)
{
	purge_t *p = r->p;
	curl_multi_remove_handle(p->multi, r->easy);
	r->busy = 0;
	p->inflight--;
	if (!why && status == 200) {
		p->m->purge_ok++;
		if (p->streak_failed && !p->closing)
			log_printf(p->log, LOG_NOTICE,
				   "purging from pdns caches works again (%llu purges failed)",
				   (unsigned long long)p->streak_failed);
		p->streak_failed = 0;
		p->backoff_ms = 0;
	} else if (!p->closing) {
		char st[32];
		/* Worth another try after the pause: pdns unreachable or
		 * failing; a 4xx would only fail again. */
		int retry = why || status >= 500;
		if (!why) {
			snprintf(st, sizeof(st), "http status %ld", status);
			why = st;
		}
		failed(p, r->name, why);
		if (retry)
			purge_name(p, &r->dn);
	} else {
		p->m->purge_failed++;
	}
	start_next(p);
}

/* Collects the purges curl finished. */
static void check_done(purge_t *p)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(p->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		preq_t *r = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		CURLcode res = msg->data.result;
		long status = 0;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		const char *why = NULL;
		if (res != CURLE_OK)
			why = r->err[0] ? r->err : curl_easy_strerror(res);
		finish(r, why, status);
	}
}

/* ---- curl on the loop ---- */

static void on_poll(uv_poll_t *h, int status, int events)
{
	psock_t *s = h->data;
	purge_t *p = s->p;
	int flags = 0;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	int running;
	/* s may be closed from inside (CURL_POLL_REMOVE); p stays. */
	curl_multi_socket_action(p->multi, s->fd, flags, &running);
	check_done(p);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	(void)e;
	purge_t *p = userp;
	psock_t *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_close(p, s);
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		if (uv_poll_init_socket(p->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->p = p;
		s->fd = fd;
		s->poll.data = s;
		s->next = p->socks;
		if (p->socks)
			p->socks->prev = s;
		p->socks = s;
		p->live++;
		curl_multi_assign(p->multi, fd, s);
	}
	int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
	return uv_poll_start(&s->poll, ev, on_poll) ? -1 : 0;
}

static void on_curl_timer(uv_timer_t *t)
{
	purge_t *p = t->data;
	int running;
	curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(p);
}

static int on_timer_change(CURLM *multi, long ms, void *userp)
{
	(void)multi;
	purge_t *p = userp;
	if (ms < 0)
		uv_timer_stop(&p->curl_timer);
	else
		uv_timer_start(&p->curl_timer, on_curl_timer, (uint64_t)ms, 0);
	return 0;
}

static size_t discard(char *ptr, size_t size, size_t n, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * n;
}

/* ---- starting purges ---- */

static CURL *new_easy(purge_t *p, preq_t *r)
{
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->err) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, "") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "kyedns-updater/" KYEDNS_VERSION) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)PURGE_TIMEOUT_MS) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, p->dns_cache_s) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	/* curl's defaults, said out loud: the key goes only to a verified
	 * server. */
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	if (p->ca)
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, p->ca) != CURLE_OK;
	if (bad) {
		curl_easy_cleanup(e);
		return NULL;
	}
	return e;
}

static int start_one(purge_t *p, const dname_t *name)
{
	preq_t *r = NULL;
	for (unsigned i = 0; i < PURGE_MAX_INFLIGHT && !r; i++)
		if (!p->slots[i].busy)
			r = &p->slots[i];
	if (!r)
		return -EBUSY;
	if (!r->easy && !(r->easy = new_easy(p, r)))
		return -ENOMEM;
	r->dn = *name;
	if (dname_to_text(name, r->name, sizeof(r->name)) < 0)
		return -EINVAL;
	char *esc = curl_easy_escape(r->easy, r->name, 0);
	if (!esc)
		return -ENOMEM;
	size_t cap = strlen(p->base) + sizeof(FLUSH_PATH) + strlen(esc);
	char *url = malloc(cap);
	if (!url) {
		curl_free(esc);
		return -ENOMEM;
	}
	snprintf(url, cap, "%s" FLUSH_PATH "%s", p->base, esc);
	curl_free(esc);
	/* libcurl copies the URL. */
	int rc = curl_easy_setopt(r->easy, CURLOPT_URL, url) == CURLE_OK ? 0 : -ENOMEM;
	free(url);
	if (rc)
		return rc;
	r->err[0] = '\0';
	if (curl_multi_add_handle(p->multi, r->easy) != CURLM_OK)
		return -ENOMEM;
	r->busy = 1;
	p->inflight++;
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
		int rc = start_one(p, &name);
		if (rc) {
			p->m->purge_failed++;
			log_printf(p->log, LOG_ERR, "cannot start a purge from pdns caches (%s)",
				   strerror(-rc));
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

/* ---- setup ---- */

/* Accepts http(s)://HOST[:PORT][/PREFIX] with nothing after the path. */
static int check_url(const char *url)
{
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return -EINVAL;
	if (strpbrk(url, "?# \t\r\n"))
		return -EINVAL;
	CURLU *u = curl_url();
	if (!u)
		return -ENOMEM;
	char *host = NULL;
	int rc = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
				 curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host
			 ? 0
			 : -EINVAL;
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

int purge_new(purge_t **out, uv_loop_t *loop, const purge_config_t *cfg, metrics_t *m,
	      log_t *log)
{
	static int curl_ready;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -EIO;
		curl_ready = 1;
	}
	int rc = check_url(cfg->url);
	if (rc)
		return rc;
	purge_t *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->loop = loop;
	p->m = m;
	p->log = log;
	p->dns_cache_s = cfg->dns_cache_s;
	p->base = strdup(cfg->url);
	p->ca = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
	/* No Content-Type and no "Expect: 100-continue" for an empty PUT. */
	const char *key = cfg->key ? cfg->key : "";
	size_t klen = strlen(key) + 16;
	char *kh = malloc(klen);
	int ok = kh != NULL;
	if (ok) {
		snprintf(kh, klen, "X-API-Key: %s", key);
		static const char *const rest[] = {"Content-Type:", "Expect:"};
		struct curl_slist *h = p->headers = curl_slist_append(NULL, kh);
		for (size_t i = 0; h && i < sizeof(rest) / sizeof(rest[0]); i++)
			h = curl_slist_append(p->headers, rest[i]);
		ok = h != NULL;
		/* The slist has its own copy of the key. */
		memset(kh, 0, klen);
		free(kh);
	}
	p->multi = curl_multi_init();
	if (!ok || !p->base || (cfg->ca_file && !p->ca) || !p->multi) {
		if (p->multi)
			curl_multi_cleanup(p->multi);
		curl_slist_free_all(p->headers);
		free(p->base);
		free(p->ca);
		free(p);
		return -ENOMEM;
	}
	size_t n = strlen(p->base);
	while (n > 0 && p->base[n - 1] == '/')
		p->base[--n] = '\0';
	for (unsigned i = 0; i < PURGE_MAX_INFLIGHT; i++)
		p->slots[i].p = p;
	curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
	curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
	curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
	uv_timer_init(loop, &p->curl_timer);
	uv_timer_init(loop, &p->backoff);
	p->curl_timer.data = p->backoff.data = p;
	p->live = 2;
	*out = p;
	return 0;
}

void purge_close(purge_t *p)
{
	if (!p)
		return;
	p->closing = 1;
	p->count = 0;
	for (unsigned i = 0; i < PURGE_MAX_INFLIGHT; i++)
		if (p->slots[i].busy)
			finish(&p->slots[i], "shutting down", 0);
	/* Closes the cached connections; the socket callback may still run
	 * from here for them. */
	curl_multi_cleanup(p->multi);
	p->multi = NULL;
	while (p->socks)
		sock_close(p, p->socks);
	uv_close((uv_handle_t *)&p->curl_timer, on_handle_closed);
	uv_close((uv_handle_t *)&p->backoff, on_handle_closed);
}
