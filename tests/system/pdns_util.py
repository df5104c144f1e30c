"""pdns's own tools against a KyedNS zone: the shared harness of
test_pdns_api.py, test_pdnsutil.py and test_rfc2136.py.

    from pdns_util import PdnsSite
    with PdnsSite(tmp_path) as site:           # zone example.test, made by kyednsctl
        site.pdnsutil("add-record", "example.test", "www", "A", "300", "192.0.2.1")
        assert site.answer("www.example.test", "A") == (300, {"192.0.2.1"})
        status, body = site.api("GET", "/zones/example.test.")

PdnsSite creates a store with kyednsctl (zones must exist before pdns
starts: the remote backend cannot create zones), then starts kyedns-backend
and a real pdns_server (remote-dnssec=yes for TSIG keys, dnsupdate=yes, the
HTTP API, every cache off so each answer comes from the store) on free
loopback ports in the test's temporary directory.  An optional
kyedns-updater writes to the same store.  Leaving the block stops what was
started (pdns, backend, updater), and only that, even when the test failed.

PDNS_TEST_REFERENCE=lmdb runs the same tests against pdns's own lmdb
backend instead (zones made by pdnsutil; tests that need the store skip):
what pdns itself answers, to tell a KyedNS bug from a test's mistake.
Expected differences there: pdns's backends do not bump the serial on an
edit, and lmdb 4.7 neither deletes TSIG keys nor handles replaceRRSet of
qtype ANY (RFC 2136 "delete all RRsets of a name").
"""
import base64
import json
import os
import secrets
import subprocess
import time
import types
import urllib.error
import urllib.request

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.nsbase
import dns.tsig
import dns.tsigkeyring
import pytest

from backend_util import PDNSUTIL, Stack, pdns_env, start_pdns, start_stack
from conftest import Ctl
from updater_util import Updater

ZONE = "example.test"
REFERENCE = os.environ.get("PDNS_TEST_REFERENCE") == "lmdb"

# Every cache off: a change must be visible to the very next query.  The
# global allow-dnsupdate-from is emptied so that only the zone's
# ALLOW-DNSUPDATE-FROM metadata admits an RFC 2136 client.
SETTINGS = {
    "remote-dnssec": "yes",
    "dnsupdate": "yes",
    "allow-dnsupdate-from": "",
    "cache-ttl": 0,
    "query-cache-ttl": 0,
    "negquery-cache-ttl": 0,
    "zone-cache-refresh-interval": 0,
    "dname-processing": "yes",  # off by default; DNAME tests want synthesis
}


def _register_mailbox_types():
    """dnspython 2.3 does not know MB, MG and MR (RFC 1035: one domain
    name each); teach it, so zone files and answers with them parse."""
    mod = types.ModuleType("mailbox_types")
    for name, code in (("MB", 7), ("MG", 8), ("MR", 9)):
        setattr(mod, name, type(name, (dns.rdtypes.nsbase.NSBase,), {"__slots__": ()}))
        try:
            dns.rdata.register_type(mod, code, name)
        except dns.rdata.RdatatypeExists:
            pass


_register_mailbox_types()


