#!/usr/bin/python3
"""Lag and transfer volume of a KyedNS primary with two secondaries under a
steady update load.  Run from the repository root after `make`:

    bench/topology/run.sh [--hosts 10000,100000] [--rate 100] [--duration 60]
                          [--nmi 0,10,30] [--xfr-cycle 1,60] [--mode unix|pipe]
                          [--timeout-ms N] [--probes 2] [--json FILE]

The topology is the one of tests/system/test_topology.py (shared code in
tests/system/topology_util.py): pdns_server (primary=yes) + kyedns-backend
+ kyedns-updater on one store; a pdns_server with Debian's lmdb backend and
an NSD as secondaries; NOTIFY and AXFR signed with an hmac-sha256 TSIG key.

For each hosts count and each configuration (kyedns-backend
--notify-min-interval NMI, pdns xfr-cycle-interval XC):
  * fresh secondaries take their first transfer (not measured);
  * RATE dyndns2 updates per second for DURATION seconds through
    kyedns-updater (keep-alive connections), each to a random host with a
    random address; PROBES of them per second go to a set of probe hosts
    with an address that encodes a sequence number;
  * one thread per secondary polls (UDP, every 20 ms) the oldest probe not
    yet seen, and then the next ones at once: the lag of a probe is the time
    from its `good` to the secondary answering its address (or a later
    probe's on the same host);
  * transfers: the secondaries' own log lines (pdns: "AXFR-in ... zone
    committed", NSD: "committed ... received update") during the load, and
    the primary's "AXFR finished" lines; bytes: NSD logs each transfer's
    size; for pdns, transfers x the zone's AXFR size (a signed AXFR by this
    script after the run); the primary's CPU (pdns + kyedns-backend).
Per hour = during the load window, scaled to 3600 s.

Every configuration holds flock(/tmp/kyedns-bench.lock) while it runs.
Everything runs on loopback in a temporary directory (BENCH_DIR, removed
unless BENCH_KEEP=1); processes are stopped at the end.
"""
import argparse
import atexit
import base64
import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The programs are copied first: pdns starts a new kyedns-backend --stdio
# whenever it opens a backend instance, and a rebuild of the tree during
# the run must not change (or briefly remove) them.
_BIN = tempfile.mkdtemp(prefix="kyedns-bench-topology-bin.")
for _prog in ("kyedns-backend", "kyedns-updater", "kyednsctl"):
    shutil.copy2(os.path.join(os.environ.get("KYEDNS_BUILD") or os.path.join(ROOT, "build"), _prog),
                 _BIN)
os.environ["KYEDNS_BUILD"] = _BIN
atexit.register(shutil.rmtree, _BIN, True)
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))

import dns.message  # noqa: E402
import dns.query  # noqa: E402

from conftest import Ctl, binary, free_port  # noqa: E402
from topology_util import (NsdSecondary, PdnsSecondary, Primary, new_key,  # noqa: E402
                           soa_serial)
from updater_util import Updater  # noqa: E402

ZONE = "dyn.example.org"
LOCK = "/tmp/kyedns-bench.lock"
PROBE_HOSTS = 1000


