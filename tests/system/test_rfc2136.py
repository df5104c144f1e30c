"""RFC 2136 dynamic updates and TSIG-authorised AXFR through pdns 4.7.3
(dnsupdate=yes) on a KyedNS zone, with nsupdate and dig as the clients.

pdns's global allow-dnsupdate-from is empty here, so only the zone's
ALLOW-DNSUPDATE-FROM metadata admits a client; TSIG-ALLOW-DNSUPDATE then
demands a signature.  Keys and metadata are set with pdnsutil, so they go
through the backend's setTSIGKey / setDomainMetadata.
"""
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import pytest

from pdns_util import REFERENCE, ZONE, PdnsSite, keyring, new_secret, serial_gt

APEX = ZONE + "."
KEY = "k1"


RECORDS = [("www", "A", "192.0.2.80"), ("www", "AAAA", "2001:db8::80"), ("txt", "TXT", "hello")]


def _records(ctl):
    for name, rtype, content in RECORDS:
        ctl.run("record", "add", name + "." + ZONE, rtype, content)


def start(tmp_path, settings=None):
    """A site whose zone holds RECORDS, made by kyednsctl (by pdnsutil on
    the reference backend)."""
    s = PdnsSite(tmp_path, prepare=None if REFERENCE else _records, settings=settings)
    s.start()
    try:
        if REFERENCE:
            for name, rtype, content in RECORDS:
                s.pdnsutil("add-record", ZONE, name, rtype, "3600",
                           '"%s"' % content if rtype == "TXT" else content)
    except BaseException:
        s.stop()
        raise
    return s


@pytest.fixture
def site(tmp_path):
    with start(tmp_path) as s:
        s.secret = new_secret()
        s.pdnsutil("import-tsig-key", KEY, "hmac-sha256", s.secret)
        yield s


def allow_updates(site):
    site.pdnsutil("set-meta", ZONE, "ALLOW-DNSUPDATE-FROM", "127.0.0.1/32")
    site.pdnsutil("set-meta", ZONE, "TSIG-ALLOW-DNSUPDATE", KEY)


