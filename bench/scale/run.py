#!/usr/bin/python3
"""Zone transfers and query throughput at scale.  Run from the repository
root after `make`:

    /usr/bin/python3 bench/scale/run.py [--sizes 1000,10000,100000,1000000]
                                        [--backends pipe,pipe0,unix,lmdb,bind]
                                        [--qps-hosts 100000] [--rounds 3] [--seconds 3]
                                        [--unix-max-timeout 60000] [--skip-axfr] [--skip-qps]
                                        [--big-from 1000000] [--big-after HH:MM]

(a) AXFR: for each size, one zone (example.com) of N dual-stack hosts (an A
    and an AAAA each; bench/import/gen.py writes them, `kyednsctl host
    import` loads them).  The same records go into a zone file for pdns's
    bind backend and, with `pdnsutil load-zone`, into a fresh lmdb file for
    its lmdb backend.  For each backend pdns_server is started afresh:
    KyedNS over the pipe connector (kyedns-backend --stdio) with
    timeout=2000 ("pipe") and timeout=0 ("pipe0": with any timeout pdns
    reads the pipe unbuffered, one read(2) per byte; with 0 it buffers but
    never times out), KyedNS over the unix socket (timeout=2000, pdns's default; when that
    fails, once more with --unix-max-timeout if the growth measured so far
    says it can be enough), lmdb and bind.  One AXFR with dig: wall time,
    bytes and records (dig's "XFR size"), pdns's peak RSS (VmHWM of
    /proc/PID/status: at ready, and after the transfer) and the backend
    processes' peak RSS.
(b) QPS: dnsperf (8 clients, 64 outstanding, 20 000 random names of the
    --qps-hosts store, type A) against pdns_server with KyedNS over the pipe
    (timeout 2000 and 0) and over the unix socket, and with
    bench/backend/constbackend (answers without a store: the ceiling of
    each transport) the same three ways; caches off (cache-ttl=0 query-cache-ttl=0
    negquery-cache-ttl=0) and on (the snippet's 20 s); --rounds rounds
    alternating the configurations, medians.

Reuses bench/backend/run.py (locking, load average, CPU accounting,
dnsperf) and tests/system/backend_util.py (processes).  Every measurement
(each AXFR, each dnsperf run) runs under flock(/tmp/kyedns-bench.lock) and
prints the load average at its start: the machine is shared.  The lock is
taken three times (the sizes below --big-from, the QPS rounds, each big
size), since on a busy machine every acquisition waits in a queue.  Data lives in
a temporary directory, removed at the end unless BENCH_KEEP=1.  Prints
Markdown tables and the goals of issue 13 (README.md holds the last run).
"""
import argparse
import contextlib
import importlib.util
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("KYEDNS_BUILD", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))

_spec = importlib.util.spec_from_file_location("backend_bench",
                                               os.path.join(ROOT, "bench", "backend", "run.py"))
bb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bb)

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

from backend_util import PDNSUTIL, Pdns, pdns_conf, pdns_env, start_backend  # noqa: E402
from conftest import binary  # noqa: E402

ZONE = "example.com"
DEFAULT_TIMEOUT = 2000  # ms, pdns's remote-connection-string default
# pdns's own backends: the remote backend's settings go away
REMOTE = ("pipe", "pipe0", "unix")
NATIVE = {"remote-connection-string": None, "remote-dnssec": None}


def log(msg):
    print(msg, flush=True)


_held = [False]


@contextlib.contextmanager
def bench_lock():
    """bench/backend/run.py's flock, re-entrant: a block of measurements
    (one size's transfers, one QPS round) takes it once, so that on a busy
    machine it queues once, not before each of its measurements."""
    if _held[0]:
        yield
        return
    with bb.bench_lock():
        _held[0] = True
        try:
            yield
        finally:
            _held[0] = False


