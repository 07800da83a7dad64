/* Stack guards (gl_set_stack_guard): an overflow is caught by an unmapped gap below each
 * stack (one memory map per stack, gaps no later mapping takes), or, opted into, by a
 * canary checked as the greenlet switches away. Cases skip on ports that do not offer
 * the guard they test (gl_port()->caps). */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "greenlet.h"
#include "suite.h"

static long map_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    long n = 0;
    for (int c; (c = fgetc(f)) != EOF;)
        n += c == '\n';
    fclose(f);
    return n;
}

CASE(greenlet, stack_guard_modes_the_port_does_not_offer_are_refused)
{
    unsigned caps = gl_port()->caps;
    CHECK_INT(gl_set_stack_guard((gl_stack_guard)99), GL_EINVAL);
    CHECK(strstr(gl_last_error()->message, "unknown mode") != NULL);
    CHECK_INT(gl_set_stack_guard(GL_GUARD_PAGE), caps & GL_CAP_GUARD_PAGE ? GL_OK : GL_EINVAL);
    CHECK_INT(gl_set_stack_guard(GL_GUARD_CANARY),
              caps & GL_CAP_GUARD_CANARY ? GL_OK : GL_EINVAL);
    if (!(caps & GL_CAP_GUARD_CANARY))
        CHECK(strstr(gl_last_error()->message, gl_port()->name) != NULL);
}

/* ---- the canary -------------------------------------------------------------------- */

static void *keep_locals(void *arg)
{
    volatile intptr_t local[64];
    for (int i = 0; i < 64; i++)
        local[i] = (intptr_t)arg + i;
    for (int round = 0; round < 3; round++)
        if (gl_switch(gl_parent(gl_current()), (void *)(intptr_t)round, NULL) != GL_OK)
            return gl_reraise();
    for (int i = 0; i < 64; i++)
        if (local[i] != (intptr_t)arg + i)
            return gl_raise(GL_EUSER, NULL, "local %d clobbered", i);
    return arg;
}

CASE(greenlet, greenlets_on_canary_stacks_switch_and_keep_their_locals)
{
    if (!(gl_port()->caps & GL_CAP_GUARD_CANARY))
        SKIP("the port does not offer stack canaries");
    enum { N = 200 };
    gl_greenlet *gs[N];
    CHECK_OK(gl_set_stack_guard(GL_GUARD_CANARY));
    for (intptr_t i = 0; i < N; i++)
        CHECK_OK(gl_new(&gs[i], keep_locals, NULL));
    CHECK_OK(gl_set_stack_guard(GL_GUARD_PAGE)); /* the greenlets keep their canaries */
    for (intptr_t round = 0; round < 4; round++)
        for (intptr_t i = 0; i < N; i++) {
            void *r;
            CHECK_OK(gl_switch(gs[i], (void *)(i * 1000), &r));
            CHECK_INT((intptr_t)r, round < 3 ? round : i * 1000);
        }
    for (int i = 0; i < N; i++) {
        CHECK(gl_dead(gs[i]));
        CHECK_OK(gl_destroy(gs[i]));
    }
}

/* Each level fills a frame of its own, then lets its parent run: the switch away is
 * where the canary is checked, so the overflow is found within a frame of reaching it. */
static int dive(int depth)
{
    volatile unsigned char frame[256];
    for (size_t i = 0; i < sizeof frame; i++)
        frame[i] = (unsigned char)(depth + 1);
    if (gl_switch(gl_parent(gl_current()), NULL, NULL) != GL_OK)
        return 0;
    return dive(depth + 1) + frame[0];
}

static void *dive_forever(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)dive(0);
}

static void overflow_a_canary_stack(void *arg)
{
    (void)arg;
    gl_greenlet *g;
    size_t size = gl_port()->min_stack_size ? gl_port()->min_stack_size : 65536;
    if (gl_set_stack_guard(GL_GUARD_CANARY) != GL_OK ||
        gl_new_with_stack(&g, dive_forever, NULL, size) != GL_OK)
        _exit(3);
    for (size_t level = 0; level < 2 * size; level++) /* each dive level switches back once */
        if (gl_switch(g, NULL, NULL) != GL_OK)
            _exit(4);
    _exit(5); /* the stack was never overflowed: not reached */
}

