# tools/build.mk — the clang build variant, and the checks of the tooling around the
# switch that `make test` runs before the conformance suite:
#
#   clang variant   the release flags built with clang -Werror: rows "<port> clang ..."
#                   (left out when CC is clang already: then every variant is clang's)
#   check-asm       tools/check_asm.sh: the switch files (mechanism/arch) as each build
#                   assembles them: every global symbol hidden, every function covered
#                   by unwind information (an FDE)
#   check-cet       control-flow protection kept: every port's library and an example,
#                   built with -fcf-protection (x86-64) and -mbranch-protection=standard
#                   (AArch64), linked together (ld -r: Debian's own crt files carry no
#                   such note), keep IBT / BTI+PAC in their GNU property note; SHSTK only
#                   where mechanism/arch's switch is not linked (it does not claim it)
#   check-gdb       tools/gdb/check.sh: gdb -batch on examples/greenlet_states of every
#                   port, x86-64 natively and AArch64 under qemu-user (gdb-multiarch),
#                   plain and protected: the extension (tools/gdb/switchyard.py) loads by
#                   itself, `info greenlets` and `greenlet bt` are right, backtraces are
#                   clean inside a greenlet, and the unwind information (CFI) of both
#                   switch files is right at every instruction, stepped one at a time
#                   through both switches and compared with the execution
#
# `CC=clang make test` builds everything with clang (and the benchmark shim with
# clang++).

CLANG ?= clang
CC_IS_CLANG := $(if $(findstring clang,$(shell $(CC) --version 2>/dev/null | head -n 1)),1)

VARIANTS        += clang
CC_clang        := $(CLANG)
CFLAGS_clang    := -O2 -g $(call stack_clash,$(CLANG))
LDFLAGS_clang   := $(LDFLAGS_release)
ifeq ($(CC_IS_CLANG),)
TEST_VARIANTS   += clang
endif

# ---- control-flow protection ---------------------------------------------------------------
# Two more variants, only ever built for this check: cet (x86-64 -fcf-protection) and
# bti (AArch64 -mbranch-protection=standard, with the cross compiler).
VARIANTS        += cet bti
CFLAGS_cet      := $(CFLAGS_release) -fcf-protection
CC_bti          := $(AARCH64_CC)
ARCH_bti        := aarch64
CFLAGS_bti      := -O2 -g -mbranch-protection=standard $(call stack_clash,$(AARCH64_CC))
# ... and its runners run as the AArch64 ones do: make conformance PORT=x VARIANT=bti
$(foreach x,CCLD LDFLAGS INCLUDE CONF_LDLIBS PREREQ RUN CONF_ARGS PORTS,$(eval $(x)_bti = $$($(x)_aarch64)))
CET_VARIANTS    := $(if $(filter x86_64,$(ARCH)),cet) $(if $(AARCH64_CC),bti)
define cet_rules
$(BUILD)/$(1)/tools/greenlet_states_$(2).o: $(call obj,$(1),examples/greenlet_states.c) $(BUILD)/$(1)/lib/libswitchyard_$(2).a
	@mkdir -p $$(@D)
	$$(call vget,CC,$(1)) -r -nostdlib $$^ -o $$@
endef
$(foreach v,$(CET_VARIANTS),$(foreach p,$(PORTS),$(eval $(call cet_rules,$(v),$(p)))))

CET_OBJS := $(foreach v,$(CET_VARIANTS),$(foreach p,$(PORTS),$(BUILD)/$(v)/tools/greenlet_states_$(p).o))
.PHONY: check-cet
check-cet: $(CET_OBJS)
	@tools/check_cet.sh $^
TEST_EXTRA += check-cet
TEST_BUILD_EXTRA += $(CET_OBJS)

# ---- the switch objects --------------------------------------------------------------------
# The switch files as every build assembles them: every global symbol hidden, every
# function covered by unwind information (what gdb, seeing a linked program, cannot tell).
ASM_OBJS := $(foreach v,$(TEST_VARIANTS) $(CET_VARIANTS),$(call obj,$(v),$(ARCH_ASM_$(call vget,ARCH,$(v)))))
.PHONY: check-asm
check-asm: $(ASM_OBJS)
	@tools/check_asm.sh $^
