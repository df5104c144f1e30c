/*
 * import - kyednsctl host import FILE: bulk creation of hosts (migrations).
 *
 * File format, one host per line:   FQDN [TOKEN|-] [IPV4|-] [IPV6|-]
 * Fields are separated by blanks; '#' starts a comment; blank lines and
 * CRLF endings are fine.  A missing or '-' token is generated (and printed,
 * since it cannot be recovered later); a provided one needs TOKEN_MIN_LEN
 * characters.  Addresses may come in either order, at most one per family.
 * An FQDN may be an IDN in UTF-8 (dname_from_user_host); output names it
 * by its A-labels.
 *
 * All or nothing, as far as the input goes: the whole file is validated
 * first -- syntax, tokens (token_check_strength: a person picked them),
 * addresses, every host inside a zone and not an apex, not at a name the
 * store refuses (store_host_put), not twice in the file -- against one read
 * snapshot, and the first bad line is reported as "FILE:LINE: ..." with
 * nothing written (a duplicate is reported at its later line).  Only then
 * are the hosts loaded, sorted by name (see ref_cmp), in many short
 * transactions, with syncing deferred to one store_sync() at the end
 * (STORE_NOSYNC).
 *
 * Short, because a write transaction holds the store's only writer lock:
 * while a batch is loading, every dynamic update waits for it.  A batch of
 * 50,000 hosts held it for a quarter to half a second.  So batches are sized
 * by time instead: each is scaled from the last one's rate to take about
 * IMPORT_TXN_MS (between IMPORT_BATCH_MIN and IMPORT_BATCH_MAX hosts), and
 * the lock is free between them.  With sorted keys a commit touches only the
 * right edge of the trees, so short batches cost little speed and no store
 * size.  A failure while loading can then only come from the
 * store itself or from a concurrent writer (someone added one of the hosts
 * in between).  Batches committed before it stay, the failing one is rolled
 * back, and the error says how many hosts were imported (`host list` shows
 * which: loading goes in name order, not file order).
 *
 * Interruption loses no token.  A generated token exists only in our
 * memory until it is printed, so each batch's tokens are written to stdout
 * (flushed, and fsync'd when stdout is a file) BEFORE the batch commits; a
 * batch whose tokens cannot be written is not committed.  A kill between
 * the two leaves printed tokens of hosts that are not in the store; they
 * are harmless (no host has that hash) and a rerun prints new ones.
 *
 * Rerunning is therefore the way to finish an interrupted import: a host
 * already in the store is skipped, not refused, when its line agrees with
 * it -- the line gives no token (the run that created the host printed
 * its token), or gives the token the host already has.  A line whose token
 * differs from the stored one is refused as "already exists".  A skipped
 * host is left exactly as it is (addresses of its line are not applied).
 * For each host, the token printed last is the one in the store.
 *
 * Output: for each generated token a line "FQDN TOKEN" on stdout, batch by
 * batch (in name order); "# skipped FQDN: already in the store" for each
 * skipped host; at the end "# imported N hosts ..." (so the output is
 * itself an import file).  If a batch fails after its tokens were printed,
 * "# NOT imported: the N hosts above ..." says so.  With --json one object
 * {"tokens":[{"host","token"}...],"imported":N,"generated":M,"skipped":S},
 * streamed so a million tokens need no memory; after a failed batch it also
 * has "void":K: the last K tokens belong to hosts that were not imported.
 * Progress goes to stderr every IMPORT_PROGRESS hosts for big files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"

#define IMPORT_BATCH_MIN   200    /* hosts per write txn, at least ... */
#define IMPORT_BATCH_MAX   50000  /* ... and at most */
#define IMPORT_BATCH_FIRST 1000   /* before there is a rate to go by */
#define IMPORT_TXN_MS      20     /* aim for write txns this long */
#define IMPORT_PROGRESS    100000 /* hosts between progress lines */
#define IMPORT_MAX_FIELDS  4

/* One host line as parsed. */
struct line {
	dname_t name;
	const char *token; /* NULL: generate */
	size_t toklen;
	addr_t v4, v6;
};

/* A valid host line: where it starts, for the second pass, and its name
 * in key form (in the keys arena: one length byte, then the key). */
struct ref {
	size_t off;
	size_t keyoff;
	uint32_t lineno;
	uint8_t generate; /* no token given: draw one */
	uint8_t skip;     /* already in the store as the line says: leave it */
};

