/* Hub primitives: Event, AsyncResult, Queue, Semaphore and Lock. Waiters are served in
 * the order they started waiting; setting, putting and releasing never switch. */
#include <stdint.h>
#include "greenlet.h"
#include "hub.h"
#include "suite.h"

static hub_event *ev;
static hub_async_result *ar;
static hub_queue *q;
static hub_semaphore *sem;

static void *event_waiter(void *arg)
{
    int rc = hub_event_wait(ev, HUB_FOREVER);
    LOG("%s:%d", (const char *)arg, rc);
    return NULL;
}

/* Two greenlets run fn(a) and fn(b), which wait on `ev`; once both wait, it is set
 * (their wake-ups are queued, they have not run yet). */
static void set_while_two_wait(hub_greenlet *g[2], gl_run_fn fn, const char *a, const char *b)
{
    if (!ev)
        CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_event_clear(ev));
    CHECK_OK(hub_spawn(&g[0], fn, (void *)a));
    CHECK_OK(hub_spawn(&g[1], fn, (void *)b));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_event_set(ev));
}

CASE(hub, event_set_wakes_every_waiter_in_wait_order_without_switching)
{
    hub_greenlet *g[3];
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_spawn(&g[0], event_waiter, "w0"));
    CHECK_OK(hub_spawn(&g[1], event_waiter, "w1"));
    CHECK_OK(hub_spawn(&g[2], event_waiter, "w2"));
    CHECK_OK(hub_sleep(0));
    CHECK(!hub_event_is_set(ev));
    CHECK_OK(hub_event_set(ev));
    LOG("after-set");
    CHECK_OK(hub_joinall(g, 3, HUB_FOREVER));
    CHECK_LOG("after-set w0:0 w1:0 w2:0");
}

CASE(hub, event_wait_on_a_set_event_returns_at_once)
{
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_event_set(ev));
    CHECK(hub_event_is_set(ev));
    CHECK_OK(hub_event_wait(ev, 0));
    CHECK_OK(hub_event_wait(ev, HUB_FOREVER));
    CHECK_OK(hub_event_clear(ev));
    CHECK_INT(hub_event_wait(ev, 0), HUB_ETIMEOUT);
    CHECK_OK(hub_event_free(ev));
}

CASE(hub, event_waiters_wake_even_if_cleared_before_they_ran)
{
    hub_greenlet *g[2];
    set_while_two_wait(g, event_waiter, "w0", "w1");
    CHECK_OK(hub_event_clear(ev));
    CHECK_OK(hub_joinall(g, 2, HUB_FOREVER));
    CHECK_LOG("w0:0 w1:0");
}

CASE(hub, freeing_an_event_with_waiters_is_refused)
{
    hub_greenlet *g;
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_spawn(&g, event_waiter, "w"));
    CHECK_OK(hub_sleep(0));
    CHECK_INT(hub_event_free(ev), HUB_EBUSY);
    CHECK_OK(hub_event_set(ev));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_OK(hub_event_free(ev));
}

static void *wait_then_log(void *arg)
{
    if (hub_event_wait(ev, HUB_FOREVER) != HUB_OK)
        return gl_reraise();
    LOG("%s", (const char *)arg);
    return NULL;
}

static void *log_arg(void *arg)
{
    LOG("%s", (const char *)arg);
    return NULL;
}

/* gevent's test_wait_while_notifying (checked against gevent 22.10.2: [1, 2, 3], and
 * [1, 2, 3, 'x'] with a greenlet spawned between the set and the late wait). */
CASE(hub, event_wait_while_its_waiters_are_being_woken_runs_after_them)
{
    hub_greenlet *g[2];
    set_while_two_wait(g, wait_then_log, "1", "2");
    CHECK_OK(hub_event_wait(ev, HUB_FOREVER)); /* set, but 1 and 2 have not run yet */
    LOG("3");
    CHECK_LOG("1 2 3");
    CHECK_OK(hub_joinall(g, 2, HUB_FOREVER));
    suite_log_reset();
    set_while_two_wait(g, wait_then_log, "1", "2");
    CHECK_OK(hub_spawn(NULL, log_arg, "x"));
    CHECK_OK(hub_event_wait(ev, HUB_FOREVER));
    LOG("3");
    CHECK_OK(hub_sleep(0));
    CHECK_LOG("1 2 3 x");
}

