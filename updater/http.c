#include "http.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static http_parser_t *parser_of(llhttp_t *p)
{
	return (http_parser_t *)p->data;
}

/* Fails the parse with an HTTP status for the answer; llhttp stops with an
 * error (HPE_USER from data callbacks, HPE_CB_* from the others). */
static int limit_hit(llhttp_t *p, int status)
{
	parser_of(p)->status = status;
	return HPE_USER;
}

/* Freed requests are kept for reuse: a request is ~4.5 KiB, beyond
 * malloc's per-thread cache, and every keep-alive request needs one.  Loop
 * thread only (like everything here).  Off under AddressSanitizer, so a use
 * after free is still caught there. */
#if defined(__SANITIZE_ADDRESS__)
static http_req_t *req_alloc(void)
{
	return malloc(sizeof(http_req_t));
}

void http_req_free(http_req_t *r)
{
	if (r)
		free(r->body);
	free(r);
}
#else
#define REQ_CACHE 64
static http_req_t *req_cache[REQ_CACHE];
static unsigned req_cached;

static http_req_t *req_alloc(void)
{
	if (req_cached)
		return req_cache[--req_cached];
	return malloc(sizeof(http_req_t));
}

void http_req_free(http_req_t *r)
{
	if (r) {
		free(r->body);
		r->body = NULL;
	}
	if (r && req_cached < REQ_CACHE)
		req_cache[req_cached++] = r;
	else
		free(r);
}
#endif

static int on_message_begin(llhttp_t *p)
{
	http_parser_t *hp = parser_of(p);
	http_req_free(hp->req);
	hp->req = req_alloc();
	if (!hp->req)
		return limit_hit(p, 500);
	memset(hp->req, 0, offsetof(http_req_t, url));
	hp->req->url[0] = '\0';
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	http_req_t *r = parser_of(p)->req;
	if (r->url_len + len > HTTP_MAX_URL)
		return limit_hit(p, 414);
	memcpy(r->url + r->url_len, at, len);
	r->url_len += len;
	r->url[r->url_len] = '\0';
	return 0;
}

/* Headers are counted as they come, so a client cannot make us buffer more
 * than the limit however it splits its bytes. */
static int count_header_bytes(llhttp_t *p, size_t len)
{
	http_req_t *r = parser_of(p)->req;
	r->hdr_bytes += len;
	return r->hdr_bytes > HTTP_MAX_HEADER_BYTES ? limit_hit(p, 431) : 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	http_req_t *r = parser_of(p)->req;
	if (count_header_bytes(p, len))
		return HPE_USER;
	if (r->field_len + len < sizeof(r->field))
		memcpy(r->field + r->field_len, at, len);
	r->field_len += len;
	return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
	static const struct {
		const char *name;
		int h;
	} known[] = {
		{"authorization", HTTP_H_AUTH},
		{"x-forwarded-for", HTTP_H_XFF},
		{"x-real-ip", HTTP_H_XRI},
		{"user-agent", HTTP_H_AGENT},
		{"content-type", HTTP_H_CTYPE},
		{"x-api-user", HTTP_H_APIUSER},
		{"x-api-key", HTTP_H_APIKEY},
	};
	http_req_t *r = parser_of(p)->req;
	if (++r->nhdr > HTTP_MAX_HEADERS)
		return limit_hit(p, 431);
	r->cur = HTTP_H_NONE;
	if (r->field_len < sizeof(r->field)) {
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (strlen(known[i].name) == r->field_len &&
			    strncasecmp(known[i].name, r->field, r->field_len) == 0) {
				r->cur = known[i].h;
				break;
			}
		}
	}
	/* A repeated header: the last one wins, like most servers. */
	if (r->cur != HTTP_H_NONE) {
		r->hdr_len[r->cur] = 0;
		r->hdr_trunc[r->cur] = 0;
	}
	r->field_len = 0;
	return 0;
}

