/*
 * rbwrite - the write side of the remote-backend protocol (see rb.h):
 * transactions buffered per connection (txn.h), metadata, TSIG keys,
 * searchRecords, autoprimaries and secondary zones, and the deferred writes
 * that run on a worker thread.
 */
#include "rbint.h"

/* ---- metadata, TSIG keys, search, autoprimaries (reads) ---- */

static int put_meta_values(rb_buf_t *out, store_meta_iter_t *it)
{
	const char *val;
	uint16_t len;
	int rc, first = 1;
	PUTLIT(out, "[");
	while ((rc = store_meta_next(it, &val, &len)) == 1) {
		if (!first)
			PUTLIT(out, ",");
		first = 0;
		put_str(out, val, len);
	}
	PUTLIT(out, "]");
	return rc;
}

/* The zone named by params "name"; a failure reply is written.  0, or 1
 * (no such zone: *reply_done), or < 0. */
static int meta_zone(rb_t *rb, json_t *params, const char *what, store_txn_t **txn,
		     store_zone_t *z, rb_buf_t *out)
{
	int rc;
	*txn = txn_get(rb, &rc);
	if (!*txn) {
		put_fail(out, "%s: cannot read store (%s)", what, err_str(rc));
		return rc;
	}
	rc = zone_by_param(*txn, params, "name", z);
	if (rc == -EINVAL) {
		put_fail(out, "%s: name must be a string", what);
		return rc;
	}
	return rc;
}

int rb_m_getmeta(rb_t *rb, json_t *params, rb_buf_t *out)
{
	store_txn_t *txn;
	store_zone_t z;
	const char *kind;
	size_t klen;
	int rc = meta_zone(rb, params, "getDomainMetadata", &txn, &z, out);
	if (rc == -EINVAL || (rc < 0 && !txn))
		return 1;
	if (get_str(params, "kind", &kind, &klen) < 0 || klen == 0 ||
	    klen > STORE_MAX_META_KIND) {
		put_fail(out, "getDomainMetadata: kind must be a string of 1 to %d bytes",
			 STORE_MAX_META_KIND);
		return 1;
	}
	if (rc == -ENOENT || rc == ERR_BADNAME) {
		/* Not our zone: no metadata, which pdns takes as defaults. */
		PUTLIT(out, "{\"result\":[]}\n");
		return 0;
	}
	size_t start = out->len;
	store_meta_iter_t it;
	if (rc == 0)
		rc = store_meta_get(txn, z.id, kind, klen, &it);
	if (rc == -ENOENT) {
		PUTLIT(out, "{\"result\":[]}\n");
		return 0;
	}
	if (rc == 0) {
		PUTLIT(out, "{\"result\":");
		rc = put_meta_values(out, &it);
		PUTLIT(out, "}\n");
	}
	if (rc < 0) {
		out->len = start;
		put_fail(out, "getDomainMetadata: cannot read metadata (%s)", err_str(rc));
		return 1;
	}
	return 0;
}

struct meta_ctx {
	rb_buf_t *out;
	int first;
};

static int meta_cb(const char *kind, size_t kind_len, store_meta_iter_t *it, void *arg)
{
	struct meta_ctx *c = arg;
	if (!c->first)
		PUTLIT(c->out, ",");
	c->first = 0;
	put_str(c->out, kind, kind_len);
	PUTLIT(c->out, ":");
	int rc = put_meta_values(c->out, it);
	return rc < 0 ? rc : c->out->oom ? -ENOMEM : 0;
}

int rb_m_getallmeta(rb_t *rb, json_t *params, rb_buf_t *out)
{
	store_txn_t *txn;
	store_zone_t z;
	int rc = meta_zone(rb, params, "getAllDomainMetadata", &txn, &z, out);
	if (rc == -EINVAL || (rc < 0 && !txn))
		return 1;
	if (rc == -ENOENT || rc == ERR_BADNAME) {
		PUTLIT(out, "{\"result\":{}}\n");
		return 0;
	}
	size_t start = out->len;
	struct meta_ctx c = {.out = out, .first = 1};
	PUTLIT(out, "{\"result\":{");
	if (rc == 0)
		rc = store_meta_walk(txn, z.id, meta_cb, &c);
	if (rc < 0) {
		out->len = start;
		put_fail(out, "getAllDomainMetadata: cannot read metadata (%s)", err_str(rc));
		return 1;
	}
	PUTLIT(out, "}}\n");
	return 0;
}

static void put_tsig(rb_buf_t *out, const store_tsig_t *k)
{
	char name[DNAME_MAX_TEXT];
	int n = dname_to_text(&k->name, name, sizeof name);
	PUTLIT(out, "{\"name\":");
	put_str(out, name, n < 0 ? 0 : (size_t)n);
	PUTLIT(out, ",\"algorithm\":");
	put_str(out, k->algorithm, k->algorithm_len);
	PUTLIT(out, ",\"content\":");
	put_str(out, k->secret, k->secret_len);
	PUTLIT(out, "}");
}

int rb_m_gettsig(rb_t *rb, json_t *params, rb_buf_t *out)
{
	dname_t name;
	int rc = get_name(params, "name", &name);
	if (rc == -EINVAL) {
		put_fail(out, "getTSIGKey: name must be a string");
		return 1;
	}
	if (rc < 0) {
		put_fail(out, "getTSIGKey: bad key name (%s)", err_str(rc));
		return 1;
	}
	store_txn_t *txn = txn_get(rb, &rc);
	store_tsig_t k;
	if (txn)
		rc = store_tsig_get(txn, &name, &k);
	if (rc == -ENOENT) {
		/* pdns asks before creating a key: false = no such key */
		PUTLIT(out, "{\"result\":false}\n");
		return 0;
	}
	if (rc < 0) {
		put_fail(out, "getTSIGKey: cannot read key (%s)", err_str(rc));
		return 1;
	}
	PUTLIT(out, "{\"result\":");
	put_tsig(out, &k);
	PUTLIT(out, "}\n");
	return 0;
}

