"""kyedns-updater: the dyndns2 contract of docs/design.md, "The updater", and
every client example listed there, against the real daemon and a store made by kyednsctl,
driven with curl.  One daemon per module; each test uses its own hosts so
the tests do not depend on each other."""
import base64
import itertools
import os
import re
import struct
import subprocess
import time

import pytest

from conftest import Ctl, binary, free_port
from updater_util import Updater, curl, host_addrs, plant_cname, populate

_seq = itertools.count(1)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("upd")
    db = str(tmp / "db")
    ctl = Ctl(db)
    populate(ctl, hosts={})
    # --allow-loopback: the caller's own address is 127.0.0.1 / ::1 here.
    up = Updater(db, tmp, args=["--allow-loopback"], rate=False).wait_ready()
    yield ctl, up
    assert up.stop() == 0, up.log_text()[-2000:]


def fresh(ctl, n=1, token=None):
    """n new hosts (with one shared token); returns (names, token)."""
    k = next(_seq)
    token = token or "tok-%04d-0123456789abcdefXYZ" % k
    names = ["h%d-%d.example.com" % (k, i) for i in range(n)]
    for h in names:
        ctl.run("host", "add", h, "--token", token)
    return names, token


def upd(up, query, auth=None, path="/nic/update", v6=False, headers=()):
    return curl(up.url("%s?%s" % (path, query), v6=v6), user=auth, headers=headers)


# ---- the client examples of docs/design.md, literally (host names and server replaced) ----

def test_api_txt_examples(env):
    ctl, up = env
    (h,), tok = fresh(ctl)
    # Update with auto-detected IP
    r = curl(up.url("/api/v1/nic/update?hostname=%s" % h), user=(h, tok))
    assert (r.status, r.body) == (200, "good 127.0.0.1\n")
    # Update with specific IP
    r = curl(up.url("/api/v1/nic/update?hostname=%s&myip=203.0.113.50" % h), user=(h, tok))
    assert (r.status, r.body) == (200, "good 203.0.113.50\n")
    # Update IPv6 (keeps the IPv4)
    r = curl(up.url("/api/v1/nic/update?hostname=%s&myip=2001:db8::1" % h), user=(h, tok))
    assert (r.status, r.body) == (200, "good 2001:db8::1\n")
    assert host_addrs(ctl, h) == ("203.0.113.50", "2001:db8::1")
    # PowerShell: a hand-made Basic header
    cred = base64.b64encode(("%s:%s" % (h, tok)).encode()).decode()
    r = curl(up.url("/api/v1/nic/update?hostname=%s" % h),
             headers=["Authorization: Basic " + cred])
    assert (r.status, r.body) == (200, "good 127.0.0.1\n")
    # Alternative endpoints with token=
    for path in ("/api/v1/update", "/api/v1/domain_update"):
        r = curl(up.url("%s?hostname=%s&token=%s&myip=198.51.100.9" % (path, h, tok)))
        assert r.status == 200 and r.body in ("good 198.51.100.9\n", "nochg 198.51.100.9\n")
    # Check your IP
    r = curl(up.url("/ip"))
    assert (r.status, r.body) == (200, "127.0.0.1\n")
    assert r.header("content-type").startswith("text/plain")


@pytest.mark.parametrize("path", ["/api/v1/nic/update", "/nic/update", "/v3/update",
                                  "/api/v1/update", "/api/v1/domain_update"])
def test_every_update_endpoint(env, path):
    ctl, up = env
    (h,), tok = fresh(ctl)
    r = upd(up, "hostname=%s&myip=192.0.2.1" % h, (h, tok), path=path)
    assert (r.status, r.body) == (200, "good 192.0.2.1\n")
    r = upd(up, "hostname=%s&token=%s&myip=192.0.2.1" % (h, tok), path=path)
    assert (r.status, r.body) == (200, "nochg 192.0.2.1\n")
    r = upd(up, "hostname=%s&username=%s&password=%s&myip=192.0.2.2" % (h, h, tok), path=path)
    assert (r.status, r.body) == (200, "good 192.0.2.2\n")