def build_const(outdir):
    path = os.path.join(outdir, "constbackend")
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-Werror",
                    os.path.join(ROOT, "bench", "backend", "constbackend.c"), "-o", path,
                    "-lpthread"], check=True)
    return path


# ---- data ----

class Data:
    """One size: the KyedNS store, the zone file, the host names."""

    def __init__(self, tmp, n):
        self.n = n
        self.dir = os.path.join(tmp, "n%d" % n)
        os.makedirs(self.dir)
        self.db = os.path.join(self.dir, "db")
        self.hosts = os.path.join(self.dir, "hosts.txt")
        self.zfile = os.path.join(self.dir, "example.com.zone")
        ctl = binary("kyednsctl")
        t = time.monotonic()
        with open(self.hosts, "w") as f:
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "import", "gen.py"),
                            str(n), "--zones", ZONE], stdout=f, check=True)
        self.gen_s = time.monotonic() - t
        subprocess.run([ctl, "--db", self.db, "zone", "add", ZONE, "--ns", "ns1." + ZONE,
                        "--ns", "ns2." + ZONE], check=True, capture_output=True)
        load = bb.loadavg()
        t = time.monotonic()
        subprocess.run([ctl, "--db", self.db, "host", "import", self.hosts], check=True,
                       capture_output=True)
        self.import_s = time.monotonic() - t
        self.serial = int(re.search(r'"serial":(\d+)', subprocess.run(
            [ctl, "--db", self.db, "--json", "zone", "show", ZONE], check=True,
            capture_output=True, text=True).stdout).group(1))
        # the records kyedns-backend's list returns, as a zone file
        t = time.monotonic()
        with open(self.hosts) as h, open(self.zfile, "w") as z:
            z.write("$ORIGIN %s.\n"
                    "@ 3600 IN SOA ns1.%s. hostmaster.%s. %d 10800 3600 604800 60\n"
                    "@ 3600 IN NS ns1.%s.\n@ 3600 IN NS ns2.%s.\n" %
                    (ZONE, ZONE, ZONE, self.serial, ZONE, ZONE))
            buf = []
            for line in h:
                fqdn, _tok, v4, v6 = line.split()
                label = fqdn[:-len(ZONE) - 1]
                buf.append("%s 60 IN A %s\n%s 60 IN AAAA %s\n" % (label, v4, label, v6))
                if len(buf) >= 10000:
                    z.write("".join(buf))
                    buf = []
            z.write("".join(buf))
        self.zone_s = time.monotonic() - t
        self.records = 2 * n + 3  # SOA, 2 NS, A + AAAA per host
        log("data n=%d: gen.py %.1f s, kyednsctl host import %.1f s (load %.2f), zone file "
            "%.1f s, %d records, store %.0f MB, zone file %.0f MB" %
            (n, self.gen_s, self.import_s, load, self.zone_s, self.records,
             du(self.db) / 1e6, os.path.getsize(self.zfile) / 1e6))
        self.lmdb = None
        self.lmdb_load_s = None

    def remove(self):
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def names(self, count, seed=7):
        with open(self.hosts) as f:
            fqdns = [line.split(" ", 1)[0] for line in f]
        rnd = random.Random(seed)
        return [rnd.choice(fqdns) for _ in range(count)]

    def load_lmdb(self):
        """pdnsutil load-zone into a fresh lmdb file (once per size)."""
        d = os.path.join(self.dir, "lmdb-load")
        os.makedirs(d)
        self.lmdb = os.path.join(self.dir, "pdns.lmdb")
        with open(os.path.join(d, "pdns.conf"), "w") as f:
            f.write(pdns_conf("unused", 0, 0, "x", lmdb_settings(self)))
        load = bb.loadavg()
        t = time.monotonic()
        p = subprocess.run([PDNSUTIL, "--config-dir=" + d, "load-zone", ZONE, self.zfile],
                           capture_output=True, text=True, env=pdns_env())
        self.lmdb_load_s = time.monotonic() - t
        if p.returncode != 0:
            raise RuntimeError("pdnsutil load-zone: %s%s" % (p.stdout, p.stderr[-2000:]))
        log("data n=%d: pdnsutil load-zone into lmdb %.1f s (load %.2f), lmdb %.0f MB" %
            (self.n, self.lmdb_load_s, load, du(self.lmdb) / 1e6))