static int tsig_cb(const store_tsig_t *k, void *arg)
{
	struct meta_ctx *c = arg;
	if (!c->first)
		PUTLIT(c->out, ",");
	c->first = 0;
	put_tsig(c->out, k);
	return c->out->oom ? -ENOMEM : 0;
}

int rb_m_gettsigs(rb_t *rb, rb_buf_t *out)
{
	int rc;
	store_txn_t *txn = txn_get(rb, &rc);
	size_t start = out->len;
	struct meta_ctx c = {.out = out, .first = 1};
	if (txn) {
		PUTLIT(out, "{\"result\":[");
		rc = store_tsig_walk(txn, tsig_cb, &c);
	}
	if (!txn || rc < 0) {
		out->len = start;
		put_fail(out, "getTSIGKeys: cannot read keys (%s)", err_str(rc));
		return 1;
	}
	PUTLIT(out, "]}\n");
	return 0;
}

#define RB_MAX_SEARCH 100000 /* rows one searchRecords may return */

static int search_cb(const store_zone_t *z, const dname_t *owner, const store_rr_t *rr, void *arg)
{
	struct meta_ctx *c = arg;
	qjson_t q;
	qjson_name(&q, owner);
	put_row(c->out, c->first, rr->type, q.buf, q.len, rr->data, rr->len, rr->ttl, z->id, 1);
	c->first = 0;
	return c->out->oom ? -ENOMEM : 0;
}

int rb_m_search(rb_t *rb, json_t *params, rb_buf_t *out)
{
	const char *pat;
	size_t plen;
	int64_t max;
	if (get_str(params, "pattern", &pat, &plen) < 0 || plen > 1024) {
		put_fail(out, "searchRecords: pattern must be a string of at most 1024 bytes");
		return 1;
	}
	if (get_i64(params, "maxResults", &max) < 0 || max < 0) {
		put_fail(out, "searchRecords: maxResults must be a number >= 0");
		return 1;
	}
	if (max > RB_MAX_SEARCH)
		max = RB_MAX_SEARCH;
	int rc;
	store_txn_t *txn = txn_get(rb, &rc);
	size_t start = out->len;
	struct meta_ctx c = {.out = out, .first = 1};
	if (txn) {
		PUTLIT(out, "{\"result\":[");
		rc = max ? store_search(txn, pat, plen, (unsigned)max, search_cb, &c) : 0;
	}
	if (!txn || rc < 0) {
		out->len = start;
		put_fail(out, "searchRecords: cannot search (%s)", err_str(rc));
		return 1;
	}
	PUTLIT(out, "]}\n");
	return 0;
}

#define RB_MAX_NSSET 64

struct sm_ctx {
	dname_t ns[RB_MAX_NSSET];
	unsigned n;
	dname_t found;
	char account[256];
	size_t account_len;
};

static int sm_cb(const char *ip, const dname_t *nameserver, const char *account,
		 size_t account_len, void *arg)
{
	struct sm_ctx *c = arg;
	(void)ip;
	for (unsigned i = 0; i < c->n; i++) {
		if (dname_equal(&c->ns[i], nameserver)) {
			c->found = *nameserver;
			c->account_len = account_len < sizeof c->account ? account_len
									 : sizeof c->account - 1;
			memcpy(c->account, account, c->account_len);
			return 1;
		}
	}
	return 0;
}

/* superMasterBackend: accept a NOTIFY for an unknown zone when an
 * autoprimary with the notifier's ip is one of the zone's nameservers. */
int rb_m_supermaster(rb_t *rb, json_t *params, rb_buf_t *out)
{
	const char *ip;
	size_t iplen;
	json_t *nsset = json_object_get(params, "nsset");
	if (get_str(params, "ip", &ip, &iplen) < 0 || iplen == 0 || iplen > 64 ||
	    memchr(ip, '\0', iplen) || !json_is_array(nsset)) {
		put_fail(out, "superMasterBackend: needs ip (a string) and nsset (an array)");
		return 1;
	}
	struct sm_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		out->oom = 1;
		return 1;
	}
	size_t i;
	json_t *rr;
	json_array_foreach(nsset, i, rr) {
		const char *s;
		size_t n;
		if (c->n < RB_MAX_NSSET && get_str(rr, "content", &s, &n) == 0 &&
		    dname_parse_pdns(&c->ns[c->n], s, n) == 0)
			c->n++;
	}
	int rc;
	store_txn_t *txn = txn_get(rb, &rc);
	if (txn)
		rc = store_autoprimary_walk(txn, ip, sm_cb, c);
	if (rc < 0) {
		put_fail(out, "superMasterBackend: cannot read autoprimaries (%s)", err_str(rc));
		free(c);
		return 1;
	}
	if (rc == 0) {
		PUTLIT(out, "{\"result\":false}\n");
	} else {
		char ns[DNAME_MAX_TEXT];
		int n = dname_to_text(&c->found, ns, sizeof ns);
		PUTLIT(out, "{\"result\":{\"nameserver\":");
		put_str(out, ns, n < 0 ? 0 : (size_t)n);
		PUTLIT(out, ",\"account\":");
		put_str(out, c->account, c->account_len);
		PUTLIT(out, "}}\n");
	}
	free(c);
	return 0;
}

/* ---- transactions (buffered on the loop thread) ---- */

/* The connection's transaction named by params "trxid"; a failure reply
 * is written when there is none.  0 and *tx, or 1. */
int rb_tx_check(rb_conn_t *conn, json_t *params, const char *what, rb_buf_t *out,
		    txn_t **tx)
{
	int64_t trxid;
	if (get_i64(params, "trxid", &trxid) < 0) {
		put_fail(out, "%s: trxid must be a number", what);
		return 1;
	}
	if (!conn || !conn->tx || conn->tx->trxid != trxid) {
		put_fail(out, "%s: no open transaction %" PRId64 " on this connection", what, trxid);
		return 1;
	}
	if (conn->tx->failed) {
		put_fail(out, "%s: transaction %" PRId64 " failed earlier, nothing written (%s)",
			 what, trxid, conn->tx->why);
		return 1;
	}
	*tx = conn->tx;
	return 0;
}

