"""kyedns-updater under abuse: client identity behind proxies, connection
slots, per-host limits, the address policy, log volume, core dumps, purge
failures, and a host deleted while its update waits for the writer.  One
regression test (or more) per hardening item; each runs the real daemon on
loopback (several source addresses of 127/8 stand for distinct clients)."""
import base64
import os
import re
import resource
import signal
import socket
import subprocess
import threading
import http.server

import pytest

from conftest import binary, free_port
from updater_util import (TOKENS, LmdbWriter, Updater, curl, host_addrs, metric, populate,
                          read_responses, wait_for)

H = "a.example.com"
TOK = TOKENS[H]


def basic(user, secret):
    return "Authorization: Basic " + base64.b64encode(
        ("%s:%s" % (user, secret)).encode()).decode()


def upd(up, query, user=None, headers=(), v6=False):
    return curl(up.url("/nic/update?" + query, v6=v6), user=user, headers=headers)


def connect_from(up, src):
    """A connection to the updater from loopback source address src."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((src, 0))
    s.connect(("127.0.0.1", up.port))
    return s


def closed_by_peer(s, timeout=5):
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


# ---- 1, 2: client identity behind a trusted proxy ----

def test_oversized_xff_never_falls_back_to_x_real_ip(tmp_path, store, ctl):
    """Item 1: an X-Forwarded-For over the kept length is read from its
    right end (where the trusted proxy appended the peer it saw); the
    client's own X-Real-IP is never believed instead."""
    populate(ctl)
    with Updater(store, tmp_path, args=["--trusted-proxy", "127.0.0.0/8"], rate=False) as up:
        junk = ", ".join(["203.0.113.%d" % (i % 250) for i in range(60)])  # ~800 bytes
        r = curl(up.url("/ip"), headers=["X-Forwarded-For: %s, 198.51.100.7" % junk,
                                         "X-Real-IP: 192.0.2.99"])
        assert r.body == "198.51.100.7\n"
        # Only trusted hops in the kept tail: the client is unknown, so the
        # request counts as the left-most trusted hop, never X-Real-IP.
        hops = ", ".join(["127.0.0.%d" % (i % 200 + 2) for i in range(80)])
        r = curl(up.url("/ip"), headers=["X-Forwarded-For: 1.2.3.4, %s" % hops,
                                         "X-Real-IP: 192.0.2.99"])
        assert r.body != "192.0.2.99\n" and r.body.startswith("127.0.0.")
        # Garbage in the middle ends the walk the same way.
        r = curl(up.url("/ip"), headers=["X-Forwarded-For: 1.2.3.4, bogus, 127.0.0.9",
                                         "X-Real-IP: 192.0.2.99"])
        assert r.body == "127.0.0.9\n"


def test_ipv4_mapped_clients_are_ipv4(tmp_path, store, ctl):
    """Item 2: ::ffff:a.b.c.d from a dual-stack proxy is the IPv4 client
    a.b.c.d: its own lockout key, an A record when no myip is sent, and
    trusted-proxy networks written in mapped form match IPv4 peers."""
    populate(ctl)
    args = ["--trusted-proxy", "::ffff:127.0.0.0/104"]
    with Updater(store, tmp_path, args=args, rate=False) as up:
        r = curl(up.url("/ip"), headers=["X-Forwarded-For: ::ffff:198.51.100.8"])
        assert r.body == "198.51.100.8\n"
        r = curl(up.url("/ip"), headers=["X-Real-IP: ::ffff:198.51.100.9"])
        assert r.body == "198.51.100.9\n"
        r = upd(up, "hostname=" + H, (H, TOK), ["X-Forwarded-For: ::ffff:198.51.100.10"])
        assert r.body == "good 198.51.100.10\n"
        assert host_addrs(ctl, H) == ("198.51.100.10", None)
        # A stranger's wrong guesses from one mapped address do not lock out
        # the owner at another (before, all of ::ffff:0:0/96 was one /64).
        for _ in range(6):
            r = upd(up, "hostname=" + H, (H, "wrong-token-0123456789"),
                    ["X-Forwarded-For: ::ffff:203.0.113.66"])
        assert r.body == "abuse\n"
        r = upd(up, "hostname=%s&myip=192.0.2.10" % H, (H, TOK),
                ["X-Forwarded-For: ::ffff:198.51.100.11"])
        assert r.body == "good 192.0.2.10\n"


# ---- 3: connection slots ----

