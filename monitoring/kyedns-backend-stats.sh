#!/bin/sh
# Writes kyedns-backend's metrics, in the Prometheus text format, for
# node_exporter's textfile collector.
#
#   kyedns-backend-stats.sh [OUTPUT.prom]
#
# The backend renders the metrics itself (`pdnsutil backend-cmd remote
# metrics`: kyedns_backend_* families with HELP and TYPE); this script only
# passes them through, and writes kyedns_backend_up 0 alone when the backend
# could not be asked (pdnsutil failed, pdns.conf unreadable, backend down),
# so that an alert on kyedns_backend_up == 0 fires.
#
# OUTPUT defaults to stdout; with a file it is replaced atomically (write to
# a temporary file, then rename), as the textfile collector requires.
# Debian's prometheus-node-exporter reads
# /var/lib/prometheus/node-exporter/*.prom.  Run as root or pdns (pdnsutil
# reads /etc/powerdns and connects to the backend socket), e.g. from cron:
#   * * * * * pdns /usr/local/share/kyedns/monitoring/kyedns-backend-stats.sh /var/lib/prometheus/node-exporter/kyedns-backend.prom
# Environment: PDNSUTIL (default pdnsutil), PDNS_CONFIG_DIR (pdnsutil
# --config-dir, default: pdnsutil's own default).
set -eu
out=${1:-}
set -- backend-cmd remote metrics
[ -n "${PDNS_CONFIG_DIR:-}" ] && set -- --config-dir="$PDNS_CONFIG_DIR" "$@"

render() {
	# pdnsutil prints "backend command failed" (and exits 0) when the
	# backend does not answer: only the backend's own up line counts.
	if metrics=$("${PDNSUTIL:-pdnsutil}" "$@" 2>/dev/null) &&
		printf '%s\n' "$metrics" | grep -qx 'kyedns_backend_up 1'; then
		printf '%s\n' "$metrics"
	else
		echo "# HELP kyedns_backend_up 1: the backend answered (kyedns-backend-stats.sh writes 0 when it could not ask)."
		echo "# TYPE kyedns_backend_up gauge"
		echo "kyedns_backend_up 0"
	fi
}

if [ -z "$out" ]; then
	render "$@"
else
	tmp=$out.$$.tmp
	trap 'rm -f "$tmp"' EXIT
	render "$@" >"$tmp"
	chmod 0644 "$tmp"
	mv "$tmp" "$out"
	trap - EXIT
fi
