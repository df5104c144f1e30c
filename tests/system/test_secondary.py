"""Secondaries: the KyedNS pdns (remote backend, primary=yes) notifies a
second pdns_server (Debian's lmdb backend, secondary=yes) after an update;
the secondary transfers the zone (AXFR -> the backend's `list`) and answers
the new address.  All on loopback.

pdns, as primary, looks up the addresses of a zone's NS names with
getaddrinfo() (the system resolver) to send NOTIFYs.  The tests must not
send DNS traffic beyond loopback, so both pdns processes run with
RES_OPTIONS=attempts:0 (glibc then sends no resolver query at all) and the
secondary is reached through also-notify.

KYEDNS_AXFR_BISECT=1 also runs the (slow) measurement of the largest zone
that transfers within the remote backend's timeout; its results are in
docs/secondaries.md.
"""
import json
import os
import subprocess
import time

import pytest

from backend_util import PDNS_SERVER, PDNSUTIL, RbClient, start_stack
from conftest import binary, free_port
from ops_util import env_clean, kill_tree_in, procs_in, wait_until

ZONE = "demo.test"


class Secondary:
    """pdns_server with the lmdb backend as secondary for zones on
    127.0.0.1:primary_port."""

    def __init__(self, tmpdir, port, primary_port, zones=(ZONE,)):
        self.dir = os.path.join(str(tmpdir), "secondary")
        os.makedirs(self.dir)
        self.port = port
        with open(os.path.join(self.dir, "pdns.conf"), "w") as f:
            f.write("launch=lmdb\nlmdb-filename=%s/sec.lmdb\nlmdb-shards=2\n"
                    "secondary=yes\nxfr-cycle-interval=1\nallow-notify-from=127.0.0.0/8,::1\n"
                    "local-address=127.0.0.1:%d\nsocket-dir=%s\nsecurity-poll-suffix=\n"
                    "cache-ttl=0\nquery-cache-ttl=0\nnegquery-cache-ttl=0\n"
                    "zone-cache-refresh-interval=1\n" % (self.dir, port, self.dir))
        for z in zones:
            self.pdnsutil("create-secondary-zone", z, "127.0.0.1:%d" % primary_port)
        self.log = os.path.join(self.dir, "pdns.log")
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [PDNS_SERVER, "--config-dir=" + self.dir, "--guardian=no", "--daemon=no",
             "--disable-syslog", "--write-pid=no", "--loglevel=6"],
            stdout=self._logf, stderr=self._logf, env=env_clean(RES_OPTIONS="attempts:0"))

    def pdnsutil(self, *args):
        p = subprocess.run([PDNSUTIL, "--config-dir=" + self.dir] + list(args),
                           capture_output=True, text=True, timeout=60,
                           env=env_clean(RES_OPTIONS="attempts:0"))
        assert p.returncode == 0, p.stdout + p.stderr
        return p.stdout

    def dig(self, name, qtype):
        p = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", "-p",
                            str(self.port), name, qtype], capture_output=True, text=True,
                           timeout=10)
        return p.stdout.split()

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._logf.close()


def _primary(tmp_path, ctl, monkeypatch, sec_port, extra=None):
    monkeypatch.setenv("RES_OPTIONS", "attempts:0")
    settings = {"primary": "yes", "xfr-cycle-interval": 1,
                "also-notify": "127.0.0.1:%d" % sec_port, "only-notify": "",
                "allow-axfr-ips": "127.0.0.0/8"}
    settings.update(extra or {})
    return start_stack(tmp_path, ctl.db, settings=settings)


