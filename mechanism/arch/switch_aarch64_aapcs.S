/*
 * switch_aarch64_aapcs.S — register swap between two stacks, AArch64 AAPCS64.
 *
 *   void *gl__ctx_switch(void **save_sp, void *new_sp, void *arg);   x0, x1, x2
 *   void *gl__ctx_make(void *stack_top, void (*fn)(void *), void *fn_arg);
 *
 * Callee-saved state: x19-x28, fp (x29), lr (x30), the low 64 bits of v8-v15
 * (d8-d15), and FPCR. The saved frame, at the stack pointer stored in *save_sp
 * (0xb0 bytes, keeps sp 16-byte aligned):
 *
 *     +0x00  d8  d9       +0x40  x19 x20      +0x80  x27 x28
 *     +0x10  d10 d11      +0x50  x21 x22      +0x90  x29 x30 (resume address)
 *     +0x20  d12 d13      +0x60  x23 x24      +0xa0  FPCR, padding
 *     +0x30  d14 d15      +0x70  x25 x26
 *
 * A fresh frame from gl__ctx_make has x19 = fn, x20 = fn_arg and x30 pointing at
 * gl__ctx_trampoline, which calls fn(fn_arg).
 *
 *   void gl__ctx_switch_copy(void *arg, void *(*save)(void *sp, void *arg),
 *                            void *(*restore)(void *arg));             x0, x1, x2
 *
 * The stack-copying switch (stackcopy port): every greenlet runs on the one thread
 * stack. Pushes the same frame as gl__ctx_switch, then
 *     sp = save(sp, arg)      still on the old stack, below the frame just pushed:
 *                             copies what the target will overwrite to the heap and
 *                             returns where the target's data ends (its lowest byte)
 *     sp = restore(arg)       runs below that point, so it can copy the target's saved
 *                             slice back above itself; returns the target's frame
 * and pops that frame (one of ours, or a fresh one from gl__ctx_make). arg and restore
 * travel in x19/x20 (already saved), never on the stack the copies overwrite.
 */
    .text

/* The saved frame (layout above): pushed by every switch on leaving, popped on resuming. */
.macro PUSH_FRAME
    sub     sp, sp, #0xb0
    stp     d8,  d9,  [sp, #0x00]
    stp     d10, d11, [sp, #0x10]
    stp     d12, d13, [sp, #0x20]
    stp     d14, d15, [sp, #0x30]
    stp     x19, x20, [sp, #0x40]
    stp     x21, x22, [sp, #0x50]
    stp     x23, x24, [sp, #0x60]
    stp     x25, x26, [sp, #0x70]
    stp     x27, x28, [sp, #0x80]
    stp     x29, x30, [sp, #0x90]
    mrs     x9, fpcr
    str     x9, [sp, #0xa0]
.endm

.macro POP_FRAME
    ldp     d8,  d9,  [sp, #0x00]
    ldp     d10, d11, [sp, #0x10]
    ldp     d12, d13, [sp, #0x20]
    ldp     d14, d15, [sp, #0x30]
    ldp     x19, x20, [sp, #0x40]
    ldp     x21, x22, [sp, #0x50]
    ldp     x23, x24, [sp, #0x60]
    ldp     x25, x26, [sp, #0x70]
    ldp     x27, x28, [sp, #0x80]
    ldp     x29, x30, [sp, #0x90]
    ldr     x9, [sp, #0xa0]
    msr     fpcr, x9
    add     sp, sp, #0xb0
.endm

    .globl  gl__ctx_switch
    .type   gl__ctx_switch, %function
    .p2align 4
gl__ctx_switch:
    PUSH_FRAME

    mov     x9, sp
    str     x9, [x0]
    mov     sp, x1

    POP_FRAME
    mov     x0, x2
    ret
    .size   gl__ctx_switch, .-gl__ctx_switch

    .globl  gl__ctx_make
    .type   gl__ctx_make, %function
    .p2align 4
gl__ctx_make:
    and     x0, x0, #~15
    sub     x0, x0, #0xb0
    stp     xzr, xzr, [x0, #0x00]
    stp     xzr, xzr, [x0, #0x10]
    stp     xzr, xzr, [x0, #0x20]
    stp     xzr, xzr, [x0, #0x30]
    stp     x1,  x2,  [x0, #0x40]     /* x19 = fn, x20 = fn_arg */
    stp     xzr, xzr, [x0, #0x50]
    stp     xzr, xzr, [x0, #0x60]
    stp     xzr, xzr, [x0, #0x70]
    stp     xzr, xzr, [x0, #0x80]
    adr     x9, gl__ctx_trampoline
    stp     xzr, x9,  [x0, #0x90]     /* fp = 0 ends frame walks; lr = trampoline */
    mrs     x9, fpcr                  /* a new greenlet inherits the creator's FPU modes */
    stp     x9, xzr,  [x0, #0xa0]
    ret
    .size   gl__ctx_make, .-gl__ctx_make

    .type   gl__ctx_trampoline, %function
    .p2align 4
gl__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov     x0, x20
    blr     x19
    brk     #0                        /* fn must not return */
    .cfi_endproc
    .size   gl__ctx_trampoline, .-gl__ctx_trampoline

    .globl  gl__ctx_switch_copy
    .type   gl__ctx_switch_copy, %function
    .p2align 4
gl__ctx_switch_copy:
    PUSH_FRAME                      /* the same frame as gl__ctx_switch */

    mov     x19, x0                   /* arg */
    mov     x20, x2                   /* restore */
    mov     x9, x1
    mov     x0, sp
    mov     x1, x19
    blr     x9                        /* save(sp, arg) */
    mov     sp, x0
    mov     x0, x19
    blr     x20                       /* restore(arg) */
    mov     sp, x0

    POP_FRAME
    ret
    .size   gl__ctx_switch_copy, .-gl__ctx_switch_copy

    .section .note.GNU-stack, "", %progbits
