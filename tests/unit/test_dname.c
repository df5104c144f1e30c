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

static const char *pdns_rt(const char *in)
{
	static char buf[DNAME_MAX_TEXT];
	dname_t n;
	int rc = dname_parse_pdns(&n, in, strlen(in));
	if (rc < 0)
		return err_str(rc);
	if (dname_to_text_nodot(&n, buf, sizeof(buf)) < 0)
		return "to_text_nodot failed";
	return buf;
}

static int ppdns(const char *in)
{
	dname_t n;
	return dname_parse_pdns(&n, in, strlen(in));
}

static dname_t mk(const char *in)
{
	dname_t n;
	memset(&n, 0, sizeof(n));
	if (dname_parse_pdns(&n, in, strlen(in)) < 0)
		fprintf(stderr, "cannot parse test name %s\n", in);
	return n;
}

/* dname_from_user, then the canonical text (or the error string). */
static const char *user(const char *in)
{
	static char buf[DNAME_MAX_TEXT];
	dname_t n;
	int rc = dname_from_user(&n, in, strlen(in));
	if (rc < 0)
		return err_str(rc);
	if (dname_to_text(&n, buf, sizeof(buf)) < 0)
		return "to_text failed";
	return buf;
}

static int urc(const char *in)
{
	dname_t n;
	return dname_from_user(&n, in, strlen(in));
}

/* dname_parse (A-labels), then dname_to_unicode. */
static const char *uni(const char *in)
{
	static char buf[DNAME_MAX_TEXT];
	dname_t n;
	int rc = dname_parse(&n, in, strlen(in));
	if (rc < 0)
		return err_str(rc);
	if (dname_to_unicode(&n, buf, sizeof(buf)) < 0)
		return "to_unicode failed";
	return buf;
}

