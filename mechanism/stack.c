/* stack.c — mmap'd stacks with a guard page, and a pool that recycles them. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "stack.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GL_VALGRIND 1
#endif
#endif
#ifndef GL_VALGRIND
#define GL_VALGRIND 0
#endif

#if GL_ASAN
__thread gl__fiber *gl__fiber_leaving;
#endif

/* Pooled stacks of any size, most recently freed first; a pooled stack keeps its
 * mapping and its valgrind registration. */
#define POOL_MAX 256
static struct {
    pthread_mutex_t lock;
    size_t count;
    gl__stack items[POOL_MAX];
} pool = {PTHREAD_MUTEX_INITIALIZER, 0, {{0}}};

static size_t page_size(void)
{
    static size_t page;
    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static int pool_take(gl__stack *s, size_t map_size)
{
    int found = 0;
    pthread_mutex_lock(&pool.lock);
    for (size_t i = pool.count; i-- > 0;) {
        if (pool.items[i].map_size == map_size) {
            *s = pool.items[i];
            pool.items[i] = pool.items[--pool.count];
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&pool.lock);
    return found;
}

int gl__stack_alloc(gl__stack *s, size_t size)
{
    size_t page = page_size();
    size_t usable = (size + page - 1) & ~(page - 1);
    size_t map_size = usable + page; /* one guard page below */
    if (map_size < usable) {
        errno = ENOMEM;
        return GL_ENOSTACK;
    }
    if (pool_take(s, map_size))
        return GL_OK;
    void *m = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED)
        return GL_ENOSTACK;
    if (mprotect(m, page, PROT_NONE) != 0) { /* fails when vm.max_map_count is reached */
        int e = errno;
        munmap(m, map_size);
        errno = e;
        return GL_ENOSTACK;
    }
    s->mapping = m;
    s->map_size = map_size;
    s->lo = (char *)m + page;
    s->hi = (char *)m + map_size;
#if GL_VALGRIND
    s->valgrind_id = VALGRIND_STACK_REGISTER(s->lo, s->hi);
#else
    s->valgrind_id = 0;
#endif
    return GL_OK;
}

void gl__stack_free(gl__stack *s)
{
    if (!s->mapping)
        return;
#if GL_ASAN
    /* Frames that never returned leave their redzones poisoned. */
    ASAN_UNPOISON_MEMORY_REGION(s->lo, (char *)s->hi - (char *)s->lo);
#endif
    int pooled = 0;
    pthread_mutex_lock(&pool.lock);
    if (pool.count < POOL_MAX) {
        pool.items[pool.count++] = *s;
        pooled = 1;
    }
    pthread_mutex_unlock(&pool.lock);
    if (!pooled) {
#if GL_VALGRIND
        VALGRIND_STACK_DEREGISTER(s->valgrind_id);
#endif
        munmap(s->mapping, s->map_size);
    }
    memset(s, 0, sizeof *s);
}