def test_secondary_follows_updates(tmp_path, ctl, monkeypatch):
    ctl.run("zone", "add", ZONE, "--ns", "ns1." + ZONE, "--ns", "ns2." + ZONE, "--kind", "master")
    token = ctl.json("host", "add", "home." + ZONE, "--ipv4", "192.0.2.1")["token"]
    sec_port = free_port()
    stack = _primary(tmp_path, ctl, monkeypatch, sec_port)
    sec = upd = None
    try:
        sec = Secondary(tmp_path, sec_port, stack.dns_port)
        # First transfer: the secondary's refresh of a zone it never had.
        wait_until(lambda: sec.dig("home." + ZONE, "A") == ["192.0.2.1"], 30,
                   "secondary serves the zone")
        assert sorted(sec.dig(ZONE, "NS")) == ["ns1.demo.test.", "ns2.demo.test."]

        # An update through kyedns-updater: the serial moves, pdns notices
        # (getUpdatedMasters), notifies, the secondary transfers.
        http = free_port(False)
        upd = subprocess.Popen([binary("kyedns-updater"), "--db", ctl.db, "--listen",
                                "127.0.0.1:%d" % http],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env_clean())
        wait_until(lambda: subprocess.run(["curl", "-fs", "http://127.0.0.1:%d/health" % http],
                                          capture_output=True).returncode == 0, 10, "updater")
        serial0 = int(sec.dig(ZONE, "SOA")[2])
        time.sleep(1.1)  # serial = max(old + 1, unix time): make it a new second anyway
        r = subprocess.run(["curl", "-s", "-u", "home.%s:%s" % (ZONE, token),
                            "http://127.0.0.1:%d/nic/update?hostname=home.%s&myip=198.51.100.77"
                            % (http, ZONE)], capture_output=True, text=True, timeout=10)
        assert r.stdout.strip() == "good 198.51.100.77"
        t0 = time.monotonic()
        wait_until(lambda: sec.dig("home." + ZONE, "A") == ["198.51.100.77"], 30,
                   "secondary serves the update")
        delay = time.monotonic() - t0
        serial1 = int(sec.dig(ZONE, "SOA")[2])
        assert serial1 > serial0
        primary_log = stack.pdns.log_text()
        assert "127.0.0.1:%d" % sec_port in primary_log  # the NOTIFY target
        assert "AXFR-out zone '%s'" % ZONE in primary_log
        # pdns recorded the notified serial through setNotified.
        z = wait_until(lambda: (lambda z: z if z["notified_serial"] == z["serial"] else None)(
            ctl.json("zone", "show", ZONE)), 10, "notified serial")
        assert z["serial"] == serial1
        print("update visible on the secondary after %.1f s" % delay)
    finally:
        if upd:
            upd.terminate()
            upd.wait(10)
        if sec:
            sec.stop()
        stack.stop()
        kill_tree_in(str(tmp_path))
    assert procs_in(str(tmp_path)) == []


def _import_hosts(ctl, zone, n, tmp_path):
    path = tmp_path / ("hosts-%d.txt" % n)
    with open(path, "w") as f:
        for i in range(n):
            f.write("h%d.%s - 10.%d.%d.%d 2001:db8::%x\n" % (i, zone, (i >> 16) & 255,
                                                           (i >> 8) & 255, i & 255, i + 1))
    ctl.run("host", "import", str(path))


def _axfr(port, zone, timeout=60):
    """(ok, seconds, records) of one AXFR through dig."""
    t0 = time.monotonic()
    p = subprocess.run(["dig", "+tcp", "+time=%d" % timeout, "+tries=1", "@127.0.0.1", "-p",
                        str(port), zone, "AXFR", "+noall", "+answer"],
                       capture_output=True, text=True, timeout=timeout + 10)
    dt = time.monotonic() - t0
    lines = [l for l in p.stdout.splitlines() if l and not l.startswith(";")]
    ok = len(lines) >= 2 and lines[0].split()[3] == "SOA" and lines[-1].split()[3] == "SOA"
    return ok, dt, len(lines)


