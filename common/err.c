#include "err.h"

#include <errno.h>
#include <string.h>

static const char *const project_msgs[] = {
	[-(ERR_BADNAME - ERR_BASE)] = "invalid domain name",
	[-(ERR_BADADDR - ERR_BASE)] = "invalid address",
	[-(ERR_BADCONTENT - ERR_BASE)] = "content does not fit the record type",
	[-(ERR_BADTYPE - ERR_BASE)] = "unsupported record type",
	[-(ERR_NOZONE - ERR_BASE)] = "name is outside every zone",
	[-(ERR_CLASH - ERR_BASE)] = "record clashes with existing data (CNAME and other data)",
	[-(ERR_MAPFULL - ERR_BASE)] = "store map is full",
	[-(ERR_CORRUPT - ERR_BASE)] = "store value is corrupt",
	[-(ERR_VERSION - ERR_BASE)] = "store schema version is not supported",
	[-(ERR_SHORTTOKEN - ERR_BASE)] = "token must be at least 20 characters of A-Z a-z 0-9 - _ . ~",
	[-(ERR_READERS - ERR_BASE)] = "store reader table is full",
	[-(ERR_RESIZED - ERR_BASE)] = "store map was resized",
	[-(ERR_TOOBIG - ERR_BASE)] = "value too large",
	[-(ERR_NOTHOST - ERR_BASE)] = "not a valid host name (letters, digits, hyphens)",
	[-(ERR_ISZONE - ERR_BASE)] = "not allowed at a zone apex",
	[-(ERR_TXNFULL - ERR_BASE)] = "too many changes in one transaction",
	[-(ERR_HOSTOWNED - ERR_BASE)] = "A and AAAA at a dynamic host's name belong to the host",
	[-(ERR_TXN - ERR_BASE)] = "no such transaction, or another one is open",
	[-(ERR_WEAKTOKEN - ERR_BASE)] = "token is too easy to guess: use 10 or more different "
					"characters, mixed case and digits, or let kyednsctl "
					"generate one",
	[-(ERR_BADIDN - ERR_BASE)] = "invalid internationalized domain name (bad UTF-8, or a "
				     "character IDNA 2008 does not allow)",
	[-(ERR_BADTOKEN - ERR_BASE)] = "token does not match",
	[-(ERR_TOKENEXPIRED - ERR_BASE)] = "token has expired",
	[-(ERR_TOKENSOURCE - ERR_BASE)] = "token is not allowed from this address",
	[-(ERR_TOKENNAME - ERR_BASE)] = "token name must be 1 to 32 characters of a-z 0-9 - _",
	[-(ERR_BADTXT - ERR_BASE)] = "TXT value must be 1 to 255 printable ASCII characters "
				     "without spaces, quotes or backslashes",
	[-(ERR_NOROUTER - ERR_BASE)] = "the router host does not exist",
};

const char *err_str(int err)
{
	if (err >= 0)
		return "success";
	if (err < ERR_BASE && err > ERR_LAST) {
		const char *m = project_msgs[-(err - ERR_BASE)];
		return m ? m : "unknown error";
	}
	switch (-err) {
	case ENOENT: return "not found";
	case EEXIST: return "already exists";
	case ENOMEM: return "out of memory";
	case EINVAL: return "invalid argument";
	case ENOSPC: return "no space left";
	case EACCES: return "permission denied";
	default: break;
	}
	/* strerror() of glibc returns static text for known codes; lower-case is
	 * not guaranteed, but the phrases are already readable. */
	return strerror(-err);
}
