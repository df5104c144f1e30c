#include "dname.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "err.h"

/* Characters that presentation format gives a meaning of their own; they
 * must be escaped to be part of a label. */
static int is_special(unsigned char c)
{
	return c == '"' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$' || c == '\\' ||
	       c == '.';
}

static int is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/*
 * RFC 3492 decoding, reduced to a yes/no: does the Punycode part of an
 * A-label decode to a code point sequence with at least one non-ASCII code
 * point and nothing out of range?  An "xn--" label that fails this is not an
 * A-label, and storing it would let two spellings of junk look like IDNs.
 */
static int punycode_valid(const uint8_t *s, size_t len)
{
	enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700, IBIAS = 72, IN = 0x80 };
	size_t b = 0, j, out = 0, pos;
	uint32_t n = IN, i = 0, bias = IBIAS;
	int nonascii = 0;

	if (len == 0)
		return 0;
	for (j = 0; j < len; j++)
		if (s[j] == '-')
			b = j;
	/* basic code points before the last delimiter */
	for (j = 0; j < b; j++)
		if (s[j] >= 0x80)
			return 0;
	out = b;
	pos = b > 0 ? b + 1 : 0;
	if (pos >= len)
		return 0; /* nothing encoded: not an A-label */
	while (pos < len) {
		uint32_t oldi = i, w = 1, k;
		for (k = BASE;; k += BASE) {
			uint32_t digit, t;
			unsigned char c;
			if (pos >= len)
				return 0;
			c = s[pos++];
			if (c >= '0' && c <= '9')
				digit = c - '0' + 26;
			else if (c >= 'a' && c <= 'z')
				digit = c - 'a';
			else
				return 0;
			if (digit > (UINT32_MAX - i) / w)
				return 0;
			i += digit * w;
			t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
			if (digit < t)
				break;
			if (w > UINT32_MAX / (BASE - t))
				return 0;
			w *= BASE - t;
		}
		/* adapt bias */
		{
			uint32_t delta = oldi == 0 ? (i - oldi) / DAMP : (i - oldi) / 2, kk = 0;
			delta += delta / (uint32_t)(out + 1);
			while (delta > ((BASE - TMIN) * TMAX) / 2) {
				delta /= BASE - TMIN;
				kk += BASE;
			}
			bias = kk + (BASE - TMIN + 1) * delta / (delta + SKEW);
		}
		if (i / (out + 1) > 0x10FFFF - n)
			return 0;
		n += i / (uint32_t)(out + 1);
		i %= (uint32_t)(out + 1);
		if (n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF) || n < 0x80)
			return 0;
		nonascii = 1;
		out++;
		i++;
		if (out > 63)
			return 0;
	}
	return nonascii;
}

/*
 * The one presentation-text parser.  strict (dname_parse): bytes outside
 * printable ASCII and the specials of is_special() must be escaped, \X
 * must be printable, and xn-- labels must hold valid Punycode.  Otherwise
 * (dname_parse_pdns) only \., \\ and \DDD are escapes and every other byte
 * but '.' stands for itself, as pdns writes names.
 */
