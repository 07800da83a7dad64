/*
 * A new port, to copy to impl/<name>/port.c. The Makefile picks up every folder under
 * impl/ on its own; `make conformance PORT=<name>` then builds the suite against it and
 * prints one line per behaviour. Read core/port.h (the contract) first; complete ports
 * to compare with: impl/asm_separate/port.c (our own register swap) and
 * impl/boost_fcontext/port.c (a third-party switch, Boost.Context's jump_fcontext).
 *
 * What is yours to write: only how the CPU gets from one greenlet to another. Values,
 * errors, parents, tracing, lifetimes and threads are the core's (core/), never yours.
 *
 * What is yours to use, in mechanism/ (include them by name, the build knows where):
 *   stack.h     gl__stack_alloc/free: a stack per greenlet, pooled, with an unmapped
 *               guard gap below it (or a canary, when the program chose
 *               gl_set_stack_guard(GL_GUARD_CANARY)); it records the guard for the
 *               overflow reporter. gl__stack_check: the canary check, to call for the
 *               leaving greenlet on every switch. gl__fiber_leave/arrive: the
 *               AddressSanitizer fiber annotations around every switch.
 *   switch.h    gl__ctx_switch/gl__ctx_make: the register swap of
 *               mechanism/arch/switch_<arch>_<abi>.S (one file per ABI), and
 *               gl__ctx_frame_regs, its saved frame as a debugger reads it.
 *   overflow.h  the overflow reporter (the core installs it; you need not call it).
 * Libraries your mechanism links: impl/<name>/port.mk, e.g.
 *   PORT_LDLIBS_<name> := -lboost_context
 *
 * What the suite expects of guard pages, if you claim GL_CAP_GUARD_PAGE in .caps:
 *   - a greenlet that recurses past the bottom of its stack with 1 KiB frames faults in
 *     the guard range recorded for it (at least a page right below the stack: an
 *     unmapped gap, or PROT_NONE pages), and the process dies of SIGSEGV after the
 *     reporter printed "stack overflow in greenlet ..." (release build; under
 *     AddressSanitizer, ASan reports it);
 *   - N guarded stacks cost about N memory maps (vm.max_map_count bounds the count:
 *     a PROT_NONE page beside a stack is a second map), and no later mmap lands in a gap.
 * gl__stack_alloc keeps all of these. Claim GL_CAP_GUARD_CANARY only if your switch
 * calls gl__stack_check(); a port without stacks of its own (stack copying) claims
 * neither, and the suite skips those cases, saying why.
 * Optional: `const gl__port_debug gl__port_debug_info` (core/port.h) says where a
 * suspended greenlet's registers are, for gdb's `greenlet bt`.
 */
#include "port.h"
#include "stack.h"

typedef struct my_ctx {
    gl__fiber fiber; /* the stack (and ASan's view of it) */
    void *saved_sp;  /* whatever your mechanism needs to resume a suspended greenlet */
} my_ctx;

const size_t gl__port_ctx_size = sizeof(my_ctx);

const gl_port_info gl__port_info = {
    .name = "my_port",                      /* = the folder name */
    .mechanism = "one line: how a switch works",
    .min_stack_size = GL__STACK_MIN_SIZE, /* mechanism/stack.h; 0 and 0: any size */
    .max_stack_size = GL__STACK_MAX_SIZE,
    .default_stack_size = 256 * 1024,
    .caps = GL_CAP_SEPARATE_STACKS | GL__STACK_GUARDS,
};

static inline my_ctx *ctx(gl_greenlet *g) { return gl__port_ctx(g); }

int gl__port_init_main(gl_greenlet *main)
{
    /* The thread's own code becomes a greenlet: record what switching back needs
     * (often nothing: the first switch away saves it). */
    (void)main;
    return GL_OK;
}

void gl__port_exit_main(gl_greenlet *main) { (void)main; }

int gl__port_prepare(gl_greenlet *g, size_t stack_size)
{
    /* Arrange that the first gl__port_switch() into g calls gl__entry(g) on g's own
     * context (after gl__fiber_arrive). Return GL_ENOSTACK / GL_ENOMEM when the
     * resources cannot be had. */
    int rc = gl__stack_alloc(&ctx(g)->fiber.stack, stack_size, g);
    if (rc != GL_OK)
        return rc;
    return GL_ENOSTACK; /* replace: lay out the first frame on ctx(g)->fiber.stack */
}

void gl__port_switch(gl_greenlet *from, gl_greenlet *to)
{
    /* Save `from`, resume `to`; return when something switches back to `from`. */
    my_ctx *f = ctx(from), *t = ctx(to);
    gl__stack_check(&f->fiber.stack, from);
    gl__fiber_leave(&f->fiber, &t->fiber, 0);
    /* ... your switch ... */
    gl__fiber_arrive(&f->fiber);
}

void gl__port_switch_final(gl_greenlet *from, gl_greenlet *to)
{
    /* `from` is finished: resume `to`, never come back. */
    my_ctx *f = ctx(from), *t = ctx(to);
    gl__stack_check(&f->fiber.stack, from);
    gl__fiber_leave(&f->fiber, &t->fiber, 1);
    /* ... your switch ... */
    __builtin_trap();
}

void gl__port_release(gl_greenlet *g)
{
    /* Free what prepare took (an unstarted or dead greenlet, or a suspended one whose
     * thread has exited). */
    gl__stack_free(&ctx(g)->fiber.stack);
}
