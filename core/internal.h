/*
 * internal.h — the core's own structures. Ports see only port.h; this file is for
 * the core's C files.
 */
#ifndef GL_INTERNAL_H
#define GL_INTERNAL_H

#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include "greenlet.h"
#include "port.h"
#include "overflow.h"

/* What travels with a switch: a value, or an error. Lives in the thread state because
 * exactly one switch per logical thread is in flight at a time. */
typedef struct gl__transfer {
    gl_greenlet *origin;
    int is_error;
    void *value;
    gl_error error;
} gl__transfer;

/* A function gl_at_thread_exit() registered. */
typedef struct gl__exit_hook {
    void (*fn)(void *arg);
    void *arg;
    struct gl__exit_hook *next;
} gl__exit_hook;

struct gl__thread {
    atomic_int refs;           /* greenlets of this thread + the thread itself */
    atomic_int exited;         /* the owning OS thread has ended */
    gl_greenlet *main;
    void *main_alloc;          /* start of main's allocation (keeps leak checkers exact) */
    gl_greenlet *current;
    gl_trace_fn trace;
    void *trace_arg;
    gl__transfer xfer;
    gl_greenlet *finished;     /* died; port resources released by the next greenlet to run */
    void *altstack;            /* signal stack for the overflow reporter */
    unsigned char switch_refused; /* the port could not switch: the error is in
                                     current->last_error (gl__port_switch_refused) */
    unsigned char live_closed; /* the thread has exited: the registry is no longer kept */
    gl_greenlet *live;         /* registry: every record of this thread not yet freed, main
                                  included, newest first (gl_live_count, debuggers) */
    size_t live_count;
    gl__exit_hook *exit_hooks; /* gl_at_thread_exit(), most recent first */
};

struct gl_greenlet {
    atomic_int refs;           /* the creator's reference, one per child naming it parent,
                                  one per gl_destroy in progress */
    gl__thread *thread;
    gl_greenlet *parent;       /* NULL only for main */
    gl_run_fn run;
    void *userdata;
    size_t stack_size;
    unsigned char is_main;
    unsigned char started;
    unsigned char finished;
    unsigned char released;    /* port resources given back */
    unsigned char user_ref;    /* the creator's reference is still held */
    unsigned char raising;     /* gl_raise() was called: end with `raised` */
    unsigned char destroying;  /* a gl_destroy of it waits for its death */
    void *guard_lo, *guard_hi; /* stack guard range, if the port has one */
    gl_error last_error;       /* last error received (gl_last_error) */
    gl_error raised;
    gl_greenlet *live_prev, *live_next; /* the thread's registry (registry.c) */
    gl_run_fn ran;             /* `run` once started (for debuggers: gl_run() is NULL then) */
};

/* A greenlet record of thread `t` with its port state below it (see gl__port_ctx),
 * zeroed and entered in t's registry; and its release. */
gl_greenlet *gl__greenlet_alloc(gl__thread *t);
void gl__greenlet_free(gl_greenlet *g);

/* The registry of records per thread (registry.c): entered at allocation, left at free.
 * Closed when the thread exits (records freed later, from other threads, leave it
 * alone). */
void gl__live_link(gl__thread *t, gl_greenlet *g);
void gl__live_unlink(gl_greenlet *g);
void gl__live_close(gl__thread *t);

/* The calling thread's logical thread (set by gl__thread_adopt for a port whose
 * greenlets run on OS threads of their own). */
extern __thread gl__thread *gl__tls_thread;
gl__thread *gl__thread_create(void);

/* Per-thread state of the calling thread; created (with its main greenlet) on first
 * use. NULL only when out of memory. Inline: every API call starts here. */
static inline gl__thread *gl__thread_get(void)
{
    gl__thread *t = gl__tls_thread;
    return __builtin_expect(t != NULL, 1) ? t : gl__thread_create();
}

/* Gives back the port resources of the greenlet that died last (t->finished), once
 * its stack is no longer in use. */
void gl__release_finished(gl__thread *t);

void gl__greenlet_ref(gl_greenlet *g);
void gl__greenlet_unref(gl_greenlet *g);
void gl__thread_unref(gl__thread *t);

void gl__error_set(gl_error *e, int code, void *data, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
void gl__error_setf(gl_error *e, int code, void *data, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records a misuse error as the current greenlet's last error and returns its code. */
int gl__fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


#endif /* GL_INTERNAL_H */
