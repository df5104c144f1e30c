"""kyedns-backend behind a real pdns_server (Debian's pdns 4.7 with the
remote backend), and speaking to it directly over its socket.

Stores are filled with kyednsctl; queries go through pdns with dnspython.
"""
import json
import os
import re
import socket
import stat
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from backend_util import RbClient, start_backend, start_stack
from conftest import Ctl, binary

LONG_TXT = "kyedns-" + "0123456789" * 40  # 407 bytes: three TXT strings


def fill(ctl):
    ctl.run("zone", "add", "example.com", "--ns", "ns1.example.com", "--ns", "ns2.example.com",
            "--kind", "master")
    ctl.run("zone", "add", "other.test", "--ns", "ns1.example.com")
    for args in [
        ("ns1.example.com", "A", "192.0.2.53"),
        ("www.example.com", "A", "192.0.2.1"),
        ("www.example.com", "AAAA", "2001:db8::1"),
        ("example.com", "MX", "10 mail.example.com."),
        ("mail.example.com", "A", "192.0.2.25"),
        ("txt.example.com", "TXT", "hello world"),
        ("long.example.com", "TXT", LONG_TXT),
        ("alias.example.com", "CNAME", "www.example.com."),
        ("*.wild.example.com", "A", "192.0.2.99"),
        ("a.b.c.example.com", "A", "192.0.2.7"),
        ("www.other.test", "A", "192.0.2.80"),
    ]:
        ctl.run("record", "add", *args)
    ctl.run("host", "add", "home.example.com", "--token", "home-Token-0123456789xyz",
            "--ipv4", "192.0.2.5")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """One pdns + backend for the read-only query tests, caches off so every
    answer comes from the backend."""
    d = tmp_path_factory.mktemp("backend")
    db = str(d / "db")
    fill(Ctl(db))
    s = start_stack(d, db, {"cache-ttl": 0, "query-cache-ttl": 0, "negquery-cache-ttl": 0})
    yield s
    assert s.stop() == 0, "backend did not exit 0 on SIGTERM"


def rrs(msg, section="answer"):
    """{(name, type, text)} of a message section."""
    out = set()
    for rrset in getattr(msg, section):
        for rd in rrset:
            out.add((rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype),
                     rd.to_text()))
    return out


def answer(stack, name, rdtype="A", **kw):
    r = stack.query(name, rdtype, **kw)
    assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())
    assert r.flags & dns.flags.AA
    return rrs(r)


# ---- through pdns ----

def test_a_aaaa(stack):
    assert answer(stack, "www.example.com.") == {("www.example.com.", "A", "192.0.2.1")}
    assert answer(stack, "www.example.com.", "AAAA") == {("www.example.com.", "AAAA", "2001:db8::1")}
    assert answer(stack, "home.example.com.") == {("home.example.com.", "A", "192.0.2.5")}


def test_soa_ns_mx(stack, tmp_path):
    z = Ctl(stack.backend.db).json("zone", "show", "example.com")
    soa = answer(stack, "example.com.", "SOA")
    assert len(soa) == 1
    fields = list(soa)[0][2].split()
    assert fields[0] == z["mname"] and fields[1] == z["rname"]
    assert int(fields[2]) == z["serial"]
    assert answer(stack, "example.com.", "NS") == {
        ("example.com.", "NS", "ns1.example.com."), ("example.com.", "NS", "ns2.example.com.")}
    assert answer(stack, "example.com.", "MX") == {("example.com.", "MX", "10 mail.example.com.")}


def test_txt_long(stack):
    assert answer(stack, "txt.example.com.", "TXT") == {("txt.example.com.", "TXT", '"hello world"')}
    r = stack.query("long.example.com.", "TXT")
    rd = r.answer[0][0]
    assert len(rd.strings) == 2 and b"".join(rd.strings) == LONG_TXT.encode()


def test_cname(stack):
    got = answer(stack, "alias.example.com.")
    assert ("alias.example.com.", "CNAME", "www.example.com.") in got
    assert ("www.example.com.", "A", "192.0.2.1") in got


def test_any_over_tcp(stack):
    got = answer(stack, "www.example.com.", "ANY", tcp=True)
    assert got == {("www.example.com.", "A", "192.0.2.1"),
                   ("www.example.com.", "AAAA", "2001:db8::1")}


def test_nxdomain_vs_nodata(stack):
    r = stack.query("nope.example.com.")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert any(rr.rdtype == dns.rdatatype.SOA for rr in r.authority)
    r = stack.query("www.example.com.", "MX")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert any(rr.rdtype == dns.rdatatype.SOA for rr in r.authority)


