"""Operations: `make run`, the docker entrypoints outside containers, the
compose file, the systemd units, the production pdns snippets, `make
install`, the monitoring files.  Everything runs on loopback, on free
ports, in temporary directories, and leaves nothing running.
"""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, ROOT, binary, free_port
from ops_util import Spawned, env_clean, kill_tree_in, make_cmd, procs_in, wait_until

DOCKER = os.path.join(ROOT, "docker")


def sh(cmd, env=None, timeout=30):
    """Runs one of the commands run.sh printed, the way a user pastes it."""
    return subprocess.run(shlex.split(cmd), capture_output=True, text=True, env=env,
                          timeout=timeout)


def printed(lines, prefix, *must):
    """The first printed command starting with prefix that contains every
    string of must."""
    for line in lines:
        s = line.strip()
        if s.startswith(prefix) and all(m in s for m in must):
            return s
    raise AssertionError("no %r command with %r in:\n%s" % (prefix, must, "\n".join(lines)))


def dig_short(port, name, qtype):
    p = subprocess.run(["dig", "+short", "+time=2", "+tries=1", "@127.0.0.1", "-p", str(port),
                        name, qtype], capture_output=True, text=True, timeout=10)
    return p.stdout.split()


# ---------------------------------------------------------------- make run

def _dump(p, run_dir):
    """Shown by pytest when the test fails."""
    print("---- run.sh output ----\n" + p.text())
    for name in ("backend", "pdns", "updater"):
        path = os.path.join(run_dir, "log", name + ".log")
        if os.path.exists(path):
            print("---- %s.log ----\n%s" % (name, open(path, errors="replace").read()[-3000:]))


def _run_env(run_dir, **ports):
    return env_clean(KYEDNS_RUN_DIR=run_dir, KYEDNS_RUN_FOLLOW=0, **ports)


def test_make_run_end_to_end(tmp_path):
    run_dir = str(tmp_path / "run")
    dns, api, http = free_port(), free_port(False), free_port(False)
    while len({dns, api, http}) < 3:
        api, http = free_port(False), free_port(False)
    env = _run_env(run_dir, KYEDNS_RUN_DNS_PORT=dns, KYEDNS_RUN_API_PORT=api,
                   KYEDNS_RUN_HTTP_PORT=http, KYEDNS_RUN_PORT_STRICT=1)
    p = Spawned(make_cmd("run"), env)
    try:
        p.wait_for_line(r"Press Ctrl-C to stop", 120)
        lines = p.lines[:]
        token = re.search(r"demo host\s+home\.demo\.test\s+token\s+(\S+)", p.text()).group(1)
        assert len(token) >= 20

        # The printed commands, pasted as they are.
        up4 = printed(lines, "curl -u", "myip=203.0.113.50")
        assert token in up4 and ":%d/" % http in up4
        r = sh(up4)
        assert r.returncode == 0 and r.stdout.strip() == "good 203.0.113.50", r
        assert sh(printed(lines, "dig", "home.demo.test A")).stdout.split() == ["203.0.113.50"]
        r = sh(printed(lines, "curl -u", "myip=2001:db8::1"))
        assert r.stdout.strip() == "good 2001:db8::1", r
        assert sh(printed(lines, "dig", "home.demo.test AAAA")).stdout.split() == ["2001:db8::1"]
        # Each family keeps the other one.
        assert dig_short(dns, "home.demo.test", "A") == ["203.0.113.50"]
        r = sh(printed(lines, "curl", "token=", "myip=198.51.100.7"))
        assert r.stdout.strip() == "good 198.51.100.7", r
        assert dig_short(dns, "home.demo.test", "A") == ["198.51.100.7"]
        assert sh(printed(lines, "curl", "/ip")).stdout.strip() == "127.0.0.1"
        axfr = sh(printed(lines, "dig", "AXFR")).stdout
        assert "ns1.demo.test." in axfr and "ns2.demo.test." in axfr and "2001:db8::1" in axfr
        assert "kyedns_update_results_total" in sh(printed(lines, "curl -s", "%d/metrics" % http)).stdout
        assert "pdns_auth_udp_queries" in sh(printed(lines, "curl -s", "%d/metrics" % api)).stdout
        assert len(procs_in(run_dir)) >= 3

        # Ctrl-C: the terminal sends SIGINT to the whole foreground group.
        p.signal_group(signal.SIGINT)
        p.wait(30)
        assert "stopped" in p.text()
        assert procs_in(run_dir) == [], "left running: %s" % procs_in(run_dir)
        assert not os.path.exists(os.path.join(run_dir, "backend.sock"))
    finally:
        _dump(p, run_dir)
        p.kill()
        kill_tree_in(run_dir)

    # Second run on the same directory: the store and the demo token are
    # kept; a busy DNS port moves to the next free one; SIGTERM stops it.
    busy_u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy_u.bind(("127.0.0.1", dns))
    env["KYEDNS_RUN_PORT_STRICT"] = "0"
    p = Spawned([os.path.join(ROOT, "scripts", "run.sh")], env)
    try:
        p.wait_for_line(r"Press Ctrl-C to stop", 60)
        assert re.search(r"dns port %d is busy, using (\d+)" % dns, p.text()), p.text()
        new_dns = int(re.search(r"DNS \(pdns\)\s+127\.0\.0\.1 port (\d+)", p.text()).group(1))
        assert new_dns != dns
        assert "token %s" % token in p.text()
        assert dig_short(new_dns, "home.demo.test", "A") == ["198.51.100.7"]
        p.proc.send_signal(signal.SIGTERM)  # run.sh only, not its group
        assert p.wait(30) == 0  # a requested stop is a clean exit
        assert procs_in(run_dir) == [], "left running: %s" % procs_in(run_dir)
    finally:
        _dump(p, run_dir)
        busy_u.close()
        p.kill()
        kill_tree_in(run_dir)


