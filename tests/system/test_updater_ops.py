"""kyedns-updater as an operator meets it: the command line (one convention
with the other programs), the log (priorities, logfmt access lines,
--log-file and SIGHUP), systemd readiness (a real NOTIFY_SOCKET) and the
purge client (keep-alive, https with certificate verification, a URL path
prefix and re-resolution of the API host), against a real pdns API behind
a small Python proxy that counts connections."""
import http.client
import http.server
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

import backend_util
from conftest import ROOT, binary, free_port
from updater_util import TOKENS, Updater, curl, metric, populate, wait_for

EXE = "kyedns-updater"
H, TOK = "a.example.com", TOKENS["a.example.com"]


def run(*args, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
    e.update(env or {})
    return subprocess.run([binary(EXE)] + list(args), capture_output=True, text=True,
                          timeout=20, env=e)


def upd(up, query, user=(H, TOK), agent=None):
    extra = ["-A", agent] if agent else []
    return curl(up.url("/nic/update?" + query), user=user, extra=extra)


# ------------------------------------------------------------ command line

def test_version_comes_from_the_one_version_source():
    text = open(os.path.join(ROOT, "common", "version.h")).read()
    version = re.search(r'#define KYEDNS_VERSION "([^"]+)"', text).group(1)
    p = run("--version")
    assert (p.returncode, p.stdout, p.stderr) == (0, "%s %s\n" % (EXE, version), "")


def test_help_lists_every_flag_with_its_env_name_and_default():
    p = run("--help")
    assert p.returncode == 0 and p.stderr == ""
    flags = re.findall(r"^\s+(?:-\w, )?--([a-z-]+)", p.stdout, re.M)
    for f in ("db", "listen", "trusted-proxy", "pdns-api", "pdns-api-key", "pdns-api-ca",
              "pdns-api-dns-cache", "max-conns", "rate-limit", "no-access-log", "log-level",
              "log-file", "core-dumps", "allow-loopback"):
        assert f in flags, f
    envs = re.findall(r"env:\s+(KYEDNS_[A-Z_]+)", p.stdout)
    want = ["KYEDNS_" + f.upper().replace("-", "_") for f in flags if f not in ("help", "version")]
    assert envs == want
    assert re.search(r"\[default:\s+127\.0\.0\.1:8053;", p.stdout)
    assert re.search(r"\[default:\s+info;", p.stdout)
    man = run("--help-man")
    assert man.returncode == 0 and man.stdout.startswith((".TH", ".\\\"", "'\\\""))
    for f in flags:
        assert f.replace("-", "\\-") in man.stdout or f in man.stdout, f


@pytest.mark.parametrize("args,env,msg", [
    (["--bogus"], {}, "unknown option --bogus"),
    (["--rate-limit=fast"], {}, "--rate-limit: 'fast' is not a number from 0 to 1000000000"),
    ([], {"KYEDNS_IDLE_TIMEOUT": "-1"}, "KYEDNS_IDLE_TIMEOUT: '-1' is not a number"),
    (["--log-level", "loud"], {}, "--log-level: 'loud' is not a level"),
    (["--trusted-proxy=10.0.0.0/99"], {}, "--trusted-proxy: '10.0.0.0/99' is not an address"),
    (["--pdns-api=http://127.0.0.1:8081"], {}, "needs --pdns-api-key"),
    (["--pdns-api=ftp://127.0.0.1", "--pdns-api-key=k"], {}, "is not an http:// or https:// URL"),
    (["--pdns-api=http://127.0.0.1", "--pdns-api-key=CHANGE-ME"], {}, "refusing pdns api key"),
    (["--listen"], {}, "option --listen needs a value"),
    (["extra"], {}, "unexpected argument 'extra'"),
])
def test_usage_errors_name_the_program_and_exit_2(args, env, msg):
    p = run(*args, env=env)
    assert p.returncode == 2, p
    first, hint = p.stderr.splitlines()
    assert first.startswith(EXE + ": ") and msg in first, first
    assert hint == "Try '%s --help'." % EXE


def test_both_option_forms_and_environment_names(tmp_path, store, ctl):
    """--opt=value and --opt value; KYEDNS_<FLAG> for a flag not given;
    the flag wins over its variable."""
    populate(ctl)
    port = free_port(udp_too=False)
    up = Updater(store, tmp_path, listen=[],
                 args=["--listen=127.0.0.1:%d" % port, "--rate-limit=0", "--log-level", "info"],
                 env={"KYEDNS_LISTEN": "127.0.0.1:1", "KYEDNS_ALLOW_LOOPBACK": "yes",
                      "KYEDNS_RATE_BURST": "5"})
    up.port = port
    with up:
        # allow-loopback from the environment: a loopback myip is stored.
        assert upd(up, "hostname=%s&myip=127.0.0.9" % H).body == "good 127.0.0.9\n"
        # --rate-limit=0 from argv won over nothing; 30 requests all pass.
        for _ in range(30):
            assert curl(up.url("/ip")).status == 200


@pytest.mark.parametrize("env", [{"KYEDNS_NO_ACCESS_LOG": "1"}, {"KYEDNS_ACCESS_LOG": "0"}],
                         ids=["new", "deprecated"])
def test_access_log_switch_and_its_deprecated_env_name(tmp_path, store, ctl, env):
    populate(ctl)
    with Updater(store, tmp_path, env=env, rate=False) as up:
        assert curl(up.url("/ip")).status == 200
        assert upd(up, "hostname=%s&myip=192.0.2.5" % H).status == 200
    text = up.log_text()
    assert "msg=access" not in text and "stopped" in text


# ------------------------------------------------------------ log

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warning|notice|info|debug) "
                  r"kyedns-updater\[\d+\]: (.*)$")


