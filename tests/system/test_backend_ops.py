"""kyedns-backend as an operator meets it: the command line, log lines,
systemd readiness (a real $NOTIFY_SOCKET), socket activation ($LISTEN_FDS,
served to a real pdns_server), SIGHUP reopening the log file, the
Prometheus metrics through pdnsutil (checked by promtool) and the units.

systemd is not PID 1 here, so its side is played by the test: it binds
the notify socket and the listening socket itself, exactly as systemd
would hand them over.
"""
import configparser
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from backend_util import RbClient, start_backend, start_pdns, start_stack
from conftest import ROOT, binary

PLAIN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                   r"(error|warning|notice|info|debug) kyedns-backend\[\d+\]: \S")
LOOKUP = {"qtype": "A", "qname": "www.example.com.", "zone-id": -1}
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def fill(ctl):
    ctl.run("zone", "add", "example.com", "--ns", "ns1.example.com", "--kind", "master")
    ctl.run("record", "add", "www.example.com", "A", "192.0.2.1")


def clean_env(**extra):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("KYEDNS_", "NOTIFY_SOCKET", "LISTEN_", "JOURNAL_STREAM"))}
    e.update(extra)
    return e


def run(*args, env=None):
    return subprocess.run([binary("kyedns-backend")] + list(args), capture_output=True,
                          text=True, timeout=20, env=env or clean_env())


def www(reply):
    return [r["content"] for r in reply["result"]]


