"""Helpers to run kyedns-backend and a real pdns_server behind it.

Used by test_backend.py and by other areas' end-to-end tests:

    from backend_util import start_stack
    stack = start_stack(tmpdir, db)          # db: a store made by kyednsctl
    try:
        ... dns queries to 127.0.0.1:stack.dns_port,
        ... pdns API on http://127.0.0.1:stack.api_port with stack.api_key
    finally:
        stack.stop()

Everything runs on loopback, on free ports, in tmpdir; stop() ends the
processes it started (and only those) and is safe to call twice.
"""
import os
import secrets
import signal
import socket
import subprocess
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode

from conftest import ROOT, binary, free_port

PDNS_SERVER = "/usr/sbin/pdns_server"
PDNS_CONTROL = "/usr/bin/pdns_control"
PDNSUTIL = "/usr/bin/pdnsutil"
SNIPPET = os.path.join(ROOT, "pdns-conf", "00-kyedns.conf")


def pdns_env():
    """The environment for pdns processes.  As primary, pdns resolves its
    zones' NS names with getaddrinfo() (the system resolver, which may be
    off-host); RES_OPTIONS=attempts:0 makes glibc send no query at all, so
    tests stay on loopback."""
    e = dict(os.environ)
    e["RES_OPTIONS"] = "attempts:0"
    return e


def _wait(pred, timeout, what, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s: process exited (%d): %s" %
                               (what, proc.returncode, _tail(log)))
        try:
            if pred():
                return
        except (OSError, dns.exception.DNSException):
            pass
        time.sleep(0.02)
    raise RuntimeError("%s: not ready after %ss: %s" % (what, timeout, _tail(log)))


def _tail(path, n=20):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-n:])


def _stop_proc(proc, timeout=10):
    """SIGTERM, wait; SIGKILL if it will not go.  Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Backend:
    """A running kyedns-backend.  .sock is its socket path, .log its stderr."""

    def __init__(self, db, sock, log, extra_args=(), env=None):
        self.db, self.sock, self.log = db, sock, log
        e = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
        if env:
            e.update(env)
        args = [binary("kyedns-backend")]
        if db is not None:
            args += ["--db", db]
        if sock is not None:
            args += ["--socket", sock]
        args += list(extra_args)
        self._logf = open(log, "ab")
        self.proc = subprocess.Popen(args, stdout=self._logf, stderr=self._logf, env=e)

    def wait_ready(self, timeout=10):
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout):
        def up():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.sock)
                return True
            finally:
                s.close()
        _wait(up, timeout, "kyedns-backend", self.proc, self.log)

    def stop(self):
        rc = _stop_proc(self.proc)
        self._logf.close()
        return rc

    def log_text(self):
        return _tail(self.log, 10000)


def start_backend(db, sock, log, extra_args=(), env=None, wait=True):
    b = Backend(db, sock, log, extra_args, env)
    return b.wait_ready() if wait else b


def pdns_conf(sock, dns_port, api_port, api_key, settings=None):
    """The test pdns.conf: the project's snippet with the socket, ports and
    key replaced, then `settings` (name -> value) overriding anything; a
    value of None removes that setting."""
    out = {}
    order = []
    with open(SNIPPET) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            k, v = line.split("=", 1)
            if k not in out:
                order.append(k)
            out[k] = v
    fixed = {
        "remote-connection-string": "unix:path=%s,timeout=2000" % sock,
        "api-key": api_key,
        "webserver-port": str(api_port),
        "local-address": "127.0.0.1",
        "local-port": str(dns_port),
        # Tests stay on loopback: no security-status poll over DNS.
        "security-poll-suffix": "",
        # NOTIFY only what a test lists in also-notify, never the
        # addresses of NS names (which may be anywhere).
        "only-notify": "",
    }
    fixed.update(settings or {})
    for k, v in fixed.items():
        if v is None:  # drop a setting of the snippet
            out.pop(k, None)
            continue
        if k not in out:
            order.append(k)
        out[k] = str(v)
    order = [k for k in order if k in out]
    return "".join("%s=%s\n" % (k, out[k]) for k in order)


class Pdns:
    """A running pdns_server; .dns_port, .api_port, .api_key, .dir."""

    def __init__(self, tmpdir, sock, settings=None):
        self.dir = os.path.join(str(tmpdir), "pdns")
        os.makedirs(self.dir, exist_ok=True)
        self.dns_port = free_port()
        self.api_port = free_port(udp_too=False)
        self.api_key = secrets.token_hex(16)
        self.log = os.path.join(self.dir, "pdns.log")
        with open(os.path.join(self.dir, "pdns.conf"), "w") as f:
            f.write(pdns_conf(sock, self.dns_port, self.api_port, self.api_key, settings))
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [PDNS_SERVER, "--config-dir=" + self.dir, "--socket-dir=" + self.dir,
             "--guardian=no", "--daemon=no", "--disable-syslog", "--write-pid=no",
             "--loglevel=6"],
            stdout=self._logf, stderr=self._logf, env=pdns_env())

    def wait_ready(self, timeout=20):
        def up():
            q = dns.message.make_query("ready.invalid.", "SOA")
            dns.query.udp(q, "127.0.0.1", port=self.dns_port, timeout=0.2)
            return True
        _wait(up, timeout, "pdns_server", self.proc, self.log)
        return self

    def query(self, name, rdtype="A", tcp=False, timeout=3):
        q = dns.message.make_query(name, rdtype)
        f = dns.query.tcp if tcp else dns.query.udp
        return f(q, "127.0.0.1", port=self.dns_port, timeout=timeout)

    def control(self, *args, check=True):
        """pdns_control against this server; returns stdout."""
        p = subprocess.run([PDNS_CONTROL, "--config-dir=" + self.dir, "--socket-dir=" + self.dir]
                           + list(args), capture_output=True, text=True, timeout=30,
                           env=pdns_env())
        if check and p.returncode != 0:
            raise AssertionError("pdns_control %s: %s%s" % (args, p.stdout, p.stderr))
        return p.stdout

    def pdnsutil(self, *args, check=True):
        """pdnsutil with this server's configuration; returns stdout."""
        p = subprocess.run([PDNSUTIL, "--config-dir=" + self.dir] + list(args),
                           capture_output=True, text=True, timeout=60, env=pdns_env())
        if check and p.returncode != 0:
            raise AssertionError("pdnsutil %s: %s%s" % (args, p.stdout, p.stderr))
        return p.stdout

    def stop(self):
        rc = _stop_proc(self.proc)
        self._logf.close()
        return rc

    def log_text(self):
        return _tail(self.log, 10000)


