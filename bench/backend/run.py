#!/usr/bin/python3
"""Benchmark of kyedns-backend.  Run from the repository root after `make`:

    /usr/bin/python3 bench/backend/run.py [--seconds 10] [--sizes 1000,100000,1000000]
                                          [--skip-raw] [--skip-pdns]

(a) raw: bench/backend/rbload speaks the remote-backend protocol over N
    connections in lockstep, like pdns, against kyedns-backend on stores of
    1k, 100k and 1M hosts (filled with `kyednsctl host import`): lookups/s,
    p50/p99, backend CPU per lookup.
(b) through pdns: dnsperf against pdns_server with, in turn, kyedns-backend
    (100k hosts), pdns's native lmdb backend (the same records, loaded with
    `pdnsutil load-zone`) and bench/backend/constbackend (answers without
    looking anything up: the ceiling of the remote-backend path); caches off
    and on.  Reports QPS, latency, pdns and backend CPU.

Everything runs on loopback in a temporary directory; processes are
stopped at the end.  Prints a Markdown table (README.md holds the last one).
"""
import argparse
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
    for name, libs in (("rbload", []), ("constbackend", ["-lpthread"])):
        path = os.path.join(outdir, name)
        subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-Werror",
                        os.path.join(HERE, name + ".c"), "-o", path] + libs, check=True)
        tools[name] = path
    return tools


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
            f.write("h%d.example.com tok-%020d %s\n" % (i, i, host_ip(i)))
    t = time.monotonic()
    subprocess.run([ctl, "--db", db, "host", "import", hosts], check=True, capture_output=True)
    took = time.monotonic() - t
    os.unlink(hosts)
    return db, took


WARMUP = 2  # seconds rbload runs before measuring


