"""A primary and two secondaries on loopback, NOTIFY and AXFR signed with
TSIG (hmac-sha256): the topology of docs/secondaries.md, tested end to end.

primary:     pdns_server (primary=yes, xfr-cycle-interval=1) + kyedns-backend
             (unix socket, or pdns's pipe connector with --stdio) +
             kyedns-updater; the key lives in the KyedNS store (pdnsutil
             import-tsig-key), TSIG-ALLOW-AXFR and ALSO-NOTIFY are zone
             metadata, allow-axfr-ips admits no loopback address.
secondary 1: pdns_server with Debian's lmdb backend, allow-unsigned-notify=no,
             AXFR-MASTER-TSIG.
secondary 2: NSD 4.6 (request-xfr AXFR, allow-notify with the key).
a listener:  a third ALSO-NOTIFY target in the test, which checks the
             NOTIFY's signature itself.

Shared with bench/topology/ through topology_util.py.
"""
import re
import socket
import threading
import time

import dns.message
import dns.opcode
import dns.rcode
import dns.tsig
import pytest

from conftest import free_port
from ops_util import kill_tree_in, procs_in, wait_until
from topology_util import (NsdSecondary, PdnsSecondary, Primary, addresses, keyring,
                           new_key, send_notify, soa_serial)
from updater_util import Updater, curl

ZONE = "topo.test"
HOST = "home." + ZONE
TOKEN = "topo-token-0123456789abcdef"
BOUND_S = 10  # an update must reach both secondaries within this


class NotifyListener:
    """Receives NOTIFYs on a UDP port, keeps the raw messages and answers
    each (so pdns does not resend)."""

    def __init__(self):
        self.port = free_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.settimeout(0.2)
        self.wires = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                wire, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.wires.append(wire)
            try:  # the reply: header only, QR set, same id and opcode
                self.sock.sendto(wire[:2] + bytes([wire[2] | 0x80 | 0x04, 0]) + b"\0" * 8, peer)
            except OSError:
                pass

    def stop(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.mark.parametrize("mode", ["unix", "pipe"])
def test_topology_tsig_notify_axfr(tmp_path, ctl, mode):
    ctl.run("zone", "add", ZONE, "--ns", "ns1." + ZONE, "--ns", "ns2." + ZONE, "--kind", "master")
    ctl.run("host", "add", HOST, "--token", TOKEN, "--ipv4", "192.0.2.1")
    ctl.run("host", "add", "other." + ZONE, "--ipv4", "192.0.2.2", "--ipv6", "2001:db8::2")
    key = new_key("topo-xfr")
    sec1_port, nsd_port = free_port(), free_port()
    listener = NotifyListener()
    prim = sec1 = nsd = up = None
    try:
        prim = Primary(tmp_path, ctl.db, ZONE, key, mode=mode, xfr_cycle=1,
                       notify=["127.0.0.1:%d" % p for p in (sec1_port, nsd_port, listener.port)])
        sec1 = PdnsSecondary(tmp_path, ZONE, key, prim.dns_port, port=sec1_port)
        nsd = NsdSecondary(tmp_path, ZONE, key, prim.dns_port, port=nsd_port)
        secs = {"pdns-lmdb": sec1, "nsd": nsd}
        for name, s in secs.items():
            wait_until(lambda s=s: addresses(s.port, HOST) == ["192.0.2.1"], 30,
                       "%s serves the zone" % name)
            assert addresses(s.port, "other." + ZONE, "AAAA") == ["2001:db8::2"]

        # TSIG required: unsigned AXFR gets NOTAUTH (pdns's answer when the
        # client may not transfer) and no record; signed, the whole zone
        # (SOA, 2 NS, 3 addresses, closing SOA).
        rcode, answer = prim.axfr_unsigned()
        assert rcode == dns.rcode.NOTAUTH and answer == [], (rcode, answer)
        assert "failed: client may not request AXFR" in prim.log_text()
        assert prim.axfr_signed(key) == 7
        # Both secondaries refuse a NOTIFY without the key.
        assert send_notify(sec1.port, ZONE) == dns.rcode.REFUSED
        assert send_notify(nsd.port, ZONE) == dns.rcode.REFUSED
        with pytest.raises(dns.tsig.PeerBadSignature):  # same name, other secret
            send_notify(nsd.port, ZONE, key=new_key("topo-xfr"))

        up = Updater(ctl.db, tmp_path, rate=False).wait_ready()
        serial0 = soa_serial(prim.dns_port, ZONE)
        time.sleep(1.1)  # serial = max(old + 1, unix time): a new second anyway
        n_notify = len(listener.wires)
        r = curl(up.url("/nic/update?hostname=%s&myip=198.51.100.77" % HOST), user=(HOST, TOKEN))
        assert (r.status, r.body.strip()) == (200, "good 198.51.100.77")
        t0 = time.monotonic()
        lag = {}
        while len(lag) < len(secs) and time.monotonic() - t0 < 30:
            for name, s in secs.items():
                if name not in lag and addresses(s.port, HOST, timeout=0.5) == ["198.51.100.77"]:
                    lag[name] = time.monotonic() - t0
            time.sleep(0.02)
        print("mode=%s: update visible after %s" % (
            mode, ", ".join("%s %.2f s" % kv for kv in sorted(lag.items()))))
        assert set(lag) == set(secs), (lag, sec1.log_text()[-2000:], nsd.log_text()[-2000:])
        assert max(lag.values()) < BOUND_S, lag
        serial1 = soa_serial(prim.dns_port, ZONE)
        assert serial1 > serial0
        for s in secs.values():
            assert soa_serial(s.port, ZONE) == serial1

        # The NOTIFY each target got is signed with the zone's key: the
        # listener verifies the signature itself, ...
        wait_until(lambda: len(listener.wires) > n_notify, 5, "NOTIFY at the listener")
        m = dns.message.from_wire(listener.wires[-1], keyring=keyring(key))
        assert m.opcode() == dns.opcode.NOTIFY and m.had_tsig
        assert m.keyname.to_text() == key[0] + "."
        assert m.question[0].name.to_text() == ZONE + "."
        # ... pdns (refusing unsigned NOTIFYs, see above) logs the key, ...
        assert ("Received secure NOTIFY for %s from 127.0.0.1" % ZONE) in sec1.log_text()
        assert "with TSIG key '%s'" % key[0] in sec1.log_text()
        # ... and NSD, which refused the unsigned and the badly signed one
        # above, accepted it (its ACL names the key) and transferred.
        log = nsd.log_text()
        assert "notify for %s. from 127.0.0.1 refused, no acl matches" % ZONE in log
        assert re.search(r"notify for %s\. from 127\.0\.0\.1\n" % re.escape(ZONE), log), log
        assert "to serial %d at" % serial1 in log
        assert "TSIG verified with key %s" % key[0] in log
        assert nsd.transfers() >= 2 and sec1.transfers() >= 2
        assert prim.axfr_out_count() >= 5  # 2 + 2 + the signed one above
    finally:
        for p in (up, nsd, sec1, prim):
            if p is not None:
                p.stop()
        listener.stop()
        kill_tree_in(str(tmp_path))
    assert procs_in(str(tmp_path)) == []
