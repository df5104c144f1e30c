#!/usr/bin/python3
"""etcd as the replicated log that per-server stores would follow.

A single-node etcd on loopback (its default durability: the WAL is synced
before a put is answered).  Each put is one host's new state under
/kyedns/<zone>/<host>, the value what a per-server store would need
(addresses and the update time, as JSON).  Measured:

1. puts/s through the JSON gateway (/v3/kv/put) with 1 and 16 clients;
2. at a steady 100 puts/s: the time from a put being sent to a watcher
   (`etcdctl watch --prefix`, what a per-server feeder would run) printing
   it, p50/p99;
3. the bytes the watcher's connection received per update (kernel TCP
   counters), i.e. what each per-server store ingests per update.

Usage: bench/scaleout/etcd_log.py [STEADY_SECONDS] (default 30).
"""
import base64
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import free_port, host_v4, host_v6, pct, tcp_bytes_pid  # noqa: E402

STEADY = int(sys.argv[1]) if len(sys.argv) > 1 else 30
PREFIX = "/kyedns/dyn.example.org/"


def b64(s):
    return base64.b64encode(s.encode()).decode()


class Client:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def put(self, host, seq):
        value = json.dumps({"a": host_v4(seq), "aaaa": host_v6(host, seq), "t": time.time()},
                           separators=(",", ":"))
        body = json.dumps({"key": b64("%sh%d" % (PREFIX, host)), "value": b64(value)})
        self.conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
        r = self.conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError("put failed: %d %s" % (r.status, data[:200]))
        return len(value)


def throughput(port, clients, seconds):
    lat = []
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def run(cid):
        c = Client(port)
        mine = []
        n = cid
        while time.monotonic() < end:
            t0 = time.monotonic()
            c.put(n % 100000, n)
            mine.append(time.monotonic() - t0)
            n += clients
        with lock:
            lat.extend(mine)

    t0 = time.monotonic()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return len(lat) / (time.monotonic() - t0), pct(lat, 50) * 1e3, pct(lat, 99) * 1e3


def main():
    base = tempfile.mkdtemp(prefix="kyedns-scaleout-etcd-")
    cport, pport = free_port(), free_port()
    curl = "http://127.0.0.1:%d" % cport
    etcd = subprocess.Popen(
        ["etcd", "--name", "n1", "--data-dir", os.path.join(base, "data"),
         "--listen-client-urls", curl, "--advertise-client-urls", curl,
         "--listen-peer-urls", "http://127.0.0.1:%d" % pport,
         "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % pport,
         "--initial-cluster", "n1=http://127.0.0.1:%d" % pport, "--log-outputs", "stderr"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(base, "etcd.log"), "w"))
    watcher = None
    try:
        ver = subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout.split()[2]
        end = time.monotonic() + 30
        while True:
            try:
                Client(cport).put(0, 0)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)
        print("etcd %s, single node, loopback, data dir on %s" % (ver, base))

        print("\n## puts/s (each answered after etcd's WAL sync)")
        for clients in (1, 16):
            ps, p50, p99 = throughput(cport, clients, 10)
            print("  clients=%-2d %6.0f puts/s  latency p50 %.1f ms p99 %.1f ms" % (clients, ps, p50, p99))

        print("\n## steady 100 puts/s for %d s, watcher = etcdctl watch --prefix" % STEADY)
        watcher = subprocess.Popen(["etcdctl", "--endpoints", curl, "watch", "--prefix", PREFIX],
                                   stdout=subprocess.PIPE, text=True, bufsize=1)
        seen = {}

        def read():
            # etcdctl prints three lines per event: PUT, key, value
            lines = iter(watcher.stdout)
            for line in lines:
                if line.strip() != "PUT":
                    continue
                next(lines)
                value = next(lines)
                t = time.time()
                try:
                    v = json.loads(value)
                    seen[v["a"]] = t - v["t"]
                except ValueError:
                    pass

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        time.sleep(1.0)
        before = tcp_bytes_pid(watcher.pid)
        c = Client(cport)
        acked = {}
        value_bytes = 0
        t_start = time.monotonic()
        k = 0
        while time.monotonic() - t_start < STEADY:
            due = t_start + k / 100.0
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            seq = 1000000 + k
            value_bytes += c.put(k % 100000, seq)
            acked[host_v4(seq)] = True
            k += 1
        time.sleep(1.0)
        after = tcp_bytes_pid(watcher.pid)
        lags = [seen[a] for a in acked if a in seen]
        print("  %d puts, %d seen by the watcher; put sent -> watcher printed: p50 %.1f ms, "
              "p99 %.1f ms, max %.1f ms" % (k, len(lags), pct(lags, 50) * 1e3, pct(lags, 99) * 1e3,
                                           max(lags) * 1e3))
        recv = after[1] - before[1]
        print("  watcher connection received %d bytes = %.0f bytes per update "
              "(key %d bytes + value %.0f bytes of payload)" % (
                  recv, recv / k, len(PREFIX) + 6, value_bytes / k))
        du = subprocess.run(["du", "-sk", os.path.join(base, "data")], capture_output=True,
                            text=True).stdout.split()[0]
        print("  data dir after the run (WAL + MVCC history, not compacted): %s kB" % du)
    finally:
        if watcher:
            watcher.terminate()
            watcher.wait()
        etcd.terminate()
        etcd.wait()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
