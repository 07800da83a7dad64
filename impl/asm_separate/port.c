/*
 * asm_separate — each greenlet runs on its own mmap'd stack (an unmapped guard gap below
 * it, recycled through mechanism/stack.c's pool); a switch is the hand-written register swap
 * of mechanism/arch/switch_<arch>_<abi>.S: callee-saved registers, FPU control words and
 * the stack pointer, nothing else.
 */
#include <stddef.h>
#include "port.h"
#include "stack.h"
#include "switch.h"

typedef struct asm_ctx {
    gl__fiber fiber;
    void *sp; /* saved stack pointer while suspended */
} asm_ctx;

const size_t gl__port_ctx_size = sizeof(asm_ctx);

const gl_port_info gl__port_info = {
    .name = "asm_separate",
    .mechanism = "separate mmap'd stacks with a guard gap; assembly register swap",
    .min_stack_size = GL__STACK_MIN_SIZE,
    .max_stack_size = GL__STACK_MAX_SIZE,
    .default_stack_size = 256 * 1024,
    .caps = GL_CAP_SEPARATE_STACKS | GL__STACK_GUARDS,
};

/* A suspended greenlet's registers are in the frame its sp points at (gdb: greenlet bt). */
const gl__port_debug gl__port_debug_info = {
    .kind = GL__DEBUG_REGS,
    .base_indirect = 1,
    .base_offset = offsetof(asm_ctx, sp),
    .regs = gl__ctx_frame_regs,
    .note = "a suspended greenlet's registers are in the frame gl__ctx_switch pushed on "
            "its own stack",
};

static inline asm_ctx *ctx(gl_greenlet *g) { return gl__port_ctx(g); }

int gl__port_init_main(gl_greenlet *main)
{
    (void)main; /* the thread's own stack; its sp is stored by the first switch */
    return GL_OK;
}

void gl__port_exit_main(gl_greenlet *main) { (void)main; }

static void first_entry(void *arg)
{
    gl_greenlet *g = arg;
    gl__fiber_arrive(&ctx(g)->fiber);
    gl__entry(g);
}

int gl__port_prepare(gl_greenlet *g, size_t stack_size)
{
    asm_ctx *c = ctx(g);
    int rc = gl__stack_alloc(&c->fiber.stack, stack_size, g);
    if (rc != GL_OK)
        return rc;
    c->sp = gl__ctx_make(c->fiber.stack.hi, first_entry, g);
    return GL_OK;
}

void gl__port_switch(gl_greenlet *from, gl_greenlet *to)
{
    asm_ctx *f = ctx(from), *t = ctx(to);
    gl__stack_check(&f->fiber.stack, from);
    gl__fiber_leave(&f->fiber, &t->fiber, 0);
    gl__ctx_switch(&f->sp, t->sp, NULL);
    gl__fiber_arrive(&f->fiber);
}

void gl__port_switch_final(gl_greenlet *from, gl_greenlet *to)
{
    asm_ctx *f = ctx(from), *t = ctx(to);
    gl__stack_check(&f->fiber.stack, from);
    gl__fiber_leave(&f->fiber, &t->fiber, 1);
    gl__ctx_switch(&f->sp, t->sp, NULL);
    __builtin_trap(); /* a finished greenlet is never resumed */
}

void gl__port_release(gl_greenlet *g)
{
    gl__stack_free(&ctx(g)->fiber.stack);
}
