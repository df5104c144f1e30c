/* Unit tests of addr: strict parsing, formatting, CIDR matching. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"
#include "check.h"

static int p4(const char *s)
{
	addr_t a;
	return addr_parse4(&a, s, strlen(s));
}

static int p6(const char *s)
{
	addr_t a;
	return addr_parse6(&a, s, strlen(s));
}

static const char *fmt(const char *s)
{
	static char buf[ADDR_TEXT_MAX];
	addr_t a;
	int rc = addr_parse(&a, s, strlen(s));
	if (rc < 0)
		return err_str(rc);
	addr_format(&a, buf, sizeof(buf));
	return buf;
}

static int cidr(const char *net, const char *ip)
{
	addr_cidr_t c;
	addr_t a;
	if (addr_cidr_parse(&c, net, strlen(net)) < 0 || addr_parse(&a, ip, strlen(ip)) < 0)
		return -1;
	return addr_cidr_match(&c, &a);
}

static int useless(const char *s, int allow_loopback)
{
	addr_t a;
	if (addr_parse(&a, s, strlen(s)) < 0)
		return -1;
	return addr_is_useless(&a, allow_loopback);
}

static const char *norm(const char *s)
{
	static char buf[ADDR_TEXT_MAX];
	addr_t a;
	if (addr_parse(&a, s, strlen(s)) < 0)
		return "bad";
	addr_normalize(&a);
	addr_format(&a, buf, sizeof(buf));
	return buf;
}

static void test_policy(void)
{
	static const char *const never[] = {
		"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.0.9", "169.254.1.1", "224.0.0.1",
		"239.255.255.250", "240.0.0.1", "255.255.255.255", "::", "::1", "fe80::1",
		"febf::1", "ff02::1", "ff0e::db8", "::ffff:192.0.2.1", "::ffff:10.0.0.1",
	};
	static const char *const fine[] = {
		"192.0.2.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "8.8.8.8",
		"223.255.255.255", "169.253.1.1", "2001:db8::1", "fd00::1", "fc00::1", "fec0::1",
		"2a00:1450::1", "64:ff9b::c000:201",
	};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		if (useless(never[i], 0) != 1)
			printf("%s should be useless\n", never[i]);
		CHECK(useless(never[i], 0) == 1);
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		if (useless(fine[i], 0) != 0)
			printf("%s should be fine\n", fine[i]);
		CHECK(useless(fine[i], 0) == 0);
	}
	CHECK(useless("127.0.0.1", 1) == 0 && useless("::1", 1) == 0);
	CHECK(useless("169.254.1.1", 1) == 1 && useless("::ffff:127.0.0.1", 1) == 1);

	CHECK(strcmp(norm("::ffff:192.0.2.1"), "192.0.2.1") == 0);
	CHECK(strcmp(norm("::ffff:c000:201"), "192.0.2.1") == 0);
	CHECK(strcmp(norm("2001:db8::1"), "2001:db8::1") == 0);
	CHECK(strcmp(norm("::192.0.2.1"), "::192.0.2.1") == 0); /* compatible: not mapped */
	CHECK(strcmp(norm("192.0.2.1"), "192.0.2.1") == 0);
	/* a mapped trusted-proxy network is its IPv4 network */
	CHECK(cidr("::ffff:10.0.0.0/104", "10.1.2.3") == 1);
	CHECK(cidr("::ffff:10.0.0.0/104", "11.1.2.3") == 0);
	CHECK(cidr("::ffff:192.0.2.1", "192.0.2.1") == 1);
	CHECK(cidr("::/0", "192.0.2.1") == 0);
}

