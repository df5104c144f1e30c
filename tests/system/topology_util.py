"""A KyedNS primary and two secondaries on loopback, TSIG-signed: shared by
tests/system/test_topology.py and bench/topology/run.py.

    from topology_util import Primary, PdnsSecondary, NsdSecondary, new_key
    key = new_key("xfr")                         # (name, secret), hmac-sha256
    prim = Primary(tmp, db, ZONE, key, notify=["127.0.0.1:%d" % p1, ...],
                   mode="unix")                  # or "pipe" (kyedns-backend --stdio)
    sec1 = PdnsSecondary(tmp, ZONE, key, prim.dns_port)
    sec2 = NsdSecondary(tmp, ZONE, key, prim.dns_port)

Primary: pdns_server (primary=yes) in front of kyedns-backend, either over
the unix socket (a separate kyedns-backend process) or through pdns's pipe
connector (pdns starts `kyedns-backend --stdio` itself).  The TSIG key is
imported with pdnsutil into the primary's backend (the KyedNS store) and
activated for the zone (TSIG-ALLOW-AXFR); ALSO-NOTIFY metadata lists the
notify targets.  allow-axfr-ips names no loopback address, so only a
signed request may transfer.  pdns signs its NOTIFYs with the zone's
first TSIG-ALLOW-AXFR key (send-signed-notify, on by default).

PdnsSecondary: a second pdns_server with Debian's lmdb backend, the zone
made with `pdnsutil create-secondary-zone`, AXFR-MASTER-TSIG set, and
allow-unsigned-notify=no (an unsigned NOTIFY is refused).

NsdSecondary: NSD as the user running it (no chroot, no privilege drop),
request-xfr and allow-notify with the key: NSD refuses a NOTIFY that is
not signed with it.

Every process logs into its own directory under tmp; stop() ends what
was started.  Caches are off on all three servers, so an answer reflects
the zone each server holds.
"""
import base64
import os
import re
import secrets
import subprocess

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring

from backend_util import (PDNS_SERVER, PDNSUTIL, Pdns, _stop_proc, _tail, _wait, pdns_conf,
                          pdns_env, start_backend)
from conftest import binary, free_port

NSD = "/usr/sbin/nsd"


def new_key(name="xfr"):
    """A fresh hmac-sha256 TSIG key: (name, base64 secret)."""
    return name, base64.b64encode(secrets.token_bytes(32)).decode()


def keyring(key):
    return dns.tsigkeyring.from_text({key[0] + ".": key[1]})


def query(port, name, rdtype, timeout=1.0):
    """One UDP query to 127.0.0.1:port; the answer message (or None)."""
    try:
        return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port,
                             timeout=timeout)
    except Exception:  # noqa: BLE001 - not up, timed out: no answer
        return None


def addresses(port, name, rdtype="A", timeout=1.0):
    """The addresses 127.0.0.1:port answers for name (a list, maybe empty)."""
    r = query(port, name, rdtype, timeout)
    if r is None:
        return []
    return [rd.to_text() for rrs in r.answer if rrs.rdtype == dns.rdatatype.from_text(rdtype)
            for rd in rrs]


def soa_serial(port, zone, timeout=1.0):
    r = query(port, zone, "SOA", timeout)
    if r is None or not r.answer:
        return None
    return r.answer[0][0].serial


def send_notify(port, zone, key=None, timeout=2.0):
    """Sends a NOTIFY for zone to 127.0.0.1:port (signed with key if given);
    returns the reply's rcode."""
    q = dns.message.make_query(zone, "SOA")
    q.set_opcode(dns.opcode.NOTIFY)
    q.flags |= dns.flags.AA
    if key:
        q.use_tsig(keyring(key), keyname=key[0] + ".", algorithm=dns.tsig.HMAC_SHA256)
    r = dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
    return r.rcode()


