/* sleep.c — hub_sleep() and hub_timeout (gevent's Timeout: an error raised in the
 * greenlet that started it, wherever that greenlet waits). */
#include <stdlib.h>
#include "hub_internal.h"

int hub_sleep(double seconds)
{
    if (!(seconds >= 0)) /* negative or NaN; +infinity sleeps until woken otherwise */
        return hub__fail(GL_EINVAL, NULL, "hub_sleep: the duration %g is not a number >= 0",
                         seconds);
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    /* 0: resumed from the FIFO's tail, so sleep(0) is round robin. */
    return hub__wait(h, NULL, seconds, HUB_OK, NULL, NULL);
}

/* ---- hub_timeout ---------------------------------------------------------------------- */

static void raise_now(hub__hub *h, hub__cb *cb)
{
    hub_timeout *t = hub__container_of(cb, hub_timeout, raise);
    if (!t->owner)
        return;
    void *value;
    /* The owner may cancel (free) t before this returns: do not touch t after. */
    int rc = gl_throw_r(t->owner, &value, HUB_ETIMEOUT, t, "timed out after %g s", t->seconds);
    hub__after_switch(h, rc, value);
}

static void due(hub__hub *h, hub__timer *timer)
{
    hub__cb_queue(h, &hub__container_of(timer, hub_timeout, timer)->raise);
}

static void unlink_owner(hub_timeout *t)
{
    if (t->owner_hg)
        hub__list_remove(&t->owner_hg->timeouts, &t->node);
    t->owner_hg = NULL;
}

int hub_timeout_start(hub_timeout **out, double seconds)
{
    if (!out)
        return hub__fail(GL_EINVAL, NULL, "hub_timeout_start: `out` is NULL");
    *out = NULL;
    if (hub__check_seconds(seconds, "hub_timeout_start") != HUB_OK)
        return GL_EINVAL;
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    gl_greenlet *self = gl_current();
    if (self == h->greenlet)
        return hub__fail(HUB_EBLOCKING, NULL, "hub_timeout_start: the hub cannot time out");
    hub_timeout *t = calloc(1, sizeof *t);
    if (!t)
        return hub__fail(GL_ENOMEM, NULL, "hub_timeout_start: out of memory");
    t->hub = h;
    t->owner = self;
    t->seconds = seconds;
    t->timer.fire = due;
    t->raise.fn = raise_now;
    if (seconds >= 0 && !__builtin_isinf(seconds)) { /* else it never fires */
        int rc = hub__timer_start(h, &t->timer, seconds);
        if (rc != HUB_OK) {
            free(t);
            return rc;
        }
    }
    /* A hub greenlet is freed when it dies: its timeouts must forget it then. */
    hub_greenlet *g = hub_current();
    if (g) {
        t->owner_hg = g;
        hub__list_push(&g->timeouts, &t->node);
    }
    *out = t;
    return HUB_OK;
}

int hub_timeout_cancel(hub_timeout *t)
{
    if (!t)
        return hub__fail(GL_EINVAL, NULL, "hub_timeout_cancel: NULL");
    hub__hub *h = hub__for(t->hub, "hub_timeout_cancel");
    if (!h)
        return gl_last_error()->code;
    hub__timer_stop(h, &t->timer);
    hub__cb_cancel(h, &t->raise);
    unlink_owner(t);
    free(t);
    return HUB_OK;
}

int hub_with_timeout(double seconds, hub_timed_fn fn, void *arg, int *timed_out)
{
    if (timed_out)
        *timed_out = 0;
    if (!fn)
        return hub__fail(GL_EINVAL, NULL, "hub_with_timeout: the function is NULL");
    hub_timeout *t;
    int rc = hub_timeout_start(&t, seconds);
    if (rc != HUB_OK)
        return rc;
    rc = fn(arg);
    int mine = rc == HUB_ETIMEOUT && gl_last_error()->data == t;
    hub_timeout_cancel(t); /* records no error: fn's stays the last one */
    if (!mine)
        return rc;
    if (timed_out) {
        *timed_out = 1;
        return HUB_OK;
    }
    return hub__fail(HUB_ETIMEOUT, NULL, "hub_with_timeout: timed out after %g s", seconds);
}

void hub__timeouts_orphan(hub_greenlet *g)
{
    while (g->timeouts.head) {
        hub_timeout *t = hub__container_of(g->timeouts.head, hub_timeout, node);
        hub__timer_stop(t->hub, &t->timer);
        hub__cb_cancel(t->hub, &t->raise);
        t->owner = NULL;
        unlink_owner(t);
    }
}