/* Marks tx failed after a buffering error (its state may be partial). */
static void tx_fail(txn_t *tx, int rc)
{
	tx->failed = 1;
	snprintf(tx->why, sizeof tx->why, "%s", rc == ERR_TXNFULL ? "transaction over its size limit"
									: err_str(rc));
}

/* A refused write: the reply says why, and the transaction is marked
 * failed, so its commit is refused too.  pdns ignores most failed writes
 * (RFC 2136, AXFR-in and load-zone go on to commit), and a transaction
 * must commit whole or not at all. */
static void tx_refuse(rb_t *rb, txn_t *tx, rb_buf_t *out, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void tx_refuse(rb_t *rb, txn_t *tx, rb_buf_t *out, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!tx->failed) {
		tx->failed = 1;
		size_t n = strlen(msg);
		if (n >= sizeof tx->why)
			n = sizeof tx->why - 1;
		memcpy(tx->why, msg, n);
		tx->why[n] = '\0';
	}
	if (log_ok(rb))
		rb->log(rb->log_arg, "transaction %" PRId64 " of zone id %" PRIu32 " refused a write "
			"(%s)", tx->trxid, tx->zone_id, msg);
	put_fail(out, "%s", msg);
}

/* The overlay owner of name, created from the committed state when new. */
static int tx_owner(store_txn_t *st, txn_t *tx, const dname_t *name, txn_owner_t **out)
{
	txn_owner_t *o = txn_find(tx, name);
	if (o) {
		*out = o;
		return 0;
	}
	store_rr_iter_t it;
	int only;
	int has = base_get(st, tx->zone_id, tx->replace, name, &it, &only);
	if (has < 0)
		return has;
	int rc = txn_add(tx, name, &o);
	if (rc < 0) {
		tx_fail(tx, rc);
		return rc;
	}
	if (has && (rc = txn_owner_load(tx, o, &it, only)) < 0) {
		tx_fail(tx, rc);
		return rc;
	}
	*out = o;
	return 0;
}

/* One RR of a request, parsed and checked. */
typedef struct rrin {
	dname_t name;
	uint16_t type;
	uint32_t ttl;
	const char *content;
	size_t len;
	char *owned;          /* the normalized content, when content points here */
} rrin_t;

static void rrins_free(rrin_t *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].owned);
}

/*
 * Brings pdns's content to the form pdns itself prints, which is what the
 * store keeps and check-zone expects: load-zone and edit-zone pass zone
 * file text through unparsed for many types ("10000m" in LOC, trailing
 * dots in MB, NAPTR, SVCB...).  rdata_normalize writes pdns's form; a type
 * it cannot parse keeps the text pdns sent (already checked).
 */
static int rr_normalize(rb_t *rb, rrin_t *r)
{
	if (!rb->scratch && !(rb->scratch = malloc(RB_SCRATCH)))
		return -ENOMEM;
	char *buf = rb->scratch;
	size_t n;
	if (rdata_normalize(r->type, r->content, r->len, buf, RB_SCRATCH, &n) < 0 ||
	    (n == r->len && memcmp(buf, r->content, n) == 0))
		return 0;
	if (!(r->owned = malloc(n ? n : 1)))
		return -ENOMEM;
	memcpy(r->owned, buf, n);
	r->content = r->owned;
	r->len = n;
	return 0;
}

/* Parses {"qname","qtype","content","ttl",...}; name/type, when given,
 * must match.  0, or < 0 with err filled. */
static int parse_rr(rb_t *rb, json_t *o, const dname_t *name, uint16_t type, rrin_t *r, char *err,
		    size_t errsz)
{
	const char *s;
	size_t n;
	r->owned = NULL;
	if (!json_is_object(o)) {
		snprintf(err, errsz, "a record must be an object");
		return -EINVAL;
	}
	int rc = get_name(o, "qname", &r->name);
	if (rc == -EINVAL && name) {
		r->name = *name; /* pdns always sends it; tolerate its absence */
	} else if (rc < 0) {
		snprintf(err, errsz, "record qname missing or bad (%s)",
			 rc == -EINVAL ? "not a string" : err_str(rc));
		return rc;
	} else if (name && !dname_equal(&r->name, name)) {
		snprintf(err, errsz, "record qname differs from the RRset's qname");
		return -EINVAL;
	}
	if (get_str(o, "qtype", &s, &n) < 0) {
		if (!type) {
			snprintf(err, errsz, "record qtype must be a string");
			return -EINVAL;
		}
		r->type = type;
	} else if (qtype_code(s, n, &r->type) < 0 || r->type == RR_ANY) {
		snprintf(err, errsz, "unknown record type %.*s", (int)(n > 20 ? 20 : n), s);
		return ERR_BADTYPE;
	} else if (type && r->type != type) {
		snprintf(err, errsz, "record qtype differs from the RRset's qtype");
		return -EINVAL;
	}
	if (get_u32(o, "ttl", &r->ttl) < 0) {
		snprintf(err, errsz, "record ttl must be a number 0..4294967295");
		return -EINVAL;
	}
	if (get_str(o, "content", &r->content, &r->len) < 0) {
		snprintf(err, errsz, "record content must be a string");
		return -EINVAL;
	}
	if (r->len > STORE_MAX_CONTENT) {
		snprintf(err, errsz, "record content over %d bytes", STORE_MAX_CONTENT);
		return ERR_TOOBIG;
	}
	if (r->type != RR_SOA && (rc = rdata_check_backend(r->type, r->content, r->len)) < 0) {
		char tn[32];
		if (rrtype_format(r->type, tn, sizeof tn) < 0)
			snprintf(tn, sizeof tn, "TYPE%u", r->type);
		snprintf(err, errsz, "bad %s content \"%.*s\" (%s)", tn,
			 (int)(r->len > 80 ? 80 : r->len), r->content, err_str(rc));
		return rc;
	}
	if (r->type != RR_SOA && (rc = rr_normalize(rb, r)) < 0) {
		snprintf(err, errsz, "%s", err_str(rc));
		return rc;
	}
	return 0;
}

