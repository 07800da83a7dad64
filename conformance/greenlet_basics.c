/* Greenlet basics: the main greenlet, creation, states, value passing, ordering. */
#include "greenlet.h"
#include "suite.h"
#include <stdint.h>

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

static void *return_arg_plus_one(void *arg) { return (char *)arg + 1; }

CASE(greenlet, new_greenlet_is_unstarted_with_creator_as_parent)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, return_arg_plus_one, NULL));
    CHECK(!gl_started(g));
    CHECK(!gl_active(g));
    CHECK(!gl_dead(g));
    CHECK(!gl_is_main(g));
    CHECK_PTR(gl_parent(g), gl_current());
    CHECK(gl_run(g) == return_arg_plus_one);
    CHECK_OK(gl_destroy(g));
}

static void *states_body(void *arg)
{
    (void)arg;
    gl_greenlet *self = gl_current();
    CHECK(gl_active(self) && gl_started(self) && !gl_dead(self)); /* running */
    CHECK_PTR(gl_run(self), NULL);
    gl_switch(gl_parent(self), NULL, NULL);
    return NULL;
}

CASE(greenlet, states_go_unstarted_active_dead_and_run_is_gone_once_started)
{
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, states_body, NULL));
    CHECK(!gl_started(g) && !gl_active(g) && !gl_dead(g));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK(gl_active(g) && gl_started(g) && !gl_dead(g)); /* suspended */
    CHECK_PTR(gl_run(g), NULL);
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK(!gl_active(g) && gl_started(g) && gl_dead(g));
    CHECK_PTR(gl_run(g), NULL);
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, first_switch_passes_its_value_as_run_argument)
{
    gl_greenlet *g;
    static char base[4];
    void *r = NULL;
    CHECK_OK(gl_new(&g, return_arg_plus_one, NULL));
    CHECK_OK(gl_switch(g, base, &r));
    CHECK_PTR(r, base + 1); /* run's return value arrived at the parent's switch */
    CHECK(gl_dead(g));
    CHECK_OK(gl_destroy(g));
}

static void *echo_twice(void *arg)
{
    void *second;
    if (gl_switch(gl_parent(gl_current()), arg, &second) != GL_OK)
        return gl_reraise();
    return second;
}

CASE(greenlet, switch_value_is_returned_by_the_pending_switch)
{
    gl_greenlet *g;
    int a, b;
    void *r;
    CHECK_OK(gl_new(&g, echo_twice, NULL));
    CHECK_OK(gl_switch(g, &a, &r));
    CHECK_PTR(r, &a); /* g switched back to main with its argument */
    CHECK(gl_active(g));
    CHECK_OK(gl_switch(g, &b, &r));
    CHECK_PTR(r, &b); /* g's pending switch returned &b, which g returned */
    CHECK(gl_dead(g));
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, null_value_round_trips_as_a_value_not_an_error)
{
    gl_greenlet *g;
    void *r = &r;
    CHECK_OK(gl_new(&g, echo_twice, NULL));
    CHECK_OK(gl_switch(g, NULL, &r));
    CHECK_PTR(r, NULL);
    r = &r;
    CHECK_OK(gl_switch(g, NULL, &r));
    CHECK_PTR(r, NULL);
    CHECK(gl_dead(g));
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, switch_to_self_returns_the_value_at_once)
{
    int v;
    void *r = NULL;
    CHECK_OK(gl_switch(gl_current(), &v, &r));
    CHECK_PTR(r, &v);
    CHECK_PTR(gl_current(), gl_main());
}

CASE(greenlet, switch_to_dead_greenlet_goes_to_its_parent)
{
    gl_greenlet *g;
    int v;
    void *r;
    CHECK_OK(gl_new(&g, return_arg_plus_one, NULL));
    CHECK_OK(gl_switch(g, (void *)(intptr_t)10, &r));
    CHECK(gl_dead(g));
    /* its first live ancestor is main, the caller: the value comes straight back */
    CHECK_OK(gl_switch(g, &v, &r));
    CHECK_PTR(r, &v);
    CHECK_OK(gl_switch(g, NULL, &r));
    CHECK_PTR(r, NULL);
    CHECK_OK(gl_destroy(g));
}

