"""pdnsutil, unchanged, on a KyedNS zone (through pdns 4.7.3's remote
backend and kyedns-backend): load-zone of a zone file with many types,
add-record, replace-rrset, delete-rrset, edit-zone with a scripted EDITOR,
increase-serial, set-meta, TSIG keys, check-zone/check-all-zones, dynamic
hosts surviving a load-zone, the serial across every kind of change, and a
long load-zone running beside the updater (or dying half-way).

Every record is read back through pdns with dnspython and compared with
what the zone file says.
"""
import os
import select
import signal
import stat
import subprocess
import time

import dns.flags
import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from pdns_util import ZONE, PdnsSite, new_secret, serial_gt

APEX = ZONE + "."

# YYYYMMDDnn serial far ahead of the unix time: the store must serve it
# verbatim, then count on from it.
FILE_SERIAL = 2030010100

# A zone file with every kind of record an operator migrates: names are
# relative to the origin, so the same text loads into any zone.
ZONE_FILE = """$ORIGIN example.test.
$TTL 3600
@           IN SOA  ns1.example.test. hostmaster.example.test. %d 7200 1800 1209600 300
@           IN NS   ns1.example.test.
@           IN NS   ns2.example.test.
@           IN MX   10 mail.example.test.
@    300    IN TXT  "v=spf1 mx -all" "second string"
@           IN SPF  "v=spf1 mx -all"
@           IN CAA  0 issue "letsencrypt.org"
ns1         IN A    192.0.2.53
ns2         IN AAAA 2001:db8::53
mail        IN A    192.0.2.25
mail        IN AAAA 2001:db8::25
www    60   IN A    192.0.2.80
www    60   IN A    192.0.2.81
alias       IN CNAME www
nowhere     IN CNAME .
loc         IN LOC  52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
naptr       IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.test.
hinfo       IN HINFO "PC-Intel-700mhz" "Linux"
rp          IN RP   admin.example.test. rptxt.example.test.
rptxt       IN TXT  "call the admin"
dname       IN DNAME target.example.net.
svc         IN A    192.0.2.90
svc         IN AAAA 2001:db8::90
svc         IN HTTPS 1 . alpn=h2,h3 port=8443
_dns.svc    IN SVCB 1 svc.example.test. alpn=dot
alias-svc   IN HTTPS 0 svc.example.test.
eui         IN EUI48 00-00-5e-00-53-2a
eui         IN EUI64 00-00-5e-ef-10-00-00-2a
mb          IN MB   mail.example.test.
mg          IN MG   mail.example.test.
mr          IN MR   mail.example.test.
unk         IN TYPE65432 \\# 4 0a000001
_sip._tcp   IN SRV  0 5 5060 mail.example.test.
ptr         IN PTR  www.example.test.
sshfp       IN SSHFP 4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789
_443._tcp.www IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
sub         IN NS   ns.sub.example.test.
sub         IN NS   ns.elsewhere.example.net.
sub         IN DS   12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub      IN A    192.0.2.54
a.b.ent     IN TXT  "below an empty non-terminal"
*.wild      IN A    192.0.2.99
*.wild      IN TXT  "wildcard"
esc\\@name  IN A    192.0.2.100
""" % FILE_SERIAL


def parse_zone(text, origin=APEX):
    """{(owner, type): (ttl, {rdata text})} of a zone file, via dnspython."""
    z = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
    out = {}
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            out[(name.to_text().lower(), dns.rdatatype.to_text(rds.rdtype))] = (
                rds.ttl, {rd.to_text() for rd in rds})
    return out


def cuts(records):
    """Owner names (other than the apex) that hold an NS RRset."""
    return {n for (n, t) in records if t == "NS" and n != APEX}


def below_cut(name, cutset, inclusive):
    n = dns.name.from_text(name)
    for c in cutset:
        cn = dns.name.from_text(c)
        if n.is_subdomain(cn) and (inclusive or n != cn):
            return c
    return None


def check_served(site, records):
    """Every RRset of records is served through pdns exactly (TTL and
    rdata): authoritative answers, or the referral for delegation NS and
    glue.  Returns the number of RRsets checked."""
    cutset = cuts(records)
    n = 0
    for (name, rtype), (ttl, rdatas) in sorted(records.items()):
        r = site.query(name, rtype)
        cut = below_cut(name, cutset, inclusive=(rtype != "DS"))
        want = dns.rdatatype.from_text(rtype)
        if cut:
            # Delegation NS and glue: a referral, not authoritative.
            assert r.rcode() == dns.rcode.NOERROR, (name, rtype, r.to_text())
            assert not r.flags & dns.flags.AA, (name, rtype, r.to_text())
            sections = r.authority + r.additional
        else:
            assert r.rcode() == dns.rcode.NOERROR, (name, rtype, r.to_text())
            assert r.flags & dns.flags.AA, (name, rtype, r.to_text())
            sections = r.answer
        got = [rs for rs in sections
               if rs.rdtype == want and rs.name == dns.name.from_text(name)]
        assert len(got) == 1, (name, rtype, r.to_text())
        assert (got[0].ttl, {rd.to_text() for rd in got[0]}) == (ttl, rdatas), (
            name, rtype, r.to_text())
        n += 1
    return n


