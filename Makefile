# KyedNS - one plain Makefile.  `make` builds build/kyedns-backend,
# build/kyedns-updater and build/kyednsctl; `make test` runs every test;
# `make SANITIZE=address,undefined test` does the same under sanitizers
# (objects go to build/san so the two builds never mix).

CC      ?= cc
PKGS    := libuv jansson lmdb libsodium libsystemd libcurl libidn2
PYTHON  ?= /usr/bin/python3

ifeq ($(SANITIZE),)
B       := build
OPT     ?= -O2
else
B       := build/san
OPT     ?= -O1
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror -MMD -MP \
           -Icommon $(PKG_CFLAGS) $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread

# llhttp: Node.js's HTTP parser, compiled from Debian's node-llhttp sources.
LLHTTP_SRC := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp

COMMON_OBJS  := $(B)/common/err.o $(B)/common/dname.o $(B)/common/addr.o \
                $(B)/common/token.o $(B)/common/store.o $(B)/common/rdata.o \
                $(B)/common/sha1.o $(B)/common/cli.o $(B)/common/log.o
BACKEND_OBJS := $(B)/backend/main.o $(B)/backend/rb.o $(B)/backend/rbwrite.o \
                $(B)/backend/rbsec.o $(B)/backend/txn.o $(B)/backend/server.o
UPDATER_OBJS := $(B)/updater/main.o $(B)/updater/http.o $(B)/updater/dd.o \
                $(B)/updater/server.o $(B)/updater/writer.o $(B)/updater/purge.o \
                $(B)/updater/limit.o $(B)/updater/metrics.o
LLHTTP_OBJS  := $(B)/llhttp/api.o $(B)/llhttp/http.o $(B)/llhttp/llhttp.o
CTL_OBJS     := $(B)/ctl/main.o $(B)/ctl/util.o $(B)/ctl/zone.o $(B)/ctl/host.o \
                $(B)/ctl/record.o $(B)/ctl/import.o

UNIT_TESTS   := dname addr token store rdata rb dd sha1
UNIT_BINS    := $(patsubst %,$(B)/tests/test_%,$(UNIT_TESTS))

BINS := $(B)/kyedns-backend $(B)/kyedns-updater $(B)/kyednsctl

.PHONY: all clean test unit system deps check-deps run bench install
all: check-deps $(BINS)

$(B)/libkyedns.a: $(COMMON_OBJS)
	$(AR) rcs $@ $^

$(B)/kyedns-backend: $(BACKEND_OBJS) $(B)/libkyedns.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/kyedns-updater: $(UPDATER_OBJS) $(LLHTTP_OBJS) $(B)/libkyedns.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/kyednsctl: $(CTL_OBJS) $(B)/libkyedns.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/updater/%.o: CFLAGS += -I$(LLHTTP_INC)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Third-party sources: their own warnings are not ours to fix.  The
# sources come with node-llhttp, which check-deps (the first prerequisite
# of all) may install during this very run, after make has read this file:
# so the rule must not name them as prerequisites, or make finds "no rule"
# for the objects.
$(LLHTTP_OBJS): $(B)/llhttp/%.o:
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(OPT) -g -w -I$(LLHTTP_INC) $(SANFLAGS) -c -o $@ $(LLHTTP_SRC)/$*.c

$(B)/tests/test_%: tests/unit/test_%.c $(B)/libkyedns.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(B)/libkyedns.a $(LDLIBS)

# Fuzzing (README.md, Development): libFuzzer harnesses built by Debian's
# clang with ASan + UBSan, objects in build/fuzz so they never mix with the
# gcc builds.  `make fuzz` builds them, writes seed corpora from the test
# data and runs each harness for FUZZ_SECONDS; a crash fails the target.
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -MMD -MP -Icommon \
                -Ibackend -Iupdater -Itests/fuzz -I$(LLHTTP_INC) $(PKG_CFLAGS) \
                -fsanitize=fuzzer-no-link $(FUZZ_SAN)
F            := build/fuzz
FUZZ_NAMES   := parse backend updater
FUZZ_BINS    := $(patsubst %,$(F)/fuzz_%,$(FUZZ_NAMES))
FUZZ_COMMON  := $(patsubst $(B)/%,$(F)/%,$(COMMON_OBJS)) $(F)/tests/fuzz/fuzz_store.o
FUZZ_BACKEND := $(patsubst $(B)/%,$(F)/%,$(filter-out %/main.o %/server.o,$(BACKEND_OBJS)))
FUZZ_UPDATER := $(F)/updater/http.o $(F)/updater/dd.o $(patsubst $(B)/%,$(F)/%,$(LLHTTP_OBJS))

.PHONY: fuzz fuzz-build fuzz-deps
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz/run.sh $(F) $(FUZZ_NAMES)

# clang is needed for fuzzing only, so `make test` does not install it.
fuzz-deps: check-deps
	@./scripts/deps.sh fuzz-check || ./scripts/deps.sh fuzz

fuzz-build: fuzz-deps
	$(MAKE) $(FUZZ_BINS)

$(F)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(F)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -O1 -g -w -I$(LLHTTP_INC) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c -o $@ $<

$(F)/fuzz_parse: $(F)/tests/fuzz/fuzz_parse.o $(FUZZ_COMMON)
$(F)/fuzz_backend: $(F)/tests/fuzz/fuzz_backend.o $(FUZZ_BACKEND) $(FUZZ_COMMON)
$(F)/fuzz_updater: $(F)/tests/fuzz/fuzz_updater.o $(FUZZ_UPDATER) $(FUZZ_COMMON)
$(FUZZ_BINS):
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(PKG_LIBS) -lpthread

# Installs every Debian package the project needs (via sudo when not root).
deps:
	./scripts/deps.sh install

# Runs `deps` only when something is missing: make/test/run call this.
check-deps:
	@./scripts/deps.sh check || ./scripts/deps.sh install

unit: all $(UNIT_BINS)
	@./tests/unit/run.sh $(UNIT_BINS)

system: all
	KYEDNS_BUILD=$(CURDIR)/$(B) $(PYTHON) -m pytest -q -p no:cacheprovider tests/system

# Fault suite (tests/faults/README.md): daemons killed and restarted under
# load on loopback, checked against what they acknowledged.  `make faults`
# is the short run CI does (about a minute); FAULT_ROUNDS=30 is a long one.
FAULT_ROUNDS ?= 6
.PHONY: faults
faults: all
	KYEDNS_BUILD=$(CURDIR)/$(B) $(PYTHON) tests/faults/run.py --rounds $(FAULT_ROUNDS)

test: all $(UNIT_BINS)
	@./tests/unit/run.sh $(UNIT_BINS)
	KYEDNS_BUILD=$(CURDIR)/$(B) $(PYTHON) -m pytest -q -p no:cacheprovider tests/system

run: all
	KYEDNS_BUILD=$(CURDIR)/$(B) ./scripts/run.sh

# Benchmarks: each prints its table and ratios (see bench/*/README.md).
bench: all
	bench/import/run.sh
	bench/backend/run.sh
	bench/updater/run.sh

clean:
	rm -rf build

include mk/install.mk

-include $(shell find build -name '*.d' 2>/dev/null)