def rbload(tools, sock, n, conns, seconds):
    p = subprocess.run([tools["rbload"], "--socket", sock, "--conns", str(conns), "--seconds",
                        str(seconds), "--warmup", str(WARMUP), "--count", str(n),
                        "--expect-rows"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("rbload failed: %s %s" % (p.stdout, p.stderr))
    kv = dict(re.findall(r"(\w+)=([\d.]+)", p.stdout))
    return {"rate": float(kv["rate"]), "p50": float(kv["p50"]), "p99": float(kv["p99"]),
            "requests": int(kv["requests"])}


def backend_stats(sock):
    """The backend's own statistics (directBackendCmd stats) as a dict."""
    c = RbClient(sock)
    try:
        text = c.call("directBackendCmd", query="stats")["result"]
    finally:
        c.close()
    return dict(line.split(" ", 1) for line in text.splitlines())


def raw(tools, tmp, sizes, seconds):
    rows = []
    dbs = {}
    for n in sizes:
        db, took = make_store(tmp, n)
        dbs[n] = db
        sock = os.path.join(tmp, "raw.sock")
        b = None
        try:
            for conns in (3, 16):
                # a fresh backend per run, so its latency histogram is this run's
                b = start_backend(db, sock, os.path.join(tmp, "raw-%d-%d.log" % (n, conns)))
                c0 = cpu_seconds(b.proc.pid)
                r = rbload(tools, sock, n, conns, seconds)
                cpu = cpu_seconds(b.proc.pid) - c0
                # CPU covers the warm-up too: scale the count to match
                r["cpu_us"] = cpu / (r["requests"] * (seconds + WARMUP) / seconds) * 1e6
                st = backend_stats(sock)
                r["in_p50"] = int(st["lookup_p50_ns"]) / 1e3
                r["in_p99"] = int(st["lookup_p99_ns"]) / 1e3
                b.stop()
                b = None
                r.update(hosts=n, conns=conns, import_s=took)
                rows.append(r)
                print("raw hosts=%d conns=%d: %.0f lookups/s p50 %.1f us p99 %.1f us, "
                      "backend cpu %.2f us/lookup, in-backend p50 %.2f us p99 %.2f us" %
                      (n, conns, r["rate"], r["p50"], r["p99"], r["cpu_us"], r["in_p50"],
                       r["in_p99"]), flush=True)
        finally:
            if b:
                b.stop()
    # the same generator against the no-work backend, for scale
    sock = os.path.join(tmp, "const.sock")
    cb = subprocess.Popen([tools["constbackend"], sock])
    try:
        _wait_sock(sock)
        for conns in (3, 16):
            r = rbload(tools, sock, 1000, conns, seconds)
            r.update(hosts="const", conns=conns)
            rows.append(r)
            print("raw constbackend conns=%d: %.0f lookups/s p50 %.1f us p99 %.1f us" %
                  (conns, r["rate"], r["p50"], r["p99"]), flush=True)
    finally:
        cb.terminate()
        cb.wait()
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
    elif backend == "const":
        proc = subprocess.Popen([tools["constbackend"], sock])
        _wait_sock(sock)
        bpid = proc.pid
    else:
        s.update({"launch": "lmdb", "lmdb-filename": os.path.join(d, "pdns.lmdb"),
                  "remote-connection-string": None, "remote-dnssec": None})
    pd = Pdns(d, sock, s)
    try:
        if backend == "lmdb":
            pd.pdnsutil("load-zone", "example.com", zfile)
        pd.wait_ready()
        dnsperf(pd.dns_port, qfile, 1)  # warm-up
        p0 = cpu_seconds(pd.proc.pid)
        b0 = cpu_seconds(bpid) if bpid else 0
        r = dnsperf(pd.dns_port, qfile, seconds)
        r["pdns_cpu"] = cpu_seconds(pd.proc.pid) - p0
        r["backend_cpu"] = (cpu_seconds(bpid) - b0) if bpid else 0.0
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
        for backend in ("kyedns", "lmdb", "const"):
            for caches, settings in (("off", CACHES_OFF), ("on", CACHES_ON)):
                r = one_pdns_run(tools, tmp, db, qfile, zfile, backend, caches, settings, seconds)
                r["round"] = round_no
                runs.append(r)
                print("round %d pdns+%s caches %s: %.0f qps, %.2f ms avg, lost %d, pdns cpu "
                      "%.1f s, backend cpu %.1f s (%s)" %
                      (round_no, backend, caches, r["qps"], r["lat_ms"], r["lost"], r["pdns_cpu"],
                       r["backend_cpu"], r["rcodes"]), flush=True)
    rows = []
    for backend in ("kyedns", "lmdb", "const"):
        for caches in ("off", "on"):
            mine = [r for r in runs if r["backend"] == backend and r["caches"] == caches]
            row = {"backend": backend, "caches": caches, "qps_all": [r["qps"] for r in mine]}
            for k in ("qps", "lat_ms", "pdns_cpu", "backend_cpu"):
                row[k] = statistics.median(r[k] for r in mine)
            rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--sizes", default="1000,100000,1000000")
    ap.add_argument("--pdns-hosts", type=int, default=100000)
    ap.add_argument("--skip-raw", action="store_true")
    ap.add_argument("--skip-pdns", action="store_true")
    ap.add_argument("--rounds", type=int, default=3, help="through-pdns rounds (median)")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    tmp = tempfile.mkdtemp(prefix="kyedns-bench-")
    try:
        tools = build_tools(tmp)
        print("machine: %d cpus, load %s" % (os.cpu_count(), open("/proc/loadavg").read().split()[:3]))
        dbs = {}
        raw_rows = []
        if not a.skip_raw:
            raw_rows, dbs = raw(tools, tmp, sizes, a.seconds)
        pdns_rows = []
        if not a.skip_pdns:
            db = dbs.get(a.pdns_hosts) or make_store(tmp, a.pdns_hosts)[0]
            pdns_rows = through_pdns(tools, tmp, db, a.pdns_hosts, a.seconds, a.rounds)
        report(raw_rows, pdns_rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(raw_rows, pdns_rows):
    if raw_rows:
        print("\n| backend | hosts | connections | lookups/s | p50 us | p99 us | "
              "backend CPU us/lookup | in-backend p50 / p99 us |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in raw_rows:
            if r["hosts"] == "const":
                print("| constbackend | - | %d | %.0f | %.1f | %.1f | - | - |" %
                      (r["conns"], r["rate"], r["p50"], r["p99"]))
            else:
                print("| kyedns-backend | %d | %d | %.0f | %.1f | %.1f | %.2f | %.2f / %.2f |" %
                      (r["hosts"], r["conns"], r["rate"], r["p50"], r["p99"], r["cpu_us"],
                       r["in_p50"], r["in_p99"]))
    if pdns_rows:
        ceiling = {r["caches"]: r["qps"] for r in pdns_rows if r["backend"] == "const"}
        print("\n| pdns + | caches | QPS (median) | runs | vs constbackend | avg latency ms | "
              "pdns CPU s | backend CPU s | backend/pdns CPU |")
        print("|---|---|---:|---|---:|---:|---:|---:|---:|")
        for r in pdns_rows:
            ratio = r["qps"] / ceiling[r["caches"]] if ceiling.get(r["caches"]) else 0
            cpu = "%.0f%%" % (100 * r["backend_cpu"] / r["pdns_cpu"]) if r["backend_cpu"] else "-"
            print("| %s | %s | %.0f | %s | %.2f | %.2f | %.1f | %.1f | %s |" %
                  (r["backend"], r["caches"], r["qps"],
                   " ".join("%.0f" % q for q in r["qps_all"]), ratio, r["lat_ms"],
                   r["pdns_cpu"], r["backend_cpu"], cpu))


if __name__ == "__main__":
    main()
