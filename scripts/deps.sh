#!/bin/sh
# Installs (or checks for) the Debian 12 packages of one or more sets:
#
#   deps.sh [install|check|list] [SET...]      SET: build run test deb bench fuzz
#
#   build  compiler, pkg-config and the -dev packages: all that `make` needs
#   run    build + pdns and the tools of `make run` (dig, curl, ss)
#   test   run + everything `make test` uses (the default set): the reference
#          servers of the system tests (pdns's lmdb and bind backends, nsd),
#          a validating resolver and ldns-verify-zone for the DNSSEC tests,
#          ddclient/wget/curl as clients, pebble/lego/certbot for the ACME
#          tests, promtool, strace, docker-compose
#          (config checks only), debhelper and lintian for the packaging test
#   deb    build + debhelper: what `make deb` needs
#   bench  run + wrk, dnsperf and pdns's lmdb backend (`make bench`)
#   fuzz   build + Debian's clang and its libFuzzer runtime (`make fuzz`)
#
# `check` exits 1 (naming the missing packages) when something is missing,
# `list` prints the packages, `install` installs the missing ones with
# apt-get (through sudo when not root).  Only `make deps`, `make test`,
# `make run`, `make bench` and `make fuzz` call this script; `make`,
# `make install` and `make deb` never install anything.
#
# No service is started while installing (policy-rc.d), and a freshly
# installed pdns-backend-lmdb does not get its /etc/powerdns/pdns.d/lmdb.conf
# (launch+=lmdb): the tests run pdns with their own configuration, and a
# system pdns must not start launching lmdb because tests were installed.
set -e

BUILD_PKGS="build-essential pkg-config libuv1-dev libjansson-dev liblmdb-dev libsodium-dev
libsystemd-dev libcurl4-openssl-dev libidn2-dev node-llhttp"
RUN_PKGS="pdns-server pdns-backend-remote dnsutils curl iproute2 procps"
TEST_PKGS="pdns-backend-lmdb pdns-backend-bind nsd lmdb-utils python3 python3-pytest
python3-dnspython python3-yaml ddclient wget systemd docker-compose strace unbound ldnsutils
prometheus debhelper fakeroot lintian man-db openssl pebble lego certbot"
DEB_PKGS="debhelper fakeroot"
BENCH_PKGS="pdns-backend-lmdb lmdb-utils wrk dnsperf python3"
FUZZ_PKGS="clang-14 libclang-rt-14-dev python3"

usage() {
	echo "usage: deps.sh [install|check|list] [build|run|test|deb|bench|fuzz]..." >&2
	exit 2
}

mode=install
case "${1:-}" in
install | check | list) mode=$1; shift ;;
# Older spellings.
fuzz) mode=install; shift; set -- fuzz ;;
fuzz-check) mode=check; shift; set -- fuzz ;;
esac
[ $# -gt 0 ] || set -- test

PKGS=
for set in "$@"; do
	case "$set" in
	build) PKGS="$PKGS $BUILD_PKGS" ;;
	run) PKGS="$PKGS $BUILD_PKGS $RUN_PKGS" ;;
	test) PKGS="$PKGS $BUILD_PKGS $RUN_PKGS $TEST_PKGS" ;;
	deb) PKGS="$PKGS $BUILD_PKGS $DEB_PKGS" ;;
	bench) PKGS="$PKGS $BUILD_PKGS $RUN_PKGS $BENCH_PKGS" ;;
	fuzz) PKGS="$PKGS $BUILD_PKGS $FUZZ_PKGS" ;;
	*) echo "deps.sh: unknown set '$set'" >&2; usage ;;
	esac
done
# One of each, in a stable order (word splitting of the lists is wanted).
# shellcheck disable=SC2086
PKGS=$(printf '%s\n' $PKGS | awk 'NF && !seen[$0]++' | tr '\n' ' ')

missing() {
	for p in $PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
	done
}

case "$mode" in
list)
	# shellcheck disable=SC2086
	printf '%s\n' $PKGS
	;;
check)
	m=$(missing)
	[ -z "$m" ] && exit 0
	# shellcheck disable=SC2086
	echo "missing packages:" $m >&2
	exit 1
	;;
install)
	m=$(missing)
	[ -z "$m" ] && { echo "all packages present ($*)"; exit 0; }
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
	$SUDO apt-get install -y -q --no-install-recommends \
		-o DPkg::Options::=--path-exclude=/etc/powerdns/pdns.d/lmdb.conf $m
	;;
esac
