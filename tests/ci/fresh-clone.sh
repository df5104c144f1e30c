#!/bin/sh
# CI: the README's `make test` on a machine that lacks a build dependency,
# in a fresh clone, must pass on its first run.
#
# node-llhttp is removed first (a pure build dependency: nothing else of
# ours depends on it, which `apt-get -s` checks here), then the repository
# is cloned into a temporary directory and `make test` runs there once.  It
# has to install node-llhttp itself and then build from the sources that
# appeared only during that very run.  This run is CI's normal-build test
# stage (nothing runs twice).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
PKG=${KYEDNS_CI_REMOVE:-node-llhttp}

if dpkg-query -W -f='${Status}\n' "$PKG" 2>/dev/null | grep -q '^install ok installed$'; then
	removed=$(apt-get -s remove "$PKG" | sed -n 's/^Remv \([^ ]*\) .*/\1/p' | tr '\n' ' ')
	if [ "$removed" != "$PKG " ]; then
		echo "fresh-clone: removing $PKG would also remove: $removed" >&2
		exit 1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get remove -y -q "$PKG"
fi
if [ -e /usr/share/llhttp/api.c ]; then
	echo "fresh-clone: /usr/share/llhttp is still there" >&2
	exit 1
fi

TMP=$(mktemp -d)
# Some tests run programs as other users (e.g. kyedns, nobody): they must be
# able to reach the build directory, which mktemp -d makes 0700.
chmod 0755 "$TMP"
trap 'rm -rf "$TMP"' EXIT
# KYEDNS_CI_COPY=1: copy the working tree instead (uncommitted changes too).
if [ "${KYEDNS_CI_COPY:-0}" != 1 ] && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	git clone -q "$ROOT" "$TMP/kyedns"
else
	mkdir "$TMP/kyedns"
	tar -C "$ROOT" -c --exclude-vcs --exclude=./build --exclude=./run --exclude=__pycache__ . |
		tar -x -C "$TMP/kyedns"
fi
cd "$TMP/kyedns"
echo "fresh-clone: make test in $TMP/kyedns without $PKG"
make test
