/* Hub scheduling: spawn order, sleep, join, kill, timeouts, the blocked-forever error.
 * Order is asserted, never durations: delays only need to be ordered. Data shared
 * between greenlets is static (a stack-copying port moves suspended stacks). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "greenlet.h"
#include "hub.h"
#include "hub_cases.h"
#include "suite.h"

/* Seconds: a "unit" of the classic example. Generous, because greenlets start one
 * after another (on the threads port each start creates a thread) and only the gap
 * between deadlines orders them. */
#define UNIT 0.050

static void *log_name(void *arg)
{
    LOG("%s", (const char *)arg);
    return arg;
}

static void *classic_task(void *arg)
{
    long n = (long)(intptr_t)arg;
    LOG("%ldb", n);
    if (hub_sleep((double)(3 - n) * UNIT) != HUB_OK)
        return gl_reraise();
    LOG("%lde", n);
    return NULL;
}

/* gevent's classic: sleeps of 2, 1, 0 units; begins 1,2,3 then ends 3,2,1. */
CASE(hub, classic_begins_in_spawn_order_ends_in_deadline_order)
{
    hub_greenlet *g[3];
    for (long i = 0; i < 3; i++)
        CHECK_OK(hub_spawn(&g[i], classic_task, (void *)(intptr_t)(i + 1)));
    CHECK_OK(hub_joinall(g, 3, HUB_FOREVER));
    CHECK_LOG("1b 2b 3b 3e 2e 1e");
    for (int i = 0; i < 3; i++)
        CHECK_OK(hub_greenlet_release(g[i]));
}

CASE(hub, spawned_greenlets_run_in_spawn_order_once_the_spawner_blocks)
{
    static const char *names[] = {"g0", "g1", "g2", "g3", "g4"};
    hub_greenlet *g[5];
    for (int i = 0; i < 5; i++)
        CHECK_OK(hub_spawn(&g[i], log_name, (void *)names[i]));
    LOG("spawned");
    CHECK_OK(hub_joinall(g, 5, HUB_FOREVER));
    CHECK_LOG("spawned g0 g1 g2 g3 g4");
}

static void *ab_task(void *arg)
{
    long n = (long)(intptr_t)arg;
    LOG("%ldA", n);
    if (hub_sleep(0) != HUB_OK)
        return gl_reraise();
    LOG("%ldB", n);
    return NULL;
}

/* gevent's test__order.TestSleep0. */
CASE(hub, sleep0_yields_round_robin)
{
    hub_greenlet *g[2];
    CHECK_OK(hub_spawn(&g[0], ab_task, (void *)1));
    CHECK_OK(hub_spawn(&g[1], ab_task, (void *)2));
    CHECK_OK(hub_joinall(g, 2, HUB_FOREVER));
    CHECK_LOG("1A 2A 1B 2B");
}

CASE(hub, sleep0_from_main_lets_every_ready_greenlet_run_first)
{
    CHECK_OK(hub_spawn(NULL, log_name, "g1"));
    CHECK_OK(hub_spawn(NULL, log_name, "g2"));
    CHECK_OK(hub_sleep(0));
    LOG("main");
    CHECK_LOG("g1 g2 main");
}

static const double delays[] = {0.120, 0.040, 0.080, 0.0}; /* 40 ms apart: a noisy machine */

static void *sleeper(void *arg)
{
    long i = (long)(intptr_t)arg;
    /* Every greenlet is started first, so the sleeps begin close together. */
    if (hub_sleep(0) != HUB_OK || hub_sleep(delays[i]) != HUB_OK)
        return gl_reraise();
    LOG("%ld", i);
    return NULL;
}

CASE(hub, sleeps_wake_in_deadline_order)
{
    hub_greenlet *g[4];
    for (long i = 0; i < 4; i++)
        CHECK_OK(hub_spawn(&g[i], sleeper, (void *)(intptr_t)i));
    CHECK_OK(hub_joinall(g, 4, HUB_FOREVER));
    CHECK_LOG("3 1 2 0");
}

static void *equal_sleeper(void *arg)
{
    if (hub_sleep(0.005) != HUB_OK)
        return gl_reraise();
    LOG("%ld", (long)(intptr_t)arg);
    return NULL;
}

CASE(hub, equal_sleeps_wake_in_the_order_they_started)
{
    hub_greenlet *g[20];
    for (long i = 0; i < 20; i++)
        CHECK_OK(hub_spawn(&g[i], equal_sleeper, (void *)(intptr_t)i));
    CHECK_OK(hub_joinall(g, 20, HUB_FOREVER));
    CHECK_LOG("0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19");
}

CASE(hub, spawn_later_zero_runs_after_greenlets_spawned_before_it)
{
    hub_greenlet *g[2];
    CHECK_OK(hub_spawn_later(&g[0], 0, log_name, "later0"));
    CHECK_OK(hub_spawn(&g[1], log_name, "spawn"));
    CHECK_OK(hub_joinall(g, 2, HUB_FOREVER));
    CHECK_LOG("spawn later0");
}

CASE(hub, spawn_later_runs_in_delay_order)
{
    hub_greenlet *g[2];
    CHECK_OK(hub_spawn_later(&g[0], 0.100, log_name, "late"));
    CHECK_OK(hub_spawn_later(&g[1], 0.005, log_name, "early"));
    CHECK(!hub_greenlet_started(g[0]) && !hub_greenlet_started(g[1]));
    CHECK_OK(hub_joinall(g, 2, HUB_FOREVER));
    CHECK_LOG("early late");
}

static hub_event *ev;

