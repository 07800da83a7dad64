/* Lifetime: destroying greenlets in every state; run functions; the parent chain. */
#include <stdint.h>
#include "greenlet.h"
#include "suite.h"

static void *cleanup_on_exit(void *arg)
{
    (void)arg;
    int rc = gl_switch(gl_parent(gl_current()), NULL, NULL);
    LOG("cleanup:%s", rc == GL_EEXIT ? "GreenletExit" : gl_strerror(rc));
    return rc == GL_OK ? NULL : gl_reraise();
}

CASE(greenlet, destroy_suspended_greenlet_runs_its_cleanup_first)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, cleanup_on_exit, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_LOG("");
    CHECK_OK(gl_destroy(g));
    CHECK_LOG("cleanup:GreenletExit");
    CHECK_PTR(gl_current(), gl_main());
}

static gl_greenlet *destroyer;

static void *log_parent_on_exit(void *arg)
{
    (void)arg;
    int rc = gl_switch(gl_main(), NULL, NULL);
    LOG("%s parent-is-destroyer:%d", rc == GL_EEXIT ? "exit" : "other",
        gl_parent(gl_current()) == destroyer);
    return NULL;
}

static void *destroy_arg(void *arg)
{
    CHECK_OK(gl_destroy(arg));
    return NULL;
}

/* greenlet's test_parent_restored_on_kill */
CASE(greenlet, destroy_makes_destroyer_the_parent_during_the_kill_then_restores_it)
{
    gl_greenlet *victim, *original_parent;
    CHECK_OK(gl_new(&original_parent, log_parent_on_exit, NULL)); /* never started */
    CHECK_OK(gl_new(&victim, log_parent_on_exit, original_parent));
    CHECK_OK(gl_switch(victim, NULL, NULL)); /* suspended, switched to main */
    CHECK_OK(gl_new(&destroyer, destroy_arg, NULL));
    CHECK_OK(gl_switch(destroyer, victim, NULL));
    CHECK_LOG("exit parent-is-destroyer:1");
    CHECK(!gl_started(original_parent)); /* the death did not go there */
    CHECK_OK(gl_destroy(destroyer));
    CHECK_OK(gl_destroy(original_parent));
}

static void *never_runs(void *arg)
{
    (void)arg;
    LOG("ran");
    return NULL;
}

CASE(greenlet, destroy_unstarted_greenlet_never_runs_it)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, never_runs, NULL));
    CHECK_OK(gl_destroy(g));
    CHECK_LOG("");
}

CASE(greenlet, destroy_dead_greenlet_runs_nothing)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, never_runs, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_LOG("ran");
    CHECK_OK(gl_destroy(g));
    CHECK_LOG("ran");
}

static void *turn_exit_into_error(void *arg)
{
    (void)arg;
    if (gl_switch(gl_parent(gl_current()), NULL, NULL) == GL_EEXIT)
        return gl_raise(GL_EUSER + 9, NULL, "cleanup failed");
    return NULL;
}

CASE(greenlet, destroy_reports_ecleanup_with_the_error_the_cleanup_ended_with)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, turn_exit_into_error, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_INT(gl_destroy(g), GL_ECLEANUP); /* released */
    CHECK_INT(gl_last_error()->code, GL_EUSER + 9); /* the error, with its own code */
    CHECK_STR(gl_last_error()->message, "cleanup failed");
    CHECK_PTR(gl_current(), gl_main());
}

static void *survive_exit_once(void *arg)
{
    (void)arg;
    int rc = gl_switch(gl_parent(gl_current()), NULL, NULL);
    LOG("first:%d", rc);
    rc = gl_switch(gl_parent(gl_current()), NULL, NULL); /* refuses to die */
    LOG("second:%d", rc);
    return NULL;
}

