# fuzz/build.mk — the differential fuzzer (included by the top Makefile).
#
#   $(BUILD)/<variant>/bin/fuzz_<port>   generator + interpreter, linked with each port's
#                                        library, release and asan (fuzz/main.c: usage)
#   make fuzz [SEEDS=N] [FIRST=S]        N programs (default 10 000) on every port, both
#                                        builds, and on Python greenlet (the oracle)
#   make fuzz SEED=S                     one program: its text, every trace, the differences
#   make fuzz PROGRAM=file               the same for a program written by hand
#   make fuzz-quick                      the fixed seeds of `make test`, and fuzz/cases/
#   make fuzz-minimize SEED=S [RUNNERS=] shrink a failing program (fuzz/minimize.sh);
#                                        RUNNERS: labels, default "asan/asm_separate"
#
# fuzz/run.sh runs the binaries and oracle.py and compares the traces.

FUZZ_SRC    := $(wildcard fuzz/*.c)
FUZZ_PYTHON ?= /usr/bin/python3
# make test: the first FUZZ_TEST_SEEDS seeds on every port, both builds, and the oracle.
FUZZ_TEST_SEEDS ?= 300
SEEDS ?= 10000
FIRST ?= 0

define fuzz_rules
$(BUILD)/$(2)/bin/fuzz_$(1): $(call obj,$(2),$(FUZZ_SRC)) $(BUILD)/$(2)/lib/libswitchyard_$(1).a
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS_$(2)) $$^ -o $$@ $$(LDLIBS) $$(PORT_LDLIBS_$(1))
endef
$(foreach p,$(PORTS),$(foreach v,release asan,$(eval $(call fuzz_rules,$(p),$(v)))))

FUZZ_BINS := $(foreach v,release asan,$(foreach p,$(PORTS),$(BUILD)/$(v)/bin/fuzz_$(p)))
FUZZ_ENV   = BUILD='$(BUILD)' PYTHON='$(FUZZ_PYTHON)'
FUZZ_RUNNERS = $(foreach v,release asan,$(foreach p,$(PORTS),$(v)/$(p)=$(BUILD)/$(v)/bin/fuzz_$(p)))

.PHONY: fuzz fuzz-quick fuzz-bins fuzz-minimize
fuzz-bins: $(FUZZ_BINS)

fuzz: fuzz-bins
	@$(FUZZ_ENV) fuzz/run.sh --oracle \
	  $(if $(PROGRAM),--program '$(PROGRAM)',$(if $(SEED),--seed '$(SEED)',--cases fuzz/cases --first '$(FIRST)' --seeds '$(SEEDS)')) \
	  $(FUZZ_RUNNERS)

fuzz-quick: fuzz-bins
	@$(FUZZ_ENV) fuzz/run.sh --oracle --quiet --cases fuzz/cases --first 0 --seeds $(FUZZ_TEST_SEEDS) \
	  $(FUZZ_RUNNERS)

RUNNERS ?= asan/asm_separate
fuzz-minimize: fuzz-bins
	@test -n '$(SEED)$(PROGRAM)' || { echo "usage: make fuzz-minimize SEED=<seed>|PROGRAM=<file> [RUNNERS=\"asan/x ...\"]" >&2; exit 2; }
	@$(FUZZ_ENV) fuzz/minimize.sh --oracle '$(or $(PROGRAM),$(SEED))' \
	  $(foreach r,$(RUNNERS),$(r)=$(BUILD)/$(dir $(r))bin/fuzz_$(notdir $(r)))

TEST_EXTRA += fuzz-quick
