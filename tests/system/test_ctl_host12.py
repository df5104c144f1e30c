"""kyednsctl's host options, history, ACME listing and named tokens, end to end.

Every test runs the real kyednsctl on its own temporary store.  The
history, the scoped tokens and the ACME values are also driven through the
real kyedns-updater (curl over loopback), which is what writes them in
production: what kyednsctl lists must be what a client did, and a token
kyednsctl adds or revokes must be one the updater accepts or refuses.
"""
import datetime
import json
import re
import time

import pytest

from conftest import Ctl
from test_ctl import TOKEN_RE, fail, usage
from updater_util import Updater, curl

HOST = "h.example.com"
FQDN = HOST + "."
STRONG = "Str0ng-Token-0123456789abcdefXYZ"
STRONG2 = "An0ther-Token-9876543210zyxwvuQ"
NEW_COMMANDS = [["host", "set"], ["host", "history"], ["host", "acme"],
                ["token", "add"], ["token", "list"], ["token", "revoke"]]


@pytest.fixture
def zone(ctl):
    ctl.run("zone", "add", "example.com", "--ns", "ns1.example.com", "--ns", "ns2.example.net")
    return "example.com."


@pytest.fixture
def host(ctl, zone):
    """h.example.com with 192.0.2.1 and 2001:db8::1 and the token STRONG."""
    ctl.run("host", "add", HOST, "--token", STRONG, "--ipv4", "192.0.2.1",
            "--ipv6", "2001:db8::1")
    return FQDN


def iso(text):
    """Unix seconds of kyednsctl's ISO 8601 UTC time text."""
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", text), text
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def records(ctl, zone):
    out = {}
    for r in ctl.json("record", "list", zone):
        out.setdefault((r["name"], r["type"]), []).append(r["content"])
    return out


# ---- the command table ----

def test_new_commands_in_help_and_man(ctl):
    top = ctl.run("--help").stdout
    listed = [l.split()[:2] for l in top.splitlines() if re.match(r"^  [a-z]", l)]
    for cmd in NEW_COMMANDS:
        assert cmd in listed, cmd
        h = ctl.run(*cmd, "--help").stdout
        assert h.startswith("Usage: kyednsctl %s" % " ".join(cmd)), h
        assert ctl.run("help", *cmd).stdout == h
    own = {"host set": ["--offline", "--online", "--wildcard", "--follow", "--iid", "--no-follow"],
           "host history": ["--limit"],
           "token add": ["--expires", "--cidr", "--token"]}
    for cmd, flags in own.items():
        h = ctl.run(*cmd.split(), "--help").stdout
        for f in flags:
            assert f in h, (cmd, f)
    # the rotation story is told where an operator looks for it
    h = ctl.run("token", "add", "--help").stdout
    assert "revoke" in h and "default" in h
    # options of one command are refused by name elsewhere
    msg = usage(ctl, "token", "list", HOST, "--cidr", "192.0.2.0/24")
    assert "--cidr does not apply to token list" in msg


# ---- tokens ----

