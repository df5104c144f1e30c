"""The pdns HTTP API, unchanged, on a KyedNS zone (pdns 4.7.3 remote
backend in front of kyedns-backend): PATCH rrsets (REPLACE, DELETE, the
SOA, several in one transaction, on a 20k-record zone), GET a zone,
/export, /search-data, zone metadata, TSIG keys.

Each test starts its own backend + pdns (pdns_util.PdnsSite); answers are
checked through pdns with dnspython, every cache off.
"""
import dns.message
import dns.query
import dns.rcode
import dns.tsig
import pytest

from pdns_util import ZONE, PdnsSite, keyring, new_secret, serial_gt

APEX = ZONE + "."


@pytest.fixture
def site(tmp_path):
    with PdnsSite(tmp_path) as s:
        yield s


def rrset(name, rtype, ttl, contents, changetype="REPLACE"):
    return {"name": name, "type": rtype, "ttl": ttl, "changetype": changetype,
            "records": [{"content": c, "disabled": False} for c in contents]}


def zone_rrsets(site):
    """{(name, type): (ttl, {content})} of GET /zones/example.test."""
    status, z = site.api("GET", "/zones/" + APEX)
    assert status == 200, z
    out = {}
    for rs in z["rrsets"]:
        out[(rs["name"], rs["type"])] = (rs["ttl"], {r["content"] for r in rs["records"]})
    return out