static void test_idn(void)
{
	/* ASCII text: exactly what dname_parse makes of it, errors included */
	static const char *const ascii[] = {
	        "www.Example.com",
	        "example.com.",
	        ".",
	        "a..b",
	        ".a",
	        "",
	        "a\\.b.c",
	        "\\256.x",
	        "\\065bc.x",
	        "xn--ls8h.la",
	        "xn--.example",
	        "XN--BCHER-KVA.example",
	        "_dmarc.example",
	        "*.example",
	        "a b.example",
	        "a\\ b.example",
	        "@.example",
	};
	for (size_t i = 0; i < sizeof(ascii) / sizeof(ascii[0]); i++) {
		dname_t p, u;
		memset(&p, 0xa5, sizeof p);
		memset(&u, 0xa5, sizeof u);
		int rp = dname_parse(&p, ascii[i], strlen(ascii[i]));
		CHECK_RC(dname_from_user(&u, ascii[i], strlen(ascii[i])), rp);
		CHECK(rp < 0 ||
		      (p.len == u.len && p.labels == u.labels && memcmp(p.key, u.key, p.len) == 0));
	}
	{
		char long_ascii[300];
		memset(long_ascii, 'a', 299);
		long_ascii[299] = '\0';
		CHECK_RC(urc(long_ascii), parse(long_ascii));
	}
	/* UTF-8 to A-labels: lowercased (UTS #46 mapping), NFC, mixed labels */
	CHECK_STR(user("bücher.example"), "xn--bcher-kva.example.");
	CHECK_STR(user("Bücher.Example."), "xn--bcher-kva.example.");
	CHECK_STR(user("BÜCHER.EXAMPLE"), "xn--bcher-kva.example.");
	CHECK_STR(user("bu\u0308cher.example"), "xn--bcher-kva.example."); /* u + U+0308 */
	CHECK_STR(user("münchen.bücher.example"), "xn--mnchen-3ya.xn--bcher-kva.example.");
	CHECK_STR(user("straße.example"), "xn--strae-oqa.example.");      /* nontransitional */
	CHECK_STR(user("ｂücher.example"), "xn--bcher-kva.example.");     /* fullwidth b */
	CHECK_STR(user("bücher\u3002example"), "xn--bcher-kva.example."); /* U+3002 */
	CHECK_STR(user("пример.испытание"), "xn--e1afmkfd.xn--80akhbyknj4f.");
	CHECK_STR(user("_acme-challenge.bücher.example"), "_acme-challenge.xn--bcher-kva.example.");
	CHECK_STR(user("*.Bücher.example"), "*.xn--bcher-kva.example.");
	CHECK_STR(user("a\\.b.bücher.example"), "a\\.b.xn--bcher-kva.example.");
	CHECK_STR(user("xn--mnchen-3ya.bücher.example"), "xn--mnchen-3ya.xn--bcher-kva.example.");
	{
		dname_t a, b;
		CHECK_OK(dname_from_user(&a, "münchen.bücher.example", 24));
		CHECK_OK(dname_parse(&b, "xn--mnchen-3ya.xn--bcher-kva.example", 36));
		CHECK(dname_equal(&a, &b) && a.labels == 3 && a.labels == b.labels);
		/* the length is honoured: no NUL needed, bytes after it ignored */
		CHECK_OK(dname_from_user(&a, "bücher.example.xyz", 15));
		CHECK_STR(uni("xn--bcher-kva.example"), "bücher.example.");
		CHECK_OK(dname_parse(&b, "xn--bcher-kva.example", 21));
		CHECK(dname_equal(&a, &b));
	}
	/* refused: code points IDNA 2008 disallows, non-LDH ASCII in a U-label */
	CHECK_RC(urc("😀.example"), ERR_BADIDN);
	CHECK_RC(urc("a😀b.example"), ERR_BADIDN);
	CHECK_RC(urc("♥.example"), ERR_BADIDN);
	CHECK_RC(urc("bü_cher.example"), ERR_BADIDN);      /* libidn2's STD3 flag drops '_' */
	CHECK_RC(urc("bü\uff3fcher.example"), ERR_BADIDN); /* fullwidth '_' */
	CHECK_RC(urc("bü cher.example"), ERR_BADIDN);
	CHECK_RC(urc("bü\\.cher.example"), ERR_BADIDN);
	CHECK_RC(urc("bü\\065cher.example"), ERR_BADIDN);
	CHECK_RC(urc("-bücher.example"), ERR_BADIDN);
	CHECK_RC(urc("bücher-.example"), ERR_BADIDN);
	CHECK_RC(urc("bü--cher.example"), ERR_BADIDN);
	CHECK_RC(urc("a\u200cbü.example"), ERR_BADIDN); /* ZWNJ out of context */
	/* refused: invalid UTF-8 */
	CHECK_RC(urc("b\374cher.example"), ERR_BADIDN);            /* Latin-1 */
	CHECK_RC(urc("b\xc3"), ERR_BADIDN);                        /* truncated */
	CHECK_RC(urc("\xc0\xaf.example\xc3\xbc"), ERR_BADIDN);     /* overlong '/' */
	CHECK_RC(urc("\355\240\200\303\274.example"), ERR_BADIDN); /* a surrogate */
	CHECK_RC(urc("\xf4\x90\x80\x80.example"), ERR_BADIDN);     /* above U+10FFFF */
	/* refused: empty labels, an ASCII label dname_parse refuses */
	CHECK_RC(urc("bücher..example"), ERR_BADNAME);
	CHECK_RC(urc(".bücher.example"), ERR_BADNAME);
	CHECK_RC(urc("a b.bücher.example"), ERR_BADNAME);
	CHECK_RC(urc("xn--zz-.bücher.example"), ERR_BADNAME);
	/* too long only after conversion */
	{
		char name[400] = "";
		/* 19 CJK characters (57 bytes typed) make a 63-byte A-label,
		 * 20 (60 bytes typed) one over the limit */
		CHECK_RC(urc("日本語漢字文化中国台湾香港東京大阪京都.example"), 0);
		CHECK_RC(urc("日本語漢字文化中国台湾香港東京大阪京都神.example"), ERR_TOOBIG);
		CHECK_STR(user("日本語漢字文化中国"), "xn--fiq92jxzdiwfumpcqar5e3x0ail2d.");
		for (int i = 0; i < 18; i++)
			strcat(name, "bücher."); /* 126 bytes typed, 18 * 14 wire bytes */
		strcat(name, "example");
		CHECK_RC(urc(name), ERR_TOOBIG);
		name[7 * 16] = '\0'; /* 16 labels: 224 wire bytes + root fits */
		CHECK_RC(urc(name), 0);
	}
	/* host names: the A-labels are LDH */
	{
		dname_t h;
		CHECK_OK(dname_from_user_host(&h, "münchen.bücher.example", 23));
		CHECK_OK(dname_from_user_host(&h, "home.example.com", 16));
		CHECK_RC(dname_from_user_host(&h, "bücher", 7), ERR_NOTHOST);
		CHECK_RC(dname_from_user_host(&h, "_x.bücher.example", 18), ERR_NOTHOST);
		CHECK_RC(dname_from_user_host(&h, "😀.example", 12), ERR_BADIDN);
		CHECK_RC(dname_from_user_host(&h, "under_score.example.com", 23), ERR_NOTHOST);
	}
	/* A-labels back to U-labels for display */
	CHECK_STR(uni("xn--mnchen-3ya.xn--bcher-kva.example"), "münchen.bücher.example.");
	CHECK_STR(uni("XN--STRAE-OQA.example."), "straße.example.");
	CHECK_STR(uni("www.example.com"), "www.example.com.");
	CHECK_STR(uni("."), ".");
	CHECK_STR(uni("a\\.b\\032c.xn--bcher-kva.example"), "a\\.b\\032c.bücher.example.");
	CHECK_STR(uni("xn--ls8h.la"), "xn--ls8h.la."); /* emoji: not IDNA 2008 */
	CHECK_STR(uni("xn--bcher-2pa.example"), "xn--bcher-2pa.example."); /* "bÜcher" */
	{
		dname_t n;
		char small[8];
		CHECK_OK(dname_parse(&n, "xn--bcher-kva.example", 21));
		CHECK_RC(dname_to_unicode(&n, small, sizeof small), -ENOSPC);
		CHECK_RC(dname_to_unicode(&n, small, 8), -ENOSPC);
		char fit[17];
		CHECK_RC(dname_to_unicode(&n, fit, sizeof fit), 16); /* "bücher.example." */
		CHECK_RC(dname_to_unicode(&n, fit, 16), -ENOSPC);
	}
	{
		dname_t n;
		char d[DNAME_MAX_DISPLAY];
		CHECK_OK(dname_parse(&n, "xn--mnchen-3ya.example", 22));
		CHECK_RC(dname_to_display(&n, d, sizeof d), 43);
		CHECK_STR(d, "xn--mnchen-3ya.example. (münchen.example.)");
		CHECK_RC(dname_to_display(&n, d, 43), -ENOSPC);
		CHECK_RC(dname_to_display(&n, d, 44), 43);
		CHECK_OK(dname_parse(&n, "xn--ls8h.example", 16));
		CHECK_RC(dname_to_display(&n, d, sizeof d), 17);
		CHECK_STR(d, "xn--ls8h.example.");
		CHECK_OK(dname_parse(&n, "www.example", 11));
		CHECK_RC(dname_to_display(&n, d, sizeof d), 12);
		CHECK_STR(d, "www.example.");
	}
	/* what is shown converts back to the same name */
	{
		static const char *const names[] = {"xn--mnchen-3ya.xn--bcher-kva.example",
		                                    "xn--e1afmkfd.xn--80akhbyknj4f",
		                                    "xn--strae-oqa.de"};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			dname_t a, b;
			char t[DNAME_MAX_TEXT];
			CHECK_OK(dname_parse(&a, names[i], strlen(names[i])));
			CHECK(dname_to_unicode(&a, t, sizeof t) > 0);
			CHECK_OK(dname_from_user(&b, t, strlen(t)));
			CHECK(dname_equal(&a, &b));
		}
	}
}