def test_token_add_list_revoke(ctl, host):
    out = ctl.json("token", "add", HOST, "laptop")
    assert out["host"] == FQDN and out["name"] == "laptop"
    assert TOKEN_RE.match(out["token"]) and out["expires"] is None and out["cidrs"] == []
    laptop = out["token"]
    before = time.time()
    out = ctl.json("token", "add", HOST, "phone", "--expires", "30d", "--cidr", "192.0.2.77/24",
                   "--cidr", "2001:DB8::/56", "--token", STRONG2)
    assert out["token"] == STRONG2
    assert out["cidrs"] == ["192.0.2.0/24", "2001:db8::/56"]   # host bits cleared
    assert abs(iso(out["expires"]) - (before + 30 * 86400)) < 120
    out = ctl.json("token", "add", HOST, "until-2100", "--expires", "2100-01-02T03:04:05Z")
    assert out["expires"] == "2100-01-02T03:04:05Z"
    assert ctl.json("token", "add", HOST, "d", "--expires", "2100-01-02")["expires"] == \
        "2100-01-02T00:00:00Z"

    tokens = ctl.json("token", "list", HOST)
    assert [t["name"] for t in tokens] == ["default", "d", "laptop", "phone", "until-2100"]
    for t in tokens:
        assert set(t) == {"name", "created", "expires", "expired", "cidrs"}, t
        assert abs(iso(t["created"]) - time.time()) < 120 and t["expired"] is False
    assert tokens[0]["expires"] is None and tokens[0]["cidrs"] == []
    assert tokens[3]["cidrs"] == ["192.0.2.0/24", "2001:db8::/56"]
    human = ctl.run("token", "list", HOST).stdout.splitlines()
    assert human[0].split() == ["NAME", "CREATED", "EXPIRES", "CIDRS"] and len(human) == 6
    assert re.match(r"^phone\s+\S+Z\s+\S+Z\s+192\.0\.2\.0/24 2001:db8::/56$", human[4]), human[4]
    assert re.match(r"^laptop\s+\S+Z\s+never\s+any$", human[3]), human[3]
    # secrets are printed once, by add, never by list or show
    outputs = "".join(ctl.run(*a).stdout for a in (
        ("token", "list", HOST), ("--json", "token", "list", HOST), ("host", "show", HOST),
        ("--json", "host", "show", HOST), ("--json", "host", "list")))
    for secret in (STRONG, STRONG2, laptop):
        assert secret not in outputs
    assert ctl.json("host", "show", HOST)["tokens"] == 5

    out = ctl.json("token", "revoke", HOST, "laptop")
    assert out == {"host": FQDN, "name": "laptop", "revoked": True, "tokens_left": 4}
    assert "laptop" not in [t["name"] for t in ctl.json("token", "list", HOST)]
    line = fail(ctl, "token", "revoke", HOST, "laptop")
    assert line == "kyednsctl: token laptop does not exist for %s (not found)" % FQDN, line
    # the default token can be revoked, and host token gives the host a new one
    assert ctl.run("token", "revoke", HOST, "default").stdout == \
        "revoked token default of host %s\n" % FQDN
    assert [t["name"] for t in ctl.json("token", "list", HOST)] == ["d", "phone", "until-2100"]
    assert TOKEN_RE.match(ctl.json("host", "token", HOST)["token"])
    assert ctl.json("token", "list", HOST)[0]["name"] == "default"


def test_token_add_human_output_and_last_token(ctl, host):
    out = ctl.run("token", "add", HOST, "cron", "--cidr", "198.51.100.7").stdout
    tok = re.search(r"^token   (\S+)$", out, re.M).group(1)
    assert TOKEN_RE.match(tok)
    assert re.search(r"^host    %s$" % re.escape(FQDN), out, re.M)
    assert re.search(r"^name    cron$", out, re.M)
    assert re.search(r"^expires never$", out, re.M)
    assert re.search(r"^cidrs   198\.51\.100\.7/32$", out, re.M)
    ctl.run("token", "revoke", HOST, "default")
    line = fail(ctl, "token", "add", HOST, "default")
    assert "'host token %s' sets it" % FQDN in line, line
    out = ctl.run("token", "revoke", HOST, "cron").stdout
    assert "has no token left" in out
    assert ctl.json("token", "list", HOST) == []
    assert ctl.json("host", "show", HOST)["tokens"] == 0


def test_token_name_taken(ctl, host):
    ctl.run("token", "add", HOST, "second")
    line = fail(ctl, "token", "add", HOST, "second")
    assert line.startswith("kyednsctl: token second already exists for %s (" % FQDN), line
    line = fail(ctl, "token", "add", HOST, "default")
    assert line.startswith("kyednsctl: token default already exists for %s (" % FQDN), line
    # the same secret under another name is refused: names must tell tokens apart
    line = fail(ctl, "token", "add", HOST, "third", "--token", STRONG)
    assert "under another name" in line, line
    assert [t["name"] for t in ctl.json("token", "list", HOST)] == ["default", "second"]