def logfmt(s):
    """Parses one logfmt line (Go-style escapes inside quotes) into a dict."""
    out = {}
    for m in re.finditer(r'(\w+)=("((?:[^"\\]|\\.)*)"|\S*)', s):
        v = m.group(2)
        if v.startswith('"'):
            v = m.group(3).encode().decode("unicode_escape")
        out[m.group(1)] = v
    return out


def test_every_line_has_a_level_and_access_lines_are_logfmt(tmp_path, store, ctl):
    populate(ctl)
    with Updater(store, tmp_path, rate=False) as up:
        agent = 'probe "quoted" \\ agent'
        assert upd(up, "hostname=%s&myip=192.0.2.7&token=%s" % (H, TOK), user=None,
                   agent=agent).body == "good 192.0.2.7\n"
        r = curl(up.url("/nic/update?hostname=b.example.com,%s&myip=192.0.2.8" % H),
                 user=("b.example.com", TOKENS["b.example.com"]))
        assert r.body == "good 192.0.2.8\nnohost\n"
        # A request the parser refuses is logged too, without a method.
        s = socket.create_connection(("127.0.0.1", up.port))
        s.sendall(b"BREW /\x01 HTTP/1.1\r\n\r\n")
        s.recv(1000)
        s.close()
        up.wait_log(r"status=4\d\d error=")
    text = up.log_text()
    assert TOK not in text
    levels = {}
    access = []
    for line in text.splitlines():
        m = LINE.match(line)
        assert m, line
        levels.setdefault(m.group(1), []).append(m.group(2))
        if m.group(2).startswith("msg=access "):
            assert m.group(1) == "info"
            access.append(logfmt(m.group(2)))
    assert any(l.startswith("listening on 127.0.0.1:") for l in levels["notice"])
    assert any(l.startswith("ready (") for l in levels["notice"])
    assert "stopped" in levels["notice"]
    first = access[0]
    assert first["client"] == "127.0.0.1" and first["method"] == "GET"
    assert first["path"] == "/nic/update" and first["status"] == "200"
    assert first["query"] == "hostname=%s&myip=192.0.2.7&token=***" % H
    assert (first["result"], first["addr"], first["user"]) == ("good", "192.0.2.7", H)
    assert first["ua"] == agent
    assert int(first["bytes"]) == len("good 192.0.2.7\n")
    assert re.match(r"^\d+\.\d{3}$", first["duration_ms"])
    second = access[1]
    assert (second["result"], second["user"]) == ("good,nohost", "b.example.com")
    assert second["query"] == "hostname=b.example.com,%s&myip=192.0.2.8" % H
    assert access[2]["status"].startswith("4") and "method" not in access[2]


def test_log_level_and_journal_format(tmp_path, store, ctl):
    populate(ctl)
    port = free_port(udp_too=False)
    up = Updater(store, tmp_path, listen=["0.0.0.0:%d" % port],
                 args=["--log-level=warning"], env={"KYEDNS_LOG_FORMAT": "journal"})
    up.port = port
    with up:
        assert curl(up.url("/ip")).status == 200
        up.wait_log(r"<4>warning: listening on 0\.0\.0\.0:%d without --trusted-proxy" % port)
    text = up.log_text()
    assert "msg=access" not in text and "ready (" not in text
    for line in text.splitlines():
        assert re.match(r"^<[0-4]>", line), line