def test_update_refused_without_metadata(site):
    s0 = site.serial()
    rc, out = site.nsupdate(["update add dyn.example.test 300 A 192.0.2.200"],
                            key=(KEY, site.secret))
    assert rc != 0 and "REFUSED" in out, out
    assert site.rcode("dyn." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert site.serial() == s0


def test_signed_update_add_and_delete(site):
    allow_updates(site)
    s0 = site.serial()
    rc, out = site.nsupdate(["update add dyn.example.test 300 A 192.0.2.200",
                             "update add dyn.example.test 300 TXT \"made by nsupdate\""],
                            key=(KEY, site.secret))
    assert rc == 0, out
    assert site.answer("dyn." + ZONE, "A") == (300, {"192.0.2.200"})
    assert site.answer("dyn." + ZONE, "TXT") == (300, {'"made by nsupdate"'})
    s1 = site.serial()
    assert serial_gt(s1, s0), (s0, s1)

    # Adding to an existing RRset keeps what is there.
    rc, out = site.nsupdate(["update add www.example.test 300 A 192.0.2.81"],
                            key=(KEY, site.secret))
    assert rc == 0, out
    assert site.answer("www." + ZONE, "A")[1] == {"192.0.2.80", "192.0.2.81"}
    s2 = site.serial()
    assert serial_gt(s2, s1), (s1, s2)

    # Delete one record, then a whole RRset, then all of a name.
    rc, out = site.nsupdate(["update delete www.example.test A 192.0.2.80"],
                            key=(KEY, site.secret))
    assert rc == 0, out
    assert site.answer("www." + ZONE, "A")[1] == {"192.0.2.81"}
    assert site.answer("www." + ZONE, "AAAA")[1] == {"2001:db8::80"}
    rc, out = site.nsupdate(["update delete www.example.test AAAA"], key=(KEY, site.secret))
    assert rc == 0, out
    assert site.answer("www." + ZONE, "AAAA") == (None, set())
    # "delete all RRsets of a name": pdns sends replaceRRSet with qtype
    # ANY and an empty rrset.
    rc, out = site.nsupdate(["update delete dyn.example.test"], key=(KEY, site.secret))
    assert rc == 0, out
    assert site.rcode("dyn." + ZONE, "A") == dns.rcode.NXDOMAIN
    s3 = site.serial()
    assert serial_gt(s3, s2), (s2, s3)

    # A prerequisite that fails changes nothing.
    rc, out = site.nsupdate(["prereq nxdomain www.example.test",
                             "update add www.example.test 300 A 192.0.2.99"],
                            key=(KEY, site.secret))
    assert rc != 0 and "YXDOMAIN" in out, out
    assert site.answer("www." + ZONE, "A")[1] == {"192.0.2.81"}
    assert site.serial() == s3

    # The changes are in the zone itself, not only in answers.
    status, z = site.api("GET", "/zones/" + APEX)
    assert status == 200
    got = {(r["name"], r["type"]): {x["content"] for x in r["records"]} for r in z["rrsets"]}
    assert got[("www." + APEX, "A")] == {"192.0.2.81"}
    assert ("dyn." + APEX, "A") not in got


def test_unsigned_update_refused(site):
    allow_updates(site)
    s0 = site.serial()
    rc, out = site.nsupdate(["update add dyn.example.test 300 A 192.0.2.200"])
    assert rc != 0 and "REFUSED" in out, out
    rc, out = site.nsupdate(["update delete www.example.test A"])
    assert rc != 0 and "REFUSED" in out, out
    # A key pdns does not know, and the right key with a wrong secret.
    rc, out = site.nsupdate(["update add dyn.example.test 300 A 192.0.2.200"],
                            key=("other", new_secret()))
    assert rc != 0, out
    rc, out = site.nsupdate(["update add dyn.example.test 300 A 192.0.2.200"],
                            key=(KEY, new_secret()))
    assert rc != 0, out
    assert site.rcode("dyn." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert site.answer("www." + ZONE, "A")[1] == {"192.0.2.80"}
    assert site.serial() == s0


def test_update_cname_beside_data_refused(site):
    """pdns 4.7 refuses a CNAME add at a name with other data (and other
    data at a CNAME); it learns what is there through the backend."""
    allow_updates(site)
    s0 = site.serial()
    rc, out = site.nsupdate(["update add www.example.test 300 CNAME txt.example.test."],
                            key=(KEY, site.secret))
    assert rc != 0 and "REFUSED" in out, out
    assert site.answer("www." + ZONE, "A")[1] == {"192.0.2.80"}
    assert site.answer("www." + ZONE, "CNAME") == (None, set())
    rc, out = site.nsupdate(["update add alias.example.test 300 CNAME www.example.test."],
                            key=(KEY, site.secret))
    assert rc == 0, out
    rc, out = site.nsupdate(["update add alias.example.test 300 A 192.0.2.1"],
                            key=(KEY, site.secret))
    assert rc != 0 and "REFUSED" in out, out
    assert site.answer("alias." + ZONE, "CNAME") == (300, {"www.example.test."})
    assert serial_gt(site.serial(), s0)


def test_update_of_dyn_host_address_refused(tmp_path):
    """A/AAAA at a dynamic host's name belong to the host.  pdns ignores a
    failed feedRecord, so the backend refuses the commit: the client gets
    SERVFAIL, and nothing of that update is applied."""
    def prepare(ctl):
        _records(ctl)
        ctl.run("host", "add", "home." + ZONE, "--token", "tok-home-0123456789abcdef",
                "--ipv4", "192.0.2.50")
    if REFERENCE:
        pytest.skip("needs KyedNS (dynamic hosts)")
    with PdnsSite(tmp_path, prepare=prepare) as site:
        secret = new_secret()
        site.pdnsutil("import-tsig-key", KEY, "hmac-sha256", secret)
        allow_updates(site)
        s0 = site.serial()
        rc, out = site.nsupdate(["update add home.example.test 300 A 198.51.100.9",
                                 "update add also.example.test 300 A 192.0.2.9"],
                                key=(KEY, secret))
        assert rc != 0 and "SERVFAIL" in out, out
        assert site.answer("home." + ZONE, "A")[1] == {"192.0.2.50"}
        assert site.rcode("also." + ZONE, "A") == dns.rcode.NXDOMAIN
        assert site.serial() == s0
        rc, out = site.nsupdate(["update delete home.example.test A"], key=(KEY, secret))
        assert rc != 0 and "SERVFAIL" in out, out
        assert site.answer("home." + ZONE, "A")[1] == {"192.0.2.50"}
        # Other types at the host's name are the zone's.
        rc, out = site.nsupdate(["update add home.example.test 300 TXT router"],
                                key=(KEY, secret))
        assert rc == 0, out
        assert site.answer("home." + ZONE, "TXT")[1] == {'"router"'}
        assert site.answer("home." + ZONE, "A")[1] == {"192.0.2.50"}


def test_update_serial_from_yyyymmddnn(site):
    site.load_zone("$ORIGIN example.test.\n$TTL 300\n"
                   "@ SOA ns1 hostmaster 2030010100 3600 600 86400 60\n"
                   "@ NS ns1\n@ NS ns2\nns1 A 192.0.2.53\nns2 A 192.0.2.54\n")
    assert site.serial() == 2030010100
    allow_updates(site)
    rc, out = site.nsupdate(["update add dyn.example.test 300 A 192.0.2.200"],
                            key=(KEY, site.secret))
    assert rc == 0, out
    assert site.serial() == 2030010101
    rc, out = site.nsupdate(["update delete dyn.example.test A"], key=(KEY, site.secret))
    assert rc == 0, out
    assert site.serial() == 2030010102


# ---- AXFR out, authorised by TSIG only ----

@pytest.fixture
def xsite(tmp_path):
    # allow-axfr-ips does not cover the client (127.0.0.1).
    with start(tmp_path, settings={"allow-axfr-ips": "192.0.2.1/32"}) as s:
        s.secret = new_secret()
        s.pdnsutil("import-tsig-key", KEY, "hmac-sha256", s.secret)
        yield s


def test_axfr_needs_tsig(xsite):
    site = xsite
    # No TSIG-ALLOW-AXFR yet: signed or not, refused.
    recs, out = site.axfr_dig(key=(KEY, site.secret))
    assert recs == [] and "Transfer failed" in out, out

    site.pdnsutil("activate-tsig-key", ZONE, KEY, "primary")
    recs, out = site.axfr_dig(key=(KEY, site.secret))
    assert recs, out
    assert recs[0][2] == "SOA", out
    got = {(n, t, rd) for n, _, t, rd in recs}
    assert ("www." + APEX, "A", "192.0.2.80") in got
    assert ("www." + APEX, "AAAA", "2001:db8::80") in got
    assert ("txt." + APEX, "TXT", '"hello"') in got
    assert (APEX, "NS", "ns1." + APEX) in got and (APEX, "NS", "ns2." + APEX) in got
    assert len([r for r in recs if r[2] == "SOA"]) == 1  # +onesoa
    # Complete: exactly what the API lists.
    status, z = site.api("GET", "/zones/" + APEX)
    api = {(r["name"], r["type"], c["content"]) for r in z["rrsets"] for c in r["records"]}
    norm = {(n, t, dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(t), c).to_text())
            for n, t, c in api}
    assert got == norm, (got ^ norm)
    assert len(recs) == len(norm)

    # Unsigned: NOTAUTH, nothing transferred.
    recs, out = site.axfr_dig()
    assert recs == [] and "Transfer failed" in out, out
    q = dns.message.make_query(ZONE, "AXFR")
    r = dns.query.tcp(q, "127.0.0.1", port=site.dns_port, timeout=5)
    assert r.rcode() == dns.rcode.NOTAUTH and r.answer == [], r.to_text()
    # Signed with a key the zone does not list: refused too.
    other = new_secret()
    site.pdnsutil("import-tsig-key", "k2", "hmac-sha256", other)
    recs, out = site.axfr_dig(key=("k2", other))
    assert recs == [] and "Transfer failed" in out, out
    # Wrong secret for the listed key.
    recs, out = site.axfr_dig(key=(KEY, new_secret()))
    assert recs == [], out


def test_axfr_signed_big_zone_complete(xsite):
    """A zone of a few thousand records transfers whole over TSIG (many
    messages, each signed)."""
    site = xsite
    n = 3000
    lines = ["$ORIGIN example.test.", "$TTL 300",
             "@ SOA ns1 hostmaster 2030010100 3600 600 86400 60", "@ NS ns1", "@ NS ns2",
             "ns1 A 192.0.2.53"]
    lines += ["h%04d A 10.0.%d.%d" % (i, i >> 8, i & 255) for i in range(n)]
    lines += ["h%04d TXT \"record number %d\"" % (i, i) for i in range(0, n, 10)]
    site.load_zone("\n".join(lines) + "\n")
    site.pdnsutil("activate-tsig-key", ZONE, KEY, "primary")
    recs, out = site.axfr_dig(key=(KEY, site.secret))
    assert len(recs) == 1 + 2 + 1 + n + n // 10, out[-2000:]
    assert ("h2999." + APEX, 300, "A", "10.0.11.183") in recs
    assert len(set(recs)) == len(recs)
    # Signed by the server too: dnspython verifies every message.
    xfr = dns.query.xfr("127.0.0.1", ZONE, port=site.dns_port, keyring=keyring(KEY, site.secret),
                        keyname=KEY + ".", keyalgorithm=dns.tsig.HMAC_SHA256, timeout=10)
    count = sum(len(rs) for m in xfr for rs in m.answer)
    assert count == len(recs) + 1  # both SOAs