def du(path):
    if os.path.isfile(path):
        # the lmdb backend's shards are files beside it: PATH-0, PATH-1, ...
        d, base = os.path.split(path)
        return sum(os.stat(os.path.join(d, f)).st_blocks * 512 for f in os.listdir(d)
                   if f == base or f.startswith(base + "-"))
    return sum(os.stat(os.path.join(dp, f)).st_blocks * 512
               for dp, _, fs in os.walk(path) for f in fs)


def lmdb_settings(data):
    s = dict(NATIVE)
    s.update({"launch": "lmdb", "lmdb-filename": data.lmdb})
    return s


def bind_settings(data, d):
    conf = os.path.join(d, "named.conf")
    with open(conf, "w") as f:
        f.write('options { directory "%s"; };\nzone "%s" { type master; file "%s"; };\n' %
                (data.dir, ZONE, data.zfile))
    s = dict(NATIVE)
    s.update({"launch": "bind", "bind-config": conf})
    return s


def pipe_string(command, timeout):
    # pdns splits command= on single spaces, execv's it; argv[0] absolute
    return "pipe:command=%s,timeout=%d" % (" ".join(command), timeout)


# ---- processes ----

def vm_hwm(pid):
    """Peak resident set (VmHWM) of pid in bytes, 0 if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(pid):
    """Every process below pid (kyedns-backend --stdio is a keeper process
    with its worker below it)."""
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                for c in f.read().split():
                    out += [int(c)] + descendants(int(c))
    except OSError:
        pass
    return out


def cpu_or_zero(pid):
    try:
        return bb.cpu_seconds(pid)
    except OSError:
        return 0.0


class Config:
    """pdns_server (and, for unix modes, a backend process) for one run.

    kind: pipe | unix | lmdb | bind | const-pipe | const-unix."""

    def __init__(self, tmp, kind, data, tools, settings, timeout=DEFAULT_TIMEOUT):
        self.kind = kind
        self.dir = tempfile.mkdtemp(dir=tmp, prefix="%s-" % kind)
        self.backend = self.const = None
        sock = os.path.join(self.dir, "b.sock")
        s = dict(settings)
        if kind in ("pipe0", "const-pipe0"):
            # timeout=0: pdns reads the pipe through a buffered FILE; with
            # any timeout it turns buffering off (setbuf(fp, 0), "confuses
            # poll") and fgets reads the reply one byte per read(2)
            kind, timeout = kind[:-1], 0
        self.timeout = timeout
        if kind == "unix":
            self.backend = start_backend(data.db, sock, os.path.join(self.dir, "backend.log"))
            s["remote-connection-string"] = "unix:path=%s,timeout=%d" % (sock, timeout)
        elif kind == "pipe":
            s["remote-connection-string"] = pipe_string(
                [binary("kyedns-backend"), "--stdio", "--db", data.db], timeout)
        elif kind == "const-unix":
            self.const = bb.start_const(tools, sock, False)
        elif kind == "const-pipe":
            s["remote-connection-string"] = pipe_string([tools["constbackend"], "--stdio"],
                                                        timeout)
        elif kind == "lmdb":
            s.update(lmdb_settings(data))
        elif kind == "bind":
            s.update(bind_settings(data, self.dir))
        self.pdns = None
        try:
            self.pdns = Pdns(self.dir, sock, s)
            self.pdns.wait_ready(timeout=60)
            self.wait_zone(600)
        except BaseException:
            self.stop()
            raise

    def wait_zone(self, timeout):
        """Until pdns answers the zone's SOA (the bind backend loads its
        zones after the start)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = self.pdns.query(ZONE + ".", "SOA", timeout=5)
                if r.rcode() == dns.rcode.NOERROR and r.answer:
                    return
            except Exception:
                pass
            if time.monotonic() > deadline or self.pdns.proc.poll() is not None:
                raise RuntimeError("%s: pdns never served %s: %s" %
                                   (self.kind, ZONE, self.pdns.log_text()[-2000:]))
            time.sleep(0.2)

    def backend_pids(self):
        if self.backend:
            return [self.backend.proc.pid]
        if self.const:
            return [self.const.pid]
        if self.kind in ("pipe", "const-pipe", "pipe0", "const-pipe0"):
            return descendants(self.pdns.proc.pid)
        return []

    def stop(self):
        try:
            if self.pdns:
                self.pdns.stop()
        finally:
            if self.backend:
                self.backend.stop()
            if self.const:
                self.const.terminate()
                self.const.wait()
            if os.environ.get("BENCH_KEEP") != "1":
                shutil.rmtree(self.dir, ignore_errors=True)


