"""kyedns-updater: router IPv6 prefixes (issue 12).  A router host reports
its delegated LAN prefix (ip6lanprefix=, ipv6prefix=); hosts that follow
it (kyednsctl host set --follow ROUTER --iid IID) get prefix | IID as their
AAAA, in the router's update, authorised by the router's token.

The requests are the exact URL shapes the routers send:

* AVM FRITZ!Box, "user-defined" dynamic DNS provider: an update URL
  template with the placeholders <username> <pass> <domain> <ipaddr>
  <ip6addr> <ip6lanprefix>, which the box fills in; one it has no value
  for (no IPv6 yet) is sent literally, e.g. "<ip6lanprefix>".
* OpenWrt ddns-scripts: an update_url with [USERNAME] [PASSWORD] [DOMAIN]
  [IP]; credentials in the URL's userinfo become Basic auth.  With
  use_ipv6=1 and ip_source=network on the LAN interface, [IP] is the
  router's LAN address, so ipv6prefix=[IP] sends an address: its /64 is
  the prefix.

Checked through kyedns-backend, pdns_server (packet cache on) and dig."""
import subprocess

import pytest

from conftest import Ctl
from updater_util import updater_with_pdns, curl, metric, populate, wait_for

ROUTER, ROUTER_TOKEN = "fritz.example.com", "routerTok-0123456789abcdefXYZ"
OPENWRT, OPENWRT_TOKEN = "owrt.example.com", "owrtTok-0123456789abcdefXYZ"
FOLLOWERS = {"nas.example.com": "::1234", "cam.example.com": "::cafe:0:0:1"}
NAS_TOKEN = "nasTok-0123456789abcdefXYZ"

# The templates as typed into the router, and how it fills them in.
FRITZ_URL = ("/nic/update?hostname=<domain>&myip=<ipaddr>,<ip6addr>"
             "&ip6lanprefix=<ip6lanprefix>&username=<username>&password=<pass>")
OPENWRT_URL = "http://[USERNAME]:[PASSWORD]@127.0.0.1:%d/nic/update?hostname=[DOMAIN]&ipv6prefix=[IP]"


def fritz(template, **values):
    """Fills a FRITZ!Box template; a placeholder without a value stays."""
    for k, v in values.items():
        if v is not None:
            template = template.replace("<%s>" % k, v)
    return template


def openwrt(template, **values):
    for k, v in values.items():
        template = template.replace("[%s]" % k, v)
    return template


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prefix")
    db = str(tmp / "db")
    ctl = Ctl(db)
    populate(ctl, hosts={ROUTER: ROUTER_TOKEN, OPENWRT: OPENWRT_TOKEN,
                         "nas.example.com": NAS_TOKEN,
                         "cam.example.com": "camTok-0123456789abcdefXYZ",
                         "pc.example.com": "pcTok-0123456789abcdefXYZ"})
    for h, iid in FOLLOWERS.items():
        ctl.run("host", "set", h, "--follow", ROUTER, "--iid", iid)
    ctl.run("host", "set", "pc.example.com", "--follow", OPENWRT, "--iid", "::5")
    with updater_with_pdns(tmp, db) as (stack, up):
        yield ctl, stack, up


