/* gl_at_thread_exit: functions run when a thread exits, on that thread, while its
 * greenlets can still be switched to (what the hub needs to tear its loop down). */
#include <pthread.h>
#include <stdint.h>
#include "greenlet.h"
#include "suite.h"

static gl_greenlet *suspended; /* a greenlet of the exiting thread, waiting in a switch */

static void *wait_for_exit(void *arg)
{
    (void)arg;
    int rc = gl_switch(gl_parent(gl_current()), NULL, NULL);
    LOG("greenlet:%s", gl_strerror(rc)); /* GreenletExit, from the hook's gl_destroy */
    return rc == GL_OK ? NULL : gl_reraise();
}

static void note(void *arg) { LOG("%s", (const char *)arg); }

static void destroy_it(void *arg)
{
    LOG("%s:main-current:%d", (const char *)arg, gl_current() == gl_main());
    LOG("destroy:%d", gl_destroy(suspended));
}

static void *thread_with_hooks(void *arg)
{
    (void)arg;
    intptr_t rc = gl_new(&suspended, wait_for_exit, NULL);
    if (rc == GL_OK)
        rc = gl_switch(suspended, NULL, NULL);
    if (rc == GL_OK)
        rc = gl_at_thread_exit(note, "first");
    if (rc == GL_OK)
        rc = gl_at_thread_exit(destroy_it, "second");
    if (rc == GL_OK)
        rc = gl_at_thread_exit(note, "first"); /* again: ignored */
    if (rc == GL_OK && gl_at_thread_exit(NULL, NULL) != GL_EINVAL)
        rc = -1;
    LOG("thread-ends");
    return (void *)rc;
}

CASE(greenlet, thread_exit_functions_run_on_the_exiting_thread_latest_first)
{
    pthread_t t;
    void *rc;
    CHECK_INT(pthread_create(&t, NULL, thread_with_hooks, NULL), 0);
    CHECK_INT(pthread_join(t, &rc), 0);
    CHECK_INT((intptr_t)rc, GL_OK);
    CHECK_LOG("thread-ends second:main-current:1 greenlet:GreenletExit destroy:0 first");
}