static void *wait_event(void *arg)
{
    LOG("%s-waits", (const char *)arg);
    if (hub_event_wait(ev, HUB_FOREVER) != HUB_OK)
        return gl_reraise();
    LOG("%s-woke", (const char *)arg);
    return arg;
}

CASE(hub, greenlet_state_follows_its_life)
{
    hub_greenlet *g;
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_spawn(&g, wait_event, "g"));
    CHECK(!hub_greenlet_started(g));
    CHECK(!hub_greenlet_dead(g));
    CHECK(hub_greenlet_gl(g) != NULL);
    CHECK_OK(hub_sleep(0));
    CHECK(hub_greenlet_started(g));
    CHECK(!hub_greenlet_dead(g));
    CHECK_OK(hub_event_set(ev));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK(hub_greenlet_dead(g));
    CHECK(hub_greenlet_successful(g));
    CHECK_STR((const char *)hub_greenlet_value(g), "g");
    CHECK_PTR(hub_greenlet_error(g), NULL);
    CHECK_PTR(hub_greenlet_gl(g), NULL);
}

CASE(hub, get_returns_the_value_of_the_function)
{
    hub_greenlet *g;
    void *value = NULL;
    CHECK_OK(hub_spawn(&g, log_name, "x"));
    CHECK_OK(hub_get(g, HUB_FOREVER, &value));
    CHECK_STR((const char *)value, "x");
}

static void *fail_task(void *arg)
{
    (void)arg;
    LOG("fails");
    return gl_raise(GL_EUSER + 1, (void *)7, "boom %d", 7);
}

CASE(hub, get_returns_the_error_the_greenlet_raised)
{
    hub_greenlet *g;
    CHECK_OK(hub_spawn(&g, fail_task, NULL));
    CHECK_INT(hub_get(g, HUB_FOREVER, NULL), GL_EUSER + 1);
    CHECK_STR(gl_last_error()->message, "boom 7");
    CHECK_PTR(gl_last_error()->data, (void *)7);
    CHECK(hub_greenlet_dead(g) && !hub_greenlet_successful(g));
    CHECK_INT(hub_greenlet_error(g)->code, GL_EUSER + 1);
}

static void *sleep_then_log(void *arg)
{
    if (hub_sleep(0.005) != HUB_OK)
        return gl_reraise();
    LOG("%s", (const char *)arg);
    return arg;
}

CASE(hub, failing_greenlet_does_not_stop_the_hub)
{
    hub_greenlet *g[3];
    CHECK_OK(hub_spawn(&g[0], sleep_then_log, "after"));
    CHECK_OK(hub_spawn(&g[1], fail_task, NULL));
    CHECK_OK(hub_spawn(&g[2], log_name, "next"));
    CHECK_OK(hub_joinall(g, 3, HUB_FOREVER));
    CHECK_LOG("fails next after");
    CHECK(!hub_greenlet_successful(g[1]));
    CHECK(hub_greenlet_successful(g[0]) && hub_greenlet_successful(g[2]));
    CHECK_OK(hub_sleep(0.001)); /* the hub still runs timers */
}

CASE(hub, join_on_a_dead_greenlet_returns_at_once)
{
    hub_greenlet *g;
    CHECK_OK(hub_spawn(&g, log_name, "g"));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_OK(hub_join(g, 0));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_LOG("g");
}

CASE(hub, join_on_a_never_started_greenlet_waits_until_it_ran)
{
    hub_greenlet *g;
    CHECK_OK(hub_spawn(&g, log_name, "ran"));
    CHECK(!hub_greenlet_started(g));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    LOG("joined");
    CHECK_LOG("ran joined");
}

static void *set_event(void *arg)
{
    (void)arg;
    hub_event_set(ev);
    return NULL;
}

CASE(hub, join_on_a_running_greenlet_waits_for_its_end)
{
    hub_greenlet *g;
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_spawn(&g, wait_event, "g"));
    CHECK_OK(hub_sleep(0));
    CHECK(hub_greenlet_started(g) && !hub_greenlet_dead(g));
    CHECK_OK(hub_spawn(NULL, set_event, NULL));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    LOG("joined");
    CHECK_LOG("g-waits g-woke joined");
}

CASE(hub, join_timeout_leaves_the_greenlet_alive)
{
    hub_greenlet *g;
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_spawn(&g, wait_event, "g"));
    CHECK_INT(hub_join(g, 0.005), HUB_ETIMEOUT);
    CHECK(hub_greenlet_started(g) && !hub_greenlet_dead(g));
    CHECK_INT(hub_join(g, 0), HUB_ETIMEOUT);
    CHECK_OK(hub_event_set(ev));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK(hub_greenlet_dead(g));
}

CASE(hub, joinall_waits_for_every_greenlet_duplicates_allowed)
{
    hub_greenlet *g[3];
    CHECK_OK(hub_spawn(&g[0], sleep_then_log, "a"));
    CHECK_OK(hub_spawn(&g[1], log_name, "b"));
    CHECK_OK(hub_spawn(&g[2], sleep_then_log, "c"));
    hub_greenlet *list[5] = {g[2], g[0], g[2], g[1], g[0]};
    CHECK_OK(hub_joinall(list, 5, HUB_FOREVER));
    for (int i = 0; i < 3; i++)
        CHECK(hub_greenlet_dead(g[i]));
    CHECK_LOG("b a c");
}

static void *join_self(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)hub_join(hub_current(), HUB_FOREVER);
}

