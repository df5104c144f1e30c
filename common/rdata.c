/*
 * rdata - record types and content normalization (see rdata.h).
 *
 * Every supported type is parsed from its RFC presentation form and written
 * back in the one canonical form PowerDNS 4.7 prints and its remote backend
 * accepts as "content": single blanks between fields, decimal numbers without
 * leading zeros, names absolute and lowercase, addresses canonical, hex
 * lowercase, TXT and CAA values double-quoted with \" \\ and \DDD escapes.
 * Normalizing once at write time means the backend can copy stored content
 * into its replies without looking at it, and that equal records compare
 * equal byte for byte (duplicate detection in the store is a memcmp).
 *
 * Field syntax: fields are separated by runs of blanks (space, tab); leading
 * or trailing blanks are an error, as in the strict address parser.
 *
 * TXT: content starting with '"' is a list of quoted character-strings
 * separated by blanks, with \X and \DDD escapes; anything else is taken
 * literally as one bare string (no escape processing: what the operator
 * typed is what resolvers get).  A string longer than 255 bytes, quoted or
 * bare, is split into consecutive 255-byte strings: resolvers and SPF/DKIM
 * verifiers concatenate them, and the wire format has no other way to hold
 * it.
 */
#include "rdata.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "dname.h"
#include "err.h"
#include "store.h"

#define TXT_CHUNK 255 /* bytes of one character-string on the wire */

static const struct {
	uint16_t type;
	const char *name;
	int storable; /* 0: has a name, but rrtype_from_str refuses it */
} types[] = {
	{RR_A, "A", 1},         {RR_NS, "NS", 1},       {RR_CNAME, "CNAME", 1},
	{RR_SOA, "SOA", 0},     {RR_PTR, "PTR", 1},     {RR_MX, "MX", 1},
	{RR_TXT, "TXT", 1},     {RR_AAAA, "AAAA", 1},   {RR_SRV, "SRV", 1},
	{RR_DS, "DS", 1},       {RR_SSHFP, "SSHFP", 1}, {RR_TLSA, "TLSA", 1},
	{RR_CAA, "CAA", 1},     {RR_ANY, "ANY", 0},
};

#define NTYPES (sizeof(types) / sizeof(types[0]))

uint16_t rrtype_from_str(const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < NTYPES; i++)
		if (types[i].storable && strcasecmp(s, types[i].name) == 0)
			return types[i].type;
	return 0;
}

static int type_storable(uint16_t type)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (types[i].type == type)
			return types[i].storable;
	return 0;
}

const char *rrtype_name(uint16_t type)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (types[i].type == type)
			return types[i].name;
	return NULL;
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

static void out_uint(outbuf_t *o, unsigned long v)
{
	char b[24];
	int n = snprintf(b, sizeof b, "%lu", v);
	out_mem(o, b, (size_t)n);
}

/* Writes bytes as the inside of a quoted string: printable ASCII as is,
 * '"' and '\' backslash-escaped, everything else \DDD (what pdns prints). */
