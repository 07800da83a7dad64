/*
 * boost_fcontext — each greenlet runs on its own mmap'd stack (mechanism/stack.c: guard
 * gap below it, pooled), and a switch is Boost.Context's jump_fcontext (Debian's
 * libboost-context 1.74, linked statically): the industry's reference switch under the
 * same greenlet bookkeeping as asm_separate.
 *
 * fcontext's contract, from boost/context/detail/fcontext.hpp (1.74), declared here
 * in C (the functions are extern "C"):
 *   make_fcontext(sp, size, fn)  lays out a context at the top `sp` of a stack of
 *                                `size` bytes (growing down); jumping to it runs fn.
 *   jump_fcontext(to, data)      saves the running context on its own stack and resumes
 *                                `to`. The resumed side receives a transfer_t: `fctx`,
 *                                the context just left (the only handle to it: the
 *                                leaving side does not learn it), and `data`.
 *   fn(transfer_t)               the first resumption; fn must never return (1.74 calls
 *                                _exit(0) if it does).
 * So the leaving greenlet passes its own record as `data`, and whoever resumes stores
 * `fctx` there: that is where the next switch back to it jumps. A first entry also
 * needs to know which greenlet it is: the hop below carries both ends.
 */
#include <stddef.h>
#include "port.h"
#include "stack.h"

typedef void *fcontext_t;
typedef struct transfer_t {
    fcontext_t fctx;
    void *data;
} transfer_t;
extern transfer_t jump_fcontext(fcontext_t const to, void *vp);
extern fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

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
    .min_stack_size = 16 * 1024,
    .max_stack_size = (size_t)1 << 30,
    .default_stack_size = 256 * 1024,
    .caps = GL_CAP_SEPARATE_STACKS | GL_CAP_GUARD_PAGE | GL_CAP_GUARD_CANARY,
};

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
