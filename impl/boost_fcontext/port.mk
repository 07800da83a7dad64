# Boost.Context's fcontext (Debian libboost-context-dev), linked statically: the switch
# is then a direct call, as asm_separate's is, and the two compare mechanism to mechanism
# (through the shared library every jump_fcontext would go through the PLT).
PORT_LDLIBS_boost_fcontext := -l:libboost_context.a
# The AArch64 cross build links Debian's arm64 libboost_context.a, unpacked into the
# cross sysroot (cross/build.mk) with the hub's loops: the versioned package the host's
# libboost-context-dev depends on (a metapackage: it has no files of its own).
AARCH64_DEBS += $(or $(firstword $(shell dpkg-query -W -f='$${Depends}' libboost-context-dev 2>/dev/null)),libboost-context1.74-dev)
