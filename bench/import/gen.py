#!/usr/bin/env python3
"""Writes a `kyednsctl host import` file of N hosts to stdout.

Each line: "FQDN TOKEN IPV4 IPV6" with a 43-character url-safe token (32
random bytes, like the ones kyednsctl generates), a random IPv4 from
198.18.0.0/15 and a random IPv6 from 2001:db8::/32.  Host labels are random
(10 characters), so hosts arrive in random key order, the hard case for a
B-tree; they are spread round-robin over the zones given with --zones.
Deterministic for a given --seed.
"""
import argparse
import base64
import random
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("count", type=int)
    ap.add_argument("--zones", default="dyn.example.com,home.example.net,example.org,u.example.io")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    zones = args.zones.split(",")
    rnd = random.Random(args.seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    out = sys.stdout
    buf = []
    seen = set()
    for i in range(args.count):
        while True:
            label = "".join(rnd.choices(alphabet, k=10))
            if label not in seen:
                seen.add(label)
                break
        token = base64.urlsafe_b64encode(rnd.getrandbits(256).to_bytes(32, "big")).decode()[:43]
        v4 = rnd.getrandbits(17)
        ipv4 = "198.%d.%d.%d" % (18 + (v4 >> 16), (v4 >> 8) & 255, v4 & 255 or 1)
        ipv6 = "2001:db8:%x:%x:%x:%x:%x:%x" % tuple(rnd.getrandbits(16) for _ in range(6))
        buf.append("%s.%s %s %s %s\n" % (label, zones[i % len(zones)], token, ipv4, ipv6))
        if len(buf) >= 10000:
            out.write("".join(buf))
            buf = []
    out.write("".join(buf))


if __name__ == "__main__":
    main()
