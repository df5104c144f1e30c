#!/usr/bin/python3
"""Benchmark of signed KyedNS zones.  Run from the repository root after
`make`:

    /usr/bin/python3 bench/dnssec/run.py [--seconds 3] [--hosts 10000] [--rounds 3]
                                         [--modes unsigned,nsec,nsec3] [--updates 200]

(a) QPS through pdns: dnsperf (DO bit set, 8 clients, 64 outstanding;
    20 000 names: 90 % random hosts, 10 % names that do not exist) against
    pdns_server with kyedns-backend and with pdns's native lmdb backend
    holding the same records, each zone unsigned and signed the same way
    (`pdnsutil secure-zone`: one ECDSA P-256 CSK; NSEC, or NSEC3 1 0 0 -),
    caches off and on (the snippet's 20 s).  Rounds alternate the
    configurations; the table shows medians.  The signing cost is pdns's and
    the same for every backend, so the ratio signed/unsigned should match
    for both backends.
(b) Update-to-signed-answer time: kyedns-updater (purging through pdns's
    API) + pdns with caches on, a signed zone; for each update, the time from
    sending the dyndns2 request until pdns answers the new address with an
    RRSIG.  p50 and p99.

Reuses bench/backend/run.py (store filling, locking, CPU accounting):
every measurement holds flock(/tmp/kyedns-bench.lock).  Everything runs on
loopback in a temporary directory; processes are stopped at the end.
"""
import argparse
import base64
import hashlib
import http.client
import importlib.util
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

_spec = importlib.util.spec_from_file_location("backend_bench",
                                               os.path.join(ROOT, "bench", "backend", "run.py"))
bb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bb)

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rdatatype  # noqa: E402

from backend_util import Pdns, start_backend  # noqa: E402
from updater_util import Updater  # noqa: E402

ZONE = "example.com"
NSEC3PARAM = "1 0 0 -"