static char *slot(http_req_t *r, int h, size_t *cap)
{
	switch (h) {
	case HTTP_H_AUTH: *cap = HTTP_MAX_AUTH; return r->auth;
	case HTTP_H_XFF: *cap = HTTP_MAX_FWD; return r->xff;
	case HTTP_H_XRI: *cap = HTTP_MAX_FWD; return r->xri;
	case HTTP_H_AGENT: *cap = HTTP_MAX_AGENT; return r->agent;
	case HTTP_H_CTYPE: *cap = HTTP_MAX_CTYPE; return r->ctype;
	case HTTP_H_APIUSER: *cap = HTTP_MAX_APIHDR; return r->apiuser;
	case HTTP_H_APIKEY: *cap = HTTP_MAX_APIHDR; return r->apikey;
	default: *cap = 0; return NULL;
	}
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	http_req_t *r = parser_of(p)->req;
	size_t cap;
	if (count_header_bytes(p, len))
		return HPE_USER;
	char *dst = slot(r, r->cur, &cap);
	if (!dst)
		return 0;
	size_t have = r->hdr_len[r->cur], n = len;
	if (r->cur == HTTP_H_XFF && have + n > cap) {
		/* X-Forwarded-For is read from the right (the proxies we trust
		 * append there): keep its last cap bytes, never its client-
		 * written head. */
		r->hdr_trunc[r->cur] = 1;
		if (n >= cap) {
			memcpy(dst, at + n - cap, cap);
		} else {
			memmove(dst, dst + (have + n - cap), cap - n);
			memcpy(dst + cap - n, at, n);
		}
		r->hdr_len[r->cur] = cap;
		dst[cap] = '\0';
		return 0;
	}
	if (have + n > cap) {
		n = cap - have;
		r->hdr_trunc[r->cur] = 1;
	}
	memcpy(dst + have, at, n);
	r->hdr_len[r->cur] = have + n;
	dst[have + n] = '\0';
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	http_req_t *r = parser_of(p)->req;
	r->method = (uint8_t)llhttp_get_method(p);
	r->http_minor = llhttp_get_http_minor(p);
	r->upgrade = llhttp_get_upgrade(p) || r->method == HTTP_CONNECT;
	if (p->content_length > HTTP_MAX_BODY && p->content_length != UINT64_MAX)
		return limit_hit(p, 413);
	/* 1 = no body for CONNECT/Upgrade: the connection is closed after the
	 * answer anyway, and llhttp must not switch protocols under us. */
	return r->upgrade ? 1 : 0;
}

/* The body is kept (forms and JSON are small); the limit makes a chunked
 * body that never ends a 413, not a memory hog. */
