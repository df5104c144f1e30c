/*
 * zone - kyednsctl zone add / list / show / del / soa / ns / set / export /
 * import, and autoprimary add / list / del (pdns's remote backend cannot
 * create zones, change their SOA row, kind or primaries, or manage
 * autoprimaries: kyednsctl does).
 *
 * The SOA of a zone is its row in the store (store.h): `zone soa` rewrites
 * that row, and the store's serial policy applies at commit.  A child zone
 * added below a zone of this store gets its delegation (the NS set at the
 * cut) in the parent too, as schema migration does.
 *
 * Names may be typed in UTF-8 (dname_from_user): zone names, --ns,
 * --mname, --rname and the domain of --hostmaster are stored as A-labels.
 * Output for people shows an IDN zone as "A-labels (U-labels)"; JSON has
 * the A-label text in "zone" and, for an IDN only, the U-label text in
 * "zone_unicode".  Exported zone files carry A-labels only, as every zone
 * file does.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
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

/* A name as a person typed it (UTF-8 allowed); prints nothing. */
static int parse_name(dname_t *out, const char *text)
{
	return dname_from_user(out, text, strlen(text));
}

/* A name server name as typed, as text rdata_normalize takes: a name in
 * UTF-8 becomes its A-label text in buf (DNAME_MAX_TEXT bytes); any other
 * text is returned as it is, for rdata_normalize to judge. */
static const char *ns_text(const char *text, char *buf)
{
	dname_t d;
	for (const char *p = text; *p; p++) {
		if ((unsigned char)*p < 0x80)
			continue;
		if (parse_name(&d, text) == 0 && dname_to_text(&d, buf, DNAME_MAX_TEXT) > 0)
			return buf;
		break;
	}
	return text;
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

static json_t *masters_json(const store_zone_t *z)
{
	json_t *arr = json_array();
	const char *p = z->masters, *end = z->masters ? z->masters + z->masters_len : NULL;
	while (p && p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *e = sp ? sp : end;
		if (e > p)
			json_array_append_new(arr, ctl_json_str(p, (size_t)(e - p)));
		p = e + 1;
	}
	return arr;
}

static json_t *zone_json(const store_zone_t *z)
{
	json_t *o = json_object();
	json_object_set_new(o, "zone", json_string(ctl_name(&z->name)));
	set_unicode(o, "zone_unicode", &z->name);
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
	json_object_set_new(o, "masters", masters_json(z));
	json_object_set_new(o, "last_check", json_integer((json_int_t)z->last_check));
	json_object_set_new(o, "account", ctl_json_str(z->account, z->account_len));
	json_object_set_new(o, "transferred", json_boolean(!(z->flags & STORE_ZONE_NOSOA)));
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
		rc = parse_name(&d, email);
	} else {
		if (at == email || at[1] == '\0' || strlen(email) > DNAME_MAX_TEXT)
			return ERR_BADNAME;
		for (const char *p = email; p < at; p++) {
			/* The mailbox is one label of ASCII (RFC 1035 8); only
			 * the domain may be an IDN. */
			if ((unsigned char)*p >= 0x80)
				return ERR_BADNAME;
			if (*p == '.' || *p == '\\')
				text[n++] = '\\';
			text[n++] = *p;
		}
		text[n++] = '.';
		n += (size_t)snprintf(text + n, sizeof text - n, "%s", at + 1);
		rc = dname_from_user(&d, text, n);
	}
	if (rc < 0)
		return rc;
	if (d.labels < 2)
		return ERR_BADNAME;
	return dname_to_text(&d, out, size) < 0 ? ERR_BADNAME : 0;
}

/* --rname NAME or --hostmaster EMAIL into canonical absolute text. */
static int soa_rname(ctl_args_t *a, char *out, size_t size)
{
	if (a->hostmaster) {
		if (hostmaster_rname(a->hostmaster, out, size) < 0)
			return ctl_fail(ERR_BADNAME, "bad --hostmaster %s", ctl_q(a->hostmaster));
	} else if (a->rname) {
		dname_t d;
		if (parse_name(&d, a->rname) < 0 || d.labels == 0 ||
		    dname_to_text(&d, out, size) < 0)
			return ctl_fail(ERR_BADNAME, "bad --rname %s", ctl_q(a->rname));
	}
	return 0;
}

static int parse_kind(const char *kind, uint8_t *out)
{
	if (strcasecmp(kind, "native") == 0)
		*out = STORE_KIND_NATIVE;
	else if (strcasecmp(kind, "master") == 0 || strcasecmp(kind, "primary") == 0)
		*out = STORE_KIND_MASTER;
	else if (strcasecmp(kind, "slave") == 0 || strcasecmp(kind, "secondary") == 0)
		*out = STORE_KIND_SLAVE;
	else
		return ctl_usage("bad --kind %s, want native, master or slave", ctl_q(kind));
	return 0;
}

/*
 * --master IP[:PORT] words into the store's masters text: "ip" or
 * "ip:port" for IPv4, "ip" or "[ip]:port" for IPv6 (what pdns parses with
 * a default port of 53), space-separated, addresses canonical.
 */
