# SPDX-License-Identifier: Apache-2.0
# cvmd: attestation-gated launcher for confidential GPU virtual machines.
#
#   make            build build/cvmctl and build/cvm-agent (and the libraries)
#   make check      install missing build dependencies (Debian, as root), build, run every test
#   make demo       a whole attestation-gated launch on the simulator and libvirt's test driver,
#                   then the verifiers on real evidence; checks its own outcomes
#   make bench      benchmarks, each against a floor measured in the same run
#   make fuzz       libFuzzer targets (clang)
#   make SANITIZE=1 check   the whole suite under ASan + UBSan
#   make install    programs, unit and man pages; PREFIX=/usr/local DESTDIR=

PKG_CONFIG ?= pkg-config
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
PKGS       := libcurl json-c openssl libxml-2.0 xmlsec1-openssl libvirt
TEST_PKGS  := cmocka libmicrohttpd

ifneq ($(SANITIZE),)
BUILD      ?= build/sanitize
else
BUILD      ?= build
endif

CC        ?= cc
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu17 -D_GNU_SOURCE -MMD -MP -Iinclude
CFLAGS    += -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter -Wno-missing-field-initializers -Werror=implicit-function-declaration \
             -Wvla -Wpointer-arith -Wdate-time
CFLAGS    += -fstack-protector-strong -fPIE -fno-strict-aliasing
ifeq ($(SANITIZE),)
CFLAGS    += -D_FORTIFY_SOURCE=2
endif
CFLAGS    += $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDFLAGS   += -pie -Wl,-z,relro,-z,now
LDLIBS    += $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
ifneq ($(WERROR),)
CFLAGS    += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS    += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -O1
LDFLAGS   += -fsanitize=address,undefined
endif
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

# One static archive per library folder; every program and test links them all.
SHARED_SRC   := $(wildcard src/shared/*.c)
ATTEST_SRC   := $(wildcard attest/*.c)
GPU_SRC      := $(wildcard gpu/*.c)
LAUNCHER_SRC := $(wildcard launcher/*.c)
CVMCTL_SRC   := $(wildcard src/cvmctl/*.c)
AGENT_SRC    := $(filter-out src/agent/cvm-agent.c,$(wildcard src/agent/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBS := $(BUILD)/libcvm-attest.a $(BUILD)/libcvm-shared.a
AGENT_LIB := $(BUILD)/libcvm-agent.a
ifneq ($(GPU_SRC),)
LIBS := $(BUILD)/libcvm-gpu.a $(LIBS)
endif
ifneq ($(LAUNCHER_SRC),)
LIBS := $(BUILD)/libcvm-launcher.a $(LIBS)
endif

UNIT_TESTS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test-*.c))
TEST_HELPERS := $(BUILD)/tests/vector-runner $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(wildcard tests/helpers/*.c))
FUZZ_SRC     := $(filter-out tests/fuzz/fuzz-main.c,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_REPLAY  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz-replay/%,$(FUZZ_SRC))
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
BENCHES      := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/bench-*.c))

# Quiet by default; V=1 shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

CVM_VECTORS ?= $(abspath ../shared/vectors)
export CVM_VECTORS

all: $(BUILD)/cvmctl $(BUILD)/cvm-agent

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/libcvm-shared.a: $(call obj,$(SHARED_SRC))
# attest/ and gpu/ call each other (verdicts; GPU appraisal in the exchange): the attest archive
# carries the gpu objects too, so either order on the link line resolves.
$(BUILD)/libcvm-attest.a: $(call obj,$(ATTEST_SRC) $(GPU_SRC))
$(BUILD)/libcvm-gpu.a: $(call obj,$(GPU_SRC))
$(BUILD)/libcvm-launcher.a: $(call obj,$(LAUNCHER_SRC))
$(BUILD)/libcvm-agent.a: $(call obj,$(AGENT_SRC))
$(BUILD)/%.a:
	@mkdir -p $(dir $@)
	$(Q)$(AR) rcs $@ $^

$(BUILD)/cvmctl: $(call obj,$(CVMCTL_SRC)) $(LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/cvm-agent: $(BUILD)/obj/src/agent/cvm-agent.o $(AGENT_LIB) $(LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(AGENT_LIB) $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/vector-runner: $(patsubst tests/%.c,$(BUILD)/obj/tests/%.o,$(wildcard tests/vectors/*.c)) $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test helpers (local servers and the like): one program per file in tests/helpers/.
$(BUILD)/tests/%: $(BUILD)/obj/tests/helpers/%.o $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# Corpus replay: the fuzz targets with a plain main(), built with the same compiler as the suite.
$(BUILD)/fuzz-replay/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/fuzz-main.o $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(AGENT_LIB) $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@tools/install-deps.sh

check: deps
	@$(MAKE) --no-print-directory check-build
	@BUILD=$(BUILD) tests/run-all.sh

check-build: $(BUILD)/cvmctl $(BUILD)/cvm-agent $(UNIT_TESTS) $(TEST_HELPERS) $(FUZZ_REPLAY)

demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/cvmctl $(BUILD)/cvm-agent
	@BUILD=$(BUILD) tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory $(BENCHES)
	@set -e; for b in $(BENCHES); do ./$$b; done

# libFuzzer builds (clang): build/fuzz/fuzz-<parser>; run e.g.
#   build/fuzz/fuzz-snp-report tests/fuzz/corpus/snp-report
FUZZ_CFLAGS := -std=gnu17 -D_GNU_SOURCE -Iinclude -g -O1 -fsanitize=fuzzer,address,undefined \
               $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
FUZZ_LIB_SRC := $(SHARED_SRC) $(ATTEST_SRC) $(GPU_SRC) $(LAUNCHER_SRC)
fuzz: $(FUZZ_BIN)
build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_SRC) $(LDLIBS)

UNITDIR ?= $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
MANPAGES := $(wildcard man/*.[0-9])
install: $(BUILD)/cvmctl $(BUILD)/cvm-agent
	install -Dm0755 $(BUILD)/cvmctl $(DESTDIR)$(BINDIR)/cvmctl
	install -Dm0755 $(BUILD)/cvm-agent $(DESTDIR)$(SBINDIR)/cvm-agent
	install -Dm0644 systemd/cvm-agent.service $(DESTDIR)$(UNITDIR)/cvm-agent.service
	@set -e; for m in $(MANPAGES); do \
		install -Dm0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/$$(basename $$m); done

analyze:
	cppcheck --quiet --enable=warning,portability --inline-suppr -Iinclude src attest gpu launcher

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
.PHONY: all deps check check-build demo bench fuzz install analyze format clean
.SECONDARY:
