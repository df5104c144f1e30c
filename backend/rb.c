/*
 * rb - the remote-backend protocol.  See rb.h for the contract.
 *
 * Requests are parsed with jansson (correctness over speed: a request is a
 * few hundred bytes); replies are written by hand because they are the hot
 * path and jansson would build a tree only to serialise it again.  Facts
 * about what pdns 4.7.3 sends and accepts are in DESIGN.md "The backend".
 */
#include "rb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "err.h"
#include "rdata.h"

/* ---- output buffer and compact JSON writer ---- */

void rb_buf_free(rb_buf_t *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

void rb_buf_consume(rb_buf_t *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

/* The slow half of buf_reserve: grows the buffer. */
static int buf_grow(rb_buf_t *b, size_t n)
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

static void put_u64(rb_buf_t *b, uint64_t v)
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
static void put_str(rb_buf_t *b, const char *s, size_t n)
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

static void put_cstr(rb_buf_t *b, const char *s)
{
	put_str(b, s, strlen(s));
}

/* {"result":false,"log":["<message>"]}\n */
static void put_fail(rb_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fail(rb_buf_t *b, const char *fmt, ...)
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

/* ---- statistics ---- */

uint64_t rb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned hist_bucket(uint64_t v)
{
	if (v < RB_HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 3 */
	unsigned sub = (unsigned)(v >> (e - 3)) & (RB_HIST_SUB - 1);
	unsigned b = RB_HIST_SUB + (e - 3) * RB_HIST_SUB + sub;
	return b < RB_HIST_BUCKETS ? b : RB_HIST_BUCKETS - 1;
}

/* Upper bound (ns) of the values in bucket b. */
static uint64_t hist_upper(unsigned b)
{
	if (b < RB_HIST_SUB)
		return b;
	unsigned e = (b - RB_HIST_SUB) / RB_HIST_SUB + 3;
	uint64_t sub = (b - RB_HIST_SUB) % RB_HIST_SUB;
	return ((RB_HIST_SUB + sub + 1) << (e - 3)) - 1;
}

static uint64_t hist_percentile(const uint64_t *h, uint64_t total, double p)
{
	if (!total)
		return 0;
	uint64_t want = (uint64_t)(p * (double)total);
	if (want < 1)
		want = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < RB_HIST_BUCKETS; b++) {
		seen += h[b];
		if (seen >= want)
			return hist_upper(b);
	}
	return hist_upper(RB_HIST_BUCKETS - 1);
}

/* start 0: this request was not timed (see RB_TIME_EVERY). */
static void count(rb_t *rb, enum rb_method m, int failed, uint64_t start)
{
	rb_method_stats_t *s = &rb->m[m];
	s->count++;
	if (failed)
		s->errors++;
	if (start) {
		s->timed++;
		s->hist[hist_bucket(rb_now_ns() - start)]++;
	}
}

/*
 * Whether a line about a peer's bad input may be logged now: at most
 * RB_LOG_PER_SEC a second, so a client spewing garbage cannot flood the
 * journal.  The first line of a new second reports what was dropped.
 */
static int log_ok(rb_t *rb)
{
	if (!rb->log)
		return 0;
	uint64_t sec = rb_now_ns() / 1000000000u;
	if (sec != rb->log_sec) {
		if (rb->log_dropped)
			rb->log(rb->log_arg, "%" PRIu64 " log lines about bad requests dropped",
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
	[RB_M_UNKNOWN] = "unknown",
	[RB_M_INVALID] = "invalid",
};

/* ---- store access ---- */

/* Takes a fresh snapshot for this request.  NULL and *rc on failure. */
static store_txn_t *txn_get(rb_t *rb, int *rc)
{
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
static void txn_put(rb_t *rb)
{
	if (rb->txn_live) {
		store_txn_reset(rb->txn);
		rb->txn_live = 0;
	}
}

void rb_init(rb_t *rb, store_t *store)
{
	memset(rb, 0, sizeof *rb);
	rb->store = store;
	rb->started = (uint64_t)time(NULL);
}

void rb_free(rb_t *rb)
{
	txn_put(rb);
	store_txn_abort(rb->txn);
	rb->txn = NULL;
}

/* ---- parameter helpers ---- */

static int get_str(json_t *params, const char *key, const char **s, size_t *n)
{
	json_t *v = json_object_get(params, key);
	if (!json_is_string(v))
		return -EINVAL;
	*s = json_string_value(v);
	*n = json_string_length(v);
	return 0;
}

/* Integers 0..UINT32_MAX; pdns sends ids and serials as JSON numbers. */
static int get_u32(json_t *params, const char *key, uint32_t *out)
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

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case STORE_KIND_MASTER: return "master";
	case STORE_KIND_SLAVE: return "slave";
	default: return "native";
	}
}

static void put_type(rb_buf_t *b, uint16_t type)
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
	const char *name = rrtype_name(type);
	if (name) {
		put_cstr(b, name);
	} else {
		char tmp[16];
		int n = snprintf(tmp, sizeof tmp, "TYPE%u", (unsigned)type);
		put_str(b, tmp, (size_t)n);
	}
}

/*
 * One record row.  qname is already JSON text (quoted, escaped) so that a
 * lookup escapes the name once for all its rows.
 */
static void put_row(rb_buf_t *b, int first, uint16_t type, const char *qname_json, size_t qlen,
		    const char *content, size_t clen, uint32_t ttl, uint32_t domain_id)
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
	/* No "auth": pdns 4.7 reads it only with remote-dnssec=yes and then
	 * defaults it to true; leaving it out keeps replies ~12% smaller, which
	 * matters because pdns re-parses a reply on every 1500-byte read, so
	 * AXFR cost grows with the square of the reply size. */
	PUTLIT(b, "}");
}

/* The SOA row synthesized from the zone: exactly 7 fields. */
static void put_soa_row(rb_buf_t *b, int first, const char *qname_json, size_t qlen,
			const store_zone_t *z)
{
	char content[600];
	int n = snprintf(content, sizeof content, "%.*s %.*s %" PRIu32 " %" PRIu32 " %" PRIu32
			 " %" PRIu32 " %" PRIu32,
			 (int)z->mname_len, z->mname, (int)z->rname_len, z->rname, z->serial,
			 z->refresh, z->retry, z->expire, z->minimum);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof content)
		n = sizeof content - 1;
	put_row(b, first, RR_SOA, qname_json, qlen, content, (size_t)n, z->ttl, z->id);
}

/* qname JSON text built in a small stack buffer. */
typedef struct qjson {
	char buf[DNAME_MAX_TEXT * 6 + 8];
	size_t len;
} qjson_t;

static void qjson_set(qjson_t *q, const char *s, size_t n)
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

/* ---- methods ---- */

/* Type code of a qtype string (n bytes); 0 for types we never store. */
static uint16_t qtype_code(const char *s, size_t n)
{
	char t[16];
	if (n == 0 || n >= sizeof t || memchr(s, '\0', n))
		return 0;
	memcpy(t, s, n);
	t[n] = '\0';
	if (strcmp(t, "ANY") == 0)
		return RR_ANY;
	if (strcmp(t, "SOA") == 0)
		return RR_SOA;
	return rrtype_from_str(t);
}

/*
 * lookup: qname (qnlen bytes, unescaped JSON string value) and qtype.
 * Returns 0, or 1 when the reply is a failure worth counting as an error.
 */
static int lookup(rb_t *rb, const char *qname, size_t qnlen, const char *qtype, size_t qtlen,
		  rb_buf_t *out)
{
	dname_t name;
	int rc = dname_parse(&name, qname, qnlen);
	if (rc < 0) {
		if (log_ok(rb)) {
			/* The name is the peer's text: logged escaped, bounded. */
			qjson_t q;
			qjson_set(&q, qname, qnlen > 200 ? 200 : qnlen);
			rb->log(rb->log_arg, "lookup of unparsable qname %.*s (%s)", (int)q.len,
				q.buf, err_str(rc));
		}
		put_fail(out, "lookup: cannot parse qname (%s)", err_str(rc));
		return 1;
	}
	uint16_t qt = qtype_code(qtype, qtlen);
	if (qt == 0) {
		/* A type we never store (NSEC, DNSKEY, TYPE12345...). */
		PUTLIT(out, "{\"result\":[]}\n");
		return 0;
	}
	store_txn_t *txn = txn_get(rb, &rc);
	if (!txn) {
		put_fail(out, "lookup: cannot read store (%s)", err_str(rc));
		return 1;
	}
	store_zone_t z;
	rc = store_zone_find(txn, &name, &z);
	if (rc == ERR_NOZONE) {
		PUTLIT(out, "{\"result\":[]}\n");
		return 0;
	}
	if (rc < 0) {
		put_fail(out, "lookup: cannot find zone (%s)", err_str(rc));
		return 1;
	}

	size_t start = out->len;
	qjson_t q;
	qjson_set(&q, qname, qnlen);
	int first = 1;
	int apex = dname_equal(&name, &z.name);
	PUTLIT(out, "{\"result\":[");
	if (apex && (qt == RR_ANY || qt == RR_SOA)) {
		put_soa_row(out, first, q.buf, q.len, &z);
		first = 0;
	}
	if (qt != RR_SOA) {
		store_rr_iter_t it;
		rc = store_name_get(txn, &name, &it);
		if (rc == 0) {
			store_rr_t rr;
			while ((rc = store_rr_next(&it, &rr)) == 1) {
				if (qt != RR_ANY && rr.type != qt)
					continue;
				put_row(out, first, rr.type, q.buf, q.len, rr.data, rr.len, rr.ttl,
					z.id);
				first = 0;
			}
		} else if (rc == -ENOENT) {
			rc = 0;
			/* No records: an empty non-terminal must say so, or pdns
			 * answers NXDOMAIN for it. */
			if (qt == RR_ANY && !apex) {
				rc = store_name_has_below(txn, &name);
				if (rc == 1) {
					PUTLIT(out, "{\"qtype\":\"ENT\",\"qname\":");
					put(out, q.buf, q.len);
					PUTLIT(out, ",\"content\":\"\",\"ttl\":");
					put_u64(out, z.ttl);
					PUTLIT(out, ",\"domain_id\":");
					put_u64(out, z.id);
					PUTLIT(out, "}");
					rc = 0;
				}
			}
		}
	}
	if (rc < 0) {
		out->len = start;
		put_fail(out, "lookup: cannot read records (%s)", err_str(rc));
		return 1;
	}
	PUTLIT(out, "]}\n");
	return 0;
}

static int m_lookup(rb_t *rb, json_t *params, rb_buf_t *out)
{
	const char *qname, *qtype;
	size_t qnlen, qtlen;
	if (get_str(params, "qname", &qname, &qnlen) < 0 ||
	    get_str(params, "qtype", &qtype, &qtlen) < 0) {
		put_fail(out, "lookup: qname and qtype must be strings");
		return 1;
	}
	return lookup(rb, qname, qnlen, qtype, qtlen, out);
}

/*
 * The fast path.  Nearly every request is a lookup, and jansson, which
 * allocates a node per value, cost about a third of the backend's CPU.
 * This scanner accepts only the plain shape pdns sends -
 * {"method":"lookup","parameters":{"qtype":"A","qname":"x.",...}} with
 * escape-free ASCII strings, integers, true/false/null - and returns NULL
 * for anything else (escapes, nesting, floats, odd bytes, other methods),
 * which then goes through jansson as before.  So it never has to reject or
 * explain anything: correctness stays with jansson.
 */
static int fast_path = 1; /* tests turn it off to compare both paths */

typedef struct fp {
	const char *method, *qname, *qtype;
	size_t mlen, qnlen, qtlen;
} fp_t;

static const char *fp_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/*
 * The bytes of the 8 in w that end the fast scan of a string - '"', '\\', a
 * control character (< 0x20) or a byte >= 0x80 - as a mask with the high bit
 * of each such byte set.  Each test is the classic "has a zero byte" trick,
 * (v - 0x01..) & ~v & 0x80.., which can misfire only on bytes above a real
 * hit (a borrow runs upwards), so the lowest bit set is always a real one.
 */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
static inline uint64_t fp_word_stops(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), bs = w ^ (ONES * '\\');
	return (((q - ONES) & ~q) | ((bs - ONES) & ~bs) | ((w - ONES * 0x20) & ~w) | w) & HIGHS;
}

