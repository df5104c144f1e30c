"""AXFR in: a KyedNS zone is a pdns secondary of NSD (Debian's nsd) on
loopback.

The zone is created with `kyednsctl zone add Z --kind slave --master
127.0.0.1:PORT`; pdns (secondary=yes) finds it unfresh, transfers it and
stores it through the backend (startTransaction with the zone id,
feedRecord..., commitTransaction, setFresh).  Then the zone changes on
NSD, `nsd-control reload` makes NSD send a NOTIFY, and pdns serves the new
data.  The SOA refresh is an hour, so only the NOTIFY can explain the
second transfer.  (KyedNS as a primary, NOTIFY/AXFR out, is in
test_secondary.py.)
"""
import os
import subprocess
import time

import dns.message
import dns.query
import dns.rdatatype
import pytest

from backend_util import start_stack
from conftest import free_port
from ops_util import kill_tree_in, wait_until

ZONE = "sec.test"
NSD = "/usr/sbin/nsd"
NSD_CONTROL = "/usr/sbin/nsd-control"

ZONE_V1 = """$ORIGIN sec.test.
$TTL 300
@      3600 IN SOA ns1.sec.test. hostmaster.sec.test. {serial} 3600 600 1209600 300
@           IN NS   ns1
@           IN NS   ns2.example.net.
@           IN MX   10 mail
ns1         IN A    192.0.2.53
mail        IN A    192.0.2.25
www         IN A    {www}
www         IN AAAA 2001:db8::80
txt         IN TXT  "primary says {serial}"
_sip._udp   IN SRV  10 20 5060 sip
sip         IN A    192.0.2.60
a.b.ent     IN A    192.0.2.7
sub         IN NS   ns.sub
ns.sub      IN A    192.0.2.54
*.wild      IN A    192.0.2.99
{extra}
"""