def dnsperf(port, qfile, seconds):
    """dnsperf with the DO bit; returns qps, latency, lost, rcodes."""
    p = subprocess.run(["dnsperf", "-D", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l",
                        str(seconds), "-c", "8", "-q", "64", "-t", "2"],
                       capture_output=True, text=True)
    out = p.stdout
    m = re.search(r"Queries per second:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError("dnsperf: %s%s" % (out, p.stderr))
    lat = float(re.search(r"Average Latency \(s\):\s+([\d.]+)", out).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
    rcodes = re.search(r"Response codes:\s+(.*)", out)
    return {"qps": float(m.group(1)), "lat_ms": lat * 1e3, "lost": lost,
            "rcodes": rcodes.group(1) if rcodes else ""}


def secure(pd, mode, rectify):
    """Signs ZONE through pd's configuration the way an operator would:
    one CSK.  Through KyedNS with add-zone-key, as docs/dnssec.md says for
    big zones: secure-zone's closing rectify lists the whole zone, which
    pdns 4.7's remote backend cannot read within its timeout beyond some
    9,000 records (the key is added all the same)."""
    if mode == "unsigned":
        return
    if rectify:
        pd.pdnsutil("secure-zone", ZONE)
    else:
        pd.pdnsutil("add-zone-key", ZONE, "ksk", "active", "ecdsa256")
    if mode == "nsec3":
        pd.pdnsutil("set-nsec3", ZONE, NSEC3PARAM)
    if rectify:  # pdns's own backends need it; through KyedNS a no-op
        pd.pdnsutil("rectify-zone", ZONE)


def token(i):
    """Host i's token: strong enough for the store's token check."""
    raw = hashlib.sha256(b"kyedns-bench-%d" % i).digest()
    return "Kq9-" + base64.urlsafe_b64encode(raw).decode()[:28]


def kyedns_store(tmp, n, mode, tag=""):
    """A store with n hosts h<i> (bench/backend's addresses), ZONE signed
    in mode."""
    dst = os.path.join(tmp, "db-%s%s" % (mode, tag))
    ctl = bb.binary("kyednsctl")
    subprocess.run([ctl, "--db", dst, "zone", "add", ZONE, "--ns", "ns1." + ZONE],
                   check=True, capture_output=True)
    hosts = os.path.join(tmp, "hosts.txt")
    with open(hosts, "w") as f:
        for i in range(n):
            f.write("h%d.%s %s %s\n" % (i, ZONE, token(i), bb.host_ip(i)))
    subprocess.run([ctl, "--db", dst, "host", "import", hosts], check=True, capture_output=True)
    os.unlink(hosts)
    if mode != "unsigned":
        d = tempfile.mkdtemp(dir=tmp, prefix="sign-")
        sock = os.path.join(d, "b.sock")
        b = start_backend(dst, sock, os.path.join(d, "backend.log"))
        try:
            pd = Pdns(d, sock, {})
            try:
                pd.wait_ready()
                secure(pd, mode, rectify=False)
            finally:
                pd.stop()
        finally:
            b.stop()
    return dst


def zone_file(tmp, n):
    path = os.path.join(tmp, "zone.txt")
    with open(path, "w") as f:
        f.write("$ORIGIN %s.\n@ 3600 IN SOA ns1.%s. hostmaster.%s. 1 10800 3600 604800 60\n"
                "@ 3600 IN NS ns1.%s.\n" % (ZONE, ZONE, ZONE, ZONE))
        for i in range(n):
            f.write("h%d 60 IN A %s\n" % (i, bb.host_ip(i)))
    return path


def one_run(tmp, dbs, zfile, qfile, backend, mode, caches, seconds):
    d = tempfile.mkdtemp(dir=tmp, prefix="%s-%s-%s-" % (backend, mode, caches))
    sock = os.path.join(d, "b.sock")
    s = dict(bb.CACHES_OFF if caches == "off" else bb.CACHES_ON)
    b = None
    if backend == "kyedns":
        b = start_backend(dbs[mode], sock, os.path.join(d, "backend.log"))
    else:
        s.update({"launch": "lmdb", "lmdb-filename": os.path.join(d, "pdns.lmdb"),
                  "remote-connection-string": None, "remote-dnssec": None})
    pd = Pdns(d, sock, s)
    try:
        if backend == "lmdb":
            pd.pdnsutil("load-zone", ZONE, zfile)
            secure(pd, mode, rectify=True)
            pd.stop()  # its zone cache predates the zone
            pd = Pdns(d, sock, s)
        pd.wait_ready()
        q = dns.message.make_query("h1." + ZONE, "A", want_dnssec=True)
        r = dns.query.udp(q, "127.0.0.1", port=pd.dns_port, timeout=2)
        signed = any(rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer)
        with bb.bench_lock():
            load = bb.loadavg()
            dnsperf(pd.dns_port, qfile, 1)  # warm-up (and pdns's signature cache)
            p0 = bb.cpu_seconds(pd.proc.pid)
            r = dnsperf(pd.dns_port, qfile, seconds)
            r["pdns_cpu"] = bb.cpu_seconds(pd.proc.pid) - p0
        r.update(load=load, backend=backend, mode=mode, caches=caches, signed=signed)
        return r
    finally:
        pd.stop()
        if b:
            b.stop()
        shutil.rmtree(d, ignore_errors=True)


def qps_table(tmp, n, modes, seconds, rounds):
    qfile = os.path.join(tmp, "queries.txt")
    rnd = random.Random(7)
    with open(qfile, "w") as f:
        for i in range(20000):
            if i % 10 == 9:
                f.write("nx%d.%s A\n" % (rnd.randrange(n), ZONE))
            else:
                f.write("h%d.%s A\n" % (rnd.randrange(n), ZONE))
    zfile = zone_file(tmp, n)
    dbs = {m: kyedns_store(tmp, n, m) for m in modes}
    runs = []
    for round_no in range(rounds):
        for mode in modes:
            for backend in ("kyedns", "lmdb"):
                for caches in ("off", "on"):
                    r = one_run(tmp, dbs, zfile, qfile, backend, mode, caches, seconds)
                    runs.append(r)
                    print("round %d pdns+%s %s caches %s: %.0f qps, %.2f ms avg, lost %d, "
                          "pdns cpu %.2f s, signed %s, load %.2f (%s)" %
                          (round_no, backend, mode, caches, r["qps"], r["lat_ms"], r["lost"],
                           r["pdns_cpu"], r["signed"], r["load"], r["rcodes"]), flush=True)
    rows = []
    for mode in modes:
        for backend in ("kyedns", "lmdb"):
            for caches in ("off", "on"):
                mine = [r for r in runs if (r["backend"], r["mode"], r["caches"]) ==
                        (backend, mode, caches)]
                row = {"backend": backend, "mode": mode, "caches": caches,
                       "signed_ok": all(r["signed"] == (mode != "unsigned") for r in mine),
                       "no_servfail": all("SERVFAIL" not in r["rcodes"] for r in mine)}
                for k in ("qps", "lat_ms", "pdns_cpu", "load"):
                    row[k] = statistics.median(r[k] for r in mine)
                rows.append(row)
    return rows


def update_latency(tmp, n, mode, count, settings=None, tag="-upd"):
    """Update-to-signed-answer times (seconds) through updater and pdns
    (pdns.conf: the snippet's caches, then settings)."""
    db = kyedns_store(tmp, n, mode, tag)
    d = tempfile.mkdtemp(dir=tmp, prefix="upd-")
    sock = os.path.join(d, "b.sock")
    b = start_backend(db, sock, os.path.join(d, "backend.log"))
    pd = up = None
    try:
        conf = dict(bb.CACHES_ON)
        conf.update(settings or {})
        pd = Pdns(d, sock, conf)
        pd.wait_ready()
        up = Updater(db, d, rate=False, env={"KYEDNS_HOST_CHANGE_RATE": "0"},
                     args=["--pdns-api", "http://127.0.0.1:%d" % pd.api_port,
                           "--pdns-api-key", pd.api_key]).wait_ready()
        conn = http.client.HTTPConnection("127.0.0.1", up.port, timeout=10)
        rnd = random.Random(5)
        times = []
        for k in range(count):
            i = rnd.randrange(n)
            host, tok = "h%d.%s" % (i, ZONE), token(i)
            ip = "198.51.%d.%d" % (k // 250 % 250, k % 250 + 1)
            # pdns caches the old signed answer first, as in service
            q = dns.message.make_query(host, "A", want_dnssec=True)
            dns.query.udp(q, "127.0.0.1", port=pd.dns_port, timeout=2)
            auth = base64.b64encode(("%s:%s" % (host, tok)).encode()).decode()
            t0 = time.monotonic()
            conn.request("GET", "/nic/update?hostname=%s&myip=%s" % (host, ip),
                         headers={"Authorization": "Basic " + auth})
            resp = conn.getresponse()
            body = resp.read().decode()
            if not body.startswith("good"):
                raise RuntimeError("update %s: %d %r" % (host, resp.status, body))
            while True:
                r = dns.query.udp(q, "127.0.0.1", port=pd.dns_port, timeout=2)
                got = {rd.to_text() for rr in r.answer if rr.rdtype == dns.rdatatype.A
                       for rd in rr}
                sig = any(rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer)
                if got == {ip} and (sig or mode == "unsigned"):
                    break
                if time.monotonic() - t0 > 30:
                    raise RuntimeError("%s never answered %s signed" % (host, ip))
            times.append(time.monotonic() - t0)
        conn.close()
        return times
    finally:
        if up:
            up.stop()
        if pd:
            pd.stop()
        b.stop()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--hosts", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--modes", default="unsigned,nsec,nsec3")
    ap.add_argument("--updates", type=int, default=200)
    a = ap.parse_args()
    modes = a.modes.split(",")
    tmp = tempfile.mkdtemp(prefix="kyedns-bench-dnssec-")
    try:
        print("machine: %d cpus, load %s" % (os.cpu_count(),
                                             open("/proc/loadavg").read().split()[:3]), flush=True)
        rows = qps_table(tmp, a.hosts, modes, a.seconds, a.rounds)
        with bb.bench_lock():
            times = update_latency(tmp, a.hosts, "nsec", a.updates)
            times_noqc = update_latency(tmp, a.hosts, "nsec", a.updates,
                                        {"query-cache-ttl": 0}, "-upd-noqc")
        print()
        print("| backend | zone | caches | QPS | avg ms | pdns CPU s | load | answers |")
        print("|---|---|---|---:|---:|---:|---:|---|")
        for r in rows:
            ok = "ok" if r["signed_ok"] and r["no_servfail"] else "WRONG"
            print("| %s | %s | %s | %.0f | %.2f | %.2f | %.2f | %s |" % (
                r["backend"], r["mode"], r["caches"], r["qps"], r["lat_ms"], r["pdns_cpu"],
                r["load"], ok))
        print()
        by = {(r["backend"], r["mode"], r["caches"]): r["qps"] for r in rows}
        for caches in ("off", "on"):
            for mode in modes:
                if mode == "unsigned":
                    continue
                k = by[("kyedns", mode, caches)] / by[("kyedns", "unsigned", caches)]
                l = by[("lmdb", mode, caches)] / by[("lmdb", "unsigned", caches)]
                print("caches %s, %s: signed/unsigned kyedns %.2f, lmdb %.2f; "
                      "kyedns/lmdb signed %.2f, unsigned %.2f" % (
                          caches, mode, k, l, by[("kyedns", mode, caches)] /
                          by[("lmdb", mode, caches)],
                          by[("kyedns", "unsigned", caches)] / by[("lmdb", "unsigned", caches)]))
        for what, ts in (("caches on", times), ("packet cache on, query cache off", times_noqc)):
            print("update to signed answer (nsec, %s, purge), %d updates: p50 %.1f ms, "
                  "p99 %.1f ms, max %.1f ms; %d waited over 1 s (a purge lost to a racing "
                  "query: the old answer stays for cache-ttl)" % (
                      what, len(ts), pct(ts, 50) * 1e3, pct(ts, 99) * 1e3, max(ts) * 1e3,
                      sum(1 for t in ts if t > 1)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