def test_patch_replace_then_delete(site):
    s0 = site.serial()
    status, body = site.patch([rrset("new." + APEX, "A", 300, ["192.0.2.77", "192.0.2.78"])])
    assert status == 204, body
    assert site.answer("new." + ZONE, "A") == (300, {"192.0.2.77", "192.0.2.78"})
    s1 = site.serial()
    assert serial_gt(s1, s0), (s0, s1)

    rr = zone_rrsets(site)
    assert rr[("new." + APEX, "A")] == (300, {"192.0.2.77", "192.0.2.78"})

    # REPLACE an existing RRset: exactly the new contents, new TTL.
    status, body = site.patch([rrset("new." + APEX, "A", 600, ["192.0.2.79"])])
    assert status == 204, body
    assert site.answer("new." + ZONE, "A") == (600, {"192.0.2.79"})
    s2 = site.serial()
    assert serial_gt(s2, s1), (s1, s2)

    status, body = site.api("PATCH", "/zones/" + APEX, {"rrsets": [
        {"name": "new." + APEX, "type": "A", "changetype": "DELETE"}]})
    assert status == 204, body
    assert site.rcode("new." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert ("new." + APEX, "A") not in zone_rrsets(site)
    s3 = site.serial()
    assert serial_gt(s3, s2), (s2, s3)


def test_patch_several_rrsets_one_transaction(site):
    """Several rrsets of one PATCH commit together; a failing one (a CNAME
    beside the A just added) rolls back the whole PATCH."""
    status, body = site.patch([rrset("multi." + APEX, "A", 300, ["192.0.2.1"]),
                               rrset("multi." + APEX, "TXT", 300, ['"hello"']),
                               rrset("mx." + APEX, "MX", 300, ["10 mail." + APEX])])
    assert status == 204, body
    assert site.answer("multi." + ZONE, "TXT") == (300, {'"hello"'})
    assert site.answer("mx." + ZONE, "MX") == (300, {"10 mail." + APEX})
    s0 = site.serial()

    status, body = site.patch([rrset("other." + APEX, "A", 300, ["192.0.2.2"]),
                               rrset("multi." + APEX, "CNAME", 300, ["target." + APEX])])
    assert status == 422, body
    assert "Conflicts with pre-existing RRset" in body["error"], body
    assert site.rcode("other." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert site.answer("multi." + ZONE, "A") == (300, {"192.0.2.1"})
    assert site.serial() == s0


def test_patch_cname_beside_a_is_422(site):
    status, body = site.patch([rrset("www." + APEX, "A", 300, ["192.0.2.10"])])
    assert status == 204, body
    s0 = site.serial()
    status, body = site.patch([rrset("www." + APEX, "CNAME", 300, ["elsewhere." + APEX])])
    assert status == 422, body
    assert body == {"error": "RRset www.%s IN CNAME: Conflicts with pre-existing RRset" % APEX}
    assert site.answer("www." + ZONE, "A") == (300, {"192.0.2.10"})
    assert site.answer("www." + ZONE, "CNAME") == (None, set())
    assert site.serial() == s0
    # And the other way round: A beside an existing CNAME.
    status, body = site.patch([rrset("alias." + APEX, "CNAME", 300, ["www." + APEX])])
    assert status == 204, body
    status, body = site.patch([rrset("alias." + APEX, "A", 300, ["192.0.2.11"])])
    assert status == 422, body
    assert "Conflicts with pre-existing RRset" in body["error"]


def test_patch_with_comments_is_422_and_rolled_back(site):
    """The remote backend cannot store comments: pdns aborts the
    transaction after the records were replaced; nothing may remain."""
    s0 = site.serial()
    rs = rrset("commented." + APEX, "A", 300, ["192.0.2.33"])
    rs["comments"] = [{"content": "a note", "account": "test", "modified_at": 0}]
    status, body = site.patch([rs])
    assert status == 422, body
    assert body == {"error": "Hosting backend does not support editing comments."}
    assert site.rcode("commented." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert ("commented." + APEX, "A") not in zone_rrsets(site)
    assert site.serial() == s0
    # The backend is still healthy for the next edit.
    status, body = site.patch([rrset("after." + APEX, "A", 300, ["192.0.2.34"])])
    assert status == 204, body
    assert site.answer("after." + ZONE, "A") == (300, {"192.0.2.34"})


def test_patch_soa(site):
    ttl0, soa0 = site.soa()
    new_serial = (soa0.serial + 100) & 0xFFFFFFFF
    content = "ns9.%s hostmaster2.%s %d 7200 1800 1209600 120" % (APEX, APEX, new_serial)
    status, body = site.patch([rrset(APEX, "SOA", 1800, [content])])
    assert status == 204, body
    ttl, soa = site.soa()
    assert ttl == 1800
    assert soa.to_text() == content
    assert zone_rrsets(site)[(APEX, "SOA")] == (1800, {content})

    # A lower serial is not taken: the served serial still moves forward.
    low = "ns9.%s hostmaster2.%s %d 7200 1800 1209600 120" % (APEX, APEX, soa0.serial)
    status, body = site.patch([rrset(APEX, "SOA", 1800, [low])])
    assert status == 204, body
    s = site.serial()
    assert serial_gt(s, new_serial), (new_serial, s)
    # The other fields of that PATCH were taken.
    ttl, soa = site.soa()
    assert (soa.mname.to_text(), soa.refresh, soa.minimum) == ("ns9." + APEX, 7200, 120)

    # The SOA cannot be deleted: a clear error, and the zone stays served.
    status, body = site.api("PATCH", "/zones/" + APEX, {"rrsets": [
        {"name": APEX, "type": "SOA", "changetype": "DELETE"}]})
    assert status == 422, body
    assert body == {"error": "Hosting backend does not support editing records."}
    assert site.serial() == s

    # An edit of other data bumps the patched serial by RFC 1982 rules.
    status, body = site.patch([rrset("x." + APEX, "TXT", 60, ['"x"'])])
    assert status == 204, body
    assert serial_gt(site.serial(), s)


def test_patch_static_a_at_dyn_host_refused(tmp_path):
    """A/AAAA at a dynamic host's name belong to the host: the API may not
    overwrite them (refused), and the host keeps updating."""
    tok = "tok-home-0123456789abcdef"
    with PdnsSite(tmp_path, updater=True,
                  prepare=lambda c: c.run("host", "add", "home." + ZONE, "--token", tok)) as site:
        _static_a_at_dyn_host(site, tok)


def _static_a_at_dyn_host(site, tok):
    st, body, _ = site.dyn_update("home." + ZONE, tok, "192.0.2.50")
    assert (st, body) == (200, "good 192.0.2.50\n")
    status, body = site.patch([rrset("home." + APEX, "A", 300, ["198.51.100.9"])])
    assert status == 422, body
    assert body == {"error": "Hosting backend does not support editing records."}
    assert site.answer("home." + ZONE, "A")[1] == {"192.0.2.50"}
    # CNAME at the host's name: pdns itself sees the host's A and refuses.
    status, body = site.patch([rrset("home." + APEX, "CNAME", 300, ["www." + APEX])])
    assert status == 422, body
    # Other types at the host's name are fine.
    status, body = site.patch([rrset("home." + APEX, "TXT", 300, ['"my router"'])])
    assert status == 204, body
    st, body, _ = site.dyn_update("home." + ZONE, tok, "192.0.2.51")
    assert (st, body) == (200, "good 192.0.2.51\n")
    assert site.answer("home." + ZONE, "A")[1] == {"192.0.2.51"}
    assert site.answer("home." + ZONE, "TXT")[1] == {'"my router"'}


def test_get_zone_export_search(site):
    status, body = site.patch([rrset("new." + APEX, "A", 300, ["192.0.2.77", "192.0.2.78"]),
                               rrset("new." + APEX, "TXT", 120, ['"search me"']),
                               rrset("srv._tcp." + APEX, "SRV", 300, ["0 5 5060 sip." + APEX])])
    assert status == 204, body

    status, z = site.api("GET", "/zones/" + APEX)
    assert status == 200
    assert z["name"] == APEX and z["id"] == APEX
    assert z["serial"] == site.serial()
    rr = zone_rrsets(site)
    assert rr[("new." + APEX, "A")] == (300, {"192.0.2.77", "192.0.2.78"})
    assert rr[("new." + APEX, "TXT")] == (120, {'"search me"'})
    assert rr[("srv._tcp." + APEX, "SRV")] == (300, {"0 5 5060 sip." + APEX})
    assert rr[(APEX, "NS")][1] == {"ns1." + APEX, "ns2." + APEX}
    (soa,) = rr[(APEX, "SOA")][1]
    assert soa.split()[2] == str(site.serial())

    status, text = site.api("GET", "/zones/%s/export" % APEX)
    assert status == 200, text
    lines = {tuple(l.split(None, 4)) for l in text.splitlines() if l.strip()}
    for want in [("new." + APEX, "300", "IN", "A", "192.0.2.77"),
                 ("new." + APEX, "300", "IN", "A", "192.0.2.78"),
                 ("new." + APEX, "120", "IN", "TXT", '"search me"'),
                 ("srv._tcp." + APEX, "300", "IN", "SRV", "0 5 5060 sip." + APEX),
                 (APEX, str(rr[(APEX, "NS")][0]), "IN", "NS", "ns1." + APEX)]:
        assert want in lines, (want, text)
    soa_lines = [l for l in lines if l[3] == "SOA"]
    assert len(soa_lines) == 1 and soa_lines[0][4].split()[2] == str(site.serial()), text

    status, found = site.api("GET", "/search-data?q=new*")
    assert status == 200, found
    got = {(f["name"], f["type"], f["content"], f["zone"]) for f in found
           if f["object_type"] == "record"}
    assert got == {("new." + APEX, "A", "192.0.2.77", APEX),
                   ("new." + APEX, "A", "192.0.2.78", APEX),
                   ("new." + APEX, "TXT", '"search me"', APEX)}, found
    status, found = site.api("GET", "/search-data?q=192.0.2.7?")
    assert status == 200, found
    got = {(f["name"], f["content"]) for f in found if f["object_type"] == "record"}
    assert got == {("new." + APEX, "192.0.2.77"), ("new." + APEX, "192.0.2.78")}, found
    status, found = site.api("GET", "/search-data?q=nothing-like-this*")
    assert status == 200 and [f for f in found if f["object_type"] == "record"] == []
    status, found = site.api("GET", "/search-data?q=new*&max=1")
    assert status == 200 and len([f for f in found if f["object_type"] == "record"]) == 1


def test_zone_metadata(site):
    base = "/zones/%s/metadata" % APEX
    status, body = site.api("PUT", base + "/X-TEST", {"metadata": ["v1", "v2"]})
    assert status == 200, body
    assert body == {"type": "Metadata", "kind": "X-TEST", "metadata": ["v1", "v2"]}
    status, body = site.api("GET", base + "/X-TEST")
    assert (status, body) == (200, {"type": "Metadata", "kind": "X-TEST",
                                    "metadata": ["v1", "v2"]})

    status, body = site.api("POST", base, {"kind": "X-TEST", "metadata": ["v3"]})
    assert status == 201, body
    status, body = site.api("GET", base + "/X-TEST")
    assert status == 200 and body["metadata"] == ["v1", "v2", "v3"], body

    status, body = site.api("PUT", base + "/ALSO-NOTIFY", {"metadata": ["192.0.2.1:5300"]})
    assert status == 200, body
    status, body = site.api("GET", base)
    assert status == 200
    kinds = {m["kind"]: m["metadata"] for m in body}
    assert kinds["X-TEST"] == ["v1", "v2", "v3"]
    assert kinds["ALSO-NOTIFY"] == ["192.0.2.1:5300"]

    # Replacing with PUT replaces, it does not merge.
    status, body = site.api("PUT", base + "/X-TEST", {"metadata": ["only"]})
    assert status == 200, body
    assert site.api("GET", base + "/X-TEST")[1]["metadata"] == ["only"]

    status, body = site.api("DELETE", base + "/X-TEST")
    assert status in (200, 204), body
    status, body = site.api("GET", base + "/X-TEST")
    assert status == 404 or (status == 200 and body["metadata"] == []), (status, body)
    status, body = site.api("GET", base)
    assert "X-TEST" not in {m["kind"] for m in body}
    assert {m["kind"]: m["metadata"] for m in body}["ALSO-NOTIFY"] == ["192.0.2.1:5300"]

    # Metadata is not zone data: the serial did not move.
    s0 = site.serial()
    site.api("PUT", base + "/X-OTHER", {"metadata": ["x"]})
    assert site.serial() == s0
    # Metadata of a zone that does not exist: 404 from pdns, no crash.
    status, _ = site.api("GET", "/zones/nosuch.test./metadata")
    assert status == 404


def test_tsig_keys(site):
    status, body = site.api("POST", "/tsigkeys", {"name": "apikey", "algorithm": "hmac-sha256"})
    assert status == 201, body
    assert (body["name"], body["id"], body["algorithm"]) == ("apikey", "apikey.", "hmac-sha256")
    generated = body["key"]
    assert len(generated) > 20

    secret = new_secret()
    status, body = site.api("POST", "/tsigkeys", {"name": "k2", "algorithm": "hmac-sha512",
                                                  "key": secret})
    assert status == 201, body
    assert body["key"] == secret

    status, body = site.api("GET", "/tsigkeys")
    assert status == 200, body
    assert {(k["id"], k["algorithm"]) for k in body} == {("apikey.", "hmac-sha256"),
                                                       ("k2.", "hmac-sha512")}

    status, body = site.api("GET", "/tsigkeys/apikey.")
    assert status == 200, body
    assert (body["name"], body["algorithm"], body["key"]) == ("apikey", "hmac-sha256", generated)
    status, body = site.api("GET", "/tsigkeys/k2.")
    assert (status, body["key"], body["algorithm"]) == (200, secret, "hmac-sha512")

    # A second key of the same name is a conflict, and changes nothing.
    status, body = site.api("POST", "/tsigkeys", {"name": "k2", "algorithm": "hmac-sha256",
                                                  "key": new_secret()})
    assert status == 409, body
    assert site.api("GET", "/tsigkeys/k2.")[1]["key"] == secret

    status, body = site.api("DELETE", "/tsigkeys/apikey.")
    assert status == 204, body
    status, body = site.api("GET", "/tsigkeys/apikey.")
    assert status == 404, body
    status, body = site.api("GET", "/tsigkeys")
    assert [k["id"] for k in body] == ["k2."]
    # The API's key signs queries pdns accepts.
    q = dns.message.make_query(ZONE, "SOA")
    q.use_tsig(keyring("k2", secret), keyname="k2.", algorithm=dns.tsig.HMAC_SHA512)
    r = dns.query.tcp(q, "127.0.0.1", port=site.dns_port, timeout=5)
    assert r.rcode() == dns.rcode.NOERROR and r.had_tsig


def test_patch_big_zone(site):
    """A dyndns zone has many names.  PATCH must not depend on the size of
    the zone: pdns's API-RECTIFY step lists the whole zone through the
    remote backend (a no-op for it, which writes nothing), and pdns 4.7
    reads a `list` reply so slowly (it re-parses the growing buffer after
    every 1500 bytes) that 20k records overrun the connection timeout:
    HTTP 500 and the edit is lost, unless the shipped configuration turns
    default-api-rectify off."""
    n = 20000
    lines = ["$ORIGIN example.test.", "$TTL 300",
             "@ SOA ns1 hostmaster 2030010100 3600 600 86400 60", "@ NS ns1", "@ NS ns2"]
    lines += ["h%05d A 10.%d.%d.%d" % (i, i >> 16, (i >> 8) & 255, i & 255) for i in range(n)]
    site.load_zone("\n".join(lines) + "\n")
    status, body = site.patch([rrset("new." + APEX, "A", 300, ["192.0.2.77"])])
    assert status == 204, (status, body)
    assert site.answer("new." + ZONE, "A") == (300, {"192.0.2.77"})
    assert site.serial() == 2030010101
    status, body = site.api("PATCH", "/zones/" + APEX, {"rrsets": [
        {"name": "h00001." + APEX, "type": "A", "changetype": "DELETE"}]})
    assert status == 204, (status, body)
    assert site.rcode("h00001." + ZONE, "A") == dns.rcode.NXDOMAIN
    assert site.answer("h19999." + ZONE, "A") == (300, {"10.0.78.31"})