CASE(hub, joining_itself_is_refused)
{
    hub_greenlet *g;
    void *rc;
    CHECK_OK(hub_spawn(&g, join_self, NULL));
    CHECK_OK(hub_get(g, HUB_FOREVER, &rc));
    CHECK_INT((intptr_t)rc, GL_EINVAL);
}

static void *victim(void *arg)
{
    (void)arg;
    LOG("start");
    int rc = hub_sleep(30);
    LOG("cleanup:%s", gl_strerror(rc));
    return rc == HUB_OK ? NULL : gl_reraise();
}

CASE(hub, kill_runs_the_victims_cleanup_before_it_returns)
{
    hub_greenlet *g;
    CHECK_OK(hub_spawn(&g, victim, NULL));
    CHECK_OK(hub_sleep(0));
    LOG("kill");
    CHECK_OK(hub_kill(g, HUB_FOREVER));
    LOG("killed");
    CHECK_LOG("start kill cleanup:GreenletExit killed");
    CHECK(hub_greenlet_dead(g));
    CHECK(hub_greenlet_successful(g)); /* GreenletExit counts as success, as in gevent */
}

CASE(hub, kill_of_an_unstarted_greenlet_means_it_never_runs)
{
    hub_greenlet *g;
    CHECK_OK(hub_spawn(&g, victim, NULL));
    CHECK_OK(hub_kill(g, HUB_FOREVER));
    CHECK(hub_greenlet_dead(g) && !hub_greenlet_started(g));
    CHECK_OK(hub_sleep(0.002));
    CHECK_LOG("");
    CHECK_OK(hub_join(g, 0));
}

static hub_greenlet *target;

static void *joiner(void *arg)
{
    (void)arg;
    int rc = hub_join(target, HUB_FOREVER);
    LOG("joined:%d", rc);
    return NULL;
}

