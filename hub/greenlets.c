/* greenlets.c — greenlets started by the hub: spawn, join, get, kill, and their handle.
 * The hub is their parent, so their result (or error) arrives at the hub's pending
 * switch; the wrapper names the dying greenlet first (hub->dying). */
#include <stdlib.h>
#include "hub_internal.h"

static void *greenlet_main(void *arg)
{
    hub_greenlet *g = arg;
    g->started = 1;
    void *result = g->fn(g->arg);
    /* Nothing runs between here and the switch that hands `result` (or the error the
     * function raised) to the hub: hub__after_switch() records it for g. */
    g->hub->dying = g;
    return result;
}

void hub__greenlet_unref(hub_greenlet *g)
{
    if (--g->refs == 0)
        free(g);
}

static void start(hub__hub *h, hub__cb *cb)
{
    hub_greenlet *g = hub__container_of(cb, hub_greenlet, start);
    void *value;
    int rc = gl_switch(g->gl, g, &value);
    /* The switch that starts it can fail before its function runs: refused (no OS thread
     * for it on the threads port, no memory to save a stack on stackcopy: it stays
     * unstarted), or ended by an error on the way in (a failing trace function). Either
     * way it failed, with that error: its joiners must hear of it. */
    if (rc != GL_OK && !h->dying && !gl_active(g->gl))
        h->dying = g;
    hub__after_switch(h, rc, value);
}

static void start_due(hub__hub *h, hub__timer *t)
{
    hub__cb_queue(h, &hub__container_of(t, hub_greenlet, start_timer)->start);
}

static void kill_now(hub__hub *h, hub__cb *cb)
{
    hub_greenlet *g = hub__container_of(cb, hub_greenlet, kill);
    if (g->dead)
        return;
    void *value;
    int rc = gl_throw_r(g->gl, &value, GL_EEXIT, NULL, "killed by hub_kill");
    hub__after_switch(h, rc, value);
}

static int spawn(hub_greenlet **out, double delay, gl_run_fn fn, void *arg)
{
    if (out)
        *out = NULL;
    if (!fn)
        return hub__fail(GL_EINVAL, NULL, "hub_spawn: the function is NULL");
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    hub_greenlet *g = calloc(1, sizeof *g);
    if (!g)
        return hub__fail(GL_ENOMEM, NULL, "hub_spawn: out of memory");
    g->hub = h;
    g->fn = fn;
    g->arg = arg;
    g->refs = out ? 2 : 1;
    g->user_ref = out != NULL;
    g->start.fn = start;
    g->start_timer.fire = start_due;
    g->kill.fn = kill_now;
    int rc = gl_new(&g->gl, greenlet_main, h->greenlet);
    if (rc != GL_OK) {
        free(g);
        return rc; /* gl_new recorded why */
    }
    gl_set_userdata(g->gl, g);
    if (delay < 0) {
        hub__cb_queue(h, &g->start);
    } else if ((rc = hub__timer_start(h, &g->start_timer, delay)) != HUB_OK) {
        gl_destroy(g->gl);
        free(g);
        return rc;
    }
    hub__list_push(&h->live, &g->live);
    h->live_greenlets++;
    if (out)
        *out = g;
    return HUB_OK;
}

int hub_spawn(hub_greenlet **out, gl_run_fn fn, void *arg) { return spawn(out, -1, fn, arg); }

int hub_spawn_later(hub_greenlet **out, double seconds, gl_run_fn fn, void *arg)
{
    if (!(seconds >= 0) || __builtin_isinf(seconds))
        return hub__fail(GL_EINVAL, NULL, "hub_spawn_later: the delay %g is not a finite number >= 0",
                         seconds);
    return spawn(out, seconds, fn, arg);
}

int hub_greenlet_release(hub_greenlet *g)
{
    if (!g)
        return hub__fail(GL_EINVAL, NULL, "hub_greenlet_release: NULL");
    if (!g->user_ref)
        return hub__fail(GL_EINVAL, NULL, "hub_greenlet_release: already released");
    g->user_ref = 0;
    hub__greenlet_unref(g);
    return HUB_OK;
}

hub_greenlet *hub_current(void)
{
    hub__hub *h = hub__get(0);
    gl_greenlet *self = gl_current();
    if (!h || self == h->greenlet || gl_parent(self) != h->greenlet)
        return NULL;
    return gl_userdata(self);
}

