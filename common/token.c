#include "token.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "err.h"

int token_init(void)
{
	/* sodium_init returns 1 when already initialised: both are fine */
	return sodium_init() < 0 ? -EIO : 0;
}

void token_generate(char out[TOKEN_GEN_LEN + 1])
{
	unsigned char raw[32]; /* 256 bits; 43 base64url chars without padding */
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, TOKEN_GEN_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

int token_check(const char *tok, size_t len)
{
	if (len < TOKEN_MIN_LEN || len > TOKEN_MAX_LEN)
		return ERR_SHORTTOKEN;
	for (size_t i = 0; i < len; i++) {
		char c = tok[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == '~'))
			return ERR_SHORTTOKEN;
	}
	return 0;
}

int token_check_strength(const char *tok, size_t len)
{
	uint8_t seen[128] = {0};
	unsigned distinct = 0, most = 0, classes = 0, pool;
	int rc = token_check(tok, len);
	if (rc)
		return rc;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tok[i];
		classes |= c >= 'a' && c <= 'z' ? 1u : c >= 'A' && c <= 'Z' ? 2u : c >= '0' && c <= '9' ? 4u : 8u;
		if (seen[c]++ == 0)
			distinct++;
		if (seen[c] > most)
			most = seen[c];
	}
	/* An attacker guesses from the alphabet the token visibly uses, so
	 * estimate len * floor(log2(pool)) bits; and refuse what no generator
	 * makes: few different characters, or one character for more than a
	 * quarter of the token. */
	pool = (classes & 1 ? 26u : 0) + (classes & 2 ? 26u : 0) + (classes & 4 ? 10u : 0) +
	       (classes & 8 ? 4u : 0);
	unsigned bits = 0;
	for (unsigned p = pool; p > 1; p >>= 1)
		bits++;
	if (distinct < TOKEN_MIN_DISTINCT || most * 4 > len + 3 || bits * len < TOKEN_MIN_BITS)
		return ERR_WEAKTOKEN;
	return 0;
}

void token_hash(const char *tok, size_t len, uint8_t out[TOKEN_HASH_LEN])
{
	crypto_generichash(out, TOKEN_HASH_LEN, (const unsigned char *)tok, len, NULL, 0);
}

int token_verify(const uint8_t hash[TOKEN_HASH_LEN], const char *tok, size_t len)
{
	uint8_t h[TOKEN_HASH_LEN];
	int ok;
	token_hash(tok, len, h);
	ok = sodium_memcmp(h, hash, TOKEN_HASH_LEN) == 0;
	sodium_memzero(h, sizeof(h));
	return ok;
}