CASE(hub, kill_of_an_unstarted_greenlet_wakes_its_joiners)
{
    hub_greenlet *j;
    CHECK_OK(hub_spawn_later(&target, 30, victim, NULL));
    CHECK_OK(hub_spawn(&j, joiner, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK(!hub_greenlet_dead(j));
    CHECK_OK(hub_kill_nowait(target));
    CHECK_OK(hub_join(j, HUB_FOREVER));
    CHECK_LOG("joined:0");
}

CASE(hub, kill_nowait_returns_before_the_victim_dies)
{
    hub_greenlet *g;
    CHECK_OK(hub_spawn(&g, victim, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_kill_nowait(g));
    CHECK(!hub_greenlet_dead(g));
    LOG("returned");
    CHECK_OK(hub_sleep(0));
    CHECK(hub_greenlet_dead(g));
    CHECK_LOG("start returned cleanup:GreenletExit");
}

CASE(hub, kill_of_a_dead_greenlet_is_harmless)
{
    hub_greenlet *g;
    CHECK_OK(hub_spawn(&g, log_name, "v"));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_OK(hub_kill(g, HUB_FOREVER));
    CHECK_OK(hub_kill_nowait(g));
    CHECK(hub_greenlet_successful(g));
    CHECK_STR((const char *)hub_greenlet_value(g), "v");
}

static hub_event *never;

CASE(hub, timeout_raises_in_the_waiting_greenlet)
{
    hub_timeout *t;
    CHECK_OK(hub_event_new(&never));
    CHECK_OK(hub_timeout_start(&t, 0.005));
    CHECK_INT(hub_event_wait(never, HUB_FOREVER), HUB_ETIMEOUT);
    CHECK_PTR(gl_last_error()->data, t);
    CHECK_OK(hub_timeout_cancel(t));
    CHECK_OK(hub_sleep(0)); /* still usable */
}

CASE(hub, cancelled_timeout_never_fires)
{
    hub_timeout *t;
    CHECK_OK(hub_timeout_start(&t, 0.002));
    CHECK_OK(hub_timeout_cancel(t));
    CHECK_OK(hub_sleep(0.010));
}

CASE(hub, nested_timeouts_the_earliest_fires_the_other_stays_armed)
{
    hub_timeout *outer, *inner;
    CHECK_OK(hub_event_new(&never));
    CHECK_OK(hub_timeout_start(&outer, 0.100));
    CHECK_OK(hub_timeout_start(&inner, 0.005));
    CHECK_INT(hub_event_wait(never, HUB_FOREVER), HUB_ETIMEOUT);
    CHECK_PTR(gl_last_error()->data, inner);
    CHECK_OK(hub_timeout_cancel(inner));
    CHECK_INT(hub_event_wait(never, HUB_FOREVER), HUB_ETIMEOUT);
    CHECK_PTR(gl_last_error()->data, outer);
    CHECK_OK(hub_timeout_cancel(outer));
}

CASE(hub, own_wait_timeout_returns_etimeout_and_the_hub_goes_on)
{
    CHECK_OK(hub_event_new(&never));
    CHECK_INT(hub_event_wait(never, 0.002), HUB_ETIMEOUT);
    CHECK_INT(hub_event_wait(never, 0), HUB_ETIMEOUT);
    CHECK_OK(hub_spawn(NULL, log_name, "after"));
    CHECK_OK(hub_sleep(0));
    CHECK_LOG("after");
}

CASE(hub, sleep0_loop_cannot_starve_a_due_timer)
{
    hub_timeout *t;
    long yields = 0;
    int rc;
    CHECK_OK(hub_timeout_start(&t, 0.002));
    while ((rc = hub_sleep(0)) == HUB_OK)
        yields++;
    CHECK_INT(rc, HUB_ETIMEOUT);
    CHECK_PTR(gl_last_error()->data, t);
    CHECK(yields > 0);
    CHECK_OK(hub_timeout_cancel(t));
}

CASE(hub, blocking_forever_gives_loopexit_instead_of_hanging)
{
    hub_queue *q;
    CHECK_OK(hub_queue_new(&q, 0));
    CHECK_INT(hub_queue_get(q, HUB_FOREVER, NULL), HUB_ELOOPEXIT);
    CHECK_STR(gl_last_error()->message, "This operation would block forever");
    CHECK_OK(hub_queue_free(q)); /* the blocked call cleaned up: no waiter left */
}

CASE(hub, join_on_a_greenlet_blocked_forever_gives_loopexit_and_the_hub_stays_usable)
{
    hub_greenlet *g;
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_spawn(&g, wait_event, "g"));
    CHECK_INT(hub_join(g, HUB_FOREVER), HUB_ELOOPEXIT);
    CHECK(!hub_greenlet_dead(g));
    CHECK_OK(hub_event_set(ev));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_LOG("g-waits g-woke");
}

static void *sleep_and_report(void *arg)
{
    (void)arg;
    int rc = hub_sleep(30);
    LOG("sleep:%s", rc == HUB_EINVALIDSWITCH ? "invalid-switch" : hub_strerror(rc));
    /* Back to whoever switched in; the hub's kill ends us later. */
    if (gl_switch(gl_main(), NULL, NULL) != GL_OK)
        return gl_reraise();
    return NULL;
}

CASE(hub, foreign_switch_into_a_waiting_greenlet_is_an_invalid_switch)
{
    hub_greenlet *g;
    CHECK_OK(hub_spawn(&g, sleep_and_report, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(gl_switch(hub_greenlet_gl(g), (void *)1, NULL));
    CHECK_LOG("sleep:invalid-switch");
    CHECK_OK(hub_kill(g, HUB_FOREVER));
}

static void *whoami(void *arg)
{
    (void)arg;
    CHECK(gl_parent(gl_current()) != gl_main());
    return hub_current();
}

CASE(hub, hub_greenlets_know_their_handle_and_main_has_none)
{
    hub_greenlet *g;
    void *seen;
    CHECK_PTR(hub_current(), NULL);
    CHECK_OK(hub_spawn(&g, whoami, NULL));
    CHECK_OK(hub_get(g, HUB_FOREVER, &seen));
    CHECK_PTR(seen, g);
}

CASE(hub, destroy_is_refused_while_greenlets_live_and_the_hub_comes_back_after)
{
    hub_greenlet *g;
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_spawn(&g, wait_event, "g"));
    CHECK_INT(hub_destroy(), HUB_EBUSY);
    CHECK_OK(hub_event_set(ev));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_OK(hub_greenlet_release(g));
    CHECK_OK(hub_event_free(ev));
    CHECK_OK(hub_destroy());
    CHECK_OK(hub_spawn(&g, log_name, "again"));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_LOG("g-waits g-woke again");
    CHECK_OK(hub_destroy());
}

CASE(hub, strerror_names_hub_codes_and_defers_to_greenlet_codes)
{
    CHECK_STR(hub_strerror(HUB_ELOOPEXIT), "this operation would block forever");
    CHECK_STR(hub_strerror(HUB_ETIMEOUT), "timeout");
    CHECK_STR(hub_strerror(HUB_ECLOSED), "descriptor closed while waiting");
    CHECK_STR(hub_strerror(GL_EEXIT), gl_strerror(GL_EEXIT));
    CHECK_STR(hub_strerror(GL_EUSER + 5), gl_strerror(GL_EUSER + 5));
    CHECK_STR(hub_strerror(99), "unknown hub error");
}

static void *spawn_and_exit(void *arg)
{
    (void)arg;
    if (hub_spawn(NULL, log_name, "child") != HUB_OK)
        return gl_reraise();
    LOG("parent-exits");
    return NULL;
}

/* gevent's test_spawn_is_not_cancelled. */
CASE(hub, greenlet_spawned_by_a_greenlet_that_exits_at_once_still_runs)
{
    hub_greenlet *g;
    CHECK_OK(hub_spawn(&g, spawn_and_exit, NULL));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_OK(hub_sleep(0));
    CHECK_LOG("parent-exits child");
}

static void *start_timeout_and_return(void *arg)
{
    (void)arg;
    hub_timeout *t;
    if (hub_timeout_start(&t, 0.002) != HUB_OK)
        return gl_reraise();
    LOG("returns");
    return t; /* never cancelled: its greenlet dies first */
}

CASE(hub, timeout_of_a_greenlet_that_died_never_fires)
{
    hub_greenlet *g;
    void *t;
    CHECK_OK(hub_spawn(&g, start_timeout_and_return, NULL));
    CHECK_OK(hub_get(g, HUB_FOREVER, &t));
    CHECK_OK(hub_sleep(0.010)); /* past its deadline: nothing is thrown into anyone */
    CHECK_OK(hub_timeout_cancel(t));
    CHECK_LOG("returns");
}

CASE(hub, released_greenlet_runs_on_and_a_second_release_is_refused)
{
    hub_greenlet *g;
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_spawn(&g, wait_event, "g"));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_greenlet_release(g));
    CHECK_INT(hub_greenlet_release(g), GL_EINVAL); /* the hub still holds it: detectable */
    CHECK_INT(hub_greenlet_release(NULL), GL_EINVAL);
    CHECK_OK(hub_event_set(ev));
    CHECK_OK(hub_sleep(0));
    CHECK_LOG("g-waits g-woke");
}

CASE(hub, hub_runs_when_the_default_stack_is_the_smallest_the_port_allows)
{
    size_t min = gl_port()->min_stack_size;
    if (min == 0)
        min = 16 * 1024;
    CHECK_OK(gl_set_default_stack_size(min));
    hub_greenlet *g[2];
    CHECK_OK(hub_spawn(&g[0], sleep_then_log, "slept"));
    CHECK_OK(hub_spawn(&g[1], log_name, "ran"));
    CHECK_OK(hub_joinall(g, 2, HUB_FOREVER));
    CHECK_LOG("ran slept");
}

static void link_log(hub_greenlet *g, void *arg)
{
    LOG("%s:%s", (const char *)arg, hub_greenlet_dead(g) ? "dead" : "alive");
}

CASE(hub, links_and_joins_are_served_in_registration_order_after_death)
{
    hub_greenlet *g, *j;
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_spawn(&g, wait_event, "g"));
    target = g;
    CHECK_OK(hub_greenlet_link(g, link_log, "link1"));
    CHECK_OK(hub_spawn(&j, joiner, NULL));
    CHECK_OK(hub_sleep(0)); /* g waits; the joiner joins after link1 */
    CHECK_OK(hub_greenlet_link(g, link_log, "link2"));
    CHECK_OK(hub_event_set(ev));
    CHECK_OK(hub_join(j, HUB_FOREVER));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_LOG("g-waits g-woke link1:dead joined:0 link2:dead");
}

