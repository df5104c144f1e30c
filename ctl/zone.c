/*
 * zone - kyednsctl zone add / list / show / del.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "err.h"
#include "rdata.h"

/* SOA timers of new zones.  minimum is the negative-caching TTL (RFC 2308):
 * short, so a host added after someone asked for it resolves soon. */
#define ZONE_REFRESH 10800
#define ZONE_RETRY 3600
#define ZONE_EXPIRE 604800
#define ZONE_MINIMUM 60

static json_t *zone_json(const store_zone_t *z)
{
	json_t *o = json_object();
	json_object_set_new(o, "zone", json_string(ctl_name(&z->name)));
	json_object_set_new(o, "id", json_integer(z->id));
	json_object_set_new(o, "kind", json_string(ctl_kind_name(z->kind)));
	json_object_set_new(o, "serial", json_integer(z->serial));
	json_object_set_new(o, "notified_serial", json_integer(z->notified_serial));
	json_object_set_new(o, "mname", ctl_json_str(z->mname, z->mname_len));
	json_object_set_new(o, "rname", ctl_json_str(z->rname, z->rname_len));
	json_object_set_new(o, "refresh", json_integer(z->refresh));
	json_object_set_new(o, "retry", json_integer(z->retry));
	json_object_set_new(o, "expire", json_integer(z->expire));
	json_object_set_new(o, "minimum", json_integer(z->minimum));
	json_object_set_new(o, "ttl", json_integer(z->ttl));
	return o;
}

/* "user@example.com" -> "user.example.com." (dots in the local part are
 * escaped, RFC 1035 8); a name without '@' is taken as the rname itself. */
static int hostmaster_rname(const char *email, char *out, size_t size)
{
	char text[DNAME_MAX_TEXT * 2];
	const char *at = strrchr(email, '@');
	dname_t d;
	size_t n = 0;
	int rc;

	if (!at) {
		rc = dname_parse(&d, email, strlen(email));
	} else {
		if (at == email || at[1] == '\0' || strlen(email) > DNAME_MAX_TEXT)
			return ERR_BADNAME;
		for (const char *p = email; p < at; p++) {
			if (*p == '.' || *p == '\\')
				text[n++] = '\\';
			text[n++] = *p;
		}
		text[n++] = '.';
		n += (size_t)snprintf(text + n, sizeof text - n, "%s", at + 1);
		rc = dname_parse(&d, text, n);
	}
	if (rc < 0)
		return rc;
	if (d.labels < 2)
		return ERR_BADNAME;
	return dname_to_text(&d, out, size) < 0 ? ERR_BADNAME : 0;
}

struct zone_add {
	store_zone_t z;
	char ns[CTL_MAX_NS][DNAME_MAX_TEXT];
	size_t nslen[CTL_MAX_NS];
	int nns;
};

static int zone_add_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct zone_add *za = arg;
	store_zone_t z = za->z; /* store_zone_add writes id/serial back: redo-safe */
	int rc = store_zone_add(txn, &z);
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot add zone %s", ctl_name(&z.name));
	for (int i = 0; i < za->nns; i++) {
		rc = store_rr_add(txn, &z.name, RR_NS, z.ttl, za->ns[i], za->nslen[i]);
		if (rc < 0 && rc != -EEXIST) /* a repeated --ns is harmless */
			return ctl_txn_fail(c, rc, "cannot add NS %s to zone %s", za->ns[i],
					    ctl_name(&z.name));
	}
	return 0;
}