static int on_body(llhttp_t *p, const char *at, size_t len)
{
	http_req_t *r = parser_of(p)->req;
	if (r->body_bytes + len > HTTP_MAX_BODY)
		return limit_hit(p, 413);
	char *b = realloc(r->body, r->body_bytes + len + 1);
	if (!b)
		return limit_hit(p, 500);
	memcpy(b + r->body_bytes, at, len);
	r->body = b;
	r->body_bytes += len;
	b[r->body_bytes] = '\0';
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	http_req_t *r = parser_of(p)->req;
	r->keepalive = llhttp_should_keep_alive(p) && !r->upgrade;
	/* Stop here so the caller answers this request before parsing the
	 * next pipelined one. */
	return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_field_complete = on_header_field_complete,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void http_parser_init(http_parser_t *hp)
{
	memset(hp, 0, sizeof(*hp));
	llhttp_init(&hp->p, HTTP_REQUEST, &settings);
	hp->p.data = hp;
}

void http_parser_free(http_parser_t *hp)
{
	http_req_free(hp->req);
	hp->req = NULL;
}

int http_feed(http_parser_t *hp, const char *data, size_t len, size_t *used)
{
	llhttp_errno_t e = llhttp_execute(&hp->p, data, len);
	if (e == HPE_OK) {
		*used = len;
		return HTTP_FEED_MORE;
	}
	if (e == HPE_PAUSED) {
		*used = (size_t)(llhttp_get_error_pos(&hp->p) - data);
		llhttp_resume(&hp->p);
		return HTTP_FEED_REQUEST;
	}
	if (e == HPE_PAUSED_UPGRADE) {
		/* Only reached if the request completed; it is answered and the
		 * connection closed (req->upgrade). */
		*used = len;
		return hp->req ? HTTP_FEED_REQUEST : -400;
	}
	*used = len;
	/* Non-span callbacks report their own error codes (HPE_CB_*), so the
	 * recorded status decides. */
	if (hp->status)
		return -hp->status;
	if (e == HPE_INVALID_VERSION)
		return -505;
	return -400;
}

int http_in_request(const http_parser_t *hp)
{
	return hp->req != NULL;
}

http_req_t *http_take(http_parser_t *hp)
{
	http_req_t *r = hp->req;
	hp->req = NULL;
	return r;
}

const char *http_header(const http_req_t *r, enum http_hdr h, size_t *len)
{
	size_t cap;
	const char *v = slot((http_req_t *)r, h, &cap);
	if (!v || r->hdr_len[h] == 0) {
		*len = 0;
		return NULL;
	}
	*len = r->hdr_len[h];
	return v;
}

int http_ctype_is(const http_req_t *r, const char *mtype)
{
	size_t len, n = strlen(mtype);
	const char *v = http_header(r, HTTP_H_CTYPE, &len);
	while (v && len && (*v == ' ' || *v == '\t'))
		v++, len--;
	if (!v || len < n || strncasecmp(v, mtype, n) != 0)
		return 0;
	v += n;
	len -= n;
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	return len == 0 || *v == ';';
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static char *put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

static char *put_str(char *o, const char *s)
{
	return put(o, s, strlen(s));
}

static char *put_uint(char *o, size_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*o++ = tmp[--n];
	return o;
}

/* Header lines without the variable parts: status line, Content-Type,
 * Content-Length digits, extra and body; built with memcpy (this runs for
 * every request; snprintf was a visible share of the loop's time). */
size_t http_response_into(char *out, size_t cap, int status, const char *ctype, const char *extra,
			  const char *body, size_t body_len, int head_only, int keepalive)
{
	const char *reason = http_reason(status);
	size_t rlen = strlen(reason), clen = strlen(ctype), elen = extra ? strlen(extra) : 0;
	size_t blen = head_only ? 0 : body_len;
	/* fixed text + three-digit status + up to 20 digits of length */
	size_t need = sizeof("HTTP/1.1 000 \r\nContent-Type: \r\nContent-Length: \r\n"
			     "Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\n") +
		      20 + rlen + clen + elen + blen;
	if (status < 100 || status > 999 || need > cap)
		return 0;
	char *o = out;
	o = put(o, "HTTP/1.1 ", 9);
	o = put_uint(o, (size_t)status);
	*o++ = ' ';
	o = put(o, reason, rlen);
	o = put(o, "\r\nContent-Type: ", 16);
	o = put(o, ctype, clen);
	o = put(o, "\r\nContent-Length: ", 18);
	o = put_uint(o, body_len);
	o = put_str(o, keepalive ? "\r\nCache-Control: no-store\r\nConnection: keep-alive\r\n"
				 : "\r\nCache-Control: no-store\r\nConnection: close\r\n");
	if (elen)
		o = put(o, extra, elen);
	o = put(o, "\r\n", 2);
	if (blen)
		o = put(o, body, blen);
	return (size_t)(o - out);
}

char *http_response(int status, const char *ctype, const char *extra, const char *body,
		    size_t body_len, int head_only, int keepalive, size_t *out_len)
{
	size_t cap = 512 + (ctype ? strlen(ctype) : 0) + (extra ? strlen(extra) : 0) +
		     (head_only ? 0 : body_len);
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t n = http_response_into(out, cap, status, ctype, extra, body, body_len, head_only,
				      keepalive);
	if (!n) {
		free(out);
		return NULL;
	}
	*out_len = n;
	return out;
}
