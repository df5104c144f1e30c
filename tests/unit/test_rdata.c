/*
 * test_rdata - record type names and content normalization: every
 * supported type in its accepted forms, and the forms each must refuse.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "rdata.h"
#include "store.h"

static char out[70000];

/* Normalizes in as type (by mnemonic) and returns the result or NULL. */
static const char *norm(const char *type, const char *in)
{
	size_t n = 12345;
	uint16_t t = rrtype_from_str(type);
	int rc = rdata_normalize(t, in, strlen(in), out, sizeof out, &n);
	if (rc < 0) {
		fprintf(stderr, "  %s %s: %s\n", type, in, err_str(rc));
		return NULL;
	}
	if (n != strlen(out))
		return "(outlen does not match)";
	return out;
}

static int rc_of(const char *type, const char *in)
{
	size_t n;
	return rdata_normalize(rrtype_from_str(type), in, strlen(in), out, sizeof out, &n);
}

#define OK(type, in, want) CHECK_STR(norm(type, in), want)
#define BAD(type, in) CHECK_RC(rc_of(type, in), ERR_BADCONTENT)

static void test_types(void)
{
	CHECK(rrtype_from_str("A") == RR_A);
	CHECK(rrtype_from_str("a") == RR_A);
	CHECK(rrtype_from_str("aaaa") == RR_AAAA);
	CHECK(rrtype_from_str("Cname") == RR_CNAME);
	CHECK(rrtype_from_str("NS") == RR_NS);
	CHECK(rrtype_from_str("PTR") == RR_PTR);
	CHECK(rrtype_from_str("MX") == RR_MX);
	CHECK(rrtype_from_str("TXT") == RR_TXT);
	CHECK(rrtype_from_str("SRV") == RR_SRV);
	CHECK(rrtype_from_str("CAA") == RR_CAA);
	CHECK(rrtype_from_str("SSHFP") == RR_SSHFP);
	CHECK(rrtype_from_str("TLSA") == RR_TLSA);
	CHECK(rrtype_from_str("DS") == RR_DS);
	/* Not storable: SOA lives in the zone value, ANY is a query type. */
	CHECK(rrtype_from_str("SOA") == 0);
	CHECK(rrtype_from_str("ANY") == 0);
	CHECK(rrtype_from_str("HTTPS") == 0);
	CHECK(rrtype_from_str("SVCB") == 0);
	CHECK(rrtype_from_str("") == 0);
	CHECK(rrtype_from_str("AA") == 0);
	CHECK(rrtype_from_str("A ") == 0);
	CHECK(rrtype_from_str(NULL) == 0);

	CHECK_STR(rrtype_name(RR_A), "A");
	CHECK_STR(rrtype_name(RR_AAAA), "AAAA");
	CHECK_STR(rrtype_name(RR_CAA), "CAA");
	CHECK_STR(rrtype_name(RR_SOA), "SOA");
	CHECK(rrtype_name(9999) == NULL);
	CHECK(rrtype_name(0) == NULL);

	size_t n;
	CHECK_RC(rdata_normalize(0, "x", 1, out, sizeof out, &n), ERR_BADTYPE);
	CHECK_RC(rdata_normalize(RR_SOA, "a. b. 1 2 3 4 5", 15, out, sizeof out, &n),
		 ERR_BADTYPE);
	CHECK_RC(rdata_normalize(RR_HTTPS, "1 . alpn=h2", 11, out, sizeof out, &n),
		 ERR_BADTYPE);
	CHECK_RC(rdata_normalize(RR_ANY, "x", 1, out, sizeof out, &n), ERR_BADTYPE);
}

