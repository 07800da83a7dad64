/*
 * histogram.h — a log-bucketed latency histogram (HdrHistogram's layout, fixed size):
 * values below 64 ns have a bucket each; above, every power of two is split into 32
 * buckets, so a percentile is within 1/32 (~3 %) of the true value whatever its size,
 * up to 2^37 ns (~137 s; larger values land in the last bucket). Recording is an index
 * computation and an increment: cheap enough for every round trip.
 */
#ifndef IO_HISTOGRAM_H
#define IO_HISTOGRAM_H

#include <stdint.h>

#define HIST_LINEAR 64  /* values 0..63 ns: one bucket each */
#define HIST_SUB 32     /* buckets per power of two above */
#define HIST_TOP_EXP 37 /* 2^37 ns and above: the last bucket */
#define HIST_BUCKETS (HIST_LINEAR + (HIST_TOP_EXP - 6) * HIST_SUB)

typedef struct histogram {
    uint64_t count;
    uint64_t buckets[HIST_BUCKETS];
} histogram;

static inline unsigned hist_index(uint64_t ns)
{
    if (ns < HIST_LINEAR)
        return (unsigned)ns;
    unsigned exp = 63u - (unsigned)__builtin_clzll(ns); /* >= 6 */
    if (exp >= HIST_TOP_EXP)
        return HIST_BUCKETS - 1;
    unsigned shift = exp - 5; /* (ns >> shift) is in [32, 63] */
    return HIST_LINEAR + (exp - 6) * HIST_SUB + (unsigned)((ns >> shift) - HIST_SUB);
}

static inline void hist_record(histogram *h, uint64_t ns)
{
    h->buckets[hist_index(ns)]++;
    h->count++;
}

/* The value at quantile q (0..1): the middle of the bucket holding the ceil(q*count)-th
 * smallest value; 0 for an empty histogram. */
double hist_quantile_ns(const histogram *h, double q);

/* The lowest value a bucket holds, and its width (for tests). */
uint64_t hist_bucket_low(unsigned index);
uint64_t hist_bucket_width(unsigned index);

#endif /* IO_HISTOGRAM_H */
