/*
 * rb - the remote-backend protocol.  See rb.h for the contract.
 *
 * Requests are parsed with jansson (correctness over speed: a request is a
 * few hundred bytes); replies are written by hand because they are the hot
 * path and jansson would build a tree only to serialise it again.  Facts
 * about what pdns 4.7.3 sends and accepts are in docs/design.md "The
 * backend".
 * This half holds the framing, the dispatch, the read path and the
 * statistics; rbwrite.c the write side; rbint.h what both use.
 */
#include "rbint.h"
#include "stats.h"

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

/* ---- statistics ---- */

uint64_t rb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

/* ---- lifecycle ---- */

void rb_init(rb_t *rb, store_t *store)
{
	memset(rb, 0, sizeof *rb);
	rb->store = store;
	rb->st = &rb->own;
	rb->st->started = (uint64_t)time(NULL);
	rb->txn_timeout = TXN_DEFAULT_TIMEOUT;
	rb->txn_max_bytes = TXN_DEFAULT_MAX_BYTES;
}

void rb_free(rb_t *rb)
{
	free(rb->scratch);
	rb->scratch = NULL;
	for (int i = 0; i < RB_N3_CACHE; i++) {
		rb_n3_free(rb->n3[i]);
		rb->n3[i] = NULL;
	}
	txn_put(rb);
	store_txn_abort(rb->txn);
	rb->txn = NULL;
}

/*
 * Writes an SOA name (the zone row's absolute text, "ns1.example.com.") in
 * pdns's content form, without the trailing dot.  Plain names are copied;
 * anything with escapes goes through a parse so the escaping is pdns's.
 */
static int soa_name(const char *s, size_t n, char *out, size_t size)
{
	int plain = n > 1 && n < size;
	for (size_t i = 0; plain && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			c == '.';
	}
	if (plain) {
		size_t len = s[n - 1] == '.' ? n - 1 : n;
		memcpy(out, s, len);
		out[len] = '\0';
		return (int)len;
	}
	dname_t d;
	if (n == 0 || dname_parse(&d, s, n) < 0) {
		if (size < 2)
			return -ENOSPC;
		out[0] = '.';
		out[1] = '\0';
		return 1;
	}
	return dname_to_text_nodot(&d, out, size);
}

/* The SOA row: from the transaction's pending SOA when tx is given and has
 * one, else from the zone row. */
static void put_soa_row(rb_buf_t *b, int first, const char *qname_json, size_t qlen,
			const store_zone_t *z, const txn_t *tx)
{
	char mname[DNAME_MAX_TEXT], rname[DNAME_MAX_TEXT], content[2 * DNAME_MAX_TEXT + 64];
	uint32_t serial = z->serial, refresh = z->refresh, retry = z->retry, expire = z->expire,
		 minimum = z->minimum, ttl = z->ttl;
	int mn, rn;
	if (tx && tx->soa_set) {
		mn = soa_name(tx->mname, strlen(tx->mname), mname, sizeof mname);
		rn = soa_name(tx->rname, strlen(tx->rname), rname, sizeof rname);
		serial = tx->serial, refresh = tx->refresh, retry = tx->retry;
		expire = tx->expire, minimum = tx->minimum, ttl = tx->soa_ttl;
	} else {
		mn = soa_name(z->mname, z->mname_len, mname, sizeof mname);
		rn = soa_name(z->rname, z->rname_len, rname, sizeof rname);
	}
	if (mn < 0 || rn < 0)
		mn = rn = 0, mname[0] = rname[0] = '\0';
	int n = snprintf(content, sizeof content, "%s %s %" PRIu32 " %" PRIu32 " %" PRIu32
			 " %" PRIu32 " %" PRIu32,
			 mname, rname, serial, refresh, retry, expire, minimum);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof content)
		n = sizeof content - 1;
	put_row(b, first, RR_SOA, qname_json, qlen, content, (size_t)n, ttl, z->id, 1);
}

/* Whether the zone shows an SOA (a slave zone never transferred has none). */
static int has_soa(const store_zone_t *z, const txn_t *tx)
{
	return (tx && tx->soa_set) || !(z->flags & STORE_ZONE_NOSOA);
}

/* ---- the view: one zone's records, with the connection's buffered writes ---- */

/*
 * What a reader sees of zone z: the store's records, except that owners
 * the open transaction of this connection touched come from its overlay,
 * and in a whole-zone replace untouched owners show only the host-owned
 * A/AAAA (all the commit will keep of them).
 */
typedef struct view {
	store_txn_t *st;
	store_zone_t z;
	txn_t *ov;            /* the connection's transaction on z, or NULL */
} view_t;

/* 1 and *it when name has records in the view, 0 when none, < 0. */
static int view_get(view_t *v, const dname_t *name, store_rr_iter_t *it, int *only_addrs)
{
	*only_addrs = 0;
	if (v->ov) {
		txn_owner_t *o = txn_find(v->ov, name);
		if (o) {
			if (!o->n)
				return 0;
			int rc = txn_owner_iter(o, it);
			return rc < 0 ? rc : 1;
		}
	}
	return base_get(v->st, v->z.id, v->ov && v->ov->replace, name, it, only_addrs);
}

struct below_ctx {
	view_t *v;
	const dname_t *name;
};

static int below_host_cb(const dname_t *hname, const store_host_t *h, void *arg)
{
	struct below_ctx *c = arg;
	if (h->zone_id != c->v->z.id || dname_equal(hname, c->name) || txn_find(c->v->ov, hname))
		return 0;
	addr_t a4, a6;
	int rc = store_host_addrs(c->v->st, hname, &a4, &a6);
	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	return a4.family || a6.family;
}

