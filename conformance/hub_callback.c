/* hub_run_callback (gevent's loop.run_callback) and hub_with_timeout (gevent's
 * with_timeout). Orders checked against gevent 22.10.2. */
#include <stdint.h>
#include "greenlet.h"
#include "hub.h"
#include "suite.h"

static void log_cb(void *arg) { LOG("%s", (const char *)arg); }

static void *log_greenlet(void *arg)
{
    LOG("%s", (const char *)arg);
    return NULL;
}

static void queue_b(void *arg)
{
    LOG("%s", (const char *)arg);
    hub_run_callback(NULL, log_cb, "B");
}

/* gevent: ['A', 'spawn', 'cb2', 'B', 'later0'] — one FIFO; B, queued while the FIFO
 * runs, runs in the same pass, before the due timer. */
CASE(hub, callbacks_share_the_fifo_with_spawns_and_run_before_due_timers)
{
    hub_callback *cb;
    CHECK_OK(hub_spawn_later(NULL, 0, log_greenlet, "later0"));
    CHECK_OK(hub_run_callback(NULL, queue_b, "A"));
    CHECK_OK(hub_spawn(NULL, log_greenlet, "spawn"));
    CHECK_OK(hub_run_callback(&cb, log_cb, "cb2"));
    LOG("queued");
    CHECK(hub_callback_pending(cb));
    CHECK_OK(hub_sleep(0.01));
    CHECK_LOG("queued A spawn cb2 B later0");
    CHECK(!hub_callback_pending(cb)); /* it ran, once */
    CHECK_OK(hub_callback_cancel(cb));
}

CASE(hub, cancelled_callback_never_runs)
{
    hub_callback *cb;
    CHECK_OK(hub_run_callback(&cb, log_cb, "cancelled"));
    CHECK_OK(hub_run_callback(NULL, log_cb, "kept"));
    CHECK(hub_callback_pending(cb));
    CHECK_OK(hub_callback_cancel(cb));
    CHECK_OK(hub_sleep(0));
    CHECK_LOG("kept");
    CHECK_INT(hub_run_callback(NULL, NULL, NULL), GL_EINVAL);
    CHECK_INT(hub_callback_cancel(NULL), GL_EINVAL);
    CHECK(!hub_callback_pending(NULL));
}

static int blocked_rc[2];

static void tries_to_block(void *arg)
{
    (void)arg;
    blocked_rc[0] = hub_sleep(0);
    blocked_rc[1] = hub_join(hub_current(), HUB_FOREVER);
}

/* gevent: BlockingSwitchOutError. */
CASE(hub, blocking_in_a_callback_is_refused_with_eblocking)
{
    CHECK_OK(hub_run_callback(NULL, tries_to_block, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK_INT(blocked_rc[0], HUB_EBLOCKING);
    CHECK_INT(blocked_rc[1], GL_EINVAL); /* hub_current() is NULL in the hub */
    CHECK_OK(hub_sleep(0)); /* the hub goes on */
}

static void set_event(void *arg) { hub_event_set(arg); }

/* A queued callback is something to do: the loop does not run dry before it ran. */
CASE(hub, a_queued_callback_keeps_the_hub_from_loopexit)
{
    hub_event *e;
    CHECK_OK(hub_event_new(&e));
    CHECK_OK(hub_run_callback(NULL, set_event, e));
    CHECK_OK(hub_event_wait(e, HUB_FOREVER));
    CHECK_INT(hub_event_wait(e, 0), HUB_OK);
}