def test_idle_connections_cannot_exhaust_the_slots(tmp_path, store, ctl):
    """Item 3: one client holding idle connections gets only its share of
    the slots; 200 other clients are all served meanwhile."""
    populate(ctl)
    with Updater(store, tmp_path, args=["--max-conns", "200", "--header-timeout", "30"]) as up:
        idle = [connect_from(up, "127.0.0.1") for _ in range(200)]
        # Wait until every one of those accepts has been handled: kept
        # open or refused (the probe's own connection is one of the open).
        def settled():
            try:
                s = connect_from(up, "127.0.1.1")
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                r = read_responses(s, 1, timeout=5)
                s.close()
            except OSError:
                return True  # refused: the pool is full, so all were handled
            if not r:
                return True
            n = lambda k: float((re.search(r"^%s (\S+)$" % k, r[0].body, re.M) or [0, 0])[1])
            return n("kyedns_connections_open") + n("kyedns_connections_rejected_total") + \
                n("kyedns_connections_per_client_rejected_total") >= 201
        wait_for(settled, what="the idle connections to be accepted or refused")
        failed = 0
        for i in range(200):
            try:
                s = connect_from(up, "127.0.2.%d" % (i + 1))
                s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                r = read_responses(s, 1, timeout=5)
                failed += not (r and r[0].body == "ok\n")
                s.close()
            except OSError:
                failed += 1
        for s in idle:
            s.close()
        assert failed == 0, "%d of 200 clients failed" % failed


def test_header_timeout_runs_from_the_accept(tmp_path, store, ctl):
    """Item 3: a connection that never sends a byte is closed after the
    header timeout, not after the (longer) idle timeout."""
    populate(ctl)
    with Updater(store, tmp_path,
                 args=["--header-timeout", "0.5", "--idle-timeout", "30"], rate=False) as up:
        s = connect_from(up, "127.0.0.1")
        assert closed_by_peer(s, timeout=5)
        assert metric(up, "kyedns_connections_silent_timeout_total") == 1