CASE(hub, link_on_a_dead_greenlet_runs_soon_after)
{
    hub_greenlet *g;
    CHECK_OK(hub_spawn(&g, log_name, "g"));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_OK(hub_greenlet_link(g, link_log, "late"));
    CHECK_OK(hub_greenlet_release(g)); /* the link keeps it valid until it ran */
    LOG("linked");
    CHECK_OK(hub_sleep(0));
    CHECK_LOG("g linked late:dead");
}

static int link_rc[3];

static void link_tries_to_block(hub_greenlet *g, void *arg)
{
    (void)g, (void)arg;
    link_rc[0] = hub_sleep(0);
    link_rc[1] = hub_event_wait(ev, HUB_FOREVER);
    link_rc[2] = hub_event_set(ev); /* not blocking: fine */
}

CASE(hub, blocking_from_a_link_callback_is_refused_and_the_hub_goes_on)
{
    hub_greenlet *g;
    CHECK_OK(hub_event_new(&ev));
    CHECK_OK(hub_spawn(&g, log_name, "g"));
    CHECK_OK(hub_greenlet_link(g, link_tries_to_block, NULL));
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_OK(hub_event_wait(ev, HUB_FOREVER)); /* the link set it */
    CHECK_INT(link_rc[0], HUB_EBLOCKING);
    CHECK_INT(link_rc[1], HUB_EBLOCKING);
    CHECK_INT(link_rc[2], HUB_OK);
    CHECK_OK(hub_sleep(0));
}

/* ---- a greenlet that cannot start ------------------------------------------------- */

static gl_greenlet *refused_start; /* the trace function fails the switch that starts it */

static int fail_the_start(gl_trace_event event, gl_greenlet *origin, gl_greenlet *target,
                          void *arg)
{
    (void)event, (void)origin, (void)arg;
    return target == refused_start; /* "the trace function raised": the target gets GL_ETRACE */
}

static void *joiner_logs(void *arg)
{
    hub_greenlet *g = arg;
    int rc = hub_join(g, HUB_FOREVER);
    LOG("joined:%s:dead=%d", hub_strerror(rc), hub_greenlet_dead(g));
    return NULL;
}

/* The first switch into a spawned greenlet can fail before its function runs: the
 * threads port cannot create its thread, stackcopy cannot save the stack, a trace
 * function fails (what this case uses: the same on every port). The greenlet is then a
 * failed one, and whoever joins it wakes with the error; nothing is lost. */
CASE(hub, greenlet_that_cannot_start_fails_and_its_joiners_wake_with_the_error)
{
    hub_greenlet *g, *j, *after;
    CHECK_OK(hub_spawn(&g, log_name, "ran"));
    CHECK_OK(hub_spawn(&j, joiner_logs, g));
    refused_start = hub_greenlet_gl(g);
    gl_settrace(fail_the_start, NULL, NULL);
    CHECK_INT(hub_get(g, HUB_FOREVER, NULL), GL_ETRACE);
    CHECK_OK(hub_join(j, HUB_FOREVER));
    CHECK_LOG("joined:success:dead=1");
    CHECK(hub_greenlet_dead(g) && !hub_greenlet_started(g) && !hub_greenlet_successful(g));
    CHECK_INT(hub_greenlet_error(g)->code, GL_ETRACE);
    CHECK_PTR(hub_greenlet_gl(g), NULL);
    CHECK_OK(hub_spawn(&after, log_name, "next")); /* the hub goes on */
    CHECK_OK(hub_join(after, HUB_FOREVER));
    CHECK_LOG("joined:success:dead=1 next");
}

static hub_greenlet *joined_later;
static hub_event *go;

static void *join_when_told(void *arg)
{
    (void)arg;
    if (hub_event_wait(go, HUB_FOREVER) != HUB_OK)
        return gl_reraise();
    int rc = hub_join(joined_later, HUB_FOREVER);
    LOG("joined:%s:error=%d", hub_strerror(rc), hub_greenlet_error(joined_later)
                                                    ? hub_greenlet_error(joined_later)->code
                                                    : 0);
    return NULL;
}

/* When the OS refuses a thread (a thread limit; here a seccomp filter), a greenlet
 * whose start needs one fails with the error, and its joiners wake with it. Ports that
 * start greenlets without an OS thread have no such failure: the case says so. */
