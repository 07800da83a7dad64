/*
 * case_switch.c — switch/<port> and switch_depth/<port>/<KiB>: ns per switch.
 *
 * Two greenlets A and B (neither is the thread's main greenlet) ping-pong. Each first
 * descends <KiB> of real stack (recursion over a written buffer), so with stack copying
 * that much live stack moves on every switch; ports with separate stacks should not
 * care. The main greenlet drives the clock: one batch is main -> A, then A <-> B until
 * the batch's switches are spent, then back to main; every one of those is counted
 * (the two switches through main cost the same as the others).
 */
#include <stddef.h>
#include <string.h>
#include "bench.h"
#include "cases.h"
#include "greenlet.h"

#define BATCH 1000
#define FRAME 1024 /* bytes of buffer per recursion level */

typedef struct pingpong {
    gl_greenlet *main, *a, *b;
    size_t depth;      /* bytes of live stack under each player */
    long remaining;    /* switches left in this batch */
    int stop;
} pingpong;

static void *play(pingpong *pp, gl_greenlet *other)
{
    if (gl_switch(pp->main, NULL, NULL) != GL_OK) /* set up: wait for the first batch */
        return gl_reraise();
    while (!pp->stop) {
        gl_greenlet *next = --pp->remaining > 0 ? other : pp->main;
        if (gl_switch(next, NULL, NULL) != GL_OK)
            return gl_reraise();
    }
    return NULL;
}

static void *descend(pingpong *pp, gl_greenlet *other, size_t left);

/* One level of FRAME live bytes. Not inlined, and the buffer is read after the call,
 * so each level really keeps FRAME bytes live below the previous one. */
__attribute__((noinline)) static void *descend_frame(pingpong *pp, gl_greenlet *other,
                                                     size_t left)
{
    volatile unsigned char buf[FRAME];
    for (size_t i = 0; i < FRAME; i += 64)
        buf[i] = (unsigned char)(left + i);
    void *r = descend(pp, other, left - FRAME);
    if (buf[0] != (unsigned char)left)
        return gl_raise(GL_EUSER, NULL, "switch_depth: live stack was corrupted");
    return r;
}

/* The buffer is in its own function: a frame that declares it is FRAME bytes deep even
 * where it is not used, and depth 0 must add nothing under the players. */
__attribute__((noinline)) static void *descend(pingpong *pp, gl_greenlet *other, size_t left)
{
    if (left < FRAME)
        return play(pp, other);
    return descend_frame(pp, other, left);
}

static void *player(void *arg)
{
    pingpong *pp = arg;
    gl_greenlet *self = gl_current();
    return descend(pp, self == pp->a ? pp->b : pp->a, pp->depth);
}

static void case_pingpong(bench_state *st, void *arg)
{
    size_t kib = (size_t)(uintptr_t)arg;
    pingpong pp = {.main = gl_current(), .depth = kib * 1024};
    /* The default stack of some ports is small; 64 KiB of recursion needs room. */
    size_t stack = kib ? 256 * 1024 : 0;
    int rc;
    if ((rc = gl_new_with_stack(&pp.a, player, NULL, stack)) != GL_OK ||
        (rc = gl_new_with_stack(&pp.b, player, NULL, stack)) != GL_OK ||
        (rc = gl_switch(pp.a, &pp, NULL)) != GL_OK || (rc = gl_switch(pp.b, &pp, NULL)) != GL_OK) {
        bench_fail(st, "setup: %s", gl_last_error()->message);
        goto out;
    }
    while (bench_keep_running_batch(st, BATCH)) {
        pp.remaining = BATCH - 1; /* main -> A is the first switch of the batch */
        if ((rc = gl_switch(pp.a, NULL, NULL)) != GL_OK) {
            bench_fail(st, "switch: %s", gl_last_error()->message);
            break;
        }
    }
    pp.stop = 1;
    if (gl_switch(pp.a, NULL, NULL) != GL_OK || gl_switch(pp.b, NULL, NULL) != GL_OK ||
        !gl_dead(pp.a) || !gl_dead(pp.b))
        bench_fail(st, "the players did not finish: %s", gl_last_error()->message);
out:
    if (pp.a)
        gl_destroy(pp.a);
    if (pp.b)
        gl_destroy(pp.b);
}

void bench_cases_switch(void)
{
    const char *port = gl_port()->name;
    bench_use_real_time(bench_register(case_pingpong, (void *)0, "switch/%s", port));
    static const unsigned depths[] = {0, 1, 4, 16, 64};
    for (size_t i = 0; i < sizeof depths / sizeof *depths; i++)
        bench_use_real_time(bench_register(case_pingpong, (void *)(uintptr_t)depths[i],
                                           "switch_depth/%s/%u", port, depths[i]));
}
