/* waiter.c — one blocked call: how a greenlet waits in the hub and how it is woken.
 * A waiter is woken at most once; its resume (a switch, or a throw for an error) runs
 * from the hub's FIFO. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hub_internal.h"

void hub__waitq_push(hub__waitq *q, hub__waiter *w)
{
    w->q = q;
    hub__list_push(&q->list, &w->node);
    q->count++;
}

void hub__waitq_remove(hub__waitq *q, hub__waiter *w)
{
    hub__list_remove(&q->list, &w->node);
    w->q = NULL;
    q->count--;
}

static void resume(hub__hub *h, hub__cb *cb)
{
    hub__waiter *w = hub__container_of(cb, hub__waiter, resume);
    void *value;
    int rc;
    if (w->notify) {
        w->notify(h, w);
        return;
    }
    /* The waiter itself is the value: anything else arriving there is a foreign switch.
     * After the switch the waiter may be gone (its greenlet frees it). */
    if (w->code == HUB_OK)
        rc = gl_switch(w->greenlet, w, &value);
    else
        rc = gl_throw_r(w->greenlet, &value, w->code, w->value, "%s", w->message);
    hub__after_switch(h, rc, value);
}

static void timed_out(hub__hub *h, hub__timer *t)
{
    hub__waiter *w = hub__container_of(t, hub__waiter, timer);
    hub__waiter_resolve(h, w, w->timeout_code, NULL, "%s after %g s", hub_strerror(w->timeout_code),
                        w->timeout_seconds);
}

hub__waiter *hub__waiter_new(hub__hub *h)
{
    hub__waiter *w;
    hub__node *last_freed = h->free_waiters.tail; /* the warmest */
    if (last_freed) {
        hub__list_remove(&h->free_waiters, last_freed);
        w = hub__container_of(last_freed, hub__waiter, node);
    } else if (!(w = malloc(sizeof *w))) {
        hub__fail(GL_ENOMEM, NULL, "out of memory for a waiter");
        return NULL;
    }
    /* Field by field: clearing the message buffer too would cost more than the wait. */
    w->q = NULL;
    w->greenlet = gl_current();
    w->state = HUB__WAITING;
    w->code = HUB_OK;
    w->value = NULL;
    w->timer.slot = 0;
    w->timer.fire = timed_out;
    w->resume.prev = w->resume.next = NULL;
    w->resume.fn = resume;
    w->notify = NULL;
    w->message[0] = 0;
    return w;
}

void hub__waiter_free(hub__hub *h, hub__waiter *w)
{
    if (w->q)
        hub__waitq_remove(w->q, w);
    hub__timer_stop(h, &w->timer);
    hub__cb_cancel(h, &w->resume);
    hub__list_push(&h->free_waiters, &w->node);
}

void hub__waiters_release(hub__hub *h)
{
    hub__node *n;
    while ((n = h->free_waiters.head)) {
        hub__list_remove(&h->free_waiters, n);
        free(hub__container_of(n, hub__waiter, node));
    }
}

void hub__waiter_resolve(hub__hub *h, hub__waiter *w, int code, void *value, const char *fmt, ...)
{
    if (w->state != HUB__WAITING)
        return;
    w->state = HUB__RESOLVED;
    w->code = code;
    w->value = value;
    if (code != HUB_OK && fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->message, sizeof w->message, fmt, ap);
        va_end(ap);
    }
    if (w->q)
        hub__waitq_remove(w->q, w);
    hub__timer_stop(h, &w->timer);
    hub__cb_queue(h, &w->resume);
}

void hub__waiter_resolve_behind(hub__hub *h, hub__waiter *w, hub__waitq *q)
{
    hub__waiter *last = q->list.tail ? hub__container_of(q->list.tail, hub__waiter, node) : NULL;
    w->state = HUB__RESOLVED;
    w->code = HUB_OK;
    hub__waitq_push(q, w);
    hub__cb_queue_after(h, last ? &last->resume : NULL, &w->resume);
}

int hub__block(hub__hub *h, hub__waiter *w)
{
    if (w->greenlet == h->greenlet)
        return hub__fail(HUB_EBLOCKING, NULL,
                         "the hub cannot block: this call would have to wait");
    void *value;
    int rc = gl_switch(h->greenlet, NULL, &value);
    if (rc != GL_OK)
        return rc; /* thrown into us: a timeout, a kill, a closed descriptor, ... */
    if (value != w)
        return hub__fail(HUB_EINVALIDSWITCH, NULL,
                         "Invalid switch into a greenlet waiting in the hub (value %p)", value);
    return HUB_OK;
}
