# shellcheck shell=sh
# Shared by the entrypoint-*.sh scripts (sourced, POSIX sh).  They run in the
# containers and just as well outside (tests, plain hosts): every path and
# program comes from the environment, programs from PATH.

ep_name=${0##*/}
ep_log() { printf '%s: %s\n' "$ep_name" "$*" >&2; }
ep_die() { ep_log "$*"; exit 1; }

# KYEDNS_ENV_FILE: an optional file of VAR=value lines (e.g.
# /etc/default/kyedns) read before anything else; variables already set in
# the environment win, as in compose.
if [ -n "${KYEDNS_ENV_FILE:-}" ]; then
	[ -r "$KYEDNS_ENV_FILE" ] || ep_die "cannot read $KYEDNS_ENV_FILE"
	while IFS= read -r ep_line || [ -n "$ep_line" ]; do
		case "$ep_line" in '' | '#'* | [!A-Za-z_]*) continue ;; *=*) ;; *) continue ;; esac
		ep_var=${ep_line%%=*}
		case "$ep_var" in *[!A-Za-z0-9_]* | '') continue ;; esac
		eval "ep_set=\${$ep_var+x}"
		[ -z "$ep_set" ] || continue
		ep_val=${ep_line#*=}
		case "$ep_val" in
		\"*\") ep_val=${ep_val#\"} && ep_val=${ep_val%\"} ;;
		\'*\') ep_val=${ep_val#\'} && ep_val=${ep_val%\'} ;;
		esac
		export "$ep_var=$ep_val"
	done <"$KYEDNS_ENV_FILE"
fi

: "${KYEDNS_DB:=/var/lib/kyedns}"
: "${KYEDNS_SOCKET:=/run/kyedns/backend.sock}"
export KYEDNS_DB KYEDNS_SOCKET

# ep_wait_store: waits until the store exists (another container may create
# it), at most KYEDNS_WAIT_SECONDS (default 300; 0 = do not wait).
ep_wait_store() {
	ep_left=${KYEDNS_WAIT_SECONDS:-300}
	[ -e "$KYEDNS_DB/data.mdb" ] && return 0
	ep_log "waiting for the store in $KYEDNS_DB (create it with kyednsctl zone add, or set KYEDNS_BOOTSTRAP_ZONE)"
	while [ ! -e "$KYEDNS_DB/data.mdb" ]; do
		[ "$ep_left" -gt 0 ] || ep_die "no store in $KYEDNS_DB"
		ep_left=$((ep_left - 1))
		sleep 1
	done
}

# ep_bootstrap_zone: creates KYEDNS_BOOTSTRAP_ZONE (with the name servers in
# KYEDNS_BOOTSTRAP_NS, comma-separated, default ns1.ZONE,ns2.ZONE, and kind
# KYEDNS_BOOTSTRAP_KIND, default master) when the store lacks it.  This also
# creates the store.  Idempotent: an existing zone is left alone.
ep_bootstrap_zone() {
	z=${KYEDNS_BOOTSTRAP_ZONE:-}
	[ -n "$z" ] || return 0
	kyednsctl zone show "$z" >/dev/null 2>&1 && return 0
	ns=${KYEDNS_BOOTSTRAP_NS:-ns1.$z,ns2.$z}
	set -- zone add "$z" --kind "${KYEDNS_BOOTSTRAP_KIND:-master}"
	old_ifs=$IFS
	IFS=,
	for n in $ns; do
		set -- "$@" --ns "$n"
	done
	IFS=$old_ifs
	kyednsctl "$@" >/dev/null || ep_die "cannot create zone $z"
	ep_log "created zone $z in $KYEDNS_DB"
}