def test_empty_non_terminal(stack):
    for name in ("b.c.example.com.", "c.example.com."):
        r = stack.query(name)
        assert r.rcode() == dns.rcode.NOERROR, name
        assert not r.answer
    assert answer(stack, "a.b.c.example.com.") == {("a.b.c.example.com.", "A", "192.0.2.7")}
    assert stack.query("x.b.c.example.com.").rcode() == dns.rcode.NXDOMAIN


def test_mixed_case(stack):
    r = stack.query("WwW.ExAmPlE.cOm.")
    assert r.rcode() == dns.rcode.NOERROR
    assert [rd.to_text() for rd in r.answer[0]] == ["192.0.2.1"]
    assert r.answer[0].name.to_text() == "WwW.ExAmPlE.cOm."


def test_wildcard(stack):
    assert answer(stack, "foo.wild.example.com.") == {("foo.wild.example.com.", "A", "192.0.2.99")}
    assert answer(stack, "a.b.wild.example.com.") == {("a.b.wild.example.com.", "A", "192.0.2.99")}
    r = stack.query("foo.wild.example.com.", "AAAA")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer


def test_second_zone_and_outside(stack):
    assert answer(stack, "www.other.test.") == {("www.other.test.", "A", "192.0.2.80")}
    for name in ("www.example.org.", "com.", "example.net."):
        assert stack.query(name).rcode() == dns.rcode.REFUSED, name


def test_axfr_equals_store(stack):
    z = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.com.", port=stack.dns_port,
                                        timeout=5, lifetime=10))
    got = set()
    for name, node in z.nodes.items():
        fq = name.derelativize(z.origin).to_text()
        for rdataset in node.rdatasets:
            for rd in rdataset:
                got.add((fq, dns.rdatatype.to_text(rdataset.rdtype),
                         rd.to_text(origin=z.origin, relativize=False), rdataset.ttl))
    # The store's own view, as a zone file, parsed by the same library.
    text = Ctl(stack.backend.db).run("zone", "export", "example.com").stdout
    exp = dns.zone.from_text(text, origin="example.com.", relativize=False)
    want = set()
    for name, node in exp.nodes.items():
        for rdataset in node.rdatasets:
            for rd in rdataset:
                want.add((name.to_text(), dns.rdatatype.to_text(rdataset.rdtype),
                          rd.to_text(origin=z.origin, relativize=False), rdataset.ttl))
    assert len(want) > 10
    assert got == want


def test_axfr_raw_has_one_soa_at_each_end(stack):
    msgs = list(dns.query.xfr("127.0.0.1", "example.com.", port=stack.dns_port, timeout=5,
                              lifetime=10, relativize=False))
    rrsets = [rrset for m in msgs for rrset in m.answer]
    types = [rrset.rdtype for rrset in rrsets]
    assert types[0] == dns.rdatatype.SOA and types[-1] == dns.rdatatype.SOA
    assert types.count(dns.rdatatype.SOA) == 2


def test_pdnsutil_backend_cmd(stack):
    out = stack.pdnsutil("backend-cmd", "remote", "stats")
    assert "lookup_count" in out and "store_zones 2" in out
    assert "pong" in stack.pdnsutil("backend-cmd", "remote", "ping")


def test_backend_restart_pdns_recovers(tmp_path, ctl, store):
    """pdns reconnects after a backend restart (docs/design.md "When the backend restarts": at most one
    SERVFAIL per open connection)."""
    fill(ctl)
    s = start_stack(tmp_path, store, {"cache-ttl": 0, "query-cache-ttl": 0,
                                      "negquery-cache-ttl": 0})
    try:
        assert answer(s, "www.example.com.") == {("www.example.com.", "A", "192.0.2.1")}
        assert s.backend.stop() == 0
        s.backend = start_backend(store, s.sock, str(tmp_path / "backend2.log"))
        rcodes = []
        for _ in range(10):
            r = s.query("www.example.com.")
            rcodes.append(r.rcode())
            if r.rcode() == dns.rcode.NOERROR:
                break
        assert rcodes[-1] == dns.rcode.NOERROR, rcodes
        assert len(rcodes) <= 5, rcodes
        assert s.pdns.proc.poll() is None
    finally:
        s.stop()


# ---- changes, purge, notify (each with its own stack) ----

