/*
 * case_ring.c — ring/<port>/<N> and ring_shuffled/<port>/<N>: ns per switch once N
 * greenlets are alive, each switching to the next: what a switch costs when the stacks
 * and records of the greenlets no longer fit in the caches (published comparisons show
 * fcontext going from 77 to 273 ns between 1 and 30 000 live coroutines).
 *
 *   ring           greenlet i switches to greenlet i+1 (creation order: neighbouring
 *                  stacks and records, as a scheduler walking a list in order touches)
 *   ring_shuffled  a random cycle through all N: every switch lands somewhere else
 *
 * N = 2, 100, 1 000, 10 000, 30 000, 100 000 (QUICK: 2, 100, 1 000; from 10 000 on, 3
 * repetitions instead of run.sh's 5, 1 for a port of OS threads). One batch is
 * main -> the first greenlet, then at least one lap around the ring, back to main; every
 * one of those switches is counted (switch/<port>'s rule). Setup (creating and starting
 * the N greenlets) and teardown are not timed.
 *
 * A port that cannot hold N greenlets fails the case with "port limit: ..." naming the
 * limit (vm.max_map_count, threads, memory: harness/limits.c); run.sh and the charts
 * report it as the port's limit, not as a failure. Later runs of that N or a larger one
 * in the same process fail at once with the same reason instead of probing the limit
 * again (a smaller N that fit is still measured).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "bench.h"
#include "cases.h"
#include "greenlet.h"
#include "limits.h"

typedef struct ring ring;
typedef struct member {
    ring *r;
    gl_greenlet *next;
} member;

struct ring {
    gl_greenlet *main;
    long remaining; /* switches left in this batch */
    int stop;
};

typedef struct ring_case {
    long n;
    int shuffled;
} ring_case;

/* The smallest ring this process could not make, and why: as large a ring fails at once. */
static long refused_n;
static char limit_why[512];

static void *member_run(void *arg)
{
    member *m = arg;
    ring *r = m->r;
    if (gl_switch(r->main, NULL, NULL) != GL_OK) /* set up: wait for the first batch */
        return gl_reraise();
    while (!r->stop) {
        gl_greenlet *to = --r->remaining > 0 ? m->next : r->main;
        if (gl_switch(to, NULL, NULL) != GL_OK)
            return gl_reraise();
    }
    return NULL;
}

/* xorshift64*: the same shuffle in every run of a case is not needed, only a fair one. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

/* The order of the cycle: identity, or a Fisher-Yates shuffle. */
static void ring_order(long *order, long n, int shuffled)
{
    for (long i = 0; i < n; i++)
        order[i] = i;
    uint64_t s = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (long i = n - 1; shuffled && i > 0; i--) {
        long j = (long)(rng_next(&s) % (uint64_t)(i + 1));
        long t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

static void case_ring(bench_state *st, void *arg)
{
    const ring_case *c = arg;
    long n = c->n;
    if (refused_n && n >= refused_n) {
        bench_fail(st, "%s", limit_why);
        return;
    }
    ring r = {.main = gl_current()};
    gl_greenlet **gs = calloc((size_t)n, sizeof *gs);
    member *ms = calloc((size_t)n, sizeof *ms);
    long *order = malloc((size_t)n * sizeof *order);
    long made = 0;
    if (!gs || !ms || !order) {
        bench_fail(st, "out of memory for a ring of %ld", n);
        goto out;
    }
    for (; made < n; made++) {
        int low = (made & 4095) == 4095 && bench_memory_low(), rc = GL_OK, err = 0;
        if (!low) {
            errno = 0;
            ms[made].r = &r;
            rc = gl_new(&gs[made], member_run, NULL);
            err = errno;
            if (rc == GL_OK && (rc = gl_switch(gs[made], &ms[made], NULL)) != GL_OK) {
                err = errno;
                gl_destroy(gs[made]);
                gs[made] = NULL;
            }
        }
        if (low || rc != GL_OK) {
            char detail[256];
            const char *limit = bench_limit_hit(rc, err, low, detail, sizeof detail);
            snprintf(limit_why, sizeof limit_why,
                     "port limit: %s after %ld greenlets (%s)%s%s", limit, made, detail,
                     low ? "" : ": ", low ? "" : gl_last_error()->message);
            if (!refused_n || n < refused_n)
                refused_n = n;
            bench_fail(st, "%s", limit_why);
            goto out;
        }
    }
    ring_order(order, n, c->shuffled);
    for (long k = 0; k < n; k++)
        ms[order[k]].next = gs[order[(k + 1) % n]];
    gl_greenlet *first = gs[order[0]];
    long batch = n < 1000 ? 1000 : n; /* at least a lap */
    while (bench_keep_running_batch(st, batch)) {
        r.remaining = batch - 1; /* main -> first is the batch's first switch */
        if (gl_switch(first, NULL, NULL) != GL_OK) {
            bench_fail(st, "switch: %s", gl_last_error()->message);
            break;
        }
    }
    bench_counter(st, "greenlets", (double)n);
out:
    r.stop = 1;
    for (long i = made; i-- > 0;)
        if (gs[i] && gl_destroy(gs[i]) != GL_OK)
            bench_fail(st, "gl_destroy: %s", gl_last_error()->message);
    free(order);
    free(ms);
    free(gs);
}

void bench_cases_ring(void)
{
    static const long sizes[] = {2, 100, 1000, 10000, 30000, 100000};
    static ring_case cases[2][sizeof sizes / sizeof *sizes];
    size_t count = bench_quick() ? 3 : sizeof sizes / sizeof *sizes;
    for (int shuffled = 0; shuffled < 2; shuffled++)
        for (size_t i = 0; i < count; i++) {
            cases[shuffled][i] = (ring_case){sizes[i], shuffled};
            bench_case *c = bench_use_real_time(
                bench_register(case_ring, &cases[shuffled][i], "%s/%s/%ld",
                               shuffled ? "ring_shuffled" : "ring", gl_port()->name, sizes[i]));
            /* Large rings: setup dominates (30 000 OS threads on the threads port take
             * most of a minute to make and end), so fewer repetitions. With a greenlet
             * per OS thread, one: thread ids are machine-wide (kernel.pid_max), so near
             * that limit one repetition can fit and the next not, and Google Benchmark
             * 1.7.1 aborts on a case whose repetitions disagree (ComputeStats checks their
             * iteration counts before it skips the failed ones). */
            if (sizes[i] >= 10000 && !bench_quick())
                bench_repetitions(c, gl_port()->caps & GL_CAP_OS_THREADS ? 1 : 3);
        }
}
