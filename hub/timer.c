/* timer.c — the hub's timers: a binary min-heap on (deadline, sequence), so timers
 * fire in deadline order and equal deadlines in the order they were armed, whatever
 * the loop backend. */
#include <stdlib.h>
#include <time.h>
#include "hub_internal.h"

int64_t hub__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double hub_now(void) { return (double)hub__now_ns() / 1e9; }

static int earlier(const hub__timer *a, const hub__timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void place(hub__hub *h, size_t i, hub__timer *t)
{
    h->heap[i] = t;
    t->slot = i + 1;
}

static void sift_up(hub__hub *h, size_t i, hub__timer *t)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(t, h->heap[parent]))
            break;
        place(h, i, h->heap[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(hub__hub *h, size_t i, hub__timer *t)
{
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->heap_len)
            break;
        if (child + 1 < h->heap_len && earlier(h->heap[child + 1], h->heap[child]))
            child++;
        if (!earlier(h->heap[child], t))
            break;
        place(h, i, h->heap[child]);
        i = child;
    }
    place(h, i, t);
}

int hub__timer_start(hub__hub *h, hub__timer *t, double seconds)
{
    hub__timer_stop(h, t);
    if (h->heap_len == h->heap_cap) {
        size_t cap = h->heap_cap ? 2 * h->heap_cap : 64;
        hub__timer **heap = realloc(h->heap, cap * sizeof *heap);
        if (!heap)
            return hub__fail(GL_ENOMEM, NULL, "out of memory for a timer");
        h->heap = heap;
        h->heap_cap = cap;
    }
    if (seconds < 0)
        seconds = 0;
    /* Clamp far futures (a year) so the addition cannot overflow. */
    if (seconds > 3.2e7)
        seconds = 3.2e7;
    t->deadline = hub__now_ns() + (int64_t)(seconds * 1e9);
    t->seq = h->timer_seq++;
    sift_up(h, h->heap_len++, t);
    return HUB_OK;
}

void hub__timer_stop(hub__hub *h, hub__timer *t)
{
    if (!t->slot)
        return;
    size_t i = t->slot - 1;
    t->slot = 0;
    hub__timer *last = h->heap[--h->heap_len];
    if (last == t)
        return;
    if (i > 0 && earlier(last, h->heap[(i - 1) / 2]))
        sift_up(h, i, last);
    else
        sift_down(h, i, last);
}

void hub__timers_run(hub__hub *h, int64_t now)
{
    while (h->heap_len && h->heap[0]->deadline <= now) {
        hub__timer *t = h->heap[0];
        hub__timer_stop(h, t);
        t->fire(h, t);
    }
}

int64_t hub__timers_next(const hub__hub *h) { return h->heap_len ? h->heap[0]->deadline : -1; }
