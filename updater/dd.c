#include "dd.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "dname.h"
#include "err.h"

static const char *const code_names[DD_NCODES] = {
	[DD_GOOD] = "good",       [DD_NOCHG] = "nochg",     [DD_BADAUTH] = "badauth",
	[DD_NOTFQDN] = "notfqdn", [DD_NOHOST] = "nohost",   [DD_NUMHOST] = "numhost",
	[DD_DNSERR] = "dnserr",   [DD_ABUSE] = "abuse",     [DD_911] = "911",
};

const char *dd_code_str(int code)
{
	return code >= 0 && code < DD_NCODES ? code_names[code] : "911";
}

int dd_code_status(int code)
{
	switch (code) {
	case DD_BADAUTH: return 401;
	case DD_DNSERR: return 400;
	case DD_911: return 500;
	default: return 200;
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len) into *pos of buf; returns the decoded length or -1 when
 * it does not fit. */
static long decode(const char *s, size_t len, char *buf, size_t size, size_t *pos)
{
	size_t start = *pos, o = *pos;
	for (size_t i = 0; i < len; i++) {
		/* Most values need no decoding: copy up to the next '+' or '%'
		 * in one piece. */
		size_t run = i;
		while (run < len && s[run] != '+' && s[run] != '%')
			run++;
		if (run > i) {
			if (o + (run - i) >= size)
				return -1;
			memcpy(buf + o, s + i, run - i);
			o += run - i;
			i = run;
			if (i == len)
				break;
		}
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < len && hexval((unsigned char)s[i + 1]) >= 0 &&
			   hexval((unsigned char)s[i + 2]) >= 0) {
			c = (char)(hexval((unsigned char)s[i + 1]) * 16 +
				   hexval((unsigned char)s[i + 2]));
			i += 2;
		}
		if (o + 1 >= size)
			return -1;
		buf[o++] = c;
	}
	buf[o++] = '\0';
	*pos = o;
	return (long)(o - start - 1);
}

static dd_str_t *param_slot(dd_params_t *p, const char *name, size_t len)
{
	static const struct {
		const char *name;
		size_t len, off;
	} names[] = {
#define P(n, f) {n, sizeof(n) - 1, offsetof(dd_params_t, f)}
		P("hostname", hostname), P("myip", myip),       P("ip", myip),
		P("myipv4", myipv4),     P("myipv6", myipv6),   P("ipv6", myipv6),
		P("token", token),       P("username", username), P("user", username),
		P("password", password), P("pass", password),
		P("offline", offline),   P("wildcard", wildcard),
		P("ip6lanprefix", prefix), P("ipv6prefix", prefix),
		P("txt", txt),           P("clear", clear),
#undef P
	};
	if (len < 2 || len > 12)
		return NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].len == len && (name[0] | 0x20) == names[i].name[0] &&
		    strncasecmp(names[i].name, name, len) == 0)
			return (dd_str_t *)((char *)p + names[i].off);
	return NULL;
}

static int has_nonascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/*
 * A host name in UTF-8 (an IDN typed into a router or a curl URL) as
 * A-label text in out (DNAME_MAX_TEXT bytes): returns its length, or 0 when
 * the name is ASCII or not a valid IDN, so that it is used as it stands and
 * refused later (notfqdn) like any other bad name.
 */
static size_t idn_host(const char *s, size_t len, char *out)
{
	dname_t d;
	int n;
	if (!has_nonascii(s, len) || dname_from_user(&d, s, len) < 0 ||
	    (n = dname_to_text_nodot(&d, out, DNAME_MAX_TEXT)) <= 0)
		return 0;
	return (size_t)n;
}

/* Replaces a host list holding UTF-8 by the same list with A-labels,
 * written at *pos of buf (the list is trimmed as dd_next_host reads it). */
