"""One command-line convention for the three programs (common/cli).

kyedns-backend, kyedns-updater and kyednsctl are run as a user runs them:
--version prints "<prog> <KYEDNS_VERSION>" (common/version.h is the one
version source); -h and --help print the options with their defaults and
environment variables on stdout and exit 0; a usage error prints
"<prog>: <message>" and "Try '<prog> --help'." on stderr and exits 2;
values come as --opt=value or --opt value; every option's environment
variable is named after it; and the man page that --help-man prints is
clean roff (man --warnings) that documents every option of --help.

The rule for environment names: KYEDNS_<FLAG> (upper case, '-' as '_').
kyedns-backend and kyedns-updater read the same /etc/default/kyedns, so
where both have a flag of the same name, the backend's variable may carry
its name, KYEDNS_BACKEND_<FLAG>, and must when the two defaults differ (one
variable would otherwise set both daemons to the same value).
"""
import functools
import os
import re
import shutil
import subprocess

import pytest

from conftest import binary

PROGS = ["kyedns-backend", "kyedns-updater", "kyednsctl"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NUMERIC = {"N", "SEC", "MB", "PER_SEC", "PER_MIN"}


def version():
    with open(os.path.join(ROOT, "common", "version.h")) as f:
        m = re.search(r'^#define KYEDNS_VERSION "([^"]+)"$', f.read(), re.M)
    assert m, "no KYEDNS_VERSION in common/version.h"
    return m.group(1)


def run(prog, *args, env=None, tmp=None):
    """Runs prog with a clean KYEDNS_* environment (plus env)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("KYEDNS_")}
    if tmp is not None:  # a store that does not exist: nothing real is touched
        e["KYEDNS_DB"] = str(tmp / "no-store")
    e.update(env or {})
    return subprocess.run([binary(prog)] + list(args), capture_output=True, text=True,
                          env=e, timeout=30)


def help_options(text):
    """{flag: (metavar or None, description with default/env, one line)}
    from the Options: section of --help."""
    opts, cur = {}, None
    lines = text.splitlines()
    assert "Options:" in lines, text
    for line in lines[lines.index("Options:") + 1:]:
        if not line.strip():
            break
        m = re.match(r"^  (?:-\w, |    )--([a-z0-9-]+)(?:=(\S+))?(?:\s+(.*))?$", line)
        if m:
            cur = m.group(1)
            opts[cur] = [m.group(2), m.group(3) or ""]
        else:
            assert cur and line.startswith(" " * 30), "stray line in Options: %r" % line
            opts[cur][1] += " " + line.strip()
    return {k: (v[0], " ".join(v[1].split())) for k, v in opts.items()}


def env_of(desc):
    m = re.search(r"env: ([A-Z0-9_]+)\]$", desc)
    return m.group(1) if m else None


def default_of(desc):
    m = re.search(r"\[default: (.*?)(?:; env: [A-Z0-9_]+)?\]$", desc)
    return m.group(1) if m else None


def usage_error(p, prog):
    """Asserts the shape of a usage error; returns its message line."""
    lines = p.stderr.splitlines()
    assert p.returncode == 2, "exit %d, want 2: %r" % (p.returncode, p.stderr)
    assert p.stdout == "", p.stdout
    assert len(lines) == 2, p.stderr
    assert lines[0].startswith(prog + ": ") and len(lines[0]) > len(prog) + 2, lines[0]
    assert re.match(r"^Try '%s( [a-z]+ [a-z]+)? --help'\.$" % prog, lines[1]), lines[1]
    return lines[0]


@functools.lru_cache(maxsize=None)
def help_text(prog):
    return run(prog, "--help").stdout


@pytest.mark.parametrize("prog", PROGS)
def test_version(prog):
    p = run(prog, "--version")
    assert (p.returncode, p.stdout, p.stderr) == (0, "%s %s\n" % (prog, version()), "")


@pytest.mark.parametrize("prog", PROGS)
def test_help(prog, tmp_path):
    p = run(prog, "--help", tmp=tmp_path)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert p.stdout.startswith("Usage: %s " % prog), p.stdout
    assert run(prog, "-h", tmp=tmp_path).stdout == p.stdout
    opts = help_options(p.stdout)
    assert {"db", "help", "version"} <= set(opts), sorted(opts)
    for flag, (_, desc) in opts.items():
        assert len(desc) > 10, "--%s has no description" % flag
    assert all(len(l) <= 79 for l in p.stdout.splitlines())
    assert "help-man" not in opts
    assert not os.path.exists(tmp_path / "no-store"), "--help touched the store"
    # --help wins over anything else on the line, even a bad option after it
    assert run(prog, "--help", "--no-such-flag").stdout == p.stdout


@pytest.mark.parametrize("prog", PROGS)
def test_unknown_flag(prog, tmp_path):
    line = usage_error(run(prog, "--no-such-flag", tmp=tmp_path), prog)
    assert "--no-such-flag" in line
    # the value of a mistyped flag may be a secret: never echoed
    line = usage_error(run(prog, "--tokn=Secret0123456789abcdef", tmp=tmp_path), prog)
    assert "--tokn" in line and "Secret" not in line
    line = usage_error(run(prog, "-Z", tmp=tmp_path), prog)
    assert "-Z" in line
    # a switch given a value
    line = usage_error(run(prog, "--version=1", tmp=tmp_path), prog)
    assert "--version" in line
    assert not os.path.exists(tmp_path / "no-store")


@pytest.mark.parametrize("prog", ["kyedns-backend", "kyedns-updater"])
def test_daemons_take_no_operands(prog, tmp_path):
    assert "stray" in usage_error(run(prog, "stray", tmp=tmp_path), prog)


@pytest.mark.parametrize("prog", PROGS)
def test_missing_value(prog, tmp_path):
    line = usage_error(run(prog, "--db", tmp=tmp_path), prog)
    assert "--db" in line


def numeric_options(prog):
    return [f for f, (meta, _) in help_options(help_text(prog)).items() if meta in NUMERIC]


@pytest.mark.parametrize("prog", ["kyedns-backend", "kyedns-updater"])
def test_bad_value_both_forms_and_env(prog, tmp_path):
    """Every numeric option refuses 'abc' alike as --opt=abc and --opt abc,
    and from its environment variable, named in the message: so the value
    is taken in both forms and the variable in --help is the one read."""
    flags = numeric_options(prog)
    assert flags, "no numeric option in %s --help" % prog
    opts = help_options(help_text(prog))
    for flag in flags:
        eq = usage_error(run(prog, "--%s=abc" % flag, tmp=tmp_path), prog)
        sep = usage_error(run(prog, "--%s" % flag, "abc", tmp=tmp_path), prog)
        assert eq == sep, (eq, sep)
        assert "--%s" % flag in eq and "abc" in eq, eq
        env = env_of(opts[flag][1])
        line = usage_error(run(prog, env={env: "abc"}, tmp=tmp_path), prog)
        assert env in line and "abc" in line, line
        # the command line wins over the environment
        line = usage_error(run(prog, "--%s=abc" % flag, env={env: "1"}, tmp=tmp_path), prog)
        assert line == eq
    assert not os.path.exists(tmp_path / "no-store")


def test_ctl_value_forms(tmp_path):
    """kyednsctl: the program's and the commands' options take both forms,
    before or after the command's words."""
    db = str(tmp_path / "db")
    for args in (["--db=%s" % db], ["--db", db]):
        p = run("kyednsctl", *(args + ["zone", "list"]))
        assert p.returncode == 1 and p.stderr == \
            "kyednsctl: no store in %s; create it with zone add (not found)\n" % db, p.stderr
        p = run("kyednsctl", "zone", "list", *args)
        assert p.returncode == 1 and db in p.stderr, p.stderr
    p = run("kyednsctl", "zone", "list", env={"KYEDNS_DB": db})
    assert p.returncode == 1 and db in p.stderr, p.stderr
    eq = usage_error(run("kyednsctl", "zone", "add", "example.com", "--ns=ns1.example.com",
                         "--ttl=abc"), "kyednsctl")
    sep = usage_error(run("kyednsctl", "zone", "add", "--ttl", "abc", "example.com", "--ns",
                          "ns1.example.com"), "kyednsctl")
    assert eq == sep == "kyednsctl: --ttl: 'abc' is not a number in 0..2147483647", eq
    for args in (["--db=%s" % db, "zone", "add", "example.com", "--ns=ns1.example.com",
                  "--ttl=300"],
                 ["zone", "add", "example.org", "--ns", "ns1.example.org", "--ttl", "300",
                  "--db", db]):
        p = run("kyednsctl", *args)
        assert p.returncode == 0, p.stderr
    p = run("kyednsctl", "--db", db, "--json", "zone", "list")
    assert p.returncode == 0 and '"ttl":300' in p.stdout.replace(" ", ""), p.stdout
    p = run("kyednsctl", "--db", db, "zone", "list", env={"KYEDNS_JSON": "yes"})
    assert p.stdout.startswith("["), p.stdout
    # a bad switch value in the environment is a usage error
    line = usage_error(run("kyednsctl", "--db", db, "zone", "list",
                           env={"KYEDNS_JSON": "maybe"}), "kyednsctl")
    assert "KYEDNS_JSON=maybe" in line
    # ... which the command line overrides, and which never stops --help
    p = run("kyednsctl", "--db", db, "--json", "zone", "list", env={"KYEDNS_JSON": "maybe"})
    assert p.returncode == 0 and p.stdout.startswith("["), p.stderr
    p = run("kyednsctl", "--help", env={"KYEDNS_JSON": "maybe"})
    assert p.returncode == 0 and p.stdout.startswith("Usage: kyednsctl"), p.stderr


@pytest.mark.parametrize("prog", PROGS)
def test_env_names(prog):
    """Every option has an environment variable, named after the flag."""
    updater = help_options(help_text("kyedns-updater")) if prog == "kyedns-backend" else {}
    for flag, (_, desc) in help_options(help_text(prog)).items():
        if flag in ("help", "version"):
            continue
        env = env_of(desc)
        plain = "KYEDNS_" + flag.upper().replace("-", "_")
        assert env, "--%s of %s has no environment variable" % (flag, prog)
        if flag not in updater:
            assert env == plain, "--%s of %s: env %s, want %s" % (flag, prog, env, plain)
            continue
        backend = "KYEDNS_BACKEND_" + flag.upper().replace("-", "_")
        assert env in (plain, backend), "--%s of kyedns-backend: env %s" % (flag, env)
        upd = updater[flag][1]
        if default_of(desc) != default_of(upd):
            assert env == backend, \
                "--%s: the daemons' defaults differ, so kyedns-backend must read %s" % (
                    flag, backend)
            assert env_of(upd) != env


def man_page(prog, tmp_path):
    if not shutil.which("man"):
        pytest.fail("man is not installed (man-db; scripts/deps.sh)")
    page = tmp_path / ("%s.8" % prog)
    p = run(prog, "--help-man")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    page.write_text(p.stdout)
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    env.pop("MAN_KEEP_FORMATTING", None)
    r = subprocess.run(["man", "--warnings=w", "-l", str(page)], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", "man --warnings: %s" % r.stderr
    return p.stdout, r.stdout


def roff_flag(flag):
    return "\\fB\\-\\-%s\\fR" % flag.replace("-", "\\-")


@pytest.mark.parametrize("prog", PROGS)
def test_man_page(prog, tmp_path):
    src, text = man_page(prog, tmp_path)
    assert re.search(r'^\.TH "%s" "8" "" "KyedNS %s"' % (prog.upper(), re.escape(version())),
                     src, re.M), src[:300]
    for sect in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT"):
        assert re.search(r"^%s$" % sect, text, re.M), "no %s in the man page" % sect
    assert re.search(r"^\s+%s\s+-\s+\S" % re.escape(prog), text, re.M), text[:400]
    assert "KYEDNS_DB" in text
    for flag, (meta, desc) in help_options(help_text(prog)).items():
        assert roff_flag(flag) in src, "--%s missing from the man page" % flag
        assert "--" + flag in text, "--%s missing from the rendered man page" % flag
        env = env_of(desc)
        if env:
            assert re.search(r"^\.B %s$" % env, src, re.M), "%s not in ENVIRONMENT" % env
    # a test that can fail: broken roff is reported
    bad = tmp_path / "bad.8"
    bad.write_text(src.replace(".SH OPTIONS", ".SX OPTIONS", 1))
    r = subprocess.run(["man", "--warnings=w", "-l", str(bad)], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="80"), timeout=60)
    assert "SX" in r.stderr


def test_ctl_man_commands(tmp_path):
    """kyednsctl(8) has a COMMANDS section with every command of --help and
    every option of each command's own help."""
    src, text = man_page("kyednsctl", tmp_path)
    assert re.search(r"^COMMANDS$", text, re.M)
    commands = src.split(".SH COMMANDS\n", 1)[1].split("\n.SH ", 1)[0]
    lines = help_text("kyednsctl").split("\nCommands:\n", 1)[1].splitlines()
    cmds = [l.split()[:2] for l in lines if re.match(r"^  [a-z]", l)]
    assert len(cmds) >= 20, cmds
    for cmd in cmds:
        name = " ".join(cmd)
        assert '.SS "%s"\n' % name in commands, "%s missing from COMMANDS" % name
        own = help_options(run("kyednsctl", *cmd, "--help").stdout) \
            if "Options:" in run("kyednsctl", *cmd, "--help").stdout else {}
        section = commands.split('.SS "%s"\n' % name, 1)[1].split("\n.SS ", 1)[0]
        for flag in own:
            assert roff_flag(flag) in section, "--%s of %s missing" % (flag, name)
