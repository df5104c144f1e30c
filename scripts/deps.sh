#!/bin/sh
# Installs (or checks for) every Debian 12 package KyedNS needs to build,
# test, run and benchmark.  `deps.sh check` exits 1 when something is missing.
# pdns-backend-bind and nsd are for the system tests only (the differential
# test's reference server, the operator layout, a primary for AXFR in);
# unbound (a validating resolver) and ldnsutils (ldns-verify-zone) check
# signed zones in the DNSSEC tests.  `deps.sh fuzz` (and `fuzz-check`) does
# the same for `make fuzz` only: Debian's clang and its libFuzzer runtime.
set -e
FUZZ_PKGS="clang-14 libclang-rt-14-dev python3"
PKGS="build-essential pkg-config libuv1-dev libjansson-dev liblmdb-dev lmdb-utils
libsodium-dev libsystemd-dev libcurl4-openssl-dev libidn2-dev node-llhttp pdns-server pdns-backend-remote pdns-backend-lmdb
pdns-backend-bind nsd dnsutils python3 python3-pytest python3-dnspython ddclient
dnsperf wrk wget curl procps iproute2 systemd docker-compose python3-yaml strace
unbound ldnsutils prometheus debhelper fakeroot lintian"

missing() {
	for p in $PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
	done
}

mode=${1:-install}
case "$mode" in
fuzz) PKGS=$FUZZ_PKGS; mode=install ;;
fuzz-check) PKGS=$FUZZ_PKGS; mode=check ;;
esac

case "$mode" in
check)
	m=$(missing)
	[ -z "$m" ] && exit 0
	echo "missing packages:" $m >&2
	exit 1
	;;
install)
	m=$(missing)
	[ -z "$m" ] && { echo "all packages present"; exit 0; }
	SUDO=
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q
	# pdns-server's postinst would start a system pdns on port 53; no
	# service is started while we install (policy-rc.d 101 = "not allowed").
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod +x /usr/sbin/policy-rc.d
		trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $m
	;;
*)
	echo "usage: deps.sh [check|install]" >&2
	exit 2
	;;
esac
