/*
 * sha1 - SHA-1 (FIPS 180-4) and the NSEC3 owner hash of RFC 5155.
 *
 * SHA-1 is broken for collision resistance, but it is what NSEC3 hash
 * algorithm 1 is (RFC 5155 5), so the backend needs it to order a zone's
 * NSEC3 chain; nothing here is used for anything secret.  libsodium has no
 * SHA-1, hence this small implementation.
 *
 * Pure functions on caller memory; no allocation, thread-safe.
 */
#ifndef KYEDNS_SHA1_H
#define KYEDNS_SHA1_H

#include <stddef.h>
#include <stdint.h>

#include "dname.h"

#define SHA1_LEN     20
#define SHA1_B32_LEN 32 /* base32hex text of a digest, no padding */

typedef struct sha1 {
	uint32_t h[5];
	uint64_t bytes;  /* message length so far */
	uint8_t buf[64]; /* partial block */
	size_t used;     /* bytes in buf */
} sha1_t;

void sha1_init(sha1_t *c);
void sha1_update(sha1_t *c, const void *data, size_t len);
/* Writes the digest to out (SHA1_LEN bytes).  c must be re-initialised
 * before reuse. */
void sha1_final(sha1_t *c, uint8_t out[SHA1_LEN]);

/* One-shot digest of data. */
void sha1(const void *data, size_t len, uint8_t out[SHA1_LEN]);

/*
 * The NSEC3 hash of name (RFC 5155 5): IH(salt, x, 0) = H(x || salt),
 * IH(salt, x, k) = H(IH(salt, x, k-1) || salt), over the name's canonical
 * wire form (lowercase).  iterations as in NSEC3PARAM (0 = one hash).
 */
void sha1_nsec3(const dname_t *name, const uint8_t *salt, size_t salt_len, unsigned iterations,
                uint8_t out[SHA1_LEN]);

/* Base32hex (RFC 4648 7), lowercase, no padding, of a digest: writes
 * SHA1_B32_LEN characters and a NUL to out. */
void sha1_b32(const uint8_t digest[SHA1_LEN], char out[SHA1_B32_LEN + 1]);

/* The inverse of sha1_b32 (either case): 0, or -EINVAL when text is not 32
 * base32hex characters. */
int sha1_b32_parse(const char *text, size_t len, uint8_t digest[SHA1_LEN]);

#endif