class Primary:
    """pdns_server (primary=yes) + kyedns-backend on store db.

    mode "unix": kyedns-backend on a unix socket; "pipe": pdns runs
    `kyedns-backend --stdio` through its pipe connector.  backend_args are
    passed to kyedns-backend in both modes (no spaces or commas: pdns
    splits the pipe command on spaces, the connection string on commas).
    notify: "IP:PORT" targets for the zone's ALSO-NOTIFY metadata.
    settings: more pdns.conf settings."""

    def __init__(self, tmp, db, zone, key, notify, mode="unix", xfr_cycle=1,
                 timeout_ms=2000, backend_args=(), settings=None):
        self.dir = os.path.join(str(tmp), "primary")
        os.makedirs(self.dir, exist_ok=True)
        self.zone, self.key, self.mode = zone, key, mode
        self.backend = None
        self.sock = os.path.join(self.dir, "backend.sock")
        if mode == "unix":
            conn = "unix:path=%s,timeout=%d" % (self.sock, timeout_ms)
        elif mode == "pipe":
            args = [binary("kyedns-backend"), "--stdio", "--db=" + db] + list(backend_args)
            assert all(" " not in a and "," not in a for a in args), args
            conn = "pipe:command=%s,timeout=%d" % (" ".join(args), timeout_ms)
        else:
            raise ValueError("mode: unix or pipe, not %r" % mode)
        conf = {
            "remote-connection-string": conn,
            "remote-dnssec": "yes",  # pdns gates the TSIG key methods on it
            "primary": "yes",
            "xfr-cycle-interval": xfr_cycle,
            "also-notify": None,
            "only-notify": "",
            "allow-axfr-ips": "192.0.2.1/32",  # nobody here: TSIG only
            "cache-ttl": 0,
            "query-cache-ttl": 0,
            "negquery-cache-ttl": 0,
            "webserver": "no",
            "api": "no",
        }
        conf.update(settings or {})
        if mode == "unix":
            self.backend = start_backend(db, self.sock, os.path.join(self.dir, "backend.log"),
                                         backend_args)
        try:
            # Key and metadata first, with pdnsutil on the same configuration:
            # pdns caches zone metadata (domain-metadata-cache-ttl).
            util_dir = os.path.join(self.dir, "pdnsutil")
            os.makedirs(util_dir, exist_ok=True)
            with open(os.path.join(util_dir, "pdns.conf"), "w") as f:
                f.write(pdns_conf(self.sock, 0, 0, "unused", conf))
            self._util_dir = util_dir
            self.pdnsutil("import-tsig-key", key[0], "hmac-sha256", key[1])
            self.pdnsutil("activate-tsig-key", zone, key[0], "primary")
            self.pdnsutil("set-meta", zone, "ALSO-NOTIFY", *notify)
            self.pdns = Pdns(self.dir, self.sock, conf).wait_ready()
        except BaseException:
            self.stop()
            raise
        self.dns_port = self.pdns.dns_port

    def pdnsutil(self, *args):
        p = subprocess.run([PDNSUTIL, "--config-dir=" + self._util_dir] + list(args),
                           capture_output=True, text=True, timeout=120, env=pdns_env())
        if p.returncode != 0:
            raise AssertionError("pdnsutil %s: %s%s" % (args, p.stdout, p.stderr))
        return p.stdout

    def axfr_unsigned(self, timeout=10):
        """An unsigned AXFR request: (rcode, answer RRsets) of the reply."""
        r = dns.query.tcp(dns.message.make_query(self.zone, "AXFR"), "127.0.0.1",
                          port=self.dns_port, timeout=timeout)
        return r.rcode(), r.answer

    def axfr_signed(self, key, timeout=60):
        """Records of a TSIG-signed AXFR (dnspython checks every message's
        signature)."""
        xfr = dns.query.xfr("127.0.0.1", self.zone, port=self.dns_port, keyring=keyring(key),
                            keyname=key[0] + ".", keyalgorithm=dns.tsig.HMAC_SHA256,
                            timeout=timeout)
        return sum(len(rrs) for m in xfr for rrs in m.answer)

    def log_text(self):
        return self.pdns.log_text() if getattr(self, "pdns", None) else ""

    def axfr_out_count(self):
        """Finished outgoing AXFRs in pdns's log."""
        return len(re.findall(r"AXFR-out zone '[^']*', client '[^']*', AXFR finished",
                              _tail(self.pdns.log, 10 ** 9)))

    def stop(self):
        if getattr(self, "pdns", None) is not None:
            self.pdns.stop()
        if self.backend is not None:
            self.backend.stop()


