"""Small helpers shared by the scale-out experiments: free loopback ports,
percentiles, a dual-stack zone generator and the byte counters of a TCP
connection (from `ss -tin`)."""
import re
import socket
import subprocess

# The start of every knotd configuration here (format with dir and port):
# one server on loopback, its log and its journal/timer storage in dir.
KNOT_SERVER = """server:
    rundir: {dir}
    listen: 127.0.0.1@{port}
log:
  - target: {dir}/knot.log
    any: info
database:
    storage: {dir}
"""


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (also free for UDP
    in practice on an otherwise idle loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, p):
    """The p-th percentile (nearest rank) of values, or None when empty."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def host_v4(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def host_v6(i, gen=0):
    return "2001:db8:%x::%x:%x" % (gen & 0xffff, (i >> 16) & 0xffff, i & 0xffff)


def write_zone(path, origin, hosts, serial=1):
    """A zone of `hosts` dual-stack hosts h0..h{hosts-1}: SOA, two NS, and an
    A and an AAAA per host, TTL 60 (what KyedNS serves for dynamic hosts)."""
    with open(path, "w") as f:
        f.write("$ORIGIN %s\n$TTL 60\n" % origin)
        f.write("@ 3600 SOA ns1 hostmaster %d 3600 600 604800 60\n" % serial)
        f.write("@ 3600 NS ns1\n@ 3600 NS ns2\n")
        f.write("ns1 A 192.0.2.1\nns2 A 192.0.2.2\n")
        for i in range(hosts):
            f.write("h%d A %s\nh%d AAAA %s\n" % (i, host_v4(i), i, host_v6(i)))


def tcp_bytes(port, local=False):
    """{(local, peer): (bytes_sent, bytes_received)} of the established TCP
    connections whose remote (or, local=True, local) port is `port`, as the
    kernel counts them (payload bytes, no headers)."""
    key = "sport" if local else "dport"
    out = subprocess.run(["ss", "-tinH", "state", "established", "( %s = :%d )" % (key, port)],
                         capture_output=True, text=True).stdout
    res = {}
    cur = None
    for line in out.splitlines():
        if not line.startswith((" ", "\t")):
            parts = line.split()
            cur = (parts[-2], parts[-1]) if len(parts) >= 2 else None
            continue
        if cur is None:
            continue
        sent = re.search(r"bytes_sent:(\d+)", line)
        recv = re.search(r"bytes_received:(\d+)", line)
        res[cur] = (int(sent.group(1)) if sent else 0, int(recv.group(1)) if recv else 0)
    return res


def tcp_bytes_pid(pid):
    """(bytes_sent, bytes_received) summed over the established TCP
    connections of process `pid` (from `ss -tinp`)."""
    out = subprocess.run(["ss", "-tinpH", "state", "established"],
                         capture_output=True, text=True).stdout
    sent = recv = 0
    mine = False
    for line in out.splitlines():
        if not line.startswith((" ", "\t")):
            mine = ("pid=%d," % pid) in line
            continue
        if mine:
            m = re.search(r"bytes_sent:(\d+)", line)
            sent += int(m.group(1)) if m else 0
            m = re.search(r"bytes_received:(\d+)", line)
            recv += int(m.group(1)) if m else 0
    return sent, recv
