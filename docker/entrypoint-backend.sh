#!/bin/sh
# kyedns-backend entrypoint (container or host).
#   entrypoint-backend.sh [kyedns-backend flags...]   start the backend
#   entrypoint-backend.sh health                      exit 0 when serving
# Environment: KYEDNS_DB, KYEDNS_SOCKET, KYEDNS_SOCKET_GROUP and the other
# variables of `kyedns-backend --help` (read by the backend itself; its log
# lines carry a UTC timestamp and level, or KYEDNS_LOG_FORMAT=journal),
# KYEDNS_BOOTSTRAP_ZONE/_NS/_KIND (create a first zone), KYEDNS_WAIT_SECONDS,
# KYEDNS_ENV_FILE (see entrypoint-lib.sh).
set -eu
# shellcheck source=docker/entrypoint-lib.sh
. "$(dirname "$0")/entrypoint-lib.sh"

if [ "${1:-}" = health ]; then
	# The socket exists while the backend listens; it removes it on exit.
	# (pdns's own healthcheck covers the whole chain with a backend ping.)
	[ -S "$KYEDNS_SOCKET" ] || exit 1
	exit 0
fi

mkdir -p "$(dirname "$KYEDNS_SOCKET")"
ep_bootstrap_zone
ep_wait_store
# A socket file left by a killed backend is replaced by the backend itself,
# which first checks that no live backend answers on it (removing it here
# would cut off a backend still running in another container).
# The backend never needs the pdns API key: an env file shared with the
# updater (KYEDNS_ENV_FILE) must not hand it over.
unset KYEDNS_PDNS_API_KEY PDNS_API_KEY
exec kyedns-backend "$@"
