"""kyedns-updater: ACME DNS-01 values at _acme-challenge.<host>, in every
shape the common clients send them (issue 12), checked through the real
stack: a store made by kyednsctl, kyedns-backend, pdns_server (with its
packet cache on, so only the updater's purge makes a new value visible at
once) and dig.

Shapes: dyndns txt= (DuckDNS semantics: txt=V sets, txt=V&clear=true
removes V, clear=true removes all), hostname=_acme-challenge.H (Hurricane
Electric: an empty txt= clears), the same as a form POST (HE.net's acme.sh
hook), lego's httpreq provider (default and RAW mode), and acme-dns clients.
The real-ACME issuance tests (pebble, lego, certbot) are in test_acme.py."""
import base64
import hashlib
import json
import time

import pytest

from conftest import Ctl
from updater_util import Updater, updater_with_pdns, dig_rrs, curl, host_addrs, metric, populate, wait_for

HOSTS = {
    "a.example.com": "acmeA-0123456789abcdefXYZ",
    "b.example.com": "acmeB-0123456789abcdefXYZ",
    "c.example.com": "acmeC-0123456789abcdefXYZ",
    "d.example.com": "acmeD-0123456789abcdefXYZ",
    "e.example.com": "acmeE-0123456789abcdefXYZ",
    "f.example.com": "acmeF-0123456789abcdefXYZ",
    "g.example.com": "acmeG-0123456789abcdefXYZ",
    "h.example.com": "acmeH-0123456789abcdefXYZ",
    "home.dyn.example.com": "acmeHome-0123456789abcdefXYZ",
}

# Values as ACME makes them: 43 base64url characters.
def value(seed):
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode().rstrip("=")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("acme")
    db = str(tmp / "db")
    ctl = Ctl(db)
    populate(ctl, hosts={})
    ctl.run("zone", "add", "dyn.example.com", "--ns", "ns1.example.com")
    for h, t in HOSTS.items():
        ctl.run("host", "add", h, "--token", t)
    with updater_with_pdns(tmp, db, ["--allow-loopback"]) as (stack, up):
        yield ctl, stack, up


def dig(stack, name, rdtype="TXT"):
    """(rcode, sorted [(ttl, text)]) of pdns's answer, through dig."""
    return dig_rrs(stack, name, rdtype)


def txts(stack, host):
    rcode, ans = dig(stack, "_acme-challenge.%s." % host)
    return sorted(t.strip('"') for _, t in ans)


def purges(up):
    return metric(up, 'kyedns_purge_total{result="ok"}') or 0


def changed_and_purged(up, before):
    """Waits until the purge that follows a change has reached pdns."""
    wait_for(lambda: purges(up) > before, what="the purge after a change")


def get(up, query, auth=None, path="/nic/update"):
    return curl(up.url("%s?%s" % (path, query)), user=auth)


def post_json(up, path, body, auth=None, headers=()):
    return curl(up.url(path), user=auth, method="POST",
                headers=["Content-Type: application/json"] + list(headers),
                extra=["--data-binary", body])


# ---- dyndns style: DuckDNS semantics on _acme-challenge.H ----

def test_txt_sets_two_values_clear_one_then_all(env):
    ctl, stack, up = env
    h, tok = "a.example.com", HOSTS["a.example.com"]
    v1, v2 = value("a1"), value("a2")
    assert txts(stack, h) == []  # pdns now holds the negative answer in its cache
    n = purges(up)
    r = get(up, "hostname=%s&txt=%s" % (h, v1), (h, tok))
    assert (r.status, r.body) == (200, "good\n")
    changed_and_purged(up, n)
    assert txts(stack, h) == [v1]
    # A wildcard plus apex certificate: two values at once.
    n = purges(up)
    r = get(up, "hostname=%s&token=%s&txt=%s" % (h, tok, v2))
    assert (r.status, r.body) == (200, "good\n")
    changed_and_purged(up, n)
    assert txts(stack, h) == sorted([v1, v2])
    # Short TTL (--acme-ttl default 60).
    _, ans = dig(stack, "_acme-challenge.%s." % h)
    assert {ttl for ttl, _ in ans} == {60}
    # Setting a value again refreshes it: still good, nothing duplicated.
    r = get(up, "hostname=%s&txt=%s" % (h, v2), (h, tok))
    assert (r.status, r.body) == (200, "good\n")
    # txt=V&clear=true removes V only.
    n = purges(up)
    r = get(up, "hostname=%s&txt=%s&clear=true" % (h, v1), (h, tok))
    assert (r.status, r.body) == (200, "good\n")
    changed_and_purged(up, n)
    assert txts(stack, h) == [v2]
    # Removing it again changes nothing.
    r = get(up, "hostname=%s&txt=%s&clear=true" % (h, v1), (h, tok))
    assert (r.status, r.body) == (200, "nochg\n")
    # clear=true alone removes every value.
    n = purges(up)
    r = get(up, "hostname=%s&clear=true" % h, (h, tok), path="/api/v1/nic/update")
    assert (r.status, r.body) == (200, "good\n")
    changed_and_purged(up, n)
    assert txts(stack, h) == []
    assert dig(stack, "_acme-challenge.%s." % h)[0] == "NXDOMAIN"
    # The host's addresses were never touched.
    assert host_addrs(ctl, h) == (None, None)


