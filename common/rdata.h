/*
 * rdata - record types and record content in PowerDNS's backend form.
 *
 * The store keeps content exactly as pdns 4.7 sends it to a backend and
 * expects it back (replaceRRSet, feedRecord, lookup, list): the text of
 * DNSRecordContent::getZoneRepresentation(true).  Names inside content
 * carry no trailing dot (the root is "."), keep the case they were given
 * in, and escape only '.', '\' (as \X) and bytes outside 0x21-0x7e (as
 * \DDD); numbers are plain decimal; hex is lowercase; base64 is
 * re-encoded; character-strings are double-quoted with '"' and '\' as \X
 * and bytes outside 0x20-0x7e as \DDD, and a TXT string over 255 bytes is
 * split into 255-byte strings (the form pdns prints for the wire data).
 * Types pdns has no parser for are RFC 3597 "\# len hex" (lowercase hex;
 * "\# 0 " for empty rdata, with pdns's trailing blank).
 *
 * User text (kyednsctl, zone files) goes through rdata_normalize once, at
 * write time, so equal records compare equal byte for byte.  Content that
 * arrives from pdns is checked, not rewritten, by rdata_check_backend.
 *
 * Pure functions on caller memory; no allocation, no globals; thread-safe.
 */
#ifndef KYEDNS_RDATA_H
#define KYEDNS_RDATA_H

#include <stddef.h>
#include <stdint.h>

#include "dname.h"

#define RRTYPE_MAX_TEXT 10 /* "TYPE65535" or "NSEC3PARAM", without NUL */

/*
 * Parses a type as pdns does (QType::chartocode): any mnemonic pdns 4.7.3
 * knows (QType::names, case-insensitive, SOA and ANY and the meta types
 * included) or "TYPEnnn" (1..65535, case-insensitive).  s need not be
 * NUL-terminated.  Returns 0 and *out, or ERR_BADTYPE (unknown, "TYPE0").
 */
int rrtype_parse(const char *s, size_t len, uint16_t *out);

/* Returns 1 if records of this type can be stored: any code but 0, SOA
 * (the zone value holds it), ANY and the meta types OPT TKEY TSIG IXFR
 * AXFR MAILB MAILA.  Else 0. */
int rrtype_storable(uint16_t type);

/* rrtype_parse of a NUL-terminated string, then rrtype_storable: the code,
 * or 0 if unknown or not storable. */
uint16_t rrtype_from_str(const char *s);

/* Returns pdns's mnemonic ("A") for a code, or NULL if pdns has none (it
 * then prints "TYPEnnn"; see rrtype_format).  Static storage. */
const char *rrtype_name(uint16_t type);

/* Writes the type as pdns prints it (QType::toString): the mnemonic, or
 * "TYPEnnn".  Returns the length, or -ENOSPC (RRTYPE_MAX_TEXT + 1 always
 * fits). */
int rrtype_format(uint16_t type, char *buf, size_t size);

/*
 * Validates user text for type and writes pdns's backend form to out
 * (size bytes, NUL-terminated); *outlen (may be NULL) gets its length.
 * Fields are separated by blanks (spaces, tabs); a blank before the first
 * or after the last field is refused (a quoting mistake, most likely), as
 * are NUL, CR and LF.  Names may be given with or without the trailing
 * dot and are always absolute (a relative name is not expanded; a lone
 * "@" is refused); unescaped bytes outside 0x21-0x7e in a name are
 * refused (pdns would take them raw: a U-label needs its A-label).
 * Numbers are decimal.  Hand-coded types: A AAAA NS CNAME DNAME PTR MB MG
 * MR ALIAS MINFO RP MX KX AFSDB LP SRV TXT SPF HINFO NAPTR LOC CAA URI
 * SSHFP TLSA SMIMEA DS CDS DLV DNSKEY CDNSKEY KEY RKEY DHCID CERT
 * OPENPGPKEY NSEC3PARAM ZONEMD SVCB HTTPS EUI48 EUI64 L32 L64 NID APL.
 * TXT/SPF: content that starts with '"' is a list of quoted strings with
 * \X and \DDD escapes, anything else one literal string (blanks and all).
 * HINFO, NAPTR, CAA and URI strings may be quoted or one bare word.
 * "\# len hex" (RFC 3597, hex may be split by blanks) is accepted for
 * every storable type: types pdns has no parser for (SIG, A6, ADDR and
 * codes without a name) keep that form and accept no other; the basic
 * types (A AAAA, the single-name types, MX KX AFSDB SRV TXT SPF) are
 * decoded to their own form; other types refuse it, as pdns does.
 * Returns 0, ERR_BADTYPE (not storable, or a type pdns parses that is not
 * hand-coded here: RRSIG NSEC NSEC3 IPSECKEY CSYNC LUA), ERR_BADCONTENT,
 * or ERR_TOOBIG (over STORE_MAX_CONTENT or out of room in out; nothing
 * truncated is ever returned as success).
 */
