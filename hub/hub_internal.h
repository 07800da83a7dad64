/*
 * hub_internal.h — the hub's own structures, shared by the files of hub/.
 *
 * Everything here lives on the heap: on a stack-copying port, a suspended greenlet's
 * stack is not where its locals were, so the hub never keeps a pointer into one.
 */
#ifndef HUB_INTERNAL_H
#define HUB_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "hub.h"
#include "loop.h"

#define hub__container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

typedef struct hub__hub hub__hub;

/* ---- an intrusive doubly linked list, in insertion order ------------------------------ */

typedef struct hub__node {
    struct hub__node *prev, *next;
} hub__node;
typedef struct hub__list {
    hub__node *head, *tail;
} hub__list;

static inline void hub__list_push(hub__list *l, hub__node *n)
{
    n->next = NULL;
    n->prev = l->tail;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
}

static inline void hub__list_remove(hub__list *l, hub__node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
}

/* ---- callbacks: the FIFO the hub runs ------------------------------------------------ */

typedef struct hub__cb hub__cb;
typedef void (*hub__cb_fn)(hub__hub *h, hub__cb *cb);
struct hub__cb {
    hub__cb *prev, *next; /* both NULL when not queued */
    hub__cb_fn fn;
};

void hub__cb_queue(hub__hub *h, hub__cb *cb);  /* at the tail; no-op if queued */
/* Right after `after` if that is queued, else at the tail; no-op if cb is queued. */
void hub__cb_queue_after(hub__hub *h, hub__cb *after, hub__cb *cb);
void hub__cb_cancel(hub__hub *h, hub__cb *cb); /* no-op if not queued */
static inline int hub__cb_queued(const hub__cb *cb) { return cb->prev != NULL; }

/* ---- timers: a binary heap on (deadline, sequence) ----------------------------------- */

typedef struct hub__timer hub__timer;
typedef void (*hub__timer_fn)(hub__hub *h, hub__timer *t);
struct hub__timer {
    int64_t deadline; /* ns, hub__now_ns() clock */
    uint64_t seq;     /* ties fire in the order they were armed */
    size_t slot;      /* heap index + 1; 0 = not armed */
    hub__timer_fn fire;
};

int64_t hub__now_ns(void);
/* Arm `t` to fire `seconds` from now (fresh clock). GL_ENOMEM if the heap cannot grow. */
int hub__timer_start(hub__hub *h, hub__timer *t, double seconds);
void hub__timer_stop(hub__hub *h, hub__timer *t);
/* Fire (in deadline order) every timer due at `now`; a fired timer is disarmed. */
void hub__timers_run(hub__hub *h, int64_t now);
/* The earliest deadline, or -1 if no timer is armed. */
int64_t hub__timers_next(const hub__hub *h);

/* ---- waiters: one blocked call of one greenlet --------------------------------------- */

typedef struct hub__waiter hub__waiter;
/* A waiter that stands for a link, not a greenlet: called from the FIFO once it is
 * resolved, instead of a switch; it frees w. */
typedef void (*hub__notify_fn)(hub__hub *h, hub__waiter *w);
typedef struct hub__waitq {
    hub__list list; /* of hub__waiter.node, in the order they joined */
    size_t count;
} hub__waitq;

enum { HUB__WAITING = 0, HUB__RESOLVED = 1 };

struct hub__waiter {
    hub__node node;          /* in q; in the hub's free list once freed */
    hub__waitq *q;           /* the queue it is in, or NULL */
    gl_greenlet *greenlet;   /* who waits */
    int state;               /* HUB__WAITING until resolved (then its resume is queued) */
    int code;                /* HUB_OK, or the error to throw into it */
    void *value;             /* what it receives (an item, a permit, ...) */
    hub__timer timer;        /* its own timeout, if any */
    int timeout_code;        /* the code its own timeout resolves it with */
    double timeout_seconds;
    hub__cb resume;          /* switches (or throws) into `greenlet`, or calls notify */
    hub__notify_fn notify;   /* a link (hub_greenlet_link, hub_iwait): what resume calls */
    void *ctx;               /* the link's: the linked greenlet, the iterator */
    void *arg;               /* hub_greenlet_link's arg */
    hub_link_fn link_fn;     /* hub_greenlet_link's fn */
    size_t index;            /* hub_iwait's: which object */
    char message[96];        /* for an error resolution */
};

