"""The durability promise: `good` goes out only after its commit is on disk,
and `kyednsctl host import` ends with its store synced.

An LD_PRELOAD shim (tests/shim/syncspy.c, built here with cc) logs every
write to data.mdb, every fdatasync/fsync/msync, and every socket write that
carries a `good` answer, in one process-wide order.  A write is durable once
a sync of data.mdb follows it, or when it went through an O_DSYNC descriptor
(LMDB writes its meta page that way).  A store opened with MDB_NOSYNC, or an
import that skips its final sync, leaves writes that are not durable.

A crash test that really loses un-synced pages (dm-flakey, or dropping a
write-back layer) needs the kernel's device-mapper; this test machine's
kernel has none (dmsetup: "Failure to communicate with kernel
device-mapper driver"), so the ordering check above stands in for it.
"""
import os
import subprocess

import pytest

from conftest import Ctl
from updater_util import Updater, curl

SHIM_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "shim")
TOKEN = "durabletoken-0123456789abcdef"


def build_shim(name, outdir):
    """Compiles tests/shim/NAME.c into OUTDIR/NAME.so; returns its path."""
    out = os.path.join(str(outdir), name + ".so")
    subprocess.run(["cc", "-std=c11", "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-o", out, os.path.join(SHIM_DIR, name + ".c")], check=True)
    return out


def preload(so):
    """Environment that preloads the shim so; under the ASan build the
    sanitizer runtime then is not first in the list, which is fine here
    (the shim only passes calls on)."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"LD_PRELOAD": so,
            "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}


def read_events(path, with_time=False):
    """The shim's log as (seq, kind, fd, extra) tuples in seq order; with
    with_time, (seq, kind, fd, extra, ns, offset)."""
    ev = []
    with open(path) as f:
        for line in f:
            p = line.split()
            e = (int(p[0]), p[2], int(p[3]), p[4] if len(p) > 4 else "")
            if with_time:
                e += (int(p[1]), int(p[5]) if p[2] == "W" else None)
            ev.append(e)
    ev.sort()
    return ev


def unsynced_before(ev, limit):
    """Seqs of data.mdb writes before seq LIMIT that no sync before LIMIT
    covers (an O_DSYNC write covers itself)."""
    syncs = [s for s, k, _, _ in ev if k == "S" and s < limit]
    return [s for s, k, _, dsync in ev
            if k == "W" and s < limit and dsync != "1" and not any(x > s for x in syncs)]


@pytest.fixture
def spy(tmp_path):
    so = build_shim("syncspy", tmp_path)
    log = str(tmp_path / "syncspy.log")
    return dict(preload(so), SYNCSPY_LOG=log), log


def test_good_only_after_commit_is_synced(tmp_path, spy):
    env, log = spy
    db = str(tmp_path / "db")
    ctl = Ctl(db)
    ctl.run("zone", "add", "dur.test", "--ns", "ns1.dur.test")
    for h in ("a", "b"):
        ctl.run("host", "add", "%s.dur.test" % h, "--token", TOKEN)
    ips = ["198.51.100.%d" % i for i in range(1, 6)]
    with Updater(db, tmp_path, env=env, rate=False) as up:
        up.wait_ready()
        for ip in ips:
            r = curl(up.url("/nic/update?hostname=a.dur.test&myip=" + ip), user=("a.dur.test", TOKEN))
            assert (r.status, r.body) == (200, "good %s\n" % ip)
        r = curl(up.url("/nic/update?hostname=b.dur.test&myip=2001:db8::7"), user=("b.dur.test", TOKEN))
        assert (r.status, r.body) == (200, "good 2001:db8::7\n")
    ev = read_events(log)
    replies = [s for s, k, _, _ in ev if k == "R"]
    assert len(replies) == len(ips) + 1, "the shim saw %d good answers" % len(replies)
    for r in replies:
        # each good answer has its own commit before it ...
        assert any(k == "W" and s < r for s, k, _, _ in ev)
        # ... and everything written before it is on disk
        bad = unsynced_before(ev, r)
        assert not bad, "good (event %d) sent before data.mdb writes %s were synced" % (r, bad)
    commits = [s for s, k, _, _ in ev if k == "W"]
    assert len(commits) >= 2 * len(replies)  # pages and meta page of each commit


def test_host_import_ends_synced(tmp_path, spy):
    env, log = spy
    db = str(tmp_path / "db")
    ctl = Ctl(db)
    ctl.run("zone", "add", "imp.test", "--ns", "ns1.imp.test")
    f = tmp_path / "hosts.txt"
    f.write_text("".join("h%d.imp.test - 192.0.2.%d\n" % (i, i % 250 + 1) for i in range(3000)))
    p = ctl.run("host", "import", str(f), env=env)
    assert p.stdout.splitlines()[-1].startswith("# imported 3000 hosts")
    ev = read_events(log)
    writes = [s for s, k, _, _ in ev if k == "W"]
    assert writes, "the shim saw no write to data.mdb"
    bad = unsynced_before(ev, ev[-1][0] + 1)
    assert not bad, "host import exited with data.mdb writes %s not synced" % bad
    assert ctl.json("zone", "show", "imp.test")["hosts"] == 3000


def test_host_import_never_holds_the_writer_long(tmp_path, spy):
    """Issue 10 item 14: each write txn of an import holds the store's only
    writer lock, and every dynamic update waits for it.  Commits (writes of
    LMDB's meta pages, in the first two pages) must follow each other within
    a fraction of a second; 50,000-host txns held the lock 0.25-0.5 s."""
    env, log = spy
    db = str(tmp_path / "db")
    ctl = Ctl(db)
    ctl.run("zone", "add", "big.test", "--ns", "ns1.big.test")
    n = 120000
    f = tmp_path / "hosts.txt"
    f.write_text("".join("h%06d.big.test - 198.18.%d.%d\n" % (i, i // 250 % 250, i % 250 + 1)
                         for i in range(n)))
    p = ctl.run("host", "import", str(f), env=env)
    assert p.stdout.splitlines()[-1].startswith("# imported %d hosts" % n)
    commits = [ns for _, k, _, _, ns, off in read_events(log, with_time=True)
               if k == "W" and 0 <= off < 8192]
    assert len(commits) >= 6, "only %d commits for %d hosts" % (len(commits), n)
    gaps = [(b - a) / 1e6 for a, b in zip(commits, commits[1:])]
    # The batches aim at about 20 ms; the bound is wide because this runs on
    # two shared cores (gaps reached 111 ms under load average 7), and the
    # old 50,000-host batches, which held the writer 250-500 ms, fail the
    # commit count above anyway.
    assert max(gaps) < 300, "the writer was held up to %.0f ms between commits" % max(gaps)
    assert ctl.json("zone", "show", "big.test")["hosts"] == n
