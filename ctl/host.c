/*
 * host - kyednsctl host add / list / show / del / token.
 *
 * Tokens are printed once, by add and token, and never again: the store
 * keeps only their hash, and list/show print neither.
 *
 * Host names may be typed in UTF-8 (dname_from_user_host): the store keeps
 * the A-labels.  Output for people shows an IDN as "A-labels (U-labels)";
 * JSON has the A-label text in "host" and, for an IDN only, the
 * U-label text in "host_unicode".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "err.h"
#include "rdata.h"

static int parse_host(dname_t *name, const char *text)
{
	int rc = dname_from_user_host(name, text, strlen(text));
	if (rc < 0)
		return ctl_fail(rc, "bad host name %s", ctl_q(text));
	return 0;
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

static void print_token(ctl_t *c, const dname_t *name, const char *token)
{
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "host", json_string(ctl_name(name)));
		set_unicode(o, "host_unicode", name);
		json_object_set_new(o, "token", json_string(token));
		ctl_json_print(o);
	} else {
		char d[DNAME_MAX_DISPLAY];
		printf("host  %s\ntoken %s\n", shown(name, d), token);
	}
}

/* ---- add ---- */

struct host_add {
	dname_t name;
	store_host_t h;
	addr_t v4, v6;
};

/* Explains why the store refused host name (or would). */
static int host_refused(ctl_t *c, store_txn_t *txn, int rc, const dname_t *name)
{
	store_zone_t z;
	char why[600];
	int r;
	if (rc == ERR_ISZONE)
		return ctl_txn_fail(c, rc, "cannot add host %s: it is a zone apex", ctl_name(name));
	if (rc == ERR_CLASH && store_zone_find(txn, name, &z) == 0 &&
	    (r = ctl_host_refused(txn, &z, name, why, sizeof why)) == ERR_CLASH)
		return ctl_txn_fail(c, rc, "cannot add host %s: %s", ctl_name(name), why);
	if (rc == ERR_CLASH)
		return ctl_txn_fail(c, rc, "cannot add host %s: it clashes with a zone or its "
					   "static records", ctl_name(name));
	if (rc == -EEXIST)
		return ctl_txn_fail(c, rc, "host %s", ctl_name(name));
	return ctl_txn_fail(c, rc, "cannot add host %s", ctl_name(name));
}

static int host_add_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct host_add *ha = arg;
	store_zone_t z;
	store_host_t old;
	addr_t none = {0};
	int changed;
	char why[600];
	int rc = store_zone_find(txn, &ha->name, &z);
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot add host %s", ctl_name(&ha->name));
	if (dname_equal(&z.name, &ha->name))
		return host_refused(c, txn, ERR_ISZONE, &ha->name);
	rc = store_host_get(txn, &ha->name, &old);
	if (rc == 0)
		return host_refused(c, txn, -EEXIST, &ha->name);
	if (rc != -ENOENT)
		return ctl_txn_fail(c, rc, "cannot add host %s", ctl_name(&ha->name));
	/* The store refuses it too; checked here to say why. */
	if ((rc = ctl_host_refused(txn, &z, &ha->name, why, sizeof why)) == ERR_CLASH)
		return ctl_txn_fail(c, rc, "cannot add host %s: %s", ctl_name(&ha->name), why);
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot add host %s", ctl_name(&ha->name));
	if ((rc = store_host_put(txn, &ha->name, &ha->h)) < 0)
		return host_refused(c, txn, rc, &ha->name);
	/* The host's addresses are written only by store_host_update.  now 0
	 * and no client: an address given here is not an update. */
	if (!ha->v4.family && !ha->v6.family)
		return 0;
	rc = store_host_update(txn, &ha->name, &ha->v4, &ha->v6, &none, NULL, 0, 0, &changed);
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot set the addresses of host %s",
				    ctl_name(&ha->name));
	return 0;
}

