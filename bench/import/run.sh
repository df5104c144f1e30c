#!/bin/sh
# Host-import benchmark: generates N hosts (default 1,000,000) with 43-char
# tokens and IPv4 + IPv6 addresses over four zones, times
# `kyednsctl host import`, and reports seconds and store bytes per host.
#
#   bench/import/run.sh [N]          (builds build/kyednsctl first)
#
# Environment: KYEDNS_BUILD (default ./build), BENCH_DIR (default a new
# directory under /tmp, removed at the end unless BENCH_KEEP=1).
# Needs python3, mdb_stat (lmdb-utils) and GNU time is used when present.
set -eu

N=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${KYEDNS_BUILD:-$ROOT/build}
CTL=$BUILD/kyednsctl
ZONES="dyn.example.com home.example.net example.org u.example.io"

if [ -z "${KYEDNS_BUILD:-}" ]; then
	make -C "$ROOT" -s build/kyednsctl >/dev/null
fi
DIR=${BENCH_DIR:-$(mktemp -d /tmp/kyedns-bench-import.XXXXXX)}
cleanup() {
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
DB=$DIR/db
FILE=$DIR/hosts.txt

echo "generating $N hosts in $FILE ..."
python3 "$ROOT/bench/import/gen.py" "$N" --zones "$(echo $ZONES | tr ' ' ,)" >"$FILE"
for z in $ZONES; do
	"$CTL" --db "$DB" zone add "$z" --ns ns1.example.com --ns ns2.example.com >/dev/null
done
sync

echo "importing ..."
start=$(date +%s.%N)
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f "%e s elapsed, %U s user, %S s system, %M KiB max RSS" \
		"$CTL" --db "$DB" host import "$FILE" >"$DIR/import.out" 2>"$DIR/import.err"
else
	"$CTL" --db "$DB" host import "$FILE" >"$DIR/import.out" 2>"$DIR/import.err"
fi
end=$(date +%s.%N)
grep -v ' hosts imported$' "$DIR/import.err" || true
tail -n 1 "$DIR/import.out"

hosts=$("$CTL" --db "$DB" --json zone list | python3 -c '
import json, subprocess, sys
print(sum(json.loads(subprocess.run([sys.argv[1], "--db", sys.argv[2], "--json", "zone", "show", z["zone"]],
      capture_output=True, text=True, check=True).stdout)["hosts"] for z in json.load(sys.stdin)))' "$CTL" "$DB")
file_bytes=$(stat -c %s "$DB/data.mdb")
disk_bytes=$(du -B1 "$DB/data.mdb" | cut -f1)
# mdb_stat: "pages used" is the high-water mark of the file; the B-tree
# pages (branch + leaf + overflow of every database) are what is live.
psize=$(mdb_stat -e "$DB" | awk '/Page size/ {print $3}')
hwm=$(mdb_stat -e "$DB" | awk '/Number of pages used/ {print $5}')
tree=$(mdb_stat -a "$DB" | awk '/Branch pages|Leaf pages|Overflow pages/ {s += $3} END {print s}')
free=$(mdb_stat -f "$DB" | awk '/Free pages/ {print $3}')

python3 - "$N" "$hosts" "$start" "$end" "$file_bytes" "$disk_bytes" "$psize" "$hwm" "$tree" "$free" <<'EOF'
import sys
n, hosts = int(sys.argv[1]), int(sys.argv[2])
start, end = float(sys.argv[3]), float(sys.argv[4])
file_b, disk_b, psize, hwm, tree, free = map(int, sys.argv[5:11])
print("hosts in store      %d (of %d generated)" % (hosts, n))
print("import time         %.2f s (%.0f hosts/s)" % (end - start, hosts / (end - start)))
print("data.mdb size       %d bytes = %.1f bytes/host (du: %.1f)" % (file_b, file_b / hosts, disk_b / hosts))
print("mdb_stat pages used %d x %d = %.1f bytes/host" % (hwm, psize, hwm * psize / hosts))
print("B-tree pages        %d x %d = %.1f bytes/host (free pages: %d)" % (tree, psize, tree * psize / hosts, free))
EOF
