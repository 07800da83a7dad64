/*
 * echo.h — what every echo case shares (the greenlet hub's and the plain callback
 * baselines'): N connected TCP pairs over 127.0.0.1, the round-trip latency record, and
 * the counters they report.
 *
 * The workload: each client connection keeps exactly one 64-byte message in flight; the
 * server side echoes it; the client records the round trip and sends the next. One
 * benchmark iteration = one round trip (of any connection).
 */
#ifndef BENCH_ECHO_H
#define BENCH_ECHO_H

#include <stddef.h>
#include <stdint.h>
#include "bench.h"

#define ECHO_MSG 64
#define ECHO_STALL_NS (10ULL * 1000000000ULL) /* no round trip for this long: give up */

extern const int echo_conns[];   /* 1, 10, 100, 1000, 8000 */
extern const size_t echo_nconns;

/* Round trips one run measures: enough for a stable rate, bounded in time. */
int64_t echo_iterations(int conns);

/* n connected pairs: client[i] <-> server[i], non-blocking, TCP_NODELAY. Returns 0, or
 * -1 with a message in err (everything opened so far is closed again). */
int echo_open(int n, int *client, int *server, char *err, size_t errlen);
/* Close every descriptor with an abortive close (no TIME_WAIT left behind). */
void echo_close(int n, int *client, int *server);

uint64_t echo_now_ns(void);

/* Per-round-trip latencies, in a buffer allocated once (bounded: later ones are counted
 * but not stored). */
typedef struct echo_stats {
    uint32_t *lat_ns;
    size_t stored, cap;
    uint64_t round_trips; /* completed, all of them */
    uint64_t t0_ns, t1_ns; /* the timed span */
} echo_stats;

int echo_stats_init(echo_stats *s, int64_t iterations);
static inline void echo_stats_add(echo_stats *s, uint64_t latency_ns)
{
    if (s->stored < s->cap)
        s->lat_ns[s->stored++] = latency_ns > UINT32_MAX ? UINT32_MAX : (uint32_t)latency_ns;
    s->round_trips++;
}
/* Counters round_trips_per_s, p50_us, p99_us (and connections); frees the buffer. */
void echo_stats_report(echo_stats *s, bench_state *st, int conns);
void echo_stats_free(echo_stats *s);

#endif /* BENCH_ECHO_H */
