/*
 * test_dd - the dyndns2 protocol module (updater/dd.c) and the abuse
 * tables (updater/limit.c) as data: query strings, Basic credentials and
 * address parameters side by side with what they must yield.
 *
 * The unit-test rule of the Makefile links tests against libkyedns.a only,
 * so the updater modules are compiled into this program directly.
 */
#include "check.h"

#include "../../updater/acme.c"
#include "../../updater/dd.c"
#include "../../updater/limit.c"
#include "token.h"

static int addrs_of(const char *query, char *out, size_t size)
{
	dd_params_t p;
	addr_t v4, v6;
	int rc = dd_parse_query(&p, query, strlen(query));
	if (rc)
		return rc;
	rc = dd_addrs(&p, &v4, &v6);
	if (rc)
		return rc;
	char a[ADDR_TEXT_MAX] = "-", b[ADDR_TEXT_MAX] = "-";
	if (v4.family)
		addr_format(&v4, a, sizeof(a));
	if (v6.family)
		addr_format(&v6, b, sizeof(b));
	snprintf(out, size, "%s|%s", a, b);
	return 0;
}

static void test_addresses(void)
{
	static const struct {
		const char *query;
		int rc;
		const char *want; /* "v4|v6", "-" = not sent */
	} cases[] = {
		{"myip=1.2.3.4", 0, "1.2.3.4|-"},
		{"ip=1.2.3.4", 0, "1.2.3.4|-"},
		{"myip=2001:DB8::1", 0, "-|2001:db8::1"},
		{"myip=1.2.3.4,2001:db8::1", 0, "1.2.3.4|2001:db8::1"},
		{"myip=2001:db8::1,1.2.3.4", 0, "1.2.3.4|2001:db8::1"},
		{"myip=1.2.3.4%2C2001%3Adb8%3A%3A1", 0, "1.2.3.4|2001:db8::1"},
		{"myip=1.2.3.4&myipv6=2001:db8::2", 0, "1.2.3.4|2001:db8::2"},
		{"myipv4=1.2.3.4&ipv6=2001:db8::2", 0, "1.2.3.4|2001:db8::2"},
		{"myip=1.2.3.4&myipv4=1.2.3.4", 0, "1.2.3.4|-"},
		{"myip=", 0, "-|-"},
		{"myip=0.0.0.0&myipv6=::", 0, "-|-"},
		{"myip=%3Cipaddr%3E&myipv6=%3Cip6addr%3E", 0, "-|-"},
		{"myip=<ipaddr>&myipv6=2001:db8::3", 0, "-|2001:db8::3"},
		/* AVM Fritz!Box: "myip=<ipaddr>,<ip6addr>", either may stay unfilled */
		{"myip=1.2.3.4,<ip6addr>", 0, "1.2.3.4|-"},
		{"myip=<ipaddr>,2001:db8::4", 0, "-|2001:db8::4"},
		{"myip=<ipaddr>,<ip6addr>", 0, "-|-"},
		{"myip=+1.2.3.4+", 0, "1.2.3.4|-"},
		{"hostname=x&system=dyndns&wildcard=NOCHG&mx=&backmx=NO", 0, "-|-"},
		{"MYIP=1.2.3.4", 0, "1.2.3.4|-"},
		{"myip=1.2.3.4&myip=5.6.7.8", 0, "5.6.7.8|-"}, /* last wins */
		{"myip=1.2.3", ERR_BADADDR, NULL},
		{"myip=01.2.3.4", ERR_BADADDR, NULL},
		{"myip=1.2.3.4/24", ERR_BADADDR, NULL},
		{"myip=1.2.3.4,5.6.7.8", ERR_BADADDR, NULL},
		{"myip=1.2.3.4,,2001:db8::1", ERR_BADADDR, NULL},
		{"myip=a,b,c", ERR_BADADDR, NULL},
		{"myipv4=2001:db8::1", ERR_BADADDR, NULL},
		{"myipv6=1.2.3.4", ERR_BADADDR, NULL},
		{"myip=1.2.3.4&myipv4=1.2.3.5", ERR_BADADDR, NULL},
		{"myip=fe80::1%25eth0", ERR_BADADDR, NULL},
		{"myip=%zz", ERR_BADADDR, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char got[128] = "";
		int rc = addrs_of(cases[i].query, got, sizeof(got));
		CHECK_RC(rc, cases[i].rc);
		if (rc == 0 && cases[i].want && strcmp(got, cases[i].want) != 0) {
			fprintf(stderr, "query %s: got %s, want %s\n", cases[i].query, got,
				cases[i].want);
			CHECK(0);
		}
	}
}

static void test_params(void)
{
	dd_params_t p;
	const char *q = "hostname=a.example.com,b.example.com&token=t%2Bk+x&username=u&pass=pw&"
			"unknown=1&=&&novalue";
	CHECK_OK(dd_parse_query(&p, q, strlen(q)));
	CHECK(p.hostname.p && p.hostname.len == 27);
	CHECK(p.token.p && p.token.len == 5 && memcmp(p.token.p, "t+k x", 5) == 0);
	CHECK(p.username.p && p.username.len == 1);
	CHECK(p.password.p && memcmp(p.password.p, "pw", 2) == 0);
	CHECK(p.myip.p == NULL);

	dd_str_t list = p.hostname, h;
	CHECK(dd_next_host(&list, &h) == 1 && h.len == 13 && memcmp(h.p, "a.example.com", 13) == 0);
	CHECK(dd_next_host(&list, &h) == 1 && memcmp(h.p, "b.example.com", 13) == 0);
	CHECK(dd_next_host(&list, &h) == 0);

	dd_str_t l2 = {" a , ,b,", 8};
	int n = 0;
	while (dd_next_host(&l2, &h))
		n++;
	CHECK(n == 2);

	/* An over-long query does not overflow the decode buffer. */
	char big[6000];
	memcpy(big, "hostname=", 9);
	memset(big + 9, 'x', sizeof(big) - 10);
	big[sizeof(big) - 1] = '\0';
	CHECK_RC(dd_parse_query(&p, big, strlen(big)), ERR_TOOBIG);
}

/* Internationalized host names: percent-encoded UTF-8 becomes A-labels. */
static void test_idn(void)
{
	static const struct {
		const char *query;
		const char *hostname, *username; /* after parsing; NULL: absent */
	} cases[] = {
		{"hostname=m%C3%BCnchen.b%C3%BCcher.example&token=x",
		 "xn--mnchen-3ya.xn--bcher-kva.example", NULL},
		{"hostname=M%C3%9CNCHEN.B%C3%BCcher.Example.",
		 "xn--mnchen-3ya.xn--bcher-kva.example", NULL},
		/* raw UTF-8 bytes in the query, as some clients send them */
		{"hostname=münchen.example", "xn--mnchen-3ya.example", NULL},
		/* a list: each item on its own, ASCII items as they are */
		{"hostname=a.example.com,+m%C3%BCnchen.example+,,B.example.com",
		 "a.example.com,xn--mnchen-3ya.example,B.example.com", NULL},
		/* no valid IDN: left as it is, the server refuses it (notfqdn) */
		{"hostname=%F0%9F%98%80.example,m%C3%BCnchen.example",
		 "\xf0\x9f\x98\x80.example,xn--mnchen-3ya.example", NULL},
		{"hostname=b%FCcher.example", "b\374cher.example", NULL},
		/* ASCII stays byte for byte what was sent */
		{"hostname=Home.Example.com.&username=x%2Ey", "Home.Example.com.", "x.y"},
		{"username=m%C3%BCnchen.example&password=x", NULL, "xn--mnchen-3ya.example"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dd_params_t p;
		const char *want[2] = {cases[i].hostname, cases[i].username};
		dd_str_t got[2];
		CHECK_OK(dd_parse_query(&p, cases[i].query, strlen(cases[i].query)));
		got[0] = p.hostname;
		got[1] = p.username;
		for (int k = 0; k < 2; k++) {
			if (!want[k]) {
				CHECK(got[k].p == NULL);
				continue;
			}
			CHECK(got[k].p && got[k].len == strlen(want[k]) &&
			      memcmp(got[k].p, want[k], got[k].len) == 0 &&
			      got[k].p[got[k].len] == '\0');
			if (!(got[k].p && got[k].len == strlen(want[k])))
				fprintf(stderr, "  case %zu: got '%.*s'\n", i, (int)got[k].len,
					got[k].p ? got[k].p : "");
		}
	}
	{
		/* the converted names are the host names the server looks up */
		dd_params_t p;
		dd_str_t list, h;
		dname_t d, want;
		const char *q = "hostname=m%C3%BCnchen.b%C3%BCcher.example&myip=192.0.2.1";
		CHECK_OK(dd_parse_query(&p, q, strlen(q)));
		list = p.hostname;
		CHECK(dd_next_host(&list, &h) == 1);
		CHECK_OK(dname_parse_host(&d, h.p, h.len));
		CHECK_OK(dname_from_user_host(&want, "münchen.bücher.example", 24));
		CHECK(dname_equal(&d, &want));
	}
	{
		/* conversion makes values longer: a full buffer is ERR_TOOBIG */
		char big[4200];
		size_t n = (size_t)snprintf(big, sizeof big, "hostname=");
		while (n + 8 < 4000)
			n += (size_t)snprintf(big + n, sizeof big - n, "%%C3%%BC,");
		dd_params_t p;
		CHECK_RC(dd_parse_query(&p, big, n), ERR_TOOBIG);
	}
	{
		char buf[256];
		dd_str_t u, pw;
		/* "münchen.bücher.example:tok" */
		const char *v = "Basic bcO8bmNoZW4uYsO8Y2hlci5leGFtcGxlOnRvaw==";
		CHECK_OK(dd_parse_basic(v, strlen(v), buf, sizeof(buf), &u, &pw));
		CHECK(u.len == 36 && memcmp(u.p, "xn--mnchen-3ya.xn--bcher-kva.example", 36) == 0);
		CHECK(pw.len == 3 && memcmp(pw.p, "tok", 3) == 0 && pw.p[3] == '\0');
		/* no room for the A-labels: the user stays as sent */
		CHECK_OK(dd_parse_basic(v, strlen(v), buf, 40, &u, &pw));
		CHECK(u.len == 24 && memcmp(u.p, "münchen.bücher.example", 24) == 0);
		CHECK(pw.len == 3 && memcmp(pw.p, "tok", 3) == 0);
		/* "😀.example:tok": not an IDN, stays as sent */
		v = "Basic 8J+YgC5leGFtcGxlOnRvaw==";
		CHECK_OK(dd_parse_basic(v, strlen(v), buf, sizeof(buf), &u, &pw));
		CHECK(u.len == 12 && memcmp(u.p, "\xf0\x9f\x98\x80.example", 12) == 0);
	}
}

static void test_basic(void)
{
	char buf[256];
	dd_str_t u, pw;
	/* "a.example.com:tok:en" */
	const char *v = "Basic YS5leGFtcGxlLmNvbTp0b2s6ZW4=";
	CHECK_OK(dd_parse_basic(v, strlen(v), buf, sizeof(buf), &u, &pw));
	CHECK(u.len == 13 && memcmp(u.p, "a.example.com", 13) == 0);
	CHECK(pw.len == 6 && memcmp(pw.p, "tok:en", 6) == 0);
	v = "basic   YS5leGFtcGxlLmNvbTp0b2s6ZW4=  ";
	CHECK_OK(dd_parse_basic(v, strlen(v), buf, sizeof(buf), &u, &pw));
	v = "Bearer abc";
	CHECK_RC(dd_parse_basic(v, strlen(v), buf, sizeof(buf), &u, &pw), -EINVAL);
	v = "Basic !!!";
	CHECK_RC(dd_parse_basic(v, strlen(v), buf, sizeof(buf), &u, &pw), -EINVAL);
	v = "Basic bm9jb2xvbg=="; /* "nocolon" */
	CHECK_RC(dd_parse_basic(v, strlen(v), buf, sizeof(buf), &u, &pw), -EINVAL);
	v = "Basic YS5leGFtcGxlLmNvbTp0b2s6ZW4=";
	CHECK_RC(dd_parse_basic(v, strlen(v), buf, 8, &u, &pw), -EINVAL); /* too small */
}

static void test_redact_and_codes(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"/nic/update?hostname=a&token=SECRET&myip=1.2.3.4",
		 "/nic/update?hostname=a&token=***&myip=1.2.3.4"},
		{"/x?password=SECRET", "/x?password=***"},
		{"/x?PASS=SECRET;token=S2", "/x?PASS=***;token=***"},
		{"/token=notquery?mytoken=x", "/token=notquery?mytoken=x"},
		{"/a\"b\\c\x01", "/a\\x22b\\x5cc\\x01"},
		/* userinfo of an absolute URL is a token: never logged */
		{"http://a.example.test:SECRETTOKEN@h/nic/update?myip=1.2.3.4&token=S2",
		 "http://***@h/nic/update?myip=1.2.3.4&token=***"},
		{"http://h/nic/update?x=a@b", "http://h/nic/update?x=a@b"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[256];
		dd_redact(cases[i].in, strlen(cases[i].in), out, sizeof(out));
		CHECK_STR(out, cases[i].want);
	}
	char small[8];
	size_t n = dd_redact("/abcdefghijkl", 13, small, sizeof(small));
	CHECK(n == 7 && small[7] == '\0');

	CHECK_STR(dd_code_str(DD_GOOD), "good");
	CHECK_STR(dd_code_str(DD_911), "911");
	CHECK_STR(dd_code_str(99), "911");
	CHECK(dd_code_status(DD_BADAUTH) == 401);
	CHECK(dd_code_status(DD_DNSERR) == 400);
	CHECK(dd_code_status(DD_NOHOST) == 200);
	CHECK(dd_not_sent("  ", 2) == 1);
	CHECK(dd_not_sent("<ipaddr>", 8) == 1);
	CHECK(dd_not_sent("::", 2) == 1);
	CHECK(dd_not_sent("1.2.3.4", 7) == 0);
}

static void test_limits(void)
{
	limit_t *l;
	dname_t a, b;
	unsigned ra = 0;
	limit_config_t lc = {.slots = 64, .rate = 2, .burst = 3};
	CHECK_OK(limit_new(&l, &lc));
	CHECK_OK(dname_parse(&a, "a.example.com", 13));
	CHECK_OK(dname_parse(&b, "b.example.com", 13));
	uint64_t t = 1000000;
	addr_t me, other6, same64;
	CHECK_OK(addr_parse(&me, "2001:db8:1:2::1", 15));
	CHECK_OK(addr_parse(&same64, "2001:db8:1:2::99", 16));
	CHECK_OK(addr_parse(&other6, "2001:db8:1:3::1", 15));
	for (int i = 0; i < LIMIT_AUTH_FAILS - 1; i++)
		limit_auth_fail(l, &a, &me, t + i);
	CHECK(limit_auth_blocked(l, &a, &me, t + 10, &ra) == 0);
	limit_auth_fail(l, &a, &me, t + 10);
	CHECK(limit_auth_blocked(l, &a, &me, t + 11, &ra) == 1 && ra == 300);
	CHECK(limit_auth_blocked(l, &b, &me, t + 11, &ra) == 0);
	/* the block is per client /64: the owner elsewhere is not locked out */
	CHECK(limit_auth_blocked(l, &a, &same64, t + 11, &ra) == 1);
	CHECK(limit_auth_blocked(l, &a, &other6, t + 11, &ra) == 0);
	CHECK(limit_auth_blocked(l, &a, &me, t + 10 + LIMIT_AUTH_WINDOW_MS - 1, &ra) == 1 && ra == 1);
	CHECK(limit_auth_blocked(l, &a, &me, t + 10 + LIMIT_AUTH_WINDOW_MS, &ra) == 0);
	/* Failures spread wider than the window never block. */
	for (int i = 0; i < 20; i++)
		limit_auth_fail(l, &b, &me, t + (uint64_t)i * (LIMIT_AUTH_WINDOW_MS / 4 + 1));
	CHECK(limit_auth_blocked(l, &b, &me, t + 20 * (LIMIT_AUTH_WINDOW_MS / 4 + 1), &ra) == 0);

	/* Token bucket: burst 3, then 2 per second. */
	addr_t c1, c2, c3;
	CHECK_OK(addr_parse(&c1, "192.0.2.1", 9));
	CHECK_OK(addr_parse(&c2, "2001:db8:1:2::1", 15));
	CHECK_OK(addr_parse(&c3, "2001:db8:1:2::ffff", 18)); /* same /64 as c2 */
	for (int i = 0; i < 3; i++)
		CHECK(limit_rate(l, &c1, t, &ra) == 0);
	CHECK(limit_rate(l, &c1, t, &ra) == 1 && ra >= 1);
	CHECK(limit_rate(l, &c1, t + 500, &ra) == 0);
	CHECK(limit_rate(l, &c1, t + 500, &ra) == 1);
	for (int i = 0; i < 3; i++)
		CHECK(limit_rate(l, &c2, t, &ra) == 0);
	CHECK(limit_rate(l, &c3, t, &ra) == 1);

	/* Bounded: many more keys than slots, and old entries are evicted. */
	for (unsigned i = 0; i < 10000; i++) {
		addr_t x = c1;
		x.bytes[2] = (uint8_t)(i >> 8);
		x.bytes[3] = (uint8_t)i;
		limit_rate(l, &x, t + 1000 + i, &ra);
	}
	limit_free(l);

	limit_config_t off = {.slots = 16, .burst = 1}; /* every limit 0: never limited */
	CHECK_OK(limit_new(&l, &off));
	for (int i = 0; i < 100; i++) {
		CHECK(limit_rate(l, &c1, t, &ra) == 0);
		CHECK(limit_change(l, &a, t, &ra) == 0);
		CHECK(limit_conn_open(l, &c1, t) == 0);
		limit_auth_fail(l, &a, &c1, t);
	}
	CHECK(limit_host_blocked(l, &a, &c2, t, &ra) == 0);
	limit_free(l);
}

static void test_host_limits(void)
{
	limit_t *l;
	dname_t a, b;
	unsigned ra = 0;
	uint64_t t = 5000000;
	limit_config_t lc = {.slots = 1024, .burst = 1, .change_rate = 1.0 / 60, .change_burst = 3,
			     .host_fails = 10, .conns_per_client = 2};
	CHECK_OK(limit_new(&l, &lc));
	CHECK_OK(dname_parse(&a, "a.example.com", 13));
	CHECK_OK(dname_parse(&b, "b.example.com", 13));

	/* Changes: burst 3, then one a minute, per host name. */
	for (int i = 0; i < 3; i++)
		CHECK(limit_change(l, &a, t, &ra) == 0);
	CHECK(limit_change(l, &a, t, &ra) == 1 && ra == 60);
	CHECK(limit_change(l, &b, t, &ra) == 0);
	CHECK(limit_change(l, &a, t + 60000, &ra) == 0);
	CHECK(limit_change(l, &a, t + 60000, &ra) == 1);

	/* Failure budget: 10 failures of a from 10 clients (each alone under
	 * LIMIT_AUTH_FAILS) block a for clients it has never seen succeed. */
	addr_t owner, stranger, c;
	CHECK_OK(addr_parse(&owner, "198.51.100.1", 12));
	CHECK_OK(addr_parse(&stranger, "203.0.113.1", 11));
	limit_auth_ok(l, &a, &owner, t);
	for (int i = 0; i < 9; i++) {
		CHECK_OK(addr_parse(&c, "192.0.2.1", 9));
		c.bytes[3] = (uint8_t)(10 + i);
		limit_auth_fail(l, &a, &c, t + (uint64_t)i);
		CHECK(limit_auth_blocked(l, &a, &c, t + 10, &ra) == 0);
	}
	CHECK(limit_host_blocked(l, &a, &stranger, t + 10, &ra) == 0);
	limit_auth_fail(l, &a, &stranger, t + 10);
	CHECK(limit_host_blocked(l, &a, &stranger, t + 11, &ra) == 1 && ra == 300);
	CHECK(limit_host_blocked(l, &a, &owner, t + 11, &ra) == 0); /* known client */
	CHECK(limit_host_blocked(l, &b, &stranger, t + 11, &ra) == 0); /* other host */
	CHECK(limit_host_blocked(l, &a, &stranger, t + 10 + LIMIT_AUTH_WINDOW_MS, &ra) == 0);
	/* a known client is forgotten after LIMIT_KNOWN_MS */
	limit_auth_fail(l, &a, &stranger, t + LIMIT_KNOWN_MS);
	for (int i = 0; i < 10; i++)
		limit_auth_fail(l, &a, &stranger, t + LIMIT_KNOWN_MS + 1);
	CHECK(limit_host_blocked(l, &a, &owner, t + LIMIT_KNOWN_MS + 2, &ra) == 1);

	/* Connections: 2 per client (IPv6: per /64), given back on close. */
	addr_t v6a, v6b;
	CHECK_OK(addr_parse(&v6a, "2001:db8:1:2::1", 15));
	CHECK_OK(addr_parse(&v6b, "2001:db8:1:2::2", 15));
	CHECK(limit_conn_open(l, &v6a, t) == 0);
	CHECK(limit_conn_open(l, &v6b, t) == 0);
	CHECK(limit_conn_open(l, &v6a, t) == 1);
	CHECK(limit_conn_open(l, &owner, t) == 0);
	limit_conn_close(l, &v6b);
	CHECK(limit_conn_open(l, &v6a, t) == 0);
	limit_conn_close(l, &v6a);
	limit_conn_close(l, &v6a);
	limit_conn_close(l, &v6a); /* more closes than opens: harmless */
	CHECK(limit_conn_open(l, &v6a, t) == 0);
	limit_free(l);
}

/* offline=, wildcard=, the router prefix, txt= and clear=, and a form body. */
static void test_issue12_params(void)
{
	static const struct {
		const char *v;
		int rc, want;
	} sw[] = {
		{"YES", 0, 1},   {"yes", 0, 1}, {"ON", 0, 1},  {"true", 0, 1}, {"1", 0, 1},
		{"NO", 0, 0},    {"off", 0, 0}, {"OFF", 0, 0}, {"0", 0, 0},    {"false", 0, 0},
		{"NOCHG", 0, -1}, {"", 0, -1},  {" on ", 0, 1}, {"maybe", -EINVAL, -1},
		{"onn", -EINVAL, -1},
	};
	for (size_t i = 0; i < sizeof(sw) / sizeof(sw[0]); i++) {
		int out = 7;
		dd_str_t v = {sw[i].v, strlen(sw[i].v)};
		CHECK_RC(dd_switch(v, &out), sw[i].rc);
		CHECK(out == sw[i].want);
	}
	int out = 7;
	dd_str_t absent = {0};
	CHECK_OK(dd_switch(absent, &out));
	CHECK(out == -1);

	static const struct {
		const char *v;
		int rc;
		const char *want; /* "prefix/len", "-" = not sent */
	} pf[] = {
		{"2001:db8:1:200::/56", 0, "2001:db8:1:200::/56"},
		{"2001:DB8:1:2::/64", 0, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:aaaa::1/64", 0, "2001:db8:1:2::/64"}, /* host bits cleared */
		{"2001:db8:1:2::1", 0, "2001:db8:1:2::/64"},          /* OpenWrt: an address */
		{"2001:db8:1:2ff::/55", 0, "2001:db8:1:200::/55"},
		{"<ip6lanprefix>", 0, "-"},                           /* FRITZ!Box, unset */
		{"::/64", 0, "-"},
		{"::ffff:192.0.2.1/64", 0, "-"},                      /* all zero in /64 */
		{"", 0, "-"},
		{"2001:db8::/65", ERR_BADADDR, NULL},
		{"2001:db8::/0", ERR_BADADDR, NULL},
		{"2001:db8::/", ERR_BADADDR, NULL},
		{"2001:db8::/6x", ERR_BADADDR, NULL},
		{"192.0.2.0/24", ERR_BADADDR, NULL},
		{"auto", ERR_BADADDR, NULL},
	};
	for (size_t i = 0; i < sizeof(pf) / sizeof(pf[0]); i++) {
		addr_t a;
		unsigned plen = 99;
		dd_str_t v = {pf[i].v, strlen(pf[i].v)};
		CHECK_RC(dd_prefix(v, &a, &plen), pf[i].rc);
		if (pf[i].rc || !pf[i].want)
			continue;
		char got[ADDR_TEXT_MAX + 8] = "-";
		if (a.family) {
			addr_format(&a, got, ADDR_TEXT_MAX);
			snprintf(got + strlen(got), 8, "/%u", plen);
		} else {
			CHECK(plen == 0);
		}
		CHECK_STR(got, pf[i].want);
	}

	/* The FRITZ!Box template, filled as the router sends it. */
	dd_params_t p;
	const char *q = "hostname=r.example.com&myip=192.0.2.1,2001:db8::1"
			"&ip6lanprefix=2001%3Adb8%3A1%3A200%3A%3A%2F56&offline=NO&wildcard=ON";
	CHECK_OK(dd_parse_query(&p, q, strlen(q)));
	CHECK(p.prefix.p && p.prefix.len == 19 && memcmp(p.prefix.p, "2001:db8:1:200::/56", 19) == 0);
	CHECK(p.offline.p && p.offline.len == 2 && p.wildcard.p && p.wildcard.len == 2);
	q = "hostname=r.example.com&ipv6prefix=2001:db8:1:2::/64";
	CHECK_OK(dd_parse_query(&p, q, strlen(q)));
	CHECK(p.prefix.p && p.prefix.len == 17);

	/* HE.net's hook posts a form; the body adds to (and wins over) the
	 * query. */
	q = "hostname=_acme-challenge.h.example.com&txt=from-query";
	const char *body = "password=s3cret&txt=abc-DEF_123";
	CHECK_OK(dd_parse_form(&p, q, strlen(q), body, strlen(body)));
	CHECK(p.txt.p && p.txt.len == 11 && memcmp(p.txt.p, "abc-DEF_123", 11) == 0);
	CHECK(p.password.p && p.password.len == 6);
	CHECK(p.hostname.p && p.hostname.len == 29);
	CHECK(dd_acme_label(p.hostname.p, p.hostname.len) == 16);
	CHECK(dd_acme_label("_ACME-Challenge.x", 17) == 16);
	CHECK(dd_acme_label("_acme-challenge.", 16) == 0);
	CHECK(dd_acme_label("h.example.com", 13) == 0);
	/* "txt=" present but empty: a clear (HE.net); absent: NULL */
	q = "hostname=h.example.com&txt=&clear=true";
	CHECK_OK(dd_parse_query(&p, q, strlen(q)));
	CHECK(p.txt.p && p.txt.len == 0 && p.clear.len == 4);
	q = "hostname=h.example.com";
	CHECK_OK(dd_parse_query(&p, q, strlen(q)));
	CHECK(p.txt.p == NULL && p.clear.p == NULL && p.prefix.p == NULL);
	/* Query and body together may not overflow the buffer. */
	char big[4200];
	memset(big, 'x', sizeof(big));
	memcpy(big, "txt=", 4);
	CHECK_RC(dd_parse_form(&p, big, 2100, big, 2100), ERR_TOOBIG);
}

/* The JSON bodies of lego's httpreq provider and of acme-dns clients. */
static void test_acme_bodies(void)
{
	acme_req_t a;
	const char *err = NULL;
	const char *b = "{\"fqdn\":\"_acme-challenge.h.example.com.\","
			"\"value\":\"LHDhK3oGRvkiefQnx7OOczTY5Tic_xZ6HcMOc_gmtoM\"}\n";
	CHECK_OK(acme_parse_httpreq(b, strlen(b), &a, &err));
	CHECK_STR(a.name, "_acme-challenge.h.example.com.");
	CHECK_STR(a.value, "LHDhK3oGRvkiefQnx7OOczTY5Tic_xZ6HcMOc_gmtoM");
	CHECK(a.raw == 0 && a.value_len == 43);
	dname_t h, want;
	CHECK_OK(acme_owner_host(a.name, a.name_len, &h));
	CHECK_OK(dname_parse(&want, "h.example.com", 13));
	CHECK(dname_equal(&h, &want));
	CHECK_RC(acme_owner_host("h.example.com.", 14, &h), ERR_BADNAME);
	CHECK_RC(acme_owner_host("_acme-challenge.", 16, &h), ERR_BADNAME);
	CHECK_RC(acme_owner_host("_acme-challenge._x.example.com", 30, &h), ERR_BADNAME);

	/* RAW mode: the value is base64url(SHA-256(keyAuth)), RFC 8555 8.4.
	 * The digest of "token.thumbprint" computed independently
	 * (printf %s token.thumbprint | openssl dgst -sha256 -binary |
	 * basenc --base64url). */
	b = "{\"domain\":\"h.example.com\",\"token\":\"token\",\"keyAuth\":\"token.thumbprint\"}";
	CHECK_OK(acme_parse_httpreq(b, strlen(b), &a, &err));
	CHECK(a.raw == 1);
	CHECK_STR(a.name, "_acme-challenge.h.example.com");
	CHECK_STR(a.value, "61rBZ_4knHblO0MNoxFsXZ_eTFUHum0B6IVRbhvUn5I");
	b = "{\"domain\":\"*.h.example.com\",\"token\":\"t\",\"keyAuth\":\"token.thumbprint\"}";
	CHECK_OK(acme_parse_httpreq(b, strlen(b), &a, &err));
	CHECK_STR(a.name, "_acme-challenge.h.example.com");

	static const char *const bad[] = {
		"", "not json", "[1,2]", "{}", "{\"fqdn\":1,\"value\":\"x\"}",
		"{\"fqdn\":\"_acme-challenge.h.example.com.\"}",
		"{\"domain\":\"h.example.com\"}",
		"{\"fqdn\":\"a\",\"fqdn\":\"b\",\"value\":\"x\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		CHECK_RC(acme_parse_httpreq(bad[i], strlen(bad[i]), &a, &err), -EINVAL);
		CHECK(err != NULL);
	}
	char longv[600];
	int n = snprintf(longv, sizeof(longv), "{\"fqdn\":\"_acme-challenge.h.example.com.\",\"value\":\"");
	memset(longv + n, 'a', 300);
	memcpy(longv + n + 300, "\"}", 3);
	CHECK_RC(acme_parse_httpreq(longv, strlen(longv), &a, &err), ERR_TOOBIG);
	CHECK_RC(acme_parse_httpreq(NULL, 0, &a, &err), -EINVAL);

	b = "{\"subdomain\": \"h.example.com\", \"txt\": \"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq\"}";
	CHECK_OK(acme_parse_acmedns(b, strlen(b), &a, NULL));
	CHECK_STR(a.name, "h.example.com");
	CHECK(a.value_len == 43);
	b = "{\"subdomain\": \"h\"}";
	CHECK_RC(acme_parse_acmedns(b, strlen(b), &a, NULL), -EINVAL);
	b = "{\"subdomain\": \"h\", \"txt\": null}";
	CHECK_RC(acme_parse_acmedns(b, strlen(b), &a, NULL), -EINVAL);
}

int main(void)
{
	if (token_init() != 0)
		return 1;
	test_addresses();
	test_params();
	test_basic();
	test_idn();
	test_redact_and_codes();
	test_limits();
	test_host_limits();
	test_issue12_params();
	test_acme_bodies();
	return check_done("dd");
}