def test_he_style_owner_name_and_empty_txt_clears(env):
    ctl, stack, up = env
    h, tok = "b.example.com", HOSTS["b.example.com"]
    v = value("b1")
    # HE.net's dynamic TXT: the owner name as hostname, the key as password,
    # no user name.
    r = get(up, "hostname=_acme-challenge.%s&password=%s&txt=%s" % (h, tok, v))
    assert (r.status, r.body) == (200, "good\n")
    wait_for(lambda: txts(stack, h) == [v], what="the HE-style value")
    n = purges(up)
    r = get(up, "hostname=_acme-challenge.%s&password=%s&txt=" % (h, tok))
    assert (r.status, r.body) == (200, "good\n")
    changed_and_purged(up, n)
    assert txts(stack, h) == []


def test_form_post_as_hes_acme_sh_hook_sends_it(env):
    ctl, stack, up = env
    h, tok = "c.example.com", HOSTS["c.example.com"]
    v = value("c1")
    # acme.sh dns_he_ddns: _post "hostname=$fulldomain&password=$KEY&txt=$txtvalue"
    # (curl --data: application/x-www-form-urlencoded).
    body = "hostname=_acme-challenge.%s&password=%s&txt=%s" % (h, tok, v)
    r = curl(up.url("/nic/update"), method="POST", extra=["--data", body])
    assert (r.status, r.body) == (200, "good\n")
    wait_for(lambda: txts(stack, h) == [v], what="the posted value")
    r = curl(up.url("/nic/update"), method="POST",
             extra=["--data", "hostname=_acme-challenge.%s&password=%s&txt=" % (h, tok)])
    assert (r.status, r.body) == (200, "good\n")
    wait_for(lambda: txts(stack, h) == [], what="the posted clear")
    # A POST that is not a form is still not an update.
    r = curl(up.url("/nic/update?" + body), method="POST")
    assert r.status == 405


def test_values_are_checked_and_capped(env):
    ctl, stack, up = env
    h, tok = "d.example.com", HOSTS["d.example.com"]
    for bad in ("has%20space", "quote%22", "back%5Cslash", "x" * 256, "caf%C3%A9"):
        r = get(up, "hostname=%s&txt=%s" % (h, bad), (h, tok))
        assert (r.status, r.body) == (400, "dnserr\n"), bad
    assert txts(stack, h) == []
    vals = [value("d%d" % i) for i in range(5)]
    for v in vals[:4]:
        assert get(up, "hostname=%s&txt=%s" % (h, v), (h, tok)).body == "good\n"
    # The fifth live value is refused (the host's cap), the others stay.
    r = get(up, "hostname=%s&txt=%s" % (h, vals[4]), (h, tok))
    assert (r.status, r.body) == (200, "dnserr\n")
    up.wait_log(r"refused ACME value of d\.example\.com\. \(the host has its maximum")
    wait_for(lambda: txts(stack, h) == sorted(vals[:4]), what="four values")
    assert get(up, "hostname=%s&clear=true" % h, (h, tok)).body == "good\n"


