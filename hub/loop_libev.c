/* loop_libev.c — the hub's loop backend on libev: one ev_io per descriptor, one
 * ev_timer that bounds a blocking poll. */
#include <errno.h>
#include <stdlib.h>
#include <ev.h>
#include "hub_internal.h"

typedef struct {
    struct ev_loop *ev;
    ev_timer wakeup;   /* only there to end ev_run(EVRUN_ONCE) in time */
    int64_t wakeup_at; /* when it fires (hub__now_ns clock), while active */
} libev_loop;

typedef struct {
    ev_io w;
    hub__io *io;
} libev_io;

static void libev_wakeup_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
    (void)ev, (void)w, (void)revents;
}

static int libev_create(void **out)
{
    libev_loop *l = calloc(1, sizeof *l);
    if (!l)
        return ENOMEM;
    l->ev = ev_loop_new(EVFLAG_AUTO);
    if (!l->ev) {
        free(l);
        return EIO;
    }
    /* libev allocates its timer heap at the first timer started, its list of pending
     * watchers at the first event, and aborts when it cannot: a timer that fires now
     * does both, not in a poll that may come while memory runs out. */
    ev_timer_init(&l->wakeup, libev_wakeup_cb, 0., 0.);
    ev_timer_start(l->ev, &l->wakeup);
    ev_run(l->ev, EVRUN_NOWAIT);
    ev_timer_stop(l->ev, &l->wakeup);
    *out = l;
    return 0;
}

static void libev_destroy(void *loop)
{
    libev_loop *l = loop;
    ev_timer_stop(l->ev, &l->wakeup);
    ev_loop_destroy(l->ev);
    free(l);
}

static void libev_io_cb(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev;
    libev_io *x = (libev_io *)w;
    int events = (revents & EV_READ ? HUB__READ : 0) | (revents & EV_WRITE ? HUB__WRITE : 0);
    /* libev reports a descriptor it cannot watch (closed behind its back) as EV_ERROR,
     * and has stopped the watcher. */
    if (revents & EV_ERROR)
        x->io->watching = 0;
    hub__io_ready(x->io, events, revents & EV_ERROR ? EBADF : 0);
}

static int libev_io_init(void *loop, hub__io *io)
{
    (void)loop;
    libev_io *x = calloc(1, sizeof *x);
    if (!x)
        return ENOMEM;
    x->io = io;
    ev_io_init(&x->w, libev_io_cb, io->fd, EV_READ);
    io->backend = x;
    io->watching = 0;
    return 0;
}

static int libev_io_set(void *loop, hub__io *io, int events)
{
    libev_loop *l = loop;
    libev_io *x = io->backend;
    ev_io_stop(l->ev, &x->w);
    if (events) {
        ev_io_set(&x->w, io->fd, (events & HUB__READ ? EV_READ : 0) |
                                     (events & HUB__WRITE ? EV_WRITE : 0));
        ev_io_start(l->ev, &x->w);
    }
    io->watching = events;
    return 0;
}

static void libev_io_free(void *loop, hub__io *io)
{
    libev_loop *l = loop;
    libev_io *x = io->backend;
    ev_io_stop(l->ev, &x->w);
    free(x);
    io->backend = NULL;
    io->watching = 0;
}

static void libev_poll(void *loop, int64_t now_ns, int64_t timeout_ns)
{
    libev_loop *l = loop;
    if (timeout_ns == 0) {
        ev_run(l->ev, EVRUN_NOWAIT);
        return;
    }
    int64_t at = now_ns + timeout_ns;
    if (timeout_ns > 0 && (!ev_is_active(&l->wakeup) || at < l->wakeup_at)) {
        ev_timer_stop(l->ev, &l->wakeup);
        ev_now_update(l->ev); /* its clock is the previous iteration's */
        ev_timer_init(&l->wakeup, libev_wakeup_cb, (ev_tstamp)timeout_ns / 1e9, 0.);
        ev_timer_start(l->ev, &l->wakeup);
        l->wakeup_at = at;
    }
    ev_run(l->ev, EVRUN_ONCE);
}

const hub__loop_ops hub__loop_libev = {
    .name = "libev",
    .create = libev_create,
    .destroy = libev_destroy,
    .io_init = libev_io_init,
    .io_set = libev_io_set,
    .io_free = libev_io_free,
    .poll = libev_poll,
};