int cmd_host_add(ctl_t *c, ctl_args_t *a)
{
	struct host_add ha;
	char generated[TOKEN_GEN_LEN + 1];
	const char *token = a->token;
	int rc;

	memset(&ha, 0, sizeof ha);
	if (parse_host(&ha.name, a->pos[0]))
		return CTL_EXIT_FAIL;
	if (token) {
		/* A person picked it: refuse what a guesser tries first. */
		if ((rc = token_check_strength(token, strlen(token))) < 0)
			return ctl_fail(rc, "bad --token for host %s", ctl_name(&ha.name));
	} else {
		token_generate(generated);
		token = generated;
	}
	if (a->ipv4 && addr_parse4(&ha.v4, a->ipv4, strlen(a->ipv4)) < 0)
		return ctl_fail(ERR_BADADDR, "bad --ipv4 %s", ctl_q(a->ipv4));
	if (a->ipv6 && addr_parse6(&ha.v6, a->ipv6, strlen(a->ipv6)) < 0)
		return ctl_fail(ERR_BADADDR, "bad --ipv6 %s", ctl_q(a->ipv6));
	token_hash(token, strlen(token), ha.h.token_hash);
	ha.h.created = (uint64_t)time(NULL);
	ha.h.ttl = a->have_ttl ? a->ttl : CTL_DEFAULT_HOST_TTL;

	if (ctl_open_write(c) || ctl_write(c, host_add_txn, &ha))
		return CTL_EXIT_FAIL;
	print_token(c, &ha.name, token);
	return 0;
}

/* ---- list / show ---- */

static json_t *host_json(const dname_t *name, const store_host_t *h, const addr_t *v4,
			 const addr_t *v6)
{
	json_t *o = json_object();
	json_object_set_new(o, "host", json_string(ctl_name(name)));
	set_unicode(o, "host_unicode", name);
	json_object_set_new(o, "ttl", json_integer(h->ttl));
	json_object_set_new(o, "ipv4", v4->family ? json_string(ctl_addr(v4)) : json_null());
	json_object_set_new(o, "ipv6", v6->family ? json_string(ctl_addr(v6)) : json_null());
	json_object_set_new(o, "created", json_integer((json_int_t)h->created));
	json_object_set_new(o, "updated", json_integer((json_int_t)h->updated));
	json_object_set_new(o, "last_client", h->last_client.family ?
							   json_string(ctl_addr(&h->last_client)) :
							   json_null());
	json_object_set_new(o, "agent", ctl_json_str(h->agent, h->agent_len));
	return o;
}

struct host_list {
	ctl_t *c;
	store_txn_t *txn;
	ctl_table_t t;
	uint64_t n;
	uint32_t zone_id; /* list only hosts of this zone; 0: all */
};

static int host_list_cb(const dname_t *name, const store_host_t *h, void *arg)
{
	struct host_list *hl = arg;
	addr_t v4, v6;
	int rc;
	if (hl->zone_id && h->zone_id != hl->zone_id)
		return 0;
	rc = store_host_addrs(hl->txn, name, &v4, &v6);
	if (rc < 0)
		return rc;
	if (hl->c->json) {
		/* Streamed: a big zone must not be built as one JSON tree. */
		json_t *o = host_json(name, h, &v4, &v6);
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		printf("%s%s", hl->n ? "," : "", s ? s : "null");
		free(s);
	} else {
		char ttl[16], d[DNAME_MAX_DISPLAY];
		snprintf(ttl, sizeof ttl, "%u", h->ttl);
		ctl_table_row(&hl->t, shown(name, d), ttl, ctl_addr(&v4), ctl_addr(&v6),
			      ctl_time(h->updated), ctl_addr(&h->last_client));
	}
	hl->n++;
	return 0;
}

int cmd_host_list(ctl_t *c, ctl_args_t *a)
{
	struct host_list hl = {c, NULL, {0}, 0, 0};
	store_zone_t z;
	dname_t zone;
	int rc;

	if (ctl_open_read(c) || ctl_read_begin(c, &hl.txn))
		return CTL_EXIT_FAIL;
	if (a->npos == 1) {
		if (ctl_zone_must(c, hl.txn, a->pos[0], &zone, &z)) {
			store_txn_abort(hl.txn);
			return CTL_EXIT_FAIL;
		}
		hl.zone_id = z.id;
	}
	if (c->json)
		printf("[");
	else
		ctl_table_init(&hl.t, 6, "HOST", "TTL", "IPV4", "IPV6", "UPDATED", "LAST CLIENT");
	rc = store_host_walk(hl.txn, a->npos == 1 ? &zone : NULL, host_list_cb, &hl);
	store_txn_abort(hl.txn);
	if (c->json)
		printf("]\n");
	else
		ctl_table_print(&hl.t, rc < 0 ? NULL : stdout);
	if (rc < 0)
		return ctl_fail(rc, "cannot list hosts");
	return 0;
}