CASE(greenlet, stack_overflow_found_by_the_canary_as_the_greenlet_switches_away)
{
    if (!(gl_port()->caps & GL_CAP_GUARD_CANARY))
        SKIP("the port does not offer stack canaries");
    static char out[65536];
    int status = suite_run_child(overflow_a_canary_stack, NULL, out, sizeof out);
    if (!WIFSIGNALED(status))
        suite_fail(__FILE__, __LINE__, "the child exited with %d; stderr was: %s",
                   WEXITSTATUS(status), out);
    CHECK_INT(WTERMSIG(status), SIGABRT);
    if (!strstr(out, "stack overflow in greenlet") || !strstr(out, "canary"))
        suite_fail(__FILE__, __LINE__, "no canary report; stderr was: %s", out);
}

/* ---- guard gaps ------------------------------------------------------------------- */

/* Suspends at once, leaving where its stack is in *where. */
static void *park_here(void *where)
{
    volatile char local = 0;
    *(volatile char **)where = &local;
    if (gl_switch(gl_parent(gl_current()), NULL, NULL) != GL_OK)
        return gl_reraise();
    return NULL;
}

typedef struct parked {
    int n;
    gl_greenlet **gs;
    char **where; /* an address on each one's stack */
} parked;

static void park(parked *p, int n)
{
    p->n = n;
    p->gs = calloc((size_t)n, sizeof *p->gs);
    p->where = calloc((size_t)n, sizeof *p->where);
    CHECK(p->gs && p->where);
    for (int i = 0; i < n; i++) {
        CHECK_OK(gl_new_with_stack(&p->gs[i], park_here, NULL, gl_port()->min_stack_size));
        CHECK_OK(gl_switch(p->gs[i], &p->where[i], NULL));
    }
}

static void unpark(parked *p)
{
    for (int i = p->n; i-- > 0;)
        CHECK_OK(gl_destroy(p->gs[i]));
    free(p->gs);
    free(p->where);
}

CASE(greenlet, each_guarded_stack_costs_one_memory_map)
{
    if (!(gl_port()->caps & GL_CAP_GUARD_PAGE))
        SKIP("the port has no stacks of its own to guard");
    if (UNDER_ASAN)
        SKIP("AddressSanitizer maps memory of its own for each fiber and thread");
    enum { N = 2000 };
    long before = map_count();
    CHECK(before > 0);
    parked p;
    park(&p, N);
    long after = map_count();
    /* A guard page would be a map of its own: 2 N. Allowed beyond N: the arenas'
     * unused tails, and what libc maps for threads (malloc arenas). */
    if (after - before > N + 64)
        suite_fail(__FILE__, __LINE__, "%d guarded stacks added %ld memory maps (at most %d "
                   "expected: one per stack)", N, after - before, N + 64);
    unpark(&p);
}

CASE(greenlet, later_mappings_never_land_in_the_guard_gaps_among_stacks)
{
    if (!(gl_port()->caps & GL_CAP_GUARD_PAGE))
        SKIP("the port has no stacks of its own to guard");
    enum { N = 512, PAGES = 512 };
    parked p;
    park(&p, N);
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < N; i++) {
        uintptr_t a = (uintptr_t)p.where[i];
        lo = a < lo ? a : lo;
        hi = a > hi ? a : hi;
    }
    lo -= (uintptr_t)1 << 20; /* the lowest stack's bottom and gap are below its frame */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *maps[PAGES];
    int inside = 0;
    for (int i = 0; i < PAGES; i++) {
        maps[i] = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(maps[i] != MAP_FAILED);
        inside += (uintptr_t)maps[i] >= lo && (uintptr_t)maps[i] <= hi;
    }
    for (int i = 0; i < PAGES; i++)
        munmap(maps[i], page);
    if (inside)
        suite_fail(__FILE__, __LINE__, "%d of %d one-page mappings landed among the stacks "
                   "[%#lx, %#lx]: a gap below a stack is no guard any more", inside, PAGES,
                   (unsigned long)lo, (unsigned long)hi);
    unpark(&p);
}
