"""The Debian package (`make deb`, debian/): what it contains, what its
maintainer scripts do, and the release files it depends on (LICENSE,
CHANGELOG.md, the one version).

The maintainer scripts run against a throwaway root (DPKG_ROOT, the way
dpkg runs them for `dpkg --root`) with a PATH of recording shims and
nothing else: every command they call is recorded, one that has no shim
fails the script, systemd-sysusers and systemd-tmpfiles really run but only
with --root= that directory.  CI installs the package for real
(tests/ci/deb-install.sh).
"""
import glob
import gzip
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT
from ops_util import env_clean, make_cmd

PROGS = ("kyedns-backend", "kyedns-updater", "kyednsctl")


def version():
    return re.search(r'^#define KYEDNS_VERSION "(.+)"', open(os.path.join(ROOT, "common", "version.h")).read(),
                     re.M).group(1)


# ------------------------------------------------------------ release files

def test_versions_agree():
    v = version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", v)
    first = open(os.path.join(ROOT, "debian", "changelog")).readline()
    assert re.match(r"^kyedns \(%s\) " % re.escape(v), first), first
    assert re.search(r"^## %s - \d{4}-\d\d-\d\d$" % re.escape(v),
                     open(os.path.join(ROOT, "CHANGELOG.md")).read(), re.M)
    if shutil.which("dpkg-parsechangelog"):
        r = subprocess.run(["dpkg-parsechangelog", "-l", os.path.join(ROOT, "debian", "changelog"),
                            "-S", "Version"], capture_output=True, text=True)
        assert r.stdout.strip() == v, r.stderr


def test_license_and_copyright_agree():
    lic = open(os.path.join(ROOT, "LICENSE")).read()
    assert lic.startswith("MIT License\n") and "Copyright (c) " in lic
    cp = open(os.path.join(ROOT, "debian", "copyright")).read()
    assert cp.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/")
    holder = re.search(r"^Copyright \(c\) (\d{4}) (.+)$", lic, re.M)
    assert re.search(r"^Copyright: %s %s$" % holder.groups(), cp, re.M)
    # The licence text, paragraph for paragraph (DEP-5: " ." is a blank line).
    body = re.search(r"^License: Expat\n((?: .*\n?)+)", cp, re.M).group(1)
    body = "\n".join("" if l.strip() == "." else l[1:] for l in body.rstrip("\n").split("\n"))
    norm = lambda s: re.sub(r"\s+", " ", s).strip()
    assert norm(body) == norm(lic[lic.index("Permission"):])


# ----------------------------------------------------------------- the .deb

def test_make_deb_refuses_a_stale_changelog(tmp_path):
    r = subprocess.run(make_cmd("deb", "DEB_DIR=%s/deb" % tmp_path, "DEB_VERSION=0.0.1"), capture_output=True,
                       text=True, timeout=60, env=env_clean())
    if "make deb needs" in r.stderr:
        pytest.skip("debhelper not installed")
    assert r.returncode != 0
    assert "debian/changelog is at version 0.0.1, common/version.h at %s" % version() in r.stderr
    assert not os.path.exists(tmp_path / "deb")


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    if not (shutil.which("dpkg-buildpackage") and shutil.which("dh")):
        pytest.skip("debhelper not installed (scripts/deps.sh installs it)")
    out = str(tmp_path_factory.mktemp("deb"))
    env = env_clean(DEB_BUILD_OPTIONS="nocheck")  # `make test` runs the unit tests itself
    r = subprocess.run(make_cmd("deb", "DEB_DIR=" + out), capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    main = glob.glob(os.path.join(out, "kyedns_*.deb"))
    assert len(main) == 1, os.listdir(out)
    assert not os.path.exists(os.path.join(out, "src")), "make deb left its copy of the tree"
    return out, main[0]


def deb_files(deb):
    """{path: mode string} of dpkg-deb -c."""
    r = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True)
    files = {}
    for line in r.stdout.splitlines():
        f = line.split()
        files[f[5].lstrip(".")] = f[0]
    return files


