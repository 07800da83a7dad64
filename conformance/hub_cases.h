/* hub_cases.h — small helpers shared by the hub's conformance files (hub_*.c). */
#ifndef HUB_CASES_H
#define HUB_CASES_H

#include <dirent.h>

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define HUB_CASES_ASAN 1
#else
#define HUB_CASES_ASAN 0
#endif

/* Descriptors open in this process now (/proc/self/fd, not counting the one reading
 * it), or -1. */
static inline int hub_cases_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

#endif /* HUB_CASES_H */
