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
#include <strings.h>
#include <time.h>

#include "ctl.h"
#include "err.h"
#include "rdata.h"

static void print_token(ctl_t *c, const dname_t *name, const char *token)
{
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "host", json_string(ctl_name(name)));
		ctl_json_unicode(o, "host_unicode", name);
		json_object_set_new(o, "token", json_string(token));
		ctl_json_print(o);
	} else {
		char d[DNAME_MAX_DISPLAY];
		printf("host  %s\ntoken %s\n", ctl_shown(name, d), token);
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
	if (ctl_parse_host(&ha.name, a->pos[0]))
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

/* What list and show print of one host: the host value, the addresses in
 * DNS and the options (all zero for a host that has none). */
struct host_view {
	store_host_t h;
	addr_t v4, v6;       /* in DNS: none while offline */
	store_hostopt_t opt; /* opt.saved4/6: the stored addresses while offline */
};

static int host_view(store_txn_t *txn, const dname_t *name, struct host_view *hv)
{
	int rc = store_host_addrs(txn, name, &hv->v4, &hv->v6);
	if (rc == 0)
		rc = store_hostopt_get(txn, name, &hv->opt);
	return rc;
}

/* The interface identifier as address text, "::1234:5678:9abc:def0";
 * static rotating buffer (ctl_addr). */
static const char *iid_text(const uint8_t iid[8])
{
	addr_t a = {.family = 6};
	memcpy(a.bytes + 8, iid, 8);
	return ctl_addr(&a);
}

/* "2001:db8:1::/56"; static rotating buffer of a few calls. */
static const char *prefix_text(const addr_t *p, unsigned plen)
{
	static char buf[4][ADDR_TEXT_MAX + 8];
	static int next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof buf[0], "%s/%u", ctl_addr(p), plen);
	return b;
}

static json_t *host_json(const dname_t *name, const struct host_view *hv)
{
	const store_host_t *h = &hv->h;
	const store_hostopt_t *o = &hv->opt;
	int offline = (o->flags & STORE_HOST_OFFLINE) != 0;
	json_t *j = json_object();
	ctl_json_host(j, name);
	json_object_set_new(j, "ttl", json_integer(h->ttl));
	json_object_set_new(j, "ipv4", ctl_json_addr(&hv->v4));
	json_object_set_new(j, "ipv6", ctl_json_addr(&hv->v6));
	json_object_set_new(j, "created", json_integer((json_int_t)h->created));
	json_object_set_new(j, "updated", json_integer((json_int_t)h->updated));
	json_object_set_new(j, "last_client", ctl_json_addr(&h->last_client));
	json_object_set_new(j, "agent", ctl_json_str(h->agent, h->agent_len));
	json_object_set_new(j, "offline", json_boolean(offline));
	/* The addresses the host has, served or not: what online restores. */
	json_object_set_new(j, "stored_ipv4", ctl_json_addr(offline ? &o->saved4 : &hv->v4));
	json_object_set_new(j, "stored_ipv6", ctl_json_addr(offline ? &o->saved6 : &hv->v6));
	json_object_set_new(j, "wildcard", json_boolean((o->flags & STORE_HOST_WILDCARD) != 0));
	json_object_set_new(j, "follow",
			    o->follow.len ? json_string(ctl_name(&o->follow)) : json_null());
	json_object_set_new(j, "iid", o->has_iid ? json_string(iid_text(o->iid)) : json_null());
	json_object_set_new(j, "prefix", o->prefix.family ?
						 json_string(prefix_text(&o->prefix, o->prefix_len)) :
						 json_null());
	return j;
}