def test_run_sh_stops_everything_when_a_daemon_dies(tmp_path):
    run_dir = str(tmp_path / "run")
    env = _run_env(run_dir, KYEDNS_RUN_DNS_PORT=free_port(), KYEDNS_RUN_API_PORT=free_port(False),
                   KYEDNS_RUN_HTTP_PORT=free_port(False))
    p = Spawned([os.path.join(ROOT, "scripts", "run.sh")], env)
    try:
        p.wait_for_line(r"Press Ctrl-C to stop", 60)
        backend = [l for l in procs_in(run_dir) if "kyedns-backend" in l]
        assert len(backend) == 1
        os.kill(int(backend[0].split()[0]), signal.SIGKILL)
        assert p.wait(30) != 0
        assert "backend exited unexpectedly" in p.text()
        assert procs_in(run_dir) == []
    finally:
        _dump(p, run_dir)
        p.kill()
        kill_tree_in(run_dir)


# ------------------------------------------------- entrypoints, no containers

def _entry(name):
    return ["sh", os.path.join(DOCKER, "entrypoint-%s.sh" % name)]


def test_entrypoints_outside_containers(tmp_path):
    t = str(tmp_path)
    dns, api, http = free_port(), free_port(False), free_port(False)
    key = "k-" + os.urandom(8).hex()
    base = env_clean(KYEDNS_DB=t + "/db", KYEDNS_SOCKET=t + "/sock/backend.sock")
    procs = []
    try:
        # No store yet and no bootstrap zone: the updater gives up waiting.
        r = subprocess.run(_entry("updater"), env=dict(base, KYEDNS_WAIT_SECONDS="1"),
                           capture_output=True, text=True, timeout=20)
        assert r.returncode != 0 and "no store in" in r.stderr

        # Backend: creates the socket directory and the first zone.
        benv = dict(base, KYEDNS_BOOTSTRAP_ZONE="example.test",
                    KYEDNS_BOOTSTRAP_NS="ns1.example.test,ns2.example.net")
        assert subprocess.run(_entry("backend") + ["health"], env=benv).returncode == 1
        procs.append(Spawned(_entry("backend"), benv))
        wait_until(lambda: subprocess.run(_entry("backend") + ["health"], env=benv).returncode == 0,
                   15, "backend health")
        assert "created zone example.test" in procs[-1].text()

        penv = dict(base, PDNS_CONFIG_DIR=t + "/pdns",
                    PDNS_SNIPPETS=os.path.join(ROOT, "pdns-conf", "production"),
                    PDNS_LOCAL_ADDRESS="127.0.0.1:%d" % dns, PDNS_WEBSERVER_ADDRESS="127.0.0.1",
                    PDNS_WEBSERVER_PORT=str(api), PDNS_API_KEY=key)
        r = subprocess.run(_entry("pdns"), env=dict(penv, PDNS_API_KEY=""), capture_output=True,
                           text=True, timeout=20)
        assert r.returncode != 0 and "PDNS_API_KEY" in r.stderr
        procs.append(Spawned(_entry("pdns"), penv))
        wait_until(lambda: subprocess.run(_entry("pdns") + ["health"], env=penv).returncode == 0,
                   20, "pdns health")
        conf = open(t + "/pdns/pdns.conf").read()
        assert "unix:path=%s/sock/backend.sock" % t in conf and "primary=no" in conf
        assert oct(os.stat(t + "/pdns/pdns.conf").st_mode & 0o777) == "0o600"
        assert dig_short(dns, "example.test", "NS") == ["ns1.example.test.", "ns2.example.net."] or \
            sorted(dig_short(dns, "example.test", "NS")) == ["ns1.example.test.", "ns2.example.net."]

        # A second start of the backend entrypoint keeps the existing zone.
        tok = json.loads(subprocess.run([binary("kyednsctl"), "--json", "host", "add", "h.example.test"],
                                        env=base, capture_output=True, text=True,
                                        check=True).stdout)["token"]

        # Updater: settings from an env file (quoted values), environment wins.
        envfile = t + "/kyedns.env"
        with open(envfile, "w") as f:
            f.write("# comment\nKYEDNS_PDNS_API_KEY=\"%s\"\nKYEDNS_LISTEN=127.0.0.1:%d\n"
                    "KYEDNS_PDNS_API='http://127.0.0.1:%d'\nKYEDNS_DB=/nonexistent\n" %
                    (key, http, api))
        uenv = dict(base, KYEDNS_ENV_FILE=envfile)
        procs.append(Spawned(_entry("updater"), uenv))
        wait_until(lambda: subprocess.run(_entry("updater") + ["health"], env=uenv).returncode == 0,
                   15, "updater health")
        assert dig_short(dns, "h.example.test", "A") == []  # caches "no data" ...
        r = subprocess.run(["curl", "-s", "-u", "h.example.test:" + tok,
                            "http://127.0.0.1:%d/nic/update?hostname=h.example.test&myip=192.0.2.9" % http],
                           capture_output=True, text=True, timeout=10)
        assert r.stdout.strip() == "good 192.0.2.9"
        assert dig_short(dns, "h.example.test", "A") == ["192.0.2.9"]  # ... purged

        # Monitoring: every metric the dashboard uses exists.
        _check_dashboard_metrics(t, api, http)

        for p in reversed(procs):
            p.proc.send_signal(signal.SIGTERM)  # exec'd: the daemon itself
            p.wait(20)
        assert procs_in(t) == []
        assert not os.path.exists(t + "/sock/backend.sock")
    finally:
        for p in procs:
            p.kill()
        kill_tree_in(t)


