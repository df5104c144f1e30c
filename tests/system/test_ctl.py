"""kyednsctl, end to end: every command, every error path, --json output.

Each test drives the real binary against its own temporary store (the
`store`/`ctl` fixtures of conftest.py).  Error paths assert the contract:
a failed command prints exactly one line on stderr, "kyednsctl: <what>
(<reason>)", and exits 1; a usage error prints "kyednsctl: <message>" and
"Try 'kyednsctl [COMMAND] --help'." and exits 2 (common/cli's convention,
checked for all three programs in test_cli.py).
"""
import json
import os
import re
import subprocess

import dns.rcode
import dns.rdatatype
import pytest

from conftest import Ctl, binary

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
ERR_RE = re.compile(r"^kyednsctl: .+ \([^()]+(\([^()]*\))?[^()]*\)$")
HINT_RE = re.compile(r"^Try 'kyednsctl( [a-z]+ [a-z]+)? --help'\.$")


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
    """Runs kyednsctl expecting a usage error: exit 2, nothing on stdout,
    the message and the hint on stderr; returns the message line."""
    p = ctl.run(*args, check=False)
    lines = p.stderr.splitlines()
    assert p.returncode == 2, "%s: exit %d, want 2 (%r)" % (args, p.returncode, p.stderr)
    assert p.stdout == "", "%s: usage text on stdout: %r" % (args, p.stdout)
    assert len(lines) == 2, "%s: want the message and the hint, got %r" % (args, p.stderr)
    assert lines[0].startswith("kyednsctl: ") and not lines[0].startswith("kyednsctl: usage"), lines[0]
    assert "(invalid argument)" not in lines[0], lines[0]
    assert HINT_RE.match(lines[1]), lines[1]
    return lines[0]


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
    assert p.stderr == ""
    listed = [l.split()[:2] for l in p.stdout.splitlines() if re.match(r"^  [a-z]", l)]
    cmds = [["zone", "add"], ["zone", "list"], ["zone", "show"], ["zone", "del"],
            ["zone", "soa"], ["zone", "ns"], ["zone", "set"], ["zone", "export"],
            ["zone", "import"], ["host", "add"], ["host", "list"], ["host", "show"],
            ["host", "del"], ["host", "token"], ["host", "set"], ["host", "history"],
            ["host", "acme"], ["host", "import"], ["token", "add"], ["token", "list"],
            ["token", "revoke"], ["record", "add"], ["record", "del"], ["record", "list"],
            ["autoprimary", "add"], ["autoprimary", "list"], ["autoprimary", "del"]]
    assert listed == cmds, listed
    assert "--zone ZONE" in p.stdout
    assert not os.path.exists(ctl.db), "--help must not create the store"
    # each command's own help: `COMMAND --help`, `-h` and `help COMMAND` agree
    for cmd in cmds:
        h = ctl.run(*cmd, "--help")
        assert h.stdout.startswith("Usage: kyednsctl %s" % " ".join(cmd)), h.stdout
        assert ctl.run(*cmd, "-h").stdout == h.stdout
        assert ctl.run("help", *cmd).stdout == h.stdout
    assert "--kind slave --master" in ctl.run("zone", "add", "--help").stdout
    assert ctl.run("help").stdout == p.stdout
    assert not os.path.exists(ctl.db), "help must not create the store"


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
    ("record", "add", "a.example.com", "A", "192.0.2.1", "--zone"),
    ("record", "list", "example.com", "--zone", "example.com"),
    ("zone", "add", "example.com", "--kind", "slave"),               # --master is required
    ("zone", "add", "example.com", "--kind", "slave", "--master", "192.0.2.1",
     "--ns", "ns.example"),                                         # slaves take no --ns
    ("zone", "add", "example.com", "--ns", "n.example", "--master", "192.0.2.1"),
    ("zone", "add", "example.com", "--ns", "n.example", "--hostmaster", "a@b.example",
     "--rname", "a.b.example"),
    ("zone", "soa", "example.com"),                                  # nothing to change
    ("zone", "soa", "example.com", "--serial", "4294967296"),
    ("zone", "soa", "example.com", "--refresh", "x"),
    ("zone", "soa", "example.com", "--ns", "n.example"),
    ("zone", "ns", "example.com"),
    ("zone", "set", "example.com"),
    ("zone", "set", "example.com", "--kind", "bogus"),
    ("zone", "export"),
    ("zone", "import", "example.com"),
    ("autoprimary", "add", "192.0.2.1"),
    ("autoprimary", "del", "192.0.2.1"),
    ("autoprimary", "list", "x"),
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
    # content is pdns's backend form: no trailing dot, case as given
    assert show["ns"] == ["NS1.example.com", "ns2.example.net"]
    assert show["serial"] == z["serial"] and show["hosts"] == 0
    assert show["masters"] == [] and show["account"] is None and show["transferred"]

    recs = records(ctl, "example.com")
    assert recs[("example.com.", "NS")] == [(7200, "NS1.example.com"), (7200, "ns2.example.net")]
    soa = recs[("example.com.", "SOA")][0][1].split()
    assert soa[:2] == ["ns1.example.com", "first\\.last.example.org"] and len(soa) == 7

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
              ctl.json("host", "add", "b.example.com",
                       "--token", "b-Token-0123456789abcdefg")["token"],
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
    ("NS", "ns.example.net", "ns.example.net"),
    ("NS", "ns.example.net.", "ns.example.net"),
    ("CNAME", "target.example.net.", "target.example.net"),
    ("CNAME", ".", "."),
    ("PTR", "host.example.com", "host.example.com"),
    ("MX", "10 mail.example.com", "10 mail.example.com"),
    ("MX", "10 mail.example.com.", "10 mail.example.com"),
    ("MX", "0 .", "0 ."),
    ("TXT", "v=spf1 -all", '"v=spf1 -all"'),
    ("TXT", '"a b" "c"', '"a b" "c"'),
    ("TXT", '"quote \\" \\065"', '"quote \\" A"'),
    ("TXT", "x" * 300, '"%s" "%s"' % ("x" * 255, "x" * 45)),
    ("SRV", "10 5 5060 sip.example.com.", "10 5 5060 sip.example.com"),
    ("CAA", "0 issue \"letsencrypt.org\"", "0 issue \"letsencrypt.org\""),
    ("CAA", "128 IODEF mailto:x@example.com", "128 IODEF \"mailto:x@example.com\""),
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
    ("A", "1.2.3"), ("A", "01.2.3.4"), ("A", "1.2.3.4 5"), ("A", "::1"), ("A", ""),
    ("AAAA", "1.2.3.4"), ("AAAA", "2001:db8::g"), ("AAAA", "fe80::1%lo"),
    ("CNAME", "a..b"), ("CNAME", "two words"), ("NS", "bad..name"),
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


