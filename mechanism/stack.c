/* stack.c — stacks carved from arenas, guarded by an unmapped gap (or a canary), and a
 * pool that recycles them (the layout is drawn in stack.h).
 *
 * Quirks this file is shaped by:
 * - Every region with its own protection is a map, counted against vm.max_map_count
 *   (65 530 by default). A PROT_NONE guard page beside each stack costs two maps a
 *   stack; an unmapped gap costs one. An arena is reserved as one PROT_NONE mapping and
 *   its slots are carved in order: unmap the slot's gap, then map its stack read-write
 *   over the reservation. The rest of the reservation stays one map.
 * - An unmapped gap is free address space: a later mmap that asks for no address could
 *   land in it, and an overflow would then write into that mapping silently. Linux
 *   serves such requests top down, from the highest free range below mmap_base that
 *   fits (a one-page request fits in a one-page hole). So the arenas are placed at half
 *   the address of the lowest mapping the kernel hands out (~64 TiB on x86-64, below
 *   where a PIE program and its heap sit, above AddressSanitizer's shadow), growing up:
 *   the kernel's own placements come down to them only after tens of TiB of mappings.
 *   MAP_FIXED_NOREPLACE (Linux >= 4.17) never takes a range someone already has. Where
 *   the place cannot be had (an older kernel; valgrind, whose address-space manager
 *   chooses for itself), the arena goes where it is put and its gaps stay PROT_NONE
 *   pages of the reservation: safe, at two maps a stack.
 * - A pooled stack keeps its memory and its valgrind registration; one given back to
 *   its arena keeps its mapping (so the map count does not fall until the whole arena
 *   is free and unmapped) but not its memory (MADV_DONTNEED).
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "port.h"
#include "stack.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GL_VALGRIND 1
#endif
#endif
#ifndef GL_VALGRIND
#define GL_VALGRIND 0
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#if GL_ASAN
__thread gl__fiber *gl__fiber_leaving;

/* pthread_exit() in a greenlet on a stack of its own: glibc unwinds that stack, then
 * jumps back onto the thread's own stack, to start_thread's frame, without telling
 * AddressSanitizer, which still holds the greenlet's stack for current, and the dead
 * frames of the suspended main greenlet below that frame still poisoned. The thread's
 * teardown (key destructors, the hub's loop closed, ASan's own) runs on those frames:
 * clang's ASan runtime reports its own writes there as stack-buffer-overflows. */
void gl__fiber_back_on_thread_stack(void)
{
    pthread_attr_t attr;
    void *lo;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    int rc = pthread_attr_getstack(&attr, &lo, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return;
    char *sp = __builtin_frame_address(0);
    if (sp < (char *)lo || sp >= (char *)lo + size)
        return; /* not on the thread's own stack: nothing to tell */
    void *fake_stack;
    __sanitizer_start_switch_fiber(&fake_stack, lo, size);
    __sanitizer_finish_switch_fiber(fake_stack, NULL, NULL);
    /* Every instrumented frame of the thread is gone (glibc's start_thread runs the key
     * destructors) but this call's: what poison is left is stale. */
    __asan_unpoison_memory_region(lo, size);
}
#else
void gl__fiber_back_on_thread_stack(void) {}
#endif

#define ARENA_BYTES GL__STACK_MAX_SIZE  /* most address space per arena (reserved, not memory);
                                         * the first holds 16 stacks, each next as many as
                                         * those before it */
#define ARENA_SLOTS_MAX 65536u
#define POOL_MAX 256

struct gl__arena {
    struct gl__arena *next;
    char *base;             /* the reservation: nslots slots of `stride` bytes */
    size_t size, stride, usable, gap;
    unsigned nslots;
    unsigned carved;        /* slots [0, carved) have been mapped read-write */
    unsigned used;          /* slots handed out (pooled ones included) */
    unsigned nfree;         /* carved slots given back: free[0, nfree) */
    unsigned canary;
    unsigned gaps_unmapped;  /* placed clear of the kernel's placements: gaps are holes */
    unsigned *free;
};

/* Everything under one lock: allocation is never on a switch's path. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct gl__arena *arenas;
static char *next_hint;
static struct {
    size_t count;
    gl__stack items[POOL_MAX];  /* most recently freed last */
} pool;
static _Atomic int guard_mode = GL_GUARD_PAGE;

void gl__stack_set_guard(gl_stack_guard mode) { guard_mode = mode; }

