/*
 * rbsec - the DNSSEC half of the remote-backend protocol (see rb.h):
 * the zone keys (getDomainKeys, addDomainKey, removeDomainKey,
 * (de)activateDomainKey, (un)publishDomainKey) and the NSEC/NSEC3 order
 * (getBeforeAndAfterNamesAbsolute).  pdns signs at query time; it needs
 * from us the keys, "auth" in lookups (rb.c) and the neighbours of a name.
 *
 * Keys are secrets: their content is never logged, neither here nor in
 * the "log" lines of a reply.  Key writes are deferred like every other
 * write and applied by rb_work_run; addDomainKey's reply is the new id.
 *
 * NSEC3: pdns asks with a hash; the answer needs the zone's sorted hash
 * chain.  Hashing a whole zone per query would cost milliseconds per
 * thousand names, so the chain is built once per (zone id, serial, NSEC3
 * parameters) and kept in rb->n3 (every data change bumps the serial, and
 * a secondary zone's serial moves with each transfer).  On a new serial the
 * zone is walked again, but when its members are the same names in the same
 * order (a dyndns update changes addresses, not names) the hashed chain is
 * kept: only a new or deleted name costs a rehash.  Reads inside a
 * pdns transaction see the committed chain: pdns asks for neighbours only
 * while answering queries, never on a transaction's connection.
 */
#include "rbint.h"
#include "sha1.h"

/* ---- keys ---- */

struct key_ctx {
	rb_buf_t *out;
	int first;
};

static int key_row(const store_key_t *k, void *arg)
{
	struct key_ctx *c = arg;
	if (!c->first)
		PUTLIT(c->out, ",");
	c->first = 0;
	PUTLIT(c->out, "{\"id\":");
	put_u64(c->out, k->id);
	PUTLIT(c->out, ",\"flags\":");
	put_u64(c->out, k->flags);
	/* "published" must be a JSON boolean: pdns reads anything else as
	 * true */
	if (k->active)
		PUTLIT(c->out, ",\"active\":true");
	else
		PUTLIT(c->out, ",\"active\":false");
	if (k->published)
		PUTLIT(c->out, ",\"published\":true");
	else
		PUTLIT(c->out, ",\"published\":false");
	PUTLIT(c->out, ",\"content\":");
	put_str(c->out, k->content, k->content_len);
	PUTLIT(c->out, "}");
	return c->out->oom ? -ENOMEM : 0;
}

int rb_m_getkeys(rb_t *rb, json_t *params, rb_buf_t *out)
{
	int rc;
	store_txn_t *txn = txn_get(rb, &rc);
	if (!txn) {
		put_fail(out, "getDomainKeys: cannot read store (%s)", err_str(rc));
		return 1;
	}
	store_zone_t z;
	rc = zone_by_param(txn, params, "name", &z);
	if (rc == -EINVAL) {
		put_fail(out, "getDomainKeys: name must be a string");
		return 1;
	}
	if (rc == -ENOENT || rc == ERR_BADNAME) {
		PUTLIT(out, "{\"result\":[]}\n"); /* not our zone: no keys */
		return 0;
	}
	size_t start = out->len;
	struct key_ctx c = {.out = out, .first = 1};
	PUTLIT(out, "{\"result\":[");
	if (rc == 0)
		rc = store_key_walk(txn, z.id, key_row, &c);
	if (rc < 0) {
		out->len = start;
		put_fail(out, "getDomainKeys: cannot read keys (%s)", err_str(rc));
		return 1;
	}
	PUTLIT(out, "]}\n");
	return 0;
}

/* The DNSSEC algorithms pdns 4.7 can sign with (RFC 8624 numbers). */
static int algorithm_known(unsigned a)
{
	return a == 5 || a == 7 || a == 8 || a == 10 || a == 13 || a == 14 || a == 15 || a == 16;
}

/*
 * Checks that s (n bytes) looks like the ISC private-key text pdns writes:
 * "Private-key-format: v1.N\n", "Algorithm: A (NAME)\n" with an algorithm
 * pdns knows, then "Key: value" lines of printable text, one of them the
 * key itself ("PrivateKey:" or, for RSA, "Modulus:").  0, or -EINVAL with
 * why (never quoting the content).
 */
