#include "server.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <uv.h>

#include "acme.h"
#include "dd.h"
#include "dname.h"
#include "err.h"
#include "http.h"
#include "limit.h"
#include "log.h"
#include "metrics.h"
#include "purge.h"
#include "token.h"
#include "version.h"
#include "writer.h"

#define READ_BUF 65536
#define MAX_WRITE_QUEUE (1u << 20) /* a client that does not read its answers */
#define DRAIN_MS 2000              /* linger after an error answer */
#define STOP_POLL_MS 20
#define PEND_MAX READ_BUF          /* bytes kept while a request is with the writer */
#define LOG_MAX_URL 256            /* URL bytes written to the access log */
#define LOG_MAX_AGENT 128          /* User-Agent bytes written to the access log */
#define LOG_MAX_USER 128           /* user (host list) bytes written to the access log */
#define LOG_SUMMARY_MS 10000       /* at most one "not logged" summary per this */

typedef struct server server_t;

typedef struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	server_t *srv;
	http_parser_t hp;
	addr_t peer;
	char *pend;           /* bytes after a request that waits for the writer */
	size_t pend_len;
	unsigned refs;        /* handles (1) + queued writes + a writer job */
	unsigned open_handles;
	uint8_t busy;         /* a request of this connection is with the writer */
	uint8_t in_req;       /* header timer runs for a partial request */
	uint8_t closing;      /* uv_close called */
	uint8_t draining;     /* error answered; discarding input until EOF */
	uint8_t close_after;  /* close once the queued writes are flushed */
	uint8_t paused;       /* reading stopped while busy (pend full, or EOF) */
	uint8_t eof;          /* the client finished sending while busy */
	uint8_t counted;      /* counted in the per-client connection limit */
	uint8_t got_bytes;    /* the client has sent something */
	uint64_t deadline;    /* loop time (ms) the timer acts at */
	uint64_t timer_due;   /* loop time the timer is set to fire at */
	struct conn *prev, *next;
} conn_t;

typedef struct listener {
	uv_tcp_t tcp;
	server_t *srv;
	char name[64];
} listener_t;

/* One update request: built in the server's scratch, copied out only when
 * it goes to the writer. */
enum style { ST_DYNDNS, ST_HTTPREQ, ST_ACMEDNS }; /* how the answer is written */

typedef struct upd {
	wr_job_t job;
	conn_t *c;
	http_req_t *req;
	uint64_t t0;              /* uv_hrtime at dispatch */
	addr_t client;
	addr_t v4, v6;            /* the addresses echoed in good/nochg */
	unsigned nhosts;
	int authed;               /* the token belongs to some host named */
	unsigned retry_after;     /* seconds, for abuse lines; 0 = none */
	int code[DD_MAX_HOSTS];
	int item[DD_MAX_HOSTS];   /* index into items, or -1 */
	int item_rc[DD_MAX_HOSTS]; /* the store's refusal behind a dnserr, or 0 */
	uint8_t style;            /* enum style */
	uint8_t forbid;           /* acme-dns: the subdomain names another host */
	wr_item_t tmpl;           /* what the request asks of each host */
	char user[LOG_MAX_USER + 4]; /* for the access log, escaped; "" = none */
	wr_item_t items[];        /* job.n of them */
} upd_t;

struct server {
	const server_config_t *cfg;
	uv_loop_t *loop;
	store_t *store;
	store_txn_t *rtxn;        /* the loop's read txn, reset between requests */
	writer_t *writer;
	purge_t *purge;
	limit_t *limit;
	metrics_t m;
	listener_t listeners[SERVER_MAX_LISTEN];
	unsigned nlisteners;
	log_t *log;
	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t stop_timer;
	conn_t *conns;            /* all open connections */
	unsigned nconns;
	unsigned jobs;            /* writer jobs outstanding */
	int stopping;
	char readbuf[READ_BUF];
	dd_params_t params;       /* scratch of the request being handled */
	upd_t *scratch;           /* room for DD_MAX_HOSTS items; copied only when a
				     request goes to the writer */
	char basic[HTTP_MAX_AUTH];
	int quiet;                /* the reply being sent is not logged */
	const char *log_user;     /* user field of the reply being sent, or NULL */
	char user_buf[LOG_MAX_USER + 4];
	int warned_fwd;           /* warned about forwarding headers from an untrusted peer */
	uint64_t suppressed;      /* access lines not written since the last summary */
	uint64_t summary_at;      /* loop time of the last summary */
	uv_timer_t gc_timer;      /* ACME values' garbage collector */
	int gc_busy;              /* a collection is with the writer */
};

static void conn_close(conn_t *c);
static void conn_process(conn_t *c, const char *data, size_t len);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void on_conn_timer(uv_timer_t *t);
static void arm_timer(conn_t *c);
static void conn_deadline(conn_t *c, uint64_t ms, int force);

/* ---- helpers ---- */

/* addr_format, with IPv4 by hand: glibc's inet_ntop formats IPv4 with
 * sprintf, and this runs up to twice per request.  Returns the length (0
 * for an address without family). */