@pytest.mark.parametrize("args,want", [
    (("token", "add", HOST, "Bad!"), "bad token name"),
    (("token", "add", HOST, "x" * 33), "bad token name"),
    (("token", "add", HOST, "ok", "--cidr", "192.0.2.0/33"), "bad --cidr"),
    (("token", "add", HOST, "ok", "--cidr", "example.com"), "bad --cidr"),
    (("token", "add", HOST, "ok", "--expires", "2001-01-01"), "in the past"),
    (("token", "add", HOST, "ok", "--token", "short"), "bad --token"),
    (("token", "add", HOST, "ok", "--token", "abababababababababababab"), "bad --token"),
    (("token", "add", "nope.example.com", "ok"), "host nope.example.com. does not exist"),
    (("token", "list", "nope.example.com"), "host nope.example.com. does not exist"),
    (("token", "revoke", "nope.example.com", "default"), "host nope.example.com. does not exist"),
    (("token", "revoke", HOST, "nosuch"), "token nosuch does not exist"),
    (("token", "add", "bad_name.example.com", "ok"), "bad host name"),
])
def test_token_errors(ctl, host, args, want):
    line = fail(ctl, *args)
    assert want in line, line
    assert [t["name"] for t in ctl.json("token", "list", HOST)] == ["default"]


@pytest.mark.parametrize("args", [
    ("token", "add", HOST),
    ("token", "add", HOST, "a", "b"),
    ("token", "add", HOST, "ok", "--expires", "soon"),
    ("token", "add", HOST, "ok", "--expires", "0d"),
    ("token", "add", HOST, "ok", "--expires", "2027-02-31"),
    ("token", "add", HOST, "ok", "--expires", "12x"),
    ("token", "add", HOST, "ok") + ("--cidr", "192.0.2.1") * 17,
    ("token", "list"),
    ("token", "revoke", HOST),
    ("token", "frob", HOST),
])
def test_token_usage_errors(ctl, host, args):
    usage(ctl, *args)
    assert [t["name"] for t in ctl.json("token", "list", HOST)] == ["default"]


def test_token_limits(ctl, host):
    nets = []
    for i in range(16):
        nets += ["--cidr", "10.%d.0.0/16" % i]
    assert len(ctl.json("token", "add", HOST, "many-nets", *nets)["cidrs"]) == 16
    for i in range(15):
        ctl.run("token", "add", HOST, "t%02d" % i)
    line = fail(ctl, "token", "add", HOST, "one-too-many")
    assert "16 named tokens already" in line, line
    assert len(ctl.json("token", "list", HOST)) == 17


# ---- host set: offline, wildcard, router prefix ----

def test_host_options_default(ctl, host):
    h = ctl.json("host", "show", HOST)
    assert h["offline"] is False and h["wildcard"] is False
    assert h["follow"] is None and h["iid"] is None and h["prefix"] is None
    assert h["followers"] == [] and h["tokens"] == 1
    assert (h["stored_ipv4"], h["stored_ipv6"]) == ("192.0.2.1", "2001:db8::1")
    (listed,) = ctl.json("host", "list")
    for k in ("offline", "wildcard", "follow", "iid", "prefix", "stored_ipv4", "stored_ipv6"):
        assert listed[k] == h[k], k
    lines = ctl.run("host", "list").stdout.splitlines()
    assert lines[0].split()[-1] == "OPTIONS" and lines[1].split()[-1] == "-"