static void *wait_twice(void *arg)
{
    for (int i = 0; i < 2; i++) {
        if (hub_event_wait(ev, HUB_FOREVER) != HUB_OK)
            return gl_reraise();
        LOG("%s%s", (const char *)arg, i ? "-again" : "");
    }
    return NULL;
}

/* gevent 22.10.2: ['a', 'b', 'aagain', 'bagain']. */
CASE(hub, woken_waiter_that_waits_again_runs_after_the_rest_of_the_pass)
{
    hub_greenlet *g[2];
    set_while_two_wait(g, wait_twice, "a", "b");
    CHECK_OK(hub_joinall(g, 2, HUB_FOREVER));
    CHECK_LOG("a b a-again b-again");
}

/* Once the waiters woken by a set have run, a wait on the set event does not yield. */
CASE(hub, event_wait_after_the_pass_of_wake_ups_returns_without_yielding)
{
    hub_greenlet *g;
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_spawn(&g, wait_then_log, "woken"));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_event_set(ev));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_spawn(NULL, log_arg, "spawned"));
    CHECK_OK(hub_event_wait(ev, HUB_FOREVER));
    LOG("main");
    CHECK_OK(hub_sleep(0));
    CHECK_LOG("woken main spawned");
}

CASE(hub, event_freed_right_after_set_still_wakes_its_waiters)
{
    hub_greenlet *g[2];
    set_while_two_wait(g, event_waiter, "w0", "w1");
    CHECK_OK(hub_event_free(ev)); /* the wake-ups are on their way */
    CHECK_OK(hub_joinall(g, 2, HUB_FOREVER));
    CHECK_LOG("w0:0 w1:0");
}

static void *result_getter(void *arg)
{
    void *value = NULL;
    int rc = hub_async_result_get(ar, HUB_FOREVER, &value);
    if (rc == HUB_OK)
        LOG("%s:%s", (const char *)arg, (const char *)value);
    else
        LOG("%s:%d:%s", (const char *)arg, rc, gl_last_error()->message);
    return NULL;
}

CASE(hub, async_result_delivers_its_value_to_every_waiter)
{
    hub_greenlet *g[2];
    void *value;
    CHECK_OK(hub_async_result_new(&ar));
    CHECK_OK(hub_spawn(&g[0], result_getter, "a"));
    CHECK_OK(hub_spawn(&g[1], result_getter, "b"));
    CHECK_OK(hub_sleep(0));
    CHECK(!hub_async_result_ready(ar));
    CHECK_OK(hub_async_result_set(ar, "v"));
    CHECK_OK(hub_joinall(g, 2, HUB_FOREVER));
    CHECK_LOG("a:v b:v");
    CHECK_OK(hub_async_result_get(ar, 0, &value));
    CHECK_STR((const char *)value, "v");
}

CASE(hub, async_result_delivers_an_error)
{
    hub_greenlet *g;
    CHECK_OK(hub_async_result_new(&ar));
    CHECK_OK(hub_spawn(&g, result_getter, "a"));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_async_result_set_error(ar, GL_EUSER + 2, NULL, "bad %d", 3));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_INT(hub_async_result_get(ar, HUB_FOREVER, NULL), GL_EUSER + 2);
    CHECK_STR(gl_last_error()->message, "bad 3");
    CHECK_LOG("a:102:bad 3");
}

CASE(hub, async_result_is_set_once_and_get_times_out_before)
{
    CHECK_OK(hub_async_result_new(&ar));
    CHECK_INT(hub_async_result_get(ar, 0, NULL), HUB_ETIMEOUT);
    CHECK_INT(hub_async_result_get(ar, 0.002, NULL), HUB_ETIMEOUT);
    CHECK_OK(hub_async_result_set(ar, "first"));
    CHECK_INT(hub_async_result_set(ar, "second"), HUB_EALREADY);
    CHECK_INT(hub_async_result_set_error(ar, GL_EUSER, NULL, NULL), HUB_EALREADY);
    void *value;
    CHECK_OK(hub_async_result_get(ar, 0, &value));
    CHECK_STR((const char *)value, "first");
    CHECK_OK(hub_async_result_free(ar));
}

CASE(hub, queue_is_first_in_first_out)
{
    static const char *items[] = {"a", "b", "c", "d"};
    CHECK_OK(hub_queue_new(&q, 0));
    for (int i = 0; i < 4; i++)
        CHECK_OK(hub_queue_put(q, (void *)items[i], 0));
    CHECK_INT(hub_queue_size(q), 4);
    for (int i = 0; i < 4; i++) {
        void *item;
        CHECK_OK(hub_queue_get(q, 0, &item));
        CHECK_PTR(item, items[i]);
    }
    CHECK_INT(hub_queue_size(q), 0);
}