static size_t fmt_addr(const addr_t *a, char *out)
{
	if (a->family == 4) {
		char *o = out;
		for (int i = 0; i < 4; i++) {
			unsigned v = a->bytes[i];
			if (v >= 100)
				*o++ = (char)('0' + v / 100);
			if (v >= 10)
				*o++ = (char)('0' + v / 10 % 10);
			*o++ = (char)('0' + v % 10);
			*o++ = '.';
		}
		o[-1] = '\0';
		return (size_t)(o - 1 - out);
	}
	int n = addr_format(a, out, ADDR_TEXT_MAX);
	if (n < 0) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

static void conn_unref(conn_t *c)
{
	if (--c->refs)
		return;
	http_parser_free(&c->hp);
	free(c->pend);
	free(c);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
	conn_t *c = h->data;
	if (--c->open_handles == 0)
		conn_unref(c);
}

static void conn_close(conn_t *c)
{
	if (c->closing)
		return;
	server_t *srv = c->srv;
	c->closing = 1;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	srv->m.conns_open--;
	if (c->counted)
		limit_conn_close(srv->limit, &c->peer);
	uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

typedef struct wreq {
	uv_write_t w;
	conn_t *c;
	size_t len;
	char data[];
} wreq_t;

static void on_written(uv_write_t *w, int status)
{
	wreq_t *wr = (wreq_t *)w;
	conn_t *c = wr->c;
	free(wr);
	if (status < 0) {
		conn_close(c);
	} else if (c->close_after && !c->closing &&
		   uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0 &&
		   !c->draining) {
		conn_close(c);
	}
	conn_unref(c);
}

/* Sends buf (len bytes; the caller keeps buf).  Tries the socket first so
 * the common small answer costs no allocation or callback. */
static void conn_send(conn_t *c, const char *buf, size_t len)
{
	if (c->closing)
		return;
	uv_stream_t *s = (uv_stream_t *)&c->tcp;
	size_t off = 0;
	if (uv_stream_get_write_queue_size(s) == 0) {
		uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
		int n = uv_try_write(s, &b, 1);
		if (n > 0)
			off = (size_t)n;
		else if (n < 0 && n != UV_EAGAIN) {
			conn_close(c);
			return;
		}
	}
	if (off == len)
		return;
	if (uv_stream_get_write_queue_size(s) > MAX_WRITE_QUEUE) {
		char ip[ADDR_TEXT_MAX];
		addr_format(&c->peer, ip, sizeof(ip));
		log_printf(c->srv->log, LOG_WARNING,
			   "closing connection from %s (it does not read its answers)", ip);
		conn_close(c);
		return;
	}
	wreq_t *wr = malloc(sizeof(*wr) + len - off);
	if (!wr) {
		conn_close(c);
		return;
	}
	wr->c = c;
	wr->len = len - off;
	memcpy(wr->data, buf + off, len - off);
	uv_buf_t b = uv_buf_init(wr->data, (unsigned)wr->len);
	if (uv_write(&wr->w, s, &b, 1, on_written)) {
		free(wr);
		conn_close(c);
		return;
	}
	c->refs++;
}

/* Closes now, or after the queued writes when there are some. */
static void conn_finish(conn_t *c)
{
	if (c->closing)
		return;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
		conn_close(c);
	} else {
		c->close_after = 1;
		uv_read_stop((uv_stream_t *)&c->tcp);
	}
}

static uint64_t unix_now(void)
{
	return (uint64_t)time(NULL);
}

/* Appends s (n bytes) to the log line at *o, within end. */
static char *lput(char *o, const char *end, const char *s, size_t n)
{
	if (n > (size_t)(end - o))
		n = (size_t)(end - o);
	memcpy(o, s, n);
	return o + n;
}

/* Cuts an escaped log field of n bytes at s to at most max bytes plus
 * "..." (never inside a \xHH escape); returns its new length.  The URL and
 * agent are the client's: without a cap, 2 KiB of bytes that need escaping
 * became 8 KiB of log. */
static size_t log_clip(char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	n = max;
	for (size_t k = 1; k <= 3 && k <= n; k++)
		if (s[n - k] == '\\') {
			n -= k;
			break;
		}
	memcpy(s + n, "...", 3);
	return n + 3;
}

/* Counts an access line that is not written (the client is over its rate
 * limit) and writes one summary line per LOG_SUMMARY_MS instead, so a flood
 * cannot flood the log. */
static void log_suppressed(server_t *srv)
{
	srv->m.log_suppressed++;
	srv->suppressed++;
	uint64_t now = uv_now(srv->loop);
	if (!srv->cfg->access_log || (srv->summary_at && now - srv->summary_at < LOG_SUMMARY_MS))
		return;
	log_printf(srv->log, LOG_WARNING,
		"rate limit: %llu requests refused and not logged in the last %llu s "
		"(kyedns_rate_limited_total counts them)",
		(unsigned long long)srv->suppressed,
		(unsigned long long)(srv->summary_at ? (now - srv->summary_at + 999) / 1000 : 0));
	srv->suppressed = 0;
	srv->summary_at = now;
}

/* Appends " key=" and a logfmt value: as it is when it is a plain word,
 * else in double quotes.  v is already escaped (dd_redact: no raw quote,
 * backslash or control byte; its \xHH escapes are Go string escapes, which
 * logfmt readers decode inside quotes), so quoting is all that is left. */
static char *lkv(char *o, const char *end, const char *key, const char *v, size_t n)
{
	size_t klen = strlen(key);
	if ((size_t)(end - o) < klen + 4)
		return o; /* no room: the field is left out, never cut in half */
	int quote = n == 0;
	for (size_t i = 0; i < n && !quote; i++)
		quote = v[i] == ' ' || v[i] == '=' || v[i] == '\\' || v[i] == '"';
	*o++ = ' ';
	o = lput(o, end, key, klen);
	*o++ = '=';
	if (quote)
		*o++ = '"';
	o = lput(o, end, v, n);
	if (quote) {
		if (o == end)
			o--; /* a cut value still ends with its quote */
		*o++ = '"';
	}
	return o;
}

/* Copies the user of an update request (escaped, cut) for its access
 * line: the Basic or username= user, else the hostname= list. */
static void set_log_user(server_t *srv, dd_str_t who)
{
	srv->log_user = NULL;
	if (!who.p || !who.len)
		return;
	char tmp[LOG_MAX_USER * 4 + 8];
	size_t n = who.len > LOG_MAX_USER ? LOG_MAX_USER + 1 : who.len;
	n = log_clip(tmp, dd_redact(who.p, n, tmp, sizeof(tmp)), LOG_MAX_USER);
	memcpy(srv->user_buf, tmp, n);
	srv->user_buf[n] = '\0';
	srv->log_user = srv->user_buf;
}

/*
 * One logfmt line per request, at priority info:
 *   msg=access client=IP method=GET path=/nic/update query="..." status=200
 *   result=good,nochg addr=192.0.2.1 user=h.example.org bytes=21
 *   duration_ms=0.412 ua="..."
 * query has token= and password= values replaced by *** (dd_redact), and
 * never carries the Authorization header; query, result, addr, user and ua
 * are left out when there is none.  Built by hand: this runs for every
 * request.
 */
static void log_access(server_t *srv, const addr_t *client, const http_req_t *req,
		       enum metrics_endpoint ep, int status, const char *body, size_t body_len,
		       uint64_t t0)
{
	if (!srv->cfg->access_log || srv->quiet)
		return;
	char line[1536];
	char tmp[HTTP_MAX_URL * 4 + 8];
	char *o = line, *end = line + sizeof(line);
	char ip[ADDR_TEXT_MAX];
	o = lput(o, end, "msg=access", 10);
	o = lkv(o, end, "client", ip, fmt_addr(client, ip));
	const char *m = llhttp_method_name((llhttp_method_t)req->method);
	o = lkv(o, end, "method", m, strlen(m));
	size_t n = log_clip(tmp, dd_redact(req->url, req->url_len, tmp, sizeof(tmp)), LOG_MAX_URL);
	const char *q = memchr(tmp, '?', n);
	o = lkv(o, end, "path", tmp, q ? (size_t)(q - tmp) : n);
	if (q && q + 1 < tmp + n)
		o = lkv(o, end, "query", q + 1, (size_t)(tmp + n - q - 1));
	char num[24];
	o = lkv(o, end, "status", num, (size_t)snprintf(num, sizeof(num), "%d", status));
	if (ep == EP_UPDATE) {
		/* The body is ours: one "code [addrs]" line per host. */
		char res[DD_MAX_HOSTS * 10];
		size_t rn = 0;
		const char *addr = NULL;
		size_t alen = 0;
		for (size_t i = 0; i < body_len && rn + 10 < sizeof(res);) {
			size_t e = i;
			while (e < body_len && body[e] != '\n')
				e++;
			size_t w = i;
			while (w < e && body[w] != ' ')
				w++;
			if (w > i && w - i < 10) {
				if (rn)
					res[rn++] = ',';
				memcpy(res + rn, body + i, w - i);
				rn += w - i;
			}
			if (!addr && w < e) {
				addr = body + w + 1;
				alen = e - w - 1;
			}
			i = e + 1;
		}
		if (rn)
			o = lkv(o, end, "result", res, rn);
		if (addr && alen < 2 * ADDR_TEXT_MAX)
			o = lkv(o, end, "addr", addr, alen);
		if (srv->log_user)
			o = lkv(o, end, "user", srv->log_user, strlen(srv->log_user));
	} else if (ep == EP_ACME && srv->log_user) {
		o = lkv(o, end, "user", srv->log_user, strlen(srv->log_user));
	}
	o = lkv(o, end, "bytes", num, (size_t)snprintf(num, sizeof(num), "%zu", body_len));
	uint64_t us = (uv_hrtime() - t0 + 500) / 1000;
	o = lkv(o, end, "duration_ms", num,
		(size_t)snprintf(num, sizeof(num), "%llu.%03llu", (unsigned long long)(us / 1000),
				 (unsigned long long)(us % 1000)));
	size_t alen;
	const char *a = http_header(req, HTTP_H_AGENT, &alen);
	/* The agent is not a URL: redaction finds nothing, escaping is what
	 * counts. */
	if (a)
		o = lkv(o, end, "ua", tmp, log_clip(tmp, dd_redact(a, alen, tmp, sizeof(tmp)),
						    LOG_MAX_AGENT));
	log_printf(srv->log, LOG_INFO, "%.*s", (int)(o - line), line);
}

/*
 * Answers req on c (if c is still open), logs and counts it, frees req and
 * continues or ends the connection.  extra: header lines or NULL.
 */
static void reply(conn_t *c, http_req_t *req, const addr_t *client, enum metrics_endpoint ep,
		  int status, const char *ctype, const char *extra, const char *body,
		  size_t body_len, uint64_t t0)
{
	server_t *srv = c->srv;
	/* After a 405 the request may have had a body we did not wait for. */
	int keep = req->keepalive && !req->upgrade && !srv->stopping && status != 405 &&
		   !(status == 429 && req->method != HTTP_GET && req->method != HTTP_HEAD);
	int head = req->method == HTTP_HEAD;
	char buf[2048];
	size_t len = http_response_into(buf, sizeof(buf), status, ctype, extra, body, body_len,
					head, keep);
	if (len) {
		conn_send(c, buf, len);
	} else {
		char *out = http_response(status, ctype, extra, body, body_len, head, keep, &len);
		if (out) {
			conn_send(c, out, len);
			free(out);
		} else {
			keep = 0;
		}
	}
	metrics_request(&srv->m, ep, status);
	log_access(srv, client, req, ep, status, head ? 0 : body, head ? 0 : body_len, t0);
	srv->log_user = NULL;
	http_req_free(req);
	if (!keep)
		conn_finish(c);
}

static void reply_text(conn_t *c, http_req_t *req, const addr_t *client,
		       enum metrics_endpoint ep, int status, const char *extra, const char *text,
		       uint64_t t0)
{
	reply(c, req, client, ep, status, "text/plain; charset=utf-8", extra, text, strlen(text),
	      t0);
}

static void on_shutdown(uv_shutdown_t *sh, int status)
{
	(void)status;
	free(sh);
}

/* Answers a protocol error (4xx/5xx before a request existed) and lingers:
 * the client may still be sending, and closing with unread data would
 * reset the connection before it reads the answer. */
static int trusted(const server_t *srv, const addr_t *a);

static void reply_error(conn_t *c, int status)
{
	server_t *srv = c->srv;
	char body[64];
	/* A malformed request costs its client a token like any other (the
	 * peer: no header of it can be believed); over the limit it is still
	 * answered, but not logged. */
	unsigned retry;
	int limited = !trusted(srv, &c->peer) &&
		      limit_rate(srv->limit, &c->peer, uv_now(srv->loop), &retry);
	if (limited) {
		srv->m.rate_limited++;
		log_suppressed(srv);
	}
	int n = snprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));
	size_t len;
	char *out = http_response(status, "text/plain; charset=utf-8", NULL, body, (size_t)n, 0, 0,
				  &len);
	srv->m.http_errors++;
	metrics_request(&srv->m, EP_OTHER, status);
	if (srv->cfg->access_log && !limited) {
		/* No request to describe: only who and why. */
		char ip[ADDR_TEXT_MAX], why[64];
		addr_format(&c->peer, ip, sizeof(ip));
		snprintf(why, sizeof(why), "%s", http_reason(status));
		for (char *w = why; *w; w++)
			*w = (char)tolower((unsigned char)*w);
		log_printf(srv->log, LOG_INFO, "msg=access client=%s status=%d error=\"%s\" bytes=%d",
			   ip, status, why, n);
	}
	if (out) {
		conn_send(c, out, len);
		free(out);
	}
	if (c->closing)
		return;
	http_parser_free(&c->hp);
	c->draining = 1;
	c->in_req = 0;
	uv_shutdown_t *sh = malloc(sizeof(*sh));
	if (!sh || uv_shutdown(sh, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
		free(sh);
		conn_close(c);
		return;
	}
	conn_deadline(c, DRAIN_MS, 1);
}

