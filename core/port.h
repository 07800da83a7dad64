/*
 * port.h — the seam between the core (greenlet semantics, written once) and a port
 * (one switching mechanism). A port is impl/<name>/ and implements exactly the
 * functions declared here; nothing else in the tree knows which port it is linked with.
 *
 * Contract
 *   - Each greenlet has `gl__port_ctx_size` bytes of port state, zeroed, aligned to 16,
 *     reachable with gl__port_ctx(g). The core allocates it with the greenlet.
 *   - The core decides *what* happens on a switch (who runs next, the value or error in
 *     flight, the parent walk, tracing); the port only moves the CPU from one greenlet
 *     to another. All values travel through core state, never through the port.
 *   - The first switch into a prepared greenlet must run gl__entry(g) on that greenlet's
 *     own context. gl__entry never returns: it ends with gl__port_switch_final().
 *   - A port whose greenlets run on other OS threads calls gl__thread_adopt() in each
 *     such thread before gl__entry(), so that the core's per-thread state follows the
 *     logical thread, not the OS thread.
 *   - Ports with guard pages record them with gl__set_guard() so the overflow reporter
 *     (mechanism/overflow.c) can name a stack overflow.
 *   - mechanism/ holds the pieces a mechanism may use instead of writing its own:
 *     guard-paged stacks and the ASan fiber annotations (stack.h), the register swaps
 *     per ABI (switch.h, arch/), the overflow reporter.
 */
#ifndef GL_PORT_H
#define GL_PORT_H

#include <stddef.h>
#include "greenlet.h"

typedef struct gl__thread gl__thread;

/* Facts reported by gl_port(); defined by the port. */
extern const gl_port_info gl__port_info;
/* Bytes of per-greenlet port state (may be 0). */
extern const size_t gl__port_ctx_size;

/* A thread's main greenlet is being created: `main` is the code already running on
 * the thread's own stack. Record what a later switch back to it needs. */
int gl__port_init_main(gl_greenlet *main);

/* The thread owning `main` is exiting (its main greenlet is the current one). */
void gl__port_exit_main(gl_greenlet *main);

/* Make `g` runnable: the first gl__port_switch() into it must call gl__entry(g).
 * `stack_size` is already checked against gl__port_info's limits.
 * Returns GL_OK, GL_ENOMEM, GL_ENOSTACK. */
int gl__port_prepare(gl_greenlet *g, size_t stack_size);

/* Suspend `from` (the running greenlet) and resume `to` (prepared or suspended).
 * Returns when some greenlet switches back to `from`; or at once, without switching,
 * after calling gl__port_switch_refused() (out of memory, no OS thread). */
void gl__port_switch(gl_greenlet *from, gl_greenlet *to);

/* `from` has finished and will never run again: resume `to` and forget `from`'s
 * context. Its stack may still be in use until `to` runs; the core calls
 * gl__port_release(from) later, from another greenlet. */
__attribute__((noreturn)) void gl__port_switch_final(gl_greenlet *from, gl_greenlet *to);

/* Give back what gl__port_prepare() took. Called once, for an unstarted greenlet, a
 * dead one, or a suspended one whose owning thread has exited (it will never run
 * again: free its context without running any of its code). Never for the running
 * greenlet or a main greenlet. */
void gl__port_release(gl_greenlet *g);

/* ---- provided by the core, for ports ------------------------------------------- */

/* Body of every greenlet; never returns. */
__attribute__((noreturn)) void gl__entry(gl_greenlet *g);

/* This OS thread now runs greenlets of logical thread `t` (threads port). */
void gl__thread_adopt(gl__thread *t);

/* The logical thread the calling OS thread runs greenlets of (NULL if none yet): what a
 * threads port hands to gl__thread_adopt() in a greenlet's own OS thread. */
gl__thread *gl__thread_peek(void);

/* The port state of `g`: gl__port_ctx_size bytes just below the core's greenlet
 * record, in the same allocation (inline: it is on every switch's path). */
#define GL__PORT_CTX_SPAN(size) (((size) + 15) & ~(size_t)15)
static inline void *gl__port_ctx(gl_greenlet *g)
{
    return (char *)g - GL__PORT_CTX_SPAN(gl__port_ctx_size);
}

/* Called by a gl__port_switch() that cannot switch (stackcopy: no memory to save a
 * stack slice; threads: no OS thread for a first switch), before it returns without
 * switching: the switch then fails with `code` (GL_ENOMEM, GL_ENOSTACK) and the
 * message, and `from` goes on running as if it had not been asked. */
void gl__port_switch_refused(gl_greenlet *from, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The greenlet's recorded stack guard range, for overflow reports. */
void gl__set_guard(gl_greenlet *g, void *lo, void *hi);

/* ---- for debuggers --------------------------------------------------------------- */

/* Where a suspended greenlet's registers are, for the gdb extension (tools/gdb/
 * switchyard.py, `greenlet bt`). A port describes its own context in these terms, so
 * that the debugger never needs to know which port it looks at. Optional: without
 * gl__port_debug_info the debugger lists greenlets but does not backtrace suspended
 * ones. Nothing in the program reads it. */
typedef struct gl__debug_reg {
    const char *name;  /* as gdb names the register: "rip", "rsp", "x19", "pc", "sp" */
    int offset;        /* from the context's base */
    int is_address;    /* 1: the register's value is base + offset (a stack pointer);
                          0: the value is stored at base + offset */
} gl__debug_reg;

enum {
    GL__DEBUG_REGS = 1,   /* registers saved in memory, as regs[] says: a debugger can
                             unwind the greenlet's own stack from them */
    GL__DEBUG_COPIED = 2, /* the same, on a stack that is partly copied away (stack
                             copying): the bytes [base, base + *copied) are at *copy */
    GL__DEBUG_THREAD = 3  /* each greenlet is an OS thread: a pthread_t at thread_offset */
};

typedef struct gl__port_debug {
    int kind;                   /* GL__DEBUG_* */
    int base_indirect;          /* base = *(void **)(ctx + base_offset) if 1, else
                                   ctx + base_offset (ctx = gl__port_ctx(g)) */
    size_t base_offset;
    const gl__debug_reg *regs;  /* ends with a NULL name */
    size_t copy_offset;         /* GL__DEBUG_COPIED: a `void *` and a `size_t` in ctx */
    size_t copied_offset;
    size_t thread_offset;       /* GL__DEBUG_THREAD: a pthread_t in ctx */
    const char *note;           /* one sentence: what a debugger can show, what not */
} gl__port_debug;

extern const gl__port_debug gl__port_debug_info;

/* For the overflow reporter (mechanism/overflow.c), from a signal handler: the greenlet
 * running on the calling OS thread and its guard range ([*lo, *hi), both NULL if it has
 * none); NULL if this thread runs none. Allocates nothing, takes no lock. */
gl_greenlet *gl__running_guard(void **lo, void **hi);

#endif /* GL_PORT_H */
