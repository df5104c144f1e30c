/*
 * util - errors, store access, and output helpers of kyednsctl (ctl.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "rdata.h"

/* ---- errors ---- */

static void vline(int rc, const char *fmt, va_list ap)
{
	char what[1024];
	vsnprintf(what, sizeof what, fmt, ap);
	fflush(stdout); /* keep what was printed before the error in order */
	fprintf(stderr, "kyednsctl: %s (%s)\n", what, err_str(rc));
}

int ctl_fail(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(rc, fmt, ap);
	va_end(ap);
	return CTL_EXIT_FAIL;
}

static const char *usage_hint = "kyednsctl --help";

void ctl_set_hint(const char *hint)
{
	usage_hint = hint;
}

/* The convention of common/cli: the message alone (no "(reason)": the
 * reason is the message), then where to read how it is done. */
int ctl_usage(const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "kyednsctl: %s\nTry '%s'.\n", what, usage_hint);
	return CTL_EXIT_USAGE;
}

int ctl_txn_fail(ctl_t *c, int rc, const char *fmt, ...)
{
	va_list ap;
	if (rc == ERR_MAPFULL)
		return rc;
	va_start(ap, fmt);
	vsnprintf(c->what, sizeof c->what, fmt, ap);
	va_end(ap);
	return rc;
}

#define NBUF 8

static char *rot_buf(size_t *size)
{
	static char bufs[NBUF][DNAME_MAX_TEXT + 16];
	static int next;
	*size = sizeof bufs[0];
	return bufs[next++ % NBUF];
}

const char *ctl_q(const char *s)
{
	size_t size, n = 0;
	char *b = rot_buf(&size);
	static const char hex[] = "0123456789abcdef";
	if (!s)
		s = "";
	for (; *s && n + 5 < size && n < 200; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch >= 0x7f) {
			b[n++] = '\\';
			b[n++] = 'x';
			b[n++] = hex[ch >> 4];
			b[n++] = hex[ch & 15];
		} else {
			b[n++] = (char)ch;
		}
	}
	if (*s) {
		memcpy(b + n, "...", 3);
		n += 3;
	}
	b[n] = '\0';
	return b;
}

/* ---- store ---- */

/* Why dir holds no store we can open: 0 if data.mdb is there after all,
 * else the negative errno of looking (-EACCES when we may not look). */
static int probe_store(const char *dir)
{
	char path[PATH_MAX + 16];
	struct stat st;
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	if (stat(dir, &st) != 0 || stat(path, &st) != 0)
		return -errno;
	return 0;
}

/*
 * Root runs kyednsctl as often as the service user does.  Every open of an
 * LMDB store may create lock.mdb, the first one data.mdb, and a write open
 * migrates a schema-1 store; made by root with mode 0640, those files would
 * lock the daemons (running as the store's owner) out.  So root opens a
 * store directory that belongs to another user with that user's effective
 * uid and gid: what the open creates is theirs, and root sees the store as
 * its owner does.  The ids return to root right after the open (the files
 * stay open), so zone import can still run pdnsutil as root.  Returns
 * store_open's result, with -ENOENT turned into the real reason when data.mdb
 * cannot even be looked at (-EACCES: "permission denied", not "no store").
 */
static int open_store(ctl_t *c, unsigned flags)
{
	struct stat st;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int rc, as_owner = uid == 0 && stat(c->db, &st) == 0 && st.st_uid != 0;

	if (as_owner && (setegid(st.st_gid) < 0 || seteuid(st.st_uid) < 0)) {
		rc = -errno;
		if (setegid(gid) < 0)
			abort(); /* root may always return to itself */
		return rc;
	}
	rc = store_open(&c->store, c->db, flags);
	if (rc == -ENOENT && probe_store(c->db) == -EACCES)
		rc = -EACCES;
	if (as_owner && (seteuid(uid) < 0 || setegid(gid) < 0))
		abort();
	return rc;
}

