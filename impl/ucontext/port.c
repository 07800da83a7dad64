/*
 * ucontext — each greenlet runs on its own mmap'd stack (guard gap below it, recycled
 * through mechanism/stack.c's pool, as asm_separate); a switch is POSIX swapcontext().
 *
 * The portable strategy has an honest cost: glibc's swapcontext saves and restores the
 * signal mask, one rt_sigprocmask system call per switch. That is what this port
 * measures; it does not work around it.
 */
#include <stdint.h>
#include <ucontext.h>
#include "port.h"
#include "stack.h"

typedef struct uc_ctx {
    gl__fiber fiber;
    ucontext_t uc; /* holds a pointer into itself (fpregs): never moved */
} uc_ctx;

const size_t gl__port_ctx_size = sizeof(uc_ctx);

const gl_port_info gl__port_info = {
    .name = "ucontext",
    .mechanism = "separate mmap'd stacks with a guard gap; getcontext/makecontext/swapcontext",
    .min_stack_size = 16 * 1024,
    .max_stack_size = (size_t)1 << 30,
    .default_stack_size = 256 * 1024,
    .caps = GL_CAP_SEPARATE_STACKS | GL_CAP_GUARD_PAGE | GL_CAP_GUARD_CANARY,
};

static inline uc_ctx *ctx(gl_greenlet *g) { return gl__port_ctx(g); }

int gl__port_init_main(gl_greenlet *main)
{
    (void)main; /* the thread's own stack; swapcontext fills its context when it leaves */
    return GL_OK;
}

void gl__port_exit_main(gl_greenlet *main) { (void)main; }

/* makecontext passes only ints: the greenlet pointer arrives as two 32-bit halves. */
static void first_entry(int hi, int lo)
{
    uintptr_t p = ((uintptr_t)(unsigned)hi << 16 << 16) | (uintptr_t)(unsigned)lo;
    gl_greenlet *g = (gl_greenlet *)p;
    gl__fiber_arrive(&ctx(g)->fiber);
    gl__entry(g);
}

int gl__port_prepare(gl_greenlet *g, size_t stack_size)
{
    uc_ctx *c = ctx(g);
    int rc = gl__stack_alloc(&c->fiber.stack, stack_size, g);
    if (rc != GL_OK)
        return rc;
    if (getcontext(&c->uc) != 0) {
        gl__stack_free(&c->fiber.stack);
        return GL_ENOSTACK;
    }
    c->uc.uc_stack.ss_sp = c->fiber.stack.lo;
    c->uc.uc_stack.ss_size = (size_t)((char *)c->fiber.stack.hi - (char *)c->fiber.stack.lo);
    c->uc.uc_link = NULL; /* gl__entry never returns */
    uintptr_t p = (uintptr_t)g;
    /* `<< 16 >> 16` instead of `>> 32`: well defined where uintptr_t has 32 bits too. */
    makecontext(&c->uc, (void (*)(void))first_entry, 2, (int)(unsigned)(p >> 16 >> 16),
                (int)(unsigned)(p & 0xffffffffu));
#if GL_ASAN
    /* makecontext has used uc_stack; AddressSanitizer's swapcontext interceptor would
     * wipe the whole target stack's shadow on every switch (losing the redzones of the
     * suspended frames). The fiber annotations already tell it about the stacks. */
    c->uc.uc_stack.ss_sp = NULL;
    c->uc.uc_stack.ss_size = 0;
#endif
    return GL_OK;
}

void gl__port_switch(gl_greenlet *from, gl_greenlet *to)
{
    uc_ctx *f = ctx(from), *t = ctx(to);
    gl__stack_check(&f->fiber.stack, from);
    gl__fiber_leave(&f->fiber, &t->fiber, 0);
    swapcontext(&f->uc, &t->uc);
    gl__fiber_arrive(&f->fiber);
}

void gl__port_switch_final(gl_greenlet *from, gl_greenlet *to)
{
    uc_ctx *f = ctx(from), *t = ctx(to);
    gl__stack_check(&f->fiber.stack, from);
    gl__fiber_leave(&f->fiber, &t->fiber, 1);
    setcontext(&t->uc);
    __builtin_trap(); /* setcontext returns only on failure; a finished greenlet never resumes */
}

void gl__port_release(gl_greenlet *g)
{
    gl__stack_free(&ctx(g)->fiber.stack);
}
