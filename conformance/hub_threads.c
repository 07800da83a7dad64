/* The hub and OS threads: every thread has a hub of its own; hub objects belong to the
 * thread whose hub made them. */
#include <pthread.h>
#include <stdint.h>
#include "greenlet.h"
#include "hub.h"
#include "suite.h"

static hub_event *main_event;

static void *use_foreign_event(void *arg)
{
    (void)arg;
    intptr_t rc = hub_event_wait(main_event, 0);
    return (void *)rc;
}

CASE(hub, objects_of_another_threads_hub_are_refused)
{
    pthread_t t;
    void *rc;
    CHECK_OK(hub_event_new(&main_event));
    CHECK_INT(pthread_create(&t, NULL, use_foreign_event, NULL), 0);
    CHECK_INT(pthread_join(t, &rc), 0);
    CHECK_INT((intptr_t)rc, GL_ETHREAD);
    CHECK_OK(hub_event_set(main_event)); /* still fine in its own thread */
}

static void *count_up(void *arg)
{
    long *n = arg;
    for (int i = 0; i < 50; i++) {
        (*n)++;
        if (hub_sleep(0) != HUB_OK)
            return gl_reraise();
    }
    return NULL;
}

static long counts[2][3]; /* per thread, per greenlet: static, never on a stack */

static void *thread_with_its_own_hub(void *arg)
{
    long *mine = arg;
    hub_greenlet *g[3];
    for (int i = 0; i < 3; i++)
        if (hub_spawn(&g[i], count_up, &mine[i]) != HUB_OK)
            return (void *)(intptr_t)gl_last_error()->code;
    intptr_t rc = hub_joinall(g, 3, HUB_FOREVER);
    if (rc == HUB_OK)
        rc = hub_destroy() == HUB_OK ? 0 : -1;
    return (void *)rc;
}

CASE(hub, each_thread_runs_a_hub_of_its_own_at_the_same_time)
{
    pthread_t t[2];
    void *rc;
    for (int i = 0; i < 2; i++)
        CHECK_INT(pthread_create(&t[i], NULL, thread_with_its_own_hub, counts[i]), 0);
    CHECK_OK(hub_sleep(0.001)); /* and the main thread's own hub meanwhile */
    for (int i = 0; i < 2; i++) {
        CHECK_INT(pthread_join(t[i], &rc), 0);
        CHECK_INT((intptr_t)rc, 0);
        for (int j = 0; j < 3; j++)
            CHECK_INT(counts[i][j], 50);
    }
}