static int parse_masters(ctl_args_t *a, char *out, size_t size, uint16_t *outlen)
{
	size_t n = 0;
	for (int i = 0; i < a->nmasters; i++) {
		const char *m = a->masters[i], *host = m, *port = NULL;
		size_t hlen = strlen(m);
		addr_t ad;
		char text[ADDR_TEXT_MAX], one[ADDR_TEXT_MAX + 16];
		unsigned long pn = 0;
		int rc;
		if (m[0] == '[') {
			const char *close = strchr(m, ']');
			if (!close || (close[1] && close[1] != ':'))
				return ctl_fail(ERR_BADADDR, "bad --master %s, want IP[:PORT]",
						ctl_q(m));
			host = m + 1;
			hlen = (size_t)(close - host);
			port = close[1] ? close + 2 : NULL;
		} else if (strchr(m, ':') == strrchr(m, ':') && strchr(m, ':')) {
			port = strchr(m, ':') + 1; /* one colon: IPv4:PORT */
			hlen = (size_t)(port - 1 - m);
		}
		rc = memchr(host, ':', hlen) ? addr_parse6(&ad, host, hlen) :
					       addr_parse4(&ad, host, hlen);
		if (rc < 0 || (m[0] == '[' && ad.family != 6))
			return ctl_fail(ERR_BADADDR, "bad --master %s, want IP[:PORT]", ctl_q(m));
		if (port) {
			char *end;
			if (!*port || *port < '0' || *port > '9')
				return ctl_fail(ERR_BADADDR, "bad port in --master %s", ctl_q(m));
			pn = strtoul(port, &end, 10);
			if (*end || pn == 0 || pn > 65535)
				return ctl_fail(ERR_BADADDR, "bad port in --master %s", ctl_q(m));
		}
		addr_format(&ad, text, sizeof text);
		if (!port)
			snprintf(one, sizeof one, "%s", text);
		else if (ad.family == 6)
			snprintf(one, sizeof one, "[%s]:%lu", text, pn);
		else
			snprintf(one, sizeof one, "%s:%lu", text, pn);
		if (n + strlen(one) + 2 > size)
			return ctl_fail(ERR_TOOBIG, "too many --master");
		n += (size_t)snprintf(out + n, size - n, "%s%s", n ? " " : "", one);
	}
	*outlen = (uint16_t)n;
	return 0;
}

struct zone_add {
	store_zone_t z;
	char ns[CTL_MAX_NS][DNAME_MAX_TEXT];
	size_t nslen[CTL_MAX_NS];
	int nns;
	dname_t parent;  /* out: the zone that got the delegation */
	int delegated;
};

struct below_host {
	store_txn_t *txn;
	const dname_t *apex;
	dname_t found;
	int have;
};

/* A host below the new apex whose zone lies above it: the new cut would
 * hide it (its addresses would stay in the parent, as glue). */
static int below_host_cb(const dname_t *name, const store_host_t *h, void *arg)
{
	struct below_host *b = arg;
	store_zone_t hz;
	if (store_zone_get_by_id(b->txn, h->zone_id, &hz) == 0 &&
	    !dname_is_below(&hz.name, b->apex)) {
		b->found = *name;
		b->have = 1;
		return 1;
	}
	return 0;
}

static int zone_add_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct zone_add *za = arg;
	store_zone_t z = za->z; /* store_zone_add writes id/serial back: redo-safe */
	store_zone_t pz;
	struct below_host b = {txn, &za->z.name, {0}, 0};
	store_host_t h;
	int rc;

	za->delegated = 0;
	if (store_host_get(txn, &z.name, &h) == 0)
		return ctl_txn_fail(c, ERR_CLASH, "cannot add zone %s: a dynamic host has that "
						  "name; delete the host first",
				    ctl_name(&z.name));
	if ((rc = store_host_walk(txn, &z.name, below_host_cb, &b)) < 0)
		return ctl_txn_fail(c, rc, "cannot add zone %s", ctl_name(&z.name));
	if (b.have)
		return ctl_txn_fail(c, ERR_CLASH,
				    "cannot add zone %s: dynamic host %s of a zone above it "
				    "would be cut off; delete or move it first",
				    ctl_name(&z.name), ctl_name(&b.found));
	rc = store_zone_add(txn, &z);
	if (rc == ERR_CLASH)
		return ctl_txn_fail(c, rc, "cannot add zone %s: a dynamic host has that name",
				    ctl_name(&z.name));
	if (rc < 0)
		return ctl_txn_fail(c, rc, "zone %s", ctl_name(&z.name));
	for (int i = 0; i < za->nns; i++) {
		rc = store_rr_add(txn, z.id, &z.name, RR_NS, z.ttl, za->ns[i], za->nslen[i]);
		if (rc < 0 && rc != -EEXIST) /* a repeated --ns is harmless */
			return ctl_txn_fail(c, rc, "cannot add NS %s to zone %s", za->ns[i],
					    ctl_name(&z.name));
	}
	/* The delegation in a parent zone of this store, unless it has one. */
	dname_t up = z.name;
	if (za->nns && dname_parent(&up) == 0 && store_zone_find(txn, &up, &pz) == 0) {
		store_rr_iter_t it;
		store_rr_t rr;
		int has_ns = 0;
		if (store_name_get(txn, pz.id, &z.name, &it) == 0)
			while (store_rr_next(&it, &rr) == 1)
				has_ns |= rr.type == RR_NS;
		if (!has_ns) {
			const char *contents[CTL_MAX_NS];
			uint16_t lens[CTL_MAX_NS];
			for (int i = 0; i < za->nns; i++) {
				contents[i] = za->ns[i];
				lens[i] = (uint16_t)za->nslen[i];
			}
			rc = store_rrset_set(txn, pz.id, &z.name, RR_NS, z.ttl, contents, lens,
					     (unsigned)za->nns, NULL);
			if (rc < 0)
				return ctl_txn_fail(c, rc,
						    "cannot add the delegation of %s to zone %s",
						    ctl_name(&z.name), ctl_name(&pz.name));
			za->parent = pz.name;
			za->delegated = 1;
		}
	}
	return 0;
}