void hub__waitq_push(hub__waitq *q, hub__waiter *w);
void hub__waitq_remove(hub__waitq *q, hub__waiter *w);
static inline hub__waiter *hub__waitq_first(const hub__waitq *q)
{
    return q->list.head ? hub__container_of(q->list.head, hub__waiter, node) : NULL;
}

hub__waiter *hub__waiter_new(hub__hub *h);
/* Give the memory of the hub's free waiters back (hub teardown). */
void hub__waiters_release(hub__hub *h);
/* Unlink from its queue, disarm its timer, cancel a queued resume, free. */
void hub__waiter_free(hub__hub *h, hub__waiter *w);
/* Wake w once: remove it from its queue, stop its timer, queue its resume (a switch
 * for HUB_OK, a throw of `code` otherwise). Later resolutions are ignored. */
void hub__waiter_resolve(hub__hub *h, hub__waiter *w, int code, void *value, const char *fmt,
                         ...) __attribute__((format(printf, 5, 6)));
/* Wake w with HUB_OK, its resume queued behind those of the waiters in q, which w then
 * joins: q is a pass of wake-ups in progress (an Event's), and w runs at its end. */
void hub__waiter_resolve_behind(hub__hub *h, hub__waiter *w, hub__waitq *q);

/* Switch to the hub until w is resumed (hub__wait's last step): HUB_OK when resolved
 * with HUB_OK; otherwise the error thrown into the caller, or HUB_EINVALIDSWITCH;
 * HUB_EBLOCKING from the hub itself. */
int hub__block(hub__hub *h, hub__waiter *w);

/* The one way a greenlet blocks in the hub. A waiter carrying *value (if `value`) joins
 * q (if not NULL); its own timeout resolves it with `timeout_code` after `timeout`
 * seconds (negative or infinite: never; 0: at once with HUB_OK, its resume at the FIFO's tail as
 * sleep(0)'s, or with a q, behind the wake-ups of q's waiters: see
 * hub__waiter_resolve_behind());
 * the caller switches to the hub until the waiter is resumed; the waiter is freed.
 * Returns HUB_OK when resolved with HUB_OK (*value = what it was handed), or the error
 * that woke it instead (its own timeout, a kill, HUB_EINVALIDSWITCH, ...). *granted
 * (if not NULL) = 1 when it had been resolved with HUB_OK before such an error
 * interrupted it: the caller then still holds what it was handed (*value) and passes
 * it on. HUB_EBLOCKING from the hub itself.
 * Inline: each caller passes constants for most arguments, and sleep(0) and timers are
 * on the hot path. */
static inline int hub__wait(hub__hub *h, hub__waitq *q, double timeout, int timeout_code,
                            void **value, int *granted)
{
    hub__waiter *w = hub__waiter_new(h);
    if (!w) {
        if (granted)
            *granted = 0;
        return GL_ENOMEM;
    }
    if (value)
        w->value = *value;
    int rc = HUB_OK;
    if (timeout == 0 && q) {
        hub__waiter_resolve_behind(h, w, q);
    } else if (q) {
        hub__waitq_push(q, w);
    }
    if (timeout == 0 && !q) {
        hub__waiter_resolve(h, w, HUB_OK, NULL, NULL); /* the FIFO's tail */
    } else if (timeout > 0 && !__builtin_isinf(timeout)) { /* infinite: no limit */
        w->timeout_code = timeout_code;
        w->timeout_seconds = timeout;
        rc = hub__timer_start(h, &w->timer, timeout);
    }
    if (rc == HUB_OK)
        rc = hub__block(h, w);
    if (value)
        *value = w->value;
    if (granted)
        *granted = rc != HUB_OK && w->state == HUB__RESOLVED && w->code == HUB_OK;
    hub__waiter_free(h, w);
    return rc;
}

/* ---- greenlets ---------------------------------------------------------------------------- */

