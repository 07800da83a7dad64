/* thread.c — per-thread state: the main greenlet, the current greenlet, the trace
 * hook; created on a thread's first call into the API, retired when the thread ends. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "stack.h"

__thread gl__thread *gl__tls_thread;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void thread_exit(void *arg)
{
    gl__thread *t = arg;
    if (t->current != t->main)
        gl__fiber_back_on_thread_stack(); /* pthread_exit() was called in a greenlet */
    /* First, while the thread's greenlets can still run (a hook may add another). */
    gl__exit_hook *hook;
    while ((hook = t->exit_hooks)) {
        t->exit_hooks = hook->next;
        hook->fn(hook->arg);
        free(hook);
    }
    gl_greenlet *main = t->main;
    if (t->finished)
        gl__release_finished(t);
    gl__drop_alive_refs(t);
    gl__port_exit_main(main);
    gl__overflow_reporter_remove(t->altstack);
    t->altstack = NULL;
    main->finished = 1; /* a main greenlet is dead once its thread has exited */
    gl__live_close(t);  /* before `exited`: whoever frees a record after it sees this */
    atomic_store(&t->exited, 1);
    gl__tls_thread = NULL;
    gl__greenlet_unref(main);
    gl__thread_unref(t);
}

static void make_exit_key(void)
{
    if (pthread_key_create(&exit_key, thread_exit) != 0)
        abort(); /* no TLS keys left at start-up: nothing sensible to do */
}

gl__thread *gl__thread_create(void)
{
    pthread_once(&exit_key_once, make_exit_key);
    gl__thread *t = calloc(1, sizeof *t);
    gl_greenlet *main = t ? gl__greenlet_alloc(t) : NULL;
    if (!main) {
        free(t);
        return NULL;
    }
    atomic_init(&t->refs, 2);  /* the OS thread, and main */
    atomic_init(&main->refs, 1); /* the thread */
    main->is_main = 1;
    main->started = 1;
    t->main = main;
    t->main_alloc = gl__port_ctx(main);
    t->current = main;
    if (gl__port_init_main(main) != GL_OK) {
        gl__greenlet_free(main);
        free(t);
        return NULL;
    }
    gl__tls_thread = t;
    pthread_setspecific(exit_key, t);
    t->altstack = gl__overflow_reporter_install();
    return t;
}

gl__thread *gl__thread_peek(void)
{
    return gl__tls_thread;
}

void gl__thread_adopt(gl__thread *t)
{
    gl__tls_thread = t;
}

void gl__thread_unref(gl__thread *t)
{
    if (atomic_fetch_sub(&t->refs, 1) == 1)
        free(t);
}

gl_greenlet *gl_current(void)
{
    gl__thread *t = gl__thread_get();
    return t ? t->current : NULL;
}

gl_greenlet *gl_main(void)
{
    gl__thread *t = gl__thread_get();
    return t ? t->main : NULL;
}

int gl_at_thread_exit(void (*fn)(void *arg), void *arg)
{
    if (!fn)
        return gl__fail(GL_EINVAL, "gl_at_thread_exit: fn is NULL");
    gl__thread *t = gl__thread_get();
    if (!t)
        return GL_ENOMEM;
    for (gl__exit_hook *h = t->exit_hooks; h; h = h->next)
        if (h->fn == fn && h->arg == arg)
            return GL_OK;
    gl__exit_hook *h = malloc(sizeof *h);
    if (!h)
        return gl__fail(GL_ENOMEM, "gl_at_thread_exit: out of memory");
    h->fn = fn;
    h->arg = arg;
    h->next = t->exit_hooks;
    t->exit_hooks = h;
    return GL_OK;
}

gl_trace_fn gl_settrace(gl_trace_fn fn, void *arg, void **prev_arg)
{
    gl__thread *t = gl__thread_get();
    if (!t)
        return NULL;
    gl_trace_fn prev = t->trace;
    if (prev_arg)
        *prev_arg = t->trace_arg;
    gl__set_trace(t, fn, arg);
    return prev;
}

gl_trace_fn gl_gettrace(void **arg)
{
    gl__thread *t = gl__thread_get();
    if (arg)
        *arg = t ? t->trace_arg : NULL;
    return t ? t->trace : NULL;
}

const gl_port_info *gl_port(void)
{
    return &gl__port_info;
}