def start_pdns(tmpdir, sock, settings=None):
    p = Pdns(tmpdir, sock, settings)
    try:
        return p.wait_ready()
    except BaseException:
        p.stop()
        raise


class Stack:
    """kyedns-backend + pdns_server.  Attributes: backend, pdns, sock,
    dns_port, api_port, api_key, api_url; methods query(), control(),
    pdnsutil(), stop()."""

    def __init__(self, backend, pdns):
        self.backend, self.pdns = backend, pdns
        self.sock = backend.sock
        self.dns_port = pdns.dns_port
        self.api_port = pdns.api_port
        self.api_key = pdns.api_key
        self.api_url = "http://127.0.0.1:%d" % pdns.api_port
        self.query = pdns.query
        self.control = pdns.control
        self.pdnsutil = pdns.pdnsutil
        self._stopped = False

    def stop(self):
        """Stops pdns, then the backend; returns the backend's exit code."""
        if self._stopped:
            return None
        self._stopped = True
        try:
            self.pdns.stop()
        finally:
            rc = self.backend.stop()
        return rc


def start_stack(tmpdir, db, settings=None, backend_args=()):
    """Starts kyedns-backend on store db and pdns_server in front of it.

    settings: extra/overriding pdns.conf settings, e.g. {"cache-ttl": 0}.
    The pdns API/webserver is on (loopback, .api_port, .api_key)."""
    tmpdir = str(tmpdir)
    sock = os.path.join(tmpdir, "backend.sock")
    backend = start_backend(db, sock, os.path.join(tmpdir, "backend.log"), backend_args)
    try:
        pdns = start_pdns(tmpdir, sock, settings)
    except BaseException:
        backend.stop()
        raise
    return Stack(backend, pdns)


class RbClient:
    """Speaks the remote-backend protocol directly to a socket, like pdns."""

    def __init__(self, sock, timeout=5):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(sock)
        self.buf = b""

    def send_raw(self, data):
        self.s.sendall(data)

    def read_line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def call(self, method, **params):
        import json
        self.send_raw(json.dumps({"method": method, "parameters": params},
                                 separators=(",", ":")).encode() + b"\n")
        return json.loads(self.read_line())

    def close(self):
        self.s.close()
