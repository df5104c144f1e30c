#!/usr/bin/python3
"""Does pdns 4.7 take IXFR from a Knot hidden primary?

A Knot primary (zone in the journal, journal-max-depth 100000) with a zone
of HOSTS dual-stack hosts; pdns_server 4.7 with its lmdb backend as
secondary (`secondary=yes`, the zone's IXFR metadata set to 1).  After the
first (AXFR) transfer, UPDATEs of 1 and of 100 hosts are sent to Knot; for
each: the time until pdns serves the new serial, and what pdns logged
(IXFR-in, or "IXFR turned into an AXFR").

Usage: bench/scaleout/pdns_ixfr_in.py [HOSTS] (default 100000).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import free_port, write_zone  # noqa: E402
from knot_ixfr import (DEEP, ORIGIN, PRIMARY_CONF, Knot, Updater, serial,  # noqa: E402
                       wait_serial)

HOSTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100000

PDNS_CONF = """launch=lmdb
lmdb-filename={dir}/pdns.lmdb
secondary=yes
xfr-cycle-interval=1
allow-notify-from=127.0.0.0/8
local-address=127.0.0.1
local-port={port}
socket-dir={dir}
guardian=no
daemon=no
disable-syslog=yes
loglevel=6
"""


def main():
    base = tempfile.mkdtemp(prefix="kyedns-scaleout-pdnsixfr-")
    knot = pdns = None
    try:
        pdns_port, knot_port = free_port(), free_port()
        knot = Knot(base, "knot", PRIMARY_CONF, port=knot_port, sec_port=pdns_port, template=DEEP)
        write_zone(os.path.join(knot.dir, "zone.txt"), ORIGIN, HOSTS)
        knot.start()
        wait_serial(knot_port)
        pdir = os.path.join(base, "pdns")
        os.makedirs(pdir)
        with open(os.path.join(pdir, "pdns.conf"), "w") as f:
            f.write(PDNS_CONF.format(dir=pdir, port=pdns_port))
        util = ["pdnsutil", "--config-dir=" + pdir]
        subprocess.run(util + ["create-secondary-zone", ORIGIN, "127.0.0.1:%d" % knot_port],
                       check=True, capture_output=True)
        subprocess.run(util + ["set-meta", ORIGIN, "IXFR", "1"], check=True, capture_output=True)
        log = open(os.path.join(pdir, "log"), "w")
        t0 = time.monotonic()
        pdns = subprocess.Popen(["pdns_server", "--config-dir=" + pdir], stdout=log,
                                stderr=subprocess.STDOUT)
        wait_serial(pdns_port, serial(knot_port), limit=600, step=0.05)
        last = dns.message.make_query("h%d.%s" % (HOSTS - 1, ORIGIN), "AAAA")
        while not dns.query.udp(last, "127.0.0.1", port=pdns_port, timeout=2).answer:
            time.sleep(0.05)
        ver = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "pdns-server"],
                             capture_output=True, text=True).stdout
        print("pdns_server %s (lmdb) secondary of knotd, %d hosts: first transfer (last host answered) after %.1f s"
              % (ver, HOSTS, time.monotonic() - t0))
        u = Updater(knot_port)
        h = 0
        for n in (1, 100, 1):
            mark = os.path.getsize(os.path.join(pdir, "log"))
            u.send([(h + k) % HOSTS for k in range(n)])
            h += n
            t_ack = time.monotonic()
            want = serial(knot_port)
            t_seen, _ = wait_serial(pdns_port, want, limit=120, step=0.005)
            time.sleep(0.5)
            with open(os.path.join(pdir, "log")) as f:
                f.seek(mark)
                lines = [l.strip() for l in f if "XFR-in" in l]
            print("  %3d hosts in one UPDATE: served by pdns %.2f s after Knot's answer" % (
                n, t_seen - t_ack))
            for l in lines:
                print("    pdns: " + l[:200])
        u.close()
    finally:
        if pdns and pdns.poll() is None:
            pdns.terminate()
            pdns.wait(20)
        if knot:
            knot.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
