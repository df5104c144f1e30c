#!/bin/sh
# kyedns-updater entrypoint (container or host).
#   entrypoint-updater.sh [kyedns-updater flags...]   start the updater
#   entrypoint-updater.sh health                      GET /health
# Environment: KYEDNS_DB, KYEDNS_LISTEN (comma-separated; default
# 0.0.0.0:8053), KYEDNS_TRUSTED_PROXY, KYEDNS_PDNS_API, KYEDNS_PDNS_API_KEY
# (read by the updater itself), KYEDNS_HEALTH_URL (default: /health on the
# first KYEDNS_LISTEN port over loopback), KYEDNS_WAIT_SECONDS,
# KYEDNS_ENV_FILE (see entrypoint-lib.sh).
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
