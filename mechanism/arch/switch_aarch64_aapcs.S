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
 * A fresh frame from gl__ctx_make has x19 = fn, x20 = fn_arg and x30 pointing into
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
 *
 * Unwind information (CFI), right at every instruction (the same rules as the x86-64
 * file, whose header explains them): CFA = sp + 0xb0 from the push on, each register
 * saved in the frame once stored; the stack-pointer load keeps the rules (one layout
 * for every frame: they describe the greenlet being resumed); gl__ctx_switch_copy's
 * return address is undefined while restore() rebuilds the target's frame;
 * gl__ctx_trampoline is outermost (x30 undefined), entered after its first
 * instruction, a nop, so that a return address minus one is inside it. The gdb check
 * proves them by execution, as for the x86-64 file (here under qemu-user, with
 * gdb-multiarch attached to its gdb stub).
 *
 * Branch protection: with -mbranch-protection=bti the entry points start with
 * `bti c` and a GNU property note says BTI (and PAC when pac-ret is on: the switch
 * never signs x30, it moves plain return addresses), so the linked program keeps its
 * marking. The trampoline is entered by `ret`, which BTI does not check. The symbols
 * are hidden: internal to the library.
 */
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define BTI_C bti c
#define PROPERTY_BTI 1
#else
#define BTI_C
#define PROPERTY_BTI 0
#endif
#if defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT
#define PROPERTY_PAC 2
#else
#define PROPERTY_PAC 0
#endif

    .text

/* The saved frame (layout above): pushed by every switch on leaving, popped on resuming. */
.macro PUSH_FRAME
    sub     sp, sp, #0xb0
    .cfi_adjust_cfa_offset 0xb0
    stp     d8,  d9,  [sp, #0x00]
    .cfi_rel_offset d8, 0x00
    .cfi_rel_offset d9, 0x08
    stp     d10, d11, [sp, #0x10]
    .cfi_rel_offset d10, 0x10
    .cfi_rel_offset d11, 0x18
    stp     d12, d13, [sp, #0x20]
    .cfi_rel_offset d12, 0x20
    .cfi_rel_offset d13, 0x28
    stp     d14, d15, [sp, #0x30]
    .cfi_rel_offset d14, 0x30
    .cfi_rel_offset d15, 0x38
    stp     x19, x20, [sp, #0x40]
    .cfi_rel_offset x19, 0x40
    .cfi_rel_offset x20, 0x48
    stp     x21, x22, [sp, #0x50]
    .cfi_rel_offset x21, 0x50
    .cfi_rel_offset x22, 0x58
    stp     x23, x24, [sp, #0x60]
    .cfi_rel_offset x23, 0x60
    .cfi_rel_offset x24, 0x68
    stp     x25, x26, [sp, #0x70]
    .cfi_rel_offset x25, 0x70
    .cfi_rel_offset x26, 0x78
    stp     x27, x28, [sp, #0x80]
    .cfi_rel_offset x27, 0x80
    .cfi_rel_offset x28, 0x88
    stp     x29, x30, [sp, #0x90]
    .cfi_rel_offset x29, 0x90
    .cfi_rel_offset x30, 0x98
    mrs     x9, fpcr
    str     x9, [sp, #0xa0]
.endm

/* The rules stay "saved in the frame" while the loads run: the frame is intact until
 * the stack pointer leaves it. */
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
    .cfi_adjust_cfa_offset -0xb0
    .cfi_restore d8
    .cfi_restore d9
    .cfi_restore d10
    .cfi_restore d11
    .cfi_restore d12
    .cfi_restore d13
    .cfi_restore d14
    .cfi_restore d15
    .cfi_restore x19
    .cfi_restore x20
    .cfi_restore x21
    .cfi_restore x22
    .cfi_restore x23
    .cfi_restore x24
    .cfi_restore x25
    .cfi_restore x26
    .cfi_restore x27
    .cfi_restore x28
    .cfi_restore x29
    .cfi_restore x30
.endm

    .globl  gl__ctx_switch
    .hidden gl__ctx_switch
    .type   gl__ctx_switch, %function
    .p2align 4
gl__ctx_switch:
    .cfi_startproc
    BTI_C
    PUSH_FRAME

    mov     x9, sp
    str     x9, [x0]
    mov     sp, x1                    /* the frame layout is the same: rules unchanged */

    POP_FRAME
    mov     x0, x2
    ret
    .cfi_endproc
    .size   gl__ctx_switch, .-gl__ctx_switch

    .globl  gl__ctx_make
    .hidden gl__ctx_make
    .type   gl__ctx_make, %function
    .p2align 4
gl__ctx_make:
    .cfi_startproc
    BTI_C
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
    adr     x9, .Ltrampoline_entry
    stp     xzr, x9,  [x0, #0x90]     /* fp = 0 ends frame walks; lr = trampoline */
    mrs     x9, fpcr                  /* a new greenlet inherits the creator's FPU modes */
    stp     x9, xzr,  [x0, #0xa0]
    ret
    .cfi_endproc
    .size   gl__ctx_make, .-gl__ctx_make

/* Entered by the `ret` of a switch (not by br/blr: BTI needs no landing pad). */
    .type   gl__ctx_trampoline, %function
    .p2align 4
gl__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30                /* outermost frame: debuggers stop here */
    nop                               /* the frame's return address - 1 lands here */
.Ltrampoline_entry:                   /* where a fresh frame returns to */
    mov     x0, x20
    blr     x19
    brk     #0                        /* fn must not return */
    .cfi_endproc
    .size   gl__ctx_trampoline, .-gl__ctx_trampoline

    .globl  gl__ctx_switch_copy
    .hidden gl__ctx_switch_copy
    .type   gl__ctx_switch_copy, %function
    .p2align 4
gl__ctx_switch_copy:
    .cfi_startproc
    BTI_C
    PUSH_FRAME                        /* the same frame as gl__ctx_switch */

    mov     x19, x0                   /* arg */
    mov     x20, x2                   /* restore */
    mov     x9, x1
    mov     x0, sp
    mov     x1, x19
    blr     x9                        /* save(sp, arg) */
    mov     sp, x0
    .cfi_remember_state
    .cfi_undefined x30                /* no whole frame until restore() has copied it */
    mov     x0, x19
    blr     x20                       /* restore(arg) */
    mov     sp, x0
    .cfi_restore_state                /* the target's frame, whole again */

    POP_FRAME
    ret
    .cfi_endproc
    .size   gl__ctx_switch_copy, .-gl__ctx_switch_copy

    .section .note.GNU-stack, "", %progbits

#if PROPERTY_BTI || PROPERTY_PAC
#include "gnu_property.h"
    GNU_PROPERTY_NOTE 0xc0000000, (PROPERTY_BTI | PROPERTY_PAC)   /* AARCH64_FEATURE_1_AND */
#endif