/* Sets the pending SOA from r.  0, or < 0 with err. */
static int tx_soa(txn_t *tx, const rrin_t *r, char *err, size_t errsz)
{
	if (!dname_equal(&r->name, &tx->apex)) {
		snprintf(err, errsz, "an SOA is only allowed at the zone apex");
		return ERR_BADTYPE;
	}
	rdata_soa_t soa;
	int rc = rdata_soa_parse(r->content, r->len, &soa);
	if (rc < 0) {
		snprintf(err, errsz, "bad SOA content \"%.*s\" (%s)", (int)(r->len > 80 ? 80 : r->len),
			 r->content, err_str(rc));
		return rc;
	}
	if (dname_to_text(&soa.mname, tx->mname, sizeof tx->mname) < 0 ||
	    dname_to_text(&soa.rname, tx->rname, sizeof tx->rname) < 0 ||
	    strlen(tx->mname) > 255 || strlen(tx->rname) > 255) {
		snprintf(err, errsz, "SOA names too long");
		return ERR_TOOBIG;
	}
	tx->soa_set = 1;
	tx->serial = soa.serial;
	tx->refresh = soa.refresh;
	tx->retry = soa.retry;
	tx->expire = soa.expire;
	tx->minimum = soa.minimum;
	tx->soa_ttl = r->ttl;
	return 0;
}

/*
 * Checks the owner's future state - its RRs with RRset type replaced by
 * add[0..nadd) (replace) or with add appended - against the store's rules
 * (CNAME beside other data, apex, types, host-owned names) and the value
 * size limit, without changing anything.  0 or the store's error.
 */
static int tx_check_future(store_txn_t *st, txn_t *tx, txn_owner_t *o, int host, uint16_t type,
			   int replace, const rrin_t *add, unsigned nadd)
{
	store_rr_t *rrs = malloc((o->n + nadd + 1) * sizeof *rrs);
	if (!rrs)
		return -ENOMEM;
	unsigned n = 0;
	size_t bytes = 0;
	for (unsigned i = 0; i < o->n; i++) {
		const txn_rr_t *x = &o->rrs[i];
		if ((replace && x->type == type) || (host && (x->type == RR_A || x->type == RR_AAAA)))
			continue;
		rrs[n++] = (store_rr_t){.type = x->type, .ttl = x->ttl, .data = x->data, .len = x->len};
		bytes += 10u + x->len;
	}
	for (unsigned i = 0; i < nadd; i++) {
		rrs[n++] = (store_rr_t){.type = add[i].type, .ttl = add[i].ttl,
					.data = add[i].content, .len = (uint16_t)add[i].len};
		bytes += 10u + add[i].len;
	}
	int rc = bytes > STORE_MAX_VALUE ? ERR_TOOBIG : store_name_check(st, tx->zone_id, &o->name,
									   rrs, n);
	free(rrs);
	return rc;
}

static void name_text(const dname_t *n, char *buf, size_t size)
{
	if (dname_to_text(n, buf, size) < 0 && size)
		buf[0] = '\0';
}

/*
 * Buffers one write: RRset type at name becomes rrs[0..n) (replace), or
 * rrs[0] is inserted.  Writes the reply.  Returns 1 when it failed.
 */
static int tx_write(rb_t *rb, txn_t *tx, const dname_t *name, uint16_t type, int replace,
		    const rrin_t *rrs, unsigned n, const char *what, rb_buf_t *out)
{
	char nt[DNAME_MAX_TEXT], tn[32], err[DNAME_MAX_TEXT + 256];
	name_text(name, nt, sizeof nt);
	if (rrtype_format(type, tn, sizeof tn) < 0)
		snprintf(tn, sizeof tn, "TYPE%u", type);
	if (!dname_is_below(name, &tx->apex)) {
		char zt[DNAME_MAX_TEXT];
		name_text(&tx->apex, zt, sizeof zt);
		tx_refuse(rb, tx, out, "%s: %s is not in zone %s", what, nt, zt);
		return 1;
	}
	int rc;
	if (type == RR_SOA) {
		if (n != 1) {
			tx_refuse(rb, tx, out, "%s: the SOA RRset must hold exactly one record", what);
			return 1;
		}
		if (tx_soa(tx, &rrs[0], err, sizeof err) < 0) {
			tx_refuse(rb, tx, out, "%s: %s", what, err);
			return 1;
		}
		PUTLIT(out, "{\"result\":true}\n");
		return 0;
	}
	if (!rrtype_storable(type) && !(type == RR_ANY && replace && n == 0)) {
		tx_refuse(rb, tx, out, "%s: type %s cannot be stored", what, tn);
		return 1;
	}
	int rc0;
	store_txn_t *st = txn_get(rb, &rc0);
	if (!st) {
		tx_refuse(rb, tx, out, "%s: cannot read store (%s)", what, err_str(rc0));
		return 1;
	}
	int host = is_host(st, tx->zone_id, name);
	if (host < 0) {
		tx_refuse(rb, tx, out, "%s: cannot read store (%s)", what, err_str(host));
		return 1;
	}
	if (host && (type == RR_A || type == RR_AAAA)) {
		if (tx->replace) {
			/* An exported zone re-imported carries the hosts' current
			 * addresses; they stay the hosts'. */
			PUTLIT(out, "{\"result\":true,\"log\":[");
			snprintf(err, sizeof err, "%s: kept the dyndns host's %s at %s (skipped the "
				 "fed record)", what, tn, nt);
			put_cstr(out, err);
			PUTLIT(out, "]}\n");
			return 0;
		}
		tx_refuse(rb, tx, out, "%s: %s %s belongs to a dyndns host (%s)", what, nt, tn,
			 err_str(ERR_HOSTOWNED));
		return 1;
	}
	txn_owner_t *o;
	if (type == RR_ANY) {
		/* RFC 2136 "delete all RRsets of a name": pdns sends qtype ANY
		 * with no records.  The host's addresses stay the host's, and
		 * the apex keeps its NS (RFC 2136 3.4.2.3). */
		if ((rc = tx_owner(st, tx, name, &o)) < 0) {
			tx_refuse(rb, tx, out, "%s: cannot buffer %s ANY (%s)", what, nt,
				  rc == ERR_TXNFULL ? "transaction over its size limit" : err_str(rc));
			return 1;
		}
		uint16_t keep[3];
		unsigned nkeep = 0;
		if (host)
			keep[nkeep++] = RR_A, keep[nkeep++] = RR_AAAA;
		if (dname_equal(name, &tx->apex))
			keep[nkeep++] = RR_NS;
		txn_owner_clear(tx, o, keep, nkeep);
		PUTLIT(out, "{\"result\":true}\n");
		return 0;
	}
	if ((rc = tx_owner(st, tx, name, &o)) < 0) {
		tx_refuse(rb, tx, out, "%s: cannot buffer %s %s (%s)", what, nt, tn,
			 rc == ERR_TXNFULL ? "transaction over its size limit" : err_str(rc));
		return 1;
	}
	rc = tx_check_future(st, tx, o, host, type, replace, rrs, n);
	if (rc < 0) {
		tx_refuse(rb, tx, out, "%s: refused %s %s (%s)", what, nt, tn, err_str(rc));
		return 1;
	}
	if (replace) {
		const char **c = malloc((n + 1) * sizeof *c);
		uint16_t *l = malloc((n + 1) * sizeof *l);
		if (!c || !l) {
			rc = -ENOMEM;
		} else {
			for (unsigned i = 0; i < n; i++)
				c[i] = rrs[i].content, l[i] = (uint16_t)rrs[i].len;
			rc = txn_rrset_set(tx, o, type, n ? rrs[0].ttl : 0, c, l, n);
		}
		free(c);
		free(l);
	} else {
		rc = txn_rr_add(tx, o, type, rrs[0].ttl, rrs[0].content, (uint16_t)rrs[0].len);
		if (rc == -EEXIST)
			rc = 0;
	}
	if (rc < 0) {
		tx_fail(tx, rc);
		tx_refuse(rb, tx, out, "%s: cannot buffer %s %s (%s)", what, nt, tn, tx->why);
		return 1;
	}
	PUTLIT(out, "{\"result\":true}\n");
	return 0;
}