def test_a_token_writes_only_its_own_host(env):
    ctl, stack, up = env
    a, b = "e.example.com", "f.example.com"
    v = value("e1")
    # a's token for b's owner: nohost, in every shape; b unchanged.
    r = get(up, "hostname=%s&txt=%s" % (b, v), (a, HOSTS[a]))
    assert (r.status, r.body) == (200, "nohost\n")
    r = get(up, "hostname=_acme-challenge.%s&password=%s&txt=%s" % (b, HOSTS[a], v))
    assert (r.status, r.body) == (401, "badauth\n")
    r = post_json(up, "/api/v1/httpreq/present",
                  json.dumps({"fqdn": "_acme-challenge.%s." % b, "value": v}), (a, HOSTS[a]))
    assert r.status == 403
    r = post_json(up, "/api/v1/acme-dns/update", json.dumps({"subdomain": b, "txt": v}),
                  headers=["X-Api-User: " + a, "X-Api-Key: " + HOSTS[a]])
    assert (r.status, json.loads(r.body)) == (401, {"error": "forbidden"})
    # Wrong token: badauth, nothing learnt.
    r = get(up, "hostname=%s&txt=%s" % (b, v), (b, "wrong-token-0123456789abcdef"))
    assert r.status == 401
    assert txts(stack, b) == []
    # No other name or type: a deeper name is not a host, so notfqdn/nohost.
    r = get(up, "hostname=_acme-challenge.x.%s&txt=%s" % (a, v), (a, HOSTS[a]))
    assert r.body in ("nohost\n", "notfqdn\n")
    assert dig(stack, "_acme-challenge.x.%s." % a)[0] == "NXDOMAIN"
    assert host_addrs(ctl, a) == (None, None)


# ---- lego's httpreq provider ----

def test_httpreq_present_and_cleanup(env):
    ctl, stack, up = env
    h, tok = "g.example.com", HOSTS["g.example.com"]
    v1, v2 = value("g1"), value("g2")
    # lego: json.NewEncoder(...).Encode(msg) (a trailing newline),
    # Content-Type: application/json, Basic HTTPREQ_USERNAME:HTTPREQ_PASSWORD.
    for v in (v1, v2):
        r = post_json(up, "/api/v1/httpreq/present",
                      json.dumps({"fqdn": "_acme-challenge.%s." % h, "value": v}) + "\n",
                      (h, tok))
        assert r.status == 200, r
    wait_for(lambda: txts(stack, h) == sorted([v1, v2]), what="two httpreq values")
    n = purges(up)
    r = post_json(up, "/api/v1/httpreq/cleanup",
                  json.dumps({"fqdn": "_acme-challenge.%s." % h, "value": v1}) + "\n", (h, tok))
    assert r.status == 200
    changed_and_purged(up, n)
    assert txts(stack, h) == [v2]
    # RAW mode: domain, token, keyAuth; the value is base64url(sha256(keyAuth)).
    key_auth = "challenge-token.account-thumbprint"
    raw = base64.urlsafe_b64encode(hashlib.sha256(key_auth.encode()).digest()).decode().rstrip("=")
    body = json.dumps({"domain": h, "token": "challenge-token", "keyAuth": key_auth}) + "\n"
    assert post_json(up, "/api/v1/httpreq/present", body, (h, tok)).status == 200
    wait_for(lambda: txts(stack, h) == sorted([v2, raw]), what="the RAW value")
    assert post_json(up, "/api/v1/httpreq/cleanup", body, (h, tok)).status == 200
    r = post_json(up, "/api/v1/httpreq/cleanup",
                  json.dumps({"fqdn": "_acme-challenge.%s." % h, "value": v2}), (h, tok))
    assert r.status == 200
    wait_for(lambda: txts(stack, h) == [], what="httpreq cleanup")
    # Refusals: no credentials, a wrong token, bad JSON, a wrong owner, a bad value,
    # a GET.
    body = json.dumps({"fqdn": "_acme-challenge.%s." % h, "value": v1})
    r = post_json(up, "/api/v1/httpreq/present", body)
    assert r.status == 401 and r.header("www-authenticate")
    assert post_json(up, "/api/v1/httpreq/present", body,
                     (h, "wrong-token-0123456789abcdef")).status == 401
    assert post_json(up, "/api/v1/httpreq/present", "{nope", (h, tok)).status == 400
    r = post_json(up, "/api/v1/httpreq/present",
                  json.dumps({"fqdn": "%s." % h, "value": v1}), (h, tok))
    assert r.status == 400 and "notfqdn" in r.body
    r = post_json(up, "/api/v1/httpreq/present",
                  json.dumps({"fqdn": "_acme-challenge.%s." % h, "value": "a b"}), (h, tok))
    assert r.status == 400
    r = curl(up.url("/api/v1/httpreq/present"), user=(h, tok))
    assert r.status == 405 and r.header("allow") == "POST"
    assert txts(stack, h) == []