def aaaa(stack, name):
    p = subprocess.run(["dig", "@127.0.0.1", "-p", str(stack.dns_port), "+norec", "+time=3",
                        "+tries=1", "+short", name, "AAAA"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    return sorted(p.stdout.split())


def purges(up):
    return metric(up, 'kyedns_purge_total{result="ok"}') or 0


def send(up, path, n_purges=0, **kw):
    """One request; when it changes something, waits for n_purges purges
    (router and followers) to reach pdns."""
    n = purges(up)
    r = curl(up.url(path) if path.startswith("/") else path, **kw)
    if n_purges:
        wait_for(lambda: purges(up) >= n + n_purges, what="%d purges" % n_purges)
    return r


def test_fritzbox_prefix_moves_the_followers(env):
    ctl, stack, up = env
    for h in FOLLOWERS:
        assert aaaa(stack, h) == []  # (pdns caches these negative answers)
    url = fritz(FRITZ_URL, domain=ROUTER, ipaddr="198.51.100.1", ip6addr="2001:db8:ff::1",
                ip6lanprefix="2001:db8:1:200::/56", username=ROUTER, **{"pass": ROUTER_TOKEN})
    r = send(up, url, n_purges=3)
    assert (r.status, r.body) == (200, "good 198.51.100.1,2001:db8:ff::1\n")
    assert aaaa(stack, ROUTER) == ["2001:db8:ff::1"]
    assert aaaa(stack, "nas.example.com") == ["2001:db8:1:200::1234"]
    assert aaaa(stack, "cam.example.com") == ["2001:db8:1:200:cafe::1"]
    shown = ctl.json("host", "show", ROUTER)
    assert shown["prefix"] in ("2001:db8:1:200::/56",)
    # The provider hands out a new prefix (a /64 this time).
    url = fritz(FRITZ_URL, domain=ROUTER, ipaddr="198.51.100.1", ip6addr="2001:db8:ff::1",
                ip6lanprefix="2001:db8:2:10::/64", username=ROUTER, **{"pass": ROUTER_TOKEN})
    r = send(up, url, n_purges=3)
    assert (r.status, r.body) == (200, "good 198.51.100.1,2001:db8:ff::1\n")
    assert aaaa(stack, "nas.example.com") == ["2001:db8:2:10::1234"]
    assert aaaa(stack, "cam.example.com") == ["2001:db8:2:10:cafe::1"]
    # The same again: nothing to do.
    r = send(up, url)
    assert (r.status, r.body) == (200, "nochg 198.51.100.1,2001:db8:ff::1\n")
    # The followers' history says why their address moved.
    hist = ctl.json("host", "history", "nas.example.com")
    assert [e["result"] for e in hist[:2]] == ["prefix", "prefix"]
    assert (hist[0]["old_ipv6"], hist[0]["new_ipv6"]) == ("2001:db8:1:200::1234",
                                                          "2001:db8:2:10::1234")


def test_fritzbox_without_ipv6_sends_the_placeholders(env):
    """No IPv6 on the WAN side yet: the box sends <ip6addr> and
    <ip6lanprefix> literally; both count as not sent."""
    ctl, stack, up = env
    before = {h: aaaa(stack, h) for h in FOLLOWERS}
    url = fritz(FRITZ_URL, domain=ROUTER, ipaddr="198.51.100.7", username=ROUTER,
                **{"pass": ROUTER_TOKEN})
    assert "ip6lanprefix=<ip6lanprefix>" in url and "<ip6addr>" in url
    r = send(up, url, n_purges=1)
    assert (r.status, r.body) == (200, "good 198.51.100.7\n")
    assert {h: aaaa(stack, h) for h in FOLLOWERS} == before
    # Percent-encoded placeholders (a box that encodes its URL) too, and
    # an all-zero prefix.
    r = send(up, url.replace("<", "%3C").replace(">", "%3E"))
    assert (r.status, r.body) == (200, "nochg 198.51.100.7\n")
    r = send(up, url.replace("<ip6lanprefix>", "::/64"))
    assert (r.status, r.body) == (200, "nochg 198.51.100.7\n")
    assert {h: aaaa(stack, h) for h in FOLLOWERS} == before


def test_openwrt_ddns_scripts_lan_address_as_prefix(env):
    ctl, stack, up = env
    url = openwrt(OPENWRT_URL % up.port, USERNAME=OPENWRT, PASSWORD=OPENWRT_TOKEN,
                  DOMAIN=OPENWRT, IP="2001:db8:5:6::1")
    r = send(up, url, n_purges=2)
    # Only a prefix was sent: the router's own addresses stay as they are.
    assert (r.status, r.body) == (200, "good\n")
    assert aaaa(stack, "pc.example.com") == ["2001:db8:5:6::5"]
    assert aaaa(stack, OPENWRT) == []
    assert ctl.json("host", "show", OPENWRT)["prefix"] == "2001:db8:5:6::/64"
    # With an explicit length, as dynv6's ipv6prefix= takes it.
    url = url.replace("ipv6prefix=2001:db8:5:6::1", "ipv6prefix=2001:db8:5:7::/64")
    r = send(up, url, n_purges=2)
    assert (r.status, r.body) == (200, "good\n")
    assert aaaa(stack, "pc.example.com") == ["2001:db8:5:7::5"]


def test_only_the_routers_token_moves_its_followers(env):
    ctl, stack, up = env
    nas, cam = aaaa(stack, "nas.example.com"), aaaa(stack, "cam.example.com")
    assert nas and cam
    # A follower's token does not authorise the router's name.
    r = send(up, "/nic/update?hostname=%s&ip6lanprefix=2001:db8:66::/64" % ROUTER,
             user=("nas.example.com", NAS_TOKEN))
    assert (r.status, r.body) == (200, "nohost\n")
    r = send(up, "/nic/update?hostname=%s&ip6lanprefix=2001:db8:66::/64&password=%s"
             % (ROUTER, NAS_TOKEN))
    assert r.status == 401
    # A follower reporting a prefix of its own moves nobody else.
    r = send(up, "/nic/update?hostname=nas.example.com&ip6lanprefix=2001:db8:67::/64",
             user=("nas.example.com", NAS_TOKEN))
    assert (r.status, r.body) == (200, "good\n")
    assert aaaa(stack, "nas.example.com") == nas
    assert aaaa(stack, "cam.example.com") == cam
    # Bad prefixes are dnserr and change nothing.
    for bad in ("2001:db8::/65", "192.0.2.0/24", "2001:db8::/0", "garbage", "fe80::/64",
                "ff02::/64"):
        r = send(up, "/nic/update?hostname=%s&ip6lanprefix=%s" % (ROUTER, bad),
                 user=(ROUTER, ROUTER_TOKEN))
        assert (r.status, r.body) == (400, "dnserr\n"), bad
    assert aaaa(stack, "nas.example.com") == nas
