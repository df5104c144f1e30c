#!/usr/bin/python3
"""Knot DNS as an IXFR-journaling hidden primary, fed by RFC 2136.

A zone of HOSTS dual-stack hosts is loaded into a primary knotd; updates
replace a host's A and AAAA as the KyedNS updater would send them (one host
per message, or 100 hosts per message); a second knotd is its secondary
(NOTIFY + IXFR).  Measured:

1. updates/s the primary accepts with Knot's default durability (journal in
   LMDB, robust mode = synced commits), with the default zone file handling
   (zonefile-sync: 0) and with the setting for a dynamic zone
   (zonefile-sync: -1, journal-content: all);
2. IXFR size for 1, 100 and 1000 changed hosts (one serial per host, and in
   batches of 100) against the AXFR size (kdig's byte counts);
3. time until the secondary serves a new serial after one update (NOTIFY +
   IXFR), and the time of a full AXFR into it;
4. lag p50/p99 and transfers at a steady 100 updates/s, sent by one feeder
   that puts everything pending into one message.

Usage: bench/scaleout/knot_ixfr.py [HOSTS] [STEADY_SECONDS]
(defaults 100000 and 30).  Everything lives in a temporary directory on
loopback and both daemons are stopped at the end.
"""
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import dns.message
import dns.query
import dns.rcode
import dns.update

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import KNOT_SERVER, free_port, host_v4, host_v6, pct, write_zone  # noqa: E402

ORIGIN = "dyn.example."
HOSTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
STEADY = int(sys.argv[2]) if len(sys.argv) > 2 else 30

PRIMARY_CONF = KNOT_SERVER + """remote:
  - id: secondary
    address: 127.0.0.1@{sec_port}
acl:
  - id: local
    address: 127.0.0.0/8
    action: [update, transfer]
template:
  - id: default
    storage: {dir}
{template}
zone:
  - domain: {origin}
    file: zone.txt
    notify: secondary
    acl: local
"""

SECONDARY_CONF = KNOT_SERVER + """remote:
  - id: primary
    address: 127.0.0.1@{pri_port}
acl:
  - id: notify
    address: 127.0.0.0/8
    action: notify
template:
  - id: default
    storage: {dir}
    zonefile-sync: -1
    journal-content: all
zone:
  - domain: {origin}
    file: zone.txt
    master: primary
    acl: notify
"""

# The zone file handling of each primary variant: Knot's defaults (the zone
# file is rewritten after every change), and the zone kept in the journal
# (no zone file rewrites).  Both keep journal-max-depth at its default of 20
# zone versions; DEEP keeps 100000, so IXFR reaches back that far.
VARIANTS = {
    "default": "",
    "journal": "    zonefile-sync: -1\n    journal-content: all\n",
}
DEEP = VARIANTS["journal"] + "    journal-max-depth: 100000\n"


