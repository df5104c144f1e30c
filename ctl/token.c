/*
 * token - kyednsctl token add / list / revoke: a host's named tokens.
 *
 * A host has the token "default" (the one host add prints and host token
 * replaces: the hash in the host value) and up to STORE_TOKEN_MAX named
 * ones, each with an optional expiry and optional source networks
 * (store.h).  Any of them authorises the host's updates, which is what
 * makes rotation without downtime possible: add a second token, move the
 * clients to it, revoke the first.
 *
 * As with host add, a token is printed once, by token add, and never
 * again: the store keeps only its hash, and list prints neither.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "err.h"
#include "token.h"

/* ---- --expires ---- */

/* "30d", "12h", "90m", "3600s", "2w": seconds into *out.  0 or -EINVAL. */
static int parse_duration(const char *s, uint64_t *out)
{
	static const struct {
		char unit;
		uint64_t secs;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
	char *end;
	unsigned long long n;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || n == 0 || end[0] == '\0' || end[1] != '\0')
		return -EINVAL;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (*end == units[i].unit) {
			if (n > UINT32_MAX) /* over a century in any unit */
				return -EINVAL;
			*out = n * units[i].secs;
			return 0;
		}
	return -EINVAL;
}

/* "2027-01-31" (midnight UTC) or "2027-01-31T12:00:00Z": unix seconds.
 * 0 or -EINVAL. */
static int parse_date(const char *s, uint64_t *out)
{
	struct tm tm;
	const char *end;
	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end + 1, "%H:%M:%SZ", &tm);
	if (!end || *end != '\0' || tm.tm_year < 70)
		return -EINVAL;
	/* strptime accepts 2027-02-31; timegm would roll it into March. */
	struct tm check = tm;
	time_t t = timegm(&check);
	if (t == (time_t)-1 || check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon)
		return -EINVAL;
	*out = (uint64_t)t;
	return 0;
}

/* ---- add ---- */

struct token_add {
	dname_t host;
	const char *name;
	uint8_t hash[TOKEN_HASH_LEN];
	uint64_t expires, now;
	addr_cidr_t cidrs[STORE_TOKEN_MAX_CIDRS];
	unsigned ncidr;
};

static int token_add_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct token_add *ta = arg;
	store_token_t old;
	size_t len = strlen(ta->name);
	int rc = store_host_get(txn, &ta->host, &(store_host_t){0});
	if (rc == -ENOENT)
		return ctl_txn_fail(c, rc, "host %s does not exist", ctl_name(&ta->host));
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot read host %s", ctl_name(&ta->host));
	rc = store_token_get(txn, &ta->host, ta->name, len, &old);
	if (rc == 0)
		return ctl_txn_fail(c, -EEXIST, "token %s already exists for %s", ta->name,
				    ctl_name(&ta->host));
	/* A revoked default is absent, yet its name stays the host value's. */
	if (rc == -ENOENT && strcmp(ta->name, STORE_TOKEN_DEFAULT) == 0)
		return ctl_txn_fail(c, -EEXIST,
				    "token name default is the host token of %s: 'host token %s' "
				    "sets it",
				    ctl_name(&ta->host), ctl_name(&ta->host));
	if (rc != -ENOENT)
		return ctl_txn_fail(c, rc, "cannot read the tokens of host %s",
				    ctl_name(&ta->host));
	rc = store_token_add(txn, &ta->host, ta->name, len, ta->hash, ta->expires, ta->cidrs,
			     ta->ncidr, ta->now);
	if (rc == -EEXIST) /* the name is free, so the secret is not */
		return ctl_txn_fail(c, rc, "host %s has that token already, under another name",
				    ctl_name(&ta->host));
	if (rc == ERR_TOOBIG)
		return ctl_txn_fail(c, rc, "host %s has %d named tokens already; revoke one first",
				    ctl_name(&ta->host), STORE_TOKEN_MAX);
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot add token %s to host %s", ta->name,
				    ctl_name(&ta->host));
	return 0;
}

static json_t *cidrs_json(const addr_cidr_t *cidrs, unsigned n)
{
	json_t *list = json_array();
	for (unsigned i = 0; i < n; i++) {
		char b[ADDR_TEXT_MAX + 8];
		snprintf(b, sizeof b, "%s/%u", ctl_addr(&cidrs[i].net), cidrs[i].prefix);
		json_array_append_new(list, json_string(b));
	}
	return list;
}

