"""Differential test: KyedNS against pdns's own bind backend.

The zone files shipped in pdns's Debian source package (fetched with
`apt-get source` at test time and cached, see diff_util.py), plus two zones
written here for what those files lack (a delegation with glue, DS at a
cut, a local child zone, CNAME chains, wildcards, empty non-terminals and
most record types pdns 4.7 knows), are served twice by pdns 4.7:

  * pdns + kyedns-backend (remote-dnssec=yes): each zone created with
    kyednsctl, its content loaded with `pdnsutil load-zone`;
  * pdns with launch=bind on the same files.

Both get the same settings (every cache off) and the same queries: every
name and type in the files, ANY, a missing type, names below and beside
each name, wildcard expansions, empty non-terminals, delegations, DS at
cuts, alias targets, NXDOMAIN, out-of-zone names and AXFR.  rcode, flags
and the answer, authority and additional sections (TTLs included) are
compared without regard to order.  A query that bind itself cannot answer
(SERVFAIL, no reply) is left out of the count and listed.

The count and every difference go to differential-report.txt in the build
directory; docs/differential.md records the result and each deliberate
difference (ALLOWED below).
"""
import os
import subprocess
import warnings

import dns.name
import pytest

import diff_util as du
from backend_util import PDNSUTIL, Pdns, pdns_env, start_stack
from conftest import BUILD, Ctl

# Deliberate differences: (zone file label or "*", qname, qtype) -> reason.
# Every entry is listed in docs/differential.md.
ALLOWED = {}

# Identical answers at least; the measured count after schema 2 went in.
MIN_IDENTICAL = 869

REFERENCE = os.environ.get("KYEDNS_DIFF_REFERENCE") == "lmdb"
# KYEDNS_DIFF_NO_WALK=1: load without moving the serial first (measures
# what the serial policy alone changes; see docs/differential.md).
NO_WALK = os.environ.get("KYEDNS_DIFF_NO_WALK") == "1"

# Same settings for both servers; every answer comes from the backend.
COMMON = {
    "cache-ttl": 0,
    "query-cache-ttl": 0,
    "negquery-cache-ttl": 0,
    "zone-cache-refresh-interval": 0,
    "allow-axfr-ips": "127.0.0.0/8",
    "primary": "no",
    "distributor-threads": 1,
}

DS = "12345 13 2 " + "3f" * 32

DIFF_TEST = r"""$ORIGIN diff.test.
$TTL 3600
@           3600 IN SOA ns1.diff.test. hostmaster.diff.test. 2024010101 7200 1800 1209600 600
@                NS    ns1
@                NS    ns2.diff.test.
@                MX    10 mail
@                TXT   "v=spf1 -all"
@                CAA   0 issue "letsencrypt.org"
ns1              A     192.0.2.1
ns1              AAAA  2001:db8::1
ns2         7200 A     192.0.2.2
mail             A     192.0.2.25
www              CNAME web
web          300 A     192.0.2.80
web          300 AAAA  2001:db8::80
chain1           CNAME chain2
chain2           CNAME www.diff.test.
ext              CNAME www.example.net.
dangling         CNAME nothere
cdot             CNAME .
*.wild           A     192.0.2.99
*.wild           TXT   "wildcard"
sub.wild         A     192.0.2.98
*.cwild          CNAME web
a.b.c.ent        A     192.0.2.7
deleg            NS    ns1.deleg
deleg            NS    ns.example.net.
deleg            DS    {ds}
ns1.deleg        A     192.0.2.53
ns1.deleg        AAAA  2001:db8::53
occluded.deleg   TXT   "below a cut"
cut              NS    ns1.cut
cut              DS    {ds}
ns1.cut          A     192.0.2.54
nsdot            NS    .
_sip._udp        SRV   10 20 5060 sip
sip              A     192.0.2.60
rootmx           MX    0 .
loc              LOC   52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
hinfo            HINFO "PC" "Linux"
rp               RP    hostmaster.diff.test. txt.diff.test.
txt              TXT   "a b" "semi;colon" "quote\"d" "back\\slash" "caf\195\169"
naptr            NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.diff.test.
sshfp            SSHFP 1 1 123456789abcdef67890123456789abcdef67890
_443._tcp.tlsa   TLSA  3 1 1 {hex32}
svc              SVCB  1 web.diff.test. alpn=h2 port=8443
https            HTTPS 1 . alpn=h3,h2
dname            DNAME example.net.
spf              SPF   "v=spf1 -all"
eui48            EUI48 00-00-5e-00-53-2a
eui64            EUI64 00-00-5e-ef-10-00-00-2a
mb               MB    mail.diff.test.
mg               MG    mail.diff.test.
mr               MR    mail.diff.test.
kx               KX    10 mail.diff.test.
afsdb            AFSDB 1 mail.diff.test.
uri              URI   10 1 "https://example.net/"
ptr              PTR   web.diff.test.
unknown          TYPE65400 \# 4 0a000001
at\@sign         A     192.0.2.9
Mixed.Case       A     192.0.2.10
""".replace("{ds}", DS).replace("{hex32}", "ab" * 32)

