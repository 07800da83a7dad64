/* Threads: every thread has its own main greenlet; greenlets belong to their thread. */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include "greenlet.h"
#include "suite.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
size_t __sanitizer_get_current_allocated_bytes(void); /* gcc ships no allocator_interface.h */
static size_t heap_in_use(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
static size_t heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2(); /* every arena: threads allocate from their own */
    return m.uordblks + m.hblkhd;
}
#endif

/* Runs fn on a new thread and waits for it. */
static void *on_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    void *r;
    CHECK_INT(pthread_create(&t, NULL, fn, arg), 0);
    CHECK_INT(pthread_join(t, &r), 0);
    return r;
}

static void *report_main(void *arg)
{
    gl_greenlet **out = arg;
    out[0] = gl_main();
    out[1] = gl_current();
    return (void *)(intptr_t)(gl_parent(out[0]) == NULL && gl_is_main(out[0]));
}

CASE(greenlet, each_thread_has_its_own_main_greenlet)
{
    gl_greenlet *seen[2];
    CHECK((intptr_t)on_thread(report_main, seen) == 1);
    CHECK(seen[0] != gl_main());
    CHECK_PTR(seen[1], seen[0]);
}

/* The two players of one thread's game. Passed explicitly, not through thread-local
 * variables: on a port whose greenlets run on OS threads of their own, a thread-local
 * differs between greenlets of the same logical thread. */
struct game {
    gl_greenlet *ping, *pong;
    intptr_t rounds;
};

static void *pong_body(void *arg)
{
    struct game *game = arg;
    intptr_t n = 0;
    void *v;
    if (gl_switch(game->ping, NULL, &v) != GL_OK) /* ready: ping may serve */
        return gl_reraise();
    for (n = (intptr_t)v; n >= 0; n = (intptr_t)v)
        if (gl_switch(game->ping, (void *)(n + 1), &v) != GL_OK)
            return gl_reraise();
    return NULL;
}

static void *ping_body(void *arg)
{
    struct game *game = arg;
    intptr_t n = 0;
    void *v;
    if (gl_switch(game->pong, game, NULL) != GL_OK) /* start pong */
        return gl_reraise();
    for (intptr_t i = 0; i < game->rounds; i++) {
        if (gl_switch(game->pong, (void *)n, &v) != GL_OK)
            return gl_reraise();
        n = (intptr_t)v + 1;
    }
    gl_switch(game->pong, (void *)-1, NULL); /* pong ends; its parent (ping) resumes */
    return (void *)n;
}

/* Each thread plays ping-pong between two greenlets of its own, at the same time as
 * the others (greenlet's test_threads). */
static void *thread_ping_pong(void *arg)
{
    struct game game = {NULL, NULL, (intptr_t)arg};
    if (gl_new(&game.ping, ping_body, NULL) != GL_OK ||
        gl_new(&game.pong, pong_body, game.ping) != GL_OK)
        return (void *)-1;
    void *r;
    if (gl_switch(game.ping, &game, &r) != GL_OK)
        return (void *)-2;
    gl_destroy(game.ping);
    gl_destroy(game.pong);
    return r;
}

CASE(greenlet, threads_run_their_own_greenlets_concurrently)
{
    enum { THREADS = 8, ROUNDS = 2000 };
    pthread_t ts[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK_INT(pthread_create(&ts[i], NULL, thread_ping_pong, (void *)(intptr_t)ROUNDS), 0);
    for (int i = 0; i < THREADS; i++) {
        void *r;
        CHECK_INT(pthread_join(ts[i], &r), 0);
        CHECK_INT((intptr_t)r, 2 * ROUNDS);
    }
}

static void *ran(void *arg)
{
    (void)arg;
    LOG("ran");
    return NULL;
}

struct foreign {
    gl_greenlet *g;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int created, done;
};

/* A thread that creates an unstarted greenlet and stays alive until told to end. */
static void *hold_a_greenlet(void *arg)
{
    struct foreign *f = arg;
    gl_new(&f->g, ran, NULL);
    pthread_mutex_lock(&f->lock);
    f->created = 1;
    pthread_cond_broadcast(&f->cond);
    while (!f->done)
        pthread_cond_wait(&f->cond, &f->lock);
    pthread_mutex_unlock(&f->lock);
    gl_destroy(f->g);
    return NULL;
}

/* Starts a thread holding an unstarted greenlet (f->g), once it exists. */
static pthread_t foreign_start(struct foreign *f)
{
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, hold_a_greenlet, f), 0);
    pthread_mutex_lock(&f->lock);
    while (!f->created)
        pthread_cond_wait(&f->cond, &f->lock);
    pthread_mutex_unlock(&f->lock);
    return t;
}