static int isc_key_check(const char *s, size_t n, char *why, size_t whysz)
{
	static const char fmt[] = "Private-key-format: v1.";
	static const char alg[] = "Algorithm: ";
	size_t i = sizeof fmt - 1;
	int has_key = 0;
	for (size_t j = 0; j < n; j++) {
		unsigned char c = (unsigned char)s[j];
		if (c != '\n' && (c < 0x20 || c > 0x7e)) {
			snprintf(why, whysz, "key content holds a byte that is not printable text");
			return -EINVAL;
		}
	}
	if (n < i || memcmp(s, fmt, i) != 0) {
		snprintf(why, whysz,
		         "key content is not ISC private-key text (no "
		         "\"Private-key-format: v1.x\" line)");
		return -EINVAL;
	}
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i >= n || s[i] != '\n' || s[i - 1] == '.') {
		snprintf(why, whysz, "key content is not ISC private-key text (bad format line)");
		return -EINVAL;
	}
	i++;
	if (n - i < sizeof alg - 1 || memcmp(s + i, alg, sizeof alg - 1) != 0) {
		snprintf(why, whysz,
		         "key content is not ISC private-key text (no Algorithm line "
		         "after the format line)");
		return -EINVAL;
	}
	i += sizeof alg - 1;
	unsigned a = 0, digits = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 4)
		a = a * 10 + (unsigned)(s[i++] - '0'), digits++;
	if (!digits || (i < n && s[i] != ' ' && s[i] != '\n')) {
		snprintf(why, whysz, "key content has a malformed Algorithm line");
		return -EINVAL;
	}
	if (!algorithm_known(a)) {
		snprintf(why, whysz,
		         "key content names DNSSEC algorithm %u, which pdns cannot "
		         "sign with",
		         a);
		return -EINVAL;
	}
	/* the remaining lines: "Name: value" */
	while (i < n && s[i] != '\n')
		i++;
	while (i < n) {
		i++; /* the newline */
		size_t b = i;
		while (i < n && s[i] != '\n')
			i++;
		if (i == b)
			continue;
		const char *colon = memchr(s + b, ':', i - b);
		if (!colon || colon == s + b) {
			snprintf(why, whysz, "key content has a line that is not \"Name: value\"");
			return -EINVAL;
		}
		size_t kl = (size_t)(colon - (s + b));
		if ((kl == 10 && memcmp(s + b, "PrivateKey", 10) == 0) ||
		    (kl == 7 && memcmp(s + b, "Modulus", 7) == 0))
			has_key = colon + 2 < s + i; /* a value follows ": " */
	}
	if (!has_key) {
		snprintf(why, whysz, "key content has no PrivateKey (or Modulus) line");
		return -EINVAL;
	}
	return 0;
}

/* A JSON boolean, or a number / "0" / "1" as pdns's asBool reads them. */
static int get_bool(json_t *o, const char *key, int *out)
{
	json_t *v = json_object_get(o, key);
	if (json_is_boolean(v))
		*out = json_is_true(v);
	else if (json_is_integer(v))
		*out = json_integer_value(v) != 0;
	else if (json_is_string(v) && json_string_length(v) == 1 &&
	         (json_string_value(v)[0] == '0' || json_string_value(v)[0] == '1'))
		*out = json_string_value(v)[0] == '1';
	else
		return -EINVAL;
	return 0;
}

/* Validates an addDomainKey request on the loop thread, so that bad input
 * is refused before any write.  0, or 1 with the failure reply written. */