static int below_walk_cb(const dname_t *owner, store_rr_iter_t *it, void *arg)
{
	struct below_ctx *c = arg;
	(void)it;
	if (!dname_is_below(owner, c->name) || dname_equal(owner, c->name))
		return 0;
	return txn_find(c->v->ov, owner) == NULL;
}

/* 1 if some owner strictly below name has records in the view (so name,
 * without records itself, is an empty non-terminal), 0 if none, < 0. */
static int view_has_below(view_t *v, const dname_t *name)
{
	if (!v->ov)
		return store_name_has_below(v->st, v->z.id, name);
	txn_t *t = v->ov;
	uint8_t key[DNAME_MAX_CANON];
	int klen = dname_canon_key(name, &t->apex, key);
	if (klen < 0)
		return 0;
	txn_sort(t);
	int deleted = 0;
	for (size_t i = txn_lower_bound(t, key, (size_t)klen); i < t->n; i++) {
		const txn_owner_t *o = t->owners[i];
		if (o->klen < (size_t)klen || memcmp(o->key, key, (size_t)klen) != 0)
			break;
		if (o->klen == (size_t)klen)
			continue; /* name itself */
		if (o->n)
			return 1;
		deleted = 1;
	}
	struct below_ctx c = {.v = v, .name = name};
	if (t->replace)
		return store_host_walk(v->st, name, below_host_cb, &c);
	int rc = store_name_has_below(v->st, v->z.id, name);
	if (rc <= 0 || !deleted)
		return rc;
	/* Some owners below were deleted in the overlay: look for a stored
	 * one that was not.  Rare (a read inside a transaction that deleted
	 * names), so a walk of the zone is acceptable. */
	return store_name_walk(v->st, v->z.id, below_walk_cb, &c);
}

/* store_name_below_cut over the view. */
static int view_below_cut(view_t *v, const dname_t *name, int at_or_below)
{
	if (!v->ov)
		return store_name_below_cut(v->st, v->z.id, name, at_or_below);
	dname_t a = *name;
	if (!at_or_below && a.labels > v->z.name.labels)
		dname_parent(&a);
	for (; a.labels > v->z.name.labels; dname_parent(&a)) {
		store_rr_iter_t it;
		int only, rc = view_get(v, &a, &it, &only);
		if (rc < 0)
			return rc;
		if (rc == 1 && (rc = iter_has(&it, only, RR_NS)) != 0)
			return rc;
	}
	return 0;
}

/* ---- lookup ---- */

/*
 * lookup: qname (qnlen bytes, unescaped JSON string value), qtype and
 * pdns's zone-id (-1: the closest enclosing zone).  Returns 0, or 1 when
 * the reply is a failure worth counting as an error.
 */
