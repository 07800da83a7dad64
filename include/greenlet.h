/*
 * greenlet.h — Python greenlet's semantics, in C.
 *
 * One header for every port (stackcopy, ucontext, asm_separate, threads, or yours):
 * the behaviour described here is what the conformance suite checks.
 *
 * Vocabulary
 *   A greenlet is a function (`run`) with its own logical call stack. Exactly one
 *   greenlet per OS thread runs at a time; control moves only by explicit switches.
 *   Every thread has an implicit *main* greenlet (the thread's own code), created the
 *   first time the thread calls into this API. It is never dead and has no parent.
 *
 *   States of a greenlet other than main:
 *     unstarted  gl_started() == 0, gl_active() == 0
 *     active     gl_started() == 1, gl_active() == 1  (running = current, or suspended)
 *     dead       gl_started() == 1, gl_active() == 0, gl_dead() == 1
 *   There is no way back to an earlier state.
 *
 * Errors travel like exceptions
 *   Every call that can fail returns an `int`: GL_OK (0) or an error code (> 0).
 *   An error code returned by gl_switch()/gl_throw() is either a misuse of the call
 *   (GL_EINVAL, GL_ETHREAD, ...: nothing happened, nothing was lost) or an error
 *   *raised into the caller* by another greenlet: thrown with gl_throw(), or the error
 *   a child greenlet ended with. In both cases gl_last_error() describes it (code,
 *   readable message, user payload). The record is kept per greenlet, so it survives
 *   switches, and is overwritten by the next failing call of that greenlet.
 *
 *   A run function "raises" by `return gl_raise(code, data, fmt, ...);` (or re-raises
 *   what it received with `return gl_reraise();`). The error travels to its parent's
 *   pending switch. GL_EEXIT is GreenletExit: a greenlet that ends with it ends
 *   quietly, and its parent receives a normal value (the error's `data`).
 *
 * Threads
 *   A greenlet belongs to the thread that created it. Switching to, throwing into,
 *   destroying or re-parenting (once started) a greenlet from another thread is
 *   refused with GL_ETHREAD (so is giving it a run function). Every thread gets its
 *   own main greenlet.
 *
 * Lifetime
 *   gl_new() hands the caller one reference. gl_destroy() gives it back: an unstarted
 *   or dead greenlet is released; a suspended one first gets GL_EEXIT raised inside it
 *   (with its parent temporarily set to the destroyer) so that its cleanup code runs.
 *   A greenlet's record stays allocated while anything refers to it: the caller's
 *   reference, a gl_destroy() in progress, a child naming it as its parent, and the
 *   greenlet itself while it runs (an unstarted greenlet given back still runs if a
 *   child's death starts it). A suspended greenlet given back that nothing names can
 *   never run again: it is freed, with no code run, when its thread exits. So a
 *   second gl_destroy() while one is in progress (from the cleanup, or from another
 *   greenlet the cleanup switched to) is refused with GL_EDESTROYING, never a double
 *   release. Once gl_destroy() has released it (GL_OK or GL_ECLEANUP), the pointer is
 *   the caller's no more, as after free().
 *
 * Parents never form a cycle
 *   Every parent change goes through one cycle check: gl_set_parent(), the destroyer
 *   becoming the parent for the kill, and the original parent coming back after it.
 *   Destroying a suspended ancestor of the running greenlet is refused (GL_ECYCLE):
 *   its death would have to return into its own descendant. (Python greenlet cannot
 *   collect an ancestor of a live greenlet at all: the child's parent reference keeps
 *   it alive.) A cleanup that re-parents the victim's original parent under the victim
 *   makes that restoration a cycle: the victim then keeps the destroyer as its parent
 *   (Python greenlet 2.0.2 restores it regardless, and its next walk of that chain
 *   never ends).
 *
 * GreenletExit that starts a greenlet
 *   A greenlet that ends with GL_EEXIT passes the error's data to its parent as a
 *   normal value; if that value would *start* a greenlet (an unstarted parent, or an
 *   unstarted first live ancestor), that greenlet's run receives NULL, as Python
 *   greenlet calls it with no arguments. The same holds for GL_EEXIT thrown into a
 *   dead greenlet whose first live ancestor is unstarted.
 *
 * Threads that exit inside a greenlet
 *   pthread_exit(v) called in any greenlet ends the thread that runs it, on every
 *   port (the threads port included), as if called from its main greenlet: cleanup
 *   handlers run, pthread_join() returns v, and its greenlets never run again, as for
 *   any thread that exited. gl_destroy() of them is then allowed from any thread and
 *   releases them without running them.
 */
