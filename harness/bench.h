/*
 * bench.h — Google Benchmark, seen from C (harness/shim.cc is the only C++).
 *
 * A benchmark case is a plain C function that runs its own timed loop:
 *
 *   static void case_switch(bench_state *st, void *arg)
 *   {
 *       ...setup (not timed: the clock starts at the first bench_keep_running_batch)...
 *       while (bench_keep_running_batch(st, 1000))
 *           ...1000 iterations of the measured operation...
 *       ...teardown (not timed)...
 *       bench_counter(st, "bytes_per_greenlet", x);
 *   }
 *   bench_register(case_switch, NULL, "switch/%s", gl_port()->name);
 *
 * The loop stays on the C side, so the shim's call costs once per batch, not once per
 * iteration. A case either runs its loop until bench_keep_running_batch() says stop,
 * or calls bench_fail() and returns (Google Benchmark insists on one or the other).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bench_state bench_state; /* benchmark::State */
typedef struct bench_case bench_case;   /* benchmark::internal::Benchmark */
typedef void (*bench_fn)(bench_state *st, void *arg);

/* Register `fn(st, arg)` under a printf-style name. Returns the case, to set options, or
 * NULL when --only / --except leave it out (the option setters accept NULL). */
bench_case *bench_register(bench_fn fn, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Options of a registered case (each returns its argument, for chaining). */
bench_case *bench_use_real_time(bench_case *c);      /* wall clock, not this thread's CPU */
bench_case *bench_iterations(bench_case *c, int64_t n); /* fixed count instead of min time */
bench_case *bench_repetitions(bench_case *c, int n); /* overrides --benchmark_repetitions */

/* The timed loop: true while more iterations are wanted; each true counts `n`. */
int bench_keep_running_batch(bench_state *st, int64_t n);
/* Stop / restart the clock inside the loop (costly: keep it out of hot paths). */
void bench_pause_timing(bench_state *st);
void bench_resume_timing(bench_state *st);

/* Results of this run: a plain counter, a label, or an error that voids the run. */
void bench_counter(bench_state *st, const char *name, double value);
void bench_label(bench_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bench_fail(bench_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Harness options, parsed by bench_init() after Google Benchmark took its own flags
 * (so the cases must register after it):
 *   --quick            smoke run: smaller workloads
 *   --only=PREFIX      register only the cases whose name starts with PREFIX
 *   --except=PREFIX    register all but those (run.sh runs the limit probe
 *                      max_greenlets in a process of its own this way) */
int bench_quick(void);

/* Parse the command line (Google Benchmark's flags, then ours); 0 or exit status 2. */
int bench_init(int argc, char **argv);
/* Run every registered case that the filter selects; the process exit status. */
int bench_run(void);

#ifdef __cplusplus
}
#endif
#endif /* BENCH_H */
