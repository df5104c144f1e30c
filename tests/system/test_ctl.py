"""kyednsctl, end to end: every command, every error path, --json output.

Each test drives the real binary against its own temporary store (the
`store`/`ctl` fixtures of conftest.py).  Error paths assert the contract of
DESIGN.md: exactly one line on stderr, "kyednsctl: <what> (<reason>)", and
a non-zero exit (2 for usage errors, 1 for the rest).
"""
import json
import os
import re
import subprocess

import dns.rdatatype
import pytest

from conftest import binary

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
ERR_RE = re.compile(r"^kyednsctl: .+ \([^()]+(\([^()]*\))?[^()]*\)$")


def fail(ctl, *args, code=1):
    """Runs kyednsctl expecting failure; checks the one-line error shape and
    the exit status; returns the line."""
    p = ctl.run(*args, check=False)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == code, "%s: exit %d, want %d (%r)" % (args, p.returncode, code, p.stderr)
    assert len(lines) == 1, "%s: want one error line, got %r" % (args, p.stderr)
    assert ERR_RE.match(lines[0]), lines[0]
    return lines[0]


def usage(ctl, *args):
    line = fail(ctl, *args, code=2)
    assert line.endswith("(invalid argument)"), line
    return line


@pytest.fixture
def zone(ctl):
    """A store with zone example.com (two NS) and nothing else."""
    ctl.run("zone", "add", "example.com", "--ns", "ns1.example.com", "--ns", "ns2.example.net")
    return "example.com."


def records(ctl, zone):
    """{(name, type): [(ttl, content), ...]} of `record list --json`."""
    out = {}
    for r in ctl.json("record", "list", zone):
        out.setdefault((r["name"], r["type"]), []).append((r["ttl"], r["content"]))
    return out


def serial(ctl, zone):
    return ctl.json("zone", "show", zone)["serial"]


# ---- global options, usage errors ----

def test_version_and_help(ctl):
    p = ctl.run("--version")
    assert p.stdout.startswith("kyednsctl ") and p.stderr == ""
    p = ctl.run("--help")
    for cmd in ("zone add", "zone list", "zone show", "zone del", "host add", "host list",
                "host show", "host del", "host token", "host import", "record add",
                "record del", "record list"):
        assert cmd in p.stdout
    assert not os.path.exists(ctl.db), "--help must not create the store"


@pytest.mark.parametrize("args", [
    (),
    ("frobnicate",),
    ("zone",),
    ("zone", "frob"),
    ("zone", "add"),
    ("zone", "add", "a.example", "b.example", "--ns", "ns.example"),
    ("zone", "add", "example.com"),                       # --ns is required
    ("zone", "add", "example.com", "--ns"),               # option without value
    ("zone", "add", "example.com", "--ns", "n.example", "--kind", "bogus"),
    ("zone", "add", "example.com", "--ns", "n.example", "--ttl", "-1"),
    ("zone", "add", "example.com", "--ns", "n.example", "--ttl", "abc"),
    ("zone", "add", "example.com", "--ns", "n.example", "--ttl", "4294967296"),
    ("zone", "add", "example.com", "--ns", "n.example", "--token", "x" * 30),
    ("zone", "list", "extra"),
    ("host", "add"),
    ("host", "add", "a.example.com", "--ns", "x.example"),
    ("host", "show"),
    ("host", "list", "a", "b"),
    ("host", "import"),
    ("record", "add", "a.example.com", "A"),
    ("record", "del", "a.example.com"),
    ("record", "list"),
    ("--bogus", "zone", "list"),
    ("-x", "zone", "list"),
    ("--json=1", "zone", "list"),
])
def test_usage_errors(ctl, args):
    usage(ctl, *args)
    assert not os.path.exists(ctl.db), "a usage error must not create the store"


def test_read_commands_do_not_create_store(ctl, store):
    for args in (("zone", "list"), ("zone", "show", "example.com"), ("host", "list"),
                 ("host", "show", "a.example.com"), ("record", "list", "example.com")):
        line = fail(ctl, *args)
        assert store in line and "not found" in line, line
        assert not os.path.exists(store)


def test_write_command_creates_store(ctl, store):
    assert not os.path.exists(store)
    ctl.run("zone", "add", "example.com", "--ns", "ns1.example.com")
    assert os.path.exists(os.path.join(store, "data.mdb"))


