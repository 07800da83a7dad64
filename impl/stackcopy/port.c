/*
 * stackcopy — Python greenlet's strategy: every greenlet of a thread runs on the
 * thread's own C stack. A switch saves to the heap only the slice of stack the target
 * will overwrite, and copies the target's saved slice back; the register swap is
 * gl__ctx_switch_copy (mechanism/arch/switch_<arch>_<abi>.S), which calls save() and
 * restore() below between pushing one frame and popping another.
 *
 * Each greenlet owns the addresses [start, stop) of the thread stack (the stack grows
 * down). `stop` is fixed when it starts: just below the frame of the greenlet that
 * started it (UINTPTR_MAX for main), so a greenlet started from deep inside another
 * one runs below it and switching between the two copies nothing of the outer one.
 * `start` is its stack pointer when it last switched away. Of its data, the newest
 * `saved` bytes [start, start + saved) are in the heap, the rest is still in place:
 *
 *              |  older data  |
 *      stop -> +--------------+
 *              | still on the |
 *              |  C stack     |
 *              +--------------+ . . +-----------+ <- copy + saved
 *              | overwritten  |     |  saved in |
 *              | by others    |     |  the heap |
 *     start -> +--------------+ . . +-----------+ <- copy
 *
 * `prev` chains the greenlets that have data on the C stack, from the running one up,
 * each with a higher `stop`: a switch walks it from the running greenlet, saving whole
 * greenlets that end below the target's `stop` and part of the one that straddles it.
 * Memory per suspended greenlet: its context below plus the bytes it had in use.
 *
 * AddressSanitizer: the copies read and write stack memory that ASan poisons for other
 * frames, so they are hand-written loops in no_sanitize_address functions (memcpy is
 * intercepted). A saved slice takes its shadow bytes along and leaves clean shadow
 * behind; restoring puts both back. Every greenlet also gets its own fake stack
 * (detect_stack_use_after_return) through the fiber annotations, with the thread's
 * stack as bounds: one shared fake stack would be garbage-collected by frame address
 * after any noreturn call, freeing the frames of greenlets suspended deeper down.
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "port.h"
#include "stack.h"
#include "switch.h"

/* Valgrind takes a stack-pointer move of more than 2 MB (--max-stackframe) for a switch
 * to another stack and stops tracking which bytes below it are in use: a slice copied
 * back after such a jump would be "invalid writes" to stack it believes was freed. */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define VALGRIND_STACK_IN_USE(p, n) VALGRIND_MAKE_MEM_UNDEFINED(p, n)
#else
#define VALGRIND_STACK_IN_USE(p, n) ((void)0)
#endif

#if GL_ASAN
#include <pthread.h>
#define NO_ASAN __attribute__((no_sanitize_address, noinline))
#else
#define NO_ASAN __attribute__((noinline))
#endif

typedef struct sc_ctx sc_ctx;
struct sc_ctx {
    uintptr_t start;     /* lowest byte of its data while suspended */
    uintptr_t stop;      /* one past its highest byte; UINTPTR_MAX for main */
    unsigned char *copy; /* [start, start + saved) while overwritten */
    size_t saved, cap;
    sc_ctx *prev;        /* next greenlet up the stack with data on it */
    sc_ctx *from;        /* during a switch into this one: the greenlet leaving */
    gl_greenlet *self;
    unsigned char on_stack; /* started, not finished: `start`/`stop` mean something */
    unsigned char dying;    /* switching away for the last time: nothing to keep */
    unsigned char refused;  /* out of memory while saving: the switch did not happen */
#if GL_ASAN
    unsigned char *shadow;  /* the ASan shadow bytes of the saved slice */
    size_t shadow_cap;
    void *fake_stack;
#endif
};

const size_t gl__port_ctx_size = sizeof(sc_ctx);

const gl_port_info gl__port_info = {
    .name = "stackcopy",
    .mechanism = "one stack per thread; a switch copies the overlapping slice to the heap "
                 "and the target's back (greenlet's stack_start/stop/copy/saved/prev)",
    .min_stack_size = 0,
    .max_stack_size = 0,
    .default_stack_size = 0, /* not used: greenlets grow on the thread's own stack */
    .separate_stacks = 0,
};

/* A suspended greenlet's registers are in the frame gl__ctx_switch_copy pushed at
 * `start`; that frame and the newest of its data may be in the heap copy (gdb: greenlet
 * bt shows where it resumes, not its older frames). */
const gl__port_debug gl__port_debug_info = {
    .kind = GL__DEBUG_COPIED,
    .base_indirect = 1,
    .base_offset = offsetof(sc_ctx, start),
    .regs = gl__ctx_frame_regs,
    .copy_offset = offsetof(sc_ctx, copy),
    .copied_offset = offsetof(sc_ctx, saved),
    .note = "a suspended greenlet's stack slice is partly copied to the heap and partly "
            "overwritten by the running greenlet: only where it resumes can be shown until "
            "it runs again",
};

