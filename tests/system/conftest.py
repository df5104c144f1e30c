"""Shared fixtures of the system tests.

Every test runs real processes (kyednsctl, kyedns-backend, kyedns-updater,
pdns_server, dig, curl, ddclient) in its own temporary directory, on free
loopback ports, and cleans up after itself.  Binaries come from
$KYEDNS_BUILD (set by `make test`), else build/ beside this tree.
"""
import json
import os
import socket
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("KYEDNS_BUILD") or os.path.join(ROOT, "build")


def binary(name):
    """Absolute path of a built program (kyednsctl, kyedns-backend, ...)."""
    path = os.path.join(BUILD, name)
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built (run make)" % path)
    return path


def free_port(udp_too=True):
    """A loopback port that is free for TCP (and UDP, for DNS servers) now."""
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        if udp_too:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                t.close()
                continue
            u.close()
        t.close()
        return port
    raise RuntimeError("no free port")


class Ctl:
    """Runs kyednsctl against one store directory."""

    def __init__(self, db):
        self.db = db
        self.path = binary("kyednsctl")

    def run(self, *args, check=True, input=None, env=None):
        """Returns the CompletedProcess; check=True asserts exit status 0."""
        e = dict(os.environ)
        e.pop("KYEDNS_DB", None)
        if env:
            e.update(env)
        p = subprocess.run([self.path, "--db", self.db] + [str(a) for a in args],
                           input=input, capture_output=True, text=True, env=e,
                           timeout=300)
        if check and p.returncode != 0:
            raise AssertionError("kyednsctl %s failed (%d): %s" %
                                 (" ".join(map(str, args)), p.returncode, p.stderr))
        return p

    def json(self, *args):
        """Runs with --json and returns the parsed output."""
        p = self.run("--json", *args)
        return json.loads(p.stdout)

    def fail(self, *args):
        """Runs, asserts a non-zero exit and one line on stderr; returns it."""
        p = self.run(*args, check=False)
        assert p.returncode != 0, "kyednsctl %s should fail" % " ".join(map(str, args))
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1, "want one error line, got %r" % p.stderr
        return lines[0]


@pytest.fixture
def store(tmp_path):
    """A fresh, empty store directory path (created by the first write)."""
    return str(tmp_path / "db")


@pytest.fixture
def ctl(store):
    return Ctl(store)