def test_offline_and_online(ctl, host, zone):
    h = ctl.json("host", "set", HOST, "--offline")    # prints the host after the change
    assert h["offline"] is True and h["ipv4"] is None and h["ipv6"] is None
    assert (h["stored_ipv4"], h["stored_ipv6"]) == ("192.0.2.1", "2001:db8::1")
    recs = records(ctl, zone)
    assert (FQDN, "A") not in recs and (FQDN, "AAAA") not in recs
    assert ctl.json("host", "list")[0]["offline"] is True
    assert ctl.run("host", "list").stdout.splitlines()[1].split()[-1] == "offline"
    show = ctl.run("host", "show", HOST).stdout
    assert re.search(r"^ipv4 +192\.0\.2\.1 \(offline: not in DNS\)$", show, re.M), show
    assert re.search(r"^offline +yes$", show, re.M), show
    ctl.run("host", "set", HOST, "--offline")             # idempotent
    h = ctl.json("host", "set", HOST, "--online")
    assert h["offline"] is False and (h["ipv4"], h["ipv6"]) == ("192.0.2.1", "2001:db8::1")
    recs = records(ctl, zone)
    assert recs[(FQDN, "A")] == ["192.0.2.1"] and recs[(FQDN, "AAAA")] == ["2001:db8::1"]
    results = [e["result"] for e in ctl.json("host", "history", HOST)]
    assert results == ["online", "offline"], results


def test_wildcard(ctl, host, zone):
    h = ctl.json("host", "set", HOST, "--wildcard", "on")
    assert h["wildcard"] is True
    recs = records(ctl, zone)
    assert recs[("*." + FQDN, "A")] == ["192.0.2.1"]
    assert recs[("*." + FQDN, "AAAA")] == ["2001:db8::1"]
    assert "wildcard" in ctl.run("host", "list").stdout.splitlines()[1].split()[-1]
    # the wildcard's addresses are the host's, not records to edit
    fail(ctl, "record", "del", "*." + HOST, "A")
    assert ctl.json("host", "set", HOST, "--wildcard", "OFF")["wildcard"] is False
    recs = records(ctl, zone)
    assert ("*." + FQDN, "A") not in recs and ("*." + FQDN, "AAAA") not in recs
    # a static record at *.H stays the operator's: no wildcard over it
    ctl.run("record", "add", "*." + HOST, "CNAME", "elsewhere.example.net")
    line = fail(ctl, "host", "set", HOST, "--wildcard", "on")
    assert "cannot give host %s a wildcard" % FQDN in line, line
    assert ctl.json("host", "show", HOST)["wildcard"] is False
    assert records(ctl, zone)[("*." + FQDN, "CNAME")] == ["elsewhere.example.net"]


def test_follow_router(ctl, host, zone):
    ctl.run("host", "add", "router.example.com")
    h = ctl.json("host", "set", HOST, "--follow", "router.example.com",
                 "--iid", "::1234:5678:9ABC:def0")
    assert h["follow"] == "router.example.com." and h["iid"] == "::1234:5678:9abc:def0"
    # the router has reported no prefix yet: the AAAA stays
    assert h["ipv6"] == "2001:db8::1"
    r = ctl.json("host", "show", "router.example.com")
    assert r["followers"] == [FQDN] and r["prefix"] is None
    # the short form, and --iid alone keeps the router
    h = ctl.json("host", "set", HOST, "--iid", "1:2:3:4")
    assert h["iid"] == "::1:2:3:4" and h["follow"] == "router.example.com."
    opts = ctl.run("host", "list", zone).stdout.splitlines()[1].split()[-1]
    assert opts == "follow=router.example.com.,iid=::1:2:3:4", opts
    show = ctl.run("host", "show", "router.example.com").stdout
    assert re.search(r"^followers +%s$" % re.escape(FQDN), show, re.M), show
    h = ctl.json("host", "set", HOST, "--no-follow")
    assert h["follow"] is None and h["iid"] == "::1:2:3:4"
    assert ctl.json("host", "show", "router.example.com")["followers"] == []
    # the identifier stays, so --follow alone works now
    assert ctl.json("host", "set", HOST, "--follow", "router.example.com")["follow"] == \
        "router.example.com."
    # deleting the router leaves the follower with its identifier
    ctl.run("host", "del", "router.example.com")
    h = ctl.json("host", "show", HOST)
    assert h["follow"] is None and h["iid"] == "::1:2:3:4"