def test_hostname_defaults_to_basic_username(env):
    ctl, up = env
    (h,), tok = fresh(ctl)
    r = upd(up, "myip=192.0.2.10", (h, tok))
    assert (r.status, r.body) == (200, "good 192.0.2.10\n")
    r = upd(up, "myip=192.0.2.10", (h.upper(), tok))  # names are case-insensitive
    assert (r.status, r.body) == (200, "nochg 192.0.2.10\n")


# ---- addresses ----

def test_dual_stack_families_are_independent(env):
    ctl, up = env
    (h,), tok = fresh(ctl)
    assert upd(up, "hostname=%s&myip=192.0.2.1" % h, (h, tok)).body == "good 192.0.2.1\n"
    assert upd(up, "hostname=%s&myip=2001:db8::7" % h, (h, tok)).body == "good 2001:db8::7\n"
    assert host_addrs(ctl, h) == ("192.0.2.1", "2001:db8::7")
    assert upd(up, "hostname=%s&myip=192.0.2.2" % h, (h, tok)).body == "good 192.0.2.2\n"
    assert host_addrs(ctl, h) == ("192.0.2.2", "2001:db8::7")
    # Same IPv4, new IPv6: good, both echoed; then both unchanged: nochg.
    r = upd(up, "hostname=%s&myip=192.0.2.2,2001:db8::8" % h, (h, tok))
    assert r.body == "good 192.0.2.2,2001:db8::8\n"
    r = upd(up, "hostname=%s&myip=2001:db8::8,192.0.2.2" % h, (h, tok))
    assert r.body == "nochg 192.0.2.2,2001:db8::8\n"
    assert host_addrs(ctl, h) == ("192.0.2.2", "2001:db8::8")


@pytest.mark.parametrize("query,want,stored", [
    ("myipv4=192.0.2.20", "good 192.0.2.20", ("192.0.2.20", None)),
    ("ip=192.0.2.21", "good 192.0.2.21", ("192.0.2.21", None)),
    ("myipv6=2001:db8::20", "good 2001:db8::20", (None, "2001:db8::20")),
    ("ipv6=2001:DB8:0:0::21", "good 2001:db8::21", (None, "2001:db8::21")),
    ("myip=192.0.2.22&myipv6=2001:db8::22", "good 192.0.2.22,2001:db8::22",
     ("192.0.2.22", "2001:db8::22")),
    ("myip=192.0.2.23,2001:db8::23", "good 192.0.2.23,2001:db8::23",
     ("192.0.2.23", "2001:db8::23")),
    # Router placeholders, empty and unspecified values count as not sent.
    ("myip=%3Cipaddr%3E&myipv6=2001:db8::25", "good 2001:db8::25", (None, "2001:db8::25")),
    ("myip=192.0.2.26&myipv6=<ip6addr>", "good 192.0.2.26", ("192.0.2.26", None)),
    ("myip=192.0.2.27&myipv6=", "good 192.0.2.27", ("192.0.2.27", None)),
    ("myip=192.0.2.28&ipv6=::", "good 192.0.2.28", ("192.0.2.28", None)),
    # Nothing usable at all: the caller's address (127.0.0.1 here).
    ("myip=", "good 127.0.0.1", ("127.0.0.1", None)),
    ("myip=0.0.0.0", "good 127.0.0.1", ("127.0.0.1", None)),
    ("myip=<ipaddr>&myipv6=<ip6addr>", "good 127.0.0.1", ("127.0.0.1", None)),
    ("system=dyndns&wildcard=NOCHG&mx=mx.example.net&backmx=NO&myip=192.0.2.29",
     "good 192.0.2.29", ("192.0.2.29", None)),
])
def test_address_parameters(env, query, want, stored):
    ctl, up = env
    (h,), tok = fresh(ctl)
    r = upd(up, "hostname=%s&%s" % (h, query), (h, tok))
    assert (r.status, r.body) == (200, want + "\n")
    assert host_addrs(ctl, h) == stored


