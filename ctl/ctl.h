/*
 * ctl - the pieces of kyednsctl shared by its command modules.
 *
 * main.c parses the command line into a ctl_t and one ctl_args_t and calls
 * one command function (zone.c, host.c, import.c, record.c); each returns
 * the process exit status: 0, CTL_EXIT_FAIL (1) after printing exactly one
 * error line on stderr, or CTL_EXIT_USAGE (2) for a malformed command line.
 *
 * Error lines have one shape, "kyednsctl: <what> (<err_str>)", and are
 * printed where the decision is made: by ctl_fail(), or, for
 * work done inside a write transaction, by ctl_write() from the message the
 * transaction body left with ctl_txn_fail().  A transaction body may run
 * more than once (the map filled up and was grown), so it must not print or
 * consume input; it leaves its output in its argument struct for the caller
 * to print after the commit.  Usage errors follow common/cli's convention
 * instead: "kyednsctl: <message>" and "Try 'kyednsctl ... --help'." (two
 * lines, exit CTL_EXIT_USAGE), by ctl_usage().
 *
 * Single-threaded; the process exits after one command, so the few global
 * buffers here (ctl_q) are fine.
 */
#ifndef KYEDNS_CTL_H
#define KYEDNS_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "store.h"

#define CTL_EXIT_FAIL 1
#define CTL_EXIT_USAGE 2
#define CTL_MAX_NS 16
#define CTL_MAX_POS 18 /* zone ns ZONE + 17 names; record content words */
#define CTL_MAX_CIDRS STORE_TOKEN_MAX_CIDRS /* --cidr of token add */

#define CTL_DEFAULT_DB "/var/lib/kyedns"
#define CTL_DEFAULT_HOST_TTL 60   /* dynamic addresses: short */
#define CTL_DEFAULT_ZONE_TTL 3600 /* SOA, NS, default of other records */
#define CTL_MAX_TTL 2147483647u   /* RFC 2181 8 */

/* Options of the command line; NULL / 0 when not given. */
typedef struct ctl_args {
	const char *pos[CTL_MAX_POS]; /* positional words after the command */
	int npos;
	const char *ns[CTL_MAX_NS];   /* --ns, repeatable */
	int nns;
	const char *masters[CTL_MAX_NS]; /* --master, repeatable */
	int nmasters;
	const char *hostmaster, *kind, *token, *ipv4, *ipv6;
	const char *zone;       /* --zone: record add/del */
	const char *mname, *rname, *account, *config_dir;
	int have_ttl, have_serial;
	uint32_t ttl, serial;
	int have_timer[4];      /* --refresh --retry --expire --minimum */
	uint32_t timer[4];
	int have_limit;
	uint32_t limit;         /* --limit: host history */
	const char *expires;    /* --expires: token add */
	const char *cidrs[CTL_MAX_CIDRS]; /* --cidr, repeatable: token add */
	int ncidrs;
	int offline, online, no_follow; /* host set switches */
	const char *wildcard, *follow, *iid; /* host set */
} ctl_args_t;

typedef struct ctl {
	const char *db;      /* store directory */
	int json;            /* --json: machine output on stdout */
	unsigned open_flags; /* extra store_open flags (import: STORE_NOSYNC) */
	store_t *store;      /* opened by ctl_open_*; closed by main */
	char what[1024];     /* failure message left by a txn body */
} ctl_t;

/* ---- errors ---- */

/* Prints "kyednsctl: <fmt...> (<err_str(rc)>)" and returns CTL_EXIT_FAIL. */
int ctl_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "kyednsctl: <fmt...>" and "Try '<hint>'." (a usage error: nothing
 * was done); returns CTL_EXIT_USAGE. */
int ctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The command of the Try line of ctl_usage ("kyednsctl zone add --help");
 * hint must stay valid.  Default: "kyednsctl --help". */
void ctl_set_hint(const char *hint);

/* Inside a txn body: remembers the message (unless rc is ERR_MAPFULL, which
 * ctl_write handles by retrying) and returns rc. */