static void *queue_getter(void *arg)
{
    void *item = NULL;
    LOG("%s-waits", (const char *)arg);
    int rc = hub_queue_get(q, HUB_FOREVER, &item);
    if (rc != HUB_OK) {
        LOG("%s:%s", (const char *)arg, hub_strerror(rc));
        return gl_reraise();
    }
    LOG("%s:%s", (const char *)arg, (const char *)item);
    return item;
}

CASE(hub, queue_get_blocks_until_a_put_and_put_does_not_switch)
{
    hub_greenlet *g;
    CHECK_OK(hub_queue_new(&q, 0));
    CHECK_OK(hub_spawn(&g, queue_getter, "g"));
    CHECK_OK(hub_sleep(0));
    CHECK(!hub_greenlet_dead(g));
    CHECK_OK(hub_queue_put(q, "x", HUB_FOREVER));
    LOG("put-done");
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_LOG("g-waits put-done g:x");
}

CASE(hub, queue_blocked_getters_receive_items_in_blocking_order)
{
    hub_greenlet *g[3];
    CHECK_OK(hub_queue_new(&q, 0));
    CHECK_OK(hub_spawn(&g[0], queue_getter, "g0"));
    CHECK_OK(hub_spawn(&g[1], queue_getter, "g1"));
    CHECK_OK(hub_spawn(&g[2], queue_getter, "g2"));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_queue_put(q, "a", 0));
    CHECK_OK(hub_queue_put(q, "b", 0));
    CHECK_OK(hub_queue_put(q, "c", 0));
    CHECK_OK(hub_joinall(g, 3, HUB_FOREVER));
    CHECK_LOG("g0-waits g1-waits g2-waits g0:a g1:b g2:c");
}

static void *putter_abc(void *arg)
{
    (void)arg;
    static const char *items[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        int rc = hub_queue_put(q, (void *)items[i], HUB_FOREVER);
        if (rc != HUB_OK)
            return gl_reraise();
        LOG("put-%s", items[i]);
    }
    return NULL;
}

