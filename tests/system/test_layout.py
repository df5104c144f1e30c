"""The usual operator layout: a static parent zone in pdns's bind backend
delegates to a dynamic child zone in KyedNS, both served by one pdns.

pdns 4.7 asks its backends in launch order and lets the first one that
holds a zone for a name answer for it: with the bind backend first, the
parent's delegation wins for every child name (a referral); with KyedNS
first, the child answers authoritatively.  test_launch_order measures both
orders on a plain pdns.conf.

test_debian_layout then installs the project's shipped snippet (the one
*.conf in pdns-conf/) verbatim into a pdns.d/ beside Debian's own bind.conf
(from pdns-backend-bind), under Debian's pdns.conf (include-dir, launch=),
and checks that the child is authoritative, that dyndns updates through
kyedns-updater are served at once (the snippet keeps pdns's caches on; the
updater purges them through the API) and that an API PATCH of the child
works while the parent stays as it was.  A last file, zz-test.conf, only
moves ports, socket and key onto the test's loopback ports.
"""
import glob
import json
import os
import subprocess
import time
import urllib.request

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from backend_util import Pdns, _stop_proc, _wait, pdns_env, PDNS_SERVER, start_backend
from conftest import ROOT, Ctl, free_port
from updater_util import Updater, curl

PARENT = "example.test"
CHILD = "dyn.example.test"
HOST = "home." + CHILD
TOKEN = "layout-token-0123456789"
DEBIAN_BIND_CONF = "/etc/powerdns/pdns.d/bind.conf"

PARENT_ZONE = """example.test.        3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 3600 600 604800 300
example.test.        3600 IN NS  ns1.example.test.
ns1.example.test.    3600 IN A   192.0.2.1
www.example.test.    3600 IN A   192.0.2.80
dyn.example.test.    3600 IN NS  ns1.dyn.example.test.
ns1.dyn.example.test. 3600 IN A  192.0.2.53
"""


def _fill(tmp):
    """The child zone in a new store, the parent's zone file and
    named.conf; returns (db, named.conf path)."""
    db = os.path.join(tmp, "db")
    ctl = Ctl(db)
    ctl.run("zone", "add", CHILD, "--ns", "ns1." + CHILD)
    ctl.run("record", "add", "ns1." + CHILD, "A", "192.0.2.53")
    ctl.run("host", "add", HOST, "--token", TOKEN, "--ipv4", "192.0.2.10")
    zfile = os.path.join(tmp, "example.test.zone")
    with open(zfile, "w") as f:
        f.write(PARENT_ZONE)
    named = os.path.join(tmp, "named.conf")
    with open(named, "w") as f:
        f.write('zone "%s" { type master; file "%s"; };\n' % (PARENT, zfile))
    return db, named


def _query(port, name, rdtype="A"):
    q = dns.message.make_query(name, rdtype)
    q.flags = 0
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=3)


def _answer(r):
    return sorted(rd.to_text() for rrset in r.answer for rd in rrset)


def _is_referral(r):
    """NOERROR, not authoritative, no answer, the child's NS in authority."""
    ns = [rrset for rrset in r.authority if rrset.rdtype == dns.rdatatype.NS]
    return (r.rcode() == dns.rcode.NOERROR and not r.flags & dns.flags.AA and not r.answer
            and len(ns) == 1 and ns[0].name.to_text() == CHILD + ".")


def _is_auth(r, want):
    return r.rcode() == dns.rcode.NOERROR and bool(r.flags & dns.flags.AA) and _answer(r) == want


@pytest.mark.parametrize("order", ["bind,remote", "remote,bind"])
def test_launch_order(tmp_path, order):
    """Measures which backend answers for the child's names by launch order."""
    db, named = _fill(str(tmp_path))
    sock = str(tmp_path / "backend.sock")
    backend = start_backend(db, sock, str(tmp_path / "backend.log"))
    pdns = None
    try:
        pdns = Pdns(tmp_path, sock, {
            "launch": order, "launch+": None, "bind-config": named, "remote-dnssec": "yes",
            "cache-ttl": 0, "query-cache-ttl": 0, "negquery-cache-ttl": 0}).wait_ready()
        www = _query(pdns.dns_port, "www." + PARENT)
        assert _is_auth(www, ["192.0.2.80"]), www
        host = _query(pdns.dns_port, HOST)
        soa = _query(pdns.dns_port, CHILD, "SOA")
        if order == "bind,remote":
            # the parent's referral shadows the whole child zone
            assert _is_referral(host), host
            assert _is_referral(soa), soa
        else:
            assert _is_auth(host, ["192.0.2.10"]), host
            assert soa.flags & dns.flags.AA and soa.answer, soa
        pdns.stop()
        assert backend.stop() == 0, backend.log_text()[-3000:]
    finally:
        if pdns is not None:
            pdns.stop()
        backend.stop()


