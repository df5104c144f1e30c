/*
 * acme - the request bodies of the ACME DNS-01 clients the updater
 * serves besides dyndns2's txt= parameter, as pure functions on caller
 * memory (so they are tested as data, like dd.c):
 *
 *  - lego's httpreq provider (POST <endpoint>/present and /cleanup).  Its
 *    default mode sends {"fqdn": "_acme-challenge.H.", "value": "..."},
 *    the TXT owner and the finished value.  HTTPREQ_MODE=RAW sends
 *    {"domain": "H", "token": "...", "keyAuth": "..."} instead: the ACME
 *    challenge's token and key authorization, from which the TXT value is
 *    derived here as RFC 8555 8.4 does it, base64url(SHA-256(keyAuth))
 *    without padding, and the owner is _acme-challenge.H.
 *  - acme-dns clients (POST <base>/update): {"subdomain": "...",
 *    "txt": "..."}; the host and token come in X-Api-User / X-Api-Key.
 *
 * Only this module sees json_error_t.  Nothing here logs.
 */
#ifndef KYEDNS_ACME_H
#define KYEDNS_ACME_H

#include <stddef.h>

#include "dname.h"
#include "store.h"

#define ACME_RAW_VALUE_LEN 43 /* base64url of a SHA-256 digest, no padding */

typedef struct acme_req {
	char name[DNAME_MAX_TEXT + 1]; /* httpreq: the TXT owner as sent (trailing dot
					  kept); acme-dns: the subdomain */
	size_t name_len;
	char value[STORE_ACME_VALUE_MAX + 1]; /* the TXT value, NUL-terminated */
	size_t value_len;
	int raw;                         /* httpreq: the body was RAW mode */
} acme_req_t;

/*
 * Parses an httpreq body (len bytes, either mode) into *out; in RAW mode
 * name is "_acme-challenge." + domain and value the derived digest.
 * Returns 0, -EINVAL when the body is not a JSON object with string
 * members of one of the two shapes (the error, if err is not NULL, gets a
 * short reason), ERR_TOOBIG when a member does not fit out.  The value is
 * not checked here (store_acme_check does that).
 */
int acme_parse_httpreq(const char *body, size_t len, acme_req_t *out, const char **err);

/* Parses an acme-dns update body: name = subdomain, value = txt.  Returns
 * as acme_parse_httpreq. */
int acme_parse_acmedns(const char *body, size_t len, acme_req_t *out, const char **err);

/* The DNS-01 TXT value of a key authorization (RFC 8555 8.4) into out,
 * NUL-terminated. */
void acme_raw_value(const char *key_auth, size_t len, char out[ACME_RAW_VALUE_LEN + 1]);

/*
 * The host an owner name written for it means: name (len bytes, a
 * trailing dot allowed) must be "_acme-challenge." followed by a host name,
 * which is parsed into *host.  Returns 0, or ERR_BADNAME.
 */
int acme_owner_host(const char *name, size_t len, dname_t *host);

#endif
