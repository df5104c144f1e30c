"""Statistics of the whole service, not of one process (backend/stats.h).

With pdns's pipe connector every pdns backend instance is its own
kyedns-backend --stdio process, and `pdnsutil backend-cmd remote metrics`
is answered by a fresh one that pdns SIGKILLs right after.  These tests run
a real pdns_server in pipe mode and check that stats and metrics report the
sum over the live and the dead processes, count the live ones, stay valid
for promtool, and never go backwards: not when a process is killed, not
across pdnsutil runs, not across a restart of the unix-socket backend.
"""
import os
import signal
import time

from backend_util import start_pdns, start_stack
from conftest import binary
from test_backend_ops import PROMTOOL, fill, promtool_check, samples, wait_for

NO_CACHE = {"cache-ttl": 0, "query-cache-ttl": 0, "negquery-cache-ttl": 0}


def pipe_settings(db):
    s = dict(NO_CACHE)
    s["remote-connection-string"] = "pipe:command=%s --stdio --db=%s,timeout=2000" % (
        binary("kyedns-backend"), db)
    return s


def children(pids):
    """The kyedns-backend processes whose parent is in pids."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv0 = f.read().split(b"\0")[0]
        except (OSError, IndexError, ValueError):
            continue
        if ppid in pids and argv0.endswith(b"kyedns-backend"):
            out.append(int(d))
    return sorted(out)


def workers(pdns):
    """The serving kyedns-backend processes of pdns: pdns's coprocesses
    (keepers) each run one worker, which is the process that counts."""
    return children(children([pdns.proc.pid]))


def metrics(pdns):
    text = pdns.pdnsutil("backend-cmd", "remote", "metrics")
    if os.access(PROMTOOL, os.X_OK):
        assert promtool_check(text) == (0, "")
    return samples(text)


def stats(pdns):
    out = {}
    for ln in pdns.pdnsutil("backend-cmd", "remote", "stats").splitlines():
        k, _, v = ln.partition(" ")
        if v.isdigit():
            out[k] = int(v)
    return out


def settled(pdns, fetch, key):
    """fetch(pdns) once its count of processes (key) is pdns's workers and
    the one pdnsutil runs: a worker just started or killed may not have
    claimed or let go of its slot yet."""
    def ok():
        m = fetch(pdns)
        return m if m[key] == len(workers(pdns)) + 1 else None
    return wait_for(ok, what="%s == workers + 1" % key)


LOOKUPS = 'kyedns_backend_requests_total{method="lookup"}'
DIRECT = 'kyedns_backend_requests_total{method="directBackendCmd"}'


def test_pipe_mode_reports_every_process(tmp_path, ctl, store):
    fill(ctl)
    pdns = start_pdns(tmp_path, None, pipe_settings(store))
    try:
        for _ in range(60):
            pdns.query("www.example.com.")
        assert len(workers(pdns)) >= 2  # distributors, receiver, communicator
        # the sum over every process: no single one answered all 60; the
        # live ones are pdns's and the one pdnsutil runs
        s = settled(pdns, metrics, "kyedns_backend_processes")
        assert s[LOOKUPS] >= 60
        assert s["kyedns_backend_start_time_seconds"] <= time.time()
        assert s["kyedns_backend_connections_open"] == s["kyedns_backend_processes"]

        # a worker killed with SIGKILL (its keeper starts another): its
        # counts stay, and it is no longer counted as a process
        before = metrics(pdns)
        victim = workers(pdns)[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: victim not in workers(pdns), what="the worker's end")
        after = metrics(pdns)
        assert after[LOOKUPS] >= before[LOOKUPS]
        assert after[DIRECT] == before[DIRECT] + 1
        for _ in range(20):
            pdns.query("www.example.com.")
        assert metrics(pdns)[LOOKUPS] >= before[LOOKUPS] + 20

        # the human text: the same sums
        t = settled(pdns, stats, "processes")
        assert victim not in workers(pdns)
        assert t["lookup_count"] >= before[LOOKUPS] + 20
        assert 0 <= t["uptime_seconds"] < 300
    finally:
        pdns.stop()


def test_short_lived_processes_stay_counted(tmp_path, ctl, store):
    """Each pdnsutil run is a process pdns-util kills after its reply; the
    next run sees its directBackendCmd counted."""
    fill(ctl)
    pdns = start_pdns(tmp_path, None, pipe_settings(store))
    try:
        seen = [metrics(pdns)[DIRECT] for _ in range(5)]
        assert seen == [seen[0] + i for i in range(5)], seen
        # the counts live in slots the killed processes left, which the
        # next ones reuse: a handful of slots, not one per run
        t = stats(pdns)
        assert t["directBackendCmd_count"] == seen[-1] + 1
    finally:
        pdns.stop()


def test_counters_survive_a_backend_restart(tmp_path, ctl, store):
    """The unix-socket backend counts into the same file: a restart keeps
    the totals (start_time_seconds is the new process's)."""
    fill(ctl)
    stack = start_stack(tmp_path, store, NO_CACHE)
    try:
        for _ in range(30):
            stack.query("www.example.com.")
        first = metrics(stack)
    finally:
        stack.stop()
    time.sleep(1.1)
    stack = start_stack(tmp_path, store, NO_CACHE)
    try:
        stack.query("www.example.com.")
        second = metrics(stack)
        assert second[LOOKUPS] >= first[LOOKUPS] + 1
        assert second["kyedns_backend_start_time_seconds"] > \
            first["kyedns_backend_start_time_seconds"]
        # the backend and the pdnsutil run asking (a unix connection)
        assert second["kyedns_backend_processes"] == 1
    finally:
        stack.stop()
