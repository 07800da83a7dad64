/* procfs.c — small readers of /proc: the memory cases' and the I/O load generator's. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "procfs.h"

long long procfs_read_number(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long v;
    int ok = fscanf(f, "%lld", &v) == 1;
    fclose(f);
    return ok ? v : -1;
}

long long procfs_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    long long size, resident;
    int ok = fscanf(f, "%lld %lld", &size, &resident) == 2;
    fclose(f);
    return ok ? resident * sysconf(_SC_PAGESIZE) : -1;
}

long long procfs_map_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    long long lines = 0;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    fclose(f);
    return lines;
}

/* The value of "<key>: <number>" in a /proc file of such lines. */
static long long field(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long long v = -1;
    size_t len = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, len) == 0 && line[len] == ':') {
            sscanf(line + len + 1, "%lld", &v);
            break;
        }
    fclose(f);
    return v;
}

long long procfs_thread_count(void) { return field("/proc/self/status", "Threads"); }

long long procfs_mem_available(void)
{
    long long kib = field("/proc/meminfo", "MemAvailable");
    return kib < 0 ? -1 : kib * 1024;
}

long long procfs_mem_total(void)
{
    long long kib = field("/proc/meminfo", "MemTotal");
    return kib < 0 ? -1 : kib * 1024;
}

int procfs_cpu_ticks(int pid, long long *user, long long *system)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) state ..." — comm may hold spaces and parentheses: start after the
     * last ')'. utime and stime are fields 14 and 15, the 12th and 13th after it. */
    const char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p++;
    for (int field_no = 3; field_no < 14; field_no++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return -1;
    }
    return sscanf(p, " %lld %lld", user, system) == 2 ? 0 : -1;
}

long long procfs_open_file_limit(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Max open files", 14) == 0) {
            if (sscanf(line + 14, "%lld", &v) != 1)
                v = -1; /* "unlimited" */
            break;
        }
    fclose(f);
    return v;
}
