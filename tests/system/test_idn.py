"""Internationalized names end to end: kyednsctl takes zone, host and record
names in UTF-8 and stores their A-labels (IDNA 2008), shows both forms; the
real pdns_server + kyedns-backend answer dig for the A-labels; and
kyedns-updater takes hostname= and the Basic user in UTF-8 (percent-encoded,
as curl and routers send it), answers good, and dig sees the new address."""
import base64
import os
import subprocess

import pytest

from backend_util import start_stack
from updater_util import Updater, curl, host_addrs

ZONE_U, ZONE_A = "bücher.example", "xn--bcher-kva.example"
HOST_U, HOST_A = "münchen.bücher.example", "xn--mnchen-3ya.xn--bcher-kva.example"
HOST_Q = "m%C3%BCnchen.b%C3%BCcher.example"  # HOST_U percent-encoded
TOKEN = "idn-Token-0123456789abcdefXYZ"
NOCACHE = {"cache-ttl": 0, "query-cache-ttl": 0, "negquery-cache-ttl": 0}


def dig(stack, name, rdtype="A"):
    """dig +short against the stack's pdns; returns the answer lines."""
    p = subprocess.run(["dig", "@127.0.0.1", "-p", str(stack.dns_port), "+time=5", "+tries=1",
                        "+short", "+noidnin", "+noidnout", name, rdtype],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout.split()


def make_site(ctl):
    """Zone bücher.example, host münchen.bücher.example, a TXT record: all
    typed in UTF-8."""
    out = ctl.run("zone", "add", ZONE_U, "--ns", "ns1." + ZONE_U).stdout
    assert out.startswith("added zone %s. (%s.) " % (ZONE_A, ZONE_U)), out
    out = ctl.run("host", "add", HOST_U, "--token", TOKEN, "--ipv4", "192.0.2.10").stdout
    assert out.splitlines()[0] == "host  %s. (%s.)" % (HOST_A, HOST_U), out
    ctl.run("record", "add", "Info." + ZONE_U.upper(), "TXT", '"hallo"')


def test_ctl_takes_utf8_and_shows_both_forms(ctl):
    make_site(ctl)
    # Stored as A-labels; JSON keeps the ASCII name field and adds the
    # U-label form beside it.
    zones = ctl.json("zone", "list")
    assert [(z["zone"], z["zone_unicode"]) for z in zones] == [(ZONE_A + ".", ZONE_U + ".")]
    assert zones[0]["mname"] == "ns1.%s." % ZONE_A
    hosts = ctl.json("host", "list")
    assert [(h["host"], h["host_unicode"], h["ipv4"]) for h in hosts] == \
        [(HOST_A + ".", HOST_U + ".", "192.0.2.10")]
    # Any spelling of the name finds the same host: U-labels in another
    # case or decomposed (u + combining diaeresis), or the A-labels.
    for spelling in (HOST_U, "MÜNCHEN.Bücher.Example.", "mu\u0308nchen.bu\u0308cher.example",
                     HOST_A):
        shown = ctl.json("host", "show", spelling)
        assert (shown["host"], shown["zone"], shown["zone_unicode"]) == \
            (HOST_A + ".", ZONE_A + ".", ZONE_U + ".")
    text = ctl.run("host", "list").stdout
    assert "%s. (%s.)" % (HOST_A, HOST_U) in text, text
    recs = ctl.json("record", "list", ZONE_A)
    names = {(r["name"], r.get("name_unicode"), r["type"]) for r in recs}
    assert ("info.%s." % ZONE_A, "info.%s." % ZONE_U, "TXT") in names, recs
    assert (HOST_A + ".", HOST_U + ".", "A") in names, recs
    # The JSON of an ASCII name is as it always was: no unicode field.
    ctl.run("zone", "add", "plain.example", "--ns", "ns1.plain.example")
    z = [z for z in ctl.json("zone", "list") if z["zone"] == "plain.example."]
    assert z and "zone_unicode" not in z[0]
    out = ctl.json("host", "add", "h.plain.example", "--token", TOKEN)
    assert out == {"host": "h.plain.example.", "token": TOKEN}
    out = ctl.json("host", "add", "h." + ZONE_U, "--token", TOKEN)
    assert out == {"host": "h.%s." % ZONE_A, "host_unicode": "h.%s." % ZONE_U, "token": TOKEN}
    # Export is a zone file: A-labels only.
    export = ctl.run("zone", "export", ZONE_A).stdout
    assert HOST_A in export and "ü" not in export
    # Deleting by the U-label form works like any other spelling.
    ctl.run("record", "del", "info." + ZONE_U, "TXT")
    assert not [r for r in ctl.json("record", "list", ZONE_A) if r["type"] == "TXT"]


@pytest.mark.parametrize("name,why", [
    ("😀." + ZONE_U, "invalid internationalized domain name"),    # emoji: not IDNA 2008
    ("bü_cher." + ZONE_U, "invalid internationalized domain name"),
    ("münchen-." + ZONE_U, "invalid internationalized domain name"),
    ("b\udcfccher." + ZONE_U, "invalid internationalized domain name"),  # Latin-1, not UTF-8
    ("日本語漢字文化中国台湾香港東京大阪京都神." + ZONE_U, "value too large"),
])
def test_ctl_refuses_bad_idn(ctl, name, why):
    ctl.run("zone", "add", ZONE_U, "--ns", "ns1." + ZONE_U)
    arg = name.encode("utf-8", "surrogateescape")
    p = subprocess.run([ctl.path, "--db", ctl.db, "host", "add", arg],
                       capture_output=True, timeout=30)
    err = p.stderr.decode("utf-8", "replace").strip().splitlines()
    assert p.returncode == 1 and len(err) == 1, (p.returncode, err)
    assert err[0].startswith("kyednsctl: bad host name ") and why in err[0], err
    assert ctl.json("host", "list") == []


def test_dig_and_updater_with_utf8_names(tmp_path, store, ctl):
    make_site(ctl)
    stack = start_stack(tmp_path, store, NOCACHE)
    try:
        assert dig(stack, HOST_A) == ["192.0.2.10"]
        assert dig(stack, "info." + ZONE_A, "TXT") == ['"hallo"']
        with Updater(store, tmp_path, rate=False) as up:
            # curl with the host percent-encoded and the Basic user in UTF-8
            r = curl(up.url("/nic/update?hostname=%s&myip=198.51.100.7" % HOST_Q),
                     user=(HOST_U, TOKEN))
            assert (r.status, r.body) == (200, "good 198.51.100.7\n")
            assert host_addrs(ctl, HOST_A) == ("198.51.100.7", None)
            assert dig(stack, HOST_A) == ["198.51.100.7"]
            # The Basic user alone names the host (no hostname=), in UTF-8
            # sent raw in the header as curl does.
            cred = base64.b64encode(("%s:%s" % (HOST_U, TOKEN)).encode()).decode()
            r = curl(up.url("/nic/update?myip=198.51.100.8"),
                     headers=["Authorization: Basic " + cred])
            assert (r.status, r.body) == (200, "good 198.51.100.8\n")
            assert dig(stack, HOST_A) == ["198.51.100.8"]
            # token= with a host list mixing both forms: one host, nochg
            # for the repeat.
            r = curl(up.url("/nic/update?hostname=%s,%s&token=%s&myip=198.51.100.8" %
                            (HOST_Q, HOST_A, TOKEN)))
            assert (r.status, r.body) == (200, "nochg 198.51.100.8\nnochg 198.51.100.8\n")
            # curl encoding the UTF-8 name itself (-G --data-urlencode)
            r = curl(up.url("/nic/update"), user=(HOST_A, TOKEN),
                     extra=["-G", "--data-urlencode", "hostname=" + HOST_U,
                            "--data-urlencode", "myip=198.51.100.10"])
            assert (r.status, r.body) == (200, "good 198.51.100.10\n")
            assert dig(stack, HOST_A) == ["198.51.100.10"]
            # Not a valid IDN: notfqdn, nothing changes.
            r = curl(up.url("/nic/update?hostname=%%F0%%9F%%98%%80.%s&token=%s&myip=198.51.100.9"
                            % (ZONE_A, TOKEN)))
            assert (r.status, r.body) == (200, "notfqdn\n")
            r = curl(up.url("/nic/update?hostname=m%%FCnchen.%s&token=%s&myip=198.51.100.9"
                            % (ZONE_A, TOKEN)))
            assert (r.status, r.body) == (200, "notfqdn\n")
            # A wrong token for the UTF-8 name is badauth, like any name.
            r = curl(up.url("/nic/update?hostname=%s&myip=198.51.100.9" % HOST_Q),
                     user=(HOST_U, "wrong-Token-0123456789abcdefXYZ"))
            assert (r.status, r.body) == (401, "badauth\n")
            assert dig(stack, HOST_A) == ["198.51.100.10"]
            # The log names the host by its A-labels.
            assert HOST_A in up.log_text()
    finally:
        assert stack.stop() == 0


def test_ddclient_with_utf8_host(tmp_path, store, ctl):
    """Debian's ddclient 3.10 with the host and login written in UTF-8 in
    its configuration."""
    make_site(ctl)
    with Updater(store, tmp_path, rate=False) as up:
        conf = tmp_path / "ddclient.conf"
        conf.write_text("daemon=0\nsyslog=no\nprotocol=dyndns2\nssl=no\n"
                        "server=127.0.0.1:%d\nuse=ip, ip=192.0.2.63\n"
                        "login=%s\npassword='%s'\n%s\n" % (up.port, HOST_U, TOKEN, HOST_U),
                        encoding="utf-8")
        os.chmod(conf, 0o600)
        p = subprocess.run(["ddclient", "-foreground", "-daemon=0", "-file", str(conf),
                            "-cache", str(tmp_path / "ddclient.cache"), "-verbose"],
                           capture_output=True, timeout=60)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        assert "good: IP address set to 192.0.2.63" in out, out
        assert host_addrs(ctl, HOST_A) == ("192.0.2.63", None)


def test_host_import_takes_utf8(tmp_path, ctl):
    ctl.run("zone", "add", ZONE_U, "--ns", "ns1." + ZONE_U)
    f = tmp_path / "hosts.txt"
    f.write_text("# migrated\n%s - 192.0.2.20\nköln.%s %s\n" % (HOST_U, ZONE_U, TOKEN),
                 encoding="utf-8")
    out = ctl.run("host", "import", str(f)).stdout
    # The output is itself an import file: A-labels and the new token.
    assert out.splitlines()[0].startswith(HOST_A + ". "), out
    hosts = ctl.json("host", "list")
    assert sorted((h["host"], h.get("host_unicode")) for h in hosts) == [
        ("xn--kln-sna.%s." % ZONE_A, "köln.%s." % ZONE_U), (HOST_A + ".", HOST_U + ".")]
    # A line whose name is no IDN is reported with its line number;
    # nothing is imported.
    f.write_text("ok.%s -\n😀.%s -\n" % (ZONE_U, ZONE_U), encoding="utf-8")
    err = ctl.fail("host", "import", str(f))
    assert ":2: bad host name" in err and "invalid internationalized domain name" in err, err
    assert len(ctl.json("host", "list")) == 2
