/* procfs.h — the few facts about this process and machine that the memory cases read
 * from /proc (all return -1 when the file cannot be read). */
#ifndef BENCH_PROCFS_H
#define BENCH_PROCFS_H

long long procfs_rss_bytes(void);          /* resident set size, /proc/self/statm */
long long procfs_map_count(void);          /* lines of /proc/self/maps */
long long procfs_thread_count(void);       /* Threads: in /proc/self/status */
long long procfs_mem_available(void);      /* MemAvailable: in /proc/meminfo, bytes */
long long procfs_mem_total(void);          /* MemTotal: in /proc/meminfo, bytes */
long long procfs_read_number(const char *path); /* first integer of a file ("max" = -1) */

#endif /* BENCH_PROCFS_H */
