# cross/build.mk — AArch64 in `make test`: every port cross-built with Debian's
# aarch64-linux-gnu-gcc, linked statically and run under qemu-user, so the AArch64
# switch (mechanism/arch/switch_aarch64_aapcs.S) is executed, not only assembled.
# Rows "<port> aarch64 greenlet|hub/libev|hub/libuv" in the table.
#
#   make conformance PORT=asm_separate VARIANT=aarch64     one port, under qemu-aarch64
#
# A port that cannot be cross-built (one that links a library Debian has no arm64 build
# of) says so in its impl/<port>/port.mk: PORT_NO_AARCH64_<port> := <reason>; it is left out of
# the rows and the reason is printed under the table.
#
# The hub's loops come from Debian's own arm64 packages (libev-dev, libuv1-dev: static
# libev.a and libuv_a.a), fetched by cross/fetch_sysroot.sh into $(BUILD)/aarch64/sysroot
# with a private apt state: nothing is installed on the host (see that script). A port
# may need more: AARCH64_DEBS += <package>.
#
# Under qemu-user, RLIMIT_AS is accepted and ignored (it would bind the emulator), so
# the case that runs out of address space skips itself there (it probes the limit);
# threads cost far more (a new guest thread is a new emulated CPU: the 10 000-greenlet
# case on the threads port takes ~90 s here), hence a longer per-case limit.

AARCH64_CC      ?= aarch64-linux-gnu-gcc
AARCH64_RUN     ?= qemu-aarch64
AARCH64_SYSROOT := $(BUILD)/aarch64/sysroot
AARCH64_DEBS    += libev-dev libuv1-dev # after what the ports' port.mk added

VARIANTS        += aarch64
TEST_VARIANTS   += aarch64
CC_aarch64      := $(AARCH64_CC)
CCLD_aarch64    := cross/static_link.sh $(AARCH64_CC)
ARCH_aarch64    := aarch64
CFLAGS_aarch64  := -O2 -g $(call stack_clash,$(AARCH64_CC))
LDFLAGS_aarch64 := -static -L$(AARCH64_SYSROOT)/usr/lib/aarch64-linux-gnu # a port's libraries (AARCH64_DEBS)
INCLUDE_aarch64 := -isystem $(AARCH64_SYSROOT)/usr/include
CONF_LDLIBS_aarch64 := -L$(AARCH64_SYSROOT)/usr/lib/aarch64-linux-gnu -lev -l:libuv_a.a -lm -ldl
PREREQ_aarch64  := $(AARCH64_SYSROOT)/.fetched
RUN_aarch64     := $(AARCH64_RUN)
CONF_ARGS_aarch64 := -t 600
PORTS_aarch64   := $(foreach p,$(PORTS),$(if $(PORT_NO_AARCH64_$(p)),,$(p)))
$(foreach p,$(PORTS),$(if $(PORT_NO_AARCH64_$(p)),\
  $(eval NOTE_aarch64_$(p) := $(PORT_NO_AARCH64_$(p)))\
  $(eval CONF_NOTES += |aarch64: $(p) is not cross-built: $(PORT_NO_AARCH64_$(p)))))

$(AARCH64_SYSROOT)/.fetched: cross/fetch_sysroot.sh cross/build.mk $(wildcard impl/*/port.mk)
	@echo "cross: fetching Debian's arm64 $(AARCH64_DEBS) into $(AARCH64_SYSROOT)"
	@cross/fetch_sysroot.sh $(AARCH64_SYSROOT) $(AARCH64_DEBS)
	@touch $@