int rb_check_addkey(rb_t *rb, json_t *params, rb_buf_t *out)
{
	char why[200];
	const char *zone = NULL, *s;
	size_t zlen = 0, n;
	dname_t name;
	json_t *key = json_object_get(params, "key");
	json_t *flags = json_object_get(key, "flags");
	int b;
	why[0] = '\0';
	if (get_str(params, "name", &zone, &zlen) < 0 || dname_parse_pdns(&name, zone, zlen) < 0)
		snprintf(why, sizeof why, "name must be a zone name");
	else if (!json_is_object(key))
		snprintf(why, sizeof why, "key must be an object");
	else if (!json_is_integer(flags) || json_integer_value(flags) < 0 ||
	         json_integer_value(flags) > 65535)
		snprintf(why, sizeof why, "key flags must be a number 0..65535");
	else if (get_bool(key, "active", &b) < 0 || get_bool(key, "published", &b) < 0)
		snprintf(why, sizeof why, "key active and published must be booleans");
	else if (get_str(key, "content", &s, &n) < 0 || n == 0 || n > STORE_MAX_KEY_CONTENT)
		snprintf(why, sizeof why, "key content must be a string of 1 to %d bytes",
		         STORE_MAX_KEY_CONTENT);
	else
		isc_key_check(s, n, why, sizeof why);
	if (!why[0])
		return 0;
	if (log_ok(rb)) {
		/* the name as we print names (escaped), never the key */
		char zt[DNAME_MAX_TEXT] = "(unparsable name)";
		if (zone && dname_parse_pdns(&name, zone, zlen) == 0)
			dname_to_text(&name, zt, sizeof zt);
		rb->log(rb->log_arg, "addDomainKey for zone %s refused (%s)", zt, why);
	}
	put_fail(out, "addDomainKey: %s", why);
	return 1;
}

/* The key id of a key operation, checked on the loop thread.  0, or 1
 * with the failure reply written. */
int rb_check_keyop(json_t *params, const char *what, rb_buf_t *out)
{
	uint32_t id;
	dname_t name;
	if (get_name(params, "name", &name) < 0) {
		put_fail(out, "%s: name must be a zone name", what);
		return 1;
	}
	if (get_u32(params, "id", &id) < 0 || id == 0) {
		put_fail(out, "%s: id must be a key id 1..4294967295", what);
		return 1;
	}
	return 0;
}

int rb_apply_key(rb_work_t *w, store_txn_t *t)
{
	store_zone_t z;
	uint32_t id = 0;
	json_t *p = w->params;
	int rc = zone_by_param(t, p, "name", &z);
	if (rc < 0) {
		snprintf(w->err, sizeof w->err, "no such zone (%s)",
		         rc == -EINVAL ? "name must be a string" : err_str(rc));
		return rc == ERR_BADNAME ? -ENOENT : rc;
	}
	if (w->method == RB_M_ADDDOMAINKEY) {
		json_t *key = json_object_get(p, "key");
		store_key_t k;
		int active = 0, published = 1;
		memset(&k, 0, sizeof k);
		k.flags = (uint32_t)json_integer_value(json_object_get(key, "flags"));
		get_bool(key, "active", &active);
		get_bool(key, "published", &published);
		k.active = (uint8_t)active;
		k.published = (uint8_t)published;
		k.content = json_string_value(json_object_get(key, "content"));
		k.content_len =
		        k.content ? (uint32_t)json_string_length(json_object_get(key, "content"))
		                  : 0;
		rc = store_key_add(t, z.id, &k, &w->id);
		if (rc < 0)
			snprintf(w->err, sizeof w->err, "cannot store key (%s)", err_str(rc));
		return rc;
	}
	get_u32(p, "id", &id);
	switch (w->method) {
	case RB_M_REMOVEDOMAINKEY: rc = store_key_del(t, z.id, id); break;
	case RB_M_ACTIVATEDOMAINKEY: rc = store_key_set_flags(t, z.id, id, 1, -1); break;
	case RB_M_DEACTIVATEDOMAINKEY: rc = store_key_set_flags(t, z.id, id, 0, -1); break;
	case RB_M_PUBLISHDOMAINKEY: rc = store_key_set_flags(t, z.id, id, -1, 1); break;
	case RB_M_UNPUBLISHDOMAINKEY: rc = store_key_set_flags(t, z.id, id, -1, 0); break;
	default: return -EINVAL;
	}
	if (rc == -ENOENT)
		snprintf(w->err, sizeof w->err, "zone has no key with id %" PRIu32, id);
	else if (rc < 0)
		snprintf(w->err, sizeof w->err, "cannot change key %" PRIu32 " (%s)", id,
		         err_str(rc));
	return rc;
}

/* ---- NSEC3 parameters and chain ---- */

typedef struct n3params {
	unsigned iterations;
	uint8_t salt[255];
	uint8_t salt_len;
	int optout;
} n3params_t;

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses NSEC3PARAM metadata text "1 0 ITER SALT" (salt "-" = empty).
 * 0, or -EINVAL. */