/* ---- client address ---- */

static int trusted(const server_t *srv, const addr_t *a)
{
	for (unsigned i = 0; i < srv->cfg->ntrusted; i++)
		if (addr_cidr_match(&srv->cfg->trusted[i], a))
			return 1;
	return 0;
}

/* Parses one X-Forwarded-For element (spaces around it trimmed) into *a,
 * IPv4-mapped IPv6 normalised to IPv4.  0, or -1 for anything else. */
static int fwd_addr(const char *s, size_t len, addr_t *a)
{
	while (len && (s[0] == ' ' || s[0] == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (addr_parse(a, s, len) != 0)
		return -1;
	addr_normalize(a);
	return 0;
}

/*
 * The client of a request.  Only a trusted proxy's word counts: the peer,
 * unless it is a trusted proxy; then X-Forwarded-For read from the right
 * (RFC 7239 practice: each proxy appends the address it saw, so only the
 * right-most entries were written by proxies we trust) and the first
 * address that is not itself a trusted proxy is the client.  A malformed
 * entry, or the cut left end of an over-long header (its last
 * HTTP_MAX_FWD bytes are kept), ends the walk: the client is then the
 * left-most trusted hop that was read, never something further left.
 * X-Real-IP is used only when there is no X-Forwarded-For at all, so a
 * client cannot swap in its own X-Real-IP by making X-Forwarded-For long.
 */
static addr_t client_of(server_t *srv, const conn_t *c, const http_req_t *req)
{
	addr_t client = c->peer;
	size_t len;
	const char *xff = http_header(req, HTTP_H_XFF, &len);
	const char *xri = NULL;
	if (!srv->cfg->ntrusted || !trusted(srv, &client)) {
		if (!srv->warned_fwd &&
		    (xff || (xri = http_header(req, HTTP_H_XRI, &len)) != NULL)) {
			char ip[ADDR_TEXT_MAX];
			addr_format(&client, ip, sizeof(ip));
			log_printf(srv->log, LOG_WARNING,
				"warning: %s sent %s but is not a --trusted-proxy: its requests "
				"count as %s's own (if it is your proxy, every client shares one "
				"rate limit and lockout; add it with --trusted-proxy)",
				ip, xff ? "X-Forwarded-For" : "X-Real-IP", ip);
			srv->warned_fwd = 1;
		}
		return client;
	}
	if (xff) {
		int cut = req->hdr_trunc[HTTP_H_XFF];
		size_t end = len;
		while (end > 0) {
			size_t start = end;
			while (start > 0 && xff[start - 1] != ',')
				start--;
			addr_t a;
			if ((cut && start == 0) || fwd_addr(xff + start, end - start, &a) != 0)
				break; /* garbage or a cut element: look no further left */
			client = a;
			if (!trusted(srv, &a))
				return a;
			if (start == 0)
				break;
			end = start - 1;
		}
		return client;
	}
	xri = http_header(req, HTTP_H_XRI, &len);
	addr_t a;
	if (xri && !req->hdr_trunc[HTTP_H_XRI] && fwd_addr(xri, len, &a) == 0)
		return a;
	return client;
}

/* ---- dyndns2 and ACME ---- */

static size_t format_addrs(const addr_t *v4, const addr_t *v6, char *out)
{
	size_t n = 0;
	if (v4->family)
		n += fmt_addr(v4, out + n);
	if (v4->family && v6->family)
		out[n++] = ',';
	if (v6->family)
		n += fmt_addr(v6, out + n);
	out[n] = '\0';
	return n;
}

/* The answer of a JSON endpoint (httpreq, acme-dns) for the one host it
 * names: status and body by the host's code and the item's own refusal. */
static void reply_acme(conn_t *c, upd_t *u)
{
	server_t *srv = c->srv;
	int code = u->code[0], irc = u->item_rc[0];
	int status = 200;
	const char *word = dd_code_str(code), *ctype = "text/plain; charset=utf-8";
	char body[STORE_ACME_VALUE_MAX + 64];
	char extra[128] = "";
	srv->m.results[code]++;
	switch (code) {
	case DD_GOOD:
	case DD_NOCHG: status = 200; break;
	case DD_BADAUTH: status = 401; break;
	case DD_NOHOST: status = u->authed ? 403 : 401; break;
	case DD_NOTFQDN: status = 400; break;
	case DD_ABUSE: status = 429; break;
	case DD_DNSERR: status = irc == ERR_TOOBIG || irc == ERR_CLASH ? 409 : 400; break;
	default: status = 500; break;
	}
	if (u->style == ST_ACMEDNS) {
		/* acme-dns's own answers: {"txt": value} or {"error": why}. */
		const char *err = status == 401 ? (code == DD_NOHOST ? "forbidden" : "unauthorized")
				: status == 403 ? "forbidden"
				: status == 429 ? "rate_limited"
				: status == 409 ? (irc == ERR_CLASH ? "cname_at_owner" : "too_many_values")
				: status == 400 ? "bad_txt"
						: "db_error";
		if (status == 403)
			status = 401; /* acme-dns says 401 "forbidden" */
		if (status == 200)
			snprintf(body, sizeof(body), "{\"txt\": \"%.*s\"}\n", (int)u->tmpl.value_len,
				 u->tmpl.value);
		else
			snprintf(body, sizeof(body), "{\"error\": \"%s\"}\n", err);
		ctype = "application/json";
	} else {
		const char *why = irc == ERR_TOOBIG ? " (too many values)"
				: irc == ERR_CLASH ? " (a CNAME is at the owner)"
				: irc == ERR_BADTXT ? " (bad value)"
						    : "";
		snprintf(body, sizeof(body), "%s%s\n", word, why);
		if (status == 401)
			strcpy(extra, "WWW-Authenticate: Basic realm=\"kyedns\"\r\n");
	}
	if (status == 429 && u->retry_after)
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", u->retry_after);
	srv->log_user = u->user[0] ? u->user : NULL;
	reply(c, u->req, &u->client, EP_ACME, status, ctype, extra[0] ? extra : NULL, body,
	      strlen(body), u->t0);
	u->req = NULL;
}

/* Builds the body (one line per host) and answers. */
static void reply_update(conn_t *c, upd_t *u)
{
	if (u->style != ST_DYNDNS) {
		reply_acme(c, u);
		return;
	}
	server_t *srv = c->srv;
	char body[DD_MAX_HOSTS * (8 + 2 * ADDR_TEXT_MAX + 2) + 16];
	char ips[2 * ADDR_TEXT_MAX + 2];
	size_t n = 0;
	int any_badauth = 0, all_911 = u->nhosts > 0;
	size_t ilen = format_addrs(&u->v4, &u->v6, ips);
	for (unsigned i = 0; i < u->nhosts; i++) {
		int code = u->code[i];
		srv->m.results[code]++;
		any_badauth |= code == DD_BADAUTH;
		all_911 &= code == DD_911;
		const char *word = dd_code_str(code);
		size_t wl = strlen(word);
		memcpy(body + n, word, wl);
		n += wl;
		if ((code == DD_GOOD || code == DD_NOCHG) && ilen) {
			body[n++] = ' ';
			memcpy(body + n, ips, ilen);
			n += ilen;
		}
		body[n++] = '\n';
	}
	/* 401 only for a caller who proved nothing; an authenticated caller
	 * gets its per-host lines with 200. */
	int challenge = any_badauth && !u->authed;
	int status = challenge ? 401 : all_911 ? 500 : 200;
	char extra[128] = "";
	if (challenge)
		strcpy(extra, "WWW-Authenticate: Basic realm=\"kyedns\"\r\n");
	else if (u->retry_after)
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", u->retry_after);
	srv->log_user = u->user[0] ? u->user : NULL;
	reply(c, u->req, &u->client, EP_UPDATE, status, "text/plain; charset=utf-8",
	      extra[0] ? extra : NULL, body, n, u->t0);
	u->req = NULL;
}

/* A whole-request answer with one code (no per-host lines). */
static void reply_code(conn_t *c, http_req_t *req, const addr_t *client, int code,
		       unsigned retry_after, uint64_t t0)
{
	char extra[128] = "", body[16];
	if (code == DD_BADAUTH)
		strcpy(extra, "WWW-Authenticate: Basic realm=\"kyedns\"\r\n");
	else if (retry_after)
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", retry_after);
	snprintf(body, sizeof(body), "%s\n", dd_code_str(code));
	c->srv->m.results[code]++;
	reply_text(c, req, client, EP_UPDATE, dd_code_status(code), extra[0] ? extra : NULL, body,
		   t0);
}

/* A refusal of an ACME endpoint before any host was looked at. */
static void reply_acme_error(conn_t *c, http_req_t *req, const addr_t *client, int style,
			     int status, const char *why, uint64_t t0)
{
	char body[256];
	const char *extra = status == 401 && style == ST_HTTPREQ
				    ? "WWW-Authenticate: Basic realm=\"kyedns\"\r\n"
				    : NULL;
	if (style == ST_ACMEDNS) {
		snprintf(body, sizeof(body), "{\"error\": \"%s\"}\n", why);
		reply(c, req, client, EP_ACME, status, "application/json", extra, body,
		      strlen(body), t0);
	} else {
		snprintf(body, sizeof(body), "%s\n", why);
		reply_text(c, req, client, EP_ACME, status, extra, body, t0);
	}
}

static void log_refusal(server_t *srv, const wr_item_t *it, int rc)
{
	char name[DNAME_MAX_TEXT];
	dname_to_text(&it->name, name, sizeof(name));
	if (it->op == WR_UPDATE)
		log_printf(srv->log, LOG_NOTICE, "refused wildcard of %s (%s)", name,
			   rc == ERR_CLASH ? "*.name holds a static A, AAAA or CNAME, or name "
					     "holds NS"
					   : err_str(rc));
	else
		log_printf(srv->log, LOG_NOTICE, "refused ACME value of %s (%s)", name,
			   rc == ERR_TOOBIG ? "the host has its maximum of live values"
			   : rc == ERR_CLASH ? "a CNAME is at its _acme-challenge name"
					     : err_str(rc));
}

/* Purges what a committed item changed. */
static void purge_item(server_t *srv, const wr_item_t *it)
{
	if (it->op == WR_UPDATE) {
		purge_name(srv->purge, &it->name); /* *.H is below it */
		return;
	}
	dname_t owner;
	if (store_acme_name(&it->name, &owner) == 0)
		purge_name(srv->purge, &owner);
}

static void after_update(server_t *srv, upd_t *u)
{
	conn_t *c = u->c;
	wr_job_t *j = &u->job;
	if (j->batch) {
		metrics_commit(&srv->m, j->batch, j->commit_ns);
		srv->m.store_grows += j->grows;
	}
	if (j->rc)
		srv->m.commit_errors++;
	for (unsigned i = 0; i < u->nhosts; i++) {
		if (u->item[i] < 0)
			continue;
		wr_item_t *it = &u->items[u->item[i]];
		if (j->rc) {
			u->code[i] = DD_911;
		} else if (it->rc == -ENOENT || it->rc == ERR_NOZONE) {
			u->code[i] = DD_NOHOST;
		} else if (it->rc) {
			u->code[i] = DD_DNSERR;
			u->item_rc[i] = it->rc;
			log_refusal(srv, it, it->rc);
		} else {
			/* Setting an ACME value always succeeds as a change: a
			 * refresh moves its expiry. */
			u->code[i] = it->changed || it->op == WR_ACME_SET ? DD_GOOD : DD_NOCHG;
		}
		if (!j->rc && it->changed && srv->purge)
			purge_item(srv, it);
	}
	if (!j->rc && srv->purge)
		for (unsigned k = 0; k < j->npurge; k++)
			purge_name(srv->purge, &j->purge[k]);
	free(j->purge);
	j->purge = NULL;
	if (c)
		reply_update(c, u);
	free(u);
}

static void on_job_done(wr_job_t *job, void *arg)
{
	server_t *srv = arg;
	upd_t *u = (upd_t *)job;
	conn_t *c = u->c;
	srv->jobs--;
	if (!c) {
		/* The garbage collector of ACME values: nobody to answer. */
		srv->gc_busy = 0;
		if (job->rc)
			log_printf(srv->log, LOG_ERR, "cannot remove expired ACME values (%s)",
				   err_str(job->rc));
		else if (job->npurge)
			log_printf(srv->log, LOG_INFO, "removed the expired ACME values of %u host%s",
				   job->npurge, job->npurge == 1 ? "" : "s");
		for (unsigned k = 0; !job->rc && srv->purge && k < job->npurge; k++) {
			dname_t owner;
			if (store_acme_name(&job->purge[k], &owner) == 0)
				purge_name(srv->purge, &owner);
		}
		job->npurge = 0; /* purged here, not as names */
		after_update(srv, u);
		return;
	}
	c->busy = 0;
	after_update(srv, u);
	if (!c->closing && !c->draining && srv->stopping)
		conn_finish(c);
	if (!c->closing && !c->draining) {
		char *p = c->pend;
		size_t n = c->pend_len;
		c->pend = NULL;
		c->pend_len = 0;
		if (p) {
			conn_process(c, p, n);
			free(p);
		}
		if (!c->busy && !c->closing && !c->draining && !c->close_after) {
			if (c->eof) {
				conn_finish(c); /* after the answers are flushed */
			} else if (c->paused &&
				   uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
				conn_close(c);
			} else {
				c->paused = 0;
				arm_timer(c);
			}
		}
	}
	conn_unref(c);
}

/*
 * Authenticates secret for host name through the host's tokens (the
 * "default" one and the named ones: expiry and allowed sources checked).
 * Returns 1 when a token matches, 0 when none does, -1 when the store
 * cannot be read.  Why a matching token was refused (expired, source) is
 * logged, never answered: the answer is badauth either way.  A missing
 * host costs the same hash as one that exists, so the time to answer does
 * not tell either.
 */
static int auth_host(server_t *srv, const dname_t *name, dd_str_t secret, const addr_t *client,
		     uint64_t unow)
{
	static const uint8_t none[TOKEN_HASH_LEN];
	char tname[STORE_TOKEN_NAME_MAX + 1] = "";
	srv->m.token_hashes++;
	int rc = store_token_check(srv->rtxn, name, secret.p, secret.len, client, unow, tname);
	if (rc == 0)
		return 1;
	if (rc == -ENOENT || rc == ERR_NOZONE) {
		if (secret.len <= TOKEN_MAX_LEN)
			(void)token_verify(none, secret.p, secret.len);
		return 0;
	}
	if (rc == ERR_BADTOKEN)
		return 0;
	char host[DNAME_MAX_TEXT], ip[ADDR_TEXT_MAX];
	dname_to_text(name, host, sizeof(host));
	if (rc == ERR_TOKENEXPIRED || rc == ERR_TOKENSOURCE) {
		addr_format(client, ip, sizeof(ip));
		log_printf(srv->log, LOG_NOTICE, "refused token '%s' of %s from %s (%s)", tname,
			   host, ip, rc == ERR_TOKENEXPIRED ? "expired" : "client address not allowed");
		return 0;
	}
	log_printf(srv->log, LOG_ERR, "cannot check the tokens of %s in store %s (%s)", host,
		   store_path(srv->store), err_str(rc));
	return -1;
}

/* Fills *it for host name from the request's template and the host's
 * stored state; returns 1 when the update would change something (0: the
 * answer is nochg without a commit), -1 when the store cannot be read. */
static int plan_update(server_t *srv, const upd_t *u, const dname_t *name, wr_item_t *it)
{
	*it = u->tmpl;
	it->name = *name;
	if (it->op != WR_UPDATE)
		return 1;
	addr_t cur4, cur6;
	if (store_host_addrs(srv->rtxn, name, &cur4, &cur6))
		return -1;
	int opts = it->offline >= 0 || it->wildcard >= 0 || it->prefix_len;
	if (opts || (!cur4.family && !cur6.family)) {
		/* Options (and the addresses of an offline host) live in
		 * hostopts; a request that only repeats them changes nothing. */
		store_hostopt_t o;
		int rc = store_hostopt_get(srv->rtxn, name, &o);
		if (rc)
			return -1;
		if (o.flags & STORE_HOST_OFFLINE) {
			cur4 = o.saved4;
			cur6 = o.saved6;
		}
		if (it->offline >= 0 && it->offline == !!(o.flags & STORE_HOST_OFFLINE))
			it->offline = -1;
		if (it->wildcard >= 0 && it->wildcard == !!(o.flags & STORE_HOST_WILDCARD))
			it->wildcard = -1;
		if (it->prefix_len && o.prefix.family == 6 && o.prefix_len == it->prefix_len &&
		    addr_equal(&o.prefix, &it->prefix))
			it->prefix_len = 0;
	}
	return (it->v4.family && !addr_equal(&it->v4, &cur4)) ||
	       (it->v6.family && !addr_equal(&it->v6, &cur6)) || it->offline >= 0 ||
	       it->wildcard >= 0 || it->prefix_len;
}

/*
 * The decisions every update endpoint shares, on u (the scratch, with its
 * style, template and per-host codes preset: -1, or a refusal such as
 * notfqdn) for the hosts names[0..u->nhosts): authentication, lockouts,
 * the account rule, the change throttle, then a writer job or an answer
 * at once.  Takes over req.
 */
static void dispatch(conn_t *c, http_req_t *req, upd_t *u, const dname_t *names,
		     dd_str_t user, dd_str_t secret)
{
	server_t *srv = c->srv;
	const addr_t *client = &u->client;
	uint64_t t0 = u->t0;
	unsigned nhosts = u->nhosts;
	u->c = c;
	u->req = req;
	snprintf(u->user, sizeof(u->user), "%s", srv->log_user ? srv->log_user : "");

	int rc = store_txn_renew(srv->rtxn);
	if (rc) {
		log_printf(srv->log, LOG_ERR, "cannot read store %s (%s)", store_path(srv->store),
			   err_str(rc));
		if (u->style == ST_DYNDNS) {
			reply_code(c, req, client, DD_911, 0, t0);
		} else {
			u->code[0] = DD_911;
			reply_update(c, u);
		}
		return;
	}
	uint64_t now = uv_now(srv->loop), unow = unix_now();
	int verified[DD_MAX_HOSTS] = {0}, principal = 0;
	int budget_spent[DD_MAX_HOSTS] = {0};
	unsigned budget_ra = 0;
	unsigned i;
	for (i = 0; i < nhosts; i++) {
		u->item[i] = -1;
		if (u->code[i] >= 0)
			continue;
		unsigned ra;
		if (limit_auth_blocked(srv->limit, &names[i], client, now, &ra)) {
			u->code[i] = DD_ABUSE;
			srv->m.auth_blocked++;
			u->retry_after = ra > u->retry_after ? ra : u->retry_after;
			continue;
		}
		/* A host whose failure budget is spent still takes the right
		 * token from anywhere (the owner's update after an address change
		 * comes from a new address, and a block would let anyone freeze
		 * the host); only a failure is then answered abuse, below. */
		if (limit_host_blocked(srv->limit, &names[i], client, now, &ra)) {
			budget_spent[i] = 1;
			budget_ra = ra > budget_ra ? ra : budget_ra;
		}
		int a = auth_host(srv, &names[i], secret, client, unow);
		if (a < 0)
			u->code[i] = DD_911;
		verified[i] = a > 0;
		principal |= verified[i];
	}
	/* The Basic username authenticates the caller too when it names a
	 * host the token belongs to (hostname= may then list others). */
	dname_t uname;
	int uname_ok = 0;
	if (!principal && user.p && user.len && dname_parse_host(&uname, user.p, user.len) == 0) {
		unsigned ra;
		uname_ok = !limit_auth_blocked(srv->limit, &uname, client, now, &ra);
		if (uname_ok && auth_host(srv, &uname, secret, client, unow) > 0) {
			principal = 1;
			limit_auth_ok(srv->limit, &uname, client, now);
		}
	}
	u->authed = principal;
	for (i = 0; i < nhosts; i++)
		if (verified[i])
			limit_auth_ok(srv->limit, &names[i], client, now);
	if (!principal) {
		/* Not authenticated: the answer must not tell whether a host
		 * exists, so every name that is not refused for other reasons
		 * gets badauth, and a failure is counted for it. */
		for (i = 0; i < nhosts; i++) {
			if (u->code[i] >= 0)
				continue;
			limit_auth_fail(srv->limit, &names[i], client, now);
			if (budget_spent[i]) {
				u->code[i] = DD_ABUSE;
				srv->m.host_blocked++;
				u->retry_after = budget_ra > u->retry_after ? budget_ra : u->retry_after;
			} else {
				u->code[i] = DD_BADAUTH;
			}
		}
		if (uname_ok) {
			int listed = 0;
			for (i = 0; i < nhosts; i++)
				listed |= u->code[i] != DD_NOTFQDN && dname_equal(&names[i], &uname);
			if (!listed)
				limit_auth_fail(srv->limit, &uname, client, now);
		}
	} else {
		/* Authenticated: the caller's "account" is the set of hosts the
		 * token belongs to.  A host outside it is nohost whether it
		 * exists or not (Dyn: "not in this user account"), so even an
		 * authenticated caller cannot probe other people's names. */
		for (i = 0; i < nhosts; i++) {
			if (u->code[i] >= 0)
				continue;
			if (!verified[i] || u->forbid) {
				u->code[i] = DD_NOHOST;
				continue;
			}
			wr_item_t *it = &u->items[u->job.n];
			int differs = plan_update(srv, u, &names[i], it);
			if (differs < 0) {
				u->code[i] = DD_911;
				continue;
			}
			/* "unchanged" judged from the last commit is only
			 * true when no update is on its way to the writer:
			 * an earlier request may be about to change this
			 * host, and its answer must not be nochg-then-lost.
			 * The writer decides changed/unchanged itself. */
			/* Each change is a commit, a serial bump, a purge
			 * and NOTIFYs: a host gets a bucket of them. */
			unsigned ra;
			if (differs && limit_change(srv->limit, &names[i], now, &ra)) {
				u->code[i] = DD_ABUSE;
				srv->m.change_throttled++;
				u->retry_after = ra > u->retry_after ? ra : u->retry_after;
				continue;
			}
			if (srv->jobs || differs)
				u->item[i] = (int)u->job.n++;
			else
				u->code[i] = DD_NOCHG;
		}
	}
	store_txn_reset(srv->rtxn);
	if (u->job.n == 0) {
		reply_update(c, u);
		return;
	}
	/* Only now is the request copied out of the scratch (the writer owns
	 * the copy until it is answered). */
	size_t size = sizeof(*u) + u->job.n * sizeof(wr_item_t);
	upd_t *copy = malloc(size);
	if (!copy) {
		for (i = 0; i < nhosts; i++)
			if (u->item[i] >= 0)
				u->code[i] = DD_911;
		reply_update(c, u);
		return;
	}
	memcpy(copy, u, size);
	u = copy;
	u->job.items = u->items;
	u->job.client = *client;
	u->job.now = unow;
	u->job.hist_keep = srv->cfg->history_size;
	u->job.acme_expires = unow + srv->cfg->acme_lifetime;
	u->job.acme_ttl = srv->cfg->acme_ttl;
	size_t alen;
	const char *agent = http_header(req, HTTP_H_AGENT, &alen);
	u->job.agent_len = agent ? alen : 0;
	if (agent)
		memcpy(u->job.agent, agent, alen);
	c->busy = 1;
	c->refs++;
	srv->jobs++;
	writer_submit(srv->writer, &u->job);
}

/* Starts the scratch for a request. */
static upd_t *scratch_begin(server_t *srv, int style, const addr_t *client, uint64_t t0)
{
	upd_t *u = srv->scratch;
	memset(u, 0, sizeof(*u));
	u->style = (uint8_t)style;
	u->client = *client;
	u->t0 = t0;
	u->tmpl.op = WR_UPDATE;
	u->tmpl.offline = u->tmpl.wildcard = -1;
	for (unsigned i = 0; i < DD_MAX_HOSTS; i++)
		u->code[i] = -1;
	return u;
}

static void handle_update(conn_t *c, http_req_t *req, const char *query, size_t qlen,
			  const addr_t *client, uint64_t t0)
{
	server_t *srv = c->srv;
	dd_params_t *p = &srv->params;
	/* A form body (HE.net's acme.sh hook posts one) adds to the query. */
	int form = req->method == HTTP_POST;
	if ((form ? dd_parse_form(p, query, qlen, req->body, req->body_bytes)
		  : dd_parse_query(p, query, qlen)) != 0) {
		reply_code(c, req, client, DD_DNSERR, 0, t0);
		return;
	}
	/* Credentials: Basic first, then token= or password= in the query. */
	dd_str_t user = {0}, secret = {0};
	size_t alen;
	const char *auth = http_header(req, HTTP_H_AUTH, &alen);
	if (auth && !req->hdr_trunc[HTTP_H_AUTH])
		dd_parse_basic(auth, alen, srv->basic, sizeof(srv->basic), &user, &secret);
	if (!secret.p || !secret.len) {
		secret = p->token.p && p->token.len ? p->token : p->password;
		if (!user.p || !user.len)
			user = p->username;
	}
	set_log_user(srv, user.p && user.len ? user : p->hostname);
	if (!secret.p || !secret.len) {
		/* The challenge: wget, PowerShell -Credential and some routers
		 * send credentials only after a 401. */
		reply_code(c, req, client, DD_BADAUTH, 0, t0);
		return;
	}
	dd_str_t list = p->hostname.p && p->hostname.len ? p->hostname : user, h;
	if (!list.p || !list.len) {
		reply_code(c, req, client, DD_NOTFQDN, 0, t0);
		return;
	}
	unsigned nhosts = 0;
	for (dd_str_t l = list; dd_next_host(&l, &h);)
		nhosts++;
	if (nhosts == 0) {
		reply_code(c, req, client, DD_NOTFQDN, 0, t0);
		return;
	}
	if (nhosts > DD_MAX_HOSTS) {
		reply_code(c, req, client, DD_NUMHOST, 0, t0);
		return;
	}
	upd_t *u = scratch_begin(srv, ST_DYNDNS, client, t0);
	wr_item_t *t = &u->tmpl;
	int clear, offline, wildcard;
	if (dd_switch(p->clear, &clear) || dd_switch(p->offline, &offline) ||
	    dd_switch(p->wildcard, &wildcard)) {
		reply_code(c, req, client, DD_DNSERR, 0, t0);
		return;
	}
	/* ACME DNS-01: txt= (DuckDNS, HE.net) or clear=true.  A value sets
	 * (or, with clear=true, removes) that value; an empty txt= or a bare
	 * clear=true removes them all. */
	int acme = p->txt.p != NULL || clear == 1;
	if (acme) {
		size_t vlen = p->txt.p ? p->txt.len : 0;
		if (vlen && store_acme_check(p->txt.p, vlen) != 0) {
			reply_code(c, req, client, DD_DNSERR, 0, t0);
			return;
		}
		t->op = vlen && clear != 1 ? WR_ACME_SET : WR_ACME_DEL;
		t->value_len = (uint8_t)vlen;
		if (vlen)
			memcpy(t->value, p->txt.p, vlen);
	} else {
		addr_t prefix;
		unsigned plen;
		if (dd_addrs(p, &u->v4, &u->v6) != 0 || dd_prefix(p->prefix, &prefix, &plen) != 0) {
			reply_code(c, req, client, DD_DNSERR, 0, t0);
			return;
		}
		/* Nothing sent: the caller's own address, unless the request
		 * asks only for something else (offline, wildcard, a prefix)
		 * and names no address parameter at all. */
		int addr_param = p->myip.p || p->myipv4.p || p->myipv6.p;
		int other = offline >= 0 || wildcard >= 0 || plen;
		if (!u->v4.family && !u->v6.family && (addr_param || !other)) {
			if (client->family == 4)
				u->v4 = *client;
			else
				u->v6 = *client;
		}
		/* An address that can never be useful in public DNS (loopback
		 * unless allowed, link-local, multicast, 240/4, mapped, ...)
		 * is refused like a malformed one, before anything is looked
		 * up; so is a prefix that would give the followers such
		 * addresses (fe80::/64, ff00::/8). */
		if ((u->v4.family && addr_is_useless(&u->v4, srv->cfg->allow_loopback)) ||
		    (u->v6.family && addr_is_useless(&u->v6, srv->cfg->allow_loopback)) ||
		    (plen && addr_is_useless(&prefix, 0))) {
			reply_code(c, req, client, DD_DNSERR, 0, t0);
			return;
		}
		t->v4 = u->v4;
		t->v6 = u->v6;
		t->offline = (int8_t)offline;
		t->wildcard = (int8_t)wildcard;
		t->prefix = prefix;
		t->prefix_len = (uint8_t)plen;
	}
	u->nhosts = nhosts;
	dname_t names[DD_MAX_HOSTS];
	unsigned i = 0;
	for (dd_str_t l = list; dd_next_host(&l, &h); i++) {
		/* HE.net style names the TXT owner; the host is below it. */
		size_t skip = acme ? dd_acme_label(h.p, h.len) : 0;
		if (dname_parse_host(&names[i], h.p + skip, h.len - skip) != 0)
			u->code[i] = DD_NOTFQDN;
	}
	dispatch(c, req, u, names, user, secret);
}

/* lego's httpreq provider: POST <endpoint>/present and /cleanup with
 * {"fqdn", "value"} (or RAW mode's {"domain", "token", "keyAuth"}) and
 * Basic host:token. */
static void handle_httpreq(conn_t *c, http_req_t *req, int cleanup, const addr_t *client,
			   uint64_t t0)
{
	server_t *srv = c->srv;
	dd_str_t user = {0}, secret = {0};
	size_t alen;
	const char *auth = http_header(req, HTTP_H_AUTH, &alen);
	if (auth && !req->hdr_trunc[HTTP_H_AUTH])
		dd_parse_basic(auth, alen, srv->basic, sizeof(srv->basic), &user, &secret);
	set_log_user(srv, user);
	if (!secret.p || !secret.len) {
		reply_acme_error(c, req, client, ST_HTTPREQ, 401, "badauth", t0);
		return;
	}
	acme_req_t a;
	const char *why = "bad request";
	if (acme_parse_httpreq(req->body, req->body_bytes, &a, &why) != 0) {
		reply_acme_error(c, req, client, ST_HTTPREQ, 400, why, t0);
		return;
	}
	upd_t *u = scratch_begin(srv, ST_HTTPREQ, client, t0);
	dname_t name;
	if (acme_owner_host(a.name, a.name_len, &name) != 0) {
		reply_acme_error(c, req, client, ST_HTTPREQ, 400,
				 "notfqdn (fqdn must be _acme-challenge.<host>.)", t0);
		return;
	}
	if (store_acme_check(a.value, a.value_len) != 0) {
		reply_acme_error(c, req, client, ST_HTTPREQ, 400, "dnserr (bad value)", t0);
		return;
	}
	u->tmpl.op = cleanup ? WR_ACME_DEL : WR_ACME_SET;
	u->tmpl.value_len = (uint8_t)a.value_len;
	memcpy(u->tmpl.value, a.value, a.value_len);
	u->nhosts = 1;
	dispatch(c, req, u, &name, user, secret);
}

/* Does acme-dns's subdomain name host: the host's name itself (a
 * trailing dot and a leading "_acme-challenge." allowed), or its labels
 * relative to the host's zone ("home" for home.dyn.example in zone
 * dyn.example).  Uses the loop's read txn (renewed and reset here). */
static int subdomain_is(server_t *srv, const char *s, size_t len, const dname_t *host)
{
	size_t skip = dd_acme_label(s, len);
	dname_t d;
	if (dname_parse(&d, s + skip, len - skip) == 0 && dname_equal(&d, host))
		return 1;
	if (skip || !len || s[len - 1] == '.' || store_txn_renew(srv->rtxn) != 0)
		return 0;
	store_zone_t z;
	int ok = 0;
	char zone[DNAME_MAX_TEXT], full[DNAME_MAX_TEXT + 512];
	if (store_zone_find(srv->rtxn, host, &z) == 0 &&
	    dname_to_text(&z.name, zone, sizeof(zone)) > 0 && len < 512) {
		int n = snprintf(full, sizeof(full), "%.*s.%s", (int)len, s, zone);
		ok = n > 0 && dname_parse(&d, full, (size_t)n) == 0 && dname_equal(&d, host);
	}
	store_txn_reset(srv->rtxn);
	return ok;
}

/* acme-dns clients: POST <base>/update, X-Api-User: host, X-Api-Key:
 * token, {"subdomain", "txt"}.  acme-dns never cleans up (it keeps the two
 * newest values); here the values expire, and a new one replaces the one
 * expiring first when the host's values are full. */
static void handle_acmedns(conn_t *c, http_req_t *req, const addr_t *client, uint64_t t0)
{
	server_t *srv = c->srv;
	size_t ulen, klen;
	const char *user = http_header(req, HTTP_H_APIUSER, &ulen);
	const char *key = http_header(req, HTTP_H_APIKEY, &klen);
	dd_str_t u_str = {user, ulen}, secret = {key, klen};
	set_log_user(srv, u_str);
	dname_t name;
	if (!user || !key || req->hdr_trunc[HTTP_H_APIUSER] || req->hdr_trunc[HTTP_H_APIKEY] ||
	    dname_parse_host(&name, user, ulen) != 0) {
		reply_acme_error(c, req, client, ST_ACMEDNS, 401, "unauthorized", t0);
		return;
	}
	acme_req_t a;
	if (acme_parse_acmedns(req->body, req->body_bytes, &a, NULL) != 0) {
		reply_acme_error(c, req, client, ST_ACMEDNS, 400, "malformed_json_payload", t0);
		return;
	}
	if (store_acme_check(a.value, a.value_len) != 0) {
		reply_acme_error(c, req, client, ST_ACMEDNS, 400, "bad_txt", t0);
		return;
	}
	int same = subdomain_is(srv, a.name, a.name_len, &name);
	upd_t *u = scratch_begin(srv, ST_ACMEDNS, client, t0);
	u->forbid = !same; /* answered only once the credentials are proven */
	u->tmpl.op = WR_ACME_SET;
	u->tmpl.roll = 1;
	u->tmpl.value_len = (uint8_t)a.value_len;
	memcpy(u->tmpl.value, a.value, a.value_len);
	u->nhosts = 1;
	dd_str_t none = {0};
	dispatch(c, req, u, &name, none, secret);
}

/* ---- the ACME garbage collector ---- */

static int find_expired(const dname_t *host, const store_acme_t *a, void *arg)
{
	(void)host;
	return a->expires <= *(uint64_t *)arg;
}

/* Every --acme-gc-interval: when some ACME value has expired (a cheap walk
 * of the few values there are), a writer job removes them all and the
 * done callback purges their names. */
static void on_gc_timer(uv_timer_t *t)
{
	server_t *srv = t->data;
	if (srv->stopping || srv->gc_busy)
		return;
	uint64_t unow = unix_now();
	int rc = store_txn_renew(srv->rtxn);
	if (rc)
		return;
	int expired = store_acme_walk(srv->rtxn, NULL, find_expired, &unow);
	store_txn_reset(srv->rtxn);
	if (expired <= 0)
		return;
	upd_t *u = calloc(1, sizeof(*u) + sizeof(wr_item_t));
	if (!u)
		return;
	u->items[0].op = WR_ACME_GC;
	u->job.items = u->items;
	u->job.n = 1;
	u->job.now = unow;
	u->job.hist_keep = srv->cfg->history_size;
	srv->gc_busy = 1;
	srv->jobs++;
	writer_submit(srv->writer, &u->job);
}

/* ---- routing ---- */

static int path_is(const char *path, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(path, want, len) == 0;
}

enum acme_path { AP_NONE, AP_PRESENT, AP_CLEANUP, AP_ACMEDNS };

static void handle_request(conn_t *c, http_req_t *req)
{
	server_t *srv = c->srv;
	uint64_t t0 = uv_hrtime();
	srv->log_user = NULL;
	const char *url = req->url;
	size_t ulen = req->url_len;
	/* Absolute form (RFC 9112 3.2.2), sent by some clients through
	 * proxies: only the path and query matter here. */
	if (ulen > 8 && (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0)) {
		const char *slash = memchr(url + 8, '/', ulen - 8);
		const char *qm = memchr(url + 8, '?', ulen - 8);
		const char *start = slash && (!qm || slash < qm) ? slash : qm;
		if (start) {
			ulen -= (size_t)(start - url);
			url = start;
		} else {
			url += ulen;
			ulen = 0;
		}
	}
	const char *q = memchr(url, '?', ulen);
	size_t plen = q ? (size_t)(q - url) : ulen;
	const char *query = q ? q + 1 : url + ulen;
	size_t qlen = q ? ulen - plen - 1 : 0;
	enum metrics_endpoint ep;
	enum acme_path ap = AP_NONE;
	if (path_is(url, plen, "/nic/update") || path_is(url, plen, "/api/v1/nic/update") ||
	    path_is(url, plen, "/v3/update") || path_is(url, plen, "/api/v1/update") ||
	    path_is(url, plen, "/api/v1/domain_update"))
		ep = EP_UPDATE;
	else if (path_is(url, plen, "/ip"))
		ep = EP_IP;
	else if (path_is(url, plen, "/nic/checkip.html") || path_is(url, plen, "/checkip"))
		ep = EP_CHECKIP;
	else if (path_is(url, plen, "/health"))
		ep = EP_HEALTH;
	else if (path_is(url, plen, "/metrics"))
		ep = EP_METRICS;
	else if ((ap = path_is(url, plen, "/api/v1/httpreq/present")   ? AP_PRESENT
		       : path_is(url, plen, "/api/v1/httpreq/cleanup") ? AP_CLEANUP
		       : path_is(url, plen, "/api/v1/acme-dns/update") ? AP_ACMEDNS
								       : AP_NONE) != AP_NONE)
		ep = EP_ACME;
	else
		ep = EP_OTHER;
	addr_t client = client_of(srv, c, req);

	/* Every request but the probes takes a token, the ones answered 404
	 * and 405 too.  Refused ones are answered but not logged (a summary
	 * line is), so a flood fills neither the loop nor the log. */
	unsigned retry;
	if (ep != EP_HEALTH && ep != EP_METRICS &&
	    limit_rate(srv->limit, &client, uv_now(srv->loop), &retry)) {
		char extra[64];
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", retry);
		srv->m.rate_limited++;
		log_suppressed(srv);
		srv->quiet = 1;
		if (ep == EP_UPDATE && req->method == HTTP_GET)
			reply_code(c, req, &client, DD_ABUSE, retry, t0);
		else
			reply_text(c, req, &client, ep, 429, extra, "too many requests\n", t0);
		srv->quiet = 0;
		return;
	}
	/* An update must not run on HEAD (no side effects without a body to
	 * report them).  POST: the ACME endpoints, and an update whose
	 * parameters come as a form (HE.net's acme.sh hook). */
	int get = req->method == HTTP_GET, head = req->method == HTTP_HEAD;
	int post = req->method == HTTP_POST;
	int allowed = ep == EP_ACME ? post
		    : ep == EP_UPDATE ? get || (post && http_ctype_is(req,
					    "application/x-www-form-urlencoded"))
				      : get || head;
	if (!allowed) {
		reply_text(c, req, &client, ep, 405,
			   ep == EP_UPDATE ? "Allow: GET, POST\r\n"
			   : ep == EP_ACME ? "Allow: POST\r\n"
					   : "Allow: GET, HEAD\r\n",
			   "method not allowed\n", t0);
		return;
	}
	if (ep == EP_OTHER) {
		reply_text(c, req, &client, ep, 404, NULL, "not found\n", t0);
		return;
	}
	char ip[ADDR_TEXT_MAX], body[256];
	switch (ep) {
	case EP_UPDATE:
		handle_update(c, req, query, qlen, &client, t0);
		return;
	case EP_ACME:
		if (ap == AP_ACMEDNS)
			handle_acmedns(c, req, &client, t0);
		else
			handle_httpreq(c, req, ap == AP_CLEANUP, &client, t0);
		return;
	case EP_IP:
		addr_format(&client, ip, sizeof(ip));
		snprintf(body, sizeof(body), "%s\n", ip);
		reply_text(c, req, &client, ep, 200, NULL, body, t0);
		return;
	case EP_CHECKIP:
		/* Dyn's checkip page, byte for byte what clients scrape. */
		addr_format(&client, ip, sizeof(ip));
		snprintf(body, sizeof(body),
			 "<html><head><title>Current IP Check</title></head>"
			 "<body>Current IP Address: %s</body></html>\r\n",
			 ip);
		reply(c, req, &client, ep, 200, "text/html", NULL, body, strlen(body), t0);
		return;
	case EP_HEALTH: {
		int rc = store_txn_renew(srv->rtxn);
		if (rc == 0)
			store_txn_reset(srv->rtxn);
		else
			log_printf(srv->log, LOG_ERR, "health check failed: cannot read store %s (%s)",
				store_path(srv->store), err_str(rc));
		reply_text(c, req, &client, ep, rc ? 503 : 200, NULL, rc ? "unavailable\n" : "ok\n",
			   t0);
		return;
	}
	case EP_METRICS: {
		size_t len;
		srv->m.conns_open = srv->nconns;
		srv->m.writer_jobs = srv->jobs;
		char *text = metrics_render(&srv->m, &len);
		if (!text) {
			reply_text(c, req, &client, ep, 500, NULL, "out of memory\n", t0);
			return;
		}
		reply(c, req, &client, ep, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
		      text, len, t0);
		free(text);
		return;
	}
	default:
		return;
	}
}

/* ---- connections ---- */

static void on_conn_timer(uv_timer_t *t)
{
	conn_t *c = t->data;
	uint64_t now = uv_now(c->srv->loop);
	if (now < c->deadline) {
		/* The deadline moved on since the timer was set (see
		 * conn_deadline): sleep the rest. */
		c->timer_due = c->deadline;
		uv_timer_start(&c->timer, on_conn_timer, c->deadline - now, 0);
		return;
	}
	c->timer_due = 0;
	if (c->draining || c->busy) {
		conn_close(c);
	} else if (!c->got_bytes) {
		/* Not one byte since the accept: nobody to answer. */
		c->srv->m.conns_silent_timeout++;
		conn_close(c);
	} else if (c->in_req)
		reply_error(c, 408);
	else
		conn_close(c); /* idle keep-alive connection */
}

/* Sets the connection's timeout to ms from now.  A keep-alive connection
 * moves its idle deadline with every request; restarting the libuv timer
 * each time costs two heap operations per request, so a later deadline only
 * updates c->deadline and on_conn_timer sleeps on when it fires early.
 * force: restart the timer even if it is due later (a new kind of wait). */
static void conn_deadline(conn_t *c, uint64_t ms, int force)
{
	c->deadline = uv_now(c->srv->loop) + ms;
	if (force || !c->timer_due || c->timer_due > c->deadline) {
		c->timer_due = c->deadline;
		uv_timer_start(&c->timer, on_conn_timer, ms, 0);
	}
}

static void arm_timer(conn_t *c)
{
	if (c->closing || c->draining || c->busy)
		return;
	const server_config_t *cfg = c->srv->cfg;
	if (http_in_request(&c->hp)) {
		if (!c->in_req) {
			/* Started once per request, not per read: a client that
			 * trickles bytes still has to finish in time. */
			c->in_req = 1;
			conn_deadline(c, cfg->header_timeout_ms, 0);
		}
	} else {
		c->in_req = 0;
		conn_deadline(c, cfg->idle_timeout_ms, 0);
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)hint;
	conn_t *c = h->data;
	/* One buffer for all connections: on_read consumes it at once and
	 * copies what must wait. */
	*buf = uv_buf_init(c->srv->readbuf, READ_BUF);
}

/* Keeps bytes that arrive while a request is with the writer; 0 or -1
 * (out of memory).  Reading goes on meanwhile (clients rarely send
 * anything before their answer, and stopping and restarting the read costs
 * two epoll_ctl calls per update) until PEND_MAX bytes wait. */
static int pend_append(conn_t *c, const char *data, size_t len)
{
	char *p = realloc(c->pend, c->pend_len + len);
	if (!p)
		return -1;
	memcpy(p + c->pend_len, data, len);
	c->pend = p;
	c->pend_len += len;
	if (c->pend_len >= PEND_MAX && !c->paused) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->paused = 1;
	}
	return 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	conn_t *c = s->data;
	if (n < 0) {
		if (n == UV_EOF && c->busy && !c->closing) {
			/* Half-closed after the request: answer it, then close. */
			uv_read_stop(s);
			c->paused = 1;
			c->eof = 1;
			return;
		}
		/* EOF: answers already queued still go out (a half-closed
		 * peer reads them); an error drops the connection at once */
		if (n == UV_EOF)
			conn_finish(c);
		else
			conn_close(c);
		return;
	}
	if (n == 0 || c->draining)
		return;
	c->got_bytes = 1;
	if (c->busy) {
		if (pend_append(c, buf->base, (size_t)n) != 0)
			conn_close(c);
		return;
	}
	conn_process(c, buf->base, (size_t)n);
}

/* Parses and answers requests in data until it is used up or a request
 * waits for the writer (the rest is kept in c->pend). */
static void conn_process(conn_t *c, const char *data, size_t len)
{
	while (len > 0 && !c->busy && !c->closing && !c->draining && !c->close_after) {
		size_t used = 0;
		int rc = http_feed(&c->hp, data, len, &used);
		data += used;
		len -= used;
		if (rc == HTTP_FEED_MORE)
			break;
		if (rc < 0) {
			reply_error(c, -rc);
			return;
		}
		c->in_req = 0;
		handle_request(c, http_take(&c->hp));
	}
	if (c->closing || c->draining)
		return;
	if (c->busy) {
		uv_timer_stop(&c->timer);
		c->timer_due = 0;
		if (len && pend_append(c, data, len) != 0)
			conn_close(c);
		return;
	}
	arm_timer(c);
}

static void on_connection(uv_stream_t *ls, int status)
{
	listener_t *l = ls->data;
	server_t *srv = l->srv;
	if (status < 0) {
		log_printf(srv->log, LOG_ERR, "cannot accept on %s (%s)", l->name,
			   uv_strerror(status));
		return;
	}
	conn_t *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = srv;
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->refs = 1;
	c->open_handles = 2;
	http_parser_init(&c->hp);
	/* Link first so conn_close can always unlink. */
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	srv->m.conns_open++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	if (srv->nconns > srv->cfg->max_conns || srv->stopping) {
		srv->m.conns_rejected++;
		conn_close(c);
		return;
	}
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) != 0 ||
	    addr_from_sockaddr(&c->peer, &ss) != 0) {
		conn_close(c);
		return;
	}
	/* One client (IPv6: one /64) may hold only so many of the slots;
	 * trusted proxies carry everybody's connections and are exempt. */
	if (!trusted(srv, &c->peer)) {
		if (limit_conn_open(srv->limit, &c->peer, uv_now(srv->loop))) {
			srv->m.conns_per_client_rejected++;
			conn_close(c);
			return;
		}
		c->counted = 1;
	}
	srv->m.conns_total++;
	uv_tcp_nodelay(&c->tcp, 1);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
		conn_close(c);
		return;
	}
	/* The header timeout runs from the accept: a connection that sends
	 * nothing holds its slot for that long, not for the idle timeout. */
	c->in_req = 1;
	conn_deadline(c, srv->cfg->header_timeout_ms, 1);
}

