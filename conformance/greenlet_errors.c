/* Errors travel like exceptions: throw, raise, GreenletExit, propagation to parents. */
#include <stdint.h>
#include "greenlet.h"
#include "suite.h"

enum { E_TEST = GL_EUSER + 1, E_OTHER = GL_EUSER + 2 };

/* Suspends; if the pending switch raises, logs the error and switches back "caught". */
static void *catch_and_report(void *arg)
{
    (void)arg;
    void *r;
    int rc = gl_switch(gl_parent(gl_current()), NULL, &r);
    if (rc != GL_OK) {
        const gl_error *e = gl_last_error();
        LOG("caught:%d:%s:%s", e->code, e->message, (const char *)e->data);
        if (gl_switch(gl_parent(gl_current()), (char *)"caught", &r) != GL_OK)
            return gl_reraise();
        return NULL;
    }
    LOG("no-error");
    return NULL;
}

CASE(greenlet, throw_into_suspended_raises_at_its_pending_switch)
{
    gl_greenlet *g;
    void *r;
    CHECK_OK(gl_new(&g, catch_and_report, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_OK(gl_throw_r(g, &r, E_TEST, (char *)"payload", "ciao %d", 7));
    CHECK_LOG("caught:101:ciao 7:payload");
    CHECK_STR((const char *)r, "caught"); /* what g switched back with */
    CHECK(gl_active(g));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK(gl_dead(g));
    CHECK_OK(gl_destroy(g));
}

static void *suspend_and_propagate(void *arg)
{
    (void)arg;
    if (gl_switch(gl_parent(gl_current()), NULL, NULL) != GL_OK)
        return gl_reraise();
    LOG("not-reached");
    return NULL;
}

CASE(greenlet, error_unhandled_in_child_reaches_parent)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, suspend_and_propagate, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    int rc = gl_throw(g, E_TEST, (char *)"d", "boom");
    CHECK_INT(rc, E_TEST);
    CHECK_INT(gl_last_error()->code, E_TEST);
    CHECK_STR(gl_last_error()->message, "boom");
    CHECK_STR((const char *)gl_last_error()->data, "d");
    CHECK(gl_dead(g));
    CHECK_LOG("");
    CHECK_OK(gl_destroy(g));
}

static void *raise_error(void *arg)
{
    (void)arg;
    return gl_raise(E_OTHER, NULL, "raised by run");
}

CASE(greenlet, run_ending_with_gl_raise_raises_in_parent)
{
    gl_greenlet *g;
    void *r = &r;
    CHECK_INT(gl_new(&g, raise_error, NULL), GL_OK);
    CHECK_INT(gl_switch(g, NULL, &r), E_OTHER);
    CHECK_PTR(r, NULL);
    CHECK_STR(gl_last_error()->message, "raised by run");
    CHECK(gl_dead(g));
    CHECK_OK(gl_destroy(g));
}

static void *ran(void *arg)
{
    (void)arg;
    LOG("ran");
    return NULL;
}

CASE(greenlet, throw_into_unstarted_kills_it_without_running_it)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, ran, NULL));
    CHECK_INT(gl_throw(g, E_TEST, NULL, "never ran"), E_TEST);
    CHECK_STR(gl_last_error()->message, "never ran");
    CHECK(gl_dead(g));
    CHECK(gl_started(g));
    CHECK_LOG("");
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, greenlet_exit_into_unstarted_returns_its_data_as_a_value)
{
    gl_greenlet *g;
    int token;
    void *r;
    CHECK_OK(gl_new(&g, ran, NULL));
    CHECK_OK(gl_throw_r(g, &r, GL_EEXIT, &token, NULL));
    CHECK_PTR(r, &token);
    CHECK(gl_dead(g));
    CHECK_LOG("");
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, greenlet_exit_ends_a_suspended_greenlet_quietly)
{
    gl_greenlet *g;
    int token;
    void *r;
    CHECK_OK(gl_new(&g, suspend_and_propagate, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_OK(gl_throw_r(g, &r, GL_EEXIT, &token, NULL)); /* a value, not an error */
    CHECK_PTR(r, &token);
    CHECK(gl_dead(g));
    CHECK_OK(gl_destroy(g));
}

/* Logs what its run received, and returns it. */
static void *log_arg(void *arg)
{
    LOG("run-got:%s", arg ? (const char *)arg : "nothing");
    return arg ? arg : (char *)"no-arg";
}

static void *suspend_in_main_and_propagate(void *arg)
{
    (void)arg;
    if (gl_switch(gl_main(), NULL, NULL) != GL_OK)
        return gl_reraise();
    return NULL;
}

/* Python greenlet 2.0.2 starts an unstarted parent of a greenlet ended by
 * GreenletExit('data') with no arguments (`run()`), while a started parent's pending
 * switch receives the GreenletExit: here the started parent gets the data, the
 * unstarted one NULL. */
CASE(greenlet, greenlet_ended_by_exit_starts_its_unstarted_parent_with_no_value)
{
    gl_greenlet *parent, *child;
    void *r;
    CHECK_OK(gl_new(&parent, log_arg, NULL));
    CHECK_OK(gl_new(&child, suspend_in_main_and_propagate, parent));
    CHECK_OK(gl_switch(child, NULL, NULL)); /* suspended; its parent is still unstarted */
    CHECK_OK(gl_throw_r(child, &r, GL_EEXIT, (char *)"data", NULL));
    CHECK_LOG("run-got:nothing");
    CHECK_STR((const char *)r, "no-arg"); /* the parent's result, back in main */
    CHECK(gl_dead(child) && gl_dead(parent));
    CHECK_OK(gl_destroy(child));
    CHECK_OK(gl_destroy(parent));
}

/* The same when the child never started (it dies at once) ... */
CASE(greenlet, exit_thrown_into_unstarted_child_starts_its_unstarted_parent_with_no_value)
{
    gl_greenlet *parent, *child;
    void *r;
    CHECK_OK(gl_new(&parent, log_arg, NULL));
    CHECK_OK(gl_new(&child, ran, parent));
    CHECK_OK(gl_throw_r(child, &r, GL_EEXIT, (char *)"data", NULL));
    CHECK_LOG("run-got:nothing");
    CHECK_STR((const char *)r, "no-arg");
    CHECK_OK(gl_destroy(child));
    CHECK_OK(gl_destroy(parent));
}

/* ... and when GreenletExit thrown into a dead greenlet becomes a value that goes on to
 * its unstarted first live ancestor; a plain value still starts it with that value. */
CASE(greenlet, exit_thrown_into_dead_greenlet_starts_its_unstarted_ancestor_with_no_value)
{
    gl_greenlet *parent, *child;
    void *r;
    CHECK_OK(gl_new(&child, ran, NULL));
    CHECK_OK(gl_switch(child, NULL, NULL)); /* dead */
    CHECK_OK(gl_new(&parent, log_arg, NULL));
    CHECK_OK(gl_set_parent(child, parent));
    CHECK_OK(gl_throw_r(child, &r, GL_EEXIT, (char *)"data", NULL));
    CHECK_LOG("ran run-got:nothing");
    CHECK_STR((const char *)r, "no-arg");
    CHECK_OK(gl_destroy(parent));
    CHECK_OK(gl_new(&parent, log_arg, NULL));
    CHECK_OK(gl_set_parent(child, parent));
    CHECK_OK(gl_switch(child, (char *)"v", &r)); /* Python: run(42) for switch(42) */
    CHECK_LOG("ran run-got:nothing run-got:v");
    CHECK_STR((const char *)r, "v");
    CHECK_OK(gl_destroy(child));
    CHECK_OK(gl_destroy(parent));
}

CASE(greenlet, throw_into_dead_greenlet_exit_is_eaten_and_returns_value)
{
    gl_greenlet *g;
    int token;
    void *r;
    CHECK_OK(gl_new(&g, ran, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK(gl_dead(g));
    CHECK_OK(gl_throw_r(g, &r, GL_EEXIT, &token, NULL));
    CHECK_PTR(r, &token);
    CHECK_OK(gl_throw_r(g, &r, GL_EEXIT, &token, NULL)); /* again: still eaten */
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, throw_into_dead_greenlet_raises_in_first_live_ancestor)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, ran, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_INT(gl_throw(g, E_TEST, NULL, "into the dead"), E_TEST);
    CHECK_STR(gl_last_error()->message, "into the dead");
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, throw_into_self_raises_at_once)
{
    CHECK_INT(gl_throw(gl_current(), E_TEST, NULL, "self"), E_TEST);
    CHECK_STR(gl_last_error()->message, "self");
    CHECK_PTR(gl_current(), gl_main());
}

static gl_greenlet *g1_catches;

static void *suspend_to_main_and_propagate(void *arg)
{
    (void)arg;
    if (gl_switch(gl_main(), NULL, NULL) != GL_OK)
        return gl_reraise();
    return NULL;
}

static void *g1_wait_then_catch(void *arg)
{
    (void)arg;
    if (gl_switch(gl_main(), NULL, NULL) != GL_OK) {
        LOG("g1-caught:%d", gl_last_error()->code);
        return (char *)"caught";
    }
    return (char *)"not-caught";
}

/* greenlet's test_throw_goes_to_original_parent: the error of a greenlet killed by a
 * throw goes to *its* parent, not to the thrower. */
CASE(greenlet, error_from_thrown_child_goes_to_its_parent_not_the_thrower)
{
    gl_greenlet *g2;
    void *r;
    CHECK_OK(gl_new(&g1_catches, g1_wait_then_catch, NULL));
    CHECK_OK(gl_switch(g1_catches, NULL, NULL)); /* g1 suspended inside its "try" */
    CHECK_OK(gl_new(&g2, suspend_to_main_and_propagate, g1_catches));
    CHECK_OK(gl_switch(g2, NULL, NULL)); /* g2 suspended too */
    /* main throws into g2; g2 dies; its error lands in g1, which returns to main */
    CHECK_OK(gl_throw_r(g2, &r, E_TEST, NULL, "x"));
    CHECK_LOG("g1-caught:101");
    CHECK_STR((const char *)r, "caught");
    CHECK(gl_dead(g2) && gl_dead(g1_catches));
    CHECK_OK(gl_destroy(g2));
    CHECK_OK(gl_destroy(g1_catches));
}

static void *catch_exit_and_return(void *arg)
{
    (void)arg;
    if (gl_switch(gl_parent(gl_current()), NULL, NULL) == GL_EEXIT)
        return (char *)"cleaned-up";
    return NULL;
}

CASE(greenlet, greenlet_handling_exit_and_returning_delivers_its_value)
{
    gl_greenlet *g;
    void *r;
    CHECK_OK(gl_new(&g, catch_exit_and_return, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_OK(gl_throw_r(g, &r, GL_EEXIT, NULL, NULL));
    CHECK_STR((const char *)r, "cleaned-up");
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, error_skips_dead_parents_to_first_live_ancestor)
{
    gl_greenlet *dead_parent, *child;
    CHECK_OK(gl_new(&dead_parent, ran, NULL));
    CHECK_OK(gl_switch(dead_parent, NULL, NULL));
    CHECK(gl_dead(dead_parent));
    CHECK_OK(gl_new(&child, raise_error, dead_parent));
    CHECK_INT(gl_switch(child, NULL, NULL), E_OTHER); /* reached main past the dead one */
    CHECK_OK(gl_destroy(child));
    CHECK_OK(gl_destroy(dead_parent));
}

static void *reraise_what_it_got(void *arg)
{
    (void)arg;
    if (gl_switch(gl_parent(gl_current()), NULL, NULL) != GL_OK) {
        LOG("got:%s", gl_last_error()->message);
        return gl_reraise();
    }
    return NULL;
}

CASE(greenlet, reraise_passes_the_received_error_on_unchanged)
{
    gl_greenlet *g;
    int payload;
    CHECK_OK(gl_new(&g, reraise_what_it_got, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_INT(gl_throw(g, E_OTHER, &payload, "original"), E_OTHER);
    CHECK_LOG("got:original");
    CHECK_STR(gl_last_error()->message, "original");
    CHECK_PTR(gl_last_error()->data, &payload);
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, throw_with_code_not_positive_is_refused)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, ran, NULL));
    CHECK_INT(gl_throw(g, 0, NULL, NULL), GL_EINVAL);
    CHECK_INT(gl_throw(g, -5, NULL, NULL), GL_EINVAL);
    CHECK(!gl_started(g)); /* nothing happened */
    CHECK_LOG("");
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_LOG("ran");
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, error_message_defaults_to_the_code_name)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, ran, NULL));
    CHECK_INT(gl_throw(g, GL_EBUSY, NULL, NULL), GL_EBUSY);
    CHECK_STR(gl_last_error()->message, gl_strerror(GL_EBUSY));
    CHECK(strlen(gl_strerror(GL_EEXIT)) > 0);
    CHECK_STR(gl_strerror(GL_EEXIT), "GreenletExit");
    CHECK_OK(gl_destroy(g));
}
