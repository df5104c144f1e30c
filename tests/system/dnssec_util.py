"""Validating DNSSEC answers of a signed KyedNS zone: the harness of
test_dnssec.py.

    from dnssec_util import Unbound, ds_anchors, verify_axfr
    anchors = ds_anchors(site, "example.test")      # pdnsutil export-zone-ds
    with Unbound(tmp_path, site.dns_port, anchors, stubs=["example.test"]) as ub:
        r = ub.query("www.example.test", "A")
        assert ub.secure(r)                          # NOERROR/NXDOMAIN + AD

Unbound (Debian's package) runs in the foreground on a free loopback port
with a generated unbound.conf: the zones in `stubs` are stub zones served
by the pdns under test, the zone's DS records are its only trust anchors
(no root hints are ever used), and every cache is off (cache-max-ttl 0) so
that each answer is fetched from pdns and validated again.  A bogus answer
is a SERVFAIL from Unbound; its log says why (val-log-level 2).

verify_axfr() transfers the signed zone with dig and runs ldns-verify-zone
(ldnsutils) over it: every RRSIG checked against the zone's DNSKEYs, the
NSEC or NSEC3 chain complete.
"""
import os
import re
import socket
import subprocess
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from backend_util import _stop_proc
from conftest import ROOT, free_port

DNSSEC_SNIPPET = os.path.join(ROOT, "pdns-conf", "production", "kyedns-dnssec.conf")

UNBOUND = "/usr/sbin/unbound"
LDNS_VERIFY_ZONE = "/usr/bin/ldns-verify-zone"

_DS_LINE = re.compile(r"^(\S+)\s+(?:\d+\s+)?IN\s+DS\s+(\d+)\s+(\d+)\s+(\d+)\s+([0-9a-fA-F]+)")