@pytest.mark.parametrize("rtype", ["SOA", "ANY", "AXFR", "OPT", "TSIG", "FOO", "TYPE0"])
def test_record_bad_type(ctl, zone, rtype):
    line = fail(ctl, "record", "add", "r.example.com", rtype, "x")
    assert "unsupported record type" in line
    if rtype == "SOA":
        assert "zone soa" in line


def test_record_clashes_and_duplicates(ctl, zone):
    ctl.run("record", "add", "c.example.com", "CNAME", "t.example.net")
    assert "CNAME" in fail(ctl, "record", "add", "c.example.com", "A", "192.0.2.1")
    assert "CNAME" in fail(ctl, "record", "add", "c.example.com", "CNAME", "u.example.net")
    ctl.run("record", "add", "a.example.com", "A", "192.0.2.1")
    assert "CNAME" in fail(ctl, "record", "add", "a.example.com", "CNAME", "t.example.net")
    assert "apex" in fail(ctl, "record", "add", "example.com", "CNAME", "t.example.net")
    assert "already exists" in fail(ctl, "record", "add", "a.example.com", "A", "192.0.2.1")
    # the same content with a trailing dot, or without, is the same record
    ctl.run("record", "add", "mx.example.com", "MX", "10 mail.example.net.")
    assert "already exists" in fail(ctl, "record", "add", "mx.example.com", "MX",
                                    "10 mail.example.net")
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
    f.write_text("a.example.com\nb.example.com b-Token-0123456789abcdefg 192.0.2.2\n")
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
    ("keep.example.com Other-Token-0123456789abc", "already exists"),  # another token
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
    assert ctl.json("host", "import", str(f)) == {"tokens": [], "imported": 0, "generated": 0,
                                                 "skipped": 0}
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
        out.write("".join("b%06d.example.com Tok-%06d-aBcDeFgHiJkLmN 10.%d.%d.%d 2001:db8::%x:%x\n"
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
    ("MX", "10 mail.example.com", "10 mail.example.com."),
    ("TXT", "v=spf1 include:_spf.example.net ~all", '"v=spf1 include:_spf.example.net ~all"'),
    ("TXT", '"two" "strings \\"quoted\\" \\233"', '"two" "strings \\"quoted\\" \\233"'),
    ("TXT", "y" * 300, '"%s" "%s"' % ("y" * 255, "y" * 45)),
    ("SRV", "10 5 5060 sip.example.com.", "10 5 5060 sip.example.com."),
    ("CAA", '0 issue "letsencrypt.org"', '0 issue "letsencrypt.org"'),
    ("HINFO", '"PC" "Linux"', '"PC" "Linux"'),
    ("NAPTR", '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .',
     '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .'),
    ("TYPE65280", "\\# 3 abcdef", "\\# 3 abcdef"),
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
    line = usage(ctl, "--tokn=SuperSecretToken1234567", "zone", "list")
    assert "--tokn" in line and "SuperSecret" not in line
    line = usage(ctl, "zone", "list", "--tokn=SuperSecretToken1234567")
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
    f.write_text("d2.example.com 98765432109876543210987654321098 192.0.2.4\n")
    ctl.run("host", "import", str(f))
    assert ctl.json("host", "show", "d2.example.com")["ipv4"] == "192.0.2.4"
    f.write_text("d3.example.com 9876543210.9876543210.98765432109 192.0.2.5 192.0.2.777\n")
    line = ctl.fail("host", "import", str(f))
    assert "192.0.2.777" in line and "9876543210.9876543210.98765432109" not in line
    f.write_text("d4.example.com 1.2.3.999\n")
    line = ctl.fail("host", "import", str(f))
    assert "1.2.3.999" not in line


# ---- schema 2: records belong to a zone ----

@pytest.fixture
def cut(ctl, zone):
    """example.com with the child zone sub.example.com below it."""
    out = ctl.json("zone", "add", "sub.example.com", "--ns", "ns1.sub.example.com",
                   "--ns", "ns2.example.net")
    assert out["delegated_from"] == "example.com."
    return "sub.example.com."


def test_zone_add_delegates_from_parent(ctl, zone, cut):
    """A child zone added below a zone of the store gets its delegation NS
    in the parent too; the child's apex NS set lives in the child."""
    parent, child = records(ctl, zone), records(ctl, cut)
    assert parent[("sub.example.com.", "NS")] == [(3600, "ns1.sub.example.com"),
                                                  (3600, "ns2.example.net")]
    assert child[("sub.example.com.", "NS")] == parent[("sub.example.com.", "NS")]
    assert ("sub.example.com.", "SOA") not in parent
    # a grandchild under a child: delegated from the child, not the top
    out = ctl.json("zone", "add", "deep.sub.example.com", "--ns", "ns.example.net")
    assert out["delegated_from"] == "sub.example.com."
    assert ("deep.sub.example.com.", "NS") in records(ctl, cut)
    assert ("deep.sub.example.com.", "NS") not in records(ctl, zone)
    # a zone whose parent is not in the store: nothing delegated
    out = ctl.json("zone", "add", "example.org", "--ns", "ns.example.net")
    assert out["delegated_from"] is None
    human = ctl.run("zone", "add", "x.example.com", "--ns", "ns.example.net").stdout
    assert "delegation" in human and "example.com." in human


def test_record_zone_defaults_and_cut(ctl, zone, cut):
    """NS, DS and glue of a cut go to the parent (DS by default, the others
    with --zone); records below the apex go to the closest zone."""
    ds = "12345 13 2 " + "ab" * 32
    out = ctl.json("record", "add", "sub.example.com", "DS", ds)
    assert out["zone"] == zone                       # DS at an apex: the parent
    out = ctl.json("record", "add", "ns1.sub.example.com", "A", "192.0.2.53", "--zone", zone)
    assert out["zone"] == zone                       # glue, explicitly in the parent
    out = ctl.json("record", "add", "ns1.sub.example.com", "A", "192.0.2.53")
    assert out["zone"] == cut                        # the child's own address record
    out = ctl.json("record", "add", "www.sub.example.com", "AAAA", "2001:db8::80")
    assert out["zone"] == cut
    ctl.run("record", "add", "sub.example.com", "NS", "ns3.example.net")  # child apex NS

    parent, child = records(ctl, zone), records(ctl, cut)
    assert parent[("sub.example.com.", "DS")] == [(3600, ds)]
    assert parent[("ns1.sub.example.com.", "A")] == [(3600, "192.0.2.53")]
    assert [c for _, c in parent[("sub.example.com.", "NS")]] == \
        ["ns1.sub.example.com", "ns2.example.net"]
    assert ("www.sub.example.com.", "AAAA") not in parent
    assert ("sub.example.com.", "DS") not in child
    assert [c for _, c in child[("sub.example.com.", "NS")]] == \
        ["ns1.sub.example.com", "ns2.example.net", "ns3.example.net"]
    assert child[("ns1.sub.example.com.", "A")] == [(3600, "192.0.2.53")]
    assert child[("www.sub.example.com.", "AAAA")] == [(3600, "2001:db8::80")]

    # del follows the same rule: the DS goes from the parent
    ctl.run("record", "del", "sub.example.com", "DS")
    assert ("sub.example.com.", "DS") not in records(ctl, zone)
    ctl.run("record", "del", "ns1.sub.example.com", "A", "--zone", zone)
    assert ("ns1.sub.example.com.", "A") not in records(ctl, zone)
    assert ("ns1.sub.example.com.", "A") in records(ctl, cut)

    # --zone errors
    line = fail(ctl, "record", "add", "www.example.com", "A", "192.0.2.1", "--zone", cut)
    assert "not in zone sub.example.com." in line and "outside every zone" in line
    line = fail(ctl, "record", "add", "www.example.com", "A", "192.0.2.1",
                "--zone", "nope.example.com")
    assert "not in zone" in line
    line = fail(ctl, "record", "add", "a.nope.example.com", "A", "192.0.2.1",
                "--zone", "nope.example.com")
    assert "nope.example.com." in line and "not found" in line
    # a DS at the apex of a top zone has no parent in the store
    line = fail(ctl, "record", "add", "example.com", "DS", ds)
    assert "parent zone" in line


def test_record_content_words_and_case(ctl, zone):
    """CONTENT may come as several words; names keep their case (pdns's
    backend form) and lose the trailing dot."""
    out = ctl.json("record", "add", "w.example.com", "MX", "20", "Mail.Example.NET.")
    assert out["content"] == "20 Mail.Example.NET"
    assert records(ctl, zone)[("w.example.com.", "MX")] == [(3600, "20 Mail.Example.NET")]
    p = ctl.run("record", "add", "w.example.com", "TXT", "two", "words")
    assert '"two words"' in p.stdout and "zone example.com." in p.stdout


def test_host_owned_addresses(ctl, zone):
    """A and AAAA at a host's name belong to the host: the store refuses
    static ones, and the CLI says why in one line."""
    ctl.run("host", "add", "dyn.example.com", "--ipv4", "192.0.2.10")
    for args in (("record", "add", "dyn.example.com", "A", "192.0.2.11"),
                 ("record", "add", "dyn.example.com", "AAAA", "2001:db8::11"),
                 ("record", "del", "dyn.example.com", "A", "192.0.2.10"),
                 ("record", "del", "dyn.example.com", "A")):
        line = fail(ctl, *args)
        assert "dynamic host" in line and "belong to the host" in line, line
    assert records(ctl, zone)[("dyn.example.com.", "A")] == [(60, "192.0.2.10")]
    # other types at a host are fine
    ctl.run("record", "add", "dyn.example.com", "TXT", "hello")
    ctl.run("record", "add", "dyn.example.com", "MX", "10 dyn.example.com")
    assert "clash" in fail(ctl, "record", "add", "dyn.example.com", "CNAME", "x.example.net")


@pytest.mark.parametrize("rtype,content", [("A", "192.0.2.1"), ("AAAA", "2001:db8::1"),
                                           ("CNAME", "t.example.net")])
def test_host_refused_at_static_addresses(ctl, zone, rtype, content):
    ctl.run("record", "add", "st.example.com", rtype, content)
    line = fail(ctl, "host", "add", "st.example.com")
    assert "static %s record" % rtype in line and "zone example.com." in line, line
    fail(ctl, "host", "show", "st.example.com")
    ctl.run("record", "del", "st.example.com", rtype)
    ctl.run("host", "add", "st.example.com")


def test_zone_refused_at_a_host(ctl, zone):
    ctl.run("host", "add", "h.example.com")
    line = fail(ctl, "zone", "add", "h.example.com", "--ns", "ns.example.net")
    assert "dynamic host" in line and "delete the host first" in line
    # a zone that would cut a host of the parent off is refused too
    ctl.run("host", "add", "a.b.example.com")
    line = fail(ctl, "zone", "add", "b.example.com", "--ns", "ns.example.net")
    assert "a.b.example.com." in line and "cut off" in line
    assert [z["zone"] for z in ctl.json("zone", "list")] == [zone]


def test_host_show_prints_zone(ctl, zone, cut):
    ctl.run("host", "add", "h.sub.example.com")
    h = ctl.json("host", "show", "h.sub.example.com")
    assert h["zone"] == cut and h["zone_id"] == ctl.json("zone", "show", cut)["id"]
    assert re.search(r"^zone\s+sub\.example\.com\.$", ctl.run("host", "show",
                     "h.sub.example.com").stdout, re.M)


# ---- zone soa / ns / set ----

def test_zone_soa(ctl, zone):
    z0 = ctl.json("zone", "show", zone)
    out = ctl.json("zone", "soa", zone, "--refresh", "7200", "--retry", "900",
                   "--expire", "1209600", "--minimum", "300", "--ttl", "600",
                   "--mname", "NS2.example.net.", "--hostmaster", "dns.admin@example.org")
    assert (out["refresh"], out["retry"], out["expire"], out["minimum"], out["ttl"]) == \
        (7200, 900, 1209600, 300, 600)
    assert out["mname"] == "ns2.example.net." and out["rname"] == "dns\\.admin.example.org."
    assert out["changed"] and out["serial"] != z0["serial"]     # a change bumps the serial
    soa = records(ctl, zone)[("example.com.", "SOA")]
    assert soa == [(600, "ns2.example.net dns\\.admin.example.org %d 7200 900 1209600 300"
                    % out["serial"])]
    # --rname takes the name itself
    assert ctl.json("zone", "soa", zone, "--rname", "hm.example.org")["rname"] == "hm.example.org."
    # a YYYYMMDDnn serial ahead of the clock is kept as written
    out = ctl.json("zone", "soa", zone, "--serial", "2026112801")
    assert out["serial"] == 2026112801
    # and keeps counting from there on the next change
    ctl.run("record", "add", "n.example.com", "A", "192.0.2.1")
    assert serial(ctl, zone) == 2026112802
    # a serial behind the current one is refused: the store would bump it
    line = fail(ctl, "zone", "soa", zone, "--serial", "2026112800")
    assert "not ahead" in line and "2026112802" in line and "bump" in line
    assert serial(ctl, zone) == 2026112802
    # 2^31 or more ahead is behind in RFC 1982 terms
    line = fail(ctl, "zone", "soa", zone, "--serial", str(2026112802 + 2 ** 31))
    assert "not ahead" in line
    # RFC 1982: wrapping forward is ahead
    assert ctl.json("zone", "soa", zone, "--serial", "4000000000")["serial"] == 4000000000
    assert ctl.json("zone", "soa", zone, "--serial", "5")["serial"] == 5
    # the same values again: nothing changes, no bump
    p = ctl.run("zone", "soa", zone, "--serial", "5", "--refresh", "7200")
    assert p.stdout.startswith("unchanged example.com. SOA ") and serial(ctl, zone) == 5
    assert "invalid domain name" in fail(ctl, "zone", "soa", zone, "--mname", "a..b")
    assert "invalid domain name" in fail(ctl, "zone", "soa", zone, "--hostmaster", "x@")
    assert "not found" in fail(ctl, "zone", "soa", "nope.example", "--ttl", "5")


def test_zone_ns(ctl, zone, cut):
    out = ctl.json("zone", "ns", cut, "ns5.example.net.", "ns6.example.net")
    assert out["ns"] == ["ns5.example.net", "ns6.example.net"]
    assert out["delegation_in"] == zone
    assert [c for _, c in records(ctl, cut)[(cut, "NS")]] == ["ns5.example.net", "ns6.example.net"]
    assert [c for _, c in records(ctl, zone)[(cut, "NS")]] == ["ns5.example.net", "ns6.example.net"]
    s = serial(ctl, zone)
    ctl.run("zone", "ns", zone, "ns1.example.com", "--ttl", "86400")
    assert records(ctl, zone)[(zone, "NS")] == [(86400, "ns1.example.com")]
    assert serial(ctl, zone) != s
    p = ctl.run("zone", "ns", zone, "a.example.net", "b.example.net")
    assert p.stdout.startswith("zone example.com. NS: a.example.net b.example.net")
    assert "invalid domain name" in fail(ctl, "zone", "ns", zone, "ok.example.net", "bad..name")
    assert records(ctl, zone)[(zone, "NS")] == [(86400, "a.example.net"), (86400, "b.example.net")]
    assert "not found" in fail(ctl, "zone", "ns", "nope.example", "ns.example.net")


def test_master_zone_shows_last_notified(ctl, zone):
    # a master zone's last_check is the time of its last NOTIFY round
    # (setNotified), which --notify-min-interval counts from
    ctl.run("zone", "add", "prim.example", "--kind", "master", "--ns", "ns1.example.net")
    human = ctl.run("zone", "show", "prim.example").stdout
    assert re.search(r"^last notified\s+-$", human, re.M)
    assert not re.search(r"^last check", human, re.M)


def test_slave_zone_and_zone_set(ctl, zone):
    out = ctl.json("zone", "add", "sec.example", "--kind", "secondary", "--master", "192.0.2.1",
                   "--master", "192.0.2.2:5300", "--master", "2001:DB8::1",
                   "--master", "[2001:db8::2]:53", "--account", "ops")
    assert out["kind"] == "slave" and not out["transferred"]
    assert out["masters"] == ["192.0.2.1", "192.0.2.2:5300", "2001:db8::1", "[2001:db8::2]:53"]
    assert out["account"] == "ops" and out["last_check"] == 0
    # no SOA until the first transfer: nothing to list or export
    assert ctl.json("record", "list", "sec.example") == []
    assert "never transferred" in fail(ctl, "zone", "export", "sec.example")
    human = ctl.run("zone", "show", "sec.example").stdout
    assert re.search(r"^masters\s+192\.0\.2\.1 192\.0\.2\.2:5300", human, re.M)
    assert re.search(r"^last check\s+-$", human, re.M)
    assert re.search(r"^account\s+ops$", human, re.M)
    assert "not transferred" in human
    # a slave's SOA and NS come from its primary
    assert "slave" in fail(ctl, "zone", "soa", "sec.example", "--ttl", "60")
    assert "slave" in fail(ctl, "zone", "ns", "sec.example", "ns.example.net")

    out = ctl.json("zone", "set", "sec.example", "--master", "198.51.100.1", "--account", "")
    assert out["masters"] == ["198.51.100.1"] and out["account"] is None
    out = ctl.json("zone", "set", zone, "--kind", "master", "--account", "team")
    assert out["kind"] == "master" and out["account"] == "team"
    line = fail(ctl, "zone", "set", zone, "--kind", "slave")
    assert "--master" in line
    line = fail(ctl, "zone", "set", "sec.example", "--kind", "native")
    assert "never transferred" in line
    assert ctl.json("zone", "show", "sec.example")["kind"] == "slave"
    assert ctl.json("zone", "show", zone)["kind"] == "master"

    for bad in ("192.0.2", "192.0.2.1:0", "192.0.2.1:65536", "[192.0.2.1]:53", "[::1",
                "::1:53x", "host.example:53"):
        line = fail(ctl, "zone", "add", "bad.example", "--kind", "slave", "--master", bad)
        assert "--master" in line or "port" in line, line
    assert "bad.example." not in [z["zone"] for z in ctl.json("zone", "list")]


# ---- autoprimaries ----

def test_autoprimary(ctl, zone):
    assert ctl.json("autoprimary", "list") == []
    ctl.run("autoprimary", "add", "192.0.2.1", "ns1.example.net.", "acct")
    ctl.run("autoprimary", "add", "2001:DB8::1", "ns2.example.net")
    got = ctl.json("autoprimary", "list")
    assert {(a["ip"], a["nameserver"], a["account"]) for a in got} == \
        {("192.0.2.1", "ns1.example.net.", "acct"), ("2001:db8::1", "ns2.example.net.", None)}
    # re-adding replaces the account
    ctl.run("autoprimary", "add", "192.0.2.1", "ns1.example.net", "other")
    assert [a["account"] for a in ctl.json("autoprimary", "list")
            if a["ip"] == "192.0.2.1"] == ["other"]
    human = ctl.run("autoprimary", "list").stdout.splitlines()
    assert human[0].split() == ["IP", "NAMESERVER", "ACCOUNT"] and len(human) == 3
    ctl.run("autoprimary", "del", "192.0.2.1", "ns1.example.net")
    assert [a["ip"] for a in ctl.json("autoprimary", "list")] == ["2001:db8::1"]
    assert "not found" in fail(ctl, "autoprimary", "del", "192.0.2.1", "ns1.example.net")
    assert "invalid address" in fail(ctl, "autoprimary", "add", "192.0.2", "ns.example.net")
    assert "invalid domain name" in fail(ctl, "autoprimary", "add", "192.0.2.1", "a..b")


# ---- zone export / import, and pdns ----

def test_zone_export_format(ctl, zone):
    ctl.run("zone", "soa", zone, "--serial", "2026112801")
    ctl.run("record", "add", "www.example.com", "CNAME", "Target.example.net")
    ctl.run("record", "add", "example.com", "MX", "10 mail.example.com")
    ctl.run("record", "add", "_sip._udp.example.com", "SRV", "0 5 5060 sip.example.com")
    ctl.run("record", "add", "t.example.com", "TXT", '"a b" "c"')
    ctl.run("record", "add", "e.example.com", "MX", "0 .")
    ctl.run("record", "add", "r.example.com", "TYPE65280", "\\# 2 abcd")
    lines = ctl.run("zone", "export", zone).stdout.splitlines()
    soa = [l for l in lines if "\tSOA\t" in l]
    assert lines[0] == soa[0]
    f = lines[0].split("\t")
    assert f[:4] == ["example.com.", "3600", "IN", "SOA"]
    assert f[4].split()[:3] == ["ns1.example.com.", "hostmaster.example.com.",
                                str(serial(ctl, zone))]
    assert "www.example.com.\t3600\tIN\tCNAME\tTarget.example.net." in lines
    assert "example.com.\t3600\tIN\tMX\t10 mail.example.com." in lines
    assert "example.com.\t3600\tIN\tNS\tns1.example.com." in lines
    assert "_sip._udp.example.com.\t3600\tIN\tSRV\t0 5 5060 sip.example.com." in lines
    assert 't.example.com.\t3600\tIN\tTXT\t"a b" "c"' in lines
    assert "e.example.com.\t3600\tIN\tMX\t0 ." in lines
    assert "r.example.com.\t3600\tIN\tTYPE65280\t\\# 2 abcd" in lines
    assert all(len(l.split("\t")) == 5 for l in lines)
    assert "not found" in fail(ctl, "zone", "export", "nope.example")
    assert "--json" in usage(ctl, "--json", "zone", "export", zone)


ROUNDTRIP = [
    ("www", "CNAME", "target.example.net."),
    ("@", "MX", "10 mail.example.com."),
    ("mail", "A", "192.0.2.25"),
    ("mail", "AAAA", "2001:db8::25"),
    ("_sip._udp", "SRV", "0 5 5060 sip.example.com."),
    ("t", "TXT", '"hello world" "second"'),
    ("@", "CAA", '0 issue "letsencrypt.org"'),
    ("hinfo", "HINFO", '"PC" "Linux"'),
    ("rp", "RP", "admin.example.com. txt.example.com."),
    ("loc", "LOC", "51 30 12.748 N 0 7 39.612 W 0.00m 1m 10000m 10m"),
    ("naptr", "NAPTR", '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .'),
    ("sv", "HTTPS", "1 . alpn=h2"),
    ("dn", "DNAME", "example.net."),
    ("sub", "DS", "12345 13 2 " + "ab" * 32),
    ("ns1.sub", "A", "192.0.2.53"),
    ("u", "TYPE65280", "\\# 2 abcd"),
    ("rt", "TYPE21", "\\# 4 000a0000"),      # RT: no pdns parser, RFC 3597 only
    ("afsdb", "AFSDB", "1 afs.example.net."),
    ("spf", "SPF", '"v=spf1 -all"'),
    ("uri", "URI", '10 1 "https://example.com/"'),
]

# Names in these types' content: pdns 4.7's zone parser strips the trailing
# dot only for MX RP SRV NS CNAME DNAME PTR AFSDB SOA (zoneparser-tng.cc)
# and feeds the others verbatim, so the backend must normalize them.
ROUNDTRIP_VERBATIM = [
    ("kx", "KX", "10 kx.example.net."),
    ("minfo", "MINFO", "rm.example.net. em.example.net."),
    ("svcb", "SVCB", "1 svc.example.net. alpn=h2"),
    ("mb", "MB", "mb.example.net."),
    ("lp", "LP", "10 lp.example.net."),
    ("ns1.sub", "A", "192.0.2.53"),
]


def _zone_rows(ctl, zone):
    """The zone as a set of (name, type, ttl, content), SOA without serial."""
    rows = set()
    for r in ctl.json("record", "list", zone):
        c = r["content"]
        if r["type"] == "SOA":
            c = " ".join(c.split()[:2] + c.split()[3:])
        rows.add((r["name"], r["type"], r["ttl"], c))
    return rows


def test_zone_export_loads_with_pdnsutil(ctl, zone, store, tmp_path):
    """kyednsctl's export is a zone file pdns parses: pdnsutil load-zone of
    it through a real pdns + kyedns-backend gives back the same zone, its
    serial bumped (the hosts' addresses survive the replace), and it equals
    pdns's own export of the zone (the API's /export)."""
    _export_roundtrip(ctl, zone, store, tmp_path, ROUNDTRIP)


def test_zone_export_loads_names_fed_verbatim(ctl, zone, store, tmp_path):
    _export_roundtrip(ctl, zone, store, tmp_path, ROUNDTRIP_VERBATIM)


def _export_roundtrip(ctl, zone, store, tmp_path, rows):
    from backend_util import start_stack
    import urllib.request
    ctl.run("zone", "soa", zone, "--serial", "2026112801", "--refresh", "7200")
    ctl.run("zone", "add", "sub.example.com", "--ns", "ns1.sub.example.com")
    for owner, rtype, content in rows:
        name = zone if owner == "@" else "%s.%s" % (owner, zone)
        args = ["record", "add", name, rtype, content]
        if owner.startswith("sub") or owner == "ns1.sub":
            args += ["--zone", zone]
        ctl.run(*args)
    ctl.run("host", "add", "dyn.example.com", "--ipv4", "198.51.100.7")
    before = _zone_rows(ctl, zone)
    s0 = serial(ctl, zone)
    export = ctl.run("zone", "export", zone).stdout
    f = tmp_path / "example.com.zone"
    f.write_text(export)
    stack = start_stack(tmp_path, store, settings={"remote-dnssec": "yes"})
    try:
        req = urllib.request.Request(stack.api_url + "/api/v1/servers/localhost/zones/%s/export"
                                     % zone, headers={"X-API-Key": stack.api_key})
        theirs = urllib.request.urlopen(req, timeout=10).read().decode()
        assert sorted(theirs.splitlines()) == sorted(export.splitlines())
        # the export plus one record: proof that the load replaced the zone
        f.write_text(export + "added.example.com.\t300\tIN\tA\t192.0.2.200\n")
        stack.pdnsutil("load-zone", zone, str(f))
        check = stack.pdnsutil("check-zone", zone, check=False)
        assert "Checked" in check and " 0 errors" in check, check
        assert " 0 warnings" in check and "\n[" not in check, check
        # a whole-zone replace: every record back, and the host's address kept
        after = _zone_rows(ctl, zone)
        assert after - before == {("added.example.com.", "A", 300, "192.0.2.200")}
        assert before - after == set(), stack.backend.log_text()[-3000:]
        # the file's serial is the current one, not ahead: the store bumps it
        # (old + 1, since the YYYYMMDDnn serial is ahead of the clock)
        assert serial(ctl, zone) == s0 + 1
        assert ctl.json("host", "show", "dyn.example.com")["ipv4"] == "198.51.100.7"
        if ("www", "CNAME", "target.example.net.") in rows:
            r = stack.query("www.example.com.", "CNAME")
            assert [rd.to_text() for rrset in r.answer for rd in rrset] == ["target.example.net."]
    finally:
        stack.stop()


def test_zone_import_runs_pdnsutil(ctl, zone, store, tmp_path):
    """zone import is a thin wrapper of pdnsutil load-zone; without
    pdnsutil it says what it needs, and it checks the zone first."""
    f = tmp_path / "in.zone"
    f.write_text("example.com. 3600 IN SOA ns1.example.com. hm.example.com. 2026112805 "
                 "10800 3600 604800 60\n"
                 "example.com. 3600 IN NS ns1.example.com.\n"
                 "imported.example.com. 300 IN A 192.0.2.99\n")
    p = ctl.run("zone", "import", zone, str(f), env={"PATH": str(tmp_path / "empty")},
                check=False)
    assert p.returncode == 1 and "pdnsutil" in p.stderr and "--config-dir" in p.stderr
    assert "not found" in fail(ctl, "zone", "import", "nope.example", str(f))
    assert "not found" in fail(ctl, "zone", "import", zone, str(tmp_path / "missing.zone"))
    ctl.run("host", "add", "dyn.example.com", "--ipv4", "198.51.100.7")
    from backend_util import start_stack
    stack = start_stack(tmp_path, store)
    try:
        p = ctl.run("zone", "import", zone, str(f), "--config-dir", stack.pdns.dir,
                    env={"PATH": "/usr/bin:/usr/sbin:/bin"}, check=False)
        assert p.returncode == 0, (p.stdout, p.stderr, stack.backend.log_text()[-2000:])
        assert "imported example.com. SOA ns1.example.com hm.example.com 2026112805" in p.stdout
        recs = records(ctl, zone)
        assert recs[("imported.example.com.", "A")] == [(300, "192.0.2.99")]
        assert recs[("example.com.", "NS")] == [(3600, "ns1.example.com")]
        assert recs[("dyn.example.com.", "A")] == [(60, "198.51.100.7")]  # the host's, kept
        f.write_text("example.com. 3600 IN SOA broken\n")
        p = ctl.run("zone", "import", zone, str(f), "--config-dir", stack.pdns.dir,
                    env={"PATH": "/usr/bin:/usr/sbin:/bin"}, check=False)
        assert p.returncode == 1 and "pdnsutil load-zone" in p.stderr.strip().splitlines()[-1]
        assert records(ctl, zone)[("imported.example.com.", "A")] == [(300, "192.0.2.99")]
    finally:
        stack.stop()


def test_new_zone_served_after_hint(ctl, zone, store, tmp_path):
    """A zone added while pdns runs is REFUSED until pdns's zone cache is
    refreshed; the commands zone add prints make it answer at once, also
    when a REFUSED answer sits in pdns's packet cache already."""
    from backend_util import start_stack
    stack = start_stack(tmp_path, store, settings={"zone-cache-refresh-interval": 3600,
                                                   "cache-ttl": 60})
    try:
        assert stack.query("example.com.", "SOA").rcode() == 0
        p = ctl.run("zone", "add", "new.example", "--ns", "ns1.new.example")
        hints = re.findall(r"run: (pdns_control .+)$", p.stdout, re.M)
        assert hints == ["pdns_control rediscover", "pdns_control purge 'new.example.$'"]
        j = ctl.json("zone", "add", "json.example", "--ns", "ns1.new.example")
        assert j["serve_now"] == hints[0] and j["purge"] == "pdns_control purge 'json.example.$'"
        assert stack.query("new.example.", "SOA").rcode() == dns.rcode.REFUSED  # now cached
        stack.control("rediscover")
        stack.control("purge", "new.example.$")
        r = stack.query("new.example.", "SOA")
        assert r.rcode() == 0 and r.answer and r.answer[0][0].mname.to_text() == "ns1.new.example."
        # rediscover alone serves a zone nobody asked for yet
        assert stack.query("json.example.", "SOA").rcode() == 0
    finally:
        stack.stop()


def test_read_command_migrates_schema1_store(ctl, store):
    """A schema-1 store (tests/data/store-v1.dump, written by the schema-1
    code) is migrated by the first kyednsctl command, even a read one, and
    then reads as schema 2: the delegation in the parent, content without
    trailing dots, hosts in their zone."""
    from conftest import ROOT
    os.makedirs(store)
    with open(os.path.join(ROOT, "tests", "data", "store-v1.dump")) as f:
        subprocess.run(["mdb_load", store], stdin=f, check=True, capture_output=True)
    assert sorted(z["zone"] for z in ctl.json("zone", "list")) == \
        ["dyn.example.test.", "example.test.", "other.test."]
    parent = records(ctl, "example.test")
    assert ("dyn.example.test.", "NS") in parent            # the delegation, copied
    assert parent[("example.test.", "MX")] == [(3600, "10 mx.example.test")]
    assert ("home.dyn.example.test.", "A") not in parent
    child = records(ctl, "dyn.example.test")
    assert child[("home.dyn.example.test.", "A")] == [(60, "203.0.113.5")]
    assert ctl.json("host", "show", "home.dyn.example.test")["zone"] == "dyn.example.test."


# ---- hardening (issue 10: items 6, 7, 12, 15) ----

def test_host_refused_at_infrastructure(ctl, zone, tmp_path):
    """Item 6: a host's token writes the A/AAAA at its name, so no host may
    take a name server name, a name below a zone cut (glue), or a name with
    any static record; and a zone may not be added over a host."""
    ctl.run("record", "add", "mx.example.com", "MX", "10 mail.example.net.")
    ctl.run("record", "add", "txt.example.com", "TXT", "hello")
    ctl.run("record", "add", "sub.example.com", "NS", "ns.sub.example.com.")
    ctl.run("zone", "add", "child.example.com", "--ns", "ns1.example.com")
    ctl.run("zone", "ns", "example.com", "ns1.example.com", "ns2.example.net",
            "ns.child.example.com")
    for name, want in [("ns1.example.com", "name server (NS) of zone example.com."),
                       ("NS1.Example.COM.", "name server (NS) of zone example.com."),
                       ("ns.child.example.com", "name server (NS) of zone example.com."),
                       ("ns.sub.example.com", "delegation sub.example.com."),
                       ("a.ns.sub.example.com", "delegation sub.example.com."),
                       ("sub.example.com", "static NS record"),
                       ("mx.example.com", "static MX record"),
                       ("txt.example.com", "static TXT record")]:
        line = fail(ctl, "host", "add", name, "--ipv4", "192.0.2.66")
        assert want in line and "(record clashes" in line, line
        fail(ctl, "host", "show", name)
        f = tmp_path / "hosts.txt"
        f.write_text("ok.example.com\n%s\n" % name)
        line = fail(ctl, "host", "import", str(f))
        assert line.startswith("kyednsctl: %s:2: " % f) and want in line, line
    assert ctl.json("host", "list") == []
    assert records(ctl, zone).get(("ns1.example.com.", "A")) is None
    # the same names are fine once they are not infrastructure
    ctl.run("zone", "ns", "example.com", "ns2.example.net")
    ctl.run("host", "add", "ns1.example.com")
    # zone add over an existing host is refused, the host stays
    ctl.run("host", "add", "home.example.com", "--ipv4", "192.0.2.7")
    assert "home.example.com" in fail(ctl, "zone", "add", "home.example.com", "--ns",
                                      "ns2.example.net")
    assert ctl.json("host", "show", "home.example.com")["zone"] == "example.com."
    assert "home.example.com." not in [z["zone"] for z in ctl.json("zone", "list")]


@pytest.mark.parametrize("token", ["t" * 24, "abababababababababababab",
                                   "abcdefghijklmnopqrst", "98765432109876543210999",
                                   "password-password-password"])
def test_weak_token_refused(ctl, zone, tmp_path, token):
    """Item 7: a token a person picks must look random (token_check_strength);
    a weak one is refused with its own reason, by host add and by import,
    and never echoed."""
    line = fail(ctl, "host", "add", "w.example.com", "--token", token)
    assert "too easy to guess" in line and token not in line, line
    fail(ctl, "host", "show", "w.example.com")
    f = tmp_path / "hosts.txt"
    f.write_text("ok.example.com\nw.example.com %s 192.0.2.1\n" % token)
    p = ctl.run("host", "import", str(f), check=False)
    assert p.returncode == 1 and p.stdout == "", p.stdout
    assert p.stderr.startswith("kyednsctl: %s:2: bad token for host w.example.com." % f)
    assert "too easy to guess" in p.stderr and token not in p.stderr
    assert ctl.json("host", "list") == []
    # a strong pick is taken as it is
    strong = "w-Token-0123456789abcdefg"
    assert ctl.json("host", "add", "w.example.com", "--token", strong)["token"] == strong


def _import_killed(ctl, f, out, sig, delay):
    """Starts `host import f` with stdout to the file out and sends sig
    after delay seconds (unless it finished); returns the exit status."""
    import signal
    import time
    with open(out, "w") as o:
        p = subprocess.Popen([ctl.path, "--db", ctl.db, "host", "import", str(f)],
                             stdout=o, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(sig)
        return p.wait(timeout=60)


def _tokens(path):
    """{host: token} of the "FQDN TOKEN" lines of an import's output; the
    last line of a host wins."""
    toks = {}
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # cut by the kill: its batch had not committed
            if line.startswith("#") or not line.strip():
                continue
            name, tok = line.split()
            toks[name] = tok
    return toks


@pytest.mark.parametrize("signame", ["SIGKILL", "SIGHUP"])
def test_import_interrupted_loses_no_token(ctl, zone, tmp_path, signame):
    """Item 12: kyednsctl killed at random points of a big import with
    generated tokens.  Every host in the store must have its token in the
    output (printed before its batch commits), and rerunning the same file
    must finish the import: hosts already in are skipped and reported.  The
    tokens are then checked against the store by importing them: a host
    whose token differs is refused, one that matches is skipped."""
    import random
    import signal
    import time
    n = 300000
    f = tmp_path / "hosts.txt"
    f.write_text("".join("g%06d.example.com\n" % i for i in range(n)))
    # how long an uninterrupted import takes here
    t0 = time.monotonic()
    ctl.run("host", "import", str(f))
    full = time.monotonic() - t0
    seed = random.randrange(1 << 30)
    rnd = random.Random(seed)
    sig = getattr(signal, signame)
    killed = lost = 0
    for rnd_i in range(5):
        ctl.run("zone", "del", "example.com")
        ctl.run("zone", "add", "example.com", "--ns", "ns1.example.com")
        out1, out2 = tmp_path / "out1.txt", tmp_path / "out2.txt"
        rc = _import_killed(ctl, f, out1, sig, rnd.uniform(0.01, full))
        killed += rc < 0
        printed = _tokens(out1)
        stored = {h["host"] for h in ctl.json("host", "list")}
        lost += len(stored - set(printed))
        # the rerun finishes the import
        p = subprocess.run([ctl.path, "--db", ctl.db, "host", "import", str(f)],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, "seed %d round %d: rerun failed: %s" % (seed, rnd_i, p.stderr)
        skipped = {l.split()[2].rstrip(":") for l in p.stdout.splitlines()
                   if l.startswith("# skipped ")}
        assert skipped == stored, "seed %d: rerun must skip exactly the hosts already in" % seed
        assert "%d skipped" % len(stored) in p.stdout.splitlines()[-1]
        with open(out2, "w") as o:
            o.write(p.stdout)
        final = dict(printed)
        final.update(_tokens(out2))
        assert len(ctl.json("host", "list")) == n
        # every host's last printed token is its token in the store
        check = tmp_path / "check.txt"
        check.write_text("".join("%s %s\n" % kv for kv in sorted(final.items())))
        out = ctl.json("host", "import", str(check))
        assert out["imported"] == 0 and out["skipped"] == n, out
    assert lost == 0, "seed %d: %d hosts committed without a printed token" % (seed, lost)
    assert killed >= 1, "no run was interrupted (full import %.2fs)" % full


def test_import_rerun_refuses_another_token(ctl, zone, tmp_path):
    """Item 12: the rerun skips a host only when the file agrees with it."""
    tok = "keep-Token-0123456789abcd"
    f = tmp_path / "hosts.txt"
    f.write_text("a.example.com %s 192.0.2.1\nb.example.com\n" % tok)
    first = ctl.json("host", "import", str(f))
    assert first["imported"] == 2 and first["skipped"] == 0
    again = ctl.json("host", "import", str(f))
    assert again == {"tokens": [], "imported": 0, "generated": 0, "skipped": 2}
    f.write_text("a.example.com Other-Token-0123456789abc\nc.example.com\n")
    line = fail(ctl, "host", "import", str(f))
    assert "a.example.com. already exists with another token" in line and "Other" not in line
    fail(ctl, "host", "show", "c.example.com")


NOBODY = 65534


def _as_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


@pytest.fixture
def shared_dir():
    """A directory under /tmp that user nobody can reach (pytest's tmp_path
    is private to root)."""
    import shutil
    import tempfile
    if os.geteuid() != 0:
        pytest.skip("needs root: runs kyednsctl as root and as nobody")
    d = tempfile.mkdtemp(prefix="kyedns-own-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_root_commands_keep_the_store_owner(shared_dir):
    """Item 15: root running kyednsctl on a store owned by the service user
    must not create files as root: the service user (here nobody, standing
    in for the daemons) must still open the store afterwards."""
    db = os.path.join(shared_dir, "db")
    os.makedirs(db)
    os.chown(db, NOBODY, NOBODY)
    ctl = Ctl(db)
    ctl.run("zone", "add", "example.com", "--ns", "ns1.example.com")  # as root
    for name in ("data.mdb", "lock.mdb"):
        assert os.stat(os.path.join(db, name)).st_uid == NOBODY, name
    for args in (("zone", "list"), ("host", "add", "h.example.com")):
        os.unlink(os.path.join(db, "lock.mdb"))  # e.g. a store copied in
        ctl.run(*args)                         # root: a read, then a write
        st = os.stat(os.path.join(db, "lock.mdb"))
        assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY), args
        p = subprocess.run([ctl.path, "--db", db, "host", "add", "n%d.example.com" % len(args)],
                           capture_output=True, text=True, preexec_fn=_as_nobody)
        assert p.returncode == 0, "the store's owner is locked out: %s" % p.stderr
    assert len(ctl.json("host", "list")) == 3


def test_permission_denied_is_not_no_store(shared_dir):
    """Item 15: a store the user may not look into is "permission denied"."""
    db = os.path.join(shared_dir, "db")
    Ctl(db).run("zone", "add", "example.com", "--ns", "ns1.example.com")
    os.chmod(db, 0o700)  # root's, private
    for args in (("zone", "list"), ("host", "list"), ("host", "add", "h.example.com")):
        p = subprocess.run([binary("kyednsctl"), "--db", db] + list(args),
                           capture_output=True, text=True, preexec_fn=_as_nobody)
        assert p.returncode == 1, p.stderr
        assert p.stderr == "kyednsctl: cannot open store %s (permission denied)\n" % db, p.stderr


@pytest.mark.parametrize("args", [
    ("host", "add", "h.example.com"),
    ("host", "token", "h.example.com"),
    ("host", "del", "h.example.com"),
    ("host", "import", "HOSTS"),
    ("record", "add", "www.example.com", "A", "192.0.2.1"),
    ("record", "del", "www.example.com", "A"),
    ("zone", "del", "example.com"),
    ("zone", "soa", "example.com", "--serial", "5"),
    ("zone", "ns", "example.com", "ns1.example.com"),
    ("zone", "set", "example.com", "--account", "x"),
    ("autoprimary", "del", "192.0.2.1", "ns.example.net"),
    ("host", "list"),
    ("zone", "list"),
])
def test_mistyped_db_leaves_nothing(tmp_path, args):
    """Item 15: only the commands that create zones create a store; any
    other one on a mistyped --db fails and leaves no directory behind."""
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("h.example.com\n")
    db = tmp_path / "typo"
    ctl = Ctl(str(db))
    line = ctl.fail(*[str(hosts) if a == "HOSTS" else a for a in args])
    assert line == "kyednsctl: no store in %s; create it with zone add (not found)" % db, line
    assert not db.exists()
    ctl.run("zone", "add", "example.com", "--ns", "ns1.example.com")
    assert (db / "data.mdb").exists()
