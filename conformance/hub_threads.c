/* The hub and OS threads: every thread has a hub of its own; hub objects belong to the
 * thread whose hub made them. */
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#include "greenlet.h"
#include "hub.h"
#include "hub_cases.h"
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
    CHECK_INT(hub_cases_thread(&t, use_foreign_event, NULL), 0);
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
        CHECK_INT(hub_cases_thread(&t[i], thread_with_its_own_hub, counts[i]), 0);
    CHECK_OK(hub_sleep(0.001)); /* and the main thread's own hub meanwhile */
    for (int i = 0; i < 2; i++) {
        CHECK_INT(pthread_join(t[i], &rc), 0);
        CHECK_INT((intptr_t)rc, 0);
        for (int j = 0; j < 3; j++)
            CHECK_INT(counts[i][j], 50);
    }
}

/* ---- threads that exit without hub_destroy() -------------------------------------- */

static void *nap(void *arg)
{
    (void)arg;
    return hub_sleep(0.0005) == HUB_OK ? NULL : gl_reraise();
}

/* Uses its hub the way a worker would (a greenlet, a timer, a descriptor watched and
 * closed), then ends without hub_destroy(). */
static void *worker_without_destroy(void *arg)
{
    (void)arg;
    int sv[2];
    hub_greenlet *g;
    intptr_t rc = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0 ? HUB_OK : -1;
    if (rc == HUB_OK)
        rc = hub_spawn(&g, nap, NULL);
    if (rc == HUB_OK && hub_wait_read(sv[0], 0.0005) != HUB_ETIMEOUT)
        rc = -2;
    if (rc == HUB_OK)
        rc = hub_join(g, HUB_FOREVER);
    if (rc == HUB_OK)
        rc = hub_greenlet_release(g);
    hub_close(sv[0]);
    hub_close(sv[1]);
    return (void *)rc;
}

CASE(hub, threads_that_exit_without_hub_destroy_leave_no_descriptor_behind)
{
    CHECK_OK(hub_sleep(0)); /* the loop library's process-wide descriptors, if any */
    int before = hub_cases_open_fds();
    CHECK(before > 0);
    for (int batch = 0; batch < 10; batch++) { /* 200 threads, 20 at a time */
        pthread_t t[20];
        void *rc;
        for (int i = 0; i < 20; i++)
            CHECK_INT(hub_cases_thread(&t[i], worker_without_destroy, NULL), 0);
        for (int i = 0; i < 20; i++) {
            CHECK_INT(pthread_join(t[i], &rc), 0);
            CHECK_INT((intptr_t)rc, HUB_OK);
        }
    }
    CHECK_INT(hub_cases_open_fds(), before);
}

static int held_fd[2] = {-1, -1};

static void *holds_a_descriptor(void *arg)
{
    (void)arg;
    int rc = hub_sleep(30);
    LOG("cleanup:%s", hub_strerror(rc));
    hub_close(held_fd[0]); /* what a killed greenlet's cleanup is for */
    return rc == HUB_OK ? NULL : gl_reraise();
}

static void *never_runs(void *arg)
{
    (void)arg;
    LOG("never");
    return NULL;
}

static void log_at_exit(void *arg) { LOG("%s", (const char *)arg); }

static void *leaves_greenlets_running(void *arg)
{
    (void)arg;
    intptr_t rc = hub_spawn(NULL, holds_a_descriptor, NULL);
    if (rc == HUB_OK)
        rc = hub_sleep(0); /* it starts and sleeps */
    if (rc == HUB_OK)
        rc = hub_spawn(NULL, never_runs, NULL); /* not started when the thread ends */
    if (rc == HUB_OK)
        rc = hub_run_callback(NULL, log_at_exit, "callback"); /* nor run */
    LOG("thread-ends");
    return (void *)rc;
}

CASE(hub, thread_exit_runs_what_its_hub_has_queued_and_kills_what_it_still_runs)
{
    pthread_t t;
    void *rc;
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, held_fd), 0);
    CHECK_INT(hub_cases_thread(&t, leaves_greenlets_running, NULL), 0);
    CHECK_INT(pthread_join(t, &rc), 0);
    CHECK_INT((intptr_t)rc, HUB_OK);
    CHECK_LOG("thread-ends callback cleanup:GreenletExit");
    close(held_fd[1]);
    CHECK_INT(hub_cases_open_fds(), before);
}

static void *exits_the_thread(void *arg)
{
    (void)arg;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0) {
        hub_wait_read(sv[0], 0.0005); /* the loop watches a descriptor */
        hub_close(sv[0]);
        hub_close(sv[1]);
    }
    pthread_exit((void *)7);
}

static void *thread_exiting_from_a_hub_greenlet(void *arg)
{
    (void)arg;
    hub_greenlet *g;
    if (hub_spawn(&g, exits_the_thread, NULL) == HUB_OK)
        hub_join(g, HUB_FOREVER); /* never returns: the thread ends in g */
    return (void *)-1;
}

/* pthread_exit() inside a hub greenlet ends the thread there: nothing of it can run any
 * more, but its hub's loop is freed all the same. */
CASE(hub, thread_exiting_from_inside_a_hub_greenlet_leaves_no_descriptor_behind)
{
    pthread_t t;
    void *rc;
    CHECK_OK(hub_sleep(0));
    int before = hub_cases_open_fds();
    for (int i = 0; i < 20; i++) {
        CHECK_INT(hub_cases_thread(&t, thread_exiting_from_a_hub_greenlet, NULL), 0);
        CHECK_INT(pthread_join(t, &rc), 0);
        CHECK_PTR(rc, (void *)7);
    }
    CHECK_INT(hub_cases_open_fds(), before);
}
