/*
 * token - host update tokens: generation, hashing, verification.
 *
 * A token is a URL-safe string.  Generated tokens carry 256 random bits
 * (43 base64url characters); provided ones (migrations, tests) must be at
 * least TOKEN_MIN_LEN characters of [A-Za-z0-9-_.~].  Only the BLAKE2b-256
 * hash (libsodium crypto_generichash, no key) is stored; with >= 128 bits of
 * entropy a fast unsalted hash is safe and keeps verification cheap.
 * Verification compares hashes in constant time.  token_init() must be
 * called once (it calls sodium_init) before the other functions; after that
 * everything is thread-safe.
 */
#ifndef KYEDNS_TOKEN_H
#define KYEDNS_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_HASH_LEN 32
#define TOKEN_GEN_LEN 43  /* characters of a generated token */
#define TOKEN_MIN_LEN 20
#define TOKEN_MAX_LEN 256

/* Returns 0, or -EIO if libsodium cannot initialise. Idempotent. */
int token_init(void);

/* Writes a new NUL-terminated token of TOKEN_GEN_LEN chars into out
 * (size >= TOKEN_GEN_LEN + 1). */
void token_generate(char out[TOKEN_GEN_LEN + 1]);

/* Returns 0 if tok (len bytes) is acceptable as a provided token:
 * TOKEN_MIN_LEN..TOKEN_MAX_LEN characters of [A-Za-z0-9-_.~]; else
 * ERR_SHORTTOKEN. */
int token_check(const char *tok, size_t len);

/* Hashes len bytes of tok into out. */
void token_hash(const char *tok, size_t len, uint8_t out[TOKEN_HASH_LEN]);

/* Returns 1 if tok hashes to hash (constant time in the hash compare),
 * else 0. */
int token_verify(const uint8_t hash[TOKEN_HASH_LEN], const char *tok, size_t len);

#endif
