"""Helpers to run kyedns-updater against a store made with kyednsctl.

    from updater_util import Updater, populate, curl
    populate(ctl)                      # zone example.com + hosts, TOKENS below
    with Updater(store, tmp_path) as up:
        r = curl(up.url("/nic/update?hostname=a.example.com&myip=1.2.3.4"),
                 user=("a.example.com", TOKENS["a.example.com"]))
        assert (r.status, r.body) == (200, "good 1.2.3.4\\n")

Everything runs on loopback on free ports; the daemon is stopped with
SIGTERM (and its exit status checked) when the block ends.
"""
import contextlib
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import time

from conftest import binary, free_port

ZONE = "example.com"
TOKENS = {
    "a.example.com": "tokenA-0123456789abcdef",
    "b.example.com": "tokenB-0123456789abcdef",
    "c.example.com": "tokenC-0123456789abcdef",
    "d.example.com": "tokenD-0123456789abcdef",
}


def populate(ctl, hosts=TOKENS, zone=ZONE):
    """Creates the zone and hosts (token per host) in ctl's store."""
    ctl.run("zone", "add", zone, "--ns", "ns1." + zone)
    for h, t in hosts.items():
        ctl.run("host", "add", h, "--token", t)


def plant_cname(db, host, target, ttl=60):
    """Writes a CNAME RRset at host straight into the store's records table
    with lmdb-utils' mdb_load, in the schema-2 encoding documented in
    store.h (key: zone id, then the owner's canonical key relative to the
    zone apex; content in backend form, no trailing dot).  The store
    refuses a CNAME at a host's name, so this is the only way to make the
    store refuse one host's update while the daemon runs."""
    def esc(b):
        return "".join("\\%02x" % c if c < 0x20 or c >= 0x7f else
                       ("\\\\" if c == 0x5c else chr(c)) for c in b)
    p = subprocess.run([binary("kyednsctl"), "--db", db, "--json", "host", "show", host],
                       capture_output=True, text=True, check=True)
    shown = json.loads(p.stdout)
    zone_id, apex = shown["zone_id"], shown["zone"]
    rel = host.rstrip(".").lower()[:-len(apex.rstrip("."))].rstrip(".")
    canon = b"".join(bytes(c + 1 if c <= 0x40 else c for c in l.encode()) + b"\0"
                     for l in reversed(rel.split(".")))
    key = zone_id.to_bytes(4, "big") + canon
    tgt = target.rstrip(".").encode()
    val = (b"\x00\x05" + ttl.to_bytes(4, "big") + b"\x00\x01" + len(tgt).to_bytes(2, "big") + tgt)
    dump = "VERSION=3\nformat=print\ntype=btree\nHEADER=END\n %s\n %s\nDATA=END\n" % (esc(key), esc(val))
    subprocess.run(["mdb_load", "-s", "records", db], input=dump, text=True, check=True,
                   capture_output=True)


def host_addrs(ctl, host):
    """(ipv4, ipv6) stored for host, None when absent."""
    j = ctl.json("host", "show", host)
    return j.get("ipv4"), j.get("ipv6")


