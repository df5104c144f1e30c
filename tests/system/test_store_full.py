"""A store whose disk is full: updates answer 911, nothing is half-written,
the daemons keep running, and writes work again once there is room.

Two ways to fill the disk: a small tmpfs of its own with a filler file
taking the remaining space (needs root to mount, as CI is), and, for any
user, an LD_PRELOAD shim (tests/shim/failio.c) under both the updater and
kyednsctl that fails every write and sync of data.mdb with ENOSPC while a
trigger file exists.
"""
import os
import subprocess

import pytest

from conftest import Ctl
from test_durability import build_shim, preload
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


def check_full_then_room(ctl, db, tmp_path, make_room, env=None):
    """With the disk full: 911, nothing half-written, the daemons and the
    unchanged path go on; after make_room() the same update goes through."""
    user = ("h.full.test", TOKEN)
    with Updater(db, tmp_path, rate=False, env=env) as up:
        up.wait_ready()
        r = curl(up.url("/nic/update?hostname=h.full.test&myip=198.51.100.7"), user=user)
        assert (r.status, r.body) == (500, "911\n")
        # nothing half-written, and the unchanged path still answers
        assert host_addrs(ctl, "h.full.test")[0] == "192.0.2.1"
        r = curl(up.url("/nic/update?hostname=h.full.test&myip=192.0.2.1"), user=user)
        assert (r.status, r.body) == (200, "nochg 192.0.2.1\n")
        assert curl(up.url("/health")).status == 200
        # kyednsctl gets one clear line, too
        p = ctl.run("record", "add", "x.full.test", "A", "192.0.2.9", check=False, env=env)
        assert p.returncode == 1 and "no space left" in p.stderr.lower()
        assert len(p.stderr.strip().splitlines()) == 1
        # room again: the same update goes through
        make_room()
        r = curl(up.url("/nic/update?hostname=h.full.test&myip=198.51.100.7"), user=user)
        assert (r.status, r.body) == (200, "good 198.51.100.7\n")
    assert host_addrs(ctl, "h.full.test")[0] == "198.51.100.7"
    assert "911" in open(up.log).read() or "no space" in open(up.log).read().lower()


def setup_store(db):
    ctl = Ctl(db)
    ctl.run("zone", "add", "full.test", "--ns", "ns1.full.test")
    ctl.run("host", "add", "h.full.test", "--token", TOKEN, "--ipv4", "192.0.2.1")
    return ctl


def test_disk_full_gives_911_and_recovers(small_fs, tmp_path):
    db = os.path.join(small_fs, "db")
    ctl = setup_store(db)
    filler = fill(small_fs)
    check_full_then_room(ctl, db, tmp_path, lambda: os.unlink(filler))


def test_failed_commit_gives_911_and_recovers_without_root(tmp_path):
    db = str(tmp_path / "db")
    ctl = setup_store(db)
    trigger = tmp_path / "disk-full"
    env = dict(preload(build_shim("failio", tmp_path)), FAILIO_TRIGGER=str(trigger))
    trigger.write_text("")
    check_full_then_room(ctl, db, tmp_path, trigger.unlink, env=env)
    # the failed commits left the store whole
    assert subprocess.run(["mdb_stat", "-a", db], capture_output=True).returncode == 0