def snippet_settings(path=DNSSEC_SNIPPET):
    """The settings of a pdns.conf snippet (name -> value), for
    PdnsSite(settings=...): a test runs pdns with what operators install."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def ds_anchors(site, zone, digest=2):
    """DS records (text, "zone. DS tag alg digesttype hex") that
    `pdnsutil export-zone-ds zone` prints, SHA-256 ones by default."""
    out = site.pdnsutil("export-zone-ds", zone)
    return parse_ds(out, digest)


def parse_ds(text, digest=2):
    """The DS lines of pdnsutil output, as "name. DS tag alg dt hex"."""
    ds = []
    for line in text.splitlines():
        m = _DS_LINE.match(line.strip())
        if m and (digest is None or int(m.group(4)) == digest):
            name = m.group(1) if m.group(1).endswith(".") else m.group(1) + "."
            ds.append("%s DS %s %s %s %s" % (name, m.group(2), m.group(3), m.group(4),
                                             m.group(5).lower()))
    return ds


_KEY_LINE = re.compile(r"^ID = (\d+) \((\w+)\), flags = (\d+), tag = (\d+), algo = (\d+), "
                       r"bits = (\d+)\s+(Active|Inactive)\s+(Published|Unpublished)")


def zone_keys(site, zone):
    """The keys `pdnsutil show-zone` lists: {id: dict(type, flags, tag,
    algo, active, published)}."""
    out = site.pdnsutil("show-zone", zone)
    keys = {}
    for line in out.splitlines():
        m = _KEY_LINE.match(line.strip())
        if m:
            keys[int(m.group(1))] = {"type": m.group(2), "flags": int(m.group(3)),
                                     "tag": int(m.group(4)), "algo": int(m.group(5)),
                                     "active": m.group(7) == "Active",
                                     "published": m.group(8) == "Published"}
    return keys


def new_key_id(output):
    """The id pdnsutil add-zone-key prints (its first line)."""
    for line in output.splitlines():
        if line.strip().isdigit():
            return int(line.strip())
    raise AssertionError("no key id in %r" % output)


class Unbound:
    """A validating Unbound on 127.0.0.1:.port; see the module text.

    anchors: DS (or DNSKEY) records in text; stubs: zone names whose
    queries go to 127.0.0.1@pdns_port.  restart(anchors) starts it again
    with other trust anchors (a parent that now publishes other DS)."""

    def __init__(self, tmpdir, pdns_port, anchors, stubs=("example.test",)):
        self.dir = os.path.join(str(tmpdir), "unbound")
        os.makedirs(self.dir, exist_ok=True)
        self.pdns_port = pdns_port
        self.stubs = list(stubs)
        self.proc = None
        self.log = os.path.join(self.dir, "unbound.log")
        self.ctl_path = os.path.join(self.dir, "ctl")
        self._start(anchors)

    def _conf(self, anchors):
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            "  port: %d" % self.port,
            "  do-ip6: no",
            "  do-daemonize: no",
            "  username: \"\"",
            "  chroot: \"\"",
            "  directory: \"%s\"" % self.dir,
            "  pidfile: \"\"",
            "  use-syslog: no",
            "  logfile: \"%s\"" % self.log,
            "  verbosity: 1",
            "  val-log-level: 2",
            "  log-servfail: yes",
            "  num-threads: 1",
            "  so-reuseport: no",
            "  access-control: 127.0.0.0/8 allow",
            # pdns listens on loopback; Unbound refuses that by default.
            "  do-not-query-localhost: no",
            "  module-config: \"validator iterator\"",
            # No cache: every answer is fetched from pdns and validated.
            "  cache-max-ttl: 0",
            "  cache-max-negative-ttl: 0",
            "  val-bogus-ttl: 0",
            "  infra-host-ttl: 1",
            "  aggressive-nsec: no",
            "  prefetch: no",
            "  qname-minimisation: no",
            "  target-fetch-policy: \"0 0 0 0 0\"",
            "  trust-anchor-signaling: no",
            "  root-key-sentinel: no",
            "  val-permissive-mode: no",
            "  harden-dnssec-stripped: yes",
        ]
        # Unbound answers names under test., invalid. etc. itself (RFC 6761
        # local zones) unless told not to.
        for tld in sorted({z.rstrip(".").rsplit(".", 1)[-1] for z in self.stubs}):
            lines.append("  local-zone: \"%s.\" nodefault" % tld)
        for a in anchors:
            lines.append("  trust-anchor: \"%s\"" % a)
        # flush(): the control socket, unix, no TLS.
        lines += ["remote-control:", "  control-enable: yes",
                  "  control-interface: \"%s\"" % self.ctl_path, "  control-use-cert: no"]
        for z in self.stubs:
            lines += ["stub-zone:", "  name: \"%s\"" % z,
                      "  stub-addr: 127.0.0.1@%d" % self.pdns_port]
        return "\n".join(lines) + "\n"

    def _start(self, anchors):
        self.port = free_port()
        self.anchors = list(anchors)
        conf = os.path.join(self.dir, "unbound.conf")
        with open(conf, "w") as f:
            f.write(self._conf(anchors))
        chk = subprocess.run(["unbound-checkconf", conf], capture_output=True, text=True,
                             timeout=30)
        assert chk.returncode == 0, "unbound.conf: %s%s" % (chk.stdout, chk.stderr)
        self._errf = open(os.path.join(self.dir, "unbound.stderr"), "ab")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", conf], stdout=self._errf,
                                     stderr=self._errf)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited (%d): %s" % (self.proc.returncode,
                                                               self.log_text()))
            try:
                q = dns.message.make_query("version.server.", "TXT", "CH")
                dns.query.udp(q, "127.0.0.1", port=self.port, timeout=0.2)
                return
            except (OSError, dns.exception.DNSException):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("unbound not ready: %s" % self.log_text())
                time.sleep(0.02)

    def restart(self, anchors):
        self.stop()
        self._start(anchors)
        return self

    def stop(self):
        """Stops Unbound; returns its exit code (None if not running)."""
        if self.proc is None:
            return None
        rc = _stop_proc(self.proc)
        self._errf.close()
        self.proc = None
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def log_text(self, tail=4000):
        text = ""
        for name in ("unbound.log", "unbound.stderr"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text += f.read()
        return text[-tail:]

    def control(self, command):
        """One unbound-control command over the control socket; returns
        the reply text."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(self.ctl_path)
            s.sendall(b"UBCT1 " + command.encode() + b"\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        finally:
            s.close()
        text = out.decode(errors="replace")
        assert not text.startswith("error"), "unbound-control %s: %s" % (command, text)
        return text

    def flush(self):
        """Forgets everything cached under the stub zones (answers,
        negative answers, validated keys) and what it learnt about the
        servers.  cache-max-ttl 0 still keeps an entry for the rest of
        the current second."""
        for z in self.stubs:
            self.control("flush_zone " + z)
        self.control("flush_bogus")
        self.control("flush_infra all")

    def query(self, name, rdtype="A", timeout=5, tries=2, fresh=True):
        """One recursive query with DO and AD set; returns the message.
        fresh: flush() first, so the answer is pdns's current one.
        Retries a timeout once (Unbound times out on a slow upstream
        rather than answering late)."""
        if fresh:
            self.flush()
        q = dns.message.make_query(name, rdtype, want_dnssec=True)
        q.flags |= dns.flags.AD | dns.flags.RD
        for i in range(tries):
            try:
                return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=timeout,
                                     ignore_trailing=True)
            except dns.exception.Timeout:
                if i == tries - 1:
                    raise
        raise AssertionError("unreachable")

    def explain(self, name, rdtype, r):
        return "%s %s: %s flags=%s\n%s\nunbound log:\n%s" % (
            name, rdtype, dns.rcode.to_text(r.rcode()), dns.flags.to_text(r.flags),
            r.to_text(), self.log_text())

    def secure(self, name, rdtype="A", rcode=dns.rcode.NOERROR):
        """Asserts a validated (AD) answer with this rcode; returns the
        set of rdata texts of name/rdtype in the answer (empty for NODATA
        and NXDOMAIN)."""
        r = self.query(name, rdtype)
        assert r.rcode() == rcode and r.flags & dns.flags.AD, self.explain(name, rdtype, r)
        return answer_set(r, name, rdtype)

    def insecure(self, name, rdtype="A", rcode=dns.rcode.NOERROR):
        """Asserts an answer that is not bogus (no SERVFAIL) and not
        validated (no AD): below an insecure delegation.  Returns the
        rdata texts."""
        r = self.query(name, rdtype)
        assert r.rcode() == rcode and not r.flags & dns.flags.AD, self.explain(name, rdtype, r)
        return answer_set(r, name, rdtype)


