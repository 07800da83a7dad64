/* Greenlet basics: the main greenlet, creation, states, value passing, ordering. */
#include "greenlet.h"
#include "suite.h"

CASE(greenlet, main_greenlet_is_current_at_start)
{
    gl_greenlet *main = gl_main();
    CHECK(main != NULL);
    CHECK_PTR(gl_current(), main);
    CHECK(gl_is_main(main));
    CHECK_PTR(gl_parent(main), NULL);
    CHECK(gl_started(main));
    CHECK(gl_active(main));
    CHECK(!gl_dead(main));
    CHECK_PTR(gl_run(main), NULL);
}

static gl_greenlet *gr1, *gr2;

static void *test1(void *arg)
{
    (void)arg;
    LOG("12");
    if (gl_switch(gr2, NULL, NULL) != GL_OK)
        return gl_reraise();
    LOG("34");
    return NULL;
}

static void *test2(void *arg)
{
    (void)arg;
    LOG("56");
    if (gl_switch(gr1, NULL, NULL) != GL_OK)
        return gl_reraise(); /* killed: GreenletExit ends us quietly */
    LOG("78");
    return NULL;
}

/* greenlet's documentation example: 78 is never printed, because gr1's death returns
 * to its parent (main), and gr2 stays suspended. */
CASE(greenlet, docs_example_prints_12_56_34_and_never_78)
{
    CHECK_OK(gl_new(&gr1, test1, NULL));
    CHECK_OK(gl_new(&gr2, test2, NULL));
    CHECK_OK(gl_switch(gr1, NULL, NULL));
    CHECK_LOG("12 56 34");
    CHECK(gl_dead(gr1));
    CHECK(gl_active(gr2) && !gl_dead(gr2));
    CHECK_OK(gl_destroy(gr1));
    CHECK_OK(gl_destroy(gr2)); /* kills gr2 at its pending switch: 78 still not printed */
    CHECK_LOG("12 56 34");
}

/* The same with gr2 as gr1's parent: gr1's death resumes gr2, which prints 78. */
CASE(greenlet, docs_example_with_explicit_parent_prints_12_56_34_78)
{
    CHECK_OK(gl_new(&gr2, test2, NULL));
    CHECK_OK(gl_new(&gr1, test1, gr2));
    CHECK_PTR(gl_parent(gr1), gr2);
    CHECK_OK(gl_switch(gr1, NULL, NULL));
    CHECK_LOG("12 56 34 78");
    CHECK(gl_dead(gr1) && gl_dead(gr2));
    CHECK_OK(gl_destroy(gr1));
    CHECK_OK(gl_destroy(gr2));
}