/* An escape-free ASCII string; its bytes go to s and n.  Eight bytes at a
 * time: the first stop byte in a word is found with one count of trailing
 * zeros (little-endian), and it either closes the string or sends the
 * request to jansson. */
static const char *fp_str(const char *p, const char *end, const char **s, size_t *n)
{
	if (p >= end || *p != '"')
		return NULL;
	const char *b = ++p;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (end - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		uint64_t m = fp_word_stops(w);
		if (m) {
			p += __builtin_ctzll(m) >> 3;
			if (*p != '"')
				return NULL;
			*s = b;
			*n = (size_t)(p - b);
			return p + 1;
		}
		p += 8;
	}
#endif
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			*s = b;
			*n = (size_t)(p - b);
			return p + 1;
		}
		if (c == '\\' || c < 0x20 || c >= 0x80)
			return NULL;
		p++;
	}
	return NULL;
}

/* A value we do not need: plain string, small integer, true/false/null. */
static const char *fp_skip(const char *p, const char *end)
{
	const char *s;
	size_t n;
	if (p >= end)
		return NULL;
	if (*p == '"')
		return fp_str(p, end, &s, &n);
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		if (*p == '-')
			p++;
		const char *d = p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		/* no digits, a leading zero, or too long for jansson's integer */
		if (p == d || (*d == '0' && p - d > 1) || p - d > 18)
			return NULL;
		if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
			return NULL;
		return p;
	}
	if (end - p >= 4 && (memcmp(p, "true", 4) == 0 || memcmp(p, "null", 4) == 0))
		return p + 4;
	if (end - p >= 5 && memcmp(p, "false", 5) == 0)
		return p + 5;
	return NULL;
}

