/* Waiting with a limit, and for the first of several things: hub_with_timeout
 * (gevent's with_timeout), hub_wait / hub_iwait (gevent's wait / iwait). Behaviours
 * checked against gevent 22.10.2. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include "greenlet.h"
#include "hub.h"
#include "hub_cases.h"
#include "suite.h"

/* ---- hub_with_timeout --------------------------------------------------------------- */

static int sleep_for(void *arg) { return hub_sleep(*(const double *)arg); }

static int fails_with_a_user_error(void *arg)
{
    (void)arg;
    return gl_throw(gl_current(), GL_EUSER + 3, NULL, "bad input");
}

CASE(hub, with_timeout_returns_what_the_function_returns)
{
    static const double short_sleep = 0.001;
    int timed_out = -1;
    CHECK_OK(hub_with_timeout(5.0, sleep_for, (void *)&short_sleep, &timed_out));
    CHECK_INT(timed_out, 0);
    CHECK_INT(hub_with_timeout(5.0, fails_with_a_user_error, NULL, &timed_out), GL_EUSER + 3);
    CHECK_STR(gl_last_error()->message, "bad input");
    CHECK_INT(timed_out, 0);
    CHECK_INT(hub_with_timeout(5.0, NULL, NULL, NULL), GL_EINVAL);
    CHECK_INT(hub_with_timeout(NAN, sleep_for, (void *)&short_sleep, NULL), GL_EINVAL);
    CHECK_OK(hub_sleep(0.01)); /* no timeout is left armed */
}

/* gevent: Timeout raised without timeout_value; timeout_value returned with it. */
CASE(hub, with_timeout_that_fires_is_etimeout_or_the_callers_default)
{
    static const double long_sleep = 30;
    int timed_out = -1;
    CHECK_INT(hub_with_timeout(0.005, sleep_for, (void *)&long_sleep, NULL), HUB_ETIMEOUT);
    CHECK_PTR(gl_last_error()->data, NULL);
    CHECK_OK(hub_with_timeout(0.005, sleep_for, (void *)&long_sleep, &timed_out));
    CHECK_INT(timed_out, 1);
}

static int inner_with_timeout(void *arg)
{
    static const double long_sleep = 30;
    int *timed_out = arg;
    return hub_with_timeout(5.0, sleep_for, (void *)&long_sleep, timed_out);
}

/* gevent's test_nested_with_timeout: the outer Timeout fires inside the inner
 * with_timeout, which passes it on (its own default value is not returned). */
CASE(hub, with_timeout_passes_on_an_enclosing_timeout)
{
    hub_timeout *outer;
    int timed_out = -1;
    CHECK_OK(hub_timeout_start(&outer, 0.005));
    CHECK_INT(inner_with_timeout(&timed_out), HUB_ETIMEOUT);
    CHECK_PTR(gl_last_error()->data, outer);
    CHECK_INT(timed_out, 0);
    CHECK_OK(hub_timeout_cancel(outer));
}

static int catches_its_timeout(void *arg)
{
    (void)arg;
    int rc = hub_sleep(30);
    LOG("caught:%s", hub_strerror(rc));
    return rc == HUB_ETIMEOUT ? HUB_OK : rc;
}

/* gevent: a function that catches the Timeout and returns: its return stands. */
CASE(hub, with_timeout_function_that_handles_the_timeout_has_the_last_word)
{
    int timed_out = -1;
    CHECK_OK(hub_with_timeout(0.005, catches_its_timeout, NULL, &timed_out));
    CHECK_INT(timed_out, 0);
    CHECK_LOG("caught:timeout");
}

static int busy_then_yield(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL); /* past the deadline, without the hub running */
    return hub_sleep(0);  /* its wake-up is queued before the timer is seen to be due */
}

/* gevent: 'done without blocking', and with_timeout(0, sleep, 0) returns normally: a
 * timeout that comes due after the function's last wait began does not interrupt it. */
CASE(hub, with_timeout_that_expires_while_the_function_does_not_wait_changes_nothing)
{
    int timed_out = -1;
    CHECK_OK(hub_with_timeout(0.001, busy_then_yield, NULL, &timed_out));
    CHECK_INT(timed_out, 0);
    CHECK_OK(hub_sleep(0.005)); /* and nothing is thrown in later */
}

/* ---- hub_wait and hub_iwait ----------------------------------------------------------- */

static hub_event *gate[2], *set_by_controller;
static hub_async_result *result;

static void *wait_gate(void *arg)
{
    hub_event *g = arg;
    return hub_event_wait(g, HUB_FOREVER) == HUB_OK ? NULL : gl_reraise();
}

/* Makes the objects ready one after the other: greenlet 1, the event, greenlet 0, the
 * result (each step lets the hub run what the previous one woke). */
