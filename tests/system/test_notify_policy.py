"""kyedns-backend --notify-min-interval: how often a real pdns_server
(primary=yes, xfr-cycle-interval=1) NOTIFYs its secondaries while a zone
changes all the time.

The secondary is a UDP socket this test owns (also-notify): it counts the
NOTIFY packets, one per round (a retry of a round keeps its DNS id, so
rounds are counted by id), and answers each one so that pdns does not
retry.  A stream of kyednsctl writes, several a second for 10 s, gives the
zone a new serial before every communicator cycle.

- Without the policy pdns notifies about once per cycle: one full zone
  transfer per secondary per second.
- With --notify-min-interval 5 at most one round per 5 s, and the last
  change still goes out (no more than 5 s + one cycle after it); the
  first change after a quiet spell goes out at the next cycle; an
  operator's `pdns_control notify` goes out at once whatever the policy
  (pdns sends it without asking getUpdatedMasters).

The time of the last round is in the store (setNotified writes it), so a
second backend process, or a restarted one, holds the zone just the same;
that part speaks the remote-backend protocol directly, as pdns would.
"""
import os
import socket
import subprocess
import threading
import time

import dns.message
import dns.opcode

from backend_util import RbClient, start_backend, start_stack
from conftest import binary
from ops_util import wait_until

ZONE = "notify.test"
STREAM_SECONDS = 10
UPDATE_EVERY = 0.2


class NotifySink:
    """A UDP socket on 127.0.0.1 that answers NOTIFYs for ZONE and records
    each one's arrival (monotonic time) and DNS id."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.got = []  # (time, id)
        self.lock = threading.Lock()
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                wire, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                q = dns.message.from_wire(wire)
            except Exception:  # noqa: BLE001 - not DNS: ignore
                continue
            if q.opcode() != dns.opcode.NOTIFY or not q.question or \
                    q.question[0].name.to_text() != ZONE + ".":
                continue
            with self.lock:
                self.got.append((time.monotonic(), q.id))
            self.sock.sendto(dns.message.make_response(q).to_wire(), peer)

    def rounds(self, since=0.0, until=float("inf")):
        """Arrival times of the first packet of each round (DNS id) that
        began in [since, until)."""
        first = {}
        with self.lock:
            for t, i in self.got:
                first.setdefault(i, t)
        return sorted(t for t in first.values() if since <= t < until)

    def wait_round(self, since, timeout):
        """Time of the first round that began at or after since."""
        return wait_until(lambda: (self.rounds(since) or [None])[0], timeout,
                          "a NOTIFY after %.1f" % since)

    def close(self):
        self._stop = True
        self.thread.join(5)
        self.sock.close()


def zone_state(ctl):
    z = ctl.json("zone", "show", ZONE)
    return z["serial"], z["notified_serial"]


def update(ctl, i):
    """One write: a new record, so the zone gets a new serial."""
    ctl.run("record", "add", "u%d.%s" % (i, ZONE), "TXT", "n%d" % i)


def stream(ctl, seconds, start=0):
    """Writes every UPDATE_EVERY s for seconds; returns (count, start time,
    end time)."""
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        update(ctl, start + n)
        n += 1
        time.sleep(max(0.0, t0 + n * UPDATE_EVERY - time.monotonic()))
    return n, t0, time.monotonic()


def primary(tmp_path, ctl, sink, backend_args=()):
    ctl.run("zone", "add", ZONE, "--ns", "ns1." + ZONE, "--kind", "master")
    settings = {"primary": "yes", "xfr-cycle-interval": 1,
                "also-notify": "127.0.0.1:%d" % sink.port, "only-notify": "",
                "allow-axfr-ips": "127.0.0.0/8"}
    return start_stack(tmp_path, ctl.db, settings=settings, backend_args=backend_args)


def settled(ctl):
    """Waits until pdns has notified the zone's current serial."""
    return wait_until(lambda: (lambda s, n: s == n and s)(*zone_state(ctl)), 15,
                      "notified serial == serial")


def test_without_policy_every_cycle_notifies(tmp_path, ctl):
    sink = NotifySink()
    stack = primary(tmp_path, ctl, sink)
    try:
        settled(ctl)  # the new zone's first round
        n, t0, t1 = stream(ctl, STREAM_SECONDS)
        settled(ctl)
        rounds = sink.rounds(t0, t1)
        print("no policy: %d updates in %.1f s, %d NOTIFY rounds" % (n, t1 - t0, len(rounds)))
        assert n >= STREAM_SECONDS  # the stream did stream
        # about one per 1 s cycle (10); a busy machine may stretch cycles
        assert len(rounds) >= 6, rounds
    finally:
        stack.stop()
        sink.close()


