# Switchyard — build every port found under impl/, the conformance suite, the harness.
#
#   make                        build every port (release) and its conformance runner
#   make test                   deps, build, conformance on every port, also under ASan+UBSan
#   make conformance PORT=name  check one port (add SAN=1 for the sanitizer build)
#   make bench                  deps, build, run the benchmark harness (QUICK=1, PORTS=, FILTER=)
#   make deps                   install the Debian packages the project needs
#   make clean
#
# A port is a folder impl/<name>/ of .c/.S files implementing core/port.h; an optional
# impl/<name>/port.mk may add PORT_LDLIBS_<name> or PORT_CFLAGS_<name>.

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
CSTD    := -std=gnu11
WARN    := -Wall -Wextra -Werror
INCLUDE := -Iinclude -Icore -Imechanism
CFLAGS_release := -O2 -g
CFLAGS_asan    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                  -fno-sanitize-recover=undefined
LDFLAGS_release :=
LDFLAGS_asan    := -fsanitize=address,undefined
LDLIBS  := -lpthread

-include $(wildcard impl/*/port.mk)

# Rooms other than the ports keep their rules in a fragment of their own (hub/build.mk,
# harness/build.mk, plots/build.mk). A fragment may add:
#   CONF_LIBS_<variant>  static libraries linked into every conformance runner, before
#                        the port's library (e.g. the hub)
#   CONF_LDLIBS          system libraries for the runners (e.g. -lev -luv)
#   TEST_EXTRA           targets `make test` runs before the conformance suite (whose
#                        closing `N passed, N failed` line stays the last line)
CONF_LIBS_release :=
CONF_LIBS_asan    :=
CONF_LDLIBS       :=
TEST_EXTRA        :=
# Object path of source(s) $(2) in variant $(1); defined before the fragments use it.
obj = $(patsubst %,$(BUILD)/$(1)/obj/%.o,$(basename $(2)))
-include $(wildcard hub/build.mk harness/build.mk plots/build.mk fuzz/build.mk)

CORE_SRC := $(wildcard core/*.c mechanism/*.c) $(ARCH_ASM)
CONF_SRC := $(wildcard conformance/*.c)
PORT_SRC  = $(wildcard impl/$(1)/*.c impl/$(1)/*.S)

.PHONY: all build test conformance bench deps clean check-port valgrind
all: build

# ---- objects, per variant -----------------------------------------------------------
define variant_rules
$(BUILD)/$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(CSTD) $$(WARN) $$(CFLAGS_$(1)) $$(INCLUDE) $$(PORT_CFLAGS) -MMD -MP -c $$< -o $$@
$(BUILD)/$(1)/obj/%.o: %.S
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_$(1)) $$(INCLUDE) -c $$< -o $$@
endef
$(foreach v,release asan,$(eval $(call variant_rules,$(v))))

# ---- one static library and one conformance runner per port × variant -----------------
define port_rules
$(BUILD)/$(2)/lib/libswitchyard_$(1).a: $(call obj,$(2),$(CORE_SRC)) $(call obj,$(2),$(call PORT_SRC,$(1)))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
$(BUILD)/$(2)/obj/impl/$(1)/%.o: PORT_CFLAGS = $$(PORT_CFLAGS_$(1))
$(BUILD)/$(2)/bin/conformance_$(1): $(call obj,$(2),$(CONF_SRC)) $$(CONF_LIBS_$(2)) $(BUILD)/$(2)/lib/libswitchyard_$(1).a
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS_$(2)) $$^ -o $$@ $$(CONF_LDLIBS) $$(LDLIBS) $$(PORT_LDLIBS_$(1))
endef
$(foreach p,$(PORTS),$(foreach v,release asan,$(eval $(call port_rules,$(p),$(v)))))

RELEASE_BINS := $(foreach p,$(PORTS),$(BUILD)/release/bin/conformance_$(p))
ASAN_BINS    := $(foreach p,$(PORTS),$(BUILD)/asan/bin/conformance_$(p))

build: $(RELEASE_BINS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- checking ------------------------------------------------------------------------
# Every port, release and sanitizer builds; a table, then one closing line over all.
test: deps
	@$(MAKE) --no-print-directory $(RELEASE_BINS) $(ASAN_BINS)
	@$(if $(strip $(TEST_EXTRA)),$(MAKE) --no-print-directory $(TEST_EXTRA),true)
	@BUILD=$(BUILD) conformance/run_all.sh $(foreach p,$(PORTS),release:$(p)) $(foreach p,$(PORTS),asan:$(p))

check-port:
	@test -n "$(PORT)" || { echo "usage: make conformance PORT=<name>  (ports: $(PORTS))" >&2; exit 2; }
	@test -d "impl/$(PORT)" || { echo "no port '$(PORT)': impl/$(PORT)/ does not exist (ports: $(PORTS))" >&2; exit 2; }

conformance: check-port
	@$(MAKE) --no-print-directory $(BUILD)/$(if $(SAN),asan,release)/bin/conformance_$(PORT)
	@$(BUILD)/$(if $(SAN),asan,release)/bin/conformance_$(PORT) $(ARGS)

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
bench: deps build
	@status=0; $(MAKE) --no-print-directory bench-run || status=1; \
	$(if $(wildcard plots/build.mk),$(MAKE) --no-print-directory plots || status=1;) exit $$status

# ---- dependencies --------------------------------------------------------------------
# Every room's packages, in one list: the hub's loops, the harness, the plots; the peers
# the benchmarks compare with (Boost.Context, Python greenlet, gevent, wrk); the
# fuzzer's oracle (python3-greenlet); the AArch64 cross build run under qemu-user; gdb.
DEB_PACKAGES := libev-dev libuv1-dev libbenchmark-dev python3-matplotlib jq \
                libboost-context-dev python3-greenlet python3-gevent wrk \
                gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user gdb
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: missing Debian packages:$$missing (run as root, or install them)" >&2; exit 1; fi; \
	  echo "make deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
	    || { echo "make deps: apt-get install failed for:$$missing" >&2; exit 1; }; \
	fi

clean:
	rm -rf $(BUILD)
