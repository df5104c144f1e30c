/*
 * rdata - record types and content in pdns's backend form (see rdata.h).
 *
 * The output of every hand-coded type follows what pdns 4.7.3 prints for
 * the record (DNSRecordContent::getZoneRepresentation(true) of the parsed
 * record), checked against pdnsutil on a corpus (tests/unit/test_rdata.c).
 * Where pdns keeps text fields the way the user typed them (its text parser
 * stores TXT, HINFO, NAPTR, CAA and URI strings still escaped), this module
 * writes the form pdns prints for the same record read from the wire:
 * one escaping per byte and TXT strings of at most 255 bytes.  Both forms
 * give the same wire data, and a stored form that depends only on the
 * record is what makes duplicate detection a memcmp.
 *
 * Input is parsed more strictly than pdns parses it (pdns ignores some
 * trailing garbage and wraps some overflows); anything this module
 * accepts, pdns accepts.
 */
#include "rdata.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "dname.h"
#include "err.h"
#include "store.h"

#define TXT_CHUNK 255 /* bytes of one character-string on the wire */

/* ---- type table ---- */

enum {
	T_META = 1,  /* not storable */
	T_PARSER = 2 /* pdns 4.7.3 has a record content parser for it */
};

/* QType::names of pdns 4.7.3 (TSIG is commented out there, so pdns prints
 * it as TYPE250), with the types reportAllTypes() registers a parser for.
 * Sorted by code. */
static const struct {
	uint16_t type;
	const char *name;
	uint8_t flags;
} types[] = {
        {1, "A", T_PARSER},
        {2, "NS", T_PARSER},
        {5, "CNAME", T_PARSER},
        {6, "SOA", T_PARSER | T_META},
        {7, "MB", T_PARSER},
        {8, "MG", T_PARSER},
        {9, "MR", T_PARSER},
        {12, "PTR", T_PARSER},
        {13, "HINFO", T_PARSER},
        {14, "MINFO", T_PARSER},
        {15, "MX", T_PARSER},
        {16, "TXT", T_PARSER},
        {17, "RP", T_PARSER},
        {18, "AFSDB", T_PARSER},
        {24, "SIG", 0},
        {25, "KEY", T_PARSER},
        {28, "AAAA", T_PARSER},
        {29, "LOC", T_PARSER},
        {33, "SRV", T_PARSER},
        {35, "NAPTR", T_PARSER},
        {36, "KX", T_PARSER},
        {37, "CERT", T_PARSER},
        {38, "A6", 0},
        {39, "DNAME", T_PARSER},
        {41, "OPT", T_PARSER | T_META},
        {42, "APL", T_PARSER},
        {43, "DS", T_PARSER},
        {44, "SSHFP", T_PARSER},
        {45, "IPSECKEY", T_PARSER},
        {46, "RRSIG", T_PARSER},
        {47, "NSEC", T_PARSER},
        {48, "DNSKEY", T_PARSER},
        {49, "DHCID", T_PARSER},
        {50, "NSEC3", T_PARSER},
        {51, "NSEC3PARAM", T_PARSER},
        {52, "TLSA", T_PARSER},
        {53, "SMIMEA", T_PARSER},
        {57, "RKEY", T_PARSER},
        {59, "CDS", T_PARSER},
        {60, "CDNSKEY", T_PARSER},
        {61, "OPENPGPKEY", T_PARSER},
        {62, "CSYNC", T_PARSER},
        {63, "ZONEMD", T_PARSER},
        {64, "SVCB", T_PARSER},
        {65, "HTTPS", T_PARSER},
        {99, "SPF", T_PARSER},
        {104, "NID", T_PARSER},
        {105, "L32", T_PARSER},
        {106, "L64", T_PARSER},
        {107, "LP", T_PARSER},
        {108, "EUI48", T_PARSER},
        {109, "EUI64", T_PARSER},
        {249, "TKEY", T_PARSER | T_META},
        {251, "IXFR", T_META},
        {252, "AXFR", T_META},
        {253, "MAILB", T_META},
        {254, "MAILA", T_META},
        {255, "ANY", T_META},
        {256, "URI", T_PARSER},
        {257, "CAA", T_PARSER},
        {32769, "DLV", T_PARSER},
        {65400, "ADDR", 0},
        {65401, "ALIAS", T_PARSER},
        {65402, "LUA", T_PARSER},
};

#define NTYPES (sizeof(types) / sizeof(types[0]))

/* types[] is sorted by code: a binary search (rrtype_name is on the
 * backend's answer path). */
