/* hub.c — the per-thread hub: finding or creating it, its callback FIFO, its loop, and
 * destroying it. The loop runs in the hub greenlet; everything else only queues. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hub_internal.h"

/* ---- which backend ---------------------------------------------------------------------- */

static const hub__loop_ops *const backends[] = {&hub__loop_libev, &hub__loop_libuv};
static _Atomic(const hub__loop_ops *) chosen_backend; /* hub_set_loop(); NULL: environment */

static const hub__loop_ops *backend_named(const char *name)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (!strcmp(backends[i]->name, name))
            return backends[i];
    return NULL;
}

int hub_set_loop(const char *name)
{
    if (!name) {
        atomic_store(&chosen_backend, NULL);
        return HUB_OK;
    }
    const hub__loop_ops *ops = backend_named(name);
    if (!ops)
        return hub__fail(GL_EINVAL, NULL, "hub_set_loop: unknown loop backend '%s' (libev, libuv)",
                         name);
    atomic_store(&chosen_backend, ops);
    return HUB_OK;
}

#define HUB__STACK_MIN ((size_t)128 * 1024)

/* ---- the registry: one hub per logical thread, keyed by its main greenlet ---------------- */
/* Keyed by gl_main() rather than kept in a thread-local: on the threads port every
 * greenlet runs on an OS thread of its own, but they all share one main greenlet. */

typedef struct registered {
    hub__hub *hub;
    struct registered *next;
} registered;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static registered *registry;
static atomic_uint generation = 1; /* bumped when a hub goes away: stale caches miss */

static _Thread_local struct {
    gl_greenlet *main;
    hub__hub *hub;
    unsigned generation;
} cache;

static void at_thread_exit(void *arg);

static hub__hub *create(gl_greenlet *main)
{
    const hub__loop_ops *ops = atomic_load(&chosen_backend);
    if (!ops) {
        const char *env = getenv("SWITCHYARD_LOOP");
        if (env && *env) {
            ops = backend_named(env);
            if (!ops) {
                hub__fail(HUB_ELOOP, NULL,
                          "unknown loop backend '%s' in SWITCHYARD_LOOP (libev, libuv)", env);
                return NULL;
            }
        } else {
            ops = &hub__loop_libev;
        }
    }
    /* A thread that exits without hub_destroy() takes its hub with it. */
    if (gl_at_thread_exit(at_thread_exit, NULL) != GL_OK)
        return NULL;
    hub__hub *h = calloc(1, sizeof *h);
    registered *r = malloc(sizeof *r);
    if (!h || !r) {
        free(h);
        free(r);
        hub__fail(GL_ENOMEM, NULL, "out of memory for the hub");
        return NULL;
    }
    h->ops = ops;
    h->main = main;
    h->fifo.prev = h->fifo.next = &h->fifo;
    int err = ops->create(&h->loop);
    if (err) {
        free(h);
        free(r);
        hub__fail(HUB_ELOOP, NULL, "the %s loop could not start: %s", ops->name, strerror(err));
        return NULL;
    }
    /* The hub runs the loop library (libuv polls with 12 KiB of events on the stack):
     * give it room even if the default stack was set small. */
    size_t stack = gl_default_stack_size();
    size_t max = gl_port()->max_stack_size;
    if (stack < HUB__STACK_MIN && (max == 0 || max >= HUB__STACK_MIN))
        stack = HUB__STACK_MIN;
    int rc = gl_new_with_stack(&h->greenlet, hub__run, main, stack);
    if (rc != GL_OK) {
        ops->destroy(h->loop);
        free(h);
        free(r);
        return NULL; /* gl_new recorded why */
    }
    gl_set_userdata(h->greenlet, h);
    r->hub = h;
    pthread_mutex_lock(&registry_lock);
    r->next = registry;
    registry = r;
    pthread_mutex_unlock(&registry_lock);
    return h;
}