/* ---- start and stop ---- */

static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
	const char *colon = strrchr(s, ':');
	if (!colon)
		return -EINVAL;
	char host[64];
	int port = atoi(colon + 1);
	if (port <= 0 || port > 65535)
		return -EINVAL;
	size_t hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 2 || s[hl - 1] != ']' || hl - 2 >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl - 2);
		host[hl - 2] = '\0';
		return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) ? -EINVAL : 0;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (hl == 0)
		strcpy(host, "0.0.0.0");
	return uv_ip4_addr(host, port, (struct sockaddr_in *)ss) ? -EINVAL : 0;
}

static int listen_is_loopback(const struct sockaddr_storage *ss)
{
	addr_t a;
	return addr_from_sockaddr(&a, ss) == 0 && addr_is_loopback(&a);
}

static void close_handle_noop(uv_handle_t *h)
{
	(void)h;
}

static void on_stop_timer(uv_timer_t *t)
{
	server_t *srv = t->data;
	if (srv->jobs)
		return; /* answers still on the way */
	uv_timer_stop(t);
	while (srv->conns)
		conn_close(srv->conns);
	writer_stop(srv->writer);
	srv->writer = NULL;
	purge_close(srv->purge);
	srv->purge = NULL;
	uv_close((uv_handle_t *)&srv->stop_timer, close_handle_noop);
	uv_close((uv_handle_t *)&srv->gc_timer, close_handle_noop);
	uv_close((uv_handle_t *)&srv->sigterm, close_handle_noop);
	uv_close((uv_handle_t *)&srv->sigint, close_handle_noop);
	uv_close((uv_handle_t *)&srv->sighup, close_handle_noop);
}