def test_kyedns_db_env(tmp_path):
    """--db defaults to $KYEDNS_DB; --db wins over it."""
    path = binary("kyednsctl")
    env = dict(os.environ, KYEDNS_DB=str(tmp_path / "envdb"))
    run = lambda *a: subprocess.run([path] + list(a), capture_output=True, text=True, env=env,
                                    timeout=60)
    p = run("zone", "add", "env.example", "--ns", "ns.env.example")
    assert p.returncode == 0, p.stderr
    assert os.path.exists(tmp_path / "envdb" / "data.mdb")
    p = run("--json", "zone", "list")
    assert [z["zone"] for z in json.loads(p.stdout)] == ["env.example."]
    p = run("--db", str(tmp_path / "other"), "zone", "list")
    assert p.returncode == 1 and "other" in p.stderr


def test_options_after_command_and_double_dash(ctl, zone):
    ctl.run("record", "add", "t.example.com", "TXT", "--ttl", "120", "--", "-dash-text")
    assert records(ctl, zone)[("t.example.com.", "TXT")] == [(120, '"-dash-text"')]
    p = ctl.run("zone", "list", "--json")
    assert json.loads(p.stdout)[0]["zone"] == zone


# ---- zones ----

def test_zone_add_show_list(ctl):
    z = ctl.json("zone", "add", "Example.COM", "--ns", "NS1.example.com", "--ns",
                 "ns2.example.net.", "--hostmaster", "first.last@example.org",
                 "--ttl", "7200", "--kind", "master")
    assert z["zone"] == "example.com."
    assert z["kind"] == "master" and z["ttl"] == 7200 and z["id"] >= 1
    assert z["mname"] == "ns1.example.com."
    assert z["rname"] == "first\\.last.example.org."
    assert z["serial"] > 0

    show = ctl.json("zone", "show", "example.com")
    assert show["ns"] == ["ns1.example.com.", "ns2.example.net."]
    assert show["serial"] == z["serial"] and show["hosts"] == 0

    recs = records(ctl, "example.com")
    assert recs[("example.com.", "NS")] == [(7200, "ns1.example.com."), (7200, "ns2.example.net.")]
    soa = recs[("example.com.", "SOA")][0][1].split()
    assert soa[:2] == ["ns1.example.com.", "first\\.last.example.org."] and len(soa) == 7

    ctl.run("zone", "add", "example.net", "--ns", "ns1.example.com")
    zones = ctl.json("zone", "list")
    assert [x["zone"] for x in zones] == ["example.com.", "example.net."]
    net = zones[1]
    assert net["rname"] == "hostmaster.example.net." and net["kind"] == "native"
    assert net["id"] != z["id"]

    human = ctl.run("zone", "list").stdout.splitlines()
    assert human[0].split() == ["ZONE", "ID", "KIND", "SERIAL", "NOTIFIED", "TTL"]
    assert human[1].split()[0] == "example.com." and len(human) == 3
    # columns are aligned: every row starts its second column at the same place
    assert len({len(re.match(r"^\S+\s+", l).group(0)) for l in human}) == 1
    assert "zone " in ctl.run("zone", "show", "example.com").stdout


@pytest.mark.parametrize("args,want", [
    (("zone", "add", "a..example", "--ns", "ns.example"), "invalid domain name"),
    (("zone", "add", ".", "--ns", "ns.example"), "invalid domain name"),
    (("zone", "add", "x" * 64 + ".example", "--ns", "ns.example"), "invalid domain name"),
    (("zone", "add", "ok.example", "--ns", "bad..ns"), "invalid domain name"),
    (("zone", "add", "ok.example", "--ns", "ns.example", "--hostmaster", "@example.com"),
     "invalid domain name"),
    (("zone", "add", "ok.example", "--ns", "ns.example", "--hostmaster", "me@"),
     "invalid domain name"),
    (("zone", "show", "nope.example"), "not found"),
    (("zone", "show", "a..b"), "invalid domain name"),
    (("zone", "del", "nope.example"), "not found"),
    (("record", "list", "nope.example"), "not found"),
    (("host", "list", "nope.example"), "not found"),
])
def test_zone_errors(ctl, zone, args, want):
    line = fail(ctl, *args)
    assert want in line, line


def test_zone_duplicate(ctl, zone):
    line = fail(ctl, "zone", "add", "EXAMPLE.com.", "--ns", "ns.example")
    assert "example.com." in line and "already exists" in line