CASE(greenlet, destroy_of_greenlet_that_survives_exit_reports_it_and_keeps_it)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, survive_exit_once, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_INT(gl_destroy(g), GL_ENOTDEAD);
    CHECK_LOG("first:1");
    CHECK(gl_active(g)); /* still alive and still ours */
    CHECK_PTR(gl_parent(g), gl_main()); /* parent restored */
    CHECK_OK(gl_destroy(g)); /* second GreenletExit: it returns normally */
    CHECK_LOG("first:1 second:1");
}

CASE(greenlet, destroyed_parent_stays_valid_while_a_child_names_it)
{
    gl_greenlet *parent, *child;
    void *r;
    CHECK_OK(gl_new(&parent, never_runs, NULL));
    CHECK_OK(gl_switch(parent, NULL, NULL));
    CHECK_OK(gl_new(&child, never_runs, parent));
    CHECK_OK(gl_destroy(parent)); /* dead; kept while `child` names it */
    CHECK_PTR(gl_parent(child), parent);
    CHECK(gl_dead(gl_parent(child)));
    CHECK_OK(gl_switch(child, (char *)"v", &r)); /* dies past its dead parent to main */
    CHECK_OK(gl_destroy(child));
    CHECK_LOG("ran ran");
}

CASE(greenlet, greenlet_without_run_cannot_start_until_given_one)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, NULL, NULL));
    CHECK_INT(gl_switch(g, NULL, NULL), GL_ENORUN);
    CHECK(!gl_started(g));
    CHECK_INT(gl_throw(g, GL_EUSER, NULL, NULL), GL_ENORUN);
    CHECK(!gl_started(g));
    CHECK_OK(gl_set_run(g, never_runs));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_LOG("ran");
    CHECK_INT(gl_set_run(g, never_runs), GL_ESTARTED);
    CHECK_INT(gl_set_run(gl_main(), never_runs), GL_EMAIN);
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, child_dying_into_parent_without_run_passes_error_up)
{
    gl_greenlet *parent, *child;
    CHECK_OK(gl_new(&parent, NULL, NULL));
    CHECK_OK(gl_new(&child, never_runs, parent));
    CHECK_INT(gl_switch(child, NULL, NULL), GL_ENORUN); /* greenlet's test_parent_return_failure */
    CHECK(gl_dead(child));
    CHECK(!gl_started(parent));
    CHECK_OK(gl_destroy(child));
    CHECK_OK(gl_destroy(parent));
}

/* ---- the parent chain ---- */

static void *child_reports_parent(void *arg)
{
    (void)arg;
    return gl_parent(gl_current());
}

static void *make_child_and_run_it(void *arg)
{
    (void)arg;
    gl_greenlet *child;
    void *r;
    if (gl_new(&child, child_reports_parent, NULL) != GL_OK)
        return gl_reraise();
    if (gl_switch(child, NULL, &r) != GL_OK)
        return gl_reraise();
    gl_destroy(child);
    return r == gl_current() ? (char *)"creator" : (char *)"other";
}

CASE(greenlet, default_parent_is_the_current_greenlet_of_the_creator)
{
    gl_greenlet *g;
    void *r;
    CHECK_OK(gl_new(&g, make_child_and_run_it, NULL));
    CHECK_OK(gl_switch(g, NULL, &r));
    CHECK_STR((const char *)r, "creator");
    CHECK_OK(gl_destroy(g));
}

static void *log_resumed(void *arg)
{
    LOG("%s-got-%s", (const char *)gl_userdata(gl_current()), (const char *)arg);
    void *r;
    if (gl_switch(gl_main(), NULL, &r) != GL_OK)
        return gl_reraise();
    LOG("%s-resumed-with-%s", (const char *)gl_userdata(gl_current()), (const char *)r);
    return r;
}

static void *return_done(void *arg)
{
    (void)arg;
    return (char *)"done";
}

