"""A primary pdns that survives its backend: SIGHUP re-executes
kyedns-backend in place (same pid, new image) and hands over the listening
socket, every pdns connection and the requests not yet handled, so the
unix-socket mode reloads and upgrades without pdns noticing.  And what a
crash (kill -9) still costs in that mode, measured with the real pdns.

pdns 4.7 with primary=yes exits when the communicator's backend connection
breaks ("Could not send a message to remote process"); a re-exec must
therefore keep every connection open, which these tests observe from pdns's
side: its log shows no reconnection, queries under load keep their
answers, and the NOTIFY machinery (getUpdatedMasters, setNotified) goes on.
"""
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import threading
import time

import dns.message
import dns.opcode
import dns.query
import dns.rcode

import backend_util
from backend_util import RbClient, start_backend, start_stack
from conftest import binary
from test_backend import _notify_listener
from test_backend_ops import (LOOKUP, Activated, clean_env, fill, listening_socket,
                              notify_socket, wait_for, www)

NO_CACHE = {"cache-ttl": 0, "query-cache-ttl": 0, "negquery-cache-ttl": 0}
REEXECUTED = "re-executed; "


class Load:
    """A thread asking pdns for www.example.com A over UDP without pause;
    every answer that is not the record counts as a failure, with why."""

    def __init__(self, port):
        self.port, self.ok, self.failed = port, 0, []
        self.slowest = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        q = dns.message.make_query("www.example.com.", "A")
        while not self._stop.is_set():
            t = time.monotonic()
            try:
                r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=2)
                good = r.rcode() == dns.rcode.NOERROR and \
                    [a.to_text() for a in r.answer] == ["www.example.com. 3600 IN A 192.0.2.1"]
                why = None if good else dns.rcode.to_text(r.rcode())
            except Exception as e:  # timeouts: the reply never came
                why = type(e).__name__
            self.slowest = max(self.slowest, time.monotonic() - t)
            if why:
                self.failed.append(why)
            else:
                self.ok += 1

    def stop(self):
        self._stop.set()
        self._t.join()


def count(text, what):
    return text.count(what)


def pids(text):
    return set(re.findall(r"kyedns-backend\[(\d+)\]", text))


def pauses(text):
    """Milliseconds from each "re-executing" line to its "re-executed" line:
    the time requests wait (plus the drain, a few ms at most)."""
    ms = []
    start = None
    for ln in text.splitlines():
        m = re.match(r"\S+T(\d\d):(\d\d):(\d\d\.\d+)Z", ln)
        if not m:
            continue
        t = (int(m.group(1)) * 60 + int(m.group(2))) * 60 + float(m.group(3))
        if "re-executing /" in ln:
            start = t
        elif REEXECUTED in ln and start is not None:
            ms.append(round((t - start) * 1000))
            start = None
    return ms


def run_from_copy(tmp_path, monkeypatch):
    """The backend runs from a copy of the binary that the test may
    replace, as a package upgrade does (a new file renamed over the old)."""
    d = tmp_path / "bin"
    d.mkdir()
    exe = str(d / "kyedns-backend")
    shutil.copy2(binary("kyedns-backend"), exe)
    real = backend_util.binary
    monkeypatch.setattr(backend_util, "binary",
                        lambda name: exe if name == "kyedns-backend" else real(name))
    return exe


def install_new_binary(exe):
    """A different file at exe: the build with 64 bytes appended (the ELF
    loader ignores them), written beside it and renamed over it."""
    tmp = exe + ".new"
    shutil.copy2(binary("kyedns-backend"), tmp)
    with open(tmp, "ab") as f:
        f.write(b"\0" * 64)
    os.rename(tmp, exe)