/* The length is a constant, so the compiler inlines the compare. */
#define KEY_IS(k, n, lit) ((n) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)

/* {"key":value,...}; at the top level (top = 1) "parameters" recurses. */
static const char *fp_object(const char *p, const char *end, fp_t *f, int top)
{
	p = fp_ws(p, end);
	if (p >= end || *p != '{')
		return NULL;
	p = fp_ws(p + 1, end);
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		const char *k;
		size_t kn;
		if (!(p = fp_str(p, end, &k, &kn)))
			return NULL;
		p = fp_ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		p = fp_ws(p + 1, end);
		if (top && KEY_IS(k, kn, "method"))
			p = fp_str(p, end, &f->method, &f->mlen);
		else if (top && KEY_IS(k, kn, "parameters")) {
			/* a repeated key: the last one wins, as in jansson */
			f->qname = f->qtype = NULL;
			p = fp_object(p, end, f, 0);
		}
		else if (!top && KEY_IS(k, kn, "qname"))
			p = fp_str(p, end, &f->qname, &f->qnlen);
		else if (!top && KEY_IS(k, kn, "qtype"))
			p = fp_str(p, end, &f->qtype, &f->qtlen);
		else
			p = fp_skip(p, end);
		if (!p)
			return NULL;
		p = fp_ws(p, end);
		if (p < end && *p == ',') {
			p = fp_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}')
			return p + 1;
		return NULL;
	}
}