static void *log_arg_and_return_it(void *arg)
{
    LOG("parent-started-with-%s", (const char *)arg);
    return arg;
}

CASE(greenlet, switch_to_dead_greenlet_starts_its_unstarted_parent)
{
    gl_greenlet *child, *parent;
    void *r;
    CHECK_OK(gl_new(&child, return_arg_plus_one, NULL));
    CHECK_OK(gl_switch(child, (char *)"x", &r));
    CHECK(gl_dead(child));
    CHECK_OK(gl_new(&parent, log_arg_and_return_it, NULL));
    CHECK_OK(gl_set_parent(child, parent));
    CHECK_OK(gl_switch(child, (char *)"v", &r));
    CHECK_LOG("parent-started-with-v");
    CHECK_STR((const char *)r, "v"); /* the parent died into main */
    CHECK(gl_dead(parent));
    CHECK_OK(gl_destroy(child));
    CHECK_OK(gl_destroy(parent));
}

static void *return_42(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)42;
}

static void *one_arg(void *arg)
{
    LOG("one_arg(%d)", (int)(intptr_t)arg);
    return (void *)((intptr_t)arg + 24);
}

/* greenlet's test_falling_off_end_switches_to_unstarted_parent_works */
CASE(greenlet, finished_child_starts_unstarted_parent_with_its_result)
{
    gl_greenlet *parent, *child;
    void *r;
    CHECK_OK(gl_new(&parent, one_arg, NULL));
    CHECK_OK(gl_new(&child, return_42, parent));
    CHECK_OK(gl_switch(child, NULL, &r));
    CHECK_LOG("one_arg(42)");
    CHECK_INT((intptr_t)r, 66);
    CHECK(gl_dead(child) && gl_dead(parent));
    CHECK_OK(gl_destroy(child));
    CHECK_OK(gl_destroy(parent));
}

static void *step_three_times(void *arg)
{
    const char *name = arg;
    for (int i = 0; i < 3; i++) {
        LOG("%s%d", name, i);
        if (gl_switch(gl_parent(gl_current()), NULL, NULL) != GL_OK)
            return gl_reraise();
    }
    return NULL;
}

CASE(greenlet, two_children_interleave_and_each_resumes_where_it_left)
{
    gl_greenlet *a, *b;
    CHECK_OK(gl_new(&a, step_three_times, NULL));
    CHECK_OK(gl_new(&b, step_three_times, NULL));
    CHECK_OK(gl_switch(a, (char *)"a", NULL));
    CHECK_OK(gl_switch(b, (char *)"b", NULL));
    CHECK_OK(gl_switch(a, NULL, NULL));
    CHECK_OK(gl_switch(b, NULL, NULL));
    CHECK_OK(gl_switch(a, NULL, NULL));
    CHECK_OK(gl_switch(b, NULL, NULL));
    CHECK_LOG("a0 b0 a1 b1 a2 b2");
    CHECK(gl_active(a) && gl_active(b));
    CHECK_OK(gl_switch(a, NULL, NULL));
    CHECK_OK(gl_switch(b, NULL, NULL));
    CHECK(gl_dead(a) && gl_dead(b));
    CHECK_OK(gl_destroy(a));
    CHECK_OK(gl_destroy(b));
}

static void *child_of_creator(void *arg)
{
    (void)arg;
    LOG("b");
    return (void *)(intptr_t)2;
}

