/*
 * err - the one error convention of KyedNS.
 *
 * Every function in common/ returns int: 0 (or a documented positive count)
 * on success, a negative number on failure.  Negative errno values are used
 * where errno already has the right word (-ENOMEM, -ENOENT, -EEXIST, -EINVAL,
 * -ENOSPC, -EIO); project conditions live in their own range below -1000 so
 * they never collide with errno.  err_str() turns either kind into one short
 * lowercase phrase fit for "cannot open store /x (phrase)".
 */
#ifndef KYEDNS_ERR_H
#define KYEDNS_ERR_H

enum {
	ERR_BASE = -1000,
	ERR_BADNAME = -1001,    /* not a valid domain name */
	ERR_BADADDR = -1002,    /* not a valid IPv4/IPv6 address */
	ERR_BADCONTENT = -1003, /* record content does not fit its type */
	ERR_BADTYPE = -1004,    /* unknown or unsupported record type */
	ERR_NOZONE = -1005,     /* name is outside every zone */
	ERR_CLASH = -1006,      /* CNAME beside other data, or similar */
	ERR_MAPFULL = -1007,    /* store map is full (grow and retry) */
	ERR_CORRUPT = -1008,    /* a stored value does not decode */
	ERR_VERSION = -1009,    /* store schema version is not ours */
	ERR_SHORTTOKEN = -1010, /* provided token is too short or has bad chars */
	ERR_READERS = -1011,    /* reader table full */
	ERR_RESIZED = -1012,    /* map was grown by another process; retry */
	ERR_TOOBIG = -1013,     /* value or name over a hard limit */
	ERR_NOTHOST = -1014,    /* name is not a valid host name (LDH) */
	ERR_ISZONE = -1015,     /* operation not allowed at a zone apex */
	ERR_TXNFULL = -1016,    /* too many changes for one txn: split it */
	ERR_HOSTOWNED = -1017,  /* A/AAAA at a dyndns host's name belong to the host */
	ERR_TXN = -1018,        /* no such transaction, or another one is open */
	ERR_WEAKTOKEN = -1019,  /* provided token is well-formed but guessable */
	ERR_BADIDN = -1020,     /* bad UTF-8, or a label IDNA 2008 refuses */
	ERR_BADTOKEN = -1021,   /* no token of the host matches the secret */
	ERR_TOKENEXPIRED = -1022, /* the matching token has expired */
	ERR_TOKENSOURCE = -1023, /* the matching token is not allowed from this address */
	ERR_TOKENNAME = -1024,  /* token name is not 1..32 of [a-z0-9-_] */
	ERR_BADTXT = -1025,     /* ACME value: bad length or character */
	ERR_NOROUTER = -1026,   /* the router host to follow does not exist */
	ERR_LAST = -1027
};

/* Returns a static string describing err (negative errno or ERR_*). Never NULL. */
const char *err_str(int err);

#endif