static int n3params_parse(const char *s, size_t n, n3params_t *p)
{
	char buf[600];
	unsigned alg, flags, iter;
	char salt[520];
	if (n >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (sscanf(buf, "%u %u %u %519s", &alg, &flags, &iter, salt) != 4 || alg != 1 ||
	    flags > 255 || iter > 2500)
		return -EINVAL;
	memset(p, 0, sizeof *p);
	p->iterations = iter;
	p->optout = flags & 1;
	if (strcmp(salt, "-") == 0)
		return 0;
	size_t sl = strlen(salt);
	if (sl % 2 || sl / 2 > 255)
		return -EINVAL;
	for (size_t i = 0; i < sl; i += 2) {
		int h = hexval(salt[i]), l = hexval(salt[i + 1]);
		if (h < 0 || l < 0)
			return -EINVAL;
		p->salt[i / 2] = (uint8_t)(h << 4 | l);
	}
	p->salt_len = (uint8_t)(sl / 2);
	return 0;
}

/* 1 and *p when zone_id has NSEC3PARAM metadata, 0 when not (NSEC), < 0. */
static int n3params_get(store_txn_t *st, uint32_t zone_id, n3params_t *p)
{
	store_meta_iter_t it;
	const char *v;
	uint16_t len;
	int rc = store_meta_get(st, zone_id, "NSEC3PARAM", 10, &it);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if ((rc = store_meta_next(&it, &v, &len)) <= 0)
		return rc < 0 ? rc : 0;
	if (n3params_parse(v, len, p) < 0)
		return -EINVAL;
	return 1;
}

typedef struct n3ent {
	uint8_t hash[SHA1_LEN];
	uint32_t off; /* owner's canonical key (relative) in the pool */
	uint8_t len;
} n3ent_t;

struct rb_n3chain {
	uint32_t zone_id, serial;
	n3params_t params;
	dname_t apex;
	n3ent_t *e;
	size_t n, cap;
	uint8_t *pool;
	size_t pool_len, pool_cap;
	uint64_t used; /* for eviction: rb->ticks of the last use */
};

void rb_n3_free(rb_n3chain_t *c)
{
	if (!c)
		return;
	free(c->e);
	free(c->pool);
	free(c);
}

/* Adds name (at or below the apex) to the chain under construction: its
 * canonical key, after a length byte, goes to the pool; hashing comes later
 * (n3_hash), so that an unchanged name set costs no hashing at all. */
static int n3_add(rb_n3chain_t *c, const dname_t *name)
{
	uint8_t key[DNAME_MAX_CANON];
	int klen = dname_canon_key(name, &c->apex, key);
	if (klen < 0)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		n3ent_t *e = realloc(c->e, cap * sizeof *e);
		if (!e)
			return -ENOMEM;
		c->e = e;
		c->cap = cap;
	}
	if (c->pool_cap - c->pool_len < (size_t)klen + 1) {
		size_t cap = c->pool_cap ? c->pool_cap * 2 : 4096;
		while (cap - c->pool_len < (size_t)klen + 1)
			cap *= 2;
		uint8_t *p = realloc(c->pool, cap);
		if (!p)
			return -ENOMEM;
		c->pool = p;
		c->pool_cap = cap;
	}
	if (c->pool_len > UINT32_MAX - DNAME_MAX_CANON)
		return ERR_TOOBIG;
	n3ent_t *e = &c->e[c->n++];
	c->pool[c->pool_len++] = (uint8_t)klen;
	e->off = (uint32_t)c->pool_len;
	e->len = (uint8_t)klen;
	memcpy(c->pool + c->pool_len, key, (size_t)klen);
	c->pool_len += (size_t)klen;
	return 0;
}

struct n3_walk {
	rb_n3chain_t *c;
	store_txn_t *st;
	dname_t cut; /* the last delegation passed */
	int have_cut;
	dname_t last_anc; /* ancestors up to here were added already */
	int have_anc;
};

/* Adds name's ancestors strictly between it and the apex (the ENTs among
 * them belong to the chain too).  In canonical order the ancestors of
 * consecutive names repeat; the last added one stops the climb. */