static int type_index(uint16_t type)
{
	size_t lo = 0, hi = NTYPES;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (types[mid].type == type)
			return (int)mid;
		if (types[mid].type < type)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int rrtype_parse(const char *s, size_t len, uint16_t *out)
{
	if (!s || len == 0)
		return ERR_BADTYPE;
	/* first letter before strlen: this runs for every lookup's qtype */
	for (size_t i = 0; i < NTYPES; i++)
		if ((s[0] & 0xdf) == types[i].name[0] && strlen(types[i].name) == len &&
		    strncasecmp(s, types[i].name, len) == 0) {
			*out = types[i].type;
			return 0;
		}
	if (len > 4 && len <= 9 && strncasecmp(s, "TYPE", 4) == 0) {
		unsigned long v = 0;
		for (size_t i = 4; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return ERR_BADTYPE;
			v = v * 10 + (unsigned long)(s[i] - '0');
		}
		if (v == 0 || v > 65535)
			return ERR_BADTYPE;
		*out = (uint16_t)v;
		return 0;
	}
	return ERR_BADTYPE;
}

int rrtype_storable(uint16_t type)
{
	int i;
	if (type == 0 || type == 250) /* ENT marker; TSIG */
		return 0;
	i = type_index(type);
	return i < 0 || !(types[i].flags & T_META);
}

uint16_t rrtype_from_str(const char *s)
{
	uint16_t t;
	if (!s || rrtype_parse(s, strlen(s), &t) < 0 || !rrtype_storable(t))
		return 0;
	return t;
}

const char *rrtype_name(uint16_t type)
{
	int i = type_index(type);
	return i < 0 ? NULL : types[i].name;
}

int rrtype_format(uint16_t type, char *buf, size_t size)
{
	const char *n = rrtype_name(type);
	int len;
	if (n)
		len = snprintf(buf, size, "%s", n);
	else
		len = snprintf(buf, size, "TYPE%u", (unsigned)type);
	if (len < 0 || (size_t)len >= size)
		return -ENOSPC;
	return len;
}

/* 1 if pdns parses this type's presentation form (else only "\#" works). */
static int type_has_parser(uint16_t type)
{
	int i = type_index(type);
	return i >= 0 && (types[i].flags & T_PARSER);
}

/* ---- output buffer ---- */

/* Appends to a caller buffer; on overflow remembers it and stops writing,
 * so callers check once at the end. */
typedef struct outbuf {
	char *p;
	size_t size, len;
	int full;
} outbuf_t;

static void out_mem(outbuf_t *o, const void *s, size_t n)
{
	if (o->full || o->len + n + 1 > o->size) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void out_str(outbuf_t *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

static void out_uint(outbuf_t *o, unsigned long v)
{
	char b[24];
	int n = snprintf(b, sizeof b, "%lu", v);
	out_mem(o, b, (size_t)n);
}

/* Separates fields: a blank unless o is still empty. */
static void out_sep(outbuf_t *o)
{
	if (o->len > 0)
		out_mem(o, " ", 1);
}

/* One byte of a character-string as pdns prints it (txtEscape): printable
 * ASCII as is, '"' and '\' as \X, everything else \DDD. */
static void out_txt_byte(outbuf_t *o, uint8_t c)
{
	if (c == '"' || c == '\\') {
		char e[2] = {'\\', (char)c};
		out_mem(o, e, 2);
	} else if (c >= 0x20 && c < 0x7f) {
		out_mem(o, &c, 1);
	} else {
		char e[5];
		snprintf(e, sizeof e, "\\%03u", c);
		out_mem(o, e, 4);
	}
}

static void out_quoted(outbuf_t *o, const uint8_t *s, size_t n)
{
	out_mem(o, "\"", 1);
	for (size_t i = 0; i < n; i++)
		out_txt_byte(o, s[i]);
	out_mem(o, "\"", 1);
}

static const char hexdigits[] = "0123456789abcdef";

static void out_hex(outbuf_t *o, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char h[2] = {hexdigits[s[i] >> 4], hexdigits[s[i] & 15]};
		out_mem(o, h, 2);
	}
}

/* ---- scanning ---- */

typedef struct scan {
	const char *p, *end;
} scan_t;

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void skip_blanks(scan_t *s)
{
	while (s->p < s->end && is_blank(*s->p))
		s->p++;
}

static int at_end(scan_t *s)
{
	skip_blanks(s);
	return s->p == s->end;
}

/* Takes the next blank-delimited field.  Returns 1, or 0 at the end. */
static int field(scan_t *s, const char **f, size_t *n)
{
	skip_blanks(s);
	if (s->p == s->end)
		return 0;
	*f = s->p;
	while (s->p < s->end && !is_blank(*s->p))
		s->p++;
	*n = (size_t)(s->p - *f);
	return 1;
}

/* Parses a decimal number of at most max: digits only. */
static int parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (n == 0 || n > 10)
		return ERR_BADCONTENT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ERR_BADCONTENT;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return ERR_BADCONTENT;
	*out = v;
	return 0;
}

/* Takes a number field of at most max; writes it as a field of o. */
static int take_uint(scan_t *s, unsigned long max, outbuf_t *o, unsigned long *val)
{
	const char *f;
	size_t n;
	unsigned long v;
	if (!field(s, &f, &n) || parse_uint(f, n, max, &v) < 0)
		return ERR_BADCONTENT;
	out_sep(o);
	out_uint(o, v);
	if (val)
		*val = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- names ---- */

/*
 * Decodes a name in presentation text the way pdns's DNSName does (\X and
 * \DDD escapes, every other printable byte but '.' literal, case kept;
 * other bytes must be escaped) into wire
 * form (length-prefixed labels and the root byte) in w.  Returns 0 and the
 * wire length in *wlen, or ERR_BADCONTENT.
 */
static int name_decode(const char *s, size_t n, uint8_t w[256], size_t *wlen)
{
	size_t i = 0, o = 0;
	if (n == 0)
		return ERR_BADCONTENT;
	if (n == 1 && s[0] == '.') {
		w[0] = 0;
		*wlen = 1;
		return 0;
	}
	while (i < n) {
		size_t lpos = o++;
		unsigned ll = 0;
		if (lpos >= 255)
			return ERR_BADCONTENT;
		while (i < n && s[i] != '.') {
			uint8_t c = (uint8_t)s[i++];
			if (c <= 0x20 || c >= 0x7f) {
				/* pdns takes these bytes as they are, but typed
				 * unescaped they are a mistake (a U-label needs its
				 * A-label) */
				return ERR_BADCONTENT;
			} else if (c == '\\') {
				if (i >= n)
					return ERR_BADCONTENT;
				if (s[i] >= '0' && s[i] <= '9') {
					unsigned v;
					if (i + 3 > n || s[i + 1] < '0' || s[i + 1] > '9' ||
					    s[i + 2] < '0' || s[i + 2] > '9')
						return ERR_BADCONTENT;
					v = (unsigned)(s[i] - '0') * 100 +
					    (unsigned)(s[i + 1] - '0') * 10 +
					    (unsigned)(s[i + 2] - '0');
					if (v > 255)
						return ERR_BADCONTENT;
					c = (uint8_t)v;
					i += 3;
				} else {
					c = (uint8_t)s[i++];
				}
			}
			if (++ll > DNAME_MAX_LABEL || o >= 255)
				return ERR_BADCONTENT;
			w[o++] = c;
		}
		if (ll == 0)
			return ERR_BADCONTENT; /* "a..b", ".a", "a.." */
		w[lpos] = (uint8_t)ll;
		if (i < n)
			i++; /* the dot; a trailing one ends the loop */
	}
	if (o >= 255)
		return ERR_BADCONTENT;
	w[o++] = 0;
	*wlen = o;
	return 0;
}

/* Writes a wire name as pdns's DNSName::toStringRootDot does. */
static void name_encode(outbuf_t *o, const uint8_t *w)
{
	size_t k = 0;
	if (w[0] == 0) {
		out_mem(o, ".", 1);
		return;
	}
	while (w[k] != 0) {
		if (k > 0)
			out_mem(o, ".", 1);
		for (uint8_t j = 1; j <= w[k]; j++) {
			uint8_t c = w[k + j];
			if (c == '.' || c == '\\') {
				char e[2] = {'\\', (char)c};
				out_mem(o, e, 2);
			} else if (c > 0x20 && c < 0x7f) {
				out_mem(o, &c, 1);
			} else {
				char e[5];
				snprintf(e, sizeof e, "\\%03u", c);
				out_mem(o, e, 4);
			}
		}
		k += w[k] + 1u;
	}
}

/* Takes a name field and writes it in backend form.  A lone "@" is
 * refused: it can only be a zone-file origin this module cannot expand. */
static int take_name(scan_t *s, outbuf_t *o)
{
	const char *f;
	size_t n, wl;
	uint8_t w[256];
	if (!field(s, &f, &n) || (n == 1 && f[0] == '@') || name_decode(f, n, w, &wl) < 0)
		return ERR_BADCONTENT;
	out_sep(o);
	name_encode(o, w);
	return 0;
}

/* ---- character-strings ---- */

/*
 * Decodes the next byte of a character-string.  Quoted strings end at an
 * unescaped '"'; bare ones at a blank or the end.  Returns 1 and *c, 0 at
 * the end of the string (a quoted string's closing quote is consumed), or
 * ERR_BADCONTENT (unterminated, bad escape).
 */
static int cstr_next(scan_t *s, int quoted, uint8_t *c)
{
	const char *p = s->p;
	if (p >= s->end)
		return quoted ? ERR_BADCONTENT : 0;
	if (quoted && *p == '"') {
		s->p = p + 1;
		return 0;
	}
	if (!quoted && is_blank(*p))
		return 0;
	if (!quoted && *p == '"')
		return ERR_BADCONTENT; /* a quote inside a bare string */
	if (*p != '\\') {
		*c = (uint8_t)*p;
		s->p = p + 1;
		return 1;
	}
	p++;
	if (p >= s->end)
		return ERR_BADCONTENT;
	if (*p >= '0' && *p <= '9') {
		unsigned v = 0;
		if (s->end - p < 3)
			return ERR_BADCONTENT;
		for (int i = 0; i < 3; i++) {
			if (p[i] < '0' || p[i] > '9')
				return ERR_BADCONTENT;
			v = v * 10 + (unsigned)(p[i] - '0');
		}
		if (v > 255)
			return ERR_BADCONTENT;
		*c = (uint8_t)v;
		s->p = p + 3;
		return 1;
	}
	*c = (uint8_t)*p;
	s->p = p + 1;
	return 1;
}

/* Starts a character-string at the next field: returns 1 if quoted, 0 if
 * bare, ERR_BADCONTENT if there is none. */
static int cstr_begin(scan_t *s)
{
	skip_blanks(s);
	if (s->p == s->end)
		return ERR_BADCONTENT;
	if (*s->p == '"') {
		s->p++;
		return 1;
	}
	return 0;
}

/* After a string: the end, or a blank before the next field. */
static int cstr_done(scan_t *s)
{
	if (s->p < s->end && !is_blank(*s->p))
		return ERR_BADCONTENT; /* "a"b */
	return 0;
}

/* Takes one character-string of at most max bytes and writes it quoted. */
static int take_cstr(scan_t *s, size_t max, outbuf_t *o)
{
	int q = cstr_begin(s), r;
	size_t n = 0;
	uint8_t c;
	if (q < 0)
		return q;
	out_sep(o);
	out_mem(o, "\"", 1);
	while ((r = cstr_next(s, q, &c)) == 1) {
		if (++n > max)
			return ERR_BADCONTENT;
		out_txt_byte(o, c);
	}
	if (r < 0)
		return r;
	out_mem(o, "\"", 1);
	return cstr_done(s);
}

/* TXT and SPF: quoted strings, or one literal bare string; written as
 * strings of at most 255 bytes. */
static int norm_txt(const char *in, size_t len, outbuf_t *o)
{
	scan_t s = {in, in + len};
	size_t wire = 0;

	if (*in != '"') {
		/* Bare text: literal bytes, one string (split if long). */
		size_t off = 0;
		do {
			size_t c = len - off > TXT_CHUNK ? TXT_CHUNK : len - off;
			out_sep(o);
			out_quoted(o, (const uint8_t *)in + off, c);
			wire += 1 + c;
			off += c;
		} while (off < len);
	} else {
		while (!at_end(&s)) {
			int r;
			size_t n = 0;
			uint8_t c;
			if (*s.p != '"')
				return ERR_BADCONTENT;
			s.p++;
			out_sep(o);
			out_mem(o, "\"", 1);
			while ((r = cstr_next(&s, 1, &c)) == 1) {
				if (n == TXT_CHUNK) {
					out_mem(o, "\" \"", 3);
					wire += 1 + n;
					n = 0;
				}
				out_txt_byte(o, c);
				n++;
			}
			if (r < 0)
				return r;
			out_mem(o, "\"", 1);
			wire += 1 + n;
			if (cstr_done(&s) < 0)
				return ERR_BADCONTENT;
			if (wire > STORE_MAX_CONTENT)
				return ERR_TOOBIG;
		}
	}
	if (wire > STORE_MAX_CONTENT)
		return ERR_TOOBIG;
	return 0;
}

/* ---- hex and base64 ---- */

/* The rest of the content is hex, possibly split by blanks; writes it
 * lowercase without blanks.  want: required number of bytes, or 0 for any
 * non-zero length. */
static int take_hex_rest(scan_t *s, outbuf_t *o, size_t want)
{
	const char *f;
	size_t n, total = 0;
	out_sep(o);
	while (field(s, &f, &n)) {
		for (size_t i = 0; i < n; i++) {
			int v = hexval(f[i]);
			if (v < 0)
				return ERR_BADCONTENT;
			out_mem(o, &hexdigits[v], 1);
		}
		total += n;
	}
	if (total == 0 || total % 2)
		return ERR_BADCONTENT;
	if (want && total != want * 2)
		return ERR_BADCONTENT;
	return 0;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Base64 from the rest of the content with blanks allowed anywhere (all,
 * as pdns reads it) or from one field; the caller writes the separator.
 * Writes the canonical encoding (no blanks, padding, unused bits zero:
 * what pdns re-encodes) and returns the decoded length, or ERR_BADCONTENT
 * (bad character, bad padding, empty).
 */
static long take_b64(scan_t *s, outbuf_t *o, int all)
{
	const char *f;
	size_t n;
	char q[4];
	int qn = 0, pad = 0;
	long bytes = 0;

	while (field(s, &f, &n)) {
		for (size_t i = 0; i < n; i++) {
			if (f[i] == '=') {
				if (qn < 2)
					return ERR_BADCONTENT;
				pad++;
				q[qn++] = 'A';
			} else {
				if (pad || b64val(f[i]) < 0)
					return ERR_BADCONTENT;
				q[qn++] = f[i];
			}
			if (qn == 4) {
				/* unused bits of the last character are zero in
				 * the canonical form */
				if (pad == 2)
					q[1] = b64chars[b64val(q[1]) & 0x30];
				else if (pad == 1)
					q[2] = b64chars[b64val(q[2]) & 0x3c];
				out_mem(o, q, (size_t)(4 - pad));
				out_mem(o, "==", (size_t)pad);
				bytes += 3 - pad;
				qn = 0;
				if (pad)
					pad = -1; /* nothing may follow padding */
			}
		}
		if (!all)
			break;
	}
	if (qn != 0 || bytes == 0)
		return ERR_BADCONTENT;
	return bytes;
}

/* ---- addresses ---- */

static int put_ip4(outbuf_t *o, const char *f, size_t n)
{
	addr_t a;
	char text[ADDR_TEXT_MAX];
	if (addr_parse4(&a, f, n) < 0)
		return ERR_BADCONTENT;
	addr_format(&a, text, sizeof text);
	out_str(o, text);
	return 0;
}

/* IPv6 as pdns prints it: inet_ntop. */
static int put_ip6(outbuf_t *o, const char *f, size_t n)
{
	addr_t a;
	char text[INET6_ADDRSTRLEN];
	if (addr_parse6(&a, f, n) < 0 || !inet_ntop(AF_INET6, a.bytes, text, sizeof text))
		return ERR_BADCONTENT;
	out_str(o, text);
	return 0;
}

/* ---- LOC (RFC 1876) ---- */

/* Parses "m[.cc][m]" into centimetres; max in centimetres. */
static int loc_metres(const char *f, size_t n, uint64_t max, uint64_t *cm)
{
	uint64_t m = 0;
	unsigned frac = 0;
	size_t i = 0, d = 0;
	if (n > 0 && (f[n - 1] == 'm' || f[n - 1] == 'M'))
		n--;
	while (i < n && f[i] >= '0' && f[i] <= '9' && d < 12)
		m = m * 10 + (uint64_t)(f[i++] - '0'), d++;
	if (d == 0)
		return ERR_BADCONTENT;
	if (i < n && f[i] == '.') {
		size_t fd = 0;
		i++;
		while (i < n && f[i] >= '0' && f[i] <= '9' && fd < 2)
			frac = frac * 10 + (unsigned)(f[i++] - '0'), fd++;
		if (fd == 1)
			frac *= 10;
	}
	if (i != n)
		return ERR_BADCONTENT;
	*cm = m * 100 + frac;
	return *cm > max ? ERR_BADCONTENT : 0;
}

/* The RFC 1876 size/precision byte for a length in centimetres. */
static uint8_t loc_prec(uint64_t cm)
{
	static const uint64_t pow10[10] = {1,      10,      100,      1000,      10000,
	                                   100000, 1000000, 10000000, 100000000, 1000000000};
	unsigned e = 0;
	uint64_t mant;
	while (e < 9 && cm >= pow10[e + 1])
		e++;
	mant = cm / pow10[e];
	if (mant > 9)
		mant = 9;
	return (uint8_t)(mant << 4 | e);
}

static double loc_prec_metres(uint8_t v)
{
	double d = 0.01 * ((v >> 4) & 0xf);
	for (int c = v & 0xf; c > 0; c--)
		d *= 10;
	return d;
}

/* Parses "deg [min [sec[.fff]]] H" with H one of hemis (2 letters); value
 * in thousandths of an arc second from the equator/meridian. */
static int loc_angle(scan_t *s, const char *hemis, unsigned maxdeg, uint32_t *out)
{
	const char *f;
	size_t n;
	unsigned long v[3] = {0, 0, 0};
	unsigned frac = 0;
	int k = 0;
	for (;;) {
		if (!field(s, &f, &n))
			return ERR_BADCONTENT;
		if (n == 1 && (f[0] == hemis[0] || f[0] == hemis[0] + 32 || f[0] == hemis[1] ||
		               f[0] == hemis[1] + 32))
			break;
		if (k == 3)
			return ERR_BADCONTENT;
		if (k == 2) {
			size_t dot = 0;
			while (dot < n && f[dot] != '.')
				dot++;
			/* 60: pdns's own output can say "8 60.000" for 9'0" */
			if (parse_uint(f, dot, 60, &v[2]) < 0)
				return ERR_BADCONTENT;
			if (dot < n) {
				size_t fd = n - dot - 1;
				unsigned long fr;
				if (fd == 0 || fd > 3 || parse_uint(f + dot + 1, fd, 999, &fr) < 0)
					return ERR_BADCONTENT;
				frac = (unsigned)fr * (fd == 1 ? 100 : fd == 2 ? 10 : 1);
			}
		} else if (parse_uint(f, n, k == 0 ? maxdeg : 59, &v[k]) < 0) {
			return ERR_BADCONTENT;
		}
		k++;
	}
	if (k == 0)
		return ERR_BADCONTENT;
	{
		uint64_t t = ((v[0] * 60 + v[1]) * 60 + v[2]) * 1000 + frac;
		int neg = f[0] == hemis[1] || f[0] == hemis[1] + 32;
		if (t > (uint64_t)maxdeg * 3600000)
			return ERR_BADCONTENT;
		*out = neg ? (uint32_t)(0x80000000u - t) : (uint32_t)(0x80000000u + t);
	}
	return 0;
}

static double dabs(double d)
{
	return d < 0 ? -d : d;
}

/* Writes one coordinate as pdns's LOCRecordContent::getZoneRepresentation
 * does, with the same double arithmetic so the digits agree. */
static void loc_put_angle(outbuf_t *o, uint32_t raw, char pos, char neg)
{
	double v = ((int32_t)(raw - 0x80000000u)) / 3600000.0;
	double rem = 60.0 * (v - (int)v);
	char b[64];
	int len =
	        snprintf(b, sizeof b, "%d %d %2.03f %c", abs((int)v), abs((int)((v - (int)v) * 60)),
	                 dabs((rem - (int)rem) * 60.0), v > 0 ? pos : neg);
	out_mem(o, b, (size_t)len);
}

static int norm_loc(scan_t *s, outbuf_t *o)
{
	uint32_t lat, lon, alt;
	uint8_t size = 0x12, hp = 0x16, vp = 0x13; /* 1m, 10000m, 10m */
	const char *f;
	size_t n;
	uint64_t cm;
	int neg = 0;
	char b[128];
	int len;

	if (loc_angle(s, "NS", 90, &lat) < 0 || loc_angle(s, "EW", 180, &lon) < 0)
		return ERR_BADCONTENT;
	if (!field(s, &f, &n))
		return ERR_BADCONTENT;
	if (n > 0 && (f[0] == '-' || f[0] == '+')) {
		neg = f[0] == '-';
		f++;
		n--;
	}
	/* -100000.00 .. 21374836.47 m: pdns prints the altitude through an
	 * int32, so higher values (legal in RFC 1876) would come out wrong. */
	if (loc_metres(f, n, neg ? 10000000 : 2137483647, &cm) < 0)
		return ERR_BADCONTENT;
	alt = neg ? (uint32_t)(10000000 - cm) : (uint32_t)(10000000 + cm);
	if (field(s, &f, &n)) {
		if (loc_metres(f, n, 9000000000ULL, &cm) < 0)
			return ERR_BADCONTENT;
		size = loc_prec(cm);
		if (field(s, &f, &n)) {
			if (loc_metres(f, n, 9000000000ULL, &cm) < 0)
				return ERR_BADCONTENT;
			hp = loc_prec(cm);
			if (field(s, &f, &n)) {
				if (loc_metres(f, n, 9000000000ULL, &cm) < 0)
					return ERR_BADCONTENT;
				vp = loc_prec(cm);
			}
		}
	}
	if (!at_end(s))
		return ERR_BADCONTENT;
	loc_put_angle(o, lat, 'N', 'S');
	out_mem(o, " ", 1);
	loc_put_angle(o, lon, 'E', 'W');
	len = snprintf(b, sizeof b, " %.2fm %.2fm %.2fm %.2fm", ((int32_t)alt) / 100.0 - 100000,
	               loc_prec_metres(size), loc_prec_metres(hp), loc_prec_metres(vp));
	out_mem(o, b, (size_t)len);
	return 0;
}

/* ---- SVCB and HTTPS (RFC 9460) ---- */

static const char *const svc_keys[] = {"mandatory", "alpn", "no-default-alpn", "port",
                                       "ipv4hint",  "ech",  "ipv6hint"};

/* A SvcParamKey name: a known name, or "keyNNNN".  Returns the code or -1. */
static long svc_key(const char *k, size_t n)
{
	unsigned long v;
	for (unsigned i = 0; i < 7; i++)
		if (strlen(svc_keys[i]) == n && memcmp(k, svc_keys[i], n) == 0)
			return i;
	if (n > 3 && memcmp(k, "key", 3) == 0 && parse_uint(k + 3, n - 3, 65534, &v) == 0)
		return (long)v;
	return -1;
}

static void out_svc_key(outbuf_t *o, unsigned long k)
{
	if (k < 7) {
		out_str(o, svc_keys[k]);
	} else {
		out_str(o, "key");
		out_uint(o, k);
	}
}

typedef struct svc_param {
	unsigned long key;
	const char *v; /* value text as given, quotes removed */
	size_t vlen;
	int has_value;
} svc_param_t;

/* The next item of a comma-separated value list; *p becomes NULL after
 * the last.  Returns 1, 0 when done, or ERR_BADCONTENT (empty item). */
static int svc_list_item(const char **p, const char *end, const char **item, size_t *n)
{
	const char *s = *p;
	if (!s)
		return 0;
	*item = s;
	while (s < end && *s != ',')
		s++;
	*n = (size_t)(s - *item);
	*p = s < end ? s + 1 : NULL;
	return *n > 0 ? 1 : ERR_BADCONTENT;
}

static int svc_value(outbuf_t *o, const svc_param_t *pp)
{
	const char *p = pp->v, *end = pp->v + pp->vlen, *it;
	size_t n;
	int r, first = 1;

	switch (pp->key) {
	case 0: { /* mandatory: keys, written sorted without duplicates */
		unsigned long keys[64];
		unsigned nk = 0;
		while ((r = svc_list_item(&p, end, &it, &n)) == 1) {
			long k = svc_key(it, n);
			unsigned j;
			if (k < 0 || k == 0 || nk == 64)
				return ERR_BADCONTENT;
			for (j = 0; j < nk && keys[j] != (unsigned long)k; j++)
				;
			if (j == nk)
				keys[nk++] = (unsigned long)k;
		}
		if (r < 0 || nk == 0)
			return ERR_BADCONTENT;
		for (unsigned a = 0; a < nk; a++)
			for (unsigned b = a + 1; b < nk; b++)
				if (keys[b] < keys[a]) {
					unsigned long t = keys[a];
					keys[a] = keys[b];
					keys[b] = t;
				}
		for (unsigned a = 0; a < nk; a++) {
			if (a)
				out_mem(o, ",", 1);
			out_svc_key(o, keys[a]);
		}
		return 0;
	}
	case 1: /* alpn: protocol ids of printable bytes (no escapes) */
		while ((r = svc_list_item(&p, end, &it, &n)) == 1) {
			if (n > 255)
				return ERR_BADCONTENT;
			for (size_t i = 0; i < n; i++)
				if (it[i] <= 0x20 || it[i] >= 0x7f || it[i] == '\\' || it[i] == '"')
					return ERR_BADCONTENT;
			if (!first)
				out_mem(o, ",", 1);
			out_mem(o, it, n);
			first = 0;
		}
		return r < 0 ? r : 0;
	case 3: { /* port */
		unsigned long v;
		if (parse_uint(p, pp->vlen, 65535, &v) < 0)
			return ERR_BADCONTENT;
		out_uint(o, v);
		return 0;
	}
	case 4: /* ipv4hint */
	case 6: /* ipv6hint */
		if (pp->vlen == 4 && memcmp(p, "auto", 4) == 0) {
			out_str(o, "auto"); /* pdns fills the hints in */
			return 0;
		}
		while ((r = svc_list_item(&p, end, &it, &n)) == 1) {
			if (!first)
				out_mem(o, ",", 1);
			if ((pp->key == 4 ? put_ip4(o, it, n) : put_ip6(o, it, n)) < 0)
				return ERR_BADCONTENT;
			first = 0;
		}
		return r < 0 ? r : 0;
	case 5: { /* ech: base64, written quoted */
		scan_t t = {p, end};
		out_mem(o, "\"", 1);
		if (take_b64(&t, o, 0) < 0 || !at_end(&t))
			return ERR_BADCONTENT;
		out_mem(o, "\"", 1);
		return 0;
	}
	default: { /* keyNNNN: a character-string, written quoted */
		scan_t t = {p, end};
		uint8_t c;
		out_mem(o, "\"", 1);
		while (t.p < end) {
			if (*t.p == '"') { /* only in a bare value: literal */
				c = '"';
				t.p++;
			} else if (cstr_next(&t, 1, &c) != 1) {
				return ERR_BADCONTENT;
			}
			out_txt_byte(o, c);
		}
		out_mem(o, "\"", 1);
		return 0;
	}
	}
}

static int norm_svcb(scan_t *s, outbuf_t *o)
{
	svc_param_t ps[32];
	unsigned np = 0;
	unsigned long prio;

	if (take_uint(s, 65535, o, &prio) < 0 || take_name(s, o) < 0)
		return ERR_BADCONTENT;
	if (prio == 0)
		return at_end(s) ? 0 : ERR_BADCONTENT; /* AliasMode: no params */
	while (!at_end(s)) {
		const char *k = s->p;
		svc_param_t *pp;
		long key;
		if (np == 32)
			return ERR_BADCONTENT;
		pp = &ps[np];
		while (s->p < s->end && *s->p != '=' && !is_blank(*s->p))
			s->p++;
		key = svc_key(k, (size_t)(s->p - k));
		if (key < 0)
			return ERR_BADCONTENT;
		if ((key > 0 && key < 7 && memcmp(k, "key", 3) == 0))
			return ERR_BADCONTENT; /* generic form of a known key */
		pp->key = (unsigned long)key;
		pp->has_value = s->p < s->end && *s->p == '=';
		if (pp->has_value) {
			s->p++;
			if (s->p < s->end && *s->p == '"') {
				const char *v = ++s->p;
				while (s->p < s->end && *s->p != '"') {
					if (*s->p == '\\' && s->p + 1 < s->end)
						s->p++;
					s->p++;
				}
				if (s->p >= s->end)
					return ERR_BADCONTENT;
				pp->v = v;
				pp->vlen = (size_t)(s->p - v);
				s->p++;
			} else {
				pp->v = s->p;
				while (s->p < s->end && !is_blank(*s->p))
					s->p++;
				pp->vlen = (size_t)(s->p - pp->v);
			}
			if (pp->vlen == 0)
				return ERR_BADCONTENT;
		}
		if (s->p < s->end && !is_blank(*s->p))
			return ERR_BADCONTENT;
		if ((key == 2) == pp->has_value)
			return ERR_BADCONTENT; /* no-default-alpn has no value, the rest one */
		for (unsigned j = 0; j < np; j++)
			if (ps[j].key == pp->key)
				return ERR_BADCONTENT; /* a key twice */
		np++;
	}
	/* pdns keeps the params in key order */
	for (unsigned a = 0; a < np; a++)
		for (unsigned b = a + 1; b < np; b++)
			if (ps[b].key < ps[a].key) {
				svc_param_t t = ps[a];
				ps[a] = ps[b];
				ps[b] = t;
			}
	for (unsigned a = 0; a < np; a++) {
		out_mem(o, " ", 1);
		out_svc_key(o, ps[a].key);
		if (ps[a].has_value) {
			out_mem(o, "=", 1);
			if (svc_value(o, &ps[a]) < 0)
				return ERR_BADCONTENT;
		}
	}
	return 0;
}

/* ---- other types ---- */

/* "xx-xx-..." with n groups of two hex digits, written lowercase. */
static int norm_eui(scan_t *s, outbuf_t *o, size_t groups)
{
	const char *f;
	size_t n;
	if (!field(s, &f, &n) || n != groups * 3 - 1 || !at_end(s))
		return ERR_BADCONTENT;
	for (size_t i = 0; i < n; i++) {
		if (i % 3 == 2) {
			if (f[i] != '-')
				return ERR_BADCONTENT;
			out_mem(o, "-", 1);
		} else {
			int v = hexval(f[i]);
			if (v < 0)
				return ERR_BADCONTENT;
			out_mem(o, &hexdigits[v], 1);
		}
	}
	return 0;
}

/* NID and L64 locators: four groups of 1-4 hex digits joined by ':',
 * written as pdns does: four uppercase digits each. */
static int norm_node_id(scan_t *s, outbuf_t *o)
{
	const char *f;
	size_t n, i = 0;
	out_sep(o);
	if (!field(s, &f, &n))
		return ERR_BADCONTENT;
	for (int g = 0; g < 4; g++) {
		unsigned v = 0, d = 0;
		char b[8];
		while (i < n && hexval(f[i]) >= 0 && d < 4)
			v = v * 16 + (unsigned)hexval(f[i++]), d++;
		if (d == 0 || (g < 3 && (i >= n || f[i++] != ':')))
			return ERR_BADCONTENT;
		snprintf(b, sizeof b, g < 3 ? "%04X:" : "%04X", v);
		out_str(o, b);
	}
	return i == n ? 0 : ERR_BADCONTENT;
}

/* One APL item, "[!]1:ipv4/len" or "[!]2:ipv6/len" (RFC 3123); pdns
 * prints the address masked to the prefix. */
static int norm_apl_item(const char *f, size_t n, outbuf_t *o)
{
	addr_t a;
	const char *slash;
	unsigned long bits;
	int v6;
	out_sep(o);
	if (n > 0 && f[0] == '!') {
		out_mem(o, "!", 1);
		f++;
		n--;
	}
	if (n < 3 || (f[0] != '1' && f[0] != '2') || f[1] != ':')
		return ERR_BADCONTENT;
	v6 = f[0] == '2';
	slash = memchr(f, '/', n);
	if (!slash || parse_uint(slash + 1, n - (size_t)(slash + 1 - f), v6 ? 128 : 32, &bits) < 0)
		return ERR_BADCONTENT;
	if ((v6 ? addr_parse6(&a, f + 2, (size_t)(slash - f - 2))
	        : addr_parse4(&a, f + 2, (size_t)(slash - f - 2))) < 0)
		return ERR_BADCONTENT;
	for (unsigned i = 0; i < (v6 ? 16u : 4u); i++) {
		unsigned keep = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? (unsigned)bits - i * 8 : 0;
		a.bytes[i] &= (uint8_t)(0xff00 >> keep);
	}
	out_mem(o, f, 2);
	if (v6) {
		char text[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, a.bytes, text, sizeof text);
		out_str(o, text);
	} else {
		char text[ADDR_TEXT_MAX];
		addr_format(&a, text, sizeof text);
		out_str(o, text);
	}
	out_mem(o, "/", 1);
	out_uint(o, bits);
	return 0;
}

/* Digest lengths where the algorithm fixes them. */
static size_t ds_len(unsigned long digest_type)
{
	return digest_type == 1 ? 20 : digest_type == 2 ? 32 : digest_type == 4 ? 48 : 0;
}

static int norm_typed(uint16_t type, scan_t *s, outbuf_t *o)
{
	unsigned long v;
	const char *f;
	size_t n;

	switch (type) {
	case RR_A:
		if (!field(s, &f, &n) || !at_end(s))
			return ERR_BADCONTENT;
		return put_ip4(o, f, n);
	case RR_AAAA:
		if (!field(s, &f, &n) || !at_end(s))
			return ERR_BADCONTENT;
		return put_ip6(o, f, n);
	case RR_NS:
	case RR_CNAME:
	case RR_PTR:
	case RR_DNAME:
	case 7: /* MB */
	case 8: /* MG */
	case 9: /* MR */
	case 65401: /* ALIAS */ return take_name(s, o);
	case 14: /* MINFO */
	case 17: /* RP */
		if (take_name(s, o) < 0)
			return ERR_BADCONTENT;
		return take_name(s, o);
	case RR_MX:
	case 18:  /* AFSDB */
	case 36:  /* KX */
	case 107: /* LP */
		if (take_uint(s, 65535, o, NULL) < 0)
			return ERR_BADCONTENT;
		return take_name(s, o);
	case RR_SRV:
		for (int i = 0; i < 3; i++)
			if (take_uint(s, 65535, o, NULL) < 0)
				return ERR_BADCONTENT;
		return take_name(s, o);
	case 13: /* HINFO: cpu os */
		if (take_cstr(s, 255, o) < 0)
			return ERR_BADCONTENT;
		return take_cstr(s, 255, o);
	case 35: /* NAPTR: order preference flags services regexp replacement */
		for (int i = 0; i < 2; i++)
			if (take_uint(s, 65535, o, NULL) < 0)
				return ERR_BADCONTENT;
		for (int i = 0; i < 3; i++)
			if (take_cstr(s, 255, o) < 0)
				return ERR_BADCONTENT;
		return take_name(s, o);
	case RR_CAA: { /* flags tag value */
		if (take_uint(s, 255, o, NULL) < 0 || !field(s, &f, &n) || n > 255)
			return ERR_BADCONTENT;
		for (size_t i = 0; i < n; i++)
			if (!((f[i] >= 'a' && f[i] <= 'z') || (f[i] >= 'A' && f[i] <= 'Z') ||
			      (f[i] >= '0' && f[i] <= '9')))
				return ERR_BADCONTENT;
		out_sep(o);
		out_mem(o, f, n);
		return take_cstr(s, STORE_MAX_CONTENT, o);
	}
	case 256: /* URI: priority weight target */
		for (int i = 0; i < 2; i++)
			if (take_uint(s, 65535, o, NULL) < 0)
				return ERR_BADCONTENT;
		{
			size_t before = o->len;
			if (take_cstr(s, STORE_MAX_CONTENT, o) < 0)
				return ERR_BADCONTENT;
			if (o->len - before <= 3 && !o->full)
				return ERR_BADCONTENT; /* empty target */
		}
		return 0;
	case RR_SSHFP: /* algorithm fp-type fingerprint */
		if (take_uint(s, 255, o, NULL) < 0 || take_uint(s, 255, o, &v) < 0)
			return ERR_BADCONTENT;
		return take_hex_rest(s, o, v == 1 ? 20 : v == 2 ? 32 : 0);
	case RR_TLSA:
	case 53: /* SMIMEA: usage selector matching-type data */
		for (int i = 0; i < 2; i++)
			if (take_uint(s, 255, o, NULL) < 0)
				return ERR_BADCONTENT;
		if (take_uint(s, 255, o, &v) < 0)
			return ERR_BADCONTENT;
		return take_hex_rest(s, o, v == 1 ? 32 : v == 2 ? 64 : 0);
	case RR_DS:
	case 59:    /* CDS */
	case 32769: /* DLV: key-tag algorithm digest-type digest */
		if (take_uint(s, 65535, o, NULL) < 0 || take_uint(s, 255, o, NULL) < 0 ||
		    take_uint(s, 255, o, &v) < 0)
			return ERR_BADCONTENT;
		return take_hex_rest(s, o, ds_len(v));
	case 63: /* ZONEMD: serial scheme hash-algorithm digest */
		if (take_uint(s, 4294967295UL, o, NULL) < 0 || take_uint(s, 255, o, NULL) < 0 ||
		    take_uint(s, 255, o, NULL) < 0)
			return ERR_BADCONTENT;
		return take_hex_rest(s, o, 0);
	case RR_DNSKEY:
	case 60: /* CDNSKEY */
	case 25: /* KEY */
	case 57: /* RKEY: flags protocol algorithm key */
		if (take_uint(s, 65535, o, NULL) < 0 || take_uint(s, 255, o, NULL) < 0 ||
		    take_uint(s, 255, o, NULL) < 0)
			return ERR_BADCONTENT;
		out_sep(o);
		return take_b64(s, o, 1) < 0 ? ERR_BADCONTENT : 0;
	case 37: /* CERT: type key-tag algorithm certificate; type 0 is reserved */
		if (take_uint(s, 65535, o, &v) < 0 || v == 0 || take_uint(s, 65535, o, NULL) < 0 ||
		    take_uint(s, 255, o, NULL) < 0)
			return ERR_BADCONTENT;
		out_sep(o);
		return take_b64(s, o, 1) < 0 ? ERR_BADCONTENT : 0;
	case 49: /* DHCID */
	case 61: /* OPENPGPKEY */ return take_b64(s, o, 1) < 0 ? ERR_BADCONTENT : 0;
	case RR_NSEC3PARAM: /* algorithm flags iterations salt ("-": none) */
		if (take_uint(s, 255, o, NULL) < 0 || take_uint(s, 255, o, NULL) < 0 ||
		    take_uint(s, 65535, o, NULL) < 0 || !field(s, &f, &n) || !at_end(s))
			return ERR_BADCONTENT;
		if (n == 1 && f[0] == '-') {
			out_sep(o);
			out_mem(o, "-", 1);
			return 0;
		}
		{
			scan_t t = {f, f + n};
			return n > 510 ? ERR_BADCONTENT : take_hex_rest(&t, o, 0);
		}
	case 108: /* EUI48 */ return norm_eui(s, o, 6);
	case 109: /* EUI64 */ return norm_eui(s, o, 8);
	case 105: /* L32: preference locator */
		if (take_uint(s, 65535, o, NULL) < 0 || !field(s, &f, &n) || !at_end(s))
			return ERR_BADCONTENT;
		out_sep(o);
		return put_ip4(o, f, n);
	case 104: /* NID */
	case 106: /* L64: preference node-id/locator */
		if (take_uint(s, 65535, o, NULL) < 0)
			return ERR_BADCONTENT;
		return norm_node_id(s, o);
	case RR_SVCB:
	case RR_HTTPS: return norm_svcb(s, o);
	case 42: /* APL */
		while (field(s, &f, &n))
			if (norm_apl_item(f, n, o) < 0)
				return ERR_BADCONTENT;
		return 0;
	default: return ERR_BADTYPE;
	}
}

/* ---- RFC 3597 generic form ---- */

/*
 * Parses "\# len hex" (hex may be split by blanks) into wire bytes.
 * Returns the length, or ERR_BADCONTENT (len does not match, bad hex).
 * wire may be NULL to only check.
 */
static long generic_parse(scan_t *s, uint8_t *wire, size_t cap)
{
	const char *f;
	size_t n, got = 0;
	unsigned long len;
	if (!field(s, &f, &n) || n != 2 || f[0] != '\\' || f[1] != '#')
		return ERR_BADCONTENT;
	if (!field(s, &f, &n) || parse_uint(f, n, 65535, &len) < 0)
		return ERR_BADCONTENT;
	while (field(s, &f, &n)) {
		if (n % 2)
			return ERR_BADCONTENT;
		for (size_t i = 0; i < n; i += 2) {
			int hi = hexval(f[i]), lo = hexval(f[i + 1]);
			if (hi < 0 || lo < 0 || got >= len)
				return ERR_BADCONTENT;
			if (wire && got < cap)
				wire[got] = (uint8_t)(hi << 4 | lo);
			got++;
		}
	}
	return got == len ? (long)len : ERR_BADCONTENT;
}

/* pdns's UnknownRecordContent text: lowercase hex, and a blank after the
 * length even when there is no data. */
static void generic_put(outbuf_t *o, const uint8_t *w, size_t n)
{
	out_mem(o, "\\# ", 3);
	out_uint(o, n);
	out_mem(o, " ", 1);
	out_hex(o, w, n);
}

/* Reads an uncompressed wire name at w[*pos] into name_encode's input. */
static int wire_name(const uint8_t *w, size_t n, size_t *pos, uint8_t name[256])
{
	size_t k = *pos, o = 0;
	for (;;) {
		uint8_t ll;
		if (k >= n)
			return ERR_BADCONTENT;
		ll = w[k];
		if (ll > DNAME_MAX_LABEL || k + 1 + ll > n || o + 1 + ll >= 255)
			return ERR_BADCONTENT; /* also refuses compression pointers */
		memcpy(name + o, w + k, ll + 1u);
		o += ll + 1u;
		k += ll + 1u;
		if (ll == 0)
			break;
	}
	*pos = k;
	return 0;
}

/* The generic form of a type pdns has a parser for: decoded to the type's
 * own form for the basic types, refused for the others (pdns does not read
 * "\#" for them either). */
static int generic_to_typed(uint16_t type, const uint8_t *w, size_t n, outbuf_t *o)
{
	uint8_t name[256];
	size_t pos = 0;
	int fixed = 0; /* 16-bit fields before a name */

	switch (type) {
	case RR_A: {
		char text[ADDR_TEXT_MAX];
		addr_t a = {.family = 4};
		if (n != 4)
			return ERR_BADCONTENT;
		memcpy(a.bytes, w, 4);
		addr_format(&a, text, sizeof text);
		out_str(o, text);
		return 0;
	}
	case RR_AAAA: {
		char text[INET6_ADDRSTRLEN];
		if (n != 16 || !inet_ntop(AF_INET6, w, text, sizeof text))
			return ERR_BADCONTENT;
		out_str(o, text);
		return 0;
	}
	case RR_TXT:
	case 99: /* SPF */
		if (n == 0)
			return ERR_BADCONTENT;
		while (pos < n) {
			uint8_t l = w[pos++];
			if (pos + l > n)
				return ERR_BADCONTENT;
			out_sep(o);
			out_quoted(o, w + pos, l);
			pos += l;
		}
		return 0;
	case RR_NS:
	case RR_CNAME:
	case RR_PTR:
	case RR_DNAME:
	case 7:
	case 8:
	case 9: break;
	case RR_MX:
	case 18:
	case 36: fixed = 1; break;
	case RR_SRV: fixed = 3; break;
	default: return ERR_BADCONTENT;
	}
	for (int i = 0; i < fixed; i++) {
		if (pos + 2 > n)
			return ERR_BADCONTENT;
		out_sep(o);
		out_uint(o, (unsigned long)w[pos] << 8 | w[pos + 1]);
		pos += 2;
	}
	if (wire_name(w, n, &pos, name) < 0 || pos != n)
		return ERR_BADCONTENT;
	out_sep(o);
	name_encode(o, name);
	return 0;
}

/* ---- public ---- */

int rdata_normalize(uint16_t type, const char *in, size_t len, char *out, size_t size,
                    size_t *outlen)
{
	outbuf_t o = {.p = out, .size = size, .len = 0, .full = 0};
	scan_t s;
	int rc;

	if (size > 0)
		out[0] = '\0';
	if (!rrtype_storable(type))
		return ERR_BADTYPE;
	if (len == 0)
		return ERR_BADCONTENT;
	/* Stray blanks around fields are refused, as the address parser does
	 * (they hint at a quoting mistake); bare TXT is literal, and pdns
	 * writes the empty generic form as "\# 0 ". */
	if (!((type == RR_TXT || type == 99) && in[0] != '"')) {
		int generic = len >= 2 && in[0] == '\\' && in[1] == '#';
		if (is_blank(in[0]) || (is_blank(in[len - 1]) && !generic))
			return ERR_BADCONTENT;
	}
	if (len > STORE_MAX_CONTENT * 4)
		return ERR_TOOBIG;
	for (size_t i = 0; i < len; i++)
		if (in[i] == '\0' || in[i] == '\n' || in[i] == '\r')
			return ERR_BADCONTENT;
	s.p = in;
	s.end = in + len;

	if (len >= 2 && in[0] == '\\' && in[1] == '#' && (len == 2 || is_blank(in[2]))) {
		uint8_t wire[STORE_MAX_CONTENT];
		long n = generic_parse(&s, wire, sizeof wire);
		if (n < 0)
			return ERR_BADCONTENT;
		if (type_has_parser(type))
			rc = generic_to_typed(type, wire, (size_t)n, &o);
		else
			generic_put(&o, wire, (size_t)n), rc = 0;
	} else if (!type_has_parser(type)) {
		return ERR_BADCONTENT; /* only "\# len hex" exists for this type */
	} else if (type == RR_TXT || type == 99) {
		rc = norm_txt(in, len, &o);
	} else if (type == 29) {
		rc = norm_loc(&s, &o);
	} else {
		rc = norm_typed(type, &s, &o);
		if (rc == 0 && !at_end(&s))
			rc = ERR_BADCONTENT; /* trailing fields */
	}
	if (rc < 0)
		return rc == ERR_TOOBIG || rc == ERR_BADTYPE ? rc : ERR_BADCONTENT;
	if (o.full || o.len > STORE_MAX_CONTENT)
		return ERR_TOOBIG;
	if (outlen)
		*outlen = o.len;
	return 0;
}

/* Rewrites one schema-1 name field (dname_to_text escaping, trailing
 * dot) in backend form. */
static int v1_name(outbuf_t *o, const char *f, size_t n)
{
	dname_t d;
	char text[DNAME_MAX_TEXT];
	int tl;
	if (dname_parse_pdns(&d, f, n) < 0)
		return ERR_CORRUPT;
	tl = dname_to_text_nodot(&d, text, sizeof text);
	if (tl < 0)
		return ERR_CORRUPT;
	out_mem(o, text, (size_t)tl);
	return 0;
}

int rdata_v1_to_v2(uint16_t type, const char *in, size_t len, char *out, size_t size,
                   size_t *outlen)
{
	outbuf_t o = {.p = out, .size = size, .len = 0, .full = 0};
	int fixed; /* fields before the name */
	const char *p = in, *end = in + len;

	if (size > 0)
		out[0] = '\0';
	switch (type) {
	case RR_A:
	case RR_AAAA:
	case RR_TXT:
	case RR_DS:
	case RR_SSHFP:
	case RR_TLSA:
	case RR_CAA: fixed = -1; break;
	case RR_NS:
	case RR_CNAME:
	case RR_PTR: fixed = 0; break;
	case RR_MX:
	case RR_SVCB:
	case RR_HTTPS: fixed = 1; break;
	case RR_SRV: fixed = 3; break;
	default: return ERR_BADTYPE;
	}
	if (len == 0 || memchr(in, '\0', len))
		return ERR_CORRUPT;
	if (fixed < 0) {
		out_mem(&o, in, len);
	} else {
		const char *f;
		/* schema 1 wrote single blanks and a name without blanks */
		for (int i = 0; i < fixed; i++) {
			f = p;
			while (p < end && *p >= '0' && *p <= '9')
				p++;
			if (p == f || p >= end || *p != ' ')
				return ERR_CORRUPT;
			p++;
		}
		out_mem(&o, in, (size_t)(p - in));
		f = p;
		while (p < end && *p != ' ')
			p++;
		if (v1_name(&o, f, (size_t)(p - f)) < 0)
			return ERR_CORRUPT;
		if (p < end) {
			if (type != RR_SVCB && type != RR_HTTPS)
				return ERR_CORRUPT;
			out_mem(&o, p, (size_t)(end - p)); /* SvcParams: no names */
		}
	}
	if (o.full || o.len > STORE_MAX_CONTENT)
		return ERR_TOOBIG;
	if (outlen)
		*outlen = o.len;
	return 0;
}

int rdata_soa_parse(const char *content, size_t len, rdata_soa_t *out)
{
	scan_t s = {content, content + len};
	const char *f;
	size_t n;
	unsigned long v[5];

	if (!field(&s, &f, &n) || dname_parse_pdns(&out->mname, f, n) < 0)
		return ERR_BADCONTENT;
	if (!field(&s, &f, &n) || dname_parse_pdns(&out->rname, f, n) < 0)
		return ERR_BADCONTENT;
	for (int i = 0; i < 5; i++)
		if (!field(&s, &f, &n) || parse_uint(f, n, 4294967295UL, &v[i]) < 0)
			return ERR_BADCONTENT;
	if (!at_end(&s))
		return ERR_BADCONTENT;
	out->serial = (uint32_t)v[0];
	out->refresh = (uint32_t)v[1];
	out->retry = (uint32_t)v[2];
	out->expire = (uint32_t)v[3];
	out->minimum = (uint32_t)v[4];
	return 0;
}

int rdata_soa_format(const dname_t *mname, const dname_t *rname, uint32_t serial, uint32_t refresh,
                     uint32_t retry, uint32_t expire, uint32_t minimum, char *buf, size_t size)
{
	char m[DNAME_MAX_TEXT], r[DNAME_MAX_TEXT];
	int len;
	if (dname_to_text_nodot(mname, m, sizeof m) < 0 ||
	    dname_to_text_nodot(rname, r, sizeof r) < 0)
		return -ENOSPC;
	len = snprintf(buf, size, "%s %s %u %u %u %u %u", m, r, (unsigned)serial, (unsigned)refresh,
	               (unsigned)retry, (unsigned)expire, (unsigned)minimum);
	if (len < 0 || (size_t)len >= size)
		return -ENOSPC;
	return len;
}

/* pdns's xfrIP: four dotted decimal octets (leading zeros allowed). */
static int check_ip4(const char *f, size_t n)
{
	unsigned dots = 0, v = 0, digits = 0;
	for (size_t i = 0; i < n; i++) {
		if (f[i] == '.') {
			if (!digits || ++dots > 3)
				return ERR_BADCONTENT;
			v = digits = 0;
		} else if (f[i] >= '0' && f[i] <= '9') {
			v = v * 10 + (unsigned)(f[i] - '0');
			if (v > 255)
				return ERR_BADCONTENT;
			digits++;
		} else {
			return ERR_BADCONTENT;
		}
	}
	return dots == 3 && digits ? 0 : ERR_BADCONTENT;
}

int rdata_check_backend(uint16_t type, const char *content, size_t len)
{
	scan_t s = {content, content + len};
	const char *f;
	size_t n;
	int names = 0, nums = 0; /* numbers, then names, then the end */

	if (!rrtype_storable(type) && type != RR_SOA)
		return ERR_BADTYPE;
	if (len > STORE_MAX_CONTENT)
		return ERR_TOOBIG;
	for (size_t i = 0; i < len; i++)
		if (content[i] == '\0' || content[i] == '\n' || content[i] == '\r')
			return ERR_BADCONTENT;
	if (len == 0)
		return type == 42 ? 0 : ERR_BADCONTENT; /* APL without items */
	if (!type_has_parser(type))
		return generic_parse(&s, NULL, 0) < 0 ? ERR_BADCONTENT : 0;

	switch (type) {
	case RR_SOA: {
		rdata_soa_t soa;
		return rdata_soa_parse(content, len, &soa);
	}
	case RR_A:
		if (!field(&s, &f, &n) || !at_end(&s))
			return ERR_BADCONTENT;
		return check_ip4(f, n);
	case RR_AAAA: {
		char a[INET6_ADDRSTRLEN];
		uint8_t b[16];
		if (!field(&s, &f, &n) || !at_end(&s) || n >= sizeof a)
			return ERR_BADCONTENT;
		memcpy(a, f, n);
		a[n] = '\0';
		return inet_pton(AF_INET6, a, b) == 1 ? 0 : ERR_BADCONTENT;
	}
	case RR_NS:
	case RR_CNAME:
	case RR_PTR:
	case RR_DNAME:
	case 7:
	case 8:
	case 9:
	case 65401: names = 1; break;
	case 14:
	case 17: names = 2; break;
	case RR_MX:
	case 18:
	case 36:
	case 107:
		nums = 1;
		names = 1;
		break;
	case RR_SRV:
		nums = 3;
		names = 1;
		break;
	default: return 0;
	}
	for (int i = 0; i < nums; i++) {
		unsigned long v;
		if (!field(&s, &f, &n) || parse_uint(f, n, 65535, &v) < 0)
			return ERR_BADCONTENT;
	}
	for (int i = 0; i < names; i++) {
		dname_t d;
		if (!field(&s, &f, &n) || dname_parse_pdns(&d, f, n) < 0)
			return ERR_BADCONTENT;
	}
	return at_end(&s) ? 0 : ERR_BADCONTENT;
}