def test_zone_del_removes_everything(ctl, zone):
    ctl.run("zone", "add", "sub.example.com", "--ns", "ns1.example.com")
    ctl.run("host", "add", "h1.example.com", "--ipv4", "192.0.2.1")
    ctl.run("host", "add", "h2.sub.example.com", "--ipv4", "192.0.2.2")
    ctl.run("record", "add", "www.example.com", "CNAME", "h1.example.com")
    p = ctl.run("zone", "del", "example.com")
    assert "example.com." in p.stdout
    assert [z["zone"] for z in ctl.json("zone", "list")] == ["sub.example.com."]
    assert [h["host"] for h in ctl.json("host", "list")] == ["h2.sub.example.com."]
    fail(ctl, "host", "show", "h1.example.com")
    fail(ctl, "record", "list", "example.com")
    # the name can be reused: nothing of the old zone is left behind
    ctl.run("zone", "add", "example.com", "--ns", "ns1.example.com")
    assert set(records(ctl, "example.com")) == {("example.com.", "SOA"), ("example.com.", "NS")}


def test_serial_bumps_on_change(ctl, zone):
    s0 = serial(ctl, zone)
    ctl.run("record", "add", "www.example.com", "A", "192.0.2.7")
    s1 = serial(ctl, zone)
    assert s1 > s0
    ctl.run("host", "add", "h.example.com", "--ipv6", "2001:db8::1")
    assert serial(ctl, zone) > s1


# ---- hosts ----

def test_host_add_generated_token(ctl, zone):
    out = ctl.json("host", "add", "Home.Example.com", "--ipv4", "192.0.2.10",
                   "--ipv6", "2001:DB8::10")
    assert out["host"] == "home.example.com." and TOKEN_RE.match(out["token"])
    h = ctl.json("host", "show", "home.example.com")
    assert h["host"] == "home.example.com." and h["zone"] == zone
    assert h["ipv4"] == "192.0.2.10" and h["ipv6"] == "2001:db8::10"
    assert h["ttl"] == 60 and h["updated"] == 0 and h["last_client"] is None
    assert h["created"] > 0
    recs = records(ctl, zone)
    assert recs[("home.example.com.", "A")] == [(60, "192.0.2.10")]
    assert recs[("home.example.com.", "AAAA")] == [(60, "2001:db8::10")]

    human = ctl.run("host", "add", "other.example.com")
    tok = re.search(r"^token (\S+)$", human.stdout, re.M).group(1)
    assert TOKEN_RE.match(tok) and tok != out["token"]


def test_host_add_long_token(ctl, zone):
    """A provided token is hashed whole or refused, never cut short."""
    p = ctl.run("--json", "host", "add", "long.example.com", "--token", "L" * 300, check=False)
    if p.returncode == 0:
        assert json.loads(p.stdout)["token"] == "L" * 300
    else:
        assert len(p.stderr.strip().splitlines()) == 1 and "token" in p.stderr


def test_host_add_provided_token_and_ttl(ctl, zone):
    token = "migrated-token_0123456789.~"
    out = ctl.json("host", "add", "m.example.com", "--token", token, "--ttl", "300",
                   "--ipv4", "198.51.100.1")
    assert out == {"host": "m.example.com.", "token": token}
    assert ctl.json("host", "show", "m.example.com")["ttl"] == 300
    assert records(ctl, zone)[("m.example.com.", "A")] == [(300, "198.51.100.1")]


@pytest.mark.parametrize("args,want", [
    (("host", "add", "h.example.org"), "outside every zone"),
    (("host", "add", "example.com"), "zone apex"),
    (("host", "add", "bad_name.example.com"), "host name"),
    (("host", "add", "a..example.com"), "invalid domain name"),
    (("host", "add", "--", "-lead.example.com"), "host name"),
    (("host", "add", "dup.example.com"), "already exists"),
    (("host", "add", "DUP.example.com."), "already exists"),
    (("host", "add", "t.example.com", "--token", "tooshort"), "at least 20"),
    (("host", "add", "t.example.com", "--token", "has space in it 0123456789"), "at least 20"),
    (("host", "add", "t.example.com", "--ipv4", "1.2.3"), "invalid address"),
    (("host", "add", "t.example.com", "--ipv4", "01.2.3.4"), "invalid address"),
    (("host", "add", "t.example.com", "--ipv4", "1.2.3.4 "), "invalid address"),
    (("host", "add", "t.example.com", "--ipv4", "2001:db8::1"), "invalid address"),
    (("host", "add", "t.example.com", "--ipv6", "fe80::1%eth0"), "invalid address"),
    (("host", "add", "t.example.com", "--ipv6", "1.2.3.4"), "invalid address"),
    (("host", "show", "nope.example.com"), "not found"),
    (("host", "del", "nope.example.com"), "not found"),
    (("host", "token", "nope.example.com"), "not found"),
    (("host", "show", "bad_name.example.com"), "host name"),
])
def test_host_errors(ctl, zone, args, want):
    ctl.run("host", "add", "dup.example.com")
    line = fail(ctl, *args)
    assert want in line, line
    if args[1] == "add" and args[2].startswith("t."):
        fail(ctl, "host", "show", "t.example.com")  # nothing half-added