int ctl_open_read(ctl_t *c)
{
	int rc = open_store(c, STORE_RDONLY);
	/* A schema-1 store is migrated by the first open with write access
	 * (store.h); a read command takes that step too when it may write,
	 * so that an upgrade needs no special command. */
	if (rc == ERR_VERSION && open_store(c, 0) == 0)
		return 0;
	if (rc == -ENOENT)
		return ctl_fail(rc, "no store in %s; create it with zone add", ctl_q(c->db));
	if (rc < 0)
		return ctl_fail(rc, "cannot open store %s", ctl_q(c->db));
	return 0;
}

int ctl_open_write(ctl_t *c)
{
	int rc = open_store(c, c->open_flags);
	if (rc == -ENOENT)
		return ctl_fail(rc, "no store in %s; create it with zone add", ctl_q(c->db));
	if (rc < 0)
		return ctl_fail(rc, "cannot open store %s", ctl_q(c->db));
	return 0;
}

int ctl_open_create(ctl_t *c)
{
	int rc = open_store(c, STORE_CREATE | c->open_flags);
	if (rc < 0)
		return ctl_fail(rc, "cannot open store %s", ctl_q(c->db));
	return 0;
}

int ctl_read_begin(ctl_t *c, store_txn_t **txn)
{
	int rc = store_txn_begin(c->store, 0, txn);
	if (rc < 0)
		return ctl_fail(rc, "cannot read store %s", ctl_q(c->db));
	return 0;
}

int ctl_write(ctl_t *c, ctl_txn_fn fn, void *arg)
{
	for (;;) {
		store_txn_t *txn;
		int rc = store_txn_begin(c->store, 1, &txn);
		if (rc < 0)
			return ctl_fail(rc, "cannot write store %s", ctl_q(c->db));
		c->what[0] = '\0';
		rc = fn(c, txn, arg);
		if (rc < 0) {
			store_txn_abort(txn);
		} else {
			rc = store_txn_commit(txn);
			if (rc < 0 && rc != ERR_MAPFULL)
				return ctl_fail(rc, "cannot commit to store %s", ctl_q(c->db));
		}
		if (rc == ERR_MAPFULL) {
			/* Nothing was written: grow the map and redo the work. */
			int g = store_grow(c->store);
			if (g < 0)
				return ctl_fail(g, "cannot grow store %s", ctl_q(c->db));
			continue;
		}
		if (rc < 0)
			return ctl_fail(rc, "%s", c->what[0] ? c->what : "store write failed");
		return 0;
	}
}

/* ---- parsing helpers ---- */

/* Names typed by the operator may be IDNs in UTF-8: dname_from_user()
 * converts them to A-labels (ASCII input parses exactly as dname_parse). */
int ctl_parse_name(dname_t *out, const char *text)
{
	return dname_from_user(out, text, strlen(text));
}

const char *ctl_name(const dname_t *n)
{
	size_t size;
	char *b = rot_buf(&size);
	if (dname_to_text(n, b, size) < 0)
		strcpy(b, "?");
	return b;
}

int ctl_parse_host(dname_t *name, const char *text)
{
	int rc = dname_from_user_host(name, text, strlen(text));
	if (rc < 0)
		return ctl_fail(rc, "bad host name %s", ctl_q(text));
	return 0;
}

const char *ctl_shown(const dname_t *n, char *buf)
{
	return dname_to_display(n, buf, DNAME_MAX_DISPLAY) < 0 ? ctl_name(n) : buf;
}

void ctl_json_unicode(json_t *o, const char *key, const dname_t *n)
{
	char u[DNAME_MAX_TEXT];
	if (dname_to_unicode(n, u, sizeof u) > 0 && strcmp(u, ctl_name(n)) != 0)
		json_object_set_new(o, key, json_string(u));
}

void ctl_json_host(json_t *o, const dname_t *n)
{
	json_object_set_new(o, "host", json_string(ctl_name(n)));
	ctl_json_unicode(o, "host_unicode", n);
}

