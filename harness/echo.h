/*
 * echo.h — what every echo case shares (the greenlet hub's and the plain callback
 * baselines'): N connected TCP pairs over 127.0.0.1, the round-trip latency record, and
 * the counters they report.
 *
 * The workload: each client connection keeps exactly one 64-byte message in flight; the
 * server side echoes it; the client records the round trip and sends the next.
 *
 * One benchmark iteration = one measurement window (iterations 1 per repetition): it
 * lasts until every connection made about two round trips, then until a time span
 * passes or the latency buffer is full, so a slow port costs bounded time and a fast
 * one is not cut short. The figures are the counters round_trips_per_s, p50_us,
 * p99_us over the window; the time Google Benchmark reports is the window's length.
 */
#ifndef BENCH_ECHO_H
#define BENCH_ECHO_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "bench.h"

#define ECHO_MSG 64
#define ECHO_STALL_NS (10ULL * 1000000000ULL) /* no round trip for this long: give up */
/* Repetitions of each echo case in a full run (not the other cases' 5): at 8000
 * connections a thread per greenlet takes tens of seconds per run. */
#define ECHO_REPETITIONS 3

extern const int echo_conns[];   /* 1, 10, 100, 1000, 8000 (quick: 1, 100, 1000) */
extern const size_t echo_nconns;

/* Register one echo case per loop x connection count: fn(st, &cases[i]) under
 * "<prefix>/<loop>/<conns>" (the prefix carries the port, or "baseline_echo"). */
typedef struct echo_case {
    const char *loop;
    int conns;
} echo_case;
void echo_register(bench_fn fn, const char *loop, const char *prefix);

/* n connected pairs: client[i] <-> server[i], non-blocking, TCP_NODELAY. Returns 0, or
 * -1 with a message in err (everything opened so far is closed again). */
int echo_open(int n, int *client, int *server, char *err, size_t errlen);
/* Close every descriptor with an abortive close (no TIME_WAIT left behind). */
void echo_close(int n, int *client, int *server);

static inline uint64_t echo_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Per-round-trip latencies of one window, in a buffer allocated once. */
typedef struct echo_stats {
    uint64_t *lat_ns;
    size_t stored, cap;
    uint64_t round_trips;
    uint64_t t0_ns, t1_ns;  /* the window */
    uint64_t min_round_trips, window_ns;
    int done;               /* the window is over */
    uint64_t seen, seen_ns; /* echo_stats_stalled: progress at its last look */
} echo_stats;

int echo_stats_init(echo_stats *s, int conns);
/* Open the window: from now on round trips count. */
void echo_stats_start(echo_stats *s);
/* One round trip sent at sent_ns came back now. Returns 1 once the window is over. */
static inline int echo_stats_add(echo_stats *s, uint64_t sent_ns)
{
    uint64_t now = echo_now_ns();
    /* Latency only of messages sent inside the window: the first ones waited for the
     * start-up of every connection. */
    if (s->stored < s->cap && sent_ns >= s->t0_ns)
        s->lat_ns[s->stored++] = now - sent_ns;
    s->round_trips++;
    if (!s->done && s->round_trips >= s->min_round_trips &&
        (s->stored == s->cap || now - s->t0_ns >= s->window_ns)) {
        s->done = 1;
        s->t1_ns = now;
    }
    return s->done;
}
/* For a watchdog, called now and then: 1 when no round trip completed for
 * ECHO_STALL_NS (a lost message or a hung port ends the case instead of the run). */
int echo_stats_stalled(echo_stats *s);
/* Counters round_trips_per_s, p50_us, p99_us (and connections). */
void echo_stats_report(echo_stats *s, bench_state *st, int conns);
void echo_stats_free(echo_stats *s);

#endif /* BENCH_ECHO_H */