def test_host_clashes_with_cname(ctl, zone):
    ctl.run("record", "add", "alias.example.com", "CNAME", "target.example.net")
    line = fail(ctl, "host", "add", "alias.example.com", "--ipv4", "192.0.2.1")
    assert "CNAME" in line
    fail(ctl, "host", "show", "alias.example.com")  # the txn was rolled back
    # without addresses too: such a host could never be updated
    assert "CNAME" in fail(ctl, "host", "add", "alias.example.com")
    fail(ctl, "host", "show", "alias.example.com")


def test_host_list_and_tokens_never_shown(ctl, zone):
    ctl.run("zone", "add", "example.net", "--ns", "ns1.example.com")
    tokens = [ctl.json("host", "add", "a.example.com", "--ipv4", "192.0.2.1")["token"],
              ctl.json("host", "add", "b.example.com", "--token", "b" * 25)["token"],
              ctl.json("host", "add", "c.example.net", "--ipv6", "2001:db8::c")["token"]]
    tokens.append(ctl.json("host", "token", "a.example.com")["token"])
    hosts = ctl.json("host", "list")
    assert [h["host"] for h in hosts] == ["a.example.com.", "b.example.com.", "c.example.net."]
    assert hosts[0]["ipv4"] == "192.0.2.1" and hosts[0]["ipv6"] is None
    assert hosts[2]["ipv6"] == "2001:db8::c"
    assert [h["host"] for h in ctl.json("host", "list", "example.net")] == ["c.example.net."]
    # a zone's listing and count leave out the hosts of a zone below it
    ctl.run("zone", "add", "sub.example.com", "--ns", "ns1.example.com")
    ctl.run("host", "add", "d.sub.example.com")
    assert [h["host"] for h in ctl.json("host", "list", "example.com")] == \
        ["a.example.com.", "b.example.com."]
    assert [h["host"] for h in ctl.json("host", "list", "sub.example.com")] == \
        ["d.sub.example.com."]
    assert ctl.json("zone", "show", "example.com")["hosts"] == 2
    assert ctl.json("zone", "show", "sub.example.com")["hosts"] == 1
    human = ctl.run("host", "list").stdout.splitlines()
    assert human[0].split()[:4] == ["HOST", "TTL", "IPV4", "IPV6"] and len(human) == 5
    outputs = [ctl.run(*a).stdout for a in (
        ("host", "list"), ("--json", "host", "list"), ("host", "show", "a.example.com"),
        ("--json", "host", "show", "a.example.com"), ("host", "show", "b.example.com"),
        ("--json", "zone", "show", "example.com"), ("record", "list", "example.com"))]
    for t in tokens:
        for o in outputs:
            assert t not in o
    for h in hosts:
        assert "token" not in h and "token_hash" not in h


def test_host_token_rotates(ctl, zone):
    first = ctl.json("host", "add", "r.example.com")["token"]
    seen = {first}
    for _ in range(3):
        t = ctl.json("host", "token", "r.example.com")
        assert t["host"] == "r.example.com." and TOKEN_RE.match(t["token"])
        assert t["token"] not in seen
        seen.add(t["token"])
    p = ctl.run("host", "token", "r.example.com")
    assert re.search(r"^token [A-Za-z0-9_-]{43}$", p.stdout, re.M)


def test_host_del_removes_addresses(ctl, zone):
    ctl.run("host", "add", "gone.example.com", "--ipv4", "192.0.2.9", "--ipv6", "2001:db8::9")
    ctl.run("record", "add", "gone.example.com", "TXT", "kept")
    ctl.run("host", "del", "gone.example.com")
    recs = records(ctl, zone)
    assert ("gone.example.com.", "A") not in recs and ("gone.example.com.", "AAAA") not in recs
    assert recs[("gone.example.com.", "TXT")] == [(3600, '"kept"')]
    fail(ctl, "host", "show", "gone.example.com")
    assert ctl.json("host", "list") == []