def test_sighup_reexec_keeps_a_primary_pdns(tmp_path, ctl, store, monkeypatch):
    fill(ctl)
    exe = run_from_copy(tmp_path, monkeypatch)
    port, got, close = _notify_listener()
    s = start_stack(tmp_path, store, dict(NO_CACHE, **{
        "primary": "yes", "xfr-cycle-interval": 1, "also-notify": "127.0.0.1:%d" % port}))
    load = None
    try:
        def zone():
            return ctl.json("zone", "show", "example.com")

        def notifies():
            return len([m for m in got if m.opcode() == dns.opcode.NOTIFY])
        # the communicator runs: it recorded the zone's serial as notified
        wait_for(lambda: zone()["notified_serial"] == zone()["serial"], 20, "setNotified")
        load = Load(s.dns_port)
        # pdns connects each distributor thread at its first query
        time.sleep(1)
        reconnects = count(s.pdns.log_text(), "Reconnecting to backend")
        zid = zone()["id"]
        for i in range(5):
            if i == 2:
                install_new_binary(exe)
            if i == 3:
                # A transaction open on a connection of its own (what pdns's
                # API or AXFR-in does) holds the re-exec back until it ends;
                # meanwhile everything is served as usual.
                c = RbClient(s.sock)
                assert c.call("startTransaction", trxid=42, domain_id=-1,
                              domain="example.com.")["result"] is True
                assert c.call("replaceRRSet", trxid=42, domain_id=zid, qname="txn.example.com.",
                              qtype="A", rrset=[{"qname": "txn.example.com.", "qtype": "A",
                                                 "content": "192.0.2.77",
                                                 "ttl": 300}])["result"] is True
                s.backend.proc.send_signal(signal.SIGHUP)
                wait_for(lambda: "re-executing once 1 open transactions end" in
                         s.backend.log_text(), 10, "waiting for the transaction")
                time.sleep(0.5)
                assert count(s.backend.log_text(), REEXECUTED) == i
                assert c.call("commitTransaction", trxid=42)["result"] is True
            else:
                s.backend.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: count(s.backend.log_text(), REEXECUTED) == i + 1, 10,
                     "re-exec %d" % (i + 1))
            time.sleep(0.4)
            assert s.pdns.proc.poll() is None, s.pdns.log_text()
            assert s.backend.proc.poll() is None
        time.sleep(0.5)
        load.stop()
        # the raw connection was handed over four times with its commit's
        # result in the store
        assert c.call("lookup", qtype="A", qname="txn.example.com.",
                      **{"zone-id": -1})["result"][0]["content"] == "192.0.2.77"
        c.close()
        text = s.backend.log_text()
        assert pids(text) == {str(s.backend.proc.pid)}, text   # one process throughout
        assert count(text, "(new binary;") == 1 and count(text, "(same binary;") == 4, text
        # the upgrade took: the re-exec after it found the new file running
        assert text.index("(new binary;") < text.rindex("(same binary;")
        # no query failed, none waited long, none of pdns's connections broke
        assert load.ok > 200 and load.failed == [], (load.ok, load.failed)
        assert load.slowest < 1.0, load.slowest
        pdns_log = s.pdns.log_text()
        assert count(pdns_log, "Reconnecting to backend") == reconnects, pdns_log
        assert "Could not send" not in pdns_log
        # the NOTIFY machinery still works: a change is noticed, notified
        # and recorded (setNotified through a handed-over connection)
        before = notifies()
        ctl.run("record", "add", "later.example.com", "A", "192.0.2.8")
        serial = zone()["serial"]
        wait_for(lambda: zone()["notified_serial"] == serial, 20, "setNotified after re-execs")
        wait_for(lambda: notifies() > before, 20, "NOTIFY after re-execs")
        assert s.pdns.proc.poll() is None
        print("re-exec under load: %d queries, %d failed, slowest %.3f s; exec pauses (ms) %s"
              % (load.ok, len(load.failed), load.slowest, pauses(text)))
    finally:
        if load:
            load.stop()
        rc = s.stop()
        close()
    assert rc == 0


def test_reload_wait_aborts_a_transaction_left_open(tmp_path, ctl, store):
    """--reload-wait bounds the wait: a transaction still open then is
    aborted (logged), its connection kept; its commit is refused, nothing
    of it is written."""
    fill(ctl)
    sock = str(tmp_path / "b.sock")
    b = start_backend(store, sock, str(tmp_path / "b.log"), ["--reload-wait", "1"])
    try:
        c = RbClient(sock)
        assert c.call("startTransaction", trxid=9, domain_id=-1,
                      domain="example.com.")["result"] is True
        assert c.call("replaceRRSet", trxid=9, domain_id=1, qname="lost.example.com.",
                      qtype="A", rrset=[{"qname": "lost.example.com.", "qtype": "A",
                                         "content": "192.0.2.9", "ttl": 300}])["result"] is True
        t = time.monotonic()
        b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: REEXECUTED in b.log_text(), 10, "re-exec")
        waited = time.monotonic() - t
        assert 0.9 < waited < 5, waited
        assert "aborting transaction 9 of zone id 1 (still open after 1 s" in b.log_text()
        r = c.call("commitTransaction", trxid=9)
        assert r["result"] is False and "no open transaction 9" in r["log"][0], r
        assert c.call("lookup", qtype="A", qname="lost.example.com.",
                      **{"zone-id": -1})["result"] == []
        assert www(c.call("lookup", **LOOKUP)) == ["192.0.2.1"]
        c.close()
        assert "lost.example.com" not in ctl.run("record", "list", "example.com").stdout
    finally:
        assert b.stop() == 0, b.log_text()