def wait_for(pred, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s" % what)


# ------------------------------------------------------------ command line

def test_cli_convention(tmp_path, ctl, store):
    for h in ("-h", "--help"):
        p = run(h)
        assert p.returncode == 0 and p.stderr == ""
        for flag in ("--db=DIR", "--socket=PATH", "--log-level=LEVEL", "--log-file=FILE",
                     "--max-conns=N", "--idle-above=N"):
            assert flag in p.stdout, flag
        # env names: the rule, and the two shared with the updater's flags
        for env in ("KYEDNS_DB", "KYEDNS_SOCKET_GROUP", "KYEDNS_TXN_TIMEOUT", "KYEDNS_IDLE_ABOVE",
                    "KYEDNS_MAX_BUFFER_MB", "KYEDNS_BACKEND_MAX_CONNS",
                    "KYEDNS_BACKEND_IDLE_TIMEOUT", "[default: info"):
            assert env in p.stdout, env
    p = run("--version")
    assert p.returncode == 0 and re.fullmatch(r"kyedns-backend \d+\.\d+\.\d+\S*\n", p.stdout)
    man = run("--help-man")
    assert man.returncode == 0 and man.stdout.startswith(".\\\"") and ".SH SYNOPSIS" in man.stdout
    for args, want in ((["--bogus"], "kyedns-backend: unknown "),
                       (["--txn-timeout=0"], "kyedns-backend: --txn-timeout: '0' is not a number"),
                       (["--log-level", "loud"], "kyedns-backend: --log-level: 'loud'"),
                       (["extra"], "kyedns-backend: unexpected argument 'extra'")):
        p = run(*args)
        assert p.returncode == 2 and p.stderr.startswith(want), (args, p.stderr)
        assert args[0].split("=")[0] in p.stderr.splitlines()[0]
        assert "Try 'kyedns-backend --help'." in p.stderr
    p = run(env=clean_env(KYEDNS_BACKEND_MAX_CONNS="lots"))
    assert p.returncode == 2 and p.stderr.startswith("kyedns-backend: KYEDNS_BACKEND_MAX_CONNS:")
    # a deprecated name is reported under the name the user wrote
    p = run(env=clean_env(KYEDNS_BACKEND_IDLE_ABOVE="0"))
    assert p.returncode == 2 and p.stderr.startswith("kyedns-backend: KYEDNS_BACKEND_IDLE_ABOVE:")


def test_deprecated_env_names_still_work(tmp_path, ctl, store):
    fill(ctl)
    sock = str(tmp_path / "d.sock")
    b = start_backend(store, sock, str(tmp_path / "d.log"), env={
        "KYEDNS_BACKEND_IDLE_ABOVE": "1", "KYEDNS_BACKEND_IDLE_TIMEOUT": "1",
        "KYEDNS_BACKEND_MAX_BUFFER_MB": "7"})
    try:
        log = b.log_text()
        assert "KYEDNS_BACKEND_IDLE_ABOVE is deprecated; use KYEDNS_IDLE_ABOVE" in log
        assert "KYEDNS_BACKEND_MAX_BUFFER_MB is deprecated; use KYEDNS_MAX_BUFFER_MB" in log
        assert "IDLE_TIMEOUT is deprecated" not in log  # still the current name
        # --idle-above 1 from the old name: of two idle connections, one goes
        a, c = RbClient(sock), RbClient(sock)
        a.call("initialize")
        c.call("initialize")
        wait_for(lambda: "closed 1 idle connections" in b.log_text(), 15, "idle close")
        a.close()
        c.close()
    finally:
        assert b.stop() == 0


# ------------------------------------------------------------ log lines

def test_log_line_shapes_and_levels(tmp_path, ctl, store):
    fill(ctl)
    sock = str(tmp_path / "l.sock")
    b = start_backend(store, sock, str(tmp_path / "plain.log"))
    c = RbClient(sock)
    c.send_raw(b"not json\n")
    assert c.read_line().startswith(b'{"result":false')
    c.close()
    assert b.stop() == 0
    lines = b.log_text().splitlines()
    assert lines and all(PLAIN.match(ln) for ln in lines), lines
    assert any(re.search(r" notice kyedns-backend\[\d+\]: listening on ", ln) for ln in lines)
    assert any(re.search(r" warning kyedns-backend\[\d+\]: bad request \(invalid json", ln)
               for ln in lines)
    assert any(ln.endswith("notice kyedns-backend[%d]: stopping (sigterm)" % b.proc.pid)
               for ln in lines)

    # journald's shape: the sd-daemon priority prefix, nothing else
    b = start_backend(store, sock, str(tmp_path / "journal.log"),
                      env={"KYEDNS_LOG_FORMAT": "journal"})
    c = RbClient(sock)
    c.send_raw(b"not json\n")
    c.read_line()
    c.close()
    assert b.stop() == 0
    lines = b.log_text().splitlines()
    assert lines[0].startswith("<5>listening on %s" % sock), lines
    assert "<4>bad request (invalid json" in "\n".join(lines)
    assert lines[-1] == "<5>stopped"
    assert all(re.match(r"<[0-7]>\S", ln) for ln in lines), lines

    # --log-level=warning drops the lifecycle lines, keeps the warnings
    b = start_backend(store, sock, str(tmp_path / "quiet.log"), ["--log-level=warning"])
    c = RbClient(sock)
    c.send_raw(b"not json\n")
    c.read_line()
    c.close()
    assert b.stop() == 0
    text = b.log_text()
    assert "bad request" in text and "listening" not in text and "stopping" not in text


def test_sighup_reopens_log_file(tmp_path, ctl, store):
    fill(ctl)
    sock = str(tmp_path / "h.sock")
    logfile = tmp_path / "backend.log"
    b = start_backend(store, sock, str(tmp_path / "stderr.log"), ["--log-file", str(logfile)])
    try:
        assert "listening on" in logfile.read_text()
        os.rename(str(logfile), str(tmp_path / "backend.log.1"))   # logrotate
        b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: logfile.exists() and "reopened log file" in logfile.read_text(),
                 10, "reopened log")
        c = RbClient(sock)
        c.send_raw(b"not json\n")
        c.read_line()
        assert www(c.call("lookup", **LOOKUP)) == ["192.0.2.1"]   # still serving
        c.close()
        new = logfile.read_text()
        assert "bad request" in new and "listening on" not in new
        assert "bad request" not in (tmp_path / "backend.log.1").read_text()
        assert all(PLAIN.match(ln) for ln in new.splitlines()), new
        # an unwritable log file keeps the old one
        os.rename(str(logfile), str(tmp_path / "backend.log.2"))
        os.mkdir(str(logfile))   # a directory cannot be opened for appending
        b.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "cannot reopen log file" in (tmp_path / "backend.log.2").read_text(),
                 10, "reopen failure")
        assert b.proc.poll() is None
    finally:
        assert b.stop() == 0
    assert "stopped" in (tmp_path / "backend.log.2").read_text()
    assert (tmp_path / "stderr.log").read_text() == ""

    # SIGHUP with the log on stderr: nothing to reopen, nothing dies
    b = start_backend(store, sock, str(tmp_path / "s2.log"))
    try:
        b.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        assert b.proc.poll() is None
        c = RbClient(sock)
        assert www(c.call("lookup", **LOOKUP)) == ["192.0.2.1"]
        c.close()
    finally:
        assert b.stop() == 0


