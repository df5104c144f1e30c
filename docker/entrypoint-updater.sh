#!/bin/sh
# kyedns-updater entrypoint (container or host).
#   entrypoint-updater.sh [kyedns-updater flags...]   start the updater
#   entrypoint-updater.sh health                      GET /health
# Environment: every kyedns-updater option as KYEDNS_<FLAG> (see
# `kyedns-updater --help`: KYEDNS_DB, KYEDNS_LISTEN and KYEDNS_TRUSTED_PROXY
# comma-separated, KYEDNS_PDNS_API, KYEDNS_PDNS_API_KEY, KYEDNS_PDNS_API_CA,
# KYEDNS_LOG_LEVEL, ...), read by the updater itself; this script defaults
# KYEDNS_LISTEN to 0.0.0.0:8053.  Its own: KYEDNS_HEALTH_URL (default:
# /health on the first KYEDNS_LISTEN port over loopback),
# KYEDNS_WAIT_SECONDS, KYEDNS_ENV_FILE (see entrypoint-lib.sh).
# Logs go to stderr with a UTC timestamp and level on each line (docker's
# log driver keeps them); the access lines are logfmt.
set -eu
# shellcheck source=docker/entrypoint-lib.sh
. "$(dirname "$0")/entrypoint-lib.sh"

: "${KYEDNS_LISTEN:=0.0.0.0:8053}"
export KYEDNS_LISTEN

if [ "${1:-}" = health ]; then
	if [ -z "${KYEDNS_HEALTH_URL:-}" ]; then
		first=${KYEDNS_LISTEN%%,*}
		case "$first" in
		\[*) KYEDNS_HEALTH_URL="http://[::1]:${first##*:}/health" ;;
		*) KYEDNS_HEALTH_URL="http://127.0.0.1:${first##*:}/health" ;;
		esac
	fi
	exec curl -fsS -m 3 -o /dev/null "$KYEDNS_HEALTH_URL"
fi

ep_wait_store
exec kyedns-updater "$@"