def test_log_file_is_reopened_on_sighup(tmp_path, store, ctl):
    populate(ctl)
    path = tmp_path / "updater.log"
    with Updater(store, tmp_path, args=["--log-file", str(path)], rate=False) as up:
        assert curl(up.url("/ip?first")).status == 200
        wait_for(lambda: "path=/ip query=first" in path.read_text(), what="first line")
        os.rename(path, str(path) + ".1")
        up.proc.send_signal(signal.SIGHUP)
        wait_for(path.exists, what="a new log file")
        assert curl(up.url("/ip?second")).status == 200
        wait_for(lambda: "query=second" in path.read_text(), what="second line")
    old, new = open(str(path) + ".1").read(), path.read_text()
    assert "query=first" in old and "query=second" not in old
    assert re.search(r" notice kyedns-updater\[\d+\]: reopened the log %s" % re.escape(str(path)),
                     new)
    assert "stopped" in new
    assert "msg=access" not in up.log_text()  # stderr got nothing of it


def test_log_file_that_cannot_be_opened_is_an_error(tmp_path, store):
    p = run("--db", store, "--log-file", str(tmp_path / "no" / "such" / "dir.log"))
    assert p.returncode == 1
    assert re.search(r"error kyedns-updater\[\d+\]: cannot open log file .*dir\.log \(.+\)$",
                     p.stderr.strip())


# ------------------------------------------------------------ systemd

