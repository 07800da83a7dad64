# Switchyard — build every port found under impl/, the conformance suite, the harness.
#
#   make                        build every port (release) and its conformance runner
#   make test                   deps, build, conformance on every port, also under ASan+UBSan
#   make conformance PORT=name  check one port (add SAN=1 for the sanitizer build)
#   make bench                  deps, build, run the benchmark harness (QUICK=1, PORTS=, FILTER=)
#   make deps                   install the Debian packages the project needs
#   make install PREFIX=dir     headers, libraries, pkg-config files (dist/build.mk)
#   make fuzz                   random programs on every port and variant, and on Python
#                               greenlet, traces compared (SEEDS=, SEED=, PROGRAM=: fuzz/build.mk)
#   make clean
#
# A port is a folder impl/<name>/ of .c/.S files implementing core/port.h; an optional
# impl/<name>/port.mk may add PORT_LDLIBS_<name> or PORT_CFLAGS_<name>, and
# PORT_NO_AARCH64_<name> := <reason> for a port that cannot be cross-built for AArch64
# (e.g. it links a library only the host has).

.DEFAULT_GOAL := all
PORTS   := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard impl/*/*.c impl/*/*.S)))))
ARCH    := $(shell uname -m)
ARCH_ASM_x86_64  := mechanism/arch/switch_x86_64_sysv.S
ARCH_ASM_aarch64 := mechanism/arch/switch_aarch64_aapcs.S
ARCH_ASM := $(ARCH_ASM_$(ARCH))
ifeq ($(ARCH_ASM),)
$(error no register-swap routine for $(ARCH): add mechanism/arch/switch_$(ARCH)_<abi>.S)
endif

BUILD   ?= build
CC      ?= cc
# clang builds everything when asked to: its C++ twin for the benchmark shim too.
ifneq ($(filter clang%,$(notdir $(CC))),)
ifeq ($(origin CXX),default)
CXX := $(subst clang,clang++,$(CC))
endif
endif
CSTD    := -std=gnu11
WARN    := -Wall -Wextra -Werror
INCLUDE := -Iinclude -Icore -Imechanism
LDLIBS  := -lpthread

# Stack-clash protection: a frame larger than a greenlet's guard page touches its
# pages in order, so it hits the guard (named by mechanism/overflow.c) instead of
# landing in the stack below. gcc on AArch64 probes every 64 KiB unless told the guard
# is 4 KiB; clang 14 has no AArch64 support (it warns: then the flag is left out).
# $(call stack_clash,compiler): the flags that compiler takes (every variant's own).
cc_accepts  = $(shell $(1) -Werror $(2) -c -x c /dev/null -o /dev/null 2>/dev/null && echo '$(2)')
stack_clash = $(or $(call cc_accepts,$(1),-fstack-clash-protection --param=stack-clash-protection-guard-size=12),$(call cc_accepts,$(1),-fstack-clash-protection))
STACK_CLASH := $(call stack_clash,$(CC))

# ---- build variants ------------------------------------------------------------------
# Every variant builds every port's library and conformance runner under
# $(BUILD)/<variant>/. A variant may set, besides CFLAGS_<v> and LDFLAGS_<v>:
#   CC_<v>           its compiler (default $(CC))       ARCH_<v>  its target (default $(ARCH))
#   INCLUDE_<v>      extra include flags                CONF_LDLIBS_<v>  instead of CONF_LDLIBS
#   PORTS_<v>        the ports it builds (default all)  PREREQ_<v>  built before its objects
#   RUN_<v>          how its binaries run (e.g. an emulator), CONF_ARGS_<v> runner options
#   CCLD_<v>         how it links (default CC_<v>)
# tools/build.mk adds the clang variant, cross/build.mk the AArch64 one.
VARIANTS := release asan
CFLAGS_release := -O2 -g $(STACK_CLASH)
CFLAGS_asan    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                  -fno-sanitize-recover=undefined $(STACK_CLASH)
LDFLAGS_release :=
LDFLAGS_asan    := -fsanitize=address,undefined
LDLIBS  := -lpthread
# Release objects of the core, mechanism/ and the ports carry link-time optimisation
# data (gcc): where a program is linked, the core's switch path inlines the port's switch
# and its checks (asm_separate: 102 -> 90 instructions per switch, callgrind). The
# objects are fat: a link without LTO (another compiler) uses the plain code they carry.
# LIB_LTO= turns it off.
LIB_LTO ?= $(if $(findstring clang,$(shell $(CC) --version 2>/dev/null | head -1)),,-flto=auto -ffat-lto-objects)
# $(call vget,NAME,variant): NAME_<variant> if set, else NAME.
vget = $(if $(filter undefined,$(origin $(1)_$(2))),$($(1)),$($(1)_$(2)))
# How variant $(1) links: CCLD_<v> (e.g. a wrapper), else its compiler.
ccld = $(or $(CCLD_$(1)),$(call vget,CC,$(1)))
# The variants `make test` runs, in table order (fragments append theirs).
TEST_VARIANTS := release asan