class Knot:
    def __init__(self, base, name, conf_fmt, **kw):
        self.dir = os.path.join(base, name)
        os.makedirs(self.dir)
        self.port = kw["port"]
        self.conf = os.path.join(self.dir, "knot.conf")
        with open(self.conf, "w") as f:
            f.write(conf_fmt.format(dir=self.dir, origin=ORIGIN, **kw))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["knotd", "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "stderr"), "w"))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self):
        with open(os.path.join(self.dir, "knot.log")) as f:
            return f.read()

    def knotc(self, *args):
        return subprocess.run(["knotc", "-s", os.path.join(self.dir, "knot.sock")] + list(args),
                              capture_output=True, text=True)


def serial(port, timeout=0.5):
    q = dns.message.make_query(ORIGIN, "SOA")
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
    except (dns.exception.Timeout, OSError):
        return None
    if r.rcode() != dns.rcode.NOERROR or not r.answer:
        return None
    return r.answer[0][0].serial


def wait_serial(port, want=None, limit=300.0, step=0.002):
    """Poll until the server answers the zone's SOA (with a serial >= want,
    RFC 1982 ignored: serials here only grow from 1); return the time."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        s = serial(port)
        if s is not None and (want is None or s >= want):
            return time.monotonic(), s
        time.sleep(step)
    raise RuntimeError("serial %s not seen on port %d" % (want, port))


GEN = itertools.count(1)


class Updater:
    """One TCP connection to the primary; each send() is one RFC 2136
    message replacing the A and AAAA of the given hosts with addresses they
    never had (a process-wide generation number goes into both)."""

    def __init__(self, port):
        self.port = port
        self.sock = None

    def send(self, hosts):
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port))
        u = dns.update.UpdateMessage(ORIGIN)
        gen = next(GEN)
        for h in hosts:
            u.replace("h%d" % h, 60, "A", host_v4(h ^ (gen << 17)))
            u.replace("h%d" % h, 60, "AAAA", host_v6(h, gen))
        try:
            r = dns.query.tcp(u, "127.0.0.1", port=self.port, sock=self.sock, timeout=30)
        except (OSError, EOFError, dns.exception.Timeout):
            self.sock.close()
            self.sock = None
            raise
        if r.rcode() != dns.rcode.NOERROR:
            raise RuntimeError("update refused: %s" % dns.rcode.to_text(r.rcode()))

    def close(self):
        if self.sock:
            self.sock.close()


def throughput(port, clients, per_msg, seconds):
    """Host changes/s and per-message latency p50/p99 (ms) with `clients`
    concurrent connections, each sending messages of `per_msg` hosts back to
    back for `seconds`."""
    lat = []
    lock = threading.Lock()
    errors = []
    end = time.monotonic() + seconds

    def run(cid):
        u = Updater(port)
        h = cid * 7919
        mine = []
        try:
            while time.monotonic() < end:
                hosts = [(h + k) % HOSTS for k in range(per_msg)]
                h += per_msg * clients
                t0 = time.monotonic()
                u.send(hosts)
                mine.append(time.monotonic() - t0)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            u.close()
            with lock:
                lat.extend(mine)

    t0 = time.monotonic()
    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    if errors:
        print("  errors:", errors[:3])
    return len(lat) * per_msg / elapsed, len(lat) / elapsed, pct(lat, 50) * 1e3, pct(lat, 99) * 1e3


def kdig_xfr(port, qtype):
    """(bytes, messages, records, seconds) of a transfer as kdig reports it."""
    t0 = time.monotonic()
    out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "+tcp", ORIGIN, qtype],
                         capture_output=True, text=True, timeout=600).stdout
    dt = time.monotonic() - t0
    m = re.search(r";; Received (\d+) B \((\d+) messages?, (\d+) records?\)", out)
    if not m:
        raise RuntimeError("no transfer stats from kdig:\n" + out[-2000:])
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), dt


def xfr_lines(log, kind):
    """(seconds, bytes) of every finished incoming transfer of `kind` (AXFR
    or IXFR) in a knotd log."""
    out = []
    for m in re.finditer(kind + r", incoming, remote [^,]+,(?: [^,]*,)*? finished, ([\d.]+) seconds, "
                         r"(\d+) messages?, (\d+) bytes", log):
        out.append((float(m.group(1)), int(m.group(3))))
    return out


def sizes(port):
    """Print the AXFR size and the IXFR sizes after 1, 100 and 1000 changed
    hosts (one per update, and 100 per update); return the next host."""
    axfr = kdig_xfr(port, "AXFR")
    print("  AXFR: %d bytes, %d messages, %d records, %.2f s" % axfr)
    u = Updater(port)
    h = 0
    for n, per_msg in ((1, 1), (100, 1), (1000, 1), (100, 100), (1000, 100)):
        s0 = serial(port)
        for _ in range(n // per_msg):
            u.send([(h + k) % HOSTS for k in range(per_msg)])
            h += per_msg
        b, msgs, recs, dt = kdig_xfr(port, "IXFR=%d" % s0)
        print("  IXFR after %4d hosts changed, %3d per update (%4d serials): %8d bytes, %6d records"
              " (%.2f%% of AXFR, %.0f bytes per host)" % (n, per_msg, n // per_msg, b, recs,
                                                          100.0 * b / axfr[0], b / n))
    u.close()
    return h


def main():
    base = tempfile.mkdtemp(prefix="kyedns-scaleout-knot-")
    procs = []
    try:
        print("knotd %s, %d hosts (%d records)" % (
            subprocess.run(["knotd", "--version"], capture_output=True, text=True).stdout.split()[-1],
            HOSTS, 2 * HOSTS + 5))
        zone = os.path.join(base, "zone.txt")
        write_zone(zone, ORIGIN, HOSTS)

        # 1. updates/s for each primary variant (no secondary attached)
        print("\n## updates/s the primary accepts (1 host = A + AAAA replaced)")
        for name, tmpl in VARIANTS.items():
            p = Knot(base, "pri-" + name, PRIMARY_CONF, port=free_port(), sec_port=free_port(),
                     template=tmpl)
            shutil.copy(zone, os.path.join(p.dir, "zone.txt"))
            procs.append(p)
            t0 = time.monotonic()
            p.start()
            wait_serial(p.port)
            print("variant %s: zone loaded in %.1f s" % (name, time.monotonic() - t0))
            for clients, per_msg in ((1, 1), (16, 1), (1, 100)):
                hs, ms, p50, p99 = throughput(p.port, clients, per_msg, 10)
                print("  %-8s clients=%-2d hosts/msg=%-3d  %7.0f hosts/s  %6.0f msgs/s  "
                      "msg latency p50 %.1f ms p99 %.1f ms" % (name, clients, per_msg, hs, ms, p50, p99))
            if name == "journal":
                print("  transfer sizes with the default journal-max-depth (20):")
                sizes(p.port)
            p.stop()

        # 2.-4. with the journal variant and a secondary
        pri_port, sec_port = free_port(), free_port()
        pri = Knot(base, "pri", PRIMARY_CONF, port=pri_port, sec_port=sec_port,
                   template=DEEP)
        shutil.copy(zone, os.path.join(pri.dir, "zone.txt"))
        sec = Knot(base, "sec", SECONDARY_CONF, port=sec_port, pri_port=pri_port)
        procs += [pri, sec]
        pri.start()
        wait_serial(pri_port)

        print("\n## transfer sizes (kdig from the primary), journal-max-depth 100000")
        h = sizes(pri_port)
        u = Updater(pri_port)

        print("\n## secondary")
        t0 = time.monotonic()
        sec.start()
        wait_serial(sec_port, serial(pri_port))
        print("initial AXFR into the secondary (start to served): %.2f s" % (time.monotonic() - t0))
        lag = []
        for i in range(20):
            u.send([(h + i) % HOSTS])
            t_ack = time.monotonic()
            want = serial(pri_port)
            t_seen, _ = wait_serial(sec_port, want)
            lag.append(t_seen - t_ack)
            time.sleep(0.2)
        print("one update -> NOTIFY -> IXFR -> served by the secondary: p50 %.1f ms, max %.1f ms"
              " (20 updates)" % (pct(lag, 50) * 1e3, max(lag) * 1e3))
        n_axfr = len(xfr_lines(sec.log(), "AXFR"))
        axt = []
        for _ in range(3):
            sec.knotc("zone-retransfer", ORIGIN)
            end = time.monotonic() + 300
            while len(xfr_lines(sec.log(), "AXFR")) <= n_axfr and time.monotonic() < end:
                time.sleep(0.05)
            n_axfr = len(xfr_lines(sec.log(), "AXFR"))
            axt.append(xfr_lines(sec.log(), "AXFR")[-1])
        print("forced AXFR into the secondary (knotd's own log): %s" %
              ", ".join("%.2f s / %d bytes" % a for a in axt))

        print("\n## steady 100 updates/s for %d s; one sender sends everything that is pending"
              " as one message (as a feeder behind the updater's group commit would)" % STEADY)
        pending = []
        sent = []      # per message: [(update number, time it was "good")]
        lock = threading.Lock()
        stop = threading.Event()
        produced = threading.Event()
        seen = []

        def poll():
            last = 0
            while not stop.is_set():
                s = serial(sec_port)
                if s is not None and s > last:
                    seen.append((time.monotonic(), s))
                    last = s
                time.sleep(0.002)

        def sender():
            while True:
                with lock:
                    batch = pending[:]
                    del pending[:]
                if not batch:
                    if produced.is_set():
                        return
                    time.sleep(0.001)
                    continue
                u.send([(h + i) % HOSTS for i, _ in batch])
                sent.append(batch)

        ix_before = xfr_lines(sec.log(), "IXFR")
        s_before = serial(pri_port)
        poller = threading.Thread(target=poll)
        poller.start()
        snd = threading.Thread(target=sender)
        snd.start()
        t_start = time.monotonic()
        k = 0
        while time.monotonic() - t_start < STEADY:
            due = t_start + k / 100.0
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            with lock:
                pending.append((k, time.monotonic()))
            k += 1
        produced.set()
        snd.join()
        # one sender, so every message got its own serial: message m -> s_before + 1 + m
        s_last = serial(pri_port)
        wait_serial(sec_port, s_last, limit=60)
        time.sleep(0.2)
        stop.set()
        poller.join()
        lags = []
        j = 0
        for m, batch in enumerate(sent):
            want = s_before + 1 + m
            while j < len(seen) and seen[j][1] < want:
                j += 1
            if j < len(seen):
                lags += [seen[j][0] - t for _, t in batch]
        ix = xfr_lines(sec.log(), "IXFR")[len(ix_before):]
        total = time.monotonic() - t_start
        print("%d updates in %d messages (serials %d..%d, primary at %d) in %.1f s" % (
            k, len(sent), s_before + 1, s_before + len(sent), s_last, total))
        print("secondary lag from \"good\": p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d updates)" % (
            pct(lags, 50) * 1e3, pct(lags, 99) * 1e3, max(lags) * 1e3, len(lags)))
        print("IXFRs into the secondary: %d (%.1f/s), %d bytes (%.0f bytes/update, %.0f kB/s)" % (
            len(ix), len(ix) / STEADY, sum(b for _, b in ix), sum(b for _, b in ix) / k,
            sum(b for _, b in ix) / STEADY / 1e3))
        u.close()
        du = subprocess.run(["du", "-sk", pri.dir], capture_output=True, text=True).stdout.split()[0]
        print("primary directory (zone file + journal + timers): %s kB" % du)
    finally:
        for p in procs:
            p.stop()
        if os.environ.get("KEEP"):
            print("kept", base)
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