int rb_m_start(rb_t *rb, rb_conn_t *conn, json_t *params, rb_buf_t *out)
{
	int64_t trxid, did;
	if (get_i64(params, "trxid", &trxid) < 0 || get_i64(params, "domain_id", &did) < 0 ||
	    did < -1) {
		put_fail(out, "startTransaction: trxid and domain_id (>= -1) must be numbers");
		return 1;
	}
	if (!conn) {
		put_fail(out, "startTransaction: not available here");
		return 1;
	}
	if (conn->tx) {
		put_fail(out, "startTransaction: transaction %" PRId64 " is still open on this "
			 "connection (commit or abort it first)", conn->tx->trxid);
		return 1;
	}
	int rc;
	store_txn_t *st = txn_get(rb, &rc);
	if (!st) {
		put_fail(out, "startTransaction: cannot read store (%s)", err_str(rc));
		return 1;
	}
	store_zone_t z;
	dname_t name;
	int named = get_name(params, "domain", &name);
	if (did >= 0) {
		rc = did > UINT32_MAX ? -ENOENT : store_zone_get_by_id(st, (uint32_t)did, &z);
		if (rc == 0 && named == 0 && !dname_equal(&name, &z.name)) {
			put_fail(out, "startTransaction: domain does not match domain_id %" PRId64, did);
			return 1;
		}
	} else if (named < 0) {
		put_fail(out, "startTransaction: domain must be a zone name when domain_id is -1");
		return 1;
	} else {
		rc = store_zone_get(st, &name, &z);
	}
	if (rc < 0) {
		put_fail(out, "startTransaction: no such zone (%s)", err_str(rc));
		return 1;
	}
	txn_t *tx = txn_new(trxid, z.id, &z.name, did >= 0, rb->txn_max_bytes);
	if (!tx) {
		out->oom = 1;
		return 1;
	}
	tx->last_used = now_sec();
	conn->tx = tx;
	rb->st->txns_open++;
	PUTLIT(out, "{\"result\":true}\n");
	return 0;
}

void rb_tx_end(rb_t *rb, rb_conn_t *conn)
{
	txn_free(conn->tx);
	conn->tx = NULL;
	rb->st->txns_open--;
}

int rb_m_abort(rb_t *rb, rb_conn_t *conn, json_t *params, rb_buf_t *out)
{
	int64_t trxid;
	if (get_i64(params, "trxid", &trxid) < 0) {
		put_fail(out, "abortTransaction: trxid must be a number");
		return 1;
	}
	if (conn && conn->tx && conn->tx->trxid == trxid) {
		rb_tx_end(rb, conn);
		PUTLIT(out, "{\"result\":true}\n");
		return 0;
	}
	/* pdns sends the abort on a fresh connection after a failure; the
	 * transaction died with its connection, so there is nothing to undo. */
	PUTLIT(out, "{\"result\":true,\"log\":[\"abortTransaction: no open transaction with this "
		    "trxid on this connection; nothing to abort\"]}\n");
	return 0;
}

