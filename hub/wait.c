/* wait.c — hub_iwait and hub_wait (gevent's iwait and wait): a link on each object, as
 * a waiter that records the object's index when it is resolved, in the order the hub's
 * FIFO runs those wake-ups: the order the objects became ready. */
#include <stdlib.h>
#include "hub_internal.h"

struct hub_iwait {
    hub__hub *hub;
    size_t n;
    hub__waiter **links; /* per object, until its wake-up ran (then NULL) */
    size_t *ready;       /* indexes, in the order they became ready */
    size_t nready, taken;
    double deadline;     /* hub_now() seconds; negative: none */
    hub__waitq consumers; /* greenlets in hub_iwait_next */
};

static void ready_now(hub__hub *h, hub__waiter *w)
{
    hub_iwait *it = w->ctx;
    size_t i = w->index;
    it->links[i] = NULL;
    hub__waiter_free(h, w);
    it->ready[it->nready++] = i;
    hub__waiter *consumer = hub__waitq_first(&it->consumers);
    if (consumer)
        hub__waiter_resolve(h, consumer, HUB_OK, NULL, NULL);
}

/* The queue a link on `o` joins, and whether `o` is ready now; NULL (error recorded)
 * for a bad object. */
static hub__waitq *links_of(const hub_waitable *o, hub__hub *h, int *ready)
{
    hub__hub *owner = NULL;
    hub__waitq *q = NULL;
    switch (o->kind) {
    case HUB_WAIT_GREENLET:
        if (o->u.greenlet) {
            owner = o->u.greenlet->hub;
            *ready = o->u.greenlet->dead;
            q = &o->u.greenlet->joiners;
        }
        break;
    case HUB_WAIT_EVENT:
        if (o->u.event)
            q = hub__event_links(o->u.event, &owner, ready);
        break;
    case HUB_WAIT_ASYNC_RESULT:
        if (o->u.result)
            q = hub__async_result_links(o->u.result, &owner, ready);
        break;
    }
    if (!q) {
        hub__fail(GL_EINVAL, NULL, "hub_iwait: object of kind %d is NULL or of no known kind",
                  (int)o->kind);
        return NULL;
    }
    if (owner != h) {
        hub__fail(GL_ETHREAD, NULL, "hub_iwait: the object belongs to another thread's hub");
        return NULL;
    }
    return q;
}

int hub_iwait_new(hub_iwait **out, const hub_waitable *objects, size_t n, double timeout)
{
    if (!out)
        return hub__fail(GL_EINVAL, NULL, "hub_iwait_new: `out` is NULL");
    *out = NULL;
    if (!objects && n)
        return hub__fail(GL_EINVAL, NULL, "hub_iwait_new: the array is NULL");
    if (hub__check_seconds(timeout, "hub_iwait_new") != HUB_OK)
        return GL_EINVAL;
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    int ready;
    for (size_t i = 0; i < n; i++)
        if (!links_of(&objects[i], h, &ready))
            return gl_last_error()->code;
    hub_iwait *it = calloc(1, sizeof *it);
    hub__waiter **links = calloc(n ? n : 1, sizeof *links);
    size_t *order = calloc(n ? n : 1, sizeof *order);
    if (!it || !links || !order) {
        free(it);
        free(links);
        free(order);
        return hub__fail(GL_ENOMEM, NULL, "hub_iwait_new: out of memory for %zu objects", n);
    }
    it->hub = h;
    it->n = n;
    it->links = links;
    it->ready = order;
    it->deadline = timeout < 0 || __builtin_isinf(timeout) ? -1 : hub_now() + timeout;
    for (size_t i = 0; i < n; i++) {
        hub__waiter *w = hub__waiter_new(h);
        if (!w) {
            hub_iwait_free(it);
            return GL_ENOMEM;
        }
        w->notify = ready_now;
        w->ctx = it;
        w->index = i;
        links[i] = w;
        hub__waitq *q = links_of(&objects[i], h, &ready);
        /* Ready already: its wake-up is queued now, in array order (gevent's rawlink on
         * a ready object schedules its notification). */
        if (ready)
            hub__waiter_resolve(h, w, HUB_OK, NULL, NULL);
        else
            hub__waitq_push(q, w);
    }
    *out = it;
    return HUB_OK;
}

int hub_iwait_next(hub_iwait *it, size_t *index)
{
    if (!it || !index)
        return hub__fail(GL_EINVAL, NULL, "hub_iwait_next: %s is NULL", it ? "index" : "it");
    hub__hub *h = hub__for(it->hub, "hub_iwait_next");
    if (!h)
        return gl_last_error()->code;
    /* A loop: a consumer woken for an index another one took waits again. */
    while (it->taken == it->nready) {
        if (it->taken == it->n)
            return hub__fail(HUB_EDONE, NULL, "hub_iwait_next: all %zu objects were returned",
                             it->n);
        double left = HUB_FOREVER;
        if (it->deadline >= 0 && (left = it->deadline - hub_now()) <= 0)
            return hub__fail(HUB_ETIMEOUT, NULL, "hub_iwait_next: the iteration timed out");
        int rc = hub__wait(h, &it->consumers, left, HUB_ETIMEOUT, NULL, NULL);
        if (rc != HUB_OK)
            return rc;
    }
    *index = it->ready[it->taken++];
    return HUB_OK;
}

int hub_iwait_free(hub_iwait *it)
{
    if (!it)
        return HUB_OK;
    hub__hub *h = hub__for(it->hub, "hub_iwait_free");
    if (!h)
        return gl_last_error()->code;
    if (it->consumers.count)
        return hub__fail(HUB_EBUSY, NULL, "hub_iwait_free: %zu greenlets wait in it",
                         it->consumers.count);
    for (size_t i = 0; i < it->n; i++)
        if (it->links[i])
            hub__waiter_free(h, it->links[i]); /* unlinked; a queued wake-up is cancelled */
    free(it->links);
    free(it->ready);
    free(it);
    return HUB_OK;
}

int hub_wait(const hub_waitable *objects, size_t n, size_t count, double timeout, size_t *ready,
             size_t *nready)
{
    if (nready)
        *nready = 0;
    if (!ready && n)
        return hub__fail(GL_EINVAL, NULL, "hub_wait: `ready` is NULL");
    if (count == 0 || count > n)
        count = n;
    hub_iwait *it;
    int rc = hub_iwait_new(&it, objects, n, timeout);
    if (rc != HUB_OK)
        return rc;
    size_t k = 0;
    while (k < count && (rc = hub_iwait_next(it, &ready[k])) == HUB_OK)
        k++;
    if (nready)
        *nready = k;
    if (rc != HUB_OK) {
        gl_error saved = *gl_last_error();
        hub_iwait_free(it);
        return hub__fail(rc, saved.data, "%s", saved.message);
    }
    hub_iwait_free(it);
    return HUB_OK;
}