# ---- acme-dns clients ----

def test_acme_dns_update(env):
    ctl, stack, up = env
    h, tok = "home.dyn.example.com", HOSTS["home.dyn.example.com"]
    hdrs = ["X-Api-User: " + h, "X-Api-Key: " + tok]
    vals = [value("home%d" % i) for i in range(6)]
    # subdomain = the host name ...
    r = post_json(up, "/api/v1/acme-dns/update",
                  json.dumps({"subdomain": h, "txt": vals[0]}), headers=hdrs)
    assert (r.status, json.loads(r.body)) == (200, {"txt": vals[0]})
    assert r.header("content-type") == "application/json"
    # ... or its labels relative to its zone (dyn.example.com).
    r = post_json(up, "/api/v1/acme-dns/update",
                  json.dumps({"subdomain": "home", "txt": vals[1]}), headers=hdrs)
    assert r.status == 200
    wait_for(lambda: txts(stack, h) == sorted(vals[:2]), what="two acme-dns values")
    # acme-dns clients never clean up: a new value replaces the one that
    # expires first once the host's values are full (expiry times have a
    # resolution of one second: the first two are older by at least one).
    time.sleep(1.1)
    for v in vals[2:]:
        assert post_json(up, "/api/v1/acme-dns/update",
                         json.dumps({"subdomain": h, "txt": v}), headers=hdrs).status == 200
    wait_for(lambda: txts(stack, h) == sorted(vals[2:]), what="the four newest values")
    # Refusals, in acme-dns's own words.
    def err(body, headers):
        r = post_json(up, "/api/v1/acme-dns/update", body, headers=headers)
        return r.status, json.loads(r.body)
    good = json.dumps({"subdomain": h, "txt": vals[0]})
    assert err(good, ["X-Api-User: " + h, "X-Api-Key: wrong-token-0123456789abcdef"]) == \
        (401, {"error": "unauthorized"})
    assert err(good, ["X-Api-Key: " + tok]) == (401, {"error": "unauthorized"})
    assert err(json.dumps({"subdomain": "other", "txt": vals[0]}), hdrs) == \
        (401, {"error": "forbidden"})
    assert err(json.dumps({"subdomain": h, "txt": "no spaces"}), hdrs) == \
        (400, {"error": "bad_txt"})
    assert err("[]", hdrs) == (400, {"error": "malformed_json_payload"})
    assert txts(stack, h) == sorted(vals[2:])
    assert get(up, "hostname=%s&clear=true" % h, (h, tok)).body == "good\n"


# ---- expiry and the garbage collector ----

def test_values_expire_and_are_collected(env, tmp_path):
    """A second updater on the same store with a 2 s lifetime: its value is
    gone (and purged from pdns) shortly after, without any cleanup call."""
    ctl, stack, up = env
    h, tok = "h.example.com", HOSTS["h.example.com"]
    keep = value("h-long")
    assert get(up, "hostname=%s&txt=%s" % (h, keep), (h, tok)).body == "good\n"
    short = value("h-short")
    with Updater(ctl.db, tmp_path, rate=False,
                 args=["--acme-lifetime", "2", "--acme-gc-interval", "0.5",
                       "--pdns-api", stack.api_url, "--pdns-api-key", stack.api_key]) as up2:
        assert get(up2, "hostname=%s&txt=%s" % (h, short), (h, tok)).body == "good\n"
        wait_for(lambda: txts(stack, h) == sorted([keep, short]), what="both values")
        t0 = time.monotonic()
        up2.wait_log(r"removed the expired ACME values of 1 host", timeout=10)
        assert time.monotonic() - t0 < 6
        # Purged: pdns answers without the expired value at once.
        wait_for(lambda: purges(up2) >= 2, what="the purge after the collection")
        assert txts(stack, h) == [keep]
    assert get(up, "hostname=%s&clear=true" % h, (h, tok)).body == "good\n"
