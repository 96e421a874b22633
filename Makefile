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
PKGS       := libcurl json-c openssl libxml-2.0 xmlsec1-openssl libvirt libsystemd sqlite3 libmicrohttpd libcryptsetup
TEST_PKGS  := cmocka

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

# Layers, lowest first: one static archive per library folder. A layer may call the layers
# below it and never one above (tests/integration/test-layers.sh checks the archives' symbols);
# programs link them highest first. docs/layout.md draws the picture.
LAYERS        := shared attest gpu policy keys exchange launcher engine sim agent cvmd
shared_DIRS   := src/shared
attest_DIRS   := attest attest/snp attest/tdx attest/measure
gpu_DIRS      := gpu
policy_DIRS   := src/policy
keys_DIRS     := src/keys
exchange_DIRS := src/exchange
launcher_DIRS := launcher
engine_DIRS   := src/engine
sim_DIRS      := src/sim
agent_DIRS    := src/agent
cvmd_DIRS     := src/cvmd
layer_src = $(filter-out src/agent/cvm-agent.c src/cvmd/cvmd.c,$(foreach d,$($(1)_DIRS),$(wildcard $(d)/*.c)))
CVMCTL_SRC   := $(wildcard src/cvmctl/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LAYER_ARCHIVES := $(foreach l,$(LAYERS),$(BUILD)/libcvm-$(l).a)
# highest first, for the linker
LIBS := $(foreach l,$(shell echo $(LAYERS) | tr ' ' '\n' | tac),$(BUILD)/libcvm-$(l).a)
$(foreach l,$(LAYERS),$(eval $(BUILD)/libcvm-$(l).a: $(call obj,$(call layer_src,$(l)))))

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

PROGRAMS := $(BUILD)/cvmctl $(BUILD)/cvm-agent $(if $(wildcard src/cvmd/cvmd.c),$(BUILD)/cvmd)
all: $(PROGRAMS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) -c $< -o $@

# rebuilt whole, so that a file moved to another layer leaves no stale member behind
$(BUILD)/%.a:
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/cvmctl: $(call obj,$(CVMCTL_SRC)) $(LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/cvm-agent: $(BUILD)/obj/src/agent/cvm-agent.o $(LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/cvmd: $(BUILD)/obj/src/cvmd/cvmd.o $(LIBS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fixtures the unit tests share (tests/common/*.c), one archive linked before the layers.
TEST_COMMON := $(BUILD)/libcvm-testcommon.a
$(TEST_COMMON): $(patsubst tests/%.c,$(BUILD)/obj/tests/%.o,$(wildcard tests/common/*.c))

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_COMMON) $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/vector-runner: $(patsubst tests/%.c,$(BUILD)/obj/tests/%.o,$(wildcard tests/vectors/*.c)) $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test helpers (local servers and the like): one program per file in tests/helpers/.
$(BUILD)/tests/%: $(BUILD)/obj/tests/helpers/%.o $(TEST_COMMON) $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# Corpus replay: the fuzz targets with a plain main(), built with the same compiler as the suite.
$(BUILD)/fuzz-replay/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/fuzz-main.o $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(TEST_COMMON) $(LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@tools/install-deps.sh

check: deps
	@$(MAKE) --no-print-directory check-build
	@BUILD=$(BUILD) tests/run-all.sh

check-build: $(PROGRAMS) $(UNIT_TESTS) $(TEST_HELPERS) $(FUZZ_REPLAY) $(LAYER_ARCHIVES)

demo: deps
	@$(MAKE) --no-print-directory $(PROGRAMS)
	@BUILD=$(BUILD) tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory $(BENCHES)
	@set -e; for b in $(BENCHES); do ./$$b; done

# libFuzzer builds (clang): build/fuzz/fuzz-<parser>; run e.g.
#   build/fuzz/fuzz-snp-report tests/fuzz/corpus/snp-report
# The library is compiled once (instrumented, not linked with libFuzzer's main) into one archive;
# each target is then only its own file and a link.
FUZZ_CFLAGS := -std=gnu17 -D_GNU_SOURCE -Iinclude -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
               $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
FUZZ_LIB_SRC := $(foreach l,$(filter-out agent,$(LAYERS)),$(call layer_src,$(l)))
FUZZ_LIB_OBJ := $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_LIB_SRC))
fuzz: $(FUZZ_BIN)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@clang $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<
build/fuzz/libcvm-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^
build/fuzz/%: tests/fuzz/%.c build/fuzz/libcvm-fuzz.a
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libcvm-fuzz.a $(LDLIBS)
-include $(FUZZ_LIB_OBJ:.o=.d)

UNITDIR ?= $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
MANPAGES := $(wildcard man/*.[0-9])
SYSUSERSDIR ?= $(shell $(PKG_CONFIG) --variable=sysusersdir systemd 2>/dev/null || echo /usr/lib/sysusers.d)
TMPFILESDIR ?= $(shell $(PKG_CONFIG) --variable=tmpfilesdir systemd 2>/dev/null || echo /usr/lib/tmpfiles.d)
# dbus-daemon reads its system bus policies and activation files from /usr/share/dbus-1 (and /etc),
# never from /usr/local/share: like UNITDIR, not under PREFIX.
DBUSDIR ?= /usr/share/dbus-1
# polkitd reads its actions from /usr/share/polkit-1/actions only.
POLKITDIR ?= /usr/share/polkit-1/actions
# The units and the activation file name /usr/local/sbin; installed, they name SBINDIR.
install_subst = sed 's|/usr/local/sbin/|$(SBINDIR)/|g' $(1) > $(2).tmp && install -Dm0644 $(2).tmp $(2) && rm -f $(2).tmp
install: $(PROGRAMS)
	install -Dm0755 $(BUILD)/cvmctl $(DESTDIR)$(BINDIR)/cvmctl
	install -Dm0755 $(BUILD)/cvm-agent $(DESTDIR)$(SBINDIR)/cvm-agent
	install -Dm0755 $(BUILD)/cvmd $(DESTDIR)$(SBINDIR)/cvmd
	@mkdir -p $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DBUSDIR)/system-services
	$(call install_subst,systemd/cvm-agent.service,$(DESTDIR)$(UNITDIR)/cvm-agent.service)
	$(call install_subst,systemd/cvmd.service,$(DESTDIR)$(UNITDIR)/cvmd.service)
	$(call install_subst,systemd/org.cvmd.service,$(DESTDIR)$(DBUSDIR)/system-services/org.cvmd.service)
	install -Dm0644 systemd/org.cvmd.conf $(DESTDIR)$(DBUSDIR)/system.d/org.cvmd.conf
	install -Dm0644 systemd/org.cvmd.policy $(DESTDIR)$(POLKITDIR)/org.cvmd.policy
	install -Dm0644 systemd/cvmd.sysusers $(DESTDIR)$(SYSUSERSDIR)/cvmd.conf
	install -Dm0644 systemd/cvmd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/cvmd.conf
	@set -e; for m in $(MANPAGES); do \
		install -Dm0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/$$(basename $$m); done

analyze:
	cppcheck --quiet --enable=warning,portability --inline-suppr -Iinclude src attest gpu launcher

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
.PHONY: all deps check check-build demo bench fuzz install analyze format clean print-layers
# Objects reached only through pattern rules (a test's, a fuzz target's) are kept after linking.
# Not .SECONDARY: that makes every object intermediate, and an archive newer than a just-added
# source file would then count as up to date without the new object (gcc removes its output
# when interrupted, so a kept object is never half-written).
.PRECIOUS: %.o

print-layers:
	@echo $(LAYERS)
