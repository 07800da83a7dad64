/*
 * stack.h — separate stacks for the ports that need them (asm_separate, ucontext,
 * boost_fcontext, threads), and the AddressSanitizer fiber annotations that must
 * surround every switch between them.
 *
 * Stacks are carved from arenas: one reserved address range per stack size, cut into
 * equal slots, recycled through a pool so that create + destroy pays no system call.
 * Two ways to catch an overflow (gl_set_stack_guard, include/greenlet.h):
 *
 *   GL_GUARD_PAGE (default)          GL_GUARD_CANARY (opt-in)
 *
 *   +-----------+ <- hi              +-----------+ <- hi
 *   |  stack k  |  one mapping       |  stack k  |
 *   +-----------+ <- lo              +-----------+ <- lo
 *   |    gap    |  unmapped          |~~~zone~~~~|  one page, canary at its top
 *   +-----------+                    +-----------+
 *   | stack k-1 |  one mapping       | stack k-1 |  all slots: one mapping
 *   +-----------+                    +-----------+
 *
 * A guard gap is unmapped, not PROT_NONE: a protected page is a mapping of its own,
 * and two maps per stack would stop a process at ~32 700 stacks (vm.max_map_count
 * 65 530). An unmapped gap could be taken by a later mmap, so the arenas sit far below
 * where the kernel places mappings that ask for no address (it serves those from the
 * highest free range below mmap_base, and never comes down this far in practice):
 * see stack.c. A fault in the gap is named by the overflow reporter
 * (mechanism/overflow.c) as an overflow of the greenlet whose gap it is.
 *
 * The canary mode packs stacks side by side in one mapping per arena (the count is then
 * bounded by memory and address space); below each stack a one-page zone, never written
 * by a stack that did not overflow, holds the canary at its top, and the port checks
 * the leaving greenlet's canary on every switch (gl__stack_check: a load and a branch
 * when the mode is off). An overflow of up to about a page is found before it reaches
 * the next stack; a deeper one corrupts that stack first.
 */
#ifndef GL_STACK_H
#define GL_STACK_H

#include <stddef.h>
#include <stdint.h>
#include "greenlet.h"
#include "overflow.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define GL_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#else
#define GL_ASAN 0
#endif

/* What a port whose stacks come from here declares in its gl_port_info: the sizes
 * gl__stack_alloc takes (a stack fits in one arena's reservation) and the guards it
 * offers (gl_set_stack_guard). */
#define GL__STACK_MIN_SIZE ((size_t)16 * 1024)
#define GL__STACK_MAX_SIZE ((size_t)1 << 30)
#define GL__STACK_GUARDS (GL_CAP_GUARD_PAGE | GL_CAP_GUARD_CANARY)

struct gl__arena;

typedef struct gl__stack {
    void *lo;                 /* lowest usable byte */
    void *hi;                 /* one past the highest usable byte: the initial stack pointer */
    struct gl__arena *arena;  /* where its slot comes from (NULL: no stack, e.g. main) */
    unsigned valgrind_id;
    unsigned canary;          /* 1: a canary below lo, checked by gl__stack_check */
} gl__stack;

/* A stack of at least `size` usable bytes (rounded up to pages), with the guard chosen
 * by gl_set_stack_guard; records its guard range for `g` (gl__set_guard) so the
 * overflow reporter can name it. GL_OK, or GL_ENOSTACK with errno set by mmap. */
int gl__stack_alloc(gl__stack *s, size_t size, gl_greenlet *g);
/* Back to the pool, or to its arena (memory given back to the system). */
void gl__stack_free(gl__stack *s);

/* The canary mode's check: call it for the leaving greenlet `g` before every switch
 * away from it. The canary is the 16 bytes right below the stack, at the top of its
 * zone: they stay zero until an overflow writes them (so the canary costs no memory:
 * reading a page never written maps the kernel's shared zero page). An overflow that
 * writes only zeros there goes unseen. A broken canary is reported, naming `g`, and
 * the process aborts (mechanism/overflow.c). Out of line, and out of AddressSanitizer's
 * view: the frames of an overflow leave their redzones poisoned over the canary. */
void gl__stack_check_canary(const gl__stack *s, gl_greenlet *g);
static inline void gl__stack_check(const gl__stack *s, gl_greenlet *g)
{
    if (__builtin_expect(s->canary, 0))
        gl__stack_check_canary(s, g);
}

/* The process-wide guard mode (gl_set_stack_guard checks what the port offers). */
void gl__stack_set_guard(gl_stack_guard mode);

/* At a thread's exit (core/thread.c), back on the thread's own stack: under ASan, says
 * so to ASan and clears the poison of the dead frames below (a no-op otherwise). */
void gl__fiber_back_on_thread_stack(void);

/* Per-greenlet state for switching between separate stacks under ASan. */
typedef struct gl__fiber {
    gl__stack stack;           /* all zero for a main greenlet (the thread's own stack) */
#if GL_ASAN
    void *asan_fake_stack;
    const void *asan_bottom;   /* main: learned the first time it switches away */
    size_t asan_size;
#endif
} gl__fiber;

#if GL_ASAN
/* The fiber we are leaving, so the one we arrive in can learn a main stack's bounds. */
extern __thread gl__fiber *gl__fiber_leaving;

static inline void gl__fiber_leave(gl__fiber *from, gl__fiber *to, int final)
{
    gl__fiber_leaving = from;
    const void *bottom = to->stack.lo ? to->stack.lo : to->asan_bottom;
    size_t size = to->stack.lo ? (size_t)((char *)to->stack.hi - (char *)to->stack.lo)
                               : to->asan_size;
    __sanitizer_start_switch_fiber(final ? NULL : &from->asan_fake_stack, bottom, size);
}

static inline void gl__fiber_arrive(gl__fiber *self)
{
    const void *bottom;
    size_t size;
    __sanitizer_finish_switch_fiber(self->asan_fake_stack, &bottom, &size);
    gl__fiber *prev = gl__fiber_leaving;
    if (prev && !prev->stack.lo && !prev->asan_bottom) {
        prev->asan_bottom = bottom;
        prev->asan_size = size;
    }
}
#else
static inline void gl__fiber_leave(gl__fiber *from, gl__fiber *to, int final)
{
    (void)from, (void)to, (void)final;
}
static inline void gl__fiber_arrive(gl__fiber *self) { (void)self; }
#endif

#endif /* GL_STACK_H */
