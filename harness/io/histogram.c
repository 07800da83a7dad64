/* histogram.c — quantiles of the log-bucketed histogram (histogram.h). */
#include <math.h>
#include "histogram.h"

uint64_t hist_bucket_low(unsigned index)
{
    if (index < HIST_LINEAR)
        return index;
    unsigned k = index - HIST_LINEAR, exp = 6 + k / HIST_SUB, shift = exp - 5;
    return (uint64_t)(HIST_SUB + k % HIST_SUB) << shift;
}

uint64_t hist_bucket_width(unsigned index)
{
    return index < HIST_LINEAR ? 1 : (uint64_t)1 << (6 + (index - HIST_LINEAR) / HIST_SUB - 5);
}

double hist_quantile_ns(const histogram *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank)
            return (double)hist_bucket_low(i) + (double)(hist_bucket_width(i) - 1) / 2.0;
    }
    return (double)hist_bucket_low(HIST_BUCKETS - 1);
}