/* Returns 1 and the parts when line is a plain lookup, else 0. */
static int fp_lookup(const char *line, size_t len, fp_t *f)
{
	const char *end = line + len;
	memset(f, 0, sizeof *f);
	const char *p = fp_object(line, end, f, 1);
	if (!p || fp_ws(p, end) != end)
		return 0;
	return f->method && KEY_IS(f->method, f->mlen, "lookup") && f->qname && f->qtype;
}

static void put_domaininfo(rb_buf_t *b, const store_zone_t *z)
{
	char zone[DNAME_MAX_TEXT];
	int n = dname_to_text(&z->name, zone, sizeof zone);
	if (n < 0)
		n = 0;
	PUTLIT(b, "{\"id\":");
	put_u64(b, z->id);
	PUTLIT(b, ",\"zone\":");
	put_str(b, zone, (size_t)n);
	PUTLIT(b, ",\"masters\":[],\"notified_serial\":");
	put_u64(b, z->notified_serial);
	PUTLIT(b, ",\"serial\":");
	put_u64(b, z->serial);
	PUTLIT(b, ",\"last_check\":0,\"kind\":");
	put_cstr(b, kind_name(z->kind));
	PUTLIT(b, "}");
}

struct walk_ctx {
	rb_buf_t *out;
	int first;
	int only_updated; /* getUpdatedMasters */
	uint32_t zone_id;
};

