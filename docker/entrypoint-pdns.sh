#!/bin/sh
# pdns_server entrypoint (container or host): writes pdns.conf from the
# KyedNS snippets and the environment, then runs pdns in the foreground.
#   entrypoint-pdns.sh [pdns_server flags...]   start pdns
#   entrypoint-pdns.sh health                   pdns answers and reaches the backend
# Environment:
#   PDNS_CONFIG_DIR        where pdns.conf is written, also the control
#                          socket directory (default /run/pdns)
#   PDNS_SNIPPETS          directory of pdns-conf/production/*.conf (default
#                          /usr/share/kyedns/pdns.d); 00-kyedns.conf is used
#                          for caches and timeouts, the rest comes from here
#   KYEDNS_SOCKET          the backend socket (default /run/kyedns/backend.sock)
#   PDNS_REMOTE_TIMEOUT    remote backend timeout, ms (default 2000)
#   PDNS_LOCAL_ADDRESS     DNS listen addresses (default 0.0.0.0:5300, [::]:5300)
#   PDNS_WEBSERVER_ADDRESS webserver/API/metrics address (default 0.0.0.0)
#   PDNS_WEBSERVER_PORT    its port (default 8081)
#   PDNS_WEBSERVER_ALLOW_FROM  networks allowed to it (default loopback and
#                          the private ranges compose networks use)
#   PDNS_API_KEY           API key (required: the updater purges with it)
#   PDNS_PRIMARY           yes/no: send NOTIFYs, allow AXFR (default no)
#   PDNS_ALSO_NOTIFY       secondaries to notify (comma-separated)
#   PDNS_ALLOW_AXFR_IPS    networks allowed to AXFR
#   PDNS_XFR_CYCLE         seconds between checks for changed zones (default 10)
#   PDNS_SECURITY_POLL     yes: keep pdns's security polling over DNS (default no)
set -eu
# shellcheck source=docker/entrypoint-lib.sh
. "$(dirname "$0")/entrypoint-lib.sh"

: "${PDNS_CONFIG_DIR:=/run/pdns}"
: "${PDNS_SNIPPETS:=/usr/share/kyedns/pdns.d}"
conf=$PDNS_CONFIG_DIR/pdns.conf

if [ "${1:-}" = health ]; then
	# The control socket answers while pdns runs; the backend ping goes
	# through pdns's remote backend configuration to kyedns-backend.
	pdns_control --config-dir="$PDNS_CONFIG_DIR" --socket-dir="$PDNS_CONFIG_DIR" rping >/dev/null 2>&1 || exit 1
	pdnsutil --config-dir="$PDNS_CONFIG_DIR" backend-cmd remote ping 2>/dev/null | grep -q pong
	exit $?
fi

[ -n "${PDNS_API_KEY:-}" ] || ep_die "PDNS_API_KEY is not set (kyedns-updater needs it to purge pdns's cache)"
# A placeholder from documentation is no secret.
[ "$PDNS_API_KEY" != CHANGE-ME ] || ep_die "PDNS_API_KEY is the placeholder CHANGE-ME; generate one: head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \\n'"
mkdir -p "$PDNS_CONFIG_DIR"
umask 077
{
	echo "# Written by entrypoint-pdns.sh at start; edits are overwritten."
	echo "launch=remote"
	echo "remote-connection-string=unix:path=$KYEDNS_SOCKET,timeout=${PDNS_REMOTE_TIMEOUT:-2000}"
	# Caches and zone-cache settings from the production snippet; everything
	# about listening, the API, primary operation comes from the environment.
	if [ -r "$PDNS_SNIPPETS/00-kyedns.conf" ]; then
		sed -e 's/[[:space:]]*#.*$//' -e '/^[[:space:]]*$/d' "$PDNS_SNIPPETS/00-kyedns.conf" |
			grep -Ev '^(launch|remote-connection-string)[[:space:]]*\+?='
	fi
	echo "local-address=${PDNS_LOCAL_ADDRESS:-0.0.0.0:5300, [::]:5300}"
	echo "local-address-nonexist-fail=no"
	echo "socket-dir=$PDNS_CONFIG_DIR"
	echo "guardian=no"
	echo "daemon=no"
	echo "write-pid=no"
	echo "disable-syslog=yes"
	echo "webserver=yes"
	echo "webserver-address=${PDNS_WEBSERVER_ADDRESS:-0.0.0.0}"
	echo "webserver-port=${PDNS_WEBSERVER_PORT:-8081}"
	echo "webserver-allow-from=${PDNS_WEBSERVER_ALLOW_FROM:-127.0.0.1, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16}"
	echo "webserver-loglevel=none"
	echo "api=yes"
	echo "api-key=$PDNS_API_KEY"
	if [ "${PDNS_SECURITY_POLL:-no}" != yes ]; then echo "security-poll-suffix="; fi
	case "${PDNS_PRIMARY:-no}" in
	yes | true | 1)
		echo "primary=yes"
		echo "xfr-cycle-interval=${PDNS_XFR_CYCLE:-10}"
		[ -z "${PDNS_ALSO_NOTIFY:-}" ] || echo "also-notify=$PDNS_ALSO_NOTIFY"
		[ -z "${PDNS_ALLOW_AXFR_IPS:-}" ] || echo "allow-axfr-ips=$PDNS_ALLOW_AXFR_IPS"
		;;
	*) echo "primary=no" ;;
	esac
} >"$conf.tmp"
mv "$conf.tmp" "$conf"
umask 022

# pdns fills its zone cache from the backend at start: wait for the socket
# (in compose the healthcheck dependency already did).
n=${KYEDNS_WAIT_SECONDS:-300}
while [ ! -S "$KYEDNS_SOCKET" ]; do
	[ "$n" -gt 0 ] || ep_die "no backend socket at $KYEDNS_SOCKET"
	[ "$n" = "${KYEDNS_WAIT_SECONDS:-300}" ] && ep_log "waiting for the backend socket $KYEDNS_SOCKET"
	n=$((n - 1))
	sleep 1
done
exec "${PDNS_SERVER:-pdns_server}" --config-dir="$PDNS_CONFIG_DIR" "$@"