CUT_TEST = r"""$ORIGIN cut.diff.test.
@       300 IN SOA ns1.cut.diff.test. admin.cut.diff.test. 5 3600 600 86400 300
@       300 IN NS  ns1
@       300 IN A   192.0.2.56
ns1     300 IN A   192.0.2.54
www     300 IN A   192.0.2.55
"""

SUPPLEMENT = [
    du.ZoneFile("diff.test (written here)", "diff.test.", DIFF_TEST),
    du.ZoneFile("cut.diff.test (written here)", "cut.diff.test.", CUT_TEST),
]


class _Reference:
    """KYEDNS_DIFF_REFERENCE=lmdb: pdns's own lmdb backend in KyedNS's
    place, zones made by pdnsutil load-zone.  A development aid: it shows
    which differences pdns itself has between load-zone and bind."""

    def __init__(self, d):
        self.pdns = Pdns(d, "unused", dict(COMMON, **{
            "launch": "lmdb", "launch+": None, "remote-connection-string": None, "remote-dnssec": None,
            "lmdb-filename": str(d / "pdns.lmdb"), "lmdb-shards": 1})).wait_ready()
        self.dns_port = self.pdns.dns_port

    def stop(self):
        return self.pdns.stop()


def _apex_ns(zf):
    names, recs = du.parse_zone(zf)
    apex = dns.name.from_text(zf.zone)
    return [rd[-1] for owner, t, rd in recs if owner == apex and t == "NS"]


def _zone_file(d, zone):
    return os.path.join(d, (zone.rstrip(".") or "root") + ".zone")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """(kyedns stack, bind pdns, bind dir, zone files, skipped files);
    round 0 of the zone files loaded in both."""
    src = du.pdns_source()
    compared, skipped = du.shipped_zones(src)
    assert compared, "no zone file to compare in %s" % src
    zonefiles = compared + SUPPLEMENT
    tmp = tmp_path_factory.mktemp("differential")
    db = str(tmp / "db")
    first = {}
    for zf in zonefiles:
        first.setdefault(zf.zone, zf)
    if not REFERENCE:
        ctl = Ctl(db)
        for zone in sorted(first, key=lambda z: z.count(".")):
            args = ["zone", "add", zone.rstrip(".")]
            for ns in _apex_ns(first[zone])[:2]:
                args += ["--ns", ns if ns.endswith(".") else ns + "." + zone]
            ctl.run(*args)
    bind_dir = str(tmp / "bindzones")
    os.makedirs(bind_dir)
    with open(os.path.join(bind_dir, "named.conf"), "w") as f:
        for zone in first:
            f.write('zone "%s" { type master; file "%s"; };\n' % (zone, _zone_file(bind_dir, zone)))
    for zf in first.values():
        with open(_zone_file(bind_dir, zf.zone), "w") as f:
            f.write(zf.text)
    kdir, bdir = tmp / "kyedns", tmp / "bind"
    kdir.mkdir()
    bdir.mkdir()
    if REFERENCE:
        stack = _Reference(kdir)
    else:
        stack = start_stack(kdir, db, dict(COMMON, **{"remote-dnssec": "yes"}))
    bind = None
    try:
        bsettings = dict(COMMON, **{"launch": "bind", "launch+": None,
                                    "remote-connection-string": None,
                                    "remote-dnssec": None,
                                    "bind-config": os.path.join(bind_dir, "named.conf")})
        bind = Pdns(bdir, "unused", bsettings).wait_ready()
        yield stack, bind, bind_dir, zonefiles, skipped, src
    finally:
        if bind is not None:
            bind.stop()
        rc = stack.stop()
    # a sanitizer report or a crash shows here
    assert REFERENCE or rc == 0, "kyedns-backend exited %r: %s" % (
        rc, stack.backend.log_text()[-3000:])


def _ahead(a, b):
    """True when serial a is ahead of b in RFC 1982 terms."""
    return 1 <= (a - b) % 2**32 <= 2**31 - 1


def _walk_serial(ctl, zone, serial):
    """Moves the KyedNS zone's serial forward, in RFC 1982 steps, to just
    below `serial`, so that a load of a file with that serial keeps it: the
    store never moves a serial back (a deliberate difference, see
    docs/differential.md), and this is how an operator migrates a zone whose
    serial is behind the one KyedNS made up."""
    for _ in range(4):
        cur = ctl.json("zone", "show", zone)["serial"]
        if _ahead(serial, cur):
            return
        target = (serial - 2) % 2**32 or 2**32 - 1
        step = target if _ahead(target, cur) else (cur + 2**31 - 1) % 2**32 or 1
        ctl.run("zone", "soa", zone, "--serial", step)
    raise AssertionError("cannot walk the serial of %s to %d" % (zone, serial))


def _soa_serial(zf):
    names, recs = du.parse_zone(zf)
    return next(int(rd[2]) for owner, t, rd in recs if t == "SOA")