static int keycmp(const uint8_t *a, int la, const uint8_t *b, int lb)
{
	int c = memcmp(a, b, (size_t)(la < lb ? la : lb));
	return c ? c : la - lb;
}

/* Canonical keys: the order of RFC 4034 6.1, prefix property, round trips. */
static void test_canon(void)
{
	/* RFC 4034 section 6.1 example, in its canonical order */
	static const char *order[] = {"example",         "a.example",      "yljkjljk.a.example",
	                              "Z.a.example",     "zABC.a.EXAMPLE", "z.example",
	                              "\\001.z.example", "*.z.example",    "\\200.z.example"};
	enum { N = sizeof(order) / sizeof(order[0]) };
	uint8_t keys[N][DNAME_MAX_CANON], k[DNAME_MAX_CANON];
	int lens[N];
	dname_t names[N], r, apex, n;
	char long63[64], buf[DNAME_MAX_TEXT];

	for (int i = 0; i < N; i++) {
		names[i] = mk(order[i]);
		lens[i] = dname_canon_key(&names[i], NULL, keys[i]);
		CHECK(lens[i] > 0);
	}
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++) {
			int kc = keycmp(keys[i], lens[i], keys[j], lens[j]);
			int cc = dname_canon_cmp(&names[i], &names[j]);
			CHECK((i < j) == (kc < 0) && (i == j) == (kc == 0));
			CHECK((i < j) == (cc < 0) && (i == j) == (cc == 0));
		}
	/* "Z.a.example" and "z.a.example" are the same name */
	r = mk("z.a.example");
	CHECK(dname_canon_cmp(&names[3], &r) == 0);
	/* the root sorts before everything; the root key is empty */
	r = mk(".");
	CHECK_RC(dname_canon_key(&r, NULL, k), 0);
	CHECK(dname_canon_cmp(&r, &names[0]) < 0);
	/* exact key bytes: terminators and the 0x00-0x40 shift */
	n = mk("a\\000\\@.example.");
	CHECK_RC(dname_canon_key(&n, NULL, k), 12);
	CHECK(memcmp(k, "example\0a\x01\x41\0", 12) == 0);
	/* bytes 0x40 and 0x41 stay apart: '@' < 'a' ('A' cannot occur) */
	r = mk("\\064.example");
	n = mk("a.example");
	CHECK(dname_canon_cmp(&r, &n) < 0);
	r = mk("\\063.example"); /* '?' 0x3f < '@' 0x40 */
	n = mk("\\064.example");
	CHECK(dname_canon_cmp(&r, &n) < 0);
	r = mk("\\000.example"); /* 0x00 sorts after "no label" but before 0x01 */
	n = mk("\\001.example");
	CHECK(dname_canon_cmp(&r, &n) < 0);
	CHECK(dname_canon_cmp(&names[0], &r) < 0);
	r = mk("a.example");
	n = mk("a\\000.example"); /* a label that extends another sorts after it */
	CHECK(dname_canon_cmp(&r, &n) < 0);
	n = mk("a-.example");
	CHECK(dname_canon_cmp(&r, &n) < 0);
	/* round trips, absolute and relative to an apex */
	for (int i = 0; i < N; i++) {
		CHECK_OK(dname_from_canon_key(&r, NULL, keys[i], (size_t)lens[i]));
		CHECK(dname_equal(&r, &names[i]) && r.labels == names[i].labels);
	}
	apex = mk("example");
	for (int i = 0; i < N; i++) {
		int l = dname_canon_key(&names[i], &apex, k);
		CHECK(l >= 0);
		CHECK_OK(dname_from_canon_key(&r, &apex, k, (size_t)l));
		CHECK(dname_equal(&r, &names[i]) && r.labels == names[i].labels);
	}
	CHECK_RC(dname_canon_key(&apex, &apex, k), 0);
	n = mk("www.example.");
	CHECK_RC(dname_canon_key(&n, &apex, k), 4);
	CHECK(memcmp(k, "www\0", 4) == 0);
	r = mk("example.com");
	CHECK_RC(dname_canon_key(&r, &apex, k), ERR_NOZONE);
	r = mk("xexample");
	CHECK_RC(dname_canon_key(&r, &apex, k), ERR_NOZONE);
	/* every byte value survives a round trip */
	for (int c = 0; c < 256; c++) {
		int l;
		memset(&n, 0, sizeof(n));
		CHECK_OK(dname_child(&n, &apex, (const char *)&(char){(char)c}, 1));
		l = dname_canon_key(&n, NULL, k);
		CHECK(l == 10 && k[8] != 0);
		CHECK_OK(dname_from_canon_key(&r, NULL, k, (size_t)l));
		CHECK(dname_equal(&r, &n));
	}
	/* prefix property: descendants extend the key, a sibling does not */
	{
		uint8_t kw[DNAME_MAX_CANON], kd[DNAME_MAX_CANON], ks[DNAME_MAX_CANON];
		dname_t www = mk("www.example"), deep = mk("a.b.www.example"),
		        sib = mk("wwwx.example");
		int lw = dname_canon_key(&www, NULL, kw), ld = dname_canon_key(&deep, NULL, kd),
		    ls = dname_canon_key(&sib, NULL, ks);
		CHECK(ld > lw && memcmp(kd, kw, (size_t)lw) == 0);
		CHECK(!(ls >= lw && memcmp(ks, kw, (size_t)lw) == 0));
		CHECK(keycmp(kw, lw, kd, ld) < 0 && keycmp(kd, ld, ks, ls) < 0);
	}
	/* 63-byte labels and a 255-byte name */
	memset(long63, 'a', 63);
	long63[63] = '\0';
	snprintf(buf, sizeof(buf), "%s.%s.%s.%s", long63, long63, long63,
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); /* 61 */
	CHECK_OK(dname_parse_pdns(&n, buf, strlen(buf)));
	CHECK(n.len == 253 + 1);
	{
		int l = dname_canon_key(&n, NULL, k);
		CHECK(l == 254);
		CHECK_OK(dname_from_canon_key(&r, NULL, k, (size_t)l));
		CHECK(dname_equal(&r, &n));
		/* the same key below a non-root apex is over 255 wire bytes */
		CHECK_RC(dname_from_canon_key(&r, &apex, k, (size_t)l), ERR_BADNAME);
	}
	/* malformed keys */
	CHECK_RC(dname_from_canon_key(&r, NULL, (const uint8_t *)"abc", 3), ERR_BADNAME);
	CHECK_RC(dname_from_canon_key(&r, NULL, (const uint8_t *)"\0", 1), ERR_BADNAME);
	CHECK_RC(dname_from_canon_key(&r, NULL, (const uint8_t *)"aBc\0", 4), ERR_BADNAME);
	{
		uint8_t big[70];
		memset(big, 'a', 64);
		big[64] = 0;
		CHECK_RC(dname_from_canon_key(&r, NULL, big, 65), ERR_BADNAME);
		CHECK_OK(dname_from_canon_key(&r, NULL, big + 1, 64));
	}
	CHECK_OK(dname_from_canon_key(&r, &apex, k, 0));
	CHECK(dname_equal(&r, &apex));
}

