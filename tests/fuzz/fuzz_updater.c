/*
 * fuzz_updater - the updater's request path from raw bytes to the reply,
 * without a socket.
 *
 * server.c answers from inside its libuv connection (conn_t), so this
 * harness drives the same public pieces in the same order: http_feed()
 * over the bytes of one connection (cut into chunks of the size the
 * first input byte picks, as reads would), http_take() of each pipelined
 * request, the routing by path, and for an update the dyndns2 steps
 * (dd_parse_query, dd_parse_basic, dd_next_host, dname_parse_host,
 * dd_addrs, addr_is_useless, and the store lookups store_host_get /
 * token_verify / store_host_addrs over a small read-only store), the
 * X-Forwarded-For elements through addr_parse, dd_redact of the URL for
 * the log, and http_response_into() of the reply.  No writes: the
 * writer thread is not part of the request path's parsing.
 *
 * Asserts: a redacted URL is printable ASCII and fits; every response is
 * a status line, headers and a blank line; a parser error is final.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dd.h"
#include "dname.h"
#include "fuzz_store.h"
#include "http.h"
#include "token.h"

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                          \
		}                                                                         \
	} while (0)

static store_t *store;
static store_txn_t *rtxn;
static dd_params_t params;
static char basic[HTTP_MAX_AUTH + 1];

static void check_response(int status, const http_req_t *req, const char *body)
{
	char out[1024];
	size_t n = http_response_into(out, sizeof out, status, "text/plain", NULL, body,
				      strlen(body), req && req->method == HTTP_HEAD,
				      req && req->keepalive);
	CHECK(n > 0 && n < sizeof out);
	CHECK(memcmp(out, "HTTP/1.1 ", 9) == 0);
	out[n] = 0;
	CHECK(strstr(out, "\r\n\r\n") != NULL);
}

static int update(const http_req_t *req, const char *query, size_t qlen)
{
	dd_params_t *p = &params;
	if (dd_parse_query(p, query, qlen) != 0)
		return DD_DNSERR;
	dd_str_t user = {0}, secret = {0};
	size_t alen;
	const char *auth = http_header(req, HTTP_H_AUTH, &alen);
	if (auth && !req->hdr_trunc[HTTP_H_AUTH])
		dd_parse_basic(auth, alen, basic, sizeof basic, &user, &secret);
	if (!secret.p || !secret.len) {
		secret = p->token.p && p->token.len ? p->token : p->password;
		if (!user.p || !user.len)
			user = p->username;
	}
	if (!secret.p || !secret.len)
		return DD_BADAUTH;
	dd_str_t list = p->hostname.p && p->hostname.len ? p->hostname : user, h;
	if (!list.p || !list.len)
		return DD_NOTFQDN;
	unsigned nhosts = 0;
	for (dd_str_t l = list; dd_next_host(&l, &h);)
		nhosts++;
	if (nhosts == 0)
		return DD_NOTFQDN;
	if (nhosts > DD_MAX_HOSTS)
		return DD_NUMHOST;
	addr_t v4, v6;
	if (dd_addrs(p, &v4, &v6) != 0)
		return DD_DNSERR;
	CHECK(!v4.family || v4.family == 4);
	CHECK(!v6.family || v6.family == 6);
	if ((v4.family && addr_is_useless(&v4, 0)) || (v6.family && addr_is_useless(&v6, 0)))
		return DD_DNSERR;
	CHECK(store_txn_renew(rtxn) == 0);
	int code = DD_NOCHG;
	for (dd_str_t l = list; dd_next_host(&l, &h);) {
		dname_t n;
		store_host_t host;
		if (dname_parse_host(&n, h.p, h.len) != 0) {
			code = DD_NOTFQDN;
			continue;
		}
		if (store_host_get(rtxn, &n, &host) != 0) {
			code = DD_NOHOST;
			continue;
		}
		if (!token_verify(host.token_hash, secret.p, secret.len)) {
			code = DD_BADAUTH;
			continue;
		}
		addr_t c4, c6;
		CHECK(store_host_addrs(rtxn, &n, &c4, &c6) == 0);
		if ((v4.family && !addr_equal(&v4, &c4)) || (v6.family && !addr_equal(&v6, &c6)))
			code = DD_GOOD;
	}
	store_txn_reset(rtxn);
	return code;
}

static void handle(http_req_t *req)
{
	char log[512];
	size_t n = dd_redact(req->url, req->url_len, log, sizeof log);
	CHECK(n < sizeof log && strlen(log) == n);
	for (size_t i = 0; i < n; i++)
		CHECK(log[i] >= 0x20 && log[i] < 0x7f);

	/* X-Forwarded-For elements and X-Real-IP, as a trusted proxy's. */
	size_t len;
	const char *xff = http_header(req, HTTP_H_XFF, &len);
	while (xff && len) {
		const char *comma = memchr(xff, ',', len);
		size_t el = comma ? (size_t)(comma - xff) : len;
		addr_t a;
		if (addr_parse(&a, xff, el) == 0)
			addr_normalize(&a);
		xff += el + (comma ? 1 : 0);
		len -= el + (comma ? 1 : 0);
	}
	const char *xri = http_header(req, HTTP_H_XRI, &len);
	addr_t a;
	if (xri && addr_parse(&a, xri, len) == 0)
		addr_normalize(&a);
	http_header(req, HTTP_H_AGENT, &len);

	const char *url = req->url;
	size_t ulen = req->url_len;
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
	if (plen == 11 && memcmp(url, "/nic/update", 11) == 0 && req->method == HTTP_GET) {
		int code = update(req, query, qlen);
		CHECK(code >= 0 && code < DD_NCODES);
		check_response(dd_code_status(code), req, dd_code_str(code));
	} else {
		check_response(404, req, "not found\n");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!store) {
		store = fuzz_store_fresh(STORE_RDONLY);
		CHECK(store_txn_begin(store, 0, &rtxn) == 0);
		store_txn_reset(rtxn);
	}
	if (size < 1)
		return 0;
	size_t chunk = data[0] & 15;
	const char *p = (const char *)data + 1;
	size_t left = size - 1;
	http_parser_t hp;
	http_parser_init(&hp);
	while (left > 0) {
		size_t n = chunk && chunk < left ? chunk : left;
		size_t off = 0;
		while (off < n) {
			size_t used = 0;
			int rc = http_feed(&hp, p + off, n - off, &used);
			CHECK(used <= n - off);
			off += used;
			if (rc == HTTP_FEED_MORE)
				break;
			if (rc < 0) {
				CHECK(rc == -400 || rc == -413 || rc == -414 || rc == -431 ||
				      rc == -505 || rc == -500);
				check_response(-rc, NULL, "bad request\n");
				http_parser_free(&hp);
				return 0;
			}
			CHECK(rc == HTTP_FEED_REQUEST);
			http_req_t *req = http_take(&hp);
			CHECK(req != NULL && !http_in_request(&hp));
			CHECK(req->url_len <= HTTP_MAX_URL && strlen(req->url) <= req->url_len);
			handle(req);
			http_req_free(req);
		}
		p += n;
		left -= n;
	}
	http_parser_free(&hp);
	return 0;
}
