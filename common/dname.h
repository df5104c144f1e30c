/*
 * dname - domain names: parse, validate, canonicalize, and the store key form.
 *
 * A dname_t holds a name in *key form*: its labels in reverse order (root
 * side first), each as a length byte followed by the lowercased label bytes,
 * without the root label.  "www.Example.com." becomes
 * "\x03com\x07example\x03www".  The key form has the two properties the store
 * needs: every name under a zone starts with the zone's key (one range scan
 * lists a zone, a prefix test says "is below"), and it is at most 254 bytes,
 * the wire limit of 255 less the root byte.  The root name has len 0.
 *
 * Text is presentation format (RFC 1035 5.1): labels joined by dots, an
 * optional trailing dot, \X and \DDD escapes.  Output text is always
 * absolute (trailing dot), lowercase, and escapes every byte outside
 * [a-z0-9-_*] as \DDD except '.'-free printable ones that need \X.
 *
 * Pure functions on caller memory; no allocation, thread-safe.  The IDN
 * functions at the end are the exception: they call libidn2, which
 * allocates and frees memory of its own inside each call (still
 * thread-safe).
 */
#ifndef KYEDNS_DNAME_H
#define KYEDNS_DNAME_H

#include <stddef.h>
#include <stdint.h>

#define DNAME_MAX_KEY 254   /* key bytes: wire length 255 less the root byte */
#define DNAME_MAX_LABEL 63
#define DNAME_MAX_TEXT 1024 /* worst case: 4 chars per byte, plus dot and NUL */

typedef struct dname {
	uint8_t len;                 /* bytes used in key */
	uint8_t labels;              /* number of labels, root not counted */
	uint8_t key[DNAME_MAX_KEY];  /* reversed, length-prefixed, lowercased */
} dname_t;

/*
 * Parses presentation text (len bytes, need not be NUL-terminated) into out.
 * Accepts a trailing dot or none ("example.com" and "example.com." are the
 * same absolute name), "." for the root, \X and \DDD escapes; lowercases
 * ASCII letters.  Rejects: empty text, empty labels ("a..b", ".a"), labels
 * over 63 bytes, names over 255 wire bytes, bad escapes (\256, "\1"),
 * non-ASCII bytes (a U-label must be given as its A-label "xn--..."),
 * control characters and spaces unless escaped, and "xn--" labels whose
 * Punycode does not decode.  Returns 0 or ERR_BADNAME.
 */
int dname_parse(dname_t *out, const char *text, size_t len);

/*
 * Like dname_parse, then requires a host name: every label letters, digits
 * and hyphens, not starting or ending with a hyphen, no "??--" in positions
 * 3-4 unless "xn--", at least two labels.  Returns 0, ERR_BADNAME or
 * ERR_NOTHOST.
 */
int dname_parse_host(dname_t *out, const char *text, size_t len);

/* Returns 1 if n is a valid host name (rules of dname_parse_host), else 0. */
int dname_is_host(const dname_t *n);

/*
 * Writes the canonical absolute text of n into buf (size bytes, NUL
 * terminated).  Returns the text length (without NUL) or -ENOSPC if it does
 * not fit; DNAME_MAX_TEXT always fits.
 */
int dname_to_text(const dname_t *n, char *buf, size_t size);

/* Builds a name from key bytes (as stored); returns 0 or ERR_BADNAME. */
int dname_from_key(dname_t *out, const uint8_t *key, size_t len);

/* Returns 1 if n equals or is below parent, else 0. */
int dname_is_below(const dname_t *n, const dname_t *parent);

/* Returns 1 if a and b are the same name (case-insensitively), else 0. */
int dname_equal(const dname_t *a, const dname_t *b);

/* Replaces n by its parent (drops the leftmost label). Returns 0, or -ENOENT
 * if n is the root. */
int dname_parent(dname_t *n);

/*
 * Builds child = label + "." + parent.  label is raw bytes (no escapes).
 * Returns 0, ERR_BADNAME (empty / over 63) or ERR_TOOBIG (over 255).
 */
int dname_child(dname_t *child, const dname_t *parent, const char *label, size_t len);

/* Returns 1 if the leftmost label is "*" (a wildcard owner), else 0. */
int dname_is_wildcard(const dname_t *n);

/*
 * Parses a name the way PowerDNS writes one (DNSName::toString, in every
 * qname and name pdns sends a backend): only "\.", "\\" and "\DDD" are
 * escapes, every other byte but '.' is a label byte as it stands ('@', '$',
 * '(', ')', ';', '"', non-ASCII...).  A trailing dot is optional; "." is the
 * root.  Lowercases ASCII letters.  Rejects empty labels, labels over 63
 * bytes and names over 255 wire bytes.  No Punycode or LDH checks.
 * Returns 0 or ERR_BADNAME.
 */