/* Names as pdns writes them: only \., \\ and \DDD escapes. */
static void test_pdns(void)
{
	dname_t n, m;
	char long63[64], buf[DNAME_MAX_TEXT];

	CHECK_STR(pdns_rt("a@b.example.com."), "a@b.example.com");
	CHECK_STR(pdns_rt("a\\.b.example.com."), "a\\.b.example.com");
	CHECK_STR(pdns_rt("a\\\\b.example.com"), "a\\\\b.example.com");
	CHECK_STR(pdns_rt("\\065BC.Example"), "abc.example");
	CHECK_STR(pdns_rt("$x.(y).;z.\"q\".example."), "$x.(y).;z.\"q\".example");
	CHECK_STR(pdns_rt("."), ".");
	CHECK_STR(pdns_rt("*.example"), "*.example");
	CHECK_STR(pdns_rt("a\\000b.example"), "a\\000b.example");
	CHECK_STR(pdns_rt("sp ace.example"), "sp\\032ace.example");
	CHECK_STR(pdns_rt("x\\200\\127\\126.example"), "x\\200\\127~.example");
	CHECK_STR(pdns_rt("\\@\\$.example"), "@$.example");
	CHECK_STR(pdns_rt("\xc3\xa9.example"), "\\195\\169.example");
	/* the byte '@' is a label byte, not the origin */
	CHECK_OK(dname_parse_pdns(&n, "@", 1));
	CHECK(n.labels == 1 && n.len == 2 && n.key[1] == '@');
	CHECK_OK(dname_parse_pdns(&n, "a@b.example.com.", 16));
	CHECK_OK(dname_parse(&m, "a\\@b.example.com", 16));
	CHECK(dname_equal(&n, &m));
	/* pdns-form text is what dname_parse_pdns reads back */
	CHECK_OK(dname_parse_pdns(&n, "a\\.b\\\\c\\000.x", 13));
	CHECK(dname_to_text_nodot(&n, buf, sizeof(buf)) > 0);
	CHECK_OK(dname_parse_pdns(&m, buf, strlen(buf)));
	CHECK(dname_equal(&n, &m) && n.labels == 2);
	/* rejects */
	CHECK_RC(ppdns(""), ERR_BADNAME);
	CHECK_RC(ppdns(".."), ERR_BADNAME);
	CHECK_RC(ppdns("a..b"), ERR_BADNAME);
	CHECK_RC(ppdns(".a"), ERR_BADNAME);
	CHECK_RC(ppdns("a.."), ERR_BADNAME);
	CHECK_RC(ppdns("a\\256"), ERR_BADNAME);
	CHECK_RC(ppdns("a\\12"), ERR_BADNAME);
	CHECK_RC(ppdns("a\\"), ERR_BADNAME);
	memset(long63, 'a', 63);
	long63[63] = '\0';
	snprintf(buf, sizeof(buf), "%s.example", long63);
	CHECK_OK(ppdns(buf));
	snprintf(buf, sizeof(buf), "a%s.example", long63);
	CHECK_RC(ppdns(buf), ERR_BADNAME);
	/* 255 wire bytes is the limit: 4 labels of 63 + 1 + root = 256 is over */
	snprintf(buf, sizeof(buf), "%s.%s.%s.%s", long63, long63, long63, long63);
	CHECK_RC(ppdns(buf), ERR_BADNAME);
	snprintf(buf, sizeof(buf), "%s.%s.%s.%.61s.", long63, long63, long63, long63);
	CHECK_OK(ppdns(buf));
	snprintf(buf, sizeof(buf), "%s.%s.%s.%.62s", long63, long63, long63, long63);
	CHECK_RC(ppdns(buf), ERR_BADNAME);
	/* small buffers */
	n = mk("www.example");
	CHECK_RC(dname_to_text_nodot(&n, buf, 11), -ENOSPC);
	CHECK_RC(dname_to_text_nodot(&n, buf, 12), 11);
	n = mk(".");
	CHECK_RC(dname_to_text_nodot(&n, buf, 1), -ENOSPC);
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
	test_canon();
	test_pdns();
	test_idn();
	return check_done("dname");
}
