# harness/build.mk — the benchmark binaries (included by the top Makefile).
#
#   $(BUILD)/release/bin/bench_<port>     every case, linked with libswitchyard_<port>.a
#   $(BUILD)/release/bin/bench_baselines  the reference baselines (no greenlets)
#
#   make bench [QUICK=1] [PORTS="a b"] [FILTER=regex]    build, run, write results/
#
# The cases are compiled once and linked against each port's library: they never know
# which port they run on. The hub cases join in when include/hub.h and hub/build.mk do.

CXX      ?= c++
BENCH_DIR := $(BUILD)/release
BENCH_CXXFLAGS := -std=c++17 $(WARN) $(CFLAGS_release)
BENCH_LDLIBS := -lbenchmark -lpthread

BENCH_HUB := $(if $(and $(wildcard include/hub.h),$(wildcard hub/build.mk),$(wildcard harness/case_hub.c)),1)
BENCH_COMMON   := shim procfs
BENCH_PORT_SRC := main_port case_switch case_lifecycle case_memory case_ring limits \
                  $(if $(BENCH_HUB),case_hub,case_hub_none)
BENCH_BASE_SRC := main_baselines baseline_switch baseline_fcontext
# baseline_fcontext: Boost.Context, linked as the boost_fcontext port links it.
BENCH_BASE_LDLIBS := -l:libboost_context.a
bench_obj = $(patsubst %,$(BENCH_DIR)/obj/harness/%.o,$(1))

BENCH_PORT_OBJS := $(call bench_obj,$(BENCH_COMMON) $(BENCH_PORT_SRC))
BENCH_BASE_OBJS := $(call bench_obj,$(BENCH_COMMON) $(BENCH_BASE_SRC)) \
                   $(BENCH_DIR)/obj/$(basename $(ARCH_ASM)).o
BENCH_BINS := $(BENCH_DIR)/bin/bench_baselines $(foreach p,$(PORTS),$(BENCH_DIR)/bin/bench_$(p))

$(BENCH_DIR)/obj/harness/%.o: harness/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(CFLAGS_release) $(INCLUDE) -MMD -MP -c $< -o $@
$(BENCH_DIR)/obj/harness/%.o: harness/%.cc
	@mkdir -p $(@D)
	$(CXX) $(BENCH_CXXFLAGS) $(INCLUDE) -MMD -MP -c $< -o $@

define bench_port_rules
$(BENCH_DIR)/bin/bench_$(1): $(BENCH_PORT_OBJS) $(if $(BENCH_HUB),$(CONF_LIBS_release)) \
                             $(BENCH_DIR)/lib/libswitchyard_$(1).a
	@mkdir -p $$(@D)
	$$(CXX) $$(LDFLAGS_release) $$^ -o $$@ $(if $(BENCH_HUB),$$(CONF_LDLIBS)) $$(BENCH_LDLIBS) \
	  $$(LDLIBS) $$(PORT_LDLIBS_$(1))
endef
$(foreach p,$(PORTS),$(eval $(call bench_port_rules,$(p))))

$(BENCH_DIR)/bin/bench_baselines: $(BENCH_BASE_OBJS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS_release) $^ -o $@ $(BENCH_BASE_LDLIBS) $(BENCH_LDLIBS) $(LDLIBS)

# A run narrowed by PORTS= on the command line or FILTER= does not replace latest.json.
BENCH_ENV = BUILD='$(BUILD)' PORTS='$(PORTS)' FILTER='$(FILTER)' QUICK='$(QUICK)' \
  NARROWED='$(if $(or $(FILTER),$(filter command line,$(origin PORTS))),1)' \
  BENCH_CC='$(CC)' BENCH_CXX='$(CXX)' BENCH_CFLAGS='$(CSTD) $(WARN) $(CFLAGS_release)'

.PHONY: bench-bins bench-run bench-quick
bench-bins: $(BENCH_BINS)

bench-run: bench-bins
	@$(BENCH_ENV) harness/run.sh

# The smoke run of `make test`: every case, tiny workloads, results/quick-latest.json.
bench-quick: bench-bins
	@$(BENCH_ENV) QUICK=1 harness/run.sh

TEST_EXTRA += bench-quick

# The I/O benchmarks: servers as processes and an external load generator.
include harness/io/build.mk
