/*
 * addr - strict IP address parsing and formatting.
 *
 * Only the canonical forms people and routers actually send are accepted:
 * IPv4 as exactly four decimal octets without leading zeros or spaces
 * ("1.2.3.4"; not "1.2.3", "01.2.3.4", "1.2.3.4 ", "0x7f.1", "1.2.3.4/24");
 * IPv6 as RFC 4291 text without zone id ("fe80::1%eth0" is rejected) and
 * without brackets.  IPv4-mapped IPv6 ("::ffff:1.2.3.4") is a valid IPv6.
 * Pure functions; no allocation; thread-safe.
 */
#ifndef KYEDNS_ADDR_H
#define KYEDNS_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define ADDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

typedef struct addr {
	uint8_t family;    /* 4 or 6; 0 = none */
	uint8_t bytes[16]; /* network order; IPv4 uses the first 4 */
} addr_t;

/* Parses s (len bytes, need not be NUL-terminated).  Each returns 0 or
 * ERR_BADADDR. */
int addr_parse4(addr_t *out, const char *s, size_t len);
int addr_parse6(addr_t *out, const char *s, size_t len);
/* Either family, decided by the presence of ':'. */
int addr_parse(addr_t *out, const char *s, size_t len);

/* Writes canonical text (RFC 5952 for IPv6) into buf of size >=
 * ADDR_TEXT_MAX; returns the length. */
int addr_format(const addr_t *a, char *buf, size_t size);

/* Returns 1 for 0.0.0.0 and ::, else 0. */
int addr_is_unspecified(const addr_t *a);

/* Returns 1 if a and b are the same family and bytes. */
int addr_equal(const addr_t *a, const addr_t *b);

/* Fills out from a struct sockaddr (AF_INET/AF_INET6).  An IPv4-mapped IPv6
 * peer (::ffff:a.b.c.d) becomes IPv4.  Returns 0 or ERR_BADADDR. */
int addr_from_sockaddr(addr_t *out, const void *sockaddr);

typedef struct addr_cidr {
	addr_t net;
	uint8_t prefix; /* 0..32 or 0..128 */
} addr_cidr_t;

/* Parses "1.2.3.0/24", "2001:db8::/32" or a bare address (full-length
 * prefix).  Host bits beyond the prefix are cleared.  0 or ERR_BADADDR. */
int addr_cidr_parse(addr_cidr_t *out, const char *s, size_t len);

/* Returns 1 if a lies within c (same family), else 0. */
int addr_cidr_match(const addr_cidr_t *c, const addr_t *a);

#endif