def test_log_file_that_cannot_be_opened(tmp_path, store):
    p = run("--db", store, "--socket", str(tmp_path / "x.sock"),
            "--log-file", str(tmp_path / "no" / "such" / "dir.log"))
    assert p.returncode == 1
    assert "cannot open log file %s" % (tmp_path / "no" / "such" / "dir.log") in p.stderr


# ------------------------------------------------------------ sd_notify

def notify_socket(tmp_path, name="notify"):
    path = str(tmp_path / name)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(10)
    return s, path


def can_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_sd_notify_ready_and_stopping(tmp_path, ctl, store):
    fill(ctl)
    ns, npath = notify_socket(tmp_path)
    sock = str(tmp_path / "n.sock")
    log = open(str(tmp_path / "n.log"), "wb")
    p = subprocess.Popen([binary("kyedns-backend"), "--db", store, "--socket", sock],
                         stdout=log, stderr=log, env=clean_env(NOTIFY_SOCKET=npath))
    try:
        msg = ns.recv(4096).decode()
        # READY=1 arrives only once the socket accepts connections
        assert can_connect(sock), "READY=1 before the socket accepts"
        fields = dict(ln.split("=", 1) for ln in msg.split("\n") if ln)
        assert fields["READY"] == "1" and fields["MAINPID"] == str(p.pid), msg
        assert fields["STATUS"] == "serving %s" % sock
        c = RbClient(sock)
        assert www(c.call("lookup", **LOOKUP)) == ["192.0.2.1"]
        c.close()
        p.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in ns.recv(4096).decode()
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
        ns.close()

    # a backend that cannot start never reports ready
    ns, npath = notify_socket(tmp_path, "notify2")
    ns.settimeout(0.5)
    r = subprocess.run([binary("kyedns-backend"), "--db", str(tmp_path / "missing"), "--socket",
                        sock], capture_output=True, text=True, timeout=10,
                       env=clean_env(NOTIFY_SOCKET=npath))
    assert r.returncode == 1
    with pytest.raises(socket.timeout):
        ns.recv(4096)
    ns.close()


# ------------------------------------------------------------ socket activation

class Activated:
    """kyedns-backend started the way systemd starts it for a .socket unit:
    the listening socket as fd 3, LISTEN_FDS=1, LISTEN_PID its own pid (set
    by the shell that then execs it, so the pid stays the same)."""

    def __init__(self, lsock, args, log, env=None):
        fd = lsock.fileno()
        self.log = log
        self._logf = open(log, "ab")
        self.proc = subprocess.Popen(
            ["sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"', binary("kyedns-backend")] + list(args),
            stdout=self._logf, stderr=self._logf, close_fds=False,
            preexec_fn=lambda: os.dup2(fd, 3) if fd != 3 else os.set_inheritable(3, True),
            env=clean_env(LISTEN_FDS="1", **(env or {})))

    def wait_logged(self, text, timeout=10):
        wait_for(lambda: text in self.text() or self.proc.poll() is not None, timeout, text)
        assert text in self.text(), self.text()

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._logf.close()
        return self.proc.returncode


def listening_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o660)
    s.listen(128)
    s.set_inheritable(False)
    return s


