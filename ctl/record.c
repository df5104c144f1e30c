/*
 * record - kyednsctl record add / del / list.
 *
 * Records belong to a zone (store.h, schema 2).  add and del take it from
 * --zone, else the closest enclosing zone of the owner, except a DS at a
 * zone apex, which goes to the parent zone: the DS of a cut is the
 * parent's data, like the delegation NS and glue, which need --zone PARENT
 * (the default for NS at a child apex is the child's own apex NS set).
 *
 * Content is validated and normalized by rdata_normalize() before it goes
 * near the store, so what `record list` prints is exactly what PowerDNS
 * gets: the backend form, names without their trailing dot.  Input may
 * give names with or without it, and CONTENT may come as several words
 * ("record add @ MX 10 mx.example.com").
 *
 * Owner names and --zone may be typed in UTF-8 (dname_from_user); the
 * store keeps A-labels.  Output for people shows an IDN owner as "A-labels
 * (U-labels)"; JSON has "name" and, for an IDN only, "name_unicode" (and
 * "zone", "zone_unicode").  Content stays as rdata_normalize writes it,
 * with A-labels.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "rdata.h"

struct record_op {
	dname_t name;
	uint16_t type;
	int have_zone;
	dname_t zone;           /* in: --zone; out: the zone written */
	int have_ttl;
	uint32_t ttl;           /* in: --ttl; out: the TTL written */
	char content[STORE_MAX_CONTENT + 1];
	size_t len;
	int have_content;
};

/* A name as a person typed it (UTF-8 allowed); prints nothing. */
static int parse_name(dname_t *out, const char *text)
{
	return dname_from_user(out, text, strlen(text));
}

/* The name for people (dname_to_display) in buf, DNAME_MAX_DISPLAY bytes. */
static const char *shown(const dname_t *n, char *buf)
{
	return dname_to_display(n, buf, DNAME_MAX_DISPLAY) < 0 ? ctl_name(n) : buf;
}

/* Sets o[key] to the U-label text of n when that differs from the A-label
 * text (an IDN), so the JSON of other names stays as it was. */
static void set_unicode(json_t *o, const char *key, const dname_t *n)
{
	char u[DNAME_MAX_TEXT];
	if (dname_to_unicode(n, u, sizeof u) > 0 && strcmp(u, ctl_name(n)) != 0)
		json_object_set_new(o, key, json_string(u));
}

/* Joins the words of CONTENT with single spaces into buf. */
static int join_words(ctl_args_t *a, int from, char *buf, size_t size, size_t *len)
{
	size_t n = 0;
	for (int i = from; i < a->npos; i++) {
		size_t w = strlen(a->pos[i]);
		if (n + w + 2 > size)
			return ERR_TOOBIG;
		if (i > from)
			buf[n++] = ' ';
		memcpy(buf + n, a->pos[i], w);
		n += w;
	}
	buf[n] = '\0';
	*len = n;
	return 0;
}

/* Parses NAME TYPE [CONTENT...] and --zone into op; prints the error. */
static int parse_op(struct record_op *op, ctl_args_t *a)
{
	static char raw[STORE_MAX_CONTENT + 1];
	size_t rawlen;
	int rc;
	if ((rc = parse_name(&op->name, a->pos[0])) < 0)
		return ctl_fail(rc, "bad name %s", ctl_q(a->pos[0]));
	rc = rrtype_parse(a->pos[1], strlen(a->pos[1]), &op->type);
	if (rc < 0 || !rrtype_storable(op->type))
		return ctl_fail(ERR_BADTYPE, "cannot use record type %s%s", ctl_q(a->pos[1]),
				rc == 0 && op->type == RR_SOA ? "; change the SOA with zone soa" :
								"");
	if (a->zone) {
		if ((rc = parse_name(&op->zone, a->zone)) < 0)
			return ctl_fail(rc, "bad --zone %s", ctl_q(a->zone));
		if (!dname_is_below(&op->name, &op->zone))
			return ctl_fail(ERR_NOZONE, "%s is not in zone %s", ctl_name(&op->name),
					ctl_name(&op->zone));
		op->have_zone = 1;
	}
	if (a->npos > 2) {
		if (join_words(a, 2, raw, sizeof raw, &rawlen) < 0)
			return ctl_fail(ERR_TOOBIG, "%s content too long", ctl_type(op->type));
		rc = rdata_normalize(op->type, raw, rawlen, op->content, sizeof op->content,
				     &op->len);
		if (rc < 0)
			return ctl_fail(rc, "bad %s content %s", ctl_type(op->type), ctl_q(raw));
		op->have_content = 1;
	}
	op->have_ttl = a->have_ttl;
	op->ttl = a->ttl;
	return 0;
}

/* The zone of op: --zone, else the closest enclosing zone, else (DS at
 * an apex) the parent zone.  Leaves the message on failure. */