int ctl_host_must(ctl_t *c, store_txn_t *txn, const dname_t *name, store_host_t *h)
{
	store_host_t tmp;
	int rc = store_host_get(txn, name, h ? h : &tmp);
	(void)c;
	if (rc == -ENOENT)
		return ctl_fail(rc, "host %s does not exist", ctl_name(name));
	if (rc < 0)
		return ctl_fail(rc, "cannot read host %s", ctl_name(name));
	return 0;
}

int ctl_zone_must(ctl_t *c, store_txn_t *txn, const char *text, dname_t *name,
		  store_zone_t *z)
{
	int rc = ctl_parse_name(name, text);
	(void)c;
	if (rc < 0)
		return ctl_fail(rc, "bad zone name %s", ctl_q(text));
	rc = store_zone_get(txn, name, z);
	if (rc == -ENOENT)
		return ctl_fail(rc, "zone %s does not exist", ctl_name(name));
	if (rc < 0)
		return ctl_fail(rc, "cannot read zone %s", ctl_name(name));
	return 0;
}

/* 1 if the apex NS RRset of zone z names name, 0 if not, < 0 on error. */
static int is_ns_of(store_txn_t *txn, const store_zone_t *z, const dname_t *name)
{
	store_rr_iter_t it;
	store_rr_t rr;
	dname_t target;
	int rc = store_name_get(txn, z->id, &z->name, &it);
	if (rc == -ENOENT)
		return 0;
	while (rc >= 0 && (rc = store_rr_next(&it, &rr)) == 1)
		if (rr.type == RR_NS && dname_parse_pdns(&target, rr.data, rr.len) == 0 &&
		    dname_equal(&target, name))
			return 1;
	return rc;
}

int ctl_host_refused(store_txn_t *txn, const store_zone_t *z, const dname_t *name, char *why,
		     size_t size)
{
	store_rr_iter_t it;
	store_rr_t rr;
	store_zone_t y = *z;
	dname_t up = *name;
	uint16_t found = 0;
	int rc = store_name_get(txn, z->id, name, &it);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	while (rc == 0 && (rc = store_rr_next(&it, &rr)) == 1) {
		/* Name the type that explains most: a CNAME, an address, else any. */
		if (rr.type == RR_CNAME || !found ||
		    (found != RR_CNAME && (rr.type == RR_A || rr.type == RR_AAAA) &&
		     found != RR_A && found != RR_AAAA))
			found = rr.type;
	}
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (found) {
		snprintf(why, size, "it has a static %s record in zone %s; delete it first",
			 ctl_type(found), ctl_name(&z->name));
		return ERR_CLASH;
	}
	while (dname_parent(&up) == 0 && !dname_equal(&up, &z->name) &&
	       dname_is_below(&up, &z->name)) {
		rc = store_name_get(txn, z->id, &up, &it);
		if (rc == -ENOENT)
			continue;
		while (rc >= 0 && (rc = store_rr_next(&it, &rr)) == 1) {
			if (rr.type == RR_NS) {
				snprintf(why, size,
					 "it is at or below the delegation %s in zone %s "
					 "(glue is not a host's)",
					 ctl_name(&up), ctl_name(&z->name));
				return ERR_CLASH;
			}
		}
		if (rc < 0)
			return rc;
	}
	for (;;) {
		dname_t parent = y.name;
		if ((rc = is_ns_of(txn, &y, name)) != 0) {
			if (rc < 0)
				return rc;
			snprintf(why, size,
				 "it is a name server (NS) of zone %s; its address is not a "
				 "host's to set",
				 ctl_name(&y.name));
			return ERR_CLASH;
		}
		if (dname_parent(&parent) < 0)
			return 0;
		rc = store_zone_find(txn, &parent, &y);
		if (rc == ERR_NOZONE || rc == -ENOENT)
			return 0;
		if (rc < 0)
			return rc;
	}
}

