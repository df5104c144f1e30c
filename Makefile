# KyedNS - one plain Makefile.  `make` builds build/kyedns-backend,
# build/kyedns-updater and build/kyednsctl; `make test` runs every test;
# `make SANITIZE=address,undefined test` does the same under sanitizers
# (objects go to build/san so the two builds never mix).

CC      ?= cc
PKGS    := libuv jansson lmdb libsodium
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
                $(B)/common/sha1.o
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

# Third-party sources: their own warnings are not ours to fix.
$(B)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(OPT) -g -w -I$(LLHTTP_INC) $(SANFLAGS) -c -o $@ $<

$(B)/tests/test_%: tests/unit/test_%.c $(B)/libkyedns.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(B)/libkyedns.a $(LDLIBS)

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
