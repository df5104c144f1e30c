"""kyedns-updater with real clients: GNU wget (the 401 challenge flow),
Debian's ddclient 3.10 (dyndns2), and end to end through pdns_server and
kyedns-backend with caches on and the purge configured."""
import os
import re
import subprocess
import time

import pytest

from updater_util import TOKENS, Updater, curl, host_addrs, populate

H = "a.example.com"
TOK = TOKENS[H]


def test_wget_challenge_flow(tmp_path, store, ctl):
    """wget sends credentials only after a 401 with WWW-Authenticate."""
    populate(ctl)
    with Updater(store, tmp_path, rate=False) as up:
        p = subprocess.run(["wget", "-q", "-O", "-", "--user", H, "--password", TOK,
                            up.url("/nic/update?hostname=%s&myip=192.0.2.61" % H)],
                           capture_output=True, text=True, timeout=30)
        assert (p.returncode, p.stdout) == (0, "good 192.0.2.61\n"), p.stderr
        # First without credentials (401), then with them (200).
        up.wait_log(r'method=GET path=/nic/update \S+ status=401 result=badauth .*\n.*'
                    r'method=GET path=/nic/update \S+ status=200 result=good addr=192\.0\.2\.61 ')
    assert host_addrs(ctl, H) == ("192.0.2.61", None)


def ddclient(tmp_path, conf, force=False):
    path = tmp_path / "ddclient.conf"
    path.write_text(conf)
    os.chmod(path, 0o600)
    cmd = ["ddclient", "-foreground", "-daemon=0", "-file", str(path),
           "-cache", str(tmp_path / "ddclient.cache"), "-verbose"]
    if force:
        cmd.append("-force")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return p.stdout + p.stderr


@pytest.mark.parametrize("use,addr", [
    ("use=web, web=http://127.0.0.1:{port}/ip", "127.0.0.1"),
    ("use=web, web=http://127.0.0.1:{port}/nic/checkip.html", "127.0.0.1"),
    ("use=ip, ip=192.0.2.62", "192.0.2.62"),
])
def test_ddclient_updates_then_nochg(tmp_path, store, ctl, use, addr):
    populate(ctl)
    # The web check sees 127.0.0.1 here: loopback must be publishable.
    with Updater(store, tmp_path, args=["--allow-loopback"], rate=False) as up:
        conf = ("daemon=0\nsyslog=no\nprotocol=dyndns2\nssl=no\n"
                "server=127.0.0.1:{port}\n" + use + "\n"
                "login=" + H + "\npassword='" + TOK + "'\n" + H + "\n").format(port=up.port)
        out = ddclient(tmp_path, conf)
        assert "SUCCESS:  updating %s: good: IP address set to %s" % (H, addr) in out, out
        assert host_addrs(ctl, H) == (addr, None)
        # ddclient's cache would skip the second run; -force sends it anyway.
        out = ddclient(tmp_path, conf, force=True)
        assert "RECEIVE:  nochg %s" % addr in out, out
        assert "FAILED" not in out, out
        log = up.wait_log(r'status=200 result=good addr=%s user=%s (.|\n)*'
                          r'status=200 result=nochg addr=%s user=%s ' % (addr, H, addr, H))
        assert TOK not in log


def test_ddclient_multi_host_lines_map_to_hosts(tmp_path, store, ctl):
    """ddclient sends hosts with the same login in one request and maps the
    reply lines to them in order."""
    populate(ctl, hosts={})
    shared = "shared-0123456789abcdefgh"
    for h in ("m1.example.com", "m2.example.com"):
        ctl.run("host", "add", h, "--token", shared)
    with Updater(store, tmp_path, rate=False) as up:
        conf = ("daemon=0\nsyslog=no\nprotocol=dyndns2\nssl=no\n"
                "server=127.0.0.1:%d\nuse=ip, ip=192.0.2.65\n"
                "login=m1.example.com\npassword='%s'\n"
                "m1.example.com,m2.example.com,nosuch.example.com\n" % (up.port, shared))
        out = ddclient(tmp_path, conf)
        assert "hostname=m1.example.com,m2.example.com,nosuch.example.com" in out, out
        for h in ("m1.example.com", "m2.example.com"):
            assert "SUCCESS:  updating %s: good: IP address set to 192.0.2.65" % h in out, out
        assert "FAILED:   updating nosuch.example.com: nohost" in out, out
    assert host_addrs(ctl, "m2.example.com") == ("192.0.2.65", None)


