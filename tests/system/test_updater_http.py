"""kyedns-updater as an HTTP server under bad and heavy input: pipelining,
truncated and oversized requests, HTTP/1.0, timeouts, 10,000 idle
connections, concurrent updates of one host, graceful stop.  Raw sockets so
the bytes on the wire are exactly the ones under test."""
import base64
import re
import http.client
import resource
import socket
import threading
import time

import pytest

from updater_util import TOKENS, Updater, curl, host_addrs, populate, read_responses

H = "a.example.com"
AUTH = "Authorization: Basic " + base64.b64encode(
    ("%s:%s" % (H, TOKENS[H])).encode()).decode() + "\r\n"


def get(path, extra="", version="1.1"):
    return ("GET %s HTTP/%s\r\nHost: t\r\n%s\r\n" % (path, version, extra)).encode()


def connect(up, v6=False):
    return socket.create_connection(("::1" if v6 else "127.0.0.1", up.port), timeout=10)


def closed_by_peer(s, timeout=5):
    """True when the server closed the connection (EOF or reset)."""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def still_serving(up):
    assert curl(up.url("/health")).body == "ok\n"


@pytest.fixture
def up(tmp_path, store, ctl):
    populate(ctl)
    u = Updater(store, tmp_path, args=["--header-timeout", "1", "--idle-timeout", "2"],
                rate=False).wait_ready()
    yield u
    assert u.stop() == 0, u.log_text()[-3000:]


def test_pipelined_requests_are_answered_in_order(up, ctl):
    s = connect(up)
    upd = "/nic/update?hostname=%s&myip=" % H
    s.sendall(get(upd + "192.0.2.1", AUTH) + get("/ip") + get(upd + "192.0.2.1", AUTH) +
              get(upd + "192.0.2.2", AUTH) + get(upd + "2001:db8::1", AUTH) +
              get("/health", "Connection: close\r\n"))
    r = read_responses(s, 6)
    assert [x.body for x in r] == ["good 192.0.2.1\n", "127.0.0.1\n", "nochg 192.0.2.1\n",
                                   "good 192.0.2.2\n", "good 2001:db8::1\n", "ok\n"]
    assert [x.header("connection") for x in r] == ["keep-alive"] * 5 + ["close"]
    assert closed_by_peer(s)
    assert host_addrs(ctl, H) == ("192.0.2.2", "2001:db8::1")


def test_many_pipelined_updates(up, ctl):
    """A long pipeline that keeps going to the writer and back."""
    s = connect(up)
    reqs = b"".join(get("/nic/update?hostname=%s&myip=192.0.2.%d" % (H, i % 7 + 1), AUTH)
                    for i in range(100))
    s.sendall(reqs)
    r = read_responses(s, 100)
    assert [x.body for x in r] == ["good 192.0.2.%d\n" % (i % 7 + 1) for i in range(100)]
    s.close()


def test_truncated_requests(up):
    for part in (b"GET /ip HTTP/1.1\r\nHost: t\r\n", b"GET /nic/upd", b"G"):
        s = connect(up)
        s.sendall(part)
        s.close()
    s = connect(up)
    s.sendall(get("/ip")[:-2])  # no final CRLF: waits, then 408 after 1 s
    t0 = time.monotonic()
    r = read_responses(s, 1)
    assert r[0].status == 408 and 0.8 < time.monotonic() - t0 < 5
    assert closed_by_peer(s)
    still_serving(up)


def test_slow_header_trickle_is_cut(up):
    s = connect(up)
    t0 = time.monotonic()
    got = b""
    for c in get("/ip", "X-Slow: " + "x" * 40 + "\r\n"):
        try:
            s.sendall(bytes([c]))
        except OSError:
            break
        time.sleep(0.05)
        s.setblocking(False)
        try:
            got += s.recv(4096)
        except BlockingIOError:
            pass
        s.setblocking(True)
        if got:
            break
    assert got.startswith(b"HTTP/1.1 408"), got
    assert time.monotonic() - t0 < 3
    still_serving(up)