def test_deb_contents(debs):
    _, deb = debs
    files = deb_files(deb)
    v = version()
    want = ["/usr/bin/" + p for p in PROGS] + ["/usr/share/man/man8/%s.8.gz" % p for p in PROGS]
    units = sorted(os.path.basename(u) for u in glob.glob(os.path.join(ROOT, "systemd", "*.service")) +
                   glob.glob(os.path.join(ROOT, "systemd", "*.socket")))
    assert "kyedns-backend.service" in units and "kyedns-updater.service" in units
    want += ["/lib/systemd/system/" + u for u in units]
    want += ["/usr/lib/sysusers.d/kyedns.conf", "/usr/lib/tmpfiles.d/kyedns.conf", "/etc/default/kyedns",
             "/usr/share/kyedns/systemd/pdns.service.d/kyedns.conf",
             "/usr/share/kyedns/systemd/pdns.service.d/kyedns-pipe.conf",
             "/usr/share/kyedns/monitoring/prometheus.yml", "/usr/share/kyedns/monitoring/grafana-dashboard.json",
             "/usr/share/doc/kyedns/copyright", "/usr/share/doc/kyedns/changelog.gz"]
    want += ["/usr/share/kyedns/pdns.d/" + os.path.basename(f)
             for f in glob.glob(os.path.join(ROOT, "pdns-conf", "production", "*.conf"))]
    for f in want:
        assert f in files, f
    for doc in ("README.md", "CHANGELOG.md", "monitoring.md", "secondaries.md"):
        assert "/usr/share/doc/kyedns/" + doc in files or "/usr/share/doc/kyedns/%s.gz" % doc in files, doc
    # All units of the package are ours, nothing else systemd-wise.
    assert sorted(f.rsplit("/", 1)[1] for f in files
                  if f.startswith("/lib/systemd/system/") and not f.endswith("/")) == units
    for p in PROGS:
        assert files["/usr/bin/" + p] == "-rwxr-xr-x"
    # Nothing that switches anything on in pdns or systemd: the only file
    # under /etc is /etc/default/kyedns (0600: it will hold the API key).
    assert [f for f in files if f.startswith("/etc/") and not f.endswith("/")] == ["/etc/default/kyedns"]
    assert files["/etc/default/kyedns"] == "-rw-------"
    assert not [f for f in files if "pdns.service.d" in f and not f.startswith("/usr/share/kyedns/")]
    assert "/usr/share/doc/kyedns/LICENSE" not in files  # debian/copyright carries it

    info = subprocess.run(["dpkg-deb", "-f", deb], capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"^(\S+): (.*)$", info, re.M))
    assert fields["Package"] == "kyedns" and fields["Version"] == v
    dep = fields["Depends"]
    for lib in ("libuv1", "libjansson4", "liblmdb0", "libsodium23", "libsystemd0", "libcurl4", "libidn2-0"):
        assert re.search(r"\b%s\b" % re.escape(lib), dep), (lib, dep)
    assert "systemd-sysusers" in dep  # dh_installsysusers' alternative
    assert "pdns" not in dep and "pdns-server" in fields.get("Recommends", "")
    r = subprocess.run(["dpkg-deb", "-I", deb, "conffiles"], capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["/etc/default/kyedns"]


@pytest.fixture(scope="module")
def extracted(debs, tmp_path_factory):
    _, deb = debs
    d = tmp_path_factory.mktemp("x")
    root, ctl = str(d / "root"), str(d / "DEBIAN")
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    subprocess.run(["dpkg-deb", "-e", deb, ctl], check=True)
    return root, ctl


def test_installed_files_work(extracted, tmp_path):
    root, _ = extracted
    v = version()
    for p in PROGS:
        r = subprocess.run([root + "/usr/bin/" + p, "--version"], capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and v in r.stdout, (p, r.stdout, r.stderr)
        page = root + "/usr/share/man/man8/%s.8.gz" % p
        text = gzip.open(page, "rt").read()
        assert v in text and re.search(r"^\.SH (NAME|OPTIONS)", text, re.M)
        if shutil.which("man"):
            w = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                               env=dict(env_clean(), MANWIDTH="80"))
            assert w.returncode == 0 and w.stderr.strip() == "", (p, w.stderr)
    # Units name the packaged paths, and no unit listens on a network port.
    units = glob.glob(root + "/lib/systemd/system/*")
    for u in units:
        text = open(u).read()
        assert "/usr/local" not in text, u
        for m in re.finditer(r"^Listen(?:Stream|Datagram|SequentialPacket)=(.*)$", text, re.M):
            assert m.group(1).startswith("/"), (u, m.group(0))
        for doc in re.findall(r"^Documentation=(.*)$", text, re.M):
            for ref in doc.split():
                if ref.startswith("file:"):
                    assert os.path.isfile(root + ref[5:]), (u, ref)
                elif ref.startswith("man:"):
                    page = re.match(r"man:([^(]+)\((\d)\)$", ref)
                    assert page and os.path.exists(root + "/usr/share/man/man%s/%s.%s.gz" % (
                        page.group(2), page.group(1), page.group(2))), (u, ref)
    svc = open(root + "/lib/systemd/system/kyedns-backend.service").read()
    assert "ExecStart=/usr/bin/kyedns-backend" in svc
    # systemd-analyze verify, with ExecStart pointing into the extracted root.
    if shutil.which("systemd-analyze"):
        copies = []
        for u in units:
            dst = tmp_path / os.path.basename(u)
            dst.write_text(re.sub(r"(?<=[=\s])/usr/bin/(kyedns-[a-z]+)", root + r"/usr/bin/\1", open(u).read()))
            copies.append(str(dst))
        r = subprocess.run(["systemd-analyze", "verify"] + copies, capture_output=True, text=True, timeout=60)
        ours = [l for l in (r.stdout + r.stderr).splitlines() if "kyedns" in l]
        assert r.returncode == 0 and ours == [], r.stdout + r.stderr


# --------------------------------------------------------- maintainer scripts

ALLOWED = {"systemd-sysusers", "systemd-tmpfiles", "deb-systemd-helper", "deb-systemd-invoke",
           "systemctl", "rmdir"}
# Shimmed too, so that a call is recorded (and fails the test) instead of
# running for real.
FORBIDDEN = {"invoke-rc.d", "service", "update-rc.d", "adduser", "addgroup", "useradd", "groupadd",
             "usermod", "chown", "chmod", "chgrp", "rm", "mv", "cp", "ln", "install", "mkdir", "touch",
             "pdns_server", "pdns_control", "kyedns-backend", "kyedns-updater", "kyednsctl",
             "dpkg-trigger", "dpkg-maintscript-helper", "ucf", "sed", "ss", "setcap", "systemd-notify",
             "sudo", "runuser", "su", "sh", "bash", "env", "cat", "grep"}


class Scripts:
    """Runs the package's maintainer scripts against a throwaway root."""

    def __init__(self, tmp, root, ctl, systemd_running):
        self.tmp, self.root, self.ctl = tmp, root, ctl
        self.log = os.path.join(tmp, "calls.log")
        self.shims = os.path.join(tmp, "shims")
        self.systemd_dir = os.path.join(tmp, "run-systemd-system")
        if systemd_running:
            os.makedirs(self.systemd_dir, exist_ok=True)
        os.makedirs(self.shims, exist_ok=True)
        self.state = os.path.join(tmp, "state")  # "fresh" or "installed"
        self.set_state("fresh")
        for name in ALLOWED | FORBIDDEN:
            self._shim(name)

    def set_state(self, s):
        with open(self.state, "w") as f:
            f.write(s)

    def _shim(self, name):
        real = shutil.which(name) or "/nonexistent"
        body = 'echo "%s $*" >> %s\n' % (name, self.log)
        if name in ("systemd-sysusers", "systemd-tmpfiles"):
            # Real work, but only inside the throwaway root.
            body += ('case "$1" in --root=%s) ;; *) echo "not under the test root" >&2; exit 97 ;; esac\n'
                     'exec %s "$@"\n' % (self.root, real))
        elif name == "rmdir":
            body += ('for a; do case "$a" in -*|%s/*) ;; *) echo "rmdir outside the root" >&2; exit 97 ;; '
                     'esac; done\nexec %s "$@"\n' % (self.root, real))
        elif name == "deb-systemd-helper":
            # The units were never enabled by the administrator; whether the
            # package was installed before is the state file.
            body += ('case "$1" in\n'
                     'debian-installed) [ "$(/bin/cat %s 2>/dev/null)" = installed ] ;;\n'
                     '--quiet) exit 1 ;;\n'
                     'was-enabled) exit 1 ;;\n'
                     '*) exit 0 ;;\nesac\n' % self.state)
        elif name in ALLOWED:
            body += "exit 0\n"
        else:
            body += "exit 98\n"
        p = os.path.join(self.shims, name)
        with open(p, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(p, 0o755)

    def run(self, script, *args, dpkg_root=True):
        path = os.path.join(self.ctl, script)
        if not os.path.exists(path):
            return []
        text = open(path).read()
        # "Is systemd running?" is a test of /run/systemd/system: point it
        # at a directory of this test.
        text = text.replace("/run/systemd/system", self.systemd_dir)
        text = text.replace('[ -x "/usr/bin/deb-systemd-helper" ]', '[ -x "%s/deb-systemd-helper" ]' % self.shims)
        copy = os.path.join(self.tmp, script)
        with open(copy, "w") as f:
            f.write(text)
        open(self.log, "w").close()
        env = {"PATH": self.shims, "DPKG_MAINTSCRIPT_PACKAGE": "kyedns",
               "DPKG_MAINTSCRIPT_NAME": script, "LC_ALL": "C"}
        if dpkg_root:
            env["DPKG_ROOT"] = self.root
        r = subprocess.run(["/bin/sh", copy] + list(args), capture_output=True, text=True, env=env, timeout=60)
        calls = open(self.log).read().splitlines()
        assert r.returncode == 0, (script, args, r.stdout, r.stderr, calls)
        for c in calls:
            assert c.split()[0] in ALLOWED, (script, args, c, calls)
            # Nothing about pdns, nothing enabled, nothing on port 53.
            assert "pdns" not in c and ":53" not in c, c
            assert not re.match(r"deb-systemd-helper (enable|unmask --now)", c), c
            assert not re.match(r"systemctl (enable|start|restart|reload)", c), c
        return calls


@pytest.fixture
def fake_root(extracted, tmp_path):
    """A copy of the extracted package with this system's passwd and group."""
    root = str(tmp_path / "root")
    shutil.copytree(extracted[0], root, symlinks=True)
    os.makedirs(root + "/etc", exist_ok=True)
    for f in ("passwd", "group"):
        shutil.copy("/etc/" + f, root + "/etc/" + f)
    return root


def _sysusers_works():
    return os.geteuid() == 0 and shutil.which("systemd-sysusers") and shutil.which("systemd-tmpfiles")


@pytest.mark.parametrize("systemd_running", [False, True])
def test_maintainer_scripts(extracted, fake_root, tmp_path, systemd_running):
    if not _sysusers_works():
        pytest.skip("needs root and systemd-sysusers/systemd-tmpfiles")
    s = Scripts(str(tmp_path), fake_root, extracted[1], systemd_running)
    ours = {"kyedns-backend.service", "kyedns-updater.service", "kyedns-backend.socket"}

    # Fresh install.
    s.run("preinst", "install")
    calls = s.run("postinst", "configure")
    assert calls[0] == "systemd-sysusers --root=%s kyedns.conf" % fake_root, calls
    assert "systemd-tmpfiles --root=%s --create kyedns.conf" % fake_root in calls
    assert calls.index("systemd-tmpfiles --root=%s --create kyedns.conf" % fake_root) > 0
    assert re.search(r"^kyedns:x:(\d+):(\d+):[^:]*:/var/lib/kyedns:/usr/sbin/nologin$",
                     open(fake_root + "/etc/passwd").read(), re.M)
    st = os.stat(fake_root + "/var/lib/kyedns")
    assert st.st_mode & 0o777 == 0o750 and st.st_uid != 0
    invokes = [c for c in calls if c.startswith("deb-systemd-invoke")]
    if systemd_running:
        assert "systemctl --system daemon-reload" in calls
        # deb-systemd-invoke starts only units that are enabled, and none is.
        for c in invokes:
            action, units = c.split()[1], set(c.split()[2:])
            assert action == "start" and units <= ours | {"kyedns-backend.socket"}, c
    else:
        assert invokes == [] and not [c for c in calls if c.startswith("systemctl")]

    # Upgrade: configure again with the old version (idempotent).
    s.set_state("installed")
    s.run("prerm", "upgrade", version())
    calls = s.run("postinst", "configure", "0.1.0")
    assert len([l for l in open(fake_root + "/etc/passwd") if l.startswith("kyedns:")]) == 1
    for c in calls:
        if c.startswith("deb-systemd-invoke"):
            assert c.split()[1] in ("restart", "try-restart") and set(c.split()[2:]) <= ours, c

    # Removal, then purge: an empty store directory goes, the user stays.
    # (prerm stops units only on the running system, not under DPKG_ROOT.)
    calls = s.run("prerm", "remove", dpkg_root=False)
    if systemd_running:
        stops = [c for c in calls if c.startswith("deb-systemd-invoke")]
        assert stops and all(c.split()[1] == "stop" and set(c.split()[2:]) <= ours for c in stops), calls
    else:
        assert calls == []
    s.run("postrm", "remove")
    assert os.path.isdir(fake_root + "/var/lib/kyedns")
    calls = s.run("postrm", "purge")
    assert any(c.startswith("deb-systemd-helper purge") for c in calls), calls
    assert not os.path.exists(fake_root + "/var/lib/kyedns")

    # A purge never deletes a store.
    os.makedirs(fake_root + "/var/lib/kyedns")
    open(fake_root + "/var/lib/kyedns/data.mdb", "w").close()
    s.run("postrm", "purge")
    assert os.path.exists(fake_root + "/var/lib/kyedns/data.mdb")


def test_lintian(debs):
    if not shutil.which("lintian"):
        pytest.skip("lintian not installed (scripts/deps.sh installs it)")
    out, _ = debs
    changes = glob.glob(os.path.join(out, "*.changes"))
    assert len(changes) == 1
    r = subprocess.run(["lintian", "--fail-on", "error,warning", changes[0]], capture_output=True,
                       text=True, timeout=300)
    tags = [l for l in r.stdout.splitlines() if re.match(r"^[EW]: ", l)]
    assert r.returncode == 0 and tags == [], r.stdout + r.stderr
