# `make deb`: Debian packages built with Debian's own tooling (debhelper,
# debian/), included by the Makefile.
#
# The package is built from a copy of the tree (without build/, run/, .git)
# in $(DEB_DIR)/src, so dpkg-buildpackage leaves the .deb files in
# $(DEB_DIR) and nothing of the package build in the source tree; the copy
# is removed afterwards.  Installs nothing: a missing debhelper or build
# dependency stops it with a message (dpkg-checkbuilddeps names them).
# DEB_BUILD_OPTIONS is honoured (e.g. nocheck, parallel=N).

DEB_DIR     ?= build/deb
# The first line of debian/changelog: "kyedns (0.2.0) unstable; ...".
DEB_VERSION  = $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
SRC_VERSION  = $(shell sed -n 's/^\#define KYEDNS_VERSION "\(.*\)"/\1/p' common/version.h)

.PHONY: deb
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || { \
		echo "make deb needs dpkg-dev and debhelper: 'make deps' installs them" >&2; exit 1; }
	@[ "$(DEB_VERSION)" = "$(SRC_VERSION)" ] || { \
		echo "debian/changelog is at version $(DEB_VERSION), common/version.h at $(SRC_VERSION):" \
		     "add a debian/changelog entry (dch -v $(SRC_VERSION))" >&2; exit 1; }
	rm -rf "$(DEB_DIR)"
	mkdir -p "$(DEB_DIR)/src"
	tar -c --exclude-vcs --exclude=./build --exclude=./run --exclude=__pycache__ \
		--exclude=./docker/.env --exclude=./debian/kyedns --exclude=./debian/.debhelper \
		--exclude=./debian/files --exclude='./debian/*.substvars' --exclude='./debian/*.log' \
		--exclude=./debian/debhelper-build-stamp . | tar -x -C "$(DEB_DIR)/src"
	cd "$(DEB_DIR)/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE \
		dpkg-buildpackage -us -uc -b -jauto
	rm -rf "$(DEB_DIR)/src"
	@ls -1 "$(DEB_DIR)"/*.deb