# ---- records ----

@pytest.mark.parametrize("rtype,content,want", [
    ("A", "192.0.2.1", "192.0.2.1"),
    ("AAAA", "2001:DB8:0::1", "2001:db8::1"),
    ("NS", "NS.Example.net", "ns.example.net."),
    ("CNAME", "Target.Example.net.", "target.example.net."),
    ("PTR", "host.example.com", "host.example.com."),
    ("MX", "10 Mail.example.com", "10 mail.example.com."),
    ("MX", "0 .", "0 ."),
    ("TXT", "v=spf1 -all", '"v=spf1 -all"'),
    ("TXT", '"a b" "c"', '"a b" "c"'),
    ("TXT", '"quote \\" \\065"', '"quote \\" A"'),
    ("TXT", "x" * 300, '"%s" "%s"' % ("x" * 255, "x" * 45)),
    ("SRV", "10 5 5060 SIP.example.com", "10 5 5060 sip.example.com."),
    ("CAA", "0 issue \"letsencrypt.org\"", "0 issue \"letsencrypt.org\""),
    ("CAA", "128 IODEF mailto:x@example.com", "128 iodef \"mailto:x@example.com\""),
    ("SSHFP", "1 2 " + "AB" * 32, "1 2 " + "ab" * 32),
    ("TLSA", "3 1 1 " + "0F" * 32, "3 1 1 " + "0f" * 32),
    ("DS", "12345 8 2 " + "aa" * 32, "12345 8 2 " + "aa" * 32),
])
def test_record_types(ctl, zone, rtype, content, want):
    out = ctl.json("record", "add", "r.example.com", rtype.lower(), content)
    assert out["content"] == want and out["type"] == rtype
    assert records(ctl, zone)[("r.example.com.", rtype)] == [(3600, want)]
    ctl.run("record", "del", "r.example.com", rtype, content)
    assert ("r.example.com.", rtype) not in records(ctl, zone)


@pytest.mark.parametrize("rtype,content", [
    ("A", "1.2.3"), ("A", "01.2.3.4"), ("A", "1.2.3.4 "), ("A", "::1"), ("A", ""),
    ("AAAA", "1.2.3.4"), ("AAAA", "2001:db8::g"), ("AAAA", "fe80::1%lo"),
    ("CNAME", "a..b"), ("CNAME", "."), ("CNAME", "two words"), ("NS", "bad..name"),
    ("MX", "mail.example.com"), ("MX", "70000 mail.example.com"), ("MX", "10"),
    ("SRV", "10 5 sip.example.com"), ("SRV", "1 2 3 4 5"),
    ("TXT", '"unterminated'), ("TXT", '"a"b'), ("TXT", '"bad \\300"'),
    ("CAA", "0 issue"), ("CAA", "256 issue \"x\""), ("CAA", "0 is-sue \"x\""),
    ("SSHFP", "1 1 abc"), ("TLSA", "3 1 1 zz"), ("DS", "1 8 2 ab"),
])
def test_record_bad_content(ctl, zone, rtype, content):
    line = fail(ctl, "record", "add", "r.example.com", rtype, content)
    assert "does not fit" in line, line
    assert ("r.example.com.", rtype) not in records(ctl, zone)


@pytest.mark.parametrize("rtype", ["SOA", "ANY", "HTTPS", "FOO", "TYPE1"])
def test_record_bad_type(ctl, zone, rtype):
    line = fail(ctl, "record", "add", "r.example.com", rtype, "x")
    assert "unsupported record type" in line


def test_record_clashes_and_duplicates(ctl, zone):
    ctl.run("record", "add", "c.example.com", "CNAME", "t.example.net")
    assert "CNAME" in fail(ctl, "record", "add", "c.example.com", "A", "192.0.2.1")
    assert "CNAME" in fail(ctl, "record", "add", "c.example.com", "CNAME", "u.example.net")
    ctl.run("record", "add", "a.example.com", "A", "192.0.2.1")
    assert "CNAME" in fail(ctl, "record", "add", "a.example.com", "CNAME", "t.example.net")
    assert "apex" in fail(ctl, "record", "add", "example.com", "CNAME", "t.example.net")
    assert "already exists" in fail(ctl, "record", "add", "a.example.com", "A", "192.0.2.1")
    assert "outside every zone" in fail(ctl, "record", "add", "a.example.org", "A", "192.0.2.1")
    assert "invalid domain name" in fail(ctl, "record", "add", "a..example.com", "A", "192.0.2.1")