def test_autodetect_over_ipv4_and_ipv6(env):
    ctl, up = env
    (h,), tok = fresh(ctl)
    assert upd(up, "hostname=%s" % h, (h, tok)).body == "good 127.0.0.1\n"
    assert upd(up, "hostname=%s" % h, (h, tok), v6=True).body == "good ::1\n"
    assert upd(up, "hostname=%s" % h, (h, tok), v6=True).body == "nochg ::1\n"
    assert host_addrs(ctl, h) == ("127.0.0.1", "::1")


@pytest.mark.parametrize("query", [
    "myip=1.2.3", "myip=01.2.3.4", "myip=1.2.3.4/24", "myip=fe80::1%25eth0",
    "myip=example.com", "myip=1.2.3.4,5.6.7.8", "myip=1.2.3.4,2001:db8::1,5.6.7.8",
    "myipv6=1.2.3.4", "myipv4=2001:db8::1", "myip=1.2.3.4&myipv4=1.2.3.5",
])
def test_malformed_address_is_dnserr(env, query):
    ctl, up = env
    (h,), tok = fresh(ctl)
    r = upd(up, "hostname=%s&%s" % (h, query), (h, tok))
    assert (r.status, r.body) == (400, "dnserr\n")
    assert host_addrs(ctl, h) == (None, None)


# ---- authentication and host errors ----

def test_no_credentials_is_a_challenge(env):
    ctl, up = env
    (h,), tok = fresh(ctl)
    r = upd(up, "hostname=%s&myip=192.0.2.1" % h)
    assert (r.status, r.body) == (401, "badauth\n")
    assert r.header("www-authenticate") == 'Basic realm="kyedns"'


def test_wrong_token_and_unknown_host_look_the_same(env):
    """badauth must not tell an unauthenticated caller whether a host exists."""
    ctl, up = env
    (h,), tok = fresh(ctl)
    wrong = "wrong-0123456789abcdefghij"
    a = upd(up, "hostname=%s&myip=192.0.2.1" % h, (h, wrong))
    b = upd(up, "hostname=nosuch.example.com&myip=192.0.2.1", ("nosuch.example.com", wrong))
    c = upd(up, "hostname=nosuch.example.org&token=%s" % tok)
    for r in (a, b, c):
        assert (r.status, r.body) == (401, "badauth\n")
        assert r.header("www-authenticate") == 'Basic realm="kyedns"'
    assert host_addrs(ctl, h) == (None, None)


def test_nohost_for_authenticated_callers(env):
    ctl, up = env
    (h,), tok = fresh(ctl)
    (other,), _ = fresh(ctl)
    # Authenticated as h (Basic), asking for a host that does not exist, or
    # for one that exists but is not h's: the same answer.
    r = upd(up, "hostname=nosuch.example.com&myip=192.0.2.1", (h, tok))
    assert (r.status, r.body) == (200, "nohost\n")
    r = upd(up, "hostname=%s&myip=192.0.2.1" % other, (h, tok))
    assert (r.status, r.body) == (200, "nohost\n")
    assert host_addrs(ctl, other) == (None, None)


@pytest.mark.parametrize("name", ["nodots", "bad..example.com", "-x.example.com",
                                  "under_score.example.com", "a" * 64 + ".example.com"])
def test_notfqdn(env, name):
    ctl, up = env
    (h,), tok = fresh(ctl)
    r = upd(up, "hostname=%s&myip=192.0.2.1" % name, (h, tok))
    assert (r.status, r.body) == (200, "notfqdn\n")