@pytest.mark.parametrize("args,want", [
    (("--follow", "nope.example.com", "--iid", "::1"), "cannot follow nope.example.com."),
    (("--follow", HOST, "--iid", "::1"), "cannot follow itself"),
    (("--follow", "r2.example.com"), "needs an interface identifier"),
    (("--iid", "2001:db8::1"), "bad --iid"),
    (("--iid", "::"), "bad --iid"),
    (("--iid", "1:2:3:4:5"), "bad --iid"),
    (("--iid", "nonsense"), "bad --iid"),
    (("--follow", "bad_name.example.com", "--iid", "::1"), "bad --follow"),
])
def test_host_set_errors(ctl, host, args, want):
    ctl.run("host", "add", "r2.example.com")
    before = ctl.json("host", "show", HOST)
    line = fail(ctl, "host", "set", HOST, *args)
    assert want in line, line
    assert ctl.json("host", "show", HOST) == before


@pytest.mark.parametrize("args", [
    (),
    ("--offline", "--online"),
    ("--wildcard", "maybe"),
    ("--follow", "r.example.com", "--no-follow"),
    ("--iid", "::1", "--no-follow"),
    ("--limit", "3"),
])
def test_host_set_usage_errors(ctl, host, args):
    usage(ctl, "host", "set", HOST, *args)


def test_host_set_unknown_host(ctl, zone):
    line = fail(ctl, "host", "set", "nope.example.com", "--offline")
    assert line == "kyednsctl: host nope.example.com. does not exist (not found)", line


# ---- history written by kyednsctl itself ----

def test_history_of_operator_changes(ctl, host):
    assert ctl.json("host", "history", HOST) == []
    t0 = time.time()
    ctl.run("host", "set", HOST, "--offline")
    ctl.run("host", "set", HOST, "--online", "--wildcard", "on")
    hist = ctl.json("host", "history", HOST)
    assert [e["result"] for e in hist] == ["wildcard-on", "online", "offline"]
    off = hist[2]
    assert set(off) == {"time", "result", "old_ipv4", "new_ipv4", "old_ipv6", "new_ipv6",
                        "client", "agent", "seq"}
    assert (off["old_ipv4"], off["new_ipv4"]) == ("192.0.2.1", None)
    assert (off["old_ipv6"], off["new_ipv6"]) == ("2001:db8::1", None)
    assert off["client"] is None and off["agent"] == "kyednsctl"
    assert abs(iso(off["time"]) - t0) < 60
    assert (hist[1]["old_ipv4"], hist[1]["new_ipv4"]) == (None, "192.0.2.1")
    assert [e["seq"] for e in hist] == sorted((e["seq"] for e in hist), reverse=True)
    assert ctl.json("host", "history", HOST, "--limit", "1") == hist[:1]
    assert ctl.json("host", "history", HOST, "--limit", "0") == []
    lines = ctl.run("host", "history", HOST).stdout.splitlines()
    assert lines[0].split() == ["TIME", "RESULT", "IPV4", "IPV6", "CLIENT", "AGENT"]
    assert len(lines) == 4
    assert re.match(r"^\S+Z +offline +192\.0\.2\.1 -> - +2001:db8::1 -> - +- +kyednsctl$",
                    lines[3]), lines[3]
    line = fail(ctl, "host", "history", "nope.example.com")
    assert line == "kyednsctl: host nope.example.com. does not exist (not found)", line
    usage(ctl, "host", "history", HOST, "--limit", "x")
    # a deleted host takes its history with it
    ctl.run("host", "del", HOST)
    ctl.run("host", "add", HOST)
    assert ctl.json("host", "history", HOST) == []


# ---- through the real updater ----

@pytest.fixture
def updater(ctl, host, tmp_path):
    with Updater(ctl.db, tmp_path, args=["--allow-loopback"], rate=False) as up:
        yield up


