/*
 * rdata - record types and record content in PowerDNS presentation format.
 *
 * The store keeps content exactly as the remote backend must return it, so
 * all validation and normalization happens here, once, at write time
 * (kyednsctl, the updater).  Pure functions; thread-safe.
 */
#ifndef KYEDNS_RDATA_H
#define KYEDNS_RDATA_H

#include <stddef.h>
#include <stdint.h>

/* Returns the type code for a mnemonic ("A", "aaaa"; case-insensitive), or
 * 0 if unknown / unsupported.  SOA and ANY are not storable: 0. */
uint16_t rrtype_from_str(const char *s);

/* Returns the mnemonic ("A") for a code, or NULL if unknown. */
const char *rrtype_name(uint16_t type);

/*
 * Validates content for type and writes the normalized form to out (size
 * bytes, NUL-terminated); *outlen gets its length.  Names in content become
 * absolute lowercase; TXT becomes one or more quoted strings of <= 255 bytes
 * each ("..." "..."); addresses canonical.  Returns 0, ERR_BADCONTENT,
 * ERR_BADTYPE, or ERR_TOOBIG.
 */
int rdata_normalize(uint16_t type, const char *in, size_t len, char *out, size_t size,
		    size_t *outlen);

#endif
