/*
 * token - host update tokens: generation, hashing, verification.
 *
 * A token is a URL-safe string.  Generated tokens carry 256 random bits
 * (43 base64url characters); provided ones (migrations, tests) must be at
 * least TOKEN_MIN_LEN characters of [A-Za-z0-9-_.~] (token_check) and should
 * look random enough (token_check_strength).  Only the BLAKE2b-256
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
#define TOKEN_MAX_LEN 256 /* also the longest secret the updater hashes */
#define TOKEN_MIN_DISTINCT 10 /* different characters in a provided token */
#define TOKEN_MIN_BITS 96     /* length x floor(log2(alphabet in use)) */

/* Returns 0, or -EIO if libsodium cannot initialise. Idempotent. */
int token_init(void);

/* Writes a new NUL-terminated token of TOKEN_GEN_LEN chars into out
 * (size >= TOKEN_GEN_LEN + 1). */
void token_generate(char out[TOKEN_GEN_LEN + 1]);

/* Returns 0 if tok (len bytes) is acceptable as a provided token:
 * TOKEN_MIN_LEN..TOKEN_MAX_LEN characters of [A-Za-z0-9-_.~]; else
 * ERR_SHORTTOKEN. */
int token_check(const char *tok, size_t len);

/* Returns 0 if tok passes token_check() and also looks random enough to
 * be a secret: at least TOKEN_MIN_DISTINCT different characters, no
 * character more than a quarter of the token, and at least TOKEN_MIN_BITS
 * by the estimate length x floor(log2(size of the character classes used:
 * a-z 26, A-Z 26, 0-9 10, -_.~ 4)), e.g. 24 lowercase letters or 20 of
 * mixed case and digits.  Every generated token passes.  Returns
 * ERR_SHORTTOKEN where token_check() fails, else ERR_WEAKTOKEN for a
 * guessable one.  For tokens a person picks (host add --token, import). */
int token_check_strength(const char *tok, size_t len);

/* Hashes len bytes of tok into out. */
void token_hash(const char *tok, size_t len, uint8_t out[TOKEN_HASH_LEN]);

/* Returns 1 if tok hashes to hash (constant time in the hash compare),
 * else 0. */
int token_verify(const uint8_t hash[TOKEN_HASH_LEN], const char *tok, size_t len);

#endif