def test_sd_notify_ready_only_once_serving_then_stopping(tmp_path, store, ctl):
    populate(ctl)
    sock_path = str(tmp_path / "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(sock_path)
    ns.settimeout(10)
    port = free_port(udp_too=False)
    e = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
    e["NOTIFY_SOCKET"] = sock_path
    log = open(str(tmp_path / "up.log"), "wb")
    proc = subprocess.Popen([binary(EXE), "--db", store, "--listen", "127.0.0.1:%d" % port,
                             "--listen", "[::1]:%d" % port], env=e, stdout=log, stderr=log)
    try:
        msg = ns.recv(4096).decode()
        # At this moment both listeners must already accept.
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        socket.create_connection(("::1", port), timeout=1).close()
        assert "READY=1" in msg.split("\n"), msg
        proc.send_signal(signal.SIGTERM)
        msg = ns.recv(4096).decode()
        assert "STOPPING=1" in msg.split("\n"), msg
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        ns.close()


def test_systemd_unit_is_notify_with_reload():
    unit = open(os.path.join(ROOT, "systemd", "kyedns-updater.service")).read()
    assert re.search(r"^Type=notify$", unit, re.M)
    assert re.search(r"^ExecReload=/bin/kill -HUP \$MAINPID$", unit, re.M)


# ------------------------------------------------------------ purge client

class Proxy:
    """An HTTP/1.1 proxy in front of pdns's API: keeps client connections
    alive (pdns 4.7 closes after every answer), optionally speaks TLS,
    serves only below prefix, counts accepted connections and records
    every path."""

    def __init__(self, upstream_port, host="127.0.0.1", port=0, tls=None, prefix=""):
        proxy = self
        self.connections, self.paths = 0, []
        self.socks = []
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                with proxy.lock:
                    proxy.connections += 1
                    proxy.socks.append(self.request)
                super().setup()

            def do_PUT(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with proxy.lock:
                    proxy.paths.append(self.path)
                if not self.path.startswith(prefix + "/api/"):
                    status, data = 404, b"not here\n"
                else:
                    c = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=5)
                    c.request("PUT", self.path[len(prefix):], body=body,
                              headers={"X-API-Key": self.headers.get("X-API-Key", "")})
                    r = c.getresponse()
                    status, data = r.status, r.read()
                    c.close()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer((host, port), Handler)
        self.srv.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        """Stops listening and cuts every open connection."""
        self.srv.shutdown()
        self.srv.server_close()
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def make_ca(d, name):
    """A CA and a server certificate for 127.0.0.1 signed by it, made with
    openssl; returns (ca.pem, cert.pem, key.pem)."""
    d = str(d)
    ca_key, ca = os.path.join(d, name + "-ca.key"), os.path.join(d, name + "-ca.pem")
    key, csr, cert = (os.path.join(d, name + x) for x in ("-srv.key", "-srv.csr", "-srv.pem"))
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def ossl(*a):
        subprocess.run(["openssl"] + list(a), check=True, capture_output=True, timeout=60)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=%s test CA" % name)
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    ossl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


@pytest.fixture
def stack(tmp_path, store, ctl):
    populate(ctl, hosts={"k%d.example.com" % i: "ktoken-%02d-0123456789abcdef" % i
                         for i in range(6)})
    s = backend_util.start_stack(tmp_path, store)
    yield s
    s.stop()


def purges(up, result="ok"):
    return metric(up, 'kyedns_purge_total{result="%s"}' % result) or 0


def test_purge_keeps_alive_over_https_with_a_path_prefix(tmp_path, store, stack):
    """N updates become N purges over ONE TLS connection to a proxy at
    https://127.0.0.1:PORT/pdns (certificate checked against the test CA),
    which hands them to the real pdns API: every purge reaches pdns
    (200) under the path prefix."""
    ca, cert, key = make_ca(tmp_path, "good")
    proxy = Proxy(stack.api_port, tls=(cert, key), prefix="/pdns")
    try:
        with Updater(store, tmp_path, rate=False,
                     args=["--pdns-api", "https://127.0.0.1:%d/pdns/" % proxy.port,
                           "--pdns-api-key", stack.api_key, "--pdns-api-ca", ca]) as up:
            for i in range(5):
                h = "k%d.example.com" % i
                r = curl(up.url("/nic/update?hostname=%s&myip=192.0.2.%d" % (h, 10 + i)),
                         user=(h, "ktoken-%02d-0123456789abcdef" % i))
                assert r.body == "good 192.0.2.%d\n" % (10 + i)
                wait_for(lambda: purges(up) == i + 1, what="purge %d" % (i + 1))
            assert purges(up, "failed") == 0
        assert proxy.paths == ["/pdns/api/v1/servers/localhost/cache/flush?domain=k%d.example.com."
                               % i for i in range(5)]
        assert proxy.connections == 1
    finally:
        proxy.stop()


def test_purge_refuses_a_certificate_of_another_ca(tmp_path, store, stack):
    ca, cert, key = make_ca(tmp_path, "good")
    other, _, _ = make_ca(tmp_path, "other")
    proxy = Proxy(stack.api_port, tls=(cert, key))
    try:
        with Updater(store, tmp_path, rate=False,
                     args=["--pdns-api", "https://127.0.0.1:%d" % proxy.port,
                           "--pdns-api-key", stack.api_key, "--pdns-api-ca", other]) as up:
            h = "k0.example.com"
            r = curl(up.url("/nic/update?hostname=%s&myip=192.0.2.30" % h),
                     user=(h, "ktoken-00-0123456789abcdef"))
            assert r.body == "good 192.0.2.30\n"
            wait_for(lambda: purges(up, "failed") >= 1, what="a failed purge")
            assert purges(up) == 0
            up.wait_log(r" error kyedns-updater\[\d+\]: cannot purge k0\.example\.com\. from pdns "
                        r"caches \(.*(certificate|SSL).*\)")
        assert proxy.paths == []  # the key never went to the unverified server
    finally:
        proxy.stop()


def test_purge_with_a_wrong_prefix_fails_and_is_counted(tmp_path, store, stack):
    proxy = Proxy(stack.api_port, prefix="/pdns")
    try:
        with Updater(store, tmp_path, rate=False,
                     args=["--pdns-api", "http://127.0.0.1:%d/elsewhere" % proxy.port,
                           "--pdns-api-key", stack.api_key]) as up:
            h = "k1.example.com"
            curl(up.url("/nic/update?hostname=%s&myip=192.0.2.31" % h),
                 user=(h, "ktoken-01-0123456789abcdef"))
            wait_for(lambda: purges(up, "failed") >= 1, what="a failed purge")
            up.wait_log(r"cannot purge k1\.example\.com\. from pdns caches \(http status 404\)")
        assert proxy.paths[0] == ("/elsewhere/api/v1/servers/localhost/cache/flush"
                                  "?domain=k1.example.com.")
    finally:
        proxy.stop()


def test_purge_failures_are_rate_limited_in_the_log(tmp_path, store, ctl):
    """pdns API down for 40 updates: every failure is counted, the log gets
    one line (the first; summaries come at most once a minute)."""
    hosts = {"f%d.example.com" % i: "ftoken-%02d-0123456789abcdef" % i for i in range(40)}
    populate(ctl, hosts=hosts)
    dead = free_port(udp_too=False)
    with Updater(store, tmp_path, rate=False,
                 args=["--pdns-api", "http://127.0.0.1:%d" % dead,
                       "--pdns-api-key", "k"]) as up:
        for h, t in hosts.items():
            assert curl(up.url("/nic/update?hostname=%s&myip=192.0.2.40" % h),
                        user=(h, t)).status == 200
        wait_for(lambda: purges(up, "failed") >= 3, what="failures", timeout=15)
    text = up.log_text()
    assert len(re.findall(r"cannot purge", text)) == 1, text


def test_purge_resolves_the_api_host_again(tmp_path, store, stack):
    """The API host is a name (in /etc/hosts, bind-mounted from a test file
    in a private mount namespace, so nothing outside the test changes):
    first 127.0.0.2, then - as when docker recreates the pdns container -
    127.0.0.3.  With a 1 s DNS cache the updater finds the new address
    without a restart; the old address no longer answers at all."""
    if not shutil.which("unshare"):
        pytest.skip("unshare not installed (package util-linux)")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.0.0.2 pdns-api.kyedns.test\n")
    probe = subprocess.run(["unshare", "-rm", "sh", "-c",
                            'mount --bind "$0" /etc/hosts && getent hosts pdns-api.kyedns.test',
                            str(hosts)], capture_output=True, text=True, timeout=20)
    if probe.returncode != 0 or "127.0.0.2" not in probe.stdout:
        pytest.skip("cannot bind-mount /etc/hosts in a user namespace here: " + probe.stderr)
    port = free_port(udp_too=False)
    first = Proxy(stack.api_port, host="127.0.0.2", port=port)
    second = None
    up_port = free_port(udp_too=False)
    e = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
    e.update({"KYEDNS_PDNS_API_KEY": stack.api_key, "KYEDNS_RATE_LIMIT": "0"})
    log = open(str(tmp_path / "up.log"), "wb")
    proc = subprocess.Popen(
        ["unshare", "-rm", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts),
         binary(EXE), "--db", store, "--listen", "127.0.0.1:%d" % up_port,
         "--pdns-api", "http://pdns-api.kyedns.test:%d" % port, "--pdns-api-dns-cache", "1"],
        env=e, stdout=log, stderr=log)

    class Up:
        pass
    up = Up()
    up.port = up_port
    up.url = lambda path: "http://127.0.0.1:%d%s" % (up_port, path)

    def update(i):
        h = "k%d.example.com" % i
        r = curl(up.url("/nic/update?hostname=%s&myip=192.0.2.5%d" % (h, i)),
                 user=(h, "ktoken-%02d-0123456789abcdef" % i))
        assert r.body == "good 192.0.2.5%d\n" % i
    try:
        wait_for(lambda: subprocess.run(["curl", "-s", up.url("/health")],
                                        capture_output=True).returncode == 0,
                 what="the updater")
        update(0)
        wait_for(lambda: purges(up) == 1, what="the first purge")
        assert first.paths and first.connections == 1
        # pdns moves: the old address is gone, the name points elsewhere.
        first.stop()
        with open(str(hosts), "w") as f:  # same inode: the bind mount sees it
            f.write("127.0.0.1 localhost\n127.0.0.3 pdns-api.kyedns.test\n")
        second = Proxy(stack.api_port, host="127.0.0.3", port=port)
        update(1)
        wait_for(lambda: purges(up) == 2, timeout=20, what="the purge through the new address")
        assert second.paths == ["/api/v1/servers/localhost/cache/flush?domain=k1.example.com."]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        first.stop()
        if second:
            second.stop()


