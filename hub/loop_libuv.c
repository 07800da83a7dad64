/* loop_libuv.c — the hub's loop backend on libuv: one uv_poll_t per descriptor, one
 * uv_timer_t that bounds a blocking poll.
 *
 * Quirks:
 * - uv_run() updates the loop's clock (whole milliseconds) before it runs due timers
 *   and again polls: a wake-up timer armed before uv_run() on the previous reading can
 *   fire before the poll, which then waits with no timeout at all. The timer is armed
 *   from a prepare handle instead, on the very reading the poll's timeout is computed
 *   from.
 * - libuv frees handles only after uv_close()'s callback, from a later uv_run(). */
#include <errno.h>
#include <stdlib.h>
#include <uv.h>
#include "hub_internal.h"

typedef struct {
    uv_loop_t uv;
    uv_timer_t wakeup;   /* only there to end uv_run(UV_RUN_ONCE) in time */
    uv_prepare_t arm;    /* arms it right before the poll */
    uint64_t wakeup_ms;  /* how long the next poll may wait; 0: no wake-up */
} libuv_loop;

typedef struct {
    uv_poll_t h;
    hub__io *io;
    int polling; /* events libuv polls for (0: stopped) */
    int wanted;  /* events the hub wants now */
} libuv_io;

static void noop_timer_cb(uv_timer_t *t) { (void)t; }

static void arm_wakeup(uv_prepare_t *p)
{
    libuv_loop *l = hub__container_of(p, libuv_loop, arm);
    if (l->wakeup_ms)
        uv_timer_start(&l->wakeup, noop_timer_cb, l->wakeup_ms, 0);
}

static int libuv_create(void **out)
{
    libuv_loop *l = calloc(1, sizeof *l);
    if (!l)
        return ENOMEM;
    int rc = uv_loop_init(&l->uv);
    if (rc != 0) {
        free(l);
        return -rc;
    }
    /* Neither can fail on an initialised loop. */
    uv_timer_init(&l->uv, &l->wakeup);
    uv_prepare_init(&l->uv, &l->arm);
    uv_prepare_start(&l->arm, arm_wakeup);
    *out = l;
    return 0;
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL); /* only the wake-up timer and its prepare are left: in the loop */
}

static void libuv_destroy(void *loop)
{
    libuv_loop *l = loop;
    uv_walk(&l->uv, close_any, NULL);
    while (uv_loop_close(&l->uv) == UV_EBUSY)
        uv_run(&l->uv, UV_RUN_NOWAIT);
    free(l);
}

static void libuv_poll_cb(uv_poll_t *h, int status, int revents)
{
    libuv_io *x = (libuv_io *)h;
    if (status < 0)
        x->polling = 0; /* libuv stopped the handle */
    if (!x->wanted) {
        /* Nobody waits any more: stop now (stopping was put off, see libuv_io_set). */
        if (x->polling)
            uv_poll_stop(&x->h);
        x->polling = 0;
        return;
    }
    int events = (revents & UV_READABLE ? HUB__READ : 0) | (revents & UV_WRITABLE ? HUB__WRITE : 0);
    /* libuv reports POLLERR (e.g. a refused connect) as UV_EBADF and stops the handle.
     * As poll(2) does, call the descriptor ready: the next read or write says what went
     * wrong. The hub restarts the handle for the next wait. */
    if (status < 0)
        events = HUB__READ | HUB__WRITE;
    hub__io_ready(x->io, events, 0);
}

static int libuv_io_init(void *loop, hub__io *io)
{
    libuv_loop *l = loop;
    if (io->fd == uv_backend_fd(&l->uv))
        return EINVAL; /* the loop's own descriptor */
    libuv_io *x = calloc(1, sizeof *x);
    if (!x)
        return ENOMEM;
    int rc = uv_poll_init(&l->uv, &x->h, io->fd);
    if (rc != 0) {
        free(x);
        return -rc;
    }
    x->io = io;
    io->backend = x;
    return 0;
}

/* Stopping is put off until an event arrives that nobody wants: a greenlet that
 * reads, waits, reads again (a socket's usual life) then costs no epoll_ctl per wait,
 * as with libev, which keeps the kernel's interest set the same way. */
static void libuv_io_set(void *loop, hub__io *io, int events)
{
    (void)loop;
    libuv_io *x = io->backend;
    x->wanted = events;
    if (!events || events == x->polling)
        return;
    if (uv_poll_start(&x->h, (events & HUB__READ ? UV_READABLE : 0) |
                                 (events & HUB__WRITE ? UV_WRITABLE : 0),
                      libuv_poll_cb) == 0)
        x->polling = events;
}

static void free_handle(uv_handle_t *h) { free(h); }

static void libuv_io_free(void *loop, hub__io *io)
{
    (void)loop;
    libuv_io *x = io->backend;
    uv_poll_stop(&x->h);
    uv_close((uv_handle_t *)&x->h, free_handle);
    io->backend = NULL;
}

static void libuv_poll(void *loop, int64_t timeout_ns)
{
    libuv_loop *l = loop;
    if (timeout_ns == 0) {
        uv_run(&l->uv, UV_RUN_NOWAIT);
        return;
    }
    /* libuv counts whole milliseconds: round up, so the poll does not end early. */
    l->wakeup_ms = timeout_ns > 0 ? (uint64_t)((timeout_ns + 999999) / 1000000) : 0;
    uv_run(&l->uv, UV_RUN_ONCE);
    l->wakeup_ms = 0;
    uv_timer_stop(&l->wakeup);
}

const hub__loop_ops hub__loop_libuv = {
    .name = "libuv",
    .create = libuv_create,
    .destroy = libuv_destroy,
    .io_init = libuv_io_init,
    .io_set = libuv_io_set,
    .io_free = libuv_io_free,
    .poll = libuv_poll,
};