int cmd_zone_add(ctl_t *c, ctl_args_t *a)
{
	static struct zone_add za;
	char mname[DNAME_MAX_TEXT], rname[DNAME_MAX_TEXT];
	store_zone_t *z = &za.z;
	int rc;

	memset(&za, 0, sizeof za);
	if ((rc = ctl_parse_name(&z->name, a->pos[0])) < 0)
		return ctl_fail(rc, "bad zone name %s", ctl_q(a->pos[0]));
	if (z->name.labels == 0)
		return ctl_fail(ERR_BADNAME, "cannot add the root zone");
	if (a->nns == 0)
		return ctl_usage("zone add needs at least one --ns NAME");
	for (int i = 0; i < a->nns; i++) {
		rc = rdata_normalize(RR_NS, a->ns[i], strlen(a->ns[i]), za.ns[i], sizeof za.ns[i],
				     &za.nslen[i]);
		if (rc < 0)
			return ctl_fail(ERR_BADNAME, "bad --ns %s", ctl_q(a->ns[i]));
	}
	za.nns = a->nns;
	memcpy(mname, za.ns[0], za.nslen[0] + 1);

	if (a->hostmaster) {
		if (hostmaster_rname(a->hostmaster, rname, sizeof rname) < 0)
			return ctl_fail(ERR_BADNAME, "bad --hostmaster %s", ctl_q(a->hostmaster));
	} else {
		dname_t hm;
		if (dname_child(&hm, &z->name, "hostmaster", 10) < 0)
			return ctl_fail(ERR_TOOBIG, "zone name %s is too long", ctl_name(&z->name));
		snprintf(rname, sizeof rname, "%s", ctl_name(&hm));
	}

	z->kind = STORE_KIND_NATIVE;
	if (a->kind) {
		if (strcasecmp(a->kind, "native") == 0)
			z->kind = STORE_KIND_NATIVE;
		else if (strcasecmp(a->kind, "master") == 0 || strcasecmp(a->kind, "primary") == 0)
			z->kind = STORE_KIND_MASTER;
		else if (strcasecmp(a->kind, "slave") == 0 || strcasecmp(a->kind, "secondary") == 0)
			z->kind = STORE_KIND_SLAVE;
		else
			return ctl_usage("bad --kind %s, want native, master or slave", ctl_q(a->kind));
	}
	z->ttl = a->have_ttl ? a->ttl : CTL_DEFAULT_ZONE_TTL;
	z->refresh = ZONE_REFRESH;
	z->retry = ZONE_RETRY;
	z->expire = ZONE_EXPIRE;
	z->minimum = ZONE_MINIMUM;
	if (strlen(mname) > 255 || strlen(rname) > 255)
		return ctl_fail(ERR_TOOBIG, "SOA names of %s over 255 characters",
				ctl_q(a->pos[0]));
	z->mname = mname;
	z->mname_len = (uint8_t)strlen(mname);
	z->rname = rname;
	z->rname_len = (uint8_t)strlen(rname);

	if (ctl_open_write(c) || ctl_write(c, zone_add_txn, &za))
		return CTL_EXIT_FAIL;
	/* Report the zone as committed (the commit bumped the serial). */
	store_txn_t *txn;
	store_zone_t now;
	if (ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	if ((rc = store_zone_get(txn, &z->name, &now)) < 0) {
		store_txn_abort(txn);
		return ctl_fail(rc, "cannot read zone %s after adding it", ctl_name(&z->name));
	}
	if (c->json)
		ctl_json_print(zone_json(&now));
	else
		printf("added zone %s (id %u, serial %u)\n", ctl_name(&now.name), now.id,
		       now.serial);
	store_txn_abort(txn);
	return 0;
}

static int zone_list_cb(const store_zone_t *z, void *arg)
{
	ctl_t *c = ((void **)arg)[0];
	ctl_table_t *t = ((void **)arg)[1];
	json_t *arr = ((void **)arg)[2];
	if (c->json) {
		json_array_append_new(arr, zone_json(z));
	} else {
		char id[16], serial[16], notified[16], ttl[16];
		snprintf(id, sizeof id, "%u", z->id);
		snprintf(serial, sizeof serial, "%u", z->serial);
		snprintf(notified, sizeof notified, "%u", z->notified_serial);
		snprintf(ttl, sizeof ttl, "%u", z->ttl);
		ctl_table_row(t, ctl_name(&z->name), id, ctl_kind_name(z->kind), serial, notified,
			      ttl);
	}
	return 0;
}

int cmd_zone_list(ctl_t *c, ctl_args_t *a)
{
	store_txn_t *txn;
	ctl_table_t t;
	json_t *arr = json_array();
	void *args[3] = {c, &t, arr};
	int rc;
	(void)a;

	if (ctl_open_read(c) || ctl_read_begin(c, &txn)) {
		json_decref(arr);
		return CTL_EXIT_FAIL;
	}
	ctl_table_init(&t, 6, "ZONE", "ID", "KIND", "SERIAL", "NOTIFIED", "TTL");
	rc = store_zone_walk(txn, zone_list_cb, args);
	store_txn_abort(txn);
	if (rc < 0) {
		json_decref(arr);
		ctl_table_print(&t, NULL);
		return ctl_fail(rc, "cannot list zones");
	}
	if (c->json) {
		ctl_json_print(arr);
		ctl_table_print(&t, NULL);
	} else {
		json_decref(arr);
		ctl_table_print(&t, stdout);
	}
	return 0;
}

struct counts {
	store_txn_t *txn;
	uint32_t zone_id;
	uint64_t hosts, names;
};

static int count_host_cb(const dname_t *name, const store_host_t *h, void *arg)
{
	struct counts *cnt = arg;
	(void)h;
	if (ctl_host_in_zone(cnt->txn, name, cnt->zone_id))
		cnt->hosts++;
	return 0;
}

static int count_name_cb(const dname_t *owner, store_rr_iter_t *it, void *arg)
{
	(void)owner;
	(void)it;
	((struct counts *)arg)->names++;
	return 0;
}

int cmd_zone_show(ctl_t *c, ctl_args_t *a)
{
	store_txn_t *txn;
	store_zone_t z;
	dname_t name;
	store_rr_iter_t it;
	store_rr_t rr;
	struct counts cnt = {NULL, 0, 0, 0};
	json_t *ns = json_array();
	int rc;

	if (ctl_open_read(c) || ctl_read_begin(c, &txn))
		goto fail;
	if (ctl_zone_must(c, txn, a->pos[0], &name, &z))
		goto fail_txn;
	cnt.txn = txn;
	cnt.zone_id = z.id;
	rc = store_name_get(txn, &name, &it);
	if (rc == 0) {
		while ((rc = store_rr_next(&it, &rr)) == 1)
			if (rr.type == RR_NS)
				json_array_append_new(ns, ctl_json_str(rr.data, rr.len));
	}
	if (rc < 0 && rc != -ENOENT) {
		ctl_fail(rc, "cannot read zone %s", ctl_name(&name));
		goto fail_txn;
	}
	if ((rc = store_host_walk(txn, &name, count_host_cb, &cnt)) < 0 ||
	    (rc = store_name_walk(txn, &name, 1, count_name_cb, &cnt)) < 0) {
		ctl_fail(rc, "cannot read zone %s", ctl_name(&name));
		goto fail_txn;
	}

	if (c->json) {
		json_t *o = zone_json(&z);
		json_object_set_new(o, "ns", ns);
		json_object_set_new(o, "hosts", json_integer((json_int_t)cnt.hosts));
		json_object_set_new(o, "names", json_integer((json_int_t)cnt.names));
		ctl_json_print(o);
	} else {
		size_t i;
		json_t *v;
		ctl_kv("zone", "%s", ctl_name(&z.name));
		ctl_kv("id", "%u", z.id);
		ctl_kv("kind", "%s", ctl_kind_name(z.kind));
		ctl_kv("serial", "%u", z.serial);
		ctl_kv("notified serial", "%u", z.notified_serial);
		ctl_kv("soa", "%.*s %.*s %u %u %u %u %u", z.mname_len, z.mname, z.rname_len,
		       z.rname, z.serial, z.refresh, z.retry, z.expire, z.minimum);
		ctl_kv("ttl", "%u", z.ttl);
		json_array_foreach(ns, i, v)
			ctl_kv("ns", "%s", json_string_value(v));
		ctl_kv("hosts", "%llu", (unsigned long long)cnt.hosts);
		ctl_kv("names", "%llu", (unsigned long long)cnt.names);
		json_decref(ns);
	}
	store_txn_abort(txn);
	return 0;

fail_txn:
	store_txn_abort(txn);
fail:
	json_decref(ns);
	return CTL_EXIT_FAIL;
}

static int zone_del_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	const dname_t *name = arg;
	int rc = store_zone_del(txn, name);
	if (rc == -ENOENT)
		return ctl_txn_fail(c, rc, "zone %s does not exist", ctl_name(name));
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot delete zone %s", ctl_name(name));
	return 0;
}

int cmd_zone_del(ctl_t *c, ctl_args_t *a)
{
	dname_t name;
	int rc;

	if ((rc = ctl_parse_name(&name, a->pos[0])) < 0)
		return ctl_fail(rc, "bad zone name %s", ctl_q(a->pos[0]));
	if (ctl_open_write(c) || ctl_write(c, zone_del_txn, &name))
		return CTL_EXIT_FAIL;
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "zone", json_string(ctl_name(&name)));
		json_object_set_new(o, "deleted", json_true());
		ctl_json_print(o);
	} else {
		printf("deleted zone %s\n", ctl_name(&name));
	}
	return 0;
}
