/*
 * case_lifecycle.c — lifecycle/<port>: ns per greenlet created, run to completion and
 * destroyed (one iteration = one greenlet, one switch in and one out).
 */
#include "bench.h"
#include "cases.h"
#include "greenlet.h"

#define BATCH 64

static void *finish_at_once(void *arg) { return arg; }

static void case_lifecycle(bench_state *st, void *arg)
{
    (void)arg;
    while (bench_keep_running_batch(st, BATCH)) {
        for (int i = 0; i < BATCH; i++) {
            gl_greenlet *g;
            void *out = NULL;
            if (gl_new(&g, finish_at_once, NULL) != GL_OK) {
                bench_fail(st, "gl_new: %s", gl_last_error()->message);
                return;
            }
            int rc = gl_switch(g, g, &out);
            if (rc != GL_OK || out != g || !gl_dead(g)) {
                bench_fail(st, "gl_switch: %s", rc ? gl_last_error()->message : "wrong result");
                gl_destroy(g);
                return;
            }
            if (gl_destroy(g) != GL_OK) {
                bench_fail(st, "gl_destroy: %s", gl_last_error()->message);
                return;
            }
        }
    }
}

void bench_cases_lifecycle(void)
{
    bench_use_real_time(bench_register(case_lifecycle, NULL, "lifecycle/%s", gl_port()->name));
}