struct import {
	const char *file;
	const char *data; /* the file, mapped or read */
	size_t size;
	int mapped;
	struct ref *refs;
	size_t nrefs, caprefs;
	uint8_t *keys; /* arena of names in key form */
	size_t nkeys, capkeys;
	uint32_t ttl;
	/* the batch being loaded */
	size_t from, to;
	char (*tokens)[TOKEN_GEN_LEN + 1]; /* generated, per batch slot; "" if given */
	uint64_t created;
	size_t imported, generated, skipped;
	size_t printed; /* tokens written to stdout, committed or not */
	uint32_t fail_line;
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* End of the line starting at off. */
static size_t line_end(const struct import *im, size_t off)
{
	const char *nl = memchr(im->data + off, '\n', im->size - off);
	return nl ? (size_t)(nl - im->data) : im->size;
}

static int looks_like_addr(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == ':' || !(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
			return s[i] == ':';
	return 1;
}

/*
 * Parses the line [s, s+n).  Returns 1 for a host line (filled into *l), 0
 * for a blank or comment line, or a negative error with a description in
 * what (size bytes).
 */
static int parse_line(const char *s, size_t n, struct line *l, char *what, size_t size)
{
	const char *f[IMPORT_MAX_FIELDS + 1];
	size_t fl[IMPORT_MAX_FIELDS + 1];
	int nf = 0, i = 1, rc;
	const char *hash = memchr(s, '#', n);
	if (hash)
		n = (size_t)(hash - s);
	for (size_t p = 0; p < n;) {
		while (p < n && is_blank(s[p]))
			p++;
		if (p == n)
			break;
		size_t q = p;
		while (q < n && !is_blank(s[q]))
			q++;
		if (nf == IMPORT_MAX_FIELDS) {
			snprintf(what, size, "too many fields, want FQDN [TOKEN|-] [IPV4] [IPV6]");
			return -EINVAL;
		}
		f[nf] = s + p;
		fl[nf++] = q - p;
		p = q;
	}
	if (nf == 0)
		return 0;

	memset(l, 0, sizeof *l);
	if ((rc = dname_from_user_host(&l->name, f[0], fl[0])) < 0) {
		snprintf(what, size, "bad host name %.*s", (int)(fl[0] > 200 ? 200 : fl[0]), f[0]);
		return rc;
	}
	if (nf > 1) {
		addr_t a;
		if (fl[1] == 1 && f[1][0] == '-') {
			i = 2;
		} else if (addr_parse(&a, f[1], fl[1]) == 0 ||
			   (looks_like_addr(f[1], fl[1]) && token_check(f[1], fl[1]) < 0)) {
			i = 1; /* no token field: addresses start here */
		} else if ((rc = token_check_strength(f[1], fl[1])) < 0) {
			snprintf(what, size, "bad token for host %s", ctl_name(&l->name));
			return rc;
		} else {
			l->token = f[1];
			l->toklen = fl[1];
			i = 2;
		}
	}
	for (; i < nf; i++) {
		addr_t a;
		if (fl[i] == 1 && f[i][0] == '-')
			continue;
		if (addr_parse(&a, f[i], fl[i]) < 0) {
			/* field 1 may be a mistyped token: never echo it */
			if (i == 1)
				snprintf(what, size, "bad token or address for host %s",
					 ctl_name(&l->name));
			else
				snprintf(what, size, "bad address %.*s",
					 (int)(fl[i] > 60 ? 60 : fl[i]), f[i]);
			return ERR_BADADDR;
		}
		addr_t *slot = a.family == 4 ? &l->v4 : &l->v6;
		if (slot->family) {
			snprintf(what, size, "two IPv%d addresses for host %s", a.family,
				 ctl_name(&l->name));
			return ERR_BADADDR;
		}
		*slot = a;
	}
	return 1;
}

static int read_file(struct import *im)
{
	int fd = strcmp(im->file, "-") == 0 ? 0 : open(im->file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		im->size = (size_t)st.st_size;
		if (im->size > 0) {
			void *p = mmap(NULL, im->size, PROT_READ, MAP_PRIVATE, fd, 0);
			if (p == MAP_FAILED) {
				int e = -errno;
				close(fd);
				return e;
			}
			madvise(p, im->size, MADV_SEQUENTIAL);
			im->data = p;
			im->mapped = 1;
		}
	} else {
		/* a pipe: read it all */
		size_t cap = 1 << 20;
		char *buf = malloc(cap);
		ssize_t r;
		if (!buf)
			return -ENOMEM;
		while ((r = read(fd, buf + im->size, cap - im->size)) > 0) {
			im->size += (size_t)r;
			if (im->size == cap) {
				char *nb = realloc(buf, cap *= 2);
				if (!nb) {
					free(buf);
					return -ENOMEM;
				}
				buf = nb;
			}
		}
		if (r < 0) {
			free(buf);
			return -errno;
		}
		im->data = buf;
	}
	if (fd != 0)
		close(fd);
	return 0;
}

/* Sorting the refs by key lets the load insert in key order: LMDB then
 * fills each leaf page before starting the next and a batch touches only
 * the right edge of the trees, instead of copying most of their pages in
 * every transaction as random order does. */
static const uint8_t *sort_keys;

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	const uint8_t *kx = sort_keys + x->keyoff, *ky = sort_keys + y->keyoff;
	size_t n = kx[0] < ky[0] ? kx[0] : ky[0];
	int c = memcmp(kx + 1, ky + 1, n);
	if (c)
		return c;
	if (kx[0] != ky[0])
		return kx[0] < ky[0] ? -1 : 1;
	return x->lineno < y->lineno ? -1 : x->lineno > y->lineno;
}

/* Compares the names of refs i and j. */
static int ref_cmp_name(const struct import *im, size_t i, size_t j)
{
	const uint8_t *a = im->keys + im->refs[i].keyoff, *b = im->keys + im->refs[j].keyoff;
	return a[0] == b[0] ? memcmp(a + 1, b + 1, a[0]) : 1;
}

/* Re-parses a line known to be valid. */
static void reparse(const struct import *im, size_t idx, struct line *l)
{
	char what[8];
	size_t off = im->refs[idx].off;
	parse_line(im->data + off, line_end(im, off) - off, l, what, sizeof what);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t cap2 = *cap ? *cap : 1024;
	while (cap2 < need)
		cap2 *= 2;
	void *np = realloc(*p, cap2 * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = cap2;
	return 0;
}

/* Pass 1: every line, against one read snapshot; reports the first error.
 * Leaves im->refs sorted by name. */
static int validate(ctl_t *c, struct import *im)
{
	store_txn_t *txn;
	uint32_t lineno = 0;
	char what[1024], why[600];
	int rc = 0, skip;

	if (ctl_read_begin(c, &txn))
		return CTL_EXIT_FAIL;
	for (size_t off = 0; off < im->size;) {
		size_t end = line_end(im, off);
		struct line l;
		store_zone_t z;
		store_host_t h;
		lineno++;
		rc = parse_line(im->data + off, end - off, &l, what, sizeof what);
		if (rc < 0)
			goto bad;
		if (rc == 1) {
			rc = store_zone_find(txn, &l.name, &z);
			if (rc == 0 && dname_equal(&z.name, &l.name))
				rc = ERR_ISZONE;
			skip = 0;
			if (rc == 0) {
				rc = store_host_get(txn, &l.name, &h);
				if (rc == 0 && l.token &&
				    !token_verify(h.token_hash, l.token, l.toklen)) {
					snprintf(what, sizeof what,
						 "host %s already exists with another token",
						 ctl_name(&l.name));
					rc = -EEXIST;
					goto bad;
				}
				/* A rerun after an interruption: leave it as it is. */
				skip = rc == 0;
				rc = rc == -ENOENT || rc == 0 ? 0 : rc;
			}
			if (rc == 0 && !skip &&
			    (rc = ctl_host_refused(txn, &z, &l.name, why, sizeof why)) ==
				    ERR_CLASH) {
				snprintf(what, sizeof what, "cannot import host %s: %s",
					 ctl_name(&l.name), why);
				goto bad;
			}
			if (rc < 0) {
				snprintf(what, sizeof what, "cannot import host %s",
					 ctl_name(&l.name));
				goto bad;
			}
			if (grow((void **)&im->refs, &im->caprefs, im->nrefs + 1, sizeof *im->refs) ||
			    grow((void **)&im->keys, &im->capkeys, im->nkeys + 1 + l.name.len, 1)) {
				rc = -ENOMEM;
				snprintf(what, sizeof what, "cannot import");
				goto bad;
			}
			im->refs[im->nrefs++] =
				(struct ref){off, im->nkeys, lineno, !l.token, (uint8_t)skip};
			im->keys[im->nkeys] = l.name.len;
			memcpy(im->keys + im->nkeys + 1, l.name.key, l.name.len);
			im->nkeys += 1 + (size_t)l.name.len;
		}
		off = end + 1;
	}
	store_txn_abort(txn);

	/* Sorted, the same host twice in the file is two neighbours. */
	sort_keys = im->keys;
	if (im->nrefs > 1)
		qsort(im->refs, im->nrefs, sizeof *im->refs, ref_cmp);
	for (size_t i = 1; i < im->nrefs; i++) {
		if (ref_cmp_name(im, i - 1, i) == 0) {
			struct line a;
			reparse(im, i, &a);
			return ctl_fail(-EEXIST, "%s:%u: host %s is also on line %u",
					ctl_q(im->file), im->refs[i].lineno, ctl_name(&a.name),
					im->refs[i - 1].lineno);
		}
	}
	return 0;

bad:
	store_txn_abort(txn);
	return ctl_fail(rc, "%s:%u: %s", ctl_q(im->file), lineno, what);
}

/* Pass 2, one batch [from, to) in one txn; may run again after a grow. */
static int import_txn(ctl_t *c, store_txn_t *txn, void *arg)
{
	struct import *im = arg;
	for (size_t i = im->from; i < im->to; i++) {
		struct line l;
		store_host_t h = {0};
		store_host_t old;
		const char *tok = im->tokens[i - im->from];
		int rc;

		if (im->refs[i].skip)
			continue;
		reparse(im, i, &l);
		if (l.token)
			token_hash(l.token, l.toklen, h.token_hash);
		else
			token_hash(tok, TOKEN_GEN_LEN, h.token_hash);
		h.created = im->created;
		h.ttl = im->ttl;
		/* Validation saw a snapshot; another writer may have added the
		 * host since.  Never overwrite one silently. */
		rc = store_host_get(txn, &l.name, &old);
		rc = rc == 0 ? -EEXIST : rc == -ENOENT ? 0 : rc;
		if (rc == 0)
			rc = store_host_put(txn, &l.name, &h);
		/* Addresses go through store_host_update, the only writer of a
		 * host's A/AAAA; now 0 and no client: not an update. */
		if (rc == 0 && (l.v4.family || l.v6.family)) {
			addr_t none = {0};
			int changed;
			rc = store_host_update(txn, &l.name, &l.v4, &l.v6, &none, NULL, 0, 0,
					       &changed);
		}
		if (rc < 0) {
			im->fail_line = im->refs[i].lineno;
			return ctl_txn_fail(c, rc, "%s:%u: cannot import host %s; %zu hosts imported before it",
					    ctl_q(im->file), im->refs[i].lineno, ctl_name(&l.name),
					    im->imported);
		}
	}
	return 0;
}

/* Writes the generated tokens of the batch about to be committed, and
 * makes sure they left the process (and, for a file, reached its disk):
 * a token must be out before its host exists.  0 or a negative errno. */
static int print_batch(ctl_t *c, struct import *im)
{
	struct stat st;
	for (size_t i = im->from; i < im->to; i++) {
		const char *tok = im->tokens[i - im->from];
		struct line l;
		if (!tok[0])
			continue;
		reparse(im, i, &l);
		if (c->json)
			printf("%s{\"host\":\"%s\",\"token\":\"%s\"}", im->printed ? "," : "",
			       ctl_name(&l.name), tok);
		else
			printf("%s %s\n", ctl_name(&l.name), tok);
		im->printed++;
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return -EIO;
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && fsync(STDOUT_FILENO) < 0)
		return -errno;
	return 0;
}

/* The hosts already in the store that the file agrees with (a rerun);
 * printed before anything is loaded. */
static void print_skipped(ctl_t *c, struct import *im)
{
	for (size_t i = 0; i < im->nrefs; i++) {
		struct line l;
		if (!im->refs[i].skip)
			continue;
		im->skipped++;
		if (c->json)
			continue;
		reparse(im, i, &l);
		printf("# skipped %s: already in the store\n", ctl_name(&l.name));
	}
}

static void print_end(ctl_t *c, struct import *im)
{
	size_t void_ = im->printed - im->generated;
	if (c->json) {
		printf("],\"imported\":%zu,\"generated\":%zu,\"skipped\":%zu", im->imported,
		       im->generated, im->skipped);
		if (void_)
			printf(",\"void\":%zu", void_);
		printf("}\n");
		return;
	}
	if (void_)
		printf("# NOT imported: the last %zu hosts with tokens above (their batch was "
		       "rolled back; those tokens are void)\n",
		       void_);
	printf("# imported %zu hosts from %s (%zu tokens generated, %zu skipped as already "
	       "in the store)\n",
	       im->imported, ctl_q(im->file), im->generated, im->skipped);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The size of the next batch, from the last one: `batch` hosts took `ms`.
 * Grows at most fourfold a step, so one lucky fast batch cannot make the
 * next one hold the writer for long. */
static size_t next_batch(size_t batch, double ms)
{
	double want = ms > 0.01 ? (double)batch * IMPORT_TXN_MS / ms : 4.0 * (double)batch;
	if (want > 4.0 * (double)batch)
		want = 4.0 * (double)batch;
	if (want < IMPORT_BATCH_MIN)
		return IMPORT_BATCH_MIN;
	return want > IMPORT_BATCH_MAX ? IMPORT_BATCH_MAX : (size_t)want;
}

int cmd_host_import(ctl_t *c, ctl_args_t *a)
{
	struct import im;
	size_t batch = IMPORT_BATCH_FIRST;
	int rc, status = 0;

	memset(&im, 0, sizeof im);
	im.file = a->pos[0];
	im.ttl = a->have_ttl ? a->ttl : CTL_DEFAULT_HOST_TTL;
	im.created = (uint64_t)time(NULL);
	if ((rc = read_file(&im)) < 0)
		return ctl_fail(rc, "cannot read %s", ctl_q(im.file));

	c->open_flags |= STORE_NOSYNC;
	if (ctl_open_write(c) || validate(c, &im)) {
		status = CTL_EXIT_FAIL;
		goto out;
	}
	im.tokens = malloc(IMPORT_BATCH_MAX * sizeof *im.tokens);
	if (!im.tokens) {
		status = ctl_fail(-ENOMEM, "cannot import %s", ctl_q(im.file));
		goto out;
	}
	if (c->json)
		printf("{\"tokens\":[");
	print_skipped(c, &im);
	for (im.from = 0; im.from < im.nrefs; im.from = im.to) {
		size_t gen = 0, skipped = 0;
		double t0;
		im.to = im.from + batch < im.nrefs ? im.from + batch : im.nrefs;
		/* progress lines name round numbers: end a batch there */
		if (im.to > (im.from / IMPORT_PROGRESS + 1) * IMPORT_PROGRESS)
			im.to = (im.from / IMPORT_PROGRESS + 1) * IMPORT_PROGRESS;
		/* Tokens are drawn before the txn so a redo reuses them. */
		for (size_t i = im.from; i < im.to; i++) {
			if (im.refs[i].generate && !im.refs[i].skip) {
				token_generate(im.tokens[i - im.from]);
				gen++;
			} else {
				im.tokens[i - im.from][0] = '\0';
				skipped += im.refs[i].skip;
			}
		}
		if ((rc = print_batch(c, &im)) < 0) {
			/* Never commit a host whose token we could not hand out. */
			store_sync(c->store);
			status = ctl_fail(rc,
					  "cannot write the tokens to stdout; %zu hosts imported, "
					  "the rest not",
					  im.imported);
			goto out;
		}
		t0 = now_ms();
		if (ctl_write(c, import_txn, &im)) {
			/* the batches already committed (their tokens printed) must
			 * reach the disk even though this one failed */
			store_sync(c->store);
			/* stdout still gets a well-formed summary of what is in */
			print_end(c, &im);
			status = CTL_EXIT_FAIL;
			goto out;
		}
		batch = next_batch(batch, now_ms() - t0);
		im.imported += im.to - im.from - skipped;
		im.generated += gen;
		if (im.nrefs >= IMPORT_PROGRESS &&
		    im.to / IMPORT_PROGRESS != im.from / IMPORT_PROGRESS) {
			fflush(stdout);
			fprintf(stderr, "kyednsctl: %s: %zu of %zu hosts imported\n", ctl_q(im.file),
				im.to, im.nrefs);
		}
	}
	if ((rc = store_sync(c->store)) < 0) {
		print_end(c, &im);
		status = ctl_fail(rc, "cannot sync store %s after import", ctl_q(c->db));
		goto out;
	}
	print_end(c, &im);
out:
	if (im.mapped)
		munmap((void *)im.data, im.size);
	else
		free((void *)im.data);
	free(im.refs);
	free(im.keys);
	free(im.tokens);
	return status;
}
