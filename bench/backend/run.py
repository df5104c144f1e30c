#!/usr/bin/python3
"""Benchmark of kyedns-backend.  Run from the repository root after `make`:

    /usr/bin/python3 bench/backend/run.py [--seconds 3] [--sizes 1000,100000,1000000]
                                          [--conns 3,16] [--rounds 3]
                                          [--skip-raw] [--skip-pdns]

(a) raw: bench/backend/rbload speaks the remote-backend protocol over N
    connections in lockstep, like pdns, against kyedns-backend on stores of
    1k, 100k and 1M hosts (filled with `kyednsctl host import`), and against
    the two constant-answer backends (constbackend: thread per connection;
    constbackend --epoll: one epoll thread, the same system calls as
    kyedns-backend, i.e. the transport floor).  For each: wall-clock
    lookups/s (generator and backend share the machine), and the backend's
    capacity on one core = lookups / backend CPU seconds (utime + stime from
    /proc/PID/stat over the measured window), p50/p99, the generator's own
    CPU.
(b) through pdns: dnsperf against pdns_server with, in turn, kyedns-backend
    (100k hosts), pdns's native lmdb backend (the same records, loaded with
    `pdnsutil load-zone`) and bench/backend/constbackend (answers without
    looking anything up: the ceiling of the remote-backend path); caches off
    and on.  Reports QPS, latency, pdns and backend CPU.

Everything runs on loopback in a temporary directory; processes are
stopped at the end.  Each measurement holds flock(/tmp/kyedns-bench.lock)
so that it never overlaps another benchmark on the shared machine (store
imports and process start-up do not hold it), and records the load average
before it.  Prints Markdown tables and ratios (README.md holds the last).
"""
import argparse
import base64
import hashlib
import contextlib
import fcntl
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("KYEDNS_BUILD", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))

from backend_util import Pdns, RbClient, start_backend  # noqa: E402
from conftest import binary  # noqa: E402

CACHES_OFF = {"cache-ttl": 0, "query-cache-ttl": 0, "negquery-cache-ttl": 0}
CACHES_ON = {}  # the snippet's values: 20 s each


def build_tools(outdir):
    tools = {}
    cc = ["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-Werror"]
    for name, libs in (("rbload", []), ("constbackend", ["-lpthread"])):
        path = os.path.join(outdir, name)
        subprocess.run(cc + [os.path.join(HERE, name + ".c"), "-o", path] + libs, check=True)
        tools[name] = path
    # rbmicro links the built protocol module itself (make's rb.o, rbwrite.o, rbsec.o,
    # txn.o and stats.o)
    build = os.environ["KYEDNS_BUILD"]
    pkg = subprocess.run(["pkg-config", "--cflags", "--libs", "libuv", "jansson", "lmdb",
                          "libsodium", "libidn2"], check=True, capture_output=True, text=True).stdout.split()
    path = os.path.join(outdir, "rbmicro")
    subprocess.run(cc + ["-I" + os.path.join(ROOT, "common"), "-I" + os.path.join(ROOT, "backend"),
                         os.path.join(HERE, "rbmicro.c"), os.path.join(build, "backend", "rb.o"),
                         os.path.join(build, "backend", "rbwrite.o"),
                         os.path.join(build, "backend", "rbsec.o"),
                         os.path.join(build, "backend", "txn.o"),
                         os.path.join(build, "backend", "stats.o"),
                         os.path.join(build, "libkyedns.a")] + pkg + ["-lpthread", "-o", path],
                   check=True)
    tools["rbmicro"] = path
    return tools


