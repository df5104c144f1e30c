# Build dependencies, checked (never installed) by the rules that compile:
# included by the Makefile.
#
# A recipe that compiles expands $(need_build_deps) first.  When a build
# dependency is missing it stops make with one message that names the
# Debian packages and `make build-deps` / `make deps`, instead of a compiler
# error about a missing header.  The check runs once per make, and only when
# something is compiled: `make install` of an up-to-date tree checks
# nothing, and neither does reading this file.  scripts/deps.sh holds the
# same packages (its "build" set).

# pkg-config module:Debian package, for every module of PKGS.
BUILD_DEP_PC := libuv:libuv1-dev jansson:libjansson-dev lmdb:liblmdb-dev \
                libsodium:libsodium-dev libsystemd:libsystemd-dev \
                libcurl:libcurl4-openssl-dev libidn2:libidn2-dev

# The missing packages, computed on first use and then kept (the eval turns
# the variable into a simple one holding the answer).
build_deps_missing = $(eval build_deps_missing := $(shell \
	command -v $(firstword $(CC)) >/dev/null 2>&1 || echo build-essential; \
	if command -v pkg-config >/dev/null 2>&1; then \
		for m in $(BUILD_DEP_PC); do pkg-config --exists "$${m%%:*}" 2>/dev/null || echo "$${m#*:}"; done; \
	else echo pkg-config; fi; \
	[ -f "$(LLHTTP_SRC)/api.c" ] && [ -f "$(LLHTTP_INC)/llhttp.h" ] || echo node-llhttp))$(build_deps_missing)

need_build_deps = $(if $(strip $(build_deps_missing)),$(error missing build dependencies \
	(Debian packages): $(strip $(build_deps_missing)); install them with 'make build-deps' \
	(only what the build needs) or 'make deps' (also the test tools)))
