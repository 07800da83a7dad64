# tools/build.mk — the clang build variant, and the checks of the tooling around the
# switch that `make test` runs before the conformance suite:
#
#   clang variant   the release flags built with clang -Werror: rows "<port> clang ..."
#                   (left out when CC is clang already: then every variant is clang's)
#   check-cfi       tools/check_cfi.py on both switch files, x86-64 and AArch64: the
#                   unwind information at every instruction
#
#   check-cfi       tools/check_cfi.py on both switch files, x86-64 and AArch64, plain
#                   and with -fcf-protection / -mbranch-protection: the unwind
#                   information at every instruction
#   check-cet       control-flow protection kept: every port's library and an example,
#                   built with -fcf-protection (x86-64) and -mbranch-protection=standard
#                   (AArch64), linked together (ld -r: Debian's own crt files carry no
#                   such note), keep IBT / BTI+PAC in their GNU property note; SHSTK only
#                   where mechanism/arch's switch is not linked (it does not claim it)
#   check-gdb       tools/gdb/check.sh: gdb -batch on examples/greenlet_states of every
#                   port: the extension (tools/gdb/switchyard.py) loads by itself, `info
#                   greenlets` and `greenlet bt` are right, backtraces are clean inside a
#                   greenlet and at every instruction of the switch (x86-64: Debian's gdb
#                   has no AArch64 target; check-cfi covers that file)
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

# ---- CFI ---------------------------------------------------------------------------------
# Each switch file assembled as it is built (the other architecture's with Debian's
# cross tools), plain and with the control-flow protection flags (endbr64 / bti in the
# entry points), then walked instruction by instruction against its CFI rows.
CFI_ARCHES := x86_64:switch_x86_64_sysv aarch64:switch_aarch64_aapcs
CFI_GNU_x86_64  := x86_64-linux-gnu-
CFI_GNU_aarch64 := aarch64-linux-gnu-
CFI_PROTECT_x86_64  := -fcf-protection
CFI_PROTECT_aarch64 := -mbranch-protection=standard
# The host's own tools for its architecture, the cross ones for the other.
cfi_prefix = $(if $(filter $(1),$(ARCH)),,$(CFI_GNU_$(1)))
cfi_cc     = $(if $(call cfi_prefix,$(1)),$(call cfi_prefix,$(1))gcc,$(CC))
define cfi_rules
$(BUILD)/tools/cfi/$(2).o: mechanism/arch/$(2).S
	@mkdir -p $$(@D)
	$(call cfi_cc,$(1)) -c $$< -o $$@
$(BUILD)/tools/cfi/$(2)_protected.o: mechanism/arch/$(2).S
	@mkdir -p $$(@D)
	$(call cfi_cc,$(1)) $(CFI_PROTECT_$(1)) -c $$< -o $$@
CFI_CHECKS += check-cfi-$(1)
.PHONY: check-cfi-$(1)
check-cfi-$(1): $(BUILD)/tools/cfi/$(2).o $(BUILD)/tools/cfi/$(2)_protected.o
	@/usr/bin/python3 tools/check_cfi.py $(if $(call cfi_prefix,$(1)),--tools $(call cfi_prefix,$(1))) $(BUILD)/tools/cfi/$(2).o
	@/usr/bin/python3 tools/check_cfi.py $(if $(call cfi_prefix,$(1)),--tools $(call cfi_prefix,$(1))) \
	  --label "($(CFI_PROTECT_$(1)))" $(BUILD)/tools/cfi/$(2)_protected.o
endef
$(foreach a,$(CFI_ARCHES),$(eval $(call cfi_rules,$(word 1,$(subst :, ,$(a))),$(word 2,$(subst :, ,$(a))))))

.PHONY: check-cfi
check-cfi: $(CFI_CHECKS)
TEST_EXTRA += check-cfi
TEST_BUILD_EXTRA += $(foreach a,$(CFI_ARCHES),$(BUILD)/tools/cfi/$(word 2,$(subst :, ,$(a))).o \
                      $(BUILD)/tools/cfi/$(word 2,$(subst :, ,$(a)))_protected.o)

# ---- gdb ---------------------------------------------------------------------------------
.PHONY: check-gdb
check-gdb: $(foreach p,$(PORTS),$(BUILD)/release/bin/examples/greenlet_states_$(p))
	@tools/gdb/check.sh $(BUILD)/release/bin/examples $(BUILD)/tools/gdb-logs $(PORTS)
TEST_EXTRA += check-gdb

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
