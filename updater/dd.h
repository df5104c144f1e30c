/*
 * dd - the dyndns2 protocol as data: query parameters, their aliases and
 * router quirks, Basic credentials, the address rules, and the result codes.
 *
 * Everything here is a pure function on caller memory, so the protocol can
 * be tested as a table of inputs and outputs without a server.  The
 * decisions that need the store (auth, nohost, nochg) are made by the
 * server with these pieces; only this module names the dyndns2 codes.
 *
 * Parameters (docs/design.md, "The updater"): hostname (comma-separated), myip
 * (one address, or "v4,v6"), ip (alias of myip), myipv4, myipv6 / ipv6,
 * token, username, password; offline (YES/NO) and wildcard (ON/OFF/NOCHG)
 * as Dyn defined them; ip6lanprefix / ipv6prefix (a router's delegated
 * LAN prefix, "2001:db8:1:2::/56" or a bare address meaning its /64); txt
 * and clear (ACME DNS-01 values, DuckDNS and Hurricane Electric style).
 * system, mx, backmx and anything else are ignored.  A repeated parameter:
 * the last one wins.
 */
#ifndef KYEDNS_DD_H
#define KYEDNS_DD_H

#include <stddef.h>

#include "addr.h"

#define DD_MAX_HOSTS 20

enum dd_code {
	DD_GOOD,
	DD_NOCHG,
	DD_BADAUTH,
	DD_NOTFQDN,
	DD_NOHOST,
	DD_NUMHOST,
	DD_DNSERR,
	DD_ABUSE,
	DD_911,
	DD_NCODES
};

/* "good", "nochg", "badauth", ...; "911". */
const char *dd_code_str(int code);

/* HTTP status that goes with a whole-request code (401 for badauth, 400 for
 * dnserr, 500 for 911, else 200). */
int dd_code_status(int code);

/* A borrowed string; p == NULL means absent (present but empty: len 0). */
typedef struct dd_str {
	const char *p;
	size_t len;
} dd_str_t;

typedef struct dd_params {
	dd_str_t hostname, myip, myipv4, myipv6, token, username, password;
	dd_str_t offline, wildcard, prefix, txt, clear;
	char buf[2 * 2048 + 2]; /* percent-decoded values live here (query and body) */
} dd_params_t;

/*
 * Splits and percent-decodes a query string (the part after '?', len
 * bytes, '+' is a space).  A '%' not followed by two hex digits stays as it
 * is (the value then fails validation where it matters).  hostname and
 * username holding UTF-8 (internationalized names, percent-encoded as
 * routers and curl send them) become the same comma-separated list with
 * each valid IDN as its A-label text (dname_from_user: "münchen.example"
 * is "xn--mnchen-3ya.example"); an item that is no valid name stays as it
 * is.  Returns 0, or ERR_TOOBIG if the values do not fit buf.
 */
int dd_parse_query(dd_params_t *out, const char *query, size_t len);

/*
 * The same for a request with an application/x-www-form-urlencoded body
 * (Hurricane Electric's acme.sh hook posts its parameters): the query and
 * the body are one parameter list, the body's values last (so they win).
 * body may be NULL.  0 or ERR_TOOBIG.
 */
int dd_parse_form(dd_params_t *out, const char *query, size_t qlen, const char *body,
		  size_t blen);

/*
 * A switch parameter: *out = 1 for YES, ON, TRUE, 1; 0 for NO, OFF,
 * FALSE, 0 (any case); -1 when absent, empty or NOCHG (keep as it is).
 * Returns 0, or -EINVAL for any other value.
 */
int dd_switch(dd_str_t v, int *out);

/*
 * The prefix parameter: "2001:db8:1:200::/56" or a bare IPv6 address,
 * which means the /64 it lies in (OpenWrt sends its LAN address).  A value
 * that counts as not sent (dd_not_sent: "<ip6lanprefix>" of a router that
 * has none yet, empty) or is all zero ("::/64") gives *plen = 0 and
 * prefix family 0.  Bits beyond plen are cleared.  Returns 0, or ERR_BADADDR (not IPv6, or a length
 * outside 1..64: an interface identifier takes the low 64 bits).
 */
int dd_prefix(dd_str_t v, addr_t *prefix, unsigned *plen);

/* If host (len bytes) begins with the label "_acme-challenge." (any case),
 * returns the length of that label and its dot (16), else 0. */
size_t dd_acme_label(const char *host, size_t len);

/*
 * Decodes an Authorization header value "Basic base64(user:pass)" into buf
 * (size bytes) and points user and pass into it.  A user that is an IDN in
 * UTF-8 is given as its A-label text (written into buf after the password,
 * if it fits there; else left as it is).  Returns 0, or -EINVAL when the
 * value is not Basic, not base64, or has no ':'.
 */
int dd_parse_basic(const char *value, size_t len, char *buf, size_t size, dd_str_t *user,
		   dd_str_t *pass);

/*
 * Returns 1 if a value counts as "not sent": empty, unsubstituted router
 * placeholders ("<ipaddr>"), or the unspecified addresses 0.0.0.0
 * and ::.  Else 0.
 */
int dd_not_sent(const char *s, size_t len);

/*
 * Applies the address rules to the parameters: fills *v4 and *v6 (family 0
 * when that family was not sent).  myip may carry one address of either
 * family or "a,b" with one of each; myipv4 must be IPv4, myipv6 IPv6; the
 * same family given twice with different values is an error.  Returns 0,
 * or ERR_BADADDR (reply dnserr).
 */
int dd_addrs(const dd_params_t *p, addr_t *v4, addr_t *v6);

/*
 * Iterates a comma-separated host list: returns 1 and sets *host to the
 * next non-empty item (spaces around items trimmed), advancing *list; 0 at
 * the end.
 */
int dd_next_host(dd_str_t *list, dd_str_t *host);

/*
 * Writes url (len bytes) to out (size bytes, NUL-terminated) with the
 * values of token= and password= replaced by "***", the userinfo of an
 * absolute URL ("http://user:pass@host/...") by "***@", and bytes outside
 * printable ASCII escaped as \xHH, so it is safe for the log.  Returns the
 * length written (truncated to fit).
 */
size_t dd_redact(const char *url, size_t len, char *out, size_t size);

#endif