def check_zone_clean(site, zone=ZONE):
    out = site.pdnsutil("check-zone", zone)
    assert "[Error]" not in out and "[Warning]" not in out, out
    assert "0 errors, 0 warnings." in out, out
    return out


@pytest.fixture
def site(tmp_path):
    with PdnsSite(tmp_path) as s:
        yield s


# pdns's check-zone warns about this one itself, whatever the backend.
ROOT_NS = "root-ns     IN NS   .\n"
ROOT_NS_WARNING = "[Warning] NS record in zone 'example.test: non-hostname content ."


def test_load_zone_every_type(site):
    site.load_zone(ZONE_FILE + ROOT_NS)
    want = parse_zone(ZONE_FILE + ROOT_NS)
    assert check_served(site, want) == len(want)

    # The SOA, serial included, is the file's.
    ttl, soa = site.soa()
    assert ttl == 3600
    assert soa.to_text() == ("ns1.example.test. hostmaster.example.test. %d 7200 1800 1209600 300"
                             % FILE_SERIAL)

    # An empty non-terminal is NODATA, not NXDOMAIN; so is b.ent.
    for ent in ("ent." + ZONE, "b.ent." + ZONE):
        r = site.query(ent, "A")
        assert (r.rcode(), r.answer) == (dns.rcode.NOERROR, []), r.to_text()
        assert r.flags & dns.flags.AA
    # The wildcard answers names below it, with the asked name.
    assert site.answer("anything.wild." + ZONE, "A") == (3600, {"192.0.2.99"})
    assert site.answer("x.y.wild." + ZONE, "TXT") == (3600, {'"wildcard"'})
    # No such name.
    assert site.rcode("nope." + ZONE, "A") == dns.rcode.NXDOMAIN
    # DNAME: a CNAME is synthesised for names below it.
    r = site.query("host.dname." + ZONE, "A")
    assert r.rcode() == dns.rcode.NOERROR
    cname = [rs for rs in r.answer if rs.rdtype == dns.rdatatype.CNAME]
    assert [rd.to_text() for rd in cname[0]] == ["host.target.example.net."], r.to_text()
    # Below the cut: a referral with the glue.
    r = site.query("deep.sub." + ZONE, "A")
    assert not r.flags & dns.flags.AA and r.rcode() == dns.rcode.NOERROR
    assert {rd.to_text() for rs in r.authority for rd in rs if rs.rdtype == dns.rdatatype.NS} == {
        "ns.sub.example.test.", "ns.elsewhere.example.net."}
    # ANY at a name with many types.
    r = site.query("svc." + ZONE, "ANY")
    assert {dns.rdatatype.to_text(rs.rdtype) for rs in r.answer} == {"A", "AAAA", "HTTPS"}

    # AXFR is the file, record for record (ENTs are not records).
    recs, out = site.axfr_dig()
    assert recs and recs[0][2] == "SOA", out
    got = {}
    for name, ttl, rtype, rd in recs:
        got.setdefault((name, rtype), (ttl, set()))[1].add(rd)
    assert got == want, out

    out = site.pdnsutil("check-zone", ZONE)
    assert [l for l in out.splitlines() if "[Warning]" in l or "[Error]" in l] == [
        ROOT_NS_WARNING], out
    assert "0 errors, 1 warnings." in out, out
    site.pdnsutil("delete-rrset", ZONE, "root-ns", "NS")
    check_zone_clean(site)


def test_check_all_zones_clean(tmp_path):
    with PdnsSite(tmp_path, zones=(ZONE, "other.test")) as site:
        site.load_zone(ZONE_FILE)
        site.pdnsutil("add-record", "other.test", "www", "A", "300", "192.0.2.1")
        site.pdnsutil("add-record", "other.test", "@", "MX", "300", "10 mail.example.test.")
        out = site.pdnsutil("check-all-zones")
        assert "[Error]" not in out and "[Warning]" not in out, out
        assert "Checked 2 zones, 0 had errors." in out, out
        check_zone_clean(site, "other.test")