def test_long_and_hostile_access_fields_stay_one_wellformed_line(tmp_path, store, ctl):
    """The client's user, agent and URL are cut (with ...) and quoted; the
    line stays parseable logfmt and never carries the secret."""
    populate(ctl)
    with Updater(store, tmp_path, rate=False) as up:
        user = 'evil "user" \\ ' * 40
        agent = 'agent "x" = y ' * 40
        hosts = ",".join("h%d.example.com" % i for i in range(19))
        r = curl(up.url("/nic/update?hostname=%s&myip=192.0.2.9&pad=%s" % (hosts, "z" * 900)),
                 user=(user, TOK), extra=["-A", agent])
        assert r.status == 401
        up.wait_log(r"status=401")
    line = next(l for l in up.log_text().splitlines() if " msg=access " in l)
    assert TOK not in line
    m = LINE.match(line)
    f = logfmt(m.group(2))
    rebuilt = re.sub(r'\w+=("(?:[^"\\]|\\.)*"|\S*)', "", m.group(2)).strip()
    assert rebuilt == "", rebuilt  # nothing outside key=value pairs
    assert f["user"].endswith("...") and f["user"].startswith('evil "user" \\ evil')
    assert len(f["user"]) <= 128 + 3
    assert f["ua"].endswith("...") and f["ua"].startswith('agent "x" = y agent')
    assert f["query"].endswith("...") and len(f["query"]) < 260
    assert f["result"] == ",".join(["badauth"] * 19)