def test_ddclient_wrong_password_is_badauth(tmp_path, store, ctl):
    populate(ctl)
    # The web check sees 127.0.0.1 here: loopback must be publishable.
    with Updater(store, tmp_path, args=["--allow-loopback"], rate=False) as up:
        conf = ("daemon=0\nsyslog=no\nprotocol=dyndns2\nssl=no\n"
                "server=127.0.0.1:%d\nuse=ip, ip=192.0.2.63\n"
                "login=%s\npassword='wrong-0123456789abcdefghij'\n%s\n" % (up.port, H, H))
        out = ddclient(tmp_path, conf)
        assert "FAILED" in out and "badauth" in out, out
    assert host_addrs(ctl, H) == (None, None)


def test_purge_failures_never_delay_updates(tmp_path, store, ctl):
    """pdns API down: updates are still answered at once; failures counted."""
    populate(ctl)
    from conftest import free_port
    dead = free_port(udp_too=False)
    with Updater(store, tmp_path, rate=False,
                 args=["--pdns-api", "http://127.0.0.1:%d" % dead,
                       "--pdns-api-key", "k"]) as up:
        t0 = time.monotonic()
        r = curl(up.url("/nic/update?hostname=%s&myip=192.0.2.64" % H), user=(H, TOK))
        assert r.body == "good 192.0.2.64\n"
        assert time.monotonic() - t0 < 1
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            m = curl(up.url("/metrics")).body
            if re.search(r"^kyedns_purge_failures_total [1-9]", m, re.M):
                break
            time.sleep(0.05)
        else:
            pytest.fail("purge failure not counted:\n" + m)
        up.wait_log(r"cannot purge a\.example\.com\. from pdns caches \(.+\)")


def test_end_to_end_through_pdns(tmp_path, store, ctl):
    """An update is answered by pdns (caches on) within 1 s, via the purge."""
    import backend_util
    populate(ctl)
    ctl.run("host", "add", "e2e.example.com", "--token", TOK)
    stack = backend_util.start_stack(tmp_path, store)
    try:
        with Updater(store, tmp_path, rate=False,
                     args=["--pdns-api", stack.api_url,
                           "--pdns-api-key", stack.api_key]) as up:
            def answer(name, rdtype="A"):
                r = stack.query(name, rdtype)
                return sorted(rr.to_text() for rrset in r.answer for rr in rrset)

            # Prime pdns's caches with the old state (no A; then one A).
            assert answer("e2e.example.com.") == []
            for ip in ("192.0.2.71", "192.0.2.72", "2001:db8::73"):
                rdtype = "AAAA" if ":" in ip else "A"
                assert answer("e2e.example.com.", rdtype) != [ip]
                r = curl(up.url("/nic/update?hostname=e2e.example.com&myip=%s" % ip),
                         user=("e2e.example.com", TOK))
                assert r.body == "good %s\n" % ip
                t0 = time.monotonic()
                while answer("e2e.example.com.", rdtype) != [ip]:
                    assert time.monotonic() - t0 < 1.0, "pdns still serves the old answer"
                    time.sleep(0.02)
            assert answer("e2e.example.com.") == ["192.0.2.72"]
            m = curl(up.url("/metrics")).body
            ok = re.search(r'^kyedns_purge_total\{result="ok"\} (\d+)', m, re.M)
            assert ok and int(ok.group(1)) >= 3, m
            assert re.search(r"^kyedns_purge_failures_total 0$", m, re.M), m
    finally:
        stack.stop()