static void *creator(void *arg)
{
    (void)arg;
    gl_greenlet *child;
    void *r;
    LOG("a");
    if (gl_new(&child, child_of_creator, NULL) != GL_OK)
        return gl_raise(GL_EUSER, NULL, "could not create the child");
    if (gl_parent(child) != gl_current())
        return gl_raise(GL_EUSER, NULL, "child's default parent is not its creator");
    if (gl_switch(child, NULL, &r) != GL_OK)
        return gl_reraise();
    LOG("c");
    gl_destroy(child);
    return (void *)((intptr_t)r + 1);
}

/* greenlet's test_two_recursive_children */
CASE(greenlet, greenlet_creates_and_runs_its_own_greenlets)
{
    gl_greenlet *g;
    void *r;
    CHECK_OK(gl_new(&g, creator, NULL));
    CHECK_OK(gl_switch(g, NULL, &r));
    CHECK_LOG("a b c");
    CHECK_INT((intptr_t)r, 3);
    CHECK_OK(gl_destroy(g));
}

/* Switch away from deep inside nested calls — what a generator's yield cannot do —
 * and come back to exactly that point, with every frame's locals intact. */
static int nested(int depth, int max)
{
    volatile char frame[256];
    for (size_t i = 0; i < sizeof frame; i++)
        frame[i] = (char)(depth * 7 + (int)i);
    int sum;
    if (depth == max) {
        void *r;
        if (gl_switch(gl_parent(gl_current()), (void *)(intptr_t)depth, &r) != GL_OK)
            return -1;
        sum = (int)(intptr_t)r;
    } else {
        sum = nested(depth + 1, max);
    }
    for (size_t i = 0; i < sizeof frame; i++)
        if (frame[i] != (char)(depth * 7 + (int)i))
            return -1000000; /* a local was clobbered while suspended */
    return sum < 0 ? sum : sum + depth;
}

static void *nested_body(void *arg)
{
    return (void *)(intptr_t)nested(0, (int)(intptr_t)arg);
}

static void *clobber_stack(void *arg)
{
    volatile char junk[16 * 1024];
    memset((char *)junk, 0x5a, sizeof junk);
    return arg;
}

CASE(greenlet, switch_from_deep_nested_calls_and_back_keeps_locals_intact)
{
    gl_greenlet *g, *other;
    void *r;
    CHECK_OK(gl_new(&g, nested_body, NULL));
    CHECK_OK(gl_switch(g, (void *)(intptr_t)100, &r));
    CHECK_INT((intptr_t)r, 100); /* suspended at depth 100 */
    /* meanwhile another greenlet and main use (and scribble on) stack memory */
    CHECK_OK(gl_new(&other, clobber_stack, NULL));
    CHECK_OK(gl_switch(other, NULL, NULL));
    {
        volatile char junk[16 * 1024];
        memset((char *)junk, 0xa5, sizeof junk);
    }
    CHECK_OK(gl_switch(g, (void *)(intptr_t)1000, &r));
    CHECK_INT((intptr_t)r, 1000 + 100 * 101 / 2);
    CHECK(gl_dead(g));
    CHECK_OK(gl_destroy(g));
    CHECK_OK(gl_destroy(other));
}

/* A generator written with greenlets: yields by switching to its parent from nested
 * calls; the consumer re-parents it to itself each time (greenlet's genlet tests). */
static void gen_yield(intptr_t v)
{
    gl_switch(gl_parent(gl_current()), (void *)v, NULL);
}

static void gen_twice(intptr_t v)
{
    gen_yield(v);
    gen_yield(v);
}

static void *gen_range(void *arg)
{
    for (intptr_t i = 0; i < (intptr_t)arg; i++)
        gen_twice(i);
    return (void *)(intptr_t)-1; /* end marker */
}

static void *gen_consumer(void *arg)
{
    gl_greenlet *gen = arg;
    for (;;) {
        void *v;
        gl_set_parent(gen, gl_current());
        if (gl_switch(gen, (void *)(intptr_t)5, &v) != GL_OK)
            return gl_reraise();
        if ((intptr_t)v < 0)
            break;
        LOG("%d", (int)(intptr_t)v);
    }
    return NULL;
}