# ---- (a) AXFR ----

def axfr(port, timeout_s):
    """One AXFR with dig: (seconds, ok, records, messages, bytes, dig's last line)."""
    t = time.monotonic()
    p = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), ZONE, "AXFR", "+noall", "+stats",
                        "+tries=1", "+time=%d" % timeout_s], capture_output=True, text=True)
    took = time.monotonic() - t
    m = re.search(r"XFR size: (\d+) records \(messages (\d+), bytes (\d+)\)", p.stdout)
    failed = "Transfer failed" in p.stdout or "failed" in p.stderr or not m
    last = (p.stdout + p.stderr).strip().splitlines()
    return {"seconds": took, "ok": not failed and p.returncode == 0,
            "records": int(m.group(1)) if m else 0, "messages": int(m.group(2)) if m else 0,
            "bytes": int(m.group(3)) if m else 0,
            "note": "" if m else (last[-1] if last else "rc %d" % p.returncode)}


def one_axfr(tmp, kind, data, timeout=DEFAULT_TIMEOUT):
    c = Config(tmp, kind, data, None, {}, timeout)
    try:
        hwm0 = vm_hwm(c.pdns.proc.pid)
        with bench_lock():
            load = bb.loadavg()
            r = axfr(c.pdns.dns_port, 3600)
        r["pdns_hwm0"] = hwm0
        r["pdns_hwm"] = vm_hwm(c.pdns.proc.pid)
        r["backend_hwm"] = max([vm_hwm(p) for p in c.backend_pids()] or [0])
        r["pdns_alive"] = c.pdns.proc.poll() is None
        if not r["ok"]:
            errs = [l for l in c.pdns.log_text().splitlines()
                    if "xception" in l or "rror" in l or "imeout" in l]
            r["pdns_error"] = errs[-1][-160:] if errs else ""
    finally:
        c.stop()
    r.update(kind=kind, n=data.n, load=load, timeout=c.timeout,
             complete=r["ok"] and r["records"] == data.records + 1)  # + the closing SOA
    log("axfr n=%-7d %-5s timeout=%-6s %7.2f s %s, %d records, %d messages, %.1f MB, pdns VmHWM "
        "%.0f -> %.0f MB, backend VmHWM %.0f MB, load %.2f%s%s" %
        (data.n, kind, c.timeout if kind in REMOTE else "-", r["seconds"],
         "ok" if r["complete"] else "FAILED", r["records"], r["messages"], r["bytes"] / 1e6,
         r["pdns_hwm0"] / 2**20, r["pdns_hwm"] / 2**20, r["backend_hwm"] / 2**20, load,
         " (%s)" % r["note"] if r["note"] else "",
         " pdns: %s" % r["pdns_error"] if r.get("pdns_error") else ""))
    return r