class Updater:
    """A running kyedns-updater.  .port (IPv4 and IPv6 loopback), .log."""

    def __init__(self, db, tmpdir, args=(), env=None, listen=None, rate=True):
        self.port = free_port(udp_too=False)
        self.log = os.path.join(str(tmpdir), "updater-%d.log" % self.port)
        e = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
        if env:
            e.update(env)
        cmd = [binary("kyedns-updater")]
        if db is not None:
            cmd += ["--db", db]
        if listen is None:
            listen = ["127.0.0.1:%d" % self.port, "[::1]:%d" % self.port]
        for l in listen:
            cmd += ["--listen", l]
        if not rate:
            # Tests send many requests and changes from 127.0.0.1; each
            # abuse limit has its own test.
            for flag in ("--rate-limit", "--max-conns-per-client", "--host-change-rate"):
                if flag not in args:
                    cmd += [flag, "0"]
        cmd += list(args)
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._logf, stderr=self._logf, env=e)
        self.returncode = None

    def wait_ready(self, timeout=10, family=socket.AF_INET):
        deadline = time.monotonic() + timeout
        host = "127.0.0.1" if family == socket.AF_INET else "::1"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kyedns-updater exited (%d): %s" %
                                   (self.proc.returncode, self.log_text()))
            try:
                socket.create_connection((host, self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("kyedns-updater not ready: %s" % self.log_text())

    def url(self, path, v6=False):
        host = "[::1]" if v6 else "127.0.0.1"
        return "http://%s:%d%s" % (host, self.port, path)

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit status (SIGKILL if it hangs)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("kyedns-updater did not stop on SIGTERM")
        if not self._logf.closed:
            self._logf.close()
        self.returncode = self.proc.returncode
        return self.returncode

    def log_text(self):
        if not self._logf.closed:
            self._logf.flush()
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=3):
        """Returns the log once regex pattern matches it (the daemon
        flushes its log when the loop goes idle, not per line)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError("log does not match %r:\n%s" % (pattern, text[-3000:]))
            time.sleep(0.02)

    def __enter__(self):
        return self.wait_ready()

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None:
            assert rc == 0, "kyedns-updater exited %d: %s" % (rc, self.log_text()[-2000:])


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "Reply(%d, %r, %r)" % (self.status, self.headers, self.body)


def curl(url, user=None, headers=(), method=None, http10=False, extra=()):
    """Runs curl once; returns a Reply (status, lower-cased headers, body)."""
    cmd = ["curl", "-sS", "-i", "--max-time", "10", "-g"]
    if user:
        cmd += ["-u", "%s:%s" % user]
    for h in headers:
        cmd += ["-H", h]
    if method == "HEAD":
        cmd += ["-I"]
    elif method:
        cmd += ["-X", method]
    if http10:
        cmd += ["--http1.0"]
    cmd += list(extra) + [url]
    p = subprocess.run(cmd, capture_output=True, timeout=30)
    assert p.returncode == 0, "curl %s: %s" % (url, p.stderr.decode())
    return parse_response(p.stdout)


def parse_response(raw):
    """Parses one HTTP response (bytes) into a Reply."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return Reply(status, headers, body.decode("latin-1"))


def read_responses(sock, count, timeout=10):
    """Reads count complete responses (Content-Length framed) from sock."""
    sock.settimeout(timeout)
    buf = b""
    out = []
    while len(out) < count:
        m = re.search(rb"\r\n\r\n", buf)
        if m:
            head = buf[:m.start()]
            cl = re.search(rb"(?i)content-length: *(\d+)", head)
            n = int(cl.group(1)) if cl else 0
            end = m.end() + n
            if len(buf) >= end:
                out.append(parse_response(buf[:end]))
                buf = buf[end:]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return out


def metric(up, name, addr="127.0.0.1"):
    """The value of metric line `name` (e.g. 'kyedns_writer_jobs' or
    'kyedns_purge_total{result="failed"}') from /metrics, or None."""
    body = curl("http://%s:%d/metrics" % (addr, up.port)).body
    m = re.search(r"^%s (\S+)$" % re.escape(name), body, re.M)
    return float(m.group(1)) if m else None


def wait_for(cond, timeout=10, what="condition"):
    """Polls cond() until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.01)


class LmdbWriter:
    """Holds the store's LMDB write lock from another process's point of
    view: a write txn begun through liblmdb (ctypes), so the updater's
    writer thread blocks until commit().  delete_host(name) deletes a
    host's entry inside that txn (hosts table, key in dname key form as
    store.h documents), which is how a test deletes a host while an update
    of it waits for the writer."""

    class _Val(ctypes.Structure):
        _fields_ = [("size", ctypes.c_size_t), ("data", ctypes.c_void_p)]

    def __init__(self, db):
        self.lib = ctypes.CDLL("liblmdb.so.0")
        self.env, self.txn = ctypes.c_void_p(), ctypes.c_void_p()
        self._ok(self.lib.mdb_env_create(ctypes.byref(self.env)))
        self._ok(self.lib.mdb_env_set_maxdbs(self.env, 16))
        self._ok(self.lib.mdb_env_open(self.env, db.encode(), 0, 0o640))
        self._ok(self.lib.mdb_txn_begin(self.env, None, 0, ctypes.byref(self.txn)))

    def _ok(self, rc):
        if rc:
            raise RuntimeError("lmdb error %d" % rc)

    def delete_host(self, name):
        dbi = ctypes.c_uint()
        self._ok(self.lib.mdb_dbi_open(self.txn, b"hosts", 0, ctypes.byref(dbi)))
        key = b"".join(bytes([len(l)]) + l.lower().encode()
                       for l in reversed(name.rstrip(".").split(".")))
        buf = ctypes.create_string_buffer(key, len(key))
        val = self._Val(len(key), ctypes.cast(buf, ctypes.c_void_p))
        self._ok(self.lib.mdb_del(self.txn, dbi, ctypes.byref(val), None))

    def commit(self):
        if self.txn:
            self._ok(self.lib.mdb_txn_commit(self.txn))
            self.txn = None
        if self.env:
            self.lib.mdb_env_close(self.env)
            self.env = None

    def abort(self):
        if self.txn:
            self.lib.mdb_txn_abort(self.txn)
            self.txn = None
        self.commit()


@contextlib.contextmanager
def updater_with_pdns(tmp, db, args=()):
    """A pdns + kyedns-backend stack on db and an updater that purges its
    cache through the pdns API; yields (stack, updater).  The updater's exit
    status is checked when the block ends normally."""
    import backend_util
    stack = backend_util.start_stack(tmp, db)
    try:
        up = Updater(db, tmp, rate=False, args=list(args) + [
            "--pdns-api", stack.api_url, "--pdns-api-key", stack.api_key]).wait_ready()
    except BaseException:
        stack.stop()
        raise
    try:
        yield stack, up
        assert up.stop() == 0, up.log_text()[-2000:]
    finally:
        stack.stop()


def dig_rrs(stack, name, rdtype):
    """(rcode, sorted [(ttl, text)]) of pdns's answer for name/rdtype, through dig."""
    p = subprocess.run(["dig", "@127.0.0.1", "-p", str(stack.dns_port), "+norec", "+time=3",
                        "+tries=1", "+nocmd", "+nostats", "+noquestion", name, rdtype],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    rcode = re.search(r"status: (\w+)", p.stdout).group(1)
    rrs = []
    for line in p.stdout.splitlines():
        f = line.split(None, 4)
        if len(f) == 5 and not line.startswith(";") and f[3] == rdtype:
            rrs.append((int(f[1]), f[4]))
    return rcode, sorted(rrs)