static void out_quoted(outbuf_t *o, const uint8_t *s, size_t n)
{
	out_mem(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
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
	out_mem(o, "\"", 1);
}

/* ---- field scanning ---- */

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Takes the next blank-separated field from [*p, end).  Returns 1 and sets
 * f/flen, 0 at the end; -1 on a leading or doubled-up trailing blank that
 * makes the field empty. */
static int next_field(const char **p, const char *end, const char **f, size_t *flen)
{
	const char *s = *p;
	if (s == end)
		return 0;
	if (is_blank(*s))
		return -1;
	const char *e = s;
	while (e < end && !is_blank(*e))
		e++;
	*f = s;
	*flen = (size_t)(e - s);
	while (e < end && is_blank(*e))
		e++;
	if (e == end && e > s + *flen)
		return -1; /* trailing blanks */
	*p = e;
	return 1;
}

/* Parses a decimal number of at most max; digits only. */
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

/* Takes the next field as a number of at most max and writes it, followed
 * by a blank, to o. */
static int take_uint(const char **p, const char *end, unsigned long max, outbuf_t *o)
{
	const char *f;
	size_t n;
	unsigned long v;
	if (next_field(p, end, &f, &n) != 1 || parse_uint(f, n, max, &v) < 0)
		return ERR_BADCONTENT;
	out_uint(o, v);
	out_mem(o, " ", 1);
	return 0;
}

/* Parses a name and writes its canonical absolute text.  allow_root: "."
 * is meaningful (null MX, SRV "no service"). */
static int put_name(outbuf_t *o, const char *s, size_t n, int allow_root)
{
	dname_t d;
	char text[DNAME_MAX_TEXT];
	if (dname_parse(&d, s, n) < 0)
		return ERR_BADCONTENT;
	if (d.labels == 0 && !allow_root)
		return ERR_BADCONTENT;
	int tl = dname_to_text(&d, text, sizeof text);
	if (tl < 0)
		return ERR_BADCONTENT;
	out_mem(o, text, (size_t)tl);
	return 0;
}

/* The last field must be a name and nothing may follow it. */
static int take_last_name(const char **p, const char *end, outbuf_t *o, int allow_root)
{
	const char *f;
	size_t n;
	if (next_field(p, end, &f, &n) != 1 || *p != end)
		return ERR_BADCONTENT;
	return put_name(o, f, n, allow_root);
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

/* The rest of the content is hex, possibly split by blanks (as BIND
 * allows); writes it lowercase without blanks.  want: required number of
 * bytes, or 0 for any non-zero length. */
static int take_hex(const char **p, const char *end, outbuf_t *o, size_t want)
{
	static const char digits[] = "0123456789abcdef";
	const char *f;
	size_t n, total = 0;
	int r;
	while ((r = next_field(p, end, &f, &n)) == 1) {
		for (size_t i = 0; i < n; i++) {
			int v = hexval(f[i]);
			if (v < 0)
				return ERR_BADCONTENT;
			out_mem(o, &digits[v], 1);
		}
		total += n;
	}
	if (r < 0 || total == 0 || total % 2)
		return ERR_BADCONTENT;
	if (want && total != want * 2)
		return ERR_BADCONTENT;
	return 0;
}

/* ---- quoted strings ---- */

/*
 * Reads the next byte of a quoted string whose opening quote is behind *p,
 * decoding \X and \DDD.  Returns 1 and *c, 0 at the closing quote (*p then
 * past it), or ERR_BADCONTENT (unterminated, bad escape).  Decoding byte by
 * byte keeps long strings off the stack.
 */
static int quoted_next(const char **p, const char *end, uint8_t *c)
{
	const char *s = *p;
	if (s >= end)
		return ERR_BADCONTENT;
	if (*s == '"') {
		*p = s + 1;
		return 0;
	}
	if (*s != '\\') {
		*c = (uint8_t)*s;
		*p = s + 1;
		return 1;
	}
	s++;
	if (s >= end)
		return ERR_BADCONTENT;
	if (*s >= '0' && *s <= '9') {
		unsigned v = 0;
		if (end - s < 3)
			return ERR_BADCONTENT;
		for (int i = 0; i < 3; i++) {
			if (s[i] < '0' || s[i] > '9')
				return ERR_BADCONTENT;
			v = v * 10 + (unsigned)(s[i] - '0');
		}
		if (v > 255)
			return ERR_BADCONTENT;
		*c = (uint8_t)v;
		*p = s + 3;
		return 1;
	}
	*c = (uint8_t)*s;
	*p = s + 1;
	return 1;
}

/* Writes bytes as consecutive quoted strings of <= 255 bytes, each after a
 * blank unless it is the first; an empty string stays one empty string.
 * *wire accumulates the wire length. */
static void out_txt_chunks(outbuf_t *o, const uint8_t *s, size_t n, size_t *wire)
{
	size_t off = 0;
	do {
		size_t c = n - off > TXT_CHUNK ? TXT_CHUNK : n - off;
		if (o->len > 0)
			out_mem(o, " ", 1);
		out_quoted(o, s + off, c);
		*wire += 1 + c;
		off += c;
	} while (off < n);
}

static int norm_txt(const char *in, size_t len, outbuf_t *o)
{
	const char *p = in, *end = in + len;
	size_t wire = 0;

	if (*p != '"') {
		/* Bare text: literal bytes, one string (split if long). */
		out_txt_chunks(o, (const uint8_t *)in, len, &wire);
	} else {
		while (p < end) {
			uint8_t chunk[TXT_CHUNK], c;
			size_t n = 0;
			int r;
			if (*p != '"')
				return ERR_BADCONTENT;
			p++;
			while ((r = quoted_next(&p, end, &c)) == 1) {
				if (n == TXT_CHUNK) {
					out_txt_chunks(o, chunk, n, &wire);
					n = 0;
				}
				chunk[n++] = c;
			}
			if (r < 0)
				return r;
			out_txt_chunks(o, chunk, n, &wire);
			if (p < end && !is_blank(*p))
				return ERR_BADCONTENT; /* "a"b or "a""b" */
			while (p < end && is_blank(*p))
				p++;
			if (p == end && is_blank(p[-1]))
				return ERR_BADCONTENT; /* trailing blanks */
			if (wire > STORE_MAX_CONTENT)
				return ERR_TOOBIG;
		}
	}
	if (wire > STORE_MAX_CONTENT)
		return ERR_TOOBIG;
	return 0;
}

static int is_tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* CAA (RFC 8659): flags tag value; the tag is letters and digits
 * (lowercased: tags match case-insensitively), the value one quoted string
 * or one bare field. */
static int norm_caa(const char *in, size_t len, outbuf_t *o)
{
	const char *p = in, *end = in + len, *f;
	size_t n;
	if (take_uint(&p, end, 255, o) < 0)
		return ERR_BADCONTENT;
	if (next_field(&p, end, &f, &n) != 1 || n > 255 || p == end)
		return ERR_BADCONTENT;
	for (size_t i = 0; i < n; i++) {
		if (!is_tag_char(f[i]))
			return ERR_BADCONTENT;
		char c = (char)(f[i] >= 'A' && f[i] <= 'Z' ? f[i] + 32 : f[i]);
		out_mem(o, &c, 1);
	}
	out_mem(o, " ", 1);
	if (*p == '"') {
		/* Re-escape byte by byte into one quoted string. */
		uint8_t c;
		int r;
		p++;
		out_mem(o, "\"", 1);
		while ((r = quoted_next(&p, end, &c)) == 1) {
			outbuf_t tmp;
			char q[8];
			tmp = (outbuf_t){.p = q, .size = sizeof q, .len = 0, .full = 0};
			out_quoted(&tmp, &c, 1); /* "X" */
			out_mem(o, q + 1, tmp.len - 2);
		}
		if (r < 0 || p != end)
			return ERR_BADCONTENT;
		out_mem(o, "\"", 1);
	} else {
		if (next_field(&p, end, &f, &n) != 1 || p != end)
			return ERR_BADCONTENT;
		out_quoted(o, (const uint8_t *)f, n);
	}
	return 0;
}

int rdata_normalize(uint16_t type, const char *in, size_t len, char *out, size_t size,
		    size_t *outlen)
{
	outbuf_t o = {.p = out, .size = size, .len = 0, .full = 0};
	const char *p = in, *end = in + len;
	int rc = 0;

	if (size > 0)
		out[0] = '\0';
	if (!type_storable(type))
		return ERR_BADTYPE;
	if (len == 0)
		return ERR_BADCONTENT;
	if (len > STORE_MAX_CONTENT * 4)
		return ERR_TOOBIG;

	switch (type) {
	case RR_A:
	case RR_AAAA: {
		addr_t a;
		char text[ADDR_TEXT_MAX];
		rc = type == RR_A ? addr_parse4(&a, in, len) : addr_parse6(&a, in, len);
		if (rc < 0)
			return ERR_BADCONTENT;
		int n = addr_format(&a, text, sizeof text);
		out_mem(&o, text, (size_t)n);
		break;
	}
	case RR_NS:
	case RR_CNAME:
	case RR_PTR:
		rc = take_last_name(&p, end, &o, 0);
		break;
	case RR_MX: /* preference exchange; "0 ." is the null MX (RFC 7505) */
		if ((rc = take_uint(&p, end, 65535, &o)) == 0)
			rc = take_last_name(&p, end, &o, 1);
		break;
	case RR_SRV: /* priority weight port target; "." = no service */
		for (int i = 0; i < 3 && rc == 0; i++)
			rc = take_uint(&p, end, 65535, &o);
		if (rc == 0)
			rc = take_last_name(&p, end, &o, 1);
		break;
	case RR_TXT:
		rc = norm_txt(in, len, &o);
		break;
	case RR_CAA:
		rc = norm_caa(in, len, &o);
		break;
	case RR_SSHFP: { /* algorithm fp-type fingerprint (RFC 4255, 6594) */
		const char *q, *f;
		size_t n;
		unsigned long fpt = 0;
		if ((rc = take_uint(&p, end, 255, &o)) < 0)
			break;
		q = p;
		if (next_field(&q, end, &f, &n) == 1)
			parse_uint(f, n, 255, &fpt);
		if ((rc = take_uint(&p, end, 255, &o)) < 0)
			break;
		rc = take_hex(&p, end, &o, fpt == 1 ? 20 : fpt == 2 ? 32 : 0);
		break;
	}
	case RR_TLSA: { /* usage selector matching-type data (RFC 6698) */
		const char *q, *f;
		size_t n;
		unsigned long mt = 0;
		for (int i = 0; i < 2 && rc == 0; i++)
			rc = take_uint(&p, end, 255, &o);
		if (rc < 0)
			break;
		q = p;
		if (next_field(&q, end, &f, &n) == 1)
			parse_uint(f, n, 255, &mt);
		if ((rc = take_uint(&p, end, 255, &o)) < 0)
			break;
		rc = take_hex(&p, end, &o, mt == 1 ? 32 : mt == 2 ? 64 : 0);
		break;
	}
	case RR_DS: { /* key-tag algorithm digest-type digest (RFC 4034) */
		const char *q, *f;
		size_t n;
		unsigned long dt = 0;
		if ((rc = take_uint(&p, end, 65535, &o)) < 0 ||
		    (rc = take_uint(&p, end, 255, &o)) < 0)
			break;
		q = p;
		if (next_field(&q, end, &f, &n) == 1)
			parse_uint(f, n, 255, &dt);
		if ((rc = take_uint(&p, end, 255, &o)) < 0)
			break;
		rc = take_hex(&p, end, &o,
			      dt == 1 ? 20 : dt == 2 ? 32 : dt == 4 ? 48 : 0);
		break;
	}
	default:
		return ERR_BADTYPE;
	}
	if (rc < 0)
		return rc == ERR_TOOBIG ? ERR_TOOBIG : ERR_BADCONTENT;
	if (o.full || o.len > STORE_MAX_CONTENT)
		return ERR_TOOBIG;
	if (outlen)
		*outlen = o.len;
	return 0;
}