int rb_m_replace(rb_t *rb, rb_conn_t *conn, json_t *params, rb_buf_t *out)
{
	txn_t *tx;
	if (rb_tx_check(conn, params, "replaceRRSet", out, &tx))
		return 1;
	int64_t did;
	if (get_i64(params, "domain_id", &did) < 0 || did != (int64_t)tx->zone_id) {
		tx_refuse(rb, tx, out, "replaceRRSet: domain_id must be the transaction's zone id %" PRIu32,
			 tx->zone_id);
		return 1;
	}
	dname_t name;
	int rc = get_name(params, "qname", &name);
	if (rc < 0) {
		tx_refuse(rb, tx, out, "replaceRRSet: bad qname (%s)",
			 rc == -EINVAL ? "not a string" : err_str(rc));
		return 1;
	}
	const char *s;
	size_t n;
	uint16_t type;
	if (get_str(params, "qtype", &s, &n) < 0 || qtype_code(s, n, &type) < 0) {
		tx_refuse(rb, tx, out, "replaceRRSet: qtype must be a record type");
		return 1;
	}
	json_t *set = json_object_get(params, "rrset");
	if (!json_is_array(set)) {
		tx_refuse(rb, tx, out, "replaceRRSet: rrset must be an array");
		return 1;
	}
	if (type == RR_ANY && json_array_size(set)) {
		tx_refuse(rb, tx, out, "replaceRRSet: qtype ANY only deletes (rrset must be empty)");
		return 1;
	}
	size_t count = json_array_size(set);
	if (count > STORE_MAX_VALUE / 4) {
		tx_refuse(rb, tx, out, "replaceRRSet: rrset of %zu records is too big", count);
		return 1;
	}
	rrin_t *rrs = malloc((count + 1) * sizeof *rrs);
	if (!rrs) {
		out->oom = 1;
		return 1;
	}
	char err[300];
	for (size_t i = 0; i < count; i++) {
		if (parse_rr(rb, json_array_get(set, i), &name, type, &rrs[i], err, sizeof err) < 0) {
			tx_refuse(rb, tx, out, "replaceRRSet: record %zu: %s", i + 1, err);
			rrins_free(rrs, i);
			free(rrs);
			return 1;
		}
	}
	tx->last_used = now_sec();
	int failed = tx_write(rb, tx, &name, type, 1, rrs, (unsigned)count, "replaceRRSet", out);
	rrins_free(rrs, count);
	free(rrs);
	return failed;
}

int rb_m_feed(rb_t *rb, rb_conn_t *conn, json_t *params, rb_buf_t *out)
{
	txn_t *tx;
	if (rb_tx_check(conn, params, "feedRecord", out, &tx))
		return 1;
	rrin_t r;
	char err[300];
	if (parse_rr(rb, json_object_get(params, "rr"), NULL, 0, &r, err, sizeof err) < 0) {
		tx_refuse(rb, tx, out, "feedRecord: %s", err);
		return 1;
	}
	tx->last_used = now_sec();
	/* Inside an edit (RFC 2136) a fed record is an insert; in a replace
	 * it is the next record of the new zone: both add it. */
	int failed = tx_write(rb, tx, &r.name, r.type, 0, &r, 1, "feedRecord", out);
	rrins_free(&r, 1);
	return failed;
}

/* feedEnts / feedEnts3: ENTs are derived from the names, so only check. */
int rb_m_feedents(rb_t *rb, rb_conn_t *conn, json_t *params, const char *what,
		      rb_buf_t *out)
{
	txn_t *tx;
	if (rb_tx_check(conn, params, what, out, &tx))
		return 1;
	int64_t did;
	if (get_i64(params, "domain_id", &did) == 0 && did != (int64_t)tx->zone_id) {
		tx_refuse(rb, tx, out, "%s: domain_id must be the transaction's zone id %" PRIu32, what,
			 tx->zone_id);
		return 1;
	}
	json_t *ents = json_object_get(params, "nonterm");
	if (!json_is_array(ents)) {
		tx_refuse(rb, tx, out, "%s: nonterm must be an array", what);
		return 1;
	}
	size_t i;
	json_t *e;
	json_array_foreach(ents, i, e) {
		dname_t n;
		const char *s;
		size_t len;
		int rc = -EINVAL;
		if (json_is_string(e))
			rc = dname_parse_pdns(&n, json_string_value(e), json_string_length(e));
		else if (json_is_object(e) && get_str(e, "nonterm", &s, &len) == 0)
			rc = dname_parse_pdns(&n, s, len);
		if (rc < 0) {
			tx_refuse(rb, tx, out, "%s: entry %zu is not a name", what, i + 1);
			return 1;
		}
		if (!dname_is_below(&n, &tx->apex)) {
			tx_refuse(rb, tx, out, "%s: entry %zu is not in the zone", what, i + 1);
			return 1;
		}
	}
	tx->last_used = now_sec();
	PUTLIT(out, "{\"result\":true}\n");
	return 0;
}

void rb_conn_close(rb_t *rb, rb_conn_t *conn)
{
	if (conn->tx)
		rb_tx_end(rb, conn);
}

void rb_conn_tick(rb_t *rb, rb_conn_t *conn, uint64_t now)
{
	if (!conn->tx || now - conn->tx->last_used <= rb->txn_timeout)
		return;
	if (rb->log)
		rb->log(rb->log_arg, "dropping transaction %" PRId64 " of zone id %" PRIu32
			" (idle for over %u s)", conn->tx->trxid, conn->tx->zone_id,
			rb->txn_timeout);
	rb_tx_end(rb, conn);
}

/* ---- deferred writes (run on a worker thread) ---- */