def _load(stack, bind, bind_dir, zf, reload_bind):
    """Loads zf into both; returns None or the load error of KyedNS."""
    path = _zone_file(bind_dir, zf.zone)
    with open(path, "w") as f:
        f.write(zf.text)
    if reload_bind:
        bind.control("bind-reload-now", zf.zone.rstrip("."))
    if not REFERENCE and not NO_WALK:
        _walk_serial(Ctl(stack.backend.db), zf.zone, _soa_serial(zf))
    p = _pdnsutil(stack, "load-zone", zf.zone, path)
    if p.returncode == 0 and REFERENCE:
        p = _pdnsutil(stack, "rectify-zone", zf.zone)  # lmdb stores ENTs only so
    if p.returncode != 0:
        return "pdnsutil load-zone exited %d: %s" % (p.returncode, (p.stdout + p.stderr).strip()[-300:])
    return None


def _pdnsutil(stack, *args):
    return subprocess.run([PDNSUTIL, "--config-dir=" + stack.pdns.dir] + list(args),
                          capture_output=True, text=True, timeout=120, env=pdns_env())


def _allowed(label, qname, qtype):
    for key in ((label, qname, qtype), ("*", qname, qtype)):
        if key in ALLOWED:
            return ALLOWED[key]
    return None


def _report_path():
    return os.path.join(BUILD, "differential-report.txt")


class DifferentialCount(UserWarning):
    """Carries the count into pytest's summary (-q hides test output)."""


def test_differential_against_bind_backend(servers):
    stack, bind, bind_dir, zonefiles, skipped, src = servers
    identical, differ, allowed, bind_failed = [], [], [], []
    load_errors = []
    seen = set()
    for n, group in enumerate(du.rounds(zonefiles)):
        for zf in group:
            err = _load(stack, bind, bind_dir, zf, reload_bind=n > 0)
            if err:
                load_errors.append("%s: %s" % (zf.label, err))
        for zf in group:
            for qname, qtype in du.queries(zf) + [(zf.zone, "AXFR")]:
                key = (zf.label, qname, qtype)
                if qname.startswith("kd-outside") and (qname, qtype) in seen:
                    continue
                seen.add((qname, qtype))
                if qtype == "AXFR":
                    ref, got = du.axfr(bind.dns_port, qname), du.axfr(stack.dns_port, qname)
                else:
                    ref, got = du.ask(bind.dns_port, qname, qtype), du.ask(stack.dns_port, qname, qtype)
                if du.failed(ref):
                    bind_failed.append((key, du.describe(ref, got)))
                elif ref == got:
                    identical.append(key)
                elif _allowed(*key):
                    allowed.append((key, _allowed(*key)))
                else:
                    differ.append((key, du.describe(ref, got)))
    total = len(identical) + len(differ) + len(allowed)
    lines = ["pdns source package: %s" % open(os.path.join(src, "SOURCE")).read().strip(),
             "identical: %d of %d (%d deliberate differences allowed, %d different)"
             % (len(identical), total, len(allowed), len(differ)),
             "zone files compared: %s" % ", ".join(
                 "%s (%s)%s" % (z.label, z.zone, " [%s]" % z.note if z.note else "")
                 for z in zonefiles)]
    lines += ["not compared: %s: %s" % s for s in skipped]
    lines += ["kyedns load failed: %s" % e for e in load_errors]
    lines += ["bind cannot answer (left out): %s %s %s: %s" % (k + (d,)) for k, d in bind_failed]
    lines += ["allowed: %s %s %s: %s" % (k + (r,)) for k, r in allowed]
    lines += ["DIFFERENT: %s %s %s: %s" % (k + (d[:600],)) for k, d in differ]
    report = "\n".join(lines) + "\n"
    try:
        with open(_report_path(), "w") as f:
            f.write(report)
    except OSError:
        pass
    assert len(identical) >= MIN_IDENTICAL and not differ and not load_errors, report
    warnings.warn(DifferentialCount("differential: %d of %d queries identical to pdns's bind "
                                    "backend (%d allowed differences); %s"
                                    % (len(identical), total, len(allowed), _report_path())))


@pytest.mark.parametrize("fname,zone,why", [
    ("zonemd2.zone", "example.", "not part of zone"),
    ("zonemd-syntax.zone", "root-servers.net.", ""),
])
def test_refused_file_leaves_zone_unchanged(servers, fname, zone, why):
    """A shipped file that pdnsutil refuses half-way (out-of-zone data, a
    record without rdata, after valid records) leaves the KyedNS zone as it
    was.  pdnsutil exits without aborting its transaction, so the backend
    must roll back when pdnsutil's connection closes."""
    stack, bind, bind_dir, zonefiles, skipped, src = servers
    before = du.axfr(stack.dns_port, zone)
    assert "error" not in before, before
    p = _pdnsutil(stack, "load-zone", zone, os.path.join(src, "regression-tests", "zones", fname))
    assert p.returncode != 0, p.stdout + p.stderr
    assert why in p.stderr, p.stderr
    assert du.axfr(stack.dns_port, zone) == before