static inline sc_ctx *ctx(gl_greenlet *g) { return gl__port_ctx(g); }

/* ---- byte copies, out of ASan's view --------------------------------------------- */

#if GL_ASAN
static size_t shadow_scale, shadow_offset;

static inline unsigned char *shadow_of(uintptr_t addr)
{
    return (unsigned char *)((addr >> shadow_scale) + shadow_offset);
}

/* Word copy; `volatile` keeps the compiler from turning it back into memcpy. Both
 * ends are multiples of 16 (stack pointers after a frame push). */
NO_ASAN static void copy_words(void *dst, const void *src, size_t n)
{
    volatile uintptr_t *d = dst;
    const volatile uintptr_t *s = src;
    for (size_t i = 0; i < n / sizeof(uintptr_t); i++)
        d[i] = s[i];
}

NO_ASAN static void copy_bytes(unsigned char *dst, const unsigned char *src, size_t n)
{
    volatile unsigned char *d = dst;
    for (size_t i = 0; i < n; i++)
        d[i] = src[i];
}

NO_ASAN static void clear_bytes(unsigned char *dst, size_t n)
{
    volatile unsigned char *d = dst;
    for (size_t i = 0; i < n; i++)
        d[i] = 0;
}
#else
/* Without ASan: libc's memcpy, except from 2 to 8 KiB, where glibc's memcpy turns to
 * `rep movsb` (x86_rep_movsb_threshold: 2112 bytes on the AMD EPYC test machine) and
 * copies stack slices at two thirds of the speed of this 64-byte block loop
 * (switch_depth 1 KiB, 2.3 KB copied each way: 98 -> 65 ns). Valgrind sees only stack
 * above the stack pointer touched: save() runs below the leaving frame, restore()
 * below the target's. */
static inline void copy_words(void *dst, const void *src, size_t n)
{
    if (n < 2048 || n > 8192) {
        memcpy(dst, src, n);
        return;
    }
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (; n >= 64; n -= 64, d += 64, s += 64)
        __builtin_memcpy(d, s, 64);
    memcpy(d, s, n); /* the tail, under 64 bytes */
}
#endif

/* ---- save and restore (greenlet's g_save, slp_save_state, slp_restore_state) ----- */

/* Have at least [c->start, stop) of c's data in the heap; 0 when out of memory. */
NO_ASAN static int save_to(sc_ctx *c, uintptr_t stop)
{
    if (stop <= c->start + c->saved)
        return 1;
    size_t need = stop - c->start;
    if (need > c->cap || c->cap / 2 > need + 4096) {
        /* grow, or give back a buffer far larger than what this suspension needs */
        size_t cap = (need + 63) & ~(size_t)63;
        unsigned char *p = realloc(c->copy, cap);
        if (!p)
            return 0;
        c->copy = p;
        c->cap = cap;
    }
#if GL_ASAN
    size_t shadow_need = need >> shadow_scale;
    if (shadow_need > c->shadow_cap || c->shadow_cap / 2 > shadow_need + 512) {
        unsigned char *p = realloc(c->shadow, shadow_need);
        if (!p)
            return 0;
        c->shadow = p;
        c->shadow_cap = shadow_need;
    }
    uintptr_t lo = c->start + c->saved;
    size_t n = need - c->saved;
    copy_bytes(c->shadow + (c->saved >> shadow_scale), shadow_of(lo), n >> shadow_scale);
    clear_bytes(shadow_of(lo), n >> shadow_scale); /* others may use it now */
#endif
    copy_words(c->copy + c->saved, (const void *)(c->start + c->saved), need - c->saved);
    c->saved = need;
    return 1;
}

/* Out of memory half-way through saving: stay on `from`. What was saved of greenlets
 * that stay suspended is still valid; `from` itself runs on, so its copy is dropped.
 * A greenlet that has finished has nowhere to stay: that ends the process. */
NO_ASAN static void *refuse(sc_ctx *from, size_t bytes)
{
    if (from->dying) {
        fprintf(stderr, "switchyard stackcopy: out of memory saving %zu bytes of stack as a "
                        "greenlet ends\n", bytes);
        abort();
    }
#if GL_ASAN
    copy_bytes(shadow_of(from->start), from->shadow, from->saved >> shadow_scale);
#endif
    from->saved = 0;
    from->refused = 1;
    return (void *)from->start;
}

/* On the leaving greenlet's stack, below the frame it just pushed at `sp`: save what
 * the target will overwrite (everything of the chain below the target's stop, since
 * it may grow down to the thread's limit), and return where the target resumes. */
NO_ASAN static void *save(void *sp, void *arg)
{
    sc_ctx *to = arg, *from = to->from, *owner = from;
    if (!to->on_stack) /* first switch in: it starts just below `from`'s frame */
        to->stop = (uintptr_t)sp;
    if (from->dying)
        owner = from->prev; /* nothing of it to keep */
    else
        from->start = (uintptr_t)sp;
    uintptr_t target_stop = to->stop;
    while (owner->stop < target_stop) { /* wholly in the way */
        if (!save_to(owner, owner->stop))
            return refuse(from, owner->stop - owner->start);
        owner = owner->prev;
    }
    if (owner != to && !save_to(owner, target_stop)) /* straddles the target's stop */
        return refuse(from, target_stop - owner->start);
    /* A fresh frame goes right below `stop`: run restore() clear of it. */
    return (void *)(to->on_stack ? to->start : to->stop - 256);
}