static int apply_commit(store_txn_t *t, txn_t *tx, char *err, size_t errsz)
{
	store_zone_t z;
	/* The zone row's strings point into the map, valid only until the
	 * first write of this txn: copy them now. */
	char masters[STORE_MAX_MASTERS], account[256];
	int rc = store_zone_get_by_id(t, tx->zone_id, &z);
	if (rc < 0) {
		snprintf(err, errsz, "zone id %" PRIu32 " is gone (%s)", tx->zone_id, err_str(rc));
		return rc;
	}
	memcpy(masters, z.masters ? z.masters : "", z.masters_len);
	memcpy(account, z.account ? z.account : "", z.account_len);
	z.masters = masters;
	z.account = account;
	if (tx->replace && (rc = store_zone_clear(t, tx->zone_id)) < 0) {
		snprintf(err, errsz, "cannot clear the zone (%s)", err_str(rc));
		return rc;
	}
	/* Per owner, the RRsets this transaction touched come from its
	 * buffer and the others from the store as it is now, so a write made
	 * by someone else meanwhile (kyednsctl, another pdns connection) to
	 * another RRset of the same owner is kept.  A concurrent write to
	 * the same RRset loses to this commit. */
	store_rr_t *rrs = NULL;
	unsigned cap = 0;
	for (size_t i = 0; i < tx->n; i++) {
		txn_owner_t *o = tx->owners[i];
		int host = is_host(t, tx->zone_id, &o->name);
		if (host < 0) {
			rc = host;
			break;
		}
		store_rr_iter_t it;
		store_rr_t rr;
		unsigned stored = 0;
		rc = store_name_get(t, tx->zone_id, &o->name, &it);
		if (rc == -ENOENT) {
			rc = 0;
		} else if (rc == 0) {
			store_rr_iter_t c = it;
			while ((rc = store_rr_next(&c, &rr)) == 1)
				stored++;
		}
		if (rc < 0)
			break;
		if (o->n + stored > cap) {
			free(rrs);
			cap = o->n + stored;
			if (!(rrs = malloc(cap * sizeof *rrs))) {
				rc = -ENOMEM;
				break;
			}
		}
		unsigned n = 0;
		for (unsigned j = 0; j < o->n; j++) {
			const txn_rr_t *x = &o->rrs[j];
			if (host && (x->type == RR_A || x->type == RR_AAAA))
				continue; /* the host's own: store_name_set keeps them */
			if (!txn_owner_touched(o, x->type))
				continue; /* taken from the store below */
			rrs[n++] = (store_rr_t){.type = x->type, .ttl = x->ttl, .data = x->data,
						.len = x->len};
		}
		/* the store's RR pointers stay valid: store_name_set encodes
		 * them before it writes */
		while (stored && (rc = store_rr_next(&it, &rr)) == 1) {
			if (host && (rr.type == RR_A || rr.type == RR_AAAA))
				continue;
			if (!txn_owner_touched(o, rr.type))
				rrs[n++] = rr;
		}
		if (rc < 0)
			break;
		if ((rc = store_name_set(t, tx->zone_id, &o->name, rrs, n)) < 0) {
			char nt[DNAME_MAX_TEXT];
			name_text(&o->name, nt, sizeof nt);
			snprintf(err, errsz, "cannot write %s (%s)", nt, err_str(rc));
			break;
		}
	}
	free(rrs);
	if (rc < 0) {
		if (!err[0])
			snprintf(err, errsz, "%s", err_str(rc));
		return rc;
	}
	if (tx->soa_set) {
		z.mname = tx->mname;
		z.mname_len = (uint8_t)strlen(tx->mname);
		z.rname = tx->rname;
		z.rname_len = (uint8_t)strlen(tx->rname);
		z.serial = tx->serial;
		z.refresh = tx->refresh;
		z.retry = tx->retry;
		z.expire = tx->expire;
		z.minimum = tx->minimum;
		z.ttl = tx->soa_ttl;
		z.flags &= (uint8_t)~STORE_ZONE_NOSOA;
		if ((rc = store_zone_put(t, &z)) < 0) {
			snprintf(err, errsz, "cannot write the SOA (%s)", err_str(rc));
			return rc;
		}
	}
	return 0;
}

static int apply_setmeta(store_txn_t *t, json_t *p, char *err, size_t errsz)
{
	store_zone_t z;
	const char *kind;
	size_t klen;
	int rc = zone_by_param(t, p, "name", &z);
	if (rc < 0) {
		snprintf(err, errsz, "no such zone (%s)", rc == -EINVAL ? "name must be a string"
									: err_str(rc));
		return rc;
	}
	if (get_str(p, "kind", &kind, &klen) < 0 || klen == 0 || klen > STORE_MAX_META_KIND) {
		snprintf(err, errsz, "kind must be a string of 1 to %d bytes", STORE_MAX_META_KIND);
		return -EINVAL;
	}
	json_t *val = json_object_get(p, "value");
	if (val && !json_is_array(val) && !json_is_null(val)) {
		snprintf(err, errsz, "value must be an array of strings");
		return -EINVAL;
	}
	size_t n = val ? json_array_size(val) : 0;
	if (n > 65535) {
		snprintf(err, errsz, "too many values");
		return ERR_TOOBIG;
	}
	const char **vals = malloc((n + 1) * sizeof *vals);
	uint16_t *lens = malloc((n + 1) * sizeof *lens);
	rc = vals && lens ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_t *v = json_array_get(val, i);
		if (!json_is_string(v) || json_string_length(v) > STORE_MAX_META_VALUE) {
			snprintf(err, errsz, "value %zu must be a string of at most %d bytes", i + 1,
				 STORE_MAX_META_VALUE);
			rc = -EINVAL;
			break;
		}
		vals[i] = json_string_value(v);
		lens[i] = (uint16_t)json_string_length(v);
	}
	if (rc == 0 && (rc = store_meta_set(t, z.id, kind, klen, vals, lens, (unsigned)n)) < 0)
		snprintf(err, errsz, "cannot store metadata (%s)", err_str(rc));
	free(vals);
	free(lens);
	return rc;
}

static int apply_settsig(store_txn_t *t, json_t *p, char *err, size_t errsz)
{
	store_tsig_t k;
	const char *alg, *sec;
	size_t alen, slen;
	int rc = get_name(p, "name", &k.name);
	if (rc < 0) {
		snprintf(err, errsz, "bad key name (%s)", rc == -EINVAL ? "not a string"
									 : err_str(rc));
		return rc;
	}
	if (get_str(p, "algorithm", &alg, &alen) < 0 || alen == 0 || alen > 255 ||
	    get_str(p, "content", &sec, &slen) < 0 || slen == 0 || slen > 65535) {
		snprintf(err, errsz, "algorithm (1-255 bytes) and content (1-65535 bytes) must be "
				     "strings");
		return -EINVAL;
	}
	k.algorithm = alg;
	k.algorithm_len = (uint8_t)alen;
	k.secret = sec;
	k.secret_len = (uint16_t)slen;
	if ((rc = store_tsig_put(t, &k)) < 0)
		snprintf(err, errsz, "cannot store key (%s)", err_str(rc));
	return rc;
}