struct hub_greenlet {
    hub__hub *hub;
    gl_greenlet *gl;          /* NULL once dead */
    gl_run_fn fn;
    void *arg;
    int refs;                 /* the caller's + the hub's (until dead) */
    unsigned char started, dead, failed;
    unsigned char user_ref;   /* the caller's reference is still held */
    void *value;
    gl_error error;
    hub__cb start;            /* queued by spawn */
    hub__timer start_timer;   /* armed by spawn_later */
    hub__cb kill;             /* queued by kill */
    hub__waitq joiners;
    hub__list timeouts;       /* hub_timeouts it started and did not cancel */
    hub__node live;           /* in the hub's list of live greenlets until dead */
};

void hub__greenlet_unref(hub_greenlet *g);

/* For hub_iwait: the queue a link on the object joins; *ready: it is ready now. */
hub__waitq *hub__event_links(hub_event *e, hub__hub **owner, int *ready);
hub__waitq *hub__async_result_links(hub_async_result *r, hub__hub **owner, int *ready);

/* ---- timeouts ------------------------------------------------------------------------- */

struct hub_timeout {
    hub__hub *hub;
    gl_greenlet *owner;       /* NULL once its owner died */
    hub_greenlet *owner_hg;   /* owner's handle, when a hub greenlet */
    hub__node node;           /* in owner_hg->timeouts */
    double seconds;
    hub__timer timer;
    hub__cb raise;
};

/* The owner died: nothing may be thrown into it any more. */
void hub__timeouts_orphan(hub_greenlet *g);

/* ---- I/O -------------------------------------------------------------------------------- */

typedef struct hub__io {
    hub__hub *hub;
    int fd;
    dev_t dev;                /* the file it named when the record was made */
    ino_t ino;
    int events;               /* HUB__READ | HUB__WRITE the backend watches */
    int always_ready;         /* a regular file: poll would refuse it */
    int recv_waited;          /* hub_recv's last call had to wait: wait before reading */
    hub__waitq readers, writers;
    void *backend;            /* the backend's watcher */
} hub__io;

/* The hub's record of `fd`, if it has one (dropped by hub_close). */
hub__io *hub__io_find(hub__hub *h, int fd);

/* hub_wait_read/write, for `events` (HUB__READ or HUB__WRITE). */
int hub__wait_fd(int fd, int events, double timeout, const char *what);

/* ---- the hub ---------------------------------------------------------------------------- */

struct hub__hub {
    gl_greenlet *greenlet;    /* runs hub__run */
    gl_greenlet *main;        /* its parent: gets HUB_ELOOPEXIT */
    const hub__loop_ops *ops;
    void *loop;
    hub__cb fifo;             /* sentinel of the callback FIFO */
    size_t fifo_count;
    hub__timer **heap;
    size_t heap_len, heap_cap;
    uint64_t timer_seq;
    hub__io **ios;            /* by fd */
    size_t ios_cap;
    size_t io_waiters;        /* greenlets waiting on descriptors */
    hub_greenlet *dying;      /* set by a hub greenlet right before its function ends */
    hub__list live;           /* hub_greenlets spawned and not dead, in spawn order */
    size_t live_greenlets;
    int destroying;
    hub__list free_waiters;   /* waiters to reuse */
};

/* This thread's hub; created if `create` (NULL with the error recorded on failure). */
hub__hub *hub__get(int create);
/* hub__get(1), plus "object belongs to this thread's hub" check; NULL + error if not. */
hub__hub *hub__for(hub__hub *owner, const char *what);

/* After any switch or throw made by the hub: record a greenlet that just died. */
void hub__after_switch(hub__hub *h, int rc, void *value);

/* The hub greenlet's own code: the loop. */
void *hub__run(void *arg);

/* Records `code` with a message as the calling greenlet's last error; returns code. */
int hub__fail(int code, void *data, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* HUB_ESYS with errno `err`: "<what>: strerror". */
int hub__fail_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* GL_EINVAL, recorded, when `seconds` (a duration or timeout given to `what`) is NaN;
 * else HUB_OK. Every call taking one checks first: NaN compares false to everything,
 * so it would otherwise pass for "not negative, not zero" and mean anything. */
static inline int hub__check_seconds(double seconds, const char *what)
{
    return __builtin_isnan(seconds) ? hub__fail(GL_EINVAL, NULL, "%s: the duration is NaN", what)
                                    : HUB_OK;
}

/* Backends. */
extern const hub__loop_ops hub__loop_libev;
extern const hub__loop_ops hub__loop_libuv;

#endif /* HUB_INTERNAL_H */
