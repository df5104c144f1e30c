"""Real ACME issuance against a KyedNS zone: the harness of test_acme.py.

    from acme_util import AcmeSite, make_tls_ca
    tls = make_tls_ca(tmp_path / "tls")     # pebble's HTTPS certificate
    with AcmeSite(tmp_path, tls) as site:   # host home.example.test, TOKEN
        cert = site.lego("httpreq", env={...})
        assert site.cert_names(cert) == {site.host, "*." + site.host}
        assert site.txt_values() == set()

AcmeSite starts, on free loopback ports in the test's directory:
- kyedns-backend and pdns_server on a store made by kyednsctl (zone
  example.test, one dynamic host with a token), with pdns's packet cache ON
  as in production (pdns-conf/00-kyedns.conf), so a stale answer after a
  change shows up unless the change purged it;
- kyedns-updater writing to that store and purging pdns's cache through
  the pdns HTTP API (--pdns-api);
- pebble (Debian's package, Let's Encrypt's ACME test server) with a TLS
  certificate from a throw-away CA made here with openssl, using pdns as
  its DNS server (-dnsserver), so every DNS-01 validation reads the TXT
  records KyedNS serves.

Leaving the block stops everything it started, and only that.

pebble 2.4 reads these from the environment (its README): PEBBLE_VA_NOSLEEP=1
validates at once instead of after a random 0-15 s sleep,
PEBBLE_WFE_NONCEREJECT=0 stops it rejecting 5 % of good nonces (which
clients retry, slowly), PEBBLE_AUTHZREUSE=0 makes every order need fresh
challenges.  Its CA root and intermediate are made anew at each start; the
management listener serves them (/roots/0, /intermediates/0).
"""
import json
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.request

from backend_util import _stop_proc, _tail
from conftest import free_port
from pdns_util import PdnsSite
from updater_util import Updater

ZONE = "example.test"
HOST = "home." + ZONE
TOKEN = "acme-host-token-0123456789abcdef"

# How the tests ask pdns for the TXT at a name (with PdnsSite.dig's
# @127.0.0.1 -p PORT +tcp +time=5 +tries=1 before it): always the same
# query, so a second one would meet the first's answer in pdns's packet
# cache unless a change purged it.
DIG_TXT = ("+norecurse", "+noall", "+comments", "+answer")

PEBBLE = "/usr/bin/pebble"
LEGO = "/usr/bin/lego"
CERTBOT = "/usr/bin/certbot"
DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "acme")


def missing_tools():
    """The ACME programs that are not installed (Debian packages pebble,
    lego, certbot), as a list of paths."""
    return [p for p in (PEBBLE, LEGO, CERTBOT) if not os.access(p, os.X_OK)]


def _openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, "openssl %s: %s%s" % (" ".join(args), p.stdout, p.stderr)
    return p.stdout


def make_tls_ca(directory):
    """A throw-away CA and a certificate for pebble's HTTPS listener
    (localhost and 127.0.0.1), P-256 keys made with openssl.  Returns
    (ca.pem, cert.pem, key.pem) paths.  ACME clients are told to trust
    ca.pem (LEGO_CA_CERTIFICATES, REQUESTS_CA_BUNDLE)."""
    d = str(directory)
    os.makedirs(d, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=KyedNS test TLS CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", *ec, "-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=localhost",
             cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "cert.pem", cwd=d)
    return tuple(os.path.join(d, n) for n in ("ca.pem", "cert.pem", "key.pem"))


class Pebble:
    """A running pebble.  .directory (the ACME directory URL), .ca (the
    TLS CA file clients must trust), .log."""

    def __init__(self, tmpdir, tls, dns_port):
        self.dir = os.path.join(str(tmpdir), "pebble")
        os.makedirs(self.dir, exist_ok=True)
        self.ca, cert, key = tls
        self.port = free_port(udp_too=False)
        self.mgmt_port = free_port(udp_too=False)
        conf = {"pebble": {
            "listenAddress": "127.0.0.1:%d" % self.port,
            "managementListenAddress": "127.0.0.1:%d" % self.mgmt_port,
            "certificate": cert,
            "privateKey": key,
            # Ports pebble connects to for HTTP-01 and TLS-ALPN-01; these
            # tests offer only DNS-01, so nothing listens there.
            "httpPort": free_port(udp_too=False),
            "tlsPort": free_port(udp_too=False),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }}
        self.config = os.path.join(self.dir, "pebble-config.json")
        with open(self.config, "w") as f:
            json.dump(conf, f, indent=2)
        self.directory = "https://127.0.0.1:%d/dir" % self.port
        self.log = os.path.join(self.dir, "pebble.log")
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0",
                   PEBBLE_AUTHZREUSE="0")
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen([PEBBLE, "-config", self.config,
                                      "-dnsserver", "127.0.0.1:%d" % dns_port],
                                     stdout=self._logf, stderr=self._logf, env=env,
                                     cwd=self.dir)
        self._ctx = ssl.create_default_context(cafile=self.ca)

    def get(self, url, timeout=5):
        with urllib.request.urlopen(url, timeout=timeout, context=self._ctx) as r:
            return r.read().decode()

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("pebble exited (%d): %s" % (self.proc.returncode,
                                                                _tail(self.log)))
            try:
                if "newOrder" in self.get(self.directory, timeout=1):
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("pebble not ready: %s" % _tail(self.log))
            time.sleep(0.05)

    def root(self):
        """pebble's current issuing root, PEM (made anew at each start)."""
        return self.get("https://127.0.0.1:%d/roots/0" % self.mgmt_port)

    def stop(self):
        rc = _stop_proc(self.proc)
        if not self._logf.closed:
            self._logf.close()
        return rc

    def log_text(self):
        return _tail(self.log, 400)


