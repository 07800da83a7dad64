/* limits.c — lowering this case's own address-space limit, for the cases that run a
 * port out of memory. Each case runs in a forked child, so the limit ends with it; the
 * soft limit goes back to where it was once the case has provoked what it wants. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include "suite.h"

static struct rlimit saved;
static int lowered;

void suite_limit_address_space(size_t headroom)
{
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f && fscanf(f, "%ld", &pages) == 1);
    fclose(f);
    CHECK_INT(getrlimit(RLIMIT_AS, &saved), 0);
    rlim_t limit = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (rlim_t)headroom;
    struct rlimit rl = {limit, saved.rlim_max};
    CHECK_INT(setrlimit(RLIMIT_AS, &rl), 0);
    lowered = 1;
    /* The limit must hold for what follows to mean anything: qemu-user accepts the
     * call and ignores it (it would bind the emulator), so an address-space reservation
     * far past it still succeeds there. */
    size_t probe_size = headroom + ((size_t)1 << 30);
    void *probe = mmap(NULL, probe_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
    if (probe != MAP_FAILED) {
        munmap(probe, probe_size);
        suite_restore_address_space();
        SKIP("RLIMIT_AS is not enforced here (under qemu-user the emulator ignores it, "
             "and the process's memory maps are shared with the emulator's own)");
    }
}

void suite_restore_address_space(void)
{
    if (lowered)
        CHECK_INT(setrlimit(RLIMIT_AS, &saved), 0);
    lowered = 0;
}
