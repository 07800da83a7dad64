/*
 * boost_fcontext — each greenlet runs on its own mmap'd stack (mechanism/stack.c: guard
 * gap below it, pooled), and a switch is Boost.Context's jump_fcontext (Debian's
 * libboost-context 1.74, linked statically): the industry's reference switch under the
 * same greenlet bookkeeping as asm_separate.
 *
 * fcontext's contract (mechanism/fcontext.h): jump_fcontext hands the resumed side the
 * context just left, and the leaving side does not learn it. So the leaving greenlet
 * passes a hop {itself, the target} as `data`, and whoever resumes stores the context
 * in the leaving greenlet's record: that is where the next switch back to it jumps. A
 * first entry learns from the same hop which greenlet it is.
 */
#include <stddef.h>
#include "fcontext.h"
#include "port.h"
#include "stack.h"
#include "switch.h"

typedef struct fc_ctx {
    gl__fiber fiber;
    fcontext_t fctx; /* where a switch to it jumps, while it is suspended or unstarted */
} fc_ctx;

/* What travels as `data`: the side that left (its fctx is the transfer's), and the
 * greenlet being started (first entry only). NULL `from`: it ended, nothing to keep. */
typedef struct fc_hop {
    fc_ctx *from;
    gl_greenlet *to;
} fc_hop;

const size_t gl__port_ctx_size = sizeof(fc_ctx);

const gl_port_info gl__port_info = {
    .name = "boost_fcontext",
    .mechanism = "separate mmap'd stacks with a guard gap; Boost.Context jump_fcontext",
    .min_stack_size = GL__STACK_MIN_SIZE,
    .max_stack_size = GL__STACK_MAX_SIZE,
    .default_stack_size = 256 * 1024,
    .caps = GL_CAP_SEPARATE_STACKS | GL__STACK_GUARDS,
};

#if defined(__x86_64__)
/* On x86-64, Boost 1.74's jump_fcontext saves the frame mechanism/arch's switch saves
 * (MXCSR and x87 control word, r12-r15, rbx, rbp, then the return address: its
 * disassembly matches the drawing in switch_x86_64_sysv.S), so gdb's `greenlet bt` reads
 * a suspended greenlet's registers from its fctx the same way. */
const gl__port_debug gl__port_debug_info = {
    .kind = GL__DEBUG_REGS,
    .base_indirect = 1,
    .base_offset = offsetof(fc_ctx, fctx),
    .regs = gl__ctx_frame_regs,
    .note = "a suspended greenlet's registers are in the frame jump_fcontext pushed on its "
            "own stack",
};
#endif

static inline fc_ctx *ctx(gl_greenlet *g) { return gl__port_ctx(g); }

/* Runs first on the greenlet that was resumed: remember where the one that left stopped. */
static inline void arrived(transfer_t t)
{
    const fc_hop *hop = t.data;
    if (hop->from)
        hop->from->fctx = t.fctx;
}

int gl__port_init_main(gl_greenlet *main)
{
    (void)main; /* the thread's own stack: its fctx arrives with the first switch away */
    return GL_OK;
}

void gl__port_exit_main(gl_greenlet *main) { (void)main; }

static void first_entry(transfer_t t)
{
    /* Boost's trampoline, which called this, has no unwind information: backtraces end
     * here (this frame never returns), as at mechanism/arch's trampoline. */
#if defined(__x86_64__)
    __asm__ volatile(".cfi_undefined rip");
#elif defined(__aarch64__)
    __asm__ volatile(".cfi_undefined x30");
#endif
    gl_greenlet *self = ((const fc_hop *)t.data)->to;
    arrived(t);
    gl__fiber_arrive(&ctx(self)->fiber);
    gl__entry(self);
}

int gl__port_prepare(gl_greenlet *g, size_t stack_size)
{
    fc_ctx *c = ctx(g);
    int rc = gl__stack_alloc(&c->fiber.stack, stack_size, g);
    if (rc != GL_OK)
        return rc;
    const gl__stack *s = &c->fiber.stack;
    c->fctx = make_fcontext(s->hi, (size_t)((char *)s->hi - (char *)s->lo), first_entry);
    return GL_OK;
}

void gl__port_switch(gl_greenlet *from, gl_greenlet *to)
{
    fc_ctx *f = ctx(from), *t = ctx(to);
    fc_hop hop = {f, to};
    gl__stack_check(&f->fiber.stack, from);
    gl__fiber_leave(&f->fiber, &t->fiber, 0);
    arrived(jump_fcontext(t->fctx, &hop));
    gl__fiber_arrive(&f->fiber);
}

void gl__port_switch_final(gl_greenlet *from, gl_greenlet *to)
{
    fc_ctx *f = ctx(from), *t = ctx(to);
    fc_hop hop = {NULL, to};
    gl__stack_check(&f->fiber.stack, from);
    gl__fiber_leave(&f->fiber, &t->fiber, 1);
    jump_fcontext(t->fctx, &hop);
    __builtin_trap(); /* a finished greenlet is never resumed */
}

void gl__port_release(gl_greenlet *g)
{
    gl__stack_free(&ctx(g)->fiber.stack);
}
