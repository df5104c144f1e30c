/*
 * rbint - what the two halves of the remote-backend module share: rb.c
 * (framing, dispatch, the read path, statistics) and rbwrite.c
 * (transactions, metadata, TSIG keys, secondaries, the deferred writes).
 * Private to them; other modules use rb.h only.  The helpers are static
 * inline so that the hot path in rb.c (the reply writer, the lookup) keeps
 * them inlined.
 */
#ifndef KYEDNS_RBINT_H
#define KYEDNS_RBINT_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "err.h"
#include "rb.h"
#include "rdata.h"
#include "txn.h"

/* ---- output buffer and compact JSON writer ---- */

/* The slow half of buf_reserve: grows the buffer. */
static inline int buf_grow(rb_buf_t *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->oom = 1;
			return -ENOMEM;
		}
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -ENOMEM;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Makes room for n more bytes; returns 0 or -ENOMEM (and sets oom).  Inline:
 * a reply is a dozen small appends that nearly always fit. */
static inline int buf_reserve(rb_buf_t *b, size_t n)
{
	if (b->cap - b->len >= n)
		return 0;
	return buf_grow(b, n);
}

static inline void put(rb_buf_t *b, const void *s, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

#define PUTLIT(b, lit) put((b), (lit), sizeof(lit) - 1)

static inline void put_u64(rb_buf_t *b, uint64_t v)
{
	char tmp[20];
	int i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(b, tmp + i, sizeof tmp - i);
}

/*
 * 0: copy as is; otherwise the character after the backslash ('u' for
 * \u00XX).  Bytes >= 0x80 are escaped too, as \u00XX: the output is then
 * plain ASCII and valid JSON whatever bytes a name or content holds.  In
 * practice it never happens - pdns and rdata_normalize both escape
 * non-printable bytes as \DDD text - so the loss of exactness (a raw byte
 * reads back as a code point) does not matter.
 */
static const char json_esc[256] = {
	['"'] = '"', ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n',
	['\r'] = 'r', ['\t'] = 't',
	[0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u',
	[0x05] = 'u', [0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u',
	[0x0f] = 'u', [0x10] = 'u', [0x11] = 'u', [0x12] = 'u', [0x13] = 'u',
	[0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u', [0x18] = 'u',
	[0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u', [0x1d] = 'u',
	[0x1e] = 'u', [0x1f] = 'u', [0x7f] = 'u',
	[0x80 ... 0xff] = 'u',
};

/* Writes s (n bytes, any content) as a JSON string with quotes. */
static inline void put_str(rb_buf_t *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	/* Worst case 6 bytes per input byte; reserve once for the common
	 * short case so the loop does not check per byte. */
	if (buf_reserve(b, n * 6 + 2) < 0)
		return;
	char *o = b->p + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e = json_esc[c];
		if (!e) {
			*o++ = (char)c;
		} else if (e != 'u') {
			*o++ = '\\';
			*o++ = e;
		} else {
			*o++ = '\\';
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
}

static inline void put_cstr(rb_buf_t *b, const char *s)
{
	put_str(b, s, strlen(s));
}

/* {"result":false,"log":["<message>"]}\n */
static inline void put_fail(rb_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void put_fail(rb_buf_t *b, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	PUTLIT(b, "{\"result\":false,\"log\":[");
	put_str(b, msg, (size_t)n);
	PUTLIT(b, "]}\n");
}

/* Latency histogram bucket of v ns (see RB_HIST_SUB). */
static inline unsigned hist_bucket(uint64_t v)
{
	if (v < RB_HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 3 */
	unsigned sub = (unsigned)(v >> (e - 3)) & (RB_HIST_SUB - 1);
	unsigned b = RB_HIST_SUB + (e - 3) * RB_HIST_SUB + sub;
	return b < RB_HIST_BUCKETS ? b : RB_HIST_BUCKETS - 1;
}

/* ---- statistics, logging, store access ---- */

/* The Prometheus buckets' upper bounds in ns (see RB_LE_COUNT): from a
 * cached lookup (a few microseconds) to a commit of a big zone. */
static const uint64_t rb_le_ns[RB_LE_COUNT] = {
	10000,     25000,     50000,      100000,     250000,     500000,
	1000000,   2500000,   5000000,    10000000,   25000000,   50000000,
	100000000, 250000000, 500000000,  1000000000, 2500000000, 10000000000,
};

/* start 0: this request was not timed (see RB_TIME_EVERY). */
static inline void count(rb_t *rb, enum rb_method m, int failed, uint64_t start)
{
	rb_method_stats_t *s = &rb->st->m[m];
	s->count++;
	if (failed)
		s->errors++;
	if (start) {
		uint64_t d = rb_now_ns() - start;
		unsigned i = 0;
		while (i < RB_LE_COUNT && d > rb_le_ns[i])
			i++;
		s->timed++;
		s->sum_ns += d;
		s->le[i]++;
		s->hist[hist_bucket(d)]++;
	}
}

/* One log line through whichever callback the daemon set; prio is for
 * logp (log has no priority). */
#define RB_LOG(rb, prio, ...)                                                  \
	do {                                                                   \
		if ((rb)->logp)                                                \
			(rb)->logp((rb)->log_arg, (prio), __VA_ARGS__);        \
		else if ((rb)->log)                                            \
			(rb)->log((rb)->log_arg, __VA_ARGS__);                 \
	} while (0)

/*
 * Whether a line about a peer's bad input may be logged now: at most
 * RB_LOG_PER_SEC a second, so a client spewing garbage cannot flood the
 * journal.  The first line of a new second reports what was dropped.
 */
static inline int log_ok(rb_t *rb)
{
	if (!rb->log && !rb->logp)
		return 0;
	uint64_t sec = rb_now_ns() / 1000000000u;
	if (sec != rb->log_sec) {
		if (rb->log_dropped)
			RB_LOG(rb, LOG_WARNING, "%" PRIu64 " log lines about bad requests dropped",
			       rb->log_dropped);
		rb->log_sec = sec;
		rb->log_count = 0;
		rb->log_dropped = 0;
	}
	if (rb->log_count >= RB_LOG_PER_SEC) {
		rb->log_dropped++;
		return 0;
	}
	rb->log_count++;
	return 1;
}

static const char *const method_names[RB_M_COUNT] = {
	[RB_M_INITIALIZE] = "initialize",
	[RB_M_LOOKUP] = "lookup",
	[RB_M_GETALLDOMAINS] = "getAllDomains",
	[RB_M_GETDOMAININFO] = "getDomainInfo",
	[RB_M_GETALLDOMAINMETADATA] = "getAllDomainMetadata",
	[RB_M_GETDOMAINMETADATA] = "getDomainMetadata",
	[RB_M_LIST] = "list",
	[RB_M_GETUPDATEDMASTERS] = "getUpdatedMasters",
	[RB_M_SETNOTIFIED] = "setNotified",
	[RB_M_DIRECTBACKENDCMD] = "directBackendCmd",
	[RB_M_GETUNFRESHSLAVEINFOS] = "getUnfreshSlaveInfos",
	[RB_M_SETFRESH] = "setFresh",
	[RB_M_SETSTALE] = "setStale",
	[RB_M_SETDOMAINMETADATA] = "setDomainMetadata",
	[RB_M_GETTSIGKEY] = "getTSIGKey",
	[RB_M_GETTSIGKEYS] = "getTSIGKeys",
	[RB_M_SETTSIGKEY] = "setTSIGKey",
	[RB_M_DELETETSIGKEY] = "deleteTSIGKey",
	[RB_M_SEARCHRECORDS] = "searchRecords",
	[RB_M_SUPERMASTERBACKEND] = "superMasterBackend",
	[RB_M_CREATESLAVEDOMAIN] = "createSlaveDomain",
	[RB_M_GETDOMAINKEYS] = "getDomainKeys",
	[RB_M_STARTTRANSACTION] = "startTransaction",
	[RB_M_COMMITTRANSACTION] = "commitTransaction",
	[RB_M_ABORTTRANSACTION] = "abortTransaction",
	[RB_M_REPLACERRSET] = "replaceRRSet",
	[RB_M_FEEDRECORD] = "feedRecord",
	[RB_M_FEEDENTS] = "feedEnts",
	[RB_M_FEEDENTS3] = "feedEnts3",
	[RB_M_ADDDOMAINKEY] = "addDomainKey",
	[RB_M_REMOVEDOMAINKEY] = "removeDomainKey",
	[RB_M_ACTIVATEDOMAINKEY] = "activateDomainKey",
	[RB_M_DEACTIVATEDOMAINKEY] = "deactivateDomainKey",
	[RB_M_PUBLISHDOMAINKEY] = "publishDomainKey",
	[RB_M_UNPUBLISHDOMAINKEY] = "unpublishDomainKey",
	[RB_M_GETBEFOREANDAFTERNAMESABSOLUTE] = "getBeforeAndAfterNamesAbsolute",
	[RB_M_UNKNOWN] = "unknown",
	[RB_M_INVALID] = "invalid",
};

/* Takes a fresh snapshot for this request.  NULL and *rc on failure. */
static inline store_txn_t *txn_get(rb_t *rb, int *rc)
{
	*rc = 0;
	if (rb->txn_live)
		return rb->txn;
	if (rb->txn) {
		*rc = store_txn_renew(rb->txn);
		if (*rc == 0) {
			rb->txn_live = 1;
			return rb->txn;
		}
		/* A txn that cannot be renewed is of no further use. */
		store_txn_abort(rb->txn);
		rb->txn = NULL;
	}
	*rc = store_txn_begin(rb->store, 0, &rb->txn);
	if (*rc < 0) {
		rb->txn = NULL;
		return NULL;
	}
	rb->txn_live = 1;
	return rb->txn;
}

/* Releases the snapshot; the txn handle is kept for the next request. */
static inline void txn_put(rb_t *rb)
{
	if (rb->txn_live) {
		store_txn_reset(rb->txn);
		rb->txn_live = 0;
	}
}

/* ---- parameter helpers ---- */

static inline int get_str(json_t *params, const char *key, const char **s, size_t *n)
{
	json_t *v = json_object_get(params, key);
	if (!json_is_string(v))
		return -EINVAL;
	*s = json_string_value(v);
	*n = json_string_length(v);
	return 0;
}

/* Integers 0..UINT32_MAX; pdns sends ids and serials as JSON numbers. */
static inline int get_u32(json_t *params, const char *key, uint32_t *out)
{
	json_t *v = json_object_get(params, key);
	if (!json_is_integer(v))
		return -EINVAL;
	json_int_t i = json_integer_value(v);
	if (i < 0 || i > (json_int_t)UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)i;
	return 0;
}

static inline int get_i64(json_t *params, const char *key, int64_t *out)
{
	json_t *v = json_object_get(params, key);
	if (!json_is_integer(v))
		return -EINVAL;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* A name as pdns writes it (only \. \\ \DDD are escapes). */
static inline int get_name(json_t *params, const char *key, dname_t *n)
{
	const char *s;
	size_t len;
	if (get_str(params, key, &s, &len) < 0)
		return -EINVAL;
	return dname_parse_pdns(n, s, len);
}

/* Type code of a qtype string (n bytes): 0 and *out (RR_ANY for "ANY"),
 * or < 0 when pdns's name is unknown to us. */
static inline int qtype_code(const char *s, size_t n, uint16_t *out)
{
	if (n == 3 && memcmp(s, "ANY", 3) == 0) {
		*out = RR_ANY;
		return 0;
	}
	if (n == 0 || memchr(s, '\0', n))
		return ERR_BADTYPE;
	return rrtype_parse(s, n, out);
}

static inline void put_type(rb_buf_t *b, uint16_t type)
{
	/* The types of nearly every row, as JSON text, without a table walk. */
	switch (type) {
	case RR_A: PUTLIT(b, "\"A\""); return;
	case RR_AAAA: PUTLIT(b, "\"AAAA\""); return;
	case RR_SOA: PUTLIT(b, "\"SOA\""); return;
	case RR_NS: PUTLIT(b, "\"NS\""); return;
	case RR_MX: PUTLIT(b, "\"MX\""); return;
	case RR_TXT: PUTLIT(b, "\"TXT\""); return;
	case RR_CNAME: PUTLIT(b, "\"CNAME\""); return;
	}
	char tmp[32];
	int n = rrtype_format(type, tmp, sizeof tmp);
	if (n < 0 || (size_t)n >= sizeof tmp)
		n = snprintf(tmp, sizeof tmp, "TYPE%u", (unsigned)type);
	put_str(b, tmp, (size_t)n);
}

/*
 * One record row.  qname is already JSON text (quoted, escaped) so that a
 * lookup escapes the name once for all its rows.  "auth" is written only
 * when 0: pdns (remote-dnssec=yes) reads it as a number and defaults it to
 * 1, and leaving it out keeps replies ~12% smaller, which matters because
 * pdns re-parses a reply on every 1500-byte read, so AXFR cost grows with
 * the square of the reply size.
 */
static inline void put_row(rb_buf_t *b, int first, uint16_t type, const char *qname_json, size_t qlen,
		    const char *content, size_t clen, uint32_t ttl, uint32_t domain_id, int auth)
{
	if (!first)
		PUTLIT(b, ",");
	PUTLIT(b, "{\"qtype\":");
	put_type(b, type);
	PUTLIT(b, ",\"qname\":");
	put(b, qname_json, qlen);
	PUTLIT(b, ",\"content\":");
	put_str(b, content, clen);
	PUTLIT(b, ",\"ttl\":");
	put_u64(b, ttl);
	PUTLIT(b, ",\"domain_id\":");
	put_u64(b, domain_id);
	if (!auth)
		PUTLIT(b, ",\"auth\":0");
	PUTLIT(b, "}");
}

/* qname JSON text built in a small stack buffer. */
typedef struct qjson {
	char buf[DNAME_MAX_TEXT * 6 + 8];
	size_t len;
} qjson_t;

static inline void qjson_set(qjson_t *q, const char *s, size_t n)
{
	rb_buf_t tmp = {0};
	/* Small names fit the stack buffer; callers bound n by the parse
	 * of the same text (a valid name is under DNAME_MAX_TEXT). */
	if (n > DNAME_MAX_TEXT)
		n = DNAME_MAX_TEXT;
	tmp.p = q->buf;
	tmp.cap = sizeof q->buf;
	put_str(&tmp, s, n);
	q->len = tmp.len;
}

static inline void qjson_name(qjson_t *q, const dname_t *n)
{
	char text[DNAME_MAX_TEXT];
	int len = dname_to_text(n, text, sizeof text);
	qjson_set(q, text, len < 0 ? 0 : (size_t)len);
}

/* store_rr_next, skipping all but A/AAAA when only_addrs. */
static inline int rr_next(store_rr_iter_t *it, int only_addrs, store_rr_t *rr)
{
	int rc;
	while ((rc = store_rr_next(it, rr)) == 1)
		if (!only_addrs || rr->type == RR_A || rr->type == RR_AAAA)
			return 1;
	return rc;
}

/* 1 if the RRs ahead of it (a copy is used) hold type, 0 if not, < 0. */
static inline int iter_has(const store_rr_iter_t *it, int only_addrs, uint16_t type)
{
	store_rr_iter_t c = *it;
	store_rr_t rr;
	int rc;
	while ((rc = rr_next(&c, only_addrs, &rr)) == 1)
		if (rr.type == type)
			return 1;
	return rc;
}

/* 1 when name is a dyndns host of zone id, 0 if not, < 0 on error. */
static inline int is_host(store_txn_t *st, uint32_t id, const dname_t *name)
{
	store_host_t h;
	int rc = store_host_get(st, name, &h);
	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : h.zone_id == id;
}

/* The committed records of name as the transaction starts from them. */
static inline int base_get(store_txn_t *st, uint32_t id, int replace, const dname_t *name,
		    store_rr_iter_t *it, int *only_addrs)
{
	*only_addrs = 0;
	if (replace) {
		int rc = is_host(st, id, name);
		if (rc <= 0)
			return rc;
		*only_addrs = 1;
	}
	int rc = store_name_get(st, id, name, it);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (*only_addrs) {
		rc = iter_has(it, 0, RR_A);
		if (rc == 0)
			rc = iter_has(it, 0, RR_AAAA);
		return rc;
	}
	return 1;
}

/* Finds a zone by a name parameter (exact apex). */
static inline int zone_by_param(store_txn_t *txn, json_t *params, const char *key, store_zone_t *z)
{
	dname_t name;
	int rc = get_name(params, key, &name);
	if (rc < 0)
		return rc;
	return store_zone_get(txn, &name, z);
}

static inline uint64_t now_sec(void)
{
	return rb_now_ns() / 1000000000u;
}

/* ---- rbwrite.c: the write side (0, or 1 when the reply is a failure
 * worth counting) ---- */

int rb_m_getmeta(rb_t *rb, json_t *params, rb_buf_t *out);
int rb_m_getallmeta(rb_t *rb, json_t *params, rb_buf_t *out);
int rb_m_gettsig(rb_t *rb, json_t *params, rb_buf_t *out);
int rb_m_gettsigs(rb_t *rb, rb_buf_t *out);
int rb_m_search(rb_t *rb, json_t *params, rb_buf_t *out);
int rb_m_supermaster(rb_t *rb, json_t *params, rb_buf_t *out);
int rb_m_start(rb_t *rb, rb_conn_t *conn, json_t *params, rb_buf_t *out);
int rb_m_abort(rb_t *rb, rb_conn_t *conn, json_t *params, rb_buf_t *out);
int rb_m_replace(rb_t *rb, rb_conn_t *conn, json_t *params, rb_buf_t *out);
int rb_m_feed(rb_t *rb, rb_conn_t *conn, json_t *params, rb_buf_t *out);
int rb_m_feedents(rb_t *rb, rb_conn_t *conn, json_t *params, const char *what,
		      rb_buf_t *out);
int rb_tx_check(rb_conn_t *conn, json_t *params, const char *what, rb_buf_t *out,
		    txn_t **tx);
void rb_tx_end(rb_t *rb, rb_conn_t *conn);

/* ---- rbsec.c: keys and NSEC/NSEC3 order ---- */

int rb_m_getkeys(rb_t *rb, json_t *params, rb_buf_t *out);
int rb_check_addkey(rb_t *rb, json_t *params, rb_buf_t *out);
int rb_check_keyop(json_t *params, const char *what, rb_buf_t *out);
int rb_apply_key(rb_work_t *w, store_txn_t *t);
int rb_m_beforeafter(rb_t *rb, json_t *params, rb_buf_t *out);
void rb_n3_free(rb_n3chain_t *c);

#endif