def test_record_ttl_and_delete(ctl, zone):
    ctl.run("record", "add", "m.example.com", "A", "192.0.2.1", "--ttl", "120")
    ctl.run("record", "add", "m.example.com", "A", "192.0.2.2")  # keeps the RRset's TTL
    ctl.run("record", "add", "m.example.com", "TXT", "t")        # new RRset: zone TTL
    recs = records(ctl, zone)
    assert recs[("m.example.com.", "A")] == [(120, "192.0.2.1"), (120, "192.0.2.2")]
    assert recs[("m.example.com.", "TXT")] == [(3600, '"t"')]
    ctl.run("record", "del", "m.example.com", "A", "192.0.2.1")
    assert records(ctl, zone)[("m.example.com.", "A")] == [(120, "192.0.2.2")]
    assert "not found" in fail(ctl, "record", "del", "m.example.com", "A", "192.0.2.1")
    ctl.run("record", "del", "m.example.com", "TXT")
    assert ("m.example.com.", "TXT") not in records(ctl, zone)
    assert "not found" in fail(ctl, "record", "del", "m.example.com", "MX")
    assert "does not fit" in fail(ctl, "record", "del", "m.example.com", "A", "1.2.3")
    human = ctl.run("record", "list", "example.com").stdout.splitlines()
    assert human[0].split() == ["NAME", "TTL", "TYPE", "CONTENT"]
    assert any(l.split()[:4] == ["m.example.com.", "120", "A", "192.0.2.2"] for l in human)


def test_record_list_skips_subzones(ctl, zone):
    ctl.run("zone", "add", "sub.example.com", "--ns", "ns1.example.com")
    ctl.run("record", "add", "x.sub.example.com", "A", "192.0.2.3")
    assert ("x.sub.example.com.", "A") not in records(ctl, zone)
    assert ("x.sub.example.com.", "A") in records(ctl, "sub.example.com")


# ---- import ----

GOOD = """# KyedNS import test
h1.example.com abcdefghijklmnopqrstuvwxyz0123 192.0.2.1 2001:db8::1

h2.example.com - 192.0.2.2   # comment after the fields
h3.example.com 2001:db8::3 192.0.2.3
H4.Example.COM.
h5.example.net\t-\t-\t2001:db8::5\r
"""


def test_import_good_file(ctl, zone, tmp_path):
    ctl.run("zone", "add", "example.net", "--ns", "ns1.example.com")
    f = tmp_path / "hosts.txt"
    f.write_text(GOOD)
    out = ctl.json("host", "import", str(f))
    assert out["imported"] == 5 and out["generated"] == 4
    gen = {t["host"]: t["token"] for t in out["tokens"]}
    assert set(gen) == {"h2.example.com.", "h3.example.com.", "h4.example.com.", "h5.example.net."}
    assert all(TOKEN_RE.match(t) for t in gen.values())
    hosts = {h["host"]: h for h in ctl.json("host", "list")}
    assert set(hosts) == set(gen) | {"h1.example.com."}
    assert hosts["h1.example.com."]["ipv4"] == "192.0.2.1"
    assert hosts["h1.example.com."]["ipv6"] == "2001:db8::1"
    assert hosts["h3.example.com."]["ipv4"] == "192.0.2.3"
    assert hosts["h4.example.com."]["ipv4"] is None
    assert hosts["h5.example.net."]["ipv6"] == "2001:db8::5"
    assert hosts["h5.example.net."]["ipv4"] is None
    assert records(ctl, zone)[("h2.example.com.", "A")] == [(60, "192.0.2.2")]
    # a provided token is never echoed
    listing = ctl.run("host", "list").stdout + ctl.run("--json", "host", "list").stdout
    assert "abcdefghijklmnopqrstuvwxyz0123" not in listing


def test_import_human_output_and_ttl(ctl, zone, tmp_path):
    f = tmp_path / "hosts.txt"
    f.write_text("a.example.com\nb.example.com %s 192.0.2.2\n" % ("t" * 24))
    p = ctl.run("host", "import", str(f), "--ttl", "30")
    lines = p.stdout.splitlines()
    assert len(lines) == 2
    name, tok = lines[0].split()
    assert name == "a.example.com." and TOKEN_RE.match(tok)
    assert lines[1].startswith("# imported 2 hosts")
    assert records(ctl, zone)[("b.example.com.", "A")] == [(30, "192.0.2.2")]