int cmd_zone_add(ctl_t *c, ctl_args_t *a)
{
	static struct zone_add za;
	static char masters[STORE_MAX_MASTERS + 1];
	char mname[DNAME_MAX_TEXT] = "", rname[DNAME_MAX_TEXT] = "";
	store_zone_t *z = &za.z;
	int rc;

	memset(&za, 0, sizeof za);
	if ((rc = parse_name(&z->name, a->pos[0])) < 0)
		return ctl_fail(rc, "bad zone name %s", ctl_q(a->pos[0]));
	if (z->name.labels == 0)
		return ctl_fail(ERR_BADNAME, "cannot add the root zone");
	z->kind = STORE_KIND_NATIVE;
	if (a->kind && parse_kind(a->kind, &z->kind))
		return CTL_EXIT_USAGE;
	if (z->kind == STORE_KIND_SLAVE) {
		if (a->nmasters == 0)
			return ctl_usage("a slave zone needs at least one --master IP[:PORT]");
		if (a->nns || a->hostmaster || a->rname || a->have_ttl)
			return ctl_usage("a slave zone takes its NS and SOA from the primary: no "
					 "--ns, --hostmaster, --rname or --ttl");
		if (parse_masters(a, masters, sizeof masters, &z->masters_len))
			return CTL_EXIT_FAIL;
		z->masters = masters;
		z->flags = STORE_ZONE_NOSOA; /* no SOA until the first transfer */
	} else {
		if (a->nmasters)
			return ctl_usage("--master is for --kind slave");
		if (a->nns == 0)
			return ctl_usage("zone add needs at least one --ns NAME");
	}
	for (int i = 0; i < a->nns; i++) {
		char nsb[DNAME_MAX_TEXT];
		const char *ns = ns_text(a->ns[i], nsb);
		rc = rdata_normalize(RR_NS, ns, strlen(ns), za.ns[i], sizeof za.ns[i],
				     &za.nslen[i]);
		if (rc < 0)
			return ctl_fail(ERR_BADNAME, "bad --ns %s", ctl_q(a->ns[i]));
	}
	za.nns = a->nns;
	if (za.nns) { /* the SOA row keeps absolute text */
		dname_t d;
		if (dname_parse_pdns(&d, za.ns[0], za.nslen[0]) < 0 ||
		    dname_to_text(&d, mname, sizeof mname) < 0)
			return ctl_fail(ERR_BADNAME, "bad --ns %s", ctl_q(a->ns[0]));
	}
	if (a->hostmaster || a->rname) {
		if (soa_rname(a, rname, sizeof rname))
			return CTL_EXIT_FAIL;
	} else if (z->kind != STORE_KIND_SLAVE) {
		dname_t hm;
		if (dname_child(&hm, &z->name, "hostmaster", 10) < 0)
			return ctl_fail(ERR_TOOBIG, "zone name %s is too long", ctl_name(&z->name));
		snprintf(rname, sizeof rname, "%s", ctl_name(&hm));
	}
	if (a->account) {
		if (strlen(a->account) > 255)
			return ctl_fail(ERR_TOOBIG, "--account over 255 bytes");
		z->account = a->account;
		z->account_len = (uint8_t)strlen(a->account);
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

	if (ctl_open_create(c) || ctl_write(c, zone_add_txn, &za))
		return CTL_EXIT_FAIL;
	/* Report the zone as committed (the commit set the serial). */
	store_txn_t *txn;
	store_zone_t now;
	if (ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	if ((rc = store_zone_get(txn, &z->name, &now)) < 0) {
		store_txn_abort(txn);
		return ctl_fail(rc, "cannot read zone %s after adding it", ctl_name(&z->name));
	}
	if (c->json) {
		json_t *o = zone_json(&now);
		json_object_set_new(o, "delegated_from",
				    za.delegated ? json_string(ctl_name(&za.parent)) : json_null());
		char purge[DNAME_MAX_TEXT + 32];
		snprintf(purge, sizeof purge, "pdns_control purge '%s$'", ctl_name(&now.name));
		json_object_set_new(o, "serve_now", json_string(CTL_SERVE_NOW));
		json_object_set_new(o, "purge", json_string(purge));
		ctl_json_print(o);
	} else {
		char d[DNAME_MAX_DISPLAY];
		printf("added zone %s (id %u, %s, serial %u)\n", shown(&now.name, d), now.id,
		       ctl_kind_name(now.kind), now.serial);
		if (za.delegated)
			printf("added its delegation (NS) to zone %s\n", ctl_name(&za.parent));
		printf("pdns answers REFUSED for it until its zone cache is refreshed "
		       "(zone-cache-refresh-interval); to serve it now, run: %s\n"
		       "and if it was asked for already (REFUSED stays cached for cache-ttl), "
		       "run: pdns_control purge '%s$'\n",
		       CTL_SERVE_NOW, ctl_name(&now.name));
	}
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
		char id[16], serial[16], notified[16], ttl[16], d[DNAME_MAX_DISPLAY];
		snprintf(id, sizeof id, "%u", z->id);
		snprintf(serial, sizeof serial, "%u", z->serial);
		snprintf(notified, sizeof notified, "%u", z->notified_serial);
		snprintf(ttl, sizeof ttl, "%u", z->ttl);
		ctl_table_row(t, shown(&z->name, d), id, ctl_kind_name(z->kind), serial, notified,
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
	uint32_t zone_id;
	uint64_t hosts, names;
};

static int count_host_cb(const dname_t *name, const store_host_t *h, void *arg)
{
	struct counts *cnt = arg;
	(void)name;
	if (h->zone_id == cnt->zone_id)
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

/* The values of the apex NS RRset of zone z into arr (backend form). */
static int apex_ns(store_txn_t *txn, const store_zone_t *z, json_t *arr, uint32_t *ttl)
{
	store_rr_iter_t it;
	store_rr_t rr;
	int rc = store_name_get(txn, z->id, &z->name, &it);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	while ((rc = store_rr_next(&it, &rr)) == 1)
		if (rr.type == RR_NS) {
			json_array_append_new(arr, ctl_json_str(rr.data, rr.len));
			if (ttl)
				*ttl = rr.ttl;
		}
	return rc < 0 ? rc : 0;
}

int cmd_zone_show(ctl_t *c, ctl_args_t *a)
{
	store_txn_t *txn;
	store_zone_t z;
	dname_t name;
	struct counts cnt = {0, 0, 0};
	json_t *ns = json_array();
	int rc;

	if (ctl_open_read(c) || ctl_read_begin(c, &txn))
		goto fail;
	if (ctl_zone_must(c, txn, a->pos[0], &name, &z))
		goto fail_txn;
	cnt.zone_id = z.id;
	if ((rc = apex_ns(txn, &z, ns, NULL)) < 0 ||
	    (rc = store_host_walk(txn, &name, count_host_cb, &cnt)) < 0 ||
	    (rc = store_name_walk(txn, z.id, count_name_cb, &cnt)) < 0) {
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
		char d[DNAME_MAX_DISPLAY];
		ctl_kv("zone", "%s", shown(&z.name, d));
		ctl_kv("id", "%u", z.id);
		ctl_kv("kind", "%s", ctl_kind_name(z.kind));
		if (z.flags & STORE_ZONE_NOSOA) {
			ctl_kv("soa", "- (not transferred yet)");
		} else {
			ctl_kv("serial", "%u", z.serial);
			ctl_kv("soa", "%s %s %u %u %u %u %u", ctl_nodot(z.mname, z.mname_len),
			       ctl_nodot(z.rname, z.rname_len), z.serial, z.refresh, z.retry,
			       z.expire, z.minimum);
			ctl_kv("ttl", "%u", z.ttl);
		}
		ctl_kv("notified serial", "%u", z.notified_serial);
		json_array_foreach(ns, i, v)
			ctl_kv("ns", "%s", json_string_value(v));
		if (z.kind == STORE_KIND_SLAVE || z.masters_len)
			ctl_kv("masters", "%.*s", (int)z.masters_len, z.masters ? z.masters : "");
		if (z.kind == STORE_KIND_SLAVE)
			ctl_kv("last check", "%s", ctl_time(z.last_check));
		else if (z.kind == STORE_KIND_MASTER)
			ctl_kv("last notified", "%s", ctl_time(z.last_check));
		if (z.account_len) {
			json_t *acc = ctl_json_str(z.account, z.account_len);
			ctl_kv("account", "%s", json_string_value(acc));
			json_decref(acc);
		}
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

	if ((rc = parse_name(&name, a->pos[0])) < 0)
		return ctl_fail(rc, "bad zone name %s", ctl_q(a->pos[0]));
	if (ctl_open_write(c) || ctl_write(c, zone_del_txn, &name))
		return CTL_EXIT_FAIL;
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "zone", json_string(ctl_name(&name)));
		set_unicode(o, "zone_unicode", &name);
		json_object_set_new(o, "deleted", json_true());
		ctl_json_print(o);
	} else {
		char d[DNAME_MAX_DISPLAY];
		printf("deleted zone %s\n", shown(&name, d));
	}
	return 0;
}

/* ---- zone soa / ns / set: rewrite parts of a zone ---- */

/* A zone row with its strings copied out of the map, so it can be
 * changed and written back (store_zone_put). */
struct zone_edit {
	dname_t name;
	store_zone_t z;
	char mname[256], rname[256], account[256];
	char masters[STORE_MAX_MASTERS + 1];
	/* the change, filled by the command */
	ctl_args_t *a;
	char new_mname[DNAME_MAX_TEXT], new_rname[DNAME_MAX_TEXT];
	char new_masters[STORE_MAX_MASTERS + 1];
	uint16_t new_masters_len;
	uint8_t new_kind;
	char ns[CTL_MAX_POS][DNAME_MAX_TEXT];
	size_t nslen[CTL_MAX_POS];
	int nns;
	int parent_synced;  /* zone ns: the parent's delegation was replaced too */
	dname_t parent;
	int changed;
};

static int edit_load(ctl_t *c, store_txn_t *txn, struct zone_edit *e)
{
	int rc = store_zone_get(txn, &e->name, &e->z);
	if (rc == -ENOENT)
		return ctl_txn_fail(c, rc, "zone %s does not exist", ctl_name(&e->name));
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot read zone %s", ctl_name(&e->name));
	memcpy(e->mname, e->z.mname ? e->z.mname : "", e->z.mname_len);
	memcpy(e->rname, e->z.rname ? e->z.rname : "", e->z.rname_len);
	memcpy(e->account, e->z.account ? e->z.account : "", e->z.account_len);
	memcpy(e->masters, e->z.masters ? e->z.masters : "", e->z.masters_len);
	e->z.mname = e->mname;
	e->z.rname = e->rname;
	e->z.account = e->account;
	e->z.masters = e->masters;
	return 0;
}

/* RFC 1982: s1 is ahead of s2 by 1 to 2^31 - 1. */
static int serial_ahead(uint32_t s1, uint32_t s2)
{
	uint32_t d = s1 - s2;
	return d >= 1 && d <= 0x7fffffffu;
}

static int zone_soa_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct zone_edit *e = arg;
	ctl_args_t *a = e->a;
	store_zone_t old;
	uint32_t *timers[4];
	int rc = edit_load(c, txn, e);
	if (rc < 0)
		return rc;
	if (e->z.kind == STORE_KIND_SLAVE)
		return ctl_txn_fail(c, -EPERM, "zone %s is a slave zone: its SOA comes from its "
					       "primary", ctl_name(&e->name));
	old = e->z;
	if (a->have_serial) {
		if (a->serial != e->z.serial && !serial_ahead(a->serial, e->z.serial))
			return ctl_txn_fail(c, -EINVAL,
					    "--serial %u is not ahead of the current serial %u "
					    "of zone %s (RFC 1982); the store never moves a "
					    "serial back and would bump it instead",
					    a->serial, e->z.serial, ctl_name(&e->name));
		e->z.serial = a->serial;
	}
	if (e->new_mname[0]) {
		e->z.mname = e->new_mname;
		e->z.mname_len = (uint8_t)strlen(e->new_mname);
	}
	if (e->new_rname[0]) {
		e->z.rname = e->new_rname;
		e->z.rname_len = (uint8_t)strlen(e->new_rname);
	}
	timers[0] = &e->z.refresh;
	timers[1] = &e->z.retry;
	timers[2] = &e->z.expire;
	timers[3] = &e->z.minimum;
	for (int k = 0; k < 4; k++)
		if (a->have_timer[k])
			*timers[k] = a->timer[k];
	if (a->have_ttl)
		e->z.ttl = a->ttl;
	e->changed = e->z.serial != old.serial || e->z.refresh != old.refresh ||
		     e->z.retry != old.retry || e->z.expire != old.expire ||
		     e->z.minimum != old.minimum || e->z.ttl != old.ttl ||
		     e->z.mname_len != old.mname_len ||
		     memcmp(e->z.mname, old.mname, old.mname_len) != 0 ||
		     e->z.rname_len != old.rname_len ||
		     memcmp(e->z.rname, old.rname, old.rname_len) != 0;
	if (!e->changed)
		return 0;
	if ((rc = store_zone_put(txn, &e->z)) < 0)
		return ctl_txn_fail(c, rc, "cannot change the SOA of zone %s", ctl_name(&e->name));
	return 0;
}

/* Prints the zone's SOA as committed. */
static int print_soa(ctl_t *c, const dname_t *name, const char *verb)
{
	store_txn_t *txn;
	store_zone_t z;
	int rc;
	if (ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	if ((rc = store_zone_get(txn, name, &z)) < 0) {
		store_txn_abort(txn);
		return ctl_fail(rc, "cannot read zone %s", ctl_name(name));
	}
	if (c->json) {
		json_t *o = zone_json(&z);
		json_object_set_new(o, "changed", json_boolean(verb[0] == 'c'));
		ctl_json_print(o);
	} else {
		printf("%s %s SOA %s %s %u %u %u %u %u (ttl %u)\n", verb, ctl_name(&z.name),
		       ctl_nodot(z.mname, z.mname_len), ctl_nodot(z.rname, z.rname_len), z.serial,
		       z.refresh, z.retry, z.expire, z.minimum, z.ttl);
	}
	store_txn_abort(txn);
	return 0;
}

int cmd_zone_soa(ctl_t *c, ctl_args_t *a)
{
	static struct zone_edit e;
	int rc, any = a->have_serial || a->mname || a->hostmaster || a->rname || a->have_ttl;

	memset(&e, 0, sizeof e);
	e.a = a;
	for (int k = 0; k < 4; k++)
		any |= a->have_timer[k];
	if (!any)
		return ctl_usage("zone soa needs at least one of --serial --mname --hostmaster "
				 "--rname --refresh --retry --expire --minimum --ttl");
	if ((rc = parse_name(&e.name, a->pos[0])) < 0)
		return ctl_fail(rc, "bad zone name %s", ctl_q(a->pos[0]));
	if (a->mname) {
		dname_t d;
		if (parse_name(&d, a->mname) < 0 ||
		    dname_to_text(&d, e.new_mname, sizeof e.new_mname) < 0)
			return ctl_fail(ERR_BADNAME, "bad --mname %s", ctl_q(a->mname));
	}
	if (soa_rname(a, e.new_rname, sizeof e.new_rname))
		return CTL_EXIT_FAIL;
	if (strlen(e.new_mname) > 255 || strlen(e.new_rname) > 255)
		return ctl_fail(ERR_TOOBIG, "SOA names over 255 characters");
	if (ctl_open_write(c) || ctl_write(c, zone_soa_txn, &e))
		return CTL_EXIT_FAIL;
	return print_soa(c, &e.name, e.changed ? "changed" : "unchanged");
}

/* Replaces the NS RRset at name in zone zone_id; returns the store's
 * result. */
static int set_ns(store_txn_t *txn, uint32_t zone_id, const dname_t *name, uint32_t ttl,
		  struct zone_edit *e)
{
	const char *contents[CTL_MAX_POS];
	uint16_t lens[CTL_MAX_POS];
	for (int i = 0; i < e->nns; i++) {
		contents[i] = e->ns[i];
		lens[i] = (uint16_t)e->nslen[i];
	}
	return store_rrset_set(txn, zone_id, name, RR_NS, ttl, contents, lens, (unsigned)e->nns,
			       NULL);
}

/* The TTL of the NS RRset at name in zone_id: 1 and *ttl, 0 if none. */
static int ns_ttl(store_txn_t *txn, uint32_t zone_id, const dname_t *name, uint32_t *ttl)
{
	store_rr_iter_t it;
	store_rr_t rr;
	if (store_name_get(txn, zone_id, name, &it) < 0)
		return 0;
	while (store_rr_next(&it, &rr) == 1)
		if (rr.type == RR_NS) {
			*ttl = rr.ttl;
			return 1;
		}
	return 0;
}

static int zone_ns_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct zone_edit *e = arg;
	store_zone_t pz;
	dname_t up = e->name;
	uint32_t ttl;
	int rc = edit_load(c, txn, e);
	if (rc < 0)
		return rc;
	e->parent_synced = 0;
	if (e->z.kind == STORE_KIND_SLAVE)
		return ctl_txn_fail(c, -EPERM, "zone %s is a slave zone: its NS set comes from its "
					       "primary", ctl_name(&e->name));
	if (!ns_ttl(txn, e->z.id, &e->name, &ttl))
		ttl = e->z.ttl;
	if (e->a->have_ttl)
		ttl = e->a->ttl;
	if ((rc = set_ns(txn, e->z.id, &e->name, ttl, e)) < 0)
		return ctl_txn_fail(c, rc, "cannot set the NS of zone %s", ctl_name(&e->name));
	/* Keep the delegation in a parent zone of this store in step. */
	if (dname_parent(&up) == 0 && store_zone_find(txn, &up, &pz) == 0 &&
	    ns_ttl(txn, pz.id, &e->name, &ttl)) {
		if (e->a->have_ttl)
			ttl = e->a->ttl;
		if ((rc = set_ns(txn, pz.id, &e->name, ttl, e)) < 0)
			return ctl_txn_fail(c, rc, "cannot set the delegation of %s in zone %s",
					    ctl_name(&e->name), ctl_name(&pz.name));
		e->parent = pz.name;
		e->parent_synced = 1;
	}
	return 0;
}

int cmd_zone_ns(ctl_t *c, ctl_args_t *a)
{
	static struct zone_edit e;
	int rc;

	memset(&e, 0, sizeof e);
	e.a = a;
	if ((rc = parse_name(&e.name, a->pos[0])) < 0)
		return ctl_fail(rc, "bad zone name %s", ctl_q(a->pos[0]));
	for (int i = 1; i < a->npos; i++) {
		char nsb[DNAME_MAX_TEXT];
		const char *ns = ns_text(a->pos[i], nsb);
		rc = rdata_normalize(RR_NS, ns, strlen(ns), e.ns[e.nns], sizeof e.ns[0],
				     &e.nslen[e.nns]);
		if (rc < 0)
			return ctl_fail(ERR_BADNAME, "bad name server %s", ctl_q(a->pos[i]));
		e.nns++;
	}
	if (ctl_open_write(c) || ctl_write(c, zone_ns_txn, &e))
		return CTL_EXIT_FAIL;
	if (c->json) {
		json_t *o = json_object(), *ns = json_array();
		for (int i = 0; i < e.nns; i++)
			json_array_append_new(ns, ctl_json_str(e.ns[i], e.nslen[i]));
		json_object_set_new(o, "zone", json_string(ctl_name(&e.name)));
		json_object_set_new(o, "ns", ns);
		json_object_set_new(o, "delegation_in",
				    e.parent_synced ? json_string(ctl_name(&e.parent)) :
						      json_null());
		ctl_json_print(o);
	} else {
		printf("zone %s NS:", ctl_name(&e.name));
		for (int i = 0; i < e.nns; i++)
			printf(" %s", e.ns[i]);
		printf("\n");
		if (e.parent_synced)
			printf("replaced its delegation (NS) in zone %s too\n",
			       ctl_name(&e.parent));
	}
	return 0;
}

static int zone_set_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct zone_edit *e = arg;
	int rc = edit_load(c, txn, e);
	if (rc < 0)
		return rc;
	if (e->a->kind)
		e->z.kind = e->new_kind;
	if (e->a->nmasters) {
		e->z.masters = e->new_masters;
		e->z.masters_len = e->new_masters_len;
	}
	if (e->z.kind == STORE_KIND_SLAVE && e->z.masters_len == 0)
		return ctl_txn_fail(c, -EINVAL, "a slave zone needs --master IP[:PORT]");
	if (e->z.kind != STORE_KIND_SLAVE && (e->z.flags & STORE_ZONE_NOSOA))
		return ctl_txn_fail(c, -EINVAL, "zone %s was never transferred and has no SOA: "
						"delete it and add it with --ns instead",
				    ctl_name(&e->name));
	if (e->a->account) {
		e->z.account = e->a->account;
		e->z.account_len = (uint8_t)strlen(e->a->account);
	}
	if ((rc = store_zone_put(txn, &e->z)) < 0)
		return ctl_txn_fail(c, rc, "cannot change zone %s", ctl_name(&e->name));
	return 0;
}

int cmd_zone_set(ctl_t *c, ctl_args_t *a)
{
	static struct zone_edit e;
	int rc;

	memset(&e, 0, sizeof e);
	e.a = a;
	if (!a->kind && !a->nmasters && !a->account)
		return ctl_usage("zone set needs --kind, --master or --account");
	if ((rc = parse_name(&e.name, a->pos[0])) < 0)
		return ctl_fail(rc, "bad zone name %s", ctl_q(a->pos[0]));
	if (a->kind && parse_kind(a->kind, &e.new_kind))
		return CTL_EXIT_USAGE;
	if (a->nmasters && parse_masters(a, e.new_masters, sizeof e.new_masters,
					 &e.new_masters_len))
		return CTL_EXIT_FAIL;
	if (a->account && strlen(a->account) > 255)
		return ctl_fail(ERR_TOOBIG, "--account over 255 bytes");
	if (ctl_open_write(c) || ctl_write(c, zone_set_txn, &e))
		return CTL_EXIT_FAIL;
	store_txn_t *txn;
	store_zone_t z;
	if (ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	if ((rc = store_zone_get(txn, &e.name, &z)) < 0) {
		store_txn_abort(txn);
		return ctl_fail(rc, "cannot read zone %s", ctl_name(&e.name));
	}
	if (c->json)
		ctl_json_print(zone_json(&z));
	else
		printf("zone %s: kind %s, masters %.*s, account %.*s\n", ctl_name(&z.name),
		       ctl_kind_name(z.kind), z.masters_len ? (int)z.masters_len : 1,
		       z.masters_len ? z.masters : "-", z.account_len ? (int)z.account_len : 1,
		       z.account_len ? z.account : "-");
	store_txn_abort(txn);
	return 0;
}

/* ---- zone export / import ---- */

/*
 * Which space-separated fields of a type's backend content are domain
 * names (bit i = field i), so export can give them back their trailing
 * dot, as a zone file needs.  Types not listed hold no names.
 */
static uint32_t name_fields(uint16_t type, const char *content, size_t len)
{
	if (len >= 2 && content[0] == '\\' && content[1] == '#')
		return 0; /* RFC 3597 form: no names to see */
	switch (type) {
	case RR_NS: case RR_CNAME: case RR_PTR: case RR_DNAME:
	case 7: case 8: case 9:      /* MB MG MR */
	case RR_NSEC:
		return 1u << 0;
	case 14: case 17:            /* MINFO RP */
		return 1u << 0 | 1u << 1;
	case RR_MX: case 18: case 36: case 107: /* AFSDB KX LP */
	case RR_SVCB: case RR_HTTPS:
		return 1u << 1;
	case RR_SRV:
		return 1u << 3;
	case 35:                     /* NAPTR: the replacement, last */
		return 1u << 5;
	case RR_RRSIG:
		return 1u << 7;
	case 45:                     /* IPSECKEY: the gateway, when of type 3 */
		return len > 2 && memchr(content, ' ', len) &&
				       strncmp(strchr(content, ' ') + 1, "3 ", 2) == 0 ?
			       1u << 3 : 0;
	default:
		return 0;
	}
}

/* Writes content with a dot after each name field (but the root "."), and
 * the characters a zone file treats specially in names escaped. */
static void put_zone_content(FILE *f, uint16_t type, const char *p, size_t len)
{
	uint32_t names = name_fields(type, p, len);
	int field = 0, in_quote = 0;
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		/* one field: up to an unquoted space */
		while (i < len && (in_quote || p[i] != ' ')) {
			if (p[i] == '\\' && i + 1 < len)
				i++;
			else if (p[i] == '"')
				in_quote = !in_quote;
			i++;
		}
		if (field < 32 && (names & (1u << field))) {
			for (size_t k = start; k < i; k++) {
				if (p[k] == '\\' && k + 1 < i) {
					fputc(p[k++], f);
					fputc(p[k], f);
				} else if (strchr("@$();\"", p[k])) {
					fprintf(f, "\\%c", p[k]);
				} else {
					fputc(p[k], f);
				}
			}
			if (!(i - start == 1 && p[start] == '.'))
				fputc('.', f);
		} else {
			fwrite(p + start, 1, i - start, f);
		}
		while (i < len && p[i] == ' ')
			fputc(p[i++], f);
		field++;
	}
}

static int export_cb(const dname_t *owner, store_rr_iter_t *it, void *arg)
{
	char name[DNAME_MAX_TEXT];
	store_rr_t rr;
	int rc;
	(void)arg;
	if (dname_to_text(owner, name, sizeof name) < 0)
		return ERR_CORRUPT;
	while ((rc = store_rr_next(it, &rr)) == 1) {
		printf("%s\t%u\tIN\t%s\t", name, rr.ttl, ctl_type(rr.type));
		put_zone_content(stdout, rr.type, rr.data, rr.len);
		putchar('\n');
	}
	return rc < 0 ? rc : 0;
}

int cmd_zone_export(ctl_t *c, ctl_args_t *a)
{
	store_txn_t *txn;
	store_zone_t z;
	dname_t zone;
	int rc;

	if (c->json)
		return ctl_usage("zone export prints a zone file; --json does not apply");
	if (ctl_open_read(c) || ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	if (ctl_zone_must(c, txn, a->pos[0], &zone, &z)) {
		store_txn_abort(txn);
		return CTL_EXIT_FAIL;
	}
	if (z.flags & STORE_ZONE_NOSOA) {
		store_txn_abort(txn);
		return ctl_fail(-ENOENT, "zone %s has no SOA yet: it was never transferred",
				ctl_name(&zone));
	}
	/* As pdns's own export (API /export): NAME TTL IN TYPE CONTENT, tab
	 * separated, absolute names, the SOA first. */
	printf("%s\t%u\tIN\tSOA\t%.*s %.*s %u %u %u %u %u\n", ctl_name(&zone), z.ttl,
	       (int)z.mname_len, z.mname, (int)z.rname_len, z.rname, z.serial, z.refresh, z.retry,
	       z.expire, z.minimum);
	rc = store_name_walk(txn, z.id, export_cb, NULL);
	store_txn_abort(txn);
	if (rc < 0)
		return ctl_fail(rc, "cannot export zone %s", ctl_name(&zone));
	return 0;
}

/*
 * zone import is pdns's own zone file parser: pdnsutil load-zone replaces
 * the zone's contents through kyedns-backend in one transaction (the
 * hosts' A/AAAA are kept by the store).  pdnsutil must reach the running
 * backend through a pdns configuration that launches it (--config-dir,
 * else pdnsutil's default).
 */
int cmd_zone_import(ctl_t *c, ctl_args_t *a)
{
	store_txn_t *txn;
	store_zone_t z;
	dname_t zone;
	const char *file = a->pos[1];
	char cfg[4096];
	const char *argv[8];
	int n = 0, status;
	pid_t pid;

	if (access(file, R_OK) < 0)
		return ctl_fail(-errno, "cannot read %s", ctl_q(file));
	if (ctl_open_read(c) || ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	if (ctl_zone_must(c, txn, a->pos[0], &zone, &z)) {
		store_txn_abort(txn);
		return CTL_EXIT_FAIL;
	}
	store_txn_abort(txn);
	if (z.kind == STORE_KIND_SLAVE)
		return ctl_fail(-EPERM, "zone %s is a slave zone: its data comes from its primary",
				ctl_name(&zone));
	argv[n++] = "pdnsutil";
	if (a->config_dir) {
		snprintf(cfg, sizeof cfg, "--config-dir=%s", a->config_dir);
		argv[n++] = cfg;
	}
	argv[n++] = "load-zone";
	argv[n++] = ctl_name(&zone);
	argv[n++] = file;
	argv[n] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return ctl_fail(-errno, "cannot start pdnsutil");
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return ctl_fail(-errno, "cannot wait for pdnsutil");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return ctl_fail(-ENOENT,
				"zone import runs pdnsutil load-zone, which was not found; "
				"install pdns-server and give --config-dir of a pdns "
				"configuration that launches kyedns-backend");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return ctl_fail(-EIO, "pdnsutil load-zone %s %s failed (exit %d); nothing was "
				      "changed",
				ctl_name(&zone), ctl_q(file),
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return print_soa(c, &zone, "imported");
}

/* ---- autoprimaries ---- */

struct autoprimary {
	char ip[ADDR_TEXT_MAX];
	dname_t ns;
	const char *account;
};

static int parse_autoprimary(struct autoprimary *ap, ctl_args_t *a)
{
	addr_t ad;
	int rc;
	if (addr_parse(&ad, a->pos[0], strlen(a->pos[0])) < 0)
		return ctl_fail(ERR_BADADDR, "bad primary address %s", ctl_q(a->pos[0]));
	addr_format(&ad, ap->ip, sizeof ap->ip);
	if ((rc = parse_name(&ap->ns, a->pos[1])) < 0)
		return ctl_fail(rc, "bad name server %s", ctl_q(a->pos[1]));
	ap->account = a->npos > 2 ? a->pos[2] : "";
	if (strlen(ap->account) > 255)
		return ctl_fail(ERR_TOOBIG, "account over 255 bytes");
	return 0;
}

static int autoprimary_add_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct autoprimary *ap = arg;
	int rc = store_autoprimary_put(txn, ap->ip, &ap->ns, ap->account, strlen(ap->account));
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot add autoprimary %s %s", ap->ip,
				    ctl_name(&ap->ns));
	return 0;
}

int cmd_autoprimary_add(ctl_t *c, ctl_args_t *a)
{
	struct autoprimary ap;
	if (parse_autoprimary(&ap, a) || ctl_open_create(c) ||
	    ctl_write(c, autoprimary_add_txn, &ap))
		return CTL_EXIT_FAIL;
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ip", json_string(ap.ip));
		json_object_set_new(o, "nameserver", json_string(ctl_name(&ap.ns)));
		json_object_set_new(o, "account", ctl_json_str(ap.account, strlen(ap.account)));
		ctl_json_print(o);
	} else {
		printf("added autoprimary %s %s%s%s\n", ap.ip, ctl_name(&ap.ns),
		       *ap.account ? " " : "", ctl_q(ap.account));
	}
	return 0;
}

static int autoprimary_del_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct autoprimary *ap = arg;
	int rc = store_autoprimary_del(txn, ap->ip, &ap->ns);
	if (rc < 0)
		return ctl_txn_fail(c, rc, "autoprimary %s %s", ap->ip, ctl_name(&ap->ns));
	return 0;
}