/* "192.0.2.0/24 2001:db8::/56" or "any", into buf. */
static const char *cidrs_text(const addr_cidr_t *cidrs, unsigned n, char *buf, size_t size)
{
	size_t used = 0;
	if (n == 0)
		return "any";
	buf[0] = '\0';
	for (unsigned i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s/%u", i ? " " : "",
					 ctl_addr(&cidrs[i].net), cidrs[i].prefix);
	return buf;
}

#define CIDRS_TEXT (STORE_TOKEN_MAX_CIDRS * (ADDR_TEXT_MAX + 5))

int cmd_token_add(ctl_t *c, ctl_args_t *a)
{
	struct token_add ta;
	char generated[TOKEN_GEN_LEN + 1];
	const char *token = a->token;
	int rc;

	memset(&ta, 0, sizeof ta);
	ta.now = (uint64_t)time(NULL);
	ta.name = a->pos[1];
	if (a->expires) {
		uint64_t d;
		if (parse_duration(a->expires, &d) == 0)
			ta.expires = ta.now + d;
		else if (parse_date(a->expires, &ta.expires) < 0)
			return ctl_usage("--expires takes a duration (30d, 12h, 90m, 3600s, 2w) or "
					 "a date (2027-01-31 or 2027-01-31T12:00:00Z), not '%s'",
					 ctl_q(a->expires));
	}
	if (ctl_parse_host(&ta.host, a->pos[0]))
		return CTL_EXIT_FAIL;
	if ((rc = store_token_name_check(ta.name, strlen(ta.name))) < 0)
		return ctl_fail(rc, "bad token name %s: want 1 to %d of a-z 0-9 - _", ctl_q(ta.name),
				STORE_TOKEN_NAME_MAX);
	if (a->expires && ta.expires <= ta.now)
		return ctl_fail(-EINVAL, "--expires %s is in the past", ctl_q(a->expires));
	for (int i = 0; i < a->ncidrs; i++) {
		const char *s = a->cidrs[i];
		if (addr_cidr_parse(&ta.cidrs[i], s, strlen(s)) < 0)
			return ctl_fail(ERR_BADADDR, "bad --cidr %s", ctl_q(s));
	}
	ta.ncidr = (unsigned)a->ncidrs;
	if (token) {
		/* A person picked it: refuse what a guesser tries first. */
		if ((rc = token_check_strength(token, strlen(token))) < 0)
			return ctl_fail(rc, "bad --token for host %s", ctl_name(&ta.host));
	} else {
		token_generate(generated);
		token = generated;
	}
	token_hash(token, strlen(token), ta.hash);

	if (ctl_open_write(c) || ctl_write(c, token_add_txn, &ta))
		return CTL_EXIT_FAIL;
	if (c->json) {
		json_t *o = json_object();
		ctl_json_host(o, &ta.host);
		json_object_set_new(o, "name", json_string(ta.name));
		json_object_set_new(o, "token", json_string(token));
		json_object_set_new(o, "expires", ctl_json_time(ta.expires));
		json_object_set_new(o, "cidrs", cidrs_json(ta.cidrs, ta.ncidr));
		ctl_json_print(o);
	} else {
		char d[DNAME_MAX_DISPLAY], nets[CIDRS_TEXT];
		printf("host    %s\nname    %s\ntoken   %s\nexpires %s\ncidrs   %s\n",
		       ctl_shown(&ta.host, d), ta.name, token,
		       ta.expires ? ctl_time(ta.expires) : "never",
		       cidrs_text(ta.cidrs, ta.ncidr, nets, sizeof nets));
	}
	return 0;
}

/* ---- list ---- */

struct token_list {
	ctl_t *c;
	uint64_t now;
	json_t *list;
	ctl_table_t t;
};