int ctl_txn_fail(ctl_t *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* User text made safe for one line of output: at most 200 bytes, control
 * and non-ASCII bytes as \xHH.  Returns one of a few rotating static
 * buffers: valid for the next few calls only. */
const char *ctl_q(const char *s);

/* ---- store ---- */

/*
 * The store opens.  None creates a file owned by root in a store that
 * belongs to another user: run as root, the open takes the effective ids
 * of the store directory's owner (util.c, open_store).  A directory we may
 * not look into is "permission denied", never "no store".
 */

/* Opens the store for reading: a missing store is an error (printed), it
 * is never created.  A schema-1 store is opened for writing instead, which
 * migrates it (when permissions allow).  Returns 0 or CTL_EXIT_FAIL. */
int ctl_open_read(ctl_t *c);

/* Opens an existing store for writing; a missing one is an error, so that
 * a mistyped --db leaves nothing behind.  0 or CTL_EXIT_FAIL. */
int ctl_open_write(ctl_t *c);

/* Opens the store for writing, creating it if needed: only for the
 * commands that create zones (zone add, autoprimary add).  0 or
 * CTL_EXIT_FAIL. */
int ctl_open_create(ctl_t *c);

/* Runs fn in a write txn and commits.  On ERR_MAPFULL (from fn or the
 * commit) the txn is aborted, the map grown and fn run again.  On another
 * error prints the message fn left with ctl_txn_fail (or a commit error) and
 * returns CTL_EXIT_FAIL; returns 0 when committed. */
typedef int (*ctl_txn_fn)(ctl_t *c, store_txn_t *txn, void *arg);
int ctl_write(ctl_t *c, ctl_txn_fn fn, void *arg);

/* Begins a read txn (printing the error).  0 or CTL_EXIT_FAIL. */
int ctl_read_begin(ctl_t *c, store_txn_t **txn);

/* ---- parsing helpers ---- */

/* Parses a zone/record owner name; prints nothing. */
int ctl_parse_name(dname_t *out, const char *text);

/* Canonical text of n into a static rotating buffer. */
const char *ctl_name(const dname_t *n);

/* Finds zone by exact name, printing "zone X does not exist" if absent.
 * Returns 0 or CTL_EXIT_FAIL. */
int ctl_zone_must(ctl_t *c, store_txn_t *txn, const char *text, dname_t *name,
		  store_zone_t *z);

const char *ctl_kind_name(uint8_t kind);

/* Why the store would refuse a new host name in its zone z (the rules of
 * store_host_put: static records at the name, a zone cut above it, a name
 * server name of z or a zone above): ERR_CLASH with the reason, e.g. "it
 * has a static MX record in zone example.com.", in why (size bytes); 0 if
 * none; another negative code on a store error.  Works in a read txn, so
 * import can check a whole file first. */
int ctl_host_refused(store_txn_t *txn, const store_zone_t *z, const dname_t *name, char *why,
		     size_t size);

/* Parses a host name as typed (UTF-8 allowed: A-labels are stored);
 * prints "bad host name X" on failure.  0 or CTL_EXIT_FAIL. */
int ctl_parse_host(dname_t *name, const char *text);

/* The name for people: "A-labels (U-labels)" for an IDN, else the text;
 * in buf of DNAME_MAX_DISPLAY bytes, which it returns. */
const char *ctl_shown(const dname_t *n, char *buf);

/* Sets o["host"] to n's text and, for an IDN only, o["host_unicode"]. */
void ctl_json_host(json_t *o, const dname_t *n);

/* Sets o[key] to the U-label text of n when that differs from the A-label
 * text (an IDN), so the JSON of other names stays as it was. */
void ctl_json_unicode(json_t *o, const char *key, const dname_t *n);

/* Reads host name in txn, printing "host X does not exist" (or the store
 * error) when it cannot.  h may be NULL.  0 or CTL_EXIT_FAIL. */
int ctl_host_must(ctl_t *c, store_txn_t *txn, const dname_t *name, store_host_t *h);

/* A time as JSON: the ISO 8601 text of ctl_time, or null for 0. */
json_t *ctl_json_time(uint64_t t);

/* An address as JSON: its text, or null for family 0. */
json_t *ctl_json_addr(const addr_t *a);

/* Type mnemonic ("A", "TYPE65280"); static rotating buffer. */
const char *ctl_type(uint16_t type);

/* The backend form of a canonical absolute name text: the text without
 * its trailing dot (the root stays "."); static rotating buffer. */
const char *ctl_nodot(const char *text, size_t len);

/* The hint printed after zone add: pdns answers REFUSED for a zone it
 * does not know yet, until its zone cache is refreshed. */
#define CTL_SERVE_NOW "pdns_control rediscover"

/* "2026-11-27T08:37:01Z", or "-" for 0; static rotating buffer. */
const char *ctl_time(uint64_t t);

/* Address text or "-" when family 0; static rotating buffer. */
const char *ctl_addr(const addr_t *a);

/* ---- output ---- */

/* Prints obj compactly plus "\n" on stdout and decrefs it. */
void ctl_json_print(json_t *obj);

/* A JSON string, or null for NULL/empty text; bytes outside printable
 * ASCII become '?' so the output is always valid UTF-8. */
json_t *ctl_json_str(const char *s, size_t len);

/* A table for people: columns aligned, header first. */
typedef struct ctl_table {
	int ncols;
	size_t nrows, cap;
	char **cells; /* nrows x ncols, owned */
	size_t width[8];
} ctl_table_t;

void ctl_table_init(ctl_table_t *t, int ncols, ...); /* headers */
void ctl_table_row(ctl_table_t *t, ...);             /* ncols strings */
void ctl_table_print(ctl_table_t *t, FILE *f);       /* prints (f NULL: not) and frees */

/* Key/value lines for `show` commands ("key   value"). */
void ctl_kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- commands (argument checks done by main.c) ---- */

int cmd_zone_add(ctl_t *c, ctl_args_t *a);
int cmd_zone_list(ctl_t *c, ctl_args_t *a);
int cmd_zone_show(ctl_t *c, ctl_args_t *a);
int cmd_zone_del(ctl_t *c, ctl_args_t *a);
int cmd_zone_soa(ctl_t *c, ctl_args_t *a);
int cmd_zone_ns(ctl_t *c, ctl_args_t *a);
int cmd_zone_set(ctl_t *c, ctl_args_t *a);
int cmd_zone_export(ctl_t *c, ctl_args_t *a);
int cmd_zone_import(ctl_t *c, ctl_args_t *a);
int cmd_autoprimary_add(ctl_t *c, ctl_args_t *a);
int cmd_autoprimary_list(ctl_t *c, ctl_args_t *a);
int cmd_autoprimary_del(ctl_t *c, ctl_args_t *a);
int cmd_host_add(ctl_t *c, ctl_args_t *a);
int cmd_host_list(ctl_t *c, ctl_args_t *a);
int cmd_host_show(ctl_t *c, ctl_args_t *a);
int cmd_host_del(ctl_t *c, ctl_args_t *a);
int cmd_host_token(ctl_t *c, ctl_args_t *a);
int cmd_host_import(ctl_t *c, ctl_args_t *a);
int cmd_host_set(ctl_t *c, ctl_args_t *a);
int cmd_host_history(ctl_t *c, ctl_args_t *a);
int cmd_host_acme(ctl_t *c, ctl_args_t *a);
int cmd_token_add(ctl_t *c, ctl_args_t *a);
int cmd_token_list(ctl_t *c, ctl_args_t *a);
int cmd_token_revoke(ctl_t *c, ctl_args_t *a);
int cmd_record_add(ctl_t *c, ctl_args_t *a);
int cmd_record_del(ctl_t *c, ctl_args_t *a);
int cmd_record_list(ctl_t *c, ctl_args_t *a);

#endif