static size_t page_size(void)
{
    static size_t page;
    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

/* ---- arenas ------------------------------------------------------------------------ */

/* Half the address of a mapping the kernel places itself, 1 GiB aligned (see the top). */
static char *first_hint(void)
{
    size_t page = page_size();
    void *probe = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (probe == MAP_FAILED)
        return NULL;
    munmap(probe, page);
    uintptr_t hint = ((uintptr_t)probe / 2) & ~(((uintptr_t)1 << 30) - 1);
    return hint ? (char *)hint : NULL;
}

/* `size` bytes of address space with protection `prot`, at the arenas' place if it can
 * be had (*placed = 1). NULL with errno set when not even the kernel's own choice works. */
static char *reserve(size_t size, int prot, int *placed)
{
    static int hint_unusable;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (prot ? MAP_STACK : 0);
    if (!next_hint && !hint_unusable)
        next_hint = first_hint();
    for (int attempt = 0; next_hint && attempt < 16; attempt++) {
        void *p = mmap(next_hint, size, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == next_hint) {
            next_hint += size;
            *placed = 1;
            return p;
        }
        if (p != MAP_FAILED) {       /* the flag was taken for a plain hint */
            munmap(p, size);
            next_hint = NULL, hint_unusable = 1;
            break;
        }
        if (errno == ENOMEM)         /* map count, address space: nowhere else either */
            return NULL;
        if (errno != EEXIST) {       /* EINVAL, EPERM, ...: the flag is not understood */
            next_hint = NULL, hint_unusable = 1;
            break;
        }
        next_hint += size;           /* taken: try above it */
    }
    void *p = mmap(NULL, size, prot, flags, -1, 0);
    *placed = 0;
    return p == MAP_FAILED ? NULL : p;
}

/* A new arena for stacks of `usable` bytes: `want` slots, fewer if the address space
 * is short (RLIMIT_AS counts a reservation whole). */
static struct gl__arena *arena_new(size_t usable, unsigned canary, size_t want)
{
    /* Below each stack: the unmapped guard gap, or the canary's zone (one page). */
    size_t gap = canary ? page_size() : GL__GUARD_BYTES;
    size_t stride = usable + gap;
    if (stride < usable)
        return NULL;
    size_t n = ARENA_BYTES / stride;
    n = n < want ? n : want;
    n = n < 1 ? 1 : n > ARENA_SLOTS_MAX ? ARENA_SLOTS_MAX : n;
    if (stride > SIZE_MAX / n)
        return NULL;
    struct gl__arena *a = calloc(1, sizeof *a);
    unsigned *free_slots = calloc(n, sizeof *free_slots);
    char *base = NULL;
    int placed = 0;
    /* Guard gaps: a PROT_NONE reservation, stacks carved in. Canaries: all read-write. */
    int prot = canary ? PROT_READ | PROT_WRITE : PROT_NONE;
    if (a && free_slots)
        for (;; n = (n + 1) / 2)
            if ((base = reserve(n * stride, prot, &placed)) || n == 1 || errno != ENOMEM)
                break;
    if (!base) {
        int e = a && free_slots ? errno : ENOMEM;
        free(a);
        free(free_slots);
        errno = e;
        return NULL;
    }
    a->base = base;
    a->size = n * stride;
    a->stride = stride;
    a->usable = usable;
    a->gap = gap;
    a->nslots = (unsigned)n;
    a->canary = canary;
    a->gaps_unmapped = placed;
    a->carved = canary ? (unsigned)n : 0; /* already mapped read-write, all of it */
    a->free = free_slots;
    if (canary)
        for (unsigned i = 0; i < n; i++)
            free_slots[i] = (unsigned)n - 1 - i; /* lowest address first */
    a->nfree = canary ? (unsigned)n : 0;
    a->next = arenas;
    arenas = a;
    return a;
}

static void arena_release(struct gl__arena *a)
{
    for (struct gl__arena **p = &arenas; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            break;
        }
    munmap(a->base, a->size);
    free(a->free);
    free(a);
}

/* A slot of `a` for `s`; 0 when it has none left or its memory cannot be mapped. */
static int arena_take(struct gl__arena *a, gl__stack *s)
{
    unsigned slot;
    if (a->nfree) {
        slot = a->free[--a->nfree];
    } else if (a->carved < a->nslots) {
        slot = a->carved;
        char *start = a->base + (size_t)slot * a->stride;
        /* Gap first: trimming the reservation's start adds no map; the stack's mapping
         * then adds one. At vm.max_map_count the mmap fails and the slot stays uncarved.
         * An arena not at its place keeps the gap: a PROT_NONE page of the reservation. */
        if ((a->gaps_unmapped && munmap(start, a->gap) != 0) ||
            mmap(start + a->gap, a->usable, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK | MAP_FIXED, -1,
                 0) == MAP_FAILED)
            return 0;
        a->carved++;
    } else {
        return 0;
    }
    a->used++;
    s->arena = a;
    s->lo = a->base + (size_t)slot * a->stride + a->gap;
    s->hi = (char *)s->lo + a->usable;
    s->canary = a->canary;
#if GL_VALGRIND
    s->valgrind_id = VALGRIND_STACK_REGISTER(s->lo, s->hi);
#else
    s->valgrind_id = 0;
#endif
    return 1;
}

static void arena_give_back(gl__stack *s)
{
    struct gl__arena *a = s->arena;
#if GL_VALGRIND
    VALGRIND_STACK_DEREGISTER(s->valgrind_id);
#endif
    madvise((char *)s->lo - (a->canary ? a->gap : 0), a->usable + (a->canary ? a->gap : 0),
            MADV_DONTNEED); /* the memory goes (and a canary's zone is zero again) */
    a->free[a->nfree++] = (unsigned)(((char *)s->lo - a->gap - a->base) / a->stride);
    if (--a->used == 0)
        arena_release(a);
}

/* ---- stacks ------------------------------------------------------------------------- */

static int pool_take(gl__stack *s, size_t usable, unsigned canary)
{
    for (size_t i = pool.count; i-- > 0;) {
        const struct gl__arena *a = pool.items[i].arena;
        if (a->usable == usable && a->canary == canary) {
            *s = pool.items[i];
            pool.items[i] = pool.items[--pool.count];
            return 1;
        }
    }
    return 0;
}

int gl__stack_alloc(gl__stack *s, size_t size, gl_greenlet *g)
{
    size_t page = page_size();
    size_t usable = (size + page - 1) & ~(page - 1);
    unsigned canary = guard_mode == GL_GUARD_CANARY;
    memset(s, 0, sizeof *s);
    if (usable < size || usable > SIZE_MAX - GL__GUARD_BYTES) {
        errno = ENOMEM;
        return GL_ENOSTACK;
    }
    int ok = 0;
    pthread_mutex_lock(&lock);
    if (!(ok = pool_take(s, usable, canary))) {
        size_t slots = 0; /* of this kind already: each new arena doubles them */
        for (struct gl__arena *a = arenas; a && !ok; a = a->next)
            if (a->usable == usable && a->canary == canary) {
                ok = arena_take(a, s);
                slots += a->nslots;
            }
        if (!ok) {
            struct gl__arena *a = arena_new(usable, canary, slots < 16 ? 16 : slots);
            ok = a && arena_take(a, s);
            if (a && !a->used) {
                int e = errno;
                arena_release(a);
                errno = e;
            }
        }
    }
    pthread_mutex_unlock(&lock);
    if (!ok)
        return GL_ENOSTACK;
    const struct gl__arena *a = s->arena;
    if (a->canary)
        gl__set_guard(g, NULL); /* its zone is mapped: nothing faults there */
    else
        gl__set_guard(g, s->lo); /* a->gap == GL__GUARD_BYTES below it */
    return GL_OK;
}

void gl__stack_free(gl__stack *s)
{
    if (!s->arena)
        return;
#if GL_ASAN
    /* Frames that never returned leave their redzones poisoned. */
    ASAN_UNPOISON_MEMORY_REGION(s->lo, (char *)s->hi - (char *)s->lo);
#endif
    pthread_mutex_lock(&lock);
    if (pool.count < POOL_MAX)
        pool.items[pool.count++] = *s;
    else
        arena_give_back(s);
    pthread_mutex_unlock(&lock);
    memset(s, 0, sizeof *s);
}

#if GL_ASAN
__attribute__((no_sanitize_address))
#endif
void gl__stack_check_canary(const gl__stack *s, gl_greenlet *g)
{
    const volatile uint64_t *c = (const volatile uint64_t *)s->lo - 2;
    if (c[0] | c[1])
        gl__overflow_canary(g, (const void *)c);
}
