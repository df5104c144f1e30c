#!/bin/sh
# Benchmark of kyedns-updater: durable dyndns2 updates per second and p99
# at 1/16/64/256 connections (every request a real change), the nochg path,
# and, in the same run, pdns's own API (PATCH of an rrset, native lmdb
# backend) as the baseline an operator already has.
#
# Usage: bench/updater/run.sh [SECONDS]   (default 10 per run)
#        PDNS=0 bench/updater/run.sh ...  (kyedns only, no baseline)
#        NOCHG_ONLY=1 ...                  (only the nochg case; implies PDNS=0)
#        CONNS="1 16 64" ...               (the connection counts of the update runs)
#        UPDATER_ARGS="--history-size 0" ...  (extra options of kyedns-updater)
# Needs: make (build/), wrk, pdns-server, pdns-backend-lmdb.  Loopback only;
# everything lives in a temporary directory that is removed at the end.
set -eu

DUR=${1:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${KYEDNS_BUILD:-$ROOT/build}
HOSTS=10000
TOKEN=bench-token-0123456789abcdef
THREADS=1  # wrk threads: on 2 cores, one is left to the server
NOCHG_ONLY=${NOCHG_ONLY:-0}
UPDATER_ARGS=${UPDATER_ARGS:-}
PDNS=${PDNS:-1}
[ "$NOCHG_ONLY" = 1 ] && PDNS=0

TMP=$(mktemp -d /tmp/kyedns-bench.XXXXXX)
UPID= PPID_=
cleanup() {
	[ -n "$UPID" ] && kill "$UPID" 2>/dev/null && wait "$UPID" 2>/dev/null || true
	[ -n "$PPID_" ] && kill "$PPID_" 2>/dev/null && wait "$PPID_" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
	for _ in $(seq 200); do
		/usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" \
			2>/dev/null && return 0
		sleep 0.05
	done
	echo "port $1 never opened" >&2
	return 1
}

# wrk RESULT line -> "rps p50 p99 ok bad".  Runs in a subshell ($(...)), so
# the caller bumps RUN: each run gets its own address range.
RUN=0
run_wrk() { # conns script url [env...]
	c=$1 script=$2 url=$3
	shift 3
	t=$THREADS
	[ "$c" -lt "$t" ] && t=$c
	out=$(env THREADS=$t HOSTS=$HOSTS OFFSET=$((RUN * 1000000)) "$@" wrk -t "$t" -c "$c" -d "${DUR}s" --latency \
		-s "$script" "$url" 2>&1)
	echo "$out" | grep -q '^RESULT' || { echo "$out" >&2; return 1; }
	echo "$out" | grep '^sample bad' >&2 || true
	echo "$out" | sed -n 's/^RESULT ok=\([0-9]*\) bad=\([0-9]*\) rps=\([0-9]*\) p50_ms=\([0-9.]*\) p99_ms=\([0-9.]*\)$/\3 \4 \5 \1 \2/p'
}

echo "# kyedns-updater benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${DUR}s per run"
echo "# store on $(df -T "$TMP" | awk 'NR==2 {print $2}') ($TMP); wrk -t<=$THREADS; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Server-side latency of the answers logged since line $1 of the access log
# (dispatch of the parsed request to its answer, as the updater logs it):
# "p50 p99" in ms.  Separates the server's own latency from the client's
# and the scheduler's (wrk shares the two cores).
srv_lat() {
	tail -n +"$(($1 + 1))" "$TMP/updater.log" | grep 'msg=access .* result=\(good\|nochg\)' |
		sed 's/.* duration_ms=\([0-9.]*\).*/\1/' | sort -n |
		awk '{a[NR] = $1} END {if (NR) printf "%s %s\n", a[int(NR * 0.5) + 1], a[int(NR * 0.99) + 1]; else print "- -"}'
}

# ---- the store: one zone, HOSTS hosts h*, and n0..n15 already at 192.0.2.(i+1) ----
DB=$TMP/db
"$BUILD/kyednsctl" --db "$DB" zone add bench.test --ns ns1.bench.test >/dev/null
{
	i=0
	while [ $i -lt $HOSTS ]; do
		echo "h$i.bench.test $TOKEN"
		i=$((i + 1))
	done
	i=0
	while [ $i -lt 16 ]; do
		echo "n$i.bench.test $TOKEN 192.0.2.$((i + 1))"
		i=$((i + 1))
	done
} >"$TMP/hosts"
"$BUILD/kyednsctl" --db "$DB" host import "$TMP/hosts" >/dev/null

PORT=$(free_port)
# --host-change-rate 0: every request changes its host, and the per-host
# change throttle would answer all but its burst "abuse"
"$BUILD/kyedns-updater" --db "$DB" --listen "127.0.0.1:$PORT" --rate-limit 0 \
	--host-change-rate 0 $UPDATER_ARGS 2>"$TMP/updater.log" &
UPID=$!
wait_port "$PORT"
URL=http://127.0.0.1:$PORT

printf '%-34s %5s %10s %9s %9s %6s %10s\n' "case" "conns" "req/s" "p50 ms" "p99 ms" "bad" "srv p99"
K64=0 K64P99=0
CONNS=${CONNS:-1 16 64 256}
[ "$NOCHG_ONLY" = 1 ] && CONNS=
for c in $CONNS; do
	RUN=$((RUN + 1))
	L=$(wc -l <"$TMP/updater.log")
	set -- $(run_wrk $c "$HERE/update.lua" "$URL" TOKEN=$TOKEN)
	printf '%-34s %5s %10s %9s %9s %6s %10s\n' "kyedns update (good, durable)" $c "$1" "$2" "$3" "$5" \
		"$(srv_lat "$L" | cut -d' ' -f2)"
	[ $c -eq 64 ] && K64=$1 && K64P99=$3
done
RUN=$((RUN + 1))
L=$(wc -l <"$TMP/updater.log")
set -- $(run_wrk 64 "$HERE/update.lua" "$URL" TOKEN=$TOKEN NOCHG=1)
printf '%-34s %5s %10s %9s %9s %6s %10s\n' "kyedns update (nochg)" 64 "$1" "$2" "$3" "$5" \
	"$(srv_lat "$L" | cut -d' ' -f2)"
NOCHG=$1
COMMITS=$(curl -s "$URL/metrics" | awk '/^kyedns_batch_size_count/ {c=$2} /^kyedns_batch_size_sum/ {s=$2} END {printf "%d commits, %.1f updates per commit", c, (c ? s / c : 0)}')
kill "$UPID"
wait "$UPID" 2>/dev/null || true
UPID=

# ---- baseline: pdns API on the native lmdb backend ----
run_pdns() { # lmdb-sync-mode
	mode=$1
	P=$TMP/pdns-$mode
	mkdir -p "$P"
	DNS=$(free_port)
	API=$(free_port)
	KEY=bench-key-$$
	cat >"$P/pdns.conf" <<EOF
launch=lmdb
lmdb-filename=$P/pdns.lmdb
lmdb-sync-mode=$mode
local-address=127.0.0.1
local-port=$DNS
webserver=yes
api=yes
api-key=$KEY
webserver-address=127.0.0.1
webserver-port=$API
webserver-allow-from=127.0.0.1
security-poll-suffix=
loglevel=3
EOF
	pdnsutil --config-dir="$P" create-zone bench.test ns1.bench.test >/dev/null 2>&1
	/usr/sbin/pdns_server --config-dir="$P" --socket-dir="$P" --guardian=no --daemon=no \
		--disable-syslog --write-pid=no >"$P/log" 2>&1 &
	PPID_=$!
	wait_port "$API"
	for c in 1 16 64; do
		RUN=$((RUN + 1))
	set -- $(run_wrk $c "$HERE/patch.lua" "http://127.0.0.1:$API" API_KEY=$KEY)
		printf '%-34s %5s %10s %9s %9s %6s\n' "pdns API PATCH (lmdb $mode)" $c "$1" "$2" "$3" "$5"
		[ $c -eq 64 ] && eval "P64_$mode=$1"
	done
	kill "$PPID_"
	wait "$PPID_" 2>/dev/null || true
	PPID_=
}
P64_sync=0 P64_mapasync=0
if [ "$PDNS" = 1 ]; then
	run_pdns sync
	run_pdns mapasync
fi

echo
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# kyedns: $COMMITS over the whole run"
awk -v k="$K64" -v s="$P64_sync" -v a="$P64_mapasync" -v n="$NOCHG" -v p="$K64P99" 'BEGIN {
	printf "# at 64 connections: kyedns %d updates/s (p99 %.2f ms), nochg %d req/s\n", k, p, n
	if (s > 0) printf "# ratio kyedns / pdns API (lmdb sync, durable): %.1fx\n", k / s
	if (a > 0) printf "# ratio kyedns / pdns API (lmdb mapasync, 4.7 default, not durable): %.1fx\n", k / a
}'