CASE(hub, bounded_queue_put_blocks_while_full)
{
    hub_greenlet *g;
    void *item;
    CHECK_OK(hub_queue_new(&q, 2));
    CHECK_OK(hub_spawn(&g, putter_abc, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK_LOG("put-a put-b");
    CHECK(!hub_greenlet_dead(g));
    CHECK_OK(hub_queue_get(q, 0, &item));
    CHECK_STR((const char *)item, "a");
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_LOG("put-a put-b put-c");
    CHECK_OK(hub_queue_get(q, 0, &item));
    CHECK_STR((const char *)item, "b");
    CHECK_OK(hub_queue_get(q, 0, &item));
    CHECK_STR((const char *)item, "c");
}

CASE(hub, queue_without_blocking_reports_full_and_empty)
{
    void *item;
    CHECK_OK(hub_queue_new(&q, 1));
    CHECK_OK(hub_queue_put(q, "x", 0));
    CHECK_INT(hub_queue_put(q, "y", 0), HUB_EFULL);
    CHECK_OK(hub_queue_get(q, 0, &item));
    CHECK_STR((const char *)item, "x");
    CHECK_INT(hub_queue_get(q, 0, &item), HUB_EEMPTY);
    CHECK_PTR(item, NULL);
}

CASE(hub, queue_timeouts_report_full_and_empty)
{
    CHECK_OK(hub_queue_new(&q, 1));
    CHECK_INT(hub_queue_get(q, 0.002, NULL), HUB_EEMPTY);
    CHECK_OK(hub_queue_put(q, "x", 0.002));
    CHECK_INT(hub_queue_put(q, "y", 0.002), HUB_EFULL);
    CHECK_INT(hub_queue_size(q), 1);
}

CASE(hub, killed_getter_does_not_lose_the_item_handed_to_it)
{
    hub_greenlet *g[2];
    CHECK_OK(hub_queue_new(&q, 0));
    CHECK_OK(hub_spawn(&g[0], queue_getter, "g0"));
    CHECK_OK(hub_spawn(&g[1], queue_getter, "g1"));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_kill_nowait(g[0])); /* its kill is queued before the item's hand-off */
    CHECK_OK(hub_queue_put(q, "x", 0));
    CHECK_OK(hub_join(g[1], HUB_FOREVER));
    CHECK_OK(hub_join(g[0], HUB_FOREVER));
    CHECK_LOG("g0-waits g1-waits g0:GreenletExit g1:x");
    CHECK_INT(hub_queue_size(q), 0);
}

static void *critical(void *arg)
{
    long n = (long)(intptr_t)arg;
    int rc = hub_semaphore_acquire(sem, HUB_FOREVER);
    if (rc != HUB_OK)
        return gl_reraise();
    LOG("in%ld", n);
    rc = hub_sleep(0);
    LOG("out%ld", n);
    hub_semaphore_release(sem);
    return rc == HUB_OK ? NULL : gl_reraise();
}

/* gevent's TestSemaphoreFair: blocked acquirers are served in order. */
CASE(hub, semaphore_serves_blocked_acquirers_in_order)
{
    hub_greenlet *g[3];
    CHECK_OK(hub_semaphore_new(&sem, 1, 0));
    for (long i = 0; i < 3; i++)
        CHECK_OK(hub_spawn(&g[i], critical, (void *)(intptr_t)i));
    CHECK_OK(hub_joinall(g, 3, HUB_FOREVER));
    CHECK_LOG("in0 out0 in1 out1 in2 out2");
    CHECK_INT(hub_semaphore_value(sem), 1);
}

CASE(hub, semaphore_acquire_times_out_when_nothing_is_released)
{
    CHECK_OK(hub_semaphore_new(&sem, 0, 0));
    CHECK_INT(hub_semaphore_acquire(sem, 0), HUB_ETIMEOUT);
    CHECK_INT(hub_semaphore_acquire(sem, 0.002), HUB_ETIMEOUT);
    CHECK_OK(hub_semaphore_release(sem));
    CHECK_OK(hub_semaphore_acquire(sem, 0));
    CHECK_OK(hub_semaphore_free(sem));
}

static void *log_g(void *arg)
{
    (void)arg;
    LOG("g");
    return NULL;
}

CASE(hub, semaphore_acquire_of_an_available_unit_does_not_yield)
{
    CHECK_OK(hub_semaphore_new(&sem, 2, 0));
    CHECK_OK(hub_spawn(NULL, log_g, NULL));
    CHECK_OK(hub_semaphore_acquire(sem, HUB_FOREVER));
    CHECK_OK(hub_semaphore_acquire(sem, HUB_FOREVER));
    LOG("main");
    CHECK_OK(hub_sleep(0));
    CHECK_LOG("main g");
}

CASE(hub, releasing_an_unheld_lock_or_a_full_bounded_semaphore_is_an_error)
{
    hub_lock *lock;
    CHECK_OK(hub_lock_new(&lock));
    CHECK_INT(hub_lock_release(lock), HUB_ERELEASE);
    CHECK_OK(hub_lock_acquire(lock, 0));
    CHECK_INT(hub_lock_acquire(lock, 0), HUB_ETIMEOUT);
    CHECK_OK(hub_lock_release(lock));
    CHECK_INT(hub_lock_release(lock), HUB_ERELEASE);
    CHECK_OK(hub_lock_free(lock));
    CHECK_OK(hub_semaphore_new(&sem, 1, 2));
    CHECK_OK(hub_semaphore_release(sem));
    CHECK_INT(hub_semaphore_release(sem), HUB_ERELEASE);
    CHECK_INT(hub_semaphore_value(sem), 2);
    CHECK_INT(hub_semaphore_new(&sem, 3, 2), GL_EINVAL);
}

static void *acquirer(void *arg)
{
    LOG("%s-waits", (const char *)arg);
    int rc = hub_semaphore_acquire(sem, HUB_FOREVER);
    LOG("%s:%s", (const char *)arg, hub_strerror(rc));
    return rc == HUB_OK ? NULL : gl_reraise();
}

CASE(hub, killed_acquirer_passes_the_unit_it_was_handed_to_the_next)
{
    hub_greenlet *g[2];
    CHECK_OK(hub_semaphore_new(&sem, 0, 0));
    CHECK_OK(hub_spawn(&g[0], acquirer, "a0"));
    CHECK_OK(hub_spawn(&g[1], acquirer, "a1"));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_kill_nowait(g[0])); /* its kill is queued before the unit's hand-off */
    CHECK_OK(hub_semaphore_release(sem));
    CHECK_OK(hub_joinall(g, 2, HUB_FOREVER));
    CHECK_LOG("a0-waits a1-waits a0:GreenletExit a1:success");
    CHECK_INT(hub_semaphore_value(sem), 0);
}
