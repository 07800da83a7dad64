# Boost.Context's fcontext (Debian libboost-context-dev), linked statically: the switch
# is then a direct call, as asm_separate's is, and the two compare mechanism to mechanism
# (through the shared library every jump_fcontext would go through the PLT).
PORT_LDLIBS_boost_fcontext := -Wl,-Bstatic -lboost_context -Wl,-Bdynamic
