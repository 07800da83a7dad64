/*
 * switch.h — the register swaps of mechanism/arch/switch_<arch>_<abi>.S, one file per
 * ABI (the Makefile picks the one for the build's architecture). The saved frame's
 * layout is drawn at the top of each file.
 */
#ifndef GL_SWITCH_H
#define GL_SWITCH_H

/* Save callee-saved registers and the FPU control words on the current stack, store the
 * stack pointer in *save_sp, load new_sp, restore the registers saved there and continue
 * where that context left off. Returns `arg` of the switch that resumed us. */
void *gl__ctx_switch(void **save_sp, void *new_sp, void *arg);

/* Lay out a first frame at the top of a stack so that switching to the returned stack
 * pointer calls fn(fn_arg) on that stack. fn must never return. */
void *gl__ctx_make(void *stack_top, void (*fn)(void *), void *fn_arg);

/* The stack-copying switch (stackcopy port): push the same frame as gl__ctx_switch,
 * call sp = save(sp, arg) on the current stack, move there, call sp = restore(arg)
 * below it, then pop the frame at that sp (as gl__ctx_switch does). */
void gl__ctx_switch_copy(void *arg, void *(*save)(void *sp, void *arg),
                         void *(*restore)(void *arg));

/* The saved frame as a debugger reads it (a port's gl__port_debug_info points here):
 * where each register of the layout drawn in the .S file lies, from the saved stack
 * pointer; ends with a NULL name. mechanism/frame_debug.c; keep it in step with the
 * .S file. */
#include "port.h"
extern const gl__debug_reg gl__ctx_frame_regs[];

#endif /* GL_SWITCH_H */