def test_medium_zone_transfers_to_secondary(tmp_path, ctl, monkeypatch):
    """A zone of 1000 dual-stack hosts (2000 address records, a 0.2 MB
    `list` reply, about 0.3 s of pdns parsing) transfers within the default
    2000 ms timeout, with room for a loaded CI machine.  The limit itself
    is measured by test_axfr_size_limit_measurement."""
    zone = "mid.test"
    ctl.run("zone", "add", zone, "--ns", "ns1." + zone, "--kind", "master")
    _import_hosts(ctl, zone, 1000, tmp_path)
    sec_port = free_port()
    stack = _primary(tmp_path, ctl, monkeypatch, sec_port)
    sec = None
    try:
        ok, dt, n = _axfr(stack.dns_port, zone)
        assert ok and n == 2003, (ok, n, stack.pdns.log_text()[-2000:])
        sec = Secondary(tmp_path, sec_port, stack.dns_port, zones=(zone,))
        wait_until(lambda: sec.dig("h999." + zone, "AAAA") == ["2001:db8::3e8"], 60,
                   "secondary has the whole zone")
    finally:
        if sec:
            sec.stop()
        stack.stop()
        kill_tree_in(str(tmp_path))


@pytest.mark.skipif(os.environ.get("KYEDNS_AXFR_BISECT") != "1",
                    reason="slow measurement; KYEDNS_AXFR_BISECT=1 runs it")
def test_axfr_size_limit_measurement(tmp_path, ctl, monkeypatch):
    """Coarse bisection of the largest zone pdns 4.7 can AXFR from the
    remote backend within the remote-connection-string timeout, for a few
    timeouts: sizes grow until a timeout fails, then that timeout is
    dropped.  Prints a table (and writes JSON to $KYEDNS_AXFR_OUT)."""
    sizes = [int(s) for s in os.environ.get(
        "KYEDNS_AXFR_SIZES", "1000,2000,3000,4000,5000,7500,10000,15000,20000,50000,100000").split(",")]
    timeouts = [int(t) for t in os.environ.get("KYEDNS_AXFR_TIMEOUTS", "2000,10000,30000").split(",")]
    results = []
    have = 0
    zone = "big.test"
    ctl.run("zone", "add", zone, "--ns", "ns1." + zone, "--kind", "master")
    alive = list(timeouts)
    for n in sizes:
        _import_hosts_range(ctl, zone, have, n, tmp_path)
        have = n
        for to in list(alive):
            d = tmp_path / ("n%d-t%d" % (n, to))
            d.mkdir()
            stack = start_stack(d, ctl.db, settings={
                "remote-connection-string": "unix:path=%s/backend.sock,timeout=%d" % (d, to)})
            try:
                ok, dt, recs = _axfr(stack.dns_port, zone, timeout=to // 1000 + 30)
                stats = stack.pdnsutil("backend-cmd", "remote", "stats")
                c = RbClient(stack.sock, timeout=30)
                c.send_raw(json.dumps({"method": "list", "parameters": {
                    "zonename": zone + ".", "domain_id": -1}}).encode() + b"\n")
                reply_bytes = len(c.read_line()) + 1
                c.close()
                log = stack.pdns.log_text()
            finally:
                stack.stop()
            p99 = [l.split()[1] for l in stats.splitlines() if l.startswith("list_p99_ns")]
            why = [] if ok else [l for l in log.splitlines()
                                 if any(w in l for w in ("imeout", "xception", "rror", "ailed"))][-2:]
            results.append({"hosts": n, "records": 2 * n + 3, "list_bytes": reply_bytes,
                            "timeout_ms": to, "ok": ok,
                            "axfr_s": round(dt, 2), "backend_list_p99_ns": p99[0] if p99 else None,
                            "pdns_log": why})
            print("hosts=%d records=%d list_bytes=%d timeout=%dms ok=%s axfr=%.2fs "
                  "backend_list_p99=%sns %s" % (n, 2 * n + 3, reply_bytes, to, ok, dt,
                                                p99[0] if p99 else "-", why))
            if not ok:
                alive.remove(to)
        if not alive:
            break
    out = os.environ.get("KYEDNS_AXFR_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(results, f, indent=1)
    assert results[0]["ok"]


def _import_hosts_range(ctl, zone, start, end, tmp_path):
    path = tmp_path / ("hosts-%d-%d.txt" % (start, end))
    with open(path, "w") as f:
        for i in range(start, end):
            f.write("h%d.%s - 10.%d.%d.%d 2001:db8::%x\n" % (i, zone, (i >> 16) & 255,
                                                           (i >> 8) & 255, i & 255, i + 1))
    ctl.run("host", "import", str(path))
