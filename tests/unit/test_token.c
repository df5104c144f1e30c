/* Unit tests of token: generation, provided-token rules, hash, verify. */
#include <string.h>

#include "check.h"
#include "err.h"
#include "token.h"

int main(void)
{
	char t1[TOKEN_GEN_LEN + 1], t2[TOKEN_GEN_LEN + 1];
	uint8_t h[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];

	CHECK_OK(token_init());
	CHECK_OK(token_init());
	token_generate(t1);
	token_generate(t2);
	CHECK(strlen(t1) == TOKEN_GEN_LEN);
	CHECK(strcmp(t1, t2) != 0);
	CHECK_OK(token_check(t1, strlen(t1))); /* URL-safe alphabet only */
	CHECK_OK(token_check("abcdefghij0123456789", 20));
	CHECK_RC(token_check("abcdefghij012345678", 19), ERR_SHORTTOKEN);
	CHECK_RC(token_check("abcdefghij 123456789", 20), ERR_SHORTTOKEN);
	CHECK_RC(token_check("abcdefghij:123456789", 20), ERR_SHORTTOKEN);
	CHECK_RC(token_check("abcdefghij%123456789", 20), ERR_SHORTTOKEN);
	/* strength of provided tokens */
	CHECK_OK(token_check("tttttttttttttttttttttttt", 24)); /* the format alone */
	CHECK_RC(token_check_strength("tttttttttttttttttttttttt", 24), ERR_WEAKTOKEN); /* 1 char */
	CHECK_RC(token_check_strength("abababababababababababab", 24), ERR_WEAKTOKEN); /* two */
	CHECK_RC(token_check_strength("abcdeabcdeabcdeabcde", 20), ERR_WEAKTOKEN); /* 5 distinct */
	CHECK_RC(token_check_strength("aaaaaaaaaaaabcdefghijklmn", 25), ERR_WEAKTOKEN); /* a > 1/4 */
	CHECK_RC(token_check_strength("abcdefghijklmnopqrst", 20), ERR_WEAKTOKEN); /* 80 bits */
	CHECK_RC(token_check_strength("98765432109876543210999", 23), ERR_WEAKTOKEN); /* 69 bits */
	CHECK_RC(token_check_strength("abcdefghij 123456789", 20), ERR_SHORTTOKEN); /* format */
	CHECK_RC(token_check_strength("short", 5), ERR_SHORTTOKEN);
	CHECK_OK(token_check_strength("abcdefghijklmnopqrstuvwx", 24)); /* 96 bits */
	CHECK_OK(token_check_strength("aaaaabcdefghijklmnopqrst", 24)); /* 5 of 24 */
	CHECK_OK(token_check_strength("abcdefghij0123456789", 20));     /* 100 bits */
	CHECK_OK(token_check_strength("tokenA-0123456789abcdef", 23));
	CHECK(strstr(err_str(ERR_WEAKTOKEN), "guess") != NULL);
	for (int i = 0; i < 1000; i++) {
		token_generate(t2);
		CHECK_OK(token_check_strength(t2, strlen(t2))); /* every generated token passes */
	}
	token_hash(t1, strlen(t1), h);
	token_hash(t1, strlen(t1), h2);
	CHECK(memcmp(h, h2, sizeof(h)) == 0);
	CHECK(token_verify(h, t1, strlen(t1)) == 1);
	CHECK(token_verify(h, t2, strlen(t2)) == 0);
	CHECK(token_verify(h, t1, strlen(t1) - 1) == 0);
	CHECK(token_verify(h, "", 0) == 0);
	/* BLAKE2b-256 of "abc" (RFC 7693 test vectors are for 512; this one is
	 * the published 256-bit digest of "abc") */
	{
		static const uint8_t want[32] = {
			0xbd, 0xdd, 0x81, 0x3c, 0x63, 0x42, 0x39, 0x72, 0x31, 0x71, 0xef,
			0x3f, 0xee, 0x98, 0x57, 0x9b, 0x94, 0x96, 0x4e, 0x3b, 0xb1, 0xcb,
			0x3e, 0x42, 0x72, 0x62, 0xc8, 0xc0, 0x68, 0xd5, 0x23, 0x19};
		token_hash("abc", 3, h);
		CHECK(memcmp(h, want, 32) == 0);
	}
	return check_done("token");
}