def test_add_replace_delete_rrset(site):
    site.load_zone(ZONE_FILE)
    s = site.serial()
    assert s == FILE_SERIAL

    out = site.pdnsutil("add-record", ZONE, "new", "A", "300", "192.0.2.1")
    assert "new.example.test. 300 IN A 192.0.2.1" in out, out
    assert site.answer("new." + ZONE, "A") == (300, {"192.0.2.1"})
    assert site.serial() == s + 1
    # add-record adds to the RRset.  pdnsutil sends the old records with
    # their TTL first: one RRset has one TTL, the first one (pdns's own
    # backends keep both TTLs and check-zone then reports a mismatch).
    site.pdnsutil("add-record", ZONE, "new", "A", "600", "192.0.2.2")
    assert site.answer("new." + ZONE, "A") == (300, {"192.0.2.1", "192.0.2.2"})
    assert site.serial() == s + 2
    # Names in content: absolute and relative forms land the same.
    site.pdnsutil("add-record", ZONE, "new", "MX", "300", "20 mail.example.test.")
    assert site.answer("new." + ZONE, "MX") == (300, {"20 mail.example.test."})
    site.pdnsutil("add-record", ZONE, "new", "TXT", "300", '"two" "strings"')
    assert site.answer("new." + ZONE, "TXT") == (300, {'"two" "strings"'})
    assert site.serial() == s + 4

    out = site.pdnsutil("replace-rrset", ZONE, "new", "A", "900", "192.0.2.7", "192.0.2.8")
    assert "will be replaced" in out, out
    assert site.answer("new." + ZONE, "A") == (900, {"192.0.2.7", "192.0.2.8"})
    assert site.serial() == s + 5
    # A new type via replace-rrset, including one pdns knows only as \#.
    site.pdnsutil("replace-rrset", ZONE, "new", "TYPE65000", "300", "\\# 2 abcd")
    r = site.query("new." + ZONE, "TYPE65000")
    assert [rd.to_text() for rs in r.answer for rd in rs] == ["\\# 2 abcd"], r.to_text()

    site.pdnsutil("delete-rrset", ZONE, "new", "A")
    assert site.answer("new." + ZONE, "A") == (None, set())
    assert site.answer("new." + ZONE, "MX") == (300, {"20 mail.example.test."})
    site.pdnsutil("delete-rrset", ZONE, "new", "MX")
    site.pdnsutil("delete-rrset", ZONE, "new", "TXT")
    site.pdnsutil("delete-rrset", ZONE, "new", "TYPE65000")
    assert site.rcode("new." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert serial_gt(site.serial(), s + 5)

    # pdnsutil's own CNAME check, on what the backend returns.
    p = site.pdnsutil_run("add-record", ZONE, "www", "CNAME", "300", "mail.example.test.")
    assert p.returncode == 1 and "which already had existing records" in p.stderr, p
    p = site.pdnsutil_run("add-record", ZONE, "alias", "A", "300", "192.0.2.1")
    assert p.returncode == 1 and "which already had a CNAME record" in p.stderr, p
    assert site.answer("alias." + ZONE, "CNAME") == (3600, {"www.example.test."})
    check_zone_clean(site)


def test_increase_serial_and_set_meta(site):
    site.load_zone(ZONE_FILE)
    site.pdnsutil("increase-serial", ZONE)
    assert site.serial() == FILE_SERIAL + 1
    site.pdnsutil("increase-serial", ZONE)
    assert site.serial() == FILE_SERIAL + 2

    out = site.pdnsutil("set-meta", ZONE, "X-FOO", "a", "b")
    assert "Set 'example.test' meta X-FOO = a, b" in out, out
    out = site.pdnsutil("get-meta", ZONE, "X-FOO")
    assert "X-FOO = a, b" in out, out
    site.pdnsutil("set-meta", ZONE, "ALLOW-AXFR-FROM", "192.0.2.0/24", "2001:db8::/32")
    site.pdnsutil("add-meta", ZONE, "ALLOW-AXFR-FROM", "198.51.100.0/24")
    out = site.pdnsutil("get-meta", ZONE, "ALLOW-AXFR-FROM")
    assert "ALLOW-AXFR-FROM = 192.0.2.0/24, 2001:db8::/32, 198.51.100.0/24" in out, out
    # set-meta with no value clears the kind.
    site.pdnsutil("set-meta", ZONE, "X-FOO")
    out = site.pdnsutil("get-meta", ZONE)
    assert "X-FOO" not in out and "ALLOW-AXFR-FROM" in out, out
    # Metadata is not zone data.
    assert site.serial() == FILE_SERIAL + 2

    # rectify-zone is an empty transaction for the remote backend: it
    # changes nothing, so the serial stays.
    site.pdnsutil("rectify-zone", ZONE)
    assert site.serial() == FILE_SERIAL + 2
    # No zone creation or deletion through pdns: a clear failure, and the
    # zone is untouched.
    p = site.pdnsutil_run("delete-zone", ZONE)
    assert p.returncode == 1 and "Failed to delete zone" in p.stderr, p
    p = site.pdnsutil_run("create-zone", "new.test", "ns1.new.test")
    assert p.returncode == 1 and "was not created" in p.stderr, p
    assert site.serial() == FILE_SERIAL + 2
    want = parse_zone(ZONE_FILE)
    want[(APEX, "SOA")] = (3600, {"ns1.example.test. hostmaster.example.test. %d 7200 1800 "
                                  "1209600 300" % (FILE_SERIAL + 2)})
    assert check_served(site, want) == len(want)


def test_tsig_keys_pdnsutil(site):
    secret = new_secret()
    out = site.pdnsutil("import-tsig-key", "k1", "hmac-sha256", secret)
    assert "Imported TSIG key k1 hmac-sha256" in out, out
    out = site.pdnsutil("generate-tsig-key", "k2", "hmac-sha512")
    assert "Create new TSIG key k2 hmac-sha512" in out, out
    out = site.pdnsutil("list-tsig-keys")
    assert "k1. hmac-sha256. %s" % secret in out, out
    assert "k2. hmac-sha512. " in out, out

    site.pdnsutil("activate-tsig-key", ZONE, "k1", "primary")
    site.pdnsutil("activate-tsig-key", ZONE, "k2", "primary")
    out = site.pdnsutil("get-meta", ZONE, "TSIG-ALLOW-AXFR")
    assert "TSIG-ALLOW-AXFR = k1, k2" in out, out
    site.pdnsutil("activate-tsig-key", ZONE, "k1", "secondary")
    assert "AXFR-MASTER-TSIG = k1" in site.pdnsutil("get-meta", ZONE, "AXFR-MASTER-TSIG")
    site.pdnsutil("deactivate-tsig-key", ZONE, "k2", "primary")
    out = site.pdnsutil("get-meta", ZONE, "TSIG-ALLOW-AXFR")
    assert "TSIG-ALLOW-AXFR = k1" in out and "k2" not in out, out

    out = site.pdnsutil("delete-tsig-key", "k2")
    assert "Deleted TSIG key k2" in out
    out = site.pdnsutil("list-tsig-keys")
    assert "k2." not in out and "k1." in out, out
    # Re-import replaces the secret.
    secret2 = new_secret()
    site.pdnsutil("import-tsig-key", "k1", "hmac-sha256", secret2)
    out = site.pdnsutil("list-tsig-keys")
    assert "k1. hmac-sha256. %s" % secret2 in out and secret not in out, out


EDITOR = r"""#!/bin/sh
# Scripted EDITOR for pdnsutil edit-zone: $1 is the file pdnsutil wrote.
set -e
f="$1"
cp "$f" "$f.before"
cp "$f" "%(copy)s"
# change www's addresses, add a TXT, delete the HINFO
sed -i -e 's/^www\.example\.test\t60\tIN\tA\t192\.0\.2\.80$/www.example.test\t60\tIN\tA\t192.0.2.180/' \
       -e '/\tHINFO\t/d' "$f"
printf 'edited.example.test.\t120\tIN\tTXT\t"edited by a script"\n' >> "$f"
"""


def test_edit_zone_scripted_editor(site, tmp_path):
    site.load_zone(ZONE_FILE)
    editor = tmp_path / "editor.sh"
    copy = tmp_path / "as-listed.txt"
    editor.write_text(EDITOR % {"copy": copy})
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    # Answers: (y)es increase the serial, (a)pply.  The q's end any
    # unexpected prompt (pdnsutil asks again forever on end of input).
    out = site.pdnsutil("edit-zone", ZONE, input="ya" + "q" * 20, env={"EDITOR": str(editor)})
    assert "Detected the following changes:" in out, out
    assert "+www.example.test 60 IN A 192.0.2.180" in out, out
    assert "-www.example.test 60 IN A 192.0.2.80" in out, out
    assert "-hinfo.example.test 3600 IN HINFO" in out, out

    # What pdnsutil listed is the zone (absolute names, its own format).
    listed = parse_zone(copy.read_text())
    assert listed == parse_zone(ZONE_FILE), copy.read_text()

    assert site.answer("www." + ZONE, "A") == (60, {"192.0.2.180", "192.0.2.81"})
    assert site.answer("edited." + ZONE, "TXT") == (120, {'"edited by a script"'})
    assert site.rcode("hinfo." + ZONE, "HINFO") == dns.rcode.NXDOMAIN
    # The 'y' answer: serial + 1, exactly once.
    assert site.serial() == FILE_SERIAL + 1
    # Everything else is untouched.
    want = parse_zone(ZONE_FILE)
    del want[("hinfo." + APEX, "HINFO")]
    want[("www." + APEX, "A")] = (60, {"192.0.2.180", "192.0.2.81"})
    want[("edited." + APEX, "TXT")] = (120, {'"edited by a script"'})
    want[(APEX, "SOA")] = (3600, {"ns1.example.test. hostmaster.example.test. %d 7200 1800 "
                                  "1209600 300" % (FILE_SERIAL + 1)})
    assert check_served(site, want) == len(want)
    check_zone_clean(site)

    # Editing again without changes applies nothing.
    editor.write_text("#!/bin/sh\nexit 0\n")
    out = site.pdnsutil("edit-zone", ZONE, input="q" * 20, env={"EDITOR": str(editor)})
    assert "No changes to apply." in out, out
    assert site.serial() == FILE_SERIAL + 1


def test_load_zone_replaces_everything(site):
    site.load_zone(ZONE_FILE)
    small = ("$ORIGIN example.test.\n$TTL 300\n"
             "@ SOA ns1 hostmaster %d 3600 600 86400 60\n"
             "@ NS ns1\n@ NS ns2\nns1 A 192.0.2.53\nns2 A 192.0.2.54\nonly A 192.0.2.1\n"
             % (FILE_SERIAL + 10))
    site.load_zone(small, name="small.txt")
    want = parse_zone(small)
    assert check_served(site, want) == len(want)
    for gone in ("www", "loc", "a.b.ent", "sub", "ns.sub", "mail"):
        assert site.rcode(gone + "." + ZONE, "A") == dns.rcode.NXDOMAIN, gone
    recs, out = site.axfr_dig()
    assert len(recs) == sum(len(v[1]) for v in want.values()), out
    check_zone_clean(site)


def test_load_zone_bad_file_changes_nothing(site):
    """pdnsutil stops half-way through a file with an out-of-zone record
    (it exits without commit or abort): the old zone stays, whole."""
    site.load_zone(ZONE_FILE)
    bad = ("$ORIGIN example.test.\n$TTL 300\n"
           "@ SOA ns1 hostmaster %d 3600 600 86400 60\n@ NS ns1\nfirst A 192.0.2.1\n"
           "outside.example.net. A 192.0.2.2\nlast A 192.0.2.3\n" % (FILE_SERIAL + 50))
    path = os.path.join(site.tmp, "bad.txt")
    with open(path, "w") as f:
        f.write(bad)
    p = site.pdnsutil_run("load-zone", ZONE, path)
    assert p.returncode == 1 and "which is not part of zone" in p.stderr, p
    assert site.rcode("first." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert site.serial() == FILE_SERIAL
    want = parse_zone(ZONE_FILE)
    assert check_served(site, want) == len(want)
    # And the next pdns write works (no transaction was left behind).
    site.pdnsutil("add-record", ZONE, "after", "A", "300", "192.0.2.9")
    assert site.answer("after." + ZONE, "A") == (300, {"192.0.2.9"})


def test_load_zone_refused_record_changes_nothing(site):
    """load-zone does not check CNAME clashes; the backend must.  pdnsutil
    ignores a failed feedRecord and a failed commit (it exits 0), so the
    whole load must be refused at commit, the old zone kept, and the
    backend must say why in its log."""
    site.load_zone(ZONE_FILE)
    bad = ("$ORIGIN example.test.\n$TTL 300\n"
           "@ SOA ns1 hostmaster %d 3600 600 86400 60\n@ NS ns1\n"
           "clash A 192.0.2.1\nclash CNAME www\nother A 192.0.2.2\n" % (FILE_SERIAL + 50))
    site.load_zone(bad, name="clash.txt")
    assert site.rcode("clash." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert site.rcode("other." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert site.serial() == FILE_SERIAL
    want = parse_zone(ZONE_FILE)
    assert check_served(site, want) == len(want)
    log = site.backend_log()
    assert "clash.example.test" in log, log


# ---- dynamic hosts and pdnsutil ----

TOKEN = "tok-home-0123456789abcdef"
HOST = "home." + ZONE


def _host(ctl):
    ctl.run("host", "add", HOST, "--token", TOKEN)


@pytest.fixture
def dsite(tmp_path):
    with PdnsSite(tmp_path, prepare=_host, updater=True) as s:
        yield s


def test_load_zone_keeps_dyn_host(dsite):
    site = dsite
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.50")
    assert (st, body) == (200, "good 192.0.2.50\n")
    st, body, _ = site.dyn_update(HOST, TOKEN, "2001:db8::50")
    assert (st, body) == (200, "good 2001:db8::50\n")

    site.load_zone(ZONE_FILE)  # knows nothing of the host
    assert site.answer(HOST, "A") == (site.answer(HOST, "A")[0], {"192.0.2.50"})
    assert site.answer(HOST, "AAAA")[1] == {"2001:db8::50"}
    want = parse_zone(ZONE_FILE)
    assert check_served(site, want) == len(want)
    assert site.ctl.json("host", "show", HOST)["ipv4"] == "192.0.2.50"

    # The token still works, and the update is served.
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.51")
    assert (st, body) == (200, "good 192.0.2.51\n")
    assert site.answer(HOST, "A")[1] == {"192.0.2.51"}
    st, body, _ = site.dyn_update(HOST, "wrong-token-0123456789", "192.0.2.52")
    assert (st, body) == (401, "badauth\n")
    check_zone_clean(site)


def test_clear_zone_keeps_dyn_host(dsite):
    site = dsite
    site.load_zone(ZONE_FILE)
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.50")
    assert (st, body) == (200, "good 192.0.2.50\n")
    site.pdnsutil("clear-zone", ZONE)
    assert site.rcode("www." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert site.answer(HOST, "A")[1] == {"192.0.2.50"}
    assert serial_gt(site.serial(), FILE_SERIAL)
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.51")
    assert (st, body) == (200, "good 192.0.2.51\n")
    assert site.answer(HOST, "A")[1] == {"192.0.2.51"}


def test_export_and_reload_with_dyn_host(dsite):
    """The operator's round trip: export (the host's address is in it),
    add a line, load it back.  The line is added, nothing else changes,
    and the host keeps its address and keeps updating."""
    site = dsite
    site.load_zone(ZONE_FILE)
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.50")
    assert (st, body) == (200, "good 192.0.2.50\n")
    status, text = site.api("GET", "/zones/%s/export" % APEX)
    assert status == 200 and ("%s.\t" % HOST) in text, text
    before = parse_zone(text)
    site.load_zone(text + "added.example.test.\t300\tIN\tTXT\t\"added\"\n", name="export.txt")
    after = parse_zone(site.api("GET", "/zones/%s/export" % APEX)[1])
    soa_b, soa_a = before.pop((APEX, "SOA")), after.pop((APEX, "SOA"))
    assert after.pop(("added." + APEX, "TXT")) == (300, {'"added"'})
    assert after == before
    assert serial_gt(int(next(iter(soa_a[1])).split()[2]), int(next(iter(soa_b[1])).split()[2]))
    assert site.answer(HOST, "A")[1] == {"192.0.2.50"}
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.60")
    assert (st, body) == (200, "good 192.0.2.60\n")
    assert site.answer(HOST, "A")[1] == {"192.0.2.60"}


def test_load_zone_static_a_at_host_does_not_win(dsite):
    """A zone file with a static A at the host's name: the host's address
    is not silently overwritten, and the next update is what is served."""
    site = dsite
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.50")
    assert (st, body) == (200, "good 192.0.2.50\n")
    site.load_zone(ZONE_FILE + "home IN A 198.51.100.9\n", name="clash.txt")
    assert "192.0.2.50" in site.answer(HOST, "A")[1]
    assert site.ctl.json("host", "show", HOST)["ipv4"] == "192.0.2.50"
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.51")
    assert (st, body) == (200, "good 192.0.2.51\n")
    addrs = site.answer(HOST, "A")[1]
    assert "192.0.2.51" in addrs and "192.0.2.50" not in addrs, addrs


def test_pdnsutil_cannot_take_host_address(dsite):
    site = dsite
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.50")
    assert (st, body) == (200, "good 192.0.2.50\n")
    s0 = site.serial()
    p = site.pdnsutil_run("add-record", ZONE, "home", "A", "300", "198.51.100.9")
    assert p.returncode == 1 and "backend did not accept the new RRset" in p.stderr, p
    p = site.pdnsutil_run("delete-rrset", ZONE, "home", "A")
    assert site.answer(HOST, "A")[1] == {"192.0.2.50"}
    assert site.serial() == s0
    # Other types beside the host are fine.
    site.pdnsutil("add-record", ZONE, "home", "TXT", "300", '"router"')
    assert site.answer(HOST, "TXT")[1] == {'"router"'}
    assert site.answer(HOST, "A")[1] == {"192.0.2.50"}


# ---- the serial, across every kind of writer ----

def test_serial_moves_forward_across_tools(dsite, tmp_path):
    site = dsite
    site.load_zone(ZONE_FILE)
    seen = [site.serial()]
    assert seen[0] == FILE_SERIAL

    def step(what):
        s = site.serial()
        assert s == seen[-1] + 1, "%s: serial %d after %d" % (what, s, seen[-1])
        seen.append(s)

    st, body = site.patch([{"name": "api." + APEX, "type": "A", "ttl": 300,
                            "changetype": "REPLACE",
                            "records": [{"content": "192.0.2.1", "disabled": False}]}])
    assert st == 204, body
    step("API PATCH")
    site.pdnsutil("add-record", ZONE, "util", "A", "300", "192.0.2.2")
    step("add-record")
    site.pdnsutil("replace-rrset", ZONE, "util", "A", "300", "192.0.2.3")
    step("replace-rrset")
    site.pdnsutil("delete-rrset", ZONE, "util", "A")
    step("delete-rrset")
    site.pdnsutil("increase-serial", ZONE)
    step("increase-serial")
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.77")
    assert (st, body) == (200, "good 192.0.2.77\n")
    step("dyndns update")
    secret = new_secret()
    site.pdnsutil("import-tsig-key", "k1", "hmac-sha256", secret)
    site.pdnsutil("set-meta", ZONE, "ALLOW-DNSUPDATE-FROM", "127.0.0.1/32")
    site.pdnsutil("set-meta", ZONE, "TSIG-ALLOW-DNSUPDATE", "k1")
    assert site.serial() == seen[-1]
    rc, out = site.nsupdate(["update add upd.example.test 300 A 192.0.2.4"], key=("k1", secret))
    assert rc == 0, out
    step("nsupdate")
    editor = tmp_path / "ed.sh"
    editor.write_text("#!/bin/sh\nprintf 'ed.example.test.\\t60\\tIN\\tA\\t192.0.2.5\\n' >> \"$1\"\n")
    editor.chmod(0o755)
    site.pdnsutil("edit-zone", ZONE, input="ya" + "q" * 20, env={"EDITOR": str(editor)})
    step("edit-zone")
    # A later load-zone with an older serial in the file does not go back.
    site.load_zone(ZONE_FILE, name="again.txt")
    s = site.serial()
    assert serial_gt(s, seen[-1]), (seen, s)


# ---- long transactions beside the updater and kyednsctl ----

BIG = 20000


def big_zone(serial):
    lines = ["$ORIGIN example.test.", "$TTL 300",
             "@ SOA ns1 hostmaster %d 3600 600 86400 60" % serial, "@ NS ns1", "@ NS ns2",
             "ns1 A 192.0.2.53"]
    lines += ["h%05d A 10.%d.%d.%d" % (i, i >> 16, (i >> 8) & 255, i & 255) for i in range(BIG)]
    return "\n".join(lines) + "\n"


def write(site, name, text):
    path = os.path.join(site.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_started(proc, timeout=30):
    """Waits for pdnsutil load-zone's "replacing contents" line, printed
    just before startTransaction.  Returns stderr so far."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stderr.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.01)
        if r:
            chunk = os.read(fd, 4096)
            buf += chunk
            if b"replacing contents" in buf:
                return buf.decode()
            if not chunk:
                break
    raise AssertionError("load-zone did not start (rc %r): %r" % (proc.poll(), buf))


LATENCY = 3.0  # seconds an update or import may take beside a pdns transaction


def ctl_timed(site, *args):
    """kyednsctl that must succeed within LATENCY (x3 before it is
    killed); returns the seconds it took."""
    t = time.monotonic()
    p = subprocess.run([site.ctl.path, "--db", site.db] + list(args), capture_output=True,
                       text=True, timeout=LATENCY * 3)
    dt = time.monotonic() - t
    assert p.returncode == 0, p.stderr
    assert dt < LATENCY, "kyednsctl %s took %.2fs" % (args, dt)
    return dt


def test_updates_during_long_load_zone(dsite):
    """While pdnsutil feeds a 20k-record zone, dyndns updates answer good
    at once and kyednsctl imports hosts; all of it is there afterwards.
    pdnsutil is paused (SIGSTOP) for a moment in the middle so that the
    transaction is surely open while the first updates run."""
    site = dsite
    path = write(site, "big.txt", big_zone(FILE_SERIAL))
    imp = write(site, "hosts.txt", "".join("imp%d.example.test tok-imp-%d-0123456789abcdef 192.0.2.%d\n"
                                           % (i, i, i) for i in range(1, 6)))
    t0 = time.monotonic()
    proc = site.pdnsutil_popen("load-zone", ZONE, path)
    lat = []
    try:
        wait_started(proc)
        time.sleep(0.05)
        proc.send_signal(signal.SIGSTOP)
        try:
            for i in range(3):
                st, body, dt = site.dyn_update(HOST, TOKEN, "192.0.2.%d" % (100 + i))
                assert (st, body) == (200, "good 192.0.2.%d\n" % (100 + i))
                lat.append(dt)
            lat.append(ctl_timed(site, "host", "import", imp))
            assert proc.poll() is None
        finally:
            proc.send_signal(signal.SIGCONT)
        i = 3
        while proc.poll() is None and i < 150:  # addresses up to 192.0.2.249
            st, body, dt = site.dyn_update(HOST, TOKEN, "192.0.2.%d" % (100 + i))
            assert (st, body) == (200, "good 192.0.2.%d\n" % (100 + i))
            lat.append(dt)
            i += 1
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    load_time = time.monotonic() - t0
    assert proc.returncode == 0, err
    assert max(lat) < LATENCY, "latencies %r during a %.2fs load-zone" % (lat, load_time)
    # After the commit: one more update, then everything is there: the
    # zone, the hosts' last addresses, the imported hosts.
    # (an address the loop above never sends)
    st, body, _ = site.dyn_update(HOST, TOKEN, "198.51.100.250")
    assert (st, body) == (200, "good 198.51.100.250\n")
    assert site.answer("h19999." + ZONE, "A") == (300, {"10.0.78.31"})
    assert site.answer("h00000." + ZONE, "A") == (300, {"10.0.0.0"})
    assert site.answer(HOST, "A")[1] == {"198.51.100.250"}
    for i in range(1, 6):
        assert site.answer("imp%d.%s" % (i, ZONE), "A")[1] == {"192.0.2.%d" % i}
    assert site.rcode("www." + ZONE, "A") == dns.rcode.NXDOMAIN
    # The file's serial, then +1 for each change committed after it.
    assert site.serial() in range(FILE_SERIAL + 1, FILE_SERIAL + 300), site.serial()


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_dead_load_zone_leaves_old_zone(dsite, how):
    """pdnsutil killed (SIGKILL) or hung (SIGSTOP) in the middle of a
    load-zone: the old zone is served whole, updates and other pdns edits
    go on, and after the kill the next load works."""
    site = dsite
    site.load_zone(ZONE_FILE)
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.50")
    assert (st, body) == (200, "good 192.0.2.50\n")
    s0 = site.serial()
    path = write(site, "big.txt", big_zone(FILE_SERIAL + 100))
    proc = site.pdnsutil_popen("load-zone", ZONE, path)
    try:
        wait_started(proc)
        time.sleep(0.03)  # startTransaction sent, feeding
        proc.send_signal(signal.SIGSTOP)
        assert proc.poll() is None, "load-zone finished too soon to be interrupted"
        if how == "kill":
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        # Nobody is blocked: updates, kyednsctl, and pdns's own writers.
        st, body, dt = site.dyn_update(HOST, TOKEN, "192.0.2.51")
        assert (st, body) == (200, "good 192.0.2.51\n")
        assert dt < LATENCY, dt
        ctl_timed(site, "host", "add", "new." + ZONE, "--token", "tok-new-0123456789abcdef",
                  "--ipv4", "192.0.2.52")
        st, body = site.patch([{"name": "api." + APEX, "type": "TXT", "ttl": 60,
                                "changetype": "REPLACE",
                                "records": [{"content": '"x"', "disabled": False}]}])
        assert st == 204, body
        # The old zone, whole, plus those changes; none of the big zone.
        want = parse_zone(ZONE_FILE)
        want.pop((APEX, "SOA"))
        assert check_served(site, want) == len(want)
        assert site.rcode("h00000." + ZONE, "A") == dns.rcode.NXDOMAIN
        assert site.answer(HOST, "A")[1] == {"192.0.2.51"}
        assert site.answer("new." + ZONE, "A")[1] == {"192.0.2.52"}
        assert site.answer("api." + ZONE, "TXT") == (60, {'"x"'})
        assert serial_gt(site.serial(), s0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # After the process is gone, its transaction is gone too.
    st, body, _ = site.dyn_update(HOST, TOKEN, "192.0.2.53")
    assert (st, body) == (200, "good 192.0.2.53\n")
    site.load_zone(ZONE_FILE, name="again.txt")
    assert site.rcode("h00000." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert site.answer(HOST, "A")[1] == {"192.0.2.53"}
    assert site.answer("new." + ZONE, "A")[1] == {"192.0.2.52"}
    check_zone_clean(site)