def test_min_interval_bounds_rounds(tmp_path, ctl):
    sink = NotifySink()
    stack = primary(tmp_path, ctl, sink, ["--notify-min-interval", "5"])
    try:
        # The new zone was never notified: the first cycle reports it.
        settled(ctl)
        # pdns records the notified serial (setNotified) before it sends
        # the packet: wait for the packet itself
        sink.wait_round(0, 5)
        first = sink.rounds()
        assert len(first) == 1, first

        # A quiet spell longer than the interval, then one change: out at
        # the next cycle, not held.
        time.sleep(max(0.0, first[0] + 5.5 - time.monotonic()))
        tu = time.monotonic()
        update(ctl, 100000)
        r = sink.wait_round(tu, 10)
        print("first change after quiet notified after %.2f s" % (r - tu))
        assert r - tu <= 3.0  # a 1 s cycle, on a busy machine
        settled(ctl)

        # Right after that round a new change is held (the policy lets it
        # out no sooner than 4 s after the round: whole seconds), but an
        # operator's explicit notify goes out at once.
        update(ctl, 100001)
        tn = time.monotonic()
        out = stack.control("notify", ZONE)
        assert "Added to queue" in out, out
        t = sink.wait_round(tn, 10)
        print("explicit notify sent %.2f s after pdns_control, %.2f s after the last round"
              % (t - tn, t - r))
        assert t - tn <= 2.5 and t - r < 4.0
        settled(ctl)

        # A steady stream: at most one round per 5 s, and the last change
        # goes out within 5 s + a cycle (+ margin) of the stream's end.
        n, t0, t1 = stream(ctl, STREAM_SECONDS, start=200000)
        last_serial = zone_state(ctl)[0]
        done = wait_until(lambda: zone_state(ctl)[1] == last_serial and time.monotonic(),
                          15, "last serial notified")
        during = sink.rounds(t0, t1)
        total = sink.rounds(t0)
        print("--notify-min-interval 5: %d updates in %.1f s, %d rounds during, %d in all, "
              "last serial notified %.1f s after the stream" % (n, t1 - t0, len(during),
                                                                 len(total), done - t1))
        assert n >= STREAM_SECONDS
        assert len(during) <= 3, during
        assert 1 <= len(total) <= 4, total
        # second granularity on both sides: > 4 s apart, never ~1 s
        gaps = [b - a for a, b in zip(total, total[1:])]
        assert all(g > 3.9 for g in gaps), gaps
        assert done - t1 <= 5 + 1 + 2.5
        # nothing more once the serial is notified
        time.sleep(2)
        assert sink.rounds(t0) == total
    finally:
        stack.stop()
        sink.close()


def updated_zones(sock):
    c = RbClient(sock)
    try:
        r = c.call("getUpdatedMasters")
    finally:
        c.close()
    return [d["zone"] for d in r["result"]]


def test_last_round_survives_restart_and_is_shared(tmp_path, ctl):
    ctl.run("zone", "add", ZONE, "--ns", "ns1." + ZONE, "--kind", "master")
    zid = ctl.json("zone", "show", ZONE)["id"]
    sock = str(tmp_path / "b.sock")
    log = str(tmp_path / "backend.log")
    # the option from the environment (KYEDNS_NOTIFY_MIN_INTERVAL)
    env = {"KYEDNS_NOTIFY_MIN_INTERVAL": "600"}
    b = start_backend(ctl.db, sock, log, env=env)
    try:
        assert updated_zones(sock) == [ZONE + "."]  # never notified
        c = RbClient(sock)
        assert c.call("setNotified", id=zid, serial=1) == {"result": True}
        c.close()
        assert updated_zones(sock) == []  # serial 1 is not the serial, but held
    finally:
        assert b.stop() == 0, b.log_text()
    assert ctl.json("zone", "show", ZONE)["last_check"] > 0
    # a restarted backend remembers the round
    b = start_backend(ctl.db, sock, log, env=env)
    try:
        assert updated_zones(sock) == []
        # a second process without the policy sees the same store
        sock2 = str(tmp_path / "b2.sock")
        b2 = start_backend(ctl.db, sock2, str(tmp_path / "backend2.log"))
        try:
            assert updated_zones(sock2) == [ZONE + "."]
        finally:
            assert b2.stop() == 0, b2.log_text()
    finally:
        assert b.stop() == 0, b.log_text()


def test_bad_values_are_refused(tmp_path, store):
    for bad in ("-1", "x", "86401", "1.5", ""):
        p = subprocess.run([binary("kyedns-backend"), "--db", store, "--socket",
                            str(tmp_path / "x.sock"), "--notify-min-interval", bad],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 2 and "--notify-min-interval" in p.stderr, (bad, p.stderr)
        if not bad:
            continue  # an empty variable counts as unset
        e = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
        e["KYEDNS_NOTIFY_MIN_INTERVAL"] = bad
        p = subprocess.run([binary("kyedns-backend"), "--db", store, "--socket",
                            str(tmp_path / "x.sock")], capture_output=True, text=True,
                           timeout=10, env=e)
        assert p.returncode == 2 and "KYEDNS_NOTIFY_MIN_INTERVAL" in p.stderr, (bad, p.stderr)
    assert not os.path.exists(str(tmp_path / "x.sock"))
