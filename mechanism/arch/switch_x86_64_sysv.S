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
 */
    .text

/* The saved frame (layout above): pushed by every switch on leaving, popped on resuming. */
.macro PUSH_FRAME
    leaq    -0x38(%rsp), %rsp
    .cfi_adjust_cfa_offset 0x38
    stmxcsr (%rsp)
    fnstcw  0x4(%rsp)
    movq    %r12, 0x08(%rsp)
    movq    %r13, 0x10(%rsp)
    movq    %r14, 0x18(%rsp)
    movq    %r15, 0x20(%rsp)
    movq    %rbx, 0x28(%rsp)
    movq    %rbp, 0x30(%rsp)
.endm

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
.endm

    .globl  gl__ctx_switch
    .type   gl__ctx_switch, @function
    .p2align 4
gl__ctx_switch:
    .cfi_startproc
    PUSH_FRAME

    movq    %rsp, (%rdi)
    movq    %rsi, %rsp

    POP_FRAME
    movq    %rdx, %rax
    ret
    .cfi_endproc
    .size   gl__ctx_switch, .-gl__ctx_switch

    .globl  gl__ctx_make
    .type   gl__ctx_make, @function
    .p2align 4
gl__ctx_make:
    .cfi_startproc
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
    leaq    gl__ctx_trampoline(%rip), %rcx
    movq    %rcx, 0x38(%rax)
    ret
    .cfi_endproc
    .size   gl__ctx_make, .-gl__ctx_make

    .type   gl__ctx_trampoline, @function
    .p2align 4
gl__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip              /* outermost frame: debuggers stop here */
    movq    %r13, %rdi
    callq   *%r12
    ud2                             /* fn must not return */
    .cfi_endproc
    .size   gl__ctx_trampoline, .-gl__ctx_trampoline

    .globl  gl__ctx_switch_copy
    .type   gl__ctx_switch_copy, @function
    .p2align 4
gl__ctx_switch_copy:
    .cfi_startproc
    PUSH_FRAME                      /* the same frame as gl__ctx_switch */

    movq    %rdi, %r12              /* arg */
    movq    %rdx, %r13              /* restore */
    movq    %rsi, %rax
    movq    %rsp, %rdi
    movq    %r12, %rsi
    callq   *%rax                   /* save(sp, arg) */
    movq    %rax, %rsp
    movq    %r12, %rdi
    callq   *%r13                   /* restore(arg) */
    movq    %rax, %rsp

    POP_FRAME
    ret                             /* as gl__ctx_switch: keeps return prediction in step */
    .cfi_endproc
    .size   gl__ctx_switch_copy, .-gl__ctx_switch_copy

    .section .note.GNU-stack, "", @progbits
