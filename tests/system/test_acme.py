"""ACME DNS-01 with real clients: a certificate for a dynamic host H and
its wildcard *.H, issued by pebble (Let's Encrypt's ACME test server),
which validates through pdns serving the KyedNS zone.

One order holds both names, so both challenges' TXT values must be at
_acme-challenge.H at the same time: lego presents every DNS-01 challenge
of an order before it asks for validation, and certbot runs its auth hook
for every challenge before it answers any.  If a second value replaced
the first, pebble would find the first missing and refuse the order.

Each flow then checks the certificate (names, chain up to this pebble's
root) and that the TXT is gone from pdns after the client's cleanup,
with pdns's packet cache on; for the flows through kyedns-updater also
that the store holds no value and the host's history shows each value
set and removed.  The refusals (another host's name, a wrong token) must
publish nothing.
"""
import os
import re

import pytest

from acme_util import DIG_TXT, ZONE, AcmeSite, copy_hook, make_tls_ca, missing_tools


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """pebble's HTTPS certificate and the CA the clients trust."""
    missing = missing_tools()
    if missing:
        pytest.fail("not installed: %s (Debian packages pebble, lego, certbot; "
                    "scripts/deps.sh installs them)" % ", ".join(missing))
    return make_tls_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def site(tmp_path, tls):
    with AcmeSite(tmp_path, tls) as s:
        yield s


def check_issued(site, cert):
    """The certificate names exactly H and *.H and chains to pebble's root."""
    assert site.cert_names(cert) == {site.host, "*." + site.host}
    out = site.verify_chain(cert)
    assert out.strip().endswith("OK"), out


def check_cleaned(site, agent, challenges=(2,)):
    """After a client's cleanup through the updater: pdns answers no TXT at
    _acme-challenge.H, the store holds no value for H, and H's history has,
    for each order (challenges: how many each had, normally 2: H and *.H),
    its values set, then removed, each by the client (its User-Agent begins
    with agent)."""
    assert site.txt_values() == set()
    assert site.acme_values() == []
    hist = site.history()
    want = []
    for n in challenges:
        want += ["txt-set"] * n + ["txt-clear"] * n
    assert [h["result"] for h in hist] == want, hist
    for h in hist:
        assert h["agent"].startswith(agent) and h["client"] == "127.0.0.1", h
        assert h["new_ipv4"] is None and h["new_ipv6"] is None, h


def test_lego_pdns_provider(site):
    """lego's pdns provider writes the TXT RRset through pdns's HTTP API
    (PATCH), which pdns passes to kyedns-backend, into the store."""
    api = site.pdns.stack
    cert = site.lego("pdns", {"PDNS_API_URL": api.api_url, "PDNS_API_KEY": api.api_key,
                              "PDNS_TTL": "60", "PDNS_POLLING_INTERVAL": "0"})
    check_issued(site, cert)
    assert site.txt_values() == set()
    # Nothing left in the zone either (lego's cleanup deletes the RRset).
    status, zone = site.pdns.api("GET", "/zones/%s." % site.zone)
    assert status == 200, zone
    left = [r for r in zone["rrsets"] if r["name"].rstrip(".") == site.challenge]
    assert left == [], left


def httpreq_env(site, user=None, token=None, mode=None):
    env = {"HTTPREQ_ENDPOINT": site.updater.url("/api/v1/httpreq"),
           "HTTPREQ_USERNAME": user or site.host,
           "HTTPREQ_PASSWORD": token or site.token,
           "HTTPREQ_POLLING_INTERVAL": "0"}
    if mode:
        env["HTTPREQ_MODE"] = mode
    return env


@pytest.mark.parametrize("mode", [None, "RAW"])
def test_lego_httpreq(site, mode):
    """lego's httpreq provider: POST <endpoint>/present and /cleanup with
    Basic auth H:TOKEN and {"fqdn": "_acme-challenge.H.", "value": ...},
    or in RAW mode {"domain": "H", "token": ..., "keyAuth": ...}, from
    which the updater derives the value (RFC 8555 8.4)."""
    cert = site.lego("httpreq", httpreq_env(site, mode=mode))
    check_issued(site, cert)
    check_cleaned(site, "Go-http-client/")
    log = site.updater.log_text()
    for op in ("present", "cleanup"):
        hits = re.findall(r"path=/api/v1/httpreq/%s .*status=200 " % op, log)
        assert len(hits) == 2, log[-3000:]


OTHER = "other." + ZONE
OTHER_TOKEN = "acme-other-token-0123456789abcdef"


def test_lego_httpreq_other_host_refused(tmp_path, tls):
    """H's credentials cannot publish a challenge for another host: lego
    fails at present, no certificate, nothing in DNS for either name."""
    with AcmeSite(tmp_path, tls, others={OTHER: OTHER_TOKEN}) as site:
        site.lego("httpreq", httpreq_env(site), domains=[OTHER], ok=False)
        assert not os.path.exists(os.path.join(site.tmp, "lego-httpreq", "certificates",
                                               OTHER + ".crt"))
        assert site.txt_values("_acme-challenge." + OTHER) == set()
        assert site.txt_values() == set()
        # Refused by the updater for want of authority, not for any other
        # reason (a missing endpoint would fail lego too).
        log = site.updater.log_text()
        assert re.search(r"path=/api/v1/httpreq/present .*status=40[13] ", log), log[-3000:]