static int op_zone(ctl_t *c, store_txn_t *txn, struct record_op *op, store_zone_t *z)
{
	int rc;
	if (op->have_zone) {
		rc = store_zone_get(txn, &op->zone, z);
		if (rc == -ENOENT)
			return ctl_txn_fail(c, rc, "zone %s does not exist", ctl_name(&op->zone));
		if (rc < 0)
			return ctl_txn_fail(c, rc, "cannot read zone %s", ctl_name(&op->zone));
		return 0;
	}
	rc = store_zone_find(txn, &op->name, z);
	if (rc < 0)
		return ctl_txn_fail(c, rc, "no zone for %s %s", ctl_name(&op->name),
				    ctl_type(op->type));
	if (op->type == RR_DS && dname_equal(&z->name, &op->name)) {
		dname_t parent = z->name;
		if (dname_parent(&parent) < 0 || store_zone_find(txn, &parent, z) < 0)
			return ctl_txn_fail(c, ERR_NOZONE,
					    "the DS of %s belongs in its parent zone, which is not "
					    "in this store",
					    ctl_name(&op->name));
	}
	op->zone = z->name;
	return 0;
}

/* The TTL of the RRset name/type in zone_id if it exists, else dflt. */
static uint32_t rrset_ttl(store_txn_t *txn, uint32_t zone_id, const dname_t *name,
			  uint16_t type, uint32_t dflt)
{
	store_rr_iter_t it;
	store_rr_t rr;
	if (store_name_get(txn, zone_id, name, &it) < 0)
		return dflt;
	while (store_rr_next(&it, &rr) == 1)
		if (rr.type == type)
			return rr.ttl;
	return dflt;
}

/* One line for a refusal of the store, naming the rule. */
static int refused(ctl_t *c, int rc, const char *verb, const struct record_op *op,
		   const store_zone_t *z)
{
	const char *name = ctl_name(&op->name), *type = ctl_type(op->type);
	const char *zone = ctl_name(&z->name);
	switch (rc) {
	case ERR_HOSTOWNED:
		return ctl_txn_fail(c, rc, "cannot %s %s %s: %s is a dynamic host; its addresses "
					   "change only through the updater",
				    verb, name, type, name);
	case ERR_ISZONE:
		return ctl_txn_fail(c, rc, "cannot %s %s %s in zone %s", verb, name, type, zone);
	case ERR_CLASH:
		return ctl_txn_fail(c, rc, "cannot %s %s %s in zone %s: a CNAME cannot share its "
					   "name with other data or another CNAME",
				    verb, name, type, zone);
	case ERR_NOZONE:
		return ctl_txn_fail(c, rc, "%s is not in zone %s", name, zone);
	case ERR_TOOBIG:
		return ctl_txn_fail(c, rc, "cannot %s %s %s: the records of %s in zone %s would "
					   "exceed %u bytes",
				    verb, name, type, name, zone, STORE_MAX_VALUE);
	default:
		return ctl_txn_fail(c, rc, "cannot %s %s %s %s in zone %s", verb, name, type,
				    op->have_content ? ctl_q(op->content) : "", zone);
	}
}

static int record_add_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct record_op *op = arg;
	store_zone_t z;
	uint32_t ttl;
	int rc = op_zone(c, txn, op, &z);
	if (rc < 0)
		return rc;
	/* Without --ttl an existing RRset keeps its TTL; a new one gets the
	 * zone's default. */
	ttl = op->have_ttl ? op->ttl : rrset_ttl(txn, z.id, &op->name, op->type, z.ttl);
	rc = store_rr_add(txn, z.id, &op->name, op->type, ttl, op->content, op->len);
	if (rc == -EEXIST)
		return ctl_txn_fail(c, rc, "%s %s %s in zone %s", ctl_name(&op->name),
				    ctl_type(op->type), ctl_q(op->content), ctl_name(&z.name));
	if (rc < 0)
		return refused(c, rc, "add", op, &z);
	op->ttl = ttl;
	return 0;
}

static void print_record(ctl_t *c, const char *verb, const struct record_op *op)
{
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(ctl_name(&op->name)));
		set_unicode(o, "name_unicode", &op->name);
		json_object_set_new(o, "type", json_string(ctl_type(op->type)));
		if (op->have_content)
			json_object_set_new(o, "content", ctl_json_str(op->content, op->len));
		json_object_set_new(o, "zone", json_string(ctl_name(&op->zone)));
		set_unicode(o, "zone_unicode", &op->zone);
		if (verb[0] == 'a')
			json_object_set_new(o, "ttl", json_integer(op->ttl));
		else
			json_object_set_new(o, "deleted", json_true());
		ctl_json_print(o);
	} else if (op->have_content) {
		char d[DNAME_MAX_DISPLAY];
		printf("%s %s %s %s (zone %s)\n", verb, shown(&op->name, d), ctl_type(op->type),
		       op->content, ctl_name(&op->zone));
	} else {
		char d[DNAME_MAX_DISPLAY];
		printf("%s %s %s (zone %s)\n", verb, shown(&op->name, d), ctl_type(op->type),
		       ctl_name(&op->zone));
	}
}