/* The OPTIONS column of host list: "offline,wildcard,follow=R/IID"; "-". */
static const char *options_text(const store_hostopt_t *o, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	if (o->flags & STORE_HOST_OFFLINE)
		n += (size_t)snprintf(buf + n, size - n, "offline,");
	if ((o->flags & STORE_HOST_WILDCARD) && n < size)
		n += (size_t)snprintf(buf + n, size - n, "wildcard,");
	if (o->follow.len && n < size)
		n += (size_t)snprintf(buf + n, size - n, "follow=%s,", ctl_name(&o->follow));
	if (o->has_iid && n < size)
		n += (size_t)snprintf(buf + n, size - n, "iid=%s,", iid_text(o->iid));
	if (o->prefix.family && n < size)
		n += (size_t)snprintf(buf + n, size - n, "prefix=%s,",
				      prefix_text(&o->prefix, o->prefix_len));
	if (n == 0)
		return "-";
	if (n >= size)
		n = size - 1;
	buf[n - 1] = '\0'; /* the last comma */
	return buf;
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
	struct host_view hv;
	int rc;
	if (hl->zone_id && h->zone_id != hl->zone_id)
		return 0;
	hv.h = *h;
	if ((rc = host_view(hl->txn, name, &hv)) < 0)
		return rc;
	if (hl->c->json) {
		/* Streamed: a big zone must not be built as one JSON tree. */
		json_t *o = host_json(name, &hv);
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		printf("%s%s", hl->n ? "," : "", s ? s : "null");
		free(s);
	} else {
		char ttl[16], d[DNAME_MAX_DISPLAY], opts[DNAME_MAX_TEXT + 128];
		snprintf(ttl, sizeof ttl, "%u", h->ttl);
		ctl_table_row(&hl->t, ctl_shown(name, d), ttl, ctl_addr(&hv.v4), ctl_addr(&hv.v6),
			      ctl_time(h->updated), ctl_addr(&h->last_client),
			      options_text(&hv.opt, opts, sizeof opts));
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
		ctl_table_init(&hl.t, 7, "HOST", "TTL", "IPV4", "IPV6", "UPDATED", "LAST CLIENT",
			       "OPTIONS");
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

/* Collects the followers of a router for show. */
struct followers {
	json_t *list;
};

static int follower_cb(const dname_t *follower, void *arg)
{
	struct followers *f = arg;
	json_array_append_new(f->list, json_string(ctl_name(follower)));
	return 0;
}

static int count_token_cb(const store_token_t *tok, void *arg)
{
	(void)tok;
	(*(unsigned *)arg)++;
	return 0;
}

/* Prints host name of the open store (show, and host set after its
 * change).  0 or CTL_EXIT_FAIL. */
static int show_host(ctl_t *c, const dname_t *hostname)
{
	store_txn_t *txn;
	struct host_view hv;
	struct followers f;
	store_zone_t z;
	dname_t name = *hostname;
	unsigned ntokens = 0;
	int rc;

	if (ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	f.list = json_array();
	rc = store_host_get(txn, &name, &hv.h);
	if (rc == 0)
		rc = host_view(txn, &name, &hv);
	if (rc == 0 && (rc = store_zone_get_by_id(txn, hv.h.zone_id, &z)) == -ENOENT)
		rc = ERR_CORRUPT; /* a host outlives no zone */
	if (rc == 0)
		rc = store_follower_walk(txn, &name, follower_cb, &f);
	if (rc == 0)
		rc = store_token_walk(txn, &name, count_token_cb, &ntokens);
	if (rc < 0) {
		store_txn_abort(txn);
		json_decref(f.list);
		if (rc == -ENOENT)
			return ctl_fail(rc, "host %s does not exist", ctl_name(&name));
		return ctl_fail(rc, "cannot read host %s", ctl_name(&name));
	}
	if (c->json) {
		json_t *o = host_json(&name, &hv);
		json_object_set_new(o, "zone", json_string(ctl_name(&z.name)));
		ctl_json_unicode(o, "zone_unicode", &z.name);
		json_object_set_new(o, "zone_id", json_integer(z.id));
		json_object_set(o, "followers", f.list);
		json_object_set_new(o, "tokens", json_integer(ntokens));
		ctl_json_print(o);
	} else {
		const store_hostopt_t *o = &hv.opt;
		const store_host_t *h = &hv.h;
		int offline = (o->flags & STORE_HOST_OFFLINE) != 0;
		char agent[256], d[DNAME_MAX_DISPLAY];
		size_t n = h->agent_len;
		for (size_t i = 0; i < n; i++)
			agent[i] = (h->agent[i] >= 0x20 && h->agent[i] < 0x7f) ? h->agent[i] : '?';
		agent[n] = '\0';
		ctl_kv("host", "%s", ctl_shown(&name, d));
		ctl_kv("zone", "%s", ctl_shown(&z.name, d));
		ctl_kv("ttl", "%u", h->ttl);
		if (offline) {
			ctl_kv("ipv4", "%s (offline: not in DNS)", ctl_addr(&o->saved4));
			ctl_kv("ipv6", "%s (offline: not in DNS)", ctl_addr(&o->saved6));
		} else {
			ctl_kv("ipv4", "%s", ctl_addr(&hv.v4));
			ctl_kv("ipv6", "%s", ctl_addr(&hv.v6));
		}
		ctl_kv("created", "%s", ctl_time(h->created));
		ctl_kv("updated", "%s", ctl_time(h->updated));
		ctl_kv("last client", "%s", ctl_addr(&h->last_client));
		ctl_kv("agent", "%s", n ? agent : "-");
		ctl_kv("offline", "%s", offline ? "yes" : "no");
		ctl_kv("wildcard", "%s", (o->flags & STORE_HOST_WILDCARD) ? "yes" : "no");
		ctl_kv("follows", "%s", o->follow.len ? ctl_name(&o->follow) : "-");
		ctl_kv("iid", "%s", o->has_iid ? iid_text(o->iid) : "-");
		ctl_kv("prefix", "%s",
		       o->prefix.family ? prefix_text(&o->prefix, o->prefix_len) : "-");
		for (size_t i = 0; i < json_array_size(f.list); i++)
			ctl_kv(i ? "" : "followers", "%s",
			       json_string_value(json_array_get(f.list, i)));
		ctl_kv("tokens", "%u", ntokens);
	}
	json_decref(f.list);
	store_txn_abort(txn);
	return 0;
}

int cmd_host_show(ctl_t *c, ctl_args_t *a)
{
	dname_t name;
	if (ctl_parse_host(&name, a->pos[0]) || ctl_open_read(c))
		return CTL_EXIT_FAIL;
	return show_host(c, &name);
}

/* ---- set: offline, wildcard, router prefix ---- */

#define CTL_HIST_AGENT "kyednsctl"

struct host_set {
	dname_t name;
	int offline, wildcard;   /* 1 on, 0 off, -1 leave */
	int follow;              /* 1 follow router, 0 stop following, -1 leave */
	dname_t router;
	int have_iid;
	uint8_t iid[8];
	uint64_t now;
};

/*
 * An operator's change goes into the host's history like a client's, so
 * that "when did it go offline" has an answer.  keep is the store's
 * maximum: kyednsctl does not know the updater's --history setting, and
 * must never trim entries that setting would keep; the updater's next
 * entry trims to it.
 */
static int operator_history(store_txn_t *txn, const dname_t *name, uint8_t result,
			    const addr_t *old4, const addr_t *new4, const addr_t *old6,
			    const addr_t *new6, uint64_t now)
{
	static const addr_t none;
	store_hist_t e;
	memset(&e, 0, sizeof e);
	e.time = now;
	e.result = result;
	/* An absent address is all zero: store_host_addrs sets only its family. */
	e.old4 = old4 && old4->family ? *old4 : none;
	e.new4 = new4 && new4->family ? *new4 : none;
	e.old6 = old6 && old6->family ? *old6 : none;
	e.new6 = new6 && new6->family ? *new6 : none;
	e.agent = CTL_HIST_AGENT;
	e.agent_len = (uint8_t)strlen(CTL_HIST_AGENT);
	return store_history_add(txn, name, &e, STORE_HIST_MAX_KEEP);
}

/* store_host_addrs with absent addresses all zero, so that addr_equal and
 * the history see no stale bytes. */
static int host_addrs(store_txn_t *txn, const dname_t *name, addr_t *v4, addr_t *v6)
{
	memset(v4, 0, sizeof *v4);
	memset(v6, 0, sizeof *v6);
	return store_host_addrs(txn, name, v4, v6);
}

static int host_set_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct host_set *hs = arg;
	const dname_t *name = &hs->name;
	store_hostopt_t opt;
	addr_t v4, v6, n4, n6;
	int rc, changed;

	rc = store_host_get(txn, name, &(store_host_t){0});
	if (rc == 0)
		rc = store_hostopt_get(txn, name, &opt);
	if (rc == 0)
		rc = host_addrs(txn, name, &v4, &v6);
	if (rc == -ENOENT)
		return ctl_txn_fail(c, rc, "host %s does not exist", ctl_name(name));
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot read host %s", ctl_name(name));

	if (hs->offline >= 0) {
		rc = store_host_set_offline(txn, name, hs->offline, hs->now, &changed);
		if (rc < 0)
			return ctl_txn_fail(c, rc, "cannot take host %s %s", ctl_name(name),
					    hs->offline ? "offline" : "online");
		if (changed) {
			/* Old and new are what DNS serves, before and after. */
			if ((rc = host_addrs(txn, name, &n4, &n6)) < 0 ||
			    (rc = operator_history(txn, name,
						   hs->offline ? STORE_HIST_OFFLINE :
								 STORE_HIST_ONLINE,
						   &v4, &n4, &v6, &n6, hs->now)) < 0)
				return ctl_txn_fail(c, rc, "cannot record the history of host %s",
						    ctl_name(name));
			v4 = n4;
			v6 = n6;
		}
	}
	if (hs->wildcard >= 0) {
		rc = store_host_set_wildcard(txn, name, hs->wildcard, &changed);
		if (rc == ERR_CLASH)
			return ctl_txn_fail(c, rc,
					    "cannot give host %s a wildcard: *.%s holds a static "
					    "A, AAAA or CNAME record, or %s has NS records",
					    ctl_name(name), ctl_name(name), ctl_name(name));
		if (rc < 0)
			return ctl_txn_fail(c, rc, "cannot set the wildcard of host %s",
					    ctl_name(name));
		if (changed &&
		    (rc = operator_history(txn, name,
					   hs->wildcard ? STORE_HIST_WILDCARD_ON :
							  STORE_HIST_WILDCARD_OFF,
					   NULL, NULL, NULL, NULL, hs->now)) < 0)
			return ctl_txn_fail(c, rc, "cannot record the history of host %s",
					    ctl_name(name));
	}
	if (hs->follow >= 0 || hs->have_iid) {
		const uint8_t *iid = hs->have_iid ? hs->iid : opt.has_iid ? opt.iid : NULL;
		const dname_t *router = hs->follow == 1 ? &hs->router :
					hs->follow == 0 ? NULL :
					opt.follow.len ? &opt.follow : NULL;
		if (router && !iid)
			return ctl_txn_fail(c, -EINVAL,
					    "host %s needs an interface identifier (--iid) to "
					    "follow %s",
					    ctl_name(name), ctl_name(router));
		rc = store_host_set_follow(txn, name, router, iid);
		if (rc == ERR_NOROUTER || rc == -ENOENT)
			return ctl_txn_fail(c, ERR_NOROUTER, "host %s cannot follow %s",
					    ctl_name(name), ctl_name(router));
		if (rc == ERR_TOOBIG)
			return ctl_txn_fail(c, rc, "router %s has %d followers already",
					    ctl_name(router), STORE_MAX_FOLLOWERS);
		if (rc < 0)
			return ctl_txn_fail(c, rc, "cannot set the router of host %s",
					    ctl_name(name));
		/* Following a router that knows its prefix moves the AAAA now. */
		if ((rc = host_addrs(txn, name, &n4, &n6)) < 0)
			return ctl_txn_fail(c, rc, "cannot read host %s", ctl_name(name));
		if (!addr_equal(&n6, &v6) &&
		    (rc = operator_history(txn, name, STORE_HIST_PREFIX, NULL, NULL, &v6, &n6,
					   hs->now)) < 0)
			return ctl_txn_fail(c, rc, "cannot record the history of host %s",
					    ctl_name(name));
	}
	return 0;
}

/* The interface identifier: "::1234:5678:9abc:def0" or "1234:5678:9abc:def0",
 * the low 64 bits of an IPv6 address, not all zero.  0 or ERR_BADADDR. */
static int parse_iid(const char *text, uint8_t iid[8])
{
	static const uint8_t zero[8];
	char buf[ADDR_TEXT_MAX + 3];
	addr_t a;
	size_t len = strlen(text);
	int rc = addr_parse6(&a, text, len);
	if (rc < 0 && !strstr(text, "::") && len < ADDR_TEXT_MAX) {
		snprintf(buf, sizeof buf, "::%s", text);
		rc = addr_parse6(&a, buf, strlen(buf));
	}
	if (rc < 0 || memcmp(a.bytes, zero, 8) != 0 || memcmp(a.bytes + 8, zero, 8) == 0)
		return ERR_BADADDR;
	memcpy(iid, a.bytes + 8, 8);
	return 0;
}

/* on|off (yes/no, true/false too): 1, 0, or -1. */
static int on_off(const char *s)
{
	if (!strcasecmp(s, "on") || !strcasecmp(s, "yes") || !strcasecmp(s, "true"))
		return 1;
	if (!strcasecmp(s, "off") || !strcasecmp(s, "no") || !strcasecmp(s, "false"))
		return 0;
	return -1;
}

int cmd_host_set(ctl_t *c, ctl_args_t *a)
{
	struct host_set hs;

	memset(&hs, 0, sizeof hs);
	hs.offline = a->offline ? 1 : a->online ? 0 : -1;
	hs.wildcard = -1;
	hs.follow = a->follow ? 1 : a->no_follow ? 0 : -1;
	if (a->wildcard && (hs.wildcard = on_off(a->wildcard)) < 0)
		return ctl_usage("--wildcard takes on or off, not '%s'", ctl_q(a->wildcard));
	if (hs.offline < 0 && hs.wildcard < 0 && hs.follow < 0 && !a->iid)
		return ctl_usage("host set needs an option: --offline, --online, --wildcard, "
				 "--follow, --iid or --no-follow");
	if (ctl_parse_host(&hs.name, a->pos[0]))
		return CTL_EXIT_FAIL;
	if (a->follow) {
		int rc = dname_from_user_host(&hs.router, a->follow, strlen(a->follow));
		if (rc < 0)
			return ctl_fail(rc, "bad --follow host name %s", ctl_q(a->follow));
		if (dname_equal(&hs.router, &hs.name))
			return ctl_fail(-EINVAL, "host %s cannot follow itself",
					ctl_name(&hs.name));
	}
	if (a->iid) {
		if (parse_iid(a->iid, hs.iid) < 0)
			return ctl_fail(ERR_BADADDR,
					"bad --iid %s: want the low 64 bits of an IPv6 address, "
					"like ::1234:5678:9abc:def0",
					ctl_q(a->iid));
		hs.have_iid = 1;
	}
	hs.now = (uint64_t)time(NULL);
	if (ctl_open_write(c) || ctl_write(c, host_set_txn, &hs))
		return CTL_EXIT_FAIL;
	return show_host(c, &hs.name);
}

/* ---- history ---- */

struct host_history {
	ctl_t *c;
	json_t *list;    /* --json */
	ctl_table_t t;   /* else */
	uint32_t left;   /* entries still to show */
};

/* "192.0.2.1 -> 192.0.2.2", one address when unchanged, "-" when none. */
static const char *change_text(const addr_t *old, const addr_t *new, char *buf, size_t size)
{
	if (!old->family && !new->family)
		return "-";
	if (addr_equal(old, new))
		return ctl_addr(new);
	snprintf(buf, size, "%s -> %s", ctl_addr(old), ctl_addr(new));
	return buf;
}

static int history_cb(const store_hist_t *e, void *arg)
{
	struct host_history *hh = arg;
	if (hh->left == 0)
		return 1;
	hh->left--;
	if (hh->c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "time", ctl_json_time(e->time));
		json_object_set_new(o, "result", json_string(store_hist_result_str(e->result)));
		json_object_set_new(o, "old_ipv4", ctl_json_addr(&e->old4));
		json_object_set_new(o, "new_ipv4", ctl_json_addr(&e->new4));
		json_object_set_new(o, "old_ipv6", ctl_json_addr(&e->old6));
		json_object_set_new(o, "new_ipv6", ctl_json_addr(&e->new6));
		json_object_set_new(o, "client", ctl_json_addr(&e->client));
		json_object_set_new(o, "agent", ctl_json_str(e->agent, e->agent_len));
		json_object_set_new(o, "seq", json_integer((json_int_t)e->seq));
		json_array_append_new(hh->list, o);
	} else {
		char b4[2 * ADDR_TEXT_MAX + 8], b6[2 * ADDR_TEXT_MAX + 8], agent[256];
		size_t n = e->agent_len;
		for (size_t i = 0; i < n; i++)
			agent[i] = (e->agent[i] >= 0x20 && e->agent[i] < 0x7f) ? e->agent[i] : '?';
		agent[n] = '\0';
		ctl_table_row(&hh->t, ctl_time(e->time), store_hist_result_str(e->result),
			      change_text(&e->old4, &e->new4, b4, sizeof b4),
			      change_text(&e->old6, &e->new6, b6, sizeof b6),
			      ctl_addr(&e->client), n ? agent : "-");
	}
	return 0;
}

int cmd_host_history(ctl_t *c, ctl_args_t *a)
{
	struct host_history hh = {c, NULL, {0}, a->have_limit ? a->limit : UINT32_MAX};
	store_txn_t *txn;
	dname_t name;
	int rc;

	if (ctl_parse_host(&name, a->pos[0]) || ctl_open_read(c) || ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	if (ctl_host_must(c, txn, &name, NULL)) {
		store_txn_abort(txn);
		return CTL_EXIT_FAIL;
	}
	if (c->json)
		hh.list = json_array();
	else
		ctl_table_init(&hh.t, 6, "TIME", "RESULT", "IPV4", "IPV6", "CLIENT", "AGENT");
	rc = store_history_walk(txn, &name, 1, history_cb, &hh);
	store_txn_abort(txn);
	if (rc < 0) {
		json_decref(hh.list);
		if (!c->json)
			ctl_table_print(&hh.t, NULL);
		return ctl_fail(rc, "cannot read the history of host %s", ctl_name(&name));
	}
	if (c->json)
		ctl_json_print(hh.list);
	else
		ctl_table_print(&hh.t, stdout);
	return 0;
}

/* ---- acme ---- */

struct host_acme {
	ctl_t *c;
	const dname_t *name; /* _acme-challenge.H */
	uint64_t now;
	json_t *list;
	ctl_table_t t;
};

static int acme_cb(const dname_t *host, const store_acme_t *v, void *arg)
{
	struct host_acme *ha = arg;
	char value[STORE_ACME_VALUE_MAX + 1], left[32];
	(void)host;
	if (v->expires <= ha->now)
		return 0; /* dead: the next update or the updater's sweep removes it */
	for (size_t i = 0; i < v->len; i++)
		value[i] = (v->value[i] > 0x20 && v->value[i] < 0x7f) ? v->value[i] : '?';
	value[v->len] = '\0';
	if (ha->c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(ctl_name(ha->name)));
		json_object_set_new(o, "value", json_string(value));
		json_object_set_new(o, "expires", ctl_json_time(v->expires));
		json_object_set_new(o, "expires_in", json_integer((json_int_t)(v->expires - ha->now)));
		json_array_append_new(ha->list, o);
	} else {
		snprintf(left, sizeof left, "%llus", (unsigned long long)(v->expires - ha->now));
		ctl_table_row(&ha->t, ctl_name(ha->name), value, ctl_time(v->expires), left);
	}
	return 0;
}

int cmd_host_acme(ctl_t *c, ctl_args_t *a)
{
	struct host_acme ha = {c, NULL, (uint64_t)time(NULL), NULL, {0}};
	store_txn_t *txn;
	dname_t name, acme;
	int rc;

	if (ctl_parse_host(&name, a->pos[0]))
		return CTL_EXIT_FAIL;
	if ((rc = store_acme_name(&name, &acme)) < 0)
		return ctl_fail(rc, "host %s has no room for %s", ctl_name(&name), STORE_ACME_LABEL);
	ha.name = &acme;
	if (ctl_open_read(c) || ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	if (ctl_host_must(c, txn, &name, NULL)) {
		store_txn_abort(txn);
		return CTL_EXIT_FAIL;
	}
	if (c->json)
		ha.list = json_array();
	else
		ctl_table_init(&ha.t, 4, "NAME", "VALUE", "EXPIRES", "LEFT");
	rc = store_acme_walk(txn, &name, acme_cb, &ha);
	store_txn_abort(txn);
	if (rc < 0) {
		json_decref(ha.list);
		if (!c->json)
			ctl_table_print(&ha.t, NULL);
		return ctl_fail(rc, "cannot read the ACME values of host %s", ctl_name(&name));
	}
	if (c->json)
		ctl_json_print(ha.list);
	else
		ctl_table_print(&ha.t, stdout);
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

	if (ctl_parse_host(&name, a->pos[0]) || ctl_open_write(c) ||
	    ctl_write(c, host_del_txn, &name))
		return CTL_EXIT_FAIL;
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "host", json_string(ctl_name(&name)));
		ctl_json_unicode(o, "host_unicode", &name);
		json_object_set_new(o, "deleted", json_true());
		ctl_json_print(o);
	} else {
		char d[DNAME_MAX_DISPLAY];
		printf("deleted host %s\n", ctl_shown(&name, d));
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

	if (ctl_parse_host(&ht.name, a->pos[0]))
		return CTL_EXIT_FAIL;
	token_generate(token);
	token_hash(token, strlen(token), ht.hash);
	if (ctl_open_write(c) || ctl_write(c, host_token_txn, &ht))
		return CTL_EXIT_FAIL;
	print_token(c, &ht.name, token);
	return 0;
}