class AcmeSite:
    """pdns + kyedns-backend + kyedns-updater + pebble, one dynamic host
    (others: more hosts, name -> token).

    Attributes: zone, host, token, challenge (the _acme-challenge name),
    pdns (the PdnsSite), updater, pebble, tmp, ctl."""

    def __init__(self, tmp, tls, host=HOST, token=TOKEN, others=None):
        self.tmp = str(tmp)
        self.tls = tls
        self.zone, self.host, self.token = ZONE, host, token
        self.challenge = "_acme-challenge." + host

        def prepare(ctl):
            for h, t in dict(others or {}, **{host: token}).items():
                ctl.run("host", "add", h, "--token", t)
        # The packet cache as production runs it (the snippet's cache-ttl):
        # answers are cached, and a change is visible at once only because
        # it is purged.
        self.pdns = PdnsSite(self.tmp, zones=(ZONE,), prepare=prepare,
                             settings={"cache-ttl": 20})
        self.ctl = self.pdns.ctl
        self.updater = None
        self.pebble = None

    def start(self):
        self.pdns.start()
        try:
            stack = self.pdns.stack
            self.updater = Updater(self.pdns.db, self.tmp, rate=False,
                                   args=["--pdns-api", stack.api_url,
                                         "--pdns-api-key", stack.api_key]).wait_ready()
            self.pebble = Pebble(self.tmp, self.tls, self.pdns.dns_port).wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stops pebble, the updater, pdns and the backend; returns
        (updater exit code, backend exit code)."""
        up_rc = be_rc = None
        try:
            if self.pebble is not None:
                self.pebble.stop()
            if self.updater is not None:
                up_rc = self.updater.stop()
        finally:
            be_rc = self.pdns.stop()
        return up_rc, be_rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        up_rc, be_rc = self.stop()
        if exc[0] is None:
            assert up_rc == 0, "kyedns-updater exited %r: %s" % (
                up_rc, self.updater.log_text()[-3000:])
            assert be_rc == 0, "kyedns-backend exited %r: %s" % (
                be_rc, self.pdns.backend_log()[-3000:])

    # ---- what the tests look at ----

    def txt_values(self, name=None):
        """The TXT strings pdns answers at name (default _acme-challenge.H),
        read with dig over TCP; an empty set for NXDOMAIN or NODATA.  Fails
        on any other rcode."""
        name = name or self.challenge
        out = self.pdns.dig(*DIG_TXT, name, "TXT")
        m = re.search(r"status: (\w+)", out)
        assert m and m.group(1) in ("NOERROR", "NXDOMAIN"), "dig %s TXT: %s" % (name, out)
        vals = set()
        for line in out.splitlines():
            f = line.split(None, 4)
            if len(f) == 5 and not line.startswith(";") and f[3] == "TXT":
                assert f[0].rstrip(".").lower() == name.lower(), line
                vals.add(f[4].strip('"'))
        return vals

    def acme_values(self):
        """The live ACME values the store holds for H (kyednsctl host acme
        --json): a list of {name, value, expires, expires_in}."""
        return self.ctl.json("host", "acme", self.host)

    def history(self):
        """H's history (kyednsctl host history --json), oldest first."""
        return list(reversed(self.ctl.json("host", "history", self.host)))

    def diagnostics(self):
        """The logs worth reading when an issuance failed."""
        parts = [("pebble", self.pebble.log_text() if self.pebble else ""),
                 ("updater", self.updater.log_text()[-4000:] if self.updater else ""),
                 ("backend", self.pdns.backend_log()[-3000:]),
                 ("pdns", self.pdns.pdns_log()[-3000:])]
        return "\n".join("---- %s ----\n%s" % (n, t) for n, t in parts)

    def run_client(self, args, env, what, timeout=90, ok=True):
        """Runs an ACME client with env added to an environment cleared of
        every client's settings.  ok=True asserts exit 0, ok=False a
        failure.  Returns its output."""
        e = {k: v for k, v in os.environ.items()
             if not k.startswith(("HTTPREQ_", "PDNS_", "LEGO_", "CERTBOT_", "REQUESTS_",
                                  "KYEDNS_"))}
        e.update(env)
        p = subprocess.run(args, env=e, capture_output=True, text=True, timeout=timeout,
                           cwd=self.tmp)
        out = p.stdout + p.stderr
        if ok:
            assert p.returncode == 0, "%s exited %d:\n%s\n%s" % (
                what, p.returncode, out[-6000:], self.diagnostics())
        else:
            assert p.returncode != 0, "%s should have failed:\n%s" % (what, out[-6000:])
        return out

    def lego(self, provider, env, extra=(), domains=None, ok=True):
        """`lego run` for H and *.H (or domains) against pebble with DNS provider
        `provider` (env: its settings).  lego's own propagation check is
        off (--dns.disable-cp): it would ask the zone's NS names, which do
        not resolve here; pebble's validation through pdns is the check.
        Returns the certificate path (leaf first, then the chain); with
        ok=False asserts that lego fails and returns its output."""
        path = os.path.join(self.tmp, "lego-" + provider)
        env = dict(env, LEGO_CA_CERTIFICATES=self.pebble.ca)
        args = [LEGO, "--server", self.pebble.directory, "--accept-tos",
                "--email", "acme@" + self.zone, "--path", path,
                *("--domains=" + d for d in domains or (self.host, "*." + self.host)),
                "--dns", provider, "--dns.disable-cp",
                "--dns.resolvers", "127.0.0.1:%d" % self.pdns.dns_port] + list(extra) + ["run"]
        out = self.run_client(args, env, "lego --dns " + provider, ok=ok)
        if not ok:
            return out
        # lego names the files after the first domain.
        cert = os.path.join(path, "certificates", (domains or [self.host])[0] + ".crt")
        assert os.path.exists(cert), os.listdir(os.path.dirname(cert))
        return cert

    def certbot(self, auth_hook, cleanup_hook, env, ok=True):
        """`certbot certonly --manual` for H and *.H against pebble with
        the given hook scripts (env: what they read besides certbot's own
        CERTBOT_DOMAIN and CERTBOT_VALIDATION).  Returns the certificate
        path (fullchain.pem); with ok=False asserts that certbot fails and
        returns its output."""
        base = os.path.join(self.tmp, "certbot")
        env = dict(env, REQUESTS_CA_BUNDLE=self.pebble.ca)
        args = [CERTBOT, "certonly", "--non-interactive", "--agree-tos",
                "--register-unsafely-without-email", "--server", self.pebble.directory,
                "--config-dir", base + "/config", "--work-dir", base + "/work",
                "--logs-dir", base + "/logs",
                "--manual", "--preferred-challenges", "dns",
                "--manual-auth-hook", auth_hook, "--manual-cleanup-hook", cleanup_hook,
                "--cert-name", "kyedns-test",
                "-d", self.host, "-d", "*." + self.host]
        out = self.run_client(args, env, "certbot", ok=ok)
        if not ok:
            return out
        cert = os.path.join(base, "config", "live", "kyedns-test", "fullchain.pem")
        assert os.path.exists(cert)
        return cert

    def certbot_renew(self, env):
        """`certbot renew --force-renewal` of the certificate certbot()
        made: the hooks and server come from certbot's renewal
        configuration, as in a renewal by certbot's timer.  Returns the
        certificate path."""
        base = os.path.join(self.tmp, "certbot")
        env = dict(env, REQUESTS_CA_BUNDLE=self.pebble.ca)
        # --no-random-sleep-on-renew: certbot would wait up to 8 minutes
        # first, as it does from its timer.
        self.run_client([CERTBOT, "renew", "--non-interactive", "--force-renewal",
                         "--no-random-sleep-on-renew",
                         "--config-dir", base + "/config", "--work-dir", base + "/work",
                         "--logs-dir", base + "/logs"], env, "certbot renew")
        return os.path.join(base, "config", "live", "kyedns-test", "fullchain.pem")

    def cert_names(self, cert):
        """The DNS names of the leaf certificate in file cert (the subject
        alternative names openssl x509 -text shows)."""
        text = _openssl("x509", "-in", cert, "-noout", "-text", cwd=self.tmp)
        m = re.search(r"X509v3 Subject Alternative Name:.*?\n\s*(.+)\n", text)
        assert m, text
        return {n.strip()[len("DNS:"):] for n in m.group(1).split(",")
                if n.strip().startswith("DNS:")}

    def cert_serial(self, cert):
        """The leaf certificate's serial number (openssl x509 -serial)."""
        return _openssl("x509", "-in", cert, "-noout", "-serial", cwd=self.tmp).strip()

    def verify_chain(self, cert):
        """Asserts that the leaf in cert chains up to this pebble's root
        through the intermediates in the same file (openssl verify).
        Returns openssl's output."""
        pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?",
                          open(cert).read(), re.S)
        assert len(pems) >= 2, "%s: want leaf and chain, got %d certificates" % (cert, len(pems))
        d = os.path.join(self.tmp, "verify")
        os.makedirs(d, exist_ok=True)
        for name, text in (("root.pem", self.pebble.root()), ("leaf.pem", pems[0]),
                           ("chain.pem", "".join(pems[1:]))):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        return _openssl("verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "leaf.pem",
                        cwd=d)


def copy_hook(name, directory):
    """Copies tests/data/acme/NAME into directory, executable; returns the
    new path (certbot runs hooks through the shell by path)."""
    dst = os.path.join(str(directory), name)
    shutil.copy(os.path.join(DATA, name), dst)
    os.chmod(dst, 0o755)
    return dst