static void on_signal(uv_signal_t *s, int signum)
{
	server_t *srv = s->data;
	if (srv->stopping)
		return;
	srv->stopping = 1;
	sd_notify(0, "STOPPING=1");
	log_printf(srv->log, LOG_NOTICE, "stopping (signal %d)", signum);
	for (unsigned i = 0; i < srv->nlisteners; i++)
		uv_close((uv_handle_t *)&srv->listeners[i].tcp, close_handle_noop);
	uv_timer_stop(&srv->gc_timer);
	/* Idle connections go now; busy ones after their answer. */
	for (conn_t *c = srv->conns, *next; c; c = next) {
		next = c->next;
		if (!c->busy)
			conn_close(c);
	}
	uv_timer_start(&srv->stop_timer, on_stop_timer, 0, STOP_POLL_MS);
}

/* SIGHUP: logrotate moved the log file; the next line goes to a new one. */
static void on_sighup(uv_signal_t *s, int signum)
{
	(void)signum;
	server_t *srv = s->data;
	int rc = log_reopen(srv->log);
	if (rc)
		log_printf(srv->log, LOG_ERR, "cannot reopen log file %s (%s)", srv->log->path,
			   strerror(-rc));
	else
		log_printf(srv->log, LOG_NOTICE, "reopened the log%s%s", srv->log->path[0] ? " " : "",
			   srv->log->path);
}