def test_numhost(env):
    ctl, up = env
    names, tok = fresh(ctl, 21)
    r = upd(up, "hostname=%s&myip=192.0.2.1" % ",".join(names), (names[0], tok))
    assert (r.status, r.body) == (200, "numhost\n")
    assert host_addrs(ctl, names[0]) == (None, None)
    r = upd(up, "hostname=%s&myip=192.0.2.1" % ",".join(names[:20]), (names[0], tok))
    assert (r.status, r.body) == (200, "good 192.0.2.1\n" * 20)
    assert all(host_addrs(ctl, n) == ("192.0.2.1", None) for n in names[:20])


def test_multi_host_mixed_results_in_request_order(env):
    ctl, up = env
    (m1, m2), tok = fresh(ctl, 2)
    (other,), _ = fresh(ctl)
    assert upd(up, "hostname=%s&myip=192.0.2.5" % m2, (m2, tok)).body == "good 192.0.2.5\n"
    q = "hostname=%s,nosuch.example.com,bad..name,%s,%s&myip=192.0.2.5" % (m1, other, m2)
    r = curl(up.url("/nic/update?%s&token=%s" % (q, tok)))
    assert r.status == 200
    # `other` exists but is not this token's: nohost, like a missing one.
    assert r.body == "good 192.0.2.5\nnohost\nnotfqdn\nnohost\nnochg 192.0.2.5\n"
    assert host_addrs(ctl, m1) == ("192.0.2.5", None)
    assert host_addrs(ctl, other) == (None, None)


def test_failed_auth_limit_gives_abuse(env):
    ctl, up = env
    (h,), tok = fresh(ctl)
    wrong = "wrong-0123456789abcdefghij"
    for _ in range(5):
        assert upd(up, "hostname=%s" % h, (h, wrong)).body == "badauth\n"
    r = upd(up, "hostname=%s&myip=192.0.2.1" % h, (h, tok))  # even the right token
    assert (r.status, r.body) == (200, "abuse\n")
    assert 1 <= int(r.header("retry-after")) <= 300
    assert host_addrs(ctl, h) == (None, None)
    # Other hosts are not affected.
    (h2,), tok2 = fresh(ctl)
    assert upd(up, "hostname=%s&myip=192.0.2.1" % h2, (h2, tok2)).body == "good 192.0.2.1\n"
    # The block is per client: the owner from another address (::1) is not
    # locked out by someone else's wrong guesses.
    r = upd(up, "hostname=%s&myip=192.0.2.1" % h, (h, tok), v6=True)
    assert (r.status, r.body) == (200, "good 192.0.2.1\n")


def test_store_error_is_911_and_isolated(env):
    """A host whose update the store refuses (a CNAME sits at its name)
    gets 911; nothing of its request is written, other hosts are fine."""
    ctl, up = env
    (bad, ok), tok = fresh(ctl, 2)
    # kyednsctl (and the store) refuse a CNAME at a host: plant one
    assert ctl.run("record", "add", bad, "CNAME", "target.example.net.", check=False).returncode == 1
    plant_cname(ctl.db, bad, "target.example.net.")
    r = upd(up, "hostname=%s&myip=192.0.2.90" % bad, (bad, tok))
    assert (r.status, r.body) == (500, "911\n")
    r = upd(up, "hostname=%s,%s&myip=192.0.2.91" % (ok, bad), (ok, tok))
    assert (r.status, r.body) == (500, "911\n911\n")
    assert host_addrs(ctl, ok) == (None, None)
    r = upd(up, "hostname=%s&myip=192.0.2.92" % ok, (ok, tok))
    assert (r.status, r.body) == (200, "good 192.0.2.92\n")
    up.wait_log(r"cannot update %s\. \(.+\)" % re.escape(bad))
    assert curl(up.url("/health")).body == "ok\n"


