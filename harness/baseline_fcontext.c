/*
 * baseline_fcontext.c — baseline_fcontext: Boost.Context's jump_fcontext between the
 * thread's stack and one other, no greenlet bookkeeping (the floor for boost_fcontext,
 * and the industry's reference beside baseline_regswap). One iteration = one switch.
 *
 * Built as baseline_regswap is: both sides run the same loop, so every jump leaves from
 * and arrives at one call site (the best case for any return prediction), and each
 * carries the peer's context to the next jump.
 */
#include <stdlib.h>
#include "bench.h"
#include "cases.h"
#include "fcontext.h"

#define BATCH 1000
#define STACK_SIZE (64 * 1024)

__attribute__((noinline)) static fcontext_t fcontext_loop(fcontext_t peer, long *left)
{
    while (*left > 0) {
        --*left;
        peer = jump_fcontext(peer, left).fctx;
    }
    return peer;
}

static void fcontext_other(transfer_t t)
{
    long *left = t.data;
    fcontext_t peer = t.fctx;
    for (;;) { /* main ends each batch on its turn (an even batch): nothing uncounted */
        peer = fcontext_loop(peer, left);
        peer = jump_fcontext(peer, left).fctx;
    }
}

static void baseline_fcontext(bench_state *st, void *arg)
{
    (void)arg;
    char *stack = malloc(STACK_SIZE);
    if (!stack) {
        bench_fail(st, "out of memory");
        return;
    }
    long left = 0;
    /* The first jump starts the other side, which jumps straight back (left == 0). */
    fcontext_t peer = jump_fcontext(make_fcontext(stack + STACK_SIZE, STACK_SIZE,
                                                  fcontext_other), &left).fctx;
    while (bench_keep_running_batch(st, BATCH)) {
        left = BATCH;
        peer = fcontext_loop(peer, &left);
    }
    free(stack); /* the other side is parked in its loop; nothing on it to unwind */
}

void bench_baselines_fcontext(void)
{
    bench_use_real_time(bench_register(baseline_fcontext, NULL, "baseline_fcontext"));
}