def test_change_visible_after_purge(tmp_path, ctl, store):
    fill(ctl)
    s = start_stack(tmp_path, store, {"cache-ttl": 60, "query-cache-ttl": 60,
                                      "negquery-cache-ttl": 60})
    try:
        assert answer(s, "mail.example.com.") == {("mail.example.com.", "A", "192.0.2.25")}
        assert s.query("new.example.com.").rcode() == dns.rcode.NXDOMAIN
        ctl.run("record", "del", "mail.example.com", "A")
        ctl.run("record", "add", "mail.example.com", "A", "192.0.2.26")
        ctl.run("record", "add", "new.example.com", "A", "192.0.2.77")
        # the caches still hold the old answers ...
        assert answer(s, "mail.example.com.") == {("mail.example.com.", "A", "192.0.2.25")}
        assert s.query("new.example.com.").rcode() == dns.rcode.NXDOMAIN
        # ... until they are purged
        s.control("purge", "mail.example.com.")
        s.control("purge", "new.example.com.")
        assert answer(s, "mail.example.com.") == {("mail.example.com.", "A", "192.0.2.26")}
        assert answer(s, "new.example.com.") == {("new.example.com.", "A", "192.0.2.77")}
    finally:
        assert s.stop() == 0


def _notify_listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    got = []
    stop = threading.Event()

    def run():
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                m = dns.message.from_wire(data)
            except Exception:
                continue
            got.append(m)
            if m.opcode() == dns.opcode.NOTIFY:
                r = dns.message.make_response(m)
                sock.sendto(r.to_wire(), peer)

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def close():
        stop.set()
        t.join()
        sock.close()
    return sock.getsockname()[1], got, close


def _wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def test_notify_and_set_notified(tmp_path, ctl, store):
    fill(ctl)
    port, got, close = _notify_listener()
    s = start_stack(tmp_path, store, {"primary": "yes", "also-notify": "127.0.0.1:%d" % port,
                                      "xfr-cycle-interval": 1})
    try:
        def notified(name):
            return [m for m in got if m.opcode() == dns.opcode.NOTIFY
                    and m.question[0].name.to_text() == name]

        def zone():
            return ctl.json("zone", "show", "example.com")
        # pdns records the serial of the changed master zone by itself
        _wait_for(lambda: zone()["notified_serial"] == zone()["serial"], 20,
                  "setNotified of example.com")
        # pdns 4.7.3 starts its communicator thread before it reads
        # also-notify (communicator.cc, CommunicatorClass::go), so the very
        # first round can find no target ("no valid nameservers or
        # ALSO-NOTIFYs found") when the backend answers fast.  The NOTIFY
        # is checked for a change made after start.
        # a change bumps the serial; pdns notices, notifies, records it
        ctl.run("record", "add", "later.example.com", "A", "192.0.2.8")
        serial = zone()["serial"]
        assert zone()["notified_serial"] != serial
        _wait_for(lambda: zone()["notified_serial"] == serial, 20, "setNotified after a change")
        _wait_for(lambda: notified("example.com."), 30, "NOTIFY for example.com")
        # and pdns_control notify sends one on demand
        before = len(notified("example.com."))
        assert "Added to queue" in s.control("notify", "example.com")
        _wait_for(lambda: len(notified("example.com.")) > before, 10, "NOTIFY on demand")
        # a native zone is never in getUpdatedMasters
        assert ctl.json("zone", "show", "other.test")["notified_serial"] == 0
    finally:
        rc = s.stop()
        close()
    assert rc == 0


def test_also_notify_metadata(tmp_path, ctl, store):
    """ALSO-NOTIFY zone metadata (pdns reads it with getDomainMetadata: the
    remote protocol's alsoNotifies) adds a NOTIFY target: set with
    pdnsutil, stored by the backend, honoured by pdns on the next change."""
    fill(ctl)
    port, got, close = _notify_listener()
    s = start_stack(tmp_path, store, {"primary": "yes", "xfr-cycle-interval": 1,
                                      "domain-metadata-cache-ttl": 0})
    try:
        def zone():
            return ctl.json("zone", "show", "example.com")
        _wait_for(lambda: zone()["notified_serial"] == zone()["serial"], 20,
                  "setNotified of example.com")
        # no also-notify in the configuration: nothing came to the listener
        assert not [m for m in got if m.opcode() == dns.opcode.NOTIFY]
        s.pdnsutil("set-meta", "example.com", "ALSO-NOTIFY", "127.0.0.1:%d" % port)
        assert "127.0.0.1:%d" % port in s.pdnsutil("get-meta", "example.com", "ALSO-NOTIFY")
        ctl.run("record", "add", "later.example.com", "A", "192.0.2.8")
        _wait_for(lambda: [m for m in got if m.opcode() == dns.opcode.NOTIFY and
                           m.question[0].name.to_text() == "example.com."], 20,
                  "NOTIFY to the ALSO-NOTIFY target")
    finally:
        rc = s.stop()
        close()
    assert rc == 0