static int parse_text(dname_t *out, const char *text, size_t len, int strict)
{
	uint8_t wire[256]; /* labels in wire order, length-prefixed */
	uint8_t starts[128];
	size_t w = 0, i = 0, k = 0;
	unsigned nlabels = 0;

	if (len == 0)
		return ERR_BADNAME;
	if (len == 1 && text[0] == '.') {
		out->len = 0;
		out->labels = 0;
		return 0;
	}
	while (i < len) {
		size_t lstart = w;
		unsigned llen = 0;
		if (w >= 254)
			return ERR_BADNAME;
		w++; /* length byte */
		while (i < len && text[i] != '.') {
			unsigned char c = (unsigned char)text[i++];
			if (c == '\\') {
				if (i >= len)
					return ERR_BADNAME;
				c = (unsigned char)text[i];
				if (c >= '0' && c <= '9') {
					unsigned v;
					if (i + 3 > len || text[i + 1] < '0' || text[i + 1] > '9' ||
					    text[i + 2] < '0' || text[i + 2] > '9')
						return ERR_BADNAME;
					v = (unsigned)(text[i] - '0') * 100 +
					    (unsigned)(text[i + 1] - '0') * 10 +
					    (unsigned)(text[i + 2] - '0');
					if (v > 255)
						return ERR_BADNAME;
					c = (unsigned char)v;
					i += 3;
				} else if (!strict || (c > 0x20 && c < 0x7f)) {
					i++; /* \X: X as it stands */
				} else {
					return ERR_BADNAME;
				}
			} else if (strict && (c <= 0x20 || c >= 0x7f || is_special(c))) {
				return ERR_BADNAME;
			}
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c + ('a' - 'A'));
			if (++llen > DNAME_MAX_LABEL || w >= 254)
				return ERR_BADNAME;
			wire[w++] = c;
		}
		if (llen == 0)
			return ERR_BADNAME; /* "a..b", ".a", or a lone trailing dot */
		wire[lstart] = (uint8_t)llen;
		if (nlabels >= sizeof(starts))
			return ERR_BADNAME;
		starts[nlabels++] = (uint8_t)lstart;
		if (i < len) {
			i++; /* the dot */
			if (i == len)
				break; /* one trailing dot: absolute */
		}
	}
	/* wire length with the root byte must be <= 255 */
	if (w + 1 > 255)
		return ERR_BADNAME;
	for (unsigned l = 0; strict && l < nlabels; l++) {
		const uint8_t *lab = wire + starts[l] + 1;
		uint8_t ll = wire[starts[l]];
		if (ll >= 4 && lab[0] == 'x' && lab[1] == 'n' && lab[2] == '-' && lab[3] == '-' &&
		    !punycode_valid(lab + 4, ll - 4u))
			return ERR_BADNAME;
	}
	/* reverse label order into the key */
	out->len = (uint8_t)w;
	out->labels = (uint8_t)nlabels;
	for (unsigned l = nlabels; l-- > 0;) {
		uint8_t ll = wire[starts[l]];
		memcpy(out->key + k, wire + starts[l], ll + 1u);
		k += ll + 1u;
	}
	return 0;
}

int dname_parse(dname_t *out, const char *text, size_t len)
{
	return parse_text(out, text, len, 1);
}

int dname_is_host(const dname_t *n)
{
	size_t k = 0;
	if (n->labels < 2)
		return 0;
	while (k < n->len) {
		uint8_t ll = n->key[k];
		const uint8_t *lab = n->key + k + 1;
		for (uint8_t j = 0; j < ll; j++)
			if (!is_ldh(lab[j]))
				return 0;
		if (lab[0] == '-' || lab[ll - 1] == '-')
			return 0;
		/* RFC 5891 4.2.3.1: "??--" is reserved for A-labels */
		if (ll >= 4 && lab[2] == '-' && lab[3] == '-' && !(lab[0] == 'x' && lab[1] == 'n'))
			return 0;
		k += ll + 1u;
	}
	return 1;
}

int dname_parse_host(dname_t *out, const char *text, size_t len)
{
	int rc = dname_parse(out, text, len);
	if (rc < 0)
		return rc;
	return dname_is_host(out) ? 0 : ERR_NOTHOST;
}

/*
 * The one formatter.  pdns = 0 (dname_to_text): the specials of
 * is_special() are escaped as \X and the name ends in a dot.  pdns = 1
 * (dname_to_text_nodot): only '.' and '\\' are escaped as \X, as pdns
 * writes names, and there is no trailing dot.  Either way bytes outside
 * printable ASCII are \DDD and the root is ".".
 */