static int domain_cb(const store_zone_t *z, void *arg)
{
	struct walk_ctx *w = arg;
	if (w->only_updated && (z->kind != STORE_KIND_MASTER || z->serial == z->notified_serial))
		return 0;
	if (!w->first)
		PUTLIT(w->out, ",");
	w->first = 0;
	put_domaininfo(w->out, z);
	return w->out->oom ? -ENOMEM : 0;
}

static int m_domains(rb_t *rb, rb_buf_t *out, int only_updated, const char *what)
{
	int rc;
	store_txn_t *txn = txn_get(rb, &rc);
	if (!txn) {
		put_fail(out, "%s: cannot read store (%s)", what, err_str(rc));
		return 1;
	}
	size_t start = out->len;
	struct walk_ctx w = {.out = out, .first = 1, .only_updated = only_updated};
	PUTLIT(out, "{\"result\":[");
	rc = store_zone_walk(txn, domain_cb, &w);
	if (rc < 0) {
		out->len = start;
		/* getUpdatedMasters runs on pdns's communicator connection, where
		 * a broken reply is fatal for pdns: an empty list is the safe
		 * answer, and the next check (a few seconds later) retries. */
		if (only_updated) {
			PUTLIT(out, "{\"result\":[],\"log\":[");
			put_cstr(out, err_str(rc));
			PUTLIT(out, "]}\n");
		} else {
			put_fail(out, "%s: cannot walk zones (%s)", what, err_str(rc));
		}
		return 1;
	}
	PUTLIT(out, "]}\n");
	return 0;
}

/* Finds a zone by the "name"/"zonename" string (exact apex). */
static int zone_by_param(store_txn_t *txn, json_t *params, const char *key, store_zone_t *z)
{
	const char *s;
	size_t n;
	if (get_str(params, key, &s, &n) < 0)
		return -EINVAL;
	dname_t name;
	int rc = dname_parse(&name, s, n);
	if (rc < 0)
		return rc;
	return store_zone_get(txn, &name, z);
}

static int m_domaininfo(rb_t *rb, json_t *params, rb_buf_t *out)
{
	int rc;
	store_txn_t *txn = txn_get(rb, &rc);
	if (!txn) {
		put_fail(out, "getDomainInfo: cannot read store (%s)", err_str(rc));
		return 1;
	}
	store_zone_t z;
	rc = zone_by_param(txn, params, "name", &z);
	if (rc == -EINVAL) {
		put_fail(out, "getDomainInfo: name must be a string");
		return 1;
	}
	if (rc < 0) {
		/* Not ours (or not a name): pdns asks for zones it does not
		 * know, e.g. on a NOTIFY; a plain false is the answer. */
		PUTLIT(out, "{\"result\":false}\n");
		return rc == -ENOENT || rc == ERR_BADNAME ? 0 : 1;
	}
	PUTLIT(out, "{\"result\":");
	put_domaininfo(out, &z);
	PUTLIT(out, "}\n");
	return 0;
}