# ---- the backend's socket, directly ----

@pytest.fixture
def backend(tmp_path, ctl, store):
    fill(ctl)
    b = start_backend(store, str(tmp_path / "b.sock"), str(tmp_path / "b.log"))
    yield b
    assert b.stop() == 0, b.log_text()


LOOKUP = {"qtype": "A", "qname": "www.example.com.", "zone-id": -1}
WWW_ROW = {"qtype": "A", "qname": "www.example.com.", "content": "192.0.2.1", "ttl": 3600}


def line(method, **params):
    return json.dumps({"method": method, "parameters": params}).encode() + b"\n"


def check_www(reply):
    assert len(reply["result"]) == 1
    row = dict(reply["result"][0])
    assert isinstance(row.pop("domain_id"), int)
    assert row == WWW_ROW


def test_socket_thousand_connections(backend):
    conns = [RbClient(backend.sock, timeout=20) for _ in range(1000)]
    try:
        for c in conns:
            c.send_raw(line("initialize", path=backend.sock))
        for c in conns:
            assert json.loads(c.read_line()) == {"result": True}
        for c in conns:
            c.send_raw(line("lookup", **LOOKUP))
        for c in conns:
            check_www(json.loads(c.read_line()))
        stats = conns[0].call("directBackendCmd", query="stats")["result"]
        assert "connections_open 1000" in stats
    finally:
        for c in conns:
            c.close()


def test_socket_split_and_pipelined(backend):
    c = RbClient(backend.sock)
    req = line("lookup", **LOOKUP)
    for i in range(len(req)):  # one byte at a time
        c.send_raw(req[i:i + 1])
        time.sleep(0.001)
    check_www(json.loads(c.read_line()))
    c.send_raw(req * 50 + line("initialize") + req[:10])  # 51.x requests in one write
    for _ in range(50):
        check_www(json.loads(c.read_line()))
    assert json.loads(c.read_line()) == {"result": True}
    c.send_raw(req[10:])
    check_www(json.loads(c.read_line()))
    c.close()


def test_socket_pipelined_big_replies(backend):
    """Replies larger than the socket buffer, many requests sent before any
    reply is read: the server holds input back (backpressure) and still
    answers everything, in order."""
    c = RbClient(backend.sock, timeout=20)
    req = line("list", zonename="example.com.", domain_id=1)
    n = 1500
    sender = threading.Thread(target=c.send_raw, args=(req * n + line("initialize"),))
    sender.start()
    first = c.read_line()
    rows = json.loads(first)["result"]
    assert rows[0]["qtype"] == "SOA" and len(rows) > 10
    for _ in range(n - 1):
        assert c.read_line() == first
    assert json.loads(c.read_line()) == {"result": True}
    sender.join()
    c.close()


def test_socket_garbage_keeps_connection(backend):
    c = RbClient(backend.sock)
    for junk in [b"\x00\xff\xfe garbage \x80\n", b"{\"method\":\n", b"[1,2\n",
                 b"{\"method\":\"lookup\",\"parameters\":{\"qname\":5,\"qtype\":\"A\"}}\n"]:
        c.send_raw(junk)
        r = json.loads(c.read_line())
        assert r["result"] is False and r["log"], junk
    c.send_raw(b"\n\r\n")  # blank lines are no requests: no reply
    assert c.call("lookup", **LOOKUP)["result"][0]["content"] == "192.0.2.1"
    c.close()