static int n3_ancestors(struct n3_walk *w, const dname_t *name)
{
	dname_t a = *name;
	int rc;
	while (a.labels > w->c->apex.labels + 1) {
		dname_parent(&a);
		if (w->have_anc && dname_equal(&a, &w->last_anc))
			break;
		if ((rc = n3_add(w->c, &a)) < 0)
			return rc;
	}
	dname_t p = *name;
	if (p.labels > w->c->apex.labels + 1) {
		dname_parent(&p);
		w->last_anc = p;
		w->have_anc = 1;
	}
	return 0;
}

/*
 * The chain as pdns's rectify builds it for NSEC3: every owner that is not
 * occluded, except that with opt-out a delegation holding only NS stays
 * out; plus all ancestors of those (empty non-terminals); plus the apex.
 */
static int n3_walk_cb(const dname_t *owner, store_rr_iter_t *it, void *arg)
{
	struct n3_walk *w = arg;
	if (owner->labels == w->c->apex.labels)
		return 0; /* the apex is added once, up front */
	if (w->have_cut && dname_is_below(owner, &w->cut))
		return 0; /* occluded: glue and below */
	w->have_cut = 0;
	{
		/* A presigned zone stores its NSEC3 records (and their RRSIGs)
		 * at hashed owner names: those are the chain, not members of
		 * it.  Hashing them in would put entries in the chain that the
		 * stored signatures never covered. */
		store_rr_iter_t c = *it;
		store_rr_t rr;
		int rc, real = 0;
		while ((rc = store_rr_next(&c, &rr)) == 1)
			if (rr.type != RR_NSEC3 && rr.type != RR_RRSIG)
				real = 1;
		if (rc < 0)
			return rc;
		if (!real)
			return 0;
	}
	int ns = iter_has(it, 0, RR_NS);
	if (ns < 0)
		return ns;
	if (ns) {
		w->cut = *owner;
		w->have_cut = 1;
		if (w->c->params.optout) {
			/* kept only with some other type (a DS) */
			store_rr_iter_t c = *it;
			store_rr_t rr;
			int rc, other = 0;
			while ((rc = store_rr_next(&c, &rr)) == 1)
				if (rr.type != RR_NS)
					other = 1;
			if (rc < 0)
				return rc;
			if (!other)
				return 0;
		}
	}
	int rc = n3_add(w->c, owner);
	if (rc == 0)
		rc = n3_ancestors(w, owner);
	return rc;
}

static int ent_cmp(const void *a, const void *b)
{
	return memcmp(((const n3ent_t *)a)->hash, ((const n3ent_t *)b)->hash, SHA1_LEN);
}

/* Collects the members of zone z's chain (names only, in walk order) for
 * params p.  0 and *out, or < 0. */