#ifndef GREENLET_H
#define GREENLET_H

#include <stddef.h>

/* Installed as <switchyard/greenlet.h> (make install; pkg-config switchyard-<port>).
 * The version of the API, for #if tests: SWITCHYARD_VERSION is MAJOR*10000 +
 * MINOR*100 + PATCH. */
#define SWITCHYARD_VERSION_MAJOR 0
#define SWITCHYARD_VERSION_MINOR 1
#define SWITCHYARD_VERSION_PATCH 0
#define SWITCHYARD_VERSION_STRING "0.1.0"
#define SWITCHYARD_VERSION                                                                \
    (SWITCHYARD_VERSION_MAJOR * 10000 + SWITCHYARD_VERSION_MINOR * 100 +                  \
     SWITCHYARD_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gl_greenlet gl_greenlet;

/* The body of a greenlet. `arg` is the value of the first switch into it; the return
 * value goes to the parent (unless the function raised with gl_raise()). */
typedef void *(*gl_run_fn)(void *arg);

/* Error codes. User-defined errors use codes >= GL_EUSER. */
enum {
    GL_OK = 0,
    GL_EEXIT = 1,      /* GreenletExit: ends a greenlet quietly */
    GL_EINVAL = 2,     /* an argument is invalid (NULL greenlet, code <= 0, ...) */
    GL_ETHREAD = 3,    /* the greenlet belongs to another thread (or its thread exited) */
    GL_ECYCLE = 4,     /* the new parent would make the parent chain a cycle */
    GL_EMAIN = 5,      /* the operation is not allowed on a main greenlet */
    GL_ENORUN = 6,     /* the greenlet has no run function */
    GL_ESTARTED = 7,   /* the greenlet has already started (run cannot change) */
    GL_EBUSY = 8,      /* the greenlet is running (cannot destroy the running greenlet) */
    GL_ENOMEM = 9,     /* out of memory */
    GL_ENOSTACK = 10,  /* no stack could be had (address space, vm.max_map_count, threads) */
    GL_ESTACKSIZE = 11,/* requested stack size outside the port's limits */
    GL_ENOTDEAD = 12,  /* gl_destroy: the greenlet survived GL_EEXIT (not released) */
    GL_ETRACE = 13,    /* the trace function failed; tracing was removed */
    GL_ECLEANUP = 14,  /* gl_destroy: released, but it ended with an error while being
                          killed (gl_last_error() holds that error, its own code) */
    GL_EDESTROYING = 15,/* gl_destroy: a gl_destroy of this greenlet is already in
                          progress (its cleanup switched away); that one releases it */
    GL_EUSER = 100     /* first code free for applications */
};

#define GL_ERROR_MESSAGE_MAX 160

/* An error in flight, or the last one received. */
typedef struct gl_error {
    int code;                           /* GL_E* or >= GL_EUSER */
    void *data;                         /* user payload, travels with the error */
    char message[GL_ERROR_MESSAGE_MAX]; /* readable, NUL-terminated */
} gl_error;

/* ---- creation and lifetime ---------------------------------------------------- */

/* Create an unstarted greenlet. `run` may be NULL (switching to it then fails with
 * GL_ENORUN until gl_set_run() gives it one). `parent` NULL means the calling
 * thread's current greenlet. Uses the default stack size.
 * Returns GL_OK and stores the greenlet in *out; on error *out is set to NULL. */
int gl_new(gl_greenlet **out, gl_run_fn run, gl_greenlet *parent);

/* As gl_new(), with a stack of at least `stack_size` bytes (0 = the default).
 * Ports with fixed stacks refuse sizes outside [min, max] with GL_ESTACKSIZE;
 * ports whose stacks grow (stackcopy) accept any size. */
int gl_new_with_stack(gl_greenlet **out, gl_run_fn run, gl_greenlet *parent,
                      size_t stack_size);

/* Release the caller's reference (see "Lifetime" above). Exactly two codes mean
 * "released" (the pointer is then no longer yours):
 *   GL_OK        released (it was unstarted or dead, or its cleanup ended quietly);
 *   GL_ECLEANUP  released; it ended with an error while being killed (or an error
 *                was raised into the caller as it died): gl_last_error() is that
 *                error, with its own code, data and message.
 * Every other code means "not released": the pointer is still yours and valid.
 *   GL_ENOTDEAD  it survived GL_EEXIT (its cleanup switched back to the caller, or
 *                something else resumed the caller first: the message says what);
 *                it is alive, its parent restored: call gl_destroy() again later;
 *   GL_EDESTROYING  a gl_destroy() of it is already in progress (that one releases
 *                it; do not release it twice);
 *   GL_ECYCLE    it is a suspended ancestor of the running greenlet (its death would
 *                return into its own descendant); destroy it from outside its subtree;
 *   GL_EBUSY     it is the running greenlet;
 *   GL_EMAIN     a main greenlet; GL_ETHREAD: it belongs to another, living thread;
 *   GL_EINVAL    NULL, or a greenlet whose reference was already given back (detected
 *                while children or a destroy in progress keep its record alive);
 *   GL_ENOMEM    no memory for this thread's state. */
int gl_destroy(gl_greenlet *g);

/* Default stack size for new greenlets of every thread; GL_ESTACKSIZE if outside the
 * port's limits. */
int gl_set_default_stack_size(size_t stack_size);
size_t gl_default_stack_size(void);

/* ---- control transfer ---------------------------------------------------------- */

/* Switch to `g`, handing it `value`.
 *  - unstarted g: starts run(value);
 *  - suspended g: its pending gl_switch() returns GL_OK with *result == value;
 *  - dead g: goes to the first live ancestor in g's parent chain instead (an unstarted
 *    ancestor is started with `value`); if that is the caller, returns at once;
 *  - g == current: returns at once with *result == value.
 * Returns when something switches back: GL_OK with the value in *result (may be NULL
 * if you do not want it), or an error code with gl_last_error() filled in. */
int gl_switch(gl_greenlet *g, void *value, void **result);

/* Raise error `code` (with payload `data` and a printf-style message; fmt may be
 * NULL) inside `g` at its pending switch, and switch to it.
 *  - suspended g: its pending switch returns `code`; if it does not handle it and
 *    ends with it, the error goes to g's parent (not necessarily the thrower);
 *  - unstarted g: g dies without ever running `run`; the error goes to its parent;
 *  - dead g: GL_EEXIT turns into a normal value (data); others are raised in the
 *    first live ancestor;
 *  - g == current: returns `code` at once.
 * GreenletExit (GL_EEXIT) that ends a greenlet arrives at the parent as a normal
 * value: *result = data; an unstarted greenlet started by it gets NULL (see
 * "GreenletExit that starts a greenlet"). code <= 0 is refused with GL_EINVAL. */
int gl_throw(gl_greenlet *g, int code, void *data, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* As gl_throw(), also collecting the value the thrower is eventually switched back
 * with. */
int gl_throw_r(gl_greenlet *g, void **result, int code, void *data, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* From a run function: `return gl_raise(code, data, fmt, ...);` ends the greenlet
 * with that error (the return value of run is then ignored). Always returns NULL.
 * code <= 0 is treated as GL_EINVAL. */
void *gl_raise(int code, void *data, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* `return gl_reraise();` ends the greenlet with the error it received last
 * (gl_last_error()). Always returns NULL. */
void *gl_reraise(void);

/* The last error received by the current greenlet (never NULL; code 0 if none). */
const gl_error *gl_last_error(void);

/* ---- introspection ------------------------------------------------------------- */

gl_greenlet *gl_current(void);         /* the running greenlet of this thread */
gl_greenlet *gl_main(void);            /* this thread's main greenlet */
gl_greenlet *gl_parent(const gl_greenlet *g); /* NULL for a main greenlet */
int gl_started(const gl_greenlet *g);  /* main: always 1 */
int gl_active(const gl_greenlet *g);   /* started and not finished */
int gl_dead(const gl_greenlet *g);     /* started and finished; main: 1 once its thread exited */
int gl_is_main(const gl_greenlet *g);
gl_run_fn gl_run(const gl_greenlet *g); /* NULL once started, as greenlet deletes `run` */

/* How many greenlets of the calling thread still hold memory, its main greenlet not
 * counted: created and not yet released. A greenlet is released when gl_destroy() has
 * given back its reference and no child names it as parent any more, so a program
 * that destroys what it creates comes back to the count it started with (a leak
 * check). A debugger lists the same greenlets: see `info greenlets` in the README. */
size_t gl_live_count(void);

/* Change the parent (allowed in any state; it decides where g's result goes when it
 * dies). GL_ECYCLE if `parent` has `g` in its chain (g itself included); GL_EMAIN for a
 * main greenlet; GL_EINVAL for NULL; GL_ETHREAD if g or parent belongs to another
 * thread than the caller (stricter than Python greenlet, which lets an unstarted
 * greenlet take a foreign parent and fails later). On error the chain is unchanged. */
int gl_set_parent(gl_greenlet *g, gl_greenlet *parent);

/* Give an unstarted greenlet its run function; GL_ESTARTED once started, GL_EMAIN for
 * main, GL_ETHREAD from another thread than the greenlet's. */
int gl_set_run(gl_greenlet *g, gl_run_fn run);

/* One pointer of user data per greenlet (greenlet's instance dict). */
void gl_set_userdata(gl_greenlet *g, void *data);
void *gl_userdata(const gl_greenlet *g);

/* ---- tracing --------------------------------------------------------------------- */

typedef enum { GL_TRACE_SWITCH = 1, GL_TRACE_THROW = 2 } gl_trace_event;

/* Called on every switch (target receives a value) and throw (target receives an
 * error), in the target's context, before it resumes. Return 0; a non-zero return is
 * "the trace function raised": tracing is removed for this thread and the target
 * receives GL_ETRACE instead of what was sent. */
typedef int (*gl_trace_fn)(gl_trace_event event, gl_greenlet *origin,
                           gl_greenlet *target, void *arg);

/* Install a per-thread trace function (NULL removes it). Returns the previous one;
 * *prev_arg, if not NULL, receives its argument. */
gl_trace_fn gl_settrace(gl_trace_fn fn, void *arg, void **prev_arg);
gl_trace_fn gl_gettrace(void **arg);

/* ---- thread exit ------------------------------------------------------------------ */

/* Call fn(arg) when the calling thread exits (its start routine returns, or it calls
 * pthread_exit; not the process's initial thread, which ends with exit()), on that
 * thread, while its main greenlet is current and its greenlets can still be switched
 * to: for libraries over this API that keep per-thread state (the hub tears its loop
 * down). Most recently registered first; registering the same fn and arg again does
 * nothing. GL_EINVAL for a NULL fn, GL_ENOMEM. */
int gl_at_thread_exit(void (*fn)(void *arg), void *arg);

/* ---- errors and the port ------------------------------------------------------------ */

/* A short readable name of an error code ("GreenletExit", "invalid argument", ...). */
const char *gl_strerror(int code);

/* What a port's mechanism offers (gl_port_info.caps, a set of these bits). */
enum {
    GL_CAP_SEPARATE_STACKS = 1 << 0, /* each greenlet owns a stack (0: stack copying) */
    GL_CAP_GUARD_PAGE = 1 << 1,      /* an overflow of that stack hits an inaccessible
                                      * gap below it: the fault is named (GL_GUARD_PAGE) */
    GL_CAP_GUARD_CANARY = 1 << 2,    /* gl_set_stack_guard(GL_GUARD_CANARY) is offered */
    GL_CAP_OS_THREADS = 1 << 3       /* each greenlet runs on an OS thread of its own:
                                      * C thread-locals (errno, __thread) differ per greenlet */
};

typedef struct gl_port_info {
    const char *name;        /* "asm_separate", ... */
    const char *mechanism;   /* one line: how a switch works */
    size_t min_stack_size;   /* smallest stack gl_new_with_stack accepts */
    size_t max_stack_size;   /* largest; 0 = no fixed limit */
    size_t default_stack_size;
    unsigned caps;           /* GL_CAP_* */
} gl_port_info;

/* Facts about the port this program is linked with (for reports, never for
 * behaviour: the semantics are the same on every port). */
const gl_port_info *gl_port(void);

/* How an overflow of a greenlet's own stack is caught, for greenlets created from now on
 * (by every thread; greenlets already made keep theirs).
 *   GL_GUARD_PAGE    the default: an unmapped gap below each stack. An overflow faults
 *                    at its first byte and the process ends with a report naming the
 *                    greenlet. Costs one memory map per stack, so vm.max_map_count
 *                    (65 530 by default) bounds the number of live greenlets.
 *   GL_GUARD_CANARY  no gap: stacks sit side by side in large mappings, so the count is
 *                    bounded by memory and address space only. A canary word at the
 *                    bottom of each stack is checked whenever its greenlet switches away
 *                    (or ends); a broken canary is reported, naming the greenlet, and the
 *                    process aborts. Weaker: an overflow is found late, and one deeper
 *                    than the canary first corrupts the neighbouring stack.
 * Returns GL_OK, or GL_EINVAL for an unknown mode or one the port does not offer
 * (GL_CAP_GUARD_PAGE / GL_CAP_GUARD_CANARY in gl_port()->caps). */
typedef enum { GL_GUARD_PAGE = 1, GL_GUARD_CANARY = 2 } gl_stack_guard;
int gl_set_stack_guard(gl_stack_guard mode);

#ifdef __cplusplus
}
#endif
#endif /* GREENLET_H */