def update(up, query, token, v6=False, agent="kyedns-test/1.0"):
    r = curl(up.url("/nic/update?hostname=%s&%s" % (HOST, query), v6=v6), user=(HOST, token),
             headers=["User-Agent: " + agent])
    return r.body.strip()


def test_history_of_updates(ctl, updater):
    assert update(updater, "myip=192.0.2.10", STRONG) == "good 192.0.2.10"
    assert update(updater, "myipv6=2001:db8::10", STRONG, v6=True, agent="other/2") == \
        "good 2001:db8::10"
    assert update(updater, "myip=192.0.2.10", "Wrong-Token-0123456789abcdef") == "badauth"
    hist = [e for e in ctl.json("host", "history", HOST) if e["result"] != "nochg"]
    assert [e["result"] for e in hist] == ["good", "good"], hist
    v6, v4 = hist
    assert (v4["old_ipv4"], v4["new_ipv4"]) == ("192.0.2.1", "192.0.2.10")
    assert v4["client"] == "127.0.0.1" and v4["agent"] == "kyedns-test/1.0"
    assert (v6["old_ipv6"], v6["new_ipv6"]) == ("2001:db8::1", "2001:db8::10")
    assert v6["client"] == "::1" and v6["agent"] == "other/2"
    assert iso(v6["time"]) >= iso(v4["time"]) and abs(iso(v6["time"]) - time.time()) < 60
    human = ctl.run("host", "history", HOST, "--limit", "1").stdout.splitlines()
    assert len(human) == 2 and "2001:db8::1 -> 2001:db8::10" in human[1], human
    assert "other/2" in human[1] and "::1" in human[1]


def test_scoped_tokens_at_the_updater(ctl, updater):
    v4only = ctl.json("token", "add", HOST, "v4only", "--cidr", "127.0.0.0/8")["token"]
    v6only = ctl.json("token", "add", HOST, "v6only", "--cidr", "::1/128")["token"]
    assert update(updater, "myip=192.0.2.20", v4only) == "good 192.0.2.20"
    assert update(updater, "myip=192.0.2.21", v4only, v6=True) == "badauth"
    assert update(updater, "myip=192.0.2.21", v6only, v6=True) == "good 192.0.2.21"
    assert update(updater, "myip=192.0.2.22", v6only) == "badauth"
    # expiry: works until the time passes, then never again
    short = ctl.json("token", "add", HOST, "short", "--expires", "2s")
    assert update(updater, "myip=192.0.2.23", short["token"]) == "good 192.0.2.23"
    while time.time() < iso(short["expires"]) + 1:
        time.sleep(0.2)
    assert update(updater, "myip=192.0.2.24", short["token"]) == "badauth"
    assert [t["expired"] for t in ctl.json("token", "list", HOST) if t["name"] == "short"] == [True]
    assert "(expired)" in ctl.run("token", "list", HOST).stdout


def test_rotation_without_downtime(ctl, updater):
    """The help text's story: add a second token, switch clients, revoke the first."""
    new = ctl.json("token", "add", HOST, "new")["token"]
    assert update(updater, "myip=192.0.2.30", STRONG) == "good 192.0.2.30"   # old still works
    assert update(updater, "myip=192.0.2.31", new) == "good 192.0.2.31"      # new works too
    ctl.run("token", "revoke", HOST, "default")
    assert update(updater, "myip=192.0.2.32", STRONG) == "badauth"
    assert update(updater, "myip=192.0.2.33", new) == "good 192.0.2.33"
    ctl.run("token", "revoke", HOST, "new")
    assert update(updater, "myip=192.0.2.34", new) == "badauth"
    assert ctl.json("host", "show", HOST)["ipv4"] == "192.0.2.33"