def test_socket_huge_line(backend):
    def send(c, data):
        # the server may close while the tail is still being sent
        try:
            c.send_raw(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
    c = RbClient(backend.sock, timeout=20)
    send(c, b"{\"method\":\"" + b"x" * (1 << 20) + b"\"}")  # no newline yet
    r = json.loads(c.read_line())
    assert r["result"] is False and "too long" in r["log"][0]
    with pytest.raises((EOFError, ConnectionResetError, BrokenPipeError)):
        c.read_line()  # closed after the error
    c.close()
    c = RbClient(backend.sock, timeout=20)  # the server goes on
    send(c, b" " * (1 << 20) + b"x" * 100 + b"\n")  # over the limit, with newline
    assert "too long" in json.loads(c.read_line())["log"][0]
    c.close()
    c = RbClient(backend.sock)
    check_www(c.call("lookup", **LOOKUP))
    c.close()
    assert "line over" in backend.log_text()


def test_socket_eof_after_request_gets_reply(backend):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(backend.sock)
    s.sendall(line("lookup", **LOOKUP))
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    check_www(json.loads(data))


def test_socket_sees_writes_and_map_growth(backend, ctl, tmp_path):
    """Writes by another process (and the map growing under the backend's
    feet) show up in the next request: no snapshot is held."""
    c = RbClient(backend.sock)
    assert c.call("lookup", qtype="A", qname="h1.example.com.", **{"zone-id": -1}) == {"result": []}
    # ~160 bytes a host: 500k hosts outgrow the 64 MiB first map
    lines = ["h%d.example.com Tok-%06d-aBcDeFgHiJkLmN 10.%d.%d.%d" % (i, i, i // 62500,
                                                                   (i // 250) % 250, i % 250 + 1)
             for i in range(500000)]
    f = tmp_path / "hosts.txt"
    f.write_text("\n".join(lines) + "\n")
    ctl.run("host", "import", str(f))
    r = c.call("lookup", qtype="A", qname="h1.example.com.", **{"zone-id": -1})
    assert r["result"][0]["content"] == "10.0.0.2"
    r = c.call("lookup", qtype="A", qname="h499999.example.com.", **{"zone-id": -1})
    assert r["result"][0]["content"] == "10.7.249.250"
    stats = c.call("directBackendCmd", query="stats")["result"]
    size = int(stats.split("store_map_size_bytes ")[1].split()[0])
    assert size > 64 << 20, "the test meant to grow the map: %s" % stats
    c.close()


# ---- lifecycle and flags ----

def test_stale_socket_replaced_live_refused(tmp_path, ctl, store):
    fill(ctl)
    sock = str(tmp_path / "s.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(sock)
    stale.close()  # the file stays, nobody listens
    b = start_backend(store, sock, str(tmp_path / "1.log"))
    try:
        assert "replaced stale socket" in b.log_text()
        p = subprocess.run([binary("kyedns-backend"), "--db", store, "--socket", sock],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode != 0
        assert "in use" in p.stderr and len(p.stderr.strip().splitlines()) == 1
        c = RbClient(sock)  # the first one is unharmed
        check_www(c.call("lookup", **LOOKUP))
        c.close()
    finally:
        assert b.stop() == 0
    assert not os.path.exists(sock), "socket file removed on exit"
    # a path that is not a socket is never replaced
    open(sock, "w").close()
    p = subprocess.run([binary("kyedns-backend"), "--db", store, "--socket", sock],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode != 0 and "not a socket" in p.stderr
    assert os.path.isfile(sock)


def test_env_flags_mode_and_group(tmp_path, ctl, store):
    fill(ctl)
    sock = str(tmp_path / "env.sock")
    gid = os.getgid() if os.getgid() != 0 else 65534
    b = start_backend(None, sock, str(tmp_path / "e.log"), env={
        "KYEDNS_DB": store, "KYEDNS_SOCKET": sock, "KYEDNS_SOCKET_GROUP": str(gid)})
    try:
        st = os.stat(sock)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert st.st_gid == gid
        c = RbClient(sock)
        check_www(c.call("lookup", **LOOKUP))
        c.close()
    finally:
        assert b.stop() == 0


def test_sigint_and_bad_start(tmp_path, ctl, store):
    fill(ctl)
    sock = str(tmp_path / "i.sock")
    b = start_backend(store, sock, str(tmp_path / "i.log"))
    c = RbClient(sock)
    c.call("initialize")
    b.proc.send_signal(2)
    assert b.proc.wait(10) == 0
    b._logf.close()
    assert "stopping (sigint)" in b.log_text()
    c.close()
    p = subprocess.run([binary("kyedns-backend"), "--db", str(tmp_path / "missing"),
                        "--socket", sock], capture_output=True, text=True, timeout=10)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z error kyedns-backend\[\d+\]: "
                        r"cannot open store %s \(not found\)" % re.escape(str(tmp_path / "missing")),
                        lines[0]), lines
    p = subprocess.run([binary("kyedns-backend"), "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--socket-group" in p.stdout
