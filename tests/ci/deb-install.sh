#!/bin/sh
# CI: builds the Debian package and installs it for real on this throwaway
# machine (root), then checks the installed files, the maintainer scripts'
# work (user, store directory, nothing enabled or started, pdns untouched),
# `systemd-analyze verify` of the installed units, and that `dpkg -r` and
# `dpkg --purge` leave nothing of the package behind.
set -eu
cd "$(dirname "$0")/../.."

fail() { echo "deb-install: $*" >&2; exit 1; }
# The system's pdns (started by a package script it would run with the
# default configuration; test instances always pass --config-dir) and the
# sockets on port 53.
system_pdns() { pgrep -a -x pdns_server | grep -v -e '--config-dir' | awk '{print $1}' | tr '\n' ' ' || true; }
port53() { ss -Hlntu 'sport = :53' 2>/dev/null | sort | tr '\n' ' ' || true; }
step() { echo "deb-install: $*"; }

# Only for a throwaway machine: never on one with a KyedNS store.
[ "$(id -u)" = 0 ] || fail "needs root (it installs the package)"
[ ! -e /var/lib/kyedns ] || fail "refusing: /var/lib/kyedns exists (this step is for throwaway machines)"
dpkg-query -W kyedns >/dev/null 2>&1 && fail "refusing: package kyedns is already installed"

make deb
DEB=$(ls build/deb/kyedns_*.deb)
VERSION=$(sed -n 's/^#define KYEDNS_VERSION "\(.*\)"/\1/p' common/version.h)
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] || fail "package version is not $VERSION"

# Whatever pdns does now, the install must not change it.
pdns_before=$(system_pdns)
port53_before=$(port53)
pdnsd_before=$(ls /etc/powerdns/pdns.d 2>/dev/null | tr '\n' ' ' || true)

step "installing $DEB"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$DEB"

for b in kyedns-backend kyedns-updater kyednsctl; do
	[ -x /usr/bin/$b ] || fail "/usr/bin/$b missing"
	/usr/bin/$b --version | grep -q "$VERSION" || fail "$b --version is not $VERSION"
	man -w $b >/dev/null || fail "no man page for $b"
done
getent passwd kyedns >/dev/null || fail "user kyedns not created"
[ "$(stat -c '%a %U %G' /var/lib/kyedns)" = "750 kyedns kyedns" ] || fail "/var/lib/kyedns: $(stat -c '%a %U %G' /var/lib/kyedns)"
[ "$(stat -c '%a %U' /etc/default/kyedns)" = "600 root" ] || fail "/etc/default/kyedns mode"
for u in /lib/systemd/system/kyedns-*; do
	grep -q /usr/local "$u" && fail "$u names /usr/local"
done
[ -e /usr/share/kyedns/pdns.d/00-kyedns.conf ] || fail "pdns snippet missing"
[ "$(ls /etc/powerdns/pdns.d 2>/dev/null | tr '\n' ' ' || true)" = "$pdnsd_before" ] || fail "/etc/powerdns/pdns.d changed"
[ ! -e /etc/systemd/system/pdns.service.d/kyedns.conf ] || fail "pdns drop-in enabled by the package"
[ "$(system_pdns)" = "$pdns_before" ] || fail "the system's pdns_server was started or stopped"
[ "$(port53)" = "$port53_before" ] || fail "sockets on port 53 changed: $(port53)"
pgrep -x kyedns-backend >/dev/null && fail "kyedns-backend is running"
pgrep -x kyedns-updater >/dev/null && fail "kyedns-updater is running"
for u in kyedns-backend.service kyedns-backend.socket kyedns-updater.service; do
	[ -e /lib/systemd/system/$u ] || continue
	state=$(systemctl is-enabled $u 2>/dev/null || true)
	case "$state" in enabled*) fail "$u is $state" ;; esac
done
step "systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/kyedns-*.service /lib/systemd/system/kyedns-*.socket
# kyednsctl works as the package's user on the package's store.
runuser -u kyedns -- kyednsctl --db /var/lib/kyedns zone add ci.example.test \
	--ns ns1.ci.example.test --ns ns2.ci.example.test --kind master >/dev/null
runuser -u kyedns -- kyednsctl --db /var/lib/kyedns zone list | grep -q ci.example.test ||
	fail "zone not listed"

step "dpkg -r"
dpkg -r kyedns
[ ! -e /usr/bin/kyednsctl ] || fail "/usr/bin/kyednsctl left after dpkg -r"
[ -e /etc/default/kyedns ] || fail "dpkg -r removed the conffile"
step "dpkg --purge"
dpkg --purge kyedns
[ ! -e /etc/default/kyedns ] || fail "/etc/default/kyedns left after purge"
left=$(find /usr /lib /etc -path /proc -prune -o -name '*kyedns*' -print 2>/dev/null | grep -v '^/etc/\(passwd\|group\|shadow\|gshadow\)' || true)
[ -z "$left" ] || fail "left after purge: $left"
# The store held a zone: purge keeps it (the operator's data).
[ -d /var/lib/kyedns ] || fail "purge deleted a non-empty store"
rm -rf /var/lib/kyedns

# Again, with an empty store: purge removes the directory.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$DEB" >/dev/null
dpkg --purge kyedns
[ ! -e /var/lib/kyedns ] || fail "purge left the empty /var/lib/kyedns"
[ "$(system_pdns)" = "$pdns_before" ] || fail "the system's pdns_server was started or stopped"
step "ok"
