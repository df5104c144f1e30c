#!/usr/bin/env python3
"""Dynamic updates during a big import: how long does an update wait while
`kyednsctl host import` holds the store's writer?

    bench/import/stall.py [N]      (default 1,000,000 hosts; build first)

Creates the bench's four zones and one dynamic host in a fresh store under
/tmp, starts kyedns-updater on a free loopback port (abuse limits off), and
sends one update at a time (alternating addresses, so each one commits)
from before the import starts until it ends.  Reports the import's wall
time and the update latencies (p50, p99, max) while it ran, and the same
for a quiet period before it.  Environment: KYEDNS_BUILD (default ./build).
"""
import base64
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("KYEDNS_BUILD") or os.path.join(ROOT, "build")
ZONES = ["dyn.example.com", "home.example.net", "example.org", "u.example.io"]
TOKEN = "stallbench-token-0123456789abcdef"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def summary(name, lat):
    ms = [x * 1000 for x in lat]
    print("%-18s %6d updates  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms"
          % (name, len(ms), pct(ms, 0.5), pct(ms, 0.99), max(ms) if ms else float("nan")))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    ctl = os.path.join(BUILD, "kyednsctl")
    d = tempfile.mkdtemp(prefix="kyedns-stall.")
    try:
        db, hosts = os.path.join(d, "db"), os.path.join(d, "hosts.txt")
        with open(hosts, "w") as f:
            subprocess.run([sys.executable, os.path.join(ROOT, "bench/import/gen.py"), str(n),
                            "--zones", ",".join(ZONES)], stdout=f, check=True)
        for z in ZONES:
            subprocess.run([ctl, "--db", db, "zone", "add", z, "--ns", "ns1.example.com"],
                           stdout=subprocess.DEVNULL, check=True)
        subprocess.run([ctl, "--db", db, "host", "add", "live.dyn.example.com", "--token", TOKEN],
                       stdout=subprocess.DEVNULL, check=True)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
        up = subprocess.Popen([os.path.join(BUILD, "kyedns-updater"), "--db", db, "--listen",
                               "127.0.0.1:%d" % port, "--rate-limit", "0", "--max-conns-per-client",
                               "0", "--host-change-rate", "0"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        auth = "Basic " + base64.b64encode(("live.dyn.example.com:" + TOKEN).encode()).decode()
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        phase = ["quiet"]
        lat = {"quiet": [], "import": [], "after": []}
        stop = threading.Event()

        def updater_client():
            i = 0
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while not stop.is_set():
                i += 1
                t0 = time.monotonic()
                ph = phase[0]
                c.request("GET", "/nic/update?hostname=live.dyn.example.com&myip=192.0.2.%d"
                          % (1 + i % 2), headers={"Authorization": auth})
                body = c.getresponse().read()
                dt = time.monotonic() - t0
                if not body.startswith(b"good"):
                    print("unexpected answer: %r" % body, file=sys.stderr)
                if phase[0] == ph:
                    lat[ph].append(dt)

        t = threading.Thread(target=updater_client)
        t.start()
        time.sleep(2)
        phase[0] = "import"
        t0 = time.monotonic()
        p = subprocess.run([ctl, "--db", db, "host", "import", hosts],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.monotonic() - t0
        phase[0] = "after"
        time.sleep(0.5)
        stop.set()
        t.join()
        up.terminate()
        up.wait()
        if p.returncode != 0:
            sys.exit("import failed: " + p.stderr)
        size = os.stat(os.path.join(db, "data.mdb")).st_size
        print("import of %d hosts %.2f s, data.mdb %.1f B/host" % (n, elapsed, size / n))
        summary("before import", lat["quiet"])
        summary("during import", lat["import"])
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