def answer_set(r, name, rdtype):
    want = dns.rdatatype.from_text(rdtype)
    owner = dns.name.from_text(name)
    out = set()
    for rrset in r.answer:
        if rrset.rdtype == want and rrset.name == owner:
            out |= {rd.to_text() for rd in rrset}
    return out


def axfr_text(site, zone):
    """The zone as pdns transfers it (dig AXFR, one SOA), as text."""
    out = site.dig("+nocmd", "+nostats", "+onesoa", "+nocomments", zone, "AXFR", timeout=60)
    lines = [l for l in out.splitlines() if l.strip() and not l.startswith(";")]
    assert lines and " SOA " in lines[0].replace("\t", " "), "AXFR of %s failed:\n%s" % (zone, out)
    return "\n".join(lines) + "\n"


def verify_axfr(site, zone, tmpdir):
    """AXFRs zone and runs ldns-verify-zone over it; asserts it reports no
    error and returns (output, zone text)."""
    text = axfr_text(site, zone)
    path = os.path.join(str(tmpdir), "%s.axfr" % zone)
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([LDNS_VERIFY_ZONE, "-V", "2", path], capture_output=True, text=True,
                       timeout=60)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "Error" not in out, "ldns-verify-zone %s: %d\n%s\n%s" % (
        zone, p.returncode, out, text[:6000])
    return out, text