int rdata_normalize(uint16_t type, const char *in, size_t len, char *out, size_t size,
                    size_t *outlen);

/*
 * Converts content stored by schema 1 (names with a trailing dot, escaped
 * as dname_to_text does; types A NS CNAME PTR MX TXT AAAA SRV DS SSHFP
 * TLSA CAA SVCB HTTPS) to the backend form: names lose the trailing dot
 * and are re-escaped as pdns does ("a\@b.example." -> "a@b.example"); the
 * root stays "."; everything else is copied.  Writes out as
 * rdata_normalize does.  Returns 0, ERR_CORRUPT (content that schema 1
 * could not have written), ERR_BADTYPE (a type schema 1 did not have) or
 * ERR_TOOBIG.
 */
int rdata_v1_to_v2(uint16_t type, const char *in, size_t len, char *out, size_t size,
                   size_t *outlen);

typedef struct rdata_soa {
	dname_t mname, rname;
	uint32_t serial, refresh, retry, expire, minimum;
} rdata_soa_t;

/*
 * Parses SOA content in pdns's form: "mname rname serial refresh retry
 * expire minimum", fields separated by blanks, names as dname_parse_pdns
 * reads them (trailing dot optional), numbers decimal 0..2^32-1 (digits
 * only).  Returns 0 or ERR_BADCONTENT.
 */
int rdata_soa_parse(const char *content, size_t len, rdata_soa_t *out);

/* Writes SOA content in pdns's form (names without trailing dot, single
 * blanks).  Returns the length, or -ENOSPC. */
int rdata_soa_format(const dname_t *mname, const dname_t *rname, uint32_t serial, uint32_t refresh,
                     uint32_t retry, uint32_t expire, uint32_t minimum, char *buf, size_t size);

/*
 * Sanity check of content that comes from pdns (feedRecord, replaceRRSet),
 * which has already parsed it: at most STORE_MAX_CONTENT bytes, no NUL, CR
 * or LF, not empty (except APL, whose empty rdata pdns prints as ""), and
 * a cheap structural check per type: A and AAAA a valid address, numbers
 * where numbers belong, names that dname_parse_pdns reads, SOA as
 * rdata_soa_parse, "\# len hex" consistent for types pdns has no parser
 * for.  It accepts every form pdns itself writes, including the zone
 * file text pdnsutil load-zone passes on ('"a"   "b"', "52 22 23 N 4 53
 * 32 E -2m", "\# 3 ABCDEF"): to store such content in the one canonical
 * form, pass it through rdata_normalize as well and keep its output when
 * it succeeds (pdns's getZoneRepresentation(true) forms come out
 * unchanged), else keep the content as it came.  SOA content is checked
 * too (as rdata_soa_parse).  Returns 0, ERR_BADTYPE (neither storable nor
 * SOA), ERR_TOOBIG or ERR_BADCONTENT.
 */
int rdata_check_backend(uint16_t type, const char *content, size_t len);

#endif
