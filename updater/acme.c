#include "acme.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "err.h"

/* Copies string member key of obj into dst (cap bytes with the NUL).
 * 0, -ENOENT (absent), -EINVAL (not a string), ERR_TOOBIG. */
static int member(json_t *obj, const char *key, char *dst, size_t cap, size_t *len)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return -ENOENT;
	if (!json_is_string(v))
		return -EINVAL;
	size_t n = json_string_length(v);
	if (n + 1 > cap)
		return ERR_TOOBIG;
	memcpy(dst, json_string_value(v), n);
	dst[n] = '\0';
	*len = n;
	return 0;
}

static json_t *load(const char *body, size_t len, const char **err)
{
	json_error_t je;
	json_t *root = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &je) : NULL;
	if (!root) {
		if (err)
			*err = "the body is not JSON";
		return NULL;
	}
	if (!json_is_object(root)) {
		if (err)
			*err = "the body is not a JSON object";
		json_decref(root);
		return NULL;
	}
	return root;
}

void acme_raw_value(const char *key_auth, size_t len, char out[ACME_RAW_VALUE_LEN + 1])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(digest, (const unsigned char *)key_auth, len);
	sodium_bin2base64(out, ACME_RAW_VALUE_LEN + 1, digest, sizeof(digest),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int acme_parse_httpreq(const char *body, size_t len, acme_req_t *out, const char **err)
{
	memset(out, 0, sizeof(*out));
	json_t *root = load(body, len, err);
	if (!root)
		return -EINVAL;
	int rc = member(root, "fqdn", out->name, sizeof(out->name), &out->name_len);
	if (rc == 0) {
		rc = member(root, "value", out->value, sizeof(out->value), &out->value_len);
		if (rc && err)
			*err = rc == ERR_TOOBIG ? "value is too long" : "value is missing";
	} else if (rc == -ENOENT) {
		/* RAW mode: the owner and value are derived from what the ACME
		 * challenge gave the client. */
		static const char label[] = "_acme-challenge.";
		char domain[DNAME_MAX_TEXT];
		size_t dlen = 0;
		json_t *ka = json_object_get(root, "keyAuth");
		rc = member(root, "domain", domain, sizeof(domain), &dlen);
		if (rc == 0 && (!ka || !json_is_string(ka)))
			rc = -EINVAL;
		if (rc) {
			if (err)
				*err = rc == ERR_TOOBIG ? "domain is too long"
							: "want fqdn and value (or domain and keyAuth)";
		} else {
			/* lego passes a wildcard's base domain, but a "*." is
			 * harmless to accept: the TXT owner is the same. */
			const char *d = domain;
			if (dlen > 2 && d[0] == '*' && d[1] == '.')
				d += 2, dlen -= 2;
			if (sizeof(label) - 1 + dlen + 1 > sizeof(out->name)) {
				rc = ERR_TOOBIG;
				if (err)
					*err = "domain is too long";
			} else {
				memcpy(out->name, label, sizeof(label) - 1);
				memcpy(out->name + sizeof(label) - 1, d, dlen);
				out->name_len = sizeof(label) - 1 + dlen;
				out->name[out->name_len] = '\0';
				acme_raw_value(json_string_value(ka), json_string_length(ka),
					       out->value);
				out->value_len = ACME_RAW_VALUE_LEN;
				out->raw = 1;
			}
		}
	} else if (err) {
		*err = rc == ERR_TOOBIG ? "fqdn is too long" : "fqdn is not a string";
	}
	json_decref(root);
	return rc == -ENOENT ? -EINVAL : rc;
}

int acme_parse_acmedns(const char *body, size_t len, acme_req_t *out, const char **err)
{
	memset(out, 0, sizeof(*out));
	json_t *root = load(body, len, err);
	if (!root)
		return -EINVAL;
	int rc = member(root, "subdomain", out->name, sizeof(out->name), &out->name_len);
	if (rc == 0)
		rc = member(root, "txt", out->value, sizeof(out->value), &out->value_len);
	if (rc && err)
		*err = rc == ERR_TOOBIG ? "subdomain or txt is too long"
					: "want string members subdomain and txt";
	json_decref(root);
	return rc == -ENOENT ? -EINVAL : rc;
}

int acme_owner_host(const char *name, size_t len, dname_t *host)
{
	static const char label[] = "_acme-challenge.";
	size_t n = sizeof(label) - 1;
	if (len <= n || strncasecmp(name, label, n) != 0)
		return ERR_BADNAME;
	return dname_parse_host(host, name + n, len - n) ? ERR_BADNAME : 0;
}