@pytest.mark.parametrize("bad,want", [
    ("x.example.com 1.2.3", "invalid address"),
    ("x.example.com - 01.2.3.4", "invalid address"),
    ("x.example.com - 192.0.2.1 192.0.2.2", "invalid address"),
    ("x.example.com - 2001:db8::g", "invalid address"),
    ("x.example.com short-token", "at least 20"),
    ("bad_name.example.com", "host name"),
    ("x..example.com", "invalid domain name"),
    ("x.example.org", "outside every zone"),
    ("example.com", "zone apex"),
    ("keep.example.com", "already exists"),           # already in the store
    ("alias.example.com", "CNAME"),                   # would sit beside a CNAME
    ("ok1.example.com", "already exists"),            # twice in the file
    ("a b c d e", "invalid argument"),
])
def test_import_bad_line(ctl, zone, tmp_path, bad, want):
    ctl.run("host", "add", "keep.example.com")
    ctl.run("record", "add", "alias.example.com", "CNAME", "keep.example.com")
    f = tmp_path / "hosts.txt"
    f.write_text("# header\nok1.example.com\nok2.example.com - 192.0.2.1\n%s\nok3.example.com\n" % bad)
    p = ctl.run("host", "import", str(f), check=False)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(lines) == 1, p.stderr
    assert lines[0].startswith("kyednsctl: %s:4: " % f), lines[0]
    assert want in lines[0], lines[0]
    assert p.stdout == "", "no tokens may be printed for a file that was not loaded"
    # the file was validated first: nothing of it was written
    assert [h["host"] for h in ctl.json("host", "list")] == ["keep.example.com."]


def test_import_missing_file_and_empty_file(ctl, zone, tmp_path):
    assert "not found" in fail(ctl, "host", "import", str(tmp_path / "nope.txt"))
    f = tmp_path / "empty.txt"
    f.write_text("")
    assert ctl.json("host", "import", str(f)) == {"tokens": [], "imported": 0, "generated": 0}
    f.write_text("# only comments\n\n   \n")
    assert ctl.json("host", "import", str(f))["imported"] == 0


def test_import_from_stdin(ctl, zone):
    p = ctl.run("--json", "host", "import", "-", input="s1.example.com\ns2.example.com\n")
    assert json.loads(p.stdout)["imported"] == 2
    assert len(ctl.json("host", "list")) == 2


def test_import_big_file_grows_map(ctl, zone, store, tmp_path):
    """400,000 hosts need more than the default 64 MiB map: the import must
    hit ERR_MAPFULL, grow the map and redo the batch, print progress on
    stderr, and leave every host in place."""
    n = 400000
    f = tmp_path / "big.txt"
    with open(f, "w") as out:
        out.write("".join("b%06d.example.com tok-%020d 10.%d.%d.%d 2001:db8::%x:%x\n"
                          % (i, i, i >> 16, (i >> 8) & 255, i & 255, i >> 16, i & 0xffff)
                          for i in range(n)))
    p = ctl.run("--json", "host", "import", str(f))
    out = json.loads(p.stdout)
    assert out["imported"] == n and out["generated"] == 0
    progress = p.stderr.strip().splitlines()
    assert progress == ["kyednsctl: %s: %d of %d hosts imported" % (f, k, n)
                        for k in (100000, 200000, 300000, 400000)], p.stderr
    assert os.path.getsize(os.path.join(store, "data.mdb")) > 64 << 20
    h = ctl.json("host", "show", "b123456.example.com")
    assert h["ipv4"] == "10.1.226.64" and h["ipv6"] == "2001:db8::1:e240"
    assert ctl.json("zone", "show", "example.com")["hosts"] == n


# ---- what kyednsctl stores is what PowerDNS serves ----

SERVED = [
    # (type, content given to kyednsctl, rdata text as dnspython prints it)
    ("A", "192.0.2.1", "192.0.2.1"),
    ("AAAA", "2001:DB8:0:0::1", "2001:db8::1"),
    ("MX", "10 Mail.Example.com", "10 mail.example.com."),
    ("TXT", "v=spf1 include:_spf.example.net ~all", '"v=spf1 include:_spf.example.net ~all"'),
    ("TXT", '"two" "strings \\"quoted\\" \\233"', '"two" "strings \\"quoted\\" \\233"'),
    ("TXT", "y" * 300, '"%s" "%s"' % ("y" * 255, "y" * 45)),
    ("SRV", "10 5 5060 SIP.example.com", "10 5 5060 sip.example.com."),
    ("CAA", '0 issue "letsencrypt.org"', '0 issue "letsencrypt.org"'),
    ("SSHFP", "4 2 " + "AB" * 32, "4 2 " + "ab" * 32),
    ("TLSA", "3 1 1 " + "0f" * 32, "3 1 1 " + "0f" * 32),
]