def axfr_block(tmp, datas, kinds, unix_max, rows, unix_ok):
    """The transfers of every backend for each of datas, under one hold of
    the lock; appends to rows."""
    for data in datas:
        if "lmdb" in kinds and data.lmdb is None:
            data.load_lmdb()
    log("axfr %s hosts: waiting for %s" % (",".join(str(d.n) for d in datas), bb.LOCK))
    with bench_lock():
        for data in datas:
            for kind in kinds:
                try:
                    rows += axfr_kind(tmp, data, kind, unix_max, unix_ok)
                except Exception as e:  # one broken configuration, not the run
                    log("axfr n=%d %s: ERROR %s" % (data.n, kind, e))


def axfr_kind(tmp, data, kind, unix_max, unix_ok):
    """The rows of one backend at one size; unix_ok: [(n, seconds)] of the
    largest unix success so far, updated."""
    n = data.n
    r = one_axfr(tmp, kind, data)
    r["lmdb_load_s"] = data.lmdb_load_s if kind == "lmdb" else None
    if kind != "unix":
        return [r]
    out = [r]
    if not r["complete"]:
        # quadratic: t(n) = t(n0) * (n / n0)^2; retry only when the budget
        # may be enough
        est = unix_ok[-1][1] * (n / unix_ok[-1][0]) ** 2 if unix_ok else None
        if est is None or est * 1.2 < unix_max / 1000:
            r = one_axfr(tmp, kind, data, unix_max)
            out.append(r)
        else:
            log("axfr n=%-7d unix: not retried, quadratic estimate %.0f s > "
                "--unix-max-timeout %.0f s" % (n, est, unix_max / 1000))
        r["estimate"] = est
    if r["complete"]:
        unix_ok.append((n, r["seconds"]))
    return out


# ---- (b) QPS ----

CACHES = (("off", bb.CACHES_OFF), ("on", bb.CACHES_ON))


def one_qps(tmp, kind, data, tools, caches, settings, qfile, seconds):
    c = Config(tmp, kind, data, tools, settings)
    try:
        port = c.pdns.dns_port
        with bench_lock():
            load = bb.loadavg()
            bb.dnsperf(port, qfile, 1)  # warm-up; starts the pipe processes
            pids = c.backend_pids()
            p0 = bb.cpu_seconds(c.pdns.proc.pid)
            b0 = sum(cpu_or_zero(p) for p in pids)
            r = bb.dnsperf(port, qfile, seconds)
            r["pdns_cpu"] = bb.cpu_seconds(c.pdns.proc.pid) - p0
            r["backend_cpu"] = sum(cpu_or_zero(p) for p in pids) - b0
        r["backend_procs"] = len(pids)
    finally:
        c.stop()
    r.update(kind=kind, caches=caches, load=load)
    return r


QPS_KINDS = ("pipe", "pipe0", "unix", "const-pipe", "const-pipe0", "const-unix")


def qps_all(tmp, data, tools, rounds, seconds, kinds):
    qfile = os.path.join(tmp, "queries.txt")
    with open(qfile, "w") as f:
        f.write("".join("%s A\n" % name for name in data.names(20000)))
    runs = []
    log("qps %d hosts: waiting for %s" % (data.n, bb.LOCK))
    with bench_lock():
        # rounds alternate the configurations: other processes' load spreads
        # over all of them
        for rnd in range(rounds):
            qps_round(tmp, data, tools, kinds, qfile, seconds, rnd, runs)
    return qps_rows(runs, kinds)


def qps_round(tmp, data, tools, kinds, qfile, seconds, rnd, runs):
    for kind in kinds:
        for caches, settings in CACHES:
            try:
                r = one_qps(tmp, kind, data, tools, caches, settings, qfile, seconds)
            except Exception as e:  # one broken configuration, not the run
                log("qps round %d %s caches %s: ERROR %s" % (rnd, kind, caches, e))
                continue
            runs.append(r)
            log("qps round %d %-11s caches %-3s: %6.0f qps, %.2f ms avg, lost %d, pdns cpu "
                "%.2f s, backend cpu %.2f s (%d procs), load %.2f (%s)" %
                (rnd, kind, caches, r["qps"], r["lat_ms"], r["lost"], r["pdns_cpu"],
                 r["backend_cpu"], r["backend_procs"], r["load"], r["rcodes"]))


