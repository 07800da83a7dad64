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

/* What travels with a switch: a value, or an error (arrival.is.error). Lives in the
 * thread state because exactly one switch per logical thread is in flight at a time. */
typedef struct gl__transfer {
    gl_greenlet *origin;
    void *value;
    gl_error error;
} gl__transfer;

/* What a resumed greenlet must attend to besides the value, a byte each, so that the
 * switch's fast path (gl_switch) tests them all with one load. */
typedef union gl__arrival {
    uint32_t any;
    struct {
        unsigned char error;    /* the transfer carries xfer.error, not a value */
        unsigned char finished; /* t->finished is set: release it */
        unsigned char trace;    /* t->trace is set: call it */
        unsigned char refused;  /* the port could not switch: the error is in
                                   current's last error (gl__port_switch_refused) */
    } is;
} gl__arrival;

/* The error records of a greenlet that has received or raised an error: allocated on
 * first need (gl__errors_of), so that a greenlet that never sees one does not carry
 * 2 x 176 bytes (a suspended stackcopy greenlet costs what its record and its saved
 * stack slice cost). */
typedef struct gl__errors {
    gl_error last;             /* last error received (gl_last_error) */
    gl_error raised;           /* set by gl_raise(): the greenlet ends with it */
} gl__errors;

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
    gl__arrival arrival;
    gl_trace_fn trace;         /* set with gl__set_trace (arrival.is.trace follows it) */
    void *trace_arg;
    gl__transfer xfer;
    gl_greenlet *finished;     /* died; port resources released by the next greenlet to
                                  run (set with gl__set_finished) */
    void *altstack;            /* signal stack for the overflow reporter */
    gl__errors spare_errors;   /* for a greenlet whose records could not be allocated */
    unsigned char live_closed; /* the thread has exited: the registry is no longer kept */
    gl_greenlet *live;         /* registry: every record of this thread not yet freed, main
                                  included, newest first (gl_live_count, debuggers) */
    size_t live_count;
    gl__exit_hook *exit_hooks; /* gl_at_thread_exit(), most recent first */
};

static inline void gl__set_finished(gl__thread *t, gl_greenlet *g)
{
    t->finished = g;
    t->arrival.is.finished = g != NULL;
}

static inline void gl__set_trace(gl__thread *t, gl_trace_fn fn, void *arg)
{
    t->trace = fn;
    t->trace_arg = fn ? arg : NULL;
    t->arrival.is.trace = fn != NULL;
}

/* What a switch reads of its target (thread, started, finished) comes first, next to
 * the port state just below the record (a saved stack pointer): one or two cache lines
 * per switch, which counts once the greenlets outnumber the cache (harness: ring). */
struct gl_greenlet {
    atomic_int refs;           /* the creator's reference, one per child naming it parent,
                                  one per gl_destroy in progress, and its own while it is
                                  alive (started, not dead: its stack is in use) */
    unsigned char started;
    unsigned char finished;
    unsigned char is_main;
    unsigned char released : 1;   /* port resources given back */
    unsigned char user_ref : 1;   /* the creator's reference is still held */
    unsigned char raising : 1;    /* gl_raise() was called: end with errors->raised */
    unsigned char destroying : 1; /* a gl_destroy of it waits for its death */
    unsigned char alive_ref : 1;  /* it holds its own reference (gl__entry to its death) */
    gl__thread *thread;
    gl_greenlet *parent;       /* NULL only for main */
    gl_run_fn run;             /* kept once started, for debuggers; gl_run() says NULL then,
                                  as greenlet deletes `run` */
    void *userdata;
    void *guard;               /* its stack's lowest byte, if guarded (gl__set_guard) */
    gl__errors *errors;        /* NULL until the first error (gl__errors_of) */
    gl_greenlet *live_prev, *live_next; /* the thread's registry (registry.c) */
};

/* g's error records, allocated on first use; out of memory, the thread's spare ones
 * (shared by the greenlets of the thread that could not get their own, for good).
 * Never NULL. */
gl__errors *gl__errors_of(gl_greenlet *g);
/* g's last error received, or a record of code 0 if it has none. */
const gl_error *gl__last_error_of(const gl_greenlet *g);

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
extern __thread gl__thread *gl__tls_thread GL__DEBUGGER_VISIBLE;
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

/* A thread's exit: its suspended greenlets will never run again, so they stop holding
 * themselves (their records go when the last handle or child naming them goes). */
void gl__drop_alive_refs(gl__thread *t);

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