static int format_text(const dname_t *n, char *buf, size_t size, int pdns)
{
	size_t o = 0;
	size_t offs[128];
	unsigned cnt = 0;

	if (n->len == 0) {
		if (size < 2)
			return -ENOSPC;
		buf[0] = '.';
		buf[1] = '\0';
		return 1;
	}
	for (size_t k = 0; k < n->len && cnt < 128; k += n->key[k] + 1u)
		offs[cnt++] = k;
	while (cnt-- > 0) {
		uint8_t ll = n->key[offs[cnt]];
		const uint8_t *lab = n->key + offs[cnt] + 1;
		for (uint8_t j = 0; j < ll; j++) {
			unsigned char c = lab[j];
			int printable = c > 0x20 && c < 0x7f;
			int escaped = pdns ? (c == '.' || c == '\\') : is_special(c);
			size_t need = !printable ? 4 : escaped ? 2 : 1;
			if (o + need + 1 > size)
				return -ENOSPC;
			if (!printable) {
				buf[o++] = '\\';
				buf[o++] = (char)('0' + c / 100);
				buf[o++] = (char)('0' + c / 10 % 10);
				buf[o++] = (char)('0' + c % 10);
				continue;
			}
			if (escaped)
				buf[o++] = '\\';
			buf[o++] = (char)c;
		}
		if (cnt > 0 || !pdns) {
			if (o + 2 > size)
				return -ENOSPC;
			buf[o++] = '.';
		}
	}
	buf[o] = '\0';
	return (int)o;
}

int dname_to_text(const dname_t *n, char *buf, size_t size)
{
	return format_text(n, buf, size, 0);
}

int dname_from_key(dname_t *out, const uint8_t *key, size_t len)
{
	size_t k = 0;
	unsigned labels = 0;
	if (len > DNAME_MAX_KEY)
		return ERR_BADNAME;
	while (k < len) {
		if (key[k] == 0 || key[k] > DNAME_MAX_LABEL || k + 1 + key[k] > len)
			return ERR_BADNAME;
		k += key[k] + 1u;
		labels++;
	}
	memcpy(out->key, key, len);
	out->len = (uint8_t)len;
	out->labels = (uint8_t)labels;
	return 0;
}

int dname_is_below(const dname_t *n, const dname_t *parent)
{
	/* Key form makes "at or below" a prefix test; the prefix ends at a
	 * label boundary because parent's key is made of whole labels and n's
	 * labels are walked from the same start. */
	return n->len >= parent->len && memcmp(n->key, parent->key, parent->len) == 0 &&
	       (n->len == parent->len || n->labels > parent->labels);
}

int dname_equal(const dname_t *a, const dname_t *b)
{
	return a->len == b->len && memcmp(a->key, b->key, a->len) == 0;
}

int dname_parent(dname_t *n)
{
	size_t k = 0, last = 0;
	if (n->labels == 0)
		return -ENOENT;
	while (k < n->len) {
		last = k;
		k += n->key[k] + 1u;
	}
	n->len = (uint8_t)last;
	n->labels--;
	return 0;
}

int dname_child(dname_t *child, const dname_t *parent, const char *label, size_t len)
{
	if (len == 0 || len > DNAME_MAX_LABEL)
		return ERR_BADNAME;
	if (parent->len + 1 + len + 1 > 255)
		return ERR_TOOBIG;
	if (child != parent)
		memcpy(child->key, parent->key, parent->len);
	child->key[parent->len] = (uint8_t)len;
	for (size_t j = 0; j < len; j++) {
		unsigned char c = (unsigned char)label[j];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		child->key[parent->len + 1 + j] = c;
	}
	child->len = (uint8_t)(parent->len + 1 + len);
	child->labels = (uint8_t)(parent->labels + 1);
	return 0;
}

int dname_is_wildcard(const dname_t *n)
{
	size_t k = 0, last = 0;
	if (n->labels == 0)
		return 0;
	while (k < n->len) {
		last = k;
		k += n->key[k] + 1u;
	}
	return n->key[last] == 1 && n->key[last + 1] == '*';
}

int dname_parse_pdns(dname_t *out, const char *text, size_t len)
{
	return parse_text(out, text, len, 0);
}

int dname_to_text_nodot(const dname_t *n, char *buf, size_t size)
{
	return format_text(n, buf, size, 1);
}

/*
 * Canonical keys.  Label bytes 0x00-0x40 become 0x01-0x41 so that 0x00 can
 * end a label: a label that is a prefix of another then sorts first, as RFC
 * 4034 6.1 wants, and 0x41 is free because keys hold lowercased labels only.
 */