def qps_rows(runs, kinds):
    rows = []
    for kind in kinds:
        for caches, _ in CACHES:
            mine = [r for r in runs if r["kind"] == kind and r["caches"] == caches]
            if not mine:
                continue
            row = {"kind": kind, "caches": caches, "qps_all": [r["qps"] for r in mine],
                   "answers_ok": all(r["rcodes"].startswith("NOERROR") and
                                     r["rcodes"].count("%") == 1 for r in mine)}
            for k in ("qps", "lat_ms", "pdns_cpu", "backend_cpu", "load"):
                row[k] = statistics.median(r[k] for r in mine)
            rows.append(row)
    return rows


# ---- report ----

def mb(b):
    return "%.0f" % (b / 2**20)


def report(axfr_rows, qps_rows, qps_hosts):
    if axfr_rows:
        log("\n### AXFR (one transfer each; pdns restarted per configuration)\n")
        log("| hosts | backend | connector timeout ms | result | seconds | records | bytes | "
            "pdns VmHWM MiB (ready -> after) | backend VmHWM MiB | lmdb load-zone s | load |")
        log("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in axfr_rows:
            if r["complete"]:
                res = "ok"
            else:
                res = "fails"
                if r.get("estimate"):
                    res += " (needs ~%.0f s: quadratic from the largest unix success)" % \
                        r["estimate"]
            log("| %d | %s | %s | %s | %.2f | %d | %d | %s -> %s | %s | %s | %.2f |" %
                (r["n"], {"pipe": "KyedNS pipe", "pipe0": "KyedNS pipe", "unix": "KyedNS unix"}
                 .get(r["kind"], r["kind"]),
                 r["timeout"] if r["kind"] in REMOTE else "-", res, r["seconds"],
                 r["records"], r["bytes"], mb(r["pdns_hwm0"]), mb(r["pdns_hwm"]),
                 mb(r["backend_hwm"]) if r["backend_hwm"] else "-",
                 "%.1f" % r["lmdb_load_s"] if r.get("lmdb_load_s") else "-", r["load"]))
    if qps_rows:
        log("\n### QPS through pdns (%d hosts, dnsperf, medians)\n" % qps_hosts)
        ceiling = {(r["kind"], r["caches"]): r["qps"] for r in qps_rows}
        log("| backend | caches | QPS (median) | runs | vs const of its connector | "
            "avg latency ms | pdns CPU s | backend CPU s | load |")
        log("|---|---|---:|---|---:|---:|---:|---:|---:|")
        for r in qps_rows:
            conn = r["kind"][6:] if r["kind"].startswith("const-") else r["kind"]
            c = ceiling.get(("const-" + conn, r["caches"]))
            log("| %s | %s | %.0f%s | %s | %s | %.2f | %.2f | %.2f | %.2f |" %
                (r["kind"], r["caches"], r["qps"],
                 "" if r["answers_ok"] else " (NOT all NOERROR)",
                 " ".join("%.0f" % q for q in r["qps_all"]),
                 "%.2f" % (r["qps"] / c) if c else "-", r["lat_ms"], r["pdns_cpu"],
                 r["backend_cpu"], r["load"]))
    log("\n### Goals (issue 13)\n")
    by = {(r["n"], r["kind"]): r for r in axfr_rows}
    for kind in ("pipe", "pipe0"):
        for n in (100000, 1000000):
            p = by.get((n, kind))
            if p:
                log("- %d hosts via pipe, timeout=%d: %s, %.2f s%s, pdns VmHWM %s MiB" %
                    (n, p["timeout"], "ok" if p["complete"] else "FAILED", p["seconds"],
                     " (within 2000 ms)" if p["complete"] and p["seconds"] <= 2 else "",
                     mb(p["pdns_hwm"])))
    q = {(r["kind"], r["caches"]): r["qps"] for r in qps_rows}
    for caches, _ in CACHES:
        for pipe in ("pipe", "pipe0"):
            if (pipe, caches) in q and ("unix", caches) in q:
                ratio = q[(pipe, caches)] / q[("unix", caches)]
                cr = ""
                if ("const-" + pipe, caches) in q and ("const-unix", caches) in q:
                    cr = ", const-%s/const-unix %.2f" % (pipe, q[("const-" + pipe, caches)] /
                                                         q[("const-unix", caches)])
                log("- caches %s: QPS %s/unix %.2f (goal >= 1: %s)%s" %
                    (caches, pipe, ratio, "met" if ratio >= 1 else "not met", cr))


def wait_until(hhmm):
    if not hhmm:
        return
    now = time.gmtime()
    h, m = (int(x) for x in hhmm.split(":"))
    wait = (h * 60 + m) * 60 - (now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec)
    if wait > 0:
        log("waiting %d s until %s UTC (--big-after)" % (wait, hhmm))
        time.sleep(wait)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--backends", default="pipe,pipe0,unix,lmdb,bind")
    ap.add_argument("--unix-max-timeout", type=int, default=60000,
                    help="ms; the unix connector's retry timeout after a failure at 2000")
    ap.add_argument("--qps-hosts", type=int, default=100000)
    ap.add_argument("--qps-backends", default=",".join(QPS_KINDS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--big-from", type=int, default=1000000,
                    help="sizes from this on: after the QPS part, one at a time")
    ap.add_argument("--big-after", default="",
                    help="HH:MM (UTC): start the big sizes no earlier (a shared machine)")
    ap.add_argument("--skip-axfr", action="store_true")
    ap.add_argument("--skip-qps", action="store_true")
    a = ap.parse_args()
    # SIGTERM (e.g. timeout(1)) unwinds like ^C: processes stopped, data removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(x) for x in a.sizes.split(",")]
    kinds = a.backends.split(",")
    qkinds = a.qps_backends.split(",")
    tmp = tempfile.mkdtemp(prefix="kyedns-bench-scale-")
    log("%s, %d cpus, load %s, data in %s" %
        (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(),
         " ".join(open("/proc/loadavg").read().split()[:3]), tmp))
    axfr_rows, qps_rows, unix_ok = [], [], []
    try:
        tools = {"constbackend": build_const(tmp)}
        # Three holds of the lock, not one per measurement: on a busy
        # machine each costs a wait in the queue.  Sizes up to --big-from
        # first (data for all of them made before), then QPS on the
        # --qps-hosts store, then the big sizes, one at a time (disk).
        small = [n for n in sizes if n < a.big_from] if not a.skip_axfr else []
        datas = {n: Data(tmp, n) for n in small}
        if small:
            axfr_block(tmp, [datas[n] for n in small], kinds, a.unix_max_timeout, axfr_rows,
                       unix_ok)
        if not a.skip_qps:
            qd = datas.get(a.qps_hosts) or Data(tmp, a.qps_hosts)
            qps_rows = qps_all(tmp, qd, tools, a.rounds, a.seconds, qkinds)
        for d in datas.values():
            d.remove()
        for n in ([] if a.skip_axfr else [n for n in sizes if n >= a.big_from]):
            wait_until(a.big_after)
            d = Data(tmp, n)
            try:
                axfr_block(tmp, [d], kinds, a.unix_max_timeout, axfr_rows, unix_ok)
            finally:
                d.remove()
    finally:
        # also after an error or SIGTERM: what was measured so far
        report(axfr_rows, qps_rows, a.qps_hosts)
        if os.environ.get("BENCH_KEEP") == "1":
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