static int apply_deltsig(store_txn_t *t, json_t *p, char *err, size_t errsz)
{
	dname_t name;
	int rc = get_name(p, "name", &name);
	if (rc < 0) {
		snprintf(err, errsz, "bad key name (%s)", rc == -EINVAL ? "not a string"
									 : err_str(rc));
		return rc;
	}
	rc = store_tsig_del(t, &name);
	if (rc == -ENOENT)
		return 0; /* gone already: the wanted state */
	if (rc < 0)
		snprintf(err, errsz, "cannot delete key (%s)", err_str(rc));
	return rc;
}

static int apply_createslave(store_txn_t *t, json_t *p, char *err, size_t errsz)
{
	store_zone_t z;
	memset(&z, 0, sizeof z);
	const char *ip, *acc = "";
	size_t iplen, acclen = 0;
	int rc = get_name(p, "domain", &z.name);
	if (rc < 0) {
		snprintf(err, errsz, "bad domain (%s)", rc == -EINVAL ? "not a string" : err_str(rc));
		return rc;
	}
	if (get_str(p, "ip", &ip, &iplen) < 0 || iplen == 0 || iplen > STORE_MAX_MASTERS ||
	    memchr(ip, '\0', iplen)) {
		snprintf(err, errsz, "ip must be a non-empty string");
		return -EINVAL;
	}
	json_t *a = json_object_get(p, "account");
	if (a && !json_is_null(a)) {
		if (get_str(p, "account", &acc, &acclen) < 0 || acclen > 255) {
			snprintf(err, errsz, "account must be a string of at most 255 bytes");
			return -EINVAL;
		}
	}
	z.kind = STORE_KIND_SLAVE;
	z.flags = STORE_ZONE_NOSOA;
	z.masters = ip;
	z.masters_len = (uint16_t)iplen;
	z.account = acc;
	z.account_len = (uint8_t)acclen;
	z.mname = z.rname = "";
	if ((rc = store_zone_add(t, &z)) < 0)
		snprintf(err, errsz, "cannot create zone (%s)", err_str(rc));
	return rc;
}

static int apply(rb_work_t *w, store_txn_t *t)
{
	switch (w->method) {
	case RB_M_SETNOTIFIED:
		return store_zone_set_notified(t, w->id, w->serial);
	case RB_M_SETFRESH:
		return store_zone_set_checked(t, w->id, (uint64_t)time(NULL));
	case RB_M_SETSTALE:
		return store_zone_set_checked(t, w->id, 0);
	case RB_M_SETDOMAINMETADATA:
		return apply_setmeta(t, w->params, w->err, sizeof w->err);
	case RB_M_SETTSIGKEY:
		return apply_settsig(t, w->params, w->err, sizeof w->err);
	case RB_M_DELETETSIGKEY:
		return apply_deltsig(t, w->params, w->err, sizeof w->err);
	case RB_M_CREATESLAVEDOMAIN:
		return apply_createslave(t, w->params, w->err, sizeof w->err);
	case RB_M_COMMITTRANSACTION:
		return apply_commit(t, w->tx, w->err, sizeof w->err);
	case RB_M_ADDDOMAINKEY:
	case RB_M_REMOVEDOMAINKEY:
	case RB_M_ACTIVATEDOMAINKEY:
	case RB_M_DEACTIVATEDOMAINKEY:
	case RB_M_PUBLISHDOMAINKEY:
	case RB_M_UNPUBLISHDOMAINKEY:
		return rb_apply_key(w, t);
	}
	return -EINVAL;
}

#define RB_MAX_GROWS 24 /* 64 MiB doubled 24 times passes STORE_MAX_MAPSIZE */

void rb_work_run(rb_t *rb, rb_work_t *w)
{
	int rc;
	for (int grows = 0;; grows++) {
		store_txn_t *t;
		w->err[0] = '\0';
		rc = store_txn_begin(rb->store, 1, &t);
		if (rc < 0)
			break;
		rc = apply(w, t);
		if (rc == 0)
			rc = store_txn_commit(t); /* frees t either way */
		else
			store_txn_abort(t);
		if (rc != ERR_MAPFULL || grows >= RB_MAX_GROWS)
			break;
		/* Nothing was written: make room and redo the whole write. */
		int g = store_grow(rb->store);
		if (g < 0) {
			rc = g;
			break;
		}
	}
	if (rc < 0 && (rc == ERR_MAPFULL || !w->err[0]))
		snprintf(w->err, sizeof w->err, "%s", err_str(rc));
	w->rc = rc;
}

int rb_work_done(rb_t *rb, rb_work_t *w, rb_buf_t *out)
{
	const char *what = method_names[w->method];
	if (w->rc < 0 && !w->err[0])
		snprintf(w->err, sizeof w->err, "%s", err_str(w->rc));
	/* bad input and unknown zones are the peer's errors, not ours */
	int failed = w->rc != 0 && w->rc != -ENOENT && w->rc != -EINVAL && w->rc != -EEXIST;
	int prio = failed ? LOG_ERR : LOG_WARNING;
	if (w->rc == 0 && w->method == RB_M_ADDDOMAINKEY) {
		PUTLIT(out, "{\"result\":");
		put_u64(out, w->id);
		PUTLIT(out, "}\n");
	} else if (w->rc == 0) {
		PUTLIT(out, "{\"result\":true}\n");
	} else if (w->method == RB_M_SETNOTIFIED) {
		RB_LOG(rb, prio, "cannot record notified serial %" PRIu32 " of zone id %" PRIu32
		       " (%s)", w->serial, w->id, w->err);
		put_fail(out, "setNotified: cannot record serial (%s)", w->err);
	} else {
		if (w->method == RB_M_COMMITTRANSACTION || log_ok(rb))
			RB_LOG(rb, prio, "%s failed (%s)", what, w->err);
		put_fail(out, "%s: %s", what, w->err);
	}
	count(rb, (enum rb_method)w->method, failed, w->start_ns);
	if (w->params)
		json_decref((json_t *)w->params);
	w->params = NULL;
	if (w->tx) {
		txn_free(w->tx);
		w->tx = NULL;
		rb->st->txns_open--;
	}
	return out->oom ? -ENOMEM : 0;
}