int cmd_autoprimary_del(ctl_t *c, ctl_args_t *a)
{
	struct autoprimary ap;
	if (parse_autoprimary(&ap, a) || ctl_open_write(c) ||
	    ctl_write(c, autoprimary_del_txn, &ap))
		return CTL_EXIT_FAIL;
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ip", json_string(ap.ip));
		json_object_set_new(o, "nameserver", json_string(ctl_name(&ap.ns)));
		json_object_set_new(o, "deleted", json_true());
		ctl_json_print(o);
	} else {
		printf("deleted autoprimary %s %s\n", ap.ip, ctl_name(&ap.ns));
	}
	return 0;
}

struct ap_list {
	ctl_t *c;
	ctl_table_t t;
	json_t *arr;
};

static int autoprimary_list_cb(const char *ip, const dname_t *ns, const char *account,
			       size_t account_len, void *arg)
{
	struct ap_list *l = arg;
	if (l->c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "ip", json_string(ip));
		json_object_set_new(o, "nameserver", json_string(ctl_name(ns)));
		json_object_set_new(o, "account", ctl_json_str(account, account_len));
		json_array_append_new(l->arr, o);
	} else {
		json_t *acc = ctl_json_str(account, account_len);
		ctl_table_row(&l->t, ip, ctl_name(ns),
			      json_is_string(acc) ? json_string_value(acc) : "-");
		json_decref(acc);
	}
	return 0;
}

int cmd_autoprimary_list(ctl_t *c, ctl_args_t *a)
{
	struct ap_list l = {c, {0}, json_array()};
	store_txn_t *txn;
	int rc;
	(void)a;
	if (ctl_open_read(c) || ctl_read_begin(c, &txn)) {
		json_decref(l.arr);
		return CTL_EXIT_FAIL;
	}
	ctl_table_init(&l.t, 3, "IP", "NAMESERVER", "ACCOUNT");
	rc = store_autoprimary_walk(txn, NULL, autoprimary_list_cb, &l);
	store_txn_abort(txn);
	if (rc < 0) {
		json_decref(l.arr);
		ctl_table_print(&l.t, NULL);
		return ctl_fail(rc, "cannot list autoprimaries");
	}
	if (c->json) {
		ctl_json_print(l.arr);
		ctl_table_print(&l.t, NULL);
	} else {
		json_decref(l.arr);
		ctl_table_print(&l.t, stdout);
	}
	return 0;
}