int server_run(const server_config_t *cfg, store_t *store)
{
	server_t *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->cfg = cfg;
	srv->log = cfg->log;
	srv->store = store;
	srv->loop = uv_default_loop();
	int rc = store_txn_begin(store, 0, &srv->rtxn);
	if (rc) {
		log_printf(srv->log, LOG_ERR, "cannot read store %s (%s)", store_path(store),
			   err_str(rc));
		free(srv);
		return rc;
	}
	store_txn_reset(srv->rtxn);
	limit_config_t lc = {
		.slots = cfg->limit_slots,
		.rate = cfg->rate,
		.burst = cfg->burst,
		.change_rate = cfg->change_rate / 60.0,
		.change_burst = cfg->change_burst,
		.host_fails = cfg->host_fails,
		.conns_per_client = cfg->conns_per_client,
	};
	rc = limit_new(&srv->limit, &lc);
	if (rc)
		goto fail;
	srv->scratch = malloc(sizeof(upd_t) + DD_MAX_HOSTS * sizeof(wr_item_t));
	if (!srv->scratch) {
		rc = -ENOMEM;
		goto fail;
	}
	if (cfg->pdns_api) {
		purge_config_t pc = {
			.url = cfg->pdns_api,
			.key = cfg->pdns_api_key,
			.ca_file = cfg->pdns_api_ca,
			.dns_cache_s = cfg->pdns_dns_cache_s,
		};
		rc = purge_new(&srv->purge, srv->loop, &pc, &srv->m, srv->log);
		if (rc) {
			log_printf(srv->log, LOG_ERR, "cannot use pdns api %s (%s)", cfg->pdns_api,
				   rc == -EINVAL ? "want http(s)://HOST[:PORT][/PATH]" : err_str(rc));
			goto fail;
		}
	}
	/* Signals first: a client may connect (and a supervisor stop us) as
	 * soon as the first listener is up. */
	uv_signal_init(srv->loop, &srv->sigterm);
	uv_signal_init(srv->loop, &srv->sigint);
	uv_signal_init(srv->loop, &srv->sighup);
	srv->sigterm.data = srv->sigint.data = srv->sighup.data = srv;
	uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
	uv_signal_start(&srv->sigint, on_signal, SIGINT);
	uv_signal_start(&srv->sighup, on_sighup, SIGHUP);
	for (unsigned i = 0; i < cfg->nlisten; i++) {
		listener_t *l = &srv->listeners[i];
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof(ss));
		snprintf(l->name, sizeof(l->name), "%s", cfg->listen[i]);
		l->srv = srv;
		if (parse_listen(cfg->listen[i], &ss) != 0) {
			log_printf(srv->log, LOG_ERR,
				   "cannot listen on %s (want ADDR:PORT or [ADDR6]:PORT)",
				   cfg->listen[i]);
			rc = -EINVAL;
			goto fail_listen;
		}
		uv_tcp_init(srv->loop, &l->tcp);
		l->tcp.data = l;
		srv->nlisteners++;
		rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss,
				 ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
		if (rc == 0)
			rc = uv_listen((uv_stream_t *)&l->tcp, 4096, on_connection);
		if (rc) {
			log_printf(srv->log, LOG_ERR, "cannot listen on %s (%s)", cfg->listen[i],
				   uv_strerror(rc));
			goto fail_listen;
		}
		log_printf(srv->log, LOG_NOTICE, "listening on %s", cfg->listen[i]);
		if (!cfg->ntrusted && !listen_is_loopback(&ss))
			log_printf(srv->log, LOG_WARNING,
				   "warning: listening on %s without --trusted-proxy: each request's "
				   "client is its TCP peer; behind a reverse proxy or docker-proxy "
				   "every client would share one rate limit and one lockout",
				   cfg->listen[i]);
	}
	rc = writer_start(&srv->writer, srv->loop, store, srv->log, on_job_done, srv);
	if (rc) {
		log_printf(srv->log, LOG_ERR, "cannot start writer thread (%s)", uv_strerror(rc));
		goto fail_listen;
	}
	uv_timer_init(srv->loop, &srv->stop_timer);
	srv->stop_timer.data = srv;
	uv_timer_init(srv->loop, &srv->gc_timer);
	srv->gc_timer.data = srv;
	uv_timer_start(&srv->gc_timer, on_gc_timer, cfg->acme_gc_interval_ms,
		       cfg->acme_gc_interval_ms);

	/* The store is open and every listener accepts (the kernel queues
	 * connections from here on): systemd may start what comes after us. */
	log_printf(srv->log, LOG_NOTICE, "ready (kyedns-updater %s, store %s%s%s)", KYEDNS_VERSION,
		   store_path(store), cfg->pdns_api ? ", purging via " : "",
		   cfg->pdns_api ? cfg->pdns_api : "");
	sd_notify(0, "READY=1\nSTATUS=serving dyndns2 updates");
	uv_run(srv->loop, UV_RUN_DEFAULT);

	log_printf(srv->log, LOG_NOTICE, "stopped");
	store_txn_abort(srv->rtxn);
	limit_free(srv->limit);
	uv_loop_close(srv->loop);
	free(srv->scratch);
	free(srv);
	return 0;

fail_listen:
	for (unsigned i = 0; i < srv->nlisteners; i++)
		uv_close((uv_handle_t *)&srv->listeners[i].tcp, close_handle_noop);
	uv_close((uv_handle_t *)&srv->sigterm, close_handle_noop);
	uv_close((uv_handle_t *)&srv->sigint, close_handle_noop);
	uv_close((uv_handle_t *)&srv->sighup, close_handle_noop);
	purge_close(srv->purge);
	uv_run(srv->loop, UV_RUN_DEFAULT);
fail:
	store_txn_abort(srv->rtxn);
	limit_free(srv->limit);
	free(srv->scratch);
	free(srv);
	return rc < 0 ? rc : -EINVAL;
}