TEST_EXTRA += check-asm
TEST_BUILD_EXTRA += $(ASM_OBJS)

# ---- gdb ---------------------------------------------------------------------------------
# examples/greenlet_states for every port, in each build the gdb check runs on: release
# with the host's gdb; the protected builds, whose switch differs in the instructions the
# CFI describes (an endbr64 / bti c first in each entry point: every row moves); the
# AArch64 builds, plain and bti, under qemu-user with Debian's gdb-multiarch attached to
# its gdb stub. bti runs on an emulated CPU without pointer authentication: QEMU 7.2's
# stub does not give gdb the PAC masks, so gdb 13 could not strip the signed return
# addresses of the C frames (the switch signs nothing; paciasp / autiasp are hints, no-ops
# there; BTI stays enforced).
GDB_VARIANTS    := release $(filter clang,$(TEST_VARIANTS)) $(filter cet,$(CET_VARIANTS)) $(if $(AARCH64_CC),aarch64) $(filter bti,$(CET_VARIANTS))
GDB_RUN_aarch64 := $(AARCH64_RUN) -cpu max,sve=off
GDB_RUN_bti     := $(AARCH64_RUN) -cpu max,sve=off,pauth=off
# The check's lines: "gdb <port>: ..." for release, "gdb <variant> <port>: ..." else.
gdb_label = $(if $(filter release,$(1)),$(2),$(1) $(2))
gdb_prog  = $(BUILD)/$(1)/bin/examples/greenlet_states_$(2)
define gdb_program_rules
$(call gdb_prog,$(1),$(2)): $(call obj,$(1),examples/greenlet_states.c) $(BUILD)/$(1)/lib/libswitchyard_$(2).a
	@mkdir -p $$(@D)
	$$(call ccld,$(1)) $$(LDFLAGS_$(1)) $$^ -o $$@ $$(LDLIBS) $$(PORT_LDLIBS_$(2))
endef
$(foreach v,$(filter-out release,$(GDB_VARIANTS)),$(foreach p,$(call vget,PORTS,$(v)),\
  $(eval $(call gdb_program_rules,$(v),$(p)))))
GDB_PROGS := $(foreach v,$(GDB_VARIANTS),$(foreach p,$(call vget,PORTS,$(v)),$(call gdb_prog,$(v),$(p))))

.PHONY: check-gdb
check-gdb: $(GDB_PROGS)
	@tools/gdb/check.sh $(BUILD)/tools/gdb-logs $(foreach v,$(GDB_VARIANTS),--run '$(GDB_RUN_$(v))' \
	  $(foreach p,$(call vget,PORTS,$(v)),'$(call gdb_label,$(v),$(p))=$(call gdb_prog,$(v),$(p))'))
TEST_EXTRA += check-gdb
TEST_BUILD_EXTRA += $(GDB_PROGS)

# ---- the CFI check's own test ----------------------------------------------------------------
# make check-mutants: the switch file of each architecture with one unwind directive removed
# or moved at a time (tools/gdb/mutants.sh lists them), run through check-gdb's stepping
# and check-asm: each mutant must fail them. Not in `make test` (about two minutes: 30
# gdb runs, half of them under qemu); run it after changing the switch files or the checks.
MUTANT_VARIANTS := release $(if $(AARCH64_CC),aarch64)
define mutant_rules
.PHONY: check-mutants-$(1)
check-mutants-$(1): $(call obj,$(1),examples/greenlet_states.c) $(foreach p,asm_separate stackcopy,$(BUILD)/$(1)/lib/libswitchyard_$(p).a)
	@tools/gdb/mutants.sh $(BUILD)/tools/mutant-logs/$(1) $(BUILD)/$(1) \
	  "$(call vget,CC,$(1)) $(CFLAGS_$(1)) $(INCLUDE) -c" "$(call ccld,$(1)) $(LDFLAGS_$(1))" \
	  "$(GDB_RUN_$(1))" $(ARCH_ASM_$(call vget,ARCH,$(1)))
endef
$(foreach v,$(MUTANT_VARIANTS),$(eval $(call mutant_rules,$(v))))
.PHONY: check-mutants
check-mutants: $(foreach v,$(MUTANT_VARIANTS),check-mutants-$(v))