@pytest.mark.parametrize("raw,status", [
    (get("/ip", "X-Big: " + "x" * (1 << 20) + "\r\n"), 431),             # 1 MB header
    (get("/ip", "".join("X-H%d: v\r\n" % i for i in range(200))), 431),  # too many
    (get("/ip?" + "x" * 5000), 414),
    (b"HELLO WORLD\r\n\r\n", 400),
    (b"GET /ip HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400),
    (b"GET /ip HTTP/1.1\r\nHost t\r\n\r\n", 400),
    (b"GET /ip HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n", 413),
    (b"GET /ip HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),                 # TLS hello
], ids=["1mb-header", "many-headers", "long-url", "garbage", "bad-length", "no-colon",
        "big-body", "bad-chunk", "tls"])
def test_bad_requests_get_4xx_and_close(up, raw, status):
    s = connect(up)
    try:
        s.sendall(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass
    r = read_responses(s, 1)
    assert r and r[0].status == status, r
    assert r[0].header("connection") == "close"
    assert closed_by_peer(s)
    still_serving(up)


def test_http10_and_keepalive(up):
    s = connect(up)
    s.sendall(get("/ip", version="1.0"))
    r = read_responses(s, 1)
    assert r[0].body == "127.0.0.1\n" and r[0].header("connection") == "close"
    assert closed_by_peer(s)
    s = connect(up, v6=True)
    s.sendall(get("/ip", "Connection: keep-alive\r\n", version="1.0"))
    assert read_responses(s, 1)[0].header("connection") == "keep-alive"
    s.sendall(get("/ip"))
    assert read_responses(s, 1)[0].body == "::1\n"
    s.close()


def test_idle_connections_time_out(up):
    s = connect(up)
    s.sendall(get("/ip"))
    assert read_responses(s, 1)[0].status == 200
    t0 = time.monotonic()
    assert closed_by_peer(s, timeout=6)
    assert 1.5 < time.monotonic() - t0 < 5


def test_ten_thousand_idle_connections(tmp_path, store, ctl):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 10000
    if hard != resource.RLIM_INFINITY and hard < want + 500:
        want = hard - 500
    if want < 1000:
        pytest.skip("fd hard limit %d too low" % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    populate(ctl)
    socks = []
    try:
        with Updater(store, tmp_path, rate=False) as up:
            for _ in range(want):
                socks.append(socket.create_connection(("127.0.0.1", up.port), timeout=10))
            # Some of them half-send a request (the slow-header timer runs).
            for s in socks[:100]:
                s.sendall(b"GET /ip HTTP/1.1\r\n")
            r = curl(up.url("/nic/update?hostname=%s&myip=192.0.2.9" % H), user=(H, TOKENS[H]))
            assert r.body == "good 192.0.2.9\n"
            m = curl(up.url("/metrics")).body
            open_now = int([l for l in m.splitlines()
                            if l.startswith("kyedns_connections_open ")][0].split()[1])
            assert open_now >= want
            # The first idle ones still work.
            socks[100].sendall(get("/ip"))
            assert read_responses(socks[100], 1)[0].body == "127.0.0.1\n"
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def open_conns(sock):
    """kyedns_connections_open, asked over the open connection sock."""
    sock.sendall(get("/metrics"))
    body = read_responses(sock, 1)[0].body
    return int(re.search(r"^kyedns_connections_open (\d+)$", body, re.M).group(1))


def await_open_conns(sock, n, timeout=10):
    deadline = time.monotonic() + timeout
    while open_conns(sock) != n:
        assert time.monotonic() < deadline, "the updater never had %d connections open" % n
        time.sleep(0.01)


def test_connection_limit(tmp_path, store, ctl):
    populate(ctl)
    with Updater(store, tmp_path, args=["--max-conns", "3"], rate=False) as up:
        held = [connect(up)]
        await_open_conns(held[0], 1)  # the readiness probe's connection is gone
        held += [connect(up) for _ in range(2)]
        await_open_conns(held[0], 3)  # all three accepted
        extra = connect(up)
        assert closed_by_peer(extra, timeout=3)
        held[0].sendall(get("/ip"))
        assert read_responses(held[0], 1)[0].status == 200
        for s in held:
            s.close()
        # the server frees the slots once it has seen the EOFs: poll
        deadline = time.monotonic() + 10
        while True:
            try:
                assert curl(up.url("/ip")).status == 200
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def test_concurrent_updates_of_one_host(up, ctl):
    """Many connections update one host at once; whatever is stored at the
    end must be an address some client was told is stored."""
    acked = set()
    lock = threading.Lock()
    errors = []

    def worker(k):
        try:
            c = http.client.HTTPConnection("127.0.0.1", up.port, timeout=20)
            for i in range(10):
                ip = "198.51.%d.%d" % (k, i + 1)
                c.request("GET", "/nic/update?hostname=%s&myip=%s" % (H, ip),
                          headers={"Authorization": AUTH.split(": ", 1)[1].strip()})
                r = c.getresponse()
                body = r.read().decode()
                if r.status != 200 or body.split()[0] not in ("good", "nochg"):
                    errors.append(body)
                with lock:
                    acked.add(body.split()[1])
            c.close()
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:5]
    v4, _ = host_addrs(ctl, H)
    assert v4 in acked
    m = curl(up.url("/metrics")).body
    batches = [l for l in m.splitlines() if l.startswith("kyedns_batch_size_count ")]
    jobs = [l for l in m.splitlines() if l.startswith("kyedns_batch_size_sum ")]
    # Group commit: fewer transactions than update requests.
    assert int(batches[0].split()[1]) < int(jobs[0].split()[1])


def test_sigterm_with_open_connections(tmp_path, store, ctl):
    populate(ctl)
    up = Updater(store, tmp_path, rate=False).wait_ready()
    idle = [connect(up) for _ in range(20)]
    partial = connect(up)
    partial.sendall(b"GET /ip HTTP/1.1\r\n")
    t0 = time.monotonic()
    assert up.stop() == 0
    assert time.monotonic() - t0 < 3
    assert "stopped" in up.log_text()
    for s in idle + [partial]:
        s.close()


def test_absolute_form_request_target(up, ctl):
    s = connect(up)
    s.sendall(get("http://kyedns.example/nic/update?hostname=%s&myip=192.0.2.55" % H, AUTH) +
              get("HTTP://kyedns.example:8080/ip"))
    r = read_responses(s, 2)
    assert [x.body for x in r] == ["good 192.0.2.55\n", "127.0.0.1\n"]
    s.close()


def test_sigterm_under_update_load(tmp_path, store, ctl):
    """Stopping while updates are in flight: every answer that arrives is
    complete, the acknowledged address is stored, exit status 0."""
    populate(ctl)
    up = Updater(store, tmp_path, rate=False).wait_ready()
    acked, errors = [], []
    stop = threading.Event()

    def worker(k):
        i = 0
        while not stop.is_set():
            i += 1
            ip = "198.18.%d.%d" % (k, i % 250 + 1)
            try:
                c = http.client.HTTPConnection("127.0.0.1", up.port, timeout=10)
                c.request("GET", "/nic/update?hostname=%s&myip=%s" % (H, ip),
                          headers={"Authorization": AUTH.split(": ", 1)[1].strip()})
                r = c.getresponse()
                body = r.read().decode()
                c.close()
            except (OSError, http.client.HTTPException):
                continue  # refused or closed while stopping: no answer, fine
            if body.startswith(("good ", "nochg ")):
                acked.append((time.monotonic(), ip))
            else:
                errors.append(body)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    # under load: updates are being answered
    deadline = time.monotonic() + 20
    while len(acked) < 40 and not errors:
        assert time.monotonic() < deadline, "no update load: %d answers" % len(acked)
        time.sleep(0.01)
    t0 = time.monotonic()
    rc = up.stop()
    stop.set()
    for t in threads:
        t.join(20)
    assert rc == 0 and time.monotonic() - t0 < 5, up.log_text()[-2000:]
    assert not errors, errors[:5]
    assert acked
    v4, _ = host_addrs(ctl, H)
    assert v4 in {ip for _, ip in acked}


def test_client_that_never_reads_is_cut_off(up):
    """Pipelined requests whose answers are never read: the server queues a
    bounded amount (1 MiB beyond the socket buffers), then closes."""
    s = connect(up)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    req = get("/metrics")
    sent = 0
    s.settimeout(5)
    try:
        for _ in range(400):
            s.sendall(req * 50)
            sent += 50
    except OSError:
        pass  # the server closed on us: that is the point
    time.sleep(0.5)
    still_serving(up)
    m = curl(up.url("/metrics")).body
    assert re.search(r'^kyedns_http_requests_total\{endpoint="metrics",status="200"\} (\d+)',
                     m, re.M)
    assert closed_by_peer(s, timeout=10)
    up.wait_log(r"closing connection from 127\.0\.0\.1 \(it does not read its answers\)")


def server_side(port):
    """(state, receive queue) of the server's TCP sockets on loopback port
    (not the listeners), from /proc/net/tcp{,6}; state 08 is CLOSE_WAIT."""
    out = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            for line in f.readlines()[1:]:
                r = line.split()
                if int(r[1].rsplit(":", 1)[1], 16) == port and r[3] != "0A":
                    out.append((r[3], int(r[4].split(":")[1], 16)))
    return out


def test_half_close_after_pipelined_requests_gets_every_answer(tmp_path, store, ctl):
    """Found in review: EOF right after many pipelined requests must not
    discard the answers still queued (a script that half-closes its side
    after sending still reads them)."""
    populate(ctl)
    with Updater(store, tmp_path, rate=False) as up:
        up.wait_ready()
        s = connect(up)
        # About 4 MB of answers: more than the socket buffers take, less
        # than the write queue a client may leave unread (1 MiB) on top.
        n = 4_000_000 // len(curl(up.url("/metrics")).body)
        s.sendall(get("/metrics") * n)
        s.shutdown(socket.SHUT_WR)
        # the server has read every request and the EOF (its side of the
        # connection is in CLOSE_WAIT with nothing left to read) while
        # answers are still queued
        deadline = time.monotonic() + 20
        while ("08", 0) not in server_side(up.port):
            assert time.monotonic() < deadline, server_side(up.port)
            time.sleep(0.01)
        replies = read_responses(s, n, timeout=30)
        assert len(replies) == n and all(r.status == 200 for r in replies)
        s.close()