const char *ctl_type(uint16_t type)
{
	size_t size;
	char *b = rot_buf(&size);
	if (rrtype_format(type, b, size) < 0)
		snprintf(b, size, "TYPE%u", type);
	return b;
}

const char *ctl_nodot(const char *text, size_t len)
{
	size_t size;
	char *b = rot_buf(&size);
	if (len > 1 && text[len - 1] == '.')
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(b, text, len);
	b[len] = '\0';
	return b;
}

const char *ctl_kind_name(uint8_t kind)
{
	switch (kind) {
	case STORE_KIND_NATIVE: return "native";
	case STORE_KIND_MASTER: return "master";
	case STORE_KIND_SLAVE: return "slave";
	default: return "unknown";
	}
}

const char *ctl_time(uint64_t t)
{
	size_t size;
	char *b = rot_buf(&size);
	time_t tt = (time_t)t;
	struct tm tm;
	if (t == 0 || !gmtime_r(&tt, &tm))
		return "-";
	strftime(b, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return b;
}

const char *ctl_addr(const addr_t *a)
{
	size_t size;
	char *b = rot_buf(&size);
	if (!a->family || addr_format(a, b, size) < 0)
		return "-";
	return b;
}

/* ---- output ---- */

json_t *ctl_json_time(uint64_t t)
{
	return t ? json_string(ctl_time(t)) : json_null();
}

json_t *ctl_json_addr(const addr_t *a)
{
	return a->family ? json_string(ctl_addr(a)) : json_null();
}

void ctl_json_print(json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	json_decref(obj);
}

json_t *ctl_json_str(const char *s, size_t len)
{
	if (!s || len == 0)
		return json_null();
	char *b = malloc(len);
	if (!b)
		return json_null();
	for (size_t i = 0; i < len; i++)
		b[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	json_t *j = json_stringn(b, len);
	free(b);
	return j ? j : json_null();
}

static void oom(void)
{
	fprintf(stderr, "kyednsctl: cannot build the listing (out of memory)\n");
	exit(CTL_EXIT_FAIL);
}

/* Display width of UTF-8 text (IDN U-labels): code points, not bytes. */
static size_t cols(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void table_row(ctl_table_t *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **nc = realloc(t->cells, cap * (size_t)t->ncols * sizeof *nc);
		if (!nc)
			oom();
		t->cells = nc;
		t->cap = cap;
	}
	for (int i = 0; i < t->ncols; i++) {
		char *d = strdup(cells[i] ? cells[i] : "-");
		if (!d)
			oom();
		size_t w = cols(d);
		if (w > t->width[i])
			t->width[i] = w;
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = d;
	}
	t->nrows++;
}

void ctl_table_init(ctl_table_t *t, int ncols, ...)
{
	const char *cells[8];
	va_list ap;
	memset(t, 0, sizeof *t);
	t->ncols = ncols > 8 ? 8 : ncols;
	va_start(ap, ncols);
	for (int i = 0; i < t->ncols; i++)
		cells[i] = va_arg(ap, const char *);
	va_end(ap);
	table_row(t, cells);
}

void ctl_table_row(ctl_table_t *t, ...)
{
	const char *cells[8];
	va_list ap;
	va_start(ap, t);
	for (int i = 0; i < t->ncols; i++)
		cells[i] = va_arg(ap, const char *);
	va_end(ap);
	table_row(t, cells);
}

void ctl_table_print(ctl_table_t *t, FILE *f)
{
	for (size_t r = 0; r < t->nrows; r++) {
		for (int i = 0; i < t->ncols; i++) {
			char *s = t->cells[r * (size_t)t->ncols + (size_t)i];
			if (!f)
				;
			else if (i == t->ncols - 1)
				fprintf(f, "%s\n", s);
			else
				fprintf(f, "%s%*s  ", s, (int)(t->width[i] - cols(s)), "");
			free(s);
		}
	}
	free(t->cells);
	memset(t, 0, sizeof *t);
}

void ctl_kv(const char *key, const char *fmt, ...)
{
	va_list ap;
	printf("%-16s", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}