def test_reexec_hands_over_partial_requests_and_connections(tmp_path, ctl, store):
    """Bytes of a request read before the exec are answered after it; a
    connection made while the re-exec waits is handed over too; many
    SIGHUPs in a row are served one after the other."""
    fill(ctl)
    sock = str(tmp_path / "b.sock")
    b = start_backend(store, sock, str(tmp_path / "b.log"))
    try:
        req = (b'{"method":"lookup","parameters":{"qtype":"A","qname":"www.example.com.",'
               b'"zone-id":-1}}\n')
        conns = [RbClient(sock) for _ in range(20)]
        for k, c in enumerate(conns):
            c.send_raw(req[:k + 5])           # a different cut on each
        pipelined = RbClient(sock)
        pipelined.send_raw(req * 3 + req[:17])
        time.sleep(0.2)                       # all read by the old image
        b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: REEXECUTED in b.log_text(), 10, "re-exec")
        assert "keeping 21 connections" in b.log_text(), b.log_text()
        for k, c in enumerate(conns):
            c.send_raw(req[k + 5:])
            assert www(json.loads(c.read_line())) == ["192.0.2.1"]
        pipelined.send_raw(req[17:])
        for _ in range(4):
            assert www(json.loads(pipelined.read_line())) == ["192.0.2.1"]
        # signals in a burst: one during a re-exec is ignored (logged), one
        # while the exec runs waits for the new image; none is fatal
        for _ in range(20):
            b.proc.send_signal(signal.SIGHUP)
            time.sleep(0.002)
        wait_for(lambda: b.log_text().count(REEXECUTED) >= 2, 10, "burst of re-execs")
        time.sleep(0.5)
        assert b.proc.poll() is None, b.log_text()
        for c in conns + [pipelined]:
            assert www(c.call("lookup", **LOOKUP)) == ["192.0.2.1"]
            c.close()
        late = RbClient(sock)                 # the listener was handed over
        assert www(late.call("lookup", **LOOKUP)) == ["192.0.2.1"]
        late.close()
    finally:
        assert b.stop() == 0, b.log_text()
    assert not os.path.exists(sock)           # the new image removed its socket


def test_reexec_without_the_binary_and_with_a_broken_handover(tmp_path, ctl, store,
                                                             monkeypatch):
    fill(ctl)
    exe = run_from_copy(tmp_path, monkeypatch)
    sock = str(tmp_path / "b.sock")
    # 3 x 60 KB of environment: an exec fails (E2BIG) once the stack limit
    # is 512 KB (the kernel allows a quarter of it for arguments and
    # environment, at least 128 KB)
    pad = {"PAD%d" % i: "x" * 60000 for i in range(3)}
    b = start_backend(store, sock, str(tmp_path / "b.log"), env=pad)
    try:
        c = RbClient(sock)
        stack = resource.prlimit(b.proc.pid, resource.RLIMIT_STACK)
        resource.prlimit(b.proc.pid, resource.RLIMIT_STACK, (512 << 10, stack[1]))
        b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "serving on" in b.log_text(), 10, "failed re-exec")
        assert "cannot re-execute (Argument list too long); serving on" in b.log_text()
        assert REEXECUTED not in b.log_text()
        resource.prlimit(b.proc.pid, resource.RLIMIT_STACK, stack)
        # the old image serves on, with its store reopened, the same
        # connection and a new one
        assert www(c.call("lookup", **LOOKUP)) == ["192.0.2.1"]
        c2 = RbClient(sock)
        assert www(c2.call("lookup", **LOOKUP)) == ["192.0.2.1"]
        ctl.run("record", "add", "after.example.com", "A", "192.0.2.10")
        assert c2.call("lookup", qtype="A", qname="after.example.com.",
                       **{"zone-id": -1})["result"][0]["content"] == "192.0.2.10"
        c2.close()
        # the program file is gone (an uninstall mid-upgrade): the running
        # image is executed again
        os.unlink(exe)
        b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: REEXECUTED in b.log_text(), 10, "re-exec")
        assert "cannot execute %s (No such file or directory); re-executing the running " \
               "image" % exe in b.log_text()
        assert www(c.call("lookup", **LOOKUP)) == ["192.0.2.1"]
        c.close()
    finally:
        assert b.stop() == 0, b.log_text()

    # a malformed variable: what can be adopted is, the rest is closed and
    # logged, and the backend starts as usual
    monkeypatch.undo()                        # the build's binary again
    for value, why in [("v1 listen=x log=-1 in=-1 conns=7:0,zz", "malformed descriptor"),
                       ("v1 listen=-1 log=-1 in=-1 conns=5:10", "no connected unix sockets"),
                       ("v2 whatever", "unknown format")]:
        log = str(tmp_path / "m.log")
        open(log, "w").close()
        b = start_backend(store, sock, log, env={"KYEDNS_BACKEND_HANDOVER": value})
        try:
            assert "handover of the image before is incomplete" in b.log_text()
            assert why in b.log_text(), b.log_text()
            assert "listening on %s" % sock in b.log_text()
            c = RbClient(sock)
            assert www(c.call("lookup", **LOOKUP)) == ["192.0.2.1"]
            c.close()
        finally:
            assert b.stop() == 0, b.log_text()


