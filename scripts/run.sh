#!/bin/bash
# `make run`: a complete KyedNS on loopback, in the foreground.
#
# Creates a run directory (default: run/ in the project; nothing outside it
# is touched), a demo store (zone demo.test with two NS and the host
# home.demo.test), then starts kyedns-backend, pdns_server (remote backend,
# unprivileged loopback ports) and kyedns-updater, prints ready-to-paste
# curl and dig commands and waits.  Ctrl-C (SIGINT), SIGTERM or SIGHUP stop
# everything; nothing is left running; the exit status is then 0 (129 after
# SIGHUP).  If one daemon dies, the others are stopped too and the script
# exits 1.
#
# Environment (all optional):
#   KYEDNS_BUILD          directory of the binaries (default: build/)
#   KYEDNS_RUN_DIR        run directory (default: run/ in the project)
#   KYEDNS_RUN_DNS_PORT   pdns DNS port, UDP+TCP on 127.0.0.1 (default 5300)
#   KYEDNS_RUN_API_PORT   pdns webserver/API port (default 8081)
#   KYEDNS_RUN_HTTP_PORT  kyedns-updater port (default 8053)
#   KYEDNS_RUN_ZONE       demo zone (default demo.test)
#   KYEDNS_RUN_PORT_STRICT=1  fail instead of moving to the next free port
#   KYEDNS_RUN_FOLLOW=0|1 follow the daemons' logs on the terminal (default:
#                         1 when stdout is a terminal)
#   PDNS_SERVER           pdns_server binary (default: pdns_server on PATH,
#                         else /usr/sbin/pdns_server)
# shellcheck disable=SC2317  # functions below are reached through traps
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${KYEDNS_BUILD:-$ROOT/build}
RUN=${KYEDNS_RUN_DIR:-$ROOT/run}
ZONE=${KYEDNS_RUN_ZONE:-demo.test}
HOST=home.$ZONE
STRICT=${KYEDNS_RUN_PORT_STRICT:-0}
if [ -t 1 ]; then FOLLOW=${KYEDNS_RUN_FOLLOW:-1}; else FOLLOW=${KYEDNS_RUN_FOLLOW:-0}; fi
PDNS_SERVER=${PDNS_SERVER:-$(command -v pdns_server || echo /usr/sbin/pdns_server)}

say() { printf 'kyedns-run: %s\n' "$*"; }
die() { printf 'kyedns-run: %s\n' "$*" >&2; exit 1; }

# The daemons read KYEDNS_* from the environment: a production KYEDNS_DB or
# KYEDNS_LISTEN left in the caller's shell must not leak into the demo.
unset KYEDNS_DB KYEDNS_SOCKET KYEDNS_SOCKET_GROUP KYEDNS_LISTEN \
	KYEDNS_TRUSTED_PROXY KYEDNS_PDNS_API KYEDNS_PDNS_API_KEY

for b in kyedns-backend kyedns-updater kyednsctl; do
	[ -x "$BUILD/$b" ] || die "$BUILD/$b is not built (run make)"
done
[ -x "$PDNS_SERVER" ] || die "pdns_server not found (apt-get install pdns-server pdns-backend-remote)"
command -v dig >/dev/null || die "dig not found (apt-get install dnsutils)"
command -v curl >/dev/null || die "curl not found (apt-get install curl)"