def test_socket_activation_serves_pdns_and_survives_restart(tmp_path, ctl, store):
    fill(ctl)
    path = str(tmp_path / "act.sock")
    lsock = listening_socket(path)
    ino = os.stat(path).st_ino
    args = ["--db", store, "--socket", path]
    b = Activated(lsock, args, str(tmp_path / "a1.log"))
    pdns = None
    try:
        b.wait_logged("listening on %s (passed by systemd)" % path)
        assert "replaced stale socket" not in b.text()
        pdns = start_pdns(tmp_path, path, {"cache-ttl": 0, "query-cache-ttl": 0,
                                           "negquery-cache-ttl": 0})
        r = pdns.query("www.example.com.")
        assert [rr.to_text() for rr in r.answer[0]] == ["192.0.2.1"]

        # restart: connections made while no backend runs wait in the
        # socket's queue and are answered by the next one
        assert b.stop() == 0
        assert os.path.exists(path) and os.stat(path).st_ino == ino, "systemd's socket kept"
        waiting = []
        for _ in range(5):
            c = RbClient(path, timeout=20)
            c.send_raw((json.dumps({"method": "lookup", "parameters": LOOKUP}) + "\n").encode())
            waiting.append(c)
        b = Activated(lsock, args, str(tmp_path / "a2.log"))
        for c in waiting:
            assert www(json.loads(c.read_line())) == ["192.0.2.1"]
            c.close()
        b.wait_logged("listening on")
        # pdns reconnects to the same socket and answers again
        deadline = time.monotonic() + 10
        while True:
            r = pdns.query("www.example.com.")
            if r.rcode() == 0 and r.answer:
                break
            assert time.monotonic() < deadline, "pdns did not recover"
        assert [rr.to_text() for rr in r.answer[0]] == ["192.0.2.1"]
        assert pdns.proc.poll() is None
    finally:
        if pdns:
            pdns.stop()
        assert b.stop() == 0, b.text()
        lsock.close()
    assert "stopping (sigterm)" in b.text()


def test_socket_activation_refuses_wrong_sockets(tmp_path, ctl, store):
    fill(ctl)
    # a datagram socket is no listening stream socket
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    d.bind(str(tmp_path / "dgram.sock"))
    b = Activated(d, ["--db", store, "--socket", str(tmp_path / "x.sock")],
                  str(tmp_path / "w1.log"))
    assert b.proc.wait(10) == 1
    b.stop()
    assert "cannot use the socket systemd passed (fd 3: not a listening unix stream socket)" \
        in b.text()
    assert not os.path.exists(str(tmp_path / "x.sock"))
    d.close()

    # a socket at another path than --socket: served, with a warning
    lsock = listening_socket(str(tmp_path / "real.sock"))
    b = Activated(lsock, ["--db", store, "--socket", str(tmp_path / "other.sock")],
                  str(tmp_path / "w2.log"))
    try:
        b.wait_logged("listening on")
        assert ("the socket systemd passed is %s, not --socket %s" %
                (tmp_path / "real.sock", tmp_path / "other.sock")) in b.text()
        c = RbClient(str(tmp_path / "real.sock"))
        assert www(c.call("lookup", **LOOKUP)) == ["192.0.2.1"]
        c.close()
        assert not os.path.exists(str(tmp_path / "other.sock"))
    finally:
        assert b.stop() == 0
        lsock.close()

    # LISTEN_PID of another process: the fds are not ours, bind --socket
    sock = str(tmp_path / "own.sock")
    b = start_backend(store, sock, str(tmp_path / "w3.log"),
                      env={"LISTEN_FDS": "1", "LISTEN_PID": "1"})
    try:
        assert "passed by systemd" not in b.log_text()
        c = RbClient(sock)
        assert www(c.call("lookup", **LOOKUP)) == ["192.0.2.1"]
        c.close()
    finally:
        assert b.stop() == 0


# ------------------------------------------------------------ metrics

def promtool_check(text):
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).strip()


def samples(text):
    out = {}
    for ln in text.splitlines():
        if ln and not ln.startswith("#"):
            name, value = ln.rsplit(" ", 1)
            out[name] = float(value)
    return out


