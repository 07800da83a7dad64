/* semaphore.c — Semaphore, BoundedSemaphore and Lock. A release while greenlets wait
 * hands the unit to the first of them, so blocked acquirers are served in order. */
#include <stdlib.h>
#include "hub_internal.h"

struct hub_semaphore {
    hub__hub *hub;
    unsigned value, bound;
    hub__waitq waiters;
};

int hub_semaphore_new(hub_semaphore **out, unsigned value, unsigned bound)
{
    if (!out)
        return hub__fail(GL_EINVAL, NULL, "hub_semaphore_new: `out` is NULL");
    *out = NULL;
    if (bound && value > bound)
        return hub__fail(GL_EINVAL, NULL, "hub_semaphore_new: value %u above bound %u", value,
                         bound);
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    hub_semaphore *s = calloc(1, sizeof *s);
    if (!s)
        return hub__fail(GL_ENOMEM, NULL, "hub_semaphore_new: out of memory");
    s->hub = h;
    s->value = value;
    s->bound = bound;
    *out = s;
    return HUB_OK;
}

int hub_semaphore_free(hub_semaphore *s)
{
    if (!s)
        return HUB_OK;
    if (s->waiters.count)
        return hub__fail(HUB_EBUSY, NULL, "hub_semaphore_free: %zu greenlets wait on it",
                         s->waiters.count);
    free(s);
    return HUB_OK;
}

unsigned hub_semaphore_value(const hub_semaphore *s) { return s ? s->value : 0; }

static void give(hub__hub *h, hub_semaphore *s)
{
    hub__waiter *w = hub__waitq_first(&s->waiters);
    if (w)
        hub__waiter_resolve(h, w, HUB_OK, NULL, NULL); /* the unit goes to it */
    else
        s->value++;
}

int hub_semaphore_acquire(hub_semaphore *s, double timeout)
{
    if (hub__check_seconds(timeout, "hub_semaphore_acquire") != HUB_OK)
        return GL_EINVAL;
    if (!s)
        return hub__fail(GL_EINVAL, NULL, "hub_semaphore_acquire: NULL");
    hub__hub *h = hub__for(s->hub, "hub_semaphore_acquire");
    if (!h)
        return gl_last_error()->code;
    if (s->value > 0) {
        s->value--;
        return HUB_OK;
    }
    if (timeout == 0)
        return hub__fail(HUB_ETIMEOUT, NULL, "hub_semaphore_acquire: no unit available");
    int granted;
    int rc = hub__wait(h, &s->waiters, timeout, HUB_ETIMEOUT, NULL, &granted);
    if (granted)
        give(h, s); /* handed a unit, then interrupted: pass it on */
    return rc;
}

int hub_semaphore_release(hub_semaphore *s)
{
    if (!s)
        return hub__fail(GL_EINVAL, NULL, "hub_semaphore_release: NULL");
    hub__hub *h = hub__for(s->hub, "hub_semaphore_release");
    if (!h)
        return gl_last_error()->code;
    if (!s->waiters.count && s->bound && s->value >= s->bound)
        return hub__fail(HUB_ERELEASE, NULL, "Semaphore released too many times (bound %u)",
                         s->bound);
    give(h, s);
    return HUB_OK;
}

int hub_lock_new(hub_lock **out) { return hub_semaphore_new(out, 1, 1); }
int hub_lock_free(hub_lock *l) { return hub_semaphore_free(l); }
int hub_lock_acquire(hub_lock *l, double timeout) { return hub_semaphore_acquire(l, timeout); }

int hub_lock_release(hub_lock *l)
{
    if (l && !l->waiters.count && l->value >= 1)
        return hub__fail(HUB_ERELEASE, NULL, "hub_lock_release: the lock is not held");
    return hub_semaphore_release(l);
}