class PdnsSecondary:
    """pdns_server + lmdb backend, secondary for zone of 127.0.0.1:primary_port
    over TSIG key."""

    def __init__(self, tmp, zone, key, primary_port, name="pdns-secondary", port=None):
        self.dir = os.path.join(str(tmp), name)
        os.makedirs(self.dir)
        self.zone = zone
        self.port = port or free_port()
        with open(os.path.join(self.dir, "pdns.conf"), "w") as f:
            f.write("launch=lmdb\nlmdb-filename=%s/sec.lmdb\nlmdb-shards=2\n"
                    "secondary=yes\nxfr-cycle-interval=1\n"
                    "allow-notify-from=127.0.0.0/8\nallow-unsigned-notify=no\n"
                    "local-address=127.0.0.1:%d\nsocket-dir=%s\nsecurity-poll-suffix=\n"
                    "cache-ttl=0\nquery-cache-ttl=0\nnegquery-cache-ttl=0\n"
                    "zone-cache-refresh-interval=1\nwebserver=no\napi=no\n"
                    % (self.dir, self.port, self.dir))
        self.pdnsutil("import-tsig-key", key[0], "hmac-sha256", key[1])
        self.pdnsutil("create-secondary-zone", zone, "127.0.0.1:%d" % primary_port)
        self.pdnsutil("activate-tsig-key", zone, key[0], "secondary")
        self.log = os.path.join(self.dir, "pdns.log")
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [PDNS_SERVER, "--config-dir=" + self.dir, "--guardian=no", "--daemon=no",
             "--disable-syslog", "--write-pid=no", "--loglevel=6"],
            stdout=self._logf, stderr=self._logf, env=pdns_env())

    def pdnsutil(self, *args):
        p = subprocess.run([PDNSUTIL, "--config-dir=" + self.dir] + list(args),
                           capture_output=True, text=True, timeout=60, env=pdns_env())
        if p.returncode != 0:
            raise AssertionError("pdnsutil %s: %s%s" % (args, p.stdout, p.stderr))
        return p.stdout

    def log_text(self):
        return _tail(self.log, 10 ** 9)

    def transfers(self):
        """AXFRs committed, from the log."""
        return len(re.findall(r"AXFR-in zone: '[^']*', primary: '[^']*', zone committed",
                              self.log_text()))

    def stop(self):
        _stop_proc(self.proc)
        self._logf.close()


class NsdSecondary:
    """NSD in the foreground, secondary for zone of 127.0.0.1:primary_port:
    request-xfr (AXFR) and allow-notify with the TSIG key."""

    def __init__(self, tmp, zone, key, primary_port, name="nsd", port=None, verbosity=2):
        if not os.access(NSD, os.X_OK):
            raise AssertionError("nsd is not installed (scripts/deps.sh)")
        self.dir = d = os.path.join(str(tmp), name)
        os.makedirs(d)
        self.zone = zone
        self.port = port or free_port()
        self.conf = os.path.join(d, "nsd.conf")
        self.log = os.path.join(d, "nsd.log")
        with open(self.conf, "w") as f:
            f.write('server:\n  ip-address: 127.0.0.1\n  port: %d\n  do-ip6: no\n'
                    '  server-count: 1\n  username: ""\n  chroot: ""\n'
                    '  database: ""\n  zonesdir: "%s"\n  zonelistfile: "%s/zone.list"\n'
                    '  pidfile: "%s/nsd.pid"\n  xfrdfile: "%s/xfrd.state"\n'
                    '  xfrdir: "%s"\n  logfile: "%s"\n  verbosity: %d\n'
                    'remote-control:\n  control-enable: no\n'
                    'key:\n  name: "%s"\n  algorithm: hmac-sha256\n  secret: "%s"\n'
                    'zone:\n  name: %s\n'
                    '  request-xfr: AXFR 127.0.0.1@%d %s\n'
                    '  allow-notify: 127.0.0.1 %s\n'
                    % (self.port, d, d, d, d, d, self.log, verbosity, key[0], key[1], zone,
                       primary_port, key[0], key[0]))
        self._logf = open(os.path.join(d, "stdout.log"), "ab")
        self.proc = subprocess.Popen([NSD, "-d", "-c", self.conf], stdout=self._logf,
                                     stderr=self._logf)
        _wait(lambda: query(self.port, "ready.invalid.", "SOA", 0.2) is not None, 15, "nsd",
              self.proc, self.log)

    def log_text(self):
        return _tail(self.log, 10 ** 9)

    def transfers(self):
        """Transfers NSD committed (xfrd logs each with the key that
        verified it), from the log."""
        return len(re.findall(r"zone \S+ committed \"received update to serial",
                              self.log_text()))

    def stop(self):
        _stop_proc(self.proc)
        self._logf.close()
