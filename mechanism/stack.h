/*
 * stack.h — separate stacks for the ports that need them (asm_separate, ucontext,
 * threads): mmap'd with a PROT_NONE guard page below, recycled through a pool so that
 * create + destroy does not pay for mmap/munmap, registered with valgrind, and the
 * AddressSanitizer fiber annotations that must surround every switch between them.
 */
#ifndef GL_STACK_H
#define GL_STACK_H

#include <stddef.h>
#include "greenlet.h"

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

typedef struct gl__stack {
    void *lo;          /* lowest usable byte (just above the guard page) */
    void *hi;          /* one past the highest usable byte: the initial stack pointer */
    void *mapping;     /* the whole mapping, guard included */
    size_t map_size;
    unsigned valgrind_id;
} gl__stack;

/* A stack of at least `size` usable bytes (rounded up to pages). GL_OK, or
 * GL_ENOSTACK with errno set by mmap/mprotect. */
int gl__stack_alloc(gl__stack *s, size_t size);
/* Back to the pool (or to the system when the pool is full). */
void gl__stack_free(gl__stack *s);

/* Per-greenlet state for switching between separate stacks under ASan. */
typedef struct gl__fiber {
    gl__stack stack;           /* all zero for a main greenlet (the thread's own stack) */
    void *asan_fake_stack;
    const void *asan_bottom;   /* main: learned the first time it switches away */
    size_t asan_size;
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