case "$RUN" in
/*) ;;
*) RUN=$PWD/$RUN ;;
esac
[ "$RUN" != / ] || die "refusing to use / as run directory"
mkdir -p "$RUN/log" "$RUN/pdns"
chmod 700 "$RUN"
RUN=$(cd "$RUN" && pwd)
DB=$RUN/db
SOCK=$RUN/backend.sock
# A unix socket path holds at most 107 bytes.
[ ${#SOCK} -le 100 ] || die "run directory path too long for a unix socket: $RUN"

# --- ports ------------------------------------------------------------------
# A port counts as busy when any TCP or UDP socket uses it as its local port
# (listening, connected, TIME_WAIT: bind() would fail for all of them), or
# when an earlier pick already took it.
TAKEN=" "
port_busy() {
	case "$TAKEN" in *" $1 "*) return 0 ;; esac
	[ -n "$(ss -Htuan "sport = :$1" 2>/dev/null)" ]
}
pick_port() { # name default
	local p=$2 n=0
	while port_busy "$p"; do
		[ "$STRICT" = 1 ] && die "$1 port $2 is busy (KYEDNS_RUN_PORT_STRICT=1)"
		n=$((n + 1))
		[ $n -lt 200 ] || die "no free $1 port near $2"
		p=$((p + 1))
		[ $p -le 65535 ] || p=1025
	done
	[ "$p" = "$2" ] || say "$1 port $2 is busy, using $p" >&2
	TAKEN="$TAKEN$p "
	echo "$p"
}
DNS_PORT=$(pick_port dns "${KYEDNS_RUN_DNS_PORT:-5300}")
TAKEN=" $DNS_PORT "
API_PORT=$(pick_port pdns-api "${KYEDNS_RUN_API_PORT:-8081}")
TAKEN=" $DNS_PORT $API_PORT "
HTTP_PORT=$(pick_port http "${KYEDNS_RUN_HTTP_PORT:-8053}")

# --- process management -------------------------------------------------------
PIDS=""    # daemons, in start order; stopped in reverse order
NAMES=""
TAIL_PID=""
start() { # name logfile cmd...
	local name=$1 log=$2
	shift 2
	"$@" >>"$log" 2>&1 </dev/null &
	PIDS="$! $PIDS"
	NAMES="$name:$! $NAMES"
}
alive() { kill -0 "$1" 2>/dev/null; }

STOPPING=0
cleanup() {
	[ "$STOPPING" = 1 ] && return
	STOPPING=1
	[ -n "$PIDS" ] || return 0
	trap '' INT TERM HUP
	[ -n "$TAIL_PID" ] && kill "$TAIL_PID" 2>/dev/null
	# Reverse start order: the updater first (no more writes or purges),
	# then pdns (no more backend queries), then the backend.
	local pid
	for pid in $PIDS; do
		alive "$pid" || continue
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
		if alive "$pid"; then
			say "pid $pid ignored SIGTERM for 5 s, killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	wait 2>/dev/null || true
	rm -f "$SOCK"
	say "stopped (store kept in $DB)"
}
on_signal() {
	echo
	say "stopping"
	cleanup
	exit "$1"
}
trap 'on_signal 0' INT
trap 'on_signal 0' TERM
trap 'on_signal 129' HUP
trap cleanup EXIT # bash keeps the exit status of the exit that ran it

# fail NAME: the daemon died or never became ready; show its log and stop.
fail() {
	say "$1 failed; last lines of $RUN/log/$1.log:" >&2
	tail -n 20 "$RUN/log/$1.log" >&2 || true
	exit 1
}
# wait_for NAME PID SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
	local name=$1 pid=$2 secs=$3 tries=$(($3 * 10))
	shift 3
	while ! "$@" >/dev/null 2>&1; do
		alive "$pid" || fail "$name"
		tries=$((tries - 1))
		[ $tries -gt 0 ] || { say "$name not ready after $secs s" >&2; fail "$name"; }
		sleep 0.1
	done
}

# --- demo store ---------------------------------------------------------------
CTL() { "$BUILD/kyednsctl" --db "$DB" "$@"; }
# extract_token: the token from kyednsctl's output (JSON or plain text).
extract_token() {
	local out t
	out=$(cat)
	t=$(printf '%s\n' "$out" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' | head -n 1)
	[ -n "$t" ] || t=$(printf '%s\n' "$out" | grep -Eo '[A-Za-z0-9_.~-]{20,}' | tail -n 1)
	printf '%s' "$t"
}

if ! CTL zone show "$ZONE" >/dev/null 2>&1; then
	CTL zone add "$ZONE" --ns "ns1.$ZONE" --ns "ns2.$ZONE" --kind master >/dev/null ||
		die "cannot create demo zone $ZONE"
	say "created demo zone $ZONE in $DB"
fi
# The token is shown once by kyednsctl and stored hashed; the demo keeps a
# clear copy (mode 0600, inside the run directory) so that a second
# `make run` can print it again.  Never do this in production.
TOKEN_FILE=$RUN/demo.token
TOKEN=""
if CTL host show "$HOST" >/dev/null 2>&1; then
	[ -s "$TOKEN_FILE" ] && TOKEN=$(cat "$TOKEN_FILE")
	if [ -z "$TOKEN" ]; then
		TOKEN=$(CTL --json host token "$HOST" | extract_token)
		say "issued a new token for $HOST"
	fi
else
	TOKEN=$(CTL --json host add "$HOST" | extract_token)
	say "created demo host $HOST"
fi
[ -n "$TOKEN" ] || die "could not read the token of $HOST from kyednsctl"
(umask 077 && printf '%s\n' "$TOKEN" >"$TOKEN_FILE")

# --- pdns configuration -------------------------------------------------------
# The run-time pdns.conf is the project's pdns-conf snippet (the settings
# KyedNS needs: launch=remote, caches, ...) with the socket path pointed at
# this run directory, followed by settings that keep this instance private:
# loopback only, its own control socket, no security polling (no traffic
# beyond loopback), no notifications.
API_KEY_FILE=$RUN/pdns/api.key
if [ ! -s "$API_KEY_FILE" ]; then
	(umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$API_KEY_FILE")
fi
API_KEY=$(cat "$API_KEY_FILE")

OVERRIDE='^(launch|local-address|local-port|local-ipv6|webserver|webserver-address|webserver-port|webserver-allow-from|webserver-password|api|api-key|socket-dir|guardian|daemon|setuid|setgid|chroot|config-dir|include-dir|security-poll-suffix|primary|master|secondary|slave|also-notify|write-pid|disable-syslog|query-local-address|resolver|expand-alias)[[:space:]]*\+?='
SNIPPET=""
for f in "$ROOT"/pdns-conf/*.conf; do
	[ -f "$f" ] || continue
	grep -q 'remote-connection-string' "$f" && { SNIPPET=$f; break; }
done
{
	echo "# Generated by scripts/run.sh for this run; edits are overwritten."
	echo "launch=remote"
	if [ -n "$SNIPPET" ]; then
		echo "# --- from ${SNIPPET#"$ROOT"/} (socket path rewritten) ---"
		sed -e 's/[[:space:]]*#.*$//' -e '/^[[:space:]]*$/d' "$SNIPPET" |
			grep -Ev "$OVERRIDE" |
			sed -e "s|unix:path=[^,]*|unix:path=$SOCK|"
	else
		echo "remote-connection-string=unix:path=$SOCK,timeout=2000"
	fi
	cat <<EOF
# --- run-time settings ---
local-address=127.0.0.1:$DNS_PORT
socket-dir=$RUN/pdns
guardian=no
daemon=no
write-pid=no
disable-syslog=yes
security-poll-suffix=
primary=no
webserver=yes
webserver-address=127.0.0.1
webserver-port=$API_PORT
webserver-allow-from=127.0.0.1,::1
api=yes
api-key=$API_KEY
EOF
} >"$RUN/pdns/pdns.conf"
grep -q '^remote-connection-string=' "$RUN/pdns/pdns.conf" ||
	echo "remote-connection-string=unix:path=$SOCK,timeout=2000" >>"$RUN/pdns/pdns.conf"

# --- start --------------------------------------------------------------------
rm -f "$SOCK"
say "starting kyedns-backend"
start backend "$RUN/log/backend.log" "$BUILD/kyedns-backend" --db "$DB" --socket "$SOCK"
BACKEND_PID=${PIDS%% *}
wait_for backend "$BACKEND_PID" 10 test -S "$SOCK"

say "starting pdns_server on 127.0.0.1:$DNS_PORT"
start pdns "$RUN/log/pdns.log" "$PDNS_SERVER" --config-dir="$RUN/pdns" --log-timestamp=yes
PDNS_PID=${PIDS%% *}
# +short prints errors as ";; ..." lines: only an answer line counts.
wait_for pdns "$PDNS_PID" 20 sh -c \
	"dig +time=1 +tries=1 +short @127.0.0.1 -p $DNS_PORT $ZONE SOA | grep -q '^[^;]'"

say "starting kyedns-updater on 127.0.0.1:$HTTP_PORT"
# The API key goes by environment, not argv, so `ps` does not show it.
# --allow-loopback: every client of this demo is 127.0.0.1, so an update
# without myip takes that address (refused as useless in production).
start updater "$RUN/log/updater.log" env KYEDNS_PDNS_API_KEY="$API_KEY" \
	"$BUILD/kyedns-updater" --db "$DB" --listen "127.0.0.1:$HTTP_PORT" \
	--pdns-api "http://127.0.0.1:$API_PORT" --allow-loopback
UPDATER_PID=${PIDS%% *}
wait_for updater "$UPDATER_PID" 10 curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/health"

U=http://127.0.0.1:$HTTP_PORT
cat <<EOF

KyedNS is running.  Run directory: $RUN
  dyndns2 updater   $U
  DNS (pdns)        127.0.0.1 port $DNS_PORT (UDP and TCP)
  pdns API/metrics  http://127.0.0.1:$API_PORT  (API key in $API_KEY_FILE)
  demo host         $HOST  token $TOKEN

Update the demo host, then ask pdns:
  curl -u '$HOST:$TOKEN' '$U/nic/update?hostname=$HOST&myip=203.0.113.50'
  dig @127.0.0.1 -p $DNS_PORT +short $HOST A
  curl -u '$HOST:$TOKEN' '$U/nic/update?hostname=$HOST&myip=2001:db8::1'
  dig @127.0.0.1 -p $DNS_PORT +short $HOST AAAA
  curl '$U/api/v1/update?hostname=$HOST&token=$TOKEN&myip=198.51.100.7'
  curl '$U/ip'
  dig @127.0.0.1 -p $DNS_PORT $ZONE AXFR
  curl -s $U/metrics
  curl -s http://127.0.0.1:$API_PORT/metrics
More hosts:  $BUILD/kyednsctl --db $DB host add laptop.$ZONE
Zone file:   $BUILD/kyednsctl --db $DB zone export $ZONE
SOA:         $BUILD/kyednsctl --db $DB zone soa $ZONE --refresh 3600
Logs:        $RUN/log/{backend,pdns,updater}.log
Press Ctrl-C to stop.
EOF

if [ "$FOLLOW" = 1 ]; then
	tail -n 0 -F "$RUN/log/backend.log" "$RUN/log/pdns.log" "$RUN/log/updater.log" &
	TAIL_PID=$!
fi

# Wait until a signal arrives (the traps run) or a daemon exits.
set +e
# shellcheck disable=SC2086
wait -n $PIDS
for np in $NAMES; do
	alive "${np#*:}" || { say "${np%%:*} exited unexpectedly" >&2; fail "${np%%:*}"; }
done
exit 1