CASE(hub, greenlet_whose_os_thread_cannot_be_created_fails_and_its_joiners_wake)
{
    hub_greenlet *j, *g;
    CHECK_OK(hub_event_new(&go));
    CHECK_OK(hub_spawn(&j, join_when_told, NULL));
    CHECK_OK(hub_sleep(0)); /* the hub and the joiner run (and have their threads, if any) */
    if (hub_cases_refuse_threads() != 0)
        SKIP("no seccomp filter here to refuse threads with");
    CHECK_OK(hub_spawn(&g, log_name, "ran"));
    joined_later = g;
    CHECK_OK(hub_event_set(go));
    int rc = hub_get(g, HUB_FOREVER, NULL);
    CHECK_OK(hub_join(j, HUB_FOREVER));
    if (rc == HUB_OK) {
        CHECK_LOG("ran joined:success:error=0");
        SKIP("this port starts a greenlet without creating an OS thread: nothing to refuse");
    }
    CHECK(rc == GL_ENOMEM || rc == GL_ENOSTACK);
    CHECK(hub_greenlet_dead(g) && !hub_greenlet_started(g) && !hub_greenlet_successful(g));
    CHECK_INT(hub_greenlet_error(g)->code, rc);
    char expected[64];
    snprintf(expected, sizeof expected, "joined:success:error=%d", rc);
    CHECK_LOG(expected);
}

static void *wait_for_go(void *arg)
{
    return hub_event_wait(go, HUB_FOREVER) == HUB_OK ? arg : gl_reraise();
}

/* Under an address-space limit, spawning greenlets that all stay alive runs out of
 * something on every port: a stack at spawn (separate stacks), an OS thread at the
 * first switch (threads), memory for a saved stack or a record (stackcopy). Whichever:
 * the spawn fails with the error, or the greenlet does and its joiners hear of it. */
CASE(hub, greenlets_that_run_out_of_resources_fail_instead_of_being_lost)
{
    if (HUB_CASES_ASAN)
        SKIP("AddressSanitizer reserves terabytes of shadow: an address-space limit breaks it");
    if (HUB_CASES_VALGRIND())
        SKIP("valgrind's own memory counts against the address-space limit and runs out first");
    enum { CAP = 200000 };
    hub_greenlet **gs = malloc(CAP * sizeof *gs);
    CHECK(gs != NULL);
    CHECK_OK(hub_event_new(&go));
    CHECK_OK(hub_sleep(0)); /* the hub is up before the limit */
    suite_limit_address_space((size_t)64 << 20);
    int n = 0, spawn_rc = HUB_OK, failed = 0;
    while (n < CAP && !failed) {
        if ((spawn_rc = hub_spawn(&gs[n], wait_for_go, NULL)) != HUB_OK)
            break;
        if (++n % 64 == 0 || n == CAP) {
            CHECK_OK(hub_sleep(0)); /* they start, and wait */
            for (int i = n - 64; i < n; i++)
                failed += hub_greenlet_dead(gs[i]);
        }
    }
    CHECK(spawn_rc == GL_ENOMEM || spawn_rc == GL_ENOSTACK || failed > 0);
    /* What follows is about hearing of it: under the limit, joining could itself fail
     * for want of memory (stackcopy saves the joiner's stack to block). */
    suite_restore_address_space();
    CHECK_OK(hub_event_set(go));
    int ended = 0;
    failed = 0;
    for (int i = 0; i < n; i++) {
        CHECK_OK(hub_join(gs[i], HUB_FOREVER)); /* never blocked forever */
        CHECK(hub_greenlet_dead(gs[i]));
        if (!hub_greenlet_successful(gs[i])) {
            int code = hub_greenlet_error(gs[i])->code;
            CHECK(code == GL_ENOMEM || code == GL_ENOSTACK);
            failed++;
        } else {
            ended++;
        }
    }
    CHECK(ended > 0);
    fprintf(stderr, "%d spawned (then: %s), %d ran, %d failed to start\n", n,
            hub_strerror(spawn_rc), ended, failed);
}

/* ---- a wake-up whose switch the port refuses ----------------------------------------- */

/* Every block malloc can still give, from 1 MiB down to 16 bytes, as a list through
 * the blocks. */
typedef struct ballast {
    struct ballast *next;
} ballast;
static ballast *taken;

static void take_all_memory(void)
{
    for (size_t size = (size_t)1 << 20; size >= sizeof(ballast); size /= 2) {
        ballast *b;
        while ((b = malloc(size))) {
            b->next = taken;
            taken = b;
        }
    }
}

static void take_all_memory_cb(void *arg)
{
    (void)arg;
    take_all_memory();
}

/* Given back by a thread of its own once the hub said a switch was refused (the stderr
 * capture in *arg has something), or after 10 s, or once told (refusal_over). */
static atomic_int refusal_over;

static void *give_memory_back(void *arg)
{
    int err_fd = *(int *)arg;
    struct stat st;
    for (int i = 0; i < 10000 && !atomic_load(&refusal_over); i++) {
        if (fstat(err_fd, &st) == 0 && st.st_size > 0)
            break;
        usleep(1000);
    }
    while (taken) {
        ballast *b = taken;
        taken = b->next;
        free(b);
    }
    return NULL;
}

/* Runs in a hub greenlet while main waits: takes every byte, has the hub take what
 * this greenlet's death gives back (a callback queued first), then does its wake-up, if
 * any (an Event set, a kill). The hub's switch that delivers a wake-up is then its
 * first switch out of its own frames: on stackcopy it needs memory to save them, and is
 * refused. */