-include $(wildcard impl/*/port.mk)

# Rooms other than the ports keep their rules in a fragment of their own (hub/build.mk,
# harness/build.mk, plots/build.mk). A fragment may add:
#   CONF_LIBS_<variant>  static libraries linked into every conformance runner, before
#                        the port's library (e.g. the hub)
#   CONF_LDLIBS          system libraries for the runners (e.g. -lev -luv)
#   TEST_EXTRA           targets `make test` runs before the conformance suite (whose
#                        closing `N passed, N failed` line stays the last line)
#   TEST_BUILD_EXTRA     what those need built: built in parallel with the runners
CONF_LIBS_release :=
CONF_LIBS_asan    :=
CONF_LDLIBS       :=
TEST_EXTRA        :=
TEST_BUILD_EXTRA  :=
# Object path of source(s) $(2) in variant $(1); defined before the fragments use it.
obj = $(patsubst %,$(BUILD)/$(1)/obj/%.o,$(basename $(2)))
# Fragments that add variants come first: the others make rules for every variant.
-include $(wildcard cross/build.mk tools/build.mk)
-include $(wildcard hub/build.mk harness/build.mk plots/build.mk dist/build.mk fuzz/build.mk)

# What the fragments' checks run, built with the conformance runners (in parallel).
TEST_BUILD_EXTRA += $(EXAMPLE_BINS) $(BENCH_BINS) $(IO_BINS)

core_src  = $(wildcard core/*.c mechanism/*.c) $(ARCH_ASM_$(call vget,ARCH,$(1)))
CORE_SRC := $(call core_src,release)
CONF_SRC := $(wildcard conformance/*.c)
PORT_SRC  = $(wildcard impl/$(1)/*.c impl/$(1)/*.S)
# The ports variant $(1) builds.
vports    = $(call vget,PORTS,$(1))
# Every conformance runner of the variants $(1).
conf_bins = $(foreach v,$(1),$(foreach p,$(call vports,$(v)),$(BUILD)/$(v)/bin/conformance_$(p)))

.PHONY: all build test conformance bench deps clean check-port valgrind
all: build

# ---- objects, per variant -----------------------------------------------------------
define variant_rules
$(BUILD)/$(1)/obj/%.o: %.c | $$(PREREQ_$(1))
	@mkdir -p $$(@D)
	$$(call vget,CC,$(1)) $$(CSTD) $$(WARN) $$(CFLAGS_$(1)) $$(INCLUDE) $$(INCLUDE_$(1)) $$(LIB_CFLAGS) $$(PORT_CFLAGS) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/obj/%.o: %.S | $$(PREREQ_$(1))
	@mkdir -p $$(@D)
	$$(call vget,CC,$(1)) $$(CFLAGS_$(1)) $$(INCLUDE) -c $$< -o $$@
endef
$(foreach v,$(VARIANTS),$(eval $(call variant_rules,$(v))))
$(foreach d,core mechanism impl,$(BUILD)/release/obj/$(d)/%.o): LIB_CFLAGS = $(LIB_LTO)

# ---- one static library and one conformance runner per port × variant -----------------
define port_rules
$(BUILD)/$(2)/lib/libswitchyard_$(1).a: $(call obj,$(2),$(call core_src,$(2))) $(call obj,$(2),$(call PORT_SRC,$(1)))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
$(BUILD)/$(2)/obj/impl/$(1)/%.o: PORT_CFLAGS = $$(PORT_CFLAGS_$(1))
$(BUILD)/$(2)/bin/conformance_$(1): $(call obj,$(2),$(CONF_SRC)) $$(CONF_LIBS_$(2)) $(BUILD)/$(2)/lib/libswitchyard_$(1).a
	@mkdir -p $$(@D)
	$$(call ccld,$(2)) $$(LDFLAGS_$(2)) $$^ -o $$@ $$(call vget,CONF_LDLIBS,$(2)) $$(LDLIBS) $$(PORT_LDLIBS_$(1))
endef
$(foreach v,$(VARIANTS),$(foreach p,$(call vports,$(v)),$(eval $(call port_rules,$(p),$(v)))))
# core/registry.c embeds the gdb extension (.incbin): rebuilt when the script changes.
$(foreach v,$(VARIANTS),$(eval $(call obj,$(v),core/registry.c): tools/gdb/switchyard.py))

RELEASE_BINS := $(call conf_bins,release)
ASAN_BINS    := $(call conf_bins,asan)
TEST_BINS     = $(call conf_bins,$(TEST_VARIANTS))

build: $(RELEASE_BINS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- checking ------------------------------------------------------------------------
# Every port in every test variant (release, sanitizers, clang, AArch64 under qemu-user);
# a table, then one closing line over all. deps runs first, alone: nothing compiles
# before the packages are there, whatever -j says.
# The build runs on every CPU unless -j was given; the checks and the suite run one
# after another (their timings and time limits assume so).
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: deps
	@$(MAKE) --no-print-directory $(if $(filter -j% --jobserver%,$(MAKEFLAGS)),,-j$(TEST_JOBS)) \
	  $(TEST_BINS) $(TEST_BUILD_EXTRA)
	@$(if $(strip $(TEST_EXTRA)),$(MAKE) --no-print-directory -j1 $(TEST_EXTRA),true)
	@BUILD=$(BUILD) CONF_NOTES='$(CONF_NOTES)' $(foreach v,$(TEST_VARIANTS),RUN_$(v)='$(RUN_$(v))' \
	  CONF_ARGS_$(v)='$(CONF_ARGS_$(v))') \
	  conformance/run_all.sh $(foreach v,$(TEST_VARIANTS),$(foreach p,$(call vports,$(v)),$(v):$(p)))

check-port:
	@test -n "$(PORT)" || { echo "usage: make conformance PORT=<name>  (ports: $(PORTS))" >&2; exit 2; }
	@test -d "impl/$(PORT)" || { echo "no port '$(PORT)': impl/$(PORT)/ does not exist (ports: $(PORTS))" >&2; exit 2; }

# VARIANT=clang|aarch64|... (SAN=1 is VARIANT=asan).
VARIANT ?= $(if $(SAN),asan,release)
conformance: check-port
	@case " $(VARIANTS) " in *" $(VARIANT) "*) ;; *) echo "no variant '$(VARIANT)' (variants: $(VARIANTS))" >&2; exit 2;; esac
	@case " $(call vports,$(VARIANT)) " in *" $(PORT) "*) ;; *) echo "port $(PORT) is not built for $(VARIANT): $(NOTE_$(VARIANT)_$(PORT))" >&2; exit 2;; esac
	@$(MAKE) --no-print-directory $(BUILD)/$(VARIANT)/bin/conformance_$(PORT)
	@$(RUN_$(VARIANT)) $(BUILD)/$(VARIANT)/bin/conformance_$(PORT) $(CONF_ARGS_$(VARIANT)) $(ARGS)

# ---- valgrind ------------------------------------------------------------------------
# One memcheck run per port over its release conformance runner (valgrind follows the
# runner's forks; a memcheck error fails the case it happened in, and so the run).
# VALGRIND_SKIP_<port> lists cases valgrind itself cannot run on that port (say why);
# the other cases of such a port then run one runner each.
VALGRIND      := valgrind -q --error-exitcode=1
VALGRIND_TIME := 300
# threads: 10 000 live OS threads overflow valgrind 3.19's segment table (VG_N_SEGMENTS);
# under the out-of-memory case's RLIMIT_AS, valgrind's own memory for each new thread
# runs out before the greenlets do ("Valgrind's memory management: out of memory").
VALGRIND_SKIP_threads := greenlet.ten_thousand_greenlets_live_at_once \
                         greenlet.running_out_of_memory_or_stacks_is_an_error_not_a_crash
# stackcopy: a suspended greenlet costs ~290 bytes, so under the case's RLIMIT_AS (256 MiB
# more than it uses) valgrind's own bookkeeping for ~900 000 heap blocks runs out of the
# limit before the program's malloc does ("Valgrind's memory management: out of memory").
VALGRIND_SKIP_stackcopy := greenlet.running_out_of_memory_or_stacks_is_an_error_not_a_crash
# Ports with guard gaps: valgrind places mappings itself, not where mechanism/stack.c asks,
# so the stacks keep PROT_NONE guard pages there (two maps a stack, see stack.c).
VALGRIND_SKIP_GAPS := greenlet.each_guarded_stack_costs_one_memory_map
VALGRIND_SKIP_asm_separate := $(VALGRIND_SKIP_GAPS)
VALGRIND_SKIP_boost_fcontext := $(VALGRIND_SKIP_GAPS)
VALGRIND_SKIP_ucontext := $(VALGRIND_SKIP_GAPS)
VALGRIND_SKIP_threads += $(VALGRIND_SKIP_GAPS)
valgrind: $(RELEASE_BINS)
	@command -v valgrind >/dev/null || { echo "make valgrind: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
	@failed=""; \
	vg() { \
	  port=$$1 skip=$$2 bin=$(BUILD)/release/bin/conformance_$$1 t0=$$(date +%s) ok=1; \
	  if [ -z "$$skip" ]; then \
	    $(VALGRIND) $$bin -t $(VALGRIND_TIME) || ok=0; \
	  else \
	    for c in $$($$bin -l); do \
	      case " $$skip " in *" $$c "*) echo "skip    $$c (valgrind cannot run it)"; continue;; esac; \
	      out=$$($(VALGRIND) $$bin -t $(VALGRIND_TIME) -f $$c 2>&1) || ok=0; \
	      printf '%s\n' "$$out" | grep -v -e '^conformance: port' -e '^[0-9]* passed, '; \
	    done; \
	  fi; \
	  if [ $$ok = 1 ]; then echo "valgrind: $$port clean ($$(( $$(date +%s) - t0 )) s)"; \
	  else echo "valgrind: $$port FAILED"; failed="$$failed $$port"; fi; \
	}; \
	$(foreach p,$(PORTS),vg $(p) "$(VALGRIND_SKIP_$(p))";) \
	if [ -n "$$failed" ]; then echo "make valgrind: memcheck failed on:$$failed"; exit 1; fi; \
	echo "make valgrind: every port clean"

# ---- benchmarks ----------------------------------------------------------------------
# harness/build.mk: QUICK=1 smoke run, PORTS="a b" / FILTER=regex narrow it.
# The charts and report (plots/build.mk) are drawn even when a case failed.
bench: deps
	@$(MAKE) --no-print-directory build
	@status=0; $(MAKE) --no-print-directory bench-run || status=1; \
	$(if $(wildcard plots/build.mk),$(MAKE) --no-print-directory plots || status=1;) exit $$status

# ---- dependencies --------------------------------------------------------------------
# Every room's packages, in one list: the hub's loops, the harness, the plots; the peers
# the benchmarks compare with (Boost.Context, Python greenlet, gevent, wrk); the
# fuzzer's oracle (python3-greenlet); the AArch64 cross build run under qemu-user, clang,
# gdb, and gdb-multiarch for the AArch64 programs under qemu (tools/build.mk); pkg-config
# (the install check, dist/build.mk).
# One dpkg-query for the lot; apt-get only for what is missing, and only as root: any
# other user gets the one line to run. Nothing to do when everything is there.
DEB_PACKAGES := libev-dev libuv1-dev libbenchmark-dev python3-matplotlib jq \
                libboost-context-dev python3-greenlet python3-gevent wrk \
                gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user gdb gdb-multiarch \
                clang pkg-config
deps:
	@command -v dpkg-query >/dev/null || { \
	  echo "make deps: not a Debian system (no dpkg-query): make sure these are installed:" \
	       "$(DEB_PACKAGES)" >&2; exit 0; }; \
	installed=" $$(dpkg-query -W -f='$${db:Status-Abbrev} $${Package}\n' $(DEB_PACKAGES) 2>/dev/null \
	  | awk '$$1 == "ii" { printf "%s ", $$2 }')"; \
	missing=""; for p in $(DEB_PACKAGES); do \
	  case "$$installed" in *" $$p "*) ;; *) missing="$$missing $$p";; esac; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "make deps: missing Debian packages:$$missing. Install them (as root) with:" >&2; \
	  echo "  apt-get update && apt-get install -y$$missing" >&2; exit 1; \
	fi; \
	echo "make deps: installing$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
	  || { echo "make deps: apt-get install failed for:$$missing" >&2; exit 1; }

clean:
	rm -rf $(BUILD)