def shipped_snippet():
    """The project's pdns.d snippet: the one top-level pdns-conf/*.conf
    that launches the remote backend."""
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "pdns-conf", "*.conf"))):
        with open(path) as f:
            lines = [l.strip() for l in f if l.strip().startswith("launch")]
        if any("remote" in l for l in lines):
            found.append(path)
    assert len(found) == 1, "want one launching snippet in pdns-conf/, got %r" % found
    return found[0]


def effective_launch(conf_dir):
    """The launch list pdns 4.7 builds from pdns.conf and its include-dir:
    the main file first, then the *.conf files sorted case-insensitively;
    `launch=` sets, `launch+=` appends."""
    files = [os.path.join(conf_dir, "pdns.conf")]
    files += sorted(glob.glob(os.path.join(conf_dir, "pdns.d", "*.conf")),
                    key=lambda p: os.path.basename(p).lower())
    launch = []
    for path in files:
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line.startswith("launch+="):
                    launch += [b.strip() for b in line[8:].split(",") if b.strip()]
                elif line.startswith("launch="):
                    launch = [b.strip() for b in line[7:].split(",") if b.strip()]
    return launch


class DebianPdns:
    """pdns_server with a Debian-style configuration directory:
    pdns.conf (as Debian 12 ships it) including pdns.d/ with Debian's
    bind.conf, the project's snippet and zz-test.conf (test ports)."""

    def __init__(self, tmp, sock, named):
        if not os.path.exists(DEBIAN_BIND_CONF):
            pytest.fail("%s missing: install pdns-backend-bind (scripts/deps.sh)"
                        % DEBIAN_BIND_CONF)
        self.dir = os.path.join(tmp, "etc-powerdns")
        incl = os.path.join(self.dir, "pdns.d")
        os.makedirs(incl)
        with open(os.path.join(self.dir, "pdns.conf"), "w") as f:
            f.write("include-dir=%s\nlaunch=\nsecurity-poll-suffix=\n" % incl)
        with open(DEBIAN_BIND_CONF) as src, open(os.path.join(incl, "bind.conf"), "w") as dst:
            dst.write(src.read())
        self.snippet = shipped_snippet()
        with open(self.snippet) as src, \
                open(os.path.join(incl, os.path.basename(self.snippet)), "w") as dst:
            dst.write(src.read())
        self.dns_port = free_port()
        self.api_port = free_port(udp_too=False)
        self.api_key = "layout-key-0123456789abcdef"
        with open(os.path.join(incl, "zz-test.conf"), "w") as f:
            f.write("local-address=127.0.0.1\nlocal-port=%d\n"
                    "webserver-address=127.0.0.1\nwebserver-port=%d\napi-key=%s\n"
                    "remote-connection-string=unix:path=%s,timeout=2000\n"
                    "bind-config=%s\nbind-supermaster-config=%s\n"
                    "bind-supermaster-destdir=%s\nonly-notify=\n"
                    % (self.dns_port, self.api_port, self.api_key, sock, named,
                       os.path.join(tmp, "supermaster.conf"), tmp))
        self.log = os.path.join(self.dir, "pdns.log")
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [PDNS_SERVER, "--config-dir=" + self.dir, "--socket-dir=" + self.dir,
             "--guardian=no", "--daemon=no", "--disable-syslog", "--write-pid=no",
             "--loglevel=6"], stdout=self._logf, stderr=self._logf, env=pdns_env())

    def wait_ready(self):
        _wait(lambda: _query(self.dns_port, "ready.invalid.", "SOA") is not None, 20,
              "pdns_server", self.proc, self.log)
        return self

    def launch(self):
        """The launch setting in effect (pdns_control current-config)."""
        p = subprocess.run(["pdns_control", "--config-dir=" + self.dir,
                            "--socket-dir=" + self.dir, "current-config"],
                           capture_output=True, text=True, timeout=30)
        return [[b.strip() for b in l.split("=", 1)[1].split(",")]
                for l in p.stdout.splitlines() if l.startswith("launch=")]

    def api(self, method, path, body=None):
        req = urllib.request.Request("http://127.0.0.1:%d/api/v1/servers/localhost%s"
                                     % (self.api_port, path), method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"X-API-Key": self.api_key,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self):
        _stop_proc(self.proc)
        self._logf.close()

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()[-3000:]