class Nsd:
    """NSD in the foreground on 127.0.0.1:port, serving ZONE from a file,
    notifying 127.0.0.1:notify_port; controlled over a unix socket."""

    def __init__(self, tmp, port, notify_port):
        if not os.access(NSD, os.X_OK):
            pytest.fail("nsd is not installed (scripts/deps.sh)")
        self.dir = os.path.join(tmp, "nsd")
        os.makedirs(self.dir)
        self.port = port
        self.zonefile = os.path.join(self.dir, ZONE + ".zone")
        self.conf = os.path.join(self.dir, "nsd.conf")
        d = self.dir
        with open(self.conf, "w") as f:
            f.write("server:\n"
                    "  ip-address: 127.0.0.1\n  port: %d\n  do-ip6: no\n"
                    "  server-count: 1\n  username: \"\"\n  chroot: \"\"\n"
                    "  database: \"\"\n  zonesdir: \"%s\"\n  zonelistfile: \"%s/zone.list\"\n"
                    "  pidfile: \"%s/nsd.pid\"\n  xfrdfile: \"%s/xfrd.state\"\n"
                    "  xfrdir: \"%s\"\n  logfile: \"%s/nsd.log\"\n  verbosity: 2\n"
                    "remote-control:\n  control-enable: yes\n"
                    "  control-interface: \"%s/nsd.ctl\"\n"
                    "zone:\n  name: %s\n  zonefile: \"%s\"\n"
                    "  notify: 127.0.0.1@%d NOKEY\n  provide-xfr: 127.0.0.0/8 NOKEY\n"
                    % (self.port, d, d, d, d, d, d, d, ZONE, self.zonefile, notify_port))

    def write_zone(self, serial, www, extra=""):
        with open(self.zonefile, "w") as f:
            f.write(ZONE_V1.format(serial=serial, www=www, extra=extra))

    def start(self):
        self._logf = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen([NSD, "-d", "-c", self.conf], stdout=self._logf,
                                     stderr=self._logf)
        wait_until(lambda: self.proc.poll() is None and self.soa_serial() is not None, 15,
                   "nsd serves %s: %s" % (ZONE, self.log_text()))
        return self

    def soa_serial(self):
        try:
            r = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=self.port,
                              timeout=0.5)
        except Exception:  # noqa: BLE001 - not up yet
            return None
        return r.answer[0][0].serial if r.answer else None

    def control(self, *args):
        p = subprocess.run([NSD_CONTROL, "-c", self.conf] + list(args), capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, "nsd-control %s: %s%s" % (args, p.stdout, p.stderr)
        return p.stdout

    def log_text(self):
        out = ""
        for name in ("nsd.log", "stdout.log"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    out += f.read()[-2000:]
        return out

    def stop(self):
        if getattr(self, "proc", None) is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._logf.close()


def axfr_set(port):
    """The zone's records by AXFR from 127.0.0.1:port (SOA once), as a set."""
    out = set()
    for m in dns.query.xfr("127.0.0.1", ZONE, port=port, timeout=5, lifetime=15,
                           relativize=False):
        for rrset in m.answer:
            for rd in rrset:
                out.add((rrset.name.to_text().lower(), rrset.ttl,
                         dns.rdatatype.to_text(rrset.rdtype), rd.to_text().lower()))
    return out


def answer(stack, name, rdtype):
    r = stack.query(name, rdtype)
    return sorted(rd.to_text() for rrset in r.answer for rd in rrset)


def wait_served(stack, want, what):
    """Waits until www.ZONE A is want; fails with the daemons' logs."""
    try:
        wait_until(lambda: answer(stack, "www." + ZONE, "A") == want, 30, what)
    except AssertionError as exc:
        raise AssertionError("%s\nkyedns-backend:\n%s\npdns:\n%s" % (
            exc, stack.backend.log_text()[-2000:], stack.pdns.log_text()[-3000:])) from None


def test_secondary_of_nsd_follows_notify(tmp_path, ctl):
    tmp = str(tmp_path)
    stack = nsd = None
    try:
        # Each names the other's port: pdns starts first (the zone waits
        # for its first transfer), then NSD.
        nsd_port = free_port()
        ctl.run("zone", "add", ZONE, "--kind", "slave", "--master", "127.0.0.1:%d" % nsd_port)
        z = ctl.json("zone", "show", ZONE)
        assert z["kind"] == "slave", z
        stack = start_stack(tmp_path, ctl.db, settings={
            "secondary": "yes", "xfr-cycle-interval": 1, "allow-notify-from": "127.0.0.0/8",
            "remote-dnssec": "yes", "cache-ttl": 0, "query-cache-ttl": 0,
            "negquery-cache-ttl": 0})
        nsd = Nsd(tmp, nsd_port, stack.dns_port)
        nsd.write_zone(2024010101, "192.0.2.80")
        nsd.start()

        # first transfer: the zone was never fresh
        wait_served(stack, ["192.0.2.80"], "pdns serves the transferred zone")
        assert answer(stack, ZONE, "SOA")[0].split()[2] == "2024010101"
        primary = axfr_set(nsd.port)
        assert axfr_set(stack.dns_port) == primary
        z = ctl.json("zone", "show", ZONE)
        assert z["serial"] == 2024010101, z

        # A fresh zone is not checked again before its refresh (an hour):
        # getUnfreshSlaveInfos must leave it out, or pdns SOA-checks it
        # every xfr-cycle-interval.  Checks that a NOTIFY caused are fine.
        time.sleep(1)
        n = len(stack.pdns.log_text())
        time.sleep(4)
        idle = stack.pdns.log_text()[n:]
        assert idle.count("needs checking") <= idle.count("Received NOTIFY"), idle

        # a change on the primary, announced by NOTIFY
        nsd.write_zone(2024010102, "192.0.2.81", extra="new IN TXT \"added\"")
        t0 = time.monotonic()
        nsd.control("reload", ZONE)
        wait_served(stack, ["192.0.2.81"], "pdns serves the change")
        took = time.monotonic() - t0
        assert answer(stack, "new." + ZONE, "TXT") == ['"added"']
        assert answer(stack, ZONE, "SOA")[0].split()[2] == "2024010102"
        assert axfr_set(stack.dns_port) == axfr_set(nsd.port)
        log = stack.pdns.log_text()
        assert "Received NOTIFY for %s" % ZONE in log, log[-3000:]
        assert took < 20, took  # a refresh timer (3600 s) cannot explain it
        assert ctl.json("zone", "show", ZONE)["serial"] == 2024010102
        assert stack.stop() == 0, stack.backend.log_text()[-3000:]
    finally:
        if nsd is not None:
            nsd.stop()
        if stack is not None:
            stack.stop()
        kill_tree_in(tmp)