static int idn_list(dd_str_t *v, char *buf, size_t size, size_t *pos)
{
	dd_str_t list = *v, h;
	size_t o = *pos;
	if (!v->p || !has_nonascii(v->p, v->len))
		return 0;
	if (o >= size)
		return ERR_TOOBIG;
	while (dd_next_host(&list, &h)) {
		char text[DNAME_MAX_TEXT];
		size_t n = idn_host(h.p, h.len, text);
		const char *src = n ? text : h.p;
		if (!n)
			n = h.len;
		if (o + 1 + n + 1 > size)
			return ERR_TOOBIG;
		if (o > *pos)
			buf[o++] = ',';
		memcpy(buf + o, src, n);
		o += n;
	}
	buf[o] = '\0';
	v->p = buf + *pos;
	v->len = o - *pos;
	*pos = o + 1;
	return 0;
}

/* Parses one '&'-separated list into out, decoding into buf at *pos. */
static int parse_list(dd_params_t *out, const char *query, size_t len, size_t *pos)
{
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && query[end] != '&' && query[end] != ';')
			end++;
		size_t eq = i;
		while (eq < end && query[eq] != '=')
			eq++;
		/* Parameter names are plain words; no decoding needed to match. */
		dd_str_t *slot = param_slot(out, query + i, eq - i);
		if (slot) {
			const char *v = eq < end ? query + eq + 1 : query + end;
			size_t vlen = eq < end ? end - eq - 1 : 0;
			char *dst = out->buf + *pos;
			long n = decode(v, vlen, out->buf, sizeof(out->buf), pos);
			if (n < 0)
				return ERR_TOOBIG;
			slot->p = dst;
			slot->len = (size_t)n;
		}
		i = end + 1;
	}
	return 0;
}

int dd_parse_form(dd_params_t *out, const char *query, size_t qlen, const char *body,
		  size_t blen)
{
	memset(out, 0, offsetof(dd_params_t, buf));
	size_t pos = 0;
	if (parse_list(out, query, qlen, &pos) < 0 || (body && parse_list(out, body, blen, &pos) < 0))
		return ERR_TOOBIG;
	if (idn_list(&out->hostname, out->buf, sizeof(out->buf), &pos) < 0 ||
	    idn_list(&out->username, out->buf, sizeof(out->buf), &pos) < 0)
		return ERR_TOOBIG;
	return 0;
}

int dd_parse_query(dd_params_t *out, const char *query, size_t len)
{
	return dd_parse_form(out, query, len, NULL, 0);
}

static int word_is(dd_str_t v, const char *w)
{
	return v.len == strlen(w) && strncasecmp(v.p, w, v.len) == 0;
}

int dd_switch(dd_str_t v, int *out)
{
	while (v.len && v.p[0] == ' ')
		v.p++, v.len--;
	while (v.len && v.p[v.len - 1] == ' ')
		v.len--;
	*out = -1;
	if (!v.p || v.len == 0 || word_is(v, "nochg"))
		return 0;
	if (word_is(v, "yes") || word_is(v, "on") || word_is(v, "true") || word_is(v, "1")) {
		*out = 1;
		return 0;
	}
	if (word_is(v, "no") || word_is(v, "off") || word_is(v, "false") || word_is(v, "0")) {
		*out = 0;
		return 0;
	}
	return -EINVAL;
}