static hub_event *never_set;
static hub_greenlet *starved_victim;
static int (*wake_up_after)(void *arg);

static void *starve_then_wake(void *arg)
{
    if (hub_run_callback(NULL, take_all_memory_cb, NULL) != HUB_OK)
        return gl_reraise();
    take_all_memory();
    return !wake_up_after || wake_up_after(arg) == HUB_OK ? NULL : gl_reraise();
}

static int set_it(void *e) { return hub_event_set(e); }
static int kill_nowait(void *g) { return hub_kill_nowait(g); }

/* The victim of a kill or a timeout (arg: its seconds, or NULL): waits for nothing. */
static void *wait_for_nothing(void *arg)
{
    hub_timeout *t = NULL;
    if (arg && hub_timeout_start(&t, *(double *)arg) != HUB_OK)
        return gl_reraise();
    int rc = hub_event_wait(never_set, HUB_FOREVER);
    if (t)
        hub_timeout_cancel(t);
    LOG("victim:%s", hub_strerror(rc));
    return NULL;
}

static __attribute__((noinline)) void touch_stack(void)
{
    volatile char pages[256 * 1024];
    for (size_t i = 0; i < sizeof pages; i += 1024)
        pages[i] = 0;
}

/* starve_then_wake (spawned with `arg`, after `first` if not NULL) runs out of memory
 * and wakes someone with `wake` (or not: a timeout will); main waits: on the Event
 * `woken`, or joins `first`. Returns what main's wait returned, with what the hub said
 * on stderr in said[]; skips where address-space limits cannot be used. */
static int wait_through_a_refusal(int (*wake)(void *arg), void *arg, hub_event *woken,
                                  hub_greenlet *first, char *said, size_t size)
{
    if (HUB_CASES_ASAN)
        SKIP("AddressSanitizer reserves terabytes of shadow: an address-space limit breaks it");
    if (HUB_CASES_VALGRIND())
        SKIP("valgrind's own memory counts against the address-space limit and runs out first");
    hub_greenlet *g;
    pthread_t helper;
    FILE *err = tmpfile();
    CHECK(err != NULL);
    int err_fd = fileno(err), saved_stderr = dup(2);
    CHECK(saved_stderr >= 0);
    wake_up_after = wake;
    CHECK_OK(hub_spawn(&g, starve_then_wake, arg));
    touch_stack(); /* the thread's stack grows now: later it could not */
    suite_limit_address_space((size_t)32 << 20);
    CHECK_INT(hub_cases_thread(&helper, give_memory_back, &err_fd), 0);
    CHECK(dup2(err_fd, 2) == 2);
    int rc = woken ? hub_event_wait(woken, HUB_FOREVER) : hub_join(first, HUB_FOREVER);
    atomic_store(&refusal_over, 1);
    pthread_join(helper, NULL);
    suite_restore_address_space();
    dup2(saved_stderr, 2);
    ssize_t n = pread(err_fd, said, size - 1, 0);
    said[n > 0 ? n : 0] = 0;
    fprintf(stderr, "%s", said);
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK(hub_greenlet_successful(g));
    return rc;
}

/* A port may refuse a switch (stackcopy: no memory to save the stack of the greenlet it
 * leaves). A wake-up the hub could not deliver so must be tried again, as memory comes
 * back, not lost: nothing else will deliver it (before, main's wait ended with
 * HUB_ELOOPEXIT once memory came back, the kill and the timeout were never seen). Ports
 * that need no memory to switch never refuse: the cases say so. */
CASE(hub, wake_up_whose_switch_is_refused_is_tried_again_not_lost)
{
    hub_event *woken;
    char said[256];
    CHECK_OK(hub_event_new(&woken));
    CHECK_OK(wait_through_a_refusal(set_it, woken, woken, NULL, said, sizeof said));
    if (!*said)
        SKIP("this port switched without needing memory: nothing to refuse");
    CHECK(strstr(said, "a wake-up was refused") != NULL);
}

CASE(hub, kill_whose_switch_is_refused_is_tried_again_not_lost)
{
    char said[256];
    CHECK_OK(hub_event_new(&never_set));
    CHECK_OK(hub_spawn(&starved_victim, wait_for_nothing, NULL));
    CHECK_OK(wait_through_a_refusal(kill_nowait, starved_victim, NULL, starved_victim, said,
                                    sizeof said));
    CHECK_LOG("victim:GreenletExit");
    if (!*said)
        SKIP("this port switched without needing memory: nothing to refuse");
    CHECK(strstr(said, "a kill was refused") != NULL);
}

CASE(hub, timeout_whose_switch_is_refused_is_tried_again_not_lost)
{
    static double seconds = 0.001;
    char said[256];
    hub_greenlet *g;
    CHECK_OK(hub_event_new(&never_set));
    CHECK_OK(hub_spawn(&g, wait_for_nothing, &seconds));
    CHECK_OK(wait_through_a_refusal(NULL, NULL, NULL, g, said, sizeof said));
    CHECK_LOG("victim:timeout");
    if (!*said)
        SKIP("this port switched without needing memory: nothing to refuse");
    CHECK(strstr(said, "a timeout was refused") != NULL);
}

/* The hub learns of a refused switch from what comes back into it; hub_destroy() throws
 * into it too, and is not one. */
