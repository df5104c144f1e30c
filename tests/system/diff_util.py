"""The differential test's machinery: pdns's Debian source package (fetched
at test time and cached), the zone files in it, the queries derived from a
zone file, and the order-insensitive comparison of two pdns answers.

Source package.  `pdns_source()` makes a deb-src entry from every Debian
archive in the machine's own apt sources (sources.list and *.sources), in a
private apt configuration (its own source list, lists and cache
directories), runs `apt-get update` and `apt-get source --download-only`
there, and unpacks the zone files into the cache directory:
$KYEDNS_CACHE, else $XDG_CACHE_HOME/kyedns, else ~/.cache/kyedns.  The
system's apt configuration and state are not touched.  A second run, and a
second process at the same time (a file lock), use the cache.

Zones.  `shipped_zones()` names each zone file of the source package with
the zone it belongs to, or the reason it is not compared.
"""
import fcntl
import glob
import os
import pwd
import re
import shutil
import subprocess
import tarfile
import tempfile

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype


def cache_dir():
    d = os.environ.get("KYEDNS_CACHE")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "kyedns")
    os.makedirs(d, exist_ok=True)
    return d


def _pdns_version():
    """The source version of the installed pdns-server ("4.7.3-2")."""
    p = subprocess.run(["dpkg-query", "-W", "-f=${source:Version}", "pdns-server"],
                       capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        raise RuntimeError("pdns-server is not installed (dpkg-query: %s)" % p.stderr.strip())
    return p.stdout.strip()


def _deb822_stanzas(text):
    """Stanzas of a deb822 file as lists of (field, raw value lines)."""
    out, cur = [], []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                out.append(cur)
            cur = []
            continue
        if line[0] in " \t" and cur:
            cur[-1][1].append(line)
            continue
        k, _, v = line.partition(":")
        cur.append([k.strip(), [v.strip()]])
    if cur:
        out.append(cur)
    return out


def deb_src_sources():
    """deb822 text with a deb-src stanza for every enabled Debian archive
    of the machine's apt sources (falls back to every archive when none
    looks like Debian's, e.g. a local mirror)."""
    stanzas = []
    paths = sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for path in paths:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        for st in _deb822_stanzas(text):
            fields = {k.lower(): v for k, v in st}
            types = " ".join(fields.get("types", [""])).split()
            if "deb" not in types or fields.get("enabled", ["yes"])[0].lower() == "no":
                continue
            lines = []
            for k, v in st:
                if k.lower() == "types":
                    lines.append("Types: deb-src")
                else:
                    lines.append("%s: %s" % (k, v[0]))
                    lines.extend(v[1:])
            stanzas.append(("\n".join(lines), " ".join(fields.get("uris", [""]))))
    one_line = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for path in one_line:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            m = re.match(r"^deb(\s+\[[^\]]*\])?\s+(\S+)\s+(\S+)\s*(.*)$", line)
            if not m:
                continue
            opts, uri, suite, comps = m.groups()
            st = ["Types: deb-src", "URIs: " + uri, "Suites: " + suite]
            if comps:
                st.append("Components: " + comps)
            for o in re.findall(r"([\w-]+)=(\S+)", (opts or "").strip("[] ")):
                if o[0] == "signed-by":
                    st.append("Signed-By: " + o[1])
            stanzas.append(("\n".join(st), uri))
    debian = [s for s, uri in stanzas if "debian" in uri]
    chosen = debian or [s for s, _ in stanzas]
    if not chosen:
        raise RuntimeError("no apt source found to make a deb-src entry from")
    return "\n\n".join(chosen) + "\n"


def _apt(args, root, cwd=None, timeout=300):
    """apt-get with a private configuration under root."""
    user = pwd.getpwuid(os.getuid()).pw_name
    opts = ["-o", "Dir::Etc::SourceList=" + os.path.join(root, "sources.list"),
            "-o", "Dir::Etc::SourceParts=" + os.path.join(root, "sources.list.d"),
            "-o", "Dir::State::Lists=" + os.path.join(root, "lists"),
            "-o", "Dir::Cache=" + os.path.join(root, "cache"),
            "-o", "Dir::Cache::Archives=" + os.path.join(root, "cache", "archives"),
            # the downloads go to directories this user owns
            "-o", "APT::Sandbox::User=" + user,
            "-q"]
    p = subprocess.run(["apt-get"] + opts + list(args), cwd=cwd, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("apt-get %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                          (p.stdout + p.stderr)[-2000:]))
    return p.stdout


def _fetch_source(version, dest):
    work = tempfile.mkdtemp(prefix="pdns-src-", dir=os.path.dirname(dest))
    try:
        for d in ("sources.list.d", "lists/partial", "cache/archives/partial", "dl"):
            os.makedirs(os.path.join(work, d))
        open(os.path.join(work, "sources.list"), "w").close()
        with open(os.path.join(work, "sources.list.d", "deb-src.sources"), "w") as f:
            f.write(deb_src_sources())
        _apt(["update"], work)
        dl = os.path.join(work, "dl")
        try:
            _apt(["source", "--download-only", "pdns=" + version], work, cwd=dl)
        except RuntimeError:
            # The installed version is no longer in the archive: take the
            # archive's; the zone files rarely change between revisions.
            _apt(["source", "--download-only", "pdns"], work, cwd=dl)
        tree = os.path.join(work, "tree")
        os.makedirs(tree)
        n = 0
        for tarball in sorted(glob.glob(os.path.join(dl, "*.tar.*"))):
            if tarball.endswith(".asc"):
                continue
            with tarfile.open(tarball) as t:
                for m in t.getmembers():
                    # pdns-4.7.3/regression-tests/zones/X or debian/tests-source/X
                    parts = m.name.split("/")
                    keep = (len(parts) == 4 and parts[1:3] == ["regression-tests", "zones"]) or \
                           (len(parts) == 3 and parts[0] == "debian" and
                            parts[1] in ("tests-source", "tests"))
                    if not keep or not m.isfile():
                        continue
                    rel = "/".join(parts[1:]) if parts[0] != "debian" else m.name
                    out = os.path.join(tree, rel)
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    with t.extractfile(m) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    n += 1
        if n == 0:
            raise RuntimeError("the pdns source package holds no zone files")
        dsc = glob.glob(os.path.join(dl, "*.dsc"))
        with open(os.path.join(tree, "SOURCE"), "w") as f:
            f.write("%s\n" % (os.path.basename(dsc[0]) if dsc else version))
        os.rename(tree, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def pdns_source():
    """Directory holding regression-tests/zones/ and debian/ of pdns's
    Debian source package for the installed pdns-server; fetched once."""
    version = _pdns_version()
    root = os.path.join(cache_dir(), "pdns-src")
    os.makedirs(root, exist_ok=True)
    dest = os.path.join(root, version)
    with open(os.path.join(root, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(dest, "SOURCE")):
            shutil.rmtree(dest, ignore_errors=True)
            _fetch_source(version, dest)
    return dest


# ---------------------------------------------------------------------------
# Zone files

class ZoneFile:
    """One zone file to compare: .zone (absolute, with the dot), .text."""

    def __init__(self, label, zone, text, note=""):
        self.label, self.zone, self.text, self.note = label, zone, text, note


def _origin_of(text):
    """The owner of the file's first SOA."""
    for line in text.splitlines():
        t = line.split(";", 1)[0].split()
        if "SOA" in t and t[0] not in ("$ORIGIN", "$TTL"):
            return t[0] if t[0].endswith(".") else None
    return None


def drop_out_of_zone(text, zone):
    """The text without one-line records owned by names outside zone, and
    the dropped lines; None when such a record spans lines."""
    z = dns.name.from_text(zone)
    kept, dropped = [], []
    for line in text.splitlines(True):
        t = line.split()
        if t and t[0].endswith(".") and not t[0].startswith("$") and line[0] not in " \t":
            if not dns.name.from_text(t[0]).is_subdomain(z):
                if "(" in line and ")" not in line:
                    return None, None
                dropped.append(line.strip())
                continue
        kept.append(line)
    return "".join(kept), dropped


def shipped_zones(src):
    """(compared, skipped): compared is a list of ZoneFile; skipped a list
    of (file, reason).  Decisions are made on what each file holds, so a
    newer source package with new files is handled the same way."""
    compared, skipped = [], []
    zdir = os.path.join(src, "regression-tests", "zones")
    for path in sorted(glob.glob(os.path.join(zdir, "*"))):
        name = os.path.basename(path)
        with open(path, errors="replace") as f:
            text = f.read()
        origin = _origin_of(text)
        types = set(re.findall(r"\bIN\s+([A-Z0-9]+)\b", text))
        owners_soa = re.findall(r"^(\S+)\s+(?:\d+\s+)?IN\s+SOA\b", text, re.M)
        if origin is None:
            skipped.append((name, "no SOA: a $GENERATE fragment for the parser's unit "
                                  "tests, not a zone"))
            continue
        if len(set(o.lower() for o in owners_soa)) > 1:
            skipped.append((name, "holds several zones in one file"))
            continue
        if types & {"RRSIG", "NSEC", "NSEC3", "DNSKEY"}:
            skipped.append((name, "DNSSEC-signed (RRSIG/NSEC/DNSKEY): a presigned zone; this "
                                  "comparison is without DNSSEC"))
            continue
        if re.search(r"^\S+\s+\d+\s+IN\s+(A|AAAA)\s*$", text, re.M):
            skipped.append((name, "deliberately broken (a record without rdata): both "
                                  "refuse it"))
            continue
        kept, dropped = drop_out_of_zone(text, origin)
        if kept is None:
            skipped.append((name, "out-of-zone records on several lines"))
            continue
        note = ""
        if dropped:
            note = ("shipped with out-of-zone data, which both refuse (%s); compared "
                    "without it" % "; ".join(dropped))
        compared.append(ZoneFile(name, origin.lower(), kept, note))
    smoke = os.path.join(src, "debian", "tests-source", "smoke-bind")
    if os.path.exists(smoke):
        with open(smoke) as f:
            m = re.search(r'cat <<EOF >"\$CONFDIR/([^"]+)\.zone"\n(.*?)\nEOF\n', f.read(), re.S)
        if m:
            compared.append(ZoneFile("debian/tests-source/smoke-bind", m.group(1) + ".",
                                     m.group(2) + "\n"))
    return compared, skipped


def rounds(zonefiles):
    """Groups zone files so that no group holds one zone twice."""
    out = []
    for zf in zonefiles:
        for r in out:
            if zf.zone not in {z.zone for z in r}:
                r.append(zf)
                break
        else:
            out.append([zf])
    return out


# ---------------------------------------------------------------------------
# Queries

NODATA_TYPES = ("TXT", "A", "AAAA", "MX", "HINFO")


def _logical_lines(text):
    """Lines of a zone file with comments removed and parentheses joined;
    each is (starts with blank, tokens).  Quoted strings stay one token."""
    out, buf, depth, blank = [], [], 0, False
    for raw in text.splitlines():
        toks = re.findall(r'"(?:[^"\\]|\\.)*"|;.*|[()]|[^\s()";]+', raw)
        if depth == 0:
            blank = raw[:1] in (" ", "\t")
        for t in toks:
            if t.startswith(";"):
                break
            if t == "(":
                depth += 1
            elif t == ")":
                depth -= 1
            else:
                buf.append(t)
        if depth == 0 and buf:
            out.append((blank, buf))
            buf = []
    return out


def _is_type(tok):
    if tok.upper() in ("IN", "CH", "HS", "CLASS1"):
        return False
    try:
        dns.rdatatype.from_text(tok)
        return not tok.isdigit()
    except (dns.rdatatype.UnknownRdatatype, ValueError):
        return False


def parse_records(zf):
    """[(owner Name, type text, rdata tokens)] of a zone file: a tolerant
    reader (pdns accepts content that dnspython refuses) that knows $ORIGIN
    and relative names, and only what the shipped files use."""
    origin = dns.name.from_text(zf.zone)
    owner = origin
    out = []
    for blank, toks in _logical_lines(zf.text):
        if toks[0] == "$ORIGIN":
            origin = dns.name.from_text(toks[1], origin)
            continue
        if toks[0].startswith("$"):
            continue
        if not blank:
            owner = origin if toks[0] == "@" else dns.name.from_text(toks[0], origin)
            toks = toks[1:]
        i = next((i for i, t in enumerate(toks) if _is_type(t)), None)
        if i is None:
            continue
        out.append((owner, dns.rdatatype.to_text(dns.rdatatype.from_text(toks[i])),
                    toks[i + 1:]))
    return out


def parse_zone(zf):
    """({owner Name: set of type names}, records) of a zone file."""
    recs = parse_records(zf)
    names = {}
    for owner, t, _ in recs:
        names.setdefault(owner, set()).add(t)
    return names, recs


def queries(zf):
    """The (qname text, qtype text) list for one zone file, without
    duplicates, in a stable order."""
    names, recs = parse_zone(zf)
    apex = dns.name.from_text(zf.zone)
    out = []

    def add(n, t):
        q = (n.to_text() if isinstance(n, dns.name.Name) else n, t)
        if q not in out:
            out.append(q)

    cuts = [n for n, ts in names.items() if "NS" in ts and n != apex]
    for n in sorted(names):
        ts = names[n]
        for t in sorted(ts):
            add(n, t)
        add(n, "ANY")
        add(n, next((t for t in NODATA_TYPES if t not in ts), "NULL"))
        if "CNAME" in ts:
            for t in ("A", "AAAA", "TXT"):
                add(n, t)
        if n.labels[0] == b"*":
            parent = n.parent()
            w = dns.name.Name((b"kd-w",) + parent.labels)
            for t in sorted(ts) + ["ANY", "A"]:
                add(w, t)
            add(dns.name.Name((b"deep", b"kd-w") + parent.labels), "A")
        else:
            add(dns.name.Name((b"kd-below",) + n.labels), "A")
            if n != apex:
                add(dns.name.Name((b"kd-beside-" + n.labels[0],) + n.labels[1:]), "A")
        # empty non-terminals between the name and the apex
        p = n.parent() if n != apex else apex
        while p != apex and p.is_subdomain(apex):
            if p not in names:
                for t in ("A", "ANY", "NS"):
                    add(p, t)
            p = p.parent()
    for c in cuts:
        for t in ("DS", "NS", "A", "SOA", "ANY"):
            add(c, t)
    # targets of aliases and of names that get additional processing
    targets = {"CNAME": -1, "DNAME": -1, "NS": -1, "MX": -1, "SRV": -1, "PTR": -1,
               "AFSDB": -1, "NAPTR": -1}
    for name, t, rd in recs:
        if t == "DNAME":
            add(dns.name.Name((b"kd-x",) + name.labels), "A")
        if t in targets and rd:
            try:
                target = dns.name.from_text(rd[targets[t]], apex)
            except dns.exception.DNSException:
                continue
            if target.is_subdomain(apex):
                add(target, "A")
    for t in ("DNSKEY", "NSEC3PARAM", "CDS", "RRSIG", "NSEC"):
        add(apex, t)
    # with the DNSSEC OK bit: an unsigned zone answers as without it
    for n, t in ((apex, "SOA"), (apex, "ANY"), ("kd-nx." + zf.zone, "A")):
        add(n, t + "/DO")
    # the query's case comes back in the answer
    for n in sorted(names)[:6]:
        if n.labels[0] != b"*":
            add(dns.name.Name(tuple(bytes(c ^ 0x20 if (i % 2 and 97 <= c <= 122) else c
                                          for i, c in enumerate(l)) for l in n.labels)), "A")
    add("kd-nx." + zf.zone, "A")
    add("kd-nx." + zf.zone, "ANY")
    add("kd-outside.invalid.", "A")
    return out


class _Generic:
    """Within: dnspython reads and prints these types as RFC 3597 generic
    rdata.  Its ZONEMD class refuses rdata that pdns serves as shipped
    (a SHA-384 digest of 12 bytes in zonemd-allunsup.zone), which would
    lose the answer."""
    TYPES = (dns.rdatatype.ZONEMD,)

    def __enter__(self):
        self.saved = dict(dns.rdata._rdata_classes)
        for t in self.TYPES:
            for c in (dns.rdataclass.IN, dns.rdataclass.ANY):
                dns.rdata._rdata_classes[(c, t)] = dns.rdata.GenericRdata

    def __exit__(self, *exc):
        dns.rdata._rdata_classes.clear()
        dns.rdata._rdata_classes.update(self.saved)


def _rrs(section):
    return sorted((rrset.name.to_text(), rrset.ttl, dns.rdataclass.to_text(rrset.rdclass),
                   dns.rdatatype.to_text(rrset.rdtype), rd.to_text())
                  for rrset in section for rd in rrset)


def ask(port, qname, qtype, timeout=3):
    """The normalised answer of 127.0.0.1:port: a dict, or {"error": ...}.
    A qtype "X/DO" asks for X with the DNSSEC OK bit."""
    do = qtype.endswith("/DO")
    q = dns.message.make_query(qname, qtype.split("/")[0], use_edns=0, payload=1232,
                               want_dnssec=do)
    q.flags = 0  # an authoritative query: no RD
    try:
        with _Generic():
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
            if r.flags & dns.flags.TC:
                r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=timeout)
    except (dns.exception.DNSException, OSError) as exc:
        return {"error": type(exc).__name__}
    return {"rcode": dns.rcode.to_text(r.rcode()),
            "flags": dns.flags.to_text(r.flags),
            "edns": [r.edns, dns.flags.edns_to_text(r.ednsflags), r.payload],
            "answer": _rrs(r.answer), "authority": _rrs(r.authority),
            "additional": _rrs(r.additional)}


def axfr(port, zone, timeout=10):
    """The normalised AXFR: {"first", "last", "records"} or {"error"}."""
    try:
        with _Generic():
            msgs = list(dns.query.xfr("127.0.0.1", zone, port=port, timeout=timeout,
                                      lifetime=timeout * 2, relativize=False))
    except (dns.exception.DNSException, OSError, EOFError) as exc:
        return {"error": type(exc).__name__}
    rrs = []
    for m in msgs:
        if m.rcode() != dns.rcode.NOERROR:
            return {"error": "rcode " + dns.rcode.to_text(m.rcode())}
        for rrset in m.answer:
            for rd in rrset:
                rrs.append((rrset.name.to_text(), rrset.ttl, dns.rdatatype.to_text(rrset.rdtype),
                            rd.to_text()))
    if not rrs:
        return {"error": "empty transfer"}
    return {"first": rrs[0], "last": rrs[-1], "records": sorted(rrs[1:-1])}


def failed(ans):
    """True when the answer is no answer at all (the reference failing)."""
    return "error" in ans or ans.get("rcode") == "SERVFAIL"


def describe(ref, got):
    """Short text of what differs between two normalised answers."""
    if "error" in ref or "error" in got:
        return "bind: %s / kyedns: %s" % (ref.get("error", ref.get("rcode")),
                                          got.get("error", got.get("rcode")))
    out = []
    for k in ("rcode", "flags", "edns", "first", "last"):
        if k in ref and ref.get(k) != got.get(k):
            out.append("%s: bind %s, kyedns %s" % (k, ref.get(k), got.get(k)))
    for k in ("answer", "authority", "additional", "records"):
        if k not in ref:
            continue
        a, b = set(map(tuple, ref[k])), set(map(tuple, got.get(k, [])))
        for rr in sorted(a - b):
            out.append("%s only bind:   %s" % (k, " ".join(map(str, rr))))
        for rr in sorted(b - a):
            out.append("%s only kyedns: %s" % (k, " ".join(map(str, rr))))
        if not (a - b or b - a) and sorted(ref[k]) != sorted(got.get(k, [])):
            out.append("%s: same records, different multiplicity" % k)
    return "; ".join(out)
