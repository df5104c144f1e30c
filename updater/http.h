/*
 * http - HTTP/1.x requests on a byte stream, parsed by llhttp, and the
 * responses the updater writes back.
 *
 * An http_parser_t turns the bytes of one connection into complete
 * requests, one at a time: http_feed() stops right after each request so
 * the caller can answer pipelined requests strictly in order.  Only what
 * the updater needs is kept (method, URL, a few headers, the body of up to
 * HTTP_MAX_BODY bytes: forms and JSON of the ACME endpoints); everything
 * else is counted against the limits and dropped.  The limits are enforced here
 * because llhttp itself has none: URL length (414), header bytes and count
 * (431) and body bytes (413).
 *
 * Threading: loop thread only.  Memory: the parser owns its current request
 * until http_feed() reports it complete; then the caller owns it and frees
 * it with http_req_free() (which keeps a few for reuse).
 */
#ifndef KYEDNS_HTTP_H
#define KYEDNS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "llhttp.h"

#define HTTP_MAX_URL 2048          /* bytes of the request target -> 414 */
#define HTTP_MAX_HEADER_BYTES 8192 /* bytes of all header names and values -> 431 */
#define HTTP_MAX_HEADERS 64        /* header lines -> 431 */
#define HTTP_MAX_BODY 16384        /* bytes of a request body -> 413 */
#define HTTP_MAX_AUTH 1024         /* Authorization value kept */
#define HTTP_MAX_FWD 512           /* X-Forwarded-For (its last bytes) / X-Real-IP kept */
#define HTTP_MAX_AGENT 255         /* User-Agent bytes kept (truncated) */

/* The headers the updater reads. */
enum http_hdr {
	HTTP_H_NONE,
	HTTP_H_AUTH,
	HTTP_H_XFF,
	HTTP_H_XRI,
	HTTP_H_AGENT,
	HTTP_H_CTYPE,   /* Content-Type: a form or JSON body */
	HTTP_H_APIUSER, /* X-Api-User (acme-dns clients) */
	HTTP_H_APIKEY,  /* X-Api-Key (acme-dns clients); a secret, never logged */
	HTTP_H_COUNT
};

#define HTTP_MAX_CTYPE 128  /* Content-Type bytes kept */
#define HTTP_MAX_APIHDR 256 /* X-Api-User / X-Api-Key bytes kept */

typedef struct http_req {
	uint8_t method;                   /* llhttp_method_t */
	uint8_t keepalive;                /* the connection may carry another request */
	uint8_t http_minor;
	uint8_t upgrade;                  /* CONNECT or Upgrade: never continue */
	uint8_t hdr_trunc[HTTP_H_COUNT];  /* value was longer than kept (XFF: its tail is kept) */
	size_t url_len;
	size_t hdr_len[HTTP_H_COUNT];
	/* parse state */
	size_t hdr_bytes;                 /* names + values so far */
	size_t body_bytes;
	char *body;                       /* malloc'd, body_bytes long (NUL after it); NULL
					     when there was no body */
	unsigned nhdr;
	int cur;                          /* enum http_hdr being collected */
	size_t field_len;
	char field[24];                   /* current header name, if short */
	/* buffers last: only the fields above are cleared per request */
	char url[HTTP_MAX_URL + 1];       /* NUL-terminated */
	char auth[HTTP_MAX_AUTH + 1];
	char xff[HTTP_MAX_FWD + 1];
	char xri[HTTP_MAX_FWD + 1];
	char agent[HTTP_MAX_AGENT + 1];
	char ctype[HTTP_MAX_CTYPE + 1];
	char apiuser[HTTP_MAX_APIHDR + 1];
	char apikey[HTTP_MAX_APIHDR + 1];
} http_req_t;

typedef struct http_parser {
	llhttp_t p;
	http_req_t *req;  /* request being parsed, NULL between requests */
	int status;       /* HTTP status of a limit error (414, 431, 413) */
} http_parser_t;

enum {
	HTTP_FEED_MORE = 0,    /* all bytes consumed; the request (if any) is not complete */
	HTTP_FEED_REQUEST = 1, /* a request is complete: take it with http_take() */
};

/* Initialises hp for requests.  Nothing to free but a pending request. */
void http_parser_init(http_parser_t *hp);

/* Frees the request being parsed, if any. */
void http_parser_free(http_parser_t *hp);

/*
 * Parses up to len bytes.  Returns HTTP_FEED_MORE (all consumed), HTTP_FEED_REQUEST
 * (a complete request; *used bytes were consumed, feed the rest after
 * answering), or a negative HTTP status to answer before closing: -400
 * (malformed), -414, -431, -413, -505 (version), -500 (out of memory).
 * After an error the parser stays failed.
 */
int http_feed(http_parser_t *hp, const char *data, size_t len, size_t *used);

/* Returns 1 while a request has begun but is not complete. */
int http_in_request(const http_parser_t *hp);

/* Takes ownership of the completed request (http_req_free() it). */
http_req_t *http_take(http_parser_t *hp);

/* Frees a request taken with http_take() (NULL is fine); loop thread. */
void http_req_free(http_req_t *r);

/* Returns the header value of kind h and sets *len; NULL when absent. */
const char *http_header(const http_req_t *r, enum http_hdr h, size_t *len);

/* Returns 1 if the request's Content-Type is the media type mtype (case
 * insensitive, parameters such as "; charset=utf-8" ignored), else 0. */
int http_ctype_is(const http_req_t *r, const char *mtype);

/* Reason phrase of a status code ("OK", "Not Found"). */
const char *http_reason(int status);

/*
 * Formats a complete response: status line, Content-Type, Content-Length,
 * Cache-Control: no-store, Connection, extra (pre-formatted header lines,
 * each ending in "\r\n", may be NULL), blank line, and the body unless
 * head_only.  Returns a malloc'ed buffer and its length in *out_len, or
 * NULL when out of memory.
 */
char *http_response(int status, const char *ctype, const char *extra, const char *body,
		    size_t body_len, int head_only, int keepalive, size_t *out_len);

/* The same into out (cap bytes); returns the length, or 0 when it does not
 * fit (then use http_response()). */
size_t http_response_into(char *out, size_t cap, int status, const char *ctype, const char *extra,
			  const char *body, size_t body_len, int head_only, int keepalive);

#endif