static int token_list_cb(const store_token_t *tok, void *arg)
{
	struct token_list *tl = arg;
	int expired = tok->expires && tok->expires <= tl->now;
	if (tl->c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(tok->name));
		json_object_set_new(o, "created", ctl_json_time(tok->created));
		json_object_set_new(o, "expires", ctl_json_time(tok->expires));
		json_object_set_new(o, "expired", json_boolean(expired));
		json_object_set_new(o, "cidrs", cidrs_json(tok->cidrs, tok->ncidr));
		json_array_append_new(tl->list, o);
	} else {
		char nets[CIDRS_TEXT], exp[64];
		snprintf(exp, sizeof exp, "%s%s", tok->expires ? ctl_time(tok->expires) : "never",
			 expired ? " (expired)" : "");
		ctl_table_row(&tl->t, tok->name, ctl_time(tok->created), exp,
			      cidrs_text(tok->cidrs, tok->ncidr, nets, sizeof nets));
	}
	return 0;
}

int cmd_token_list(ctl_t *c, ctl_args_t *a)
{
	struct token_list tl = {c, (uint64_t)time(NULL), NULL, {0}};
	store_txn_t *txn;
	dname_t host;
	int rc;

	if (ctl_parse_host(&host, a->pos[0]) || ctl_open_read(c) || ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	if (ctl_host_must(c, txn, &host, NULL)) {
		store_txn_abort(txn);
		return CTL_EXIT_FAIL;
	}
	if (c->json)
		tl.list = json_array();
	else
		ctl_table_init(&tl.t, 4, "NAME", "CREATED", "EXPIRES", "CIDRS");
	rc = store_token_walk(txn, &host, token_list_cb, &tl);
	store_txn_abort(txn);
	if (rc < 0) {
		json_decref(tl.list);
		if (!c->json)
			ctl_table_print(&tl.t, NULL);
		return ctl_fail(rc, "cannot list the tokens of host %s", ctl_name(&host));
	}
	if (c->json)
		ctl_json_print(tl.list);
	else
		ctl_table_print(&tl.t, stdout);
	return 0;
}

/* ---- revoke ---- */

struct token_revoke {
	dname_t host;
	const char *name;
	unsigned left; /* tokens the host still has */
};

static int count_cb(const store_token_t *tok, void *arg)
{
	(void)tok;
	(*(unsigned *)arg)++;
	return 0;
}

static int token_revoke_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct token_revoke *tr = arg;
	int rc = store_host_get(txn, &tr->host, &(store_host_t){0});
	if (rc == -ENOENT)
		return ctl_txn_fail(c, rc, "host %s does not exist", ctl_name(&tr->host));
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot read host %s", ctl_name(&tr->host));
	rc = store_token_del(txn, &tr->host, tr->name, strlen(tr->name));
	if (rc == -ENOENT)
		return ctl_txn_fail(c, rc, "token %s does not exist for %s", tr->name,
				    ctl_name(&tr->host));
	if (rc < 0)
		return ctl_txn_fail(c, rc, "cannot revoke token %s of host %s", tr->name,
				    ctl_name(&tr->host));
	tr->left = 0;
	if ((rc = store_token_walk(txn, &tr->host, count_cb, &tr->left)) < 0)
		return ctl_txn_fail(c, rc, "cannot list the tokens of host %s",
				    ctl_name(&tr->host));
	return 0;
}

int cmd_token_revoke(ctl_t *c, ctl_args_t *a)
{
	struct token_revoke tr;
	int rc;

	memset(&tr, 0, sizeof tr);
	tr.name = a->pos[1];
	if (ctl_parse_host(&tr.host, a->pos[0]))
		return CTL_EXIT_FAIL;
	if ((rc = store_token_name_check(tr.name, strlen(tr.name))) < 0)
		return ctl_fail(rc, "bad token name %s", ctl_q(tr.name));
	if (ctl_open_write(c) || ctl_write(c, token_revoke_txn, &tr))
		return CTL_EXIT_FAIL;
	if (c->json) {
		json_t *o = json_object();
		ctl_json_host(o, &tr.host);
		json_object_set_new(o, "name", json_string(tr.name));
		json_object_set_new(o, "revoked", json_true());
		json_object_set_new(o, "tokens_left", json_integer(tr.left));
		ctl_json_print(o);
	} else {
		char d[DNAME_MAX_DISPLAY];
		printf("revoked token %s of host %s\n", tr.name, ctl_shown(&tr.host, d));
		if (tr.left == 0)
			printf("host %s has no token left: nothing can update it until 'token "
			       "add' or 'host token'\n",
			       ctl_shown(&tr.host, d));
	}
	return 0;
}