CASE(greenlet, generator_pattern_yields_from_nested_calls_in_order)
{
    gl_greenlet *gen, *consumer;
    CHECK_OK(gl_new(&gen, gen_range, NULL));
    CHECK_OK(gl_new(&consumer, gen_consumer, NULL));
    CHECK_OK(gl_switch(consumer, gen, NULL));
    CHECK_LOG("0 0 1 1 2 2 3 3 4 4");
    CHECK(gl_dead(gen) && gl_dead(consumer));
    CHECK_OK(gl_destroy(gen));
    CHECK_OK(gl_destroy(consumer));
}

static void *suspend_once_then_return_arg(void *arg)
{
    volatile char live[128];
    memset((char *)live, (int)((intptr_t)arg & 0x7f), sizeof live);
    if (gl_switch(gl_parent(gl_current()), NULL, NULL) != GL_OK)
        return gl_reraise();
    for (size_t i = 0; i < sizeof live; i++)
        if (live[i] != (char)((intptr_t)arg & 0x7f))
            return gl_raise(GL_EUSER, NULL, "local clobbered");
    return arg;
}

CASE(greenlet, ten_thousand_greenlets_live_at_once)
{
    enum { N = 10000 };
    gl_greenlet **gs = calloc(N, sizeof *gs);
    CHECK(gs != NULL);
    for (intptr_t i = 0; i < N; i++) {
        CHECK_OK(gl_new(&gs[i], suspend_once_then_return_arg, NULL));
        CHECK_OK(gl_switch(gs[i], (void *)i, NULL));
        CHECK(gl_active(gs[i]));
    }
    for (intptr_t i = N; i-- > 0;) { /* resume in reverse order of suspension */
        void *r;
        CHECK_OK(gl_switch(gs[i], NULL, &r));
        CHECK_INT((intptr_t)r, i);
        CHECK(gl_dead(gs[i]));
        CHECK_OK(gl_destroy(gs[i]));
    }
    free(gs);
}

static void *big_frame(void *arg)
{
    volatile char frame[256 * 1024];
    for (size_t i = 0; i < sizeof frame; i += 512)
        frame[i] = (char)i;
    if (gl_switch(gl_parent(gl_current()), NULL, NULL) != GL_OK)
        return gl_reraise();
    for (size_t i = 0; i < sizeof frame; i += 512)
        if (frame[i] != (char)i)
            return gl_raise(GL_EUSER, NULL, "256 KiB frame clobbered at %zu", i);
    return arg;
}

CASE(greenlet, greenlet_with_256k_stack_frame_runs_when_stack_allows)
{
    gl_greenlet *g;
    int rc = gl_new_with_stack(&g, big_frame, NULL, 1024 * 1024);
    if (rc == GL_ESTACKSIZE)
        SKIP("port refuses a 1 MiB stack (GL_ESTACKSIZE)");
    CHECK_OK(rc);
    int token;
    void *r;
    CHECK_OK(gl_switch(g, &token, NULL));
    CHECK(gl_active(g));
    {
        volatile char junk[64 * 1024];
        memset((char *)junk, 0x33, sizeof junk);
    }
    CHECK_OK(gl_switch(g, NULL, &r));
    CHECK_PTR(r, &token);
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, userdata_is_kept_per_greenlet)
{
    gl_greenlet *a, *b;
    int x, y;
    CHECK_OK(gl_new(&a, return_arg_plus_one, NULL));
    CHECK_OK(gl_new(&b, return_arg_plus_one, NULL));
    CHECK_PTR(gl_userdata(a), NULL);
    gl_set_userdata(a, &x);
    gl_set_userdata(b, &y);
    CHECK_PTR(gl_userdata(a), &x);
    CHECK_PTR(gl_userdata(b), &y);
    CHECK_OK(gl_destroy(a));
    CHECK_OK(gl_destroy(b));
}