def test_head_and_other_methods(env):
    ctl, up = env
    (h,), tok = fresh(ctl)
    r = curl(up.url("/ip"), method="HEAD")
    assert r.status == 200 and r.body == "" and r.header("content-length") == "10"
    r = curl(up.url("/nic/update?hostname=%s&myip=192.0.2.1" % h), user=(h, tok),
             method="HEAD")
    # POST is allowed only with a form body (HE.net-style hooks).
    assert r.status == 405 and r.header("allow") == "GET, POST"
    r = curl(up.url("/nic/update?hostname=%s&myip=192.0.2.1" % h), user=(h, tok),
             method="POST")
    assert r.status == 405 and r.header("allow") == "GET, POST"
    assert host_addrs(ctl, h) == (None, None)
    assert curl(up.url("/nope")).status == 404


def test_checkip_health_metrics(env):
    ctl, up = env
    r = curl(up.url("/nic/checkip.html", v6=True))
    assert r.status == 200
    assert "Current IP Address: ::1</body>" in r.body
    r = curl(up.url("/health"))
    assert (r.status, r.body) == (200, "ok\n")
    (h,), tok = fresh(ctl)
    upd(up, "hostname=%s&myip=192.0.2.77" % h, (h, tok))
    upd(up, "hostname=%s&myip=192.0.2.77" % h, (h, tok))
    r = curl(up.url("/metrics"))
    assert r.status == 200 and r.header("content-type").startswith("text/plain; version=0.0.4")
    m = r.body

    def val(name):
        mm = re.search(r"^%s (\S+)$" % re.escape(name), m, re.M)
        assert mm, name
        return float(mm.group(1))
    assert val('kyedns_update_results_total{result="good"}') >= 1
    assert val('kyedns_update_results_total{result="nochg"}') >= 1
    assert val('kyedns_http_requests_total{endpoint="update",status="200"}') >= 2
    assert val("kyedns_commit_seconds_count") >= 1
    assert val('kyedns_commit_seconds_bucket{le="+Inf"}') == val("kyedns_commit_seconds_count")
    assert val("kyedns_batch_size_count") >= 1
    assert val("kyedns_connections_open") >= 1
    assert val("kyedns_purge_failures_total") == 0
    for line in m.splitlines():
        assert line.startswith("#") or re.match(r"^[a-z_]+(\{[^}]*\})? \S+$", line), line


def test_access_log_redacts_secrets(env):
    ctl, up = env
    (h,), tok = fresh(ctl)
    upd(up, "hostname=%s&myip=192.0.2.1" % h, (h, tok))
    upd(up, "hostname=%s&token=%s&myip=192.0.2.2" % (h, tok))
    upd(up, "hostname=%s&username=%s&password=%s&myip=192.0.2.3" % (h, h, tok))
    log = up.wait_log(r'msg=access client=127\.0\.0\.1 method=GET path=/nic/update '
                      r'query="hostname=%s&username=%s&password=\*\*\*&myip=192\.0\.2\.3" '
                      r'status=200 result=good addr=192\.0\.2\.3 user=%s '
                      % (re.escape(h), re.escape(h), re.escape(h)))
    assert re.search(r'msg=access client=127\.0\.0\.1 method=GET path=/nic/update '
                     r'query="hostname=%s&token=\*\*\*&myip=192\.0\.2\.2" status=200 '
                     r'result=good addr=192\.0\.2\.2 user=%s bytes=15 duration_ms=\d+\.\d{3} '
                     r'ua=curl/\S+$' % (re.escape(h), re.escape(h)), log, re.M)
    # Basic auth: the user is the Basic username, the header is never logged.
    assert re.search(r'query="hostname=%s&myip=192\.0\.2\.1" status=200 result=good '
                     r'addr=192\.0\.2\.1 user=%s ' % (re.escape(h), re.escape(h)), log)
    assert tok not in log
    assert base64.b64encode(("%s:%s" % (h, tok)).encode()).decode() not in log


# ---- configurations of their own ----

