# Boost.Context's fcontext (Debian libboost-context-dev), linked statically: the switch
# is then a direct call, as asm_separate's is, and the two compare mechanism to mechanism
# (through the shared library every jump_fcontext would go through the PLT).
PORT_LDLIBS_boost_fcontext := -Wl,-Bstatic -lboost_context -Wl,-Bdynamic
# Debian ships libboost_context for the host only: no AArch64 cross build of this port.
PORT_NO_AARCH64_boost_fcontext := it links libboost_context, which Debian ships for the host architecture only