CASE(greenlet, set_parent_changes_where_the_result_goes)
{
    gl_greenlet *waiter, *child;
    void *r;
    CHECK_OK(gl_new(&waiter, log_resumed, NULL));
    gl_set_userdata(waiter, "w");
    CHECK_OK(gl_switch(waiter, (char *)"start", NULL));
    CHECK_OK(gl_new(&child, return_done, NULL));
    CHECK_OK(gl_set_parent(child, waiter));
    CHECK_PTR(gl_parent(child), waiter);
    CHECK_OK(gl_switch(child, NULL, &r)); /* child's result resumes waiter, which returns to main */
    CHECK_LOG("w-got-start w-resumed-with-done");
    CHECK_STR((const char *)r, "done");
    CHECK_OK(gl_destroy(child));
    CHECK_OK(gl_destroy(waiter));
}

CASE(greenlet, set_parent_to_itself_is_a_cycle_and_is_refused)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, never_runs, NULL));
    CHECK_INT(gl_set_parent(g, g), GL_ECYCLE);
    CHECK_STR(gl_last_error()->message, "cyclic parent chain");
    CHECK_PTR(gl_parent(g), gl_main());
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, deeper_parent_cycle_is_refused_and_chain_unchanged)
{
    gl_greenlet *g1, *g2, *g3;
    CHECK_OK(gl_new(&g1, never_runs, NULL));
    CHECK_OK(gl_new(&g2, never_runs, NULL));
    CHECK_OK(gl_new(&g3, never_runs, NULL));
    CHECK_OK(gl_set_parent(g1, g2));
    CHECK_OK(gl_set_parent(g2, g3));
    CHECK_INT(gl_set_parent(g3, g1), GL_ECYCLE);
    CHECK_PTR(gl_parent(g1), g2);
    CHECK_PTR(gl_parent(g2), g3);
    CHECK_PTR(gl_parent(g3), gl_main());
    CHECK_OK(gl_destroy(g1));
    CHECK_OK(gl_destroy(g2));
    CHECK_OK(gl_destroy(g3));
    CHECK_LOG("");
}

CASE(greenlet, main_greenlet_parent_cannot_be_set)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, never_runs, NULL));
    CHECK_INT(gl_set_parent(gl_main(), g), GL_EMAIN);
    CHECK_PTR(gl_parent(gl_main()), NULL);
    CHECK_OK(gl_destroy(g));
}

/* greenlet's test_switch_to_dead_greenlet_with_unstarted_perverse_parent */
CASE(greenlet, switch_to_dead_child_whose_parent_cannot_start_fails_every_time)
{
    gl_greenlet *parent, *child;
    CHECK_OK(gl_new(&child, never_runs, NULL));
    CHECK_OK(gl_switch(child, NULL, NULL));
    CHECK_OK(gl_new(&parent, NULL, NULL)); /* no run function */
    CHECK_OK(gl_set_parent(child, parent));
    CHECK_INT(gl_switch(child, NULL, NULL), GL_ENORUN);
    CHECK_INT(gl_switch(child, NULL, NULL), GL_ENORUN);
    CHECK_LOG("ran"); /* the child's run ran exactly once */
    CHECK(!gl_started(parent));
    CHECK_OK(gl_destroy(child));
    CHECK_OK(gl_destroy(parent));
}

static void *count_exits(void *arg)
{
    int *exits = arg;
    int rc = gl_switch(gl_main(), NULL, NULL);
    if (rc == GL_EEXIT)
        (*exits)++;
    return rc == GL_OK ? NULL : gl_reraise();
}

/* greenlet's test_dealloc: one GreenletExit per destroyed suspended greenlet */
CASE(greenlet, destroying_many_suspended_greenlets_raises_exit_once_in_each)
{
    enum { N = 50 };
    gl_greenlet *gs[N];
    int exits[N] = {0};
    for (int i = 0; i < N; i++) {
        CHECK_OK(gl_new(&gs[i], count_exits, NULL));
        CHECK_OK(gl_switch(gs[i], &exits[i], NULL));
    }
    for (int i = 0; i < N; i += 2) /* every other one, out of creation order */
        CHECK_OK(gl_destroy(gs[i]));
    for (int i = 1; i < N; i += 2)
        CHECK_OK(gl_destroy(gs[i]));
    for (int i = 0; i < N; i++)
        CHECK_INT(exits[i], 1);
}