static void first_entry(void *arg);

/* Below the target's data: copy its saved slice back above us, chain it, and return
 * the frame to pop. */
NO_ASAN static void *restore(void *arg)
{
    sc_ctx *to = arg, *owner = to->from;
    if (owner->refused)
        return (void *)owner->start; /* back into the frame it just pushed */
    if (to->saved) {
        VALGRIND_STACK_IN_USE((void *)to->start, to->saved);
        copy_words((void *)to->start, to->copy, to->saved);
#if GL_ASAN
        copy_bytes(shadow_of(to->start), to->shadow, to->saved >> shadow_scale);
#endif
        to->saved = 0;
    }
    if (owner->dying)
        owner = owner->prev;
    while (owner && owner->stop <= to->stop)
        owner = owner->prev; /* wholly saved: not on the stack any more */
    to->prev = owner;
    if (to->on_stack)
        return (void *)to->start;
    to->on_stack = 1;
    return gl__ctx_make((void *)to->stop, first_entry, to->self);
}

/* ---- AddressSanitizer fibers: one fake stack per greenlet, the thread's bounds ----- */

#if GL_ASAN
static __thread const void *thread_stack_lo;
static __thread size_t thread_stack_size;

__attribute__((constructor)) static void shadow_mapping_learn(void)
{
    __asan_get_shadow_mapping(&shadow_scale, &shadow_offset);
}

static void thread_stack_learn(void)
{
    pthread_attr_t attr;
    void *lo;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
            thread_stack_lo = lo;
            thread_stack_size = size;
        }
        pthread_attr_destroy(&attr);
    }
}

static inline void fiber_leave(sc_ctx *from, int final)
{
    __sanitizer_start_switch_fiber(final ? NULL : &from->fake_stack, thread_stack_lo,
                                   thread_stack_size);
}

static inline void fiber_arrive(sc_ctx *self)
{
    __sanitizer_finish_switch_fiber(self->fake_stack, NULL, NULL);
}
#else
static inline void thread_stack_learn(void) {}
static inline void fiber_leave(sc_ctx *from, int final) { (void)from, (void)final; }
static inline void fiber_arrive(sc_ctx *self) { (void)self; }
#endif

/* ---- the port interface ------------------------------------------------------------ */

int gl__port_init_main(gl_greenlet *main)
{
    sc_ctx *c = ctx(main);
    c->self = main;
    c->stop = UINTPTR_MAX; /* owns the whole stack above whatever it switched from */
    c->on_stack = 1;
    thread_stack_learn();
    return GL_OK;
}

/* The heap copy of a greenlet's stack slice (kept between switches for reuse). */
static void free_copy(sc_ctx *c)
{
    free(c->copy);
    c->copy = NULL;
    c->saved = c->cap = 0;
#if GL_ASAN
    free(c->shadow);
    c->shadow = NULL;
    c->shadow_cap = 0;
#endif
}

/* The main greenlet is never released as a greenlet: its copy goes with its thread. */
void gl__port_exit_main(gl_greenlet *main) { free_copy(ctx(main)); }

static void first_entry(void *arg)
{
    gl_greenlet *g = arg;
    fiber_arrive(ctx(g));
    gl__entry(g);
}

int gl__port_prepare(gl_greenlet *g, size_t stack_size)
{
    (void)stack_size; /* it grows on the thread's stack, as far as that allows */
    ctx(g)->self = g;
    return GL_OK;
}

NO_ASAN void gl__port_switch(gl_greenlet *from, gl_greenlet *to)
{
    sc_ctx *f = ctx(from), *t = ctx(to);
    t->from = f;
    fiber_leave(f, 0);
    gl__ctx_switch_copy(t, save, restore);
    fiber_arrive(f);
    if (__builtin_expect(f->refused, 0)) {
        f->refused = 0;
        gl__port_switch_refused(from, GL_ENOMEM, "switch: out of memory saving a slice of "
                                                 "the stack (port stackcopy)");
    }
}

/* Not instrumented: ASan unpoisons the stack when gl__entry calls this noreturn
 * function, and a frame poisoned after that would never be unpoisoned. */
NO_ASAN void gl__port_switch_final(gl_greenlet *from, gl_greenlet *to)
{
    sc_ctx *f = ctx(from), *t = ctx(to);
    f->dying = 1;
    f->on_stack = 0;
    t->from = f;
    fiber_leave(f, 1);
    gl__ctx_switch_copy(t, save, restore);
    __builtin_trap(); /* a finished greenlet is never resumed */
}

void gl__port_release(gl_greenlet *g) { free_copy(ctx(g)); }
