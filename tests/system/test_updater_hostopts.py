"""kyedns-updater: Dyn's offline= and wildcard= parameters, the per-host
history and scoped (named) tokens (issue 12), through the real stack: a
store made by kyednsctl, kyedns-backend, pdns_server (packet cache on: the
updater's purge is what makes a change visible at once) and dig."""
import json
import time

import pytest

from conftest import Ctl
from updater_util import updater_with_pdns, dig_rrs, curl, metric, populate, wait_for

HOSTS = {
    "off.example.com": "optOff-0123456789abcdefXYZ",
    "wild.example.com": "optWild-0123456789abcdefXYZ",
    "both.example.com": "optBoth-0123456789abcdefXYZ",
    "dd.example.com": "optDd-0123456789abcdefXYZ",
    "hist.example.com": "optHist-0123456789abcdefXYZ",
    "tok.example.com": "optTok-0123456789abcdefXYZ",
    "clash.example.com": "optClash-0123456789abcdefXYZ",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("opts")
    db = str(tmp / "db")
    ctl = Ctl(db)
    populate(ctl, hosts=HOSTS)
    with updater_with_pdns(tmp, db, ["--history-size", "5"]) as (stack, up):
        yield ctl, stack, up


def dig(stack, name, rdtype="A"):
    """(rcode, sorted answer texts) of pdns's answer, through dig."""
    rcode, rrs = dig_rrs(stack, name, rdtype)
    return rcode, sorted(text for _, text in rrs)


def purges(up):
    return metric(up, 'kyedns_purge_total{result="ok"}') or 0


def upd(up, host, query, token=None):
    """An update as ddclient sends it (Basic host:token); waits until the
    purge after a change reached pdns, so dig sees the new state."""
    n = purges(up)
    r = curl(up.url("/nic/update?hostname=%s&%s" % (host, query)),
             user=(host, token or HOSTS[host]))
    if r.body.startswith("good"):
        wait_for(lambda: purges(up) > n, what="the purge after %s" % query)
    return r


def addrs(stack, name):
    return dig(stack, name, "A")[1], dig(stack, name, "AAAA")[1]


# ---- offline= ----

def test_offline_removes_addresses_from_dns_and_keeps_them(env):
    ctl, stack, up = env
    h = "off.example.com"
    r = upd(up, h, "myip=192.0.2.10&myipv6=2001:db8::10")
    assert (r.status, r.body) == (200, "good 192.0.2.10,2001:db8::10\n")
    assert addrs(stack, h) == (["192.0.2.10"], ["2001:db8::10"])
    # offline=YES alone: no address parameter, so the caller's address is
    # not used; the addresses leave DNS.
    r = upd(up, h, "offline=YES")
    assert (r.status, r.body) == (200, "good\n")
    for t in ("A", "AAAA"):
        rcode, ans = dig(stack, h, t)
        assert rcode in ("NXDOMAIN", "NOERROR") and ans == []
    shown = ctl.json("host", "show", h)
    assert shown["offline"] is True
    assert (shown["stored_ipv4"], shown["stored_ipv6"]) == ("192.0.2.10", "2001:db8::10")
    # Repeating it changes nothing.
    r = upd(up, h, "offline=yes")
    assert (r.status, r.body) == (200, "nochg\n")
    # An update while offline changes the kept address, not DNS.
    r = upd(up, h, "myip=192.0.2.11&offline=YES")
    assert (r.status, r.body) == (200, "good 192.0.2.11\n")
    assert dig(stack, h, "A")[1] == []
    # offline=NO brings them back, with the update made meanwhile.
    r = upd(up, h, "offline=NO")
    assert (r.status, r.body) == (200, "good\n")
    assert addrs(stack, h) == (["192.0.2.11"], ["2001:db8::10"])
    assert ctl.json("host", "show", h)["offline"] is False


# ---- wildcard= ----

def test_wildcard_makes_every_name_below_follow_the_host(env):
    ctl, stack, up = env
    h = "wild.example.com"
    assert upd(up, h, "myip=192.0.2.20").body == "good 192.0.2.20\n"
    assert dig(stack, "x.%s" % h)[0] == "NXDOMAIN"
    r = upd(up, h, "wildcard=ON")
    assert (r.status, r.body) == (200, "good\n")
    assert dig(stack, "x.%s" % h) == ("NOERROR", ["192.0.2.20"])
    assert dig(stack, "a.b.%s" % h) == ("NOERROR", ["192.0.2.20"])
    # An address change moves *.H with H (myip with wildcard=ON again: only
    # the address changes).
    r = upd(up, h, "myip=192.0.2.21&myipv6=2001:db8::21&wildcard=ON")
    assert (r.status, r.body) == (200, "good 192.0.2.21,2001:db8::21\n")
    assert addrs(stack, "x.%s" % h) == (["192.0.2.21"], ["2001:db8::21"])
    assert ctl.json("host", "show", h)["wildcard"] is True
    r = upd(up, h, "wildcard=OFF")
    assert (r.status, r.body) == (200, "good\n")
    assert dig(stack, "x.%s" % h)[0] == "NXDOMAIN"
    assert dig(stack, h) == ("NOERROR", ["192.0.2.21"])


def test_wildcard_and_offline_together(env):
    ctl, stack, up = env
    h = "both.example.com"
    r = upd(up, h, "myip=192.0.2.30&wildcard=ON")
    assert (r.status, r.body) == (200, "good 192.0.2.30\n")
    assert dig(stack, "w.%s" % h)[1] == ["192.0.2.30"]
    assert upd(up, h, "offline=YES").body == "good\n"
    assert dig(stack, h)[1] == [] and dig(stack, "w.%s" % h)[1] == []
    assert upd(up, h, "offline=NO&wildcard=ON").body == "good\n"
    assert dig(stack, h)[1] == ["192.0.2.30"]
    assert dig(stack, "w.%s" % h)[1] == ["192.0.2.30"]


def test_wildcard_over_a_static_record_is_refused(env):
    """*.H holding the operator's own A record: wildcard=ON is refused on
    that host's line (and logged), the static record stays, and the rest of
    the request (the address) is not applied either."""
    ctl, stack, up = env
    h = "clash.example.com"
    ctl.run("record", "add", "*.%s" % h, "A", "198.51.100.99")
    assert upd(up, h, "myip=192.0.2.90").body == "good 192.0.2.90\n"
    r = upd(up, h, "myip=192.0.2.91&wildcard=ON")
    assert (r.status, r.body) == (200, "dnserr\n")
    up.wait_log(r"refused wildcard of clash\.example\.com\. \(")
    assert dig(stack, "x.%s" % h)[1] == ["198.51.100.99"]
    assert dig(stack, h)[1] == ["192.0.2.90"]
    assert ctl.json("host", "show", h)["wildcard"] is False


def test_ddclient_defaults_stay_on_the_fast_path(env):
    """ddclient sends wildcard=OFF (and mx=, backmx=NO) with every update:
    repeating the stored state is nochg, answered without a commit."""
    ctl, stack, up = env
    h = "dd.example.com"
    q = "system=dyndns&myip=192.0.2.40&wildcard=OFF&mx=&backmx=NO"
    assert upd(up, h, q).body == "good 192.0.2.40\n"
    commits = metric(up, "kyedns_commit_seconds_count")
    assert commits >= 1
    assert upd(up, h, q).body == "nochg 192.0.2.40\n"
    assert metric(up, "kyedns_commit_seconds_count") == commits


def test_bad_switch_values_are_dnserr(env):
    ctl, stack, up = env
    h = "dd.example.com"
    for q in ("offline=maybe", "wildcard=sometimes", "myip=192.0.2.41&offline=2"):
        r = upd(up, h, q)
        assert (r.status, r.body) == (400, "dnserr\n"), q
    assert dig(stack, h)[1] == ["192.0.2.40"]


# ---- history ----

def test_history_records_each_change_bounded(env):
    """--history-size 5: every change appends an entry (time, old and new
    addresses, client, user agent, result) in the commit of the change;
    nochg appends nothing; the oldest go beyond 5."""
    ctl, stack, up = env
    h = "hist.example.com"
    t0 = int(time.time())
    agent = "test-agent/1.0 (history)"

    def send(q):
        n = purges(up)
        r = curl(up.url("/nic/update?hostname=%s&%s" % (h, q)), user=(h, HOSTS[h]),
                 headers=["User-Agent: " + agent])
        if r.body.startswith("good"):
            wait_for(lambda: purges(up) > n, what="purge")
        return r.body

    assert send("myip=192.0.2.50") == "good 192.0.2.50\n"
    assert send("myip=192.0.2.50") == "nochg 192.0.2.50\n"
    assert send("myip=192.0.2.51&myipv6=2001:db8::51") == "good 192.0.2.51,2001:db8::51\n"
    hist = ctl.json("host", "history", h)
    assert len(hist) == 2
    new, old = hist
    assert (new["result"], new["old_ipv4"], new["new_ipv4"], new["old_ipv6"], new["new_ipv6"]) \
        == ("good", "192.0.2.50", "192.0.2.51", None, "2001:db8::51")
    assert (old["result"], old["old_ipv4"], old["new_ipv4"]) == ("good", None, "192.0.2.50")
    assert new["client"] == "127.0.0.1" and new["agent"] == agent
    assert new["seq"] > old["seq"]
    # Options and ACME values are changes too.
    assert send("offline=YES") == "good\n"
    assert send("offline=NO") == "good\n"
    assert send("txt=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG") == "good\n"
    assert send("clear=true") == "good\n"
    hist = ctl.json("host", "history", h)
    assert [e["result"] for e in hist] == ["txt-clear", "txt-set", "online", "offline", "good"]
    assert (hist[3]["old_ipv4"], hist[3]["new_ipv4"]) == ("192.0.2.51", None)
    # offline: the addresses leave DNS (old -> none); online: they return.
    assert (hist[2]["old_ipv4"], hist[2]["new_ipv4"]) == (None, "192.0.2.51")
    assert hist[4]["new_ipv4"] == "192.0.2.51"  # the oldest two are gone (size 5)
    for e in hist:
        ts = e["time"]
        assert isinstance(ts, str) or abs(int(ts) - t0) < 60


# ---- scoped tokens ----

def test_named_tokens_rotation_expiry_and_cidrs(env):
    ctl, stack, up = env
    h = "tok.example.com"
    old = HOSTS[h]
    new = "rotNew-0123456789abcdefXYZ"

    def send(tok, ip):
        return curl(up.url("/nic/update?hostname=%s&myip=%s" % (h, ip)), user=(h, tok))

    assert send(old, "192.0.2.60").body == "good 192.0.2.60\n"
    # Rotation without downtime: the new token works beside the old one ...
    ctl.run("token", "add", h, "next", "--token", new)
    assert send(new, "192.0.2.61").body == "good 192.0.2.61\n"
    assert send(old, "192.0.2.62").body == "good 192.0.2.62\n"
    # ... until the old one is revoked.
    ctl.run("token", "revoke", h, "default")
    revoked = send(old, "192.0.2.63")
    assert (revoked.status, revoked.body) == (401, "badauth\n")
    assert send(new, "192.0.2.64").body == "good 192.0.2.64\n"
    assert dig(stack, h)[1] == ["192.0.2.64"]
    # Allowed source networks: 127.0.0.1 is not in 192.0.2.0/24.
    net = "netTok-0123456789abcdefXYZ"
    ctl.run("token", "add", h, "lan", "--token", net, "--cidr", "192.0.2.0/24")
    r = send(net, "192.0.2.65")
    assert (r.status, r.body) == (401, "badauth\n")
    up.wait_log(r"refused token 'lan' of tok\.example\.com\. from 127\.0\.0\.1 "
                r"\(client address not allowed\)")
    # ... while ::1 in ::1/128 is.
    ctl.run("token", "add", h, "v6", "--token", "v6Tok-0123456789abcdefXYZ", "--cidr", "::1/128",
            "--cidr", "10.0.0.0/8")
    r = curl(up.url("/nic/update?hostname=%s&myip=192.0.2.66" % h, v6=True),
             user=(h, "v6Tok-0123456789abcdefXYZ"))
    assert r.body == "good 192.0.2.66\n"
    r = curl(up.url("/nic/update?hostname=%s&myip=192.0.2.67" % h),
             user=(h, "v6Tok-0123456789abcdefXYZ"))
    assert r.status == 401
    # Expiry: a token for 2 seconds.
    exp = "expTok-0123456789abcdefXYZ"
    ctl.run("token", "add", h, "short", "--token", exp, "--expires", "2s")
    assert send(exp, "192.0.2.68").body == "good 192.0.2.68\n"
    time.sleep(2.2)
    r = send(exp, "192.0.2.69")
    assert (r.status, r.body) == (401, "badauth\n")
    up.wait_log(r"refused token 'short' of tok\.example\.com\. from 127\.0\.0\.1 \(expired\)")
    # The answer never tells why: the same as for a revoked token.  (Four
    # failures from 127.0.0.1 so far; the fifth would lock the client out.)
    assert (r.status, r.body, r.header("www-authenticate")) == \
        (revoked.status, revoked.body, revoked.header("www-authenticate"))
    assert send(new, "192.0.2.70").body == "good 192.0.2.70\n"
    # Named tokens work for the ACME endpoints too.
    r = curl(up.url("/api/v1/httpreq/present"), user=(h, new), method="POST",
             headers=["Content-Type: application/json"],
             extra=["--data-binary", json.dumps({"fqdn": "_acme-challenge.%s." % h,
                                                 "value": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"})])
    assert r.status == 200
    assert curl(up.url("/nic/update?hostname=%s&clear=true" % h), user=(h, new)).body == "good\n"