int dd_prefix(dd_str_t v, addr_t *prefix, unsigned *plen)
{
	memset(prefix, 0, sizeof(*prefix));
	*plen = 0;
	if (!v.p || dd_not_sent(v.p, v.len))
		return 0;
	const char *s = v.p;
	size_t len = v.len;
	while (len && s[0] == ' ')
		s++, len--;
	while (len && s[len - 1] == ' ')
		len--;
	unsigned bits = 64;
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	if (slash) {
		size_t dl = len - alen - 1;
		if (dl < 1 || dl > 3)
			return ERR_BADADDR;
		bits = 0;
		for (size_t i = 0; i < dl; i++) {
			char c = slash[1 + i];
			if (c < '0' || c > '9')
				return ERR_BADADDR;
			bits = bits * 10 + (unsigned)(c - '0');
		}
	}
	addr_t a;
	if (bits < 1 || bits > 64 || addr_parse(&a, s, alen) != 0 || a.family != 6)
		return ERR_BADADDR;
	for (unsigned b = bits; b < 128; b++)
		a.bytes[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	/* "::/64" is what a router without a prefix may fill in: no prefix,
	 * like myip=:: is no address. */
	if (addr_is_unspecified(&a))
		return 0;
	*prefix = a;
	*plen = bits;
	return 0;
}

size_t dd_acme_label(const char *host, size_t len)
{
	static const char label[] = "_acme-challenge.";
	size_t n = sizeof(label) - 1;
	return len > n && strncasecmp(host, label, n) == 0 ? n : 0;
}

int dd_parse_basic(const char *value, size_t len, char *buf, size_t size, dd_str_t *user,
		   dd_str_t *pass)
{
	size_t i = 0;
	while (i < len && value[i] == ' ')
		i++;
	if (len - i < 6 || strncasecmp(value + i, "basic ", 6) != 0)
		return -EINVAL;
	i += 6;
	while (i < len && value[i] == ' ')
		i++;
	size_t end = len;
	while (end > i && value[end - 1] == ' ')
		end--;
	size_t bin_len = 0;
	if (size < 2 ||
	    sodium_base642bin((unsigned char *)buf, size - 1, value + i, end - i, NULL, &bin_len,
			      NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -EINVAL;
	buf[bin_len] = '\0';
	char *colon = memchr(buf, ':', bin_len);
	if (!colon)
		return -EINVAL;
	user->p = buf;
	user->len = (size_t)(colon - buf);
	pass->p = colon + 1;
	pass->len = bin_len - user->len - 1;
	/* A user (host name) in UTF-8: its A-label text goes after the
	 * password, when it fits. */
	char text[DNAME_MAX_TEXT];
	size_t n = idn_host(user->p, user->len, text);
	if (n && bin_len + 1 + n + 1 <= size) {
		memcpy(buf + bin_len + 1, text, n);
		buf[bin_len + 1 + n] = '\0';
		user->p = buf + bin_len + 1;
		user->len = n;
	}
	return 0;
}

int dd_not_sent(const char *s, size_t len)
{
	while (len && s[0] == ' ')
		s++, len--;
	while (len && s[len - 1] == ' ')
		len--;
	if (len == 0)
		return 1;
	/* Unsubstituted templates of router firmwares: "<ipaddr>" (AVM
	 * Fritz!Box), "<ip6addr>" and similar. */
	if (s[0] == '<' && s[len - 1] == '>')
		return 1;
	addr_t a;
	if (addr_parse(&a, s, len) == 0 && addr_is_unspecified(&a))
		return 1;
	return 0;
}

/* Adds one address of any family; want (4, 6 or 0 for either) restricts it. */
static int add_addr(const char *s, size_t len, int want, addr_t *v4, addr_t *v6)
{
	while (len && s[0] == ' ')
		s++, len--;
	while (len && s[len - 1] == ' ')
		len--;
	if (dd_not_sent(s, len))
		return 0;
	addr_t a;
	if (addr_parse(&a, s, len) != 0)
		return ERR_BADADDR;
	if (want && a.family != want)
		return ERR_BADADDR;
	addr_t *dst = a.family == 4 ? v4 : v6;
	if (dst->family && !addr_equal(dst, &a))
		return ERR_BADADDR;
	*dst = a;
	return 0;
}

int dd_addrs(const dd_params_t *p, addr_t *v4, addr_t *v6)
{
	memset(v4, 0, sizeof(*v4));
	memset(v6, 0, sizeof(*v6));
	int rc;
	if (p->myip.p) {
		const char *s = p->myip.p;
		size_t len = p->myip.len;
		const char *comma = memchr(s, ',', len);
		if (comma) {
			size_t first = (size_t)(comma - s);
			if (memchr(comma + 1, ',', len - first - 1))
				return ERR_BADADDR;
			if ((rc = add_addr(s, first, 0, v4, v6)) ||
			    (rc = add_addr(comma + 1, len - first - 1, 0, v4, v6)))
				return rc;
		} else if ((rc = add_addr(s, len, 0, v4, v6))) {
			return rc;
		}
	}
	if (p->myipv4.p && (rc = add_addr(p->myipv4.p, p->myipv4.len, 4, v4, v6)))
		return rc;
	if (p->myipv6.p && (rc = add_addr(p->myipv6.p, p->myipv6.len, 6, v4, v6)))
		return rc;
	return 0;
}

int dd_next_host(dd_str_t *list, dd_str_t *host)
{
	while (list->len) {
		const char *s = list->p;
		const char *comma = memchr(s, ',', list->len);
		size_t n = comma ? (size_t)(comma - s) : list->len;
		list->p += comma ? n + 1 : n;
		list->len -= comma ? n + 1 : n;
		while (n && s[0] == ' ')
			s++, n--;
		while (n && s[n - 1] == ' ')
			n--;
		if (n) {
			host->p = s;
			host->len = n;
			return 1;
		}
	}
	return 0;
}

static int is_secret(const char *name, size_t len)
{
	static const char *const secrets[] = {"token", "password", "pass"};
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (strlen(secrets[i]) == len && strncasecmp(secrets[i], name, len) == 0)
			return 1;
	return 0;
}

/* Bytes dd_redact copies as they are: printable ASCII except the escapes
 * (backslash, double quote) and the query syntax it must look at. */
static int plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '\\' && c != '"' && c != '?' && c != '&' &&
	       c != ';' && c != '=';
}

static size_t redact_from(const char *url, size_t len, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int in_query = 0;
	size_t seg = 0; /* start of the current parameter */
	if (size == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		/* Runs of plain bytes are copied in one piece (this runs on
		 * every request's URL for the access log). */
		size_t run = i;
		while (run < len && plain((unsigned char)url[run]))
			run++;
		if (run > i) {
			size_t n = run - i;
			if (n > size - 1 - o)
				n = size - 1 - o;
			memcpy(out + o, url + i, n);
			o += n;
			if (i + n < run)
				break; /* out is full */
			i = run;
			if (i == len)
				break;
		}
		unsigned char c = (unsigned char)url[i];
		if (!in_query && c == '?') {
			in_query = 1;
			seg = i + 1;
		} else if (in_query && (c == '&' || c == ';')) {
			seg = i + 1;
		} else if (in_query && c == '=' && is_secret(url + seg, i - seg)) {
			if (o + 4 >= size)
				break;
			memcpy(out + o, "=***", 4);
			o += 4;
			while (i + 1 < len && url[i + 1] != '&' && url[i + 1] != ';')
				i++;
			continue;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			if (o + 1 >= size)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= size)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

size_t dd_redact(const char *url, size_t len, char *out, size_t size)
{
	/* An absolute URL may carry "user:password@" in its authority: the
	 * password is a token, so the whole userinfo is never logged. */
	const char *sep = memmem(url, len < 12 ? len : 12, "://", 3);
	if (sep && size > 0) {
		size_t a = (size_t)(sep - url) + 3, e = a;
		while (e < len && url[e] != '/' && url[e] != '?' && url[e] != '@')
			e++;
		if (e < len && url[e] == '@') {
			size_t o = redact_from(url, a, out, size);
			if (o + 4 < size) {
				memcpy(out + o, "***@", 4);
				o += 4;
				o += redact_from(url + e + 1, len - e - 1, out + o, size - o);
			}
			return o;
		}
	}
	return redact_from(url, len, out, size);
}
