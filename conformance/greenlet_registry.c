/* The registry: gl_live_count() counts the greenlets a thread still holds (a leak
 * check), whatever their state, until they are released. */
#include <pthread.h>
#include <stdint.h>
#include "greenlet.h"
#include "suite.h"

static void *suspend_then_return(void *arg)
{
    if (gl_switch(gl_parent(gl_current()), NULL, NULL) != GL_OK)
        return gl_reraise();
    return arg;
}

CASE(greenlet, live_count_does_not_count_the_main_greenlet)
{
    CHECK_INT(gl_live_count(), 0);
    CHECK(gl_main() != NULL);
    CHECK_INT(gl_live_count(), 0);
}

CASE(greenlet, live_count_counts_each_greenlet_in_every_state_until_destroyed)
{
    gl_greenlet *unstarted, *suspended, *dead;
    CHECK_OK(gl_new(&unstarted, suspend_then_return, NULL));
    CHECK_OK(gl_new(&suspended, suspend_then_return, NULL));
    CHECK_OK(gl_new(&dead, suspend_then_return, NULL));
    CHECK_INT(gl_live_count(), 3);
    CHECK_OK(gl_switch(suspended, NULL, NULL));
    CHECK_OK(gl_switch(dead, NULL, NULL));
    CHECK_OK(gl_switch(dead, NULL, NULL));
    CHECK(gl_dead(dead));
    CHECK_INT(gl_live_count(), 3); /* dead is not released: the caller still holds it */
    CHECK_OK(gl_destroy(dead));
    CHECK_INT(gl_live_count(), 2);
    CHECK_OK(gl_destroy(suspended)); /* killed, then released */
    CHECK_INT(gl_live_count(), 1);
    CHECK_OK(gl_destroy(unstarted));
    CHECK_INT(gl_live_count(), 0);
}

CASE(greenlet, live_count_keeps_a_destroyed_parent_while_a_child_names_it)
{
    gl_greenlet *parent, *child;
    CHECK_OK(gl_new(&parent, suspend_then_return, NULL));
    CHECK_OK(gl_new(&child, suspend_then_return, parent));
    CHECK_OK(gl_destroy(parent));
    CHECK_INT(gl_live_count(), 2); /* the child's parent link holds it */
    CHECK_OK(gl_destroy(child));
    CHECK_INT(gl_live_count(), 0);
}

CASE(greenlet, live_count_returns_to_zero_after_many_greenlets_come_and_go)
{
    enum { N = 300 };
    gl_greenlet *gs[N];
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0) /* a third stay unstarted, each holding the one before as parent */
            CHECK_OK(gl_new(&gs[i], suspend_then_return, i ? gs[i - 1] : NULL));
        else {
            CHECK_OK(gl_new(&gs[i], suspend_then_return, NULL));
            CHECK_OK(gl_switch(gs[i], NULL, NULL));
        }
    }
    CHECK_INT(gl_live_count(), N);
    for (int i = 0; i < N; i += 2) /* every other one first: parents outlive their handle */
        CHECK_OK(gl_destroy(gs[i]));
    for (int i = 1; i < N; i += 2)
        CHECK_OK(gl_destroy(gs[i]));
    CHECK_INT(gl_live_count(), 0);
}

static void *count_on_a_thread(void *arg)
{
    size_t *seen = arg;
    gl_greenlet *a, *b;
    seen[0] = gl_live_count();
    if (gl_new(&a, suspend_then_return, NULL) != GL_OK ||
        gl_new(&b, suspend_then_return, NULL) != GL_OK)
        return (void *)1;
    seen[1] = gl_live_count();
    gl_destroy(a);
    gl_destroy(b);
    seen[2] = gl_live_count();
    return NULL;
}

CASE(greenlet, live_count_is_per_thread)
{
    gl_greenlet *mine;
    CHECK_OK(gl_new(&mine, suspend_then_return, NULL));
    size_t seen[3] = {99, 99, 99};
    pthread_t t;
    void *r;
    CHECK_INT(pthread_create(&t, NULL, count_on_a_thread, seen), 0);
    CHECK_INT(pthread_join(t, &r), 0);
    CHECK_PTR(r, NULL);
    CHECK_INT(seen[0], 0); /* mine is not the other thread's */
    CHECK_INT(seen[1], 2);
    CHECK_INT(seen[2], 0);
    CHECK_INT(gl_live_count(), 1);
    CHECK_OK(gl_destroy(mine));
    CHECK_INT(gl_live_count(), 0);
}

static void *leave_two_behind(void *arg)
{
    gl_greenlet **out = arg;
    if (gl_new(&out[0], suspend_then_return, NULL) != GL_OK ||
        gl_new(&out[1], suspend_then_return, out[0]) != GL_OK)
        return (void *)1;
    gl_switch(out[1], NULL, NULL); /* suspended, and its parent unstarted */
    return NULL;
}

/* Released from another thread after their own has gone: not counted here, no harm
 * to either thread's registry (AddressSanitizer watches the frees). */
CASE(greenlet, greenlets_of_an_exited_thread_released_here_do_not_count_here)
{
    gl_greenlet *left[2];
    pthread_t t;
    void *r;
    CHECK_INT(pthread_create(&t, NULL, leave_two_behind, left), 0);
    CHECK_INT(pthread_join(t, &r), 0);
    CHECK_PTR(r, NULL);
    CHECK_INT(gl_live_count(), 0);
    CHECK_OK(gl_destroy(left[0]));
    CHECK_OK(gl_destroy(left[1]));
    CHECK_INT(gl_live_count(), 0);
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, suspend_then_return, NULL));
    CHECK_INT(gl_live_count(), 1);
    CHECK_OK(gl_destroy(g));
}