def _check_dashboard_metrics(t, api, http):
    import urllib.request
    pdns = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % api, timeout=5).read().decode()
    upd = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http, timeout=5).read().decode()
    r = subprocess.run([os.path.join(ROOT, "monitoring", "kyedns-backend-stats.sh")],
                       env=env_clean(PDNS_CONFIG_DIR=t + "/pdns"), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0
    assert "kyedns_backend_up 1" in r.stdout
    out = t + "/textfile.prom"
    subprocess.run([os.path.join(ROOT, "monitoring", "kyedns-backend-stats.sh"), out],
                   env=env_clean(PDNS_CONFIG_DIR=t + "/pdns"), check=True, timeout=30)
    assert "kyedns_backend_requests_total" in open(out).read()
    backend = r.stdout
    have = set()
    for text in (pdns, upd, backend):
        for line in text.splitlines():
            if line and not line.startswith("#"):
                have.add(re.split(r"[{ ]", line, 1)[0])
    dash = json.load(open(os.path.join(ROOT, "monitoring", "grafana-dashboard.json")))
    used = set()
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            used |= set(re.findall(r"\b((?:pdns_auth|kyedns)_[a-zA-Z0-9_]+)", target["expr"]))
    # list_* appears only after an AXFR; histogram series carry suffixes.
    missing = sorted(m for m in used if m not in have and not m.startswith("kyedns_backend_list_"))
    assert missing == [], "dashboard uses metrics nobody exports: %s" % missing


# ------------------------------------------------------------ compose file

@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose not installed (scripts/deps.sh installs it)")
def test_compose_config(tmp_path):
    import yaml
    compose = os.path.join(DOCKER, "compose.yaml")
    env = env_clean(KYEDNS_PDNS_API_KEY="secret-key", KYEDNS_ZONE="example.test")
    env.pop("COMPOSE_FILE", None)
    r = subprocess.run(["docker-compose", "-f", compose, "config"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    svc = cfg["services"]
    assert {"store", "backend", "pdns", "updater", "kyednsctl"} <= set(svc)
    # Every process that opens the LMDB store shares one PID namespace,
    # owned by a container that does nothing else.
    for name in ("backend", "updater", "kyednsctl"):
        assert svc[name]["pid"] == "service:store", name
        assert any(v.startswith("store:/var/lib/kyedns") for v in svc[name]["volumes"])
    assert svc["store"].get("init") is True
    assert "pid" not in svc["pdns"]
    assert not any(v.startswith("store:") for v in svc["pdns"]["volumes"])
    assert any(v.startswith("socket:/run/kyedns") for v in svc["pdns"]["volumes"])
    assert any(v.startswith("socket:/run/kyedns") for v in svc["backend"]["volumes"])
    for name in ("backend", "pdns", "updater"):
        assert svc[name]["healthcheck"]["test"][0] == "CMD"
    assert svc["updater"]["environment"]["KYEDNS_PDNS_API_KEY"] == "secret-key"
    assert svc["pdns"]["environment"]["PDNS_API_KEY"] == "secret-key"
    assert svc["updater"]["depends_on"]["pdns"]["condition"] == "service_healthy"
    assert svc["backend"]["environment"]["KYEDNS_BOOTSTRAP_ZONE"] == "example.test"
    # Entry points referenced by compose exist and are executable.
    for name in ("backend", "updater", "pdns"):
        assert os.access(os.path.join(DOCKER, "entrypoint-%s.sh" % name), os.X_OK)
    # Without the API key the configuration is refused with a clear message.
    env.pop("KYEDNS_PDNS_API_KEY")
    r = subprocess.run(["docker-compose", "-f", compose, "config"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "KYEDNS_PDNS_API_KEY" in r.stderr
    # The Dockerfile has the three stages compose builds.
    df = open(os.path.join(DOCKER, "Dockerfile")).read()
    for stage in ("AS build", "AS kyedns", "AS pdns"):
        assert stage in df
    assert re.search(r"^USER kyedns$", df, re.M) and re.search(r"^USER pdns$", df, re.M)
    # Every COPY source from the build context exists.
    for m in re.finditer(r"^COPY (?!--from)((?:\S+\s+\\?\s*)+?)(\S+)$", df, re.M):
        for src in m.group(1).replace("\\", " ").split():
            assert os.path.exists(os.path.join(ROOT, src)), src
    # The build stage's make targets exist and install nothing (make never does).
    built = re.search(r"RUN make [^\n]*?((?:build/\S+ ?)+)$", df, re.M).group(1).split()
    r = subprocess.run(make_cmd("-n") + built, capture_output=True, text=True, timeout=60,
                       env=env_clean())
    assert r.returncode == 0 and "deps.sh" not in r.stdout, r.stdout + r.stderr
    # Every image is built from the base image in KYEDNS_DEBIAN (a digest pins it).
    pinned = "debian:bookworm-slim@sha256:" + "0123456789abcdef" * 4
    r = subprocess.run(["docker-compose", "-f", compose, "config"], capture_output=True, text=True,
                       timeout=60, env=dict(env, KYEDNS_PDNS_API_KEY="k", KYEDNS_DEBIAN=pinned))
    assert r.returncode == 0, r.stderr
    built = {n: v["build"] for n, v in yaml.safe_load(r.stdout)["services"].items() if "build" in v}
    assert set(built) >= {"store", "backend", "pdns", "updater"}
    assert all(b["args"]["DEBIAN"] == pinned for b in built.values()), built
    assert all(b["args"]["DEBIAN"] == "debian:bookworm-slim" for b in
               (v["build"] for v in svc.values() if "build" in v))
    # The runtime stage installs the packages of every shared library the
    # programs link (libc6 is in every Debian image).
    runtime = df.split("AS kyedns", 1)[1].split("FROM ", 1)[0]
    libs = set()
    for b in ("kyedns-backend", "kyedns-updater", "kyednsctl"):
        # Direct dependencies (NEEDED), located through ldd.
        needed = re.findall(r"\(NEEDED\).*\[(.+?)\]", subprocess.run(
            ["readelf", "-d", binary(b)], capture_output=True, text=True).stdout)
        where = {l.split("=>")[0].strip(): l.split("=>")[1].split()[0]
                 for l in subprocess.run(["ldd", binary(b)], capture_output=True,
                                         text=True).stdout.splitlines()
                 if "=>" in l and "/" in l.split("=>")[1]}
        assert needed, b
        libs |= {os.path.realpath(where[n]) for n in needed
                 if n in where and not re.match(r"lib(asan|ubsan|lsan|tsan)\.", n)}
    for lib in sorted(libs):
        q = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True)
        if q.returncode != 0:
            continue  # e.g. /lib vs /usr/lib spelling of libc6
        pkg = q.stdout.split(":")[0]
        assert pkg == "libc6" or re.search(r"\b%s\b" % re.escape(pkg), runtime), (lib, pkg)


# ------------------------------------------- Dockerfile and build context

def _dockerignore(path):
    return [l.strip() for l in open(path) if l.strip() and not l.lstrip().startswith("#")]


def test_docker_build_context_leaves_out_secrets_and_build(tmp_path):
    """docker-compose 1.29 builds with the classic builder: the client
    (docker-py) tars the context itself and honours only the root
    .dockerignore.  Its own exclude_paths() decides here, on a synthetic
    context and on this tree."""
    root_ignore = os.path.join(ROOT, ".dockerignore")
    patterns = _dockerignore(root_ignore)
    # BuildKit reads docker/Dockerfile.dockerignore instead: the same patterns.
    assert _dockerignore(os.path.join(DOCKER, "Dockerfile.dockerignore")) == patterns
    try:
        from docker.utils.build import exclude_paths
    except ImportError:
        pytest.skip("python3-docker not installed (docker-compose brings it)")
    secret = ["run/pdns/api.key", "run/demo.token", "run/db/data.mdb", "run/log/updater.log",
              "build/kyedns-backend", "build/common/store.o", "build/deb/kyedns_0.2.0_amd64.deb",
              ".git/config", "docker/.env", "tests/system/__pycache__/conftest.cpython-311.pyc",
              ".ci/run", "kyedns_0.2.0_amd64.deb", "common/store.o"]
    needed = ["Makefile", "mk/install.mk", "common/store.c", "common/version.h", "scripts/deps.sh",
              "updater/main.c", "docker/Dockerfile", "docker/entrypoint-pdns.sh",
              "docker/entrypoint-lib.sh", "pdns-conf/production/00-kyedns.conf"]
    ctx = tmp_path / "ctx"
    for f in secret + needed:
        (ctx / f).parent.mkdir(parents=True, exist_ok=True)
        (ctx / f).write_text("x")
    shutil.copy(root_ignore, ctx / ".dockerignore")
    sent = exclude_paths(str(ctx), patterns, dockerfile="docker/Dockerfile")
    assert not [f for f in secret if f in sent], sorted(sent)
    assert not [p for p in sent if p.split("/")[0] in ("run", "build", ".git")], sorted(sent)
    assert set(needed) <= sent, set(needed) - sent
    # This tree: everything the Dockerfile copies is sent, build/ and run/ are not.
    sent = exclude_paths(ROOT, patterns, dockerfile="docker/Dockerfile")
    assert not [p for p in sent if p.split("/")[0] in ("run", "build", ".git")]
    df = open(os.path.join(DOCKER, "Dockerfile")).read()
    for m in re.finditer(r"^COPY (?!--from)((?:\S+\s+\\?\s*)+?)(\S+)$", df, re.M):
        for src in m.group(1).replace("\\", " ").split():
            if src == ".":
                continue
            src = src.rstrip("/")
            assert src in sent or any(p.startswith(src + "/") for p in sent), src


# A docker image reference (distribution's grammar, lowercase names).
IMAGE_REF = re.compile(r"^(?:[a-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
                       r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
                       r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")


def test_dockerfile_stages_follow_one_base_image():
    df = open(os.path.join(DOCKER, "Dockerfile")).read()
    lines = [l for l in df.splitlines() if l.strip() and not l.startswith("#")]
    first_from = next(i for i, l in enumerate(lines) if l.startswith("FROM "))
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", "\n".join(lines[:first_from]), re.M))
    assert args.get("DEBIAN") == "debian:bookworm-slim", args
    froms = re.findall(r"^FROM (\S+) AS (\w+)$", df, re.M)
    assert [n for _, n in froms] == ["build", "kyedns", "pdns"]
    # No stage names an image of its own: build and runtime are one release.
    assert {img for img, _ in froms} == {"${DEBIAN}"}, froms
    assert not re.search(r"^ARG DEBIAN\b", "\n".join(lines[first_from:]), re.M)
    # The ARG takes a digest-pinned reference, and the default is one too.
    for value in (args["DEBIAN"], "debian:bookworm-slim@sha256:" + "ab" * 32,
                  "registry.example:5000/mirror/debian:bookworm-slim@sha256:" + "0f" * 32):
        for img, _ in froms:
            assert IMAGE_REF.match(img.replace("${DEBIAN}", value)), value
    assert not IMAGE_REF.match("debian:bookworm-slim@sha256:short")
    # Build stage: scripts/deps.sh's build set (which has the -dev packages
    # of libsystemd, libcurl and libidn2); runtime: their libraries.
    build = df.split("AS build", 1)[1].split("\nFROM ", 1)[0]
    assert re.search(r"^COPY scripts/deps.sh (\S+)$", build, re.M)
    assert re.search(r"deps.sh install build\b", build)
    runtime = df.split("AS kyedns", 1)[1].split("\nFROM ", 1)[0]
    for pkg in ("libuv1", "libjansson4", "liblmdb0", "libsodium23", "libsystemd0", "libcurl4", "libidn2-0"):
        assert re.search(r"\b%s\b" % re.escape(pkg), runtime), pkg


# ------------------------------------------------------------ systemd units

def _systemd_analyze():
    tool = shutil.which("systemd-analyze")
    if not tool:
        pytest.skip("systemd-analyze not installed (package systemd)")
    return tool


def test_systemd_units_verify(tmp_path):
    tool = _systemd_analyze()
    units = []
    for u in ("kyedns-backend.service", "kyedns-updater.service"):
        text = open(os.path.join(ROOT, "systemd", u)).read()
        # verify checks that ExecStart= exists: point it at the build.
        text = re.sub(r"/usr/local/bin/(kyedns-[a-z]+)", lambda m: binary(m.group(1)), text)
        path = tmp_path / u
        path.write_text(text)
        units.append(str(path))
    r = subprocess.run([tool, "verify"] + units, capture_output=True, text=True, timeout=60)
    ours = [l for l in (r.stdout + r.stderr).splitlines() if "kyedns" in l]
    assert r.returncode == 0 and ours == [], r.stdout + r.stderr
    for u in units:
        r = subprocess.run([tool, "security", "--offline=yes", "--no-pager", u],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
        assert m, r.stdout + r.stderr
        assert float(m.group(1)) <= 2.0, "%s exposure %s" % (u, m.group(1))
    backend = open(units[0]).read()
    for want in ("User=kyedns", "SupplementaryGroups=pdns", "RuntimeDirectory=kyedns",
                 "RuntimeDirectoryPreserve=yes", "StateDirectory=kyedns", "KYEDNS_SOCKET_GROUP=pdns",
                 "EnvironmentFile=-/etc/default/kyedns", "SystemCallFilter=@system-service"):
        assert want in backend, want
    updater = open(units[1]).read()
    assert not re.search(r"^RuntimeDirectory=", updater, re.M)  # only the backend owns /run/kyedns
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" in updater


def test_systemd_unit_settings_reach_the_programs(tmp_path):
    """The units configure the daemons by environment only: every
    variable they set is one the programs document."""
    helps = ""
    for b in ("kyedns-backend", "kyedns-updater"):
        helps += subprocess.run([binary(b), "--help"], capture_output=True, text=True).stdout
    for u in ("kyedns-backend.service", "kyedns-updater.service"):
        for var in re.findall(r"^Environment=(KYEDNS_[A-Z_]+)=", open(os.path.join(ROOT, "systemd", u)).read(), re.M):
            assert var in helps or var.replace("KYEDNS_", "--").lower().replace("_", "-") in helps, var
    for var in re.findall(r"^#?(KYEDNS_[A-Z_]+)=", open(os.path.join(ROOT, "systemd", "kyedns.default")).read(), re.M):
        flag = "--" + var[len("KYEDNS_"):].lower().replace("_", "-")
        assert var in helps or flag in helps, var


def _expand_syscalls(tool, group, _cache={}):
    """The system call names in a systemd-analyze syscall-filter group."""
    if group not in _cache:
        out = subprocess.run([tool, "syscall-filter", group], capture_output=True,
                             text=True).stdout
        names = set()
        for line in out.splitlines()[1:]:
            w = line.strip()
            if w.startswith("@"):
                names |= _expand_syscalls(tool, w)
            elif w and not w.startswith("#"):
                names.add(w)
        _cache[group] = names
    return _cache[group]


def _unit_filter(tool, unit_text):
    """(allowed system calls, allowed address families) of a unit."""
    allowed = set()
    for line in re.findall(r"^SystemCallFilter=(.*)$", unit_text, re.M):
        deny = line.startswith("~")
        names = set()
        for w in line.lstrip("~").split():
            names |= _expand_syscalls(tool, w) if w.startswith("@") else {w}
        allowed = allowed - names if deny else allowed | names
    fams = set(re.search(r"^RestrictAddressFamilies=(.*)$", unit_text, re.M).group(1).split())
    return allowed, fams


def _traced_syscalls(path):
    calls, fams = set(), set()
    for line in open(path, errors="replace"):
        m = re.match(r"\d+\s+([a-z_0-9]+)\((AF_[A-Z0-9]+)?", line)
        if m:
            calls.add(m.group(1))
            if m.group(1) == "socket" and m.group(2):
                fams.add(m.group(2))
    return calls, fams


def test_systemd_syscall_filters_cover_the_daemons(tmp_path, monkeypatch):
    """Runs both daemons under strace through updates, lookups, an AXFR,
    NOTIFY bookkeeping (setNotified writes), purges and statistics, and
    checks every system call and socket family against the units'
    SystemCallFilter= and RestrictAddressFamilies=."""
    tool = _systemd_analyze()
    if not shutil.which("strace"):
        pytest.skip("strace not installed (scripts/deps.sh installs it)")
    from backend_util import start_pdns
    t = str(tmp_path)
    db, sock = t + "/db", t + "/backend.sock"
    ctl = [binary("kyednsctl"), "--db", db, "--json"]
    subprocess.run(ctl + ["zone", "add", "s.test", "--ns", "ns1.s.test", "--kind", "master"],
                   check=True, capture_output=True)
    tok = json.loads(subprocess.run(ctl + ["host", "add", "h.s.test"], check=True,
                                    capture_output=True, text=True).stdout)["token"]
    traced = []

    def trace(name, args, **env):
        p = Spawned(["strace", "-f", "-qq", "-o", "%s/%s.st" % (t, name)] + args, env_clean(**env))
        traced.append(p)
        return p

    pdns = None
    try:
        trace("backend", [binary("kyedns-backend"), "--db", db, "--socket", sock,
                          "--socket-group", "pdns"])
        wait_until(lambda: os.path.exists(sock), 20, "backend socket")
        # primary=yes: getUpdatedMasters/setNotified; no resolver traffic.
        monkeypatch.setenv("RES_OPTIONS", "attempts:0")
        pdns = start_pdns(t, sock, {"primary": "yes", "xfr-cycle-interval": 1, "only-notify": ""})
        http = free_port(False)
        up = trace("updater", [binary("kyedns-updater"), "--db", db, "--listen", "127.0.0.1:%d" % http,
                               "--listen", "[::1]:%d" % http,
                               "--pdns-api", "http://127.0.0.1:%d" % pdns.api_port],
                   KYEDNS_PDNS_API_KEY=pdns.api_key)
        base = "http://127.0.0.1:%d" % http
        wait_until(lambda: subprocess.run(["curl", "-fs", base + "/health"],
                                          capture_output=True).returncode == 0, 20, "updater")
        for ip in ("192.0.2.1", "192.0.2.1", "2001:db8::5"):
            subprocess.run(["curl", "-s", "-u", "h.s.test:" + tok,
                            base + "/nic/update?hostname=h.s.test&myip=" + ip], check=True,
                           capture_output=True)
        subprocess.run(["curl", "-s", "-u", "h.s.test:wrong-token-wrong-token",
                        "http://[::1]:%d/nic/update?hostname=h.s.test" % http], capture_output=True)
        for path in ("/metrics", "/ip", "/nic/checkip.html", "/nope"):
            subprocess.run(["curl", "-s", base + path], capture_output=True)
        assert dig_short(pdns.dns_port, "h.s.test", "AAAA") == ["2001:db8::5"]
        subprocess.run(["dig", "+tcp", "@127.0.0.1", "-p", str(pdns.dns_port), "s.test", "AXFR"],
                       capture_output=True, timeout=20)
        pdns.pdnsutil("backend-cmd", "remote", "stats")
        wait_until(lambda: json.loads(subprocess.run(ctl + ["zone", "show", "s.test"],
                                                     capture_output=True, text=True).stdout)
                   ["notified_serial"] != 0, 15, "setNotified")
        # Stop the daemons themselves (signalling strace would detach it).
        for p in reversed(traced):
            kids = subprocess.run(["pgrep", "-P", str(p.proc.pid)], capture_output=True,
                                  text=True).stdout.split()
            for k in kids:
                os.kill(int(k), signal.SIGTERM)
            if p is up:
                pdns.stop()
                pdns = None
            p.wait(30)
    finally:
        if pdns:
            pdns.stop()
        for p in traced:
            p.kill()
        kill_tree_in(t)
    for name in ("backend", "updater"):
        allowed, fams = _unit_filter(tool, open(os.path.join(ROOT, "systemd",
                                                             "kyedns-%s.service" % name)).read())
        calls, used_fams = _traced_syscalls("%s/%s.st" % (t, name))
        assert "epoll_wait" in calls and "accept4" in calls, name
        assert sorted(calls - allowed) == [], "%s uses calls its unit forbids" % name
        assert sorted(used_fams - fams) == [], "%s uses families its unit forbids" % name


# ------------------------------------------------------- production pdns.d

def test_production_pdns_snippets_are_valid(tmp_path):
    """Debian's layout: pdns.conf with launch= and include-dir; pdns
    rejects unknown settings with --config=check."""
    d = tmp_path / "powerdns"
    (d / "pdns.d").mkdir(parents=True)
    for f in os.listdir(os.path.join(ROOT, "pdns-conf", "production")):
        shutil.copy(os.path.join(ROOT, "pdns-conf", "production", f), d / "pdns.d" / f)
    (d / "pdns.conf").write_text("include-dir=%s\nlaunch=\nsecurity-poll-suffix=\n" % (d / "pdns.d"))
    r = subprocess.run(["/usr/sbin/pdns_server", "--config-dir=%s" % d, "--config=check"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["/usr/sbin/pdns_server", "--config-dir=%s" % d, "--config=diff"],
                       capture_output=True, text=True, timeout=30)
    diff = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l and not l.startswith("#"))
    assert diff["launch"] == "remote"
    assert diff["primary"] == "yes" and diff["api"] == "yes"
    # Every setting is commented: the line before each one is a comment.
    for f in os.listdir(d / "pdns.d"):
        prev = ""
        for line in open(d / "pdns.d" / f):
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                assert prev.startswith("#"), "%s: %r has no comment" % (f, line)
            prev = line


def test_production_socket_permissions():
    """The systemd units' permission model, without systemd: the backend
    runs as an unprivileged user with supplementary group pdns and
    --socket-group pdns in a 0711 directory; pdns_server runs as user pdns
    (setuid/setgid) and must connect - and must not without the group."""
    import grp
    import pwd
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to switch users")
    try:
        pwd.getpwnam("pdns"), grp.getgrnam("pdns"), pwd.getpwnam("nobody"), grp.getgrnam("nogroup")
    except KeyError:
        pytest.skip("users pdns/nobody not present")
    # pytest's own temporary tree is 0700 root: the unprivileged backend
    # could not reach its store there.
    t = tempfile.mkdtemp(prefix="kyedns-perm-")
    try:
        _socket_permissions(t)
    finally:
        kill_tree_in(t)
        shutil.rmtree(t, ignore_errors=True)


def _socket_permissions(t):
    import grp
    import pwd
    os.chmod(t, 0o755)
    db, rundir = t + "/db", t + "/run"
    subprocess.run([binary("kyednsctl"), "--db", db, "zone", "add", "p.test", "--ns", "ns1.p.test"],
                   check=True, capture_output=True)
    os.mkdir(rundir)
    for d in (db, rundir):
        for root, dirs, files in os.walk(d):
            for x in [root] + [os.path.join(root, f) for f in files]:
                os.chown(x, pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
    os.chmod(rundir, 0o711)   # RuntimeDirectoryMode=
    os.chmod(db, 0o750)       # StateDirectoryMode=
    sock = rundir + "/backend.sock"
    for group_arg, works in (([], False), (["--socket-group", "pdns"], True)):
        backend = Spawned(["setpriv", "--reuid=nobody", "--regid=nogroup", "--groups=pdns",
                           "--inh-caps=-all", binary("kyedns-backend"), "--db", db, "--socket",
                           sock] + group_arg, env_clean())
        pdns = None
        try:
            wait_until(lambda: os.path.exists(sock), 10, "backend socket")
            st = os.stat(sock)
            assert st.st_mode & 0o777 == 0o660
            assert (st.st_gid == grp.getgrnam("pdns").gr_gid) == works
            port = free_port()
            conf = t + "/pdns%d" % works
            os.mkdir(conf)
            with open(conf + "/pdns.conf", "w") as f:
                f.write("launch=remote\nremote-connection-string=unix:path=%s\n"
                        "local-address=127.0.0.1:%d\nsocket-dir=%s\nsecurity-poll-suffix=\n"
                        "setuid=pdns\nsetgid=pdns\n" % (sock, port, conf))
            pdns = Spawned(["/usr/sbin/pdns_server", "--config-dir=" + conf, "--guardian=no",
                            "--daemon=no", "--disable-syslog", "--write-pid=no"], env_clean())
            if works:
                wait_until(lambda: dig_short(port, "p.test", "SOA")[:1] == ["ns1.p.test."], 15,
                           "pdns as user pdns answers through the socket")
            else:
                # pdns 4.7 exits when it cannot fill its zone cache.
                pdns.wait_for_line(r"Cannot connect to socket: Permission denied", 15)
        finally:
            if pdns:
                pdns.proc.terminate()
                pdns.wait(10)
            backend.proc.terminate()
            backend.wait(10)
            kill_tree_in(t)
    assert procs_in(t) == []


# ---------------------------------------------------------------- install

def test_make_install_staged(tmp_path):
    dest = str(tmp_path / "stage")
    cmd = make_cmd()
    if "mk/install.mk" not in open(os.path.join(ROOT, "Makefile")).read():
        cmd += ["-f", os.path.join(ROOT, "Makefile"), "-f", os.path.join(ROOT, "mk", "install.mk")]
    cmd += ["install", "DESTDIR=" + dest, "PREFIX=/usr"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env_clean())
    assert r.returncode == 0, r.stdout + r.stderr
    for b in ("kyedns-backend", "kyedns-updater", "kyednsctl"):
        assert os.access(dest + "/usr/bin/" + b, os.X_OK)
    unit = open(dest + "/usr/lib/systemd/system/kyedns-backend.service").read()
    assert "ExecStart=/usr/bin/kyedns-backend" in unit and "/usr/local" not in unit
    for f in ("/usr/lib/sysusers.d/kyedns.conf", "/usr/lib/tmpfiles.d/kyedns.conf",
              "/etc/systemd/system/pdns.service.d/kyedns.conf", "/etc/powerdns/pdns.d/00-kyedns.conf",
              "/usr/share/kyedns/pdns.d/kyedns-primary.conf", "/usr/share/doc/kyedns/README.md"):
        assert os.path.exists(dest + f), f
    assert os.stat(dest + "/etc/default/kyedns").st_mode & 0o777 == 0o600
    # sysusers.d and tmpfiles.d entries work, applied to the staged root.
    if shutil.which("systemd-sysusers") and shutil.which("systemd-tmpfiles"):
        os.makedirs(dest + "/etc", exist_ok=True)
        for f in ("passwd", "group"):
            shutil.copy("/etc/" + f, dest + "/etc/" + f)
        r = subprocess.run(["systemd-sysusers", "--root=" + dest, "kyedns.conf"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert re.search(r"^kyedns:x:\d+:\d+:.*:/var/lib/kyedns:/usr/sbin/nologin$",
                         open(dest + "/etc/passwd").read(), re.M)
        r = subprocess.run(["systemd-tmpfiles", "--root=" + dest, "--create", "kyedns.conf"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        st = os.stat(dest + "/var/lib/kyedns")
        assert st.st_mode & 0o777 == 0o750 and st.st_uid != 0
    assert os.stat(dest + "/etc/powerdns/pdns.d/kyedns-api.conf").st_mode & 0o777 == 0o640
    # A second install keeps local configuration.
    with open(dest + "/etc/default/kyedns", "a") as f:
        f.write("KYEDNS_LISTEN=0.0.0.0:8053\n")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env_clean())
    assert r.returncode == 0 and "keeping existing" in r.stdout
    assert "KYEDNS_LISTEN=0.0.0.0:8053" in open(dest + "/etc/default/kyedns").read()
    r = subprocess.run([c for c in cmd if c != "install"] + ["uninstall"], capture_output=True,
                       text=True, timeout=120, env=env_clean())
    assert r.returncode == 0
    assert not os.path.exists(dest + "/usr/bin/kyednsctl")
    assert os.path.exists(dest + "/etc/default/kyedns")


# ------------------------------------------------------------- monitoring

def test_monitoring_files():
    import yaml
    d = os.path.join(ROOT, "monitoring")
    dash = json.load(open(os.path.join(d, "grafana-dashboard.json")))
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    titles = " ".join(p["title"] for p in dash["panels"]).lower()
    for want in ("update results", "commit latency", "queries", "latency", "cache hit", "backend"):
        assert want in titles, want
    prom = yaml.safe_load(open(os.path.join(d, "prometheus.yml")))
    targets = {j["job_name"]: j["static_configs"][0]["targets"] for j in prom["scrape_configs"]}
    assert targets["pdns"] == ["127.0.0.1:8081"] and targets["kyedns-updater"] == ["127.0.0.1:8053"]
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "config", os.path.join(d, "prometheus.yml")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
