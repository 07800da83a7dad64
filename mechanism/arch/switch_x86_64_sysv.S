/*
 * switch_x86_64_sysv.S — register swap between two stacks, x86-64 System V ABI.
 *
 *   void *gl__ctx_switch(void **save_sp, void *new_sp, void *arg);   rdi, rsi, rdx
 *   void *gl__ctx_make(void *stack_top, void (*fn)(void *), void *fn_arg);
 *
 * Callee-saved state (SysV): rbx, rbp, r12-r15, the MXCSR control bits and the x87
 * control word. Everything else is the caller's to save. The saved frame, at the
 * stack pointer stored in *save_sp:
 *
 *     +0x00  MXCSR (4 bytes) | x87 control word (2 bytes) | padding (2)
 *     +0x08  r12
 *     +0x10  r13
 *     +0x18  r14
 *     +0x20  r15
 *     +0x28  rbx
 *     +0x30  rbp
 *     +0x38  return address
 *
 * Resuming ends with `ret`, not with a pop and an indirect jump (Boost.Context's
 * fcontext): every switch leaves through the one call site of gl__ctx_switch in the
 * port, so the return-stack predictor's guess is right; a pop + jmp leaves the call's
 * entry on the predictor's stack, and then every later `ret` up the greenlet's call
 * chain is predicted one entry off. Measured on the switch benchmark (greenlet
 * ping-pong, asm_separate): ~17.7 -> ~9-12 ns per switch; the bare swap with a
 * single call site is ~6 ns either way (harness: baseline_regswap).
 *
 * A fresh frame from gl__ctx_make has r12 = fn, r13 = fn_arg and returns into
 * gl__ctx_trampoline, which calls fn(fn_arg) with the stack 16-byte aligned.
 *
 *   void gl__ctx_switch_copy(void *arg, void *(*save)(void *sp, void *arg),
 *                            void *(*restore)(void *arg));             rdi, rsi, rdx
 *
 * The stack-copying switch (stackcopy port): every greenlet runs on the one thread
 * stack. Pushes the same frame as gl__ctx_switch, then
 *     sp = save(sp, arg)      still on the old stack, below the frame just pushed:
 *                             copies what the target will overwrite to the heap and
 *                             returns where the target's data ends (its lowest byte)
 *     sp = restore(arg)       runs below that point, so it can copy the target's saved
 *                             slice back above itself; returns the target's frame
 * and pops that frame (one of ours, or a fresh one from gl__ctx_make). arg and restore
 * travel in r12/r13 (already saved), never on the stack the copies overwrite.
 *
 * Unwind information (CFI), right at every instruction, so that gdb, perf and
 * sanitizers walk a greenlet's stack from anywhere in a switch:
 *   - the CFA is rsp + 0x40 from the push on; each register is described as saved in
 *     the frame once it is stored there;
 *   - the stack-pointer load keeps those rules: both frames have the one layout, so
 *     from that instruction on they describe the greenlet being resumed (its own
 *     caller, its own saved registers), as the registers about to be popped will;
 *   - in gl__ctx_switch_copy, between moving to where save() said and popping the
 *     frame restore() returned, no frame is whole on the stack (restore() is copying
 *     it): the return address is undefined there, and a backtrace ends cleanly;
 *   - gl__ctx_trampoline is the outermost frame (return address undefined). A fresh
 *     frame returns to the instruction after its first one, a nop: unwinders and
 *     debuggers look a return address minus one up, and that must be inside it.
 * The gdb check (tools/gdb/check_gdb.py, make test's check-gdb) proves them by
 * execution, for both switch files: it steps gl__ctx_make and both switches, into a
 * fresh greenlet and back into a suspended one, one instruction at a time, and at each
 * compares the caller gdb unwinds (pc, CFA, callee-saved registers) with the one the
 * execution shows. It relies on each switch reloading every callee-saved register from
 * the frame after its (last) stack-pointer load: it poisons them there.
 *
 * Intel CET: with -fcf-protection the externally called entry points start with
 * endbr64 (IBT), and the object says so in a GNU property note, so the linked program
 * keeps its IBT marking. It does not claim shadow-stack (SHSTK) compatibility: a switch
 * moves to return addresses that were not pushed by a call on the current shadow stack
 * (see the README, "Intel CET"). The symbols are hidden: internal to the library.
 */
#if defined(__CET__) && (__CET__ & 1)
#define ENDBR endbr64
#else
#define ENDBR
#endif

    .text