static int n3_collect(store_txn_t *st, const store_zone_t *z, const n3params_t *p,
                      rb_n3chain_t **out)
{
	rb_n3chain_t *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->zone_id = z->id;
	c->serial = z->serial;
	c->params = *p;
	c->apex = z->name;
	struct n3_walk w = {.c = c, .st = st};
	int rc = n3_add(c, &z->name);
	if (rc == 0)
		rc = store_name_walk(st, z->id, n3_walk_cb, &w);
	if (rc < 0) {
		rb_n3_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* Hashes the collected members and sorts them by hash, one entry per hash
 * (an ENT can be reached twice). */
static int n3_hash(rb_n3chain_t *c)
{
	for (size_t i = 0; i < c->n; i++) {
		dname_t n;
		if (dname_from_canon_key(&n, &c->apex, c->pool + c->e[i].off, c->e[i].len) < 0)
			return ERR_CORRUPT;
		sha1_nsec3(&n, c->params.salt, c->params.salt_len, c->params.iterations,
		           c->e[i].hash);
	}
	qsort(c->e, c->n, sizeof *c->e, ent_cmp);
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++)
		if (k == 0 || memcmp(c->e[k - 1].hash, c->e[i].hash, SHA1_LEN) != 0)
			c->e[k++] = c->e[i];
	c->n = k;
	return 0;
}

/* The cached chain of z for params, rebuilt when the serial or the
 * parameters moved.  NULL and *rc on failure. */
static rb_n3chain_t *n3_get(rb_t *rb, store_txn_t *st, const store_zone_t *z, const n3params_t *p,
                            int *rc)
{
	unsigned slot = 0;
	uint64_t oldest = UINT64_MAX;
	*rc = 0;
	for (unsigned i = 0; i < RB_N3_CACHE; i++) {
		rb_n3chain_t *c = rb->n3[i];
		if (c && c->zone_id == z->id) {
			if (c->serial == z->serial && c->params.iterations == p->iterations &&
			    c->params.optout == p->optout && c->params.salt_len == p->salt_len &&
			    memcmp(c->params.salt, p->salt, p->salt_len) == 0) {
				c->used = rb->ticks;
				return c;
			}
			slot = i;
			oldest = 0; /* replace this zone's stale chain */
			break;
		}
		uint64_t u = c ? c->used : 0;
		if (u < oldest) {
			oldest = u;
			slot = i;
		}
	}
	rb_n3chain_t *c, *old = rb->n3[slot];
	uint64_t t0 = rb_now_ns();
	if ((*rc = n3_collect(st, z, p, &c)) < 0)
		return NULL;
	/* Most serial bumps are dyndns updates: new addresses, the same
	 * names.  The same members in the same walk order (same params) give
	 * the same chain: keep the hashed one and only take the new serial. */
	if (old && old->zone_id == z->id && old->pool_len == c->pool_len &&
	    old->params.iterations == p->iterations && old->params.optout == p->optout &&
	    old->params.salt_len == p->salt_len &&
	    memcmp(old->params.salt, p->salt, p->salt_len) == 0 &&
	    memcmp(old->pool, c->pool, c->pool_len) == 0) {
		rb_n3_free(c);
		old->serial = z->serial;
		old->used = rb->ticks;
		rb->st->n3_reuses++;
		rb->st->n3_build_ns += rb_now_ns() - t0;
		return old;
	}
	if ((*rc = n3_hash(c)) < 0) {
		rb_n3_free(c);
		return NULL;
	}
	rb->st->n3_builds++;
	rb->st->n3_build_ns += rb_now_ns() - t0;
	rb_n3_free(old);
	c->used = rb->ticks;
	rb->n3[slot] = c;
	return c;
}

/* Writes the absolute text of chain entry e as a JSON string. */
static void put_n3_owner(rb_buf_t *out, const rb_n3chain_t *c, const n3ent_t *e)
{
	dname_t n;
	char text[DNAME_MAX_TEXT];
	int len = -1;
	if (dname_from_canon_key(&n, &c->apex, c->pool + e->off, e->len) == 0)
		len = dname_to_text(&n, text, sizeof text);
	put_str(out, text, len < 0 ? 0 : (size_t)len);
}

static int nsec3_reply(rb_t *rb, store_txn_t *st, const store_zone_t *z, const n3params_t *p,
                       const char *q, size_t qn, rb_buf_t *out)
{
	uint8_t h[SHA1_LEN];
	if (qn && q[qn - 1] == '.')
		qn--;
	if (sha1_b32_parse(q, qn, h) < 0) {
		put_fail(out, "getBeforeAndAfterNamesAbsolute: zone is NSEC3, qname must be a "
		              "base32hex hash label");
		return 1;
	}
	int rc;
	rb_n3chain_t *c = n3_get(rb, st, z, p, &rc);
	if (!c) {
		put_fail(out, "getBeforeAndAfterNamesAbsolute: cannot build the NSEC3 chain (%s)",
		         err_str(rc));
		return 1;
	}
	/* lo = the number of hashes <= h */
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(c->e[mid].hash, h, SHA1_LEN) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	const n3ent_t *before = &c->e[lo ? lo - 1 : c->n - 1];
	const n3ent_t *after = &c->e[lo < c->n ? lo : 0];
	char b[SHA1_B32_LEN + 1], a[SHA1_B32_LEN + 1];
	sha1_b32(before->hash, b);
	sha1_b32(after->hash, a);
	PUTLIT(out, "{\"result\":{\"before\":");
	put_str(out, b, SHA1_B32_LEN);
	PUTLIT(out, ",\"after\":");
	put_str(out, a, SHA1_B32_LEN);
	PUTLIT(out, ",\"unhashed\":");
	put_n3_owner(out, c, before);
	PUTLIT(out, "}}\n");
	return 0;
}

/* Whether q is one base32hex hash label (with or without the dot). */
static int looks_hashed(const char *q, size_t qn)
{
	uint8_t h[SHA1_LEN];
	if (qn && q[qn - 1] == '.')
		qn--;
	return sha1_b32_parse(q, qn, h) == 0;
}

/* The text of name relative to apex, as pdns wants it back in NSEC mode:
 * no trailing dot, "" for the apex. */
static void put_relative(rb_buf_t *out, const dname_t *name, const dname_t *apex)
{
	dname_t rel;
	char text[DNAME_MAX_TEXT];
	int len = 0;
	if (dname_from_key(&rel, name->key + apex->len, (size_t)(name->len - apex->len)) == 0 &&
	    rel.len > 0)
		len = dname_to_text_nodot(&rel, text, sizeof text);
	put_str(out, text, len < 0 ? 0 : (size_t)len);
}

/*
 * getBeforeAndAfterNamesAbsolute {"id": zone id, "qname": Q}.  NSEC: Q is
 * relative to the zone ("www.", "." or "" for the apex) and so are before
 * and after.  NSEC3 (the zone has NSEC3PARAM metadata): Q is a hash label,
 * before/after are hash labels, unhashed the owner of before.
 */
int rb_m_beforeafter(rb_t *rb, json_t *params, rb_buf_t *out)
{
	const char *q;
	size_t qn;
	uint32_t id;
	if (get_u32(params, "id", &id) < 0 || get_str(params, "qname", &q, &qn) < 0) {
		put_fail(out, "getBeforeAndAfterNamesAbsolute: id (a number) and qname (a string) "
		              "are needed");
		return 1;
	}
	int rc;
	store_txn_t *st = txn_get(rb, &rc);
	if (!st) {
		put_fail(out, "getBeforeAndAfterNamesAbsolute: cannot read store (%s)",
		         err_str(rc));
		return 1;
	}
	store_zone_t z;
	if ((rc = store_zone_get_by_id(st, id, &z)) < 0) {
		put_fail(out, "getBeforeAndAfterNamesAbsolute: no zone with id %" PRIu32 " (%s)",
		         id, err_str(rc));
		return rc == -ENOENT ? 0 : 1;
	}
	n3params_t p;
	if ((rc = n3params_get(st, z.id, &p)) < 0) {
		put_fail(out, "getBeforeAndAfterNamesAbsolute: bad NSEC3PARAM metadata (%s)",
		         err_str(rc));
		return 1;
	}
	/* pdns caches a zone's NSEC3PARAM (zone-metadata-cache-ttl): for a
	 * while after set-nsec3 or unset-nsec3 it may ask in the other mode.
	 * A relative name is answered as NSEC whatever the metadata says. */
	if (rc == 1 && looks_hashed(q, qn))
		return nsec3_reply(rb, st, &z, &p, q, qn, out);

	/* NSEC: Q + apex */
	dname_t rel, name, before, after;
	if (qn == 0 || (qn == 1 && q[0] == '.'))
		rel.len = 0, rel.labels = 0;
	else if ((rc = dname_parse_pdns(&rel, q, qn)) < 0) {
		put_fail(out, "getBeforeAndAfterNamesAbsolute: cannot parse qname (%s)",
		         err_str(rc));
		return 1;
	}
	if ((size_t)z.name.len + rel.len > DNAME_MAX_KEY) {
		put_fail(out, "getBeforeAndAfterNamesAbsolute: qname too long in this zone");
		return 1;
	}
	name = z.name;
	memcpy(name.key + name.len, rel.key, rel.len);
	name.len = (uint8_t)(name.len + rel.len);
	name.labels = (uint8_t)(name.labels + rel.labels);
	if ((rc = store_nsec_neighbours(st, z.id, &name, &before, &after)) < 0) {
		put_fail(out, "getBeforeAndAfterNamesAbsolute: cannot read the zone (%s)",
		         err_str(rc));
		return 1;
	}
	PUTLIT(out, "{\"result\":{\"before\":");
	put_relative(out, &before, &z.name);
	PUTLIT(out, ",\"after\":");
	put_relative(out, &after, &z.name);
	PUTLIT(out, ",\"unhashed\":");
	put_str(out, q, qn);
	PUTLIT(out, "}}\n");
	return 0;
}