def test_records_served_by_pdns(ctl, zone, store, tmp_path):
    """Content normalized by rdata.c, served by the real backend and
    pdns_server 4.7, parses back to the same records on the wire."""
    from backend_util import start_stack
    for i, (rtype, content, _) in enumerate(SERVED):
        ctl.run("record", "add", "r%d.example.com" % i, rtype, content)
    ctl.run("record", "add", "www.example.com", "CNAME", "r0.example.com")
    ctl.run("host", "add", "dyn.example.com", "--ipv4", "198.51.100.7", "--ipv6", "2001:db8::7")
    stack = start_stack(tmp_path, store)
    try:
        for i, (rtype, _, want) in enumerate(SERVED):
            r = stack.query("r%d.example.com." % i, rtype)
            got = [rd.to_text() for rrset in r.answer for rd in rrset
                   if rrset.rdtype == dns.rdatatype.from_text(rtype)]
            assert got == [want], (rtype, got, stack.backend.log_text()[-2000:])
        r = stack.query("www.example.com.", "A")
        texts = sorted(rrset.to_text() for rrset in r.answer)
        assert any("CNAME r0.example.com." in t for t in texts), texts
        assert any("A 192.0.2.1" in t for t in texts), texts
        r = stack.query("dyn.example.com.", "AAAA")
        assert [rd.to_text() for rrset in r.answer for rd in rrset] == ["2001:db8::7"]
        r = stack.query("example.com.", "SOA")
        soa = r.answer[0][0]
        assert soa.mname.to_text() == "ns1.example.com." and soa.serial == serial(ctl, zone)
    finally:
        stack.stop()


# ---- found in review: inputs that must not slip through ----

def test_empty_db_is_a_usage_error(tmp_path):
    """`--db "$DB"` with DB unset must not fall back to the production store."""
    for args in (["--db", ""], ["--db="]):
        p = subprocess.run([binary("kyednsctl")] + args + ["zone", "list"], capture_output=True,
                           text=True, env={"KYEDNS_DB": str(tmp_path / "other")})
        assert p.returncode == 2 and "--db needs a directory" in p.stderr


def test_unknown_option_does_not_echo_its_value(ctl):
    line = ctl.fail("--tokn=SuperSecretToken1234567", "zone", "list")
    assert "--tokn" in line and "SuperSecret" not in line


def test_cname_refused_at_a_host(ctl):
    ctl.run("zone", "add", "example.com", "--ns", "ns1.example.com")
    ctl.run("host", "add", "h.example.com", "--token", "abcdefghijklmnopqrstuvwxyz")
    line = ctl.fail("record", "add", "h.example.com", "CNAME", "other.example.net.")
    assert "clash" in line.lower()


def test_soa_names_over_255_refused(ctl):
    # a valid name of 120 raw NUL bytes: 480 characters of presentation text
    ns = "\\000" * 60 + "." + "\\000" * 60 + ".example.net"
    line = ctl.fail("zone", "add", "example.com", "--ns", ns)
    assert "255" in line or "too" in line.lower()
    assert "example.com" not in ctl.run("zone", "list", check=False).stdout


def test_import_digit_token_and_no_token_echo(ctl, tmp_path):
    ctl.run("zone", "add", "example.com", "--ns", "ns1.example.com")
    f = tmp_path / "hosts.txt"
    f.write_text("d2.example.com 98765432109876543210999 192.0.2.4\n")
    ctl.run("host", "import", str(f))
    assert ctl.json("host", "show", "d2.example.com")["ipv4"] == "192.0.2.4"
    f.write_text("d3.example.com 9876543210.9876543210.9 192.0.2.5 192.0.2.777\n")
    line = ctl.fail("host", "import", str(f))
    assert "192.0.2.777" in line and "9876543210.9876543210.9" not in line
    f.write_text("d4.example.com 1.2.3.999\n")
    line = ctl.fail("host", "import", str(f))
    assert "1.2.3.999" not in line