int main(void)
{
	test_policy();
	addr_t a;
	addr_cidr_t c;

	CHECK_RC(p4("1.2.3.4"), 0);
	CHECK_RC(p4("0.0.0.0"), 0);
	CHECK_RC(p4("255.255.255.255"), 0);
	CHECK_RC(p4("1.2.3"), ERR_BADADDR);
	CHECK_RC(p4("1.2.3.4.5"), ERR_BADADDR);
	CHECK_RC(p4("01.2.3.4"), ERR_BADADDR);
	CHECK_RC(p4("1.2.3.04"), ERR_BADADDR);
	CHECK_RC(p4("1.2.3.4 "), ERR_BADADDR);
	CHECK_RC(p4(" 1.2.3.4"), ERR_BADADDR);
	CHECK_RC(p4("256.1.1.1"), ERR_BADADDR);
	CHECK_RC(p4("1.2.3.1000"), ERR_BADADDR);
	CHECK_RC(p4("0x7f.0.0.1"), ERR_BADADDR);
	CHECK_RC(p4("1.2.3.4/24"), ERR_BADADDR);
	CHECK_RC(p4("1..3.4"), ERR_BADADDR);
	CHECK_RC(p4(""), ERR_BADADDR);
	CHECK_RC(p4("-1.2.3.4"), ERR_BADADDR);
	CHECK_RC(addr_parse4(&a, "1.2.3.4\0", 8), ERR_BADADDR);
	CHECK_RC(p6("2001:db8::1"), 0);
	CHECK_RC(p6("::"), 0);
	CHECK_RC(p6("::ffff:1.2.3.4"), 0);
	CHECK_RC(p6("fe80::1%eth0"), ERR_BADADDR);
	CHECK_RC(p6("[2001:db8::1]"), ERR_BADADDR);
	CHECK_RC(p6("2001:db8::1 "), ERR_BADADDR);
	CHECK_RC(p6("2001:db8:::1"), ERR_BADADDR);
	CHECK_RC(p6("2001:db8::g"), ERR_BADADDR);
	CHECK_RC(p6("1:2:3:4:5:6:7:8:9"), ERR_BADADDR);
	CHECK_RC(p6("::ffff:01.2.3.4"), ERR_BADADDR);
	CHECK_RC(p6(""), ERR_BADADDR);
	CHECK_RC(p6("1.2.3.4"), ERR_BADADDR);
	/* canonical output (RFC 5952) */
	CHECK_STR(fmt("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
	CHECK_STR(fmt("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1");
	CHECK_STR(fmt("1.2.3.4"), "1.2.3.4");
	CHECK_STR(fmt("1.2.3"), "invalid address");
	/* unspecified */
	addr_parse(&a, "0.0.0.0", 7);
	CHECK(addr_is_unspecified(&a));
	addr_parse(&a, "::", 2);
	CHECK(addr_is_unspecified(&a));
	addr_parse(&a, "::1", 3);
	CHECK(!addr_is_unspecified(&a));
	/* sockaddr: mapped IPv6 becomes IPv4 */
	{
		struct sockaddr_in6 s6;
		struct sockaddr_in s4;
		char buf[ADDR_TEXT_MAX];
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, "::ffff:10.1.2.3", &s6.sin6_addr);
		CHECK_OK(addr_from_sockaddr(&a, &s6));
		CHECK(a.family == 4);
		addr_format(&a, buf, sizeof(buf));
		CHECK_STR(buf, "10.1.2.3");
		inet_pton(AF_INET6, "::1", &s6.sin6_addr);
		CHECK_OK(addr_from_sockaddr(&a, &s6));
		CHECK(a.family == 6);
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
		CHECK_OK(addr_from_sockaddr(&a, &s4));
		addr_format(&a, buf, sizeof(buf));
		CHECK_STR(buf, "127.0.0.1");
	}
	/* CIDR */
	CHECK(cidr("10.0.0.0/8", "10.1.2.3") == 1);
	CHECK(cidr("10.0.0.0/8", "11.1.2.3") == 0);
	CHECK(cidr("10.1.2.3/8", "10.200.0.1") == 1); /* host bits cleared */
	CHECK(cidr("127.0.0.1", "127.0.0.1") == 1);
	CHECK(cidr("127.0.0.1", "127.0.0.2") == 0);
	CHECK(cidr("0.0.0.0/0", "8.8.8.8") == 1);
	CHECK(cidr("0.0.0.0/0", "::1") == 0);
	CHECK(cidr("2001:db8::/32", "2001:db8:ffff::1") == 1);
	CHECK(cidr("2001:db8::/33", "2001:db8:8000::1") == 0);
	CHECK(cidr("192.168.1.0/25", "192.168.1.127") == 1);
	CHECK(cidr("192.168.1.0/25", "192.168.1.128") == 0);
	CHECK_RC(addr_cidr_parse(&c, "10.0.0.0/33", 11), ERR_BADADDR);
	CHECK_RC(addr_cidr_parse(&c, "10.0.0.0/", 9), ERR_BADADDR);
	CHECK_RC(addr_cidr_parse(&c, "10.0.0.0/x", 10), ERR_BADADDR);
	CHECK_RC(addr_cidr_parse(&c, "::/129", 6), ERR_BADADDR);
	CHECK_RC(addr_cidr_parse(&c, "::/128", 6), 0);
	return check_done("addr");
}
