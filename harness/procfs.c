/* procfs.c — small readers of /proc for the memory cases. */
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