def test_reexec_under_systemd_protocol(tmp_path, ctl, store):
    """With socket activation and $NOTIFY_SOCKET, as under systemd: the
    re-exec says RELOADING=1, then READY=1 with the same MAINPID, and the
    socket stays systemd's (not removed at stop)."""
    fill(ctl)
    ns, npath = notify_socket(tmp_path)
    path = str(tmp_path / "act.sock")
    lsock = listening_socket(path)
    b = Activated(lsock, ["--db", store, "--socket", path], str(tmp_path / "a.log"),
                  env={"NOTIFY_SOCKET": npath})
    try:
        assert "READY=1" in ns.recv(4096).decode()
        c = RbClient(path)
        b.proc.send_signal(signal.SIGHUP)
        msgs = [ns.recv(4096).decode(), ns.recv(4096).decode()]
        assert msgs[0].startswith("RELOADING=1\n") and "MONOTONIC_USEC=" in msgs[0], msgs
        fields = dict(ln.split("=", 1) for ln in msgs[1].split("\n") if ln)
        assert fields["READY"] == "1" and fields["MAINPID"] == str(b.proc.pid), msgs
        assert fields["STATUS"] == "serving %s" % path
        b.wait_logged(REEXECUTED + "1 connections kept (socket %s" % path)
        assert www(c.call("lookup", **LOOKUP)) == ["192.0.2.1"]
        c.close()
    finally:
        assert b.stop() == 0, b.text()
        ns.close()
    assert os.path.exists(path)                # systemd's socket is not ours to remove
    lsock.close()


def test_kill9_in_unix_mode_makes_a_primary_pdns_exit(tmp_path, ctl, store):
    """The cost of a crash, as a fact: kill -9 breaks pdns's connections;
    the queries in flight fail, and a primary pdns exits (status 1) at its
    communicator's next call, even though the backend is back by then."""
    fill(ctl)
    s = start_stack(tmp_path, store, dict(NO_CACHE, **{"primary": "yes",
                                                       "xfr-cycle-interval": 1}))
    try:
        wait_for(lambda: ctl.json("zone", "show", "example.com")["notified_serial"] > 0, 20,
                 "setNotified")
        t = time.monotonic()
        s.backend.proc.kill()
        s.backend.proc.wait()
        s.backend.stop()
        time.sleep(0.2)
        s.backend = start_backend(store, s.sock, str(tmp_path / "backend2.log"))
        wait_for(lambda: s.pdns.proc.poll() is not None, 15, "pdns to exit")
        took = time.monotonic() - t
        assert s.pdns.proc.returncode == 1
        assert "communicator thread died with error: Exception caught when sending: Could " \
               "not send a message to remote process" in s.pdns.log_text()
        print("pdns exited %.2f s after the backend's kill -9" % took)
    finally:
        s.stop()