static int list_cb(const dname_t *owner, store_rr_iter_t *it, void *arg)
{
	struct walk_ctx *w = arg;
	char text[DNAME_MAX_TEXT];
	int n = dname_to_text(owner, text, sizeof text);
	if (n < 0)
		return n;
	qjson_t q;
	qjson_set(&q, text, (size_t)n);
	store_rr_t rr;
	int rc;
	while ((rc = store_rr_next(it, &rr)) == 1) {
		put_row(w->out, w->first, rr.type, q.buf, q.len, rr.data, rr.len, rr.ttl,
			w->zone_id);
		w->first = 0;
	}
	if (rc < 0)
		return rc;
	return w->out->oom ? -ENOMEM : 0;
}

static int m_list(rb_t *rb, json_t *params, rb_buf_t *out)
{
	int rc;
	store_txn_t *txn = txn_get(rb, &rc);
	if (!txn) {
		put_fail(out, "list: cannot read store (%s)", err_str(rc));
		return 1;
	}
	store_zone_t z;
	rc = zone_by_param(txn, params, "zonename", &z);
	if (rc == -EINVAL) {
		/* Some callers only give the id. */
		uint32_t id;
		if (get_u32(params, "domain_id", &id) < 0) {
			put_fail(out, "list: zonename must be a string");
			return 1;
		}
		rc = store_zone_get_by_id(txn, id, &z);
	}
	if (rc < 0) {
		put_fail(out, "list: no such zone (%s)", err_str(rc));
		return rc == -ENOENT || rc == ERR_BADNAME ? 0 : 1;
	}
	char apex[DNAME_MAX_TEXT];
	int n = dname_to_text(&z.name, apex, sizeof apex);
	if (n < 0)
		n = 0;
	qjson_t q;
	qjson_set(&q, apex, (size_t)n);
	size_t start = out->len;
	PUTLIT(out, "{\"result\":[");
	put_soa_row(out, 1, q.buf, q.len, &z);
	struct walk_ctx w = {.out = out, .first = 0, .zone_id = z.id};
	rc = store_name_walk(txn, &z.name, 1, list_cb, &w);
	if (rc < 0) {
		out->len = start;
		put_fail(out, "list: cannot walk zone (%s)", err_str(rc));
		return 1;
	}
	PUTLIT(out, "]}\n");
	return 0;
}

static int m_directcmd(rb_t *rb, json_t *params, rb_buf_t *out)
{
	const char *q;
	size_t n;
	if (get_str(params, "query", &q, &n) < 0) {
		put_fail(out, "directBackendCmd: query must be a string");
		return 1;
	}
	/* pdnsutil joins its arguments with spaces; the first word is ours. */
	size_t w = 0;
	while (w < n && q[w] != ' ')
		w++;
	PUTLIT(out, "{\"result\":");
	if (w == 5 && memcmp(q, "stats", 5) == 0) {
		rb_buf_t text = {0};
		rb_stats_text(rb, &text);
		if (text.oom) {
			rb_buf_free(&text);
			out->oom = 1;
			return 1;
		}
		put_str(out, text.p, text.len);
		rb_buf_free(&text);
	} else if (w == 4 && memcmp(q, "ping", 4) == 0) {
		PUTLIT(out, "\"pong\"");
	} else if (w == 7 && memcmp(q, "version", 7) == 0) {
		put_cstr(out, RB_VERSION);
	} else if (w == 4 && memcmp(q, "help", 4) == 0) {
		put_cstr(out, "stats    request counts, errors, latency, connections, store use\n"
			      "ping     answers pong\n"
			      "version  the backend's version\n"
			      "help     this text");
	} else {
		put_cstr(out, "unknown command (try help)");
	}
	PUTLIT(out, "}\n");
	return 0;
}