/* Lets that thread destroy its greenlet and end. */
static void foreign_end(struct foreign *f, pthread_t t)
{
    pthread_mutex_lock(&f->lock);
    f->done = 1;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    CHECK_INT(pthread_join(t, NULL), 0);
}

CASE(greenlet, switch_to_greenlet_of_another_thread_is_refused)
{
    struct foreign f = {NULL, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    pthread_t t = foreign_start(&f);

    CHECK_INT(gl_switch(f.g, NULL, NULL), GL_ETHREAD);
    CHECK(strstr(gl_last_error()->message, "different thread") != NULL);
    CHECK_INT(gl_throw(f.g, GL_EUSER, NULL, NULL), GL_ETHREAD);
    CHECK_INT(gl_destroy(f.g), GL_ETHREAD);
    CHECK_INT(gl_set_parent(f.g, gl_main()), GL_ETHREAD);
    gl_greenlet *mine;
    CHECK_INT(gl_new(&mine, ran, f.g), GL_ETHREAD);
    CHECK_PTR(mine, NULL);
    CHECK(!gl_started(f.g)); /* nothing happened to it */
    CHECK_PTR(gl_current(), gl_main());
    CHECK_LOG("");

    foreign_end(&f, t);
}

static void *other_run(void *arg)
{
    (void)arg;
    LOG("other-run");
    return NULL;
}

CASE(greenlet, set_run_from_another_thread_is_refused)
{
    struct foreign f = {NULL, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    pthread_t t = foreign_start(&f);

    CHECK_INT(gl_set_run(f.g, other_run), GL_ETHREAD);
    CHECK(strstr(gl_last_error()->message, "another thread") != NULL);
    CHECK(gl_run(f.g) == ran); /* unchanged: its own thread runs `ran` */

    foreign_end(&f, t);
}

static void *suspended_greenlet_body(void *arg)
{
    (void)arg;
    gl_switch(gl_main(), NULL, NULL);
    LOG("resumed");
    return NULL;
}

static void *leave_suspended_greenlet(void *arg)
{
    gl_greenlet **out = arg;
    if (gl_new(&out[0], suspended_greenlet_body, NULL) != GL_OK)
        return (void *)1;
    gl_switch(out[0], NULL, NULL);
    out[1] = gl_main();
    return NULL;
}

CASE(greenlet, greenlet_of_exited_thread_refuses_switch_and_its_main_is_dead)
{
    gl_greenlet *got[2] = {NULL, NULL};
    CHECK_PTR(on_thread(leave_suspended_greenlet, got), NULL);
    CHECK(gl_active(got[0]));
    CHECK_INT(gl_switch(got[0], NULL, NULL), GL_ETHREAD);
    CHECK(strstr(gl_last_error()->message, "exited") != NULL);
    CHECK(gl_dead(got[1])); /* its main greenlet is dead once the thread has gone */
    CHECK_OK(gl_destroy(got[0])); /* released without running it: its thread is gone */
    CHECK_LOG("");
}

static void *unstarted_on_other_thread(void *arg)
{
    gl_greenlet **out = arg;
    return (void *)(intptr_t)gl_new(out, ran, NULL);
}

CASE(greenlet, unstarted_greenlet_of_exited_thread_cannot_start_here)
{
    gl_greenlet *g = NULL;
    CHECK_INT((intptr_t)on_thread(unstarted_on_other_thread, &g), GL_OK);
    CHECK_INT(gl_switch(g, NULL, NULL), GL_ETHREAD);
    CHECK(!gl_started(g));
    CHECK_OK(gl_destroy(g));
    CHECK_LOG("");
}

/* ---- a thread that exits inside a greenlet ------------------------------------- */

static void log_cleanup(void *what)
{
    LOG("cleanup:%s", (const char *)what);
}

struct exiting {
    gl_greenlet *waiting, *exiting;
};

static void *exit_the_thread(void *arg)
{
    pthread_cleanup_push(log_cleanup, "greenlet");
    pthread_exit(arg);
    pthread_cleanup_pop(0);
    return NULL;
}

static void *thread_exiting_inside_a_greenlet(void *arg)
{
    struct exiting *e = arg;
    if (gl_new(&e->waiting, suspended_greenlet_body, NULL) != GL_OK ||
        gl_switch(e->waiting, NULL, NULL) != GL_OK ||
        gl_new(&e->exiting, exit_the_thread, NULL) != GL_OK)
        return NULL;
    pthread_cleanup_push(log_cleanup, "thread");
    gl_switch(e->exiting, (void *)(intptr_t)42, NULL);
    LOG("main-resumed");
    pthread_cleanup_pop(0);
    return NULL;
}

/* pthread_exit(v) in a greenlet ends the thread that runs it, as if called from its
 * main greenlet: every cleanup handler runs, pthread_join() returns v, and the
 * thread's other greenlets never run again (as for any thread that exited). */
CASE(greenlet, pthread_exit_inside_a_greenlet_ends_its_thread_with_that_value)
{
    struct exiting e = {NULL, NULL};
    CHECK_INT((intptr_t)on_thread(thread_exiting_inside_a_greenlet, &e), 42);
    CHECK_LOG("cleanup:greenlet cleanup:thread");
    CHECK(gl_active(e.waiting));
    CHECK_INT(gl_switch(e.waiting, NULL, NULL), GL_ETHREAD);
    CHECK(strstr(gl_last_error()->message, "exited") != NULL);
    CHECK_OK(gl_destroy(e.waiting)); /* released without running it */
    CHECK_OK(gl_destroy(e.exiting));
    CHECK_LOG("cleanup:greenlet cleanup:thread");
}

/* ---- a thread's memory ----------------------------------------------------------- */

static void *bounce_to_main(void *arg)
{
    (void)arg;
    for (;;)
        if (gl_switch(gl_main(), NULL, NULL) != GL_OK)
            return gl_reraise();
}

/* Switches to `g` (or destroys it) from 16 KiB deeper than where `g` started: a port
 * that copies stacks saves that much of the main greenlet's stack to the heap. */
static __attribute__((noinline)) int from_deep(gl_greenlet *g, int destroy)
{
    volatile char frame[16 * 1024];
    frame[0] = 1;
    frame[sizeof frame - 1] = 1;
    int rc = destroy ? gl_destroy(g) : gl_switch(g, NULL, NULL);
    return rc + frame[0] + frame[sizeof frame - 1] - 2;
}

static void *switch_among_greenlets_then_exit(void *arg)
{
    (void)arg;
    gl_greenlet *g[3];
    intptr_t failed = 0;
    for (int i = 0; i < 3; i++) {
        failed |= gl_new(&g[i], bounce_to_main, NULL);
        failed |= gl_switch(g[i], NULL, NULL);
    }
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < 3; i++)
            failed |= from_deep(g[i], 0);
    for (int i = 0; i < 3; i++)
        failed |= from_deep(g[i], 1); /* the thread ends right after */
    return (void *)failed;
}

/* Everything a thread's greenlets took, its main greenlet's state included (a saved
 * slice of its stack, on a port that copies stacks), is given back when it exits. */
CASE(greenlet, a_thread_that_switched_among_greenlets_gives_back_all_its_memory_on_exit)
{
    enum { THREADS = 16 };
    CHECK_PTR(on_thread(switch_among_greenlets_then_exit, NULL), NULL); /* warm-up */
    size_t before = heap_in_use();
    for (int i = 0; i < THREADS; i++)
        CHECK_PTR(on_thread(switch_among_greenlets_then_exit, NULL), NULL);
    size_t after = heap_in_use();
    if (after > before + THREADS * 1024) /* a slice kept per thread is 16 KiB or more */
        suite_fail(__FILE__, __LINE__, "%zu bytes still allocated after %d threads ended "
                   "(%zu per thread)", after - before, THREADS, (after - before) / THREADS);
}
