/*
 * case_hub.c — the hub on each port and each loop backend (include/hub.h).
 *
 *   hub_sleep0/<port>/<loop>/<N>  ns per hub_sleep(0) in a round robin of N greenlets
 *                                 (the main greenlet and N-1 spawned ones): one
 *                                 iteration = one greenlet yields and the next resumes
 *   hub_timers/<port>/<loop>      ns per timer armed + fired + greenlet resumed
 *                                 (hub_sleep of 1 ns in a loop: the timer path, never
 *                                 the FIFO shortcut of sleep(0))
 *
 * I/O is measured by harness/io/: the hub's server in a process of its own, driven by an
 * external load generator (a client on the same hub would share its CPU).
 *
 * Every run creates its hub with the loop it wants (hub_set_loop) and destroys it at
 * the end (hub_destroy), so runs of both loops can interleave in one process.
 */
#include <stdlib.h>
#include "bench.h"
#include "cases.h"
#include "greenlet.h"
#include "hub.h"

static const char *const loops[] = {"libev", "libuv"};
#define NLOOPS (sizeof loops / sizeof *loops)

/* hub_set_loop + a hub that exists: 0, or the run is failed with the reason. */
static int hub_up(bench_state *st, const char *loop)
{
    if (hub_set_loop(loop) != HUB_OK || !hub_loop_name()) {
        bench_fail(st, "hub on %s: %s", loop, gl_last_error()->message);
        return -1;
    }
    return 0;
}

static void hub_down(bench_state *st)
{
    if (hub_destroy() != HUB_OK)
        bench_fail(st, "hub_destroy: %s", gl_last_error()->message);
}

/* Wait for and release spawned greenlets. */
static int join_release(hub_greenlet **gs, size_t n)
{
    int rc = hub_joinall(gs, n, 30.0);
    for (size_t i = 0; i < n; i++)
        hub_greenlet_release(gs[i]);
    return rc;
}

/* ---- hub_sleep0 ------------------------------------------------------------------------- */

typedef struct sleep_case {
    const char *loop;
    int n;
} sleep_case;

static volatile int sleepers_stop;

static void *sleeper(void *arg)
{
    (void)arg;
    while (!sleepers_stop)
        if (hub_sleep(0) != HUB_OK)
            return gl_reraise();
    return NULL;
}

static void case_hub_sleep0(bench_state *st, void *arg)
{
    const sleep_case *c = arg;
    if (hub_up(st, c->loop) != 0)
        return;
    size_t workers = (size_t)c->n - 1;
    hub_greenlet **gs = calloc(workers ? workers : 1, sizeof *gs);
    size_t made = 0;
    sleepers_stop = 0;
    if (!gs) {
        bench_fail(st, "out of memory");
    } else {
        for (; made < workers; made++)
            if (hub_spawn(&gs[made], sleeper, NULL) != HUB_OK) {
                bench_fail(st, "hub_spawn: %s", gl_last_error()->message);
                break;
            }
        if (hub_sleep(0) != HUB_OK) /* every worker starts and queues up once */
            bench_fail(st, "hub_sleep: %s", gl_last_error()->message);
        else if (made == workers)
            /* Each of main's sleep(0) lets every worker sleep(0) once: n per round. */
            while (bench_keep_running_batch(st, c->n))
                if (hub_sleep(0) != HUB_OK) {
                    bench_fail(st, "hub_sleep: %s", gl_last_error()->message);
                    break;
                }
        sleepers_stop = 1;
        if (join_release(gs, made) != HUB_OK)
            bench_fail(st, "the sleepers did not end: %s", gl_last_error()->message);
    }
    free(gs);
    hub_down(st);
}

/* ---- hub_timers --------------------------------------------------------------------------- */

static void case_hub_timers(bench_state *st, void *arg)
{
    const char *loop = arg;
    if (hub_up(st, loop) != 0)
        return;
    while (bench_keep_running_batch(st, 100))
        for (int i = 0; i < 100; i++)
            if (hub_sleep(1e-9) != HUB_OK) {
                bench_fail(st, "hub_sleep: %s", gl_last_error()->message);
                goto out;
            }
out:
    hub_down(st);
}

void bench_cases_hub(void)
{
    const char *port = gl_port()->name;
    static sleep_case sleeps[NLOOPS][2];
    static const int rounds[] = {10, 1000};
    for (size_t l = 0; l < NLOOPS; l++) {
        for (size_t i = 0; i < 2; i++) {
            sleeps[l][i] = (sleep_case){loops[l], rounds[i]};
            bench_use_real_time(bench_register(case_hub_sleep0, &sleeps[l][i],
                                               "hub_sleep0/%s/%s/%d", port, loops[l], rounds[i]));
        }
        bench_use_real_time(
            bench_register(case_hub_timers, (void *)loops[l], "hub_timers/%s/%s", port, loops[l]));
    }
}