static int lookup(rb_t *rb, rb_conn_t *conn, const char *qname, size_t qnlen, const char *qtype,
		  size_t qtlen, int64_t zone_id, rb_buf_t *out)
{
	dname_t name;
	int rc = dname_parse_pdns(&name, qname, qnlen);
	if (rc < 0) {
		if (log_ok(rb)) {
			/* The name is the peer's text: logged escaped, bounded. */
			qjson_t q;
			qjson_set(&q, qname, qnlen > 200 ? 200 : qnlen);
			RB_LOG(rb, LOG_WARNING, "lookup of unparsable qname %.*s (%s)", (int)q.len,
			       q.buf, err_str(rc));
		}
		put_fail(out, "lookup: cannot parse qname (%s)", err_str(rc));
		return 1;
	}
	uint16_t qt;
	if (qtype_code(qtype, qtlen, &qt) < 0) {
		/* A type pdns knows and we do not: nothing stored under it. */
		PUTLIT(out, "{\"result\":[]}\n");
		return 0;
	}
	view_t v = {0};
	v.st = txn_get(rb, &rc);
	if (!v.st) {
		put_fail(out, "lookup: cannot read store (%s)", err_str(rc));
		return 1;
	}
	if (zone_id >= 0) {
		rc = zone_id > UINT32_MAX ? -ENOENT : store_zone_get_by_id(v.st, (uint32_t)zone_id, &v.z);
		if (rc == 0 && !dname_is_below(&name, &v.z.name))
			rc = -ENOENT;
	} else {
		rc = store_zone_find(v.st, &name, &v.z);
		/* The DS of a zone lives in its parent, at the cut. */
		if (rc == 0 && qt == RR_DS && name.labels > 0 && dname_equal(&name, &v.z.name)) {
			dname_t parent = name;
			dname_parent(&parent);
			rc = store_zone_find(v.st, &parent, &v.z);
		}
	}
	if (rc == -ENOENT || rc == ERR_NOZONE) {
		PUTLIT(out, "{\"result\":[]}\n");
		return 0;
	}
	if (rc < 0) {
		put_fail(out, "lookup: cannot find zone (%s)", err_str(rc));
		return 1;
	}
	if (conn && conn->tx && conn->tx->zone_id == v.z.id)
		v.ov = conn->tx;

	size_t start = out->len;
	qjson_t q;
	qjson_set(&q, qname, qnlen);
	int first = 1;
	int apex = name.labels == v.z.name.labels;
	PUTLIT(out, "{\"result\":[");
	if (apex && (qt == RR_ANY || qt == RR_SOA) && has_soa(&v.z, v.ov)) {
		put_soa_row(out, first, q.buf, q.len, &v.z, v.ov);
		first = 0;
	}
	if (qt != RR_SOA) {
		store_rr_iter_t it;
		int only;
		rc = view_get(&v, &name, &it, &only);
		int occluded = 0, cut = 0;
		if (rc == 1 && !apex) {
			/* auth 0 for what a delegation of this zone hides: names
			 * below it, and at the cut all but the DS. */
			occluded = view_below_cut(&v, &name, 0);
			if (occluded == 0)
				cut = iter_has(&it, only, RR_NS);
			rc = occluded < 0 ? occluded : cut < 0 ? cut : 1;
		}
		if (rc == 1) {
			store_rr_t rr;
			while ((rc = rr_next(&it, only, &rr)) == 1) {
				if (qt != RR_ANY && rr.type != qt)
					continue;
				put_row(out, first, rr.type, q.buf, q.len, rr.data, rr.len, rr.ttl,
					v.z.id, !(occluded || (cut && rr.type != RR_DS)));
				first = 0;
			}
		} else if (rc == 0 && qt == RR_ANY && !apex) {
			/* No records: an empty non-terminal must say so, or pdns
			 * answers NXDOMAIN for it. */
			rc = view_has_below(&v, &name);
			if (rc == 1) {
				occluded = view_below_cut(&v, &name, 0);
				rc = occluded < 0 ? occluded : 0;
				PUTLIT(out, "{\"qtype\":\"ENT\",\"qname\":");
				put(out, q.buf, q.len);
				PUTLIT(out, ",\"content\":\"\",\"ttl\":");
				put_u64(out, v.z.ttl);
				PUTLIT(out, ",\"domain_id\":");
				put_u64(out, v.z.id);
				if (occluded)
					PUTLIT(out, ",\"auth\":0");
				PUTLIT(out, "}");
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

static int m_lookup(rb_t *rb, rb_conn_t *conn, json_t *params, rb_buf_t *out)
{
	const char *qname, *qtype;
	size_t qnlen, qtlen;
	if (get_str(params, "qname", &qname, &qnlen) < 0 ||
	    get_str(params, "qtype", &qtype, &qtlen) < 0) {
		put_fail(out, "lookup: qname and qtype must be strings");
		return 1;
	}
	int64_t zone_id = -1;
	if (get_i64(params, "zone-id", &zone_id) < 0)
		zone_id = -1;
	return lookup(rb, conn, qname, qnlen, qtype, qtlen, zone_id, out);
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
	int64_t zone_id;       /* -1 when absent */
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

/* A small integer as jansson would read it; NULL for anything else. */
static const char *fp_int(const char *p, const char *end, int64_t *v)
{
	int neg = 0;
	if (p < end && *p == '-')
		neg = 1, p++;
	const char *d = p;
	int64_t x = 0;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	/* no digits, a leading zero, or too long for jansson's integer */
	if (p == d || (*d == '0' && p - d > 1) || p - d > 18)
		return NULL;
	for (const char *q = d; q < p; q++)
		x = x * 10 + (*q - '0');
	if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
		return NULL;
	*v = neg ? -x : x;
	return p;
}

/* A value we do not need: plain string, small integer, true/false/null. */
static const char *fp_skip(const char *p, const char *end)
{
	const char *s;
	size_t n;
	int64_t v;
	if (p >= end)
		return NULL;
	if (*p == '"')
		return fp_str(p, end, &s, &n);
	if (*p == '-' || (*p >= '0' && *p <= '9'))
		return fp_int(p, end, &v);
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
			f->zone_id = -1;
			p = fp_object(p, end, f, 0);
		}
		else if (!top && KEY_IS(k, kn, "qname"))
			p = fp_str(p, end, &f->qname, &f->qnlen);
		else if (!top && KEY_IS(k, kn, "qtype"))
			p = fp_str(p, end, &f->qtype, &f->qtlen);
		else if (!top && KEY_IS(k, kn, "zone-id")) {
			/* a non-integer goes to jansson, which ignores it */
			if (p < end && (*p == '-' || (*p >= '0' && *p <= '9')))
				p = fp_int(p, end, &f->zone_id);
			else
				p = NULL;
		}
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
	f->zone_id = -1;
	const char *p = fp_object(line, end, f, 1);
	if (!p || fp_ws(p, end) != end)
		return 0;
	return f->method && KEY_IS(f->method, f->mlen, "lookup") && f->qname && f->qtype;
}

/* ---- zones ---- */

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case STORE_KIND_MASTER: return "master";
	case STORE_KIND_SLAVE: return "slave";
	default: return "native";
	}
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
	PUTLIT(b, ",\"masters\":[");
	/* masters: "ip[:port] ..." text, one string each */
	int first = 1;
	for (size_t i = 0; i < z->masters_len;) {
		while (i < z->masters_len && (z->masters[i] == ' ' || z->masters[i] == ','))
			i++;
		size_t j = i;
		while (j < z->masters_len && z->masters[j] != ' ' && z->masters[j] != ',')
			j++;
		if (j > i) {
			if (!first)
				PUTLIT(b, ",");
			first = 0;
			put_str(b, z->masters + i, j - i);
		}
		i = j;
	}
	PUTLIT(b, "],\"notified_serial\":");
	put_u64(b, z->notified_serial);
	PUTLIT(b, ",\"serial\":");
	put_u64(b, z->serial);
	PUTLIT(b, ",\"last_check\":");
	put_u64(b, z->last_check);
	PUTLIT(b, ",\"kind\":");
	put_cstr(b, kind_name(z->kind));
	if (z->account_len) {
		PUTLIT(b, ",\"account\":");
		put_str(b, z->account, z->account_len);
	}
	PUTLIT(b, "}");
}

enum { DOMAINS_ALL, DOMAINS_UPDATED, DOMAINS_UNFRESH };

struct walk_ctx {
	rb_buf_t *out;
	int first;
	int which;        /* DOMAINS_* */
	uint64_t now;
	unsigned min_interval; /* DOMAINS_UPDATED: rb_t.notify_min_interval */
};

/*
 * Whether a master zone's last NOTIFY round (last_check, recorded by
 * setNotified) is too recent for another one.  The first change after a
 * quiet spell is reported at the communicator's next cycle; a steady
 * stream of changes gets one round per min_interval, each carrying the
 * serial of its moment.  A last_check ahead of the clock (the clock was
 * set back) holds nothing, or one step back could hold a zone for hours.
 */
static int notify_held(const store_zone_t *z, unsigned min_interval, uint64_t now)
{
	return min_interval && z->last_check <= now && now - z->last_check < min_interval;
}

static int domain_cb(const store_zone_t *z, void *arg)
{
	struct walk_ctx *w = arg;
	/* pdns filters neither list itself: it notifies, or SOA-checks,
	 * every zone it gets, every cycle. */
	if (w->which == DOMAINS_UPDATED &&
	    (z->kind != STORE_KIND_MASTER || z->serial == z->notified_serial ||
	     notify_held(z, w->min_interval, w->now)))
		return 0;
	if (w->which == DOMAINS_UNFRESH &&
	    (z->kind != STORE_KIND_SLAVE || z->last_check + z->refresh >= w->now))
		return 0;
	if (!w->first)
		PUTLIT(w->out, ",");
	w->first = 0;
	put_domaininfo(w->out, z);
	return w->out->oom ? -ENOMEM : 0;
}

static int m_domains(rb_t *rb, rb_buf_t *out, int which, const char *what)
{
	int rc;
	store_txn_t *txn = txn_get(rb, &rc);
	size_t start = out->len;
	struct walk_ctx w = {.out = out, .first = 1, .which = which,
			     .now = (uint64_t)time(NULL),
			     .min_interval = rb->notify_min_interval};
	if (txn) {
		PUTLIT(out, "{\"result\":[");
		rc = store_zone_walk(txn, domain_cb, &w);
	}
	if (!txn || rc < 0) {
		out->len = start;
		/* The communicator's calls: a broken reply is fatal for pdns
		 * there, so an empty list is the safe answer; the next cycle
		 * (a few seconds later) retries. */
		if (which != DOMAINS_ALL) {
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

/* ---- list ---- */

struct list_ctx {
	view_t *v;
	rb_buf_t *out;
	int first;
	dname_t cut;      /* the last delegation passed (canonical order) */
	int have_cut;
	size_t oi;        /* next overlay owner to merge */
	uint8_t key[DNAME_MAX_CANON];
};

/* Writes the rows of one owner; tracks the delegation that hides names
 * below it: in canonical order a cut comes right before its names. */
static int list_owner(struct list_ctx *c, const dname_t *owner, store_rr_iter_t *it, int only)
{
	int occluded = 0, cut = 0, rc;
	if (c->have_cut && dname_is_below(owner, &c->cut) && !dname_equal(owner, &c->cut))
		occluded = 1;
	else
		c->have_cut = 0;
	if (!occluded && owner->labels > c->v->z.name.labels) {
		if ((cut = iter_has(it, only, RR_NS)) < 0)
			return cut;
		if (cut) {
			c->cut = *owner;
			c->have_cut = 1;
		}
	}
	qjson_t q;
	qjson_name(&q, owner);
	store_rr_t rr;
	while ((rc = rr_next(it, only, &rr)) == 1) {
		put_row(c->out, c->first, rr.type, q.buf, q.len, rr.data, rr.len, rr.ttl,
			c->v->z.id, !(occluded || (cut && rr.type != RR_DS)));
		c->first = 0;
	}
	if (rc < 0)
		return rc;
	return c->out->oom ? -ENOMEM : 0;
}

/* Writes the overlay owners that sort before key (all when key is NULL). */
static int list_overlay_until(struct list_ctx *c, const uint8_t *key, size_t klen)
{
	txn_t *t = c->v->ov;
	while (c->oi < t->n) {
		txn_owner_t *o = t->owners[c->oi];
		if (key) {
			size_t m = o->klen < klen ? o->klen : klen;
			int cmp = memcmp(o->key, key, m);
			if (cmp > 0 || (cmp == 0 && o->klen >= klen))
				return 0;
		}
		c->oi++;
		if (!o->n)
			continue;
		store_rr_iter_t it;
		int rc = txn_owner_iter(o, &it);
		if (rc == 0)
			rc = list_owner(c, &o->name, &it, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int list_cb(const dname_t *owner, store_rr_iter_t *it, void *arg)
{
	struct list_ctx *c = arg;
	txn_t *t = c->v->ov;
	if (!t)
		return list_owner(c, owner, it, 0);
	int klen = dname_canon_key(owner, &t->apex, c->key);
	if (klen < 0)
		return 0;
	int rc = list_overlay_until(c, c->key, (size_t)klen);
	if (rc < 0)
		return rc;
	if (c->oi < t->n && t->owners[c->oi]->klen == (size_t)klen &&
	    memcmp(t->owners[c->oi]->key, c->key, (size_t)klen) == 0)
	{
		/* the overlay's version of this owner replaces the stored one */
		txn_owner_t *o = t->owners[c->oi++];
		if (!o->n)
			return 0;
		store_rr_iter_t oit;
		if ((rc = txn_owner_iter(o, &oit)) < 0)
			return rc;
		return list_owner(c, &o->name, &oit, 0);
	}
	if (t->replace) {
		if ((rc = is_host(c->v->st, c->v->z.id, owner)) <= 0)
			return rc;
		return list_owner(c, owner, it, 1);
	}
	return list_owner(c, owner, it, 0);
}

static int m_list(rb_t *rb, rb_conn_t *conn, json_t *params, rb_buf_t *out)
{
	int rc;
	view_t v = {0};
	v.st = txn_get(rb, &rc);
	if (!v.st) {
		put_fail(out, "list: cannot read store (%s)", err_str(rc));
		return 1;
	}
	int64_t id;
	if (get_i64(params, "domain_id", &id) == 0 && id >= 0)
		rc = id > UINT32_MAX ? -ENOENT : store_zone_get_by_id(v.st, (uint32_t)id, &v.z);
	else if ((rc = zone_by_param(v.st, params, "zonename", &v.z)) == -EINVAL) {
		put_fail(out, "list: needs domain_id (a number) or zonename (a string)");
		return 1;
	}
	if (rc < 0) {
		put_fail(out, "list: no such zone (%s)", err_str(rc));
		return rc == -ENOENT || rc == ERR_BADNAME ? 0 : 1;
	}
	if (conn && conn->tx && conn->tx->zone_id == v.z.id) {
		v.ov = conn->tx;
		txn_sort(v.ov);
	}
	qjson_t q;
	qjson_name(&q, &v.z.name);
	size_t start = out->len;
	PUTLIT(out, "{\"result\":[");
	struct list_ctx c = {.v = &v, .out = out, .first = 1};
	if (has_soa(&v.z, v.ov)) {
		put_soa_row(out, 1, q.buf, q.len, &v.z, v.ov);
		c.first = 0;
	}
	rc = store_name_walk(v.st, v.z.id, list_cb, &c);
	if (rc >= 0 && v.ov)
		rc = list_overlay_until(&c, NULL, 0);
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
	/* The two reports are text built apart, then quoted as one string. */
	int (*report)(rb_t *, rb_buf_t *) = NULL;
	if (w == 5 && memcmp(q, "stats", 5) == 0)
		report = rb_stats_text;
	else if (w == 7 && memcmp(q, "metrics", 7) == 0)
		report = rb_metrics_text;
	if (report) {
		rb_buf_t text = {0};
		report(rb, &text);
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
			      "metrics  the same in the Prometheus text format\n"
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
	/* Few calls take this path (lookups go the fast way): a table walk. */
	for (int m = 0; m < RB_M_UNKNOWN; m++)
		if (strcmp(s, method_names[m]) == 0)
			return (enum rb_method)m;
	return RB_M_UNKNOWN;
}

/* Defers a write: the work item takes a reference to params. */
static int defer(rb_work_t *work, enum rb_method m, json_t *params, uint64_t t0)
{
	work->method = m;
	work->params = params ? json_incref(params) : NULL;
	work->rc = 0;
	work->err[0] = '\0';
	work->start_ns = t0;
	return RB_DEFER;
}

int rb_handle(rb_t *rb, rb_conn_t *conn, const char *line, size_t len, rb_buf_t *out,
	      rb_work_t *work)
{
	uint64_t t0 = (rb->ticks++ & (RB_TIME_EVERY - 1)) == 0 ? rb_now_ns() : 0;
	enum rb_method m = RB_M_INVALID;
	int failed = 1;
	fp_t f;
	work->tx = NULL;
	work->params = NULL;
	if (conn && conn->tx)
		conn->tx->last_used = now_sec(); /* any request keeps it alive */
	if (fast_path && fp_lookup(line, len, &f)) {
		failed = lookup(rb, conn, f.qname, f.qnlen, f.qtype, f.qtlen, f.zone_id, out);
		txn_put(rb);
		count(rb, RB_M_LOOKUP, failed, t0);
		return out->oom ? -ENOMEM : 0;
	}
	if (!t0)
		t0 = rb_now_ns(); /* the rare requests are all timed */
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
	if (!req) {
		/* jansson quotes the token it choked on ("... near '<text>'"):
		 * that could be part of a secret (a key's content), so it goes
		 * neither to our log nor to pdns's */
		char *near = strstr(jerr.text, " near ");
		if (near)
			*near = '\0';
		if (log_ok(rb))
			RB_LOG(rb, LOG_WARNING, "bad request (invalid json at %d:%d: %s)",
			       jerr.line, jerr.column, jerr.text);
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
	int rc = 0;
	switch (m) {
	case RB_M_INITIALIZE:
		PUTLIT(out, "{\"result\":true}\n");
		break;
	case RB_M_LOOKUP:
		failed = m_lookup(rb, conn, params, out);
		break;
	case RB_M_GETALLDOMAINS:
		failed = m_domains(rb, out, DOMAINS_ALL, "getAllDomains");
		break;
	case RB_M_GETUPDATEDMASTERS:
		failed = m_domains(rb, out, DOMAINS_UPDATED, "getUpdatedMasters");
		break;
	case RB_M_GETUNFRESHSLAVEINFOS:
		failed = m_domains(rb, out, DOMAINS_UNFRESH, "getUnfreshSlaveInfos");
		break;
	case RB_M_GETDOMAININFO:
		failed = m_domaininfo(rb, params, out);
		break;
	case RB_M_GETALLDOMAINMETADATA:
		failed = rb_m_getallmeta(rb, params, out);
		break;
	case RB_M_GETDOMAINMETADATA:
		failed = rb_m_getmeta(rb, params, out);
		break;
	case RB_M_LIST:
		failed = m_list(rb, conn, params, out);
		break;
	case RB_M_GETTSIGKEY:
		failed = rb_m_gettsig(rb, params, out);
		break;
	case RB_M_GETTSIGKEYS:
		failed = rb_m_gettsigs(rb, out);
		break;
	case RB_M_SEARCHRECORDS:
		failed = rb_m_search(rb, params, out);
		break;
	case RB_M_SUPERMASTERBACKEND:
		failed = rb_m_supermaster(rb, params, out);
		break;
	case RB_M_GETDOMAINKEYS:
		failed = rb_m_getkeys(rb, params, out);
		break;
	case RB_M_ADDDOMAINKEY:
		if ((failed = rb_check_addkey(rb, params, out)) == 0)
			rc = defer(work, m, params, t0);
		break;
	case RB_M_REMOVEDOMAINKEY:
	case RB_M_ACTIVATEDOMAINKEY:
	case RB_M_DEACTIVATEDOMAINKEY:
	case RB_M_PUBLISHDOMAINKEY:
	case RB_M_UNPUBLISHDOMAINKEY:
		if ((failed = rb_check_keyop(params, method_names[m], out)) == 0)
			rc = defer(work, m, params, t0);
		break;
	case RB_M_GETBEFOREANDAFTERNAMESABSOLUTE:
		failed = rb_m_beforeafter(rb, params, out);
		break;
	case RB_M_SETNOTIFIED:
		if (get_u32(params, "id", &work->id) < 0 ||
		    get_u32(params, "serial", &work->serial) < 0) {
			put_fail(out, "setNotified: id and serial must be integers 0..4294967295");
			failed = 1;
			break;
		}
		rc = defer(work, m, NULL, t0);
		break;
	case RB_M_SETFRESH:
	case RB_M_SETSTALE:
		if (get_u32(params, "id", &work->id) < 0) {
			put_fail(out, "%s: id must be an integer 0..4294967295", method_names[m]);
			failed = 1;
			break;
		}
		rc = defer(work, m, NULL, t0);
		break;
	case RB_M_SETDOMAINMETADATA:
	case RB_M_SETTSIGKEY:
	case RB_M_DELETETSIGKEY:
	case RB_M_CREATESLAVEDOMAIN:
		rc = defer(work, m, params, t0);
		break;
	case RB_M_STARTTRANSACTION:
		failed = rb_m_start(rb, conn, params, out);
		break;
	case RB_M_ABORTTRANSACTION:
		failed = rb_m_abort(rb, conn, params, out);
		break;
	case RB_M_COMMITTRANSACTION: {
		txn_t *tx;
		if (rb_tx_check(conn, params, "commitTransaction", out, &tx)) {
			/* a failed transaction ends here: nothing is written */
			if (conn && conn->tx && conn->tx->failed) {
				RB_LOG(rb, LOG_WARNING, "transaction %" PRId64 " of zone id %"
				       PRIu32 " not committed, nothing written (%s)",
				       conn->tx->trxid, conn->tx->zone_id, conn->tx->why);
				rb_tx_end(rb, conn);
			}
			failed = 1;
			break;
		}
		conn->tx = NULL; /* the work item owns it now */
		rc = defer(work, m, NULL, t0);
		work->tx = tx;
		break;
	}
	case RB_M_REPLACERRSET:
		failed = rb_m_replace(rb, conn, params, out);
		break;
	case RB_M_FEEDRECORD:
		failed = rb_m_feed(rb, conn, params, out);
		break;
	case RB_M_FEEDENTS:
		failed = rb_m_feedents(rb, conn, params, "feedEnts", out);
		break;
	case RB_M_FEEDENTS3:
		failed = rb_m_feedents(rb, conn, params, "feedEnts3", out);
		break;
	case RB_M_DIRECTBACKENDCMD:
		failed = m_directcmd(rb, params, out);
		break;
	default:
		/* pdns probes optional methods (addDomainKey...); false means
		 * "not supported" and is no error. */
		PUTLIT(out, "{\"result\":false}\n");
		break;
	}
	if (rc == RB_DEFER) {
		txn_put(rb);
		json_decref(req);
		return RB_DEFER;
	}
done:
	txn_put(rb);
	json_decref(req);
	count(rb, m, failed, t0);
	return out->oom ? -ENOMEM : 0;
}

int rb_reply_too_long(rb_t *rb, rb_buf_t *out)
{
	rb->st->lines_too_long++;
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

/*
 * The statistics to report: the service's (the sum over the shared stats
 * file, stats.h) when rb->shared is set, else this process's own.  *tmp
 * is the sum's memory (free it; NULL when none was needed).  *procs is the
 * number of live processes counted.  When the sum cannot be made (no
 * memory), this process's own stats are reported rather than nothing.
 */
static const rb_stats_t *stats_view(rb_t *rb, rb_stats_t **tmp, unsigned *procs)
{
	*tmp = NULL;
	*procs = 1;
	if (!rb->shared)
		return rb->st;
	rb_stats_t *sum = malloc(sizeof *sum); /* about 100 KB: not on the stack */
	rbstats_info_t info;
	if (!sum || rbstats_sum(rb->shared, sum, &info) < 0) {
		free(sum);
		return rb->st;
	}
	*tmp = sum;
	*procs = info.processes;
	return sum;
}

int rb_stats_text(rb_t *rb, rb_buf_t *out)
{
	char key[96];
	rb_stats_t *tmp;
	unsigned procs;
	const rb_stats_t *sv = stats_view(rb, &tmp, &procs);
	uint64_t now = (uint64_t)time(NULL);
	stat_line(out, "uptime_seconds", now > sv->started ? now - sv->started : 0);
	stat_line(out, "processes", procs);
	stat_line(out, "connections_open", sv->conns_open);
	stat_line(out, "connections_total", sv->conns_total);
	stat_line(out, "lines_too_long", sv->lines_too_long);
	stat_line(out, "connections_refused", sv->conns_refused);
	stat_line(out, "connections_idle_closed", sv->conns_idle_closed);
	stat_line(out, "connections_buffer_closed", sv->conns_buffer_closed);
	stat_line(out, "transactions_open", sv->txns_open);
	uint64_t total = 0, errors = 0;
	for (int m = 0; m < RB_M_COUNT; m++) {
		const rb_method_stats_t *s = &sv->m[m];
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
	stat_line(out, "nsec3_chain_builds", sv->n3_builds);
	stat_line(out, "nsec3_chain_reuses", sv->n3_reuses);
	stat_line(out, "nsec3_chain_build_ns", sv->n3_build_ns);
	stat_line(out, "errors_total", errors);
	free(tmp);
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


/* ---- Prometheus text format ---- */

_Static_assert(RB_TIME_EVERY == 16, "the duration HELP text names the sampling rate");

/* The le labels of rb_le_ns, as seconds. */
static const char *const le_text[RB_LE_COUNT] = {
	"1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005",
	"0.001", "0.0025",  "0.005", "0.01",   "0.025",   "0.05",
	"0.1",   "0.25",    "0.5",   "1",      "2.5",     "10",
};

static void prom_family(rb_buf_t *b, const char *name, const char *type, const char *help)
{
	PUTLIT(b, "# HELP ");
	put(b, name, strlen(name));
	PUTLIT(b, " ");
	put(b, help, strlen(help));
	PUTLIT(b, "\n# TYPE ");
	put(b, name, strlen(name));
	PUTLIT(b, " ");
	put(b, type, strlen(type));
	PUTLIT(b, "\n");
}

/* name{label} value: label is the inside of the braces, or NULL. */
static void prom_u64(rb_buf_t *b, const char *name, const char *label, uint64_t v)
{
	put(b, name, strlen(name));
	if (label) {
		PUTLIT(b, "{");
		put(b, label, strlen(label));
		PUTLIT(b, "}");
	}
	PUTLIT(b, " ");
	put_u64(b, v);
	PUTLIT(b, "\n");
}

/* ns as seconds, exactly (nine decimals). */
static void prom_seconds(rb_buf_t *b, const char *name, const char *label, uint64_t ns)
{
	char v[48];
	snprintf(v, sizeof v, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
	put(b, name, strlen(name));
	if (label) {
		PUTLIT(b, "{");
		put(b, label, strlen(label));
		PUTLIT(b, "}");
	}
	PUTLIT(b, " ");
	put(b, v, strlen(v));
	PUTLIT(b, "\n");
}

/* One sample per method: field is the offset of a uint64_t in
 * rb_method_stats_t. */
static void prom_per_method(rb_buf_t *b, const rb_stats_t *sv, const char *name, size_t field)
{
	char label[96];
	for (int m = 0; m < RB_M_COUNT; m++) {
		uint64_t v;
		memcpy(&v, (const char *)&sv->m[m] + field, sizeof v);
		snprintf(label, sizeof label, "method=\"%s\"", method_names[m]);
		prom_u64(b, name, label, v);
	}
}

int rb_metrics_text(rb_t *rb, rb_buf_t *out)
{
	char label[128];
	rb_stats_t *tmp;
	unsigned procs;
	const rb_stats_t *sv = stats_view(rb, &tmp, &procs);
	prom_family(out, "kyedns_backend_up", "gauge",
		    "1: the backend answered (kyedns-backend-stats.sh writes 0 when it could not "
		    "ask).");
	prom_u64(out, "kyedns_backend_up", NULL, 1);
	prom_family(out, "kyedns_backend_build_info", "gauge",
		    "The backend's version, as a label; the value is 1.");
	prom_u64(out, "kyedns_backend_build_info", "version=\"" KYEDNS_VERSION "\"", 1);
	prom_family(out, "kyedns_backend_start_time_seconds", "gauge",
		    "When the longest-running backend process now alive started, in seconds "
		    "since the Unix epoch.  The counters are totals of every backend process of "
		    "the service since its stats file (backend-stats beside the store) was "
		    "created, or of this process alone when it has no slot in that file.");
	prom_u64(out, "kyedns_backend_start_time_seconds", NULL, sv->started);
	prom_family(out, "kyedns_backend_processes", "gauge",
		    "Backend processes alive now whose counts these metrics include (pdns's pipe "
		    "connector starts one per backend instance).");
	prom_u64(out, "kyedns_backend_processes", NULL, procs);

	prom_family(out, "kyedns_backend_requests_total", "counter",
		    "Remote-backend requests answered, by method (unknown: a method the backend "
		    "does not implement; invalid: not a request).");
	prom_per_method(out, sv, "kyedns_backend_requests_total",
			offsetof(rb_method_stats_t, count));
	prom_family(out, "kyedns_backend_request_errors_total", "counter",
		    "Requests whose reply was a failure of the backend or the store, by method "
		    "(refused bad input is not counted).");
	prom_per_method(out, sv, "kyedns_backend_request_errors_total",
			offsetof(rb_method_stats_t, errors));
	prom_family(out, "kyedns_backend_request_duration_seconds", "histogram",
		    "Time from reading a request to its reply, by method; lookups are sampled "
		    "one in 16, every other request is timed.");
	for (int m = 0; m < RB_M_COUNT; m++) {
		const rb_method_stats_t *s = &sv->m[m];
		uint64_t cum = 0;
		for (int i = 0; i <= RB_LE_COUNT; i++) {
			cum += s->le[i];
			snprintf(label, sizeof label, "method=\"%s\",le=\"%s\"", method_names[m],
				 i < RB_LE_COUNT ? le_text[i] : "+Inf");
			prom_u64(out, "kyedns_backend_request_duration_seconds_bucket", label, cum);
		}
		snprintf(label, sizeof label, "method=\"%s\"", method_names[m]);
		prom_seconds(out, "kyedns_backend_request_duration_seconds_sum", label, s->sum_ns);
		prom_u64(out, "kyedns_backend_request_duration_seconds_count", label, s->timed);
	}

	prom_family(out, "kyedns_backend_connections_open", "gauge",
		    "pdns connections open now.");
	prom_u64(out, "kyedns_backend_connections_open", NULL, sv->conns_open);
	prom_family(out, "kyedns_backend_connections_total", "counter",
		    "pdns connections accepted.");
	prom_u64(out, "kyedns_backend_connections_total", NULL, sv->conns_total);
	prom_family(out, "kyedns_backend_connections_refused_total", "counter",
		    "Connections closed at once because --max-conns were open.");
	prom_u64(out, "kyedns_backend_connections_refused_total", NULL, sv->conns_refused);
	prom_family(out, "kyedns_backend_connections_closed_total", "counter",
		    "Connections the backend closed, by reason: idle (above --idle-above), "
		    "line_too_long (a request over the line limit), buffers_full "
		    "(--max-buffer-mb reached).");
	prom_u64(out, "kyedns_backend_connections_closed_total", "reason=\"idle\"",
		 sv->conns_idle_closed);
	prom_u64(out, "kyedns_backend_connections_closed_total", "reason=\"line_too_long\"",
		 sv->lines_too_long);
	prom_u64(out, "kyedns_backend_connections_closed_total", "reason=\"buffers_full\"",
		 sv->conns_buffer_closed);
	prom_family(out, "kyedns_backend_transactions_open", "gauge",
		    "pdns transactions (zone loads, AXFR-in, API edits) open now.");
	prom_u64(out, "kyedns_backend_transactions_open", NULL, sv->txns_open);

	prom_family(out, "kyedns_backend_nsec3_chain_builds_total", "counter",
		    "NSEC3 hash chains built.");
	prom_u64(out, "kyedns_backend_nsec3_chain_builds_total", NULL, sv->n3_builds);
	prom_family(out, "kyedns_backend_nsec3_chain_reuses_total", "counter",
		    "NSEC3 hash chains kept across a new serial because the names were the same.");
	prom_u64(out, "kyedns_backend_nsec3_chain_reuses_total", NULL, sv->n3_reuses);
	prom_family(out, "kyedns_backend_nsec3_chain_build_seconds_total", "counter",
		    "Time spent building and checking NSEC3 hash chains.");
	prom_seconds(out, "kyedns_backend_nsec3_chain_build_seconds_total", NULL, sv->n3_build_ns);

	free(tmp);
	store_stat_t st;
	int rc = store_stat(rb->store, &st);
	prom_family(out, "kyedns_backend_store_stat_errors", "gauge",
		    "1 when the store could not be read for the kyedns_backend_store_* gauges "
		    "(they are left out), else 0.");
	prom_u64(out, "kyedns_backend_store_stat_errors", NULL, rc < 0);
	if (rc == 0) {
		const struct {
			const char *name, *help;
			uint64_t v;
		} g[] = {
			{"kyedns_backend_store_zones", "Zones in the store.", st.zones},
			{"kyedns_backend_store_names", "Owner names in the store.", st.names},
			{"kyedns_backend_store_hosts", "Dynamic hosts in the store.", st.hosts},
			{"kyedns_backend_store_map_size_bytes", "Size of the LMDB map.",
			 st.map_size},
			{"kyedns_backend_store_map_used_bytes", "Bytes of the LMDB map in use.",
			 st.map_used},
			{"kyedns_backend_store_readers_used",
			 "LMDB reader slots in use (by every process of the store).",
			 st.readers_used},
			{"kyedns_backend_store_readers_max", "LMDB reader slots.", st.readers_max},
		};
		for (size_t i = 0; i < sizeof g / sizeof *g; i++) {
			prom_family(out, g[i].name, "gauge", g[i].help);
			prom_u64(out, g[i].name, NULL, g[i].v);
		}
	}
	if (buf_reserve(out, 1) == 0)
		out->p[out->len] = '\0';
	return out->oom ? -ENOMEM : 0;
}
