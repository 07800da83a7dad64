# fuzz/build.mk — the differential fuzzer (included by the top Makefile, after the
# fragments that add build variants).
#
#   $(BUILD)/<variant>/bin/fuzz_<port>   generator + interpreter linked with each port's
#                                        library, in every variant make test runs (release,
#                                        asan, clang, aarch64 under qemu): fuzz/main.c
#   make fuzz [SEEDS=N] [FIRST=S]        N programs (default 10 000) on every port and
#                                        variant (EMULATED_SEEDS=2000 of them under qemu),
#                                        on Python greenlet (the oracle), and the programs
#                                        of fuzz/cases/
#   make fuzz SEED=S                     one program: its text, every trace, the differences
#   make fuzz PROGRAM=file               the same for a program written by hand
#   make fuzz-quick                      what make test runs: oracle.py --selftest, the
#                                        first FUZZ_TEST_SEEDS seeds and fuzz/cases/
#   make fuzz-minimize SEED=S|PROGRAM=f  shrink a failing program (fuzz/minimize.sh) on
#                       [RUNNERS=...]    the runners named (default asan/asm_separate)
#
# fuzz/run.sh runs the binaries and oracle.py and compares the traces (compare.awk).

FUZZ_SRC        := $(wildcard fuzz/*.c)
FUZZ_PYTHON     ?= /usr/bin/python3
FUZZ_VARIANTS   ?= $(TEST_VARIANTS)
FUZZ_TEST_SEEDS ?= 300
# ... of which the variants run under an emulator (aarch64: qemu-user, ~10x slower) run
FUZZ_TEST_SEEDS_EMULATED ?= 100
SEEDS ?= 10000
FIRST ?= 0
EMULATED_SEEDS ?= 2000

define fuzz_rules
$(BUILD)/$(2)/bin/fuzz_$(1): $(call obj,$(2),$(FUZZ_SRC)) $(BUILD)/$(2)/lib/libswitchyard_$(1).a
	@mkdir -p $$(@D)
	$$(call ccld,$(2)) $$(LDFLAGS_$(2)) $$^ -o $$@ $$(LDLIBS) $$(PORT_LDLIBS_$(1))
endef
$(foreach v,$(FUZZ_VARIANTS),$(foreach p,$(call vget,PORTS,$(v)),$(eval $(call fuzz_rules,$(p),$(v)))))

FUZZ_BINS := $(foreach v,$(FUZZ_VARIANTS),$(foreach p,$(call vget,PORTS,$(v)),$(BUILD)/$(v)/bin/fuzz_$(p)))
# The runners, "variant/port=command": the command is the binary, after RUN_<variant>
# (qemu-aarch64) when it has one; its words are joined by commas (run.sh splits them).
fuzz_comma := ,
fuzz_space := $(subst ,, )
fuzz_cmd    = $(subst $(fuzz_space),$(fuzz_comma),$(strip $(RUN_$(1)) $(BUILD)/$(1)/bin/fuzz_$(2)))
FUZZ_RUNNERS = $(foreach v,$(FUZZ_VARIANTS),$(foreach p,$(call vget,PORTS,$(v)),$(v)/$(p)=$(call fuzz_cmd,$(v),$(p))))
FUZZ_ENV     = BUILD='$(BUILD)' PYTHON='$(FUZZ_PYTHON)'

.PHONY: fuzz fuzz-quick fuzz-bins fuzz-minimize fuzz-selftest
fuzz-bins: $(FUZZ_BINS)

fuzz: fuzz-bins fuzz-selftest
	@$(FUZZ_ENV) fuzz/run.sh --oracle --known fuzz/known.txt \
	  $(if $(PROGRAM),--program '$(PROGRAM)',$(if $(SEED),--seed '$(SEED)',--cases fuzz/cases \
	  --first '$(FIRST)' --seeds '$(SEEDS)' --emulated-seeds '$(EMULATED_SEEDS)')) $(FUZZ_RUNNERS)

fuzz-quick: fuzz-bins fuzz-selftest
	@$(FUZZ_ENV) fuzz/run.sh --oracle --quiet --known fuzz/known.txt --cases fuzz/cases \
	  --first 0 --seeds $(FUZZ_TEST_SEEDS) \
	  --emulated-seeds $(FUZZ_TEST_SEEDS_EMULATED) $(FUZZ_RUNNERS)

# The oracle's destroy emulation against greenlet's own garbage collection.
fuzz-selftest:
	@mkdir -p '$(BUILD)/fuzz' && $(FUZZ_PYTHON) fuzz/oracle.py --selftest >'$(BUILD)/fuzz/selftest.log' 2>&1; \
	  status=$$?; grep -v '^ok ' '$(BUILD)/fuzz/selftest.log'; exit $$status

RUNNERS ?= asan/asm_separate
fuzz-minimize: fuzz-bins
	@test -n '$(SEED)$(PROGRAM)' || { echo "usage: make fuzz-minimize SEED=<seed>|PROGRAM=<file> [RUNNERS=\"asan/x ...\"]" >&2; exit 2; }
	@$(FUZZ_ENV) fuzz/minimize.sh --oracle '$(or $(PROGRAM),$(SEED))' \
	  $(foreach r,$(RUNNERS),$(r)=$(call fuzz_cmd,$(patsubst %/,%,$(dir $(r))),$(notdir $(r))))

TEST_EXTRA       += fuzz-quick
TEST_BUILD_EXTRA += $(FUZZ_BINS)
