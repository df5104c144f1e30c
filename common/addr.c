#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "err.h"

int addr_parse4(addr_t *out, const char *s, size_t len)
{
	size_t i = 0;
	for (int oct = 0; oct < 4; oct++) {
		unsigned v = 0, digits = 0;
		if (oct > 0) {
			if (i >= len || s[i] != '.')
				return ERR_BADADDR;
			i++;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			/* a leading zero makes "010" octal to some parsers and
			 * decimal to others: refuse the ambiguity */
			if (digits == 1 && v == 0)
				return ERR_BADADDR;
			v = v * 10 + (unsigned)(s[i] - '0');
			if (++digits > 3 || v > 255)
				return ERR_BADADDR;
			i++;
		}
		if (digits == 0)
			return ERR_BADADDR;
		out->bytes[oct] = (uint8_t)v;
	}
	if (i != len)
		return ERR_BADADDR;
	out->family = 4;
	memset(out->bytes + 4, 0, 12);
	return 0;
}

int addr_parse6(addr_t *out, const char *s, size_t len)
{
	char buf[ADDR_TEXT_MAX];
	struct in6_addr a;
	if (len == 0 || len >= sizeof(buf))
		return ERR_BADADDR;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		/* inet_pton already refuses zone ids and brackets; checking the
		 * alphabet first also keeps NULs in s from truncating it */
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
		      c == ':' || c == '.'))
			return ERR_BADADDR;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, &a) != 1)
		return ERR_BADADDR;
	/* an embedded IPv4 tail must be strict too ("::ffff:01.2.3.4") */
	{
		const char *dot = memchr(s, '.', len);
		if (dot) {
			const char *colon = dot;
			addr_t v4;
			while (colon > s && colon[-1] != ':')
				colon--;
			if (addr_parse4(&v4, colon, len - (size_t)(colon - s)) < 0)
				return ERR_BADADDR;
		}
	}
	out->family = 6;
	memcpy(out->bytes, &a, 16);
	return 0;
}

int addr_parse(addr_t *out, const char *s, size_t len)
{
	if (memchr(s, ':', len))
		return addr_parse6(out, s, len);
	return addr_parse4(out, s, len);
}

int addr_format(const addr_t *a, char *buf, size_t size)
{
	/* glibc's inet_ntop writes RFC 5952 form for IPv6 (lowercase, longest
	 * zero run compressed, no single-group "::"). */
	if (a->family == 4) {
		if (!inet_ntop(AF_INET, a->bytes, buf, (socklen_t)size))
			return ERR_BADADDR;
	} else if (a->family == 6) {
		if (!inet_ntop(AF_INET6, a->bytes, buf, (socklen_t)size))
			return ERR_BADADDR;
	} else {
		return ERR_BADADDR;
	}
	return (int)strlen(buf);
}

int addr_is_unspecified(const addr_t *a)
{
	static const uint8_t zero[16];
	if (a->family == 4)
		return memcmp(a->bytes, zero, 4) == 0;
	if (a->family == 6)
		return memcmp(a->bytes, zero, 16) == 0;
	return 0;
}

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int addr_is_mapped(const addr_t *a)
{
	return a->family == 6 && memcmp(a->bytes, mapped_prefix, 12) == 0;
}

void addr_normalize(addr_t *a)
{
	if (!addr_is_mapped(a))
		return;
	memmove(a->bytes, a->bytes + 12, 4);
	memset(a->bytes + 4, 0, 12);
	a->family = 4;
}

int addr_is_loopback(const addr_t *a)
{
	static const uint8_t one[16] = {[15] = 1};
	if (a->family == 4)
		return a->bytes[0] == 127;
	return a->family == 6 && memcmp(a->bytes, one, 16) == 0;
}

int addr_is_useless(const addr_t *a, int allow_loopback)
{
	const uint8_t *b = a->bytes;
	if (addr_is_loopback(a))
		return !allow_loopback;
	if (a->family == 4)
		return b[0] == 0 || (b[0] == 169 && b[1] == 254) || b[0] >= 224;
	if (a->family == 6)
		return addr_is_unspecified(a) || b[0] == 0xff || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
		       addr_is_mapped(a);
	return 1;
}

int addr_equal(const addr_t *a, const addr_t *b)
{
	if (a->family != b->family)
		return 0;
	return memcmp(a->bytes, b->bytes, a->family == 4 ? 4 : 16) == 0;
}

int addr_from_sockaddr(addr_t *out, const void *sa)
{
	const struct sockaddr *s = sa;
	memset(out, 0, sizeof(*out));
	if (s->sa_family == AF_INET) {
		const struct sockaddr_in *in = sa;
		out->family = 4;
		memcpy(out->bytes, &in->sin_addr, 4);
		return 0;
	}
	if (s->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = sa;
		const uint8_t *b = in6->sin6_addr.s6_addr;
		if (memcmp(b, mapped_prefix, 12) == 0) {
			out->family = 4;
			memcpy(out->bytes, b + 12, 4);
		} else {
			out->family = 6;
			memcpy(out->bytes, b, 16);
		}
		return 0;
	}
	return ERR_BADADDR;
}

int addr_cidr_parse(addr_cidr_t *out, const char *s, size_t len)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	unsigned max, prefix;
	int rc = addr_parse(&out->net, s, alen);
	if (rc < 0)
		return rc;
	max = out->net.family == 4 ? 32 : 128;
	prefix = max;
	if (slash) {
		size_t i = alen + 1;
		if (i == len || len - i > 3)
			return ERR_BADADDR;
		prefix = 0;
		for (; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return ERR_BADADDR;
			prefix = prefix * 10 + (unsigned)(s[i] - '0');
		}
		if (prefix > max)
			return ERR_BADADDR;
	}
	if (addr_is_mapped(&out->net) && prefix >= 96) {
		addr_normalize(&out->net);
		prefix -= 96;
		max = 32;
	}
	out->prefix = (uint8_t)prefix;
	for (unsigned bit = prefix; bit < max; bit++)
		out->net.bytes[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}

int addr_cidr_match(const addr_cidr_t *c, const addr_t *a)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	if (a->family != c->net.family)
		return 0;
	if (memcmp(a->bytes, c->net.bytes, full) != 0)
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));
		if ((a->bytes[full] & mask) != c->net.bytes[full])
			return 0;
	}
	return 1;
}
