/* limits.h — why a port stopped making greenlets: the machine limit it ran into, read
 * from /proc (max_greenlets, ring). */
#ifndef BENCH_LIMITS_H
#define BENCH_LIMITS_H

#include <stddef.h>

/* The harness stops on its own before the machine runs short (MemAvailable below 10 %
 * or 1 GiB): the refusal it stands for is "memory". */
int bench_memory_low(void);

/* Which limit the refusal (code `rc`, errno `err`) ran into: "vm.max_map_count",
 * "threads", "memory", "address space", or the error's name. With `detail`, also the
 * limit's value and where it comes from ("kernel.pid_max = 32768, machine-wide"). */
const char *bench_limit_hit(int rc, int err, int low_memory, char *detail, size_t size);

#endif /* BENCH_LIMITS_H */