def test_acme_values_listed(ctl, updater):
    assert ctl.json("host", "acme", HOST) == []
    t0 = time.time()
    a, b = "A" * 43, "b-_" + "9" * 40
    for v in (a, b):
        r = curl(updater.url("/nic/update?hostname=%s&txt=%s" % (HOST, v)), user=(HOST, STRONG))
        assert r.status == 200, r
    vals = ctl.json("host", "acme", HOST)
    assert sorted(v["value"] for v in vals) == sorted([a, b])
    for v in vals:
        assert set(v) == {"name", "value", "expires", "expires_in"}
        assert v["name"] == "_acme-challenge." + FQDN
        assert 60 < iso(v["expires"]) - t0 < 86400 and 0 < v["expires_in"] <= 86400
    lines = ctl.run("host", "acme", HOST).stdout.splitlines()
    assert lines[0].split() == ["NAME", "VALUE", "EXPIRES", "LEFT"] and len(lines) == 3
    r = curl(updater.url("/nic/update?hostname=%s&txt=%s&clear=true" % (HOST, a)),
             user=(HOST, STRONG))
    assert r.status == 200, r
    left = [v["value"] for v in ctl.json("host", "acme", HOST)]
    assert a not in left and set(left) <= {b}, left
    line = fail(ctl, "host", "acme", "nope.example.com")
    assert line == "kyednsctl: host nope.example.com. does not exist (not found)", line


def test_follower_gets_router_prefix(ctl, updater):
    rtok = ctl.json("host", "add", "router.example.com")["token"]
    ctl.run("host", "set", HOST, "--follow", "router.example.com", "--iid", "::1234:5678:9abc:def0")
    r = curl(updater.url("/nic/update?hostname=router.example.com&myip=192.0.2.40"
                         "&ip6lanprefix=2001:db8:1:2::/64"), user=("router.example.com", rtok))
    assert r.status == 200 and r.body.startswith("good"), r
    h = ctl.json("host", "show", HOST)
    assert h["ipv6"] == "2001:db8:1:2:1234:5678:9abc:def0", h
    assert ctl.json("host", "show", "router.example.com")["prefix"] == "2001:db8:1:2::/64"
    hist = ctl.json("host", "history", HOST)
    assert hist[0]["result"] == "prefix" and hist[0]["new_ipv6"] == h["ipv6"]


def test_idn_host_names(ctl):
    """Hosts and routers may be typed in UTF-8; JSON names the A-labels and,
    for an IDN, the U-labels too (as host add and host show do)."""
    zone_u, zone_a = "bücher.example", "xn--bcher-kva.example"
    ctl.run("zone", "add", zone_u, "--ns", "ns1." + zone_u)
    ctl.run("host", "add", "nas." + zone_u)
    ctl.run("host", "add", "fritz." + zone_u)
    out = ctl.json("token", "add", "nas." + zone_u, "cron")
    assert out["host"] == "nas.%s." % zone_a and out["host_unicode"] == "nas.%s." % zone_u
    h = ctl.json("host", "set", "nas." + zone_u, "--follow", "fritz." + zone_u, "--iid", "::5")
    assert h["follow"] == "fritz.%s." % zone_a and h["iid"] == "::5"
    out = ctl.json("token", "revoke", "nas." + zone_a, "cron")
    assert out["host_unicode"] == "nas.%s." % zone_u and out["tokens_left"] == 1
    assert ctl.json("host", "history", "nas." + zone_u) == []


def test_follow_a_router_that_knows_its_prefix(ctl, updater):
    """A host that starts following a router with a known prefix gets its
    AAAA at once, and its history says so."""
    rtok = ctl.json("host", "add", "router.example.com")["token"]
    r = curl(updater.url("/nic/update?hostname=router.example.com&myip=192.0.2.41"
                         "&ipv6prefix=2001:db8:5:6::/64"), user=("router.example.com", rtok))
    assert r.status == 200, r
    h = ctl.json("host", "set", HOST, "--follow", "router.example.com", "--iid", "::abcd")
    assert h["ipv6"] == "2001:db8:5:6::abcd", h
    e = ctl.json("host", "history", HOST)[0]
    assert (e["result"], e["old_ipv6"], e["new_ipv6"], e["agent"]) == \
        ("prefix", "2001:db8::1", "2001:db8:5:6::abcd", "kyednsctl")