static enum rb_method method_of(const char *s)
{
	switch (s[0]) {
	case 'l':
		if (strcmp(s, "lookup") == 0)
			return RB_M_LOOKUP;
		if (strcmp(s, "list") == 0)
			return RB_M_LIST;
		break;
	case 'i':
		if (strcmp(s, "initialize") == 0)
			return RB_M_INITIALIZE;
		break;
	case 'g':
		if (strcmp(s, "getAllDomains") == 0)
			return RB_M_GETALLDOMAINS;
		if (strcmp(s, "getDomainInfo") == 0)
			return RB_M_GETDOMAININFO;
		if (strcmp(s, "getAllDomainMetadata") == 0)
			return RB_M_GETALLDOMAINMETADATA;
		if (strcmp(s, "getDomainMetadata") == 0)
			return RB_M_GETDOMAINMETADATA;
		if (strcmp(s, "getUpdatedMasters") == 0)
			return RB_M_GETUPDATEDMASTERS;
		break;
	case 's':
		if (strcmp(s, "setNotified") == 0)
			return RB_M_SETNOTIFIED;
		break;
	case 'd':
		if (strcmp(s, "directBackendCmd") == 0)
			return RB_M_DIRECTBACKENDCMD;
		break;
	}
	return RB_M_UNKNOWN;
}

int rb_handle(rb_t *rb, const char *line, size_t len, rb_buf_t *out, rb_work_t *work)
{
	uint64_t t0 = (rb->ticks++ & (RB_TIME_EVERY - 1)) == 0 ? rb_now_ns() : 0;
	enum rb_method m = RB_M_INVALID;
	int failed = 1;
	fp_t f;
	if (fast_path && fp_lookup(line, len, &f)) {
		failed = lookup(rb, f.qname, f.qnlen, f.qtype, f.qtlen, out);
		txn_put(rb);
		count(rb, RB_M_LOOKUP, failed, t0);
		return out->oom ? -ENOMEM : 0;
	}
	if (!t0)
		t0 = rb_now_ns(); /* the rare requests are all timed */
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
	if (!req) {
		if (log_ok(rb))
			rb->log(rb->log_arg, "bad request (invalid json at %d:%d: %s)", jerr.line,
				jerr.column, jerr.text);
		put_fail(out, "invalid json at %d:%d (%s)", jerr.line, jerr.column, jerr.text);
		goto done;
	}
	json_t *jm = json_object_get(req, "method");
	if (!json_is_string(jm)) {
		put_fail(out, "request must be an object with a method string");
		goto done;
	}
	json_t *params = json_object_get(req, "parameters");
	if (!params) {
		params = json_object(); /* absent = empty; stolen below */
		if (!params || json_object_set_new(req, "parameters", params) < 0) {
			out->oom = 1;
			goto done;
		}
	}
	if (!json_is_object(params)) {
		put_fail(out, "parameters must be an object");
		goto done;
	}
	/* "lookup\u0000junk" is no lookup: compare the whole string */
	m = strlen(json_string_value(jm)) == json_string_length(jm) ? method_of(json_string_value(jm))
								     : RB_M_UNKNOWN;
	failed = 0;
	switch (m) {
	case RB_M_INITIALIZE:
		PUTLIT(out, "{\"result\":true}\n");
		break;
	case RB_M_LOOKUP:
		failed = m_lookup(rb, params, out);
		break;
	case RB_M_GETALLDOMAINS:
		failed = m_domains(rb, out, 0, "getAllDomains");
		break;
	case RB_M_GETUPDATEDMASTERS:
		failed = m_domains(rb, out, 1, "getUpdatedMasters");
		break;
	case RB_M_GETDOMAININFO:
		failed = m_domaininfo(rb, params, out);
		break;
	case RB_M_GETALLDOMAINMETADATA:
		PUTLIT(out, "{\"result\":{}}\n");
		break;
	case RB_M_GETDOMAINMETADATA:
		PUTLIT(out, "{\"result\":[]}\n");
		break;
	case RB_M_LIST:
		failed = m_list(rb, params, out);
		break;
	case RB_M_SETNOTIFIED:
		if (get_u32(params, "id", &work->id) < 0 ||
		    get_u32(params, "serial", &work->serial) < 0) {
			put_fail(out, "setNotified: id and serial must be integers 0..4294967295");
			failed = 1;
			break;
		}
		json_decref(req);
		txn_put(rb);
		work->rc = 0;
		work->start_ns = t0;
		return RB_DEFER;
	case RB_M_DIRECTBACKENDCMD:
		failed = m_directcmd(rb, params, out);
		break;
	default:
		/* pdns probes optional methods (getDomainKeys, getTSIGKey...);
		 * false means "not supported" and is no error. */
		PUTLIT(out, "{\"result\":false}\n");
		break;
	}
done:
	txn_put(rb);
	json_decref(req);
	count(rb, m, failed, t0);
	return out->oom ? -ENOMEM : 0;
}