def test_trusted_proxy(tmp_path, store, ctl):
    populate(ctl)
    with Updater(store, tmp_path, args=["--trusted-proxy", "127.0.0.0/8"], rate=False) as up:
        xff = ["X-Forwarded-For: 203.0.113.99, 198.51.100.1, 127.0.0.2"]
        # Right to left, the first address that is not a trusted proxy.
        assert curl(up.url("/ip"), headers=xff).body == "198.51.100.1\n"
        assert curl(up.url("/ip"), headers=["X-Real-IP: 2001:db8::99"]).body == "2001:db8::99\n"
        # From ::1 (not trusted) the headers are ignored.
        assert curl(up.url("/ip", v6=True), headers=xff).body == "::1\n"
        h, tok = "a.example.com", "tokenA-0123456789abcdef"
        r = curl(up.url("/nic/update?hostname=%s" % h), user=(h, tok),
                 headers=["X-Forwarded-For: 203.0.113.5"])
        assert r.body == "good 203.0.113.5\n"
    with Updater(store, tmp_path, rate=False) as up:
        assert curl(up.url("/ip"), headers=["X-Forwarded-For: 203.0.113.99",
                                            "X-Real-IP: 203.0.113.98"]).body == "127.0.0.1\n"


def test_rate_limit_per_client(tmp_path, store, ctl):
    populate(ctl)
    with Updater(store, tmp_path, args=["--rate-limit", "0.01", "--rate-burst", "3"]) as up:
        h, tok = "b.example.com", "tokenB-0123456789abcdef"
        for _ in range(3):
            assert curl(up.url("/ip")).status == 200
        r = curl(up.url("/nic/update?hostname=%s&myip=192.0.2.1" % h), user=(h, tok))
        assert (r.status, r.body) == (200, "abuse\n")
        assert int(r.header("retry-after")) >= 1
        r = curl(up.url("/ip"))
        assert r.status == 429 and int(r.header("retry-after")) >= 1
        # Another client address has its own bucket; /health is never limited.
        assert curl(up.url("/ip", v6=True)).status == 200
        assert curl(up.url("/health")).status == 200
        assert host_addrs(ctl, h) == (None, None)


def test_environment_configuration(tmp_path, store, ctl):
    populate(ctl)
    p1, p2 = free_port(udp_too=False), free_port(udp_too=False)
    env = {"KYEDNS_DB": store,
           "KYEDNS_LISTEN": "127.0.0.1:%d,[::1]:%d" % (p1, p2),
           "KYEDNS_TRUSTED_PROXY": "::1",
           "KYEDNS_RATE_LIMIT": "0"}
    up = Updater(None, tmp_path, env=env, listen=[])
    up.port = p1
    with up:
        assert curl("http://127.0.0.1:%d/ip" % p1).body == "127.0.0.1\n"
        r = curl("http://[::1]:%d/ip" % p2, headers=["X-Forwarded-For: 192.0.2.44"])
        assert r.body == "192.0.2.44\n"
        h, tok = "c.example.com", "tokenC-0123456789abcdef"
        r = curl("http://[::1]:%d/nic/update?hostname=%s&myip=192.0.2.45" % (p2, h),
                 user=(h, tok))
        assert r.body == "good 192.0.2.45\n"
    assert up.returncode == 0
    assert "stopped" in up.log_text()