def new_secret():
    """A fresh base64 TSIG secret (32 random bytes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def make_zone(ctl, zone=ZONE, ns=("ns1", "ns2")):
    """Creates zone with kyednsctl, NS names ns1.zone, ns2.zone."""
    args = ["zone", "add", zone]
    for n in ns:
        args += ["--ns", "%s.%s" % (n, zone)]
    ctl.run(*args)


class PdnsSite:
    """kyedns-backend + pdns_server (+ kyedns-updater) on one store.

    tmp: directory for everything; zones: names created with kyednsctl
    before pdns starts; prepare(ctl): more kyednsctl work before the start;
    settings: pdns.conf overrides (None removes a setting); updater: also
    start kyedns-updater (rate limit off).  Attributes: ctl, db, stack,
    pdns_dir, dns_port, updater (or None)."""

    def __init__(self, tmp, zones=(ZONE,), prepare=None, settings=None, updater=False):
        self.tmp = str(tmp)
        self.db = os.path.join(self.tmp, "db")
        self.ctl = Ctl(self.db)
        self._zones, self._prepare = zones, prepare
        if not REFERENCE:
            for z in zones:
                make_zone(self.ctl, z)
            if prepare:
                prepare(self.ctl)
        conf = dict(SETTINGS)
        conf.update(settings or {})
        self._conf = conf
        self._want_updater = updater
        self.stack = None
        self.updater = None

    # ---- life cycle ----

    def start(self):
        """Starts the processes (once; a second call does nothing)."""
        if self.stack is not None:
            return self
        if REFERENCE:
            return self._start_reference()
        self.stack = start_stack(self.tmp, self.db, self._conf)
        self.pdns_dir = self.stack.pdns.dir
        self.dns_port = self.stack.dns_port
        if self._want_updater:
            try:
                self.updater = Updater(self.db, self.tmp, rate=False).wait_ready()
            except BaseException:
                self.stack.stop()
                raise
        return self

    def stop(self):
        """Stops the updater, pdns and the backend; returns the backend's
        exit code (None if already stopped)."""
        rc = None
        try:
            if self.updater is not None and self.updater.proc.poll() is None:
                self.updater.stop()
        finally:
            if self.stack is not None:
                rc = self.stack.stop()
        return rc

    def _start_reference(self):
        """PDNS_TEST_REFERENCE=lmdb: the same pdns on its own lmdb backend,
        zones made by pdnsutil, no KyedNS at all.  A development aid that
        shows what pdns's own backend answers to a test; tests that need
        the store (hosts, updater) skip."""
        if self._want_updater or self._prepare:
            pytest.skip("needs KyedNS (reference mode)")
        conf = dict(self._conf)
        conf.update({"launch": "lmdb", "remote-connection-string": None,
                     "remote-dnssec": None,
                     "lmdb-filename": os.path.join(self.tmp, "pdns.lmdb")})
        pdns = start_pdns(self.tmp, "unused", conf)

        class NoBackend:
            sock = None

            def stop(self):
                return 0

            def log_text(self):
                return ""
        self.stack = Stack(NoBackend(), pdns)
        self.pdns_dir = pdns.dir
        self.dns_port = self.stack.dns_port
        try:
            for z in self._zones:
                self.pdnsutil("create-zone", z, "ns1." + z)
                self.pdnsutil("add-record", z, "@", "NS", "ns2.%s." % z)
            pdns.control("rediscover", check=False)
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None:
            assert rc == 0, "kyedns-backend exited %r: %s" % (rc, self.backend_log()[-3000:])
            if self.updater is not None:
                assert self.updater.returncode == 0, "kyedns-updater exited %r: %s" % (
                    self.updater.returncode, self.updater.log_text()[-3000:])

    def backend_log(self):
        return self.stack.backend.log_text()

    def pdns_log(self):
        return self.stack.pdns.log_text()

    # ---- pdnsutil ----

    def pdnsutil_run(self, *args, input=None, env=None, timeout=60):
        """Runs pdnsutil with this site's pdns configuration; returns the
        CompletedProcess (text)."""
        e = pdns_env()
        if env:
            e.update(env)
        return subprocess.run([PDNSUTIL, "--config-dir=" + self.pdns_dir] + [str(a) for a in args],
                              input=input, capture_output=True, text=True, timeout=timeout, env=e)

    def pdnsutil(self, *args, **kw):
        """pdnsutil that must exit 0; returns stdout + stderr."""
        p = self.pdnsutil_run(*args, **kw)
        assert p.returncode == 0, "pdnsutil %s exited %d:\n%s%s\nbackend log:\n%s" % (
            " ".join(map(str, args)), p.returncode, p.stdout, p.stderr, self.backend_log()[-2000:])
        return p.stdout + p.stderr

    def pdnsutil_popen(self, *args, env=None):
        """pdnsutil in the background; stdout and stderr are binary pipes."""
        e = pdns_env()
        if env:
            e.update(env)
        return subprocess.Popen([PDNSUTIL, "--config-dir=" + self.pdns_dir] + [str(a) for a in args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)

    def load_zone(self, text, zone=ZONE, name="zone.txt"):
        """Writes text to a file and runs `pdnsutil load-zone zone file`;
        returns the output."""
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        out = self.pdnsutil("load-zone", zone, path)
        if REFERENCE:  # pdns's own backends need it; KyedNS must not
            self.pdnsutil("rectify-zone", zone)
        return out

    # ---- HTTP API ----

    def api(self, method, path, body=None, timeout=30):
        """One pdns HTTP API request under /api/v1/servers/localhost.
        Returns (status, parsed JSON or text or None)."""
        url = self.stack.api_url + "/api/v1/servers/localhost" + path
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("X-API-Key", self.stack.api_key)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, raw, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
        if not raw:
            return status, None
        text = raw.decode()
        if "json" in ctype:
            return status, json.loads(text)
        return status, text

    def patch(self, rrsets, zone=ZONE):
        return self.api("PATCH", "/zones/%s." % zone, {"rrsets": rrsets})

    # ---- DNS ----

    def query(self, name, rdtype="A", tcp=True, keyring=None, keyname=None, timeout=5):
        """One query (TCP by default: no truncation); returns the message."""
        q = dns.message.make_query(name, rdtype)
        if keyring is not None:
            q.use_tsig(keyring, keyname=keyname, algorithm=dns.tsig.HMAC_SHA256)
        f = dns.query.tcp if tcp else dns.query.udp
        return f(q, "127.0.0.1", port=self.dns_port, timeout=timeout)

    def answer(self, name, rdtype="A"):
        """(ttl, {rdata text}) of an authoritative NOERROR answer; (None,
        set()) for NODATA.  Asserts rcode NOERROR and AA."""
        r = self.query(name, rdtype)
        assert r.rcode() == dns.rcode.NOERROR, "%s %s: %s" % (name, rdtype,
                                                             dns.rcode.to_text(r.rcode()))
        assert r.flags & dns.flags.AA, "%s %s: not authoritative" % (name, rdtype)
        want = dns.rdatatype.from_text(rdtype)
        for rrset in r.answer:
            if rrset.rdtype == want and rrset.name == dns.name.from_text(name):
                return rrset.ttl, {rd.to_text() for rd in rrset}
        return None, set()

    def rcode(self, name, rdtype="A"):
        return self.query(name, rdtype).rcode()

    def serial(self, zone=ZONE):
        r = self.query(zone, "SOA")
        assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())
        assert len(r.answer) == 1 and len(r.answer[0]) == 1, r.to_text()
        return r.answer[0][0].serial

    def soa(self, zone=ZONE):
        r = self.query(zone, "SOA")
        assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1, r.to_text()
        return r.answer[0].ttl, r.answer[0][0]

    def dig(self, *args, timeout=20):
        """dig @127.0.0.1 -p port +tcp ARGS; returns stdout."""
        p = subprocess.run(["dig", "@127.0.0.1", "-p", str(self.dns_port), "+tcp", "+time=5",
                            "+tries=1"] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=timeout)
        return p.stdout + p.stderr

    def axfr_dig(self, zone=ZONE, key=None):
        """AXFR with dig (key: (name, secret) signs it with hmac-sha256).
        Returns (records as a list of (name, ttl, type, rdata text)
        normalised by dnspython, raw output)."""
        args = []
        if key:
            args += ["-y", "hmac-sha256:%s:%s" % key]
        out = self.dig(*(args + ["+nocmd", "+nostats", "+onesoa", zone, "AXFR"]))
        recs = []
        for line in out.splitlines():
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            f = line.split(None, 4)
            if len(f) < 5 or f[2] != "IN":
                continue
            if f[3] == "TSIG":
                continue
            rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(f[3]), f[4])
            recs.append((f[0].lower(), int(f[1]), f[3], rd.to_text()))
        return recs, out

    # ---- RFC 2136 ----

    def nsupdate(self, commands, key=None, zone=ZONE):
        """Runs nsupdate with commands (list of lines, e.g. "update add
        x.example.test 300 A 192.0.2.1"), key (name, secret) signing with
        hmac-sha256.  Returns (exit code, output)."""
        script = "server 127.0.0.1 %d\nzone %s\n%s\nsend\nquit\n" % (
            self.dns_port, zone, "\n".join(commands))
        args = ["nsupdate", "-t", "5"]
        if key:
            args += ["-y", "hmac-sha256:%s:%s" % key]
        p = subprocess.run(args, input=script, capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr

    # ---- updater ----

    def dyn_update(self, host, token, ip):
        """A dyndns2 update through kyedns-updater with curl; returns
        (status, body, seconds)."""
        from updater_util import curl
        t = time.monotonic()
        r = curl(self.updater.url("/nic/update?hostname=%s&myip=%s" % (host, ip)),
                 user=(host, token))
        return r.status, r.body, time.monotonic() - t


def serial_gt(a, b):
    """RFC 1982: a is greater than b."""
    return a != b and ((a - b) & 0xFFFFFFFF) < 0x80000000


def keyring(name, secret):
    return dns.tsigkeyring.from_text({name + ".": secret})
