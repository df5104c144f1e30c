"""Helpers of the operations tests (test_ops.py, test_secondary.py).

Processes are started in their own session (so a test can signal a whole
tree like a terminal's Ctrl-C does), and found again by the temporary
directory that appears on their command lines.
"""
import os
import re
import signal
import subprocess
import threading
import time

from conftest import BUILD, ROOT


def env_clean(**extra):
    """os.environ without KYEDNS_* (a developer's shell may set some), with
    the build directory first on PATH and `extra` added."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
    e["PATH"] = BUILD + os.pathsep + e.get("PATH", "/usr/bin:/bin")
    e["KYEDNS_BUILD"] = BUILD
    e.update({k: str(v) for k, v in extra.items()})
    return e


def wait_until(pred, timeout, what):
    """Polls pred() until it returns a true value, which is returned."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as exc:  # noqa: BLE001 - report the last one
            last = exc
        time.sleep(0.1)
    raise AssertionError("%s: not true after %ss (%r)" % (what, timeout, last))


def procs_in(path):
    """Command lines of running processes (other than zombies) whose
    command line mentions path: `pgrep -af path`."""
    p = subprocess.run(["pgrep", "-af", re.escape(path)], capture_output=True, text=True)
    out = []
    for line in p.stdout.splitlines():
        pid = line.split(None, 1)[0]
        try:
            with open("/proc/%s/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        if pid == str(os.getpid()):
            continue
        out.append(line)
    return out


def kill_tree_in(path):
    """Last-resort cleanup: SIGKILL every process whose command line names
    path (a test's own temporary directory, so only what the test started)."""
    for line in procs_in(path):
        try:
            os.kill(int(line.split(None, 1)[0]), signal.SIGKILL)
        except (OSError, ValueError):
            pass


class Spawned:
    """A process in its own session whose combined output is collected by a
    thread; wait_for_line() waits for a line matching a regex."""

    def __init__(self, args, env, cwd=None, log=None):
        self.proc = subprocess.Popen(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True, text=True, errors="replace")
        self.lines = []
        self._cond = threading.Condition()
        self._log = log
        self._t = threading.Thread(target=self._reader, daemon=True)
        self._t.start()

    def _reader(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
            if self._log:
                with open(self._log, "a") as f:
                    f.write(line)
        with self._cond:
            self._cond.notify_all()

    def text(self):
        with self._cond:
            return "\n".join(self.lines)

    def wait_for_line(self, regex, timeout):
        r = re.compile(regex)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if r.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._t.is_alive()):
                    raise AssertionError("no line matching %r after %ss; output:\n%s" %
                                         (regex, timeout, "\n".join(self.lines)))
                self._cond.wait(min(left, 0.2))

    def signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout):
        rc = self.proc.wait(timeout)
        self._t.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.signal_group(signal.SIGKILL)
            self.proc.wait()


def make_cmd(*targets):
    """`make -C ROOT TARGET...` as a list; uses $MAKE when make runs us."""
    return [os.environ.get("MAKE", "make"), "-s", "--no-print-directory", "-C", ROOT] + list(targets)