int dname_parse_pdns(dname_t *out, const char *text, size_t len);

/*
 * Writes n as pdns writes names inside record content (backend form):
 * absolute text without the trailing dot, the root as ".", escaping '.'
 * and '\\' as \X and bytes below 0x21 or above 0x7e as \DDD.  buf gets
 * size bytes at most, NUL-terminated.  Returns the length or -ENOSPC.
 */
int dname_to_text_nodot(const dname_t *n, char *buf, size_t size);

#define DNAME_MAX_CANON 255 /* bytes of a canonical key */

/*
 * The canonical key of n relative to apex (n must equal or be below apex;
 * apex NULL = the root, i.e. the absolute name): the labels below apex,
 * root side first, each as its bytes followed by 0x00; bytes 0x00-0x40 are
 * shifted up by one (0x01-0x41, free because letters are lowercased) so a
 * label byte never equals the terminator.  Byte order of these keys is the
 * DNSSEC canonical order of the names (RFC 4034 6.1), and the keys of the
 * names below n are exactly those that extend n's key.  The apex itself is
 * the empty key.  Writes into out (DNAME_MAX_CANON bytes) and returns the
 * length, or ERR_NOZONE if n is not at or below apex.
 */
int dname_canon_key(const dname_t *n, const dname_t *apex, uint8_t *out);

/* The inverse: builds apex + the names in key[0..len).  0 or ERR_BADNAME
 * (malformed key, or a result over 255 wire bytes). */
int dname_from_canon_key(dname_t *out, const dname_t *apex, const uint8_t *key, size_t len);

/* Compares a and b in DNSSEC canonical order: < 0, 0, > 0. */
int dname_canon_cmp(const dname_t *a, const dname_t *b);

/*
 * Internationalized names (IDNA 2008, RFC 5890-5893).  The store, the
 * backend and the wire only ever see A-labels ("xn--..."); U-labels exist
 * at the edges, where people type and read names.
 *
 * dname_from_user parses a name a person typed.  Text that is all ASCII is
 * parsed exactly as dname_parse parses it (same result, same errors).
 * Otherwise the text must be valid UTF-8; it is split at unescaped dots,
 * each label holding a byte >= 0x80 is converted to its A-label by libidn2
 * and each ASCII label parsed as dname_parse would.  The conversion is
 * IDNA 2008 lookup with the UTS #46 mapping step, nontransitional, input
 * normalized to NFC.  The mapping lowercases ("Bücher" and "BÜCHER" are
 * "bücher", as users expect), folds width variants and treats the
 * ideographic full stops as dots.  Nontransitional processing keeps "ß"
 * and ZWJ/ZWNJ distinct, as IDNA 2008 does (UTS #46 section 4: the
 * transitional kind maps these deviation characters away, for
 * compatibility with IDNA 2003 only).  UTS #46's UseSTD3ASCIIRules is
 * applied by this module rather than by libidn2's flag, because libidn2
 * 2.3 drops the characters that rule disallows instead of refusing the
 * name: every label made from a U-label must be letters, digits and
 * hyphens, so a '_' or a symbol mapped to one is refused, never dropped.
 * Emoji and the other code points IDNA 2008 leaves DISALLOWED (RFC 5892)
 * are refused.
 *
 * Returns 0, ERR_BADNAME (what dname_parse refuses, empty labels),
 * ERR_BADIDN (bad UTF-8, or a label IDNA 2008 refuses) or ERR_TOOBIG (a
 * label over 63 bytes or a name over 255 wire bytes after conversion).
 */
int dname_from_user(dname_t *out, const char *text, size_t len);

/* dname_from_user, then the host name rules of dname_is_host (checked on
 * the A-labels, which are LDH).  Returns 0, the errors of dname_from_user
 * or ERR_NOTHOST. */
int dname_from_user_host(dname_t *out, const char *text, size_t len);

/*
 * Writes the name for people: as dname_to_text (absolute, trailing dot),
 * but each A-label that is a valid IDNA 2008 label is shown as its U-label
 * in UTF-8.  An "xn--" label that does not decode, or whose U-label would
 * not convert back to the same A-label, is written as it stands.  Returns
 * the length (without NUL) or -ENOSPC; DNAME_MAX_TEXT always fits.
 * Equal to dname_to_text's output when the name has no valid A-label.
 */
int dname_to_unicode(const dname_t *n, char *buf, size_t size);

#define DNAME_MAX_DISPLAY (2 * DNAME_MAX_TEXT + 3)

/*
 * The name for people who may need both forms: the dname_to_text text,
 * followed by " (" + the dname_to_unicode text + ")" when the two differ:
 * "xn--mnchen-3ya.example. (münchen.example.)".  Returns the length or
 * -ENOSPC; DNAME_MAX_DISPLAY always fits.
 */
int dname_to_display(const dname_t *n, char *buf, size_t size);

#endif
