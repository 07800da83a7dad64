/* event.c — Event (a flag greenlets wait for) and AsyncResult (a value or an error,
 * set once). Setting wakes every waiter in the order they waited, without switching. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hub_internal.h"

struct hub_event {
    hub__hub *hub;
    int flag;
    hub__waitq waiters;
    hub__waitq notified; /* woken by a set, and not yet run: the pass in progress */
};

struct hub_async_result {
    hub__hub *hub;
    int ready, failed;
    void *value;
    gl_error error;
    hub__waitq waiters;
};

static void wake_all(hub__hub *h, hub__waitq *q)
{
    hub__waiter *w;
    while ((w = hub__waitq_first(q)))
        hub__waiter_resolve(h, w, HUB_OK, NULL, NULL);
}

/* Wait on q until resolved; HUB_ETIMEOUT for the waiter's own timeout. */
static int wait_on(hub__hub *h, hub__waitq *q, double timeout, const char *what)
{
    if (timeout == 0)
        return hub__fail(HUB_ETIMEOUT, NULL, "%s: not ready", what);
    return hub__wait(h, q, timeout, HUB_ETIMEOUT, NULL, NULL);
}

/* ---- Event ------------------------------------------------------------------------------ */

int hub_event_new(hub_event **out)
{
    if (!out)
        return hub__fail(GL_EINVAL, NULL, "hub_event_new: `out` is NULL");
    *out = NULL;
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    hub_event *e = calloc(1, sizeof *e);
    if (!e)
        return hub__fail(GL_ENOMEM, NULL, "hub_event_new: out of memory");
    e->hub = h;
    *out = e;
    return HUB_OK;
}

int hub_event_free(hub_event *e)
{
    if (!e)
        return HUB_OK;
    if (e->waiters.count)
        return hub__fail(HUB_EBUSY, NULL, "hub_event_free: %zu greenlets wait on it",
                         e->waiters.count);
    hub__waiter *w;
    while ((w = hub__waitq_first(&e->notified)))
        hub__waitq_remove(&e->notified, w); /* their wake-ups stay queued */
    free(e);
    return HUB_OK;
}

int hub_event_set(hub_event *e)
{
    if (!e)
        return hub__fail(GL_EINVAL, NULL, "hub_event_set: NULL");
    hub__hub *h = hub__for(e->hub, "hub_event_set");
    if (!h)
        return gl_last_error()->code;
    e->flag = 1;
    /* As gevent's notification pass: the woken stay in `notified` until they run, so
     * that a greenlet waiting meanwhile runs after them. */
    hub__waiter *w;
    while ((w = hub__waitq_first(&e->waiters))) {
        hub__waiter_resolve(h, w, HUB_OK, NULL, NULL);
        hub__waitq_push(&e->notified, w);
    }
    return HUB_OK;
}

int hub_event_clear(hub_event *e)
{
    if (!e)
        return hub__fail(GL_EINVAL, NULL, "hub_event_clear: NULL");
    e->flag = 0;
    return HUB_OK;
}

int hub_event_is_set(const hub_event *e) { return e && e->flag; }

hub__waitq *hub__event_links(hub_event *e, hub__hub **owner, int *ready)
{
    *owner = e->hub;
    *ready = e->flag;
    return &e->waiters;
}

int hub_event_wait(hub_event *e, double timeout)
{
    if (hub__check_seconds(timeout, "hub_event_wait") != HUB_OK)
        return GL_EINVAL;
    if (!e)
        return hub__fail(GL_EINVAL, NULL, "hub_event_wait: NULL");
    hub__hub *h = hub__for(e->hub, "hub_event_wait");
    if (!h)
        return gl_last_error()->code;
    if (e->flag) {
        /* Set, and the greenlets it woke have not all run: gevent runs this one after
         * them, in the same pass (test_wait_while_notifying), not before. */
        if (e->notified.count)
            return hub__wait(h, &e->notified, 0, HUB_OK, NULL, NULL);
        return HUB_OK;
    }
    return wait_on(h, &e->waiters, timeout, "hub_event_wait");
}

/* ---- AsyncResult ---------------------------------------------------------------------------- */

int hub_async_result_new(hub_async_result **out)
{
    if (!out)
        return hub__fail(GL_EINVAL, NULL, "hub_async_result_new: `out` is NULL");
    *out = NULL;
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    hub_async_result *r = calloc(1, sizeof *r);
    if (!r)
        return hub__fail(GL_ENOMEM, NULL, "hub_async_result_new: out of memory");
    r->hub = h;
    *out = r;
    return HUB_OK;
}

int hub_async_result_free(hub_async_result *r)
{
    if (!r)
        return HUB_OK;
    if (r->waiters.count)
        return hub__fail(HUB_EBUSY, NULL, "hub_async_result_free: %zu greenlets wait on it",
                         r->waiters.count);
    free(r);
    return HUB_OK;
}

static int settable(hub_async_result *r, hub__hub **h, const char *what)
{
    if (!r)
        return hub__fail(GL_EINVAL, NULL, "%s: NULL", what);
    if (!(*h = hub__for(r->hub, what)))
        return gl_last_error()->code;
    if (r->ready)
        return hub__fail(HUB_EALREADY, NULL, "%s: the result was already set", what);
    return HUB_OK;
}

int hub_async_result_set(hub_async_result *r, void *value)
{
    hub__hub *h;
    int rc = settable(r, &h, "hub_async_result_set");
    if (rc != HUB_OK)
        return rc;
    r->ready = 1;
    r->value = value;
    wake_all(h, &r->waiters);
    return HUB_OK;
}

int hub_async_result_set_error(hub_async_result *r, int code, void *data, const char *fmt, ...)
{
    hub__hub *h;
    int rc = settable(r, &h, "hub_async_result_set_error");
    if (rc != HUB_OK)
        return rc;
    if (code <= 0)
        return hub__fail(GL_EINVAL, NULL, "hub_async_result_set_error: code must be > 0, not %d",
                         code);
    r->ready = 1;
    r->failed = 1;
    r->error.code = code;
    r->error.data = data;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->error.message, sizeof r->error.message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(r->error.message, sizeof r->error.message, "%s", hub_strerror(code));
    }
    wake_all(h, &r->waiters);
    return HUB_OK;
}

int hub_async_result_ready(const hub_async_result *r) { return r && r->ready; }

hub__waitq *hub__async_result_links(hub_async_result *r, hub__hub **owner, int *ready)
{
    *owner = r->hub;
    *ready = r->ready;
    return &r->waiters;
}

int hub_async_result_get(hub_async_result *r, double timeout, void **value)
{
    if (hub__check_seconds(timeout, "hub_async_result_get") != HUB_OK)
        return GL_EINVAL;
    if (value)
        *value = NULL;
    if (!r)
        return hub__fail(GL_EINVAL, NULL, "hub_async_result_get: NULL");
    hub__hub *h = hub__for(r->hub, "hub_async_result_get");
    if (!h)
        return gl_last_error()->code;
    if (!r->ready) {
        int rc = wait_on(h, &r->waiters, timeout, "hub_async_result_get");
        if (rc != HUB_OK)
            return rc;
    }
    if (r->failed)
        return hub__fail(r->error.code, r->error.data, "%s", r->error.message);
    if (value)
        *value = r->value;
    return HUB_OK;
}
