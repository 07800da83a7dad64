/* The per-thread trace hook (greenlet's settrace). */
#include <pthread.h>
#include <stdint.h>
#include "greenlet.h"
#include "suite.h"

static gl_greenlet *named[4];
static const char *names[4];

static const char *name_of(gl_greenlet *g)
{
    if (g == gl_main())
        return "main";
    for (int i = 0; i < 4; i++)
        if (named[i] == g)
            return names[i];
    return "?";
}

static int record(gl_trace_event ev, gl_greenlet *origin, gl_greenlet *target, void *arg)
{
    (void)arg;
    LOG("%s(%s,%s)", ev == GL_TRACE_SWITCH ? "switch" : "throw", name_of(origin),
        name_of(target));
    return 0;
}

static void *dummy(void *arg) { return arg; }
static void *raises(void *arg)
{
    (void)arg;
    return gl_raise(GL_EUSER, NULL, "raised");
}

/* greenlet's test_a_greenlet_tracing */
CASE(greenlet, trace_sees_switch_and_throw_events_with_origin_and_target)
{
    gl_greenlet *g1, *g2;
    CHECK_OK(gl_new(&g1, dummy, NULL));
    CHECK_OK(gl_new(&g2, raises, NULL));
    named[0] = g1, names[0] = "g1";
    named[1] = g2, names[1] = "g2";
    CHECK_PTR(gl_settrace(record, NULL, NULL), NULL);
    CHECK_OK(gl_switch(g1, NULL, NULL));
    CHECK_INT(gl_switch(g2, NULL, NULL), GL_EUSER);
    gl_settrace(NULL, NULL, NULL);
    CHECK_LOG("switch(main,g1) switch(g1,main) switch(main,g2) throw(g2,main)");
    CHECK_OK(gl_destroy(g1));
    CHECK_OK(gl_destroy(g2));
}

CASE(greenlet, trace_of_throw_into_unstarted_shows_both_throws)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, dummy, NULL));
    named[0] = g, names[0] = "g";
    gl_settrace(record, NULL, NULL);
    CHECK_INT(gl_throw(g, GL_EUSER, NULL, NULL), GL_EUSER);
    gl_settrace(NULL, NULL, NULL);
    CHECK_LOG("throw(main,g) throw(g,main)");
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, trace_of_switch_to_self_and_to_dead_child_is_main_to_main)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, dummy, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    gl_settrace(record, NULL, NULL);
    CHECK_OK(gl_switch(gl_current(), NULL, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL)); /* dead: lands on main, the caller */
    gl_settrace(NULL, NULL, NULL);
    CHECK_LOG("switch(main,main) switch(main,main)");
    CHECK_OK(gl_destroy(g));
}

static int calls;
static int fail_once(gl_trace_event ev, gl_greenlet *origin, gl_greenlet *target, void *arg)
{
    (void)ev, (void)origin, (void)target, (void)arg;
    calls++;
    return 1;
}

static void *log_if_ran(void *arg)
{
    LOG("ran");
    return arg;
}

/* greenlet's test_b_exception_disables_tracing */
CASE(greenlet, failing_trace_function_is_removed_and_target_gets_the_error)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, log_if_ran, NULL));
    gl_settrace(fail_once, NULL, NULL);
    /* g would start, but the hook fails first: g dies without running, and the
     * GL_ETRACE error goes to its parent */
    CHECK_INT(gl_switch(g, NULL, NULL), GL_ETRACE);
    CHECK_PTR(gl_gettrace(NULL), NULL);
    CHECK_INT(calls, 1); /* removed after its failure: main's resumption is not traced */
    CHECK_LOG("");
    CHECK(gl_dead(g));
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, settrace_returns_the_previous_function_and_argument)
{
    int a;
    void *prev_arg = &prev_arg;
    CHECK_PTR(gl_settrace(record, &a, &prev_arg), NULL);
    CHECK_PTR(prev_arg, NULL);
    void *got;
    CHECK(gl_gettrace(&got) == record);
    CHECK_PTR(got, &a);
    CHECK(gl_settrace(NULL, NULL, &prev_arg) == record);
    CHECK_PTR(prev_arg, &a);
    CHECK(gl_gettrace(NULL) == NULL);
}

static void *trace_of_new_thread(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)(gl_gettrace(NULL) == NULL);
}

CASE(greenlet, trace_function_is_per_thread)
{
    gl_settrace(record, NULL, NULL);
    pthread_t t;
    void *r;
    CHECK_INT(pthread_create(&t, NULL, trace_of_new_thread, NULL), 0);
    CHECK_INT(pthread_join(t, &r), 0);
    CHECK_INT((intptr_t)r, 1);
    CHECK(gl_gettrace(NULL) == record);
    gl_settrace(NULL, NULL, NULL);
}

static int count_only(gl_trace_event ev, gl_greenlet *origin, gl_greenlet *target, void *arg)
{
    (void)ev, (void)origin, (void)target;
    (*(int *)arg)++;
    return 0;
}

static void *bounce(void *arg)
{
    for (intptr_t i = 0; i < (intptr_t)arg; i++)
        gl_switch(gl_parent(gl_current()), NULL, NULL);
    return NULL;
}

CASE(greenlet, trace_counts_every_switch)
{
    int n = 0;
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, bounce, NULL));
    gl_settrace(count_only, &n, NULL);
    CHECK_OK(gl_switch(g, (void *)(intptr_t)10, NULL));
    for (int i = 0; i < 10; i++)
        CHECK_OK(gl_switch(g, NULL, NULL));
    gl_settrace(NULL, NULL, NULL);
    CHECK(gl_dead(g));
    CHECK_INT(n, 22); /* 11 switches into g, 11 back to main (10 yields + its death) */
    CHECK_OK(gl_destroy(g));
}

static void *wait_for_throw(void *arg)
{
    (void)arg;
    if (gl_switch(gl_main(), NULL, NULL) != GL_OK)
        return (char *)"handled";
    return NULL;
}

CASE(greenlet, trace_of_throw_into_suspended_is_a_throw_event_then_a_switch_back)
{
    gl_greenlet *g;
    void *r;
    CHECK_OK(gl_new(&g, wait_for_throw, NULL));
    named[0] = g, names[0] = "g";
    CHECK_OK(gl_switch(g, NULL, NULL));
    gl_settrace(record, NULL, NULL);
    CHECK_OK(gl_throw_r(g, &r, GL_EUSER, NULL, NULL));
    gl_settrace(NULL, NULL, NULL);
    CHECK_STR((const char *)r, "handled");
    CHECK_LOG("throw(main,g) switch(g,main)");
    CHECK_OK(gl_destroy(g));
}