static void test_addresses(void)
{
	OK("A", "192.0.2.1", "192.0.2.1");
	OK("A", "0.0.0.0", "0.0.0.0");
	OK("A", "255.255.255.255", "255.255.255.255");
	BAD("A", "");
	BAD("A", "1.2.3");
	BAD("A", "01.2.3.4");
	BAD("A", "1.2.3.4 ");
	BAD("A", " 1.2.3.4");
	BAD("A", "1.2.3.256");
	BAD("A", "1.2.3.4/24");
	BAD("A", "0x7f.0.0.1");
	BAD("A", "::1");
	BAD("A", "example.com");

	OK("AAAA", "2001:DB8::1", "2001:db8::1");
	OK("AAAA", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
	OK("AAAA", "::", "::");
	OK("AAAA", "::ffff:1.2.3.4", "::ffff:1.2.3.4");
	BAD("AAAA", "1.2.3.4");
	BAD("AAAA", "fe80::1%eth0");
	BAD("AAAA", "[2001:db8::1]");
	BAD("AAAA", "2001:db8:::1");
	BAD("AAAA", "2001:db8::g");
	BAD("AAAA", "2001:db8::1 ");
}

static void test_names(void)
{
	OK("NS", "ns1.Example.COM", "ns1.example.com.");
	OK("NS", "ns1.example.com.", "ns1.example.com.");
	OK("CNAME", "Target.example.net", "target.example.net.");
	OK("PTR", "host.example.", "host.example.");
	OK("CNAME", "_sip._tcp.example.com", "_sip._tcp.example.com.");
	BAD("NS", ".");
	BAD("CNAME", ".");
	BAD("PTR", ".");
	BAD("NS", "a..b");
	BAD("NS", ".a");
	BAD("NS", "ns1 .example.com");
	BAD("NS", "ns1.example.com extra");
	BAD("NS", " ns1.example.com");
	BAD("NS", "ns1.example.com ");
	BAD("CNAME", "a\\");
	OK("CNAME", "a\\.b.Example", "a\\.b.example.");   /* escaped dot stays one label */
	OK("CNAME", "\\065.example", "a.example.");       /* \DDD decoded, lowercased */
	BAD("CNAME", "caf\xc3\xa9.example");
	char longlabel[80];
	memset(longlabel, 'a', 64);
	strcpy(longlabel + 64, ".com");
	BAD("CNAME", longlabel);
	longlabel[1] = '\0';
	OK("CNAME", longlabel, "a.");

	OK("MX", "10 Mail.Example.com", "10 mail.example.com.");
	OK("MX", "0 .", "0 ."); /* null MX, RFC 7505 */
	OK("MX", "010 mx.example.", "10 mx.example.");
	OK("MX", "65535   mx.example.", "65535 mx.example.");
	OK("MX", "5\tmx.example.", "5 mx.example.");
	BAD("MX", "mx.example.com");
	BAD("MX", "10");
	BAD("MX", "10 ");
	BAD("MX", "65536 mx.example.");
	BAD("MX", "-1 mx.example.");
	BAD("MX", "+1 mx.example.");
	BAD("MX", "1x mx.example.");
	BAD("MX", "10 mx.example. extra");
	BAD("MX", "10 mx..example");
	BAD("MX", " 10 mx.example.");
	BAD("MX", "99999999999999999999 mx.example.");

	OK("SRV", "10 60 5060 SIP.example.com", "10 60 5060 sip.example.com.");
	OK("SRV", "0 0 0 .", "0 0 0 .");
	BAD("SRV", "10 60 5060");
	BAD("SRV", "10 60 sip.example.com");
	BAD("SRV", "10 60 65536 sip.example.com");
	BAD("SRV", "10 x 1 sip.example.com");
	BAD("SRV", "10 60 5060 sip.example.com more");
}

static void test_txt(void)
{
	OK("TXT", "hello world", "\"hello world\"");
	OK("TXT", "\"hello world\"", "\"hello world\"");
	OK("TXT", "\"a\" \"b\"", "\"a\" \"b\"");
	OK("TXT", "\"a\"   \t\"b\"", "\"a\" \"b\"");
	OK("TXT", "\"\"", "\"\"");
	OK("TXT", "\"say \\\"hi\\\"\"", "\"say \\\"hi\\\"\"");
	OK("TXT", "\"\\065\\066\"", "\"AB\"");
	OK("TXT", "\"\\x\"", "\"x\"");
	OK("TXT", "\"tab\\009nl\\010\"", "\"tab\\009nl\\010\"");
	OK("TXT", "\"back\\\\slash\"", "\"back\\\\slash\"");
	OK("TXT", "\"\\255\\000\"", "\"\\255\\000\"");
	/* Bare text is literal: quotes and backslashes inside get escaped. */
	OK("TXT", "v=spf1 -all", "\"v=spf1 -all\"");
	OK("TXT", "say \"hi\"", "\"say \\\"hi\\\"\"");
	OK("TXT", "a\\b", "\"a\\\\b\"");
	OK("TXT", "caf\xc3\xa9", "\"caf\\195\\169\"");
	OK("TXT", " lead", "\" lead\"");

	BAD("TXT", "");
	BAD("TXT", "\"unterminated");
	BAD("TXT", "\"a\"b");
	BAD("TXT", "\"a\"\"b\"");
	BAD("TXT", "\"a\" b");
	BAD("TXT", "\"a\" ");
	BAD("TXT", "\"bad escape \\25\"");
	BAD("TXT", "\"bad escape \\256\"");
	BAD("TXT", "\"ends in backslash\\");
	BAD("TXT", "\"\\2x5\"");

	/* Long strings become 255-byte character-strings. */
	char in[700], want[800];
	memset(in, 'x', 600);
	in[600] = '\0';
	snprintf(want, sizeof want, "\"%.255s\" \"%.255s\" \"%.90s\"", in, in, in);
	OK("TXT", in, want);
	in[0] = '"';
	in[599] = '"';
	snprintf(want, sizeof want, "\"%.255s\" \"%.255s\" \"%.88s\"", in + 1, in + 1, in + 1);
	OK("TXT", in, want);
	memset(in, 'y', 255);
	in[255] = '\0';
	snprintf(want, sizeof want, "\"%s\"", in);
	OK("TXT", in, want);

	/* Each chunk counts decoded bytes, not escapes: 255 x "\"" fits one. */
	char esc[1200];
	strcpy(esc, "\"");
	for (int i = 0; i < 255; i++)
		strcat(esc, "\\\"");
	strcat(esc, "\"");
	OK("TXT", esc, esc);

	/* Over the content limit: ERR_TOOBIG. */
	static char huge[70000];
	memset(huge, 'z', 66000);
	huge[66000] = '\0';
	CHECK_RC(rc_of("TXT", huge), ERR_TOOBIG);

	/* Output buffer too small: ERR_TOOBIG, never a truncated result. */
	char small[8];
	size_t n;
	CHECK_RC(rdata_normalize(RR_TXT, "0123456789", 10, small, sizeof small, &n), ERR_TOOBIG);
	CHECK_RC(rdata_normalize(RR_A, "1.2.3.4", 7, small, 7, &n), ERR_TOOBIG);
	CHECK_RC(rdata_normalize(RR_A, "1.2.3.4", 7, small, 8, &n), 0);
	CHECK_STR(small, "1.2.3.4");
}

static void test_caa(void)
{
	OK("CAA", "0 issue \"letsencrypt.org\"", "0 issue \"letsencrypt.org\"");
	OK("CAA", "128 ISSUE letsencrypt.org", "128 issue \"letsencrypt.org\"");
	OK("CAA", "0 iodef \"mailto:a@example.com\"", "0 iodef \"mailto:a@example.com\"");
	OK("CAA", "0 issue \";\"", "0 issue \";\"");
	OK("CAA", "0 issue \"\"", "0 issue \"\"");
	OK("CAA", "0 tbs \"a \\\"b\\\" c\"", "0 tbs \"a \\\"b\\\" c\"");
	BAD("CAA", "0 issue");
	BAD("CAA", "0 issue ");
	BAD("CAA", "256 issue \"x\"");
	BAD("CAA", "x issue \"x\"");
	BAD("CAA", "0 is-sue \"x\"");
	BAD("CAA", "0 issue \"x\" extra");
	BAD("CAA", "0 issue \"unterminated");
	BAD("CAA", "0 issue two words");
	BAD("CAA", "issue \"x\"");
}

static void test_hex_types(void)
{
	const char *sha1 = "0123456789ABCDEF0123456789abcdef01234567";
	const char *sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char in[300], want[300];

	snprintf(in, sizeof in, "1 1 %s", sha1);
	OK("SSHFP", in, "1 1 0123456789abcdef0123456789abcdef01234567");
	snprintf(in, sizeof in, "4 2 %s", sha256);
	snprintf(want, sizeof want, "4 2 %s", sha256);
	OK("SSHFP", in, want);
	snprintf(in, sizeof in, "4 2 %.32s %s", sha256, sha256 + 32);
	OK("SSHFP", in, want); /* hex may be split by blanks */
	OK("SSHFP", "1 9 abcd", "1 9 abcd");
	snprintf(in, sizeof in, "1 1 %s", sha256);
	BAD("SSHFP", in); /* SHA-1 fingerprint has 20 bytes */
	BAD("SSHFP", "1 1");
	BAD("SSHFP", "1 9 abc");
	BAD("SSHFP", "1 9 xyzw");
	BAD("SSHFP", "256 1 abcd");

	snprintf(in, sizeof in, "3 1 1 %s", sha256);
	snprintf(want, sizeof want, "3 1 1 %s", sha256);
	OK("TLSA", in, want);
	OK("TLSA", "3 1 0 3082AB", "3 1 0 3082ab");
	BAD("TLSA", "3 1 1 abcd");
	BAD("TLSA", "3 1 1");
	BAD("TLSA", "3 1 ab");

	snprintf(in, sizeof in, "60485 8 2 %s", sha256);
	snprintf(want, sizeof want, "60485 8 2 %s", sha256);
	OK("DS", in, want);
	BAD("DS", "60485 8 2 abcd");
	BAD("DS", "65536 8 2 abcd");
	BAD("DS", "60485 8 2");
}

int main(void)
{
	test_types();
	test_addresses();
	test_names();
	test_txt();
	test_caa();
	test_hex_types();
	return check_done("rdata");
}