static void *controller(void *arg)
{
    (void)arg;
    int rc = hub_event_set(gate[1]);
    if (rc == HUB_OK)
        rc = hub_sleep(0);
    if (rc == HUB_OK)
        rc = hub_event_set(set_by_controller);
    if (rc == HUB_OK)
        rc = hub_sleep(0);
    if (rc == HUB_OK)
        rc = hub_event_set(gate[0]);
    if (rc == HUB_OK)
        rc = hub_sleep(0);
    if (rc == HUB_OK)
        rc = hub_async_result_set(result, "v");
    return rc == HUB_OK ? NULL : gl_reraise();
}

static hub_waitable objs[4];

/* objs = {greenlet 0, greenlet 1, event, result}; the controller readies them in the
 * order 1, event, 0, result. */
static void make_objects(void)
{
    hub_greenlet *g[2];
    for (int i = 0; i < 2; i++) {
        CHECK_OK(hub_event_new(&gate[i]));
        CHECK_OK(hub_spawn(&g[i], wait_gate, gate[i]));
        objs[i] = hub_waitable_greenlet(g[i]);
    }
    CHECK_OK(hub_event_new(&set_by_controller));
    CHECK_OK(hub_async_result_new(&result));
    objs[2] = hub_waitable_event(set_by_controller);
    objs[3] = hub_waitable_async_result(result);
    CHECK_OK(hub_spawn(NULL, controller, NULL));
}

/* gevent: wait([g1, g2, e, a]) gave ['g2', 'e', 'g1', 'a'], the completion order. */
CASE(hub, wait_returns_the_objects_in_the_order_they_became_ready)
{
    size_t ready[4], n;
    make_objects();
    CHECK_OK(hub_wait(objs, 4, 0, HUB_FOREVER, ready, &n));
    CHECK_INT(n, 4);
    CHECK_INT(ready[0], 1);
    CHECK_INT(ready[1], 2);
    CHECK_INT(ready[2], 0);
    CHECK_INT(ready[3], 3);
}

CASE(hub, wait_with_a_count_returns_the_first_that_many)
{
    size_t ready[2], n;
    make_objects();
    CHECK_OK(hub_wait(objs, 4, 2, HUB_FOREVER, ready, &n));
    CHECK_INT(n, 2);
    CHECK_INT(ready[0], 1);
    CHECK_INT(ready[1], 2);
    CHECK(!hub_async_result_ready(result)); /* the rest is still to come */
    CHECK_OK(hub_sleep(0.01));
    CHECK_OK(hub_event_free(set_by_controller)); /* no link left on it */
}

/* gevent: wait([e3, g8], timeout=0.05) gave ['g8'], without raising. g8 is dead before
 * the call: had it to die during the wait, the case would race the 10 ms timeout (a
 * slow or loaded machine, qemu, resumes the hub past the deadline first). */
CASE(hub, wait_that_times_out_reports_what_was_ready)
{
    hub_event *never;
    hub_greenlet *g;
    size_t ready[2] = {9, 9}, n;
    CHECK_OK(hub_event_new(&never));
    CHECK_OK(hub_event_new(&gate[0]));
    CHECK_OK(hub_event_set(gate[0]));
    CHECK_OK(hub_spawn(&g, wait_gate, gate[0]));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    hub_waitable two[2] = {hub_waitable_event(never), hub_waitable_greenlet(g)};
    CHECK_INT(hub_wait(two, 2, 0, 0.01, ready, &n), HUB_ETIMEOUT);
    CHECK_INT(n, 1);
    CHECK_INT(ready[0], 1);
    CHECK_OK(hub_event_free(never)); /* unlinked */
}

/* gevent: wait([g4, e2, g3]) with e2 set and g3 dead gave ['e2', 'g3', 'g4']. An Event
 * set and cleared again before the call is not ready. */
CASE(hub, objects_ready_at_the_call_come_first_in_array_order)
{
    hub_greenlet *dead, *later;
    hub_event *set, *cleared;
    size_t ready[4], n;
    CHECK_OK(hub_event_new(&set));
    CHECK_OK(hub_event_new(&cleared));
    CHECK_OK(hub_event_new(&gate[0]));
    CHECK_OK(hub_event_set(set));
    CHECK_OK(hub_event_set(cleared));
    CHECK_OK(hub_event_clear(cleared));
    CHECK_OK(hub_event_set(gate[0]));
    CHECK_OK(hub_spawn(&dead, wait_gate, gate[0]));
    CHECK_OK(hub_join(dead, HUB_FOREVER));
    CHECK_OK(hub_event_new(&gate[1]));
    CHECK_OK(hub_spawn(&later, wait_gate, gate[1]));
    hub_waitable four[4] = {hub_waitable_greenlet(later), hub_waitable_event(cleared),
                            hub_waitable_event(set), hub_waitable_greenlet(dead)};
    CHECK_OK(hub_event_set(gate[1]));
    CHECK_OK(hub_wait(four, 4, 3, HUB_FOREVER, ready, &n));
    CHECK_INT(n, 3);
    CHECK_INT(ready[0], 2);
    CHECK_INT(ready[1], 3);
    CHECK_INT(ready[2], 0);
}

static void *fails(void *arg)
{
    (void)arg;
    return gl_raise(GL_EUSER, NULL, "failed on purpose");
}

