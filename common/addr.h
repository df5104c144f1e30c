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

/* Turns an IPv4-mapped IPv6 address (::ffff:a.b.c.d) into the IPv4
 * address it carries; any other address is left as it is.  Every address
 * that identifies a client (peer, X-Forwarded-For, X-Real-IP) and every
 * trusted-proxy network goes through this, so one client is one key. */
void addr_normalize(addr_t *a);

/* Returns 1 for an IPv4-mapped IPv6 address (::ffff:0:0/96), else 0. */
int addr_is_mapped(const addr_t *a);

/* Returns 1 for loopback (127/8, ::1), else 0. */
int addr_is_loopback(const addr_t *a);

/*
 * Returns 1 if a can never be a useful A/AAAA record in public DNS: the
 * unspecified addresses and 0/8, loopback (unless allow_loopback),
 * link-local (169.254/16, fe80::/10), multicast (224/4, ff00::/8),
 * 240/4 with the broadcast address, and IPv4-mapped IPv6.  Private ranges
 * (RFC 1918, 100.64/10, fc00::/7) and documentation ranges are *not*
 * useless: split-horizon and lab setups publish them on purpose.
 */
int addr_is_useless(const addr_t *a, int allow_loopback);

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
 * prefix).  Host bits beyond the prefix are cleared.  An IPv4-mapped
 * network with a prefix of at least 96 ("::ffff:10.0.0.0/104") becomes the
 * IPv4 network it maps (10.0.0.0/8).  0 or ERR_BADADDR. */
int addr_cidr_parse(addr_cidr_t *out, const char *s, size_t len);

/* Returns 1 if a lies within c (same family), else 0. */
int addr_cidr_match(const addr_cidr_t *c, const addr_t *a);

#endif