int dname_canon_key(const dname_t *n, const dname_t *apex, uint8_t *out)
{
	size_t k, o = 0;

	if (apex) {
		if (!dname_is_below(n, apex))
			return ERR_NOZONE;
		k = apex->len;
	} else {
		k = 0;
	}
	while (k < n->len) {
		uint8_t ll = n->key[k];
		for (uint8_t j = 1; j <= ll; j++) {
			uint8_t c = n->key[k + j];
			if (c >= 'A' && c <= 'Z') /* only in a key not made here */
				c = (uint8_t)(c + ('a' - 'A'));
			out[o++] = c <= 0x40 ? (uint8_t)(c + 1) : c;
		}
		out[o++] = 0;
		k += ll + 1u;
	}
	return (int)o;
}

int dname_from_canon_key(dname_t *out, const dname_t *apex, const uint8_t *key, size_t len)
{
	dname_t r;
	size_t i = 0;

	if (apex) {
		r = *apex;
	} else {
		r.len = 0;
		r.labels = 0;
	}
	while (i < len) {
		size_t start = i, ll;
		while (i < len && key[i] != 0)
			i++;
		if (i == len)
			return ERR_BADNAME; /* label without its terminator */
		ll = i - start;
		if (ll == 0 || ll > DNAME_MAX_LABEL)
			return ERR_BADNAME;
		if (r.len + 1u + ll + 1u > 255)
			return ERR_BADNAME;
		r.key[r.len] = (uint8_t)ll;
		for (size_t j = 0; j < ll; j++) {
			uint8_t c = key[start + j];
			if (c >= 0x42 && c <= 0x5a)
				return ERR_BADNAME; /* an uppercase letter never appears */
			r.key[r.len + 1 + j] = c <= 0x41 ? (uint8_t)(c - 1) : c;
		}
		r.len = (uint8_t)(r.len + 1 + ll);
		r.labels++;
		i++; /* the terminator */
	}
	*out = r;
	return 0;
}

int dname_canon_cmp(const dname_t *a, const dname_t *b)
{
	uint8_t ka[DNAME_MAX_CANON], kb[DNAME_MAX_CANON];
	int la = dname_canon_key(a, NULL, ka), lb = dname_canon_key(b, NULL, kb);
	int c = memcmp(ka, kb, (size_t)(la < lb ? la : lb));

	if (c != 0)
		return c;
	return la - lb;
}

/* ---- internationalized names ---- */

/* libidn2's flags for every conversion: IDNA 2008 with the UTS #46 mapping,
 * nontransitional, NFC input (dname.h says why; not IDN2_USE_STD3_ASCII_RULES,
 * see add_converted). */
#define IDN_FLAGS     (IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL)
#define IDN_MAX_INPUT 1024 /* bytes of one U-label as typed; far above 63 A-label bytes */

/* 1 if s[0..len) is well-formed UTF-8 (RFC 3629: shortest form, no
 * surrogates, nothing above U+10FFFF), else 0. */