/* Waiting takes nothing (the event stays set, the value stays); failures count as
 * ready; duplicates are returned once each (gevent: ['g9', 'g9']); nothing to wait for
 * returns at once. */
CASE(hub, wait_takes_nothing_counts_failures_as_ready_and_each_duplicate)
{
    hub_greenlet *failing;
    hub_event *e;
    hub_async_result *ok, *bad;
    size_t ready[5], n;
    void *value;
    CHECK_OK(hub_spawn(&failing, fails, NULL));
    CHECK_OK(hub_event_new(&e));
    CHECK_OK(hub_event_set(e));
    CHECK_OK(hub_async_result_new(&ok));
    CHECK_OK(hub_async_result_set(ok, "kept"));
    CHECK_OK(hub_async_result_new(&bad));
    CHECK_OK(hub_async_result_set_error(bad, GL_EUSER, NULL, "bad"));
    hub_waitable five[5] = {hub_waitable_greenlet(failing), hub_waitable_event(e),
                            hub_waitable_async_result(ok), hub_waitable_async_result(bad),
                            hub_waitable_greenlet(failing)};
    CHECK_OK(hub_wait(five, 5, 0, 5.0, ready, &n));
    CHECK_INT(n, 5);
    CHECK(hub_event_is_set(e));
    CHECK_OK(hub_async_result_get(ok, 0, &value));
    CHECK_STR((const char *)value, "kept");
    CHECK_OK(hub_wait(five, 0, 0, HUB_FOREVER, NULL, &n));
    CHECK_INT(n, 0);
}

/* gevent's test__iwait / test__issue467: iwait yields as objects become ready, the
 * consumer may wait on other things between two, and closing it early unlinks the rest
 * (linkcount() == 0: here, the events can be freed). */
CASE(hub, iwait_yields_as_objects_become_ready_and_free_unlinks_the_rest)
{
    hub_iwait *it;
    size_t i;
    make_objects();
    CHECK_OK(hub_iwait_new(&it, objs, 4, HUB_FOREVER));
    CHECK_OK(hub_iwait_next(it, &i));
    CHECK_INT(i, 1);
    CHECK_OK(hub_sleep(0.001)); /* something else between two */
    CHECK_OK(hub_iwait_next(it, &i));
    CHECK_INT(i, 2);
    CHECK_OK(hub_iwait_free(it));
    CHECK_OK(hub_sleep(0.01)); /* the controller finishes: nothing is recorded any more */
    CHECK_OK(hub_event_free(set_by_controller));
    CHECK_OK(hub_async_result_free(result));
}

CASE(hub, iwait_ends_with_edone_and_stops_at_its_timeout)
{
    hub_iwait *it;
    hub_event *never;
    size_t i;
    make_objects();
    CHECK_OK(hub_iwait_new(&it, objs, 4, HUB_FOREVER));
    for (size_t k = 0; k < 4; k++)
        CHECK_OK(hub_iwait_next(it, &i));
    CHECK_INT(hub_iwait_next(it, &i), HUB_EDONE);
    CHECK_OK(hub_iwait_free(it));
    CHECK_OK(hub_event_new(&never));
    hub_waitable one = hub_waitable_event(never);
    CHECK_OK(hub_iwait_new(&it, &one, 1, 0.005));
    CHECK_INT(hub_iwait_next(it, &i), HUB_ETIMEOUT);
    CHECK_INT(hub_iwait_next(it, &i), HUB_ETIMEOUT); /* the iteration's timeout, once passed */
    CHECK_OK(hub_iwait_free(it));
    CHECK_OK(hub_event_free(never));
}

static hub_event *main_threads_event;

static void *wait_on_foreign(void *arg)
{
    (void)arg;
    size_t ready[1], n;
    hub_waitable one = hub_waitable_event(main_threads_event);
    return (void *)(intptr_t)hub_wait(&one, 1, 0, 0, ready, &n);
}

CASE(hub, wait_on_a_null_unknown_or_foreign_object_is_refused)
{
    hub_waitable bad = hub_waitable_event(NULL);
    hub_waitable unknown = {(hub_waitable_kind)99, {NULL}};
    size_t ready[1], n;
    hub_iwait *it;
    pthread_t t;
    void *rc;
    CHECK_INT(hub_wait(&bad, 1, 0, 0, ready, &n), GL_EINVAL);
    CHECK_INT(hub_wait(&unknown, 1, 0, 0, ready, &n), GL_EINVAL);
    CHECK_INT(hub_iwait_new(&it, NULL, 1, 0), GL_EINVAL);
    CHECK_INT(hub_iwait_next(NULL, ready), GL_EINVAL);
    CHECK_OK(hub_event_new(&main_threads_event));
    CHECK_INT(hub_cases_thread(&t, wait_on_foreign, NULL), 0);
    CHECK_INT(pthread_join(t, &rc), 0);
    CHECK_INT((intptr_t)rc, GL_ETHREAD);
    CHECK_OK(hub_event_free(main_threads_event)); /* nothing was linked */
}