hub__hub *hub__get(int make)
{
    gl_greenlet *main = gl_main();
    if (!main) {
        hub__fail(GL_ENOMEM, NULL, "no greenlet state for this thread");
        return NULL;
    }
    unsigned gen = atomic_load(&generation);
    if (cache.main == main && cache.generation == gen && cache.hub)
        return cache.hub;
    hub__hub *h = NULL;
    pthread_mutex_lock(&registry_lock);
    for (registered *r = registry; r; r = r->next)
        if (r->hub->main == main) {
            h = r->hub;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    if (!h && make)
        h = create(main);
    if (h) {
        cache.main = main;
        cache.hub = h;
        cache.generation = gen;
    }
    return h;
}

hub__hub *hub__for(hub__hub *owner, const char *what)
{
    hub__hub *h = hub__get(1);
    if (h && owner != h) {
        hub__fail(GL_ETHREAD, NULL, "%s: the object belongs to another thread's hub", what);
        return NULL;
    }
    return h;
}

const char *hub_loop_name(void)
{
    hub__hub *h = hub__get(1);
    return h ? h->ops->name : NULL;
}

/* ---- the callback FIFO -------------------------------------------------------------------- */

void hub__cb_queue(hub__hub *h, hub__cb *cb)
{
    if (cb->prev)
        return;
    cb->prev = h->fifo.prev;
    cb->next = &h->fifo;
    h->fifo.prev->next = cb;
    h->fifo.prev = cb;
    h->fifo_count++;
}

void hub__cb_queue_after(hub__hub *h, hub__cb *after, hub__cb *cb)
{
    if (!after || !after->prev) {
        hub__cb_queue(h, cb);
        return;
    }
    if (cb->prev)
        return;
    cb->prev = after;
    cb->next = after->next;
    after->next->prev = cb;
    after->next = cb;
    h->fifo_count++;
}

void hub__cb_cancel(hub__hub *h, hub__cb *cb)
{
    if (!cb->prev)
        return;
    cb->prev->next = cb->next;
    cb->next->prev = cb->prev;
    cb->prev = cb->next = NULL;
    h->fifo_count--;
}

/* Runs queued callbacks, those queued meanwhile included, up to the budget. */
static void run_callbacks(hub__hub *h)
{
    for (int n = 0; n < HUB_CALLBACK_BUDGET && h->fifo_count && !h->destroying; n++) {
        hub__cb *cb = h->fifo.next;
        hub__cb_cancel(h, cb);
        cb->fn(h, cb);
    }
}

/* ---- the loop ----------------------------------------------------------------------------------- */

/* Returns when nothing queued, armed or watched could ever wake anyone. */
static void run_loop(hub__hub *h)
{
    for (;;) {
        run_callbacks(h);
        if (h->destroying)
            return;
        int64_t now = hub__now_ns();
        hub__timers_run(h, now);
        int64_t timeout;
        if (h->fifo_count) {
            timeout = 0;
        } else {
            int64_t next = hub__timers_next(h);
            if (next >= 0)
                timeout = next > now ? next - now : 0;
            else if (h->io_waiters)
                timeout = -1;
            else
                return;
        }
        /* With nothing watched and nothing to wait for, the poll would only cost a
         * syscall; with descriptors watched, ready ones get their turn every pass. */
        if (timeout != 0 || h->io_waiters)
            h->ops->poll(h->loop, timeout);
        hub__timers_run(h, hub__now_ns());
    }
}

void *hub__run(void *arg)
{
    (void)arg;
    hub__hub *h = gl_userdata(gl_current());
    for (;;) {
        run_loop(h);
        if (h->destroying)
            return NULL;
        /* As gevent's hub: the loop ran dry, so whoever waits on it waits forever.
         * The main greenlet hears of it; switching back to the hub resumes here. */
        void *value;
        int rc = gl_throw_r(h->main, &value, HUB_ELOOPEXIT, NULL,
                            "This operation would block forever");
        hub__after_switch(h, rc, value);
    }
}

void hub__after_switch(hub__hub *h, int rc, void *value)
{
    hub_greenlet *g = h->dying;
    if (!g)
        return; /* someone switched to the hub to wait: nothing to record */
    h->dying = NULL;
    g->dead = 1;
    if (rc == GL_OK) {
        g->value = value;
    } else {
        g->failed = 1;
        g->error = *gl_last_error();
        /* As gevent's hub prints the traceback: the failure is reported, the hub goes on. */
        fprintf(stderr, "hub: greenlet %p failed: %s (%d): %s\n", (void *)g,
                hub_strerror(g->error.code), g->error.code, g->error.message);
    }
    gl_destroy(g->gl);
    g->gl = NULL;
    hub__cb_cancel(h, &g->kill);
    hub__timeouts_orphan(g);
    hub__waiter *w;
    while ((w = hub__waitq_first(&g->joiners)))
        hub__waiter_resolve(h, w, HUB_OK, NULL, NULL);
    hub__list_remove(&h->live, &g->live);
    h->live_greenlets--;
    hub__greenlet_unref(g);
}

/* ---- destroying ----------------------------------------------------------------------------------- */

/* Ends the hub greenlet (GreenletExit makes its loop return; not when `run` is 0: no
 * greenlet of the thread can run any more) and frees h with its loop. Whatever still
 * waits in it is abandoned: nothing will ever resume it. */
static int teardown(hub__hub *h, int run)
{
    h->destroying = 1;
    int rc = run ? gl_destroy(h->greenlet) : GL_OK;
    if (rc != GL_OK) {
        h->destroying = 0;
        return rc;
    }
    for (size_t fd = 0; fd < h->ios_cap; fd++) {
        hub__io *io = h->ios[fd];
        if (io) {
            if (io->backend)
                h->ops->io_free(h->loop, io);
            free(io);
        }
    }
    free(h->ios);
    h->ops->destroy(h->loop);
    free(h->heap);
    hub__waiters_release(h);
    pthread_mutex_lock(&registry_lock);
    for (registered **p = &registry; *p; p = &(*p)->next)
        if ((*p)->hub == h) {
            registered *r = *p;
            *p = r->next;
            free(r);
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    atomic_fetch_add(&generation, 1);
    cache.hub = NULL;
    free(h);
    return HUB_OK;
}

int hub_destroy(void)
{
    hub__hub *h = hub__get(0);
    if (!h)
        return HUB_OK;
    if (gl_current() == h->greenlet)
        return hub__fail(HUB_EBLOCKING, NULL, "hub_destroy: called by the hub itself");
    if (h->live_greenlets || h->fifo_count || h->heap_len || h->io_waiters)
        return hub__fail(HUB_EBUSY, NULL,
                         "hub_destroy: %zu greenlets alive, %zu callbacks queued, %zu timers "
                         "armed, %zu descriptor waits",
                         h->live_greenlets, h->fifo_count, h->heap_len, h->io_waiters);
    return teardown(h, 1);
}

/* The thread exits and its hub is still there (no hub_destroy()): the greenlets the hub
 * still runs are killed, as hub_kill() would, and the hub runs them and what else is
 * queued (callbacks) for up to HUB_EXIT_GRACE seconds; then the hub and its loop go,
 * whatever is left. */
static void at_thread_exit(void *arg)
{
    (void)arg;
    hub__hub *h = hub__get(0);
    if (!h)
        return;
    if (gl_current() != gl_main()) {
        /* The thread exits from inside a greenlet (pthread_exit): none of its greenlets
         * can run any more. The loop and its descriptors go; the greenlets stay, never
         * to run again (another thread may still gl_destroy its own handles). */
        teardown(h, 0);
        return;
    }
    double end = hub_now() + HUB_EXIT_GRACE;
    for (double left = HUB_EXIT_GRACE; (h->live.head || h->fifo_count) && left > 0;
         left = end - hub_now()) {
        for (hub__node *n = h->live.head, *next; n; n = next) {
            next = n->next; /* an unstarted one leaves the list at once */
            hub_kill_nowait(hub__container_of(n, hub_greenlet, live));
        }
        int rc = h->live.head ? hub_join(hub__container_of(h->live.head, hub_greenlet, live), left)
                              : hub_sleep(0);
        if (rc != HUB_OK && rc != HUB_ETIMEOUT)
            break; /* HUB_ELOOPEXIT: what is left waits for what will never come */
    }
    teardown(h, 1);
}
