/*
 * case_memory.c — what a suspended greenlet costs, and how many a process can hold.
 *
 *   memory/<port>         counter bytes_per_greenlet: RSS growth per suspended greenlet,
 *                         measured between N/4 and N greenlets so that pools and free
 *                         lists filled by earlier cases do not hide the cost.
 *   max_greenlets/<port>  counter max_greenlets: suspended greenlets created until the
 *                         first refusal or the cap; the label names the limit hit.
 *   max_greenlets/<port>/canary   the same with gl_set_stack_guard(GL_GUARD_CANARY):
 *                         what a pool without guard gaps holds (ports that offer it).
 *
 * A "suspended" greenlet has been started and switched back out of, as a real one
 * waiting on something would be. Both cases run once per repetition (iterations 1),
 * stop cleanly at the first refusal and destroy everything they created.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"
#include "cases.h"
#include "greenlet.h"
#include "limits.h"
#include "procfs.h"

#define MAX_CAP 1000000L
#define QUICK_CAP 2000L

static void *park(void *main)
{
    if (gl_switch(main, NULL, NULL) != GL_OK)
        return gl_reraise(); /* GreenletExit from gl_destroy: end quietly */
    return NULL;
}

/* Create and suspend one greenlet. GL_OK, or the error code (errno kept in *err). */
static int park_one(gl_greenlet **out, int *err)
{
    errno = 0;
    int rc = gl_new(out, park, NULL);
    *err = errno;
    if (rc != GL_OK)
        return rc;
    rc = gl_switch(*out, gl_current(), NULL);
    if (rc != GL_OK) {
        *err = errno;
        gl_destroy(*out);
        *out = NULL;
    }
    return rc;
}

/* Destroy greenlets [0, n) newest first; the number that failed to go. */
static long destroy_all(gl_greenlet **gs, long n)
{
    long failed = 0;
    while (n-- > 0)
        failed += gl_destroy(gs[n]) != GL_OK;
    return failed;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Up to `n` greenlets, RSS read after the first `warm`; the measured part also stops
 * after `budget` seconds (with at least `warm` measured), since a thread per greenlet
 * is slow to make and the figure is a per-greenlet mean either way. */
static void case_memory(bench_state *st, void *arg)
{
    (void)arg;
    long n = bench_quick() ? 2000 : 10000, warm = n / 8;
    double budget = bench_quick() ? 0.3 : 1.5;
    gl_greenlet **gs = calloc((size_t)n, sizeof *gs);
    if (!gs) {
        bench_fail(st, "out of memory for %ld pointers", n);
        return;
    }
    memset(gs, 0xff, (size_t)n * sizeof *gs); /* fault the array in before measuring */
    while (bench_keep_running_batch(st, 1)) {
        malloc_trim(0);
        long made = 0, rss0 = 0;
        int rc = GL_OK, err;
        struct timespec t0;
        for (; made < n; made++) {
            if (made == warm) {
                rss0 = procfs_rss_bytes();
                clock_gettime(CLOCK_MONOTONIC, &t0);
            } else if (made > 2 * warm && (made & 63) == 0 && seconds_since(&t0) > budget) {
                break;
            }
            if ((rc = park_one(&gs[made], &err)) != GL_OK)
                break;
        }
        long rss1 = procfs_rss_bytes();
        long failed = destroy_all(gs, made);
        if (rc != GL_OK) {
            bench_fail(st, "greenlet %ld of %ld refused: %s", made, n, gl_last_error()->message);
        } else if (failed) {
            bench_fail(st, "%ld greenlets could not be destroyed", failed);
        } else if (rss0 < 0 || rss1 < 0) {
            bench_fail(st, "cannot read /proc/self/statm");
        } else {
            bench_counter(st, "bytes_per_greenlet", (double)(rss1 - rss0) / (double)(made - warm));
            bench_counter(st, "greenlets", (double)made);
        }
    }
    free(gs);
}

/* ---- max_greenlets ------------------------------------------------------------- */

static void case_max_greenlets(bench_state *st, void *arg)
{
    int canary = arg != NULL;
    if (canary && gl_set_stack_guard(GL_GUARD_CANARY) != GL_OK) {
        bench_fail(st, "%s", gl_last_error()->message);
        return;
    }
    long cap = bench_quick() ? QUICK_CAP : MAX_CAP;
    gl_greenlet **gs = malloc((size_t)cap * sizeof *gs);
    if (!gs) {
        bench_fail(st, "out of memory for %ld pointers", cap);
        return;
    }
    while (bench_keep_running_batch(st, 1)) {
        long made = 0;
        int rc = GL_OK, err = 0, low = 0;
        char why[GL_ERROR_MESSAGE_MAX] = "";
        for (; made < cap; made++) {
            if ((made & 4095) == 0 && (low = bench_memory_low()))
                break;
            if ((rc = park_one(&gs[made], &err)) != GL_OK) {
                snprintf(why, sizeof why, "%s", gl_last_error()->message);
                break;
            }
        }
        const char *limit = made == cap ? NULL : bench_limit_hit(rc, err, low, NULL, 0);
        long long maps = procfs_map_count(), threads = procfs_thread_count();
        long long rss = procfs_rss_bytes();
        long failed = destroy_all(gs, made);
        if (failed) {
            bench_fail(st, "%ld of %ld greenlets could not be destroyed", failed, made);
            break;
        }
        if (limit)
            bench_label(st, "%s", limit);
        else
            bench_label(st, "cap %ld", cap);
        bench_counter(st, "max_greenlets", (double)made);
        bench_counter(st, "maps_at_stop", (double)maps);
        bench_counter(st, "threads_at_stop", (double)threads);
        bench_counter(st, "rss_mib_at_stop", (double)rss / (1 << 20));
        if (limit)
            fprintf(stderr, "max_greenlets/%s%s: stopped at %ld (%s): %s, errno %d (%s)\n",
                    gl_port()->name, canary ? "/canary" : "", made, limit,
                    low ? "memory below the harness's floor" : why, err, strerror(err));
    }
    free(gs);
    if (canary)
        gl_set_stack_guard(GL_GUARD_PAGE);
}

void bench_cases_memory(void)
{
    const char *port = gl_port()->name;
    bench_iterations(bench_use_real_time(bench_register(case_memory, NULL, "memory/%s", port)), 1);
    bench_iterations(
        bench_use_real_time(bench_register(case_max_greenlets, NULL, "max_greenlets/%s", port)), 1);
    if (gl_port()->caps & GL_CAP_GUARD_CANARY)
        bench_iterations(bench_use_real_time(bench_register(case_max_greenlets, "canary",
                                                            "max_greenlets/%s/canary", port)),
                         1);
}
