/* Unit tests of dname: parsing, canonical text, key form, host rules. */
#include <string.h>

#include "check.h"
#include "dname.h"

static const char *roundtrip(const char *in)
{
	static char buf[DNAME_MAX_TEXT];
	dname_t n;
	int rc = dname_parse(&n, in, strlen(in));
	if (rc < 0)
		return err_str(rc);
	if (dname_to_text(&n, buf, sizeof(buf)) < 0)
		return "to_text failed";
	return buf;
}

static int parse(const char *in)
{
	dname_t n;
	return dname_parse(&n, in, strlen(in));
}

static int host(const char *in)
{
	dname_t n;
	return dname_parse_host(&n, in, strlen(in));
}

int main(void)
{
	char long63[64], long64[65], name255[300], name256[300];
	dname_t a, b;

	/* case, trailing dot, canonical output */
	CHECK_STR(roundtrip("Example.COM"), "example.com.");
	CHECK_STR(roundtrip("example.com."), "example.com.");
	CHECK_STR(roundtrip("."), ".");
	CHECK_STR(roundtrip("*.dyn.example.com"), "*.dyn.example.com.");
	CHECK_STR(roundtrip("_sip._tcp.example.com"), "_sip._tcp.example.com.");
	/* escapes: \DDD and \X, output canonical */
	CHECK_STR(roundtrip("a\\046b.example"), "a\\.b.example.");
	CHECK_STR(roundtrip("a\\.b.example"), "a\\.b.example.");
	CHECK_STR(roundtrip("sp\\032ace.example"), "sp\\032ace.example.");
	CHECK_STR(roundtrip("\\065BC.example"), "abc.example.");
	CHECK_STR(roundtrip("x\\200y.example"), "x\\200y.example.");
	CHECK_RC(parse("a\\256.example"), ERR_BADNAME);
	CHECK_RC(parse("a\\1.example"), ERR_BADNAME);
	CHECK_RC(parse("a\\12"), ERR_BADNAME);
	CHECK_RC(parse("trailing\\"), ERR_BADNAME);
	/* empty labels and empty text */
	CHECK_RC(parse(""), ERR_BADNAME);
	CHECK_RC(parse("a..b"), ERR_BADNAME);
	CHECK_RC(parse(".a"), ERR_BADNAME);
	CHECK_RC(parse("a.."), ERR_BADNAME);
	CHECK_RC(parse(".."), ERR_BADNAME);
	/* spaces, controls, specials, non-ASCII */
	CHECK_RC(parse("a b.example"), ERR_BADNAME);
	CHECK_RC(parse("ab.example "), ERR_BADNAME);
	CHECK_RC(parse("a\tb.example"), ERR_BADNAME);
	CHECK_RC(parse("user@example.com"), ERR_BADNAME);
	CHECK_RC(parse("a;b.example"), ERR_BADNAME);
	CHECK_RC(parse("b\xc3\xa6r.example"), ERR_BADNAME); /* U-label: give the A-label */
	CHECK_RC(dname_parse(&a, "a\0b.example", 11), ERR_BADNAME);
	/* 63/255 limits */
	memset(long63, 'a', 63);
	long63[63] = '\0';
	memset(long64, 'a', 64);
	long64[64] = '\0';
	CHECK_RC(parse(long63), 0);
	CHECK_RC(parse(long64), ERR_BADNAME);
	/* 4 x 63-byte labels = 4 * 64 + 1 = 257 wire bytes: too long;
	 * 3 x 63 + one 61 = 192 + 62 + 1 = 255: the maximum */
	snprintf(name255, sizeof(name255), "%s.%s.%s.%.61s", long63, long63, long63, long63);
	snprintf(name256, sizeof(name256), "%s.%s.%s.%.62s", long63, long63, long63, long63);
	CHECK_RC(parse(name255), 0);
	CHECK_RC(parse(name256), ERR_BADNAME);
	{
		char txt[DNAME_MAX_TEXT];
		dname_parse(&a, name255, strlen(name255));
		CHECK(a.len == 254);
		CHECK(dname_to_text(&a, txt, sizeof(txt)) == (int)strlen(name255) + 1);
		CHECK_RC(dname_to_text(&a, txt, 10), -ENOSPC);
	}
	/* A-labels: valid Punycode accepted, junk refused */
	CHECK_STR(roundtrip("xn--bcher-kva.example"), "xn--bcher-kva.example."); /* bücher */
	CHECK_STR(roundtrip("XN--BCHER-KVA.example"), "xn--bcher-kva.example.");
	CHECK_RC(parse("xn--ls8h.la"), 0); /* an emoji domain */
	CHECK_RC(parse("xn--.example"), ERR_BADNAME);
	CHECK_RC(parse("xn--abc-.example"), ERR_BADNAME);
	CHECK_RC(parse("xn--ab_c.example"), ERR_BADNAME);
	CHECK_RC(parse("xn--999999999999.example"), ERR_BADNAME);
	/* key form: reversed, prefix = below */
	CHECK_OK(dname_parse(&a, "www.Example.com", 15));
	CHECK(a.labels == 3 && a.len == 16 && memcmp(a.key, "\3com\7example\3www", 16) == 0);
	CHECK_OK(dname_parse(&b, "example.com.", 12));
	CHECK(dname_is_below(&a, &b));
	CHECK(dname_is_below(&b, &b));
	CHECK(!dname_is_below(&b, &a));
	CHECK_OK(dname_parse(&b, "ample.com", 9));
	CHECK(!dname_is_below(&a, &b));
	CHECK_OK(dname_parse(&b, "WWW.EXAMPLE.COM.", 16));
	CHECK(dname_equal(&a, &b));
	CHECK_OK(dname_parent(&b));
	CHECK_STR(roundtrip("example.com"), "example.com.");
	CHECK(b.labels == 2);
	CHECK_OK(dname_child(&b, &b, "Host", 4));
	{
		char txt[DNAME_MAX_TEXT];
		dname_to_text(&b, txt, sizeof(txt));
		CHECK_STR(txt, "host.example.com.");
	}
	CHECK_RC(dname_child(&b, &b, "", 0), ERR_BADNAME);
	CHECK(!dname_is_wildcard(&a));
	CHECK_OK(dname_parse(&a, "*.example.com", 13));
	CHECK(dname_is_wildcard(&a));
	{
		dname_t r;
		CHECK_OK(dname_parse(&r, ".", 1));
		CHECK(r.len == 0 && r.labels == 0);
		CHECK_RC(dname_parent(&r), -ENOENT);
		CHECK_OK(dname_from_key(&r, a.key, a.len));
		CHECK(dname_equal(&r, &a));
		CHECK_RC(dname_from_key(&r, (const uint8_t *)"\5ab", 3), ERR_BADNAME);
		CHECK_RC(dname_from_key(&r, (const uint8_t *)"\0", 1), ERR_BADNAME);
	}
	/* host names: LDH, no leading/trailing hyphen, reserved ??-- */
	CHECK_RC(host("home.dyn.example.com"), 0);
	CHECK_RC(host("Home-1.example.com."), 0);
	CHECK_RC(host("xn--bcher-kva.example.com"), 0);
	CHECK_RC(host("-home.example.com"), ERR_NOTHOST);
	CHECK_RC(host("home-.example.com"), ERR_NOTHOST);
	CHECK_RC(host("ab--cd.example.com"), ERR_NOTHOST);
	CHECK_RC(host("under_score.example.com"), ERR_NOTHOST);
	CHECK_RC(host("*.example.com"), ERR_NOTHOST);
	CHECK_RC(host("localhost"), ERR_NOTHOST);
	CHECK_RC(host("a b.example.com"), ERR_BADNAME);
	CHECK_RC(host("1.2.3.4"), 0); /* LDH allows it; the updater checks FQDN-ness too */
	return check_done("dname");
}