METHODS = ["initialize", "lookup", "getAllDomains", "getDomainInfo", "getAllDomainMetadata",
           "getDomainMetadata", "list", "getUpdatedMasters", "setNotified", "directBackendCmd",
           "getUnfreshSlaveInfos", "setFresh", "setStale", "setDomainMetadata", "getTSIGKey",
           "getTSIGKeys", "setTSIGKey", "deleteTSIGKey", "searchRecords", "superMasterBackend",
           "createSlaveDomain", "getDomainKeys", "startTransaction", "commitTransaction",
           "abortTransaction", "replaceRRSet", "feedRecord", "feedEnts", "feedEnts3",
           "addDomainKey", "removeDomainKey", "activateDomainKey", "deactivateDomainKey",
           "publishDomainKey", "unpublishDomainKey", "getBeforeAndAfterNamesAbsolute",
           "unknown", "invalid"]


@pytest.mark.skipif(not os.access(PROMTOOL, os.X_OK), reason="promtool not installed")
def test_metrics_through_pdnsutil_pass_promtool(tmp_path, ctl, store):
    fill(ctl)
    stack = start_stack(tmp_path, store, {"cache-ttl": 0, "query-cache-ttl": 0,
                                          "negquery-cache-ttl": 0})
    try:
        for _ in range(40):
            stack.query("www.example.com.")
        stack.query("example.com.", "SOA", tcp=True)
        text = stack.pdnsutil("backend-cmd", "remote", "metrics")
        assert text.endswith("\n")
        rc, msg = promtool_check(text)
        assert rc == 0 and msg == "", msg
        s = samples(text)
        assert s["kyedns_backend_up"] == 1
        assert abs(s["kyedns_backend_start_time_seconds"] - time.time()) < 120
        # every method, zeros present, errors and histograms too
        for m in METHODS:
            lab = '{method="%s"}' % m
            assert "kyedns_backend_requests_total" + lab in s, m
            assert "kyedns_backend_request_errors_total" + lab in s, m
            assert "kyedns_backend_request_duration_seconds_count" + lab in s, m
            assert "kyedns_backend_request_duration_seconds_sum" + lab in s, m
            assert 'kyedns_backend_request_duration_seconds_bucket{method="%s",le="+Inf"}' % m in s
        assert s['kyedns_backend_requests_total{method="lookup"}'] >= 40
        assert s['kyedns_backend_requests_total{method="setStale"}'] == 0
        # lookups are timed one in 16; the rest all
        timed = s['kyedns_backend_request_duration_seconds_count{method="lookup"}']
        assert 1 <= timed <= s['kyedns_backend_requests_total{method="lookup"}'] / 8
        inf = s['kyedns_backend_request_duration_seconds_bucket{method="lookup",le="+Inf"}']
        assert inf == timed
        # cumulative buckets, seconds
        les = [(float(m.group(1)), v) for k, v in s.items()
               for m in [re.match(r'kyedns_backend_request_duration_seconds_bucket\{method="lookup",'
                                  r'le="([^"+]+)"\}', k)] if m]
        les.sort()
        assert les[0][0] == 1e-05 and les[-1][0] == 10
        assert all(a[1] <= b[1] for a, b in zip(les, les[1:])) and les[-1][1] <= inf
        assert 0 < s['kyedns_backend_request_duration_seconds_sum{method="lookup"}'] < timed
        assert s["kyedns_backend_connections_open"] >= 1
        assert s["kyedns_backend_store_zones"] == 1
        assert not any(k.split("{")[0].endswith("_count") and "duration" not in k for k in s)
        # the human text is still there
        stats = stack.pdnsutil("backend-cmd", "remote", "stats")
        assert "lookup_count" in stats and "store_zones 1" in stats
        help_ = stack.pdnsutil("backend-cmd", "remote", "help")
        assert "metrics" in help_

        # the exporter script passes it through, atomically into a file
        script = os.path.join(ROOT, "monitoring", "kyedns-backend-stats.sh")
        env = clean_env(PDNS_CONFIG_DIR=stack.pdns.dir)
        r = subprocess.run([script], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "kyedns_backend_up 1\n" in r.stdout
        assert promtool_check(r.stdout) == (0, "")
        out = str(tmp_path / "textfile" / "kyedns-backend.prom")
        os.mkdir(os.path.dirname(out))
        subprocess.run([script, out], env=env, check=True, timeout=60)
        assert promtool_check(open(out).read()) == (0, "")
        assert os.listdir(os.path.dirname(out)) == ["kyedns-backend.prom"]
        assert os.stat(out).st_mode & 0o777 == 0o644

        # every backend metric the dashboard queries exists in the real output
        dash = json.load(open(os.path.join(ROOT, "monitoring", "grafana-dashboard.json")))
        used = set()
        for panel in dash["panels"]:
            for target in panel.get("targets", []):
                used |= set(re.findall(r"\b(kyedns_backend_[a-zA-Z0-9_]+)", target["expr"]))
        for var in dash["templating"]["list"]:
            used |= set(re.findall(r"\b(kyedns_backend_[a-zA-Z0-9_]+)",
                                   json.dumps(var.get("query", ""))))
        have = {k.split("{")[0] for k in s}
        assert used and sorted(used - have) == [], "dashboard uses missing metrics"
        # the dashboard's per-method selectors name real methods
        for m in re.findall(r'kyedns_backend_\w+\{[^}]*method="(\w+)"', json.dumps(dash)):
            assert m in METHODS, m
    finally:
        rc = stack.stop()
    assert rc == 0

    # backend gone: the script says so, still in valid form
    r = subprocess.run([script], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert r.stdout.splitlines()[-1] == "kyedns_backend_up 0"
    assert promtool_check(r.stdout) == (0, "")


# ------------------------------------------------------------ units

def _unit(name):
    cp = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    cp.optionxform = str
    cp.read_string(open(os.path.join(ROOT, "systemd", name)).read())
    return cp


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_units_verify_and_order_pdns_after_the_socket(tmp_path):
    units = tmp_path / "units"
    (units / "pdns.service.d").mkdir(parents=True)
    for u in ("kyedns-backend.service", "kyedns-backend.socket"):
        text = open(os.path.join(ROOT, "systemd", u)).read()
        (units / u).write_text(text.replace("/usr/local/bin/kyedns-backend",
                                            binary("kyedns-backend")))
    # a stand-in for Debian's pdns.service, with our drop-in beside it
    (units / "pdns.service").write_text("[Unit]\nDescription=pdns stand-in\n"
                                        "[Service]\nExecStart=/bin/true\n")
    shutil.copy(os.path.join(ROOT, "systemd", "pdns.service.d", "kyedns.conf"),
                str(units / "pdns.service.d" / "kyedns.conf"))
    r = subprocess.run(["systemd-analyze", "verify", str(units / "kyedns-backend.service"),
                        str(units / "kyedns-backend.socket"), str(units / "pdns.service")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                        str(units / "kyedns-backend.service")], capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
    assert m and float(m.group(1)) <= 1.0, r.stdout + r.stderr

    svc, sck = _unit("kyedns-backend.service"), _unit("kyedns-backend.socket")
    assert svc["Service"]["Type"] == "notify"
    assert svc["Service"]["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert "kyedns-backend.socket" in svc["Unit"]["After"].split()
    assert svc["Service"]["PrivateNetwork"] == "yes"           # AF_UNIX needs no network
    assert svc["Service"]["RestrictAddressFamilies"] == "AF_UNIX"
    s = sck["Socket"]
    assert (s["ListenStream"], s["SocketUser"], s["SocketGroup"], s["SocketMode"]) == \
        ("/run/kyedns/backend.sock", "kyedns", "pdns", "0660")
    assert "pdns.service" in sck["Unit"]["Before"].split()
    # the three places that name the socket agree
    env = dict(v.split("=", 1) for v in re.findall(
        r"^Environment=(.*)$", open(os.path.join(ROOT, "systemd", "kyedns-backend.service")).read(),
        re.M))
    assert env["KYEDNS_SOCKET"] == s["ListenStream"]
    conf = open(os.path.join(ROOT, "pdns-conf", "production", "00-kyedns.conf")).read()
    assert "unix:path=%s" % s["ListenStream"] in conf
    drop = _unit(os.path.join("pdns.service.d", "kyedns.conf"))
    for key in ("Wants", "After"):
        assert "kyedns-backend.socket" in drop["Unit"][key].split(), key