def rbmicro(tools, db, n, seconds):
    """The backend's own work per lookup, no sockets (see rbmicro.c)."""
    with bench_lock():
        load = loadavg()
        p = subprocess.run([tools["rbmicro"], "--db", db, "--count", str(n), "--seconds",
                            str(seconds)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("rbmicro failed: %s %s" % (p.stdout, p.stderr))
    kv = dict(re.findall(r"(\w+)=([\d.]+)", p.stdout))
    return {"ns": float(kv["ns_per_lookup"]), "rate": float(kv["rate"]), "load": load}


LOCK = "/tmp/kyedns-bench.lock"


@contextlib.contextmanager
def bench_lock():
    """flock(1)-compatible exclusive lock: one benchmark at a time."""
    with open(LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def host_ip(i):
    return "10.%d.%d.%d" % (i // 62500, (i // 250) % 250, i % 250 + 1)


def make_store(tmp, n):
    db = os.path.join(tmp, "db%d" % n)
    ctl = binary("kyednsctl")
    subprocess.run([ctl, "--db", db, "zone", "add", "example.com", "--ns", "ns1.example.com"],
                   check=True, capture_output=True)
    hosts = os.path.join(tmp, "hosts%d.txt" % n)
    with open(hosts, "w") as f:
        for i in range(n):
            # a 43-character token like the ones kyednsctl generates
            # (kyednsctl refuses guessable ones); derived, so runs repeat
            tok = base64.urlsafe_b64encode(hashlib.sha256(b"%d" % i).digest()).decode().rstrip("=")
            f.write("h%d.example.com %s %s\n" % (i, tok, host_ip(i)))
    t = time.monotonic()
    subprocess.run([ctl, "--db", db, "host", "import", hosts], check=True, capture_output=True)
    took = time.monotonic() - t
    os.unlink(hosts)
    return db, took


WARMUP = 1  # seconds rbload runs before measuring


def rbload(tools, sock, n, conns, seconds, pid):
    with bench_lock():
        load = loadavg()
        p = subprocess.run([tools["rbload"], "--socket", sock, "--conns", str(conns),
                            "--seconds", str(seconds), "--warmup", str(WARMUP), "--count",
                            str(n), "--expect-rows", "--pid", str(pid)],
                           capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("rbload failed: %s %s" % (p.stdout, p.stderr))
    kv = dict(re.findall(r"(\w+)=([\d.]+)", p.stdout))
    r = {k: float(kv[k]) for k in ("rate", "p50", "p99", "gen_cpu_s", "backend_cpu_s",
                                   "capacity", "seconds")}
    r["requests"] = int(kv["requests"])
    r["load"] = load
    return r


def backend_stats(sock):
    """The backend's own statistics (directBackendCmd stats) as a dict."""
    c = RbClient(sock)
    try:
        text = c.call("directBackendCmd", query="stats")["result"]
    finally:
        c.close()
    return dict(line.split(" ", 1) for line in text.splitlines())


def start_const(tools, sock, epoll):
    args = [tools["constbackend"]] + (["--epoll"] if epoll else []) + [sock]
    p = subprocess.Popen(args)
    try:
        _wait_sock(sock)
    except BaseException:
        p.terminate()
        p.wait()
        raise
    return p


def show_raw(r):
    print("raw %-14s hosts=%-7d conns=%-2d: %7.0f lookups/s wall, capacity %7.0f/s "
          "(backend %.2f us CPU/lookup), p50 %.1f us p99 %.1f us, generator %.2f CPU-s, "
          "load %.2f%s" %
          (r["backend"], r["hosts"], r["conns"], r["rate"], r["capacity"],
           1e6 / r["capacity"] if r["capacity"] else 0, r["p50"], r["p99"], r["gen_cpu_s"],
           r["load"], ", in-backend p50 %.2f us p99 %.2f us" % (r["in_p50"], r["in_p99"])
           if "in_p50" in r else ""), flush=True)


def raw(tools, tmp, sizes, conns_list, seconds):
    rows = []
    dbs = {}
    for n in sizes:
        db, took = make_store(tmp, n)
        dbs[n] = db
        m = rbmicro(tools, db, n, min(seconds, 2))
        m.update(backend="rb_handle only", hosts=n)
        rows.append(m)
        print("raw rb_handle only hosts=%-7d: %.0f ns/lookup = %.0f lookups per CPU-second, "
              "load %.2f" % (n, m["ns"], m["rate"], m["load"]), flush=True)
        sock = os.path.join(tmp, "raw.sock")
        for conns in conns_list:
            # a fresh backend per run, so its latency histogram is this run's
            b = start_backend(db, sock, os.path.join(tmp, "raw-%d-%d.log" % (n, conns)))
            try:
                r = rbload(tools, sock, n, conns, seconds, b.proc.pid)
                st = backend_stats(sock)
            finally:
                b.stop()
            r["in_p50"] = int(st["lookup_p50_ns"]) / 1e3
            r["in_p99"] = int(st["lookup_p99_ns"]) / 1e3
            r.update(backend="kyedns-backend", hosts=n, conns=conns, import_s=took)
            rows.append(r)
            show_raw(r)
            # the no-work backends under the same generator, names and
            # conditions, right after: the reference for this row
            for name, epoll in (("const-epoll", True), ("const-threads", False)):
                csock = os.path.join(tmp, "const.sock")
                cb = start_const(tools, csock, epoll)
                try:
                    r = rbload(tools, csock, n, conns, seconds, cb.pid)
                finally:
                    cb.terminate()
                    cb.wait()
                r.update(backend=name, hosts=n, conns=conns)
                rows.append(r)
                show_raw(r)
    return rows, dbs


def _wait_sock(path, timeout=10):
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    raise RuntimeError("%s never came up" % path)


def dnsperf(port, qfile, seconds):
    p = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l",
                        str(seconds), "-c", "8", "-q", "64", "-t", "2"],
                       capture_output=True, text=True)
    out = p.stdout
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))
    lat = float(re.search(r"Average Latency \(s\):\s+([\d.]+)", out).group(1))
    lost = re.search(r"Queries lost:\s+(\d+)", out).group(1)
    rcodes = re.search(r"Response codes:\s+(.*)", out)
    return {"qps": qps, "lat_ms": lat * 1e3, "lost": int(lost),
            "rcodes": rcodes.group(1) if rcodes else ""}


def one_pdns_run(tools, tmp, db, qfile, zfile, backend, caches, settings, seconds):
    d = tempfile.mkdtemp(dir=tmp, prefix="%s-%s-" % (backend, caches))
    sock = os.path.join(d, "b.sock")
    s = dict(settings)
    proc = b = None
    bpid = None
    if backend == "kyedns":
        b = start_backend(db, sock, os.path.join(d, "backend.log"))
        bpid = b.proc.pid
    elif backend in ("const", "const-epoll"):
        proc = start_const(tools, sock, backend == "const-epoll")
        bpid = proc.pid
    else:
        s.update({"launch": "lmdb", "lmdb-filename": os.path.join(d, "pdns.lmdb"),
                  "remote-connection-string": None, "remote-dnssec": None})
    pd = Pdns(d, sock, s)
    try:
        if backend == "lmdb":
            pd.pdnsutil("load-zone", "example.com", zfile)
            # pdns filled its zone cache before the zone existed (every
            # query REFUSED until the next refresh): start it again
            pd.stop()
            pd = Pdns(d, sock, s)
        pd.wait_ready()
        with bench_lock():
            load = loadavg()
            dnsperf(pd.dns_port, qfile, 1)  # warm-up
            p0 = cpu_seconds(pd.proc.pid)
            b0 = cpu_seconds(bpid) if bpid else 0
            r = dnsperf(pd.dns_port, qfile, seconds)
            r["pdns_cpu"] = cpu_seconds(pd.proc.pid) - p0
            r["backend_cpu"] = (cpu_seconds(bpid) - b0) if bpid else 0.0
        r["load"] = load
        r.update(backend=backend, caches=caches)
        return r
    finally:
        pd.stop()
        if b:
            b.stop()
        if proc:
            proc.terminate()
            proc.wait()
        shutil.rmtree(d, ignore_errors=True)


# const is the ceiling the issue names (thread per connection); const-epoll
# makes kyedns-backend's system calls with no work: the transport's share.
PDNS_BACKENDS = ("kyedns", "lmdb", "const", "const-epoll")


def through_pdns(tools, tmp, db, n, seconds, rounds):
    qfile = os.path.join(tmp, "queries.txt")
    rnd = random.Random(7)
    with open(qfile, "w") as f:
        for _ in range(20000):
            f.write("h%d.example.com A\n" % rnd.randrange(n))
    # the same records as a zone file for the lmdb backend
    zfile = os.path.join(tmp, "example.com.zone")
    with open(zfile, "w") as f:
        f.write("$ORIGIN example.com.\n"
                "@ 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 10800 3600 604800 60\n"
                "@ 3600 IN NS ns1.example.com.\n")
        for i in range(n):
            f.write("h%d 60 IN A %s\n" % (i, host_ip(i)))

    runs = []
    # Rounds alternate the backends so that the load other processes put
    # on a shared machine spreads over all of them; the table shows medians.
    for round_no in range(rounds):
        for backend in PDNS_BACKENDS:
            for caches, settings in (("off", CACHES_OFF), ("on", CACHES_ON)):
                r = one_pdns_run(tools, tmp, db, qfile, zfile, backend, caches, settings, seconds)
                r["round"] = round_no
                runs.append(r)
                print("round %d pdns+%s caches %s: %.0f qps, %.2f ms avg, lost %d, pdns cpu "
                      "%.2f s, backend cpu %.2f s, load %.2f (%s)" %
                      (round_no, backend, caches, r["qps"], r["lat_ms"], r["lost"], r["pdns_cpu"],
                       r["backend_cpu"], r["load"], r["rcodes"]), flush=True)
    rows = []
    for backend in PDNS_BACKENDS:
        for caches in ("off", "on"):
            mine = [r for r in runs if r["backend"] == backend and r["caches"] == caches]
            row = {"backend": backend, "caches": caches, "qps_all": [r["qps"] for r in mine],
                   # a run that was not all NOERROR measured something else
                   "answers_ok": all(r["rcodes"].startswith("NOERROR") and
                                     r["rcodes"].count("%") == 1 for r in mine)}
            for k in ("qps", "lat_ms", "pdns_cpu", "backend_cpu", "load"):
                row[k] = statistics.median(r[k] for r in mine)
            # per-run ratio, then the median: both CPUs come from the same run
            row["cpu_ratio"] = statistics.median(
                r["backend_cpu"] / r["pdns_cpu"] if r["pdns_cpu"] else 0 for r in mine)
            rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--sizes", default="1000,100000,1000000")
    ap.add_argument("--conns", default="3,16", help="raw: connection counts")
    ap.add_argument("--pdns-hosts", type=int, default=100000)
    ap.add_argument("--skip-raw", action="store_true")
    ap.add_argument("--skip-pdns", action="store_true")
    ap.add_argument("--rounds", type=int, default=3, help="through-pdns rounds (median)")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    conns = [int(x) for x in a.conns.split(",")]
    tmp = tempfile.mkdtemp(prefix="kyedns-bench-")
    try:
        tools = build_tools(tmp)
        print("machine: %d cpus, load %s" % (os.cpu_count(), open("/proc/loadavg").read().split()[:3]),
              flush=True)
        dbs = {}
        raw_rows = []
        if not a.skip_raw:
            raw_rows, dbs = raw(tools, tmp, sizes, conns, a.seconds)
        pdns_rows = []
        if not a.skip_pdns:
            db = dbs.get(a.pdns_hosts) or make_store(tmp, a.pdns_hosts)[0]
            pdns_rows = through_pdns(tools, tmp, db, a.pdns_hosts, a.seconds, a.rounds)
        report(raw_rows, pdns_rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


TARGET_CAPACITY = 200000  # issue 3: raw >= 200k lookups/s on one core


def report(raw_rows, pdns_rows):
    if raw_rows:
        print("\n| backend | hosts | conns | lookups/s (wall) | capacity/s (1 core) | "
              "backend CPU us/lookup | p50 / p99 us | generator CPU s | in-backend p50 / p99 us "
              "| load |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        micro = [r for r in raw_rows if r["backend"] == "rb_handle only"]
        raw_rows = [r for r in raw_rows if r["backend"] != "rb_handle only"]
        for r in raw_rows:
            inb = "%.2f / %.2f" % (r["in_p50"], r["in_p99"]) if "in_p50" in r else "-"
            print("| %s | %d | %d | %.0f | %.0f | %.2f | %.1f / %.1f | %.2f | %s | %.2f |" %
                  (r["backend"], r["hosts"], r["conns"], r["rate"], r["capacity"],
                   1e6 / r["capacity"] if r["capacity"] else 0, r["p50"], r["p99"],
                   r["gen_cpu_s"], inb, r["load"]))
        if micro:
            print("\n| own work (rbmicro: rb_handle in a loop, no sockets) | hosts | ns/lookup | "
                  "lookups per CPU-second | load |")
            print("|---|---:|---:|---:|---:|")
            for r in micro:
                print("| rb_handle only | %d | %.0f | %.0f | %.2f |" %
                      (r["hosts"], r["ns"], r["rate"], r["load"]))
        by = {(r["backend"], r["hosts"], r["conns"]): r for r in raw_rows}
        sizes = sorted({r["hosts"] for r in raw_rows})
        conns = sorted({r["conns"] for r in raw_rows})
        print("\nRatios (raw):")
        for c in conns:
            for n in sizes:
                k, e, t = (by.get((b, n, c)) for b in
                           ("kyedns-backend", "const-epoll", "const-threads"))
                if not (k and e and t and e["capacity"] and t["capacity"]):
                    continue
                print("  conns %2d hosts %7d: capacity kyedns/target %.2f, kyedns/const-epoll "
                      "%.2f, kyedns/const-threads %.2f; wall kyedns/const-epoll %.2f; "
                      "own work beyond the floor %.2f us/lookup" %
                      (c, n, k["capacity"] / TARGET_CAPACITY, k["capacity"] / e["capacity"],
                       k["capacity"] / t["capacity"], k["rate"] / e["rate"],
                       1e6 / k["capacity"] - 1e6 / e["capacity"]))
            lo, hi = by.get(("kyedns-backend", sizes[0], c)), by.get(("kyedns-backend", sizes[-1], c))
            if lo and hi and len(sizes) > 1:
                print("  conns %2d flatness %d -> %d hosts: capacity %.2f, wall %.2f "
                      "(target: within 10%%, i.e. >= 0.90)" %
                      (c, sizes[0], sizes[-1], hi["capacity"] / lo["capacity"],
                       hi["rate"] / lo["rate"]))
    if pdns_rows:
        ceiling = {r["caches"]: r["qps"] for r in pdns_rows if r["backend"] == "const"}
        print("\n| pdns + | caches | QPS (median) | runs | vs constbackend | avg latency ms | "
              "pdns CPU s | backend CPU s | backend/pdns CPU | load |")
        print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
        for r in pdns_rows:
            ratio = r["qps"] / ceiling[r["caches"]] if ceiling.get(r["caches"]) else 0
            cpu = "%.0f%%" % (100 * r["cpu_ratio"]) if r["backend_cpu"] else "-"
            print("| %s | %s | %.0f%s | %s | %.2f | %.2f | %.2f | %.2f | %s | %.2f |" %
                  (r["backend"], r["caches"], r["qps"], "" if r["answers_ok"] else
                   " (NOT all NOERROR: see the run lines)",
                   " ".join("%.0f" % q for q in r["qps_all"]), ratio, r["lat_ms"],
                   r["pdns_cpu"], r["backend_cpu"], cpu, r["load"]))
        by = {(r["backend"], r["caches"]): r for r in pdns_rows}
        print("\nRatios (through pdns):")
        for caches in ("off", "on"):
            k, c = by.get(("kyedns", caches)), by.get(("const", caches))
            e = by.get(("const-epoll", caches))
            if k and c and c["qps"]:
                print("  caches %-3s: QPS kyedns/const %.2f (target >= 0.95 caches off)%s; backend "
                      "CPU as share of pdns CPU: kyedns %.0f%%, const %.0f%%%s (target <= 15%%)" %
                      (caches, k["qps"] / c["qps"],
                       ", kyedns/const-epoll %.2f" % (k["qps"] / e["qps"]) if e and e["qps"] else "",
                       100 * k["cpu_ratio"], 100 * c["cpu_ratio"],
                       ", const-epoll %.0f%%" % (100 * e["cpu_ratio"]) if e else ""))


if __name__ == "__main__":
    main()