int cmd_record_add(ctl_t *c, ctl_args_t *a)
{
	static struct record_op op; /* content buffer is 64 KiB: not on the stack */

	memset(&op, 0, sizeof op);
	if (parse_op(&op, a) || ctl_open_write(c) || ctl_write(c, record_add_txn, &op))
		return CTL_EXIT_FAIL;
	print_record(c, "added", &op);
	return 0;
}

static int record_del_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct record_op *op = arg;
	store_zone_t z;
	int rc = op_zone(c, txn, op, &z);
	if (rc < 0)
		return rc;
	rc = store_rr_del(txn, z.id, &op->name, op->type, op->have_content ? op->content : NULL,
			  op->len);
	if (rc == -ENOENT)
		return ctl_txn_fail(c, rc, "no %s record %s%s%s in zone %s", ctl_type(op->type),
				    ctl_name(&op->name), op->have_content ? " " : "",
				    op->have_content ? ctl_q(op->content) : "", ctl_name(&z.name));
	if (rc < 0)
		return refused(c, rc, "delete", op, &z);
	return 0;
}

int cmd_record_del(ctl_t *c, ctl_args_t *a)
{
	static struct record_op op;

	memset(&op, 0, sizeof op);
	if (parse_op(&op, a) || ctl_open_write(c) || ctl_write(c, record_del_txn, &op))
		return CTL_EXIT_FAIL;
	print_record(c, "deleted", &op);
	return 0;
}

struct record_list {
	ctl_t *c;
	ctl_table_t t;
	uint64_t n;
};

static void list_one(struct record_list *rl, const dname_t *owner, uint16_t type, uint32_t ttl,
		     const char *content, size_t len)
{
	if (rl->c->json) {
		json_t *o = json_object();
		char *s;
		json_object_set_new(o, "name", json_string(ctl_name(owner)));
		set_unicode(o, "name_unicode", owner);
		json_object_set_new(o, "type", json_string(ctl_type(type)));
		json_object_set_new(o, "ttl", json_integer(ttl));
		json_object_set_new(o, "content", ctl_json_str(content, len));
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		printf("%s%s", rl->n ? "," : "", s ? s : "null");
		free(s);
	} else {
		char ttlb[16], d[DNAME_MAX_DISPLAY];
		char *cb = strndup(content, len);
		snprintf(ttlb, sizeof ttlb, "%u", ttl);
		ctl_table_row(&rl->t, shown(owner, d), ttlb, ctl_type(type), cb);
		free(cb);
	}
	rl->n++;
}

static int record_list_cb(const dname_t *owner, store_rr_iter_t *it, void *arg)
{
	struct record_list *rl = arg;
	store_rr_t rr;
	int rc;
	while ((rc = store_rr_next(it, &rr)) == 1)
		list_one(rl, owner, rr.type, rr.ttl, rr.data, rr.len);
	return rc < 0 ? rc : 0;
}

int cmd_record_list(ctl_t *c, ctl_args_t *a)
{
	struct record_list rl = {c, {0}, 0};
	store_txn_t *txn;
	store_zone_t z;
	dname_t zone;
	char soa[2 * DNAME_MAX_TEXT + 64];
	int rc;

	if (ctl_open_read(c) || ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	if (ctl_zone_must(c, txn, a->pos[0], &zone, &z)) {
		store_txn_abort(txn);
		return CTL_EXIT_FAIL;
	}
	if (c->json)
		printf("[");
	else
		ctl_table_init(&rl.t, 4, "NAME", "TTL", "TYPE", "CONTENT");
	/* The SOA is the zone row, listed first as pdns lists it; a slave
	 * zone never transferred has none. */
	if (!(z.flags & STORE_ZONE_NOSOA)) {
		snprintf(soa, sizeof soa, "%s %s %u %u %u %u %u", ctl_nodot(z.mname, z.mname_len),
			 ctl_nodot(z.rname, z.rname_len), z.serial, z.refresh, z.retry, z.expire,
			 z.minimum);
		list_one(&rl, &zone, RR_SOA, z.ttl, soa, strlen(soa));
	}
	rc = store_name_walk(txn, z.id, record_list_cb, &rl);
	store_txn_abort(txn);
	if (c->json)
		printf("]\n");
	else
		ctl_table_print(&rl.t, rc < 0 ? NULL : stdout);
	if (rc < 0)
		return ctl_fail(rc, "cannot list zone %s", ctl_name(&zone));
	return 0;
}