# Runs certbot's auth hook, then records what pdns answers at the
# challenge name right after it (the same query as AcmeSite.txt_values).
WRAPPER = """#!/bin/sh
"%(hook)s" || exit $?
{
	echo "== $CERTBOT_DOMAIN $CERTBOT_VALIDATION"
	dig @127.0.0.1 -p %(port)d +tcp +time=5 +tries=1 %(dig)s "_acme-challenge.$CERTBOT_DOMAIN" TXT
} >>"%(log)s"
"""


def read_hook_log(log):
    """[(CERTBOT_DOMAIN, CERTBOT_VALIDATION, {TXT value: TTL} pdns answered
    right after that auth hook)] from the wrapper's log."""
    with open(log) as f:
        blocks = f.read().split("== ")[1:]
    out = []
    for b in blocks:
        lines = b.splitlines()
        domain, value = lines[0].split()
        answered = {}
        for line in lines[1:]:
            f = line.split(None, 4)
            if len(f) == 5 and f[3] == "TXT":
                answered[f[4].strip('"')] = int(f[1])
        out.append((domain, value, answered))
    return out


def test_certbot_manual_hooks_txt(site):
    """certbot --manual with hooks that call /nic/update?hostname=H&txt=V
    (clear=true to remove) with curl; then a renewal, which finds the
    hooks in certbot's renewal configuration."""
    auth = copy_hook("certbot-auth-hook", site.tmp)
    cleanup = copy_hook("certbot-cleanup-hook", site.tmp)
    log = os.path.join(site.tmp, "auth-hook.log")
    wrapper = os.path.join(site.tmp, "auth-and-dig")
    with open(wrapper, "w") as f:
        f.write(WRAPPER % {"hook": auth, "port": site.pdns.dns_port, "dig": " ".join(DIG_TXT),
                           "log": log})
    os.chmod(wrapper, 0o755)
    # The hooks' settings come from their configuration file, as for a
    # renewal by certbot's timer.
    conf = os.path.join(site.tmp, "acme.conf")
    with open(conf, "w") as f:
        f.write("KYEDNS_URL=%s\nKYEDNS_TOKEN=%s\n" % (site.updater.url(""), site.token))
    cert = site.certbot(wrapper, cleanup, {"KYEDNS_ACME_CONF": conf})
    check_issued(site, cert)

    # Two challenges (H and *.H), both for CERTBOT_DOMAIN=H; after the
    # second auth hook pdns answered both values, each with the updater's
    # short TTL (--acme-ttl, 60 s by default).
    def check_hooks(hooks):
        assert len(hooks) == 2, hooks
        assert [h[0] for h in hooks] == [site.host] * 2, hooks
        (_, v1, seen1), (_, v2, seen2) = hooks
        assert v1 != v2 and set(seen1) == {v1}, hooks
        assert seen2 == {v1: 60, v2: 60}, hooks

    check_hooks(read_hook_log(log))
    # The cleanup hook cleared both, and pdns's packet cache (which held
    # the answer the wrapper's dig saw) was purged.
    check_cleaned(site, "curl/")

    serial = site.cert_serial(cert)
    cert = site.certbot_renew({"KYEDNS_ACME_CONF": conf})
    check_issued(site, cert)
    assert site.cert_serial(cert) != serial
    # The renewal: normally two challenges again.  Once in many runs pebble
    # 2.4 handed certbot one authorization of the first order, still
    # valid, in spite of PEBBLE_AUTHZREUSE=0, and certbot then ran the hook
    # once: every hook that ran must have published its value, with the
    # short TTL, for H.
    renewal = read_hook_log(log)[2:]
    if len(renewal) == 2:
        check_hooks(renewal)
    else:
        assert len(renewal) == 1, renewal
        (domain, v, seen), = renewal
        assert domain == site.host and seen.get(v) == 60, renewal
    check_cleaned(site, "curl/", challenges=(2, len(renewal)))


def test_certbot_hook_reports_refusal(site):
    """A wrong token: the auth hook fails with the updater's reply, certbot
    gives up, nothing is published or stored."""
    auth = copy_hook("certbot-auth-hook", site.tmp)
    cleanup = copy_hook("certbot-cleanup-hook", site.tmp)
    out = site.certbot(auth, cleanup, {"KYEDNS_URL": site.updater.url(""),
                                       "KYEDNS_TOKEN": "not-the-token-0123456789"}, ok=False)
    assert "kyedns: txt= for %s refused: badauth" % site.host in out, out[-3000:]
    assert not os.path.exists(os.path.join(site.tmp, "certbot", "config", "live"))
    assert site.txt_values() == set()
    assert site.acme_values() == []
    assert [h["result"] for h in site.history() if h["result"].startswith("txt")] == []

