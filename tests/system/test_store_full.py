"""A store whose disk is full: updates answer 911, nothing is half-written,
the daemons keep running, and writes work again once there is room.

The store lives on a small tmpfs of its own (needs root to mount, as CI
is); a filler file takes the remaining space.
"""
import os
import subprocess

import pytest

from conftest import Ctl
from updater_util import Updater, curl, host_addrs

TOKEN = "fulltoken-0123456789abcdef"


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % r.stderr.strip())
    try:
        yield str(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path):
    """Writes a file until the filesystem is full; returns its path."""
    f = os.path.join(path, "filler")
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return f


def test_disk_full_gives_911_and_recovers(small_fs, tmp_path):
    db = os.path.join(small_fs, "db")
    ctl = Ctl(db)
    ctl.run("zone", "add", "full.test", "--ns", "ns1.full.test")
    ctl.run("host", "add", "h.full.test", "--token", TOKEN, "--ipv4", "192.0.2.1")
    filler = fill(small_fs)
    user = ("h.full.test", TOKEN)
    with Updater(db, tmp_path, rate=False) as up:
        up.wait_ready()
        r = curl(up.url("/nic/update?hostname=h.full.test&myip=198.51.100.7"), user=user)
        assert (r.status, r.body) == (500, "911\n")
        # nothing half-written, and the unchanged path still answers
        assert host_addrs(ctl, "h.full.test")[0] == "192.0.2.1"
        r = curl(up.url("/nic/update?hostname=h.full.test&myip=192.0.2.1"), user=user)
        assert (r.status, r.body) == (200, "nochg 192.0.2.1\n")
        assert curl(up.url("/health")).status == 200
        # kyednsctl gets one clear line, too
        p = ctl.run("record", "add", "x.full.test", "A", "192.0.2.9", check=False)
        assert p.returncode == 1 and "no space left" in p.stderr.lower()
        assert len(p.stderr.strip().splitlines()) == 1
        # room again: the same update goes through
        os.unlink(filler)
        r = curl(up.url("/nic/update?hostname=h.full.test&myip=198.51.100.7"), user=user)
        assert (r.status, r.body) == (200, "good 198.51.100.7\n")
    assert host_addrs(ctl, "h.full.test")[0] == "198.51.100.7"
    assert "911" in open(up.log).read() or "no space" in open(up.log).read().lower()