def test_start_failures_are_one_line(tmp_path, store, ctl):
    exe = binary("kyedns-updater")
    p = subprocess.run([exe, "--db", str(tmp_path / "missing"), "--listen",
                        "127.0.0.1:%d" % free_port(udp_too=False)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert re.match(r"\S+Z error kyedns-updater\[\d+\]: cannot open store .*missing \(.+\)\n$",
                    p.stderr), p.stderr
    populate(ctl)
    p = subprocess.run([exe, "--db", store, "--listen", "not-an-address"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0 and "cannot listen on not-an-address" in p.stderr
    p = subprocess.run([exe, "--bogus"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "unknown option --bogus" in p.stderr


def writer_lock(db):
    """LMDB's writer mutex as (owner tid, someone waits): a robust pthread
    mutex 64 bytes into lock.mdb (after the reader-table header's cache
    line) whose lock word is the owner's tid, with bit 31 set while a
    thread sleeps on it."""
    with open(os.path.join(db, "lock.mdb"), "rb") as f:
        f.seek(64)
        w = struct.unpack("<I", f.read(4))[0]
    return w & 0x3fffffff, bool(w & 0x80000000)


def wait_for(cond, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting until " + what
        time.sleep(0.005)


def test_no_nochg_while_a_change_is_in_flight(env):
    """Found in review: request 1 (A -> B) is with the writer when request 2
    (back to A) arrives.  Judged from the last commit, 2 looks unchanged;
    answering nochg would lose it once 1 commits.  It must go through the
    writer too, so the host ends at A and both are acknowledged as changes.
    The writer is held up deterministically: mdb_load holds LMDB's write
    lock while it waits for its input."""
    ctl, up = env
    (h,), tok = fresh(ctl)
    assert upd(up, "hostname=%s&myip=192.0.2.10" % h, (h, tok)).body == "good 192.0.2.10\n"
    holder = subprocess.Popen(["mdb_load", "-s", "names", ctl.db], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    holder.stdin.write("VERSION=3\nformat=print\ntype=btree\nHEADER=END\n")
    holder.stdin.flush()
    wait_for(lambda: writer_lock(ctl.db)[0] == holder.pid, "mdb_load holds the writer lock")

    def start(ip):
        return subprocess.Popen(["curl", "-sS", "--max-time", "20", "-u", "%s:%s" % (h, tok),
                                 up.url("/nic/update?hostname=%s&myip=%s" % (h, ip))],
                                stdout=subprocess.PIPE, text=True)
    try:
        first = start("192.0.2.11")
        wait_for(lambda: writer_lock(ctl.db)[1], "the updater's writer waits for the lock")
        second = start("192.0.2.10")
        time.sleep(0.3)  # a bound for what must NOT happen: an early answer
        assert second.poll() is None, "answered before the pending change committed"
    finally:
        holder.stdin.write("DATA=END\n")
        holder.stdin.close()
        holder.wait(10)
    assert first.communicate(timeout=20)[0] == "good 192.0.2.11\n"
    assert second.communicate(timeout=20)[0] == "good 192.0.2.10\n"
    assert host_addrs(ctl, h) == ("192.0.2.10", None)


def test_rotated_and_imported_tokens_authenticate(env, tmp_path):
    """Tokens from `host token` and `host import` (given and generated) are
    the ones the updater accepts; a rotated-out token is refused."""
    ctl, up = env
    (h,), old = fresh(ctl)
    new = ctl.json("host", "token", h)["token"]
    assert upd(up, "hostname=%s&myip=192.0.2.20" % h, (h, old)).body == "badauth\n"
    assert upd(up, "hostname=%s&myip=192.0.2.20" % h, (h, new)).body == "good 192.0.2.20\n"
    f = tmp_path / "import.txt"
    given = "imported-0123456789abcdefXYZ"
    f.write_text("imp1-%s.example.com %s\nimp2-%s.example.com -\n" % (h, given, h))
    out = ctl.run("host", "import", str(f)).stdout
    generated = re.search(r"^imp2-\S+ (\S+)$", out, re.M).group(1)
    h1, h2 = "imp1-%s.example.com" % h, "imp2-%s.example.com" % h
    assert upd(up, "hostname=%s&myip=192.0.2.21" % h1, (h1, given)).body == "good 192.0.2.21\n"
    assert upd(up, "hostname=%s&myip=192.0.2.22" % h2, (h2, generated)).body == "good 192.0.2.22\n"