int hub_greenlet_started(const hub_greenlet *g) { return g && g->started; }
int hub_greenlet_dead(const hub_greenlet *g) { return g && g->dead; }
int hub_greenlet_successful(const hub_greenlet *g) { return g && g->dead && !g->failed; }
void *hub_greenlet_value(const hub_greenlet *g) { return g && g->dead ? g->value : NULL; }
const gl_error *hub_greenlet_error(const hub_greenlet *g) { return g && g->failed ? &g->error : NULL; }
gl_greenlet *hub_greenlet_gl(const hub_greenlet *g) { return g ? g->gl : NULL; }

int hub_join(hub_greenlet *g, double timeout)
{
    if (hub__check_seconds(timeout, "hub_join") != HUB_OK)
        return GL_EINVAL;
    if (!g)
        return hub__fail(GL_EINVAL, NULL, "hub_join: greenlet is NULL");
    hub__hub *h = hub__for(g->hub, "hub_join");
    if (!h)
        return gl_last_error()->code;
    if (g->dead)
        return HUB_OK;
    if (g->gl == gl_current())
        return hub__fail(GL_EINVAL, NULL, "hub_join: a greenlet cannot join itself");
    if (timeout == 0)
        return hub__fail(HUB_ETIMEOUT, NULL, "hub_join: the greenlet is not dead");
    return hub__wait(h, &g->joiners, timeout, HUB_ETIMEOUT, NULL, NULL);
}

int hub_joinall(hub_greenlet *const *gs, size_t n, double timeout)
{
    if (hub__check_seconds(timeout, "hub_joinall") != HUB_OK)
        return GL_EINVAL;
    if (!gs && n)
        return hub__fail(GL_EINVAL, NULL, "hub_joinall: the array is NULL");
    double end = timeout < 0 ? -1 : hub_now() + timeout;
    for (size_t i = 0; i < n; i++) {
        double left = HUB_FOREVER;
        if (end >= 0) {
            left = end - hub_now();
            if (left < 0)
                left = 0;
        }
        int rc = hub_join(gs[i], left);
        if (rc != HUB_OK)
            return rc;
    }
    return HUB_OK;
}

static void run_link(hub__hub *h, hub__waiter *w)
{
    hub_link_fn fn = w->link_fn;
    hub_greenlet *g = w->ctx;
    void *arg = w->arg;
    hub__waiter_free(h, w);
    fn(g, arg); /* in the hub: it cannot block */
    hub__greenlet_unref(g);
}

int hub_greenlet_link(hub_greenlet *g, hub_link_fn fn, void *arg)
{
    if (!g || !fn)
        return hub__fail(GL_EINVAL, NULL, "hub_greenlet_link: %s is NULL", g ? "fn" : "greenlet");
    hub__hub *h = hub__for(g->hub, "hub_greenlet_link");
    if (!h)
        return gl_last_error()->code;
    hub__waiter *w = hub__waiter_new(h);
    if (!w)
        return GL_ENOMEM;
    w->notify = run_link;
    w->link_fn = fn;
    w->ctx = g;
    w->arg = arg;
    g->refs++; /* until the link has run */
    if (g->dead)
        hub__waiter_resolve(h, w, HUB_OK, NULL, NULL);
    else
        hub__waitq_push(&g->joiners, w);
    return HUB_OK;
}

int hub_get(hub_greenlet *g, double timeout, void **value)
{
    if (value)
        *value = NULL;
    int rc = hub_join(g, timeout);
    if (rc != HUB_OK)
        return rc;
    if (g->failed)
        return hub__fail(g->error.code, g->error.data, "%s", g->error.message);
    if (value)
        *value = g->value;
    return HUB_OK;
}

int hub_kill_nowait(hub_greenlet *g)
{
    if (!g)
        return hub__fail(GL_EINVAL, NULL, "hub_kill: greenlet is NULL");
    hub__hub *h = hub__for(g->hub, "hub_kill");
    if (!h)
        return gl_last_error()->code;
    if (g->dead)
        return HUB_OK;
    if (!g->started) {
        /* gevent cancels the start: the function never runs, and it is dead now. */
        hub__cb_cancel(h, &g->start);
        hub__timer_stop(h, &g->start_timer);
        g->refs++; /* the death below drops the hub's reference */
        h->dying = g;
        hub__after_switch(h, GL_OK, NULL);
        hub__greenlet_unref(g);
        return HUB_OK;
    }
    hub__cb_queue(h, &g->kill);
    return HUB_OK;
}

int hub_kill(hub_greenlet *g, double timeout)
{
    if (hub__check_seconds(timeout, "hub_kill") != HUB_OK)
        return GL_EINVAL;
    if (g && g->gl && g->gl == gl_current())
        return hub__fail(GL_EEXIT, NULL, "hub_kill: the greenlet killed itself");
    int rc = hub_kill_nowait(g);
    return rc != HUB_OK ? rc : hub_join(g, timeout);
}
