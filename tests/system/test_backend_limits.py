"""kyedns-backend's resource limits (issue 10, item 10) and where the pdns API
key may go (item 16).

Limits: a connection cap (--max-conns), a global budget for request lines
still arriving (--max-buffer-mb), and an idle timeout that applies only
above a connection count (--idle-timeout, --idle-above), because pdns keeps
one idle connection per thread for its lifetime and a primary pdns exits
when its communicator's connection is closed under it.

API key: the backend never gets it (systemd unit, docker entrypoint), and
the placeholder CHANGE-ME is refused by kyedns-updater, the pdns entrypoint
and `make install`, which generates a key instead.
"""
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import time

import pytest

from backend_util import RbClient, start_backend
from conftest import ROOT, Ctl, binary, free_port

MiB = 1 << 20


@pytest.fixture
def store(tmp_path):
    db = str(tmp_path / "db")
    ctl = Ctl(db)
    ctl.run("zone", "add", "lim.test", "--ns", "ns1.lim.test")
    ctl.run("record", "add", "www.lim.test", "A", "192.0.2.1")
    return db


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def connect(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    return s


def answers(s, timeout=3):
    """True when the peer answers an initialize on s."""
    s.settimeout(timeout)
    try:
        s.sendall(b'{"method":"initialize","parameters":{}}\n')
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                return False
            data += chunk
        return json.loads(data)["result"] is True
    except OSError:
        return False


def lookup_ok(sock):
    c = RbClient(sock)
    try:
        r = c.call("lookup", qtype="A", qname="www.lim.test.", **{"zone-id": -1})
        return [row["content"] for row in r["result"]] == ["192.0.2.1"]
    finally:
        c.close()


def send_partial(peers, size):
    """Each peer sends a request line of size bytes without its newline.
    Returns how many the backend closed meanwhile."""
    chunk = b"x" * 65536
    closed = 0
    for s in peers:
        s.setblocking(False)
        left = size
        deadline = time.monotonic() + 10
        while left > 0 and time.monotonic() < deadline:
            try:
                left -= s.send(chunk[:min(left, len(chunk))])
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                closed += 1
                break
    return closed


def sanitized():
    """True when the binaries under test are the ASan build."""
    out = subprocess.run(["ldd", binary("kyedns-backend")], capture_output=True, text=True).stdout
    return "libasan" in out


def test_partial_lines_memory_bounded(tmp_path, store):
    """200 peers each holding a 1 MiB request line without its newline took
    the backend from 3 to 202 MiB; the budget (default 32 MiB) bounds it."""
    sock = str(tmp_path / "b.sock")
    b = start_backend(store, sock, str(tmp_path / "b.log"))
    peers = []
    try:
        before = rss_mib(b.proc.pid)
        peers = [connect(sock) for _ in range(200)]
        closed = send_partial(peers, MiB - 1)
        time.sleep(0.5)
        after = rss_mib(b.proc.pid)
        print("backend RSS with 200 peers of 1 MiB partial lines: %.0f -> %.0f MiB "
              "(%d peers closed)" % (before, after, closed))
        if not sanitized():
            # under ASan, freed buffers sit in its quarantine (about 100 MiB
            # more here): RSS says nothing about the budget there
            assert after - before < 32 + 200 * 0.25 + 16, (before, after)
        assert closed > 0
        # a closed peer got the reason as a reply before the close
        got = b""
        for s in peers:
            s.setblocking(True)
            s.settimeout(0.2)
            try:
                got = s.recv(65536)
            except OSError:
                continue
            if got:
                break
        assert b'"result":false' in got and b"buffer" in got
        # pdns's own traffic still gets through
        assert lookup_ok(sock)
    finally:
        for s in peers:
            s.close()
        assert b.stop() == 0, b.log_text()
    assert "request buffers full" in b.log_text()


def accepted(sock):
    """Server-side connections on the unix socket at path sock, accepted or
    still in the listen queue: they carry the listener's bound name in
    /proc/net/unix (the clients' ends do not).  The backend binds a
    temporary name, sock.PID.tmp, and renames it into place; the listener
    itself is the one with flags 00010000 (__SO_ACCEPTCON)."""
    with open("/proc/net/unix") as f:
        rows = [l.split() for l in f.readlines()[1:]]
    return sum(1 for r in rows if len(r) == 8 and r[3] != "00010000" and
               (r[7] == sock or r[7].startswith(sock + ".")))


def test_connection_cap(tmp_path, store):
    """KYEDNS_BACKEND_MAX_CONNS: connections over the cap are closed at once;
    the ones inside it keep working and a freed slot is usable again."""
    sock = str(tmp_path / "b.sock")
    b = start_backend(store, sock, str(tmp_path / "b.log"),
                      env={"KYEDNS_BACKEND_MAX_CONNS": "20"})
    conns = []
    # the readiness probe's connection counts until the server has closed it
    deadline = time.monotonic() + 10
    while accepted(sock):
        assert time.monotonic() < deadline, "the readiness probe's connection stays open"
        time.sleep(0.01)
    try:
        conns = [connect(sock) for _ in range(20)]
        assert all(answers(s) for s in conns)
        extra = [connect(sock) for _ in range(5)]
        assert not any(answers(s) for s in extra)
        for s in extra:
            s.close()
        conns.pop().close()
        # the slot is free once the backend has seen the close
        deadline = time.monotonic() + 5
        while True:
            s = connect(sock)
            if answers(s):
                conns.append(s)
                break
            s.close()
            assert time.monotonic() < deadline, "freed slot never usable"
            time.sleep(0.05)
        assert all(answers(s) for s in conns)
    finally:
        for s in conns:
            s.close()
        assert b.stop() == 0, b.log_text()
    assert "refusing connections (20 open" in b.log_text()


def test_connection_cap_figures(tmp_path, store):
    """Before/after figure: 2000 idle peers (default cap 1024)."""
    sock = str(tmp_path / "b.sock")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2200:
        pytest.skip("needs 2200 file descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2200), hard))
    b = start_backend(store, sock, str(tmp_path / "b.log"))
    conns = []
    try:
        conns = [connect(sock) for _ in range(2000)]
        time.sleep(0.5)
        ok = sum(1 for s in conns[-50:] if answers(s, timeout=1))
        print("of the last 50 of 2000 peers, %d answered; RSS %.0f MiB"
              % (ok, rss_mib(b.proc.pid)))
        assert ok == 0
        assert answers(conns[0])
    finally:
        for s in conns:
            s.close()
        assert b.stop() == 0, b.log_text()


def test_idle_close_only_above_threshold(tmp_path, store):
    """Idle connections are closed only while more than --idle-above are
    open, longest-idle first, down to that count; active connections, a
    connection inside a transaction and (at or below the threshold) idle
    ones stay.  A peer that reads no replies counts as idle."""
    sock = str(tmp_path / "b.sock")
    b = start_backend(store, sock, str(tmp_path / "b.log"),
                      env={"KYEDNS_BACKEND_IDLE_TIMEOUT": "1", "KYEDNS_BACKEND_IDLE_ABOVE": "6"})
    conns = []

    def closed_so_far():
        return sum(int(n) for n in re.findall(r"closed (\d+) idle connections", b.log_text()))
    try:
        # a peer that never reads its replies: the backend's write stalls
        stalled = connect(sock)
        conns.append(stalled)
        req = (b'{"method":"lookup","parameters":{"qtype":"ANY","qname":"www.lim.test.",'
               b'"zone-id":-1}}\n')
        stalled.setblocking(False)
        try:
            for _ in range(50000):
                stalled.send(req)
        except BlockingIOError:
            pass
        time.sleep(0.2)
        old_idle = [connect(sock) for _ in range(10)]
        conns += old_idle
        assert all(answers(s) for s in old_idle)
        in_txn = RbClient(sock)
        assert in_txn.call("startTransaction", domain_id=-1, domain="lim.test.",
                           trxid=7)["result"] is True
        active = [RbClient(sock) for _ in range(3)]
        # 15 open, threshold 6: the 9 longest idle go (the stalled peer and
        # old_idle[0..7]); the transaction and the active ones are no
        # candidates
        deadline = time.monotonic() + 15
        while closed_so_far() < 9 and time.monotonic() < deadline:
            for a in active:
                assert a.call("initialize")["result"] is True
            time.sleep(0.3)
        assert closed_so_far() == 9, b.log_text()
        for a in active:
            assert a.call("initialize")["result"] is True
        assert in_txn.call("abortTransaction", trxid=7)["result"] is True
        alive = [old_idle.index(s) for s in old_idle if answers(s, timeout=1)]
        assert alive == [8, 9], b.log_text()
        # 6 open now: at the threshold nothing more is closed
        time.sleep(6)
        assert closed_so_far() == 9
        assert all(answers(s) for s in old_idle[8:])
        for a in active + [in_txn]:
            a.close()
    finally:
        for s in conns:
            s.close()
        assert b.stop() == 0, b.log_text()


def test_limit_flags_refuse_bad_values(tmp_path, store):
    for args in (["--max-conns", "0"], ["--idle-timeout", "x"], ["--idle-above", "-1"],
                 ["--max-buffer-mb", "0"]):
        p = subprocess.run([binary("kyedns-backend"), "--db", store, "--socket",
                            str(tmp_path / "x.sock")] + args, capture_output=True, text=True,
                           timeout=10)
        assert p.returncode == 2 and args[0] in p.stderr, (args, p.stderr)


# ------------------------------------------------------------- the API key

def test_updater_refuses_placeholder_key(tmp_path, store):
    p = subprocess.run([binary("kyedns-updater"), "--db", store, "--listen",
                        "127.0.0.1:%d" % free_port(False), "--pdns-api", "http://127.0.0.1:1",
                        "--pdns-api-key", "CHANGE-ME"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "CHANGE-ME" in p.stderr
    e = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
    e.update(KYEDNS_DB=store, KYEDNS_LISTEN="127.0.0.1:%d" % free_port(False),
             KYEDNS_PDNS_API="http://127.0.0.1:1", KYEDNS_PDNS_API_KEY="CHANGE-ME")
    p = subprocess.run([binary("kyedns-updater")], capture_output=True, text=True, timeout=10,
                       env=e)
    assert p.returncode == 2 and "CHANGE-ME" in p.stderr


def test_shipped_api_conf_has_no_live_placeholder():
    text = open(os.path.join(ROOT, "pdns-conf", "production", "kyedns-api.conf")).read()
    live = [ln for ln in text.splitlines() if ln.startswith("api-key")]
    assert live == ["api-key="]   # empty: pdns refuses every API request


def test_backend_unit_gets_no_api_key():
    unit = open(os.path.join(ROOT, "systemd", "kyedns-backend.service")).read()
    lines = unit.splitlines()
    env_file = lines.index("EnvironmentFile=-/etc/default/kyedns")
    assert "UnsetEnvironment=KYEDNS_PDNS_API_KEY" in lines[env_file:]
    assert any(ln.startswith("InaccessiblePaths=") and "/etc/powerdns" in ln for ln in lines)
    if shutil.which("systemd-analyze"):
        p = subprocess.run(["systemd-analyze", "verify",
                            os.path.join(ROOT, "systemd", "kyedns-backend.service")],
                           capture_output=True, text=True, timeout=60)
        bad = [ln for ln in p.stderr.splitlines()
               if "Unknown key" in ln or "UnsetEnvironment" in ln or "InaccessiblePaths" in ln]
        assert bad == []


def test_docker_backend_entrypoint_drops_api_key(tmp_path, store):
    """An env file shared with the updater (KYEDNS_ENV_FILE) must not hand
    the key to the backend."""
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "kyedns-backend").write_text("#!/bin/sh\nenv > \"$DUMP\"\n")
    (shim / "kyedns-backend").chmod(0o755)
    (shim / "kyednsctl").write_text("#!/bin/sh\nexit 0\n")
    (shim / "kyednsctl").chmod(0o755)
    envf = tmp_path / "kyedns.env"
    envf.write_text("KYEDNS_PDNS_API_KEY=s3cret-key-0123456789\n")
    dump = tmp_path / "env.txt"
    e = {"PATH": "%s:/usr/bin:/bin" % shim, "KYEDNS_ENV_FILE": str(envf), "DUMP": str(dump),
         "KYEDNS_DB": store, "KYEDNS_SOCKET": str(tmp_path / "s" / "b.sock"),
         "KYEDNS_WAIT_SECONDS": "0"}
    p = subprocess.run(["sh", os.path.join(ROOT, "docker", "entrypoint-backend.sh")], env=e,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    text = dump.read_text()
    assert "KYEDNS_DB=" in text and "s3cret" not in text


def test_docker_pdns_entrypoint_refuses_placeholder(tmp_path):
    e = {"PATH": "/usr/bin:/bin", "PDNS_API_KEY": "CHANGE-ME",
         "PDNS_CONFIG_DIR": str(tmp_path / "conf"), "PDNS_SERVER": "/bin/true",
         "KYEDNS_SOCKET": str(tmp_path / "none.sock"), "KYEDNS_WAIT_SECONDS": "0"}
    p = subprocess.run(["sh", os.path.join(ROOT, "docker", "entrypoint-pdns.sh")], env=e,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "CHANGE-ME" in p.stderr
    assert not os.path.exists(str(tmp_path / "conf" / "pdns.conf"))


def _install(dest, *extra):
    cmd = ["make", "-s", "-C", ROOT, "-o", "all", "install", "DESTDIR=" + dest, "PREFIX=/usr"]
    build = os.environ.get("KYEDNS_BUILD")
    if build:
        cmd.append("B=" + build)
    e = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
    return subprocess.run(cmd + list(extra), capture_output=True, text=True, timeout=300, env=e)


def test_make_install_generates_key_and_refuses_placeholder(tmp_path):
    dest = str(tmp_path / "stage")
    r = _install(dest, "GENERATE_API_KEY=yes")
    assert r.returncode == 0, r.stdout + r.stderr
    api = dest + "/etc/powerdns/pdns.d/kyedns-api.conf"
    dflt = dest + "/etc/default/kyedns"
    key = [ln for ln in open(api).read().splitlines() if ln.startswith("api-key=")]
    assert len(key) == 1 and len(key[0]) == len("api-key=") + 48
    k = key[0][len("api-key="):]
    assert "KYEDNS_PDNS_API_KEY=%s\n" % k in open(dflt).read()
    assert os.stat(api).st_mode & 0o777 == 0o640 and os.stat(dflt).st_mode & 0o777 == 0o600
    # a second staging gets a different key
    r = _install(str(tmp_path / "stage2"), "GENERATE_API_KEY=yes")
    assert r.returncode == 0 and k not in open(str(tmp_path / "stage2") + api[len(dest):]).read()
    # staged for a package (the default with DESTDIR): no key baked in
    r = _install(str(tmp_path / "stage3"))
    assert r.returncode == 0
    assert "\napi-key=\n" in open(str(tmp_path / "stage3") + api[len(dest):]).read()
    # an existing configuration with the placeholder is refused
    text = open(api).read().replace("api-key=" + k, "api-key=CHANGE-ME")
    open(api, "w").write(text)
    r = _install(dest)
    assert r.returncode != 0 and "CHANGE-ME" in r.stderr


def test_make_install_reuses_the_existing_pdns_key(tmp_path):
    """An existing kyedns-api.conf keeps its key and a new /etc/default/kyedns
    gets that same key, not a fresh one the pdns side never heard of."""
    dest = str(tmp_path / "stage")
    api = dest + "/etc/powerdns/pdns.d/kyedns-api.conf"
    os.makedirs(os.path.dirname(api))
    with open(api, "w") as f:
        f.write("api=yes\napi-key=s3cretExisting0123456789\n")
    r = _install(dest, "GENERATE_API_KEY=yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "api-key=s3cretExisting0123456789\n" in open(api).read()
    assert "KYEDNS_PDNS_API_KEY=s3cretExisting0123456789\n" in open(dest + "/etc/default/kyedns").read()


# ------------------------------------------------------------- core dumps

def _abort_backend_holding_secret(tmp_path, store, extra):
    """Starts the backend in its own cwd with unlimited cores, makes it hold
    a TSIG secret (setTSIGKey, getTSIGKey), aborts it; returns the secret
    and the contents of the files it left in that cwd."""
    secret = "c2VjcmV0LWNvcmUtdGVzdC0wMTIzNDU2Nzg5YWJjZGVm"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    sock = str(tmp_path / "core.sock")

    def unlimited_core():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
    log = open(str(tmp_path / "core.log"), "wb")
    p = subprocess.Popen([binary("kyedns-backend"), "--db", store, "--socket", sock] + extra,
                         cwd=str(workdir), env=env, stdout=log, stderr=log,
                         preexec_fn=unlimited_core)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.02)
        c = RbClient(sock)
        assert c.call("setTSIGKey", name="core.", algorithm="hmac-sha256.",
                      content=secret)["result"] is True
        assert c.call("getTSIGKey", name="core.")["result"]["content"] == secret
        c.close()
        p.send_signal(signal.SIGABRT)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
    assert p.returncode == -signal.SIGABRT
    files = {}
    for name in os.listdir(str(workdir)):
        with open(str(workdir / name), "rb") as f:
            files[name] = f.read()
    return secret, files


def test_backend_secrets_stay_out_of_core_dumps(tmp_path, store):
    """TSIG secrets and DNSSEC keys pass through the backend: it is not
    dumpable, so a crash leaves no core holding them."""
    secret, files = _abort_backend_holding_secret(tmp_path, store, [])
    for name, data in files.items():
        assert secret.encode() not in data, "%s holds the TSIG secret" % name


@pytest.mark.skipif(sanitized(), reason="ASan turns core dumps off by itself")
def test_backend_core_dumps_flag(tmp_path, store):
    """--core-dumps turns cores back on; the core then holds the secret,
    which is what the test above would see without the protection (when
    this kernel writes cores into the process's directory)."""
    with open("/proc/sys/kernel/core_pattern") as f:
        if not f.read().startswith("core"):
            pytest.skip("cores do not go to the working directory here")
    secret, files = _abort_backend_holding_secret(tmp_path, store, ["--core-dumps"])
    assert any(secret.encode() in data for data in files.values()), sorted(files)
