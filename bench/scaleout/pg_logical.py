#!/usr/bin/python3
"""PostgreSQL logical replication as the replicated log that per-server
stores would follow.

Two throw-away clusters (initdb in a temporary directory, run as user
postgres, TCP on loopback ports): a publisher with a hosts table of HOSTS
rows (one row per dual-stack host) and a subscriber that follows it with
logical replication.  Default durability (fsync=on, synchronous_commit=on).
An ALWAYS trigger on the subscriber records, for every applied row, the
time since the publisher's UPDATE statement ran (both clusters share the
clock).  Measured:

1. updates/s pgbench reaches on the publisher (1 and 16 clients);
2. replication lag p50/p99 at a steady 100 updates/s (pgbench -R 100);
3. bytes the walsender sent per update (kernel TCP counters of the
   replication connection) = what each per-server store ingests.

Usage: bench/scaleout/pg_logical.py [HOSTS] [STEADY_SECONDS]
(defaults 100000 and 30).  Needs postgresql (15) and the postgres user.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import free_port, tcp_bytes  # noqa: E402

HOSTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
STEADY = int(sys.argv[2]) if len(sys.argv) > 2 else 30
BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]

SCHEMA = """CREATE TABLE hosts (id int PRIMARY KEY, name text NOT NULL, a inet, aaaa inet,
                    changed timestamptz, sent float8);"""
UPDATE_SQL = """\\set id random(0, %d)
UPDATE hosts SET a = ('10.0.0.0'::inet + (:id * 7 %% 16777216)),
                 aaaa = ('2001:db8::'::inet + :id * 13), changed = now(),
                 sent = extract(epoch from clock_timestamp()) WHERE id = :id;
"""


def as_pg(args, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + args, check=True,
                          capture_output=True, text=True, **kw)


class Cluster:
    def __init__(self, base, name, port, extra):
        self.dir = os.path.join(base, name)
        self.sock = base
        self.port = port
        as_pg([BIN + "/initdb", "-D", self.dir, "-A", "trust", "-U", "postgres"])
        with open(os.path.join(self.dir, "postgresql.conf"), "a") as f:
            f.write("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"
                    "shared_buffers = 128MB\n%s" % (port, base, extra))
        as_pg([BIN + "/pg_ctl", "-D", self.dir, "-l", self.dir + ".log", "-w", "start"])

    def sql(self, q):
        return as_pg([BIN + "/psql", "-h", self.sock, "-p", str(self.port), "-U", "postgres",
                      "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", q]).stdout.strip()

    def pgbench(self, *args):
        return as_pg([BIN + "/pgbench", "-h", self.sock, "-p", str(self.port), "-U", "postgres",
                      "-n"] + list(args) + ["postgres"]).stdout

    def stop(self):
        subprocess.run(["runuser", "-u", "postgres", "--", BIN + "/pg_ctl", "-D", self.dir, "-m",
                        "fast", "-w", "stop"], capture_output=True)


def main():
    base = tempfile.mkdtemp(prefix="kyedns-scaleout-pg-")
    os.chmod(base, 0o755)
    shutil.chown(base, "postgres", "postgres")
    clusters = []
    try:
        pub = Cluster(base, "pub", free_port(), "wal_level = logical\n")
        clusters.append(pub)
        sub = Cluster(base, "sub", free_port(), "")
        clusters.append(sub)
        print("PostgreSQL %s, publisher and subscriber on loopback, %d hosts" % (
            pub.sql("SHOW server_version"), HOSTS))
        pub.sql(SCHEMA)
        pub.sql("INSERT INTO hosts SELECT i, 'h' || i, '10.0.0.0'::inet + i, '2001:db8::'::inet + i, "
                "now(), 0 FROM generate_series(0, %d) i" % (HOSTS - 1))
        pub.sql("CREATE PUBLICATION kyedns FOR TABLE hosts")
        sub.sql(SCHEMA)
        sub.sql("CREATE TABLE lag (id int, lag float8)")
        sub.sql("""CREATE FUNCTION note_lag() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN INSERT INTO public.lag VALUES (NEW.id, extract(epoch from clock_timestamp()) - NEW.sent);
                   RETURN NEW; END $$""")
        sub.sql("CREATE TRIGGER note_lag AFTER UPDATE ON hosts FOR EACH ROW EXECUTE FUNCTION note_lag()")
        sub.sql("ALTER TABLE hosts ENABLE ALWAYS TRIGGER note_lag")
        t0 = time.monotonic()
        sub.sql("CREATE SUBSCRIPTION kyedns CONNECTION 'host=127.0.0.1 port=%d dbname=postgres "
                "user=postgres' PUBLICATION kyedns" % pub.port)
        while sub.sql("SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") != "0":
            time.sleep(0.1)
        print("initial copy of %d rows: %.1f s" % (HOSTS, time.monotonic() - t0))
        script = os.path.join(base, "update.sql")
        with open(script, "w") as f:
            f.write(UPDATE_SQL % (HOSTS - 1))
        os.chmod(script, 0o644)

        print("\n## updates/s on the publisher (synchronous_commit=on), subscriber following")
        for clients in (1, 16):
            out = pgbench("-c", str(clients), "-j", "2", "-T", "10", "-f", script, pub=pub)
            print("  clients=%-2d %s" % (clients, out))
        sub.sql("TRUNCATE lag")
        time.sleep(2)
        sub.sql("TRUNCATE lag")

        print("\n## steady 100 updates/s for %d s (pgbench -R 100)" % STEADY)
        before = tcp_bytes(pub.port, local=True)
        out = pgbench("-c", "4", "-j", "2", "-R", "100", "-T", str(STEADY), "-f", script, pub=pub)
        time.sleep(2)
        after = tcp_bytes(pub.port, local=True)
        n = int(sub.sql("SELECT count(*) FROM lag"))
        row = sub.sql("SELECT round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY lag))::numeric, 1), "
                      "round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY lag))::numeric, 1), "
                      "round((1000 * max(lag))::numeric, 1) FROM lag")
        print("  pgbench: %s" % out)
        print("  %d updates applied on the subscriber; UPDATE on the publisher -> applied on the "
              "subscriber (ms) p50|p99|max: %s" % (n, row))
        sent = sum(after[k][0] - before.get(k, (0, 0))[0] for k in after)
        print("  walsender sent %d bytes = %.0f bytes per update" % (sent, sent / max(n, 1)))
    finally:
        for c in clusters:
            c.stop()
        shutil.rmtree(base, ignore_errors=True)


def pgbench(*args, pub):
    out = pub.pgbench(*args)
    keep = [l.strip() for l in out.splitlines()
            if l.startswith(("tps", "latency average", "latency stddev", "number of transactions actually"))]
    return "; ".join(keep)


if __name__ == "__main__":
    main()
