/*
 * Unit tests of sha1: the FIPS 180 example vectors (one block, two blocks,
 * a million 'a'), split updates, the RFC 5155 appendix A NSEC3 hashes, and
 * base32hex both ways.
 */
#include <string.h>

#include "check.h"
#include "sha1.h"

static const char *hex(const uint8_t *d)
{
	static char buf[2 * SHA1_LEN + 1];
	for (int i = 0; i < SHA1_LEN; i++)
		snprintf(buf + 2 * i, 3, "%02x", d[i]);
	return buf;
}

static const char *digest_of(const char *s)
{
	uint8_t d[SHA1_LEN];
	sha1(s, strlen(s), d);
	return hex(d);
}

static const char *nsec3_of(const char *name, unsigned iter)
{
	static char b[SHA1_B32_LEN + 1];
	static const uint8_t salt[] = {0xaa, 0xbb, 0xcc, 0xdd};
	uint8_t d[SHA1_LEN];
	dname_t n;
	CHECK_OK(dname_parse(&n, name, strlen(name)));
	sha1_nsec3(&n, salt, sizeof salt, iter, d);
	sha1_b32(d, b);
	return b;
}

int main(void)
{
	uint8_t d[SHA1_LEN], back[SHA1_LEN];
	sha1_t c;
	CHECK_STR(digest_of(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	CHECK_STR(digest_of("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
	CHECK_STR(digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
	          "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	CHECK_STR(digest_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmn"
	                    "opjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
	          "a49b2446a02c645bf419f995b67091253a04a259");
	/* a million 'a', fed in uneven pieces */
	char a[997];
	memset(a, 'a', sizeof a);
	sha1_init(&c);
	size_t left = 1000000;
	for (size_t step = 1; left; step = step % 997 + 1) {
		size_t n = step < left ? step : left;
		sha1_update(&c, a, n);
		left -= n;
	}
	sha1_final(&c, d);
	CHECK_STR(hex(d), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	/* RFC 5155 appendix A: salt aabbccdd, 12 iterations */
	CHECK_STR(nsec3_of("example", 12), "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
	CHECK_STR(nsec3_of("a.example", 12), "35mthgpgcu1qg68fab165klnsnk3dpvl");
	CHECK_STR(nsec3_of("ns1.example", 12), "2t7b4g4vsa5smi47k61mv5bv1a22bojr");
	CHECK_STR(nsec3_of("*.w.example", 12), "r53bq7cc2uvmubfu5ocmm6pers9tk9en");
	CHECK_STR(nsec3_of("XX.example", 12), "t644ebqk9bibcna874givr6joj62mlhv");
	/* base32hex round trip, either case; bad text refused */
	sha1("abc", 3, d);
	char t[SHA1_B32_LEN + 1];
	sha1_b32(d, t);
	CHECK_OK(sha1_b32_parse(t, strlen(t), back));
	CHECK(memcmp(d, back, SHA1_LEN) == 0);
	for (char *p = t; *p; p++)
		if (*p >= 'a')
			*p = (char)(*p - 32);
	CHECK_OK(sha1_b32_parse(t, strlen(t), back));
	CHECK(memcmp(d, back, SHA1_LEN) == 0);
	CHECK_RC(sha1_b32_parse("0p9mhaveqvm6t7vbl5lop2u3t2rp3to", 31, back), -EINVAL);
	CHECK_RC(sha1_b32_parse("0p9mhaveqvm6t7vbl5lop2u3t2rp3toz", 32, back), -EINVAL);
	CHECK_RC(sha1_b32_parse("0p9mhaveqvm6t7vbl5lop2u3t2rp3to.", 32, back), -EINVAL);
	return check_done("sha1");
}