def test_connections_per_client(tmp_path, store, ctl):
    """Item 3: --max-conns-per-client counts per address; trusted proxies
    are exempt (they carry everybody)."""
    populate(ctl)
    with Updater(store, tmp_path, args=["--max-conns-per-client", "3"]) as up:
        held = [connect_from(up, "127.0.0.3") for _ in range(3)]
        extra = connect_from(up, "127.0.0.3")
        assert closed_by_peer(extra)
        s = connect_from(up, "127.0.0.4")  # another client is fine
        s.sendall(b"GET /ip HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_responses(s, 1)[0].body == "127.0.0.4\n"
        held[0].close()
        # The slot comes back once the server has seen the close.
        def again():
            c = connect_from(up, "127.0.0.3")
            c.sendall(b"GET /ip HTTP/1.1\r\nHost: t\r\n\r\n")
            r = read_responses(c, 1, timeout=2)
            c.close()
            return r and r[0].body == "127.0.0.3\n"
        wait_for(again)
    with Updater(store, tmp_path, args=["--max-conns-per-client", "2",
                                        "--trusted-proxy", "127.0.0.5"]) as up:
        held = [connect_from(up, "127.0.0.5") for _ in range(5)]
        for s in held:
            s.sendall(b"GET /ip HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_responses(s, 1)[0].status == 200


# ---- 4: no trusted proxy ----

def test_warns_without_trusted_proxy(tmp_path, store, ctl):
    """Item 4: listening beyond loopback without --trusted-proxy is logged
    as a warning at start, and so is the first request that carries
    X-Forwarded-For from a peer that is not a trusted proxy."""
    populate(ctl)
    port = free_port(udp_too=False)
    up = Updater(store, tmp_path, listen=["0.0.0.0:%d" % port])
    up.port = port
    with up.wait_ready():
        up.wait_log(r"warning: listening on 0\.0\.0\.0:%d without --trusted-proxy" % port)
        r = curl(up.url("/ip"), headers=["X-Forwarded-For: 198.51.100.1"])
        assert r.body == "127.0.0.1\n"
        curl(up.url("/ip"), headers=["X-Forwarded-For: 198.51.100.2"])
        text = up.wait_log(r"warning: 127\.0\.0\.1 sent X-Forwarded-For but is not a --trusted-proxy")
        assert text.count("is not a --trusted-proxy") == 1
    with Updater(store, tmp_path) as up:  # loopback only: nothing to warn about
        curl(up.url("/health"))
        assert "without --trusted-proxy" not in up.log_text()


# ---- 5: timing oracle ----

def test_token_work_does_not_depend_on_host_existence(tmp_path, store, ctl):
    """Item 5: a wrong secret costs one hash per name whether the hosts
    (listed or the Basic username) exist or not, and a secret longer than
    any token is refused before hashing (its length cannot buy time)."""
    populate(ctl)
    with Updater(store, tmp_path, rate=False) as up:
        def hashes(user, hosts, secret):
            before = metric(up, "kyedns_token_hashes_total")
            r = upd(up, "hostname=%s&myip=192.0.2.1" % hosts, (user, secret))
            assert r.status == 401 and set(r.body.split()) == {"badauth"}
            return metric(up, "kyedns_token_hashes_total") - before

        wrong = "wrong-token-0123456789"
        assert hashes("b.example.com", "zz1.example.com", wrong) == 2      # user exists
        assert hashes("nope.example.com", "zz2.example.com", wrong) == 2   # user missing
        assert hashes("c.example.com", "zz3.example.com", "x" * 1900) == 0  # too long


# ---- 7: per-host limits (token strength: tests/unit/test_token.c) ----

def test_change_throttle_per_host(tmp_path, store, ctl):
    """Item 7: a host's changes come from a bucket (default burst 10); then
    abuse with Retry-After, nothing committed; nochg is not a change."""
    populate(ctl)
    with Updater(store, tmp_path) as up:
        s = socket.create_connection(("127.0.0.1", up.port), timeout=10)
        auth = basic(H, TOK) + "\r\n"
        reqs = b"".join(("GET /nic/update?hostname=%s&myip=192.0.2.%d HTTP/1.1\r\nHost: t\r\n"
                         "%s\r\n" % (H, i + 1, auth)).encode() for i in range(50))
        s.sendall(reqs)
        r = read_responses(s, 50)
        good = [x for x in r if x.body.startswith("good")]
        abuse = [x for x in r if x.body == "abuse\n"]
        assert len(good) == 10 and len(abuse) == 40, [x.body for x in r]
        assert all(int(x.header("retry-after")) >= 1 for x in abuse)
        assert host_addrs(ctl, H) == ("192.0.2.10", None)
        assert upd(up, "hostname=%s&myip=192.0.2.10" % H, (H, TOK)).body == "nochg 192.0.2.10\n"
    with Updater(store, tmp_path, args=["--host-change-rate", "0"]) as up:
        for i in range(15):  # 0 = off
            assert upd(up, "hostname=%s&myip=192.0.2.%d" % (H, 100 + i),
                       (H, TOK)).body.startswith("good")


def test_failure_budget_per_host_across_clients(tmp_path, store, ctl):
    """Item 7: wrong guesses spread over many clients (each under the
    per-client limit) spend the host's budget (100 per 5 minutes); then
    every further failure for the host is answered abuse, while the right
    token still gets through from anywhere (an owner's new address, or a
    stranger's guesses would freeze the host)."""
    populate(ctl)
    with Updater(store, tmp_path, args=["--trusted-proxy", "127.0.0.1"], rate=False) as up:
        def at(ip):
            return ["X-Forwarded-For: " + ip]
        assert upd(up, "hostname=%s&myip=192.0.2.1" % H, (H, TOK), at("198.51.100.1")).body \
            == "good 192.0.2.1\n"
        for i in range(100):
            r = upd(up, "hostname=" + H, (H, "wrong-token-%04d-abcdefgh" % i),
                    at("203.0.%d.%d" % (i // 250, i % 250 + 1)))
            assert r.body == "badauth\n"
        r = upd(up, "hostname=" + H, (H, "wrong-token-last-abcdefgh"), at("203.0.113.1"))
        assert r.body == "abuse\n" and int(r.header("retry-after")) > 0
        # The right token from a new address (the owner after an address
        # change) is not locked out ...
        assert upd(up, "hostname=%s&myip=192.0.2.9" % H, (H, TOK), at("192.0.2.200")).body \
            == "good 192.0.2.9\n"
        # ... nor where it authenticated before.
        assert upd(up, "hostname=%s&myip=192.0.2.2" % H, (H, TOK), at("198.51.100.1")).body \
            == "good 192.0.2.2\n"
        # Other hosts are untouched.
        b = "b.example.com"
        assert upd(up, "hostname=%s&myip=192.0.2.3" % b, (b, TOKENS[b]), at("192.0.2.201")).body \
            == "good 192.0.2.3\n"


# ---- 8: address policy ----

@pytest.mark.parametrize("myip", [
    "127.0.0.1", "::1", "224.0.0.1", "ff02::1", "255.255.255.255", "240.0.0.1",
    "169.254.1.1", "fe80::1", "::ffff:192.0.2.1", "0.1.2.3",
    "192.0.2.1,fe80::1",
])
def test_useless_addresses_are_refused(tmp_path, store, ctl, myip):
    """Item 8: addresses that can never be useful in public DNS are dnserr
    and nothing is stored."""
    populate(ctl)
    with Updater(store, tmp_path, rate=False) as up:
        r = upd(up, "hostname=%s&myip=%s" % (H, myip), (H, TOK))
        assert (r.status, r.body) == (400, "dnserr\n")
        assert host_addrs(ctl, H) == (None, None)


def test_private_addresses_and_allowed_loopback(tmp_path, store, ctl):
    """Item 8: RFC 1918, CGNAT and ULA stay allowed; loopback (sent, or the
    caller's own address) only with --allow-loopback."""
    populate(ctl)
    with Updater(store, tmp_path, rate=False) as up:
        for ip in ("10.1.2.3", "192.168.1.1", "100.64.0.1", "fd00::1"):
            assert upd(up, "hostname=%s&myip=%s" % (H, ip), (H, TOK)).body == "good %s\n" % ip
        assert upd(up, "hostname=" + H, (H, TOK)).body == "dnserr\n"  # own address 127.0.0.1
    with Updater(store, tmp_path, args=["--allow-loopback"], rate=False) as up:
        assert upd(up, "hostname=" + H, (H, TOK)).body == "good 127.0.0.1\n"
        assert upd(up, "hostname=%s&myip=::1" % H, (H, TOK)).body == "good ::1\n"
        assert upd(up, "hostname=%s&myip=169.254.0.1" % H, (H, TOK)).body == "dnserr\n"
    env = {"KYEDNS_ALLOW_LOOPBACK": "1"}
    with Updater(store, tmp_path, env=env, rate=False) as up:
        assert upd(up, "hostname=%s&myip=127.0.0.2" % H, (H, TOK)).body == "good 127.0.0.2\n"


# ---- 9: 404/405/400 and the log ----

def test_not_found_and_bad_method_are_rate_limited(tmp_path, store, ctl):
    """Item 9: 404 and 405 answers take tokens too; refused requests are
    not logged line by line (one summary line instead)."""
    populate(ctl)
    with Updater(store, tmp_path, args=["--rate-limit", "0.01", "--rate-burst", "5"]) as up:
        s = socket.create_connection(("127.0.0.1", up.port), timeout=10)
        s.sendall(b"".join(b"GET /nope%d HTTP/1.1\r\nHost: t\r\n\r\n" % i for i in range(10)))
        assert [x.status for x in read_responses(s, 10)] == [404] * 5 + [429] * 5
        r = curl(up.url("/nic/update"), method="POST")
        assert r.status == 429 and r.header("retry-after")
        text = up.wait_log(r"rate limit: \d+ requests refused and not logged")
        assert len(re.findall(r" msg=access .* status=404 ", text)) == 5
        assert len(re.findall(r" msg=access .* status=429 ", text)) == 0


def test_log_volume_of_a_flood_is_bounded(tmp_path, store, ctl):
    """Item 9: 4.2 MB of junk requests (URLs of backslashes, which the log
    escapes 4 to 1) must not become more log than a small fraction of it:
    URLs are cut in the log, and rate-limited requests are not logged."""
    populate(ctl)
    with Updater(store, tmp_path) as up:
        req = b"GET /x?" + b"\\" * 2040 + b" HTTP/1.1\r\nHost: t\r\nUser-Agent: " + \
            b"\\" * 200 + b"\r\n\r\n"
        n = 4_200_000 // len(req)
        s = socket.create_connection(("127.0.0.1", up.port), timeout=30)
        threading.Thread(target=lambda: s.sendall(req * n), daemon=True).start()
        r = read_responses(s, n, timeout=30)
        assert len(r) == n and {x.status for x in r} <= {404, 429}
        up.stop()
        size = os.path.getsize(up.log)
        assert size < 4_200_000 // 20, "%d log bytes for %d request bytes" % (size, n * len(req))
        line = next(l for l in up.log_text().splitlines() if " msg=access " in l)
        assert len(line) < 600 and "..." in line


# ---- 11: core dumps ----

def _sanitized():
    out = subprocess.run(["ldd", binary("kyedns-updater")], capture_output=True, text=True).stdout
    return "libasan" in out


@pytest.mark.skipif(_sanitized(), reason="ASan turns core dumps off by itself: nothing to see")
def test_secrets_stay_out_of_core_dumps(tmp_path, store, ctl):
    """Item 11: after an update, a crash leaves no core holding the pdns
    API key or a token (the updater makes itself non-dumpable)."""
    populate(ctl)
    key = "api-key-CORE-0123456789-secret"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    port = free_port(udp_too=False)

    def unlimited_core():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
    env["KYEDNS_PDNS_API_KEY"] = key
    log = open(str(tmp_path / "up.log"), "wb")
    p = subprocess.Popen([binary("kyedns-updater"), "--db", store, "--listen",
                          "127.0.0.1:%d" % port, "--pdns-api", "http://127.0.0.1:9"],
                         cwd=str(workdir), env=env, stdout=log, stderr=log,
                         preexec_fn=unlimited_core)
    try:
        def ready():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return p.poll() is not None
        wait_for(ready)
        r = curl("http://127.0.0.1:%d/nic/update?hostname=%s&myip=192.0.2.77" % (port, H),
                 user=(H, TOK))
        assert r.body == "good 192.0.2.77\n"
        p.send_signal(signal.SIGABRT)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
    assert p.returncode == -signal.SIGABRT
    for name in os.listdir(str(workdir)):
        with open(str(workdir / name), "rb") as f:
            data = f.read()
        assert key.encode() not in data and TOK.encode() not in data, \
            "%s holds a secret" % name


def test_core_dumps_flag_is_accepted(tmp_path, store, ctl):
    """--core-dumps turns them back on, with a warning in the log."""
    populate(ctl)
    with Updater(store, tmp_path, args=["--core-dumps"]) as up:
        up.wait_log(r"warning: core dumps on")


# ---- 13: purge failures ----

class _Pdns(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        self.server.names.append(self.path.split("domain=")[-1])
        body = b'{"count": 1, "result": "Flushed cache."}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_purge_failures_back_off_and_are_summarised(tmp_path, store, ctl):
    """Item 13: while pdns's API is down, purges pause with backoff and the
    log gets a few lines, not one per update; the names are purged once it
    is back."""
    hosts = {"p%d.example.com" % i: "ptoken-%03d-0123456789abcdef" % i for i in range(100)}
    populate(ctl, hosts=hosts)
    api = free_port(udp_too=False)
    with Updater(store, tmp_path, args=["--pdns-api", "http://127.0.0.1:%d" % api,
                                        "--pdns-api-key", "k"], rate=False) as up:
        for h, t in hosts.items():
            assert upd(up, "hostname=%s&myip=192.0.2.9" % h, (h, t)).body == "good 192.0.2.9\n"
        wait_for(lambda: metric(up, 'kyedns_purge_total{result="failed"}'), what="a failed purge")
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", api), _Pdns)
        srv.names = []
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            wait_for(lambda: len(set(srv.names)) == 100, timeout=30,
                     what="every name purged once pdns is back")
            text = up.wait_log(r"purging from pdns caches works again")
        finally:
            srv.shutdown()
            srv.server_close()
    lines = [l for l in text.splitlines() if "cannot purge" in l]
    assert 1 <= len(lines) <= 5, lines
    assert set(srv.names) == {h + "." for h in hosts}


# ---- 20: a host deleted while its update waits for the writer ----

def test_host_deleted_while_update_waits_for_writer_gets_nohost(tmp_path, store, ctl):
    """Item 20: the update passed the loop's checks and went to the writer;
    the host is deleted before the writer's transaction: nohost, and
    nothing is written back."""
    populate(ctl)
    with Updater(store, tmp_path, rate=False) as up:
        assert upd(up, "hostname=%s&myip=192.0.2.1" % H, (H, TOK)).body == "good 192.0.2.1\n"
        lock = LmdbWriter(store)
        try:
            lock.delete_host(H)
            pending = subprocess.Popen(
                ["curl", "-sS", "--max-time", "20", "-u", "%s:%s" % (H, TOK),
                 up.url("/nic/update?hostname=%s&myip=192.0.2.2" % H)],
                stdout=subprocess.PIPE, text=True)
            wait_for(lambda: metric(up, "kyedns_writer_jobs") == 1,
                     what="the update to wait for the writer")
            lock.commit()
        finally:
            lock.abort()
        assert pending.communicate(timeout=20)[0] == "nohost\n"
    p = ctl.run("host", "show", H, check=False)
    assert p.returncode != 0