CASE(hub, destroying_the_hub_reports_no_refused_switch)
{
    /* A first switch before stderr is captured: ASan prints a notice of its own at a
     * process's first swapcontext (the ucontext port), which is not the hub's. */
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_destroy());
    FILE *err = tmpfile();
    CHECK(err != NULL);
    int saved_stderr = dup(2);
    CHECK(saved_stderr >= 0 && dup2(fileno(err), 2) == 2);
    int rc[4];
    rc[0] = hub_sleep(0); /* the hub goes back to main from a wake-up, */
    rc[1] = hub_destroy();
    rc[2] = hub_sleep(0.001); /* and from a timer's */
    rc[3] = hub_destroy();
    dup2(saved_stderr, 2);
    for (int i = 0; i < 4; i++)
        CHECK_OK(rc[i]);
    char said[256];
    ssize_t n = pread(fileno(err), said, sizeof said - 1, 0);
    said[n > 0 ? n : 0] = 0;
    CHECK_STR(said, "");
}

/* ---- NaN and infinite durations ---------------------------------------------------- */

/* NaN compares false to everything: left unchecked it passed for a positive duration
 * (hub_sleep(NAN) returned at once with HUB_OK) or for "poll once" (socket calls). */
CASE(hub, nan_durations_and_timeouts_are_refused_with_einval)
{
    const double nan = NAN;
    hub_greenlet *g;
    hub_event *e;
    hub_async_result *r;
    hub_queue *q;
    hub_semaphore *s;
    hub_timeout *t;
    int sv[2], lfd, fd;
    size_t n;
    char c;
    CHECK_OK(hub_spawn(&g, log_name, "ran"));
    CHECK_INT(hub_sleep(nan), GL_EINVAL);
    CHECK(strstr(gl_last_error()->message, "nan") != NULL);
    CHECK_LOG(""); /* it did not yield */
    CHECK_INT(hub_spawn_later(NULL, nan, log_name, "later"), GL_EINVAL);
    CHECK_INT(hub_timeout_start(&t, nan), GL_EINVAL);
    CHECK_PTR(t, NULL);
    CHECK_INT(hub_join(g, nan), GL_EINVAL);
    CHECK(strstr(gl_last_error()->message, "NaN") != NULL);
    CHECK_INT(hub_joinall(&g, 1, nan), GL_EINVAL);
    CHECK_INT(hub_get(g, nan, NULL), GL_EINVAL);
    CHECK_OK(hub_event_new(&e));
    CHECK_OK(hub_event_set(e));
    CHECK_INT(hub_event_wait(e, nan), GL_EINVAL); /* even when it would not wait */
    CHECK_OK(hub_async_result_new(&r));
    CHECK_INT(hub_async_result_get(r, nan, NULL), GL_EINVAL);
    CHECK_OK(hub_queue_new(&q, 1));
    CHECK_INT(hub_queue_put(q, "x", nan), GL_EINVAL);
    CHECK_INT(hub_queue_size(q), 0);
    CHECK_INT(hub_queue_get(q, nan, NULL), GL_EINVAL);
    CHECK_OK(hub_semaphore_new(&s, 1, 0));
    CHECK_INT(hub_semaphore_acquire(s, nan), GL_EINVAL);
    CHECK_INT(hub_semaphore_value(s), 1);
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    CHECK_INT(hub_wait_read(sv[0], nan), GL_EINVAL);
    CHECK_INT(hub_wait_write(sv[0], nan), GL_EINVAL);
    CHECK_INT(hub_recv(sv[0], &c, 1, nan, &n), GL_EINVAL);
    CHECK_INT(hub_send_all(sv[0], "x", 1, nan, NULL), GL_EINVAL);
    CHECK_OK(hub_tcp_listen(NULL, 0, 1, &lfd));
    CHECK_INT(hub_accept(lfd, nan, &fd), GL_EINVAL);
    CHECK_INT(hub_tcp_connect(NULL, (uint16_t)hub_socket_port(lfd), nan, &fd), GL_EINVAL);
    CHECK_INT(hub_kill(g, nan), GL_EINVAL);
    CHECK(!hub_greenlet_dead(g)); /* nothing happened */
    CHECK_OK(hub_join(g, HUB_FOREVER));
    CHECK_LOG("ran");
}

static void *sleep_forever(void *arg)
{
    (void)arg;
    int rc = hub_sleep(INFINITY);
    LOG("woke:%s", hub_strerror(rc));
    return rc == HUB_OK ? NULL : gl_reraise();
}

/* +infinity is no limit: no timer is armed, so waiting for what cannot come is the
 * blocked-forever error at once (not a wait of a year, which a clamped timer made). */
CASE(hub, infinite_timeouts_and_sleeps_have_no_limit)
{
    hub_event *e;
    hub_timeout *t;
    hub_greenlet *g;
    CHECK_OK(hub_event_new(&e));
    CHECK_INT(hub_event_wait(e, INFINITY), HUB_ELOOPEXIT);
    CHECK_INT(hub_sleep(INFINITY), HUB_ELOOPEXIT);
    CHECK_OK(hub_timeout_start(&t, INFINITY)); /* never fires */
    CHECK_OK(hub_sleep(0.002));
    CHECK_OK(hub_timeout_cancel(t));
    CHECK_OK(hub_spawn(&g, sleep_forever, NULL));
    CHECK_OK(hub_sleep(0));
    CHECK_OK(hub_kill(g, HUB_FOREVER)); /* the way out of an endless sleep */
    CHECK_LOG("woke:GreenletExit");
    CHECK_INT(hub_spawn_later(NULL, INFINITY, log_name, "never"), GL_EINVAL);
    CHECK_INT(hub_spawn_later(NULL, -1, log_name, "never"), GL_EINVAL);
}
