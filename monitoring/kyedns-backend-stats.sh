#!/bin/sh
# Converts kyedns-backend's statistics (`pdnsutil backend-cmd remote stats`)
# into Prometheus text format for node_exporter's textfile collector.
#
#   kyedns-backend-stats.sh [OUTPUT.prom]
#
# OUTPUT defaults to stdout; with a file it is replaced atomically (write to
# a temporary file, then rename), as the textfile collector requires.
# Debian's prometheus-node-exporter reads
# /var/lib/prometheus/node-exporter/*.prom.  Run as root or pdns (pdnsutil
# reads /etc/powerdns and connects to the backend socket), e.g. from cron:
#   * * * * * pdns /usr/local/share/kyedns/monitoring/kyedns-backend-stats.sh /var/lib/prometheus/node-exporter/kyedns-backend.prom
# Environment: PDNSUTIL (default pdnsutil), PDNS_CONFIG_DIR (pdnsutil
# --config-dir, default: pdnsutil's own default).
#
# Every "key value" line becomes kyedns_backend_<key>; *_count, *_errors and
# *_total lines are counters, the rest gauges; kyedns_backend_up is 1 when
# the backend answered.
set -eu
out=${1:-}
set -- backend-cmd remote stats
[ -n "${PDNS_CONFIG_DIR:-}" ] && set -- --config-dir="$PDNS_CONFIG_DIR" "$@"

render() {
	if stats=$("${PDNSUTIL:-pdnsutil}" "$@" 2>/dev/null) && printf '%s\n' "$stats" | grep -q '^requests_total '; then
		up=1
	else
		up=0
		stats=
	fi
	echo "# HELP kyedns_backend_up 1 when kyedns-backend answered pdnsutil backend-cmd remote stats."
	echo "# TYPE kyedns_backend_up gauge"
	echo "kyedns_backend_up $up"
	printf '%s\n' "$stats" | awk '
		NF == 2 && $1 ~ /^[a-zA-Z_][a-zA-Z0-9_]*$/ && $2 ~ /^[0-9]+(\.[0-9]+)?$/ {
			name = "kyedns_backend_" $1
			type = ($1 ~ /(_count|_errors|_total|_too_long)$/) ? "counter" : "gauge"
			printf "# TYPE %s %s\n%s %s\n", name, type, name, $2
		}'
}

if [ -z "$out" ]; then
	render "$@"
else
	tmp=$out.$$.tmp
	render "$@" >"$tmp"
	chmod 0644 "$tmp"
	mv "$tmp" "$out"
fi