/* The saved frame (layout above): pushed by every switch on leaving, popped on resuming. */
.macro PUSH_FRAME
    leaq    -0x38(%rsp), %rsp
    .cfi_adjust_cfa_offset 0x38
    stmxcsr (%rsp)
    fnstcw  0x4(%rsp)
    movq    %r12, 0x08(%rsp)
    .cfi_rel_offset r12, 0x08
    movq    %r13, 0x10(%rsp)
    .cfi_rel_offset r13, 0x10
    movq    %r14, 0x18(%rsp)
    .cfi_rel_offset r14, 0x18
    movq    %r15, 0x20(%rsp)
    .cfi_rel_offset r15, 0x20
    movq    %rbx, 0x28(%rsp)
    .cfi_rel_offset rbx, 0x28
    movq    %rbp, 0x30(%rsp)
    .cfi_rel_offset rbp, 0x30
.endm

/* The rules stay "saved in the frame" while the loads run: the frame is intact until
 * the stack pointer leaves it. */
.macro POP_FRAME
    ldmxcsr (%rsp)
    fldcw   0x4(%rsp)
    movq    0x08(%rsp), %r12
    movq    0x10(%rsp), %r13
    movq    0x18(%rsp), %r14
    movq    0x20(%rsp), %r15
    movq    0x28(%rsp), %rbx
    movq    0x30(%rsp), %rbp
    leaq    0x38(%rsp), %rsp
    .cfi_adjust_cfa_offset -0x38
    .cfi_restore r12
    .cfi_restore r13
    .cfi_restore r14
    .cfi_restore r15
    .cfi_restore rbx
    .cfi_restore rbp
.endm

    .globl  gl__ctx_switch
    .hidden gl__ctx_switch
    .type   gl__ctx_switch, @function
    .p2align 4
gl__ctx_switch:
    .cfi_startproc
    ENDBR
    PUSH_FRAME

    movq    %rsp, (%rdi)
    movq    %rsi, %rsp              /* the frame layout is the same: rules unchanged */

    POP_FRAME
    movq    %rdx, %rax
    ret
    .cfi_endproc
    .size   gl__ctx_switch, .-gl__ctx_switch

    .globl  gl__ctx_make
    .hidden gl__ctx_make
    .type   gl__ctx_make, @function
    .p2align 4
gl__ctx_make:
    .cfi_startproc
    ENDBR
    andq    $-16, %rdi
    leaq    -0x40(%rdi), %rax       /* after the frame is popped, rsp == top (aligned) */
    stmxcsr (%rax)                  /* a new greenlet inherits the creator's FPU modes */
    fnstcw  0x4(%rax)
    movq    %rsi, 0x08(%rax)        /* r12 = fn */
    movq    %rdx, 0x10(%rax)        /* r13 = fn_arg */
    movq    $0, 0x18(%rax)
    movq    $0, 0x20(%rax)
    movq    $0, 0x28(%rax)
    movq    $0, 0x30(%rax)          /* rbp = 0 ends frame-pointer walks */
    leaq    .Ltrampoline_entry(%rip), %rcx
    movq    %rcx, 0x38(%rax)
    ret
    .cfi_endproc
    .size   gl__ctx_make, .-gl__ctx_make

/* Entered by the `ret` of a switch (not by an indirect jump or call: no endbr64). */
    .type   gl__ctx_trampoline, @function
    .p2align 4
gl__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip              /* outermost frame: debuggers stop here */
    nop                             /* the frame's return address - 1 lands here */
.Ltrampoline_entry:                 /* where a fresh frame returns to */
    movq    %r13, %rdi
    callq   *%r12
    ud2                             /* fn must not return */
    .cfi_endproc
    .size   gl__ctx_trampoline, .-gl__ctx_trampoline

    .globl  gl__ctx_switch_copy
    .hidden gl__ctx_switch_copy
    .type   gl__ctx_switch_copy, @function
    .p2align 4
gl__ctx_switch_copy:
    .cfi_startproc
    ENDBR
    PUSH_FRAME                      /* the same frame as gl__ctx_switch */

    movq    %rdi, %r12              /* arg */
    movq    %rdx, %r13              /* restore */
    movq    %rsi, %rax
    movq    %rsp, %rdi
    movq    %r12, %rsi
    callq   *%rax                   /* save(sp, arg) */
    movq    %rax, %rsp
    .cfi_remember_state
    .cfi_undefined rip              /* no whole frame until restore() has copied it */
    movq    %r12, %rdi
    callq   *%r13                   /* restore(arg) */
    movq    %rax, %rsp
    .cfi_restore_state              /* the target's frame, whole again */

    POP_FRAME
    ret                             /* as gl__ctx_switch: keeps return prediction in step */
    .cfi_endproc
    .size   gl__ctx_switch_copy, .-gl__ctx_switch_copy

    .section .note.GNU-stack, "", @progbits

#if defined(__CET__) && (__CET__ & 1)
#include "gnu_property.h"
    GNU_PROPERTY_NOTE 0xc0000002, 1   /* X86_FEATURE_1_AND: IBT (not SHSTK: see above) */
#endif
