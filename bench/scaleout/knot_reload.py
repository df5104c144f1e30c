#!/usr/bin/python3
"""Knot DNS turning periodic full zone files into IXFR (no RFC 2136 feeder).

The zone is kept by Knot in its journal (journal-content: all,
zonefile-sync: -1) and loaded with `zonefile-load: difference`: on
`knotc zone-reload` Knot compares the zone file with the zone it serves and
stores only the difference, which it then serves as IXFR.  The zone file
stands for `kyednsctl zone export` output (absolute names, tab separated,
SOA first, the store's serial).  Measured for 1, 1000 and 10000 changed
hosts of a HOSTS-host zone: time from `knotc zone-reload` to the new serial
being served, and the IXFR size of that change against the AXFR size.

Usage: bench/scaleout/knot_reload.py [HOSTS] (default 100000).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import KNOT_SERVER, free_port, host_v4, host_v6  # noqa: E402
from knot_ixfr import ORIGIN, Knot, kdig_xfr, serial, wait_serial  # noqa: E402

HOSTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100000

CONF = KNOT_SERVER + """acl:
  - id: local
    address: 127.0.0.0/8
    action: transfer
template:
  - id: default
    storage: {dir}
    zonefile-load: difference
    zonefile-sync: -1
    journal-content: all
    journal-max-depth: 100000
zone:
  - domain: {origin}
    file: zone.txt
    acl: local
"""


def export(path, serial_no, changed, gen):
    """A zone file as `kyednsctl zone export` prints it; hosts < changed get
    the addresses of generation gen."""
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write("%s\t3600\tIN\tSOA\tns1.%s hostmaster.%s %d 3600 600 604800 60\n" % (
            ORIGIN, ORIGIN, ORIGIN, serial_no))
        f.write("%s\t3600\tIN\tNS\tns1.%s\n%s\t3600\tIN\tNS\tns2.%s\n" % (ORIGIN, ORIGIN, ORIGIN, ORIGIN))
        f.write("ns1.%s\t60\tIN\tA\t192.0.2.1\nns2.%s\t60\tIN\tA\t192.0.2.2\n" % (ORIGIN, ORIGIN))
        for i in range(HOSTS):
            g = gen if i < changed else 0
            f.write("h%d.%s\t60\tIN\tA\t%s\nh%d.%s\t60\tIN\tAAAA\t%s\n" % (
                i, ORIGIN, host_v4(i ^ (g << 17)), i, ORIGIN, host_v6(i, g)))
    os.rename(tmp, path)


def main():
    base = tempfile.mkdtemp(prefix="kyedns-scaleout-reload-")
    k = None
    try:
        k = Knot(base, "pri", CONF, port=free_port())
        zone = os.path.join(k.dir, "zone.txt")
        s = 1000
        export(zone, s, 0, 0)
        t0 = time.monotonic()
        k.start()
        wait_serial(k.port)
        print("knotd, %d hosts: first load %.1f s" % (HOSTS, time.monotonic() - t0))
        axfr = kdig_xfr(k.port, "AXFR")[0]
        for gen, changed in enumerate((1, 1000, 10000), 1):
            s += 1
            t0 = time.monotonic()
            export(zone, s, changed, gen)
            t_file = time.monotonic() - t0
            t0 = time.monotonic()
            r = k.knotc("zone-reload", ORIGIN)
            if r.returncode != 0:
                raise RuntimeError("knotc zone-reload: " + r.stdout + r.stderr)
            wait_serial(k.port, s, limit=120, step=0.005)
            t_load = time.monotonic() - t0
            b = kdig_xfr(k.port, "IXFR=%d" % (s - 1))[0]
            print("  %5d hosts changed: writing the file %.2f s, zone-reload to new serial served %.2f s,"
                  " IXFR %d bytes (%.2f%% of the %d-byte AXFR)" % (changed, t_file, t_load, b,
                                                                    100.0 * b / axfr, axfr))
        rss = subprocess.run(["ps", "-o", "rss=", "-p", str(k.proc.pid)], capture_output=True,
                             text=True).stdout.strip()
        print("knotd RSS after the reloads: %s kB" % rss)
        assert serial(k.port) == s
    finally:
        if k:
            k.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
