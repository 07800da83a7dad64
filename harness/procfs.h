/* procfs.h — the few facts about processes and the machine that the memory cases and
 * the I/O load generator read from /proc (all return -1 when the file cannot be read). */
#ifndef BENCH_PROCFS_H
#define BENCH_PROCFS_H

long long procfs_rss_bytes(void);          /* resident set size, /proc/self/statm */
long long procfs_map_count(void);          /* lines of /proc/self/maps */
long long procfs_thread_count(void);       /* Threads: in /proc/self/status */
long long procfs_mem_available(void);      /* MemAvailable: in /proc/meminfo, bytes */
long long procfs_mem_total(void);          /* MemTotal: in /proc/meminfo, bytes */
long long procfs_read_number(const char *path); /* first integer of a file ("max" = -1) */

/* Another process's CPU time in clock ticks (sysconf(_SC_CLK_TCK)), user and system,
 * all its threads, from /proc/<pid>/stat: 0, or -1 when it cannot be read. */
int procfs_cpu_ticks(int pid, long long *user, long long *system);
/* The soft open-file limit of a process (/proc/<pid>/limits), -1 if unknown/unlimited. */
long long procfs_open_file_limit(int pid);

#endif /* BENCH_PROCFS_H */