def test_debian_layout(tmp_path):
    tmp = str(tmp_path)
    db, named = _fill(tmp)
    sock = os.path.join(tmp, "backend.sock")
    backend = start_backend(db, sock, os.path.join(tmp, "backend.log"))
    pdns = up = None
    try:
        pdns = DebianPdns(tmp, sock, named)
        launch = effective_launch(pdns.dir)
        where = "launch in effect %r (snippet %s beside Debian's bind.conf)" % (
            launch, os.path.basename(pdns.snippet))
        # KyedNS must come first, and the bind backend must stay launched
        names = [b.split(":")[0] for b in launch]
        assert "remote" in names and "bind" in names and \
            names.index("remote") < names.index("bind"), where
        pdns.wait_ready()
        assert pdns.launch() == [launch], (pdns.launch(), where)
        # the parent, from the bind backend
        www = _query(pdns.dns_port, "www." + PARENT)
        assert _is_auth(www, ["192.0.2.80"]), "%s\n%s\n%s" % (where, www, pdns.log_text())
        # the child, authoritative from KyedNS
        host = _query(pdns.dns_port, HOST)
        assert _is_auth(host, ["192.0.2.10"]), "%s\n%s" % (where, host)
        soa = _query(pdns.dns_port, CHILD, "SOA")
        assert soa.flags & dns.flags.AA and soa.answer, "%s\n%s" % (where, soa)

        # dyndns: served at once although the snippet's caches are on (the
        # answer above is cached; the updater purges it through the API)
        up = Updater(db, tmp, rate=False,
                     args=["--pdns-api", "http://127.0.0.1:%d" % pdns.api_port,
                           "--pdns-api-key", pdns.api_key]).wait_ready()
        r = curl(up.url("/nic/update?hostname=%s&myip=198.51.100.7" % HOST), user=(HOST, TOKEN))
        assert (r.status, r.body.strip()) == (200, "good 198.51.100.7"), r
        t0 = time.monotonic()
        while _answer(_query(pdns.dns_port, HOST)) != ["198.51.100.7"]:
            assert time.monotonic() - t0 < 3, "update not served: %s" % _query(pdns.dns_port, HOST)
            time.sleep(0.05)

        # the pdns API edits the child; the parent in bind is untouched
        st, body = pdns.api("PATCH", "/zones/%s." % CHILD, {"rrsets": [{
            "name": "www.%s." % CHILD, "type": "A", "ttl": 300, "changetype": "REPLACE",
            "records": [{"content": "192.0.2.77", "disabled": False}]}]})
        assert st == 204, (st, body)
        assert _is_auth(_query(pdns.dns_port, "www." + CHILD), ["192.0.2.77"])
        st, body = pdns.api("GET", "/zones/%s." % CHILD)
        assert st == 200, (st, body)
        names = {(r["name"], r["type"]) for r in json.loads(body)["rrsets"]}
        assert ("www.%s." % CHILD, "A") in names and (HOST + ".", "A") in names, names
        assert _is_auth(_query(pdns.dns_port, "www." + PARENT), ["192.0.2.80"])
        with open(os.path.join(tmp, "example.test.zone")) as f:
            assert f.read() == PARENT_ZONE
        # the host's address survived the API edit
        assert _answer(_query(pdns.dns_port, HOST)) == ["198.51.100.7"]
        assert up.stop() == 0
        pdns.stop()
        assert backend.stop() == 0, backend.log_text()[-3000:]
    finally:
        if up is not None:
            up.stop()
        if pdns is not None:
            pdns.stop()
        backend.stop()
