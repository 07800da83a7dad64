/* callback.c — hub_run_callback (gevent's loop.run_callback): a function the hub calls
 * from its FIFO, in line with spawns and wake-ups. */
#include <stdlib.h>
#include "hub_internal.h"

struct hub_callback {
    hub__hub *hub;
    hub__cb cb;
    hub_callback_fn fn;
    void *arg;
    int refs; /* queued (until run or cancelled) + the caller's handle */
};

static void unref(hub_callback *c, int n)
{
    if ((c->refs -= n) == 0)
        free(c);
}

static void run(hub__hub *h, hub__cb *cb)
{
    (void)h;
    hub_callback *c = hub__container_of(cb, hub_callback, cb);
    c->fn(c->arg); /* in the hub: it cannot block */
    unref(c, 1);
}

int hub_run_callback(hub_callback **out, hub_callback_fn fn, void *arg)
{
    if (out)
        *out = NULL;
    if (!fn)
        return hub__fail(GL_EINVAL, NULL, "hub_run_callback: the function is NULL");
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    hub_callback *c = calloc(1, sizeof *c);
    if (!c)
        return hub__fail(GL_ENOMEM, NULL, "hub_run_callback: out of memory");
    c->hub = h;
    c->cb.fn = run;
    c->fn = fn;
    c->arg = arg;
    c->refs = out ? 2 : 1;
    hub__cb_queue(h, &c->cb);
    if (out)
        *out = c;
    return HUB_OK;
}

int hub_callback_pending(const hub_callback *c) { return c && hub__cb_queued(&c->cb); }

int hub_callback_cancel(hub_callback *c)
{
    if (!c)
        return hub__fail(GL_EINVAL, NULL, "hub_callback_cancel: NULL");
    hub__hub *h = hub__for(c->hub, "hub_callback_cancel");
    if (!h)
        return gl_last_error()->code;
    int queued = hub__cb_queued(&c->cb);
    hub__cb_cancel(h, &c->cb);
    unref(c, 1 + queued); /* the handle's reference, and the queue's if it still held one */
    return HUB_OK;
}