@contextlib.contextmanager
def bench_lock():
    """flock(1)-compatible exclusive lock: one benchmark at a time."""
    with open(LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def token(i):
    # 43 characters like kyednsctl's (it refuses guessable ones); derived
    # from the index, so runs repeat.
    return base64.urlsafe_b64encode(hashlib.sha256(b"topology-%d" % i).digest()).decode()[:43]


def host(i):
    return "h%d.%s" % (i, ZONE)


def probe_addr(seq):
    return "10.%d.%d.%d" % ((seq >> 16) & 255, (seq >> 8) & 255, seq & 255)


def addr_seq(a):
    p = a.split(".")
    if len(p) != 4 or p[0] != "10":
        return -1
    return (int(p[1]) << 16) | (int(p[2]) << 8) | int(p[3])


def make_store(tmp, n):
    db = os.path.join(tmp, "db%d" % n)
    ctl = Ctl(db)
    ctl.run("zone", "add", ZONE, "--ns", "ns1.example.org", "--ns", "ns2.example.org",
            "--kind", "master")
    path = os.path.join(tmp, "hosts%d.txt" % n)
    with open(path, "w") as f:
        for i in range(n):
            f.write("%s %s 198.18.%d.%d 2001:db8:1::%x:%x\n" % (
                host(i), token(i), (i >> 8) & 255, i & 255 or 1, i >> 16, i & 0xffff))
    t0 = time.monotonic()
    ctl.run("host", "import", path)
    print("  store: %d hosts imported in %.1f s" % (n, time.monotonic() - t0), flush=True)
    return db


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid):
    """pid and its live descendants (pipe mode: pdns's kyedns-backend children)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def primary_cpu(prim):
    pids = descendants(prim.pdns.proc.pid)
    if prim.backend is not None:
        pids.append(prim.backend.proc.pid)
    return sum(cpu_seconds(p) for p in pids)


def nsd_bytes(nsd):
    return sum(int(b) for b in re.findall(r"received update to serial \d+ at \S+ from \S+ "
                                          r"TSIG verified with key \S+ of (\d+) bytes",
                                          nsd.log_text()))


def axfr_wire_bytes(port, key):
    """Bytes of a whole signed AXFR from the primary, as dig counts them
    (the DNS messages with their TSIG records)."""
    p = subprocess.run(["dig", "+tcp", "+time=600", "+tries=1", "-y",
                        "hmac-sha256:%s:%s" % key, "@127.0.0.1", "-p", str(port), ZONE, "AXFR"],
                       capture_output=True, text=True, timeout=1200)
    m = re.search(r"XFR size: (\d+) records \(messages (\d+), bytes (\d+)\)", p.stdout)
    if not m:
        raise RuntimeError("signed AXFR failed: %s" % (p.stdout[-500:] + p.stderr))
    return int(m.group(3))


class Load:
    """RATE updates/s over `conns` keep-alive HTTP connections to the
    updater; every (RATE/probes)-th update is a probe."""

    def __init__(self, up, n, rate, probes, duration, seq0, seed, conns=4):
        self.up, self.n, self.rate, self.duration = up, n, rate, duration
        self.every = max(1, int(round(rate / probes))) if probes > 0 else 0
        self.nprobe = min(PROBE_HOSTS, max(1, n // 10))
        self.probes = []  # [seq, host index, t_good or None]
        self.seq0 = seq0  # probe sequence numbers continue across runs on one store
        self.done = False
        self.lock = threading.Lock()
        self.next = 0
        self.errors = 0
        self.answers = {}
        self.rnd = random.Random(seed)
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(conns)]

    def start(self):
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join()
        self.done = True

    def _take(self):
        with self.lock:
            i = self.next
            if i / self.rate >= self.duration:
                return i, None, None, None, None
            self.next += 1
            if self.every and i % self.every == 0:
                seq = self.seq0 + len(self.probes) + 1
                rec = [seq, seq % self.nprobe, None]
                self.probes.append(rec)
                return i, rec, host(rec[1]), probe_addr(seq), rec[1]
            h = self.rnd.randrange(self.nprobe, self.n)
            a = "198.%d.%d.%d" % (18 + self.rnd.getrandbits(1), self.rnd.getrandbits(8),
                                  self.rnd.getrandbits(8) or 1)
            return i, None, host(h), a, h

    def _run(self):
        c = http.client.HTTPConnection("127.0.0.1", self.up.port, timeout=30)
        while True:
            i, rec, name, addr, hidx = self._take()
            if name is None:
                break
            at = self.t0 + i / self.rate
            d = at - time.monotonic()
            if d > 0:
                time.sleep(d)
            auth = base64.b64encode(("%s:%s" % (name, token(hidx))).encode()).decode()
            try:
                c.request("GET", "/nic/update?hostname=%s&myip=%s" % (name, addr),
                          headers={"Authorization": "Basic " + auth})
                body = c.getresponse().read().decode().strip()
            except (OSError, http.client.HTTPException):
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", self.up.port, timeout=30)
                body = "error"
            word = body.split()[0] if body else "empty"
            with self.lock:
                self.answers[word] = self.answers.get(word, 0) + 1
                if word not in ("good", "nochg"):
                    self.errors += 1
            if rec is not None and word == "good":
                rec[2] = time.monotonic()
        c.close()


class Poller:
    """Follows the probes on one secondary."""

    def __init__(self, name, port, load):
        self.name, self.port, self.load = name, port, load
        self.lags = []
        self.idx = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _seen(self, rec):
        try:
            r = dns.query.udp(dns.message.make_query(host(rec[1]), "A"), "127.0.0.1",
                              port=self.port, timeout=0.5)
        except Exception:  # noqa: BLE001 - a lost query: try again next round
            return False
        return any(addr_seq(rd.to_text()) >= rec[0] for rrs in r.answer for rd in rrs
                   if rrs.rdtype == 1)

    def _run(self):
        while not self.stop:
            while self.idx < len(self.load.probes):
                rec = self.load.probes[self.idx]
                if rec[2] is None:
                    # not answered `good` (yet, or ever): skip a failed one
                    if self.load.done:
                        self.idx += 1
                        continue
                    break
                if not self._seen(rec):
                    break
                self.lags.append(time.monotonic() - rec[2])
                self.idx += 1
            time.sleep(0.02)

    def pending(self):
        return len([p for p in self.load.probes[self.idx:] if p[2] is not None])


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100.0 * (len(xs) - 1))))]


def run_config(tmp, db, n, nmi, xc, args, key, seq0):
    d = tempfile.mkdtemp(prefix="n%d-nmi%d-xc%d-" % (n, nmi, xc), dir=tmp)
    sec_port, nsd_port = free_port(), free_port()
    backend_args = ["--notify-min-interval=%d" % nmi] if nmi else []
    res = {"hosts": n, "nmi": nmi, "xfr_cycle": xc, "mode": args.mode, "rate": args.rate,
           "duration": args.duration}
    prim = sec = nsd = up = None
    try:
        prim = Primary(d, db, ZONE, key, mode=args.mode, xfr_cycle=xc, timeout_ms=args.timeout_ms,
                       backend_args=backend_args,
                       notify=["127.0.0.1:%d" % sec_port, "127.0.0.1:%d" % nsd_port])
        serial = soa_serial(prim.dns_port, ZONE, 5)
        t0 = time.monotonic()
        sec = PdnsSecondary(d, ZONE, key, prim.dns_port, port=sec_port)
        nsd = NsdSecondary(d, ZONE, key, prim.dns_port, port=nsd_port)
        deadline = t0 + args.initial_timeout
        while time.monotonic() < deadline:
            if all(soa_serial(s.port, ZONE) == serial for s in (sec, nsd)):
                break
            time.sleep(0.2)
        else:
            res["fail"] = "initial transfer not done after %d s" % args.initial_timeout
            res["fail_log"] = [l for l in prim.log_text().splitlines()
                               if "rror" in l or "xception" in l][-3:]
            return res
        res["initial_s"] = round(time.monotonic() - t0, 1)
        print("  initial transfer to both secondaries: %.1f s" % res["initial_s"], flush=True)
        res["axfr_bytes"] = axfr_wire_bytes(prim.dns_port, key)
        up = Updater(db, d, rate=False).wait_ready()
        time.sleep(1.1)  # a quiet second before the load starts
        load = Load(up, n, args.rate, args.probes, args.duration, seq0, seed=seq0)
        pollers = [Poller("pdns-lmdb", sec.port, load), Poller("nsd", nsd.port, load)]
        c0 = (sec.transfers(), nsd.transfers(), nsd_bytes(nsd), prim.axfr_out_count(),
              primary_cpu(prim))
        load.start()
        for p in pollers:
            p.thread.start()
        load.join()
        window = time.monotonic() - load.t0
        c1 = (sec.transfers(), nsd.transfers(), nsd_bytes(nsd), prim.axfr_out_count(),
              primary_cpu(prim))
        # Drain: wait for the last probes (bounded).
        drain = time.monotonic() + args.drain
        while time.monotonic() < drain and any(p.pending() for p in pollers):
            time.sleep(0.1)
        for p in pollers:
            p.stop = True
            p.thread.join(5)
        per_h = 3600.0 / window
        res.update({
            "window_s": round(window, 1),
            "updates": load.next and sum(load.answers.values()),
            "answers": load.answers,
            "probes": len(load.probes),
            "next_seq": seq0 + len(load.probes),
            "primary_axfr_per_h": round((c1[3] - c0[3]) * per_h),
            "primary_cpu_s_per_h": round((c1[4] - c0[4]) * per_h),
        })
        for p, xfr, nbytes in ((pollers[0], c1[0] - c0[0], None),
                               (pollers[1], c1[1] - c0[1], c1[2] - c0[2])):
            if nbytes is None:
                nbytes = xfr * res["axfr_bytes"]
            res[p.name] = {
                "seen": len(p.lags), "missed": p.pending(),
                "p50": pct(p.lags, 50), "p99": pct(p.lags, 99),
                "max": max(p.lags) if p.lags else None,
                "xfr_per_h": round(xfr * per_h), "bytes_per_h": round(nbytes * per_h),
            }
        return res
    finally:
        for p in (up, nsd, sec, prim):
            if p is not None:
                try:
                    p.stop()
                except Exception as exc:  # noqa: BLE001 - stop the others anyway
                    print("  stop: %r" % exc)
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(d, ignore_errors=True)


def fmt_s(v):
    return "-" if v is None else "%.2f" % v


def fmt_size(b):
    for unit, f in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= f:
            return "%.1f %s" % (b / f, unit)
    return "%d B" % b


def table(results):
    lines = ["| hosts | mode | load s | notify-min-interval | xfr-cycle | secondary | lag p50 "
             "| lag p99 | lag max | probes seen | transfers/h | bytes/h | primary CPU s/h |",
             "|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        head = "| %d | %s | %d | %d | %d |" % (r["hosts"], r["mode"], r["duration"], r["nmi"],
                                               r["xfr_cycle"])
        if "fail" in r:
            lines.append(head + " both | **fails**: %s | | | | | | |" % r["fail"])
            continue
        for name in ("pdns-lmdb", "nsd"):
            s = r[name]
            lines.append(head + " %s | %s s | %s s | %s s | %d/%d | %d | %s | %d |" % (
                name, fmt_s(s["p50"]), fmt_s(s["p99"]), fmt_s(s["max"]), s["seen"],
                r["probes"], s["xfr_per_h"], fmt_size(s["bytes_per_h"]),
                r["primary_cpu_s_per_h"]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", default="10000,100000")
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--probes", type=float, default=2.0, help="probe updates per second")
    ap.add_argument("--nmi", default=None,
                    help="--notify-min-interval values (default 0,10,30 when the option exists)")
    ap.add_argument("--xfr-cycle", default="1,60")
    ap.add_argument("--mode", default="pipe", choices=["unix", "pipe"],
                    help="how pdns reaches kyedns-backend (default: pipe)")
    ap.add_argument("--timeout-ms", type=int, default=None,
                    help="remote-connection-string timeout (default 2000; unix mode 60000)")
    ap.add_argument("--initial-timeout", type=int, default=900)
    ap.add_argument("--drain", type=float, default=None,
                    help="seconds to wait for the last probes (default xfr-cycle + nmi + 60)")
    ap.add_argument("--json", default=None, help="write the results (JSON) to this file")
    ap.add_argument("--table", nargs="+", metavar="JSON",
                    help="only print the table of earlier --json files")
    args = ap.parse_args()
    if args.table:
        results = []
        for path in args.table:
            with open(path) as f:
                results += json.load(f)
        print(table(results))
        return
    binary("kyedns-backend")
    if args.timeout_ms is None:
        args.timeout_ms = 60000 if args.mode == "unix" else 2000
    nmis = [int(x) for x in (args.nmi or "0,10,30").split(",")]
    xcs = [int(x) for x in args.xfr_cycle.split(",")]
    tmp = os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="kyedns-bench-topology.")
    os.makedirs(tmp, exist_ok=True)
    results = []
    print("date: %s UTC; command: %s" % (time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                                         " ".join(sys.argv)), flush=True)
    try:
        for n in [int(x) for x in args.hosts.split(",")]:
            db = make_store(tmp, n)
            key = new_key("xfr")
            seq = 0
            for xc in xcs:
                for nmi in nmis:
                    a = argparse.Namespace(**vars(args))
                    if a.drain is None:
                        a.drain = xc + nmi + 60
                    print("hosts=%d mode=%s nmi=%d xfr-cycle=%d ..." % (n, args.mode, nmi, xc),
                          flush=True)
                    with bench_lock():
                        r = run_config(tmp, db, n, nmi, xc, a, key, seq)
                    seq = r.get("next_seq", seq + 100000)
                    print("  " + json.dumps(r), flush=True)
                    results.append(r)
                    if args.json:
                        with open(args.json, "w") as f:
                            json.dump(results, f, indent=1)
            shutil.rmtree(db, ignore_errors=True)
    finally:
        if os.environ.get("BENCH_KEEP") != "1" and not os.environ.get("BENCH_DIR"):
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(table(results))


if __name__ == "__main__":
    main()