static int utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1fu, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0fu, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07u, min = 0x10000;
		} else {
			return 0;
		}
		if (len - i - 1 < n)
			return 0;
		for (size_t j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Appends one label (raw bytes) to a wire-order buffer of 256 bytes. */
static int wire_add(uint8_t *wire, size_t *w, unsigned *nlabels, const uint8_t *lab, size_t ll)
{
	if (ll == 0)
		return ERR_BADNAME;
	if (ll > DNAME_MAX_LABEL || *w + 1 + ll + 1 > 255)
		return ERR_TOOBIG; /* with the root byte, the wire limit is 255 */
	wire[(*w)++] = (uint8_t)ll;
	memcpy(wire + *w, lab, ll);
	*w += ll;
	(*nlabels)++;
	return 0;
}

/*
 * The labels libidn2 made of one typed U-label (more than one when the
 * mapping turned an ideographic full stop into a dot) must each be an LDH
 * label not starting or ending with a hyphen.  This is UTS #46's
 * UseSTD3ASCIIRules, checked here because libidn2's own flag drops a
 * disallowed '_' ("bü_cher" became "bücher") instead of refusing it.
 */
static int add_converted(uint8_t *wire, size_t *w, unsigned *nlabels, const char *a)
{
	while (1) {
		const char *dot = strchr(a, '.');
		size_t ll = dot ? (size_t)(dot - a) : strlen(a);
		int rc;
		if (ll == 0)
			return ERR_BADIDN;
		for (size_t j = 0; j < ll; j++)
			if (!is_ldh((unsigned char)a[j]))
				return ERR_BADIDN;
		if (a[0] == '-' || a[ll - 1] == '-')
			return ERR_BADIDN;
		if ((rc = wire_add(wire, w, nlabels, (const uint8_t *)a, ll)) < 0)
			return rc;
		if (!dot)
			return 0;
		a = dot + 1;
	}
}

/* One typed label holding bytes >= 0x80 (valid UTF-8) into its A-label. */
static int add_ulabel(uint8_t *wire, size_t *w, unsigned *nlabels, const char *lab, size_t ll)
{
	char in[IDN_MAX_INPUT + 1];
	uint8_t *a = NULL;
	int rc;

	if (ll > IDN_MAX_INPUT)
		return ERR_TOOBIG;
	/* ASCII inside a U-label can only be letters, digits and hyphens
	 * (RFC 5892: all other ASCII is DISALLOWED); escapes have no meaning
	 * there. */
	for (size_t j = 0; j < ll; j++) {
		unsigned char c = (unsigned char)lab[j];
		if (c < 0x80 && !is_ldh(c) && !(c >= 'A' && c <= 'Z'))
			return ERR_BADIDN;
	}
	memcpy(in, lab, ll);
	in[ll] = '\0';
	rc = idn2_lookup_u8((const uint8_t *)in, &a, IDN_FLAGS);
	if (rc != IDN2_OK) {
		free(a);
		if (rc == IDN2_MALLOC)
			return -ENOMEM;
		/* libidn2 encodes into a buffer of 63 bytes: "output too big"
		 * is a label over the limit. */
		if (rc == IDN2_TOO_BIG_LABEL || rc == IDN2_TOO_BIG_DOMAIN ||
		    rc == IDN2_PUNYCODE_BIG_OUTPUT)
			return ERR_TOOBIG;
		return ERR_BADIDN;
	}
	rc = add_converted(wire, w, nlabels, (const char *)a);
	free(a);
	return rc;
}

int dname_from_user(dname_t *out, const char *text, size_t len)
{
	uint8_t wire[256];
	size_t w = 0, i = 0, k = 0;
	unsigned nlabels = 0;
	size_t offs[128];
	int ascii = 1, rc;

	for (size_t j = 0; j < len && ascii; j++)
		ascii = (unsigned char)text[j] < 0x80;
	if (ascii)
		return dname_parse(out, text, len);
	if (!utf8_valid((const uint8_t *)text, len))
		return ERR_BADIDN;
	while (i < len) {
		size_t start = i;
		int u = 0;
		/* A label ends at a dot that is not escaped; \DDD holds digits
		 * only, so skipping the byte after a backslash is enough. */
		while (i < len && text[i] != '.') {
			u |= (unsigned char)text[i] >= 0x80;
			i += text[i] == '\\' && i + 1 < len ? 2 : 1;
		}
		if (i == start)
			return ERR_BADNAME; /* "a..b", ".a" */
		if (u) {
			rc = add_ulabel(wire, &w, &nlabels, text + start, i - start);
		} else {
			/* An ASCII label is whatever dname_parse makes of it. */
			dname_t one;
			rc = dname_parse(&one, text + start, i - start);
			if (rc == 0 && one.labels != 1)
				rc = ERR_BADNAME;
			if (rc == 0)
				rc = wire_add(wire, &w, &nlabels, one.key + 1, one.key[0]);
		}
		if (rc < 0)
			return rc;
		if (i < len)
			i++; /* the dot; one trailing dot makes no empty label */
	}
	if (nlabels > sizeof(offs) / sizeof(offs[0]))
		return ERR_TOOBIG; /* cannot happen within 255 bytes */
	for (size_t o = 0, l = 0; o < w; o += wire[o] + 1u)
		offs[l++] = o;
	for (unsigned l = nlabels; l-- > 0;) {
		memcpy(out->key + k, wire + offs[l], wire[offs[l]] + 1u);
		k += wire[offs[l]] + 1u;
	}
	out->len = (uint8_t)w;
	out->labels = (uint8_t)nlabels;
	return 0;
}

int dname_from_user_host(dname_t *out, const char *text, size_t len)
{
	int rc = dname_from_user(out, text, len);
	if (rc < 0)
		return rc;
	return dname_is_host(out) ? 0 : ERR_NOTHOST;
}

/*
 * The U-label of an A-label lab (ll bytes, "xn--" prefix) into u (size
 * bytes, NUL-terminated), or 0 if it has none worth showing: the Punycode
 * must decode, and the result must convert back to the very same A-label,
 * which rules out code points IDNA 2008 refuses (emoji), unnormalized or
 * uppercase forms, and anything that would print as something else.
 */
static int ulabel_of(const uint8_t *lab, size_t ll, char *u, size_t size)
{
	char a[DNAME_MAX_LABEL + 1];
	char *dec = NULL;
	uint8_t *back = NULL;
	int ok = 0;

	memcpy(a, lab, ll);
	a[ll] = '\0';
	if (idn2_to_unicode_8z8z(a, &dec, 0) == IDN2_OK &&
	    idn2_lookup_u8((const uint8_t *)dec, &back, IDN_FLAGS) == IDN2_OK &&
	    strcmp((const char *)back, a) == 0 && strlen(dec) < size) {
		strcpy(u, dec);
		ok = 1;
	}
	free(dec);
	free(back);
	return ok;
}

int dname_to_unicode(const dname_t *n, char *buf, size_t size)
{
	size_t o = 0, offs[128];
	unsigned cnt = 0;

	if (n->len == 0)
		return dname_to_text(n, buf, size);
	for (size_t k = 0; k < n->len && cnt < 128; k += n->key[k] + 1u)
		offs[cnt++] = k;
	while (cnt-- > 0) {
		const uint8_t *lab = n->key + offs[cnt] + 1;
		uint8_t ll = n->key[offs[cnt]];
		char u[4 * DNAME_MAX_LABEL + 1];
		int m;
		if (ll > 4 && memcmp(lab, "xn--", 4) == 0 && ulabel_of(lab, ll, u, sizeof u)) {
			size_t ul = strlen(u);
			if (o + ul + 2 > size)
				return -ENOSPC;
			memcpy(buf + o, u, ul);
			buf[o + ul] = '.';
			buf[o + ul + 1] = '\0';
			m = (int)(ul + 1);
		} else {
			/* Any other label is written as dname_to_text writes it. */
			dname_t one;
			one.len = (uint8_t)(ll + 1u);
			one.labels = 1;
			memcpy(one.key, n->key + offs[cnt], ll + 1u);
			m = format_text(&one, buf + o, size - o, 0);
		}
		if (m < 0 || (size_t)m >= size - o)
			return -ENOSPC;
		o += (size_t)m;
	}
	return (int)o;
}

int dname_to_display(const dname_t *n, char *buf, size_t size)
{
	char u[DNAME_MAX_TEXT];
	int t = dname_to_text(n, buf, size), ul;

	if (t < 0)
		return t;
	if ((ul = dname_to_unicode(n, u, sizeof u)) < 0)
		return ul;
	if (strcmp(u, buf) == 0)
		return t;
	if ((size_t)t + 2 + (size_t)ul + 2 > size)
		return -ENOSPC;
	memcpy(buf + t, " (", 2);
	memcpy(buf + t + 2, u, (size_t)ul);
	memcpy(buf + t + 2 + ul, ")", 2);
	return t + 2 + ul + 1;
}
