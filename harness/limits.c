/* limits.c — the machine limit a port ran into (limits.h). */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include "greenlet.h"
#include "limits.h"
#include "procfs.h"

int bench_memory_low(void)
{
    long long avail = procfs_mem_available(), total = procfs_mem_total();
    if (avail < 0 || total < 0)
        return 0;
    long long floor = total / 10 > (1LL << 30) ? total / 10 : (1LL << 30);
    return avail < floor;
}

#define DETAIL(...) (detail ? (void)snprintf(detail, size, __VA_ARGS__) : (void)0)

const char *bench_limit_hit(int rc, int err, int low_memory, char *detail, size_t size)
{
    long long maps = procfs_map_count();
    long long max_maps = procfs_read_number("/proc/sys/vm/max_map_count");
    DETAIL("%s", gl_strerror(rc));
    if (maps >= 0 && max_maps > 0 && maps >= max_maps - 64) {
        DETAIL("%lld memory maps, vm.max_map_count = %lld", maps, max_maps);
        return "vm.max_map_count";
    }

    /* Thread ids are machine-wide (kernel.pid_max, kernel.threads-max); the cgroup and
     * RLIMIT_NPROC limits count other processes too: near any of them is "threads". */
    long long threads = procfs_thread_count();
    long long thread_limit = -1;
    const char *which = NULL;
    static const char *const limits[] = {"/proc/sys/kernel/threads-max", "/proc/sys/kernel/pid_max",
                                         "/sys/fs/cgroup/pids.max",
                                         "/sys/fs/cgroup/pids/pids.max"};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        long long v = procfs_read_number(limits[i]); /* -1: absent or "max" */
        if (v > 0 && (thread_limit < 0 || v < thread_limit))
            thread_limit = v, which = limits[i];
    }
    struct rlimit nproc;
    if (getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_cur != RLIM_INFINITY &&
        (thread_limit < 0 || (long long)nproc.rlim_cur < thread_limit))
        thread_limit = (long long)nproc.rlim_cur, which = "RLIMIT_NPROC";
    if ((threads > 1 && thread_limit > 0 && threads >= thread_limit - thread_limit / 16) ||
        (threads > 64 && err == EAGAIN)) { /* pthread_create's "no more threads" */
        DETAIL("%lld threads in this process; %s = %lld, counting every process's threads",
               threads, which ? which : "the thread limit", thread_limit);
        return "threads";
    }

    if (low_memory || rc == GL_ENOMEM || bench_memory_low()) {
        DETAIL("MemAvailable %lld MiB of %lld MiB (the harness stops below 10 %% or 1 GiB)",
               procfs_mem_available() >> 20, procfs_mem_total() >> 20);
        return "memory";
    }
    if (rc == GL_ENOSTACK && err == ENOMEM) {
        DETAIL("mmap: %s", "out of address space (RLIMIT_AS or the machine's)");
        return "address space";
    }
    return gl_strerror(rc);
}