int cmd_host_show(ctl_t *c, ctl_args_t *a)
{
	store_txn_t *txn;
	store_host_t h;
	store_zone_t z;
	dname_t name;
	addr_t v4, v6;
	int rc;

	if (parse_host(&name, a->pos[0]) || ctl_open_read(c) || ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	rc = store_host_get(txn, &name, &h);
	if (rc == 0)
		rc = store_host_addrs(txn, &name, &v4, &v6);
	if (rc == 0 && (rc = store_zone_get_by_id(txn, h.zone_id, &z)) == -ENOENT)
		rc = ERR_CORRUPT; /* a host outlives no zone */
	if (rc < 0) {
		store_txn_abort(txn);
		if (rc == -ENOENT)
			return ctl_fail(rc, "host %s does not exist", ctl_name(&name));
		return ctl_fail(rc, "cannot read host %s", ctl_name(&name));
	}
	if (c->json) {
		json_t *o = host_json(&name, &h, &v4, &v6);
		json_object_set_new(o, "zone", json_string(ctl_name(&z.name)));
		set_unicode(o, "zone_unicode", &z.name);
		json_object_set_new(o, "zone_id", json_integer(z.id));
		ctl_json_print(o);
	} else {
		char agent[256], d[DNAME_MAX_DISPLAY];
		size_t n = h.agent_len;
		for (size_t i = 0; i < n; i++)
			agent[i] = (h.agent[i] >= 0x20 && h.agent[i] < 0x7f) ? h.agent[i] : '?';
		agent[n] = '\0';
		ctl_kv("host", "%s", shown(&name, d));
		ctl_kv("zone", "%s", shown(&z.name, d));
		ctl_kv("ttl", "%u", h.ttl);
		ctl_kv("ipv4", "%s", ctl_addr(&v4));
		ctl_kv("ipv6", "%s", ctl_addr(&v6));
		ctl_kv("created", "%s", ctl_time(h.created));
		ctl_kv("updated", "%s", ctl_time(h.updated));
		ctl_kv("last client", "%s", ctl_addr(&h.last_client));
		ctl_kv("agent", "%s", n ? agent : "-");
	}
	store_txn_abort(txn);
	return 0;
}

/* ---- del / token ---- */

static int host_del_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	const dname_t *name = arg;
	int rc = store_host_del(txn, name);
	if (rc == -ENOENT)
		return ctl_txn_fail(c, rc, "host %s does not exist", ctl_name(name));
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot delete host %s", ctl_name(name));
	return 0;
}

int cmd_host_del(ctl_t *c, ctl_args_t *a)
{
	dname_t name;

	if (parse_host(&name, a->pos[0]) || ctl_open_write(c) ||
	    ctl_write(c, host_del_txn, &name))
		return CTL_EXIT_FAIL;
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "host", json_string(ctl_name(&name)));
		set_unicode(o, "host_unicode", &name);
		json_object_set_new(o, "deleted", json_true());
		ctl_json_print(o);
	} else {
		char d[DNAME_MAX_DISPLAY];
		printf("deleted host %s\n", shown(&name, d));
	}
	return 0;
}

struct host_token {
	dname_t name;
	uint8_t hash[TOKEN_HASH_LEN];
};

static int host_token_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct host_token *ht = arg;
	store_host_t h;
	char agent[256];
	int rc = store_host_get(txn, &ht->name, &h);
	if (rc == -ENOENT)
		return ctl_txn_fail(c, rc, "host %s does not exist", ctl_name(&ht->name));
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot read host %s", ctl_name(&ht->name));
	/* h.agent points into the map; the put may reuse that page. */
	memcpy(agent, h.agent, h.agent_len);
	h.agent = agent;
	memcpy(h.token_hash, ht->hash, TOKEN_HASH_LEN);
	if ((rc = store_host_put(txn, &ht->name, &h)) < 0)
		return ctl_txn_fail(c, rc, "cannot set token of host %s", ctl_name(&ht->name));
	return 0;
}

int cmd_host_token(ctl_t *c, ctl_args_t *a)
{
	struct host_token ht;
	char token[TOKEN_GEN_LEN + 1];

	if (parse_host(&ht.name, a->pos[0]))
		return CTL_EXIT_FAIL;
	token_generate(token);
	token_hash(token, strlen(token), ht.hash);
	if (ctl_open_write(c) || ctl_write(c, host_token_txn, &ht))
		return CTL_EXIT_FAIL;
	print_token(c, &ht.name, token);
	return 0;
}
