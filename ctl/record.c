/*
 * record - kyednsctl record add / del / list.
 *
 * Content is validated and normalized by rdata_normalize() before it goes
 * near the store, so what `record list` prints is exactly what PowerDNS
 * serves.
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
	int have_ttl;
	uint32_t ttl;           /* in: --ttl; out: the TTL written */
	char content[STORE_MAX_CONTENT + 1];
	size_t len;
	int have_content;
};

static const char *type_text(uint16_t type)
{
	static char buf[16];
	const char *n = rrtype_name(type);
	if (n)
		return n;
	snprintf(buf, sizeof buf, "TYPE%u", type);
	return buf;
}

/* Parses NAME TYPE [CONTENT] into op; prints the error. */
static int parse_op(struct record_op *op, ctl_args_t *a)
{
	int rc;
	if ((rc = ctl_parse_name(&op->name, a->pos[0])) < 0)
		return ctl_fail(rc, "bad name %s", ctl_q(a->pos[0]));
	op->type = rrtype_from_str(a->pos[1]);
	if (!op->type)
		return ctl_fail(ERR_BADTYPE, "cannot use record type %s", ctl_q(a->pos[1]));
	if (a->npos > 2) {
		rc = rdata_normalize(op->type, a->pos[2], strlen(a->pos[2]), op->content,
				     sizeof op->content, &op->len);
		if (rc < 0)
			return ctl_fail(rc, "bad %s content %s", rrtype_name(op->type),
					ctl_q(a->pos[2]));
		op->have_content = 1;
	}
	op->have_ttl = a->have_ttl;
	op->ttl = a->ttl;
	return 0;
}

/* The TTL of the RRset name/type if it exists, else dflt. */
static uint32_t rrset_ttl(store_txn_t *txn, const dname_t *name, uint16_t type, uint32_t dflt)
{
	store_rr_iter_t it;
	store_rr_t rr;
	if (store_name_get(txn, name, &it) < 0)
		return dflt;
	while (store_rr_next(&it, &rr) == 1)
		if (rr.type == type)
			return rr.ttl;
	return dflt;
}

static int record_add_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct record_op *op = arg;
	store_zone_t z;
	int rc = store_zone_find(txn, &op->name, &z);
	uint32_t ttl;
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot add %s record at %s", rrtype_name(op->type),
				    ctl_name(&op->name));
	/* Without --ttl an existing RRset keeps its TTL; a new one gets the
	 * zone's default. */
	ttl = op->have_ttl ? op->ttl : rrset_ttl(txn, &op->name, op->type, z.ttl);
	rc = store_rr_add(txn, &op->name, op->type, ttl, op->content, op->len);
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot add %s %s %s", ctl_name(&op->name),
				    rrtype_name(op->type), ctl_q(op->content));
	op->ttl = ttl;
	return 0;
}

static void print_record(ctl_t *c, const char *verb, const struct record_op *op)
{
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(ctl_name(&op->name)));
		json_object_set_new(o, "type", json_string(type_text(op->type)));
		if (op->have_content)
			json_object_set_new(o, "content", ctl_json_str(op->content, op->len));
		if (verb[0] == 'a')
			json_object_set_new(o, "ttl", json_integer(op->ttl));
		else
			json_object_set_new(o, "deleted", json_true());
		ctl_json_print(o);
	} else if (op->have_content) {
		printf("%s %s %s %s\n", verb, ctl_name(&op->name), type_text(op->type),
		       op->content);
	} else {
		printf("%s %s %s\n", verb, ctl_name(&op->name), type_text(op->type));
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
	int rc = store_rr_del(txn, &op->name, op->type, op->have_content ? op->content : NULL,
			      op->len);
	if (rc == -ENOENT)
		return ctl_txn_fail(c, rc, "no %s record %s%s%s", rrtype_name(op->type),
				    ctl_name(&op->name), op->have_content ? " " : "",
				    op->have_content ? ctl_q(op->content) : "");
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot delete %s %s", ctl_name(&op->name),
				    rrtype_name(op->type));
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

static void list_one(struct record_list *rl, const char *name, uint16_t type, uint32_t ttl,
		     const char *content, size_t len)
{
	if (rl->c->json) {
		json_t *o = json_object();
		char *s;
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "type", json_string(type_text(type)));
		json_object_set_new(o, "ttl", json_integer(ttl));
		json_object_set_new(o, "content", ctl_json_str(content, len));
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		printf("%s%s", rl->n ? "," : "", s ? s : "null");
		free(s);
	} else {
		char ttlb[16];
		char *cb = strndup(content, len);
		snprintf(ttlb, sizeof ttlb, "%u", ttl);
		ctl_table_row(&rl->t, name, ttlb, type_text(type), cb);
		free(cb);
	}
	rl->n++;
}

static int record_list_cb(const dname_t *owner, store_rr_iter_t *it, void *arg)
{
	struct record_list *rl = arg;
	store_rr_t rr;
	char name[DNAME_MAX_TEXT];
	int rc;
	if (dname_to_text(owner, name, sizeof name) < 0)
		return ERR_CORRUPT;
	while ((rc = store_rr_next(it, &rr)) == 1)
		list_one(rl, name, rr.type, rr.ttl, rr.data, rr.len);
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
	/* The SOA is synthesized from the zone, as the backend does. */
	snprintf(soa, sizeof soa, "%.*s %.*s %u %u %u %u %u", z.mname_len, z.mname, z.rname_len,
		 z.rname, z.serial, z.refresh, z.retry, z.expire, z.minimum);
	list_one(&rl, ctl_name(&zone), RR_SOA, z.ttl, soa, strlen(soa));
	rc = store_name_walk(txn, &zone, 1, record_list_cb, &rl);
	store_txn_abort(txn);
	if (c->json)
		printf("]\n");
	else
		ctl_table_print(&rl.t, rc < 0 ? NULL : stdout);
	if (rc < 0)
		return ctl_fail(rc, "cannot list zone %s", ctl_name(&zone));
	return 0;
}
