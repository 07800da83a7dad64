/*
 * A new port, to copy to impl/<name>/port.c. The Makefile picks up every folder under
 * impl/ on its own; `make conformance PORT=<name>` then builds the suite against it and
 * prints one line per behaviour. Read core/port.h (the contract) and
 * impl/asm_separate/port.c (a complete port in ~90 lines) first.
 *
 * Shared pieces you can use rather than rewrite:
 *   mechanism/stack.h   gl__stack_alloc/free: mmap'd stacks with a guard page, pooled;
 *                       gl__fiber_leave/arrive: the AddressSanitizer fiber annotations;
 *   mechanism/switch.h  gl__ctx_switch/gl__ctx_make: the register swap of
 *                       mechanism/arch/switch_<arch>_<abi>.S, and gl__ctx_frame_regs,
 *                       its saved frame as a debugger reads it.
 * Optional: `const gl__port_debug gl__port_debug_info` (core/port.h) says where a
 * suspended greenlet's registers are, for gdb's `greenlet bt`.
 */
#include "port.h"

typedef struct my_ctx {
    void *saved_sp; /* whatever your mechanism needs per greenlet */
} my_ctx;

const size_t gl__port_ctx_size = sizeof(my_ctx);

const gl_port_info gl__port_info = {
    .name = "my_port",                      /* = the folder name */
    .mechanism = "one line: how a switch works",
    .min_stack_size = 16 * 1024,            /* 0 and 0: any size accepted */
    .max_stack_size = (size_t)1 << 30,
    .default_stack_size = 256 * 1024,
    .separate_stacks = 1,                   /* 0 for stack copying */
};

int gl__port_init_main(gl_greenlet *main)
{
    /* The thread's own code becomes a greenlet: record what switching back needs. */
    (void)main;
    return GL_OK;
}

void gl__port_exit_main(gl_greenlet *main) { (void)main; }

int gl__port_prepare(gl_greenlet *g, size_t stack_size)
{
    /* Arrange that the first gl__port_switch() into g calls gl__entry(g) on g's own
     * context. Return GL_ENOSTACK / GL_ENOMEM when the resources cannot be had. */
    (void)g, (void)stack_size;
    return GL_ENOSTACK;
}

void gl__port_switch(gl_greenlet *from, gl_greenlet *to)
{
    /* Save `from`, resume `to`; return when something switches back to `from`. */
    (void)from, (void)to;
}

void gl__port_switch_final(gl_greenlet *from, gl_greenlet *to)
{
    /* `from` is finished: resume `to`, never come back. */
    (void)from, (void)to;
    __builtin_trap();
}

void gl__port_release(gl_greenlet *g)
{
    /* Free what prepare took (an unstarted or dead greenlet, or a suspended one whose
     * thread has exited). */
    (void)g;
}
