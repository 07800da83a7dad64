/* queue.c — Queue: a FIFO of pointers, bounded or not. An item put while getters wait
 * goes straight to the first of them, and a get from a full queue takes in the first
 * blocked putter's item, so blocked greenlets are served in the order they blocked. */
#include <stdlib.h>
#include "hub_internal.h"

struct hub_queue {
    hub__hub *hub;
    size_t maxsize;         /* 0: unbounded */
    void **ring;
    size_t cap, head, len;
    hub__waitq getters, putters;
};

static int grow(hub_queue *q)
{
    size_t cap = q->cap ? 2 * q->cap : 16;
    void **ring = malloc(cap * sizeof *ring);
    if (!ring)
        return hub__fail(GL_ENOMEM, NULL, "hub_queue: out of memory for %zu items", cap);
    for (size_t i = 0; i < q->len; i++)
        ring[i] = q->ring[(q->head + i) % q->cap];
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return HUB_OK;
}

static int push_back(hub_queue *q, void *item)
{
    if (q->len == q->cap && grow(q) != HUB_OK)
        return GL_ENOMEM;
    q->ring[(q->head + q->len++) % q->cap] = item;
    return HUB_OK;
}

static int push_front(hub_queue *q, void *item)
{
    if (q->len == q->cap && grow(q) != HUB_OK)
        return GL_ENOMEM;
    q->head = (q->head + q->cap - 1) % q->cap;
    q->ring[q->head] = item;
    q->len++;
    return HUB_OK;
}

static void *pop_front(hub_queue *q)
{
    void *item = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return item;
}

/* Hand queued items to blocked getters, in order. */
static void feed_getters(hub__hub *h, hub_queue *q)
{
    hub__waiter *w;
    while (q->len && (w = hub__waitq_first(&q->getters)))
        hub__waiter_resolve(h, w, HUB_OK, pop_front(q), NULL);
}

int hub_queue_new(hub_queue **out, size_t maxsize)
{
    if (!out)
        return hub__fail(GL_EINVAL, NULL, "hub_queue_new: `out` is NULL");
    *out = NULL;
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    hub_queue *q = calloc(1, sizeof *q);
    if (!q)
        return hub__fail(GL_ENOMEM, NULL, "hub_queue_new: out of memory");
    q->hub = h;
    q->maxsize = maxsize;
    *out = q;
    return HUB_OK;
}

int hub_queue_free(hub_queue *q)
{
    if (!q)
        return HUB_OK;
    if (q->getters.count || q->putters.count)
        return hub__fail(HUB_EBUSY, NULL, "hub_queue_free: %zu greenlets wait on it",
                         q->getters.count + q->putters.count);
    free(q->ring);
    free(q);
    return HUB_OK;
}

size_t hub_queue_size(const hub_queue *q) { return q ? q->len : 0; }

int hub_queue_put(hub_queue *q, void *item, double timeout)
{
    if (hub__check_seconds(timeout, "hub_queue_put") != HUB_OK)
        return GL_EINVAL;
    if (!q)
        return hub__fail(GL_EINVAL, NULL, "hub_queue_put: NULL");
    hub__hub *h = hub__for(q->hub, "hub_queue_put");
    if (!h)
        return gl_last_error()->code;
    hub__waiter *getter = hub__waitq_first(&q->getters);
    if (getter) {
        hub__waiter_resolve(h, getter, HUB_OK, item, NULL);
        return HUB_OK;
    }
    if (!q->maxsize || q->len < q->maxsize)
        return push_back(q, item);
    if (timeout == 0)
        return hub__fail(HUB_EFULL, NULL, "hub_queue_put: the queue is full (%zu items)", q->len);
    /* Resolved with HUB_OK, then interrupted before it ran: a getter already took the
     * item in, and it stays there; the interruption is still reported. */
    return hub__wait(h, &q->putters, timeout, HUB_EFULL, &item, NULL);
}

int hub_queue_get(hub_queue *q, double timeout, void **item)
{
    if (hub__check_seconds(timeout, "hub_queue_get") != HUB_OK)
        return GL_EINVAL;
    if (item)
        *item = NULL;
    if (!q)
        return hub__fail(GL_EINVAL, NULL, "hub_queue_get: NULL");
    hub__hub *h = hub__for(q->hub, "hub_queue_get");
    if (!h)
        return gl_last_error()->code;
    if (q->len) {
        void *got = pop_front(q);
        hub__waiter *putter = hub__waitq_first(&q->putters);
        if (putter) {
            push_back(q, putter->value); /* room was just made: cannot fail */
            hub__waiter_resolve(h, putter, HUB_OK, NULL, NULL);
        }
        if (item)
            *item = got;
        return HUB_OK;
    }
    if (timeout == 0)
        return hub__fail(HUB_EEMPTY, NULL, "hub_queue_get: the queue is empty");
    void *got = NULL;
    int granted;
    int rc = hub__wait(h, &q->getters, timeout, HUB_EEMPTY, &got, &granted);
    if (rc == HUB_OK) {
        if (item)
            *item = got;
    } else if (granted) {
        /* Handed an item, then interrupted before it ran: the item goes back first in
         * line, to the next blocked getter if there is one. Nothing is lost. */
        push_front(q, got);
        feed_getters(h, q);
    }
    return rc;
}
