/*
 * util - errors, store access, and output helpers of kyednsctl (ctl.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int ctl_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(-EINVAL, fmt, ap);
	va_end(ap);
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

int ctl_open_read(ctl_t *c)
{
	int rc = store_open(&c->store, c->db, STORE_RDONLY);
	/* A schema-1 store is migrated by the first open with write access
	 * (store.h); a read command takes that step too when it may write,
	 * so that an upgrade needs no special command. */
	if (rc == ERR_VERSION && store_open(&c->store, c->db, 0) == 0)
		return 0;
	if (rc == -ENOENT)
		return ctl_fail(rc, "no store in %s; create it with zone add", ctl_q(c->db));
	if (rc < 0)
		return ctl_fail(rc, "cannot open store %s", ctl_q(c->db));
	return 0;
}

int ctl_open_write(ctl_t *c)
{
	int rc = store_open(&c->store, c->db, STORE_CREATE | c->open_flags);
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

int ctl_parse_name(dname_t *out, const char *text)
{
	return dname_parse(out, text, strlen(text));
}

const char *ctl_name(const dname_t *n)
{
	size_t size;
	char *b = rot_buf(&size);
	if (dname_to_text(n, b, size) < 0)
		strcpy(b, "?");
	return b;
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

int ctl_host_clash(store_txn_t *txn, uint32_t zone_id, const dname_t *name)
{
	store_rr_iter_t it;
	store_rr_t rr;
	uint16_t found = 0;
	int rc = store_name_get(txn, zone_id, name, &it);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	while ((rc = store_rr_next(&it, &rr)) == 1) {
		if (rr.type == RR_CNAME)
			return RR_CNAME;
		if ((rr.type == RR_A || rr.type == RR_AAAA) && !found)
			found = rr.type;
	}
	return rc < 0 ? rc : found;
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
		size_t w = strlen(d);
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
				fprintf(f, "%-*s  ", (int)t->width[i], s);
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
