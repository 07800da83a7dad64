/*
 * ucontext — each greenlet runs on its own mmap'd stack (guard gap below it, recycled
 * through mechanism/stack.c's pool, as asm_separate); a switch is POSIX swapcontext().
 *
 * The portable strategy has an honest cost: glibc's swapcontext saves and restores the
 * signal mask, one rt_sigprocmask system call per switch. That is what this port
 * measures; it does not work around it.
 */
#define _GNU_SOURCE /* REG_* names of mcontext_t */
#include <stddef.h>
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
    .min_stack_size = GL__STACK_MIN_SIZE,
    .max_stack_size = GL__STACK_MAX_SIZE,
    .default_stack_size = 256 * 1024,
    .caps = GL_CAP_SEPARATE_STACKS | GL__STACK_GUARDS,
};

/* A suspended greenlet's registers are in its ucontext (gdb: greenlet bt). */
#define UC_REG(name, field) {name, (int)offsetof(uc_ctx, uc.uc_mcontext.field), 0}
static const gl__debug_reg uc_regs[] = {
#if defined(__x86_64__)
    UC_REG("rbx", gregs[REG_RBX]), UC_REG("rbp", gregs[REG_RBP]),
    UC_REG("r12", gregs[REG_R12]), UC_REG("r13", gregs[REG_R13]),
    UC_REG("r14", gregs[REG_R14]), UC_REG("r15", gregs[REG_R15]),
    UC_REG("rip", gregs[REG_RIP]), UC_REG("rsp", gregs[REG_RSP]),
#elif defined(__aarch64__)
    UC_REG("x19", regs[19]), UC_REG("x20", regs[20]), UC_REG("x21", regs[21]),
    UC_REG("x22", regs[22]), UC_REG("x23", regs[23]), UC_REG("x24", regs[24]),
    UC_REG("x25", regs[25]), UC_REG("x26", regs[26]), UC_REG("x27", regs[27]),
    /* glibc's swapcontext saves its caller's return address in the x1 slot; pc and
     * x30 point at its own resume code (which moves x1 to x30 and returns). */
    UC_REG("x28", regs[28]), UC_REG("x29", regs[29]), UC_REG("x30", regs[1]),
    UC_REG("pc", pc), UC_REG("sp", sp),
#endif
    {NULL, 0, 0},
};

const gl__port_debug gl__port_debug_info = {
    .kind = GL__DEBUG_REGS,
    .regs = uc_regs,
    .note = "a suspended greenlet's registers are in the ucontext swapcontext saved",
};

static inline uc_ctx *ctx(gl_greenlet *g) { return gl__port_ctx(g); }

int gl__port_init_main(gl_greenlet *main)
{
    (void)main; /* the thread's own stack; swapcontext fills its context when it leaves */
    return GL_OK;
}

void gl__port_exit_main(gl_greenlet *main) { (void)main; }

/* makecontext passes only ints: the greenlet pointer arrives as two 32-bit halves.
 * The outermost frame of the greenlet's stack: its return address is undefined from
 * here on, so debuggers and unwinders end the walk in it. Its caller would be glibc's
 * own makecontext trampoline (__start_context), which is entered at its first byte (so
 * a return address minus one, what unwinders look up, lands outside it) and whose
 * default unwind rules read its uc_link slot as a return address: "?? from libc", then
 * a 0x0 frame. */
static void first_entry(int hi, int lo)
{
#if defined(__x86_64__)
    __asm__(".cfi_undefined rip");
#elif defined(__aarch64__)
    __asm__(".cfi_undefined x30");
#endif
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