void rb_work_run(rb_t *rb, rb_work_t *work)
{
	store_txn_t *txn;
	int rc = store_txn_begin(rb->store, 1, &txn);
	if (rc == 0) {
		rc = store_zone_set_notified(txn, work->id, work->serial);
		if (rc == 0)
			rc = store_txn_commit(txn);
		else
			store_txn_abort(txn);
	}
	work->rc = rc;
}

int rb_work_done(rb_t *rb, rb_work_t *work, rb_buf_t *out)
{
	if (work->rc == 0) {
		PUTLIT(out, "{\"result\":true}\n");
	} else {
		if (rb->log)
			rb->log(rb->log_arg, "cannot record notified serial %" PRIu32
				" of zone id %" PRIu32 " (%s)", work->serial, work->id,
				err_str(work->rc));
		put_fail(out, "setNotified: cannot record serial (%s)", err_str(work->rc));
	}
	count(rb, RB_M_SETNOTIFIED, work->rc != 0 && work->rc != -ENOENT, work->start_ns);
	return out->oom ? -ENOMEM : 0;
}

int rb_reply_too_long(rb_t *rb, rb_buf_t *out)
{
	rb->lines_too_long++;
	put_fail(out, "request line too long (over %u bytes)", RB_MAX_LINE);
	return out->oom ? -ENOMEM : 0;
}

static void stat_line(rb_buf_t *b, const char *key, uint64_t v)
{
	put(b, key, strlen(key));
	PUTLIT(b, " ");
	put_u64(b, v);
	PUTLIT(b, "\n");
}

int rb_stats_text(rb_t *rb, rb_buf_t *out)
{
	char key[96];
	stat_line(out, "uptime_seconds", (uint64_t)time(NULL) - rb->started);
	stat_line(out, "connections_open", rb->conns_open);
	stat_line(out, "connections_total", rb->conns_total);
	stat_line(out, "lines_too_long", rb->lines_too_long);
	uint64_t total = 0, errors = 0;
	for (int m = 0; m < RB_M_COUNT; m++) {
		const rb_method_stats_t *s = &rb->m[m];
		total += s->count;
		errors += s->errors;
		if (!s->count)
			continue;
		snprintf(key, sizeof key, "%s_count", method_names[m]);
		stat_line(out, key, s->count);
		snprintf(key, sizeof key, "%s_errors", method_names[m]);
		stat_line(out, key, s->errors);
		snprintf(key, sizeof key, "%s_p50_ns", method_names[m]);
		stat_line(out, key, hist_percentile(s->hist, s->timed, 0.50));
		snprintf(key, sizeof key, "%s_p99_ns", method_names[m]);
		stat_line(out, key, hist_percentile(s->hist, s->timed, 0.99));
	}
	stat_line(out, "requests_total", total);
	stat_line(out, "errors_total", errors);
	store_stat_t st;
	int rc = store_stat(rb->store, &st);
	if (rc == 0) {
		stat_line(out, "store_zones", st.zones);
		stat_line(out, "store_names", st.names);
		stat_line(out, "store_hosts", st.hosts);
		stat_line(out, "store_map_size_bytes", st.map_size);
		stat_line(out, "store_map_used_bytes", st.map_used);
		stat_line(out, "store_readers_used", st.readers_used);
		stat_line(out, "store_readers_max", st.readers_max);
	} else {
		PUTLIT(out, "store_error ");
		put(out, err_str(rc), strlen(err_str(rc)));
		PUTLIT(out, "\n");
	}
	/* Drop the last newline: pdnsutil adds its own. */
	if (out->len && out->p[out->len - 1] == '\n')
		out->len--;
	if (buf_reserve(out, 1) == 0)
		out->p[out->len] = '\0';
	return out->oom ? -ENOMEM : 0;
}
