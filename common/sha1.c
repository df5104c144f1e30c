/*
 * sha1.c - SHA-1 after FIPS 180-4 section 6.1, written from the standard,
 * and the NSEC3 hash and base32hex text built on it.
 */
#include "sha1.h"

#include <errno.h>
#include <string.h>

static uint32_t rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80], a, b, c, d, e, f, k, t;
	for (int i = 0; i < 16; i++)
		w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) |
		       ((uint32_t)p[4 * i + 2] << 8) | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int i = 0; i < 80; i++) {
		if (i < 20)
			f = (b & c) | (~b & d), k = 0x5a827999;
		else if (i < 40)
			f = b ^ c ^ d, k = 0x6ed9eba1;
		else if (i < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
		else
			f = b ^ c ^ d, k = 0xca62c1d6;
		t = rol(a, 5) + f + e + k + w[i];
		e = d, d = c, c = rol(b, 30), b = a, a = t;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

void sha1_init(sha1_t *c)
{
	c->h[0] = 0x67452301;
	c->h[1] = 0xefcdab89;
	c->h[2] = 0x98badcfe;
	c->h[3] = 0x10325476;
	c->h[4] = 0xc3d2e1f0;
	c->bytes = 0;
	c->used = 0;
}

void sha1_update(sha1_t *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	if (len == 0)
		return; /* data may be NULL then */
	c->bytes += len;
	if (c->used) {
		size_t n = 64 - c->used < len ? 64 - c->used : len;
		memcpy(c->buf + c->used, p, n);
		c->used += n, p += n, len -= n;
		if (c->used < 64)
			return;
		block(c->h, c->buf);
		c->used = 0;
	}
	for (; len >= 64; p += 64, len -= 64)
		block(c->h, p);
	memcpy(c->buf, p, len);
	c->used = len;
}

void sha1_final(sha1_t *c, uint8_t out[SHA1_LEN])
{
	uint64_t bits = c->bytes * 8;
	c->buf[c->used++] = 0x80;
	if (c->used > 56) {
		memset(c->buf + c->used, 0, 64 - c->used);
		block(c->h, c->buf);
		c->used = 0;
	}
	memset(c->buf + c->used, 0, 56 - c->used);
	for (int i = 0; i < 8; i++)
		c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	block(c->h, c->buf);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
}

void sha1(const void *data, size_t len, uint8_t out[SHA1_LEN])
{
	sha1_t c;
	sha1_init(&c);
	sha1_update(&c, data, len);
	sha1_final(&c, out);
}

void sha1_nsec3(const dname_t *name, const uint8_t *salt, size_t salt_len, unsigned iterations,
                uint8_t out[SHA1_LEN])
{
	/* wire form: the key form's labels in the opposite order, then the
	 * root; the key form is lowercase already */
	uint8_t wire[DNAME_MAX_KEY + 1];
	size_t o = 0, starts[128], n = 0;
	for (size_t i = 0; i < name->len && n < 128; i += 1u + name->key[i])
		starts[n++] = i;
	while (n--) {
		size_t i = starts[n], l = 1u + name->key[i];
		memcpy(wire + o, name->key + i, l);
		o += l;
	}
	wire[o++] = 0;
	sha1_t c;
	sha1_init(&c);
	sha1_update(&c, wire, o);
	sha1_update(&c, salt, salt_len);
	sha1_final(&c, out);
	for (unsigned k = 0; k < iterations; k++) {
		sha1_init(&c);
		sha1_update(&c, out, SHA1_LEN);
		sha1_update(&c, salt, salt_len);
		sha1_final(&c, out);
	}
}

static const char b32[] = "0123456789abcdefghijklmnopqrstuv";

void sha1_b32(const uint8_t d[SHA1_LEN], char out[SHA1_B32_LEN + 1])
{
	/* 20 bytes = 160 bits = exactly 32 groups of 5 */
	for (int i = 0; i < SHA1_B32_LEN; i++) {
		unsigned bit = (unsigned)i * 5, byte = bit / 8, off = bit % 8;
		unsigned v = (unsigned)d[byte] << 8 | (byte + 1 < SHA1_LEN ? d[byte + 1] : 0);
		out[i] = b32[(v >> (11 - off)) & 31];
	}
	out[SHA1_B32_LEN] = '\0';
}

int sha1_b32_parse(const char *text, size_t len, uint8_t d[SHA1_LEN])
{
	if (len != SHA1_B32_LEN)
		return -EINVAL;
	memset(d, 0, SHA1_LEN);
	for (int i = 0; i < SHA1_B32_LEN; i++) {
		unsigned c = (unsigned char)text[i], v;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'v')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'V')
			v = c - 'A' + 10;
		else
			return -EINVAL;
		unsigned bit = (unsigned)i * 5, byte = bit / 8, off = bit % 8;
		/* the 5 bits land at bit offset off of byte (and maybe byte+1) */
		unsigned sh = 11 - off;
		unsigned w = v << sh;
		d[byte] |= (uint8_t)(w >> 8);
		if (byte + 1 < SHA1_LEN)
			d[byte + 1] |= (uint8_t)w;
	}
	return 0;
}
