/*
 * case_memory.c — what a suspended greenlet costs, and how many a process can hold.
 *
 *   memory/<port>         counter bytes_per_greenlet: RSS growth per suspended greenlet,
 *                         measured between N/4 and N greenlets so that pools and free
 *                         lists filled by earlier cases do not hide the cost.
 *   max_greenlets/<port>  counter max_greenlets: suspended greenlets created until the
 *                         first refusal or the cap; the label names the limit hit.
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
#include <sys/resource.h>
#include <time.h>
#include "bench.h"
#include "cases.h"
#include "greenlet.h"
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

/* The harness stops on its own before the machine runs short: the refusal it stands
 * for is "memory". */
static int memory_low(void)
{
    long long avail = procfs_mem_available(), total = procfs_mem_total();
    if (avail < 0 || total < 0)
        return 0;
    long long floor = total / 10 > (1LL << 30) ? total / 10 : (1LL << 30);
    return avail < floor;
}

/* Which limit did the refusal (code `rc`, errno `err`) run into? */
static const char *limit_hit(int rc, int err, int low_memory)
{
    long long maps = procfs_map_count();
    long long max_maps = procfs_read_number("/proc/sys/vm/max_map_count");
    if (maps >= 0 && max_maps > 0 && maps >= max_maps - 64)
        return "vm.max_map_count";

    /* Thread ids are machine-wide (kernel.pid_max, kernel.threads-max); the cgroup and
     * RLIMIT_NPROC limits count other processes too: near any of them is "threads". */
    long long threads = procfs_thread_count();
    long long thread_limit = -1;
    static const char *const limits[] = {"/proc/sys/kernel/threads-max", "/proc/sys/kernel/pid_max",
                                         "/sys/fs/cgroup/pids.max",
                                         "/sys/fs/cgroup/pids/pids.max"};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        long long v = procfs_read_number(limits[i]); /* -1: absent or "max" */
        if (v > 0 && (thread_limit < 0 || v < thread_limit))
            thread_limit = v;
    }
    struct rlimit nproc;
    if (getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_cur != RLIM_INFINITY &&
        (thread_limit < 0 || (long long)nproc.rlim_cur < thread_limit))
        thread_limit = (long long)nproc.rlim_cur;
    if (threads > 1 && thread_limit > 0 && threads >= thread_limit - thread_limit / 16)
        return "threads";
    if (threads > 64 && err == EAGAIN) /* pthread_create's "no more threads" */
        return "threads";

    if (low_memory || rc == GL_ENOMEM || memory_low())
        return "memory";
    if (rc == GL_ENOSTACK && err == ENOMEM)
        return "address space";
    return gl_strerror(rc);
}

static void case_max_greenlets(bench_state *st, void *arg)
{
    (void)arg;
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
            if ((made & 4095) == 0 && (low = memory_low()))
                break;
            if ((rc = park_one(&gs[made], &err)) != GL_OK) {
                snprintf(why, sizeof why, "%s", gl_last_error()->message);
                break;
            }
        }
        const char *limit = made == cap ? NULL : limit_hit(rc, err, low);
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
            fprintf(stderr, "max_greenlets/%s: stopped at %ld (%s): %s, errno %d (%s)\n",
                    gl_port()->name, made, limit, low ? "memory below the harness's floor" : why,
                    err, strerror(err));
    }
    free(gs);
}

void bench_cases_memory(void)
{
    const char *port = gl_port()->name;
    bench_iterations(bench_use_real_time(bench_register(case_memory, NULL, "memory/%s", port)), 1);
    bench_iterations(
        bench_use_real_time(bench_register(case_max_greenlets, NULL, "max_greenlets/%s", port)), 1);
}
